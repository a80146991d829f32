/* The remigration ledger: schema bak2pg in the target (see emit.h "Load" and README.md).
 *
 * Why in the target: the ledger must commit in the same transaction as the rows it describes, so
 * that a killed run leaves a ledger that tells the truth: a table whose rows committed has its
 * content hash recorded, a table whose transaction died has not, and the next run redoes exactly
 * that one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_int.h"

static const char LEDGER_DDL[] =
    "CREATE SCHEMA IF NOT EXISTS bak2pg;\n"
    "CREATE TABLE IF NOT EXISTS bak2pg.runs (\n"
    "    run_id bigserial PRIMARY KEY,\n"
    "    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    finished_at timestamptz,\n"
    "    database_name text NOT NULL,\n"
    "    backup_set_guid text NOT NULL,\n"
    "    backup_type text NOT NULL,\n"
    "    first_lsn text NOT NULL,\n"
    "    last_lsn text NOT NULL,\n"
    "    source text NOT NULL,\n"
    "    mode text NOT NULL,\n"
    "    options text NOT NULL,\n"
    "    outcome text NOT NULL DEFAULT 'running',\n"
    "    message text,\n"
    "    tables_done integer, tables_unchanged integer, tables_failed integer,\n"
    "    rows_inserted bigint, rows_updated bigint, rows_deleted bigint, rows_disappeared bigint);\n"
    "COMMENT ON TABLE bak2pg.runs IS 'bak2pg load: one row per run (outcome running, ok, partial: completed with failed tables, failed or interrupted)';\n"
    "CREATE TABLE IF NOT EXISTS bak2pg.tables (\n"
    "    target_schema text NOT NULL,\n"
    "    target_table text NOT NULL,\n"
    "    source_schema text NOT NULL,\n"
    "    source_table text NOT NULL,\n"
    "    columns text NOT NULL,\n"
    "    match_key text NOT NULL,\n"
    "    source text NOT NULL,\n"
    "    source_rows bigint NOT NULL,\n"
    "    content_hash text NOT NULL,\n"
    "    deletes_synced boolean NOT NULL,\n"
    "    post_data_done boolean NOT NULL,\n"
    "    run_id bigint NOT NULL,\n"
    "    loaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    PRIMARY KEY (target_schema, target_table));\n"
    "COMMENT ON TABLE bak2pg.tables IS 'bak2pg load: per table, what the target holds from which backup (content_hash: order-independent, of the rows as COPY text)';\n"
    "CREATE TABLE IF NOT EXISTS bak2pg.table_runs (\n"
    "    run_id bigint NOT NULL REFERENCES bak2pg.runs,\n"
    "    target_schema text NOT NULL,\n"
    "    target_table text NOT NULL,\n"
    "    action text NOT NULL,\n"
    "    source_rows bigint, inserted bigint, updated bigint, deleted bigint, disappeared bigint,\n"
    "    message text,\n"
    "    finished_at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    /* added since: a ledger an older bak2pg made gets them here (NULL in its old rows) */
    "ALTER TABLE bak2pg.runs ADD COLUMN IF NOT EXISTS family_guid text,\n"
    "    ADD COLUMN IF NOT EXISTS database_creation_date text,\n"
    "    ADD COLUMN IF NOT EXISTS server_name text,\n"
    "    ADD COLUMN IF NOT EXISTS checkpoint_lsn text,\n"
    "    ADD COLUMN IF NOT EXISTS backup_finish_date text,\n"
    "    ADD COLUMN IF NOT EXISTS nul_policy text,\n"
    "    ADD COLUMN IF NOT EXISTS review text;\n"
    "COMMENT ON COLUMN bak2pg.runs.nul_policy IS 'the --nul policy of the run: error, strip or replace';\n"
    "ALTER TABLE bak2pg.tables ADD COLUMN IF NOT EXISTS page_fingerprint text;\n"
    "COMMENT ON COLUMN bak2pg.tables.page_fingerprint IS 'XXH64 over the ids and LSNs of the table''s pages in the backup last loaded';\n"
    "ALTER TABLE bak2pg.table_runs ADD COLUMN IF NOT EXISTS nul_values_changed bigint;\n"
    "COMMENT ON COLUMN bak2pg.table_runs.nul_values_changed IS 'values holding NUL that --nul strip or replace changed';\n"
    "CREATE TABLE IF NOT EXISTS bak2pg.lineage (\n"
    "    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),\n"
    "    family_guid text NOT NULL,\n"
    "    database_name text NOT NULL,\n"
    "    database_creation_date text NOT NULL,\n"
    "    server_name text NOT NULL,\n"
    "    backup_set_guid text NOT NULL,\n"
    "    checkpoint_lsn text NOT NULL,\n"
    "    last_lsn text NOT NULL,\n"
    "    backup_finish_date text NOT NULL,\n"
    "    run_id bigint,\n"
    "    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    "COMMENT ON TABLE bak2pg.lineage IS 'bak2pg load: the source database this target holds and the last backup loaded "
    "(a backup of another database, or an older one, is refused without --force)';\n";

