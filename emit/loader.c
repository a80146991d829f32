/* Loading straight into PostgreSQL through libpq, and loading again (see emit.h "Load").
 *
 * The same DDL and the same COPY bytes as convert, with no files in between. A run:
 *   1. takes the ledger lock and opens the ledger (emit/ledger.c), records the run;
 *   2. creates the tables the target lacks (pre-data, one transaction, with their ledger rows);
 *   3. per table, in foreign-key order and each in a transaction of its own: a new table gets its
 *      rows by COPY; a table the target holds is skipped when the ledger shows the same content,
 *      else its rows are staged by COPY and merged (insert new, update changed, count or delete
 *      what is gone), matched by primary key, a unique key, or the whole row; the ledger row for
 *      the table commits with its rows;
 *   4. with sync_deletes, deletes what is gone, in reverse foreign-key order (children first);
 *   5. adds keys, indexes and constraints to the tables that lack them (post-data).
 * A killed run is resumed by running it again: step 3's per-table ledger rows say what is done.
 * With jobs > 1, step 3 runs on that many threads, each with its own connection and its own fork
 * of the page source; a table starts once every table it references is done, so that a merge
 * never inserts a child before its parent. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "ledger_int.h"

const char *b2p_load_mode_name(b2p_load_mode m) {
    switch (m) {
    case B2P_LOAD_AUTO: return "auto";
    case B2P_LOAD_CREATE: return "create";
    case B2P_LOAD_APPEND: return "append";
    case B2P_LOAD_REMIGRATE: return "remigrate";
    }
    return "?";
}

const char *b2p_load_action_name(b2p_load_action a) {
    switch (a) {
    case B2P_LOAD_LOADED: return "loaded";
    case B2P_LOAD_UNCHANGED: return "unchanged";
    case B2P_LOAD_MERGED: return "merged";
    case B2P_LOAD_APPENDED: return "appended";
    case B2P_LOAD_DRIFT: return "drift";
    case B2P_LOAD_REPLACED: return "replaced";
    case B2P_LOAD_FAILED: return "failed";
    case B2P_LOAD_SKIPPED: return "skipped";
    }
    return "?";
}

enum { MAX_COLUMNS = 4096 };

typedef struct loader {
    b2p_pages *src;
    const b2p_catalog *cat;
    const b2p_names *nm;
    const b2p_load_options *opt;
    b2p_load_stats *stats;
    PGconn *conn;
    b2p_pg_notice notice;
    char source_id[200];     /* what was loaded: backup set GUID and export options */
    bool *existed;           /* per catalog table: in the target before this run */
    bool *referable;         /* per catalog table: in the target now */
    bool *needs_post_data;   /* per catalog table: keys and constraints still to add */
    bool *pending_deletes;   /* per catalog table: a staging table kept for the delete pass */
    bool *failed;            /* per catalog table: stopped by a failure of its own this run */
    b2p_error *err;
    /* with several workers, each has a copy of this struct with its own conn, src and err; the
     * arrays above are shared (each table's entries are written by the one worker loading it);
     * the stats and the caller's callbacks are reached under lock */
    pthread_mutex_t *lock;
    bool holds_ledger_lock;  /* the connection that took the one-load-at-a-time lock */
    char fingerprint[20];    /* of the table being loaded (table_fingerprint) */
} loader;

static void enter(const loader *l) {
    if (l->lock) pthread_mutex_lock(l->lock);
}

static void leave(const loader *l) {
    if (l->lock) pthread_mutex_unlock(l->lock);
}

static void notify_start(const loader *l, const b2p_cat_table *t, const char *doing) {
    if (!l->opt->table_start) return;
    enter(l);
    l->opt->table_start(l->opt->ctx, t, doing);
    leave(l);
}

static void notify_progress(const loader *l, const b2p_cat_table *t, uint64_t rows) {
    if (!l->opt->progress) return;
    enter(l);
    l->opt->progress(l->opt->ctx, t, rows);
    leave(l);
}

static void notify_done(const loader *l, const b2p_load_result *r) {
    if (!l->opt->table_done) return;
    enter(l);
    l->opt->table_done(l->opt->ctx, r);
    leave(l);
}

/* The server's notices, from any worker's connection. */
static void on_notice(void *ctx, const char *message) {
    const loader *l = ctx;
    if (!l->opt->notice) return;
    enter(l);
    l->opt->notice(l->opt->ctx, message);
    leave(l);
}

/* ---- small SQL builders ------------------------------------------------------------------ */

static b2p_status put(loader *l, b2p_buf *b, const char *s) {
    return b2p_buf_puts(b, s, l->err);
}

static b2p_status put_table(loader *l, b2p_buf *b, const b2p_cat_table *t) {
    return b2p_qualified(l->nm, t, b, l->err);
}

/* "p.a, p.b" (prefix may be NULL) over columns cols[0..n). */
static b2p_status put_columns(loader *l, b2p_buf *b, const b2p_cat_table *t, const b2p_cat_column *const *cols, size_t n,
                              const char *prefix) {
    b2p_status st = B2P_OK;
    for (size_t k = 0; k < n && !st; k++) {
        if (k) st = put(l, b, ", ");
        if (!st && prefix) st = put(l, b, prefix);
        if (!st && prefix) st = put(l, b, ".");
        if (!st) st = b2p_quote_ident(b2p_names_column(l->nm, t, cols[k]->column_id), b, l->err);
    }
    return st;
}

/* ROW(p.a, p.b)::text: a row's identity for whole-row matching and change detection (text, so
 * that types without an equality operator, xml say, compare too). */
static b2p_status put_row_text(loader *l, b2p_buf *b, const b2p_cat_table *t, const b2p_cat_column *const *cols, size_t n,
                               const char *prefix) {
    b2p_status st = put(l, b, "ROW(");
    if (!st) st = put_columns(l, b, t, cols, n, prefix);
    return st ? st : put(l, b, ")::text");
}

/* "b2p_t.k = b2p_s.k AND ..." (IS NOT DISTINCT FROM where a key column may be NULL). */
static b2p_status put_key_match(loader *l, b2p_buf *b, const b2p_cat_table *t, const b2p_cat_column *const *key, size_t n) {
    b2p_status st = B2P_OK;
    for (size_t k = 0; k < n && !st; k++) {
        const b2p_cat_column *const one[] = {key[k]};
        if (k) st = put(l, b, " AND ");
        if (!st) st = put_columns(l, b, t, one, 1, "b2p_t");
        if (!st) st = put(l, b, key[k]->nullable ? " IS NOT DISTINCT FROM " : " = ");
        if (!st) st = put_columns(l, b, t, one, 1, "b2p_s");
    }
    return st;
}

static b2p_status run(loader *l, const b2p_buf *sql, const char *what) {
    return b2p_pg_exec(l->conn, sql->data, what, l->err);
}

/* Runs sql and gives the number of rows it touched (or, for a SELECT count(*), the count). */
static b2p_status run_count(loader *l, const b2p_buf *sql, const char *what, uint64_t *count) {
    PGresult *r;
    b2p_status st = b2p_pg_query(l->conn, sql->data, 0, NULL, what, &r, l->err);
    if (st) return st;
    const char *n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : PQcmdTuples(r);
    *count = strtoull(n && *n ? n : "0", NULL, 10);
    PQclear(r);
    return B2P_OK;
}

static void rollback(loader *l) {
    b2p_error ignored;
    if (!b2p_pg_lost(l->conn)) b2p_pg_exec(l->conn, "ROLLBACK", "ROLLBACK", &ignored);
}

/* ---- what a table is, seen from the target ----------------------------------------------- */

typedef struct table_shape {
    const b2p_cat_column *cols[MAX_COLUMNS];
    size_t ncols;
    const b2p_cat_column *key[64];
    size_t nkey;                     /* 0: whole-row matching */
    char match_key[256];
    b2p_buf signature;               /* "name\ttype\n" per column: what the ledger keeps */
    const char *schema, *name;       /* target names */
} table_shape;

