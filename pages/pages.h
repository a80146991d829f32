/* pages/: what an 8 KB database page means.
 *
 * What this layer offers:
 *   - b2p_page_header_parse(): the 96-byte page header as a struct, sanity-checked.
 *   - b2p_page_record(): the slot array, validated, and the FixedVar record behind a slot
 *     (status bits, fixed area, null bitmap, variable-column offsets with the complex flag);
 *     ghosts, forwarding stubs and forwarded records are recognised.
 *   - b2p_record_column(): the raw bytes of one column located by its physical layout
 *     (sysrscols leaf offset / null bit / bit position). Decoding bytes into typed values is a
 *     separate concern (the next layer up asks for raw bytes and decodes them).
 *   - b2p_au_scan(): every data page of one allocation unit, by its IAM chain (heaps, and any
 *     rowset) or by the leaf level of its B-tree (pgfirst / pgroot, then m_nextPage).
 *
 * Every length and offset read from a page is checked before use; damage is reported as
 * B2P_ERR_CORRUPT naming file:page (and slot). Format notes: ../shared/docs/pages.md
 * sections 1 (page), 2.3/2.5 (IAM, page enumeration), 4.1-4.5 (records). */
#ifndef B2P_PAGES_H
#define B2P_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtf/mtf.h"

#define B2P_PAGE_HEADER_SIZE 96

/* A 6-byte page pointer as stored: u32 page id, then u16 file id. (0:0) means none. */
typedef struct b2p_page_ptr {
    uint16_t file;
    uint32_t page;
} b2p_page_ptr;

b2p_page_ptr b2p_page_ptr_read(const uint8_t *p);
static inline bool b2p_page_ptr_is_null(b2p_page_ptr p) { return p.file == 0 && p.page == 0; }

/* Page types (m_type), pages.md 1.3. */
enum {
    B2P_PAGE_DATA = 1,
    B2P_PAGE_INDEX = 2,
    B2P_PAGE_TEXT_MIX = 3,
    B2P_PAGE_TEXT_TREE = 4,
    B2P_PAGE_GAM = 8,
    B2P_PAGE_SGAM = 9,
    B2P_PAGE_IAM = 10,
    B2P_PAGE_PFS = 11,
    B2P_PAGE_BOOT = 13,
    B2P_PAGE_FILE_HEADER = 15,
};

/* The 96-byte page header (pages.md 1.2). */
typedef struct b2p_page_header {
    uint8_t header_version;  /* always 1 */
    uint8_t type;            /* B2P_PAGE_* */
    uint8_t type_flags;      /* 0x80 on data pages: PAGE compressed (CI record at 96) */
    uint8_t level;           /* B-tree level, 0 = leaf / heap */
    uint16_t flag_bits;      /* 0x200 checksum, 0x100 torn-page bits */
    uint16_t index_id;       /* high 16 bits of the allocation-unit id, not the index id */
    b2p_page_ptr prev, next;
    uint16_t pminlen;        /* fixed-part size of records (data: incl. 4-byte prefix) */
    uint16_t slot_count;
    uint32_t obj_id;         /* bits 16..47 of the allocation-unit id, not the object id */
    uint16_t free_count;
    uint16_t free_data;      /* offset of the first free byte */
    b2p_page_ptr self;       /* the page's own id */
    uint16_t ghost_count;
    b2p_lsn lsn;
    uint64_t auid;           /* allocation unit: index_id << 48 | obj_id << 16 (pages.md 1.4) */
} b2p_page_header;

/* Parses and checks the header: version 1, self id = (file_id:page_id) when page_id != 0,
 * slot array and free-data offset inside the page. file_id/page_id name the page in errors. */
b2p_status b2p_page_header_parse(const uint8_t page[B2P_PAGE_SIZE], uint16_t file_id,
                                 uint32_t page_id, b2p_page_header *out, b2p_error *err);

/* True when the page belongs to allocation unit auid; tolerates upgraded databases whose pages
 * carry index_id 0 while the catalog id has high bits (pages.md 1.4 caveat). */
bool b2p_page_in_au(const b2p_page_header *h, uint64_t auid);

