/* Internals shared by the files of catalog/ only. */
#ifndef B2P_CAT_INT_H
#define B2P_CAT_INT_H

#ifndef B2P_CATALOG_INTERNAL
#error "cat_int.h is private to catalog/; include catalog/catalog.h"
#endif

#include "catalog.h"

/* ---- arena: every allocation of one catalog, freed at once ---------------------------- */

typedef struct cat_arena cat_arena;
cat_arena *cat_arena_new(void);
void cat_arena_free(cat_arena *a);
/* Zeroed memory; NULL when out of memory (or when n * size overflows). */
void *cat_alloc(cat_arena *a, size_t n, size_t size);
char *cat_strndup(cat_arena *a, const char *s, size_t len);
/* UTF-16LE bytes (odd trailing byte ignored) as a NUL-terminated UTF-8 string. */
char *cat_utf16_to_utf8(cat_arena *a, const uint8_t *p, size_t len);

/* ---- base tables: rows read through their sysrscols layout --------------------------- */

#define BT_MAX_FIELDS 20

/* One column of a base table the reader needs: its declaration ordinal (sysrscols rscolid,
 * which is where sysrscols tells its offset, null bit and type) and the type expected there.
 * Optional fields may be absent in some versions. */
typedef struct bt_field {
    const char *name;
    uint16_t rscolid;
    uint8_t xtype;
    bool optional;
} bt_field;

typedef struct bt_def {
    const char *name;
    int32_t object_id;
    const bt_field *fields;
    size_t nfields;
} bt_def;

/* One row of a base table: integers decoded, bytes copied into the arena. */
typedef struct bt_row {
    int64_t num[BT_MAX_FIELDS];
    const uint8_t *bytes[BT_MAX_FIELDS];
    size_t len[BT_MAX_FIELDS];
    bool null[BT_MAX_FIELDS];
    bool complex[BT_MAX_FIELDS]; /* off-row value: bytes are the pointer, not the value */
} bt_row;

typedef struct bt_rows {
    size_t n;
    bt_row *rows;
} bt_rows;

/* One allocation unit as sysallocunits lists it. */
typedef struct cat_au_row {
    uint64_t auid, owner;
    uint8_t type;
    b2p_page_ptr first, root, first_iam;
    uint64_t used, data, total;
} cat_au_row;

/* One sysrscols row. */
typedef struct cat_rscol_row {
    uint64_t rsid;
    uint32_t rscolid, hbcolid, ti, cid, status, offset, nullbit;
    uint16_t bitpos;
} cat_rscol_row;

typedef struct cat_boot {
    uint16_t version, create_version;
    uint32_t collation;
    uint8_t compat;
    b2p_page_ptr first_sys_indexes;
} cat_boot;

typedef struct cat_reader {
    b2p_pages *src;
    bool hobt_columns;        /* 2005: layouts came from syshobtcolumns, keyed by hobt column */
    cat_arena *arena;
    cat_boot boot;
    size_t naus;
    cat_au_row *aus;          /* sorted by auid */
    size_t nrscols;
    cat_rscol_row *rscols;    /* sorted by rsid, rscolid */
} cat_reader;

b2p_status cat_read_boot(cat_reader *r, b2p_error *err);
b2p_status cat_read_allocunits(cat_reader *r, b2p_error *err);
b2p_status cat_read_rscols(cat_reader *r, b2p_error *err);
/* SQL Server 2005: gives each syshobtcolumns row the rowset column id it stores (sysrowsetcolumns),
 * so that rscolid means the same as in later versions: the table's column id. */
b2p_status cat_map_hobt_columns(cat_reader *r, b2p_error *err);
/* Sorts the rscols rows by (rsid, rscolid), the order cat_rscols_of() searches. */
void cat_sort_rscols(cat_reader *r);
const cat_au_row *cat_find_au(const cat_reader *r, uint64_t auid);
/* The sysrscols rows of rowset rsid: *first index and *count. */
void cat_rscols_of(const cat_reader *r, uint64_t rsid, size_t *first, size_t *count);
/* The physical layout of a sysrscols row. */
b2p_column_layout cat_rscol_layout(const cat_rscol_row *c);
/* Whether sysallocunits lists an allocation unit for the base table: from SQL Server 2008 R2 on,
 * a base table that never held a row may have none (sysxprops of a database without extended
 * properties), which means empty, not damaged. */
bool cat_base_table_has_au(cat_reader *r, const bt_def *def);
/* Reads every live row of a base table through its own sysrscols layout. */
b2p_status cat_read_base_table(cat_reader *r, const bt_def *def, bt_rows *out, b2p_error *err);

#endif
