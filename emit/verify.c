/* Verifying a load: the backup against what PostgreSQL holds (see emit.h "verify").
 *
 * Per table, both sides are reduced to a row count and an order-independent content hash
 * (emit/rowhash.c) over the same bytes: the backup's rows as the export writes them, and the
 * target's as COPY (SELECT <the same columns>) TO STDOUT prints them under b2p_pg_copy_settings().
 * Both sides stream: nothing of a table is held in memory but one 64 KiB piece or one row. Then
 * the keys the catalog declares are checked in the target with one aggregate query each.
 * Everything runs in one read-only, repeatable-read transaction: all counts see one snapshot.
 * What the target lacks (a table, a column) is found from pg_attribute before any query names it,
 * so it is reported as a difference rather than failing a statement; so is a key or an index the
 * backup declares and the target lacks (pg_constraint, pg_index).
 *
 * Where the target holds load's ledger (schema bak2pg), it says how the load decoded each table
 * (the NUL policy, the spatial format, the columns it cast to bytea): verify decodes the backup's
 * side the same way, and reports a last run for this backup that has not finished. Ledger
 * queries run under a savepoint: a ledger verify cannot read (another shape, no privilege) is
 * noted and left aside, never a failure of the comparison. */
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "pg_int.h"
#include "vdiff_int.h"

const char *b2p_pg_copy_settings(void) {
    return "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
           "SET TimeZone = 'UTC'; SET extra_float_digits = 1; SET bytea_output = 'hex'";
}

const char *b2p_verify_key_kind_name(b2p_verify_key_kind kind) {
    switch (kind) {
    case B2P_VERIFY_PRIMARY_KEY: return "primary key";
    case B2P_VERIFY_UNIQUE_CONSTRAINT: return "unique constraint";
    case B2P_VERIFY_UNIQUE_INDEX: return "unique index";
    case B2P_VERIFY_FOREIGN_KEY: return "foreign key";
    case B2P_VERIFY_INDEX: return "index";
    }
    return "?";
}

enum { IX_NONCLUSTERED = 2 };

typedef struct verifier {
    PGconn *conn;
    const b2p_catalog *cat;
    const b2p_names *nm;
    const b2p_verify_options *opt;
    b2p_error *err;
    b2p_buf sql;
    b2p_pg_notice notice;
    bool ledger;                     /* the target holds a ledger verify can read */
    pthread_mutex_t *mu;             /* with workers: guards the progress callback */
    b2p_verify_result *out;
} verifier;

static bool selected(const verifier *v, const b2p_cat_table *t) {
    return !v->opt->selected || v->opt->selected[t - v->cat->tables];
}

static b2p_status put(verifier *v, const char *s) {
    return b2p_buf_puts(&v->sql, s, v->err);
}

static b2p_status put_column(verifier *v, const char *prefix, const b2p_cat_table *t, int32_t column_id) {
    const char *name = b2p_names_column(v->nm, t, column_id);
    if (!name) return b2p_fail(v->err, B2P_ERR_CORRUPT, "table %s.%s has no column %d", t->schema, t->name, column_id);
    b2p_status st = put(v, prefix);
    return st ? st : b2p_quote_ident(name, &v->sql, v->err);
}

/* ---- what the target has ---------------------------------------------------------------------- */

/* The columns of t's table in the target (one row per column: the table's oid in field 0, attname in
 * field 1, its type as format_type prints it in 2, and the type's oid and typmod in 3 and 4, a
 * domain's base type's), or *out NULL
 * when the target has no such table. */
static b2p_status target_columns(verifier *v, const b2p_cat_table *t, PGresult **out) {
    *out = NULL;
    b2p_buf name = {0};
    b2p_status st = b2p_qualified(v->nm, t, &name, v->err);
    if (st) return st;
    const char *params[1] = {name.data};
    PGresult *r = PQexecParams(v->conn,
                               "SELECT c.oid::oid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
                               "CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END, "
                               "CASE WHEN ty.typtype = 'd' THEN ty.typtypmod ELSE a.atttypmod END "
                               "FROM (SELECT pg_catalog.to_regclass($1) AS oid) c "
                               "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                               "AND NOT a.attisdropped LEFT JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid",
                               1, NULL, params, NULL, NULL, 0);
    b2p_buf_free(&name);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        st = b2p_pg_fail(v->conn, r, "the query for a table's columns", v->err);
        PQclear(r);
        return st;
    }
    if (PQgetisnull(r, 0, 0)) PQclear(r);
    else *out = r;
    return B2P_OK;
}

/* The row of column name in cols (target_columns'), or -1. */
static int column_row(const PGresult *cols, const char *name) {
    for (int i = 0; i < PQntuples(cols); i++)
        if (!PQgetisnull(cols, i, 1) && !strcmp(PQgetvalue(cols, i, 1), name)) return i;
    return -1;
}

static bool has_column(const PGresult *cols, const char *name) {
    return column_row(cols, name) >= 0;
}

/* The first of columns ids[0..n) of t that the target table lacks, or NULL. */
static const char *lacking(const verifier *v, const PGresult *cols, const b2p_cat_table *t, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *name = b2p_names_column(v->nm, t, ids[i]);
        if (name && !has_column(cols, name)) return name;
    }
    return NULL;
}

/* Runs v->sql, a query of one count, into *n. */
static b2p_status count_query(verifier *v, const char *what, uint64_t *n) {
    PGresult *r = PQexec(v->conn, v->sql.data);
    b2p_status st = B2P_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1)
        st = b2p_pg_fail(v->conn, r, what, v->err);
    else
        *n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return st;
}

/* ---- load's ledger: how the target's rows were written --------------------------------------- */

/* A query of the ledger, under a savepoint: *out NULL (and the ledger left aside, with a note)
 * when it fails; a lost connection is still an error. */
