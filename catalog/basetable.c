/* Reading the system base tables: boot page, the two bootstrap tables (sysallocunits,
 * sysrscols) and then any base table through its own sysrscols rows (pages.md 2.2, 3.1-3.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B2P_CATALOG_INTERNAL
#include "cat_int.h"

#define BOOT_FILE 1
#define BOOT_PAGE 9
/* Boot record fields, record offsets (pages.md 2.2). */
#define BOOT_VERSION_REC 4
#define BOOT_CREATE_VERSION_REC 6
#define BOOT_CMPTLEVEL_REC 314
#define BOOT_COLLATION_REC 392
#define BOOT_FIRST_SYSINDEXES_REC 516

/* Object ids of the bootstrap tables (pages.md 3.1). */
#define OBJ_SYSRSCOLS 3
#define OBJ_SYSALLOCUNITS 7
/* A system base table's rowset/AU id: index_id << 48 | object_id << 16 (pages.md 3.1). */
#define BASE_AU(obj, idx) (((uint64_t)(idx) << 48) | ((uint64_t)(uint32_t)(obj) << 16))

/* Bootstrap layout of sysallocunits (pages.md 3.3): fixed record offsets. */
#define AU_AUID 4
#define AU_TYPE 12
#define AU_OWNER 13
#define AU_PGFIRST 27
#define AU_PGROOT 33
#define AU_PGFIRSTIAM 39
#define AU_PCUSED 45
#define AU_PCDATA 53
#define AU_PCRESERVED 61
#define AU_FIXED_END 69

/* Bootstrap layout of sysrscols (pages.md 3.3). */
#define RS_RSID 4
#define RS_RSCOLID 12
#define RS_HBCOLID 16
#define RS_TI 28
#define RS_CID 32
#define RS_STATUS 40
#define RS_OFFSET 44
#define RS_NULLBIT 48
#define RS_BITPOS 52
#define RS_FIXED_END 54

/* SQL Server 2005 (database versions 611/612) has no sysrscols; the physical column layout of
 * every hobt is in syshobtcolumns (object 13), found on the fixtures (pages.md 3.1 only
 * suspected it). Its layout, verified against its own rows: */
#define OBJ_SYSHOBTCOLUMNS 13
#define HC_HOBTID 4            /* bigint: = rowset id (sysallocunits.ownerid) */
#define HC_COLID 12            /* int: hobt column id */
#define HC_XTYPE 22            /* tinyint */
#define HC_LENGTH 23           /* smallint: bytes, -1 = (max) */
#define HC_PREC 25             /* tinyint */
#define HC_SCALE 26            /* tinyint */
#define HC_COLLATION 27        /* int */
#define HC_LEAF_OFFSET 31      /* smallint; 33: internal (non-leaf) offset */
#define HC_LEAF_BITPOS 35      /* tinyint; 36: internal bit position */
#define HC_LEAF_NULLBIT 37     /* smallint; 39: internal null bit */
#define HC_FIXED_END 41

/* A catalog bigger than this is damage, not data. */
#define MAX_CATALOG_ROWS 10000000

/* System type ids the base tables use (pages.md 6). */
enum {
    XT_BINARY = 173, XT_VARBINARY = 165, XT_BIGINT = 127, XT_INT = 56, XT_SMALLINT = 52,
    XT_TINYINT = 48, XT_BIT = 104, XT_CHAR = 175, XT_NCHAR = 239, XT_DATETIME = 61,
    XT_SMALLDATETIME = 58, XT_GUID = 36, XT_REAL = 59, XT_FLOAT = 62, XT_MONEY = 60,
    XT_SMALLMONEY = 122, XT_DATE = 40, XT_TIME = 41, XT_DATETIME2 = 42, XT_DATETIMEOFFSET = 43,
    XT_TIMESTAMP = 189, XT_DECIMAL = 106, XT_NUMERIC = 108,
};

/* ---- growable arrays ---------------------------------------------------------------- */

static b2p_status grow(void **items, size_t *cap, size_t n, size_t size, b2p_error *err) {
    if (n < *cap) return B2P_OK;
    if (n >= MAX_CATALOG_ROWS)
        return b2p_fail(err, B2P_ERR_CORRUPT, "catalog: more than %d rows in one system table",
                        MAX_CATALOG_ROWS);
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*items, ncap * size);
    if (!p) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    *items = p;
    *cap = ncap;
    return B2P_OK;
}

