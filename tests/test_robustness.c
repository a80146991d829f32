/* Robustness of the container layer against damaged backups.
 *
 * The promise under test: bad input never crashes, hangs or silently drops data; every failure
 * is a status in 1..16 with a one-line message that names the file. For every *.bak and *.trn
 * in $B2P_FIXTURES this runs the whole container pipeline in-process (b2p_backup_open and
 * b2p_pages_open with allow_missing_stripes, so lone stripes are read too, then
 * b2p_pages_foreach reading every page) on:
 *   - the file truncated at 64 evenly spaced offsets (0, size/64, ..., 63*size/64);
 *   - 1,000 single-byte corruptions (250 under the sanitizers) whose offsets and values come
 *     from a PRNG seeded with the fixture's name, so that every run tries the same variants.
 * Crashes and memory errors are caught by the harness itself: `make test-san` runs this under
 * AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer at each worker's exit). A hang
 * is caught by alarm(). The variants run in forked workers (B2P_ROBUST_JOBS, default 2), each on
 * its own copy in a mkdtemp directory; the fixtures themselves are only read.
 *
 * What is asserted, for every variant:
 *   - a failing call returns a status in 1..16, err.code equals it, and err.msg is one
 *     non-empty line containing the path of the file (check_outcome);
 *   - on_bad_page reports name the opened file, an offset inside it, and a one-line reason;
 *   - a source that opened has stats->pages <= stats->units, and foreach delivers exactly
 *     stats->distinct_pages pages, each carrying the (file id, page id) it is delivered under;
 *   - damage that passes every stage read every unit the intact file has (check_no_loss);
 * for truncations: the failure says "truncated" (check_truncation); for corruptions: the data
 * never silently vanishes into "not found" (check_corruption), and a changed byte inside a
 * checksum-guarded page of an uncompressed backup is always detected (expect_detection).
 * One line per fixture summarises what happened. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtf/mtf.h"

#define STATUS_MAX ((int)B2P_ERR_INTERNAL) /* statuses are 1..16 */

enum {
    TRUNCATIONS = 64,
    CORRUPTIONS = 1000,
    CORRUPTIONS_SANITIZED = 250, /* under ASan+UBSan each variant costs ~5x: fewer, the same paths */
    VARIANT_SECONDS = 10,       /* a variant takes milliseconds; 10 s means a hang */
    DEFAULT_WORKERS = 2,        /* CI runs on 2 cores */
    MAX_WORKERS = 16,
    EDGE_BYTES = 64 * 1024,     /* where the descriptor blocks and metadata sit (see draw_offset) */
    MAX_REPORTED = 5,           /* violations printed per worker; the count covers all */
    MAX_RANGES = 64,
    EXIT_VIOLATIONS = 10,       /* a worker's exit status when it found (and printed) violations */
    PAGE_FLAG_CHECKSUM = 0x200,
    STREAM_HEADER = 22,
};

/* ---- what one run of the pipeline gave --------------------------------------------------- */

typedef struct outcome {
    const char *path;           /* the file opened */
    uint64_t file_size;
    b2p_status status;          /* B2P_OK when every stage passed */
    int foreach_rc;             /* raw return of b2p_pages_foreach */
    const char *stage;          /* the call that failed */
    b2p_error err;
    bool opened;                /* b2p_pages_open succeeded: stats are valid */
    b2p_page_stats stats;
    uint64_t delivered;         /* pages given to the foreach callback */
    uint64_t mislabelled;       /* ... whose header names another page */
    uint64_t bad_reports;       /* on_bad_page calls */
    char report_problem[256];   /* the first malformed on_bad_page report, if any */
    uint8_t page_copy[B2P_PAGE_SIZE]; /* every delivered page is copied here */
} outcome;

static void on_bad_page(void *ctx, const char *path, uint64_t offset, uint16_t file_id,
                        uint32_t page_id, const char *why) {
    outcome *o = ctx;
    (void)file_id;
    (void)page_id;
    o->bad_reports++;
    if (o->report_problem[0]) return;
    if (!path || strcmp(path, o->path) != 0)
        snprintf(o->report_problem, sizeof o->report_problem, "on_bad_page names '%s'",
                 path ? path : "(null)");
    else if (offset >= o->file_size)
        snprintf(o->report_problem, sizeof o->report_problem,
                 "on_bad_page offset %llu is past the end of the file (%llu bytes)",
                 (unsigned long long)offset, (unsigned long long)o->file_size);
    else if (!why || !why[0] || strchr(why, '\n'))
        snprintf(o->report_problem, sizeof o->report_problem, "on_bad_page reason is not one line");
}

