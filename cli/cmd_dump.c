/* bak2pg dump: every row of the chosen tables, exact, as COPY text, CSV or JSON lines. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emit/emit.h"

static const char USAGE[] =
    "usage: bak2pg dump [options] (--table PATTERN | --all) FILE...\n"
    "\n"
    "Decodes the rows of tables straight from the backup's pages and writes them, value by\n"
    "value, in PostgreSQL's COPY text format (what COPY ... TO STDOUT prints under bak2pg's type\n"
    "mapping: see README.md), or as CSV or JSON lines. Nothing is restored; no server is needed.\n"
    "\n"
    "options:\n"
    "  --table PATTERN          tables whose schema.name or name matches (shell wildcards)\n"
    "  --all                    every user table\n"
    "  --format copy|csv|jsonl  output format (default copy)\n"
    "  -o, --output DIR         one file per table: DIR/<schema>.<table>.copy|csv|jsonl, the names\n"
    "                           with every byte outside [A-Za-z0-9_-] written %XX (dots too), so\n"
    "                           no two tables share a file and none leaves DIR; DIR must be empty\n"
    "  --clean                  first remove the files an earlier bak2pg run wrote in DIR\n"
    "                           (without it, one table goes to stdout as plain rows, several\n"
    "                           as COPY blocks that psql can load: COPY t FROM stdin; ... \\.)\n"
    "  --nul error|strip|replace  text holding NUL characters, which PostgreSQL cannot store:\n"
    "                           stop (default), drop them, or replace them by U+FFFD; either\n"
    "                           way each affected table is reported\n"
    "  --spatial wkb|wkt        geometry and geography as WKB bytes (default) or WKT text\n"
    "  --backup-set N           the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes  salvage: read what is there when stripe files are missing\n"
    CLI_CAST_HELP
    "  -h, --help               this help\n"
    "\n"
    "Tables bak2pg cannot decode yet (row/page compression, columnstore) are named on stderr and\n"
    "skipped; the others still come out, and the exit status is then 14.\n"
    "\n"
    "examples:\n"
    "  bak2pg dump --table dbo.Customers Northwind.bak\n"
    "  bak2pg dump --all -o out/ Northwind.bak\n"
    "  bak2pg dump --all Northwind.bak | psql -d target     (the tables must exist there)\n"
    "  bak2pg dump --table 'Sales.*' --format jsonl -o out/ TSQL2012.bak\n";

typedef struct dump_opts {
    const char *pattern, *outdir;
    bool all, allow_missing, clean;
    b2p_outdir *dir;             /* -o DIR, opened */
    int backup_set;
    b2p_export_options ex;
    cli_tables casts;            /* only its --cast options */
} dump_opts;

static int parse_choice(const char *opt, const char *v, const char *const *names, int n, int *out) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return 0;
        }
    return cli_usage_error("dump", "%s does not take '%s'", opt, v);
}

static int parse_args(int argc, char **argv, dump_opts *o) {
    static const struct option longopts[] = {
        {"table", required_argument, NULL, 't'},   {"all", no_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},  {"output", required_argument, NULL, 'o'},
        {"nul", required_argument, NULL, 'n'},     {"spatial", required_argument, NULL, 's'},
        {"backup-set", required_argument, NULL, 'b'},
        {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"clean", no_argument, NULL, 'c'},         {"cast", required_argument, NULL, CLI_OPT_CAST},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    static const char *const formats[] = {"copy", "csv", "jsonl"};
    static const char *const nuls[] = {"error", "strip", "replace"};
    static const char *const spatial[] = {"wkb", "wkt"};
    int c, v = 0, rc = 0;
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': o->pattern = optarg; break;
        case 'a': o->all = true; break;
        case 'o': o->outdir = optarg; break;
        case 'm': o->allow_missing = true; break;
        case 'c': o->clean = true; break;
        case 'f': if (!(rc = parse_choice("--format", optarg, formats, 3, &v))) o->ex.format = (b2p_format)v; break;
        case 'n': if (!(rc = parse_choice("--nul", optarg, nuls, 3, &v))) o->ex.nul_policy = (b2p_nul_policy)v; break;
        case 's': if (!(rc = parse_choice("--spatial", optarg, spatial, 2, &v))) o->ex.spatial_wkt = v == 1; break;
        case 'b':
            if (cli_parse_backup_set("dump", optarg, &o->backup_set)) return B2P_ERR_USAGE;
            break;
        case CLI_OPT_CAST: rc = cli_tables_option("dump", &o->casts, c, optarg); break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_usage_error("dump", "unknown option");
        }
    }
    if (rc) return rc;
    if (!o->pattern && !o->all) return cli_usage_error("dump", "say which tables: --table PATTERN or --all");
    if (o->pattern && o->all) return cli_usage_error("dump", "--table and --all exclude each other");
    if (optind >= argc) return cli_usage_error("dump", "no backup file given");
    return 0;
}

