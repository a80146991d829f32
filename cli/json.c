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

static void write_escaped(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20) fprintf(out, "\\u%04x", *p);
            else fputc(*p, out);
        }
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
