/* The Parquet file writer: buffers one row group column by column (PLAIN values, definition
 * levels, statistics), writes each column chunk as one data page, and the footer at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "parquet/parquet.h"

enum { T_I32 = 5, T_BINARY = 8, T_STRUCT = 12 };
enum { STATS_MAX_BYTES = 64 };   /* longer min/max values are left out of the statistics */

typedef struct pq_col {
    b2p_pq_column def;
    char *name;
    b2p_buf values, levels;      /* PLAIN values of the non-null rows; one level byte per row */
    uint64_t nonnull, nulls;
    bool filled;                 /* a value was given for the current row */
    bool has_minmax, stats_ok;
    int64_t imin, imax;
    double dmin, dmax;
    b2p_buf bmin, bmax;
} pq_col;

struct b2p_pq_writer {
    FILE *f;
    uint64_t offset;             /* bytes written so far */
    pq_col *cols;
    size_t ncols;
    b2p_pq_kv *kv;
    size_t nkv;
    b2p_pq_options opt;
    uint64_t rows, group_rows;   /* in the file; in the current row group */
    b2p_buf groups;              /* the RowGroup structs written so far, Thrift-encoded */
    size_t ngroups;
    b2p_buf page, packed, header; /* scratch */
};

/* ---- the RLE/bit-packed hybrid ------------------------------------------------------------ */

static size_t run_length(const uint8_t *v, size_t i, size_t n) {
    size_t j = i + 1;
    while (j < n && v[j] == v[i])
        j++;
    return j - i;
}

b2p_status b2p_pq_hybrid(b2p_buf *out, const uint8_t *levels, size_t n, int bit_width, b2p_error *err) {
    bool failed = false;
    size_t i = 0;
    if (bit_width < 1 || bit_width > 8)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: level bit width %d", bit_width);
    while (i < n && !failed) {
        size_t run = run_length(levels, i, n);
        if (run >= 8) {              /* an RLE run: count, then the value in one byte */
            b2p_varint(out, (uint64_t)run << 1, &failed);
            if (!failed && b2p_buf_append(out, &levels[i], 1, NULL) != B2P_OK)
                failed = true;
            i += run;
            continue;
        }
        /* bit-packed groups of 8 until a long run starts (the last group is padded with 0) */
        size_t start = i, groups = 0;
        do {
            i += 8;
            groups++;
        } while (i < n && run_length(levels, i, n) < 8);
        b2p_varint(out, (uint64_t)groups << 1 | 1, &failed);
        size_t bytes = groups * (size_t)bit_width;
        if (failed || b2p_buf_reserve(out, bytes, NULL) != B2P_OK)
            break;
        uint8_t *p = (uint8_t *)out->data + out->len;
        memset(p, 0, bytes);
        for (size_t k = 0; k < groups * 8; k++) {
            unsigned v = start + k < n ? levels[start + k] : 0;
            for (int b = 0; b < bit_width; b++)
                if (v >> b & 1) {
                    size_t bit = k * (size_t)bit_width + (size_t)b;
                    p[bit / 8] |= (uint8_t)(1u << (bit % 8));
                }
        }
        out->len += bytes;
        if (i > n)
            i = n;
    }
    return failed ? b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory encoding levels") : B2P_OK;
}

/* ---- opening, values ------------------------------------------------------------------------ */

static void free_writer(b2p_pq_writer *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->ncols; i++) {
        pq_col *c = &w->cols[i];
        free(c->name);
        b2p_buf_free(&c->values);
        b2p_buf_free(&c->levels);
        b2p_buf_free(&c->bmin);
        b2p_buf_free(&c->bmax);
    }
    for (size_t i = 0; i < w->nkv; i++) {
        free((char *)w->kv[i].key);
        free((char *)w->kv[i].value);
    }
    free(w->kv);
    free(w->cols);
    b2p_buf_free(&w->groups);
    b2p_buf_free(&w->page);
    b2p_buf_free(&w->packed);
    b2p_buf_free(&w->header);
    free(w);
}

void b2p_pq_abort(b2p_pq_writer *w) { free_writer(w); }

