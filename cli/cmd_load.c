/* bak2pg load: a backup straight into a PostgreSQL server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "emit/emit.h"

static const char USAGE[] =
    "usage: bak2pg load [-d DBNAME | --dsn CONNINFO] [options] FILE...\n"
    "\n"
    "Loads a SQL Server backup straight into PostgreSQL: creates the schemas and tables, streams\n"
    "every table's rows through COPY FROM STDIN (decoded from the backup's pages as they go; no\n"
    "temporary files), each table in a transaction of its own, then adds keys, indexes, foreign\n"
    "keys, checks and identity restarts. The same DDL and rows as `bak2pg convert` writes to files.\n"
    "\n"
    "Run it again, on the same backup or next week's, and nothing is duplicated: a ledger in the\n"
    "target (schema bak2pg) records every run and, per table, a hash of the content loaded, in the\n"
    "same transaction as the rows. Unchanged tables are skipped; changed ones are matched row by\n"
    "row (by primary key, else a unique key, else the whole row): new rows are inserted, changed\n"
    "rows updated, rows the backup no longer has reported (deleted with --sync-deletes). Rows and\n"
    "columns only the target has are left alone. A killed or disconnected run is resumed by running\n"
    "the same command again: finished tables are not loaded twice.\n"
    "\n"
    "options:\n"
    "  -d, --dbname, --dsn DB     where to load: a database name ('sales'), or a libpq connection\n"
    "                             string or URI ('host=db1 dbname=sales user=loader',\n"
    "                             'postgresql://db1/sales'); default PGDATABASE. PGHOST, PGPORT,\n"
    "                             PGUSER, PGPASSWORD, ... and ~/.pgpass apply as for psql\n"
    "  -C, --create               create the target database if it does not exist (as pg_restore\n"
    "                             -C: through the database postgres, with the same conninfo)\n"
    "  --mode MODE                auto (default): create when the target holds none of the tables,\n"
    "                             else remigrate; create: refuse a target that holds them;\n"
    "                             remigrate: match and merge as above; append: add every row of\n"
    "                             the backup to the tables as they are, matching nothing\n"
    "  --sync-deletes             remigrate: delete the target's rows the backup does not have\n"
    "                             (children before parents), so that each table equals the backup\n"
    "  --merge-existing           merge into target tables bak2pg did not create or load (ones its\n"
    "                             ledger does not list: the target's own); without it such a table\n"
    "                             stops the run before any row is written (exit 2)\n"
    "  --force                    load a backup of another database than the one the target holds\n"
    "                             (another family GUID, even of the same name), or one older than\n"
    "                             the last loaded (lower LSN, earlier finish); refused without it\n"
    "  --replace-drifted          a table whose schema changed in a way a load does not apply is\n"
    "                             dropped (CASCADE: foreign keys pointing at it go too) and loaded\n"
    "                             in its new shape, instead of being left as it is\n"
    "  --retries N                an unreachable server or a lost connection: try N more times,\n"
    "                             pausing 1, 2, 4, ... s, redoing the table that was cut (default 3)\n"
    "  --lock-wait SECONDS        another load holds the target's ledger lock (or the backend of one\n"
    "                             that was killed mid-statement, until that statement ends): name\n"
    "                             it (pid, state, start, from pg_stat_activity) and wait this long\n"
    "                             for it before giving up (default 30)\n"
    "  -j, --jobs N               load N tables at once, each on its own connection (default 1); a\n"
    "                             table starts once every table it references is done\n"
    "  -v, --verbose              also the definitions left out (views, procedures, expressions),\n"
    "                             in full, as they come\n"
    "  -q, --quiet                only what went wrong: no line per table, no summary\n"
    "  -l, --list                 list what would be created and loaded, in order (the backup's\n"
    "                             plan; the target is not connected to), and load nothing\n"
    "  --review-file FILE         also write what was left out (review.sql's text) to FILE, a new\n"
    "                             file; the target's ledger keeps it always (bak2pg.runs.review)\n"
    "  --log-json                 one JSON object per line on stdout for each event (run start,\n"
    "                             table start, progress, table done, run done), for schedulers\n"
    CLI_TABLES_HELP
    "  --nul error|strip|replace  text holding NUL characters (see bak2pg dump --help): with error\n"
    "                             (the default) such a table fails and the others still load;\n"
    "                             strip and replace name each table changed and how many values\n"
    "                             (stderr; bak2pg.runs.nul_policy, table_runs.nul_values_changed)\n"
    "  --backup-set N             the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes    salvage: load what is there when stripe files are missing\n"
    "  -h, --help                 this help\n"
    "\n"
    "A table whose schema changed in a way a load does not apply (a column's type, a dropped column,\n"
    "a new NOT NULL column, a different key) is reported and left as it is; the others still load.\n"
    "New tables and new nullable columns are added. Check the result with `bak2pg verify`.\n"
    "\n"
    "Exit status: 0 every table loaded, merged or unchanged; 21 the run completed but some tables\n"
    "failed (each named, with its reason, on stderr and in bak2pg.table_runs; the others are\n"
    "complete); 2 a usage error, a --dsn libpq cannot parse, a target table bak2pg does not own\n"
    "(--merge-existing), a backup of another database or an older one (--force); 14 a table\n"
    "drifted; 15 the target database does not exist (createdb, or --create); 17 server unreachable\n"
    "(the only failure retried), 18 credentials refused, 19 read-only target, 20 PostgreSQL refused\n"
    "a statement or rows, or the ledger lock stayed held past --lock-wait; the others as for every\n"
    "command (README.md).\n"
    "\n"
    "examples:\n"
    "  bak2pg load --dsn 'dbname=northwind' Northwind.bak\n"
    "  bak2pg load --dsn 'dbname=northwind' --sync-deletes Northwind-next-week.bak\n"
    "  PGPASSWORD=... bak2pg load --dsn 'postgresql://loader@db1:5432/sales' --schema-map dbo=sales full.bak diff.bak\n";
const char *const cli_load_usage = USAGE;

enum { MAX_DSN_ARGS = 8 };
enum { OPT_NUL = CLI_OPT_FIRST_FREE, OPT_REVIEW_FILE };

typedef struct load_opts {
    const char *dsn;                 /* a private copy: the argv text is blanked after parsing */
    /* where getopt found each --dsn value (its optarg): inside argv, either a whole element
     * (`--dsn X`, `--ds X`) or the tail of one (`--dsn=X`, `--ds=X`) */
    char *dsn_args[MAX_DSN_ARGS];
    size_t ndsn_args;
    cli_tables tables;
    bool allow_missing, sync_deletes, log_json, replace_drifted, merge_existing, create, force;
    b2p_load_mode mode;
    bool verbose, quiet, list;
    const char *review_file;         /* --review-file: review.sql's text, written there too */
    unsigned retries, jobs, lock_wait;
    int backup_set;
    b2p_export_options ex;
} load_opts;

