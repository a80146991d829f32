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
#include "tests/support/db_gen.h"
#include "tests/support/db_writer.h"
#include "tests/support/fixtures.h"
#include "tests/support/pgcompare.h"
#include "tests/support/minijson.h"

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

/* Runs "bak2pg ARGS" with standard output redirected to `to` ("/dev/full": every write fails with
 * ENOSPC; "&-": closed), stderr captured; returns the exit status. */
static int run_with_stdout(const char *to, const char *fmt, ...) {
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >%s 2>'%s/err' </dev/null", bak2pg_bin(), args, to, tmpdir);
    int st = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/err", tmpdir);
    slurp(p, err_text, sizeof err_text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
#define run_to_full_disk(...) run_with_stdout("/dev/full", __VA_ARGS__)

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
    /* info describes them; --check of a log backup reads its log streams and their checksum;
     * dump needs pages and says why a log backup has none */
    const char *log = fixture_path("cubequeryhistory_2008r2_LOG_appveyor.trn");
    assert_int_equal(run("info '%s'", log), 0);
    assert_non_null(strstr(out_text, "type                   log"));
    assert_int_equal(run("info --check '%s'", log), 0);
    assert_non_null(strstr(out_text, "log                    4 blocks, 1 streams, 131072 bytes read"));
    assert_non_null(strstr(out_text, "backup checksums       1 verified, 0 bad"));
    assert_int_equal(run("dump --all '%s'", log), B2P_ERR_LOG_BACKUP);
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
    /* several tables to stdout: COPY blocks psql can load, under the names convert and load give
     * the tables (dbo -> public, folded to lower case), in load order */
    assert_int_equal(run("dump --table 'dbo.[RS]*' '%s'", f), 0);
    assert_non_null(strstr(out_text, "COPY public.region (regionid, regiondescription) FROM stdin;\n"));
    assert_non_null(strstr(out_text, "\\.\nCOPY public.shippers (shipperid, companyname, phone) FROM stdin;\n"));
    /* --keep-case and --schema-map as for convert */
    assert_int_equal(run("dump --keep-case --schema-map dbo=sales -t dbo.Region -t dbo.Shippers '%s'", f), 0);
    assert_non_null(strstr(out_text, "COPY sales.\"Region\" (\"RegionID\", \"RegionDescription\") FROM stdin;\n"));
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
    snprintf(p, sizeof p, "%s/dbo.Order%%20Details.copy", dir); /* a space is %20: base/filename.c */
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    int lines = 0;
    for (int c; (c = fgetc(fp)) != EOF;) lines += c == '\n';
    fclose(fp);
    assert_int_equal(lines, 2155);
}

/* ---- several files: one backup at a time ----------------------------------------------------- */

static void test_unrelated_backups_refused(void **state) {
    (void)state;
    char a[4096], b[4096], full[4096], diff[4096], diff2[4096], log[4096];
    snprintf(a, sizeof a, "%s", fixture_path("bikestores_2017rtm_hanif.bak"));
    snprintf(b, sizeof b, "%s", fixture_path("northwind_2005sp4_salman.bak"));
    /* two unrelated full backups: every command refuses, naming both files and databases (not
     * one of them read and the other dropped) */
    static const char *const commands[] = {"info", "info --check", "schema", "dump --all"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        assert_int_equal(run("%s '%s' '%s'", commands[i], a, b), B2P_ERR_USAGE);
        assert_one_line_naming("bikestores_2017rtm_hanif.bak");
        assert_one_line_naming("northwind_2005sp4_salman.bak");
        assert_non_null(strstr(err_text, "database 'BikeStores'"));
        assert_non_null(strstr(err_text, "database 'Northwind'"));
        assert_non_null(strstr(err_text, "not parts of one backup"));
        assert_string_equal(out_text, "");
    }
    /* two backups of one database (the same family GUID) are still two backups */
    snprintf(a, sizeof a, "%s", fixture_path("northwind_2008rtm_thuyluv.bak"));
    snprintf(b, sizeof b, "%s", fixture_path("northwind_2005rtm_attached2000_xandelima.bak"));
    assert_int_equal(run("info '%s' '%s'", a, b), B2P_ERR_USAGE);
    assert_non_null(strstr(err_text, "not parts of one backup"));
    /* what belongs together still goes together: a full with its differential(s) and its log,
     * the stripes of one media set */
    snprintf(full, sizeof full, "%s", fixture_path("doublediff_2008r2rtm_full_appveyor.bak"));
    snprintf(diff, sizeof diff, "%s", fixture_path("doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak"));
    snprintf(diff2, sizeof diff2, "%s", fixture_path("doublediff_2008r2rtm_DIFFERENTIAL2_appveyor.bak"));
    assert_int_equal(run("info --check '%s' '%s' '%s'", diff, full, diff2), 0);
    snprintf(full, sizeof full, "%s", fixture_path("cubequeryhistory_2008r2_full_appveyor.bak"));
    snprintf(diff, sizeof diff, "%s", fixture_path("cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak"));
    snprintf(log, sizeof log, "%s", fixture_path("cubequeryhistory_2008r2_LOG_appveyor.trn"));
    assert_int_equal(run("info '%s' '%s' '%s'", log, full, diff), 0);
    snprintf(a, sizeof a, "%s", fixture_path("restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak"));
    snprintf(b, sizeof b, "%s", fixture_path("restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak"));
    assert_int_equal(run("info --check '%s' '%s'", a, b), 0);
    /* ... but not beside a stranger */
    assert_int_equal(run("schema '%s' '%s' '%s'", a, b, full), B2P_ERR_USAGE);
    assert_one_line_naming("cubequeryhistory_2008r2_full_appveyor.bak");
    /* a log beside another database's full backup is a stranger too */
    snprintf(a, sizeof a, "%s", fixture_path("restoretimeclean_2008r2rtm_LOG_appveyor.trn"));
    assert_int_equal(run("info '%s' '%s'", full, a), B2P_ERR_USAGE);
}

/* ---- output that cannot be written ------------------------------------------------------------ */

static void assert_output_lost(const char *what) {
    if (!strstr(err_text, "No space left on device")) fail_msg("%s: no reason given: %s", what, err_text);
    size_t len = strlen(err_text);
    if (len == 0 || err_text[len - 1] != '\n' || memchr(err_text, '\n', len - 1))
        fail_msg("%s: expected a one-line error, got: %s", what, err_text);
}

static void test_output_lost_is_an_error(void **state) {
    (void)state;
    char f[4096];
    snprintf(f, sizeof f, "%s", fixture_path("northwind_2005sp4_salman.bak"));
    static const char *const commands[] = {"info",   "info --json", "info --check", "info --check --json", "schema",
                                           "schema --json", "schema --table dbo.Shippers", "dump --table dbo.Shippers",
                                           "dump --all"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        int rc = run_to_full_disk("%s '%s'", commands[i], f);
        if (rc != B2P_ERR_IO) fail_msg("%s > /dev/full: exit %d, expected %d: %s", commands[i], rc, B2P_ERR_IO, err_text);
        assert_output_lost(commands[i]);
    }
    /* convert writes its files, then a summary to stdout: a lost summary fails the run too */
    assert_int_equal(run_to_full_disk("convert -o '%s' --table dbo.Shippers '%s'", tmp_path("lost-convert"), f), B2P_ERR_IO);
    assert_output_lost("convert");
    assert_int_equal(run_to_full_disk("--help"), B2P_ERR_IO);
    assert_output_lost("--help");
    assert_int_equal(run_to_full_disk("schema --help"), B2P_ERR_IO);
    /* a closed standard output too */
    assert_int_equal(run_with_stdout("&-", "info '%s'", f), B2P_ERR_IO);
    assert_non_null(strstr(err_text, "Bad file descriptor"));
    /* and a command that failed for its own reason keeps its status */
    assert_int_equal(run_to_full_disk("dump --table nosuch '%s'", f), B2P_ERR_NOT_FOUND);
}

/* ---- damage that allocation knows about ----------------------------------------------------- */

/* Writes a generated backup (tests/support/db_gen.h) from desc to path. */
static void generate(const char *path, const char *desc) {
    char err[512];
    dbg_desc *d = dbg_parse(desc, err, sizeof err);
    if (!d) fail_msg("%s", err);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    dbg_write_options o = {0};
    if (!dbg_write(d, out, &o, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(fclose(out), 0);
    dbg_free(d);
}

static bool contains(const uint8_t *d, size_t len, const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (d[i] == (uint8_t)s[0] && !memcmp(d + i, s, n)) return true;
    return false;
}

/* The one unit of an uncompressed backup that is a data page (type 1) holding `marker`. */
static size_t find_data_page_with(const uint8_t *d, size_t len, const char *marker, uint32_t *page_id) {
    size_t found = 0, n = 0;
    for (size_t off = 0; off + B2P_PAGE_SIZE <= len; off += 512)
        if (d[off] == 1 && d[off + 1] == 1 && b2p_le16(d + off + 36) == 1 && b2p_page_checksum(d + off) == b2p_le32(d + off + 60) &&
            contains(d + off, B2P_PAGE_SIZE, marker)) {
            found = off;
            *page_id = b2p_le32(d + off + 32);
            n++;
        }
    if (n != 1) fail_msg("%zu data pages hold '%s', expected 1", n, marker);
    return found;
}

static void test_damaged_page_is_named(void **state) {
    (void)state;
    const char *p = tmp_path("damaged.bak");
    generate(p, "database Damaged\n"
                "table dbo.Notes\n" /* a heap of 9 pages: the marked page shares its extent */
                "  column id int not null\n"
                "  column body varchar(200) not null len 150 190\n"
                "  row 0 | MARKER-ROW-ONE\n"
                "  generate 300\n"
                "end\n"
                "table dbo.Other\n"
                "  column id int not null\n"
                "  generate 50\n"
                "end\n");
    assert_int_equal(run("info --check '%s'", p), 0);
    assert_non_null(strstr(out_text, "0 missing or unreadable"));
    size_t len;
    uint8_t *d = (uint8_t *)read_file(p, &len);
    assert_non_null(d);
    uint32_t page = 0;
    size_t off = find_data_page_with(d, len, "MARKER-ROW-ONE", &page);
    memset(d + off, 0, 512); /* the page header and its first records: the unit no longer names the page */
    write_file(p, d, len);
    free(d);

    char named[64];
    snprintf(named, sizeof named, "page 1:%u: allocated (PFS page 1:1", page);
    assert_int_equal(run("info --check '%s'", p), B2P_ERR_FAILED);
    if (!strstr(err_text, named)) fail_msg("info --check does not name %s: %s", named, err_text);
    char at[64];
    snprintf(at, sizeof at, "offset %zu: ", off);
    if (!strstr(err_text, at)) fail_msg("not at %s: %s", at, err_text);
    assert_non_null(strstr(err_text, "the unit where its extent puts it is not that page"));
    assert_non_null(strstr(out_text, "1 missing or unreadable"));
    assert_non_null(strstr(out_text, "PROBLEMS FOUND"));
    assert_int_equal(run("info --check --json '%s'", p), B2P_ERR_FAILED);
    mj_value *doc = mj_parse(out_text, NULL);
    assert_non_null(doc);
    const mj_value *check = mj_get(doc, "check");
    assert_non_null(check);
    assert_true(mj_get(check, "unreadable_pages")->number == 1);
    assert_false(mj_get(check, "ok")->boolean);
    mj_free(doc);
    /* reading the table meets the damage: corrupt (6), naming the page, not "not in the backup" */
    snprintf(named, sizeof named, "page 1:%u is damaged", page);
    assert_int_equal(run("dump --table dbo.Notes '%s'", p), B2P_ERR_CORRUPT);
    if (!strstr(err_text, named)) fail_msg("dump does not name %s: %s", named, err_text);
    assert_int_equal(run("dump --all '%s'", p), B2P_ERR_CORRUPT);
    /* the other table is intact */
    assert_int_equal(run("dump --table dbo.Other '%s'", p), 0);
}

/* A page a clustered table's leaf chain points at, gone from the backup and no longer marked
 * allocated (so the allocation check cannot see it): reading the table must fail as corrupt,
 * naming the page and the one before it, not end the chain and lose the rows after it in silence. */
static void test_missing_chain_page_is_damage(void **state) {
    (void)state;
    const char *p = tmp_path("chain.bak");
    generate(p, "database Chain\n"
                "table dbo.Ordered\n"
                "  column id int not null seq\n"
                "  column body varchar(200) not null len 150 190\n"
                "  primary key (id) clustered\n"
                "  row 1 | CHAIN-MARKER\n"
                "  generate 300\n"
                "end\n");
    assert_int_equal(run("dump --table dbo.Ordered '%s'", p), 0);
    size_t len;
    uint8_t *d = (uint8_t *)read_file(p, &len);
    assert_non_null(d);
    uint32_t first = 0;
    size_t off = find_data_page_with(d, len, "CHAIN-MARKER", &first);
    uint32_t next = b2p_le32(d + off + 16); /* m_nextPage: the second leaf */
    assert_int_not_equal(next, 0);
    size_t victim = find_page(d, len, 1, next);
    assert_int_equal(d[victim + 1], 1); /* a data page */
    memset(d + victim, 0, 512);
    size_t pfs = find_page(d, len, 1, 1);
    assert_int_equal(d[pfs + 1], 11); /* the PFS page */
    d[pfs + 100 + next] &= (uint8_t)~0x40; /* PFS: "not allocated" */
    write_file(p, d, len);
    free(d);
    char named[96];
    snprintf(named, sizeof named, "page 1:%u, next after page 1:%u", next, first);
    assert_int_equal(run("dump --table dbo.Ordered '%s'", p), B2P_ERR_CORRUPT);
    if (!strstr(err_text, named)) fail_msg("dump does not name %s: %s", named, err_text);
}

/* The same for off-row data: a LOB page a row points at, removed and unmarked, is damage (6). */
static void test_missing_lob_page_is_damage(void **state) {
    (void)state;
    const char *p = tmp_path("lob.bak");
    generate(p, "database Lob\n"
                "table dbo.Docs\n"
                "  column id int not null seq\n"
                "  column body varchar(max) not null len 20000 20000\n"
                "  primary key (id) clustered\n"
                "  generate 2\n"
                "end\n");
    assert_int_equal(run("dump --table dbo.Docs '%s'", p), 0);
    size_t len;
    uint8_t *d = (uint8_t *)read_file(p, &len);
    assert_non_null(d);
    size_t victim = 0;
    for (size_t off = 0; off + B2P_PAGE_SIZE <= len && !victim; off += 512)
        if (d[off] == 1 && d[off + 1] == 3 && b2p_le16(d + off + 36) == 1 && b2p_page_checksum(d + off) == b2p_le32(d + off + 60))
            victim = off; /* a text page (type 3) */
    assert_int_not_equal(victim, 0);
    uint32_t page = b2p_le32(d + victim + 32);
    memset(d + victim, 0, 512);
    size_t pfs = find_page(d, len, 1, 1);
    assert_int_equal(d[pfs + 1], 11);
    d[pfs + 100 + page] &= (uint8_t)~0x40;
    write_file(p, d, len);
    free(d);
    char named[96];
    snprintf(named, sizeof named, "off-row data on page 1:%u, which the row points at", page);
    assert_int_equal(run("dump --table dbo.Docs '%s'", p), B2P_ERR_CORRUPT);
    if (!strstr(err_text, named)) fail_msg("dump does not name %s: %s", named, err_text);
}

/* ---- names from the backup, shown ------------------------------------------------------------- */

/* Each forged text must stay inside the line of the name that holds it. */
#define FORGED "FORGED-LINE"

/* What a terminal would do with the bytes: any C0 control but the line ends printed, DEL, ESC,
 * or a bidi override (U+202E, E2 80 AE) is a failure. */
static void assert_inert_text(const char *what, const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p < 0x20 && *p != '\n') || *p == 0x7F)
            fail_msg("%s: raw control byte 0x%02X at %td", what, *p, (const char *)p - text);
        if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xAE) fail_msg("%s: raw U+202E at %td", what, (const char *)p - text);
    }
    for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (!strncmp(l, FORGED, strlen(FORGED)) || !strncmp(l, "y'", 2)) fail_msg("%s: a line was forged: %.60s", what, l);
}

