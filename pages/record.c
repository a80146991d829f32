/* FixedVar records (pages.md 4.1, 4.2, 4.4, 4.5). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pages.h"

#define STATUS_A_NULL_BITMAP 0x10
#define STATUS_A_VAR_COLUMNS 0x20
#define STATUS_A_VERSIONED 0x40
#define STATUS_B_GHOST_FORWARDED 0x01
#define VAR_END_COMPLEX 0x8000u
#define VAR_END_MASK 0x7FFFu
#define VERSION_TAG_SIZE 14
#define FORWARDING_STUB_SIZE 9
#define RECORD_PREFIX_SIZE 4

#define REC_FAIL(h, slot, ...) record_fail(err, (h), (slot), __VA_ARGS__)

static b2p_status record_fail(b2p_error *err, const b2p_page_header *h, uint16_t slot,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static b2p_status record_fail(b2p_error *err, const b2p_page_header *h, uint16_t slot,
                              const char *fmt, ...) {
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u slot %u: %s", h->self.file, h->self.page,
                    slot, what);
}

static b2p_status parse_forwarding_stub(const b2p_page_header *h, uint16_t slot, b2p_record *r,
                                        b2p_error *err) {
    if (r->avail < FORWARDING_STUB_SIZE)
        return REC_FAIL(h, slot, "forwarding stub of %zu bytes, expected %d", r->avail,
                        FORWARDING_STUB_SIZE);
    r->forward_to = b2p_page_ptr_read(r->data + 1);
    r->forward_slot = b2p_le16(r->data + 7);
    r->length = FORWARDING_STUB_SIZE;
    return B2P_OK;
}

/* Null bitmap and variable-column offset array after the fixed area. */
static b2p_status parse_column_arrays(const b2p_page_header *h, uint16_t slot, b2p_record *r,
                                      b2p_error *err) {
    size_t pos = r->fixed_end;
    if (pos + 2 > r->avail)
        return REC_FAIL(h, slot, "column count at %zu beyond the record area (%zu bytes)", pos,
                        r->avail);
    r->ncols = b2p_le16(r->data + pos);
    pos += 2;
    if (r->status_a & STATUS_A_NULL_BITMAP) {
        size_t bitmap = ((size_t)r->ncols + 7) / 8;
        if (pos + bitmap > r->avail)
            return REC_FAIL(h, slot, "null bitmap of %u columns beyond the record area",
                            r->ncols);
        r->null_bitmap = r->data + pos;
        pos += bitmap;
    }
    r->var_start = (uint16_t)pos;
    if (!(r->status_a & STATUS_A_VAR_COLUMNS)) {
        r->length = pos;
        return B2P_OK;
    }
    if (pos + 2 > r->avail)
        return REC_FAIL(h, slot, "variable column count beyond the record area");
    r->nvar = b2p_le16(r->data + pos);
    pos += 2;
    if (r->nvar > r->ncols)
        return REC_FAIL(h, slot, "%u variable columns but only %u columns", r->nvar, r->ncols);
    if (pos + 2u * r->nvar > r->avail)
        return REC_FAIL(h, slot, "offsets of %u variable columns beyond the record area",
                        r->nvar);
    r->var_ends = r->nvar ? r->data + pos : NULL;
    pos += 2u * r->nvar;
    r->var_start = (uint16_t)pos;
    size_t prev = pos;
    for (uint16_t k = 0; k < r->nvar; k++) {
        size_t end = b2p_le16(r->var_ends + 2 * k) & VAR_END_MASK;
        if (end < prev || end > r->avail)
            return REC_FAIL(h, slot,
                            "variable column %u ends at %zu, expected within [%zu, %zu]", k, end,
                            prev, r->avail);
        prev = end;
    }
    r->length = prev;
    return B2P_OK;
}

