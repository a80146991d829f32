/* The schema model: user tables, columns, keys, constraints, indexes and partitions, built from
 * the base-table rows (pages.md 3.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B2P_CATALOG_INTERNAL
#include "cat_int.h"
#include "defs.h"

/* sysclsobjs class of schemas; sysschobjs types (char(2), space padded). */
#define CLASS_SCHEMA 50
/* syssingleobjrefs classes of a foreign key: referenced table + key index; the referencing
 * column and the referenced column of each key position (found on the fixtures: the FK column
 * pairs live here, not in sysiscols or sysmultiobjrefs as pages.md 3.4 suggests). */
#define REF_FK_TABLE 27
#define REF_FK_COLUMN 28
#define REF_FK_REF_COLUMN 29
/* sysobjvalues class holding constraint, default and computed-column text (pages.md 3.4). */
#define VALCLASS_TEXT 1

/* syscolpars.status (pages.md 3.3; 0x1 = NOT NULL, confirmed on the fixtures). */
#define COL_NOT_NULL 0x1
#define COL_IDENTITY 0x4
#define COL_ROWGUID 0x8
#define COL_COMPUTED 0x10
#define COL_FILESTREAM 0x20
#define COL_HIDDEN 0x2000
#define COL_SPARSE 0x1000000
/* sysidxstats.status (pages.md 3.3). */
#define IDX_REAL 0x1
#define IDX_UNIQUE 0x8
#define IDX_PRIMARY_KEY 0x20
#define IDX_UNIQUE_CONSTRAINT 0x40
#define IDX_DISABLED 0x80
#define IDX_FILTERED 0x20000
/* sysrscols.rscolid flags, and the status bit for a dropped column. */
#define RSCOLID_DROPPED 0x04000000u
#define RSCOLID_INTERNAL 0x08000000u
#define RSCOL_STATUS_DROPPED 0x2u
#define RSCOL_STATUS_ONLINE_DEFAULT 0x200u /* added online: its default is in sysseobjvalues */

typedef struct builder builder;
static void online_default(builder *b, uint64_t rowset, uint32_t place, b2p_cat_rscol *x);

/* sysrowsets.status: set on the rowsets of memory-optimized (XTP) tables (pages.md 3.3, [C1],
 * not seen on any fixture: none holds such a table). */
#define RS_STATUS_XTP 0x100
/* sysidxstats.type of indexes of memory-optimized tables (nonclustered hash). */
#define IDX_TYPE_HASH 7

/* sysiscols.status. */
#define ISC_DESCENDING 0x4
#define ISC_INCLUDED 0x10
/* The schema_ids of sys and INFORMATION_SCHEMA (whose views live in the resource database). */
#define SCHEMA_SYS 4
#define SCHEMA_INFORMATION 3
/* sysschobjs.status (pages.md 3.4). */
#define OBJ_MS_SHIPPED 0x1
#define OBJ_DISABLED 0x100
#define OBJ_NOT_TRUSTED 0x400
#define FK_UPDATE_SHIFT 12
#define FK_DELETE_SHIFT 14
/* syscolpars.idtval: last value, increment, seed (each the column's width), then a flag byte,
 * 1 while no value has been generated; worked out on the fixtures (NhanVien.MaNV
 * IDENTITY(1851050001,1) holds 14c8546e 01000000 11c8546e 00); pages.md 8 #2 has it open. */
#define IDT_FLAG_BYTES 1
#define IDT_FLAG_UNUSED 1

typedef struct tables {
    bt_rows rowsets, schobjs, colpars, scalartypes, idxstats, iscols, objvalues, clsobjs, objrefs;
    bt_rows xprops, ftinds, seobjvalues;
    bool have_objrefs, have_xprops, have_ftinds, have_seobjvalues;
} tables;

/* Rows of a base table ordered by one key (an object id), so that each table's rows are found
 * by binary search: the model is built in O(n log n), not O(tables x rows). */
typedef struct key_entry {
    int64_t key;
    size_t row;
} key_entry;

typedef struct key_index {
    size_t n;
    key_entry *e;
} key_index;

typedef struct indexes {
    key_index schobjs_by_pid, colpars_by_id, idxstats_by_id, iscols_by_table, objvalues_by_obj,
        objrefs_by_dep, rowsets_by_obj, aus_by_owner;
} indexes;

struct builder {
    cat_reader r;
    tables t;
    indexes ix;
    size_t texts_unreadable;  /* off-row texts whose LOB pages could not be read */
    b2p_catalog *cat;
    b2p_error *err;
};

static int cmp_key(const void *a, const void *b) {
    const key_entry *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row; /* stable: rows keep their scan order */
}

static b2p_status index_keys(builder *b, const int64_t *keys, size_t stride, size_t n, key_index *out) {
    out->n = n;
    out->e = cat_alloc(b->r.arena, n, sizeof *out->e);
    if (!out->e) return b2p_fail(b->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        out->e[i].key = *(const int64_t *)(const void *)((const char *)keys + i * stride);
        out->e[i].row = i;
    }
    if (n) qsort(out->e, n, sizeof *out->e, cmp_key);
    return B2P_OK;
}

static b2p_status index_rows(builder *b, const bt_rows *rows, size_t field, key_index *out) {
    return index_keys(b, rows->n ? &rows->rows[0].num[field] : NULL, sizeof(bt_row), rows->n, out);
}

