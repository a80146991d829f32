/* Test support: fixture paths and MANIFEST.tsv (see fixtures.h). */
#include "fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include <cmocka.h>

const char *fixtures_dir(void) {
    const char *d = getenv("B2P_FIXTURES");
    return d && *d ? d : "../shared/fixtures";
}

const char *bak2pg_bin(void) {
    const char *b = getenv("B2P_BIN");
    return b && *b ? b : "./bak2pg";
}

/* Whether the corpus is there: a clone without ../shared still builds and passes its own tests,
 * and every test that needs real backups says so and is skipped. */
static bool corpus_present(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", fixtures_dir());
    return access(path, R_OK) == 0;
}

void fixtures_require(void) {
    if (corpus_present()) return;
    fprintf(stderr, "SKIPPED: this test reads the real backups of the fixture corpus, which is not at %s "
                    "(B2P_FIXTURES, or ../shared/fixtures beside the clone)\n", fixtures_dir());
    skip();
}

const char *fixture_path(const char *name) {
    static char buf[4096];
    fixtures_require();
    snprintf(buf, sizeof buf, "%s/%s", fixtures_dir(), name);
    return buf;
}

/* Copies tab-separated field n of line into out. */
static void field(const char *line, int n, char *out, size_t outlen) {
    const char *p = line;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\t');
        if (p) p++;
    }
    out[0] = 0;
    if (!p) return;
    size_t len = strcspn(p, "\t\r\n");
    if (len >= outlen) len = outlen - 1;
    memcpy(out, p, len);
    out[len] = 0;
}

size_t manifest_read(manifest_row **rows) {
    *rows = NULL;
    FILE *f = fopen(fixture_path("MANIFEST.tsv"), "r"); /* skips the test without the corpus */
    if (!f) return 0;
    char line[8192];
    size_t n = 0;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (header) {
            header = false;
            continue;
        }
        manifest_row *r = realloc(*rows, (n + 1) * sizeof *r);
        if (!r) break;
        *rows = r;
        manifest_row *m = &r[n++];
        field(line, 0, m->file, sizeof m->file);
        field(line, 7, m->database_name, sizeof m->database_name);
        field(line, 8, m->sql_version_guess, sizeof m->sql_version_guess);
        field(line, 9, m->compressed, sizeof m->compressed);
        field(line, 10, m->truth, sizeof m->truth);
        field(line, 11, m->notes, sizeof m->notes);
    }
    fclose(f);
    return n;
}

int tmpdir_make(char *dir, size_t len, const char *prefix) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, len, "%s/%s-XXXXXX", t && *t ? t : "/tmp", prefix);
    return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_remove(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A whole file as a string; "" when unreadable. */
static char *whole_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *d = NULL;
    size_t len = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        d = n >= 0 ? malloc((size_t)n + 1) : NULL;
        len = d ? fread(d, 1, (size_t)n, f) : 0;
        fclose(f);
    }
    if (!d) d = malloc(1);
    if (d) d[len] = 0;
    return d;
}

int bak2pg_run(const char *dir, bak2pg_output *o, const char *fmt, ...) {
    char args[8192], cmd[12288], out[1024], err[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(out, sizeof out, "%s/bak2pg.stdout", dir);
    snprintf(err, sizeof err, "%s/bak2pg.stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' %s <'/dev/null' >'%s' 2>'%s'", bak2pg_bin(), args, out, err);
    int st = system(cmd);
    bak2pg_output_free(o);
    o->out = whole_file(out);
    o->err = whole_file(err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void bak2pg_output_free(bak2pg_output *o) {
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
}
