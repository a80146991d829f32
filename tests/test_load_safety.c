/* bak2pg load into a client's database, with a backup of unknown origin (issue 12), against a
 * real PostgreSQL 15 the test starts itself:
 *   - secrets: however --dsn is spelt (--dsn X, --dsn=X, --ds X, --ds=X, a URI with a password),
 *     the password occurs nowhere the tool writes: stdout, stderr, --log-json, any row of any
 *     ledger table, and the process title (/proc/PID/cmdline) while it runs;
 *   - only its own tables: a target table the ledger does not list (the client's) stops the run
 *     before any row is written, exit 2, naming it (escaped) and --merge-existing; with that
 *     option it is merged;
 *   - errors that do not heal fail at once (measured): a missing database with the createdb /
 *     --create hint, a misspelt conninfo keyword, refused credentials; --create creates the
 *     database (a name that needs quoting too) and loads;
 *   - lineage: a backup older than the last loaded (a full after its newer differential), and a
 *     backup of another database with the same name, are refused (exit 2) naming both, and
 *     loaded with --force; a ledger an older bak2pg made is upgraded in place; "unchanged" needs
 *     the table's page fingerprint (page ids and LSNs) to match too, not only the backup's
 *     identity;
 *   - the ledger lock held by another session: its holder is named (pid, state, start) and
 *     waited for the stated time (--lock-wait), then the run fails naming it; a holder that
 *     lets go within the time lets the run go on;
 *   - a run completes: a table holding NUL text fails alone under --nul error (exit 21, named in
 *     the summary and in bak2pg.table_runs), the others load; --nul replace records the policy
 *     (runs.nul_policy) and per table the values changed (table_runs.nul_values_changed), and
 *     names the table and count on stderr. */
#include <errno.h>
#include <fcntl.h>
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
#include "tests/support/db_gen.h"
#include "tests/support/fixtures.h"
#include "tests/support/pgserver.h"

static char tmpdir[200];
static pgserver *server;
static bak2pg_output last;

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-lsafe", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    bak2pg_output_free(&last);
    return pgserver_test_teardown(server, tmpdir);
}

/* Writes a generated backup (tests/support/db_gen.h) from desc to tmpdir/name; gives its path. */
static const char *generate(const char *name, const char *desc) {
    static char path[4][400];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    char err[512];
    dbg_desc *d = dbg_parse(desc, err, sizeof err);
    if (!d) fail_msg("%s", err);
    FILE *out = fopen(p, "wb");
    assert_non_null(out);
    dbg_write_options o = {0};
    if (!dbg_write(d, out, &o, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(fclose(out), 0);
    dbg_free(d);
    return p;
}

static const char SHOP[] =
    "database shop\n"
    "table dbo.categories\n"
    "  column id int not null seq\n"
    "  column name varchar(40) not null\n"
    "  primary key (id)\n"
    "  row 1 | Beverages\n"
    "  row 2 | Condiments\n"
    "end\n"
    "table dbo.products\n"
    "  column id int not null seq\n"
    "  column category int not null range 1 2\n"
    "  primary key (id)\n"
    "  foreign key fk_cat (category) references dbo.categories (id)\n"
    "  generate 50 seed 3\n"
    "end\n";

static size_t occurrences(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p++) n++;
    return n;
}

/* Rows of every table in schema bak2pg whose text holds needle. */
static long ledger_occurrences(const char *db, const char *needle) {
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(format("
             "'SELECT count(*) AS c FROM %%I.%%I t WHERE t::text LIKE %%L', table_schema, table_name, '%%%s%%'), "
             "false, true, '')))[1]::text::int), 0) FROM information_schema.tables WHERE table_schema = 'bak2pg'",
             needle);
    return pgserver_query_long(server, db, sql);
}

/* ---- secrets ---------------------------------------------------------------------------------- */

static void test_password_is_nowhere(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    static const char SECRET[] = "S3cr3tPw";
    char base[512];
    snprintf(base, sizeof base, "host=%s port=%d user=%s password=%s", pgserver_socket_dir(server), pgserver_port(server),
             pgserver_user(server), SECRET);
    static const char *const spellings[] = {"--dsn '%s dbname=%s'", "'--dsn=%s dbname=%s'", "--ds '%s dbname=%s'",
                                            "'--ds=%s dbname=%s'", "uri"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char db[32], arg[1200];
        snprintf(db, sizeof db, "secret%zu", i);
        assert_int_equal(pgserver_create_db(server, db), 0);
        if (!strcmp(spellings[i], "uri"))
            snprintf(arg, sizeof arg, "--dsn 'postgresql://%s:%s@/%s?host=%s&port=%d'", pgserver_user(server), SECRET, db,
                     pgserver_socket_dir(server), pgserver_port(server));
        else
            snprintf(arg, sizeof arg, spellings[i], base, db);
        for (int json = 0; json < 2; json++) {
            int rc = bak2pg_run(tmpdir, &last, "load %s %s '%s'", json ? "--log-json" : "", arg, bak);
            if (rc) fail_msg("%s: exit %d: %s", arg, rc, last.err);
            assert_int_equal(occurrences(last.out, SECRET), 0);
            assert_int_equal(occurrences(last.err, SECRET), 0);
        }
        assert_int_equal(pgserver_query_long(server, db, "SELECT count(*) FROM public.products"), 50);
        assert_int_equal(ledger_occurrences(db, SECRET), 0);
        /* the options are recorded, with the conninfo's place marked */
        assert_int_equal(ledger_occurrences(db, "<dsn>"), 2);
        printf("  %-24s 0 occurrences of the password in stdout, stderr, --log-json, the ledger\n",
               !strcmp(spellings[i], "uri") ? "URI" : spellings[i]);
    }
    /* a failing run says nothing of it either */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --retries 0 '--ds=host=/nonexistent-b2p port=1 dbname=x password=%s' '%s'",
                                SECRET, bak),
                     B2P_ERR_PG_CONNECT);
    assert_int_equal(occurrences(last.err, SECRET), 0);
}

