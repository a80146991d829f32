/* CD records: the row format of ROW- and PAGE-compressed partitions (pages.md 5.2, 5.3, 5.5).
 *
 * A CD record is: header byte, column count, one nibble per column (the CD array), the short
 * data region (values of 1..8 bytes, in column order, after one length byte per full cluster
 * of 30 columns), and optionally the long data region (flag byte, u16 count, u16 cumulative
 * end offsets with bit 15 = complex, one byte per full cluster, then the values).
 * PAGE compression adds, per page, a CI structure at offset 96: an anchor record holding a
 * prefix per column and a dictionary of whole values; row values then store a prefix length
 * plus a suffix, or a dictionary symbol.
 * Values stay in their compressed byte form until b2p_cd_expand() rebuilds the FixedVar form
 * that the value decoders (value.h) take. Every offset read from the page is checked. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

enum {
    CLUSTER = 30,                 /* columns per cluster in both data regions */
    HDR_CD = 0x01,
    HDR_LONG_REGION = 0x20,
    LONG_COMPLEX = 0x8000,
    LONG_MASK = 0x7FFF,
    CI_OFFSET = B2P_PAGE_HEADER_SIZE,
    CI_ANCHOR = 0x02,
    CI_DICT = 0x04,
    TYPE_FLAG_CI = 0x80,
    ANCHOR_SLOT = UINT16_MAX,
    MAX_VARDECIMAL = 40,          /* 38 digits need 17 bytes; more is not a vardecimal */
};

enum {
    XT_DATE = 40, XT_TIME = 41, XT_DATETIME2 = 42, XT_DATETIMEOFFSET = 43, XT_TINYINT = 48,
    XT_SMALLINT = 52, XT_INT = 56, XT_SMALLDATETIME = 58, XT_REAL = 59, XT_MONEY = 60,
    XT_DATETIME = 61, XT_FLOAT = 62, XT_NCHAR = 239, XT_NVARCHAR = 231, XT_BIT = 104,
    XT_DECIMAL = 106, XT_NUMERIC = 108, XT_SMALLMONEY = 122, XT_BIGINT = 127, XT_BINARY = 173,
    XT_CHAR = 175, XT_TIMESTAMP = 189,
};

