/* The container layer against every real backup in the fixtures:
 *   - what info reads agrees with MANIFEST.tsv (database name, version, compression, striping);
 *   - every complete full backup yields its boot page (1:9) and every page verifies;
 *   - striped sets, differentials over their full, logs and lone stripes behave as specified. */
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

static bool is_lone_stripe(const manifest_row *r) {
    return strstr(r->notes, "media_family_count=2") && !strstr(r->file, "restoretimestripe");
}

/* "2005 (9.0.1399)" → "9.0.1399"; "2008R2" → "" (no exact build in the manifest). */
static void manifest_build(const char *guess, char *out, size_t len) {
    const char *p = strchr(guess, '(');
    out[0] = 0;
    if (!p) return;
    size_t n = strcspn(p + 1, ")");
    if (n >= len) n = len - 1;
    memcpy(out, p + 1, n);
    out[n] = 0;
}

/* "2008R2 (10.50.1600)" → "2008 R2": the year part, spelled as b2p_product_name spells it. */
static void manifest_year(const char *guess, char *out, size_t len) {
    size_t n = strcspn(guess, " (");
    char y[32];
    snprintf(y, sizeof y, "%.*s", (int)n, guess);
    if (strstr(y, "R2")) snprintf(out, len, "%.4s R2", y);
    else snprintf(out, len, "%s", y);
}

static void check_set_against_manifest(const manifest_row *r, const b2p_media *m) {
    assert_true(m->nsets >= 1);
    const b2p_set_info *s = &m->sets[0];
    if (strcmp(s->database_name, r->database_name) != 0)
        fail_msg("%s: database '%s', manifest says '%s'", r->file, s->database_name, r->database_name);
    char want[64], got[64];
    manifest_build(r->sql_version_guess, want, sizeof want);
    snprintf(got, sizeof got, "%u.%u.%u", s->version_major, s->version_minor, s->version_build);
    if (want[0] && strcmp(want, got) != 0) fail_msg("%s: version %s, manifest says %s", r->file, got, want);
    manifest_year(r->sql_version_guess, want, sizeof want);
    if (!strstr(b2p_product_name(s->version_major, s->version_minor), want))
        fail_msg("%s: product %s, manifest says %s", r->file, b2p_product_name(s->version_major, s->version_minor), want);
    bool compressed = strncmp(r->compressed, "yes", 3) == 0;
    if (m->compressed != compressed) fail_msg("%s: compressed=%d, manifest says %s", r->file, m->compressed, r->compressed);
    /* Every set in a file shares the container and the database. */
    for (size_t i = 0; i < m->nsets; i++) {
        assert_int_equal(m->sets[i].compressed, compressed);
        assert_string_equal(m->sets[i].database_name, s->database_name);
        assert_true(m->sets[i].nfiles >= 2); /* at least one data file and the log */
    }
}

static b2p_backup *open_files(const char *const *names, size_t n, bool allow_missing, b2p_status *st,
                              b2p_error *err) {
    const char *paths[4];
    static char bufs[4][4096];
    for (size_t i = 0; i < n; i++) {
        snprintf(bufs[i], sizeof bufs[i], "%s", fixture_path(names[i]));
        paths[i] = bufs[i];
    }
    b2p_backup *bk = NULL;
    b2p_open_options o = {.allow_missing_stripes = allow_missing};
    *st = b2p_backup_open(&bk, paths, n, &o, err);
    return bk;
}

