/* Rows: every live record of a rowset, each requested column located by its physical layout,
 * with off-row values brought back in full (pages.md 4.5-4.7):
 *   - row-overflow pointers (complex, first byte 0x02): one link to a DATA fragment;
 *   - in-row LOB roots (complex, 0x04) of (max) types and xml: links to DATA / INTERNAL records;
 *   - 16-byte text pointers of text / ntext / image: RID of a SMALL_ROOT or LARGE_ROOT_YUKON.
 * Every 12-byte link's cumulative size is checked as the value is assembled, and nothing beyond
 * it is ever appended, so damaged or looping chains fail as CORRUPT naming the page.
 * Sparse columns come from the record's sparse vector (sparse.c, pages.md 5.4); a column added
 * after a row was written gets its metadata default when the layout carries one (pages.md 4.2).
 * Heap scans deliver forwarded records where they live and skip forwarding stubs, so each row
 * comes once. Values are assembled into one scratch buffer per row: no size limit but memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages/lob_int.h"

enum {
    XT_IMAGE = 34,
    XT_TEXT = 35,
    XT_NTEXT = 99,
    XT_BIT = 104,
};

typedef struct row_scan {
    b2p_pages *src;
    const b2p_rowset_ref *rs;
    b2p_row_fn fn;
    void *ctx;
    b2p_error *err;
    b2p_row_stats *stats;
    b2p_cell *cells;
    size_t *offsets;             /* where each assembled value starts in the scratch buffer */
    bool *assembled;
    lob_buffer buf;              /* the row's assembled values (offsets index it) */
    lob_walker lob;              /* off-row values, appended to buf */
    b2p_row_where where;
    bool sparse_read;            /* the current record's sparse vector was looked for ... */
    bool sparse_found;
    b2p_sparse_vector sparse;    /* ... and here it is */
    b2p_cd_record cd;            /* compressed rowsets: the record being read ... */
    b2p_cd_page cd_page;         /* ... its page's anchor and dictionary (PAGE) ... */
    uint8_t *cd_tmp;             /* ... and room for a value rebuilt from its anchor prefix */
} row_scan;

static b2p_status scratch_reserve(row_scan *s, size_t n) { return lob_buffer_reserve(&s->buf, n, s->err); }

/* Appends an off-row value from its in-row pointer (lob.c checks the length it announces). */
static b2p_status off_row_value(row_scan *s, const uint8_t *v, size_t len) {
    return lob_append_value(&s->lob, v, len);
}

static bool is_text_pointer_type(uint8_t xtype) {
    return xtype == XT_TEXT || xtype == XT_NTEXT || xtype == XT_IMAGE;
}

/* Adds the row's place to a message from a layer that does not know it. */
static b2p_status fail_at_row(row_scan *s, b2p_status st, const char *what) {
    char inner[sizeof s->err->msg];
    snprintf(inner, sizeof inner, "%s", s->err->msg);
    return b2p_fail(s->err, st, "row at %u:%u slot %u: %s: %s", s->where.file, s->where.page,
                    s->where.slot, what, inner);
}

/* A sparse column: its bytes from the record's sparse vector (looked for once per record);
 * absent is NULL. */
static b2p_status sparse_column(row_scan *s, const b2p_record *rec, const b2p_column_layout *c,
                                b2p_column_bytes *out) {
    memset(out, 0, sizeof *out);
    if (!s->sparse_read) {
        b2p_status st = b2p_sparse_vector_find(rec, &s->sparse, &s->sparse_found, s->err);
        if (st) return fail_at_row(s, st, "sparse vector");
        s->sparse_read = true;
    }
    out->is_null = !s->sparse_found || !b2p_sparse_get(&s->sparse, c->column_id, &out->bytes, &out->len);
    if (!out->is_null && c->is_bit && out->len < 1)
        return b2p_fail(s->err, B2P_ERR_CORRUPT, "row at %u:%u slot %u: sparse bit column %u has no byte",
                        s->where.file, s->where.page, s->where.slot, c->column_id);
    if (!out->is_null && !c->is_bit && c->fixed_len && out->len != c->fixed_len)
        return b2p_fail(s->err, B2P_ERR_CORRUPT, "row at %u:%u slot %u: sparse column %u holds %zu bytes, "
                        "its type has %u", s->where.file, s->where.page, s->where.slot, c->column_id, out->len,
                        c->fixed_len);
    return B2P_OK;
}