/* ---- boot page ---------------------------------------------------------------------- */

b2p_status cat_read_boot(cat_reader *r, b2p_error *err) {
    uint8_t page[B2P_PAGE_SIZE];
    b2p_status st = b2p_pages_read(r->src, BOOT_FILE, BOOT_PAGE, page, err);
    if (st == B2P_ERR_NOT_FOUND)
        return b2p_fail(err, B2P_ERR_NOT_FOUND,
                        "boot page 1:9 is not in the backup (a stripe missing?): no catalog");
    if (st) return st;
    b2p_page_header h;
    if ((st = b2p_page_header_parse(page, BOOT_FILE, BOOT_PAGE, &h, err))) return st;
    if (h.type != B2P_PAGE_BOOT || h.slot_count < 1)
        return b2p_fail(err, B2P_ERR_CORRUPT, "page 1:9: type %u with %u slots, expected a boot page (13)",
                        h.type, h.slot_count);
    b2p_record rec;
    if ((st = b2p_page_record(page, &h, 0, &rec, err))) return st;
    const uint8_t *p;
    if ((st = b2p_record_fixed(&rec, BOOT_VERSION_REC, 4, &p, err))) return st;
    r->boot.version = b2p_le16(p);
    r->boot.create_version = b2p_le16(p + 2);
    if ((st = b2p_record_fixed(&rec, BOOT_CMPTLEVEL_REC, 2, &p, err))) return st;
    r->boot.compat = p[0];
    if ((st = b2p_record_fixed(&rec, BOOT_COLLATION_REC, 4, &p, err))) return st;
    r->boot.collation = b2p_le32(p);
    if ((st = b2p_record_fixed(&rec, BOOT_FIRST_SYSINDEXES_REC, 6, &p, err))) return st;
    r->boot.first_sys_indexes = b2p_page_ptr_read(p);
    if (b2p_page_ptr_is_null(r->boot.first_sys_indexes))
        return b2p_fail(err, B2P_ERR_CORRUPT, "boot page 1:9: dbi_firstSysIndexes is (0:0)");
    return B2P_OK;
}

/* The three tables read before the catalog can describe itself (sysallocunits, sysrscols or
 * 2005's syshobtcolumns) are decoded at fixed offsets, checked afterwards by verify_bootstrap.
 * One collector serves them: each live row, once its fixed part is long enough, becomes one
 * element of the reader's array through the table's decode function. */
typedef struct boot_rows {
    const char *table;
    uint16_t fixed_end;           /* the fixed part must reach this far */
    void (*decode)(const uint8_t *fixed, void *element);
    void **elements;
    size_t *count;
    size_t element_size, cap;
    b2p_error *err;
    b2p_status st;
} boot_rows;

static int collect_boot_page(void *vctx, const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h) {
    boot_rows *c = vctx;
    for (uint16_t s = 0; s < h->slot_count; s++) {
        b2p_record rec;
        b2p_status st = b2p_page_record(page, h, s, &rec, c->err);
        if (st == B2P_ERR_NOT_FOUND) continue;
        if (st) return c->st = st;
        if (!b2p_record_is_live_row(&rec)) continue;
        if (rec.fixed_end < c->fixed_end)
            return c->st = b2p_fail(c->err, B2P_ERR_CORRUPT,
                                    "%s page %u:%u slot %u: fixed part ends at %u, expected at least %u",
                                    c->table, h->self.file, h->self.page, s, rec.fixed_end, c->fixed_end);
        if ((st = grow(c->elements, &c->cap, *c->count, c->element_size, c->err))) return c->st = st;
        void *element = (char *)*c->elements + (*c->count)++ * c->element_size;
        memset(element, 0, c->element_size);
        c->decode(rec.data, element);
    }
    return 0;
}

/* ---- sysallocunits -------------------------------------------------------------------- */

