/* The property test of issue 12: names are data, everywhere.
 *
 * A seeded generator (tests/support/hostile.h) makes a backup whose every name (database,
 * schemas, tables, columns, primary and foreign keys; 200 and more per run) is drawn from a
 * hostile alphabet, with payloads that would touch a canary file if a name ever reached a shell,
 * psql's meta-commands or SQL as code, and names that climb out of directories or collide under
 * naming rules. Then, as a consultant handed the backup would:
 *   info, info --json, schema, schema --json   exit 0; text output holds no raw control bytes,
 *                                              bidi controls or invalid UTF-8 (JSON: no raw C0);
 *                                              the JSON's names are the backup's, byte for byte
 *   dump --all -o DIR                          one file per table, named by b2p_table_file_name,
 *                                              only inside DIR, holding the table's rows
 *   convert --keep-case [--compress zstd]      only the files convert writes, inside DIR, one data
 *     + psql -f load.sql (and review.sql)      file per table, manifest.json naming each; psql
 *                                              exits 0
 *   load --keep-case                           exit 0; the ledger names the backup's database and
 *                                              tables byte for byte
 * and after every load: the target holds exactly the schemas, tables, columns, indexes, primary
 * and foreign keys the backup names (pg_namespace, pg_class, pg_attribute, pg_constraint), named
 * byte for byte as README's naming rule says (--keep-case: unchanged; dbo -> public; cut to 63
 * bytes on a character boundary; a key whose name another relation of its schema holds gets its
 * table's name in front), with the backup's rows; `verify --keep-case` exits 0.
 * After every command: no canary exists (under the test's directory, the server's directory,
 * /tmp or /), and no file exists outside the output directories but the test's own.
 *
 * Every command runs with a fresh, empty directory as its working directory and HOME. Each
 * violation is collected (which command, which name, what happened) and all are reported at
 * the end of each test, with the seed. B2P_HOSTILE_SEED=N replays a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "tests/support/db_gen.h"
#include "tests/support/fixtures.h"
#include "tests/support/hostile.h"
#include "tests/support/minijson.h"
#include "tests/support/pgcompare.h"
#include "tests/support/pgserver.h"

static char tmpdir[256];                 /* T: everything the test makes is in here */
static char bak[512], expect_dir[512], capture_dir[512], desc_path[512];
static pgserver *server;
static hostile_db *hdb;
static int run_count;

/* ---- violations ------------------------------------------------------------------------------ */

static char **violations;
static size_t nviolations;

static void violation(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(const char *command, const char *fmt, ...) {
    char msg[4096];
    int n = snprintf(msg, sizeof msg, "[%s] ", command);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    char **v = realloc(violations, (nviolations + 1) * sizeof *v);
    if (!v) return;
    violations = v;
    violations[nviolations++] = strdup(msg);
}

/* Starts a test: violations left by one that crashed (cmocka caught a signal) are dropped. */
static void begin(void) {
    for (size_t i = 0; i < nviolations; i++) free(violations[i]);
    free(violations);
    violations = NULL;
    nviolations = 0;
}

/* Ends a test: every violation it found, then a failure that names the seed. */
static void report_violations(const char *property) {
    size_t n = nviolations;
    for (size_t i = 0; i < nviolations; i++) {
        if (i < 80) printf("  VIOLATION %s\n", violations[i]);
        free(violations[i]);
    }
    if (n > 80) printf("  ... and %zu more\n", n - 80);
    fflush(stdout); /* before cmocka's message on stderr */
    free(violations);
    violations = NULL;
    nviolations = 0;
    if (n)
        fail_msg("%s: %zu violations (seed %llu: B2P_HOSTILE_SEED=%llu replays this run)", property, n,
                 (unsigned long long)hdb->seed, (unsigned long long)hdb->seed);
    printf("  %s: ok\n", property);
}

/* ---- names as PostgreSQL keeps them (README "Converting: names") ------------------------------ */

/* The first bytes PostgreSQL keeps of an identifier: 63, cut on a character boundary. */
static void pg_name(const char *name, char out[64]) {
    size_t n = strlen(name);
    if (n > 63) {
        n = 63;
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) n--;
    }
    memcpy(out, name, n);
    out[n] = 0;
}

static void pg_schema(const char *schema, char out[64]) {
    if (!strcmp(schema, "dbo")) strcpy(out, "public");
    else pg_name(schema, out);
}

/* The primary key's name: its own, or, where a table of its schema holds that name already, the
 * table's name, '_' and its own. */
static void pg_key_name(const hostile_table *t, char out[64]) {
    char mine[64], schema[64], other[64], other_schema[64];
    pg_name(t->pk_name, mine);
    pg_schema(t->schema, schema);
    for (size_t i = 0; i < hdb->ntables; i++) {
        pg_schema(hdb->tables[i].schema, other_schema);
        pg_name(hdb->tables[i].name, other);
        if (!strcmp(schema, other_schema) && !strcmp(other, mine)) {
            char table[64], both[700];
            pg_name(t->name, table);
            snprintf(both, sizeof both, "%s_%s", table, t->pk_name);
            pg_name(both, out);
            return;
        }
    }
    strcpy(out, mine);
}

/* ---- running commands ------------------------------------------------------------------------ */

typedef struct run {
    char label[256];                     /* shown in violations */
    char home[600];                      /* a fresh directory: cwd (unless given) and HOME */
    int status;
    char *out, *err;                     /* what it printed, NUL-terminated */
    size_t out_len, err_len;
} run;

