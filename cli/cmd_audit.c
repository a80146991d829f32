/* bak2pg audit: what is in a backup's rows and what is wrong with them, before a migration. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli.h"
#include "json.h"

static const char USAGE[] =
    "usage: bak2pg audit [options] FILE...\n"
    "\n"
    "Reads every row of the chosen tables once, straight from the backup's pages (no server),\n"
    "and says what is in them and what will trouble a migration to PostgreSQL: per table rows,\n"
    "pages and bytes; per column NULLs (count and %), distinct values (HyperLogLog estimate,\n"
    "standard error 1.6%), min, max and the longest value; and findings:\n"
    "  orphan-fk                  foreign key values with no parent row in the backup (keys\n"
    "                             created WITH NOCHECK or disabled let them exist), 10 samples\n"
    "  padding-case-match         child keys that reach their parent only without trailing spaces\n"
    "                             or ignoring case, as SQL Server compares: a PostgreSQL foreign\n"
    "                             key refuses them\n"
    "  untrusted-or-disabled-fk   the catalog's flags (is_disabled, is_not_trusted)\n"
    "  duplicate-in-disabled-unique  rows whose key an earlier row holds (trailing spaces and\n"
    "                             case ignored) in a disabled unique index, 10 samples\n"
    "  disabled-check             a disabled CHECK constraint (its rows are not evaluated: the\n"
    "                             audit does not run T-SQL; the catalog keeps no trusted flag for it)\n"
    "  future-date                date/time values after the backup's finish date (not year\n"
    "                             9999, the customary open end of a period)\n"
    "  pre-1900-date              values before 1900 in a column where at most 5% of the values\n"
    "                             are that old\n"
    "  bad-email, bad-phone, bad-url  values of e-mail columns (named *mail*, or half the values\n"
    "                             fit) that are not local@domain.tld; of phone columns (named\n"
    "                             phone/tel/fax/mobile) with other than digits, spaces and + - ( ) . / x\n"
    "                             or not 5-20 digits; of URL columns (named url/website/homepage/link,\n"
    "                             half the values fitting) not starting http://, https://, www.\n"
    "  nul-in-text, undefined-code-page-bytes, binary-text, hex-digest-in-text\n"
    "  numeric-near-limit         integers at 90% of their PostgreSQL type's range or more;\n"
    "                             decimal(p,s) values with p-s integer digits starting with 9\n"
    "  identity-near-end          an identity whose last value used 90% of its type's range\n"
    "A foreign key is checked when its referenced table comes first in load order (a table that\n"
    "references itself is not checked). Key values are compared as PostgreSQL's COPY text of them.\n"
    "\n"
    "options:\n"
    "  --all                      every user table (the default)\n"
    CLI_SELECT_HELP
    "  --json                     the audit as one JSON document on standard output\n"
    "  --html FILE                the audit as one self-contained HTML page (inline CSS and SVG,\n"
    "                             no scripts; opens offline), with the files' sha256; a new file\n"
    "  --backup-set N             the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes    salvage: read what is there when stripe files are missing\n"
    "  -j, --jobs N               read N tables at once (each after the tables it references,\n"
    "                             so that its keys are checked); the figures are the same\n"
    "  -q, --quiet                no progress on stderr\n"
    "  -h, --help                 this help\n"
    "\n"
    "The exit status is 0 whether or not there are findings (they are data, not errors); 14 when\n"
    "some table's rows could not be read (named on stderr).\n"
    "\n"
    "examples:\n"
    "  bak2pg audit Northwind.bak\n"
    "  bak2pg audit --html audit.html --json Northwind.bak > audit.json\n";
const char *const cli_audit_usage = USAGE;

typedef struct audit_opts {
    bool json, quiet, allow_missing;
    unsigned jobs;
    const char *html;
    int backup_set;
    cli_tables tables;
} audit_opts;

enum { OPT_ALL = CLI_OPT_FIRST_FREE, OPT_JSON, OPT_HTML, OPT_BACKUP_SET, OPT_ALLOW_MISSING };

static int parse_args(int argc, char **argv, audit_opts *o) {
    static const struct option longopts[] = {
        {"all", no_argument, NULL, OPT_ALL},
        {"json", no_argument, NULL, OPT_JSON},
        {"html", required_argument, NULL, OPT_HTML},
        {"backup-set", required_argument, NULL, OPT_BACKUP_SET},
        {"allow-missing-stripes", no_argument, NULL, OPT_ALLOW_MISSING},
        {"quiet", no_argument, NULL, 'q'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        CLI_SELECT_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":j:qh" CLI_TABLES_SHORTOPTS, longopts, NULL)) != -1) {
        rc = cli_tables_option("audit", &o->tables, c, optarg);
        if (rc >= 0) continue;
        rc = 0;
        switch (c) {
        case OPT_ALL: break;
        case OPT_JSON: o->json = true; break;
        case OPT_HTML: o->html = optarg; break;
        case OPT_BACKUP_SET: rc = cli_parse_backup_set("audit", optarg, &o->backup_set); break;
        case OPT_ALLOW_MISSING: o->allow_missing = true; break;
        case 'q': o->quiet = true; break;
        case 'j': rc = cli_parse_count("audit", "-j", optarg, 1, 64, &o->jobs); break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("audit", c, argv);
        }
    }
    if (rc) return rc;
    if (optind >= argc) return cli_usage_error("audit", "no backup file given");
    return 0;
}

/* ---- progress on a terminal -------------------------------------------------------------- */

