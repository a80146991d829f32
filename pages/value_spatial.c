/* pages/value_spatial.c: geometry/geography (MS-SSCLRT serialization) -> ISO WKB as bytea
 * hex text, or (option B2P_VALUE_SPATIAL_WKT) EWKT text "SRID=n;POINT (x y)".
 *
 * Layout (pages.md 6 "geography / geometry", MS-SSCLRT 2.1): i32 SRID, u8 version (1, or 2
 * with curves), u8 flags (0x01 Z, 0x02 M, 0x04 valid, 0x08 single point, 0x10 single line
 * segment, 0x20 larger than a hemisphere); then either one point / one segment, or
 * u32 points + 16-byte points, Z and M arrays, u32 figures + {u8 attribute, i32 first point},
 * u32 shapes + {i32 parent, i32 first figure, u8 OGC type}, and for version 2 u32 segments
 * + segment type bytes. geography stores latitude before longitude; WKB/WKT want x =
 * longitude first. The SRID is not part of ISO WKB and is dropped there.
 *
 * Not decoded (B2P_ERR_UNSUPPORTED): the version-2 curve types (circular string, compound
 * curve, curve polygon, full globe) and arc figures. */
#include "pages/value_int.h"

#include <math.h>
#include <string.h>

typedef struct geo {
    bool geography, has_z, has_m;
    int32_t srid;
    uint32_t npoints, nfigs, nshapes;
    const uint8_t *points, *z, *m, *figs, *shapes;
    /* synthesized figure/shape for the single point / single segment forms */
    uint8_t one_fig[5], one_shape[9];
} geo;

enum { GT_POINT = 1, GT_LINESTRING, GT_POLYGON, GT_MULTIPOINT, GT_MULTILINESTRING, GT_MULTIPOLYGON, GT_COLLECTION };

static int32_t fig_point(const geo *g, uint32_t f) { return (int32_t)b2p_le32(g->figs + 5 * (size_t)f + 1); }
static int32_t shape_parent(const geo *g, uint32_t s) { return (int32_t)b2p_le32(g->shapes + 9 * (size_t)s); }
static int32_t shape_fig(const geo *g, uint32_t s) { return (int32_t)b2p_le32(g->shapes + 9 * (size_t)s + 4); }
static uint8_t shape_type(const geo *g, uint32_t s) { return g->shapes[9 * (size_t)s + 8]; }

