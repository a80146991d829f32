/* Talking to PostgreSQL (see pg_int.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pg_int.h"

/* The first line of a libpq message (they end with a newline, some span several lines). */
static void first_line(const char *msg, char *out, size_t len) {
    snprintf(out, len, "%s", msg ? msg : "");
    out[strcspn(out, "\n")] = 0;
}

static bool auth_failure(const char *msg) {
    return strstr(msg, "password") || strstr(msg, "authentication") || strstr(msg, "role \"");
}

static void on_notice(void *arg, const PGresult *res) {
    const b2p_pg_notice *n = arg;
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (n->fn && msg) n->fn(n->ctx, msg);
}

static void pause_seconds(unsigned s) {
    struct timespec ts = {.tv_sec = (time_t)s};
    while (nanosleep(&ts, &ts) != 0) {}
}

b2p_status b2p_pg_connect(const char *conninfo, unsigned retries, const b2p_pg_notice *notice, PGconn **out,
                          b2p_error *err) {
    *out = NULL;
    for (unsigned attempt = 0, wait = 1;; attempt++, wait *= 2) {
        /* the conninfo is expanded as PQconnectdb would; the application name (unless it sets
         * one) lets an administrator see bak2pg in pg_stat_activity */
        const char *const keys[] = {"dbname", "fallback_application_name", NULL};
        const char *const values[] = {conninfo, "bak2pg", NULL};
        PGconn *conn = PQconnectdbParams(keys, values, 1);
        if (PQstatus(conn) == CONNECTION_OK) {
            if (notice) PQsetNoticeReceiver(conn, on_notice, (void *)notice);
            *out = conn;
            return b2p_pg_exec(conn, "SET client_encoding = 'UTF8'", "the client encoding", err);
        }
        char line[512];
        first_line(PQerrorMessage(conn), line, sizeof line);
        bool auth = auth_failure(line);
        PQfinish(conn);
        if (auth) return b2p_fail(err, B2P_ERR_PG_AUTH, "cannot connect to PostgreSQL: %s", line);
        if (attempt >= retries)
            return b2p_fail(err, B2P_ERR_PG_CONNECT, "cannot connect to PostgreSQL%s: %s",
                            retries ? " (retried with backoff)" : "", line);
        fprintf(stderr, "bak2pg: cannot connect to PostgreSQL (%s); retrying in %u s (%u of %u)\n", line, wait,
                attempt + 1, retries);
        pause_seconds(wait);
    }
}

bool b2p_pg_lost(PGconn *conn) {
    return PQstatus(conn) == CONNECTION_BAD;
}

b2p_status b2p_pg_fail(PGconn *conn, const PGresult *r, const char *what, b2p_error *err) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char line[600];
    first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn), line, sizeof line);
    /* the session ended by the server (57P: admin shutdown, crash) or the network (08): the
     * connection may still look open until the next call */
    bool gone = b2p_pg_lost(conn) || (state && (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3)));
    if (gone) return b2p_fail(err, B2P_ERR_PG_CONNECT, "lost the connection to PostgreSQL during %s: %s", what, line);
    return b2p_fail(err, state && !strcmp(state, "25006") ? B2P_ERR_PG_READONLY : B2P_ERR_PG_SQL,
                    "PostgreSQL refused %s: %s", what, line);
}

b2p_status b2p_pg_exec(PGconn *conn, const char *sql, const char *what, b2p_error *err) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(r);
    b2p_status st = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? B2P_OK : b2p_pg_fail(conn, r, what, err);
    PQclear(r);
    return st;
}

b2p_status b2p_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params, const char *what,
                        PGresult **out, b2p_error *err) {
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        *out = r;
        return B2P_OK;
    }
    b2p_status st = b2p_pg_fail(conn, r, what, err);
    PQclear(r);
    *out = NULL;
    return st;
}

bool b2p_pg_copy_write(void *ctx, const char *data, size_t len) {
    b2p_pg_copy *c = ctx;
    while (len > 0 && !c->failed) { /* PQputCopyData takes an int length */
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        c->failed = PQputCopyData(c->conn, data, n) != 1;
        data += n;
        len -= (size_t)n;
    }
    return !c->failed;
}

b2p_status b2p_pg_copy_begin(PGconn *conn, const char *sql, const char *what, b2p_error *err) {
    PGresult *r = PQexec(conn, sql);
    b2p_status st = PQresultStatus(r) == PGRES_COPY_IN ? B2P_OK : b2p_pg_fail(conn, r, what, err);
    PQclear(r);
    return st;
}

b2p_status b2p_pg_copy_end(PGconn *conn, const char *abort_reason, const char *what, b2p_error *err) {
    b2p_status st = B2P_OK;
    if (PQputCopyEnd(conn, abort_reason) != 1) st = b2p_pg_fail(conn, NULL, what, err);
    PGresult *r;
    while ((r = PQgetResult(conn))) {
        if (!st && !abort_reason && PQresultStatus(r) != PGRES_COMMAND_OK) st = b2p_pg_fail(conn, r, what, err);
        PQclear(r);
    }
    return st;
}