static void reset_column(pq_col *c) {
    b2p_buf_clear(&c->values);
    b2p_buf_clear(&c->levels);
    c->nonnull = c->nulls = 0;
    c->has_minmax = false;
    c->stats_ok = true;
}

static b2p_status write_bytes(b2p_pq_writer *w, const void *p, size_t n, b2p_error *err) {
    if (n && fwrite(p, 1, n, w->f) != n)
        return b2p_fail(err, B2P_ERR_IO, "parquet: cannot write: %s", "write failed");
    w->offset += n;
    return B2P_OK;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

b2p_status b2p_pq_open(b2p_pq_writer **out, FILE *f, const b2p_pq_column *cols, size_t ncols,
                       const b2p_pq_kv *kv, size_t nkv, const b2p_pq_options *opt, b2p_error *err) {
    *out = NULL;
    if (ncols == 0)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: a file needs at least one column");
    b2p_pq_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->cols = calloc(ncols, sizeof *w->cols)) || (nkv && !(w->kv = calloc(nkv, sizeof *w->kv)))) {
        free_writer(w);
        return b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory");
    }
    w->f = f;
    w->ncols = ncols;
    if (opt)
        w->opt = *opt;
    if (!w->opt.row_group_rows)
        w->opt.row_group_rows = 1048576;
    for (size_t i = 0; i < ncols; i++) {
        w->cols[i].def = cols[i];
        w->cols[i].name = dup_string(cols[i].name);
        if (!w->cols[i].name) {
            free_writer(w);
            return b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory");
        }
        w->cols[i].def.name = w->cols[i].name;
        if (cols[i].physical == B2P_PQ_FIXED && cols[i].type_length <= 0) {
            free_writer(w);
            return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s': fixed length %d", cols[i].name,
                            (int)cols[i].type_length);
        }
        reset_column(&w->cols[i]);
    }
    for (size_t i = 0; i < nkv; i++) {
        w->kv[i].key = dup_string(kv[i].key);
        w->kv[i].value = dup_string(kv[i].value);
        w->nkv = i + 1;
        if (!w->kv[i].key || !w->kv[i].value) {
            free_writer(w);
            return b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory");
        }
    }
    b2p_status st = write_bytes(w, "PAR1", 4, err);
    if (st != B2P_OK) {
        free_writer(w);
        return st;
    }
    *out = w;
    return B2P_OK;
}

static b2p_status take(b2p_pq_writer *w, size_t col, b2p_pq_physical want, pq_col **c, b2p_error *err) {
    if (col >= w->ncols)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column %zu of %zu", col, w->ncols);
    *c = &w->cols[col];
    if ((*c)->filled)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s' given twice in a row", (*c)->name);
    if ((int)want >= 0 && (*c)->def.physical != want)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s': wrong physical type", (*c)->name);
    uint8_t one = 1;
    (*c)->filled = true;
    (*c)->nonnull++;
    return b2p_buf_append(&(*c)->levels, &one, 1, err);
}

b2p_status b2p_pq_null(b2p_pq_writer *w, size_t col, b2p_error *err) {
    if (col >= w->ncols)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column %zu of %zu", col, w->ncols);
    pq_col *c = &w->cols[col];
    if (!c->def.nullable)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: NULL in required column '%s'", c->name);
    if (c->filled)
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s' given twice in a row", c->name);
    uint8_t zero = 0;
    c->filled = true;
    c->nulls++;
    return b2p_buf_append(&c->levels, &zero, 1, err);
}

static void stat_int(pq_col *c, int64_t v) {
    if (!c->has_minmax || v < c->imin)
        c->imin = v;
    if (!c->has_minmax || v > c->imax)
        c->imax = v;
    c->has_minmax = true;
}

static void stat_double(pq_col *c, double v) {
    if (isnan(v))
        return;                  /* NaN takes no part in min/max */
    if (v == 0)
        v = 0.0;
    if (!c->has_minmax || v < c->dmin || (v == 0 && c->dmin == 0))
        c->dmin = v == 0 ? -0.0 : v;
    if (!c->has_minmax || v > c->dmax)
        c->dmax = v;
    c->has_minmax = true;
}