static void run_free(run *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Runs argv (argv[0] a path) with stdin /dev/null, its output into files, cwd (or, NULL, the
 * fresh home) as working directory and HOME the fresh home; at most 120 s. No shell anywhere. */
static void run_argv(run *r, const char *label, const char *cwd, char *const argv[]) {
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", label);
    int k = ++run_count;
    snprintf(r->home, sizeof r->home, "%s/run-%02d", tmpdir, k);
    if (mkdir(r->home, 0700)) fail_msg("mkdir %s failed", r->home);
    char out[700], err[700];
    snprintf(out, sizeof out, "%s/%02d.stdout", capture_dir, k);
    snprintf(err, sizeof err, "%s/%02d.stderr", capture_dir, k);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork failed");
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
        if (chdir(cwd ? cwd : r->home) || setenv("HOME", r->home, 1)) _exit(126);
        alarm(120);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r->out = read_file(out, &r->out_len);
    r->err = read_file(err, &r->err_len);
    if (!r->out) r->out = strdup(""), r->out_len = 0;
    if (!r->err) r->err = strdup(""), r->err_len = 0;
}

/* The first lines of text, shown: for a violation that quotes what a command said. */
static const char *first_lines(const char *text) {
    char cut[600];
    snprintf(cut, sizeof cut, "%s", text ? text : "");
    return hostile_shown(cut);
}

/* The end of text (where a failing command says why), shown. */
static const char *last_lines(const char *text) {
    size_t n = strlen(text ? text : "");
    return first_lines(n > 500 ? text + n - 500 : text);
}

static void expect_status(const run *r, int want) {
    if (r->status != want)
        violation(r->label, "exit status %d, expected %d; stderr ends: %s", r->status, want, last_lines(r->err));
}

/* ---- what a terminal receives ----------------------------------------------------------------- */

/* The code point at p (n bytes left), its length in *len; -1 when not valid UTF-8. */
static long utf8_at(const unsigned char *p, size_t n, size_t *len) {
    unsigned c = p[0];
    int more = c < 0x80 ? 0 : c >= 0xC2 && c < 0xE0 ? 1 : c >= 0xE0 && c < 0xF0 ? 2 : c >= 0xF0 && c < 0xF5 ? 3 : -1;
    if (more < 0 || (size_t)more >= n) return -1;
    long cp = more ? (long)(c & (0x3Fu >> more)) : (long)c;
    for (int k = 1; k <= more; k++) {
        if ((p[k] & 0xC0) != 0x80) return -1;
        cp = cp << 6 | (p[k] & 0x3F);
    }
    *len = (size_t)more + 1;
    return cp;
}

/* Characters that make a terminal or an editor show something else than the text: C0 controls
 * but the newline, DEL, C1 controls, bidirectional controls, line and paragraph separators. */
static bool deceives(long cp, bool json) {
    if (cp == '\n') return false;
    if (cp < 0x20) return true;
    if (json) return false; /* JSON must escape C0; the rest is its reader's to show */
    if (cp == 0x7F) return true;
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x200E || cp == 0x200F || cp == 0x061C || cp == 0x2028 || cp == 0x2029;
}

/* Text a command printed: each raw control, bidi override or invalid byte is a violation
 * (the first three, with the line they are on, then a count). */
static void check_shown(const run *r, const char *stream, const char *text, size_t len, bool json) {
    size_t bad = 0, line = 1;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        long cp = utf8_at(p + i, len - i, &n);
        if (cp < 0 || deceives(cp, json)) {
            if (++bad <= 3) {
                size_t start = i, end = i;
                while (start > 0 && p[start - 1] != '\n' && i - start < 100) start--;
                while (end < len && p[end] != '\n' && end - i < 100) end++;
                char ctx[256];
                snprintf(ctx, sizeof ctx, "%.*s", (int)(end - start), text + start);
                violation(r->label, "%s line %zu: raw %s U+%04lX in %s", stream, line,
                          cp < 0 ? "invalid UTF-8 byte" : "control character", cp < 0 ? (long)p[i] : cp,
                          hostile_shown(ctx));
            }
        }
        if (cp == '\n') line++;
        i += n;
    }
    if (bad > 3) violation(r->label, "%s: %zu more raw control characters or invalid bytes", stream, bad - 3);
}

/* ---- canaries and stray files ---------------------------------------------------------------- */

/* A payload touches CANARY-<tag>-<n> exactly; a climbing name writes EVIL-<tag>-<n> and an
 * extension. (A file name that merely holds such text, being made from a name, is no canary.) */
static bool is_canary_name(const char *base) {
    char c[64], e[64];
    snprintf(c, sizeof c, "CANARY-%s-", hdb->tag);
    snprintf(e, sizeof e, "EVIL-%s-", hdb->tag);
    return !strncmp(base, c, strlen(c)) || !strncmp(base, e, strlen(e));
}

static void rm_rf(const char *path);

/* Every canary under dir (recursively when deep), reported against command and removed. */
static void find_canaries(const char *command, const char *dir, bool deep) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st)) continue;
        if (is_canary_name(e->d_name)) {
            const hostile_canary *c = hostile_canary_of(hdb, e->d_name);
            if (c && strstr(c->path, "CANARY-"))
                violation(command, "ran a program: %s exists; payload \"%s\" in the %s %s", hostile_shown(path), c->what,
                          c->role, hostile_shown(c->name));
            else if (c)
                violation(command, "wrote outside its directory: %s exists; %s, the %s %s", hostile_shown(path), c->what,
                          c->role, hostile_shown(c->name));
            else
                violation(command, "%s exists (a canary of this run)", hostile_shown(path));
            rm_rf(path);
            continue;
        }
        if (deep && S_ISDIR(st.st_mode)) find_canaries(command, path, deep);
    }
    closedir(d);
}

static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st)) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Directories whose contents are some command's output (checked by that command's test). */
static char outputs[32][700];
static size_t noutputs;

static void allow_output(const char *dir) {
    if (noutputs < sizeof outputs / sizeof outputs[0]) snprintf(outputs[noutputs++], sizeof outputs[0], "%s", dir);
}

