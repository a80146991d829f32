/* Round trips through the project's own backup writer (tests/support/db_writer.h, db_gen.h):
 * a description becomes a SQL Server 2019 backup, bak2pg dump --format copy reads it back, and
 * every table's output must equal the rows the generator rendered on its own from the values it
 * generated (never through the reader's decoders). Covered: every supported type with its edge
 * values, NULLs and empty strings, maximum in-row lengths, row-overflow, LOBs from 0 bytes to
 * 16 MB (in-row, in-row root, root over INTERNAL records), heaps and multi-level clustered
 * indexes, the compressed container; and fixtures/demo.desc, converted and loaded into a real
 * PostgreSQL. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/db_gen.h"
#include "tests/support/fixtures.h"
#include "tests/support/pgserver.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    return tmpdir_make(tmpdir, sizeof tmpdir, "b2p-roundtrip");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(tmpdir) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) p[n] = 0;
    *len = (size_t)n;
    return p;
}

static int run(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Writes the backup of a description into tmpdir/<name>.bak and the expected rows into
 * tmpdir/<name>.expect/. */
static void make_backup(const char *name, const char *desc_text, bool compress) {
    char err[512], path[1024], expect[1024];
    dbg_desc *d = dbg_parse(desc_text, err, sizeof err);
    if (!d) fail_msg("%s: description: %s", name, err);
    snprintf(path, sizeof path, "%s/%s.bak", tmpdir, name);
    snprintf(expect, sizeof expect, "%s/%s.expect", tmpdir, name);
    assert_int_equal(run("rm -rf '%s' && mkdir -p '%s'", expect, expect), 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    dbg_write_options o = {.compress = compress, .expect_dir = expect};
    bool ok = dbg_write(d, f, &o, err, sizeof err);
    assert_int_equal(fclose(f), 0);
    dbg_free(d);
    if (!ok) fail_msg("%s: writing: %s", name, err);
}

/* Reports the first line where two texts differ. */
static void first_difference(const char *file, const char *a, const char *b) {
    size_t line = 1;
    const char *pa = a, *pb = b;
    while (*pa && *pa == *pb) {
        if (*pa == '\n') line++;
        pa++;
        pb++;
    }
    fprintf(stderr, "%s: line %zu differs\n  expected: %.200s\n  dumped:   %.200s\n", file, line,
            pa - a > 60 ? pa - 60 : a, pb - b > 60 ? pb - 60 : b);
}

/* bak2pg dump --all of the backup must reproduce every expected file exactly; returns the
 * number of tables compared. */
static int check_dump(const char *name) {
    char dump[1024], expect[1024];
    snprintf(dump, sizeof dump, "%s/%s.dump", tmpdir, name);
    snprintf(expect, sizeof expect, "%s/%s.expect", tmpdir, name);
    assert_int_equal(run("rm -rf '%s' && '%s' dump --all --format copy -o '%s' '%s/%s.bak' 2>'%s.err'", dump,
                         bak2pg_bin(), dump, tmpdir, name, dump),
                     0);
    DIR *dir = opendir(expect);
    assert_non_null(dir);
    int tables = 0, bad = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char a[2048], b[2048];
        snprintf(a, sizeof a, "%s/%s", expect, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dump, e->d_name);
        size_t la, lb;
        char *x = slurp(a, &la), *y = slurp(b, &lb);
        if (!y) fprintf(stderr, "%s: bak2pg dump wrote no %s\n", name, e->d_name);
        if (!x || !y || la != lb || memcmp(x, y, la)) {
            bad++;
            if (x && y) first_difference(b, x, y);
        }
        free(x);
        free(y);
        tables++;
    }
    closedir(dir);
    assert_int_equal(bad, 0);
    return tables;
}

/* bak2pg info --check: every page checksum and the backup checksum verify. */
static void check_pages(const char *name) {
    assert_int_equal(run("'%s' info --check '%s/%s.bak' >/dev/null", bak2pg_bin(), tmpdir, name), 0);
}

/* ---- every type, edge values, NULLs, empty strings ------------------------------------------ */

