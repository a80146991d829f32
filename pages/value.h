/* pages/value.h: one stored column value -> its canonical PostgreSQL text.
 *
 * This is a self-contained section meant to be merged into pages/pages.h by the lead; it
 * depends on base/base.h only.
 *
 * What it offers:
 *   (Every function here writes into a b2p_buf, base/base.h.)
 *   - b2p_value_text(): decode the bytes of one column value (uncompressed FixedVar storage,
 *     LOBs already assembled by the caller) into the text PostgreSQL 15 prints for it with
 *     COPY TO (text format), UNESCAPED. The contract is
 *     ../shared/fixtures/truth/northwind/expected/README.md, "Canonical value rendering".
 *   - b2p_copy_escape(): append a text with COPY text-format escaping.
 *   - b2p_collation_codepage(): the Windows code page of a stored collation id.
 *
 * NULL is the caller's business (it writes \N); the bytes given are always a present value.
 * Format notes: ../shared/docs/pages.md section 6 and 6.1.
 *
 * What each type becomes (PostgreSQL 15 COPY text, before escaping):
 *   tinyint/smallint/int/bigint  decimal integer          bit (one byte 0/1)  t / f
 *   decimal/numeric(p,s)         exactly s decimals       money/smallmoney    exactly 4 decimals
 *   real / float                 shortest round-trip text as float4out/float8out print it
 *   date                         YYYY-MM-DD               time(n)             HH:MM:SS[.ffffff]
 *   datetime, smalldatetime, datetime2(n)                 YYYY-MM-DD HH:MM:SS[.ffffff]
 *   datetimeoffset(n)            UTC, "+00" suffix        (7 fraction digits round as PostgreSQL does)
 *   char/varchar/text            UTF-8 from the collation's code page; char(n) padded to n characters
 *   nchar/nvarchar/ntext         UTF-8 from UTF-16LE; nchar(n) padded to n characters
 *   binary/varbinary/image/timestamp, user CLR types      \x + lowercase hex (bytea)
 *   uniqueidentifier             lowercase uuid           sql_variant         as its base type
 *   hierarchyid                  path "/1/-2.18/"         geometry/geography  ISO WKB (bytea) or EWKT
 *   xml                          XML text (SQL Server's serialization style)
 * Private helpers shared by pages/value*.c are declared in pages/value_int.h. */
#ifndef B2P_VALUE_H
#define B2P_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"

/* ---- type descriptor ---------------------------------------------------------------- */

/* System type ids (sys.types.system_type_id, syscolpars.xtype). */
enum {
    B2P_XT_IMAGE = 34, B2P_XT_TEXT = 35, B2P_XT_UNIQUEIDENTIFIER = 36, B2P_XT_DATE = 40,
    B2P_XT_TIME = 41, B2P_XT_DATETIME2 = 42, B2P_XT_DATETIMEOFFSET = 43, B2P_XT_TINYINT = 48,
    B2P_XT_SMALLINT = 52, B2P_XT_INT = 56, B2P_XT_SMALLDATETIME = 58, B2P_XT_REAL = 59,
    B2P_XT_MONEY = 60, B2P_XT_DATETIME = 61, B2P_XT_FLOAT = 62, B2P_XT_SQL_VARIANT = 98,
    B2P_XT_NTEXT = 99, B2P_XT_BIT = 104, B2P_XT_DECIMAL = 106, B2P_XT_NUMERIC = 108,
    B2P_XT_SMALLMONEY = 122, B2P_XT_BIGINT = 127, B2P_XT_VARBINARY = 165, B2P_XT_VARCHAR = 167,
    B2P_XT_BINARY = 173, B2P_XT_CHAR = 175, B2P_XT_TIMESTAMP = 189, B2P_XT_NVARCHAR = 231,
    B2P_XT_NCHAR = 239, B2P_XT_CLR = 240, B2P_XT_XML = 241
};
/* User type ids (sys.types.user_type_id) that tell the built-in CLR types (xtype 240) apart.
 * Any other user type id on xtype 240 is a user CLR type: rendered as bytea. */
enum { B2P_UT_HIERARCHYID = 128, B2P_UT_GEOMETRY = 129, B2P_UT_GEOGRAPHY = 130 };

typedef struct b2p_type {
    uint8_t xtype;       /* system type id, see B2P_XT_* */
    uint16_t utype;      /* user type id; only consulted for xtype 240 */
    int16_t max_length;  /* bytes as in syscolpars/sys.columns (nchar(10) = 20), -1 for (max);
                            only used to pad char(n)/nchar(n) */
    uint8_t precision;
    uint8_t scale;       /* decimal scale; fractional digits for time/datetime2/datetimeoffset */
    uint32_t collation;  /* stored collation id for char types; 0 = database default */
} b2p_type;

/* ---- decoding context ---------------------------------------------------------------- */

/* Options (b2p_value_ctx.options). */
enum {
    B2P_VALUE_SPATIAL_WKT = 1u << 0  /* geometry/geography as WKT text instead of WKB bytea */
};
/* Per-call findings (b2p_value_ctx.flags, reset by every b2p_value_text call). The value is
 * still returned (B2P_OK); the caller applies its documented policy. */
enum {
    B2P_VALUE_HAS_NUL = 1u << 0,   /* the text holds U+0000 (written as a 0x00 byte): PostgreSQL
                                      text cannot store it */
    B2P_VALUE_REPLACED = 1u << 1   /* a byte undefined in the column's code page became '?' (what
                                      SQL Server itself shows for it) */
};

struct b2p_value_conv; /* private: cached iconv descriptors */

/* One per thread (it caches iconv descriptors, which are not thread-safe). */
typedef struct b2p_value_ctx {
    uint32_t default_collation;  /* database default (boot page); used when a collation is 0 */
    unsigned options;            /* B2P_VALUE_* options */
    unsigned flags;              /* out: B2P_VALUE_HAS_NUL | B2P_VALUE_REPLACED of the last call */
    struct b2p_value_conv *conv; /* private */
} b2p_value_ctx;

void b2p_value_ctx_init(b2p_value_ctx *cx, uint32_t default_collation);
void b2p_value_ctx_free(b2p_value_ctx *cx);

/* Appends the canonical text of one value (unescaped) to out. bytes/len is the complete stored
 * value; a bit column is passed as one byte 0 or 1. On failure nothing is appended and err says
 * why in one line (without table/column/row: the caller prefixes those):
 *   B2P_ERR_CORRUPT      length impossible for the type, value out of the type's range, NaN or
 *                        infinity, odd-length or unpaired-surrogate UTF-16, bad structure;
 *   B2P_ERR_UNSUPPORTED  a type or an encoding this reader does not decode (yet);
 *   B2P_ERR_NOMEM. */
b2p_status b2p_value_text(b2p_value_ctx *cx, const b2p_type *t, const uint8_t *bytes, size_t len,
                          b2p_buf *out, b2p_error *err);

/* Appends s[0..n) with COPY text-format escaping: backslash, newline, carriage return, tab,
 * backspace, form feed and vertical tab become \\ \n \r \t \b \f \v. */
b2p_status b2p_copy_escape(b2p_buf *out, const char *s, size_t n, b2p_error *err);

/* Windows code page of a stored collation id: 65001 for UTF-8 collations, 0 if unknown. */
unsigned b2p_collation_codepage(uint32_t collation);

#endif
