/* A simple MS-XCA LZ77+Huffman encoder, written from [MS-XCA] v20240423 section 2.1 (see
 * xpress_encode.h). Three passes per block, as the spec lays them out: greedy LZ77 into an item
 * list (counting symbol frequencies), length-limited canonical Huffman code construction, then the
 * bit stream. Nothing depends on addresses, time or uninitialised memory, so output is repeatable. */
#include "xpress_encode.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

enum {
    XE_BLOCK = 65536,       /* input bytes per block (a final match may run past it) */
    XE_MAX_DIST = 65535,    /* 16 distance bits: the high-bit class 0..15 plus up to 15 low bits */
    XE_MIN_MATCH = 3,
    XE_SYMBOLS = 512,
    XE_MAX_CODE = 15,       /* code lengths are stored in 4 bits */
    XE_TABLE_BYTES = 256,
    XE_HASH_BITS = 15,
    XE_CHAIN_DEPTH = 32,    /* candidates tried per position: speed over ratio */
    XE_NICE_LEN = 258,      /* a match this long ends the search */
    XE_INSERT_LIMIT = 256   /* hash only the first positions of a long match (and its last few) */
};

/* One LZ77 item: a literal (dist == 0, len holds the byte) or a match. */
typedef struct xe_item {
    uint32_t len;
    uint16_t dist;
} xe_item;

typedef struct xe_state {
    size_t head[1u << XE_HASH_BITS];  /* position + 1 of the latest 3-byte prefix with this hash */
    size_t prev[XE_BLOCK];            /* position + 1 of the previous one, indexed by pos mod 64 KiB */
    xe_item items[XE_BLOCK];          /* a block has at most one item per starting position */
} xe_state;

/* The bit writer of [MS-XCA] 2.1.4.3: the 16-bit word being filled goes to slot1, the next word's
 * place (slot2) is reserved in advance, and raw length bytes go to pos, after both. That ordering
 * puts the raw bytes exactly where a decoder holding two words of look-ahead will read them. */
typedef struct xe_writer {
    uint8_t *out;
    size_t cap;
    size_t slot1, slot2, pos;
    uint32_t word;  /* pending bits, right-aligned */
    unsigned free;  /* bits still free in the pending word, 0..16 */
    int overflow;
} xe_writer;

size_t b2p_xpress_encode_bound(size_t in_len) {
    /* per block: table + 2 reserved words + up to 2 more at the flush; per byte at most 15 bits
     * (a 15-bit literal; a match spends at most 30 bits and 7 raw bytes on 3 or more bytes) */
    if (in_len > (SIZE_MAX - 4096) / 3) return SIZE_MAX;
    return (in_len / XE_BLOCK + 1) * (XE_TABLE_BYTES + 8) + in_len * 2 + 16;
}

static uint32_t xe_hash(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - XE_HASH_BITS);
}

static void xe_insert(xe_state *s, const uint8_t *in, size_t in_len, size_t pos) {
    if (in_len - pos < XE_MIN_MATCH) return;
    uint32_t h = xe_hash(in + pos);
    s->prev[pos & (XE_BLOCK - 1)] = s->head[h];
    s->head[h] = pos + 1;
}

/* Length of the common prefix of a and b, at most limit: 8 bytes at a time, then bytewise. */
static size_t xe_common(const uint8_t *a, const uint8_t *b, size_t limit) {
    size_t n = 0;
    while (limit - n >= 8) {
        uint64_t x, y;
        memcpy(&x, a + n, 8);
        memcpy(&y, b + n, 8);
        if (x != y) break;
        n += 8;
    }
    while (n < limit && a[n] == b[n]) n++;
    return n;
}

/* The longest match for in[pos..] among the chained candidates (0 if none reaches XE_MIN_MATCH).
 * Lengths are capped at UINT32_MAX, which the u32 length escape can still carry. */
