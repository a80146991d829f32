/* Tests of the MS-XCA LZ77+Huffman decoder (mtf/xpress.c) and of the test encoder
 * (tests/support/xpress_encode.c).
 *
 * Vectors come from three independent sources: the worked examples of [MS-XCA] section 3.2, two
 * streams made by the Windows compression API and published on the cifs-protocol list (Nov 2022),
 * and real SQL Server compressed backups from the fixture corpus (whose decoded pages carry their
 * own checksums). The encoder is then checked by round trips through the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtf/xpress.h"
#include "tests/support/fixtures.h"
#include "tests/support/xpress_encode.h"

enum { CANARY = 0xA5, CANARY_BYTES = 64, TABLE = 256 };

/* --- helpers ---------------------------------------------------------------------------------- */

/* A 256-byte code-length table, zero except for the given (offset, value) pairs, followed by the
 * given stream bytes: the way the spec prints its examples. */
typedef struct table_byte {
    int off;
    uint8_t val;
} table_byte;

static size_t make_stream(uint8_t *buf, const table_byte *set, size_t nset, const uint8_t *bits,
                          size_t nbits) {
    memset(buf, 0, TABLE);
    for (size_t i = 0; i < nset; i++) buf[set[i].off] = set[i].val;
    memcpy(buf + TABLE, bits, nbits);
    return TABLE + nbits;
}

/* Decodes into a buffer with canary bytes after out_len and checks they survived. */
static b2p_status decode_checked(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                                 b2p_error *err) {
    memset(out + out_len, CANARY, CANARY_BYTES);
    err->code = B2P_OK;
    err->msg[0] = '\0';
    b2p_status st = b2p_xpress_decode(in, in_len, out, out_len, err);
    for (size_t i = 0; i < CANARY_BYTES; i++) assert_int_equal(out[out_len + i], CANARY);
    if (st != B2P_OK) {
        assert_int_equal(err->code, st);
        assert_true(strncmp(err->msg, "xpress: input offset ", 21) == 0);
    }
    return st;
}

