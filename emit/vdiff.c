/* Which rows differ, once a table's content hashes do (see emit.h "b2p_verify_diff").
 *
 * Memory must stay bounded whatever the table's size, and neither side can be sorted cheaply in
 * the same order (PostgreSQL sorts text by its collation, the backup delivers rows in page
 * order), so the rows are hash-partitioned by their key instead:
 *   pass 1  every row of both sides goes to one of 65536 partitions by a hash of its key's text;
 *           per partition and side, a row count, a byte count and the order-independent sum of
 *           the rows' hashes (as the content hash) are kept: 3 MiB, whatever the table;
 *   pass 2  only the partitions whose sums differ are read again, as many as fit in the memory
 *           budget (their byte counts say how much that is); their rows are held, one copy per
 *           distinct line with a count per side, so that lines on both sides cancel;
 *   then    the lines left over are grouped by key: a key with a line on each side is a changed
 *           row (its fields compared one by one), one with lines on one side only is missing or
 *           extra. With few differences only a few partitions are held (a 2 M-row table with one
 *           changed row holds about 30 rows); with more than the budget holds, what was held is
 *           listed and the counts are said to be lower bounds.
 * Rows are compared as COPY text lines, the same bytes the content hash covers; a column the
 * target lacks or has retyped is left out of every line first, so that it does not make every
 * row look changed (verify reports it once, as a type problem). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "emit.h"
#include "vdiff_int.h"

enum { NPART = 65536 };
static const size_t DEFAULT_MEMORY = (size_t)64 << 20;

typedef struct part_sum {
    uint64_t rows, bytes, lo, hi;
} part_sum;

/* One distinct line of the held partitions. */
typedef struct entry {
    uint64_t hash;                   /* XXH3 of the line; 0: an empty slot */
    char *line;
    size_t len;
    uint64_t count[2];               /* per side: 0 the backup, 1 the target */
} entry;

typedef struct differ {
    const vdiff_in *in;
    b2p_error *err;
    b2p_status failed;               /* why a sink stopped */
    /* the compared fields: per side, which of its fields are kept */
    size_t nfields[2];
    bool *keep[2];
    size_t nkept;
    size_t *key_pos, nkey;           /* the key's fields among the kept ones (NULL: whole line) */
    /* per line */
    b2p_buf norm, partial;
    size_t *start, *flen;            /* the fields of the line being read */
    int side, pass;
    part_sum *sums[2];
    bool *held;                      /* per partition: held in pass 2 */
    entry *table;
    size_t cap, used, bytes;
    uint64_t rows_seen;
} differ;

/* ---- COPY text ---------------------------------------------------------------------------- */

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A field of COPY text as its value: *out NULL for \N (SQL NULL). False when out of memory. */
static bool decode_field(const char *f, size_t n, char **out) {
    *out = NULL;
    if (n == 2 && f[0] == '\\' && f[1] == 'N') return true;
    char *v = malloc(n + 1), *w = v;
    if (!v) return false;
    for (size_t i = 0; i < n; i++) {
        if (f[i] != '\\' || i + 1 == n) {
            *w++ = f[i];
            continue;
        }
        char c = f[++i];
        switch (c) {
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'v': *w++ = '\v'; break;
        case 'x': {
            int h = i + 1 < n ? hexval(f[i + 1]) : -1, value = 0;
            if (h < 0) {
                *w++ = 'x';
                break;
            }
            value = h, i++;
            if (i + 1 < n && (h = hexval(f[i + 1])) >= 0) value = value * 16 + h, i++;
            *w++ = (char)value;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int value = c - '0';
                for (int k = 0; k < 2 && i + 1 < n && f[i + 1] >= '0' && f[i + 1] <= '7'; k++) value = value * 8 + (f[++i] - '0');
                *w++ = (char)value;
            } else {
                *w++ = c;
            }
        }
    }
    *w = 0;
    *out = v;
    return true;
}

/* Splits line at its tabs (a tab inside a value is written \t) into d->start/flen; the count. */
static size_t split(differ *d, const char *line, size_t len, size_t max) {
    size_t n = 0, from = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t') continue;
        if (n < max) {
            d->start[n] = from;
            d->flen[n] = i - from;
        }
        n++;
        from = i + 1;
    }
    return n;
}

/* ---- one line ------------------------------------------------------------------------------ */

static uint64_t key_hash(const differ *d, const char *line, const size_t *start, const size_t *flen) {
    if (!d->key_pos) return XXH3_64bits(line, d->norm.len);
    uint64_t h = 0;
    for (size_t k = 0; k < d->nkey; k++) h = XXH3_64bits_withSeed(line + start[d->key_pos[k]], flen[d->key_pos[k]], h);
    return h;
}