static int parse_mode(const char *arg, b2p_load_mode *out) {
    static const b2p_load_mode modes[] = {B2P_LOAD_AUTO, B2P_LOAD_CREATE, B2P_LOAD_APPEND, B2P_LOAD_REMIGRATE};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(arg, b2p_load_mode_name(modes[i]))) {
            *out = modes[i];
            return 0;
        }
    return cli_usage_error("load", "--mode takes auto, create, remigrate or append, not '%s'", arg);
}

static int parse_args(int argc, char **argv, load_opts *o) {
    static const struct option longopts[] = {
        {"dsn", required_argument, NULL, 'd'},          {"nul", required_argument, NULL, OPT_NUL},
        {"dbname", required_argument, NULL, 'd'},       {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},              {"list", no_argument, NULL, 'l'},              {"review-file", required_argument, NULL, OPT_REVIEW_FILE},
        {"backup-set", required_argument, NULL, 'b'},   {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"mode", required_argument, NULL, 'M'},         {"sync-deletes", no_argument, NULL, 'D'},
        {"retries", required_argument, NULL, 'r'},      {"log-json", no_argument, NULL, 'J'},
        {"jobs", required_argument, NULL, 'j'},         {"replace-drifted", no_argument, NULL, 'R'},
        {"merge-existing", no_argument, NULL, 'E'},     {"create", no_argument, NULL, 'C'},
        {"force", no_argument, NULL, 'F'},             {"lock-wait", required_argument, NULL, 'W'},     {"help", no_argument, NULL, 'h'},               CLI_TABLES_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    optind = 1;
    opterr = 0; /* an unknown option is reported once, by cli_bad_option */
    o->retries = 3;
    o->lock_wait = 30;
    while (!rc && (c = getopt_long(argc, argv, ":hj:d:Cvql" CLI_TABLES_SHORTOPTS, longopts, NULL)) != -1) {
        rc = cli_tables_option("load", &o->tables, c, optarg);
        if (rc >= 0) continue;
        rc = 0;
        switch (c) {
        case 'd':
            if (o->ndsn_args == MAX_DSN_ARGS) return cli_usage_error("load", "--dsn given more than %d times", MAX_DSN_ARGS);
            o->dsn_args[o->ndsn_args++] = optarg;
            o->dsn = optarg;
            break;
        case 'm': o->allow_missing = true; break;
        case 'v': o->verbose = true; break;
        case 'q': o->quiet = true; break;
        case 'l': o->list = true; break;
        case OPT_REVIEW_FILE: o->review_file = optarg; break;
        case 'D': o->sync_deletes = true; break;
        case 'J': o->log_json = true; break;
        case 'R': o->replace_drifted = true; break;
        case 'E': o->merge_existing = true; break;
        case 'C': o->create = true; break;
        case 'F': o->force = true; break;
        case 'W': rc = cli_parse_count("load", "--lock-wait", optarg, 0, 86400, &o->lock_wait); break;
        case 'M': rc = parse_mode(optarg, &o->mode); break;
        case 'j': rc = cli_parse_count("load", "-j", optarg, 1, 64, &o->jobs); break;
        case 'r': rc = cli_parse_count("load", "--retries", optarg, 0, 20, &o->retries); break;
        case OPT_NUL: rc = cli_parse_nul("load", optarg, &o->ex.nul_policy); break;
        case 'b': rc = cli_parse_backup_set("load", optarg, &o->backup_set); break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("load", c, argv);
        }
    }
    if (rc) return rc;
    if (!o->dsn && !cli_env_names_database() && !o->list)
        return cli_usage_error("load", "say where to load: -d DBNAME or --dsn CONNINFO (or set PGDATABASE)");
    if (o->verbose && o->quiet) return cli_usage_error("load", "-v and -q exclude each other");
    if (optind >= argc) return cli_usage_error("load", "no backup file given");
    if (o->sync_deletes && o->mode != B2P_LOAD_AUTO && o->mode != B2P_LOAD_REMIGRATE)
        return cli_usage_error("load", "--sync-deletes goes with --mode remigrate (or auto)");
    return 0;
}

/* ---- what the user sees: a line per table, progress on a terminal, or JSON lines ---------- */

typedef struct reporter {
    bool log_json, tty, sync_deletes, verbose, quiet;
    const b2p_names *nm;                   /* the tables' PostgreSQL names, for the lines shown */
    b2p_buf review;                        /* review.sql's text, as the DDL runs produce it */
    size_t review_items;
    b2p_nul_policy nul_policy;
    double start, table_start;
    uint64_t rows_total, rows_before;      /* the catalog's counts: for the overall ETA */
    size_t tables_total, tables_done;
    const char *current;                   /* "schema.table" in progress */
    char current_buf[600];
    bool line_open;                        /* a progress line waits for its newline */
} reporter;

static void end_progress_line(reporter *r) {
    if (r->line_open) fputc('\n', stderr);
    r->line_open = false;
}

static void event_begin(json *j, const char *event) {
    json_init(j, stdout);
    json_begin_object(j);
    json_kv_string(j, "event", event);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&ts.tv_sec));
    json_kv_string(j, "time", when);
}