static size_t xe_find(const xe_state *s, const uint8_t *in, size_t in_len, size_t pos, size_t *dist) {
    if (in_len - pos < XE_MIN_MATCH) return 0;
    size_t limit = in_len - pos > UINT32_MAX ? UINT32_MAX : in_len - pos;
    size_t best = 0, cand = s->head[xe_hash(in + pos)];
    for (int depth = 0; depth < XE_CHAIN_DEPTH && cand != 0; depth++) {
        size_t c = cand - 1;
        if (pos - c > XE_MAX_DIST) break;
        if (in[c + best] == in[pos + best]) {
            size_t len = xe_common(in + c, in + pos, limit);
            if (len > best) {
                best = len;
                *dist = pos - c;
                if (best >= XE_NICE_LEN || best == limit) break;
            }
        }
        size_t next = s->prev[c & (XE_BLOCK - 1)];
        if (next >= cand) break; /* chains only go backwards */
        cand = next;
    }
    return best >= XE_MIN_MATCH ? best : 0;
}

/* Parses one block greedily from *pos: items start before the block's nominal end, and the last
 * one may run past it. Returns the item count. */
static size_t xe_parse(xe_state *s, const uint8_t *in, size_t in_len, size_t *pos) {
    size_t p = *pos, n = 0;
    size_t end = in_len - p > XE_BLOCK ? p + XE_BLOCK : in_len;
    while (p < end) {
        size_t dist = 0, len = xe_find(s, in, in_len, p, &dist);
        if (len == 0) {
            s->items[n++] = (xe_item){.len = in[p], .dist = 0};
            xe_insert(s, in, in_len, p++);
            continue;
        }
        s->items[n++] = (xe_item){.len = (uint32_t)len, .dist = (uint16_t)dist};
        for (size_t i = 0; i < len && i < XE_INSERT_LIMIT; i++) xe_insert(s, in, in_len, p + i);
        for (size_t i = len > XE_INSERT_LIMIT + 16 ? len - 16 : len; i < len; i++)
            xe_insert(s, in, in_len, p + i);
        p += len;
    }
    *pos = p;
    return n;
}

/* Index of the highest set bit of v (0 < v < 2^16): GetHighBit of [MS-XCA] 2.1.4.1. */
static unsigned xe_high_bit(uint32_t v) {
    unsigned b = 0;
    if (v >> 8) v >>= 8, b += 8;
    if (v >> 4) v >>= 4, b += 4;
    if (v >> 2) v >>= 2, b += 2;
    return b + (v >> 1);
}

static unsigned xe_match_symbol(const xe_item *it) {
    uint32_t l = it->len - XE_MIN_MATCH;
    return 256 + (l < 15 ? l : 15) + 16 * xe_high_bit(it->dist);
}

/* --- Huffman code lengths ------------------------------------------------------------------- */

typedef struct xe_leaf {
    uint32_t freq;
    uint16_t sym;
} xe_leaf;

static int xe_leaf_cmp(const void *a, const void *b) {
    const xe_leaf *x = a, *y = b;
    if (x->freq != y->freq) return x->freq < y->freq ? -1 : 1;
    return x->sym < y->sym ? -1 : (x->sym > y->sym);
}

/* Huffman tree depths of n >= 2 leaves sorted by (freq, sym), by the two-queue method: leaves and
 * merged nodes are each produced in non-decreasing weight, so the two lightest are always at the
 * queue fronts. Ties take the leaf first, which keeps the result a function of the input only.
 * Returns the greatest depth. */