static b2p_status cd_fail(b2p_error *err, const b2p_row_where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "page F:P slot S: ..." or "page F:P compression anchor: ..." */
static b2p_status cd_fail(b2p_error *err, const b2p_row_where *w, const char *fmt, ...) {
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (w->slot == ANCHOR_SLOT)
        return b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u compression anchor record: %s", w->file, w->page, what);
    return b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u slot %u: %s", w->file, w->page, w->slot, what);
}

void b2p_cd_record_free(b2p_cd_record *r) {
    free(r->cols);
    r->cols = NULL;
    r->cap = 0;
}

void b2p_cd_page_free(b2p_cd_page *p) { b2p_cd_record_free(&p->anchor); }

/* ---- record parsing --------------------------------------------------------------------- */

/* Bytes a short-region value of kind k occupies; a symbol says itself (high bit: 2 bytes). */
static size_t short_size(uint8_t kind, const uint8_t *at, size_t left) {
    if (kind >= 2 && kind <= 9) return kind - 1u;
    if (kind == B2P_CD_SYMBOL) return left && (at[0] & 0x80) ? 2 : 1;
    return 0;
}

static b2p_status grow_cols(b2p_cd_record *r, b2p_error *err) {
    if (r->ncols <= r->cap) return B2P_OK;
    b2p_cd_col *c = realloc(r->cols, r->ncols * sizeof *c);
    if (!c) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory for a record of %u columns", r->ncols);
    r->cols = c;
    r->cap = r->ncols;
    return B2P_OK;
}

/* Column count: one byte, or with the high bit set two bytes big-endian of 15 bits (IV; the
 * same form as the PAGE prefix lengths). */
static b2p_status parse_count(b2p_cd_record *r, size_t *pos, const b2p_row_where *w, b2p_error *err) {
    if (*pos + 1 > r->avail) return cd_fail(err, w, "CD record ends before its column count");
    uint8_t b0 = r->data[*pos];
    if (!(b0 & 0x80)) {
        r->ncols = b0;
        *pos += 1;
        return B2P_OK;
    }
    if (*pos + 2 > r->avail) return cd_fail(err, w, "CD record ends inside its column count");
    r->ncols = (uint16_t)((b0 & 0x7F) << 8 | r->data[*pos + 1]);
    *pos += 2;
    return B2P_OK;
}

/* Short data region: walks the values in column order and checks each full cluster's length
 * byte against the bytes its 30 columns take. */
static b2p_status parse_short(b2p_cd_record *r, const uint8_t *cd, size_t *pos, unsigned *nlong,
                              const b2p_row_where *w, b2p_error *err) {
    size_t nclusters = r->ncols ? (r->ncols - 1u) / CLUSTER : 0;
    if (*pos + nclusters > r->avail) return cd_fail(err, w, "short data cluster array beyond the record area");
    const uint8_t *clusters = r->data + *pos;
    size_t at = *pos + nclusters, cluster_start = at;
    *nlong = 0;
    for (uint16_t k = 0; k < r->ncols; k++) {
        if (k && k % CLUSTER == 0) {
            size_t c = k / CLUSTER - 1u;
            if (at - cluster_start != clusters[c])
                return cd_fail(err, w, "short data cluster %zu holds %zu bytes, its length byte says %u", c,
                               at - cluster_start, clusters[c]);
            cluster_start = at;
        }
        uint8_t kind = (uint8_t)((cd[k / 2u] >> (k % 2 ? 4 : 0)) & 0xF); /* column 0: low nibble */
        if (kind > B2P_CD_SYMBOL) return cd_fail(err, w, "column %u has CD code 0x%X, which is undefined", k, kind);
        if (kind == B2P_CD_LONG) ++*nlong;
        size_t size = short_size(kind, r->data + at, at < r->avail ? r->avail - at : 0);
        if (at + size > r->avail)
            return cd_fail(err, w, "column %u: %zu bytes at record offset %zu beyond the record area", k, size, at);
        r->cols[k] = (b2p_cd_col){.kind = kind, .off = (uint16_t)at, .len = (uint16_t)size};
        at += size;
    }
    *pos = at;
    return B2P_OK;
}

/* Long data region: flag byte, u16 count, count u16 end offsets (bit 15 complex), one byte per
 * full cluster, then the values; entry i belongs to the i-th column coded 0xA. */
static b2p_status parse_long(b2p_cd_record *r, size_t *pos, unsigned nlong, const b2p_row_where *w,
                             b2p_error *err) {
    size_t at = *pos;
    if (at + 3 > r->avail) return cd_fail(err, w, "long data region header beyond the record area");
    unsigned count = b2p_le16(r->data + at + 1);
    at += 3;
    if (count != nlong)
        return cd_fail(err, w, "long data region has %u entries, the CD array names %u long columns", count, nlong);
    size_t nclusters = r->ncols ? (r->ncols - 1u) / CLUSTER : 0;
    if (at + 2u * count + nclusters > r->avail)
        return cd_fail(err, w, "long data offsets of %u entries beyond the record area", count);
    const uint8_t *ends = r->data + at;
    size_t data = at + 2u * count + nclusters, prev = 0, i = 0;
    for (uint16_t k = 0; k < r->ncols; k++) {
        if (r->cols[k].kind != B2P_CD_LONG) continue;
        uint16_t e = b2p_le16(ends + 2 * i++);
        size_t end = e & LONG_MASK;
        if (end < prev || data + end > r->avail)
            return cd_fail(err, w, "long entry %zu ends at %zu (previous %zu, %zu bytes available)", i - 1, end,
                           prev, r->avail - data);
        r->cols[k].off = (uint16_t)(data + prev);
        r->cols[k].len = (uint16_t)(end - prev);
        r->cols[k].complex = (e & LONG_COMPLEX) != 0;
        prev = end;
    }
    *pos = data + prev;
    return B2P_OK;
}

b2p_status b2p_cd_record_parse(const uint8_t *data, size_t avail, b2p_cd_record *r, const b2p_row_where *w,
                               b2p_error *err) {
    b2p_cd_col *cols = r->cols;
    size_t cap = r->cap;
    *r = (b2p_cd_record){.data = data, .avail = avail, .cols = cols, .cap = cap};
    if (avail < 1) return cd_fail(err, w, "CD record of 0 bytes");
    r->header = data[0];
    if (!(r->header & HDR_CD))
        return cd_fail(err, w, "record header 0x%02x is not a CD record (bit 0 clear) in a compressed partition",
                       r->header);
    r->type = (uint8_t)((r->header >> 2) & 7);
    r->ghost = r->type == B2P_CD_GHOST_EMPTY || r->type == B2P_CD_GHOST_DATA ||
               r->type == B2P_CD_GHOST_FORWARDED || r->type == B2P_CD_GHOST_INDEX;
    r->live = r->type == B2P_CD_PRIMARY || r->type == B2P_CD_FORWARDED;
    if (!r->live) return B2P_OK; /* nothing of a ghost or stub is read */
    size_t pos = 1;
    b2p_status st = parse_count(r, &pos, w, err);
    if (!st) st = grow_cols(r, err);
    if (st) return st;
    size_t cd_bytes = (r->ncols + 1u) / 2u;
    if (pos + cd_bytes > avail) return cd_fail(err, w, "CD array of %u columns beyond the record area", r->ncols);
    const uint8_t *cd = data + pos;
    pos += cd_bytes;
    unsigned nlong = 0;
    if ((st = parse_short(r, cd, &pos, &nlong, w, err))) return st;
    if (r->header & HDR_LONG_REGION) {
        if ((st = parse_long(r, &pos, nlong, w, err))) return st;
    } else if (nlong) {
        return cd_fail(err, w, "%u columns coded long but the record has no long data region", nlong);
    }
    r->length = pos;
    return B2P_OK;
}

/* ---- the page's compression information (CI) --------------------------------------------- */

/* Dictionary: u16 count, count u16 end offsets from the dictionary start, then the entries. */
static b2p_status parse_dict(b2p_cd_page *p, const uint8_t *dict, size_t len, const b2p_row_where *w,
                             b2p_error *err) {
    if (len < 2) return cd_fail(err, w, "compression dictionary of %zu bytes", len);
    unsigned n = b2p_le16(dict);
    size_t prev = 2u + 2u * n;
    if (prev > len) return cd_fail(err, w, "compression dictionary of %u entries does not fit in %zu bytes", n, len);
    for (unsigned i = 0; i < n; i++) {
        size_t end = b2p_le16(dict + 2 + 2 * i);
        if (end < prev || end > len)
            return cd_fail(err, w, "compression dictionary entry %u ends at %zu (previous %zu, size %zu)", i, end,
                           prev, len);
        prev = end;
    }
    p->dict = dict;
    p->dict_len = len;
    p->ndict = (uint16_t)n;
    return B2P_OK;
}

b2p_status b2p_cd_page_parse(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h, b2p_cd_page *p,
                             b2p_error *err) {
    b2p_cd_record anchor = p->anchor;
    *p = (b2p_cd_page){.anchor = anchor};
    if (!(h->type_flags & TYPE_FLAG_CI)) return B2P_OK;
    b2p_row_where w = {.file = h->self.file, .page = h->self.page, .slot = ANCHOR_SLOT};
    const uint8_t *ci = page + CI_OFFSET;
    size_t room = B2P_PAGE_SIZE - CI_OFFSET - 2u * h->slot_count; /* up to the slot array */
    p->has_ci = true;
    p->ci_flags = ci[0];
    bool dict = (ci[0] & CI_DICT) != 0;
    size_t head = dict ? 7 : 5, dict_off = dict ? b2p_le16(ci + 3) : 0;
    p->ci_size = b2p_le16(ci + (dict ? 5 : 3));
    if (p->ci_size < head || p->ci_size > room || (dict && (dict_off < head || dict_off > p->ci_size)))
        return cd_fail(err, &w, "CI of %zu bytes (header %zu, dictionary at %zu, %zu bytes available)", p->ci_size,
                       head, dict_off, room);
    size_t anchor_end = dict ? dict_off : p->ci_size;
    if (ci[0] & CI_ANCHOR) {
        b2p_status st = b2p_cd_record_parse(ci + head, anchor_end - head, &p->anchor, &w, err);
        if (st) return st;
        if (!p->anchor.live) return cd_fail(err, &w, "anchor record of type %u", p->anchor.type);
        p->has_anchor = true;
    }
    return dict ? parse_dict(p, ci + dict_off, p->ci_size - dict_off, &w, err) : B2P_OK;
}

/* ---- values ------------------------------------------------------------------------------ */

/* A prefix length or a symbol number: one byte, or with the high bit set two bytes big-endian
 * of 15 bits. pages.md 5.3 leaves this open (IV: (b0 & 0x7F) | b1 << 8; MSB: 0x80 then one
 * byte); the big-endian form agrees with MSB's observation for lengths 128..255 and with the
 * column count's form. *used = 0 when the bytes end too soon. */
static unsigned internal_int(const uint8_t *p, size_t len, size_t *used) {
    if (len >= 1 && !(p[0] & 0x80)) {
        *used = 1;
        return p[0];
    }
    if (len >= 2) {
        *used = 2;
        return (unsigned)(p[0] & 0x7F) << 8 | p[1];
    }
    *used = 0;
    return 0;
}

/* The anchor value of column k, when the page has one for it. An anchor coded NULL or empty
 * means the column is not prefix-compressed (IV treats both as no anchor). */
static bool anchor_of(const b2p_cd_page *pg, uint16_t k, const uint8_t **a, size_t *alen) {
    if (!pg || !pg->has_anchor || k >= pg->anchor.ncols) return false;
    const b2p_cd_col *c = &pg->anchor.cols[k];
    if (c->kind == B2P_CD_NULL || c->kind == B2P_CD_EMPTY || c->kind == B2P_CD_TRUE || c->complex) return false;
    *a = pg->anchor.data + c->off;
    *alen = c->len;
    return true;
}

/* Dictionary entry for the symbol at p. */
static b2p_status dict_entry(const b2p_cd_page *pg, const uint8_t *p, size_t len, const uint8_t **e,
                             size_t *elen, uint16_t k, const b2p_row_where *w, b2p_error *err) {
    size_t used;
    unsigned sym = internal_int(p, len, &used);
    if (!used || used != len) return cd_fail(err, w, "column %u: dictionary symbol of %zu bytes", k, len);
    if (!pg || !pg->dict || sym >= pg->ndict)
        return cd_fail(err, w, "column %u: dictionary symbol %u, the page's dictionary has %u entries", k, sym,
                       pg && pg->dict ? pg->ndict : 0);
    size_t start = sym ? b2p_le16(pg->dict + 2 * sym) : 2u + 2u * pg->ndict;
    size_t end = b2p_le16(pg->dict + 2 + 2 * sym); /* both checked by parse_dict */
    *e = pg->dict + start;
    *elen = end - start;
    return B2P_OK;
}

/* anchor[0, prefix) + suffix into tmp. */
static b2p_status with_prefix(const uint8_t *a, size_t alen, const uint8_t *p, size_t len, uint8_t *tmp,
                              b2p_cd_value *out, uint16_t k, const b2p_row_where *w, b2p_error *err) {
    size_t used;
    unsigned prefix = internal_int(p, len, &used);
    if (!used) return cd_fail(err, w, "column %u: prefix length cut short", k);
    if (prefix > alen) return cd_fail(err, w, "column %u: prefix of %u bytes, the anchor has %zu", k, prefix, alen);
    size_t suffix = len - used;
    if (prefix + suffix > B2P_CD_TMP_SIZE) return cd_fail(err, w, "column %u: value of %zu bytes", k, prefix + suffix);
    memcpy(tmp, a, prefix);
    memcpy(tmp + prefix, p + used, suffix);
    out->bytes = tmp;
    out->len = prefix + suffix;
    return B2P_OK;
}

b2p_status b2p_cd_value_get(const b2p_cd_page *pg, const b2p_cd_record *r, uint16_t k, uint8_t *tmp,
                            b2p_cd_value *out, const b2p_row_where *w, b2p_error *err) {
    *out = (b2p_cd_value){.is_null = true, .kind = B2P_CD_NULL};
    if (k >= r->ncols) return B2P_OK;
    const b2p_cd_col *c = &r->cols[k];
    *out = (b2p_cd_value){.bytes = r->data + c->off, .len = c->len, .is_null = c->kind == B2P_CD_NULL,
                          .complex = c->complex, .kind = c->kind};
    if (out->is_null || c->kind == B2P_CD_TRUE || c->complex) return B2P_OK;
    const uint8_t *a = NULL;
    size_t alen = 0;
    bool anchored = anchor_of(pg, k, &a, &alen);
    if (c->kind == B2P_CD_SYMBOL) {
        b2p_status st = dict_entry(pg, out->bytes, out->len, &out->bytes, &out->len, k, w, err);
        if (st) return st;
    }
    if (!anchored) return B2P_OK;
    if (out->len == 0) { /* empty in an anchored column: the whole anchor (IV and MSB agree) */
        out->bytes = a;
        out->len = alen;
        return B2P_OK;
    }
    return with_prefix(a, alen, out->bytes, out->len, tmp, out, k, w, err);
}

uint16_t b2p_cd_ordinal(const b2p_column_layout *c) {
    if (c->null_bit) return (uint16_t)(c->null_bit - 1u);
    if (c->leaf_offset < 0) return (uint16_t)(-(c->leaf_offset + 1));
    return UINT16_MAX;
}

/* ---- rebuilding the uncompressed form ------------------------------------------------------ */

static b2p_status bad(b2p_error *err, const char *type, size_t len) {
    return b2p_fail(err, B2P_ERR_CORRUPT, "compressed %s value of %zu bytes", type, len);
}

/* Excess-2^(8n-1) big-endian (pages.md 5.2): stored = value + 2^(8n-1), n minimal; n = 0 is 0. */
static int64_t excess_be(const uint8_t *p, size_t n) {
    if (n == 0) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    uint64_t bias = (uint64_t)1 << (8 * n - 1);
    if (v >= bias) return (int64_t)(v - bias);
    return -(int64_t)(bias - v - 1) - 1; /* no overflow at -2^63 */
}

static void put_le(uint8_t *out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(v >> (8 * i));
}

static size_t int_size(uint8_t xt) {
    switch (xt) {
    case XT_SMALLINT: return 2;
    case XT_INT: case XT_SMALLMONEY: return 4;
    default: return 8; /* bigint, money */
    }
}

static b2p_status expand_int(uint8_t xt, const uint8_t *p, size_t len, uint8_t *out, size_t *out_len,
                             b2p_error *err) {
    size_t size = int_size(xt);
    if (len > size) return bad(err, "integer", len);
    put_le(out, (uint64_t)excess_be(p, len), size);
    *out_len = size;
    return B2P_OK;
}

/* datetime: up to 4 bytes: time ticks only (day 0); more: days (len - 4 bytes) then 4 bytes of
 * ticks, each excess-coded big-endian. */
static b2p_status expand_datetime(const uint8_t *p, size_t len, uint8_t *out, size_t *out_len, b2p_error *err) {
    if (len > 8) return bad(err, "datetime", len);
    size_t tlen = len > 4 ? 4 : len;
    int64_t days = excess_be(p, len - tlen), ticks = excess_be(p + (len - tlen), tlen);
    put_le(out, (uint64_t)ticks, 4);
    put_le(out + 4, (uint64_t)days, 4);
    *out_len = 8;
    return B2P_OK;
}

/* timestamp/rowversion: compressed as an integer (the MS docs' row compression table, not yet
 * seen on a page: [G]); its page form is the 8-byte counter big-endian. */
static b2p_status expand_timestamp(const uint8_t *p, size_t len, uint8_t *out, size_t *out_len, b2p_error *err) {
    if (len > 8) return bad(err, "timestamp", len);
    uint64_t v = (uint64_t)excess_be(p, len);
    for (size_t i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (56 - 8 * i));
    *out_len = 8;
    return B2P_OK;
}

/* Little-endian values with zero bytes trimmed: at the start (floats, smalldatetime: low-order
 * bytes) or at the end (date and time types: high-order bytes). */
static b2p_status zero_pad(const uint8_t *p, size_t len, size_t size, bool at_start, const char *type,
                           uint8_t *out, size_t *out_len, b2p_error *err) {
    if (len > size) return bad(err, type, len);
    memset(out, 0, size);
    memcpy(out + (at_start ? size - len : 0), p, len);
    *out_len = size;
    return B2P_OK;
}

static size_t time_bytes(unsigned scale) { return scale <= 2 ? 3 : scale <= 4 ? 4 : 5; }

/* ---- vardecimal (pages.md 5.5) ---- */

/* Multiplies the 128-bit magnitude w (4 LE words) by 10 and adds d; false on overflow. */
static bool mag_mul10_add(uint32_t w[4], unsigned d) {
    uint64_t carry = d;
    for (int i = 0; i < 4; i++) {
        uint64_t x = (uint64_t)w[i] * 10u + carry;
        w[i] = (uint32_t)x;
        carry = x >> 32;
    }
    return carry == 0;
}

/* The digits of the mantissa: 10-bit groups (0..999), most significant first; a last partial
 * group is the leading bits of a group whose trailing zero bits were dropped. */
static b2p_status mantissa_digits(const uint8_t *p, size_t n, char *digits, size_t *nd, b2p_error *err) {
    size_t bits = 8 * n, pos = 0;
    *nd = 0;
    while (pos < bits) {
        unsigned g = 0;
        for (int i = 0; i < 10; i++, pos++) {
            unsigned bit = pos < bits ? (p[pos / 8] >> (7 - pos % 8)) & 1u : 0u;
            g = g << 1 | bit;
        }
        if (g > 999) return b2p_fail(err, B2P_ERR_CORRUPT, "compressed decimal group %u is above 999", g);
        digits[(*nd)++] = (char)('0' + g / 100);
        digits[(*nd)++] = (char)('0' + g / 10 % 10);
        digits[(*nd)++] = (char)('0' + g % 10);
    }
    return B2P_OK;
}

/* Byte 0: bit 7 sign (1 positive), bits 0-6 exponent + 64 = the power of ten of the first
 * significant digit; then the mantissa. value = M * 10^(exp - D + 1), D = digits of M. Rebuilt
 * as decimal(p,s) stores it: sign byte, then the magnitude * 10^s in 1..4 LE words by p. */
static b2p_status expand_decimal(const b2p_column_layout *c, const uint8_t *p, size_t len, uint8_t *out,
                                 size_t *out_len, b2p_error *err) {
    unsigned precision = c->ti_len & 0xFF, scale = c->ti_len >> 8;
    if (len > MAX_VARDECIMAL) return bad(err, "decimal", len);
    char digits[3 * 8 * MAX_VARDECIMAL / 10 + 3];
    size_t nd = 0, first = 0;
    bool positive = true;
    int exp10 = 0;
    if (len > 0) {
        positive = (p[0] & 0x80) != 0;
        exp10 = (p[0] & 0x7F) - 64;
        b2p_status st = mantissa_digits(p + 1, len - 1, digits, &nd, err);
        if (st) return st;
    }
    while (first < nd && digits[first] == '0') first++;
    long shift = (long)exp10 - (long)(nd - first) + 1 + (long)scale; /* power of ten to apply to M */
    while (shift < 0 && nd > first && digits[nd - 1] == '0') { /* drop zeros below the scale */
        nd--;
        shift++;
    }
    if (nd > first && shift < 0)
        return b2p_fail(err, B2P_ERR_CORRUPT, "compressed decimal has more than the %u decimals of its scale", scale);
    uint32_t w[4] = {0, 0, 0, 0};
    size_t total = nd > first ? nd - first + (size_t)shift : 0;
    if (total > 38) return b2p_fail(err, B2P_ERR_CORRUPT, "compressed decimal of %zu digits", total);
    for (size_t i = first; i < nd; i++) mag_mul10_add(w, (unsigned)(digits[i] - '0'));
    for (long i = 0; nd > first && i < shift; i++) mag_mul10_add(w, 0);
    size_t words = precision == 0 ? 4 : precision <= 9 ? 1 : precision <= 19 ? 2 : precision <= 28 ? 3 : 4;
    for (size_t i = words; i < 4; i++)
        if (w[i]) return b2p_fail(err, B2P_ERR_CORRUPT, "compressed decimal too large for precision %u", precision);
    out[0] = positive || total == 0 ? 1 : 0;
    for (size_t i = 0; i < words; i++) put_le(out + 1 + 4 * i, w[i], 4);
    *out_len = 1 + 4 * words;
    return B2P_OK;
}

/* ---- SCSU (Unicode Technical Standard #6) ---- */

static const uint32_t scsu_static[8] = {0x0000, 0x0080, 0x0100, 0x0300, 0x2000, 0x2080, 0x2100, 0x3000};
static const uint32_t scsu_dynamic[8] = {0x0080, 0x00C0, 0x0400, 0x0600, 0x0900, 0x3040, 0x30A0, 0xFF00};

/* Window offset of an SDn/UDn operand; 0 for a reserved one. */
static uint32_t scsu_window(uint8_t x) {
    static const uint32_t fixed[7] = {0x00C0, 0x0250, 0x0370, 0x0530, 0x3040, 0x30A0, 0xFF60};
    if (x >= 0x01 && x <= 0x67) return (uint32_t)x * 0x80;
    if (x >= 0x68 && x <= 0xA7) return (uint32_t)x * 0x80 + 0xAC00;
    if (x >= 0xF9) return fixed[x - 0xF9];
    return 0;
}

static void put_unit(uint8_t *out, size_t *n, uint32_t u) {
    out[(*n)++] = (uint8_t)u;
    out[(*n)++] = (uint8_t)(u >> 8);
}

static void put_cp(uint8_t *out, size_t *n, uint32_t cp) {
    if (cp < 0x10000) {
        put_unit(out, n, cp);
        return;
    }
    cp -= 0x10000;
    put_unit(out, n, 0xD800 | (cp >> 10));
    put_unit(out, n, 0xDC00 | (cp & 0x3FF));
}

typedef struct scsu {
    uint32_t dyn[8];
    unsigned active;
    bool unicode;
} scsu;

/* One single-byte-mode step at p[i]; returns the bytes consumed, 0 when the command's operand
 * is cut off by the end (SQL Server's filler), SIZE_MAX for a reserved byte. */
static size_t scsu_single(scsu *s, const uint8_t *p, size_t i, size_t len, uint8_t *out, size_t *n) {
    uint8_t b = p[i];
    size_t left = len - i - 1;
    if (b >= 0x80) {
        put_cp(out, n, s->dyn[s->active] + (b - 0x80u));
    } else if (b == 0x00 || b == 0x09 || b == 0x0A || b == 0x0D || b >= 0x20) {
        put_unit(out, n, b);
    } else if (b >= 0x01 && b <= 0x08) { /* SQn: quote one character from window n */
        if (left < 1) return 0;
        uint8_t t = p[i + 1];
        put_cp(out, n, t < 0x80 ? scsu_static[b - 1] + t : s->dyn[b - 1] + (t - 0x80u));
        return 2;
    } else if (b == 0x0B) { /* SDX: define an extended (supplementary) window */
        if (left < 2) return 0;
        unsigned v = (unsigned)p[i + 1] << 8 | p[i + 2];
        s->active = v >> 13;
        s->dyn[s->active] = 0x10000 + ((v & 0x1FFFu) << 7);
        return 3;
    } else if (b == 0x0E) { /* SQU: one UTF-16 unit, big-endian */
        if (left < 2) return 0;
        put_unit(out, n, (uint32_t)p[i + 1] << 8 | p[i + 2]);
        return 3;
    } else if (b == 0x0F) { /* SCU */
        s->unicode = true;
    } else if (b >= 0x10 && b <= 0x17) { /* SCn */
        s->active = b - 0x10u;
    } else if (b >= 0x18 && b <= 0x1F) { /* SDn */
        if (left < 1) return 0;
        uint32_t off = scsu_window(p[i + 1]);
        if (!off) return SIZE_MAX;
        s->active = b - 0x18u;
        s->dyn[s->active] = off;
        return 2;
    } else {
        return SIZE_MAX; /* 0x0C reserved */
    }
    return 1;
}

/* One Unicode-mode step (see scsu_single). */
static size_t scsu_unicode(scsu *s, const uint8_t *p, size_t i, size_t len, uint8_t *out, size_t *n) {
    uint8_t b = p[i];
    size_t left = len - i - 1;
    if (b >= 0xE0 && b <= 0xE7) { /* UCn */
        s->active = b - 0xE0u;
        s->unicode = false;
        return 1;
    }
    if (b >= 0xE8 && b <= 0xEF) { /* UDn */
        if (left < 1) return 0;
        uint32_t off = scsu_window(p[i + 1]);
        if (!off) return SIZE_MAX;
        s->active = b - 0xE8u;
        s->dyn[s->active] = off;
        s->unicode = false;
        return 2;
    }
    if (b == 0xF1) { /* UDX */
        if (left < 2) return 0;
        unsigned v = (unsigned)p[i + 1] << 8 | p[i + 2];
        s->active = v >> 13;
        s->dyn[s->active] = 0x10000 + ((v & 0x1FFFu) << 7);
        s->unicode = false;
        return 3;
    }
    if (b == 0xF2) return SIZE_MAX; /* reserved */
    size_t at = b == 0xF0 ? i + 1 : i; /* UQU quotes a unit that would look like a tag */
    if (len - at < 2) return 0;
    put_unit(out, n, (uint32_t)p[at] << 8 | p[at + 1]);
    return at + 2 - i;
}

b2p_status b2p_scsu_decode(const uint8_t *p, size_t len, uint8_t *out, size_t *out_len, b2p_error *err) {
    scsu s = {.active = 0};
    memcpy(s.dyn, scsu_dynamic, sizeof s.dyn);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t used = s.unicode ? scsu_unicode(&s, p, i, len, out, &n) : scsu_single(&s, p, i, len, out, &n);
        if (used == SIZE_MAX)
            return b2p_fail(err, B2P_ERR_CORRUPT, "SCSU text: reserved byte 0x%02x at %zu", p[i], i);
        if (used == 0) break; /* an operand cut off by the end: the filler byte */
        i += used;
    }
    *out_len = n;
    return B2P_OK;
}

