/* Sparse vectors (pages.md 5.4): where the values of a table's sparse columns live.
 * A sparse column takes no null bit and no fixed-area bytes; a record that holds a value for
 * any of them carries one complex variable column laid out as
 *     u16 0x0005 | u16 count c | c x u16 column id | c x u16 end offset | values
 * with end offsets relative to the vector's first byte. A column missing from it is NULL. */
#include <string.h>

#include "pages.h"

enum {
    SPARSE_TAG = 0x0005,
    SPARSE_HEADER = 4,            /* tag + count */
    BACK_POINTER_TAG = 0x0400,    /* a forwarded record's back pointer: 00 04 + RID */
    BACK_POINTER_SIZE = 10,
};

b2p_status b2p_sparse_parse(const uint8_t *p, size_t len, b2p_sparse_vector *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    if (len < SPARSE_HEADER || b2p_le16(p) != SPARSE_TAG)
        return b2p_fail(err, B2P_ERR_CORRUPT, "sparse vector of %zu bytes without its 05 00 tag", len);
    uint16_t c = b2p_le16(p + 2);
    size_t values = SPARSE_HEADER + 4u * (size_t)c;
    if (values > len)
        return b2p_fail(err, B2P_ERR_CORRUPT, "sparse vector of %zu bytes cannot hold %u columns", len, c);
    size_t prev = values;
    for (uint16_t k = 0; k < c; k++) {
        size_t end = b2p_le16(p + SPARSE_HEADER + 2u * c + 2u * k);
        if (end < prev || end > len)
            return b2p_fail(err, B2P_ERR_CORRUPT, "sparse vector: value %u ends at %zu, expected within "
                            "[%zu, %zu]", k, end, prev, len);
        prev = end;
    }
    *out = (b2p_sparse_vector){.data = p, .len = len, .count = c};
    return B2P_OK;
}

b2p_status b2p_sparse_vector_find(const b2p_record *r, b2p_sparse_vector *out, bool *found,
                                  b2p_error *err) {
    memset(out, 0, sizeof *out);
    *found = false;
    for (uint16_t k = r->nvar; k-- > 0;) {
        const uint8_t *p;
        size_t len;
        bool complex, present;
        b2p_status st = b2p_record_var(r, k, &p, &len, &complex, &present, err);
        if (st) return st;
        if (!present || !complex || len < 2) continue;
        uint16_t tag = b2p_le16(p);
        if (tag == BACK_POINTER_TAG && len == BACK_POINTER_SIZE) continue;
        if (tag != SPARSE_TAG) continue; /* an off-row pointer or LOB root (02, 04 ...) */
        st = b2p_sparse_parse(p, len, out, err);
        if (st) return st;
        *found = true;
        return B2P_OK;
    }
    return B2P_OK;
}

bool b2p_sparse_get(const b2p_sparse_vector *v, uint16_t column_id, const uint8_t **out,
                    size_t *len) {
    *out = NULL;
    *len = 0;
    if (!v->data) return false;
    uint16_t c = v->count;
    const uint8_t *ids = v->data + SPARSE_HEADER, *ends = ids + 2u * c;
    for (uint16_t k = 0; k < c; k++) {
        if (b2p_le16(ids + 2u * k) != column_id) continue;
        size_t start = k ? b2p_le16(ends + 2u * (k - 1)) : SPARSE_HEADER + 4u * (size_t)c;
        size_t end = b2p_le16(ends + 2u * k);
        if (start > end || end > v->len) return false; /* b2p_sparse_parse rules this out */
        *out = v->data + start;
        *len = end - start;
        return true;
    }
    return false;
}
