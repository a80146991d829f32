/* The page source of one backup set: every page by (file id, page id).
 *
 * Opening it makes one sequential pass over the set's data streams in every stripe file (and,
 * for a differential, first over its full backup's), classifying each 8 KB unit, verifying
 * page and backup checksums, and indexing where each page lies. Later reads are random
 * access through that index; nothing else is kept in memory.
 *
 * The index is per extent: SQL Server copies whole extents (8 consecutive pages of one file)
 * as 8 consecutive units, so one entry holds the extent's first unit and a mask of the slots
 * that hold real pages (zero and stale units are left out). A page found where the extent
 * pattern does not put it goes to a small per-page table instead. A later copy of a page
 * (a differential over its full, a duplicate) replaces the earlier one: last copy wins.
 *
 * Threads: everything but the decoded-record caches is fixed once the scan ends. A fork
 * (b2p_pages_fork) is a shallow copy that borrows the index, the statistics and the open
 * files, and has caches of its own, so that reads through different handles share nothing
 * that changes and need no lock. */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    EXTENT_PAGES = 8,
    EXTENT_BYTES = EXTENT_PAGES * B2P_PAGE_SIZE,
    SCAN_UNITS = 64,                 /* units read per I/O during the scan (512 KiB) */
    FLAG_TORN = 0x100,
    FLAG_CHECKSUM = 0x200,
    BOOT_FILE = 1,
    BOOT_PAGE = 9,
    PAGE_TYPE_PFS = 11,
    PFS_INTERVAL = 8088,             /* pages one PFS page describes (pages.md 2.4) */
    PFS_BYTES_AT = 100,              /* its record at 96: 4-byte prefix, then one byte per page */
    PFS_ALLOCATED = 0x40,
};
#define LOC_MEDIA_SHIFT 56
#define LOC_OFFSET_MASK ((1ULL << LOC_MEDIA_SHIFT) - 1)
#define KEY_MASK_SHIFT 56

/* Open-addressing hash table of u64 key -> u64 value; key 0 means empty. */
typedef struct table {
    uint64_t *keys, *vals;
    size_t cap, count;
} table;

typedef struct source_part {   /* one set in one file whose data is part of this source */
    b2p_media_int *media;
    size_t media_index;
    size_t set_index;
} source_part;

struct b2p_pages {
    b2p_backup *bk;
    const b2p_set_info *set;
    const char *path;  /* the file holding the chosen set: errors name it */
    bool incomplete;   /* some stripe of the set or of its base is missing (salvage) */
    table extents;   /* key: mask<<56 | file<<32 | extent, stored without mask; see ext_* */
    table singles;   /* key: file<<32 | page, +1 so that it is never 0 */
    uint8_t *ext_mask; /* parallel to extents.keys */
    table damaged;   /* key: single_key of a page allocation says exists but the backup lacks;
                      * value: PFS page id << 32 | PFS byte (see check_allocation) */
    b2p_page_stats stats;
    const b2p_pages_options *opt; /* during b2p_pages_open only (the caller's, may not outlive it) */
    b2p_image_cache *caches;      /* this handle's own, one per media of bk */
    bool forked;                  /* the index above is borrowed from the source forked */
};

/* ---- hash tables --------------------------------------------------------------------- */

static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static size_t table_find(const table *t, uint64_t key) {
    size_t i = (size_t)mix(key) & (t->cap - 1);
    while (t->keys[i] != 0 && t->keys[i] != key) i = (i + 1) & (t->cap - 1);
    return i;
}

static b2p_status table_grow(table *t, uint8_t **aux, b2p_error *err) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    table n = {calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.vals), cap, 0};
    uint8_t *naux = aux ? calloc(cap, 1) : NULL;
    if (!n.keys || !n.vals || (aux && !naux)) {
        free(n.keys);
        free(n.vals);
        free(naux);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory indexing pages");
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i]) continue;
        size_t j = table_find(&n, t->keys[i]);
        n.keys[j] = t->keys[i];
        n.vals[j] = t->vals[i];
        if (aux) naux[j] = (*aux)[i];
        n.count++;
    }
    free(t->keys);
    free(t->vals);
    *t = n;
    if (aux) {
        free(*aux);
        *aux = naux;
    }
    return B2P_OK;
}