/* One bak2pg load at a time per target database: the ledger's own tables and the staging
 * tables would otherwise race. A session lock, released when the connection ends. The backend of
 * a client killed mid-statement holds it until the statement ends (PostgreSQL notices the lost
 * client only then): the lock is waited for, a bounded time, naming its holder. */
static const char LOCK_SQL[] = "SELECT pg_try_advisory_lock(hashtext('bak2pg ledger'))";
/* pg_locks shows a bigint advisory key as classid (high half) and objid (low half) */
static const char HOLDER_SQL[] =
    "SELECT a.pid, coalesce(a.state, '?'), coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '?'), "
    "coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), "
    "coalesce(to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '?') "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.objid::bigint = (hashtext('bak2pg ledger')::bigint & 4294967295) "
    "AND l.classid::bigint = ((hashtext('bak2pg ledger')::bigint >> 32) & 4294967295) LIMIT 1";

static b2p_status try_lock(PGconn *conn, bool *locked, b2p_error *err) {
    PGresult *r;
    b2p_status st = b2p_pg_query(conn, LOCK_SQL, 0, NULL, "the ledger lock", &r, err);
    if (st) return st;
    *locked = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return B2P_OK;
}

/* "backend pid N (state S since T, started T0, application A, client C)", or "(a backend that
 * ended meanwhile)". */
static b2p_status describe_holder(PGconn *conn, char *out, size_t len, b2p_error *err) {
    PGresult *r;
    b2p_status st = b2p_pg_query(conn, HOLDER_SQL, 0, NULL, "pg_stat_activity", &r, err);
    if (st) return st;
    if (PQntuples(r) == 1)
        snprintf(out, len, "backend pid %s (state %s since %s UTC, started %s UTC, application '%s', client %s)",
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3),
                 PQgetvalue(r, 0, 4));
    else
        snprintf(out, len, "a backend that ended meanwhile");
    PQclear(r);
    return B2P_OK;
}

static b2p_status take_lock(PGconn *conn, unsigned wait_seconds, b2p_error *err) {
    bool locked;
    b2p_status st = try_lock(conn, &locked, err);
    if (st || locked) return st;
    char holder[700] = "", pid[16] = "";
    st = describe_holder(conn, holder, sizeof holder, err);
    if (st) return st;
    if (!strncmp(holder, "backend pid ", 12)) snprintf(pid, sizeof pid, "%.*s", (int)strcspn(holder + 12, " "), holder + 12);
    fprintf(stderr, "bak2pg: another bak2pg load holds this database's ledger lock: %s; waiting up to %u s for it (--lock-wait)\n",
            b2p_shown(holder), wait_seconds);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (waited >= (double)wait_seconds) break;
        struct timespec pause = {.tv_nsec = 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        st = try_lock(conn, &locked, err);
        if (st || locked) return st;
    }
    st = describe_holder(conn, holder, sizeof holder, err);
    if (st) return st;
    return b2p_fail(err, B2P_ERR_PG_SQL, "another bak2pg load holds this database's ledger lock: %s, still after %u s "
                    "(--lock-wait); if that load is dead, end its backend (SELECT pg_terminate_backend(%s)) and run again",
                    holder, wait_seconds, pid[0] ? pid : "pid");
}

