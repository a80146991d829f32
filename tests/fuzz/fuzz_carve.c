/* libFuzzer target for carving (pages/carve.c): the input is one data page (padded with zeros
 * or cut to 8 KB) whose header is forced to a data page of the layout's pminlen, so every byte
 * of the record area and slot array is the fuzzer's. Carved under a two-column layout (int at 4,
 * one varchar), with and without live rows.
 * Properties (a violation aborts): every carved record starts after the header and ends before
 * the slot array; the stats count exactly the records delivered; carving twice gives the same.
 * Build and run: sh .ci/fuzz [seconds]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages/pages.h"

static const b2p_column_layout cols[2] = {
    {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4},
    {.leaf_offset = -1, .null_bit = 2, .xtype = 167},
};

static void require(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz_carve: property violated: %s\n", what);
        abort();
    }
}

typedef struct seen { size_t n, limit; uint64_t sum; } seen;

static int check(void *ctx, const b2p_carved *c) {
    seen *s = ctx;
    require(c->offset >= B2P_PAGE_HEADER_SIZE, "record inside the header");
    require((size_t)c->offset + c->rec->length <= s->limit, "record runs into the slot array");
    require(c->kind < B2P_CARVE_NKINDS, "kind");
    s->n++;
    s->sum = s->sum * 31 + c->offset + c->kind;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t page[B2P_PAGE_SIZE];
    memset(page, 0, sizeof page);
    memcpy(page, data, size < sizeof page ? size : sizeof page);
    page[0] = 1;
    page[1] = B2P_PAGE_DATA;
    page[3] = 0;
    b2p_put_le16(page + 14, 8);
    b2p_page_header h;
    b2p_error err;
    if (b2p_page_header_parse(page, 0, 0, &h, &err)) return 0;
    for (int live = 0; live < 2; live++) {
        seen a = {.limit = B2P_PAGE_SIZE - 2u * h.slot_count}, b = a;
        b2p_carve_stats st;
        require(b2p_carve_page(page, &h, cols, 2, live, check, &a, &st) == 0, "status");
        uint64_t total = 0;
        for (int k = 0; k < B2P_CARVE_NKINDS; k++) total += st.by_kind[k];
        require(total == a.n, "stats count the records delivered");
        require(b2p_carve_page(page, &h, cols, 2, live, check, &b, NULL) == 0, "status");
        require(a.n == b.n && a.sum == b.sum, "carving is deterministic");
    }
    return 0;
}
