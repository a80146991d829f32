/* A writer of SQL Server database pages, for generated backups (fixtures/demo.bak, round-trip
 * tests, benchmarks): the pages SQL Server 2019 (database version 904) keeps in a one-file
 * database, as a full backup through mtf_writer.h.
 *
 * What it writes, learnt from the reader (catalog/, pages/) and from the real 2019 backups in
 * ../shared/fixtures (their boot page, allocation pages and system base-table rows):
 *   - file header (0), PFS (1 and every 8088), GAM/SGAM/DCM/BCM (2/3/6/7 of each 511232-page
 *     interval), boot page (1:9) with dbi_version, collation, compatibility and
 *     dbi_firstSysIndexes;
 *   - user tables: FixedVar records (null bitmap always, variable columns up to the last
 *     non-NULL one), heaps (IAM chain, no page links) or clustered (leaf pages linked by
 *     m_prevPage/m_nextPage in key order, non-leaf index levels up to one root);
 *   - off-row values: a variable column that does not fit the 8060-byte row goes to a
 *     row-overflow DATA record (24-byte pointer 0x02); a (max) value longer than 8000 bytes, or
 *     pushed out of a full row, becomes an in-row LOB root (0x04) whose links lead to DATA
 *     records of at most 8040 bytes, through INTERNAL records when more than 5 are needed;
 *   - the catalog, as the system base tables with SQL Server 2019's own column lists:
 *     sysallocunits, sysrowsets, sysrscols (also describing the base tables themselves),
 *     sysschobjs, syscolpars, sysidxstats, sysiscols, sysobjvalues (default text),
 *     sysclsobjs (schemas, filegroup), syssingleobjrefs (foreign keys), sysscalartypes (empty);
 *   - every page with a valid checksum; every allocation unit with uniform extents and an IAM
 *     page per GAM interval (IAM pages themselves on mixed extents).
 *
 * Not written (so far): nonclustered index pages (a heap's primary key is listed in sysidxstats
 * and sysrowsets, with an allocation unit that has no pages), the system base tables the reader
 * never asks for (sysowners, sysfiles1, sysschobjs rows of the system objects, ...), uniquifiers,
 * forwarded and ghost records, ROW/PAGE compression, TEXT_TREE (type 4) pages: every LOB
 * fragment goes to TEXT_MIX (type 3) pages. Small system tables get uniform extents where SQL
 * Server would use mixed ones.
 *
 * Memory stays bounded: rows go to pages as they come, pages to a temporary database image, and
 * that image, page by page, to mtfw_add_units at the end. Deterministic: the same calls give the
 * same bytes (no clock, no randomness). Distinct: the database's and the backup's GUIDs (family,
 * backup set, media set, file) derive from a hash of every page and of the options, so that two
 * different generated backups never pass for one (mtfw_derive_identity). One table is written at a time; a clustered table's
 * rows must come in key order. */
#ifndef B2P_TESTS_DB_WRITER_H
#define B2P_TESTS_DB_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DBW_MAX_KEY 16

/* A column as CREATE TABLE gives it. max_length is syscolpars.length: bytes, -1 for (max);
 * collation_id 0 takes the database's for character types. */
typedef struct dbw_column {
    const char *name;
    uint8_t xtype;               /* system type id: 56 int, 231 nvarchar, ... */
    int16_t max_length;
    uint8_t precision, scale;
    bool nullable;
    bool identity;
    int64_t seed, increment;
    const char *default_sql;     /* e.g. "((0))", "(getdate())"; NULL: none */
    uint32_t collation_id;
} dbw_column;

typedef struct dbw_fk {
    const char *name;
    size_t ncols;
    int cols[DBW_MAX_KEY];       /* column indexes (0-based) in this table */
    const char *ref_schema, *ref_table;
    int ref_cols[DBW_MAX_KEY];   /* column indexes in the referenced table */
} dbw_fk;

typedef struct dbw_table_def {
    const char *schema, *name;
    const dbw_column *columns;
    size_t ncolumns;
    size_t npk;                  /* 0: a heap without primary key */
    int pk[DBW_MAX_KEY];         /* column indexes of the primary key */
    bool clustered;              /* the primary key is the clustered index; else a heap */
    const char *pk_name;         /* NULL: PK_<table> */
    const dbw_fk *fks;
    size_t nfks;
} dbw_table_def;

/* One value in SQL Server's storage encoding: fixed types exactly their width (bit: one byte
 * 0 or 1), character and binary types their bytes (nvarchar/nchar UTF-16LE). */
typedef struct dbw_value {
    const uint8_t *p;
    size_t len;
    bool null;
} dbw_value;

typedef struct dbw_options {
    const char *database_name;
    uint32_t collation_id;       /* 0: SQL_Latin1_General_CP1_CI_AS (872468488) */
    uint8_t compat_level;        /* 0: 150 */
} dbw_options;

typedef struct dbw dbw;

/* A new database; NULL on bad options or no memory (or no temporary file). */
dbw *dbw_open(const dbw_options *opt);
/* Declares a schema (dbo exists already); false when out of memory. */
bool dbw_schema(dbw *w, const char *name);
/* Starts a table; false if a table is open, the definition is invalid (message in
 * dbw_error) or the schema is unknown. */
bool dbw_table_begin(dbw *w, const dbw_table_def *def);
/* Adds a row: ncolumns values in column order. False on a value that does not fit its column. */
bool dbw_row(dbw *w, const dbw_value *values);
bool dbw_table_end(dbw *w);
/* Writes the catalog and the whole backup to out (compressed when asked); frees w. */
bool dbw_finish(dbw *w, FILE *out, bool compress);
/* Frees w without writing (after an error). */
void dbw_abort(dbw *w);
/* The last error, or "". */
const char *dbw_error(const dbw *w);
/* UTF-8 text as UTF-16LE (nvarchar's storage) into out (cap bytes); returns the bytes written. */
size_t dbw_utf16(const char *utf8, uint8_t *out, size_t cap);
/* Pages the database holds so far (statistics for generators). */
uint64_t dbw_pages(const dbw *w);

#endif
