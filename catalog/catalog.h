/* catalog/: the database's schema, rebuilt from the hidden system base tables.
 *
 * What this layer offers:
 *   - b2p_catalog_load(): bootstraps from the boot page (1:9) through sysallocunits and
 *     sysrscols to the other base tables (sysrowsets, sysschobjs, syscolpars, sysclsobjs,
 *     sysscalartypes, sysidxstats, sysiscols, sysobjvalues, syssingleobjrefs, sysxprops,
 *     sysftinds) and builds a model: schemas, user tables with their columns, keys, foreign
 *     keys, checks, defaults, indexes, descriptions, and per table its storage (heap or
 *     clustered) and partitions (row counts, compression, LOB / row-overflow data, physical
 *     column layout, allocation units) so that a row reader can find and decode the data
 *     pages; views, procedures, functions and triggers with their text (off-row text read
 *     through its LOB chain); user-defined types; extended properties; and, by kind and name,
 *     what the model does not represent yet (b2p_cat_unsupported).
 *   - b2p_type_name(): the SQL Server name of a system type id.
 *
 * Every base-table column is located through that base table's own sysrscols rows (leaf
 * offset, null bit, type), not through fixed offsets, and its type is checked against what the
 * reader expects; only sysallocunits and sysrscols themselves are read with the bootstrap
 * layout, which is then verified against their own sysrscols rows. SQL Server 2005 (database
 * version 611/612) has no sysrscols: its syshobtcolumns stands in, read the same way.
 * Format notes: ../shared/docs/pages.md sections 2.2 (boot page), 3 (catalog).
 * The model is read-only after loading; strings are UTF-8 and owned by the catalog. */
#ifndef B2P_CATALOG_H
#define B2P_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtf/mtf.h"
#include "pages/pages.h"

/* Allocation-unit types (sysallocunits.type). */
enum { B2P_AU_IN_ROW = 1, B2P_AU_LOB = 2, B2P_AU_ROW_OVERFLOW = 3 };

/* Referential actions of a foreign key. */
typedef enum b2p_fk_action {
    B2P_FK_NO_ACTION = 0,
    B2P_FK_CASCADE = 1,
    B2P_FK_SET_NULL = 2,
    B2P_FK_SET_DEFAULT = 3,
} b2p_fk_action;

typedef struct b2p_cat_au {
    uint8_t type;                /* B2P_AU_* */
    b2p_au_ref ref;              /* id, first, root and first IAM page */
    uint64_t used_pages, data_pages, total_pages;
} b2p_cat_au;

/* The physical layout of one column in the records of a partition (a sysrscols row). */
typedef struct b2p_cat_rscol {
    uint32_t rscolid;            /* partition column id */
    uint32_t column_id;          /* the table's column_id it stores (0: none: uniquifier,
                                  * dropped or internal column) */
    uint32_t status;             /* 0x2 dropped, 0x10 uniquifier, 0x80 NOT NULL, 0x100 sparse */
    uint32_t collation_id;
    uint16_t max_length;         /* from ti: bytes, 0 = (max) for variable types */
    uint8_t precision, scale;
    b2p_column_layout layout;
    bool has_default;            /* added online: older rows take this value (native bytes) */
    const uint8_t *default_value;
    size_t default_len;
} b2p_cat_rscol;

typedef struct b2p_cat_partition {
    uint64_t rowset_id;          /* = partition_id = hobt_id */
    int32_t index_id;            /* 0 heap, 1 clustered */
    int32_t partition_number;
    uint64_t rows;               /* sysrowsets.rcrows */
    uint8_t compression;         /* 0 none, 1 row, 2 page, 3/4 columnstore (b2p_compression_name) */
    bool has_lob;                /* a LOB_DATA unit with pages in use */
    bool has_row_overflow;       /* a ROW_OVERFLOW_DATA unit with pages in use */
    size_t naus;
    b2p_cat_au *aus;
    size_t nrscols;
    b2p_cat_rscol *rscols;       /* ordered by rscolid */
} b2p_cat_partition;

typedef struct b2p_cat_column {
    int32_t column_id;
    char *name;
    uint8_t xtype;               /* system type id */
    int32_t user_type_id;
    const char *type_name;       /* system type name ("nvarchar"); "?" when unknown */
    char *user_type;             /* alias or CLR type name (schema-less) or NULL */
    int16_t max_length;          /* bytes as stored in syscolpars; -1 = (max) */
    uint8_t precision, scale;
    uint32_t collation_id;
    bool nullable;
    bool is_identity;
    bool identity_known;         /* seed/increment decoded from syscolpars.idtval */
    int64_t identity_seed, identity_increment;
    bool identity_used;          /* a value was generated: identity_last is the latest */
    int64_t identity_last;
    bool is_computed, is_persisted;
    char *computed;              /* definition text, or NULL */
    bool is_rowguidcol, is_sparse, is_hidden;
    char *default_name;          /* DEFAULT constraint, or NULL */
    char *default_text;
    bool is_filestream;          /* varbinary(max) FILESTREAM: the data is outside the backup's
                                  * data files (syscolpars.status 0x20) */
    char *description;           /* extended property MS_Description, or NULL */
    const char *cast;            /* not from the backup: the PostgreSQL type a user's --cast gives
                                  * the column (emit/pgtypes.c b2p_cast_column), or NULL */
} b2p_cat_column;

