/* File names from a backup's names (see base.h "file names"). */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "base.h"

static bool kept(unsigned char c, bool first) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c == '-' && !first);
}

b2p_status b2p_file_component(b2p_buf *out, const char *name, b2p_error *err) {
    static const char hex[] = "0123456789ABCDEF";
    size_t start = out->len;
    b2p_status st = B2P_OK;
    if (!*name) return b2p_buf_puts(out, "%", err); /* an empty name: "%" alone (no name encodes so) */
    for (const unsigned char *p = (const unsigned char *)name; *p && !st; p++) {
        if (kept(*p, p == (const unsigned char *)name)) {
            st = b2p_buf_append(out, p, 1, err);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            st = b2p_buf_append(out, e, 3, err);
        }
    }
    if (st || out->len - start <= B2P_FILE_COMPONENT_MAX) return st;
    /* shortened: a prefix cut where no %XX is split, then '~' and the whole name's hash */
    size_t keep = B2P_FILE_COMPONENT_MAX - 17;
    while (keep > 0 && (out->data[start + keep - 1] == '%' || (keep > 1 && out->data[start + keep - 2] == '%'))) keep--;
    b2p_buf_truncate(out, start + keep);
    char tail[24];
    snprintf(tail, sizeof tail, "~%016llx", (unsigned long long)XXH64(name, strlen(name), 0));
    return b2p_buf_puts(out, tail, err);
}

b2p_status b2p_table_file_name(b2p_buf *out, const char *schema, const char *table, const char *ext, b2p_error *err) {
    b2p_status st = b2p_file_component(out, schema, err);
    if (!st) st = b2p_buf_puts(out, ".", err);
    if (!st) st = b2p_file_component(out, table, err);
    if (!st) st = b2p_buf_puts(out, ".", err);
    return st ? st : b2p_buf_puts(out, ext, err);
}