/* ---- records ---------------------------------------------------------------------- */

/* Record types, (status A >> 1) & 7 (pages.md 4.1). */
typedef enum b2p_record_type {
    B2P_REC_PRIMARY = 0,
    B2P_REC_FORWARDED = 1,
    B2P_REC_FORWARDING_STUB = 2,
    B2P_REC_INDEX = 3,
    B2P_REC_BLOB_FRAGMENT = 4,
    B2P_REC_GHOST_INDEX = 5,
    B2P_REC_GHOST_DATA = 6,
    B2P_REC_GHOST_VERSION = 7,
} b2p_record_type;

/* One FixedVar record, parsed in place: pointers refer into the caller's page buffer. */
typedef struct b2p_record {
    const uint8_t *data;     /* record byte 0 (status A) */
    size_t avail;            /* bytes from data to the start of the slot array */
    size_t length;           /* the record's own length (incl. a versioning tag) */
    uint8_t status_a, status_b;
    b2p_record_type type;
    bool ghost;              /* ghost type, or status B bit 0 (ghost forwarded) */
    bool versioned;          /* A & 0x40: 14-byte versioning tag at the end */
    uint16_t fixed_end;      /* rec offset of the column count: fixed data is [4, fixed_end) */
    uint16_t ncols;          /* column count stored in the record */
    const uint8_t *null_bitmap; /* NULL when the record has none */
    uint16_t nvar;           /* variable-length columns stored */
    const uint8_t *var_ends; /* nvar u16 end offsets (bit 15 = complex); NULL when nvar = 0 */
    uint16_t var_start;      /* rec offset of the first variable column's data */
    b2p_page_ptr forward_to; /* forwarding stub: where the record now lives ... */
    uint16_t forward_slot;   /* ... and its slot */
} b2p_record;

/* The record behind slot `slot` of a page whose header is h. Checks the slot offset lies in
 * the record area, then parses the record (b2p_record_parse). Data and LOB pages.
 * B2P_ERR_NOT_FOUND for an emptied slot (offset 0): skip it. */
b2p_status b2p_page_record(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                           uint16_t slot, b2p_record *out, b2p_error *err);

/* Parses a FixedVar data record at page offset `offset` (pages.md 4.1); forwarding stubs
 * (9 bytes, 4.5) are recognised. Every offset is checked against the space up to the slot
 * array; errors name file:page slot. */
b2p_status b2p_record_parse(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                            uint16_t slot, uint16_t offset, b2p_record *out, b2p_error *err);

/* A record that a scan of live rows should deliver: primary or forwarded, not a ghost. */
bool b2p_record_is_live_row(const b2p_record *r);

/* True when null bit `null_bit` (1-based, as in sysrscols) is set. A column beyond the record's
 * column count counts as NULL (added after the row was written, pages.md 4.2 step 2). */
bool b2p_record_is_null(const b2p_record *r, uint16_t null_bit);

/* Bytes [rec_offset, rec_offset + len) of the fixed area; fails when outside it. */
b2p_status b2p_record_fixed(const b2p_record *r, uint16_t rec_offset, uint16_t len,
                            const uint8_t **out, b2p_error *err);

/* Variable column k (0-based). *present = false when k >= nvar (the column is absent from the
 * record); *complex = bit 15 of its end offset (off-row pointer, LOB root, sparse vector). */
b2p_status b2p_record_var(const b2p_record *r, uint16_t k, const uint8_t **out, size_t *len,
                          bool *complex, bool *present, b2p_error *err);

