/* Throughput of the MS-XCA LZ77+Huffman decoder (mtf/xpress.c) and of the test encoder.
 *
 *   xpress_bench [compressed.bak ...]
 *
 * 1. For each MSSQLBAK file (default: the Northwind fixture under $B2P_FIXTURES, or
 *    ../shared/fixtures), collects its records and decodes all of them repeatedly for about two
 *    seconds of CPU time; prints MB/s of output, on average and for the fastest pass.
 * 2. Generates 64 MB of mixed text (words, numbers, runs, a little binary noise), encodes it with
 *    tests/support/xpress_encode.c, decodes it, checks the round trip, and prints both speeds.
 *
 * Build: cc -std=c11 -O2 -I. -D_DEFAULT_SOURCE mtf/base.c mtf/xpress.c \
 *        tests/support/xpress_encode.c bench/xpress_bench.c -o xpress_bench
 *
 * Record walk: the first record header is at 0x1E0; a record is byte 0x21, the output size in
 * 512-byte units at +1, the payload size (u16) at +2 and the payload at +28. Where no record
 * starts, the next 512-byte boundary holds either an "SFMB" block (skipped by its u16 size at +8)
 * or, further on, the next record. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtf/xpress.h"
#include "tests/support/xpress_encode.h"

enum { REC_HEADER = 28, REC_MAGIC = 0x21, SECTOR = 512, MAX_RECORDS = 1 << 16 };

typedef struct record {
    const uint8_t *payload;
    size_t in_len, out_len;
} record;

/* CPU time of this process: other work on a shared machine disturbs it far less than wall time. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                *len = (size_t)n;
            }
        }
    }
    fclose(f);
    return buf;
}

static int is_record(const uint8_t *d, size_t len, size_t pos) {
    return pos <= len && len - pos >= REC_HEADER + 256 && d[pos] == REC_MAGIC &&
           b2p_xpress_table_is_complete(d + pos + REC_HEADER);
}

/* Next record position after a non-record pos, or len when there is none. */
static size_t skip_gap(const uint8_t *d, size_t len, size_t pos) {
    size_t p = (pos + SECTOR - 1) / SECTOR * SECTOR;
    while (p < len && !is_record(d, len, p)) {
        if (len - p >= 12 && memcmp(d + p, "SFMB", 4) == 0 && b2p_le16(d + p + 8) >= SECTOR) {
            p += b2p_le16(d + p + 8);
        } else {
            p += SECTOR;
        }
    }
    return p;
}

static size_t collect(const uint8_t *d, size_t len, record *recs) {
    size_t n = 0, pos = 0x1E0;
    while (pos < len && n < MAX_RECORDS) {
        if (!is_record(d, len, pos)) {
            pos = skip_gap(d, len, pos);
            continue;
        }
        size_t in_len = b2p_le16(d + pos + 2);
        if (len - pos - REC_HEADER < in_len) break;
        recs[n++] = (record){d + pos + REC_HEADER, in_len, (size_t)d[pos + 1] * SECTOR};
        pos += REC_HEADER + in_len;
    }
    return n;
}

static int bench_fixture(const char *path) {
    size_t len = 0;
    uint8_t *d = read_file(path, &len);
    if (!d) {
        fprintf(stderr, "xpress_bench: cannot read %s\n", path);
        return 1;
    }
    record *recs = malloc(sizeof *recs * MAX_RECORDS);
    uint8_t *out = malloc(255 * SECTOR);
    size_t n = recs ? collect(d, len, recs) : 0, total = 0, comp = 0;
    for (size_t i = 0; i < n; i++) total += recs[i].out_len, comp += recs[i].in_len;
    int rc = 0;
    b2p_error err = {0};
    size_t passes = 0;
    double t0 = now(), t = 0, best = 1e9;
    while (rc == 0 && n && (t = now() - t0) < 2.0) {
        double tp = now();
        for (size_t i = 0; i < n; i++) {
            if (b2p_xpress_decode(recs[i].payload, recs[i].in_len, out, recs[i].out_len, &err) != B2P_OK) {
                fprintf(stderr, "xpress_bench: %s: record %zu: %s\n", path, i, err.msg);
                rc = 1;
                break;
            }
        }
        passes++;
        tp = now() - tp;
        if (tp < best) best = tp;
    }
    if (rc == 0 && n)
        printf("%s: %zu records, %zu -> %zu bytes; decode %.0f MB/s of output "
               "(best pass %.0f MB/s, %zu passes)\n",
               path, n, comp, total, (double)total * passes / t / 1e6, total / best / 1e6, passes);
    free(out);
    free(recs);
    free(d);
    return rc;
}

