/* PostgreSQL names for the catalog's objects (see emit.h "Naming").
 *
 * Identifiers are folded to lower case by default (PostgreSQL folds unquoted names, so folded
 * names need no quotes in hand-written queries) and quoted only where PostgreSQL needs it;
 * --keep-case keeps them as they are. Schemas can be renamed (dbo -> public by default).
 * Two objects that fold to the same name in one scope are an error naming both: merging them
 * would lose data. Index and key names share one namespace per schema in PostgreSQL (they are
 * relations) but only one per table in SQL Server: clashing ones get their table's name in front. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

enum { PG_NAMEDATALEN = 63 }; /* bytes of an identifier PostgreSQL keeps */

/* The name as PostgreSQL will store it: ASCII letters folded unless keep_case, cut to 63 bytes
 * (PostgreSQL's limit) on a UTF-8 character boundary. */
static void fold(const char *name, bool keep_case, char *out, size_t outlen) {
    size_t n = strlen(name), max = outlen - 1 < PG_NAMEDATALEN ? outlen - 1 : PG_NAMEDATALEN;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) n--;
    }
    for (size_t i = 0; i < n; i++) out[i] = keep_case ? name[i] : (char)tolower((unsigned char)name[i]);
    out[n] = 0;
}

/* ---- the name table ---------------------------------------------------------------------- */

typedef struct table_names {
    char *schema;            /* folded (unquoted) */
    char *name;
    char **columns;          /* by position in t->columns */
    char **indexes;          /* by position in t->indexes; NULL for the heap */
} table_names;

struct b2p_names {
    const b2p_catalog *cat;
    b2p_naming_options opt;
    table_names *tables;     /* parallel to cat->tables */
};

void b2p_names_fold(const b2p_names *nm, const char *name, char *out, size_t len) {
    fold(name, nm->opt.keep_case, out, len);
}

static char *dup_folded(const b2p_names *nm, const char *s) {
    char buf[256];
    fold(s, nm->opt.keep_case, buf, sizeof buf);
    return strdup(buf);
}

/* The PostgreSQL schema for a SQL Server schema: an explicit map first, then dbo -> public. */
static char *map_schema(const b2p_names *nm, const char *schema) {
    for (size_t i = 0; i < nm->opt.nschema_maps; i++)
        if (!strcmp(nm->opt.schema_map_from[i], schema)) return strdup(nm->opt.schema_map_to[i]);
    if (!strcmp(schema, "dbo") && !nm->opt.keep_dbo) return strdup("public");
    return dup_folded(nm, schema);
}

const char *b2p_names_map_schema(const b2p_names *nm, const char *schema, char *out, size_t len) {
    char *m = map_schema(nm, schema);
    snprintf(out, len, "%s", m ? m : schema);
    free(m);
    return out;
}

static b2p_status collision(b2p_error *err, const char *a, const char *b, const char *pg) {
    return b2p_fail(err, B2P_ERR_USAGE,
                    "%s and %s both become %s in PostgreSQL: use --keep-case or --schema-map", a, b, pg);
}

static b2p_status name_columns(b2p_names *nm, const b2p_cat_table *t, table_names *tn, b2p_error *err) {
    tn->columns = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *tn->columns);
    if (!tn->columns) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!(tn->columns[i] = dup_folded(nm, t->columns[i].name))) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(tn->columns[k], tn->columns[i])) {
                char a[600];
                snprintf(a, sizeof a, "columns %s.%s.%s", t->schema, t->name, t->columns[k].name);
                return collision(err, a, t->columns[i].name, tn->columns[i]);
            }
    }
    return B2P_OK;
}

/* Whether index name s is already taken in the PostgreSQL schema (by an index or a table). */
static bool relation_taken(const b2p_names *nm, const char *schema, const char *s, size_t upto_table, size_t upto_index) {
    for (size_t i = 0; i < nm->cat->ntables; i++) {
        const table_names *tn = &nm->tables[i];
        if (!tn->schema || strcmp(tn->schema, schema)) continue;
        if (!strcmp(tn->name, s)) return true;
        for (size_t k = 0; tn->indexes && k < nm->cat->tables[i].nindexes; k++) {
            if (i == upto_table && k >= upto_index) break;
            if (i > upto_table) break;
            if (tn->indexes[k] && !strcmp(tn->indexes[k], s)) return true;
        }
    }
    return false;
}

