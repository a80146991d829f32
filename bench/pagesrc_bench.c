/* Throughput and memory of the page source (mtf/: b2p_pages_open, b2p_pages_foreach).
 *
 *   pagesrc_bench [options] SET...        SET = FILE or FILE+FILE+... (one backup set)
 *   pagesrc_bench [options] --auto FILE...  groups the files into sets itself (see plan_sets)
 *   pagesrc_bench --plan FILE...            only prints those groups, one per line
 *
 * Options: --min-time SEC (default 0.5) and --min-reps N (default 3): each measurement is
 * repeated until both are reached; --repeat N: N rounds over all sets (rounds interleave the
 * sets, so drift of the machine spreads over all of them), with a stability summary at the end;
 * --clock cpu|wall: what the figures are timed with (default cpu, see clock_now).
 *
 * For each set and round it prints one tab-separated line (header first) with:
 *   scan      b2p_backup_open + b2p_pages_open: one sequential pass that reads, classifies and
 *             verifies every 8 KB unit; bytes = stats->data_bytes (page data of the data streams)
 *   delivery  b2p_pages_foreach over every page: random access through the index; bytes =
 *             pages * 8192
 *   cat       the baseline, `cat FILE > /dev/null`, run by this program (fork + exec) with the
 *             files of the set named k times so that cat's start-up (about a millisecond) does
 *             not dominate these small files; bytes = k * file sizes
 * The three are interleaved (see time_interleaved) so that they see the same machine, each
 * repeated until it has both --min-time seconds and --min-reps repetitions. Times are the
 * MEDIAN over the repetitions (the minimum is printed too), by default the CPU time (user +
 * system) of the process doing the work: clock_gettime(CLOCK_PROCESS_CPUTIME_ID) around scan
 * and delivery, cat's own rusage from wait4; --clock wall uses CLOCK_MONOTONIC for all three.
 * Every file is read once before timing starts, so all three are measured from the page cache.
 * MB = 10^6 bytes.
 *
 * Peak memory: each set is measured in a child process, which reports its own ru_maxrss
 * (getrusage(RUSAGE_SELF), kB): that set's peak, as the parent's would only ever grow across
 * sets, and the rusage of wait4 would include the cat processes. A child that reports at once
 * gives the idle baseline (the program's own pages), printed as a comment line.
 *
 * Sets that the page source refuses on purpose are reported as "skip" with the reason: a log
 * backup (B2P_ERR_LOG_BACKUP), a differential whose full is not given (B2P_ERR_NEEDS_FULL),
 * encrypted or not-yet-decodable containers. A lone stripe (B2P_ERR_MISSING_STRIPE) is measured
 * with allow_missing_stripes. Any other failure is an "error" and makes the exit status 1.
 *
 * Build: see .ci/bench (links build/plain/libb2p.a). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtf/mtf.h"

enum {
    MAX_SET_FILES = 64,
    MAX_REPS = 1000000,              /* a safety stop for pathological timer behaviour */
    CAT_TARGET_BYTES = 128 << 20,    /* bytes per cat invocation: its start-up becomes a few % */
    CAT_MAX_COPIES = 4096,
};

typedef struct config {
    double min_time;
    unsigned min_reps;
    unsigned rounds;
    bool cpu_clock;          /* time by CPU time (default) rather than wall time: see clock_now */
} config;

/* One set: its files, and a short name for the output (basenames joined by '+'). */
typedef struct set_spec {
    const char *paths[MAX_SET_FILES];
    size_t npaths;
    char name[1024];
} set_spec;

/* What a measuring child reports to its parent through a pipe (plain bytes: same binary). */
typedef struct result {
    char status[8];         /* "ok", "skip", "error" */
    char container[16];     /* MTF, MSSQLBAK, mixed */
    char mode[96];
    char note[1200];        /* room for a b2p_error message */
    uint64_t data_bytes, pages, file_bytes;
    unsigned scan_reps, deliv_reps, cat_reps;
    double scan_med, scan_min, deliv_med, deliv_min, cat_med, cat_min;
    uint64_t cat_bytes;
    long peak_rss_kb;
} result;

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