static bool allowed(const char *path) {
    if (!strcmp(path, bak) || !strcmp(path, expect_dir) || !strcmp(path, capture_dir) || !strcmp(path, desc_path))
        return true;
    for (size_t i = 0; i < noutputs; i++)
        if (!strcmp(path, outputs[i])) return true;
    return false;
}

/* Everything under dir that is neither the test's own nor an output directory: a stray file.
 * dir is T or a run's home (which holds nothing but, maybe, the output directory). */
static void find_strays(const char *command, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (allowed(path)) continue;
        struct stat st;
        if (lstat(path, &st)) continue;
        if (S_ISDIR(st.st_mode) && !strncmp(e->d_name, "run-", 4) && !strcmp(dir, tmpdir)) {
            find_strays(command, path);
            continue;
        }
        violation(command, "stray %s %s, outside every output directory", S_ISDIR(st.st_mode) ? "directory" : "file",
                  hostile_shown(path));
        rm_rf(path);
    }
    closedir(d);
}

/* After each command: no canary anywhere it could have landed, no stray file. */
static void check_traces(const char *command) {
    find_canaries(command, tmpdir, true);
    find_canaries(command, pgserver_socket_dir(server), true); /* COPY ... TO PROGRAM runs here */
    find_canaries(command, "/tmp", false);
    find_canaries(command, "/", false);
    find_strays(command, tmpdir);
}

/* After each bak2pg command: check_traces, and what it printed is safe to show (JSON on stdout
 * when json). */
static void check_after(const run *r, bool json) {
    check_traces(r->label);
    check_shown(r, "stdout", r->out, r->out_len, json);
    check_shown(r, "stderr", r->err, r->err_len, false);
}

/* Runs bak2pg with args (NULL-terminated), in a fresh directory. */
static void bak2pg(run *r, const char *label, bool json, ...) {
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)bak2pg_bin();
    va_list ap;
    va_start(ap, json);
    for (char *a; n < 31 && (a = va_arg(ap, char *));) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    run_argv(r, label, NULL, argv);
    check_after(r, json);
}

/* ---- files in a directory --------------------------------------------------------------------- */

/* The entries of dir, one per line, sorted: each relative path shown (hostile_shown: names hold
 * newlines), a subdirectory's with " (directory)" after it and then its entries, anything but a
 * regular file or directory with " (not a regular file)". */
static void list_dir(const char *dir, const char *prefix, b2p_buf *out) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char **v = realloc(names, (n + 1) * sizeof *v);
        if (!v) break;
        names = v;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: a few dozen names */
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        char path[4096], rel[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(rel, sizeof rel, "%s%s", prefix, names[i]);
        struct stat st = {0};
        bool dir_entry = !lstat(path, &st) && S_ISDIR(st.st_mode);
        b2p_buf_puts(out, hostile_shown(rel), NULL);
        b2p_buf_puts(out, dir_entry ? " (directory)" : S_ISREG(st.st_mode) ? "" : " (not a regular file)", NULL);
        b2p_buf_puts(out, "\n", NULL);
        if (dir_entry) {
            strcat(rel, "/");
            list_dir(path, rel, out);
        }
        free(names[i]);
    }
    free(names);
}

/* Lines of a listing, as an array (pointers into text, which is cut). */
static size_t split_lines(char *text, char **lines, size_t max) {
    size_t n = 0;
    for (char *p = text, *e; n < max && (e = strchr(p, '\n')); p = e + 1) {
        *e = 0;
        lines[n++] = p;
    }
    return n;
}

static bool in_list(const char *s, char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i])) return true;
    return false;
}

/* The expected rows of table t (what mkbak's --expect wrote), NULL when unreadable. */
static char *expected_rows(const hostile_table *t, size_t *len) {
    b2p_buf file = {0};
    b2p_table_file_name(&file, t->schema, t->name, "copy", NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", expect_dir, file.data ? file.data : "");
    b2p_buf_free(&file);
    return read_file(path, len);
}

/* Whether two sets of COPY lines are equal (order aside); else the first line that differs. */
static bool same_rows(char *want, size_t want_len, char *got, size_t got_len, char *diff, size_t difflen) {
    sort_lines(want, want_len);
    sort_lines(got, got_len);
    if (want_len == got_len && !memcmp(want, got, want_len)) return true;
    size_t i = 0;
    while (i < want_len && i < got_len && want[i] == got[i]) i++;
    while (i > 0 && want[i - 1] != '\n') i--;
    char w[400], g[400];
    snprintf(w, sizeof w, "%.*s", (int)strcspn(want + i, "\n"), want + i);
    snprintf(g, sizeof g, "%.*s", (int)strcspn(i <= got_len ? got + i : "", "\n"), i <= got_len ? got + i : "");
    snprintf(diff, difflen, "first difference: expected row %s, found %s", hostile_shown(w), hostile_shown(g));
    return false;
}

/* ---- the target database ---------------------------------------------------------------------- */

/* name as an SQL identifier, for the test's own queries. */
static void quote_ident(b2p_buf *b, const char *name) {
    b2p_buf_puts(b, "\"", NULL);
    for (const char *p = name; *p; p++) b2p_buf_append(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1, NULL);
    b2p_buf_puts(b, "\"", NULL);
}

/* One object as a line: kind and its names, each shown (so that the line says which bytes). */
static void add_key(b2p_buf *keys, const char *kind, const char *a, const char *b, const char *c, const char *ref) {
    b2p_buf_puts(keys, kind, NULL);
    b2p_buf_puts(keys, " ", NULL);
    b2p_buf_puts(keys, hostile_shown(a), NULL);
    if (b) b2p_buf_puts(keys, ".", NULL), b2p_buf_puts(keys, hostile_shown(b), NULL);
    if (c) b2p_buf_puts(keys, ".", NULL), b2p_buf_puts(keys, hostile_shown(c), NULL);
    if (ref) b2p_buf_puts(keys, " references ", NULL), b2p_buf_puts(keys, ref, NULL);
    b2p_buf_puts(keys, "\n", NULL);
}

/* The objects the backup names, as PostgreSQL must hold them. */
static void expected_objects(b2p_buf *keys) {
    char schemas[HOSTILE_MAX_TABLES][64];
    size_t nschemas = 0;
    for (size_t i = 0; i < hdb->ntables; i++) {
        const hostile_table *t = &hdb->tables[i];
        char s[64], name[64], col[64], key[64];
        pg_schema(t->schema, s);
        pg_name(t->name, name);
        size_t k = 0;
        while (k < nschemas && strcmp(schemas[k], s)) k++;
        if (k == nschemas && strcmp(s, "public")) {
            strcpy(schemas[nschemas++], s);
            add_key(keys, "schema", s, NULL, NULL, NULL);
        }
        add_key(keys, "table", s, name, NULL, NULL);
        for (size_t c = 0; c < t->ncolumns; c++) {
            pg_name(t->columns[c], col);
            add_key(keys, "column", s, name, col, NULL);
        }
        pg_key_name(t, key);
        add_key(keys, "index", s, key, NULL, NULL);
        add_key(keys, "primary key", s, name, key, NULL);
        if (t->fk_name) {
            const hostile_table *p = &hdb->tables[t->fk_parent];
            char ps[64], pn[64], fk[64], ref[400];
            pg_schema(p->schema, ps);
            pg_name(p->name, pn);
            pg_name(t->fk_name, fk);
            snprintf(ref, sizeof ref, "%s", hostile_shown(ps));
            snprintf(ref + strlen(ref), sizeof ref - strlen(ref), ".%s", hostile_shown(pn));
            add_key(keys, "foreign key", s, name, fk, ref);
        }
    }
}

static const char USER_NAMESPACES[] =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'bak2pg') AND n.nspname !~ '^pg_(temp|toast_temp)_'";

