/* MS-XCA "LZ77+Huffman" decoder, written from [MS-XCA] v20240423 sections 2.1 and 2.2.4.
 *
 * Stream layout (one block; blocks follow each other with no framing):
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       256   code lengths of symbols 0..511, 4 bits each: byte i = len(2i) | len(2i+1) << 4
 *   256     ...   16-bit little-endian words, each read most significant bit first, with the raw
 *                 bytes of long match lengths interleaved (see xp_long_length)
 *
 *   symbol 0..255     literal byte
 *   symbol 256..511   match: s = symbol - 256; length = (s & 15) + 3, where 15 means "read raw
 *                     bytes"; distance = (1 << (s >> 4)) + the next (s >> 4) bits of the stream
 *
 * The spec's decoder keeps a 32-bit window: it loads two words at the start of a block and one
 * more whenever fewer than 16 unconsumed bits would remain. Where it reads raw length bytes and
 * where the next block's table starts both depend on exactly how many words that window has
 * loaded, so this decoder, which reads further ahead with a 64-bit buffer, computes the spec's
 * input position (xp_spec_pos) whenever it needs one.
 *
 * A block ends when the output position reaches the block's start + 65536 (tested before each
 * symbol, so a match may run past it); the next table starts at the spec's input position. The
 * caller knows the exact output size, so decoding stops on output count and symbol 256 is only
 * ever a match of length 3 at distance 1 (its EOF meaning applies only once the output is full).
 * The 0 -> u32 long-length escape is absent from the spec's decoder pseudocode but present in its
 * encoder pseudocode (2.1.4.3) and produced by Windows, so it is accepted. */
#include "xpress.h"

#include <string.h>

enum {
    XP_TABLE_BYTES = 256,   /* code lengths of the 512 symbols, two per byte */
    XP_SYMBOLS = 512,       /* 256 literals + 256 match classes */
    XP_MAX_LEN = 15,        /* longest code: a 4-bit length field */
    XP_KRAFT = 1 << XP_MAX_LEN,
    XP_BLOCK_OUT = 65536,   /* output bytes per block */
    XP_PRIMARY_BITS = 12,   /* codes up to this long decode with one table lookup */
    XP_MIN_MATCH = 3,
    XP_LONG_CODE = 512      /* the "symbol" of a primary entry whose code is longer: not a symbol */
};

/* Decoding tables for one block. primary[] is indexed by the next XP_PRIMARY_BITS bits; an entry is
 * symbol << 4 | length, or XP_LONG_CODE << 4 (length 0) when the code is longer: the canonical slow
 * path (limit, first, index, sorted) decodes those. */
typedef struct xp_table {
    uint16_t primary[1u << XP_PRIMARY_BITS];
    uint32_t limit[XP_MAX_LEN + 1];  /* 15-bit left-justified code value just past length L's codes */
    uint32_t first[XP_MAX_LEN + 1];  /* first canonical code of length L */
    uint16_t index[XP_MAX_LEN + 1];  /* position in sorted[] of that first code's symbol */
    uint16_t sorted[XP_SYMBOLS];     /* symbols ordered by (length, value): the canonical order */
} xp_table;

/* The bit reader. bits holds the avail unconsumed bits at its top; ip is just past the last word
 * loaded and may run past the input (missing words load as zero, and xp_spec_pos catches that). */
typedef struct xp_bits {
    const uint8_t *in;
    size_t in_len;
    size_t ip;
    uint64_t bits;
    unsigned avail;
} xp_bits;

static unsigned xp_len(const uint8_t *table, unsigned sym) {
    return (table[sym >> 1] >> ((sym & 1) * 4)) & 15;
}

/* Sum of 2^(15 - len) over the used symbols: 2^15 exactly for a complete prefix code. */
static uint32_t xp_kraft_sum(const uint8_t table[XP_TABLE_BYTES]) {
    uint32_t sum = 0;
    for (unsigned sym = 0; sym < XP_SYMBOLS; sym++) {
        unsigned len = xp_len(table, sym);
        if (len) sum += (uint32_t)1 << (XP_MAX_LEN - len);
    }
    return sum;
}

int b2p_xpress_table_is_complete(const uint8_t table[256]) {
    return xp_kraft_sum(table) == XP_KRAFT;
}

/* Builds the decoding tables from a table already known to be complete. Entries are written in
 * canonical order, so the short codes fill primary[] from the front and whatever remains belongs to
 * codes longer than XP_PRIMARY_BITS. */
