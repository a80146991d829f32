/* A minimal JSON reader for tests: parses a whole document into a tree. Numbers are doubles;
 * strings are UTF-8 with escapes resolved (\uXXXX including surrogate pairs). */
#ifndef B2P_TEST_MINIJSON_H
#define B2P_TEST_MINIJSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum mj_type { MJ_NULL, MJ_BOOL, MJ_NUMBER, MJ_STRING, MJ_ARRAY, MJ_OBJECT } mj_type;

typedef struct mj_value {
    mj_type type;
    bool boolean;
    double number;
    char *string;            /* MJ_STRING */
    size_t n;                /* MJ_ARRAY / MJ_OBJECT: element count */
    struct mj_value *items;  /* elements / member values */
    char **keys;             /* MJ_OBJECT: member names */
} mj_value;

/* Parses text; NULL on a syntax error (with *where set to the byte offset). */
mj_value *mj_parse(const char *text, size_t *where);
/* Reads and parses a file; NULL when unreadable or invalid. */
mj_value *mj_parse_file(const char *path);
void mj_free(mj_value *v);

/* Member of an object, or NULL. */
const mj_value *mj_get(const mj_value *obj, const char *key);
/* The member's string, or NULL when absent or not a string. */
const char *mj_get_string(const mj_value *obj, const char *key);

#endif
