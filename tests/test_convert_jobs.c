/* bak2pg convert -j N (no PostgreSQL needed): the output of three workers is the output of one,
 * byte for byte, file for file (diff -r), on uncompressed, compressed, striped and full +
 * differential backups, with and without --compress zstd (but for the scripts' random \restrict
 * key); a data file that cannot be created fails the run with the same exit status for -j 1 and
 * -j 3, a message naming the file, and no manifest.
 * Each run writes to "out" in a directory of its own, so that the paths inside load.sql agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/fixtures.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    return tmpdir_make(tmpdir, sizeof tmpdir, "b2p-convert-jobs");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(tmpdir);
}

static int exit_status(int st) {
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* In tmpdir/<label>-j<jobs>/: bak2pg convert -j jobs [extra] -o out FILES; returns its exit
 * status; its stderr goes to err.txt beside out. */
static int convert_in(const char *label, unsigned jobs, const char *extra, const char *const *files, size_t nfiles,
                      const char *prepare) {
    char dir[512], cmd[16384];
    snprintf(dir, sizeof dir, "%s/%s-j%u", tmpdir, label, jobs);
    if (mkdir(dir, 0777) != 0) fail_msg("mkdir %s", dir);
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' convert -j %u %s -o out", dir, prepare ? prepare : "",
                     bak2pg_bin(), jobs, extra);
    for (size_t i = 0; i < nfiles; i++) n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", fixture_path(files[i]));
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >stdout.txt 2>err.txt");
    return exit_status(system(cmd));
}

static size_t count_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* -j 1 and -j 3 succeed and write the same files with the same bytes; returns the data files. */
static size_t check_same_output(const char *label, const char *extra, const char *const *files, size_t nfiles) {
    int st1 = convert_in(label, 1, extra, files, nfiles, NULL);
    int st3 = convert_in(label, 3, extra, files, nfiles, NULL);
    if (st1 != 0 || st3 != 0) fail_msg("%s: convert exit status %d (-j 1) and %d (-j 3)", label, st1, st3);
    char cmd[2048];
    /* all but the scripts' \restrict keys (random in every run) and the order of the journal's
     * lines (the order the workers created the files in) */
    snprintf(cmd, sizeof cmd, "diff -r -x .bak2pg-files -I '^\\\\\\(un\\)\\{0,1\\}restrict ' '%s/%s-j1/out' '%s/%s-j3/out' >&2",
             tmpdir, label, tmpdir, label);
    if (exit_status(system(cmd)) != 0) fail_msg("%s: -j 3 wrote other files or bytes than -j 1", label);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-j1/out", tmpdir, label);
    size_t entries = count_entries(path);
    snprintf(path, sizeof path, "%s/%s-j1/out/data", tmpdir, label);
    size_t data_files = count_entries(path);
    assert_int_equal(entries, data_files ? 6 : 5); /* 5 scripts, and data/ when a table was converted */
    return data_files;
}

static void test_uncompressed(void **state) {
    (void)state;
    const char *f[] = {"bikestores_2017rtm_hanif.bak"};
    assert_int_equal(check_same_output("bikestores", "", f, 1), 9);
    const char *g[] = {"northwind_2005rtm_attached2000_xandelima.bak"};
    assert_int_equal(check_same_output("northwind-zstd", "--compress zstd", g, 1), 16);
}

static void test_compressed(void **state) {
    (void)state;
    const char *f[] = {"tsql2012_2016sp1_COMPRESSED_joeycheung.bak"};
    assert_int_equal(check_same_output("tsql2012", "", f, 1), 25);
    const char *g[] = {"schooldb_2022rtm_COMPRESSED_belal.bak"};
    assert_int_equal(check_same_output("schooldb", "", g, 1), 10);
}

/* The full + differential pairs of the fixtures hold no user table (DDL and manifest are still
 * compared); the striped set holds one. */
static void test_differential_and_stripes(void **state) {
    (void)state;
    const char *f[] = {"cubequeryhistory_2008r2_full_appveyor.bak", "cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak"};
    assert_int_equal(check_same_output("cube-diff", "", f, 2), 0);
    const char *g[] = {"restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak", "restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak"};
    assert_int_equal(check_same_output("stripes", "", g, 2), 1);
}

static void read_text(const char *path, char *out, size_t len) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, len - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
}

/* A data file that cannot be created (a directory stands in its place): both runs fail with the
 * status of an i/o error and a message naming the file, and neither writes the manifest. */
static void test_failure_is_reported_the_same(void **state) {
    (void)state;
    const char *f[] = {"tsql2012_2016sp1_COMPRESSED_joeycheung.bak"};
    /* a file "data" where the data directory goes: --clean leaves it (bak2pg did not write it) */
    const char *block = "mkdir -p out && touch out/data &&";
    int st1 = convert_in("fail", 1, "--clean", f, 1, block);
    int st3 = convert_in("fail", 3, "--clean", f, 1, block);
    assert_int_not_equal(st1, 0);
    assert_int_equal(st1, st3);
    for (unsigned j = 1; j <= 3; j += 2) {
        char path[1024], text[4096];
        snprintf(path, sizeof path, "%s/fail-j%u/err.txt", tmpdir, j);
        read_text(path, text, sizeof text);
        if (!strstr(text, "out/data/") || !strstr(text, "cannot create"))
            fail_msg("-j %u: stderr does not name the file: %s", j, text);
        snprintf(path, sizeof path, "%s/fail-j%u/out/manifest.json", tmpdir, j);
        assert_int_not_equal(access(path, F_OK), 0);
    }
}

static void test_bad_jobs_argument(void **state) {
    (void)state;
    const char *f[] = {"bikestores_2017rtm_hanif.bak"};
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' convert -j 0 -o '%s/none' '%s' 2>/dev/null", bak2pg_bin(), tmpdir, fixture_path(f[0]));
    assert_int_equal(exit_status(system(cmd)), 2); /* B2P_ERR_USAGE */
    snprintf(cmd, sizeof cmd, "'%s' convert --jobs x -o '%s/none' '%s' 2>/dev/null", bak2pg_bin(), tmpdir, fixture_path(f[0]));
    assert_int_equal(exit_status(system(cmd)), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uncompressed),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_differential_and_stripes),
        cmocka_unit_test(test_failure_is_reported_the_same),
        cmocka_unit_test(test_bad_jobs_argument),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
