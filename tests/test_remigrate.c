/* bak2pg load, run again: remigration into a real PostgreSQL 15 the test starts itself.
 *   - Northwind as SQL Server 2005 saw it (salman), then as a 2016 server holds it (guilderm: a
 *     student's edits), then back: the inserted, updated and only-in-target counts each run
 *     reports equal the differences between the two backups' dumps, computed here independently
 *     (key by key, from `bak2pg dump` files and the keys PostgreSQL holds); with --sync-deletes the
 *     target ends equal to the backup, table by table; a second run on the same backup is
 *     'unchanged' everywhere and inserts nothing;
 *   - schema drift (salih's Northwind renamed the key columns) stops those tables with exit 14,
 *     and --replace-drifted loads them in their new shape;
 *   - a new nullable column is added and filled, a changed column type stops its table, a column
 *     only the target has keeps its values;
 *   - a table with no key is matched as a multiset of whole rows (once the ledger has forgotten
 *     it, only with --merge-existing);
 *   - a backup of another database (another family GUID, the same name) needs --force;
 *   - SIGKILL at several points of a run, then the same command again: the target equals the
 *     backup and no row is duplicated;
 *   - the server ends the loader's session mid-COPY: it reconnects, redoes that table, finishes. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "tests/support/fixtures.h"
#include "tests/support/minijson.h"
#include "tests/support/pgcompare.h"
#include "tests/support/pgserver.h"

static char tmpdir[200];
static pgserver *server;
static bak2pg_output last;

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-remig", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    bak2pg_output_free(&last);
    return pgserver_test_teardown(server, tmpdir);
}

/* ---- the events a run reports (--log-json) --------------------------------------------------- */

typedef struct table_counts {
    char table[256];           /* "dbo.Orders" */
    char action[32];
    long inserted, updated, deleted, only_in_target;
} table_counts;

/* The table_done / table_deletes events of the last run, merged per table. */
static size_t read_events(table_counts *out, size_t max, const mj_value **run_done_out, mj_value **keep) {
    size_t n = 0;
    *run_done_out = NULL;
    for (char *line = last.out, *end; line && *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) break;
        *end = 0;
        size_t where;
        mj_value *ev = mj_parse(line, &where);
        *end = '\n';
        assert_non_null(ev);
        const char *kind = mj_get_string(ev, "event");
        if (!strcmp(kind, "run_done")) {
            *run_done_out = ev;
            *keep = ev;
            continue;
        }
        if (strcmp(kind, "table_done") && strcmp(kind, "table_deletes")) {
            mj_free(ev);
            continue;
        }
        const char *name = mj_get_string(ev, "table");
        size_t i = 0;
        while (i < n && strcmp(out[i].table, name)) i++;
        if (i == n) {
            assert_true(n < max);
            memset(&out[n], 0, sizeof out[n]);
            snprintf(out[n].table, sizeof out[n].table, "%s", name);
            n++;
        }
        if (!strcmp(kind, "table_done")) snprintf(out[i].action, sizeof out[i].action, "%s", mj_get_string(ev, "action"));
        out[i].inserted += (long)mj_get(ev, "inserted")->number;
        out[i].updated += (long)mj_get(ev, "updated")->number;
        out[i].deleted += (long)mj_get(ev, "deleted")->number;
        if (!strcmp(kind, "table_done")) out[i].only_in_target = (long)mj_get(ev, "only_in_target")->number;
        mj_free(ev);
    }
    return n;
}

static long run_total(const mj_value *run_done, const char *key) {
    const mj_value *v = run_done ? mj_get(run_done, key) : NULL;
    return v ? (long)v->number : -1;
}

/* ---- the independent difference of two dumps --------------------------------------------- */

typedef struct row {
    char *key;                 /* the key fields, tab-joined */
    char *line;
} row;

static int by_key(const void *a, const void *b) {
    return strcmp(((const row *)a)->key, ((const row *)b)->key);
}

