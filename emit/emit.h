/* emit/: PostgreSQL.
 *
 * What this layer offers (so far):
 *   - b2p_export_table(): every row of one table, decoded value by value and written as
 *     PostgreSQL COPY text (or CSV, or JSON lines) to a sink. `dump` prints it; `convert` and
 *     `load` (issues 5 and 6) write the very same bytes to files and to COPY FROM STDIN.
 *   - b2p_export_columns(): which columns an export writes, in order: the table's stored
 *     columns (computed columns are left out, as PostgreSQL's COPY TO leaves out generated ones).
 *   - b2p_load() (straight into PostgreSQL) and b2p_verify() (the backup against the target).
 * The type mapping and the rendering of each value are in README.md ("Type mapping"). */
#ifndef B2P_EMIT_H
#define B2P_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "mtf/mtf.h"
#include "pages/pages.h"
#include "pages/value.h"

typedef enum b2p_format {
    B2P_FORMAT_COPY,    /* PostgreSQL COPY text: tab-separated, \N for NULL, backslash escapes */
    B2P_FORMAT_CSV,     /* RFC 4180, header line, empty unquoted field for NULL */
    B2P_FORMAT_JSONL,   /* one JSON object per row: numbers and booleans as JSON, the rest strings */
} b2p_format;

/* What to do with U+0000 inside text, which PostgreSQL text cannot hold. */
typedef enum b2p_nul_policy {
    B2P_NUL_ERROR,      /* stop with an error naming table, column and row (default) */
    B2P_NUL_STRIP,      /* drop the NUL characters, and report how many values had them */
    B2P_NUL_REPLACE,    /* replace each by U+FFFD, and report */
} b2p_nul_policy;

/* Receives the output, in pieces; returns false when it cannot write (the export stops). */
typedef bool (*b2p_sink_fn)(void *ctx, const char *data, size_t len);

typedef struct b2p_export_options {
    b2p_format format;
    b2p_nul_policy nul_policy;
    bool spatial_wkt;   /* geometry/geography as WKT text instead of WKB bytea */
} b2p_export_options;

typedef struct b2p_export_stats {
    uint64_t rows;               /* rows written */
    uint64_t expected_rows;      /* what the catalog's partition row counts say */
    uint64_t bytes;              /* bytes written to the sink */
    uint64_t nul_values;         /* values that held U+0000 (stripped or replaced) */
    uint64_t replaced_values;    /* values with bytes undefined in their code page (as '?') */
    uint64_t missing_pages;      /* pages the backup lacks while stripes are missing (salvage):
                                  * their rows are lost. (In a complete backup an absent page of
                                  * an allocated extent was never written, and is not counted.) */
    uint64_t ghosts, forwarding_stubs;
} b2p_export_stats;

/* Why a table cannot be exported yet (row or page compression, columnstore, ...), or NULL
 * when it can. */
const char *b2p_export_unsupported(const b2p_cat_table *t);

/* The columns an export of t writes, in order; returns how many (at most max). */
size_t b2p_export_columns(const b2p_cat_table *t, const b2p_cat_column **out, size_t max);

/* Writes every row of t. For CSV the header line comes first. Errors name the table, the
 * column and the row's page and slot. */
b2p_status b2p_export_table(b2p_pages *src, const b2p_catalog *cat, const b2p_cat_table *t,
                            const b2p_export_options *opt, b2p_sink_fn sink, void *sink_ctx,
                            b2p_export_stats *stats, b2p_error *err);

/* ---- naming ------------------------------------------------------------------------------ */

typedef struct b2p_naming_options {
    bool keep_case;                  /* keep identifiers' case (quoted) instead of folding */
    bool keep_dbo;                   /* keep schema dbo instead of mapping it to public */
    size_t nschema_maps;             /* --schema-map FROM=TO */
    const char *const *schema_map_from, *const *schema_map_to;
} b2p_naming_options;

typedef struct b2p_names b2p_names;

/* PostgreSQL names (unquoted) for every schema, table, column and index of the catalog.
 * B2P_ERR_USAGE when two objects would get the same name, naming both. */
b2p_status b2p_names_build(const b2p_catalog *cat, const b2p_naming_options *opt, b2p_names **out,
                           b2p_error *err);
