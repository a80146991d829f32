/* Unit tests of pages/cdrecord.c and the compressed branch of pages/rows.c: ROW- and
 * PAGE-compressed (CD) records rebuilt to the uncompressed bytes the value decoders take.
 *
 * No fixture holds compressed rows (the one PAGE-compressed table, tsql2012's
 * dbo.EmployeesHistory, is empty; no page of any fixture is a CD page), so records and pages
 * are built here by hand from the format rules (pages.md 5.2, 5.3, 5.5, UTS #6 for SCSU) and
 * every decoded byte is asserted. Uncompressed reference bytes come from OrcaMDF's and
 * test_values.c's vectors (e.g. decimal(17,5) 1234232398.24313 = 01 b9e35db640700000). The
 * end-to-end test writes a backup holding a hand-made PAGE-compressed page and reads it through
 * b2p_rows_scan and b2p_value_text; the fixture test checks the real compressed partition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "emit/emit.h"
#include "pages/pages.h"
#include "pages/value.h"
#include "tests/support/fixtures.h"
#include "tests/support/mtf_writer.h"
#include "tests/support/hex.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Hex text -> bytes; a malformed row fails the test. */
static size_t unhex(const char *h, uint8_t *out, size_t cap) {
    size_t n = test_unhex(h, out, cap);
    assert_true(n != SIZE_MAX);
    return n;
}

static void assert_bytes(const uint8_t *got, size_t n, const char *want_hex) {
    uint8_t want[512];
    size_t m = unhex(want_hex, want, sizeof want);
    if (n != m || memcmp(got, want, n) != 0) {
        char g[1100] = "";
        for (size_t i = 0; i < n && i < 500; i++) snprintf(g + 2 * i, 3, "%02x", got[i]);
        fail_msg("got %zu bytes %s, want %zu bytes %s", n, g, m, want_hex);
    }
}

static b2p_column_layout col(uint8_t xtype, uint16_t ti_len) {
    return (b2p_column_layout){.xtype = xtype, .ti_len = ti_len, .null_bit = 1, .leaf_offset = -1,
                               .is_bit = xtype == B2P_XT_BIT};
}

/* Expands compressed hex for a column and compares with the uncompressed hex. */
static void expands(b2p_column_layout c, const char *in_hex, const char *want_hex) {
    uint8_t in[256], out[2048];
    size_t n = unhex(in_hex, in, sizeof in), got = 0;
    assert_true(b2p_cd_expanded_max(&c, n) <= sizeof out);
    b2p_error err = {0};
    b2p_status st = b2p_cd_expand(&c, in, n, out, &got, &err);
    if (st) fail_msg("xtype %u '%s': %s", c.xtype, in_hex, err.msg);
    assert_bytes(out, got, want_hex);
}

static void expand_fails(b2p_column_layout c, const char *in_hex) {
    uint8_t in[256], out[1200];
    size_t n = unhex(in_hex, in, sizeof in), got = 0;
    b2p_error err = {0};
    assert_int_equal(b2p_cd_expand(&c, in, n, out, &got, &err), B2P_ERR_CORRUPT);
    assert_true(strlen(err.msg) > 0);
}

/* ---- ROW compression: one value at a time ---------------------------------------------------- */

/* smallint/int/bigint: big-endian, minimal width, excess 2^(8n-1); every width of each. */
static void test_integers(void **state) {
    (void)state;
    b2p_column_layout i2 = col(B2P_XT_SMALLINT, 0), i4 = col(B2P_XT_INT, 0), i8 = col(B2P_XT_BIGINT, 0);
    expands(i4, "", "00000000");                   /* 0 is stored as no bytes */
    expands(i4, "81", "01000000");                 /* 1 */
    expands(i4, "7f", "ffffffff");                 /* -1 */
    expands(i4, "ff", "7f000000");                 /* 127: the largest one-byte value */
    expands(i4, "00", "80ffffff");                 /* -128 */
    expands(i4, "8080", "80000000");               /* 128 needs two bytes */
    expands(i4, "7f7f", "7fffffff");               /* -129 */
    expands(i4, "c00000", "00004000");             /* 2^22 */
    expands(i4, "3fffff", "ffffbfff");             /* -2^22 - 1 */
    expands(i4, "ffffffff", "ffffff7f");           /* INT_MAX */
    expands(i4, "00000000", "00000080");           /* INT_MIN */
    expand_fails(i4, "0000000000");                /* five bytes for an int */
    expands(i2, "", "0000");
    expands(i2, "7fff", "ffff");                   /* -1 stored wide is still -1 */
    expands(i2, "0000", "0080");                   /* -32768 */
    expands(i2, "ffff", "ff7f");                   /* 32767 */
    expand_fails(i2, "800000");
    expands(i8, "", "0000000000000000");
    expands(i8, "8000000001", "0100000000000000"); /* five bytes, value 1 */
    expands(i8, "80000000000001", "0100000000000000");
    expands(i8, "ffffffffffffffff", "ffffffffffffff7f"); /* INT64_MAX */
    expands(i8, "0000000000000000", "0000000000000080"); /* INT64_MIN */
    expands(i8, "7fffffffffff", "ffffffffffffffff");     /* -1 in six bytes */
    expand_fails(i8, "000000000000000000");
    /* tinyint: unsigned, 0 or 1 byte */
    expands(col(B2P_XT_TINYINT, 0), "", "00");
    expands(col(B2P_XT_TINYINT, 0), "ff", "ff");
    expand_fails(col(B2P_XT_TINYINT, 0), "0101");
}

