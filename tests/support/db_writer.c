/* The database-page writer of db_writer.h. Sections: allocation (extents, IAM maps, the page
 * image), pages and records, off-row values, rows and B-tree levels, the catalog, allocation
 * pages and the boot page, the backup. */
#include "tests/support/db_writer.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/base.h"
#include "mtf/mtf.h"
#include "tests/support/mtf_writer.h"
#include "tests/support/records.h"

enum {
    PAGE = 8192,
    HEADER = 96,
    EXTENT = 8,
    PFS_INTERVAL = 8088,           /* pages one PFS page describes (pages.md 2.4) */
    GAM_INTERVAL = 511232,         /* pages one GAM/SGAM/IAM page describes (pages.md 2.3) */
    GAM_BITMAP = 7988,
    MAX_ROW = 8060,                /* the largest in-row record SQL Server allows */
    LOB_DATA_MAX = 8040,           /* bytes of one LOB DATA fragment */
    ROOT_LINKS = 5,                /* links an in-row LOB root holds before INTERNAL records */
    INTERNAL_LINKS = 500,          /* links of one INTERNAL record */
    OVERFLOW_POINTER = 24,
    IN_ROW_MAX = 8000,             /* a (max) value longer than this never stays in the row */
    DB_VERSION = 904,              /* SQL Server 2019 */
    BOOT_RECORD = 1768,            /* the 2019 boot record: prefix + fixed part */
    ALLOC_OBJ = 99,                /* m_objId of allocation and boot pages on the fixtures */
};

enum { PT_DATA = 1, PT_INDEX = 2, PT_TEXT_MIX = 3, PT_GAM = 8, PT_SGAM = 9, PT_IAM = 10, PT_PFS = 11,
       PT_BOOT = 13, PT_FILE_HEADER = 15, PT_DCM = 16, PT_BCM = 17 };
enum { AU_IN_ROW = 1, AU_LOB = 2, AU_OVERFLOW = 3 };
enum { XT_BIT = 104, XT_TINYINT = 48, XT_SMALLINT = 52, XT_INT = 56, XT_BIGINT = 127, XT_REAL = 59,
       XT_FLOAT = 62, XT_MONEY = 60, XT_SMALLMONEY = 122, XT_DATETIME = 61, XT_SMALLDATETIME = 58,
       XT_DATE = 40, XT_TIME = 41, XT_DATETIME2 = 42, XT_DATETIMEOFFSET = 43, XT_DECIMAL = 106,
       XT_NUMERIC = 108, XT_GUID = 36, XT_CHAR = 175, XT_VARCHAR = 167, XT_NCHAR = 239,
       XT_NVARCHAR = 231, XT_BINARY = 173, XT_VARBINARY = 165, XT_SQL_VARIANT = 98 };

#define DEFAULT_COLLATION 872468488u /* SQL_Latin1_General_CP1_CI_AS */
#define USER_ID_BASE 0x0100000000000000ull /* user rowset and allocation-unit ids: 2^56 | n << 16 */

/* ---- allocation units and the page image ----------------------------------------------- */

/* The extents of an AU inside one GAM interval, and the IAM page that will map them. */
typedef struct iam_map {
    uint32_t interval, page;
    uint8_t *bits;                 /* GAM_BITMAP bytes */
} iam_map;

typedef struct au {
    uint64_t auid, owner;
    uint8_t type;
    uint32_t first, root;          /* page ids (file 1); 0 none */
    uint32_t ext_next, ext_left;   /* free pages of its current extent */
    uint64_t data_pages, used_pages, reserved_pages;
    iam_map *iams;
    size_t niams;
} au;

/* A page being filled. */
typedef struct page_buf {
    uint8_t b[PAGE];
    uint32_t id;
    uint16_t nslots, free_data;
    bool open;
} page_buf;

typedef struct layout {
    bool var;
    uint16_t offset;               /* fixed: record offset; var: index among variable columns */
    uint16_t width;                /* fixed: bytes */
    uint8_t bitpos;
    bool is_max;
} layout;

typedef struct tab {
    int32_t object_id, schema_id, pk_object_id;
    char *name;
    dbw_table_def def;             /* strings and arrays owned (copies) */
    dbw_column *cols;
    dbw_fk *fks;
    int32_t *default_ids;          /* per column, 0 none */
    int32_t *fk_ids;               /* per foreign key */
    int16_t sys_index;             /* system base table: its index id (0 heap, 1 clustered); -1 user */
    layout *lay;
    uint16_t fixed_end, nvar;      /* record offset of the column count; variable columns */
    uint64_t rowset, nc_rowset, rows;
    au *in_row, *lob, *overflow, *nc;
    uint16_t min_rec, max_rec;
    uint64_t identity_last;
    bool identity_used;
} tab;

/* One leaf page's first key, for the levels above it. */
typedef struct level_entry {
    uint32_t page;
    size_t key_off;                /* into keys */
} level_entry;

struct dbw {
    dbw_options opt;
    char *dbname;
    FILE *image;
    char err[256];
    uint32_t next_extent;          /* extents handed out so far */
    uint32_t mixed_next, mixed_left;
    uint8_t *pfs;                  /* one PFS byte per page */
    size_t pfs_cap;
    uint64_t next_id;              /* user rowset / AU counter */
    int32_t next_object;
    uint64_t blob_id;
    au **aus;
    size_t naus, aus_cap;
    tab **tabs;
    size_t ntabs, tabs_cap;
    char **schemas;                /* schema id = 5 + index (1-4 are SQL Server's own) */
    size_t nschemas;
    tab *cur;                      /* the table being written */
    page_buf *data, *lobpg, *ovpg; /* its current pages */
    page_buf *prev;                /* clustered: the last full leaf page, written when the next begins */
    level_entry *leaves;
    size_t nleaves, leaves_cap;
    uint8_t *keys;
    size_t keys_len, keys_cap;
    uint8_t rec[PAGE], work[PAGE];
    uint8_t *row;                  /* a row's record, which may exceed a page before values move off-row */
    uint8_t identity[16];          /* hash of every page but the file header (see hash_image) */
    size_t row_cap;
};

static bool fail(dbw *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return false;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * size);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