/* While it runs (pausing before a retry), the process title does not show the conninfo. */
static void test_password_not_in_process_title(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    static const char SECRET[] = "T1tl3Pw";
    char dsn[256];
    snprintf(dsn, sizeof dsn, "--ds=host=/nonexistent-b2p port=1 dbname=x password=%s", SECRET);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(bak2pg_bin(), "bak2pg", "load", "--retries", "1", dsn, bak, (char *)NULL);
        _exit(127);
    }
    char path[64], title[8192];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    struct timespec pause = {.tv_nsec = 400 * 1000 * 1000};
    nanosleep(&pause, NULL);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(title, 1, sizeof title - 1, f);
    fclose(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == B2P_ERR_PG_CONNECT);
    for (size_t i = 0; i < n; i++)
        if (!title[i]) title[i] = ' ';
    title[n] = 0;
    assert_non_null(strstr(title, "bak2pg load --retries 1"));
    assert_null(strstr(title, SECRET));
    assert_null(strstr(title, "nonexistent-b2p"));
}

/* ---- only its own tables --------------------------------------------------------------------- */

static const char HOSTILE[] =
    "database shop\n"
    "table dbo.\"cat\\nx\"\n"
    "  column id int not null seq\n"
    "  primary key (id)\n"
    "  row 7\n"
    "end\n";

