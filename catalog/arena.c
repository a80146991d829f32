/* The catalog's arena and UTF-16 conversion. */
#include <stdlib.h>
#include <string.h>

#define B2P_CATALOG_INTERNAL
#include "cat_int.h"

#define ARENA_CHUNK (64 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct cat_arena {
    chunk *head;
};

cat_arena *cat_arena_new(void) { return calloc(1, sizeof(cat_arena)); }

void cat_arena_free(cat_arena *a) {
    if (!a) return;
    for (chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
}

void *cat_alloc(cat_arena *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    size_t align = sizeof(max_align_t);
    bytes = (bytes + align - 1) / align * align;
    if (bytes == 0) bytes = align;
    chunk *c = a->head;
    if (!c || c->cap - c->used < bytes) {
        size_t cap = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
        c = malloc(sizeof(chunk) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *cat_strndup(cat_arena *a, const char *s, size_t len) {
    char *p = cat_alloc(a, len + 1, 1);
    if (p) memcpy(p, s, len);
    return p;
}

char *cat_utf16_to_utf8(cat_arena *a, const uint8_t *p, size_t len) {
    size_t units = len / 2;
    char *out = cat_alloc(a, units * 3 + 1, 1); /* a surrogate pair (2 units) makes 4 bytes */
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < units;) {
        int unpaired;
        uint32_t cp = b2p_utf16_next(p, units, &i, &unpaired);
        o += b2p_utf8_encode(unpaired ? 0xFFFD : cp, (uint8_t *)out + o);
    }
    out[o] = 0;
    return out;
}
