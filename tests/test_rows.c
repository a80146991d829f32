/* The row reader (pages/rows.c, pages/sparse.c) on hand-made pages in SQL Server's layouts,
 * written into real backup containers with tests/support/mtf_writer and read back through
 * b2p_pages_open + b2p_rows_scan: FixedVar records (fixed, bit, variable columns, a dropped
 * column's bytes, ghosts, a versioning tag, a forwarding stub and its forwarded record), LOB
 * values in every form (in-row root, row-overflow pointer, 16-byte text pointer to SMALL_ROOT
 * and LARGE_ROOT_YUKON, INTERNAL nodes) from 0 bytes to 2.5 MB, damaged LOB chains, sparse
 * vectors, and columns added later whose default lives in metadata. Every cell is compared
 * byte for byte. Format notes: ../shared/docs/pages.md sections 4 and 5.4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "emit/emit.h"
#include "pages/pages.h"
#include "tests/support/mtf_writer.h"
#include "tests/support/records.h"

enum {
    OBJ = 0x42,
    IXID = 0x0100,
    CHUNK = 8040,                /* bytes of one DATA fragment, as SQL Server fills them */
    MAX_PAGES = 1024,
    MAX_ROWS = 64,
};

#define AUID (((uint64_t)IXID << 48) | ((uint64_t)OBJ << 16))

/* ---- pages -------------------------------------------------------------------------------- */

typedef struct page {
    uint32_t id;
    uint16_t nslots, free;
    uint8_t b[B2P_PAGE_SIZE];
} page;

static page *pages;
static size_t npages;
static char dir[256];

