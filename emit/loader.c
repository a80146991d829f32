/* Loading straight into PostgreSQL through libpq (see emit.h "Load").
 *
 * The same DDL and the same COPY bytes as convert, with no files in between: pre-data runs in one
 * transaction, then each table streams through COPY FROM STDIN in a transaction of its own (a table
 * is either fully there or not at all), then post-data. Server notices (a constraint left NOT
 * VALID, say) are passed to the caller. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "pg_int.h"

typedef struct loader {
    PGconn *conn;
    const b2p_load_options *opt;
    b2p_error *err;
} loader;

static void on_notice(void *ctx, const PGresult *res) {
    const loader *l = ctx;
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (l->opt->notice && msg) l->opt->notice(l->opt->ctx, msg);
}

/* Runs sql; a failure is reported with the server's message (and, for a read-only server, its
 * own status). */
static b2p_status exec(loader *l, const char *sql, const char *what) {
    return b2p_pg_exec(l->conn, sql, what, l->err);
}

/* The pre- or post-data script, generated into memory and run in one transaction. */
static b2p_status run_script(loader *l, const b2p_catalog *cat, const b2p_names *nm, bool post, b2p_ddl_stats *stats) {
    char *sql = NULL, *rev = NULL;
    size_t len = 0, rlen = 0;
    FILE *f = open_memstream(&sql, &len), *review = open_memstream(&rev, &rlen);
    if (!f || !review) return b2p_fail(l->err, B2P_ERR_NOMEM, "out of memory");
    fputs("BEGIN;\n", f);
    b2p_ddl_options dopt = {.selected = l->opt->selected};
    b2p_status st = post ? b2p_write_post_data(cat, nm, &dopt, f, review, stats, l->err)
                         : b2p_write_pre_data(cat, nm, &dopt, f, review, stats, l->err);
    fputs("COMMIT;\n", f);
    fclose(f);
    fclose(review);
    if (!st && l->opt->review && rlen) l->opt->review(l->opt->ctx, rev);
    if (!st) st = exec(l, sql, post ? "the keys, indexes and constraints (post-data)" : "the tables (pre-data)");
    free(sql);
    free(rev);
    return st;
}

/* ---- COPY --------------------------------------------------------------------------------- */

typedef struct copy_sink {
    PGconn *conn;
    bool failed;
} copy_sink;

static bool copy_write(void *ctx, const char *data, size_t len) {
    copy_sink *c = ctx;
    while (len > 0 && !c->failed) { /* PQputCopyData takes an int length */
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        c->failed = PQputCopyData(c->conn, data, n) != 1;
        data += n;
        len -= (size_t)n;
    }
    return !c->failed;
}

static b2p_status copy_statement(const b2p_names *nm, const b2p_cat_table *t, b2p_buf *sql, b2p_error *err) {
    const b2p_cat_column *cols[4096];
    size_t n = b2p_export_columns(t, cols, sizeof cols / sizeof cols[0]);
    b2p_status st = b2p_buf_puts(sql, "COPY ", err);
    if (!st) st = b2p_qualified(nm, t, sql, err);
    for (size_t k = 0; k < n && !st; k++) {
        st = b2p_buf_puts(sql, k ? ", " : " (", err);
        if (!st) st = b2p_quote_ident(b2p_names_column(nm, t, cols[k]->column_id), sql, err);
    }
    if (!st && n) st = b2p_buf_puts(sql, ")", err);
    return st ? st : b2p_buf_puts(sql, " FROM STDIN", err);
}

/* One table in a transaction of its own: BEGIN, COPY FROM STDIN fed by the decoder, COMMIT. */
static b2p_status load_table(loader *l, b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm,
                             const b2p_cat_table *t, b2p_export_stats *es) {
    b2p_buf sql = {0};
    b2p_status st = copy_statement(nm, t, &sql, l->err);
    if (!st) st = exec(l, "BEGIN", "BEGIN");
    PGresult *r = st ? NULL : PQexec(l->conn, sql.data);
    if (r && PQresultStatus(r) != PGRES_COPY_IN) {
        st = b2p_fail(l->err, B2P_ERR_PG_SQL, "PostgreSQL refused COPY into %s.%s: %s", t->schema, t->name,
                      PQresultErrorMessage(r));
        l->err->msg[strcspn(l->err->msg, "\n")] = 0;
    }
    PQclear(r);
    b2p_buf_free(&sql);
    if (st) return st;
    copy_sink sink = {.conn = l->conn};
    st = b2p_export_table(src, cat, t, &l->opt->export, copy_write, &sink, es, l->err);
    /* on a decoding error the COPY is aborted, so that nothing of the table stays */
    PQputCopyEnd(l->conn, st ? "bak2pg: the table could not be decoded" : NULL);
    r = PQgetResult(l->conn);
    if (!st && PQresultStatus(r) != PGRES_COMMAND_OK) {
        st = b2p_fail(l->err, B2P_ERR_PG_SQL, "PostgreSQL refused the rows of %s.%s: %s", t->schema, t->name,
                      PQresultErrorMessage(r));
        l->err->msg[strcspn(l->err->msg, "\n")] = 0;
    }
    PQclear(r);
    while ((r = PQgetResult(l->conn))) PQclear(r);
    b2p_error ignored;
    b2p_error *keep = l->err;
    l->err = st ? &ignored : keep;
    b2p_status end = exec(l, st ? "ROLLBACK" : "COMMIT", st ? "ROLLBACK" : "COMMIT");
    l->err = keep;
    return st ? st : end;
}

b2p_status b2p_load(b2p_pages *src, const b2p_catalog *cat, const b2p_names *nm, const b2p_load_options *opt,
                    b2p_load_stats *stats, b2p_error *err) {
    loader l = {.opt = opt, .err = err};
    memset(stats, 0, sizeof *stats);
    b2p_status cst = b2p_pg_connect(opt->conninfo, &l.conn, err);
    if (cst) return cst;
    PQsetNoticeReceiver(l.conn, on_notice, &l);
    size_t *order = calloc(cat->ntables ? cat->ntables : 1, sizeof *order);
    b2p_status st = order ? B2P_OK : b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    if (!st) st = exec(&l, "SET client_encoding = 'UTF8'", "the client encoding");
    if (!st) st = run_script(&l, cat, nm, false, &stats->ddl);
    size_t n = st ? 0 : b2p_load_order(cat, opt->selected, order);
    for (size_t i = 0; i < n && !st; i++) {
        const b2p_cat_table *t = &cat->tables[order[i]];
        if (b2p_export_unsupported(t)) {
            stats->tables_skipped++;
            if (opt->skipped) opt->skipped(opt->ctx, t, b2p_export_unsupported(t));
            continue;
        }
        b2p_export_stats es = {0};
        st = load_table(&l, src, cat, nm, t, &es);
        if (!st) {
            stats->tables++;
            stats->rows += es.rows;
            stats->bytes += es.bytes;
            if (opt->table_done) opt->table_done(opt->ctx, t, &es);
        }
    }
    if (!st) st = run_script(&l, cat, nm, true, &stats->ddl);
    free(order);
    PQfinish(l.conn);
    return st;
}
