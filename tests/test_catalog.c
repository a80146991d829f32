/* The page layer and the catalog:
 *   - pages/: header, slot array and record parsing reject damaged input with B2P_ERR_CORRUPT
 *     naming the page and slot (synthetic pages);
 *   - catalog/: every backup that truth/MATCHES.tsv pairs with a truth database
 *     (likely-same-data) yields the tables, columns, types, nullability, identity, keys,
 *     foreign keys, checks and indexes of truth/<db>/expected/schema.json;
 *   - every full backup of MANIFEST.tsv (stripes together, differentials over their full)
 *     loads its catalog and lists its user tables with partition row counts, or fails with the
 *     documented status. A summary table per backup is printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


#include <cmocka.h>

#include "catalog/catalog.h"
#include "pages/pages.h"
#include "tests/support/fixtures.h"
#include "tests/support/minijson.h"
#include "tests/support/mtf_writer.h"

/* ---- pages/: synthetic pages ------------------------------------------------------------ */

/* A data page 1:100 with one record "10 00 08 00 | 2a 00 00 00 | 02 00 | 00 | ..." */
static void make_page(uint8_t *page, uint16_t nslots) {
    memset(page, 0, B2P_PAGE_SIZE);
    page[0] = 1;
    page[1] = B2P_PAGE_DATA;
    b2p_put_le16(page + 22, nslots);
    b2p_put_le16(page + 30, 200);
    b2p_put_le32(page + 32, 100);
    b2p_put_le16(page + 36, 1);
    /* record at 96: status A 0x30 (null bitmap + variable columns), fixed end 8, int 42,
     * 3 columns, bitmap 0b100 (column 3 NULL), 1 variable column ending at 21: "abc" */
    static const uint8_t rec[] = {0x30, 0x00, 0x08, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x03, 0x00,
                                  0x04, 0x01, 0x00, 0x12, 0x00, 'a', 'b', 'c'};
    memcpy(page + 96, rec, sizeof rec);
    b2p_put_le16(page + B2P_PAGE_SIZE - 2, 96);
}

static void test_page_header_and_record(void **state) {
    (void)state;
    uint8_t page[B2P_PAGE_SIZE];
    make_page(page, 1);
    b2p_page_header h;
    b2p_error err = {0};
    assert_int_equal(b2p_page_header_parse(page, 1, 100, &h, &err), B2P_OK);
    assert_int_equal(h.type, B2P_PAGE_DATA);
    assert_int_equal(h.slot_count, 1);
    b2p_record r;
    assert_int_equal(b2p_page_record(page, &h, 0, &r, &err), B2P_OK);
    assert_true(b2p_record_is_live_row(&r));
    assert_int_equal(r.ncols, 3);
    assert_int_equal(r.nvar, 1);
    assert_int_equal(r.length, 18);
    b2p_column_layout id = {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4};
    b2p_column_layout name = {.leaf_offset = -1, .null_bit = 2, .xtype = 167};
    b2p_column_layout gone = {.leaf_offset = -2, .null_bit = 3, .xtype = 167};
    b2p_column_layout later = {.leaf_offset = -3, .null_bit = 7, .xtype = 167};
    b2p_column_bytes cb;
    assert_int_equal(b2p_record_column(&r, &id, &cb, &err), B2P_OK);
    assert_false(cb.is_null);
    assert_int_equal(b2p_le32(cb.bytes), 42);
    assert_int_equal(b2p_record_column(&r, &name, &cb, &err), B2P_OK);
    assert_int_equal(cb.len, 3);
    assert_memory_equal(cb.bytes, "abc", 3);
    assert_int_equal(b2p_record_column(&r, &gone, &cb, &err), B2P_OK);
    assert_true(cb.is_null);
    assert_int_equal(b2p_record_column(&r, &later, &cb, &err), B2P_OK);
    assert_true(cb.is_null); /* beyond the record's column count */
    b2p_column_layout outside = {.leaf_offset = 6, .null_bit = 1, .xtype = 56, .fixed_len = 4};
    assert_int_equal(b2p_record_column(&r, &outside, &cb, &err), B2P_ERR_CORRUPT);
}

static void expect_corrupt(uint8_t *page, const char *needle) {
    b2p_page_header h;
    b2p_error err = {0};
    b2p_status st = b2p_page_header_parse(page, 1, 100, &h, &err);
    if (st == B2P_OK) {
        b2p_record r;
        st = b2p_page_record(page, &h, 0, &r, &err);
    }
    assert_int_equal(st, B2P_ERR_CORRUPT);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_damaged_pages(void **state) {
    (void)state;
    uint8_t page[B2P_PAGE_SIZE];
    make_page(page, 1);
    b2p_put_le16(page + 22, 5000); /* more slots than fit */
    expect_corrupt(page, "page 1:100");
    make_page(page, 1);
    b2p_put_le32(page + 32, 101); /* the page says it is another page */
    expect_corrupt(page, "page 1:101");
    make_page(page, 1);
    b2p_put_le16(page + B2P_PAGE_SIZE - 2, 8190); /* slot points into the slot array */
    expect_corrupt(page, "page 1:100 slot 0");
    make_page(page, 1);
    b2p_put_le16(page + 96 + 13, 9000); /* variable column ends beyond the page */
    expect_corrupt(page, "page 1:100 slot 0: variable column 0");
    make_page(page, 1);
    b2p_put_le16(page + 96 + 2, 8100); /* fixed area runs into the slot array */
    expect_corrupt(page, "slot 0");
    make_page(page, 1);
    b2p_put_le16(page + 96 + 8, 0xFFFF); /* null bitmap of 65535 columns */
    expect_corrupt(page, "slot 0");
    make_page(page, 1);
    b2p_put_le16(page + B2P_PAGE_SIZE - 2, 0); /* an emptied slot is not damage */
    b2p_page_header h;
    b2p_record r;
    b2p_error err = {0};
    assert_int_equal(b2p_page_header_parse(page, 1, 100, &h, &err), B2P_OK);
    assert_int_equal(b2p_page_record(page, &h, 0, &r, &err), B2P_ERR_NOT_FOUND);
}

/* Every byte value at every header/record position: never a crash, only OK or an error. */
static void test_mutated_records(void **state) {
    (void)state;
    uint8_t page[B2P_PAGE_SIZE];
    for (size_t pos = 0; pos < 96 + 18; pos++) {
        for (int v = 0; v < 256; v += 7) {
            make_page(page, 1);
            page[pos] = (uint8_t)v;
            b2p_page_header h;
            b2p_error err = {0};
            if (b2p_page_header_parse(page, 1, 100, &h, &err)) continue;
            for (uint16_t s = 0; s < h.slot_count && s < 4; s++) {
                b2p_record r;
                if (b2p_page_record(page, &h, s, &r, &err)) continue;
                assert_true(r.length <= r.avail);
                b2p_column_layout c = {.leaf_offset = -1, .null_bit = 2};
                b2p_column_bytes cb;
                if (b2p_record_column(&r, &c, &cb, &err) == B2P_OK && !cb.is_null)
                    assert_true(cb.bytes + cb.len <= r.data + r.avail);
            }
        }
    }
}

/* ---- opening backups ------------------------------------------------------------------- */

typedef struct loaded {
    b2p_backup *bk;
    b2p_pages *src;
    b2p_catalog *cat;
    b2p_error err;
    b2p_status st;
} loaded;

/* Opens the backup made of these files and loads its catalog; l->st and l->err say how it went.
 * Fixture sets may lack a stripe (chinook): their catalogs are read from what is there. */
static void load_paths(loaded *l, const char *const *paths, size_t n, bool allow_missing_stripes) {
    memset(l, 0, sizeof *l);
    b2p_open_options oo = {.allow_missing_stripes = allow_missing_stripes};
    b2p_pages_options po = {.allow_missing_stripes = allow_missing_stripes};
    l->st = b2p_backup_open(&l->bk, paths, n, &oo, &l->err);
    if (!l->st) l->st = b2p_pages_open(&l->src, l->bk, &po, &l->err);
    if (!l->st) l->st = b2p_catalog_load(l->src, &l->cat, &l->err);
}

static void load(loaded *l, const char *const *names, size_t n) {
    char *paths[4] = {0};
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) paths[i] = strdup(fixture_path(names[i]));
    load_paths(l, (const char *const *)paths, n, true);
    for (size_t i = 0; i < n; i++) free(paths[i]);
}

static void unload(loaded *l) {
    b2p_catalog_free(l->cat);
    b2p_pages_free(l->src);
    b2p_backup_free(l->bk);
}

/* ---- comparing with truth ---------------------------------------------------------------- */

typedef struct tally {
    unsigned tables, tables_ok, columns, columns_ok, mismatches, printed;
    unsigned keys, fks, checks, indexes, rowcounts, rowcounts_ok;
} tally;

#define MAX_PRINTED 25