/* ---- time and samples ------------------------------------------------------------------ */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The clock figures are timed with. CPU time of the working process (user + system, so the
 * kernel's copies out of the page cache count) leaves out the time other processes hold the
 * CPU: on a shared machine a 20 ms cat is often preempted while a 0.5 ms scan rarely is, which
 * made wall-clock ratios swing by 2x between runs. Wall time (--clock wall) is right on an
 * idle machine and when I/O waits matter; from the page cache there are none. */
static double clock_now(const config *cfg) {
    if (!cfg->cpu_clock) return now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool samples_push(samples *s, double x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v) return false;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return true;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts in place; the median of an even count is the mean of the two middle values. */
static double samples_median(samples *s) {
    if (s->n == 0) return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static double samples_min(const samples *s) {
    double m = s->n ? s->v[0] : 0;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] < m) m = s->v[i];
    return m;
}

static double mb_per_s(uint64_t bytes, double seconds) {
    return seconds > 0 ? (double)bytes / 1e6 / seconds : 0;
}

/* ---- sets -------------------------------------------------------------------------------- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void set_name(set_spec *s) {
    size_t len = 0;
    s->name[0] = '\0';
    for (size_t i = 0; i < s->npaths && len < sizeof s->name; i++)
        len += (size_t)snprintf(s->name + len, sizeof s->name - len, "%s%s", i ? "+" : "",
                                base_name(s->paths[i]));
}

/* FILE+FILE+... into s; arg is modified in place. A path that itself exists is taken whole,
 * so a file with '+' in its name still works. */
static bool set_parse(char *arg, set_spec *s) {
    struct stat sb;
    s->npaths = 0;
    if (stat(arg, &sb) == 0) {
        s->paths[s->npaths++] = arg;
    } else {
        for (char *p = arg; p; ) {
            char *plus = strchr(p, '+');
            if (plus) *plus = '\0';
            if (s->npaths == MAX_SET_FILES || *p == '\0') return false;
            s->paths[s->npaths++] = p;
            p = plus ? plus + 1 : NULL;
        }
    }
    set_name(s);
    return true;
}

/* ---- measuring one set (in the child) ---------------------------------------------------- */

static b2p_status open_source(const set_spec *s, bool allow, b2p_backup **bk, b2p_pages **src,
                              b2p_error *err) {
    b2p_open_options oo = {.allow_missing_stripes = allow};
    b2p_pages_options po = {.allow_missing_stripes = allow};
    *src = NULL;
    b2p_status st = b2p_backup_open(bk, s->paths, s->npaths, &oo, err);
    if (st) return st;
    st = b2p_pages_open(src, *bk, &po, err);
    if (st) {
        b2p_backup_free(*bk);
        *bk = NULL;
    }
    return st;
}

static void close_source(b2p_backup *bk, b2p_pages *src) {
    b2p_pages_free(src);
    b2p_backup_free(bk);
}

/* Refusals the page source makes by design are skips; anything else is a failure. */
static bool is_expected_refusal(b2p_status st) {
    return st == B2P_ERR_LOG_BACKUP || st == B2P_ERR_NEEDS_FULL || st == B2P_ERR_ENCRYPTED ||
           st == B2P_ERR_TDE || st == B2P_ERR_COMPRESSION;
}

static void set_note(result *r, const char *status, const char *why, const b2p_error *err) {
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->note, sizeof r->note, "%.100s%s%s", why, err ? ": " : "", err ? err->msg : "");
    for (char *c = r->note; *c; c++) /* the line is tab-separated */
        if (*c == '\t' || *c == '\n') *c = ' ';
}

