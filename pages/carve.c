/* Carving: the records of a data page that a live-row scan does not deliver (issue 13).
 *   - ghost records behind a slot (types 6 ghost data, 7 ghost version, status B bit 0 ghost
 *     forwarded; pages.md 4.4): deleted rows SQL Server has not cleaned up yet;
 *   - unreferenced records: whole records in bytes of the record area that no slot points into
 *     (free space after free_data, and gaps between slot records), left by a delete whose slot
 *     was emptied or by a page reorganisation.
 * A candidate is kept only when it parses fully within the page under the table's layout: the
 * record's own length, null bitmap and variable offsets inside the bytes no slot uses, the fixed
 * area exactly pminlen bytes long, and every requested column readable. Anything that looks like
 * a record header of the table's shape but fails that is counted as unparsed, never guessed.
 * Compressed (CD record) pages are counted, not carved: their records have no fixed-area length
 * to anchor a candidate on. Every offset read from the page is checked (record.c does it). */
#include <string.h>

#include "pages.h"

#define STATUS_A_UNUSED 0x81u      /* bit 0 (SQL 2000's version bit) and bit 7: never set */
#define STATUS_A_NULL_BITMAP 0x10u
#define MIN_CANDIDATE 7            /* status A, B, fixEnd, column count, at least 1 byte */

const char *b2p_carve_kind_name(b2p_carve_kind k) {
    switch (k) {
    case B2P_CARVE_LIVE: return "live";
    case B2P_CARVE_GHOST: return "ghost";
    case B2P_CARVE_GHOST_VERSION: return "ghost version";
    case B2P_CARVE_UNREFERENCED: return "unreferenced slot";
    case B2P_CARVE_NKINDS: break;
    }
    return "unknown";
}

/* The page's bytes that a slot's record covers, one flag per byte of the record area. */
typedef struct used_map {
    uint8_t used[B2P_PAGE_SIZE];
} used_map;

static void mark_used(used_map *m, size_t from, size_t len) {
    if (from >= B2P_PAGE_SIZE) return;
    if (len > B2P_PAGE_SIZE - from) len = B2P_PAGE_SIZE - from;
    memset(m->used + from, 1, len);
}

static bool range_free(const used_map *m, size_t from, size_t len) {
    if (from > B2P_PAGE_SIZE || len > B2P_PAGE_SIZE - from) return false;
    for (size_t i = from; i < from + len; i++)
        if (m->used[i]) return false;
    return true;
}

/* True when every requested column of r can be read within the record. */
static bool columns_readable(const b2p_record *r, const b2p_column_layout *cols, size_t ncols) {
    for (size_t i = 0; i < ncols; i++) {
        if (cols[i].is_sparse) continue; /* read from the sparse vector later, bounds-checked */
        b2p_column_bytes cb;
        b2p_error e;
        if (b2p_record_column(r, &cols[i], &cb, &e)) return false;
    }
    return true;
}

/* A record of the table's shape: a data type, no unused status bits, the fixed area the page
 * announces (pminlen, pages.md 1.2) and a column count that can hold every requested column's
 * null bit. Layouts of a table altered since the row was written may differ: such a row is
 * reported as unparsed, never decoded under the wrong layout. */
static bool shape_fits(const b2p_record *r, const b2p_page_header *h,
                       const b2p_column_layout *cols, size_t ncols) {
    if (r->status_a & STATUS_A_UNUSED) return false;
    if (!(r->status_a & STATUS_A_NULL_BITMAP)) return false;
    if (r->type != B2P_REC_PRIMARY && r->type != B2P_REC_GHOST_DATA &&
        r->type != B2P_REC_GHOST_VERSION)
        return false;
    if (h->pminlen >= 4 && r->fixed_end != h->pminlen) return false;
    if (r->ncols == 0) return false;
    for (size_t i = 0; i < ncols; i++)
        if (!cols[i].is_sparse && cols[i].null_bit > r->ncols) return false;
    return true;
}

/* The header alone looks like one of the table's records: status bits and fixEnd. Used to count
 * candidates that then fail to parse. */
