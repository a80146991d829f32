/* Exporting a table's rows as COPY text, CSV or JSON lines (see emit.h).
 * Each partition of the table is read through its in-row allocation unit (heap: IAM order;
 * clustered index: leaf order), each value decoded to its canonical text (pages/value.h), then
 * escaped for the output format. Output goes to the sink in pieces of about 64 KiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

enum {
    FLUSH_AT = 64 * 1024,
    MAX_COLUMNS = 4096,          /* SQL Server allows 1024 (30,000 with sparse column sets) */
    RSCOL_DROPPED = 0x2,
    RSCOL_FILESTREAM = 0x20,
    RSCOL_SPARSE = 0x100,
    IX_CLUSTERED_COLUMNSTORE = 5,
    IX_HASH = 7,                 /* memory-optimized tables only */
    XT_BIT = 104,
    XT_XML = 241,
};

typedef struct exporter {
    const b2p_cat_table *t;
    const b2p_export_options *opt;
    b2p_sink_fn sink;
    void *sink_ctx;
    b2p_export_stats *stats;
    b2p_error *err;
    size_t ncols;
    const b2p_cat_column **cols;
    b2p_type *types;
    bool *direct;                /* per column: its text goes into the line as decoded (below) */
    b2p_value_ctx vcx;
    b2p_buf line, text;
} exporter;

/* Storage whose rows are not in FixedVar / CD records of the data files' pages: the table is
 * reported by name (the caller adds it) and the other tables still come out. */
const char *b2p_export_unsupported(const b2p_cat_table *t) {
    if (t->is_memory_optimized)
        return "memory-optimized (In-Memory OLTP) table: its rows live in checkpoint files, not in data "
               "pages (not decoded)";
    for (size_t i = 0; i < t->npartitions; i++)
        if (t->partitions[i].compression > 2) return "columnstore storage (not decoded)";
    for (size_t i = 0; i < t->nindexes; i++) {
        if (t->indexes[i].type == IX_CLUSTERED_COLUMNSTORE) return "clustered columnstore storage (not decoded)";
        if (t->indexes[i].type == IX_HASH)
            return "memory-optimized (In-Memory OLTP) table (a hash index): its rows are not in data pages "
                   "(not decoded)";
    }
    bool filestream = t->has_filestream;
    for (size_t i = 0; i < t->ncolumns && !filestream; i++) filestream = t->columns[i].is_filestream;
    for (size_t i = 0; i < t->npartitions && !filestream; i++)
        for (size_t k = 0; k < t->partitions[i].nrscols && !filestream; k++)
            filestream = (t->partitions[i].rscols[k].status & RSCOL_FILESTREAM) != 0;
    if (filestream)
        return "FILESTREAM column: its values live in the FILESTREAM container, not in data pages (not "
               "decoded)";
    return NULL;
}

/* A sparse column set: an xml column computed from the sparse columns, not stored (no sysrscols
 * row, pages.md 5.4). The catalog has no flag for it (syscolpars.status 0x2000000 is not
 * carried): it is recognised as an xml column without storage in a table with sparse columns. */
static bool is_column_set(const b2p_cat_table *t, const b2p_cat_column *c) {
    if (c->xtype != XT_XML || c->is_computed || t->npartitions == 0) return false;
    bool sparse = false;
    for (size_t i = 0; i < t->ncolumns && !sparse; i++) sparse = t->columns[i].is_sparse;
    if (!sparse) return false;
    const b2p_cat_partition *p = &t->partitions[0];
    for (size_t k = 0; k < p->nrscols; k++)
        if ((int32_t)p->rscols[k].column_id == c->column_id) return false;
    return true;
}

/* Computed columns are left out, as PostgreSQL's COPY TO leaves out generated ones; so is a
 * sparse column set: PostgreSQL has no column sets, and the sparse columns it renders as XML
 * are exported one by one. */
size_t b2p_export_columns(const b2p_cat_table *t, const b2p_cat_column **out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < t->ncolumns && n < max; i++)
        if (!t->columns[i].is_computed && !is_column_set(t, &t->columns[i])) out[n++] = &t->columns[i];
    return n;
}

static bool is_number_type(uint8_t xt) {
    switch (xt) {
    case 48: case 52: case 56: case 127:   /* tinyint smallint int bigint */
    case 106: case 108: case 60: case 122: /* decimal numeric money smallmoney */
    case 59: case 62:                      /* real float */
        return true;
    default:
        return false;
    }
}

