/* Which tables a command works on: -t/--table, -T/--exclude-table, -n/--schema,
 * -N/--exclude-schema (spelt as pg_dump spells them), --strict-names, and SSMS's own tables.
 *
 * A pattern is a shell wildcard pattern (fnmatch: * ? [...]) matched, ignoring ASCII case,
 * against every name a table goes by: its SQL Server name and the PostgreSQL name it gets under
 * the naming options (--schema-map, --keep-case), each as schema.name and as name alone. So
 * `-t customers`, `-t public.customers`, `-t dbo.Customers` and `-t 'DBO.CUST*'` all find
 * Northwind's dbo.Customers. As in pg_dump, -t wins over -n: with a -t, -n selects nothing more
 * (-N and -T still leave tables out). */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum { NAME_MAX_BYTES = 1100 }; /* schema '.' name, each at most 512 bytes of UTF-8 */

static void lower_ascii(const char *s, char *out, size_t len) {
    size_t i = 0;
    for (; s && s[i] && i + 1 < len; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = 0;
}

/* fnmatch, ignoring ASCII case (FNM_CASEFOLD is a GNU extension outside POSIX). */
static bool match_caseless(const char *pattern, const char *name) {
    char p[NAME_MAX_BYTES], n[NAME_MAX_BYTES];
    lower_ascii(pattern, p, sizeof p);
    lower_ascii(name, n, sizeof n);
    return fnmatch(p, n, 0) == 0;
}

static bool match_qualified(const char *pattern, const char *schema, const char *name) {
    char full[NAME_MAX_BYTES];
    snprintf(full, sizeof full, "%s.%s", schema, name);
    return match_caseless(pattern, full) || match_caseless(pattern, name);
}

/* The PostgreSQL schema of an object in SQL Server schema `schema`, as load creates it. */
static const char *pg_schema_of(const b2p_names *nm, const char *schema, char *out, size_t len) {
    char mapped[NAME_MAX_BYTES];
    b2p_names_map_schema(nm, schema, mapped, sizeof mapped);
    b2p_names_fold(nm, mapped, out, len);
    return out;
}

bool cli_name_matches(const b2p_names *nm, const char *pattern, const char *schema, const char *name) {
    if (match_qualified(pattern, schema, name)) return true;
    if (!nm) return false;
    char pgs[NAME_MAX_BYTES], pgn[NAME_MAX_BYTES];
    b2p_names_fold(nm, name, pgn, sizeof pgn);
    return match_qualified(pattern, pg_schema_of(nm, schema, pgs, sizeof pgs), pgn);
}

static bool table_matches(const b2p_names *nm, const char *pattern, const b2p_cat_table *t) {
    if (match_qualified(pattern, t->schema, t->name)) return true;
    return nm && match_qualified(pattern, b2p_names_schema(nm, t), b2p_names_table(nm, t));
}

static bool schema_matches(const b2p_names *nm, const char *pattern, const char *schema) {
    if (match_caseless(pattern, schema)) return true;
    char pgs[NAME_MAX_BYTES];
    return nm && match_caseless(pattern, pg_schema_of(nm, schema, pgs, sizeof pgs));
}

static bool any_table_pattern(const b2p_names *nm, const char *const *patterns, size_t n, const b2p_cat_table *t) {
    for (size_t k = 0; k < n; k++)
        if (table_matches(nm, patterns[k], t)) return true;
    return false;
}

static bool any_schema_pattern(const b2p_names *nm, const char *const *patterns, size_t n, const char *schema) {
    for (size_t k = 0; k < n; k++)
        if (schema_matches(nm, patterns[k], schema)) return true;
    return false;
}

bool cli_is_ssms_table(const b2p_cat_table *t) {
    if (t->tools_support) return true;
    /* SSMS marks dbo.sysdiagrams with an extended property, but a database whose diagrams were
     * copied by a script, or whose property was dropped, has the table without it: known by its
     * name and its columns (SSMS's own shape) */
    if (strcasecmp(t->schema, "dbo") || strcasecmp(t->name, "sysdiagrams")) return false;
    static const char *const shape[] = {"name", "principal_id", "diagram_id", "version", "definition"};
    size_t found = 0;
    for (size_t k = 0; k < sizeof shape / sizeof shape[0]; k++)
        for (size_t i = 0; i < t->ncolumns; i++)
            if (t->columns[i].name && !strcasecmp(t->columns[i].name, shape[k])) {
                found++;
                break;
            }
    return found == sizeof shape / sizeof shape[0];
}

bool cli_object_selected(const cli_tables *o, const b2p_names *nm, const char *schema, const char *name) {
    bool in;
    if (o->ninclude) {
        in = false;
        for (size_t k = 0; k < o->ninclude && !in; k++) in = cli_name_matches(nm, o->include[k], schema, name);
    } else {
        in = !o->nschemas || any_schema_pattern(nm, o->schemas, o->nschemas, schema);
    }
    for (size_t k = 0; k < o->nexclude && in; k++) in = !cli_name_matches(nm, o->exclude[k], schema, name);
    return in && !any_schema_pattern(nm, o->exclude_schemas, o->nexclude_schemas, schema);
}

/* ---- a pattern that matches nothing: the closest names -------------------------------------- */

/* Edit distance (insertions, deletions, substitutions), ignoring ASCII case; capped at limit+1
 * (nothing further away is suggested). */
static size_t distance(const char *a, const char *b, size_t limit) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 200 || lb > 200) return limit + 1;
    if ((la > lb ? la - lb : lb - la) > limit) return limit + 1;
    size_t row[201];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            bool same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + !same;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

