#include "tests/support/hex.h"

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t test_unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    int high = -1;
    for (; *hex; hex++) {
        if (*hex == ' ') continue;
        int v = hex_digit(*hex);
        if (v < 0) return SIZE_MAX;
        if (high < 0) {
            high = v;
            continue;
        }
        if (n >= cap) return SIZE_MAX;
        out[n++] = (uint8_t)(high << 4 | v);
        high = -1;
    }
    return high < 0 ? n : SIZE_MAX;
}