static const b2p_cat_column *column_by_id(const b2p_cat_table *t, int32_t id) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (t->columns[i].column_id == id) return &t->columns[i];
    return NULL;
}

/* The key rows are matched by: the primary key, else a unique constraint, else a unique index
 * without a filter; every key column must be one the export writes. */
static const b2p_cat_index *match_index(const b2p_cat_table *t) {
    const b2p_cat_index *best = NULL;
    int best_rank = 0;
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        int rank = ix->primary_key ? 3 : ix->unique_constraint ? 2 : ix->unique ? 1 : 0;
        if (!rank || ix->disabled || ix->has_filter || !ix->nkeys || ix->nkeys > 64 || rank <= best_rank) continue;
        bool stored = true;
        for (size_t k = 0; k < ix->nkeys && stored; k++) {
            const b2p_cat_column *c = column_by_id(t, ix->key_columns[k]);
            stored = c && !c->is_computed;
        }
        if (stored) best = ix, best_rank = rank;
    }
    return best;
}

static b2p_status fill_shape(loader *l, const b2p_cat_table *t, table_shape *s) {
    s->schema = b2p_names_schema(l->nm, t);
    s->name = b2p_names_table(l->nm, t);
    s->ncols = b2p_export_columns(t, s->cols, MAX_COLUMNS);
    const b2p_cat_index *ix = match_index(t);
    b2p_buf keytext = {0};
    b2p_status st = B2P_OK;
    for (size_t k = 0; ix && k < ix->nkeys && !st; k++) {
        s->key[s->nkey++] = column_by_id(t, ix->key_columns[k]);
        st = put(l, &keytext, k ? ", " : "");
        if (!st) st = put(l, &keytext, b2p_names_column(l->nm, t, ix->key_columns[k]));
    }
    if (!st && !ix) snprintf(s->match_key, sizeof s->match_key, "whole row");
    if (!st && ix) snprintf(s->match_key, sizeof s->match_key, "%s (%s)", ix->primary_key ? "primary key" : "unique", keytext.data);
    b2p_buf_free(&keytext);
    for (size_t k = 0; k < s->ncols && !st; k++) {
        char type[64];
        st = put(l, &s->signature, b2p_names_column(l->nm, t, s->cols[k]->column_id));
        if (!st) st = put(l, &s->signature, "\t");
        if (!st) st = put(l, &s->signature, b2p_pg_type(s->cols[k], type, sizeof type));
        if (!st) st = put(l, &s->signature, "\n");
    }
    return st;
}

/* A table's shape, allocated (it holds up to MAX_COLUMNS column pointers); NULL with err set. */
static table_shape *shape_new(loader *l, const b2p_cat_table *t) {
    table_shape *s = calloc(1, sizeof *s);
    if (!s) {
        b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (fill_shape(l, t, s)) {
        b2p_buf_free(&s->signature);
        free(s);
        return NULL;
    }
    return s;
}

static void shape_free(table_shape *s) {
    if (s) b2p_buf_free(&s->signature);
    free(s);
}

static b2p_status target_has_table(loader *l, const b2p_cat_table *t, bool *out) {
    b2p_buf q = {0};
    b2p_status st = put_table(l, &q, t);
    const char *p[] = {q.data};
    PGresult *r = NULL;
    if (!st) st = b2p_pg_query(l->conn, "SELECT to_regclass($1) IS NOT NULL", 1, p, "a table lookup", &r, l->err);
    if (!st) *out = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    b2p_buf_free(&q);
    return st;
}

/* ---- rows into PostgreSQL ---------------------------------------------------------------- */

/* The sink between the decoder and COPY: hashes each row (the ledger's content hash) and calls
 * the progress callback about once a second. */
typedef struct feed {
    b2p_hash_sink hash;
    loader *l;
    const b2p_cat_table *t;
    uint64_t next_check;
    time_t last;
} feed;

static bool feed_write(void *ctx, const char *data, size_t len) {
    feed *f = ctx;
    if (!b2p_hash_sink_write(&f->hash, data, len)) return false;
    if (f->l->opt->progress && f->hash.hash.rows >= f->next_check) {
        f->next_check = f->hash.hash.rows + 4096;
        time_t now = time(NULL);
        if (now != f->last) notify_progress(f->l, f->t, f->hash.hash.rows);
        f->last = now;
    }
    return true;
}

/* Decodes t's rows, hashing them, into COPY target (a table name) when target is set. */
static b2p_status stream_rows(loader *l, const b2p_cat_table *t, const table_shape *s, const char *target,
                              b2p_content_hash *hash, b2p_export_stats *es) {
    feed f = {.l = l, .t = t, .last = time(NULL)};
    b2p_pg_copy *copy = NULL;
    b2p_status st = B2P_OK;
    if (target) {
        b2p_buf sql = {0};
        st = put(l, &sql, "COPY ");
        if (!st) st = put(l, &sql, target);
        if (!st) st = put(l, &sql, " (");
        if (!st) st = put_columns(l, &sql, t, s->cols, s->ncols, NULL);
        if (!st) st = put(l, &sql, ") FROM STDIN");
        if (!st) st = b2p_pg_copy_begin(l->conn, sql.data, "COPY", &copy, l->err);
        b2p_buf_free(&sql);
        if (st) return st;
        f.hash.next = b2p_pg_copy_write;
        f.hash.next_ctx = copy;
    }
    st = b2p_export_table(l->src, l->cat, t, &l->opt->export, feed_write, &f, es, l->err);
    if (copy) {
        /* on a decoding error the COPY is aborted, so that nothing of the table stays; a failure
         * to send (the connection gone) is the better reason when there is one */
        b2p_error copy_err;
        b2p_status end = b2p_pg_copy_end(copy, st ? "bak2pg: the table could not be decoded" : NULL, "the rows", &copy_err);
        if (end) {
            *l->err = copy_err;
            st = end;
        }
    }
    *hash = f.hash.hash;
    b2p_hash_sink_free(&f.hash);
    return st;
}

/* The table's ledger row: what it now holds (h), or, with h NULL, a table just created with no
 * rows committed yet (source "", rows -1), so that a killed run's next attempt knows it is its own. */
static b2p_status record(loader *l, const b2p_cat_table *t, const table_shape *s, const b2p_content_hash *h,
                         bool deletes_synced, bool post_data_done) {
    static const b2p_content_hash none;
    char hex[33];
    b2p_content_hash_hex(h ? h : &none, hex);
    ledger_record rec = {.target_schema = s->schema, .target_table = s->name, .source_schema = t->schema,
                         .source_table = t->name, .columns = s->signature.data ? s->signature.data : "",
                         .match_key = s->match_key, .source = h ? l->source_id : "", .content_hash = hex,
                         .source_rows = h ? (long long)h->rows : -1, .deletes_synced = deletes_synced,
                         .post_data_done = post_data_done, .page_fingerprint = h ? l->fingerprint : ""};
    return ledger_record_table(l->conn, l->stats->run_id, &rec, l->err);
}

/* ---- the table's pages, as a fingerprint ----------------------------------------------------- */

static void hash_u64(XXH64_state_t *x, uint64_t v) {
    uint8_t b[8];
    b2p_put_le64(b, v);
    XXH64_update(x, b, sizeof b);
}

static int fingerprint_page(void *ctx, const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h) {
    (void)page;
    XXH64_state_t *x = ctx;
    hash_u64(x, (uint64_t)h->self.file << 32 | h->self.page);
    hash_u64(x, (uint64_t)h->lsn.vlf << 32 | h->lsn.block);
    hash_u64(x, h->lsn.slot);
    return 0;
}

/* XXH64 over the table's allocation units (ids and page counts) and the id and LSN of every data
 * page (headers only: nothing is decoded). A page's LSN changes with every change to it, so the
 * same backup identity over different pages (two files that claim to be one backup) gives
 * another fingerprint: "unchanged" needs both. */
static b2p_status table_fingerprint(loader *l, const b2p_cat_table *t) {
    XXH64_state_t *x = XXH64_createState();
    if (!x) return b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    XXH64_reset(x, 0);
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < t->npartitions && !st; i++) {
        const b2p_cat_partition *p = &t->partitions[i];
        hash_u64(x, p->rowset_id);
        hash_u64(x, p->rows);
        for (size_t k = 0; k < p->naus && !st; k++) {
            const b2p_cat_au *au = &p->aus[k];
            hash_u64(x, au->type);
            hash_u64(x, au->ref.auid);
            hash_u64(x, au->used_pages);
            hash_u64(x, au->data_pages);
            if (au->type == B2P_AU_IN_ROW) st = b2p_au_scan(l->src, &au->ref, B2P_SCAN_IAM, fingerprint_page, x, NULL, l->err);
        }
    }
    snprintf(l->fingerprint, sizeof l->fingerprint, "%016llx", (unsigned long long)XXH64_digest(x));
    XXH64_freeState(x);
    return st;
}

