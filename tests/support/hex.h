/* tests/support: byte strings written as hex in test tables. */
#ifndef B2P_TESTS_HEX_H
#define B2P_TESTS_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Hex text ("d8f0 0400": spaces ignored, either case) -> bytes in out. Returns the byte count,
 * or SIZE_MAX when the text has an odd number of digits, a character that is not a hex digit,
 * or more bytes than cap: a malformed table row must fail its test, not decode as garbage. */
size_t test_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
