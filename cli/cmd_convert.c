/* bak2pg convert: a backup to PostgreSQL load files, with no server anywhere. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    "  manifest.json       per table: rows, bytes, sha256; and the source backup's identity\n"
    "Load with:  cd DIR && psql -d TARGET -f load.sql\n"
    "\n"
    "options:\n"
    "  -o, --output DIR           where to write (created if needed)\n"
    CLI_TABLES_HELP
    "  --compress zstd            compress the data files (load.sql decompresses with zstd -dc)\n"
    "  --no-single-transaction    load each script and table in its own transaction\n"
    "  --nul error|strip|replace  text holding NUL characters (see bak2pg dump --help)\n"
    "  --backup-set N             the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes    salvage: convert what is there when stripe files are missing\n"
    "  -j, --jobs N               write N tables' data files at once, the largest first (default 1;\n"
    "                             the output is the same, byte for byte, whatever N)\n"
    "  -h, --help                 this help\n"
    "\n"
    "examples:\n"
    "  bak2pg convert -o northwind/ Northwind.bak\n"
    "  bak2pg convert --schema-map dbo=sales --compress zstd -o out/ full.bak diff.bak\n"
    "  bak2pg convert --table 'dbo.Order*' --exclude-table '*_old' -o out/ Northwind.bak\n"
    "  bak2pg convert -j 4 -o big/ Big.bak\n";

enum { MAX_JOBS = 64 };

typedef struct convert_opts {
    const char *outdir;
    cli_tables tables;
    bool zstd, single_transaction, allow_missing;
    int backup_set;
    unsigned jobs;               /* worker threads writing data files */
    b2p_export_options ex;
} convert_opts;

static int parse_args(int argc, char **argv, convert_opts *o) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},       {"compress", required_argument, NULL, 'z'},
        {"no-single-transaction", no_argument, NULL, 'T'}, {"nul", required_argument, NULL, 'n'},
        {"backup-set", required_argument, NULL, 'b'},   {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"jobs", required_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        CLI_TABLES_LONGOPTS,                            {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    o->single_transaction = true;
    o->jobs = 1;
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "o:j:h", longopts, NULL)) != -1) {
        rc = cli_tables_option("convert", &o->tables, c, optarg);
        if (rc >= 0) continue;
        rc = 0;
        switch (c) {
        case 'o': o->outdir = optarg; break;
        case 'T': o->single_transaction = false; break;
        case 'm': o->allow_missing = true; break;
        case 'z':
            if (strcmp(optarg, "zstd") != 0) rc = cli_usage_error("convert", "--compress takes zstd, not '%s'", optarg);
            o->zstd = true;
            break;
        case 'n': rc = cli_parse_nul("convert", optarg, &o->ex.nul_policy); break;
        case 'b': rc = cli_parse_backup_set("convert", optarg, &o->backup_set); break;
        case 'j': rc = cli_parse_count("convert", "--jobs", optarg, 1, MAX_JOBS, &o->jobs); break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_usage_error("convert", "unknown option");
        }
    }
    if (rc) return rc;
    if (!o->outdir) return cli_usage_error("convert", "say where to write: -o DIR");
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
    char file[1024];
    uint64_t rows, bytes;
    char sha256[65];
    bool done;
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
    unsigned skipped;
} run;

static FILE *open_out(const run *r, const char *name, b2p_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->o->outdir, name);
    FILE *f = fopen(path, "w");
    if (!f) b2p_fail(err, B2P_ERR_IO, "'%s': cannot create: %s", path, strerror(errno));
    return f;
}

static b2p_status close_out(FILE *f, const run *r, const char *name, b2p_error *err) {
    if (fclose(f) != 0) return b2p_fail(err, B2P_ERR_IO, "'%s/%s': writing failed: %s", r->o->outdir, name, strerror(errno));
    return B2P_OK;
}

