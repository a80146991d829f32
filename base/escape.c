/* Text from a backup made safe to show (see base.h "text from a backup, shown to people"). */
#include <stdio.h>
#include <string.h>

#include "base.h"

/* The length of the valid UTF-8 sequence at s[0..n) and its code point, or 0 when the bytes
 * there are not one (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len || len > n) return 0;
    uint32_t v = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Code points that change how the text around them is shown: C1 controls (0x9B is a CSI on
 * some terminals), bidirectional embeddings, overrides and isolates ("Trojan Source"), the
 * Arabic letter mark, and the line and paragraph separators some viewers break lines at. */
static bool invisible_control(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

b2p_status b2p_escape_text(b2p_buf *out, const char *text, size_t n, unsigned flags, b2p_error *err) {
    const unsigned char *s = (const unsigned char *)text;
    bool keep_newlines = flags & B2P_ESCAPE_KEEP_NEWLINES;
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < n && !st;) {
        /* the run of bytes that pass unchanged goes in one append */
        size_t run = i;
        uint32_t cp = 0;
        size_t len = 0;
        while (run < n) {
            unsigned char c = s[run];
            if (c >= 0x20 && c < 0x7F && c != '\\') {
                run++;
                continue;
            }
            if (c >= 0x80 && (len = utf8_sequence(s + run, n - run, &cp)) && !invisible_control(cp)) {
                run += len;
                continue;
            }
            break;
        }
        if (run > i) st = b2p_buf_append(out, s + i, run - i, err);
        i = run;
        if (i >= n || st) break;
        unsigned char c = s[i];
        char esc[16];
        if (c == '\\') snprintf(esc, sizeof esc, "\\\\");
        else if (c == '\n') snprintf(esc, sizeof esc, keep_newlines ? "\n" : "\\n");
        else if (c == '\t') snprintf(esc, sizeof esc, keep_newlines ? "\t" : "\\t");
        else if (c == '\r') snprintf(esc, sizeof esc, "\\r");
        else if (c >= 0x80 && (len = utf8_sequence(s + i, n - i, &cp))) snprintf(esc, sizeof esc, "\\u{%04X}", (unsigned)cp);
        else len = 0, snprintf(esc, sizeof esc, "\\x%02X", c);
        i += c >= 0x80 && len ? len : 1;
        st = b2p_buf_puts(out, esc, err);
    }
    return st;
}

enum { SHOWN_SLOTS = 8, SHOWN_SLOT = 512 };

const char *b2p_shown(const char *s) {
    static _Thread_local char ring[SHOWN_SLOTS][SHOWN_SLOT];
    static _Thread_local unsigned next;
    char *slot = ring[next++ % SHOWN_SLOTS];
    if (!s) s = "";
    /* escape a bounded prefix: a slot cannot show more than SHOWN_SLOT bytes anyway */
    size_t n = strnlen(s, SHOWN_SLOT), cut = n;
    b2p_buf b = {0};
    b2p_status st = b2p_escape_text(&b, s, n, 0, NULL);
    while (!st && b.len >= SHOWN_SLOT - 4 && cut > 0) { /* too long once escaped: fewer source bytes */
        cut = cut > 64 ? cut - 64 : 0;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
        b2p_buf_clear(&b);
        st = b2p_escape_text(&b, s, cut, 0, NULL);
    }
    if (st) snprintf(slot, SHOWN_SLOT, "?");
    else snprintf(slot, SHOWN_SLOT, "%s%s", b.data ? b.data : "", cut < strlen(s) ? "..." : "");
    b2p_buf_free(&b);
    return slot;
}

b2p_status b2p_comment_lines(b2p_buf *out, const char *prefix, const char *text, b2p_error *err) {
    b2p_status st = B2P_OK;
    const char *p = text ? text : "";
    for (;;) {
        size_t len = strcspn(p, "\r\n");
        st = b2p_buf_puts(out, prefix, err);
        if (!st) st = b2p_escape_text(out, p, len, 0, err);
        if (!st) st = b2p_buf_puts(out, "\n", err);
        if (st || !p[len]) return st;
        p += len + (p[len] == '\r' && p[len + 1] == '\n' ? 2 : 1);
    }
}

/* HTML text and attribute values: first made visible as for a terminal (controls, invalid
 * UTF-8 and bidi overrides shown as escapes, so the page shows what the backup holds and is
 * valid UTF-8), then the five characters HTML gives meaning written as entities. */
b2p_status b2p_escape_html(b2p_buf *out, const char *s, size_t n, b2p_error *err) {
    b2p_buf shown = {0};
    b2p_status st = b2p_escape_text(&shown, s, n, 0, err);
    for (size_t i = 0; !st && i < shown.len; i++) {
        char c = shown.data[i];
        const char *ent = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;"
                        : c == '\'' ? "&#39;" : NULL;
        st = ent ? b2p_buf_puts(out, ent, err) : b2p_buf_append(out, &c, 1, err);
    }
    b2p_buf_free(&shown);
    return st;
}