static bool header_looks_like_record(const uint8_t *p, size_t avail, const b2p_page_header *h) {
    if (avail < MIN_CANDIDATE) return false;
    uint8_t a = p[0];
    unsigned type = (a >> 1) & 7;
    if ((a & STATUS_A_UNUSED) || !(a & STATUS_A_NULL_BITMAP)) return false;
    if (type != B2P_REC_PRIMARY && type != B2P_REC_GHOST_DATA && type != B2P_REC_GHOST_VERSION)
        return false;
    return h->pminlen >= 4 && b2p_le16(p + 2) == h->pminlen;
}

static int deliver(b2p_carve_fn fn, void *ctx, b2p_carve_kind kind, uint16_t slot,
                   uint16_t offset, const b2p_record *r, b2p_carve_stats *stats) {
    stats->by_kind[kind]++;
    b2p_carved c = {.kind = kind, .slot = slot, .offset = offset, .rec = r};
    return fn ? fn(ctx, &c) : 0;
}

/* The slot array's records: ghosts (and live rows when asked); marks the bytes they use. */
static int carve_slots(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                       const b2p_column_layout *cols, size_t ncols, bool include_live,
                       b2p_carve_fn fn, void *ctx, b2p_carve_stats *stats, used_map *m) {
    for (uint16_t s = 0; s < h->slot_count; s++) {
        b2p_record r;
        b2p_error e;
        uint16_t off = b2p_le16(page + B2P_PAGE_SIZE - 2 * (s + 1));
        if (b2p_page_record(page, h, s, &r, &e)) {
            if (off) {
                stats->unparsed++;
                mark_used(m, off, 1); /* never carve a record starting where a slot points */
            }
            continue;
        }
        mark_used(m, off, r.length);
        bool fits = shape_fits(&r, h, cols, ncols) && columns_readable(&r, cols, ncols);
        b2p_carve_kind kind;
        if (r.ghost)
            kind = r.type == B2P_REC_GHOST_VERSION ? B2P_CARVE_GHOST_VERSION : B2P_CARVE_GHOST;
        else if (b2p_record_is_live_row(&r) && include_live)
            kind = B2P_CARVE_LIVE;
        else
            continue;
        if (!fits) {
            stats->unparsed++;
            continue;
        }
        int rc = deliver(fn, ctx, kind, s, off, &r, stats);
        if (rc) return rc;
    }
    return 0;
}

/* Bytes of the record area no slot uses: a record starting at each offset is tried; a record
 * that fits is delivered and skipped over, so a carved record's inner bytes are never carved
 * again. */
static int carve_free_space(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                            const b2p_column_layout *cols, size_t ncols, b2p_carve_fn fn,
                            void *ctx, b2p_carve_stats *stats, used_map *m) {
    size_t limit = B2P_PAGE_SIZE - 2u * h->slot_count;
    for (size_t off = B2P_PAGE_HEADER_SIZE; off + MIN_CANDIDATE <= limit; off++) {
        if (m->used[off] || !header_looks_like_record(page + off, limit - off, h)) continue;
        b2p_record r;
        b2p_error e;
        bool ok = b2p_record_parse(page, h, UINT16_MAX, (uint16_t)off, &r, &e) == B2P_OK &&
                  range_free(m, off, r.length) && shape_fits(&r, h, cols, ncols) &&
                  columns_readable(&r, cols, ncols);
        if (!ok) {
            stats->unparsed++;
            continue;
        }
        mark_used(m, off, r.length);
        int rc = deliver(fn, ctx, B2P_CARVE_UNREFERENCED, UINT16_MAX, (uint16_t)off, &r, stats);
        if (rc) return rc;
        off += r.length - 1;
    }
    return 0;
}

int b2p_carve_page(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                   const b2p_column_layout *cols, size_t ncols, bool include_live,
                   b2p_carve_fn fn, void *ctx, b2p_carve_stats *stats) {
    b2p_carve_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (h->type != B2P_PAGE_DATA || h->level != 0) return 0;
    if (h->type_flags & 0x80) { /* PAGE-compressed: CD records, not carved */
        stats->compressed_pages++;
        return 0;
    }
    if (h->slot_count > (B2P_PAGE_SIZE - B2P_PAGE_HEADER_SIZE) / 2) return 0;
    used_map m;
    memset(&m, 0, sizeof m);
    mark_used(&m, 0, B2P_PAGE_HEADER_SIZE);
    int rc = carve_slots(page, h, cols, ncols, include_live, fn, ctx, stats, &m);
    if (rc) return rc;
    return carve_free_space(page, h, cols, ncols, fn, ctx, stats, &m);
}
