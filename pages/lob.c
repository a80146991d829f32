/* Off-row values, reassembled from the pointer their record holds (pages.md 4.6-4.7): row-overflow
 * pointers, in-row LOB roots and text pointers, followed through SMALL_ROOT, INTERNAL, DATA and
 * both large-root kinds. The row reader (rows.c) and b2p_lob_value (the catalog's long module
 * texts) both come here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages/lob_int.h"

enum {
    LINK_SIZE = 12,              /* u32 cumulative size + 8-byte RID */
    ROOT_HEADER = 12,            /* in-row root / row-overflow pointer header */
    MAX_DEPTH = 16,              /* LOB trees are a few levels deep; more is damage */
    MAX_FRAGMENTS = 1 << 20,     /* per value: 1 M fragments is ~8 GB (SQL Server's limit is
                                  * 2 GB, ~270 k fragments); more is a loop */
    KIND_SMALL_ROOT = 0,
    KIND_INTERNAL = 2,
    KIND_DATA = 3,
    KIND_LARGE_ROOT_SHILOH = 4,  /* SQL Server 2000's root: the Yukon layout, in databases attached from 2000 */
    KIND_LARGE_ROOT_YUKON = 5,
    KIND_NULL = 8,
};

b2p_status lob_buffer_reserve(lob_buffer *b, size_t n, b2p_error *err) {
    if (n <= b->cap - b->len) return B2P_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) return b2p_fail(err, B2P_ERR_NOMEM, "value too large for memory");
        cap *= 2;
    }
    uint8_t *q = realloc(b->p, cap);
    if (!q) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory assembling a value of %zu bytes", b->len + n);
    b->p = q;
    b->cap = cap;
    return B2P_OK;
}

b2p_status lob_buffer_append(lob_buffer *b, const uint8_t *p, size_t n, b2p_error *err) {
    b2p_status st = lob_buffer_reserve(b, n, err);
    if (st) return st;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return B2P_OK;
}

static lob_rid rid_at(const uint8_t *p) {
    return (lob_rid){.page = b2p_le32(p), .file = b2p_le16(p + 4), .slot = b2p_le16(p + 6)};
}

/* "row at 1:234 slot 5: " when the walker knows its row, else "". */
static const char *row_prefix(const lob_walker *w, char buf[64]) {
    if (!w->row) return "";
    snprintf(buf, 64, "row at %u:%u slot %u: ", w->row->file, w->row->page, w->row->slot);
    return buf;
}

/* Appends fragment bytes, never more than the links being followed announce. */
static b2p_status append(lob_walker *w, const uint8_t *p, size_t n) {
    char where[64];
    if (n > w->limit - w->out->len)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "%sLOB data longer than its links' cumulative sizes say "
                        "(%zu bytes)", row_prefix(w, where), w->limit - w->start);
    return lob_buffer_append(w->out, p, n, w->err);
}