typedef struct b2p_cat_index {
    int32_t index_id;
    char *name;                  /* NULL for a heap */
    uint8_t type;                /* 0 heap, 1 clustered, 2 nonclustered, 3 xml, ... */
    bool unique, primary_key, unique_constraint, disabled, has_filter;
    size_t nkeys;
    int32_t *key_columns;        /* column ids, in key order */
    bool *key_descending;
    size_t nincluded;
    int32_t *included_columns;
    char *filter;                /* filter predicate text, or NULL */
} b2p_cat_index;

typedef struct b2p_cat_foreign_key {
    int32_t object_id;
    char *name;
    int32_t ref_object_id;       /* the referenced table */
    int32_t ref_index_id;        /* the referenced key index */
    size_t ncolumns;
    int32_t *columns, *ref_columns; /* column ids, paired */
    b2p_fk_action on_delete, on_update;
    bool disabled, not_trusted;
} b2p_cat_foreign_key;

typedef struct b2p_cat_check {
    int32_t object_id;
    char *name;
    int32_t column_id;           /* 0 for a table-level check */
    char *expression;            /* NULL when the text could not be read */
    bool disabled;
} b2p_cat_check;

typedef struct b2p_cat_table {
    int32_t object_id;
    const char *schema;          /* points into the catalog's schema list */
    char *name;
    bool ms_shipped;             /* created by SQL Server itself (e.g. dbo.sysdiagrams) */
    bool tools_support;          /* extended property microsoft_database_tools_support: an object
                                  * of SSMS's own (dbo.sysdiagrams), left out by default later */
    bool is_heap;                /* no clustered index: the rows live in a heap (index 0) */
    bool is_memory_optimized;    /* In-Memory OLTP: no rows in the data files' pages */
    bool has_filestream;         /* a FILESTREAM column */
    char *description;           /* extended property MS_Description, or NULL */
    size_t ncolumns;
    b2p_cat_column *columns;     /* ordered by column_id */
    size_t nindexes;
    b2p_cat_index *indexes;      /* ordered by index_id; includes the heap (0) if any */
    size_t nforeign_keys;
    b2p_cat_foreign_key *foreign_keys;
    size_t nchecks;
    b2p_cat_check *checks;
    size_t npartitions;
    b2p_cat_partition *partitions; /* of the heap or clustered index (index 0 or 1) */
} b2p_cat_table;

/* Views, procedures, functions and triggers (sysschobjs V, P, FN, IF, TF, TR). */
typedef enum b2p_module_kind {
    B2P_MODULE_VIEW,
    B2P_MODULE_PROCEDURE,
    B2P_MODULE_SCALAR_FUNCTION,  /* FN */
    B2P_MODULE_INLINE_FUNCTION,  /* IF: inline table-valued */
    B2P_MODULE_TABLE_FUNCTION,   /* TF: multi-statement table-valued */
    B2P_MODULE_TRIGGER,
} b2p_module_kind;

/* Trigger events (b2p_cat_module.trigger_events). */
enum { B2P_TRIGGER_INSERT = 1, B2P_TRIGGER_UPDATE = 2, B2P_TRIGGER_DELETE = 4 };

typedef struct b2p_cat_module {
    int32_t object_id;
    b2p_module_kind kind;
    const char *schema;
    char *name;
    char *definition;            /* the CREATE statement as submitted (sysobjvalues valclass 1,
                                  * in-row or off-row), or NULL when not readable */
    bool ms_shipped;
    bool tools_support;          /* microsoft_database_tools_support: SSMS's diagram procedures */
    char *description;           /* MS_Description, or NULL */
    /* triggers */
    int32_t parent_id;           /* the table (or view) the trigger is on; 0 for others */
    bool disabled;
    bool trigger_timing_known;   /* instead_of and trigger_events were read from the text */
    bool instead_of;             /* INSTEAD OF, else AFTER (FOR) */
    uint8_t trigger_events;      /* B2P_TRIGGER_* */
} b2p_cat_module;

/* User-defined types of sysscalartypes (id > 256). */
typedef enum b2p_type_kind {
    B2P_TYPE_ALIAS,              /* CREATE TYPE x FROM base: a base type with length/nullability */
    B2P_TYPE_CLR,                /* an assembly type (xtype 240) */
    B2P_TYPE_TABLE,              /* a user-defined table type (xtype 243): also "unsupported" */
} b2p_type_kind;

