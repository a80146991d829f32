/* bak2pg schema: the tables of a backup's database, as the catalog describes them, then its
 * views, procedures, functions and triggers with their text, its user-defined types, and by
 * name everything the model does not represent yet ("unsupported"). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "json.h"

static const char USAGE[] =
    "usage: bak2pg schema [options] FILE...\n"
    "\n"
    "Reads the database catalog out of a full (or differential + full) backup and prints every\n"
    "user table the way psql's \\d would: columns with SQL Server type, nullability, identity,\n"
    "defaults and computed expressions, then indexes, primary and unique keys, check\n"
    "constraints and foreign keys, descriptions (MS_Description), the storage (heap or clustered)\n"
    "and the partitions with their row counts, compression and allocation units. Then the views,\n"
    "procedures, functions and triggers with their source text, the user-defined types, and,\n"
    "under \"Unsupported\", every object the catalog holds that bak2pg does not model yet\n"
    "(sequences, synonyms, table types, partition schemes, full-text indexes, columnstore,\n"
    "memory-optimized tables, FILESTREAM columns, ...). Nothing is restored and no SQL Server\n"
    "is needed.\n"
    "\n"
    "options:\n"
    "  -t, --table PATTERN      only tables (and modules, types) whose schema.name or name\n"
    "                           matches PATTERN (shell wildcards, ignoring case, the backup's names\n"
    "                           or PostgreSQL's: 'dbo.Order*', 'public.orders', '*customer*');\n"
    "                           repeatable; one that matches nothing is an error\n"
    "  -T, --exclude-table PATTERN  not these\n"
    "  -n, --schema PATTERN     only what is in these schemas\n"
    "  -N, --exclude-schema PATTERN  not what is in these schemas\n"
    "  --strict-names           a -T or -N pattern that matches nothing is an error too\n"
    "  --backup-set N           the backup set at position N (FILE = N); default: the last full\n"
    "  --allow-missing-stripes  read what is there when stripe files are missing (salvage)\n"
    "  --json                   one JSON document on stdout instead of text\n"
    "  -h, --help               this help\n"
    "\n"
    "examples:\n"
    "  bak2pg schema Northwind.bak\n"
    "  bak2pg schema -t 'dbo.Orders' Northwind.bak\n"
    "  bak2pg schema -n Sales -T '*History' TSQL2012.bak\n"
    "  bak2pg schema --json stripe1.bak stripe2.bak\n";
const char *const cli_schema_usage = USAGE;

typedef struct schema_opts {
    bool json, allow_missing;
    int backup_set;
    cli_tables tables;           /* -t -T -n -N */
} schema_opts;