static const char *skip_reason(b2p_status st) {
    switch (st) {
    case B2P_ERR_LOG_BACKUP: return "log backup, no data pages: skipped";
    case B2P_ERR_NEEDS_FULL: return "differential given without its full backup: skipped";
    default: return "not readable by the page source: skipped";
    }
}

static void describe(const b2p_backup *bk, const b2p_pages *src, bool allow, result *r) {
    size_t n = b2p_backup_media_count(bk), ncompressed = 0;
    for (size_t i = 0; i < n; i++) {
        const b2p_media *m = b2p_backup_media(bk, i);
        ncompressed += m->compressed;
        r->file_bytes += m->file_size;
    }
    snprintf(r->container, sizeof r->container, "%s",
             ncompressed == 0 ? "MTF" : ncompressed == n ? "MSSQLBAK" : "mixed");
    const b2p_set_info *set = b2p_pages_set(src);
    bool diff = set->type == B2P_BACKUP_DIFFERENTIAL || set->type == B2P_BACKUP_DIFF_FILE ||
                set->type == B2P_BACKUP_DIFF_PARTIAL;
    size_t len = (size_t)snprintf(r->mode, sizeof r->mode, "%s%s", b2p_backup_type_name(set->type),
                                  diff ? "+full" : "");
    /* Stripes: of the first striped media set among the files, how many families are here. */
    const b2p_media *striped = NULL;
    size_t here = 0;
    for (size_t i = 0; i < n; i++) {
        const b2p_media *m = b2p_backup_media(bk, i);
        if (!striped && m->family_count > 1) striped = m;
        if (striped && !memcmp(&m->media_set_guid, &striped->media_set_guid, sizeof m->media_set_guid))
            here++;
    }
    if (striped && len < sizeof r->mode)
        snprintf(r->mode + len, sizeof r->mode - len, " stripes %zu/%u%s", here,
                 striped->family_count, allow ? " allow-missing" : "");
}

static int count_page(void *ctx, uint16_t file_id, uint32_t page_id, const uint8_t *page) {
    (void)file_id;
    (void)page_id;
    (void)page;
    ++*(uint64_t *)ctx;
    return 0;
}

/* ---- the baseline: cat FILE > /dev/null ---------------------------------------------------- */

/* Runs argv (cat and its files) with stdout on /dev/null; returns its time (wall, or its CPU
 * time from wait4: see clock_now), < 0 on failure. */
static double run_cat(char *const *argv, const config *cfg) {
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return -1;
    double t1 = now();
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    return cfg->cpu_clock ? cpu : t1 - t0;
}

/* argv of `cat` naming the set's files enough times for CAT_TARGET_BYTES; *bytes = what it reads. */
static char **cat_argv(const set_spec *s, uint64_t file_bytes, uint64_t *bytes) {
    size_t copies = file_bytes ? (size_t)((CAT_TARGET_BYTES + file_bytes - 1) / file_bytes) : 1;
    if (copies > CAT_MAX_COPIES) copies = CAT_MAX_COPIES;
    char **argv = calloc(copies * s->npaths + 2, sizeof *argv);
    if (!argv) return NULL;
    size_t k = 0;
    argv[k++] = "cat";
    for (size_t c = 0; c < copies; c++)
        for (size_t i = 0; i < s->npaths; i++) argv[k++] = (char *)s->paths[i];
    *bytes = (uint64_t)copies * file_bytes;
    return argv;
}

/* Median time of `cat /dev/null`: what one cat start-up costs on this machine. */
static double cat_startup(const config *cfg) {
    char *argv[] = {"cat", "/dev/null", NULL};
    samples t = {0};
    double start = now();
    while (t.n < MAX_REPS && (now() - start < cfg->min_time || t.n < cfg->min_reps)) {
        double d = run_cat(argv, cfg);
        if (d < 0 || !samples_push(&t, d)) break;
    }
    double m = samples_median(&t);
    free(t.v);
    return m;
}

/* ---- measuring one set (in the child) ---------------------------------------------------- */

