/* Unit tests of the container layer's small decoders: MTF dates, LSNs, GUIDs, UTF-16,
 * collation names, page checksum, torn-page bits and the backup checksum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define B2P_MTF_INTERNAL
#include "mtf/mtf_int.h"

static void test_mtf_datetime(void **state) {
    (void)state;
    /* 2014-02-07 18:41:32 packed MSB first: year 14 bits, month 4, day 5, hour 5, min 6, sec 6 */
    uint64_t v = ((uint64_t)2014 << 26) | (2u << 22) | (7u << 17) | (18u << 12) | (41u << 6) | 32u;
    uint8_t b[5];
    for (int i = 0; i < 5; i++) b[i] = (uint8_t)(v >> (8 * (4 - i)));
    b2p_datetime d = b2p_mtf_datetime(b);
    assert_int_equal(d.year, 2014);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 7);
    assert_int_equal(d.hour, 18);
    assert_int_equal(d.minute, 41);
    assert_int_equal(d.second, 32);
    char buf[32];
    assert_string_equal(b2p_datetime_format(d, buf, sizeof buf), "2014-02-07 18:41:32");
    static const uint8_t zero[5];
    assert_string_equal(b2p_datetime_format(b2p_mtf_datetime(zero), buf, sizeof buf), "");
}

static void test_lsn(void **state) {
    (void)state;
    uint8_t raw[10];
    b2p_put_le32(raw, 93);
    b2p_put_le32(raw + 4, 52);
    b2p_put_le16(raw + 8, 93);
    b2p_lsn l = b2p_lsn_read(raw);
    char buf[32];
    /* numeric(25,0) as HEADERONLY prints it: vlf * 10^15 + block * 10^5 + slot */
    assert_string_equal(b2p_lsn_format(l, buf, sizeof buf), "93000000005200093");
    assert_string_equal(b2p_lsn_format((b2p_lsn){0, 0, 0}, buf, sizeof buf), "0");
    assert_string_equal(b2p_lsn_format((b2p_lsn){0, 7, 1}, buf, sizeof buf), "700001");
    assert_string_equal(b2p_lsn_format((b2p_lsn){4294967295u, 4294967295u, 65535}, buf, sizeof buf),
                        "4294967295429496729565535");
    assert_true(b2p_lsn_is_zero((b2p_lsn){0, 0, 0}));
    assert_false(b2p_lsn_is_zero(l));
}

static void test_guid(void **state) {
    (void)state;
    /* Data1..3 little-endian, Data4 as bytes: the example GUID of the .NET documentation */
    b2p_guid g = {{0xFF, 0x19, 0x96, 0x6F, 0x86, 0x8B, 0x11, 0xD0, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF}};
    char buf[40];
    assert_string_equal(b2p_guid_format(&g, buf, sizeof buf), "6F9619FF-8B86-D011-B42D-00C04FC964FF");
}

static void test_utf16(void **state) {
    (void)state;
    /* "Hà" + U+1F600 (surrogate pair) + trailing NULs, which are padding */
    static const uint8_t s[] = {'H', 0, 0xE0, 0, 0x3D, 0xD8, 0x00, 0xDE, 0, 0, 0, 0};
    char out[32];
    b2p_utf16_to_utf8(s, sizeof s, out, sizeof out);
    assert_string_equal(out, "H\xC3\xA0\xF0\x9F\x98\x80");
    /* a lone low surrogate becomes U+FFFD, never invalid UTF-8 */
    static const uint8_t bad[] = {0x00, 0xDC};
    b2p_utf16_to_utf8(bad, sizeof bad, out, sizeof out);
    assert_string_equal(out, "\xEF\xBF\xBD");
    /* never overflows the output */
    char tiny[3];
    b2p_utf16_to_utf8(s, sizeof s, tiny, sizeof tiny);
    assert_string_equal(tiny, "H");
}

static void test_collation_names(void **state) {
    (void)state;
    char b[128];
    b2p_collation_name(0x00D00409, 52, b, sizeof b);
    assert_string_equal(b, "SQL_Latin1_General_CP1_CI_AS");
    b2p_collation_name(0x00D00409, 0, b, sizeof b);
    assert_string_equal(b, "Latin1_General_CI_AS");
    b2p_collation_name(0x00D00804, 0, b, sizeof b);
    assert_string_equal(b, "Chinese_PRC_CI_AS");
    b2p_collation_name(0x00F00401, 0, b, sizeof b);
    assert_string_equal(b, "Arabic_CI_AI");
    b2p_collation_name(0x20D0042A, 0, b, sizeof b);
    assert_string_equal(b, "Vietnamese_100_CI_AS");
    b2p_collation_name(0x00000409, 0, b, sizeof b);
    assert_string_equal(b, "Latin1_General_CS_AS_KS_WS");
    b2p_collation_name(0x02000409, 0, b, sizeof b); /* fBinary2 is bit 25 */
    assert_string_equal(b, "Latin1_General_BIN2");
}

/* A page with recognisable content in every sector. */
static void make_page(uint8_t *p) {
    for (int i = 0; i < B2P_PAGE_SIZE; i++) p[i] = (uint8_t)(i * 31 + (i >> 9));
    p[0] = 1;
    p[1] = 1;
    b2p_put_le32(p + 32, 77);
    b2p_put_le16(p + 36, 1);
}

