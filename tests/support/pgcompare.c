/* Test support: comparing what PostgreSQL holds with the files bak2pg wrote (see pgcompare.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/minijson.h"
#include "tests/support/pgcompare.h"

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    *len = d ? fread(d, 1, (size_t)n, f) : 0;
    if (d) d[*len] = 0;
    fclose(f);
    return d;
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of text in place (joined again by newlines). */
void sort_lines(char *text, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    char **v = malloc((n + 1) * sizeof *v), *copy = malloc(len + 1);
    memcpy(copy, text, len + 1);
    size_t k = 0;
    for (char *p = copy, *e; k < n && (e = strchr(p, '\n')); p = e + 1) {
        *e = 0;
        v[k++] = p;
    }
    qsort(v, k, sizeof *v, cmp_line);
    size_t o = 0;
    for (size_t i = 0; i < k; i++) {
        size_t l = strlen(v[i]);
        memcpy(text + o, v[i], l);
        text[o + l] = '\n';
        o += l + 1;
    }
    free(v);
    free(copy);
}

/* Every table of manifest.json: COPY TO STDOUT equals its data file. Returns the tables compared. */
int pg_compare_manifest(pgserver *server, const char *dir, const char *db, const char *label) {
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    mj_value *m = mj_parse_file(path);
    if (!m) fail_msg("%s: unreadable manifest", label);
    const mj_value *tables = mj_get(m, "tables");
    PGconn *conn = pgserver_connect(server, db);
    assert_non_null(conn);
    int compared = 0;
    for (size_t i = 0; tables && i < tables->n; i++) {
        const mj_value *t = &tables->items[i];
        const char *file = mj_get_string(t, "file");
        const char *schema = mj_get_string(t, "target_schema"), *table = mj_get_string(t, "target_table");
        if (!file || !*file) continue;
        if (!schema || !table) fail_msg("%s: manifest.json: table %zu has no target_schema/target_table", label, i + 1);
        size_t flen, plen;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        char *want = read_file(path, &flen);
        assert_non_null(want);
        /* the names are the backup's (anything at all): quoted by libpq */
        char *qs = PQescapeIdentifier(conn, schema, strlen(schema)), *qt = PQescapeIdentifier(conn, table, strlen(table));
        assert_true(qs && qt);
        char q[2048];
        snprintf(q, sizeof q, "COPY %s.%s TO STDOUT", qs, qt);
        PQfreemem(qs);
        PQfreemem(qt);
        char *got = pgserver_copy_out(conn, q, &plen);
        if (!got) fail_msg("%s: %s: %s", label, q, pgserver_error());
        sort_lines(want, flen);
        sort_lines(got, plen);
        if (flen != plen || memcmp(want, got, flen) != 0)
            fail_msg("%s: table %s.%s: PostgreSQL holds other rows than %s", label, schema, table, file);
        free(want);
        free(got);
        compared++;
    }
    PQfinish(conn);
    mj_free(m);
    return compared;
}