/* ---- schema drift ------------------------------------------------------------------------- */

/* Whether a signature ("name\ttype\n" lines) has a column called name. */
static bool signature_has(const char *sig, const char *name) {
    size_t n = strlen(name);
    for (const char *p = sig; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, name, n) && p[n] == '\t') return true;
    return false;
}

/* Compares the backup's columns with the target's (as PostgreSQL spells their types, domains by
 * their base type) and with what the ledger says was loaded last. New nullable columns are added
 * (ALTER TABLE into alter); any other difference is drift: *why says which. */
static b2p_status check_drift(loader *l, const b2p_cat_table *t, const table_shape *s, const ledger_entry *led,
                              b2p_buf *alter, char *why, size_t whylen) {
    why[0] = 0;
    if (led->found && led->source_rows >= 0 && strcmp(led->match_key, s->match_key)) {
        snprintf(why, whylen, "rows were matched by %s and the backup now has %s", led->match_key, s->match_key);
        return B2P_OK;
    }
    /* the backup's types as PostgreSQL prints them: a probe table with the same column types */
    b2p_buf sql = {0};
    b2p_status st = put(l, &sql, "CREATE TEMP TABLE b2p_probe (");
    for (size_t k = 0; k < s->ncols && !st; k++) {
        char type[64];
        const b2p_cat_column *const one[] = {s->cols[k]};
        if (k) st = put(l, &sql, ", ");
        if (!st) st = put_columns(l, &sql, t, one, 1, NULL);
        if (!st) st = put(l, &sql, " ");
        if (!st) st = put(l, &sql, b2p_pg_type(s->cols[k], type, sizeof type));
    }
    if (!st) st = put(l, &sql, ") ON COMMIT DROP");
    if (!st) st = run(l, &sql, "a probe of the column types");
    b2p_buf_clear(&sql);
    static const char TYPES[] =
        "SELECT a.attname, format_type(coalesce(nullif(ty.typbasetype, 0), a.atttypid), "
        "CASE WHEN ty.typbasetype <> 0 THEN ty.typtypmod ELSE a.atttypmod END) "
        "FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
    PGresult *want = NULL, *have = NULL;
    const char *probe[] = {"pg_temp.b2p_probe"};
    if (!st) st = b2p_pg_query(l->conn, TYPES, 1, probe, "the column types", &want, l->err);
    if (!st) st = put_table(l, &sql, t);
    const char *target[] = {sql.data};
    if (!st) st = b2p_pg_query(l->conn, TYPES, 1, target, "the column types", &have, l->err);
    for (int i = 0; !st && !why[0] && i < PQntuples(want); i++) {
        const char *name = PQgetvalue(want, i, 0), *type = PQgetvalue(want, i, 1);
        int j = 0;
        while (j < PQntuples(have) && strcmp(PQgetvalue(have, j, 0), name)) j++;
        const b2p_cat_column *c = s->cols[i];
        if (j < PQntuples(have)) {
            if (strcmp(PQgetvalue(have, j, 1), type))
                snprintf(why, whylen, "column %s is %s in the target and %s in the backup", name, PQgetvalue(have, j, 1), type);
        } else if (!c->nullable) {
            snprintf(why, whylen, "the backup has a new NOT NULL column %s", name);
        } else {
            const b2p_cat_column *const one[] = {c};
            st = put(l, alter, "ALTER TABLE ");
            if (!st) st = put_table(l, alter, t);
            if (!st) st = put(l, alter, " ADD COLUMN ");
            if (!st) st = put_columns(l, alter, t, one, 1, NULL);
            if (!st) st = put(l, alter, " ");
            if (!st) st = put(l, alter, type);
            if (!st) st = put(l, alter, ";\n");
        }
    }
    /* a column the last load wrote and the backup no longer has was dropped; a column the ledger
     * never knew is the target's own and is left alone */
    for (int j = 0; !st && !why[0] && led->found && j < PQntuples(have); j++) {
        const char *name = PQgetvalue(have, j, 0);
        if (signature_has(led->columns, name) && !signature_has(s->signature.data, name))
            snprintf(why, whylen, "column %s was dropped from the backup", name);
    }
    PQclear(want);
    PQclear(have);
    if (!st) st = b2p_pg_exec(l->conn, "DROP TABLE pg_temp.b2p_probe", "the probe", l->err);
    b2p_buf_free(&sql);
    return st;
}

/* ---- merging ------------------------------------------------------------------------------ */