b2p_status b2p_pq_bool(b2p_pq_writer *w, size_t col, bool v, b2p_error *err) {
    pq_col *c;
    b2p_status st = take(w, col, B2P_PQ_BOOLEAN, &c, err);
    if (st != B2P_OK)
        return st;
    uint64_t bit = c->nonnull - 1;
    if (bit % 8 == 0) {
        uint8_t z = 0;
        if ((st = b2p_buf_append(&c->values, &z, 1, err)) != B2P_OK)
            return st;
    }
    if (v)
        ((uint8_t *)c->values.data)[bit / 8] |= (uint8_t)(1u << (bit % 8));
    stat_int(c, v);
    return B2P_OK;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

b2p_status b2p_pq_int32(b2p_pq_writer *w, size_t col, int32_t v, b2p_error *err) {
    pq_col *c;
    b2p_status st = take(w, col, B2P_PQ_INT32, &c, err);
    uint8_t b[4];
    put_le(b, (uint32_t)v, 4);
    if (st == B2P_OK)
        st = b2p_buf_append(&c->values, b, 4, err);
    if (st == B2P_OK)
        stat_int(c, v);
    return st;
}

b2p_status b2p_pq_int64(b2p_pq_writer *w, size_t col, int64_t v, b2p_error *err) {
    pq_col *c;
    b2p_status st = take(w, col, B2P_PQ_INT64, &c, err);
    uint8_t b[8];
    put_le(b, (uint64_t)v, 8);
    if (st == B2P_OK)
        st = b2p_buf_append(&c->values, b, 8, err);
    if (st == B2P_OK)
        stat_int(c, v);
    return st;
}

b2p_status b2p_pq_float(b2p_pq_writer *w, size_t col, float v, b2p_error *err) {
    pq_col *c;
    b2p_status st = take(w, col, B2P_PQ_FLOAT, &c, err);
    uint32_t u;
    memcpy(&u, &v, 4);
    uint8_t b[4];
    put_le(b, u, 4);
    if (st == B2P_OK)
        st = b2p_buf_append(&c->values, b, 4, err);
    if (st == B2P_OK)
        stat_double(c, v);
    return st;
}

b2p_status b2p_pq_double(b2p_pq_writer *w, size_t col, double v, b2p_error *err) {
    pq_col *c;
    b2p_status st = take(w, col, B2P_PQ_DOUBLE, &c, err);
    uint64_t u;
    memcpy(&u, &v, 8);
    uint8_t b[8];
    put_le(b, u, 8);
    if (st == B2P_OK)
        st = b2p_buf_append(&c->values, b, 8, err);
    if (st == B2P_OK)
        stat_double(c, v);
    return st;
}

/* Byte order of statistics: unsigned bytes, except a DECIMAL in fixed bytes (two's complement,
 * big-endian), whose first byte is signed. */
static int compare_bytes(const pq_col *c, const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    if (n && c->def.physical == B2P_PQ_FIXED && c->def.logical == B2P_PQL_DECIMAL && a[0] != b[0])
        return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
    int r = n ? memcmp(a, b, n) : 0;
    return r ? r : (an < bn ? -1 : an > bn);
}

static void stat_bytes(pq_col *c, const uint8_t *p, size_t len) {
    if (!c->stats_ok)
        return;
    if (len > STATS_MAX_BYTES) {
        c->stats_ok = false;
        return;
    }
    if (!c->has_minmax || compare_bytes(c, p, len, (const uint8_t *)c->bmin.data, c->bmin.len) < 0) {
        b2p_buf_clear(&c->bmin);
        if (b2p_buf_append(&c->bmin, p, len, NULL) != B2P_OK)
            c->stats_ok = false;
    }
    if (!c->has_minmax || compare_bytes(c, p, len, (const uint8_t *)c->bmax.data, c->bmax.len) > 0) {
        b2p_buf_clear(&c->bmax);
        if (b2p_buf_append(&c->bmax, p, len, NULL) != B2P_OK)
            c->stats_ok = false;
    }
    c->has_minmax = true;
}

b2p_status b2p_pq_bytes(b2p_pq_writer *w, size_t col, const void *p, size_t len, b2p_error *err) {
    pq_col *c;
    b2p_status st = take(w, col, (b2p_pq_physical)-1, &c, err);
    if (st != B2P_OK)
        return st;
    if (c->def.physical == B2P_PQ_FIXED) {
        if (len != (size_t)c->def.type_length)
            return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s': %zu bytes for a fixed length of %d",
                            c->name, len, (int)c->def.type_length);
    } else if (c->def.physical == B2P_PQ_BYTE_ARRAY) {
        if (len > UINT32_MAX)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED, "parquet: column '%s': a value of %zu bytes", c->name, len);
        uint8_t b[4];
        put_le(b, (uint32_t)len, 4);
        if ((st = b2p_buf_append(&c->values, b, 4, err)) != B2P_OK)
            return st;
    } else {
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s': bytes for a numeric column", c->name);
    }
    if ((st = b2p_buf_append(&c->values, p, len, err)) != B2P_OK)
        return st;
    stat_bytes(c, p, len);
    return B2P_OK;
}