/* money/smallmoney are integers of 1/10000; bit; datetime's two excess-coded parts. */
static void test_money_bit_datetime(void **state) {
    (void)state;
    /* Northwind order 10248 freight 32.3800 = 323800 = 0x04f0d8 (uncompressed d8f00400 00000000) */
    expands(col(B2P_XT_MONEY, 0), "84f0d8", "d8f0040000000000");
    expands(col(B2P_XT_MONEY, 0), "7b0f28", "280ffbffffffffff"); /* -32.3800 */
    expands(col(B2P_XT_SMALLMONEY, 0), "84f0d8", "d8f00400");
    expand_fails(col(B2P_XT_SMALLMONEY, 0), "8000000000");
    expands(col(B2P_XT_BIT, 0), "", "00");
    expands(col(B2P_XT_BIT, 0), "01", "01");
    expand_fails(col(B2P_XT_BIT, 0), "02");
    b2p_column_layout dt = col(B2P_XT_DATETIME, 0);
    /* 2001-09-25 05:39:26.820: ticks 0x005d3b5e, days 0x9125 (OrcaMDF's vector
     * 5e3b5d00 25910000); days need 3 excess bytes (0x9125 > 0x7fff), ticks 4 */
    expands(dt, "809125 805d3b5e", "5e3b5d00 25910000");
    expands(dt, "7f 80000000", "00000000 ffffffff");      /* 1899-12-31 00:00: day -1 */
    expands(dt, "8001", "01000000 00000000");             /* 1900-01-01, 1 tick: time only */
    expands(dt, "", "00000000 00000000");
    expand_fails(dt, "808080808080808080");
}

/* Values whose zero bytes are trimmed: floats and smalldatetime at the low-order end (start),
 * date and the time family at the high-order end; char(n)/binary(n)/nchar(n) re-padded. */
static void test_trimmed_types(void **state) {
    (void)state;
    expands(col(B2P_XT_FLOAT, 0), "f03f", "000000000000f03f");  /* 1.0 */
    expands(col(B2P_XT_REAL, 0), "803f", "0000803f");
    expands(col(B2P_XT_SMALLDATETIME, 0), "2591", "00002591");
    expand_fails(col(B2P_XT_REAL, 0), "0000803f00");
    expands(col(B2P_XT_DATE, 0), "5b950a", "5b950a");
    expands(col(B2P_XT_DATE, 0), "01", "010000");              /* 0001-01-02 */
    expand_fails(col(B2P_XT_DATE, 0), "01000000");
    expands(col(B2P_XT_TIME, 7), "01", "0100000000");           /* time(7): 5 bytes */
    expands(col(B2P_XT_TIME, 2), "01", "010000");               /* time(2): 3 bytes */
    expands(col(B2P_XT_TIME, 4), "", "00000000");
    expands(col(B2P_XT_DATETIME2, 0), "b8950a5b950a", "b8950a5b950a");   /* datetime2(0): 6 */
    expands(col(B2P_XT_DATETIME2, 3), "11223344", "11223344000000"); /* datetime2(3): 7 */
    expands(col(B2P_XT_DATETIMEOFFSET, 7), "01", "01000000000000000000"); /* 10 bytes */
    expand_fails(col(B2P_XT_DATETIME2, 0), "00000000000000");
    expands(col(B2P_XT_CHAR, 5), "6162", "6162202020");         /* char(5) 'ab' */
    expands(col(B2P_XT_CHAR, 2), "", "2020");
    expand_fails(col(B2P_XT_CHAR, 2), "616263");
    expands(col(B2P_XT_VARCHAR, 5), "6162", "6162");            /* varchar stays as stored */
    expands(col(B2P_XT_BINARY, 4), "01", "01000000");
    expands(col(B2P_XT_VARBINARY, 4), "0100", "0100");
    expands(col(B2P_XT_TIMESTAMP, 0), "a717", "0000000000002717"); /* integer-coded, page form BE */
    expands(col(B2P_XT_UNIQUEIDENTIFIER, 0), "00112233445566778899aabbccddeeff",
            "00112233445566778899aabbccddeeff");
}

/* Vardecimal: sign/exponent byte, 10-bit groups of three digits, trailing zero bits dropped;
 * rebuilt as sign byte + magnitude * 10^scale in 1..4 words by precision. */
static void test_decimal(void **state) {
    (void)state;
    expands(col(B2P_XT_DECIMAL, 5 | 3 << 8), "c11edc20", "0139300000");  /* 12.345 */
    expands(col(B2P_XT_DECIMAL, 5 | 3 << 8), "411edc20", "0039300000");  /* -12.345 */
    expands(col(B2P_XT_DECIMAL, 9 | 1 << 8), "c41efd60", "014ee40100");  /* 12398.2 */
    expands(col(B2P_XT_NUMERIC, 17 | 5 << 8), "c91eda73bf384e40", "01b9e35db640700000");
    expands(col(B2P_XT_DECIMAL, 5 | 2 << 8), "bf7d", "0132000000");      /* 0.5: one partial group */
    expands(col(B2P_XT_DECIMAL, 5 | 0 << 8), "c319", "01e8030000");      /* 1000 */
    expands(col(B2P_XT_DECIMAL, 5 | 3 << 8), "bd19", "0101000000");      /* 0.001 */
    expands(col(B2P_XT_DECIMAL, 5 | 2 << 8), "", "0100000000");          /* 0 */
    expands(col(B2P_XT_DECIMAL, 38 | 0 << 8), "e5f9fe7f9fe7f9fe7f9fe7f9fe7f9fe7f780",
            "01ffffffff3f228a097ac4865aa84c3b4b");                        /* 38 nines */
    expands(col(B2P_XT_DECIMAL, 19 | 3 << 8), "c11edc20", "013930000000000000"); /* 2 words by precision */
    expand_fails(col(B2P_XT_DECIMAL, 5 | 2 << 8), "bd19");                /* 0.001 has 3 decimals */
    expand_fails(col(B2P_XT_DECIMAL, 5 | 0 << 8), "c1ffc0");              /* group 1023 > 999 */
    expand_fails(col(B2P_XT_DECIMAL, 9 | 0 << 8), "e5f9fe7f9fe7f9fe7f9fe7f9fe7f9fe7f780"); /* too big */
}