/* INSERT of the staged rows the target lacks; UPDATE of those that changed. */
static b2p_status merge_keyed(loader *l, const b2p_cat_table *t, const table_shape *s, const char *stage, b2p_load_result *res) {
    const b2p_cat_column *vals[MAX_COLUMNS];
    size_t nvals = 0;
    for (size_t k = 0; k < s->ncols; k++) {
        bool in_key = false;
        for (size_t j = 0; j < s->nkey; j++) in_key |= s->key[j] == s->cols[k];
        if (!in_key) vals[nvals++] = s->cols[k];
    }
    b2p_buf sql = {0};
    b2p_status st = B2P_OK;
    if (nvals) {
        st = put(l, &sql, "UPDATE ");
        if (!st) st = put_table(l, &sql, t);
        if (!st) st = put(l, &sql, " AS b2p_t SET ");
        for (size_t k = 0; k < nvals && !st; k++) {
            const b2p_cat_column *const one[] = {vals[k]};
            if (k) st = put(l, &sql, ", ");
            if (!st) st = put_columns(l, &sql, t, one, 1, NULL);
            if (!st) st = put(l, &sql, " = ");
            if (!st) st = put_columns(l, &sql, t, one, 1, "b2p_s");
        }
        if (!st) st = put(l, &sql, " FROM ");
        if (!st) st = put(l, &sql, stage);
        if (!st) st = put(l, &sql, " AS b2p_s WHERE ");
        if (!st) st = put_key_match(l, &sql, t, s->key, s->nkey);
        if (!st) st = put(l, &sql, " AND ");
        if (!st) st = put_row_text(l, &sql, t, vals, nvals, "b2p_t");
        if (!st) st = put(l, &sql, " IS DISTINCT FROM ");
        if (!st) st = put_row_text(l, &sql, t, vals, nvals, "b2p_s");
        if (!st) st = run_count(l, &sql, "the update of changed rows", &res->updated);
        b2p_buf_clear(&sql);
    }
    if (!st) st = put(l, &sql, "INSERT INTO ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = put(l, &sql, " (");
    if (!st) st = put_columns(l, &sql, t, s->cols, s->ncols, NULL);
    if (!st) st = put(l, &sql, ") SELECT ");
    if (!st) st = put_columns(l, &sql, t, s->cols, s->ncols, "b2p_s");
    if (!st) st = put(l, &sql, " FROM ");
    if (!st) st = put(l, &sql, stage);
    if (!st) st = put(l, &sql, " AS b2p_s WHERE NOT EXISTS (SELECT 1 FROM ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = put(l, &sql, " AS b2p_t WHERE ");
    if (!st) st = put_key_match(l, &sql, t, s->key, s->nkey);
    if (!st) st = put(l, &sql, ")");
    if (!st) st = run_count(l, &sql, "the insert of new rows", &res->inserted);
    b2p_buf_free(&sql);
    return st;
}

/* Whole-row matching, as multisets: a row staged k times and held j times in the target is
 * inserted max(k - j, 0) times. */
static b2p_status merge_whole_rows(loader *l, const b2p_cat_table *t, const table_shape *s, const char *stage,
                                   b2p_load_result *res) {
    b2p_buf sql = {0};
    b2p_status st = put(l, &sql, "INSERT INTO ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = put(l, &sql, " (");
    if (!st) st = put_columns(l, &sql, t, s->cols, s->ncols, NULL);
    if (!st) st = put(l, &sql, ") SELECT ");
    if (!st) st = put_columns(l, &sql, t, s->cols, s->ncols, "b2p_x");
    if (!st) st = put(l, &sql, " FROM (SELECT b2p_s.*, row_number() OVER (PARTITION BY ");
    if (!st) st = put_row_text(l, &sql, t, s->cols, s->ncols, "b2p_s");
    if (!st) st = put(l, &sql, ") AS b2p_n, ");
    if (!st) st = put_row_text(l, &sql, t, s->cols, s->ncols, "b2p_s");
    if (!st) st = put(l, &sql, " AS b2p_r FROM ");
    if (!st) st = put(l, &sql, stage);
    if (!st) st = put(l, &sql, " AS b2p_s) AS b2p_x LEFT JOIN (SELECT ");
    if (!st) st = put_row_text(l, &sql, t, s->cols, s->ncols, "b2p_t");
    if (!st) st = put(l, &sql, " AS b2p_r, count(*) AS b2p_c FROM ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = put(l, &sql, " AS b2p_t GROUP BY 1) AS b2p_y ON b2p_y.b2p_r = b2p_x.b2p_r "
                               "WHERE b2p_x.b2p_n > coalesce(b2p_y.b2p_c, 0)");
    if (!st) st = run_count(l, &sql, "the insert of new rows", &res->inserted);
    b2p_buf_free(&sql);
    return st;
}

/* The target's rows the stage lacks: counted, or deleted. */
static b2p_status gone_rows(loader *l, const b2p_cat_table *t, const table_shape *s, const char *stage, bool delete,
                            uint64_t *count) {
    b2p_buf sql = {0};
    b2p_status st = put(l, &sql, delete ? "DELETE FROM " : "SELECT count(*) FROM ");
    if (!st) st = put_table(l, &sql, t);
    if (s->nkey) {
        if (!st) st = put(l, &sql, " AS b2p_t WHERE NOT EXISTS (SELECT 1 FROM ");
        if (!st) st = put(l, &sql, stage);
        if (!st) st = put(l, &sql, " AS b2p_s WHERE ");
        if (!st) st = put_key_match(l, &sql, t, s->key, s->nkey);
        if (!st) st = put(l, &sql, ")");
    } else {
        if (!st) st = put(l, &sql, " WHERE ctid IN (SELECT b2p_x.ctid FROM (SELECT b2p_t.ctid, row_number() OVER (PARTITION BY ");
        if (!st) st = put_row_text(l, &sql, t, s->cols, s->ncols, "b2p_t");
        if (!st) st = put(l, &sql, ") AS b2p_n, ");
        if (!st) st = put_row_text(l, &sql, t, s->cols, s->ncols, "b2p_t");
        if (!st) st = put(l, &sql, " AS b2p_r FROM ");
        if (!st) st = put_table(l, &sql, t);
        if (!st) st = put(l, &sql, " AS b2p_t) AS b2p_x LEFT JOIN (SELECT ");
        if (!st) st = put_row_text(l, &sql, t, s->cols, s->ncols, "b2p_s");
        if (!st) st = put(l, &sql, " AS b2p_r, count(*) AS b2p_c FROM ");
        if (!st) st = put(l, &sql, stage);
        if (!st) st = put(l, &sql, " AS b2p_s GROUP BY 1) AS b2p_y ON b2p_y.b2p_r = b2p_x.b2p_r "
                                   "WHERE b2p_x.b2p_n > coalesce(b2p_y.b2p_c, 0))");
    }
    if (!st) st = run_count(l, &sql, delete ? "the delete of rows the backup no longer has" : "a count of rows the backup no longer has",
                            count);
    b2p_buf_free(&sql);
    return st;
}

/* The staging table of t: temporary, or (kept for the delete pass) unlogged in schema bak2pg,
 * named after the target table's oid. */
static b2p_status stage_name(loader *l, const b2p_cat_table *t, bool keep, char *out, size_t len) {
    if (!keep) {
        snprintf(out, len, "pg_temp.b2p_stage");
        return B2P_OK;
    }
    b2p_buf q = {0};
    b2p_status st = put_table(l, &q, t);
    const char *p[] = {q.data};
    PGresult *r = NULL;
    if (!st) st = b2p_pg_query(l->conn, "SELECT to_regclass($1)::oid", 1, p, "a table lookup", &r, l->err);
    if (!st) snprintf(out, len, "bak2pg.stage_%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    b2p_buf_free(&q);
    return st;
}

static b2p_status create_stage(loader *l, const b2p_cat_table *t, const table_shape *s, const char *stage, bool keep) {
    b2p_buf sql = {0};
    /* a stage a killed run left behind goes first; PostgreSQL's "does not exist, skipping" is
     * not news */
    b2p_status st = put(l, &sql, "SET LOCAL client_min_messages = warning;\nDROP TABLE IF EXISTS ");
    if (!st) st = put(l, &sql, stage);
    if (!st) st = put(l, &sql, ";\nSET LOCAL client_min_messages = notice");
    if (!st) st = put(l, &sql, keep ? ";\nCREATE UNLOGGED TABLE " : ";\nCREATE TEMP TABLE ");
    if (!st) st = put(l, &sql, keep ? stage : "b2p_stage");
    if (!st) st = put(l, &sql, keep ? "" : " ON COMMIT DROP");
    if (!st) st = put(l, &sql, " AS SELECT ");
    if (!st) st = put_columns(l, &sql, t, s->cols, s->ncols, NULL);
    if (!st) st = put(l, &sql, " FROM ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = put(l, &sql, " WITH NO DATA");
    if (!st) st = run(l, &sql, "the staging table");
    b2p_buf_free(&sql);
    return st;
}

static b2p_status analyze_stage(loader *l, const char *stage) {
    char sql[256];
    snprintf(sql, sizeof sql, "ANALYZE %s", stage);
    return b2p_pg_exec(l->conn, sql, "ANALYZE of the staging table", l->err);
}

static b2p_status identity_restarts(loader *l, const b2p_cat_table *t) {
    char *sql = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&sql, &len);
    if (!f) return b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    b2p_status st = b2p_write_identity_restarts(l->cat, l->nm, t, f, l->err);
    fclose(f);
    if (!st && len) st = b2p_pg_exec(l->conn, sql, "the identity restarts", l->err);
    free(sql);
    return st;
}

/* ---- one table ---------------------------------------------------------------------------- */

/* A table the target lacked: COPY straight in. */
static b2p_status load_new(loader *l, const b2p_cat_table *t, const table_shape *s, b2p_load_result *res) {
    b2p_buf name = {0};
    b2p_content_hash h = {0};
    b2p_status st = put_table(l, &name, t);
    if (!st) st = b2p_pg_exec(l->conn, "BEGIN", "BEGIN", l->err);
    if (!st) st = stream_rows(l, t, s, name.data, &h, &res->export);
    if (!st) st = record(l, t, s, &h, true, !l->needs_post_data[t - l->cat->tables]);
    res->source_rows = res->inserted = h.rows;
    res->action = B2P_LOAD_LOADED;
    if (!st) st = ledger_table_run(l->conn, l->stats->run_id, s->schema, s->name, res, l->err);
    if (!st) st = b2p_pg_exec(l->conn, "COMMIT", "COMMIT", l->err);
    b2p_buf_free(&name);
    return st;
}

/* A table the target holds: skip, append, or stage and merge. */
static b2p_status load_existing(loader *l, const b2p_cat_table *t, const table_shape *s, const ledger_entry *led,
                                b2p_load_result *res) {
    size_t ti = (size_t)(t - l->cat->tables);
    bool sync = l->opt->sync_deletes;
    bool settled = led->found && (led->deletes_synced || !sync);
    bool same_pages = led->found && !strcmp(led->page_fingerprint, l->fingerprint);
    /* unchanged only if the columns would come out as they did (a --cast changes a type) */
    bool same_columns = led->columns && !strcmp(led->columns, s->signature.data ? s->signature.data : "");
    if (settled && same_pages && same_columns && !strcmp(led->source, l->source_id) && l->stats->mode != B2P_LOAD_APPEND) {
        res->action = B2P_LOAD_UNCHANGED;
        res->source_rows = (uint64_t)led->source_rows;
        snprintf(res->message, sizeof res->message, "the ledger shows this backup loaded");
        return ledger_table_run(l->conn, l->stats->run_id, s->schema, s->name, res, l->err);
    }
    b2p_status st = b2p_pg_exec(l->conn, "BEGIN", "BEGIN", l->err);
    b2p_buf alter = {0};
    if (!st) st = check_drift(l, t, s, led, &alter, res->message, sizeof res->message);
    if (!st && res->message[0]) {
        res->action = B2P_LOAD_DRIFT;
        rollback(l);
        b2p_buf_free(&alter);
        return B2P_OK;
    }
    b2p_content_hash h = {0};
    if (!st && settled && led->source_rows >= 0 && l->stats->mode != B2P_LOAD_APPEND && !alter.len) {
        /* a different backup: decode once just to hash, which is cheap next to a merge */
        st = stream_rows(l, t, s, NULL, &h, &res->export);
        char hex[33];
        b2p_content_hash_hex(&h, hex);
        if (!st && !strcmp(hex, led->content_hash) && (long long)h.rows == led->source_rows) {
            res->action = B2P_LOAD_UNCHANGED;
            res->source_rows = h.rows;
            snprintf(res->message, sizeof res->message, "same content as the ledger's");
            st = record(l, t, s, &h, led->deletes_synced, led->post_data_done);
            if (!st) st = ledger_table_run(l->conn, l->stats->run_id, s->schema, s->name, res, l->err);
            b2p_buf_free(&alter);
            return st ? st : b2p_pg_exec(l->conn, "COMMIT", "COMMIT", l->err);
        }
    }
    if (!st && alter.len) st = run(l, &alter, "ALTER TABLE ... ADD COLUMN (a new nullable column)");
    b2p_buf_free(&alter);
    char target[128];
    bool keep = sync && l->stats->mode != B2P_LOAD_APPEND;
    if (l->stats->mode == B2P_LOAD_APPEND) {
        b2p_buf name = {0};
        if (!st) st = put_table(l, &name, t);
        if (!st) st = stream_rows(l, t, s, name.data, &h, &res->export);
        b2p_buf_free(&name);
        res->action = B2P_LOAD_APPENDED;
        res->inserted = h.rows;
    } else {
        if (!st) st = stage_name(l, t, keep, target, sizeof target);
        if (!st) st = create_stage(l, t, s, target, keep);
        if (!st) st = stream_rows(l, t, s, target, &h, &res->export);
        if (!st) st = analyze_stage(l, target);
        if (!st) st = s->nkey ? merge_keyed(l, t, s, target, res) : merge_whole_rows(l, t, s, target, res);
        if (!st) st = gone_rows(l, t, s, target, false, &res->disappeared);
        res->action = B2P_LOAD_MERGED;
        l->pending_deletes[ti] = keep && res->disappeared > 0;
        if (!st && keep && !res->disappeared) {
            char drop[200];
            snprintf(drop, sizeof drop, "DROP TABLE %s", target);
            st = b2p_pg_exec(l->conn, drop, "the staging table", l->err);
        }
    }
    res->source_rows = h.rows;
    bool post_done = led->found ? led->post_data_done : true; /* a table bak2pg did not create keeps its own keys */
    if (!st && post_done && res->inserted) st = identity_restarts(l, t);
    if (!st) st = record(l, t, s, &h, res->action == B2P_LOAD_MERGED && !res->disappeared, post_done);
    if (!st) st = ledger_table_run(l->conn, l->stats->run_id, s->schema, s->name, res, l->err);
    if (!st) st = b2p_pg_exec(l->conn, "COMMIT", "COMMIT", l->err);
    l->needs_post_data[ti] = !post_done;
    return st;
}

/* The second pass of sync_deletes: what the kept staging table lacks goes, then the stage. */
static b2p_status delete_gone(loader *l, const b2p_cat_table *t, b2p_load_result *res) {
    table_shape *s = shape_new(l, t);
    if (!s) return l->err->code;
    char stage[128], drop[200];
    b2p_status st = stage_name(l, t, true, stage, sizeof stage);
    if (!st) st = b2p_pg_exec(l->conn, "BEGIN", "BEGIN", l->err);
    if (!st) st = gone_rows(l, t, s, stage, true, &res->deleted);
    snprintf(drop, sizeof drop, "DROP TABLE %s", stage);
    if (!st) st = b2p_pg_exec(l->conn, drop, "the staging table", l->err);
    if (!st) st = ledger_set(l->conn, s->schema, s->name, LEDGER_DELETES_SYNCED, l->err);
    if (!st) st = b2p_pg_exec(l->conn, "COMMIT", "COMMIT", l->err);
    if (st) rollback(l);
    shape_free(s);
    return st;
}

static b2p_status run_script(loader *l, bool post, const bool *which);

/* replace_drifted: the old table goes (with what depends on it: the server's notices name it) and
 * the backup's comes in its place. Not one transaction, but each step leaves a state the next
 * run resumes from: no table (created then), or a created table with no rows (filled then). */
static b2p_status replace_table(loader *l, const b2p_cat_table *t, const table_shape *s, b2p_load_result *res) {
    size_t ti = (size_t)(t - l->cat->tables);
    b2p_buf sql = {0};
    b2p_status st = put(l, &sql, "SELECT count(*) FROM ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = run_count(l, &sql, "a count of the rows replaced", &res->deleted);
    b2p_buf_clear(&sql);
    if (!st) st = put(l, &sql, "BEGIN;\nDROP TABLE ");
    if (!st) st = put_table(l, &sql, t);
    if (!st) st = put(l, &sql, " CASCADE;\n");
    if (!st) st = run(l, &sql, "DROP TABLE (replacing a drifted table)");
    const char *p[] = {s->schema, s->name};
    PGresult *r = NULL;
    if (!st) st = b2p_pg_query(l->conn, "DELETE FROM bak2pg.tables WHERE target_schema = $1 AND target_table = $2", 2, p,
                               "the ledger (tables)", &r, l->err);
    PQclear(r);
    if (!st) st = b2p_pg_exec(l->conn, "COMMIT", "COMMIT", l->err);
    b2p_buf_free(&sql);
    bool *one = calloc(l->cat->ntables, sizeof *one);
    if (!st && !one) st = b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    if (!st) {
        one[ti] = true;
        st = run_script(l, false, one);
    }
    free(one);
    char why[sizeof res->message];
    memcpy(why, res->message, sizeof why);
    l->needs_post_data[ti] = true;
    uint64_t dropped = res->deleted;
    if (!st) st = load_new(l, t, s, res);
    res->action = B2P_LOAD_REPLACED;
    res->deleted = dropped;
    snprintf(res->message, sizeof res->message, "%s", why);
    return st;
}

static b2p_status load_one(loader *l, const b2p_cat_table *t, b2p_load_result *res) {
    size_t ti = (size_t)(t - l->cat->tables);
    table_shape *s = shape_new(l, t);
    if (!s) return l->err->code;
    ledger_entry led = {0};
    snprintf(res->match_key, sizeof res->match_key, "%s", s->match_key);
    b2p_status st = ledger_lookup(l->conn, s->schema, s->name, &led, l->err);
    if (!st && led.found) l->needs_post_data[ti] = !led.post_data_done;
    if (!st) st = table_fingerprint(l, t);
    if (!st) notify_start(l, t, l->existed[ti] ? "merging" : "loading");
    if (!st) st = l->existed[ti] ? load_existing(l, t, s, &led, res) : load_new(l, t, s, res);
    if (!st && res->action == B2P_LOAD_DRIFT && l->opt->replace_drifted) st = replace_table(l, t, s, res);
    if (st) rollback(l);
    ledger_entry_free(&led);
    shape_free(s);
    return st;
}

/* ---- the run ------------------------------------------------------------------------------ */

/* Pre- or post-data of the tables in `which`, in one transaction with their ledger rows. */
static b2p_status run_script(loader *l, bool post, const bool *which) {
    char *sql = NULL, *rev = NULL;
    size_t len = 0, rlen = 0;
    FILE *f = open_memstream(&sql, &len), *review = open_memstream(&rev, &rlen);
    if (!f || !review) return b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    b2p_ddl_options dopt = {.selected = which, .referable = l->referable, .idempotent = true};
    b2p_ddl_stats ds = {0};
    b2p_status st = post ? b2p_write_post_data(l->cat, l->nm, &dopt, f, review, &ds, l->err)
                         : b2p_write_pre_data(l->cat, l->nm, &dopt, f, review, &ds, l->err);
    enter(l);
    b2p_ddl_stats *total = &l->stats->ddl;
    total->tables += ds.tables, total->keys += ds.keys, total->indexes += ds.indexes;
    total->foreign_keys += ds.foreign_keys, total->checks += ds.checks;
    total->translated += ds.translated, total->review_items += ds.review_items;
    leave(l);
    fclose(f);
    fclose(review);
    if (!st && l->opt->review && rlen) {
        enter(l);
        l->opt->review(l->opt->ctx, rev);
        leave(l);
    }
    if (!st) st = b2p_pg_exec(l->conn, "BEGIN", "BEGIN", l->err);
    if (!st) st = b2p_pg_exec(l->conn, sql, post ? "the keys, indexes and constraints (post-data)" : "the tables (pre-data)", l->err);
    if (!st && rlen) st = ledger_add_review(l->conn, l->stats->run_id, rev, l->err);
    for (size_t i = 0; i < l->cat->ntables && !st; i++) {
        if (!which[i]) continue;
        const b2p_cat_table *t = &l->cat->tables[i];
        if (post) {
            st = ledger_set(l->conn, b2p_names_schema(l->nm, t), b2p_names_table(l->nm, t), LEDGER_POST_DATA_DONE, l->err);
        } else {
            table_shape *s = shape_new(l, t);
            st = s ? record(l, t, s, NULL, false, false) : l->err->code;
            shape_free(s);
        }
    }
    if (!st) st = b2p_pg_exec(l->conn, "COMMIT", "COMMIT", l->err);
    if (st) rollback(l);
    free(sql);
    free(rev);
    return st;
}

/* What the backup says of its database and of its place in that database's history. */
typedef struct identity_text {
    char family[64], created[32], guid[64], checkpoint[64], first[64], last[64], finished[32];
    ledger_identity id;
} identity_text;

static void identity_of(const b2p_set_info *set, identity_text *t) {
    b2p_guid_format(&set->family_guid, t->family, sizeof t->family);
    b2p_datetime_format(set->database_creation_date, t->created, sizeof t->created);
    b2p_guid_format(&set->backup_set_guid, t->guid, sizeof t->guid);
    b2p_lsn_format(set->checkpoint_lsn, t->checkpoint, sizeof t->checkpoint);
    b2p_lsn_format(set->first_lsn, t->first, sizeof t->first);
    b2p_lsn_format(set->last_lsn, t->last, sizeof t->last);
    b2p_datetime_format(set->finish_date, t->finished, sizeof t->finished);
    t->id = (ledger_identity){.family_guid = t->family, .database_name = set->database_name, .creation_date = t->created,
                              .server_name = set->server_name, .backup_set_guid = t->guid, .checkpoint_lsn = t->checkpoint,
                              .last_lsn = t->last, .finish_date = t->finished};
}

static const char *nul_policy_name(b2p_nul_policy p) {
    return p == B2P_NUL_STRIP ? "strip" : p == B2P_NUL_REPLACE ? "replace" : "error";
}

/* a < b for LSNs in their decimal form (digits only, any length) */
static bool lsn_less(const char *a, const char *b) {
    while (*a == '0' && a[1]) a++;
    while (*b == '0' && b[1]) b++;
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? la < lb : strcmp(a, b) < 0;
}

static void describe(const char *family, const char *name, const char *created, const char *server, const char *last,
                     const char *finished, char *out, size_t len) {
    snprintf(out, len, "database %.120s (family GUID %.40s, created %.24s, server %.120s), backup at LSN %.32s finished %.24s", name, family,
             *created ? created : "?", *server ? server : "?", last, *finished ? finished : "?");
}

/* The lineage guard: a target holds one database's tables, loaded forward in time. A backup of
 * another database (another family GUID, whatever its name), or one older than the last loaded
 * (a lower last LSN, or an earlier finish), would merge other or older rows over newer ones: it
 * is refused, naming both, unless force. */
static b2p_status check_lineage(loader *l, const identity_text *cur) {
    ledger_lineage had;
    b2p_status st = ledger_lineage_get(l->conn, &had, l->err);
    if (st || !had.found || l->opt->force) return st;
    const ledger_identity *id = &cur->id;
    bool other = strcmp(had.family_guid, id->family_guid) != 0;
    bool older = !other && (lsn_less(id->last_lsn, had.last_lsn) ||
                            (*had.finish_date && *id->finish_date && strcmp(id->finish_date, had.finish_date) < 0));
    if (!other && !older) return B2P_OK;
    char then[440], now_[440];
    describe(had.family_guid, had.database_name, had.creation_date, had.server_name, had.last_lsn, had.finish_date, then,
             sizeof then);
    describe(id->family_guid, id->database_name, id->creation_date, id->server_name, id->last_lsn, id->finish_date, now_,
             sizeof now_);
    return b2p_fail(l->err, B2P_ERR_USAGE, "%s: the target holds %.440s; this backup is of %.440s; nothing was written; --force "
                    "loads it anyway", other ? "a backup of another database" : "a backup older than the one last loaded",
                    then, now_);
}

static b2p_status start_run(loader *l, const identity_text *cur) {
    /* what decides the rows' bytes: the backup set (a differential names itself) and the export
     * options that change a value's text */
    snprintf(l->source_id, sizeof l->source_id, "%s/%s nul=%d wkt=%d", cur->guid, cur->last, (int)l->opt->export.nul_policy,
             (int)l->opt->export.spatial_wkt);
    ledger_run run = {.id = cur->id, .backup_type = b2p_backup_type_name(b2p_pages_set(l->src)->type), .first_lsn = cur->first,
                      .source = l->source_id, .mode = b2p_load_mode_name(l->stats->mode),
                      .options = l->opt->command_line ? l->opt->command_line : "",
                      .nul_policy = nul_policy_name(l->opt->export.nul_policy)};
    b2p_status st = ledger_start_run(l->conn, &run, l->stats->run_id, l->err);
    /* from now on the target may hold this backup's rows: it is the one to compare with */
    return st ? st : ledger_lineage_set(l->conn, &cur->id, l->stats->run_id, l->err);
}

/* A merge writes only into tables the ledger says are bak2pg's (created or loaded by it): a
 * table of the same name that the target's owner made is theirs, and is refused, every chosen
 * table checked before anything is written, unless merge_existing says to merge into it. */
static b2p_status refuse_foreign_tables(loader *l, const size_t *order, size_t n) {
    size_t foreign = 0;
    const b2p_cat_table *first = NULL;
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const b2p_cat_table *t = &l->cat->tables[order[i]];
        if (!l->existed[order[i]]) continue;
        ledger_entry led;
        st = ledger_lookup(l->conn, b2p_names_schema(l->nm, t), b2p_names_table(l->nm, t), &led, l->err);
        if (!st && !led.found && !foreign++) first = t;
        ledger_entry_free(&led);
    }
    if (st || !foreign) return st;
    /* names as they are: cli_report escapes the whole message */
    char more[64] = "";
    if (foreign > 1) snprintf(more, sizeof more, " and %zu more", foreign - 1);
    return b2p_fail(l->err, B2P_ERR_USAGE,
                    "the target already holds table %s.%s%s, which bak2pg did not create or load (its ledger, schema "
                    "bak2pg, does not list it): nothing was written; --merge-existing merges the backup's rows into it",
                    b2p_names_schema(l->nm, first), b2p_names_table(l->nm, first), more);
}

/* Which selected tables the target holds; resolves AUTO; refuses CREATE over existing tables and
 * a merge into tables that are not bak2pg's. */
static b2p_status survey(loader *l, const size_t *order, size_t n) {
    size_t held = 0;
    const b2p_cat_table *first = NULL;
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const b2p_cat_table *t = &l->cat->tables[order[i]];
        st = target_has_table(l, t, &l->existed[order[i]]);
        if (!st && l->existed[order[i]] && !first) first = t;
        held += l->existed[order[i]];
    }
    if (st) return st;
    if (l->stats->mode == B2P_LOAD_AUTO) l->stats->mode = held ? B2P_LOAD_REMIGRATE : B2P_LOAD_CREATE;
    if (l->stats->mode == B2P_LOAD_REMIGRATE && !l->opt->merge_existing) st = refuse_foreign_tables(l, order, n);
    if (st) return st;
    if (l->stats->mode == B2P_LOAD_CREATE && held)
        return b2p_fail(l->err, B2P_ERR_USAGE, "the target already holds %zu of the tables (%s.%s, ...): --mode create needs "
                        "a target without them; --mode remigrate loads over them", held, b2p_names_schema(l->nm, first),
                        b2p_names_table(l->nm, first));
    return B2P_OK;
}

static b2p_status reconnect(loader *l) {
    PQfinish(l->conn);
    l->conn = NULL;
    b2p_status st = b2p_pg_connect(l->opt->conninfo, l->opt->retries, &l->notice, &l->conn, l->err);
    if (!st && l->holds_ledger_lock) st = ledger_open(l->conn, l->opt->lock_wait, l->err);
    return st;
}

/* A table, retried after a lost connection (its transaction died with the connection: redoing
 * it is what a rerun would do). */
static b2p_status load_with_retries(loader *l, const b2p_cat_table *t, b2p_load_result *res) {
    for (unsigned attempt = 0;; attempt++) {
        b2p_load_result fresh = {.table = t};
        *res = fresh;
        b2p_status st = load_one(l, t, res);
        if (st != B2P_ERR_PG_CONNECT || attempt >= l->opt->retries) return st;
        fprintf(stderr, "bak2pg: %s; reconnecting to redo %s.%s\n", b2p_shown(l->err->msg), b2p_shown(t->schema), b2p_shown(t->name));
        st = reconnect(l);
        if (st) return st;
    }
}

static void count(loader *l, const b2p_load_result *r) {
    enter(l);
    b2p_load_stats *s = l->stats;
    switch (r->action) {
    case B2P_LOAD_UNCHANGED: s->tables_unchanged++; break;
    case B2P_LOAD_SKIPPED: s->tables_skipped++; break;
    case B2P_LOAD_DRIFT:
    case B2P_LOAD_FAILED: s->tables_failed++; break;
    default: s->tables++; break;
    }
    s->rows += r->export.rows;
    s->bytes += r->export.bytes;
    s->inserted += r->inserted;
    s->updated += r->updated;
    s->deleted += r->deleted;
    s->disappeared += r->disappeared;
    leave(l);
}

/* Whether a table's failure stops the run: only when the target or the connection is gone. */
static bool fatal(b2p_status st) {
    return st == B2P_ERR_PG_CONNECT || st == B2P_ERR_PG_AUTH || st == B2P_ERR_PG_READONLY || st == B2P_ERR_NOMEM;
}

/* What the table workers share. */
typedef struct table_jobs {
    loader *main;
    loader *workers;         /* one per thread; [0] is the main loader itself */
    b2p_error *errors;       /* each worker's own */
    const size_t *order;
    b2p_status first_failure;
    b2p_error failure;
} table_jobs;

static void note_failure(table_jobs *tj, const loader *l, b2p_status st, const b2p_error *why) {
    enter(l);
    if (!tj->first_failure) {
        tj->first_failure = st;
        tj->failure = *why;
    }
    leave(l);
}

/* One table: a failure that concerns the table alone is recorded and the run goes on; one that
 * concerns the target or the connection stops the run. */
static b2p_status table_job(void *ctx, b2p_jobs *jobs, size_t job, unsigned worker, b2p_error *err) {
    (void)jobs;
    table_jobs *tj = ctx;
    loader *l = &tj->workers[worker];
    size_t ti = tj->order[job];
    const b2p_cat_table *t = &l->cat->tables[ti];
    b2p_load_result res = {.table = t};
    if (b2p_export_unsupported(t)) {
        res.action = B2P_LOAD_SKIPPED;
        snprintf(res.message, sizeof res.message, "%s", b2p_export_unsupported(t));
    } else {
        b2p_status st = load_with_retries(l, t, &res);
        if (st && fatal(st)) {
            *err = *l->err;
            return st;
        }
        if (st) {
            res.action = B2P_LOAD_FAILED;
            snprintf(res.message, sizeof res.message, "%s", l->err->msg);
            note_failure(tj, l, st, l->err);
        } else if (res.action == B2P_LOAD_DRIFT) {
            b2p_error why;
            b2p_fail(&why, B2P_ERR_UNSUPPORTED, "table %s.%s: %s", t->schema, t->name, res.message);
            note_failure(tj, l, B2P_ERR_UNSUPPORTED, &why);
        }
        if (st || res.action == B2P_LOAD_DRIFT) {
            /* its keys wait for a run that loads it: foreign keys cannot point at it yet */
            if (l->needs_post_data[ti]) l->referable[ti] = false;
            l->needs_post_data[ti] = false;
            l->failed[ti] = st != B2P_OK;
            /* the table's transaction is gone: its line in the ledger says what stopped it */
            b2p_error ignored;
            if (!b2p_pg_lost(l->conn))
                ledger_table_run(l->conn, l->stats->run_id, b2p_names_schema(l->nm, t), b2p_names_table(l->nm, t), &res,
                                 &ignored);
        }
    }
    count(l, &res);
    notify_done(l, &res);
    return B2P_OK;
}

/* Workers past the first get their own page source and connection. */
static b2p_status worker_start(void *ctx, unsigned worker, b2p_error *err) {
    table_jobs *tj = ctx;
    loader *l = &tj->workers[worker];
    if (worker == 0) return B2P_OK;
    *l = *tj->main;
    l->err = &tj->errors[worker];
    l->holds_ledger_lock = false;
    l->conn = NULL;
    l->notice = (b2p_pg_notice){.fn = on_notice, .ctx = l};
    l->src = b2p_pages_fork(tj->main->src, err);
    if (!l->src) return B2P_ERR_NOMEM;
    b2p_status st = b2p_pg_connect(l->opt->conninfo, l->opt->retries, &l->notice, &l->conn, err);
    if (st) {
        PQfinish(l->conn);
        l->conn = NULL;
        b2p_pages_free(l->src);
        l->src = NULL;
    }
    return st;
}

static void worker_stop(void *ctx, unsigned worker) {
    table_jobs *tj = ctx;
    if (worker == 0) return;
    loader *l = &tj->workers[worker];
    PQfinish(l->conn);
    b2p_pages_free(l->src);
    l->conn = NULL;
    l->src = NULL;
}

/* Job i waits for the tables it references that come before it in the load order (the order
 * broke any cycle: a reference back to a later table is not waited for). */
static b2p_status table_dependencies(const loader *l, const size_t *order, size_t n, size_t *ndeps, size_t **deps) {
    size_t *pos = malloc((l->cat->ntables + 1) * sizeof *pos);
    if (!pos) return b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->cat->ntables; i++) pos[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) pos[order[i]] = i;
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const b2p_cat_table *t = &l->cat->tables[order[i]];
        deps[i] = malloc((t->nforeign_keys + 1) * sizeof **deps);
        if (!deps[i]) st = b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
        for (size_t k = 0; !st && k < t->nforeign_keys; k++) {
            const b2p_cat_table *ref = b2p_catalog_table_by_id(l->cat, t->foreign_keys[k].ref_object_id);
            size_t p = ref ? pos[ref - l->cat->tables] : SIZE_MAX;
            bool seen = false;
            for (size_t j = 0; j < ndeps[i]; j++) seen |= deps[i][j] == p;
            if (p < i && !seen) deps[i][ndeps[i]++] = p;
        }
    }
    free(pos);
    return st;
}

static b2p_status load_tables(loader *l, const size_t *order, size_t n, b2p_status *first_failure, b2p_error *failure) {
    unsigned threads = l->opt->jobs ? l->opt->jobs : 1;
    if (threads > n) threads = n ? (unsigned)n : 1;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    table_jobs tj = {.main = l, .order = order};
    tj.workers = calloc(threads, sizeof *tj.workers);
    tj.errors = calloc(threads, sizeof *tj.errors);
    size_t *ndeps = calloc(n + 1, sizeof *ndeps);
    size_t **deps = calloc(n + 1, sizeof *deps);
    b2p_status st = tj.workers && tj.errors && ndeps && deps ? B2P_OK : b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    if (!st) st = table_dependencies(l, order, n, ndeps, deps);
    if (!st) {
        if (threads > 1) l->lock = &lock;
        tj.workers[0] = *l;
        b2p_jobs_spec spec = {.njobs = n, .threads = threads, .ndeps = ndeps, .deps = (const size_t *const *)deps,
                              .ctx = &tj, .worker_start = worker_start, .worker_stop = worker_stop, .run = table_job};
        st = b2p_jobs_run(&spec, l->err);
        l->conn = tj.workers[0].conn; /* worker 0 may have reconnected */
        l->lock = NULL;
    }
    *first_failure = tj.first_failure;
    *failure = tj.failure;
    for (size_t i = 0; i < n && deps; i++) free(deps[i]);
    free(deps);
    free(ndeps);
    free(tj.workers);
    free(tj.errors);
    return st;
}

/* sync_deletes: children before parents, so that no foreign key blocks a delete. A delete the
 * target refuses (rows still referenced by a table that drifted, say) stops that table only. */
static b2p_status delete_pass(loader *l, const size_t *order, size_t n, b2p_status *first_failure, b2p_error *failure) {
    for (size_t i = n; i-- > 0;) {
        if (!l->pending_deletes[order[i]]) continue;
        const b2p_cat_table *t = &l->cat->tables[order[i]];
        b2p_load_result res = {.table = t, .action = B2P_LOAD_MERGED, .delete_pass = true};
        b2p_status st = delete_gone(l, t, &res);
        if (st && fatal(st)) return st;
        if (st) {
            res.action = B2P_LOAD_FAILED;
            snprintf(res.message, sizeof res.message, "the delete of rows the backup no longer has: %s", l->err->msg);
            l->stats->tables_failed++;
            l->failed[order[i]] = true;
            if (!*first_failure) {
                *first_failure = st;
                *failure = *l->err;
            }
        } else {
            snprintf(res.message, sizeof res.message, "deleted %" PRIu64 " rows the backup no longer has", res.deleted);
        }
        l->stats->deleted += res.deleted;
        notify_done(l, &res);
    }
    return B2P_OK;
}

/* A run that went to its end with tables stopped: with any table failed, B2P_ERR_PARTIAL naming
 * them (the others are complete); with drift alone, the first drift's status. */
static b2p_status run_outcome(loader *l, const size_t *order, size_t n, b2p_status first, const b2p_error *why) {
    size_t nfailed = 0;
    for (size_t i = 0; i < n; i++) nfailed += l->failed[order[i]];
    if (!nfailed) {
        *l->err = *why;
        return first;
    }
    b2p_buf names = {0};
    b2p_error ignored;
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!l->failed[order[i]]) continue;
        const b2p_cat_table *t = &l->cat->tables[order[i]];
        b2p_buf_puts(&names, k++ ? ", " : "", &ignored);
        b2p_buf_puts(&names, t->schema, &ignored);
        b2p_buf_puts(&names, ".", &ignored);
        b2p_buf_puts(&names, t->name, &ignored);
    }
    b2p_fail(l->err, B2P_ERR_PARTIAL, "the run completed, but %zu table%s failed (each with its reason above and in "
             "bak2pg.table_runs; the other tables are complete): %s", nfailed, nfailed == 1 ? "" : "s",
             names.data ? names.data : "");
    b2p_buf_free(&names);
    return B2P_ERR_PARTIAL;
}

