/* emit/ private: the remigration ledger, schema bak2pg in the target (emit/ledger.c). */
#ifndef B2P_LEDGER_INT_H
#define B2P_LEDGER_INT_H

#include "pg_int.h"

/* Takes the one-load-at-a-time lock (waiting up to lock_wait seconds for a holder, named on
 * stderr and in the error), creates the ledger's tables where missing (adding the columns a
 * newer bak2pg uses to an older ledger) and marks runs left 'running' by a killed process as
 * 'interrupted'. */
b2p_status ledger_open(PGconn *conn, unsigned lock_wait, b2p_error *err);
/* Whether the target holds a previous bak2pg load (a ledger with tables in it). */
b2p_status ledger_has_history(PGconn *conn, bool *out, b2p_error *err);

/* Which database a backup is of, and where in its history: what bak2pg.lineage keeps of the
 * last backup loaded. LSNs as b2p_lsn_format prints them, dates as b2p_datetime_format. */
typedef struct ledger_identity {
    const char *family_guid, *database_name, *creation_date, *server_name;
    const char *backup_set_guid, *checkpoint_lsn, *last_lsn, *finish_date;
} ledger_identity;

typedef struct ledger_run {
    ledger_identity id;
    const char *backup_type, *first_lsn, *source, *mode, *options, *nul_policy;
} ledger_run;

enum { LEDGER_FIELD = 300 };

/* The row of bak2pg.lineage (found false: no backup recorded yet). */
typedef struct ledger_lineage {
    bool found;
    char family_guid[LEDGER_FIELD], database_name[LEDGER_FIELD], creation_date[LEDGER_FIELD], server_name[LEDGER_FIELD];
    char backup_set_guid[LEDGER_FIELD], checkpoint_lsn[LEDGER_FIELD], last_lsn[LEDGER_FIELD], finish_date[LEDGER_FIELD];
} ledger_lineage;

b2p_status ledger_lineage_get(PGconn *conn, ledger_lineage *out, b2p_error *err);
/* Records id as the database this target holds and the last backup loaded (by run_id). */
b2p_status ledger_lineage_set(PGconn *conn, const ledger_identity *id, const char *run_id, b2p_error *err);

b2p_status ledger_start_run(PGconn *conn, const ledger_run *run, char run_id[24], b2p_error *err);
/* Appends what the DDL of this run left out, and why (review.sql's text), to its runs row: the
 * target keeps it beside the run, as convert keeps review.sql beside its scripts. */
b2p_status ledger_add_review(PGconn *conn, const char *run_id, const char *review_sql, b2p_error *err);
b2p_status ledger_finish_run(PGconn *conn, const char *run_id, const char *outcome, const char *message,
                             const b2p_load_stats *s, b2p_error *err);

/* What the ledger says about one target table. */
typedef struct ledger_entry {
    bool found;
    char *columns;           /* "name type" lines, as last loaded */
    char *match_key;         /* how rows were matched */
    char *source;            /* the source identity last loaded (backup set and export options) */
    long long source_rows;   /* -1: created, no rows committed yet */
    char *content_hash;
    bool deletes_synced;     /* the target's rows are exactly the source's (nothing left to delete) */
    bool post_data_done;     /* keys, indexes, constraints added */
    char page_fingerprint[20]; /* of the table's pages in the backup last loaded ("" if unknown) */
} ledger_entry;

b2p_status ledger_lookup(PGconn *conn, const char *schema, const char *table, ledger_entry *out, b2p_error *err);
void ledger_entry_free(ledger_entry *e);

typedef struct ledger_record {
    const char *target_schema, *target_table, *source_schema, *source_table;
    const char *columns, *match_key, *source, *content_hash;
    const char *page_fingerprint;  /* "" for a table created with no rows yet */
    long long source_rows;
    bool deletes_synced, post_data_done;
} ledger_record;

/* Records (or replaces) a table's entry; a replaced entry keeps its post_data_done. */
b2p_status ledger_record_table(PGconn *conn, const char *run_id, const ledger_record *rec, b2p_error *err);
typedef enum ledger_flag {
    LEDGER_DELETES_SYNCED,   /* the delete pass ran: the table holds exactly the backup's rows */
    LEDGER_POST_DATA_DONE,   /* its keys, indexes and constraints are in place */
} ledger_flag;
b2p_status ledger_set(PGconn *conn, const char *schema, const char *table, ledger_flag flag, b2p_error *err);
/* One line of bak2pg.table_runs: what this run did to the table (action: its status; message:
 * why it failed or drifted; nul_values_changed: res->export.nul_values). */
b2p_status ledger_table_run(PGconn *conn, const char *run_id, const char *schema, const char *table,
                            const b2p_load_result *res, b2p_error *err);

#endif