/* The first entry whose key is >= key (strict: > key). */
static size_t key_bound(const key_index *ix, int64_t key, bool strict) {
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->e[mid].key < key || (strict && ix->e[mid].key == key)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Entries [first_with, end_with) of an index hold the given key. */
static size_t first_with(const key_index *ix, int64_t key) { return key_bound(ix, key, false); }
static size_t end_with(const key_index *ix, int64_t key) { return key_bound(ix, key, true); }

static const bt_row *row_at(const bt_rows *rows, const key_index *ix, size_t k) {
    return &rows->rows[ix->e[k].row];
}

static b2p_status nomem(builder *b) { return b2p_fail(b->err, B2P_ERR_NOMEM, "out of memory"); }

static char *row_name(builder *b, const bt_row *w, size_t f) {
    if (w->null[f]) return NULL;
    return cat_utf16_to_utf8(b->r.arena, w->bytes[f], w->len[f]);
}

static bool type_is(const bt_row *w, const char *code) {
    return w->len[SO_TYPE] == 2 && w->bytes[SO_TYPE][0] == (uint8_t)code[0] &&
           w->bytes[SO_TYPE][1] == (uint8_t)code[1];
}

/* Windows-1252 bytes 0x80..0x9F; the rest of the high half is Latin-1. */
static const uint16_t CP1252_HIGH[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

/* Module and constraint text in sysobjvalues.imageval: single-byte text on every fixture
 * (pages.md 8 #4 left it open); taken as Windows-1252, or UTF-16 when it looks like it. */
static char *decode_text(builder *b, const uint8_t *p, size_t len) {
    size_t zeros = 0;
    for (size_t i = 1; i < len; i += 2) zeros += p[i] == 0;
    if (len >= 2 && len % 2 == 0 && zeros * 2 >= len / 2) return cat_utf16_to_utf8(b->r.arena, p, len);
    uint8_t *u16 = malloc(len * 2 + 1);
    if (!u16) return NULL;
    for (size_t i = 0; i < len; i++) {
        uint16_t cp = p[i] >= 0x80 && p[i] < 0xA0 ? CP1252_HIGH[p[i] - 0x80] : p[i];
        b2p_put_le16(u16 + 2 * i, cp);
    }
    char *s = cat_utf16_to_utf8(b->r.arena, u16, len * 2);
    free(u16);
    return s;
}

/* The text of (objid, subobjid), or NULL when absent or stored off-row in pages the backup
 * does not hold. */
static char *object_text(builder *b, int32_t objid, int32_t subobjid) {
    for (size_t k = first_with(&b->ix.objvalues_by_obj, objid), end = end_with(&b->ix.objvalues_by_obj, objid);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.objvalues, &b->ix.objvalues_by_obj, k);
        if (w->num[OV_SUBOBJID] != subobjid || w->num[OV_VALCLASS] != VALCLASS_TEXT || w->null[OV_IMAGEVAL])
            continue;
        if (w->complex[OV_IMAGEVAL]) {
            /* text longer than fits in the row (about 4000 characters and up): a LOB */
            uint8_t *lob = NULL;
            size_t len = 0;
            b2p_error ignored = {0};
            if (b2p_lob_value(b->r.src, w->bytes[OV_IMAGEVAL], w->len[OV_IMAGEVAL], &lob, &len, &ignored)) {
                b->texts_unreadable++;
                return NULL;
            }
            char *text = decode_text(b, lob, len);
            free(lob);
            return text;
        }
        return decode_text(b, w->bytes[OV_IMAGEVAL], w->len[OV_IMAGEVAL]);
    }
    return NULL;
}

/* ---- loading the base tables ---------------------------------------------------------- */

static b2p_status load_tables(builder *b) {
    struct {
        const bt_def *def;
        bt_rows *out;
    } list[] = {
        {&DEF_ROWSETS, &b->t.rowsets},   {&DEF_SCHOBJS, &b->t.schobjs},
        {&DEF_COLPARS, &b->t.colpars},   {&DEF_SCALARTYPES, &b->t.scalartypes},
        {&DEF_IDXSTATS, &b->t.idxstats}, {&DEF_ISCOLS, &b->t.iscols},
        {&DEF_OBJVALUES, &b->t.objvalues}, {&DEF_CLSOBJS, &b->t.clsobjs},
    };
    b2p_status st;
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        if ((st = cat_read_base_table(&b->r, list[i].def, list[i].out, b->err))) return st;
    /* Foreign-key columns only: a catalog without them is still useful (salvage). */
    b2p_error ignored = {0};
    b->t.have_objrefs = cat_read_base_table(&b->r, &DEF_SINGLEOBJREFS, &b->t.objrefs, &ignored) == B2P_OK;
    /* Descriptions and the full-text listing: optional in the same way. */
    b->t.have_xprops = !cat_base_table_has_au(&b->r, &DEF_XPROPS) ||
                       cat_read_base_table(&b->r, &DEF_XPROPS, &b->t.xprops, &ignored) == B2P_OK;
    b->t.have_ftinds = !cat_base_table_has_au(&b->r, &DEF_FTINDS) ||
                       cat_read_base_table(&b->r, &DEF_FTINDS, &b->t.ftinds, &ignored) == B2P_OK;
    /* Defaults of columns added online (2012+; absent before): without them older rows read NULL. */
    b->t.have_seobjvalues = cat_base_table_has_au(&b->r, &DEF_SEOBJVALUES) &&
                            cat_read_base_table(&b->r, &DEF_SEOBJVALUES, &b->t.seobjvalues, &ignored) == B2P_OK;
    return B2P_OK;
}

static b2p_status index_tables(builder *b) {
    b2p_status st;
    if ((st = index_rows(b, &b->t.schobjs, SO_PID, &b->ix.schobjs_by_pid)) ||
        (st = index_rows(b, &b->t.colpars, CP_ID, &b->ix.colpars_by_id)) ||
        (st = index_rows(b, &b->t.idxstats, IX_ID, &b->ix.idxstats_by_id)) ||
        (st = index_rows(b, &b->t.iscols, IC_IDMAJOR, &b->ix.iscols_by_table)) ||
        (st = index_rows(b, &b->t.objvalues, OV_OBJID, &b->ix.objvalues_by_obj)) ||
        (st = index_rows(b, &b->t.objrefs, OR_DEPID, &b->ix.objrefs_by_dep)) ||
        (st = index_rows(b, &b->t.rowsets, RS_IDMAJOR, &b->ix.rowsets_by_obj)))
        return st;
    /* allocation units by owner (the rowset id): keys copied, they are u64 */
    int64_t *owners = cat_alloc(b->r.arena, b->r.naus, sizeof *owners);
    if (!owners) return nomem(b);
    for (size_t i = 0; i < b->r.naus; i++) owners[i] = (int64_t)b->r.aus[i].owner;
    return index_keys(b, owners, sizeof *owners, b->r.naus, &b->ix.aus_by_owner);
}

/* ---- schemas -------------------------------------------------------------------------- */

static b2p_status build_schemas(builder *b) {
    size_t n = 0;
    for (size_t i = 0; i < b->t.clsobjs.n; i++) n += b->t.clsobjs.rows[i].num[CL_CLASS] == CLASS_SCHEMA;
    b->cat->schemas = cat_alloc(b->r.arena, n, sizeof *b->cat->schemas);
    if (!b->cat->schemas) return nomem(b);
    for (size_t i = 0; i < b->t.clsobjs.n; i++) {
        const bt_row *w = &b->t.clsobjs.rows[i];
        if (w->num[CL_CLASS] != CLASS_SCHEMA) continue;
        b2p_cat_schema *s = &b->cat->schemas[b->cat->nschemas++];
        s->schema_id = (int32_t)w->num[CL_ID];
        s->name = row_name(b, w, CL_NAME);
    }
    return B2P_OK;
}

static const char *schema_name(const b2p_catalog *cat, int32_t id) {
    for (size_t i = 0; i < cat->nschemas; i++)
        if (cat->schemas[i].schema_id == id) return cat->schemas[i].name;
    return "?";
}

/* ---- columns -------------------------------------------------------------------------- */

static int64_t le_signed(const uint8_t *p, size_t width) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++) v |= (uint64_t)p[i] << (8 * i);
    if (width < 8 && (v >> (8 * width - 1)) & 1) v |= ~(uint64_t)0 << (8 * width);
    return (int64_t)v;
}

/* decimal(p,0) identity values: sign byte (1 = positive) then the magnitude (pages.md 6). */
static bool decimal_value(const uint8_t *p, size_t width, int64_t *out) {
    for (size_t i = 9; i < width; i++)
        if (p[i]) return false;
    uint64_t mag = 0;
    for (size_t i = 1; i < width && i < 9; i++) mag |= (uint64_t)p[i] << (8 * (i - 1));
    if (mag > INT64_MAX) return false;
    *out = p[0] ? (int64_t)mag : -(int64_t)mag;
    return true;
}

static void decode_identity(b2p_cat_column *c, const bt_row *w) {
    if (w->null[CP_IDTVAL] || w->complex[CP_IDTVAL] || w->len[CP_IDTVAL] <= IDT_FLAG_BYTES) return;
    size_t total = w->len[CP_IDTVAL] - IDT_FLAG_BYTES;
    if (total % 3) return;
    size_t width = total / 3;
    const uint8_t *p = w->bytes[CP_IDTVAL];
    bool used = p[total] != IDT_FLAG_UNUSED;
    if (c->xtype == 106 || c->xtype == 108) {
        c->identity_known = decimal_value(p + width, width, &c->identity_increment) &&
                            decimal_value(p + 2 * width, width, &c->identity_seed);
        c->identity_used = used && decimal_value(p, width, &c->identity_last);
        return;
    }
    if (width != 1 && width != 2 && width != 4 && width != 8) return;
    c->identity_last = le_signed(p, width);
    c->identity_increment = le_signed(p + width, width);
    c->identity_seed = le_signed(p + 2 * width, width);
    if (width == 1) { /* tinyint is unsigned */
        c->identity_last = p[0];
        c->identity_increment = p[width];
        c->identity_seed = p[2 * width];
    }
    c->identity_used = used;
    c->identity_known = true;
}

