/* bak2pg schema: the tables of a backup's database, as the catalog describes them. */
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
    "constraints and foreign keys, and the partitions with their row counts and allocation\n"
    "units. Nothing is restored and no SQL Server is needed.\n"
    "\n"
    "options:\n"
    "  --table PATTERN          only tables whose schema.name or name matches PATTERN\n"
    "                           (shell wildcards: 'dbo.Order*', '*Customer*')\n"
    "  --backup-set N           the backup set at position N (FILE = N); default: the last full\n"
    "  --allow-missing-stripes  read what is there when stripe files are missing (salvage)\n"
    "  --json                   one JSON document on stdout instead of text\n"
    "  -h, --help               this help\n"
    "\n"
    "examples:\n"
    "  bak2pg schema Northwind.bak\n"
    "  bak2pg schema --table 'dbo.Orders' Northwind.bak\n"
    "  bak2pg schema --json stripe1.bak stripe2.bak\n";

typedef struct schema_opts {
    bool json, allow_missing;
    int backup_set;
    const char *pattern;
} schema_opts;

static int parse_args(int argc, char **argv, schema_opts *o) {
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"table", required_argument, NULL, 't'},
        {"backup-set", required_argument, NULL, 'b'},
        {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o->json = true; break;
        case 't': o->pattern = optarg; break;
        case 'm': o->allow_missing = true; break;
        case 'b': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 65535)
                return cli_usage_error("schema", "--backup-set takes a position from 1 to 65535, not '%s'", optarg);
            o->backup_set = (int)n;
            break;
        }
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_usage_error("schema", "unknown option");
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

static const char *column_name(const b2p_cat_table *t, int32_t id) {
    const b2p_cat_column *c = b2p_table_column(t, id);
    return c && c->name ? c->name : "?";
}

static void print_column_list(const b2p_cat_table *t, const int32_t *ids, const bool *desc, size_t n) {
    for (size_t i = 0; i < n; i++)
        printf("%s%s%s", i ? ", " : "", column_name(t, ids[i]), desc && desc[i] ? " DESC" : "");
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
        printf("  %-30s %-20s %-9s", c->name ? c->name : "?", type, c->nullable ? "" : "not null");
        if (c->is_identity) {
            if (c->identity_known)
                printf(" identity(%lld,%lld)", (long long)c->identity_seed, (long long)c->identity_increment);
            else printf(" identity");
        }
        if (c->default_text) printf(" default %s", c->default_text);
        if (c->is_computed) printf(" as %s", c->computed ? c->computed : "(text not readable)");
        printf("\n");
    }
}

static void print_table_text(const b2p_catalog *cat, const b2p_cat_table *t) {
    printf("Table \"%s.%s\"  (%llu rows%s)\n", t->schema, t->name, (unsigned long long)b2p_table_rows(t),
           t->ms_shipped ? "; created by SQL Server" : "");
    print_columns_text(t);
    bool heading = false;
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        if (ix->index_id == 0) continue;
        if (!heading) printf("Indexes:\n");
        heading = true;
        printf("    \"%s\"%s%s (", ix->name ? ix->name : "?",
               ix->primary_key ? " PRIMARY KEY," : ix->unique_constraint ? " UNIQUE CONSTRAINT," : ix->unique ? " UNIQUE," : "",
               ix->type == 1 ? " clustered" : ix->type == 2 ? " nonclustered" : " other");
        print_column_list(t, ix->key_columns, ix->key_descending, ix->nkeys);
        printf(")");
        if (ix->nincluded) {
            printf(" INCLUDE (");
            print_column_list(t, ix->included_columns, NULL, ix->nincluded);
            printf(")");
        }
        if (ix->filter) printf(" WHERE %s", ix->filter);
        printf("%s\n", ix->disabled ? " DISABLED" : "");
    }
    if (t->nchecks) printf("Check constraints:\n");
    for (size_t i = 0; i < t->nchecks; i++)
        printf("    \"%s\" CHECK %s%s\n", t->checks[i].name, t->checks[i].expression ? t->checks[i].expression : "(?)",
               t->checks[i].disabled ? " NOCHECK" : "");
    if (t->nforeign_keys) printf("Foreign-key constraints:\n");
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[i];
        const b2p_cat_table *ref = b2p_catalog_table_by_id(cat, fk->ref_object_id);
        printf("    \"%s\" FOREIGN KEY (", fk->name);
        print_column_list(t, fk->columns, NULL, fk->ncolumns);
        printf(") REFERENCES %s.%s(", ref ? ref->schema : "?", ref ? ref->name : "?");
        if (ref) print_column_list(ref, fk->ref_columns, NULL, fk->ncolumns);
        printf(") ON DELETE %s ON UPDATE %s%s\n", action_name(fk->on_delete), action_name(fk->on_update),
               fk->disabled ? " NOCHECK" : "");
    }
    printf("Storage:\n");
    for (size_t i = 0; i < t->npartitions; i++) {
        const b2p_cat_partition *p = &t->partitions[i];
        printf("    partition %d of %s: %llu rows, compression %u, rowset %llu\n", p->partition_number,
               p->index_id ? "clustered index" : "heap", (unsigned long long)p->rows, p->compression,
               (unsigned long long)p->rowset_id);
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
    json_end_object(j);
}

static void print_table_json(json *j, const b2p_catalog *cat, const b2p_cat_table *t) {
    json_begin_object(j);
    json_kv_string(j, "schema", t->schema);
    json_kv_string(j, "name", t->name);
    json_kv_uint(j, "object_id", (uint32_t)t->object_id);
    json_kv_uint(j, "rows", b2p_table_rows(t));
    json_kv_bool(j, "ms_shipped", t->ms_shipped);
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
        json_kv_uint(j, "compression", p->compression);
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
    size_t shown = 0;
    for (size_t i = 0; i < cat->ntables; i++) {
        if (!cli_table_selected(&cat->tables[i], o.pattern)) continue;
        shown++;
        if (o.json) print_table_json(&j, cat, &cat->tables[i]);
        else print_table_text(cat, &cat->tables[i]);
    }
    if (o.json) {
        json_end_array(&j);
        json_end_object(&j);
        json_finish(&j);
    }
    int exit_code = 0;
    if (o.pattern && shown == 0) {
        fprintf(stderr, "bak2pg: no table matches '%s'\n", o.pattern);
        exit_code = B2P_ERR_NOT_FOUND;
    }
    cli_close(&in);
    return exit_code;
}