static const char hostile_db[] = "Evil\n" FORGED "\r\x1b[31mred\x7f";
static const char hostile_schema[] = "s\r\n" FORGED "\x1b[2J";
static const char hostile_table[] = "t\xe2\x80\xae" "evil\n" FORGED;
static const char hostile_column[] = "c\x7f\x1b]0;title\x07\n" FORGED;
static const char hostile_default[] = "(N'x\n" FORGED "\x1b[0m')";

static void write_hostile_backup(const char *path) {
    dbw_options o = {.database_name = hostile_db};
    dbw *w = dbw_open(&o);
    assert_non_null(w);
    assert_true(dbw_schema(w, hostile_schema));
    dbw_column cols[2] = {{.name = "id", .xtype = 56, .max_length = 4},
                          {.name = hostile_column, .xtype = 231, .max_length = 80, .nullable = true, .default_sql = hostile_default}};
    dbw_table_def def = {.schema = hostile_schema, .name = hostile_table, .columns = cols, .ncolumns = 2,
                         .npk = 1, .pk = {0}, .clustered = true};
    if (!dbw_table_begin(w, &def)) fail_msg("%s", dbw_error(w));
    uint8_t id[4] = {1, 0, 0, 0}, text[64];
    dbw_value v[2] = {{id, 4, false}, {text, dbw_utf16("x", text, sizeof text), false}};
    assert_true(dbw_row(w, v));
    assert_true(dbw_table_end(w));
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    if (!dbw_finish(w, out, false)) fail_msg("%s", dbw_error(w));
    assert_int_equal(fclose(out), 0);
}

