/* MS-XCA "LZ77+Huffman" (Xpress Huffman) decoder, written from [MS-XCA] section 2.1-2.2.
 * Internal to mtf/: the MSSQLBAK container (mtf/mssqlbak.c) hands each record's payload here.
 *
 * A stream is a series of blocks; each block starts with a 256-byte table of 512 4-bit code
 * lengths and produces up to 65536 bytes. The caller always knows the exact output size
 * (SQL Server records carry it), so decoding stops on output count, never on the EOF symbol. */
#ifndef B2P_XPRESS_H
#define B2P_XPRESS_H

#include "base/base.h"

/* True when the 256 bytes at table describe a complete prefix code (Kraft sum exactly 1):
 * the signature used to recognise the start of a compressed record. */
int b2p_xpress_table_is_complete(const uint8_t table[256]);

/* Decodes in[0..in_len) into exactly out_len bytes of out.
 * Never reads outside in[0..in_len) and never writes outside out[0..out_len).
 * Returns B2P_OK, or B2P_ERR_CORRUPT with err->msg naming the input offset and what was wrong
 * (incomplete table, distance beyond output, input exhausted before out_len bytes, ...). */
b2p_status b2p_xpress_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                             b2p_error *err);

#endif
