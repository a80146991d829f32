/* What several commands share: opening a backup down to its catalog, choosing tables. */
#include <errno.h>
#include <stdlib.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

bool cli_table_selected(const b2p_cat_table *t, const char *pattern) {
    if (!pattern) return true;
    char full[1024];
    snprintf(full, sizeof full, "%s.%s", t->schema, t->name);
    return fnmatch(pattern, full, 0) == 0 || fnmatch(pattern, t->name, 0) == 0;
}

int cli_mkdir_p(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int cli_parse_backup_set(const char *cmd, const char *arg, int *out) {
    char *end;
    long n = strtol(arg, &end, 10);
    if (*end || end == arg || n < 1 || n > 65535)
        return cli_usage_error(cmd, "--backup-set takes a position from 1 to 65535, not '%s'", arg);
    *out = (int)n;
    return 0;
}
