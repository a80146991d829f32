/* libFuzzer target for the MS-XCA LZ77+Huffman decoder (mtf/xpress.c) and the test encoder.
 *
 * Input: u16 size code, then bytes.
 * 1. The bytes are decoded as a stream into the output size the code names (up to 256 KiB), twice,
 *    into buffers pre-filled with two different canaries. The result must be OK or CORRUPT (with a
 *    message); nothing may be written past the output; on OK both outputs must be equal, which
 *    proves every one of the out_len bytes was produced, and the first table must be complete.
 * 2. The first 4 KiB of the bytes, and a longer buffer they describe (literal runs and back-references,
 *    to reach long matches, overlaps and several blocks), are encoded, decoded and compared.
 *
 * Build and run (from the repository root):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_DEFAULT_SOURCE mtf/xpress.c \
 *     mtf/base.c tests/support/xpress_encode.c tests/fuzz/fuzz_xpress.c -o /tmp/fuzz_xpress
 *   /tmp/fuzz_xpress -max_total_time=60 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtf/xpress.h"
#include "tests/support/xpress_encode.h"

enum {
    MAX_OUT = 256 * 1024,     /* largest output size the size code names */
    MAX_DIRECT = 4096,        /* input bytes round-tripped as they are */
    MAX_EXPAND = 192 * 1024,  /* largest expanded round trip: three blocks */
    SLACK = 64                /* canary bytes after each output */
};

static void require(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz_xpress: property violated: %s\n", what);
        abort();
    }
}

/* 14 bits of size scaled by 1, 4, 16 or 64, capped at 256 KiB: small sizes stay reachable. */
static size_t out_size(uint16_t code) {
    size_t n = (size_t)(code & 0x3FFF) << ((code >> 14) * 2);
    return n > MAX_OUT ? MAX_OUT : n;
}

static b2p_status decode_into(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, uint8_t canary,
                              b2p_error *err) {
    memset(out, canary, out_len + SLACK);
    err->msg[0] = '\0';
    b2p_status st = b2p_xpress_decode(in, in_len, out, out_len, err);
    for (size_t i = 0; i < SLACK; i++) require(out[out_len + i] == canary, "no write past the output");
    require(st == B2P_OK || st == B2P_ERR_CORRUPT, "status is OK or CORRUPT");
    if (st != B2P_OK) require(err->code == st && err->msg[0] != '\0', "a failure has a message");
    return st;
}

static void check_decode(const uint8_t *in, size_t in_len, size_t out_len) {
    uint8_t *a = malloc(out_len + SLACK), *b = malloc(out_len + SLACK);
    require(a && b, "memory");
    b2p_error err;
    b2p_status st = decode_into(in, in_len, a, out_len, 0xA5, &err);
    b2p_status st2 = decode_into(in, in_len, b, out_len, 0x5A, &err);
    require(st == st2, "decoding is repeatable");
    if (st == B2P_OK) {
        require(memcmp(a, b, out_len) == 0, "every output byte is produced");
        if (out_len)
            require(in_len >= 256 && b2p_xpress_table_is_complete(in), "a block needs a complete table");
    }
    free(a);
    free(b);
}

static void check_roundtrip(const uint8_t *in, size_t n) {
    size_t cap = b2p_xpress_encode_bound(n);
    uint8_t *c = malloc(cap), *out = malloc(n + SLACK);
    require(c && out, "memory");
    size_t clen = b2p_xpress_encode(in, n, c, cap);
    require(clen >= 260 && clen <= cap, "the encoder stays within its bound");
    b2p_error err;
    require(decode_into(c, clen, out, n, 0xA5, &err) == B2P_OK, "the decoder takes the encoder's output");
    require(n == 0 || memcmp(out, in, n) == 0, "the round trip gives the input back");
    free(c);
    free(out);
}

/* Expands the bytes into a longer buffer: a byte below 0xF0 is a literal; 0xF0..0xFF with the next
 * two bytes is a back-reference (distance up to 130561, clipped to what exists; length up to
 * 255 << 12), which makes long runs, short-period overlaps and outputs of several blocks. */
static size_t expand(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (in[i] < 0xF0 || i + 2 >= n || o == 0) {
            out[o++] = in[i];
            continue;
        }
        size_t dist = 1 + ((size_t)in[i + 1] << ((in[i] & 3) * 3));
        size_t len = (size_t)in[i + 2] << ((in[i] >> 2 & 3) * 4);
        if (dist > o) dist = o;
        if (len > cap - o) len = cap - o;
        /* an overlapping copy in chunks of whole periods (memcpy, not a traced byte loop) */
        for (size_t done = 0; done < len;) {
            size_t chunk = dist + done < len - done ? dist + done : len - done;
            memcpy(out + o + done, out + o - dist, chunk);
            done += chunk;
        }
        o += len;
        i += 2;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t out_len = out_size(b2p_le16(data));
    const uint8_t *body = data + 2;
    size_t n = size - 2;

    check_decode(body, n, out_len);
    /* the encoder is slow under instrumentation: a prefix is enough for it, and the expansion
     * below supplies the long inputs */
    check_roundtrip(body, n < MAX_DIRECT ? n : MAX_DIRECT);

    static uint8_t big[MAX_EXPAND];
    size_t m = expand(body, n, big, sizeof big);
    if (m != n) check_roundtrip(big, m);
    return 0;
}