/* The lines of a dump file, keyed by the fields at key positions (0-based, ascending). */
static row *keyed_rows(char *text, const int *keypos, size_t nkey, size_t *n) {
    size_t cap = 16;
    row *rows = malloc(cap * sizeof *rows);
    *n = 0;
    for (char *line = text, *end; line && *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) break;
        *end = 0;
        char key[4096] = "";
        size_t klen = 0;
        for (size_t k = 0; k < nkey; k++) {
            const char *f = line;
            for (int i = 0; i < keypos[k] && f; i++) f = strchr(f, '\t') ? strchr(f, '\t') + 1 : NULL;
            assert_non_null(f);
            size_t flen = strcspn(f, "\t");
            klen += (size_t)snprintf(key + klen, sizeof key - klen, "%s%.*s", k ? "\t" : "", (int)flen, f);
        }
        if (*n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
        rows[*n].key = strdup(key);
        rows[(*n)++].line = line;
    }
    qsort(rows, *n, sizeof *rows, by_key);
    return rows;
}

typedef struct diff {
    long inserted, updated, gone;
} diff;

/* What going from dump a to dump b means, key by key. */
static diff diff_dumps(const char *a_path, const char *b_path, const int *keypos, size_t nkey) {
    size_t alen, blen, na, nb;
    char *a = read_file(a_path, &alen), *b = read_file(b_path, &blen);
    assert_non_null(a);
    assert_non_null(b);
    row *ra = keyed_rows(a, keypos, nkey, &na), *rb = keyed_rows(b, keypos, nkey, &nb);
    diff d = {0};
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(ra[i].key, rb[j].key);
        if (c < 0) d.gone++, i++;
        else if (c > 0) d.inserted++, j++;
        else d.updated += strcmp(ra[i].line, rb[j].line) != 0, i++, j++;
    }
    for (size_t k = 0; k < na; k++) free(ra[k].key);
    for (size_t k = 0; k < nb; k++) free(rb[k].key);
    free(ra);
    free(rb);
    free(a);
    free(b);
    return d;
}

/* The primary key's column positions of a target table, as PostgreSQL holds them. */
static size_t primary_key_positions(const char *db, const char *table, int *pos, size_t max) {
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT a.attnum - 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
             "WHERE i.indrelid = to_regclass('%s') AND i.indisprimary ORDER BY a.attnum",
             table);
    PGconn *conn = pgserver_connect(server, db);
    PGresult *r = PQexec(conn, sql);
    size_t n = 0;
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && n < max; i++) pos[n++] = atoi(PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(conn);
    return n;
}

/* Converts bak to files (for pg_compare_manifest) and dumps it (for diff_dumps). */
static void convert_and_dump(const char *bak, const char *label) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s-conv", tmpdir, label);
    if (bak2pg_run(tmpdir, &last, "convert -o '%s' '%s'", dir, fixture_path(bak))) fail_msg("convert %s: %s", bak, last.err);
    snprintf(dir, sizeof dir, "%s/%s-dump", tmpdir, label);
    if (bak2pg_run(tmpdir, &last, "dump --all -o '%s' '%s'", dir, fixture_path(bak))) fail_msg("dump %s: %s", bak, last.err);
}