static char *str_copy(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* An extent holding system pages (file header, PFS, GAM and the rest, boot) is never given
 * to an allocation unit. */
static bool system_extent(uint32_t e) {
    uint32_t first = e * EXTENT;
    return e < 2 || first % PFS_INTERVAL == 0 || first % GAM_INTERVAL == 0;
}

/* Makes the PFS byte array cover n pages; new pages start as 0 (unallocated). */
static bool pfs_cover(dbw *w, size_t n) {
    size_t old = w->pfs_cap;
    if (!grow((void **)&w->pfs, &w->pfs_cap, n, 1)) return fail(w, "out of memory");
    if (w->pfs_cap > old) memset(w->pfs + old, 0, w->pfs_cap - old);
    return true;
}

static bool pfs_set(dbw *w, uint32_t page, uint8_t bits) {
    if (!pfs_cover(w, (size_t)page + 1)) return false;
    w->pfs[page] = bits;
    return true;
}

static uint32_t new_extent(dbw *w) {
    while (system_extent(w->next_extent)) w->next_extent++;
    return w->next_extent++;
}

/* Marks extent e as the AU's in its IAM map of e's GAM interval (creating the map). */
static bool iam_mark(dbw *w, au *a, uint32_t e);

/* The next page of an AU: from its current extent, or a new one. PFS: allocated. */
static bool au_page(dbw *w, au *a, uint32_t *id) {
    if (!a->ext_left) {
        uint32_t e = new_extent(w);
        if (!iam_mark(w, a, e)) return false;
        a->ext_next = e * EXTENT;
        a->ext_left = EXTENT;
        a->reserved_pages += EXTENT;
    }
    *id = a->ext_next++;
    a->ext_left--;
    a->used_pages++;
    return pfs_set(w, *id, 0x40);
}

/* A page on a mixed extent (IAM pages), as SQL Server places them. */
static bool mixed_page(dbw *w, uint32_t *id) {
    if (!w->mixed_left) {
        uint32_t e = new_extent(w);
        w->mixed_next = e * EXTENT;
        w->mixed_left = EXTENT;
        for (int k = 0; k < EXTENT; k++)
            if (!pfs_set(w, e * EXTENT + (uint32_t)k, 0x20)) return false;
    }
    *id = w->mixed_next++;
    w->mixed_left--;
    return pfs_set(w, *id, 0x20 | 0x40 | 0x10);
}

static bool iam_mark(dbw *w, au *a, uint32_t e) {
    uint32_t interval = e * EXTENT / GAM_INTERVAL;
    iam_map *m = NULL;
    for (size_t i = 0; i < a->niams; i++)
        if (a->iams[i].interval == interval) m = &a->iams[i];
    if (!m) {
        iam_map *n = realloc(a->iams, (a->niams + 1) * sizeof *n);
        if (!n) return fail(w, "out of memory");
        a->iams = n;
        m = &a->iams[a->niams++];
        m->interval = interval;
        m->bits = calloc(1, GAM_BITMAP);
        if (!m->bits || !mixed_page(w, &m->page)) return fail(w, "out of memory");
        a->used_pages++;
        a->reserved_pages++;
    }
    uint32_t bit = e - interval * (GAM_INTERVAL / EXTENT);
    m->bits[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    return true;
}

static au *au_new(dbw *w, uint64_t auid, uint64_t owner, uint8_t type) {
    if (!grow((void **)&w->aus, &w->aus_cap, w->naus + 1, sizeof *w->aus)) return NULL;
    au *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->auid = auid;
    a->owner = owner;
    a->type = type;
    w->aus[w->naus++] = a;
    return a;
}

static uint64_t next_user_id(dbw *w) { return USER_ID_BASE | (w->next_id++ << 16); }

/* Writes a finished page into the image with its checksum. */
static bool image_put(dbw *w, uint8_t *p, uint32_t id) {
    b2p_put_le16(p + 4, (uint16_t)(b2p_le16(p + 4) | 0x200));
    b2p_put_le32(p + 60, 0);
    b2p_put_le32(p + 60, b2p_page_checksum(p));
    if (pwrite(fileno(w->image), p, PAGE, (off_t)id * PAGE) != PAGE) return fail(w, "writing the page image failed");
    return true;
}

/* Reads page id back from the image; pages never written read as zeros. */
static bool image_get(dbw *w, uint8_t *p, uint32_t id) {
    ssize_t got = pread(fileno(w->image), p, PAGE, (off_t)id * PAGE);
    if (got < 0) return fail(w, "reading the page image failed");
    memset(p + got, 0, PAGE - (size_t)got);
    return true;
}

/* ---- pages and records --------------------------------------------------------------- */

static void page_start(page_buf *pb, uint8_t type, uint8_t level, uint64_t auid, uint32_t id) {
    memset(pb->b, 0, PAGE);
    pb->b[0] = 1;
    pb->b[1] = type;
    pb->b[3] = level;
    b2p_put_le16(pb->b + 6, (uint16_t)(auid >> 48));
    b2p_put_le32(pb->b + 24, (uint32_t)(auid >> 16));
    b2p_put_le32(pb->b + 32, id);
    b2p_put_le16(pb->b + 36, 1);
    pb->id = id;
    pb->nslots = 0;
    pb->free_data = HEADER;
    pb->open = true;
}

static size_t page_room(const page_buf *pb) {
    size_t used = pb->free_data + 2u * (pb->nslots + 1u);
    return used >= PAGE ? 0 : PAGE - used;
}

static uint16_t page_add(page_buf *pb, const uint8_t *rec, size_t len) {
    memcpy(pb->b + pb->free_data, rec, len);
    b2p_put_le16(pb->b + PAGE - 2 * (pb->nslots + 1), pb->free_data);
    pb->free_data = (uint16_t)(pb->free_data + len);
    return pb->nslots++;
}

static void page_link(page_buf *pb, uint32_t prev, uint32_t next) {
    if (prev) { b2p_put_le32(pb->b + 8, prev); b2p_put_le16(pb->b + 12, 1); }
    if (next) { b2p_put_le32(pb->b + 16, next); b2p_put_le16(pb->b + 20, 1); }
}

static bool page_write(dbw *w, page_buf *pb, uint16_t pminlen) {
    b2p_put_le16(pb->b + 14, pminlen);
    b2p_put_le16(pb->b + 22, pb->nslots);
    b2p_put_le16(pb->b + 28, (uint16_t)(PAGE - pb->free_data - 2 * pb->nslots));
    b2p_put_le16(pb->b + 30, pb->free_data);
    pb->open = false;
    /* PFS fullness (bits 0-2): 1 = up to 50 %, 2 = 80 %, 3 = 95 %, 4 = full */
    unsigned pct = (unsigned)((PAGE - HEADER - b2p_le16(pb->b + 28)) * 100u / (PAGE - HEADER));
    uint8_t full = pct == 0 ? 0 : pct <= 50 ? 1 : pct <= 80 ? 2 : pct <= 95 ? 3 : 4;
    if (pb->id < w->pfs_cap && pb->b[1] != PT_IAM) w->pfs[pb->id] = (uint8_t)((w->pfs[pb->id] & 0xF8) | full);
    return image_put(w, pb->b, pb->id);
}

/* ---- off-row values (pages.md 4.6-4.7) -------------------------------------------------- */

typedef struct lob_link {
    uint64_t end;                  /* cumulative bytes through this lob_link */
    uint32_t page;
    uint16_t slot;
} lob_link;

/* Puts a LOB record (blob fragment: everything fixed) on the AU's current text page. */
static bool lob_record(dbw *w, au *a, page_buf *pb, const uint8_t *body, size_t len, lob_link *out) {
    size_t rec_len = 4 + len;
    if (pb->open && page_room(pb) < rec_len && !page_write(w, pb, 0)) return false;
    if (!pb->open) {
        uint32_t id;
        if (!au_page(w, a, &id)) return false;
        page_start(pb, PT_TEXT_MIX, 0, a->auid, id);
        a->data_pages++;
        if (!a->first) a->first = a->root = id;
    }
    w->rec[0] = 0x08;              /* blob fragment (type 4 << 1), no null bitmap */
    w->rec[1] = 0;
    b2p_put_le16(w->rec + 2, (uint16_t)rec_len);
    memcpy(w->rec + 4, body, len);
    out->page = pb->id;
    out->slot = page_add(pb, w->rec, rec_len);
    return true;
}

static void blob_header(uint8_t *body, uint64_t blob_id, uint16_t kind) {
    b2p_put_le64(body, blob_id);
    b2p_put_le16(body + 8, kind);
}

static void put_link12(uint8_t *p, const lob_link *l) {
    b2p_put_le32(p, (uint32_t)l->end);
    b2p_put_le32(p + 4, l->page);
    b2p_put_le16(p + 8, 1);
    b2p_put_le16(p + 10, l->slot);
}

/* DATA fragments of a value; *links malloc'd. */
static bool lob_data(dbw *w, au *a, page_buf *pb, const uint8_t *v, size_t len, lob_link **links, size_t *n) {
    size_t count = len ? (len + LOB_DATA_MAX - 1) / LOB_DATA_MAX : 0;
    *links = malloc((count ? count : 1) * sizeof **links);
    *n = 0;
    if (!*links) return fail(w, "out of memory");
    for (size_t off = 0; off < len; off += LOB_DATA_MAX) {
        size_t k = len - off < LOB_DATA_MAX ? len - off : LOB_DATA_MAX;
        blob_header(w->work, w->blob_id++, 3);
        memcpy(w->work + 10, v + off, k);
        lob_link *l = &(*links)[(*n)++];
        if (!lob_record(w, a, pb, w->work, 10 + k, l)) return false;
        l->end = off + k;
    }
    return true;
}

/* Groups links under INTERNAL records until at most ROOT_LINKS remain. */
static bool lob_internal(dbw *w, au *a, page_buf *pb, lob_link **links, size_t *n, uint16_t *level) {
    while (*n > ROOT_LINKS) {
        size_t groups = (*n + INTERNAL_LINKS - 1) / INTERNAL_LINKS;
        lob_link *up = malloc(groups * sizeof *up);
        if (!up) return fail(w, "out of memory");
        for (size_t g = 0; g < groups; g++) {
            size_t from = g * INTERNAL_LINKS, k = *n - from < INTERNAL_LINKS ? *n - from : INTERNAL_LINKS;
            uint64_t base = from ? (*links)[from - 1].end : 0;
            blob_header(w->work, w->blob_id++, 2);
            b2p_put_le16(w->work + 10, INTERNAL_LINKS);
            b2p_put_le16(w->work + 12, (uint16_t)k);
            b2p_put_le16(w->work + 14, *level);
            for (size_t i = 0; i < k; i++) {
                uint8_t *e = w->work + 16 + 16 * i;
                const lob_link *l = &(*links)[from + i];
                b2p_put_le64(e, l->end - base);
                b2p_put_le32(e + 8, l->page);
                b2p_put_le16(e + 12, 1);
                b2p_put_le16(e + 14, l->slot);
            }
            if (!lob_record(w, a, pb, w->work, 16 + 16 * k, &up[g])) { free(up); return false; }
            up[g].end = (*links)[from + k - 1].end;
        }
        free(*links);
        *links = up;
        *n = groups;
        (*level)++;
    }
    return true;
}

/* An in-row LOB root for a (max) value: 12-byte header, then 12-byte links. */
static bool lob_root(dbw *w, tab *t, const uint8_t *v, size_t len, uint8_t *out, size_t *out_len) {
    lob_link *links;
    size_t n;
    uint16_t level = 0;
    if (!t->lob) return fail(w, "%s: no LOB allocation unit", t->name);
    if (!lob_data(w, t->lob, w->lobpg, v, len, &links, &n) || !lob_internal(w, t->lob, w->lobpg, &links, &n, &level)) {
        free(links);
        return false;
    }
    memset(out, 0, 12);
    out[0] = 0x04;
    out[1] = (uint8_t)level;
    b2p_put_le32(out + 8, (uint32_t)w->blob_id);
    for (size_t i = 0; i < n; i++) put_link12(out + 12 + 12 * i, &links[i]);
    *out_len = 12 + 12 * n;
    free(links);
    return true;
}

/* A row-overflow pointer: one DATA record in the ROW_OVERFLOW_DATA unit. */
static bool overflow_pointer(dbw *w, tab *t, const uint8_t *v, size_t len, uint8_t *out) {
    lob_link *links;
    size_t n;
    if (!lob_data(w, t->overflow, w->ovpg, v, len, &links, &n)) { free(links); return false; }
    memset(out, 0, OVERFLOW_POINTER);
    out[0] = 0x02;
    b2p_put_le32(out + 4, 1);
    b2p_put_le32(out + 8, (uint32_t)w->blob_id);
    put_link12(out + 12, &links[0]);
    free(links);
    return true;
}

/* ---- layouts ----------------------------------------------------------------------------- */

static uint16_t time_width(uint8_t scale) { return scale <= 2 ? 3 : scale <= 4 ? 4 : 5; }

/* Bytes of a fixed-length column; 0 for variable ones. */
static uint16_t fixed_width(const dbw_column *c) {
    switch (c->xtype) {
    case XT_BIT: case XT_TINYINT: return 1;
    case XT_SMALLINT: return 2;
    case XT_INT: case XT_REAL: case XT_SMALLMONEY: case XT_SMALLDATETIME: return 4;
    case XT_BIGINT: case XT_FLOAT: case XT_MONEY: case XT_DATETIME: return 8;
    case XT_DATE: return 3;
    case XT_TIME: return time_width(c->scale);
    case XT_DATETIME2: return (uint16_t)(time_width(c->scale) + 3);
    case XT_DATETIMEOFFSET: return (uint16_t)(time_width(c->scale) + 5);
    case XT_DECIMAL: case XT_NUMERIC: return c->precision <= 9 ? 5 : c->precision <= 19 ? 9 : c->precision <= 28 ? 13 : 17;
    case XT_GUID: return 16;
    case XT_CHAR: case XT_NCHAR: case XT_BINARY: return (uint16_t)c->max_length;
    default: return 0;
    }
}

static bool is_string(uint8_t x) { return x == XT_CHAR || x == XT_VARCHAR || x == XT_NCHAR || x == XT_NVARCHAR; }

/* Fixed columns packed in column order from record offset 4 (bit columns eight to a byte),
 * variable columns numbered in column order (pages.md 3.3 "physical rule"). */
static void compute_layout(tab *t) {
    uint16_t off = 4, nvar = 0;
    int bits_left = 0;
    uint16_t bit_byte = 0;
    for (size_t i = 0; i < t->def.ncolumns; i++) {
        const dbw_column *c = &t->cols[i];
        layout *l = &t->lay[i];
        memset(l, 0, sizeof *l);
        uint16_t wd = fixed_width(c);
        if (c->xtype == XT_BIT) {
            if (!bits_left) { bit_byte = off++; bits_left = 8; }
            l->offset = bit_byte;
            l->width = 1;
            l->bitpos = (uint8_t)(8 - bits_left--);
        } else if (wd) {
            l->offset = off;
            l->width = wd;
            off = (uint16_t)(off + wd);
        } else {
            l->var = true;
            l->offset = nvar++;
            l->is_max = c->max_length == -1;
        }
    }
    t->fixed_end = off;
    t->nvar = nvar;
}

/* ---- rows ---------------------------------------------------------------------------------- */

/* Whether column i of t is a key column of its clustered index. */
static int key_ordinal(const tab *t, size_t col) {
    for (size_t k = 0; k < t->def.npk; k++)
        if ((size_t)t->def.pk[k] == col) return (int)k + 1;
    return 0;
}

/* Builds the FixedVar record of a row into w->row, moving variable values off-row until it
 * fits (SQL Server moves the widest first). Returns its length, 0 on error. */
static size_t build_record(dbw *w, tab *t, const dbw_value *v) {
    size_t ncols = t->def.ncolumns;
    uint8_t fixed[PAGE], bitmap[(1024 + 7) / 8];
    memset(fixed, 0, sizeof fixed);
    memset(bitmap, 0, sizeof bitmap);
    record_var *vars = calloc(t->nvar ? t->nvar : 1, sizeof *vars);
    uint8_t (*ptrs)[12 + 12 * ROOT_LINKS] = calloc(t->nvar ? t->nvar : 1, sizeof *ptrs);
    size_t *lens = calloc(t->nvar ? t->nvar : 1, sizeof *lens);
    const uint8_t **vals = calloc(t->nvar ? t->nvar : 1, sizeof *vals);
    size_t len = 0;
    if (!vars || !ptrs || !lens || !vals) { fail(w, "out of memory"); goto out; }
    uint16_t last_var = 0;
    for (size_t i = 0; i < ncols; i++) {
        const dbw_column *c = &t->cols[i];
        const layout *l = &t->lay[i];
        if (v[i].null) {
            if (!c->nullable) { fail(w, "%s.%s: NULL in a NOT NULL column", t->name, c->name); goto out; }
            bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
            continue;
        }
        if (c->xtype == XT_BIT) {
            if (v[i].len != 1) { fail(w, "%s.%s: a bit value is one byte", t->name, c->name); goto out; }
            if (v[i].p[0]) fixed[l->offset - 4] |= (uint8_t)(1u << l->bitpos);
        } else if (!l->var) {
            if (v[i].len != l->width) {
                fail(w, "%s.%s: %zu bytes for a column of %u", t->name, c->name, v[i].len, l->width);
                goto out;
            }
            memcpy(fixed + l->offset - 4, v[i].p, l->width);
        } else {
            if (!l->is_max && v[i].len > (size_t)c->max_length) {
                fail(w, "%s.%s: %zu bytes for a column of at most %d", t->name, c->name, v[i].len, c->max_length);
                goto out;
            }
            vars[l->offset] = (record_var){v[i].p, v[i].len, false};
            vals[l->offset] = v[i].p;
            lens[l->offset] = v[i].len;
            last_var = (uint16_t)(l->offset + 1);
        }
    }
    /* (max) values beyond 8000 bytes never stay in the row */
    for (size_t i = 0; i < ncols; i++) {
        const layout *l = &t->lay[i];
        if (!l->var || !l->is_max || v[i].null || lens[l->offset] <= IN_ROW_MAX) continue;
        size_t plen;
        if (!lob_root(w, t, vals[l->offset], lens[l->offset], ptrs[l->offset], &plen)) goto out;
        vars[l->offset] = (record_var){ptrs[l->offset], plen, true};
    }
    size_t bound = t->fixed_end + 4u + (ncols + 7) / 8 + 2u * t->nvar;
    for (uint16_t k = 0; k < t->nvar; k++) bound += vars[k].len;
    if (!grow((void **)&w->row, &w->row_cap, bound, 1)) { fail(w, "out of memory"); goto out; }
    for (;;) {
        len = fixedvar_record_bitmap(w->row, 0, false, fixed, t->fixed_end - 4u, (uint16_t)ncols, bitmap, vars, last_var);
        if (len <= MAX_ROW) break;
        /* the widest in-row variable value that is no key goes off-row */
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < ncols; i++) {
            const layout *l = &t->lay[i];
            if (!l->var || v[i].null || vars[l->offset].complex || key_ordinal(t, i) ||
                vars[l->offset].len <= OVERFLOW_POINTER)
                continue;
            if (best == SIZE_MAX || vars[l->offset].len > vars[t->lay[best].offset].len) best = i;
        }
        if (best == SIZE_MAX) { fail(w, "%s: a row of %zu bytes cannot be made to fit", t->name, len); len = 0; goto out; }
        uint16_t k = t->lay[best].offset;
        size_t plen = OVERFLOW_POINTER;
        bool ok = t->lay[best].is_max ? lob_root(w, t, vals[k], lens[k], ptrs[k], &plen)
                                      : overflow_pointer(w, t, vals[k], lens[k], ptrs[k]);
        if (!ok) { len = 0; goto out; }
        vars[k] = (record_var){ptrs[k], plen, true};
    }
out:
    free(vars);
    free(ptrs);
    free(lens);
    free(vals);
    return len;
}

/* The key of a row as an index record holds it: fixed key columns, then variable ones. */
static bool remember_key(dbw *w, tab *t, uint32_t page, const dbw_value *v) {
    if (!grow((void **)&w->leaves, &w->leaves_cap, w->nleaves + 1, sizeof *w->leaves)) return fail(w, "out of memory");
    size_t need = 2;
    for (size_t k = 0; k < t->def.npk; k++) need += 2 + v[t->def.pk[k]].len;
    if (!grow((void **)&w->keys, &w->keys_cap, w->keys_len + need, 1)) return fail(w, "out of memory");
    w->leaves[w->nleaves++] = (level_entry){page, w->keys_len};
    /* stored as: per key column u16 length + bytes */
    for (size_t k = 0; k < t->def.npk; k++) {
        const dbw_value *x = &v[t->def.pk[k]];
        b2p_put_le16(w->keys + w->keys_len, (uint16_t)x->len);
        memcpy(w->keys + w->keys_len + 2, x->p, x->len);
        w->keys_len += 2 + x->len;
    }
    return true;
}

static bool start_data_page(dbw *w, tab *t) {
    uint32_t id;
    if (!au_page(w, t->in_row, &id)) return false;
    page_buf *pb = w->data;
    if (pb->open) {                /* clustered: the full page links to the new one */
        if (t->def.clustered) {
            page_link(pb, 0, id);
            *w->prev = *pb;
            if (!page_write(w, w->prev, t->fixed_end)) return false;
        } else if (!page_write(w, pb, t->fixed_end)) {
            return false;
        }
    }
    uint32_t before = pb->id;
    bool had = t->in_row->first != 0;
    page_start(pb, PT_DATA, 0, t->in_row->auid, id);
    if (t->def.clustered && had) page_link(pb, before, 0);
    if (!had) t->in_row->first = t->in_row->root = id;
    t->in_row->data_pages++;
    return true;
}

bool dbw_row(dbw *w, const dbw_value *v) {
    tab *t = w->cur;
    if (!t) return fail(w, "no table is open");
    size_t len = build_record(w, t, v);
    if (!len) return false;
    if ((!w->data->open || page_room(w->data) < len)) {
        if (!start_data_page(w, t)) return false;
        if (t->def.clustered && !remember_key(w, t, w->data->id, v)) return false;
    }
    page_add(w->data, w->row, len);
    if (!t->rows || len < t->min_rec) t->min_rec = (uint16_t)len;
    if (len > t->max_rec) t->max_rec = (uint16_t)len;
    t->rows++;
    for (size_t i = 0; i < t->def.ncolumns; i++)
        if (t->cols[i].identity && !v[i].null) {
            uint64_t x = 0;
            memcpy(&x, v[i].p, v[i].len < 8 ? v[i].len : 8); /* little-endian host assumed, as the reader */
            t->identity_last = x;
            t->identity_used = true;
        }
    return true;
}

/* Index records of one non-leaf level over entries; the entries become the level's pages. */
static bool write_level(dbw *w, tab *t, uint8_t level, level_entry *e, size_t n, size_t *out_n) {
    page_buf *pb = w->prev;
    pb->open = false;
    size_t out = 0;
    uint32_t prev_id = 0;
    uint16_t pminlen = 0;
    for (size_t i = 0; i < n; i++) {
        /* record: status, fixed keys, child pointer, then [var count, ends, var keys] */
        uint8_t *r = w->rec;
        size_t pos = 1, nvk = 0;
        const uint8_t *k = w->keys + e[i].key_off;
        const uint8_t *kv[DBW_MAX_KEY];
        size_t kl[DBW_MAX_KEY];
        for (size_t c = 0; c < t->def.npk; c++) {
            size_t l = b2p_le16(k);
            if (t->lay[t->def.pk[c]].var) { kv[nvk] = k + 2; kl[nvk++] = l; }
            else { memcpy(r + pos, k + 2, l); pos += l; }
            k += 2 + l;
        }
        b2p_put_le32(r + pos, e[i].page);
        b2p_put_le16(r + pos + 4, 1);
        pos += 6;
        pminlen = (uint16_t)pos;
        r[0] = (uint8_t)(0x06 | (nvk ? 0x20 : 0));
        if (nvk) {
            b2p_put_le16(r + pos, (uint16_t)nvk);
            size_t end = pos + 2 + 2 * nvk;
            for (size_t c = 0; c < nvk; c++) {
                end += kl[c];
                b2p_put_le16(r + pos + 2 + 2 * c, (uint16_t)end);
            }
            pos += 2 + 2 * nvk;
            for (size_t c = 0; c < nvk; c++) { memcpy(r + pos, kv[c], kl[c]); pos += kl[c]; }
        }
        if (!pb->open || page_room(pb) < pos) {
            uint32_t id;
            if (!au_page(w, t->in_row, &id)) return false;
            if (pb->open) {
                page_link(pb, 0, id);
                if (!page_write(w, pb, pminlen)) return false;
                prev_id = pb->id;
            }
            page_start(pb, PT_INDEX, level, t->in_row->auid, id);
            page_link(pb, prev_id, 0);
            e[out++] = (level_entry){id, e[i].key_off};
        }
        page_add(pb, r, pos);
    }
    if (pb->open && !page_write(w, pb, pminlen)) return false;
    *out_n = out;
    return true;
}

static bool write_index_levels(dbw *w, tab *t) {
    size_t n = w->nleaves;
    uint8_t level = 1;
    while (n > 1) {
        if (!write_level(w, t, level++, w->leaves, n, &n)) return false;
    }
    if (n == 1) t->in_row->root = w->leaves[0].page;
    return true;
}

/* ---- tables ----------------------------------------------------------------------------- */

static int32_t schema_id(const dbw *w, const char *name) {
    if (!name || !strcmp(name, "dbo")) return 1;
    for (size_t i = 0; i < w->nschemas; i++)
        if (!strcmp(w->schemas[i], name)) return (int32_t)(5 + i);
    return 0;
}

bool dbw_schema(dbw *w, const char *name) {
    if (schema_id(w, name)) return true;
    char **n = realloc(w->schemas, (w->nschemas + 1) * sizeof *n);
    if (!n) return fail(w, "out of memory");
    w->schemas = n;
    return (w->schemas[w->nschemas] = str_copy(name)) != NULL ? (w->nschemas++, true) : fail(w, "out of memory");
}

static void tab_free(tab *t) {
    if (!t) return;
    for (size_t i = 0; t->cols && i < t->def.ncolumns; i++) {
        free((char *)t->cols[i].name);
        free((char *)t->cols[i].default_sql);
    }
    for (size_t i = 0; t->fks && i < t->def.nfks; i++) {
        free((char *)t->fks[i].name);
        free((char *)t->fks[i].ref_schema);
        free((char *)t->fks[i].ref_table);
    }
    free(t->cols);
    free(t->fks);
    free(t->lay);
    free(t->default_ids);
    free(t->fk_ids);
    free(t->name);
    free((char *)t->def.pk_name);
    free((char *)t->def.schema);
    free(t);
}

static int32_t new_object(dbw *w) {
    int32_t id = w->next_object;
    w->next_object += 16000057; /* spread like SQL Server's object ids, deterministic */
    if (w->next_object < 0) w->next_object -= INT32_MIN;
    return id;
}

/* A copy of the definition the catalog will describe at the end. */
static tab *tab_new(dbw *w, const dbw_table_def *d) {
    tab *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->def = *d;
    t->name = str_copy(d->name);
    t->def.schema = str_copy(d->schema ? d->schema : "dbo");
    char pk[300];
    snprintf(pk, sizeof pk, "PK_%s", d->name);
    t->def.pk_name = str_copy(d->pk_name ? d->pk_name : pk);
    t->cols = calloc(d->ncolumns, sizeof *t->cols);
    t->lay = calloc(d->ncolumns, sizeof *t->lay);
    t->default_ids = calloc(d->ncolumns, sizeof *t->default_ids);
    t->fks = calloc(d->nfks ? d->nfks : 1, sizeof *t->fks);
    t->fk_ids = calloc(d->nfks ? d->nfks : 1, sizeof *t->fk_ids);
    t->sys_index = -1;
    if (!t->fk_ids || !t->name || !t->def.schema || !t->def.pk_name || !t->cols || !t->lay || !t->default_ids || !t->fks) {
        tab_free(t);
        return NULL;
    }
    t->def.name = t->name;
    for (size_t i = 0; i < d->ncolumns; i++) {
        t->cols[i] = d->columns[i];
        t->cols[i].name = str_copy(d->columns[i].name);
        t->cols[i].default_sql = str_copy(d->columns[i].default_sql);
        if (!t->cols[i].collation_id && is_string(t->cols[i].xtype)) t->cols[i].collation_id = w->opt.collation_id;
    }
    for (size_t i = 0; i < d->nfks; i++) {
        t->fks[i] = d->fks[i];
        t->fks[i].name = str_copy(d->fks[i].name);
        t->fks[i].ref_schema = str_copy(d->fks[i].ref_schema ? d->fks[i].ref_schema : "dbo");
        t->fks[i].ref_table = str_copy(d->fks[i].ref_table);
    }
    t->def.columns = t->cols;
    t->def.fks = t->fks;
    return t;
}

/* Whether the table has variable columns of the (max) kind (max) or of the limited kind. */
static bool has_var_type(const tab *t, bool max) {
    for (size_t i = 0; i < t->def.ncolumns; i++)
        if (t->lay[i].var && t->lay[i].is_max == max) return true;
    return false;
}

bool dbw_table_begin(dbw *w, const dbw_table_def *d) {
    if (w->cur) return fail(w, "table %s is still open", w->cur->name);
    if (!d->name || !d->ncolumns || d->ncolumns > 1024 || d->npk > DBW_MAX_KEY)
        return fail(w, "table %s: bad definition", d->name ? d->name : "?");
    if (!schema_id(w, d->schema)) return fail(w, "table %s: unknown schema %s", d->name, d->schema);
    for (size_t k = 0; k < d->npk; k++)
        if (d->pk[k] < 0 || (size_t)d->pk[k] >= d->ncolumns) return fail(w, "table %s: bad key column", d->name);
    if (d->clustered && !d->npk) return fail(w, "table %s: a clustered index needs key columns", d->name);
    if (!grow((void **)&w->tabs, &w->tabs_cap, w->ntabs + 1, sizeof *w->tabs)) return fail(w, "out of memory");
    tab *t = tab_new(w, d);
    if (!t) return fail(w, "out of memory");
    w->tabs[w->ntabs++] = t;
    compute_layout(t);
    t->schema_id = schema_id(w, d->schema);
    t->object_id = new_object(w);
    if (d->npk) t->pk_object_id = new_object(w);
    for (size_t i = 0; i < d->ncolumns; i++)
        if (t->cols[i].default_sql) t->default_ids[i] = new_object(w);
    t->rowset = next_user_id(w);
    if (!(t->in_row = au_new(w, next_user_id(w), t->rowset, AU_IN_ROW))) return fail(w, "out of memory");
    if (has_var_type(t, true) && !(t->lob = au_new(w, next_user_id(w), t->rowset, AU_LOB))) return fail(w, "out of memory");
    if (has_var_type(t, false) && !(t->overflow = au_new(w, next_user_id(w), t->rowset, AU_OVERFLOW)))
        return fail(w, "out of memory");
    if (d->npk && !d->clustered) {
        t->nc_rowset = next_user_id(w);
        if (!(t->nc = au_new(w, next_user_id(w), t->nc_rowset, AU_IN_ROW))) return fail(w, "out of memory");
    }
    w->cur = t;
    w->nleaves = w->keys_len = 0;
    w->data->open = w->lobpg->open = w->ovpg->open = false;
    return true;
}

bool dbw_table_end(dbw *w) {
    tab *t = w->cur;
    if (!t) return fail(w, "no table is open");
    if (w->data->open && !page_write(w, w->data, t->fixed_end)) return false;
    if (w->lobpg->open && !page_write(w, w->lobpg, 0)) return false;
    if (w->ovpg->open && !page_write(w, w->ovpg, 0)) return false;
    if (t->def.clustered && !write_index_levels(w, t)) return false;
    if (!t->def.clustered) t->in_row->root = t->in_row->first;
    for (size_t i = 0; i < t->def.nfks; i++) t->fk_ids[i] = new_object(w);
    w->cur = NULL;
    return true;
}

/* ---- the catalog: system base tables (pages.md 3.1-3.3, SQL Server 2019's column lists) ---- */

#define BASE_AU(obj, idx) (((uint64_t)(idx) << 48) | ((uint64_t)(uint32_t)(obj) << 16))
#define COL(n, x, l, null) {.name = n, .xtype = x, .max_length = l, .nullable = null}
#define I1(n) COL(n, XT_TINYINT, 1, false)
#define I2(n) COL(n, XT_SMALLINT, 2, false)
#define I4(n) COL(n, XT_INT, 4, false)
#define I8(n) COL(n, XT_BIGINT, 8, false)
#define DT(n) COL(n, XT_DATETIME, 8, false)
#define NAME(n, null) COL(n, XT_NVARCHAR, 256, null)

static const dbw_column SYSALLOCUNITS[] = {
    I8("auid"), I1("type"), I8("ownerid"), I4("status"), I2("fgid"), COL("pgfirst", XT_BINARY, 6, false),
    COL("pgroot", XT_BINARY, 6, false), COL("pgfirstiam", XT_BINARY, 6, false), I8("pcused"), I8("pcdata"),
    I8("pcreserved")};
static const dbw_column SYSROWSETS[] = {
    I8("rowsetid"), I1("ownertype"), I4("idmajor"), I4("idminor"), I4("numpart"), I4("status"), I2("fgidfs"),
    I8("rcrows"), I1("cmprlevel"), I1("fillfact"), I2("maxnullbit"), I4("maxleaf"), I2("maxint"), I2("minleaf"),
    I2("minint"), COL("rsguid", XT_VARBINARY, 16, false), COL("lockres", XT_VARBINARY, 8, false),
    COL("scope_id", XT_INT, 4, true)};
static const dbw_column SYSRSCOLS[] = {
    I8("rsid"), I4("rscolid"), I4("hbcolid"), I8("rcmodified"), I4("ti"), I4("cid"), I2("ordkey"),
    I2("maxinrowlen"), I4("status"), I4("offset"), I4("nullbit"), I2("bitpos"),
    COL("colguid", XT_VARBINARY, 16, true)};
static const dbw_column SYSSCHOBJS[] = {
    I4("id"), NAME("name", false), I4("nsid"), I1("nsclass"), I4("status"), COL("type", XT_CHAR, 2, false),
    I4("pid"), I1("pclass"), I4("intprop"), DT("created"), DT("modified"), I4("status2")};
static const dbw_column SYSCOLPARS[] = {
    I4("id"), I2("number"), I4("colid"), NAME("name", true), I1("xtype"), I4("utype"), I2("length"),
    I1("prec"), I1("scale"), I4("collationid"), I4("status"), I2("maxinrow"), I4("xmlns"), I4("dflt"),
    I4("chk"), COL("idtval", XT_VARBINARY, 64, true)};
static const dbw_column SYSIDXSTATS[] = {
    I4("id"), I4("indid"), NAME("name", true), I4("status"), I4("intprop"), I1("fillfact"), I1("type"),
    I1("tinyprop"), I4("dataspace"), I4("lobds"), I8("rowset")};
static const dbw_column SYSISCOLS[] = {
    I4("idmajor"), I4("idminor"), I4("subid"), I4("status"), I4("intprop"), I1("tinyprop1"), I1("tinyprop2"),
    I1("tinyprop3"), I1("tinyprop4")};
static const dbw_column SYSOBJVALUES[] = {
    I1("valclass"), I4("objid"), I4("subobjid"), I4("valnum"), COL("value", XT_SQL_VARIANT, 8016, true),
    COL("imageval", XT_VARBINARY, -1, true)};
static const dbw_column SYSCLSOBJS[] = {
    I1("class"), I4("id"), NAME("name", false), I4("status"), COL("type", XT_CHAR, 2, false), I4("intprop"),
    DT("created"), DT("modified")};
static const dbw_column SYSSINGLEOBJREFS[] = {
    I1("class"), I4("depid"), I4("depsubid"), I4("indepid"), I4("indepsubid"), I4("status")};
static const dbw_column SYSSCALARTYPES[] = {
    I4("id"), I4("schid"), NAME("name", false), I1("xtype"), I2("length"), I1("prec"), I1("scale"),
    I4("collationid"), I4("status"), DT("created"), DT("modified"), I4("dflt"), I4("chk")};

typedef struct sysdef {
    const char *name;
    int32_t object_id;
    const dbw_column *cols;
    size_t ncols, nkey;            /* clustered on the first nkey columns; 0: heap */
} sysdef;

#define SYSDEF(nm, obj, arr, nkey) {nm, obj, arr, sizeof arr / sizeof *arr, nkey}
enum { S_ALLOCUNITS, S_ROWSETS, S_RSCOLS, S_SCHOBJS, S_COLPARS, S_IDXSTATS, S_ISCOLS, S_OBJVALUES, S_CLSOBJS,
       S_SINGLEOBJREFS, S_SCALARTYPES, S_COUNT };
static const sysdef SYSDEFS[S_COUNT] = {
    [S_ALLOCUNITS] = SYSDEF("sysallocunits", 7, SYSALLOCUNITS, 0),
    [S_ROWSETS] = SYSDEF("sysrowsets", 5, SYSROWSETS, 0),
    [S_RSCOLS] = SYSDEF("sysrscols", 3, SYSRSCOLS, 0),
    [S_SCHOBJS] = SYSDEF("sysschobjs", 34, SYSSCHOBJS, 1),
    [S_COLPARS] = SYSDEF("syscolpars", 41, SYSCOLPARS, 3),
    [S_IDXSTATS] = SYSDEF("sysidxstats", 54, SYSIDXSTATS, 2),
    [S_ISCOLS] = SYSDEF("sysiscols", 55, SYSISCOLS, 3),
    [S_OBJVALUES] = SYSDEF("sysobjvalues", 60, SYSOBJVALUES, 4),
    [S_CLSOBJS] = SYSDEF("sysclsobjs", 64, SYSCLSOBJS, 2),
    [S_SINGLEOBJREFS] = SYSDEF("syssingleobjrefs", 74, SYSSINGLEOBJREFS, 3),
    [S_SCALARTYPES] = SYSDEF("sysscalartypes", 50, SYSSCALARTYPES, 1),
};

/* One catalog row being assembled: value i is off[i] bytes into buf (rows move as the list
 * grows and when sorted; pointers are made just before the row is written). */
typedef struct srow {
    dbw_value v[20];
    size_t off[20];
    uint8_t buf[1024];
    size_t used;
} srow;

typedef struct srows {
    const sysdef *def;
    srow *r;
    size_t n, cap;
} srows;

static srow *srow_new(dbw *w, srows *s) {
    if (!grow((void **)&s->r, &s->cap, s->n + 1, sizeof *s->r)) { fail(w, "out of memory"); return NULL; }
    srow *r = &s->r[s->n++];
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < s->def->ncols; i++) r->v[i].null = true;
    return r;
}