static int parse_args(int argc, char **argv, schema_opts *o) {
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        CLI_SELECT_LONGOPTS,
        {"backup-set", required_argument, NULL, 'b'},
        {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0; /* an unknown option is reported once, by cli_bad_option */
    while ((c = getopt_long(argc, argv, ":h" CLI_TABLES_SHORTOPTS, longopts, NULL)) != -1) {
        int rc = cli_tables_option("schema", &o->tables, c, optarg);
        if (rc > 0) return rc;
        if (rc == 0) continue;
        switch (c) {
        case 'j': o->json = true; break;
        case 'm': o->allow_missing = true; break;
        case 'b':
            if (cli_parse_backup_set("schema", optarg, &o->backup_set)) return B2P_ERR_USAGE;
            break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("schema", c, argv);
        }
    }
    if (optind >= argc) return cli_usage_error("schema", "no backup file given");
    return 0;
}

static void format_type(const b2p_cat_column *c, char *buf, size_t len) {
    const char *name = c->user_type ? c->user_type : c->type_name;
    if (!c->user_type && b2p_type_has_length(c->xtype)) {
        if (c->max_length < 0) snprintf(buf, len, "%s(max)", name);
        else snprintf(buf, len, "%s(%d)", name,
                      b2p_type_is_unicode(c->xtype) ? c->max_length / 2 : c->max_length);
    } else if (!c->user_type && b2p_type_has_precision(c->xtype))
        snprintf(buf, len, "%s(%u,%u)", name, c->precision, c->scale);
    else if (!c->user_type && b2p_type_has_scale_only(c->xtype))
        snprintf(buf, len, "%s(%u)", name, c->scale);
    else snprintf(buf, len, "%s", name);
}

/* Text from the backup for one line of the listing (an expression, a description): escaped as
 * b2p_shown does, but whole, as b2p_shown cuts long text. Valid until the 4th next call. */
static const char *line_text(const char *s) {
    static b2p_buf ring[4];
    static unsigned next;
    b2p_buf *b = &ring[next++ % 4];
    b2p_buf_clear(b);
    if (!s) s = "";
    if (b2p_escape_text(b, s, strlen(s), 0, NULL)) return "(text that could not be shown)";
    return b->data ? b->data : "";
}

static const char *column_name(const b2p_cat_table *t, int32_t id) {
    const b2p_cat_column *c = b2p_table_column(t, id);
    return c && c->name ? c->name : "?";
}

static void print_column_list(const b2p_cat_table *t, const int32_t *ids, const bool *desc, size_t n) {
    for (size_t i = 0; i < n; i++)
        printf("%s%s%s", i ? ", " : "", b2p_shown(column_name(t, ids[i])), desc && desc[i] ? " DESC" : "");
}

static const char *action_name(b2p_fk_action a) {
    switch (a) {
    case B2P_FK_CASCADE: return "CASCADE";
    case B2P_FK_SET_NULL: return "SET NULL";
    case B2P_FK_SET_DEFAULT: return "SET DEFAULT";
    default: return "NO ACTION";
    }
}

static const char *au_type_name(uint8_t t) {
    return t == B2P_AU_IN_ROW ? "IN_ROW_DATA" : t == B2P_AU_LOB ? "LOB_DATA"
         : t == B2P_AU_ROW_OVERFLOW ? "ROW_OVERFLOW_DATA" : "?";
}

static void print_columns_text(const b2p_cat_table *t) {
    printf("  %-30s %-20s %-9s %s\n", "Column", "Type", "Nullable", "Default / identity / computed");
    for (size_t i = 0; i < t->ncolumns; i++) {
        const b2p_cat_column *c = &t->columns[i];
        char type[80];
        format_type(c, type, sizeof type);
        printf("  %-30s %-20s %-9s", b2p_shown(c->name ? c->name : "?"), b2p_shown(type), c->nullable ? "" : "not null");
        if (c->is_identity) {
            if (c->identity_known)
                printf(" identity(%lld,%lld)", (long long)c->identity_seed, (long long)c->identity_increment);
            else printf(" identity");
        }
        if (c->default_text) printf(" default %s", line_text(c->default_text));
        if (c->is_computed) printf(" as %s", c->computed ? line_text(c->computed) : "(text not readable)");
        printf("\n");
    }
}

static void print_table_text(const b2p_catalog *cat, const b2p_cat_table *t) {
    printf("Table \"%s.%s\"  (%llu rows; %s%s%s%s%s)\n", b2p_shown(t->schema), b2p_shown(t->name),
           (unsigned long long)b2p_table_rows(t),
           t->is_heap ? "heap" : "clustered", t->ms_shipped ? "; created by SQL Server" : "",
           t->tools_support ? "; SSMS tools support object" : "",
           t->is_memory_optimized ? "; memory-optimized: rows not in the data files" : "",
           t->has_filestream ? "; FILESTREAM data not in the data files" : "");
    if (t->description) printf("  Description: %s\n", line_text(t->description));
    print_columns_text(t);
    bool described = false;
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!t->columns[i].description) continue;
        if (!described) printf("Column descriptions:\n");
        described = true;
        printf("    %s: %s\n", b2p_shown(t->columns[i].name ? t->columns[i].name : "?"), line_text(t->columns[i].description));
    }
    bool heading = false;
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        if (ix->index_id == 0) continue;
        if (!heading) printf("Indexes:\n");
        heading = true;
        printf("    \"%s\"%s%s (", b2p_shown(ix->name ? ix->name : "?"),
               ix->primary_key ? " PRIMARY KEY," : ix->unique_constraint ? " UNIQUE CONSTRAINT," : ix->unique ? " UNIQUE," : "",
               ix->type == 1 ? " clustered" : ix->type == 2 ? " nonclustered" : " other");
        print_column_list(t, ix->key_columns, ix->key_descending, ix->nkeys);
        printf(")");
        if (ix->nincluded) {
            printf(" INCLUDE (");
            print_column_list(t, ix->included_columns, NULL, ix->nincluded);
            printf(")");
        }
        if (ix->filter) printf(" WHERE %s", line_text(ix->filter));
        printf("%s\n", ix->disabled ? " DISABLED" : "");
    }
    if (t->nchecks) printf("Check constraints:\n");
    for (size_t i = 0; i < t->nchecks; i++)
        printf("    \"%s\" CHECK %s%s\n", b2p_shown(t->checks[i].name),
               t->checks[i].expression ? line_text(t->checks[i].expression) : "(?)",
               t->checks[i].disabled ? " NOCHECK" : "");
    if (t->nforeign_keys) printf("Foreign-key constraints:\n");
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[i];
        const b2p_cat_table *ref = b2p_catalog_table_by_id(cat, fk->ref_object_id);
        printf("    \"%s\" FOREIGN KEY (", b2p_shown(fk->name));
        print_column_list(t, fk->columns, NULL, fk->ncolumns);
        printf(") REFERENCES %s.%s(", b2p_shown(ref ? ref->schema : "?"), b2p_shown(ref ? ref->name : "?"));
        if (ref) print_column_list(ref, fk->ref_columns, NULL, fk->ncolumns);
        printf(") ON DELETE %s ON UPDATE %s%s\n", action_name(fk->on_delete), action_name(fk->on_update),
               fk->disabled ? " NOCHECK" : "");
    }
    printf("Storage:\n");
    for (size_t i = 0; i < t->npartitions; i++) {
        const b2p_cat_partition *p = &t->partitions[i];
        printf("    partition %d of %s: %llu rows, compression %s%s%s, rowset %llu\n", p->partition_number,
               p->index_id ? "clustered index" : "heap", (unsigned long long)p->rows,
               b2p_compression_name(p->compression), p->has_lob ? ", LOB data" : "",
               p->has_row_overflow ? ", row-overflow data" : "", (unsigned long long)p->rowset_id);
        for (size_t k = 0; k < p->naus; k++)
            printf("      %-18s first %u:%u root %u:%u IAM %u:%u, %llu pages\n", au_type_name(p->aus[k].type),
                   p->aus[k].ref.first.file, p->aus[k].ref.first.page, p->aus[k].ref.root.file,
                   p->aus[k].ref.root.page, p->aus[k].ref.first_iam.file, p->aus[k].ref.first_iam.page,
                   (unsigned long long)p->aus[k].total_pages);
    }
    printf("\n");
}