void b2p_names_free(b2p_names *nm);
const char *b2p_names_schema(const b2p_names *nm, const b2p_cat_table *t);
const char *b2p_names_table(const b2p_names *nm, const b2p_cat_table *t);
const char *b2p_names_column(const b2p_names *nm, const b2p_cat_table *t, int32_t column_id);
/* The name of t->indexes[index_pos] (unique in its schema); NULL for the heap. */
const char *b2p_names_index(const b2p_names *nm, const b2p_cat_table *t, size_t index_pos);
/* The PostgreSQL form of any other name (a constraint's): folded unless keep_case, cut to 63 bytes. */
void b2p_names_fold(const b2p_names *nm, const char *name, char *out, size_t len);
/* The PostgreSQL schema a SQL Server schema goes to (for objects other than tables). */
const char *b2p_names_map_schema(const b2p_names *nm, const char *schema, char *out, size_t len);
/* (Identifiers are quoted by b2p_quote_ident, base/base.h.) */
/* Appends "schema"."table" for t, quoted as needed. */
b2p_status b2p_qualified(const b2p_names *nm, const b2p_cat_table *t, b2p_buf *out, b2p_error *err);
/* What a COPY of t's rows names: the qualified table (appended to table) and its exported
 * columns, in export order, quoted ("a, b", appended to columns). The one column list every COPY
 * bak2pg writes or sends uses, so that rows from any of them go where the DDL put the columns. */
b2p_status b2p_copy_target(const b2p_names *nm, const b2p_cat_table *t, b2p_buf *table, b2p_buf *columns,
                           b2p_error *err);

/* ---- DDL ----------------------------------------------------------------------------------- */

typedef enum b2p_expr_kind { B2P_EXPR_DEFAULT, B2P_EXPR_CHECK, B2P_EXPR_COMPUTED, B2P_EXPR_FILTER } b2p_expr_kind;

/* Defaults, checks, computed columns and index filters are translated from T-SQL by
 * emit/tsql.c; what does not translate goes to review.sql with the reason. */
typedef struct b2p_ddl_options {
    const bool *selected;            /* per catalog table: convert it? (NULL: all) */
    const bool *referable;           /* per catalog table: may a foreign key point at it (it exists in
                                      * the target, or this script creates it)? NULL: the selected ones */
    bool idempotent;                 /* domains and sequences that may exist already (a later load) */
    bool clean;                      /* pre-data first drops the selected tables, children first (as
                                      * pg_dump --clean; no CASCADE: a table of the target's own that
                                      * references one stops the script instead of losing its key) */
    bool if_exists;                  /* ... DROP TABLE IF EXISTS (pg_dump --if-exists) */
} b2p_ddl_options;

typedef struct b2p_ddl_stats {
    unsigned tables, keys, indexes, foreign_keys, checks;
    unsigned translated;             /* defaults, checks, computed columns, filters in the scripts */
    unsigned review_items;           /* ... and those left to review.sql, with their reasons */
} b2p_ddl_stats;

/* pre-data.sql: schemas and tables. review (may be NULL) receives what is left out, and why. */
b2p_status b2p_write_pre_data(const b2p_catalog *cat, const b2p_names *nm, const b2p_ddl_options *opt, FILE *out,
                              FILE *review, b2p_ddl_stats *stats, b2p_error *err);
/* post-data.sql: keys, indexes, foreign keys, checks, identity restarts, comments. */
b2p_status b2p_write_post_data(const b2p_catalog *cat, const b2p_names *nm, const b2p_ddl_options *opt, FILE *out,
                               FILE *review, b2p_ddl_stats *stats, b2p_error *err);
/* The identity restarts of t alone (as post-data writes them): after rows were added to a table
 * whose keys exist already. */
b2p_status b2p_write_identity_restarts(const b2p_catalog *cat, const b2p_names *nm, const b2p_cat_table *t, FILE *out,
                                       b2p_error *err);
/* The selected tables' indexes into cat->tables, referenced tables first; returns the count.
 * order must have room for cat->ntables entries. */
size_t b2p_load_order(const b2p_catalog *cat, const bool *selected, size_t *order);

/* ---- checksums ----------------------------------------------------------------------------- */

typedef struct b2p_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t block[64];
    size_t used;
} b2p_sha256;