static b2p_status load_run(loader *l, size_t *order) {
    size_t n = b2p_load_order(l->cat, l->opt->selected, order);
    identity_text cur;
    identity_of(b2p_pages_set(l->src), &cur);
    b2p_status st = ledger_open(l->conn, l->opt->lock_wait, l->err);
    if (!st) st = check_lineage(l, &cur);
    if (!st) st = survey(l, order, n);
    if (!st) st = start_run(l, &cur);
    if (st) return st;
    bool *create = calloc(l->cat->ntables + 1, sizeof *create);
    if (!create) return b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        size_t ti = order[i];
        create[ti] = !l->existed[ti];
        l->referable[ti] = true;
        l->needs_post_data[ti] = create[ti];
        any |= create[ti];
    }
    if (any) st = run_script(l, false, create);
    free(create);
    b2p_status first_failure = B2P_OK;
    b2p_error failure = {0};
    if (!st) st = load_tables(l, order, n, &first_failure, &failure);
    if (!st && l->opt->sync_deletes) st = delete_pass(l, order, n, &first_failure, &failure);
    any = false;
    for (size_t i = 0; i < l->cat->ntables; i++) any |= l->needs_post_data[i];
    if (!st && any) st = run_script(l, true, l->needs_post_data);
    if (!st && first_failure) st = run_outcome(l, order, n, first_failure, &failure);
    b2p_error ignored;
    if (!b2p_pg_lost(l->conn))
        ledger_finish_run(l->conn, l->stats->run_id, st == B2P_ERR_PARTIAL ? "partial" : st ? "failed" : "ok",
                          st ? l->err->msg : NULL, l->stats, &ignored);
    return st;
}