static void test_client_tables_are_not_merged(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    char conninfo[1024];
    assert_int_equal(pgserver_create_db(server, "client"), 0);
    pgserver_conninfo_db(server, "client", conninfo, sizeof conninfo);
    assert_int_equal(pgserver_exec(server, "client", "CREATE TABLE public.categories (id int PRIMARY KEY, name text NOT NULL);"
                                                     "INSERT INTO public.categories VALUES (1, 'CLIENT-OWN-ROW')"),
                     0);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "public.categories"));
    assert_non_null(strstr(last.err, "--merge-existing"));
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1); /* one line */
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM public.categories WHERE id = 1 AND name = 'CLIENT-OWN-ROW'"), 1);
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM public.categories"), 1);
    /* no other table got rows: products was not even created, and no run was recorded */
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM pg_class WHERE relname = 'products'"), 0);
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM bak2pg.runs"), 0);
    /* --mode remigrate asks for a merge, not for a merge into the client's tables */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --mode remigrate --dsn '%s' '%s'", conninfo, bak), B2P_ERR_USAGE);
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM public.categories WHERE name = 'CLIENT-OWN-ROW'"), 1);

    /* said so: merged as before (row 1 is the backup's now), the rest loaded */
    int rc = bak2pg_run(tmpdir, &last, "load --merge-existing --dsn '%s' '%s'", conninfo, bak);
    if (rc) fail_msg("load --merge-existing: exit %d: %s", rc, last.err);
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM public.categories WHERE id = 1 AND name = 'Beverages'"), 1);
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM public.categories"), 2);
    assert_int_equal(pgserver_query_long(server, "client", "SELECT count(*) FROM public.products"), 50);
    /* from now on the ledger lists it: the default mode goes on without the option */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), 0);

    /* a client's table with a hostile name is named escaped */
    const char *hostile = generate("hostile.bak", HOSTILE);
    assert_int_equal(pgserver_create_db(server, "client2"), 0);
    pgserver_conninfo_db(server, "client2", conninfo, sizeof conninfo);
    assert_int_equal(pgserver_exec(server, "client2", "CREATE TABLE public.\"cat\nx\" (id int)"), 0);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, hostile), B2P_ERR_USAGE);
    if (!strstr(last.err, "public.cat\\nx")) fail_msg("%s", last.err);
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1);
}

/* ---- errors that do not heal ------------------------------------------------------------------ */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_permanent_errors_fail_at_once(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    char conninfo[1024];
    pgserver_conninfo_db(server, "nosuchdb", conninfo, sizeof conninfo);
    double t0 = now();
    int rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak);
    double secs = now() - t0;
    printf("  missing database: exit %d after %.3f s: %s", rc, secs, last.err);
    assert_int_equal(rc, B2P_ERR_NOT_FOUND);
    assert_true(secs < 1.0);
    assert_non_null(strstr(last.err, "\"nosuchdb\" does not exist"));
    assert_non_null(strstr(last.err, "createdb nosuchdb"));
    assert_non_null(strstr(last.err, "--create"));
    assert_null(strstr(last.err, "retrying"));
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1);

    /* a misspelt keyword: said before any connection */
    snprintf(conninfo, sizeof conninfo, "host=%s port=%d dbnme=x", pgserver_socket_dir(server), pgserver_port(server));
    t0 = now();
    rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak);
    secs = now() - t0;
    printf("  misspelt keyword: exit %d after %.3f s: %s", rc, secs, last.err);
    assert_int_equal(rc, B2P_ERR_USAGE);
    assert_true(secs < 1.0);
    assert_non_null(strstr(last.err, "dbnme"));
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1);
    /* a broken URI: libpq's quote of it (which may hold the password) is not repeated */
    rc = bak2pg_run(tmpdir, &last, "load --dsn 'postgresql://u:Pw0rd@host:notaport/db?x=%%zz' '%s'", bak);
    assert_int_equal(rc, B2P_ERR_USAGE);
    assert_null(strstr(last.err, "Pw0rd"));

    /* a role that does not exist: refused credentials, not retried */
    snprintf(conninfo, sizeof conninfo, "host=%s port=%d dbname=postgres user=nosuchrole", pgserver_socket_dir(server),
             pgserver_port(server));
    t0 = now();
    rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak);
    secs = now() - t0;
    printf("  unknown role:     exit %d after %.3f s: %s", rc, secs, last.err);
    assert_int_equal(rc, B2P_ERR_PG_AUTH);
    assert_true(secs < 1.0);
    assert_null(strstr(last.err, "retrying"));

    /* --create: the database comes into being, by a name that needs quoting, and is loaded */
    snprintf(conninfo, sizeof conninfo, "host=%s port=%d user=%s dbname=new\"Shop", pgserver_socket_dir(server),
             pgserver_port(server), pgserver_user(server));
    rc = bak2pg_run(tmpdir, &last, "load --create --dsn '%s' '%s'", conninfo, bak);
    if (rc) fail_msg("load --create: exit %d: %s", rc, last.err);
    if (!strstr(last.err, "created database new\"Shop")) fail_msg("%s", last.err);
    PGconn *c = pgserver_connect(server, "new\"Shop");
    if (!c) fail_msg("%s", pgserver_error());
    PGresult *r = PQexec(c, "SELECT count(*) FROM public.products");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "50");
    PQclear(r);
    PQfinish(c);
    /* and once it exists, --create changes nothing */
    rc = bak2pg_run(tmpdir, &last, "load --create --dsn '%s' '%s'", conninfo, bak);
    if (rc) fail_msg("load --create again: exit %d: %s", rc, last.err);
    assert_null(strstr(last.err, "created database"));
}

