/* libFuzzer target for the container layer: the MTF walker, the MSSQLBAK container and the page
 * source (mtf/).
 *
 * The input is one backup file. It is written to a memfd and opened by its /proc/self/fd path,
 * so the library reads it exactly as it reads a file on disk. Then the whole pipeline runs:
 * b2p_backup_open, b2p_pages_open (b2p_log_check for a log backup), b2p_pages_foreach. Beyond "no crash, no leak, no undefined
 * behaviour", these properties must hold on any input (a violation aborts, which libFuzzer
 * reports as a crash):
 *   - a failure is a status in 1..16 equal to err.code, with a one-line message naming the file;
 *   - the metadata of an opened backup names the file and has terminated strings;
 *   - the page statistics add up: every unit is exactly one of page, zero, filler or stale;
 *     bad counts never exceed what was checked; pages >= distinct pages;
 *   - foreach delivers pages in strictly increasing (file id, page id) order, each one carrying
 *     those ids in its header, exactly stats->distinct_pages of them when it completes, and
 *     b2p_pages_read of the same page gives the same bytes.
 *
 * Build and run: sh .ci/fuzz [seconds] (see that script), or by hand from the repository root:
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
 *     -D_DEFAULT_SOURCE mtf/[a-z]*.c tests/fuzz/fuzz_container.c -lm -o /tmp/fuzz_container
 *   /tmp/fuzz_container -dict=tests/fuzz/container.dict CORPUS_DIR */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mtf/mtf.h"

static void require(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz_container: property violated: %s\n", what);
        abort();
    }
}

static char path[64];

/* The memfd that holds the current input; created once, rewritten for each input. */
static void write_input(const uint8_t *data, size_t size) {
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("b2p-fuzz-container", MFD_CLOEXEC);
        require(fd >= 0, "memfd_create works");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    require(ftruncate(fd, 0) == 0, "the memfd can be emptied");
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        require(n > 0, "the memfd can be written");
        done += (size_t)n;
    }
}

/* Checks a failure of stage; on a violation prints the status and message it came with. */
static void check_failure(const char *stage, b2p_status st, const b2p_error *err) {
    const char *bad = NULL;
    if ((int)st < 1 || (int)st > (int)B2P_ERR_INTERNAL) bad = "a failure is a status in 1..16";
    else if (err->code != st) bad = "err.code is the returned status";
    else if (err->msg[0] == '\0') bad = "a failure has a message";
    else if (strchr(err->msg, '\n') != NULL) bad = "the message is one line";
    else if (strstr(err->msg, path) == NULL) bad = "the message names the file";
    if (!bad) return;
    fprintf(stderr, "fuzz_container: %s failed with status %d (%s): \"%.*s\"\n", stage, (int)st,
            b2p_status_name(st), (int)sizeof err->msg, err->msg);
    require(0, bad);
}

static int terminated(const char *s, size_t size) {
    return memchr(s, '\0', size) != NULL;
}
#define TERMINATED(field) terminated((field), sizeof(field))

static void check_set(const b2p_set_info *s) {
    require(TERMINATED(s->backup_name) && TERMINATED(s->description) && TERMINATED(s->user_name) &&
                TERMINATED(s->database_name) && TERMINATED(s->server_name) &&
                TERMINATED(s->machine_name) && TERMINATED(s->collation_name),
            "set strings are terminated");
    require(s->nfiles == 0 || s->files != NULL, "a set's files are there");
    for (size_t i = 0; i < s->nfiles; i++) {
        const b2p_file_info *f = &s->files[i];
        require(TERMINATED(f->logical_name) && TERMINATED(f->physical_name) &&
                    TERMINATED(f->filegroup_name),
                "file strings are terminated");
    }
}

static void check_backup(const b2p_backup *bk) {
    require(b2p_backup_media_count(bk) == 1, "one file opened, one media");
    const b2p_media *m = b2p_backup_media(bk, 0);
    require(m != NULL && strcmp(m->path, path) == 0, "the media names the file");
    require(TERMINATED(m->media_name), "the media name is terminated");
    require(m->nsets == 0 || m->sets != NULL, "the sets are there");
    for (size_t i = 0; i < m->nsets; i++) check_set(&m->sets[i]);
}

