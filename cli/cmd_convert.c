/* bak2pg convert: a backup to PostgreSQL load files, with no server anywhere. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "emit/emit.h"
#include "json.h"

static const char USAGE[] =
    "usage: bak2pg convert [options] -o DIR FILE...\n"
    "\n"
    "Converts a SQL Server backup into files that load it into PostgreSQL, for sites where the\n"
    "backup and the database server never meet. Writes, in DIR:\n"
    "  pre-data.sql        schemas and tables (mapped types, identities, defaults, generated columns)\n"
    "  data/*.copy         every table's rows in COPY text format (.copy.zst with --compress zstd)\n"
    "  post-data.sql       keys, indexes, foreign keys, checks, identity restarts\n"
    "  load.sql            all of it, in foreign-key order, in one transaction, stopping at the first error\n"
    "  review.sql          what could not be translated (views, procedures, expressions), with the reason\n"
    "  manifest.json       per table: its file, rows, bytes, sha256; tables that failed; the source\n"
    "                      backup's identity. Written last: its presence means the run completed.\n"
    "Load with:  cd DIR && psql -d TARGET -f load.sql      (psql 15.14 or later: the scripts use\n"
    "            \\restrict, so that nothing in them can run a psql meta-command it did not mean)\n"
    "\n"
    "Data file names are the PostgreSQL schema and table names with every byte outside\n"
    "[A-Za-z0-9_-] written %XX (dots too), so no two tables share a file and none leaves DIR.\n"
    "DIR must be empty (or new): --clean first removes what an earlier bak2pg run wrote there.\n"
    "A table that fails (a value PostgreSQL cannot store, a damaged page) is named on stderr, in\n"
    "manifest.json and review.sql, and left out of load.sql; the other tables are complete, and\n"
    "the exit status is 21.\n"
    "\n"
    "options:\n"
    "  -o, -f, --output, --file DIR  where to write (created if needed; must be empty)\n"
    "  --clean                    first remove the files an earlier bak2pg run wrote in DIR (only\n"
    "                             those: its journal, DIR/.bak2pg-files, lists them); and, as pg_dump\n"
    "                             --clean, pre-data.sql drops each table before creating it (children\n"
    "                             first, no CASCADE), so that load.sql can run again\n"
    "  --if-exists                with --clean: DROP TABLE IF EXISTS, for a target that may not\n"
    "                             hold the tables yet (without it, a missing table stops load.sql\n"
    "                             before anything changed)\n"
    "  -C, --create               load.sql first creates the database (named as in the backup) and\n"
    "                             connects to it: run it with psql -d postgres (with --clean, drops\n"
    "                             that database first)\n"
    "  --section pre-data|data|post-data  write only that part (repeatable): tables; rows; keys,\n"
    "                             indexes and the rest. load.sql runs what was written\n"
    "  -s, --schema-only          --section pre-data --section post-data\n"
    "  -a, --data-only            --section data (load.sql then also sets each identity to go on\n"
    "                             after the rows loaded)\n"
    "  -l, --list                 list what would be created and loaded, in order, and write nothing\n"
    CLI_TABLES_HELP
    "  --compress zstd            compress the data files (load.sql decompresses them with the zstd\n"
    "                             program: it must be installed where load.sql runs)\n"
    "  --no-single-transaction    load each script and table in its own transaction\n"
    "  --nul error|strip|replace  text holding NUL characters (see bak2pg dump --help)\n"
    "  --backup-set N             the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes    salvage: convert what is there when stripe files are missing\n"
    "  -j, --jobs N               write N tables' data files at once, the largest first (default 1;\n"
    "                             the output is the same, byte for byte, whatever N, but for the\n"
    "                             scripts' \\restrict key, random in every run)\n"
    "  -v, --verbose              a line per table on stderr as its data file is written\n"
    "  -q, --quiet                no summary on stdout\n"
    "  -h, --help                 this help\n"
    "\n"
    "examples:\n"
    "  bak2pg convert -o northwind/ Northwind.bak\n"
    "  bak2pg convert --clean --if-exists -o northwind/ Northwind-next-week.bak   (load.sql replaces)\n"
    "  bak2pg convert -l -n dbo -T '*_old' Northwind.bak\n"
    "  bak2pg convert --schema-map dbo=sales --compress zstd -o out/ full.bak diff.bak\n"
    "  bak2pg convert -t 'dbo.Order*' -T '*_old' -o out/ Northwind.bak\n"
    "  bak2pg convert -j 4 -o big/ Big.bak\n";
const char *const cli_convert_usage = USAGE;

enum { MAX_JOBS = 64 };
enum { OPT_NO_SINGLE = CLI_OPT_FIRST_FREE, OPT_NUL, OPT_SECTION, OPT_IF_EXISTS };

typedef struct convert_opts {
    const char *outdir;
    cli_tables tables;
    bool zstd, single_transaction, allow_missing, clean;
    bool if_exists, create_database; /* --if-exists, -C */
    bool list, verbose, quiet;       /* -l, -v, -q */
    unsigned sections;               /* CLI_SECTION_*: what the files hold */
    bool sections_given;
    int backup_set;
    unsigned jobs;               /* worker threads writing data files */
    b2p_export_options ex;
} convert_opts;

