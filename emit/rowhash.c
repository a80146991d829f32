/* The content hash of a table (see emit.h "Content hash").
 *
 * Why a sum of per-row hashes: the backup delivers rows in page order and PostgreSQL returns them
 * in whatever order its heap holds them, so the hash must not depend on order; a sum (unlike an
 * xor) still tells a row held twice from a row held once. Each row is its COPY text line, which is
 * byte for byte what PostgreSQL's COPY TO prints for the same value (tests/test_convert.c), so the
 * backup side and the target side hash the same bytes. XXH3-128 (libxxhash) because it runs at
 * memory speed: the hash must cost nothing next to decoding. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "emit.h"

void b2p_content_hash_row(b2p_content_hash *h, const char *line, size_t len) {
    XXH128_hash_t r = XXH3_128bits(line, len);
    h->lo += r.low64;
    h->hi += r.high64;
    h->rows++;
}

void b2p_content_hash_hex(const b2p_content_hash *h, char out[33]) {
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, h->hi, h->lo);
}

bool b2p_content_hash_equal(const b2p_content_hash *a, const b2p_content_hash *b) {
    return a->rows == b->rows && a->lo == b->lo && a->hi == b->hi;
}

/* A line is complete at its '\n' (COPY text escapes newlines inside values, so every raw newline
 * ends a row); a line cut across two writes is kept in `partial` until its end arrives. */
bool b2p_hash_sink_write(void *ctx, const char *data, size_t len) {
    b2p_hash_sink *s = ctx;
    if (s->next && !s->next(s->next_ctx, data, len)) return false;
    b2p_error err;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (!nl) return b2p_buf_append(&s->partial, data, n, &err) == B2P_OK;
        if (s->partial.len) {
            if (b2p_buf_append(&s->partial, data, n, &err)) return false;
            b2p_content_hash_row(&s->hash, s->partial.data, s->partial.len);
            b2p_buf_clear(&s->partial);
        } else {
            b2p_content_hash_row(&s->hash, data, n);
        }
        data += n + 1;
        len -= n + 1;
    }
    return true;
}

void b2p_hash_sink_free(b2p_hash_sink *s) {
    b2p_buf_free(&s->partial);
}