/* ---- lineage ---------------------------------------------------------------------------------- */

static void test_older_backup_is_refused(void **state) {
    (void)state;
    char full[4096], diff[4096], conninfo[1024];
    snprintf(full, sizeof full, "%s", fixture_path("doublediff_2008r2rtm_full_appveyor.bak"));
    snprintf(diff, sizeof diff, "%s", fixture_path("doublediff_2008r2rtm_DIFFERENTIAL2_appveyor.bak"));
    assert_int_equal(pgserver_create_db(server, "lineage"), 0);
    pgserver_conninfo_db(server, "lineage", conninfo, sizeof conninfo);
    int rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s' '%s'", conninfo, full, diff);
    if (rc) fail_msg("full + differential: exit %d: %s", rc, last.err);
    assert_int_equal(pgserver_query_long(server, "lineage", "SELECT count(*) FROM bak2pg.lineage WHERE last_lsn = '24000000013400001' "
                                                            "AND family_guid = '0EBAF87F-5EAB-449D-B518-A168F117874F'"),
                     1);
    long runs = pgserver_query_long(server, "lineage", "SELECT count(*) FROM bak2pg.runs");
    /* the full alone is older than what the target holds now */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, full), B2P_ERR_USAGE);
    printf("  %s", last.err);
    assert_non_null(strstr(last.err, "older"));
    assert_non_null(strstr(last.err, "LSN 24000000013400001"));
    assert_non_null(strstr(last.err, "LSN 24000000010900001"));
    assert_non_null(strstr(last.err, "--force"));
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1);
    assert_int_equal(pgserver_query_long(server, "lineage", "SELECT count(*) FROM bak2pg.runs"), runs);
    /* the same backup again is no step back */
    rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s' '%s'", conninfo, full, diff);
    if (rc) fail_msg("full + differential again: exit %d: %s", rc, last.err);
    rc = bak2pg_run(tmpdir, &last, "load --force --dsn '%s' '%s'", conninfo, full);
    if (rc) fail_msg("load --force: exit %d: %s", rc, last.err);
    assert_int_equal(pgserver_query_long(server, "lineage", "SELECT count(*) FROM bak2pg.lineage WHERE last_lsn = '24000000010900001'"), 1);
    /* each run records the identity it loaded */
    assert_int_equal(pgserver_query_long(server, "lineage", "SELECT count(*) FROM bak2pg.runs WHERE checkpoint_lsn = '24000000013200001'"), 2);
    assert_int_equal(pgserver_query_long(server, "lineage", "SELECT count(*) FROM bak2pg.runs WHERE checkpoint_lsn = '24000000006800099' "
                                                            "AND backup_finish_date = '2018-12-21 11:26:31' AND server_name <> '' "
                                                            "AND database_creation_date = '2018-12-21 11:23:45'"),
                     1);
}

static const char SHOP_ELSEWHERE[] =
    "database shop\n"
    "table dbo.categories\n"
    "  column id int not null seq\n"
    "  column name varchar(40) not null\n"
    "  primary key (id)\n"
    "  row 1 | Tools\n"
    "end\n";