/* Types whose text is made of digits, signs, '.', ':', ' ', letters of "tf" or of a uuid:
 * never empty, never a character any output format escapes or quotes, never NUL. */
static bool is_plain_text_type(uint8_t xt) {
    switch (xt) {
    case 40: case 41: case 42: case 43:    /* date time datetime2 datetimeoffset */
    case 58: case 61:                      /* smalldatetime datetime */
    case 36: case XT_BIT:                  /* uniqueidentifier bit */
        return true;
    default:
        return is_number_type(xt);
    }
}

/* Whether a column's decoded text can be written into the line as it is, skipping the text
 * buffer and the escaping pass: COPY and CSV for the plain types; JSON lines for numbers,
 * which it writes bare (bit becomes true/false there). */
static bool is_direct(const b2p_export_options *opt, uint8_t xt) {
    if (opt->format == B2P_FORMAT_JSONL) return is_number_type(xt);
    return is_plain_text_type(xt);
}

/* ---- escaping -------------------------------------------------------------------------- */

static b2p_status csv_escape(b2p_buf *out, const char *s, size_t n, b2p_error *err) {
    bool quote = n == 0 || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) return b2p_buf_append(out, s, n, err);
    b2p_status st = b2p_buf_append(out, "\"", 1, err);
    for (size_t i = 0; i < n && !st; i++)
        st = s[i] == '"' ? b2p_buf_append(out, "\"\"", 2, err) : b2p_buf_append(out, s + i, 1, err);
    return st ? st : b2p_buf_append(out, "\"", 1, err);
}

static b2p_status json_escape(b2p_buf *out, const char *s, size_t n, b2p_error *err) {
    b2p_status st = b2p_buf_append(out, "\"", 1, err);
    for (size_t i = 0; i < n && !st; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            st = b2p_buf_append(out, esc, 2, err);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            st = b2p_buf_append(out, esc, 6, err);
        } else {
            st = b2p_buf_append(out, s + i, 1, err);
        }
    }
    return st ? st : b2p_buf_append(out, "\"", 1, err);
}

/* ---- one row --------------------------------------------------------------------------- */

/* Applies the NUL policy to the decoded text of column i. */
static b2p_status handle_nul(exporter *x, size_t i, const b2p_row_where *w) {
    if (x->opt->nul_policy == B2P_NUL_ERROR)
        return b2p_fail(x->err, B2P_ERR_UNSUPPORTED,
                        "table %s.%s column %s, row at page %u:%u slot %u: the text holds NUL "
                        "characters, which PostgreSQL cannot store (--nul strip or --nul replace)",
                        x->t->schema, x->t->name, x->cols[i]->name, w->file, w->page, w->slot);
    b2p_buf clean = {0};
    b2p_status st = B2P_OK;
    for (size_t k = 0; k < x->text.len && !st; k++) {
        if (x->text.data[k] != 0) st = b2p_buf_append(&clean, x->text.data + k, 1, x->err);
        else if (x->opt->nul_policy == B2P_NUL_REPLACE) st = b2p_buf_append(&clean, "\xEF\xBF\xBD", 3, x->err);
    }
    if (!st) {
        b2p_buf_clear(&x->text);
        st = b2p_buf_append(&x->text, clean.data ? clean.data : "", clean.len, x->err);
    }
    b2p_buf_free(&clean);
    x->stats->nul_values++;
    return st;
}

static b2p_status put_null(exporter *x) {
    switch (x->opt->format) {
    case B2P_FORMAT_COPY: return b2p_buf_append(&x->line, "\\N", 2, x->err);
    case B2P_FORMAT_CSV: return B2P_OK;
    case B2P_FORMAT_JSONL: return b2p_buf_append(&x->line, "null", 4, x->err);
    }
    return B2P_OK;
}

static b2p_status put_value(exporter *x, size_t i) {
    const char *s = x->text.data ? x->text.data : "";
    size_t n = x->text.len;
    switch (x->opt->format) {
    case B2P_FORMAT_COPY: return b2p_copy_escape(&x->line, s, n, x->err);
    case B2P_FORMAT_CSV: return csv_escape(&x->line, s, n, x->err);
    case B2P_FORMAT_JSONL:
        if (x->types[i].xtype == XT_BIT) return b2p_buf_puts(&x->line, s[0] == 't' ? "true" : "false", x->err);
        if (is_number_type(x->types[i].xtype)) return b2p_buf_append(&x->line, s, n, x->err);
        return json_escape(&x->line, s, n, x->err);
    }
    return B2P_OK;
}