/* nchar/nvarchar: an odd length means SCSU (SQL Server adds a filler byte to make it odd);
 * an even length is UTF-16LE kept as is (compressing did not pay). */
static b2p_status expand_unicode(const b2p_column_layout *c, const uint8_t *p, size_t len, uint8_t *out,
                                 size_t *out_len, b2p_error *err) {
    size_t n = len;
    if (len % 2) {
        b2p_status st = b2p_scsu_decode(p, len, out, &n, err);
        if (st) return st;
    } else {
        memcpy(out, p, len);
    }
    if (c->xtype == XT_NCHAR && c->ti_len) {
        if (n > c->ti_len) return b2p_fail(err, B2P_ERR_CORRUPT, "nchar value of %zu bytes in nchar of %u bytes", n, c->ti_len);
        while (n + 1 < c->ti_len) put_unit(out, &n, 0x20); /* nchar(n) is blank-padded */
    }
    *out_len = n;
    return B2P_OK;
}

/* char(n) loses its trailing blanks and binary(n) its trailing zeros; other types are raw. */
static b2p_status expand_bytes(const b2p_column_layout *c, const uint8_t *p, size_t len, uint8_t *out,
                               size_t *out_len, b2p_error *err) {
    memcpy(out, p, len);
    *out_len = len;
    if ((c->xtype == XT_CHAR || c->xtype == XT_BINARY) && c->ti_len) {
        if (len > c->ti_len)
            return b2p_fail(err, B2P_ERR_CORRUPT, "value of %zu bytes in a column of %u bytes", len, c->ti_len);
        memset(out + len, c->xtype == XT_CHAR ? ' ' : 0, c->ti_len - len);
        *out_len = c->ti_len;
    }
    return B2P_OK;
}

