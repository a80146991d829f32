/* One off-row value, reassembled from the pointer its record holds (pages.md 4.6-4.7): the same
 * record formats the row reader (rows.c) follows, for callers that hold a single pointer rather
 * than scan a rowset (the catalog's long module text in sysobjvalues.imageval). */
#include <stdlib.h>
#include <string.h>

#include "pages.h"

enum {
    LOB_LINK = 12,               /* u32 cumulative size + 8-byte RID */
    LOB_ROOT_HEADER = 12,        /* in-row root / row-overflow pointer header */
    LOB_TEXT_POINTER = 16,
    LOB_MAX_DEPTH = 16,          /* LOB trees are a few levels deep; more is damage */
    LOB_MAX_FRAGMENTS = 1 << 24, /* a loop, not data */
    LOB_MAX_BYTES = 0x7FFFFFFF,  /* a varbinary(max) holds at most 2^31 - 1 bytes */
    KIND_SMALL_ROOT = 0,
    KIND_INTERNAL = 2,
    KIND_DATA = 3,
    KIND_LARGE_ROOT_SHILOH = 4,
    KIND_LARGE_ROOT_YUKON = 5,
    KIND_NULL = 8,
};

typedef struct lob_rid {
    uint32_t page;
    uint16_t file, slot;
} lob_rid;

typedef struct lob_read {
    b2p_pages *src;
    b2p_error *err;
    uint8_t *out;
    size_t len, cap;
    uint64_t fragments;
    uint8_t page[B2P_PAGE_SIZE];
    lob_rid cached;              /* the page in `page` (file 0: none) */
} lob_read;

static lob_rid lob_rid_at(const uint8_t *p) {
    return (lob_rid){.page = b2p_le32(p), .file = b2p_le16(p + 4), .slot = b2p_le16(p + 6)};
}

static b2p_status lob_append(lob_read *r, const uint8_t *p, size_t n) {
    if (n > (size_t)LOB_MAX_BYTES - r->len)
        return b2p_fail(r->err, B2P_ERR_CORRUPT, "off-row value longer than 2^31 - 1 bytes: a loop?");
    if (n > r->cap - r->len) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap - r->len < n) cap *= 2;
        uint8_t *q = realloc(r->out, cap);
        if (!q) return b2p_fail(r->err, B2P_ERR_NOMEM, "out of memory assembling an off-row value");
        r->out = q;
        r->cap = cap;
    }
    if (n) memcpy(r->out + r->len, p, n);
    r->len += n;
    return B2P_OK;
}

/* The fixed area of the LOB record at rid (everything in a blob fragment is fixed data). */
static b2p_status lob_fragment(lob_read *r, lob_rid at, const uint8_t **fixed, size_t *len) {
    if (r->cached.file != at.file || r->cached.page != at.page) {
        r->cached = (lob_rid){0, 0, 0};
        b2p_status st = b2p_pages_read(r->src, at.file, at.page, r->page, r->err);
        if (st == B2P_ERR_NOT_FOUND)
            return b2p_fail(r->err, B2P_ERR_NOT_FOUND, "off-row data on page %u:%u is not in the backup", at.file,
                            at.page);
        if (st) return st;
        r->cached = at;
    }
    const uint8_t *pg = r->page;
    uint16_t slots = b2p_le16(pg + 22);
    uint8_t type = pg[1];
    if (type != B2P_PAGE_TEXT_MIX && type != B2P_PAGE_TEXT_TREE && type != B2P_PAGE_DATA)
        return b2p_fail(r->err, B2P_ERR_CORRUPT, "page %u:%u: type %u, expected a LOB page (3 or 4)", at.file, at.page,
                        type);
    if (at.slot >= slots || 2u * slots > B2P_PAGE_SIZE - B2P_PAGE_HEADER_SIZE)
        return b2p_fail(r->err, B2P_ERR_CORRUPT, "page %u:%u: LOB slot %u, the page has %u slots", at.file, at.page,
                        at.slot, slots);
    size_t limit = B2P_PAGE_SIZE - 2u * slots;
    size_t off = b2p_le16(pg + B2P_PAGE_SIZE - 2u * (at.slot + 1u));
    if (off < B2P_PAGE_HEADER_SIZE || off + 4 > limit)
        return b2p_fail(r->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: record offset %zu outside the record area",
                        at.file, at.page, at.slot, off);
    size_t fixed_end = b2p_le16(pg + off + 2);
    if (fixed_end < 14 || off + fixed_end > limit)
        return b2p_fail(r->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: LOB record of %zu bytes does not fit", at.file,
                        at.page, at.slot, fixed_end);
    *fixed = pg + off + 4;
    *len = fixed_end - 4;
    return B2P_OK;
}