static b2p_status ledger_query(verifier *v, const char *sql, int n, const char *const *params, PGresult **out) {
    *out = NULL;
    b2p_status st = b2p_pg_exec(v->conn, "SAVEPOINT b2p_ledger", "SAVEPOINT", v->err);
    if (st) return st;
    b2p_error qerr = {0};
    if (b2p_pg_query(v->conn, sql, n, params, "reading the ledger", out, &qerr) == B2P_OK)
        return b2p_pg_exec(v->conn, "RELEASE SAVEPOINT b2p_ledger", "RELEASE SAVEPOINT", v->err);
    if (b2p_pg_lost(v->conn)) return b2p_fail(v->err, qerr.code, "%s", qerr.msg);
    snprintf(v->out->ledger_unreadable, sizeof v->out->ledger_unreadable, "%s", qerr.msg);
    v->ledger = false;
    return b2p_pg_exec(v->conn, "ROLLBACK TO SAVEPOINT b2p_ledger", "ROLLBACK TO SAVEPOINT", v->err);
}

/* Whether the target holds a ledger this session may read. */
static b2p_status ledger_present(verifier *v) {
    static const char SQL[] =
        "SELECT CASE WHEN pg_catalog.to_regclass('bak2pg.tables') IS NULL OR pg_catalog.to_regclass('bak2pg.runs') IS NULL "
        "THEN false ELSE pg_catalog.has_table_privilege(pg_catalog.to_regclass('bak2pg.tables'), 'SELECT') AND "
        "pg_catalog.has_table_privilege(pg_catalog.to_regclass('bak2pg.runs'), 'SELECT') END";
    v->ledger = true;
    PGresult *r;
    b2p_status st = ledger_query(v, SQL, 0, NULL, &r);
    v->ledger = r && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return st;
}

/* The last run the ledger records for this backup set, reported when it has not finished (its
 * process was killed, or it is still running): the target may then hold part of a load. */
static b2p_status ledger_last_run(verifier *v, b2p_pages *src, b2p_verify_result *out) {
    if (!v->ledger) return B2P_OK;
    char guid[64];
    b2p_guid_format(&b2p_pages_set(src)->backup_set_guid, guid, sizeof guid);
    const char *p[] = {guid};
    PGresult *r;
    b2p_status st = ledger_query(v,
                                 "SELECT run_id, outcome, finished_at IS NULL FROM bak2pg.runs WHERE backup_set_guid = $1 "
                                 "ORDER BY run_id DESC LIMIT 1",
                                 1, p, &r);
    if (!st && r && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 2), "t")) {
        snprintf(out->unfinished_run, sizeof out->unfinished_run, "%s", PQgetvalue(r, 0, 0));
        snprintf(out->unfinished_outcome, sizeof out->unfinished_outcome, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return st;
}

/* What the ledger says about the load of one table. */
typedef struct ledger_said {
    bool found;
    char run_id[24];
    b2p_nul_policy nul;
    bool wkt;
    bool *bytea;                     /* per column of t (index into t->columns): cast to bytea */
    unsigned ncasts;
} ledger_said;

/* The export settings in the ledger's source identity: "<guid>/<lsn> nul=N wkt=N"; an explicit
 * policy (bak2pg.runs.nul_policy: error, strip, replace; NULL in ledgers older than it) wins. */
static void parse_source(const char *source, const char *nul_policy, ledger_said *out) {
    const char *nul = strstr(source, " nul="), *wkt = strstr(source, " wkt=");
    if (nul && nul[5] >= '0' && nul[5] <= '2' && (nul[6] == ' ' || !nul[6])) out->nul = (b2p_nul_policy)(nul[5] - '0');
    if (wkt && (wkt[5] == '0' || wkt[5] == '1')) out->wkt = wkt[5] == '1';
    static const char *const names[] = {"error", "strip", "replace"};
    for (int i = 0; nul_policy && i < 3; i++)
        if (!strcmp(nul_policy, names[i])) out->nul = (b2p_nul_policy)i;
}

/* The columns load cast to bytea, from the ledger's column signature: "name<TAB>type<NL>" per
 * exported column, in export order, the type as b2p_pg_type gave it. It is read by walking the
 * table's own exported columns (a name may hold tabs and newlines; a type never does): where the
 * signature stops matching, the table changed since, and no more casts are taken from it. */
static b2p_status parse_signature(verifier *v, const b2p_cat_table *t, const char *sig, ledger_said *out) {
    const b2p_cat_column **cols = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *cols);
    out->bytea = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *out->bytea);
    if (!cols || !out->bytea) {
        free(cols);
        return b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    }
    size_t n = b2p_export_columns(t, cols, t->ncolumns);
    const char *p = sig;
    for (size_t i = 0; i < n; i++) {
        const char *name = b2p_names_column(v->nm, t, cols[i]->column_id);
        size_t len = name ? strlen(name) : 0;
        if (!name || strncmp(p, name, len) || p[len] != '\t') break;
        const char *type = p + len + 1, *nl = strchr(type, '\n');
        if (!nl) break;
        char mapped[64];
        if ((size_t)(nl - type) == 5 && !memcmp(type, "bytea", 5) && strcmp(b2p_pg_mapped_type(cols[i], mapped, sizeof mapped), "bytea")) {
            out->bytea[cols[i] - t->columns] = true;
            out->ncasts++;
        }
        p = nl + 1;
    }
    free(cols);
    return B2P_OK;
}

/* The one place verify reads how load wrote a table: the ledger's bak2pg.tables row (its source
 * identity for the spatial format and the NUL policy, its column signature for the casts) and the
 * run that recorded it (bak2pg.runs.nul_policy, read through to_jsonb so that a ledger older than
 * that column still reads). */