static void sr_bytes(srow *r, size_t i, const void *p, size_t len) {
    if (r->used + len > sizeof r->buf) len = sizeof r->buf - r->used; /* catalog texts are short */
    memcpy(r->buf + r->used, p, len);
    r->v[i] = (dbw_value){NULL, len, false};
    r->off[i] = r->used;
    r->used += len;
}

static void sr_int(srow *r, const sysdef *d, size_t i, int64_t v) {
    uint8_t b[8];
    b2p_put_le64(b, (uint64_t)v);
    sr_bytes(r, i, b, d->cols[i].max_length);
}

static void sr_name(srow *r, size_t i, const char *utf8) {
    uint8_t u16[512];
    size_t n = dbw_utf16(utf8, u16, sizeof u16);
    sr_bytes(r, i, u16, n);
}

/* 2024-01-01 00:00 as datetime: 1/300 s ticks, then days since 1900-01-01. */
static void sr_date(srow *r, size_t i) {
    uint8_t b[8];
    b2p_put_le32(b, 0);
    b2p_put_le32(b + 4, 45290);
    sr_bytes(r, i, b, 8);
}

size_t dbw_utf16(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (more) cp &= 0x3Fu >> more;
        for (; more && (*p & 0xC0) == 0x80; more--) cp = cp << 6 | (*p++ & 0x3F);
        if (cp >= 0x10000) {
            if (n + 4 > cap) break;
            cp -= 0x10000;
            b2p_put_le16(out + n, (uint16_t)(0xD800 | cp >> 10));
            b2p_put_le16(out + n + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
            n += 4;
        } else {
            if (n + 2 > cap) break;
            b2p_put_le16(out + n, (uint16_t)cp);
            n += 2;
        }
    }
    return n;
}