/* nchar/nvarchar: odd length = SCSU (UTS #6), even = UTF-16LE as is. */
static void test_unicode(void **state) {
    (void)state;
    b2p_column_layout nv = col(B2P_XT_NVARCHAR, 100);
    expands(nv, "616263", "610062006300");                 /* single-byte mode, window 0 */
    expands(nv, "616210", "61006200");                     /* 'ab' + SC0 filler */
    expands(nv, "12c7af10e6", "47042f04e600");             /* SC2 (0x0400) чЯ, SC0 æ: OrcaMDF's text */
    expands(nv, "0f4e2d6587", "2d4e8765");                 /* SCU: 中文 in Unicode mode */
    expands(nv, "0e20ac", "ac20");                         /* SQU: € quoted */
    expands(nv, "1a01c1", "c100");                         /* SD2 0x01: window 2 at 0x0080 */
    expands(nv, "61004100", "61004100");                   /* even: UTF-16LE kept */
    expands(nv, "01610a", "61000a00");                     /* SQ0 quotes from static window 0 */
    expands(nv, "180a41c110", "41004105");                 /* SD0 0x0a: 0x0500; 0xc1 = U+0541 */
    expands(nv, "188a80", "00f1");                         /* SD0 0x8a: 0x8a * 0x80 + 0xac00 */
    expands(nv, "18f9c1", "0101");                         /* SD0 0xf9: fixed window 0x00c0 */
    expands(nv, "0fe0c0c010", "c000c000");                 /* SCU, UC0: back to window 0 (0x0080) */
    expands(nv, "0fd83dde00", "3dd800de");                 /* SCU: a surrogate pair as two units */
    expands(nv, "0ff04e2d10", "2d4e");                     /* UQU in Unicode mode, filler */
    expands(col(B2P_XT_NCHAR, 10), "616210", "61006200200020002000"); /* nchar(5) padded */
    expand_fails(nv, "610c62");                            /* 0x0c is reserved */
    /* b2p_scsu_decode: extended windows and operands cut off by the end */
    uint8_t in[16], out[64];
    size_t n = unhex("0b000080", in, sizeof in), got = 0;
    b2p_error err = {0};
    assert_int_equal(b2p_scsu_decode(in, n, out, &got, &err), B2P_OK);
    assert_bytes(out, got, "00d800dc");                    /* SDX window 0 = U+10000 */
    n = unhex("0f4e2d4e", in, sizeof in);
    assert_int_equal(b2p_scsu_decode(in, n, out, &got, &err), B2P_OK);
    assert_bytes(out, got, "2d4e");                        /* a lone trailing byte is filler */
    n = unhex("6102", in, sizeof in);
    assert_int_equal(b2p_scsu_decode(in, n, out, &got, &err), B2P_OK);
    assert_bytes(out, got, "6100");                        /* SQ1 without its operand */
    n = unhex("0ff2", in, sizeof in);
    assert_int_equal(b2p_scsu_decode(in, n, out, &got, &err), B2P_ERR_CORRUPT);
    n = unhex("1800", in, sizeof in);
    assert_int_equal(b2p_scsu_decode(in, n, out, &got, &err), B2P_ERR_CORRUPT); /* window 0 reserved */
}

/* ---- CD records ---------------------------------------------------------------------------- */

typedef struct spec {
    uint8_t kind;                 /* B2P_CD_* or 0 = derive from hex (short 1..8 or long) */
    const char *hex;
    bool complex;
} spec;

/* Builds a CD record from column specs by the format rules (pages.md 5.2): returns its size. */
static size_t build_cd(uint8_t *out, size_t cap, uint8_t type, const spec *cols, size_t n) {
    static uint8_t kinds[1024], vals[1024][64];
    static size_t lens[1024];
    size_t nlong = 0, pos = 0;
    assert_true(n <= 1024);
    for (size_t i = 0; i < n; i++) {
        /* kind 0 with bytes: derived from their length; with none: NULL */
        lens[i] = cols[i].hex ? unhex(cols[i].hex, vals[i], sizeof vals[i]) : 0;
        kinds[i] = cols[i].kind ? cols[i].kind : !cols[i].hex ? B2P_CD_NULL : lens[i] <= 8 ? (uint8_t)(lens[i] + 1) : B2P_CD_LONG;
        if (kinds[i] != B2P_CD_SYMBOL && kinds[i] != B2P_CD_LONG && (kinds[i] < 2 || kinds[i] > 9)) lens[i] = 0;
        if (kinds[i] == B2P_CD_LONG) nlong++;
    }
    out[pos++] = (uint8_t)(0x01 | type << 2 | (nlong ? 0x20 : 0));
    if (n < 0x80) {
        out[pos++] = (uint8_t)n;
    } else {
        out[pos++] = (uint8_t)(0x80 | n >> 8);
        out[pos++] = (uint8_t)n;
    }
    memset(out + pos, 0, (n + 1) / 2);
    for (size_t i = 0; i < n; i++) out[pos + i / 2] |= (uint8_t)(kinds[i] << (i % 2 ? 4 : 0));
    pos += (n + 1) / 2;
    size_t nclusters = n ? (n - 1) / 30 : 0, cl = pos;
    memset(out + cl, 0, nclusters);
    pos += nclusters;
    for (size_t i = 0; i < n; i++) {
        if (kinds[i] == B2P_CD_LONG) continue;
        memcpy(out + pos, vals[i], lens[i]);
        pos += lens[i];
        if (i / 30 < nclusters) out[cl + i / 30] = (uint8_t)(out[cl + i / 30] + lens[i]);
    }
    if (nlong) {
        out[pos++] = 0x01;
        b2p_put_le16(out + pos, (uint16_t)nlong);
        pos += 2;
        size_t ends = pos, end = 0, k = 0;
        pos += 2 * nlong;
        memset(out + pos, 0, nclusters);
        for (size_t i = 0; i < n; i++)
            if (kinds[i] == B2P_CD_LONG && i / 30 < nclusters) out[pos + i / 30]++;
        pos += nclusters;
        for (size_t i = 0; i < n; i++) {
            if (kinds[i] != B2P_CD_LONG) continue;
            memcpy(out + pos + end, vals[i], lens[i]);
            end += lens[i];
            b2p_put_le16(out + ends + 2 * k++, (uint16_t)(end | (cols[i].complex ? 0x8000u : 0)));
        }
        pos += end;
    }
    assert_true(pos <= cap);
    return pos;
}