static void decode_au(const uint8_t *d, void *element) {
    cat_au_row *a = element;
    a->auid = b2p_le64(d + AU_AUID);
    a->type = d[AU_TYPE];
    a->owner = b2p_le64(d + AU_OWNER);
    a->first = b2p_page_ptr_read(d + AU_PGFIRST);
    a->root = b2p_page_ptr_read(d + AU_PGROOT);
    a->first_iam = b2p_page_ptr_read(d + AU_PGFIRSTIAM);
    a->used = b2p_le64(d + AU_PCUSED);
    a->data = b2p_le64(d + AU_PCDATA);
    a->total = b2p_le64(d + AU_PCRESERVED);
}

static int cmp_au(const void *a, const void *b) {
    uint64_t x = ((const cat_au_row *)a)->auid, y = ((const cat_au_row *)b)->auid;
    return x < y ? -1 : x > y;
}

b2p_status cat_read_allocunits(cat_reader *r, b2p_error *err) {
    /* sysallocunits is found from the boot page alone: follow its page chain
     * (pages.md 3.2 step 1). */
    b2p_au_ref ref = {.auid = BASE_AU(OBJ_SYSALLOCUNITS, 0), .first = r->boot.first_sys_indexes};
    boot_rows c = {.table = "sysallocunits", .fixed_end = AU_FIXED_END, .decode = decode_au,
                   .elements = (void **)&r->aus, .count = &r->naus, .element_size = sizeof *r->aus,
                   .err = err};
    b2p_scan_stats stats;
    b2p_status st = b2p_au_scan(r->src, &ref, B2P_SCAN_PAGE_CHAIN, collect_boot_page, &c, &stats, err);
    if (c.st) return c.st;
    if (st) return st;
    if (r->naus) qsort(r->aus, r->naus, sizeof *r->aus, cmp_au);
    if (!cat_find_au(r, BASE_AU(OBJ_SYSALLOCUNITS, 0)) && (stats.missing || r->naus == 0))
        return b2p_fail(err, B2P_ERR_NOT_FOUND,
                        "sysallocunits pages from %u:%u are not in the backup (a stripe missing?): no catalog",
                        r->boot.first_sys_indexes.file, r->boot.first_sys_indexes.page);
    if (!cat_find_au(r, BASE_AU(OBJ_SYSALLOCUNITS, 0)))
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "sysallocunits (from %u:%u) does not list itself (allocation unit 458752)",
                        r->boot.first_sys_indexes.file, r->boot.first_sys_indexes.page);
    return B2P_OK;
}

const cat_au_row *cat_find_au(const cat_reader *r, uint64_t auid) {
    cat_au_row key = {.auid = auid};
    if (!r->naus) return NULL;
    return bsearch(&key, r->aus, r->naus, sizeof *r->aus, cmp_au);
}

/* ---- sysrscols ------------------------------------------------------------------------ */

static void decode_rscol(const uint8_t *d, void *element) {
    cat_rscol_row *x = element;
    x->rsid = b2p_le64(d + RS_RSID);
    x->rscolid = b2p_le32(d + RS_RSCOLID);
    x->hbcolid = b2p_le32(d + RS_HBCOLID);
    x->ti = b2p_le32(d + RS_TI);
    x->cid = b2p_le32(d + RS_CID);
    x->status = b2p_le32(d + RS_STATUS);
    x->offset = b2p_le32(d + RS_OFFSET);
    x->nullbit = b2p_le32(d + RS_NULLBIT);
    x->bitpos = b2p_le16(d + RS_BITPOS);
}

static int cmp_rscol(const void *a, const void *b) {
    const cat_rscol_row *x = a, *y = b;
    if (x->rsid != y->rsid) return x->rsid < y->rsid ? -1 : 1;
    return x->rscolid < y->rscolid ? -1 : x->rscolid > y->rscolid;
}

static b2p_au_ref au_ref_of(const cat_au_row *a) {
    b2p_au_ref ref = {.auid = a->auid, .first = a->first, .root = a->root, .first_iam = a->first_iam};
    return ref;
}

/* Every data page of an AU: by its IAM chain when it has one, else by its page chain. */
static b2p_status scan_au(cat_reader *r, const cat_au_row *a, b2p_data_page_fn fn, void *ctx,
                          b2p_error *err) {
    b2p_au_ref ref = au_ref_of(a);
    b2p_scan_method m = b2p_page_ptr_is_null(ref.first_iam) ? B2P_SCAN_LEAF_CHAIN : B2P_SCAN_IAM;
    return b2p_au_scan(r->src, &ref, m, fn, ctx, NULL, err);
}

