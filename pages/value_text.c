/* pages/value_text.c: char/varchar/text (collation code page) and nchar/nvarchar/ntext
 * (UTF-16LE) -> UTF-8, plus the collation id -> code page map of pages.md 6.1.
 *
 * Code-page conversion uses glibc iconv; descriptors are cached per code page in the
 * caller's b2p_value_ctx (iconv_t is not thread-safe, the ctx is one per thread). */
#include "pages/value_int.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- collation id -> code page ------------------------------------------------------ */

/* Windows collations: ANSI code page by designator (collation id bits 0-7). The designator ->
 * LCID pairs come from the 3,955 (collation id, name, LCID) rows of sys.fn_helpcollations()
 * in OrcaSql's Collations.cs (93 designators, no conflicts); LCID -> code page is the
 * locale's default ANSI code page. 0 = Unicode-only locale (no varchar code page) or an
 * unassigned designator. */
static const uint16_t designator_cp[101] = {
    [1] = 1256, [2] = 1256, [3] = 950, [4] = 1250, [5] = 1252, [6] = 1251, [7] = 1253,
    [8] = 1252, [9] = 1252, [10] = 1252, [11] = 1252, [12] = 1255, [13] = 1250, [14] = 1252,
    [15] = 1252, [16] = 932, [17] = 949, [18] = 0 /* Maori: Unicode only */, [19] = 1250,
    [20] = 1250, [21] = 1251, [22] = 1250, [23] = 1250, [24] = 1250, [25] = 874, [26] = 1254,
    [27] = 1251, [28] = 1250, [29] = 1257, [30] = 1257, [31] = 1257, [32] = 1258, [36] = 936,
    [37] = 1256, [38] = 1252, [40] = 1252, [41] = 1252, [42] = 1250, [43] = 932,
    [45] = 0 /* Georgian: Unicode only */, [46] = 936, [47] = 950, [48] = 932, [49] = 936,
    [50] = 936, [51] = 950, [52] = 950, [53] = 0 /* Indic: Unicode only */, [55] = 1251,
    [56] = 1254, [57] = 1251, [58] = 1251, [59] = 0 /* Syriac */, [60] = 0 /* Divehi */,
    [62] = 950, [63] = 1252, [64] = 949, [65] = 950, [66] = 950, [67] = 936, [68] = 936,
    [69] = 950, [70] = 950, [71] = 1252, [72] = 932, [73] = 932, [74] = 1252, [75] = 1252,
    [76] = 1250, [77] = 1251, [78] = 1250, [79] = 1251, [80] = 1256, [81] = 1256, [82] = 1252,
    [83] = 1252, [84] = 1251, [85] = 0 /* Maltese */, [86] = 1252, [87] = 1252, [88] = 1250,
    [89] = 0 /* Bengali */, [90] = 0 /* Assamese */, [91] = 0 /* Pashto */, [92] = 0 /* Tibetan */,
    [93] = 1252, [94] = 0 /* Khmer */, [95] = 0 /* Lao */, [96] = 1252, [97] = 1252,
    [98] = 0 /* Nepali */, [99] = 1254, [100] = 1251,
};

/* SQL collations: code page by sort id (bits 24-31), from the code page in each SQL
 * collation's name in the same table (CP1 = 1252; the EBCDIC-named ones are CP1 too). */
static unsigned sql_sort_cp(unsigned sort) {
    if (sort >= 30 && sort <= 34) return 437;
    if ((sort >= 40 && sort <= 44) || sort == 49 || (sort >= 55 && sort <= 61)) return 850;
    if ((sort >= 51 && sort <= 54) || (sort >= 183 && sort <= 186) || (sort >= 210 && sort <= 219)) return 1252;
    if (sort >= 81 && sort <= 96) return 1250;
    if (sort >= 105 && sort <= 108) return 1251;
    if (sort >= 113 && sort <= 124) return 1253;
    if (sort >= 129 && sort <= 130) return 1254;
    if (sort >= 137 && sort <= 138) return 1255;
    if (sort >= 145 && sort <= 146) return 1256;
    if (sort >= 153 && sort <= 160) return 1257;
    return 0;
}