/* Every table of a run: its counts equal the dumps' difference from `from` to `to`. */
static void expect_counts_of_dumps(const char *db, const char *from, const char *to, bool sync_deletes, long *inserted,
                                   long *updated, long *gone) {
    table_counts tc[64];
    const mj_value *done;
    mj_value *keep = NULL;
    size_t n = read_events(tc, 64, &done, &keep);
    assert_non_null(done);
    *inserted = *updated = *gone = 0;
    for (size_t i = 0; i < n; i++) {
        char target[300], a[1200], b[1200];
        const char *name = strchr(tc[i].table, '.') + 1;
        /* dbo -> public, names folded to lower case: bak2pg's default naming */
        snprintf(target, sizeof target, "public.\"");
        for (size_t k = 0; name[k]; k++) {
            size_t at = strlen(target);
            target[at] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
            target[at + 1] = 0;
        }
        strcat(target, "\"");
        int keypos[16];
        size_t nkey = primary_key_positions(db, target, keypos, 16);
        assert_true(nkey > 0);
        /* dump -o names each file as b2p_table_file_name does */
        char schema[256];
        snprintf(schema, sizeof schema, "%.*s", (int)strcspn(tc[i].table, "."), tc[i].table);
        b2p_buf file = {0};
        assert_int_equal(b2p_table_file_name(&file, schema, tc[i].table + strlen(schema) + 1, "copy", NULL), B2P_OK);
        snprintf(a, sizeof a, "%s/%.16s-dump/%.256s", tmpdir, from, file.data);
        snprintf(b, sizeof b, "%s/%.16s-dump/%.256s", tmpdir, to, file.data);
        b2p_buf_free(&file);
        diff d = diff_dumps(a, b, keypos, nkey);
        if (d.inserted != tc[i].inserted || d.updated != tc[i].updated || d.gone != tc[i].only_in_target ||
            (sync_deletes ? d.gone : 0) != tc[i].deleted)
            fail_msg("%s: the run says %ld inserted, %ld updated, %ld only in the target, %ld deleted; the dumps differ "
                     "by %ld, %ld, %ld",
                     tc[i].table, tc[i].inserted, tc[i].updated, tc[i].only_in_target, tc[i].deleted, d.inserted, d.updated,
                     d.gone);
        *inserted += d.inserted;
        *updated += d.updated;
        *gone += d.gone;
    }
    assert_int_equal(run_total(done, "inserted"), *inserted);
    assert_int_equal(run_total(done, "updated"), *updated);
    assert_int_equal(run_total(done, "deleted"), sync_deletes ? *gone : 0);
    mj_free(keep);
}

static void test_remigration_counts_equal_the_dumps_difference(void **state) {
    (void)state;
    const char *salman = "northwind_2005sp4_salman.bak", *guilderm = "northwind_2016sp2_COMPRESSED_guilderm.bak";
    char conninfo[1024], dir[700];
    convert_and_dump(salman, "salman");
    convert_and_dump(guilderm, "guilderm");
    assert_int_equal(pgserver_create_db(server, "nw"), 0);
    pgserver_conninfo_db(server, "nw", conninfo, sizeof conninfo);

    assert_int_equal(bak2pg_run(tmpdir, &last, "load --log-json --dsn '%s' '%s'", conninfo, fixture_path(salman)), 0);
    assert_int_equal(pgserver_query_long(server, "nw", "SELECT count(*) FROM bak2pg.table_runs WHERE action = 'loaded'"), 13);

    /* forward: the same schema, other rows. The two are backups of two databases (another
     * family GUID): refused as such, loaded with --force */
    long ins, upd, gone;
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path(guilderm)), B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "a backup of another database"));
    if (bak2pg_run(tmpdir, &last, "load -j 3 --force --log-json --dsn '%s' '%s'", conninfo, fixture_path(guilderm))) fail_msg("%s", last.err);
    expect_counts_of_dumps("nw", "salman", "guilderm", false, &ins, &upd, &gone);
    assert_true(ins + upd > 0); /* the two backups do differ */
    snprintf(dir, sizeof dir, "%s/guilderm-conv", tmpdir);
    assert_int_equal(pg_compare_manifest(server, dir, "nw", "guilderm after salman"), 13);
    if (bak2pg_run(tmpdir, &last, "verify --dsn '%s' '%s'", conninfo, fixture_path(guilderm))) fail_msg("verify: %s", last.out);

    /* the same backup again: nothing to do */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --log-json --dsn '%s' '%s'", conninfo, fixture_path(guilderm)), 0);
    table_counts tc[64];
    const mj_value *done;
    mj_value *keep = NULL;
    size_t n = read_events(tc, 64, &done, &keep);
    assert_int_equal(n, 13);
    for (size_t i = 0; i < n; i++) assert_string_equal(tc[i].action, "unchanged");
    assert_int_equal(run_total(done, "inserted"), 0);
    mj_free(keep);

    /* backward, with --sync-deletes: what guilderm added goes again */
    if (bak2pg_run(tmpdir, &last, "load --force --log-json --sync-deletes --dsn '%s' '%s'", conninfo, fixture_path(salman))) fail_msg("%s", last.err);
    expect_counts_of_dumps("nw", "guilderm", "salman", true, &ins, &upd, &gone);
    assert_true(gone > 0);
    snprintf(dir, sizeof dir, "%s/salman-conv", tmpdir);
    assert_int_equal(pg_compare_manifest(server, dir, "nw", "salman after guilderm"), 13);
    if (bak2pg_run(tmpdir, &last, "verify --dsn '%s' '%s'", conninfo, fixture_path(salman))) fail_msg("verify: %s", last.out);
    assert_int_equal(pgserver_query_long(server, "nw", "SELECT count(*) FROM bak2pg.runs WHERE outcome = 'ok'"), 4);
}