static b2p_status ledger_settings(verifier *v, const b2p_cat_table *t, ledger_said *out) {
    memset(out, 0, sizeof *out);
    if (!v->ledger) return B2P_OK;
    const char *p[] = {b2p_names_schema(v->nm, t), b2p_names_table(v->nm, t)};
    PGresult *r;
    b2p_status st = ledger_query(v,
                                 "SELECT t.run_id, t.source, t.columns, pg_catalog.to_jsonb(r) ->> 'nul_policy' "
                                 "FROM bak2pg.tables t LEFT JOIN bak2pg.runs r ON r.run_id = t.run_id "
                                 "WHERE t.target_schema = $1 AND t.target_table = $2",
                                 2, p, &r);
    if (!st && r && PQntuples(r) == 1) {
        out->found = true;
        snprintf(out->run_id, sizeof out->run_id, "%s", PQgetvalue(r, 0, 0));
        parse_source(PQgetvalue(r, 0, 1), PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3), out);
        st = parse_signature(v, t, PQgetvalue(r, 0, 2), out);
    }
    PQclear(r);
    return st;
}

/* ---- the two sides of the content ----------------------------------------------------------- */

/* The backup's side, decoded as the load wrote it: under the ledger's settings for the table,
 * except what the command line gave (--nul; a column's --cast). The ledger's casts go onto a copy
 * of the table's columns: the catalog stays as it is. */
typedef struct decoded {
    b2p_cat_table t;                 /* t, with the ledger's casts */
    b2p_cat_column *columns;         /* the copy of its columns (NULL: t's own) */
    b2p_export_options ex;
    const b2p_cat_column **ex_cols;  /* the exported columns of the copy, in export order */
    size_t nex;
} decoded;

static b2p_status decode_as_loaded(verifier *v, const b2p_cat_table *t, const ledger_said *led, b2p_verify_table *vt,
                                   decoded *d) {
    memset(d, 0, sizeof *d);
    d->ex = v->opt->export;
    d->ex.format = B2P_FORMAT_COPY;
    if (led->found && !v->opt->nul_given) d->ex.nul_policy = led->nul;
    if (led->found) d->ex.spatial_wkt = led->wkt;
    vt->nul_policy = d->ex.nul_policy;
    vt->spatial_wkt = d->ex.spatial_wkt;
    if (led->found) snprintf(vt->ledger_run, sizeof vt->ledger_run, "%s", led->run_id);
    d->t = *t;
    for (size_t i = 0; led->ncasts && i < t->ncolumns; i++) {
        if (!led->bytea[i] || t->columns[i].cast) continue;
        if (!d->columns && !(d->columns = malloc(t->ncolumns * sizeof *d->columns)))
            return b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
        if (d->t.columns != d->columns) memcpy(d->columns, t->columns, t->ncolumns * sizeof *d->columns);
        d->t.columns = d->columns;
        b2p_error ignored;
        if (b2p_cast_column(&d->columns[i], "bytea", &ignored) == B2P_OK) vt->ledger_casts++;
    }
    if (!(d->ex_cols = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *d->ex_cols)))
        return b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    d->nex = b2p_export_columns(&d->t, d->ex_cols, t->ncolumns);
    return B2P_OK;
}

static void decoded_free(decoded *d) {
    free(d->columns);
    free(d->ex_cols);
}

static void progress(verifier *v, const b2p_cat_table *t, const char *doing, uint64_t rows) {
    if (!v->opt->progress) return;
    if (v->mu) pthread_mutex_lock(v->mu);
    v->opt->progress(v->opt->ctx, t, doing, rows);
    if (v->mu) pthread_mutex_unlock(v->mu);
}

static void vdiff_progress(void *ctx, const b2p_cat_table *t, const char *doing, uint64_t rows) {
    progress(ctx, t, doing, rows);
}

/* A hash sink that says how far it got, every 65536 rows. */
typedef struct counting_sink {
    b2p_hash_sink hs;
    verifier *v;
    const b2p_cat_table *t;
    const char *doing;
    uint64_t next;
} counting_sink;

static bool counting_write(void *ctx, const char *data, size_t len) {
    counting_sink *c = ctx;
    bool ok = b2p_hash_sink_write(&c->hs, data, len);
    if (c->hs.hash.rows >= c->next) {
        c->next = c->hs.hash.rows + 65536;
        progress(c->v, c->t, c->doing, c->hs.hash.rows);
    }
    return ok;
}

static b2p_status source_hash(verifier *v, b2p_pages *src, const decoded *d, b2p_verify_table *vt) {
    counting_sink cs = {.v = v, .t = vt->t, .doing = "reading the backup", .next = 65536};
    b2p_export_stats es;
    b2p_status st = b2p_export_table(src, v->cat, &d->t, &d->ex, counting_write, &cs, &es, v->err);
    if (!st && cs.hs.partial.len)
        st = b2p_fail(v->err, B2P_ERR_INTERNAL, "table %s.%s: the export's last row has no newline", d->t.schema, d->t.name);
    vt->source = cs.hs.hash;
    b2p_hash_sink_free(&cs.hs);
    return st;
}

/* Into v->sql: COPY (SELECT <the exported columns the target has> FROM <t>) TO STDOUT. */
static b2p_status copy_sql(verifier *v, const b2p_cat_table *t, const b2p_cat_column *const *cols, size_t n,
                           const bool *in_target) {
    b2p_buf_clear(&v->sql);
    b2p_status st = put(v, "COPY (SELECT");
    bool first = true;
    for (size_t k = 0; k < n && !st; k++) {
        if (in_target && !in_target[k]) continue;
        st = put_column(v, first ? " " : ", ", t, cols[k]->column_id);
        first = false;
    }
    if (!st && first) st = put(v, " 1"); /* the target has none of the columns: count the rows */
    if (!st) st = put(v, " FROM ");
    if (!st) st = b2p_qualified(v->nm, t, &v->sql, v->err);
    return st ? st : put(v, ") TO STDOUT");
}

