/* bak2pg verify, against a real PostgreSQL 15 the test starts itself:
 *   - after `bak2pg load` (and after convert's load.sql), verify finds every table equal, in rows
 *     and content hash, and every key holding; row counts agree with the truth corpus; a full +
 *     differential pair verifies too; hostile database defaults (TimeZone, DateStyle,
 *     extra_float_digits, bytea_output, IntervalStyle) change nothing, because verify sets its
 *     own session (and those settings print exactly what the export writes);
 *   - one changed value, one deleted row, a duplicate key behind a dropped primary key and an
 *     orphan behind a dropped foreign key are each found and named, and nothing else is;
 *     a missing table or column is a difference, not a crash;
 *   - over a differential (a real one has no user tables in the fixtures, so one is derived from
 *     Northwind: a full of its pages and a differential re-sending one extent with a changed
 *     value), verify reads the newest pages, as load does;
 *   - the same --table / --schema-map / --keep-case as load find the same tables;
 *   - an unreachable server and refused credentials give load's exit statuses (17, 18); a
 *     read-only target verifies (verify never writes). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "emit/emit.h"
#include "base/base.h"
#include "tests/support/db_gen.h"
#include "tests/support/fixtures.h"
#include "tests/support/minijson.h"
#include "tests/support/mtf_writer.h"
#include "tests/support/pgcompare.h"
#include "tests/support/pgserver.h"

static char tmpdir[256];
static pgserver *server;
static bak2pg_output last;

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-verify", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    bak2pg_output_free(&last);
    return pgserver_test_teardown(server, tmpdir);
}

static void exec_ok(const char *db, const char *sql) {
    if (pgserver_exec(server, db, sql) != 0) fail_msg("%s: %s", sql, pgserver_error());
}

/* ' 'a' 'b' ': the fixtures' paths, quoted, for a command line. */
static const char *paths(const char *const *files, size_t n) {
    static char buf[8192];
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) used += (size_t)snprintf(buf + used, sizeof buf - used, " '%s'", fixture_path(files[i]));
    return buf;
}

/* A fresh database db holding files as bak2pg load put them there (with extra options). */
static void load_db(const char *db, const char *options, const char *files) {
    char conninfo[1024];
    if (pgserver_create_db(server, db)) fail_msg("create %s: %s", db, pgserver_error());
    pgserver_conninfo_db(server, db, conninfo, sizeof conninfo);
    int rc = bak2pg_run(tmpdir, &last, "load %s --dsn '%s'%s", options, conninfo, files);
    if (rc) fail_msg("load into %s exited %d: %s", db, rc, last.err);
}

/* A copy of database from, as db (CREATE DATABASE ... TEMPLATE: cheaper than a new load). */
static void copy_db(const char *from, const char *db) {
    char sql[512];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
    exec_ok(NULL, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", db, from);
    exec_ok(NULL, sql);
}

/* bak2pg verify --json of db; returns the exit status, *doc the parsed document (or NULL). */
static int verify_json(const char *db, const char *options, const char *files, mj_value **doc) {
    char conninfo[1024];
    pgserver_conninfo_db(server, db, conninfo, sizeof conninfo);
    int rc = bak2pg_run(tmpdir, &last, "verify --json %s%s --dsn '%s'", options, files, conninfo);
    size_t where = 0;
    *doc = rc == 0 || rc == B2P_ERR_FAILED ? mj_parse(last.out ? last.out : "", &where) : NULL;
    if ((rc == 0 || rc == B2P_ERR_FAILED) && !*doc) fail_msg("verify --json of %s: not JSON at %zu: %s", db, where, last.out);
    return rc;
}

static double num(const mj_value *obj, const char *key) {
    const mj_value *v = mj_get(obj, key);
    if (!v || v->type != MJ_NUMBER) fail_msg("no number %s", key);
    return v->number;
}

static bool flag(const mj_value *obj, const char *key) {
    const mj_value *v = mj_get(obj, key);
    if (!v || v->type != MJ_BOOL) fail_msg("no boolean %s", key);
    return v->boolean;
}

static const mj_value *table_of(const mj_value *doc, const char *target) {
    const mj_value *tables = mj_get(doc, "tables");
    for (size_t i = 0; tables && i < tables->n; i++)
        if (!strcmp(mj_get_string(&tables->items[i], "target"), target)) return &tables->items[i];
    fail_msg("verify reports no table %s", target);
    return NULL;
}

static const mj_value *key_of(const mj_value *table, const char *name) {
    const mj_value *keys = mj_get(table, "keys");
    for (size_t i = 0; keys && i < keys->n; i++)
        if (!strcmp(mj_get_string(&keys->items[i], "name"), name)) return &keys->items[i];
    fail_msg("table %s has no key %s", mj_get_string(table, "target"), name);
    return NULL;
}

/* Every table equal (rows and hash) and every checked key holding; returns the table count. */
static size_t assert_all_equal(const mj_value *doc, const char *label) {
    const mj_value *tables = mj_get(doc, "tables");
    assert_non_null(tables);
    assert_true(flag(doc, "ok"));
    for (size_t i = 0; i < tables->n; i++) {
        const mj_value *t = &tables->items[i];
        const char *name = mj_get_string(t, "target");
        if (strcmp(mj_get_string(t, "status"), "equal"))
            fail_msg("%s: table %s is %s", label, name, mj_get_string(t, "status"));
        assert_true(flag(t, "rows_equal") && flag(t, "hash_equal"));
        assert_true(num(t, "source_rows") == num(t, "target_rows"));
        assert_string_equal(mj_get_string(t, "source_hash"), mj_get_string(t, "target_hash"));
        const mj_value *keys = mj_get(t, "keys");
        for (size_t k = 0; keys && k < keys->n; k++)
            if (flag(&keys->items[k], "checked") && !flag(&keys->items[k], "ok"))
                fail_msg("%s: %s: key %s fails", label, name, mj_get_string(&keys->items[k], "name"));
    }
    assert_int_equal((size_t)num(mj_get(doc, "summary"), "tables"), tables->n);
    return tables->n;
}

/* The truth's row counts (truth/<dir>/ROWCOUNTS.tsv: "[schema.]Table<TAB>rows") against verify's
 * source and target rows; dbo goes to public, names are folded. Returns the tables compared. */
static int assert_truth_rows(const mj_value *doc, const char *truth_dir) {
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/truth/%s/ROWCOUNTS.tsv", fixtures_dir(), truth_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int compared = 0;
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab || !strncmp(line, "table\t", 6)) continue;
        *tab = 0;
        long rows = atol(tab + 1);
        char target[600];
        const char *dot = strchr(line, '.');
        bool dbo = !strncasecmp(line, "dbo.", 4);
        snprintf(target, sizeof target, "%s%s", dot && !dbo ? "" : "public.", dbo ? line + 4 : line);
        for (char *p = target; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        const mj_value *t = table_of(doc, target);
        if (num(t, "source_rows") != (double)rows || num(t, "target_rows") != (double)rows)
            fail_msg("%s: %s holds %.0f / %.0f rows, the truth %ld", truth_dir, target, num(t, "source_rows"),
                     num(t, "target_rows"), rows);
        compared++;
    }
    fclose(f);
    return compared;
}