static int64_t key_value(const srow *r, size_t i) {
    const uint8_t *p = r->buf + r->off[i];
    if (r->v[i].null) return INT64_MIN;
    switch (r->v[i].len) {
    case 1: return p[0];
    case 2: return (int16_t)b2p_le16(p);
    case 4: return (int32_t)b2p_le32(p);
    default: return (int64_t)b2p_le64(p);
    }
}

static size_t sort_nkey;
static int cmp_srow(const void *a, const void *b) {
    const srow *x = a, *y = b;
    for (size_t i = 0; i < sort_nkey; i++) {
        int64_t p = key_value(x, i), q = key_value(y, i);
        if (p != q) return p < q ? -1 : 1;
    }
    return 0;
}

/* The table object of a base table: its rowset and in-row AU are BASE_AU(object, index). */
static tab *sys_tab(dbw *w, const sysdef *d) {
    dbw_table_def def = {.schema = "sys", .name = d->name, .columns = d->cols, .ncolumns = d->ncols,
                         .npk = d->nkey, .clustered = d->nkey > 0};
    for (size_t k = 0; k < d->nkey; k++) def.pk[k] = (int)k;
    tab *t = tab_new(w, &def);
    if (!t) return NULL;
    compute_layout(t);
    t->sys_index = d->nkey ? 1 : 0;
    t->object_id = d->object_id;
    t->schema_id = 4;
    t->rowset = BASE_AU(d->object_id, t->sys_index);
    if (!(t->in_row = au_new(w, t->rowset, t->rowset, AU_IN_ROW))) { tab_free(t); return NULL; }
    return t;
}