static b2p_status name_indexes(b2p_names *nm, size_t ti, b2p_error *err) {
    const b2p_cat_table *t = &nm->cat->tables[ti];
    table_names *tn = &nm->tables[ti];
    tn->indexes = calloc(t->nindexes ? t->nindexes : 1, sizeof *tn->indexes);
    if (!tn->indexes) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < t->nindexes; k++) {
        if (!t->indexes[k].name) continue; /* the heap */
        char buf[300];
        fold(t->indexes[k].name, nm->opt.keep_case, buf, sizeof buf);
        if (relation_taken(nm, tn->schema, buf, ti, k)) {
            char both[600];
            snprintf(both, sizeof both, "%s_%s", tn->name, t->indexes[k].name);
            fold(both, nm->opt.keep_case, buf, sizeof buf);
            for (int n = 2; relation_taken(nm, tn->schema, buf, ti, k) && n < 1000; n++) {
                char numbered[620];
                snprintf(numbered, sizeof numbered, "%.55s_%d", both, n);
                fold(numbered, nm->opt.keep_case, buf, sizeof buf);
            }
        }
        if (!(tn->indexes[k] = strdup(buf))) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    return B2P_OK;
}

static b2p_status name_table(b2p_names *nm, size_t i, b2p_error *err) {
    const b2p_cat_table *t = &nm->cat->tables[i];
    table_names *tn = &nm->tables[i];
    tn->schema = map_schema(nm, t->schema);
    tn->name = dup_folded(nm, t->name);
    if (!tn->schema || !tn->name) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < i; k++) {
        const table_names *o = &nm->tables[k];
        if (!strcmp(o->schema, tn->schema) && !strcmp(o->name, tn->name)) {
            char a[600], b[600], pg[600];
            snprintf(a, sizeof a, "tables %s.%s", nm->cat->tables[k].schema, nm->cat->tables[k].name);
            snprintf(b, sizeof b, "%s.%s", t->schema, t->name);
            snprintf(pg, sizeof pg, "%s.%s", tn->schema, tn->name);
            return collision(err, a, b, pg);
        }
    }
    return name_columns(nm, t, tn, err);
}

b2p_status b2p_names_build(const b2p_catalog *cat, const b2p_naming_options *opt, b2p_names **out,
                           b2p_error *err) {
    *out = NULL;
    b2p_names *nm = calloc(1, sizeof *nm);
    if (!nm) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    nm->cat = cat;
    if (opt) nm->opt = *opt;
    nm->tables = calloc(cat->ntables ? cat->ntables : 1, sizeof *nm->tables);
    b2p_status st = nm->tables ? B2P_OK : b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cat->ntables && !st; i++) st = name_table(nm, i, err);
    for (size_t i = 0; i < cat->ntables && !st; i++) st = name_indexes(nm, i, err);
    if (st) {
        b2p_names_free(nm);
        return st;
    }
    *out = nm;
    return B2P_OK;
}

void b2p_names_free(b2p_names *nm) {
    if (!nm) return;
    for (size_t i = 0; nm->tables && i < nm->cat->ntables; i++) {
        table_names *tn = &nm->tables[i];
        for (size_t k = 0; tn->columns && k < nm->cat->tables[i].ncolumns; k++) free(tn->columns[k]);
        for (size_t k = 0; tn->indexes && k < nm->cat->tables[i].nindexes; k++) free(tn->indexes[k]);
        free(tn->columns);
        free(tn->indexes);
        free(tn->schema);
        free(tn->name);
    }
    free(nm->tables);
    free(nm);
}

static const table_names *names_of(const b2p_names *nm, const b2p_cat_table *t) {
    return &nm->tables[t - nm->cat->tables];
}

const char *b2p_names_schema(const b2p_names *nm, const b2p_cat_table *t) {
    return names_of(nm, t)->schema;
}

const char *b2p_names_table(const b2p_names *nm, const b2p_cat_table *t) {
    return names_of(nm, t)->name;
}

const char *b2p_names_column(const b2p_names *nm, const b2p_cat_table *t, int32_t column_id) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (t->columns[i].column_id == column_id) return names_of(nm, t)->columns[i];
    return NULL;
}

const char *b2p_names_index(const b2p_names *nm, const b2p_cat_table *t, size_t index_pos) {
    return index_pos < t->nindexes ? names_of(nm, t)->indexes[index_pos] : NULL;
}

b2p_status b2p_qualified(const b2p_names *nm, const b2p_cat_table *t, b2p_buf *out, b2p_error *err) {
    b2p_status st = b2p_quote_ident(b2p_names_schema(nm, t), out, err);
    if (!st) st = b2p_buf_append(out, ".", 1, err);
    return st ? st : b2p_quote_ident(b2p_names_table(nm, t), out, err);
}

b2p_status b2p_copy_target(const b2p_names *nm, const b2p_cat_table *t, b2p_buf *table, b2p_buf *columns,
                           b2p_error *err) {
    const b2p_cat_column **cols = malloc((t->ncolumns ? t->ncolumns : 1) * sizeof *cols);
    if (!cols) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    size_t n = b2p_export_columns(t, cols, t->ncolumns);
    b2p_status st = b2p_qualified(nm, t, table, err);
    for (size_t k = 0; k < n && !st; k++) {
        st = b2p_buf_puts(columns, k ? ", " : "", err);
        if (!st) st = b2p_quote_ident(b2p_names_column(nm, t, cols[k]->column_id), columns, err);
    }
    free(cols);
    return st;
}