/* One repeated measurement: its samples and the time they add up to. */
typedef struct figure {
    samples t;
    double spent;
} figure;

static bool figure_done(const figure *f, const config *cfg) {
    return f->t.n >= MAX_REPS || (f->spent >= cfg->min_time && f->t.n >= cfg->min_reps);
}

static bool figure_add(figure *f, double seconds) {
    f->spent += seconds;
    return samples_push(&f->t, seconds);
}

/* Median and minimum into the result's fields; frees the samples. */
static void figure_finish(figure *f, unsigned *reps, double *med, double *min) {
    *reps = (unsigned)f->t.n;
    *min = samples_min(&f->t);
    *med = samples_median(&f->t);
    free(f->t.v);
}

/* What the three measurements of one set share. */
typedef struct bench_ctx {
    const config *cfg;
    const set_spec *set;
    bool allow;               /* open with allow_missing_stripes (a lone stripe) */
    b2p_pages *src;           /* kept open for delivery */
    char **cat;               /* argv of the baseline */
    result *r;
} bench_ctx;

/* One timed open + scan (the free is not timed). */
static bool scan_once(bench_ctx *c, figure *f) {
    b2p_backup *bk;
    b2p_pages *src;
    b2p_error err;
    double t0 = clock_now(c->cfg);
    if (open_source(c->set, c->allow, &bk, &src, &err)) {
        set_note(c->r, "error", "scan failed on a repetition", &err);
        return false;
    }
    double t1 = clock_now(c->cfg);
    close_source(bk, src);
    return figure_add(f, t1 - t0);
}

/* One timed foreach over every page of the open source. */
static bool deliver_once(bench_ctx *c, figure *f) {
    uint64_t pages = 0;
    b2p_error err;
    double t0 = clock_now(c->cfg);
    int rc = b2p_pages_foreach(c->src, count_page, &pages, &err);
    double t1 = clock_now(c->cfg);
    if (rc != 0) {
        set_note(c->r, "error", "foreach failed", &err);
        return false;
    }
    c->r->pages = pages;
    return figure_add(f, t1 - t0);
}

static bool cat_once(bench_ctx *c, figure *f) {
    double d = run_cat(c->cat, c->cfg);
    if (d < 0) {
        set_note(c->r, "error", "cat baseline failed", NULL);
        return false;
    }
    return figure_add(f, d);
}

/* Interleaves scan, delivery and cat, always advancing the one with the least time so far, so
 * that all three see the same machine (load from other work changes over seconds, and the
 * ratio to the baseline is only meaningful when both saw the same conditions). */
static void time_interleaved(bench_ctx *c, const config *cfg) {
    enum { SCAN, DELIVERY, CAT, NFIG };
    figure fig[NFIG];
    memset(fig, 0, sizeof fig);
    bool ok = true;
    while (ok) {
        int next = -1;
        for (int k = 0; k < NFIG; k++)
            if (!figure_done(&fig[k], cfg) && (next < 0 || fig[k].spent < fig[next].spent)) next = k;
        if (next < 0) break;
        ok = next == SCAN ? scan_once(c, &fig[SCAN])
           : next == DELIVERY ? deliver_once(c, &fig[DELIVERY]) : cat_once(c, &fig[CAT]);
    }
    result *r = c->r;
    figure_finish(&fig[SCAN], &r->scan_reps, &r->scan_med, &r->scan_min);
    figure_finish(&fig[DELIVERY], &r->deliv_reps, &r->deliv_med, &r->deliv_min);
    figure_finish(&fig[CAT], &r->cat_reps, &r->cat_med, &r->cat_min);
}

/* The first open decides how the set is opened (a lone stripe needs allow_missing_stripes)
 * and gives the stats; one untimed foreach and cat warm the page cache; then the timing. */
