/* What several commands share: opening a backup down to its catalog, choosing tables. */
#include <stdlib.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

b2p_status cli_open_catalog(cli_source *s, char **files, size_t nfiles, int backup_set,
                            bool allow_missing, b2p_error *err) {
    *s = (cli_source){0};
    b2p_open_options oo = {.allow_missing_stripes = allow_missing};
    b2p_status st = b2p_backup_open(&s->bk, (const char *const *)files, nfiles, &oo, err);
    b2p_pages_options po = {.backup_set = backup_set, .allow_missing_stripes = allow_missing};
    if (!st) st = b2p_pages_open(&s->src, s->bk, &po, err);
    if (!st) st = b2p_catalog_load(s->src, &s->cat, err);
    if (st) cli_close(s);
    return st;
}

void cli_close(cli_source *s) {
    b2p_catalog_free(s->cat);
    b2p_pages_free(s->src);
    b2p_backup_free(s->bk);
    *s = (cli_source){0};
}

bool cli_table_selected(const b2p_cat_table *t, const char *pattern) {
    if (!pattern) return true;
    char full[1024];
    snprintf(full, sizeof full, "%s.%s", t->schema, t->name);
    return fnmatch(pattern, full, 0) == 0 || fnmatch(pattern, t->name, 0) == 0;
}

b2p_status cli_open_output_dir(const char *path, bool clean, b2p_outdir **dir, b2p_error *err) {
    b2p_status st = b2p_outdir_open(path, dir, err);
    if (!st && clean) st = b2p_outdir_clean(*dir, err);
    char first[256];
    if (!st) st = b2p_outdir_first_entry(*dir, first, sizeof first, err);
    if (!st && first[0] && !clean)
        st = b2p_fail(err, B2P_ERR_USAGE,
                      "'%s' is not empty (it holds '%s'): give an empty or new directory, or --clean to remove what an "
                      "earlier bak2pg run wrote there",
                      path, first);
    if (st) {
        b2p_outdir_close(*dir);
        *dir = NULL;
    }
    return st;
}

int cli_parse_count(const char *cmd, const char *option, const char *arg, unsigned min, unsigned max, unsigned *out) {
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    if (*end || end == arg || arg[0] == '-' || n < min || n > max)
        return cli_usage_error(cmd, "%s takes a number from %u to %u, not '%s'", option, min, max, arg);
    *out = (unsigned)n;
    return 0;
}

int cli_parse_backup_set(const char *cmd, const char *arg, int *out) {
    char *end;
    long n = strtol(arg, &end, 10);
    if (*end || end == arg || n < 1 || n > 65535)
        return cli_usage_error(cmd, "--backup-set takes a position from 1 to 65535, not '%s'", arg);
    *out = (int)n;
    return 0;
}

int cli_tables_option(const char *cmd, cli_tables *o, int c, char *arg) {
    switch (c) {
    case CLI_OPT_TABLE:
    case CLI_OPT_EXCLUDE_TABLE: {
        size_t *n = c == CLI_OPT_TABLE ? &o->ninclude : &o->nexclude;
        if (*n >= CLI_MAX_PATTERNS) return cli_usage_error(cmd, "at most %d patterns of one kind", CLI_MAX_PATTERNS);
        (c == CLI_OPT_TABLE ? o->include : o->exclude)[(*n)++] = arg;
        return 0;
    }
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
}

bool *cli_select_tables(const b2p_catalog *cat, const cli_tables *o) {
    bool *sel = calloc(cat->ntables ? cat->ntables : 1, sizeof *sel);
    for (size_t i = 0; sel && i < cat->ntables; i++) {
        bool in = !o->ninclude, out = false;
        for (size_t k = 0; k < o->ninclude; k++) in |= cli_table_selected(&cat->tables[i], o->include[k]);
        for (size_t k = 0; k < o->nexclude; k++) out |= cli_table_selected(&cat->tables[i], o->exclude[k]);
        sel[i] = in && !out && (o->include_ssms || !cat->tables[i].tools_support);
    }
    return sel;
}

int cli_parse_nul(const char *cmd, const char *arg, b2p_nul_policy *out) {
    if (!strcmp(arg, "error")) *out = B2P_NUL_ERROR;
    else if (!strcmp(arg, "strip")) *out = B2P_NUL_STRIP;
    else if (!strcmp(arg, "replace")) *out = B2P_NUL_REPLACE;
    else return cli_usage_error(cmd, "--nul takes error, strip or replace, not '%s'", arg);
    return 0;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

char *cli_take_secret(char *const *args, size_t nargs, const char *value) {
    char *copy = strdup(value);
    for (size_t k = 0; copy && k < nargs; k++) memset(args[k], 0, strlen(args[k]));
    return copy;
}