/* COPY (SELECT <the exported columns> FROM <t>) TO STDOUT, each row hashed as it arrives. */
static b2p_status target_hash(verifier *v, const b2p_cat_table *t, const b2p_cat_column *const *cols, size_t n,
                              b2p_content_hash *out) {
    b2p_status st = copy_sql(v, t, cols, n, NULL);
    if (st) return st;

    char what[600];
    snprintf(what, sizeof what, "reading the rows of %s.%s", b2p_names_schema(v->nm, t), b2p_names_table(v->nm, t));
    PGresult *r = PQexec(v->conn, v->sql.data);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        st = b2p_pg_fail(v->conn, r, what, v->err);
        PQclear(r);
        return st;
    }
    PQclear(r);
    counting_sink hs = {.v = v, .t = t, .doing = "reading the target", .next = 65536};
    bool ok = true;
    char *row;
    int len;
    while ((len = PQgetCopyData(v->conn, &row, 0)) > 0) { /* one row per buffer, newline included */
        ok = ok && counting_write(&hs, row, (size_t)len);
        PQfreemem(row);
    }
    if (len == -2) st = b2p_pg_fail(v->conn, NULL, what, v->err);
    while ((r = PQgetResult(v->conn))) {
        if (!st && PQresultStatus(r) != PGRES_COMMAND_OK) st = b2p_pg_fail(v->conn, r, what, v->err);
        PQclear(r);
    }
    if (!st && !ok) st = b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    if (!st && hs.hs.partial.len) st = b2p_fail(v->err, B2P_ERR_INTERNAL, "%s: a row without its newline", what);
    *out = hs.hs.hash;
    b2p_hash_sink_free(&hs.hs);
    return st;
}

/* ---- keys ---------------------------------------------------------------------------------- */

static void not_checked(b2p_verify_key *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void not_checked(b2p_verify_key *k, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    k->checked = false;
    vsnprintf(k->not_checked, sizeof k->not_checked, fmt, ap);
    va_end(ap);
}

/* Which keys of t load creates and verify can check (what emit/ddl.c writes to post-data), and
 * why not the others. */
static b2p_status list_keys(verifier *v, const b2p_cat_table *t, b2p_verify_table *vt) {
    vt->keys = calloc(t->nindexes + t->nforeign_keys + 1, sizeof *vt->keys);
    if (!vt->keys) return b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        if (!ix->name) continue; /* the heap */
        b2p_verify_key *k = &vt->keys[vt->nkeys++];
        k->kind = ix->primary_key ? B2P_VERIFY_PRIMARY_KEY
                  : ix->unique_constraint ? B2P_VERIFY_UNIQUE_CONSTRAINT
                  : ix->unique            ? B2P_VERIFY_UNIQUE_INDEX
                                          : B2P_VERIFY_INDEX;
        k->index = ix;
        k->enforced = k->checked = true;
        snprintf(k->name, sizeof k->name, "%s", b2p_names_index(v->nm, t, i));
        bool computed = false;
        for (size_t c = 0; c < ix->nkeys; c++) {
            const b2p_cat_column *col = b2p_table_column(t, ix->key_columns[c]);
            computed |= !col || col->is_computed;
        }
        if (ix->type > IX_NONCLUSTERED) not_checked(k, "an XML, spatial or columnstore index: load does not create it");
        else if (ix->disabled) not_checked(k, "disabled in SQL Server: load does not create it");
        else if (computed) not_checked(k, "on a computed column: load does not create it");
        else if (ix->has_filter)
            not_checked(k, ix->unique ? "a filtered unique index: its filter is not evaluated here"
                                      : "a filtered index: load creates it only where its filter translates (review.sql)");
    }
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[i];
        b2p_verify_key *k = &vt->keys[vt->nkeys++];
        k->kind = B2P_VERIFY_FOREIGN_KEY;
        k->fk = fk;
        k->ref = b2p_catalog_table_by_id(v->cat, fk->ref_object_id);
        k->checked = true;
        k->enforced = !fk->disabled && !fk->not_trusted;
        b2p_names_fold(v->nm, fk->name, k->name, sizeof k->name);
        char ref[600];
        if (k->ref) snprintf(ref, sizeof ref, "%s.%s", k->ref->schema, k->ref->name);
        if (!k->ref || !fk->ncolumns) not_checked(k, "its columns or referenced table could not be read");
        else if (!selected(v, k->ref)) not_checked(k, "the referenced table %s is not selected", ref);
        else if (b2p_export_unsupported(k->ref)) not_checked(k, "the referenced table %s is not compared (skipped)", ref);
    }
    return B2P_OK;
}

static b2p_status check_unique(verifier *v, const b2p_cat_table *t, b2p_verify_key *k) {
    const b2p_cat_index *ix = k->index;
    b2p_buf_clear(&v->sql);
    b2p_status st = put(v, "SELECT count(*) FROM (SELECT 1 FROM ");
    if (!st) st = b2p_qualified(v->nm, t, &v->sql, v->err);
    /* PostgreSQL's unique constraints let any number of rows have a NULL key column (SQL Server's
     * unique indexes allow one): those rows are no duplicates here */
    for (size_t c = 0; c < ix->nkeys && !st && k->kind != B2P_VERIFY_PRIMARY_KEY; c++) {
        st = put_column(v, c ? " AND " : " WHERE ", t, ix->key_columns[c]);
        if (!st) st = put(v, " IS NOT NULL");
    }
    for (size_t c = 0; c < ix->nkeys && !st; c++) st = put_column(v, c ? ", " : " GROUP BY ", t, ix->key_columns[c]);
    if (!st) st = put(v, " HAVING count(*) > 1) AS d");
    char what[300];
    snprintf(what, sizeof what, "the check of %s %s", b2p_verify_key_kind_name(k->kind), k->name);
    return st ? st : count_query(v, what, &k->violations);
}

enum { XT_TEXT = 35, XT_NTEXT = 99, XT_VARCHAR = 167, XT_CHAR = 175, XT_NVARCHAR = 231, XT_NCHAR = 239 };
#define COLLATION_IGNORE_CASE 0x1000u /* collation id bit (pages.md 6.1), as emit/ddl.c reads it */