static void event_end(json *j) {
    json_end_object(j);
    json_finish(j);
    fflush(stdout);
}

static void on_notice(void *ctx, const char *message) {
    reporter *r = ctx;
    if (r->log_json) {
        json j;
        event_begin(&j, "notice");
        json_kv_string(&j, "message", message);
        event_end(&j);
        return;
    }
    end_progress_line(r);
    fprintf(stderr, "bak2pg: PostgreSQL: %s\n", b2p_shown(message));
}

static void on_review(void *ctx, const char *review_sql) {
    reporter *r = ctx;
    size_t items = 0;
    for (const char *p = review_sql; (p = strstr(p, "\n-- ")); p++) items++;
    if (!items) return;
    r->review_items += items;
    b2p_buf_puts(&r->review, review_sql, NULL); /* (out of memory: --review-file says so) */
    if (r->log_json) {
        json j;
        event_begin(&j, "review");
        json_kv_uint(&j, "items", items);
        json_kv_string(&j, "review_sql", review_sql);
        event_end(&j);
        return;
    }
    if (!r->verbose) return; /* said once, in the summary: the ledger and --review-file hold it */
    end_progress_line(r);
    fprintf(stderr, "bak2pg: some definitions were left out (what convert writes to review.sql):\n%s", review_sql);
}

