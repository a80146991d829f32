/* Streaming JSON writer (see json.h). */
#include "json.h"

void json_init(json *j, FILE *out) {
    *j = (json){.out = out};
}

/* Writes the separator a new value needs: a comma between siblings, nothing after a key. */
static void before_value(json *j) {
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0 && j->need_comma[j->depth]) fputc(',', j->out);
    if (j->depth > 0) j->need_comma[j->depth] = true;
}

static void open_container(json *j, char c) {
    before_value(j);
    fputc(c, j->out);
    if (j->depth < 63) j->depth++;
    j->need_comma[j->depth] = false;
}

static void close_container(json *j, char c) {
    fputc(c, j->out);
    if (j->depth > 0) j->depth--;
}

void json_begin_object(json *j) { open_container(j, '{'); }
void json_end_object(json *j) { close_container(j, '}'); }
void json_begin_array(json *j) { open_container(j, '['); }
void json_end_array(json *j) { close_container(j, ']'); }

/* The length of the valid UTF-8 sequence at p (NUL-terminated) and its code point, or 0 when the
 * bytes there are not one (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_sequence(const unsigned char *p, uint32_t *cp) {
    unsigned char c = p[0];
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    uint32_t v = len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the terminator */
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!len || v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* A JSON string that is valid JSON and valid UTF-8 whatever s holds: quote, backslash and the
 * C0 controls escaped (\n \r \t, else \u00XX), DEL as \u007f, U+2028/U+2029 as \u2028/\u2029
 * (JavaScript reads them as line ends), and every byte that is not part of valid UTF-8 as
 * \ufffd (the replacement character): text from a backup is shown, never able to break the
 * document. */
static void write_escaped(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            size_t run = 1;
            while (p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\') run++;
            fwrite(p, 1, run, out);
            p += run;
            continue;
        }
        uint32_t cp = 0;
        size_t len = c >= 0x80 ? utf8_sequence(p, &cp) : 1;
        if (c == '"') fputs("\\\"", out);
        else if (c == '\\') fputs("\\\\", out);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\r') fputs("\\r", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c < 0x80) fprintf(out, "\\u%04x", c); /* the other C0 controls and DEL */
        else if (!len) fputs("\\ufffd", out), len = 1;
        else if (cp == 0x2028 || cp == 0x2029) fprintf(out, "\\u%04x", (unsigned)cp);
        else fwrite(p, 1, len, out);
        p += len;
    }
    fputc('"', out);
}

void json_key(json *j, const char *key) {
    before_value(j);
    write_escaped(j->out, key);
    fputc(':', j->out);
    j->after_key = true;
}

void json_string(json *j, const char *s) {
    before_value(j);
    write_escaped(j->out, s);
}

void json_uint(json *j, uint64_t v) {
    before_value(j);
    fprintf(j->out, "%llu", (unsigned long long)v);
}

void json_int(json *j, int64_t v) {
    before_value(j);
    fprintf(j->out, "%lld", (long long)v);
}

void json_bool(json *j, bool v) {
    before_value(j);
    fputs(v ? "true" : "false", j->out);
}

void json_null(json *j) {
    before_value(j);
    fputs("null", j->out);
}

void json_finish(json *j) {
    fputc('\n', j->out);
}

void json_kv_string(json *j, const char *key, const char *s) {
    json_key(j, key);
    json_string(j, s);
}

void json_kv_uint(json *j, const char *key, uint64_t v) {
    json_key(j, key);
    json_uint(j, v);
}

void json_kv_bool(json *j, const char *key, bool v) {
    json_key(j, key);
    json_bool(j, v);
}