static bool is_text(const b2p_cat_column *c) {
    return c && (c->xtype == XT_TEXT || c->xtype == XT_NTEXT || c->xtype == XT_VARCHAR || c->xtype == XT_CHAR ||
                 c->xtype == XT_NVARCHAR || c->xtype == XT_NCHAR);
}

/* One side of a foreign key's column pair: PostgreSQL's own comparison, or (sqlserver) SQL
 * Server's for text: trailing spaces ignored, and case too under a case-insensitive collation. */
static b2p_status put_side(verifier *v, const char *alias, const b2p_cat_table *t, int32_t column_id, int how) {
    static const char *const open[] = {"", "rtrim(", "lower(rtrim("}, *const close[] = {"", ")", "))"};
    b2p_status st = put(v, open[how]);
    if (!st) st = put_column(v, alias, t, column_id);
    return st ? st : put(v, close[how]);
}

/* Child rows whose foreign key columns are all non-NULL and match no row of the referenced table,
 * comparing as PostgreSQL does, or as SQL Server does (sqlserver). */
static b2p_status count_orphans(verifier *v, const b2p_cat_table *t, const b2p_verify_key *k, bool sqlserver,
                                uint64_t *n) {
    const b2p_cat_foreign_key *fk = k->fk;
    b2p_buf_clear(&v->sql);
    b2p_status st = put(v, "SELECT count(*) FROM ");
    if (!st) st = b2p_qualified(v->nm, t, &v->sql, v->err);
    for (size_t c = 0; c < fk->ncolumns && !st; c++) {
        st = put_column(v, c ? " AND c." : " AS c WHERE c.", t, fk->columns[c]);
        if (!st) st = put(v, " IS NOT NULL");
    }
    if (!st) st = put(v, " AND NOT EXISTS (SELECT 1 FROM ");
    if (!st) st = b2p_qualified(v->nm, k->ref, &v->sql, v->err);
    for (size_t c = 0; c < fk->ncolumns && !st; c++) {
        const b2p_cat_column *col = b2p_table_column(t, fk->columns[c]);
        uint32_t coll = col && col->collation_id ? col->collation_id : v->cat->collation_id;
        int how = !sqlserver || !is_text(col) ? 0 : coll & COLLATION_IGNORE_CASE ? 2 : 1;
        st = put(v, c ? " AND " : " AS p WHERE ");
        if (!st) st = put_side(v, "p.", k->ref, fk->ref_columns[c], how);
        if (!st) st = put(v, " = ");
        if (!st) st = put_side(v, "c.", t, fk->columns[c], how);
    }
    if (!st) st = put(v, ")");
    char what[300];
    snprintf(what, sizeof what, "the check of foreign key %s", k->name);
    return st ? st : count_query(v, what, n);
}

/* PostgreSQL compares text exactly; SQL Server, under the usual case-insensitive collations,
 * does not, and it ignores trailing spaces: a child row SQL Server matched ('Gv40' to 'GV40')
 * can have no match in PostgreSQL (load then leaves the constraint NOT VALID, with a warning).
 * Such rows are counted apart; only rows that match in neither way are orphans. */
static b2p_status check_foreign_key(verifier *v, const b2p_cat_table *t, b2p_verify_key *k) {
    uint64_t exact = 0;
    b2p_status st = count_orphans(v, t, k, false, &exact);
    bool text = false;
    for (size_t c = 0; c < k->fk->ncolumns; c++) text |= is_text(b2p_table_column(t, k->fk->columns[c]));
    k->violations = exact;
    if (!st && exact && text) st = count_orphans(v, t, k, true, &k->violations);
    if (!st) k->text_mismatches = exact - (k->violations < exact ? k->violations : exact);
    return st;
}

/* Whether the target has key k as load creates it: a constraint (primary key 'p', unique 'u',
 * foreign key 'f' to the same table) or an index (unique 'u' or not 'i') of that name on t, on
 * the same columns in the same order. What differs goes into k->absent_why. oid: t's in the target
 * (target_columns' first field). */