static void mismatch(tally *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(tally *t, const char *fmt, ...) {
    t->mismatches++;
    if (t->printed++ >= MAX_PRINTED) return;
    va_list ap;
    va_start(ap, fmt);
    printf("    mismatch: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* Expression text as SQL Server normalises it vs as the script wrote it: compare without
 * brackets, parentheses, spaces and case. */
static void squash(const char *s, char *out, size_t len) {
    size_t o = 0;
    for (; s && *s && o + 1 < len; s++)
        if (!strchr("[]() \t\r\n", *s)) out[o++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    out[o] = 0;
}

static char *find_ci(char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n)) return hay;
    return NULL;
}

/* Replaces every case-insensitive occurrence of `from` in s (in place, s has room for len). */
static void replace_all(char *s, size_t len, const char *from, const char *to) {
    size_t nf = strlen(from), nt = strlen(to);
    for (char *p = s; (p = find_ci(p, from)) != NULL; p += nt) {
        if (strlen(s) - nf + nt + 1 > len) return;
        memmove(p + nt, p + nf, strlen(p + nf) + 1);
        memcpy(p, to, nt);
    }
}

/* The rewrites SQL Server applies when it stores a constraint's text, undone on the script's
 * text: "x BETWEEN a AND b" -> "x>=a AND x<=b", "CAST(e AS t)" -> "CONVERT(t,e)",
 * CURRENT_TIMESTAMP -> getdate(). Operands are single tokens (enough for the fixtures). */
static void rewrite_between(char *s, size_t len) {
    char *p;
    while ((p = find_ci(s, " BETWEEN ")) != NULL) {
        char *lhs = p;
        while (lhs > s && lhs[-1] != ' ' && lhs[-1] != '(') lhs--;
        char *lo = p + 9, *and = find_ci(lo, " AND ");
        if (!and) return;
        char *hi = and + 5, *end = hi;
        while (*end && *end != ' ' && *end != ')') end++;
        char out[4096];
        int n = snprintf(out, sizeof out, "%.*s%.*s>=%.*s AND %.*s<=%.*s%s", (int)(lhs - s), s,
                         (int)(p - lhs), lhs, (int)(and - lo), lo, (int)(p - lhs), lhs, (int)(end - hi), hi, end);
        if (n < 0 || (size_t)n >= len) return;
        memcpy(s, out, (size_t)n + 1);
    }
}

static void rewrite_cast(char *s, size_t len) {
    char *p;
    while ((p = find_ci(s, "CAST(")) != NULL) {
        char *e = p + 5, *q = e;
        int depth = 0;
        for (; *q; q++) {
            if (*q == '(') depth++;
            else if (*q == ')' && depth-- == 0) break;
        }
        if (!*q) return;
        char *as = NULL;
        for (char *r = e; r < q; r++)
            if (!strncasecmp(r, " AS ", 4)) as = r;
        if (!as) return;
        char out[4096];
        int n = snprintf(out, sizeof out, "%.*sCONVERT(%.*s,%.*s)%s", (int)(p - s), s, (int)(q - as - 4), as + 4,
                         (int)(as - e), e, q + 1);
        if (n < 0 || (size_t)n >= len) return;
        memcpy(s, out, (size_t)n + 1);
    }
}

/* "x in (a, b, c)" -> "x=c OR x=b OR x=a": SQL Server stores an IN list reversed. */
static void rewrite_in_list(char *s, size_t len) {
    char *p;
    while ((p = find_ci(s, " in (")) != NULL) {
        char *lhs = p;
        while (lhs > s && lhs[-1] != ' ' && lhs[-1] != '(') lhs--;
        char *items = p + 5, *close = strchr(items, ')');
        if (!close) return;
        char out[4096];
        size_t o = (size_t)snprintf(out, sizeof out, "%.*s", (int)(lhs - s), s);
        char *end = close;
        bool first = true;
        while (end > items && o < sizeof out) {
            char *start = end;
            while (start > items && start[-1] != ',') start--;
            char *a = start, *b = end;
            while (a < b && *a == ' ') a++;
            o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s=%.*s", first ? "" : " OR ", (int)(p - lhs), lhs, (int)(b - a), a);
            first = false;
            end = start > items ? start - 1 : items;
        }
        if (o >= sizeof out) return;
        int n = snprintf(out + o, sizeof out - o, "%s", close + 1);
        if (n < 0 || o + (size_t)n >= len) return;
        memcpy(s, out, o + (size_t)n + 1);
    }
}

static bool same_expression(const char *script, const char *stored) {
    char t[4096], x[4096], y[4096];
    snprintf(t, sizeof t, "%s", script ? script : "");
    rewrite_between(t, sizeof t);
    rewrite_cast(t, sizeof t);
    rewrite_in_list(t, sizeof t);
    replace_all(t, sizeof t, "CURRENT_TIMESTAMP", "getdate()");
    squash(t, x, sizeof x);
    squash(stored, y, sizeof y);
    return !strcmp(x, y);
}

static const char *colname(const b2p_cat_table *t, int32_t id) {
    const b2p_cat_column *c = b2p_table_column(t, id);
    return c && c->name ? c->name : "?";
}

/* Truth column names (array of strings) vs column ids of table t. */
static bool same_columns(const mj_value *names, const b2p_cat_table *t, const int32_t *ids, size_t n) {
    if (!names || names->type != MJ_ARRAY || names->n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (names->items[i].type != MJ_STRING || strcasecmp(names->items[i].string, colname(t, ids[i])))
            return false;
    return true;
}

static bool truth_bool(const mj_value *o, const char *key) {
    const mj_value *v = mj_get(o, key);
    return v && v->type == MJ_BOOL && v->boolean;
}

static void compare_column(tally *ty, const char *tname, const mj_value *tc, const b2p_cat_column *c) {
    ty->columns++;
    unsigned before = ty->mismatches;
    const char *name = mj_get_string(tc, "name");
    const char *type = mj_get_string(tc, "type");
    const char *utype = mj_get_string(tc, "user_type");
    if (!name || strcmp(name, c->name ? c->name : ""))
        mismatch(ty, "%s column %d: name %s, truth %s", tname, c->column_id, c->name, name);
    if (type && strcmp(type, c->type_name))
        mismatch(ty, "%s.%s: type %s, truth %s", tname, name, c->type_name, type);
    if ((utype == NULL) != (c->user_type == NULL) || (utype && strcmp(utype, c->user_type)))
        mismatch(ty, "%s.%s: user type %s, truth %s", tname, name, c->user_type ? c->user_type : "-", utype ? utype : "-");
    const mj_value *ml = mj_get(tc, "max_length");
    if (ml && ml->type == MJ_STRING && !strcmp(ml->string, "max")) {
        if (c->max_length != -1) mismatch(ty, "%s.%s: length %d, truth max", tname, name, c->max_length);
    } else if (ml && ml->type == MJ_NUMBER && !utype) {
        int chars = b2p_type_is_unicode(c->xtype) ? c->max_length / 2 : c->max_length;
        if (chars != (int)ml->number) mismatch(ty, "%s.%s: length %d, truth %g", tname, name, chars, ml->number);
    }
    const mj_value *prec = mj_get(tc, "precision"), *scale = mj_get(tc, "scale");
    if (prec && prec->type == MJ_NUMBER && (int)prec->number != c->precision)
        mismatch(ty, "%s.%s: precision %u, truth %g", tname, name, c->precision, prec->number);
    if (scale && scale->type == MJ_NUMBER && (int)scale->number != c->scale)
        mismatch(ty, "%s.%s: scale %u, truth %g", tname, name, c->scale, scale->number);
    const mj_value *nul = mj_get(tc, "nullable");
    if (nul && nul->type == MJ_BOOL && nul->boolean != c->nullable)
        mismatch(ty, "%s.%s: nullable %d, truth %d", tname, name, c->nullable, nul->boolean);
    const mj_value *idt = mj_get(tc, "identity");
    bool truth_identity = idt && idt->type == MJ_OBJECT;
    if (truth_identity != c->is_identity)
        mismatch(ty, "%s.%s: identity %d, truth %d", tname, name, c->is_identity, truth_identity);
    else if (truth_identity) {
        const mj_value *seed = mj_get(idt, "seed"), *inc = mj_get(idt, "increment");
        if (!c->identity_known || !seed || !inc || (int64_t)seed->number != c->identity_seed ||
            (int64_t)inc->number != c->identity_increment)
            mismatch(ty, "%s.%s: identity (%lld,%lld), truth (%g,%g)", tname, name, (long long)c->identity_seed,
                     (long long)c->identity_increment, seed ? seed->number : -1, inc ? inc->number : -1);
    }
    const mj_value *dv = mj_get(tc, "default");
    const char *dflt = dv && dv->type == MJ_OBJECT ? mj_get_string(dv, "expression") : NULL;
    const char *dname = dv && dv->type == MJ_OBJECT ? mj_get_string(dv, "name") : NULL;
    if ((dflt != NULL) != (c->default_text != NULL) || (dflt && !same_expression(dflt, c->default_text)))
        mismatch(ty, "%s.%s: default %s, truth %s", tname, name, c->default_text ? c->default_text : "-", dflt ? dflt : "-");
    else if (dname && (!c->default_name || strcmp(dname, c->default_name)))
        mismatch(ty, "%s.%s: default named %s, truth %s", tname, name, c->default_name ? c->default_name : "-", dname);
    const char *comp = mj_get_string(tc, "computed");
    if ((comp != NULL) != c->is_computed || (comp && !same_expression(comp, c->computed)))
        mismatch(ty, "%s.%s: computed %s, truth %s", tname, name, c->computed ? c->computed : "-", comp ? comp : "-");
    if (ty->mismatches == before) ty->columns_ok++;
}

/* The index the truth describes: by name, or (generated names) by its columns. */
static const b2p_cat_index *find_index(const b2p_cat_table *t, const mj_value *ti) {
    const char *name = mj_get_string(ti, "name");
    bool generated = truth_bool(ti, "name_generated");
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        if (ix->index_id == 0) continue;
        if (!generated && name && ix->name && !strcmp(name, ix->name)) return ix;
        if (generated && same_columns(mj_get(ti, "columns"), t, ix->key_columns, ix->nkeys) &&
            ix->unique == truth_bool(ti, "unique"))
            return ix;
    }
    return NULL;
}

static void compare_indexes(tally *ty, const char *tname, const mj_value *tt, const b2p_cat_table *t) {
    const mj_value *list = mj_get(tt, "indexes");
    size_t ours = 0;
    for (size_t i = 0; i < t->nindexes; i++) ours += t->indexes[i].index_id != 0;
    if (!list || list->n != ours) mismatch(ty, "%s: %zu indexes, truth %zu", tname, ours, list ? list->n : 0);
    for (size_t i = 0; list && i < list->n; i++) {
        const mj_value *ti = &list->items[i];
        ty->indexes++;
        const b2p_cat_index *ix = find_index(t, ti);
        const char *name = mj_get_string(ti, "name");
        if (!ix) {
            mismatch(ty, "%s: index %s missing", tname, name ? name : "(generated)");
            continue;
        }
        if (!same_columns(mj_get(ti, "columns"), t, ix->key_columns, ix->nkeys))
            mismatch(ty, "%s: index %s key columns differ", tname, ix->name);
        if (!same_columns(mj_get(ti, "included"), t, ix->included_columns, ix->nincluded))
            mismatch(ty, "%s: index %s included columns differ", tname, ix->name);
        if (truth_bool(ti, "unique") != ix->unique) mismatch(ty, "%s: index %s unique %d", tname, ix->name, ix->unique);
        if (truth_bool(ti, "clustered") != (ix->type == 1))
            mismatch(ty, "%s: index %s type %u", tname, ix->name, ix->type);
        const char *backs = mj_get_string(ti, "backs_constraint");
        bool pk = backs && !strcmp(backs, "PRIMARY KEY"), uq = backs && !strcmp(backs, "UNIQUE");
        if (pk != ix->primary_key || uq != ix->unique_constraint)
            mismatch(ty, "%s: index %s backs %s, ours pk=%d uq=%d", tname, ix->name, backs ? backs : "-", ix->primary_key, ix->unique_constraint);
    }
}

static void compare_keys(tally *ty, const char *tname, const mj_value *tt, const b2p_cat_table *t) {
    const mj_value *pk = mj_get(tt, "primary_key");
    const b2p_cat_index *ours = NULL;
    for (size_t i = 0; i < t->nindexes; i++)
        if (t->indexes[i].primary_key) ours = &t->indexes[i];
    if (pk && pk->type == MJ_OBJECT) {
        ty->keys++;
        if (!ours) mismatch(ty, "%s: no primary key", tname);
        else {
            const char *name = mj_get_string(pk, "name");
            if (!truth_bool(pk, "name_generated") && name && strcmp(name, ours->name))
                mismatch(ty, "%s: primary key %s, truth %s", tname, ours->name, name);
            if (!same_columns(mj_get(pk, "columns"), t, ours->key_columns, ours->nkeys))
                mismatch(ty, "%s: primary key columns differ", tname);
            if (truth_bool(pk, "clustered") != (ours->type == 1))
                mismatch(ty, "%s: primary key clustered differs", tname);
        }
    } else if (ours) mismatch(ty, "%s: primary key %s not in truth", tname, ours->name);
    const mj_value *uqs = mj_get(tt, "unique_constraints");
    size_t nuq = 0;
    for (size_t i = 0; i < t->nindexes; i++) nuq += t->indexes[i].unique_constraint;
    if (!uqs || uqs->n != nuq) mismatch(ty, "%s: %zu unique constraints, truth %zu", tname, nuq, uqs ? uqs->n : 0);
    else ty->keys += (unsigned)nuq;
}

static const b2p_cat_foreign_key *find_fk(const b2p_cat_table *t, const mj_value *tf) {
    const char *name = mj_get_string(tf, "name");
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[i];
        if (!truth_bool(tf, "name_generated") ? (name && !strcmp(name, fk->name))
                                              : same_columns(mj_get(tf, "columns"), t, fk->columns, fk->ncolumns))
            return fk;
    }
    return NULL;
}

static const char *action(b2p_fk_action a) {
    return a == B2P_FK_CASCADE ? "CASCADE" : a == B2P_FK_SET_NULL ? "SET NULL" : a == B2P_FK_SET_DEFAULT ? "SET DEFAULT" : "NO ACTION";
}

static void compare_fks(tally *ty, const b2p_catalog *cat, const char *tname, const mj_value *tt, const b2p_cat_table *t) {
    const mj_value *list = mj_get(tt, "foreign_keys");
    if (!list || list->n != t->nforeign_keys)
        mismatch(ty, "%s: %zu foreign keys, truth %zu", tname, t->nforeign_keys, list ? list->n : 0);
    for (size_t i = 0; list && i < list->n; i++) {
        const mj_value *tf = &list->items[i];
        ty->fks++;
        const b2p_cat_foreign_key *fk = find_fk(t, tf);
        if (!fk) {
            mismatch(ty, "%s: foreign key %s missing", tname, mj_get_string(tf, "name"));
            continue;
        }
        const b2p_cat_table *ref = b2p_catalog_table_by_id(cat, fk->ref_object_id);
        const char *rs = mj_get_string(tf, "ref_schema"), *rt = mj_get_string(tf, "ref_table");
        if (!ref || !rs || !rt || strcmp(rs, ref->schema) || strcasecmp(rt, ref->name))
            mismatch(ty, "%s: foreign key %s references %s, truth %s.%s", tname, fk->name, ref ? ref->name : "?", rs, rt);
        if (!same_columns(mj_get(tf, "columns"), t, fk->columns, fk->ncolumns) ||
            (ref && !same_columns(mj_get(tf, "ref_columns"), ref, fk->ref_columns, fk->ncolumns)))
            mismatch(ty, "%s: foreign key %s columns differ", tname, fk->name);
        const char *del = mj_get_string(tf, "on_delete"), *upd = mj_get_string(tf, "on_update");
        if (!del || !upd || strcmp(del, action(fk->on_delete)) || strcmp(upd, action(fk->on_update)))
            mismatch(ty, "%s: foreign key %s actions %s/%s, truth %s/%s", tname, fk->name,
                     action(fk->on_delete), action(fk->on_update), del, upd);
        if (truth_bool(tf, "enabled") == fk->disabled)
            mismatch(ty, "%s: foreign key %s enabled differs", tname, fk->name);
    }
}

static void compare_checks(tally *ty, const char *tname, const mj_value *tt, const b2p_cat_table *t) {
    const mj_value *list = mj_get(tt, "check_constraints");
    if (!list || list->n != t->nchecks)
        mismatch(ty, "%s: %zu checks, truth %zu", tname, t->nchecks, list ? list->n : 0);
    for (size_t i = 0; list && i < list->n; i++) {
        const mj_value *tc = &list->items[i];
        ty->checks++;
        const char *expr = mj_get_string(tc, "expression");
        const b2p_cat_check *found = NULL;
        for (size_t k = 0; k < t->nchecks; k++) {
            const char *name = mj_get_string(tc, "name");
            bool generated = truth_bool(tc, "name_generated");
            if (generated ? (same_expression(expr, t->checks[k].expression) ||
                             (!found && !strncmp(t->checks[k].name, "CK__", 4)))
                          : (name && !strcmp(name, t->checks[k].name)))
                found = &t->checks[k];
        }
        if (!found) mismatch(ty, "%s: check %s missing", tname, mj_get_string(tc, "name"));
        else if (!same_expression(expr, found->expression))
            mismatch(ty, "%s: check %s is %s, truth %s", tname, found->name, found->expression, expr);
    }
}

static const b2p_cat_column *column_named(const b2p_cat_table *t, const char *name) {
    for (size_t i = 0; name && i < t->ncolumns; i++)
        if (t->columns[i].name && !strcasecmp(t->columns[i].name, name)) return &t->columns[i];
    return NULL;
}

/* by_name: the truth's column order is not the table's (a model snapshot lists them sorted). */
static void compare_table(tally *ty, const b2p_catalog *cat, const mj_value *tt, bool by_name) {
    const char *schema = mj_get_string(tt, "schema"), *name = mj_get_string(tt, "name");
    char tname[600];
    snprintf(tname, sizeof tname, "%s.%s", schema, name);
    ty->tables++;
    const b2p_cat_table *t = schema && name ? b2p_catalog_find_table(cat, schema, name) : NULL;
    if (!t) {
        mismatch(ty, "table %s missing", tname);
        return;
    }
    unsigned before = ty->mismatches;
    const mj_value *cols = mj_get(tt, "columns");
    if (!cols || cols->n != t->ncolumns)
        mismatch(ty, "%s: %zu columns, truth %zu", tname, t->ncolumns, cols ? cols->n : 0);
    for (size_t i = 0; cols && i < cols->n && i < t->ncolumns; i++) {
        const b2p_cat_column *c = by_name ? column_named(t, mj_get_string(&cols->items[i], "name")) : &t->columns[i];
        if (c) compare_column(ty, tname, &cols->items[i], c);
        else mismatch(ty, "%s: column %s missing", tname, mj_get_string(&cols->items[i], "name"));
    }
    compare_keys(ty, tname, tt, t);
    compare_indexes(ty, tname, tt, t);
    compare_fks(ty, cat, tname, tt, t);
    compare_checks(ty, tname, tt, t);
    const mj_value *rc = mj_get(tt, "row_count");
    if (rc && rc->type == MJ_NUMBER) {
        ty->rowcounts++;
        /* The backups' data drifted from the scripts (students' edits); the catalog's counts
         * are checked against the pages themselves in test_every_full_backup_loads. */
        if ((uint64_t)rc->number == b2p_table_rows(t)) ty->rowcounts_ok++;
        else printf("    data differs: %s has %llu rows, truth %g\n", tname, (unsigned long long)b2p_table_rows(t), rc->number);
    }
    if (ty->mismatches == before) ty->tables_ok++;
}

/* Backups whose truth is known to differ, and why (MATCHES.tsv notes, truth READMEs). */
typedef struct known_difference {
    const char *file;
    unsigned mismatches;
    const char *why;
} known_difference;

static const known_difference KNOWN[] = {
    {"chinook_2025_STRIPE1of2_mariamahmed.bak", 27,
     "stripe 1 of 2: syssingleobjrefs absent (FK targets); truth script older (datetime, clustered PK)"},
    {"northwind-variant_2019_salih.bak", 2, "approximate truth: 4 extra indexes in the backup"},
    {"schooldb_2022rtm_COMPRESSED_belal.bak", 2,
     "EF model snapshot lacks the migrations' DEFAULT '' on users.FirstName/LastName"},
    {"qlsinhvien_hocddl_2019cu_phuc.bak", 5,
     "the script's tables were dropped before the backup (only a ghost FK row remains)"},
};

static unsigned allowed_mismatches(const char *file, const char **why) {
    for (size_t i = 0; i < sizeof KNOWN / sizeof *KNOWN; i++)
        if (!strcmp(KNOWN[i].file, file)) {
            *why = KNOWN[i].why;
            return KNOWN[i].mismatches;
        }
    *why = NULL;
    return 0;
}

/* Truths that describe only the schema (no rows): quality "schema-only" in schema.json. */
static bool is_schema_only_truth(const char *truth) {
    if (!strcmp(truth, "-")) return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/truth/%s/expected/schema.json", fixtures_dir(), truth);
    mj_value *v = mj_parse_file(path);
    const char *q = v ? mj_get_string(v, "quality") : NULL;
    bool schema_only = q && !strncmp(q, "schema-only", 11);
    mj_free(v);
    return schema_only;
}

/* One MATCHES.tsv row: file, truth_db, ..., verdict (column 6). */
typedef struct match_row {
    char file[256], truth[128], verdict[64];
} match_row;

static size_t read_matches(match_row *rows, size_t max) {
    char path[4096];
    snprintf(path, sizeof path, "%s/truth/MATCHES.tsv", fixtures_dir());
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[8192];
    size_t n = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0; /* header */
    while (n < max && fgets(line, sizeof line, f)) {
        char *fields[7] = {0};
        char *save = NULL, *tok = strtok_r(line, "\t\n", &save);
        for (int i = 0; tok && i < 7; i++, tok = strtok_r(NULL, "\t\n", &save)) fields[i] = tok;
        if (!fields[5]) continue;
        snprintf(rows[n].file, sizeof rows[n].file, "%s", fields[0]);
        snprintf(rows[n].truth, sizeof rows[n].truth, "%s", fields[1]);
        snprintf(rows[n].verdict, sizeof rows[n].verdict, "%s", fields[5]);
        n++;
    }
    fclose(f);
    return n;
}


static void test_catalog_matches_truth(void **state) {
    (void)state;
    fixtures_require();
    match_row rows[128];
    size_t n = read_matches(rows, 128);
    assert_true(n > 20);
    printf("\n  %-52s %-24s %7s %9s %8s %6s %s\n", "backup (likely-same-data / schema-only)", "truth", "tables", "columns", "rowcount", "misses", "result");
    unsigned compared = 0, failed = 0;
    tally total = {0};
    for (size_t i = 0; i < n; i++) {
        /* likely-same-data pairs, and schema-only truths (their verdict is "unknown" because
         * they hold no rows to probe, not because the schema is in doubt) */
        bool same_data = !strcmp(rows[i].verdict, "likely-same-data");
        if (!same_data && !is_schema_only_truth(rows[i].truth)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/truth/%s/expected/schema.json", fixtures_dir(), rows[i].truth);
        mj_value *truth = mj_parse_file(path);
        if (!truth) fail_msg("cannot read %s", path);
        const char *names[1] = {rows[i].file};
        loaded l;
        load(&l, names, 1);
        if (l.st) {
            printf("  %-52s %-24s %s\n", rows[i].file, rows[i].truth, l.err.msg);
            failed++;
            mj_free(truth);
            unload(&l);
            continue;
        }
        tally ty = {0};
        const mj_value *tables = mj_get(truth, "tables");
        assert_non_null(tables);
        printf("  %s\n", rows[i].file);
        const char *quality = mj_get_string(truth, "quality");
        bool by_name = quality && strstr(quality, "derived");
        for (size_t k = 0; k < tables->n; k++) compare_table(&ty, l.cat, &tables->items[k], by_name);
        const char *why;
        unsigned allowed = allowed_mismatches(rows[i].file, &why);
        bool ok = ty.mismatches <= allowed;
        printf("  %-52s %-24s %3u/%-3u %4u/%-4u %3u/%-4u %6u %s\n", "", rows[i].truth, ty.tables_ok, ty.tables,
               ty.columns_ok, ty.columns, ty.rowcounts_ok, ty.rowcounts, ty.mismatches, ok ? (ty.mismatches ? why : "ok") : "FAIL");
        compared++;
        failed += !ok;
        total.tables += ty.tables;
        total.tables_ok += ty.tables_ok;
        total.columns += ty.columns;
        total.columns_ok += ty.columns_ok;
        total.mismatches += ty.mismatches;
        mj_free(truth);
        unload(&l);
    }
    printf("  total: %u backups compared, tables %u/%u, columns %u/%u exact, %u mismatches\n", compared,
           total.tables_ok, total.tables, total.columns_ok, total.columns, total.mismatches);
    assert_true(compared >= 16);
    assert_int_equal(failed, 0);
}

/* ---- details the truth files do not hold ------------------------------------------------- */

static const b2p_cat_rscol *rscol_of(const b2p_cat_partition *p, uint32_t column_id) {
    for (size_t i = 0; i < p->nrscols; i++)
        if (p->rscols[i].column_id == column_id) return &p->rscols[i];
    return NULL;
}

/* Northwind's Employees, in a 2005 and a 2008 backup: identity state, storage and the physical
 * layout a row reader will use (fixed int at 4, variable nvarchar columns, LOB unit for
 * Photo/Notes). Chinook's lone stripe: foreign keys flagged incomplete. */
static void test_catalog_details(void **state) {
    (void)state;
    static const char *const files[] = {"northwind_2005sp4_salman.bak", "northwind_2008rtm_thuyluv.bak"};
    for (size_t f = 0; f < 2; f++) {
        loaded l;
        load(&l, &files[f], 1);
        if (l.st) fail_msg("%s: %s", files[f], l.err.msg);
        assert_false(l.cat->foreign_keys_incomplete);
        assert_int_equal(l.cat->collation_id, 0x3400D008); /* SQL_Latin1_General_CP1_CI_AS */
        const b2p_cat_table *t = b2p_catalog_find_table(l.cat, "dbo", "Employees");
        assert_non_null(t);
        const b2p_cat_column *id = b2p_table_column(t, 1);
        assert_non_null(id);
        assert_true(id->is_identity && id->identity_known && id->identity_used);
        assert_int_equal(id->identity_last, 9);
        assert_int_equal(t->npartitions, 1);
        const b2p_cat_partition *p = &t->partitions[0];
        assert_int_equal(p->index_id, 1);
        assert_int_equal(p->rows, 9);
        assert_int_equal(p->compression, 0);
        bool in_row = false, lob = false;
        for (size_t k = 0; k < p->naus; k++) {
            in_row |= p->aus[k].type == B2P_AU_IN_ROW && !b2p_page_ptr_is_null(p->aus[k].ref.first_iam);
            lob |= p->aus[k].type == B2P_AU_LOB;
        }
        assert_true(in_row && lob);
        assert_int_equal(p->nrscols, 18);
        const b2p_cat_rscol *emp_id = rscol_of(p, 1), *last = rscol_of(p, 2), *photo = rscol_of(p, 15);
        assert_non_null(emp_id);
        assert_non_null(last);
        assert_non_null(photo);
        assert_int_equal(emp_id->layout.leaf_offset, 4);
        assert_int_equal(emp_id->layout.fixed_len, 4);
        assert_int_equal(emp_id->layout.xtype, 56);
        assert_true(last->layout.leaf_offset < 0);
        assert_int_equal(last->layout.xtype, 231);
        assert_int_equal(last->max_length, 40);
        assert_int_equal(photo->layout.xtype, 34); /* image: a 16-byte text pointer in the row */
        unload(&l);
    }
    const char *chinook[1] = {"chinook_2025_STRIPE1of2_mariamahmed.bak"};
    loaded l;
    load(&l, chinook, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    assert_int_equal(l.cat->db_version, 998);
    assert_true(l.cat->foreign_keys_incomplete);
    unload(&l);
}

/* ---- every full backup ------------------------------------------------------------------ */

/* Files read together: a striped set, or a differential over its full. */
static const char *const GROUPS[][3] = {
    {"restoretimestripe_2008r2sp2_STRIPE1of2_appveyor.bak", "restoretimestripe_2008r2sp2_STRIPE2of2_appveyor.bak", NULL},
    {"doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak", "doublediff_2008r2rtm_full_appveyor.bak", NULL},
    {"cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak", "cubequeryhistory_2008r2_full_appveyor.bak", NULL},
};

/* Backups that cannot yield a catalog, and the status they must fail with. */
typedef struct expected_failure {
    const char *file;
    b2p_status st;
    const char *why;
} expected_failure;

static const expected_failure FAILURES[] = {
    {"northwind_2014rtm_STRIPE1of2_cconocimientos.bak", B2P_ERR_NOT_FOUND, "stripe 1 of 2 alone: no boot page"},
    {"mvcmasr_2016sp1_remonshokry.bak", B2P_ERR_NOT_FOUND, "stripe 2 of 2 alone: catalog pages absent"},
};

static const expected_failure *expected_failure_of(const char *file) {
    for (size_t i = 0; i < sizeof FAILURES / sizeof *FAILURES; i++)
        if (!strcmp(FAILURES[i].file, file)) return &FAILURES[i];
    return NULL;
}

/* Databases without user tables: sysschobjs holds only SQL Server's own objects. The
 * dbatools lab databases are empty; QLSinhVien_HocDDL's tables were dropped before the backup
 * (one ghost row, FK__Hoc__MaSV__5441852A, remains in sysschobjs). */
static const char *const EMPTY_DATABASES[] = {
    "qlsinhvien_hocddl_2019cu_phuc.bak",
    "doublediff_2008r2rtm_DIFFERENTIAL_appveyor.bak",
    "cubequeryhistory_2008r2_DIFFERENTIAL_appveyor.bak",
    "detachattach_2008r2_appveyor.bak",
    "doublediff_2008r2rtm_full_appveyor.bak",
    "cubequeryhistory_2008r2_full_appveyor.bak",
};

static bool is_empty_database(const char *file) {
    for (size_t i = 0; i < sizeof EMPTY_DATABASES / sizeof *EMPTY_DATABASES; i++)
        if (!strcmp(EMPTY_DATABASES[i], file)) return true;
    return false;
}

static bool in_a_group_but_not_first(const char *file) {
    for (size_t g = 0; g < sizeof GROUPS / sizeof *GROUPS; g++)
        for (size_t k = 1; GROUPS[g][k]; k++)
            if (!strcmp(GROUPS[g][k], file)) return true;
    return false;
}

static size_t group_of(const char *file, const char **names) {
    for (size_t g = 0; g < sizeof GROUPS / sizeof *GROUPS; g++)
        if (!strcmp(GROUPS[g][0], file)) {
            size_t n = 0;
            for (; GROUPS[g][n]; n++) names[n] = GROUPS[g][n];
            return n;
        }
    names[0] = file;
    return 1;
}

typedef struct row_count {
    uint64_t rows;
} row_count;

static int count_rows(void *ctx, const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h) {
    row_count *c = ctx;
    for (uint16_t s = 0; s < h->slot_count; s++) {
        b2p_record r;
        b2p_error err = {0};
        b2p_status st = b2p_page_record(page, h, s, &r, &err);
        if (st == B2P_ERR_NOT_FOUND) continue;
        if (st) fail_msg("%s", err.msg);
        c->rows += b2p_record_is_live_row(&r);
    }
    return 0;
}

/* Live records on the data pages of the partition's in-row allocation unit (IAM walk), and
 * for a clustered index also along its leaf chain: both must equal sysrowsets.rcrows. */
static void check_rows_on_pages(loaded *l, const b2p_cat_table *t, const b2p_cat_partition *p, unsigned *checked) {
    if (p->compression != 0) return; /* compressed records are the next issue's */
    for (size_t k = 0; k < p->naus; k++) {
        if (p->aus[k].type != B2P_AU_IN_ROW) continue;
        b2p_scan_stats stats;
        b2p_error err = {0};
        row_count iam = {0}, chain = {0};
        assert_int_equal(b2p_au_scan(l->src, &p->aus[k].ref, B2P_SCAN_IAM, count_rows, &iam, &stats, &err), B2P_OK);
        if (iam.rows != p->rows)
            fail_msg("%s.%s: %llu live records on its pages (IAM), sysrowsets says %llu", t->schema, t->name,
                     (unsigned long long)iam.rows, (unsigned long long)p->rows);
        if (p->index_id == 1) {
            assert_int_equal(b2p_au_scan(l->src, &p->aus[k].ref, B2P_SCAN_LEAF_CHAIN, count_rows, &chain, NULL, &err), B2P_OK);
            if (chain.rows != p->rows)
                fail_msg("%s.%s: %llu live records along its leaf chain, sysrowsets says %llu", t->schema, t->name,
                         (unsigned long long)chain.rows, (unsigned long long)p->rows);
        }
        (*checked)++;
    }
}

static size_t touch_model(const b2p_catalog *cat);

static void test_every_full_backup_loads(void **state) {
    (void)state;
    manifest_row *rows;
    size_t n = manifest_read(&rows);
    assert_true(n > 30);
    unsigned loaded_ok = 0, expected_fail = 0, total_tables = 0, partitions_checked = 0;
    unsigned diagrams = 0, diagrams_marked = 0;
    printf("\n  %-52s %4s %6s %8s  %s\n", "backup", "ver", "tables", "rows", "tables (rows)");
    for (size_t i = 0; i < n; i++) {
        const char *file = rows[i].file;
        if (strstr(file, ".trn") || in_a_group_but_not_first(file)) continue;
        if (strstr(file, "DIFFERENTIAL") && !strstr(file, "doublediff_2008r2rtm_DIFFERENTIAL_") &&
            !strstr(file, "cubequeryhistory"))
            continue; /* differentials whose full is not among the fixtures */
        const char *names[3];
        size_t nn = group_of(file, names);
        loaded l;
        load(&l, names, nn);
        const expected_failure *ef = expected_failure_of(file);
        if (ef) {
            printf("  %-52s fails as expected (%s): %s\n", file, ef->why, l.err.msg);
            if (l.st != ef->st) fail_msg("%s: status %s (%s), expected %s", file, b2p_status_name(l.st), l.err.msg, b2p_status_name(ef->st));
            expected_fail++;
            unload(&l);
            continue;
        }
        if (l.st) fail_msg("%s: %s", file, l.err.msg);
        uint64_t rows_total = 0;
        bool stripes_missing = strstr(file, "STRIPE1of2_mariamahmed") != NULL;
        char list[900] = "";
        size_t used = 0;
        for (size_t t = 0; t < l.cat->ntables; t++) {
            const b2p_cat_table *tb = &l.cat->tables[t];
            rows_total += b2p_table_rows(tb);
            if (tb->ncolumns == 0 || tb->npartitions == 0)
                fail_msg("%s: table %s.%s has %zu columns, %zu partitions", file, tb->schema, tb->name, tb->ncolumns, tb->npartitions);
            for (size_t p = 0; p < tb->npartitions; p++) {
                assert_true(tb->partitions[p].naus > 0);
                if (!stripes_missing) check_rows_on_pages(&l, tb, &tb->partitions[p], &partitions_checked);
            }
            if (used + 80 < sizeof list)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s.%s(%llu)", t ? " " : "", tb->schema,
                                         tb->name, (unsigned long long)b2p_table_rows(tb));
        }
        for (size_t t = 0; t < l.cat->ntables; t++) {
            const b2p_cat_table *tb = &l.cat->tables[t];
            /* SSMS's diagram table carries its marker (northwind_2008r2sp1_victor's does not:
             * its sysdiagrams was created by a script, sysxprops is empty; Chinook's lone stripe
             * lacks sysxprops' pages) */
            if (!strcmp(tb->name, "sysdiagrams") && !stripes_missing) {
                diagrams++;
                diagrams_marked += tb->tools_support;
            } else if (tb->tools_support)
                fail_msg("%s: %s.%s marked as an SSMS object", file, tb->schema, tb->name);
        }
        for (size_t k = 0; k < l.cat->nmodules; k++)
            if (!l.cat->modules[k].definition && !stripes_missing)
                fail_msg("%s: module %s.%s has no text", file, l.cat->modules[k].schema, l.cat->modules[k].name);
        (void)touch_model(l.cat);
        printf("  %-52s %4u %6zu %8llu  %s\n", file, l.cat->db_version, l.cat->ntables, (unsigned long long)rows_total, list);
        if (is_empty_database(file)) assert_int_equal(l.cat->ntables, 0);
        else assert_true(l.cat->ntables > 0);
        assert_true(l.cat->nschemas >= 1);
        total_tables += (unsigned)l.cat->ntables;
        loaded_ok++;
        unload(&l);
    }
    printf("  %u backups load their catalog (%u user tables; %u partitions' row counts equal the live records on their pages); %u fail as documented\n",
           loaded_ok, total_tables, partitions_checked, expected_fail);
    printf("  %u of %u dbo.sysdiagrams tables carry microsoft_database_tools_support; no other table does\n",
           diagrams_marked, diagrams);
    assert_true(diagrams_marked >= 9 && diagrams_marked + 1 >= diagrams);
    free(rows);
    assert_true(loaded_ok >= 31);
}

/* ---- damaged catalogs ------------------------------------------------------------------- */

/* Every page of a real backup, in memory, to derive damaged backups from. */
typedef struct page_set {
    size_t n, cap;
    uint8_t *units;
} page_set;

static int keep_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    (void)file_id;
    (void)page_id;
    page_set *ps = ctx;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 512;
        ps->units = realloc(ps->units, ps->cap * B2P_PAGE_SIZE);
        assert_non_null(ps->units);
    }
    memcpy(ps->units + ps->n++ * B2P_PAGE_SIZE, page, B2P_PAGE_SIZE);
    return 0;
}