/* Slot for key, inserted empty (value 0) when absent. */
static b2p_status table_slot(table *t, uint8_t **aux, uint64_t key, size_t *slot, b2p_error *err) {
    if ((t->count + 1) * 10 > t->cap * 7) {
        b2p_status st = table_grow(t, aux, err);
        if (st) return st;
    }
    size_t i = table_find(t, key);
    if (!t->keys[i]) {
        t->keys[i] = key;
        t->vals[i] = 0;
        if (aux) (*aux)[i] = 0;
        t->count++;
    }
    *slot = i;
    return B2P_OK;
}

static void table_free(table *t) {
    free(t->keys);
    free(t->vals);
}

static uint64_t extent_key(uint16_t file, uint32_t page) {
    return ((uint64_t)file << 32) | (page / EXTENT_PAGES);
}
static uint64_t single_key(uint16_t file, uint32_t page) {
    return (((uint64_t)file << 32) | page) + 1;
}

/* ---- choosing the backup set ---------------------------------------------------------- */

static bool is_differential(b2p_backup_type t) {
    return t == B2P_BACKUP_DIFFERENTIAL || t == B2P_BACKUP_DIFF_FILE || t == B2P_BACKUP_DIFF_PARTIAL;
}

static int lsn_cmp(b2p_lsn a, b2p_lsn b) {
    if (a.vlf != b.vlf) return a.vlf < b.vlf ? -1 : 1;
    if (a.block != b.block) return a.block < b.block ? -1 : 1;
    return a.slot < b.slot ? -1 : a.slot > b.slot;
}

static const b2p_set_info *find_set_by_guid(const b2p_backup *bk, const b2p_guid *g) {
    for (size_t i = 0; i < bk->nmedia; i++)
        for (size_t s = 0; s < bk->media[i]->pub.nsets; s++)
            if (!memcmp(&bk->media[i]->pub.sets[s].backup_set_guid, g, sizeof *g))
                return &bk->media[i]->pub.sets[s];
    return NULL;
}

/* Picks the target set: the given position, or the newest full or differential (with its
 * base present) among all files. Fails clearly for logs and orphan differentials. */
static b2p_status choose_set(const b2p_backup *bk, int position, const b2p_set_info **out,
                             const char **out_path, b2p_error *err) {
    const b2p_set_info *best = NULL, *orphan = NULL, *log = NULL;
    const char *best_path = NULL, *orphan_path = NULL, *log_path = NULL;
    bool position_seen = false;
    for (size_t i = 0; i < bk->nmedia; i++) {
        const b2p_media *m = &bk->media[i]->pub;
        for (size_t s = 0; s < m->nsets; s++) {
            const b2p_set_info *set = &m->sets[s];
            if (position > 0 && set->position != position) continue;
            position_seen = true;
            if (set->type == B2P_BACKUP_LOG) {
                log = set;
                log_path = m->path;
                continue;
            }
            if (is_differential(set->type) && !find_set_by_guid(bk, &set->differential_base_guid)) {
                orphan = set;
                orphan_path = m->path;
                continue;
            }
            if (!best || lsn_cmp(set->checkpoint_lsn, best->checkpoint_lsn) > 0) {
                best = set;
                best_path = m->path;
            }
        }
    }
    char lsn[32], guid[40];
    for (size_t i = 0; i < bk->nmedia; i++)
        if (bk->media[i]->pub.tde) return b2p_fail_tde(err, &bk->media[i]->pub);
    /* a differential that belongs to none of the given full backups must not be dropped in
     * silence: the user meant its pages to be read */
    if (orphan && best) return b2p_fail_not_its_base(err, orphan_path, orphan, best_path, best);
    if (best) {
        *out = best;
        *out_path = best_path;
        return B2P_OK;
    }
    if (orphan)
        return b2p_fail(err, B2P_ERR_NEEDS_FULL,
                        "'%s': backup set %u is a differential; its full backup (backup set %s, "
                        "checkpoint LSN %s) must be given too", orphan_path, orphan->position,
                        b2p_guid_format(&orphan->differential_base_guid, guid, sizeof guid),
                        b2p_lsn_format(orphan->differential_base_lsn, lsn, sizeof lsn));
    if (log)
        return b2p_fail(err, B2P_ERR_LOG_BACKUP,
                        "'%s': backup set %u is a transaction log backup, which holds no data pages; "
                        "give a full (or full + differential) backup", log_path, log->position);
    const char *first = bk->nmedia ? bk->media[0]->pub.path : "";
    if (position > 0 && !position_seen)
        return b2p_fail(err, B2P_ERR_NOT_FOUND, "'%s': no backup set at position %d in the given file(s)",
                        first, position);
    return b2p_fail(err, B2P_ERR_NOT_FOUND, "'%s': the given file(s) hold no backup set with data pages",
                    first);
}