static void test_hostile_names_shown_escaped(void **state) {
    (void)state;
    const char *p = tmp_path("hostile.bak");
    write_hostile_backup(p);
    assert_int_equal(run("info '%s'", p), 0);
    assert_inert_text("info", out_text);
    assert_non_null(strstr(out_text, "Evil\\nFORGED-LINE\\r\\x1B[31mred\\x7F"));
    assert_int_equal(run("info --check '%s'", p), 0);
    assert_inert_text("info --check", out_text);
    assert_int_equal(run("schema '%s'", p), 0);
    assert_inert_text("schema", out_text);
    assert_non_null(strstr(out_text, "Table \"s\\r\\nFORGED-LINE\\x1B[2J.t\\u{202E}evil\\nFORGED-LINE\""));
    assert_non_null(strstr(out_text, "c\\x7F\\x1B]0;title\\x07\\nFORGED-LINE"));
    assert_non_null(strstr(out_text, "default (N'x\\nFORGED-LINE\\x1B[0m')"));
    /* errors name them escaped too */
    assert_int_equal(run("schema --table 'x\ny' '%s'", p), B2P_ERR_NOT_FOUND);
    assert_inert_text("schema error", err_text);
    /* JSON carries them exactly: valid JSON, the same bytes after decoding */
    assert_int_equal(run("schema --json '%s'", p), 0);
    mj_value *doc = mj_parse(out_text, NULL);
    if (!doc) fail_msg("schema --json is not JSON: %.200s", out_text);
    assert_string_equal(mj_get_string(doc, "database"), hostile_db);
    const mj_value *tables = mj_get(doc, "tables");
    assert_int_equal(tables->n, 1);
    assert_string_equal(mj_get_string(&tables->items[0], "schema"), hostile_schema);
    assert_string_equal(mj_get_string(&tables->items[0], "name"), hostile_table);
    const mj_value *col = &mj_get(&tables->items[0], "columns")->items[1];
    assert_string_equal(mj_get_string(col, "name"), hostile_column);
    assert_string_equal(mj_get_string(col, "default"), hostile_default);
    mj_free(doc);
    assert_non_null(strstr(out_text, "\\u007f"));
    assert_non_null(strstr(out_text, "\\u001b"));
    assert_int_equal(run("info --json '%s'", p), 0);
    doc = mj_parse(out_text, NULL);
    assert_non_null(doc);
    const mj_value *set = &mj_get(&mj_get(doc, "files")->items[0], "backup_sets")->items[0];
    assert_string_equal(mj_get_string(set, "database_name"), hostile_db);
    mj_free(doc);
}