static void xp_build(xp_table *t, const uint8_t *table) {
    uint16_t count[XP_MAX_LEN + 1] = {0};
    uint16_t next[XP_MAX_LEN + 1];
    for (unsigned sym = 0; sym < XP_SYMBOLS; sym++) count[xp_len(table, sym)]++;

    uint32_t code = 0;
    uint16_t idx = 0;
    for (unsigned len = 1; len <= XP_MAX_LEN; len++) {
        t->first[len] = code;
        t->index[len] = idx;
        next[len] = idx;
        t->limit[len] = (code + count[len]) << (XP_MAX_LEN - len);
        code = (code + count[len]) << 1;
        idx = (uint16_t)(idx + count[len]);
    }
    for (unsigned sym = 0; sym < XP_SYMBOLS; sym++) {
        unsigned len = xp_len(table, sym);
        if (len) t->sorted[next[len]++] = (uint16_t)sym;
    }

    size_t fill = 0;
    for (unsigned i = 0; i < idx; i++) {
        unsigned sym = t->sorted[i], len = xp_len(table, sym);
        if (len > XP_PRIMARY_BITS) break;
        size_t n = (size_t)1 << (XP_PRIMARY_BITS - len);
        uint16_t entry = (uint16_t)(sym << 4 | len);
        for (size_t k = 0; k < n; k++) t->primary[fill + k] = entry;
        fill += n;
    }
    for (; fill < sizeof t->primary / sizeof t->primary[0]; fill++) t->primary[fill] = XP_LONG_CODE << 4;
}

/* Decodes (and consumes) a code longer than XP_PRIMARY_BITS from the next 15 bits: the first length
 * whose left-justified range contains them. Complete codes end with limit[15] == 2^15. */
static unsigned xp_decode_long(const xp_table *t, uint64_t *bits, unsigned *avail) {
    uint32_t peek = (uint32_t)(*bits >> (64 - XP_MAX_LEN));
    unsigned len = XP_PRIMARY_BITS + 1;
    while (len < XP_MAX_LEN && peek >= t->limit[len]) len++;
    *bits <<= len;
    *avail -= len;
    return t->sorted[t->index[len] + ((peek >> (XP_MAX_LEN - len)) - t->first[len])];
}

/* Where the spec's decoder stands in the input. Its window always holds 16 + (-c mod 16) unconsumed
 * bits once c >= 1 bits have been consumed, and ours holds avail, which is congruent mod 16, so we
 * have loaded (avail >> 4) - 1 words more than it has (or one fewer, when avail < 16). */
static size_t xp_spec_pos(const xp_bits *b) {
    return b->ip + 2 - 2 * (size_t)(b->avail >> 4);
}

static uint32_t xp_load_word(const xp_bits *b, size_t at) {
    return (at <= b->in_len && b->in_len - at >= 2) ? b2p_le16(b->in + at) : 0;
}

/* The four 16-bit words at p as one bit sequence: the first word in the top 16 bits. */
static inline uint64_t xp_words4(const uint8_t *p) {
    uint64_t v = b2p_le64(p);                                                   /* high to low: w3 w2 w1 w0 */
    v = v >> 32 | v << 32;                                                      /* w1 w0 w3 w2 */
    return (v & 0x0000FFFF0000FFFFu) << 16 | ((v >> 16) & 0x0000FFFF0000FFFFu); /* w0 w1 w2 w3 */
}

/* Loads words until at least 49 bits are unconsumed. Eight bytes at a time while they are all
 * inside the input: their four words are placed after the unconsumed bits, and only the whole
 * words that fit are counted (the bits of the next word that also land in the buffer are the true
 * ones, and they are loaded again, unchanged, later). Near the end of the input, word by word,
 * with zeros past it. */
static inline void xp_refill(xp_bits *b) {
    if (b->ip <= b->in_len && b->in_len - b->ip >= 8) {
        uint64_t v = xp_words4(b->in + b->ip);
        unsigned words = (64 - b->avail) >> 4;
        b->bits |= v >> b->avail;
        b->avail += 16 * words;
        b->ip += 2 * words;
        return;
    }
    while (b->avail <= 48) {
        b->bits |= (uint64_t)xp_load_word(b, b->ip) << (48 - b->avail);
        b->avail += 16;
        b->ip += 2;
    }
}

/* Reads the raw bytes of a length whose symbol said 15. They sit at the spec's input position, just
 * past the words its window holds; afterwards the buffer is cut back to those words' unconsumed bits
 * (the words we read beyond them were really these bytes) and reading resumes after the bytes. */