/* Where one column lives in records of a rowset (a sysrscols row, pages.md 4.2). */
typedef struct b2p_column_layout {
    int16_t leaf_offset;     /* >= 4: fixed at this rec offset; < 0: variable column -offset-1 */
    uint16_t null_bit;       /* 1-based; 0 = no null bit */
    uint8_t bit_pos;         /* bit columns: bit within the byte at leaf_offset */
    uint8_t xtype;           /* system type id (sysrscols ti byte 0) */
    uint16_t fixed_len;      /* bytes of a fixed column (0 for variable ones) */
    bool is_bit;
    uint16_t ti_len;         /* sysrscols ti bytes 1-2 (b2p_cat_rscol.max_length): max length of
                              * char/binary types, precision | scale << 8 of decimal, scale of the
                              * time family. Only compressed rowsets need it (cdrecord.c): their
                              * values are stored trimmed and are rebuilt to the full length. */
    /* Sparse columns (sysrscols status 0x100, pages.md 5.4): the value is not in the fixed area
     * or the null bitmap but in the record's sparse vector, keyed by column_id; absent = NULL.
     * leaf_offset and null_bit are then ignored. */
    bool is_sparse;
    uint16_t column_id;          /* syscolpars colid (the sparse vector's key) */
    /* A column added later with its default kept in metadata (SQL Server 2012+ online ADD
     * ... NOT NULL DEFAULT; sysrscols status 0x200, the value in sysseobjvalues valclass 1,
     * id = rowset id, subid = rscolid, as a sql_variant). Rows written before the column
     * existed (null_bit beyond the record's column count) get these bytes, in the column's
     * uncompressed (FixedVar) encoding, instead of NULL. The bytes are the caller's. */
    bool has_missing_default;
    const uint8_t *missing_default;
    size_t missing_default_len;
} b2p_column_layout;

/* The raw bytes of one column. For a bit column `bytes` points at the byte holding it and the
 * caller masks with 1 << bit_pos. *is_null when the null bit is set or the column is absent. */
typedef struct b2p_column_bytes {
    const uint8_t *bytes;
    size_t len;
    bool is_null;
    bool complex;            /* variable column flagged complex: not the value itself */
} b2p_column_bytes;

b2p_status b2p_record_column(const b2p_record *r, const b2p_column_layout *c,
                             b2p_column_bytes *out, b2p_error *err);

/* ---- allocation units ------------------------------------------------------------- */

/* What sysallocunits says about one allocation unit (pages.md 2.5, 3.3). */
typedef struct b2p_au_ref {
    uint64_t auid;
    b2p_page_ptr first;      /* pgfirst: first page (leftmost leaf, or first heap page) */
    b2p_page_ptr root;       /* pgroot */
    b2p_page_ptr first_iam;  /* pgfirstiam */
} b2p_au_ref;

typedef enum b2p_scan_method {
    B2P_SCAN_IAM,            /* every page the IAM chain maps, in allocation order */
    B2P_SCAN_LEAF_CHAIN,     /* B-tree leaf level from pgfirst (or root descent), by m_nextPage */
    B2P_SCAN_PAGE_CHAIN,     /* m_nextPage from pgfirst as is (system tables, pages.md 2.5 #3) */
} b2p_scan_method;

typedef struct b2p_scan_stats {
    uint64_t pages;          /* data pages delivered */
    uint64_t missing;        /* mapped pages the backup does not hold */
    uint64_t skipped;        /* mapped pages of another type or allocation unit */
} b2p_scan_stats;

/* Called once per data page of the AU (type 1, level 0, header already parsed). A non-zero
 * return stops the scan; b2p_au_scan then returns that value as status. */
typedef int (*b2p_data_page_fn)(void *ctx, const uint8_t page[B2P_PAGE_SIZE],
                                const b2p_page_header *h);

/* Delivers the data pages of one allocation unit. Pages the backup does not hold are counted
 * in stats->missing and skipped (stripes missing under salvage); loops and overlong chains
 * fail with B2P_ERR_CORRUPT. stats may be NULL. */
b2p_status b2p_au_scan(b2p_pages *src, const b2p_au_ref *au, b2p_scan_method method,
                       b2p_data_page_fn fn, void *ctx, b2p_scan_stats *stats, b2p_error *err);

/* ---- rows --------------------------------------------------------------------------- */

/* A rowset to read: its in-row allocation unit, how to walk it, and the columns to return. */
typedef struct b2p_rowset_ref {
    b2p_au_ref in_row;            /* the IN_ROW_DATA allocation unit */
    b2p_scan_method method;       /* B2P_SCAN_IAM for heaps, B2P_SCAN_LEAF_CHAIN for clustered */
    size_t ncols;
    const b2p_column_layout *cols;/* the columns to return, in the order wanted */
    uint8_t compression;          /* sysrowsets.cmprlevel: 0 none (FixedVar records), 1 ROW and
                                   * 2 PAGE (CD records, pages.md 5.2-5.3) */
} b2p_rowset_ref;

