/* base/: the one escaper for terminals and comments, the one file-name maker, SQL quoting's
 * dollar tags, and output directories that are never written through a link or over a file.
 * Inputs are hostile, so the escaping and naming tests are properties over random byte strings
 * drawn mostly from the characters that break things, each checked by an oracle written here
 * (a decoder, a scanner), never by calling the code under test a second time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

/* ---- random hostile strings ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* A NUL-free string of up to max bytes: quotes, backslashes, controls, %, ~, dots, slashes,
 * UTF-8 of C1 controls, bidi overrides and separators, valid non-ASCII, and broken UTF-8. */
static size_t hostile(char *out, size_t max) {
    static const char *const pieces[] = {
        "'", "\"", "\\", ";", "--", "/*", "*/", "\n", "\r", "\r\n", "\t", "$(", "`", "%", "%2E", "~", ".", "..",
        "/", "$$", "$b2p$", "\x1b[2J", "\x07", "\x7f", "\x01", "\xc2\x9b", "\xe2\x80\xae", "\xe2\x80\xa8",
        "\xe2\x81\xa6", "\xd8\x9c", "é", "Ω", "日本", "😀", "\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "a", "Z",
        "0", "_", "-", " ", "x", "\\!", "\\unrestrict",
    };
    size_t n = 0, parts = next_random() % 12;
    for (size_t i = 0; i < parts; i++) {
        const char *p = pieces[next_random() % (sizeof pieces / sizeof pieces[0])];
        size_t len = strlen(p);
        if (n + len > max) break;
        memcpy(out + n, p, len);
        n += len;
    }
    out[n] = 0;
    return n;
}

/* ---- the escaper ------------------------------------------------------------------------- */

/* The oracle: undoes b2p_escape_text (without KEEP_NEWLINES); false if the text holds anything
 * the escaper never writes. */
static bool unescape(const char *s, char *out, size_t *outlen) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p < 0x20 || *p == 0x7f) return false; /* a raw control character escaped nothing */
        if (*p != '\\') {
            out[n++] = (char)*p++;
            continue;
        }
        p++;
        if (*p == '\\') out[n++] = '\\', p++;
        else if (*p == 'n') out[n++] = '\n', p++;
        else if (*p == 'r') out[n++] = '\r', p++;
        else if (*p == 't') out[n++] = '\t', p++;
        else if (*p == 'x') {
            unsigned v;
            if (sscanf((const char *)p + 1, "%2X", &v) != 1) return false;
            out[n++] = (char)v;
            p += 3;
        } else if (*p == 'u' && p[1] == '{') {
            unsigned v;
            if (sscanf((const char *)p + 2, "%X", &v) != 1) return false;
            uint8_t u[4];
            size_t k = b2p_utf8_encode(v, u);
            memcpy(out + n, u, k);
            n += k;
            p = (const unsigned char *)strchr((const char *)p, '}');
            if (!p) return false;
            p++;
        } else {
            return false;
        }
    }
    out[n] = 0;
    *outlen = n;
    return true;
}

/* Whether s is valid UTF-8 without C1 controls, bidi controls or line separators. */
static bool shows_only_itself(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp;
        size_t len;
        if (*p < 0x80) cp = *p, len = 1;
        else if ((*p & 0xE0) == 0xC0) cp = *p & 0x1F, len = 2;
        else if ((*p & 0xF0) == 0xE0) cp = *p & 0x0F, len = 3;
        else if ((*p & 0xF8) == 0xF0) cp = *p & 0x07, len = 4;
        else return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
            cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F || cp == 0x061C || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += len;
    }
    return true;
}