/* Checks that a bootstrap layout agrees with the table's own sysrscols rows: the offsets we
 * read with must be the ones SQL Server wrote with. */
typedef struct boot_check {
    uint32_t rscolid;
    int16_t leaf_offset;
    uint8_t xtype;
} boot_check;

static const boot_check allocunits_layout[] = {
    {1, AU_AUID, XT_BIGINT}, {2, AU_TYPE, XT_TINYINT}, {3, AU_OWNER, XT_BIGINT},
    {6, AU_PGFIRST, XT_BINARY}, {7, AU_PGROOT, XT_BINARY}, {8, AU_PGFIRSTIAM, XT_BINARY},
    {9, AU_PCUSED, XT_BIGINT}, {10, AU_PCDATA, XT_BIGINT}, {11, AU_PCRESERVED, XT_BIGINT},
};
static const boot_check rscols_layout[] = {
    {1, RS_RSID, XT_BIGINT}, {2, RS_RSCOLID, XT_INT}, {3, RS_HBCOLID, XT_INT},
    {5, RS_TI, XT_INT}, {6, RS_CID, XT_INT}, {9, RS_STATUS, XT_INT},
    {10, RS_OFFSET, XT_INT}, {11, RS_NULLBIT, XT_INT}, {12, RS_BITPOS, XT_SMALLINT},
};

static b2p_status verify_bootstrap(cat_reader *r, const char *table, uint64_t rsid,
                                   const boot_check *chk, size_t n, b2p_error *err) {
    size_t first, count;
    cat_rscols_of(r, rsid, &first, &count);
    for (size_t i = 0; i < n; i++) {
        const cat_rscol_row *found = NULL;
        for (size_t k = first; k < first + count; k++)
            if (r->rscols[k].rscolid == chk[i].rscolid) found = &r->rscols[k];
        if (!found)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED,
                            "%s: sysrscols has no row for its column %u (rowset %llu)", table,
                            chk[i].rscolid, (unsigned long long)rsid);
        b2p_column_layout l = cat_rscol_layout(found);
        if (l.leaf_offset != chk[i].leaf_offset || l.xtype != chk[i].xtype)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED,
                            "%s column %u: sysrscols says type %u at record offset %d, the bootstrap reader expects type %u at %d",
                            table, chk[i].rscolid, l.xtype, l.leaf_offset, chk[i].xtype,
                            chk[i].leaf_offset);
    }
    return B2P_OK;
}

/* The ti word sysrscols would hold for a type (pages.md 3.3 "ti decoding"). */
static uint32_t make_ti(uint8_t xtype, int16_t length, uint8_t prec, uint8_t scale) {
    if (xtype == XT_DECIMAL || xtype == XT_NUMERIC) return xtype | (uint32_t)prec << 8 | (uint32_t)scale << 16;
    if (xtype == XT_TIME || xtype == XT_DATETIME2 || xtype == XT_DATETIMEOFFSET) return xtype | (uint32_t)scale << 8;
    return xtype | (uint32_t)(length < 0 ? 0 : (uint16_t)length) << 8;
}

/* One syshobtcolumns row as the sysrscols row it stands for (2005). */
static void decode_hobtcol(const uint8_t *d, void *element) {
    cat_rscol_row *x = element;
    x->rsid = b2p_le64(d + HC_HOBTID);
    x->rscolid = x->hbcolid = b2p_le32(d + HC_COLID);
    x->ti = make_ti(d[HC_XTYPE], (int16_t)b2p_le16(d + HC_LENGTH), d[HC_PREC], d[HC_SCALE]);
    x->cid = b2p_le32(d + HC_COLLATION);
    x->offset = b2p_le16(d + HC_LEAF_OFFSET) | (uint32_t)b2p_le16(d + HC_LEAF_OFFSET + 2) << 16;
    x->nullbit = b2p_le16(d + HC_LEAF_NULLBIT) | (uint32_t)b2p_le16(d + HC_LEAF_NULLBIT + 2) << 16;
    x->bitpos = (uint16_t)(d[HC_LEAF_BITPOS] | d[HC_LEAF_BITPOS + 1] << 8);
    /* status: the 2005 flags are not known to mean what sysrscols' do; left 0 */
}