static bool write_sys_rows(dbw *w, tab *t, srows *s) {
    sort_nkey = s->def->nkey;
    if (s->def->nkey && s->n) qsort(s->r, s->n, sizeof *s->r, cmp_srow);
    w->cur = t;
    w->nleaves = w->keys_len = 0;
    w->data->open = false;
    for (size_t i = 0; i < s->n; i++) {
        srow *r = &s->r[i];
        for (size_t c = 0; c < s->def->ncols; c++) r->v[c].p = r->buf + r->off[c];
        if (!dbw_row(w, r->v)) return false;
    }
    return dbw_table_end(w);
}

/* sysrscols ti: the type and its length, precision and scale (pages.md 3.3 "ti decoding",
 * (max) types with length 0 as on the fixtures). */
static uint32_t make_ti(const dbw_column *c) {
    switch (c->xtype) {
    case XT_DECIMAL: case XT_NUMERIC: return c->xtype | (uint32_t)c->precision << 8 | (uint32_t)c->scale << 16;
    case XT_TIME: case XT_DATETIME2: case XT_DATETIMEOFFSET: return c->xtype | (uint32_t)c->scale << 8;
    case XT_CHAR: case XT_VARCHAR: case XT_NCHAR: case XT_NVARCHAR: case XT_BINARY: case XT_VARBINARY:
        return c->xtype | (uint32_t)(c->max_length < 0 ? 0 : (uint16_t)c->max_length) << 8;
    default: return c->xtype;
    }
}