/* Every (file, set) holding part of the backup set with this GUID: one per stripe. */
static b2p_status collect_parts(const b2p_backup *bk, const b2p_guid *g, source_part **parts,
                                size_t *nparts, bool *incomplete, b2p_error *err) {
    size_t found = 0, families = 1;
    for (size_t i = 0; i < bk->nmedia; i++) {
        b2p_media_int *m = bk->media[i];
        for (size_t s = 0; s < m->pub.nsets; s++) {
            if (memcmp(&m->pub.sets[s].backup_set_guid, g, sizeof *g) != 0) continue;
            source_part *p = realloc(*parts, (*nparts + 1) * sizeof *p);
            if (!p) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
            *parts = p;
            p[(*nparts)++] = (source_part){m, i, s};
            found++;
            if (m->pub.family_count > families) families = m->pub.family_count;
        }
    }
    if (found < families) *incomplete = true;
    return B2P_OK;
}

/* ---- the scan --------------------------------------------------------------------------- */

static b2p_status index_page(b2p_pages *src, uint16_t file, uint32_t page, uint64_t loc,
                             uint64_t range_start, b2p_error *err) {
    unsigned slot = page % EXTENT_PAGES;
    uint64_t off = loc & LOC_OFFSET_MASK;
    uint64_t base = loc - (uint64_t)slot * B2P_PAGE_SIZE;
    bool in_pattern = off >= range_start + (uint64_t)slot * B2P_PAGE_SIZE &&
                      ((off - range_start) / B2P_PAGE_SIZE) % EXTENT_PAGES == slot;
    size_t i;
    b2p_status st = table_slot(&src->extents, &src->ext_mask, extent_key(file, page), &i, err);
    if (st) return st;
    if (in_pattern) {
        if (src->extents.vals[i] != base) { /* a newer copy of the extent: it replaces all */
            src->extents.vals[i] = base;
            src->ext_mask[i] = 0;
        }
        src->ext_mask[i] |= (uint8_t)(1u << slot);
    } else {
        src->ext_mask[i] &= (uint8_t)~(1u << slot);
    }
    size_t j = src->singles.cap ? table_find(&src->singles, single_key(file, page)) : 0;
    bool in_singles = src->singles.cap && src->singles.keys[j] && src->singles.vals[j];
    if (in_pattern) {
        if (in_singles) src->singles.vals[j] = 0; /* superseded */
    } else {
        if ((st = table_slot(&src->singles, NULL, single_key(file, page), &j, err))) return st;
        src->singles.vals[j] = loc + 1;
    }
    return B2P_OK;
}

static void report_bad(b2p_pages *src, const b2p_media_int *m, uint64_t image_off, uint16_t file,
                       uint32_t page, const char *why) {
    if (src->opt && src->opt->on_bad_page)
        src->opt->on_bad_page(src->opt->ctx, m->pub.path, b2p_image_file_offset(&m->image, image_off),
                              file, page, why);
}

/* Verifies one unit's integrity bits; returns false when it fails. */
static bool verify_unit(b2p_pages *src, const uint8_t *unit, const b2p_media_int *m,
                        uint64_t image_off, uint16_t file, uint32_t page) {
    uint16_t flags = b2p_le16(unit + 4);
    if (flags & FLAG_CHECKSUM) {
        src->stats.checksummed++;
        if (b2p_page_checksum(unit) != b2p_le32(unit + 60)) {
            src->stats.checksum_bad++;
            report_bad(src, m, image_off, file, page, "page checksum mismatch");
            return false;
        }
    } else if (flags & FLAG_TORN) {
        src->stats.torn_protected++;
        uint8_t copy[B2P_PAGE_SIZE];
        memcpy(copy, unit, sizeof copy);
        if (!b2p_page_restore_torn_bits(copy)) {
            src->stats.torn_bad++;
            report_bad(src, m, image_off, file, page, "torn page (sector signatures differ)");
            return false;
        }
    }
    return true;
}