/* The objects database dbname holds, outside PostgreSQL's and the ledger's schemas. */
static bool actual_objects(const char *label, const char *dbname, b2p_buf *keys) {
    PGconn *conn = pgserver_connect(server, dbname);
    if (!conn) {
        violation(label, "cannot connect to %s: %s", dbname, pgserver_error());
        return false;
    }
    char sql[4][1200];
    snprintf(sql[0], sizeof sql[0], "SELECT n.nspname FROM pg_namespace n WHERE %s AND n.nspname <> 'public'", USER_NAMESPACES);
    snprintf(sql[1], sizeof sql[1],
             "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE %s",
             USER_NAMESPACES);
    snprintf(sql[2], sizeof sql[2],
             "SELECT n.nspname, c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE %s AND a.attnum > 0 AND NOT a.attisdropped "
             "AND c.relkind IN ('r', 'p')",
             USER_NAMESPACES);
    snprintf(sql[3], sizeof sql[3],
             "SELECT n.nspname, c.relname, k.conname, k.contype, rn.nspname, rc.relname FROM pg_constraint k "
             "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
             "LEFT JOIN pg_class rc ON rc.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE %s",
             USER_NAMESPACES);
    bool ok = true;
    for (int q = 0; q < 4 && ok; q++) {
        PGresult *res = PQexec(conn, sql[q]);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            violation(label, "catalog query failed: %s", PQerrorMessage(conn));
            ok = false;
        }
        for (int i = 0; ok && i < PQntuples(res); i++) {
            const char *a = PQgetvalue(res, i, 0), *b = PQnfields(res) > 1 ? PQgetvalue(res, i, 1) : NULL;
            if (q == 0) {
                add_key(keys, "schema", a, NULL, NULL, NULL);
            } else if (q == 1) {
                char kind = PQgetvalue(res, i, 2)[0];
                char other[40];
                snprintf(other, sizeof other, "relation (relkind %c)", kind);
                add_key(keys, kind == 'r' || kind == 'p' ? "table" : kind == 'i' ? "index" : other, a, b, NULL, NULL);
            } else if (q == 2) {
                add_key(keys, "column", a, b, PQgetvalue(res, i, 2), NULL);
            } else {
                char type = PQgetvalue(res, i, 3)[0], ref[400] = "", other[40];
                if (type == 'f') {
                    snprintf(ref, sizeof ref, "%s", hostile_shown(PQgetvalue(res, i, 4)));
                    snprintf(ref + strlen(ref), sizeof ref - strlen(ref), ".%s", hostile_shown(PQgetvalue(res, i, 5)));
                }
                snprintf(other, sizeof other, "constraint (type %c)", type);
                add_key(keys, type == 'p' ? "primary key" : type == 'f' ? "foreign key" : other, a, b, PQgetvalue(res, i, 2),
                        type == 'f' ? ref : NULL);
            }
        }
        PQclear(res);
    }
    PQfinish(conn);
    return ok;
}

/* The target holds exactly the objects the backup names, byte for byte. */
static void check_names(const char *label, const char *dbname) {
    b2p_buf want = {0}, got = {0};
    b2p_buf_puts(&want, "", NULL); /* never NULL, even with nothing in it */
    b2p_buf_puts(&got, "", NULL);
    expected_objects(&want);
    if (!actual_objects(label, dbname, &got)) goto done;
    sort_lines(want.data, want.len);
    sort_lines(got.data, got.len);
    char *w[2048], *g[2048];
    size_t nw = split_lines(want.data, w, 2048), ng = split_lines(got.data, g, 2048), missing = 0, extra = 0;
    enum { SHOWN = 12 }; /* each, then the count */
    for (size_t i = 0; i < nw; i++)
        if (!in_list(w[i], g, ng) && ++missing <= SHOWN) violation(label, "missing in the target: %s", w[i]);
    for (size_t i = 0; i < ng; i++)
        if (!in_list(g[i], w, nw) && ++extra <= SHOWN) violation(label, "in the target, not named by the backup: %s", g[i]);
    if (missing > SHOWN || extra > SHOWN)
        violation(label, "in all, %zu of the %zu objects the backup names are missing, %zu others are there", missing, nw,
                  extra);
    printf("    %s: %zu objects expected, %zu held, %zu missing, %zu unexpected\n", label, nw, ng, missing, extra);
done:
    b2p_buf_free(&want);
    b2p_buf_free(&got);
}