static int parse_args(int argc, char **argv, convert_opts *o) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},       {"compress", required_argument, NULL, 'z'},
        {"no-single-transaction", no_argument, NULL, OPT_NO_SINGLE}, {"nul", required_argument, NULL, OPT_NUL},
        {"backup-set", required_argument, NULL, 'b'},   {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"jobs", required_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {"clean", no_argument, NULL, 'c'},              {"if-exists", no_argument, NULL, OPT_IF_EXISTS},
        {"file", required_argument, NULL, 'f'},         {"create", no_argument, NULL, 'C'},
        {"section", required_argument, NULL, OPT_SECTION}, {"schema-only", no_argument, NULL, 's'},
        {"data-only", no_argument, NULL, 'a'},          {"list", no_argument, NULL, 'l'},
        {"verbose", no_argument, NULL, 'v'},            {"quiet", no_argument, NULL, 'q'},
        CLI_TABLES_LONGOPTS,                            {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    o->single_transaction = true;
    o->jobs = 1;
    o->sections = CLI_SECTION_ALL;
    bool schema_only = false, data_only = false;
    optind = 1;
    opterr = 0; /* an unknown option is reported once, by cli_bad_option */
    while (!rc && (c = getopt_long(argc, argv, ":o:f:j:hCsalvq" CLI_TABLES_SHORTOPTS, longopts, NULL)) != -1) {
        rc = cli_tables_option("convert", &o->tables, c, optarg);
        if (rc >= 0) continue;
        rc = 0;
        switch (c) {
        case 'o':
        case 'f': o->outdir = optarg; break; /* -f DIR, as pg_dump -Fd -f DIR */
        case 'C': o->create_database = true; break;
        case OPT_IF_EXISTS: o->if_exists = true; break;
        case OPT_SECTION: rc = cli_parse_section("convert", optarg, &o->sections, &o->sections_given); break;
        case 's': schema_only = true; break;
        case 'a': data_only = true; break;
        case 'l': o->list = true; break;
        case 'v': o->verbose = true; break;
        case 'q': o->quiet = true; break;
        case OPT_NO_SINGLE: o->single_transaction = false; break;
        case 'm': o->allow_missing = true; break;
        case 'c': o->clean = true; break;
        case 'z':
            if (strcmp(optarg, "zstd") != 0) rc = cli_usage_error("convert", "--compress takes zstd, not '%s'", optarg);
            o->zstd = true;
            break;
        case OPT_NUL: rc = cli_parse_nul("convert", optarg, &o->ex.nul_policy); break;
        case 'b': rc = cli_parse_backup_set("convert", optarg, &o->backup_set); break;
        case 'j': rc = cli_parse_count("convert", "--jobs", optarg, 1, MAX_JOBS, &o->jobs); break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("convert", c, argv);
        }
    }
    if (rc) return rc;
    if (schema_only + data_only + o->sections_given > 1)
        return cli_usage_error("convert", "-s/--schema-only, -a/--data-only and --section exclude each other");
    if (schema_only) o->sections = CLI_SECTION_PRE | CLI_SECTION_POST;
    if (data_only) o->sections = CLI_SECTION_DATA;
    if (o->if_exists && !o->clean) return cli_usage_error("convert", "--if-exists goes with --clean (as in pg_dump)");
    if (!o->outdir && !o->list) return cli_usage_error("convert", "say where to write: -o DIR");
    if (optind >= argc) return cli_usage_error("convert", "no backup file given");
    return 0;
}

/* ---- progress on a terminal -------------------------------------------------------------- */

typedef struct progress {
    bool on;
    double start, last;
    uint64_t rows_total, rows_done, bytes_done;
    size_t tables_total, tables_done;
} progress;

static void progress_show(progress *p, bool final) {
    if (!p->on) return;
    double t = cli_now();
    if (!final && t - p->last < 0.5) return;
    p->last = t;
    double frac = p->rows_total ? (double)p->rows_done / (double)p->rows_total : 1;
    double eta = frac > 0.01 && frac < 1 ? (t - p->start) * (1 - frac) / frac : 0;
    fprintf(stderr, "\r[%zu/%zu tables] %llu/%llu rows, %.1f MB, ETA %d:%02d   ", p->tables_done, p->tables_total,
            (unsigned long long)p->rows_done, (unsigned long long)p->rows_total, p->bytes_done / 1e6, (int)eta / 60,
            (int)eta % 60);
    if (final) fputc('\n', stderr);
}

/* ---- the run ------------------------------------------------------------------------------- */

typedef struct table_result {
    b2p_buf file;                /* relative to the output directory: data/<schema>.<table>.copy[.zst] */
    uint64_t rows, bytes, nul_values;
    char sha256[65];
    bool done;
    char *error;                 /* why the table failed (its data file is then removed), or NULL */
} table_result;

typedef struct run {
    convert_opts *o;
    cli_source in;
    b2p_names *nm;
    bool *selected;
    size_t *order, norder;       /* load order (the order of load.sql and the manifest) */
    table_result *results;       /* per catalog table; each written by the one worker converting it */
    b2p_ddl_stats ddl;
    /* while the data files are written by several workers: */
    pthread_mutex_t mu;          /* guards prog, skipped and stderr */
    b2p_pages **worker_src;      /* per worker: its own fork of in.src */
    progress prog;
    unsigned skipped, failed;
    b2p_outdir *dir;             /* every file is created through it (guarded by mu in workers) */
    char restrict_key[33];       /* the scripts' \restrict key */
} run;

static FILE *open_out(const run *r, const char *name, b2p_error *err) {
    FILE *f = NULL;
    return b2p_outdir_create(r->dir, name, &f, err) ? NULL : f;
}

static b2p_status close_out(FILE *f, const run *r, const char *name, b2p_error *err) {
    return b2p_outdir_close_file(r->dir, f, name, err);
}

/* Names every selected table's data file, data/<schema>.<table>.copy[.zst], from its PostgreSQL
 * names through the one file-name maker (base/filename.c): safe and injective by construction.
 * Names are chosen here, in load order, before any worker starts, so that they do not depend on
 * which worker gets there first; two names that differ only in case (which a case-insensitive
 * file system would take for one) get "~2", "~3", ... */
static b2p_status name_data_files(run *r, b2p_error *err) {
    b2p_buf stem = {0};
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < r->norder && !st; i++) {
        const b2p_cat_table *t = &r->in.cat->tables[r->order[i]];
        table_result *res = &r->results[r->order[i]];
        b2p_buf_clear(&stem);
        st = b2p_buf_puts(&stem, "data/", err);
        if (!st) st = b2p_file_component(&stem, b2p_names_schema(r->nm, t), err);
        if (!st) st = b2p_buf_puts(&stem, ".", err);
        if (!st) st = b2p_file_component(&stem, b2p_names_table(r->nm, t), err);
        for (unsigned n = 1; !st; n++) {
            char suffix[32] = "";
            if (n > 1) snprintf(suffix, sizeof suffix, "~%u", n);
            b2p_buf_clear(&res->file);
            st = b2p_buf_puts(&res->file, stem.data, err);
            if (!st) st = b2p_buf_puts(&res->file, suffix, err);
            if (!st) st = b2p_buf_puts(&res->file, r->o->zstd ? ".copy.zst" : ".copy", err);
            bool taken = false;
            for (size_t k = 0; k < i && !taken && !st; k++)
                taken = !strcasecmp(r->results[r->order[k]].file.data, res->file.data);
            if (!taken) break;
        }
    }
    b2p_buf_free(&stem);
    return st;
}