/* One value of a row: complete (row-overflow and LOB data assembled; a bit column as one byte
 * 0 or 1). bytes are valid only during the callback. */
typedef struct b2p_cell {
    const uint8_t *bytes;
    size_t len;
    bool is_null;
} b2p_cell;

/* Where a row lives (for messages). */
typedef struct b2p_row_where {
    uint16_t file;
    uint32_t page;
    uint16_t slot;
} b2p_row_where;

typedef struct b2p_row_stats {
    uint64_t rows;                /* live rows delivered */
    uint64_t pages;               /* data pages read */
    uint64_t ghosts;              /* ghost records skipped */
    uint64_t forwarding_stubs;    /* stubs skipped (their forwarded records are delivered) */
    b2p_scan_stats scan;          /* pages the backup lacks (salvage), or not of this rowset */
} b2p_row_stats;

/* Called once per live row; a non-zero return stops the scan and becomes its status. */
typedef int (*b2p_row_fn)(void *ctx, const b2p_cell *cells, size_t ncells, const b2p_row_where *where);

/* Delivers every live row of the rowset, each once: heap scans deliver forwarded records where
 * they live and skip forwarding stubs and ghosts. stats may be NULL. */
b2p_status b2p_rows_scan(b2p_pages *src, const b2p_rowset_ref *rs, b2p_row_fn fn, void *ctx,
                         b2p_row_stats *stats, b2p_error *err);

/* ---- compressed records (ROW and PAGE compression, pages.md 5.2-5.3; cdrecord.c) ------ */

/* CD nibble values: how column k of a CD record is stored. 2..9 = 1..8 bytes in the short
 * data region. */
enum {
    B2P_CD_NULL = 0x0,
    B2P_CD_EMPTY = 0x1,           /* no bytes: 0, '', false; with a PAGE anchor: the anchor */
    B2P_CD_LONG = 0xA,            /* an entry of the long data region */
    B2P_CD_TRUE = 0xB,            /* bit 1, no bytes */
    B2P_CD_SYMBOL = 0xC,          /* page-dictionary symbol (1 or 2 bytes in the short region) */
};

/* CD record types, (header >> 2) & 7. */
enum {
    B2P_CD_PRIMARY = 0, B2P_CD_GHOST_EMPTY = 1, B2P_CD_FORWARDING = 2, B2P_CD_GHOST_DATA = 3,
    B2P_CD_FORWARDED = 4, B2P_CD_GHOST_FORWARDED = 5, B2P_CD_INDEX = 6, B2P_CD_GHOST_INDEX = 7,
};

/* Where column k's stored bytes are: rec offset and length (0 for NULL, EMPTY, TRUE). */
typedef struct b2p_cd_col {
    uint8_t kind;                 /* the CD nibble */
    bool complex;                 /* long entry with bit 15: an off-row pointer (pages.md 4.6) */
    uint16_t off, len;
} b2p_cd_col;

/* One CD record, parsed in place. cols is owned (reused across records; b2p_cd_record_free). */
typedef struct b2p_cd_record {
    const uint8_t *data;          /* the header byte */
    size_t avail;                 /* bytes from data to the end of the record area */
    uint8_t header;
    uint8_t type;                 /* B2P_CD_PRIMARY ... */
    bool ghost;                   /* a ghost type: skip */
    bool live;                    /* primary or forwarded: a row to deliver */
    uint16_t ncols;
    size_t length;                /* bytes through the end of the long data (no version tag) */
    b2p_cd_col *cols;             /* ncols entries (live records and anchors only) */
    size_t cap;
} b2p_cd_record;

void b2p_cd_record_free(b2p_cd_record *r);