static const boot_check hobtcolumns_layout[] = {
    {1, HC_HOBTID, XT_BIGINT}, {2, HC_COLID, XT_INT}, {5, HC_XTYPE, XT_TINYINT},
    {6, HC_LENGTH, XT_SMALLINT}, {7, HC_PREC, XT_TINYINT}, {8, HC_SCALE, XT_TINYINT},
    {9, HC_COLLATION, XT_INT}, {10, HC_LEAF_OFFSET, XT_SMALLINT}, {12, HC_LEAF_BITPOS, XT_TINYINT},
    {14, HC_LEAF_NULLBIT, XT_SMALLINT},
};

b2p_status cat_read_rscols(cat_reader *r, b2p_error *err) {
    const cat_au_row *a = cat_find_au(r, BASE_AU(OBJ_SYSRSCOLS, 0));
    bool hobtcolumns = false;
    if (!a && (a = cat_find_au(r, BASE_AU(OBJ_SYSHOBTCOLUMNS, 0))) != NULL) hobtcolumns = true;
    if (!a)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "sysallocunits has no allocation unit for sysrscols (196608) nor syshobtcolumns (851968)");
    r->hobt_columns = hobtcolumns;
    boot_rows c = {.table = hobtcolumns ? "syshobtcolumns" : "sysrscols",
                   .fixed_end = hobtcolumns ? HC_FIXED_END : RS_FIXED_END,
                   .decode = hobtcolumns ? decode_hobtcol : decode_rscol,
                   .elements = (void **)&r->rscols, .count = &r->nrscols,
                   .element_size = sizeof *r->rscols, .err = err};
    b2p_status st = scan_au(r, a, collect_boot_page, &c, err);
    if (c.st) return c.st;
    if (st) return st;
    if (r->nrscols) qsort(r->rscols, r->nrscols, sizeof *r->rscols, cmp_rscol);
    const cat_au_row *au_au = cat_find_au(r, BASE_AU(OBJ_SYSALLOCUNITS, 0));
    if ((st = verify_bootstrap(r, "sysallocunits", au_au->owner, allocunits_layout,
                               sizeof allocunits_layout / sizeof *allocunits_layout, err)))
        return st;
    if (hobtcolumns)
        return verify_bootstrap(r, "syshobtcolumns", a->owner, hobtcolumns_layout,
                                sizeof hobtcolumns_layout / sizeof *hobtcolumns_layout, err);
    return verify_bootstrap(r, "sysrscols", a->owner, rscols_layout,
                            sizeof rscols_layout / sizeof *rscols_layout, err);
}

void cat_rscols_of(const cat_reader *r, uint64_t rsid, size_t *first, size_t *count) {
    size_t lo = 0, hi = r->nrscols;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->rscols[mid].rsid < rsid) lo = mid + 1;
        else hi = mid;
    }
    size_t end = lo;
    while (end < r->nrscols && r->rscols[end].rsid == rsid) end++;
    *first = lo;
    *count = end - lo;
}

/* Bytes of a fixed-length value of a type, from sysrscols ti (pages.md 3.3 "ti decoding"). */
static uint16_t fixed_length(uint8_t xtype, uint32_t ti) {
    uint16_t len12 = (uint16_t)((ti >> 8) & 0xFFFF);
    uint8_t b1 = (uint8_t)(ti >> 8);
    switch (xtype) {
    case XT_TINYINT: return 1;
    case XT_SMALLINT: return 2;
    case XT_INT: case XT_REAL: case XT_SMALLDATETIME: case XT_SMALLMONEY: return 4;
    case XT_BIGINT: case XT_DATETIME: case XT_FLOAT: case XT_MONEY: case XT_TIMESTAMP: return 8;
    case XT_GUID: return 16;
    case XT_DATE: return 3;
    case XT_CHAR: case XT_BINARY: case XT_NCHAR: return len12;
    case XT_DECIMAL: case XT_NUMERIC: return b1 <= 9 ? 5 : b1 <= 19 ? 9 : b1 <= 28 ? 13 : 17;
    case XT_TIME: return b1 <= 2 ? 3 : b1 <= 4 ? 4 : 5;
    case XT_DATETIME2: return (uint16_t)((b1 <= 2 ? 3 : b1 <= 4 ? 4 : 5) + 3);
    case XT_DATETIMEOFFSET: return (uint16_t)((b1 <= 2 ? 3 : b1 <= 4 ? 4 : 5) + 5);
    default: return 0;
    }
}

