/* Scale benchmark of the page source on generated backups (the real fixtures are at most 4 MB).
 *
 *   scale_bench gen FILE MB [--compress] [--block 512|4096]   writes a backup of MB MiB of pages
 *   scale_bench read FILE                                    opens it, scans, delivers every page
 *
 * `read` prints one line of key=value figures: the scan (open + verify + index every page) and
 * the delivery (b2p_pages_foreach, random access by page id) in MB/s of page data, and the
 * process's peak RSS. Run `read` in its own process so that the peak is the reader's alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mtf/mtf.h"
#include "tests/support/mtf_writer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A data page that compresses like real row data: short repeating records with varying keys. */
static void make_page(uint8_t *p, uint32_t page) {
    memset(p, 0, B2P_PAGE_SIZE);
    p[0] = 1;
    p[1] = 1;
    b2p_put_le16(p + 4, 0x200);
    b2p_put_le32(p + 32, page);
    b2p_put_le16(p + 36, 1);
    uint16_t nslots = 0;
    for (size_t off = 96; off + 60 + 64 + 2 * ((size_t)nslots + 1) < B2P_PAGE_SIZE; off += 60) {
        uint32_t key = page * 131 + nslots;
        p[off] = 0x30;
        b2p_put_le16(p + off + 2, 40);
        b2p_put_le32(p + off + 4, key);
        snprintf((char *)p + off + 8, 40, "customer %08u city %05u", key, key % 977);
        b2p_put_le16(p + B2P_PAGE_SIZE - 2 * (nslots + 1), (uint16_t)off);
        nslots++;
    }
    b2p_put_le16(p + 22, nslots);
    b2p_put_le32(p + 60, b2p_page_checksum(p));
}

static int gen(const char *path, uint64_t mb, bool compress, uint32_t block) {
    static const mtfw_file files[] = {
        {"scale", "C:\\data\\scale.mdf", 1, 'D', 0},
        {"scale_log", "C:\\data\\scale_log.ldf", 2, 'L', 1 << 20},
    };
    uint64_t units = mb * 1024 * 1024 / B2P_PAGE_SIZE / 8 * 8;
    mtfw_options o = {
        .block_size = block, .compress = compress, .with_checksum = true, .type_letter = 'D',
        .database_name = "scale", .server_name = "BENCH", .version_major = 15, .version_build = 2000,
        .database_version = 904, .total_units = units, .files = files, .nfiles = 2,
    };
    memset(o.backup_set_guid, 0x5A, 16);
    memset(o.media_set_guid, 0xA5, 16);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    mtfw *w = mtfw_open(f, &o);
    static uint8_t extent[8 * B2P_PAGE_SIZE];
    double t0 = now();
    bool ok = w != NULL;
    for (uint64_t u = 0; ok && u < units; u += 8) {
        for (int s = 0; s < 8; s++) make_page(extent + s * B2P_PAGE_SIZE, (uint32_t)(u + (uint64_t)s));
        ok = mtfw_add_units(w, extent, 8);
    }
    ok = w && mtfw_close(w) && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "scale_bench: writing '%s' failed\n", path);
        return 1;
    }
    printf("generated=%s page_mb=%llu compressed=%d seconds=%.2f\n", path,
           (unsigned long long)(units * B2P_PAGE_SIZE >> 20), compress, now() - t0);
    return 0;
}

static int count_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    (void)file_id;
    (void)page_id;
    *(uint64_t *)ctx += page[0];
    return 0;
}

static int read_backup(const char *path) {
    b2p_error err = {0};
    b2p_backup *bk;
    double t0 = now();
    if (b2p_backup_open(&bk, &path, 1, NULL, &err)) {
        fprintf(stderr, "scale_bench: %s\n", err.msg);
        return 1;
    }
    b2p_pages *src;
    if (b2p_pages_open(&src, bk, NULL, &err)) {
        fprintf(stderr, "scale_bench: %s\n", err.msg);
        return 1;
    }
    double t1 = now();
    uint64_t seen = 0;
    if (b2p_pages_foreach(src, count_page, &seen, &err) != 0) {
        fprintf(stderr, "scale_bench: %s\n", err.msg);
        return 1;
    }
    double t2 = now();
    const b2p_page_stats *st = b2p_pages_stats(src);
    double mb = (double)st->data_bytes / (1 << 20);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("file=%s page_mb=%.0f pages=%llu bad=%llu scan_mbps=%.0f delivery_mbps=%.0f peak_rss_mb=%.1f\n", path,
           mb, (unsigned long long)seen, (unsigned long long)(st->checksum_bad + st->csum_bad), mb / (t1 - t0),
           (double)seen * B2P_PAGE_SIZE / (1 << 20) / (t2 - t1), ru.ru_maxrss / 1024.0);
    b2p_pages_free(src);
    b2p_backup_free(bk);
    return seen == st->distinct_pages ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "gen")) {
        bool compress = false;
        uint32_t block = 512;
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "--compress")) compress = true;
            else if (!strcmp(argv[i], "--block") && i + 1 < argc) block = (uint32_t)atoi(argv[++i]);
        }
        return gen(argv[2], strtoull(argv[3], NULL, 10), compress, block);
    }
    if (argc == 3 && !strcmp(argv[1], "read")) return read_backup(argv[2]);
    fprintf(stderr, "usage: scale_bench gen FILE MB [--compress] [--block 512|4096]\n"
                    "       scale_bench read FILE\n");
    return 2;
}