/* The fixed area of the LOB record at `at` (a blob fragment: everything is fixed data). */
static b2p_status fragment(lob_walker *w, lob_rid at, const uint8_t **fixed, size_t *len) {
    if (w->cached.page != at.page || w->cached.file != at.file) {
        w->cached = (lob_rid){0, 0, 0};
        b2p_status st = b2p_pages_read(w->src, at.file, at.page, w->page, w->err);
        char where[64];
        /* a row points at the page, so it was written: in a complete backup its absence is damage;
         * with stripes missing (salvage) it may sit on an absent stripe */
        if (st == B2P_ERR_NOT_FOUND && b2p_pages_incomplete(w->src))
            return b2p_fail(w->err, B2P_ERR_NOT_FOUND, "%soff-row data on page %u:%u is not in the backup (stripes are "
                            "missing)", row_prefix(w, where), at.file, at.page);
        if (st == B2P_ERR_NOT_FOUND)
            return b2p_fail(w->err, B2P_ERR_CORRUPT, "%soff-row data on page %u:%u, which the row points at, is not in "
                            "the backup: damaged or never copied", row_prefix(w, where), at.file, at.page);
        if (st) return st;
        w->cached = at;
    }
    const uint8_t *pg = w->page;
    uint16_t slots = b2p_le16(pg + 22), type = pg[1];
    if (type != B2P_PAGE_TEXT_MIX && type != B2P_PAGE_TEXT_TREE && type != B2P_PAGE_DATA)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "page %u:%u: type %u, expected a LOB page (3 or 4)",
                        at.file, at.page, type);
    if (slots > (B2P_PAGE_SIZE - B2P_PAGE_HEADER_SIZE) / 2) /* a slot array larger than the page */
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "page %u:%u: %u slots cannot fit in a page", at.file, at.page,
                        slots);
    if (at.slot >= slots)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "page %u:%u: LOB slot %u, the page has %u slots",
                        at.file, at.page, at.slot, slots);
    size_t limit = B2P_PAGE_SIZE - 2u * slots;
    size_t off = b2p_le16(pg + B2P_PAGE_SIZE - 2u * (at.slot + 1u));
    if (off < B2P_PAGE_HEADER_SIZE || off + 4 > limit)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: record offset %zu outside the record area",
                        at.file, at.page, at.slot, off);
    size_t fixed_end = b2p_le16(pg + off + 2);
    if (fixed_end < 14 || off + fixed_end > limit)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: LOB record of %zu bytes does not fit",
                        at.file, at.page, at.slot, fixed_end);
    *fixed = pg + off + 4;
    *len = fixed_end - 4;
    return B2P_OK;
}

static b2p_status tree(lob_walker *w, lob_rid at, unsigned depth);

/* Follows n links of `size` bytes each starting at p (RID at +rid_at), in order. The links are
 * copied first: reading a child replaces the cached page the links live on. 12-byte links
 * (in-row roots, row-overflow pointers, large roots) start with the cumulative size of the data
 * through that link, counted from the node's first byte: each child must bring exactly its
 * share, and may not bring more while it is being read. */
static b2p_status follow_links(lob_walker *w, const uint8_t *p, size_t n, size_t size, size_t rid_offset,
                               unsigned depth) {
    lob_rid *kids = malloc(n ? n * sizeof *kids : 1);
    uint32_t *ends = malloc(n ? n * sizeof *ends : 1);
    if (!kids || !ends) {
        free(kids);
        free(ends);
        return b2p_fail(w->err, B2P_ERR_NOMEM, "out of memory");
    }
    bool sized = size == LINK_SIZE;
    for (size_t i = 0; i < n; i++) {
        kids[i] = rid_at(p + i * size + rid_offset);
        ends[i] = sized ? b2p_le32(p + i * size) : 0;
    }
    size_t base = w->out->len, outer = w->limit;
    b2p_status st = B2P_OK;
    char where[64];
    for (size_t i = 0; i < n && !st; i++) {
        if (sized) {
            if ((i && ends[i] < ends[i - 1]) || ends[i] > outer - base) {
                st = b2p_fail(w->err, B2P_ERR_CORRUPT, "%sLOB link %zu to page %u:%u slot %u: cumulative size "
                              "%u inconsistent with its neighbours", row_prefix(w, where), i, kids[i].file,
                              kids[i].page, kids[i].slot, ends[i]);
                break;
            }
            w->limit = base + ends[i];
        }
        st = tree(w, kids[i], depth + 1);
        if (!st && sized && w->out->len != base + ends[i])
            st = b2p_fail(w->err, B2P_ERR_CORRUPT, "%sLOB link %zu to page %u:%u slot %u brought %zu bytes, its "
                          "cumulative size says %llu", row_prefix(w, where), i, kids[i].file, kids[i].page,
                          kids[i].slot, w->out->len - base, (unsigned long long)ends[i]);
    }
    w->limit = outer;
    free(kids);
    free(ends);
    return st;
}

