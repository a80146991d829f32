/* bak2pg verify: does the PostgreSQL target hold what the backup holds? */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "emit/emit.h"
#include "json.h"

static const char USAGE[] =
    "usage: bak2pg verify [-d DBNAME | --dsn CONNINFO] [options] FILE...\n"
    "\n"
    "Compares a PostgreSQL database loaded by `bak2pg load` (or by convert's load.sql) with the\n"
    "backup it came from, table by table, and checks the keys the backup declares in the target:\n"
    "  rows      the row count of each table, in the backup and in the target;\n"
    "  content   an order-independent hash of every row's values, computed on both sides over the\n"
    "            same text (the backup's rows decoded as load writes them; the target's read back\n"
    "            with COPY TO under fixed session settings), so one changed value shows;\n"
    "  keys      in the target: every primary key, unique constraint, foreign key and index the\n"
    "            backup declares is there as load creates it (its name, kind and columns); no two\n"
    "            rows share a primary key or a unique constraint's or unique index's key (rows with\n"
    "            a NULL key column are left out, as PostgreSQL does; SQL Server lets only one such\n"
    "            row in), and every foreign key's columns, when none is NULL, match a row of the\n"
    "            referenced table.\n"
    "Only the target's copies of the backup's tables and columns are read; it is never written.\n"
    "Give the same table and naming options as to load, so that verify looks for the same names.\n"
    "Where the target holds load's ledger (schema bak2pg), each table is decoded with the --nul\n"
    "policy and the --cast columns that ledger recorded for its load (--nul and --cast given here\n"
    "win), and a last run for this backup that has not finished (killed, or still running) is a\n"
    "difference. For a target loaded with psql from convert's files, give convert's --nul and\n"
    "--cast again.\n"
    "\n"
    "options:\n"
    "  -d, --dbname, --dsn DB     the target: a database name, or a libpq connection string or URI,\n"
    "                             as for load (default: PGDATABASE, as psql)\n"
    CLI_TABLES_HELP
    "  --nul error|strip|replace  as given to load (text holding NUL characters; default: what the\n"
    "                             ledger recorded, else error)\n"
    "  --backup-set N             the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes    salvage: compare with what the stripes given hold\n"
    "  -j, --jobs N               compare N tables at once, each on its own connection, all seeing\n"
    "                             the first one's snapshot (default 1; the report is the same)\n"
    "  --diff-rows N              where a table's content differs, list up to N rows of each kind\n"
    "                             (missing in the target, extra in the target, changed: with the\n"
    "                             columns that differ and both values); 0: do not look (default 10)\n"
    "  --diff-memory MB           the rows held to find them, at most (default 64): the rows are\n"
    "                             hash-partitioned by key and only the partitions that differ are\n"
    "                             held; past this the counts are lower bounds\n"
    "  --json                     one JSON document on stdout instead of the table\n"
    "  -h, --help                 this help\n"
    "\n"
    "Reading the table: one line per table, by its PostgreSQL name. `source rows` and `target rows`\n"
    "are the row counts. `content` is `equal` when the hashes agree, `DIFFERENT` when they do not\n"
    "(with equal row counts: some value was changed), `missing` when the target has no\n"
    "such table, `columns` when it lacks some of the table's columns, `skipped` for a table bak2pg\n"
    "cannot decode yet (listed with the reason; it does not fail the run). `keys` counts the keys\n"
    "and indexes that hold (`1 of 3 BAD`: one is missing or does not hold). Under the table come\n"
    "the differences in words: the rows that differ, found by primary key (else a unique key,\n"
    "else the whole row), each named by its key, a changed row with each column that differs and\n"
    "its value in the backup and in the target; a column whose type in the target is not the\n"
    "one load gives it, as a type problem (its values are then left out of the row comparison);\n"
    "then\n"
    "what was not compared, and why. Not counted as differences, but shown: orphans of a foreign\n"
    "key SQL Server had disabled or untrusted (the backup may hold them too), and child rows that\n"
    "match only as SQL Server compares text (ignoring case under a case-insensitive collation, and\n"
    "trailing spaces): PostgreSQL compares exactly, so load left that foreign key NOT VALID.\n"
    "\n"
    "Exit status: 0 every table and key matches; 1 something differs; 17 server unreachable,\n"
    "18 credentials refused, 20 PostgreSQL refused a query (e.g. no permission); the others as\n"
    "for every command (README.md).\n"
    "\n"
    "examples:\n"
    "  bak2pg load --dsn 'dbname=northwind' Northwind.bak && bak2pg verify --dsn 'dbname=northwind' Northwind.bak\n"
    "  bak2pg verify --dsn 'postgresql://loader@db1/sales' --schema-map dbo=sales full.bak diff.bak\n"
    "  bak2pg verify --json --dsn 'dbname=northwind' --table 'dbo.Order*' Northwind.bak | jq '.tables[]'\n";
