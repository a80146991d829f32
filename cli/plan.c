/* -l/--list: what a run would create and load, in order, without doing it (as pg_restore -l
 * lists an archive), and --section: which parts a run does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_parse_section(const char *cmd, const char *arg, unsigned *sections, bool *given) {
    static const struct {
        const char *name;
        unsigned bit;
    } all[] = {{"pre-data", CLI_SECTION_PRE}, {"data", CLI_SECTION_DATA}, {"post-data", CLI_SECTION_POST}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(arg, all[i].name)) {
            if (!*given) *sections = 0; /* the first --section replaces "all of them" */
            *given = true;
            *sections |= all[i].bit;
            return 0;
        }
    return cli_usage_error(cmd, "--section takes pre-data, data or post-data, not '%s'", b2p_shown(arg));
}

static size_t count_keys(const b2p_cat_table *t, size_t *indexes) {
    size_t keys = 0;
    *indexes = 0;
    for (size_t k = 0; k < t->nindexes; k++) {
        const b2p_cat_index *x = &t->indexes[k];
        if (x->type == 0) continue; /* the heap */
        if (x->primary_key || x->unique_constraint) keys++;
        else (*indexes)++;
    }
    return keys;
}

/* One table's lines: its CREATE (pre-data), its rows (data), its keys and the rest (post-data). */
static void plan_table(FILE *out, const b2p_names *nm, const b2p_cat_table *t, unsigned sections, size_t n) {
    b2p_buf q = {0};
    b2p_error err;
    const char *pg = b2p_qualified(nm, t, &q, &err) ? "?" : q.data;
    char name[1200], source[1200];
    snprintf(name, sizeof name, "%s", b2p_shown(pg));
    b2p_buf_free(&q);
    b2p_buf src = {0};
    bool ok = !b2p_buf_puts(&src, t->schema, NULL) && !b2p_buf_puts(&src, ".", NULL) && !b2p_buf_puts(&src, t->name, NULL);
    snprintf(source, sizeof source, "%s", ok ? b2p_shown(src.data) : "?");
    b2p_buf_free(&src);
    if (sections & CLI_SECTION_PRE)
        fprintf(out, "%zu; pre-data; TABLE %s; from %s; %zu columns\n", n, name, source, t->ncolumns);
    if (sections & CLI_SECTION_DATA) {
        const char *why = b2p_export_unsupported(t);
        if (why) fprintf(out, "%zu; data; TABLE DATA %s; SKIPPED: %s\n", n, name, why);
        else fprintf(out, "%zu; data; TABLE DATA %s; %llu rows\n", n, name, (unsigned long long)b2p_table_rows(t));
    }
    size_t indexes, keys = count_keys(t, &indexes);
    if ((sections & CLI_SECTION_POST) && (keys || indexes || t->nforeign_keys || t->nchecks))
        fprintf(out, "%zu; post-data; CONSTRAINTS %s; %zu keys, %zu indexes, %zu foreign keys, %zu checks\n", n, name, keys,
                indexes, t->nforeign_keys, t->nchecks);
}

int cli_print_plan(FILE *out, const cli_source *in, const b2p_names *nm, const bool *selected, unsigned sections) {
    size_t *order = calloc(in->cat->ntables ? in->cat->ntables : 1, sizeof *order);
    if (!order) return cli_report(&(b2p_error){.code = B2P_ERR_NOMEM, .msg = "out of memory"});
    size_t n = b2p_load_order(in->cat, selected, order);
    const b2p_set_info *s = b2p_pages_set(in->src);
    uint64_t rows = 0;
    for (size_t i = 0; i < n; i++) rows += b2p_table_rows(&in->cat->tables[order[i]]);
    char when[32];
    fprintf(out, ";\n; bak2pg: database %s, from %s\n", b2p_shown(s->database_name), b2p_shown(b2p_pages_path(in->src)));
    fprintf(out, ";   backup set %u (%s), finished %s\n", s->position, b2p_backup_type_name(s->type),
            b2p_datetime_format(s->finish_date, when, sizeof when));
    fprintf(out, "; %zu tables, %llu rows (the catalog's counts), in load order: referenced tables first\n", n,
            (unsigned long long)rows);
    fprintf(out, "; sections:%s%s%s\n;\n", sections & CLI_SECTION_PRE ? " pre-data" : "",
            sections & CLI_SECTION_DATA ? " data" : "", sections & CLI_SECTION_POST ? " post-data" : "");
    for (size_t i = 0; i < n; i++) plan_table(out, nm, &in->cat->tables[order[i]], sections, i + 1);
    free(order);
    return 0;
}