static void assert_corrupt(const uint8_t *in, size_t in_len, size_t out_len, const char *needle) {
    uint8_t *out = malloc(out_len + CANARY_BYTES);
    assert_non_null(out);
    b2p_error err;
    assert_int_equal(decode_checked(in, in_len, out, out_len, &err), B2P_ERR_CORRUPT);
    assert_true(strlen(err.msg) > 0);
    if (needle && !strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    free(out);
}

/* Encodes in, checks the encoder is repeatable and within its bound, decodes, compares.
 * Returns the compressed bytes (caller frees) and their size. */
static uint8_t *roundtrip(const uint8_t *in, size_t n, size_t *clen_out) {
    size_t cap = b2p_xpress_encode_bound(n);
    uint8_t *c1 = malloc(cap), *c2 = malloc(cap), *out = malloc(n + CANARY_BYTES);
    assert_true(c1 && c2 && out);
    size_t clen = b2p_xpress_encode(in, n, c1, cap);
    assert_true(clen >= TABLE + 4 && clen <= cap);
    assert_int_equal(b2p_xpress_encode(in, n, c2, cap), clen);
    assert_memory_equal(c1, c2, clen);
    assert_true(b2p_xpress_table_is_complete(c1));
    b2p_error err;
    b2p_status st = decode_checked(c1, clen, out, n, &err);
    if (st != B2P_OK) fail_msg("round trip of %zu bytes: %s", n, err.msg);
    if (n) assert_memory_equal(out, in, n);
    free(c2);
    free(out);
    *clen_out = clen;
    return c1;
}

static size_t roundtrip_size(const uint8_t *in, size_t n) {
    size_t clen;
    free(roundtrip(in, n, &clen));
    return clen;
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void fill_random(uint8_t *buf, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(rng_next(&seed) >> 24);
}

/* Text-like data: words from a small vocabulary, numbers, and occasional noise. */
static void fill_text(uint8_t *buf, size_t n, uint64_t seed) {
    static const char *const words[] = {"select ", "from ", "orders ", "where ", "customer ", "id = ",
                                        "northwind ", "\n", ", ", "shipped "};
    size_t i = 0;
    while (i < n) {
        uint64_t r = rng_next(&seed);
        char tmp[24];
        int len = (r & 7) == 0 ? snprintf(tmp, sizeof tmp, "%u", (unsigned)(r >> 40) % 99991)
                               : snprintf(tmp, sizeof tmp, "%s", words[(r >> 8) % 10]);
        if ((r & 63) == 1) tmp[0] = (char)(r >> 56);
        for (int k = 0; k < len && i < n; k++) buf[i++] = (uint8_t)tmp[k];
    }
}

/* --- [MS-XCA] 3.2 and Windows vectors ---------------------------------------------------------- */

/* [MS-XCA] 3.2, first example: "abcdefghijklmnopqrstuvwxyz" as 26 literals and EOF. Table bytes
 * 48..61 give 'a'..'v' 5 bits and 'w'..'z' 4 bits; byte 128 gives EOF (symbol 256) 4 bits. */
static void test_spec_example_literals(void **state) {
    (void)state;
    static const table_byte set[] = {{48, 0x50}, {49, 0x55}, {50, 0x55}, {51, 0x55}, {52, 0x55},
                                     {53, 0x55}, {54, 0x55}, {55, 0x55}, {56, 0x55}, {57, 0x55},
                                     {58, 0x55}, {59, 0x45}, {60, 0x44}, {61, 0x04}, {128, 0x04}};
    static const uint8_t bits[] = {0xd8, 0x52, 0x3e, 0xd7, 0x94, 0x11, 0x5b, 0xe9, 0x19, 0x5f,
                                   0xf9, 0xd6, 0x7c, 0xdf, 0x8d, 0x04, 0x00, 0x00, 0x00, 0x00};
    uint8_t in[TABLE + sizeof bits], out[26 + CANARY_BYTES];
    size_t n = make_stream(in, set, sizeof set / sizeof set[0], bits, sizeof bits);
    assert_true(b2p_xpress_table_is_complete(in));
    b2p_error err;
    assert_int_equal(decode_checked(in, n, out, 26, &err), B2P_OK);
    assert_memory_equal(out, "abcdefghijklmnopqrstuvwxyz", 26);
}

/* [MS-XCA] 3.2, second example: "abc" x 100 as a, b, c, a match of 297 at distance 3, EOF. The
 * match symbol 287 (length nibble 15, one distance bit) takes its length from the raw bytes
 * ff 26 01: 0x0126 = 294 = 297 - 3, read after the first two words of the stream. */
static void test_spec_example_long_match(void **state) {
    (void)state;
    static const table_byte set[] = {{48, 0x30}, {49, 0x23}, {128, 0x02}, {143, 0x20}};
    static const uint8_t bits[] = {0xa8, 0xdc, 0x00, 0x00, 0xff, 0x26, 0x01};
    uint8_t in[TABLE + sizeof bits], out[300 + CANARY_BYTES], want[300];
    size_t n = make_stream(in, set, sizeof set / sizeof set[0], bits, sizeof bits);
    for (int i = 0; i < 300; i++) want[i] = (uint8_t)("abc"[i % 3]);
    b2p_error err;
    assert_int_equal(decode_checked(in, n, out, 300, &err), B2P_OK);
    assert_memory_equal(out, want, 300);
}

/* The second example with its length shortened to the one-byte form: raw byte 0x10 means
 * 0x10 + 15 + 3 = 34, so the output is "abc" followed by 34 bytes of the same period. */
static void test_one_byte_length_form(void **state) {
    (void)state;
    static const table_byte set[] = {{48, 0x30}, {49, 0x23}, {128, 0x02}, {143, 0x20}};
    static const uint8_t bits[] = {0xa8, 0xdc, 0x00, 0x00, 0x10};
    uint8_t in[TABLE + sizeof bits], out[37 + CANARY_BYTES], want[37];
    size_t n = make_stream(in, set, sizeof set / sizeof set[0], bits, sizeof bits);
    for (int i = 0; i < 37; i++) want[i] = (uint8_t)("abc"[i % 3]);
    b2p_error err;
    assert_int_equal(decode_checked(in, n, out, 37, &err), B2P_OK);
    assert_memory_equal(out, want, 37);
    /* the spec decoder has read exactly these 5 bytes; one byte fewer cannot work */
    assert_corrupt(in, n - 1, 37, "match-length byte");
}

/* Windows (cifs-protocol, 2022-11-01): 65537 zero bytes as one block: literal 0, a match at
 * distance 1 of 0xfffd + 3 = 65536 bytes (table bytes 0, 128, 135 = 02 02 10), then EOF. */
static void test_windows_65537_zeros(void **state) {
    (void)state;
    static const table_byte set[] = {{0, 0x02}, {128, 0x02}, {135, 0x10}};
    static const uint8_t bits[] = {0x00, 0x98, 0x00, 0x00, 0xff, 0xfd, 0xff};
    uint8_t in[TABLE + sizeof bits];
    size_t n = make_stream(in, set, sizeof set / sizeof set[0], bits, sizeof bits);
    uint8_t *out = malloc(65537 + CANARY_BYTES), *zero = calloc(1, 65537);
    assert_true(out && zero);
    memset(out, 0x77, 65537);
    b2p_error err;
    assert_int_equal(decode_checked(in, n, out, 65537, &err), B2P_OK);
    assert_memory_equal(out, zero, 65537);
    free(out);
    free(zero);
}

/* Windows (cifs-protocol, 2022-11-14): "a" x 65559 + "bb". The first block is 'a', then a match at
 * distance 1 whose length needs the 4-byte form: ff, 00 00, then 0x00010013 = 65555 = 65558 - 3.
 * That block ends 23 bytes past 64 KiB, so the second block (only its byte at table offset 49 was
 * shown: 'b' 1 bit; EOF's 1 bit and the bits "b b EOF" = 0x2000 are reconstructed here) must
 * start at input 267 and count its own 64 KiB from output 65559. */
enum { WIN_FIRST_BLOCK = 267, WIN_TWO_BLOCKS = 2 * TABLE + 15 };

static size_t windows_two_blocks(uint8_t in[WIN_TWO_BLOCKS]) {
    static const table_byte set1[] = {{48, 0x10}, {135, 0x10}};
    static const uint8_t bits1[] = {0x00, 0x40, 0x00, 0x00, 0xff, 0x00, 0x00, 0x13, 0x00, 0x01, 0x00};
    static const table_byte set2[] = {{49, 0x01}, {128, 0x01}};
    static const uint8_t bits2[] = {0x00, 0x20, 0x00, 0x00};
    size_t n1 = make_stream(in, set1, 2, bits1, sizeof bits1);
    assert_int_equal(n1, WIN_FIRST_BLOCK);
    return n1 + make_stream(in + n1, set2, 2, bits2, sizeof bits2);
}

static void test_windows_u32_length_and_late_block(void **state) {
    (void)state;
    uint8_t in[WIN_TWO_BLOCKS];
    size_t n = windows_two_blocks(in), n1 = WIN_FIRST_BLOCK;
    uint8_t *out = malloc(65561 + CANARY_BYTES), *want = malloc(65561);
    assert_true(out && want);
    memset(want, 'a', 65559);
    want[65559] = want[65560] = 'b';
    b2p_error err;
    /* the published first block alone gives the 65559 a's */
    assert_int_equal(decode_checked(in, n1, out, 65559, &err), B2P_OK);
    assert_memory_equal(out, want, 65559);
    assert_int_equal(decode_checked(in, n, out, 65561, &err), B2P_OK);
    assert_memory_equal(out, want, 65561);
    free(out);
    free(want);
}

static void test_table_completeness(void **state) {
    (void)state;
    uint8_t t[TABLE] = {0};
    assert_false(b2p_xpress_table_is_complete(t)); /* no codes at all */
    t[0] = 0x01;
    assert_false(b2p_xpress_table_is_complete(t)); /* one 1-bit code: half the space */
    t[0] = 0x11;
    assert_true(b2p_xpress_table_is_complete(t)); /* two 1-bit codes */
    t[1] = 0x01;
    assert_false(b2p_xpress_table_is_complete(t)); /* three 1-bit codes: oversubscribed */
    memset(t, 0x99, TABLE);
    assert_true(b2p_xpress_table_is_complete(t)); /* 512 codes of 9 bits */
    t[255] = 0x9F;
    assert_false(b2p_xpress_table_is_complete(t)); /* one of them 15 bits: a gap */
}

/* --- encoder round trips ----------------------------------------------------------------------- */

static void test_empty_output(void **state) {
    (void)state;
    uint8_t out[CANARY_BYTES];
    b2p_error err;
    assert_int_equal(decode_checked(NULL, 0, out, 0, &err), B2P_OK);
    size_t clen;
    uint8_t *c = roundtrip(NULL, 0, &clen);
    assert_int_equal(clen, TABLE + 4); /* a table, and EOF alone in one word plus the zero word */
    free(c);
}

static void test_roundtrip_short_inputs(void **state) {
    (void)state;
    uint8_t buf[80];
    for (size_t n = 1; n <= sizeof buf; n++) {
        fill_random(buf, n, n);
        roundtrip_size(buf, n);
        memset(buf, 'q', n);
        roundtrip_size(buf, n);
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)("abcab"[i % 5]);
        roundtrip_size(buf, n);
    }
}

/* Every byte value once, then all of them again (one 256-byte match at distance 256). */
static void test_roundtrip_all_byte_values(void **state) {
    (void)state;
    uint8_t buf[512];
    for (int i = 0; i < 512; i++) buf[i] = (uint8_t)i;
    size_t clen;
    uint8_t *c = roundtrip(buf, sizeof buf, &clen);
    for (int sym = 0; sym < 256; sym++) assert_true((c[sym / 2] >> (sym % 2 * 4)) & 15); /* all coded */
    assert_true(clen < TABLE + 256 * 2); /* the second half cost a match, not 256 literals */
    free(c);
}

/* 'a' then a match of length L at distance 1: three symbols, so the bits fit in the first word and
 * the raw length bytes sit right after the two reserved words, at offset 260. */
static void check_run(uint32_t L, const uint8_t *raw, size_t nraw) {
    uint8_t *buf = malloc((size_t)L + 1);
    assert_non_null(buf);
    memset(buf, 'a', (size_t)L + 1);
    size_t clen;
    uint8_t *c = roundtrip(buf, (size_t)L + 1, &clen);
    assert_int_equal(clen, TABLE + 4 + nraw);
    if (nraw) assert_memory_equal(c + TABLE + 4, raw, nraw);
    free(c);
    free(buf);
}

static void test_roundtrip_long_runs(void **state) {
    (void)state;
    check_run(17, NULL, 0);                                    /* largest length in the symbol */
    check_run(18, (const uint8_t[]){0x00}, 1);                 /* one byte: L - 18 */
    check_run(272, (const uint8_t[]){0xfe}, 1);                /* largest one-byte form */
    check_run(273, (const uint8_t[]){0xff, 0x0e, 0x01}, 3);    /* u16: L - 3 = 270 */
    check_run(65538, (const uint8_t[]){0xff, 0xff, 0xff}, 3);  /* largest u16 form */
    check_run(65539, (const uint8_t[]){0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}, 7);  /* u32: 65536 */
    check_run(300000, (const uint8_t[]){0xff, 0x00, 0x00, 0xdd, 0x93, 0x04, 0x00}, 7); /* 299997 */
}

/* Periodic data with period 1..8: after the first period, one overlapping match does the rest. */
static void test_roundtrip_overlapping_distances(void **state) {
    (void)state;
    uint8_t buf[1000];
    for (size_t d = 1; d <= 8; d++) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(0x30 + i % d * 7);
        size_t clen = roundtrip_size(buf, sizeof buf);
        assert_true(clen <= TABLE + 16 + 3); /* a few words and a u16 length, not 1000 literals */
        /* the same period, broken every 37 bytes: many short overlapping matches */
        for (size_t i = 0; i < sizeof buf; i += 37) buf[i] ^= 0x40;
        roundtrip_size(buf, sizeof buf);
    }
}