static b2p_status begin_field(exporter *x, size_t i) {
    if (x->opt->format == B2P_FORMAT_JSONL) {
        b2p_status st = b2p_buf_append(&x->line, i ? "," : "{", 1, x->err);
        if (!st) st = json_escape(&x->line, x->cols[i]->name, strlen(x->cols[i]->name), x->err);
        return st ? st : b2p_buf_append(&x->line, ":", 1, x->err);
    }
    return i ? b2p_buf_append(&x->line, x->opt->format == B2P_FORMAT_CSV ? "," : "\t", 1, x->err) : B2P_OK;
}

static b2p_status flush_line(exporter *x, bool force) {
    if (x->line.len == 0 || (!force && x->line.len < FLUSH_AT)) return B2P_OK;
    if (!x->sink(x->sink_ctx, x->line.data, x->line.len))
        return b2p_fail(x->err, B2P_ERR_IO, "table %s.%s: the output could not be written", x->t->schema, x->t->name);
    x->stats->bytes += x->line.len;
    b2p_buf_clear(&x->line);
    return B2P_OK;
}

/* Prefixes a value decoding error with the table, column and row. */
static b2p_status value_failed(exporter *x, size_t i, const b2p_row_where *w, b2p_status st) {
    char inner[sizeof x->err->msg];
    snprintf(inner, sizeof inner, "%s", x->err->msg);
    return b2p_fail(x->err, st, "table %s.%s column %s, row at page %u:%u slot %u: %s", x->t->schema,
                    x->t->name, x->cols[i]->name, w->file, w->page, w->slot, inner);
}

static b2p_status render_row(exporter *x, const b2p_cell *cells, const b2p_row_where *w) {
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < x->ncols && !st; i++) {
        st = begin_field(x, i);
        if (st) break;
        if (cells[i].is_null) {
            st = put_null(x);
            continue;
        }
        if (x->direct[i]) {
            st = b2p_value_text(&x->vcx, &x->types[i], cells[i].bytes, cells[i].len, &x->line, x->err);
            if (st) return value_failed(x, i, w, st);
            continue;
        }
        b2p_buf_clear(&x->text);
        st = b2p_value_text(&x->vcx, &x->types[i], cells[i].bytes, cells[i].len, &x->text, x->err);
        if (st) return value_failed(x, i, w, st);
        if (x->vcx.flags & B2P_VALUE_REPLACED) x->stats->replaced_values++;
        if ((x->vcx.flags & B2P_VALUE_HAS_NUL) && (st = handle_nul(x, i, w))) break;
        st = put_value(x, i);
    }
    if (!st) st = b2p_buf_append(&x->line, x->opt->format == B2P_FORMAT_JSONL ? "}\n" : "\n",
                                 x->opt->format == B2P_FORMAT_JSONL ? 2 : 1, x->err);
    if (!st) st = flush_line(x, false);
    if (!st) x->stats->rows++;
    return st;
}

static int on_row(void *ctx, const b2p_cell *cells, size_t ncells, const b2p_row_where *w) {
    exporter *x = ctx;
    (void)ncells;
    return (int)render_row(x, cells, w);
}

/* ---- partitions ------------------------------------------------------------------------- */

static const b2p_cat_au *in_row_au(const b2p_cat_partition *p) {
    for (size_t i = 0; i < p->naus; i++)
        if (p->aus[i].type == B2P_AU_IN_ROW) return &p->aus[i];
    return NULL;
}

/* The layout of each exported column in partition p. */
static b2p_status partition_layouts(exporter *x, const b2p_cat_partition *p, b2p_column_layout *out) {
    for (size_t i = 0; i < x->ncols; i++) {
        const b2p_cat_rscol *found = NULL;
        for (size_t k = 0; k < p->nrscols && !found; k++)
            if ((int32_t)p->rscols[k].column_id == x->cols[i]->column_id && !(p->rscols[k].status & RSCOL_DROPPED))
                found = &p->rscols[k];
        if (!found)
            return b2p_fail(x->err, B2P_ERR_CORRUPT, "table %s.%s column %s: partition %d has no storage for it",
                            x->t->schema, x->t->name, x->cols[i]->name, p->partition_number);
        out[i] = found->layout;
        out[i].ti_len = found->max_length; /* compressed values are rebuilt to full length */
        out[i].is_sparse = (found->status & RSCOL_SPARSE) != 0 || x->cols[i]->is_sparse;
        out[i].column_id = (uint16_t)x->cols[i]->column_id;
        /* a column added online: rows written before it existed take its stored default */
        out[i].has_missing_default = found->has_default;
        out[i].missing_default = found->default_value;
        out[i].missing_default_len = found->default_len;
    }
    return B2P_OK;
}

