/* Test support: where the shared fixtures are, and MANIFEST.tsv. */
#ifndef B2P_TEST_FIXTURES_H
#define B2P_TEST_FIXTURES_H

#include <stddef.h>

/* The fixtures directory: $B2P_FIXTURES, else ../shared/fixtures. */
const char *fixtures_dir(void);
/* The bak2pg binary under test: $B2P_BIN (set by the Makefile), else ./bak2pg. */
const char *bak2pg_bin(void);
/* Inside a cmocka test: skips it, saying so on stderr, when the fixture corpus is absent. */
void fixtures_require(void);
/* dir/name in a static buffer (valid until the next call); skips the calling test (as
 * fixtures_require) when the corpus is absent. */
const char *fixture_path(const char *name);

typedef struct manifest_row {
    char file[256];
    char database_name[256];
    char sql_version_guess[128];
    char compressed[128];
    char truth[256];
    char notes[2048];
} manifest_row;

/* Reads MANIFEST.tsv; returns the number of rows (0 if it cannot be read). Caller frees *rows. */
size_t manifest_read(manifest_row **rows);

/* What one bak2pg run printed, whole and NUL-terminated ("" when nothing). */
typedef struct bak2pg_output {
    char *out, *err;
} bak2pg_output;

/* Runs "bak2pg ARGS" (ARGS from fmt, shell-quoted by the caller) with stdin from /dev/null,
 * stdout and stderr captured through files in dir into *o (its previous text is freed); returns
 * the exit status, 128 + the signal when killed. */
int bak2pg_run(const char *dir, bak2pg_output *o, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void bak2pg_output_free(bak2pg_output *o);

/* Makes a fresh directory $TMPDIR/<prefix>-XXXXXX (default /tmp) into dir; 0, or -1. */
int tmpdir_make(char *dir, size_t len, const char *prefix);
/* Removes it and everything in it; 0, or -1. */
int tmpdir_remove(const char *dir);

#endif
