/* pages/value_float.c: real/float -> the text PostgreSQL 15 prints (extra_float_digits = 1).
 *
 * PostgreSQL prints the shortest decimal string that reads back to the same float4/double
 * (Ryu), choosing among strings of that length the one closest to the exact binary value;
 * plain notation when the decimal exponent is in [-4, 15) for double and [-4, 6) for real,
 * otherwise d.ddde+XX with at least two exponent digits.
 *
 * Here the shortest string is found by search instead of Ryu: for each length p the
 * correctly rounded p-digit string (printf %.*e) is the closest candidate; if it does not
 * read back, the only other p-digit string that can is its neighbour on the far side of the
 * value (the rounding interval is asymmetric at powers of two), so that one is tried too.
 * Reading back uses strtod/strtof; halfway cases are decided exactly (see classify()).
 * SQL Server cannot store NaN or infinity, so meeting one means the bytes are not a float. */
#include "pages/value_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shortest {
    char digits[24]; /* significant digits, no leading/trailing zeros, at least one */
    int nd;
    int exp10;       /* value = d.ddd x 10^exp10 */
} shortest;

/* v = m * 2^e exactly, with m the integer significand (bits of precision, or fewer for a
 * subnormal, whose e is pinned at the format's minimum). */
static void split_binary(double v, bool single, uint64_t *m, int *e) {
    int bits = single ? 24 : 53, emin = single ? -149 : -1074;
    int ex;
    (void)frexp(v, &ex);
    *e = ex - bits < emin ? emin : ex - bits;
    *m = (uint64_t)ldexp(v, -*e);
}

/* Is the decimal s * 10^k exactly equal to odd * 2^e2 (odd an odd integer < 2^56)? Compares
 * the powers of 2 and 5 and the odd parts, so no big numbers are needed. */
static bool decimal_equals(uint64_t s, int k, uint64_t odd, int e2) {
    if (s == 0) return false;
    int a = 0, b = 0;
    while (s % 2 == 0) { s /= 2; a++; }
    while (s % 5 == 0) { s /= 5; b++; }
    /* s * 2^(a+k) * 5^(b+k) with s coprime to 10 */
    if (a + k != e2 || b + k < 0) return false;
    for (int i = 0; i < b + k; i++) {
        if (s > odd / 5) return false;
        s *= 5;
    }
    return s == odd;
}

enum { INSIDE, OUTSIDE, TIE_UP, TIE_DOWN };

/* Where the decimal text (printf %e form: "d.ddde+X", p significant digits) lies relative to
 * the interval of reals that round to v. PostgreSQL's Ryu treats the interval as open: a
 * decimal exactly halfway to a neighbour is not accepted even when round-half-even would
 * read it back as v (PostgreSQL prints 9.999999999999999e+22, not 1e+23, for the double
 * nearest 1e23). strtod/strtof tell inside or outside; the halfway points are checked
 * exactly. */
static int classify(const char *text, double v, bool single) {
    bool back = single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v;
    if (!back) return OUTSIDE;
    uint64_t s = 0;
    int nd = 0;
    const char *c = text;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') {
            s = s * 10 + (uint64_t)(*c - '0');
            nd++;
        }
    int k = atoi(c + 1) - (nd - 1);
    uint64_t m;
    int e;
    split_binary(v, single, &m, &e);
    if (decimal_equals(s, k, 2 * m + 1, e - 1)) return TIE_UP;
    /* Below a power of two the lower neighbour is twice as close (except at the minimum
     * exponent, where spacing stays the same). */
    int bits = single ? 24 : 53, emin = single ? -149 : -1074;
    if (m == (uint64_t)1 << (bits - 1) && e > emin) {
        if (decimal_equals(s, k, 4 * m - 1, e - 2)) return TIE_DOWN;
    } else if (decimal_equals(s, k, 2 * m - 1, e - 1)) {
        return TIE_DOWN;
    }
    return INSIDE;
}

/* Parses "d.ddde+XX" (printf %e of a positive finite value) into s. */
static void parse_e(const char *text, shortest *s) {
    s->nd = 0;
    const char *c = text;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') s->digits[s->nd++] = *c;
    s->exp10 = atoi(c + 1);
    while (s->nd > 1 && s->digits[s->nd - 1] == '0') s->nd--;
    s->digits[s->nd] = '\0';
}

/* Writes digits (length nd, exponent exp10) back as "d.ddde<exp>" for strtod. */
static void unparse_e(const char *digits, int nd, int exp10, char *text, size_t cap) {
    char m[32];
    int k = 0;
    m[k++] = digits[0];
    if (nd > 1) {
        m[k++] = '.';
        memcpy(m + k, digits + 1, (size_t)nd - 1);
        k += nd - 1;
    }
    m[k] = '\0';
    snprintf(text, cap, "%se%d", m, exp10);
}