void b2p_sha256_init(b2p_sha256 *s);
void b2p_sha256_update(b2p_sha256 *s, const void *data, size_t n);
/* Finishes the hash and writes it as 64 lower-case hex digits (the state is used up). */
void b2p_sha256_hex(b2p_sha256 *s, char out[65]);

/* ---- content hash ------------------------------------------------------------------------- */

/* An order-independent hash of a table's content: the row count and the sum (mod 2^64 per lane)
 * of each row's XXH3-128 over its COPY text line (without the newline). The same content gives
 * the same hash whichever order the rows come in, from the backup or from PostgreSQL's COPY TO;
 * the ledger of remigration and `bak2pg verify` both use it. */
typedef struct b2p_content_hash {
    uint64_t rows;
    uint64_t lo, hi;
} b2p_content_hash;

void b2p_content_hash_row(b2p_content_hash *h, const char *line, size_t len);
/* 32 lower-case hex digits (the row count is kept apart). */
void b2p_content_hash_hex(const b2p_content_hash *h, char out[33]);
bool b2p_content_hash_equal(const b2p_content_hash *a, const b2p_content_hash *b);

/* A sink (b2p_sink_fn) hashing COPY text row by row, passing the bytes on to next when next is
 * set (to hash what is being loaded). Zero-initialise, set next/next_ctx, free when done. */
typedef struct b2p_hash_sink {
    b2p_content_hash hash;
    b2p_sink_fn next;
    void *next_ctx;
    b2p_buf partial;         /* the start of a line cut across two writes */
} b2p_hash_sink;

bool b2p_hash_sink_write(void *ctx, const char *data, size_t len);
void b2p_hash_sink_free(b2p_hash_sink *s);

/* ---- data files ------------------------------------------------------------------------------ */

/* A sink (b2p_sink_fn) writing a file, optionally zstd-compressed, counting and hashing the bytes
 * as stored. */
typedef struct b2p_file_sink {
    FILE *f;
    b2p_sha256 sha;
    uint64_t bytes;          /* bytes written to the file */
    void *z;                 /* ZSTD_CCtx, when compressing */
    uint8_t *zbuf;
    size_t zcap;
    bool failed;
} b2p_file_sink;

/* Writes into f, a file just created (b2p_outdir_create); b2p_file_sink_close closes it. */
b2p_status b2p_file_sink_open(b2p_file_sink *s, FILE *f, bool zstd, int level, b2p_error *err);
bool b2p_file_sink_write(void *ctx, const char *data, size_t len);
/* Finishes the file; gives the SHA-256 of its bytes. */
b2p_status b2p_file_sink_close(b2p_file_sink *s, const char *path, char sha256_hex[65], b2p_error *err);

/* ---- load: straight into PostgreSQL ----------------------------------------------------------- */

/* What a load does with a target that holds tables already (README.md "Loading twice"). */
typedef enum b2p_load_mode {
    B2P_LOAD_AUTO,       /* create when the target holds none of the tables, else remigrate */
    B2P_LOAD_CREATE,     /* create every table; refused when one exists */
    B2P_LOAD_APPEND,     /* add the backup's rows to the tables as they are, matching nothing */
    B2P_LOAD_REMIGRATE,  /* match rows by primary key, unique key or whole row: insert, update,
                          * report (and with sync_deletes delete) what is gone; skip unchanged tables */
} b2p_load_mode;

const char *b2p_load_mode_name(b2p_load_mode m);

typedef enum b2p_load_action {
    B2P_LOAD_LOADED,     /* created by this run and filled */
    B2P_LOAD_UNCHANGED,  /* the ledger holds the same content: nothing done */
    B2P_LOAD_MERGED,     /* matched against what the target held */
    B2P_LOAD_APPENDED,   /* rows added without matching */
    B2P_LOAD_DRIFT,      /* the table's schema changed in a way a load does not apply: stopped */
    B2P_LOAD_REPLACED,   /* ... and with replace_drifted, dropped and loaded again in its new shape */
    B2P_LOAD_FAILED,     /* PostgreSQL refused its rows, or they could not be decoded: stopped */
    B2P_LOAD_SKIPPED,    /* its storage cannot be exported (b2p_export_unsupported) */
} b2p_load_action;

const char *b2p_load_action_name(b2p_load_action a);

