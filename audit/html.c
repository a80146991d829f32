/* The audit's HTML report: one file, inline CSS and SVG drawn here, no scripts. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit_int.h"

typedef struct page {
    b2p_buf *out;
    b2p_error *err;
    b2p_status st;
} page;

/* Markup of our own (never backup text: that goes through text()). */
static void raw(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void raw(page *p, const char *fmt, ...) {
    if (p->st) return;
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    p->st = b2p_buf_puts(p->out, tmp, p->err);
}

static void text(page *p, const char *s) {
    if (!p->st && s) p->st = b2p_escape_html(p->out, s, strlen(s), p->err);
}

static void table_name(page *p, const b2p_cat_table *t) {
    text(p, t->schema);
    raw(p, ".");
    text(p, t->name);
}

static const char CSS[] =
    "body{font:14px/1.4 sans-serif;margin:2em;color:#222;background:#fff}"
    "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;"
    "vertical-align:top}th{background:#eee}td.n{text-align:right}code{font-size:12px}"
    ".none{color:#070}.warn{color:#a40}code.s{white-space:pre;background:#eef}";
/* samples: white-space kept and shaded, so that a trailing space (the padding findings) shows */

static void source_section(page *p, const b2p_audit_source *s) {
    raw(p, "<h2>Source</h2><table>");
    raw(p, "<tr><th>server</th><td>");
    text(p, s->server);
    raw(p, "</td></tr><tr><th>database</th><td>");
    text(p, s->database);
    raw(p, "</td></tr><tr><th>version</th><td>");
    text(p, s->version);
    raw(p, "</td></tr><tr><th>backup finished</th><td>");
    text(p, s->backup_date);
    raw(p, "</td></tr><tr><th>database created</th><td>");
    text(p, s->created);
    raw(p, "</td></tr></table><table><tr><th>file</th><th>sha256</th></tr>");
    for (size_t i = 0; i < s->nfiles; i++) {
        raw(p, "<tr><td>");
        text(p, s->paths[i]);
        raw(p, "</td><td><code>");
        text(p, s->sha256 ? s->sha256[i] : "");
        raw(p, "</code></td></tr>");
    }
    raw(p, "</table>");
}

static void findings_section(page *p, const b2p_audit *a) {
    raw(p, "<h2>Findings</h2>");
    if (!a->nfindings) {
        raw(p, "<p class=\"none\">No findings.</p>");
        return;
    }
    raw(p, "<table><tr><th>kind</th><th>table</th><th>column or key</th><th>count</th><th>what</th>"
           "<th>samples</th></tr>");
    for (size_t i = 0; i < a->nfindings; i++) {
        const b2p_finding *f = &a->findings[i];
        raw(p, "<tr><td class=\"warn\">%s</td><td>", b2p_finding_name(f->kind));
        table_name(p, f->table);
        raw(p, "</td><td>");
        text(p, f->subject);
        raw(p, "</td><td class=\"n\">%llu</td><td>", (unsigned long long)f->count);
        text(p, f->detail);
        raw(p, "</td><td>");
        for (size_t k = 0; k < f->nsamples; k++) {
            raw(p, "%s<code class=\"s\">", k ? "<br>" : "");
            text(p, f->samples[k]);
            raw(p, "</code>");
        }
        raw(p, "</td></tr>");
    }
    raw(p, "</table>");
}

/* Rows per table, bars on a log10 scale (a table of 10 rows and one of 10 million both show). */
static void rows_chart(page *p, const b2p_audit *a) {
    raw(p, "<h2>Rows per table (log scale)</h2>");
    uint64_t max = 1;
    for (size_t i = 0; i < a->ntables; i++)
        if (a->tables[i].rows > max) max = a->tables[i].rows;
    double decades = ceil(log10((double)max + 1));
    if (decades < 1) decades = 1;
    const int label_w = 260, bar_w = 480, row_h = 18;
    int h = (int)a->ntables * row_h + 30;
    raw(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">", label_w + bar_w + 90, h);
    for (int d = 0; d <= (int)decades; d++) {
        int x = label_w + (int)(bar_w * d / decades);
        raw(p, "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
               "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">1e%d</text>",
            x, x, h - 16, x, h - 4, d);
    }
    for (size_t i = 0; i < a->ntables; i++) {
        const b2p_audit_table *t = &a->tables[i];
        int y = (int)i * row_h;
        int w = (int)(bar_w * log10((double)t->rows + 1) / decades);
        raw(p, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">", label_w - 6, y + 13);
        table_name(p, t->table);
        raw(p, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#4a7ebb\"/>"
               "<text x=\"%d\" y=\"%d\" font-size=\"11\">%llu</text>",
            label_w, y + 3, w, row_h - 5, label_w + w + 4, y + 13, (unsigned long long)t->rows);
    }
    raw(p, "</svg>");
}

/* Null % per column: one row of cells per table, white (0%) to red (100%). */
static void null_heatmap(page *p, const b2p_audit *a) {
    raw(p, "<h2>NULLs per column (heat map)</h2>");
    size_t maxcols = 1;
    for (size_t i = 0; i < a->ntables; i++)
        if (a->tables[i].ncolumns > maxcols) maxcols = a->tables[i].ncolumns;
    if (maxcols > 60) maxcols = 60;
    const int label_w = 260, cell = 14;
    raw(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">",
        label_w + (int)maxcols * cell + 10, (int)a->ntables * cell + 10);
    for (size_t i = 0; i < a->ntables; i++) {
        const b2p_audit_table *t = &a->tables[i];
        int y = (int)i * cell;
        raw(p, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">", label_w - 6, y + 11);
        table_name(p, t->table);
        raw(p, "</text>");
        for (size_t j = 0; j < t->ncolumns && j < maxcols; j++) {
            const b2p_audit_column *c = &t->columns[j];
            uint64_t all = c->nulls + c->nonnull;
            double pct = all ? 100.0 * (double)c->nulls / (double)all : 0;
            int shade = 255 - (int)(pct * 2.55);
            raw(p, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(255,%d,%d)\" stroke=\"#ccc\">"
                   "<title>",
                label_w + (int)j * cell, y, cell - 1, cell - 1, shade, shade);
            text(p, c->col->name);
            raw(p, ": %.1f%% NULL</title></rect>", pct);
        }
    }
    raw(p, "</svg>");
}

static void columns_section(page *p, const b2p_audit *a) {
    raw(p, "<h2>Tables and columns</h2><p>Distinct counts are HyperLogLog estimates (standard error 1.6%%). "
           "Values as PostgreSQL's COPY text of them.</p>");
    for (size_t i = 0; i < a->ntables; i++) {
        const b2p_audit_table *t = &a->tables[i];
        raw(p, "<h3>");
        table_name(p, t->table);
        raw(p, "</h3><p>%llu rows, %llu pages, %llu bytes as COPY text", (unsigned long long)t->rows,
            (unsigned long long)t->pages, (unsigned long long)t->bytes);
        if (t->skipped) {
            raw(p, "; rows not read: ");
            text(p, t->skipped);
        }
        raw(p, "</p><table><tr><th>column</th><th>SQL Server</th><th>PostgreSQL</th><th>NULL</th><th>NULL %%</th>"
               "<th>distinct</th><th>min</th><th>max</th><th>longest</th></tr>");
        for (size_t j = 0; j < t->ncolumns; j++) {
            const b2p_audit_column *c = &t->columns[j];
            char pg[128];
            uint64_t all = c->nulls + c->nonnull;
            raw(p, "<tr><td>");
            text(p, c->col->name);
            raw(p, "</td><td>");
            text(p, c->col->type_name);
            raw(p, "</td><td>");
            text(p, b2p_pg_type(c->col, pg, sizeof pg));
            raw(p, "</td><td class=\"n\">%llu</td><td class=\"n\">%.1f</td><td class=\"n\">%llu</td><td><code>",
                (unsigned long long)c->nulls, all ? 100.0 * (double)c->nulls / (double)all : 0.0,
                (unsigned long long)b2p_audit_distinct(c));
            if (c->min.len && !p->st) p->st = b2p_escape_html(p->out, c->min.data, c->min.len, p->err);
            raw(p, "</code></td><td><code>");
            if (c->max.len && !p->st) p->st = b2p_escape_html(p->out, c->max.data, c->max.len, p->err);
            raw(p, "</code></td><td class=\"n\">%zu</td></tr>", c->longest);
        }
        raw(p, "</table>");
    }
}

b2p_status b2p_audit_html(const b2p_audit *a, const b2p_audit_source *src, b2p_buf *out, b2p_error *err) {
    page p = {.out = out, .err = err};
    raw(&p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bak2pg audit: ");
    text(&p, src->database);
    raw(&p, "</title><style>%s</style></head><body><h1>bak2pg audit: ", CSS);
    text(&p, src->database);
    raw(&p, "</h1>");
    source_section(&p, src);
    findings_section(&p, a);
    rows_chart(&p, a);
    null_heatmap(&p, a);
    columns_section(&p, a);
    raw(&p, "<p>Rules: see <code>bak2pg audit --help</code>.</p></body></html>\n");
    return p.st;
}
