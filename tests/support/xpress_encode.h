/* A simple MS-XCA LZ77+Huffman encoder ([MS-XCA] section 2.1), for tests and generated backups.
 *
 * Greedy hash-chain LZ77 (distances 1..65535, lengths from 3), one length-limited canonical Huffman
 * code per block of 65536 input bytes, the spec's bit packing, and an EOF symbol (256) at the end.
 * A match found before a block's end may run past it (the decoder ends a block only between
 * symbols, and Windows does the same); the next block then starts where the match ended. Lengths
 * over 65538 use the 0 -> u32 escape. Output is a pure function of the input: same bytes in, same
 * bytes out, on every platform. */
#ifndef B2P_XPRESS_ENCODE_H
#define B2P_XPRESS_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* An out_cap that b2p_xpress_encode() never exceeds for in_len bytes of input. */
size_t b2p_xpress_encode_bound(size_t in_len);

/* Compresses in[0..in_len) into out; returns the compressed size, or 0 when out_cap is too small
 * (or memory for the match finder could not be allocated). A non-empty result is always at least
 * 260 bytes: the first block's table and its two bit-stream words. */
size_t b2p_xpress_encode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

#endif
