/* The order-independent content hash (emit/rowhash.c) that remigration's ledger and verify use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emit/emit.h"

static b2p_content_hash hash_of(const char *copy_text, size_t piece) {
    b2p_hash_sink s = {0};
    size_t len = strlen(copy_text);
    for (size_t at = 0; at < len; at += piece)
        assert_true(b2p_hash_sink_write(&s, copy_text + at, len - at < piece ? len - at : piece));
    assert_int_equal(s.partial.len, 0); /* every line ended */
    b2p_content_hash h = s.hash;
    b2p_hash_sink_free(&s);
    return h;
}

static void test_order_does_not_matter(void **state) {
    (void)state;
    b2p_content_hash a = hash_of("1\tAlfreds\n2\t\\N\n3\tline\\nbreak\n", 4096);
    b2p_content_hash b = hash_of("3\tline\\nbreak\n1\tAlfreds\n2\t\\N\n", 4096);
    assert_int_equal(a.rows, 3);
    assert_true(b2p_content_hash_equal(&a, &b));
}

static void test_content_and_multiplicity_matter(void **state) {
    (void)state;
    b2p_content_hash one = hash_of("1\ta\n", 64), twice = hash_of("1\ta\n1\ta\n", 64),
                     other = hash_of("1\tb\n", 64), swapped = hash_of("a\t1\n", 64);
    assert_false(b2p_content_hash_equal(&one, &other));
    assert_false(b2p_content_hash_equal(&one, &swapped));
    assert_false(b2p_content_hash_equal(&one, &twice));
    /* two equal rows must not cancel out (an xor would) */
    b2p_content_hash empty = hash_of("", 64), pair = hash_of("1\ta\n1\ta\n", 64);
    pair.rows = 0;
    assert_false(b2p_content_hash_equal(&empty, &pair));
}

static void test_lines_cut_across_writes(void **state) {
    (void)state;
    const char *text = "10\tVins et alcools Chevalier\t\\N\n11\tToms Spezialitäten\t1996-07-05\n\n";
    b2p_content_hash whole = hash_of(text, 1 << 20);
    for (size_t piece = 1; piece < 12; piece++) {
        b2p_content_hash cut = hash_of(text, piece);
        assert_true(b2p_content_hash_equal(&whole, &cut));
    }
    assert_int_equal(whole.rows, 3); /* an empty line is a row (a table of one empty text column) */
    char hex[33];
    b2p_content_hash_hex(&whole, hex);
    assert_int_equal(strlen(hex), 32);
}

static bool collect(void *ctx, const char *data, size_t len) {
    b2p_error err;
    return b2p_buf_append(ctx, data, len, &err) == B2P_OK;
}

static void test_bytes_pass_through(void **state) {
    (void)state;
    b2p_buf out = {0};
    b2p_hash_sink s = {.next = collect, .next_ctx = &out};
    assert_true(b2p_hash_sink_write(&s, "1\tx\n2", 5));
    assert_true(b2p_hash_sink_write(&s, "\ty\n", 3));
    assert_string_equal(out.data, "1\tx\n2\ty\n");
    assert_int_equal(s.hash.rows, 2);
    b2p_hash_sink_free(&s);
    b2p_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_does_not_matter),
        cmocka_unit_test(test_content_and_multiplicity_matter),
        cmocka_unit_test(test_lines_cut_across_writes),
        cmocka_unit_test(test_bytes_pass_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
