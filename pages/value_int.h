/* pages/value_int.h: private declarations shared by pages/value*.c (not part of the API). */
#ifndef B2P_VALUE_INT_H
#define B2P_VALUE_INT_H

#include "pages/value.h"

b2p_status b2p_v_putc(b2p_buf *out, char c, b2p_error *err);
/* Text written in place: after b2p_buf_reserve(out, max), up to max bytes go to
 * out->data + out->len, and b2p_v_commit(out, n) makes the first n of them part of the
 * buffer. Saves a copy through a stack buffer for short pieces of known maximum size. */
static inline void b2p_v_commit(b2p_buf *out, size_t n) {
    out->len += n;
    out->data[out->len] = '\0';
}
b2p_status b2p_v_printf(b2p_buf *out, b2p_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes the decimal digits of v to dst, zero-padded on the left to at least width digits
 * (as printf's %0*llu; width is capped at B2P_V_UINT_MAX); returns the count. dst holds
 * B2P_V_UINT_MAX bytes. No terminator. */
enum { B2P_V_UINT_MAX = 20 };
size_t b2p_v_uint_text(uint64_t v, unsigned width, char *dst);
/* Appends v in decimal (what %lld prints). */
b2p_status b2p_v_int(b2p_buf *out, int64_t v, b2p_error *err);
/* "\x" + lowercase hex: bytea hex text, unescaped. */
b2p_status b2p_v_hex(b2p_buf *out, const uint8_t *p, size_t n, b2p_error *err);

/* value_float.c: shortest round-trip text, PostgreSQL 15 float8out/float4out style. */
b2p_status b2p_v_float8(b2p_buf *out, double v, b2p_error *err);
b2p_status b2p_v_float4(b2p_buf *out, float v, b2p_error *err);

/* value_datetime.c */
b2p_status b2p_v_date(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err);
b2p_status b2p_v_datetime(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err);
b2p_status b2p_v_smalldatetime(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err);
/* time(n) / datetime2(n) / datetimeoffset(n), xtype 41/42/43, scale n in 0..7. */
b2p_status b2p_v_time_family(b2p_buf *out, uint8_t xtype, unsigned scale, const uint8_t *p,
                             size_t len, b2p_error *err);

/* value_text.c: char types. len bytes in the collation's code page / UTF-16LE. pad_chars > 0
 * pads the result with blanks to that many characters (char(n), nchar(n)). */
b2p_status b2p_v_codepage_text(b2p_value_ctx *cx, uint32_t collation, const uint8_t *p,
                               size_t len, size_t pad_chars, b2p_buf *out, b2p_error *err);
b2p_status b2p_v_utf16_text(b2p_value_ctx *cx, const uint8_t *p, size_t len, size_t pad_chars,
                            b2p_buf *out, b2p_error *err);
/* Appends the UTF-8 form of code point cp (no checks beyond cp <= 0x10FFFF). */
b2p_status b2p_v_utf8(b2p_buf *out, uint32_t cp, b2p_error *err);
void b2p_v_conv_free(struct b2p_value_conv *conv);

/* value_hierarchyid.c, value_spatial.c, value_binxml.c */
b2p_status b2p_v_hierarchyid(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err);
b2p_status b2p_v_spatial(b2p_buf *out, bool geography, bool wkt, const uint8_t *p, size_t len,
                         b2p_error *err);
b2p_status b2p_v_binxml(b2p_value_ctx *cx, b2p_buf *out, const uint8_t *p, size_t len,
                        b2p_error *err);

#endif