static bool file_sink(void *ctx, const char *data, size_t len) {
    return fwrite(data, 1, len, (FILE *)ctx) == len;
}

static const char *format_ext(b2p_format f) {
    return f == B2P_FORMAT_CSV ? "csv" : f == B2P_FORMAT_JSONL ? "jsonl" : "copy";
}

/* "COPY schema.table (a, b) FROM stdin;": a block psql loads as it reads it (names quoted by
 * base/quote.c: they are the backup's, and may hold anything). */
static b2p_status write_copy_header(FILE *out, const b2p_cat_table *t, b2p_error *err) {
    const b2p_cat_column *cols[4096];
    size_t n = b2p_export_columns(t, cols, sizeof cols / sizeof cols[0]);
    b2p_buf sql = {0};
    b2p_status st = b2p_buf_puts(&sql, "COPY ", err);
    if (!st) st = b2p_quote_ident(t->schema, &sql, err);
    if (!st) st = b2p_buf_puts(&sql, ".", err);
    if (!st) st = b2p_quote_ident(t->name, &sql, err);
    for (size_t i = 0; i < n && !st; i++) {
        st = b2p_buf_puts(&sql, i ? ", " : " (", err);
        if (!st) st = b2p_quote_ident(cols[i]->name, &sql, err);
    }
    if (!st) st = b2p_buf_puts(&sql, n ? ") FROM stdin;\n" : " FROM stdin;\n", err);
    if (!st) fputs(sql.data, out);
    b2p_buf_free(&sql);
    return st;
}

/* Where one table's rows go: a new file in the output directory (named by base/filename.c; "~2"
 * where a case-insensitive file system already holds its twin), or stdout. */
static FILE *open_output(const dump_opts *o, const b2p_cat_table *t, b2p_buf *name, b2p_error *err) {
    if (!o->dir) return stdout;
    b2p_buf stem = {0};
    FILE *f = NULL;
    char ext[16];
    snprintf(ext, sizeof ext, ".%s", format_ext(o->ex.format));
    b2p_status st = b2p_file_component(&stem, t->schema, err);
    if (!st) st = b2p_buf_puts(&stem, ".", err);
    if (!st) st = b2p_file_component(&stem, t->name, err);
    if (!st) st = b2p_outdir_create_unique(o->dir, stem.data, ext, &f, name, err);
    b2p_buf_free(&stem);
    return st ? NULL : f;
}

