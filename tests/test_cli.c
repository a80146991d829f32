/* The bak2pg command as a user meets it: help, output, and for every kind of bad input a
 * one-line error naming the file and a distinct exit status (README.md "Exit codes").
 * Runs the binary named by $B2P_BIN; bad inputs are made in a temporary directory from
 * copies of the fixtures (which are never written). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtf/mtf.h"
#include "tests/support/fixtures.h"

static char tmpdir[256];
static char out_text[1 << 20], err_text[1 << 16];

static void slurp(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
}

/* Runs "bak2pg ARGS" (args already shell-quoted), capturing stdout and stderr; returns the
 * exit status. */
static int run(const char *fmt, ...) {
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out' 2>'%s/err' </dev/null", bak2pg_bin(), args, tmpdir, tmpdir);
    int st = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/out", tmpdir);
    slurp(p, out_text, sizeof out_text);
    snprintf(p, sizeof p, "%s/err", tmpdir);
    slurp(p, err_text, sizeof err_text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The error output is exactly one line that names the given file. */
static void assert_one_line_naming(const char *file) {
    size_t len = strlen(err_text);
    if (len == 0 || err_text[len - 1] != '\n' || memchr(err_text, '\n', len - 1))
        fail_msg("expected a one-line error, got: %s", err_text);
    if (!strstr(err_text, file)) fail_msg("error does not name '%s': %s", file, err_text);
}

static char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static void write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Reads a whole fixture into memory (small: at most a few MB). */
static uint8_t *read_fixture(const char *name, size_t *len) {
    FILE *f = fopen(fixture_path(name), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(*len);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, *len, f), *len);
    fclose(f);
    return d;
}

static int setup(void **state) {
    (void)state;
    return tmpdir_make(tmpdir, sizeof tmpdir, "b2p-cli");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(tmpdir);
}

static void test_help_teaches(void **state) {
    (void)state;
    assert_int_equal(run("--help"), 0);
    assert_non_null(strstr(out_text, "info"));
    assert_non_null(strstr(out_text, "examples:"));
    assert_int_equal(run("info --help"), 0);
    assert_non_null(strstr(out_text, "--check"));
    assert_non_null(strstr(out_text, "--allow-missing-stripes"));
    assert_int_equal(run(""), B2P_ERR_USAGE);
    assert_int_equal(run("frobnicate"), B2P_ERR_USAGE);
    assert_non_null(strstr(err_text, "frobnicate"));
    assert_int_equal(run("info"), B2P_ERR_USAGE);
    assert_int_equal(run("info --bogus x.bak"), B2P_ERR_USAGE);
    assert_int_equal(run("info --backup-set zero x.bak"), B2P_ERR_USAGE);
}

static void test_info_text_and_json(void **state) {
    (void)state;
    const char *f = fixture_path("bikestores_2017rtm_hanif.bak");
    assert_int_equal(run("info '%s'", f), 0);
    assert_non_null(strstr(out_text, "BikeStores"));
    assert_non_null(strstr(out_text, "14.0.1000 (SQL Server 2017)"));
    assert_non_null(strstr(out_text, "869 (SQL Server 2017)"));
    assert_non_null(strstr(out_text, "BikeStore_log"));
    assert_int_equal(run("info --json --check '%s'", f), 0);
    assert_true(out_text[0] == '{');
    assert_non_null(strstr(out_text, "\"database_name\":\"BikeStores\""));
    assert_non_null(strstr(out_text, "\"compatibility_level\":140"));
    assert_non_null(strstr(out_text, "\"bad_checksums\":0"));
    assert_non_null(strstr(out_text, "\"ok\":true"));
    /* The text check report */
    assert_int_equal(run("info --check '%s'", fixture_path("tsqlv4_2016sp1_COMPRESSED_joeycheung.bak")), 0);
    assert_non_null(strstr(out_text, "591 verified, 0 bad"));
    assert_non_null(strstr(out_text, "result                 OK"));
}

static void test_not_a_backup(void **state) {
    (void)state;
    const char *p = tmp_path("notes.txt");
    write_file(p, (const uint8_t *)"hello, world\n", 13);
    assert_int_equal(run("info '%s'", p), B2P_ERR_NOT_BACKUP);
    assert_one_line_naming(p);
    write_file(p, (const uint8_t *)"", 0);
    assert_int_equal(run("info '%s'", p), B2P_ERR_NOT_BACKUP);
    assert_int_equal(run("info '%s'", tmp_path("does-not-exist.bak")), B2P_ERR_IO);
    assert_one_line_naming("does-not-exist.bak");
}

static void test_truncated(void **state) {
    (void)state;
    size_t len;
    uint8_t *d = read_fixture("northwind_2005sp4_salman.bak", &len);
    const char *p = tmp_path("half.bak");
    write_file(p, d, len / 2);
    assert_int_equal(run("info '%s'", p), B2P_ERR_TRUNCATED);
    assert_one_line_naming(p);
    assert_non_null(strstr(err_text, "offset"));
    free(d);
}

static void test_missing_stripe_and_salvage(void **state) {
    (void)state;
    const char *f = fixture_path("chinook_2025_STRIPE1of2_mariamahmed.bak");
    assert_int_equal(run("info '%s'", f), B2P_ERR_MISSING_STRIPE);
    assert_one_line_naming("chinook_2025_STRIPE1of2_mariamahmed.bak");
    assert_non_null(strstr(err_text, "2 files"));
    assert_non_null(strstr(err_text, "stripe(s) 1 given"));
    assert_int_equal(run("info --allow-missing-stripes '%s'", f), 0);
    assert_non_null(strstr(out_text, "1 of 2"));
}

static void test_log_and_orphan_differential(void **state) {
    (void)state;
    /* info describes them; --check needs pages and says why it has none */
    const char *log = fixture_path("cubequeryhistory_2008r2_LOG_appveyor.trn");
    assert_int_equal(run("info '%s'", log), 0);
    assert_non_null(strstr(out_text, "type                   log"));
    assert_int_equal(run("info --check '%s'", log), B2P_ERR_LOG_BACKUP);
    assert_one_line_naming("cubequeryhistory_2008r2_LOG_appveyor.trn");
    char diff[4096];
    snprintf(diff, sizeof diff, "%s", fixture_path("cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak"));
    assert_int_equal(run("info --check '%s'", diff), B2P_ERR_NEEDS_FULL);
    assert_one_line_naming("cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak");
    assert_int_equal(run("info --check '%s' '%s'", diff, fixture_path("cubequeryhistory_2008r2_full_appveyor.bak")), 0);
    assert_non_null(strstr(out_text, "Check of backup set 1 (differential"));
    /* a differential over a full backup that is not its base: refused, naming both LSNs (never
     * the full alone, which would drop the differential's pages in silence) */
    char other_diff[4096];
    snprintf(other_diff, sizeof other_diff, "%s", fixture_path("doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak"));
    assert_int_equal(run("dump --all '%s' '%s'", other_diff, fixture_path("cubequeryhistory_2008r2_full_appveyor.bak")),
                     B2P_ERR_NEEDS_FULL);
    assert_one_line_naming("doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak");
    assert_non_null(strstr(err_text, "checkpoint LSN 24000000006800099), but the full backup given"));
    assert_non_null(strstr(err_text, "cubequeryhistory_2008r2_full_appveyor.bak', checkpoint LSN 24000000041900037) is not its base"));
    /* the same file twice is a usage error, not a two-stripe set */
    assert_int_equal(run("info '%s' '%s'", diff, diff), B2P_ERR_USAGE);
    assert_non_null(strstr(err_text, "given twice"));
}

/* An MSSQLBAK container whose one record carries payload (at 0x1E0 + 28). */
static void write_container(const char *p, const uint8_t *payload, size_t plen, uint32_t cipher_len) {
    static uint8_t d[8192];
    memset(d, 0, sizeof d);
    memcpy(d, "MSSQLBAK", 8);
    b2p_put_le32(d + 8, 2);
    b2p_put_le32(d + 12, 3);
    uint8_t *rec = d + 0x1E0;
    rec[0] = 0x21;
    rec[1] = 2;
    b2p_put_le16(rec + 2, (uint16_t)plen);
    b2p_put_le32(rec + 20, cipher_len);
    memcpy(rec + 28, payload, plen);
    write_file(p, d, sizeof d);
}

static void test_encrypted_and_other_compression(void **state) {
    (void)state;
    uint8_t payload[1024];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 131 + 7); /* not a code table */
    const char *p = tmp_path("encrypted.bak");
    write_container(p, payload, sizeof payload, 1024);
    assert_int_equal(run("info '%s'", p), B2P_ERR_ENCRYPTED);
    assert_one_line_naming(p);
    assert_non_null(strstr(err_text, "WITH ENCRYPTION"));

    static const uint8_t zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    memcpy(payload, zstd_magic, 4);
    p = tmp_path("zstd.bak");
    write_container(p, payload, sizeof payload, 0);
    assert_int_equal(run("info '%s'", p), B2P_ERR_COMPRESSION);
    assert_one_line_naming(p);
    assert_non_null(strstr(err_text, "ZSTD"));

    payload[0] = 0x78; /* zlib header: DEFLATE, as QAT writes it */
    payload[1] = 0x9C;
    p = tmp_path("qat.bak");
    write_container(p, payload, sizeof payload, 0);
    assert_int_equal(run("info '%s'", p), B2P_ERR_COMPRESSION);
    assert_non_null(strstr(err_text, "QAT_DEFLATE"));
}