/* UTF-8 collations (SQL Server 2019+, _UTF8). [G] The stored bit is not established:
 * pre-2019 ids use bits 0x FF07FB00 | designator, so 0x400 is the free flag bit next to
 * BIN2 (0x800) in the flag byte. pages.md's other candidate, 0x100, is _SC (verified in
 * the collation table: every _SC id has it and no other), so it cannot be UTF-8. */
#define COLL_UTF8_BIT 0x400u

/* Bits no collation id of the pre-2019 table uses besides 0x400: a collation that sets one
 * is of a kind not known here, so its code page is not guessed (the caller reports it). */
#define COLL_UNKNOWN_BITS 0x00F80000u

unsigned b2p_collation_codepage(uint32_t collation) {
    if (collation & COLL_UNKNOWN_BITS) return 0;
    if (collation & COLL_UTF8_BIT) return 65001;
    unsigned sort = collation >> 24;
    if (sort) return sql_sort_cp(sort);
    unsigned d = collation & 0xff;
    return d < sizeof designator_cp / sizeof designator_cp[0] ? designator_cp[d] : 0;
}

/* ---- UTF-8 helpers --------------------------------------------------------------------- */

b2p_status b2p_v_utf8(b2p_buf *out, uint32_t cp, b2p_error *err) {
    uint8_t u[4];
    return b2p_buf_append(out, u, b2p_utf8_encode(cp, u), err);
}

/* Characters (code points) in out[from..len): UTF-8 lead bytes. */
static size_t utf8_chars(const b2p_buf *out, size_t from) {
    size_t n = 0;
    for (size_t i = from; i < out->len; i++)
        if (((uint8_t)out->data[i] & 0xC0) != 0x80) n++;
    return n;
}

/* char(n)/nchar(n) become PostgreSQL char(n), which always holds n characters: SQL Server
 * pads with blanks in bytes (or UTF-16 units), so multi-byte characters can leave the
 * converted text short of n characters; PostgreSQL would pad it, so do the same. */
static b2p_status pad_to(b2p_buf *out, size_t from, size_t pad_chars, b2p_error *err) {
    size_t have = utf8_chars(out, from);
    for (; have < pad_chars; have++) {
        b2p_status st = b2p_v_putc(out, ' ', err);
        if (st != B2P_OK) return st;
    }
    return B2P_OK;
}

/* ---- UTF-16LE ------------------------------------------------------------------------- */

b2p_status b2p_v_utf16_text(b2p_value_ctx *cx, const uint8_t *p, size_t len, size_t pad_chars,
                            b2p_buf *out, b2p_error *err) {
    if (len % 2) return b2p_fail(err, B2P_ERR_CORRUPT, "UTF-16 value has an odd length (%zu bytes)", len);
    size_t from = out->len;
    /* A UTF-16 unit never takes more than 3 UTF-8 bytes (a surrogate pair: 4 for 2 units), so
     * room is made once and the characters are written straight into it. */
    b2p_status st = b2p_buf_reserve(out, len / 2 * 3, err);
    if (st != B2P_OK) return st;
    uint8_t *d = (uint8_t *)out->data + out->len;
    for (size_t i = 0; i < len / 2;) {
        size_t at = 2 * i;
        int unpaired;
        uint32_t u = b2p_utf16_next(p, len / 2, &i, &unpaired);
        if (unpaired) {
            b2p_buf_truncate(out, from);
            return b2p_fail(err, B2P_ERR_CORRUPT, "UTF-16 value has an unpaired %s surrogate U+%04X at byte %zu",
                            u >= 0xDC00 ? "low" : "high", (unsigned)u, at);
        }
        if (u == 0) cx->flags |= B2P_VALUE_HAS_NUL;
        d += b2p_utf8_encode(u, d);
    }
    out->len = (size_t)((char *)d - out->data);
    out->data[out->len] = '\0';
    if (pad_chars) st = pad_to(out, from, pad_chars, err);
    return st;
}