static void measure_set(const set_spec *s, const config *cfg, result *r) {
    bench_ctx c = {.cfg = cfg, .set = s, .r = r};
    b2p_backup *bk;
    b2p_error err;
    b2p_status st = open_source(s, c.allow, &bk, &c.src, &err);
    if (st == B2P_ERR_MISSING_STRIPE) {
        c.allow = true;
        st = open_source(s, c.allow, &bk, &c.src, &err);
    }
    if (st) {
        set_note(r, is_expected_refusal(st) ? "skip" : "error", skip_reason(st), &err);
        return;
    }
    describe(bk, c.src, c.allow, r);
    r->data_bytes = b2p_pages_stats(c.src)->data_bytes;
    snprintf(r->status, sizeof r->status, "ok");
    if (c.allow) snprintf(r->note, sizeof r->note, "lone stripe: measured with allow_missing_stripes");
    uint64_t warm = 0;
    b2p_pages_foreach(c.src, count_page, &warm, &err);
    c.cat = cat_argv(s, r->file_bytes, &r->cat_bytes);
    if (!c.cat || run_cat(c.cat, cfg) < 0) set_note(r, "error", "cat baseline failed", NULL);
    else time_interleaved(&c, cfg);
    free(c.cat);
    close_source(bk, c.src);
}

/* ---- one child per set --------------------------------------------------------------------- */

static bool read_all(int fd, void *buf, size_t len) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool write_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Runs measure_set in a child (when s is not NULL; with s NULL the child only reports: the idle
 * baseline). The peak RSS is the child's own getrusage(RUSAGE_SELF): the rusage wait4 returns
 * also covers the child's children, the cat processes of the baseline. */
static bool run_child(const set_spec *s, const config *cfg, result *r) {
    int fds[2];
    memset(r, 0, sizeof *r);
    fflush(NULL); /* else the child's exit would flush the parent's buffered lines twice */
    if (pipe(fds) != 0) return false;
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        close(fds[0]);
        if (s) measure_set(s, cfg, r);
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) r->peak_rss_kb = ru.ru_maxrss; /* Linux: kB */
        _exit(write_all(fds[1], r, sizeof *r) ? 0 : 1);
    }
    close(fds[1]);
    bool ok = read_all(fds[0], r, sizeof *r);
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ok = false;
    if (!ok) {
        snprintf(r->status, sizeof r->status, "error");
        snprintf(r->note, sizeof r->note, "measuring child failed (status %d)", status);
    }
    return ok;
}

/* ---- output -------------------------------------------------------------------------------- */

static void print_header(void) {
    printf("round\tset\tcontainer\tmode\tstatus\tdata_MB\tscan_MBps\tdelivery_MBps\tcat_MBps"
           "\tpeak_rss_kB\tdata_bytes\tpages\tscan_reps\tscan_med_s\tscan_min_s\tdelivery_reps"
           "\tdelivery_med_s\tdelivery_min_s\tfile_bytes\tcat_bytes\tcat_reps\tcat_med_s\tcat_min_s"
           "\tnote\n");
}

static void print_result(unsigned round, const set_spec *s, const result *r) {
    uint64_t deliv_bytes = r->pages * B2P_PAGE_SIZE;
    printf("%u\t%s\t%s\t%s\t%s\t%.3f\t%.1f\t%.1f\t%.1f\t%ld\t%llu\t%llu\t%u\t%.6f\t%.6f\t%u\t%.6f"
           "\t%.6f\t%llu\t%llu\t%u\t%.6f\t%.6f\t%s\n",
           round, s->name, r->container[0] ? r->container : "-", r->mode[0] ? r->mode : "-",
           r->status, (double)r->data_bytes / 1e6, mb_per_s(r->data_bytes, r->scan_med),
           mb_per_s(deliv_bytes, r->deliv_med), mb_per_s(r->cat_bytes, r->cat_med), r->peak_rss_kb,
           (unsigned long long)r->data_bytes, (unsigned long long)r->pages, r->scan_reps,
           r->scan_med, r->scan_min, r->deliv_reps, r->deliv_med, r->deliv_min,
           (unsigned long long)r->file_bytes, (unsigned long long)r->cat_bytes, r->cat_reps,
           r->cat_med, r->cat_min, r->note[0] ? r->note : "-");
}