/* Whether a failure while converting one table ends the whole run: the output cannot be written,
 * memory ran out, or bak2pg itself is wrong. Anything else (a value PostgreSQL cannot store, a
 * damaged page) fails that table only. */
static bool fatal(b2p_status st) {
    return st == B2P_ERR_IO || st == B2P_ERR_NOMEM || st == B2P_ERR_INTERNAL;
}

/* Records that table t failed: named on stderr now, in manifest.json and review.sql later; its
 * partial data file goes. */
static void table_failed(run *r, const b2p_cat_table *t, table_result *res, const b2p_error *why) {
    pthread_mutex_lock(&r->mu);
    res->error = strdup(why->msg[0] ? why->msg : b2p_status_name(why->code));
    b2p_error ignored;
    if (res->file.len) b2p_outdir_remove(r->dir, res->file.data, &ignored);
    r->failed++;
    r->prog.tables_done++;
    fprintf(stderr, "%sbak2pg: table %s.%s failed, the others go on: %s\n", r->prog.on ? "\n" : "", b2p_shown(t->schema),
            b2p_shown(t->name), b2p_shown(res->error ? res->error : "out of memory"));
    pthread_mutex_unlock(&r->mu);
}

/* A file sink that refuses further writes once another worker's table has failed, so that a
 * long table stops early instead of finishing for nothing. */
typedef struct stoppable_sink {
    b2p_file_sink file;
    const b2p_jobs *jobs;
} stoppable_sink;

static bool stoppable_write(void *ctx, const char *data, size_t len) {
    stoppable_sink *s = ctx;
    return !b2p_jobs_stopping(s->jobs) && b2p_file_sink_write(&s->file, data, len);
}