static bool rscols_of(dbw *w, srows *s, const tab *t) {
    const sysdef *d = s->def;
    uint16_t internal = 1;         /* offset of the next key column in an index record */
    uint16_t var_keys = 0;
    size_t hb_next = t->def.clustered ? t->def.npk + 1 : 1;
    for (size_t i = 0; i < t->def.ncolumns; i++) {
        const dbw_column *c = &t->cols[i];
        const layout *l = &t->lay[i];
        int ord = t->def.clustered ? key_ordinal(t, i) : 0;
        srow *r = srow_new(w, s);
        if (!r) return false;
        uint32_t off = l->var ? (uint32_t)(0xFFFF - l->offset) : l->offset, nullbit = (uint32_t)(i + 1);
        if (ord) {
            /* index records hold the keys from byte 1, variable ones after them */
            uint32_t inner = l->var ? (uint32_t)(0xFFFF - var_keys++) : internal;
            if (!l->var) internal = (uint16_t)(internal + l->width);
            off |= inner << 16;
            nullbit |= (uint32_t)ord << 16;
        }
        sr_int(r, d, 0, (int64_t)t->rowset);
        sr_int(r, d, 1, (int64_t)(i + 1));
        sr_int(r, d, 2, ord ? ord : (int64_t)hb_next++);
        sr_int(r, d, 3, 0);
        sr_int(r, d, 4, make_ti(c));
        sr_int(r, d, 5, is_string(c->xtype) ? c->collation_id : 0);
        sr_int(r, d, 6, ord);
        sr_int(r, d, 7, l->var ? c->max_length : l->width);
        sr_int(r, d, 8, c->nullable ? 0 : 0x80);
        sr_int(r, d, 9, off);
        sr_int(r, d, 10, nullbit);
        sr_int(r, d, 11, l->bitpos);
    }
    return true;
}

static bool rowset_row(dbw *w, srows *s, uint64_t rowset, int32_t obj, int32_t idx, const tab *t) {
    const sysdef *d = s->def;
    srow *r = srow_new(w, s);
    if (!r) return false;
    uint8_t guid[16], lockres[8];
    for (int i = 0; i < 16; i++) guid[i] = (uint8_t)(rowset >> (8 * (i % 8)) ^ (uint64_t)(0x5A + i));
    b2p_put_le64(lockres, rowset ^ 0x1F2E3D4C5B6A7988ull);
    int64_t vals[] = {(int64_t)rowset, 1, obj, idx, 1, 0, 0, (int64_t)t->rows, 0, 0, (int64_t)t->def.ncolumns,
                      t->max_rec, 0, t->min_rec, 0};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) sr_int(r, d, i, vals[i]);
    sr_bytes(r, 15, guid, 16);
    sr_bytes(r, 16, lockres, 8);
    sr_int(r, d, 17, 0);
    return true;
}

static void put_ptr(uint8_t *p, uint32_t page) {
    b2p_put_le32(p, page);
    b2p_put_le16(p + 4, page ? 1 : 0);
}

static bool allocunit_row(dbw *w, srows *s, const au *a) {
    const sysdef *d = s->def;
    srow *r = srow_new(w, s);
    if (!r) return false;
    uint8_t p[6];
    sr_int(r, d, 0, (int64_t)a->auid);
    sr_int(r, d, 1, a->type);
    sr_int(r, d, 2, (int64_t)a->owner);
    sr_int(r, d, 3, 0);
    sr_int(r, d, 4, 1);
    put_ptr(p, a->first);
    sr_bytes(r, 5, p, 6);
    put_ptr(p, a->root);
    sr_bytes(r, 6, p, 6);
    put_ptr(p, a->niams ? a->iams[0].page : 0);
    sr_bytes(r, 7, p, 6);
    sr_int(r, d, 8, (int64_t)a->used_pages);
    sr_int(r, d, 9, (int64_t)a->data_pages);
    sr_int(r, d, 10, (int64_t)a->reserved_pages);
    return true;
}

static bool schobj_row(dbw *w, srows *s, int32_t id, const char *name, int32_t nsid, int32_t status,
                       const char *type, int32_t pid, int32_t intprop) {
    const sysdef *d = s->def;
    srow *r = srow_new(w, s);
    if (!r) return false;
    sr_int(r, d, 0, id);
    sr_name(r, 1, name);
    sr_int(r, d, 2, nsid);
    sr_int(r, d, 3, 0);
    sr_int(r, d, 4, status);
    sr_bytes(r, 5, type, 2);
    sr_int(r, d, 6, pid);
    sr_int(r, d, 7, 1);
    sr_int(r, d, 8, intprop);
    sr_date(r, 9);
    sr_date(r, 10);
    sr_int(r, d, 11, 0);
    return true;
}

static void int_row(srow *r, const sysdef *d, const int64_t *v, size_t n) {
    for (size_t i = 0; i < n; i++) sr_int(r, d, i, v[i]);
}

static uint8_t column_prec(const dbw_column *c) { return c->precision; }

/* identity: last value, increment, seed (column width each), then 1 while unused. */
static size_t identity_bytes(const tab *t, const dbw_column *c, uint8_t *out) {
    size_t wd = fixed_width(c);
    if (wd > 8) wd = 8;
    uint64_t last = t->identity_used ? t->identity_last : (uint64_t)c->seed;
    for (size_t k = 0; k < wd; k++) {
        out[k] = (uint8_t)(last >> (8 * k));
        out[wd + k] = (uint8_t)((uint64_t)c->increment >> (8 * k));
        out[2 * wd + k] = (uint8_t)((uint64_t)c->seed >> (8 * k));
    }
    out[3 * wd] = t->identity_used ? 0 : 1;
    return 3 * wd + 1;
}

static bool user_table_rows(dbw *w, srows *S, const tab *t) {
    srows *so = &S[S_SCHOBJS], *cp = &S[S_COLPARS], *ix = &S[S_IDXSTATS], *ic = &S[S_ISCOLS],
          *ov = &S[S_OBJVALUES], *fr = &S[S_SINGLEOBJREFS];
    if (!schobj_row(w, so, t->object_id, t->name, t->schema_id, 0xE0000, "U ", 0, (int32_t)t->def.ncolumns))
        return false;
    for (size_t i = 0; i < t->def.ncolumns; i++) {
        const dbw_column *c = &t->cols[i];
        srow *r = srow_new(w, cp);
        if (!r) return false;
        bool padded = is_string(c->xtype) || c->xtype == XT_BINARY || c->xtype == XT_VARBINARY;
        int64_t v[] = {t->object_id, 0, (int64_t)(i + 1)};
        int_row(r, cp->def, v, 3);
        sr_name(r, 3, c->name);
        sr_int(r, cp->def, 4, c->xtype);
        sr_int(r, cp->def, 5, c->xtype);
        sr_int(r, cp->def, 6, c->max_length);
        sr_int(r, cp->def, 7, column_prec(c));
        sr_int(r, cp->def, 8, c->scale);
        sr_int(r, cp->def, 9, is_string(c->xtype) ? c->collation_id : 0);
        sr_int(r, cp->def, 10, (c->nullable ? 0 : 1) | (padded ? 2 : 0) | (c->identity ? 4 : 0));
        sr_int(r, cp->def, 11, c->max_length);
        sr_int(r, cp->def, 12, 0);
        sr_int(r, cp->def, 13, t->default_ids[i]);
        sr_int(r, cp->def, 14, 0);
        if (c->identity) {
            uint8_t idt[32];
            sr_bytes(r, 15, idt, identity_bytes(t, c, idt));
        }
        if (t->default_ids[i]) {
            char dname[300];
            snprintf(dname, sizeof dname, "DF_%s_%s", t->name, c->name);
            if (!schobj_row(w, so, t->default_ids[i], dname, t->schema_id, 0x20000, "D ", t->object_id, (int32_t)(i + 1)))
                return false;
            srow *o = srow_new(w, ov);
            if (!o) return false;
            static const uint8_t variant[] = {0x38, 0x01, 0x02, 0x00, 0x00, 0x00}; /* as on the fixtures */
            int64_t k[] = {1, t->default_ids[i], 0, 0};
            int_row(o, ov->def, k, 4);
            sr_bytes(o, 4, variant, sizeof variant);
            sr_bytes(o, 5, c->default_sql, strlen(c->default_sql));
        }
    }
    /* indexes: the heap or clustered index (0/1), a nonclustered primary key (2) */
    srow *r = srow_new(w, ix);
    if (!r) return false;
    int64_t base[] = {t->object_id, t->def.clustered ? 1 : 0};
    int_row(r, ix->def, base, 2);
    if (t->def.clustered) sr_name(r, 2, t->def.pk_name);
    int64_t rest[] = {t->def.clustered ? 0x8002B : 0, 0, 0, t->def.clustered ? 1 : 0, 0, 1, t->lob ? 1 : 0,
                      (int64_t)t->rowset};
    for (size_t k = 0; k < 8; k++) sr_int(r, ix->def, 3 + k, rest[k]);
    if (t->def.npk) {
        int32_t indid = t->def.clustered ? 1 : 2;
        if (!t->def.clustered) {
            if (!(r = srow_new(w, ix))) return false;
            int64_t nc[] = {t->object_id, 2};
            int_row(r, ix->def, nc, 2);
            sr_name(r, 2, t->def.pk_name);
            int64_t nrest[] = {0x8002B, 0, 0, 2, 0, 1, 0, (int64_t)t->nc_rowset};
            for (size_t k = 0; k < 8; k++) sr_int(r, ix->def, 3 + k, nrest[k]);
        }
        if (!schobj_row(w, so, t->pk_object_id, t->def.pk_name, t->schema_id, 4, "PK", t->object_id, 0)) return false;
        /* key columns: subid in column order, tinyprop1 the key ordinal */
        for (size_t k = 0; k < t->def.npk; k++) {
            int subid = 1;
            for (size_t j = 0; j < t->def.npk; j++) subid += t->def.pk[j] < t->def.pk[k];
            if (!(r = srow_new(w, ic))) return false;
            int64_t v[] = {t->object_id, indid, subid, 3, t->def.pk[k] + 1, (int64_t)k + 1, 0, 0, 0};
            int_row(r, ic->def, v, 9);
        }
    }
    for (size_t f = 0; f < t->def.nfks; f++) {
        const dbw_fk *fk = &t->fks[f];
        const tab *ref = NULL;
        for (size_t k = 0; k < w->ntabs; k++)
            if (!strcmp(w->tabs[k]->name, fk->ref_table) && !strcmp(w->tabs[k]->def.schema, fk->ref_schema))
                ref = w->tabs[k];
        if (!ref) return fail(w, "%s: foreign key %s references unknown table %s.%s", t->name, fk->name,
                              fk->ref_schema, fk->ref_table);
        if (!schobj_row(w, so, t->fk_ids[f], fk->name, t->schema_id, 4, "F ", t->object_id, fk->cols[0] + 1))
            return false;
        if (!(r = srow_new(w, fr))) return false;
        int64_t head[] = {27, t->fk_ids[f], 0, ref->object_id, ref->def.clustered ? 1 : 2, 0};
        int_row(r, fr->def, head, 6);
        for (size_t k = 0; k < fk->ncols; k++) {
            if (!(r = srow_new(w, fr))) return false;
            int64_t a[] = {28, t->fk_ids[f], (int64_t)k + 1, t->object_id, fk->cols[k] + 1, 0};
            int_row(r, fr->def, a, 6);
            if (!(r = srow_new(w, fr))) return false;
            int64_t b[] = {29, t->fk_ids[f], (int64_t)k + 1, ref->object_id, fk->ref_cols[k] + 1, 0};
            int_row(r, fr->def, b, 6);
        }
    }
    return true;
}