/* min, median and max of one figure over the rounds, and (max - min) / median. */
static void print_spread(const char *what, int decimals, samples *v) {
    double lo = samples_min(v), med = samples_median(v), hi = v->n ? v->v[v->n - 1] : 0;
    printf(" %s %.*f/%.*f/%.*f (%.1f%%)", what, decimals, lo, decimals, med, decimals, hi,
           med > 0 ? 100 * (hi - lo) / med : 0);
}

/* With several rounds: how stable each set's figures were (results: round-major). */
static void print_stability(const set_spec *sets, size_t nsets, const result *res, unsigned rounds) {
    printf("# stability over %u rounds, min/median/max (spread = (max-min)/median):\n", rounds);
    for (size_t i = 0; i < nsets; i++) {
        samples scan = {0}, deliv = {0}, ratio = {0}, rss = {0};
        for (unsigned k = 0; k < rounds; k++) {
            const result *r = &res[(size_t)k * nsets + i];
            if (strcmp(r->status, "ok") != 0) continue;
            samples_push(&scan, mb_per_s(r->data_bytes, r->scan_med));
            samples_push(&deliv, mb_per_s(r->pages * B2P_PAGE_SIZE, r->deliv_med));
            double cat = mb_per_s(r->cat_bytes, r->cat_med);
            samples_push(&ratio, cat > 0 ? mb_per_s(r->data_bytes, r->scan_med) / cat : 0);
            samples_push(&rss, (double)r->peak_rss_kb);
        }
        if (scan.n) {
            printf("#");
            print_spread("scan MB/s", 1, &scan);
            print_spread(" delivery MB/s", 1, &deliv);
            print_spread(" scan/cat", 3, &ratio);
            print_spread(" peak RSS kB", 0, &rss);
            printf("  %s\n", sets[i].name);
        }
        free(scan.v);
        free(deliv.v);
        free(ratio.v);
        free(rss.v);
    }
}

/* ---- grouping files into sets (--auto, --plan) -------------------------------------------- */

/* What grouping needs to know of one file. */
typedef struct file_facts {
    bool opened;
    b2p_guid media_set;
    uint16_t family_count, family_sequence;
    size_t nsets;
    b2p_guid *set_guids;      /* backup_set_guid of each set */
    b2p_guid *base_guids;     /* differential_base_guid of each differential set */
    size_t nbases;
} file_facts;

static bool is_diff_type(b2p_backup_type t) {
    return t == B2P_BACKUP_DIFFERENTIAL || t == B2P_BACKUP_DIFF_FILE || t == B2P_BACKUP_DIFF_PARTIAL;
}

static void facts_read(const char *path, file_facts *f) {
    b2p_open_options oo = {.allow_missing_stripes = true}; /* a lone stripe must still open */
    b2p_backup *bk;
    b2p_error err;
    memset(f, 0, sizeof *f);
    if (b2p_backup_open(&bk, &path, 1, &oo, &err)) return;
    const b2p_media *m = b2p_backup_media(bk, 0);
    f->media_set = m->media_set_guid;
    f->family_count = m->family_count;
    f->family_sequence = m->family_sequence;
    f->set_guids = calloc(m->nsets + 1, sizeof *f->set_guids);
    f->base_guids = calloc(m->nsets + 1, sizeof *f->base_guids);
    if (f->set_guids && f->base_guids) {
        f->opened = true;
        f->nsets = m->nsets;
        for (size_t i = 0; i < m->nsets; i++) {
            f->set_guids[i] = m->sets[i].backup_set_guid;
            if (is_diff_type(m->sets[i].type)) f->base_guids[f->nbases++] = m->sets[i].differential_base_guid;
        }
    }
    b2p_backup_free(bk);
}