static void test_other_database_is_refused(void **state) {
    (void)state;
    const char *ours = generate("shop.bak", SHOP), *theirs = generate("shop-elsewhere.bak", SHOP_ELSEWHERE);
    char conninfo[1024];
    assert_int_equal(pgserver_create_db(server, "otherdb"), 0);
    pgserver_conninfo_db(server, "otherdb", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, ours), 0);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, theirs), B2P_ERR_USAGE);
    printf("  %s", last.err);
    assert_non_null(strstr(last.err, "another database"));
    assert_int_equal(occurrences(last.err, "database shop (family GUID"), 2);
    assert_int_equal(pgserver_query_long(server, "otherdb", "SELECT count(*) FROM public.categories WHERE name = 'Beverages'"), 1);
    int rc = bak2pg_run(tmpdir, &last, "load --force --dsn '%s' '%s'", conninfo, theirs);
    if (rc) fail_msg("load --force: exit %d: %s", rc, last.err);
    assert_int_equal(pgserver_query_long(server, "otherdb", "SELECT count(*) FROM public.categories WHERE id = 1 AND name = 'Tools'"), 1);
}

/* The ledger as bak2pg made it before lineage (its three tables, no new columns): upgraded. */
static void test_old_ledger_is_upgraded(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    char conninfo[1024];
    assert_int_equal(pgserver_create_db(server, "oldledger"), 0);
    pgserver_conninfo_db(server, "oldledger", conninfo, sizeof conninfo);
    assert_int_equal(pgserver_exec(server, "oldledger",
                                   "CREATE SCHEMA bak2pg;"
                                   "CREATE TABLE bak2pg.runs (run_id bigserial PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT "
                                   "clock_timestamp(), finished_at timestamptz, database_name text NOT NULL, backup_set_guid text "
                                   "NOT NULL, backup_type text NOT NULL, first_lsn text NOT NULL, last_lsn text NOT NULL, source text "
                                   "NOT NULL, mode text NOT NULL, options text NOT NULL, outcome text NOT NULL DEFAULT 'running', "
                                   "message text, tables_done integer, tables_unchanged integer, tables_failed integer, rows_inserted "
                                   "bigint, rows_updated bigint, rows_deleted bigint, rows_disappeared bigint);"
                                   "CREATE TABLE bak2pg.tables (target_schema text NOT NULL, target_table text NOT NULL, source_schema "
                                   "text NOT NULL, source_table text NOT NULL, columns text NOT NULL, match_key text NOT NULL, source "
                                   "text NOT NULL, source_rows bigint NOT NULL, content_hash text NOT NULL, deletes_synced boolean NOT "
                                   "NULL DEFAULT false, post_data_done boolean NOT NULL DEFAULT false, run_id bigint NOT NULL "
                                   "REFERENCES bak2pg.runs, loaded_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY "
                                   "(target_schema, target_table));"
                                   "CREATE TABLE bak2pg.table_runs (run_id bigint NOT NULL REFERENCES bak2pg.runs, target_schema text "
                                   "NOT NULL, target_table text NOT NULL, action text NOT NULL, source_rows bigint, inserted bigint, "
                                   "updated bigint, deleted bigint, disappeared bigint, message text, finished_at timestamptz NOT NULL "
                                   "DEFAULT clock_timestamp());"
                                   "INSERT INTO bak2pg.runs (database_name, backup_set_guid, backup_type, first_lsn, last_lsn, source, "
                                   "mode, options, outcome) VALUES ('shop', 'x', 'full', '0', '0', 'x', 'create', '', 'ok')"),
                     0);
    int rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak);
    if (rc) fail_msg("load over an old ledger: exit %d: %s", rc, last.err);
    assert_int_equal(pgserver_query_long(server, "oldledger", "SELECT count(*) FROM bak2pg.runs WHERE nul_policy = 'error'"), 1);
    assert_int_equal(pgserver_query_long(server, "oldledger", "SELECT count(*) FROM bak2pg.lineage"), 1);
    assert_int_equal(pgserver_query_long(server, "oldledger", "SELECT count(*) FROM public.products"), 50);
}

/* The ledger says this backup set was loaded, but from other pages (what a second file claiming
 * the same identity would give): the table is compared and merged, not skipped. */