static bool clsobj_row(dbw *w, srows *s, int cls, int32_t id, const char *name, const char *type) {
    srow *r = srow_new(w, s);
    if (!r) return false;
    sr_int(r, s->def, 0, cls);
    sr_int(r, s->def, 1, id);
    sr_name(r, 2, name);
    sr_int(r, s->def, 3, 0);
    sr_bytes(r, 4, type, 2);
    sr_int(r, s->def, 5, 0);
    sr_date(r, 6);
    sr_date(r, 7);
    return true;
}

static bool schema_rows(dbw *w, srows *s) {
    static const char *const fixed[] = {"dbo", "guest", "INFORMATION_SCHEMA", "sys"};
    static const char *const roles[] = {"db_owner", "db_accessadmin", "db_securityadmin", "db_ddladmin", NULL,
                                        "db_backupoperator", "db_datareader", "db_datawriter",
                                        "db_denydatareader", "db_denydatawriter"};
    static const char zero[2] = {0, 0};
    if (!clsobj_row(w, s, 31, 1, "PRIMARY", "FG")) return false;
    for (int i = 0; i < 4; i++)
        if (!clsobj_row(w, s, 50, i + 1, fixed[i], zero)) return false;
    for (size_t i = 0; i < w->nschemas; i++)
        if (!clsobj_row(w, s, 50, (int32_t)(5 + i), w->schemas[i], zero)) return false;
    for (int i = 0; i < 10; i++)
        if (roles[i] && !clsobj_row(w, s, 50, 16384 + i, roles[i], zero)) return false;
    return true;
}

/* sysallocunits lists itself: its own row is written with the pointers it will have, then
 * patched once its pages exist (same record length, so the pages do not move). */
static bool patch_own_allocunit(dbw *w, const au *a) {
    uint8_t pg[PAGE];
    for (uint32_t id = a->first; id; id = b2p_le32(pg + 16)) {
        if (!image_get(w, pg, id)) return false;
        for (uint16_t s = 0; s < b2p_le16(pg + 22); s++) {
            uint8_t *rec = pg + b2p_le16(pg + PAGE - 2 * (s + 1));
            if (b2p_le64(rec + 4) != a->auid) continue;
            put_ptr(rec + 27, a->first);
            put_ptr(rec + 33, a->root);
            put_ptr(rec + 39, a->iams[0].page);
            b2p_put_le64(rec + 45, a->used_pages);
            b2p_put_le64(rec + 53, a->data_pages);
            b2p_put_le64(rec + 61, a->reserved_pages);
            return image_put(w, pg, id);
        }
        if (!b2p_le32(pg + 16)) break;
    }
    return fail(w, "sysallocunits does not hold its own row");
}

/* Heap pages of the system tables are chained (m_nextPage) as on the fixtures: the reader
 * finds sysallocunits from the boot page by that chain. */
static bool chain_heap(dbw *w, const au *a) {
    uint8_t pg[PAGE];
    uint32_t prev = 0;
    for (size_t m = 0; m < a->niams; m++) {
        const iam_map *im = &a->iams[m];
        for (uint32_t bit = 0; bit < GAM_BITMAP * 8; bit++) {
            if (!(im->bits[bit >> 3] & (1u << (bit & 7)))) continue;
            for (uint32_t k = 0; k < EXTENT; k++) {
                uint32_t id = im->interval * GAM_INTERVAL + bit * EXTENT + k;
                if (!image_get(w, pg, id)) return false;
                if (pg[1] != PT_DATA) continue;
                if (prev) {
                    uint8_t pp[PAGE];
                    if (!image_get(w, pp, prev)) return false;
                    page_buf tmp;
                    memcpy(tmp.b, pp, PAGE);
                    page_link(&tmp, 0, id);
                    if (!image_put(w, tmp.b, prev)) return false;
                    memcpy(tmp.b, pg, PAGE);
                    page_link(&tmp, prev, 0);
                    if (!image_put(w, tmp.b, id)) return false;
                }
                prev = id;
            }
        }
    }
    return true;
}

static bool write_catalog(dbw *w, uint32_t *first_sys_indexes) {
    srows S[S_COUNT];
    tab *T[S_COUNT];
    memset(S, 0, sizeof S);
    memset(T, 0, sizeof T);
    bool ok = true;
    for (int i = 0; i < S_COUNT && ok; i++) {
        S[i].def = &SYSDEFS[i];
        ok = (T[i] = sys_tab(w, &SYSDEFS[i])) != NULL || fail(w, "out of memory");
    }
    ok = ok && schema_rows(w, &S[S_CLSOBJS]);
    for (size_t i = 0; ok && i < w->ntabs; i++) ok = user_table_rows(w, S, w->tabs[i]);
    for (int i = S_SCHOBJS; ok && i < S_COUNT; i++) ok = write_sys_rows(w, T[i], &S[i]);
    /* sysrowsets: every rowset, its own included (its row count is known beforehand) */
    size_t nrowsets = S_COUNT;
    for (size_t i = 0; i < w->ntabs; i++) nrowsets += 1 + (w->tabs[i]->nc ? 1 : 0);
    T[S_ROWSETS]->rows = nrowsets;
    T[S_RSCOLS]->rows = 0;
    for (int i = 0; i < S_COUNT; i++) T[S_RSCOLS]->rows += T[i]->def.ncolumns;
    for (size_t i = 0; i < w->ntabs; i++) T[S_RSCOLS]->rows += w->tabs[i]->def.ncolumns;
    T[S_ALLOCUNITS]->rows = w->naus;
    for (int i = 0; ok && i < S_COUNT; i++) ok = rowset_row(w, &S[S_ROWSETS], T[i]->rowset, T[i]->object_id, T[i]->sys_index, T[i]);
    for (size_t i = 0; ok && i < w->ntabs; i++) {
        tab *t = w->tabs[i];
        ok = rowset_row(w, &S[S_ROWSETS], t->rowset, t->object_id, t->def.clustered ? 1 : 0, t);
        if (ok && t->nc) ok = rowset_row(w, &S[S_ROWSETS], t->nc_rowset, t->object_id, 2, t);
    }
    for (int i = 0; ok && i < S_COUNT; i++) ok = rscols_of(w, &S[S_RSCOLS], T[i]);
    for (size_t i = 0; ok && i < w->ntabs; i++) ok = rscols_of(w, &S[S_RSCOLS], w->tabs[i]);
    ok = ok && write_sys_rows(w, T[S_ROWSETS], &S[S_ROWSETS]) && write_sys_rows(w, T[S_RSCOLS], &S[S_RSCOLS]);
    for (size_t i = 0; ok && i < w->naus; i++) ok = allocunit_row(w, &S[S_ALLOCUNITS], w->aus[i]);
    ok = ok && write_sys_rows(w, T[S_ALLOCUNITS], &S[S_ALLOCUNITS]);
    for (int i = S_ALLOCUNITS; ok && i <= S_RSCOLS; i++) ok = chain_heap(w, T[i]->in_row);
    ok = ok && patch_own_allocunit(w, T[S_ALLOCUNITS]->in_row);
    if (ok) *first_sys_indexes = T[S_ALLOCUNITS]->in_row->first;
    for (int i = 0; i < S_COUNT; i++) {
        free(S[i].r);
        tab_free(T[i]);
    }
    return ok;
}

/* ---- allocation pages, IAM pages, boot page, file header -------------------------------- */

static bool write_iams(dbw *w) {
    page_buf *pb = w->prev;
    for (size_t i = 0; i < w->naus; i++) {
        const au *a = w->aus[i];
        for (size_t m = 0; m < a->niams; m++) {
            const iam_map *im = &a->iams[m];
            page_start(pb, PT_IAM, 0, a->auid, im->page);
            page_link(pb, m ? a->iams[m - 1].page : 0, m + 1 < a->niams ? a->iams[m + 1].page : 0);
            uint8_t head[94] = {0, 0, 94, 0};
            b2p_put_le32(head + 4, (uint32_t)m);              /* sequence number */
            put_ptr(head + 40, im->interval * GAM_INTERVAL);  /* start page of the interval */
            if (!im->interval) b2p_put_le16(head + 44, 1);
            page_add(pb, head, sizeof head);
            w->rec[0] = w->rec[1] = 0;
            b2p_put_le16(w->rec + 2, 4 + GAM_BITMAP);
            memcpy(w->rec + 4, im->bits, GAM_BITMAP);
            page_add(pb, w->rec, 4 + GAM_BITMAP);
            if (!page_write(w, pb, 90)) return false;
        }
    }
    return true;
}

/* A GAM-format page (GAM, SGAM, DCM, BCM): header record and extent bitmap. */
static bool write_map_page(dbw *w, uint8_t type, uint32_t id, uint32_t interval, bool free_bits) {
    page_buf *pb = w->prev;
    page_start(pb, type, 0, (uint64_t)ALLOC_OBJ << 16, id);
    uint8_t head[94] = {0, 0, 94, 0};
    put_ptr(head + 40, interval * GAM_INTERVAL);
    if (!interval) b2p_put_le16(head + 44, 1);
    page_add(pb, head, sizeof head);
    memset(w->rec, 0, 4 + GAM_BITMAP);
    b2p_put_le16(w->rec + 2, 4 + GAM_BITMAP);
    uint32_t first = interval * (GAM_INTERVAL / EXTENT);
    for (uint32_t b = 0; b < GAM_BITMAP * 8; b++) {
        uint32_t e = first + b;
        bool set = free_bits ? e >= w->next_extent && (uint64_t)e * EXTENT < (uint64_t)w->next_extent * EXTENT
                             : w->mixed_left && e == w->mixed_next / EXTENT;
        if (set) w->rec[4 + (b >> 3)] |= (uint8_t)(1u << (b & 7));
    }
    page_add(pb, w->rec, 4 + GAM_BITMAP);
    return page_write(w, pb, 90);
}

