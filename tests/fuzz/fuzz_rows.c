/* libFuzzer target for the row reader: a whole-table decode (pages/rows.c, sparse.c, record.c,
 * scan.c, cdrecord.c, then every value through pages/value.c).
 *
 * A template table is built in memory in SQL Server's layouts: two chained data pages with
 * FixedVar rows (fixed, bit, char, varchar, nvarchar, a varbinary(max) in-row LOB root with two
 * links, a text pointer to a LARGE_ROOT_YUKON, a text pointer to a SMALL_ROOT, a row-overflow
 * pointer, an INTERNAL node, a sparse vector, a ghost, a versioned row, a forwarding stub and its
 * forwarded record) and LOB pages of type 3. The input patches it: every 4 bytes are
 * [page index u8][offset u16 LE][value u8], setting one byte of one page (so any byte of any page
 * is 4 input bytes away; the empty input is the valid template, the seed). size % 4 chooses the
 * rowset's compression level (0 none, 1 ROW, 2 PAGE), so the CD record path is reached too. The
 * pages are written with tests/support/mtf_writer into a memfd, opened like a file, and the
 * table is scanned with b2p_rows_scan (page 100 on, or the CD page 102 when compressed); every
 * cell goes through b2p_value_text.
 * Properties (a violation aborts): a failure is a status in 1..16 equal to err.code with a
 * non-empty message; a cell is NULL or has bytes; the template itself decodes.
 *
 * Build and run: sh .ci/fuzz [seconds], or by hand from the repository root:
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
 *     -D_DEFAULT_SOURCE mtf/[a-z]*.c pages/[a-z]*.c tests/support/mtf_writer.c \
 *     tests/fuzz/fuzz_rows.c $(pkg-config --cflags --libs libzstd libxml-2.0) -lm -o /tmp/fuzz_rows
 *   /tmp/fuzz_rows CORPUS_DIR */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mtf/mtf.h"
#include "pages/pages.h"
#include "pages/value.h"
#include "tests/support/mtf_writer.h"
#include "tests/support/records.h"

enum { OBJ = 0x42, IXID = 0x0100, NPAGES = 11, FIRST = 100, FIRST_CD = 102, COLLATION = 872468488 /* Latin1 CI_AS */ };
#define AUID (((uint64_t)IXID << 48) | ((uint64_t)OBJ << 16))

static void require(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz_rows: property violated: %s\n", what);
        abort();
    }
}

/* ---- the template ------------------------------------------------------------------------- */

static uint8_t tmpl[NPAGES][B2P_PAGE_SIZE];
static uint16_t nslots[NPAGES], freep[NPAGES];
static const uint32_t page_ids[NPAGES] = {100, 101, 110, 111, 112, 113, 114, 115, 116, 117, 102};

static int page_new(int k, uint8_t type, uint32_t next) {
    uint8_t *p = tmpl[k];
    memset(p, 0, B2P_PAGE_SIZE);
    p[0] = 1;
    p[1] = type;
    b2p_put_le16(p + 6, IXID);
    b2p_put_le32(p + 16, next);
    b2p_put_le16(p + 20, next ? 1 : 0);
    b2p_put_le32(p + 24, OBJ);
    b2p_put_le32(p + 32, page_ids[k]);
    b2p_put_le16(p + 36, 1);
    freep[k] = B2P_PAGE_HEADER_SIZE;
    nslots[k] = 0;
    return k;
}

static void page_add(int k, const uint8_t *rec, size_t len) {
    uint8_t *p = tmpl[k];
    memcpy(p + freep[k], rec, len);
    b2p_put_le16(p + B2P_PAGE_SIZE - 2u * (nslots[k] + 1u), freep[k]);
    freep[k] = (uint16_t)(freep[k] + len);
    b2p_put_le16(p + 22, ++nslots[k]);
    b2p_put_le16(p + 30, freep[k]);
}


static void lob(int k, uint16_t kind, const uint8_t *body, size_t blen) {
    uint8_t r[B2P_PAGE_SIZE];
    r[0] = 0x08;
    r[1] = 0;
    b2p_put_le16(r + 2, (uint16_t)(14 + blen));
    memset(r + 4, 0, 8);
    b2p_put_le16(r + 12, kind);
    memcpy(r + 14, body, blen);
    b2p_put_le16(r + 14 + blen, 1);
    page_new(k, B2P_PAGE_TEXT_MIX, 0);
    page_add(k, r, 16 + blen);
}

static void put_rid(uint8_t *p, uint32_t page) {
    b2p_put_le32(p, page);
    b2p_put_le16(p + 4, 1);
    b2p_put_le16(p + 6, 0);
}