static char *user_type_name(builder *b, int32_t utype, uint8_t xtype) {
    if (utype == xtype) return NULL;
    for (size_t i = 0; i < b->t.scalartypes.n; i++) {
        const bt_row *w = &b->t.scalartypes.rows[i];
        if (w->num[ST_ID] == utype) return row_name(b, w, ST_NAME);
    }
    return NULL;
}

static void find_default(builder *b, int32_t table, b2p_cat_column *c) {
    for (size_t k = first_with(&b->ix.schobjs_by_pid, table), end = end_with(&b->ix.schobjs_by_pid, table);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.schobjs, &b->ix.schobjs_by_pid, k);
        if (!type_is(w, "D ") || w->num[SO_INTPROP] != c->column_id) continue;
        c->default_name = row_name(b, w, SO_NAME);
        c->default_text = object_text(b, (int32_t)w->num[SO_ID], 0);
        return;
    }
}

static int cmp_column(const void *a, const void *b) {
    int32_t x = ((const b2p_cat_column *)a)->column_id, y = ((const b2p_cat_column *)b)->column_id;
    return x < y ? -1 : x > y;
}

static b2p_status build_columns(builder *b, b2p_cat_table *t) {
    size_t n = 0;
    for (size_t k = first_with(&b->ix.colpars_by_id, t->object_id), end = end_with(&b->ix.colpars_by_id, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.colpars, &b->ix.colpars_by_id, k);
        n += w->num[CP_NUMBER] == 0;
    }
    t->columns = cat_alloc(b->r.arena, n, sizeof *t->columns);
    if (!t->columns) return nomem(b);
    for (size_t k = first_with(&b->ix.colpars_by_id, t->object_id), end = end_with(&b->ix.colpars_by_id, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.colpars, &b->ix.colpars_by_id, k);
        if (w->num[CP_NUMBER] != 0) continue;
        b2p_cat_column *c = &t->columns[t->ncolumns++];
        uint32_t status = (uint32_t)w->num[CP_STATUS];
        c->column_id = (int32_t)w->num[CP_COLID];
        c->name = row_name(b, w, CP_NAME);
        c->xtype = (uint8_t)w->num[CP_XTYPE];
        c->user_type_id = (int32_t)w->num[CP_UTYPE];
        c->type_name = b2p_type_name(c->xtype);
        c->user_type = user_type_name(b, c->user_type_id, c->xtype);
        c->max_length = (int16_t)w->num[CP_LENGTH];
        c->precision = (uint8_t)w->num[CP_PREC];
        c->scale = (uint8_t)w->num[CP_SCALE];
        c->collation_id = (uint32_t)w->num[CP_COLLATION];
        c->nullable = !(status & COL_NOT_NULL);
        c->is_identity = (status & COL_IDENTITY) != 0;
        if (c->is_identity) decode_identity(c, w);
        c->is_computed = (status & COL_COMPUTED) != 0;
        if (c->is_computed) c->computed = object_text(b, t->object_id, c->column_id);
        c->is_rowguidcol = (status & COL_ROWGUID) != 0;
        c->is_sparse = (status & COL_SPARSE) != 0;
        c->is_hidden = (status & COL_HIDDEN) != 0;
        c->is_filestream = (status & COL_FILESTREAM) != 0;
        t->has_filestream |= c->is_filestream;
        find_default(b, t->object_id, c);
    }
    qsort(t->columns, t->ncolumns, sizeof *t->columns, cmp_column);
    return B2P_OK;
}

/* ---- indexes -------------------------------------------------------------------------- */

static int cmp_index(const void *a, const void *b) {
    int32_t x = ((const b2p_cat_index *)a)->index_id, y = ((const b2p_cat_index *)b)->index_id;
    return x < y ? -1 : x > y;
}

/* Key and included columns of an index. Keys are ordered by tinyprop1 (the key ordinal), not by
 * subid, which follows column order: pubs' employee_ind (lname, fname, minit) has subids in
 * column order fname, minit, lname and tinyprop1 3, 1, 2 (wrong order in pages.md 3.4's
 * "ordered by subid/tinyprop1"). Included columns (status 0x10, key ordinal 0) follow subid. */
static b2p_status index_columns(builder *b, int32_t table, b2p_cat_index *ix) {
    size_t n = 0;
    for (size_t k = first_with(&b->ix.iscols_by_table, table), end = end_with(&b->ix.iscols_by_table, table);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.iscols, &b->ix.iscols_by_table, k);
        n += w->num[IC_IDMINOR] == ix->index_id;
    }
    ix->key_columns = cat_alloc(b->r.arena, n, sizeof *ix->key_columns);
    ix->key_descending = cat_alloc(b->r.arena, n, sizeof *ix->key_descending);
    ix->included_columns = cat_alloc(b->r.arena, n, sizeof *ix->included_columns);
    if (!ix->key_columns || !ix->key_descending || !ix->included_columns) return nomem(b);
    /* n is small (columns of one index): select by ordinal, quadratic but bounded */
    for (int64_t ordinal = 1; ordinal <= (int64_t)n; ordinal++) {
        for (size_t k = first_with(&b->ix.iscols_by_table, table), end = end_with(&b->ix.iscols_by_table, table);
             k < end; k++) {
            const bt_row *w = row_at(&b->t.iscols, &b->ix.iscols_by_table, k);
            if (w->num[IC_IDMINOR] != ix->index_id || (w->num[IC_STATUS] & ISC_INCLUDED) ||
                w->num[IC_TINYPROP1] != ordinal)
                continue;
            ix->key_descending[ix->nkeys] = (w->num[IC_STATUS] & ISC_DESCENDING) != 0;
            ix->key_columns[ix->nkeys++] = (int32_t)w->num[IC_INTPROP];
            break;
        }
    }
    for (int64_t subid = 1; subid <= (int64_t)n; subid++) {
        for (size_t k = first_with(&b->ix.iscols_by_table, table), end = end_with(&b->ix.iscols_by_table, table);
             k < end; k++) {
            const bt_row *w = row_at(&b->t.iscols, &b->ix.iscols_by_table, k);
            if (w->num[IC_IDMINOR] != ix->index_id || w->num[IC_SUBID] != subid) continue;
            if ((w->num[IC_STATUS] & ISC_INCLUDED) || w->num[IC_TINYPROP1] == 0)
                ix->included_columns[ix->nincluded++] = (int32_t)w->num[IC_INTPROP];
            break;
        }
    }
    return B2P_OK;
}

static b2p_status build_indexes(builder *b, b2p_cat_table *t) {
    size_t n = end_with(&b->ix.idxstats_by_id, t->object_id) - first_with(&b->ix.idxstats_by_id, t->object_id);
    t->indexes = cat_alloc(b->r.arena, n, sizeof *t->indexes);
    if (!t->indexes) return nomem(b);
    for (size_t k = first_with(&b->ix.idxstats_by_id, t->object_id), end = end_with(&b->ix.idxstats_by_id, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.idxstats, &b->ix.idxstats_by_id, k);
        uint32_t status = (uint32_t)w->num[IX_STATUS];
        int32_t indid = (int32_t)w->num[IX_INDID];
        if (indid != 0 && !(status & IDX_REAL)) continue; /* statistics only */
        b2p_cat_index *ix = &t->indexes[t->nindexes++];
        ix->index_id = indid;
        ix->name = row_name(b, w, IX_NAME);
        ix->type = (uint8_t)w->num[IX_TYPE];
        ix->unique = (status & IDX_UNIQUE) != 0;
        ix->primary_key = (status & IDX_PRIMARY_KEY) != 0;
        ix->unique_constraint = (status & IDX_UNIQUE_CONSTRAINT) != 0;
        ix->disabled = (status & IDX_DISABLED) != 0;
        ix->has_filter = (status & IDX_FILTERED) != 0;
        if (ix->has_filter) ix->filter = object_text(b, t->object_id, indid);
        b2p_status st = index_columns(b, t->object_id, ix);
        if (st) return st;
    }
    qsort(t->indexes, t->nindexes, sizeof *t->indexes, cmp_index);
    return B2P_OK;
}

