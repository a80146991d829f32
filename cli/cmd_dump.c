/* bak2pg dump: every row of the chosen tables, exact, as COPY text, CSV or JSON lines. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "emit/emit.h"

static const char USAGE[] =
    "usage: bak2pg dump [options] (-t PATTERN | -n SCHEMA | --all) FILE...\n"
    "\n"
    "Decodes the rows of tables straight from the backup's pages and writes them, value by\n"
    "value, in PostgreSQL's COPY text format (what COPY ... TO STDOUT prints under bak2pg's type\n"
    "mapping: see README.md), or as CSV or JSON lines. Nothing is restored; no server is needed.\n"
    "One table goes out as plain rows; several (or --all, or -n) as COPY blocks that psql loads\n"
    "(COPY schema.table (columns) FROM stdin; ... \\.), in load order, naming each table and column\n"
    "as convert and load create them: `bak2pg dump --all X.bak | psql -d DB` fills the tables that\n"
    "`bak2pg convert` or `bak2pg load -s` created there.\n"
    "\n"
    "options:\n"
    "  --all                    every user table\n"
    CLI_TABLES_HELP
    "  -F, --format copy|csv|jsonl  output format (default copy)\n"
    "  -f, --file FILE          write to FILE (a new file: an existing one is refused) instead of\n"
    "                           standard output\n"
    "  -o, --output DIR         one file per table: DIR/<schema>.<table>.copy|csv|jsonl, named by\n"
    "                           the backup's names with every byte outside [A-Za-z0-9_-] written\n"
    "                           %XX (dots too), so no two tables share a file and none leaves DIR;\n"
    "                           DIR must be empty\n"
    "  --clean                  first remove the files an earlier bak2pg run wrote in DIR\n"
    "  -j, --jobs N             with -o DIR: write N tables' files at once (the files are the same)\n"
    "  -l, --list               list the tables that would be dumped, in order, with their row\n"
    "                           counts, and dump nothing\n"
    "  --nul error|strip|replace  text holding NUL characters, which PostgreSQL cannot store:\n"
    "                           stop (default), drop them, or replace them by U+FFFD; either\n"
    "                           way each affected table is reported\n"
    "  --spatial wkb|wkt        geometry and geography as WKB bytes (default) or WKT text\n"
    "  --backup-set N           the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes  salvage: read what is there when stripe files are missing\n"
    "  -q, --quiet              no per-table notes on stderr (errors are still said)\n"
    "  -h, --help               this help\n"
    "\n"
    "Tables whose rows are not in the backup's data pages or not decoded yet (columnstore,\n"
    "memory-optimized, FILESTREAM columns) are named on stderr with the reason and skipped; the\n"
    "others still come out, and the exit status is then 14.\n"
    "\n"
    "examples:\n"
    "  bak2pg dump -t dbo.Customers Northwind.bak\n"
    "  bak2pg dump --all -o out/ Northwind.bak\n"
    "  bak2pg dump --all Northwind.bak | psql -d target     (into the tables convert or load made)\n"
    "  bak2pg dump -n Sales --format jsonl -o out/ TSQL2012.bak\n";
const char *const cli_dump_usage = USAGE;

typedef struct dump_opts {
    const char *outdir, *file;
    bool all, allow_missing, clean, list, quiet;
    unsigned jobs;               /* -j: tables written at once (-o DIR) */
    b2p_outdir *dir;             /* -o DIR, opened */
    int backup_set;
    b2p_export_options ex;
    cli_tables tables;           /* -t -T -n -N, naming, --cast */
} dump_opts;