/* data/<schema>.<table>.copy[.zst], with '/' (impossible in a file name) replaced. */
static void data_file_name(const run *r, const b2p_cat_table *t, char *out, size_t len) {
    snprintf(out, len, "data/%s.%s.copy%s", b2p_names_schema(r->nm, t), b2p_names_table(r->nm, t), r->o->zstd ? ".zst" : "");
    for (char *p = out + 5; *p; p++)
        if (*p == '/') *p = '_';
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
        fprintf(stderr, "%sbak2pg: table %s.%s skipped: %s\n", r->prog.on ? "\n" : "", t->schema, t->name, why);
        r->skipped++;
        pthread_mutex_unlock(&r->mu);
        return B2P_OK;
    }
    data_file_name(r, t, res->file, sizeof res->file);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->o->outdir, res->file);
    stoppable_sink sink = {.jobs = jobs};
    b2p_status st = b2p_file_sink_open(&sink.file, path, r->o->zstd, 3, err);
    b2p_export_stats es = {0};
    if (!st) st = b2p_export_table(src, r->in.cat, t, &r->o->ex, stoppable_write, &sink, &es, err);
    b2p_error close_err = {0};
    b2p_status cst = b2p_file_sink_close(&sink.file, path, res->sha256, &close_err);
    if (!st && cst) {
        *err = close_err;
        st = cst;
    }
    if (st) return st;
    res->rows = es.rows;
    res->bytes = sink.file.bytes;
    res->done = true;
    pthread_mutex_lock(&r->mu);
    if (es.rows != es.expected_rows)
        fprintf(stderr, "%sbak2pg: table %s.%s: %llu rows decoded, the catalog counts %llu\n", r->prog.on ? "\n" : "",
                t->schema, t->name, (unsigned long long)es.rows, (unsigned long long)es.expected_rows);
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

/* Appends s as a psql single-quoted literal (quotes doubled). */
static void put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static b2p_status write_load_script(run *r, b2p_error *err) {
    FILE *f = open_out(r, "load.sql", err);
    if (!f) return err->code;
    fprintf(f, "-- Loads database %s (from %s) into PostgreSQL. Run it from this directory:\n"
               "--   cd %s && psql -d TARGET -f load.sql\n"
               "\\set ON_ERROR_STOP on\n",
            b2p_pages_set(r->in.src)->database_name, b2p_pages_path(r->in.src), r->o->outdir);
    if (r->o->single_transaction) fputs("BEGIN;\n", f);
    fputs("\\ir pre-data.sql\n", f);
    b2p_buf line = {0};
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < r->norder && !st; i++) {
        const b2p_cat_table *t = &r->in.cat->tables[r->order[i]];
        const table_result *res = &r->results[r->order[i]];
        if (!res->done) continue;
        const b2p_cat_column *cols[4096];
        size_t n = b2p_export_columns(t, cols, sizeof cols / sizeof cols[0]);
        b2p_buf_clear(&line);
        st = b2p_qualified(r->nm, t, &line, err);
        for (size_t k = 0; k < n && !st; k++) {
            st = b2p_buf_puts(&line, k ? ", " : " (", err);
            if (!st) st = b2p_quote_ident(b2p_names_column(r->nm, t, cols[k]->column_id), &line, err);
        }
        if (!st && n) st = b2p_buf_puts(&line, ")", err);
        if (st) break;
        fprintf(f, "\\copy %s FROM ", line.data);
        if (r->o->zstd) {
            char cmd[2200];
            snprintf(cmd, sizeof cmd, "zstd -dcq '%s'", res->file);
            fputs("PROGRAM ", f);
            put_quoted(f, cmd);
        } else {
            put_quoted(f, res->file);
        }
        fputc('\n', f);
    }
    b2p_buf_free(&line);
    fputs("\\ir post-data.sql\n", f);
    if (r->o->single_transaction) fputs("COMMIT;\n", f);
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
        char src[600], dst[600];
        snprintf(src, sizeof src, "%s.%s", t->schema, t->name);
        snprintf(dst, sizeof dst, "%s.%s", b2p_names_schema(r->nm, t), b2p_names_table(r->nm, t));
        json_begin_object(&j);
        json_kv_string(&j, "source", src);
        json_kv_string(&j, "target", dst);
        json_kv_bool(&j, "converted", res->done);
        json_kv_string(&j, "file", res->file);
        json_kv_uint(&j, "rows", res->rows);
        json_kv_uint(&j, "bytes", res->bytes);
        json_kv_string(&j, "sha256", res->done ? res->sha256 : "");
        json_end_object(&j);
    }
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