/* ---- constraints ---------------------------------------------------------------------- */

static b2p_status fk_columns(builder *b, b2p_cat_foreign_key *fk) {
    size_t n = 0;
    for (size_t k = first_with(&b->ix.objrefs_by_dep, fk->object_id), end = end_with(&b->ix.objrefs_by_dep, fk->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.objrefs, &b->ix.objrefs_by_dep, k);
        n += w->num[OR_CLASS] == REF_FK_COLUMN;
    }
    fk->columns = cat_alloc(b->r.arena, n, sizeof *fk->columns);
    fk->ref_columns = cat_alloc(b->r.arena, n, sizeof *fk->ref_columns);
    if (!fk->columns || !fk->ref_columns) return nomem(b);
    fk->ncolumns = n;
    for (size_t k = first_with(&b->ix.objrefs_by_dep, fk->object_id), end = end_with(&b->ix.objrefs_by_dep, fk->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.objrefs, &b->ix.objrefs_by_dep, k);
        int64_t pos = w->num[OR_DEPSUBID];
        if (w->num[OR_CLASS] == REF_FK_TABLE) {
            fk->ref_object_id = (int32_t)w->num[OR_INDEPID];
            fk->ref_index_id = (int32_t)w->num[OR_INDEPSUBID];
        } else if (pos >= 1 && (size_t)pos <= n && w->num[OR_CLASS] == REF_FK_COLUMN) {
            fk->columns[pos - 1] = (int32_t)w->num[OR_INDEPSUBID];
        } else if (pos >= 1 && (size_t)pos <= n && w->num[OR_CLASS] == REF_FK_REF_COLUMN) {
            fk->ref_columns[pos - 1] = (int32_t)w->num[OR_INDEPSUBID];
        }
    }
    return B2P_OK;
}

static b2p_status build_constraints(builder *b, b2p_cat_table *t) {
    size_t nfk = 0, nck = 0;
    for (size_t k = first_with(&b->ix.schobjs_by_pid, t->object_id), end = end_with(&b->ix.schobjs_by_pid, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.schobjs, &b->ix.schobjs_by_pid, k);
        nfk += type_is(w, "F ");
        nck += type_is(w, "C ");
    }
    t->foreign_keys = cat_alloc(b->r.arena, nfk, sizeof *t->foreign_keys);
    t->checks = cat_alloc(b->r.arena, nck, sizeof *t->checks);
    if (!t->foreign_keys || !t->checks) return nomem(b);
    for (size_t k = first_with(&b->ix.schobjs_by_pid, t->object_id), end = end_with(&b->ix.schobjs_by_pid, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.schobjs, &b->ix.schobjs_by_pid, k);
        uint32_t status = (uint32_t)w->num[SO_STATUS];
        if (type_is(w, "F ")) {
            b2p_cat_foreign_key *fk = &t->foreign_keys[t->nforeign_keys++];
            fk->object_id = (int32_t)w->num[SO_ID];
            fk->name = row_name(b, w, SO_NAME);
            fk->on_update = (b2p_fk_action)((status >> FK_UPDATE_SHIFT) & 3);
            fk->on_delete = (b2p_fk_action)((status >> FK_DELETE_SHIFT) & 3);
            fk->disabled = (status & OBJ_DISABLED) != 0;
            fk->not_trusted = (status & OBJ_NOT_TRUSTED) != 0;
            b2p_status st = fk_columns(b, fk);
            if (st) return st;
        } else if (type_is(w, "C ")) {
            b2p_cat_check *ck = &t->checks[t->nchecks++];
            ck->object_id = (int32_t)w->num[SO_ID];
            ck->name = row_name(b, w, SO_NAME);
            ck->column_id = (int32_t)w->num[SO_INTPROP];
            ck->expression = object_text(b, ck->object_id, 0);
            ck->disabled = (status & OBJ_DISABLED) != 0;
        }
    }
    return B2P_OK;
}

/* ---- partitions ----------------------------------------------------------------------- */

static b2p_status partition_storage(builder *b, b2p_cat_partition *p) {
    size_t first = first_with(&b->ix.aus_by_owner, (int64_t)p->rowset_id);
    size_t end = end_with(&b->ix.aus_by_owner, (int64_t)p->rowset_id);
    p->aus = cat_alloc(b->r.arena, end - first, sizeof *p->aus);
    if (!p->aus) return nomem(b);
    for (size_t i = first; i < end; i++) {
        const cat_au_row *a = &b->r.aus[b->ix.aus_by_owner.e[i].row];
        b2p_cat_au *x = &p->aus[p->naus++];
        x->type = a->type;
        x->ref.auid = a->auid;
        x->ref.first = a->first;
        x->ref.root = a->root;
        x->ref.first_iam = a->first_iam;
        x->used_pages = a->used;
        x->data_pages = a->data;
        x->total_pages = a->total;
        p->has_lob |= a->type == B2P_AU_LOB && a->used > 0;
        p->has_row_overflow |= a->type == B2P_AU_ROW_OVERFLOW && a->used > 0;
    }
    size_t count;
    cat_rscols_of(&b->r, p->rowset_id, &first, &count);
    p->rscols = cat_alloc(b->r.arena, count, sizeof *p->rscols);
    if (!p->rscols) return nomem(b);
    p->nrscols = count;
    for (size_t k = 0; k < count; k++) {
        const cat_rscol_row *rc = &b->r.rscols[first + k];
        b2p_cat_rscol *x = &p->rscols[k];
        x->rscolid = rc->rscolid;
        /* rscolid is the table's column id; its high bits flag physical columns that are no
         * (longer a) user column: 0x04000000 dropped, 0x08000000 internal. hbcolid is only the
         * column's place in the heap or index. */
        x->column_id = rc->rscolid & (RSCOLID_DROPPED | RSCOLID_INTERNAL) ? 0 : rc->rscolid;
        x->status = rc->status | (rc->rscolid & RSCOLID_DROPPED ? RSCOL_STATUS_DROPPED : 0);
        x->collation_id = rc->cid;
        x->layout = cat_rscol_layout(rc);
        x->max_length = (uint16_t)((rc->ti >> 8) & 0xFFFF);
        x->precision = (uint8_t)(rc->ti >> 8);
        x->scale = (uint8_t)(rc->ti >> 16);
        if (rc->status & RSCOL_STATUS_ONLINE_DEFAULT) online_default(b, p->rowset_id, rc->hbcolid, x);
    }
    return B2P_OK;
}

/* The value bytes of a sql_variant: after its base type and version bytes and the base type's
 * properties (strings: max length u16 + collation u32; binary: max length; decimal: precision,
 * scale; time family: scale). */
static bool variant_payload(const uint8_t *p, size_t len, const uint8_t **value, size_t *vlen) {
    if (len < 2) return false;
    size_t props;
    switch (p[0]) {
    case 167: case 175: case 231: case 239: props = 6; break; /* varchar, char, nvarchar, nchar */
    case 165: case 173: props = 2; break;                     /* varbinary, binary */
    case 106: case 108: props = 2; break;           /* decimal, numeric */
    case 41: case 42: case 43: props = 1; break;    /* time, datetime2, datetimeoffset */
    default: props = 0;
    }
    if (len < 2 + props) return false;
    *value = p + 2 + props;
    *vlen = len - 2 - props;
    return true;
}