static void test_unchanged_needs_the_same_pages(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    char conninfo[1024];
    assert_int_equal(pgserver_create_db(server, "pages"), 0);
    pgserver_conninfo_db(server, "pages", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), 0);
    assert_int_equal(pgserver_query_long(server, "pages", "SELECT count(*) FROM bak2pg.tables WHERE page_fingerprint ~ '^[0-9a-f]{16}$'"), 2);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), 0);
    assert_int_equal(occurrences(last.err, ": unchanged: the ledger shows this backup loaded"), 2);
    /* the target's products row 1 changed by hand; the ledger's record of the pages is another */
    long category = pgserver_query_long(server, "pages", "SELECT category FROM public.products WHERE id = 1");
    assert_int_equal(pgserver_exec(server, "pages", "UPDATE public.products SET category = 3 - category WHERE id = 1;"
                                                    "UPDATE bak2pg.tables SET page_fingerprint = '0123456789abcdef', "
                                                    "content_hash = repeat('0', 32) WHERE target_table = 'products'"),
                     0);
    int rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak);
    if (rc) fail_msg("exit %d: %s", rc, last.err);
    assert_non_null(strstr(last.err, "public.categories: unchanged: the ledger shows this backup loaded"));
    assert_non_null(strstr(last.err, "public.products: merged by primary key (id): 50 rows in the backup; 0 inserted, 1 updated"));
    assert_int_equal(pgserver_query_long(server, "pages", "SELECT category FROM public.products WHERE id = 1"), category);
}

/* ---- the ledger lock --------------------------------------------------------------------------- */

static void test_lock_holder_is_named_and_waited_for(void **state) {
    (void)state;
    const char *bak = generate("shop.bak", SHOP);
    char conninfo[1024], pid[64];
    assert_int_equal(pgserver_create_db(server, "locked"), 0);
    pgserver_conninfo_db(server, "locked", conninfo, sizeof conninfo);
    PGconn *holder = pgserver_connect(server, "locked");
    assert_non_null(holder);
    assert_int_equal(pgserver_exec_conn(holder, "SELECT pg_advisory_lock(hashtext('bak2pg ledger'))"), 0);
    snprintf(pid, sizeof pid, "backend pid %d (state idle", PQbackendPID(holder));
    double t0 = now();
    int rc = bak2pg_run(tmpdir, &last, "load --lock-wait 1 --dsn '%s' '%s'", conninfo, bak);
    double secs = now() - t0;
    printf("  after %.2f s, exit %d:\n%s", secs, rc, last.err);
    assert_int_equal(rc, B2P_ERR_PG_SQL);
    assert_true(secs >= 1.0 && secs < 5.0);
    assert_int_equal(occurrences(last.err, pid), 2); /* when it starts waiting, and when it gives up */
    assert_non_null(strstr(last.err, "waiting up to 1 s for it (--lock-wait)"));
    assert_non_null(strstr(last.err, "still after 1 s"));
    assert_non_null(strstr(last.err, "started 20"));
    assert_int_equal(pgserver_query_long(server, "locked", "SELECT count(*) FROM pg_class WHERE relname = 'products'"), 0);

    /* a holder that lets go within the time: the run goes on */
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(ready[0]);
        PGconn *c = pgserver_connect(server, "locked");
        PGresult *r = c ? PQexec(c, "SELECT pg_advisory_lock(hashtext('bak2pg ledger'))") : NULL;
        bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (write(ready[1], ok ? "y" : "n", 1) != 1) _exit(1);
        struct timespec hold = {.tv_sec = 1, .tv_nsec = 500 * 1000 * 1000};
        nanosleep(&hold, NULL);
        PQfinish(c);
        _exit(0);
    }
    close(ready[1]);
    PQfinish(holder);
    char answer = 0;
    assert_int_equal(read(ready[0], &answer, 1), 1);
    close(ready[0]);
    assert_int_equal(answer, 'y');
    rc = bak2pg_run(tmpdir, &last, "load --lock-wait 20 --dsn '%s' '%s'", conninfo, bak);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (rc) fail_msg("load after the holder let go: exit %d: %s", rc, last.err);
    assert_non_null(strstr(last.err, "waiting up to 20 s"));
    assert_int_equal(pgserver_query_long(server, "locked", "SELECT count(*) FROM public.products"), 50);
}

