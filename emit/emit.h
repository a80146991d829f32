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
/* Appends name, double-quoted only where PostgreSQL needs it: the one identifier quoter. */
b2p_status b2p_quote_ident(const char *name, b2p_buf *out, b2p_error *err);
/* Appends "schema"."table" for t, quoted as needed. */
b2p_status b2p_qualified(const b2p_names *nm, const b2p_cat_table *t, b2p_buf *out, b2p_error *err);

/* ---- DDL ----------------------------------------------------------------------------------- */

typedef enum b2p_expr_kind { B2P_EXPR_DEFAULT, B2P_EXPR_CHECK, B2P_EXPR_COMPUTED, B2P_EXPR_FILTER } b2p_expr_kind;

/* Defaults, checks, computed columns and index filters are translated from T-SQL by
 * emit/tsql.c; what does not translate goes to review.sql with the reason. */
typedef struct b2p_ddl_options {
    const bool *selected;            /* per catalog table: convert it? (NULL: all) */
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

b2p_status b2p_file_sink_open(b2p_file_sink *s, const char *path, bool zstd, int level, b2p_error *err);
bool b2p_file_sink_write(void *ctx, const char *data, size_t len);
/* Finishes the file; gives the SHA-256 of its bytes. */
b2p_status b2p_file_sink_close(b2p_file_sink *s, const char *path, char sha256_hex[65], b2p_error *err);

/* ---- load: straight into PostgreSQL ----------------------------------------------------------- */

typedef struct b2p_load_options {
    const char *conninfo;            /* libpq connection string or URI; PG* variables and .pgpass apply */
    const bool *selected;            /* per catalog table (NULL: all) */
    b2p_export_options export;
    /* callbacks (may be NULL), all given ctx */
    void *ctx;
    void (*notice)(void *ctx, const char *message);               /* server notices and warnings */
    void (*review)(void *ctx, const char *review_sql);            /* what the DDL left out, and why */
    void (*table_done)(void *ctx, const b2p_cat_table *t, const b2p_export_stats *st);
    void (*skipped)(void *ctx, const b2p_cat_table *t, const char *why);
} b2p_load_options;

typedef struct b2p_load_stats {
    unsigned tables, tables_skipped;
    uint64_t rows, bytes;
    b2p_ddl_stats ddl;
} b2p_load_stats;

/* Creates the schema in the target, streams every selected table through COPY FROM STDIN in a
 * transaction of its own (a table is fully there or not at all; nothing is written to disk), then
 * adds keys, indexes and constraints. Distinct statuses for an unreachable server, refused
 * credentials, a read-only target and a refused statement. */
b2p_status b2p_load(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_load_options *opt,
                    b2p_load_stats *stats, b2p_error *err);

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
} b2p_verify_key_kind;

/* One key the catalog declares, checked in the target. */
typedef struct b2p_verify_key {
    b2p_verify_key_kind kind;
    const b2p_cat_index *index;      /* the key or unique index (NULL for a foreign key) */
    const b2p_cat_foreign_key *fk;   /* the foreign key (NULL otherwise) */
    const b2p_cat_table *ref;        /* a foreign key's referenced table */
    char name[128];                  /* its PostgreSQL name (as load names the constraint or index) */
    bool checked;                    /* false: not_checked says why */
    char not_checked[256];
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
} b2p_verify_table;

typedef struct b2p_verify_result {
    size_t ntables;
    b2p_verify_table *tables;        /* the selected tables, in catalog order */
    unsigned equal, different, missing, skipped;
    unsigned keys_checked, keys_failed, keys_unchecked;
    uint64_t source_rows, target_rows;
    char database[128];              /* the target database's name */
    bool ok;                         /* nothing differs */
} b2p_verify_result;

typedef struct b2p_verify_options {
    const char *conninfo;            /* libpq connection string or URI */
    const bool *selected;            /* per catalog table (NULL: all) */
    b2p_export_options export;       /* as the load wrote the rows (--nul) */
    /* callbacks (may be NULL), given ctx */
    void *ctx;
    void (*notice)(void *ctx, const char *message);
    void (*table_done)(void *ctx, const b2p_verify_table *vt);
} b2p_verify_options;

/* For every selected table: the row count and content hash of the backup's rows (decoded as load
 * writes them) and of the target's (COPY (SELECT the same columns) TO STDOUT, streamed), then, in
 * the target, the uniqueness of its primary key, unique constraints and unique indexes and the
 * orphans of its foreign keys. One read-only, repeatable-read transaction: every count sees the
 * same snapshot. Returns B2P_OK when the comparison ran to the end, whatever it found (see
 * out->ok); connection failures as b2p_load gives them. Free out with b2p_verify_result_free, also
 * after a failure (it then holds the tables verified so far). */
b2p_status b2p_verify(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_verify_options *opt,
                      b2p_verify_result *out, b2p_error *err);
void b2p_verify_result_free(b2p_verify_result *r);
/* "primary key", "unique constraint", "unique index", "foreign key". */
const char *b2p_verify_key_kind_name(b2p_verify_key_kind kind);

/* ---- types --------------------------------------------------------------------------------- */

/* The PostgreSQL type of a column under bak2pg's mapping (README.md "Type mapping"), e.g.
 * "integer", "numeric(10,2)", "char(5)", "timestamp(3)". */
const char *b2p_pg_type(const b2p_cat_column *c, char *buf, size_t len);

#endif