static const b2p_row_where here = {.file = 1, .page = 77, .slot = 3};

static void value_is(const b2p_cd_page *pg, const b2p_cd_record *r, uint16_t k, const char *want_hex) {
    static uint8_t tmp[B2P_CD_TMP_SIZE];
    b2p_cd_value v;
    b2p_error err = {0};
    if (b2p_cd_value_get(pg, r, k, tmp, &v, &here, &err)) fail_msg("column %u: %s", k, err.msg);
    if (!want_hex) {
        if (!v.is_null) fail_msg("column %u: not NULL", k);
        return;
    }
    if (v.is_null) fail_msg("column %u: NULL (kind %u)", k, v.kind);
    assert_bytes(v.bytes, v.len, want_hex);
}

/* A record laid out by hand, byte by byte: int 1, NULL, empty, a long varchar, bit true. */
static void test_record_by_hand(void **state) {
    (void)state;
    uint8_t rec[64];
    size_t n = unhex("21 05 02a10b 81 01 0100 0c00 68656c6c6f20776f726c6421", rec, sizeof rec);
    b2p_cd_record r = {0};
    b2p_error err = {0};
    assert_int_equal(b2p_cd_record_parse(rec, n, &r, &here, &err), B2P_OK);
    assert_true(r.live);
    assert_int_equal(r.ncols, 5);
    assert_int_equal(r.length, n);
    value_is(NULL, &r, 0, "81");
    value_is(NULL, &r, 1, NULL);
    value_is(NULL, &r, 2, "");
    value_is(NULL, &r, 3, "68656c6c6f20776f726c6421");
    value_is(NULL, &r, 4, "");
    assert_int_equal(r.cols[4].kind, B2P_CD_TRUE);
    value_is(NULL, &r, 5, NULL);                          /* beyond the column count: NULL */
    /* every shorter record area is refused, never read past */
    for (size_t avail = 0; avail < n; avail++) {
        assert_int_equal(b2p_cd_record_parse(rec, avail, &r, &here, &err), B2P_ERR_CORRUPT);
        assert_non_null(strstr(err.msg, "page 1:77 slot 3"));
    }
    /* ghosts and forwarding stubs are recognised from the header alone */
    uint8_t ghost = 0x01 | 3 << 2, stub = 0x01 | 2 << 2, fixedvar = 0x30;
    assert_int_equal(b2p_cd_record_parse(&ghost, 1, &r, &here, &err), B2P_OK);
    assert_true(r.ghost && !r.live);
    assert_int_equal(b2p_cd_record_parse(&stub, 1, &r, &here, &err), B2P_OK);
    assert_true(r.type == B2P_CD_FORWARDING && !r.live && !r.ghost);
    assert_int_equal(b2p_cd_record_parse(&fixedvar, 1, &r, &here, &err), B2P_ERR_CORRUPT);
    /* a long column without the long region flag; a count that disagrees; undefined code */
    n = unhex("01 02 a2 81", rec, sizeof rec);
    assert_int_equal(b2p_cd_record_parse(rec, n, &r, &here, &err), B2P_ERR_CORRUPT);
    n = unhex("21 01 0a 01 0200 0100 0100 41", rec, sizeof rec);
    assert_int_equal(b2p_cd_record_parse(rec, n, &r, &here, &err), B2P_ERR_CORRUPT);
    n = unhex("01 01 0d", rec, sizeof rec);
    assert_int_equal(b2p_cd_record_parse(rec, n, &r, &here, &err), B2P_ERR_CORRUPT);
    b2p_cd_record_free(&r);
}

/* Every short length 1..8, NULL vs empty, long and complex entries, forwarded type. */
static void test_record_kinds(void **state) {
    (void)state;
    static const spec cols[] = {
        {0, "01", false}, {0, "0102", false}, {0, "010203", false}, {0, "01020304", false},
        {0, "0102030405", false}, {0, "010203040506", false}, {0, "01020304050607", false},
        {0, "0102030405060708", false}, {B2P_CD_NULL, NULL, false}, {B2P_CD_EMPTY, NULL, false},
        {0, "010203040506070809", false}, {0, "04000000000000000000000001000000010000000000", true},
        {B2P_CD_TRUE, NULL, false}, {0, "", false},
    };
    size_t nc = sizeof cols / sizeof *cols;
    uint8_t rec[512];
    size_t n = build_cd(rec, sizeof rec, B2P_CD_FORWARDED, cols, nc);
    b2p_cd_record r = {0};
    b2p_error err = {0};
    assert_int_equal(b2p_cd_record_parse(rec, n, &r, &here, &err), B2P_OK);
    assert_true(r.live);
    assert_int_equal(r.type, B2P_CD_FORWARDED);
    assert_int_equal(r.length, n);
    for (uint16_t k = 0; k < nc; k++) {
        if (cols[k].kind == B2P_CD_NULL && !cols[k].hex) value_is(NULL, &r, k, NULL);
        else value_is(NULL, &r, k, cols[k].hex ? cols[k].hex : "");
    }
    assert_false(r.cols[10].complex);
    assert_true(r.cols[11].complex);
    assert_int_equal(r.cols[13].kind, B2P_CD_EMPTY);
    b2p_cd_record_free(&r);
}