static void test_drift_stops_the_table_or_replaces_it(void **state) {
    (void)state;
    const char *salih = "northwind-variant_2019_salih.bak";
    char conninfo[1024], dir[700];
    convert_and_dump(salih, "salih");
    assert_int_equal(pgserver_create_db(server, "drift"), 0);
    pgserver_conninfo_db(server, "drift", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path("northwind_2005sp4_salman.bak")), 0);
    long categories = pgserver_query_long(server, "drift", "SELECT count(*) FROM public.categories");
    assert_int_equal(categories, 8);

    /* salih's Categories and Products have renamed key columns: drift, left as they are */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --force --dsn '%s' '%s'", conninfo, fixture_path(salih)), B2P_ERR_UNSUPPORTED);
    assert_non_null(strstr(last.err, "public.categories: drift: rows were matched by primary key (categoryid) and the backup now has primary key (id)"));
    assert_non_null(strstr(last.err, "public.products: drift"));
    assert_non_null(strstr(last.err, "public.users: loaded, 58 rows")); /* the run went on */
    assert_int_equal(pgserver_query_long(server, "drift", "SELECT count(*) FROM public.categories"), categories);

    assert_int_equal(bak2pg_run(tmpdir, &last, "load --replace-drifted --sync-deletes --dsn '%s' '%s'", conninfo, fixture_path(salih)), 0);
    assert_non_null(strstr(last.err, "public.categories: replaced"));
    assert_non_null(strstr(last.err, "8 rows dropped, 9 loaded"));
    snprintf(dir, sizeof dir, "%s/salih-conv", tmpdir);
    assert_int_equal(pg_compare_manifest(server, dir, "drift", "salih over salman"), 3);
    if (bak2pg_run(tmpdir, &last, "verify --dsn '%s' '%s'", conninfo, fixture_path(salih))) fail_msg("verify: %s", last.out);
    /* the tables salih does not have are left alone */
    assert_int_equal(pgserver_query_long(server, "drift", "SELECT count(*) FROM public.orders"), 830);
}

/* What the target changed by hand, as if a later backup had: a new nullable column is added, a
 * changed type stops its table, a column only the target has keeps its values. */
static void test_new_columns_and_changed_types(void **state) {
    (void)state;
    const char *salman = "northwind_2005sp4_salman.bak";
    char conninfo[1024];
    assert_int_equal(pgserver_create_db(server, "cols"), 0);
    pgserver_conninfo_db(server, "cols", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path(salman)), 0);
    /* the ledger is told that the last load had no shippers.phone, and came from another backup */
    assert_int_equal(pgserver_exec(server, "cols",
                                   "ALTER TABLE public.shippers DROP COLUMN phone;"
                                   "UPDATE bak2pg.tables SET columns = replace(columns, E'phone\\ttext\\n', ''), source = 'older' "
                                   "WHERE target_table = 'shippers';"
                                   "ALTER TABLE public.region ALTER COLUMN regiondescription TYPE varchar(60);"
                                   "UPDATE bak2pg.tables SET source = 'older' WHERE target_table = 'region';"
                                   "ALTER TABLE public.customers ADD COLUMN note text DEFAULT 'mine';"
                                   "UPDATE bak2pg.tables SET source = 'older' WHERE target_table = 'customers'"),
                     0);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path(salman)), B2P_ERR_UNSUPPORTED);
    assert_non_null(strstr(last.err, "public.shippers: merged by primary key (shipperid): 3 rows in the backup; 0 inserted, 3 updated"));
    assert_int_equal(pgserver_query_long(server, "cols", "SELECT count(*) FROM public.shippers WHERE phone IS NOT NULL"), 3);
    assert_non_null(strstr(last.err, "public.region: drift: column regiondescription is character varying(60) in the target and "
                                     "character(50) in the backup"));
    /* customers: its content is unchanged (hash), so it is not even merged; its own column stays */
    assert_non_null(strstr(last.err, "public.customers: unchanged: same content as the ledger's"));
    assert_int_equal(pgserver_query_long(server, "cols", "SELECT count(*) FROM public.customers WHERE note = 'mine'"), 91);
    /* and the run still went through every other table */
    assert_non_null(strstr(last.err, "public.\"order details\": unchanged"));
}