/* ---- code pages ------------------------------------------------------------------------ */

#define CONV_SLOTS 8
#define UNDEFINED 0xFFFFFFFFu

/* Single-byte code pages become a 256-entry table, built once from iconv one byte at a
 * time. Byte-wise matters for 1258 (Vietnamese): glibc's converter composes a letter with
 * a following combining accent (61 CC -> U+00E0), while Windows, whose tables SQL Server
 * uses, keeps the two code points; a table cannot compose. Double-byte code pages (932,
 * 936, 949, 950) stream through iconv. */
typedef struct conv_slot {
    unsigned cp;
    iconv_t cd;          /* double-byte code pages; (iconv_t)-1 otherwise */
    uint32_t *table;     /* single-byte code pages: code point per byte or UNDEFINED */
} conv_slot;

struct b2p_value_conv {
    conv_slot slot[CONV_SLOTS];
    int n;
};

static void slot_free(conv_slot *s) {
    if (s->cd != (iconv_t)-1) iconv_close(s->cd);
    free(s->table);
}

void b2p_v_conv_free(struct b2p_value_conv *conv) {
    if (!conv) return;
    for (int i = 0; i < conv->n; i++) slot_free(&conv->slot[i]);
    free(conv);
}

static bool double_byte(unsigned cp) { return cp == 932 || cp == 936 || cp == 949 || cp == 950; }

/* Fills table[256] by converting each byte alone to UTF-32LE. */
static void build_table(iconv_t cd, uint32_t *table) {
    for (unsigned b = 0; b < 256; b++) {
        char in[1] = {(char)b};
        uint8_t o[16];
        char *ip = in, *op = (char *)o;
        size_t il = 1, ol = sizeof o;
        iconv(cd, NULL, NULL, NULL, NULL);
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        if (r != (size_t)-1) r = iconv(cd, NULL, NULL, &op, &ol); /* flush a held character */
        size_t n = sizeof o - ol;
        table[b] = (r == (size_t)-1 || n != 4) ? UNDEFINED : b2p_le32(o);
    }
}

static b2p_status get_slot(b2p_value_ctx *cx, unsigned cp, conv_slot **out, b2p_error *err) {
    if (!cx->conv) {
        cx->conv = calloc(1, sizeof *cx->conv);
        if (!cx->conv) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory for a code page converter");
    }
    struct b2p_value_conv *c = cx->conv;
    for (int i = 0; i < c->n; i++)
        if (c->slot[i].cp == cp) {
            *out = &c->slot[i];
            return B2P_OK;
        }
    char name[16];
    snprintf(name, sizeof name, "CP%u", cp);
    bool dbcs = double_byte(cp);
    iconv_t d = iconv_open(dbcs ? "UTF-8" : "UTF-32LE", name);
    if (d == (iconv_t)-1) return b2p_fail(err, B2P_ERR_UNSUPPORTED, "iconv cannot convert from code page %u", cp);
    conv_slot s = {.cp = cp, .cd = d, .table = NULL};
    if (!dbcs) {
        s.table = malloc(256 * sizeof *s.table);
        if (!s.table) {
            iconv_close(d);
            return b2p_fail(err, B2P_ERR_NOMEM, "out of memory for a code page table");
        }
        build_table(d, s.table);
        iconv_close(d);
        s.cd = (iconv_t)-1;
    }
    if (c->n == CONV_SLOTS) { /* rare: more code pages than slots; drop the oldest */
        slot_free(&c->slot[0]);
        memmove(c->slot, c->slot + 1, sizeof c->slot[0] * (CONV_SLOTS - 1));
        c->n--;
    }
    c->slot[c->n] = s;
    *out = &c->slot[c->n++];
    return B2P_OK;
}

/* A byte undefined in the code page. Windows (and so SQL Server, which converts with the
 * Windows tables) maps the five holes of 1252 to the C1 controls of the same value;
 * anything else becomes '?', SQL Server's replacement, and the caller is told. */