static void check_stats(const b2p_page_stats *s) {
    require(s->pages + s->zero_units + s->filler_units + s->stale_units == s->units,
            "every unit is one of page, zero, filler, stale");
    require(s->data_bytes == s->units * B2P_PAGE_SIZE, "data bytes are whole units");
    require(s->checksum_bad <= s->checksummed && s->torn_bad <= s->torn_protected &&
                s->checksummed + s->torn_protected <= s->pages,
            "page checks count pages");
    require(s->csum_bad <= s->csum_streams, "bad backup checksums are among those checked");
    require(s->distinct_pages <= s->pages, "distinct pages are among the pages");
}

typedef struct walk {
    b2p_pages *src;
    uint64_t delivered;
    uint64_t last_key;          /* file << 32 | page of the previous page, +1 (0: none yet) */
    uint8_t again[B2P_PAGE_SIZE];
} walk;

static int on_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    walk *w = ctx;
    uint64_t key = (((uint64_t)file_id << 32) | page_id) + 1;
    require(key > w->last_key, "pages come in strictly increasing (file id, page id) order");
    w->last_key = key;
    w->delivered++;
    require(b2p_le16(page + 36) == file_id && b2p_le32(page + 32) == page_id,
            "a delivered page carries its own ids");
    b2p_error err;
    b2p_status st = b2p_pages_read(w->src, file_id, page_id, w->again, &err);
    /* foreach delivers pages that fail their checksum too (for salvage); a re-read says so. */
    require(st == B2P_OK || st == B2P_ERR_CORRUPT, "a delivered page can be read again");
    if (st) check_failure("b2p_pages_read", st, &err);
    require(memcmp(page, w->again, B2P_PAGE_SIZE) == 0, "a page read again has the same bytes");
    return 0;
}

/* A log backup: info --check reads its log streams (logcheck.c); the counts must add up. */
static void run_log_check(b2p_backup *bk) {
    const b2p_set_info *set = NULL;
    b2p_log_stats ls;
    b2p_error err;
    b2p_status st = b2p_log_check(bk, 0, &set, &ls, &err);
    if (st) {
        check_failure("b2p_log_check", st, &err);
        return;
    }
    require(set != NULL && set->type == B2P_BACKUP_LOG, "the log check names a log set");
    require(ls.csum_bad <= ls.csum_streams && ls.csum_streams <= ls.log_streams, "log checksum counts add up");
    require(ls.log_bytes % B2P_PAGE_SIZE == 0, "log streams are read in whole 8 KB units");
    require(ls.csum_bad == 0 || ls.first_bad_offset > 0, "a bad log checksum names its offset");
}

static void run_pages(b2p_backup *bk) {
    b2p_pages_options po = {.allow_missing_stripes = true};
    b2p_pages *src = NULL;
    b2p_error err;
    b2p_status st = b2p_pages_open(&src, bk, &po, &err);
    if (st == B2P_ERR_LOG_BACKUP) run_log_check(bk);
    if (st) {
        require(src == NULL, "no source on failure");
        check_failure("b2p_pages_open", st, &err);
        return;
    }
    const b2p_page_stats *stats = b2p_pages_stats(src);
    check_stats(stats);
    require(b2p_pages_set(src) != NULL, "an open source has a backup set");
    walk *w = calloc(1, sizeof *w);
    require(w != NULL, "memory");
    w->src = src;
    int rc = b2p_pages_foreach(src, on_page, w, &err);
    require(rc <= 0, "foreach returns 0 or a -status (the callback never stops it)");
    if (rc < 0) check_failure("b2p_pages_foreach", (b2p_status)-rc, &err);
    else require(w->delivered == stats->distinct_pages, "foreach delivers every distinct page");
    free(w);
    b2p_pages_free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    write_input(data, size);
    const char *paths[1] = {path};
    b2p_open_options oo = {.allow_missing_stripes = true};
    b2p_backup *bk = NULL;
    b2p_error err;
    b2p_status st = b2p_backup_open(&bk, paths, 1, &oo, &err);
    if (st) {
        require(bk == NULL, "no backup on failure");
        check_failure("b2p_backup_open", st, &err);
        return 0;
    }
    check_backup(bk);
    run_pages(bk);
    b2p_backup_free(bk);
    return 0;
}