b2p_status b2p_record_parse(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                            uint16_t slot, uint16_t offset, b2p_record *out, b2p_error *err) {
    b2p_record r;
    memset(&r, 0, sizeof r);
    size_t limit = B2P_PAGE_SIZE - 2u * h->slot_count;
    if (offset < B2P_PAGE_HEADER_SIZE || offset >= limit)
        return REC_FAIL(h, slot, "record offset %u outside the record area", offset);
    r.data = page + offset;
    r.avail = limit - offset;
    r.status_a = r.data[0];
    r.type = (b2p_record_type)((r.status_a >> 1) & 7);
    r.versioned = (r.status_a & STATUS_A_VERSIONED) != 0;
    if (r.type == B2P_REC_FORWARDING_STUB) {
        b2p_status st = parse_forwarding_stub(h, slot, &r, err);
        if (st) return st;
        *out = r;
        return B2P_OK;
    }
    if (r.type == B2P_REC_INDEX || r.type == B2P_REC_GHOST_INDEX)
        return REC_FAIL(h, slot, "index record where a data record was expected");
    if (r.avail < RECORD_PREFIX_SIZE + 2)
        return REC_FAIL(h, slot, "record of %zu bytes is shorter than its prefix", r.avail);
    r.status_b = r.data[1];
    r.ghost = r.type == B2P_REC_GHOST_DATA || r.type == B2P_REC_GHOST_VERSION ||
              (r.status_b & STATUS_B_GHOST_FORWARDED);
    r.fixed_end = b2p_le16(r.data + 2);
    if (r.fixed_end < RECORD_PREFIX_SIZE)
        return REC_FAIL(h, slot, "fixed area ends at %u, before the 4-byte prefix", r.fixed_end);
    b2p_status st = parse_column_arrays(h, slot, &r, err);
    if (st) return st;
    if (r.versioned) {
        if (r.length + VERSION_TAG_SIZE > r.avail)
            return REC_FAIL(h, slot, "versioning tag beyond the record area");
        r.length += VERSION_TAG_SIZE;
    }
    *out = r;
    return B2P_OK;
}

bool b2p_record_is_live_row(const b2p_record *r) {
    return !r->ghost && (r->type == B2P_REC_PRIMARY || r->type == B2P_REC_FORWARDED);
}

bool b2p_record_is_null(const b2p_record *r, uint16_t null_bit) {
    if (null_bit == 0) return false;
    if (null_bit > r->ncols) return true; /* column added after this row was written */
    if (!r->null_bitmap) return false;
    unsigned b = null_bit - 1u;
    return (r->null_bitmap[b >> 3] >> (b & 7)) & 1;
}

b2p_status b2p_record_fixed(const b2p_record *r, uint16_t rec_offset, uint16_t len,
                            const uint8_t **out, b2p_error *err) {
    if (rec_offset < RECORD_PREFIX_SIZE || (size_t)rec_offset + len > r->fixed_end)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "record field [%u, %u) outside its fixed area [4, %u)", rec_offset,
                        rec_offset + len, r->fixed_end);
    *out = r->data + rec_offset;
    return B2P_OK;
}

b2p_status b2p_record_var(const b2p_record *r, uint16_t k, const uint8_t **out, size_t *len,
                          bool *complex, bool *present, b2p_error *err) {
    (void)err; /* offsets were validated by the parse */
    *out = NULL;
    *len = 0;
    *complex = false;
    *present = k < r->nvar;
    if (!*present) return B2P_OK;
    size_t start = k ? (b2p_le16(r->var_ends + 2 * (k - 1)) & VAR_END_MASK) : r->var_start;
    uint16_t raw_end = b2p_le16(r->var_ends + 2 * k);
    *out = r->data + start;
    *len = (raw_end & VAR_END_MASK) - start;
    *complex = (raw_end & VAR_END_COMPLEX) != 0;
    return B2P_OK;
}

b2p_status b2p_record_column(const b2p_record *r, const b2p_column_layout *c,
                             b2p_column_bytes *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    if (b2p_record_is_null(r, c->null_bit)) {
        out->is_null = true;
        return B2P_OK;
    }
    if (c->leaf_offset < 0) {
        bool present;
        b2p_status st = b2p_record_var(r, (uint16_t)(-c->leaf_offset - 1), &out->bytes, &out->len,
                                       &out->complex, &present, err);
        if (st) return st;
        /* Absent trailing variable column with a clear null bit: empty, not NULL (4.2). */
        return B2P_OK;
    }
    uint16_t len = c->is_bit ? 1 : c->fixed_len;
    out->len = len;
    return b2p_record_fixed(r, (uint16_t)c->leaf_offset, len, &out->bytes, err);
}