static const char TYPES_DESC[] =
    "database Types\n"
    "table dbo.AllTypes\n"
    "  column ID int not null seq\n"
    "  column B bit null\n"
    "  column TI tinyint null\n"
    "  column SI smallint null range -32768 32767\n"
    "  column I int null range -2147483648 2147483647\n"
    "  column BI bigint null range -9223372036854775807 9223372036854775807\n"
    "  column D decimal(18,4) null\n"
    "  column N numeric(5,0) null\n"
    "  column M money null\n"
    "  column SM smallmoney null\n"
    "  column F float null\n"
    "  column R real null\n"
    "  column DA date null\n"
    "  column T0 time(0) null\n"
    "  column T7 time(7) null\n"
    "  column DT datetime null\n"
    "  column SDT smalldatetime null\n"
    "  column D2 datetime2(3) null\n"
    "  column D27 datetime2(7) null\n"
    "  column DTO datetimeoffset(7) null\n"
    "  column C char(10) null len 1 10\n"
    "  column VC varchar(50) null unicode\n"
    "  column NC nchar(12) null unicode len 1 12\n"
    "  column NV nvarchar(60) null unicode\n"
    "  column BN binary(8) null len 1 8\n"
    "  column VB varbinary(40) null\n"
    "  column G uniqueidentifier null\n"
    "  primary key (ID) clustered\n"
    "  row 1 | 0 | 0 | -32768 | -2147483648 | -9223372036854775807 | -99999999999999.9999 | -99999 | "
    "-922337203685477.5808 | -214748.3648 | -1.5e-300 | -3.4e38 | 0001-01-01 | 00:00:00 | 00:00:00 | "
    "1753-01-01 00:00:00 | 1900-01-01 00:00:00 | 0001-01-01 00:00:00 | 0001-01-01 00:00:00 | "
    "0001-01-01 00:00:00 +00:00 | '' | '' | '' | '' | 0x | 0x | 00000000-0000-0000-0000-000000000000\n"
    "  row 2 | 1 | 255 | 32767 | 2147483647 | 9223372036854775807 | 99999999999999.9999 | 99999 | "
    "922337203685477.5807 | 214748.3647 | 1.7976931348623157e308 | 0.1 | 9999-12-31 | 23:59:59 | "
    "23:59:59.999999 | 9999-12-31 23:59:59.990 | 2079-06-06 23:59:00 | 9999-12-31 23:59:59.999 | "
    "9999-12-31 23:59:59.999999 | 2024-02-29 12:30:00.5 +05:30 | x\\y\\z | tab\there | Ωmega | "
    "😀 emoji 𝄞 | 0xffffffffffffffff | 0x00ff00 | ffffffff-ffff-ffff-ffff-ffffffffffff\n"
    "  row 3 | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | "
    "NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL\n"
    "  row 4 | 1 | 7 | 0 | 0 | 0 | 0.0001 | 0 | 0.0001 | -0.0001 | 1e-5 | 1e6 | 2000-02-29 | 12:00:00 | "
    "00:00:00.0000010 | 2000-02-29 12:34:56.120 | 2000-02-29 12:34:00 | 2000-02-29 12:34:56.123 | "
    "2000-02-29 12:34:56.1234560 | 2000-01-01 00:30:00 -14:00 | café | naïve | ü | Việt | 0x01 | 0x | "
    "6f9619ff-8b86-d011-b42d-00c04fc964ff\n"
    "  generate 300 seed 7\n"
    "end\n"
    "table dbo.HeapTypes\n"
    "  column K bigint null\n"
    "  column S nvarchar(30) null unicode\n"
    "  column X varchar(20) null\n"
    "  generate 500 seed 8\n"
    "end\n";

static void test_every_type(void **state) {
    (void)state;
    make_backup("types", TYPES_DESC, false);
    check_pages("types");
    assert_int_equal(check_dump("types"), 2);
}

/* ---- maximum lengths, row-overflow, LOBs ----------------------------------------------------- */

static const char LENGTHS_DESC[] =
    "database Lengths\n"
    "table dbo.MaxInRow\n"
    "  column ID int not null seq\n"
    "  column V varchar(8000) not null len 8000 8000\n"
    "  primary key (ID) clustered\n"
    "  generate 3 seed 1\n"
    "end\n"
    "table dbo.MaxNvarchar\n"
    "  column ID int not null seq\n"
    "  column V nvarchar(4000) not null len 4000 4000\n"
    "  primary key (ID) clustered\n"
    "  generate 3 seed 2\n"
    "end\n"
    "table dbo.MaxVarbinary\n"
    "  column V varbinary(8000) not null len 8000 8000\n"
    "  generate 3 seed 3\n"
    "end\n"
    "table dbo.Overflow\n"
    "  column ID int not null seq\n"
    "  column A varchar(8000) null len 3000 8000 nulls 10\n"
    "  column B nvarchar(4000) null len 1000 4000 nulls 10\n"
    "  column C varbinary(8000) null len 0 8000 nulls 10\n"
    "  primary key (ID) clustered\n"
    "  generate 40 seed 4\n"
    "end\n"
    "table dbo.LobSizes\n"
    "  column ID int not null seq\n"
    "  column VM varchar(max) null len 0 100000 nulls 10\n"
    "  column NM nvarchar(max) null unicode len 0 30000 nulls 10\n"
    "  column BM varbinary(max) null len 0 60000 nulls 10\n"
    "  primary key (ID) clustered\n"
    "  generate 30 seed 5\n"
    "  row 1000 | '' | '' | 0x\n"
    "end\n"
    "table dbo.LobEdges\n"
    "  column L varchar(max) null len 8000 8001\n"
    "  column M varbinary(max) null len 40199 40201\n"
    "  generate 12 seed 6\n"
    "end\n";

/* The largest values: 16 MB through INTERNAL records, both text and binary. */
static const char BIG_LOB_DESC[] =
    "database BigLob\n"
    "table dbo.Big\n"
    "  column ID int not null seq\n"
    "  column B varbinary(max) not null len 16777216 16777216\n"
    "  column T nvarchar(max) not null len 8388608 8388608\n"
    "  primary key (ID) clustered\n"
    "  generate 1 seed 9\n"
    "end\n";