static void test_escape_is_inert_and_reversible(void **state) {
    (void)state;
    char in[600], back[700];
    for (int i = 0; i < 20000; i++) {
        size_t n = hostile(in, 512);
        b2p_buf out = {0};
        assert_int_equal(b2p_escape_text(&out, in, n, 0, NULL), B2P_OK);
        const char *shown = out.data ? out.data : "";
        if (!shows_only_itself(shown)) fail_msg("escaped text still holds a control: '%s'", shown);
        size_t m = 0;
        if (!unescape(shown, back, &m)) fail_msg("escaped text has a raw control or a bad escape: '%s'", shown);
        if (m != n || memcmp(back, in, n)) fail_msg("escaping lost information: '%s'", shown);
        b2p_buf_free(&out);
    }
}

/* HTML: for hostile text, b2p_escape_html's output holds no < > " ' and no & but the five
 * entities, and undoing the entities gives b2p_escape_text's output exactly (so it is as inert
 * and as reversible). */
static void test_escape_html_is_inert_and_reversible(void **state) {
    (void)state;
    static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    static const char plain[] = {'&', '<', '>', '"', '\''};
    char in[600];
    for (int i = 0; i < 20000; i++) {
        size_t n = hostile(in, 512);
        if (i % 3 == 0 && n) in[i % n] = "<>&\"'"[i % 5];
        b2p_buf html = {0}, text = {0}, back = {0};
        assert_int_equal(b2p_escape_html(&html, in, n, NULL), B2P_OK);
        assert_int_equal(b2p_escape_text(&text, in, n, 0, NULL), B2P_OK);
        for (size_t k = 0; k < html.len;) {
            char c = html.data[k];
            if (c == '<' || c == '>' || c == '"' || c == '\'') fail_msg("HTML holds a raw %c: '%s'", c, html.data);
            if (c != '&') {
                assert_int_equal(b2p_buf_append(&back, &c, 1, NULL), B2P_OK);
                k++;
                continue;
            }
            size_t e = 0;
            while (e < 5 && strncmp(html.data + k, ent[e], strlen(ent[e]))) e++;
            if (e == 5) fail_msg("HTML holds a bare &: '%s'", html.data);
            assert_int_equal(b2p_buf_append(&back, &plain[e], 1, NULL), B2P_OK);
            k += strlen(ent[e]);
        }
        if (back.len != text.len || (back.len && memcmp(back.data, text.data, back.len)))
            fail_msg("HTML escaping is not the text escaping plus entities: '%s'", html.data ? html.data : "");
        b2p_buf_free(&html);
        b2p_buf_free(&text);
        b2p_buf_free(&back);
    }
    b2p_buf out = {0};
    const char *in2 = "<a href=\"x\">O'Brien & \x1b[1m</a>";
    assert_int_equal(b2p_escape_html(&out, in2, strlen(in2), NULL), B2P_OK);
    assert_string_equal(out.data, "&lt;a href=&quot;x&quot;&gt;O&#39;Brien &amp; \\x1B[1m&lt;/a&gt;");
    b2p_buf_free(&out);
}