/* Opens the page source and checks the boot page and that no page failed verification. */
static void check_pages_and_boot(const char *label, b2p_backup *bk, bool allow_missing) {
    b2p_pages *src = NULL;
    b2p_error err = {0};
    b2p_pages_options po = {.allow_missing_stripes = allow_missing};
    b2p_status st = b2p_pages_open(&src, bk, &po, &err);
    if (st) fail_msg("%s: pages: %s", label, err.msg);
    const b2p_page_stats *ps = b2p_pages_stats(src);
    if (ps->checksum_bad || ps->torn_bad || ps->csum_bad)
        fail_msg("%s: %llu bad checksums, %llu torn, %u bad CSUM", label,
                 (unsigned long long)ps->checksum_bad, (unsigned long long)ps->torn_bad, ps->csum_bad);
    assert_true(ps->pages > 0 && ps->pages <= ps->units);
    assert_true(ps->distinct_pages <= ps->pages);
    uint8_t page[B2P_PAGE_SIZE];
    st = b2p_pages_read(src, 1, 9, page, &err);
    if (st) fail_msg("%s: boot page 1:9: %s", label, err.msg);
    assert_int_equal(page[1], 13);                 /* page type: boot */
    assert_int_equal(b2p_le32(page + 32), 9);      /* its own page id */
    assert_int_equal(b2p_le16(page + 36), 1);      /* and file id */
    /* The boot page's dbi_version agrees with the backup header's database version. */
    assert_int_equal(b2p_le16(page + 100), b2p_pages_set(src)->database_version);
    b2p_pages_free(src);
}

static void test_every_fixture_agrees_with_manifest(void **state) {
    (void)state;
    manifest_row *rows;
    size_t n = manifest_read(&rows);
    if (n == 0) fail_msg("cannot read %s", fixture_path("MANIFEST.tsv"));
    unsigned opened = 0, lone = 0, full_checked = 0;
    for (size_t i = 0; i < n; i++) {
        const manifest_row *r = &rows[i];
        const char *names[1] = {r->file};
        b2p_status st;
        b2p_error err = {0};
        b2p_backup *bk = open_files(names, 1, false, &st, &err);
        bool striped_part = strstr(r->notes, "media_family_count=2") != NULL;
        if (striped_part) {
            /* Alone, any stripe of a 2-file set is refused with the missing-stripe error. */
            if (st != B2P_ERR_MISSING_STRIPE) fail_msg("%s: status %d, expected missing stripe", r->file, st);
            assert_non_null(strstr(err.msg, r->file));
            assert_non_null(strstr(err.msg, "2 files"));
            bk = open_files(names, 1, true, &st, &err);
            lone += is_lone_stripe(r);
        }
        if (st) fail_msg("%s: %s", r->file, err.msg);
        const b2p_media *m = b2p_backup_media(bk, 0);
        check_set_against_manifest(r, m);
        assert_int_equal(m->family_count, striped_part ? 2 : 1);
        if (strstr(r->notes, "seq=2")) assert_int_equal(m->family_sequence, 2);
        b2p_backup_type t = m->sets[m->nsets - 1].type;
        if (strstr(r->file, "_LOG_")) assert_int_equal(t, B2P_BACKUP_LOG);
        else if (strstr(r->file, "DIFFERENTIAL")) assert_int_equal(t, B2P_BACKUP_DIFFERENTIAL);
        else assert_int_equal(t, B2P_BACKUP_FULL);
        if (t == B2P_BACKUP_FULL && !striped_part) {
            check_pages_and_boot(r->file, bk, false);
            full_checked++;
        }
        b2p_backup_free(bk);
        opened++;
    }
    printf("fixtures: %u opened, %u lone stripes refused then salvaged, %u complete full backups verified\n",
           opened, lone, full_checked);
    assert_true(full_checked >= 25);
    free(rows);
}

static void test_striped_set_given_in_any_order(void **state) {
    (void)state;
    static const char *const orders[2][2] = {
        {"restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak", "restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak"},
        {"restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak", "restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak"},
    };
    uint64_t distinct[2];
    for (int o = 0; o < 2; o++) {
        b2p_status st;
        b2p_error err = {0};
        b2p_backup *bk = open_files(orders[o], 2, false, &st, &err);
        if (st) fail_msg("%s", err.msg);
        check_pages_and_boot("restoretimestripe", bk, false);
        b2p_pages *src;
        assert_int_equal(b2p_pages_open(&src, bk, NULL, &err), B2P_OK);
        distinct[o] = b2p_pages_stats(src)->distinct_pages;
        b2p_pages_free(src);
        b2p_backup_free(bk);
    }
    /* Each stripe alone has 78 and 96 pages; the union holds both, whatever the order. */
    assert_int_equal(distinct[0], 78 + 96);
    assert_int_equal(distinct[1], distinct[0]);
}