/* ---- row groups ----------------------------------------------------------------------------- */

static void stat_value(const pq_col *c, bool max, b2p_buf *out) {
    uint8_t b[8];
    b2p_buf_clear(out);
    switch (c->def.physical) {
    case B2P_PQ_BOOLEAN:
        b[0] = (uint8_t)(max ? c->imax : c->imin);
        (void)b2p_buf_append(out, b, 1, NULL);
        break;
    case B2P_PQ_INT32:
        put_le(b, (uint32_t)(int32_t)(max ? c->imax : c->imin), 4);
        (void)b2p_buf_append(out, b, 4, NULL);
        break;
    case B2P_PQ_INT64:
        put_le(b, (uint64_t)(max ? c->imax : c->imin), 8);
        (void)b2p_buf_append(out, b, 8, NULL);
        break;
    case B2P_PQ_FLOAT: {
        float f = (float)(max ? c->dmax : c->dmin);
        uint32_t u;
        memcpy(&u, &f, 4);
        put_le(b, u, 4);
        (void)b2p_buf_append(out, b, 4, NULL);
        break;
    }
    case B2P_PQ_DOUBLE: {
        double d = max ? c->dmax : c->dmin;
        uint64_t u;
        memcpy(&u, &d, 8);
        put_le(b, u, 8);
        (void)b2p_buf_append(out, b, 8, NULL);
        break;
    }
    default: {
        const b2p_buf *src = max ? &c->bmax : &c->bmin;
        (void)b2p_buf_append(out, src->data ? src->data : "", src->len, NULL);
    }
    }
}

static void write_statistics(b2p_thrift *t, int16_t id, const pq_col *c, b2p_buf *scratch) {
    b2p_thrift_struct_begin(t, id);
    b2p_thrift_i64(t, 3, (int64_t)c->nulls);
    if (c->has_minmax && c->stats_ok) {
        stat_value(c, true, scratch);
        b2p_thrift_binary(t, 5, scratch->data ? scratch->data : "", scratch->len);
        stat_value(c, false, scratch);
        b2p_thrift_binary(t, 6, scratch->data ? scratch->data : "", scratch->len);
    }
    b2p_thrift_struct_end(t);
}

/* The page body: the definition levels (optional columns; 4-byte length, then the hybrid)
 * and the PLAIN values. */
static b2p_status page_body(b2p_pq_writer *w, const pq_col *c, b2p_error *err) {
    b2p_buf_clear(&w->page);
    b2p_status st = B2P_OK;
    if (c->def.nullable) {
        uint8_t len[4] = {0};
        if ((st = b2p_buf_append(&w->page, len, 4, err)) != B2P_OK)
            return st;
        if ((st = b2p_pq_hybrid(&w->page, (const uint8_t *)c->levels.data, c->levels.len, 1, err)) != B2P_OK)
            return st;
        put_le((uint8_t *)w->page.data, (uint32_t)(w->page.len - 4), 4);
    }
    return b2p_buf_append(&w->page, c->values.data ? c->values.data : "", c->values.len, err);
}