static b2p_status check_presence(verifier *v, const b2p_cat_table *t, const char *oid, b2p_verify_key *k) {
    static const char CONSTRAINT_SQL[] =
        "SELECT c.contype::text, a.attname, c.confrelid = coalesce(pg_catalog.to_regclass($3)::oid, 0::oid) "
        "FROM pg_catalog.pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
        "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.conrelid = $1::oid AND c.conname = $2 ORDER BY k.ord";
    static const char INDEX_SQL[] =
        "SELECT CASE WHEN i.indisunique THEN 'u' ELSE 'i' END, a.attname, true "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
        "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = $1::oid AND ic.relname = $2 AND k.ord <= i.indnkeyatts ORDER BY k.ord";
    bool constraint = k->kind != B2P_VERIFY_UNIQUE_INDEX && k->kind != B2P_VERIFY_INDEX;
    char want = k->kind == B2P_VERIFY_PRIMARY_KEY ? 'p' : k->kind == B2P_VERIFY_FOREIGN_KEY ? 'f'
                : k->kind == B2P_VERIFY_INDEX ? 'i' : 'u';
    const int32_t *ids = k->fk ? k->fk->columns : k->index->key_columns;
    size_t n = k->fk ? k->fk->ncolumns : k->index->nkeys;
    b2p_buf ref = {0};
    b2p_status st = k->fk ? b2p_qualified(v->nm, k->ref, &ref, v->err) : B2P_OK;
    if (st) return st;
    const char *p[] = {oid, k->name, k->fk ? ref.data : NULL};
    PGresult *r;
    char what[300];
    snprintf(what, sizeof what, "the query for %s %s", b2p_verify_key_kind_name(k->kind), k->name);
    st = b2p_pg_query(v->conn, constraint ? CONSTRAINT_SQL : INDEX_SQL, constraint ? 3 : 2, p, what, &r, v->err);
    b2p_buf_free(&ref);
    if (st) return st;
    int rows = PQntuples(r);
    bool same = rows == (int)n;
    for (int i = 0; i < rows && same; i++) {
        const char *name = b2p_names_column(v->nm, t, ids[i]);
        same = !PQgetisnull(r, i, 1) && name && !strcmp(PQgetvalue(r, i, 1), name);
    }
    char kind = rows ? PQgetvalue(r, 0, 0)[0] : 0;
    if (!rows) {
        k->absent = true;
        snprintf(k->absent_why, sizeof k->absent_why, "missing in the target");
    } else if (kind != want && !(want == 'i' && kind == 'u')) { /* a unique index serves as an index */
        k->absent = true;
        snprintf(k->absent_why, sizeof k->absent_why, "in the target %s is no %s", k->name, b2p_verify_key_kind_name(k->kind));
    } else if (k->fk && strcmp(PQgetvalue(r, 0, 2), "t")) {
        k->absent = true;
        snprintf(k->absent_why, sizeof k->absent_why, "in the target it references another table");
    } else if (!same) {
        size_t used = (size_t)snprintf(k->absent_why, sizeof k->absent_why, "on columns (");
        for (int i = 0; i < rows && used < sizeof k->absent_why; i++)
            used += (size_t)snprintf(k->absent_why + used, sizeof k->absent_why - used, "%s%s", i ? ", " : "",
                                     PQgetisnull(r, i, 1) ? "(expression)" : PQgetvalue(r, i, 1));
        if (used < sizeof k->absent_why) snprintf(k->absent_why + used, sizeof k->absent_why - used, ") in the target");
        k->absent = true;
    }
    PQclear(r);
    return B2P_OK;
}

/* Checks t's keys and indexes in the target (cols: the target table's columns). */
static b2p_status check_keys(verifier *v, const b2p_cat_table *t, const PGresult *cols, b2p_verify_table *vt) {
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < vt->nkeys && !st; i++) {
        b2p_verify_key *k = &vt->keys[i];
        if (!k->checked) continue;
        const char *gone;
        if (k->fk) {
            PGresult *rcols = NULL;
            if ((gone = lacking(v, cols, t, k->fk->columns, k->fk->ncolumns))) {
                not_checked(k, "the target table has no column %s", gone);
            } else if ((st = target_columns(v, k->ref, &rcols))) {
                break;
            } else if (!rcols) {
                not_checked(k, "the referenced table %s.%s is missing in the target", b2p_names_schema(v->nm, k->ref),
                            b2p_names_table(v->nm, k->ref));
            } else if ((gone = lacking(v, rcols, k->ref, k->fk->ref_columns, k->fk->ncolumns))) {
                not_checked(k, "the referenced table has no column %s in the target", gone);
            } else {
                st = check_presence(v, t, PQgetvalue(cols, 0, 0), k);
                if (!st) st = check_foreign_key(v, t, k);
            }
            PQclear(rcols);
        } else if ((gone = lacking(v, cols, t, k->index->key_columns, k->index->nkeys))) {
            not_checked(k, "the target table has no column %s", gone);
        } else {
            st = check_presence(v, t, PQgetvalue(cols, 0, 0), k);
            if (!st && k->kind != B2P_VERIFY_INDEX) st = check_unique(v, t, k);
        }
    }
    return st;
}

/* ---- one table ----------------------------------------------------------------------------- */

/* The exported columns whose type in the target is not the one load gives them (a type problem;
 * their values are then not compared row by row). The mapping's type names are resolved by the
 * server itself: SELECT NULL::<type>, ... describes each as an oid and a typmod, which are
 * compared with the target column's (a domain's base type's). */
static b2p_status check_types(verifier *v, const decoded *d, const PGresult *cols, const bool *in_target, bool *compared,
                              b2p_verify_table *vt) {
    char (*types)[64] = calloc(d->nex + 1, sizeof *types);
    vt->type_problems = calloc(d->nex + 1, sizeof *vt->type_problems);
    if (!types || !vt->type_problems) {
        free(types);
        return b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    }
    b2p_buf_clear(&v->sql);
    b2p_status st = put(v, "SELECT NULL");
    size_t asked = 0;
    for (size_t i = 0; i < d->nex && !st; i++) {
        if (!in_target[i]) continue;
        char buf[64];
        snprintf(types[i], sizeof types[i], "%s", b2p_pg_type(d->ex_cols[i], buf, sizeof buf));
        st = put(v, asked++ ? ", NULL::" : "::"); /* the mapping's own names, never the backup's */
        if (!st) st = put(v, types[i]);
    }
    PGresult *r = NULL;
    if (!st && asked) st = b2p_pg_query(v->conn, v->sql.data, 0, NULL, "resolving the mapped types", &r, v->err);
    for (size_t i = 0, k = 0; !st && asked && i < d->nex; i++) {
        if (!in_target[i]) continue;
        int field = (int)k++;
        const char *name = b2p_names_column(v->nm, vt->t, d->ex_cols[i]->column_id);
        int row = column_row(cols, name);
        if (row < 0) continue;
        unsigned long oid = strtoul(PQgetvalue(cols, row, 3), NULL, 10);
        long typmod = strtol(PQgetvalue(cols, row, 4), NULL, 10);
        if (oid == (unsigned long)PQftype(r, field) && typmod == PQfmod(r, field)) continue;
        b2p_verify_type_problem *p = &vt->type_problems[vt->ntype_problems++];
        p->column = name;
        snprintf(p->expected, sizeof p->expected, "%s", types[i]);
        snprintf(p->actual, sizeof p->actual, "%s", PQgetvalue(cols, row, 2));
        compared[i] = false;
    }
    PQclear(r);
    free(types);
    return st;
}