b2p_status b2p_load(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_load_options *opt,
                    b2p_load_stats *stats, b2p_error *err) {
    memset(stats, 0, sizeof *stats);
    stats->mode = opt->mode;
    loader l = {.src = src, .cat = cat, .nm = nm, .opt = opt, .stats = stats, .err = err, .holds_ledger_lock = true};
    l.notice = (b2p_pg_notice){.fn = on_notice, .ctx = &l};
    size_t n = cat->ntables + 1;
    size_t *order = calloc(n, sizeof *order);
    l.existed = calloc(n, sizeof *l.existed);
    l.referable = calloc(n, sizeof *l.referable);
    l.needs_post_data = calloc(n, sizeof *l.needs_post_data);
    l.pending_deletes = calloc(n, sizeof *l.pending_deletes);
    l.failed = calloc(n, sizeof *l.failed);
    b2p_status st = order && l.existed && l.referable && l.needs_post_data && l.pending_deletes && l.failed
                        ? B2P_OK
                        : b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    if (!st && opt->create_database) st = b2p_pg_create_database(opt->conninfo, opt->retries, err);
    if (!st) st = b2p_pg_connect(opt->conninfo, opt->retries, &l.notice, &l.conn, err);
    if (!st) st = load_run(&l, order);
    PQfinish(l.conn);
    free(order);
    free(l.existed);
    free(l.referable);
    free(l.needs_post_data);
    free(l.pending_deletes);
    free(l.failed);
    return st;
}