static b2p_status grow_table(differ *d) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    entry *t = calloc(cap, sizeof *t);
    if (!t) return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->table[i].hash) continue;
        size_t j = d->table[i].hash & (cap - 1);
        while (t[j].hash) j = (j + 1) & (cap - 1);
        t[j] = d->table[i];
    }
    free(d->table);
    d->table = t;
    d->cap = cap;
    return B2P_OK;
}

static b2p_status hold(differ *d, const char *line, size_t len) {
    if ((d->used + 1) * 2 > d->cap && grow_table(d)) return B2P_ERR_NOMEM;
    uint64_t h = XXH3_64bits(line, len);
    h += !h;
    size_t j = h & (d->cap - 1);
    while (d->table[j].hash && (d->table[j].hash != h || d->table[j].len != len || memcmp(d->table[j].line, line, len)))
        j = (j + 1) & (d->cap - 1);
    entry *e = &d->table[j];
    if (!e->hash) {
        if (!(e->line = malloc(len + 1))) return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
        memcpy(e->line, line, len);
        e->line[len] = 0;
        e->len = len;
        e->hash = h;
        d->used++;
        d->bytes += len + sizeof *e;
    }
    e->count[d->side]++;
    return B2P_OK;
}

/* A line of the current side (no newline): its compared fields, its partition, then pass 1's
 * sums or pass 2's table. */
static b2p_status take_line(differ *d, const char *line, size_t len) {
    size_t n = split(d, line, len, d->nfields[d->side]);
    if (n != d->nfields[d->side])
        return b2p_fail(d->err, B2P_ERR_INTERNAL, "table %s.%s: a row of the %s with %zu fields, expected %zu", d->in->t->schema,
                        d->in->t->name, d->side ? "target" : "backup", n, d->nfields[d->side]);
    b2p_buf_clear(&d->norm);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!d->keep[d->side][i]) continue;
        size_t at = d->norm.len + (kept ? 1 : 0);
        if ((kept && b2p_buf_append(&d->norm, "\t", 1, d->err)) ||
            b2p_buf_append(&d->norm, line + d->start[i], d->flen[i], d->err))
            return B2P_ERR_NOMEM;
        d->start[kept] = at; /* kept <= i: the fields read so far are not needed again */
        d->flen[kept] = d->flen[i];
        kept++;
    }
    const char *nl = d->norm.data ? d->norm.data : "";
    size_t part = key_hash(d, nl, d->start, d->flen) & (NPART - 1);
    if (d->pass == 2) return d->held[part] ? hold(d, nl, d->norm.len) : B2P_OK;
    part_sum *s = &d->sums[d->side][part];
    XXH128_hash_t r = XXH3_128bits(nl, d->norm.len);
    s->rows++;
    s->bytes += d->norm.len + sizeof(entry);
    s->lo += r.low64;
    s->hi += r.high64;
    return B2P_OK;
}

static void tick(differ *d) {
    if (++d->rows_seen % 65536 == 0 && d->in->progress)
        d->in->progress(d->in->ctx, d->in->named, d->pass == 1 ? "comparing rows (1 of 2)" : "comparing rows (2 of 2)", d->rows_seen);
}

/* The export's sink: lines, cut anywhere. */
static bool source_sink(void *ctx, const char *data, size_t len) {
    differ *d = ctx;
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (!nl) return b2p_buf_append(&d->partial, data, n, d->err) == B2P_OK || (d->failed = B2P_ERR_NOMEM, false);
        b2p_status st;
        if (d->partial.len) {
            st = b2p_buf_append(&d->partial, data, n, d->err);
            if (!st) st = take_line(d, d->partial.data, d->partial.len);
            b2p_buf_clear(&d->partial);
        } else {
            st = take_line(d, data, n);
        }
        if (st) {
            d->failed = st;
            return false;
        }
        tick(d);
        data += n + 1;
        len -= n + 1;
    }
    return true;
}

static b2p_status read_source(differ *d) {
    d->side = 0;
    d->failed = B2P_OK;
    b2p_buf_clear(&d->partial);
    b2p_export_options ex = d->in->ex;
    ex.format = B2P_FORMAT_COPY;
    b2p_export_stats es;
    b2p_error xerr = {0};
    b2p_status st = b2p_export_table(d->in->src, d->in->cat, d->in->t, &ex, source_sink, d, &es, &xerr);
    if (d->failed) return d->failed; /* d->err says why */
    if (st) return b2p_fail(d->err, xerr.code, "%s", xerr.msg);
    return B2P_OK;
}