b2p_status ledger_open(PGconn *conn, unsigned lock_wait, b2p_error *err) {
    b2p_status st = take_lock(conn, lock_wait, err);
    if (st) return st;
    st = b2p_pg_exec(conn, "BEGIN", "BEGIN", err);
    /* IF NOT EXISTS says "already exists, skipping" on every run: not news */
    if (!st) st = b2p_pg_exec(conn, "SET LOCAL client_min_messages = warning", "a setting", err);
    if (!st) st = b2p_pg_exec(conn, LEDGER_DDL, "the ledger schema bak2pg", err);
    /* runs that were running when their process died */
    if (!st) st = b2p_pg_exec(conn, "UPDATE bak2pg.runs SET outcome = 'interrupted' WHERE outcome = 'running'",
                              "the ledger", err);
    if (!st) return b2p_pg_exec(conn, "COMMIT", "COMMIT", err);
    b2p_error ignored;
    b2p_pg_exec(conn, "ROLLBACK", "ROLLBACK", &ignored);
    return st;
}

b2p_status ledger_has_history(PGconn *conn, bool *out, b2p_error *err) {
    PGresult *r;
    b2p_status st = b2p_pg_query(conn, "SELECT to_regclass('bak2pg.tables') IS NOT NULL AND EXISTS (SELECT 1 FROM bak2pg.tables)",
                                 0, NULL, "the ledger", &r, err);
    if (st) return st;
    *out = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return B2P_OK;
}

