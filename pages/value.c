/* pages/value.c: the buffer, COPY escaping, and the per-type dispatch of b2p_value_text(),
 * with the exact numeric types (integers, decimal, money), uuid, binary and sql_variant.
 * Floats, dates/times, text, and the CLR/xml types live in the other pages/value_*.c files.
 *
 * Encodings: ../shared/docs/pages.md section 6. Every value is checked against the length
 * its type implies before it is read; nothing ever goes through a double unless the stored
 * value is itself a float. */
#include "pages/value_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

b2p_status b2p_v_putc(b2p_buf *out, char c, b2p_error *err) {
    return b2p_buf_append(out, &c, 1, err);
}

/* Two ASCII digits for each of 0..99: halves the divisions of a digit loop. */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v: estimated from its bit length (log10(2) ~ 1233 / 4096, never more
 * than one short), then corrected by one comparison. Avoids a loop whose trip count changes
 * with every value. */
static unsigned decimal_digits(uint64_t v) {
    static const uint64_t pow10[B2P_V_UINT_MAX] = {
        1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
        10000000000u, 100000000000u, 1000000000000u, 10000000000000u, 100000000000000u,
        1000000000000000u, 10000000000000000u, 100000000000000000u, 1000000000000000000u,
        10000000000000000000u};
    uint64_t odd = v | 1; /* same digits (powers of ten above 1 are even); 0 counts as 1 */
    unsigned bits = 64u - (unsigned)__builtin_clzll(odd);
    unsigned nd = (bits * 1233u) >> 12; /* <= 19 */
    return nd + 1 - (odd < pow10[nd]);
}

size_t b2p_v_uint_text(uint64_t v, unsigned width, char *dst) {
    unsigned nd = decimal_digits(v);
    if (width > B2P_V_UINT_MAX) width = B2P_V_UINT_MAX;
    unsigned total = width > nd ? width : nd;
    for (unsigned i = 0; i < total - nd; i++) dst[i] = '0';
    /* Digits are written from the last one back, two at a time; 32-bit arithmetic once the
     * rest fits (cheaper divisions). */
    char *d = dst + total;
    while (v > UINT32_MAX) {
        unsigned two = (unsigned)(v % 100);
        v /= 100;
        *--d = digit_pairs[2 * two + 1];
        *--d = digit_pairs[2 * two];
    }
    uint32_t u = (uint32_t)v;
    while (u >= 100) {
        unsigned two = u % 100;
        u /= 100;
        *--d = digit_pairs[2 * two + 1];
        *--d = digit_pairs[2 * two];
    }
    if (u >= 10) {
        *--d = digit_pairs[2 * u + 1];
        *--d = digit_pairs[2 * u];
    } else {
        *--d = (char)('0' + u);
    }
    return total;
}

b2p_status b2p_v_int(b2p_buf *out, int64_t v, b2p_error *err) {
    b2p_status st = b2p_buf_reserve(out, 1 + B2P_V_UINT_MAX, err);
    if (st != B2P_OK) return st;
    char *d = out->data + out->len;
    size_t k = 0;
    if (v < 0) d[k++] = '-';
    /* Magnitude as unsigned so that INT64_MIN negates safely. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    k += b2p_v_uint_text(mag, 0, d + k);
    b2p_v_commit(out, k);
    return B2P_OK;
}

b2p_status b2p_v_printf(b2p_buf *out, b2p_error *err, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    /* Only short numeric pieces are formatted this way. */
    if (n < 0 || (size_t)n >= sizeof tmp) return b2p_fail(err, B2P_ERR_INTERNAL, "value format overflow");
    return b2p_buf_append(out, tmp, (size_t)n, err);
}

b2p_status b2p_v_hex(b2p_buf *out, const uint8_t *p, size_t n, b2p_error *err) {
    static const char digits[] = "0123456789abcdef";
    if (n > (SIZE_MAX - 3) / 2) return b2p_fail(err, B2P_ERR_NOMEM, "binary value too large");
    b2p_status st = b2p_buf_reserve(out, 2 + 2 * n, err);
    if (st != B2P_OK) return st;
    char *d = out->data + out->len;
    *d++ = '\\';
    *d++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *d++ = digits[p[i] >> 4];
        *d++ = digits[p[i] & 15];
    }
    b2p_v_commit(out, 2 + 2 * n);
    return B2P_OK;
}