static b2p_status read_target(differ *d) {
    d->side = 1;
    char what[600];
    snprintf(what, sizeof what, "reading the rows of %s.%s again", b2p_names_schema(d->in->nm, d->in->named),
             b2p_names_table(d->in->nm, d->in->named));
    PGresult *r = PQexec(d->in->conn, d->in->target_copy);
    b2p_status st = B2P_OK;
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        st = b2p_pg_fail(d->in->conn, r, what, d->err);
        PQclear(r);
        return st;
    }
    PQclear(r);
    char *row;
    int len;
    while ((len = PQgetCopyData(d->in->conn, &row, 0)) > 0) { /* one row per buffer, newline included */
        if (!st) st = take_line(d, row, (size_t)len - (len > 0 && row[len - 1] == '\n'));
        if (!st) tick(d);
        PQfreemem(row);
    }
    if (len == -2 && !st) st = b2p_pg_fail(d->in->conn, NULL, what, d->err);
    while ((r = PQgetResult(d->in->conn))) {
        if (!st && PQresultStatus(r) != PGRES_COMMAND_OK) st = b2p_pg_fail(d->in->conn, r, what, d->err);
        PQclear(r);
    }
    return st;
}

/* ---- the key -------------------------------------------------------------------------------- */

/* The position of column id among the kept fields, or -1. */
static long kept_position(const differ *d, int32_t id) {
    long pos = 0;
    for (size_t i = 0; i < d->in->ncols; i++) {
        if (d->in->cols[i]->column_id == id) return d->in->compared[i] ? pos : -1;
        pos += d->in->compared[i];
    }
    return -1;
}

/* The key rows are matched by: the primary key, else a unique constraint, else a unique index;
 * one that is disabled, filtered or on a column left out of the comparison does not do. */
static b2p_status choose_key(differ *d, b2p_verify_diff *out) {
    const b2p_cat_table *t = d->in->t;
    d->key_pos = calloc(t->ncolumns + 1, sizeof *d->key_pos);
    if (!d->key_pos) return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    for (int want = 0; want < 3; want++) {
        for (size_t i = 0; i < t->nindexes; i++) {
            const b2p_cat_index *ix = &t->indexes[i];
            bool kind = want == 0 ? ix->primary_key : want == 1 ? ix->unique_constraint && !ix->primary_key
                                                                : ix->unique && !ix->unique_constraint && !ix->primary_key;
            if (!ix->name || !kind || ix->disabled || ix->has_filter || !ix->nkeys || ix->type > 2) continue;
            bool ok = true;
            for (size_t k = 0; k < ix->nkeys && ok; k++) {
                long pos = kept_position(d, ix->key_columns[k]);
                ok = pos >= 0;
                d->key_pos[k] = (size_t)pos;
            }
            if (!ok) continue;
            d->nkey = ix->nkeys;
            out->key_kind = want == 0 ? "primary key" : want == 1 ? "unique constraint" : "unique index";
            snprintf(out->key_name, sizeof out->key_name, "%s", b2p_names_index(d->in->nm, d->in->named, i));
            out->nkey = ix->nkeys;
            if (!(out->key_columns = calloc(ix->nkeys, sizeof *out->key_columns))) return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
            for (size_t k = 0; k < ix->nkeys; k++) out->key_columns[k] = b2p_names_column(d->in->nm, d->in->named, ix->key_columns[k]);
            return B2P_OK;
        }
    }
    /* no key: the whole row is its own key */
    free(d->key_pos);
    d->key_pos = NULL;
    out->key_kind = "row";
    out->nkey = d->nkept;
    if (!(out->key_columns = calloc(d->nkept + 1, sizeof *out->key_columns))) return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0, k = 0; i < d->in->ncols; i++)
        if (d->in->compared[i]) out->key_columns[k++] = b2p_names_column(d->in->nm, d->in->named, d->in->cols[i]->column_id);
    return B2P_OK;
}

/* ---- the lines left over ---------------------------------------------------------------- */

typedef struct surplus {
    char *key;                       /* the key's fields, tab-separated (COPY text) */
    size_t keylen;
    const entry *e;
    int side;
    uint64_t n;                      /* how many more on this side */
} surplus;

static int by_key(const void *a, const void *b) {
    const surplus *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
    if (x->side != y->side) return x->side - y->side;
    return strcmp(x->e->line, y->e->line);
}

/* The fields of line (split into d->start/flen; the count). */
static size_t fields_of(differ *d, const char *line) {
    return split(d, line, strlen(line), d->nkept);
}

