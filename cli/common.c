/* What several commands share: opening a backup down to its catalog, choosing tables. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

b2p_status cli_open_catalog(cli_source *s, char **files, size_t nfiles, int backup_set,
                            bool allow_missing, b2p_error *err) {
    *s = (cli_source){0};
    b2p_open_options oo = {.allow_missing_stripes = allow_missing};
    b2p_status st = b2p_backup_open(&s->bk, (const char *const *)files, nfiles, &oo, err);
    b2p_pages_options po = {.backup_set = backup_set, .allow_missing_stripes = allow_missing};
    if (!st) st = b2p_pages_open(&s->src, s->bk, &po, err);
    if (!st) st = b2p_catalog_load(s->src, &s->cat, err);
    if (st) cli_close(s);
    return st;
}

void cli_close(cli_source *s) {
    b2p_catalog_free(s->cat);
    b2p_pages_free(s->src);
    b2p_backup_free(s->bk);
    *s = (cli_source){0};
}

b2p_status cli_open_output_dir(const char *path, bool clean, b2p_outdir **dir, b2p_error *err) {
    b2p_status st = b2p_outdir_open(path, dir, err);
    if (!st && clean) st = b2p_outdir_clean(*dir, err);
    char first[256];
    if (!st) st = b2p_outdir_first_entry(*dir, first, sizeof first, err);
    if (!st && first[0] && !clean)
        st = b2p_fail(err, B2P_ERR_USAGE,
                      "'%s' is not empty (it holds '%s'): give an empty or new directory, or --clean to remove what an "
                      "earlier bak2pg run wrote there",
                      path, first);
    if (st) {
        b2p_outdir_close(*dir);
        *dir = NULL;
    }
    return st;
}

int cli_parse_count(const char *cmd, const char *option, const char *arg, unsigned min, unsigned max, unsigned *out) {
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    if (*end || end == arg || arg[0] == '-' || n < min || n > max)
        return cli_usage_error(cmd, "%s takes a number from %u to %u, not '%s'", option, min, max, arg);
    *out = (unsigned)n;
    return 0;
}

int cli_parse_backup_set(const char *cmd, const char *arg, int *out) {
    char *end;
    long n = strtol(arg, &end, 10);
    if (*end || end == arg || n < 1 || n > 65535)
        return cli_usage_error(cmd, "--backup-set takes a position from 1 to 65535, not '%s'", arg);
    *out = (int)n;
    return 0;
}

/* ---- --cast SCHEMA.TABLE.COLUMN=TYPE --------------------------------------------------------- */

enum { CAST_NAME_MAX = 600 }; /* a sysname is 128 UTF-16 units: at most 512 bytes of UTF-8 */

/* Splits a --cast argument into its three names and the type. A name is bare (no '.', '=' or '"')
 * or "quoted", a quote inside written "". NULL when well formed, else what is wrong. */
static const char *parse_cast(const char *arg, char name[3][CAST_NAME_MAX], const char **type) {
    const char *p = arg;
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p) return "a quoted name has no closing quote";
                if (*p == '"' && p[1] != '"') break;
                if (*p == '"') p++; /* "" is one quote */
                if (n + 1 >= CAST_NAME_MAX) return "a name is too long";
                name[k][n++] = *p;
            }
            p++;
        } else {
            for (; *p && *p != '.' && *p != '=' && *p != '"'; p++) {
                if (n + 1 >= CAST_NAME_MAX) return "a name is too long";
                name[k][n++] = *p;
            }
            if (*p == '"') return "a quote inside a bare name (quote the whole name: \"...\")";
        }
        name[k][n] = 0;
        if (!n) return "a name is empty";
        if (k < 2 && *p != '.') return "say SCHEMA.TABLE.COLUMN=TYPE (three names, each quoted \"...\" if it holds '.')";
        if (k == 2 && *p == '.') return "more than three names (quote a name that holds '.': \"...\")";
        if (k == 2 && *p != '=') return "say SCHEMA.TABLE.COLUMN=TYPE (no '=TYPE')";
        p++;
    }
    if (!*p) return "the type after '=' is empty";
    *type = p;
    return NULL;
}

int cli_check_cast(const char *cmd, const char *arg) {
    char name[3][CAST_NAME_MAX];
    const char *type, *why = parse_cast(arg, name, &type);
    if (why) return cli_usage_error(cmd, "--cast '%s': %s", b2p_shown(arg), why);
    if (strcasecmp(type, "bytea"))
        return cli_usage_error(cmd, "--cast '%s': type '%s' is not one --cast supports (bytea)", b2p_shown(arg), b2p_shown(type));
    return 0;
}

/* The table (column) of that name: exactly, or else ignoring ASCII case when that finds one only
 * (SQL Server compares names case-insensitively under the usual collations). */
static b2p_cat_table *find_table(b2p_catalog *cat, const char *schema, const char *name) {
    b2p_cat_table *exact = NULL, *caseless = NULL;
    size_t ncaseless = 0;
    for (size_t i = 0; i < cat->ntables && !exact; i++) {
        b2p_cat_table *t = &cat->tables[i];
        if (!strcmp(t->schema, schema) && !strcmp(t->name, name)) exact = t;
        else if (!strcasecmp(t->schema, schema) && !strcasecmp(t->name, name)) caseless = t, ncaseless++;
    }
    return exact ? exact : ncaseless == 1 ? caseless : NULL;
}