static page *page_new(uint32_t id, uint8_t type, uint32_t next) {
    assert_true(npages < MAX_PAGES);
    page *p = &pages[npages++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->free = B2P_PAGE_HEADER_SIZE;
    p->b[0] = 1;
    p->b[1] = type;
    b2p_put_le16(p->b + 6, IXID);
    b2p_put_le32(p->b + 16, next);
    b2p_put_le16(p->b + 20, next ? 1 : 0);
    b2p_put_le32(p->b + 24, OBJ);
    b2p_put_le32(p->b + 32, id);
    b2p_put_le16(p->b + 36, 1);
    return p;
}

/* Appends a record; returns its slot. */
static uint16_t page_add(page *p, const uint8_t *rec, size_t len) {
    assert_true(p->free + len + 2u * (p->nslots + 1u) <= B2P_PAGE_SIZE);
    memcpy(p->b + p->free, rec, len);
    b2p_put_le16(p->b + B2P_PAGE_SIZE - 2u * (p->nslots + 1u), p->free);
    p->free = (uint16_t)(p->free + len);
    b2p_put_le16(p->b + 22, ++p->nslots);
    b2p_put_le16(p->b + 30, p->free);
    return (uint16_t)(p->nslots - 1);
}

static void page_empty_slot(page *p) {
    b2p_put_le16(p->b + B2P_PAGE_SIZE - 2u * (p->nslots + 1u), 0);
    b2p_put_le16(p->b + 22, ++p->nslots);
}

static int cmp_page(const void *a, const void *b) {
    uint32_t x = ((const page *)a)->id, y = ((const page *)b)->id;
    return x < y ? -1 : x > y;
}

typedef struct opened {
    b2p_backup *bk;
    b2p_pages *src;
} opened;

/* Writes every page made so far into a backup and opens it. */
static opened backup_of_pages(const char *name) {
    static const mtfw_file files[] = {
        {"rows", "C:\\data\\rows.mdf", 1, 'D', 64 << 20},
        {"rows_log", "C:\\data\\rows_log.ldf", 2, 'L', 1 << 20},
    };
    qsort(pages, npages, sizeof *pages, cmp_page);
    mtfw_options o = {
        .block_size = 512, .type_letter = 'D', .database_name = "rows", .server_name = "HOST",
        .version_major = 15, .version_build = 2000, .database_version = 904,
        .total_units = npages, .files = files, .nfiles = 2,
    };
    memset(o.backup_set_guid, 0x51, 16);
    memset(o.media_set_guid, 0x52, 16);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bak", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    mtfw *w = mtfw_open(f, &o);
    assert_non_null(w);
    for (size_t i = 0; i < npages; i++) assert_true(mtfw_add_units(w, pages[i].b, 1));
    assert_true(mtfw_close(w));
    fclose(f);
    npages = 0;
    opened r = {0};
    b2p_error err = {0};
    const char *p = path;
    if (b2p_backup_open(&r.bk, &p, 1, NULL, &err)) fail_msg("open: %s", err.msg);
    if (b2p_pages_open(&r.src, r.bk, NULL, &err)) fail_msg("pages: %s", err.msg);
    return r;
}

static void backup_close(opened *o) {
    b2p_pages_free(o->src);
    b2p_backup_free(o->bk);
}

/* ---- records ------------------------------------------------------------------------------- */


/* ---- LOB records (pages.md 4.7): type 4 "blob fragment", everything in the fixed area ------ */

typedef struct rid {
    uint32_t page;
    uint16_t slot;
} rid;

static void put_rid(uint8_t *p, rid r) {
    b2p_put_le32(p, r.page);
    b2p_put_le16(p + 4, 1);
    b2p_put_le16(p + 6, r.slot);
}

static size_t lob_record(uint8_t *out, uint16_t kind, const uint8_t *body, size_t blen) {
    out[0] = 0x08;
    out[1] = 0;
    b2p_put_le16(out + 2, (uint16_t)(4 + 10 + blen));
    memset(out + 4, 0, 8);
    b2p_put_le32(out + 4, 0x1000 + kind);  /* blob id */
    b2p_put_le16(out + 12, kind);
    if (blen) memcpy(out + 14, body, blen);
    b2p_put_le16(out + 14 + blen, 1);        /* column count */
    return 14 + blen + 2;
}

static uint8_t recbuf[B2P_PAGE_SIZE];

/* A LOB page of type 3 holding one record; returns its RID. */
static rid lob_page_with(uint32_t id, uint16_t kind, const uint8_t *body, size_t blen) {
    page *p = page_new(id, B2P_PAGE_TEXT_MIX, 0);
    size_t n = lob_record(recbuf, kind, body, blen);
    uint16_t slot = page_add(p, recbuf, n);
    return (rid){id, slot};
}

static rid data_fragment(uint32_t id, const uint8_t *p, size_t n) { return lob_page_with(id, 3, p, n); }

static rid small_root(uint32_t id, const uint8_t *p, size_t n) {
    uint8_t body[6 + 64] = {0};
    b2p_put_le16(body, (uint16_t)n);
    if (n) memcpy(body + 6, p, n);
    return lob_page_with(id, 0, body, 6 + n);
}

/* LARGE_ROOT_YUKON (5) or the 12-byte links of an in-row root: size u32 (cumulative) + RID. */
static rid large_root(uint32_t id, const rid *kids, const uint32_t *ends, size_t n) {
    uint8_t body[8100] = {0};
    b2p_put_le16(body, (uint16_t)n);      /* max links */
    b2p_put_le16(body + 2, (uint16_t)n);  /* cur links */
    for (size_t i = 0; i < n; i++) {
        b2p_put_le32(body + 10 + 12 * i, ends[i]);
        put_rid(body + 10 + 12 * i + 4, kids[i]);
    }
    return lob_page_with(id, 5, body, 10 + 12 * n);
}

/* INTERNAL (2): 16-byte entries, offset u64 (the cumulative end) + RID. */
static rid internal_node(uint32_t id, uint16_t level, const rid *kids, const uint64_t *ends, size_t n) {
    static uint8_t body[8100];
    memset(body, 0, sizeof body);
    b2p_put_le16(body, (uint16_t)n);
    b2p_put_le16(body + 2, (uint16_t)n);
    b2p_put_le16(body + 4, level);
    for (size_t i = 0; i < n; i++) {
        b2p_put_le32(body + 6 + 16 * i, (uint32_t)ends[i]);
        b2p_put_le32(body + 6 + 16 * i + 4, (uint32_t)(ends[i] >> 32));
        put_rid(body + 6 + 16 * i + 8, kids[i]);
    }
    return lob_page_with(id, 2, body, 6 + 16 * n);
}

/* An in-row root (0x04) or row-overflow pointer (0x02): 12-byte header, then links. */
static size_t root_pointer(uint8_t *out, uint8_t kind, const rid *kids, const uint32_t *ends, size_t n) {
    memset(out, 0, 12);
    out[0] = kind;
    out[1] = kind == 2 ? 0 : 1;
    for (size_t i = 0; i < n; i++) {
        b2p_put_le32(out + 12 + 12 * i, ends[i]);
        put_rid(out + 12 + 12 * i + 4, kids[i]);
    }
    return 12 + 12 * n;
}

static void text_pointer(uint8_t out[16], rid r) {
    memset(out, 0, 16);
    b2p_put_le32(out, 0x12345678); /* timestamp */
    put_rid(out + 8, r);
}

/* A value's deterministic content. */
static uint8_t *pattern(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 9));
    return p;
}

/* Stores value v in DATA fragments on pages from *next_page on; kids/ends receive the links. */
static size_t fragments(const uint8_t *v, size_t n, uint32_t *next_page, rid *kids, uint32_t *ends) {
    size_t k = 0;
    for (size_t at = 0; at < n || (n == 0 && k == 0); at += CHUNK) {
        size_t len = n - at < CHUNK ? n - at : CHUNK;
        kids[k] = data_fragment((*next_page)++, v + at, len);
        ends[k++] = (uint32_t)(at + len);
        if (n == 0) break;
    }
    return k;
}

/* ---- scanning -------------------------------------------------------------------------------- */

typedef struct got_cell {
    uint8_t *bytes;
    size_t len;
    bool is_null;
} got_cell;

typedef struct got {
    size_t nrows, ncols;
    got_cell cells[MAX_ROWS][8];
    b2p_row_where where[MAX_ROWS];
} got;

