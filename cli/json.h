/* A small streaming JSON writer for --json output: keys and values are written as they come,
 * commas and nesting tracked here, strings escaped so that the document is valid JSON and valid
 * UTF-8 whatever they hold (controls and DEL as \u00XX, bytes that are not UTF-8 as \ufffd;
 * see write_escaped in json.c). A write error is left in the stream's error flag, for the
 * caller (cli/main.c) to report. */
#ifndef B2P_CLI_JSON_H
#define B2P_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json {
    FILE *out;
    int depth;
    bool need_comma[64];
    bool after_key;
} json;

void json_init(json *j, FILE *out);
void json_begin_object(json *j);
void json_end_object(json *j);
void json_begin_array(json *j);
void json_end_array(json *j);
void json_key(json *j, const char *key);
void json_string(json *j, const char *s);
void json_uint(json *j, uint64_t v);
void json_int(json *j, int64_t v);
void json_bool(json *j, bool v);
void json_null(json *j);
/* Writes the closing newline of a document. */
void json_finish(json *j);

/* key + value in one call */
void json_kv_string(json *j, const char *key, const char *s);
void json_kv_uint(json *j, const char *key, uint64_t v);
void json_kv_bool(json *j, const char *key, bool v);

#endif
