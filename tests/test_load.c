/* bak2pg load, into a real PostgreSQL 15 the test starts itself:
 *   - a load holds exactly the rows convert writes to files (every table, byte for byte),
 *     with the same keys, indexes and constraints;
 *   - an unreachable server (retried with backoff when asked), refused credentials, a read-only
 *     target and --mode create over existing tables each give a one-line error and a distinct
 *     exit status, and leave nothing half-loaded behind; loading twice adds nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "base/base.h"
#include "tests/support/fixtures.h"
#include "tests/support/pgcompare.h"
#include "tests/support/pgserver.h"

static char tmpdir[256];
static pgserver *server;
static bak2pg_output last;

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-load", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    bak2pg_output_free(&last);
    return pgserver_test_teardown(server, tmpdir);
}

static void test_load_holds_what_convert_writes(void **state) {
    (void)state;
    static const char *const backups[] = {"northwind_2005rtm_attached2000_xandelima.bak", "pubs_2012rtm_modified_ugr95.bak",
                                          "tsqlv4_2016sp1_COMPRESSED_joeycheung.bak", "quanlydiem_sv_2012rtm_vietnamese_worklong.bak"};
    for (size_t i = 0; i < sizeof backups / sizeof backups[0]; i++) {
        char dir[600], db[32], conninfo[1024], bak[4096];
        snprintf(dir, sizeof dir, "%s/%s", tmpdir, backups[i]);
        snprintf(db, sizeof db, "load%zu", i);
        snprintf(bak, sizeof bak, "%s", fixture_path(backups[i]));
        assert_int_equal(bak2pg_run(tmpdir, &last, "convert -o '%s' '%s'", dir, bak), 0);
        assert_int_equal(pgserver_create_db(server, db), 0);
        pgserver_conninfo_db(server, db, conninfo, sizeof conninfo);
        /* every other backup on three connections at once: the same rows, keys and constraints */
        int rc = bak2pg_run(tmpdir, &last, "load %s --dsn '%s' '%s'", i % 2 ? "-j 3" : "", conninfo, bak);
        if (rc) fail_msg("%s: load exited %d: %s", backups[i], rc, last.err);
        int tables = pg_compare_manifest(server, dir, db, backups[i]);
        long constraints = pgserver_query_long(server, db, "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
                                     "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')");
        printf("  %-48s loaded: %d tables equal to convert's files, %ld constraints\n", backups[i], tables, constraints);
        assert_true(tables > 0);
        assert_true(constraints > 0);
    }
}

static void test_connection_failures_are_distinct(void **state) {
    (void)state;
    char bak[4096], conninfo[1024];
    snprintf(bak, sizeof bak, "%s", fixture_path("northwind_2005sp4_salman.bak"));
    /* nothing listens there */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --retries 0 --dsn 'host=/nonexistent-b2p port=1 dbname=x' '%s'", bak), B2P_ERR_PG_CONNECT);
    assert_non_null(strstr(last.err, "cannot connect to PostgreSQL"));
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1); /* one line */
    /* with a retry: said, paused, and the same status in the end */
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --retries 1 --dsn 'host=/nonexistent-b2p port=1 dbname=x' '%s'", bak), B2P_ERR_PG_CONNECT);
    assert_non_null(strstr(last.err, "retrying in 1 s (1 of 1)"));
    assert_non_null(strstr(last.err, "(retried with backoff)"));

    /* a role that must give a password: pg_hba asks for scram before the harness's trust line */
    char hba[1024], line[256];
    snprintf(hba, sizeof hba, "%s/pg_hba.conf", pgserver_datadir(server));
    size_t len;
    char *old = read_file(hba, &len);
    assert_non_null(old);
    FILE *f = fopen(hba, "w");
    assert_non_null(f);
    snprintf(line, sizeof line, "local all pwuser scram-sha-256\n");
    fputs(line, f);
    fputs(old, f);
    fclose(f);
    free(old);
    assert_int_equal(pgserver_exec(server, NULL, "SELECT pg_reload_conf(); CREATE ROLE pwuser LOGIN PASSWORD 'right'"), 0);
    assert_int_equal(pgserver_create_db(server, "pw"), 0);
    snprintf(conninfo, sizeof conninfo, "host=%s port=%d dbname=pw user=pwuser password=wrong", pgserver_socket_dir(server),
             pgserver_port(server));
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), B2P_ERR_PG_AUTH);
    assert_non_null(strstr(last.err, "password"));

    /* a read-only target */
    assert_int_equal(pgserver_create_db(server, "ro"), 0);
    assert_int_equal(pgserver_exec(server, NULL, "ALTER DATABASE ro SET default_transaction_read_only = on"), 0);
    pgserver_conninfo_db(server, "ro", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), B2P_ERR_PG_READONLY);
    assert_non_null(strstr(last.err, "read-only"));

    /* tables that exist already: --mode create refuses them and changes nothing; the default
     * (remigration) finds the same content and adds nothing */
    assert_int_equal(pgserver_create_db(server, "twice"), 0);
    pgserver_conninfo_db(server, "twice", conninfo, sizeof conninfo);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), 0);
    long orders = pgserver_query_long(server, "twice", "SELECT count(*) FROM public.orders");
    assert_int_equal(orders, 830);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --mode create --dsn '%s' '%s'", conninfo, bak), B2P_ERR_USAGE);
    assert_non_null(strstr(last.err, "already holds 13 of the tables"));
    assert_ptr_equal(strchr(last.err, '\n'), last.err + strlen(last.err) - 1);
    assert_int_equal(pgserver_query_long(server, "twice", "SELECT count(*) FROM public.orders"), orders);
    assert_int_equal(bak2pg_run(tmpdir, &last, "load --dsn '%s' '%s'", conninfo, bak), 0);
    assert_int_equal(pgserver_query_long(server, "twice", "SELECT count(*) FROM public.orders"), orders);
    assert_int_equal(pgserver_query_long(server, "twice", "SELECT count(*) FROM bak2pg.table_runs WHERE action = 'unchanged'"), 13);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_holds_what_convert_writes),
        cmocka_unit_test(test_connection_failures_are_distinct),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