static b2p_status xp_long_length(xp_bits *b, uint64_t *len, b2p_error *err) {
    size_t p = xp_spec_pos(b);
    if (p >= b->in_len)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "xpress: input offset %zu: expected a match-length byte, the input ends at %zu", p,
                        b->in_len);
    uint32_t v = b->in[p++];
    if (v == 255) {
        if (b->in_len - p < 2)
            return b2p_fail(err, B2P_ERR_CORRUPT,
                            "xpress: input offset %zu: expected a 2-byte match length, the input ends at %zu",
                            p, b->in_len);
        v = b2p_le16(b->in + p);
        p += 2;
        if (v == 0) { /* Windows' escape for lengths beyond 16 bits */
            if (b->in_len - p < 4)
                return b2p_fail(err, B2P_ERR_CORRUPT,
                                "xpress: input offset %zu: expected a 4-byte match length, the input ends "
                                "at %zu",
                                p, b->in_len);
            v = b2p_le32(b->in + p);
            p += 4;
        }
        if (v < 15)
            return b2p_fail(err, B2P_ERR_CORRUPT,
                            "xpress: input offset %zu: extended match length %u is below the minimum of 15",
                            p, (unsigned)v);
        v -= 15;
    }
    *len = (uint64_t)v + 15;

    unsigned keep = 16 + (b->avail & 15);
    b->bits &= ~(uint64_t)0 << (64 - keep);
    b->avail = keep;
    b->ip = p;
    return B2P_OK;
}

/* Copies a long match. A source that overlaps its destination repeats with period dist, so the copy
 * doubles that period chunk by chunk, [src, dst + done) always being a whole number of periods:
 * few, long memcpy calls however short the period. */
static void xp_copy_long(uint8_t *out, size_t op, size_t dist, size_t len) {
    uint8_t *dst = out + op;
    const uint8_t *src = dst - dist;
    if (dist >= len) {
        memcpy(dst, src, len);
    } else if (dist == 1) {
        memset(dst, *src, len);
    } else {
        size_t done = 0;
        while (done < len) {
            size_t chunk = dist + done;
            if (chunk > len - done) chunk = len - done;
            memcpy(dst + done, src, chunk);
            done += chunk;
        }
    }
}

/* Copies a match already known to fit in out and to start no earlier than out[0]. Most matches are
 * short: with distance >= 8 they take two fixed 8-byte moves (each source ends where its
 * destination starts, at the latest, so overlap is harmless; up to 15 bytes past the match are
 * written and later overwritten, hence the room test); shorter periods go byte by byte. */
static inline void xp_copy_match(uint8_t *out, size_t op, size_t dist, size_t len, size_t out_len) {
    if (len <= 16 && dist >= 8 && out_len - op >= 16) {
        memcpy(out + op, out + op - dist, 8);
        memcpy(out + op + 8, out + op - dist + 8, 8);
    } else if (len <= 16) {
        for (size_t i = 0; i < len; i++) out[op + i] = out[op + i - dist];
    } else {
        xp_copy_long(out, op, dist, len);
    }
}

typedef struct xp_out {
    uint8_t *buf;
    size_t len;  /* the exact size the caller expects */
    size_t pos;
} xp_out;

/* Fails when the spec's decoder would already have read past the input. */
static b2p_status xp_check_input(const xp_bits *b, const xp_out *o, b2p_error *err) {
    size_t p = xp_spec_pos(b);
    if (p > b->in_len)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "xpress: input offset %zu: expected more of the bit stream, the input ends at %zu "
                        "after %zu of %zu output bytes",
                        p, b->in_len, o->pos, o->len);
    return B2P_OK;
}

/* A match reaching before the output or past its end; offsets are the spec reader's. */
static b2p_status xp_match_error(const xp_bits *b, const xp_out *o, size_t dist, uint64_t len,
                                 b2p_error *err) {
    if (dist > o->pos)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "xpress: input offset %zu: match distance %zu is beyond the %zu bytes produced "
                        "so far",
                        xp_spec_pos(b), dist, o->pos);
    return b2p_fail(err, B2P_ERR_CORRUPT,
                    "xpress: input offset %zu: a match of %llu bytes at output %zu runs past the expected "
                    "%zu bytes",
                    xp_spec_pos(b), (unsigned long long)len, o->pos, o->len);
}

/* Decodes the next symbol from a buffer holding at least 15 unconsumed bits, or returns
 * XP_LONG_CODE, consuming nothing, when its code is longer than XP_PRIMARY_BITS. Folding that case
 * into the symbol value leaves one test (sym < 256) on the literal path. */
static inline unsigned xp_next(const xp_table *t, uint64_t *bits, unsigned *avail) {
    unsigned entry = t->primary[*bits >> (64 - XP_PRIMARY_BITS)];
    unsigned len = entry & 15;
    *bits <<= len;
    *avail -= len;
    return entry >> 4;
}

/* Decodes symbols until the output reaches end: the hot path. The bit state lives in locals, not in
 * *b, because every byte stored through out could alias *b and force it back to memory. A refill
 * leaves at least 49 bits, enough for a literal and then a literal or a whole match (15 + 15 bits);
 * the rare paths (long lengths, errors, the end of the input) save the state into *b and call out. */