static unsigned xe_depths(const xe_leaf *leaf, size_t n, uint8_t *depth_out) {
    uint64_t weight[2 * XE_SYMBOLS];
    uint16_t parent[2 * XE_SYMBOLS];
    uint16_t depth[2 * XE_SYMBOLS];
    size_t li = 0, ni = n, nn = n; /* next leaf, next unmerged node, next new node */
    for (size_t i = 0; i < n; i++) weight[i] = leaf[i].freq;
    while (nn < 2 * n - 1) {
        size_t pick[2];
        for (int k = 0; k < 2; k++) {
            if (li < n && (ni >= nn || weight[li] <= weight[ni])) pick[k] = li++;
            else pick[k] = ni++;
        }
        weight[nn] = weight[pick[0]] + weight[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)nn;
        nn++;
    }
    unsigned max = 0;
    depth[2 * n - 2] = 0;
    for (size_t i = 2 * n - 2; i-- > 0;) {
        depth[i] = (uint8_t)(depth[parent[i]] + 1);
        if (i < n && depth[i] > max) max = depth[i];
    }
    for (size_t i = 0; i < n; i++) depth_out[i] = depth[i];
    return max;
}

/* Code lengths for freq[], none longer than 15. When the plain Huffman tree is too deep, the
 * counts are halved (rounding up, so a used symbol stays used) until it fits: simple, and the
 * loss is negligible for the skewed blocks where it happens. A lone symbol gets a partner, since
 * the decoder accepts only complete codes. */
static void xe_lengths(const uint32_t freq_in[XE_SYMBOLS], uint8_t len[XE_SYMBOLS]) {
    xe_leaf leaf[XE_SYMBOLS];
    uint8_t depth[XE_SYMBOLS];
    uint32_t freq[XE_SYMBOLS];
    size_t n = 0;
    memcpy(freq, freq_in, sizeof freq);
    memset(len, 0, XE_SYMBOLS);
    for (unsigned s = 0; s < XE_SYMBOLS; s++) n += freq[s] != 0;
    if (n < 2) {
        unsigned used = 0;
        while (used < XE_SYMBOLS - 1 && freq[used] == 0) used++;
        len[used] = 1;
        len[used == 0 ? 1 : 0] = 1;
        return;
    }
    for (;;) {
        n = 0;
        for (unsigned s = 0; s < XE_SYMBOLS; s++)
            if (freq[s]) leaf[n++] = (xe_leaf){.freq = freq[s], .sym = (uint16_t)s};
        qsort(leaf, n, sizeof leaf[0], xe_leaf_cmp);
        if (xe_depths(leaf, n, depth) <= XE_MAX_CODE) break;
        for (unsigned s = 0; s < XE_SYMBOLS; s++) freq[s] = (freq[s] + 1) >> 1;
    }
    for (size_t i = 0; i < n; i++) len[leaf[i].sym] = depth[i];
}

/* Canonical codes: by length, then symbol value, counting upward ([MS-XCA] 2.2.4's table order). */
static void xe_codes(const uint8_t len[XE_SYMBOLS], uint16_t code[XE_SYMBOLS]) {
    unsigned count[XE_MAX_CODE + 1] = {0};
    uint32_t next[XE_MAX_CODE + 1];
    for (unsigned s = 0; s < XE_SYMBOLS; s++) count[len[s]]++;
    count[0] = 0;
    uint32_t c = 0;
    for (unsigned l = 1; l <= XE_MAX_CODE; l++) {
        c = (c + count[l - 1]) << 1;
        next[l] = c;
    }
    for (unsigned s = 0; s < XE_SYMBOLS; s++) code[s] = len[s] ? (uint16_t)next[len[s]]++ : 0;
}

/* --- Bit writer --------------------------------------------------------------------------- */

static int xe_room(xe_writer *w, size_t n) {
    if (w->overflow || w->pos > w->cap || w->cap - w->pos < n) {
        w->overflow = 1;
        return 0;
    }
    return 1;
}

static void xe_put16(xe_writer *w, size_t at, uint32_t v) {
    b2p_put_le16(w->out + at, (uint16_t)v);
}

/* Starts a block at w->pos: reserves the table and the first two words. */
static void xe_begin(xe_writer *w, const uint8_t len[XE_SYMBOLS]) {
    if (!xe_room(w, XE_TABLE_BYTES + 4)) return;
    for (unsigned i = 0; i < XE_TABLE_BYTES; i++)
        w->out[w->pos + i] = (uint8_t)(len[2 * i] | len[2 * i + 1] << 4);
    w->slot1 = w->pos + XE_TABLE_BYTES;
    w->slot2 = w->slot1 + 2;
    w->pos = w->slot2 + 2;
    w->word = 0;
    w->free = 16;
}