const char *const cli_verify_usage = USAGE;

enum { MAX_DSN_ARGS = 8 };
enum { OPT_NUL = CLI_OPT_FIRST_FREE, OPT_JSON, OPT_DIFF_ROWS, OPT_DIFF_MEMORY };

typedef struct verify_opts {
    const char *dsn;                 /* a private copy once parsed: the argv text is blanked */
    char *dsn_args[MAX_DSN_ARGS];    /* each --dsn's optarg, inside argv */
    size_t ndsn_args;
    cli_tables tables;
    bool allow_missing, json, nul_given;
    unsigned jobs, diff_rows, diff_memory_mb;
    int backup_set;
    b2p_export_options ex;
} verify_opts;

static int parse_args(int argc, char **argv, verify_opts *o) {
    static const struct option longopts[] = {
        {"dsn", required_argument, NULL, 'd'},          {"nul", required_argument, NULL, OPT_NUL},
        {"dbname", required_argument, NULL, 'd'},
        {"backup-set", required_argument, NULL, 'b'},   {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"json", no_argument, NULL, OPT_JSON},           {"diff-rows", required_argument, NULL, OPT_DIFF_ROWS},
        {"diff-memory", required_argument, NULL, OPT_DIFF_MEMORY},           {"jobs", required_argument, NULL, 'j'},               {"help", no_argument, NULL, 'h'},
        CLI_TABLES_LONGOPTS,                            {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0; /* an unknown option is reported once, by cli_bad_option */
    while ((c = getopt_long(argc, argv, ":hd:j:" CLI_TABLES_SHORTOPTS, longopts, NULL)) != -1) {
        int rc = cli_tables_option("verify", &o->tables, c, optarg);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        switch (c) {
        case 'd':
            if (o->ndsn_args == MAX_DSN_ARGS) return cli_usage_error("verify", "--dsn given more than %d times", MAX_DSN_ARGS);
            o->dsn = o->dsn_args[o->ndsn_args++] = optarg;
            break;
        case 'm': o->allow_missing = true; break;
        case OPT_JSON: o->json = true; break;
        case 'j':
            if (cli_parse_count("verify", "-j", optarg, 1, 64, &o->jobs)) return B2P_ERR_USAGE;
            break;
        case OPT_DIFF_ROWS:
            if (cli_parse_count("verify", "--diff-rows", optarg, 0, 1000000, &o->diff_rows)) return B2P_ERR_USAGE;
            break;
        case OPT_DIFF_MEMORY:
            if (cli_parse_count("verify", "--diff-memory", optarg, 1, 1048576, &o->diff_memory_mb)) return B2P_ERR_USAGE;
            break;
        case OPT_NUL:
            if (cli_parse_nul("verify", optarg, &o->ex.nul_policy)) return B2P_ERR_USAGE;
            o->nul_given = true;
            break;
        case 'b':
            if (cli_parse_backup_set("verify", optarg, &o->backup_set)) return B2P_ERR_USAGE;
            break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("verify", c, argv);
        }
    }
    if (!o->dsn && !cli_env_names_database())
        return cli_usage_error("verify", "say which database to verify: -d DBNAME or --dsn CONNINFO (or set PGDATABASE)");
    if (optind >= argc) return cli_usage_error("verify", "no backup file given");
    return 0;
}

typedef struct ctx {
    const b2p_names *nm;
    bool progress;
} ctx;

/* The table's PostgreSQL name, quoted as psql would need it, and escaped for a terminal (it is the
 * backup's: it may hold line breaks or escape sequences). */
static const char *pg_name(const b2p_names *nm, const b2p_cat_table *t, char *buf, size_t len) {
    b2p_buf b = {0};
    b2p_error err;
    snprintf(buf, len, "%s", b2p_shown(b2p_qualified(nm, t, &b, &err) ? t->name : b.data));
    b2p_buf_free(&b);
    return buf;
}

static const char *status_word(b2p_verify_status s) {
    switch (s) {
    case B2P_VERIFY_EQUAL: return "equal";
    case B2P_VERIFY_DIFFERENT: return "different";
    case B2P_VERIFY_MISSING: return "missing";
    case B2P_VERIFY_SKIPPED: return "skipped";
    }
    return "?";
}

static void on_notice(void *vctx, const char *message) {
    (void)vctx;
    fprintf(stderr, "bak2pg: PostgreSQL: %s\n", b2p_shown(message));
}

static void on_table(void *vctx, const b2p_verify_table *vt) {
    const ctx *c = vctx;
    if (!c->progress) return;
    char name[600];
    fprintf(stderr, "bak2pg: verified %s: %llu rows, %s\n", pg_name(c->nm, vt->t, name, sizeof name),
            (unsigned long long)vt->source.rows, status_word(vt->status));
}

/* The key's columns, by their PostgreSQL names: "(a, b)". */
static void key_columns(const b2p_names *nm, const b2p_cat_table *t, const int32_t *ids, size_t n, char *out, size_t len) {
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && used + 1 < len; i++) {
        const char *c = b2p_names_column(nm, t, ids[i]);
        int w = snprintf(out + used, len - used, "%s%s%s", i ? ", " : "(", c ? c : "?", i + 1 == n ? ")" : "");
        used = w < 0 || (size_t)w >= len - used ? len - 1 : used + (size_t)w;
    }
}

static void describe_key(const b2p_names *nm, const b2p_cat_table *t, const b2p_verify_key *k, char *out, size_t len) {
    char cols[512];
    if (k->fk) key_columns(nm, t, k->fk->columns, k->fk->ncolumns, cols, sizeof cols);
    else key_columns(nm, t, k->index->key_columns, k->index->nkeys, cols, sizeof cols);
    char raw[1024];
    snprintf(raw, sizeof raw, "%s %s%s%s", b2p_verify_key_kind_name(k->kind), k->name, cols[0] ? " " : "", cols);
    snprintf(out, len, "%s", b2p_shown(raw)); /* for a terminal: the names are the backup's */
}

/* ---- the table for people ---------------------------------------------------------------------- */

/* A value for a terminal: 'text' escaped, or NULL. */
static const char *shown_value(const char *v, char *buf, size_t len) {
    if (!v) snprintf(buf, len, "NULL");
    else snprintf(buf, len, "'%s'", b2p_shown(v));
    return buf;
}

/* "a='1', b='x'": a row's key, escaped. */
static void shown_key(const b2p_verify_diff *d, const b2p_verify_row_diff *r, char *out, size_t len) {
    size_t used = 0;
    out[0] = 0;
    for (size_t k = 0; k < d->nkey && used + 1 < len; k++) {
        char v[600];
        int w = snprintf(out + used, len - used, "%s%s=%s", k ? ", " : "", b2p_shown(d->key_columns[k]),
                         shown_value(r->key[k], v, sizeof v));
        used = w < 0 || (size_t)w >= len - used ? len - 1 : used + (size_t)w;
    }
}

/* The rows that differ, under the table's difference lines. */
static void print_diff(const b2p_verify_table *vt, const char *name) {
    const b2p_verify_diff *d = &vt->diff;
    char key[1200];
    if (d->key_name[0]) snprintf(key, sizeof key, "by %s %s", d->key_kind, b2p_shown(d->key_name));
    else snprintf(key, sizeof key, "by the whole row: the table has no key");
    printf("  %s: %s%llu row%s missing in the target, %llu extra in the target, %llu changed (%s)\n", name,
           d->complete ? "" : "at least ", (unsigned long long)d->missing, d->missing == 1 ? "" : "s",
           (unsigned long long)d->extra, (unsigned long long)d->changed, key);
    if (!d->complete)
        printf("    (%u of %u differing partitions fit in --diff-memory: the counts are lower bounds)\n",
               d->partitions_compared, d->partitions_differing);
    for (size_t i = 0; i < d->nrows; i++) {
        const b2p_verify_row_diff *r = &d->rows[i];
        shown_key(d, r, key, sizeof key);
        if (r->kind == B2P_DIFF_MISSING) printf("    missing in the target: %s\n", key);
        else if (r->kind == B2P_DIFF_EXTRA) printf("    extra in the target: %s\n", key);
        else printf("    changed: %s:\n", key);
        for (size_t k = 0; k < r->nchanged; k++) {
            char a[600], b[600];
            printf("      %s: %s in the backup, %s in the target\n", b2p_shown(r->changed[k].column),
                   shown_value(r->changed[k].source, a, sizeof a), shown_value(r->changed[k].target, b, sizeof b));
        }
    }
}

static void print_text(const b2p_verify_result *r, const b2p_names *nm, const char *database, double secs) {
    char name[600];
    int w = 5;
    for (size_t i = 0; i < r->ntables; i++) {
        int n = (int)strlen(b2p_shown(pg_name(nm, r->tables[i].t, name, sizeof name)));
        if (n > w) w = n;
    }
    printf("verify %s: %zu tables of the backup against PostgreSQL database %s\n\n", b2p_shown(database), r->ntables,
           b2p_shown(r->database));
    printf("%-*s  %11s  %11s  %-9s  %s\n", w, "table", "source rows", "target rows", "content", "keys");
    for (size_t i = 0; i < r->ntables; i++) {
        const b2p_verify_table *vt = &r->tables[i];
        char src[32] = "-", dst[32] = "-", keys[64] = "-";
        const char *content = vt->status == B2P_VERIFY_MISSING ? "missing"
                              : vt->status == B2P_VERIFY_SKIPPED ? "skipped"
                              : vt->missing_columns[0]            ? "columns"
                              : vt->content_equal                 ? "equal"
                                                                  : "DIFFERENT";
        if (vt->status != B2P_VERIFY_SKIPPED) snprintf(src, sizeof src, "%llu", (unsigned long long)vt->source.rows);
        if (vt->status != B2P_VERIFY_SKIPPED && vt->status != B2P_VERIFY_MISSING)
            snprintf(dst, sizeof dst, "%llu", (unsigned long long)vt->target.rows);
        unsigned checked = (unsigned)vt->nkeys - vt->keys_unchecked;
        if (checked && vt->keys_failed) snprintf(keys, sizeof keys, "%u of %u BAD", vt->keys_failed, checked);
        else if (checked) snprintf(keys, sizeof keys, "%u ok", checked);
        printf("%-*s  %11s  %11s  %-9s  %s\n", w, b2p_shown(pg_name(nm, vt->t, name, sizeof name)), src, dst, content, keys);
    }

    bool header = false;
#define SECTION(title) (header ? (void)0 : (void)printf("\n%s\n", title), header = true)
    if (r->unfinished_run[0]) {
        SECTION("differences:");
        printf("  the ledger's last run for this backup, run %s, has not finished (outcome %s): the target may hold "
               "part of a load\n", r->unfinished_run, b2p_shown(r->unfinished_outcome));
    }
    for (size_t i = 0; i < r->ntables; i++) {
        const b2p_verify_table *vt = &r->tables[i];
        snprintf(name, sizeof name, "%s", b2p_shown(pg_name(nm, vt->t, name, sizeof name)));
        if (vt->status == B2P_VERIFY_MISSING) {
            SECTION("differences:");
            printf("  %s: missing in the target (%llu rows in the backup)\n", name, (unsigned long long)vt->source.rows);
            continue;
        }
        if (vt->status == B2P_VERIFY_SKIPPED) continue;
        if (vt->missing_columns[0]) {
            SECTION("differences:");
            printf("  %s: the target has no column %s (the content is not compared)\n", name, b2p_shown(vt->missing_columns));
        }
        if (vt->source.rows != vt->target.rows) {
            SECTION("differences:");
            printf("  %s: %llu rows in the backup, %llu in the target\n", name, (unsigned long long)vt->source.rows,
                   (unsigned long long)vt->target.rows);
        } else if (!vt->content_equal && !vt->missing_columns[0] && !vt->diff.done && !vt->ntype_problems) {
            SECTION("differences:");
            printf("  %s: as many rows, but their values differ (content hashes differ)\n", name);
        }
        for (size_t k = 0; k < vt->ntype_problems; k++) {
            const b2p_verify_type_problem *p = &vt->type_problems[k];
            SECTION("differences:");
            printf("  %s: column %s: a type problem: it is %s in the target, the mapping gives %s (its values are not "
                   "compared)\n", name, b2p_shown(p->column), b2p_shown(p->actual), p->expected);
        }
        if (vt->diff.done && (vt->diff.missing || vt->diff.extra || vt->diff.changed || !vt->diff.complete)) {
            SECTION("differences:");
            print_diff(vt, name);
        }
        for (size_t k = 0; k < vt->nkeys; k++) {
            const b2p_verify_key *key = &vt->keys[k];
            char what[1024];
            if (key->checked && key->absent) {
                describe_key(nm, vt->t, key, what, sizeof what);
                SECTION("differences:");
                printf("  %s: %s: %s\n", name, b2p_shown(what), b2p_shown(key->absent_why));
            }
            if (!key->checked || !key->enforced || !key->violations) continue;
            describe_key(nm, vt->t, key, what, sizeof what);
            snprintf(what, sizeof what, "%s", b2p_shown(what));
            SECTION("differences:");
            if (key->fk) {
                char ref[600];
                printf("  %s: %s: %llu row%s with no matching row in %s\n", name, what, (unsigned long long)key->violations,
                       key->violations == 1 ? "" : "s", b2p_shown(pg_name(nm, key->ref, ref, sizeof ref)));
            } else {
                printf("  %s: %s: %llu key value%s held by more than one row\n", name, what,
                       (unsigned long long)key->violations, key->violations == 1 ? "" : "s");
            }
        }
    }
    header = false;
    for (size_t i = 0; i < r->ntables; i++) {
        const b2p_verify_table *vt = &r->tables[i];
        snprintf(name, sizeof name, "%s", b2p_shown(pg_name(nm, vt->t, name, sizeof name)));
        if (vt->status == B2P_VERIFY_SKIPPED) {
            SECTION("not compared (these do not fail the run):");
            printf("  %s (%s.%s): skipped: %s\n", name, b2p_shown(vt->t->schema), b2p_shown(vt->t->name), vt->skipped);
        }
        for (size_t k = 0; k < vt->nkeys; k++) {
            const b2p_verify_key *key = &vt->keys[k];
            char what[1024];
            describe_key(nm, vt->t, key, what, sizeof what);
            snprintf(what, sizeof what, "%s", b2p_shown(what));
            if (!key->checked) {
                SECTION("not compared (these do not fail the run):");
                printf("  %s: %s: not checked: %s\n", name, what, b2p_shown(key->not_checked));
            }
            if (key->checked && key->text_mismatches) {
                char ref[600];
                SECTION("not compared (these do not fail the run):");
                printf("  %s: %s: %llu row%s match%s %s only as SQL Server compares text (ignoring case or trailing "
                       "spaces); PostgreSQL compares exactly, so this constraint cannot be valid in the target\n",
                       name, what, (unsigned long long)key->text_mismatches, key->text_mismatches == 1 ? "" : "s",
                       key->text_mismatches == 1 ? "es" : "", b2p_shown(pg_name(nm, key->ref, ref, sizeof ref)));
            }
            if (key->checked && !key->enforced && key->violations) {
                char ref[600];
                SECTION("not compared (these do not fail the run):");
                printf("  %s: %s: %llu row%s with no matching row in %s; SQL Server had this foreign key disabled "
                       "or untrusted, so the backup may hold them too\n",
                       name, what, (unsigned long long)key->violations, key->violations == 1 ? "" : "s",
                       b2p_shown(pg_name(nm, key->ref, ref, sizeof ref)));
            }
        }
    }
    header = false;
    if (r->ledger_unreadable[0]) {
        SECTION("notes:");
        printf("  the ledger (schema bak2pg) could not be read, its settings were not used: %s\n",
               b2p_shown(r->ledger_unreadable));
    }
    for (size_t i = 0; i < r->ntables; i++) {
        const b2p_verify_table *vt = &r->tables[i];
        if (!vt->ledger_run[0] || (vt->nul_policy == B2P_NUL_ERROR && !vt->spatial_wkt && !vt->ledger_casts)) continue;
        static const char *const nul[] = {"error", "strip", "replace"};
        SECTION("notes:");
        printf("  %s: decoded as the ledger records run %s loaded it: --nul %s%s", b2p_shown(pg_name(nm, vt->t, name, sizeof name)),
               vt->ledger_run, nul[vt->nul_policy], vt->spatial_wkt ? ", --spatial wkt" : "");
        if (vt->ledger_casts) printf(", %u column%s cast to bytea", vt->ledger_casts, vt->ledger_casts == 1 ? "" : "s");
        printf("\n");
    }
#undef SECTION
    printf("\n%s: %zu tables: %u equal, %u different, %u missing, %u skipped; %llu rows in the backup, %llu in the "
           "target; %u keys checked, %u failing, %u not checked; %.1f s\n",
           r->ok ? "OK" : "MISMATCH", r->ntables, r->equal, r->different, r->missing, r->skipped,
           (unsigned long long)r->source_rows, (unsigned long long)r->target_rows, r->keys_checked, r->keys_failed,
           r->keys_unchecked, secs);
}

/* ---- the document for machines -------------------------------------------------------------------- */

static void json_names(json *j, const char *key, const b2p_names *nm, const b2p_cat_table *t, const int32_t *ids, size_t n) {
    json_key(j, key);
    json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        const char *c = b2p_names_column(nm, t, ids[i]);
        json_string(j, c ? c : "?");
    }
    json_end_array(j);
}