/* Columns: id int @4, flag bit @8.0, code char(3) @9, name varchar var 0, note nvarchar var 1,
 * doc varbinary(max) var 2, txt text var 3, pic image var 4, s sparse int (column 9). */
static const b2p_column_layout cols[] = {
    {.leaf_offset = 4, .null_bit = 1, .xtype = 56, .fixed_len = 4, .ti_len = 4},
    {.leaf_offset = 8, .null_bit = 2, .xtype = 104, .is_bit = true, .ti_len = 1},
    {.leaf_offset = 9, .null_bit = 3, .xtype = 175, .fixed_len = 3, .ti_len = 3},
    {.leaf_offset = -1, .null_bit = 4, .xtype = 167, .ti_len = 50},
    {.leaf_offset = -2, .null_bit = 5, .xtype = 231, .ti_len = 100},
    {.leaf_offset = -3, .null_bit = 6, .xtype = 165, .ti_len = 0},
    {.leaf_offset = -4, .null_bit = 7, .xtype = 35, .ti_len = 16},
    {.leaf_offset = -5, .null_bit = 8, .xtype = 34, .ti_len = 16},
    {.xtype = 56, .fixed_len = 4, .ti_len = 4, .is_sparse = true, .column_id = 9},
};
#define NCOLS (sizeof cols / sizeof cols[0])

static const b2p_type types[NCOLS] = {
    {.xtype = 56, .max_length = 4},  {.xtype = 104, .max_length = 1},
    {.xtype = 175, .max_length = 3, .collation = COLLATION},
    {.xtype = 167, .max_length = 50, .collation = COLLATION},
    {.xtype = 231, .max_length = 100, .collation = COLLATION},
    {.xtype = 165, .max_length = -1}, {.xtype = 35, .max_length = 16, .collation = COLLATION},
    {.xtype = 34, .max_length = 16}, {.xtype = 56, .max_length = 4},
};

