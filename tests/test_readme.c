/* README.md's examples run as written (issue 16).
 *
 * Every ```sh block of README.md whose first command is a bak2pg command is run, line by line as
 * a shell script under `set -e`, in a fresh directory, against a real PostgreSQL 15 (PGHOST,
 * PGPORT, PGUSER point at the test's server; databases nw, target and sales exist) with `bak2pg`
 * and `psql` on PATH. The backups the examples name are real ones of the corpus, linked under
 * the names the README gives them (Northwind.bak is SQL Server 2005's Northwind, part1.bak and
 * part2.bak a striped backup, full.bak and diff.bak a full backup and its differential, Many.bak
 * a file holding two backup sets); a name the test does not know fails the test, so an example
 * cannot name a file nobody checked. Lines that only continue a comment are left out. The other
 * blocks (building, installing) are listed as not run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/fixtures.h"
#include "tests/support/pgserver.h"

static char tmpdir[200];
static pgserver *server;

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-readme", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    return pgserver_test_teardown(server, tmpdir);
}

/* The names README's examples give backups, and the real backups behind them. */
static const struct {
    const char *name, *fixture;
} BACKUPS[] = {
    {"Northwind.bak", "northwind_2005sp4_salman.bak"},
    {"Northwind-monday.bak", "northwind_2005sp4_salman.bak"},
    {"Northwind-friday.bak", "northwind_2005sp4_salman.bak"},
    {"Client.bak", "northwind_2005sp4_salman.bak"},
    {"Client-week2.bak", "northwind_2005sp4_salman.bak"},
    {"Big.bak", "northwind_2005sp4_salman.bak"},
    {"TSQL2012.bak", "tsql2012_2016sp1_COMPRESSED_joeycheung.bak"},
    {"part1.bak", "restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak"},
    {"part2.bak", "restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak"},
    {"full.bak", "cubequeryhistory_2008r2_full_appveyor.bak"},
    {"diff.bak", "cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak"},
    {"Many.bak", "stdb2sql_2005sp2_gabrujo.bak"},
};

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc((size_t)n + 1, 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) b[0] = 0;
    fclose(f);
    return b;
}

/* Whether line (up to its end) is only the continuation of a comment: blanks, then '#'. */
static bool comment_only(const char *line, size_t len) {
    size_t i = 0;
    while (i < len && line[i] == ' ') i++;
    return i == len || line[i] == '#';
}

/* Every *.bak name in the script must be one of BACKUPS: an unknown one fails the test. */
static void check_names(const char *script, int block) {
    for (const char *p = script; (p = strstr(p, ".bak")); p += 4) {
        const char *start = p;
        while (start > script && (start[-1] == '-' || start[-1] == '_' || (start[-1] >= '0' && start[-1] <= '9') ||
                                  (start[-1] >= 'A' && start[-1] <= 'Z') || (start[-1] >= 'a' && start[-1] <= 'z')))
            start--;
        size_t len = (size_t)(p + 4 - start);
        bool known = false;
        for (size_t k = 0; k < sizeof BACKUPS / sizeof BACKUPS[0] && !known; k++)
            known = strlen(BACKUPS[k].name) == len && !strncmp(BACKUPS[k].name, start, len);
        if (!known) fail_msg("README block %d names the backup '%.*s', which this test does not map to a real one", block, (int)len, start);
    }
}

/* A directory for block n: the backups linked in, bin/ with bak2pg, psql and the scheduler the
 * README pipes into. */
static void prepare(const char *dir, const char *bin) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s'", dir, bin);
    assert_int_equal(system(cmd), 0);
    for (size_t k = 0; k < sizeof BACKUPS / sizeof BACKUPS[0]; k++) {
        char link[1200];
        snprintf(link, sizeof link, "%s/%s", dir, BACKUPS[k].name);
        assert_int_equal(symlink(fixture_path(BACKUPS[k].fixture), link), 0);
    }
    char absbin[1200], path[1400];
    snprintf(absbin, sizeof absbin, "%s", bak2pg_bin());
    if (absbin[0] != '/') {
        char cwd[1000];
        assert_non_null(getcwd(cwd, sizeof cwd));
        snprintf(absbin, sizeof absbin, "%s/%s", cwd, bak2pg_bin());
    }
    snprintf(path, sizeof path, "%s/bak2pg", bin);
    assert_int_equal(symlink(absbin, path), 0);
    snprintf(path, sizeof path, "%s/psql", bin);
    char psql[600];
    snprintf(psql, sizeof psql, "%s/psql", pgserver_bindir(server));
    assert_int_equal(symlink(psql, path), 0);
    snprintf(path, sizeof path, "%s/my-scheduler-ingest", bin);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n# reads the JSON lines load --log-json writes, as a scheduler would\nexec cat >/dev/null\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

/* Runs one block; returns its exit status, its output in *out. */
static int run_block(int n, const char *script, char **out) {
    char dir[600], bin[700], file[800], cmd[4096], log[800];
    snprintf(dir, sizeof dir, "%s/block%d", tmpdir, n);
    snprintf(bin, sizeof bin, "%s/bin", dir);
    prepare(dir, bin);
    snprintf(file, sizeof file, "%s/example.sh", dir);
    snprintf(log, sizeof log, "%s/example.log", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "set -e -o pipefail\n%s", script); /* a failing bak2pg before a pipe fails too */
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && PATH='%s':\"$PATH\" PGHOST='%s' PGPORT=%d PGUSER='%s' PGDATABASE= bash '%s' > '%s' 2>&1", dir, bin,
             pgserver_socket_dir(server), pgserver_port(server), pgserver_user(server), file, log);
    int st = system(cmd);
    *out = read_all(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_readme_examples_run(void **state) {
    (void)state;
    fixtures_require();
    char *readme = read_all("README.md");
    assert_non_null(readme);
    static const char *const dbs[] = {"nw", "target", "target2", "sales"};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) assert_int_equal(pgserver_create_db(server, dbs[i]), 0);
    int block = 0, ran = 0, lines = 0;
    for (const char *p = readme; (p = strstr(p, "\n```sh\n"));) {
        p += 7;
        const char *end = strstr(p, "\n```");
        if (!end) break;
        block++;
        char *script = calloc((size_t)(end - p) + 2, 1);
        size_t used = 0;
        int commands = 0;
        for (const char *l = p; l <= end;) {
            const char *nl = memchr(l, '\n', (size_t)(end + 1 - l));
            size_t len = nl ? (size_t)(nl - l) : (size_t)(end - l);
            if (!comment_only(l, len)) {
                memcpy(script + used, l, len);
                used += len;
                script[used++] = '\n';
                commands++;
            }
            if (!nl) break;
            l = nl + 1;
        }
        script[used] = 0;
        p = end + 4;
        if (strncmp(script, "bak2pg ", 7)) {
            printf("  README block %d not run (not a bak2pg example): %.40s...\n", block, script);
            free(script);
            continue;
        }
        check_names(script, block);
        char *out = NULL;
        int rc = run_block(block, script, &out);
        if (rc) {
            size_t n = out ? strlen(out) : 0;
            printf("README block %d exited %d; the end of its output:\n%s\n", block, rc, out ? out + (n > 3000 ? n - 3000 : 0) : "");
            fail_msg("README block %d exited %d (its output above)", block, rc);
        }
        printf("  README block %d: %d commands ran\n", block, commands);
        ran++;
        lines += commands;
        free(out);
        free(script);
    }
    free(readme);
    printf("README: %d example blocks, %d commands, all ran as written\n", ran, lines);
    assert_true(ran >= 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_examples_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