static b2p_cat_column *find_column(b2p_cat_table *t, const char *name) {
    b2p_cat_column *exact = NULL, *caseless = NULL;
    size_t ncaseless = 0;
    for (size_t i = 0; i < t->ncolumns && !exact; i++) {
        b2p_cat_column *c = &t->columns[i];
        if (!strcmp(c->name, name)) exact = c;
        else if (!strcasecmp(c->name, name)) caseless = c, ncaseless++;
    }
    return exact ? exact : ncaseless == 1 ? caseless : NULL;
}

b2p_status cli_apply_casts(b2p_catalog *cat, const char *const *casts, size_t n, b2p_error *err) {
    for (size_t k = 0; k < n; k++) {
        char name[3][CAST_NAME_MAX];
        const char *type, *why = parse_cast(casts[k], name, &type);
        if (why) return b2p_fail(err, B2P_ERR_USAGE, "--cast '%s': %s", casts[k], why);
        b2p_cat_table *t = find_table(cat, name[0], name[1]);
        if (!t) return b2p_fail(err, B2P_ERR_USAGE, "--cast '%s': the backup has no table %s.%s", casts[k], name[0], name[1]);
        b2p_cat_column *c = find_column(t, name[2]);
        if (!c)
            return b2p_fail(err, B2P_ERR_USAGE, "--cast '%s': table %s.%s has no column %s", casts[k], t->schema, t->name,
                            name[2]);
        char inner[sizeof err->msg];
        if (b2p_cast_column(c, type, err)) {
            snprintf(inner, sizeof inner, "%s", err->msg);
            return b2p_fail(err, B2P_ERR_USAGE, "--cast '%s': %s", casts[k], inner);
        }
    }
    return B2P_OK;
}

int cli_parse_nul(const char *cmd, const char *arg, b2p_nul_policy *out) {
    if (!strcmp(arg, "error")) *out = B2P_NUL_ERROR;
    else if (!strcmp(arg, "strip")) *out = B2P_NUL_STRIP;
    else if (!strcmp(arg, "replace")) *out = B2P_NUL_REPLACE;
    else return cli_usage_error(cmd, "--nul takes error, strip or replace, not '%s'", arg);
    return 0;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

char *cli_take_secret(char *const *args, size_t nargs, const char *value) {
    char *copy = strdup(value);
    for (size_t k = 0; copy && k < nargs; k++) memset(args[k], 0, strlen(args[k]));
    return copy;
}

/* ---- usage errors ------------------------------------------------------------------------- */

static const char *usage_of(const char *cmd) {
    static const struct {
        const char *name;
        const char *const *usage;
    } all[] = {{"info", &cli_info_usage},       {"schema", &cli_schema_usage}, {"dump", &cli_dump_usage},
               {"convert", &cli_convert_usage}, {"load", &cli_load_usage},     {"verify", &cli_verify_usage}, {"audit", &cli_audit_usage}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(cmd, all[i].name)) return *all[i].usage;
    return NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bak2pg %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    const char *usage = usage_of(cmd);
    size_t line = usage ? strcspn(usage, "\n") : 0;
    fprintf(stderr, "\n%.*s\n(see 'bak2pg help %s')\n", (int)line, usage ? usage : "", cmd);
    return B2P_ERR_USAGE;
}

int cli_bad_option(const char *cmd, int c, char **argv) {
    /* optind has moved past the element that held the option (or past its missing argument) */
    const char *where = optind > 0 ? argv[optind - 1] : "";
    char name[64];
    if (!strncmp(where, "--", 2)) /* a long option: its name, never its value (a mistyped --dsn=...) */
        snprintf(name, sizeof name, "%.*s", (int)strcspn(where, "="), where);
    else
        snprintf(name, sizeof name, "-%c", optopt > 0x20 && optopt < 0x7f ? optopt : '?');
    if (c == ':') return cli_usage_error(cmd, "option '%s' needs an argument", b2p_shown(name));
    return cli_usage_error(cmd, "unknown option '%s'", b2p_shown(name));
}

/* ---- files a user names (-f, --review-file) ------------------------------------------------ */

FILE *cli_create_file(const char *path, b2p_error *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        b2p_fail(err, e == EEXIST ? B2P_ERR_USAGE : B2P_ERR_IO, "'%s': %s%s", path, strerror(e),
                 e == EEXIST ? " (bak2pg writes a new file there and overwrites none: remove it, or name another)" : "");
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    return f;
}

b2p_status cli_write_new_file(const char *path, const char *data, size_t len, b2p_error *err) {
    FILE *f = cli_create_file(path, err);
    if (!f) return err->code;
    bool ok = fwrite(data, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) ok = false, e = errno;
    return ok ? B2P_OK : b2p_fail(err, B2P_ERR_IO, "'%s': cannot write: %s", path, strerror(e));
}

bool cli_env_names_database(void) {
    const char *db = getenv("PGDATABASE"), *service = getenv("PGSERVICE");
    return (db && *db) || (service && *service);
}

/* Whether s is a libpq conninfo (key=value ...) or URI rather than a database's name. */
static bool is_conninfo(const char *s) {
    return strchr(s, '=') || !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

char *cli_conninfo(const char *dbname_or_conninfo) {
    const char *s = dbname_or_conninfo;
    if (!*s || is_conninfo(s)) return strdup(s);
    /* a database's name, as psql -d takes it: dbname='...', with \ and ' escaped for libpq */
    char *out = malloc(strlen(s) * 2 + 12);
    if (!out) return NULL;
    char *p = out + sprintf(out, "dbname='");
    for (; *s; s++) {
        if (*s == '\\' || *s == '\'') *p++ = '\\';
        *p++ = *s;
    }
    strcpy(p, "'");
    return out;
}