typedef struct b2p_load_result {
    const b2p_cat_table *table;
    b2p_load_action action;
    uint64_t source_rows;                /* rows in the backup */
    uint64_t inserted, updated, deleted;
    uint64_t disappeared;                /* in the target, not in the backup (deleted with sync_deletes) */
    char match_key[256];                 /* how rows were matched: "primary key (id)", "whole row", ... */
    char message[1100];                  /* why, for drift, failed and skipped */
    bool delete_pass;                    /* the second report of a table: sync_deletes' deletes
                                          * (MERGED with the count in deleted, or FAILED) */
    b2p_export_stats export;             /* the decoding, when the rows were decoded */
} b2p_load_result;

typedef struct b2p_load_options {
    const char *conninfo;            /* libpq connection string or URI; PG* variables and .pgpass apply */
    const bool *selected;            /* per catalog table (NULL: all) */
    b2p_export_options export;
    b2p_load_mode mode;
    bool sync_deletes;               /* remigrate: delete target rows the backup no longer has */
    bool replace_drifted;            /* a drifted table is dropped (CASCADE) and loaded afresh */
    bool force;                      /* load a backup of another database, or an older one, than
                                      * the ledger's lineage records (else refused: usage) */
    bool create_database;            /* create the target database when it does not exist */
    bool merge_existing;             /* remigrate may merge into target tables the ledger does not
                                      * list (the target's own); else they stop the run (usage) */
    unsigned retries;                /* an unreachable or lost server: retries, pausing 1, 2, 4 ... s */
    unsigned lock_wait;              /* seconds to wait for another load's ledger lock */
    unsigned jobs;                   /* tables loaded at once, each on its own connection (0, 1: one) */
    const char *command_line;        /* recorded in the ledger */
    /* callbacks (may be NULL), all given ctx */
    void *ctx;
    void (*notice)(void *ctx, const char *message);               /* server notices and warnings */
    void (*review)(void *ctx, const char *review_sql);            /* what the DDL left out, and why */
    void (*table_start)(void *ctx, const b2p_cat_table *t, const char *doing);
    void (*progress)(void *ctx, const b2p_cat_table *t, uint64_t rows_so_far);  /* about once a second */
    void (*table_done)(void *ctx, const b2p_load_result *r);
} b2p_load_options;

typedef struct b2p_load_stats {
    b2p_load_mode mode;              /* the mode the run used (AUTO resolved) */
    char run_id[24];                 /* bak2pg.runs.run_id */
    unsigned tables, tables_unchanged, tables_failed, tables_skipped;
    uint64_t rows, bytes;            /* rows and COPY bytes sent */
    uint64_t inserted, updated, deleted, disappeared;
    b2p_ddl_stats ddl;
} b2p_load_stats;

/* Loads the selected tables into the target. A ledger (schema bak2pg in the target) records each
 * run and, per table, the content hash of what was loaded, in the same transaction as the rows:
 * running again skips tables whose content is unchanged and redoes a table whose transaction a
 * killed run left unfinished. Each table commits on its own (fully there or not at all); keys,
 * indexes and constraints come after the rows, once per table. A table whose schema drifted or
 * whose rows PostgreSQL refused (or could not be decoded) is stopped (B2P_LOAD_DRIFT / _FAILED),
 * not the run: with a failed table the status is B2P_ERR_PARTIAL naming them, with drift alone
 * that of the first drift. Before anything is written the run is refused (B2P_ERR_USAGE) for a
 * target table the ledger does not list (unless merge_existing) and for a backup of another
 * database or an older one than the ledger's lineage (unless force). Distinct statuses for an
 * unreachable server, a missing database (B2P_ERR_NOT_FOUND), refused credentials, a read-only
 * target and a refused statement. */
b2p_status b2p_load(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_load_options *opt,
                    b2p_load_stats *stats, b2p_error *err);

/* ---- jobs on threads --------------------------------------------------------------------------
 * A small scheduler: runs n jobs on k threads, job i starting only once every job it depends on
 * has finished, the ready jobs in the caller's order of preference. `convert -j` runs one job per
 * table with no dependencies, largest first; a loader can give each table the tables it references.
 *
 *   - Every job runs at most once, and exactly once when the run succeeds.
 *   - The first job (or worker start) that fails stops the run: no job starts after it, jobs
 *     still running finish (a long job may poll b2p_jobs_stopping to end early), and its error
 *     is the run's. Later failures are dropped.
 *   - threads == 1 runs every job on the calling thread, one after the other (with no
 *     dependencies: in the given order, as a plain loop would). Otherwise the calling thread is
 *     worker 0 and threads - 1 more are started.
 *   - A dependency cycle (or a dependency out of range) is refused before any job runs.
 *   - No job starts before every worker's worker_start has returned: one that fails stops the run
 *     before any job has run.
 * The caller's functions run on the workers: what they share (progress, counters) they guard. */