static b2p_status export_one(run *r, b2p_pages *src, const b2p_jobs *jobs, size_t ti, b2p_error *err) {
    const b2p_cat_table *t = &r->in.cat->tables[ti];
    table_result *res = &r->results[ti];
    const char *why = b2p_export_unsupported(t);
    if (why) {
        pthread_mutex_lock(&r->mu);
        fprintf(stderr, "%sbak2pg: table %s.%s skipped: %s\n", r->prog.on ? "\n" : "", b2p_shown(t->schema),
                b2p_shown(t->name), why);
        r->skipped++;
        pthread_mutex_unlock(&r->mu);
        return B2P_OK;
    }
    FILE *f = NULL;
    pthread_mutex_lock(&r->mu); /* the directory's journal is shared */
    b2p_status st = b2p_outdir_create(r->dir, res->file.data, &f, err);
    pthread_mutex_unlock(&r->mu);
    if (st) return st;
    stoppable_sink sink = {.jobs = jobs};
    st = b2p_file_sink_open(&sink.file, f, r->o->zstd, 3, err);
    b2p_export_stats es = {0};
    b2p_error table_err = {0};
    b2p_status tst = st ? B2P_OK : b2p_export_table(src, r->in.cat, t, &r->o->ex, stoppable_write, &sink, &es, &table_err);
    bool sink_failed = sink.file.failed;
    b2p_error close_err = {0};
    b2p_status cst = b2p_file_sink_close(&sink.file, res->file.data, res->sha256, &close_err);
    if (st) return st;
    if (cst) { /* the output: the run cannot go on */
        *err = close_err;
        return cst;
    }
    if (tst && (sink_failed || fatal(tst))) {
        *err = table_err;
        return tst;
    }
    if (tst) {
        table_failed(r, t, res, &table_err);
        return B2P_OK;
    }
    res->rows = es.rows;
    res->bytes = sink.file.bytes;
    res->nul_values = es.nul_values;
    res->done = true;
    pthread_mutex_lock(&r->mu);
    if (es.rows != es.expected_rows)
        fprintf(stderr, "%sbak2pg: table %s.%s: %llu rows decoded, the catalog counts %llu\n", r->prog.on ? "\n" : "",
                b2p_shown(t->schema), b2p_shown(t->name), (unsigned long long)es.rows, (unsigned long long)es.expected_rows);
    if (es.nul_values)
        fprintf(stderr, "%sbak2pg: table %s.%s: %llu values held NUL characters (%s by --nul)\n", r->prog.on ? "\n" : "",
                b2p_shown(t->schema), b2p_shown(t->name), (unsigned long long)es.nul_values,
                r->o->ex.nul_policy == B2P_NUL_STRIP ? "stripped" : "replaced");
    if (r->o->verbose)
        fprintf(stderr, "%sbak2pg: %s.%s: %llu rows, %llu bytes -> %s\n", r->prog.on ? "\n" : "",
                b2p_shown(b2p_names_schema(r->nm, t)), b2p_shown(b2p_names_table(r->nm, t)), (unsigned long long)es.rows,
                (unsigned long long)sink.file.bytes, b2p_shown(res->file.data));
    r->prog.rows_done += es.rows;
    r->prog.bytes_done += sink.file.bytes;
    r->prog.tables_done++;
    progress_show(&r->prog, false);
    pthread_mutex_unlock(&r->mu);
    return B2P_OK;
}

/* ---- the data files on several workers ------------------------------------------------------ */

static b2p_status worker_start(void *ctx, unsigned worker, b2p_error *err) {
    run *r = ctx;
    r->worker_src[worker] = b2p_pages_fork(r->in.src, err);
    return r->worker_src[worker] ? B2P_OK : err->code;
}

static void worker_stop(void *ctx, unsigned worker) {
    run *r = ctx;
    b2p_pages_free(r->worker_src[worker]);
    r->worker_src[worker] = NULL;
}

/* Job i converts the table at r->order[i]. */
static b2p_status convert_job(void *ctx, b2p_jobs *jobs, size_t job, unsigned worker, b2p_error *err) {
    run *r = ctx;
    return export_one(r, r->worker_src[worker], jobs, r->order[job], err);
}

/* Pages in use by the table's rows (in-row, overflow, LOB): what converting it costs. */
static uint64_t table_pages(const b2p_cat_table *t) {
    uint64_t n = 0;
    for (size_t i = 0; i < t->npartitions; i++)
        for (size_t k = 0; k < t->partitions[i].naus; k++) n += t->partitions[i].aus[k].used_pages;
    return n;
}

typedef struct job_size {
    uint64_t pages, rows;
    size_t job;
} job_size;

static int larger_first(const void *a, const void *b) {
    const job_size *x = a, *y = b;
    if (x->pages != y->pages) return x->pages > y->pages ? -1 : 1;
    if (x->rows != y->rows) return x->rows > y->rows ? -1 : 1;
    return x->job < y->job ? -1 : x->job > y->job; /* ties: load order, so the schedule is reproducible */
}

/* The jobs, largest table first: the last to start are the small ones, so the workers end
 * together. (Longest-processing-time-first list scheduling.) */
static b2p_status largest_first(const run *r, size_t *order) {
    job_size *sz = malloc((r->norder ? r->norder : 1) * sizeof *sz);
    if (!sz) return B2P_ERR_NOMEM;
    for (size_t i = 0; i < r->norder; i++) {
        const b2p_cat_table *t = &r->in.cat->tables[r->order[i]];
        sz[i] = (job_size){table_pages(t), b2p_table_rows(t), i};
    }
    qsort(sz, r->norder, sizeof *sz, larger_first);
    for (size_t i = 0; i < r->norder; i++) order[i] = sz[i].job;
    free(sz);
    return B2P_OK;
}