/* The letter after the backslash for each byte COPY text escapes; 0 for the others. */
static const char copy_escapes[256] = {
    ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\b'] = 'b', ['\f'] = 'f', ['\v'] = 'v',
};

b2p_status b2p_copy_escape(b2p_buf *out, const char *s, size_t n, b2p_error *err) {
    /* Most values have nothing to escape: they are appended as they are. */
    size_t first = 0;
    while (first < n && !copy_escapes[(uint8_t)s[first]]) first++;
    if (first == n) return b2p_buf_append(out, s, n, err);
    /* Otherwise room is made once, for the text and one backslash per escaped byte. */
    size_t escaped = 0;
    for (size_t i = first; i < n; i++) escaped += copy_escapes[(uint8_t)s[i]] != 0;
    if (escaped > SIZE_MAX - n) return b2p_fail(err, B2P_ERR_NOMEM, "value buffer overflow");
    b2p_status st = b2p_buf_reserve(out, n + escaped, err);
    if (st != B2P_OK) return st;
    char *d = out->data + out->len;
    memcpy(d, s, first);
    d += first;
    for (size_t i = first; i < n; i++) {
        char e = copy_escapes[(uint8_t)s[i]];
        if (e) {
            *d++ = '\\';
            *d++ = e;
        } else {
            *d++ = s[i];
        }
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = '\0';
    return B2P_OK;
}

/* ---- exact numerics ----------------------------------------------------------------- */

static b2p_status want_len(size_t len, size_t want, const char *type, b2p_error *err) {
    if (len == want) return B2P_OK;
    return b2p_fail(err, B2P_ERR_CORRUPT, "%s value of %zu bytes (expected %zu)", type, len, want);
}

/* Appends the decimal digits of mag (unsigned) with a point before the last scale digits:
 * "0.05" for (5, 2). digits holds the magnitude's digits, most significant first, no leading
 * zeros (empty for zero). */
static b2p_status put_scaled(b2p_buf *out, bool negative, const char *digits, size_t nd,
                             unsigned scale, b2p_error *err) {
    /* sign, "0.", up to 38 scale digits or 40 digits and a point: well under 96 */
    b2p_status st = b2p_buf_reserve(out, 96, err);
    if (st != B2P_OK) return st;
    char *tmp = out->data + out->len;
    size_t k = 0;
    /* PostgreSQL prints no sign for a zero numeric, so a stored "negative zero" loses it. */
    if (negative && nd > 0) tmp[k++] = '-';
    if (nd <= scale) {
        tmp[k++] = '0';
        if (scale > 0) tmp[k++] = '.';
        for (size_t i = nd; i < scale; i++) tmp[k++] = '0';
        memcpy(tmp + k, digits, nd);
        k += nd;
    } else {
        memcpy(tmp + k, digits, nd - scale);
        k += nd - scale;
        if (scale > 0) {
            tmp[k++] = '.';
            memcpy(tmp + k, digits + nd - scale, scale);
            k += scale;
        }
    }
    b2p_v_commit(out, k);
    return B2P_OK;
}

/* Digits of an unsigned 128-bit magnitude given as nw little-endian u32 words (nw <= 4), by
 * repeated division by 10^9 (portable: no __int128). Returns the digit count written to
 * digits (>= 40 bytes), no leading zeros. */
static size_t mag_digits(const uint32_t *words, int nw, char *digits) {
    uint32_t w[4] = {0, 0, 0, 0};
    memcpy(w, words, (size_t)nw * sizeof w[0]);
    if (w[2] == 0 && w[3] == 0) { /* money, and decimals up to 19 digits: one 64-bit number */
        uint64_t v = (uint64_t)w[1] << 32 | w[0];
        return v ? b2p_v_uint_text(v, 0, digits) : 0;
    }
    char rev[48];
    size_t nr = 0;
    for (;;) {
        bool zero = true;
        uint64_t rem = 0;
        for (int i = 3; i >= 0; i--) {
            uint64_t cur = (rem << 32) | w[i];
            w[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            if (w[i]) zero = false;
        }
        /* 9 digits of this chunk, least significant first. */
        for (int j = 0; j < 9; j++) {
            rev[nr++] = (char)('0' + rem % 10);
            rem /= 10;
        }
        if (zero) break;
    }
    while (nr > 0 && rev[nr - 1] == '0') nr--;
    for (size_t i = 0; i < nr; i++) digits[i] = rev[nr - 1 - i];
    return nr;
}

/* decimal/numeric(p,s): sign byte (1 positive, 0 negative) + 4/8/12/16-byte magnitude. */
static b2p_status put_decimal(b2p_buf *out, unsigned precision, unsigned scale, const uint8_t *p,
                              size_t len, b2p_error *err) {
    if (len != 5 && len != 9 && len != 13 && len != 17)
        return b2p_fail(err, B2P_ERR_CORRUPT, "decimal value of %zu bytes (expected 5, 9, 13 or 17)", len);
    if (p[0] > 1) return b2p_fail(err, B2P_ERR_CORRUPT, "decimal sign byte 0x%02x (expected 0 or 1)", p[0]);
    if (precision < 1 || precision > 38 || scale > precision)
        return b2p_fail(err, B2P_ERR_CORRUPT, "decimal(%u,%u) is not a valid type", precision, scale);
    uint32_t w[4];
    int nw = (int)(len - 1) / 4;
    for (int i = 0; i < nw; i++) w[i] = b2p_le32(p + 1 + 4 * i);
    char digits[48];
    size_t nd = mag_digits(w, nw, digits);
    /* A stored magnitude never exceeds the declared precision; more digits means the bytes
     * are not this column's (or the precision is wrong): refuse rather than print it. */
    if (nd > precision)
        return b2p_fail(err, B2P_ERR_CORRUPT, "decimal value has %zu digits, more than precision %u", nd, precision);
    return put_scaled(out, p[0] == 0, digits, nd, scale, err);
}

/* money (i64 / 10^4) and smallmoney (i32 / 10^4), both plain little-endian on disk. (The
 * "high 4 bytes, then low 4 bytes" order is money's TDS wire form, not its page form: the
 * Northwind order 10248 row stores Freight 32.3800 as d8 f0 04 00 00 00 00 00.) */
static b2p_status put_money(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err) {
    int64_t v;
    if (len == 8) {
        v = (int64_t)b2p_le64(p); /* two's complement on every platform C11 targets here */
    } else if (len == 4) {
        v = (int32_t)b2p_le32(p);
    } else {
        return b2p_fail(err, B2P_ERR_CORRUPT, "money value of %zu bytes (expected 4 or 8)", len);
    }
    /* Magnitude as unsigned so that INT64_MIN (money's minimum) negates safely. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint32_t w[2] = {(uint32_t)mag, (uint32_t)(mag >> 32)};
    char digits[48];
    size_t nd = mag_digits(w, 2, digits);
    return put_scaled(out, v < 0, digits, nd, 4, err);
}

static b2p_status put_int(b2p_buf *out, const uint8_t *p, size_t len, uint8_t xtype, b2p_error *err) {
    switch (xtype) {
    case B2P_XT_TINYINT:
        if (len != 1) return want_len(len, 1, "tinyint", err);
        return b2p_v_int(out, p[0], err);
    case B2P_XT_SMALLINT:
        if (len != 2) return want_len(len, 2, "smallint", err);
        return b2p_v_int(out, (int16_t)b2p_le16(p), err);
    case B2P_XT_INT:
        if (len != 4) return want_len(len, 4, "int", err);
        return b2p_v_int(out, (int32_t)b2p_le32(p), err);
    default:
        if (len != 8) return want_len(len, 8, "bigint", err);
        return b2p_v_int(out, (int64_t)b2p_le64(p), err);
    }
}

static b2p_status put_uuid(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err) {
    if (len != 16) return want_len(len, 16, "uniqueidentifier", err);
    /* .NET GUID order: the first three groups are little-endian, the last 8 bytes as stored. */
    return b2p_v_printf(out, err, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                        (unsigned long)b2p_le32(p), (unsigned)b2p_le16(p + 4), (unsigned)b2p_le16(p + 6),
                        p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]);
}

/* ---- sql_variant ---------------------------------------------------------------------- */

static b2p_status decode(b2p_value_ctx *cx, const b2p_type *t, const uint8_t *p, size_t len,
                         b2p_buf *out, b2p_error *err);

/* byte 0 base type, byte 1 version (1), then type-specific property bytes, then the value
 * (pages.md 6, "sql_variant"). The value is rendered as its base type would be. */
static b2p_status put_variant(b2p_value_ctx *cx, const uint8_t *p, size_t len, b2p_buf *out,
                              b2p_error *err) {
    if (len < 2) return b2p_fail(err, B2P_ERR_CORRUPT, "sql_variant value of %zu bytes", len);
    if (p[1] != 1) return b2p_fail(err, B2P_ERR_UNSUPPORTED, "sql_variant version %u (expected 1)", p[1]);
    b2p_type bt = {.xtype = p[0]};
    size_t props;
    switch (p[0]) {
    case B2P_XT_TINYINT: case B2P_XT_SMALLINT: case B2P_XT_INT: case B2P_XT_BIGINT:
    case B2P_XT_REAL: case B2P_XT_FLOAT: case B2P_XT_MONEY: case B2P_XT_SMALLMONEY:
    case B2P_XT_BIT: case B2P_XT_UNIQUEIDENTIFIER: case B2P_XT_DATE:
    case B2P_XT_SMALLDATETIME: case B2P_XT_DATETIME:
        props = 0;
        break;
    case B2P_XT_DECIMAL: case B2P_XT_NUMERIC:
        props = 2;
        if (len >= 4) {
            bt.precision = p[2];
            bt.scale = p[3];
        }
        break;
    case B2P_XT_BINARY: case B2P_XT_VARBINARY:
        props = 2; /* u16 max length: not needed to render */
        break;
    case B2P_XT_CHAR: case B2P_XT_VARCHAR: case B2P_XT_NCHAR: case B2P_XT_NVARCHAR:
        /* u32 collation id, then u16 max length [G, pages.md 8 item 11]. A variant's char
         * value is rendered as stored, never padded: its column type is not char(n). */
        props = 6;
        if (len >= 8) bt.collation = b2p_le32(p + 2);
        bt.xtype = p[0] == B2P_XT_CHAR ? B2P_XT_VARCHAR : p[0] == B2P_XT_NCHAR ? B2P_XT_NVARCHAR : p[0];
        bt.max_length = -1;
        break;
    case B2P_XT_TIME: case B2P_XT_DATETIME2: case B2P_XT_DATETIMEOFFSET:
        props = 1;
        if (len >= 3) bt.scale = p[2];
        break;
    default:
        return b2p_fail(err, B2P_ERR_CORRUPT, "sql_variant base type %u is not allowed in a variant", p[0]);
    }
    if (len < 2 + props) return b2p_fail(err, B2P_ERR_CORRUPT, "sql_variant value of %zu bytes is shorter than its header", len);
    return decode(cx, &bt, p + 2 + props, len - 2 - props, out, err);
}

/* ---- dispatch --------------------------------------------------------------------------- */

static bool is_fixed_char(uint8_t xtype) { return xtype == B2P_XT_CHAR || xtype == B2P_XT_NCHAR; }

static b2p_status decode(b2p_value_ctx *cx, const b2p_type *t, const uint8_t *p, size_t len,
                         b2p_buf *out, b2p_error *err) {
    switch (t->xtype) {
    case B2P_XT_TINYINT: case B2P_XT_SMALLINT: case B2P_XT_INT: case B2P_XT_BIGINT:
        return put_int(out, p, len, t->xtype, err);
    case B2P_XT_BIT:
        if (len != 1 || p[0] > 1) return b2p_fail(err, B2P_ERR_CORRUPT, "bit value must be one byte 0 or 1");
        return b2p_v_putc(out, p[0] ? 't' : 'f', err);
    case B2P_XT_DECIMAL: case B2P_XT_NUMERIC:
        return put_decimal(out, t->precision, t->scale, p, len, err);
    case B2P_XT_MONEY:
        if (len != 8) return want_len(len, 8, "money", err);
        return put_money(out, p, len, err);
    case B2P_XT_SMALLMONEY:
        if (len != 4) return want_len(len, 4, "smallmoney", err);
        return put_money(out, p, len, err);
    case B2P_XT_REAL: {
        if (len != 4) return want_len(len, 4, "real", err);
        uint32_t u = b2p_le32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        return b2p_v_float4(out, f, err);
    }
    case B2P_XT_FLOAT: {
        if (len != 8) return want_len(len, 8, "float", err);
        uint64_t u = b2p_le64(p);
        double d;
        memcpy(&d, &u, sizeof d);
        return b2p_v_float8(out, d, err);
    }
    case B2P_XT_DATE:
        return b2p_v_date(out, p, len, err);
    case B2P_XT_DATETIME:
        return b2p_v_datetime(out, p, len, err);
    case B2P_XT_SMALLDATETIME:
        return b2p_v_smalldatetime(out, p, len, err);
    case B2P_XT_TIME: case B2P_XT_DATETIME2: case B2P_XT_DATETIMEOFFSET:
        return b2p_v_time_family(out, t->xtype, t->scale, p, len, err);
    case B2P_XT_CHAR: case B2P_XT_VARCHAR: case B2P_XT_TEXT: {
        size_t pad = is_fixed_char(t->xtype) && t->max_length > 0 ? (size_t)t->max_length : 0;
        uint32_t coll = t->collation ? t->collation : cx->default_collation;
        return b2p_v_codepage_text(cx, coll, p, len, pad, out, err);
    }
    case B2P_XT_NCHAR: case B2P_XT_NVARCHAR: case B2P_XT_NTEXT: {
        size_t pad = is_fixed_char(t->xtype) && t->max_length > 0 ? (size_t)t->max_length / 2 : 0;
        return b2p_v_utf16_text(cx, p, len, pad, out, err);
    }
    case B2P_XT_BINARY: case B2P_XT_VARBINARY: case B2P_XT_IMAGE:
        return b2p_v_hex(out, p, len, err);
    case B2P_XT_TIMESTAMP:
        if (len != 8) return want_len(len, 8, "timestamp", err);
        return b2p_v_hex(out, p, len, err);
    case B2P_XT_UNIQUEIDENTIFIER:
        return put_uuid(out, p, len, err);
    case B2P_XT_SQL_VARIANT:
        return put_variant(cx, p, len, out, err);
    case B2P_XT_CLR:
        if (t->utype == B2P_UT_HIERARCHYID) return b2p_v_hierarchyid(out, p, len, err);
        if (t->utype == B2P_UT_GEOMETRY || t->utype == B2P_UT_GEOGRAPHY)
            return b2p_v_spatial(out, t->utype == B2P_UT_GEOGRAPHY, (cx->options & B2P_VALUE_SPATIAL_WKT) != 0,
                                 p, len, err);
        /* A user CLR type is an opaque serialization: keep its bytes. */
        return b2p_v_hex(out, p, len, err);
    case B2P_XT_XML:
        return b2p_v_binxml(cx, out, p, len, err);
    default:
        return b2p_fail(err, B2P_ERR_UNSUPPORTED, "system type id %u is not decoded", t->xtype);
    }
}

void b2p_value_ctx_init(b2p_value_ctx *cx, uint32_t default_collation) {
    memset(cx, 0, sizeof *cx);
    cx->default_collation = default_collation;
}

void b2p_value_ctx_free(b2p_value_ctx *cx) {
    b2p_v_conv_free(cx->conv);
    cx->conv = NULL;
}

b2p_status b2p_value_text(b2p_value_ctx *cx, const b2p_type *t, const uint8_t *bytes, size_t len,
                          b2p_buf *out, b2p_error *err) {
    static const uint8_t none[1] = {0};
    size_t start = out->len;
    cx->flags = 0;
    if (!bytes) {
        if (len) return b2p_fail(err, B2P_ERR_INTERNAL, "value bytes missing");
        bytes = none; /* an empty value (e.g. '' or 0x) is legal; keep pointer arithmetic defined */
    }
    b2p_status st = decode(cx, t, bytes, len, out, err);
    if (st != B2P_OK) b2p_buf_truncate(out, start);
    else if (!out->data) st = b2p_buf_reserve(out, 0, err); /* empty text: still a C string */
    return st;
}