b2p_status ledger_start_run(PGconn *conn, const ledger_run *run, char run_id[24], b2p_error *err) {
    const ledger_identity *id = &run->id;
    const char *p[] = {id->database_name, id->backup_set_guid, run->backup_type, run->first_lsn, id->last_lsn,
                       run->source, run->mode, run->options, id->family_guid, id->creation_date, id->server_name,
                       id->checkpoint_lsn, id->finish_date, run->nul_policy};
    PGresult *r;
    b2p_status st = b2p_pg_query(conn,
                                 "INSERT INTO bak2pg.runs (database_name, backup_set_guid, backup_type, first_lsn, last_lsn, "
                                 "source, mode, options, family_guid, database_creation_date, server_name, checkpoint_lsn, "
                                 "backup_finish_date, nul_policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
                                 "$13, $14) RETURNING run_id",
                                 14, p, "the ledger (runs)", &r, err);
    if (st) return st;
    snprintf(run_id, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return B2P_OK;
}

b2p_status ledger_finish_run(PGconn *conn, const char *run_id, const char *outcome, const char *message,
                             const b2p_load_stats *s, b2p_error *err) {
    char n[7][24];
    snprintf(n[0], 24, "%u", s->tables);
    snprintf(n[1], 24, "%u", s->tables_unchanged);
    snprintf(n[2], 24, "%u", s->tables_failed);
    snprintf(n[3], 24, "%llu", (unsigned long long)s->inserted);
    snprintf(n[4], 24, "%llu", (unsigned long long)s->updated);
    snprintf(n[5], 24, "%llu", (unsigned long long)s->deleted);
    snprintf(n[6], 24, "%llu", (unsigned long long)s->disappeared);
    const char *p[] = {run_id, outcome, message, n[0], n[1], n[2], n[3], n[4], n[5], n[6]};
    PGresult *r;
    b2p_status st = b2p_pg_query(conn,
                                 "UPDATE bak2pg.runs SET finished_at = clock_timestamp(), outcome = $2, message = $3, "
                                 "tables_done = $4, tables_unchanged = $5, tables_failed = $6, rows_inserted = $7, "
                                 "rows_updated = $8, rows_deleted = $9, rows_disappeared = $10 WHERE run_id = $1",
                                 10, p, "the ledger (runs)", &r, err);
    PQclear(r);
    return st;
}

b2p_status ledger_add_review(PGconn *conn, const char *run_id, const char *review_sql, b2p_error *err) {
    const char *p[] = {run_id, review_sql};
    PGresult *r;
    b2p_status st = b2p_pg_query(conn, "UPDATE bak2pg.runs SET review = coalesce(review, '') || $2 WHERE run_id = $1", 2, p,
                                 "the ledger (runs.review)", &r, err);
    PQclear(r);
    return st;
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

b2p_status ledger_lookup(PGconn *conn, const char *schema, const char *table, ledger_entry *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    const char *p[] = {schema, table};
    PGresult *r;
    b2p_status st = b2p_pg_query(conn,
                                 "SELECT columns, match_key, source, source_rows, content_hash, deletes_synced, post_data_done, "
                                 "coalesce(page_fingerprint, '') "
                                 "FROM bak2pg.tables WHERE target_schema = $1 AND target_table = $2",
                                 2, p, "the ledger (tables)", &r, err);
    if (st) return st;
    if (PQntuples(r) == 1) {
        out->found = true;
        out->columns = dup_or_null(PQgetvalue(r, 0, 0));
        out->match_key = dup_or_null(PQgetvalue(r, 0, 1));
        out->source = dup_or_null(PQgetvalue(r, 0, 2));
        out->source_rows = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        out->content_hash = dup_or_null(PQgetvalue(r, 0, 4));
        out->deletes_synced = !strcmp(PQgetvalue(r, 0, 5), "t");
        out->post_data_done = !strcmp(PQgetvalue(r, 0, 6), "t");
        snprintf(out->page_fingerprint, sizeof out->page_fingerprint, "%s", PQgetvalue(r, 0, 7));
        if (!out->columns || !out->match_key || !out->source || !out->content_hash) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    PQclear(r);
    return st;
}

void ledger_entry_free(ledger_entry *e) {
    free(e->columns);
    free(e->match_key);
    free(e->source);
    free(e->content_hash);
    memset(e, 0, sizeof *e);
}

/* post_data_done is only ever set by ledger_post_data_done: a record replaced by a later load
 * keeps the value it had (a table's keys exist or not whatever its rows are). */
b2p_status ledger_record_table(PGconn *conn, const char *run_id, const ledger_record *rec, b2p_error *err) {
    char rows[24];
    snprintf(rows, sizeof rows, "%lld", (long long)rec->source_rows);
    const char *p[] = {rec->target_schema, rec->target_table, rec->source_schema, rec->source_table, rec->columns,
                       rec->match_key,     rec->source,       rows,               rec->content_hash, rec->deletes_synced ? "t" : "f",
                       rec->post_data_done ? "t" : "f", run_id, rec->page_fingerprint ? rec->page_fingerprint : ""};
    PGresult *r;
    b2p_status st = b2p_pg_query(
        conn,
        "INSERT INTO bak2pg.tables AS l (target_schema, target_table, source_schema, source_table, columns, match_key, "
        "source, source_rows, content_hash, deletes_synced, post_data_done, run_id, page_fingerprint) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (target_schema, target_table) DO UPDATE SET "
        "source_schema = EXCLUDED.source_schema, source_table = EXCLUDED.source_table, columns = EXCLUDED.columns, "
        "match_key = EXCLUDED.match_key, source = EXCLUDED.source, source_rows = EXCLUDED.source_rows, "
        "content_hash = EXCLUDED.content_hash, deletes_synced = EXCLUDED.deletes_synced, run_id = EXCLUDED.run_id, "
        "page_fingerprint = EXCLUDED.page_fingerprint, loaded_at = clock_timestamp()",
        13, p, "the ledger (tables)", &r, err);
    PQclear(r);
    return st;
}

b2p_status ledger_set(PGconn *conn, const char *schema, const char *table, ledger_flag flag, b2p_error *err) {
    const char *p[] = {schema, table};
    const char *sql = flag == LEDGER_DELETES_SYNCED
                          ? "UPDATE bak2pg.tables SET deletes_synced = true WHERE target_schema = $1 AND target_table = $2"
                          : "UPDATE bak2pg.tables SET post_data_done = true WHERE target_schema = $1 AND target_table = $2";
    PGresult *r;
    b2p_status st = b2p_pg_query(conn, sql, 2, p, "the ledger (tables)", &r, err);
    PQclear(r);
    return st;
}

b2p_status ledger_table_run(PGconn *conn, const char *run_id, const char *schema, const char *table,
                            const b2p_load_result *res, b2p_error *err) {
    char n[6][24];
    snprintf(n[0], 24, "%llu", (unsigned long long)res->source_rows);
    snprintf(n[1], 24, "%llu", (unsigned long long)res->inserted);
    snprintf(n[2], 24, "%llu", (unsigned long long)res->updated);
    snprintf(n[3], 24, "%llu", (unsigned long long)res->deleted);
    snprintf(n[4], 24, "%llu", (unsigned long long)res->disappeared);
    snprintf(n[5], 24, "%llu", (unsigned long long)res->export.nul_values);
    const char *p[] = {run_id, schema, table, b2p_load_action_name(res->action), n[0], n[1], n[2], n[3], n[4],
                       res->message[0] ? res->message : NULL, n[5]};
    PGresult *r;
    b2p_status st = b2p_pg_query(conn,
                                 "INSERT INTO bak2pg.table_runs (run_id, target_schema, target_table, action, source_rows, "
                                 "inserted, updated, deleted, disappeared, message, nul_values_changed) "
                                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                                 11, p, "the ledger (table_runs)", &r, err);
    PQclear(r);
    return st;
}

b2p_status ledger_lineage_get(PGconn *conn, ledger_lineage *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    PGresult *r;
    b2p_status st = b2p_pg_query(conn,
                                 "SELECT family_guid, database_name, database_creation_date, server_name, backup_set_guid, "
                                 "checkpoint_lsn, last_lsn, backup_finish_date FROM bak2pg.lineage",
                                 0, NULL, "the ledger (lineage)", &r, err);
    if (st) return st;
    if (PQntuples(r) == 1) {
        out->found = true;
        char *fields[] = {out->family_guid, out->database_name, out->creation_date, out->server_name,
                          out->backup_set_guid, out->checkpoint_lsn, out->last_lsn, out->finish_date};
        for (int i = 0; i < 8; i++) snprintf(fields[i], LEDGER_FIELD, "%s", PQgetvalue(r, 0, i));
    }
    PQclear(r);
    return B2P_OK;
}

b2p_status ledger_lineage_set(PGconn *conn, const ledger_identity *id, const char *run_id, b2p_error *err) {
    const char *p[] = {id->family_guid, id->database_name, id->creation_date, id->server_name, id->backup_set_guid,
                       id->checkpoint_lsn, id->last_lsn, id->finish_date, run_id};
    PGresult *r;
    b2p_status st = b2p_pg_query(
        conn,
        "INSERT INTO bak2pg.lineage (family_guid, database_name, database_creation_date, server_name, backup_set_guid, "
        "checkpoint_lsn, last_lsn, backup_finish_date, run_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (singleton) DO UPDATE SET family_guid = EXCLUDED.family_guid, database_name = EXCLUDED.database_name, "
        "database_creation_date = EXCLUDED.database_creation_date, server_name = EXCLUDED.server_name, "
        "backup_set_guid = EXCLUDED.backup_set_guid, checkpoint_lsn = EXCLUDED.checkpoint_lsn, last_lsn = EXCLUDED.last_lsn, "
        "backup_finish_date = EXCLUDED.backup_finish_date, run_id = EXCLUDED.run_id, recorded_at = clock_timestamp()",
        9, p, "the ledger (lineage)", &r, err);
    PQclear(r);
    return st;
}