enum { MAX_SUGGESTIONS = 3 };

typedef struct suggestions {
    char name[MAX_SUGGESTIONS][NAME_MAX_BYTES];
    size_t dist[MAX_SUGGESTIONS], n, limit;
} suggestions;

static void consider(suggestions *s, const char *pattern, const char *candidate) {
    size_t d = distance(pattern, candidate, s->limit);
    if (d > s->limit) return;
    for (size_t k = 0; k < s->n; k++)
        if (!strcasecmp(s->name[k], candidate)) return; /* dbo.Customers and public.customers: once */
    size_t at = s->n;
    while (at > 0 && s->dist[at - 1] > d) at--;
    if (at >= MAX_SUGGESTIONS) return;
    size_t last = s->n < MAX_SUGGESTIONS ? s->n : MAX_SUGGESTIONS - 1;
    for (size_t k = last; k > at; k--) {
        memcpy(s->name[k], s->name[k - 1], sizeof s->name[k]);
        s->dist[k] = s->dist[k - 1];
    }
    snprintf(s->name[at], sizeof s->name[at], "%s", candidate);
    s->dist[at] = d;
    if (s->n < MAX_SUGGESTIONS) s->n++;
}

static void consider_table(suggestions *s, const char *pattern, const char *schema, const char *name) {
    char full[NAME_MAX_BYTES];
    snprintf(full, sizeof full, "%s.%s", schema, name);
    consider(s, pattern, strchr(pattern, '.') ? full : name);
    if (!strchr(pattern, '.')) consider(s, pattern, full);
}

/* ", did you mean dbo.Customers, dbo.CustomerDemographics?" or "", into out. */
static void format_suggestions(const suggestions *s, char *out, size_t len) {
    out[0] = 0;
    size_t used = 0;
    for (size_t k = 0; k < s->n && used < len; k++) {
        int w = snprintf(out + used, len - used, "%s%s", k ? ", " : "; did you mean ", b2p_shown(s->name[k]));
        if (w < 0) break;
        used += (size_t)w;
    }
    if (s->n && used + 1 < len) snprintf(out + used, len - used, "?");
}