typedef struct b2p_jobs b2p_jobs; /* one run, as the job functions see it */

typedef struct b2p_jobs_spec {
    size_t njobs;
    unsigned threads;                 /* workers, >= 1 (capped at njobs) */
    const size_t *order;              /* preference among ready jobs: a permutation of 0..n-1
                                       * (NULL: 0, 1, ...) */
    const size_t *ndeps;              /* per job: how many jobs it waits for (NULL: none) */
    const size_t *const *deps;        /* per job: their indexes */
    void *ctx;
    /* Called on each worker before its first job (may be NULL): set up what the worker owns
     * (a forked page source, a connection). A failure stops the run as a failed job does. */
    b2p_status (*worker_start)(void *ctx, unsigned worker, b2p_error *err);
    /* Called on each worker whose start succeeded, after its last job (may be NULL). */
    void (*worker_stop)(void *ctx, unsigned worker);
    b2p_status (*run)(void *ctx, b2p_jobs *jobs, size_t job, unsigned worker, b2p_error *err);
} b2p_jobs_spec;

/* Runs the jobs; returns when every worker has stopped. B2P_OK when every job succeeded, else
 * the first failure's status with its err. */
b2p_status b2p_jobs_run(const b2p_jobs_spec *spec, b2p_error *err);
/* True once some job has failed: the rest of the run will be thrown away. Lock-free. */
bool b2p_jobs_stopping(const b2p_jobs *jobs);

/* ---- verify: the backup against what PostgreSQL holds ---------------------------------------- */

/* The session settings under which PostgreSQL's COPY TO text is byte for byte what the export
 * writes (README.md "Type mapping"): client_encoding UTF8, DateStyle ISO, MDY, IntervalStyle
 * postgres, TimeZone UTC (timestamptz in UTC with +00), extra_float_digits 1, bytea_output hex.
 * SET statements, for one PQexec; verify runs them first, so a server's or a database's own
 * defaults cannot make equal tables look different. */
const char *b2p_pg_copy_settings(void);

typedef enum b2p_verify_key_kind {
    B2P_VERIFY_PRIMARY_KEY,
    B2P_VERIFY_UNIQUE_CONSTRAINT,
    B2P_VERIFY_UNIQUE_INDEX,
    B2P_VERIFY_FOREIGN_KEY,
    B2P_VERIFY_INDEX,                /* an index that is no key: only its presence is checked */
} b2p_verify_key_kind;

/* One key or index the catalog declares, checked in the target: that it is there (as load creates
 * it: under its name, of its kind, on its columns), and for keys that the rows keep it. */
typedef struct b2p_verify_key {
    b2p_verify_key_kind kind;
    const b2p_cat_index *index;      /* the key or unique index (NULL for a foreign key) */
    const b2p_cat_foreign_key *fk;   /* the foreign key (NULL otherwise) */
    const b2p_cat_table *ref;        /* a foreign key's referenced table */
    char name[128];                  /* its PostgreSQL name (as load names the constraint or index) */
    bool checked;                    /* false: not_checked says why */
    char not_checked[256];
    bool absent;                     /* checked, and the target lacks it (dropped by hand, or a load
                                      * killed before its post-data): a failure; absent_why says how
                                      * ("missing in the target", "on columns (a) in the target") */
    char absent_why[320];
    bool enforced;                   /* false for a foreign key SQL Server had disabled or untrusted:
                                      * its orphans are reported but are not a failure */
    uint64_t violations;             /* keys: key values held by more than one row (rows with a
                                      * NULL key column are left out, as PostgreSQL's unique
                                      * constraints do); foreign keys: rows whose key columns are
                                      * all non-NULL and match no row of the referenced table */
    uint64_t text_mismatches;        /* foreign keys: rows that match only as SQL Server compares
                                      * text (ignoring trailing spaces, and case under a
                                      * case-insensitive collation), not as PostgreSQL does: not a
                                      * failure, but the target's constraint cannot be valid */
} b2p_verify_key;