/* Parses the CD record of `avail` bytes at data (header, column count, CD array, short region
 * with its cluster array, long region); ghosts and forwarding stubs only as far as the header.
 * Every length is checked against avail; w names the place in errors (slot UINT16_MAX: the
 * page's anchor record). */
b2p_status b2p_cd_record_parse(const uint8_t *data, size_t avail, b2p_cd_record *r,
                               const b2p_row_where *w, b2p_error *err);

/* The compression information of a PAGE-compressed page (CI, at page offset 96). */
typedef struct b2p_cd_page {
    bool has_ci;                  /* header type_flags 0x80 */
    uint8_t ci_flags;             /* 0x02 anchor record, 0x04 dictionary */
    size_t ci_size;               /* bytes from 96; records start after it */
    bool has_anchor;
    b2p_cd_record anchor;         /* one column per partition column: each column's prefix */
    const uint8_t *dict;          /* dictionary start (u16 count), NULL when none */
    size_t dict_len;
    uint16_t ndict;
} b2p_cd_page;

void b2p_cd_page_free(b2p_cd_page *p);

/* Reads the CI of a data page when the page has one (has_ci false otherwise). The anchor
 * record's column array is reused across pages. */
b2p_status b2p_cd_page_parse(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                             b2p_cd_page *p, b2p_error *err);

/* Column k of a record as stored in ROW-compressed form, after the PAGE steps are undone:
 * a dictionary symbol replaced by its entry, an anchored column's prefix restored. */
typedef struct b2p_cd_value {
    const uint8_t *bytes;         /* into the page, or into the caller's tmp buffer */
    size_t len;
    bool is_null;
    bool complex;                 /* an off-row pointer: the value itself is elsewhere */
    uint8_t kind;                 /* the CD nibble (B2P_CD_TRUE for a bit set) */
} b2p_cd_value;

/* tmp must hold B2P_CD_TMP_SIZE bytes (an anchor prefix plus a suffix). pg may be NULL (ROW).
 * A column at or beyond the record's column count is NULL (added after the row was written). */
#define B2P_CD_TMP_SIZE (2 * B2P_PAGE_SIZE)
b2p_status b2p_cd_value_get(const b2p_cd_page *pg, const b2p_cd_record *r, uint16_t k,
                            uint8_t *tmp, b2p_cd_value *out, const b2p_row_where *w,
                            b2p_error *err);

/* The CD column index of a partition column: its null bit - 1 (in compressed partitions
 * sysrscols gives every column leaf_offset = -null_bit, and the CD record holds the columns in
 * that order). UINT16_MAX when the layout names none. */
uint16_t b2p_cd_ordinal(const b2p_column_layout *c);

/* Bytes the uncompressed form of a compressed value of len bytes may need (at least 17). */
size_t b2p_cd_expanded_max(const b2p_column_layout *c, size_t len);

/* Rebuilds the uncompressed (FixedVar) bytes of a ROW-compressed value of column c into out
 * (b2p_cd_expanded_max bytes): integers, money and datetime from excess-2^(8n-1) big-endian,
 * date/time types and floats re-padded, vardecimal to sign + LE magnitude, SCSU to UTF-16LE,
 * char(n)/nchar(n)/binary(n) padded to n. A bit column: kind B2P_CD_TRUE / B2P_CD_EMPTY is
 * given as one byte 1 / 0. Errors (one line, no place: the caller adds it) are CORRUPT. */
b2p_status b2p_cd_expand(const b2p_column_layout *c, const uint8_t *p, size_t len, uint8_t *out,
                         size_t *out_len, b2p_error *err);

/* SCSU (Unicode TS #6) to UTF-16LE; out holds 4 * len bytes. An incomplete command at the
 * very end is SQL Server's filler byte and is ignored. */
b2p_status b2p_scsu_decode(const uint8_t *p, size_t len, uint8_t *out, size_t *out_len,
                           b2p_error *err);

/* ---- sparse vectors (pages.md 5.4; sparse.c) ------------------------------------------- */

/* A record's sparse vector: u16 0x0005, u16 count c, c u16 column ids, c u16 end offsets
 * (relative to the vector's start), then the values in their uncompressed encoding. */