static void suggest_tables(const b2p_catalog *cat, const b2p_names *nm, const char *pattern, char *out, size_t len) {
    suggestions s = {.limit = strlen(pattern) / 3 > 2 ? strlen(pattern) / 3 : 2};
    for (size_t i = 0; i < cat->ntables; i++) {
        const b2p_cat_table *t = &cat->tables[i];
        consider_table(&s, pattern, t->schema, t->name);
        if (nm) consider_table(&s, pattern, b2p_names_schema(nm, t), b2p_names_table(nm, t));
    }
    format_suggestions(&s, out, len);
}

static void suggest_schemas(const b2p_catalog *cat, const b2p_names *nm, const char *pattern, char *out, size_t len) {
    suggestions s = {.limit = strlen(pattern) / 3 > 2 ? strlen(pattern) / 3 : 2};
    for (size_t i = 0; i < cat->ntables; i++) {
        consider(&s, pattern, cat->tables[i].schema);
        if (nm) consider(&s, pattern, b2p_names_schema(nm, &cat->tables[i]));
    }
    format_suggestions(&s, out, len);
}

/* ---- the one rule for every command ------------------------------------------------------- */

typedef enum pattern_kind { PATTERN_TABLE, PATTERN_EXCLUDE_TABLE, PATTERN_SCHEMA, PATTERN_EXCLUDE_SCHEMA } pattern_kind;

static const char *pattern_option(pattern_kind k) {
    static const char *const names[] = {"-t/--table", "-T/--exclude-table", "-n/--schema", "-N/--exclude-schema"};
    return names[k];
}

/* How many tables pattern p of kind k matches; *ssms counts those that are SSMS's own and left
 * out (without --include-ssms-tables). */
static size_t count_matches(const b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, pattern_kind k,
                            const char *p, size_t *ssms) {
    size_t hits = 0;
    *ssms = 0;
    for (size_t i = 0; i < cat->ntables; i++) {
        const b2p_cat_table *t = &cat->tables[i];
        bool m = k == PATTERN_TABLE || k == PATTERN_EXCLUDE_TABLE ? table_matches(nm, p, t) : schema_matches(nm, p, t->schema);
        if (!m) continue;
        if (cli_is_ssms_table(t) && !o->include_ssms) (*ssms)++;
        else hits++;
    }
    return hits;
}

/* A -t or -n pattern that matches nothing is a mistake (a misspelt name), not a request for no
 * tables: refused, always, as pg_dump --strict-names refuses it, with the closest names. An
 * exclusion that matches nothing may be a misspelling that lets through a table one meant to
 * keep out: said on stderr, and refused with --strict-names. Counted before exclusions
 * (excluding what one included is a choice). */
static b2p_status check_pattern(const b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, pattern_kind k,
                                const char *p, b2p_error *err) {
    size_t ssms, hits = count_matches(cat, o, nm, k, p, &ssms);
    if (hits) return B2P_OK;
    bool include = k == PATTERN_TABLE || k == PATTERN_SCHEMA;
    if (include && ssms)
        return b2p_fail(err, B2P_ERR_NOT_FOUND,
                        "%s '%s' matches only SSMS's own tables (e.g. dbo.sysdiagrams): add --include-ssms-tables to "
                        "take them",
                        pattern_option(k), p);
    char hint[3 * NAME_MAX_BYTES + 64];
    if (k == PATTERN_TABLE || k == PATTERN_EXCLUDE_TABLE) suggest_tables(cat, nm, p, hint, sizeof hint);
    else suggest_schemas(cat, nm, p, hint, sizeof hint);
    const char *what = k == PATTERN_TABLE || k == PATTERN_EXCLUDE_TABLE ? "table" : "schema";
    if (include || o->strict_names)
        return b2p_fail(err, B2P_ERR_NOT_FOUND,
                        "no %s matches %s '%s' (patterns match the backup's names and the PostgreSQL names, "
                        "ignoring case)%s",
                        what, pattern_option(k), p, hint);
    fprintf(stderr, "bak2pg: warning: no %s matches %s '%s', so it leaves nothing out%s\n", what, pattern_option(k),
            b2p_shown(p), hint);
    return B2P_OK;
}