typedef struct progress {
    pthread_mutex_t mu;          /* workers share the line and the counters */
    bool on, line_open;
    size_t done, total;
    uint64_t rows_before, rows_total;
    double start, table_start, last; /* last: when a line was last printed */
} progress;

static void on_progress(void *ctx, const b2p_cat_table *t, uint64_t rows) {
    progress *p = ctx;
    if (!p->on) return;
    pthread_mutex_lock(&p->mu);
    double now = cli_now();
    if (now - p->last < 0.5) { /* twice a second is enough for a person */
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->last = now;
    double secs = now - p->start, tsecs = now - p->table_start;
    double rate = tsecs > 0 ? (double)rows / tsecs : 0;
    double frac = p->rows_total ? (double)(p->rows_before + rows) / (double)p->rows_total : 0;
    double eta = frac > 0.01 && frac < 1 ? secs * (1 - frac) / frac : 0;
    fprintf(stderr, "\r[%zu/%zu tables] %s.%s: %llu/%llu rows, %.0f rows/s, overall ETA %d:%02d   ", p->done + 1,
            p->total, b2p_shown(t->schema), b2p_shown(t->name), (unsigned long long)rows,
            (unsigned long long)b2p_table_rows(t), rate, (int)eta / 60, (int)eta % 60);
    p->line_open = true;
    pthread_mutex_unlock(&p->mu);
}

static void end_progress(progress *p) {
    if (p->line_open) fputs("\r\033[K", stderr);
    p->line_open = false;
}

/* ---- output -------------------------------------------------------------------------------- */

static void print_text(const b2p_audit *a) {
    for (size_t i = 0; i < b2p_audit_ntables(a); i++) {
        const b2p_audit_table *t = b2p_audit_table_at(a, i);
        printf("%s.%s: %llu rows, %llu pages, %llu bytes%s%s\n", b2p_shown(t->table->schema), b2p_shown(t->table->name),
               (unsigned long long)t->rows, (unsigned long long)t->pages, (unsigned long long)t->bytes,
               t->skipped ? "; not read: " : "", t->skipped ? t->skipped : "");
        for (size_t j = 0; j < t->ncolumns; j++) {
            const b2p_audit_column *c = &t->columns[j];
            uint64_t all = c->nulls + c->nonnull;
            printf("  %-30s nulls %llu (%.1f%%), ~%llu distinct, longest %zu", b2p_shown(c->col->name),
                   (unsigned long long)c->nulls, all ? 100.0 * (double)c->nulls / (double)all : 0.0,
                   (unsigned long long)b2p_audit_distinct(c), c->longest);
            if (c->nonnull) printf(", min %s, max %s", b2p_shown(c->min.data), b2p_shown(c->max.data));
            putchar('\n');
        }
    }
    size_t n = b2p_audit_nfindings(a);
    printf("\n%zu finding%s%s\n", n, n == 1 ? "" : "s", n ? ":" : " (distinct counts: HyperLogLog, error 1.6%)");
    for (size_t i = 0; i < n; i++) {
        const b2p_finding *f = b2p_audit_finding_at(a, i);
        printf("  %s: %s.%s%s%s: %llu %s\n", b2p_finding_name(f->kind), b2p_shown(f->table->schema),
               b2p_shown(f->table->name), f->subject[0] ? " " : "", b2p_shown(f->subject),
               (unsigned long long)f->count, b2p_shown(f->detail));
        for (size_t k = 0; k < f->nsamples; k++) printf("      e.g. '%s'\n", b2p_shown(f->samples[k]));
    }
}

static void print_json(const b2p_audit *a, const b2p_audit_source *src) {
    json j;
    json_init(&j, stdout);
    json_begin_object(&j);
    json_key(&j, "source");
    json_begin_object(&j);
    json_kv_string(&j, "server", src->server);
    json_kv_string(&j, "database", src->database);
    json_kv_string(&j, "version", src->version);
    json_kv_string(&j, "backup_finish_date", src->backup_date);
    json_key(&j, "files");
    json_begin_array(&j);
    for (size_t i = 0; i < src->nfiles; i++) json_string(&j, src->paths[i]);
    json_end_array(&j);
    json_end_object(&j);
    json_kv_string(&j, "distinct_estimate", "HyperLogLog, 4096 registers, standard error 1.6%");
    json_key(&j, "tables");
    json_begin_array(&j);
    for (size_t i = 0; i < b2p_audit_ntables(a); i++) {
        const b2p_audit_table *t = b2p_audit_table_at(a, i);
        json_begin_object(&j);
        json_kv_string(&j, "schema", t->table->schema);
        json_kv_string(&j, "name", t->table->name);
        json_kv_uint(&j, "rows", t->rows);
        json_kv_uint(&j, "pages", t->pages);
        json_kv_uint(&j, "bytes", t->bytes);
        if (t->skipped) json_kv_string(&j, "skipped", t->skipped);
        json_key(&j, "columns");
        json_begin_array(&j);
        for (size_t k = 0; k < t->ncolumns; k++) {
            const b2p_audit_column *c = &t->columns[k];
            json_begin_object(&j);
            json_kv_string(&j, "name", c->col->name);
            json_kv_string(&j, "type", c->col->type_name);
            json_kv_uint(&j, "nulls", c->nulls);
            json_kv_uint(&j, "distinct_estimate", b2p_audit_distinct(c));
            json_kv_uint(&j, "longest", c->longest);
            if (c->nonnull) {
                json_kv_string(&j, "min", c->min.data);
                json_kv_string(&j, "max", c->max.data);
            }
            json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "findings");
    json_begin_array(&j);
    for (size_t i = 0; i < b2p_audit_nfindings(a); i++) {
        const b2p_finding *f = b2p_audit_finding_at(a, i);
        json_begin_object(&j);
        json_kv_string(&j, "kind", b2p_finding_name(f->kind));
        json_kv_string(&j, "schema", f->table->schema);
        json_kv_string(&j, "table", f->table->name);
        json_kv_string(&j, "subject", f->subject);
        json_kv_uint(&j, "count", f->count);
        json_kv_string(&j, "detail", f->detail);
        json_key(&j, "samples");
        json_begin_array(&j);
        for (size_t k = 0; k < f->nsamples; k++) json_string(&j, f->samples[k]);
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
}

/* sha256 of a whole file, for the HTML report's source section (a second read of the file). */
static b2p_status hash_file(const char *path, char hex[65], b2p_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return b2p_fail(err, B2P_ERR_IO, "%s: cannot open to hash it", path);
    b2p_sha256 s;
    b2p_sha256_init(&s);
    static char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) b2p_sha256_update(&s, buf, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad) return b2p_fail(err, B2P_ERR_IO, "%s: read error while hashing", path);
    b2p_sha256_hex(&s, hex);
    return B2P_OK;
}

static b2p_status write_html(const b2p_audit *a, b2p_audit_source *src, const char *path, b2p_error *err) {
    char(*hex)[65] = calloc(src->nfiles ? src->nfiles : 1, sizeof *hex);
    const char **hexp = calloc(src->nfiles ? src->nfiles : 1, sizeof *hexp);
    b2p_status st = hex && hexp ? B2P_OK : b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < src->nfiles; i++) {
        st = hash_file(src->paths[i], hex[i], err);
        hexp[i] = hex[i];
    }
    src->sha256 = hexp;
    b2p_buf page = {0};
    if (!st) st = b2p_audit_html(a, src, &page, err);
    if (!st) st = cli_write_new_file(path, page.data, page.len, err);
    b2p_buf_free(&page);
    src->sha256 = NULL;
    free(hexp);
    free(hex);
    return st;
}

/* ---- the run: tables on -j workers, each after the tables it references ------------------- */

typedef struct audit_run {
    const cli_source *in;
    const size_t *order;             /* job -> catalog index (load order) */
    size_t n;
    b2p_audit *a;
    progress *pr;
    b2p_pages **worker_src;
    int rc;                          /* the worst table's status (guarded by pr->mu) */
} audit_run;

static b2p_status worker_start(void *ctx, unsigned w, b2p_error *err) {
    audit_run *r = ctx;
    if (w == 0) {
        r->worker_src[0] = r->in->src;
        return B2P_OK;
    }
    r->worker_src[w] = b2p_pages_fork(r->in->src, err);
    return r->worker_src[w] ? B2P_OK : err->code;
}

static void worker_stop(void *ctx, unsigned w) {
    audit_run *r = ctx;
    if (w) b2p_pages_free(r->worker_src[w]);
}

/* One table; a table that cannot be read is reported and the others go on (exit status 14). */
static b2p_status run_job(void *ctx, b2p_jobs *jobs, size_t job, unsigned w, b2p_error *err) {
    (void)jobs;
    (void)err;
    audit_run *r = ctx;
    const b2p_cat_table *t = &r->in->cat->tables[r->order[job]];
    pthread_mutex_lock(&r->pr->mu);
    r->pr->table_start = cli_now();
    pthread_mutex_unlock(&r->pr->mu);
    b2p_error te = {0};
    b2p_status st = b2p_audit_table_rows(r->a, job, r->worker_src[w], t, &te);
    const b2p_audit_table *at = b2p_audit_table_at(r->a, job);
    pthread_mutex_lock(&r->pr->mu);
    if (st || at->skipped) end_progress(r->pr);
    if (st) {
        cli_report(&te);
        r->rc = st == B2P_ERR_NOMEM ? B2P_ERR_NOMEM : r->rc ? r->rc : B2P_ERR_UNSUPPORTED;
    } else if (at->skipped) {
        fprintf(stderr, "bak2pg: table %s.%s not read: %s\n", b2p_shown(t->schema), b2p_shown(t->name), at->skipped);
        r->rc = r->rc ? r->rc : B2P_ERR_UNSUPPORTED;
    }
    r->pr->done++;
    r->pr->rows_before += b2p_table_rows(t);
    pthread_mutex_unlock(&r->pr->mu);
    return B2P_OK;
}

/* Job i waits for the jobs before it (in load order) whose tables it references. */
static int read_tables(const audit_opts *o, const cli_source *in, const size_t *order, size_t n, b2p_audit *a,
                       progress *pr) {
    unsigned threads = o->jobs ? o->jobs : 1;
    size_t *ndeps = calloc(n + 1, sizeof *ndeps), **deps = calloc(n + 1, sizeof *deps), *pos = calloc(in->cat->ntables + 1, sizeof *pos);
    b2p_pages **wsrc = calloc(threads, sizeof *wsrc);
    b2p_error err = {0};
    int rc = 0;
    if (!ndeps || !deps || !pos || !wsrc) rc = cli_report((b2p_fail(&err, B2P_ERR_NOMEM, "out of memory"), &err));
    for (size_t i = 0; !rc && i < in->cat->ntables; i++) pos[i] = SIZE_MAX;
    for (size_t i = 0; !rc && i < n; i++) pos[order[i]] = i;
    for (size_t i = 0; !rc && i < n; i++) {
        const b2p_cat_table *t = &in->cat->tables[order[i]];
        if (!(deps[i] = calloc(t->nforeign_keys + 1, sizeof **deps))) rc = cli_report((b2p_fail(&err, B2P_ERR_NOMEM, "out of memory"), &err));
        for (size_t k = 0; !rc && k < t->nforeign_keys; k++) {
            const b2p_cat_table *p = b2p_catalog_table_by_id(in->cat, t->foreign_keys[k].ref_object_id);
            size_t j = p ? pos[p - in->cat->tables] : SIZE_MAX;
            if (j < i) deps[i][ndeps[i]++] = j;
        }
    }
    audit_run r = {.in = in, .order = order, .n = n, .a = a, .pr = pr, .worker_src = wsrc};
    b2p_jobs_spec spec = {.njobs = n, .threads = threads, .ndeps = ndeps, .deps = (const size_t *const *)deps,
                          .ctx = &r, .worker_start = worker_start, .worker_stop = worker_stop, .run = run_job};
    if (!rc && b2p_jobs_run(&spec, &err)) rc = cli_report(&err);
    if (!rc) rc = r.rc;
    for (size_t i = 0; deps && i < n; i++) free(deps[i]);
    free(deps);
    free(ndeps);
    free(pos);
    free(wsrc);
    return rc;
}

/* ---- the run ------------------------------------------------------------------------------- */

static int run(audit_opts *o, char **files, size_t nfiles) {
    b2p_error err = {0};
    cli_source in;
    bool *sel = NULL;
    size_t *order = NULL;
    b2p_audit *a = NULL;
    int rc = 0;
    b2p_status st = cli_open_catalog(&in, files, nfiles, o->backup_set, o->allow_missing, &err);
    if (st) return cli_report(&err);
    const b2p_set_info *set = b2p_pages_set(in.src);
    char finished[32], created[32], version[64];
    b2p_datetime_format(set->finish_date, finished, sizeof finished);
    b2p_datetime_format(set->database_creation_date, created, sizeof created);
    snprintf(version, sizeof version, "%s (%u.%u.%u)", b2p_database_version_name(set->database_version),
             set->version_major, set->version_minor, set->version_build);
    progress pr = {.mu = PTHREAD_MUTEX_INITIALIZER};
    size_t n = 0;
    st = cli_select_tables(in.cat, &o->tables, NULL, &sel, &err);
    if (!st && !(order = calloc(in.cat->ntables + 1, sizeof *order))) st = b2p_fail(&err, B2P_ERR_NOMEM, "out of memory");
    if (!st) n = b2p_load_order(in.cat, sel, order);
    if (!st) st = b2p_audit_new(in.cat, set->finish_date.year ? finished : "", n, &a, &err);
    if (st) {
        rc = cli_report(&err);
        goto done;
    }
    pr.start = cli_now();
    pr.on = !o->quiet && isatty(2);
    pr.total = n;
    for (size_t i = 0; i < n; i++) pr.rows_total += b2p_table_rows(&in.cat->tables[order[i]]);
    b2p_audit_on_progress(a, on_progress, &pr);
    rc = read_tables(o, &in, order, n, a, &pr);
    end_progress(&pr);
    b2p_audit_finish(a);
    b2p_audit_source src = {.nfiles = nfiles, .paths = (const char *const *)files, .server = set->server_name,
                            .database = set->database_name, .version = version, .backup_date = finished,
                            .created = created};
    if (o->json) print_json(a, &src);
    else print_text(a);
    if (o->html && write_html(a, &src, o->html, &err)) rc = cli_report(&err);
done:
    b2p_audit_free(a);
    free(order);
    free(sel);
    cli_close(&in);
    return rc;
}

int cmd_audit(int argc, char **argv) {
    audit_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    return run(&o, argv + optind, (size_t)(argc - optind));
}