static b2p_status undefined_byte(b2p_value_ctx *cx, unsigned cp, uint8_t b, b2p_buf *out, b2p_error *err) {
    if (cp == 1252 && (b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D)) return b2p_v_utf8(out, b, err);
    cx->flags |= B2P_VALUE_REPLACED;
    return b2p_v_putc(out, '?', err);
}

static b2p_status table_text(b2p_value_ctx *cx, const conv_slot *s, const uint8_t *p, size_t len, b2p_buf *out,
                             b2p_error *err) {
    b2p_status st = b2p_buf_reserve(out, len * 3, err);
    for (size_t i = 0; st == B2P_OK && i < len; i++) {
        uint32_t u = s->table[p[i]];
        st = u == UNDEFINED ? undefined_byte(cx, s->cp, p[i], out, err) : b2p_v_utf8(out, u, err);
    }
    return st;
}

static b2p_status iconv_text(b2p_value_ctx *cx, const conv_slot *s, const uint8_t *p, size_t len, b2p_buf *out,
                             b2p_error *err) {
    iconv(s->cd, NULL, NULL, NULL, NULL); /* reset shift state */
    char *in = (char *)(uintptr_t)p;      /* iconv's prototype is not const-correct */
    size_t inleft = len;
    while (inleft > 0) {
        b2p_status st = b2p_buf_reserve(out, inleft * 3 + 8, err);
        if (st != B2P_OK) return st;
        char *o = out->data + out->len;
        size_t oleft = out->cap - out->len - 1;
        size_t r = iconv(s->cd, &in, &inleft, &o, &oleft);
        out->len = (size_t)(o - out->data);
        out->data[out->len] = '\0';
        if (r != (size_t)-1) break;
        if (errno == E2BIG) continue;
        if (errno == EILSEQ || errno == EINVAL) { /* EINVAL: a lead byte cut off at the end */
            st = undefined_byte(cx, s->cp, (uint8_t)*in, out, err);
            if (st != B2P_OK) return st;
            in++;
            inleft--;
            iconv(s->cd, NULL, NULL, NULL, NULL);
            continue;
        }
        return b2p_fail(err, B2P_ERR_INTERNAL, "iconv from code page %u failed: %s", s->cp, strerror(errno));
    }
    return B2P_OK;
}

/* Validates UTF-8 (what a _UTF8 collation stores): PostgreSQL rejects anything else, so an
 * invalid sequence is corruption, not something to pass on. */
static b2p_status utf8_text(const uint8_t *p, size_t len, b2p_buf *out, b2p_error *err) {
    for (size_t i = 0; i < len;) {
        uint8_t b = p[i];
        size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || i + n > len) goto bad;
        uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
        i += n;
        continue;
    bad:
        return b2p_fail(err, B2P_ERR_CORRUPT, "UTF-8 value has an invalid sequence at byte %zu", i);
    }
    return b2p_buf_append(out, p, len, err);
}

b2p_status b2p_v_codepage_text(b2p_value_ctx *cx, uint32_t collation, const uint8_t *p,
                               size_t len, size_t pad_chars, b2p_buf *out, b2p_error *err) {
    size_t from = out->len;
    if (memchr(p, 0, len)) cx->flags |= B2P_VALUE_HAS_NUL;
    unsigned cp = b2p_collation_codepage(collation);
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++) ascii = p[i] < 0x80;
    b2p_status st;
    if (ascii && cp != 0) {
        /* Every code page handled here agrees with ASCII below 0x80. */
        st = b2p_buf_append(out, p, len, err);
    } else if (cp == 65001) {
        st = utf8_text(p, len, out, err);
    } else if (cp == 0) {
        return b2p_fail(err, B2P_ERR_UNSUPPORTED, "collation 0x%08lx has no known code page",
                        (unsigned long)collation);
    } else {
        conv_slot *slot = NULL;
        st = get_slot(cx, cp, &slot, err);
        if (st == B2P_OK) st = slot->table ? table_text(cx, slot, p, len, out, err) : iconv_text(cx, slot, p, len, out, err);
    }
    if (st == B2P_OK && pad_chars) st = pad_to(out, from, pad_chars, err);
    return st;
}
