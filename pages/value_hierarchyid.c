/* pages/value_hierarchyid.c: hierarchyid -> its canonical path text ("/1/-2.18/").
 *
 * The stored value is a bit stream read most significant bit first (MS-SSCLRT 2.1.x,
 * pages.md 6 "hierarchyid"). Each label is a variable-length code: a prefix naming a value
 * range, value bits interleaved with fixed 0/1 bits, then one terminator bit: 1 ends the
 * level ("/"), 0 means a dotted sub-label follows ("."), and then the stored number is one
 * more than the printed one. The stream ends when fewer than 8 bits remain and all are 0;
 * an empty value is the root "/". */
#include "pages/value_int.h"

#include <string.h>

/* One code per value range. spec: space-separated tokens, "0"/"1" runs are fixed bits,
 * "xN" is N value bits (most significant first), "T" the terminator. */
typedef struct label_code {
    int64_t min;
    const char *spec;
} label_code;

static const label_code codes[] = {
    {0, "01 x2 T"},
    {4, "100 x2 T"},
    {8, "101 x3 T"},
    {16, "110 x2 0 x1 1 x3 T"},
    {80, "1110 x3 0 x3 0 x1 1 x3 T"},
    {1104, "11110 x5 0 x3 0 x1 1 x3 T"},
    {5200, "111110 x19 0 x6 0 x3 0 x1 1 x3 T"},
    {4294972496LL, "111111 x14 0 x21 0 x6 0 x3 0 x1 1 x3 T"},
    {-8, "00111 x3 T"},
    {-72, "0010 x2 0 x1 1 x3 T"},
    {-4168, "000110 x5 0 x3 0 x1 1 x3 T"},
    {-4294971464LL, "000101 x19 0 x6 0 x3 0 x1 1 x3 T"},
    {-281479271682120LL, "000100 x14 0 x21 0 x6 0 x3 0 x1 1 x3 T"},
};

typedef struct bits {
    const uint8_t *p;
    size_t nbits;
    size_t pos;
} bits;

static int bit_at(const bits *b, size_t i) { return (b->p[i / 8] >> (7 - i % 8)) & 1; }

/* The leading fixed bits of spec (its range prefix) match the stream at pos? */
static bool prefix_matches(const bits *b, const char *spec) {
    size_t i = b->pos;
    for (const char *c = spec; *c == '0' || *c == '1'; c++, i++)
        if (i >= b->nbits || bit_at(b, i) != *c - '0') return false;
    return true;
}

/* Decodes one label with code lc at b->pos. Returns false when the stream is too short or
 * a fixed bit differs. */
static bool read_label(bits *b, const label_code *lc, int64_t *value, int *term) {
    uint64_t v = 0;
    for (const char *c = lc->spec; *c;) {
        if (*c == ' ') {
            c++;
        } else if (*c == '0' || *c == '1') {
            if (b->pos >= b->nbits || bit_at(b, b->pos) != *c - '0') return false;
            b->pos++;
            c++;
        } else if (*c == 'x') {
            int n = 0;
            for (c++; *c >= '0' && *c <= '9'; c++) n = n * 10 + (*c - '0');
            if (b->pos + (size_t)n > b->nbits) return false;
            for (int i = 0; i < n; i++) v = (v << 1) | (uint64_t)bit_at(b, b->pos++);
        } else { /* 'T' */
            if (b->pos >= b->nbits) return false;
            *term = bit_at(b, b->pos++);
            c++;
        }
    }
    *value = lc->min + (int64_t)v;
    return true;
}

/* Only zero padding (fewer than 8 bits) is left. */
static bool at_end(const bits *b) {
    if (b->nbits - b->pos >= 8) return false;
    for (size_t i = b->pos; i < b->nbits; i++)
        if (bit_at(b, i)) return false;
    return true;
}

b2p_status b2p_v_hierarchyid(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err) {
    if (len > 892) return b2p_fail(err, B2P_ERR_CORRUPT, "hierarchyid value of %zu bytes (at most 892)", len);
    bits b = {p, len * 8, 0};
    b2p_status st = b2p_v_putc(out, '/', err);
    int term = 1;
    while (st == B2P_OK && !at_end(&b)) {
        const label_code *lc = NULL;
        for (size_t i = 0; i < sizeof codes / sizeof codes[0] && !lc; i++)
            if (prefix_matches(&b, codes[i].spec)) lc = &codes[i];
        size_t at = b.pos;
        int64_t v;
        if (!lc || !read_label(&b, lc, &v, &term))
            return b2p_fail(err, B2P_ERR_CORRUPT, "hierarchyid has an invalid label at bit %zu", at);
        st = b2p_v_printf(out, err, "%lld%c", (long long)(term ? v : v - 1), term ? '/' : '.');
    }
    /* A dotted label must be followed by another label of the same level. */
    if (st == B2P_OK && !term) return b2p_fail(err, B2P_ERR_CORRUPT, "hierarchyid ends inside a dotted label");
    return st;
}
