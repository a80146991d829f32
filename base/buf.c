/* The growable buffer (see base.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

void b2p_buf_free(b2p_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

b2p_status b2p_buf_grow(b2p_buf *b, size_t extra, b2p_error *err) {
    if (extra > SIZE_MAX - b->len - 1) return b2p_fail(err, B2P_ERR_NOMEM, "value buffer overflow");
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return B2P_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory growing a value buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0'; /* keep the "always a C string" promise on a fresh allocation */
    return B2P_OK;
}

b2p_status b2p_buf_puts(b2p_buf *b, const char *s, b2p_error *err) {
    return b2p_buf_append(b, s, strlen(s), err);
}

void b2p_buf_truncate(b2p_buf *b, size_t len) {
    if (len > b->len) return;
    b->len = len;
    if (b->data) b->data[len] = '\0';
}

