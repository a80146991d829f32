/* emit/ private: talking to PostgreSQL through libpq, shared by the loader, its ledger and verify.
 * Every failure becomes a one-line b2p_error with a distinct status: unreachable server,
 * refused credentials, read-only target, refused statement. */
#ifndef B2P_PG_INT_H
#define B2P_PG_INT_H

#include <libpq-fe.h>

#include "emit.h"

/* Where the server's notices go; the caller keeps it alive as long as the connection. */
typedef struct b2p_pg_notice {
    void (*fn)(void *ctx, const char *message);
    void *ctx;
} b2p_pg_notice;

/* Connects (libpq connection string or URI; PG* variables and .pgpass apply), retrying an
 * unreachable server `retries` times with a doubling pause from 1 s. What waiting does not heal
 * fails at once, with a hint: a conninfo libpq cannot parse (B2P_ERR_USAGE, checked before any
 * connection), a missing database (B2P_ERR_NOT_FOUND: createdb, --create), refused credentials
 * (B2P_ERR_PG_AUTH). Sets UTF-8 as the client encoding. notice may be NULL. */
b2p_status b2p_pg_connect(const char *conninfo, unsigned retries, const b2p_pg_notice *notice, PGconn **out,
                          b2p_error *err);
/* --create: creates the database conninfo names when it does not exist, from the maintenance
 * database postgres reached with the same conninfo (as pg_restore -C); the name through
 * b2p_quote_ident. An existing database is left as it is. */
b2p_status b2p_pg_create_database(const char *conninfo, unsigned retries, b2p_error *err);
/* Whether the connection is gone (the server went away, or the network did). */
bool b2p_pg_lost(PGconn *conn);

/* The status of failed result r (NULL: the connection's own error) of a statement on conn, with
 * "PostgreSQL refused <what>: <the server's first line>" in err: B2P_ERR_PG_READONLY for a
 * read-only target (SQLSTATE 25006), B2P_ERR_PG_CONNECT when the session is gone, else
 * B2P_ERR_PG_SQL. */
b2p_status b2p_pg_fail(PGconn *conn, const PGresult *r, const char *what, b2p_error *err);

/* Runs sql (one or more statements, no rows wanted). what names it in the message. */
b2p_status b2p_pg_exec(PGconn *conn, const char *sql, const char *what, b2p_error *err);
/* Runs sql with text parameters $1..$n; *out receives the result (PQclear it) on success. */
b2p_status b2p_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params, const char *what,
                        PGresult **out, b2p_error *err);

/* COPY FROM STDIN fed from another thread: the decoder writes into blocks that a sender thread
 * passes to libpq, so that decoding the next rows overlaps with PostgreSQL parsing the last ones
 * (with one thread, each waits for the other whenever the socket's buffer is full). Memory:
 * B2P_PG_COPY_BLOCKS blocks of B2P_PG_COPY_BLOCK bytes. */
enum { B2P_PG_COPY_BLOCK = 1 << 20, B2P_PG_COPY_BLOCKS = 4 };

typedef struct b2p_pg_copy b2p_pg_copy;

/* Starts sql (a COPY ... FROM STDIN) and its sender thread. */
b2p_status b2p_pg_copy_begin(PGconn *conn, const char *sql, const char *what, b2p_pg_copy **out, b2p_error *err);
/* A sink (b2p_sink_fn) with a b2p_pg_copy as ctx; false once the sender failed. */
bool b2p_pg_copy_write(void *ctx, const char *data, size_t len);
/* Sends what is left, stops the sender and ends the COPY: with abort_reason set it is aborted
 * (nothing of it stays). Frees c. A failure to send is reported (with the connection's error)
 * even when aborting: it may be why the caller's writes failed. */
b2p_status b2p_pg_copy_end(b2p_pg_copy *c, const char *abort_reason, const char *what, b2p_error *err);

#endif
