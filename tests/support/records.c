#include "tests/support/records.h"

#include <string.h>

#include "base/base.h"

size_t fixedvar_record(uint8_t *out, uint8_t type, bool versioned, const uint8_t *fixed, size_t flen,
                       uint16_t ncols, uint32_t nulls, const record_var *vars, uint16_t nvar) {
    uint8_t bitmap[4];
    for (unsigned i = 0; i < sizeof bitmap; i++) bitmap[i] = (uint8_t)(nulls >> (8 * i));
    return fixedvar_record_bitmap(out, type, versioned, fixed, flen, ncols, bitmap, vars, nvar);
}

size_t fixedvar_record_bitmap(uint8_t *out, uint8_t type, bool versioned, const uint8_t *fixed, size_t flen,
                              uint16_t ncols, const uint8_t *null_bitmap, const record_var *vars, uint16_t nvar) {
    size_t pos = 0;
    out[pos++] = (uint8_t)((type << 1) | 0x10 | (nvar ? 0x20 : 0) | (versioned ? 0x40 : 0));
    out[pos++] = 0;
    b2p_put_le16(out + pos, (uint16_t)(4 + flen));
    pos += 2;
    if (flen) memcpy(out + pos, fixed, flen);
    pos += flen;
    b2p_put_le16(out + pos, ncols);
    pos += 2;
    for (unsigned i = 0; i < (ncols + 7u) / 8; i++) out[pos++] = null_bitmap[i];
    if (nvar) {
        b2p_put_le16(out + pos, nvar);
        pos += 2;
        size_t end = pos + 2u * nvar;
        for (uint16_t k = 0; k < nvar; k++) {
            end += vars[k].len;
            b2p_put_le16(out + pos + 2u * k, (uint16_t)(end | (vars[k].complex ? 0x8000 : 0)));
        }
        pos += 2u * nvar;
        for (uint16_t k = 0; k < nvar; k++) {
            if (vars[k].len) memcpy(out + pos, vars[k].p, vars[k].len);
            pos += vars[k].len;
        }
    }
    if (versioned)
        for (int i = 0; i < 14; i++) out[pos++] = (uint8_t)(0xA0 + i);
    return pos;
}