static void on_table_start(void *ctx, const b2p_cat_table *t, const char *doing) {
    reporter *r = ctx;
    snprintf(r->current_buf, sizeof r->current_buf, "%s.%s", t->schema, t->name);
    r->current = r->current_buf;
    r->table_start = cli_now();
    if (r->log_json) {
        json j;
        event_begin(&j, "table_start");
        json_kv_string(&j, "table", r->current);
        json_kv_string(&j, "doing", doing);
        json_kv_uint(&j, "catalog_rows", b2p_table_rows(t));
        event_end(&j);
    }
}

static void on_progress(void *ctx, const b2p_cat_table *t, uint64_t rows) {
    reporter *r = ctx;
    double t_now = cli_now(), table_secs = t_now - r->table_start, secs = t_now - r->start;
    double rate = table_secs > 0 ? (double)rows / table_secs : 0;
    uint64_t done = r->rows_before + rows;
    double frac = r->rows_total ? (double)done / (double)r->rows_total : 0;
    double eta = frac > 0.01 && frac < 1 ? secs * (1 - frac) / frac : 0;
    if (r->log_json) {
        json j;
        event_begin(&j, "progress");
        json_kv_string(&j, "table", r->current);
        json_kv_uint(&j, "rows", rows);
        json_kv_uint(&j, "catalog_rows", b2p_table_rows(t));
        json_kv_uint(&j, "rows_per_second", (uint64_t)rate);
        json_kv_uint(&j, "eta_seconds", (uint64_t)eta);
        event_end(&j);
    } else if (r->tty) {
        fprintf(stderr, "\r[%zu/%zu tables] %s: %llu/%llu rows, %.0f rows/s, overall ETA %d:%02d   ", r->tables_done + 1,
                r->tables_total, b2p_shown(r->current), (unsigned long long)rows, (unsigned long long)b2p_table_rows(t), rate,
                (int)eta / 60, (int)eta % 60);
        r->line_open = true;
    }
}

/* The table as the target knows it ("public.customers"), shown escaped. */
static const char *target_name(const reporter *r, const b2p_cat_table *t, char *buf, size_t len) {
    b2p_buf q = {0};
    snprintf(buf, len, "%s", b2p_shown(b2p_qualified(r->nm, t, &q, NULL) ? t->name : q.data));
    b2p_buf_free(&q);
    return buf;
}