/* Random bytes, then the first 1000 of them again at distance 65535, the largest encodable. */
static void test_roundtrip_max_distance(void **state) {
    (void)state;
    const size_t r = 65535;
    uint8_t *buf = malloc(r + 1001);
    assert_non_null(buf);
    fill_random(buf, r, 7);
    memcpy(buf + r, buf, 1000);
    size_t alone = roundtrip_size(buf, r);
    size_t both = roundtrip_size(buf, r + 1000);
    assert_true(both < alone + 100); /* the repeat cost one match, not 1000 literals */
    /* and one byte further back is out of reach: no long match, so the repeat costs literals */
    memmove(buf + r + 1, buf, 1000);
    fill_random(buf + r, 1, 99);
    assert_true(roundtrip_size(buf, r + 1001) > alone + 900);
    free(buf);
}

/* More than one block: text (matches reach into earlier blocks), random bytes (literal-only
 * blocks), and sizes at and just past block multiples. */
static void test_roundtrip_multi_block(void **state) {
    (void)state;
    const size_t n = 200 * 1024;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill_text(buf, n, 11);
    size_t clen = roundtrip_size(buf, n);
    assert_true(clen < n / 2);
    static const size_t sizes[] = {65535, 65536, 65537, 131072, 131073, 196608};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) roundtrip_size(buf, sizes[i]);
    fill_random(buf, n, 5);
    clen = roundtrip_size(buf, n);
    assert_true(clen > n && clen < n + n / 16); /* incompressible: about 8 bits a byte plus tables */
    free(buf);
}