static void test_lengths_overflow_and_lobs(void **state) {
    (void)state;
    make_backup("lengths", LENGTHS_DESC, false);
    check_pages("lengths");
    assert_int_equal(check_dump("lengths"), 6);
    make_backup("biglob", BIG_LOB_DESC, false);
    check_pages("biglob");
    assert_int_equal(check_dump("biglob"), 1);
}

/* ---- B-tree levels, heaps, the compressed container -------------------------------------------- */

/* Two rows per leaf page: 3,000 rows make 1,500 leaves, which need two index levels above them. */
static const char DEEP_DESC[] =
    "database Deep\n"
    "table dbo.Deep\n"
    "  column ID bigint not null seq\n"
    "  column Pad char(3000) not null len 1 3000\n"
    "  primary key (ID) clustered\n"
    "  generate 3000 seed 10\n"
    "end\n"
    "table dbo.Heap\n"
    "  column ID bigint not null seq\n"
    "  column Name varchar(100) null len 0 100\n"
    "  primary key (ID) nonclustered\n"
    "  generate 5000 seed 11\n"
    "end\n";

static void test_index_levels_and_heaps(void **state) {
    (void)state;
    make_backup("deep", DEEP_DESC, false);
    check_pages("deep");
    assert_int_equal(check_dump("deep"), 2);
    /* the root is an index page two levels up, not the first leaf */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' schema --table dbo.Deep '%s/deep.bak' | grep -c 'first 1:16 root 1:16 '",
             bak2pg_bin(), tmpdir);
    assert_int_not_equal(run("%s >/dev/null", cmd), 0);
}

static void test_compressed_container(void **state) {
    (void)state;
    make_backup("typesz", TYPES_DESC, true);
    check_pages("typesz");
    assert_int_equal(check_dump("typesz"), 2);
}

/* Same description, same bytes. */
static void test_deterministic(void **state) {
    (void)state;
    make_backup("det1", TYPES_DESC, false);
    make_backup("det2", TYPES_DESC, false);
    assert_int_equal(run("cmp -s '%s/det1.bak' '%s/det2.bak'", tmpdir, tmpdir), 0);
}

/* ---- the demo database, into PostgreSQL --------------------------------------------------------- */

static char *demo_desc(void) {
    size_t len;
    char *text = slurp("fixtures/demo.desc", &len);
    if (!text) fail_msg("fixtures/demo.desc not found (tests run from the repository root)");
    return text;
}

static long count_query(pgserver *server, const char *db, const char *sql) {
    PGconn *conn = pgserver_connect(server, db);
    PGresult *r = PQexec(conn, sql);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
    if (n < 0) fprintf(stderr, "query failed: %s: %s\n", sql, PQerrorMessage(conn));
    PQclear(r);
    PQfinish(conn);
    return n;
}

static void test_demo_loads_into_postgresql(void **state) {
    (void)state;
    char *text = demo_desc();
    make_backup("demo", text, false);
    free(text);
    check_pages("demo");
    assert_int_equal(check_dump("demo"), 8);
    char out[1024];
    snprintf(out, sizeof out, "%s/demo.convert", tmpdir);
    assert_int_equal(run("'%s' convert -o '%s' '%s/demo.bak' >'%s.log' 2>&1", bak2pg_bin(), out, tmpdir, out), 0);
    pgserver *server = pgserver_start();
    if (!server) fail_msg("PostgreSQL: %s", pgserver_error());
    assert_int_equal(pgserver_create_db(server, "demo"), 0);
    char cwd[4096], *output = NULL;
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(out), 0);
    int rc = pgserver_psql_file(server, "demo", "load.sql", &output);
    assert_int_equal(chdir(cwd), 0);
    if (rc) fprintf(stderr, "%s\n", output ? output : "");
    free(output);
    assert_int_equal(rc, 0);
    assert_int_equal(count_query(server, "demo", "SELECT count(*) FROM sales.orderline"), 600);
    assert_int_equal(count_query(server, "demo", "SELECT count(*) FROM hr.employee"), 40);
    assert_int_equal(count_query(server, "demo", "SELECT count(*) FROM public.country"), 5);
    assert_int_equal(count_query(server, "demo", "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"), 6);
    assert_int_equal(count_query(server, "demo", "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
                                                     "WHERE k.contype = 'p' AND n.nspname IN ('public', 'sales', 'hr')"), 7);
    assert_int_equal(count_query(server, "demo", "SELECT count(*) FROM sales.customer WHERE notes IS NOT NULL AND length(notes) > 0"),
                     count_query(server, "demo", "SELECT count(*) FROM sales.customer WHERE length(notes) > 0"));
    assert_int_equal(pgserver_stop(server), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_lengths_overflow_and_lobs),
        cmocka_unit_test(test_index_levels_and_heaps),
        cmocka_unit_test(test_compressed_container),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_demo_loads_into_postgresql),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