/* Fills cell i from the record; values that need assembling go to the scratch buffer. */
static b2p_status read_cell(row_scan *s, const b2p_record *rec, size_t i) {
    const b2p_column_layout *c = &s->rs->cols[i];
    b2p_cell *cell = &s->cells[i];
    s->assembled[i] = false;
    if (c->has_missing_default && c->null_bit > rec->ncols) {
        /* written before the column was added: its default lives in metadata (pages.md 4.2) */
        *cell = (b2p_cell){.bytes = c->missing_default, .len = c->missing_default_len};
        return B2P_OK;
    }
    b2p_column_bytes cb;
    b2p_status st = c->is_sparse ? sparse_column(s, rec, c, &cb) : b2p_record_column(rec, c, &cb, s->err);
    if (st) return st;
    *cell = (b2p_cell){.bytes = cb.bytes, .len = cb.len, .is_null = cb.is_null};
    if (cb.is_null) return B2P_OK;
    if (c->is_bit) {
        uint8_t bit = (uint8_t)((cb.bytes[0] >> (c->is_sparse ? 0 : c->bit_pos)) & 1);
        s->offsets[i] = s->buf.len;
        s->assembled[i] = true;
        cell->len = 1;
        return lob_buffer_append(&s->buf, &bit, 1, s->err);
    }
    bool off_row = cb.complex || (is_text_pointer_type(c->xtype) && cb.len == LOB_TEXT_POINTER_SIZE);
    if (!off_row || cb.len == 0) return B2P_OK;
    s->offsets[i] = s->buf.len;
    s->assembled[i] = true;
    st = off_row_value(s, cb.bytes, cb.len);
    cell->len = s->buf.len - s->offsets[i];
    return st;
}

/* ---- compressed rowsets (CD records, cdrecord.c) ------------------------------------------ */

/* Rebuilds the uncompressed bytes of a compressed in-row value into the scratch buffer. */
static b2p_status expand_cd_value(row_scan *s, size_t i, const b2p_cd_value *v) {
    const b2p_column_layout *c = &s->rs->cols[i];
    uint8_t bit = v->kind == B2P_CD_TRUE; /* a bit set has no bytes; EMPTY is 0 */
    const uint8_t *p = v->kind == B2P_CD_TRUE ? &bit : v->bytes;
    size_t len = v->kind == B2P_CD_TRUE ? 1 : v->len, n = 0;
    b2p_status st = scratch_reserve(s, b2p_cd_expanded_max(c, len));
    if (!st) st = b2p_cd_expand(c, p, len, s->buf.p + s->buf.len, &n, s->err);
    if (st == B2P_ERR_CORRUPT) {
        char inner[sizeof s->err->msg];
        snprintf(inner, sizeof inner, "%s", s->err->msg);
        return b2p_fail(s->err, st, "row at %u:%u slot %u, compressed column %u: %s", s->where.file,
                        s->where.page, s->where.slot, b2p_cd_ordinal(c), inner);
    }
    s->buf.len += n;
    return st;
}

/* Fills cell i from the CD record: the column at its CD ordinal, PAGE steps undone, then
 * either followed off-row or rebuilt to the uncompressed form. */
static b2p_status read_cd_cell(row_scan *s, size_t i) {
    const b2p_column_layout *c = &s->rs->cols[i];
    b2p_cell *cell = &s->cells[i];
    s->assembled[i] = false;
    if (c->is_sparse) /* where a CD record keeps sparse columns is not known (no fixture) */
        return b2p_fail(s->err, B2P_ERR_UNSUPPORTED, "row at %u:%u slot %u: sparse column %u in a compressed "
                        "partition, which bak2pg does not read", s->where.file, s->where.page, s->where.slot,
                        c->column_id);
    uint16_t k = b2p_cd_ordinal(c);
    if (k == UINT16_MAX)
        return b2p_fail(s->err, B2P_ERR_CORRUPT, "row at %u:%u slot %u: a column without a null bit in a "
                        "compressed partition (its CD position is unknown)", s->where.file, s->where.page,
                        s->where.slot);
    if (c->has_missing_default && k >= s->cd.ncols) { /* added later, default in metadata */
        *cell = (b2p_cell){.bytes = c->missing_default, .len = c->missing_default_len};
        return B2P_OK;
    }
    b2p_cd_value v;
    b2p_status st = b2p_cd_value_get(&s->cd_page, &s->cd, k, s->cd_tmp, &v, &s->where, s->err);
    if (st) return st;
    *cell = (b2p_cell){.bytes = v.bytes, .len = v.len, .is_null = v.is_null};
    if (v.is_null) return B2P_OK;
    s->offsets[i] = s->buf.len;
    s->assembled[i] = true;
    bool off_row = v.complex || (is_text_pointer_type(c->xtype) && v.len == LOB_TEXT_POINTER_SIZE);
    if (off_row && v.len > 0) st = off_row_value(s, v.bytes, v.len); /* LOB data is never compressed */
    else st = expand_cd_value(s, i, &v);
    cell->len = s->buf.len - s->offsets[i];
    return st;
}

/* Hands the row's cells to the caller, once every value is in the scratch buffer (which may have
 * moved while they were assembled, so assembled cells are pointed at it only now). */