static void test_encoder_output_capacity(void **state) {
    (void)state;
    uint8_t buf[5000];
    fill_text(buf, sizeof buf, 3);
    size_t cap = b2p_xpress_encode_bound(sizeof buf);
    uint8_t *c = malloc(cap);
    assert_non_null(c);
    size_t clen = b2p_xpress_encode(buf, sizeof buf, c, cap);
    assert_true(clen > 0);
    assert_int_equal(b2p_xpress_encode(buf, sizeof buf, c, clen), clen); /* exactly enough */
    assert_int_equal(b2p_xpress_encode(buf, sizeof buf, c, clen - 1), 0);
    assert_int_equal(b2p_xpress_encode(buf, sizeof buf, c, 0), 0);
    free(c);
}

/* --- real SQL Server data ------------------------------------------------------------------------ */

static uint8_t *read_fixture(const char *name, size_t *len) {
    fixtures_require();
    const char *dir = getenv("B2P_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "../shared/fixtures", name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open fixture %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

enum { REC_HEADER = 28, SECTOR = 512, PAGE = 8192 };

static int is_record(const uint8_t *d, size_t len, size_t pos) {
    return pos < len && len - pos >= REC_HEADER + TABLE && d[pos] == 0x21 &&
           b2p_xpress_table_is_complete(d + pos + REC_HEADER);
}

/* The first record at or after pos: where none starts, the next 512-byte boundary holds either an
 * SFMB block (skipped by its u16 size at +8) or, further on, the next record. */
static size_t next_record(const uint8_t *d, size_t len, size_t pos) {
    if (is_record(d, len, pos)) return pos;
    size_t p = (pos + SECTOR - 1) / SECTOR * SECTOR;
    while (p < len && !is_record(d, len, p)) {
        if (len - p >= 12 && memcmp(d + p, "SFMB", 4) == 0 && b2p_le16(d + p + 8) >= SECTOR)
            p += b2p_le16(d + p + 8);
        else
            p += SECTOR;
    }
    return p;
}

/* Decodes the record at pos (its header must be valid) into out; returns the position just past it. */
static size_t decode_record(const uint8_t *d, size_t len, size_t pos, uint8_t *out, size_t *out_len) {
    assert_true(is_record(d, len, pos));
    size_t in_len = b2p_le16(d + pos + 2);
    assert_true(in_len <= len - pos - REC_HEADER);
    *out_len = (size_t)d[pos + 1] * SECTOR;
    b2p_error err;
    b2p_status st = decode_checked(d + pos + REC_HEADER, in_len, out, *out_len, &err);
    if (st != B2P_OK) fail_msg("record at file offset 0x%zx: %s", pos, err.msg);
    return pos + REC_HEADER + in_len;
}

static void test_fixture_northwind_records(void **state) {
    (void)state;
    size_t len, n;
    uint8_t *d = read_fixture("northwind_2016sp2_COMPRESSED_guilderm.bak", &len);
    uint8_t *out = malloc(255 * SECTOR + CANARY_BYTES);
    assert_non_null(out);
    assert_memory_equal(d, "MSSQLBAK", 8);

    /* the TAPE record: 1024 bytes from 352 */
    assert_int_equal(d[0x1E0 + 1], 2);
    size_t pos = decode_record(d, len, 0x1E0, out, &n);
    assert_int_equal(n, 1024);
    assert_int_equal(pos, 0x1E0 + REC_HEADER + 352);
    assert_memory_equal(out, "TAPE", 4);

    /* then no record, but a raw SFMB at the next sector and the SSET record after it */
    assert_false(is_record(d, len, pos));
    assert_memory_equal(d + 0x400, "SFMB", 4);
    pos = next_record(d, len, pos);
    assert_int_equal(pos, 0x600);
    pos = decode_record(d, len, pos, out, &n);
    assert_int_equal(n, 7168);
    assert_memory_equal(out, "SSET", 4);
    assert_memory_equal(out + 0x400, "VOLB", 4);
    assert_memory_equal(out + 0x800, "MSCI", 4);

    /* the next three records follow back to back, each one extent (8 pages of 8 KiB). The first is
     * the data file's first extent, whose layout is fixed: file header (page type 15), PFS (11),
     * GAM (8), SGAM (9), two pages this backup holds as zeros, DCM (16), BCM (17). The pages of the
     * other two all carry header version 1. */
    static const uint8_t first_extent_types[8] = {15, 11, 8, 9, 0, 0, 16, 17};
    for (int r = 0; r < 3; r++) {
        assert_true(is_record(d, len, pos));
        pos = decode_record(d, len, pos, out, &n);
        assert_int_equal(n, 65536);
        for (size_t p = 0; p < n; p += PAGE) {
            if (r == 0) {
                assert_int_equal(out[p + 1], first_extent_types[p / PAGE]);
                assert_int_equal(out[p], first_extent_types[p / PAGE] ? 1 : 0);
            } else {
                assert_int_equal(out[p], 1);
            }
        }
    }

    /* and every record of the file decodes */
    size_t records = 5;
    for (pos = next_record(d, len, pos); pos < len; pos = next_record(d, len, pos)) {
        pos = decode_record(d, len, pos, out, &n);
        records++;
    }
    assert_true(records >= 100);
    free(out);
    free(d);
}

/* [container.md 10.3] page checksum: 16 sectors of 128 LE words (the word at offset 60 as 0),
 * each sector's XOR rotated left by 15 - sector, all XORed together. */
static uint32_t page_checksum(const uint8_t *p) {
    uint32_t sum = 0;
    for (unsigned s = 0; s < 16; s++) {
        uint32_t x = 0;
        for (unsigned w = 0; w < 128; w++) {
            size_t off = s * 512 + w * 4;
            x ^= off == 60 ? 0 : b2p_le32(p + off);
        }
        sum ^= b2p_rotl32(x, 15 - s);
    }
    return sum;
}

/* A database with PAGE_VERIFY CHECKSUM: every decoded page that claims a checksum (m_flagBits
 * 0x200) must match it, which a single wrong bit anywhere in the page would break. */
static void test_fixture_page_checksums(void **state) {
    (void)state;
    size_t len, n, verified = 0;
    uint8_t *d = read_fixture("tsql2012_2016sp1_COMPRESSED_joeycheung.bak", &len);
    uint8_t *out = malloc(255 * SECTOR + CANARY_BYTES);
    assert_non_null(out);
    for (size_t pos = next_record(d, len, 0x1E0); pos < len; pos = next_record(d, len, pos)) {
        pos = decode_record(d, len, pos, out, &n);
        if (n != 65536) continue;
        for (size_t p = 0; p < n; p += PAGE) {
            const uint8_t *page = out + p;
            if (page[0] != 1 || !(b2p_le16(page + 4) & 0x200)) continue;
            assert_int_equal(page_checksum(page), b2p_le32(page + 60));
            verified++;
        }
    }
    assert_true(verified >= 700);
    free(out);
    free(d);
}

/* --- rejection ------------------------------------------------------------------------------------ */

static void test_reject_incomplete_table(void **state) {
    (void)state;
    uint8_t in[TABLE + 8] = {0};
    assert_corrupt(in, sizeof in, 10, "not a complete prefix code (kraft sum 0/32768)");
    in[48] = 0x10; /* 'a' alone: half the code space */
    assert_corrupt(in, sizeof in, 10, "kraft sum 16384/32768");
    in[48] = 0x11;
    in[49] = 0x01; /* three 1-bit codes */
    assert_corrupt(in, sizeof in, 10, "kraft sum 49152/32768");
    /* a valid first block followed by a bad second one, found where the spec's reader stands */
    uint8_t two[WIN_TWO_BLOCKS];
    size_t n = windows_two_blocks(two);
    two[WIN_FIRST_BLOCK + 49] = 0x02;
    assert_corrupt(two, n, 65561,
                   "input offset 267: the code-length table of the block at output 65559 is not a complete "
                   "prefix code (kraft sum 24576/32768)");
}

static void test_reject_truncated_stream(void **state) {
    (void)state;
    const size_t n = 100000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill_text(buf, n, 21);
    size_t clen;
    uint8_t *c = roundtrip(buf, n, &clen);
    /* at most the last word (EOF and the flush) is optional, so 3 or more bytes short must fail */
    static const size_t cuts[] = {3, 4, 100, 1000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) assert_corrupt(c, clen - cuts[i], n, NULL);
    assert_corrupt(c, clen / 2, n, NULL);
    assert_corrupt(c, TABLE + 3, n, "expected a 256-byte code-length table and 4 bytes");
    assert_corrupt(c, 100, n, "input offset 0: expected a 256-byte code-length table");
    free(c);
    free(buf);
}

/* 'a' (1 bit), then symbol 320 (1 bit): a length-3 match with four distance bits 0000, distance
 * 16, when only 1 byte exists. */
static void test_reject_distance_beyond_output(void **state) {
    (void)state;
    static const table_byte set[] = {{48, 0x10}, {160, 0x01}};
    static const uint8_t bits[] = {0x00, 0x40, 0x00, 0x00};
    uint8_t in[TABLE + sizeof bits];
    size_t n = make_stream(in, set, 2, bits, sizeof bits);
    assert_corrupt(in, n, 10, "match distance 16 is beyond the 1 bytes produced so far");
}

/* A stream holds what it holds: asking for more output must fail, never invent bytes. */
static void test_reject_unfillable_output(void **state) {
    (void)state;
    uint8_t buf[3000];
    fill_text(buf, sizeof buf, 4);
    size_t clen;
    uint8_t *c = roundtrip(buf, sizeof buf, &clen);
    assert_corrupt(c, clen, 2 * sizeof buf, NULL);
    assert_corrupt(c, clen, sizeof buf + 1000, NULL);
    free(c);
    /* the spec's 300-byte example asked for 400: its last match would have to run on */
    static const table_byte set[] = {{48, 0x30}, {49, 0x23}, {128, 0x02}, {143, 0x20}};
    static const uint8_t bits[] = {0xa8, 0xdc, 0x00, 0x00, 0xff, 0x26, 0x01};
    uint8_t in[TABLE + sizeof bits];
    size_t n = make_stream(in, set, 4, bits, sizeof bits);
    assert_corrupt(in, n, 400, NULL);
    /* and asked for 200, its match runs past the output */
    assert_corrupt(in, n, 200, "a match of 297 bytes at output 3 runs past the expected 200 bytes");
}

static void test_reject_bad_long_length(void **state) {
    (void)state;
    static const table_byte set[] = {{48, 0x30}, {49, 0x23}, {128, 0x02}, {143, 0x20}};
    static const uint8_t small[] = {0xa8, 0xdc, 0x00, 0x00, 0xff, 0x0e, 0x00}; /* u16 14 < 15 */
    static const uint8_t cut16[] = {0xa8, 0xdc, 0x00, 0x00, 0xff, 0x26};
    static const uint8_t cut32[] = {0xa8, 0xdc, 0x00, 0x00, 0xff, 0x00, 0x00, 0x13, 0x00, 0x01};
    uint8_t in[TABLE + 16];
    size_t n = make_stream(in, set, 4, small, sizeof small);
    assert_corrupt(in, n, 300, "extended match length 14 is below the minimum of 15");
    n = make_stream(in, set, 4, cut16, sizeof cut16);
    assert_corrupt(in, n, 300, "expected a 2-byte match length");
    n = make_stream(in, set, 4, cut32, sizeof cut32);
    assert_corrupt(in, n, 300, "expected a 4-byte match length");
}

/* Damaged streams: whatever the damage, the result is OK or CORRUPT with a message, and nothing is
 * written past the output (decode_checked's canary); under the sanitizer build, nothing is read
 * past the input either. */
static void test_damaged_streams(void **state) {
    (void)state;
    const size_t n = 150000;
    uint8_t *buf = malloc(n), *out = malloc(n + CANARY_BYTES);
    assert_true(buf && out);
    fill_text(buf, n, 8);
    size_t clen;
    uint8_t *c = roundtrip(buf, n, &clen);
    uint8_t *bad = malloc(clen);
    assert_non_null(bad);
    uint64_t seed = 12345;
    int corrupt = 0;
    for (int iter = 0; iter < 400; iter++) {
        memcpy(bad, c, clen);
        int flips = 1 + (int)(rng_next(&seed) % 4);
        for (int k = 0; k < flips; k++) bad[rng_next(&seed) % clen] ^= (uint8_t)(1 + rng_next(&seed) % 255);
        size_t in_len = (iter % 5 == 0) ? (size_t)(rng_next(&seed) % clen) : clen;
        size_t out_len = (iter % 7 == 0) ? (size_t)(rng_next(&seed) % n) : n;
        b2p_error err;
        b2p_status st = decode_checked(bad, in_len, out, out_len, &err);
        assert_true(st == B2P_OK || st == B2P_ERR_CORRUPT);
        corrupt += st == B2P_ERR_CORRUPT;
    }
    assert_true(corrupt > 100); /* most damage is noticed */
    free(bad);
    free(c);
    free(out);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example_literals),
        cmocka_unit_test(test_spec_example_long_match),
        cmocka_unit_test(test_one_byte_length_form),
        cmocka_unit_test(test_windows_65537_zeros),
        cmocka_unit_test(test_windows_u32_length_and_late_block),
        cmocka_unit_test(test_table_completeness),
        cmocka_unit_test(test_empty_output),
        cmocka_unit_test(test_roundtrip_short_inputs),
        cmocka_unit_test(test_roundtrip_all_byte_values),
        cmocka_unit_test(test_roundtrip_long_runs),
        cmocka_unit_test(test_roundtrip_overlapping_distances),
        cmocka_unit_test(test_roundtrip_max_distance),
        cmocka_unit_test(test_roundtrip_multi_block),
        cmocka_unit_test(test_encoder_output_capacity),
        cmocka_unit_test(test_fixture_northwind_records),
        cmocka_unit_test(test_fixture_page_checksums),
        cmocka_unit_test(test_reject_incomplete_table),
        cmocka_unit_test(test_reject_truncated_stream),
        cmocka_unit_test(test_reject_distance_beyond_output),
        cmocka_unit_test(test_reject_unfillable_output),
        cmocka_unit_test(test_reject_bad_long_length),
        cmocka_unit_test(test_damaged_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