/* Pages the catalog reads: the boot page, and data, index and IAM pages of the system base
 * tables (object ids below 100 in the page header's allocation unit). */
static bool is_catalog_page(const uint8_t *p) {
    uint8_t type = p[1];
    uint32_t obj = b2p_le32(p + 24);
    return type == B2P_PAGE_BOOT || ((type == B2P_PAGE_DATA || type == B2P_PAGE_INDEX || type == B2P_PAGE_IAM) && obj < 100);
}

static uint32_t next_random(uint32_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Damages 1-8 bytes of 1-3 catalog pages (never the page's own id), and drops the page's
 * checksum and torn-page flags so that the damage reaches the parsers instead of being caught
 * by the checksum. */
static void damage(uint8_t *units, size_t n, const size_t *catalog, size_t ncatalog, uint32_t *rng) {
    int pages = 1 + (int)(next_random(rng) % 3);
    for (int k = 0; k < pages; k++) {
        uint8_t *p = units + catalog[next_random(rng) % ncatalog] * B2P_PAGE_SIZE;
        int bytes = 1 + (int)(next_random(rng) % 8);
        for (int b = 0; b < bytes; b++) {
            uint32_t off = 8 + next_random(rng) % (B2P_PAGE_SIZE - 8);
            if (off >= 32 && off < 38) continue;
            p[off] = (uint8_t)next_random(rng);
        }
        b2p_put_le16(p + 4, b2p_le16(p + 4) & ~0x300u);
    }
    (void)n;
}

static void write_backup(const char *path, const b2p_set_info *set, const uint8_t *units, size_t n) {
    mtfw_file files[8];
    size_t nfiles = set->nfiles < 8 ? set->nfiles : 8;
    for (size_t i = 0; i < nfiles; i++) {
        files[i].logical_name = set->files[i].logical_name;
        files[i].physical_name = set->files[i].physical_name;
        files[i].file_id = set->files[i].file_id;
        files[i].type = set->files[i].type;
        files[i].size_bytes = set->files[i].size_bytes;
    }
    mtfw_options o = {
        .block_size = 512, .type_letter = 'D', .database_name = set->database_name, .server_name = "TEST",
        .version_major = set->version_major, .version_minor = set->version_minor,
        .version_build = set->version_build, .database_version = set->database_version,
        .total_units = n, .files = files, .nfiles = nfiles,
    };
    assert_true(mtfw_write_file(path, &o, units, n));
}

/* Reads every string of the model, so that a sanitizer sees any bad pointer. */
static size_t touch_model(const b2p_catalog *cat) {
    size_t sum = 0;
    for (size_t t = 0; t < cat->ntables; t++) {
        const b2p_cat_table *tb = &cat->tables[t];
        sum += strlen(tb->name) + strlen(tb->schema);
        for (size_t c = 0; c < tb->ncolumns; c++) {
            const b2p_cat_column *col = &tb->columns[c];
            sum += col->name ? strlen(col->name) : 0;
            sum += col->default_text ? strlen(col->default_text) : 0;
            sum += col->computed ? strlen(col->computed) : 0;
        }
        for (size_t i = 0; i < tb->nindexes; i++)
            for (size_t k = 0; k < tb->indexes[i].nkeys; k++) sum += (size_t)tb->indexes[i].key_columns[k];
        for (size_t i = 0; i < tb->nforeign_keys; i++)
            for (size_t k = 0; k < tb->foreign_keys[i].ncolumns; k++) sum += (size_t)tb->foreign_keys[i].ref_columns[k];
        for (size_t i = 0; i < tb->nchecks; i++) sum += tb->checks[i].expression ? strlen(tb->checks[i].expression) : 0;
        sum += tb->description ? strlen(tb->description) : 0;
    }
    for (size_t i = 0; i < cat->nmodules; i++) {
        const b2p_cat_module *m = &cat->modules[i];
        sum += strlen(m->schema) + strlen(m->name) + (m->definition ? strlen(m->definition) : 0);
        sum += m->description ? strlen(m->description) : 0;
    }
    for (size_t i = 0; i < cat->ntypes; i++) sum += strlen(cat->types[i].schema) + strlen(cat->types[i].name);
    for (size_t i = 0; i < cat->nxprops; i++)
        sum += strlen(cat->xprops[i].name) + (cat->xprops[i].value ? strlen(cat->xprops[i].value) : 0);
    for (size_t i = 0; i < cat->nunsupported; i++) {
        const b2p_cat_unsupported *u = &cat->unsupported[i];
        sum += strlen(u->kind) + strlen(u->name) + (u->schema ? strlen(u->schema) : 0) + (u->detail ? strlen(u->detail) : 0);
    }
    return sum;
}

#define DAMAGE_VARIANTS 300

/* Backups derived from real ones with damaged catalog pages: loading either succeeds or fails
 * with CORRUPT / NOT_FOUND / UNSUPPORTED naming what it found; it never crashes or reads out of
 * bounds (run under the sanitizer build). */
static void test_damaged_catalogs(void **state) {
    (void)state;
    static const char *const sources[] = {"northwind_2008r2sp1_victor.bak", "northwind_2005sp4_salman.bak",
                                          "quanlysinhvien_2016sp2_tiny_nhatminh.bak"};
    char dir[] = "/tmp/b2p_catalog_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/damaged.bak", dir);
    printf("\n  %-44s %8s %6s %8s %9s %11s\n", "damaged variants of", "loaded", "corrupt", "notfound", "unsupported", "other");
    for (size_t s = 0; s < sizeof sources / sizeof *sources; s++) {
        const char *names[1] = {sources[s]};
        loaded l;
        load(&l, names, 1);
        if (l.st) fail_msg("%s: %s", sources[s], l.err.msg);
        page_set ps = {0};
        b2p_error err = {0};
        assert_int_equal(b2p_pages_foreach(l.src, keep_page, &ps, &err), 0);
        size_t *catalog = malloc(ps.n * sizeof *catalog), ncatalog = 0;
        assert_non_null(catalog);
        for (size_t i = 0; i < ps.n; i++)
            if (is_catalog_page(ps.units + i * B2P_PAGE_SIZE)) catalog[ncatalog++] = i;
        assert_true(ncatalog > 20);
        /* the undamaged derived backup must give the same catalog: the harness is sound */
        write_backup(path, b2p_pages_set(l.src), ps.units, ps.n);
        const char *derived[1] = {path};
        loaded d;
        load_paths(&d, derived, 1, false);
        if (d.st) fail_msg("undamaged copy of %s: %s", sources[s], d.err.msg);
        assert_int_equal(d.cat->ntables, l.cat->ntables);
        unload(&d);

        unsigned outcome[5] = {0};
        uint8_t *copy = malloc(ps.n * B2P_PAGE_SIZE);
        assert_non_null(copy);
        uint32_t rng = 0x9E3779B9u ^ (uint32_t)s;
        for (int v = 0; v < DAMAGE_VARIANTS; v++) {
            memcpy(copy, ps.units, ps.n * B2P_PAGE_SIZE);
            damage(copy, ps.n, catalog, ncatalog, &rng);
            write_backup(path, b2p_pages_set(l.src), copy, ps.n);
            load_paths(&d, derived, 1, false);
            if (d.st == B2P_OK) {
                outcome[0]++;
                (void)touch_model(d.cat);
            } else if (d.st == B2P_ERR_CORRUPT) outcome[1]++;
            else if (d.st == B2P_ERR_NOT_FOUND) outcome[2]++;
            else if (d.st == B2P_ERR_UNSUPPORTED) outcome[3]++;
            else {
                outcome[4]++;
                printf("    variant %d: %s: %s\n", v, b2p_status_name(d.st), d.err.msg);
            }
            if (d.st) assert_true(d.err.msg[0] != 0);
            unload(&d);
        }
        printf("  %-44s %8u %6u %8u %9u %11u\n", sources[s], outcome[0], outcome[1], outcome[2], outcome[3], outcome[4]);
        assert_int_equal(outcome[4], 0);
        assert_true(outcome[1] > 0); /* the damage did reach the parsers */
        free(copy);
        free(catalog);
        free(ps.units);
        unload(&l);
    }
    unlink(path);
    rmdir(dir);
}

/* ---- modules, types, extended properties, unsupported objects ---------------------------- */

/* A whole file as a NUL-terminated string, or NULL. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static bool valid_utf8(const unsigned char *s) {
    while (*s) {
        int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2 : (*s & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0) return false;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xC0) != 0x80) return false;
    }
    return true;
}

/* A script as UTF-8 without carriage returns: UTF-8 (BOM dropped) or, failing that, Latin-1. */
static char *read_script(const char *path) {
    size_t n;
    char *raw = read_file(path, &n);
    if (!raw) return NULL;
    const char *start = !strncmp(raw, "\xEF\xBB\xBF", 3) ? raw + 3 : raw;
    char *out = malloc(2 * n + 1);
    assert_non_null(out);
    size_t o = 0;
    bool utf8 = valid_utf8((const unsigned char *)start);
    for (const unsigned char *p = (const unsigned char *)start; *p; p++) {
        if (*p == '\r') continue;
        if (utf8 || *p < 0x80) out[o++] = (char)*p;
        else {
            out[o++] = (char)(0xC0 | (*p >> 6));
            out[o++] = (char)(0x80 | (*p & 0x3F));
        }
    }
    out[o] = 0;
    free(raw);
    return out;
}

/* The batches of a script: the text between lines that hold only GO. Pointers into script,
 * whose GO lines are overwritten with NULs. */
static size_t split_batches(char *script, char **batches, size_t max) {
    size_t n = 0;
    char *start = script;
    for (char *line = script; line && *line;) {
        char *eol = strchr(line, '\n');
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        bool go = !strncasecmp(p, "go", 2);
        if (go) {
            p += 2;
            while (*p == ' ' || *p == '\t') p++;
            go = *p == '\n' || *p == 0 || !strncmp(p, "--", 2);
        }
        if (go) {
            *line = 0;
            if (n < max) batches[n++] = start;
            start = eol ? eol + 1 : line + strlen(line);
            if (eol) *eol = 0;
        }
        line = eol ? eol + 1 : NULL;
    }
    if (n < max && *start) batches[n++] = start;
    return n;
}

/* Text with leading and trailing white space (and carriage returns) removed, into out. */
static void trimmed(const char *s, char *out, size_t len) {
    while (*s && strchr(" \t\r\n", *s)) s++;
    size_t o = 0;
    for (; *s && o + 1 < len; s++)
        if (*s != '\r') out[o++] = *s;
    while (o && strchr(" \t\n", out[o - 1])) o--;
    out[o] = 0;
}

/* Text without any white space, into out. */
static void no_space(const char *s, char *out, size_t len) {
    size_t o = 0;
    for (; *s && o + 1 < len; s++)
        if (!strchr(" \t\r\n", *s)) out[o++] = *s;
    out[o] = 0;
}

/* The truth scripts that create the modules schema.json lists. */
static const struct {
    const char *truth, *script;
} SCRIPTS[] = {
    {"northwind", "instnwnd.sql"},
    {"pubs", "instpubs.sql"},
    {"tsql2012", "TSQL2012.sql"},
    {"tsqlv4", "TSQLV4.sql"},
};

typedef struct module_tally {
    unsigned modules, exact, loose, missing, mismatched;
} module_tally;

#define TEXT_MAX (1 << 20)

static void compare_module(module_tally *mt, const b2p_catalog *cat, const char *file, const char *category,
                           const mj_value *tm, char **batches, size_t nbatches) {
    const char *schema = mj_get_string(tm, "schema"), *name = mj_get_string(tm, "name");
    mt->modules++;
    const b2p_cat_module *m = schema && name ? b2p_catalog_find_module(cat, schema, name) : NULL;
    if (!m || !m->definition) {
        printf("    %s: %s %s.%s %s\n", file, category, schema, name, m ? "has no text" : "missing");
        mt->missing++;
        return;
    }
    bool kind_ok = !strcmp(category, "views") ? m->kind == B2P_MODULE_VIEW
                 : !strcmp(category, "procedures") ? m->kind == B2P_MODULE_PROCEDURE
                 : !strcmp(category, "triggers") ? m->kind == B2P_MODULE_TRIGGER
                 : m->kind == B2P_MODULE_SCALAR_FUNCTION || m->kind == B2P_MODULE_INLINE_FUNCTION ||
                       m->kind == B2P_MODULE_TABLE_FUNCTION;
    if (!kind_ok) fail_msg("%s: %s.%s is a %s, truth lists it under %s", file, schema, name, b2p_module_kind_name(m->kind), category);
    if (m->kind == B2P_MODULE_TRIGGER) {
        const b2p_cat_table *t = b2p_catalog_table_by_id(cat, m->parent_id);
        const char *table = mj_get_string(tm, "table");
        if (!t || !table || strcmp(t->name, table))
            fail_msg("%s: trigger %s is on %s, truth %s", file, name, t ? t->name : "?", table ? table : "?");
    }
    char *ours = malloc(TEXT_MAX), *theirs = malloc(TEXT_MAX);
    assert_non_null(ours);
    assert_non_null(theirs);
    trimmed(m->definition, ours, TEXT_MAX);
    bool exact = false, loose = false;
    for (size_t i = 0; i < nbatches && !exact; i++) {
        trimmed(batches[i], theirs, TEXT_MAX);
        exact = !strcmp(ours, theirs);
    }
    if (!exact) {
        no_space(m->definition, ours, TEXT_MAX);
        for (size_t i = 0; i < nbatches && !loose; i++) {
            no_space(batches[i], theirs, TEXT_MAX);
            loose = !strcmp(ours, theirs);
        }
    }
    if (exact) mt->exact++;
    else if (loose) mt->loose++;
    else {
        mt->mismatched++;
        printf("    %s: %s.%s: text differs from every batch of the script\n", file, schema, name);
    }
    free(ours);
    free(theirs);
}

/* Views, procedures, functions and triggers that truth/<db>/expected/schema.json lists: each is
 * in the catalog with the right kind (a trigger on the right table) and its text is the batch
 * of the truth script that created it: byte for byte after trimming, or (counted apart) equal
 * but for white space. */
static void test_module_texts(void **state) {
    (void)state;
    fixtures_require();
    match_row rows[128];
    size_t n = read_matches(rows, 128);
    module_tally total = {0};
    unsigned backups = 0;
    printf("\n  %-52s %-10s %7s %6s %6s\n", "backup", "truth", "modules", "exact", "loose");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].verdict, "likely-same-data")) continue;
        const char *script_name = NULL;
        for (size_t s = 0; s < sizeof SCRIPTS / sizeof *SCRIPTS; s++)
            if (!strcmp(SCRIPTS[s].truth, rows[i].truth)) script_name = SCRIPTS[s].script;
        if (!script_name) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/truth/%s/expected/schema.json", fixtures_dir(), rows[i].truth);
        mj_value *truth = mj_parse_file(path);
        assert_non_null(truth);
        snprintf(path, sizeof path, "%s/truth/%s/%s", fixtures_dir(), rows[i].truth, script_name);
        char *script = read_script(path);
        if (!script) fail_msg("cannot read %s", path);
        char **batches = malloc(20000 * sizeof *batches);
        assert_non_null(batches);
        size_t nbatches = split_batches(script, batches, 20000);
        const char *names[1] = {rows[i].file};
        loaded l;
        load(&l, names, 1);
        if (l.st) fail_msg("%s: %s", rows[i].file, l.err.msg);
        module_tally mt = {0};
        static const char *const CATEGORIES[] = {"views", "procedures", "functions", "triggers"};
        for (size_t c = 0; c < 4; c++) {
            const mj_value *list = mj_get(truth, CATEGORIES[c]);
            for (size_t k = 0; list && list->type == MJ_ARRAY && k < list->n; k++)
                compare_module(&mt, l.cat, rows[i].file, CATEGORIES[c], &list->items[k], batches, nbatches);
        }
        printf("  %-52s %-10s %7u %6u %6u\n", rows[i].file, rows[i].truth, mt.modules, mt.exact, mt.loose);
        assert_int_equal(mt.missing, 0);
        assert_int_equal(mt.mismatched, 0);
        total.modules += mt.modules;
        total.exact += mt.exact;
        total.loose += mt.loose;
        backups++;
        unload(&l);
        free(batches);
        free(script);
        mj_free(truth);
    }
    printf("  %u backups: %u modules, %u texts equal to the script's batch, %u equal but for white space\n",
           backups, total.modules, total.exact, total.loose);
    assert_true(backups >= 9);
    assert_true(total.exact >= total.modules - 3 * 1); /* pubs' reptq1-3 were re-indented */
}