/* ---- a run completes ---------------------------------------------------------------------------- */

static const char NULS[] =
    "database nuls\n"
    "table dbo.members\n"
    "  column id int not null seq\n"
    "  column password varchar(40) null\n"
    "  primary key (id)\n"
    "  row 1 | \"pass\\x00word\"\n"
    "  row 2 | plain\n"
    "  row 3 | \"\\x00\\x00\"\n"
    "end\n"
    "table dbo.books\n"
    "  column id int not null seq\n"
    "  primary key (id)\n"
    "  generate 20 seed 1\n"
    "end\n";

static void test_a_failed_table_does_not_stop_the_run(void **state) {
    (void)state;
    const char *bak = generate("nuls.bak", NULS);
    char conninfo[1024];
    assert_int_equal(pgserver_create_db(server, "nuls"), 0);
    pgserver_conninfo_db(server, "nuls", conninfo, sizeof conninfo);
    int rc = bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak);
    printf("  --nul error: exit %d\n%s%s", rc, last.out, last.err);
    assert_int_equal(rc, B2P_ERR_PARTIAL);
    assert_non_null(strstr(last.err, "public.members: failed"));
    assert_non_null(strstr(last.err, "1 table failed"));
    assert_non_null(strstr(last.out, "1 failed")); /* the summary */
    assert_int_equal(pgserver_query_long(server, "nuls", "SELECT count(*) FROM public.books"), 20);
    assert_int_equal(pgserver_query_long(server, "nuls", "SELECT count(*) FROM public.members"), 0);
    assert_int_equal(pgserver_query_long(server, "nuls", "SELECT count(*) FROM bak2pg.table_runs WHERE target_table = 'members' "
                                                         "AND action = 'failed' AND message LIKE '%%NUL%%'"),
                     1);
    assert_int_equal(pgserver_query_long(server, "nuls", "SELECT count(*) FROM bak2pg.table_runs WHERE target_table = 'books' "
                                                         "AND action = 'loaded'"),
                     1);
    assert_int_equal(pgserver_query_long(server, "nuls", "SELECT count(*) FROM bak2pg.runs WHERE outcome = 'partial' "
                                                         "AND tables_failed = 1 AND nul_policy = 'error'"),
                     1);

    /* --nul replace: every table loads, the changed values are counted and named */
    assert_int_equal(pgserver_create_db(server, "nuls2"), 0);
    pgserver_conninfo_db(server, "nuls2", conninfo, sizeof conninfo);
    rc = bak2pg_run(tmpdir, &last, "load --nul replace --dsn '%s' '%s'", conninfo, bak);
    printf("  --nul replace: exit %d\n%s", rc, last.err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(last.err, "table public.members: 2 values held NUL characters"));
    assert_null(strstr(last.err, "table public.books: "));
    assert_int_equal(pgserver_query_long(server, "nuls2", "SELECT count(*) FROM public.members WHERE password = 'pass' || chr(65533) || 'word'"), 1);
    assert_int_equal(pgserver_query_long(server, "nuls2", "SELECT count(*) FROM bak2pg.runs WHERE nul_policy = 'replace'"), 1);
    assert_int_equal(pgserver_query_long(server, "nuls2", "SELECT nul_values_changed FROM bak2pg.table_runs WHERE target_table = 'members'"), 2);
    assert_int_equal(pgserver_query_long(server, "nuls2", "SELECT nul_values_changed FROM bak2pg.table_runs WHERE target_table = 'books'"), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_is_nowhere),
        cmocka_unit_test(test_password_not_in_process_title),
        cmocka_unit_test(test_client_tables_are_not_merged),
        cmocka_unit_test(test_permanent_errors_fail_at_once),
        cmocka_unit_test(test_older_backup_is_refused),
        cmocka_unit_test(test_other_database_is_refused),
        cmocka_unit_test(test_old_ledger_is_upgraded),
        cmocka_unit_test(test_unchanged_needs_the_same_pages),
        cmocka_unit_test(test_lock_holder_is_named_and_waited_for),
        cmocka_unit_test(test_a_failed_table_does_not_stop_the_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