/* 75 columns (three clusters of 30) and 200 columns (two-byte column count). */
static void test_wide_records(void **state) {
    (void)state;
    static spec cols[200];
    static char hex[200][40];
    for (size_t i = 0; i < 200; i++) {
        size_t len = i % 13; /* 0..12 bytes: short ones and long ones in every cluster */
        for (size_t b = 0; b < len; b++) snprintf(hex[i] + 2 * b, 3, "%02x", (unsigned)((i + b) & 0xFF));
        cols[i] = (spec){0, i % 17 == 5 ? NULL : hex[i], false};
    }
    static uint8_t rec[4096];
    b2p_cd_record r = {0};
    b2p_error err = {0};
    static const size_t widths[] = {30, 31, 60, 61, 75, 127, 128, 200};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        size_t n = build_cd(rec, sizeof rec, B2P_CD_PRIMARY, cols, widths[w]);
        if (b2p_cd_record_parse(rec, n, &r, &here, &err)) fail_msg("%zu columns: %s", widths[w], err.msg);
        assert_int_equal(r.ncols, widths[w]);
        assert_int_equal(r.length, n);
        for (uint16_t k = 0; k < widths[w]; k++) value_is(NULL, &r, k, cols[k].hex);
    }
    /* a cluster length byte that disagrees with its columns is damage */
    size_t n = build_cd(rec, sizeof rec, B2P_CD_PRIMARY, cols, 75);
    rec[1 + 1 + 38] ^= 1; /* header, count, 38 CD bytes: the first cluster length */
    assert_int_equal(b2p_cd_record_parse(rec, n, &r, &here, &err), B2P_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "cluster 0"));
    b2p_cd_record_free(&r);
}

/* ---- PAGE compression: CI, anchor, dictionary -------------------------------------------------- */

typedef struct built_page {
    uint8_t p[B2P_PAGE_SIZE];
    b2p_page_header h;
} built_page;

/* A PAGE-compressed data page: CI (flags 0x06 or 0x02) with the anchor record and dictionary
 * entries given, then the records, then the slot array. */
static void build_page(built_page *bp, uint32_t page_id, bool with_dict, const spec *anchor, size_t nanchor,
                       const char *const *dict, size_t ndict, const uint8_t *const *recs, const size_t *rec_len,
                       size_t nrecs) {
    uint8_t *p = bp->p;
    memset(p, 0, B2P_PAGE_SIZE);
    p[0] = 1;
    p[1] = B2P_PAGE_DATA;
    p[2] = 0x80;
    b2p_put_le16(p + 22, (uint16_t)nrecs);
    b2p_put_le32(p + 32, page_id);
    b2p_put_le16(p + 36, 1);
    size_t head = with_dict ? 7 : 5, pos = 96 + head;
    pos += build_cd(p + pos, 512, B2P_CD_PRIMARY, anchor, nanchor);
    p[96] = with_dict ? 0x06 : 0x02;
    b2p_put_le16(p + 97, 1);
    if (with_dict) {
        b2p_put_le16(p + 99, (uint16_t)(pos - 96));
        size_t d = pos, data = d + 2 + 2 * ndict;
        b2p_put_le16(p + d, (uint16_t)ndict);
        for (size_t i = 0; i < ndict; i++) {
            data += unhex(dict[i], p + data, 256);
            b2p_put_le16(p + d + 2 + 2 * i, (uint16_t)(data - d));
        }
        pos = data;
    }
    b2p_put_le16(p + 96 + (with_dict ? 5 : 3), (uint16_t)(pos - 96));
    for (size_t i = 0; i < nrecs; i++) {
        b2p_put_le16(p + B2P_PAGE_SIZE - 2 * (i + 1), (uint16_t)pos);
        memcpy(p + pos, recs[i], rec_len[i]);
        pos += rec_len[i];
    }
    b2p_put_le16(p + 30, (uint16_t)pos);
    b2p_error err = {0};
    assert_int_equal(b2p_page_header_parse(p, 1, page_id, &bp->h, &err), B2P_OK);
}

/* Anchor prefixes: a value's first byte says how many anchor bytes precede its suffix; an
 * empty value is the whole anchor; a dictionary symbol stands for an entry, itself prefixed in
 * an anchored column; a NULL anchor leaves the column as stored. */