static double dbl(const uint8_t *p) {
    uint64_t u = b2p_le64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Coordinates of point i in WKB order: x, y, then z, m when present. */
static int coords(const geo *g, uint32_t i, double c[4]) {
    const uint8_t *p = g->points + 16 * (size_t)i;
    int n = 0;
    c[n++] = g->geography ? dbl(p + 8) : dbl(p);
    c[n++] = g->geography ? dbl(p) : dbl(p + 8);
    if (g->has_z) c[n++] = dbl(g->z + 8 * (size_t)i);
    if (g->has_m) c[n++] = dbl(g->m + 8 * (size_t)i);
    return n;
}

/* Points of figure f: [*a, *b). */
static void fig_range(const geo *g, uint32_t f, uint32_t *a, uint32_t *b) {
    *a = (uint32_t)fig_point(g, f);
    *b = f + 1 < g->nfigs ? (uint32_t)fig_point(g, f + 1) : g->npoints;
}

/* Figures of leaf shape s: [*a, *b); empty when the shape has none (figure offset -1). */
static void shape_figs(const geo *g, uint32_t s, uint32_t *a, uint32_t *b) {
    int32_t f = shape_fig(g, s);
    *a = *b = 0;
    if (f < 0) return;
    *a = (uint32_t)f;
    *b = g->nfigs;
    for (uint32_t k = s + 1; k < g->nshapes; k++)
        if (shape_fig(g, k) >= 0) {
            *b = (uint32_t)shape_fig(g, k);
            break;
        }
}

/* ---- parsing and validation ------------------------------------------------------------- */

static b2p_status need(size_t have, size_t want, b2p_error *err) {
    if (have >= want) return B2P_OK;
    return b2p_fail(err, B2P_ERR_CORRUPT, "spatial value is truncated (%zu bytes, need %zu)", have, want);
}

/* Reads u32 count of elem-byte items at *pos; returns the items and advances. */
static b2p_status read_array(const uint8_t *p, size_t len, size_t *pos, size_t elem, uint32_t *count,
                             const uint8_t **items, b2p_error *err) {
    b2p_status st = need(len - *pos, 4, err);
    if (st != B2P_OK) return st;
    *count = b2p_le32(p + *pos);
    *pos += 4;
    if (*count > (len - *pos) / elem) return need(len - *pos, (size_t)*count * elem, err);
    *items = p + *pos;
    *pos += (size_t)*count * elem;
    return B2P_OK;
}

static b2p_status check_structure(const geo *g, uint8_t version, b2p_error *err) {
    for (uint32_t f = 0; f < g->nfigs; f++) {
        uint8_t attr = g->figs[5 * (size_t)f];
        int32_t pt = fig_point(g, f);
        int32_t prev = f ? fig_point(g, f - 1) : 0;
        if (pt < prev || (uint32_t)pt > g->npoints)
            return b2p_fail(err, B2P_ERR_CORRUPT, "spatial figure %lu has point offset %ld", (unsigned long)f, (long)pt);
        if (version >= 2 && attr >= 2)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED, "spatial value has arc figures (curves are not decoded)");
    }
    for (uint32_t s = 0; s < g->nshapes; s++) {
        int32_t parent = shape_parent(g, s), f = shape_fig(g, s);
        uint8_t type = shape_type(g, s);
        if ((s == 0) != (parent == -1) || (s > 0 && (parent < 0 || (uint32_t)parent >= s)))
            return b2p_fail(err, B2P_ERR_CORRUPT, "spatial shape %lu has parent %ld", (unsigned long)s, (long)parent);
        if (f < -1 || (f >= 0 && (uint32_t)f >= g->nfigs))
            return b2p_fail(err, B2P_ERR_CORRUPT, "spatial shape %lu has figure offset %ld", (unsigned long)s, (long)f);
        if (type < GT_POINT || type > GT_COLLECTION) {
            if (type >= 8 && type <= 11)
                return b2p_fail(err, B2P_ERR_UNSUPPORTED, "spatial shape type %u (curve or full globe) is not decoded", type);
            return b2p_fail(err, B2P_ERR_CORRUPT, "spatial shape %lu has type %u", (unsigned long)s, type);
        }
        if (parent >= 0) {
            uint8_t pt = shape_type(g, (uint32_t)parent);
            bool fits = pt == GT_COLLECTION || (pt == GT_MULTIPOINT && type == GT_POINT) ||
                        (pt == GT_MULTILINESTRING && type == GT_LINESTRING) || (pt == GT_MULTIPOLYGON && type == GT_POLYGON);
            if (!fits) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial shape %lu (type %u) cannot be inside type %u",
                                       (unsigned long)s, type, pt);
        }
    }
    if (g->nshapes == 0) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial value has no shapes");
    return B2P_OK;
}

static b2p_status parse(geo *g, bool geography, const uint8_t *p, size_t len, b2p_error *err) {
    memset(g, 0, sizeof *g);
    g->geography = geography;
    b2p_status st = need(len, 6, err);
    if (st != B2P_OK) return st;
    g->srid = (int32_t)b2p_le32(p);
    uint8_t version = p[4], flags = p[5];
    if (g->srid == -1) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial value carries the NULL marker (SRID -1)");
    if (version != 1 && version != 2) return b2p_fail(err, B2P_ERR_UNSUPPORTED, "spatial serialization version %u", version);
    g->has_z = flags & 0x01;
    g->has_m = flags & 0x02;
    size_t pos = 6, dims = 2 + g->has_z + g->has_m;
    if (flags & (0x08 | 0x10)) { /* single point / single line segment */
        g->npoints = flags & 0x08 ? 1 : 2;
        st = need(len, pos + g->npoints * 8 * dims, err);
        if (st != B2P_OK) return st;
        if (len != pos + g->npoints * 8 * dims)
            return b2p_fail(err, B2P_ERR_CORRUPT, "spatial point/segment value has %zu bytes", len);
        g->points = p + pos;
        g->z = g->has_z ? g->points + 16 * g->npoints : NULL;
        g->m = g->has_m ? g->points + 16 * g->npoints + (g->has_z ? 8 * g->npoints : 0) : NULL;
        g->nfigs = g->nshapes = 1;
        g->one_fig[0] = 1; /* stroke; point offset 0 */
        b2p_put_le32(g->one_shape, (uint32_t)-1);
        g->one_shape[8] = flags & 0x08 ? GT_POINT : GT_LINESTRING;
        g->figs = g->one_fig;
        g->shapes = g->one_shape;
        return B2P_OK;
    }
    st = read_array(p, len, &pos, 16, &g->npoints, &g->points, err);
    if (st == B2P_OK && g->has_z) {
        g->z = p + pos;
        st = need(len - pos, 8 * (size_t)g->npoints, err);
        pos += 8 * (size_t)g->npoints;
    }
    if (st == B2P_OK && g->has_m) {
        g->m = p + pos;
        st = need(len - pos, 8 * (size_t)g->npoints, err);
        pos += 8 * (size_t)g->npoints;
    }
    if (st == B2P_OK) st = read_array(p, len, &pos, 5, &g->nfigs, &g->figs, err);
    if (st == B2P_OK) st = read_array(p, len, &pos, 9, &g->nshapes, &g->shapes, err);
    if (st == B2P_OK && version == 2 && pos < len) {
        uint32_t nseg;
        const uint8_t *segs;
        st = read_array(p, len, &pos, 1, &nseg, &segs, err);
        if (st == B2P_OK && nseg > 0)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED, "spatial value has curve segments (not decoded)");
    }
    if (st == B2P_OK && pos != len)
        return b2p_fail(err, B2P_ERR_CORRUPT, "spatial value has %zu bytes after its shapes", len - pos);
    if (st == B2P_OK) st = check_structure(g, version, err);
    return st;
}