static void json_kv_opt_string(json *j, const char *key, const char *s) {
    json_key(j, key);
    if (s) json_string(j, s);
    else json_null(j);
}

static void json_column_names(json *j, const char *key, const b2p_cat_table *t, const int32_t *ids, size_t n) {
    json_key(j, key);
    json_begin_array(j);
    for (size_t i = 0; i < n; i++) json_string(j, column_name(t, ids[i]));
    json_end_array(j);
}

static void print_column_json(json *j, const b2p_cat_column *c) {
    json_begin_object(j);
    json_kv_opt_string(j, "name", c->name);
    json_kv_string(j, "type", c->type_name);
    json_kv_opt_string(j, "user_type", c->user_type);
    json_key(j, "max_length");
    json_int(j, c->max_length);
    json_kv_uint(j, "precision", c->precision);
    json_kv_uint(j, "scale", c->scale);
    json_kv_uint(j, "collation_id", c->collation_id);
    json_kv_bool(j, "nullable", c->nullable);
    json_key(j, "identity");
    if (c->is_identity && c->identity_known) {
        json_begin_object(j);
        json_key(j, "seed");
        json_int(j, c->identity_seed);
        json_key(j, "increment");
        json_int(j, c->identity_increment);
        json_end_object(j);
    } else if (c->is_identity) json_bool(j, true);
    else json_null(j);
    json_kv_opt_string(j, "default_name", c->default_name);
    json_kv_opt_string(j, "default", c->default_text);
    json_kv_opt_string(j, "computed", c->computed);
    json_kv_bool(j, "filestream", c->is_filestream);
    json_kv_opt_string(j, "description", c->description);
    json_end_object(j);
}