/* Finds the 8 KB unit holding page (file, page) in an uncompressed backup image. */
static size_t find_page(const uint8_t *d, size_t len, uint16_t file, uint32_t page) {
    for (size_t off = 0; off + B2P_PAGE_SIZE <= len; off += 512)
        if (d[off] == 1 && b2p_le32(d + off + 32) == page && b2p_le16(d + off + 36) == file &&
            b2p_page_checksum(d + off) == b2p_le32(d + off + 60))
            return off;
    fail_msg("page %u:%u not found", file, page);
    return 0;
}

static void test_tde_recognised(void **state) {
    (void)state;
    size_t len;
    uint8_t *d = read_fixture("northwind_2005sp4_salman.bak", &len);
    /* Make the boot page look like TDE: clear header, random body, valid checksum. */
    size_t off = find_page(d, len, 1, 9);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 96; i < B2P_PAGE_SIZE; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        d[off + i] = (uint8_t)x;
    }
    b2p_put_le32(d + off + 60, b2p_page_checksum(d + off));
    const char *p = tmp_path("tde.bak");
    write_file(p, d, len);
    assert_int_equal(run("info '%s'", p), 0); /* the metadata is readable */
    assert_int_equal(run("info --check '%s'", p), B2P_ERR_TDE);
    assert_one_line_naming(p);
    assert_non_null(strstr(err_text, "Transparent Data Encryption"));
    free(d);
}