static b2p_status compress_page(b2p_pq_writer *w, const void **data, size_t *len, b2p_error *err) {
    *data = w->page.data ? w->page.data : "";
    *len = w->page.len;
    if (w->opt.codec != B2P_PQ_ZSTD)
        return B2P_OK;
    size_t bound = ZSTD_compressBound(w->page.len);
    b2p_buf_clear(&w->packed);
    b2p_status st = b2p_buf_reserve(&w->packed, bound, err);
    if (st != B2P_OK)
        return st;
    size_t n = ZSTD_compress(w->packed.data, bound, *data, *len, w->opt.zstd_level ? w->opt.zstd_level : 3);
    if (ZSTD_isError(n))
        return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: zstd: %s", ZSTD_getErrorName(n));
    w->packed.len = n;
    *data = w->packed.data;
    *len = n;
    return B2P_OK;
}

static b2p_status write_chunk(b2p_pq_writer *w, pq_col *c, b2p_thrift *rg, uint64_t *unc_total,
                              uint64_t *comp_total, b2p_error *err) {
    b2p_status st = page_body(w, c, err);
    if (st != B2P_OK)
        return st;
    size_t raw_len = w->page.len;
    const void *data;
    size_t len;
    if ((st = compress_page(w, &data, &len, err)) != B2P_OK)
        return st;
    if (raw_len > INT32_MAX || len > INT32_MAX)
        return b2p_fail(err, B2P_ERR_UNSUPPORTED, "parquet: column '%s': a page of %zu bytes (row groups too large)",
                        c->name, raw_len);
    b2p_buf scratch = {0};
    b2p_buf_clear(&w->header);
    b2p_thrift t;
    b2p_thrift_init(&t, &w->header);
    b2p_thrift_i32(&t, 1, 0);                  /* DATA_PAGE */
    b2p_thrift_i32(&t, 2, (int32_t)raw_len);
    b2p_thrift_i32(&t, 3, (int32_t)len);
    b2p_thrift_struct_begin(&t, 5);            /* DataPageHeader */
    b2p_thrift_i32(&t, 1, (int32_t)c->levels.len);
    b2p_thrift_i32(&t, 2, 0);                  /* PLAIN */
    b2p_thrift_i32(&t, 3, 3);                  /* RLE */
    b2p_thrift_i32(&t, 4, 3);
    write_statistics(&t, 5, c, &scratch);
    b2p_thrift_struct_end(&t);
    b2p_thrift_stop(&t);
    if (t.failed) {
        b2p_buf_free(&scratch);
        return b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory");
    }
    uint64_t page_offset = w->offset;
    size_t header_len = w->header.len;
    if ((st = write_bytes(w, w->header.data, header_len, err)) == B2P_OK)
        st = write_bytes(w, data, len, err);
    if (st != B2P_OK) {
        b2p_buf_free(&scratch);
        return st;
    }
    uint64_t unc = header_len + raw_len, comp = header_len + len;
    *unc_total += unc;
    *comp_total += comp;

    b2p_thrift_struct_begin(rg, -1);           /* ColumnChunk */
    b2p_thrift_i64(rg, 2, (int64_t)page_offset);
    b2p_thrift_struct_begin(rg, 3);            /* ColumnMetaData */
    b2p_thrift_i32(rg, 1, (int32_t)c->def.physical);
    b2p_thrift_list(rg, 2, T_I32, 2);
    b2p_thrift_list_i32(rg, 0);
    b2p_thrift_list_i32(rg, 3);
    b2p_thrift_list(rg, 3, T_BINARY, 1);
    b2p_thrift_list_binary(rg, c->name, strlen(c->name));
    b2p_thrift_i32(rg, 4, (int32_t)w->opt.codec);
    b2p_thrift_i64(rg, 5, (int64_t)c->levels.len);
    b2p_thrift_i64(rg, 6, (int64_t)unc);
    b2p_thrift_i64(rg, 7, (int64_t)comp);
    b2p_thrift_i64(rg, 9, (int64_t)page_offset);
    write_statistics(rg, 12, c, &scratch);
    b2p_thrift_struct_end(rg);
    b2p_thrift_struct_end(rg);
    b2p_buf_free(&scratch);
    return B2P_OK;
}