static void json_hash(json *j, const char *key, const b2p_content_hash *h) {
    char hex[33];
    b2p_content_hash_hex(h, hex);
    json_kv_string(j, key, hex);
}

static void json_value(json *j, const char *key, const char *v) {
    json_key(j, key);
    if (v) json_string(j, v);
    else json_null(j);
}

/* "diff": which rows differ (null when they were not compared). */
static void json_diff(json *j, const b2p_verify_diff *d) {
    json_key(j, "diff");
    if (!d->done) {
        json_null(j);
        return;
    }
    static const char *const kinds[] = {"missing", "extra", "changed"};
    json_begin_object(j);
    json_key(j, "key");
    json_begin_object(j);
    json_kv_string(j, "kind", d->key_kind);
    json_value(j, "name", d->key_name[0] ? d->key_name : NULL);
    json_key(j, "columns");
    json_begin_array(j);
    for (size_t k = 0; k < d->nkey; k++) json_string(j, d->key_columns[k]);
    json_end_array(j);
    json_end_object(j);
    json_kv_uint(j, "missing", d->missing);
    json_kv_uint(j, "extra", d->extra);
    json_kv_uint(j, "changed", d->changed);
    json_kv_bool(j, "complete", d->complete);
    json_kv_uint(j, "partitions_differing", d->partitions_differing);
    json_kv_uint(j, "partitions_compared", d->partitions_compared);
    json_key(j, "rows");
    json_begin_array(j);
    for (size_t i = 0; i < d->nrows; i++) {
        const b2p_verify_row_diff *r = &d->rows[i];
        json_begin_object(j);
        json_kv_string(j, "kind", kinds[r->kind]);
        json_key(j, "key");
        json_begin_object(j);
        for (size_t k = 0; k < d->nkey; k++) json_value(j, d->key_columns[k], r->key[k]);
        json_end_object(j);
        if (r->kind == B2P_DIFF_CHANGED) {
            json_key(j, "columns");
            json_begin_array(j);
            for (size_t k = 0; k < r->nchanged; k++) {
                json_begin_object(j);
                json_kv_string(j, "column", r->changed[k].column);
                json_value(j, "source", r->changed[k].source);
                json_value(j, "target", r->changed[k].target);
                json_end_object(j);
            }
            json_end_array(j);
        }
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static void print_json(const b2p_verify_result *r, const b2p_names *nm, const char *database, double secs) {
    json j;
    char name[600];
    json_init(&j, stdout);
    json_begin_object(&j);
    json_kv_string(&j, "database", database);
    json_kv_string(&j, "target_database", r->database);
    json_kv_bool(&j, "ok", r->ok);
    json_key(&j, "unfinished_run"); /* the ledger's last run for this backup, when it has not finished */
    if (r->unfinished_run[0]) {
        json_begin_object(&j);
        json_kv_string(&j, "run_id", r->unfinished_run);
        json_kv_string(&j, "outcome", r->unfinished_outcome);
        json_end_object(&j);
    } else {
        json_null(&j);
    }
    if (r->ledger_unreadable[0]) json_kv_string(&j, "ledger_unreadable", r->ledger_unreadable);
    json_key(&j, "summary");
    json_begin_object(&j);
    json_kv_uint(&j, "tables", r->ntables);
    json_kv_uint(&j, "equal", r->equal);
    json_kv_uint(&j, "different", r->different);
    json_kv_uint(&j, "missing", r->missing);
    json_kv_uint(&j, "skipped", r->skipped);
    json_kv_uint(&j, "source_rows", r->source_rows);
    json_kv_uint(&j, "target_rows", r->target_rows);
    json_kv_uint(&j, "keys_checked", r->keys_checked);
    json_kv_uint(&j, "keys_failed", r->keys_failed);
    json_kv_uint(&j, "keys_not_checked", r->keys_unchecked);
    json_kv_uint(&j, "milliseconds", (uint64_t)(secs * 1000 + 0.5));
    json_end_object(&j);
    json_key(&j, "tables");
    json_begin_array(&j);
    for (size_t i = 0; i < r->ntables; i++) {
        const b2p_verify_table *vt = &r->tables[i];
        json_begin_object(&j);
        snprintf(name, sizeof name, "%s.%s", vt->t->schema, vt->t->name);
        json_kv_string(&j, "source", name);
        snprintf(name, sizeof name, "%s.%s", b2p_names_schema(nm, vt->t), b2p_names_table(nm, vt->t));
        json_kv_string(&j, "target", name);
        json_kv_string(&j, "status", status_word(vt->status));
        if (vt->status == B2P_VERIFY_SKIPPED) {
            json_kv_string(&j, "reason", vt->skipped);
            json_end_object(&j);
            continue;
        }
        static const char *const nul[] = {"error", "strip", "replace"};
        json_kv_string(&j, "nul", nul[vt->nul_policy]);
        json_kv_bool(&j, "spatial_wkt", vt->spatial_wkt);
        json_key(&j, "ledger_run");
        if (vt->ledger_run[0]) json_string(&j, vt->ledger_run);
        else json_null(&j);
        json_kv_uint(&j, "ledger_casts", vt->ledger_casts);
        json_kv_uint(&j, "source_rows", vt->source.rows);
        json_key(&j, "target_rows");
        if (vt->status == B2P_VERIFY_MISSING) json_null(&j);
        else json_uint(&j, vt->target.rows);
        json_kv_bool(&j, "rows_equal", vt->status != B2P_VERIFY_MISSING && vt->source.rows == vt->target.rows);
        json_kv_bool(&j, "hash_equal", vt->content_equal);
        json_hash(&j, "source_hash", &vt->source);
        if (vt->status == B2P_VERIFY_MISSING || vt->missing_columns[0]) {
            json_key(&j, "target_hash");
            json_null(&j);
        } else {
            json_hash(&j, "target_hash", &vt->target);
        }
        if (vt->missing_columns[0]) json_kv_string(&j, "missing_columns", vt->missing_columns);
        json_key(&j, "type_problems");
        json_begin_array(&j);
        for (size_t k = 0; k < vt->ntype_problems; k++) {
            json_begin_object(&j);
            json_kv_string(&j, "column", vt->type_problems[k].column);
            json_kv_string(&j, "expected", vt->type_problems[k].expected);
            json_kv_string(&j, "target", vt->type_problems[k].actual);
            json_end_object(&j);
        }
        json_end_array(&j);
        json_diff(&j, &vt->diff);
        json_key(&j, "keys");
        json_begin_array(&j);
        for (size_t k = 0; k < vt->nkeys; k++) {
            const b2p_verify_key *key = &vt->keys[k];
            json_begin_object(&j);
            json_kv_string(&j, "kind", b2p_verify_key_kind_name(key->kind));
            json_kv_string(&j, "name", key->name);
            if (key->fk) {
                json_names(&j, "columns", nm, vt->t, key->fk->columns, key->fk->ncolumns);
                if (key->ref) {
                    snprintf(name, sizeof name, "%s.%s", b2p_names_schema(nm, key->ref), b2p_names_table(nm, key->ref));
                    json_kv_string(&j, "references", name);
                    json_names(&j, "ref_columns", nm, key->ref, key->fk->ref_columns, key->fk->ncolumns);
                }
                json_kv_bool(&j, "enforced", key->enforced);
            } else {
                json_names(&j, "columns", nm, vt->t, key->index->key_columns, key->index->nkeys);
            }
            json_kv_bool(&j, "checked", key->checked);
            if (!key->checked) {
                json_kv_string(&j, "reason", key->not_checked);
            } else {
                json_kv_bool(&j, "present", !key->absent);
                if (key->absent) json_kv_string(&j, "absent", key->absent_why);
                if (key->kind != B2P_VERIFY_INDEX) json_kv_uint(&j, key->fk ? "orphans" : "duplicates", key->violations);
                if (key->fk) json_kv_uint(&j, "text_mismatches", key->text_mismatches);
                json_kv_bool(&j, "ok", !key->absent && (!key->enforced || !key->violations));
            }
            json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
}

int cmd_verify(int argc, char **argv) {
    verify_opts o = {.diff_rows = 10, .diff_memory_mb = 64};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    /* out of the process title; no -d or --dsn: the environment's database (PGDATABASE), as psql */
    char *given = cli_take_secret(o.dsn_args, o.ndsn_args, o.dsn ? o.dsn : ""), *dsn = given ? cli_conninfo(given) : NULL;
    if (given) explicit_bzero(given, strlen(given));
    free(given);
    if (!dsn) return cli_report(&(b2p_error){.code = B2P_ERR_NOMEM, .msg = "out of memory"});
    o.dsn = dsn;
    b2p_error err = {0};
    cli_source in;
    if (cli_open_catalog(&in, argv + optind, (size_t)(argc - optind), o.backup_set, o.allow_missing, &err)) {
        free(dsn);
        return cli_report(&err);
    }
    double t0 = cli_now();
    b2p_names *nm = NULL;
    bool *sel = NULL;
    b2p_verify_result res = {0};
    b2p_status st = b2p_names_build(in.cat, &o.tables.naming, &nm, &err);
    if (!st) st = cli_select_tables(in.cat, &o.tables, nm, &sel, &err);
    if (!st) {
        ctx c = {.nm = nm, .progress = isatty(STDERR_FILENO) != 0};
        b2p_verify_options vo = {.conninfo = o.dsn, .selected = sel, .export = o.ex, .nul_given = o.nul_given, .jobs = o.jobs, .ctx = &c,
                                 .diff_rows = o.diff_rows, .diff_memory = (size_t)o.diff_memory_mb << 20,
                                 .notice = on_notice, .table_done = on_table};
        st = b2p_verify(in.src, in.cat, nm, &vo, &res, &err);
    }
    double secs = cli_now() - t0;
    if (!st) {
        const char *database = b2p_pages_set(in.src)->database_name;
        if (o.json) print_json(&res, nm, database, secs);
        else print_text(&res, nm, database, secs);
    }
    bool ok = res.ok;
    b2p_verify_result_free(&res);
    b2p_names_free(nm);
    free(sel);
    cli_close(&in);
    free(dsn);
    if (st) return cli_report(&err);
    return ok ? 0 : B2P_ERR_FAILED;
}