static b2p_status export_partition(exporter *x, b2p_pages *src, const b2p_cat_partition *p) {
    const b2p_cat_au *au = in_row_au(p);
    if (!au) return B2P_OK; /* no in-row data: an empty partition */
    b2p_column_layout *layouts = calloc(x->ncols ? x->ncols : 1, sizeof *layouts);
    if (!layouts) return b2p_fail(x->err, B2P_ERR_NOMEM, "out of memory");
    b2p_status st = partition_layouts(x, p, layouts);
    b2p_rowset_ref rs = {.in_row = au->ref, .method = p->index_id == 0 ? B2P_SCAN_IAM : B2P_SCAN_LEAF_CHAIN,
                         .ncols = x->ncols, .cols = layouts, .compression = p->compression};
    b2p_row_stats rst = {0};
    if (!st) st = b2p_rows_scan(src, &rs, on_row, x, &rst, x->err);
    if (b2p_pages_incomplete(src)) x->stats->missing_pages += rst.scan.missing;
    x->stats->ghosts += rst.ghosts;
    x->stats->forwarding_stubs += rst.forwarding_stubs;
    free(layouts);
    return st;
}

static b2p_status init_types(exporter *x) {
    x->types = calloc(x->ncols ? x->ncols : 1, sizeof *x->types);
    x->direct = calloc(x->ncols ? x->ncols : 1, sizeof *x->direct);
    if (!x->types || !x->direct) return b2p_fail(x->err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < x->ncols; i++) {
        const b2p_cat_column *c = x->cols[i];
        x->types[i] = (b2p_type){.xtype = c->xtype, .utype = (uint16_t)c->user_type_id, .max_length = c->max_length,
                                 .precision = c->precision, .scale = c->scale, .collation = c->collation_id};
        /* --cast ...=bytea: the stored bytes (rebuilt to full length as for any value) rendered as
         * varbinary is, \x and hex; no code page, no NUL policy */
        if (b2p_cast_is_bytes(c)) x->types[i] = (b2p_type){.xtype = B2P_XT_VARBINARY, .max_length = c->max_length};
        x->direct[i] = is_direct(x->opt, x->types[i].xtype);
    }
    return B2P_OK;
}

static b2p_status write_csv_header(exporter *x) {
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < x->ncols && !st; i++) {
        if (i) st = b2p_buf_append(&x->line, ",", 1, x->err);
        if (!st) st = csv_escape(&x->line, x->cols[i]->name, strlen(x->cols[i]->name), x->err);
    }
    return st ? st : b2p_buf_append(&x->line, "\n", 1, x->err);
}

b2p_status b2p_export_table(b2p_pages *src, const b2p_catalog *cat, const b2p_cat_table *t,
                            const b2p_export_options *opt, b2p_sink_fn sink, void *sink_ctx,
                            b2p_export_stats *stats, b2p_error *err) {
    b2p_export_stats local = {0};
    exporter x = {.t = t, .opt = opt, .sink = sink, .sink_ctx = sink_ctx, .stats = stats ? stats : &local, .err = err};
    *x.stats = (b2p_export_stats){.expected_rows = b2p_table_rows(t)};
    const char *why = b2p_export_unsupported(t);
    if (why) return b2p_fail(err, B2P_ERR_UNSUPPORTED, "table %s.%s: %s", t->schema, t->name, why);
    x.cols = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *x.cols);
    if (!x.cols) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    x.ncols = b2p_export_columns(t, x.cols, t->ncolumns < MAX_COLUMNS ? t->ncolumns : MAX_COLUMNS);
    b2p_value_ctx_init(&x.vcx, cat->collation_id);
    x.vcx.options = opt->spatial_wkt ? B2P_VALUE_SPATIAL_WKT : 0;
    b2p_status st = init_types(&x);
    if (!st && opt->format == B2P_FORMAT_CSV) st = write_csv_header(&x);
    for (size_t i = 0; i < t->npartitions && !st; i++) st = export_partition(&x, src, &t->partitions[i]);
    if (!st) st = flush_line(&x, true);
    b2p_value_ctx_free(&x.vcx);
    b2p_buf_free(&x.line);
    b2p_buf_free(&x.text);
    free(x.types);
    free(x.direct);
    free(x.cols);
    if (st) b2p_error_name_file(err, b2p_pages_path(src));
    return st;
}