static b2p_status key_text(differ *d, const entry *e, b2p_buf *out) {
    b2p_buf_clear(out);
    if (!d->key_pos) return b2p_buf_append(out, e->line, e->len, d->err);
    fields_of(d, e->line);
    for (size_t k = 0; k < d->nkey; k++) {
        if (k && b2p_buf_append(out, "\t", 1, d->err)) return B2P_ERR_NOMEM;
        if (b2p_buf_append(out, e->line + d->start[d->key_pos[k]], d->flen[d->key_pos[k]], d->err)) return B2P_ERR_NOMEM;
    }
    return B2P_OK;
}

static b2p_status decode_into(differ *d, const char *f, size_t n, char **out) {
    return decode_field(f, n, out) ? B2P_OK : b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
}

/* A row of the list, of kind, keyed as line src (or tgt for an extra row). */
static b2p_status list_row(differ *d, b2p_verify_diff *out, b2p_verify_diff_kind kind, const entry *src, const entry *tgt) {
    b2p_verify_row_diff *r = &out->rows[out->nrows];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    if (!(r->key = calloc(out->nkey + 1, sizeof *r->key))) return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    out->nrows++;
    const entry *keyed = src ? src : tgt;
    fields_of(d, keyed->line);
    for (size_t k = 0; k < out->nkey; k++) {
        size_t pos = d->key_pos ? d->key_pos[k] : k;
        b2p_status st = decode_into(d, keyed->line + d->start[pos], d->flen[pos], &r->key[k]);
        if (st) return st;
    }
    if (kind != B2P_DIFF_CHANGED) return B2P_OK;
    /* the fields that differ: both lines split, the backup's first */
    size_t *s0 = malloc(2 * d->nkept * sizeof *s0 + 1), *l0 = malloc(d->nkept * sizeof *l0 + 1);
    if (!s0 || !l0 || !(r->changed = calloc(d->nkept, sizeof *r->changed))) {
        free(s0);
        free(l0);
        return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    }
    fields_of(d, src->line);
    memcpy(s0, d->start, d->nkept * sizeof *s0);
    memcpy(l0, d->flen, d->nkept * sizeof *l0);
    fields_of(d, tgt->line);
    b2p_status st = B2P_OK;
    for (size_t i = 0, f = 0; i < d->in->ncols && !st; i++) {
        if (!d->in->compared[i]) continue;
        size_t k = f++;
        if (l0[k] == d->flen[k] && !memcmp(src->line + s0[k], tgt->line + d->start[k], l0[k])) continue;
        b2p_verify_value_diff *v = &r->changed[r->nchanged++];
        v->column = b2p_names_column(d->in->nm, d->in->named, d->in->cols[i]->column_id);
        st = decode_into(d, src->line + s0[k], l0[k], &v->source);
        if (!st) st = decode_into(d, tgt->line + d->start[k], d->flen[k], &v->target);
    }
    free(s0);
    free(l0);
    return st;
}

/* Groups the lines left over by key: pairs are changed rows, the rest missing or extra. */
static b2p_status settle(differ *d, b2p_verify_diff *out) {
    size_t n = 0;
    for (size_t i = 0; i < d->cap; i++) n += d->table[i].hash && d->table[i].count[0] != d->table[i].count[1];
    surplus *s = calloc(n + 1, sizeof *s);
    out->rows = calloc(3 * d->in->limit + 1, sizeof *out->rows);
    if (!s || !out->rows) {
        free(s);
        return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    }
    b2p_buf key = {0};
    b2p_status st = B2P_OK;
    size_t m = 0;
    for (size_t i = 0; i < d->cap && !st; i++) {
        const entry *e = &d->table[i];
        if (!e->hash || e->count[0] == e->count[1]) continue;
        st = key_text(d, e, &key);
        if (st) break;
        surplus *x = &s[m++];
        x->e = e;
        x->side = e->count[0] > e->count[1] ? 0 : 1;
        x->n = x->side ? e->count[1] - e->count[0] : e->count[0] - e->count[1];
        x->keylen = key.len;
        if (!(x->key = malloc(key.len + 1))) st = b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
        else memcpy(x->key, key.data ? key.data : "", key.len);
    }
    b2p_buf_free(&key);
    if (!st) qsort(s, m, sizeof *s, by_key);
    size_t listed[3] = {0};
    for (size_t g = 0; g < m && !st;) {
        size_t end = g, first_tgt;
        while (end < m && s[end].keylen == s[g].keylen && !memcmp(s[end].key, s[g].key, s[g].keylen)) end++;
        for (first_tgt = g; first_tgt < end && s[first_tgt].side == 0; first_tgt++) {}
        /* walk both sides' lines, each as often as it is left over */
        size_t a = g, b = first_tgt;
        uint64_t ua = 0, ub = 0;
        while (!st && (a < first_tgt || b < end)) {
            const entry *src = a < first_tgt ? s[a].e : NULL, *tgt = b < end ? s[b].e : NULL;
            b2p_verify_diff_kind kind = src && tgt ? B2P_DIFF_CHANGED : src ? B2P_DIFF_MISSING : B2P_DIFF_EXTRA;
            uint64_t *count = kind == B2P_DIFF_CHANGED ? &out->changed : kind == B2P_DIFF_MISSING ? &out->missing : &out->extra;
            (*count)++;
            if (listed[kind] < d->in->limit) {
                listed[kind]++;
                st = list_row(d, out, kind, src, tgt);
            }
            if (src && ++ua == s[a].n) a++, ua = 0;
            if (tgt && ++ub == s[b].n) b++, ub = 0;
        }
        g = end;
    }
    for (size_t i = 0; i < m; i++) free(s[i].key);
    free(s);
    return st;
}