/* Appends the n <= 16 low bits of v, most significant first. A word that becomes exactly full stays
 * pending until the next bit arrives, as in the spec: that decides where raw bytes land. */
static void xe_bits(xe_writer *w, unsigned n, uint32_t v) {
    if (w->overflow) return;
    if (n <= w->free) {
        w->word = (w->word << n) | v;
        w->free -= n;
        return;
    }
    unsigned rest = n - w->free;
    if (!xe_room(w, 2)) return;
    xe_put16(w, w->slot1, (w->word << w->free) | (v >> rest));
    w->slot1 = w->slot2;
    w->slot2 = w->pos;
    w->pos += 2;
    w->word = v & ((1u << rest) - 1);
    w->free = 16 - rest;
}

static void xe_raw(xe_writer *w, const uint8_t *bytes, size_t n) {
    if (!xe_room(w, n)) return;
    memcpy(w->out + w->pos, bytes, n);
    w->pos += n;
}

/* Writes the pending word and a zero word into the two reserved places. */
static void xe_flush(xe_writer *w) {
    if (w->overflow) return;
    xe_put16(w, w->slot1, w->word << w->free);
    xe_put16(w, w->slot2, 0);
}

/* The raw bytes of a match length that its symbol could not hold ([MS-XCA] 2.1.4.3). */
static void xe_long_length(xe_writer *w, uint32_t len) {
    uint32_t l = len - XE_MIN_MATCH;
    uint8_t b[7];
    if (l - 15 < 255) {
        b[0] = (uint8_t)(l - 15);
        xe_raw(w, b, 1);
    } else if (l < 65536) {
        b[0] = 255;
        b2p_put_le16(b + 1, (uint16_t)l);
        xe_raw(w, b, 3);
    } else {
        b[0] = 255;
        b2p_put_le16(b + 1, 0);
        b2p_put_le32(b + 3, l);
        xe_raw(w, b, 7);
    }
}

/* Codes one block's items (and the EOF symbol when last) with a code made for them. */
static void xe_block(xe_writer *w, const xe_item *items, size_t n, int last) {
    uint32_t freq[XE_SYMBOLS] = {0};
    uint8_t len[XE_SYMBOLS];
    uint16_t code[XE_SYMBOLS];
    for (size_t i = 0; i < n; i++) freq[items[i].dist ? xe_match_symbol(&items[i]) : items[i].len]++;
    if (last) freq[256]++;
    xe_lengths(freq, len);
    xe_codes(len, code);

    xe_begin(w, len);
    for (size_t i = 0; i < n && !w->overflow; i++) {
        const xe_item *it = &items[i];
        if (it->dist == 0) {
            xe_bits(w, len[it->len], code[it->len]);
            continue;
        }
        unsigned sym = xe_match_symbol(it), hb = xe_high_bit(it->dist);
        xe_bits(w, len[sym], code[sym]);
        if (it->len - XE_MIN_MATCH >= 15) xe_long_length(w, it->len);
        xe_bits(w, hb, it->dist - (1u << hb));
    }
    if (last) xe_bits(w, len[256], code[256]);
    xe_flush(w);
}

size_t b2p_xpress_encode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
    /* only head[] needs clearing: a prev[] slot is written when its position is inserted, before any
     * chain can lead to it, and items[] is written before it is read */
    xe_state *s = malloc(sizeof *s);
    if (!s) return 0;
    memset(s->head, 0, sizeof s->head);
    xe_writer w = {.out = out, .cap = out_cap};
    size_t pos = 0;
    int last;
    do {
        size_t n = xe_parse(s, in, in_len, &pos);
        last = pos >= in_len;
        xe_block(&w, s->items, n, last);
    } while (!last && !w.overflow);
    free(s);
    return w.overflow ? 0 : w.pos;
}