/* pubs: the employee_insupd trigger (FOR insert, UPDATE) and the alias types of truth's
 * user_types, with their base types and nullability. */
static void test_triggers_and_types(void **state) {
    (void)state;
    const char *names[1] = {"pubs_2012rtm_modified_ugr95.bak"};
    loaded l;
    load(&l, names, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    const b2p_cat_module *tr = b2p_catalog_find_module(l.cat, "dbo", "employee_insupd");
    assert_non_null(tr);
    assert_int_equal(tr->kind, B2P_MODULE_TRIGGER);
    assert_true(tr->trigger_timing_known);
    assert_false(tr->instead_of);
    assert_int_equal(tr->trigger_events, B2P_TRIGGER_INSERT | B2P_TRIGGER_UPDATE);
    assert_false(tr->disabled);
    char path[4096];
    snprintf(path, sizeof path, "%s/truth/pubs/expected/schema.json", fixtures_dir());
    mj_value *truth = mj_parse_file(path);
    assert_non_null(truth);
    const mj_value *types = mj_get(truth, "user_types");
    assert_non_null(types);
    assert_true(types->n >= 3);
    for (size_t i = 0; i < types->n; i++) {
        const char *name = mj_get_string(&types->items[i], "name"), *base = mj_get_string(&types->items[i], "base");
        const b2p_cat_type *ty = NULL;
        for (size_t k = 0; k < l.cat->ntypes; k++)
            if (!strcmp(l.cat->types[k].name, name)) ty = &l.cat->types[k];
        if (!ty) fail_msg("alias type %s missing", name);
        char ours[64];
        snprintf(ours, sizeof ours, "%s(%d)", ty->base_name, ty->max_length);
        assert_int_equal(ty->kind, B2P_TYPE_ALIAS);
        assert_string_equal(ty->schema, "dbo");
        if (strcmp(ours, base)) fail_msg("type %s is %s, truth %s", name, ours, base);
        assert_int_equal(ty->nullable, truth_bool(&types->items[i], "nullable"));
    }
    assert_int_equal(l.cat->ntypes, types->n);
    /* the columns of those types name them */
    const b2p_cat_table *authors = b2p_catalog_find_table(l.cat, "dbo", "authors");
    assert_non_null(authors);
    assert_string_equal(authors->columns[0].user_type, "id");
    mj_free(truth);
    unload(&l);
}

/* ---- extended properties: a real sysxprops page given new rows -------------------------- */

#define SYSXPROPS_AU ((1ull << 48) | (49ull << 16))

/* A sysxprops record (class, id, subid | name, value as an nvarchar sql_variant). */
static size_t xprop_record(uint8_t *rec, uint8_t class_, int32_t id, int32_t subid, const char *name, const char *value) {
    uint8_t uname[256], uvalue[512];
    size_t nn = 0, nv = 0;
    for (const char *p = name; *p; p++, nn += 2) b2p_put_le16(uname + nn, (uint8_t)*p);
    /* value: ASCII, except that "\xC3\xBC" (u-umlaut in UTF-8) is stored as U+00FC */
    for (const char *p = value; *p; p++, nv += 2) {
        if ((uint8_t)p[0] == 0xC3 && (uint8_t)p[1] == 0xBC) {
            b2p_put_le16(uvalue + nv, 0xFC);
            p++;
        } else b2p_put_le16(uvalue + nv, (uint8_t)*p);
    }
    size_t o = 0;
    rec[o++] = 0x30;
    rec[o++] = 0;
    b2p_put_le16(rec + o, 13);
    o += 2;
    rec[o++] = class_;
    b2p_put_le32(rec + o, (uint32_t)id);
    o += 4;
    b2p_put_le32(rec + o, (uint32_t)subid);
    o += 4;
    b2p_put_le16(rec + o, 5); /* columns */
    o += 2;
    rec[o++] = 0;             /* null bitmap */
    b2p_put_le16(rec + o, 2); /* variable columns */
    o += 2;
    size_t ends = o;
    o += 4;
    memcpy(rec + o, uname, nn);
    o += nn;
    b2p_put_le16(rec + ends, (uint16_t)o);
    rec[o++] = 231;           /* sql_variant: nvarchar, version 1, max length, collation */
    rec[o++] = 1;
    b2p_put_le16(rec + o, 8000);
    o += 2;
    b2p_put_le32(rec + o, 0x3400D008u);
    o += 4;
    memcpy(rec + o, uvalue, nv);
    o += nv;
    b2p_put_le16(rec + ends + 2, (uint16_t)o);
    return o;
}

/* Puts rec on the page and points slot `slot` at it. */
static void place_record(uint8_t *page, uint16_t slot, const uint8_t *rec, size_t len) {
    uint16_t nslots = b2p_le16(page + 22), free_data = b2p_le16(page + 30);
    assert_true(slot < nslots);
    assert_true(free_data + len <= B2P_PAGE_SIZE - 2u * nslots);
    memcpy(page + free_data, rec, len);
    b2p_put_le16(page + B2P_PAGE_SIZE - 2 * (slot + 1), free_data);
    b2p_put_le16(page + 30, (uint16_t)(free_data + len));
    b2p_put_le16(page + 28, (uint16_t)(b2p_le16(page + 28) - len));
    b2p_put_le16(page + 4, b2p_le16(page + 4) & ~0x300u); /* no checksum any more */
}

/* pubs as it is: dbo.sysdiagrams carries SSMS's microsoft_database_tools_support, no other table
 * does (its diagram procedures carry it too). Then a copy whose sysxprops page holds MS_Description rows for dbo.authors, its column
 * au_lname and the view titleview (in place of three tools-support rows): the catalog gives
 * them to the table, the column and the module, non-ASCII text intact. */
static void test_extended_properties(void **state) {
    (void)state;
    const char *names[1] = {"pubs_2012rtm_modified_ugr95.bak"};
    loaded l;
    load(&l, names, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    assert_false(l.cat->xprops_unreadable);
    assert_true(l.cat->nxprops >= 3);
    for (size_t t = 0; t < l.cat->ntables; t++) {
        const b2p_cat_table *tb = &l.cat->tables[t];
        assert_int_equal(tb->tools_support, !strcmp(tb->name, "sysdiagrams"));
        assert_null(tb->description);
    }
    /* and SSMS's diagram procedures, not the user's */
    assert_true(b2p_catalog_find_module(l.cat, "dbo", "sp_creatediagram")->tools_support);
    assert_false(b2p_catalog_find_module(l.cat, "dbo", "byroyalty")->tools_support);
    const b2p_cat_table *authors = b2p_catalog_find_table(l.cat, "dbo", "authors");
    const b2p_cat_module *view = b2p_catalog_find_module(l.cat, "dbo", "titleview");
    assert_non_null(authors);
    assert_non_null(view);
    page_set ps = {0};
    b2p_error err = {0};
    assert_int_equal(b2p_pages_foreach(l.src, keep_page, &ps, &err), 0);
    uint8_t *page = NULL;
    for (size_t i = 0; i < ps.n && !page; i++) {
        uint8_t *p = ps.units + i * B2P_PAGE_SIZE;
        b2p_page_header h;
        if (!b2p_page_header_parse(p, b2p_le16(p + 36), b2p_le32(p + 32), &h, &err) && h.type == B2P_PAGE_DATA &&
            h.auid == SYSXPROPS_AU && h.slot_count >= 3)
            page = p;
    }
    assert_non_null(page);
    uint8_t rec[1024];
    place_record(page, 0, rec, xprop_record(rec, 1, authors->object_id, 0, "MS_Description", "Authors of the books"));
    place_record(page, 1, rec, xprop_record(rec, 1, authors->object_id, 2, "MS_Description", "Last name (M\xC3\xBCller)"));
    place_record(page, 2, rec, xprop_record(rec, 1, view->object_id, 0, "MS_Description", "Titles and their authors"));
    char dir[] = "/tmp/b2p_xprops_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/described.bak", dir);
    write_backup(path, b2p_pages_set(l.src), ps.units, ps.n);
    const char *derived[1] = {path};
    loaded d;
    load_paths(&d, derived, 1, false);
    if (d.st) fail_msg("described copy: %s", d.err.msg);
    const b2p_cat_table *a = b2p_catalog_find_table(d.cat, "dbo", "authors");
    assert_non_null(a);
    assert_non_null(a->description);
    assert_string_equal(a->description, "Authors of the books");
    const b2p_cat_column *lname = b2p_table_column(a, 2);
    assert_non_null(lname);
    assert_string_equal(lname->name, "au_lname");
    assert_non_null(lname->description);
    assert_string_equal(lname->description, "Last name (M\xC3\xBCller)");
    assert_null(b2p_table_column(a, 1)->description);
    const b2p_cat_module *v = b2p_catalog_find_module(d.cat, "dbo", "titleview");
    assert_non_null(v);
    assert_non_null(v->description);
    assert_string_equal(v->description, "Titles and their authors");
    printf("\n  MS_Description read back: table \"%s\", column \"%s\", view \"%s\"\n", a->description,
           lname->description, v->description);
    unload(&d);
    unlink(path);
    rmdir(dir);
    free(ps.units);
    unload(&l);
}

/* ---- unsupported objects ------------------------------------------------------------------ */

static size_t count_unsupported(const b2p_catalog *cat, const char *kind) {
    size_t n = 0;
    for (size_t i = 0; i < cat->nunsupported; i++) n += !strcmp(cat->unsupported[i].kind, kind);
    return n;
}

/* Runs B2P_BIN with the arguments and returns its standard output (malloc'd), or NULL when
 * B2P_BIN is not set. */
static char *run_cli(const char *args) {
    const char *bin = getenv("B2P_BIN");
    if (!bin) return NULL;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n, p)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    buf[n] = 0;
    assert_int_equal(pclose(p), 0);
    return buf;
}