/* Every table holds the backup's rows (COPY TO STDOUT against mkbak's expected rows). */
static void check_rows(const char *label, const char *dbname) {
    PGconn *conn = pgserver_connect(server, dbname);
    if (!conn) return;
    for (size_t i = 0; i < hdb->ntables; i++) {
        const hostile_table *t = &hdb->tables[i];
        char s[64], n[64];
        pg_schema(t->schema, s);
        pg_name(t->name, n);
        b2p_buf q = {0};
        b2p_buf_puts(&q, "COPY ", NULL);
        quote_ident(&q, s);
        b2p_buf_puts(&q, ".", NULL);
        quote_ident(&q, n);
        b2p_buf_puts(&q, " TO STDOUT", NULL);
        size_t got_len = 0, want_len = 0;
        char *got = pgserver_copy_out(conn, q.data, &got_len), *want = expected_rows(t, &want_len);
        char diff[2000];
        if (got && want && !same_rows(want, want_len, got, got_len, diff, sizeof diff))
            violation(label, "table %s.%s holds other rows than the backup; %s", hostile_shown(s), hostile_shown(n), diff);
        /* a table that is not there is reported by check_names */
        free(got);
        free(want);
        b2p_buf_free(&q);
    }
    PQfinish(conn);
}

static void conninfo(const char *dbname, char *buf, size_t len) { pgserver_conninfo_db(server, dbname, buf, len); }

static void verify(const char *label, const char *dbname) {
    char dsn[1024], l[300];
    conninfo(dbname, dsn, sizeof dsn);
    snprintf(l, sizeof l, "verify --keep-case (after %s)", label);
    run r;
    bak2pg(&r, l, false, "verify", "--keep-case", "--dsn", dsn, bak, (char *)NULL);
    if (r.status) violation(l, "exit status %d, expected 0 (equal); stdout ends: %s stderr ends: %s", r.status,
                            last_lines(r.out), last_lines(r.err));
    run_free(&r);
}

/* ---- group setup: the server and the backup ---------------------------------------------------- */

static uint64_t choose_seed(void) {
    const char *s = getenv("B2P_HOSTILE_SEED");
    if (s && *s) return strtoull(s, NULL, 10);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
}

static int setup(void **state) {
    (void)state;
    if (pgserver_test_setup("b2p-hostile", tmpdir, sizeof tmpdir, &server)) return -1;
    uint64_t seed = choose_seed();
    char tag[24];
    snprintf(tag, sizeof tag, "h%06llx", (unsigned long long)((seed ^ (uint64_t)getpid()) & 0xFFFFFF));
    hdb = hostile_generate(seed, tag);
    if (!hdb) return -1;
    snprintf(bak, sizeof bak, "%s/hostile.bak", tmpdir);
    snprintf(desc_path, sizeof desc_path, "%s/hostile.txt", tmpdir);
    snprintf(expect_dir, sizeof expect_dir, "%s/expect", tmpdir);
    snprintf(capture_dir, sizeof capture_dir, "%s/captured", tmpdir);
    if (mkdir(expect_dir, 0700) || mkdir(capture_dir, 0700)) return -1;
    FILE *d = fopen(desc_path, "w");
    if (d) fputs(hdb->description, d), fclose(d);
    char err[512];
    dbg_desc *desc = dbg_parse(hdb->description, err, sizeof err);
    FILE *f = desc ? fopen(bak, "wb") : NULL;
    dbg_write_options o = {.expect_dir = expect_dir};
    bool ok = f && dbg_write(desc, f, &o, err, sizeof err);
    if (f && fclose(f)) ok = false;
    dbg_free(desc);
    printf("hostile names: seed %llu (B2P_HOSTILE_SEED=%llu replays it), %zu distinct names, %zu tables, "
           "%zu canaries\n",
           (unsigned long long)seed, (unsigned long long)seed, hdb->nnames, hdb->ntables, hdb->ncanaries);
    if (!ok) fprintf(stderr, "test_hostile: the backup could not be made: %s (description in %s)\n", err, desc_path);
    return ok ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    for (size_t i = 0; hdb && i < hdb->ncanaries; i++) /* a canary /tmp still holds (not attributed) */
        if (!strncmp(hdb->canaries[i].path, "/tmp/", 5)) unlink(hdb->canaries[i].path);
    int rc = pgserver_test_teardown(server, tmpdir);
    hostile_free(hdb);
    return rc;
}

/* ---- the properties ---------------------------------------------------------------------------- */