static void test_page_compression(void **state) {
    (void)state;
    /* anchor: col0 "SQLServer2008" (long), col1 NULL (no prefix), col2 int 0x8101 */
    static const spec anchor[] = {{0, "53514c53657276657232303038", false}, {B2P_CD_NULL, NULL, false},
                                  {0, "8101", false}};
    static const char *const dict[] = {"0632303132", "6869", "0281"}; /* "[6]2012", "hi", "[2]+0x81" */
    /* row 1: col0 "[6]2016" (short, 5 bytes), col1 "abc", col2 empty (= anchor 8101)
     * row 2: col0 symbol 0 -> "[6]2012" -> SQLSer2012, col1 symbol 1 -> "hi", col2 "[1]02" -> 8102
     * row 3: col0 "[0]" + 9 bytes (long) -> no anchor bytes, col1 NULL, col2 symbol 2 -> 810181 */
    static const spec r1[] = {{0, "0632303136", false}, {0, "616263", false}, {B2P_CD_EMPTY, NULL, false}};
    static const spec r2[] = {{B2P_CD_SYMBOL, "00", false}, {B2P_CD_SYMBOL, "01", false}, {0, "0102", false}};
    static const spec r3[] = {{0, "00616263646566676869", false}, {B2P_CD_NULL, NULL, false},
                              {B2P_CD_SYMBOL, "02", false}};
    uint8_t b1[64], b2[64], b3[64];
    const uint8_t *recs[] = {b1, b2, b3};
    size_t lens[] = {build_cd(b1, sizeof b1, 0, r1, 3), build_cd(b2, sizeof b2, 0, r2, 3), build_cd(b3, sizeof b3, 0, r3, 3)};
    static built_page bp;
    build_page(&bp, 500, true, anchor, 3, dict, 3, recs, lens, 3);
    b2p_cd_page pg = {0};
    b2p_cd_record r = {0};
    b2p_error err = {0};
    assert_int_equal(b2p_cd_page_parse(bp.p, &bp.h, &pg, &err), B2P_OK);
    assert_true(pg.has_ci && pg.has_anchor);
    assert_int_equal(pg.ndict, 3);
    const uint8_t *at[3];
    for (int i = 0; i < 3; i++) at[i] = bp.p + b2p_le16(bp.p + B2P_PAGE_SIZE - 2 * (i + 1));
    assert_int_equal(b2p_cd_record_parse(at[0], 200, &r, &here, &err), B2P_OK);
    value_is(&pg, &r, 0, "53514c536572 32303136");         /* SQLSer + 2016 */
    value_is(&pg, &r, 1, "616263");
    value_is(&pg, &r, 2, "8101");
    assert_int_equal(b2p_cd_record_parse(at[1], 200, &r, &here, &err), B2P_OK);
    value_is(&pg, &r, 0, "53514c536572 32303132");
    value_is(&pg, &r, 1, "6869");
    value_is(&pg, &r, 2, "81 02");
    assert_int_equal(b2p_cd_record_parse(at[2], 200, &r, &here, &err), B2P_OK);
    value_is(&pg, &r, 0, "616263646566676869");
    value_is(&pg, &r, 1, NULL);
    value_is(&pg, &r, 2, "810181");
    /* a prefix longer than the anchor, a symbol beyond the dictionary */
    static const spec bad1[] = {{0, "0e41", false}};
    static const spec bad2[] = {{B2P_CD_SYMBOL, "03", false}};
    uint8_t rb[32];
    size_t n = build_cd(rb, sizeof rb, 0, bad1, 1);
    assert_int_equal(b2p_cd_record_parse(rb, n, &r, &here, &err), B2P_OK);
    static uint8_t tmp[B2P_CD_TMP_SIZE];
    b2p_cd_value v;
    assert_int_equal(b2p_cd_value_get(&pg, &r, 0, tmp, &v, &here, &err), B2P_ERR_CORRUPT);
    n = build_cd(rb, sizeof rb, 0, bad2, 1);
    assert_int_equal(b2p_cd_record_parse(rb, n, &r, &here, &err), B2P_OK);
    assert_int_equal(b2p_cd_value_get(&pg, &r, 0, tmp, &v, &here, &err), B2P_ERR_CORRUPT);
    /* two-byte prefix length (big-endian 15 bits): 0x80 0x05 = 5 anchor bytes */
    static const spec two[] = {{0, "800541", false}};
    n = build_cd(rb, sizeof rb, 0, two, 1);
    assert_int_equal(b2p_cd_record_parse(rb, n, &r, &here, &err), B2P_OK);
    value_is(&pg, &r, 0, "53514c5365 41");
    /* anchor-only CI (flags 0x02, 5-byte header) */
    build_page(&bp, 501, false, anchor, 3, NULL, 0, recs, lens, 1);
    assert_int_equal(b2p_cd_page_parse(bp.p, &bp.h, &pg, &err), B2P_OK);
    assert_true(pg.has_anchor && !pg.dict);
    assert_int_equal(b2p_cd_record_parse(bp.p + b2p_le16(bp.p + B2P_PAGE_SIZE - 2), 200, &r, &here, &err), B2P_OK);
    value_is(&pg, &r, 0, "53514c536572 32303136");
    /* a CI size beyond the page, a dictionary whose offsets run backwards */
    built_page bad = bp;
    b2p_put_le16(bad.p + 99, 9000);
    assert_int_equal(b2p_cd_page_parse(bad.p, &bad.h, &pg, &err), B2P_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "page 1:501 compression anchor"));
    build_page(&bp, 502, true, anchor, 3, dict, 3, recs, lens, 1);
    size_t d = 96 + b2p_le16(bp.p + 99);
    b2p_put_le16(bp.p + d + 4, 1);
    assert_int_equal(b2p_cd_page_parse(bp.p, &bp.h, &pg, &err), B2P_ERR_CORRUPT);
    b2p_cd_record_free(&r);
    b2p_cd_page_free(&pg);
}

/* ---- through b2p_rows_scan and the value decoders -------------------------------------------- */

typedef struct collected {
    b2p_value_ctx vcx;
    const b2p_type *types;
    char text[8][2048];
    size_t rows;
} collected;

static void append(char *line, const char *text) {
    size_t l = strlen(line);
    snprintf(line + l, 2048 - l, "%s", text);
}

static int collect_row(void *ctx, const b2p_cell *cells, size_t ncells, const b2p_row_where *w) {
    collected *c = ctx;
    (void)w;
    char *line = c->text[c->rows < 8 ? c->rows : 7];
    line[0] = '\0';
    for (size_t i = 0; i < ncells; i++) {
        if (i) append(line, "|");
        if (cells[i].is_null) {
            append(line, "NULL");
            continue;
        }
        b2p_buf out = {0};
        b2p_error err = {0};
        if (b2p_value_text(&c->vcx, &c->types[i], cells[i].bytes, cells[i].len, &out, &err)) {
            append(line, "ERR:");
            append(line, err.msg);
        } else {
            append(line, out.data ? out.data : "");
        }
        b2p_buf_free(&out);
    }
    c->rows++;
    return 0;
}

