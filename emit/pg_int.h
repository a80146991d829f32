/* emit/ internal: what the libpq users of this layer (load, verify) share, so that a connection
 * or a statement failing gives the same status and message whichever command met it. */
#ifndef B2P_EMIT_PG_INT_H
#define B2P_EMIT_PG_INT_H

#include <libpq-fe.h>

#include "emit.h"

/* Connects to conninfo (PG* variables and ~/.pgpass apply). On failure *out is NULL and the
 * status tells refused credentials (B2P_ERR_PG_AUTH) from a server that cannot be reached
 * (B2P_ERR_PG_CONNECT), with libpq's first line in err. */
b2p_status b2p_pg_connect(const char *conninfo, PGconn **out, b2p_error *err);

/* Classifies the failed connection conn (see b2p_pg_connect). */
b2p_status b2p_pg_connect_failure(PGconn *conn, b2p_error *err);

/* The status of failed result r of a statement on conn, with "PostgreSQL refused <what>: <the
 * server's first line>" in err: B2P_ERR_PG_READONLY for a read-only target (SQLSTATE 25006),
 * B2P_ERR_PG_CONNECT when the connection is gone, else B2P_ERR_PG_SQL. */
b2p_status b2p_pg_fail(PGconn *conn, const PGresult *r, const char *what, b2p_error *err);

/* Runs sql (one or more statements, no COPY); a failure is classified by b2p_pg_fail. */
b2p_status b2p_pg_exec(PGconn *conn, const char *sql, const char *what, b2p_error *err);

#endif