static void test_differential_over_its_full(void **state) {
    (void)state;
    static const char *const pair[2] = {"doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak",
                                        "doublediff_2008r2rtm_full_appveyor.bak"};
    b2p_status st;
    b2p_error err = {0};
    b2p_backup *bk = open_files(pair, 2, false, &st, &err);
    if (st) fail_msg("%s", err.msg);
    b2p_pages *src;
    st = b2p_pages_open(&src, bk, NULL, &err);
    if (st) fail_msg("%s", err.msg);
    /* The newest set is the differential; its pages are laid over the full's. */
    assert_int_equal(b2p_pages_set(src)->type, B2P_BACKUP_DIFFERENTIAL);
    const b2p_page_stats *ps = b2p_pages_stats(src);
    assert_true(ps->pages > ps->distinct_pages); /* pages present in both count once */
    /* The boot page comes from the differential: its checkpoint LSN (dbi_checkptLSN, abs 444)
     * is newer than that of the full's own boot page. */
    uint8_t boot[B2P_PAGE_SIZE], full_boot[B2P_PAGE_SIZE];
    assert_int_equal(b2p_pages_read(src, 1, 9, boot, &err), B2P_OK);
    b2p_backup *full_only = open_files(pair + 1, 1, false, &st, &err);
    b2p_pages *full_src;
    assert_int_equal(b2p_pages_open(&full_src, full_only, NULL, &err), B2P_OK);
    assert_int_equal(b2p_pages_read(full_src, 1, 9, full_boot, &err), B2P_OK);
    uint64_t diff_ckpt = ((uint64_t)b2p_le32(boot + 444) << 32) | b2p_le32(boot + 448);
    uint64_t full_ckpt = ((uint64_t)b2p_le32(full_boot + 444) << 32) | b2p_le32(full_boot + 448);
    assert_true(diff_ckpt > full_ckpt);
    b2p_pages_free(full_src);
    b2p_backup_free(full_only);
    b2p_pages_free(src);

    /* Asking for backup set 1 still chooses among both files' sets at position 1: the newest. */
    b2p_pages_options po = {.backup_set = 1};
    assert_int_equal(b2p_pages_open(&src, bk, &po, &err), B2P_OK);
    assert_int_equal(b2p_pages_set(src)->type, B2P_BACKUP_DIFFERENTIAL);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

static void test_differential_alone_needs_its_full(void **state) {
    (void)state;
    static const char *const one[1] = {"db1_2008r2_MULTIFILE_DIFFERENTIAL_nobase_appveyor.bak"};
    b2p_status st;
    b2p_error err = {0};
    b2p_backup *bk = open_files(one, 1, false, &st, &err);
    assert_int_equal(st, B2P_OK);
    b2p_pages *src = NULL;
    assert_int_equal(b2p_pages_open(&src, bk, NULL, &err), B2P_ERR_NEEDS_FULL);
    assert_null(src);
    assert_non_null(strstr(err.msg, "differential"));
    assert_non_null(strstr(err.msg, "323000000010200038")); /* the base checkpoint LSN it needs */
    /* Its file list has both data files (ids 1 and 3) and the log. */
    const b2p_set_info *s = &b2p_backup_media(bk, 0)->sets[0];
    assert_int_equal(s->nfiles, 3);
    assert_int_equal(s->files[0].file_id, 1);
    assert_int_equal(s->files[1].file_id, 3);
    assert_int_equal(s->files[2].type, 'L');
    b2p_backup_free(bk);
}

static void test_log_backup_has_no_pages(void **state) {
    (void)state;
    static const char *const one[1] = {"restoretimeclean_2008r2rtm_LOG_appveyor.trn"};
    b2p_status st;
    b2p_error err = {0};
    b2p_backup *bk = open_files(one, 1, false, &st, &err);
    assert_int_equal(st, B2P_OK);
    b2p_pages *src = NULL;
    assert_int_equal(b2p_pages_open(&src, bk, NULL, &err), B2P_ERR_LOG_BACKUP);
    assert_non_null(strstr(err.msg, "log"));
    b2p_backup_free(bk);
}

static void test_two_sets_in_one_file(void **state) {
    (void)state;
    static const char *const one[1] = {"stdb2sql_2005sp2_gabrujo.bak"};
    b2p_status st;
    b2p_error err = {0};
    b2p_backup *bk = open_files(one, 1, false, &st, &err);
    assert_int_equal(st, B2P_OK);
    const b2p_media *m = b2p_backup_media(bk, 0);
    assert_int_equal(m->nsets, 2);
    assert_int_equal(m->sets[0].position, 1);
    assert_int_equal(m->sets[1].position, 2);
    assert_memory_not_equal(&m->sets[0].backup_set_guid, &m->sets[1].backup_set_guid, 16);
    for (int pos = 1; pos <= 2; pos++) {
        b2p_pages *src;
        b2p_pages_options po = {.backup_set = pos};
        assert_int_equal(b2p_pages_open(&src, bk, &po, &err), B2P_OK);
        assert_int_equal(b2p_pages_set(src)->position, pos);
        b2p_pages_free(src);
    }
    b2p_pages_options po = {.backup_set = 3};
    b2p_pages *src = NULL;
    assert_int_equal(b2p_pages_open(&src, bk, &po, &err), B2P_ERR_NOT_FOUND);
    b2p_backup_free(bk);
}

static void test_renamed_database_takes_header_name(void **state) {
    (void)state;
    /* The boot page of this database still says "QLHHngHoa" (a stale tail of its old name). */
    static const char *const one[1] = {"qlhh_2008rtm_renamed_volekhanhduy.bak"};
    b2p_status st;
    b2p_error err = {0};
    b2p_backup *bk = open_files(one, 1, false, &st, &err);
    assert_int_equal(st, B2P_OK);
    assert_string_equal(b2p_backup_media(bk, 0)->sets[0].database_name, "QLHH");
    b2p_backup_free(bk);
}

static void test_known_header_values(void **state) {
    (void)state;
    static const char *const one[1] = {"northwind_2005sp4_salman.bak"};
    b2p_status st;
    b2p_error err = {0};
    b2p_backup *bk = open_files(one, 1, false, &st, &err);
    assert_int_equal(st, B2P_OK);
    const b2p_set_info *s = &b2p_backup_media(bk, 0)->sets[0];
    char buf[64];
    assert_string_equal(s->server_name, "EXCEL-006\\SQLEXPRESS");
    assert_string_equal(s->collation_name, "SQL_Latin1_General_CP1_CI_AS");
    assert_int_equal(s->database_version, 611);
    assert_int_equal(s->compatibility_level, 90);
    assert_string_equal(b2p_datetime_format(s->start_date, buf, sizeof buf), "2014-02-07 18:41:32");
    assert_string_equal(b2p_lsn_format(s->checkpoint_lsn, buf, sizeof buf), "93000000005200093");
    assert_string_equal(s->files[0].logical_name, "Northwind");
    assert_int_equal(s->files[0].size_bytes, 4390912);
    assert_int_equal(s->files[1].type, 'L');
    assert_int_equal(s->compressed_size, s->backup_size); /* 2005 has no compression */
    b2p_backup_free(bk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_agrees_with_manifest),
        cmocka_unit_test(test_striped_set_given_in_any_order),
        cmocka_unit_test(test_differential_over_its_full),
        cmocka_unit_test(test_differential_alone_needs_its_full),
        cmocka_unit_test(test_log_backup_has_no_pages),
        cmocka_unit_test(test_two_sets_in_one_file),
        cmocka_unit_test(test_renamed_database_takes_header_name),
        cmocka_unit_test(test_known_header_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