static void build_template(void) {
    uint8_t r[2048], fixed[8], root[64], tp[16], tp2[16], ovf[24], vec[32], body[256];
    /* LOB pages: 110, 111 DATA of the in-row root; 112 LARGE_ROOT_YUKON -> 113 DATA;
     * 114 DATA of the row-overflow pointer; 115 SMALL_ROOT; 116 INTERNAL -> 117 DATA */
    memset(body, 0, sizeof body);
    for (int i = 0; i < 10; i++) body[i] = (uint8_t)('A' + i);
    lob(2, 3, body, 10);
    lob(3, 3, body, 7);
    lob(5, 3, body, 9);
    lob(6, 3, body, 30);
    uint8_t lr[22] = {0};
    b2p_put_le16(lr, 1);
    b2p_put_le16(lr + 2, 1);
    b2p_put_le32(lr + 10, 9);
    put_rid(lr + 14, 113);
    lob(4, 5, lr, sizeof lr);
    uint8_t sr[6 + 5] = {5, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    lob(7, 0, sr, sizeof sr);
    uint8_t in[22] = {0};
    b2p_put_le16(in, 1);
    b2p_put_le16(in + 2, 1);
    b2p_put_le32(in + 6, 6);
    put_rid(in + 14, 117);
    lob(8, 2, in, sizeof in);
    uint8_t six[6] = {1, 2, 3, 4, 5, 6};
    lob(9, 3, six, 6);

    page_new(0, B2P_PAGE_DATA, 101);
    page_new(1, B2P_PAGE_DATA, 0);
    /* row 1: everything in row, doc an in-row root with 2 links, txt -> LARGE_ROOT, pic -> SMALL_ROOT */
    memset(root, 0, sizeof root);
    root[0] = 4;
    b2p_put_le32(root + 12, 10);
    put_rid(root + 16, 110);
    b2p_put_le32(root + 24, 17);
    put_rid(root + 28, 111);
    memset(tp, 0, 16);
    put_rid(tp + 8, 112);
    memset(tp2, 0, 16);
    put_rid(tp2 + 8, 115);
    b2p_put_le32(fixed, 1);
    fixed[4] = 1;
    memcpy(fixed + 5, "abc", 3);
    record_var v1[5] = {{(const uint8_t *)"name", 4, 0}, {(const uint8_t *)"n\0o\0", 4, 0}, {root, 36, 1},
                 {tp, 16, 0}, {tp2, 16, 0}};
    page_add(0, r, fixedvar_record(r, 0, 0, fixed, 8, 8, 0, v1, 5));
    /* row 2: doc a row-overflow pointer; txt NULL; a sparse vector with column 9 = 77 */
    memset(ovf, 0, sizeof ovf);
    ovf[0] = 2;
    b2p_put_le32(ovf + 12, 30);
    put_rid(ovf + 16, 114);
    b2p_put_le16(vec, 5);
    b2p_put_le16(vec + 2, 1);
    b2p_put_le16(vec + 4, 9);
    b2p_put_le16(vec + 6, 12);
    b2p_put_le32(vec + 8, 77);
    b2p_put_le32(fixed, 2);
    fixed[4] = 0;
    record_var v2[6] = {{(const uint8_t *)"x", 1, 0}, {NULL, 0, 0}, {ovf, 24, 1}, {NULL, 0, 0}, {NULL, 0, 0},
                 {vec, 12, 1}};
    page_add(0, r, fixedvar_record(r, 0, 0, fixed, 8, 8, 0xC0, v2, 6));
    /* row 3: a ghost */
    page_add(0, r, fixedvar_record(r, 6, 0, fixed, 8, 8, 0xF8, NULL, 0));
    /* row 4: doc an in-row root -> INTERNAL -> DATA (6 bytes) */
    memset(root, 0, sizeof root);
    root[0] = 4;
    b2p_put_le32(root + 12, 6);
    put_rid(root + 16, 116);
    b2p_put_le32(fixed, 4);
    record_var v4[3] = {{(const uint8_t *)"", 0, 0}, {NULL, 0, 0}, {root, 24, 1}};
    page_add(0, r, fixedvar_record(r, 0, 0, fixed, 8, 8, 0xC0, v4, 3));
    /* row 5: a forwarding stub to 101 slot 1 */
    uint8_t stub[9] = {0x04};
    b2p_put_le32(stub + 1, 101);
    b2p_put_le16(stub + 5, 1);
    b2p_put_le16(stub + 7, 1);
    page_add(0, stub, sizeof stub);
    /* page 101: a versioned row with few columns, the forwarded record with its back pointer */
    b2p_put_le32(fixed, 6);
    record_var v6[1] = {{(const uint8_t *)"versioned", 9, 0}};
    page_add(1, r, fixedvar_record(r, 0, 1, fixed, 8, 4, 0, v6, 1));
    uint8_t back[10] = {0x00, 0x04};
    b2p_put_le32(back + 2, 100);
    b2p_put_le16(back + 6, 1);
    b2p_put_le16(back + 8, 4);
    b2p_put_le32(fixed, 7);
    record_var v7[6] = {{(const uint8_t *)"fwd", 3, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0},
                 {back, 10, 1}};
    page_add(1, r, fixedvar_record(r, 1, 0, fixed, 8, 8, 0xE0, v7, 6));

    /* page 102: the same table ROW-compressed (CD records, pages.md 5.2), for compression 1 and
     * 2 (no CI: a page PAGE compression left as ROW). Row 1: id 1 (excess-128), bit true, 'abc',
     * 'name', N'no', doc a long complex entry (the in-row root to 110, 111); row 2: id 2, bit
     * false, code NULL, name 'xy'; then a ghost. */
    page_new(10, B2P_PAGE_DATA, 0);
    memset(root, 0, sizeof root);
    root[0] = 4;
    b2p_put_le32(root + 12, 10);
    put_rid(root + 16, 110);
    b2p_put_le32(root + 24, 17);
    put_rid(root + 28, 111);
    size_t n = 0;
    r[n++] = 0x21;                                     /* CD record with a long data region */
    r[n++] = 8;                                        /* columns */
    r[n++] = 0xB2, r[n++] = 0x54, r[n++] = 0xA5, r[n++] = 0x00; /* CD array */
    r[n++] = 0x81;
    memcpy(r + n, "abcnamen\0o\0", 11);
    n += 11;
    r[n++] = 0x02;                                     /* long region: flags, count 1, end */
    b2p_put_le16(r + n, 1);
    n += 2;
    b2p_put_le16(r + n, 36 | 0x8000);
    n += 2;
    memcpy(r + n, root, 36);
    n += 36;
    page_add(10, r, n);
    uint8_t cd2[] = {0x01, 8, 0x12, 0x30, 0x00, 0x00, 0x82, 'x', 'y'};
    page_add(10, cd2, sizeof cd2);
    uint8_t ghost[] = {0x0D, 8, 0x12, 0x30, 0x00, 0x00, 0x83, 'g', 'h'};
    page_add(10, ghost, sizeof ghost);
}

/* ---- one run ------------------------------------------------------------------------------- */

static char path[64];
static uint8_t pages[NPAGES][B2P_PAGE_SIZE];

typedef struct run {
    b2p_value_ctx vcx;
    b2p_buf text;
    uint64_t rows;
} run;

static int on_row(void *ctx, const b2p_cell *cells, size_t n, const b2p_row_where *w) {
    run *r = ctx;
    (void)w;
    require(n == NCOLS || n == NCOLS - 1, "every requested column comes back");
    for (size_t i = 0; i < n; i++) {
        require(cells[i].is_null || cells[i].bytes || cells[i].len == 0, "a non-NULL cell has bytes");
        if (cells[i].is_null) continue;
        b2p_error err = {0};
        b2p_buf_clear(&r->text);
        b2p_status st = b2p_value_text(&r->vcx, &types[i], cells[i].bytes, cells[i].len, &r->text, &err);
        require((int)st >= 0 && (int)st <= (int)B2P_ERR_INTERNAL, "a value status is in 0..16");
        require(st == B2P_OK || err.msg[0], "a value failure has a message");
    }
    r->rows++;
    return 0;
}

static b2p_status decode(const char *file, uint8_t compression, uint64_t *rows) {
    b2p_backup *bk = NULL;
    b2p_pages *src = NULL;
    b2p_error err = {0};
    const char *p = file;
    b2p_status st = b2p_backup_open(&bk, &p, 1, NULL, &err);
    if (!st) st = b2p_pages_open(&src, bk, NULL, &err);
    run r = {0};
    b2p_value_ctx_init(&r.vcx, COLLATION);
    if (!st) {
        /* compressed: the sparse column is left out (sparse in CD records is not read) */
        b2p_rowset_ref rs = {.in_row = {.auid = AUID, .first = {1, compression ? FIRST_CD : FIRST}},
                             .method = B2P_SCAN_PAGE_CHAIN, .ncols = compression ? NCOLS - 1 : NCOLS,
                             .cols = cols, .compression = compression};
        b2p_row_stats stats = {0};
        st = b2p_rows_scan(src, &rs, on_row, &r, &stats, &err);
        require(stats.rows == r.rows, "the row count is the rows delivered");
    }
    if (st) {
        require((int)st >= 1 && (int)st <= (int)B2P_ERR_INTERNAL, "a failure is a status in 1..16");
        require(err.code == st, "err.code is the returned status");
        require(err.msg[0] != 0, "a failure has a message");
    }
    *rows = r.rows;
    b2p_value_ctx_free(&r.vcx);
    b2p_buf_free(&r.text);
    b2p_pages_free(src);
    b2p_backup_free(bk);
    return st;
}

static int write_backup(void) {
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("b2p-fuzz-rows", MFD_CLOEXEC);
        require(fd >= 0, "memfd_create works");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    require(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, "the memfd can be emptied");
    int dup_fd = dup(fd);
    require(dup_fd >= 0, "dup works");
    FILE *f = fdopen(dup_fd, "w+b");
    require(f != NULL, "fdopen works");
    static const mtfw_file files[] = {
        {"rows", "C:\\data\\rows.mdf", 1, 'D', 8 << 20},
        {"rows_log", "C:\\data\\rows_log.ldf", 2, 'L', 1 << 20},
    };
    mtfw_options o = {
        .block_size = 512, .type_letter = 'D', .database_name = "rows", .server_name = "HOST",
        .version_major = 15, .version_build = 2000, .database_version = 904,
        .total_units = NPAGES, .files = files, .nfiles = 2,
    };
    memset(o.backup_set_guid, 0x51, 16);
    memset(o.media_set_guid, 0x52, 16);
    mtfw *w = mtfw_open(f, &o);
    require(w != NULL, "the writer opens");
    for (int k = 0; k < NPAGES; k++) require(mtfw_add_units(w, pages[k], 1), "a unit is written");
    require(mtfw_close(w), "the backup is finished");
    require(fclose(f) == 0, "the memfd is flushed");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        build_template();
        memcpy(pages, tmpl, sizeof pages);
        write_backup();
        uint64_t rows = 0;
        require(decode(path, 0, &rows) == B2P_OK && rows == 5, "the template decodes: 5 rows");
        require(decode(path, 1, &rows) == B2P_OK && rows == 2, "the ROW template decodes: 2 rows");
        require(decode(path, 2, &rows) == B2P_OK && rows == 2, "... and read as PAGE: 2 rows");
        ready = 1;
    }
    memcpy(pages, tmpl, sizeof pages);
    for (size_t i = 0; i + 4 <= size; i += 4) {
        unsigned k = data[i] % NPAGES;
        unsigned off = b2p_le16(data + i + 1) % B2P_PAGE_SIZE;
        pages[k][off] = data[i + 3];
    }
    /* the page ids stay (the page source keys pages by them): a changed id is another page */
    write_backup();
    uint64_t rows;
    b2p_status st = decode(path, (uint8_t)(size % 4 == 3 ? 0 : size % 4), &rows);
    require(size != 0 || (st == B2P_OK && rows == 5), "the unpatched template decodes again");
    return 0;
}
