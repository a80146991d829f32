/* The page source read from several threads at once (b2p_pages_fork), on real backups:
 * uncompressed, compressed (each thread's own cache of decoded records), a striped set and a
 * differential laid over its full. Every thread reads every page, each in its own order so that
 * the threads' caches miss at different times, while the main thread reads through the source
 * itself; every page must equal what one thread alone reads, with the same status.
 * ThreadSanitizer is not part of `make check` (it cannot be combined with ASan); by hand:
 *   clang -std=c11 -O1 -g -fsanitize=thread -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
 *     -D_FILE_OFFSET_BITS=64 -I. $(pkg-config --cflags libzstd libpq libxml-2.0 libxxhash) \
 *     -o build/tsan_pages_fork tests/test_pages_fork.c tests/support/fixtures.c \
 *     $(find mtf pages catalog emit -name '*.c') $(pkg-config --libs libzstd libpq libxml-2.0 libxxhash cmocka) -lpthread -lm
 * It reports no race; with the forks sharing one cache it reports races at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtf/mtf.h"
#include "tests/support/fixtures.h"

enum { THREADS = 4 };

/* Every page of a source as one thread alone reads it, in (file, page) order. */
typedef struct reference {
    size_t n, cap;
    uint16_t *file;
    uint32_t *page;
    uint8_t *bytes; /* n pages of B2P_PAGE_SIZE */
} reference;

static int keep_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    reference *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->file = realloc(r->file, r->cap * sizeof *r->file);
        r->page = realloc(r->page, r->cap * sizeof *r->page);
        r->bytes = realloc(r->bytes, r->cap * B2P_PAGE_SIZE);
        if (!r->file || !r->page || !r->bytes) return 1;
    }
    r->file[r->n] = file_id;
    r->page[r->n] = page_id;
    memcpy(r->bytes + r->n * B2P_PAGE_SIZE, page, B2P_PAGE_SIZE);
    r->n++;
    return 0;
}

static void reference_free(reference *r) {
    free(r->file);
    free(r->page);
    free(r->bytes);
}

typedef struct reader {
    const b2p_pages *parent; /* forked inside the thread, as convert's workers do */
    b2p_pages *own;          /* NULL: fork from parent; else read through this handle */
    const reference *ref;
    unsigned order;          /* which permutation of the pages this reader follows */
    size_t read, differ, failed, fork_failed;
    b2p_error first_error;
} reader;

/* Page i of the reader's permutation: forwards from a rotation point, or backwards, or by a
 * stride coprime with n, so that readers touch records in different orders. */
static size_t nth(const reader *rd, size_t i) {
    size_t n = rd->ref->n;
    switch (rd->order % 4) {
    case 0: return i;
    case 1: return n - 1 - i;
    case 2: return (i + n / 2) % n;
    default: {
        size_t stride = 7;
        while (n % stride == 0) stride += 2;
        return (i * stride) % n;
    }
    }
}

static void *read_all(void *arg) {
    reader *rd = arg;
    b2p_error err = {0};
    b2p_pages *src = rd->own ? rd->own : b2p_pages_fork(rd->parent, &err);
    if (!src) {
        rd->fork_failed++;
        rd->first_error = err;
        return NULL;
    }
    uint8_t page[B2P_PAGE_SIZE];
    for (size_t i = 0; i < rd->ref->n; i++) {
        size_t k = nth(rd, i);
        b2p_status st = b2p_pages_read(src, rd->ref->file[k], rd->ref->page[k], page, &err);
        if (st && st != B2P_ERR_CORRUPT) { /* corrupt pages are still filled, as foreach delivers them */
            if (!rd->failed++) rd->first_error = err;
            continue;
        }
        rd->read++;
        if (memcmp(page, rd->ref->bytes + k * B2P_PAGE_SIZE, B2P_PAGE_SIZE) != 0) rd->differ++;
    }
    if (!rd->own) b2p_pages_free(src);
    return NULL;
}

static b2p_pages *open_source(const char *const *names, size_t n, b2p_backup **bk) {
    const char *paths[4];
    static char bufs[4][4096];
    for (size_t i = 0; i < n; i++) {
        snprintf(bufs[i], sizeof bufs[i], "%s", fixture_path(names[i]));
        paths[i] = bufs[i];
    }
    b2p_error err = {0};
    b2p_pages *src = NULL;
    if (b2p_backup_open(bk, paths, n, NULL, &err) || b2p_pages_open(&src, *bk, NULL, &err))
        fail_msg("%s: %s", names[0], err.msg);
    return src;
}