size_t b2p_cd_expanded_max(const b2p_column_layout *c, size_t len) {
    size_t m = 4 * len; /* SCSU: at most two UTF-16 units per byte */
    bool padded = c->xtype == XT_CHAR || c->xtype == XT_BINARY || c->xtype == XT_NCHAR;
    if (padded && c->ti_len > m) m = c->ti_len;
    return m < 17 ? 17 : m;
}

b2p_status b2p_cd_expand(const b2p_column_layout *c, const uint8_t *p, size_t len, uint8_t *out, size_t *out_len,
                         b2p_error *err) {
    unsigned scale = c->ti_len & 0xFF; /* ti byte 1 of the time types */
    switch (c->xtype) {
    case XT_BIT:
        if (len > 1 || (len == 1 && p[0] > 1)) return bad(err, "bit", len);
        out[0] = len ? p[0] : 0;
        *out_len = 1;
        return B2P_OK;
    case XT_TINYINT:
        return zero_pad(p, len, 1, true, "tinyint", out, out_len, err);
    case XT_SMALLINT: case XT_INT: case XT_BIGINT: case XT_MONEY: case XT_SMALLMONEY:
        return expand_int(c->xtype, p, len, out, out_len, err);
    case XT_DATETIME:
        return expand_datetime(p, len, out, out_len, err);
    case XT_TIMESTAMP:
        return expand_timestamp(p, len, out, out_len, err);
    case XT_SMALLDATETIME:
        return zero_pad(p, len, 4, true, "smalldatetime", out, out_len, err);
    case XT_REAL:
        return zero_pad(p, len, 4, true, "real", out, out_len, err);
    case XT_FLOAT:
        return zero_pad(p, len, 8, true, "float", out, out_len, err);
    case XT_DATE:
        return zero_pad(p, len, 3, false, "date", out, out_len, err);
    case XT_TIME:
        return zero_pad(p, len, time_bytes(scale), false, "time", out, out_len, err);
    case XT_DATETIME2:
        return zero_pad(p, len, time_bytes(scale) + 3, false, "datetime2", out, out_len, err);
    case XT_DATETIMEOFFSET:
        return zero_pad(p, len, time_bytes(scale) + 5, false, "datetimeoffset", out, out_len, err);
    case XT_DECIMAL: case XT_NUMERIC:
        return expand_decimal(c, p, len, out, out_len, err);
    case XT_NCHAR: case XT_NVARCHAR:
        return expand_unicode(c, p, len, out, out_len, err);
    default:
        return expand_bytes(c, p, len, out, out_len, err);
    }
}
