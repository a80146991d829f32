/* The data pages of one allocation unit: IAM chain, or B-tree leaf level (pages.md 2.3, 2.5,
 * 4.8). */
#include <stdlib.h>
#include <string.h>

#include "pages.h"

/* IAM record layout, as record offsets inside slot 0 / slot 1 (pages.md 2.3). */
#define IAM_START_PAGE_REC 40     /* fix 36 */
#define IAM_SINGLE_PAGES_REC 46   /* fix 42: 8 page pointers */
#define IAM_SINGLE_PAGE_SLOTS 8
#define IAM_BITMAP_REC 4
#define PAGES_PER_EXTENT 8
/* A B-tree deeper than this is damage, not data (SQL Server trees stay far shallower). */
#define MAX_BTREE_DEPTH 32

typedef struct scan_state {
    b2p_pages *src;
    const b2p_au_ref *au;
    b2p_data_page_fn fn;
    void *ctx;
    b2p_scan_stats stats;
    uint8_t page[B2P_PAGE_SIZE];
    uint64_t max_chain; /* a chain longer than the pages in the backup is a loop */
} scan_state;

/* Reads a page; *held = false (status OK) when the backup lacks it. */
static b2p_status read_page(scan_state *s, b2p_page_ptr p, uint8_t *buf, bool *held,
                            b2p_page_header *h, b2p_error *err) {
    *held = false;
    b2p_status st = b2p_pages_read(s->src, p.file, p.page, buf, err);
    if (st == B2P_ERR_NOT_FOUND) {
        s->stats.missing++;
        return B2P_OK;
    }
    if (st) return st;
    st = b2p_page_header_parse(buf, p.file, p.page, h, err);
    if (st) return st;
    *held = true;
    return B2P_OK;
}

/* Reads page p and hands it to the callback when it is a leaf data page of the AU. */
static b2p_status deliver_if_data(scan_state *s, b2p_page_ptr p, b2p_error *err) {
    b2p_page_header h;
    bool held;
    b2p_status st = read_page(s, p, s->page, &held, &h, err);
    if (st || !held) return st;
    if (h.type != B2P_PAGE_DATA || h.level != 0 || !b2p_page_in_au(&h, s->au->auid)) {
        s->stats.skipped++;
        return B2P_OK;
    }
    s->stats.pages++;
    int rc = s->fn(s->ctx, s->page, &h);
    return rc ? (b2p_status)rc : B2P_OK;
}

/* Delivers the pages one IAM page maps: its single-page slots, then its extents. */
static b2p_status scan_one_iam(scan_state *s, const uint8_t *iam, const b2p_page_header *ih,
                               b2p_error *err) {
    b2p_record head, bitmap;
    b2p_status st = b2p_page_record(iam, ih, 0, &head, err);
    if (!st) st = b2p_page_record(iam, ih, 1, &bitmap, err);
    if (st) return st;
    if (head.fixed_end < IAM_SINGLE_PAGES_REC + 6 * IAM_SINGLE_PAGE_SLOTS)
        return b2p_fail(err, B2P_ERR_CORRUPT, "IAM page %u:%u: header record of %u bytes is short",
                        ih->self.file, ih->self.page, head.fixed_end);
    b2p_page_ptr start = b2p_page_ptr_read(head.data + IAM_START_PAGE_REC);
    for (int i = 0; i < IAM_SINGLE_PAGE_SLOTS; i++) {
        b2p_page_ptr p = b2p_page_ptr_read(head.data + IAM_SINGLE_PAGES_REC + 6 * i);
        if (b2p_page_ptr_is_null(p)) continue;
        if ((st = deliver_if_data(s, p, err))) return st;
    }
    if (bitmap.fixed_end <= IAM_BITMAP_REC) return B2P_OK;
    size_t nbytes = bitmap.fixed_end - IAM_BITMAP_REC;
    for (size_t byte = 0; byte < nbytes; byte++) {
        uint8_t bits = bitmap.data[IAM_BITMAP_REC + byte];
        for (int bit = 0; bits && bit < 8; bit++) {
            if (!(bits & (1u << bit))) continue;
            uint64_t first = (uint64_t)start.page + (byte * 8 + (size_t)bit) * PAGES_PER_EXTENT;
            for (int k = 0; k < PAGES_PER_EXTENT; k++) {
                if (first + (uint64_t)k > UINT32_MAX) break;
                b2p_page_ptr p = {.file = start.file, .page = (uint32_t)(first + (uint64_t)k)};
                if ((st = deliver_if_data(s, p, err))) return st;
            }
        }
    }
    return B2P_OK;
}

static b2p_status scan_iam_chain(scan_state *s, b2p_error *err) {
    uint8_t *iam = malloc(B2P_PAGE_SIZE);
    if (!iam) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    b2p_status st = B2P_OK;
    b2p_page_ptr p = s->au->first_iam;
    for (uint64_t n = 0; !b2p_page_ptr_is_null(p); n++) {
        if (n > s->max_chain) {
            st = b2p_fail(err, B2P_ERR_CORRUPT, "IAM chain of allocation unit %llu loops at %u:%u",
                          (unsigned long long)s->au->auid, p.file, p.page);
            break;
        }
        b2p_page_header h;
        bool held;
        if ((st = read_page(s, p, iam, &held, &h, err)) || !held) break;
        if (h.type != B2P_PAGE_IAM) {
            st = b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u: type %u in the IAM chain of allocation unit %llu, expected 10 (IAM)",
                          p.file, p.page, h.type, (unsigned long long)s->au->auid);
            break;
        }
        if ((st = scan_one_iam(s, iam, &h, err))) break;
        p = h.next;
    }
    free(iam);
    return st;
}