b2p_status cli_check_patterns(const b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, b2p_error *err) {
    struct {
        pattern_kind kind;
        const char *const *patterns;
        size_t n;
    } lists[] = {
        {PATTERN_TABLE, o->include, o->ninclude},
        {PATTERN_SCHEMA, o->schemas, o->nschemas},
        {PATTERN_EXCLUDE_TABLE, o->exclude, o->nexclude},
        {PATTERN_EXCLUDE_SCHEMA, o->exclude_schemas, o->nexclude_schemas},
    };
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (size_t k = 0; k < lists[l].n; k++) {
            b2p_status st = check_pattern(cat, o, nm, lists[l].kind, lists[l].patterns[k], err);
            if (st) return st;
        }
    return B2P_OK;
}

static bool table_chosen(const cli_tables *o, const b2p_names *nm, const b2p_cat_table *t) {
    bool in = o->ninclude ? any_table_pattern(nm, o->include, o->ninclude, t)
                          : !o->nschemas || any_schema_pattern(nm, o->schemas, o->nschemas, t->schema);
    if (!in || any_table_pattern(nm, o->exclude, o->nexclude, t)) return false;
    if (any_schema_pattern(nm, o->exclude_schemas, o->nexclude_schemas, t->schema)) return false;
    return o->include_ssms || !cli_is_ssms_table(t);
}

b2p_status cli_select_tables(b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, bool **selected,
                             b2p_error *err) {
    *selected = NULL;
    /* a malformed --cast is a usage error whatever the patterns say: checked first */
    b2p_status st = cli_apply_casts(cat, o->casts, o->ncasts, err);
    if (!st) st = cli_check_patterns(cat, o, nm, err);
    if (st) return st;
    bool *sel = calloc(cat->ntables ? cat->ntables : 1, sizeof *sel);
    if (!sel) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cat->ntables; i++) sel[i] = table_chosen(o, nm, &cat->tables[i]);
    *selected = sel;
    return B2P_OK;
}

int cli_tables_option(const char *cmd, cli_tables *o, int c, char *arg) {
    const char **list = NULL;
    size_t *n = NULL;
    switch (c) {
    case 't': case CLI_OPT_TABLE: list = o->include, n = &o->ninclude; break;
    case 'T': case CLI_OPT_EXCLUDE_TABLE: list = o->exclude, n = &o->nexclude; break;
    case 'n': case CLI_OPT_SCHEMA: list = o->schemas, n = &o->nschemas; break;
    case 'N': case CLI_OPT_EXCLUDE_SCHEMA: list = o->exclude_schemas, n = &o->nexclude_schemas; break;
    case CLI_OPT_STRICT_NAMES: o->strict_names = true; return 0;
    case CLI_OPT_CAST:
        if (o->ncasts >= CLI_MAX_PATTERNS) return cli_usage_error(cmd, "at most %d --cast", CLI_MAX_PATTERNS);
        if (cli_check_cast(cmd, arg)) return B2P_ERR_USAGE;
        o->casts[o->ncasts++] = arg;
        return 0;
    case CLI_OPT_KEEP_CASE: o->naming.keep_case = true; return 0;
    case CLI_OPT_INCLUDE_SSMS: o->include_ssms = true; return 0;
    case CLI_OPT_SCHEMA_MAP: {
        char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1]) return cli_usage_error(cmd, "--schema-map takes FROM=TO, not '%s'", arg);
        if (o->naming.nschema_maps >= CLI_MAX_PATTERNS) return cli_usage_error(cmd, "at most %d --schema-map", CLI_MAX_PATTERNS);
        *eq = 0;
        o->map_from[o->naming.nschema_maps] = arg;
        o->map_to[o->naming.nschema_maps++] = eq + 1;
        o->naming.schema_map_from = o->map_from;
        o->naming.schema_map_to = o->map_to;
        return 0;
    }
    default: return -1;
    }
    if (*n >= CLI_MAX_PATTERNS) return cli_usage_error(cmd, "at most %d patterns of one kind", CLI_MAX_PATTERNS);
    list[(*n)++] = arg;
    return 0;
}