static void print_table_json(json *j, const b2p_catalog *cat, const b2p_cat_table *t) {
    json_begin_object(j);
    json_kv_string(j, "schema", t->schema);
    json_kv_string(j, "name", t->name);
    json_kv_uint(j, "object_id", (uint32_t)t->object_id);
    json_kv_uint(j, "rows", b2p_table_rows(t));
    json_kv_bool(j, "ms_shipped", t->ms_shipped);
    json_kv_bool(j, "tools_support", t->tools_support);
    json_kv_string(j, "storage", t->is_heap ? "heap" : "clustered");
    json_kv_bool(j, "memory_optimized", t->is_memory_optimized);
    json_kv_bool(j, "filestream", t->has_filestream);
    json_kv_opt_string(j, "description", t->description);
    json_key(j, "columns");
    json_begin_array(j);
    for (size_t i = 0; i < t->ncolumns; i++) print_column_json(j, &t->columns[i]);
    json_end_array(j);
    json_key(j, "indexes");
    json_begin_array(j);
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        if (ix->index_id == 0) continue;
        json_begin_object(j);
        json_kv_opt_string(j, "name", ix->name);
        json_kv_uint(j, "type", ix->type);
        json_kv_bool(j, "unique", ix->unique);
        json_kv_bool(j, "primary_key", ix->primary_key);
        json_kv_bool(j, "unique_constraint", ix->unique_constraint);
        json_column_names(j, "columns", t, ix->key_columns, ix->nkeys);
        json_column_names(j, "included", t, ix->included_columns, ix->nincluded);
        json_kv_opt_string(j, "filter", ix->filter);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "checks");
    json_begin_array(j);
    for (size_t i = 0; i < t->nchecks; i++) {
        json_begin_object(j);
        json_kv_string(j, "name", t->checks[i].name);
        json_kv_opt_string(j, "expression", t->checks[i].expression);
        json_kv_bool(j, "enabled", !t->checks[i].disabled);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "foreign_keys");
    json_begin_array(j);
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[i];
        const b2p_cat_table *ref = b2p_catalog_table_by_id(cat, fk->ref_object_id);
        json_begin_object(j);
        json_kv_string(j, "name", fk->name);
        json_column_names(j, "columns", t, fk->columns, fk->ncolumns);
        json_kv_opt_string(j, "ref_schema", ref ? ref->schema : NULL);
        json_kv_opt_string(j, "ref_table", ref ? ref->name : NULL);
        if (ref) json_column_names(j, "ref_columns", ref, fk->ref_columns, fk->ncolumns);
        json_kv_string(j, "on_delete", action_name(fk->on_delete));
        json_kv_string(j, "on_update", action_name(fk->on_update));
        json_kv_bool(j, "enabled", !fk->disabled);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "partitions");
    json_begin_array(j);
    for (size_t i = 0; i < t->npartitions; i++) {
        const b2p_cat_partition *p = &t->partitions[i];
        json_begin_object(j);
        json_kv_uint(j, "partition_number", (uint32_t)p->partition_number);
        json_kv_uint(j, "index_id", (uint32_t)p->index_id);
        json_kv_uint(j, "rows", p->rows);
        json_kv_string(j, "compression", b2p_compression_name(p->compression));
        json_kv_bool(j, "has_lob", p->has_lob);
        json_kv_bool(j, "has_row_overflow", p->has_row_overflow);
        json_key(j, "allocation_units");
        json_begin_array(j);
        for (size_t k = 0; k < p->naus; k++) {
            json_begin_object(j);
            json_kv_string(j, "type", au_type_name(p->aus[k].type));
            json_kv_uint(j, "id", p->aus[k].ref.auid);
            json_kv_uint(j, "total_pages", p->aus[k].total_pages);
            json_end_object(j);
        }
        json_end_array(j);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

/* What -t/-n/-T/-N choose: the same rule as for every command (cli/select.c), applied to
 * modules and types as to tables; `shown` counts what was chosen. */
typedef struct choice {
    const cli_tables *o;
    const b2p_names *nm;
    size_t shown;
} choice;

static bool name_selected(const char *schema, const char *name, choice *ch) {
    bool in = cli_object_selected(ch->o, ch->nm, schema ? schema : "", name ? name : "");
    ch->shown += in;
    return in;
}

/* A -t or -n pattern must match something: a table, or a module or type (checked as for tables,
 * by cli_check_patterns, when it matches none of those). */
static b2p_status check_patterns(const b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, b2p_error *err) {
    for (size_t k = 0; k < o->ninclude + o->nschemas; k++) {
        cli_tables one = {.strict_names = o->strict_names, .include_ssms = true};
        if (k < o->ninclude) one.include[one.ninclude++] = o->include[k];
        else one.schemas[one.nschemas++] = o->schemas[k - o->ninclude];
        choice ch = {.o = &one, .nm = nm};
        for (size_t i = 0; i < cat->ntables && !ch.shown; i++) name_selected(cat->tables[i].schema, cat->tables[i].name, &ch);
        for (size_t i = 0; i < cat->nmodules && !ch.shown; i++) name_selected(cat->modules[i].schema, cat->modules[i].name, &ch);
        for (size_t i = 0; i < cat->ntypes && !ch.shown; i++) name_selected(cat->types[i].schema, cat->types[i].name, &ch);
        if (!ch.shown) return cli_check_patterns(cat, &one, nm, err);
    }
    cli_tables excl = *o;
    excl.ninclude = excl.nschemas = 0;
    return cli_check_patterns(cat, &excl, nm, err);
}

static bool any_pattern(const choice *ch) {
    return ch->o->ninclude || ch->o->nschemas || ch->o->nexclude || ch->o->nexclude_schemas;
}

static void trigger_events(const b2p_cat_module *m, char *buf, size_t len) {
    snprintf(buf, len, "%s%s%s%s%s", m->instead_of ? "INSTEAD OF " : "AFTER ",
             m->trigger_events & B2P_TRIGGER_INSERT ? "INSERT" : "",
             (m->trigger_events & B2P_TRIGGER_INSERT) && (m->trigger_events & ~B2P_TRIGGER_INSERT) ? ", " : "",
             m->trigger_events & B2P_TRIGGER_UPDATE ? "UPDATE" : "",
             m->trigger_events & B2P_TRIGGER_DELETE ? ((m->trigger_events & B2P_TRIGGER_UPDATE) ? ", DELETE" : "DELETE") : "");
}

static void format_user_type(const b2p_cat_type *t, char *buf, size_t len) {
    if (t->kind == B2P_TYPE_CLR) snprintf(buf, len, "CLR type");
    else if (t->kind == B2P_TYPE_TABLE) snprintf(buf, len, "table type");
    else if (b2p_type_has_length(t->xtype)) {
        if (t->max_length < 0) snprintf(buf, len, "%s(max)", t->base_name);
        else snprintf(buf, len, "%s(%d)", t->base_name, b2p_type_is_unicode(t->xtype) ? t->max_length / 2 : t->max_length);
    } else if (b2p_type_has_precision(t->xtype)) snprintf(buf, len, "%s(%u,%u)", t->base_name, t->precision, t->scale);
    else if (b2p_type_has_scale_only(t->xtype)) snprintf(buf, len, "%s(%u)", t->base_name, t->scale);
    else snprintf(buf, len, "%s", t->base_name);
}

/* A module's source for the terminal: its lines kept (a CRLF line end, as SSMS saves them, becomes
 * a newline), everything else that could move the cursor or reorder text escaped, a lone CR
 * included. */
static b2p_status escape_source(b2p_buf *out, const char *src) {
    b2p_status st = B2P_OK;
    for (const char *p = src; !st;) {
        const char *crlf = strstr(p, "\r\n");
        size_t len = crlf ? (size_t)(crlf - p) : strlen(p);
        st = b2p_escape_text(out, p, len, B2P_ESCAPE_KEEP_NEWLINES, NULL);
        if (!crlf) break;
        if (!st) st = b2p_buf_puts(out, "\n", NULL);
        p = crlf + 2;
    }
    return st;
}

static void print_module_text(const b2p_catalog *cat, const b2p_cat_module *m) {
    const char *kind = b2p_module_kind_name(m->kind);
    printf("%c%s \"%s.%s\"", kind[0] - 32, kind + 1, b2p_shown(m->schema), b2p_shown(m->name));
    if (m->kind == B2P_MODULE_TRIGGER) {
        const b2p_cat_table *t = b2p_catalog_table_by_id(cat, m->parent_id);
        char ev[64] = "events unknown";
        if (m->trigger_timing_known) trigger_events(m, ev, sizeof ev);
        printf(" on %s%s%s, %s%s", b2p_shown(t ? t->schema : "?"), t ? "." : "", b2p_shown(t ? t->name : ""), ev,
               m->disabled ? ", disabled" : "");
    }
    printf("%s%s\n", m->ms_shipped ? " (created by SQL Server)" : "", m->tools_support ? " (SSMS tools support object)" : "");
    if (m->description) printf("  Description: %s\n", line_text(m->description));
    if (m->definition) {
        /* the source as it was written, lines and indentation kept; a carriage return, escape
         * sequence or bidi override inside it is shown escaped, so it cannot redraw the listing */
        b2p_buf text = {0};
        if (escape_source(&text, m->definition)) fputs("  (definition that could not be shown)\n", stdout);
        else printf("%s%s\n", text.data ? text.data : "", text.len && text.data[text.len - 1] == '\n' ? "" : "\n");
        b2p_buf_free(&text);
    } else printf("  (definition not readable)\n\n");
}

static void print_objects_text(const b2p_catalog *cat, choice *ch) {
    for (size_t i = 0; i < cat->nmodules; i++)
        if (name_selected(cat->modules[i].schema, cat->modules[i].name, ch)) print_module_text(cat, &cat->modules[i]);
    bool heading = false;
    for (size_t i = 0; i < cat->ntypes; i++) {
        const b2p_cat_type *t = &cat->types[i];
        if (!name_selected(t->schema, t->name, ch)) continue;
        if (!heading) printf("User-defined types:\n");
        heading = true;
        char base[80];
        format_user_type(t, base, sizeof base);
        printf("    \"%s.%s\" %s%s\n", b2p_shown(t->schema), b2p_shown(t->name), b2p_shown(base),
               t->kind == B2P_TYPE_ALIAS && !t->nullable ? " not null" : "");
    }
    if (heading) printf("\n");
    heading = false;
    for (size_t i = 0; i < cat->nxprops && !any_pattern(ch); i++) {
        const b2p_cat_xprop *x = &cat->xprops[i];
        /* descriptions and the SSMS marker are shown with their objects */
        if (x->class_ == 1 && (!strcmp(x->name, "MS_Description") || !strcmp(x->name, "microsoft_database_tools_support")))
            continue;
        if (!heading) printf("Extended properties:\n");
        heading = true;
        if (x->class_ == 0) printf("    database: %s = %s\n", b2p_shown(x->name), x->value ? line_text(x->value) : "NULL");
        else printf("    class %u, id %d, minor id %d: %s = %s\n", x->class_, x->major_id, x->minor_id, b2p_shown(x->name),
                    x->value ? line_text(x->value) : "NULL");
    }
    if (heading) printf("\n");
    if (cat->nunsupported) printf("Unsupported (in the catalog, not represented by bak2pg yet):\n");
    for (size_t i = 0; i < cat->nunsupported; i++) {
        const b2p_cat_unsupported *u = &cat->unsupported[i];
        printf("    %s %s%s%s%s%s\n", b2p_shown(u->kind), b2p_shown(u->schema ? u->schema : ""), u->schema ? "." : "",
               b2p_shown(u->name), u->detail ? " on " : "", u->detail ? b2p_shown(u->detail) : "");
    }
}

static void print_objects_json(json *j, const b2p_catalog *cat, choice *ch) {
    json_key(j, "modules");
    json_begin_array(j);
    for (size_t i = 0; i < cat->nmodules; i++) {
        const b2p_cat_module *m = &cat->modules[i];
        if (!name_selected(m->schema, m->name, ch)) continue;
        json_begin_object(j);
        json_kv_string(j, "kind", b2p_module_kind_name(m->kind));
        json_kv_string(j, "schema", m->schema);
        json_kv_string(j, "name", m->name);
        json_kv_uint(j, "object_id", (uint32_t)m->object_id);
        json_kv_bool(j, "ms_shipped", m->ms_shipped);
        json_kv_bool(j, "tools_support", m->tools_support);
        if (m->kind == B2P_MODULE_TRIGGER) {
            const b2p_cat_table *t = b2p_catalog_table_by_id(cat, m->parent_id);
            json_kv_opt_string(j, "table_schema", t ? t->schema : NULL);
            json_kv_opt_string(j, "table", t ? t->name : NULL);
            json_kv_bool(j, "enabled", !m->disabled);
            json_key(j, "timing");
            if (m->trigger_timing_known) json_string(j, m->instead_of ? "INSTEAD OF" : "AFTER");
            else json_null(j);
            json_key(j, "events");
            json_begin_array(j);
            if (m->trigger_events & B2P_TRIGGER_INSERT) json_string(j, "INSERT");
            if (m->trigger_events & B2P_TRIGGER_UPDATE) json_string(j, "UPDATE");
            if (m->trigger_events & B2P_TRIGGER_DELETE) json_string(j, "DELETE");
            json_end_array(j);
        }
        json_kv_opt_string(j, "description", m->description);
        json_kv_opt_string(j, "definition", m->definition);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "types");
    json_begin_array(j);
    for (size_t i = 0; i < cat->ntypes; i++) {
        const b2p_cat_type *t = &cat->types[i];
        if (!name_selected(t->schema, t->name, ch)) continue;
        char base[80];
        format_user_type(t, base, sizeof base);
        json_begin_object(j);
        json_kv_string(j, "kind", b2p_type_kind_name(t->kind));
        json_kv_string(j, "schema", t->schema);
        json_kv_string(j, "name", t->name);
        json_kv_string(j, "base", base);
        json_kv_bool(j, "nullable", t->nullable);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "extended_properties");
    json_begin_array(j);
    for (size_t i = 0; i < cat->nxprops; i++) {
        const b2p_cat_xprop *x = &cat->xprops[i];
        json_begin_object(j);
        json_kv_uint(j, "class", x->class_);
        json_key(j, "major_id");
        json_int(j, x->major_id);
        json_key(j, "minor_id");
        json_int(j, x->minor_id);
        json_kv_string(j, "name", x->name);
        json_kv_opt_string(j, "value", x->value);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "unsupported");
    json_begin_array(j);
    for (size_t i = 0; i < cat->nunsupported; i++) {
        const b2p_cat_unsupported *u = &cat->unsupported[i];
        json_begin_object(j);
        json_kv_string(j, "kind", u->kind);
        json_kv_opt_string(j, "schema", u->schema);
        json_kv_string(j, "name", u->name);
        json_kv_opt_string(j, "on", u->detail);
        json_end_object(j);
    }
    json_end_array(j);
}

int cmd_schema(int argc, char **argv) {
    schema_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    b2p_error err = {0};
    cli_source in;
    if (cli_open_catalog(&in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err))
        return cli_report(&err);
    const b2p_catalog *cat = in.cat;
    b2p_pages *src = in.src;
    b2p_names *nm = NULL;
    o.tables.include_ssms = true; /* schema describes every table, SSMS's own too */
    /* the PostgreSQL names serve only to match patterns (ignoring case): kept in case, so that two
     * names that fold alike (which load would refuse) do not stop a listing */
    o.tables.naming.keep_case = true;
    if (b2p_names_build(cat, &o.tables.naming, &nm, &err) || check_patterns(cat, &o.tables, nm, &err)) {
        b2p_names_free(nm);
        cli_close(&in);
        return cli_report(&err);
    }
    if (cat->foreign_keys_incomplete)
        fprintf(stderr, "bak2pg: syssingleobjrefs could not be read (a stripe missing?): foreign keys are listed without their columns\n");
    json j;
    json_init(&j, stdout);
    if (o.json) {
        json_begin_object(&j);
        json_kv_string(&j, "database", b2p_pages_set(src)->database_name);
        json_kv_uint(&j, "database_version", cat->db_version);
        json_key(&j, "tables");
        json_begin_array(&j);
    }
    choice ch = {.o = &o.tables, .nm = nm};
    for (size_t i = 0; i < cat->ntables && !ferror(stdout); i++) { /* output lost: main reports it */
        if (!name_selected(cat->tables[i].schema, cat->tables[i].name, &ch)) continue;
        if (o.json) print_table_json(&j, cat, &cat->tables[i]);
        else print_table_text(cat, &cat->tables[i]);
    }
    if (o.json) {
        json_end_array(&j);
        print_objects_json(&j, cat, &ch);
        json_end_object(&j);
        json_finish(&j);
    } else print_objects_text(cat, &ch);
    if (cat->texts_unreadable)
        fprintf(stderr, "bak2pg: %zu definitions are stored in LOB pages the backup does not hold: shown as not readable\n",
                cat->texts_unreadable);
    if (cat->xprops_unreadable)
        fprintf(stderr, "bak2pg: sysxprops could not be read (a stripe missing?): no descriptions\n");
    b2p_names_free(nm);
    cli_close(&in);
    return 0;
}