/* TSQL2012 holds two sequences, dbareports thirteen table types: the catalog lists each by kind
 * and name under "unsupported" (table types also as types of kind table), and `bak2pg schema`
 * shows them in text and JSON. Storage kind, compression and LOB flags of a few tables. */
static void test_unsupported_listing(void **state) {
    (void)state;
    const char *tsql[1] = {"tsql2012_2016sp1_COMPRESSED_joeycheung.bak"};
    loaded l;
    load(&l, tsql, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    assert_int_equal(count_unsupported(l.cat, "sequence"), 2);
    assert_int_equal(l.cat->nunsupported, 2);
    assert_string_equal(l.cat->unsupported[0].name, "DetailSequenceId");
    assert_string_equal(l.cat->unsupported[1].name, "MasterSequenceId");
    assert_string_equal(l.cat->unsupported[0].schema, "SequenceIdInsert");
    /* storage: a PAGE-compressed history table, clustered and heap tables */
    const b2p_cat_table *hist = b2p_catalog_find_table(l.cat, "HR", "EmployeesHistory");
    if (hist) {
        assert_true(hist->npartitions >= 1);
        assert_string_equal(b2p_compression_name(hist->partitions[0].compression), "page");
    }
    unload(&l);

    const char *dba[1] = {"dbareports_2008r2rtm_appveyor.bak"};
    load(&l, dba, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    assert_int_equal(count_unsupported(l.cat, "table type"), 13);
    size_t table_types = 0;
    for (size_t i = 0; i < l.cat->ntypes; i++) table_types += l.cat->types[i].kind == B2P_TYPE_TABLE;
    assert_int_equal(table_types, 13);
    bool version = false;
    for (size_t i = 0; i < l.cat->nxprops; i++)
        if (l.cat->xprops[i].class_ == 0 && !strcmp(l.cat->xprops[i].name, "dbareports version"))
            version = l.cat->xprops[i].value && !strcmp(l.cat->xprops[i].value, "0.0.4");
    assert_true(version);
    unload(&l);

    const char *nw[1] = {"northwind_2008rtm_thuyluv.bak"};
    load(&l, nw, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    assert_int_equal(l.cat->nunsupported, 0);
    const b2p_cat_table *emp = b2p_catalog_find_table(l.cat, "dbo", "Employees");
    assert_non_null(emp);
    assert_false(emp->is_heap);
    assert_false(emp->is_memory_optimized);
    assert_false(emp->has_filestream);
    assert_true(emp->partitions[0].has_lob); /* Photo (image) and Notes (ntext) */
    assert_false(emp->partitions[0].has_row_overflow);
    assert_string_equal(b2p_compression_name(emp->partitions[0].compression), "none");
    unload(&l);
    const char *pubs[1] = {"pubs_2012rtm_modified_ugr95.bak"};
    load(&l, pubs, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    const b2p_cat_table *roysched = b2p_catalog_find_table(l.cat, "dbo", "roysched");
    assert_non_null(roysched);
    assert_true(roysched->is_heap); /* only a nonclustered index */
    assert_int_equal(roysched->partitions[0].index_id, 0);
    unload(&l);

    char args[4096];
    snprintf(args, sizeof args, "schema '%s'", fixture_path("tsql2012_2016sp1_COMPRESSED_joeycheung.bak"));
    char *text = run_cli(args);
    if (!text) {
        printf("\n  B2P_BIN not set: the CLI output is not checked\n");
        return;
    }
    assert_non_null(strstr(text, "\nUnsupported (in the catalog, not represented by bak2pg yet):\n"));
    assert_non_null(strstr(text, "    sequence SequenceIdInsert.DetailSequenceId\n"));
    assert_non_null(strstr(text, "Inline table function \"dbo.GetNums\""));
    free(text);
    snprintf(args, sizeof args, "schema --json '%s'", fixture_path("tsql2012_2016sp1_COMPRESSED_joeycheung.bak"));
    char *json_text = run_cli(args);
    size_t where = 0;
    mj_value *doc = mj_parse(json_text, &where);
    assert_non_null(doc);
    const mj_value *un = mj_get(doc, "unsupported");
    assert_non_null(un);
    assert_int_equal(un->n, 2);
    assert_string_equal(mj_get_string(&un->items[0], "kind"), "sequence");
    assert_string_equal(mj_get_string(&un->items[1], "name"), "MasterSequenceId");
    const mj_value *mods = mj_get(doc, "modules");
    assert_non_null(mods);
    bool getnums = false;
    for (size_t i = 0; i < mods->n; i++)
        if (!strcmp(mj_get_string(&mods->items[i], "name"), "GetNums"))
            getnums = mj_get_string(&mods->items[i], "definition") != NULL &&
                      !strcmp(mj_get_string(&mods->items[i], "kind"), "inline table function");
    assert_true(getnums);
    mj_free(doc);
    free(json_text);
}

/* ---- off-row module text ------------------------------------------------------------------ */

#define SYSOBJVALUES_AU ((1ull << 48) | (60ull << 16))

#define LOB_ROWS_MAX 4096

typedef struct lob_rows {
    size_t n;
    uint8_t *bytes[LOB_ROWS_MAX];
    size_t len[LOB_ROWS_MAX];
} lob_rows;

static int keep_lob_cells(void *ctx, const b2p_cell *cells, size_t ncells, const b2p_row_where *where) {
    (void)where;
    lob_rows *lr = ctx;
    assert_int_equal(ncells, 2);
    if (cells[1].is_null || !cells[0].len) return 0;
    assert_true(lr->n < LOB_ROWS_MAX);
    lr->bytes[lr->n] = malloc(cells[1].len ? cells[1].len : 1);
    assert_non_null(lr->bytes[lr->n]);
    if (cells[1].len) memcpy(lr->bytes[lr->n], cells[1].bytes, cells[1].len);
    lr->len[lr->n++] = cells[1].len;
    return 0;
}

/* Columns added by ALTER TABLE ... ADD ... DEFAULT on a populated table: rows written before
 * the ALTER hold no cell, and the value they must read as lives in sysseobjvalues. */
static const b2p_cat_rscol *rscol_named(const b2p_cat_table *t, const char *column) {
    int32_t id = 0;
    for (size_t i = 0; i < t->ncolumns; i++)
        if (!strcmp(t->columns[i].name, column)) id = t->columns[i].column_id;
    assert_true(id > 0);
    for (size_t i = 0; i < t->partitions[0].nrscols; i++)
        if (t->partitions[0].rscols[i].column_id == (uint32_t)id) return &t->partitions[0].rscols[i];
    fail_msg("no partition column for %s", column);
    return NULL;
}

static void test_online_added_defaults(void **state) {
    (void)state;
    const char *tsql[1] = {"tsql2012_2016sp1_COMPRESSED_joeycheung.bak"};
    loaded l;
    load(&l, tsql, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    const b2p_cat_table *emp = b2p_catalog_find_table(l.cat, "dbo", "Employees"); /* temporal */
    assert_non_null(emp);
    const b2p_cat_rscol *hire = rscol_named(emp, "hiredate");
    assert_true(hire->has_default);
    assert_int_equal(hire->default_len, 3); /* date 1900-01-01 = day 693595 */
    assert_memory_equal(hire->default_value, "\x5b\x95\x0a", 3);
    assert_false(rscol_named(emp, "empname")->has_default); /* created with the table */
    unload(&l);

    const char *school[1] = {"schooldb_2022rtm_COMPRESSED_belal.bak"};
    load(&l, school, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    size_t empty_defaults = 0;
    for (size_t t = 0; t < l.cat->ntables; t++) {
        const b2p_cat_table *tb = &l.cat->tables[t];
        for (size_t p = 0; p < tb->npartitions; p++)
            for (size_t c = 0; c < tb->partitions[p].nrscols; c++) {
                const b2p_cat_rscol *rc = &tb->partitions[p].rscols[c];
                if (rc->has_default && rc->default_len == 0) empty_defaults++; /* '' */
            }
    }
    assert_int_equal(empty_defaults, 2); /* users.FirstName, users.LastName */
    unload(&l);
}

/* No fixture holds a module text long enough to be stored off-row, but sysobjvalues holds other
 * values as in-row LOB roots (0x04). pubs: every such pointer read by b2p_lob_value gives bytes
 * that the row reader (rows.c, a separate implementation) also assembles. Then a copy whose first
 * such row is made the text of the view titleview (valclass 1, objid, subobjid 0; the view's
 * own text row moved to another class): the catalog reads the view's definition through the
 * LOB chain. */
static void test_off_row_text(void **state) {
    (void)state;
    const char *names[1] = {"pubs_2012rtm_modified_ugr95.bak"};
    loaded l;
    load(&l, names, 1);
    if (l.st) fail_msg("%s", l.err.msg);
    const b2p_cat_module *view = b2p_catalog_find_module(l.cat, "dbo", "titleview");
    assert_non_null(view);
    assert_non_null(view->definition);
    page_set ps = {0};
    b2p_error err = {0};
    assert_int_equal(b2p_pages_foreach(l.src, keep_page, &ps, &err), 0);
    /* sysobjvalues: valclass tinyint at 4, objid at 5, subobjid at 9; imageval variable column 1
     * (null bit 6), as its sysrscols rows say on this version */
    b2p_column_layout valclass = {.leaf_offset = 4, .null_bit = 1, .xtype = 48, .fixed_len = 1};
    b2p_column_layout imageval = {.leaf_offset = -2, .null_bit = 6, .xtype = 165};
    lob_rows *direct = calloc(1, sizeof *direct), *scanned = calloc(1, sizeof *scanned);
    assert_non_null(direct);
    assert_non_null(scanned);
    uint8_t *first_page = NULL, *text_page = NULL;
    uint16_t first_slot = 0, text_slot = 0;
    for (size_t i = 0; i < ps.n; i++) {
        uint8_t *p = ps.units + i * B2P_PAGE_SIZE;
        b2p_page_header h;
        if (b2p_page_header_parse(p, b2p_le16(p + 36), b2p_le32(p + 32), &h, &err) || h.type != B2P_PAGE_DATA ||
            h.auid != SYSOBJVALUES_AU)
            continue;
        for (uint16_t s = 0; s < h.slot_count; s++) {
            b2p_record r;
            if (b2p_page_record(p, &h, s, &r, &err) || !b2p_record_is_live_row(&r)) continue;
            if (b2p_le32(r.data + 5) == (uint32_t)view->object_id && r.data[4] == 1 && b2p_le32(r.data + 9) == 0) {
                text_page = p;
                text_slot = s;
            }
            b2p_column_bytes cb;
            assert_int_equal(b2p_record_column(&r, &imageval, &cb, &err), B2P_OK);
            if (cb.is_null || !cb.complex) continue;
            assert_true(direct->n < LOB_ROWS_MAX);
            assert_int_equal(cb.bytes[0], 0x04);
            uint8_t *v = NULL;
            size_t len = 0;
            if (b2p_lob_value(l.src, cb.bytes, cb.len, &v, &len, &err)) fail_msg("%s", err.msg);
            direct->bytes[direct->n] = v;
            direct->len[direct->n++] = len;
            if (!first_page) {
                first_page = p;
                first_slot = s;
            }
        }
    }
    assert_true(direct->n >= 2);
    assert_non_null(text_page);
    /* the same values through the row reader, along sysobjvalues' IAM chain */
    b2p_au_ref au = {0};
    for (size_t i = 0; i < ps.n && !au.auid; i++) {
        uint8_t *p = ps.units + i * B2P_PAGE_SIZE;
        b2p_page_header h;
        if (!b2p_page_header_parse(p, b2p_le16(p + 36), b2p_le32(p + 32), &h, &err) && h.type == B2P_PAGE_IAM &&
            h.auid == SYSOBJVALUES_AU) {
            au.auid = SYSOBJVALUES_AU;
            au.first_iam = h.self;
        }
    }
    assert_true(au.auid != 0);
    b2p_column_layout cols[2] = {valclass, imageval};
    b2p_rowset_ref rs = {.in_row = au, .method = B2P_SCAN_IAM, .ncols = 2, .cols = cols};
    assert_int_equal(b2p_rows_scan(l.src, &rs, keep_lob_cells, scanned, NULL, &err), B2P_OK);
    for (size_t i = 0; i < direct->n; i++) {
        bool found = false;
        for (size_t k = 0; k < scanned->n && !found; k++)
            found = scanned->len[k] == direct->len[i] && !memcmp(scanned->bytes[k], direct->bytes[i], direct->len[i]);
        if (!found) fail_msg("off-row value %zu (%zu bytes) not among the row reader's values", i, direct->len[i]);
    }
    printf("\n  %zu off-row sysobjvalues values read by b2p_lob_value equal the row reader's (%zu to %zu bytes)\n",
           direct->n, direct->len[0], direct->len[direct->n - 1]);
    size_t lob_len = direct->len[0];
    for (size_t i = 0; i < direct->n; i++) free(direct->bytes[i]);
    for (size_t i = 0; i < scanned->n; i++) free(scanned->bytes[i]);
    free(direct);
    free(scanned);

    /* the copy: the view's text row becomes class 99, the first off-row row becomes its text */
    b2p_page_header h;
    b2p_record r;
    assert_int_equal(b2p_page_header_parse(text_page, b2p_le16(text_page + 36), b2p_le32(text_page + 32), &h, &err), B2P_OK);
    assert_int_equal(b2p_page_record(text_page, &h, text_slot, &r, &err), B2P_OK);
    ((uint8_t *)r.data)[4] = 99;
    b2p_put_le16(text_page + 4, b2p_le16(text_page + 4) & ~0x300u);
    assert_int_equal(b2p_page_header_parse(first_page, b2p_le16(first_page + 36), b2p_le32(first_page + 32), &h, &err), B2P_OK);
    assert_int_equal(b2p_page_record(first_page, &h, first_slot, &r, &err), B2P_OK);
    ((uint8_t *)r.data)[4] = 1;
    b2p_put_le32((uint8_t *)r.data + 5, (uint32_t)view->object_id);
    b2p_put_le32((uint8_t *)r.data + 9, 0);
    b2p_put_le16(first_page + 4, b2p_le16(first_page + 4) & ~0x300u);
    char dir[] = "/tmp/b2p_lobtext_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/long.bak", dir);
    write_backup(path, b2p_pages_set(l.src), ps.units, ps.n);
    const char *derived[1] = {path};
    loaded d;
    load_paths(&d, derived, 1, false);
    if (d.st) fail_msg("copy: %s", d.err.msg);
    const b2p_cat_module *v = b2p_catalog_find_module(d.cat, "dbo", "titleview");
    assert_non_null(v);
    assert_non_null(v->definition);
    assert_int_equal(d.cat->texts_unreadable, 0);
    assert_true(strcmp(v->definition, view->definition) != 0);
    printf("  titleview's text read through its LOB chain (%zu bytes stored)\n", lob_len);
    unload(&d);
    unlink(path);
    rmdir(dir);
    free(ps.units);
    unload(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_header_and_record),
        cmocka_unit_test(test_damaged_pages),
        cmocka_unit_test(test_mutated_records),
        cmocka_unit_test(test_catalog_matches_truth),
        cmocka_unit_test(test_catalog_details),
        cmocka_unit_test(test_every_full_backup_loads),
        cmocka_unit_test(test_damaged_catalogs),
        cmocka_unit_test(test_module_texts),
        cmocka_unit_test(test_triggers_and_types),
        cmocka_unit_test(test_extended_properties),
        cmocka_unit_test(test_unsupported_listing),
        cmocka_unit_test(test_off_row_text),
        cmocka_unit_test(test_online_added_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