/* ---- WKB ---------------------------------------------------------------------------------- */

static b2p_status wkb_u32(b2p_buf *w, uint32_t v, b2p_error *err) {
    uint8_t b[4];
    b2p_put_le32(b, v);
    return b2p_buf_append(w, b, 4, err);
}

static b2p_status wkb_header(const geo *g, b2p_buf *w, unsigned type, b2p_error *err) {
    uint8_t order = 1; /* little-endian */
    b2p_status st = b2p_buf_append(w, &order, 1, err);
    if (st != B2P_OK) return st;
    return wkb_u32(w, type + (g->has_z ? 1000u : 0u) + (g->has_m ? 2000u : 0u), err);
}

static b2p_status wkb_point_coords(const geo *g, b2p_buf *w, uint32_t i, b2p_error *err) {
    double c[4];
    int n = coords(g, i, c);
    b2p_status st = B2P_OK;
    for (int k = 0; k < n && st == B2P_OK; k++) {
        uint8_t b[8];
        uint64_t u;
        memcpy(&u, &c[k], sizeof u);
        b2p_put_le64(b, u);
        st = b2p_buf_append(w, b, 8, err);
    }
    return st;
}

static b2p_status wkb_points(const geo *g, b2p_buf *w, uint32_t f, b2p_error *err) {
    uint32_t a, b;
    fig_range(g, f, &a, &b);
    b2p_status st = wkb_u32(w, b - a, err);
    for (uint32_t i = a; i < b && st == B2P_OK; i++) st = wkb_point_coords(g, w, i, err);
    return st;
}

static b2p_status wkb_shape(const geo *g, b2p_buf *w, uint32_t s, int depth, b2p_error *err) {
    if (depth > 64) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial shapes nest too deeply");
    uint8_t type = shape_type(g, s);
    b2p_status st = wkb_header(g, w, type, err);
    if (st != B2P_OK) return st;
    uint32_t fa, fb;
    shape_figs(g, s, &fa, &fb);
    switch (type) {
    case GT_POINT: {
        uint32_t a = 0, b = 0;
        if (fb > fa) fig_range(g, fa, &a, &b);
        if (fb - fa > 1 || b - a > 1) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial point with more than one point");
        if (b == a) { /* empty point: NaN coordinates, the usual WKB convention */
            double nan = NAN;
            uint64_t u;
            memcpy(&u, &nan, sizeof u);
            for (int k = 0; k < 2 + g->has_z + g->has_m && st == B2P_OK; k++) {
                uint8_t bb[8];
                b2p_put_le64(bb, u);
                st = b2p_buf_append(w, bb, 8, err);
            }
            return st;
        }
        return wkb_point_coords(g, w, a, err);
    }
    case GT_LINESTRING:
        if (fb - fa > 1) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial linestring with %lu figures", (unsigned long)(fb - fa));
        if (fb == fa) return wkb_u32(w, 0, err);
        return wkb_points(g, w, fa, err);
    case GT_POLYGON:
        st = wkb_u32(w, fb - fa, err);
        for (uint32_t f = fa; f < fb && st == B2P_OK; f++) st = wkb_points(g, w, f, err);
        return st;
    default: { /* multi* and collections: the child shapes */
        uint32_t n = 0;
        for (uint32_t k = s + 1; k < g->nshapes; k++) n += shape_parent(g, k) == (int32_t)s;
        st = wkb_u32(w, n, err);
        for (uint32_t k = s + 1; k < g->nshapes && st == B2P_OK; k++)
            if (shape_parent(g, k) == (int32_t)s) st = wkb_shape(g, w, k, depth + 1, err);
        return st;
    }
    }
}

/* ---- WKT ---------------------------------------------------------------------------------- */

static const char *const wkt_names[] = {"", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT",
                                        "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION"};