/* Which rows differ (vdiff.c), by the columns the target has of the mapped type. */
static b2p_status diff_rows(verifier *v, b2p_pages *src, const decoded *d, const bool *in_target, const bool *compared,
                            b2p_verify_table *vt) {
    b2p_status st = copy_sql(v, vt->t, d->ex_cols, d->nex, in_target);
    if (st) return st;
    vdiff_in in = {.conn = v->conn, .src = src, .cat = v->cat, .nm = v->nm, .t = &d->t, .named = vt->t, .ex = d->ex,
                   .cols = d->ex_cols, .ncols = d->nex, .in_target = in_target, .compared = compared,
                   .target_copy = v->sql.data, .limit = v->opt->diff_rows, .memory = v->opt->diff_memory,
                   .progress = v->opt->progress ? vdiff_progress : NULL, .ctx = v};
    return vdiff_table(&in, &vt->diff, v->err);
}

/* The target's side of a table it has: which columns it has and of which type, their content
 * hash, and, where it differs, which rows. */
static b2p_status compare_present(verifier *v, b2p_pages *src, const decoded *d, const PGresult *cols, b2p_verify_table *vt) {
    const b2p_cat_table *t = vt->t;
    bool *in_target = calloc(d->nex + 1, sizeof *in_target), *compared = calloc(d->nex + 1, sizeof *compared);
    b2p_status st = in_target && compared ? B2P_OK : b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < d->nex && !st; i++) {
        const char *name = b2p_names_column(v->nm, t, d->ex_cols[i]->column_id);
        compared[i] = in_target[i] = has_column(cols, name);
        if (in_target[i] || used + 1 >= sizeof vt->missing_columns) continue;
        int n = snprintf(vt->missing_columns + used, sizeof vt->missing_columns - used, "%s%s", used ? ", " : "", name);
        used = n < 0 || (size_t)n >= sizeof vt->missing_columns - used ? sizeof vt->missing_columns - 1 : used + (size_t)n;
    }
    if (!st) st = check_types(v, d, cols, in_target, compared, vt);
    if (!st && !vt->missing_columns[0]) {
        st = target_hash(v, t, d->ex_cols, d->nex, &vt->target);
        vt->content_equal = !st && b2p_content_hash_equal(&vt->source, &vt->target);
    } else if (!st) { /* the exported columns the target lacks: the rows are counted */
        b2p_buf_clear(&v->sql);
        st = put(v, "SELECT count(*) FROM ");
        if (!st) st = b2p_qualified(v->nm, t, &v->sql, v->err);
        if (!st) st = count_query(v, "counting rows", &vt->target.rows);
    }
    if (!st && !vt->content_equal && v->opt->diff_rows) st = diff_rows(v, src, d, in_target, compared, vt);
    free(in_target);
    free(compared);
    return st;
}

static b2p_status verify_table(verifier *v, b2p_pages *src, const b2p_cat_table *t, b2p_verify_table *vt) {
    vt->t = t;
    if ((vt->skipped = b2p_export_unsupported(t))) {
        vt->status = B2P_VERIFY_SKIPPED;
        return B2P_OK;
    }
    ledger_said led;
    decoded dec = {0};
    b2p_status st = ledger_settings(v, t, &led);
    if (!st) st = list_keys(v, t, vt);
    if (!st) st = decode_as_loaded(v, t, &led, vt, &dec);
    free(led.bytea);
    if (!st) st = source_hash(v, src, &dec, vt);
    PGresult *cols = NULL;
    if (!st) st = target_columns(v, t, &cols);
    if (st) {
        decoded_free(&dec);
        return st;
    }
    if (!cols) {
        vt->status = B2P_VERIFY_MISSING;
        for (size_t i = 0; i < vt->nkeys; i++)
            if (vt->keys[i].checked) not_checked(&vt->keys[i], "the table is missing in the target");
    } else {
        st = compare_present(v, src, &dec, cols, vt);
        if (!st) st = check_keys(v, t, cols, vt);
        PQclear(cols);
        vt->status = vt->content_equal && !vt->ntype_problems ? B2P_VERIFY_EQUAL : B2P_VERIFY_DIFFERENT;
    }
    decoded_free(&dec);
    for (size_t i = 0; i < vt->nkeys; i++) {
        const b2p_verify_key *k = &vt->keys[i];
        if (!k->checked) vt->keys_unchecked++;
        else if (k->absent || (k->enforced && k->violations)) vt->keys_failed++;
    }
    if (vt->keys_failed && vt->status == B2P_VERIFY_EQUAL) vt->status = B2P_VERIFY_DIFFERENT;
    return st;
}

/* Opens a verifier's session: the fixed settings the hashes are computed under, and a read-only,
 * repeatable-read transaction; on snapshot (a worker's) that of the first session, so that every
 * worker sees the same target. */
static b2p_status begin_session(verifier *v, const char *snapshot) {
    b2p_status st = b2p_pg_exec(v->conn, b2p_pg_copy_settings(), "the session settings", v->err);
    if (!st) st = b2p_pg_exec(v->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "BEGIN", v->err);
    if (!st && snapshot) {
        char sql[128];
        snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", snapshot); /* pg_export_snapshot's: [0-9A-F-] */
        st = b2p_pg_exec(v->conn, sql, "sharing the snapshot", v->err);
    }
    return st;
}

static void count_table(b2p_verify_result *out, const b2p_verify_table *vt) {
    switch (vt->status) {
    case B2P_VERIFY_EQUAL: out->equal++; break;
    case B2P_VERIFY_DIFFERENT: out->different++; break;
    case B2P_VERIFY_MISSING: out->missing++; break;
    case B2P_VERIFY_SKIPPED: out->skipped++; break;
    }
    out->source_rows += vt->source.rows;
    out->target_rows += vt->target.rows;
    out->keys_checked += (unsigned)vt->nkeys - vt->keys_unchecked;
    out->keys_failed += vt->keys_failed;
    out->keys_unchecked += vt->keys_unchecked;
}

