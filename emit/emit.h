/* emit/: PostgreSQL.
 *
 * What this layer offers (so far):
 *   - b2p_export_table(): every row of one table, decoded value by value and written as
 *     PostgreSQL COPY text (or CSV, or JSON lines) to a sink. `dump` prints it; `convert` and
 *     `load` (issues 5 and 6) write the very same bytes to files and to COPY FROM STDIN.
 *   - b2p_export_columns(): which columns an export writes, in order: the table's stored
 *     columns (computed columns are left out, as PostgreSQL's COPY TO leaves out generated ones).
 * The type mapping and the rendering of each value are in README.md ("Type mapping"). */
#ifndef B2P_EMIT_H
#define B2P_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