static void print_result(const reporter *r, const b2p_load_result *res) {
    const b2p_cat_table *t = res->table;
    char name[600];
    if (r->quiet && res->action != B2P_LOAD_FAILED && res->action != B2P_LOAD_DRIFT && !res->export.nul_values) return;
    fprintf(stderr, "bak2pg: %s: %s", target_name(r, t, name, sizeof name), b2p_load_action_name(res->action));
    switch (res->action) {
    case B2P_LOAD_REPLACED:
        fprintf(stderr, " (%s): %llu rows dropped, %llu loaded", b2p_shown(res->message), (unsigned long long)res->deleted,
                (unsigned long long)res->inserted);
        break;
    case B2P_LOAD_LOADED:
    case B2P_LOAD_APPENDED: fprintf(stderr, ", %llu rows", (unsigned long long)res->inserted); break;
    case B2P_LOAD_MERGED:
        if (res->delete_pass) {
            fprintf(stderr, ": %s", b2p_shown(res->message));
            break;
        }
        fprintf(stderr, " by %s: %llu rows in the backup; %llu inserted, %llu updated, %llu only in the target%s",
                b2p_shown(res->match_key), (unsigned long long)res->source_rows, (unsigned long long)res->inserted,
                (unsigned long long)res->updated, (unsigned long long)res->disappeared,
                !res->disappeared ? "" : r->sync_deletes ? " (deleted once every table is merged)" : " (kept; --sync-deletes deletes them)");
        break;
    default: fprintf(stderr, ": %s", b2p_shown(res->message)); break;
    }
    fputc('\n', stderr);
    if (res->export.nul_values)
        fprintf(stderr, "bak2pg: table %s: %llu values held NUL characters: %s (--nul %s)\n", name,
                (unsigned long long)res->export.nul_values,
                r->nul_policy == B2P_NUL_STRIP ? "stripped" : "each NUL replaced by U+FFFD",
                r->nul_policy == B2P_NUL_STRIP ? "strip" : "replace");
    if (res->export.rows != res->export.expected_rows && res->export.rows)
        fprintf(stderr, "bak2pg: table %s: %llu rows decoded, the catalog counts %llu\n", name,
                (unsigned long long)res->export.rows, (unsigned long long)res->export.expected_rows);
}

static void on_table_done(void *ctx, const b2p_load_result *res) {
    reporter *r = ctx;
    bool delete_pass = res->delete_pass;
    if (!delete_pass) {
        r->tables_done++;
        r->rows_before += b2p_table_rows(res->table);
    }
    if (r->log_json) {
        json j;
        event_begin(&j, delete_pass ? "table_deletes" : "table_done");
        char name[600];
        snprintf(name, sizeof name, "%s.%s", res->table->schema, res->table->name);
        json_kv_string(&j, "table", name);
        json_kv_string(&j, "action", b2p_load_action_name(res->action));
        json_kv_string(&j, "match_key", res->match_key);
        json_kv_uint(&j, "source_rows", res->source_rows);
        json_kv_uint(&j, "inserted", res->inserted);
        json_kv_uint(&j, "updated", res->updated);
        json_kv_uint(&j, "deleted", res->deleted);
        json_kv_uint(&j, "only_in_target", res->disappeared);
        json_kv_uint(&j, "decoded_rows", res->export.rows);
        json_kv_uint(&j, "catalog_rows", res->export.expected_rows);
        json_kv_uint(&j, "nul_values_changed", res->export.nul_values);
        if (res->message[0]) json_kv_string(&j, "message", res->message);
        event_end(&j);
        return;
    }
    end_progress_line(r);
    print_result(r, res);
}

