/* libFuzzer target for the record and catalog layers: pages/ (headers, slot arrays, FixedVar
 * records, allocation-unit scans, the row reader with its off-row reassembly) and catalog/
 * (boot page, sysallocunits, sysrscols, every base table, the model built from them).
 *
 * The input is a sequence of 8 KB page units. Each unit is a database page of file 1; its page
 * id is the one its own header names (bytes 32-35), so an input holds just the pages that
 * matter (the boot page 1:9 and the system tables' pages) and a mutation of a header's page id
 * moves a page. The harness forces the file id to 1 and clears the checksum / torn-page flags
 * (so that damage reaches the parsers instead of being stopped by the page check), frames the
 * units as a full backup with the test writer (tests/support/mtf_writer.h) in a memfd, and runs
 * b2p_backup_open, b2p_pages_open, b2p_catalog_load; on success it reads every string of the
 * model and scans the rows of the first tables' partitions through their catalog layouts.
 * Properties beyond "no crash, no leak, no undefined behaviour":
 *   - a failure is a status in 1..16 equal to err.code with a one-line, non-empty message;
 *   - a loaded model is consistent: counts match arrays, names are non-NULL and terminated,
 *     columns and indexes are ordered by id, a trigger names its events only when its timing
 *     is known.
 *
 * Seeds: the fixtures are read-only and are never copied into the repository. When the corpus
 * directory given on the command line is empty and $B2P_FIXTURES is set, the target writes its
 * own seeds there before fuzzing: for a few small fixtures, the boot page and every page of the
 * base tables b2p_catalog_load reads (their data, IAM and text pages: 120 to 210 pages), the
 * bootstrap tables first, cut to 128 pages (libFuzzer's default -max_len, 1 MB; the pages cut
 * off are sysobjvalues' last ones, which the scans skip as missing). By hand:
 *   B2P_FIXTURES=../shared/fixtures build/fuzz/fuzz_catalog build/fuzz/corpus/catalog
 * creates the seeds and starts fuzzing; B2P_FUZZ_SEEDS_ONLY=1 (re)writes them and stops;
 * B2P_FUZZ_VERBOSE=1 prints the outcome of each catalog load.
 *
 * Build and run: sh .ci/fuzz [seconds] (see that script), or by hand from the repository root:
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
 *     -D_DEFAULT_SOURCE mtf/[a-z]*.c pages/[a-z]*.c catalog/[a-z]*.c tests/support/mtf_writer.c \
 *     tests/support/xpress_encode.c tests/fuzz/fuzz_catalog.c -lm -o /tmp/fuzz_catalog
 *   B2P_FIXTURES=../shared/fixtures /tmp/fuzz_catalog -max_len=1048576 CORPUS_DIR */
#define _GNU_SOURCE /* memfd_create */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "mtf/mtf.h"
#include "pages/pages.h"
#include "tests/support/mtf_writer.h"

#define MAX_UNITS 256          /* 2 MB of pages: more is slow, not more interesting */
#define MAX_SCANNED_TABLES 8
#define MAX_SEED_UNITS 128     /* libFuzzer's default -max_len is 1 MB */

static void require(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz_catalog: property violated: %s\n", what);
        abort();
    }
}

static void check_failure(const char *stage, b2p_status st, const b2p_error *err) {
    const char *bad = NULL;
    if ((int)st < 1 || (int)st > (int)B2P_ERR_INTERNAL) bad = "a failure is a status in 1..16";
    else if (err->code != st) bad = "err.code is the returned status";
    else if (err->msg[0] == '\0') bad = "a failure has a message";
    else if (memchr(err->msg, '\0', sizeof err->msg) == NULL) bad = "the message is terminated";
    else if (strchr(err->msg, '\n') != NULL) bad = "the message is one line";
    if (!bad) return;
    fprintf(stderr, "fuzz_catalog: %s failed with status %d: \"%.*s\"\n", stage, (int)st, (int)sizeof err->msg,
            err->msg);
    require(0, bad);
}

/* ---- the model ------------------------------------------------------------------------- */

static volatile size_t sink;

static size_t str(const char *s) {
    require(s != NULL, "a name is there");
    return strlen(s);
}

static size_t opt(const char *s) { return s ? strlen(s) : 0; }