/* The child pointer of the first record of an index page: the last 6 bytes of its fixed part
 * (pages.md 4.8). */
static b2p_status first_child(const uint8_t *page, const b2p_page_header *h, b2p_page_ptr *child,
                              b2p_error *err) {
    if (h->slot_count == 0 || h->pminlen < 7)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "index page %u:%u: %u slots, fixed part %u: no child pointer",
                        h->self.file, h->self.page, h->slot_count, h->pminlen);
    uint16_t off = b2p_le16(page + B2P_PAGE_SIZE - 2);
    if (off < B2P_PAGE_HEADER_SIZE || (size_t)off + h->pminlen > B2P_PAGE_SIZE - 2u * h->slot_count)
        return b2p_fail(err, B2P_ERR_CORRUPT, "index page %u:%u slot 0: offset %u out of range",
                        h->self.file, h->self.page, off);
    *child = b2p_page_ptr_read(page + off + h->pminlen - 6);
    return B2P_OK;
}

/* The leftmost leaf: pgfirst when it is a leaf page of the AU, else descend from pgroot. */
static b2p_status find_leftmost_leaf(scan_state *s, b2p_page_ptr *leaf, b2p_error *err) {
    b2p_page_header h;
    bool held;
    b2p_status st;
    if (!b2p_page_ptr_is_null(s->au->first)) {
        if ((st = read_page(s, s->au->first, s->page, &held, &h, err))) return st;
        if (held && h.type == B2P_PAGE_DATA && h.level == 0 && b2p_page_ptr_is_null(h.prev)) {
            *leaf = s->au->first;
            return B2P_OK;
        }
    }
    b2p_page_ptr p = s->au->root;
    for (int depth = 0; depth < MAX_BTREE_DEPTH && !b2p_page_ptr_is_null(p); depth++) {
        if ((st = read_page(s, p, s->page, &held, &h, err))) return st;
        if (!held) break;
        if (h.level == 0) {
            *leaf = p;
            return B2P_OK;
        }
        if ((st = first_child(s->page, &h, &p, err))) return st;
    }
    *leaf = s->au->first; /* no usable root: trust pgfirst */
    return B2P_OK;
}

static b2p_status scan_page_chain(scan_state *s, b2p_page_ptr p, b2p_error *err) {
    b2p_page_ptr prev = {0, 0};
    for (uint64_t n = 0; !b2p_page_ptr_is_null(p); n++) {
        if (n > s->max_chain)
            return b2p_fail(err, B2P_ERR_CORRUPT, "page chain of allocation unit %llu loops at %u:%u",
                            (unsigned long long)s->au->auid, p.file, p.page);
        b2p_page_header h;
        bool held;
        b2p_status st = read_page(s, p, s->page, &held, &h, err);
        if (st) return st;
        /* A page the chain points at was written, so a complete backup holds it: its absence is
         * damage, and the rows on it and after it would be lost in silence. With stripes missing
         * (salvage) it is counted and the chain ends. */
        if (!held && !b2p_pages_incomplete(s->src)) {
            if (n == 0)
                return b2p_fail(err, B2P_ERR_CORRUPT,
                                "page %u:%u, the first page of allocation unit %llu, is not in the backup", p.file,
                                p.page, (unsigned long long)s->au->auid);
            return b2p_fail(err, B2P_ERR_CORRUPT,
                            "page %u:%u, next after page %u:%u in the chain of allocation unit %llu, is not in the "
                            "backup: its rows and those after it cannot be read",
                            p.file, p.page, prev.file, prev.page, (unsigned long long)s->au->auid);
        }
        if (!held) return B2P_OK;
        if (h.type != B2P_PAGE_DATA || !b2p_page_in_au(&h, s->au->auid)) {
            s->stats.skipped++;
            return B2P_OK;
        }
        s->stats.pages++;
        int rc = s->fn(s->ctx, s->page, &h);
        if (rc) return (b2p_status)rc;
        prev = p;
        p = h.next;
    }
    return B2P_OK;
}

b2p_status b2p_au_scan(b2p_pages *src, const b2p_au_ref *au, b2p_scan_method method,
                       b2p_data_page_fn fn, void *ctx, b2p_scan_stats *stats, b2p_error *err) {
    scan_state *s = calloc(1, sizeof *s);
    if (!s) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    s->src = src;
    s->au = au;
    s->fn = fn;
    s->ctx = ctx;
    s->max_chain = b2p_pages_stats(src)->distinct_pages + 1;
    b2p_status st = B2P_OK;
    b2p_page_ptr leaf;
    switch (method) {
    case B2P_SCAN_IAM: st = scan_iam_chain(s, err); break;
    case B2P_SCAN_LEAF_CHAIN:
        st = find_leftmost_leaf(s, &leaf, err);
        if (!st) st = scan_page_chain(s, leaf, err);
        break;
    case B2P_SCAN_PAGE_CHAIN: st = scan_page_chain(s, au->first, err); break;
    }
    if (stats) *stats = s->stats;
    free(s);
    return st;
}