typedef struct b2p_cat_type {
    int32_t type_id;
    b2p_type_kind kind;
    const char *schema;
    char *name;
    uint8_t xtype;               /* base system type */
    const char *base_name;       /* b2p_type_name(xtype) */
    int16_t max_length;          /* bytes, -1 = (max) */
    uint8_t precision, scale;
    bool nullable;
} b2p_cat_type;

/* An extended property (sysxprops). */
typedef struct b2p_cat_xprop {
    uint8_t class_;              /* 0 database, 1 object or column, 2 parameter, 3 schema, 7 index ... */
    int32_t major_id, minor_id;  /* e.g. object id and column id (0: the object itself) */
    char *name;
    char *value;                 /* a string value as UTF-8; other types rendered as text; NULL */
} b2p_cat_xprop;

/* Something the catalog holds that the model cannot represent yet: never dropped silently. */
typedef struct b2p_cat_unsupported {
    const char *kind;            /* "sequence", "synonym", "table type", "partition function" ... */
    const char *schema;          /* NULL when not schema-scoped */
    char *name;
    const char *detail;          /* a table's name for indexes / columns, or NULL */
} b2p_cat_unsupported;

typedef struct b2p_cat_schema {
    int32_t schema_id;
    char *name;
} b2p_cat_schema;

typedef struct b2p_catalog {
    uint16_t db_version;         /* dbi_version: 611 = 2005 ... 998 = 2025 */
    uint16_t create_version;
    uint32_t collation_id;       /* database default */
    uint8_t compat_level;
    size_t nschemas;
    b2p_cat_schema *schemas;
    bool foreign_keys_incomplete;/* syssingleobjrefs unreadable (a stripe missing): foreign
                                  * keys are listed without columns and referenced table */
    size_t ntables;
    b2p_cat_table *tables;       /* user tables (not those of schema sys), by schema then name */
    size_t nmodules;
    b2p_cat_module *modules;     /* user modules, by kind, schema, name */
    size_t ntypes;
    b2p_cat_type *types;         /* user-defined types, by schema and name */
    size_t nxprops;
    b2p_cat_xprop *xprops;       /* every extended property, in sysxprops order */
    bool xprops_unreadable;      /* sysxprops could not be read: no descriptions */
    size_t texts_unreadable;     /* definitions stored off-row whose LOB pages could not be read
                                  * (a stripe missing): those texts are NULL */
    size_t nunsupported;
    b2p_cat_unsupported *unsupported; /* by kind, schema, name */
    void *internal;              /* owned allocations */
} b2p_catalog;

/* Loads the catalog of the database in src. On failure *out is NULL and err names the system
 * table, page and field that could not be read. */
b2p_status b2p_catalog_load(b2p_pages *src, b2p_catalog **out, b2p_error *err);
void b2p_catalog_free(b2p_catalog *cat);

/* The table schema.name (exact match), or NULL. */
const b2p_cat_table *b2p_catalog_find_table(const b2p_catalog *cat, const char *schema,
                                            const char *name);
/* The column with that column_id, or NULL. */
const b2p_cat_column *b2p_table_column(const b2p_cat_table *t, int32_t column_id);
/* The table with that object id, or NULL. */
const b2p_cat_table *b2p_catalog_table_by_id(const b2p_catalog *cat, int32_t object_id);
/* Sum of rows over the table's partitions. */
uint64_t b2p_table_rows(const b2p_cat_table *t);

/* The module with that schema and name, or NULL. */
const b2p_cat_module *b2p_catalog_find_module(const b2p_catalog *cat, const char *schema,
                                              const char *name);
/* "view", "procedure", "scalar function", "inline table function", "table function", "trigger". */
const char *b2p_module_kind_name(b2p_module_kind kind);
/* "alias", "clr", "table". */
const char *b2p_type_kind_name(b2p_type_kind kind);
/* "none", "row", "page", "columnstore", "columnstore_archive", or "?" (sysrowsets.cmprlevel). */
const char *b2p_compression_name(uint8_t level);

/* "int", "nvarchar", ... for a system type id; "?" when unknown. */
const char *b2p_type_name(uint8_t xtype);
/* Whether max_length is meaningful for the type (char, binary and their variants). */
bool b2p_type_has_length(uint8_t xtype);
/* Whether the type is UTF-16 (nchar, nvarchar, ntext): lengths in the model are bytes. */
bool b2p_type_is_unicode(uint8_t xtype);
/* Whether precision/scale are meaningful (decimal, numeric) / scale only (time family). */
bool b2p_type_has_precision(uint8_t xtype);
bool b2p_type_has_scale_only(uint8_t xtype);

#endif