static void check_table(const b2p_cat_table *t) {
    size_t sum = str(t->schema) + str(t->name) + opt(t->description);
    require(t->ncolumns == 0 || t->columns != NULL, "columns are there");
    for (size_t i = 0; i < t->ncolumns; i++) {
        const b2p_cat_column *c = &t->columns[i];
        if (i) require(t->columns[i - 1].column_id <= c->column_id, "columns ordered by id");
        sum += opt(c->name) + str(c->type_name) + opt(c->user_type) + opt(c->default_name) +
               opt(c->default_text) + opt(c->computed) + opt(c->description);
    }
    for (size_t i = 0; i < t->nindexes; i++) {
        const b2p_cat_index *ix = &t->indexes[i];
        if (i) require(t->indexes[i - 1].index_id <= ix->index_id, "indexes ordered by id");
        sum += opt(ix->name) + opt(ix->filter);
        for (size_t k = 0; k < ix->nkeys; k++) sum += (size_t)ix->key_columns[k] + ix->key_descending[k];
        for (size_t k = 0; k < ix->nincluded; k++) sum += (size_t)ix->included_columns[k];
    }
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[i];
        sum += opt(fk->name);
        for (size_t k = 0; k < fk->ncolumns; k++) sum += (size_t)fk->columns[k] + (size_t)fk->ref_columns[k];
    }
    for (size_t i = 0; i < t->nchecks; i++) sum += opt(t->checks[i].name) + opt(t->checks[i].expression);
    for (size_t i = 0; i < t->npartitions; i++) {
        const b2p_cat_partition *p = &t->partitions[i];
        sum += str(b2p_compression_name(p->compression));
        for (size_t k = 0; k < p->naus; k++) sum += p->aus[k].type;
        for (size_t k = 0; k < p->nrscols; k++) sum += p->rscols[k].layout.fixed_len;
    }
    sink += sum;
}

static void check_model(const b2p_catalog *cat) {
    size_t sum = 0;
    for (size_t i = 0; i < cat->nschemas; i++) sum += opt(cat->schemas[i].name);
    for (size_t i = 0; i < cat->ntables; i++) check_table(&cat->tables[i]);
    for (size_t i = 0; i < cat->nmodules; i++) {
        const b2p_cat_module *m = &cat->modules[i];
        sum += str(m->schema) + str(m->name) + opt(m->definition) + opt(m->description) +
               str(b2p_module_kind_name(m->kind));
        require(m->trigger_timing_known || (m->trigger_events == 0 && !m->instead_of),
                "trigger events only with a known timing");
    }
    for (size_t i = 0; i < cat->ntypes; i++)
        sum += str(cat->types[i].schema) + str(cat->types[i].name) + str(cat->types[i].base_name);
    for (size_t i = 0; i < cat->nxprops; i++) sum += str(cat->xprops[i].name) + opt(cat->xprops[i].value);
    for (size_t i = 0; i < cat->nunsupported; i++) {
        const b2p_cat_unsupported *u = &cat->unsupported[i];
        sum += str(u->kind) + str(u->name) + opt(u->schema) + opt(u->detail);
    }
    sink += sum;
}

/* ---- rows of the first tables, through the catalog's layouts ------------------------------ */

static int on_row(void *ctx, const b2p_cell *cells, size_t ncells, const b2p_row_where *where) {
    (void)where;
    size_t *sum = ctx;
    for (size_t i = 0; i < ncells; i++)
        if (!cells[i].is_null && cells[i].len) *sum += cells[i].bytes[0] + cells[i].bytes[cells[i].len - 1];
    return 0;
}

static void scan_rows(b2p_pages *src, const b2p_catalog *cat) {
    for (size_t t = 0; t < cat->ntables && t < MAX_SCANNED_TABLES; t++) {
        const b2p_cat_table *tb = &cat->tables[t];
        for (size_t p = 0; p < tb->npartitions; p++) {
            const b2p_cat_partition *pa = &tb->partitions[p];
            const b2p_cat_au *in_row = NULL;
            for (size_t k = 0; k < pa->naus; k++)
                if (pa->aus[k].type == B2P_AU_IN_ROW) in_row = &pa->aus[k];
            if (!in_row || pa->compression > 2) continue;
            b2p_column_layout *cols = calloc(pa->nrscols ? pa->nrscols : 1, sizeof *cols);
            require(cols != NULL, "memory");
            size_t n = 0;
            for (size_t k = 0; k < pa->nrscols; k++)
                if (pa->rscols[k].column_id) cols[n++] = pa->rscols[k].layout;
            b2p_rowset_ref rs = {.in_row = in_row->ref, .method = pa->index_id ? B2P_SCAN_LEAF_CHAIN : B2P_SCAN_IAM,
                                 .ncols = n, .cols = cols, .compression = pa->compression};
            b2p_error err = {0};
            size_t sum = 0;
            b2p_status st = b2p_rows_scan(src, &rs, on_row, &sum, NULL, &err);
            if (st) check_failure("b2p_rows_scan", st, &err);
            sink += sum;
            free(cols);
        }
    }
}

