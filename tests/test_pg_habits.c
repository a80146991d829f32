/* A PostgreSQL user's habits (issue 16), against a real PostgreSQL 15 and a real backup
 * (Northwind, SQL Server 2005):
 *   - -t/-T/-n/-N match the backup's names and the PostgreSQL names, ignoring case, on every
 *     command; a -t or -n that matches nothing is an error naming the closest tables; an
 *     exclusion that matches nothing is a warning, an error with --strict-names;
 *   - convert --section, -s, -a and -l; load -l; dump -l;
 *   - `dump --all | psql` into the tables `convert -s` created: verify says equal;
 *   - convert --clean --if-exists: load.sql runs twice; --clean alone stops on a missing table
 *     before anything changed; -C creates the database;
 *   - load -d NAME and PGDATABASE alone; load prints one line per table under its PostgreSQL
 *     name, keeps review.sql's text in bak2pg.runs.review, --review-file, -q;
 *   - a usage error is said once, with the command's one-line usage. */
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
static bak2pg_output last;

static const char NORTHWIND[] = "northwind_2005sp4_salman.bak";

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-habits", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    bak2pg_output_free(&last);
    return pgserver_test_teardown(server, tmpdir);
}

static const char *path_in_tmp(const char *name) {
    static char p[4][600];
    static int next;
    char *s = p[next++ % 4];
    snprintf(s, sizeof p[0], "%s/%s", tmpdir, name);
    return s;
}