static b2p_status write_ddl(run *r, b2p_error *err) {
    b2p_ddl_options dopt = {.selected = r->selected};
    FILE *review = open_out(r, "review.sql", err);
    if (!review) return err->code;
    fputs("-- What bak2pg left out of the load scripts, and why. Nothing here runs: each item is\n"
          "-- commented out; translate it by hand where it matters.\n\n", review);
    FILE *pre = open_out(r, "pre-data.sql", err);
    b2p_status st = pre ? b2p_write_pre_data(r->in.cat, r->nm, &dopt, pre, review, &r->ddl, err) : err->code;
    if (pre) {
        b2p_status cst = close_out(pre, r, "pre-data.sql", err);
        if (!st) st = cst;
    }
    FILE *post = st ? NULL : open_out(r, "post-data.sql", err);
    if (!st) st = post ? b2p_write_post_data(r->in.cat, r->nm, &dopt, post, review, &r->ddl, err) : err->code;
    if (post) {
        b2p_status cst = close_out(post, r, "post-data.sql", err);
        if (!st) st = cst;
    }
    b2p_status cst = close_out(review, r, "review.sql", err);
    return st ? st : cst;
}

static b2p_status select_tables(run *r) {
    const b2p_catalog *cat = r->in.cat;
    r->selected = cli_select_tables(cat, &r->o->tables);
    r->order = calloc(cat->ntables ? cat->ntables : 1, sizeof *r->order);
    r->results = calloc(cat->ntables ? cat->ntables : 1, sizeof *r->results);
    if (!r->selected || !r->order || !r->results) return B2P_ERR_NOMEM;
    r->norder = b2p_load_order(cat, r->selected, r->order);
    for (size_t i = 0; i < r->norder; i++) r->prog.rows_total += b2p_table_rows(&cat->tables[r->order[i]]);
    r->prog.tables_total = r->norder;
    return B2P_OK;
}

static b2p_status convert(run *r, b2p_error *err) {
    b2p_status st = select_tables(r);
    if (st) return b2p_fail(err, st, "out of memory");
    char data_dir[4096];
    snprintf(data_dir, sizeof data_dir, "%s/data", r->o->outdir);
    if (cli_mkdir_p(data_dir) != 0)
        return b2p_fail(err, B2P_ERR_IO, "'%s': cannot create the output directory: %s", data_dir, strerror(errno));
    if ((st = b2p_names_build(r->in.cat, &r->o->tables.naming, &r->nm, err)) || (st = write_ddl(r, err))) return st;
    r->prog.on = isatty(STDERR_FILENO);
    r->prog.start = cli_now();
    st = write_data_files(r, err);
    progress_show(&r->prog, true);
    if (!st) st = write_load_script(r, err);
    if (!st) st = write_manifest(r, err);
    return st;
}

static void print_summary(const run *r, double seconds) {
    printf("converted %s: %zu tables (%u skipped), %llu rows, %.1f MB of data in %.1f s -> %s\n",
           b2p_pages_set(r->in.src)->database_name, r->prog.tables_done, r->skipped,
           (unsigned long long)r->prog.rows_done, r->prog.bytes_done / 1e6, seconds, r->o->outdir);
    printf("  %u keys, %u indexes, %u foreign keys, %u checks; %u expressions translated, %u items in review.sql\n",
           r->ddl.keys, r->ddl.indexes, r->ddl.foreign_keys, r->ddl.checks, r->ddl.translated, r->ddl.review_items);
    printf("  load with: cd %s && psql -d TARGET -f load.sql\n", r->o->outdir);
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
    if (!st) print_summary(&r, cli_now() - t0);
    b2p_names_free(r.nm);
    free(r.selected);
    free(r.order);
    free(r.results);
    free(r.worker_src);
    cli_close(&r.in);
    if (st) return cli_report(&err);
    return r.skipped ? B2P_ERR_UNSUPPORTED : 0;
}