static int on_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t page[B2P_PAGE_SIZE]) {
    outcome *o = ctx;
    o->delivered++;
    /* The index is keyed by the ids in the page header, and foreach re-reads the indexed
     * location: a page carrying other ids means the index points at the wrong bytes. */
    if (b2p_le16(page + 36) != file_id || b2p_le32(page + 32) != page_id) o->mislabelled++;
    /* Read all of it: memcpy is checked over its whole range by AddressSanitizer, and is
     * far cheaper than a byte loop, which would cost more than the scan itself. */
    memcpy(o->page_copy, page, B2P_PAGE_SIZE);
    return 0;
}

/* Opens path, builds its page source and reads every page, recording what happened. */
static void run_pipeline(const char *path, uint64_t file_size, outcome *o) {
    memset(o, 0, sizeof *o);
    o->path = path;
    o->file_size = file_size;
    b2p_backup *bk = NULL;
    b2p_pages *src = NULL;
    const char *paths[1] = {path};
    b2p_open_options oo = {.allow_missing_stripes = true};
    b2p_pages_options po = {.allow_missing_stripes = true, .on_bad_page = on_bad_page, .ctx = o};
    o->stage = "b2p_backup_open";
    o->status = b2p_backup_open(&bk, paths, 1, &oo, &o->err);
    if (!o->status) {
        o->stage = "b2p_pages_open";
        o->status = b2p_pages_open(&src, bk, &po, &o->err);
    }
    if (!o->status) {
        o->opened = true;
        o->stats = *b2p_pages_stats(src);
        o->stage = "b2p_pages_foreach";
        o->foreach_rc = b2p_pages_foreach(src, on_page, o, &o->err);
        /* on_page never stops the walk, so only the library's own -status can come back. */
        o->status = o->foreach_rc < 0 ? (b2p_status)-o->foreach_rc
                                      : o->foreach_rc > 0 ? B2P_ERR_INTERNAL : B2P_OK;
    }
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

/* ---- a fixture, its clean run and where its page data lies ------------------------------ */

typedef struct data_range {     /* one MQDA stream of an uncompressed file */
    uint64_t units_off;         /* first 8 KB unit, after the 2-byte lead */
    uint64_t nunits;
    bool has_csum;              /* a CSUM stream follows: every unit byte is covered */
    bool *guarded;              /* per unit: a page whose page checksum is valid */
} data_range;

typedef struct fixture {
    char name[256];
    char path[4096];
    uint8_t *bytes;
    uint64_t size;
    bool compressed;
    outcome clean;              /* the pipeline on the intact file */
    data_range ranges[MAX_RANGES];
    size_t nranges;
} fixture;

static bool stream_header_ok(const uint8_t *h) {
    uint16_t x = 0;
    for (int i = 0; i < STREAM_HEADER / 2; i++) x ^= b2p_le16(h + 2 * i);
    return x == 0;
}

/* Whether the unit is a page protected by a valid page checksum in the clean file: header
 * version 1, a page type 1..20, a file id, flag 0x200 and a matching checksum (pages.md 1.2,
 * container.md 10.3). Any one-byte change to such a unit changes what the scan counts, see
 * expect_detection. */
static bool unit_guarded(const uint8_t *u) {
    return u[0] == 1 && u[1] >= 1 && u[1] <= 20 && b2p_le16(u + 36) != 0 &&
           (b2p_le16(u + 4) & PAGE_FLAG_CHECKSUM) && b2p_page_checksum(u) == b2p_le32(u + 60);
}

/* Finds the MQDA streams of an uncompressed file independently of the library (a stream
 * header is "MQDA", a u64 length at +8, and 11 words XORing to 0; the data has a 2-byte lead
 * when its length is 2 more than whole units; a CSUM stream follows at 4-byte alignment). */
static void find_data_ranges(fixture *fx) {
    const uint8_t *b = fx->bytes;
    for (uint64_t pos = 0; pos + STREAM_HEADER <= fx->size && fx->nranges < MAX_RANGES; pos++) {
        if (memcmp(b + pos, "MQDA", 4) != 0 || !stream_header_ok(b + pos)) continue;
        uint64_t data = pos + STREAM_HEADER, len = b2p_le64(b + pos + 8);
        if (len < B2P_PAGE_SIZE || len > fx->size - data) continue;
        uint64_t lead = len % B2P_PAGE_SIZE == 2 ? 2 : 0;
        data_range *r = &fx->ranges[fx->nranges++];
        r->units_off = data + lead;
        r->nunits = (len - lead) / B2P_PAGE_SIZE;
        uint64_t next = (data + len + 3) & ~(uint64_t)3;
        r->has_csum = next + STREAM_HEADER <= fx->size && memcmp(b + next, "CSUM", 4) == 0 &&
                      stream_header_ok(b + next);
        r->guarded = calloc(r->nunits, sizeof *r->guarded);
        assert_non_null(r->guarded);
        for (uint64_t u = 0; u < r->nunits; u++)
            r->guarded[u] = unit_guarded(b + r->units_off + u * B2P_PAGE_SIZE);
        pos = data + len - 1;
    }
}

/* Whether any corruption of fx can be expected to be detected (see expect_detection). */
static bool has_guarded_units(const fixture *fx) {
    if (fx->compressed || fx->clean.status != B2P_OK) return false;
    for (size_t i = 0; i < fx->nranges; i++)
        for (uint64_t u = 0; u < fx->ranges[i].nunits; u++)
            if (fx->ranges[i].has_csum || fx->ranges[i].guarded[u]) return true;
    return false;
}

static void fixture_free(fixture *fx) {
    for (size_t i = 0; i < fx->nranges; i++) free(fx->ranges[i].guarded);
    free(fx->bytes);
    fx->bytes = NULL;
    fx->nranges = 0;
}

static void read_whole_file(fixture *fx) {
    int fd = open(fx->path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    fx->size = (uint64_t)sb.st_size;
    fx->bytes = malloc(fx->size ? fx->size : 1);
    assert_non_null(fx->bytes);
    uint64_t done = 0;
    while (done < fx->size) {
        ssize_t n = pread(fd, fx->bytes + done, fx->size - done, (off_t)done);
        assert_true(n > 0);
        done += (uint64_t)n;
    }
    close(fd);
    fx->compressed = fx->size >= 8 && memcmp(fx->bytes, "MSSQLBAK", 8) == 0;
}

/* ---- the variants ------------------------------------------------------------------------ */

typedef struct variant {
    bool truncation;
    uint64_t offset;            /* truncation: the new size; corruption: the byte changed */
    uint8_t value;              /* corruption: the byte written */
} variant;

static uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h ? h : 1; /* xorshift must not start at 0 */
}

/* Uniform offsets would land almost only in page data: the descriptor blocks, stream headers
 * and MQCI metadata the walker parses are a few KB at the start and end of the file. So a
 * quarter of the offsets fall in the first 64 KiB, a quarter in the last 64 KiB, half anywhere. */
static uint64_t draw_offset(uint64_t *rng, uint64_t size) {
    uint64_t edge = size < EDGE_BYTES ? size : EDGE_BYTES;
    uint64_t r = xorshift64(rng);
    switch (r % 4) {
    case 0: return (r >> 2) % edge;
    case 1: return size - edge + (r >> 2) % edge;
    default: return (r >> 2) % size;
    }
}

/* Seeded corruptions per fixture: all of them in the plain build, a quarter under the sanitizers
 * (the same seeds, so the first quarter of the plain build's), which keeps `make check` within
 * its time on a 2-core machine. */
static int corruptions(void) {
    const char *v = getenv("B2P_VARIANT");
    return v && !strcmp(v, "san") ? CORRUPTIONS_SANITIZED : CORRUPTIONS;
}

static int variant_count(void) {
    return TRUNCATIONS + corruptions();
}

/* Variants 0..63 are truncations, in decreasing size so that a worker can shrink its copy
 * step by step; 64.. are corruptions, each writing a value different from the original. */
static void make_variants(const fixture *fx, variant *v) {
    for (int k = 0; k < TRUNCATIONS; k++)
        v[k] = (variant){.truncation = true,
                         .offset = fx->size * (uint64_t)(TRUNCATIONS - 1 - k) / TRUNCATIONS};
    uint64_t rng = fnv1a(fx->name);
    for (int j = 0; j < corruptions(); j++) {
        variant *c = &v[TRUNCATIONS + j];
        c->truncation = false;
        c->offset = fx->size ? draw_offset(&rng, fx->size) : 0;
        uint8_t orig = fx->size ? fx->bytes[c->offset] : 0;
        c->value = (uint8_t)(orig ^ (1 + xorshift64(&rng) % 255));
    }
}

static void describe(const variant *v, char *buf, size_t len) {
    if (v->truncation)
        snprintf(buf, len, "truncated to %llu bytes", (unsigned long long)v->offset);
    else
        snprintf(buf, len, "byte at offset %llu set to 0x%02X", (unsigned long long)v->offset, v->value);
}

/* ---- checks ------------------------------------------------------------------------------ */

typedef struct tally {          /* what a worker saw; sent to the parent through a pipe */
    uint64_t variants;
    uint64_t failed[STATUS_MAX + 2];  /* by status; [STATUS_MAX + 1]: out of range */
    uint64_t opened_bad;        /* opened, with more bad pages/checksums than the clean file */
    uint64_t trunc_failed[STATUS_MAX + 2]; /* truncations, by status */
    uint64_t guarded;           /* corruptions that must be detected ... */
    uint64_t detected;          /* ... and were */
    uint64_t violations;
} tally;

static void violation(tally *t, const fixture *fx, const variant *v, const char *what) {
    char d[96] = "intact file";
    if (v) describe(v, d, sizeof d);
    if (t->violations++ < MAX_REPORTED)
        fprintf(stderr, "robustness: %s (%s): %s\n", fx->name, d, what);
}

/* Checks that hold whatever the input: see the top of the file. */
static void check_outcome(tally *t, const fixture *fx, const variant *v, const outcome *o) {
    char msg[1400];
    if (o->status != B2P_OK) {
        if ((int)o->status < 1 || (int)o->status > STATUS_MAX || o->err.code != o->status) {
            snprintf(msg, sizeof msg, "%s returned status %d (err.code %d), expected 1..%d",
                     o->stage, (int)o->status, (int)o->err.code, STATUS_MAX);
            violation(t, fx, v, msg);
        }
        if (!o->err.msg[0] || strchr(o->err.msg, '\n') || !strstr(o->err.msg, o->path)) {
            snprintf(msg, sizeof msg, "%s failed (%s) with a message that is not one line "
                     "naming the file: \"%s\"", o->stage, b2p_status_name(o->status), o->err.msg);
            violation(t, fx, v, msg);
        }
    }
    if (o->report_problem[0]) violation(t, fx, v, o->report_problem);
    if (o->opened && o->stats.pages > o->stats.units) {
        snprintf(msg, sizeof msg, "stats: %llu pages among %llu units",
                 (unsigned long long)o->stats.pages, (unsigned long long)o->stats.units);
        violation(t, fx, v, msg);
    }
    if (o->opened && o->status == B2P_OK && o->delivered != o->stats.distinct_pages) {
        snprintf(msg, sizeof msg, "foreach delivered %llu pages, stats say %llu distinct",
                 (unsigned long long)o->delivered, (unsigned long long)o->stats.distinct_pages);
        violation(t, fx, v, msg);
    }
    if (o->mislabelled) {
        snprintf(msg, sizeof msg, "foreach delivered %llu page(s) whose header names another page",
                 (unsigned long long)o->mislabelled);
        violation(t, fx, v, msg);
    }
}

static uint64_t bad_count(const b2p_page_stats *s) {
    return s->checksum_bad + s->torn_bad + s->csum_bad + s->unreadable_pages;
}

/* A single-byte corruption must be detected when it lands in
 *   (a) a unit covered by a backup checksum (CSUM): the checksum XORs every sector's words,
 *       rotated; a one-byte change alters exactly one sector's XOR, so the value changes; or
 *   (b) a page unit with a valid page checksum (unit_guarded). Byte by byte, the change either
 *       - leaves it a checksummed page: the checksum covers every byte but the stored checksum
 *         (bytes 60..63), which it is compared with, so checksum_bad grows; or
 *       - clears flag 0x200, or changes the header version, type or file id so that the unit
 *         is no longer a page: then it is no longer counted in stats.checksummed.
 * Not promised elsewhere: pages with torn-page protection only (databases created on SQL
 * Server 2000) notice a change only in the 2 signature bits of a sector; zero and stale units
 * carry no check; and in a compressed file the byte is in an XPRESS record, where a change may
 * decode to the same bytes (unused bits) or fail to decode. On the corpus thousands of
 * corruptions land in guarded units (test_detection_exercised), and every one is detected. */
static bool expect_detection(const fixture *fx, uint64_t off) {
    if (fx->compressed || fx->clean.status != B2P_OK) return false;
    for (size_t i = 0; i < fx->nranges; i++) {
        const data_range *r = &fx->ranges[i];
        if (off < r->units_off || off >= r->units_off + r->nunits * B2P_PAGE_SIZE) continue;
        return r->has_csum || r->guarded[(off - r->units_off) / B2P_PAGE_SIZE];
    }
    return false;
}

static bool detected(const fixture *fx, const outcome *o) {
    const b2p_page_stats *c = &fx->clean.stats, *s = &o->stats;
    return o->status != B2P_OK || s->checksum_bad > c->checksum_bad || s->csum_bad > c->csum_bad ||
           s->checksummed < c->checksummed || s->unreadable_pages > c->unreadable_pages;
}

/* Damage that passes every stage must not have lost page data silently: the scan must have
 * read every unit the intact file has. A cut inside a data stream fails the stream's length
 * check; a cut after the last one may only lose trailing metadata. A changed byte in a length
 * or descriptor fails its header's XOR checksum, and in a compressed file a damaged record
 * must not make the records after it disappear. */
static void check_no_loss(tally *t, const fixture *fx, const variant *v, const outcome *o) {
    if (o->status != B2P_OK || fx->clean.status != B2P_OK) return;
    if (o->stats.units != fx->clean.stats.units) {
        char msg[160];
        snprintf(msg, sizeof msg, "opened without error but read %llu units, the intact file %llu",
                 (unsigned long long)o->stats.units, (unsigned long long)fx->clean.stats.units);
        violation(t, fx, v, msg);
    }
}

/* A file cut short must say so: B2P_ERR_TRUNCATED, except the empty file (not a backup)
 * and a refusal the intact file gets too (a log backup, a differential without its full),
 * which does not depend on the cut. Any other status (e.g. "no backup set with data pages")
 * means the reader stopped at the cut as if the file ended there. */
static void check_truncation(tally *t, const fixture *fx, const variant *v, const outcome *o) {
    b2p_status st = o->status;
    if (st == B2P_OK || st == B2P_ERR_TRUNCATED || st == fx->clean.status ||
        (v->offset == 0 && st == B2P_ERR_NOT_BACKUP))
        return;
    char msg[1300];
    snprintf(msg, sizeof msg, "%s reports %s (\"%s\"), expected truncated", o->stage,
             b2p_status_name(st), o->err.msg);
    violation(t, fx, v, msg);
}

/* No single changed byte can legitimately make every backup set of a file vanish: the
 * descriptor blocks and stream headers that locate them carry XOR checksums, and a reader that
 * cannot parse the structure holding them must call it damaged. "Not found" therefore means
 * the damage was skipped over silently and the data dropped with it. */
static void check_corruption(tally *t, const fixture *fx, const variant *v, const outcome *o) {
    if (o->status != B2P_ERR_NOT_FOUND || fx->clean.status == B2P_ERR_NOT_FOUND) return;
    char msg[1300];
    snprintf(msg, sizeof msg, "%s reports %s (\"%s\"): the damage made the data disappear "
             "instead of being reported", o->stage, b2p_status_name(o->status), o->err.msg);
    violation(t, fx, v, msg);
}

/* Index into the by-status counters; out-of-range statuses share the last slot. */
static int status_slot(b2p_status st) {
    return (int)st >= 1 && (int)st <= STATUS_MAX ? (int)st : STATUS_MAX + 1;
}

static void record(tally *t, const fixture *fx, const variant *v, const outcome *o) {
    t->variants++;
    check_outcome(t, fx, v, o);
    check_no_loss(t, fx, v, o);
    if (o->status != B2P_OK) t->failed[status_slot(o->status)]++;
    else if (fx->clean.opened && bad_count(&o->stats) > bad_count(&fx->clean.stats)) t->opened_bad++;
    if (v->truncation) {
        check_truncation(t, fx, v, o);
        if (o->status != B2P_OK) t->trunc_failed[status_slot(o->status)]++;
        return;
    }
    check_corruption(t, fx, v, o);
    if (expect_detection(fx, v->offset)) {
        t->guarded++;
        if (detected(fx, o)) t->detected++;
        else violation(t, fx, v, "corruption inside a checksummed page went undetected");
    }
}

/* ---- workers ----------------------------------------------------------------------------- */

static struct sigaction saved_fault_actions[4];  /* as the sanitizers set them, before cmocka */
static const int fault_signals[4] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};