static bool write_allocation_pages(dbw *w) {
    uint32_t pages = w->next_extent * EXTENT;
    for (uint32_t g = 0; (uint64_t)g * GAM_INTERVAL < pages; g++) {
        uint32_t base = g * GAM_INTERVAL;
        static const uint32_t sys[] = {2, 3, 6, 7};
        for (int k = 0; k < 4; k++)
            if (!pfs_set(w, base + sys[k], 0x44)) return false;
        if (!write_map_page(w, PT_GAM, base + 2, g, true) || !write_map_page(w, PT_SGAM, base + 3, g, false) ||
            !write_map_page(w, PT_DCM, base + 6, g, false) || !write_map_page(w, PT_BCM, base + 7, g, false))
            return false;
    }
    if (!pfs_set(w, 0, 0x44) || !pfs_set(w, 9, 0x64) || !pfs_cover(w, pages))
        return false;
    page_buf *pb = w->prev;
    for (uint32_t p = 0; p < pages; p += PFS_INTERVAL) {
        uint32_t id = p ? p : 1;
        if (!pfs_set(w, id, 0x44)) return false;
        page_start(pb, PT_PFS, 0, (uint64_t)ALLOC_OBJ << 16, id);
        w->rec[0] = w->rec[1] = 0;
        b2p_put_le16(w->rec + 2, 4 + PFS_INTERVAL);
        for (uint32_t k = 0; k < PFS_INTERVAL; k++) w->rec[4 + k] = p + k < pages ? w->pfs[p + k] : 0;
        page_add(pb, w->rec, 4 + PFS_INTERVAL);
        if (!page_write(w, pb, 0)) return false;
    }
    return true;
}

static bool write_boot(dbw *w, uint32_t first_sys_indexes) {
    page_buf *pb = w->prev;
    page_start(pb, PT_BOOT, 0, (uint64_t)ALLOC_OBJ << 16, 9);
    uint8_t *r = w->rec;
    memset(r, 0, BOOT_RECORD);
    b2p_put_le16(r + 2, BOOT_RECORD);
    b2p_put_le16(r + 4, DB_VERSION);          /* dbi_version */
    b2p_put_le16(r + 6, DB_VERSION);          /* dbi_createVersion */
    b2p_put_le32(r + 48, 0);                  /* dbi_crdate: 2024-01-01 */
    b2p_put_le32(r + 52 - 4, 45290);
    uint8_t name[256];
    size_t n = dbw_utf16(w->dbname, name, sizeof name);
    for (size_t k = 0; k < 256; k += 2) b2p_put_le16(r + 52 + k, k < n ? b2p_le16(name + k) : 0x20);
    b2p_put_le16(r + 312, 5);                 /* dbi_dbid */
    b2p_put_le16(r + 314, w->opt.compat_level);
    b2p_put_le32(r + 392, w->opt.collation_id);
    put_ptr(r + 516, first_sys_indexes);
    page_add(pb, r, BOOT_RECORD);
    return page_write(w, pb, 0);
}

static bool write_file_header(dbw *w) {
    page_buf *pb = w->prev;
    page_start(pb, PT_FILE_HEADER, 0, (uint64_t)ALLOC_OBJ << 16, 0);
    uint8_t guid[16], fixed[4] = {0}, file_id[2] = {1, 0};
    XXH128_canonical_t c; /* the file's GUID: this database's, not every generated one's */
    XXH128_canonicalFromHash(&c, XXH3_128bits_withSeed(w->identity, sizeof w->identity, 0xF11E));
    memcpy(guid, c.digest, sizeof guid);
    record_var v[3] = {{guid, 16, false}, {NULL, 0, false}, {file_id, 2, false}};
    uint8_t bitmap[1] = {0};
    size_t len = fixedvar_record_bitmap(w->rec, 0, false, fixed, 4, 3, bitmap, v, 3);
    page_add(pb, w->rec, len);
    return page_write(w, pb, 0);
}

/* ---- the database and the backup ----------------------------------------------------------- */

dbw *dbw_open(const dbw_options *opt) {
    if (!opt || !opt->database_name || !*opt->database_name) return NULL;
    dbw *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->opt = *opt;
    if (!w->opt.collation_id) w->opt.collation_id = DEFAULT_COLLATION;
    if (!w->opt.compat_level) w->opt.compat_level = 150;
    w->dbname = str_copy(opt->database_name);
    w->image = tmpfile();
    w->data = calloc(1, sizeof *w->data);
    w->lobpg = calloc(1, sizeof *w->lobpg);
    w->ovpg = calloc(1, sizeof *w->ovpg);
    w->prev = calloc(1, sizeof *w->prev);
    w->next_extent = 2;
    w->next_id = 0x100;
    w->next_object = 245575913;
    w->blob_id = 0x10000;
    if (!w->dbname || !w->image || !w->data || !w->lobpg || !w->ovpg || !w->prev || !pfs_set(w, 0, 0)) {
        dbw_abort(w);
        return NULL;
    }
    return w;
}

void dbw_abort(dbw *w) {
    if (!w) return;
    for (size_t i = 0; i < w->naus; i++) {
        for (size_t m = 0; m < w->aus[i]->niams; m++) free(w->aus[i]->iams[m].bits);
        free(w->aus[i]->iams);
        free(w->aus[i]);
    }
    for (size_t i = 0; i < w->ntabs; i++) tab_free(w->tabs[i]);
    for (size_t i = 0; i < w->nschemas; i++) free(w->schemas[i]);
    if (w->image) fclose(w->image);
    free(w->aus);
    free(w->tabs);
    free(w->schemas);
    free(w->pfs);
    free(w->data);
    free(w->lobpg);
    free(w->ovpg);
    free(w->prev);
    free(w->leaves);
    free(w->keys);
    free(w->row);
    free(w->dbname);
    free(w);
}

const char *dbw_error(const dbw *w) { return w ? w->err : "no writer"; }
uint64_t dbw_pages(const dbw *w) { return (uint64_t)w->next_extent * EXTENT; }

static bool stream_backup(dbw *w, FILE *out, bool compress) {
    uint64_t units = (uint64_t)w->next_extent * EXTENT;
    char physical[600];
    snprintf(physical, sizeof physical, "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\DATA\\%s.mdf",
             w->dbname);
    char log_name[300], log_physical[600];
    snprintf(log_name, sizeof log_name, "%s_log", w->dbname);
    snprintf(log_physical, sizeof log_physical, "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\DATA\\%s_log.ldf",
             w->dbname);
    mtfw_file files[2] = {{w->dbname, physical, 1, 'D', units * PAGE}, {log_name, log_physical, 2, 'L', 8u << 20}};
    mtfw_options o = {.block_size = 512, .compress = compress, .with_checksum = true, .type_letter = 'D',
                      .database_name = w->dbname, .server_name = "MKBAK", .version_major = 15,
                      .version_build = 2000, .database_version = DB_VERSION, .total_units = units,
                      .files = files, .nfiles = 2};
    mtfw_derive_identity(&o, w->identity); /* from the pages and the options, compress included */
    mtfw *m = mtfw_open(out, &o);
    if (!m) return fail(w, "cannot start the backup");
    enum { CHUNK = 64 };
    uint8_t *buf = malloc((size_t)CHUNK * PAGE);
    bool ok = buf != NULL;
    for (uint64_t u = 0; ok && u < units; u += CHUNK) {
        size_t n = units - u < CHUNK ? (size_t)(units - u) : CHUNK;
        memset(buf, 0, n * PAGE);
        ssize_t got = pread(fileno(w->image), buf, n * PAGE, (off_t)(u * PAGE));
        ok = got >= 0 && mtfw_add_units(m, buf, n);
    }
    free(buf);
    ok = mtfw_close(m) && ok;
    return ok || fail(w, "writing the backup failed");
}

/* The identity of this database: a hash of every page of the image (all that the description,
 * the scale and the generator put in it), taken before the file header, whose GUID derives
 * from it. Distinct databases get distinct GUIDs; the same calls, the same bytes. */
static bool hash_image(dbw *w) {
    enum { CHUNK = 64 };
    XXH3_state_t *h = XXH3_createState();
    uint8_t *buf = malloc((size_t)CHUNK * PAGE);
    bool ok = h && buf && XXH3_128bits_reset(h) == XXH_OK;
    uint64_t pages = (uint64_t)w->next_extent * EXTENT;
    for (uint64_t u = 1; ok && u < pages; u += CHUNK) { /* page 0 is the file header */
        size_t n = pages - u < CHUNK ? (size_t)(pages - u) : CHUNK;
        memset(buf, 0, n * PAGE); /* pages never written read as zeros */
        ok = pread(fileno(w->image), buf, n * PAGE, (off_t)(u * PAGE)) >= 0 && XXH3_128bits_update(h, buf, n * PAGE) == XXH_OK;
    }
    if (ok) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
        memcpy(w->identity, c.digest, sizeof w->identity);
    }
    XXH3_freeState(h);
    free(buf);
    return ok || fail(w, "hashing the page image failed");
}

bool dbw_finish(dbw *w, FILE *out, bool compress) {
    uint32_t first_sys = 0;
    bool ok = !w->cur || fail(w, "table %s is still open", w->cur->name);
    ok = ok && write_catalog(w, &first_sys) && write_iams(w) && write_allocation_pages(w) &&
         write_boot(w, first_sys) && hash_image(w) && write_file_header(w) && stream_backup(w, out, compress);
    if (!ok) return false; /* the caller reads dbw_error, then calls dbw_abort */
    dbw_abort(w);
    return true;
}