static b2p_status wkt_coords(const geo *g, b2p_buf *out, uint32_t i, b2p_error *err) {
    double c[4];
    int n = coords(g, i, c);
    b2p_status st = B2P_OK;
    for (int k = 0; k < n && st == B2P_OK; k++) {
        if (k) st = b2p_v_putc(out, ' ', err);
        /* Z and M may be NULL (stored as NaN) for single points */
        if (st == B2P_OK) st = isnan(c[k]) ? b2p_buf_puts(out, "NaN", err) : b2p_v_float8(out, c[k], err);
    }
    return st;
}

/* "(x y, x y)" for the points of figure f */
static b2p_status wkt_points(const geo *g, b2p_buf *out, uint32_t f, b2p_error *err) {
    uint32_t a, b;
    fig_range(g, f, &a, &b);
    if (a == b) return b2p_buf_puts(out, "EMPTY", err);
    b2p_status st = b2p_v_putc(out, '(', err);
    for (uint32_t i = a; i < b && st == B2P_OK; i++) {
        if (i > a) st = b2p_buf_puts(out, ", ", err);
        if (st == B2P_OK) st = wkt_coords(g, out, i, err);
    }
    return st == B2P_OK ? b2p_v_putc(out, ')', err) : st;
}

static b2p_status wkt_body(const geo *g, b2p_buf *out, uint32_t s, int depth, b2p_error *err);

static b2p_status wkt_tagged(const geo *g, b2p_buf *out, uint32_t s, int depth, b2p_error *err) {
    b2p_status st = b2p_buf_puts(out, wkt_names[shape_type(g, s)], err);
    if (st == B2P_OK && (g->has_z || g->has_m))
        st = b2p_buf_puts(out, g->has_z && g->has_m ? " ZM" : g->has_z ? " Z" : " M", err);
    if (st == B2P_OK) st = b2p_v_putc(out, ' ', err);
    return st == B2P_OK ? wkt_body(g, out, s, depth, err) : st;
}

static b2p_status wkt_body(const geo *g, b2p_buf *out, uint32_t s, int depth, b2p_error *err) {
    if (depth > 64) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial shapes nest too deeply");
    uint8_t type = shape_type(g, s);
    uint32_t fa, fb;
    shape_figs(g, s, &fa, &fb);
    b2p_status st = B2P_OK;
    if (type == GT_POINT || type == GT_LINESTRING) {
        if (fb - fa > 1) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial point/linestring with several figures");
        if (fb == fa) return b2p_buf_puts(out, "EMPTY", err);
        uint32_t a, b;
        fig_range(g, fa, &a, &b);
        if (type == GT_POINT && b - a > 1) return b2p_fail(err, B2P_ERR_CORRUPT, "spatial point with more than one point");
        return wkt_points(g, out, fa, err);
    }
    if (type == GT_POLYGON) {
        if (fb == fa) return b2p_buf_puts(out, "EMPTY", err);
        st = b2p_v_putc(out, '(', err);
        for (uint32_t f = fa; f < fb && st == B2P_OK; f++) {
            if (f > fa) st = b2p_buf_puts(out, ", ", err);
            if (st == B2P_OK) st = wkt_points(g, out, f, err);
        }
        return st == B2P_OK ? b2p_v_putc(out, ')', err) : st;
    }
    bool any = false;
    for (uint32_t k = s + 1; k < g->nshapes && st == B2P_OK; k++) {
        if (shape_parent(g, k) != (int32_t)s) continue;
        st = b2p_buf_puts(out, any ? ", " : "(", err);
        any = true;
        if (st != B2P_OK) break;
        /* members of a collection carry their own type; members of multi* do not */
        st = type == GT_COLLECTION ? wkt_tagged(g, out, k, depth + 1, err) : wkt_body(g, out, k, depth + 1, err);
    }
    if (st != B2P_OK) return st;
    return any ? b2p_v_putc(out, ')', err) : b2p_buf_puts(out, "EMPTY", err);
}

b2p_status b2p_v_spatial(b2p_buf *out, bool geography, bool wkt, const uint8_t *p, size_t len,
                         b2p_error *err) {
    geo g;
    b2p_status st = parse(&g, geography, p, len, err);
    if (st != B2P_OK) return st;
    if (wkt) {
        st = b2p_v_printf(out, err, "SRID=%ld;", (long)g.srid);
        return st == B2P_OK ? wkt_tagged(&g, out, 0, 0, err) : st;
    }
    b2p_buf w = {0};
    st = wkb_shape(&g, &w, 0, 0, err);
    if (st == B2P_OK) st = b2p_v_hex(out, (const uint8_t *)w.data, w.len, err);
    b2p_buf_free(&w);
    return st;
}
