/* A minimal JSON reader for tests (see minijson.h). */
#include "minijson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MJ_MAX_DEPTH 64

typedef struct parser {
    const char *s;
    size_t pos;
    int depth;
} parser;

static void skip_ws(parser *p) {
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r' || p->s[p->pos] == '\t') p->pos++;
}

static bool parse_value(parser *p, mj_value *out);

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static bool hex4(parser *p, unsigned *cp) {
    *cp = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        *cp <<= 4;
        if (c >= '0' && c <= '9') *cp |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') *cp |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *cp |= (unsigned)(c - 'A' + 10);
        else return false;
    }
    return true;
}

static char *parse_string(parser *p) {
    if (p->s[p->pos] != '"') return NULL;
    p->pos++;
    size_t start = p->pos, cap = 0;
    while (p->s[p->pos + cap] && p->s[p->pos + cap] != '"') cap += p->s[p->pos + cap] == '\\' ? 2 : 1;
    char *out = malloc(cap * 2 + 8);
    if (!out) return NULL;
    size_t o = 0;
    p->pos = start;
    for (;;) {
        char c = p->s[p->pos++];
        if (c == '"') break;
        if (!c) { free(out); return NULL; }
        if (c != '\\') { out[o++] = c; continue; }
        char e = p->s[p->pos++];
        unsigned cp;
        switch (e) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u':
            if (!hex4(p, &cp)) { free(out); return NULL; }
            if (cp >= 0xD800 && cp < 0xDC00 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
                unsigned lo;
                p->pos += 2;
                if (!hex4(p, &lo)) { free(out); return NULL; }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += put_utf8(out + o, cp);
            break;
        default: out[o++] = e; break;
        }
    }
    out[o] = 0;
    return out;
}

static bool parse_container(parser *p, mj_value *out, bool object) {
    char close = object ? '}' : ']';
    p->pos++;
    size_t cap = 0;
    out->type = object ? MJ_OBJECT : MJ_ARRAY;
    skip_ws(p);
    if (p->s[p->pos] == close) { p->pos++; return true; }
    for (;;) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            mj_value *items = realloc(out->items, cap * sizeof *items);
            if (!items) return false;
            out->items = items;
            if (object) {
                char **keys = realloc(out->keys, cap * sizeof *keys);
                if (!keys) return false;
                out->keys = keys;
            }
        }
        skip_ws(p);
        if (object) {
            out->keys[out->n] = parse_string(p);
            if (!out->keys[out->n]) return false;
            skip_ws(p);
            if (p->s[p->pos++] != ':') { free(out->keys[out->n]); return false; }
        }
        memset(&out->items[out->n], 0, sizeof out->items[out->n]);
        out->n++;
        if (!parse_value(p, &out->items[out->n - 1])) return false;
        skip_ws(p);
        char c = p->s[p->pos++];
        if (c == close) return true;
        if (c != ',') return false;
    }
}

static bool parse_value(parser *p, mj_value *out) {
    if (++p->depth > MJ_MAX_DEPTH) return false;
    skip_ws(p);
    const char *s = p->s + p->pos;
    bool ok = true;
    if (*s == '{' || *s == '[') ok = parse_container(p, out, *s == '{');
    else if (*s == '"') {
        out->type = MJ_STRING;
        out->string = parse_string(p);
        ok = out->string != NULL;
    } else if (!strncmp(s, "null", 4)) { out->type = MJ_NULL; p->pos += 4; }
    else if (!strncmp(s, "true", 4)) { out->type = MJ_BOOL; out->boolean = true; p->pos += 4; }
    else if (!strncmp(s, "false", 5)) { out->type = MJ_BOOL; p->pos += 5; }
    else {
        char *end;
        out->type = MJ_NUMBER;
        out->number = strtod(s, &end);
        ok = end != s;
        p->pos += (size_t)(end - s);
    }
    p->depth--;
    return ok;
}

static void free_inner(mj_value *v) {
    free(v->string);
    for (size_t i = 0; i < v->n; i++) {
        free_inner(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

void mj_free(mj_value *v) {
    if (!v) return;
    free_inner(v);
    free(v);
}

mj_value *mj_parse(const char *text, size_t *where) {
    parser p = {.s = text};
    mj_value *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    if (!parse_value(&p, v)) {
        if (where) *where = p.pos;
        mj_free(v);
        return NULL;
    }
    return v;
}

mj_value *mj_parse_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    mj_value *v = NULL;
    if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
        buf[len] = 0;
        v = mj_parse(buf, NULL);
    }
    free(buf);
    fclose(f);
    return v;
}

const mj_value *mj_get(const mj_value *obj, const char *key) {
    if (!obj || obj->type != MJ_OBJECT) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

const char *mj_get_string(const mj_value *obj, const char *key) {
    const mj_value *v = mj_get(obj, key);
    return v && v->type == MJ_STRING ? v->string : NULL;
}