typedef enum b2p_verify_status {
    B2P_VERIFY_EQUAL,                /* same rows (count and content hash), every key holds */
    B2P_VERIFY_DIFFERENT,            /* rows, content, columns or an enforced key differ */
    B2P_VERIFY_MISSING,              /* the target has no such table */
    B2P_VERIFY_SKIPPED,              /* not compared: b2p_export_unsupported (not a failure) */
} b2p_verify_status;

/* Which rows of a table differ (when its content hashes do), found by emit/vdiff.c. Rows are
 * matched by a key: the primary key, else a unique constraint or unique index (not filtered,
 * not disabled, on stored columns), else the whole row (then a changed row shows as one missing
 * and one extra). Values are as COPY text decodes them (NULL: SQL NULL), the backup's text: show
 * them through b2p_shown. */
typedef enum b2p_verify_diff_kind {
    B2P_DIFF_MISSING,                /* the backup has the key, the target does not */
    B2P_DIFF_EXTRA,                  /* the target has the key, the backup does not */
    B2P_DIFF_CHANGED,                /* both have it, with other values in some columns */
} b2p_verify_diff_kind;

typedef struct b2p_verify_value_diff {
    const char *column;              /* its PostgreSQL name */
    char *source, *target;           /* the two values (NULL: SQL NULL) */
} b2p_verify_value_diff;

typedef struct b2p_verify_row_diff {
    b2p_verify_diff_kind kind;
    char **key;                      /* the key's values, one per key column (NULL: SQL NULL) */
    size_t nchanged;                 /* CHANGED: the columns that differ */
    b2p_verify_value_diff *changed;
} b2p_verify_row_diff;

typedef struct b2p_verify_diff {
    bool done;                       /* the rows were compared (the hashes differed) */
    const char *key_kind;            /* "primary key", "unique constraint", "unique index", "row" */
    char key_name[128];              /* the key's PostgreSQL name ("" for the whole row) */
    size_t nkey;
    const char **key_columns;        /* its columns' PostgreSQL names */
    uint64_t missing, extra, changed;/* rows counted in the partitions compared */
    bool complete;                   /* every differing partition was compared: the counts are
                                      * exact (else they are lower bounds: memory ran short) */
    unsigned partitions_differing, partitions_compared;
    size_t nrows;                    /* up to the limit of each kind, in key order */
    b2p_verify_row_diff *rows;
} b2p_verify_diff;

/* A column of the target whose type is not the one load gives it (by hand, ALTER ... TYPE):
 * a type problem, reported as such; its values are then left out of the row comparison. */
typedef struct b2p_verify_type_problem {
    const char *column;              /* its PostgreSQL name */
    char expected[64];               /* the mapping's type (b2p_pg_type, after the casts) */
    char actual[128];                /* the target's, as format_type prints it */
} b2p_verify_type_problem;

typedef struct b2p_verify_table {
    const b2p_cat_table *t;
    b2p_verify_status status;
    const char *skipped;             /* SKIPPED: why */
    char missing_columns[256];       /* columns the target lacks ("" if none): the content is
                                      * then not compared, target.rows is a count(*) */
    b2p_content_hash source, target; /* row counts and content hashes (target: zero if missing) */
    bool content_equal;
    size_t nkeys;
    b2p_verify_key *keys;
    unsigned keys_failed, keys_unchecked;
    /* how the backup's side was decoded: as the ledger recorded the load of this table, unless
     * the command line said otherwise */
    b2p_nul_policy nul_policy;
    bool spatial_wkt;
    char ledger_run[24];             /* the run whose settings were used ("": no ledger entry) */
    unsigned ledger_casts;           /* columns cast to bytea because the ledger records them so */
    size_t ntype_problems;
    b2p_verify_type_problem *type_problems;
    b2p_verify_diff diff;            /* which rows differ (when the content hashes do) */
} b2p_verify_table;

typedef struct b2p_verify_result {
    size_t ntables;
    b2p_verify_table *tables;        /* the selected tables, in catalog order */
    unsigned equal, different, missing, skipped;
    unsigned keys_checked, keys_failed, keys_unchecked;
    uint64_t source_rows, target_rows;
    char database[128];              /* the target database's name */
    char unfinished_run[24];         /* the ledger's last run for this backup set, when it has not
                                      * finished (killed, or still running): a difference */
    char unfinished_outcome[32];     /* ... and its outcome ("running", "interrupted") */
    char ledger_unreadable[1024];    /* why the ledger could not be read ("": it could, or there is
                                      * none): its settings were then not used */
    bool ok;                         /* nothing differs */
} b2p_verify_result;