static b2p_status scan_range(b2p_pages *src, const source_part *part, const b2p_data_range *r,
                             uint8_t *buf, b2p_error *err) {
    b2p_media_int *m = part->media;
    b2p_csum_state csum = {0, 0};
    uint64_t units = r->len / B2P_PAGE_SIZE;
    for (uint64_t u = 0; u < units;) {
        size_t n = units - u < SCAN_UNITS ? (size_t)(units - u) : SCAN_UNITS;
        uint64_t off = r->image_off + u * B2P_PAGE_SIZE;
        b2p_status st = b2p_image_read(&m->image, &src->caches[part->media_index], off, buf,
                                       n * B2P_PAGE_SIZE, err);
        if (st) return st;
        if (r->has_csum) b2p_backup_checksum_update(&csum, buf, n * B2P_PAGE_SIZE);
        src->stats.data_bytes += n * B2P_PAGE_SIZE;
        for (size_t k = 0; k < n; k++) {
            const uint8_t *unit = buf + k * B2P_PAGE_SIZE;
            uint64_t unit_off = off + k * B2P_PAGE_SIZE;
            uint16_t file;
            uint32_t page;
            src->stats.units++;
            switch (b2p_unit_classify(unit, &file, &page)) {
            case B2P_UNIT_ZERO: src->stats.zero_units++; continue;
            case B2P_UNIT_FILLER: src->stats.filler_units++; continue;
            case B2P_UNIT_STALE: src->stats.stale_units++; continue;
            case B2P_UNIT_PAGE: break;
            }
            src->stats.pages++;
            verify_unit(src, unit, m, unit_off, file, page);
            uint64_t loc = ((uint64_t)part->media_index << LOC_MEDIA_SHIFT) | unit_off;
            st = index_page(src, file, page, loc, r->image_off, err);
            if (st) return st;
        }
        u += n;
    }
    if (r->has_csum) {
        src->stats.csum_streams++;
        if (csum.value != r->csum) {
            src->stats.csum_bad++;
            report_bad(src, m, r->image_off, 0, 0, "backup checksum (CSUM) mismatch over the data stream");
        }
    }
    return B2P_OK;
}

static uint64_t count_distinct(const b2p_pages *src) {
    uint64_t n = 0;
    for (size_t i = 0; i < src->extents.cap; i++)
        if (src->extents.keys[i]) n += (uint64_t)__builtin_popcount(src->ext_mask[i]);
    for (size_t j = 0; j < src->singles.cap; j++)
        if (src->singles.keys[j] && src->singles.vals[j]) n++;
    return n;
}

static b2p_status scan_parts(b2p_pages *src, const source_part *parts, size_t nparts, b2p_error *err) {
    uint8_t *buf = malloc((size_t)SCAN_UNITS * B2P_PAGE_SIZE);
    if (!buf) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    b2p_status st = B2P_OK;
    for (size_t p = 0; p < nparts && !st; p++) {
        const b2p_set_data *d = &parts[p].media->data[parts[p].set_index];
        for (size_t r = 0; r < d->nranges && !st; r++) st = scan_range(src, &parts[p], &d->ranges[r], buf, err);
    }
    free(buf);
    src->stats.distinct_pages = count_distinct(src);
    return st;
}

/* ---- TDE: pages whose header is clear but whose body is ciphertext ---------------------- */

static double body_entropy(const uint8_t *page) {
    unsigned counts[256] = {0};
    for (size_t i = 96; i < B2P_PAGE_SIZE; i++) counts[page[i]]++;
    double h = 0, n = B2P_PAGE_SIZE - 96;
    for (int i = 0; i < 256; i++)
        if (counts[i]) h -= counts[i] / n * log2(counts[i] / n);
    return h;
}