static void test_bad_page_reported(void **state) {
    (void)state;
    size_t len;
    uint8_t *d = read_fixture("northwind_2005sp4_salman.bak", &len);
    size_t off = find_page(d, len, 1, 100);
    d[off + 4000] ^= 0x40;
    const char *p = tmp_path("bitflip.bak");
    write_file(p, d, len);
    assert_int_equal(run("info --check '%s'", p), B2P_ERR_FAILED);
    assert_non_null(strstr(err_text, "page 1:100: page checksum mismatch"));
    assert_non_null(strstr(out_text, "1 bad"));
    assert_non_null(strstr(out_text, "PROBLEMS FOUND"));
    free(d);
}

static void test_dump_formats(void **state) {
    (void)state;
    char f[4096];
    snprintf(f, sizeof f, "%s", fixture_path("northwind_2005sp4_salman.bak"));
    assert_int_equal(run("dump --table dbo.Shippers '%s'", f), 0);
    assert_string_equal(out_text, "1\tSpeedy Express\t(503) 555-9831\n2\tUnited Package\t(503) 555-3199\n"
                                  "3\tFederal Shipping\t(503) 555-9931\n");
    assert_int_equal(run("dump --table dbo.Shippers --format csv '%s'", f), 0);
    assert_non_null(strstr(out_text, "ShipperID,CompanyName,Phone\n1,Speedy Express,(503) 555-9831\n"));
    assert_int_equal(run("dump --table dbo.Shippers --format jsonl '%s'", f), 0);
    assert_non_null(strstr(out_text, "{\"ShipperID\":1,\"CompanyName\":\"Speedy Express\",\"Phone\":\"(503) 555-9831\"}\n"));
    /* several tables to stdout: COPY blocks psql can load */
    assert_int_equal(run("dump --table 'dbo.[RS]*' '%s'", f), 0);
    assert_non_null(strstr(out_text, "COPY \"dbo\".\"Region\" (\"RegionID\", \"RegionDescription\") FROM stdin;\n"));
    assert_non_null(strstr(out_text, "\\.\nCOPY \"dbo\".\"Shippers\""));
    /* a byte-exact LOB: the first 8 bytes of Categories.Picture (an OLE header) */
    assert_int_equal(run("dump --table dbo.Categories '%s'", f), 0);
    assert_non_null(strstr(out_text, "1\tBeverages\tSoft drinks, coffees, teas, beers, and ales\t\\\\x151c2f00"));
    /* usage and not-found */
    assert_int_equal(run("dump '%s'", f), B2P_ERR_USAGE);
    assert_int_equal(run("dump --all --table x '%s'", f), B2P_ERR_USAGE);
    assert_int_equal(run("dump --all --format csv '%s'", f), B2P_ERR_USAGE); /* several tables need -o */
    assert_int_equal(run("dump --table nosuch '%s'", f), B2P_ERR_NOT_FOUND);
    assert_int_equal(run("dump --table dbo.Shippers --nul maybe '%s'", f), B2P_ERR_USAGE);
    assert_int_equal(run("dump --help"), 0);
    assert_non_null(strstr(out_text, "--nul error|strip|replace"));
}

static void test_dump_to_directory(void **state) {
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/dumps/nested", tmpdir); /* ("out" holds captured stdout) */
    int rc = run("dump --all -o '%s' '%s'", dir, fixture_path("northwind_2008r2sp1_victor.bak"));
    if (rc) fail_msg("exit %d: %s", rc, err_text);
    char p[700];
    snprintf(p, sizeof p, "%s/dbo.Order Details.copy", dir);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    int lines = 0;
    for (int c; (c = fgetc(fp)) != EOF;) lines += c == '\n';
    fclose(fp);
    assert_int_equal(lines, 2155);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_teaches),
        cmocka_unit_test(test_info_text_and_json),
        cmocka_unit_test(test_not_a_backup),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_missing_stripe_and_salvage),
        cmocka_unit_test(test_log_and_orphan_differential),
        cmocka_unit_test(test_encrypted_and_other_compression),
        cmocka_unit_test(test_tde_recognised),
        cmocka_unit_test(test_bad_page_reported),
        cmocka_unit_test(test_dump_formats),
        cmocka_unit_test(test_dump_to_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