static void test_generator_is_hostile_enough(void **state) {
    (void)state;
    /* the floor: 200 names a run; and every kind of shape in every run */
    assert_true(hdb->nnames >= 200);
    assert_true(hdb->ncanaries >= 20);
    bool long_name = false, case_pair = false, dot = false;
    for (size_t i = 0; i < hdb->ntables; i++) {
        const hostile_table *t = &hdb->tables[i];
        dot |= !strcmp(t->name, ".") || !strcmp(t->name, "..");
        for (size_t c = 0; c < t->ncolumns; c++) long_name |= strlen(t->columns[c]) > 63;
        long_name |= strlen(t->name) > 63;
        for (size_t k = 0; k < i; k++) case_pair |= !strcasecmp(t->name, hdb->tables[k].name) && strcmp(t->name, hdb->tables[k].name);
    }
    assert_true(long_name && case_pair && dot);
    /* every payload kind (20) and both climbing names, in names (values come on top) */
    size_t kinds = 0;
    for (size_t i = 0; i < hdb->ncanaries; i++) {
        size_t k = 0;
        while (k < i && (strcmp(hdb->canaries[k].what, hdb->canaries[i].what) || !strcmp(hdb->canaries[k].role, "value"))) k++;
        kinds += k == i && strcmp(hdb->canaries[i].role, "value");
    }
    printf("  %zu kinds of payload in names\n", kinds);
    assert_true(kinds >= 22);
    /* the same seed, the same description */
    hostile_db *again = hostile_generate(hdb->seed, hdb->tag);
    assert_non_null(again);
    assert_string_equal(again->description, hdb->description);
    hostile_free(again);
}

/* The names in a JSON document: every member `key` anywhere in v, appended to out. */
static void json_strings(const mj_value *v, const char *key, const char **out, size_t *n, size_t max) {
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        if (v->type == MJ_OBJECT && !strcmp(v->keys[i], key) && v->items[i].type == MJ_STRING && *n < max)
            out[(*n)++] = v->items[i].string;
        if (v->items[i].type == MJ_OBJECT || v->items[i].type == MJ_ARRAY) json_strings(&v->items[i], key, out, n, max);
    }
}

/* The string member key of each object of array v, appended to out. */
static void member_strings(const mj_value *v, const char *key, const char **out, size_t *n, size_t max) {
    for (size_t i = 0; v && v->type == MJ_ARRAY && i < v->n; i++) {
        const char *s = mj_get_string(&v->items[i], key);
        if (s && *n < max) out[(*n)++] = s;
    }
}

static const hostile_table *table_named(const char *schema, const char *name) {
    for (size_t i = 0; schema && name && i < hdb->ntables; i++)
        if (!strcmp(hdb->tables[i].schema, schema) && !strcmp(hdb->tables[i].name, name)) return &hdb->tables[i];
    return NULL;
}

/* schema --json: every table, column and key by the backup's own name, byte for byte. */
static void check_schema_json(const run *r) {
    mj_value *doc = mj_parse(r->out, NULL);
    if (!doc) {
        violation(r->label, "stdout is not JSON");
        return;
    }
    const char *database = mj_get_string(doc, "database");
    if (!database || strcmp(database, hdb->database))
        violation(r->label, "database %s, the backup's is %s", hostile_shown(database), hostile_shown(hdb->database));
    const mj_value *tables = mj_get(doc, "tables");
    size_t found = 0;
    for (size_t i = 0; tables && i < tables->n; i++) {
        const mj_value *jt = &tables->items[i];
        const char *schema = mj_get_string(jt, "schema"), *name = mj_get_string(jt, "name");
        const hostile_table *t = table_named(schema, name);
        if (!t) {
            violation(r->label, "table %s.%s: no such table in the backup", hostile_shown(schema), hostile_shown(name));
            continue;
        }
        found++;
        const mj_value *cols = mj_get(jt, "columns");
        for (size_t c = 0; c < t->ncolumns; c++) {
            const char *jc = cols && c < cols->n ? mj_get_string(&cols->items[c], "name") : NULL;
            if (!jc || strcmp(jc, t->columns[c]))
                violation(r->label, "table %s: column %zu is %s, the backup's is %s", hostile_shown(t->name), c + 1,
                          hostile_shown(jc), hostile_shown(t->columns[c]));
        }
        const char *keys[8], *fks[8];
        size_t nkeys = 0, nfks = 0;
        member_strings(mj_get(jt, "indexes"), "name", keys, &nkeys, 8);
        member_strings(mj_get(jt, "foreign_keys"), "name", fks, &nfks, 8);
        if (nkeys != 1 || strcmp(keys[0], t->pk_name))
            violation(r->label, "table %s: primary key %s, the backup's is %s", hostile_shown(t->name),
                      hostile_shown(nkeys ? keys[0] : NULL), hostile_shown(t->pk_name));
        if (t->fk_name ? nfks != 1 || strcmp(fks[0], t->fk_name) : nfks != 0)
            violation(r->label, "table %s: foreign key %s, the backup's is %s", hostile_shown(t->name),
                      hostile_shown(nfks ? fks[0] : NULL), hostile_shown(t->fk_name));
    }
    if (found != hdb->ntables) violation(r->label, "%zu of the backup's %zu tables listed", found, hdb->ntables);
    mj_free(doc);
}

static void test_info_and_schema_show_names_as_data(void **state) {
    (void)state;
    begin();
    run r;
    bak2pg(&r, "info", false, "info", bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);

    bak2pg(&r, "info --check", false, "info", "--check", bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);

    bak2pg(&r, "info --json", true, "info", "--json", bak, (char *)NULL);
    expect_status(&r, 0);
    mj_value *doc = mj_parse(r.out, NULL);
    const char *names[16];
    size_t n = 0;
    json_strings(doc, "database_name", names, &n, 16);
    if (!doc) violation(r.label, "stdout is not JSON");
    else if (!n) violation(r.label, "no database_name");
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], hdb->database))
            violation(r.label, "database_name %s, the backup's is %s", hostile_shown(names[i]), hostile_shown(hdb->database));
    mj_free(doc);
    run_free(&r);

    bak2pg(&r, "schema", false, "schema", bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);

    bak2pg(&r, "schema --json", true, "schema", "--json", bak, (char *)NULL);
    expect_status(&r, 0);
    check_schema_json(&r);
    run_free(&r);

    /* the plans (-l) name every table, the backup's names beside PostgreSQL's */
    bak2pg(&r, "dump -l --all", false, "dump", "-l", "--all", "--include-ssms-tables", bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);
    bak2pg(&r, "convert -l --keep-case", false, "convert", "-l", "--keep-case", bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);
    report_violations("info, schema and the plans: names shown as data");
}