/* Attaches the default a column added online keeps in sysseobjvalues to its rscol. */
static void online_default(builder *b, uint64_t rowset, uint32_t place, b2p_cat_rscol *x) {
    for (size_t i = 0; b->t.have_seobjvalues && i < b->t.seobjvalues.n; i++) {
        const bt_row *w = &b->t.seobjvalues.rows[i];
        if (w->num[SV_VALCLASS] != 1 || (uint64_t)w->num[SV_ID] != rowset || w->num[SV_SUBID] != (int64_t)place ||
            w->null[SV_VALUE] || w->complex[SV_VALUE])
            continue;
        x->has_default = variant_payload(w->bytes[SV_VALUE], w->len[SV_VALUE], &x->default_value, &x->default_len);
        return;
    }
}

static b2p_status build_partitions(builder *b, b2p_cat_table *t) {
    size_t n = 0;
    for (size_t k = first_with(&b->ix.rowsets_by_obj, t->object_id), end = end_with(&b->ix.rowsets_by_obj, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.rowsets, &b->ix.rowsets_by_obj, k);
        n += w->num[RS_IDMINOR] <= 1;
    }
    t->partitions = cat_alloc(b->r.arena, n, sizeof *t->partitions);
    if (!t->partitions) return nomem(b);
    for (size_t k = first_with(&b->ix.rowsets_by_obj, t->object_id), end = end_with(&b->ix.rowsets_by_obj, t->object_id);
         k < end; k++) {
        const bt_row *w = row_at(&b->t.rowsets, &b->ix.rowsets_by_obj, k);
        if (w->num[RS_IDMINOR] > 1) continue;
        b2p_cat_partition *p = &t->partitions[t->npartitions++];
        p->rowset_id = (uint64_t)w->num[RS_ROWSETID];
        p->index_id = (int32_t)w->num[RS_IDMINOR];
        p->partition_number = (int32_t)w->num[RS_NUMPART];
        p->rows = (uint64_t)w->num[RS_RCROWS];
        p->compression = (uint8_t)w->num[RS_CMPRLEVEL];
        if (w->num[RS_STATUS] & RS_STATUS_XTP) t->is_memory_optimized = true;
        b2p_status st = partition_storage(b, p);
        if (st) return st;
    }
    t->is_heap = true;
    for (size_t i = 0; i < t->nindexes; i++)
        if (t->indexes[i].index_id == 1) t->is_heap = false;
    for (size_t i = 0; i < t->npartitions; i++)
        if (t->partitions[i].index_id == 1) t->is_heap = false;
    return B2P_OK;
}

/* ---- tables --------------------------------------------------------------------------- */

static int cmp_table(const void *a, const void *b) {
    const b2p_cat_table *x = a, *y = b;
    int c = strcmp(x->schema, y->schema);
    return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* A user table: type 'U ', outside schema sys (SQL Server 2016+ list tables such as
 * sys.trace_xe_action_map as 'U ' in every database; their columns live in the resource
 * database, so nothing of them can be read here). */
static bool is_user_table(const bt_row *w) {
    return type_is(w, "U ") && w->num[SO_NSID] != SCHEMA_SYS;
}

static b2p_status build_tables(builder *b) {
    size_t n = 0;
    for (size_t i = 0; i < b->t.schobjs.n; i++) n += is_user_table(&b->t.schobjs.rows[i]);
    b->cat->tables = cat_alloc(b->r.arena, n, sizeof *b->cat->tables);
    if (!b->cat->tables) return nomem(b);
    for (size_t i = 0; i < b->t.schobjs.n; i++) {
        const bt_row *w = &b->t.schobjs.rows[i];
        if (!is_user_table(w)) continue;
        b2p_cat_table *t = &b->cat->tables[b->cat->ntables++];
        t->object_id = (int32_t)w->num[SO_ID];
        t->name = row_name(b, w, SO_NAME);
        if (!t->name) t->name = cat_strndup(b->r.arena, "?", 1);
        t->schema = schema_name(b->cat, (int32_t)w->num[SO_NSID]);
        t->ms_shipped = (w->num[SO_STATUS] & OBJ_MS_SHIPPED) != 0;
        b2p_status st;
        if ((st = build_columns(b, t)) || (st = build_indexes(b, t)) ||
            (st = build_constraints(b, t)) || (st = build_partitions(b, t)))
            return st;
    }
    qsort(b->cat->tables, b->cat->ntables, sizeof *b->cat->tables, cmp_table);
    return B2P_OK;
}

/* ---- modules, types, extended properties, and what the model cannot represent ----------- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/* The next word of T-SQL text: an identifier or keyword, a bracketed or quoted name, or one
 * punctuation character; comments and white space skipped. *len 0 at the end. */
static const char *next_token(const char *p, size_t *len) {
    for (;;) {
        while (*p && is_space(*p)) p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            int depth = 0; /* T-SQL block comments nest */
            do {
                if (p[0] == '/' && p[1] == '*') depth++, p += 2;
                else if (p[0] == '*' && p[1] == '/') depth--, p += 2;
                else p++;
            } while (*p && depth > 0);
            continue;
        }
        break;
    }
    const char *q = p;
    if (!*q) {
        *len = 0;
        return q;
    }
    if (*q == '[' || *q == '"') {
        char close = *q == '[' ? ']' : '"';
        for (q++; *q; q++)
            if (*q == close) {
                if (q[1] == close) q++;
                else {
                    q++;
                    break;
                }
            }
    } else if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_' || *q == '#' ||
               *q == '@' || (unsigned char)*q >= 0x80 || (*q >= '0' && *q <= '9')) {
        while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_' || *q == '#' ||
               *q == '@' || *q == '$' || (unsigned char)*q >= 0x80 || (*q >= '0' && *q <= '9'))
            q++;
    } else q++;
    *len = (size_t)(q - p);
    return p;
}

static bool token_is(const char *t, size_t len, const char *word) {
    size_t n = strlen(word);
    if (len != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 32);
        if (c != word[i]) return false;
    }
    return true;
}

/* CREATE TRIGGER name ON table [WITH ...] {FOR | AFTER | INSTEAD OF} event [, event...] ... AS:
 * timing and events from the definition text (sysschobjs does not hold them in a documented
 * place). Leaves trigger_timing_known false when the text does not parse. */
static void parse_trigger(b2p_cat_module *m) {
    if (!m->definition) return;
    const char *p = m->definition;
    size_t len;
    int state = 0; /* 0: before TRIGGER, 1: before ON, 2: before FOR/AFTER/INSTEAD, 3: events */
    unsigned guard = 0;
    for (const char *t = next_token(p, &len); len && guard < 10000; t = next_token(t + len, &len), guard++) {
        if (state == 0 && token_is(t, len, "TRIGGER")) state = 1;
        else if (state == 1 && token_is(t, len, "ON")) state = 2;
        else if (state == 2 && (token_is(t, len, "FOR") || token_is(t, len, "AFTER"))) state = 3;
        else if (state == 2 && token_is(t, len, "INSTEAD")) {
            m->instead_of = true;
            state = 3;
        } else if (state == 3) {
            if (token_is(t, len, "INSERT")) m->trigger_events |= B2P_TRIGGER_INSERT;
            else if (token_is(t, len, "UPDATE")) m->trigger_events |= B2P_TRIGGER_UPDATE;
            else if (token_is(t, len, "DELETE")) m->trigger_events |= B2P_TRIGGER_DELETE;
            else if (token_is(t, len, "OF") || (len == 1 && *t == ',')) continue;
            else break;
        }
    }
    m->trigger_timing_known = state == 3 && m->trigger_events != 0;
    if (!m->trigger_timing_known) {
        m->instead_of = false;
        m->trigger_events = 0;
    }
}

