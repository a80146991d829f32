/* bak2pg load: a backup straight into a PostgreSQL server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "emit/emit.h"

static const char USAGE[] =
    "usage: bak2pg load --dsn CONNINFO [options] FILE...\n"
    "\n"
    "Loads a SQL Server backup straight into PostgreSQL: creates the schemas and tables, streams\n"
    "every table's rows through COPY FROM STDIN (decoded from the backup's pages as they go; no\n"
    "temporary files), each table in a transaction of its own, then adds keys, indexes, foreign\n"
    "keys, checks and identity restarts. The same DDL and rows as `bak2pg convert` writes to files.\n"
    "\n"
    "options:\n"
    "  --dsn CONNINFO             where to load: a libpq connection string or URI\n"
    "                             ('host=db1 dbname=sales user=loader', 'postgresql://db1/sales');\n"
    "                             PGHOST, PGUSER, PGPASSWORD, ... and ~/.pgpass apply as for psql\n"
    "  --table PATTERN            only these tables (schema.name or name, shell wildcards; repeatable)\n"
    "  --exclude-table PATTERN    not these tables (repeatable)\n"
    "  --keep-case                keep identifiers' case (quoted) instead of folding to lower case\n"
    "  --include-ssms-tables      also load SSMS's own tables (dbo.sysdiagrams), left out by default\n"
    "  --schema-map FROM=TO       put SQL Server schema FROM into PostgreSQL schema TO (repeatable)\n"
    "  --nul error|strip|replace  text holding NUL characters (see bak2pg dump --help)\n"
    "  --backup-set N             the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes    salvage: load what is there when stripe files are missing\n"
    "  -h, --help                 this help\n"
    "\n"
    "The target database must not hold the tables yet (loading twice, and loading a newer backup\n"
    "over an older load, come with the remigration mode of a later release).\n"
    "Exit status: 17 server unreachable, 18 credentials refused, 19 read-only target, 20 PostgreSQL\n"
    "refused a statement or rows; the others as for every command (README.md).\n"
    "\n"
    "examples:\n"
    "  bak2pg load --dsn 'dbname=northwind' Northwind.bak\n"
    "  PGPASSWORD=... bak2pg load --dsn 'postgresql://loader@db1:5432/sales' --schema-map dbo=sales full.bak diff.bak\n";

enum { MAX_PATTERNS = 64 };

typedef struct load_opts {
    const char *dsn;
    const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
    size_t ninclude, nexclude;
    const char *map_from[MAX_PATTERNS], *map_to[MAX_PATTERNS];
    b2p_naming_options naming;
    bool allow_missing, include_ssms;
    int backup_set;
    b2p_export_options ex;
} load_opts;

static int add_to(const char **list, size_t *n, const char *v) {
    if (*n >= MAX_PATTERNS) return cli_usage_error("load", "at most %d of one option", MAX_PATTERNS);
    list[(*n)++] = v;
    return 0;
}

static int parse_args(int argc, char **argv, load_opts *o) {
    static const struct option longopts[] = {
        {"dsn", required_argument, NULL, 'd'},          {"table", required_argument, NULL, 't'},
        {"exclude-table", required_argument, NULL, 'x'}, {"keep-case", no_argument, NULL, 'k'},
        {"schema-map", required_argument, NULL, 'S'},   {"nul", required_argument, NULL, 'n'},
        {"backup-set", required_argument, NULL, 'b'},   {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"include-ssms-tables", no_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->dsn = optarg; break;
        case 't': rc = add_to(o->include, &o->ninclude, optarg); break;
        case 'x': rc = add_to(o->exclude, &o->nexclude, optarg); break;
        case 'k': o->naming.keep_case = true; break;
        case 'm': o->allow_missing = true; break;
        case 'I': o->include_ssms = true; break;
        case 'S': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) return cli_usage_error("load", "--schema-map takes FROM=TO, not '%s'", optarg);
            *eq = 0;
            rc = add_to(o->map_from, &o->naming.nschema_maps, optarg);
            o->map_to[o->naming.nschema_maps - 1] = eq + 1;
            break;
        }
        case 'n':
            if (!strcmp(optarg, "error")) o->ex.nul_policy = B2P_NUL_ERROR;
            else if (!strcmp(optarg, "strip")) o->ex.nul_policy = B2P_NUL_STRIP;
            else if (!strcmp(optarg, "replace")) o->ex.nul_policy = B2P_NUL_REPLACE;
            else rc = cli_usage_error("load", "--nul takes error, strip or replace, not '%s'", optarg);
            break;
        case 'b':
            if (cli_parse_backup_set("load", optarg, &o->backup_set)) return B2P_ERR_USAGE;
            break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_usage_error("load", "unknown option");
        }
    }
    if (rc) return rc;
    o->naming.schema_map_from = o->map_from;
    o->naming.schema_map_to = o->map_to;
    if (!o->dsn) return cli_usage_error("load", "say where to load: --dsn CONNINFO");
    if (optind >= argc) return cli_usage_error("load", "no backup file given");
    return 0;
}

static void on_notice(void *ctx, const char *message) {
    (void)ctx;
    fprintf(stderr, "bak2pg: PostgreSQL: %s\n", message);
}

static void on_table(void *ctx, const b2p_cat_table *t, const b2p_export_stats *st) {
    (void)ctx;
    fprintf(stderr, "bak2pg: loaded %s.%s: %llu rows\n", t->schema, t->name, (unsigned long long)st->rows);
    if (st->rows != st->expected_rows)
        fprintf(stderr, "bak2pg: table %s.%s: %llu rows decoded, the catalog counts %llu\n", t->schema, t->name,
                (unsigned long long)st->rows, (unsigned long long)st->expected_rows);
}

static void on_skipped(void *ctx, const b2p_cat_table *t, const char *why) {
    (void)ctx;
    fprintf(stderr, "bak2pg: table %s.%s skipped: %s\n", t->schema, t->name, why);
}

static void on_review(void *ctx, const char *review_sql) {
    (void)ctx;
    size_t items = 0;
    for (const char *p = review_sql; (p = strstr(p, "\n-- ")); p++) items++;
    if (items) fprintf(stderr, "bak2pg: some definitions were left out (what convert writes to review.sql):\n%s", review_sql);
}

static bool *select_tables(const b2p_catalog *cat, const load_opts *o) {
    bool *sel = calloc(cat->ntables ? cat->ntables : 1, sizeof *sel);
    for (size_t i = 0; sel && i < cat->ntables; i++) {
        bool in = !o->ninclude, out = false;
        for (size_t k = 0; k < o->ninclude; k++) in |= cli_table_selected(&cat->tables[i], o->include[k]);
        for (size_t k = 0; k < o->nexclude; k++) out |= cli_table_selected(&cat->tables[i], o->exclude[k]);
        sel[i] = in && !out && (o->include_ssms || !cat->tables[i].tools_support);
    }
    return sel;
}

int cmd_load(int argc, char **argv) {
    load_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    b2p_error err = {0};
    cli_source in;
    if (cli_open_catalog(&in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err))
        return cli_report(&err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    b2p_names *nm = NULL;
    bool *sel = select_tables(in.cat, &o);
    b2p_load_stats stats;
    b2p_status st = sel ? b2p_names_build(in.cat, &o.naming, &nm, &err) : b2p_fail(&err, B2P_ERR_NOMEM, "out of memory");
    if (!st) {
        b2p_load_options lo = {.conninfo = o.dsn, .selected = sel, .export = o.ex, .notice = on_notice,
                               .review = on_review, .table_done = on_table, .skipped = on_skipped};
        st = b2p_load(in.src, in.cat, nm, &lo, &stats, &err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!st)
        printf("loaded %s: %u tables (%u skipped), %llu rows in %.1f s; %u keys, %u indexes, %u foreign keys, %u checks\n",
               b2p_pages_set(in.src)->database_name, stats.tables, stats.tables_skipped,
               (unsigned long long)stats.rows, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
               stats.ddl.keys, stats.ddl.indexes, stats.ddl.foreign_keys, stats.ddl.checks);
    b2p_names_free(nm);
    free(sel);
    cli_close(&in);
    if (st) return cli_report(&err);
    return stats.tables_skipped ? B2P_ERR_UNSUPPORTED : 0;
}
