/* Round trips through the project's own backup writer (tests/support/mtf_writer.c) and the
 * reader: for each container variant (512- and 4096-byte blocks, plain and compressed, with and
 * without backup checksums), every page written comes back byte for byte, the metadata reads as
 * written, and striped and differential sets combine as real ones do; generated backups get
 * identities (GUIDs) of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtf/mtf.h"
#include "tests/support/db_gen.h"
#include "tests/support/fixtures.h"
#include "tests/support/mtf_writer.h"

static char dir[256];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s/b2p-writer-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A data page with a valid header and checksum, and content derived from (file, page, gen). */
static void make_page(uint8_t *p, uint16_t file, uint32_t page, unsigned gen) {
    uint64_t x = ((uint64_t)file << 40) ^ ((uint64_t)page << 8) ^ gen ^ 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < B2P_PAGE_SIZE; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* half-compressible: repeat each value twice */
        uint64_t v = (i / 8) % 2 ? x : x >> 1;
        memcpy(p + i, &v, 8);
    }
    memset(p, 0, 96);
    p[0] = 1;
    p[1] = 1;
    b2p_put_le16(p + 4, 0x200);
    b2p_put_le32(p + 32, page);
    b2p_put_le16(p + 36, file);
    b2p_put_le16(p + 22, 1); /* one slot, its record at 96: a plain page, not TDE ciphertext */
    b2p_put_le16(p + B2P_PAGE_SIZE - 2, 96);
    b2p_put_le32(p + 60, b2p_page_checksum(p));
}

static const mtfw_file files[] = {
    {"demo", "C:\\data\\demo.mdf", 1, 'D', 8 << 20},
    {"demo_log", "C:\\data\\demo_log.ldf", 2, 'L', 1 << 20},
};

static mtfw_options base_options(uint64_t units) {
    mtfw_options o = {
        .block_size = 512, .type_letter = 'D', .database_name = "demo", .server_name = "HOST\\SQL",
        .version_major = 15, .version_minor = 0, .version_build = 2000, .database_version = 904,
        .total_units = units, .files = files, .nfiles = 2,
    };
    memset(o.backup_set_guid, 0x11, 16);
    memset(o.media_set_guid, 0x22, 16);
    return o;
}

/* Writes extents [first_extent, first_extent + extents) of file 1, skipping every extent whose
 * index % stride != phase (how stripes share extents). Returns the path. */
static const char *write_backup(const char *name, mtfw_options o, uint32_t first_extent, uint32_t extents,
                                unsigned stride, unsigned phase, unsigned gen) {
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    uint64_t units = 0;
    for (uint32_t e = first_extent; e < first_extent + extents; e++)
        if (e % stride == phase) units += 8;
    o.total_units = units;
    mtfw *w = mtfw_open(f, &o);
    assert_non_null(w);
    uint8_t ext[8 * B2P_PAGE_SIZE];
    for (uint32_t e = first_extent; e < first_extent + extents; e++) {
        if (e % stride != phase) continue;
        for (int s = 0; s < 8; s++) make_page(ext + s * B2P_PAGE_SIZE, 1, e * 8 + (uint32_t)s, gen);
        assert_true(mtfw_add_units(w, ext, 8));
    }
    assert_true(mtfw_close(w));
    fclose(f);
    return p;
}

static b2p_pages *open_pages(const char *const *paths, size_t n, b2p_backup **bk) {
    b2p_error err = {0};
    b2p_status st = b2p_backup_open(bk, paths, n, NULL, &err);
    if (st) fail_msg("open: %s", err.msg);
    b2p_pages *src;
    st = b2p_pages_open(&src, *bk, NULL, &err);
    if (st) fail_msg("pages: %s", err.msg);
    return src;
}

/* Every page of extents [0, extents) reads back as generation gen. */
static void assert_pages(b2p_pages *src, uint32_t extents, unsigned gen) {
    uint8_t got[B2P_PAGE_SIZE], want[B2P_PAGE_SIZE];
    b2p_error err = {0};
    for (uint32_t pg = 0; pg < extents * 8; pg++) {
        if (b2p_pages_read(src, 1, pg, got, &err)) fail_msg("page 1:%u: %s", pg, err.msg);
        make_page(want, 1, pg, gen);
        assert_memory_equal(got, want, B2P_PAGE_SIZE);
    }
    assert_int_equal(b2p_pages_read(src, 1, extents * 8, got, &err), B2P_ERR_NOT_FOUND);
}