static void print_summary(const reporter *r, const b2p_load_stats *s, const char *db, b2p_status st, const b2p_error *err) {
    double secs = cli_now() - r->start;
    if (r->log_json) {
        json j;
        event_begin(&j, "run_done");
        json_kv_string(&j, "database", db);
        json_kv_string(&j, "run_id", s->run_id);
        json_kv_string(&j, "mode", b2p_load_mode_name(s->mode));
        json_kv_bool(&j, "ok", st == B2P_OK);
        if (st) json_kv_string(&j, "error", err->msg);
        json_key(&j, "exit_status");
        json_uint(&j, (uint64_t)st);
        json_kv_uint(&j, "tables", s->tables);
        json_kv_uint(&j, "tables_unchanged", s->tables_unchanged);
        json_kv_uint(&j, "tables_failed", s->tables_failed);
        json_kv_uint(&j, "tables_skipped", s->tables_skipped);
        json_kv_uint(&j, "rows_sent", s->rows);
        json_kv_uint(&j, "inserted", s->inserted);
        json_kv_uint(&j, "updated", s->updated);
        json_kv_uint(&j, "deleted", s->deleted);
        json_kv_uint(&j, "only_in_target", s->disappeared);
        json_key(&j, "seconds");
        json_uint(&j, (uint64_t)(secs + 0.5));
        event_end(&j);
        return;
    }
    if (st && st != B2P_ERR_PARTIAL) return;
    if (r->quiet) return;
    printf("%s %s (run %s, %s): %u tables loaded or merged, %u unchanged, %u failed, %u skipped; "
           "%llu inserted, %llu updated, %llu deleted, %llu only in the target; %.1f s\n",
           s->mode == B2P_LOAD_CREATE ? "loaded" : "remigrated", b2p_shown(db), s->run_id, b2p_load_mode_name(s->mode), s->tables,
           s->tables_unchanged, s->tables_failed, s->tables_skipped, (unsigned long long)s->inserted,
           (unsigned long long)s->updated, (unsigned long long)s->deleted, (unsigned long long)s->disappeared, secs);
    if (s->ddl.tables || s->ddl.keys)
        printf("  created %u tables; added %u keys, %u indexes, %u foreign keys, %u checks\n", s->ddl.tables, s->ddl.keys,
               s->ddl.indexes, s->ddl.foreign_keys, s->ddl.checks);
}

/* What the DDL left out: in the target's ledger (bak2pg.runs.review) always; said in one line
 * (all of it with -v), and written to --review-file. */
static b2p_status report_review(const reporter *r, const load_opts *o, const b2p_load_stats *s, b2p_error *err) {
    if (!r->review_items) return B2P_OK;
    const char *run_id = s->run_id;
    if (!r->quiet && !r->log_json)
        fprintf(stderr,
                "bak2pg: %zu definitions (views, procedures, expressions) were not translated: the target's "
                "bak2pg.runs.review (run %s) lists each with the reason%s%s%s\n",
                (size_t)s->ddl.review_items, run_id[0] ? run_id : "?", o->review_file ? ", and so does " : "",
                o->review_file ? b2p_shown(o->review_file) : "", r->verbose ? "" : " (-v shows them here)");
    if (!o->review_file) return B2P_OK;
    return cli_write_new_file(o->review_file, r->review.data ? r->review.data : "", r->review.len, err);
}

/* Where in argv[i] a --dsn value starts, or NULL: found by the pointer getopt handed over, not
 * by the option's spelling (getopt_long takes any unique prefix, with or without '='). */
static char *dsn_in(const load_opts *o, char *arg) {
    size_t len = strlen(arg);
    for (size_t k = 0; k < o->ndsn_args; k++)
        if (o->dsn_args[k] >= arg && o->dsn_args[k] <= arg + len) return o->dsn_args[k];
    return NULL;
}

/* The command line as typed, for the ledger (bak2pg.runs.options); every --dsn value is
 * replaced by <dsn>: it may hold a password. */
static char *command_line(const load_opts *o, int argc, char **argv) {
    b2p_buf b = {0};
    b2p_error err;
    for (int i = 0; i < argc; i++) {
        char *secret = dsn_in(o, argv[i]);
        size_t keep = secret ? (size_t)(secret - argv[i]) : strlen(argv[i]);
        if (b2p_buf_puts(&b, i ? " " : "", &err) || b2p_buf_append(&b, argv[i], keep, &err) ||
            (secret && b2p_buf_puts(&b, "<dsn>", &err)))
            break;
    }
    return b.data;
}

