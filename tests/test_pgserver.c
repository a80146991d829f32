/* The test harness's own PostgreSQL 15 server (tests/support/pgserver.h): a real server started
 * by the test, databases inside it, rows in and out through libpq COPY with exact bytes, psql
 * scripts that fail with the server's message, and a stop that leaves nothing behind (no socket,
 * no postmaster, no directory), also when the test process is killed. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "tests/support/pgserver.h"

#define CHECK(expr)                                                                                    \
    do {                                                                                               \
        if ((expr) != 0) fail_msg("%s failed: %s", #expr, pgserver_error());                         \
    } while (0)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool path_exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static bool alive(pid_t pid) {
    if (kill(pid, 0) != 0) return errno == EPERM;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return !(paren && (paren[2] == 'Z' || paren[2] == 'X')); /* a zombie is not alive */
}

/* Rows of COPY text, value by value what PostgreSQL prints back: escapes, NULL, UTF-8, bytea. */
static char *make_rows(size_t *len) {
    const char *head =
        "1\tplain\t12.50\t2024-02-29 23:59:59.123\t\\\\x00ff10\tt\n"
        "2\ttab\\there\\nnewline \\\\ back\t-0.01\t1999-12-31 00:00:00\t\\\\x\tf\n"
        "3\t\\N\t\\N\t\\N\t\\N\t\\N\n"
        "4\t\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98\t99999999.99\t0001-01-01 00:00:00\t\\\\xdeadbeef\tt\n"
        "5\t\t0.00\t2038-01-19 03:14:08\t\\\\x5c\tf\n";
    size_t cap = strlen(head) + 20000 * 64, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    n += (size_t)snprintf(buf, cap, "%s", head);
    for (int i = 6; i <= 20000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%d\trow %d\t%d.%02d\t2020-01-01 00:00:%02d\t\\\\x%02x\t%c\n", i, i,
                              i * 3, i % 100, i % 60, i % 256, i % 2 ? 't' : 'f');
    *len = n;
    return buf;
}

static const char *table_ddl =
    "CREATE TABLE t (id integer PRIMARY KEY, name text, price numeric(10,2), at timestamp(3), "
    "data bytea, flag boolean)";

static void test_databases(void **state) {
    pgserver *s = *state;
    CHECK(pgserver_create_db(s, "b2p_one"));
    CHECK(pgserver_create_db(s, "b2p_two"));
    CHECK(pgserver_exec(s, "b2p_one", "CREATE TABLE only_in_one (a int); INSERT INTO only_in_one VALUES (1)"));
    CHECK(pgserver_exec(s, "b2p_two", "CREATE TABLE only_in_two (b text)"));

    PGconn *c = pgserver_connect(s, NULL);
    if (!c) fail_msg("%s", pgserver_error());
    size_t len;
    char *out = pgserver_copy_out(
        c, "COPY (SELECT datname, pg_encoding_to_char(encoding), datcollate FROM pg_database "
           "WHERE datname LIKE 'b2p%' ORDER BY 1) TO STDOUT", &len);
    if (!out) fail_msg("%s", pgserver_error());
    assert_string_equal(out, "b2p_one\tUTF8\tC\nb2p_two\tUTF8\tC\n");
    free(out);
    /* The server's settings are the harness's. */
    out = pgserver_copy_out(c, "COPY (SELECT current_setting('fsync'), current_setting('TimeZone'), "
                               "current_setting('listen_addresses'), current_setting('server_version_num')::int / 10000, "
                               "current_setting('is_superuser'), current_setting('server_encoding')) TO STDOUT",
                            &len);
    if (!out) fail_msg("%s", pgserver_error());
    assert_string_equal(out, "off\tUTC\t\t15\ton\tUTF8\n");
    free(out);
    PQfinish(c);

    /* Each database sees its own tables only. */
    assert_int_equal(pgserver_exec(s, "b2p_two", "SELECT * FROM only_in_one"), -1);
    assert_non_null(strstr(pgserver_error(), "relation \"only_in_one\" does not exist"));
    CHECK(pgserver_exec(s, "b2p_one", "SELECT * FROM only_in_one"));

    /* create_db again: a fresh, empty database, even with a session open in the old one. */
    PGconn *held = pgserver_connect(s, "b2p_one");
    if (!held) fail_msg("%s", pgserver_error());
    CHECK(pgserver_create_db(s, "b2p_one"));
    PQfinish(held);
    assert_int_equal(pgserver_exec(s, "b2p_one", "SELECT * FROM only_in_one"), -1);
    CHECK(pgserver_exec(s, NULL, "DROP DATABASE b2p_two"));

    /* A name that needs quoting, in SQL and in the conninfo. */
    CHECK(pgserver_create_db(s, "B2P odd'name"));
    CHECK(pgserver_exec(s, "B2P odd'name", "CREATE TABLE x (a int)"));
    CHECK(pgserver_exec(s, NULL, "DROP DATABASE \"B2P odd'name\""));
}