static long target_tables(const char *db) {
    return pgserver_query_long(server, db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
                     "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'bak2pg')"); /* bak2pg: load's ledger */
}

/* ---- a faithful load verifies ------------------------------------------------------------------ */

static void test_loaded_databases_verify(void **state) {
    (void)state;
    static const struct {
        const char *files[2];
        const char *truth;
    } cases[] = {
        {{"northwind_2005rtm_attached2000_xandelima.bak"}, "northwind"},
        {{"pubs_2012rtm_modified_ugr95.bak"}, NULL}, /* modified: the truth is the original pubs */
        {{"tsqlv4_2016sp1_COMPRESSED_joeycheung.bak"}, "tsqlv4"},
        {{"quanlydiem_sv_2012rtm_vietnamese_worklong.bak"}, NULL},
        {{"doublediff_2008r2rtm_full_appveyor.bak", "doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak"}, NULL},
        {{"cubequeryhistory_2008r2_full_appveyor.bak", "cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak"}, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char db[32];
        snprintf(db, sizeof db, "ver%zu", i);
        const char *files = paths(cases[i].files, cases[i].files[1] ? 2 : 1);
        char quoted[8192];
        snprintf(quoted, sizeof quoted, "%s", files);
        load_db(db, "", quoted);
        mj_value *doc;
        int rc = verify_json(db, "", quoted, &doc);
        if (rc) fail_msg("%s: verify exited %d: %s\n%s", cases[i].files[0], rc, last.err, last.out);
        size_t tables = assert_all_equal(doc, cases[i].files[0]);
        assert_int_equal((long)tables, target_tables(db));
        const mj_value *sum = mj_get(doc, "summary");
        assert_true(num(sum, "source_rows") == num(sum, "target_rows"));
        int truth = cases[i].truth ? assert_truth_rows(doc, cases[i].truth) : 0;
        printf("  %-48s %2zu tables, %6.0f rows, %2.0f keys: equal%s", cases[i].files[0], tables, num(sum, "source_rows"),
               num(sum, "keys_checked"), cases[i].files[1] ? " (full + differential)" : "");
        printf(truth ? "; %d row counts = truth\n" : "\n", truth);
        if (cases[i].truth) assert_true(truth > 0);
        if (i == 0) { /* northwind: 830 orders, by name */
            assert_int_equal((long)num(table_of(doc, "public.orders"), "target_rows"), 830);
            assert_true(num(sum, "keys_checked") > 20);
        }
        if (!strncmp(cases[i].files[0], "quanlydiem", 10)) {
            /* 'Gv40' refers to 'GV40': SQL Server's case-insensitive collation matched them,
             * PostgreSQL does not: shown, not a failure */
            const mj_value *k = key_of(table_of(doc, "public.lopql"), "fk_lop_giangvien");
            assert_int_equal((long)num(k, "orphans"), 0);
            assert_int_equal((long)num(k, "text_mismatches"), 1);
        }
        if (cases[i].files[1]) assert_string_equal(mj_get_string(doc, "database"), i == 4 ? "doublediff" : "Cube_Query_History");
        mj_free(doc);
    }
    /* a differential alone cannot be verified: the error of every command */
    char conninfo[1024];
    pgserver_conninfo_db(server, "ver4", conninfo, sizeof conninfo);
    const char *diff[] = {"doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak"};
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s'%s", conninfo, paths(diff, 1)), B2P_ERR_NEEDS_FULL);
}

static void test_convert_load_sql_verifies(void **state) {
    (void)state;
    const char *bak[] = {"tsql2012_2016sp1_COMPRESSED_joeycheung.bak"};
    char dir[600];
    snprintf(dir, sizeof dir, "%s/convert", tmpdir);
    assert_int_equal(bak2pg_run(tmpdir, &last, "convert -o '%s'%s", dir, paths(bak, 1)), 0);
    assert_int_equal(pgserver_create_db(server, "viasql"), 0);
    char cwd[4096], *output = NULL;
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    int rc = pgserver_psql_file(server, "viasql", "load.sql", &output);
    assert_int_equal(chdir(cwd), 0);
    if (rc) fail_msg("psql -f load.sql: %d: %s", rc, output ? output : "");
    free(output);
    mj_value *doc;
    assert_int_equal(verify_json("viasql", "", paths(bak, 1), &doc), 0);
    size_t tables = assert_all_equal(doc, bak[0]);
    assert_int_equal((long)tables, target_tables("viasql"));
    assert_int_equal(assert_truth_rows(doc, "tsql2012") > 0, 1);
    mj_free(doc);
}

/* verify sets its own session: a database whose defaults print dates, times, floats and bytea
 * otherwise verifies all the same, and under verify's settings PostgreSQL prints each type as
 * README's type mapping (and tests/test_values.c, for the decoder) says the export writes it. */
static void test_session_settings(void **state) {
    (void)state;
    /* the rows of a real load (bytea pictures, real discounts, datetime orders) */
    const char *bak[] = {"northwind_2005sp4_salman.bak"};
    char files[4200];
    snprintf(files, sizeof files, "%s", paths(bak, 1));
    load_db("hostile", "", files);
    exec_ok(NULL, "ALTER DATABASE hostile SET TimeZone = 'America/New_York'; ALTER DATABASE hostile SET DateStyle = 'German, DMY'; "
                  "ALTER DATABASE hostile SET extra_float_digits = 3; ALTER DATABASE hostile SET bytea_output = 'escape'; "
                  "ALTER DATABASE hostile SET IntervalStyle = 'sql_standard'; ALTER DATABASE hostile SET client_encoding = 'LATIN1'");
    static const char row[] =
        "COPY (SELECT '2020-01-01 12:34:56.123457+05:30'::timestamptz, '1996-07-04'::date, "
        "'1996-07-04 00:00:00.003'::timestamp(3), '0.1'::real, '1.5e-05'::float8, '3.3'::float8, '1e+15'::float8, "
        "'\\xdeadbeef'::bytea, '12:34:56.5'::time(6), '2 days 03:00:00'::interval) TO STDOUT";
    static const char want[] = "2020-01-01 07:04:56.123457+00\t1996-07-04\t1996-07-04 00:00:00.003\t0.1\t1.5e-05\t3.3\t1e+15"
                               "\t\\\\xdeadbeef\t12:34:56.5\t2 days 03:00:00\n";
    PGconn *conn = pgserver_connect(server, "hostile");
    assert_non_null(conn);
    size_t len;
    char *got = pgserver_copy_out(conn, row, &len);
    assert_non_null(got);
    assert_string_not_equal(got, want); /* the defaults do change what COPY prints */
    free(got);
    assert_int_equal(pgserver_exec_conn(conn, b2p_pg_copy_settings()), 0);
    got = pgserver_copy_out(conn, row, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    PQfinish(conn);

    mj_value *doc;
    int rc = verify_json("hostile", "", files, &doc);
    if (rc) fail_msg("verify under hostile defaults exited %d: %s", rc, last.out);
    assert_int_equal((long)assert_all_equal(doc, bak[0]), target_tables("hostile"));
    mj_free(doc);
}

/* ---- what a changed target shows ------------------------------------------------------------ */

static const char NW[] = "northwind_2005rtm_attached2000_xandelima.bak";

/* The tables that are not equal, as "name:status ..." */
static void differing(const mj_value *doc, char *out, size_t len) {
    const mj_value *tables = mj_get(doc, "tables");
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < tables->n && used < len; i++)
        if (strcmp(mj_get_string(&tables->items[i], "status"), "equal"))
            used += (size_t)snprintf(out + used, len - used, "%s%s:%s", used ? " " : "", mj_get_string(&tables->items[i], "target"),
                                     mj_get_string(&tables->items[i], "status"));
}

static void test_changes_are_found(void **state) {
    (void)state;
    const char *bak[] = {NW};
    char files[4200], which[2048];
    snprintf(files, sizeof files, "%s", paths(bak, 1));
    load_db("nwbase", "", files);
    mj_value *doc;

    /* one value changed: that table, same counts, different hash */
    copy_db("nwbase", "nwupdate");
    exec_ok("nwupdate", "UPDATE customers SET companyname = companyname || '.' WHERE customerid = 'ALFKI'");
    assert_int_equal(verify_json("nwupdate", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.customers:different");
    const mj_value *t = table_of(doc, "public.customers");
    assert_true(flag(t, "rows_equal"));
    assert_false(flag(t, "hash_equal"));
    assert_int_equal((long)num(t, "target_rows"), 91);
    assert_string_not_equal(mj_get_string(t, "source_hash"), mj_get_string(t, "target_hash"));
    assert_int_equal((long)num(mj_get(doc, "summary"), "keys_failed"), 0);
    assert_false(flag(doc, "ok"));
    /* ... and the diff names the row by its primary key, the column and both values */
    const mj_value *d = mj_get(t, "diff");
    assert_non_null(d);
    assert_string_equal(mj_get_string(mj_get(d, "key"), "kind"), "primary key");
    assert_int_equal((long)num(d, "changed"), 1);
    assert_int_equal((long)num(d, "missing"), 0);
    assert_int_equal((long)num(d, "extra"), 0);
    const mj_value *rows = mj_get(d, "rows");
    assert_int_equal(rows->n, 1);
    assert_string_equal(mj_get_string(&rows->items[0], "kind"), "changed");
    assert_string_equal(mj_get_string(mj_get(&rows->items[0], "key"), "customerid"), "ALFKI");
    const mj_value *cols = mj_get(&rows->items[0], "columns");
    assert_int_equal(cols->n, 1);
    assert_string_equal(mj_get_string(&cols->items[0], "column"), "companyname");
    assert_string_equal(mj_get_string(&cols->items[0], "source"), "Alfreds Futterkiste");
    assert_string_equal(mj_get_string(&cols->items[0], "target"), "Alfreds Futterkiste.");
    mj_free(doc);
    /* ... and changed back, it is equal again (the hash sees values, not history) */
    exec_ok("nwupdate", "UPDATE customers SET companyname = left(companyname, -1) WHERE customerid = 'ALFKI'");
    assert_int_equal(verify_json("nwupdate", "", files, &doc), 0);
    mj_free(doc);

    /* one row deleted: the counts differ */
    copy_db("nwbase", "nwdelete");
    exec_ok("nwdelete", "DELETE FROM \"order details\" WHERE orderid = 10248 AND productid = 11");
    assert_int_equal(verify_json("nwdelete", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.order details:different");
    t = table_of(doc, "public.order details");
    assert_int_equal((long)num(t, "source_rows"), 2155);
    assert_int_equal((long)num(t, "target_rows"), 2154);
    assert_false(flag(t, "rows_equal"));
    mj_free(doc);
    /* ... and a row the backup lacks added: the diff names the missing and the extra key */
    exec_ok("nwdelete", "INSERT INTO \"order details\" VALUES (10248, 1, 18.00, 1, 0)");
    assert_int_equal(verify_json("nwdelete", "", files, &doc), B2P_ERR_FAILED);
    d = mj_get(table_of(doc, "public.order details"), "diff");
    assert_int_equal((long)num(d, "missing"), 1);
    assert_int_equal((long)num(d, "extra"), 1);
    assert_int_equal((long)num(d, "changed"), 0);
    rows = mj_get(d, "rows");
    assert_int_equal(rows->n, 2);
    for (size_t i = 0; i < rows->n; i++) {
        const char *kind = mj_get_string(&rows->items[i], "kind");
        const mj_value *key = mj_get(&rows->items[i], "key");
        assert_string_equal(mj_get_string(key, "orderid"), "10248");
        assert_string_equal(mj_get_string(key, "productid"), strcmp(kind, "missing") == 0 ? "11" : "1");
    }
    mj_free(doc);

    /* a column retyped in the target: a type problem, named, not "hashes differ" */
    copy_db("nwbase", "nwretype");
    exec_ok("nwretype", "ALTER TABLE products ALTER COLUMN unitprice TYPE integer");
    assert_int_equal(verify_json("nwretype", "", files, &doc), B2P_ERR_FAILED);
    const mj_value *tp = mj_get(table_of(doc, "public.products"), "type_problems");
    assert_non_null(tp);
    assert_int_equal(tp->n, 1);
    assert_string_equal(mj_get_string(&tp->items[0], "column"), "unitprice");
    assert_string_equal(mj_get_string(&tp->items[0], "target"), "integer");
    mj_free(doc);

    /* the primary key dropped (CASCADE takes the foreign key of products with it) and a row held
     * twice: the key check names the duplicate, and both constraints are missing */
    copy_db("nwbase", "nwdup");
    exec_ok("nwdup", "ALTER TABLE categories DROP CONSTRAINT pk_categories CASCADE; "
                     "INSERT INTO categories SELECT * FROM categories WHERE categoryid = 1");
    assert_int_equal(verify_json("nwdup", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.categories:different public.products:different");
    const mj_value *k = key_of(table_of(doc, "public.categories"), "pk_categories");
    assert_string_equal(mj_get_string(k, "kind"), "primary key");
    assert_int_equal((long)num(k, "duplicates"), 1);
    assert_false(flag(k, "present"));
    assert_false(flag(k, "ok"));
    k = key_of(table_of(doc, "public.products"), "fk_products_categories");
    assert_false(flag(k, "present"));
    assert_int_equal((long)num(k, "orphans"), 0);
    assert_int_equal((long)num(mj_get(doc, "summary"), "keys_failed"), 2);
    mj_free(doc);
    /* the table for people says the same */
    char conninfo[1024];
    pgserver_conninfo_db(server, "nwdup", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s'%s", conninfo, files), B2P_ERR_FAILED);
    assert_non_null(strstr(last.out, "public.categories: primary key pk_categories (categoryid): 1 key value held by more than one row"));
    assert_non_null(strstr(last.out, "public.categories: primary key pk_categories (categoryid): missing in the target"));
    assert_non_null(strstr(last.out, "MISMATCH: 16 tables: 14 equal, 2 different"));

    /* a foreign key dropped and an orphan added: 1 orphan for that key; an untrusted foreign
     * key's orphan is counted but not a failure */
    copy_db("nwbase", "nworphan");
    exec_ok("nworphan", "ALTER TABLE territories DROP CONSTRAINT fk_territories_region; "
                        "INSERT INTO territories VALUES ('99999', 'Nowhere', 99); "
                        "ALTER TABLE orders DROP CONSTRAINT fk_orders_customers; "
                        "UPDATE orders SET customerid = 'ZZZZZ' WHERE orderid = 10248");
    assert_int_equal(verify_json("nworphan", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.orders:different public.territories:different");
    k = key_of(table_of(doc, "public.territories"), "fk_territories_region");
    assert_int_equal((long)num(k, "orphans"), 1);
    assert_false(flag(k, "present"));
    assert_false(flag(k, "ok"));
    assert_string_equal(mj_get_string(k, "references"), "public.region");
    /* an untrusted foreign key's orphan is no failure, but the key itself is missing: that is */
    k = key_of(table_of(doc, "public.orders"), "fk_orders_customers");
    assert_int_equal((long)num(k, "orphans"), 1);
    assert_false(flag(k, "enforced")); /* WITH NOCHECK in the backup */
    assert_false(flag(k, "present"));
    assert_false(flag(k, "ok"));
    assert_int_equal((long)num(mj_get(doc, "summary"), "keys_failed"), 2);
    mj_free(doc);

    /* a table and a column the target lacks: differences, named, and nothing crashes */
    copy_db("nwbase", "nwmissing");
    exec_ok("nwmissing", "DROP TABLE region CASCADE; ALTER TABLE shippers DROP COLUMN phone");
    assert_int_equal(verify_json("nwmissing", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.region:missing public.shippers:different");
    t = table_of(doc, "public.region");
    assert_int_equal((long)num(t, "source_rows"), 4);
    assert_int_equal(mj_get(t, "target_rows")->type, MJ_NULL);
    t = table_of(doc, "public.shippers");
    assert_string_equal(mj_get_string(t, "missing_columns"), "phone");
    assert_int_equal((long)num(t, "target_rows"), 3);
    k = key_of(table_of(doc, "public.territories"), "fk_territories_region");
    assert_false(flag(k, "checked"));
    assert_non_null(strstr(mj_get_string(k, "reason"), "missing in the target"));
    const mj_value *sum = mj_get(doc, "summary");
    assert_int_equal((long)num(sum, "missing"), 1);
    assert_int_equal((long)num(sum, "different"), 1);
    mj_free(doc);
}

/* ---- a differential with rows: one value changed in a page it re-sends ----------------------- */

typedef struct unit_list {
    uint8_t *units;
    size_t n, cap;
} unit_list;

static int keep_unit(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    (void)file_id;
    (void)page_id;
    unit_list *u = ctx;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 512;
        u->units = realloc(u->units, u->cap * B2P_PAGE_SIZE);
        assert_non_null(u->units);
    }
    memcpy(u->units + u->n++ * B2P_PAGE_SIZE, page, B2P_PAGE_SIZE);
    return 0;
}

static bool write_set(const char *path, const b2p_set_info *set, char type, uint8_t guid, uint8_t base,
                      const uint8_t *units, size_t n) {
    mtfw_file files[8];
    size_t nfiles = set->nfiles < 8 ? set->nfiles : 8;
    for (size_t i = 0; i < nfiles; i++)
        files[i] = (mtfw_file){set->files[i].logical_name, set->files[i].physical_name, set->files[i].file_id,
                               set->files[i].type, set->files[i].size_bytes};
    mtfw_options o = {.block_size = 512, .type_letter = type, .database_name = set->database_name, .server_name = "TEST",
                      .version_major = set->version_major, .version_minor = set->version_minor,
                      .version_build = set->version_build, .database_version = set->database_version,
                      .total_units = n, .files = files, .nfiles = nfiles};
    memset(o.backup_set_guid, guid, 16);
    memset(o.media_set_guid, guid + 1, 16);
    if (base) memset(o.differential_base_guid, base, 16);
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    mtfw *w = mtfw_open(f, &o);
    bool ok = w && mtfw_add_units(w, units, n);
    ok = w && mtfw_close(w) && ok;
    return fclose(f) == 0 && ok;
}

/* A full backup of Northwind's pages, and a differential over it that re-sends the extent of the
 * Shippers page with "Speedy Express" changed to "Tpeedy Express". */
static void make_differential(const char *full, const char *diff) {
    const char *paths1[1] = {fixture_path("northwind_2005sp4_salman.bak")};
    b2p_backup *bk;
    b2p_pages *src;
    b2p_error err = {0};
    assert_int_equal(b2p_backup_open(&bk, paths1, 1, NULL, &err), B2P_OK);
    assert_int_equal(b2p_pages_open(&src, bk, NULL, &err), B2P_OK);
    unit_list u = {0};
    assert_int_equal(b2p_pages_foreach(src, keep_unit, &u, &err), 0);
    const b2p_set_info *set = b2p_pages_set(src);
    assert_true(write_set(full, set, 'D', 0x11, 0, u.units, u.n));

    static const uint8_t speedy[] = {'S', 0, 'p', 0, 'e', 0, 'e', 0, 'd', 0, 'y', 0, ' ', 0, 'E', 0, 'x', 0};
    uint8_t *page = NULL;
    size_t at = 0;
    for (size_t i = 0; i < u.n && !page; i++) {
        uint8_t *p = u.units + i * B2P_PAGE_SIZE;
        for (size_t k = 96; p[1] == 1 && k + sizeof speedy < B2P_PAGE_SIZE && !page; k++)
            if (!memcmp(p + k, speedy, sizeof speedy)) page = p, at = k;
    }
    assert_non_null(page);
    assert_true(at % 512 != 511); /* not a byte the torn-page bits cover */
    page[at] = 'T';
    if (b2p_le16(page + 4) & 0x200) b2p_put_le32(page + 60, b2p_page_checksum(page));
    /* the whole extent goes into the differential, as SQL Server sends changed extents */
    uint32_t first = b2p_le32(page + 32) & ~7u;
    uint16_t file = b2p_le16(page + 36);
    uint8_t *ext = malloc(8 * B2P_PAGE_SIZE);
    assert_non_null(ext);
    size_t n = 0;
    for (size_t i = 0; i < u.n && n < 8; i++) {
        const uint8_t *p = u.units + i * B2P_PAGE_SIZE;
        if (b2p_le16(p + 36) == file && b2p_le32(p + 32) - first < 8) memcpy(ext + n++ * B2P_PAGE_SIZE, p, B2P_PAGE_SIZE);
    }
    assert_true(n >= 1);
    assert_true(write_set(diff, set, 'I', 0x33, 0x11, ext, n));
    free(ext);
    free(u.units);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

static void test_differential_overlay(void **state) {
    (void)state;
    char full[600], diff[600], both[1300], only_full[700];
    snprintf(full, sizeof full, "%s/derived-full.bak", tmpdir);
    snprintf(diff, sizeof diff, "%s/derived-diff.bak", tmpdir);
    make_differential(full, diff);
    snprintf(both, sizeof both, " '%s' '%s'", diff, full);
    snprintf(only_full, sizeof only_full, " '%s'", full);
    mj_value *doc;
    char which[2048];

    /* loaded from full + differential: verify with both finds it equal, and the change is there */
    load_db("withdiff", "", both);
    assert_int_equal(pgserver_query_long(server, "withdiff", "SELECT count(*) FROM shippers WHERE companyname = 'Tpeedy Express'"), 1);
    assert_int_equal(verify_json("withdiff", "", both, &doc), 0);
    assert_int_equal((long)assert_all_equal(doc, "full + differential"), target_tables("withdiff"));
    mj_free(doc);
    /* ... and against the full alone, exactly that table differs, in content only */
    assert_int_equal(verify_json("withdiff", "", only_full, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.shippers:different");
    assert_true(flag(table_of(doc, "public.shippers"), "rows_equal"));
    mj_free(doc);

    /* loaded from the full alone: the differential's change shows */
    load_db("fullonly", "", only_full);
    assert_int_equal(verify_json("fullonly", "", only_full, &doc), 0);
    mj_free(doc);
    assert_int_equal(verify_json("fullonly", "", both, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.shippers:different");
    mj_free(doc);

    /* remigrated from full + differential: the one changed row is updated, nothing else moves,
     * and verify against both files now passes */
    char conninfo[1024];
    pgserver_conninfo_db(server, "fullonly", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s'%s", conninfo, both), 0);
    assert_non_null(strstr(last.err, "public.shippers: merged by primary key (shipperid): 3 rows in the backup; 0 inserted, 1 updated, 0 only"));
    assert_non_null(strstr(last.out, "0 inserted, 1 updated, 0 deleted"));
    assert_int_equal(verify_json("fullonly", "", both, &doc), 0);
    mj_free(doc);
}

/* The fixtures' differential chains, loaded one after the other into one database: full, then
 * full + each differential; every run ends ok and verify passes after each. */
static void test_differential_chains_remigrate(void **state) {
    (void)state;
    static const char *const chains[][3] = {
        {"doublediff_2008r2rtm_full_appveyor.bak", "doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak",
         "doublediff_2008r2rtm_DIFFERENTIAL2_appveyor.bak"},
        {"cubequeryhistory_2008r2_full_appveyor.bak", "cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak", NULL},
    };
    for (size_t c = 0; c < sizeof chains / sizeof chains[0]; c++) {
        char db[32], conninfo[1024];
        snprintf(db, sizeof db, "chain%zu", c);
        assert_int_equal(pgserver_create_db(server, db), 0);
        pgserver_conninfo_db(server, db, conninfo, sizeof conninfo);
        for (size_t step = 0; step < 3 && (step == 0 || chains[c][step]); step++) {
            const char *files[2] = {chains[c][0], chains[c][step]};
            char quoted[8192];
            snprintf(quoted, sizeof quoted, "%s", paths(files, step ? 2 : 1));
            int rc = bak2pg_run(tmpdir, &last, "load --sync-deletes --dsn '%s'%s", conninfo, quoted);
            if (rc) fail_msg("%s step %zu: load exited %d: %s", chains[c][0], step, rc, last.err);
            assert_non_null(strstr(last.out, "0 deleted")); /* the summary line, with its counts */
            mj_value *doc;
            assert_int_equal(verify_json(db, "", quoted, &doc), 0);
            mj_free(doc);
        }
        assert_int_equal(pgserver_query_long(server, db, "SELECT count(*) FROM bak2pg.runs WHERE outcome = 'ok'"),
                         chains[c][2] ? 3 : 2);
    }
}


/* ---- keys and indexes the target lacks ---------------------------------------------------------- */

/* The first key of table of the given kind (and, for indexes, on the one column col). */
static const mj_value *key_of_kind(const mj_value *table, const char *kind, const char *col) {
    const mj_value *keys = mj_get(table, "keys");
    for (size_t i = 0; keys && i < keys->n; i++) {
        const mj_value *k = &keys->items[i], *cols = mj_get(k, "columns");
        if (strcmp(mj_get_string(k, "kind"), kind)) continue;
        if (!col || (cols && cols->n == 1 && !strcmp(cols->items[0].string, col))) return k;
    }
    fail_msg("table %s has no %s%s%s", mj_get_string(table, "target"), kind, col ? " on " : "", col ? col : "");
    return NULL;
}

/* A declared primary key, foreign key or index that the target lacks (dropped by hand, or never
 * made by a load killed before its post-data) is a difference, named; so is an index remade on
 * other columns. The rows alone would not show it: they are all still equal. */
static void test_missing_keys_and_indexes(void **state) {
    (void)state;
    const char *bak[] = {NW};
    char files[4200], which[2048], sql[512];
    snprintf(files, sizeof files, "%s", paths(bak, 1));
    load_db("nwkeys", "", files);
    mj_value *doc;
    assert_int_equal(verify_json("nwkeys", "", files, &doc), 0);
    const mj_value *region = key_of_kind(table_of(doc, "public.customers"), "index", "region");
    assert_true(flag(region, "present"));
    char index[128];
    snprintf(index, sizeof index, "%s", mj_get_string(region, "name"));
    assert_int_equal((long)num(mj_get(doc, "summary"), "keys_failed"), 0);
    mj_free(doc);

    /* the primary key of "order details" (nothing references it) */
    copy_db("nwkeys", "nwnopk");
    exec_ok("nwnopk", "ALTER TABLE \"order details\" DROP CONSTRAINT pk_order_details");
    assert_int_equal(verify_json("nwnopk", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.order details:different");
    const mj_value *t = table_of(doc, "public.order details");
    assert_true(flag(t, "rows_equal") && flag(t, "hash_equal"));
    const mj_value *k = key_of(t, "pk_order_details");
    assert_false(flag(k, "present"));
    assert_string_equal(mj_get_string(k, "absent"), "missing in the target");
    assert_int_equal((long)num(k, "duplicates"), 0); /* the rows still keep it */
    assert_int_equal((long)num(mj_get(doc, "summary"), "keys_failed"), 1);
    mj_free(doc);
    char conninfo[1024];
    pgserver_conninfo_db(server, "nwnopk", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s'%s", conninfo, files), B2P_ERR_FAILED);
    assert_non_null(strstr(last.out, "public.\"order details\": primary key pk_order_details (orderid, productid): missing in the target"));
    assert_non_null(strstr(last.out, "1 of "));

    /* a foreign key, without any orphan */
    copy_db("nwkeys", "nwnofk");
    exec_ok("nwnofk", "ALTER TABLE territories DROP CONSTRAINT fk_territories_region");
    assert_int_equal(verify_json("nwnofk", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.territories:different");
    k = key_of(table_of(doc, "public.territories"), "fk_territories_region");
    assert_false(flag(k, "present"));
    assert_int_equal((long)num(k, "orphans"), 0);
    mj_free(doc);

    /* an index that is no key: dropped, then remade on another column */
    copy_db("nwkeys", "nwnoidx");
    snprintf(sql, sizeof sql, "DROP INDEX public.%s", index);
    exec_ok("nwnoidx", sql);
    assert_int_equal(verify_json("nwnoidx", "", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.customers:different");
    k = key_of(table_of(doc, "public.customers"), index);
    assert_string_equal(mj_get_string(k, "kind"), "index");
    assert_false(flag(k, "present"));
    assert_null(mj_get(k, "duplicates"));
    mj_free(doc);
    snprintf(sql, sizeof sql, "CREATE INDEX %s ON customers (city)", index);
    exec_ok("nwnoidx", sql);
    assert_int_equal(verify_json("nwnoidx", "", files, &doc), B2P_ERR_FAILED);
    k = key_of(table_of(doc, "public.customers"), index);
    assert_string_equal(mj_get_string(k, "absent"), "on columns (city) in the target");
    mj_free(doc);
    /* ... and the primary key remade as a plain unique constraint of that name is no primary key */
    exec_ok("nwnopk", "ALTER TABLE \"order details\" ADD CONSTRAINT pk_order_details UNIQUE (orderid, productid)");
    assert_int_equal(verify_json("nwnopk", "", files, &doc), B2P_ERR_FAILED);
    assert_string_equal(mj_get_string(key_of(table_of(doc, "public.order details"), "pk_order_details"), "absent"),
                        "in the target pk_order_details is no primary key");
    mj_free(doc);
    exec_ok("nwnopk", "ALTER TABLE \"order details\" DROP CONSTRAINT pk_order_details, "
                      "ADD CONSTRAINT pk_order_details PRIMARY KEY (orderid, productid)");
    assert_int_equal(verify_json("nwnopk", "", files, &doc), 0);
    mj_free(doc);
}

/* ---- the ledger: an unfinished run, and the settings of the load ---------------------------------- */

static void test_unfinished_run(void **state) {
    (void)state;
    const char *bak[] = {NW};
    char files[4200];
    snprintf(files, sizeof files, "%s", paths(bak, 1));
    load_db("nwrun", "", files);
    long run = pgserver_query_long(server, "nwrun", "SELECT max(run_id) FROM bak2pg.runs");
    assert_true(run > 0);
    /* as a load killed mid-way leaves it (the next load marks it interrupted) */
    exec_ok("nwrun", "UPDATE bak2pg.runs SET finished_at = NULL, outcome = 'interrupted' WHERE run_id = (SELECT max(run_id) FROM bak2pg.runs)");
    mj_value *doc;
    assert_int_equal(verify_json("nwrun", "", files, &doc), B2P_ERR_FAILED);
    const mj_value *u = mj_get(doc, "unfinished_run");
    assert_non_null(u);
    assert_int_equal(u->type, MJ_OBJECT);
    assert_int_equal(atol(mj_get_string(u, "run_id")), run);
    assert_string_equal(mj_get_string(u, "outcome"), "interrupted");
    assert_int_equal((long)num(mj_get(doc, "summary"), "different"), 0); /* the tables themselves are equal */
    assert_false(flag(doc, "ok"));
    mj_free(doc);
    char conninfo[1024], line[200];
    pgserver_conninfo_db(server, "nwrun", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s'%s", conninfo, files), B2P_ERR_FAILED);
    snprintf(line, sizeof line, "the ledger's last run for this backup, run %ld, has not finished (outcome interrupted)", run);
    assert_non_null(strstr(last.out, line));
    assert_non_null(strstr(last.out, "MISMATCH"));
    /* a still running run is reported the same way */
    exec_ok("nwrun", "UPDATE bak2pg.runs SET outcome = 'running'");
    assert_int_equal(verify_json("nwrun", "", files, &doc), B2P_ERR_FAILED);
    assert_string_equal(mj_get_string(mj_get(doc, "unfinished_run"), "outcome"), "running");
    mj_free(doc);
    /* an unfinished run of another backup is not this one's */
    exec_ok("nwrun", "UPDATE bak2pg.runs SET backup_set_guid = 'another backup'");
    assert_int_equal(verify_json("nwrun", "", files, &doc), 0);
    assert_int_equal(mj_get(doc, "unfinished_run")->type, MJ_NULL);
    mj_free(doc);
    /* a ledger of another shape is noted and left aside, not a failure */
    exec_ok("nwrun", "ALTER TABLE bak2pg.tables RENAME COLUMN source TO something_else");
    assert_int_equal(verify_json("nwrun", "", files, &doc), 0);
    assert_non_null(strstr(mj_get_string(doc, "ledger_unreadable"), "source"));
    mj_free(doc);
}

/* Members.Password holds hashed passwords as raw bytes, NULs among them; Notes has NUL text. */
static const char CAST_DESC[] =
    "database CastShop\n"
    "table dbo.Members\n"
    "  column id int not null\n"
    "  column Password varchar(40) null\n"
    "  column Name varchar(20) null\n"
    "  primary key (id)\n"
    "  row 1 | \"pass\\x00word\" | alice\n"
    "  row 2 | \"\\x00\\x01\\x02hash\" | bob\n"
    "  row 3 | NULL | carol\n"
    "end\n"
    "table dbo.Notes\n"
    "  column id int not null\n"
    "  column body varchar(20) null\n"
    "  primary key (id)\n"
    "  row 1 | \"a\\x00b\"\n"
    "  row 2 | fine\n"
    "end\n";

static void write_backup(const char *path, const char *desc) {
    char err[512];
    dbg_desc *d = dbg_parse(desc, err, sizeof err);
    if (!d) fail_msg("description: %s", err);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    dbg_write_options o = {0};
    if (!dbg_write(d, f, &o, err, sizeof err)) fail_msg("writing %s: %s", path, err);
    assert_int_equal(fclose(f), 0);
    dbg_free(d);
}

#define CAST_OPT " --cast dbo.Members.Password=bytea"

/* --cast ...=bytea keeps the bytes exactly (the column is bytea, its values the stored bytes);
 * verify takes the cast and the NUL policy from the ledger of the load it checks, and from its
 * command line where there is none (convert + psql), or where it is told otherwise. */
static void test_cast_and_nul_policy(void **state) {
    (void)state;
    char bak[600], files[700];
    snprintf(bak, sizeof bak, "%s/cast.bak", tmpdir);
    write_backup(bak, CAST_DESC);
    snprintf(files, sizeof files, " '%s'", bak);

    /* load: the column is bytea, holding the bytes */
    load_db("castload", CAST_OPT " --nul replace", files);
    assert_int_equal(pgserver_query_long(server, "castload", "SELECT count(*) FROM pg_attribute WHERE attrelid = 'members'::regclass "
                                                             "AND attname = 'password' AND atttypid = 'bytea'::regtype"), 1);
    assert_int_equal(pgserver_query_long(server, "castload", "SELECT count(*) FROM members WHERE "
                                                             "(id = 1 AND password = '\\x7061737300776f7264'::bytea) OR "
                                                             "(id = 3 AND password IS NULL)"), 2);
    assert_int_equal(pgserver_query_long(server, "castload", "SELECT count(*) FROM members WHERE id = 2 AND "
                                                             "password = '\\x00010268617368'::bytea"), 1);
    assert_int_equal(pgserver_query_long(server, "castload", "SELECT count(*) FROM notes WHERE body = 'a' || U&'\\FFFD' || 'b'"), 1);
    /* verify with no option: the ledger's cast and NUL policy, equal */
    mj_value *doc;
    int rc = verify_json("castload", "", files, &doc);
    if (rc) fail_msg("verify of a load with --cast and --nul replace exited %d: %s %s", rc, last.err, last.out ? last.out : "");
    assert_int_equal((long)assert_all_equal(doc, "cast load"), 2);
    assert_int_equal((long)num(table_of(doc, "public.members"), "ledger_casts"), 1);
    assert_string_equal(mj_get_string(table_of(doc, "public.notes"), "nul"), "replace");
    assert_non_null(mj_get_string(table_of(doc, "public.notes"), "ledger_run"));
    mj_free(doc);
    char conninfo[1024];
    pgserver_conninfo_db(server, "castload", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s'%s", conninfo, files), 0);
    assert_non_null(strstr(last.out, "public.members: decoded as the ledger records run "));
    assert_non_null(strstr(last.out, "1 column cast to bytea"));
    /* the same backup loaded again without the cast is not "unchanged": the column would be text */
    rc = bak2pg_run(tmpdir, &last, "load --nul replace --dsn '%s'%s", conninfo, files);
    if (rc != B2P_ERR_UNSUPPORTED) fail_msg("a rerun without --cast exited %d: %s", rc, last.err);
    assert_null(strstr(last.err, "public.members: unchanged"));
    assert_non_null(strstr(last.err, "public.members: drift"));
    /* the policy is the run's (bak2pg.runs.nul_policy) even where the table's source identity
     * lacks it */
    exec_ok("castload", "UPDATE bak2pg.tables SET source = replace(source, ' nul=2', '')");
    assert_int_equal(pgserver_query_long(server, "castload", "SELECT count(*) FROM bak2pg.tables WHERE source LIKE '%nul=%'"), 0);
    assert_int_equal(verify_json("castload", "", files, &doc), 0);
    assert_string_equal(mj_get_string(table_of(doc, "public.notes"), "nul"), "replace");
    mj_free(doc);
    /* the command line wins: --nul strip is not how notes were loaded */
    assert_int_equal(verify_json("castload", "--nul strip ", files, &doc), B2P_ERR_FAILED);
    char which[512];
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.notes:different");
    mj_free(doc);

    /* convert + psql: no ledger, so verify is given the options */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/castconv", tmpdir);
    rc = bak2pg_run(tmpdir, &last, "convert" CAST_OPT " --nul replace -o '%s'%s", dir, files);
    if (rc) fail_msg("convert --cast exited %d: %s", rc, last.err);
    assert_int_equal(pgserver_create_db(server, "castconv"), 0);
    char cwd[4096], *output = NULL;
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    rc = pgserver_psql_file(server, "castconv", "load.sql", &output);
    assert_int_equal(chdir(cwd), 0);
    if (rc) fail_msg("psql -f load.sql: %d: %s", rc, output ? output : "");
    free(output);
    assert_int_equal(pgserver_query_long(server, "castconv", "SELECT count(*) FROM members WHERE id = 1 AND "
                                                             "password = '\\x7061737300776f7264'::bytea"), 1);
    assert_int_equal(verify_json("castconv", CAST_OPT " --nul replace ", files, &doc), 0);
    assert_int_equal((long)assert_all_equal(doc, "cast convert"), 2);
    mj_free(doc);
    /* without the cast, the backup's side is text: members differs (and says so, not an error) */
    assert_int_equal(verify_json("castconv", "--nul replace ", files, &doc), B2P_ERR_FAILED);
    differing(doc, which, sizeof which);
    assert_string_equal(which, "public.members:different");
    mj_free(doc);
    /* a --cast naming a column the backup lacks: a usage error naming it, before any connection */
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn 'host=/nonexistent-b2p' --cast dbo.Members.Nope=bytea%s", files),
                     B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "table dbo.Members has no column Nope"));
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn 'host=/nonexistent-b2p' --cast dbo.Members.Nope=bytea%s", files),
                     B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "table dbo.Members has no column Nope"));
}

/* ---- options ------------------------------------------------------------------------------------ */

static void test_same_options_as_load(void **state) {
    (void)state;
    const char *bak[] = {NW};
    char files[4200];
    snprintf(files, sizeof files, "%s", paths(bak, 1));
    static const char opts[] = "--keep-case --schema-map dbo=sales --table 'dbo.Order*' --table Customers";
    load_db("nwnames", opts, files);
    mj_value *doc;
    assert_int_equal(verify_json("nwnames", opts, files, &doc), 0);
    assert_int_equal((long)assert_all_equal(doc, "--keep-case --schema-map"), 3);
    const mj_value *t = table_of(doc, "sales.Order Details");
    assert_string_equal(mj_get_string(t, "source"), "dbo.Order Details");
    assert_int_equal((long)num(t, "target_rows"), 2155);
    /* Orders' foreign keys to Employees and Shippers: those tables are not selected */
    const mj_value *k = key_of(table_of(doc, "sales.Orders"), "FK_Orders_Employees");
    assert_false(flag(k, "checked"));
    assert_non_null(strstr(mj_get_string(k, "reason"), "not selected"));
    assert_true(flag(key_of(table_of(doc, "sales.Orders"), "FK_Orders_Customers"), "checked"));
    mj_free(doc);
    /* without the naming options verify looks for public.orders ...: missing */
    assert_int_equal(verify_json("nwnames", "--table 'dbo.Order*' --table Customers", files, &doc), B2P_ERR_FAILED);
    assert_int_equal((long)num(mj_get(doc, "summary"), "missing"), 3);
    mj_free(doc);
}

static void test_usage(void **state) {
    (void)state;
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --help"), 0);
    assert_non_null(strstr(last.out, "Exit status"));
    const char *bak[] = {NW};
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify%s", paths(bak, 1)), B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "--dsn"));
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn x"), B2P_ERR_USAGE);
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn x --nul maybe%s", paths(bak, 1)), B2P_ERR_USAGE);
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn x --schema-map dbo%s", paths(bak, 1)), B2P_ERR_USAGE);
}

/* ---- connections ------------------------------------------------------------------------------- */

static void test_connection_failures(void **state) {
    (void)state;
    const char *bak[] = {"northwind_2005sp4_salman.bak"};
    char files[4200], conninfo[1024];
    snprintf(files, sizeof files, "%s", paths(bak, 1));
    /* nothing listens there: as load says it */
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn 'host=/nonexistent-b2p port=1 dbname=x'%s", files), B2P_ERR_PG_CONNECT);
    char verify_err[8192];
    snprintf(verify_err, sizeof verify_err, "%s", last.err);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --retries 0 --dsn 'host=/nonexistent-b2p port=1 dbname=x'%s", files), B2P_ERR_PG_CONNECT);
    assert_string_equal(verify_err, last.err);
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1); /* one line */

    /* a role that must give a password, and gives the wrong one */
    char hba[1024];
    snprintf(hba, sizeof hba, "%s/pg_hba.conf", pgserver_datadir(server));
    size_t len;
    char *old = read_file(hba, &len);
    assert_non_null(old);
    FILE *f = fopen(hba, "w");
    assert_non_null(f);
    fputs("local all pwuser scram-sha-256\n", f);
    fputs(old, f);
    fclose(f);
    free(old);
    exec_ok(NULL, "SELECT pg_reload_conf(); CREATE ROLE pwuser LOGIN PASSWORD 'right'");
    assert_int_equal(pgserver_create_db(server, "pw"), 0);
    snprintf(conninfo, sizeof conninfo, "host=%s port=%d dbname=pw user=pwuser password=wrong", pgserver_socket_dir(server),
             pgserver_port(server));
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s'%s", conninfo, files), B2P_ERR_PG_AUTH);
    assert_non_null(strstr(last.err, "password"));

    /* a read-only target verifies: verify only reads */
    load_db("ro", "", files);
    exec_ok(NULL, "ALTER DATABASE ro SET default_transaction_read_only = on");
    mj_value *doc;
    assert_int_equal(verify_json("ro", "", files, &doc), 0);
    assert_true(flag(doc, "ok"));
    mj_free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loaded_databases_verify),
        cmocka_unit_test(test_convert_load_sql_verifies),
        cmocka_unit_test(test_session_settings),
        cmocka_unit_test(test_changes_are_found),
        cmocka_unit_test(test_missing_keys_and_indexes),
        cmocka_unit_test(test_unfinished_run),
        cmocka_unit_test(test_cast_and_nul_policy),
        cmocka_unit_test(test_differential_overlay),
        cmocka_unit_test(test_differential_chains_remigrate),
        cmocka_unit_test(test_same_options_as_load),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_connection_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