typedef struct b2p_sparse_vector {
    const uint8_t *data;          /* the vector's first byte (the 05 00 tag) */
    size_t len;
    uint16_t count;
} b2p_sparse_vector;

/* Checks a sparse vector of len bytes: tag, count, id and offset arrays inside it, end offsets
 * non-decreasing and within len. B2P_ERR_CORRUPT (message without place) when it is not one. */
b2p_status b2p_sparse_parse(const uint8_t *p, size_t len, b2p_sparse_vector *out, b2p_error *err);

/* Finds the sparse vector of a FixedVar record: the last complex variable column that starts
 * 05 00 (off-row pointers, LOB roots and a forwarded record's back pointer are passed over). *found = false when the
 * record has none (every sparse column NULL). A column that starts 05 00 but is not a valid
 * vector is B2P_ERR_CORRUPT. */
b2p_status b2p_sparse_vector_find(const b2p_record *r, b2p_sparse_vector *out, bool *found,
                                  b2p_error *err);

/* The value of column_id in the vector; false when absent (NULL). */
bool b2p_sparse_get(const b2p_sparse_vector *v, uint16_t column_id, const uint8_t **out,
                    size_t *len);

/* ---- one off-row value (lob.c) ------------------------------------------------------ */

/* Reassembles the off-row value whose in-record pointer is ptr[0..len): a row-overflow pointer
 * (0x02) or in-row LOB root (0x04), whose announced length is checked, or a 16-byte text
 * pointer. *out is malloc'd (the caller frees it), *out_len its length. Missing pages are
 * B2P_ERR_NOT_FOUND, damage B2P_ERR_CORRUPT; messages name the page and slot. */
b2p_status b2p_lob_value(b2p_pages *src, const uint8_t *ptr, size_t len, uint8_t **out, size_t *out_len,
                         b2p_error *err);


/* ---- carving (carve.c): the records a live-row scan does not deliver ------------------ */

/* What a carved record is. */
typedef enum b2p_carve_kind {
    B2P_CARVE_LIVE,               /* a live row behind a slot (only with include_live) */
    B2P_CARVE_GHOST,              /* ghost data record behind a slot (deleted, not cleaned up) */
    B2P_CARVE_GHOST_VERSION,      /* ghost version record behind a slot */
    B2P_CARVE_UNREFERENCED,       /* a whole record in bytes no slot points into */
    B2P_CARVE_NKINDS
} b2p_carve_kind;

/* "live", "ghost", "ghost version", "unreferenced slot". */
const char *b2p_carve_kind_name(b2p_carve_kind k);

/* One carved record: rec points into the caller's page and is valid during the callback. */
typedef struct b2p_carved {
    b2p_carve_kind kind;
    uint16_t slot;                /* the slot, UINT16_MAX for an unreferenced record */
    uint16_t offset;              /* the record's byte offset in the page */
    const b2p_record *rec;
} b2p_carved;

typedef struct b2p_carve_stats {
    uint64_t by_kind[B2P_CARVE_NKINDS]; /* records delivered, by kind */
    uint64_t unparsed;            /* ghosts, or candidates of the table's header shape, that do
                                   * not parse within bounds under the layout: reported, not
                                   * decoded */
    uint64_t compressed_pages;    /* PAGE-compressed pages, not carved */
} b2p_carve_stats;

/* Called once per carved record; a non-zero return stops carving and is returned. */
typedef int (*b2p_carve_fn)(void *ctx, const b2p_carved *c);

/* Carves one FixedVar data page (header h, already parsed) under the rowset's column layout:
 * ghost and ghost-version records behind slots, whole records in bytes no slot uses (each
 * checked to lie within those bytes and parse fully: fixed area of pminlen bytes, every column
 * in cols readable), and, with include_live, live rows too. Slot records first in slot order,
 * then unreferenced ones by offset: the same page gives the same sequence. Never fails on bad
 * bytes (they are counted in stats->unparsed); stats may be NULL. */
int b2p_carve_page(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                   const b2p_column_layout *cols, size_t ncols, bool include_live,
                   b2p_carve_fn fn, void *ctx, b2p_carve_stats *stats);

#endif
