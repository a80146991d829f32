/* pages/ private: reassembling off-row values (pages.md 4.6-4.7), shared by the row reader
 * (rows.c) and b2p_lob_value (lob.c) so that both follow, and check, links the same way. */
#ifndef B2P_PAGES_LOB_INT_H
#define B2P_PAGES_LOB_INT_H

#include "pages/pages.h"

enum { LOB_TEXT_POINTER_SIZE = 16 }; /* text/ntext/image in-row pointer: timestamp + RID */

/* A growing byte buffer; values are appended to it. */
typedef struct lob_buffer {
    uint8_t *p;
    size_t len, cap;
} lob_buffer;

/* Makes room for n more bytes. */
b2p_status lob_buffer_reserve(lob_buffer *b, size_t n, b2p_error *err);
b2p_status lob_buffer_append(lob_buffer *b, const uint8_t *p, size_t n, b2p_error *err);

typedef struct lob_rid {
    uint32_t page;
    uint16_t file, slot;
} lob_rid;

/* What one reader of off-row values keeps between values: the page it read last (LOB
 * fragments of neighbouring values share pages) and, while a value is assembled, its limits. */
typedef struct lob_walker {
    b2p_pages *src;
    b2p_error *err;
    lob_buffer *out;             /* values are appended here */
    const b2p_row_where *row;    /* the row holding the pointer, named in messages (NULL: none) */
    uint8_t page[B2P_PAGE_SIZE];
    lob_rid cached;              /* the page in `page` (file 0: none) */
    uint64_t fragments;          /* of the value being assembled */
    size_t start, limit;         /* where the value began in out, and the length the links being
                                  * followed announce (SIZE_MAX: unknown) */
} lob_walker;

/* Appends to w->out the value behind an off-row pointer: a row-overflow pointer (0x02) or in-row
 * LOB root (0x04), whose cumulative sizes are checked link by link, or a 16-byte text pointer.
 * Missing pages are B2P_ERR_NOT_FOUND, damage B2P_ERR_CORRUPT, unknown kinds UNSUPPORTED; the
 * message names the row (when known), the page and the slot. */
b2p_status lob_append_value(lob_walker *w, const uint8_t *ptr, size_t len);

#endif