static int collect(void *ctx, const b2p_cell *cells, size_t n, const b2p_row_where *w) {
    got *g = ctx;
    assert_true(g->nrows < MAX_ROWS && n <= 8);
    for (size_t i = 0; i < n; i++) {
        got_cell *c = &g->cells[g->nrows][i];
        c->is_null = cells[i].is_null;
        c->len = cells[i].len;
        c->bytes = malloc(cells[i].len ? cells[i].len : 1);
        assert_non_null(c->bytes);
        if (cells[i].len) memcpy(c->bytes, cells[i].bytes, cells[i].len);
    }
    g->where[g->nrows++] = *w;
    g->ncols = n;
    return 0;
}

static void got_free(got *g) {
    for (size_t r = 0; r < g->nrows; r++)
        for (size_t i = 0; i < g->ncols; i++) free(g->cells[r][i].bytes);
    memset(g, 0, sizeof *g);
}

static b2p_status scan(opened *o, uint32_t first, const b2p_column_layout *cols, size_t ncols, got *g,
                       b2p_row_stats *stats, b2p_error *err) {
    b2p_rowset_ref rs = {.in_row = {.auid = AUID, .first = {1, first}}, .method = B2P_SCAN_PAGE_CHAIN,
                         .ncols = ncols, .cols = cols};
    return b2p_rows_scan(o->src, &rs, collect, g, stats, err);
}

static void assert_cell(const got *g, size_t row, size_t col, const void *want, size_t len) {
    const got_cell *c = &g->cells[row][col];
    if (c->is_null) fail_msg("row %zu column %zu: NULL, expected %zu bytes", row, col, len);
    if (c->len != len) fail_msg("row %zu column %zu: %zu bytes, expected %zu", row, col, c->len, len);
    if (len && memcmp(c->bytes, want, len) != 0) fail_msg("row %zu column %zu: bytes differ", row, col);
}

static void assert_null_cell(const got *g, size_t row, size_t col) {
    if (!g->cells[row][col].is_null) fail_msg("row %zu column %zu: %zu bytes, expected NULL", row, col,
                                              g->cells[row][col].len);
}

static void assert_int_cell(const got *g, size_t row, size_t col, uint32_t v) {
    uint8_t b[4];
    b2p_put_le32(b, v);
    assert_cell(g, row, col, b, 4);
}

/* ---- tests ------------------------------------------------------------------------------------ */

/* Columns of the FixedVar test table (rscol layout): id int @4 (null bit 1), flag_a bit @8.0
 * (2), flag_b bit @8.1 (3), a dropped int @9 (null bit 4, not requested: its bytes stay),
 * code char(3) @13 (5), name varchar var 0 (6), note nvarchar var 1 (7). */
static const b2p_column_layout fixedvar_cols[] = {
    {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4},
    {.leaf_offset = 8, .null_bit = 2, .xtype = 104, .is_bit = true, .bit_pos = 0},
    {.leaf_offset = 8, .null_bit = 3, .xtype = 104, .is_bit = true, .bit_pos = 1},
    {.leaf_offset = 13, .null_bit = 5, .xtype = 175, .fixed_len = 3},
    {.leaf_offset = -1, .null_bit = 6, .xtype = 167},
    {.leaf_offset = -2, .null_bit = 7, .xtype = 231},
};

static size_t fixedvar_row(uint8_t *out, uint8_t type, bool versioned, uint32_t id, uint8_t bits,
                           uint32_t dropped, const char *code, uint32_t nulls, const char *name,
                           const char *note_ascii, uint16_t nvar, const record_var *extra) {
    uint8_t fixed[12];
    b2p_put_le32(fixed, id);
    fixed[4] = bits;
    b2p_put_le32(fixed + 5, dropped);
    memcpy(fixed + 9, code, 3);
    uint8_t note[64];
    size_t nn = strlen(note_ascii);
    for (size_t i = 0; i < nn; i++) note[2 * i] = (uint8_t)note_ascii[i], note[2 * i + 1] = 0;
    record_var v[3] = {{(const uint8_t *)name, strlen(name), false}, {note, 2 * nn, false}};
    if (extra) v[2] = *extra;
    return fixedvar_record(out, type, versioned, fixed, sizeof fixed, 7, nulls, v, nvar);
}

