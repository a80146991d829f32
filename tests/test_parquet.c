/* parquet/: the Thrift compact encoder against bytes worked out by hand from the protocol, the
 * RLE/bit-packed hybrid against a decoder written here (property over random level runs), and a
 * whole file read back by DuckDB (tests/parquet_read.mjs) when node and @duckdb/node-api are
 * installed in build/npm (skipped loudly otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/parquet.h"

static void thrift_bytes(void **state) {
    (void)state;
    b2p_buf out = {0};
    b2p_thrift t;
    b2p_thrift_init(&t, &out);
    b2p_thrift_i32(&t, 1, -1);          /* 0x15, zigzag(-1)=1 */
    b2p_thrift_binary(&t, 4, "ab", 2);  /* delta 3: 0x38, len 2 */
    b2p_thrift_i64(&t, 30, 300);        /* delta 26: 0x06 then zigzag(30)=60, zigzag(300)=600 = 0xd8 0x04 */
    b2p_thrift_struct_begin(&t, 31);    /* 0x1c */
    b2p_thrift_bool(&t, 1, true);       /* 0x11 */
    b2p_thrift_struct_end(&t);          /* 0x00 */
    b2p_thrift_list(&t, 32, 5, 2);      /* 0x19, 0x25 */
    b2p_thrift_list_i32(&t, 3);         /* 6 */
    b2p_thrift_list_i32(&t, 64);        /* 128 = 0x80 0x01 */
    b2p_thrift_stop(&t);
    static const uint8_t want[] = {0x15, 0x01, 0x38, 0x02, 'a', 'b', 0x06, 60, 0xd8, 0x04, 0x1c, 0x11, 0x00,
                                   0x19, 0x25, 0x06, 0x80, 0x01, 0x00};
    assert_false(t.failed);
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.data, want, sizeof want);
    b2p_buf_free(&out);
}

/* The oracle: decodes the hybrid (Encodings.md) into n levels; false when malformed. */
static bool decode_hybrid(const uint8_t *p, size_t len, int bw, uint8_t *levels, size_t n) {
    size_t i = 0, got = 0;
    while (got < n) {
        uint64_t h = 0;
        int shift = 0;
        do {
            if (i >= len || shift > 56)
                return false;
            h |= (uint64_t)(p[i] & 0x7f) << shift;
            shift += 7;
        } while (p[i++] & 0x80);
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8;
            if (i + (h >> 1) * (uint64_t)bw > len)
                return false;
            for (size_t k = 0; k < count; k++) {
                unsigned v = 0;
                for (int b = 0; b < bw; b++) {
                    size_t bit = k * (size_t)bw + (size_t)b;
                    v |= (unsigned)(p[i + bit / 8] >> (bit % 8) & 1) << b;
                }
                if (got < n)
                    levels[got++] = (uint8_t)v;
                else if (v != 0)
                    return false;   /* padding must be zero */
            }
            i += (size_t)(h >> 1) * (size_t)bw;
        } else {
            size_t count = (size_t)(h >> 1);
            if (i >= len || count == 0 || got + count > n)
                return false;
            memset(levels + got, p[i++], count);
            got += count;
        }
    }
    return i == len;
}

static void hybrid_round_trip(void **state) {
    (void)state;
    uint64_t rng = 0x9E3779B97F4A7C15u;
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = 0;
        uint8_t levels[600], back[600];
        int bw = 1 + trial % 3;
        while (n < sizeof levels) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t run = 1 + (rng >> 3) % ((rng & 4) ? 20 : 3);
            uint8_t v = (uint8_t)((rng >> 20) % (1u << bw));
            if ((rng >> 40) % 50 == 0)
                break;
            for (size_t k = 0; k < run && n < sizeof levels; k++)
                levels[n++] = v;
        }
        b2p_buf out = {0};
        assert_int_equal(b2p_pq_hybrid(&out, levels, n, bw, NULL), B2P_OK);
        assert_true(decode_hybrid((const uint8_t *)out.data, out.len, bw, back, n));
        assert_memory_equal(back, levels, n);
        b2p_buf_free(&out);
    }
}

