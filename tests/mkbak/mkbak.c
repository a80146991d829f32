/* mkbak: a SQL Server 2019 full backup from a description (tests/support/db_gen.h), for
 * fixtures/demo.bak, round-trip tests and benchmarks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/db_gen.h"

static const char USAGE[] =
    "usage: mkbak [--compress] [--scale F] [--expect DIR] DESCRIPTION OUT.bak\n"
    "  --compress     the compressed (MSSQLBAK) container\n"
    "  --scale F      generated row counts times F (benchmark sizes)\n"
    "  --expect DIR   also write DIR/<schema>.<table>.copy: the rows bak2pg dump must print\n"
    "The description format is in tests/support/db_gen.h and fixtures/README.md.\n";

int main(int argc, char **argv) {
    dbg_write_options o = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--compress")) o.compress = true;
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) o.scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--expect") && i + 1 < argc) o.expect_dir = argv[++i];
        else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (argc - i != 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    char err[512];
    dbg_desc *d = dbg_parse_file(argv[i], err, sizeof err);
    if (!d) {
        fprintf(stderr, "mkbak: %s: %s\n", argv[i], err);
        return 1;
    }
    FILE *out = fopen(argv[i + 1], "wb");
    if (!out) {
        perror(argv[i + 1]);
        dbg_free(d);
        return 1;
    }
    clock_t t0 = clock();
    bool ok = dbg_write(d, out, &o, err, sizeof err);
    ok = fclose(out) == 0 && ok;
    dbg_free(d);
    if (!ok) {
        fprintf(stderr, "mkbak: %s\n", err);
        remove(argv[i + 1]);
        return 1;
    }
    if (getenv("MKBAK_TIMING"))
        fprintf(stderr, "mkbak: %.2f s CPU\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    return 0;
}