static void test_escape_examples(void **state) {
    (void)state;
    b2p_buf out = {0};
    const char in[] = "a\nb\r\x1b[31m\\\xe2\x80\xae\xff\tok é";
    assert_int_equal(b2p_escape_text(&out, in, strlen(in), 0, NULL), B2P_OK);
    assert_string_equal(out.data, "a\\nb\\r\\x1B[31m\\\\\\u{202E}\\xFF\\tok é");
    b2p_buf_clear(&out);
    assert_int_equal(b2p_escape_text(&out, in, strlen(in), B2P_ESCAPE_KEEP_NEWLINES, NULL), B2P_OK);
    assert_string_equal(out.data, "a\nb\\r\\x1B[31m\\\\\\u{202E}\\xFF\tok é");
    b2p_buf_free(&out);
    /* b2p_shown: a ring of slots, so several names fit one printf */
    char line[256];
    snprintf(line, sizeof line, "%s.%s", b2p_shown("x\ny"), b2p_shown("\r"));
    assert_string_equal(line, "x\\ny.\\r");
    char longname[3000];
    memset(longname, '\n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    const char *s = b2p_shown(longname);
    assert_true(strlen(s) < 512);
    assert_string_equal(s + strlen(s) - 3, "...");
    assert_string_equal(b2p_shown(NULL), "");
}

/* Every line the comment writer makes starts with the prefix and holds no line break but its
 * own end, so psql and PostgreSQL read nothing but comments. */
static void test_comment_lines_are_only_comments(void **state) {
    (void)state;
    char in[600];
    for (int i = 0; i < 20000; i++) {
        hostile(in, 512);
        b2p_buf out = {0};
        assert_int_equal(b2p_comment_lines(&out, "--   ", in, NULL), B2P_OK);
        assert_non_null(out.data);
        assert_true(out.len > 0 && out.data[out.len - 1] == '\n');
        for (const char *line = out.data; *line; line = strchr(line, '\n') + 1) {
            if (strncmp(line, "--   ", 5)) fail_msg("a line that is not a comment: '%s'", line);
            size_t len = strcspn(line, "\n");
            if (memchr(line, '\r', len)) fail_msg("a carriage return inside a comment");
            char copy[4096];
            snprintf(copy, sizeof copy, "%.*s", (int)len, line);
            if (!shows_only_itself(copy)) fail_msg("a control inside a comment: '%s'", copy);
        }
        b2p_buf_free(&out);
    }
    /* the three line ends each start a new comment line */
    b2p_buf out = {0};
    assert_int_equal(b2p_comment_lines(&out, "-- ", "a\rb\r\nc\nd", NULL), B2P_OK);
    assert_string_equal(out.data, "-- a\n-- b\n-- c\n-- d\n");
    b2p_buf_free(&out);
}

/* ---- file names -------------------------------------------------------------------------- */

static bool file_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '%' || c == '~';
}