/* The --dsn values leave argv (what /proc/PID/cmdline and ps show), once copied: the text is
 * overwritten with NULs, so the process title holds nothing of it. */
static char *take_dsn(load_opts *o) {
    /* no -d or --dsn: libpq takes PGDATABASE and the rest from the environment, as psql does */
    return (char *)(o->dsn = cli_take_secret(o->dsn_args, o->ndsn_args, o->dsn ? o->dsn : ""));
}

int cmd_load(int argc, char **argv) {
    load_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    /* the conninfo may hold a password: it leaves argv now (the ledger's copy of the command line
     * is made from the positions getopt consumed, before the text goes) */
    char *cmdline = command_line(&o, argc, argv);
    char *given = take_dsn(&o), *dsn = given ? cli_conninfo(given) : NULL;
    if (given) explicit_bzero(given, strlen(given));
    free(given);
    o.dsn = dsn;
    if (!cmdline || !dsn) {
        free(cmdline);
        free(dsn);
        return cli_report(&(b2p_error){.code = B2P_ERR_NOMEM, .msg = "out of memory"});
    }
    b2p_error err = {0};
    cli_source in;
    if (cli_open_catalog(&in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err)) {
        free(cmdline);
        free(dsn);
        return cli_report(&err);
    }
    reporter rep = {.log_json = o.log_json, .sync_deletes = o.sync_deletes, .nul_policy = o.ex.nul_policy,
                    .tty = isatty(STDERR_FILENO) && !o.quiet, .start = cli_now(), .verbose = o.verbose, .quiet = o.quiet};
    b2p_names *nm = NULL;
    bool *sel = NULL;
    b2p_status st = b2p_names_build(in.cat, &o.tables.naming, &nm, &err);
    if (!st) st = cli_select_tables(in.cat, &o.tables, nm, &sel, &err);
    for (size_t i = 0; sel && i < in.cat->ntables; i++)
        if (sel[i]) rep.tables_total++, rep.rows_total += b2p_table_rows(&in.cat->tables[i]);
    b2p_load_stats stats = {0};
    if (rep.log_json) {
        json j;
        event_begin(&j, "run_start");
        json_kv_string(&j, "database", b2p_pages_set(in.src)->database_name);
        json_kv_string(&j, "mode", b2p_load_mode_name(o.mode));
        json_kv_uint(&j, "tables", rep.tables_total);
        json_kv_uint(&j, "catalog_rows", rep.rows_total);
        event_end(&j);
    }
    rep.nm = nm;
    if (!st && o.list) { /* the plan alone: nothing is connected to */
        int lrc = cli_print_plan(stdout, &in, nm, sel, CLI_SECTION_ALL);
        free(cmdline);
        free(dsn);
        b2p_names_free(nm);
        free(sel);
        cli_close(&in);
        return lrc;
    }
    if (!st) {
        b2p_load_options lo = {.conninfo = o.dsn, .selected = sel, .export = o.ex, .mode = o.mode,
                               .sync_deletes = o.sync_deletes, .replace_drifted = o.replace_drifted, .merge_existing = o.merge_existing, .create_database = o.create, .force = o.force, .retries = o.retries, .lock_wait = o.lock_wait, .jobs = o.jobs, .command_line = cmdline,
                               .ctx = &rep, .notice = on_notice, .review = on_review, .table_start = on_table_start,
                               .progress = on_progress, .table_done = on_table_done};
        st = b2p_load(in.src, in.cat, nm, &lo, &stats, &err);
    }
    end_progress_line(&rep);
    print_summary(&rep, &stats, b2p_pages_set(in.src)->database_name, st, &err);
    b2p_status rst = report_review(&rep, &o, &stats, &err);
    if (!st || st == B2P_ERR_PARTIAL) st = rst ? rst : st;
    b2p_buf_free(&rep.review);
    free(cmdline);
    free(dsn);
    b2p_names_free(nm);
    free(sel);
    cli_close(&in);
    if (st) return cli_report(&err);
    return stats.tables_skipped ? B2P_ERR_UNSUPPORTED : 0;
}