enum { OPT_ALL = CLI_OPT_FIRST_FREE, OPT_NUL, OPT_SPATIAL, OPT_BACKUP_SET, OPT_ALLOW_MISSING, OPT_CLEAN };

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
        {"all", no_argument, NULL, OPT_ALL},             {"format", required_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'},        {"file", required_argument, NULL, 'f'},
        {"nul", required_argument, NULL, OPT_NUL},       {"spatial", required_argument, NULL, OPT_SPATIAL},
        {"backup-set", required_argument, NULL, OPT_BACKUP_SET},
        {"allow-missing-stripes", no_argument, NULL, OPT_ALLOW_MISSING},
        {"clean", no_argument, NULL, OPT_CLEAN},         {"list", no_argument, NULL, 'l'},
        {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
        {"jobs", required_argument, NULL, 'j'},
        CLI_TABLES_LONGOPTS,                             {NULL, 0, NULL, 0},
    };
    static const char *const formats[] = {"copy", "csv", "jsonl"};
    static const char *const nuls[] = {"error", "strip", "replace"};
    static const char *const spatial[] = {"wkb", "wkt"};
    int c, v = 0, rc = 0;
    optind = 1;
    opterr = 0; /* an unknown option is reported once, by cli_bad_option */
    while (!rc && (c = getopt_long(argc, argv, ":o:f:F:j:lqh" CLI_TABLES_SHORTOPTS, longopts, NULL)) != -1) {
        rc = cli_tables_option("dump", &o->tables, c, optarg);
        if (rc >= 0) continue;
        rc = 0;
        switch (c) {
        case OPT_ALL: o->all = true; break;
        case 'o': o->outdir = optarg; break;
        case 'f': o->file = optarg; break;
        case 'l': o->list = true; break;
        case 'q': o->quiet = true; break;
        case 'j': rc = cli_parse_count("dump", "-j", optarg, 1, 64, &o->jobs); break;
        case OPT_ALLOW_MISSING: o->allow_missing = true; break;
        case OPT_CLEAN: o->clean = true; break;
        case 'F': if (!(rc = parse_choice("--format", optarg, formats, 3, &v))) o->ex.format = (b2p_format)v; break;
        case OPT_NUL: if (!(rc = parse_choice("--nul", optarg, nuls, 3, &v))) o->ex.nul_policy = (b2p_nul_policy)v; break;
        case OPT_SPATIAL: if (!(rc = parse_choice("--spatial", optarg, spatial, 2, &v))) o->ex.spatial_wkt = v == 1; break;
        case OPT_BACKUP_SET: rc = cli_parse_backup_set("dump", optarg, &o->backup_set); break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("dump", c, argv);
        }
    }
    if (rc) return rc;
    bool chosen = o->tables.ninclude || o->tables.nschemas;
    if (!chosen && !o->all) return cli_usage_error("dump", "say which tables: -t PATTERN, -n SCHEMA, or --all");
    if (chosen && o->all) return cli_usage_error("dump", "--all and -t/-n exclude each other");
    if (o->file && o->outdir) return cli_usage_error("dump", "-f FILE and -o DIR exclude each other");
    if (o->jobs > 1 && !o->outdir) return cli_usage_error("dump", "-j goes with -o DIR (one stream has one order)");
    if (optind >= argc) return cli_usage_error("dump", "no backup file given");
    return 0;
}

static bool file_sink(void *ctx, const char *data, size_t len) {
    return fwrite(data, 1, len, (FILE *)ctx) == len;
}

static const char *format_ext(b2p_format f) {
    return f == B2P_FORMAT_CSV ? "csv" : f == B2P_FORMAT_JSONL ? "jsonl" : "copy";
}

/* "COPY schema.table (a, b) FROM stdin;": a block psql loads as it reads it, naming the table
 * and columns as convert and load create them (the naming options), so that `dump | psql` fills
 * bak2pg's own tables. Names are quoted by base/quote.c: they are the backup's, and may hold
 * anything. */
static b2p_status write_copy_header(FILE *out, const b2p_names *nm, const b2p_cat_table *t, b2p_error *err) {
    b2p_buf table = {0}, columns = {0};
    b2p_status st = b2p_copy_target(nm, t, &table, &columns, err);
    if (!st) fprintf(out, "COPY %s%s%s%s FROM stdin;\n", table.data, columns.len ? " (" : "", columns.len ? columns.data : "",
                     columns.len ? ")" : "");
    b2p_buf_free(&table);
    b2p_buf_free(&columns);
    return st;
}

/* Where one table's rows go: a new file in the output directory (named by base/filename.c from
 * the backup's names; "~2" where a case-insensitive file system already holds its twin), or the
 * one output (stdout, or -f FILE). */