/* Whether s is valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
static bool valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned char c = *s;
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len) return false;
        uint32_t v = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
        for (size_t i = 1; i < len; i++) {
            if ((s[i] & 0xC0) != 0x80) return false;
            v = (v << 6) | (s[i] & 0x3Fu);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
        s += len;
    }
    return true;
}

static void test_json_is_valid_for_any_bytes(void **state) {
    (void)state;
    /* a file name that is not UTF-8 and holds controls: --json still writes valid JSON and valid
     * UTF-8 (U+FFFD for each stray byte), the text output shows it escaped */
    const char *good = tmp_path("hostile.bak");
    write_hostile_backup(good);
    const char *odd = tmp_path("odd\xff\xfe\x80name\x7f\x01.bak");
    assert_int_equal(rename(good, odd), 0);
    assert_int_equal(run("info --json '%s'", odd), 0);
    assert_true(valid_utf8((const unsigned char *)out_text));
    for (const char *c = out_text; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n') fail_msg("raw control byte in JSON");
    mj_value *doc = mj_parse(out_text, NULL);
    assert_non_null(doc);
    const char *path = mj_get_string(&mj_get(doc, "files")->items[0], "path");
    assert_non_null(path);
    assert_non_null(strstr(path, "odd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdname\x7f\x01.bak"));
    mj_free(doc);
    assert_int_equal(run("info '%s'", odd), 0);
    assert_inert_text("info of an odd path", out_text);
    assert_non_null(strstr(out_text, "odd\\xFF\\xFE\\x80name\\x7F\\x01.bak"));
}