/* A file of every physical type, with NULLs, in row groups of 3 rows; DuckDB reads it back. */
static void file_read_by_duckdb(void **state) {
    (void)state;
    const char *path = "build/parquet_test.parquet";
    b2p_pq_column cols[] = {
        {.name = "i", .physical = B2P_PQ_INT32, .logical = B2P_PQL_INTEGER, .bit_width = 16, .is_signed = true},
        {.name = "big", .physical = B2P_PQ_INT64, .nullable = true},
        {.name = "s", .physical = B2P_PQ_BYTE_ARRAY, .nullable = true, .logical = B2P_PQL_STRING},
        {.name = "d", .physical = B2P_PQ_FIXED, .type_length = 16, .nullable = true, .logical = B2P_PQL_DECIMAL,
         .precision = 38, .scale = 4},
        {.name = "ts", .physical = B2P_PQ_INT64, .logical = B2P_PQL_TIMESTAMP, .unit = B2P_PQ_NANOS},
        {.name = "b", .physical = B2P_PQ_BOOLEAN, .nullable = true},
        {.name = "f", .physical = B2P_PQ_DOUBLE},
    };
    for (int codec = 0; codec < 2; codec++) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        b2p_pq_writer *w;
        b2p_pq_kv kv = {"sqlserver.type.d", "decimal(38,4)"};
        b2p_pq_options opt = {.codec = codec ? B2P_PQ_ZSTD : B2P_PQ_UNCOMPRESSED, .row_group_rows = 3};
        b2p_error err = {0};
        assert_int_equal(b2p_pq_open(&w, f, cols, 7, &kv, 1, &opt, &err), B2P_OK);
        for (int r = 0; r < 10; r++) {
            assert_int_equal(b2p_pq_int32(w, 0, r - 5, &err), B2P_OK);
            assert_int_equal(r % 3 ? b2p_pq_int64(w, 1, (int64_t)r * 1000000000000LL, &err) : b2p_pq_null(w, 1, &err), B2P_OK);
            assert_int_equal(r % 4 ? b2p_pq_bytes(w, 2, "h\xc3\xa9llo", 6, &err) : b2p_pq_null(w, 2, &err), B2P_OK);
            uint8_t dec[16];
            memset(dec, r % 2 ? 0xff : 0, 16);   /* -1 (= -0.0001) or 0 + r */
            dec[15] = (uint8_t)(r % 2 ? 0xff : r);
            assert_int_equal(r == 9 ? b2p_pq_null(w, 3, &err) : b2p_pq_bytes(w, 3, dec, 16, &err), B2P_OK);
            assert_int_equal(b2p_pq_int64(w, 4, 1700000000000000000LL + r * 100, &err), B2P_OK);
            assert_int_equal(r == 2 ? b2p_pq_null(w, 5, &err) : b2p_pq_bool(w, 5, r % 2, &err), B2P_OK);
            assert_int_equal(b2p_pq_double(w, 6, r / 4.0, &err), B2P_OK);
            assert_int_equal(b2p_pq_end_row(w, &err), B2P_OK);
        }
        assert_int_equal(b2p_pq_close(w, &err), B2P_OK);
        fclose(f);
        if (system("node --version >/dev/null 2>&1") != 0 ||
            system("test -d build/npm/node_modules/@duckdb/node-api") != 0) {
            fprintf(stderr, "SKIPPED: DuckDB read-back: node or build/npm/node_modules/@duckdb/node-api absent "
                            "(npm install --prefix build/npm @duckdb/node-api)\n");
            skip();
        }
        int rc = system("node tests/parquet_read.mjs build/parquet_test.parquet > build/parquet_test.out");
        assert_int_equal(rc, 0);
        FILE *o = fopen("build/parquet_test.out", "r");
        assert_non_null(o);
        char got[4096] = {0};
        size_t n = fread(got, 1, sizeof got - 1, o);
        fclose(o);
        got[n] = 0;
        const char *want = 
                                 "-5|NULL|NULL|0.0000|2023-11-14 22:13:20|false|0\n"
                                 "-4|1000000000000|h\xc3\xa9" "llo|-0.0001|2023-11-14 22:13:20.0000001|true|0.25\n"
                                 "-3|2000000000000|h\xc3\xa9" "llo|0.0002|2023-11-14 22:13:20.0000002|NULL|0.5\n"
                                 "-2|NULL|h\xc3\xa9" "llo|-0.0001|2023-11-14 22:13:20.0000003|true|0.75\n"
                                 "-1|4000000000000|NULL|0.0004|2023-11-14 22:13:20.0000004|false|1\n"
                                 "0|5000000000000|h\xc3\xa9" "llo|-0.0001|2023-11-14 22:13:20.0000005|true|1.25\n"
                                 "1|NULL|h\xc3\xa9" "llo|0.0006|2023-11-14 22:13:20.0000006|false|1.5\n"
                                 "2|7000000000000|h\xc3\xa9" "llo|-0.0001|2023-11-14 22:13:20.0000007|true|1.75\n"
                                 "3|8000000000000|NULL|0.0008|2023-11-14 22:13:20.0000008|false|2\n"
                                 "4|NULL|h\xc3\xa9" "llo|NULL|2023-11-14 22:13:20.0000009|true|2.25\n";
        assert_string_equal(got, want);
        /* the statistics of row group 0 (rows 0-2), as DuckDB reads them */
        rc = system(codec ? "node tests/parquet_read.mjs build/parquet_test.parquet stats > build/parquet_test.out"
                          : "node tests/parquet_read.mjs build/parquet_test.parquet stats | sed s/UNCOMPRESSED/ZSTD/ > build/parquet_test.out");
        assert_int_equal(rc, 0);
        o = fopen("build/parquet_test.out", "r");
        assert_non_null(o);
        n = fread(got, 1, sizeof got - 1, o);
        fclose(o);
        got[n] = 0;
        assert_string_equal(got, "i|ZSTD|-5|-3|0\n"
                                 "big|ZSTD|1000000000000|2000000000000|1\n"
                                 "s|ZSTD|h\xc3\xa9" "llo|h\xc3\xa9" "llo|1\n"
                                 "d|ZSTD|-0.0001|0.0002|0\n"
                                 "ts|ZSTD|2023-11-14 22:13:20|2023-11-14 22:13:20.0000002|0\n"
                                 "b|ZSTD|false|true|1\n"
                                 "f|ZSTD|-0.0|0.5|0\n");
    }
}