static bool module_kind_of(const bt_row *w, b2p_module_kind *kind) {
    if (type_is(w, "V ")) *kind = B2P_MODULE_VIEW;
    else if (type_is(w, "P ")) *kind = B2P_MODULE_PROCEDURE;
    else if (type_is(w, "FN")) *kind = B2P_MODULE_SCALAR_FUNCTION;
    else if (type_is(w, "IF")) *kind = B2P_MODULE_INLINE_FUNCTION;
    else if (type_is(w, "TF")) *kind = B2P_MODULE_TABLE_FUNCTION;
    else if (type_is(w, "TR")) *kind = B2P_MODULE_TRIGGER;
    else return false;
    return true;
}

static int cmp_module(const void *a, const void *b) {
    const b2p_cat_module *x = a, *y = b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    int c = strcmp(x->schema, y->schema);
    return c ? c : strcmp(x->name, y->name);
}

static b2p_status build_modules(builder *b) {
    size_t n = 0;
    b2p_module_kind kind;
    for (size_t i = 0; i < b->t.schobjs.n; i++) {
        const bt_row *w = &b->t.schobjs.rows[i];
        n += module_kind_of(w, &kind) && w->num[SO_NSID] != SCHEMA_SYS && w->num[SO_NSID] != SCHEMA_INFORMATION;
    }
    b->cat->modules = cat_alloc(b->r.arena, n, sizeof *b->cat->modules);
    if (!b->cat->modules) return nomem(b);
    for (size_t i = 0; i < b->t.schobjs.n; i++) {
        const bt_row *w = &b->t.schobjs.rows[i];
        if (!module_kind_of(w, &kind) || w->num[SO_NSID] == SCHEMA_SYS || w->num[SO_NSID] == SCHEMA_INFORMATION)
            continue;
        b2p_cat_module *m = &b->cat->modules[b->cat->nmodules++];
        m->object_id = (int32_t)w->num[SO_ID];
        m->kind = kind;
        m->schema = schema_name(b->cat, (int32_t)w->num[SO_NSID]);
        m->name = row_name(b, w, SO_NAME);
        if (!m->name && !(m->name = cat_strndup(b->r.arena, "?", 1))) return nomem(b);
        m->ms_shipped = (w->num[SO_STATUS] & OBJ_MS_SHIPPED) != 0;
        /* Procedures keep their text under their procedure number (subobjid 1: "name;1"), the
         * other modules under 0 (found on the fixtures; pages.md 3.4 says 0 for all). */
        m->definition = object_text(b, m->object_id, 0);
        if (!m->definition) m->definition = object_text(b, m->object_id, 1);
        if (kind == B2P_MODULE_TRIGGER) {
            m->parent_id = (int32_t)w->num[SO_PID];
            m->disabled = (w->num[SO_STATUS] & OBJ_DISABLED) != 0;
            parse_trigger(m);
        }
    }
    if (b->cat->nmodules) qsort(b->cat->modules, b->cat->nmodules, sizeof *b->cat->modules, cmp_module);
    return B2P_OK;
}

/* sysscalartypes: user types have ids above 256 (pages.md 3.3). */
#define FIRST_USER_TYPE 257
#define XT_CLR 240
#define XT_TABLE_TYPE 243
#define TYPE_NOT_NULL 0x1

static int cmp_type(const void *a, const void *b) {
    const b2p_cat_type *x = a, *y = b;
    int c = strcmp(x->schema, y->schema);
    return c ? c : strcmp(x->name, y->name);
}

static b2p_status build_types(builder *b) {
    size_t n = 0;
    for (size_t i = 0; i < b->t.scalartypes.n; i++) n += b->t.scalartypes.rows[i].num[ST_ID] >= FIRST_USER_TYPE;
    b->cat->types = cat_alloc(b->r.arena, n, sizeof *b->cat->types);
    if (!b->cat->types) return nomem(b);
    for (size_t i = 0; i < b->t.scalartypes.n; i++) {
        const bt_row *w = &b->t.scalartypes.rows[i];
        if (w->num[ST_ID] < FIRST_USER_TYPE) continue;
        b2p_cat_type *t = &b->cat->types[b->cat->ntypes++];
        t->type_id = (int32_t)w->num[ST_ID];
        t->schema = schema_name(b->cat, (int32_t)w->num[ST_SCHID]);
        t->name = row_name(b, w, ST_NAME);
        if (!t->name && !(t->name = cat_strndup(b->r.arena, "?", 1))) return nomem(b);
        t->xtype = (uint8_t)w->num[ST_XTYPE];
        t->kind = t->xtype == XT_CLR ? B2P_TYPE_CLR : t->xtype == XT_TABLE_TYPE ? B2P_TYPE_TABLE : B2P_TYPE_ALIAS;
        t->base_name = b2p_type_name(t->xtype);
        t->max_length = (int16_t)w->num[ST_LENGTH];
        t->precision = (uint8_t)w->num[ST_PREC];
        t->scale = (uint8_t)w->num[ST_SCALE];
        t->nullable = w->null[ST_STATUS] || !(w->num[ST_STATUS] & TYPE_NOT_NULL);
    }
    if (b->cat->ntypes) qsort(b->cat->types, b->cat->ntypes, sizeof *b->cat->types, cmp_type);
    return B2P_OK;
}

/* ---- extended properties ---------------------------------------------------------------- */

#define XPROP_CLASS_OBJECT 1
#define XT_VARCHAR 167
#define XT_NCHAR 239
#define XT_BINARY 173
#define XT_BIT 104

/* A sql_variant value as text: base type byte, version byte, the type's properties (strings:
 * max length u16 + collation u32; binary: max length u16; decimal: precision, scale), then the
 * value. Strings as UTF-8; integers in decimal; binary in hex; other types named. */
static char *variant_text(builder *b, const uint8_t *p, size_t len) {
    if (len < 2) return NULL;
    uint8_t type = p[0];
    char buf[64];
    switch (type) {
    case XT_VARCHAR:
    case XT_CHAR:
        if (len < 8) return NULL;
        return decode_text(b, p + 8, len - 8);
    case XT_NVARCHAR:
    case XT_NCHAR:
        if (len < 8) return NULL;
        return cat_utf16_to_utf8(b->r.arena, p + 8, len - 8);
    case XT_TINYINT: case XT_SMALLINT: case XT_INT: case XT_BIGINT: case XT_BIT: {
        size_t w = type == XT_TINYINT || type == XT_BIT ? 1 : type == XT_SMALLINT ? 2 : type == XT_INT ? 4 : 8;
        if (len < 2 + w) return NULL;
        int64_t v = w == 1 ? p[2] : le_signed(p + 2, w);
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        return cat_strndup(b->r.arena, buf, strlen(buf));
    }
    case XT_VARBINARY:
    case XT_BINARY: {
        if (len < 4) return NULL;
        size_t n = len - 4;
        char *out = cat_alloc(b->r.arena, 2 * n + 3, 1);
        if (!out) return NULL;
        out[0] = '0';
        out[1] = 'x';
        for (size_t i = 0; i < n; i++) snprintf(out + 2 + 2 * i, 3, "%02X", p[4 + i]);
        return out;
    }
    default:
        snprintf(buf, sizeof buf, "(sql_variant of type %s)", b2p_type_name(type));
        return cat_strndup(b->r.arena, buf, strlen(buf));
    }
}