static void round_trip(uint32_t block, bool compress, bool checksum) {
    mtfw_options o = base_options(0);
    o.block_size = block;
    o.compress = compress;
    o.with_checksum = checksum;
    const uint32_t extents = 40; /* 2.6 MB of pages: several compressed records */
    const char *path = write_backup("rt.bak", o, 0, extents, 1, 0, 0);
    b2p_backup *bk;
    b2p_pages *src = open_pages(&path, 1, &bk);
    const b2p_media *m = b2p_backup_media(bk, 0);
    assert_int_equal(m->compressed, compress);
    assert_int_equal(m->block_size, block);
    const b2p_set_info *s = &m->sets[0];
    assert_string_equal(s->database_name, "demo");
    assert_string_equal(s->server_name, "HOST\\SQL");
    assert_string_equal(s->machine_name, "TESTHOST");
    assert_int_equal(s->database_version, 904);
    assert_int_equal(s->type, B2P_BACKUP_FULL);
    assert_int_equal(s->has_checksums, checksum);
    assert_int_equal(s->nfiles, 2);
    assert_string_equal(s->files[1].physical_name, "C:\\data\\demo_log.ldf");
    const b2p_page_stats *ps = b2p_pages_stats(src);
    assert_int_equal(ps->pages, extents * 8);
    assert_int_equal(ps->checksummed, extents * 8);
    assert_int_equal(ps->checksum_bad, 0);
    assert_int_equal(ps->csum_streams, checksum ? 1 : 0);
    assert_int_equal(ps->csum_bad, 0);
    assert_pages(src, extents, 0);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

static void test_plain_512(void **state) { (void)state; round_trip(512, false, false); }
static void test_plain_4096_checksum(void **state) { (void)state; round_trip(4096, false, true); }
static void test_compressed_512_checksum(void **state) { (void)state; round_trip(512, true, true); }
static void test_compressed_4096(void **state) { (void)state; round_trip(4096, true, false); }

static void test_stripes_and_differential(void **state) {
    (void)state;
    mtfw_options o = base_options(0);
    o.family_count = 2;
    o.family_sequence = 1;
    const char *s1 = write_backup("s1.bak", o, 0, 24, 2, 0, 0);
    o.family_sequence = 2;
    o.compress = true;
    const char *s2 = write_backup("s2.bak", o, 0, 24, 2, 1, 0);
    const char *both[2] = {s2, s1};
    b2p_backup *bk;
    b2p_pages *src = open_pages(both, 2, &bk);
    assert_pages(src, 24, 0);
    b2p_pages_free(src);
    b2p_backup_free(bk);

    /* One stripe alone is refused, and salvaged on request with exactly its own extents. */
    b2p_error err = {0};
    assert_int_equal(b2p_backup_open(&bk, &s1, 1, NULL, &err), B2P_ERR_MISSING_STRIPE);
    b2p_open_options salvage = {.allow_missing_stripes = true};
    assert_int_equal(b2p_backup_open(&bk, &s1, 1, &salvage, &err), B2P_OK);
    assert_int_equal(b2p_pages_open(&src, bk, NULL, &err), B2P_OK);
    assert_int_equal(b2p_pages_stats(src)->distinct_pages, 12 * 8);
    b2p_pages_free(src);
    b2p_backup_free(bk);

    /* A differential re-sends extents 4..9 with new content; over its full, those win. */
    mtfw_options full = base_options(0);
    const char *f = write_backup("full.bak", full, 0, 16, 1, 0, 0);
    mtfw_options diff = base_options(0);
    diff.type_letter = 'I';
    memset(diff.backup_set_guid, 0x33, 16);
    memcpy(diff.differential_base_guid, full.backup_set_guid, 16);
    memset(diff.media_set_guid, 0x44, 16);
    const char *d = write_backup("diff.bak", diff, 4, 6, 1, 0, 1);
    const char *pair[2] = {d, f};
    src = open_pages(pair, 2, &bk);
    assert_int_equal(b2p_pages_set(src)->type, B2P_BACKUP_DIFFERENTIAL);
    uint8_t got[B2P_PAGE_SIZE], want[B2P_PAGE_SIZE];
    for (uint32_t pg = 0; pg < 16 * 8; pg++) {
        assert_int_equal(b2p_pages_read(src, 1, pg, got, &err), B2P_OK);
        make_page(want, 1, pg, pg >= 4 * 8 && pg < 10 * 8 ? 1 : 0);
        assert_memory_equal(got, want, B2P_PAGE_SIZE);
    }
    assert_int_equal(b2p_pages_stats(src)->distinct_pages, 16 * 8);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

/* ---- identities: two different generated backups never pass for one ---------------------- */

typedef struct identity {
    b2p_guid media_set, backup_set, family;
} identity;

/* Generates description text (compressed or not) into dir/name; returns its identity. */
static identity generate(const char *name, const char *text, bool compress) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    dbg_desc *d = dbg_parse(text, err, sizeof err);
    if (!d) fail_msg("%s", err);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    dbg_write_options o = {.compress = compress};
    if (!dbg_write(d, f, &o, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(fclose(f), 0);
    dbg_free(d);
    const char *one[1] = {path};
    b2p_backup *bk;
    b2p_error e = {0};
    assert_int_equal(b2p_backup_open(&bk, one, 1, NULL, &e), B2P_OK);
    const b2p_media *m = b2p_backup_media(bk, 0);
    identity id = {m->media_set_guid, m->sets[0].backup_set_guid, m->sets[0].family_guid};
    b2p_backup_free(bk);
    return id;
}

static bool guid_eq(b2p_guid a, b2p_guid b) {
    return memcmp(a.b, b.b, 16) == 0;
}

static bool file_bytes_equal(const char *a, const char *b) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp -s '%s/%s' '%s/%s'", dir, a, dir, b);
    return system(cmd) == 0;
}

static void test_generated_identities(void **state) {
    (void)state;
    static const char one_row[] = "database Shop\ntable dbo.t\n  column id int not null\n  row 1\nend\n";
    static const char two_rows[] = "database Shop\ntable dbo.t\n  column id int not null\n  row 1\n  row 2\nend\n";
    identity a = generate("a.bak", one_row, false), again = generate("a2.bak", one_row, false);
    identity b = generate("b.bak", two_rows, false), c = generate("c.bak", one_row, true);
    /* the same description: the same bytes, so the same identity */
    assert_true(file_bytes_equal("a.bak", "a2.bak"));
    assert_true(guid_eq(a.backup_set, again.backup_set) && guid_eq(a.media_set, again.media_set));
    /* one row more, same database name: another database, another backup */
    assert_false(guid_eq(a.family, b.family));
    assert_false(guid_eq(a.backup_set, b.backup_set));
    assert_false(guid_eq(a.media_set, b.media_set));
    /* the same database backed up compressed: the same database, another backup */
    assert_true(guid_eq(a.family, c.family));
    assert_false(guid_eq(a.backup_set, c.backup_set));
    assert_false(guid_eq(a.media_set, c.media_set));
    /* no GUID is a constant pattern (the writer once used 0x11.. and 0x22..) */
    assert_false(a.backup_set.b[0] == a.backup_set.b[1] && a.backup_set.b[1] == a.backup_set.b[2]);
    /* given together, the two are refused as two backups, not taken as one file given twice */
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/a.bak", dir);
    snprintf(pb, sizeof pb, "%s/b.bak", dir);
    const char *both[2] = {pa, pb};
    b2p_backup *bk = NULL;
    b2p_error e = {0};
    assert_int_equal(b2p_backup_open(&bk, both, 2, NULL, &e), B2P_ERR_USAGE);
    assert_non_null(strstr(e.msg, "are not parts of one backup"));
    assert_null(bk);

    /* mtfw_write_file: different pages, different identities; GUIDs given are kept */
    uint8_t units[2 * B2P_PAGE_SIZE];
    make_page(units, 1, 0, 0);
    make_page(units + B2P_PAGE_SIZE, 1, 1, 0);
    mtfw_options x = base_options(2), y = base_options(2);
    memset(x.backup_set_guid, 0, 16);
    memset(x.media_set_guid, 0, 16);
    memset(y.backup_set_guid, 0, 16);
    memset(y.media_set_guid, 0, 16);
    char px[512], py[512];
    snprintf(px, sizeof px, "%s/x.bak", dir);
    snprintf(py, sizeof py, "%s/y.bak", dir);
    assert_true(mtfw_write_file(px, &x, units, 2));
    make_page(units + B2P_PAGE_SIZE, 1, 1, 1);
    assert_true(mtfw_write_file(py, &y, units, 2));
    assert_memory_not_equal(x.backup_set_guid, y.backup_set_guid, 16);
    assert_memory_not_equal(x.family_guid, y.family_guid, 16);
    mtfw_options kept = base_options(2);
    assert_true(mtfw_write_file(py, &kept, units, 2));
    uint8_t elevens[16];
    memset(elevens, 0x11, 16);
    assert_memory_equal(kept.backup_set_guid, elevens, 16);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_512),
        cmocka_unit_test(test_plain_4096_checksum),
        cmocka_unit_test(test_compressed_512_checksum),
        cmocka_unit_test(test_compressed_4096),
        cmocka_unit_test(test_stripes_and_differential),
        cmocka_unit_test(test_generated_identities),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