static void test_dump_writes_only_inside_its_directory(void **state) {
    (void)state;
    begin();
    run r;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/run-%02d/out", tmpdir, run_count + 1);
    allow_output(dir);
    bak2pg(&r, "dump --all -o DIR", false, "dump", "--all", "-o", dir, bak, (char *)NULL);
    expect_status(&r, 0);
    /* exactly one file per table, named by b2p_table_file_name, with the table's rows */
    b2p_buf listing = {0};
    b2p_buf_puts(&listing, "", NULL);
    list_dir(dir, "", &listing);
    char *got[256];
    size_t ngot = listing.data ? split_lines(listing.data, got, 256) : 0;
    char *want[HOSTILE_MAX_TABLES];
    for (size_t i = 0; i < hdb->ntables; i++) {
        const hostile_table *t = &hdb->tables[i];
        b2p_buf file = {0};
        b2p_table_file_name(&file, t->schema, t->name, "copy", NULL);
        want[i] = strdup(hostile_shown(file.data));
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, file.data);
        b2p_buf_free(&file);
        if (!in_list(want[i], got, ngot)) {
            violation(r.label, "no file %s for table %s.%s", want[i], hostile_shown(t->schema), hostile_shown(t->name));
            continue;
        }
        size_t got_len = 0, want_len = 0;
        char *rows = read_file(path, &got_len), *expect = expected_rows(t, &want_len);
        char diff[2000];
        if (rows && expect && !same_rows(expect, want_len, rows, got_len, diff, sizeof diff))
            violation(r.label, "%s holds other rows than table %s; %s", want[i], hostile_shown(t->name), diff);
        free(rows);
        free(expect);
    }
    for (size_t i = 0; i < ngot; i++)
        if (!in_list(got[i], want, hdb->ntables) && strcmp(got[i], "\".bak2pg-files\""))
            violation(r.label, "unexpected %s in the output directory", got[i]);
    for (size_t i = 0; i < hdb->ntables; i++) free(want[i]);
    b2p_buf_free(&listing);
    run_free(&r);
    report_violations("dump -o: one file per table, inside DIR");
}

/* convert's directory: its five files, a data directory with one file per table and nothing
 * else, and a manifest that names each data file once, for a table of the backup. */
static void check_convert_dir(const char *label, const char *dir) {
    static const char *const top[] = {"\"pre-data.sql\"", "\"post-data.sql\"", "\"load.sql\"", "\"review.sql\"",
                                      "\"manifest.json\"", "\"data\" (directory)", "\".bak2pg-files\""};
    b2p_buf listing = {0};
    b2p_buf_puts(&listing, "", NULL);
    list_dir(dir, "", &listing);
    char *got[256];
    size_t ngot = listing.data ? split_lines(listing.data, got, 256) : 0, data_files = 0;
    for (size_t i = 0; i < 5; i++)
        if (!in_list(top[i], got, ngot)) violation(label, "no %s in the output directory", top[i]);
    for (size_t i = 0; i < ngot; i++) {
        if (in_list(got[i], (char *const *)top, sizeof top / sizeof top[0])) continue;
        if (!strncmp(got[i], "\"data/", 6) && !strchr(got[i] + 6, '/') && !strstr(got[i], "\" (")) {
            data_files++;
            continue;
        }
        violation(label, "unexpected %s in the output directory", got[i]);
    }
    if (data_files != hdb->ntables)
        violation(label, "%zu data files for %zu tables (one file per table, whatever the names)", data_files, hdb->ntables);

    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    mj_value *m = mj_parse_file(path);
    if (!m) {
        violation(label, "manifest.json is missing or not JSON");
    } else {
        const char *database = mj_get_string(mj_get(m, "source"), "database_name");
        if (!database || strcmp(database, hdb->database))
            violation(label, "manifest.json: database_name %s, the backup's is %s", hostile_shown(database),
                      hostile_shown(hdb->database));
        const mj_value *tables = mj_get(m, "tables");
        size_t n = tables ? tables->n : 0;
        if (n != hdb->ntables) violation(label, "manifest.json lists %zu tables, the backup holds %zu", n, hdb->ntables);
        for (size_t i = 0; i < n; i++) {
            const char *file = mj_get_string(&tables->items[i], "file");
            const mj_value *rows = mj_get(&tables->items[i], "rows");
            if (!file || !in_list(hostile_shown(file), got, ngot) || strncmp(file, "data/", 5))
                violation(label, "manifest.json: table %zu's file %s is not a data file of the directory", i + 1,
                          hostile_shown(file));
            for (size_t k = 0; k < i; k++) {
                const char *other = mj_get_string(&tables->items[k], "file");
                if (file && other && !strcmp(file, other))
                    violation(label, "manifest.json: tables %zu and %zu share the file %s", k + 1, i + 1, hostile_shown(file));
            }
            if (!rows || rows->type != MJ_NUMBER || rows->number != 3)
                violation(label, "manifest.json: table %zu: rows is not 3", i + 1);
        }
        mj_free(m);
    }
    b2p_buf_free(&listing);
}

/* Runs psql -X -d DSN -f script in dir, as README says to load convert's files. */
static void psql_file(run *r, const char *label, const char *dir, const char *dbname, const char *script) {
    char psql[700], dsn[1024];
    snprintf(psql, sizeof psql, "%s/psql", pgserver_bindir(server));
    conninfo(dbname, dsn, sizeof dsn);
    char *argv[] = {psql, "-X", "-d", dsn, "-f", (char *)script, NULL};
    run_argv(r, label, dir, argv);
    check_traces(label); /* psql's own output is psql's: not checked for control characters */
    expect_status(r, 0);
    const char *e = strstr(r->err, "ERROR:");
    if (e) violation(label, "psql said %s", first_lines(e));
}