typedef struct b2p_verify_options {
    const char *conninfo;            /* libpq connection string or URI */
    const bool *selected;            /* per catalog table (NULL: all) */
    b2p_export_options export;       /* as the load wrote the rows (--nul) */
    bool nul_given;                  /* export.nul_policy was given (--nul): the ledger's is not used */
    unsigned jobs;                   /* tables compared at once, each worker on its own connection
                                      * sharing the first one's snapshot (0, 1: one) */
    size_t diff_rows;                /* where hashes differ: list up to this many rows of each kind
                                      * (missing, extra, changed); 0: the rows are not compared */
    size_t diff_memory;              /* bytes of rows the comparison may hold (0: 64 MiB) */
    /* callbacks (may be NULL), given ctx; with jobs > 1 called by one worker at a time */
    void *ctx;
    void (*notice)(void *ctx, const char *message);
    void (*table_done)(void *ctx, const b2p_verify_table *vt);
    /* how far the table's rows are read (doing: "reading the backup", "reading the target",
     * "comparing rows (1 of 2)", ...), every 65536 rows */
    void (*progress)(void *ctx, const b2p_cat_table *t, const char *doing, uint64_t rows);
} b2p_verify_options;

/* For every selected table: the row count and content hash of the backup's rows (decoded as load
 * writes them) and of the target's (COPY (SELECT the same columns) TO STDOUT, streamed), then, in
 * the target, the presence of its primary key, unique constraints, foreign keys and indexes, the
 * uniqueness of its keys and the orphans of its foreign keys. Where the target holds load's
 * ledger, each table's rows are decoded with the NUL policy, spatial format and --cast columns
 * that ledger recorded for the table's load (opt->nul_given and the columns' own casts win), and
 * a last run for this backup set that has not finished is a difference. One read-only,
 * repeatable-read transaction: every count sees the same snapshot. Returns B2P_OK when the comparison ran to the end, whatever it found (see
 * out->ok); connection failures as b2p_load gives them. Free out with b2p_verify_result_free, also
 * after a failure (it then holds the tables verified so far). */
b2p_status b2p_verify(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_verify_options *opt,
                      b2p_verify_result *out, b2p_error *err);
void b2p_verify_result_free(b2p_verify_result *r);
/* "primary key", "unique constraint", "unique index", "foreign key", "index". */
const char *b2p_verify_key_kind_name(b2p_verify_key_kind kind);

/* ---- types --------------------------------------------------------------------------------- */

/* The PostgreSQL type of a column: its --cast (c->cast) when it has one, else bak2pg's mapping
 * (README.md "Type mapping"), e.g. "integer", "numeric(10,2)", "char(5)", "timestamp(3)". */
const char *b2p_pg_type(const b2p_cat_column *c, char *buf, size_t len);
/* The mapping alone, whatever the column's cast. */
const char *b2p_pg_mapped_type(const b2p_cat_column *c, char *buf, size_t len);

/* ---- per-column type overrides (--cast SCHEMA.TABLE.COLUMN=TYPE) ------------------------------
 * A cast changes everything downstream of the column at once: its type in the DDL (b2p_pg_type),
 * the text the export writes for its values (so the COPY data, load's rows and verify's hash), and
 * the column signature load records in its ledger (from which verify takes the casts back).
 * TYPE today: bytea = the column's stored bytes, exactly (code-page bytes of char/varchar/text,
 * UTF-16LE of nchar/nvarchar/ntext): for a text column that holds bytes that are no text, such as
 * hashed passwords with NUL bytes. */

/* Gives column c the cast type; B2P_ERR_USAGE, naming the column, for a type --cast does not
 * support or a column it cannot apply to (bytea: character and binary columns, not computed). */
b2p_status b2p_cast_column(b2p_cat_column *c, const char *type, b2p_error *err);
/* Whether c is cast to bytea: its values are its stored bytes. */
bool b2p_cast_is_bytes(const b2p_cat_column *c);

#endif