static void on_alarm(int sig) {
    (void)sig;
    static const char m[] = "robustness: a variant ran past its time limit (hang?)\n";
    ssize_t ignored = write(STDERR_FILENO, m, sizeof m - 1);
    (void)ignored;
    abort();
}

static void write_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3);
        p += n;
        len -= (size_t)n;
    }
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
}

/* Runs variants w, w+nworkers, ... on a private copy; *current names the variant under way,
 * in memory shared with the parent, so that a crash can be attributed. Never returns. */
static void worker(const fixture *fx, const variant *v, int w, int nworkers, const char *dir,
                   volatile int64_t *current, int out_fd) {
    /* cmocka's fault handlers would longjmp into this child's copy of the test runner;
     * give faults back to the sanitizers (or the default action). */
    for (int i = 0; i < 4; i++) sigaction(fault_signals[i], &saved_fault_actions[i], NULL);
    signal(SIGALRM, on_alarm);
    /* If the test is killed (a CI timeout), its workers must not run on by themselves. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(3);
    char path[4400];
    snprintf(path, sizeof path, "%s/w%d-%s", dir, w, fx->name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) _exit(3);
    pwrite_all(fd, fx->bytes, (size_t)fx->size, 0);
    tally t;
    memset(&t, 0, sizeof t);
    outcome *o = malloc(sizeof *o);
    if (!o) _exit(3);
    bool restored = false;
    for (int i = w; i < variant_count(); i += nworkers) {
        const variant *x = &v[i];
        if (!x->truncation && !restored) { /* truncations are done: back to the full file */
            pwrite_all(fd, fx->bytes, (size_t)fx->size, 0);
            restored = true;
        }
        if (x->truncation && ftruncate(fd, (off_t)x->offset) != 0) _exit(3);
        if (!x->truncation) pwrite_all(fd, &x->value, 1, x->offset);
        *current = i;
        alarm(VARIANT_SECONDS);
        run_pipeline(path, x->truncation ? x->offset : fx->size, o);
        alarm(0);
        *current = -1;
        if (!x->truncation) pwrite_all(fd, &fx->bytes[x->offset], 1, x->offset);
        record(&t, fx, x, o);
    }
    free(o);
    close(fd);
    unlink(path);
    write_all(out_fd, &t, sizeof t);
    close(out_fd);
    exit(t.violations ? EXIT_VIOLATIONS : 0); /* exit, not _exit: LeakSanitizer checks at exit */
}