static b2p_status build_xprops(builder *b) {
    b->cat->xprops_unreadable = !b->t.have_xprops;
    b->cat->xprops = cat_alloc(b->r.arena, b->t.xprops.n, sizeof *b->cat->xprops);
    if (!b->cat->xprops) return nomem(b);
    for (size_t i = 0; i < b->t.xprops.n; i++) {
        const bt_row *w = &b->t.xprops.rows[i];
        b2p_cat_xprop *x = &b->cat->xprops[b->cat->nxprops++];
        x->class_ = (uint8_t)w->num[XP_CLASS];
        x->major_id = (int32_t)w->num[XP_ID];
        x->minor_id = (int32_t)w->num[XP_SUBID];
        x->name = row_name(b, w, XP_NAME);
        if (!x->name && !(x->name = cat_strndup(b->r.arena, "", 0))) return nomem(b);
        x->value = w->null[XP_VALUE] || w->complex[XP_VALUE] ? NULL : variant_text(b, w->bytes[XP_VALUE], w->len[XP_VALUE]);
    }
    return B2P_OK;
}

/* MS_Description on tables, columns and modules; the SSMS marker on tables. Tables and modules
 * are found through an index by object id (a database may have thousands of each). */
static b2p_status apply_xprops(builder *b) {
    b2p_catalog *cat = b->cat;
    int64_t *ids = cat_alloc(b->r.arena, cat->ntables + cat->nmodules, sizeof *ids);
    key_index by_id;
    if (!ids) return nomem(b);
    for (size_t i = 0; i < cat->ntables; i++) ids[i] = cat->tables[i].object_id;
    for (size_t i = 0; i < cat->nmodules; i++) ids[cat->ntables + i] = cat->modules[i].object_id;
    b2p_status st = index_keys(b, ids, sizeof *ids, cat->ntables + cat->nmodules, &by_id);
    if (st) return st;
    for (size_t i = 0; i < cat->nxprops; i++) {
        const b2p_cat_xprop *x = &cat->xprops[i];
        if (x->class_ != XPROP_CLASS_OBJECT) continue;
        size_t k = first_with(&by_id, x->major_id);
        if (k == end_with(&by_id, x->major_id)) continue;
        size_t at = by_id.e[k].row;
        b2p_cat_table *t = at < cat->ntables ? &cat->tables[at] : NULL;
        b2p_cat_module *m = at < cat->ntables ? NULL : &cat->modules[at - cat->ntables];
        if (!strcmp(x->name, "microsoft_database_tools_support") && x->minor_id == 0) {
            if (t) t->tools_support = true;
            if (m) m->tools_support = true;
        }
        if (strcmp(x->name, "MS_Description")) continue;
        if (t && x->minor_id == 0) t->description = x->value;
        else if (t) {
            for (size_t c = 0; c < t->ncolumns; c++)
                if (t->columns[c].column_id == x->minor_id) t->columns[c].description = x->value;
        } else if (m && x->minor_id == 0) {
            m->description = x->value;
        }
    }
    return B2P_OK;
}

/* ---- unsupported objects ---------------------------------------------------------------- */

typedef struct unsup_list {
    size_t cap;
} unsup_list;

static b2p_status add_unsupported(builder *b, unsup_list *u, const char *kind, const char *schema, char *name,
                                  const char *detail) {
    b2p_catalog *cat = b->cat;
    if (cat->nunsupported == u->cap) {
        size_t ncap = u->cap ? u->cap * 2 : 16;
        b2p_cat_unsupported *n = cat_alloc(b->r.arena, ncap, sizeof *n);
        if (!n) return nomem(b);
        if (cat->nunsupported) memcpy(n, cat->unsupported, cat->nunsupported * sizeof *n);
        cat->unsupported = n;
        u->cap = ncap;
    }
    if (!name && !(name = cat_strndup(b->r.arena, "?", 1))) return nomem(b);
    cat->unsupported[cat->nunsupported++] = (b2p_cat_unsupported){.kind = kind, .schema = schema, .name = name, .detail = detail};
    return B2P_OK;
}

/* sysschobjs types the model does not represent (sys.objects type codes). Internal tables (IT),
 * system tables (S) and the parts of tables (PK, UQ, F, C, D with a parent) are represented or
 * are not the user's; objects SQL Server ships (Service Broker's default queues) are left out. */
static const struct {
    char code[3];
    const char *kind;
} OBJECT_KINDS[] = {
    {"SO", "sequence"}, {"SN", "synonym"}, {"R ", "rule"}, {"D ", "default (bound)"},
    {"AF", "CLR aggregate"}, {"FS", "CLR scalar function"}, {"FT", "CLR table function"},
    {"PC", "CLR procedure"}, {"TA", "CLR trigger"}, {"X ", "extended procedure"},
    {"SQ", "service queue"}, {"ET", "external table"}, {"EC", "edge constraint"},
    {"PG", "plan guide"}, {"RF", "replication filter procedure"},
};

static b2p_status unsupported_objects(builder *b, unsup_list *u) {
    for (size_t i = 0; i < b->t.schobjs.n; i++) {
        const bt_row *w = &b->t.schobjs.rows[i];
        if (w->num[SO_NSID] == SCHEMA_SYS || (w->num[SO_STATUS] & OBJ_MS_SHIPPED)) continue;
        for (size_t k = 0; k < sizeof OBJECT_KINDS / sizeof *OBJECT_KINDS; k++) {
            if (!type_is(w, OBJECT_KINDS[k].code)) continue;
            if (type_is(w, "D ") && w->num[SO_PID] != 0) break; /* a column's DEFAULT constraint */
            b2p_status st = add_unsupported(b, u, OBJECT_KINDS[k].kind, schema_name(b->cat, (int32_t)w->num[SO_NSID]),
                                            row_name(b, w, SO_NAME), NULL);
            if (st) return st;
            break;
        }
    }
    return B2P_OK;
}

/* sysclsobjs classes (pages.md 3.3): 10 assembly, 30 partition function, 31 partition scheme
 * (type PS; filegroups share the class with types FG/FD/FL), 32 full-text catalog. */
static b2p_status unsupported_classes(builder *b, unsup_list *u) {
    for (size_t i = 0; i < b->t.clsobjs.n; i++) {
        const bt_row *w = &b->t.clsobjs.rows[i];
        const char *kind = NULL;
        bool ps = !w->null[CL_TYPE] && w->len[CL_TYPE] == 2 && w->bytes[CL_TYPE][0] == 'P' && w->bytes[CL_TYPE][1] == 'S';
        switch (w->num[CL_CLASS]) {
        case 10: kind = w->num[CL_ID] > 1 ? "assembly" : NULL; break; /* 1: Microsoft.SqlServer.Types */
        case 30: kind = "partition function"; break;
        case 31: kind = ps ? "partition scheme" : NULL; break;
        case 32: kind = "full-text catalog"; break;
        default: break;
        }
        if (!kind) continue;
        b2p_status st = add_unsupported(b, u, kind, NULL, row_name(b, w, CL_NAME), NULL);
        if (st) return st;
    }
    return B2P_OK;
}