#define SCAN_OK_OR_CORRUPT ((b2p_status)-1)

/* Writes a one-file backup whose page 1:page_id is the given page (page 0 a file header
 * stand-in), then reads the page's rows with b2p_rows_scan as the export would. */
static void scan_page(const built_page *bp, uint32_t page_id, const b2p_column_layout *cols, const b2p_type *types,
                      size_t ncols, uint8_t compression, collected *c, b2p_status want) {
    char dir[] = "/tmp/b2p_cmpr_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/page.bak", dir);
    size_t nunits = 2;
    uint8_t *units = calloc(nunits, B2P_PAGE_SIZE);
    assert_non_null(units);
    /* unit 0: a minimal file header page (type 15) for page 1:0 */
    units[0] = 1;
    units[1] = B2P_PAGE_FILE_HEADER;
    b2p_put_le16(units + 30, 96);
    b2p_put_le16(units + 36, 1);
    memcpy(units + B2P_PAGE_SIZE, bp->p, B2P_PAGE_SIZE);
    mtfw_file file = {.logical_name = "t", .physical_name = "C:\\t.mdf", .file_id = 1, .type = 'D',
                      .size_bytes = (uint64_t)(page_id + 1) * B2P_PAGE_SIZE};
    mtfw_options o = {.block_size = 512, .type_letter = 'D', .database_name = "t", .server_name = "TEST",
                      .version_major = 13, .version_minor = 0, .version_build = 4001, .database_version = 852,
                      .total_units = nunits, .files = &file, .nfiles = 1};
    assert_true(mtfw_write_file(path, &o, units, nunits));
    free(units);

    b2p_error err = {0};
    b2p_backup *bk = NULL;
    b2p_pages *src = NULL;
    const char *paths[1] = {path};
    b2p_open_options oo = {0};
    if (b2p_backup_open(&bk, paths, 1, &oo, &err)) fail_msg("open: %s", err.msg);
    b2p_pages_options po = {0};
    if (b2p_pages_open(&src, bk, &po, &err)) fail_msg("pages: %s", err.msg);
    b2p_rowset_ref rs = {.in_row = {.auid = 0, .first = {.file = 1, .page = page_id}}, .method = B2P_SCAN_PAGE_CHAIN,
                         .ncols = ncols, .cols = cols, .compression = compression};
    b2p_value_ctx_init(&c->vcx, 0x3400D008u);
    c->types = types;
    b2p_row_stats stats = {0};
    b2p_status st = b2p_rows_scan(src, &rs, collect_row, c, &stats, &err);
    if (want == SCAN_OK_OR_CORRUPT && (st == B2P_OK || st == B2P_ERR_CORRUPT)) want = st;
    if (st != want) fail_msg("scan: status %d (want %d): %s", (int)st, (int)want, err.msg);
    if (getenv("B2P_SHOW_DAMAGE") && st) printf("  %s\n", err.msg);
    if (want && !strstr(err.msg, "page 1:") && !strstr(err.msg, "row at 1:")) fail_msg("no place in: %s", err.msg);
    b2p_value_ctx_free(&c->vcx);
    b2p_pages_free(src);
    b2p_backup_free(bk);
    unlink(path);
    rmdir(dir);
}

/* A PAGE-compressed page of a table like dbo.EmployeesHistory (uniquifier, sysend, sysstart,
 * empid, empname, department, salary, hiredate: sysrscols order, CD ordinal = null bit - 1),
 * read through b2p_rows_scan and rendered by the value decoders, ghosts skipped. */