/* The boot page has one record at offset 96 in slot 0; a TDE page body is near-random. */
static b2p_status check_tde(b2p_pages *src, b2p_error *err) {
    uint8_t page[B2P_PAGE_SIZE];
    b2p_error ignored;
    b2p_status st = b2p_pages_read(src, BOOT_FILE, BOOT_PAGE, page, &ignored);
    if (st == B2P_ERR_NOT_FOUND || st == B2P_ERR_CORRUPT || st) return B2P_OK;
    bool plain = b2p_le16(page + 22) >= 1 && b2p_le16(page + B2P_PAGE_SIZE - 2) == 96;
    if (!plain && body_entropy(page) > 7.5)
        return b2p_fail(err, B2P_ERR_TDE,
                        "'%s': the database uses Transparent Data Encryption: page bodies are "
                        "encrypted (boot page 1:9 has a clear header and a random body); the "
                        "database encryption key's certificate would be needed", src->path);
    return B2P_OK;
}

/* ---- allocation: pages that must be there ---------------------------------------------------
 * A full backup copies every allocated extent, and a page that PFS marks allocated (byte 0x40,
 * pages.md 2.4) was formatted before the backup's checkpoint. So in a complete backup every such
 * page must be among the indexed pages; one that is not was damaged where its unit lies (its
 * header no longer names it: stale, zeroed, another page's ids) or never copied. The scan cannot
 * tell damage from the never-formatted units of an allocated extent (both are "not a page"); the
 * PFS can. Such pages are counted, reported, and remembered so that reading one is CORRUPT, not
 * NOT_FOUND: the data was there, and is lost. Pages PFS does not mark stay NOT_FOUND (a scan of
 * an extent meets its unused pages). */

static bool locate(const b2p_pages *src, uint16_t file, uint32_t page, uint64_t *loc);

/* Where page (file, page) would lie, when its extent's other pages are in the index. */
static bool expected_unit(const b2p_pages *src, uint16_t file, uint32_t page, uint64_t *loc) {
    if (!src->extents.cap) return false;
    size_t i = table_find(&src->extents, extent_key(file, page));
    if (!src->extents.keys[i] || !src->ext_mask[i]) return false;
    *loc = src->extents.vals[i] + (uint64_t)(page % EXTENT_PAGES) * B2P_PAGE_SIZE;
    return true;
}

/* The file of the chosen set: where to point when no unit can be named. */
static const b2p_media_int *chosen_media(const b2p_pages *src) {
    for (size_t i = 0; i < src->bk->nmedia; i++)
        if (src->bk->media[i]->pub.path == src->path) return src->bk->media[i];
    return src->bk->media[0];
}

static void report_loc(b2p_pages *src, uint64_t loc, uint16_t file, uint32_t page, const char *why) {
    const b2p_media_int *m = src->bk->media[loc >> LOC_MEDIA_SHIFT];
    report_bad(src, m, loc & LOC_OFFSET_MASK, file, page, why);
}

static b2p_status note_damaged(b2p_pages *src, uint16_t file, uint32_t page, uint32_t pfs_page, uint64_t pfs_loc,
                               uint8_t pfs_byte, b2p_error *err) {
    size_t j;
    b2p_status st = table_slot(&src->damaged, NULL, single_key(file, page), &j, err);
    if (st) return st;
    src->damaged.vals[j] = ((uint64_t)pfs_page << 32) | pfs_byte;
    src->stats.unreadable_pages++;
    char why[200];
    uint64_t loc;
    if (expected_unit(src, file, page, &loc)) {
        snprintf(why, sizeof why, "allocated (PFS page %u:%u byte 0x%02X), but the unit where its extent puts it "
                 "is not that page (header damaged or overwritten)", file, pfs_page, pfs_byte);
        report_loc(src, loc, file, page, why);
    } else {
        snprintf(why, sizeof why, "allocated (PFS page %u:%u, at this offset, byte 0x%02X), but the backup holds no "
                 "copy of it (damaged beyond recognition, or never copied)", file, pfs_page, pfs_byte);
        report_loc(src, pfs_loc, file, page, why);
    }
    return B2P_OK;
}