static FILE *open_output(const dump_opts *o, FILE *single, const b2p_cat_table *t, b2p_buf *name, b2p_error *err) {
    if (!o->dir) return single;
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

static void lock(pthread_mutex_t *mu) {
    if (mu) pthread_mutex_lock(mu);
}

static void unlock(pthread_mutex_t *mu) {
    if (mu) pthread_mutex_unlock(mu);
}

/* Dumps one table from src; returns its status, reported (UNSUPPORTED tables are reported and
 * skipped). With -j, mu guards what the workers share: the output directory's journal, stderr. */
static b2p_status dump_table(const dump_opts *o, b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm,
                             FILE *single, const b2p_cat_table *t, bool blocks, pthread_mutex_t *mu) {
    b2p_error err = {0};
    const char *why = b2p_export_unsupported(t);
    if (why) {
        lock(mu);
        fprintf(stderr, "bak2pg: table %s.%s skipped: %s\n", b2p_shown(t->schema), b2p_shown(t->name), why);
        unlock(mu);
        return B2P_ERR_UNSUPPORTED;
    }
    b2p_buf name = {0};
    lock(mu);
    FILE *out = open_output(o, single, t, &name, &err);
    unlock(mu);
    b2p_export_stats st;
    b2p_status s = !out ? err.code : blocks ? write_copy_header(out, nm, t, &err) : B2P_OK;
    if (!s) s = b2p_export_table(src, cat, t, &o->ex, file_sink, out, &st, &err);
    if (blocks && !s) fputs("\\.\n", out);
    if (out && out != single) {
        b2p_error close_err = {0};
        lock(mu);
        b2p_status cs = b2p_outdir_close_file(o->dir, out, name.data, &close_err);
        unlock(mu);
        if (cs && !s) {
            s = cs;
            err = close_err;
        }
    }
    b2p_buf_free(&name);
    lock(mu);
    if (s) cli_report(&err);
    else if (!o->quiet) report_table(t, &st);
    unlock(mu);
    return s;
}

static size_t count_selected(const b2p_catalog *cat, const bool *sel) {
    size_t n = 0;
    for (size_t i = 0; i < cat->ntables; i++) n += sel[i];
    return n;
}

/* ---- -j N: several tables' files at once (-o DIR only: one stream has one order) ---------- */

typedef struct dump_run {
    const dump_opts *o;
    const b2p_catalog *cat;
    const b2p_names *nm;
    const size_t *order;         /* job -> catalog index */
    b2p_pages *src, **worker_src;
    pthread_mutex_t mu;
    bool unsupported;            /* some table was skipped (guarded by mu) */
} dump_run;

static b2p_status dump_worker_start(void *ctx, unsigned w, b2p_error *err) {
    dump_run *r = ctx;
    r->worker_src[w] = b2p_pages_fork(r->src, err);
    return r->worker_src[w] ? B2P_OK : err->code;
}

static void dump_worker_stop(void *ctx, unsigned w) {
    dump_run *r = ctx;
    b2p_pages_free(r->worker_src[w]);
    r->worker_src[w] = NULL;
}

static b2p_status dump_job(void *ctx, b2p_jobs *jobs, size_t job, unsigned w, b2p_error *err) {
    (void)jobs;
    dump_run *r = ctx;
    b2p_status s = dump_table(r->o, r->worker_src[w], r->cat, r->nm, NULL, &r->cat->tables[r->order[job]], false, &r->mu);
    if (s == B2P_ERR_UNSUPPORTED) {
        pthread_mutex_lock(&r->mu);
        r->unsupported = true;
        pthread_mutex_unlock(&r->mu);
        return B2P_OK;
    }
    return s ? b2p_fail(err, s, "(reported)") : B2P_OK;
}

static int dump_parallel(const dump_opts *o, cli_source *in, const b2p_names *nm, const size_t *order, size_t n) {
    dump_run r = {.o = o, .cat = in->cat, .nm = nm, .order = order, .src = in->src, .mu = PTHREAD_MUTEX_INITIALIZER};
    unsigned threads = o->jobs < n ? o->jobs : (unsigned)n;
    r.worker_src = calloc(threads, sizeof *r.worker_src);
    if (!r.worker_src) return cli_report(&(b2p_error){.code = B2P_ERR_NOMEM, .msg = "out of memory"});
    b2p_jobs_spec spec = {.njobs = n, .threads = threads, .ctx = &r, .worker_start = dump_worker_start,
                          .worker_stop = dump_worker_stop, .run = dump_job};
    b2p_error err = {0};
    b2p_status st = b2p_jobs_run(&spec, &err);
    free(r.worker_src);
    if (st && strcmp(err.msg, "(reported)")) return cli_report(&err); /* a worker that could not start */
    return st ? (int)st : r.unsupported ? B2P_ERR_UNSUPPORTED : 0;
}

/* Whether two chosen tables' files would differ only in case: which one gets "~2" then depends on
 * which is written first, so such a dump is written in order, on one thread. */
static bool case_twins(const b2p_catalog *cat, const size_t *order, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            const b2p_cat_table *a = &cat->tables[order[i]], *b = &cat->tables[order[k]];
            if (!strcasecmp(a->schema, b->schema) && !strcasecmp(a->name, b->name)) return true;
        }
    return false;
}