/* Deterministic mixed text: words with punctuation, numbers, short runs, and 1% random bytes. */
static void make_text(uint8_t *buf, size_t len) {
    static const char *const words[] = {"select", "from", "where", "the", "customer", "order", "northwind",
                                        "product", "quantity", "price", "and", "or", "not", "shipped",
                                        "London", "Seattle", "employee", "supplier", "category", "of"};
    uint64_t s = 0x9E3779B97F4A7C15u;
    size_t i = 0;
    while (i < len) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        unsigned r = (unsigned)(s >> 32) % 100;
        char tmp[32];
        int n;
        if (r < 80) {
            n = snprintf(tmp, sizeof tmp, "%s%c", words[(s >> 8) % 20], " ,.\n"[(s >> 20) & 3]);
        } else if (r < 94) {
            n = snprintf(tmp, sizeof tmp, "%u ", (unsigned)(s >> 40) % 100000);
        } else if (r < 99) {
            n = 8 + (int)((s >> 24) % 24);
            memset(tmp, (s >> 16) & 1 ? ' ' : 0, (size_t)n);
        } else {
            n = 8;
            memcpy(tmp, &s, 8);
        }
        for (int k = 0; k < n && i < len; k++) buf[i++] = (uint8_t)tmp[k];
    }
}

static int bench_synthetic(void) {
    const size_t len = (size_t)64 << 20;
    size_t cap = b2p_xpress_encode_bound(len);
    uint8_t *in = malloc(len), *out = malloc(len), *comp = malloc(cap);
    if (!in || !out || !comp) return 1;
    make_text(in, len);
    double t0 = now();
    size_t clen = b2p_xpress_encode(in, len, comp, cap);
    double te = now() - t0;
    b2p_error err = {0};
    int reps = 0, rc = 0;
    t0 = now();
    double td, best = 1e9;
    do {
        double tp = now();
        b2p_status st = b2p_xpress_decode(comp, clen, out, len, &err);
        tp = now() - tp;
        if (tp < best) best = tp;
        if (st != B2P_OK) {
            fprintf(stderr, "xpress_bench: synthetic: %s\n", err.msg);
            rc = 1;
            break;
        }
        reps++;
    } while ((td = now() - t0) < 2.0);
    if (rc == 0 && memcmp(in, out, len) != 0) {
        fprintf(stderr, "xpress_bench: synthetic round trip differs\n");
        rc = 1;
    }
    if (rc == 0)
        printf("synthetic text: %zu -> %zu bytes; encode %.1f MB/s, decode %.0f MB/s of output "
               "(best pass %.0f MB/s)\n",
               len, clen, len / te / 1e6, (double)len * reps / td / 1e6, len / best / 1e6);
    free(in);
    free(out);
    free(comp);
    return rc;
}

int main(int argc, char **argv) {
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) rc |= bench_fixture(argv[i]);
    } else {
        const char *dir = getenv("B2P_FIXTURES");
        char path[4096];
        snprintf(path, sizeof path, "%s/northwind_2016sp2_COMPRESSED_guilderm.bak",
                 dir && *dir ? dir : "../shared/fixtures");
        rc |= bench_fixture(path);
    }
    rc |= bench_synthetic();
    return rc;
}