/* Every selected table's data file, on o->jobs workers, each with its own fork of the page
 * source. One worker converts the tables in load order, as the sequential run always did (the
 * first table to fail is then the first in that order); several take the largest first. */
static b2p_status write_data_files(run *r, b2p_error *err) {
    unsigned workers = r->o->jobs;
    size_t *by_size = workers > 1 ? malloc((r->norder ? r->norder : 1) * sizeof *by_size) : NULL;
    r->worker_src = calloc(workers, sizeof *r->worker_src);
    if (!r->worker_src || (workers > 1 && (!by_size || largest_first(r, by_size)))) {
        free(by_size);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    b2p_jobs_spec spec = {.njobs = r->norder, .threads = workers, .order = by_size, .ctx = r,
                          .worker_start = worker_start, .worker_stop = worker_stop, .run = convert_job};
    b2p_status st = b2p_jobs_run(&spec, err);
    free(by_size);
    return st;
}

/* ---- the scripts ------------------------------------------------------------------------------
 * psql runs them, and psql obeys meta-commands (\! runs a program) wherever a line starts with a
 * backslash. Names from the backup reach the scripts only through base/quote.c and comments only
 * through base/escape.c; beyond that, every stretch that needs no meta-command is fenced with
 * \restrict KEY ... \unrestrict KEY (psql 15.14+), under which psql refuses every meta-command:
 * even a path nobody foresaw cannot run one. KEY is random per run, so no text in a backup can
 * know it. */

static b2p_status make_restrict_key(run *r, b2p_error *err) {
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[32];
    FILE *f = fopen("/dev/urandom", "rb");
    bool ok = f && fread(raw, 1, sizeof raw, f) == sizeof raw;
    if (f) fclose(f);
    if (!ok) return b2p_fail(err, B2P_ERR_IO, "'/dev/urandom': cannot read: %s", strerror(errno));
    for (size_t i = 0; i < sizeof raw; i++) r->restrict_key[i] = ALNUM[raw[i] % (sizeof ALNUM - 1)];
    r->restrict_key[sizeof raw] = 0;
    return B2P_OK;
}

static void restrict_begin(const run *r, FILE *f) {
    fprintf(f, "\\restrict %s\n", r->restrict_key);
}

static void restrict_end(const run *r, FILE *f) {
    fprintf(f, "\\unrestrict %s\n", r->restrict_key);
}

/* The head every script starts with: stop at the first error, the session settings the SQL is
 * written for. Leaves the script restricted. */
/* What the SQL and the COPY text are written for; set again in every new session (-C's \connect). */
static void session_settings(FILE *f) {
    fputs("SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n", f);
}

static void script_head(const run *r, FILE *f) {
    fputs("\\set ON_ERROR_STOP on\n", f);
    restrict_begin(r, f);
    session_settings(f);
}

/* A \copy line cannot hold a line break: psql ends the meta-command there. A table whose
 * qualified name or columns hold one (or another control character) is loaded through a
 * temporary table of a plain name, created and emptied in SQL. */
static bool copy_line_safe(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

/* The FROM of a \copy: the file, or zstd reading it. The file name is ours (data/ and the
 * characters of base/filename.c), so the program's argument is inert: checked, not assumed. */
static b2p_status copy_source(const run *r, const table_result *res, b2p_buf *out, b2p_error *err) {
    if (strspn(res->file.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.%~/") != res->file.len)
        return b2p_fail(err, B2P_ERR_INTERNAL, "data file name '%s' holds a character it never should", b2p_shown(res->file.data));
    if (!r->o->zstd) return b2p_quote_literal(res->file.data, out, err);
    b2p_buf cmd = {0};
    b2p_status st = b2p_buf_puts(&cmd, "zstd -dcq ", err);
    if (!st) st = b2p_buf_puts(&cmd, res->file.data, err);
    if (!st) st = b2p_buf_puts(out, "PROGRAM ", err);
    if (!st) st = b2p_quote_literal(cmd.data, out, err);
    b2p_buf_free(&cmd);
    return st;
}

/* One table's rows into load.sql (which is unrestricted here, and left so). */
static b2p_status write_copy(const run *r, FILE *f, size_t job, const b2p_cat_table *t, const table_result *res,
                             b2p_error *err) {
    b2p_buf table = {0}, columns = {0}, from = {0};
    b2p_status st = b2p_copy_target(r->nm, t, &table, &columns, err);
    if (!st) st = copy_source(r, res, &from, err);
    if (!st && copy_line_safe(table.data) && copy_line_safe(columns.data)) {
        fprintf(f, "\\copy %s (%s) FROM %s\n", table.data, columns.data, from.data);
    } else if (!st) {
        char stage[64];
        snprintf(stage, sizeof stage, "bak2pg_stage_%zu", job);
        restrict_begin(r, f);
        fprintf(f, "CREATE TEMPORARY TABLE %s AS SELECT %s FROM %s WITH NO DATA;\n", stage, columns.data, table.data);
        restrict_end(r, f);
        fprintf(f, "\\copy %s FROM %s\n", stage, from.data);
        restrict_begin(r, f);
        fprintf(f, "INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT * FROM %s;\nDROP TABLE %s;\n", table.data,
                columns.data, stage, stage);
        restrict_end(r, f);
    }
    b2p_buf_free(&table);
    b2p_buf_free(&columns);
    b2p_buf_free(&from);
    return st;
}

/* -C: the script creates the target database and connects to it (as pg_dump -C), after dropping
 * it with --clean. The name is the backup's database name, as the naming options give it. */
static b2p_status write_create_database(run *r, FILE *f, b2p_error *err) {
    char name[256];
    b2p_names_fold(r->nm, b2p_pages_set(r->in.src)->database_name, name, sizeof name);
    if (!copy_line_safe(name))
        return b2p_fail(err, B2P_ERR_USAGE,
                        "-C: the database name '%s' holds a control character, which a \\connect line cannot: "
                        "create the database yourself and leave out -C",
                        name);
    b2p_buf q = {0}, connect = {0};
    b2p_status st = b2p_quote_ident(name, &q, err);
    /* \connect takes a double-quoted name as it is ("" for a quote inside): quoted always, so that
     * psql neither folds it nor reads a variable or backquote in it */
    if (!st && q.data[0] == '"') st = b2p_buf_puts(&connect, q.data, err);
    else if (!st) {
        st = b2p_buf_puts(&connect, "\"", err);
        if (!st) st = b2p_buf_puts(&connect, q.data, err);
        if (!st) st = b2p_buf_puts(&connect, "\"", err);
    }
    if (!st) {
        if (r->o->clean) fprintf(f, "DROP DATABASE %s%s;\n", r->o->if_exists ? "IF EXISTS " : "", q.data);
        fprintf(f, "CREATE DATABASE %s;\n", q.data);
        restrict_end(r, f);
        fprintf(f, "\\connect %s\n", connect.data);
        restrict_begin(r, f);
        session_settings(f);
    }
    b2p_buf_free(&q);
    b2p_buf_free(&connect);
    return st;
}

/* -a/--data-only (no post-data.sql): each identity column continues after the rows loaded, as
 * pg_dump --data-only sets each sequence. */
static b2p_status write_identity_restarts(run *r, FILE *f, b2p_error *err) {
    b2p_status st = B2P_OK;
    restrict_begin(r, f);
    for (size_t i = 0; i < r->norder && !st; i++)
        if (r->results[r->order[i]].done)
            st = b2p_write_identity_restarts(r->in.cat, r->nm, &r->in.cat->tables[r->order[i]], f, err);
    restrict_end(r, f);
    return st;
}

static b2p_status write_load_script(run *r, b2p_error *err) {
    FILE *f = open_out(r, "load.sql", err);
    if (!f) return err->code;
    script_head(r, f);
    fprintf(f, "-- Loads database %s (from %s) into PostgreSQL. Run it from this directory:\n"
               "--   cd %s && psql -d TARGET -f load.sql\n",
            b2p_shown(b2p_pages_set(r->in.src)->database_name), b2p_shown(b2p_pages_path(r->in.src)),
            b2p_shown(r->o->outdir));
    if (r->failed)
        fprintf(f, "-- %u tables failed to convert and are not loaded here: manifest.json and review.sql name them.\n",
                r->failed);
    b2p_status st = r->o->create_database ? write_create_database(r, f, err) : B2P_OK;
    if (r->o->single_transaction) fputs("BEGIN;\n", f);
    restrict_end(r, f);
    unsigned sections = r->o->sections;
    if (sections & CLI_SECTION_PRE) fputs("\\ir pre-data.sql\n", f);
    for (size_t i = 0; i < r->norder && !st && (sections & CLI_SECTION_DATA); i++) {
        const table_result *res = &r->results[r->order[i]];
        if (res->done) st = write_copy(r, f, i, &r->in.cat->tables[r->order[i]], res, err);
    }
    if (sections & CLI_SECTION_POST) fputs("\\ir post-data.sql\n", f);
    else if ((sections & CLI_SECTION_DATA) && !st) st = write_identity_restarts(r, f, err);
    if (r->o->single_transaction) {
        restrict_begin(r, f);
        fputs("COMMIT;\n", f);
        restrict_end(r, f);
    }
    b2p_status cst = close_out(f, r, "load.sql", err);
    return st ? st : cst;
}

static void json_lsn(json *j, const char *key, b2p_lsn l) {
    char a[32];
    json_kv_string(j, key, b2p_lsn_format(l, a, sizeof a));
}

static b2p_status write_manifest(run *r, b2p_error *err) {
    FILE *f = open_out(r, "manifest.json", err);
    if (!f) return err->code;
    const b2p_set_info *s = b2p_pages_set(r->in.src);
    char g[40], d[32];
    json j;
    json_init(&j, f);
    json_begin_object(&j);
    json_key(&j, "source");
    json_begin_object(&j);
    json_kv_string(&j, "file", b2p_pages_path(r->in.src));
    json_kv_string(&j, "database_name", s->database_name);
    json_kv_string(&j, "server_name", s->server_name);
    json_kv_string(&j, "backup_set_guid", b2p_guid_format(&s->backup_set_guid, g, sizeof g));
    json_kv_uint(&j, "position", s->position);
    json_kv_string(&j, "type", b2p_backup_type_name(s->type));
    json_lsn(&j, "first_lsn", s->first_lsn);
    json_lsn(&j, "last_lsn", s->last_lsn);
    json_lsn(&j, "checkpoint_lsn", s->checkpoint_lsn);
    json_kv_string(&j, "backup_finish_date", b2p_datetime_format(s->finish_date, d, sizeof d));
    json_end_object(&j);
    json_key(&j, "tables");
    json_begin_array(&j);
    for (size_t i = 0; i < r->norder; i++) {
        const b2p_cat_table *t = &r->in.cat->tables[r->order[i]];
        const table_result *res = &r->results[r->order[i]];
        json_begin_object(&j);
        /* names as they are (a dot may be inside one): schema and table apart */
        json_kv_string(&j, "source_schema", t->schema);
        json_kv_string(&j, "source_table", t->name);
        json_kv_string(&j, "target_schema", b2p_names_schema(r->nm, t));
        json_kv_string(&j, "target_table", b2p_names_table(r->nm, t));
        json_kv_bool(&j, "converted", res->done);
        json_kv_string(&j, "file", res->done ? res->file.data : "");
        json_kv_uint(&j, "rows", res->rows);
        json_kv_uint(&j, "bytes", res->bytes);
        json_kv_string(&j, "sha256", res->done ? res->sha256 : "");
        json_kv_uint(&j, "nul_values", res->nul_values);
        if (res->error) json_kv_string(&j, "error", res->error);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_kv_string(&j, "nul_policy", r->o->ex.nul_policy == B2P_NUL_STRIP ? "strip"
                                     : r->o->ex.nul_policy == B2P_NUL_REPLACE ? "replace" : "error");
    json_kv_uint(&j, "failed_tables", r->failed);
    json_key(&j, "sections"); /* what the files hold (--section, -s, -a) */
    json_begin_array(&j);
    if (r->o->sections & CLI_SECTION_PRE) json_string(&j, "pre-data");
    if (r->o->sections & CLI_SECTION_DATA) json_string(&j, "data");
    if (r->o->sections & CLI_SECTION_POST) json_string(&j, "post-data");
    json_end_array(&j);
    json_key(&j, "ddl");
    json_begin_object(&j);
    json_kv_uint(&j, "tables", r->ddl.tables);
    json_kv_uint(&j, "keys", r->ddl.keys);
    json_kv_uint(&j, "indexes", r->ddl.indexes);
    json_kv_uint(&j, "foreign_keys", r->ddl.foreign_keys);
    json_kv_uint(&j, "checks", r->ddl.checks);
    json_kv_uint(&j, "expressions_translated", r->ddl.translated);
    json_kv_uint(&j, "review_items", r->ddl.review_items);
    json_end_object(&j);
    json_end_object(&j);
    json_finish(&j);
    return close_out(f, r, "manifest.json", err);
}

/* pre-data.sql or post-data.sql: what ddl.c writes, fenced as one restricted stretch. */
static b2p_status write_ddl_script(run *r, const char *name, bool pre, FILE *review, b2p_error *err) {
    /* --clean: the tables are dropped first; the domains and sequences they use may stay behind */
    b2p_ddl_options dopt = {.selected = r->selected, .clean = r->o->clean, .if_exists = r->o->if_exists,
                            .idempotent = r->o->clean};
    FILE *f = open_out(r, name, err);
    if (!f) return err->code;
    fputs("\\set ON_ERROR_STOP on\n", f);
    restrict_begin(r, f);
    b2p_status st = pre ? b2p_write_pre_data(r->in.cat, r->nm, &dopt, f, review, &r->ddl, err)
                        : b2p_write_post_data(r->in.cat, r->nm, &dopt, f, review, &r->ddl, err);
    restrict_end(r, f);
    b2p_status cst = close_out(f, r, name, err);
    return st ? st : cst;
}

static b2p_status write_ddl(run *r, FILE *review, b2p_error *err) {
    b2p_status st = B2P_OK;
    if (r->o->sections & CLI_SECTION_PRE) st = write_ddl_script(r, "pre-data.sql", true, review, err);
    if (!st && (r->o->sections & CLI_SECTION_POST)) st = write_ddl_script(r, "post-data.sql", false, review, err);
    return st;
}

/* review.sql is read, never run: all of it is comments, and restricted besides. It is begun
 * before the DDL (which adds its items) and finished after the data (failed tables last). */
static FILE *begin_review(run *r, b2p_error *err) {
    FILE *f = open_out(r, "review.sql", err);
    if (!f) return NULL;
    restrict_begin(r, f);
    fputs("-- What bak2pg left out of the load scripts, and why. Nothing here runs: each item is\n"
          "-- commented out; translate it by hand where it matters.\n\n", f);
    return f;
}

static b2p_status finish_review(run *r, FILE *f, b2p_error *err) {
    b2p_buf item = {0};
    for (size_t i = 0; i < r->norder; i++) {
        const b2p_cat_table *t = &r->in.cat->tables[r->order[i]];
        const table_result *res = &r->results[r->order[i]];
        if (!res->error) continue;
        b2p_buf_clear(&item);
        b2p_buf text = {0};
        bool ok = !b2p_buf_puts(&text, t->schema, NULL) && !b2p_buf_puts(&text, ".", NULL) &&
                  !b2p_buf_puts(&text, t->name, NULL) && !b2p_buf_puts(&text, ": TABLE FAILED, its rows are not in load.sql: ", NULL) &&
                  !b2p_buf_puts(&text, res->error, NULL) && !b2p_escape_text(&item, text.data, text.len, 0, NULL);
        b2p_buf_free(&text);
        if (ok) fprintf(f, "-- %s\n\n", item.data);
    }
    b2p_buf_free(&item);
    restrict_end(r, f);
    return close_out(f, r, "review.sql", err);
}

static b2p_status select_tables(run *r, b2p_error *err) {
    const b2p_catalog *cat = r->in.cat;
    b2p_status st = b2p_names_build(r->in.cat, &r->o->tables.naming, &r->nm, err);
    if (!st) st = cli_select_tables(r->in.cat, &r->o->tables, r->nm, &r->selected, err);
    if (st) return st;
    r->order = calloc(cat->ntables ? cat->ntables : 1, sizeof *r->order);
    r->results = calloc(cat->ntables ? cat->ntables : 1, sizeof *r->results);
    if (!r->order || !r->results) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    r->norder = b2p_load_order(cat, r->selected, r->order);
    for (size_t i = 0; i < r->norder; i++) r->prog.rows_total += b2p_table_rows(&cat->tables[r->order[i]]);
    r->prog.tables_total = r->norder;
    return B2P_OK;
}

static b2p_status convert(run *r, b2p_error *err) {
    b2p_status st = select_tables(r, err);
    if (!st && r->o->list) return (b2p_status)cli_print_plan(stdout, &r->in, r->nm, r->selected, r->o->sections);
    /* the directory once the arguments are known good: a --table or --cast mistake leaves none */
    if (!st) st = cli_open_output_dir(r->o->outdir, r->o->clean, &r->dir, err);
    if (st) return st;
    if ((st = make_restrict_key(r, err))) return st;
    FILE *review = begin_review(r, err);
    if (!review) return err->code;
    st = write_ddl(r, review, err);
    if (!st) {
        r->prog.on = isatty(STDERR_FILENO);
        r->prog.start = cli_now();
        if (r->o->sections & CLI_SECTION_DATA) {
            st = name_data_files(r, err);
            if (!st) st = write_data_files(r, err);
        }
        progress_show(&r->prog, true);
    }
    b2p_status rst = finish_review(r, review, err);
    if (!st) st = rst;
    if (!st) st = write_load_script(r, err);
    if (!st) st = write_manifest(r, err); /* last: a directory with a manifest holds a whole run */
    return st;
}

static void print_summary(const run *r, double seconds) {
    printf("converted %s: %zu tables (%u skipped, %u failed), %llu rows, %.1f MB of data in %.1f s -> %s\n",
           b2p_shown(b2p_pages_set(r->in.src)->database_name), r->prog.tables_done - r->failed, r->skipped, r->failed,
           (unsigned long long)r->prog.rows_done, r->prog.bytes_done / 1e6, seconds, b2p_shown(r->o->outdir));
    printf("  %u keys, %u indexes, %u foreign keys, %u checks; %u expressions translated, %u items in review.sql\n",
           r->ddl.keys, r->ddl.indexes, r->ddl.foreign_keys, r->ddl.checks, r->ddl.translated, r->ddl.review_items);
    for (size_t i = 0; i < r->norder; i++) {
        const b2p_cat_table *t = &r->in.cat->tables[r->order[i]];
        if (r->results[r->order[i]].error)
            printf("  FAILED %s.%s: %s\n", b2p_shown(t->schema), b2p_shown(t->name), b2p_shown(r->results[r->order[i]].error));
    }
    printf("  load with: cd %s && psql -d TARGET -f load.sql\n", b2p_shown(r->o->outdir));
}

int cmd_convert(int argc, char **argv) {
    convert_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    b2p_error err = {0};
    run r = {.o = &o, .mu = PTHREAD_MUTEX_INITIALIZER};
    double t0 = cli_now();
    if (cli_open_catalog(&r.in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err))
        return cli_report(&err);
    b2p_status st = convert(&r, &err);
    if (!st && !o.list && !o.quiet) print_summary(&r, cli_now() - t0);
    b2p_names_free(r.nm);
    for (size_t i = 0; r.results && i < r.in.cat->ntables; i++) {
        b2p_buf_free(&r.results[i].file);
        free(r.results[i].error);
    }
    free(r.selected);
    free(r.order);
    free(r.results);
    free(r.worker_src);
    cli_close(&r.in);
    b2p_outdir_close(r.dir);
    if (st) return cli_report(&err);
    return r.failed ? B2P_ERR_PARTIAL : r.skipped ? B2P_ERR_UNSUPPORTED : 0;
}