static int deliver_row(row_scan *s) {
    for (size_t i = 0; i < s->rs->ncols; i++)
        if (s->assembled[i]) s->cells[i].bytes = s->buf.p + s->offsets[i];
    s->stats->rows++;
    return s->fn(s->ctx, s->cells, s->rs->ncols, &s->where);
}

/* Counts a CD record that is not a row; fails for one that has no place on a data page. */
static b2p_status skip_cd_record(row_scan *s) {
    if (s->cd.type == B2P_CD_FORWARDING) s->stats->forwarding_stubs++;
    else if (s->cd.ghost) s->stats->ghosts++;
    else return b2p_fail(s->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: CD record of type %u on a data page",
                         s->where.file, s->where.page, s->where.slot, s->cd.type);
    return B2P_OK;
}

static int on_cd_page(row_scan *s, const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h) {
    b2p_status st = b2p_cd_page_parse(page, h, &s->cd_page, s->err);
    if (st) return (int)st;
    size_t limit = B2P_PAGE_SIZE - 2u * h->slot_count; /* the slot array's start */
    size_t first = B2P_PAGE_HEADER_SIZE + (s->cd_page.has_ci ? s->cd_page.ci_size : 0);
    for (uint16_t slot = 0; slot < h->slot_count; slot++) {
        size_t off = b2p_le16(page + B2P_PAGE_SIZE - 2u * (slot + 1u));
        if (off == 0) continue; /* an emptied slot */
        s->where = (b2p_row_where){.file = h->self.file, .page = h->self.page, .slot = slot};
        if (off < first || off >= limit)
            return (int)b2p_fail(s->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: record offset %zu outside the "
                                 "record area [%zu, %zu)", h->self.file, h->self.page, slot, off, first, limit);
        if ((st = b2p_cd_record_parse(page + off, limit - off, &s->cd, &s->where, s->err))) return (int)st;
        if (!s->cd.live) {
            if ((st = skip_cd_record(s))) return (int)st;
            continue;
        }
        s->buf.len = 0;
        for (size_t i = 0; i < s->rs->ncols; i++)
            if ((st = read_cd_cell(s, i))) return (int)st;
        int rc = deliver_row(s);
        if (rc) return rc;
    }
    return 0;
}

static int on_page(void *ctx, const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h) {
    row_scan *s = ctx;
    s->stats->pages++;
    if (s->rs->compression != 0) return on_cd_page(s, page, h);
    for (uint16_t slot = 0; slot < h->slot_count; slot++) {
        b2p_record rec;
        b2p_status st = b2p_page_record(page, h, slot, &rec, s->err);
        if (st == B2P_ERR_NOT_FOUND) continue; /* an emptied slot */
        if (st) return (int)st;
        if (!b2p_record_is_live_row(&rec)) {
            if (rec.type == B2P_REC_FORWARDING_STUB) s->stats->forwarding_stubs++;
            else s->stats->ghosts++;
            continue;
        }
        s->where = (b2p_row_where){.file = h->self.file, .page = h->self.page, .slot = slot};
        s->buf.len = 0;
        s->sparse_read = false;
        for (size_t i = 0; i < s->rs->ncols; i++) {
            st = read_cell(s, &rec, i);
            if (st) return (int)st;
        }
        int rc = deliver_row(s);
        if (rc) return rc;
    }
    return 0;
}

b2p_status b2p_rows_scan(b2p_pages *src, const b2p_rowset_ref *rs, b2p_row_fn fn, void *ctx,
                         b2p_row_stats *stats, b2p_error *err) {
    b2p_row_stats local = {0};
    row_scan *s = calloc(1, sizeof *s);
    if (!s) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    *s = (row_scan){.src = src, .rs = rs, .fn = fn, .ctx = ctx, .err = err, .stats = stats ? stats : &local};
    s->lob = (lob_walker){.src = src, .err = err, .out = &s->buf, .row = &s->where};
    size_t n = rs->ncols ? rs->ncols : 1;
    s->cells = calloc(n, sizeof *s->cells);
    s->offsets = calloc(n, sizeof *s->offsets);
    s->assembled = calloc(n, sizeof *s->assembled);
    b2p_status st = B2P_OK;
    if (rs->compression != 0) s->cd_tmp = malloc(B2P_CD_TMP_SIZE);
    if (!s->cells || !s->offsets || !s->assembled || (rs->compression != 0 && !s->cd_tmp))
        st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    if (!st) st = b2p_au_scan(src, &rs->in_row, rs->method, on_page, s, &s->stats->scan, err);
    free(s->cells);
    free(s->offsets);
    free(s->assembled);
    free(s->buf.p);
    free(s->cd_tmp);
    b2p_cd_record_free(&s->cd);
    b2p_cd_page_free(&s->cd_page);
    free(s);
    return st;
}