/* ---- the backup ---------------------------------------------------------------------------- */

static char path[64];
static int fd = -1;

static void write_backup(uint8_t *units, size_t n) {
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = units + i * B2P_PAGE_SIZE;
        b2p_put_le16(p + 36, 1);                           /* file 1 */
        b2p_put_le16(p + 4, b2p_le16(p + 4) & ~0x300u);    /* no checksum, no torn bits */
        uint32_t id = b2p_le32(p + 32);
        if (id > last) last = id;
    }
    if (fd < 0) {
        fd = memfd_create("b2p-fuzz-catalog", MFD_CLOEXEC);
        require(fd >= 0, "memfd_create works");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    require(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, "the memfd can be emptied");
    FILE *f = fdopen(dup(fd), "w+b");
    require(f != NULL, "the memfd can be opened");
    mtfw_file file = {.logical_name = "fuzz", .physical_name = "C:\\fuzz.mdf", .file_id = 1, .type = 'D',
                      .size_bytes = ((uint64_t)last + 1) * B2P_PAGE_SIZE};
    mtfw_options o = {
        .block_size = 512, .type_letter = 'D', .database_name = "fuzz", .server_name = "FUZZ",
        .version_major = 13, .version_minor = 0, .version_build = 5026, .database_version = 852,
        .total_units = n, .files = &file, .nfiles = 1,
    };
    memset(o.backup_set_guid, 0x11, 16);
    memset(o.media_set_guid, 0x22, 16);
    mtfw *w = mtfw_open(f, &o);
    require(w != NULL, "the writer opens");
    require(mtfw_add_units(w, units, n), "the units are written");
    require(mtfw_close(w), "the backup is finished");
    require(fclose(f) == 0, "the memfd is flushed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n = size / B2P_PAGE_SIZE;
    if (n == 0 || n > MAX_UNITS) return 0;
    uint8_t *units = malloc(n * B2P_PAGE_SIZE);
    require(units != NULL, "memory");
    memcpy(units, data, n * B2P_PAGE_SIZE);
    write_backup(units, n);
    free(units);

    const char *paths[1] = {path};
    b2p_backup *bk = NULL;
    b2p_pages *src = NULL;
    b2p_catalog *cat = NULL;
    b2p_error err = {0};
    b2p_open_options oo = {0};
    b2p_status st = b2p_backup_open(&bk, paths, 1, &oo, &err);
    require(st == B2P_OK, "the writer's backup opens"); /* the container is not fuzzed here */
    st = b2p_pages_open(&src, bk, NULL, &err);
    if (st) check_failure("b2p_pages_open", st, &err);
    if (!st) {
        st = b2p_catalog_load(src, &cat, &err);
        if (getenv("B2P_FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz_catalog: %zu pages: %s%s\n", n, st ? "" : "catalog loaded", st ? err.msg : "");
        if (st) {
            check_failure("b2p_catalog_load", st, &err);
            require(cat == NULL, "no model after a failure");
        } else {
            check_model(cat);
            scan_rows(src, cat);
            b2p_catalog_free(cat);
        }
        b2p_pages_free(src);
    }
    b2p_backup_free(bk);
    return 0;
}

/* ---- seeds ---------------------------------------------------------------------------------- */

typedef struct seed {
    uint8_t *units;
    size_t n, cap;
} seed;

/* The system base tables b2p_catalog_load reads, in the order they matter: the bootstrap tables
 * first (pages.md 3.1; 4 and 13 are SQL Server 2005's), sysobjvalues (the most pages) last. */
static const uint32_t CATALOG_OBJECTS[] = {7, 3, 13, 4, 5, 34, 41, 64, 54, 55, 50, 49, 25, 74, 60};
#define NCATALOG_OBJECTS (sizeof CATALOG_OBJECTS / sizeof *CATALOG_OBJECTS)

/* The rank of a page in a seed: boot page 0, then IAM pages, then by CATALOG_OBJECTS; -1: not
 * read by the catalog. */
static int catalog_rank(uint32_t obj, uint8_t type) {
    if (type == B2P_PAGE_BOOT) return 0;
    for (size_t i = 0; i < NCATALOG_OBJECTS; i++)
        if (CATALOG_OBJECTS[i] == obj) return type == B2P_PAGE_IAM ? 1 : (int)i + 2;
    return -1;
}

/* The boot page, and the data, IAM and text pages of the base tables the catalog reads (scans
 * go by IAM or along the leaf level: index pages are not needed). */
static int keep_catalog_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    (void)page_id;
    seed *s = ctx;
    uint8_t type = page[1];
    uint32_t obj = b2p_le32(page + 24);
    bool wanted = file_id == 1 && catalog_rank(obj, type) >= 0 &&
                  (type == B2P_PAGE_BOOT || type == B2P_PAGE_DATA || type == B2P_PAGE_IAM ||
                   type == B2P_PAGE_TEXT_MIX || type == B2P_PAGE_TEXT_TREE);
    if (!wanted) return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->units = realloc(s->units, s->cap * B2P_PAGE_SIZE);
        require(s->units != NULL, "memory");
    }
    memcpy(s->units + s->n++ * B2P_PAGE_SIZE, page, B2P_PAGE_SIZE);
    return 0;
}