/* ---- the comparison ---------------------------------------------------------------------- */

static b2p_status prepare(differ *d) {
    const vdiff_in *in = d->in;
    d->nfields[0] = in->ncols;
    for (size_t i = 0; i < in->ncols; i++) {
        d->nfields[1] += in->in_target[i];
        d->nkept += in->compared[i];
    }
    size_t most = in->ncols + 1;
    d->keep[0] = calloc(most, sizeof(bool));
    d->keep[1] = calloc(most, sizeof(bool));
    d->start = calloc(most, sizeof *d->start);
    d->flen = calloc(most, sizeof *d->flen);
    d->sums[0] = calloc(NPART, sizeof(part_sum));
    d->sums[1] = calloc(NPART, sizeof(part_sum));
    d->held = calloc(NPART, sizeof(bool));
    if (!d->keep[0] || !d->keep[1] || !d->start || !d->flen || !d->sums[0] || !d->sums[1] || !d->held)
        return b2p_fail(d->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0, j = 0; i < in->ncols; i++) {
        d->keep[0][i] = in->compared[i];
        if (in->in_target[i]) d->keep[1][j++] = in->compared[i];
    }
    return B2P_OK;
}

/* The partitions whose sums differ; those held in pass 2 are the first that fit in memory. */
static void choose_partitions(differ *d, b2p_verify_diff *out) {
    size_t budget = d->in->memory ? d->in->memory : DEFAULT_MEMORY, planned = 0;
    out->complete = true;
    for (size_t p = 0; p < NPART; p++) {
        const part_sum *a = &d->sums[0][p], *b = &d->sums[1][p];
        if (a->rows == b->rows && a->lo == b->lo && a->hi == b->hi) continue;
        out->partitions_differing++;
        uint64_t need = a->bytes + b->bytes;
        if (out->complete && planned + need <= budget) {
            planned += need;
            d->held[p] = true;
            out->partitions_compared++;
        } else {
            out->complete = false;
        }
    }
}

static void differ_free(differ *d) {
    for (size_t i = 0; i < d->cap; i++) free(d->table[i].line);
    free(d->table);
    free(d->keep[0]);
    free(d->keep[1]);
    free(d->key_pos);
    free(d->start);
    free(d->flen);
    free(d->sums[0]);
    free(d->sums[1]);
    free(d->held);
    b2p_buf_free(&d->norm);
    b2p_buf_free(&d->partial);
}

b2p_status vdiff_table(const vdiff_in *in, b2p_verify_diff *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    differ d = {.in = in, .err = err};
    b2p_status st = prepare(&d);
    if (!st) st = choose_key(&d, out);
    d.pass = 1;
    if (!st) st = read_source(&d);
    if (!st) st = read_target(&d);
    if (!st) choose_partitions(&d, out);
    d.pass = 2;
    d.rows_seen = 0;
    if (!st && out->partitions_compared) st = read_source(&d);
    if (!st && out->partitions_compared) st = read_target(&d);
    if (!st) st = settle(&d, out);
    out->done = !st;
    differ_free(&d);
    return st;
}

void vdiff_free(b2p_verify_diff *d) {
    for (size_t i = 0; d->rows && i < d->nrows; i++) {
        b2p_verify_row_diff *r = &d->rows[i];
        for (size_t k = 0; r->key && k < d->nkey; k++) free(r->key[k]);
        free(r->key);
        for (size_t k = 0; k < r->nchanged; k++) {
            free(r->changed[k].source);
            free(r->changed[k].target);
        }
        free(r->changed);
    }
    free(d->rows);
    free(d->key_columns);
    memset(d, 0, sizeof *d);
}