static bool guid_eq(const b2p_guid *a, const b2p_guid *b) {
    return memcmp(a, b, sizeof *a) == 0;
}

static bool contains(const size_t *list, size_t n, size_t x) {
    for (size_t i = 0; i < n; i++)
        if (list[i] == x) return true;
    return false;
}

/* Appends file i, or all files of its media set in stripe order when it is striped. */
static void add_stripes(const file_facts *f, size_t nfiles, size_t i, size_t *list, size_t *n) {
    if (!f[i].opened || f[i].family_count <= 1) {
        if (!contains(list, *n, i)) list[(*n)++] = i;
        return;
    }
    for (unsigned seq = 1; seq <= f[i].family_count; seq++)
        for (size_t j = 0; j < nfiles; j++)
            if (f[j].opened && f[j].family_sequence == seq && guid_eq(&f[j].media_set, &f[i].media_set) &&
                !contains(list, *n, j))
                list[(*n)++] = j;
}

/* The file holding the backup set with this GUID, or nfiles. */
static size_t find_set_file(const file_facts *f, size_t nfiles, const b2p_guid *g) {
    for (size_t j = 0; j < nfiles; j++)
        for (size_t s = 0; s < f[j].nsets; s++)
            if (guid_eq(&f[j].set_guids[s], g)) return j;
    return nfiles;
}

/* The set file i belongs to: its full backup's files first (when it is a differential and the
 * full is among the files), then its own stripes. */
static size_t group_of(const file_facts *f, size_t nfiles, size_t i, size_t *list) {
    size_t n = 0;
    for (size_t b = 0; b < f[i].nbases; b++) {
        size_t j = find_set_file(f, nfiles, &f[i].base_guids[b]);
        if (j < nfiles && j != i) add_stripes(f, nfiles, j, list, &n);
    }
    add_stripes(f, nfiles, i, list, &n);
    return n;
}

static bool same_members(const size_t *a, size_t na, const size_t *b, size_t nb) {
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (!contains(b, nb, a[i])) return false;
    return true;
}

/* Groups files into sets: stripes of one media set together, a differential with its full.
 * A file of a set already emitted (the second stripe) adds nothing. Returns the set count. */