/* The oracle for names that were not shortened: %XX back to bytes. */
static void decode_component(const char *s, char *out) {
    size_t n = 0;
    if (!strcmp(s, "%")) {
        out[0] = 0;
        return;
    }
    for (; *s; s++) {
        unsigned v;
        if (*s == '%' && sscanf(s + 1, "%2X", &v) == 1) {
            out[n++] = (char)v;
            s += 2;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = 0;
}

static void test_file_components_are_safe_and_injective(void **state) {
    (void)state;
    enum { N = 4000 };
    static char names[N][300], files[N][200];
    for (int i = 0; i < N; i++) {
        hostile(names[i], 290);
        b2p_buf out = {0};
        assert_int_equal(b2p_file_component(&out, names[i], NULL), B2P_OK);
        assert_true(out.len > 0 && out.len <= B2P_FILE_COMPONENT_MAX);
        for (size_t k = 0; k < out.len; k++)
            if (!file_char(out.data[k])) fail_msg("'%s' gave a file name with byte 0x%02x", names[i], (unsigned char)out.data[k]);
        assert_true(out.data[0] != '-' && out.data[0] != '.');
        snprintf(files[i], sizeof files[i], "%s", out.data);
        if (!strchr(out.data, '~')) {
            char back[300];
            decode_component(out.data, back);
            assert_string_equal(back, names[i]);
        }
        b2p_buf_free(&out);
    }
    for (int i = 0; i < N; i++)
        for (int k = i + 1; k < N; k++)
            if (strcmp(names[i], names[k]) && !strcmp(files[i], files[k]))
                fail_msg("two names, one file: '%s' and '%s' -> %s", names[i], names[k], files[i]);
}

static void test_table_file_names_do_not_collide(void **state) {
    (void)state;
    /* the collisions of the old naming: '.' inside names, '/' replaced by '_' */
    const char *pairs[][2] = {{"x", "y.z"}, {"x.y", "z"}, {"dbo", "a/b"}, {"dbo", "a_b"}, {".", "/../../../../tmp/EVIL"},
                              {"..", "."}, {"", ".."}, {"%", ""}, {"-rf", "x"}, {"A", "a"}};
    size_t n = sizeof pairs / sizeof pairs[0];
    char files[16][400];
    for (size_t i = 0; i < n; i++) {
        b2p_buf out = {0};
        assert_int_equal(b2p_table_file_name(&out, pairs[i][0], pairs[i][1], "copy", NULL), B2P_OK);
        assert_null(strchr(out.data, '/'));
        assert_true(out.data[0] != '.' && out.data[0] != '-');
        snprintf(files[i], sizeof files[i], "%s", out.data);
        for (size_t k = 0; k < i; k++) assert_string_not_equal(files[k], files[i]);
        b2p_buf_free(&out);
    }
    assert_string_equal(files[0], "x.y%2Ez.copy");
    assert_string_equal(files[1], "x%2Ey.z.copy");
    assert_string_equal(files[4], "%2E.%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Ftmp%2FEVIL.copy");
}

/* ---- dollar quoting ---------------------------------------------------------------------- */

static void test_dollar_tags_close_only_at_the_end(void **state) {
    (void)state;
    const char *bodies[] = {"", "x", "$b2p$", "x$b2p", "$b2p", "$b2p$$b2p1$", "a$b2p1", "$$", "$b2p$b2p1$b2p2"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        b2p_buf out = {0};
        assert_int_equal(b2p_quote_dollar(bodies[i], &out, NULL), B2P_OK);
        /* the tag is what precedes the body; its first occurrence after the opening is the end */
        const char *open_end = strchr(out.data + 1, '$') + 1;
        size_t tag = (size_t)(open_end - out.data);
        char t[32];
        snprintf(t, sizeof t, "%.*s", (int)tag, out.data);
        const char *close = strstr(open_end, t);
        assert_non_null(close);
        assert_int_equal((size_t)(close - open_end), strlen(bodies[i]));
        assert_int_equal(strlen(close), tag);
        b2p_buf_free(&out);
    }
}

static void test_literals(void **state) {
    (void)state;
    b2p_buf out = {0};
    assert_int_equal(b2p_quote_literal("it's", &out, NULL), B2P_OK);
    assert_string_equal(out.data, "'it''s'");
    b2p_buf_clear(&out);
    assert_int_equal(b2p_quote_literal("a\\'; DROP TABLE x; --", &out, NULL), B2P_OK);
    assert_string_equal(out.data, "E'a\\\\''; DROP TABLE x; --'");
    b2p_buf_clear(&out);
    assert_int_equal(b2p_quote_ident("Order\"s", &out, NULL), B2P_OK);
    assert_string_equal(out.data, "\"Order\"\"s\"");
    b2p_buf_free(&out);
}

/* ---- output directories ------------------------------------------------------------------ */

static char tmpdir[256];

static int setup_tmp(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/b2p_base_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_file(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void test_outdir_never_writes_through_links_or_over_files(void **state) {
    (void)state;
    char dir[512], victim[512], path[600], buf[256];
    snprintf(dir, sizeof dir, "%s/out/deeper", tmpdir);
    snprintf(victim, sizeof victim, "%s/victim", tmpdir);
    write_file(victim, "precious\n");
    b2p_outdir *d;
    b2p_error err = {0};
    assert_int_equal(b2p_outdir_open(dir, &d, &err), B2P_OK); /* parents created */
    snprintf(path, sizeof path, "%s/load.sql", dir);
    assert_int_equal(symlink(victim, path), 0);
    FILE *f = NULL;
    assert_int_equal(b2p_outdir_create(d, "load.sql", &f, &err), B2P_ERR_IO);
    assert_non_null(strstr(err.msg, "load.sql' exists already"));
    read_file(victim, buf, sizeof buf);
    assert_string_equal(buf, "precious\n");
    /* a subdirectory replaced by a link to elsewhere is refused too */
    snprintf(path, sizeof path, "%s/data", dir);
    assert_int_equal(symlink(tmpdir, path), 0);
    assert_int_equal(b2p_outdir_create(d, "data/victim", &f, &err), B2P_ERR_IO);
    read_file(victim, buf, sizeof buf);
    assert_string_equal(buf, "precious\n");
    unlink(path);
    /* names that leave the directory never reach the file system */
    const char *bad[] = {"../victim", "/etc/passwd", "data/../../victim", "a/b/c", ".hidden", "", "data/", "x y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(b2p_outdir_create(d, bad[i], &f, &err), B2P_ERR_INTERNAL);
    /* unique names: the second file of one name gets ~2 */
    b2p_buf actual = {0};
    assert_int_equal(b2p_outdir_create_unique(d, "data/public.t", ".copy", &f, &actual, &err), B2P_OK);
    assert_string_equal(actual.data, "data/public.t.copy");
    fputs("one\n", f);
    assert_int_equal(b2p_outdir_close_file(d, f, actual.data, &err), B2P_OK);
    assert_int_equal(b2p_outdir_create_unique(d, "data/public.t", ".copy", &f, &actual, &err), B2P_OK);
    assert_string_equal(actual.data, "data/public.t~2.copy");
    assert_int_equal(b2p_outdir_close_file(d, f, actual.data, &err), B2P_OK);
    b2p_buf_free(&actual);
    char first[256];
    assert_int_equal(b2p_outdir_first_entry(d, first, sizeof first, &err), B2P_OK);
    assert_true(!strcmp(first, "load.sql") || !strcmp(first, "data"));
    b2p_outdir_close(d);
}

static void test_outdir_clean_removes_only_its_own(void **state) {
    (void)state;
    char dir[512], path[600], buf[64];
    snprintf(dir, sizeof dir, "%s/clean", tmpdir);
    b2p_outdir *d;
    b2p_error err = {0};
    assert_int_equal(b2p_outdir_open(dir, &d, &err), B2P_OK);
    const char *ours[] = {"manifest.json", "load.sql", "data/public.a.copy"};
    for (size_t i = 0; i < 3; i++) {
        FILE *f;
        assert_int_equal(b2p_outdir_create(d, ours[i], &f, &err), B2P_OK);
        assert_int_equal(b2p_outdir_close_file(d, f, ours[i], &err), B2P_OK);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_file(path, "the user's\n");
    snprintf(path, sizeof path, "%s/data/mine.copy", dir);
    write_file(path, "the user's too\n");
    assert_int_equal(b2p_outdir_clean(d, &err), B2P_OK);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, ours[i]);
        assert_int_equal(access(path, F_OK), -1);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    read_file(path, buf, sizeof buf);
    assert_string_equal(buf, "the user's\n");
    snprintf(path, sizeof path, "%s/data/mine.copy", dir);
    read_file(path, buf, sizeof buf);
    assert_string_equal(buf, "the user's too\n");
    snprintf(path, sizeof path, "%s/.bak2pg-files", dir);
    assert_int_equal(access(path, F_OK), -1);
    /* a journal someone edited to point outside is refused, and nothing outside goes */
    char victim[600];
    snprintf(victim, sizeof victim, "%s/victim2", tmpdir);
    write_file(victim, "precious\n");
    write_file(path, "../victim2\n");
    assert_int_equal(b2p_outdir_clean(d, &err), B2P_ERR_IO);
    assert_non_null(strstr(err.msg, "not a name bak2pg writes"));
    assert_int_equal(access(victim, F_OK), 0);
    b2p_outdir_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_is_inert_and_reversible),
        cmocka_unit_test(test_escape_examples),
        cmocka_unit_test(test_escape_html_is_inert_and_reversible),
        cmocka_unit_test(test_comment_lines_are_only_comments),
        cmocka_unit_test(test_file_components_are_safe_and_injective),
        cmocka_unit_test(test_table_file_names_do_not_collide),
        cmocka_unit_test(test_dollar_tags_close_only_at_the_end),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_outdir_never_writes_through_links_or_over_files),
        cmocka_unit_test(test_outdir_clean_removes_only_its_own),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