static void test_copy_round_trip(void **state) {
    pgserver *s = *state;
    CHECK(pgserver_create_db(s, "b2p_copy"));
    PGconn *c = pgserver_connect(s, "b2p_copy");
    if (!c) fail_msg("%s", pgserver_error());
    CHECK(pgserver_exec_conn(c, table_ddl));

    size_t len;
    char *rows = make_rows(&len);
    /* Streamed by hand, in pieces that cut rows, escapes and UTF-8 sequences anywhere. */
    PGresult *r = PQexec(c, "COPY t FROM STDIN");
    assert_int_equal(PQresultStatus(r), PGRES_COPY_IN);
    PQclear(r);
    size_t piece = 1;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < piece ? len - off : piece;
        assert_int_equal(PQputCopyData(c, rows + off, (int)n), 1);
        off += n;
        piece = piece * 3 % 9973 + 1;
    }
    assert_int_equal(PQputCopyEnd(c, NULL), 1);
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("COPY FROM: %s", PQresultErrorMessage(r));
    assert_string_equal(PQcmdTuples(r), "20000");
    PQclear(r);
    assert_null(PQgetResult(c));

    size_t back_len;
    char *back = pgserver_copy_out(c, "COPY (SELECT * FROM t ORDER BY id) TO STDOUT", &back_len);
    if (!back) fail_msg("%s", pgserver_error());
    assert_int_equal(back_len, len);
    assert_memory_equal(back, rows, len);
    free(back);

    /* The helper streams the same bytes into a second table. */
    CHECK(pgserver_exec_conn(c, "CREATE TABLE t2 (LIKE t)"));
    CHECK(pgserver_copy_in(c, "COPY t2 FROM STDIN", rows, len));
    back = pgserver_copy_out(c, "COPY (SELECT * FROM t2 ORDER BY id) TO STDOUT", &back_len);
    if (!back) fail_msg("%s", pgserver_error());
    assert_int_equal(back_len, len);
    assert_memory_equal(back, rows, len);
    free(back);
    free(rows);

    /* Bad data: the server's message, with its line number; the connection stays usable. */
    const char bad[] = "1\tok\t1.00\t2020-01-01 00:00:00\t\\\\x00\tt\n2\tbad\tnot-a-number\t\\N\t\\N\t\\N\n";
    assert_int_equal(pgserver_copy_in(c, "COPY t2 FROM STDIN", bad, sizeof bad - 1), -1);
    assert_non_null(strstr(pgserver_error(), "invalid input syntax for type numeric: \"not-a-number\""));
    assert_int_equal(pgserver_copy_in(c, "COPY nosuch FROM STDIN", bad, sizeof bad - 1), -1);
    assert_non_null(strstr(pgserver_error(), "relation \"nosuch\" does not exist"));
    assert_null(pgserver_copy_out(c, "COPY nosuch TO STDOUT", &back_len));
    CHECK(pgserver_exec_conn(c, "SELECT 1"));
    assert_int_equal(pgserver_exec_conn(c, "SELECT 1/0"), -1);
    assert_non_null(strstr(pgserver_error(), "division by zero"));
    PQfinish(c);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_psql_file(void **state) {
    pgserver *s = *state;
    CHECK(pgserver_create_db(s, "b2p_psql"));
    char dir[] = "/tmp/b2p-psql-XXXXXX", good[64], bad[64];
    assert_non_null(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/good.sql", dir);
    snprintf(bad, sizeof bad, "%s/bad.sql", dir);
    write_text(good, "CREATE TABLE a (x int, s text);\nINSERT INTO a VALUES (1, 'caf\xc3\xa9'), (2, '\xe2\x82\xac');\n");
    write_text(bad, "CREATE TABLE b (x int);\n"
                    "SELECT * FROM nosuch;\n"
                    "CREATE TABLE never (x int);\n");

    char *out = NULL;
    int rc = pgserver_psql_file(s, "b2p_psql", good, &out);
    if (rc != 0) fail_msg("psql good.sql: %d: %s", rc, out ? out : "");
    assert_string_equal(out, "");
    free(out);

    rc = pgserver_psql_file(s, "b2p_psql", bad, &out);
    assert_int_equal(rc, 3); /* psql: a script error under ON_ERROR_STOP */
    assert_non_null(out);
    assert_non_null(strstr(out, "bad.sql:2: ERROR:  relation \"nosuch\" does not exist"));
    assert_non_null(strstr(pgserver_error(), "relation \"nosuch\" does not exist"));
    free(out);
    /* UTF-8 arrived as UTF-8. */
    PGconn *c = pgserver_connect(s, "b2p_psql");
    if (!c) fail_msg("%s", pgserver_error());
    size_t len;
    char *rows = pgserver_copy_out(c, "COPY (SELECT x, s, octet_length(s) FROM a ORDER BY x) TO STDOUT", &len);
    if (!rows) fail_msg("%s", pgserver_error());
    assert_string_equal(rows, "1\tcaf\xc3\xa9\t5\n2\t\xe2\x82\xac\t3\n");
    free(rows);
    PQfinish(c);

    /* It stopped at the error: b exists, never does not. */
    CHECK(pgserver_exec(s, "b2p_psql", "SELECT * FROM b"));
    assert_int_equal(pgserver_exec(s, "b2p_psql", "SELECT * FROM never"), -1);

    /* A missing database and a missing file: non-zero, with the reason. */
    rc = pgserver_psql_file(s, "b2p_nosuchdb", good, &out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "database \"b2p_nosuchdb\" does not exist"));
    free(out);
    char missing[80];
    snprintf(missing, sizeof missing, "%s/missing.sql", dir);
    rc = pgserver_psql_file(s, NULL, missing, &out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "No such file or directory"));
    free(out);
    assert_int_equal(pgserver_psql_file(s, NULL, good, NULL), 0);

    unlink(good);
    unlink(bad);
    rmdir(dir);
}