static int count_lines_with(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Runs psql -f load.sql from dir (its \copy paths are relative to it) against dbname. */
static int run_load_sql(const char *dir, const char *dbname) {
    char cmd[2048], conninfo[512];
    pgserver_conninfo_db(server, dbname, conninfo, sizeof conninfo);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/psql' -X -q -d '%s' -f load.sql > psql.out 2>&1", dir, pgserver_bindir(server),
             conninfo);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void assert_verify_equal(const char *dbname, const char *bak) {
    char conninfo[512];
    pgserver_conninfo_db(server, dbname, conninfo, sizeof conninfo);
    int rc = bak2pg_run(tmpdir, &last, "verify --dsn '%s' '%s'", conninfo, bak);
    if (rc) fail_msg("verify on %s: exit %d\n%s%s", dbname, rc, last.out, last.err);
    assert_non_null(strstr(last.out, "OK: 13 tables: 13 equal"));
}

/* ---- table patterns ---------------------------------------------------------------------- */

/* Lists the tables `dump -l` would take with these options (one "TABLE DATA name" per line). */
static int dump_list(const char *bak, const char *options) {
    return bak2pg_run(tmpdir, &last, "dump -l %s '%s'", options, bak);
}

static void test_patterns_match_both_names_ignoring_case(void **state) {
    (void)state;
    const char *bak = fixture_path(NORTHWIND);
    /* one table by every name it goes by */
    static const char *const spellings[] = {"-t customers", "-t public.customers", "-t dbo.Customers", "-t DBO.CUSTOMERS",
                                            "--table 'Custom?rs'", "-t 'PUBLIC.CUST*' -T '*demo*'"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        int rc = dump_list(bak, spellings[i]);
        if (rc) fail_msg("%s: exit %d: %s", spellings[i], rc, last.err);
        if (count_lines_with(last.out, "; data; TABLE DATA ") != 1 || !strstr(last.out, "TABLE DATA public.customers;"))
            fail_msg("%s: listed\n%s", spellings[i], last.out);
    }
    /* -n by either schema name; -N and -T leave out; -t wins over -n */
    assert_int_equal(dump_list(bak, "-n dbo"), 0);
    assert_int_equal(count_lines_with(last.out, "; data; TABLE DATA "), 13);
    assert_int_equal(dump_list(bak, "-n PUBLIC -T 'order*'"), 0);
    assert_int_equal(count_lines_with(last.out, "; data; TABLE DATA "), 11);
    assert_null(strstr(last.out, "public.orders;"));
    assert_int_equal(dump_list(bak, "-n public -t shippers"), 0);
    assert_int_equal(count_lines_with(last.out, "; data; TABLE DATA "), 1);
    /* the same rule on convert and load (whose -l neither writes nor connects) */
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -l -t public.shippers -t 'dbo.Reg*' '%s'", bak), 0);
    assert_int_equal(count_lines_with(last.out, "; pre-data; TABLE "), 2);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load -l -N public '%s'", bak), 0);
    assert_int_equal(count_lines_with(last.out, "; data; TABLE DATA "), 0);
    /* schema takes them too */
    assert_int_equal(bak2pg_run(tmpdir, &last, "schema -t public.shippers '%s'", bak), 0);
    assert_int_equal(count_lines_with(last.out, "Table \""), 1);
    assert_non_null(strstr(last.out, "Table \"dbo.Shippers\""));
}

static void test_pattern_that_matches_nothing(void **state) {
    (void)state;
    const char *bak = fixture_path(NORTHWIND);
    /* -t: an error on every command, naming the closest tables */
    static const char *const cmds[] = {"dump -l", "convert -l", "load -l", "schema"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = bak2pg_run(tmpdir, &last, "%s -t custmers '%s'", cmds[i], bak);
        if (rc != 15 || !strstr(last.err, "'custmers'") || !strstr(last.err, "did you mean Customers?"))
            fail_msg("%s -t custmers: exit %d: %s", cmds[i], rc, last.err);
        assert_int_equal(count_lines_with(last.err, "\n"), 1);
    }
    assert_int_equal(bak2pg_run(tmpdir, &last, "dump -l -n sales '%s'", bak), 15);
    assert_non_null(strstr(last.err, "no schema matches -n/--schema 'sales'"));
    /* a misspelt exclusion: said, and the table it meant stays in */
    assert_int_equal(dump_list(bak, "--all -T 'orderz'"), 0);
    assert_non_null(strstr(last.err, "warning: no table matches -T/--exclude-table 'orderz'"));
    assert_non_null(strstr(last.err, "did you mean Orders"));
    assert_int_equal(count_lines_with(last.out, "; data; TABLE DATA "), 13);
    /* --strict-names: an error */
    assert_int_equal(dump_list(bak, "--all --strict-names -T 'orderz'"), 15);
    assert_non_null(strstr(last.err, "no table matches -T/--exclude-table 'orderz'"));
    assert_int_equal(dump_list(bak, "--all --strict-names -N 'dbx'"), 15);
    assert_non_null(strstr(last.err, "did you mean dbo"));
    assert_int_equal(dump_list(bak, "--all --strict-names -T orders"), 0);
}

/* ---- sections, lists, dump | psql ------------------------------------------------------------ */

static void test_sections_and_dump_into_convert_schema(void **state) {
    (void)state;
    const char *bak = fixture_path(NORTHWIND);
    const char *schema_dir = path_in_tmp("schema-only"), *data_dir = path_in_tmp("data-only");
    /* -l writes nothing */
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -l -o '%s' '%s'", path_in_tmp("listed"), bak), 0);
    assert_false(exists(path_in_tmp("listed")));
    assert_int_equal(count_lines_with(last.out, "; pre-data; TABLE "), 13);
    assert_int_equal(count_lines_with(last.out, "; post-data; CONSTRAINTS "), 13);
    /* in load order: a referenced table before the tables that reference it */
    const char *cats = strstr(last.out, "TABLE public.categories;"), *prods = strstr(last.out, "TABLE public.products;");
    assert_true(cats && prods && cats < prods);
    /* -s: the DDL and no data; -a: the data and no DDL */
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -q -s -o '%s' '%s'", schema_dir, bak), 0);
    assert_string_equal(last.out, "");
    char p[800];
    snprintf(p, sizeof p, "%s/pre-data.sql", schema_dir);
    assert_true(exists(p));
    snprintf(p, sizeof p, "%s/data", schema_dir);
    assert_false(exists(p));
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert --section data -o '%s' '%s'", data_dir, bak), 0);
    snprintf(p, sizeof p, "%s/pre-data.sql", data_dir);
    assert_false(exists(p));
    snprintf(p, sizeof p, "%s/data/public.customers.copy", data_dir);
    assert_true(exists(p));
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -s -a -o x '%s'", bak), 2);
    /* the schema from convert -s, the rows from dump | psql: what verify calls equal */
    assert_int_equal(pgserver_create_db(server, "piped"), 0);
    assert_int_equal(run_load_sql(schema_dir, "piped"), 0);
    char conninfo[512], cmd[2048];
    pgserver_conninfo_db(server, "piped", conninfo, sizeof conninfo);
    snprintf(cmd, sizeof cmd, "'%s' dump --all '%s' | '%s/psql' -X -q -v ON_ERROR_STOP=1 -d '%s' > '%s/pipe.out' 2>&1",
             bak2pg_bin(), bak, pgserver_bindir(server), conninfo, tmpdir);
    assert_int_equal(system(cmd), 0);
    assert_verify_equal("piped", bak);
    /* the data-only files into the same schema, emptied: equal again, identities past the rows */
    assert_int_equal(pgserver_exec(server, "piped",
                                   "TRUNCATE public.\"order details\", public.orders, public.products, public.categories, "
                                   "public.suppliers, public.shippers, public.employeeterritories, public.territories, "
                                   "public.region, public.employees, public.customercustomerdemo, public.customers, "
                                   "public.customerdemographics"),
                     0);
    assert_int_equal(run_load_sql(data_dir, "piped"), 0);
    assert_verify_equal("piped", bak);
    assert_int_equal(pgserver_query_long(server, "piped", "SELECT nextval(pg_get_serial_sequence('public.orders', 'orderid'))"),
                     11078);
}

/* ---- load.sql runs again -------------------------------------------------------------------- */

static void test_clean_scripts_run_again(void **state) {
    (void)state;
    const char *bak = fixture_path(NORTHWIND);
    const char *dir = path_in_tmp("clean");
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -q --clean --if-exists -o '%s' '%s'", dir, bak), 0);
    assert_int_equal(pgserver_create_db(server, "again"), 0);
    assert_int_equal(run_load_sql(dir, "again"), 0); /* into an empty database: IF EXISTS */
    assert_int_equal(run_load_sql(dir, "again"), 0); /* and again, over itself */
    assert_verify_equal("again", bak);
    assert_int_equal(pgserver_query_long(server, "again", "SELECT count(*) FROM public.orders"), 830);
    /* --clean without --if-exists: a table that is not there stops load.sql before any change */
    const char *strict = path_in_tmp("clean-strict");
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -q --clean -o '%s' '%s'", strict, bak), 0);
    assert_int_equal(pgserver_create_db(server, "fresh"), 0);
    assert_int_not_equal(run_load_sql(strict, "fresh"), 0);
    assert_int_equal(pgserver_query_long(server, "fresh", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
    assert_int_equal(run_load_sql(strict, "again"), 0); /* where the tables are: replaced */
    assert_verify_equal("again", bak);
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert --if-exists -o '%s' '%s'", path_in_tmp("x"), bak), 2);
    /* -C: load.sql makes the database (named as in the backup, folded) and fills it */
    const char *created = path_in_tmp("create");
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -q -C -o '%s' '%s'", created, bak), 0);
    assert_int_equal(run_load_sql(created, "postgres"), 0);
    assert_verify_equal("northwind", bak);
}

/* ---- load's habits ---------------------------------------------------------------------------- */

static void test_load_names_and_quiet(void **state) {
    (void)state;
    const char *bak = fixture_path(NORTHWIND);
    assert_int_equal(pgserver_create_db(server, "byname"), 0);
    /* -d takes a plain database name; host and user from the environment, as for psql */
    char env[1024], review[700];
    snprintf(review, sizeof review, "%s/review-load.sql", tmpdir);
    snprintf(env, sizeof env, "PGHOST='%s' PGPORT=%d PGUSER='%s'", pgserver_socket_dir(server), pgserver_port(server),
             pgserver_user(server));
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "%s '%s' load -d byname --review-file '%s' '%s' > '%s/load.out' 2> '%s/load.err'", env, bak2pg_bin(),
             review, bak, tmpdir, tmpdir);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path_in_tmp("load.err"), "r");
    assert_non_null(f);
    char err[65536];
    size_t n = fread(err, 1, sizeof err - 1, f);
    err[n] = 0;
    fclose(f);
    /* a line per table, by its PostgreSQL name; the review said in one line, not printed */
    assert_non_null(strstr(err, "bak2pg: public.\"order details\": loaded, 2155 rows\n"));
    assert_int_equal(count_lines_with(err, ": loaded, "), 13);
    assert_null(strstr(err, "dbo.Customers"));
    assert_non_null(strstr(err, "bak2pg.runs.review (run 1)"));
    assert_true(count_lines_with(err, "\n") < 20);
    /* the review is in the ledger and in the file, the same text */
    long in_ledger = pgserver_query_long(server, "byname", "SELECT length(review) FROM bak2pg.runs WHERE run_id = 1");
    struct stat st;
    assert_int_equal(stat(review, &st), 0);
    assert_true(in_ledger > 1000);
    assert_int_equal((long)st.st_size, in_ledger);
    /* PGDATABASE alone, -q: nothing said; verify the same way */
    snprintf(cmd, sizeof cmd, "%s PGDATABASE=byname '%s' load -q '%s' > '%s/q.out' 2>&1 && %s PGDATABASE=byname '%s' verify '%s' >/dev/null",
             env, bak2pg_bin(), bak, tmpdir, env, bak2pg_bin(), bak);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(stat(path_in_tmp("q.out"), &st), 0);
    assert_int_equal((long)st.st_size, 0);
    /* --review-file never overwrites */
    snprintf(cmd, sizeof cmd, "%s '%s' load -q -d byname --review-file '%s' '%s' > /dev/null 2>&1", env, bak2pg_bin(), review, bak);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    /* unchanged tables produce no DDL, so nothing to review: the file is left as it was */
    assert_int_equal(stat(review, &st), 0);
    assert_int_equal((long)st.st_size, in_ledger);
    /* no database named anywhere: a usage error */
    snprintf(cmd, sizeof cmd, "env -u PGDATABASE -u PGSERVICE '%s' load '%s' > /dev/null 2>&1", bak2pg_bin(), bak);
    rc = system(cmd);
    assert_int_equal(WEXITSTATUS(rc), 2);
}

/* ---- -j on dump and verify: the same result ------------------------------------------------- */

/* The whole text of file dir/name ("" when absent), for comparing. */
static char *slurp(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc((size_t)n + 1, 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return b;
}

/* verify --json without its timing ("milliseconds": N), which differs between runs. */
static char *verify_json(const char *dbname, const char *bak, const char *options, int *rc) {
    char conninfo[512];
    pgserver_conninfo_db(server, dbname, conninfo, sizeof conninfo);
    *rc = bak2pg_run(tmpdir, &last, "verify --json %s --dsn '%s' '%s'", options, conninfo, bak);
    char *s = strdup(last.out), *ms = strstr(s, "\"milliseconds\":");
    if (ms) { /* cut the number out */
        char *end = ms + strlen("\"milliseconds\":");
        while (*end >= '0' && *end <= '9') end++;
        memmove(ms, end, strlen(end) + 1);
    }
    return s;
}

static void test_jobs_give_the_same_result(void **state) {
    (void)state;
    const char *bak = fixture_path(NORTHWIND);
    const char *one = path_in_tmp("dump-j1"), *four = path_in_tmp("dump-j4");
    assert_int_equal(bak2pg_run(tmpdir, &last, "dump --all -o '%s' '%s'", one, bak), 0);
    assert_int_equal(bak2pg_run(tmpdir, &last, "dump --all -j 4 -o '%s' '%s'", four, bak), 0);
    static const char *const files[] = {"dbo.Orders.copy", "dbo.Order%20Details.copy", "dbo.Categories.copy", "dbo.Customers.copy"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *a = slurp(one, files[i]), *b = slurp(four, files[i]);
        assert_true(strlen(a) > 100);
        assert_string_equal(a, b);
        free(a), free(b);
    }
    assert_int_equal(bak2pg_run(tmpdir, &last, "dump --all -j 4 '%s'", bak), 2); /* one stream: one order */
    /* verify -j: the same report; a changed value found as well */
    int rc1, rc4;
    char *seq = verify_json("byname", bak, "", &rc1), *par = verify_json("byname", bak, "-j 3", &rc4);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc4, 0);
    assert_true(strlen(seq) > 1000);
    assert_string_equal(seq, par);
    free(seq), free(par);
    assert_int_equal(pgserver_exec(server, "byname", "UPDATE public.shippers SET phone = 'changed' WHERE shipperid = 2"), 0);
    free(verify_json("byname", bak, "-j 3", &rc4));
    assert_int_equal(rc4, 1);
    assert_non_null(strstr(last.out, "\"different\":1,"));
}

/* ---- usage errors -------------------------------------------------------------------------- */

static void test_usage_error_said_once(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"convert --bogus x.bak", "bak2pg convert: unknown option '--bogus'"},
        {"dump -t", "bak2pg dump: option '-t' needs an argument"},
        {"load --dsn=secret --nonsense=password1 x.bak", "bak2pg load: unknown option '--nonsense'"},
        {"verify -Z x.bak", "bak2pg verify: unknown option '-Z'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(bak2pg_run(tmpdir, &last, "%s", bad[i][0]), 2);
        if (!strstr(last.err, bad[i][1])) fail_msg("%s said: %s", bad[i][0], last.err);
        assert_int_equal(count_lines_with(last.err, "unknown option") + count_lines_with(last.err, "needs an argument"), 1);
        assert_int_equal(count_lines_with(last.err, "\nusage: bak2pg "), 1);
        assert_null(strstr(last.err, "password1")); /* a mistyped option's value is never echoed */
        assert_null(strstr(last.err, "unrecognized"));     /* getopt's own message: not printed */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns_match_both_names_ignoring_case),
        cmocka_unit_test(test_pattern_that_matches_nothing),
        cmocka_unit_test(test_sections_and_dump_into_convert_schema),
        cmocka_unit_test(test_clean_scripts_run_again),
        cmocka_unit_test(test_load_names_and_quiet),
        cmocka_unit_test(test_jobs_give_the_same_result),
        cmocka_unit_test(test_usage_error_said_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
