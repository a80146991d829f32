/* bak2pg audit: what is in a backup's rows and what is wrong with them, before a migration,
 * from the backup alone. Rows are read once, table by table, as the export decodes them (the
 * COPY text PostgreSQL would receive), so that every figure is about the values that would be
 * loaded. Memory per table is bounded by its columns (a 4 KiB HyperLogLog sketch, min, max)
 * plus, for each foreign key, the set of 64-bit hashes of the referenced table's keys.
 *
 * Rules (stated once, here, and in the reports):
 *   - distinct: HyperLogLog, 2^12 registers, standard error 1.04/sqrt(4096) = 1.6%;
 *   - future date: a date/time value after the backup's finish date (year 9999, the customary
 *     "no end" of a period or validity column, is not counted);
 *   - pre-1900 outlier: a value before 1900-01-01 in a date/time column where at most 5% of the
 *     non-null values are that old (the neighbours are recent);
 *   - e-mail column: named like "mail" or with at least half its values fitting; a value fits
 *     local@domain.tld with no spaces. Phone (named phone/tel/fax/mobile): digits, spaces and
 *     + - ( ) . / x only, 5 to 20 digits. URL (named url/website/homepage/link): http://, https://
 *     or www.;
 *   - binary text: char/varchar/text values holding control characters other than tab, newline
 *     and carriage return; hex digests: a text column all of whose values are 32, 40 or 64 hex digits;
 *   - near a limit: an integer at or beyond 90% of its PostgreSQL type's range; a decimal(p,s)
 *     whose integer part has p-s digits starting with 9; identity whose last value used 90% of
 *     its type's range;
 *   - orphan: a foreign key value (no part NULL) with no equal key in the referenced table's
 *     rows; padding/case match: one that equals a parent key only after trailing spaces are
 *     removed and ASCII case is folded (SQL Server's comparison; PostgreSQL's foreign key refuses it).
 *     A key is checked when its referenced table was read before it (load order; a table that
 *     references itself is checked against the keys read so far, and said so).
 */
#ifndef B2P_AUDIT_H
#define B2P_AUDIT_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "emit/emit.h"

enum { B2P_AUDIT_HLL_BITS = 12, B2P_AUDIT_SAMPLES = 10 };

typedef enum b2p_finding_kind {
    B2P_FIND_ORPHAN_FK,
    B2P_FIND_PADDING_CASE_MATCH,
    B2P_FIND_FUTURE_DATE,
    B2P_FIND_PRE1900_DATE,
    B2P_FIND_BAD_EMAIL,
    B2P_FIND_BAD_PHONE,
    B2P_FIND_BAD_URL,
    B2P_FIND_NUL,
    B2P_FIND_UNDEFINED_BYTES,
    B2P_FIND_BINARY_TEXT,
    B2P_FIND_HEX_DIGEST,
    B2P_FIND_NUMERIC_NEAR_LIMIT,
    B2P_FIND_IDENTITY_NEAR_END,
    B2P_FIND_UNTRUSTED_FK,
    B2P_FIND_DISABLED_UNIQUE_DUP,
    B2P_FIND_DISABLED_CHECK,
    B2P_FIND_KINDS
} b2p_finding_kind;

/* "orphan-fk", "padding-case-match", ...: the kind's stable name (JSON, the README). */
const char *b2p_finding_name(b2p_finding_kind k);

typedef struct b2p_finding {
    b2p_finding_kind kind;
    const b2p_cat_table *table;
    char *subject;               /* the column or the foreign key's name */
    char *detail;                /* one sentence */
    uint64_t count;
    size_t nsamples;
    char *samples[B2P_AUDIT_SAMPLES]; /* values as COPY text (escaped there), or NULL */
} b2p_finding;

typedef struct b2p_audit_column {
    const b2p_cat_column *col;
    uint8_t klass;               /* how its values are checked (audit.c), decided once */
    double limit;                /* integers: the PostgreSQL type's largest magnitude */
    uint64_t nulls, nonnull;
    uint8_t hll[1u << B2P_AUDIT_HLL_BITS];
    b2p_buf min, max;
    size_t longest;              /* bytes of the longest value as COPY text */
    uint64_t at_signs, email_ok, phone_ok, url_ok, binary, hex_digest;
    uint64_t future, pre1900, near_limit;
    size_t nfuture, npre1900, nbad_email, nbad_phone, nbad_url, nnear;
    char *s_future[B2P_AUDIT_SAMPLES], *s_pre1900[B2P_AUDIT_SAMPLES], *s_email[B2P_AUDIT_SAMPLES],
        *s_phone[B2P_AUDIT_SAMPLES], *s_url[B2P_AUDIT_SAMPLES], *s_near[B2P_AUDIT_SAMPLES];
} b2p_audit_column;

typedef struct b2p_audit_table {
    const b2p_cat_table *table;
    const char *skipped;         /* why its rows were not read, or NULL */
    uint64_t rows, pages, bytes;
    b2p_export_stats export;
    size_t ncolumns;
    b2p_audit_column *columns;
} b2p_audit_table;

typedef struct b2p_audit b2p_audit;

/* An audit of ntables of cat's tables; backup_date "YYYY-MM-DD HH:MM:SS" (the backup's finish), or "". */
b2p_status b2p_audit_new(const b2p_catalog *cat, const char *backup_date, size_t ntables, b2p_audit **out,
                          b2p_error *err);
void b2p_audit_free(b2p_audit *a);
/* Reads every row of t (once) into table slot `slot` (0..ntables-1) and adds its figures and
 * findings. Tables may be read on several threads at once (each with its own page source,
 * b2p_pages_fork); a foreign key is checked against its referenced table only if that one's
 * reading finished before this one started (so: read in load order, a table after those it
 * references). */
b2p_status b2p_audit_table_rows(b2p_audit *a, size_t slot, b2p_pages *src, const b2p_cat_table *t, b2p_error *err);
/* After the last table: the catalog's findings, and every finding in a stable order. */
void b2p_audit_finish(b2p_audit *a);
/* Whether some finding was lost for want of memory. */
bool b2p_audit_findings_lost(const b2p_audit *a);
/* Calls fn about every 65536 rows while a table is read (for progress on a terminal). */
void b2p_audit_on_progress(b2p_audit *a, void (*fn)(void *ctx, const b2p_cat_table *t, uint64_t rows), void *ctx);
/* Adds the findings the catalog alone gives (identity near its end, untrusted keys); b2p_audit_finish calls it. */
void b2p_audit_catalog_findings(b2p_audit *a);

size_t b2p_audit_ntables(const b2p_audit *a);
const b2p_audit_table *b2p_audit_table_at(const b2p_audit *a, size_t i);
size_t b2p_audit_nfindings(const b2p_audit *a);
const b2p_finding *b2p_audit_finding_at(const b2p_audit *a, size_t i);
/* The HyperLogLog estimate of c's distinct non-null values. */
uint64_t b2p_audit_distinct(const b2p_audit_column *c);


/* Where the audited rows came from, for the reports. */
typedef struct b2p_audit_source {
    size_t nfiles;
    const char *const *paths;
    const char *const *sha256;   /* hex, per file */
    const char *server, *database, *version, *backup_date, *created;
} b2p_audit_source;

/* The audit as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched):
 * the source, the findings, rows per table as a log-scaled bar chart, null % per column as a
 * heat map, the type mapping. Every text from the backup goes through b2p_escape_html. */
b2p_status b2p_audit_html(const b2p_audit *a, const b2p_audit_source *src, b2p_buf *out, b2p_error *err);

#endif