static b2p_status xp_symbols(const xp_table *t, xp_bits *b, xp_out *o, size_t end, b2p_error *err) {
    uint8_t *const out = o->buf;
    const size_t out_len = o->len;
    size_t op = o->pos;
    const uint8_t *const in = b->in;
    const size_t fast_ip = b->in_len >= 8 ? b->in_len - 8 : 0; /* ip <= fast_ip: 8 bytes readable */
    size_t ip = b->ip;
    uint64_t bits = b->bits;
    unsigned avail = b->avail;
#define XP_SAVE() (b->bits = bits, b->avail = avail, b->ip = ip, o->pos = op)
#define XP_LOAD() (bits = b->bits, avail = b->avail, ip = b->ip)
    while (op < end) {
        if (avail < 49) {
            if (ip <= fast_ip && b->in_len >= 8) {
                uint64_t v = xp_words4(in + ip); /* as in xp_refill */
                unsigned words = (64 - avail) >> 4;
                bits |= v >> avail;
                avail += 16 * words;
                ip += 2 * words;
            } else {
                XP_SAVE();
                b2p_status st = xp_check_input(b, o, err);
                if (st != B2P_OK) return st;
                xp_refill(b);
                XP_LOAD();
            }
        }
        unsigned sym = xp_next(t, &bits, &avail);
        if (sym < 256) {
            out[op++] = (uint8_t)sym;
            if (op >= end) break;
            sym = xp_next(t, &bits, &avail);
            if (sym < 256) {
                out[op++] = (uint8_t)sym;
                continue;
            }
        }
        if (sym == XP_LONG_CODE) {
            sym = xp_decode_long(t, &bits, &avail);
            if (sym < 256) {
                out[op++] = (uint8_t)sym;
                continue;
            }
        }
        unsigned s = sym - 256, obits = s >> 4;
        uint64_t len = s & 15;
        if (len == 15) {
            XP_SAVE();
            b2p_status st = xp_long_length(b, &len, err);
            if (st != B2P_OK) return st;
            XP_LOAD();
        }
        len += XP_MIN_MATCH;
        /* the top 15 bits shifted down to the top obits of them: no shift by 64 when obits is 0 */
        size_t dist = (size_t)((bits >> (64 - XP_MAX_LEN)) >> (XP_MAX_LEN - obits)) + ((size_t)1 << obits);
        bits <<= obits;
        avail -= obits;
        if (dist > op || len > out_len - op) {
            XP_SAVE();
            return xp_match_error(b, o, dist, len, err);
        }
        xp_copy_match(out, op, dist, (size_t)len, out_len);
        op += (size_t)len;
    }
    XP_SAVE();
#undef XP_SAVE
#undef XP_LOAD
    return B2P_OK;
}

/* Starts the block whose table is at in[pos]: checks the table, builds the decoding tables and
 * fills the bit buffer. The spec reads two words here, so those 4 bytes must exist; we read four
 * words, and xp_spec_pos accounts for the difference once the first symbol is consumed. */
static b2p_status xp_start_block(xp_table *t, xp_bits *b, size_t pos, const xp_out *o, b2p_error *err) {
    if (pos > b->in_len || b->in_len - pos < XP_TABLE_BYTES + 4)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "xpress: input offset %zu: expected a 256-byte code-length table and 4 bytes of bit "
                        "stream for the block at output %zu, the input ends at %zu",
                        pos, o->pos, b->in_len);
    const uint8_t *table = b->in + pos;
    uint32_t kraft = xp_kraft_sum(table);
    if (kraft != XP_KRAFT)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "xpress: input offset %zu: the code-length table of the block at output %zu is not a "
                        "complete prefix code (kraft sum %u/%u)",
                        pos, o->pos, (unsigned)kraft, (unsigned)XP_KRAFT);
    xp_build(t, table);
    b->ip = pos + XP_TABLE_BYTES;
    b->bits = 0;
    b->avail = 0;
    xp_refill(b);
    return B2P_OK;
}

b2p_status b2p_xpress_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                             b2p_error *err) {
    xp_table t;
    xp_bits b = {.in = in, .in_len = in_len};
    xp_out o = {.buf = out, .len = out_len, .pos = 0};
    size_t pos = 0;
    while (o.pos < out_len) {
        b2p_status st = xp_start_block(&t, &b, pos, &o, err);
        if (st != B2P_OK) return st;
        size_t end = out_len - o.pos > XP_BLOCK_OUT ? o.pos + XP_BLOCK_OUT : out_len;
        st = xp_symbols(&t, &b, &o, end, err);
        if (st != B2P_OK) return st;
        st = xp_check_input(&b, &o, err);
        if (st != B2P_OK) return st;
        pos = xp_spec_pos(&b);
    }
    return B2P_OK;
}