/* How many pages of data file `file` the index can speak for: one past the highest page id it
 * holds (0 when none: a file or filegroup backup may leave whole files out). The PFS intervals
 * after that page's cannot hold a PFS page either, so they are not checked: a file size damaged
 * in the metadata cannot make millions of "missing" reports. */
static uint64_t file_extent(const b2p_pages *src, uint16_t file) {
    uint64_t end = 0;
    for (size_t i = 0; i < src->extents.cap; i++) {
        uint64_t k = src->extents.keys[i];
        if (!k || (uint16_t)(k >> 32) != file || !src->ext_mask[i]) continue;
        uint64_t last = (k & 0xFFFFFFFFULL) * EXTENT_PAGES + (unsigned)(31 - __builtin_clz(src->ext_mask[i]));
        if (last + 1 > end) end = last + 1;
    }
    for (size_t j = 0; j < src->singles.cap; j++) {
        uint64_t k = src->singles.keys[j];
        if (!k || !src->singles.vals[j] || (uint16_t)((k - 1) >> 32) != file) continue;
        if (((k - 1) & 0xFFFFFFFFULL) + 1 > end) end = ((k - 1) & 0xFFFFFFFFULL) + 1;
    }
    return end;
}

/* Checks the pages of one PFS interval of `file`: [first, first + PFS_INTERVAL), below npages. */
static b2p_status check_pfs_interval(b2p_pages *src, uint16_t file, uint32_t first, uint64_t npages, uint8_t *page,
                                     b2p_error *err) {
    uint32_t pfs = first ? first : 1;
    uint64_t loc;
    if (!locate(src, file, pfs, &loc)) { /* the map of the interval itself is gone */
        src->stats.unreadable_pages++;
        char why[160];
        snprintf(why, sizeof why, "PFS page %u:%u is not in the backup: the allocation of pages %u..%llu cannot be checked",
                 file, pfs, first, (unsigned long long)(first + (uint64_t)PFS_INTERVAL - 1));
        report_bad(src, chosen_media(src), 0, file, pfs, why);
        return B2P_OK;
    }
    b2p_error ignored;
    b2p_status st = b2p_pages_read(src, file, pfs, page, &ignored);
    if (st == B2P_ERR_CORRUPT) return B2P_OK; /* counted and reported by the scan; its bytes are not trusted */
    if (st) return b2p_fail(err, st, "%s", ignored.msg);
    if (page[1] != PAGE_TYPE_PFS) {
        src->stats.unreadable_pages++;
        char why[120];
        snprintf(why, sizeof why, "page type %u where the PFS page of the interval must be (11)", page[1]);
        report_loc(src, loc, file, pfs, why);
        return B2P_OK;
    }
    for (uint32_t k = 0; k < PFS_INTERVAL && first + (uint64_t)k < npages; k++) {
        uint8_t byte = page[PFS_BYTES_AT + k];
        if (!(byte & PFS_ALLOCATED)) continue;
        src->stats.allocated_pages++;
        uint64_t ignored_loc;
        if (!locate(src, file, first + k, &ignored_loc) && (st = note_damaged(src, file, first + k, pfs, loc, byte, err)))
            return st;
    }
    return B2P_OK;
}

/* Every page the PFS of each data file marks allocated must be in the index (see above). Only
 * for a complete backup: with stripes missing, absent pages are expected. */
static b2p_status check_allocation(b2p_pages *src, b2p_error *err) {
    if (src->incomplete) return B2P_OK;
    uint8_t *page = malloc(B2P_PAGE_SIZE);
    if (!page) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < src->set->nfiles && !st; i++) {
        const b2p_file_info *f = &src->set->files[i];
        uint64_t npages = f->size_bytes / B2P_PAGE_SIZE, held = f->type == 'D' ? file_extent(src, f->file_id) : 0;
        if (held == 0) continue;
        held = (held + PFS_INTERVAL - 1) / PFS_INTERVAL * PFS_INTERVAL; /* to the end of its PFS interval */
        if (held < npages) npages = held;
        for (uint64_t first = 0; first < npages && first <= UINT32_MAX && !st; first += PFS_INTERVAL)
            st = check_pfs_interval(src, f->file_id, (uint32_t)first, npages, page, err);
    }
    free(page);
    return st;
}