/* Every chosen table, in load order (parents before children, as load.sql fills them). */
static int dump_tables(const dump_opts *o, cli_source *in, const b2p_names *nm, const bool *sel, FILE *single) {
    size_t *order = calloc(in->cat->ntables ? in->cat->ntables : 1, sizeof *order);
    if (!order) return cli_report(&(b2p_error){.code = B2P_ERR_NOMEM, .msg = "out of memory"});
    size_t n = b2p_load_order(in->cat, sel, order);
    bool blocks = !o->dir && (o->all || o->tables.nschemas || n > 1);
    int exit_code = 0;
    if (o->jobs > 1 && o->dir && n > 1 && !case_twins(in->cat, order, n)) {
        exit_code = dump_parallel(o, in, nm, order, n);
        free(order);
        return exit_code;
    }
    for (size_t i = 0; i < n; i++) {
        b2p_status s = dump_table(o, in->src, in->cat, nm, single, &in->cat->tables[order[i]], blocks, NULL);
        if (s == B2P_ERR_UNSUPPORTED) exit_code = B2P_ERR_UNSUPPORTED;
        else if (s) {
            exit_code = (int)s;
            break;
        }
    }
    free(order);
    return exit_code;
}

int cmd_dump(int argc, char **argv) {
    dump_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    b2p_error err = {0};
    cli_source in;
    b2p_names *nm = NULL;
    bool *sel = NULL;
    if (cli_open_catalog(&in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err))
        return cli_report(&err);
    b2p_status st = b2p_names_build(in.cat, &o.tables.naming, &nm, &err);
    b2p_error clash = {0}; /* two tables or columns that fold to one PostgreSQL name */
    if (st == B2P_ERR_USAGE && !o.tables.naming.keep_case) {
        /* files and plain rows name no table: case-kept names serve to match patterns; COPY
         * blocks would put two tables' rows into one, and are refused below */
        clash = err;
        b2p_naming_options kept = o.tables.naming;
        kept.keep_case = true;
        st = b2p_names_build(in.cat, &kept, &nm, &err);
    }
    if (!st) st = cli_select_tables(in.cat, &o.tables, nm, &sel, &err);
    if (st) {
        b2p_names_free(nm);
        cli_close(&in);
        return cli_report(&err);
    }
    size_t selected = count_selected(in.cat, sel);
    int exit_code = 0;
    FILE *single = stdout;
    if (o.list) {
        exit_code = cli_print_plan(stdout, &in, nm, sel, CLI_SECTION_DATA);
    } else if (selected > 1 && !o.outdir && o.ex.format != B2P_FORMAT_COPY) {
        exit_code = cli_usage_error("dump", "%zu tables match: give -o DIR for csv or jsonl output", selected);
    } else if (clash.code && !o.outdir && (o.all || o.tables.nschemas || selected > 1)) {
        exit_code = cli_report(&clash);
    } else if (o.outdir && cli_open_output_dir(o.outdir, o.clean, &o.dir, &err)) {
        exit_code = cli_report(&err);
    } else if (o.file && !(single = cli_create_file(o.file, &err))) {
        exit_code = cli_report(&err);
    } else {
        if (!selected) fprintf(stderr, "bak2pg: the database holds no user table\n");
        exit_code = dump_tables(&o, &in, nm, sel, single);
        if (single != stdout && fclose(single) != 0 && !exit_code)
            exit_code = cli_report(&(b2p_error){.code = B2P_ERR_IO, .msg = "-f: the file could not be written"});
    }
    if (fflush(stdout) != 0 && !exit_code) exit_code = B2P_ERR_IO;
    free(sel);
    b2p_names_free(nm);
    cli_close(&in);
    b2p_outdir_close(o.dir);
    return exit_code;
}