/* THREADS forks and the source itself read every page at once; all agree with one thread. */
static void check_concurrent_reads(const char *const *names, size_t n, bool compressed) {
    b2p_backup *bk = NULL;
    b2p_pages *src = open_source(names, n, &bk);
    assert_int_equal(b2p_backup_media(bk, 0)->compressed, compressed);
    reference ref = {0};
    b2p_error err = {0};
    assert_int_equal(b2p_pages_foreach(src, keep_page, &ref, &err), 0);
    assert_true(ref.n > 100);
    assert_int_equal(ref.n, b2p_pages_stats(src)->distinct_pages);

    reader rd[THREADS + 1];
    pthread_t th[THREADS];
    for (unsigned t = 0; t <= THREADS; t++)
        rd[t] = (reader){.parent = src, .ref = &ref, .order = t + 1};
    rd[THREADS].own = src; /* the main thread keeps reading through the source meanwhile */
    for (unsigned t = 0; t < THREADS; t++) assert_int_equal(pthread_create(&th[t], NULL, read_all, &rd[t]), 0);
    read_all(&rd[THREADS]);
    for (unsigned t = 0; t < THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    for (unsigned t = 0; t <= THREADS; t++) {
        if (rd[t].fork_failed || rd[t].failed)
            fail_msg("%s reader %u: %zu reads failed: %s", names[0], t, rd[t].failed, rd[t].first_error.msg);
        assert_int_equal(rd[t].read, ref.n);
        if (rd[t].differ) fail_msg("%s reader %u: %zu of %zu pages differ from one thread's", names[0], t, rd[t].differ, ref.n);
    }
    reference_free(&ref);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

static void test_uncompressed(void **state) {
    (void)state;
    const char *names[] = {"bikestores_2017rtm_hanif.bak"};
    check_concurrent_reads(names, 1, false);
}

static void test_compressed(void **state) {
    (void)state;
    const char *a[] = {"northwind_2016sp2_COMPRESSED_guilderm.bak"};
    check_concurrent_reads(a, 1, true);
    const char *b[] = {"schooldb_2022rtm_COMPRESSED_belal.bak"};
    check_concurrent_reads(b, 1, true);
}

static void test_full_and_differential(void **state) {
    (void)state;
    const char *names[] = {"doublediff_2008r2rtm_full_appveyor.bak", "doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak"};
    check_concurrent_reads(names, 2, false);
}

static void test_striped(void **state) {
    (void)state;
    const char *names[] = {"restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak",
                           "restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak"};
    check_concurrent_reads(names, 2, false);
}

/* A fork answers as its source does, a fork of a fork too, and an absent page is absent. */
static void test_fork_accessors(void **state) {
    (void)state;
    const char *names[] = {"doublediff_2008r2rtm_full_appveyor.bak", "doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak"};
    b2p_backup *bk = NULL;
    b2p_pages *src = open_source(names, 2, &bk);
    b2p_error err = {0};
    b2p_pages *f1 = b2p_pages_fork(src, &err);
    assert_non_null(f1);
    b2p_pages *f2 = b2p_pages_fork(f1, &err);
    assert_non_null(f2);
    for (b2p_pages *f = f1; f; f = f == f1 ? f2 : NULL) {
        assert_ptr_equal(b2p_pages_set(f), b2p_pages_set(src));
        assert_int_equal(b2p_pages_set(f)->type, B2P_BACKUP_DIFFERENTIAL);
        assert_string_equal(b2p_pages_path(f), b2p_pages_path(src));
        assert_int_equal(b2p_pages_incomplete(f), b2p_pages_incomplete(src));
        assert_memory_equal(b2p_pages_stats(f), b2p_pages_stats(src), sizeof(b2p_page_stats));
        uint8_t a[B2P_PAGE_SIZE], b[B2P_PAGE_SIZE];
        assert_int_equal(b2p_pages_read(src, 1, 9, a, &err), B2P_OK);
        assert_int_equal(b2p_pages_read(f, 1, 9, b, &err), B2P_OK);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(b2p_pages_read(f, 1, 0x7FFFFFF0, b, &err), B2P_ERR_NOT_FOUND);
        assert_non_null(strstr(err.msg, "7FFFFFF0") ? err.msg : strstr(err.msg, "2147483632"));
    }
    b2p_pages_free(f2);
    b2p_pages_free(f1);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uncompressed),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_full_and_differential),
        cmocka_unit_test(test_striped),
        cmocka_unit_test(test_fork_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