/* ---- public API ------------------------------------------------------------------------ */

b2p_status b2p_pages_open(b2p_pages **out, b2p_backup *bk, const b2p_pages_options *opt,
                          b2p_error *err) {
    *out = NULL;
    const b2p_set_info *target = NULL;
    const char *path = NULL;
    b2p_status st = choose_set(bk, opt ? opt->backup_set : 0, &target, &path, err);
    if (st) return st;
    b2p_pages *src = calloc(1, sizeof *src);
    if (!src) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    src->bk = bk;
    src->set = target;
    src->path = path;
    src->opt = opt;
    src->caches = calloc(bk->nmedia ? bk->nmedia : 1, sizeof *src->caches);
    if (!src->caches) {
        free(src);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    source_part *parts = NULL;
    size_t nparts = 0;
    if (is_differential(target->type))
        st = collect_parts(bk, &target->differential_base_guid, &parts, &nparts, &src->incomplete, err);
    if (!st) st = collect_parts(bk, &target->backup_set_guid, &parts, &nparts, &src->incomplete, err);
    if (!st) st = scan_parts(src, parts, nparts, err);
    free(parts);
    if (!st) st = check_tde(src, err);
    if (!st) st = check_allocation(src, err);
    src->opt = NULL;
    if (st) {
        b2p_pages_free(src);
        return st;
    }
    *out = src;
    return B2P_OK;
}

b2p_pages *b2p_pages_fork(const b2p_pages *src, b2p_error *err) {
    b2p_pages *f = malloc(sizeof *f);
    b2p_image_cache *caches = calloc(src->bk->nmedia ? src->bk->nmedia : 1, sizeof *caches);
    if (!f || !caches) {
        free(f);
        free(caches);
        b2p_fail(err, B2P_ERR_NOMEM, "out of memory forking the page source");
        return NULL;
    }
    *f = *src;
    f->caches = caches;
    f->forked = true;
    return f;
}

void b2p_pages_free(b2p_pages *src) {
    if (!src) return;
    for (size_t i = 0; src->caches && i < src->bk->nmedia; i++) b2p_image_cache_free(&src->caches[i]);
    free(src->caches);
    if (!src->forked) {
        table_free(&src->extents);
        table_free(&src->singles);
        table_free(&src->damaged);
        free(src->ext_mask);
    }
    free(src);
}

bool b2p_pages_incomplete(const b2p_pages *src) {
    return src->incomplete;
}

const char *b2p_pages_path(const b2p_pages *src) {
    return src->path;
}

const b2p_set_info *b2p_pages_set(const b2p_pages *src) {
    return src->set;
}

const b2p_page_stats *b2p_pages_stats(const b2p_pages *src) {
    return &src->stats;
}

static bool locate(const b2p_pages *src, uint16_t file, uint32_t page, uint64_t *loc) {
    if (src->singles.cap) {
        size_t j = table_find(&src->singles, single_key(file, page));
        if (src->singles.keys[j] && src->singles.vals[j]) {
            *loc = src->singles.vals[j] - 1;
            return true;
        }
    }
    if (!src->extents.cap) return false;
    size_t i = table_find(&src->extents, extent_key(file, page));
    unsigned slot = page % EXTENT_PAGES;
    if (!src->extents.keys[i] || !(src->ext_mask[i] & (1u << slot))) return false;
    *loc = src->extents.vals[i] + (uint64_t)slot * B2P_PAGE_SIZE;
    return true;
}

/* Why page (file, page) cannot be read: lost to damage (allocated, see check_allocation), or
 * simply not in the backup (never written, or on a missing stripe). */
static b2p_status not_held(const b2p_pages *src, uint16_t file, uint32_t page, b2p_error *err) {
    size_t j = src->damaged.cap ? table_find(&src->damaged, single_key(file, page)) : 0;
    if (!src->damaged.cap || !src->damaged.keys[j])
        return b2p_fail(err, B2P_ERR_NOT_FOUND, "'%s': page %u:%u is not in the backup", src->path, file, page);
    uint32_t pfs = (uint32_t)(src->damaged.vals[j] >> 32);
    uint64_t loc;
    if (expected_unit(src, file, page, &loc)) {
        const b2p_media_int *m = src->bk->media[loc >> LOC_MEDIA_SHIFT];
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "'%s': offset %llu: page %u:%u is damaged: allocated (PFS page %u:%u), but the unit where its "
                        "extent puts it is not that page", m->pub.path,
                        (unsigned long long)b2p_image_file_offset(&m->image, loc & LOC_OFFSET_MASK), file, page, file, pfs);
    }
    return b2p_fail(err, B2P_ERR_CORRUPT, "'%s': page %u:%u is damaged or lost: allocated (PFS page %u:%u), but the "
                    "backup holds no copy of it", src->path, file, page, file, pfs);
}