static void test_fixedvar_records(void **state) {
    (void)state;
    uint8_t r[512];
    /* page 100: a row, a ghost, a versioned row, an emptied slot, a forwarding stub -> 101/1 */
    page *p = page_new(100, B2P_PAGE_DATA, 101);
    page_add(p, r, fixedvar_row(r, 0, false, 1, 0x1, 0xDEADBEEF, "abc", 0, "first", "n1", 2, NULL));
    page_add(p, r, fixedvar_row(r, 6, false, 99, 0x3, 0, "zzz", 0, "ghost", "g", 2, NULL));
    page_add(p, r, fixedvar_row(r, 0, true, 2, 0x2, 0x01010101, "def", 0x40 /* note NULL */, "second",
                                "", 2, NULL));
    page_empty_slot(p);
    uint8_t stub[9] = {0x04};
    b2p_put_le32(stub + 1, 101);
    b2p_put_le16(stub + 5, 1);
    b2p_put_le16(stub + 7, 1);
    page_add(p, stub, sizeof stub);
    /* page 101: a row whose note is absent (trailing var column not stored: empty), and the
     * forwarded record (type 1) with its back pointer as an extra complex variable column */
    page *q = page_new(101, B2P_PAGE_DATA, 0);
    page_add(q, r, fixedvar_row(r, 0, false, 3, 0x0, 7, "ghi", 0x1 /* id NULL */ | 0x2, "third", "", 1, NULL));
    uint8_t back[10] = {0x00, 0x04};
    b2p_put_le32(back + 2, 100);
    b2p_put_le16(back + 6, 1);
    b2p_put_le16(back + 8, 4);
    record_var bp = {back, sizeof back, true};
    page_add(q, r, fixedvar_row(r, 1, false, 4, 0x3, 0, "jkl", 0, "moved", "far", 3, &bp));
    opened o = backup_of_pages("fixedvar");

    got g = {0};
    b2p_row_stats stats = {0};
    b2p_error err = {0};
    b2p_status st = scan(&o, 100, fixedvar_cols, 6, &g, &stats, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal(g.nrows, 4);
    assert_int_equal(stats.rows, 4);
    assert_int_equal(stats.ghosts, 1);
    assert_int_equal(stats.forwarding_stubs, 1);
    assert_int_equal(stats.pages, 2);
    const uint8_t one = 1, zero = 0;
    /* row 0 */
    assert_int_cell(&g, 0, 0, 1);
    assert_cell(&g, 0, 1, &one, 1);
    assert_cell(&g, 0, 2, &zero, 1);
    assert_cell(&g, 0, 3, "abc", 3);
    assert_cell(&g, 0, 4, "first", 5);
    assert_cell(&g, 0, 5, "n\0001\0", 4);
    /* row 1: versioned; the tag is not part of the last column */
    assert_int_cell(&g, 1, 0, 2);
    assert_cell(&g, 1, 1, &zero, 1);
    assert_cell(&g, 1, 2, &one, 1);
    assert_cell(&g, 1, 3, "def", 3);
    assert_cell(&g, 1, 4, "second", 6);
    assert_null_cell(&g, 1, 5);
    assert_int_equal(g.where[1].slot, 2);
    /* row 2: id and flag_a NULL; note absent from the record with a clear null bit: empty */
    assert_null_cell(&g, 2, 0);
    assert_null_cell(&g, 2, 1);
    assert_cell(&g, 2, 2, &zero, 1);
    assert_cell(&g, 2, 3, "ghi", 3);
    assert_cell(&g, 2, 4, "third", 5);
    assert_cell(&g, 2, 5, "", 0);
    /* row 3: the forwarded record, delivered where it lives, once; the back pointer ignored */
    assert_int_cell(&g, 3, 0, 4);
    assert_cell(&g, 3, 1, &one, 1);
    assert_cell(&g, 3, 2, &one, 1);
    assert_cell(&g, 3, 4, "moved", 5);
    assert_cell(&g, 3, 5, "f\0a\0r\0", 6);
    assert_int_equal(g.where[3].page, 101);
    assert_int_equal(g.where[3].slot, 1);
    got_free(&g);
    backup_close(&o);
}

/* id int @4 (null bit 1), val varbinary(max) var 0 (2), txt image var 1 (3). */
static const b2p_column_layout lob_cols[] = {
    {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4},
    {.leaf_offset = -1, .null_bit = 2, .xtype = 165},
    {.leaf_offset = -2, .null_bit = 3, .xtype = 34},
};

static size_t lob_row(uint8_t *out, uint32_t id, const uint8_t *val, size_t vlen, bool vcomplex,
                      const uint8_t *txt, size_t tlen, uint32_t nulls) {
    uint8_t fixed[4];
    b2p_put_le32(fixed, id);
    record_var v[2] = {{val, vlen, vcomplex}, {txt, tlen, false}};
    return fixedvar_record(out, 0, false, fixed, 4, 3, nulls, v, 2);
}

static void test_lob_values(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 8000, 8001, 100000};
    uint8_t *vals[5];
    uint32_t next = 1000;
    static rid kids[400];
    static uint32_t ends[400];
    static uint8_t r[B2P_PAGE_SIZE], ptr[B2P_PAGE_SIZE];
    uint8_t tp[16];
    page *p = page_new(200, B2P_PAGE_DATA, 201);
    /* rows 0..4: 0 bytes (an empty in-row value), then in-row roots of 1, 8,000, 8,001 (one
     * fragment each) and 100,000 bytes (13 links); the image column NULL */
    for (size_t i = 0; i < 5; i++) {
        vals[i] = pattern(sizes[i], (unsigned)i);
        if (sizes[i] == 0) {
            page_add(p, r, lob_row(r, (uint32_t)i, NULL, 0, false, NULL, 0, 0x4));
            continue;
        }
        size_t n = fragments(vals[i], sizes[i], &next, kids, ends);
        size_t plen = root_pointer(ptr, 0x04, kids, ends, n);
        page_add(p, r, lob_row(r, (uint32_t)i, ptr, plen, true, NULL, 0, 0x4));
    }
    /* row 5: a row-overflow pointer (one link to one DATA fragment of 5,000 bytes); its image
     * column a text pointer to a SMALL_ROOT of 1 byte */
    uint8_t *ovf = pattern(5000, 9);
    size_t n = fragments(ovf, 5000, &next, kids, ends);
    size_t plen = root_pointer(ptr, 0x02, kids, ends, n);
    uint8_t *tiny = pattern(1, 10);
    text_pointer(tp, small_root(next++, tiny, 1));
    page_add(p, r, lob_row(r, 5, ptr, plen, true, tp, 16, 0));
    /* row 6: text pointer to a SMALL_ROOT of 0 bytes and of 60 bytes (row 7) */
    text_pointer(tp, small_root(next++, NULL, 0));
    page_add(p, r, lob_row(r, 6, NULL, 0, false, tp, 16, 0x2));
    uint8_t *sixty = pattern(60, 11);
    text_pointer(tp, small_root(next++, sixty, 60));
    page_add(p, r, lob_row(r, 7, NULL, 0, false, tp, 16, 0x2));
    /* row 8 (page 201): text pointer to a LARGE_ROOT_YUKON with 3 links (20,000 bytes) */
    page *q = page_new(201, B2P_PAGE_DATA, 0);
    uint8_t *big = pattern(20000, 12);
    n = fragments(big, 20000, &next, kids, ends);
    text_pointer(tp, large_root(next++, kids, ends, n));
    page_add(q, r, lob_row(r, 8, NULL, 0, false, tp, 16, 0x2));
    /* row 9: 2.5 MB through INTERNAL nodes: in-row root -> INTERNAL level 1 -> 2 INTERNAL level 0
     * -> 327 DATA fragments */
    size_t huge_len = 2621440;
    uint8_t *huge = pattern(huge_len, 13);
    n = fragments(huge, huge_len, &next, kids, ends);
    assert_int_equal(n, 327);
    uint64_t e64[400];
    for (size_t i = 0; i < n; i++) e64[i] = ends[i];
    rid lo[2];
    uint64_t lo_end[2] = {e64[163], e64[n - 1]};
    lo[0] = internal_node(next++, 0, kids, e64, 164);
    lo[1] = internal_node(next++, 0, kids + 164, e64 + 164, n - 164);
    rid top = internal_node(next++, 1, lo, lo_end, 2);
    uint32_t top_end = (uint32_t)huge_len;
    plen = root_pointer(ptr, 0x04, &top, &top_end, 1);
    page_add(q, r, lob_row(r, 9, ptr, plen, true, NULL, 0, 0x4));
    opened o = backup_of_pages("lobs");

    got g = {0};
    b2p_error err = {0};
    b2p_status st = scan(&o, 200, lob_cols, 3, &g, NULL, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal(g.nrows, 10);
    for (size_t i = 0; i < 5; i++) {
        assert_int_cell(&g, i, 0, (uint32_t)i);
        assert_cell(&g, i, 1, vals[i], sizes[i]);
        assert_null_cell(&g, i, 2);
    }
    assert_cell(&g, 5, 1, ovf, 5000);
    assert_cell(&g, 5, 2, tiny, 1);
    assert_null_cell(&g, 6, 1);
    assert_cell(&g, 6, 2, "", 0);
    assert_cell(&g, 7, 2, sixty, 60);
    assert_cell(&g, 8, 2, big, 20000);
    assert_cell(&g, 9, 1, huge, huge_len);
    got_free(&g);
    backup_close(&o);
    for (size_t i = 0; i < 5; i++) free(vals[i]);
    free(ovf);
    free(tiny);
    free(sixty);
    free(big);
    free(huge);
}

/* One damaged rowset per first page; each scan must fail with the status and a message
 * naming the page. */
typedef struct damage {
    const char *what;
    uint32_t first;
    b2p_status want;
    const char *names;
} damage;

static void test_lob_damage(void **state) {
    (void)state;
    static uint8_t r[B2P_PAGE_SIZE], ptr[512];
    uint8_t tp[16];
    uint8_t *v = pattern(16080, 3);
    rid kids[4];
    uint32_t ends[4];
    /* 300: cumulative sizes inconsistent (8040 then 7000) */
    kids[0] = data_fragment(3000, v, CHUNK);
    kids[1] = data_fragment(3001, v + CHUNK, CHUNK);
    ends[0] = CHUNK, ends[1] = 7000;
    page *p = page_new(300, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, ptr, root_pointer(ptr, 0x04, kids, ends, 2), true, NULL, 0, 0x4));
    /* 301: the last size says more than the fragment holds */
    ends[0] = CHUNK + 10;
    p = page_new(301, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, ptr, root_pointer(ptr, 0x04, kids, ends, 1), true, NULL, 0, 0x4));
    /* 302: a LARGE_ROOT_YUKON whose link points at itself (a loop) */
    page *l = page_new(3002, B2P_PAGE_TEXT_MIX, 0);
    {
        uint8_t body[22] = {0};
        b2p_put_le16(body, 1);
        b2p_put_le16(body + 2, 1);
        b2p_put_le32(body + 10, 100);
        put_rid(body + 14, (rid){3002, 0});
        page_add(l, r, lob_record(r, 5, body, sizeof body));
    }
    text_pointer(tp, (rid){3002, 0});
    p = page_new(302, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, NULL, 0, false, tp, 16, 0x2));
    /* 303: an INTERNAL node linking to itself */
    l = page_new(3003, B2P_PAGE_TEXT_MIX, 0);
    {
        uint8_t body[22] = {0};
        b2p_put_le16(body, 1);
        b2p_put_le16(body + 2, 1);
        b2p_put_le32(body + 6, 100);
        put_rid(body + 14, (rid){3003, 0});
        page_add(l, r, lob_record(r, 2, body, sizeof body));
    }
    ends[0] = 100;
    kids[0] = (rid){3003, 0};
    p = page_new(303, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, ptr, root_pointer(ptr, 0x04, kids, ends, 1), true, NULL, 0, 0x4));
    /* 304: a link to a page the backup does not hold */
    kids[0] = (rid){3999, 0};
    p = page_new(304, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, ptr, root_pointer(ptr, 0x04, kids, ends, 1), true, NULL, 0, 0x4));
    /* 305: a link to a slot the LOB page does not have */
    kids[0] = (rid){3000, 5};
    p = page_new(305, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, ptr, root_pointer(ptr, 0x04, kids, ends, 1), true, NULL, 0, 0x4));
    /* 306: a link to a data page (type 1), not a LOB page */
    kids[0] = (rid){300, 0};
    p = page_new(306, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, ptr, root_pointer(ptr, 0x04, kids, ends, 1), true, NULL, 0, 0x4));
    /* 307: a LOB record whose fixEnd runs past the slot array */
    l = page_new(3007, B2P_PAGE_TEXT_MIX, 0);
    size_t n = lob_record(r, 3, v, 100);
    b2p_put_le16(r + 2, 8100);
    page_add(l, r, n);
    text_pointer(tp, (rid){3007, 0});
    p = page_new(307, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, NULL, 0, false, tp, 16, 0x2));
    /* 308: an INTERNAL node claiming more links than its record holds */
    l = page_new(3008, B2P_PAGE_TEXT_MIX, 0);
    {
        uint8_t body[22] = {0};
        b2p_put_le16(body + 2, 400);
        page_add(l, r, lob_record(r, 2, body, sizeof body));
    }
    text_pointer(tp, (rid){3008, 0});
    p = page_new(308, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, NULL, 0, false, tp, 16, 0x2));
    /* 309: a LARGE_ROOT_YUKON whose sizes go down */
    kids[0] = (rid){3000, 0}, kids[1] = (rid){3001, 0};
    ends[0] = CHUNK, ends[1] = 100;
    text_pointer(tp, large_root(3009, kids, ends, 2));
    p = page_new(309, B2P_PAGE_DATA, 0);
    page_add(p, r, lob_row(r, 1, NULL, 0, false, tp, 16, 0x2));
    opened o = backup_of_pages("damage");

    static const damage cases[] = {
        {"sizes inconsistent", 300, B2P_ERR_CORRUPT, "1:3001"},
        {"last size too large", 301, B2P_ERR_CORRUPT, "1:3000"},
        {"root loop", 302, B2P_ERR_CORRUPT, "1:3002"},
        {"internal loop", 303, B2P_ERR_CORRUPT, "1:3003"},
        {"missing page", 304, B2P_ERR_CORRUPT, "1:3999"}, /* a complete backup: a page a row points at was written */
        {"missing slot", 305, B2P_ERR_CORRUPT, "1:3000"},
        {"not a LOB page", 306, B2P_ERR_CORRUPT, "1:300"},
        {"record overruns", 307, B2P_ERR_CORRUPT, "1:3007"},
        {"too many links", 308, B2P_ERR_CORRUPT, "1:3008"},
        {"root sizes go down", 309, B2P_ERR_CORRUPT, "1:3001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        got g = {0};
        b2p_error err = {0};
        b2p_status st = scan(&o, cases[i].first, lob_cols, 3, &g, NULL, &err);
        if (st != cases[i].want)
            fail_msg("%s: status %d, expected %d (%s)", cases[i].what, st, cases[i].want, err.msg);
        if (!strstr(err.msg, cases[i].names)) fail_msg("%s: '%s' does not name %s", cases[i].what, err.msg,
                                                       cases[i].names);
        print_message("%s: %s\n", cases[i].what, err.msg);
        assert_int_equal(g.nrows, 0);
        got_free(&g);
    }
    backup_close(&o);
    free(v);
}