/* Misuse is refused with a message, never written: a NULL in a required column, a value given
 * twice, a row missing a column, a fixed value of the wrong length, a column out of range. */
static void misuse_refused(void **state) {
    (void)state;
    b2p_pq_column cols[] = {
        {.name = "a", .physical = B2P_PQ_INT32},
        {.name = "u", .physical = B2P_PQ_FIXED, .type_length = 16, .nullable = true, .logical = B2P_PQL_UUID},
    };
    FILE *f = tmpfile();
    assert_non_null(f);
    b2p_pq_writer *w;
    b2p_error err = {0};
    assert_int_equal(b2p_pq_open(&w, f, cols, 2, NULL, 0, NULL, &err), B2P_OK);
    assert_int_equal(b2p_pq_null(w, 0, &err), B2P_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "required column 'a'"));
    assert_int_equal(b2p_pq_int32(w, 0, 1, &err), B2P_OK);
    assert_int_equal(b2p_pq_int32(w, 0, 2, &err), B2P_ERR_INTERNAL);
    assert_int_equal(b2p_pq_end_row(w, &err), B2P_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "'u' has no value"));
    assert_int_equal(b2p_pq_bytes(w, 1, "short", 5, &err), B2P_ERR_INTERNAL);
    assert_int_equal(b2p_pq_int32(w, 7, 1, &err), B2P_ERR_INTERNAL);
    b2p_pq_abort(w);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thrift_bytes),
        cmocka_unit_test(hybrid_round_trip),
        cmocka_unit_test(misuse_refused),
        cmocka_unit_test(file_read_by_duckdb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