static size_t plan_sets(char **files, size_t nfiles, set_spec *sets) {
    file_facts *f = calloc(nfiles, sizeof *f);
    size_t *members = calloc(nfiles * nfiles + 1, sizeof *members), *count = calloc(nfiles + 1, sizeof *count);
    size_t nsets = 0;
    if (!f || !members || !count) {
        fprintf(stderr, "pagesrc_bench: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < nfiles; i++) facts_read(files[i], &f[i]);
    for (size_t i = 0; i < nfiles; i++) {
        size_t *list = members + nsets * nfiles;
        size_t n = group_of(f, nfiles, i, list);
        bool dup = false;
        for (size_t g = 0; g < nsets && !dup; g++) dup = same_members(members + g * nfiles, count[g], list, n);
        if (dup || n > MAX_SET_FILES) continue;
        count[nsets] = n;
        sets[nsets].npaths = n;
        for (size_t k = 0; k < n; k++) sets[nsets].paths[k] = files[list[k]];
        set_name(&sets[nsets]);
        nsets++;
    }
    for (size_t i = 0; i < nfiles; i++) {
        free(f[i].set_guids);
        free(f[i].base_guids);
    }
    free(f);
    free(members);
    free(count);
    return nsets;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr, "usage: pagesrc_bench [--min-time SEC] [--min-reps N] [--repeat N] [--clock cpu|wall] SET...\n"
                    "       pagesrc_bench [options] --auto FILE...\n"
                    "       pagesrc_bench --plan FILE...\n"
                    "SET is FILE or FILE+FILE+... (the stripes of one backup, a full + differential)\n");
    exit(2);
}

/* A non-negative number, the whole argument. */
static bool parse_number(const char *s, double *d) {
    char *end;
    errno = 0;
    *d = strtod(s, &end);
    return !errno && end != s && !*end && *d >= 0;
}

/* Measures every set for every round; prints lines as they come. Returns the failure count. */
static unsigned run_all(const set_spec *sets, size_t nsets, const config *cfg) {
    /* The results are allocated and touched before any child is forked: a child starts with
     * the parent's resident pages, so a parent that grew between sets would shift every later
     * set's peak, and the idle baseline would no longer describe them. */
    result *res = calloc((size_t)cfg->rounds * nsets + 1, sizeof *res);
    if (!res) {
        fprintf(stderr, "pagesrc_bench: out of memory\n");
        exit(2);
    }
    memset(res, 0xFF, ((size_t)cfg->rounds * nsets + 1) * sizeof *res);
    result idle;
    run_child(NULL, cfg, &idle);
    printf("# page source bench: median of >= %u repetitions and >= %.2f s per figure, %s; page "
           "cache warm; MB = 10^6 bytes\n", cfg->min_reps, cfg->min_time,
           cfg->cpu_clock ? "CPU time (user + system) of the working process" : "wall time");
    printf("# baseline: cat FILE > /dev/null, same run (each file named k times per cat; cat "
           "start-up alone: %.3f ms)\n", 1e3 * cat_startup(cfg));
    printf("# idle child peak RSS: %ld kB (included in each peak_rss_kB)\n", idle.peak_rss_kb);
    print_header();
    unsigned failures = 0;
    for (unsigned k = 0; k < cfg->rounds; k++) {
        for (size_t i = 0; i < nsets; i++) {
            result *r = &res[(size_t)k * nsets + i];
            run_child(&sets[i], cfg, r);
            failures += strcmp(r->status, "error") == 0;
            print_result(k + 1, &sets[i], r);
            fflush(stdout);
        }
    }
    if (cfg->rounds > 1) print_stability(sets, nsets, res, cfg->rounds);
    free(res);
    return failures;
}

int main(int argc, char **argv) {
    config cfg = {.min_time = 0.5, .min_reps = 3, .rounds = 1, .cpu_clock = true};
    bool autoplan = false, plan_only = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        double v = 0;
        if (!strcmp(argv[i], "--auto")) autoplan = true;
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc && (!strcmp(argv[i + 1], "cpu") ||
                                                                !strcmp(argv[i + 1], "wall")))
            cfg.cpu_clock = !strcmp(argv[++i], "cpu");
        else if (!strcmp(argv[i], "--plan")) plan_only = autoplan = true;
        else if (i + 1 >= argc || !parse_number(argv[i + 1], &v)) usage();
        else if (!strcmp(argv[i], "--min-time")) cfg.min_time = v, i++;
        else if (!strcmp(argv[i], "--min-reps") && v >= 1) cfg.min_reps = (unsigned)v, i++;
        else if (!strcmp(argv[i], "--repeat") && v >= 1) cfg.rounds = (unsigned)v, i++;
        else usage();
    }
    size_t nargs = (size_t)(argc - i);
    if (nargs == 0) usage();
    set_spec *sets = calloc(nargs, sizeof *sets);
    size_t nsets = 0;
    if (!sets) return 2;
    if (autoplan) {
        nsets = plan_sets(argv + i, nargs, sets);
    } else {
        for (; i < argc; i++)
            if (!set_parse(argv[i], &sets[nsets++])) usage();
    }
    if (plan_only) {
        for (size_t k = 0; k < nsets; k++)
            for (size_t p = 0; p < sets[k].npaths; p++)
                printf("%s%s", sets[k].paths[p], p + 1 < sets[k].npaths ? "+" : "\n");
        free(sets);
        return 0;
    }
    unsigned failures = run_all(sets, nsets, &cfg);
    free(sets);
    return failures ? 1 : 0;
}