/* Appends the bytes of the LOB record tree rooted at `at`. */
static b2p_status tree(lob_walker *w, lob_rid at, unsigned depth) {
    char where[64];
    if (depth > MAX_DEPTH || ++w->fragments > MAX_FRAGMENTS)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "%sLOB tree deeper or larger than any SQL Server writes (at "
                        "page %u:%u slot %u): a loop?", row_prefix(w, where), at.file, at.page, at.slot);
    const uint8_t *f = NULL;
    size_t len = 0;
    b2p_status st = fragment(w, at, &f, &len);
    if (st) return st;
    uint16_t kind = b2p_le16(f + 8);
    switch (kind) {
    case KIND_DATA:
        return append(w, f + 10, len - 10);
    case KIND_SMALL_ROOT: {
        size_t n = len >= 16 ? b2p_le16(f + 10) : 0;
        if (len < 16 || n > len - 16) break;
        return append(w, f + 16, n);
    }
    case KIND_INTERNAL: { /* cur links @12, 16-byte entries @16: offset u64, RID */
        size_t n = len >= 16 ? b2p_le16(f + 12) : 0;
        if (len < 16 || 16 + n * 16 > len) break;
        return follow_links(w, f + 16, n, 16, 8, depth);
    }
    case KIND_LARGE_ROOT_SHILOH:
    case KIND_LARGE_ROOT_YUKON: { /* cur links @12, 12-byte entries @20: size u32, RID */
        size_t n = len >= 20 ? b2p_le16(f + 12) : 0;
        if (len < 20 || 20 + n * LINK_SIZE > len) break;
        return follow_links(w, f + 20, n, LINK_SIZE, 4, depth);
    }
    case KIND_NULL:
        return B2P_OK;
    default:
        return b2p_fail(w->err, B2P_ERR_UNSUPPORTED, "page %u:%u slot %u: LOB record of kind %u, which bak2pg "
                        "does not read", at.file, at.page, at.slot, kind);
    }
    return b2p_fail(w->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: LOB record of kind %u overruns its %zu bytes",
                    at.file, at.page, at.slot, kind, len);
}

b2p_status lob_append_value(lob_walker *w, const uint8_t *ptr, size_t len) {
    size_t start = w->out->len;
    w->fragments = 0;
    w->start = start;
    w->limit = SIZE_MAX;
    char where[64];
    b2p_status st;
    uint64_t expected = UINT64_MAX;
    if (len >= 1 && (ptr[0] == 0x02 || ptr[0] == 0x04)) { /* row-overflow pointer or in-row LOB root */
        if (len < ROOT_HEADER + LINK_SIZE || (len - ROOT_HEADER) % LINK_SIZE != 0)
            return b2p_fail(w->err, B2P_ERR_CORRUPT, "%soff-row pointer of %zu bytes", row_prefix(w, where), len);
        size_t n = (len - ROOT_HEADER) / LINK_SIZE;
        expected = b2p_le32(ptr + ROOT_HEADER + (n - 1) * LINK_SIZE); /* sizes are cumulative */
        st = follow_links(w, ptr + ROOT_HEADER, n, LINK_SIZE, 4, 0);
    } else if (len == LOB_TEXT_POINTER_SIZE) {
        st = tree(w, rid_at(ptr + 8), 0);
    } else {
        return b2p_fail(w->err, B2P_ERR_UNSUPPORTED, "%scomplex value of kind 0x%02x (%zu bytes), which bak2pg "
                        "does not read", row_prefix(w, where), len ? ptr[0] : 0, len);
    }
    if (st) return st;
    if (expected != UINT64_MAX && w->out->len - start != expected)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "%soff-row value of %zu bytes, its pointer says %llu",
                        row_prefix(w, where), w->out->len - start, (unsigned long long)expected);
    return B2P_OK;
}

b2p_status b2p_lob_value(b2p_pages *src, const uint8_t *ptr, size_t len, uint8_t **out, size_t *out_len,
                         b2p_error *err) {
    *out = NULL;
    *out_len = 0;
    lob_buffer buf = {0};
    lob_walker *w = calloc(1, sizeof *w); /* holds a page: not on the stack */
    if (!w) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    *w = (lob_walker){.src = src, .err = err, .out = &buf};
    b2p_status st = lob_append_value(w, ptr, len);
    free(w);
    if (!st && !buf.p) st = lob_buffer_reserve(&buf, 1, err); /* an empty value is still a buffer */
    if (st) {
        free(buf.p);
        return st;
    }
    *out = buf.p;
    *out_len = buf.len;
    return B2P_OK;
}
