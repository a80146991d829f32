/* tests/support: hand-built data records for the row-reader tests and fuzz seeds. */
#ifndef B2P_TESTS_RECORDS_H
#define B2P_TESTS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One variable-length column: its bytes, and whether the offset carries the 0x8000 "complex"
 * bit (a LOB or row-overflow pointer, a sparse vector). */
typedef struct record_var {
    const uint8_t *p;
    size_t len;
    bool complex;
} record_var;

/* A FixedVar data record (pages.md 4.1) in out: status A (type bits | 0x10 | 0x20 when nvar |
 * 0x40 when versioned), B, fixEnd, the fixed data, column count, null bitmap (nulls: bit i =
 * column i+1), variable offsets and data, then a 14-byte versioning tag when versioned (bytes
 * A0..AD, never zeros, so a reader that takes the tag for data is caught). Returns the length. */
size_t fixedvar_record(uint8_t *out, uint8_t type, bool versioned, const uint8_t *fixed, size_t flen,
                       uint16_t ncols, uint32_t nulls, const record_var *vars, uint16_t nvar);

/* The same for any number of columns: the null bitmap is given as its (ncols + 7) / 8 bytes. */
size_t fixedvar_record_bitmap(uint8_t *out, uint8_t type, bool versioned, const uint8_t *fixed, size_t flen,
                              uint16_t ncols, const uint8_t *null_bitmap, const record_var *vars, uint16_t nvar);

#endif