/* One rule for --table in every command that takes it: a pattern that matches no table is an error
 * (15) naming the pattern, checked before any connection is tried; each pattern on its own. */
static void test_pattern_matching_nothing(void **state) {
    (void)state;
    char f[4096];
    snprintf(f, sizeof f, "%s", fixture_path("northwind_2005sp4_salman.bak"));
    static const char dsn[] = "--dsn 'host=/nonexistent-b2p port=1 dbname=x'";
    assert_int_equal(run("convert -o '%s' --table nomatch '%s'", tmp_path("nomatch-convert"), f), B2P_ERR_NOT_FOUND);
    assert_one_line_naming("'nomatch'");
    assert_int_not_equal(access(tmp_path("nomatch-convert"), F_OK), 0); /* a mistake leaves no directory */
    assert_int_equal(run("convert -o '%s' --table dbo.Shippers --table 'nomatch*' '%s'", tmp_path("nomatch-two"), f),
                     B2P_ERR_NOT_FOUND);
    assert_one_line_naming("'nomatch*'");
    assert_int_equal(run("load %s --table nomatch '%s'", dsn, f), B2P_ERR_NOT_FOUND);
    assert_one_line_naming("'nomatch'");
    assert_int_equal(run("verify %s --table nomatch '%s'", dsn, f), B2P_ERR_NOT_FOUND);
    assert_one_line_naming("'nomatch'");
    assert_int_equal(run("dump --table nomatch '%s'", f), B2P_ERR_NOT_FOUND);
    assert_one_line_naming("'nomatch'");
    /* SSMS's own table, matched but left out without --include-ssms-tables: says so */
    assert_int_equal(run("verify %s --table dbo.sysdiagrams '%s'", dsn, f), B2P_ERR_NOT_FOUND);
    assert_one_line_naming("--include-ssms-tables");
    /* patterns that match: on to the connection, which fails (17) */
    assert_int_equal(run("load --retries 0 %s --table dbo.Shippers --exclude-table 'nomatch' '%s'", dsn, f), B2P_ERR_PG_CONNECT);
    assert_int_equal(run("convert -o '%s' --table 'dbo.Ship*' '%s'", tmp_path("match-convert"), f), 0);
}