/* The p-digit neighbour of digits (exactly p digits, exp10) one unit in the last place away,
 * up (dir = +1) or down (dir = -1); false if it would change the digit count's meaning
 * (e.g. 1.00 - 1 ulp = 0.999 has a different exponent: handled by renormalising). */
static bool neighbour(const char *digits, int p, int exp10, int dir, char *nd_out, int *exp_out) {
    char d[24];
    memcpy(d, digits, (size_t)p);
    int i = p - 1;
    if (dir > 0) {
        while (i >= 0 && d[i] == '9') d[i--] = '0';
        if (i < 0) { /* 99..9 + 1 = 100..0: one more power of ten */
            d[0] = '1';
            memset(d + 1, '0', (size_t)p - 1);
            exp10++;
        } else {
            d[i]++;
        }
    } else {
        while (i >= 0 && d[i] == '0') d[i--] = '9';
        if (i < 0) return false;
        d[i]--;
        if (d[0] == '0') { /* 10..0 - 1 = 09..9: one power of ten less, all nines */
            if (p == 1) return false;
            memmove(d, d + 1, (size_t)p - 1);
            d[p - 1] = '9';
            exp10--;
        }
    }
    memcpy(nd_out, d, (size_t)p);
    nd_out[p] = '\0';
    *exp_out = exp10;
    return true;
}

static void find_shortest(double v, bool single, shortest *s) {
    int maxp = single ? 9 : 17;
    char text[64];
    for (int p = 1; p <= maxp; p++) {
        snprintf(text, sizeof text, "%.*e", p - 1, v);
        int where = classify(text, v, single);
        if (where == INSIDE) {
            parse_e(text, s);
            return;
        }
        /* The closest p-digit decimal is not acceptable: try the one on the other side. */
        int dir = where == TIE_UP ? -1 : where == TIE_DOWN ? +1 : strtod(text, NULL) < v ? +1 : -1;
        shortest c;
        c.nd = 0;
        for (const char *x = text; *x && *x != 'e'; x++)
            if (*x >= '0' && *x <= '9') c.digits[c.nd++] = *x;
        c.exp10 = atoi(strchr(text, 'e') + 1);
        char nb[24];
        int ne;
        if (neighbour(c.digits, p, c.exp10, dir, nb, &ne)) {
            unparse_e(nb, p, ne, text, sizeof text);
            if (classify(text, v, single) == INSIDE) {
                parse_e(text, s);
                return;
            }
        }
    }
    /* 17 (9) correctly rounded digits are always strictly inside. */
    snprintf(text, sizeof text, "%.*e", maxp - 1, v);
    parse_e(text, s);
}

static b2p_status put_float(b2p_buf *out, double v, bool single, b2p_error *err) {
    if (isnan(v) || isinf(v))
        return b2p_fail(err, B2P_ERR_CORRUPT, "%s value is %s, which SQL Server cannot store",
                        single ? "real" : "float", isnan(v) ? "NaN" : "infinite");
    char tmp[64];
    size_t k = 0;
    if (signbit(v)) tmp[k++] = '-';
    if (v == 0) {
        tmp[k++] = '0';
        return b2p_buf_append(out, tmp, k, err);
    }
    shortest s;
    find_shortest(fabs(v), single, &s);
    int hi = single ? 6 : 15;
    if (s.exp10 < -4 || s.exp10 >= hi) {
        tmp[k++] = s.digits[0];
        if (s.nd > 1) {
            tmp[k++] = '.';
            memcpy(tmp + k, s.digits + 1, (size_t)s.nd - 1);
            k += (size_t)s.nd - 1;
        }
        k += (size_t)snprintf(tmp + k, sizeof tmp - k, "e%c%02d", s.exp10 < 0 ? '-' : '+', abs(s.exp10));
    } else if (s.exp10 < 0) {
        tmp[k++] = '0';
        tmp[k++] = '.';
        for (int i = -1; i > s.exp10; i--) tmp[k++] = '0';
        memcpy(tmp + k, s.digits, (size_t)s.nd);
        k += (size_t)s.nd;
    } else {
        int intd = s.exp10 + 1; /* digits before the point */
        for (int i = 0; i < intd; i++) tmp[k++] = i < s.nd ? s.digits[i] : '0';
        if (s.nd > intd) {
            tmp[k++] = '.';
            memcpy(tmp + k, s.digits + intd, (size_t)(s.nd - intd));
            k += (size_t)(s.nd - intd);
        }
    }
    return b2p_buf_append(out, tmp, k, err);
}

b2p_status b2p_v_float8(b2p_buf *out, double v, b2p_error *err) { return put_float(out, v, false, err); }

b2p_status b2p_v_float4(b2p_buf *out, float v, b2p_error *err) { return put_float(out, (double)v, true, err); }