static void test_tables_without_a_key_match_whole_rows(void **state) {
    (void)state;
    const char *pubs = "pubs_2012rtm_modified_ugr95.bak";
    char conninfo[1024], dir[700];
    convert_and_dump(pubs, "pubs");
    assert_int_equal(pgserver_create_db(server, "pubs"), 0);
    pgserver_conninfo_db(server, "pubs", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path(pubs)), 0);
    /* roysched is a heap with no key: take one row away, hold another twice, and make the ledger
     * forget the table, as if the target had been loaded by other means */
    assert_int_equal(pgserver_exec(server, "pubs",
                                   "DELETE FROM public.roysched WHERE ctid = (SELECT min(ctid) FROM public.roysched);"
                                   "INSERT INTO public.roysched SELECT * FROM public.roysched ORDER BY ctid DESC LIMIT 1;"
                                   "DELETE FROM bak2pg.tables WHERE target_table = 'roysched'"),
                     0);
    /* a table the ledger does not list is not bak2pg's to merge into, unless said */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path(pubs)), B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "public.roysched"));
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --merge-existing --dsn '%s' '%s'", conninfo, fixture_path(pubs)), 0);
    assert_non_null(strstr(last.err, "public.roysched: merged by whole row: 86 rows in the backup; 1 inserted, 0 updated, 1 only in the target (kept"));
    assert_int_equal(pgserver_query_long(server, "pubs", "SELECT count(*) FROM public.roysched"), 87);
    assert_int_equal(pgserver_exec(server, "pubs", "DELETE FROM bak2pg.tables WHERE target_table = 'roysched'"), 0);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --merge-existing --sync-deletes --dsn '%s' '%s'", conninfo, fixture_path(pubs)), 0);
    assert_non_null(strstr(last.err, "public.roysched: merged by whole row: 86 rows in the backup; 0 inserted, 0 updated, 1 only in the target"));
    assert_non_null(strstr(last.err, "deleted 1 rows the backup no longer has"));
    snprintf(dir, sizeof dir, "%s/pubs-conv", tmpdir);
    assert_int_equal(pg_compare_manifest(server, dir, "pubs", "pubs after whole-row merges"), 14);
}

/* Starts bak2pg load, kills it with SIGKILL after delay_ms; true if it was still running. */
static bool load_and_kill(const char *conninfo, const char *bak, long delay_ms) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        /* every other run on two connections: a kill then cuts two tables at once */
        execl(bak2pg_bin(), bak2pg_bin(), "load", "-j", delay_ms % 20 ? "2" : "1", "--dsn", conninfo, bak, (char *)NULL);
        _exit(127);
    }
    struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    int status;
    bool running = waitpid(pid, &status, WNOHANG) == 0;
    if (running) kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return running;
}