static void test_page_checksum(void **state) {
    (void)state;
    uint8_t p[B2P_PAGE_SIZE];
    make_page(p);
    /* Reference computation, word by word, as the notes state it (container.md 10.3). */
    uint32_t ref = 0;
    for (int s = 0; s < 16; s++) {
        uint32_t x = 0;
        for (int w = 0; w < 128; w++) {
            int off = s * 512 + w * 4;
            x ^= off == 60 ? 0 : b2p_le32(p + off);
        }
        ref ^= b2p_rotl32(x, (unsigned)(15 - s));
    }
    assert_int_equal(b2p_page_checksum(p), ref);
    b2p_put_le32(p + 60, ref); /* the stored value does not feed its own checksum */
    assert_int_equal(b2p_page_checksum(p), ref);
    p[5000] ^= 0x10;
    assert_int_not_equal(b2p_page_checksum(p), ref);
}

static void test_torn_bits(void **state) {
    (void)state;
    uint8_t original[B2P_PAGE_SIZE], p[B2P_PAGE_SIZE];
    make_page(original);
    /* Write as SQL Server does: keep each sector's low 2 bits of its last byte in the torn
     * field (bits 2k..2k+1), and stamp the signature (here 2) in their place. */
    uint32_t torn = 2; /* sector 0: the signature itself */
    memcpy(p, original, sizeof p);
    for (int k = 1; k < 16; k++) {
        uint8_t *last = &p[k * 512 + 511];
        torn |= (uint32_t)(*last & 3) << (2 * k);
        *last = (uint8_t)((*last & 0xFC) | 2);
    }
    b2p_put_le32(p + 60, torn);
    b2p_put_le32(original + 60, torn);
    assert_true(b2p_page_restore_torn_bits(p));
    assert_memory_equal(p, original, sizeof p);
    /* A torn write: one sector still carries the previous signature. */
    memcpy(p, original, sizeof p);
    for (int k = 1; k < 16; k++) p[k * 512 + 511] = (uint8_t)((p[k * 512 + 511] & 0xFC) | (k == 9 ? 1 : 2));
    assert_false(b2p_page_restore_torn_bits(p));
}

static void test_backup_checksum_incremental(void **state) {
    (void)state;
    static uint8_t data[512 * 40];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
    b2p_csum_state one = {0, 0}, pieces = {0, 0};
    b2p_backup_checksum_update(&one, data, sizeof data);
    b2p_backup_checksum_update(&pieces, data, 512 * 3);
    b2p_backup_checksum_update(&pieces, data + 512 * 3, 512 * 37);
    assert_int_equal(one.value, pieces.value);
    assert_int_equal(one.sector, 40);
    /* Rotations repeat every 32 sectors: sectors 0 and 32 both rotate by 31. */
    uint8_t two[1024] = {0};
    two[0] = 1;
    b2p_csum_state a = {0, 0};
    b2p_backup_checksum_update(&a, two, 512);
    assert_int_equal(a.value, b2p_rotl32(1, 31));
    b2p_csum_state b = {0, 32};
    b2p_backup_checksum_update(&b, two, 512);
    assert_int_equal(b.value, a.value);
}

static void test_unit_classification(void **state) {
    (void)state;
    uint8_t u[B2P_PAGE_SIZE];
    uint16_t f;
    uint32_t pg;
    memset(u, 0, sizeof u);
    assert_int_equal(b2p_unit_classify(u, &f, &pg), B2P_UNIT_ZERO);
    make_page(u);
    assert_int_equal(b2p_unit_classify(u, &f, &pg), B2P_UNIT_PAGE);
    assert_int_equal(f, 1);
    assert_int_equal(pg, 77);
    u[1] = 0x65; /* backup-buffer filler: type 0x65, ids 0 */
    b2p_put_le32(u + 32, 0);
    b2p_put_le16(u + 36, 0);
    assert_int_equal(b2p_unit_classify(u, &f, &pg), B2P_UNIT_FILLER);
    u[0] = '<'; /* text left on disk */
    assert_int_equal(b2p_unit_classify(u, &f, &pg), B2P_UNIT_STALE);
}

static void test_status_names(void **state) {
    (void)state;
    assert_string_equal(b2p_status_name(B2P_ERR_MISSING_STRIPE), "missing stripe");
    assert_string_equal(b2p_status_name((b2p_status)999), "unknown");
    b2p_error e = {0};
    assert_int_equal(b2p_fail(&e, B2P_ERR_TRUNCATED, "'%s': offset %d", "x.bak", 42), B2P_ERR_TRUNCATED);
    assert_string_equal(e.msg, "'x.bak': offset 42");
    assert_int_equal(b2p_fail(NULL, B2P_ERR_IO, "ignored"), B2P_ERR_IO);
    /* errors from page-level code get the file named once, never twice */
    b2p_fail(&e, B2P_ERR_CORRUPT, "page 1:20 slot 3: bad record");
    b2p_error_name_file(&e, "n.bak");
    assert_string_equal(e.msg, "'n.bak': page 1:20 slot 3: bad record");
    b2p_error_name_file(&e, "n.bak");
    assert_string_equal(e.msg, "'n.bak': page 1:20 slot 3: bad record");
    /* a message at full length is cut, never overflowed */
    memset(e.msg, 'x', sizeof e.msg - 1);
    e.msg[sizeof e.msg - 1] = 0;
    b2p_error_name_file(&e, "n.bak");
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_memory_equal(e.msg, "'n.bak': xxx", 12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mtf_datetime),    cmocka_unit_test(test_lsn),
        cmocka_unit_test(test_guid),            cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_collation_names), cmocka_unit_test(test_page_checksum),
        cmocka_unit_test(test_torn_bits),       cmocka_unit_test(test_backup_checksum_incremental),
        cmocka_unit_test(test_unit_classification), cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