b2p_status b2p_pages_read(b2p_pages *src, uint16_t file_id, uint32_t page_id,
                          uint8_t page[B2P_PAGE_SIZE], b2p_error *err) {
    uint64_t loc;
    if (!locate(src, file_id, page_id, &loc)) return not_held(src, file_id, page_id, err);
    b2p_media_int *m = src->bk->media[loc >> LOC_MEDIA_SHIFT];
    uint64_t off = loc & LOC_OFFSET_MASK;
    b2p_status st = b2p_image_read(&m->image, &src->caches[loc >> LOC_MEDIA_SHIFT], off, page,
                                   B2P_PAGE_SIZE, err);
    if (st) return st;
    uint16_t flags = b2p_le16(page + 4);
    if ((flags & FLAG_CHECKSUM) && b2p_page_checksum(page) != b2p_le32(page + 60))
        return b2p_fail(err, B2P_ERR_CORRUPT, "'%s': offset %llu: page %u:%u fails its checksum",
                        m->pub.path, (unsigned long long)b2p_image_file_offset(&m->image, off),
                        file_id, page_id);
    if (!(flags & FLAG_CHECKSUM) && (flags & FLAG_TORN) && !b2p_page_restore_torn_bits(page))
        return b2p_fail(err, B2P_ERR_CORRUPT, "'%s': offset %llu: page %u:%u is torn", m->pub.path,
                        (unsigned long long)b2p_image_file_offset(&m->image, off), file_id, page_id);
    return B2P_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* All (file << 32 | page) ids, sorted: extents expanded through their masks, plus singles. */
static b2p_status sorted_page_ids(const b2p_pages *src, uint64_t **out, size_t *n, b2p_error *err) {
    size_t cap = src->stats.distinct_pages + 1, k = 0;
    uint64_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < src->extents.cap; i++) {
        if (!src->extents.keys[i]) continue;
        uint64_t key = src->extents.keys[i];
        for (unsigned s = 0; s < EXTENT_PAGES; s++)
            if ((src->ext_mask[i] & (1u << s)) && k < cap)
                ids[k++] = (key & ~0xFFFFFFFFULL) | ((key & 0xFFFFFFFFULL) * EXTENT_PAGES + s);
    }
    for (size_t j = 0; j < src->singles.cap; j++)
        if (src->singles.keys[j] && src->singles.vals[j] && k < cap) ids[k++] = src->singles.keys[j] - 1;
    qsort(ids, k, sizeof *ids, cmp_u64);
    *out = ids;
    *n = k;
    return B2P_OK;
}

int b2p_pages_foreach(b2p_pages *src, b2p_page_fn fn, void *ctx, b2p_error *err) {
    uint64_t *ids = NULL;
    size_t n = 0;
    b2p_status st = sorted_page_ids(src, &ids, &n, err);
    if (st) return -(int)st;
    uint8_t *page = malloc(B2P_PAGE_SIZE);
    int rc = page ? 0 : -(int)b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        uint16_t file = (uint16_t)(ids[i] >> 32);
        uint32_t pg = (uint32_t)ids[i];
        st = b2p_pages_read(src, file, pg, page, err);
        /* A page failing its checksum was counted and reported by the scan; it is still
         * delivered, so that salvage can use what it holds. */
        if (st && st != B2P_ERR_CORRUPT) rc = -(int)st;
        else rc = fn(ctx, file, pg, page);
    }
    free(page);
    free(ids);
    return rc;
}