/* How many objects the database holds: unchanged by a script that runs nothing. */
static long object_count(const char *dbname) {
    return pgserver_query_long(server, dbname,
                               "SELECT (SELECT count(*) FROM pg_class) + (SELECT count(*) FROM pg_namespace) + "
                               "(SELECT count(*) FROM pg_constraint) + (SELECT count(*) FROM pg_attribute) + "
                               "(SELECT count(*) FROM pg_proc)");
}

static void convert_and_psql(bool zstd, const char *dbname) {
    run r;
    char dir[700], label[200];
    snprintf(dir, sizeof dir, "%s/run-%02d/out", tmpdir, run_count + 1);
    allow_output(dir);
    snprintf(label, sizeof label, "convert --keep-case%s", zstd ? " --compress zstd" : "");
    if (zstd) bak2pg(&r, label, false, "convert", "--keep-case", "--compress", "zstd", "-o", dir, bak, (char *)NULL);
    else bak2pg(&r, label, false, "convert", "--keep-case", "-o", dir, bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);
    check_convert_dir(label, dir);
    if (pgserver_create_db(server, dbname)) fail_msg("create %s: %s", dbname, pgserver_error());

    b2p_buf before = {0}, after = {0};
    b2p_buf_puts(&before, "", NULL);
    b2p_buf_puts(&after, "", NULL);
    list_dir(dir, "", &before);
    char psql_label[300];
    snprintf(psql_label, sizeof psql_label, "psql -f load.sql (from %s)", label);
    psql_file(&r, psql_label, dir, dbname, "load.sql");
    run_free(&r);
    list_dir(dir, "", &after);
    if (before.len != after.len || memcmp(before.data, after.data, before.len))
        violation(psql_label, "the output directory changed while psql ran: before %s, after %s", first_lines(before.data),
                  first_lines(after.data));
    check_names(psql_label, dbname);
    check_rows(psql_label, dbname);

    /* review.sql is inert, whatever it quotes */
    long objects = object_count(dbname);
    snprintf(psql_label, sizeof psql_label, "psql -f review.sql (from %s)", label);
    psql_file(&r, psql_label, dir, dbname, "review.sql");
    run_free(&r);
    if (object_count(dbname) != objects) violation(psql_label, "review.sql created or dropped objects");
    verify(label, dbname);
    b2p_buf_free(&before);
    b2p_buf_free(&after);
}

static void test_convert_psql_plain(void **state) {
    (void)state;
    begin();
    convert_and_psql(false, "hostile_psql");
    report_violations("convert + psql -f load.sql: exactly the objects named, nothing run");
}

static void test_convert_psql_zstd(void **state) {
    (void)state;
    begin();
    convert_and_psql(true, "hostile_zstd");
    report_violations("convert --compress zstd + psql -f load.sql: exactly the objects named, nothing run");
}

/* The ledger names the backup's database and tables byte for byte. */
static void check_ledger(const char *label, const char *dbname) {
    PGconn *conn = pgserver_connect(server, dbname);
    if (!conn) return;
    PGresult *res = PQexec(conn, "SELECT database_name FROM bak2pg.runs");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
        violation(label, "bak2pg.runs: %s", PQresultStatus(res) == PGRES_TUPLES_OK ? "no run" : PQerrorMessage(conn));
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), hdb->database))
            violation(label, "bak2pg.runs.database_name %s, the backup's is %s", hostile_shown(PQgetvalue(res, i, 0)),
                      hostile_shown(hdb->database));
    PQclear(res);
    res = PQexec(conn, "SELECT source_schema, source_table, target_schema, target_table FROM bak2pg.tables");
    int n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    if ((size_t)n != hdb->ntables) violation(label, "bak2pg.tables holds %d tables, the backup %zu", n, hdb->ntables);
    for (int i = 0; i < n; i++) {
        const hostile_table *t = table_named(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        char s[64], name[64];
        if (t) pg_schema(t->schema, s), pg_name(t->name, name);
        if (!t)
            violation(label, "bak2pg.tables: source %s.%s is no table of the backup", hostile_shown(PQgetvalue(res, i, 0)),
                      hostile_shown(PQgetvalue(res, i, 1)));
        else if (strcmp(PQgetvalue(res, i, 2), s) || strcmp(PQgetvalue(res, i, 3), name))
            violation(label, "bak2pg.tables: target %s.%s for %s, expected %s.%s", hostile_shown(PQgetvalue(res, i, 2)),
                      hostile_shown(PQgetvalue(res, i, 3)), hostile_shown(t->name), hostile_shown(s), hostile_shown(name));
    }
    PQclear(res);
    PQfinish(conn);
}

static void test_load(void **state) {
    (void)state;
    begin();
    const char *dbname = "hostile_load";
    if (pgserver_create_db(server, dbname)) fail_msg("create %s: %s", dbname, pgserver_error());
    char dsn[1024];
    conninfo(dbname, dsn, sizeof dsn);
    run r;
    bak2pg(&r, "load --keep-case", false, "load", "--keep-case", "--dsn", dsn, bak, (char *)NULL);
    expect_status(&r, 0);
    run_free(&r);
    check_names("load --keep-case", dbname);
    check_rows("load --keep-case", dbname);
    check_ledger("load --keep-case", dbname);
    verify("load --keep-case", dbname);
    report_violations("load: exactly the objects named, nothing run");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_is_hostile_enough),
        cmocka_unit_test(test_info_and_schema_show_names_as_data),
        cmocka_unit_test(test_dump_writes_only_inside_its_directory),
        cmocka_unit_test(test_convert_psql_plain),
        cmocka_unit_test(test_convert_psql_zstd),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