static b2p_status lob_tree(lob_read *r, lob_rid at, unsigned depth);

/* Follows n links of `size` bytes from p (RID at +rid_at), in order; the links are copied
 * first, since reading a child replaces the cached page they live on. */
static b2p_status lob_links(lob_read *r, const uint8_t *p, size_t n, size_t size, size_t rid_at, unsigned depth) {
    lob_rid *kids = malloc(n ? n * sizeof *kids : 1);
    if (!kids) return b2p_fail(r->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) kids[i] = lob_rid_at(p + i * size + rid_at);
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < n && !st; i++) st = lob_tree(r, kids[i], depth + 1);
    free(kids);
    return st;
}

static b2p_status lob_tree(lob_read *r, lob_rid at, unsigned depth) {
    if (depth > LOB_MAX_DEPTH || ++r->fragments > LOB_MAX_FRAGMENTS)
        return b2p_fail(r->err, B2P_ERR_CORRUPT, "LOB tree deeper or larger than any SQL Server writes (at page "
                        "%u:%u slot %u): a loop?", at.file, at.page, at.slot);
    const uint8_t *f = NULL;
    size_t len = 0;
    b2p_status st = lob_fragment(r, at, &f, &len);
    if (st) return st;
    uint16_t kind = b2p_le16(f + 8);
    switch (kind) {
    case KIND_DATA:
        return lob_append(r, f + 10, len - 10);
    case KIND_SMALL_ROOT: {
        size_t n = len >= 16 ? b2p_le16(f + 10) : 0;
        if (len < 16 || n > len - 16) break;
        return lob_append(r, f + 16, n);
    }
    case KIND_INTERNAL: { /* links @12, 16-byte entries @16: offset u64, RID */
        size_t n = b2p_le16(f + 12);
        if (16 + n * 16 > len) break;
        return lob_links(r, f + 16, n, 16, 8, depth);
    }
    case KIND_LARGE_ROOT_SHILOH:
    case KIND_LARGE_ROOT_YUKON: { /* links @12, 12-byte entries @20: size u32, RID */
        size_t n = b2p_le16(f + 12);
        if (20 + n * LOB_LINK > len) break;
        return lob_links(r, f + 20, n, LOB_LINK, 4, depth);
    }
    case KIND_NULL:
        return B2P_OK;
    default:
        return b2p_fail(r->err, B2P_ERR_UNSUPPORTED, "page %u:%u slot %u: LOB record of kind %u, which bak2pg "
                        "does not read", at.file, at.page, at.slot, kind);
    }
    return b2p_fail(r->err, B2P_ERR_CORRUPT, "page %u:%u slot %u: LOB record of kind %u overruns its %zu bytes",
                    at.file, at.page, at.slot, kind, len);
}

b2p_status b2p_lob_value(b2p_pages *src, const uint8_t *ptr, size_t len, uint8_t **out, size_t *out_len,
                         b2p_error *err) {
    *out = NULL;
    *out_len = 0;
    lob_read *r = calloc(1, sizeof *r);
    if (!r) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    r->src = src;
    r->err = err;
    b2p_status st;
    uint64_t expected = UINT64_MAX;
    if (len >= 1 && (ptr[0] == 0x02 || ptr[0] == 0x04)) { /* row-overflow pointer or in-row LOB root */
        if (len < LOB_ROOT_HEADER + LOB_LINK || (len - LOB_ROOT_HEADER) % LOB_LINK != 0) {
            st = b2p_fail(err, B2P_ERR_CORRUPT, "off-row pointer of %zu bytes", len);
        } else {
            size_t n = (len - LOB_ROOT_HEADER) / LOB_LINK;
            expected = b2p_le32(ptr + LOB_ROOT_HEADER + (n - 1) * LOB_LINK); /* sizes are cumulative */
            st = lob_links(r, ptr + LOB_ROOT_HEADER, n, LOB_LINK, 4, 0);
        }
    } else if (len == LOB_TEXT_POINTER) {
        st = lob_tree(r, lob_rid_at(ptr + 8), 0);
    } else {
        st = b2p_fail(err, B2P_ERR_UNSUPPORTED, "complex value of kind 0x%02x (%zu bytes), which bak2pg does not read",
                      len ? ptr[0] : 0, len);
    }
    if (!st && expected != UINT64_MAX && r->len != expected)
        st = b2p_fail(err, B2P_ERR_CORRUPT, "off-row value of %zu bytes, its pointer says %llu", r->len,
                      (unsigned long long)expected);
    if (st) free(r->out);
    else {
        *out = r->out ? r->out : malloc(1);
        *out_len = r->len;
        if (!*out) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    free(r);
    return st;
}