/* ---- several tables at once (jobs > 1) ---------------------------------------------------- */

typedef struct parallel {
    const verifier *main;            /* its settings; its connection stays with the calling thread */
    b2p_pages *src;
    char snapshot[64];
    const size_t *table_of_job;      /* job -> catalog index */
    verifier *workers;               /* per worker: its own connection and buffer */
    b2p_pages **worker_src;
    b2p_error *worker_err;
    pthread_mutex_t mu;              /* guards the callbacks */
} parallel;

static b2p_status worker_begin(void *ctx, unsigned w, b2p_error *err) {
    parallel *p = ctx;
    verifier *v = &p->workers[w];
    *v = *p->main;
    v->sql = (b2p_buf){0};
    v->conn = NULL;
    v->mu = &p->mu;
    v->err = err;
    b2p_status st = b2p_pg_connect(p->main->opt->conninfo, 0, &v->notice, &v->conn, err);
    if (!st) st = begin_session(v, p->snapshot);
    if (!st && !(p->worker_src[w] = b2p_pages_fork(p->src, err))) st = err->code;
    return st;
}

static void worker_end(void *ctx, unsigned w) {
    parallel *p = ctx;
    b2p_buf_free(&p->workers[w].sql);
    PQfinish(p->workers[w].conn);
    b2p_pages_free(p->worker_src[w]);
    p->workers[w].conn = NULL;
    p->worker_src[w] = NULL;
}

static b2p_status verify_job(void *ctx, b2p_jobs *jobs, size_t job, unsigned w, b2p_error *err) {
    (void)jobs;
    parallel *p = ctx;
    verifier *v = &p->workers[w];
    v->err = err;
    size_t ti = p->table_of_job[job];
    b2p_status st = verify_table(v, p->worker_src[w], &v->cat->tables[ti], &v->out->tables[job]);
    if (!st && v->opt->table_done) {
        pthread_mutex_lock(&p->mu);
        v->opt->table_done(v->opt->ctx, &v->out->tables[job]);
        pthread_mutex_unlock(&p->mu);
    }
    return st;
}

static b2p_status verify_parallel(verifier *v, b2p_pages *src, const size_t *table_of_job, size_t n) {
    parallel p = {.main = v, .src = src, .table_of_job = table_of_job, .mu = PTHREAD_MUTEX_INITIALIZER};
    PGresult *r = NULL;
    b2p_status st = b2p_pg_query(v->conn, "SELECT pg_export_snapshot()", 0, NULL, "exporting the snapshot", &r, v->err);
    if (!st) snprintf(p.snapshot, sizeof p.snapshot, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (st) return st;
    if (strspn(p.snapshot, "0123456789ABCDEFabcdef-") != strlen(p.snapshot))
        return b2p_fail(v->err, B2P_ERR_PG_SQL, "the server exported a snapshot named '%s'", p.snapshot);
    unsigned threads = v->opt->jobs < n ? v->opt->jobs : (unsigned)n;
    p.workers = calloc(threads, sizeof *p.workers);
    p.worker_src = calloc(threads, sizeof *p.worker_src);
    if (!p.workers || !p.worker_src) st = b2p_fail(v->err, B2P_ERR_NOMEM, "out of memory");
    b2p_jobs_spec spec = {.njobs = n, .threads = threads, .ctx = &p, .worker_start = worker_begin, .worker_stop = worker_end,
                          .run = verify_job};
    if (!st) st = b2p_jobs_run(&spec, v->err);
    free(p.workers);
    free(p.worker_src);
    return st;
}

b2p_status b2p_verify(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_verify_options *opt,
                      b2p_verify_result *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    verifier v = {.cat = cat, .nm = nm, .opt = opt, .err = err, .notice = {.fn = opt->notice, .ctx = opt->ctx}, .out = out};
    b2p_status st = b2p_pg_connect(opt->conninfo, 0, &v.notice, &v.conn, err);
    if (st) return st;
    snprintf(out->database, sizeof out->database, "%s", PQdb(v.conn));
    out->tables = calloc(cat->ntables ? cat->ntables : 1, sizeof *out->tables);
    size_t *table_of_job = calloc(cat->ntables ? cat->ntables : 1, sizeof *table_of_job);
    if (!out->tables || !table_of_job) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    if (!st) st = begin_session(&v, NULL);
    if (!st) st = ledger_present(&v);
    if (!st) st = ledger_last_run(&v, src, out);
    size_t n = 0;
    for (size_t i = 0; i < cat->ntables; i++)
        if (selected(&v, &cat->tables[i])) table_of_job[n++] = i;
    if (!st && opt->jobs > 1 && n > 1) {
        st = verify_parallel(&v, src, table_of_job, n);
        if (!st) out->ntables = n;
    } else {
        for (size_t j = 0; j < n && !st; j++) {
            b2p_verify_table *vt = &out->tables[out->ntables++];
            st = verify_table(&v, src, &cat->tables[table_of_job[j]], vt);
            if (!st && opt->table_done) opt->table_done(opt->ctx, vt);
        }
    }
    for (size_t j = 0; j < out->ntables && !st; j++) count_table(out, &out->tables[j]);
    if (!st) st = b2p_pg_exec(v.conn, "COMMIT", "COMMIT", err);
    out->ok = !st && out->different == 0 && out->missing == 0 && !out->unfinished_run[0];
    free(table_of_job);
    b2p_buf_free(&v.sql);
    PQfinish(v.conn);
    return st;
}

void b2p_verify_result_free(b2p_verify_result *r) {
    for (size_t i = 0; r->tables && i < r->ntables; i++) {
        free(r->tables[i].keys);
        free(r->tables[i].type_problems);
        vdiff_free(&r->tables[i].diff);
    }
    free(r->tables);
    memset(r, 0, sizeof *r);
}
