/* Talking to PostgreSQL (see pg_int.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_int.h"

/* The first line of a libpq message (they end with a newline, some span several lines). */
static void first_line(const char *msg, char *out, size_t len) {
    snprintf(out, len, "%s", msg ? msg : "");
    out[strcspn(out, "\n")] = 0;
}

/* Why a connection attempt failed, from libpq's message (a failed connection has no SQLSTATE to
 * read: the server's words, English under lc_messages C or en, are what there is). A refused
 * login (28P01, 28000) and a missing database (3D000) do not heal by waiting. */
static bool auth_failure(const char *msg) {
    return strstr(msg, "password") || strstr(msg, "authentication") || strstr(msg, "role \"") ||
           strstr(msg, "no pg_hba.conf entry");
}

static bool missing_database(const char *msg) {
    return strstr(msg, "database \"") && strstr(msg, "\" does not exist");
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

/* A conninfo that is a key=value list or a URI is checked before any connection: a misspelt
 * keyword is a mistake to say at once, not a server to wait for. A plain word is a database
 * name (libpq reads it so). libpq's message is kept up to its first quote or colon: what it
 * quotes may be a piece of the conninfo, and that may hold a password. */
static b2p_status check_conninfo(const char *conninfo, b2p_error *err) {
    bool structured = strchr(conninfo, '=') || !strncmp(conninfo, "postgresql://", 13) || !strncmp(conninfo, "postgres://", 11);
    if (!structured) return B2P_OK;
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (opts) {
        PQconninfoFree(opts);
        return B2P_OK;
    }
    char line[512];
    first_line(why ? why : "out of memory", line, sizeof line);
    PQfreemem(why);
    bool keyword = !strncmp(line, "invalid connection option \"", 27);
    if (!keyword) line[strcspn(line, "\":")] = 0;
    return b2p_fail(err, B2P_ERR_USAGE, "--dsn is not a valid libpq connection string or URI (%s): see "
                    "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING", line);
}

/* name as one shell word for a hint the user may paste: as it is when it is plain, else in
 * single quotes (a quote in it as '\'') */
static void shell_word(const char *name, char *out, size_t len) {
    bool plain = *name && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(name) &&
                 name[0] != '-';
    size_t o = 0;
    if (!plain && o + 1 < len) out[o++] = '\'';
    for (const char *p = name; *p && o + 5 < len; p++) {
        if (*p == '\'' && !plain) {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *p;
        }
    }
    if (!plain && o + 1 < len) out[o++] = '\'';
    out[o] = 0;
}

/* conninfo as PQconnectdb reads it, the database name replaced by dbname when set (a later
 * "dbname" overrides the expanded one); the application name (unless it sets one) lets an
 * administrator see bak2pg in pg_stat_activity. */
static PGconn *open_conn(const char *conninfo, const char *dbname) {
    const char *const keys[] = {"dbname", "fallback_application_name", dbname ? "dbname" : NULL, NULL};
    const char *const values[] = {conninfo, "bak2pg", dbname, NULL};
    return PQconnectdbParams(keys, values, 1);
}

b2p_status b2p_pg_connect(const char *conninfo, unsigned retries, const b2p_pg_notice *notice, PGconn **out,
                          b2p_error *err) {
    *out = NULL;
    b2p_status st = check_conninfo(conninfo, err);
    if (st) return st;
    for (unsigned attempt = 0, wait = 1;; attempt++, wait *= 2) {
        PGconn *conn = open_conn(conninfo, NULL);
        if (PQstatus(conn) == CONNECTION_OK) {
            if (notice) PQsetNoticeReceiver(conn, on_notice, (void *)notice);
            *out = conn;
            return b2p_pg_exec(conn, "SET client_encoding = 'UTF8'", "the client encoding", err);
        }
        char line[512], db[300];
        first_line(PQerrorMessage(conn), line, sizeof line);
        shell_word(PQdb(conn) ? PQdb(conn) : "", db, sizeof db);
        PQfinish(conn);
        if (missing_database(line))
            return b2p_fail(err, B2P_ERR_NOT_FOUND, "cannot connect to PostgreSQL: %s (create it with `createdb %s`, "
                            "or run again with --create)", line, db);
        if (auth_failure(line))
            return b2p_fail(err, B2P_ERR_PG_AUTH, "cannot connect to PostgreSQL: %s (check the user and password: "
                            "--dsn, PGUSER, PGPASSWORD, ~/.pgpass)", line);
        if (attempt >= retries)
            return b2p_fail(err, B2P_ERR_PG_CONNECT, "cannot connect to PostgreSQL%s: %s",
                            retries ? " (retried with backoff)" : "", line);
        fprintf(stderr, "bak2pg: cannot connect to PostgreSQL (%s); retrying in %u s (%u of %u)\n", line, wait,
                attempt + 1, retries);
        pause_seconds(wait);
    }
}

b2p_status b2p_pg_create_database(const char *conninfo, unsigned retries, b2p_error *err) {
    b2p_status st = check_conninfo(conninfo, err);
    if (st) return st;
    /* the name libpq would connect to (the user's name when the conninfo gives none) */
    PGconn *probe = open_conn(conninfo, NULL);
    char *name = strdup(PQdb(probe) ? PQdb(probe) : "");
    bool exists = PQstatus(probe) == CONNECTION_OK;
    PQfinish(probe);
    if (!name) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    if (exists) {
        free(name);
        return B2P_OK;
    }
    b2p_buf sql = {0};
    st = b2p_buf_puts(&sql, "CREATE DATABASE ", err);
    if (!st) st = b2p_quote_ident(name, &sql, err);
    PGconn *maint = NULL;
    for (unsigned attempt = 0, wait = 1; !st; attempt++, wait *= 2) {
        maint = open_conn(conninfo, "postgres");
        if (PQstatus(maint) == CONNECTION_OK) break;
        char line[512];
        first_line(PQerrorMessage(maint), line, sizeof line);
        PQfinish(maint);
        maint = NULL;
        if (auth_failure(line) || missing_database(line) || attempt >= retries)
            st = b2p_fail(err, auth_failure(line) ? B2P_ERR_PG_AUTH : B2P_ERR_PG_CONNECT,
                          "--create: cannot connect to the maintenance database postgres: %s", line);
        else
            pause_seconds(wait);
    }
    if (!st) st = b2p_pg_exec(maint, sql.data, "CREATE DATABASE (--create)", err);
    if (!st) fprintf(stderr, "bak2pg: created database %s\n", b2p_shown(name));
    PQfinish(maint);
    b2p_buf_free(&sql);
    free(name);
    return st;
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

/* ---- COPY on a sender thread ------------------------------------------------------------- */

struct b2p_pg_copy {
    PGconn *conn;
    pthread_t sender;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    char *block[B2P_PG_COPY_BLOCKS];
    size_t used[B2P_PG_COPY_BLOCKS];
    size_t fill;             /* the block the writer fills */
    size_t queued;           /* full blocks waiting for the sender, from send_next on */
    size_t send_next;
    bool closing, failed;
};

/* Hands every byte of data to libpq (PQputCopyData takes an int length). */
static bool put_all(PGconn *conn, const char *data, size_t len) {
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        if (PQputCopyData(conn, data, n) != 1) return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static void *send_blocks(void *arg) {
    b2p_pg_copy *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->queued && !c->closing) pthread_cond_wait(&c->changed, &c->mu);
        if (!c->queued) break;
        size_t b = c->send_next;
        pthread_mutex_unlock(&c->mu);
        bool ok = c->failed || put_all(c->conn, c->block[b], c->used[b]);
        pthread_mutex_lock(&c->mu);
        c->failed |= !ok;
        c->used[b] = 0;
        c->send_next = (b + 1) % B2P_PG_COPY_BLOCKS;
        c->queued--;
        pthread_cond_broadcast(&c->changed);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void copy_free(b2p_pg_copy *c) {
    for (size_t i = 0; i < B2P_PG_COPY_BLOCKS; i++) free(c->block[i]);
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Queues the block being filled and waits for an empty one. Called locked. */
static void pass_block(b2p_pg_copy *c) {
    c->queued++;
    c->fill = (c->fill + 1) % B2P_PG_COPY_BLOCKS;
    pthread_cond_broadcast(&c->changed);
    while (c->queued == B2P_PG_COPY_BLOCKS && !c->failed) pthread_cond_wait(&c->changed, &c->mu);
}

bool b2p_pg_copy_write(void *ctx, const char *data, size_t len) {
    b2p_pg_copy *c = ctx;
    while (len > 0) {
        size_t b = c->fill, room = B2P_PG_COPY_BLOCK - c->used[b], n = len < room ? len : room;
        memcpy(c->block[b] + c->used[b], data, n);
        c->used[b] += n;
        data += n;
        len -= n;
        if (c->used[b] == B2P_PG_COPY_BLOCK) {
            pthread_mutex_lock(&c->mu);
            pass_block(c);
            bool failed = c->failed;
            pthread_mutex_unlock(&c->mu);
            if (failed) return false;
        }
    }
    return true;
}

b2p_status b2p_pg_copy_begin(PGconn *conn, const char *sql, const char *what, b2p_pg_copy **out, b2p_error *err) {
    *out = NULL;
    b2p_pg_copy *c = calloc(1, sizeof *c);
    if (!c) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    c->conn = conn;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->changed, NULL);
    for (size_t i = 0; i < B2P_PG_COPY_BLOCKS; i++)
        if (!(c->block[i] = malloc(B2P_PG_COPY_BLOCK))) {
            copy_free(c);
            return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
        }
    PGresult *r = PQexec(conn, sql);
    b2p_status st = PQresultStatus(r) == PGRES_COPY_IN ? B2P_OK : b2p_pg_fail(conn, r, what, err);
    PQclear(r);
    if (!st && pthread_create(&c->sender, NULL, send_blocks, c) != 0) {
        PQputCopyEnd(conn, "bak2pg: no thread to send the rows");
        while ((r = PQgetResult(conn))) PQclear(r);
        st = b2p_fail(err, B2P_ERR_NOMEM, "cannot start a thread to send the rows of %s", what);
    }
    if (st) {
        copy_free(c);
        return st;
    }
    *out = c;
    return B2P_OK;
}

b2p_status b2p_pg_copy_end(b2p_pg_copy *c, const char *abort_reason, const char *what, b2p_error *err) {
    PGconn *conn = c->conn;
    pthread_mutex_lock(&c->mu);
    if (c->used[c->fill] && !abort_reason) pass_block(c);
    c->closing = true;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->sender, NULL);
    bool failed = c->failed;
    copy_free(c);
    b2p_status st = B2P_OK;
    if (failed) st = b2p_pg_fail(conn, NULL, what, err); /* the cause, even when the caller aborts */
    if (PQputCopyEnd(conn, abort_reason ? abort_reason : failed ? "bak2pg: sending failed" : NULL) != 1 && !st)
        st = b2p_pg_fail(conn, NULL, what, err);
    PGresult *r;
    while ((r = PQgetResult(conn))) {
        if (!st && !abort_reason && PQresultStatus(r) != PGRES_COMMAND_OK) st = b2p_pg_fail(conn, r, what, err);
        PQclear(r);
    }
    return st;
}