/* A test process killed with SIGKILL: its postmaster shuts down by itself (parent-death signal),
 * and the next harness removes the directory it left. */
static void test_killed_harness(void **state) {
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        pgserver *s = pgserver_get(); /* (the parent's server is not this process's) */
        char msg[512];
        int n = s ? snprintf(msg, sizeof msg, "%ld %s\n", (long)pgserver_pid(s), pgserver_socket_dir(s))
                  : snprintf(msg, sizeof msg, "0 %s\n", pgserver_error());
        if (write(fds[1], msg, (size_t)n) < 0) _exit(1);
        for (;;) pause();
    }
    close(fds[1]);
    char msg[512];
    ssize_t n = 0, k;
    while ((k = read(fds[0], msg + n, sizeof msg - 1 - (size_t)n)) > 0) {
        n += k;
        if (memchr(msg, '\n', (size_t)n)) break;
    }
    close(fds[0]);
    msg[n > 0 ? n : 0] = 0;
    long pm = 0;
    char dir[256] = "";
    if (sscanf(msg, "%ld %255s", &pm, dir) != 2 || pm <= 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        fail_msg("child could not start a server: %s", msg);
    }
    assert_true(alive((pid_t)pm));
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    double t0 = now_s();
    while (alive((pid_t)pm) && now_s() - t0 < 10) usleep(10000);
    assert_false(alive((pid_t)pm));
    assert_true(path_exists(dir)); /* left behind ... */
    pgserver_clean_stale();
    assert_false(path_exists(dir)); /* ... and cleaned up by the next harness */
}

/* Last: the stop leaves no socket, no postmaster, no directory. */
static void test_stop(void **state) {
    pgserver *s = *state;
    char sock[256], dir[256], data[256];
    snprintf(sock, sizeof sock, "%s", pgserver_socket_path(s));
    snprintf(dir, sizeof dir, "%s", pgserver_socket_dir(s));
    snprintf(data, sizeof data, "%s", pgserver_datadir(s));
    pid_t pm = pgserver_pid(s);
    assert_true(path_exists(sock));
    assert_true(alive(pm));
    PGconn *open_session = pgserver_connect(s, NULL); /* a fast shutdown ends open sessions too */
    if (!open_session) fail_msg("%s", pgserver_error());

    double t0 = now_s();
    int rc = pgserver_stop(s);
    *state = NULL;
    if (rc != 0) fail_msg("stop: %s", pgserver_error());
    fprintf(stderr, "pgserver: stopped in %.2f s\n", now_s() - t0);
    assert_false(path_exists(sock));
    assert_false(path_exists(data));
    assert_false(path_exists(dir));
    assert_int_equal(kill(pm, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(PQstatus(open_session), CONNECTION_OK); /* libpq finds out on next use */
    assert_int_equal(pgserver_exec_conn(open_session, "SELECT 1"), -1);
    PQfinish(open_session);
    assert_int_equal(pgserver_stop(NULL), 0);
}

static int setup(void **state) {
    double t0 = now_s();
    int rc = pgserver_group_setup(state);
    if (rc == 0) {
        pgserver *s = *state;
        fprintf(stderr, "pgserver: PostgreSQL in %s (user %s, postmaster %ld) ready in %.2f s\n",
                pgserver_socket_dir(s), pgserver_user(s), (long)pgserver_pid(s), now_s() - t0);
    }
    return rc;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_databases),      cmocka_unit_test(test_copy_round_trip),
        cmocka_unit_test(test_psql_file),      cmocka_unit_test(test_killed_harness),
        cmocka_unit_test(test_stop),
    };
    return cmocka_run_group_tests(tests, setup, pgserver_group_teardown);
}