static b2p_status flush_group(b2p_pq_writer *w, b2p_error *err) {
    if (w->group_rows == 0)
        return B2P_OK;
    b2p_thrift rg;
    b2p_thrift_init(&rg, &w->groups);
    uint64_t start = w->offset, unc = 0, comp = 0;
    b2p_thrift_list(&rg, 1, T_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        b2p_status st = write_chunk(w, &w->cols[i], &rg, &unc, &comp, err);
        if (st != B2P_OK)
            return st;
        reset_column(&w->cols[i]);
    }
    b2p_thrift_i64(&rg, 2, (int64_t)unc);
    b2p_thrift_i64(&rg, 3, (int64_t)w->group_rows);
    b2p_thrift_i64(&rg, 5, (int64_t)start);
    b2p_thrift_i64(&rg, 6, (int64_t)comp);
    b2p_thrift_stop(&rg);
    if (rg.failed)
        return b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory");
    w->ngroups++;
    w->group_rows = 0;
    return B2P_OK;
}

b2p_status b2p_pq_end_row(b2p_pq_writer *w, b2p_error *err) {
    for (size_t i = 0; i < w->ncols; i++) {
        if (!w->cols[i].filled)
            return b2p_fail(err, B2P_ERR_INTERNAL, "parquet: column '%s' has no value in row %llu", w->cols[i].name,
                            (unsigned long long)w->rows + 1);
        w->cols[i].filled = false;
    }
    w->rows++;
    w->group_rows++;
    return w->group_rows >= w->opt.row_group_rows ? flush_group(w, err) : B2P_OK;
}

/* ---- the footer ----------------------------------------------------------------------------- */

static int converted_type(const b2p_pq_column *c) {
    switch (c->logical) {
    case B2P_PQL_STRING: return 0;
    case B2P_PQL_DECIMAL: return 5;
    case B2P_PQL_DATE: return 6;
    case B2P_PQL_JSON: return 19;
    case B2P_PQL_TIME:
        return c->unit == B2P_PQ_MILLIS ? 7 : c->unit == B2P_PQ_MICROS ? 8 : -1;
    case B2P_PQL_TIMESTAMP:   /* the legacy types mean UTC-adjusted */
        return !c->utc ? -1 : c->unit == B2P_PQ_MILLIS ? 9 : c->unit == B2P_PQ_MICROS ? 10 : -1;
    case B2P_PQL_INTEGER: {
        int k = c->bit_width == 8 ? 0 : c->bit_width == 16 ? 1 : c->bit_width == 32 ? 2 : 3;
        return (c->is_signed ? 15 : 11) + k;
    }
    default: return -1;
    }
}

static void logical_type(b2p_thrift *t, const b2p_pq_column *c) {
    static const int16_t ids[] = {
        [B2P_PQL_STRING] = 1, [B2P_PQL_DECIMAL] = 5, [B2P_PQL_DATE] = 6, [B2P_PQL_TIME] = 7,
        [B2P_PQL_TIMESTAMP] = 8, [B2P_PQL_INTEGER] = 10, [B2P_PQL_JSON] = 12, [B2P_PQL_UUID] = 14,
    };
    if (c->logical == B2P_PQL_NONE)
        return;
    b2p_thrift_struct_begin(t, 10);
    b2p_thrift_struct_begin(t, ids[c->logical]);
    if (c->logical == B2P_PQL_DECIMAL) {
        b2p_thrift_i32(t, 1, c->scale);
        b2p_thrift_i32(t, 2, c->precision);
    } else if (c->logical == B2P_PQL_TIME || c->logical == B2P_PQL_TIMESTAMP) {
        b2p_thrift_bool(t, 1, c->utc);
        b2p_thrift_struct_begin(t, 2);
        b2p_thrift_struct_begin(t, (int16_t)c->unit);
        b2p_thrift_struct_end(t);
        b2p_thrift_struct_end(t);
    } else if (c->logical == B2P_PQL_INTEGER) {
        b2p_thrift_i8(t, 1, c->bit_width);
        b2p_thrift_bool(t, 2, c->is_signed);
    }
    b2p_thrift_struct_end(t);
    b2p_thrift_struct_end(t);
}