static void merge(tally *into, const tally *t) {
    into->variants += t->variants;
    for (int s = 0; s <= STATUS_MAX + 1; s++) into->failed[s] += t->failed[s];
    into->opened_bad += t->opened_bad;
    for (int s = 0; s <= STATUS_MAX + 1; s++) into->trunc_failed[s] += t->trunc_failed[s];
    into->guarded += t->guarded;
    into->detected += t->detected;
    into->violations += t->violations;
}

/* Waits for worker w; false (after saying why) when it did not finish cleanly. */
static bool collect(const fixture *fx, const variant *v, pid_t pid, int in_fd,
                    volatile int64_t *current, tally *total) {
    tally t;
    size_t got = 0;
    while (got < sizeof t) {
        ssize_t n = read(in_fd, (char *)&t + got, sizeof t - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(in_fd);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (got == sizeof t) merge(total, &t);
    /* A worker exits EXIT_VIOLATIONS when it found violations (already printed), 0 otherwise;
     * anything else (a signal, a sanitizer's or LeakSanitizer's exit status) is a crash. */
    if (got == sizeof t && WIFEXITED(ws) && WEXITSTATUS(ws) == (t.violations ? EXIT_VIOLATIONS : 0))
        return true;
    char d[96] = "setting up";
    if (*current >= 0) describe(&v[*current], d, sizeof d);
    if (WIFSIGNALED(ws))
        fprintf(stderr, "robustness: %s (%s): worker killed by signal %d\n", fx->name, d, WTERMSIG(ws));
    else
        fprintf(stderr, "robustness: %s (%s): worker exited with status %d\n", fx->name, d,
                WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    return false;
}

static int worker_count(void) {
    const char *e = getenv("B2P_ROBUST_JOBS");
    int n = e ? atoi(e) : DEFAULT_WORKERS;
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

/* Runs every variant of fx across the workers; returns how many workers failed. */
static int run_variants(const fixture *fx, const variant *v, const char *dir, tally *total) {
    int nworkers = worker_count(), failed = 0;
    volatile int64_t *current = mmap(NULL, MAX_WORKERS * sizeof *current, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(current != MAP_FAILED);
    pid_t pids[MAX_WORKERS];
    int fds[MAX_WORKERS];
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < nworkers; w++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        current[w] = -1;
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            close(p[0]);
            worker(fx, v, w, nworkers, dir, &current[w], p[1]);
        }
        close(p[1]);
        fds[w] = p[0];
    }
    for (int w = 0; w < nworkers; w++)
        if (!collect(fx, v, pids[w], fds[w], &current[w], total)) failed++;
    munmap((void *)current, MAX_WORKERS * sizeof *current);
    return failed;
}

/* ---- the tests --------------------------------------------------------------------------- */

static char work_dir[4096];
static uint64_t total_guarded, total_detected, guarded_fixtures;

/* "truncated 63, corrupt 4" from counts by status; returns their sum. */
static uint64_t format_counts(const uint64_t *counts, char *buf, size_t size) {
    size_t len = 0;
    uint64_t sum = 0;
    buf[0] = 0;
    for (int s = 1; s <= STATUS_MAX + 1; s++) {
        if (!counts[s]) continue;
        sum += counts[s];
        len += (size_t)snprintf(buf + len, size - len, "%s%s %llu", len ? ", " : "",
                                s <= STATUS_MAX ? b2p_status_name((b2p_status)s) : "out of range",
                                (unsigned long long)counts[s]);
        if (len >= size) len = size - 1;
    }
    if (!len) snprintf(buf, size, "none");
    return sum;
}

static void print_summary(const fixture *fx, const tally *t, double seconds) {
    char failed[600], trunc[300];
    uint64_t nfailed = format_counts(t->failed, failed, sizeof failed);
    format_counts(t->trunc_failed, trunc, sizeof trunc);
    printf("robustness: %s: clean %s; %llu variants, %llu failed (%s; of the truncations: %s), "
           "%llu opened with bad pages, %llu/%llu checksum-guarded corruptions detected; %.1f s\n",
           fx->name, fx->clean.status ? b2p_status_name(fx->clean.status) : "ok",
           (unsigned long long)t->variants, (unsigned long long)nfailed, failed, trunc,
           (unsigned long long)t->opened_bad, (unsigned long long)t->detected,
           (unsigned long long)t->guarded, seconds);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_fixture(void **state) {
    fixture *fx = *state;
    double t0 = now();
    read_whole_file(fx);
    signal(SIGALRM, on_alarm);
    alarm(VARIANT_SECONDS);
    run_pipeline(fx->path, fx->size, &fx->clean);
    alarm(0);
    if (!fx->compressed) find_data_ranges(fx);
    variant *v = calloc((size_t)variant_count(), sizeof *v);
    assert_non_null(v);
    make_variants(fx, v);
    tally t;
    memset(&t, 0, sizeof t);
    check_outcome(&t, fx, NULL, &fx->clean);
    int failed_workers = run_variants(fx, v, work_dir, &t);
    print_summary(fx, &t, now() - t0);
    total_guarded += t.guarded;
    total_detected += t.detected;
    guarded_fixtures += has_guarded_units(fx);
    free(v);
    fixture_free(fx);
    assert_int_equal(failed_workers, 0);
    assert_int_equal(t.variants, variant_count());
    assert_int_equal(t.violations, 0);
}

/* The detection property must have been exercised, or it proves nothing. In a fixture with
 * guarded units those fill most of the page data, where half the corruptions land: each such
 * fixture gets hundreds (at least 379 on the corpus), so 100 per fixture is a safe floor. */
static void test_detection_exercised(void **state) {
    (void)state;
    printf("robustness: %llu checksum-guarded corruptions in %llu fixtures, %llu detected\n",
           (unsigned long long)total_guarded, (unsigned long long)guarded_fixtures,
           (unsigned long long)total_detected);
    assert_true(guarded_fixtures > 0);
    assert_true(total_guarded >= 100 * guarded_fixtures);
    assert_int_equal(total_detected, total_guarded);
}

static int make_work_dir(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(work_dir, sizeof work_dir, "%s/b2p-robust-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    return mkdtemp(work_dir) ? 0 : -1;
}

static int remove_work_dir(void **state) {
    (void)state;
    DIR *d = opendir(work_dir); /* copies left by a worker that died */
    if (d) {
        struct dirent *e;
        char p[4400];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", work_dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    return rmdir(work_dir);
}

static bool is_backup_name(const char *n) {
    size_t len = strlen(n);
    return len > 4 && (strcmp(n + len - 4, ".bak") == 0 || strcmp(n + len - 4, ".trn") == 0);
}

static int cmp_fixture(const void *a, const void *b) {
    return strcmp(((const fixture *)a)->name, ((const fixture *)b)->name);
}

/* Every *.bak and *.trn of dir, sorted by name. */
static fixture *list_fixtures(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    fixture *fx = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_backup_name(e->d_name)) continue;
        fixture *more = realloc(fx, (*n + 1) * sizeof *fx);
        if (!more) break;
        fx = more;
        memset(&fx[*n], 0, sizeof fx[*n]);
        snprintf(fx[*n].name, sizeof fx[*n].name, "%s", e->d_name);
        snprintf(fx[*n].path, sizeof fx[*n].path, "%s/%s", dir, e->d_name);
        (*n)++;
    }
    closedir(d);
    if (fx) qsort(fx, *n, sizeof *fx, cmp_fixture);
    return fx;
}

int main(void) {
    for (int i = 0; i < 4; i++) sigaction(fault_signals[i], NULL, &saved_fault_actions[i]);
    const char *dir = getenv("B2P_FIXTURES");
    size_t n = 0;
    fixture *fx = dir && dir[0] == '/' ? list_fixtures(dir, &n) : NULL;
    if (n == 0 && dir && access(dir, F_OK) != 0) { /* a clone without the corpus */
        fprintf(stderr, "test_robustness: SKIPPED: every test here mutates the real backups of the fixture corpus, "
                        "which is not at '%s'\n", dir);
        return 0;
    }
    if (n == 0) {
        fprintf(stderr, "test_robustness: B2P_FIXTURES must name (absolute) a directory of "
                        ".bak/.trn fixtures; got '%s'\n", dir ? dir : "");
        return 1;
    }
    struct CMUnitTest *tests = calloc(n + 1, sizeof *tests);
    if (!tests) return 1;
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){.name = fx[i].name, .test_func = test_fixture,
                                       .initial_state = &fx[i]};
    tests[n] = (struct CMUnitTest){.name = "detection_exercised", .test_func = test_detection_exercised};
    int rc = _cmocka_run_group_tests("robustness", tests, n + 1, make_work_dir, remove_work_dir);
    free(tests);
    free(fx);
    return rc;
}