b2p_column_layout cat_rscol_layout(const cat_rscol_row *c) {
    b2p_column_layout l;
    memset(&l, 0, sizeof l);
    /* Low halves are the leaf-level values (pages.md 3.3, from the view definition in MR:TI). */
    l.leaf_offset = (int16_t)(c->offset & 0xFFFF);
    l.null_bit = (uint16_t)(c->nullbit & 0xFFFF);
    l.bit_pos = (uint8_t)(c->bitpos & 0xFF);
    l.xtype = (uint8_t)(c->ti & 0xFF);
    l.is_bit = l.xtype == XT_BIT;
    l.fixed_len = l.leaf_offset >= 0 ? fixed_length(l.xtype, c->ti) : 0;
    return l;
}

/* ---- any base table ------------------------------------------------------------------- */

typedef struct bt_ctx {
    cat_reader *r;
    const bt_def *def;
    b2p_column_layout layout[BT_MAX_FIELDS];
    bool present[BT_MAX_FIELDS];
    bt_rows *out;
    size_t cap;
    b2p_error *err;
    b2p_status st;
} bt_ctx;

/* Bytes of the integer types the base tables use (0: not an integer). */
static size_t integer_width(uint8_t xtype) {
    switch (xtype) {
    case XT_TINYINT: return 1;
    case XT_SMALLINT: return 2;
    case XT_INT: return 4;
    case XT_BIGINT: return 8;
    default: return 0;
    }
}

static int64_t decode_integer(uint8_t xtype, const uint8_t *p) {
    switch (xtype) {
    case XT_TINYINT: return p[0];
    case XT_SMALLINT: return (int16_t)b2p_le16(p);
    case XT_INT: return (int32_t)b2p_le32(p);
    case XT_BIGINT: return (int64_t)b2p_le64(p);
    default: return 0;
    }
}

static b2p_status read_field(bt_ctx *c, const b2p_record *rec, size_t f, bt_row *row) {
    if (!c->present[f]) {
        row->null[f] = true;
        return B2P_OK;
    }
    b2p_column_bytes cb;
    b2p_status st = b2p_record_column(rec, &c->layout[f], &cb, c->err);
    if (st) return st;
    if (cb.is_null) {
        row->null[f] = true;
        return B2P_OK;
    }
    const b2p_column_layout *l = &c->layout[f];
    /* A damaged layout can place an integer where the record holds fewer bytes (an empty
     * variable column): never read past what the record gave. */
    size_t width = l->is_bit ? 1 : integer_width(l->xtype);
    if (cb.len < width || (width && !cb.bytes))
        return b2p_fail(c->err, B2P_ERR_CORRUPT, "%zu bytes where a value of type %u needs %zu", cb.len, l->xtype,
                        width);
    if (l->is_bit) {
        row->num[f] = (cb.bytes[0] >> l->bit_pos) & 1;
        return B2P_OK;
    }
    if (width) row->num[f] = decode_integer(l->xtype, cb.bytes);
    row->complex[f] = cb.complex;
    row->len[f] = cb.len;
    uint8_t *copy = cat_alloc(c->r->arena, cb.len ? cb.len : 1, 1);
    if (!copy) return b2p_fail(c->err, B2P_ERR_NOMEM, "out of memory");
    if (cb.len) memcpy(copy, cb.bytes, cb.len);
    row->bytes[f] = copy;
    return B2P_OK;
}

