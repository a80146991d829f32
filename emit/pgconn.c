/* Connecting to PostgreSQL and classifying its failures (see pg_int.h). */
#include <stdio.h>
#include <string.h>

#include "pg_int.h"

b2p_status b2p_pg_connect_failure(PGconn *conn, b2p_error *err) {
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    char line[512];
    snprintf(line, sizeof line, "%s", msg);
    line[strcspn(line, "\n")] = 0;
    b2p_status st = strstr(msg, "password") || strstr(msg, "authentication") ? B2P_ERR_PG_AUTH : B2P_ERR_PG_CONNECT;
    return b2p_fail(err, st, "cannot connect to PostgreSQL: %s", line);
}

b2p_status b2p_pg_connect(const char *conninfo, PGconn **out, b2p_error *err) {
    PGconn *conn = PQconnectdb(conninfo);
    *out = NULL;
    if (PQstatus(conn) != CONNECTION_OK) {
        b2p_status st = b2p_pg_connect_failure(conn, err);
        PQfinish(conn);
        return st;
    }
    *out = conn;
    return B2P_OK;
}

b2p_status b2p_pg_fail(PGconn *conn, const PGresult *r, const char *what, b2p_error *err) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char msg[600];
    snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    msg[strcspn(msg, "\n")] = 0;
    b2p_status st = state && !strcmp(state, "25006") ? B2P_ERR_PG_READONLY
                    : PQstatus(conn) == CONNECTION_BAD ? B2P_ERR_PG_CONNECT
                                                       : B2P_ERR_PG_SQL;
    return b2p_fail(err, st, "PostgreSQL refused %s: %s", what, msg);
}

b2p_status b2p_pg_exec(PGconn *conn, const char *sql, const char *what, b2p_error *err) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(r);
    b2p_status st = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? B2P_OK : b2p_pg_fail(conn, r, what, err);
    PQclear(r);
    return st;
}