static void make_seed(const char *fixtures, const char *name, const char *dir) {
    char in[4096], out[4096];
    snprintf(in, sizeof in, "%s/%s", fixtures, name);
    snprintf(out, sizeof out, "%s/%s.catalog", dir, name);
    const char *paths[1] = {in};
    b2p_backup *bk = NULL;
    b2p_pages *src = NULL;
    b2p_error err = {0};
    b2p_open_options oo = {0};
    if (b2p_backup_open(&bk, paths, 1, &oo, &err) || b2p_pages_open(&src, bk, NULL, &err)) {
        fprintf(stderr, "fuzz_catalog: no seed from %s: %s\n", name, err.msg);
        b2p_backup_free(bk);
        return;
    }
    seed s = {0};
    if (b2p_pages_foreach(src, keep_catalog_page, &s, &err) == 0 && s.n) {
        /* most important first, then cut to what libFuzzer mutates by default (1 MB) */
        uint8_t *sorted = malloc(s.n * B2P_PAGE_SIZE);
        require(sorted != NULL, "memory");
        size_t k = 0;
        for (int rank = 0; rank < (int)NCATALOG_OBJECTS + 2; rank++)
            for (size_t i = 0; i < s.n && k < MAX_SEED_UNITS; i++) {
                const uint8_t *p = s.units + i * B2P_PAGE_SIZE;
                if (catalog_rank(b2p_le32(p + 24), p[1]) == rank) memcpy(sorted + k++ * B2P_PAGE_SIZE, p, B2P_PAGE_SIZE);
            }
        free(s.units);
        s.units = sorted;
        s.n = k;
        FILE *f = fopen(out, "wb");
        if (f) {
            fwrite(s.units, B2P_PAGE_SIZE, s.n, f);
            fclose(f);
            fprintf(stderr, "fuzz_catalog: seed %s: %zu pages\n", out, s.n);
        }
    }
    free(s.units);
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

static bool empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL) empty = e->d_name[0] == '.';
    closedir(d);
    return empty;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *fixtures = getenv("B2P_FIXTURES");
    const char *corpus = NULL;
    for (int i = 1; i < *argc; i++) {
        struct stat sb;
        if ((*argv)[i][0] != '-' && stat((*argv)[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            corpus = (*argv)[i];
            break;
        }
    }
    if (fixtures && corpus && (empty_dir(corpus) || getenv("B2P_FUZZ_SEEDS_ONLY"))) {
        static const char *const SEEDS[] = {
            "quanlysinhvien_2016sp2_tiny_nhatminh.bak", /* 2016, 2 tables */
            "northwind_2005sp4_salman.bak",             /* 2005: syshobtcolumns */
            "pubs_2012rtm_modified_ugr95.bak",          /* 2012: alias types, trigger, heaps */
            "tsql2012_2016sp1_COMPRESSED_joeycheung.bak", /* sequences, PAGE compression */
        };
        for (size_t i = 0; i < sizeof SEEDS / sizeof *SEEDS; i++) make_seed(fixtures, SEEDS[i], corpus);
    }
    if (getenv("B2P_FUZZ_SEEDS_ONLY")) exit(0);
    return 0;
}