/* A sparse vector: tag, count, ids, end offsets, values. */
static size_t sparse_vector(uint8_t *out, const uint16_t *ids, const uint8_t *const *vals, const size_t *lens,
                            uint16_t c) {
    b2p_put_le16(out, 5);
    b2p_put_le16(out + 2, c);
    size_t pos = 4 + 4u * c;
    for (uint16_t k = 0; k < c; k++) {
        b2p_put_le16(out + 4 + 2 * k, ids[k]);
        memcpy(out + pos, vals[k], lens[k]);
        pos += lens[k];
        b2p_put_le16(out + 4 + 2u * c + 2 * k, (uint16_t)pos);
    }
    return pos;
}

static void test_sparse_columns(void **state) {
    (void)state;
    /* id int @4 (null bit 1, column 1); s_int int sparse (column 2), s_txt varchar sparse (3),
     * s_bit bit sparse (4); name varchar var 0 (null bit 2, column 5); the sparse vector is the
     * last variable column, complex. Sparse columns have no null bit. */
    static const b2p_column_layout cols[] = {
        {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4, .column_id = 1},
        {.xtype = 56, .fixed_len = 4, .is_sparse = true, .column_id = 2},
        {.xtype = 167, .is_sparse = true, .column_id = 3},
        {.xtype = 104, .is_bit = true, .is_sparse = true, .column_id = 4},
        {.leaf_offset = -1, .null_bit = 2, .xtype = 167, .column_id = 5},
    };
    uint8_t r[512], vec[128], fixed[4], i42[4];
    b2p_put_le32(i42, 42);
    page *p = page_new(400, B2P_PAGE_DATA, 0);
    /* row 0: s_int 42, s_txt 'hello' */
    {
        uint16_t ids[] = {2, 3};
        const uint8_t *vals[] = {i42, (const uint8_t *)"hello"};
        size_t lens[] = {4, 5};
        record_var v[2] = {{(const uint8_t *)"a", 1, false}, {vec, sparse_vector(vec, ids, vals, lens, 2), true}};
        b2p_put_le32(fixed, 1);
        page_add(p, r, fixedvar_record(r, 0, false, fixed, 4, 2, 0, v, 2));
    }
    /* row 1: no sparse vector: every sparse column NULL */
    {
        record_var v[1] = {{(const uint8_t *)"bb", 2, false}};
        b2p_put_le32(fixed, 2);
        page_add(p, r, fixedvar_record(r, 0, false, fixed, 4, 2, 0, v, 1));
    }
    /* row 2: s_bit 1 and s_txt '' (present, empty); name NULL */
    {
        uint16_t ids[] = {3, 4};
        const uint8_t one = 1;
        const uint8_t *vals[] = {(const uint8_t *)"", &one};
        size_t lens[] = {0, 1};
        record_var v[2] = {{NULL, 0, false}, {vec, sparse_vector(vec, ids, vals, lens, 2), true}};
        b2p_put_le32(fixed, 3);
        page_add(p, r, fixedvar_record(r, 0, false, fixed, 4, 2, 0x2, v, 2));
    }
    /* page 401: a damaged vector (end offsets go down) */
    page *q = page_new(401, B2P_PAGE_DATA, 0);
    {
        uint16_t ids[] = {2, 3};
        const uint8_t *vals[] = {i42, (const uint8_t *)"hello"};
        size_t lens[] = {4, 5};
        size_t n = sparse_vector(vec, ids, vals, lens, 2);
        b2p_put_le16(vec + 4 + 4 + 2, 3); /* second end before the first */
        record_var v[2] = {{(const uint8_t *)"a", 1, false}, {vec, n, true}};
        b2p_put_le32(fixed, 4);
        page_add(q, r, fixedvar_record(r, 0, false, fixed, 4, 2, 0, v, 2));
    }
    opened o = backup_of_pages("sparse");
    got g = {0};
    b2p_error err = {0};
    b2p_status st = scan(&o, 400, cols, 5, &g, NULL, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal(g.nrows, 3);
    const uint8_t one = 1;
    assert_int_cell(&g, 0, 0, 1);
    assert_cell(&g, 0, 1, i42, 4);
    assert_cell(&g, 0, 2, "hello", 5);
    assert_null_cell(&g, 0, 3);
    assert_cell(&g, 0, 4, "a", 1);
    assert_int_cell(&g, 1, 0, 2);
    assert_null_cell(&g, 1, 1);
    assert_null_cell(&g, 1, 2);
    assert_null_cell(&g, 1, 3);
    assert_cell(&g, 1, 4, "bb", 2);
    assert_null_cell(&g, 2, 1);
    assert_cell(&g, 2, 2, "", 0);
    assert_cell(&g, 2, 3, &one, 1);
    assert_null_cell(&g, 2, 4);
    got_free(&g);
    st = scan(&o, 401, cols, 5, &g, NULL, &err);
    assert_int_equal(st, B2P_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "1:401 slot 0"));
    got_free(&g);
    backup_close(&o);

    /* the parser alone */
    b2p_sparse_vector sv;
    uint16_t ids[] = {7};
    const uint8_t *vals[] = {(const uint8_t *)"xyz"};
    size_t lens[] = {3};
    size_t n = sparse_vector(vec, ids, vals, lens, 1);
    assert_int_equal(b2p_sparse_parse(vec, n, &sv, &err), B2P_OK);
    const uint8_t *b;
    size_t len;
    assert_true(b2p_sparse_get(&sv, 7, &b, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(b, "xyz", 3);
    assert_false(b2p_sparse_get(&sv, 8, &b, &len));
    assert_int_equal(b2p_sparse_parse(vec, 3, &sv, &err), B2P_ERR_CORRUPT);       /* short */
    assert_int_equal(b2p_sparse_parse(vec, n - 1, &sv, &err), B2P_ERR_CORRUPT);   /* end beyond */
    b2p_put_le16(vec + 2, 100);
    assert_int_equal(b2p_sparse_parse(vec, n, &sv, &err), B2P_ERR_CORRUPT);       /* count too big */
    vec[0] = 4;
    assert_int_equal(b2p_sparse_parse(vec, n, &sv, &err), B2P_ERR_CORRUPT);       /* not 05 00 */
}

static void test_added_column_defaults(void **state) {
    (void)state;
    /* id int @4 (null bit 1); qty int @8 added later NOT NULL DEFAULT 42 (null bit 3, default in
     * metadata); tag varchar var 1 added later DEFAULT 'abc' (null bit 4); extra int @12 added
     * later, nullable, no default (null bit 5). Rows written before: 2 columns. */
    uint8_t d42[4];
    b2p_put_le32(d42, 42);
    const b2p_column_layout cols[] = {
        {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4},
        {.leaf_offset = 8, .null_bit = 3, .xtype = 56, .fixed_len = 4, .has_missing_default = true,
         .missing_default = d42, .missing_default_len = 4},
        {.leaf_offset = -2, .null_bit = 4, .xtype = 167, .has_missing_default = true,
         .missing_default = (const uint8_t *)"abc", .missing_default_len = 3},
        {.leaf_offset = 12, .null_bit = 5, .xtype = 56, .fixed_len = 4},
        {.leaf_offset = -1, .null_bit = 2, .xtype = 167},
    };
    uint8_t r[256], fixed[12];
    page *p = page_new(500, B2P_PAGE_DATA, 0);
    /* before: id, name */
    b2p_put_le32(fixed, 1);
    record_var old[1] = {{(const uint8_t *)"old", 3, false}};
    page_add(p, r, fixedvar_record(r, 0, false, fixed, 4, 2, 0, old, 1));
    /* after: all five, qty 7, tag 'x', extra NULL */
    b2p_put_le32(fixed, 2);
    b2p_put_le32(fixed + 4, 7);
    b2p_put_le32(fixed + 8, 0);
    record_var nw[2] = {{(const uint8_t *)"new", 3, false}, {(const uint8_t *)"x", 1, false}};
    page_add(p, r, fixedvar_record(r, 0, false, fixed, 12, 5, 0x10, nw, 2));
    opened o = backup_of_pages("defaults");
    got g = {0};
    b2p_error err = {0};
    b2p_status st = scan(&o, 500, cols, 5, &g, NULL, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal(g.nrows, 2);
    assert_int_cell(&g, 0, 0, 1);
    assert_cell(&g, 0, 1, d42, 4);
    assert_cell(&g, 0, 2, "abc", 3);
    assert_null_cell(&g, 0, 3);
    assert_cell(&g, 0, 4, "old", 3);
    assert_int_cell(&g, 1, 0, 2);
    assert_int_cell(&g, 1, 1, 7);
    assert_cell(&g, 1, 2, "x", 1);
    assert_null_cell(&g, 1, 3);
    assert_cell(&g, 1, 4, "new", 3);
    got_free(&g);
    backup_close(&o);
}

/* What the export refuses by name, and the columns it writes for a table with a column set. */
static void test_export_storage_kinds(void **state) {
    (void)state;
    b2p_cat_column cols[3] = {
        {.column_id = 1, .name = "id", .xtype = 56},
        {.column_id = 2, .name = "s", .xtype = 56, .is_sparse = true},
        {.column_id = 3, .name = "cs", .xtype = 241},
    };
    b2p_cat_rscol rscols[2] = {{.rscolid = 1, .column_id = 1}, {.rscolid = 2, .column_id = 2, .status = 0x100}};
    b2p_cat_partition part = {.index_id = 0, .partition_number = 1, .nrscols = 2, .rscols = rscols};
    b2p_cat_table t = {.schema = "dbo", .name = "t", .ncolumns = 3, .columns = cols, .npartitions = 1,
                       .partitions = &part};
    assert_null(b2p_export_unsupported(&t));
    const b2p_cat_column *out[3];
    assert_int_equal(b2p_export_columns(&t, out, 3), 2); /* the column set is left out */
    assert_ptr_equal(out[1], &cols[1]);
    cols[1].is_sparse = false;                           /* no sparse column: an ordinary xml */
    assert_int_equal(b2p_export_columns(&t, out, 3), 3);
    t.is_memory_optimized = true;
    assert_non_null(strstr(b2p_export_unsupported(&t), "memory-optimized"));
    t.is_memory_optimized = false;
    cols[2].is_filestream = true;
    assert_non_null(strstr(b2p_export_unsupported(&t), "FILESTREAM"));
    cols[2].is_filestream = false;
    rscols[1].status = 0x20;
    assert_non_null(strstr(b2p_export_unsupported(&t), "FILESTREAM"));
    rscols[1].status = 0;
    part.compression = 3;
    assert_non_null(strstr(b2p_export_unsupported(&t), "columnstore"));
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s/b2p-rows-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    pages = calloc(MAX_PAGES, sizeof *pages);
    return pages && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(pages);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixedvar_records),
        cmocka_unit_test(test_lob_values),
        cmocka_unit_test(test_lob_damage),
        cmocka_unit_test(test_sparse_columns),
        cmocka_unit_test(test_added_column_defaults),
        cmocka_unit_test(test_export_storage_kinds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