/* --cast SCHEMA.TABLE.COLUMN=bytea: the form is checked when parsed, the names against the backup
 * (names as there, quoted "..." where they hold '.', '=' or '"'); dump shows the stored bytes. */
static void test_cast_option(void **state) {
    (void)state;
    const char *p = tmp_path("cast.bak");
    static const char desc[] =
        "database CastCli\n"
        "table dbo.\"a.b\"\n"
        "  column id int not null\n"
        "  column \"q\\\"uote.dot\" varchar(20) null\n"
        "  column n int null\n"
        "  primary key (id)\n"
        "  row 1 | \"x\\x00y\" | 5\n"
        "  row 2 | NULL | NULL\n"
        "end\n";
    char err[512];
    dbg_desc *d = dbg_parse(desc, err, sizeof err);
    if (!d) fail_msg("%s", err);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    dbg_write_options o = {0};
    if (!dbg_write(d, f, &o, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(fclose(f), 0);
    dbg_free(d);

    /* the NUL text stops a dump by default; cast to bytea, it is its bytes */
    assert_int_equal(run("dump --table 'dbo.a.b' '%s'", p), B2P_ERR_UNSUPPORTED);
    assert_int_equal(run("dump --table 'dbo.a.b' --cast 'dbo.\"a.b\".\"q\"\"uote.dot\"=bytea' '%s'", p), 0);
    assert_string_equal(out_text, "1\t\\\\x780079\t5\n2\t\\N\t\\N\n");
    /* SQL Server's names compare ignoring case: so does --cast, where that finds one column */
    assert_int_equal(run("dump --table 'dbo.a.b' --cast 'DBO.\"A.B\".\"Q\"\"UOTE.DOT\"=BYTEA' '%s'", p), 0);
    assert_string_equal(out_text, "1\t\\\\x780079\t5\n2\t\\N\t\\N\n");
    /* convert writes the column as bytea and its data as the bytes */
    assert_int_equal(run("convert -o '%s' --cast 'dbo.\"a.b\".\"q\"\"uote.dot\"=bytea' '%s'", tmp_path("cast-convert"), p), 0);
    char path[700], text[4096];
    snprintf(path, sizeof path, "%s/pre-data.sql", tmp_path("cast-convert"));
    slurp(path, text, sizeof text);
    assert_non_null(strstr(text, "\"q\"\"uote.dot\" bytea"));

    /* mistakes: usage errors (2) naming the argument, for every command */
    char convert[700];
    snprintf(convert, sizeof convert, "convert --clean -o '%s'", tmp_path("cast-bad"));
    const char *const cmds[] = {"dump --table x", convert, "load --dsn x", "verify --dsn x"};
    static const struct {
        const char *arg, *says;
    } bad[] = {
        {"dbo.\"a.b\".nope=bytea", "table dbo.a.b has no column nope"},
        {"dbo.nope.n=bytea", "the backup has no table dbo.nope"},
        {"dbo.\"a.b\".n=bytea", "column n is int: only character and binary columns"},
        {"dbo.\"a.b\".id=integer", "type 'integer' is not one --cast supports"},
        {"dbo.a.b.n=bytea", "more than three names"},
        {"dbo.\"a.b=bytea", "no closing quote"},
        {"dbo.x=bytea", "three names"},
        {"dbo.x.y", "no '=TYPE'"},
        {"dbo.x.y=", "the type after '=' is empty"},
        {"dbo..y=bytea", "a name is empty"},
    };
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            int rc = run("%s --cast '%s' '%s'", cmds[c], bad[i].arg, p);
            if (rc != B2P_ERR_USAGE || !strstr(err_text, bad[i].says) || !strstr(err_text, "--cast"))
                fail_msg("%s --cast '%s': exit %d, said: %s", cmds[c], bad[i].arg, rc, err_text);
        }
    assert_int_equal(run("convert --help"), 0);
    assert_non_null(strstr(out_text, "--cast SCHEMA.TABLE.COLUMN=bytea"));
    assert_int_equal(run("dump --help"), 0);
    assert_non_null(strstr(out_text, "--cast SCHEMA.TABLE.COLUMN=bytea"));
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
        cmocka_unit_test(test_pattern_matching_nothing),
        cmocka_unit_test(test_cast_option),
        cmocka_unit_test(test_unrelated_backups_refused),
        cmocka_unit_test(test_output_lost_is_an_error),
        cmocka_unit_test(test_damaged_page_is_named),
        cmocka_unit_test(test_missing_chain_page_is_damage),
        cmocka_unit_test(test_missing_lob_page_is_damage),
        cmocka_unit_test(test_hostile_names_shown_escaped),
        cmocka_unit_test(test_json_is_valid_for_any_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