static b2p_status unsupported_in_tables(builder *b, unsup_list *u) {
    b2p_status st;
    for (size_t i = 0; i < b->cat->ntables; i++) {
        b2p_cat_table *t = &b->cat->tables[i];
        for (size_t k = 0; k < t->nindexes; k++) {
            const b2p_cat_index *ix = &t->indexes[k];
            if (ix->type == IDX_TYPE_HASH) t->is_memory_optimized = true;
            const char *kind = ix->type == 5 ? "clustered columnstore index" : ix->type == 6 ? "nonclustered columnstore index"
                             : ix->type == 3 ? "xml index" : ix->type == 4 ? "spatial index" : ix->type == 9 ? "json index" : NULL;
            if (kind && (st = add_unsupported(b, u, kind, t->schema, ix->name, t->name))) return st;
        }
        if (t->is_memory_optimized && (st = add_unsupported(b, u, "memory-optimized table", t->schema, t->name, NULL)))
            return st;
        for (size_t k = 0; k < t->ncolumns; k++)
            if (t->columns[k].is_filestream && (st = add_unsupported(b, u, "filestream column", t->schema, t->columns[k].name, t->name)))
                return st;
        bool columnstore = false;
        for (size_t k = 0; k < t->npartitions; k++) columnstore |= t->partitions[k].compression >= 3;
        if (columnstore && (st = add_unsupported(b, u, "columnstore storage", t->schema, t->name, NULL))) return st;
    }
    for (size_t i = 0; i < b->t.ftinds.n; i++) {
        const b2p_cat_table *t = b2p_catalog_table_by_id(b->cat, (int32_t)b->t.ftinds.rows[i].num[FT_ID]);
        char *name = t ? t->name : NULL;
        if ((st = add_unsupported(b, u, "full-text index", t ? t->schema : NULL, name, NULL))) return st;
    }
    for (size_t i = 0; i < b->cat->ntypes; i++) {
        b2p_cat_type *ty = &b->cat->types[i];
        if (ty->kind == B2P_TYPE_ALIAS) continue;
        if ((st = add_unsupported(b, u, ty->kind == B2P_TYPE_TABLE ? "table type" : "CLR type", ty->schema, ty->name, NULL)))
            return st;
    }
    if (!b->t.have_xprops && (st = add_unsupported(b, u, "extended properties", NULL, NULL, "sysxprops unreadable")))
        return st;
    return B2P_OK;
}

static int cmp_unsupported(const void *a, const void *b) {
    const b2p_cat_unsupported *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    if (!c) c = strcmp(x->schema ? x->schema : "", y->schema ? y->schema : "");
    if (!c) c = strcmp(x->detail ? x->detail : "", y->detail ? y->detail : "");
    return c ? c : strcmp(x->name, y->name);
}

static b2p_status build_objects(builder *b) {
    unsup_list u = {0};
    b2p_status st;
    if ((st = build_modules(b)) || (st = build_types(b)) || (st = build_xprops(b)) || (st = apply_xprops(b)))
        return st;
    if ((st = unsupported_objects(b, &u)) || (st = unsupported_classes(b, &u)) || (st = unsupported_in_tables(b, &u)))
        return st;
    if (b->cat->nunsupported)
        qsort(b->cat->unsupported, b->cat->nunsupported, sizeof *b->cat->unsupported, cmp_unsupported);
    return B2P_OK;
}

static int cmp_u64_pair(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

b2p_status cat_map_hobt_columns(cat_reader *r, b2p_error *err) {
    if (!r->hobt_columns) return B2P_OK;
    bt_rows rows;
    b2p_status st = cat_read_base_table(r, &DEF_ROWSETCOLUMNS, &rows, err);
    if (st) return st;
    /* (rsid, hbcolid) -> rscolid, sorted for lookup */
    uint64_t (*map)[3] = malloc((rows.n ? rows.n : 1) * sizeof *map);
    if (!map) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < rows.n; i++) {
        map[i][0] = (uint64_t)rows.rows[i].num[RC_RSID];
        map[i][1] = (uint64_t)(uint32_t)rows.rows[i].num[RC_HBCOLID];
        map[i][2] = (uint64_t)(uint32_t)rows.rows[i].num[RC_RSCOLID];
    }
    qsort(map, rows.n, sizeof *map, cmp_u64_pair);
    for (size_t k = 0; k < r->nrscols; k++) {
        cat_rscol_row *x = &r->rscols[k];
        uint64_t key[2] = {x->rsid, x->hbcolid};
        uint64_t(*hit)[3] = bsearch(key, map, rows.n, sizeof *map, cmp_u64_pair);
        if (hit) x->rscolid = (uint32_t)(*hit)[2];
    }
    free(map);
    cat_sort_rscols(r);
    return B2P_OK;
}

b2p_status b2p_catalog_load(b2p_pages *src, b2p_catalog **out, b2p_error *err) {
    *out = NULL;
    builder *b = calloc(1, sizeof *b);
    if (!b) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    b->err = err;
    b->r.src = src;
    b->r.arena = cat_arena_new();
    b2p_status st = b->r.arena ? B2P_OK : b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    if (!st) {
        b->cat = cat_alloc(b->r.arena, 1, sizeof *b->cat);
        if (!b->cat) st = nomem(b);
    }
    if (!st) st = cat_read_boot(&b->r, err);
    if (!st) st = cat_read_allocunits(&b->r, err);
    if (!st) st = cat_read_rscols(&b->r, err);
    if (!st) st = cat_map_hobt_columns(&b->r, err);
    if (!st) st = load_tables(b);
    if (!st) st = index_tables(b);
    if (!st) st = build_schemas(b);
    if (!st) st = build_tables(b);
    if (!st) st = build_objects(b);
    free(b->r.aus);
    free(b->r.rscols);
    if (st) {
        cat_arena_free(b->r.arena);
        free(b);
        b2p_error_name_file(err, b2p_pages_path(src));
        return st;
    }
    b->cat->db_version = b->r.boot.version;
    b->cat->create_version = b->r.boot.create_version;
    b->cat->collation_id = b->r.boot.collation;
    b->cat->compat_level = b->r.boot.compat;
    b->cat->foreign_keys_incomplete = !b->t.have_objrefs;
    b->cat->texts_unreadable = b->texts_unreadable;
    b->cat->internal = b->r.arena;
    *out = b->cat;
    free(b);
    return B2P_OK;
}

void b2p_catalog_free(b2p_catalog *cat) {
    if (cat) cat_arena_free(cat->internal); /* the catalog itself lives in its arena */
}

const b2p_cat_table *b2p_catalog_find_table(const b2p_catalog *cat, const char *schema,
                                            const char *name) {
    for (size_t i = 0; i < cat->ntables; i++)
        if (!strcmp(cat->tables[i].schema, schema) && !strcmp(cat->tables[i].name, name))
            return &cat->tables[i];
    return NULL;
}

const b2p_cat_table *b2p_catalog_table_by_id(const b2p_catalog *cat, int32_t object_id) {
    for (size_t i = 0; i < cat->ntables; i++)
        if (cat->tables[i].object_id == object_id) return &cat->tables[i];
    return NULL;
}

const b2p_cat_column *b2p_table_column(const b2p_cat_table *t, int32_t column_id) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (t->columns[i].column_id == column_id) return &t->columns[i];
    return NULL;
}

const b2p_cat_module *b2p_catalog_find_module(const b2p_catalog *cat, const char *schema,
                                              const char *name) {
    for (size_t i = 0; i < cat->nmodules; i++)
        if (!strcmp(cat->modules[i].schema, schema) && !strcmp(cat->modules[i].name, name))
            return &cat->modules[i];
    return NULL;
}

const char *b2p_module_kind_name(b2p_module_kind kind) {
    switch (kind) {
    case B2P_MODULE_VIEW: return "view";
    case B2P_MODULE_PROCEDURE: return "procedure";
    case B2P_MODULE_SCALAR_FUNCTION: return "scalar function";
    case B2P_MODULE_INLINE_FUNCTION: return "inline table function";
    case B2P_MODULE_TABLE_FUNCTION: return "table function";
    case B2P_MODULE_TRIGGER: return "trigger";
    }
    return "?";
}

const char *b2p_type_kind_name(b2p_type_kind kind) {
    return kind == B2P_TYPE_ALIAS ? "alias" : kind == B2P_TYPE_CLR ? "clr" : kind == B2P_TYPE_TABLE ? "table" : "?";
}

const char *b2p_compression_name(uint8_t level) {
    static const char *const NAMES[] = {"none", "row", "page", "columnstore", "columnstore_archive"};
    return level < sizeof NAMES / sizeof *NAMES ? NAMES[level] : "?";
}

uint64_t b2p_table_rows(const b2p_cat_table *t) {
    uint64_t n = 0;
    for (size_t i = 0; i < t->npartitions; i++) n += t->partitions[i].rows;
    return n;
}