static void test_rows_scan_page(void **state) {
    (void)state;
    /* sysend 9999-12-31 23:59:59 = datetime2(0): time 86399 s = 0x01517f, date 3652058 =
     * 0x37b9da -> LE 7f5101 dab937 (nothing to trim); sysstart 2016-05-01 00:00:00: time 0 ->
     * 000000, date 736084 = 0x0b3b54 -> LE 000000 543b0b; empid 1 / 2; salary 5000.00 /
     * 6500.50; hiredate 2012-02-29: 734561 = 0x0b3561 -> 61350b. */
    static const spec anchor[] = {{B2P_CD_NULL, NULL, false}, {0, "7f5101dab937", false}, {B2P_CD_NULL, NULL, false},
                                  {B2P_CD_NULL, NULL, false}, {0, "53617261", false}, {0, "53616c6573", false},
                                  {B2P_CD_NULL, NULL, false}, {B2P_CD_NULL, NULL, false}};
    static const char *const dict[] = {"05"}; /* "Sales" = the whole anchor prefix, no suffix */
    /* vardecimal 5000.00: digits 5, exp 3 -> c3 7d; 6500.50: digits 65005, exp 3 -> c3 a28320 */
    static const spec r1[] = {{B2P_CD_NULL, NULL, false}, {B2P_CD_EMPTY, NULL, false}, {0, "000000543b0b", false},
                              {0, "81", false}, {0, "0344617669", false}, {B2P_CD_SYMBOL, "00", false},
                              {0, "c37d", false}, {0, "61350b", false}};
    static const spec r2[] = {{0, "81", false}, {0, "0537", false}, {0, "000000543b0b", false},
                              {0, "82", false}, {B2P_CD_EMPTY, NULL, false}, {0, "0220444556", false},
                              {0, "c3a28320", false}, {0, "01", false}};
    uint8_t b1[96], b2[96], b3[4];
    b3[0] = 0x01 | 3 << 2; /* a ghost */
    const uint8_t *recs[] = {b1, b3, b2};
    size_t lens[] = {build_cd(b1, sizeof b1, 0, r1, 8), 1, build_cd(b2, sizeof b2, 0, r2, 8)};
    static built_page bp;
    build_page(&bp, 1, true, anchor, 8, dict, 1, recs, lens, 3);
    /* the export asks for empid, empname, department, salary, sysstart, sysend, hiredate */
    b2p_column_layout cols[] = {
        {.xtype = B2P_XT_INT, .null_bit = 4, .leaf_offset = -4},
        {.xtype = B2P_XT_VARCHAR, .null_bit = 5, .leaf_offset = -5, .ti_len = 25},
        {.xtype = B2P_XT_VARCHAR, .null_bit = 6, .leaf_offset = -6, .ti_len = 50},
        {.xtype = B2P_XT_NUMERIC, .null_bit = 7, .leaf_offset = -7, .ti_len = 10 | 2 << 8},
        {.xtype = B2P_XT_DATETIME2, .null_bit = 3, .leaf_offset = -3, .ti_len = 0},
        {.xtype = B2P_XT_DATETIME2, .null_bit = 2, .leaf_offset = -2, .ti_len = 0},
        {.xtype = B2P_XT_DATE, .null_bit = 8, .leaf_offset = -8},
    };
    b2p_type types[] = {{.xtype = B2P_XT_INT}, {.xtype = B2P_XT_VARCHAR, .max_length = 25},
                        {.xtype = B2P_XT_VARCHAR, .max_length = 50}, {.xtype = B2P_XT_NUMERIC, .precision = 10, .scale = 2},
                        {.xtype = B2P_XT_DATETIME2, .scale = 0}, {.xtype = B2P_XT_DATETIME2, .scale = 0},
                        {.xtype = B2P_XT_DATE}};
    static collected c;
    memset(&c, 0, sizeof c);
    scan_page(&bp, 1, cols, types, 7, 2, &c, B2P_OK);
    assert_int_equal(c.rows, 2);
    assert_string_equal(c.text[0], "1|SarDavi|Sales|5000.00|2016-05-01 00:00:00|9999-12-31 23:59:59|2012-02-29");
    assert_string_equal(c.text[1], "2|Sara|Sa DEV|6500.50|2016-05-01 00:00:00|9999-12-31 23:59:59|0001-01-02");
    /* damage: a record offset inside the CI is refused, naming the page and slot */
    static built_page bad;
    bad = bp;
    b2p_put_le16(bad.p + B2P_PAGE_SIZE - 2, 100);
    memset(&c, 0, sizeof c);
    scan_page(&bad, 1, cols, types, 7, 2, &c, B2P_ERR_CORRUPT);
    /* random damage to the CI, the records and the slot array: rows or CORRUPT, never a read
     * outside the page (the sanitizer build checks) */
    uint32_t rng = 12345;
    size_t end = b2p_le16(bp.p + 30);
    for (int round = 0; round < 40; round++) {
        bad = bp;
        for (int k = 0; k < 1 + round % 6; k++) {
            rng = rng * 1103515245u + 12345u;
            size_t off = round % 4 == 3 ? B2P_PAGE_SIZE - 1 - (rng >> 8) % 6 : 96 + (rng >> 8) % (end - 96);
            bad.p[off] = (uint8_t)(rng >> 20);
        }
        memset(&c, 0, sizeof c);
        scan_page(&bad, 1, cols, types, 7, 2, &c, SCAN_OK_OR_CORRUPT);
    }
}

/* ---- the real compressed partition ------------------------------------------------------------ */

/* tsql2012's dbo.EmployeesHistory is PAGE-compressed: its sysrscols give every column
 * leaf_offset = -null_bit (the CD ordinal + 1), and the export now reads it (0 rows) instead of
 * refusing it. Runs the binary named by $B2P_BIN. */
static void test_fixture_partition(void **state) {
    (void)state;
    const char *path = fixture_path("tsql2012_2016sp1_COMPRESSED_joeycheung.bak");
    if (access(path, R_OK) != 0) skip();
    b2p_error err = {0};
    b2p_backup *bk = NULL;
    b2p_pages *src = NULL;
    b2p_catalog *cat = NULL;
    const char *paths[1] = {path};
    b2p_open_options oo = {0};
    b2p_pages_options po = {0};
    if (b2p_backup_open(&bk, paths, 1, &oo, &err) || b2p_pages_open(&src, bk, &po, &err) ||
        b2p_catalog_load(src, &cat, &err))
        fail_msg("%s", err.msg);
    const b2p_cat_table *t = b2p_catalog_find_table(cat, "dbo", "EmployeesHistory");
    assert_non_null(t);
    assert_int_equal(t->npartitions, 1);
    const b2p_cat_partition *p = &t->partitions[0];
    assert_int_equal(p->compression, 2);
    for (size_t k = 0; k < p->nrscols; k++) {
        const b2p_column_layout *l = &p->rscols[k].layout;
        assert_int_equal(l->leaf_offset, -(int)l->null_bit);
        assert_int_equal(b2p_cd_ordinal(l), l->null_bit - 1);
    }
    assert_null(b2p_export_unsupported(t));
    b2p_catalog_free(cat);
    b2p_pages_free(src);
    b2p_backup_free(bk);
    const char *bin = getenv("B2P_BIN");
    if (!bin) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s dump --table dbo.EmployeesHistory '%s' 2>&1", bin, path);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    char out[256];
    size_t n = fread(out, 1, sizeof out - 1, pp);
    out[n] = '\0';
    assert_int_equal(pclose(pp), 0);
    assert_int_equal(n, 0); /* no rows, no complaint */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),         cmocka_unit_test(test_money_bit_datetime),
        cmocka_unit_test(test_trimmed_types),    cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_unicode),          cmocka_unit_test(test_record_by_hand),
        cmocka_unit_test(test_record_kinds),     cmocka_unit_test(test_wide_records),
        cmocka_unit_test(test_page_compression), cmocka_unit_test(test_rows_scan_page),
        cmocka_unit_test(test_fixture_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