static void report_table(const b2p_cat_table *t, const b2p_export_stats *st) {
    const char *s = b2p_shown(t->schema), *n = b2p_shown(t->name);
    if (st->rows != st->expected_rows)
        fprintf(stderr, "bak2pg: table %s.%s: %llu rows decoded, the catalog counts %llu%s\n", s, n,
                (unsigned long long)st->rows, (unsigned long long)st->expected_rows,
                st->missing_pages ? " (pages missing from the backup)" : "");
    if (st->missing_pages)
        fprintf(stderr, "bak2pg: table %s.%s: %llu pages are not in the backup: their rows are missing\n", s, n,
                (unsigned long long)st->missing_pages);
    if (st->nul_values)
        fprintf(stderr, "bak2pg: table %s.%s: %llu values held NUL characters (handled by --nul)\n", s, n,
                (unsigned long long)st->nul_values);
    if (st->replaced_values)
        fprintf(stderr, "bak2pg: table %s.%s: %llu values held bytes undefined in their code page, shown as '?'\n", s,
                n, (unsigned long long)st->replaced_values);
}

/* Dumps one table; returns its status (UNSUPPORTED tables are reported and skipped). */
static b2p_status dump_table(const dump_opts *o, cli_source *in, const b2p_cat_table *t, bool blocks) {
    b2p_error err = {0};
    const char *why = b2p_export_unsupported(t);
    if (why) {
        fprintf(stderr, "bak2pg: table %s.%s skipped: %s\n", b2p_shown(t->schema), b2p_shown(t->name), why);
        return B2P_ERR_UNSUPPORTED;
    }
    b2p_buf name = {0};
    FILE *out = open_output(o, t, &name, &err);
    if (!out) {
        b2p_buf_free(&name);
        return (b2p_status)cli_report(&err);
    }
    b2p_export_stats st;
    b2p_status s = blocks ? write_copy_header(out, t, &err) : B2P_OK;
    if (!s) s = b2p_export_table(in->src, in->cat, t, &o->ex, file_sink, out, &st, &err);
    if (blocks && !s) fputs("\\.\n", out);
    if (out != stdout) {
        b2p_error close_err = {0};
        b2p_status cs = b2p_outdir_close_file(o->dir, out, name.data, &close_err);
        if (cs && !s) {
            s = cs;
            err = close_err;
        }
    }
    b2p_buf_free(&name);
    if (s) return (b2p_status)cli_report(&err);
    report_table(t, &st);
    return B2P_OK;
}

int cmd_dump(int argc, char **argv) {
    dump_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    b2p_error err = {0};
    if (o.outdir && cli_open_output_dir(o.outdir, o.clean, &o.dir, &err)) return cli_report(&err);
    cli_source in;
    if (cli_open_catalog(&in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err) ||
        cli_apply_casts(in.cat, o.casts.casts, o.casts.ncasts, &err)) {
        cli_close(&in); /* (safe after a failed open: it left nothing open) */
        b2p_outdir_close(o.dir);
        return cli_report(&err);
    }
    size_t selected = 0;
    for (size_t i = 0; i < in.cat->ntables; i++) selected += cli_table_selected(&in.cat->tables[i], o.pattern);
    if (selected > 1 && !o.outdir && o.ex.format != B2P_FORMAT_COPY) {
        cli_close(&in);
        return cli_usage_error("dump", "%zu tables match: give -o DIR for csv or jsonl output", selected);
    }
    int exit_code = 0;
    if (!selected && o.pattern) {
        fprintf(stderr, "bak2pg: no table matches '%s'\n", b2p_shown(o.pattern));
        exit_code = B2P_ERR_NOT_FOUND;
    } else if (!selected) {
        fprintf(stderr, "bak2pg: the database holds no user table\n");
    }
    bool blocks = !o.outdir && (o.all || selected > 1);
    for (size_t i = 0; i < in.cat->ntables; i++) {
        if (!cli_table_selected(&in.cat->tables[i], o.pattern)) continue;
        b2p_status s = dump_table(&o, &in, &in.cat->tables[i], blocks);
        if (s == B2P_ERR_UNSUPPORTED) exit_code = B2P_ERR_UNSUPPORTED;
        else if (s) {
            exit_code = (int)s;
            break;
        }
    }
    if (fflush(stdout) != 0 && !exit_code) exit_code = B2P_ERR_IO;
    cli_close(&in);
    b2p_outdir_close(o.dir);
    return exit_code;
}