static void schema_element(b2p_thrift *t, const b2p_pq_column *c) {
    b2p_thrift_struct_begin(t, -1);
    b2p_thrift_i32(t, 1, (int32_t)c->physical);
    if (c->physical == B2P_PQ_FIXED)
        b2p_thrift_i32(t, 2, c->type_length);
    b2p_thrift_i32(t, 3, c->nullable ? 1 : 0);
    b2p_thrift_binary(t, 4, c->name, strlen(c->name));
    int ct = converted_type(c);
    if (ct >= 0)
        b2p_thrift_i32(t, 6, ct);
    if (c->logical == B2P_PQL_DECIMAL) {
        b2p_thrift_i32(t, 7, c->scale);
        b2p_thrift_i32(t, 8, c->precision);
    }
    logical_type(t, c);
    b2p_thrift_struct_end(t);
}

static b2p_status write_footer(b2p_pq_writer *w, b2p_error *err) {
    b2p_buf meta = {0};
    b2p_thrift t;
    b2p_thrift_init(&t, &meta);
    b2p_thrift_i32(&t, 1, 1);
    b2p_thrift_list(&t, 2, T_STRUCT, w->ncols + 1);
    b2p_thrift_struct_begin(&t, -1);           /* the root */
    b2p_thrift_binary(&t, 4, "schema", 6);
    b2p_thrift_i32(&t, 5, (int32_t)w->ncols);
    b2p_thrift_struct_end(&t);
    for (size_t i = 0; i < w->ncols; i++)
        schema_element(&t, &w->cols[i].def);
    b2p_thrift_i64(&t, 3, (int64_t)w->rows);
    b2p_thrift_list(&t, 4, T_STRUCT, w->ngroups);
    if (!t.failed && b2p_buf_append(&meta, w->groups.data ? w->groups.data : "", w->groups.len, NULL) != B2P_OK)
        t.failed = true;
    if (w->nkv) {
        b2p_thrift_list(&t, 5, T_STRUCT, w->nkv);
        for (size_t i = 0; i < w->nkv; i++) {
            b2p_thrift_struct_begin(&t, -1);
            b2p_thrift_binary(&t, 1, w->kv[i].key, strlen(w->kv[i].key));
            b2p_thrift_binary(&t, 2, w->kv[i].value, strlen(w->kv[i].value));
            b2p_thrift_struct_end(&t);
        }
    }
    b2p_thrift_binary(&t, 6, "bak2pg", 6);
    b2p_thrift_list(&t, 7, T_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {    /* TYPE_ORDER for every column */
        b2p_thrift_struct_begin(&t, -1);
        b2p_thrift_struct_begin(&t, 1);
        b2p_thrift_struct_end(&t);
        b2p_thrift_struct_end(&t);
    }
    b2p_thrift_stop(&t);
    b2p_status st = B2P_OK;
    if (t.failed || meta.len > UINT32_MAX)
        st = b2p_fail(err, B2P_ERR_NOMEM, "parquet: out of memory writing the footer");
    uint8_t tail[8];
    put_le(tail, (uint32_t)meta.len, 4);
    memcpy(tail + 4, "PAR1", 4);
    if (st == B2P_OK)
        st = write_bytes(w, meta.data, meta.len, err);
    if (st == B2P_OK)
        st = write_bytes(w, tail, 8, err);
    b2p_buf_free(&meta);
    return st;
}

b2p_status b2p_pq_close(b2p_pq_writer *w, b2p_error *err) {
    b2p_status st = flush_group(w, err);
    if (st == B2P_OK)
        st = write_footer(w, err);
    if (st == B2P_OK && fflush(w->f) != 0)
        st = b2p_fail(err, B2P_ERR_IO, "parquet: cannot write the file");
    free_writer(w);
    return st;
}