static void test_a_killed_run_is_resumed(void **state) {
    (void)state;
    const char *bak = "bikestores_2017rtm_hanif.bak";
    char conninfo[1024], dir[700];
    convert_and_dump(bak, "bike");
    assert_int_equal(pgserver_create_db(server, "bike"), 0);
    pgserver_conninfo_db(server, "bike", conninfo, sizeof conninfo);
    /* kill at growing delays, each time over what the previous runs left */
    static const long delays_ms[] = {15, 45, 80, 125, 180, 265, 400};
    int killed = 0;
    for (size_t i = 0; i < sizeof delays_ms / sizeof delays_ms[0]; i++)
        killed += load_and_kill(conninfo, fixture_path(bak), delays_ms[i]);
    assert_true(killed > 0);
    if (bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, fixture_path(bak))) fail_msg("resume: %s", last.err);
    snprintf(dir, sizeof dir, "%s/bike-conv", tmpdir);
    int tables = pg_compare_manifest(server, dir, "bike", "bikestores after SIGKILLs");
    if (bak2pg_run(tmpdir, &last, "verify --dsn '%s' '%s'", conninfo, fixture_path(bak))) fail_msg("verify: %s", last.out);
    assert_true(tables >= 9);
    /* what the ledger saw: the killed runs that had started are 'interrupted', none 'running' */
    assert_int_equal(pgserver_query_long(server, "bike", "SELECT count(*) FROM bak2pg.runs WHERE outcome = 'running'"), 0);
    assert_int_equal(pgserver_query_long(server, "bike", "SELECT count(*) FROM bak2pg.runs WHERE outcome = 'ok'") >= 1, 1);
    /* keys exist: a duplicate would have failed their creation, and they hold now */
    assert_true(pgserver_query_long(server, "bike", "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                                   "WHERE c.contype = 'p' AND n.nspname <> 'bak2pg'") >= 9);
    fprintf(stderr, "  %d of %zu runs killed while running; the next run finished the load\n", killed,
            sizeof delays_ms / sizeof delays_ms[0]);
}

/* The server ends the loader's session while it copies rows: bak2pg reconnects, redoes that table
 * and finishes; the target equals the backup. */
static void test_a_lost_connection_is_retried(void **state) {
    (void)state;
    fixtures_require(); /* before the fork: the child could not skip */
    const char *bak = "bikestores_2017rtm_hanif.bak";
    char conninfo[1024], dir[700], errfile[700];
    assert_int_equal(pgserver_create_db(server, "lost"), 0);
    pgserver_conninfo_db(server, "lost", conninfo, sizeof conninfo);
    snprintf(errfile, sizeof errfile, "%s/lost.stderr", tmpdir);
    PGconn *admin = pgserver_connect(server, "postgres");
    int terminated = 0, exit_status = -1;
    for (int attempt = 0; attempt < 20 && !terminated; attempt++) {
        pgserver_exec(server, "lost", "DROP SCHEMA IF EXISTS bak2pg CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            freopen("/dev/null", "w", stdout);
            freopen(errfile, "w", stderr);
            execl(bak2pg_bin(), bak2pg_bin(), "load", "--retries", "2", "--dsn", conninfo, fixture_path(bak), (char *)NULL);
            _exit(127);
        }
        for (int poll = 0; poll < 400 && !terminated; poll++) {
            PGresult *r = PQexec(admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                        "WHERE application_name = 'bak2pg' AND query LIKE 'COPY%'");
            terminated = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : 0;
            PQclear(r);
            int st;
            if (!terminated && waitpid(pid, &st, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
        int st;
        if (pid && waitpid(pid, &st, 0) == pid) exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    }
    PQfinish(admin);
    assert_true(terminated > 0);
    size_t len;
    char *err = read_file(errfile, &len);
    assert_non_null(err);
    if (exit_status != 0) fail_msg("bak2pg exited %d after its session was terminated:\n%s", exit_status, err);
    assert_non_null(strstr(err, "reconnecting to redo"));
    free(err);
    convert_and_dump(bak, "bike-lost");
    snprintf(dir, sizeof dir, "%s/bike-lost-conv", tmpdir);
    assert_true(pg_compare_manifest(server, dir, "lost", "bikestores after a lost connection") >= 9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remigration_counts_equal_the_dumps_difference),
        cmocka_unit_test(test_drift_stops_the_table_or_replaces_it),
        cmocka_unit_test(test_new_columns_and_changed_types),
        cmocka_unit_test(test_tables_without_a_key_match_whole_rows),
        cmocka_unit_test(test_a_killed_run_is_resumed),
        cmocka_unit_test(test_a_lost_connection_is_retried),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