static int collect_base_page(void *vctx, const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h) {
    bt_ctx *c = vctx;
    for (uint16_t s = 0; s < h->slot_count; s++) {
        b2p_record rec;
        b2p_status st = b2p_page_record(page, h, s, &rec, c->err);
        if (st == B2P_ERR_NOT_FOUND) continue;
        if (st) return c->st = st;
        if (!b2p_record_is_live_row(&rec)) continue;
        if ((st = grow((void **)&c->out->rows, &c->cap, c->out->n, sizeof *c->out->rows, c->err)))
            return c->st = st;
        bt_row *row = &c->out->rows[c->out->n++];
        memset(row, 0, sizeof *row);
        for (size_t f = 0; f < c->def->nfields; f++) {
            if ((st = read_field(c, &rec, f, row))) {
                char why[sizeof c->err->msg];
                snprintf(why, sizeof why, "%s", c->err->msg);
                return c->st = b2p_fail(c->err, st, "%s page %u:%u slot %u column %s: %s",
                                        c->def->name, h->self.file, h->self.page, s,
                                        c->def->fields[f].name, why);
            }
        }
    }
    return 0;
}

/* Finds each wanted field among the table's sysrscols rows and checks its type. */
static b2p_status resolve_layout(bt_ctx *c, uint64_t rsid, b2p_error *err) {
    size_t first, count;
    cat_rscols_of(c->r, rsid, &first, &count);
    if (count == 0)
        return b2p_fail(err, B2P_ERR_CORRUPT, "%s: no sysrscols rows for its rowset %llu",
                        c->def->name, (unsigned long long)rsid);
    for (size_t f = 0; f < c->def->nfields; f++) {
        const bt_field *fd = &c->def->fields[f];
        for (size_t k = first; k < first + count; k++) {
            const cat_rscol_row *rc = &c->r->rscols[k];
            if (rc->status & 0x2) continue; /* dropped */
            if (rc->rscolid != fd->rscolid) continue;
            b2p_column_layout l = cat_rscol_layout(rc);
            if (l.xtype != fd->xtype)
                return b2p_fail(err, B2P_ERR_UNSUPPORTED,
                                "%s.%s: sysrscols column %u is type %u, expected type %u (database version %u)",
                                c->def->name, fd->name, rc->rscolid, l.xtype, fd->xtype,
                                c->r->boot.version);
            c->layout[f] = l;
            c->present[f] = true;
            break;
        }
        if (!c->present[f] && !fd->optional)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED,
                            "%s.%s: no such column in its sysrscols rows (database version %u)",
                            c->def->name, fd->name, c->r->boot.version);
    }
    return B2P_OK;
}

/* Clustered base tables carry index id 1 in their AU id, heaps 0 (pages.md 3.1). */
static const cat_au_row *base_table_au(cat_reader *r, const bt_def *def, b2p_error *err) {
    const cat_au_row *a = cat_find_au(r, BASE_AU(def->object_id, 1));
    if (!a) a = cat_find_au(r, BASE_AU(def->object_id, 0));
    if (!a)
        b2p_fail(err, B2P_ERR_CORRUPT, "sysallocunits lists no allocation unit for %s (object %d)",
                 def->name, def->object_id);
    return a;
}

bool cat_base_table_has_au(cat_reader *r, const bt_def *def) {
    return cat_find_au(r, BASE_AU(def->object_id, 1)) || cat_find_au(r, BASE_AU(def->object_id, 0));
}

b2p_status cat_read_base_table(cat_reader *r, const bt_def *def, bt_rows *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    const cat_au_row *a = base_table_au(r, def, err);
    if (!a) return B2P_ERR_CORRUPT;
    bt_ctx *c = calloc(1, sizeof *c);
    if (!c) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    c->r = r;
    c->def = def;
    c->out = out;
    c->err = err;
    b2p_status st = resolve_layout(c, a->owner, err);
    if (!st) {
        st = scan_au(r, a, collect_base_page, c, err);
        if (c->st) st = c->st;
    }
    if (!st && out->n) {
        /* move rows into the arena so the catalog owns them */
        bt_row *rows = cat_alloc(r->arena, out->n, sizeof *rows);
        if (!rows) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
        else memcpy(rows, out->rows, out->n * sizeof *rows);
        free(out->rows);
        out->rows = rows;
    } else if (st) {
        free(out->rows);
        out->rows = NULL;
        out->n = 0;
    } else {
        free(out->rows);
        out->rows = NULL;
    }
    free(c);
    return st;
}

void cat_sort_rscols(cat_reader *r) {
    if (r->nrscols) qsort(r->rscols, r->nrscols, sizeof *r->rscols, cmp_rscol);
}
