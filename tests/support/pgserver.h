/* Test support: a real, throwaway PostgreSQL 15 server for one test program.
 *
 * pgserver_start() runs initdb into a fresh directory (/tmp/b2p-pgtest-<pid>-XXXXXX, or under
 * $TMPDIR when not root and the path is short enough for a Unix socket), then starts `postgres`
 * on a Unix socket in that directory only (no TCP), with fsync, full_page_writes and
 * synchronous_commit off, wal_level=minimal, TimeZone=UTC, lc_messages=C, trust auth, UTF8 and
 * the C locale. It returns once the server accepts connections (about 1 s). One server per test
 * program, many databases inside it (pgserver_create_db).
 *
 * PostgreSQL 15 binaries: $B2P_PG_BINDIR, else /usr/lib/postgresql/15/bin, else the directory
 * of `initdb` on PATH. The cluster must be version 15 (PG_VERSION is checked).
 *
 * Run as root: PostgreSQL refuses to run as root, so initdb and postgres run as the system user
 * `b2ptest` (created with useradd if missing; `nobody` if it cannot be created): the harness
 * forks, drops to that user (setgroups/setgid/setuid, no runuser/su needed) and execs. The
 * directory belongs to that user (mode 0700); root clients reach the socket anyway, and the
 * conninfo names the database superuser (user=b2ptest). Not root: everything runs as the
 * current user, who is the superuser.
 *
 * Cleanup guarantees:
 *  - pgserver_stop() (fast shutdown: SIGINT, then SIGQUIT, then SIGKILL to the process group,
 *    each after a bounded wait) and removal of the directory; safe to call on NULL.
 *  - Servers not stopped are stopped by an atexit handler (a failing cmocka test returns to
 *    main, so this covers fail_msg/assert failures and exit()).
 *  - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT (when not handled by the program) and the
 *    sanitizers' death callback send SIGQUIT (immediate shutdown) to the postmaster before the
 *    process dies; the directory is left for the stale cleanup below.
 *  - SIGKILL of the test process: the postmaster runs with PR_SET_PDEATHSIG = SIGQUIT, so the
 *    kernel tells it to shut down at once when the test process dies, and it does.
 *  - Stale cleanup: every pgserver_start() first looks for b2p-pgtest-<pid>-* directories
 *    whose harness process <pid> is gone (or that are older than 6 hours): it kills a postmaster
 *    still running there (checked through /proc to be a postgres on that directory) and
 *    removes the directory.
 *  - postgres runs in its own process group: a terminal's Ctrl-C reaches the harness only,
 *    which then stops the server itself.
 * Only the process that started a server stops it (a forked child that calls exit() does not).
 * Start servers from the main thread: the parent-death signal fires when the thread that forked
 * the postmaster ends.
 *
 * Errors: functions that can fail return NULL or non-zero and leave a message, with the
 * server's own words (and for start-up, the tail of the server log), in pgserver_error(). */
#ifndef B2P_TEST_PGSERVER_H
#define B2P_TEST_PGSERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

typedef struct pgserver pgserver;

/* A test program's group setup: a fresh temporary directory $TMPDIR/<prefix>-XXXXXX into tmpdir
 * and a started server; 0, or -1 with the reason on stderr. */
int pgserver_test_setup(const char *prefix, char *tmpdir, size_t len, pgserver **server);
/* Its teardown: stops the server, removes the directory; 0, or -1. */
int pgserver_test_teardown(pgserver *server, const char *tmpdir);

/* Starts a server; NULL on failure (see pgserver_error()). */
pgserver *pgserver_start(void);
/* Stops the server (fast shutdown), waits for the postmaster to exit, removes its directory and
 * frees s. Returns 0 if the server shut down cleanly and the directory is gone. Idempotent: a
 * NULL or already stopped server is a no-op returning 0 (so a test may stop the server that
 * the cmocka group teardown stops again). */
int pgserver_stop(pgserver *s);

/* The stale cleanup that pgserver_start() runs first (see above). */
void pgserver_clean_stale(void);

/* The message of the last failure (never NULL; "" if none). */
const char *pgserver_error(void);

/* "host=<dir> port=<p> dbname=postgres user=<u>" for the postgres database. */
const char *pgserver_conninfo(const pgserver *s);
/* The same for database dbname (a plain identifier), written to buf; returns buf. */
const char *pgserver_conninfo_db(const pgserver *s, const char *dbname, char *buf, size_t len);
const char *pgserver_socket_dir(const pgserver *s); /* = the server's temporary directory */
const char *pgserver_socket_path(const pgserver *s); /* <dir>/.s.PGSQL.<port> */
const char *pgserver_datadir(const pgserver *s);
const char *pgserver_logfile(const pgserver *s);
const char *pgserver_bindir(const pgserver *s);
const char *pgserver_user(const pgserver *s); /* the database superuser */
int pgserver_port(const pgserver *s);
pid_t pgserver_pid(const pgserver *s); /* the postmaster */

/* Drops database name if it exists (terminating its sessions) and creates it afresh from
 * template0, UTF8, C collation. 0 on success. Costs about 0.2 s (copying template0): prefer a
 * few databases per program, and schemas or fresh tables inside them. */
int pgserver_create_db(pgserver *s, const char *name);
/* A connection to dbname (NULL: postgres), or NULL with the server's message. PQfinish it.
 * NOTICE messages are dropped; warnings go to stderr. */
PGconn *pgserver_connect(const pgserver *s, const char *dbname);
/* Runs sql (one or more statements) in dbname (NULL: postgres) on a connection of its own;
 * 0 on success, else -1 with the server's message in pgserver_error(). */
int pgserver_exec(const pgserver *s, const char *dbname, const char *sql);
/* The one integer sql answers (SELECT count(*) ...) in database dbname; -1 on any error. */
long pgserver_query_long(const pgserver *s, const char *dbname, const char *sql);
/* The same on an open connection. */
int pgserver_exec_conn(PGconn *conn, const char *sql);
/* Runs "COPY ... FROM STDIN" (copy_sql) on conn and streams len bytes of data in, in chunks.
 * 0 on success, else -1 with the server's message. */
int pgserver_copy_in(PGconn *conn, const char *copy_sql, const void *data, size_t len);
/* Runs "COPY ... TO STDOUT" (copy_sql) on conn; returns every byte it sent (NUL-terminated,
 * *len without the NUL; caller frees), or NULL with the server's message. */
char *pgserver_copy_out(PGconn *conn, const char *copy_sql, size_t *len);
/* Runs psql -X -q -v ON_ERROR_STOP=1 -f file against dbname (NULL: postgres). Returns psql's
 * exit status (128+signal if killed, -1 if it could not be run); *output (if output is not
 * NULL) gets its stdout and stderr together, NUL-terminated, for the caller to free. */
int pgserver_psql_file(const pgserver *s, const char *dbname, const char *file, char **output);

/* The program's shared server, started on first use (NULL with pgserver_error() if it cannot
 * be), stopped at exit or by pgserver_stop(). */
pgserver *pgserver_get(void);

/* cmocka group setup/teardown: *state = a started server (setup fails with the message). */
int pgserver_group_setup(void **state);
int pgserver_group_teardown(void **state);

#endif
