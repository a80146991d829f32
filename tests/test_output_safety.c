/* What convert and dump -o write, from backups made to attack it (issue 12), against a real
 * PostgreSQL:
 *   - names that collide under every naming rule, and names holding '/', '..' and '.': each table
 *     gets its own file inside the output directory, psql -f load.sql puts every row in its own
 *     table, and verify is equal;
 *   - a table holding NUL text: convert completes every other table (exit 21), manifest.json and
 *     review.sql name the failed one, and psql -f load.sql loads the rest;
 *   - a database name that ends load.sql's comment to run \! and a table name that would run a
 *     program through zstd's command line: psql -f load.sql and -f review.sql run nothing;
 *   - a used output directory is refused; --clean removes only what bak2pg wrote; a symbolic link
 *     planted where a script goes is never written through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/db_gen.h"
#include "tests/support/fixtures.h"
#include "tests/support/minijson.h"
#include "tests/support/pgcompare.h"
#include "tests/support/pgserver.h"

static char tmpdir[256];
static pgserver *server;

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-output-safety", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    return pgserver_test_teardown(server, tmpdir);
}

/* tmpdir/<name>.bak from a description. */
static void make_backup(const char *name, const char *desc) {
    char err[512], path[1024];
    dbg_desc *d = dbg_parse(desc, err, sizeof err);
    if (!d) fail_msg("%s: description: %s", name, err);
    snprintf(path, sizeof path, "%s/%s.bak", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    bool ok = dbg_write(d, f, NULL, err, sizeof err);
    assert_int_equal(fclose(f), 0);
    dbg_free(d);
    if (!ok) fail_msg("%s: writing: %s", name, err);
}

/* psql -f file, run from dir, against a new database db; returns psql's status. */
static int psql_in(const char *dir, const char *db, const char *file, char **output) {
    if (db && pgserver_create_db(server, db) != 0) fail_msg("create database %s: %s", db, pgserver_error());
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0) fail_msg("cannot enter %s", dir);
    int rc = pgserver_psql_file(server, db, file, output);
    if (chdir(cwd) != 0) fail_msg("cannot return to %s", cwd);
    return rc;
}

static long query(const char *db, const char *sql) {
    return pgserver_query_long(server, db, sql);
}

static size_t entries_in(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "find '%s' -type f ! -name .bak2pg-files | wc -l", dir);
    FILE *p = popen(cmd, "r");
    unsigned long n = 0;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return n;
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Five tables whose names collide under "replace '/' by '_'" and "join with '.'", and one that
 * climbs out of a directory; each holds one row naming itself. */
static const char COLLIDING[] =
    "database collide\n"
    "schema \".\"\n"
    "schema x\n"
    "schema \"x.y\"\n"
    "table \".\".\"/../../../../tmp/B2P-EVIL\"\n  column id int not null seq\n  row 1\nend\n"
    "table dbo.\"a/b\"\n  column id int not null seq\n  row 2\nend\n"
    "table dbo.a_b\n  column id int not null seq\n  row 3\nend\n"
    "table x.\"y.z\"\n  column id int not null seq\n  row 4\nend\n"
    "table \"x.y\".z\n  column id int not null seq\n  row 5\nend\n";

static void test_colliding_names_get_their_own_files(void **state) {
    (void)state;
    make_backup("collide", COLLIDING);
    char out[1024], dump[1024], bak[1024];
    snprintf(bak, sizeof bak, "%s/collide.bak", tmpdir);
    snprintf(out, sizeof out, "%s/collide.out", tmpdir);
    snprintf(dump, sizeof dump, "%s/collide.dump", tmpdir);
    bak2pg_output o = {0};
    assert_int_equal(bak2pg_run(tmpdir, &o, "convert --keep-case -o '%s' '%s'", out, bak), 0);
    assert_int_equal(entries_in(out), 5 + 5); /* five scripts and five data files */
    char *psql_out = NULL;
    if (psql_in(out, "collide", "load.sql", &psql_out) != 0) fail_msg("psql -f load.sql: %s", psql_out);
    free(psql_out);
    assert_int_equal(query("collide", "SELECT id FROM \".\".\"/../../../../tmp/B2P-EVIL\""), 1);
    assert_int_equal(query("collide", "SELECT id FROM public.\"a/b\""), 2);
    assert_int_equal(query("collide", "SELECT id FROM public.a_b"), 3);
    assert_int_equal(query("collide", "SELECT id FROM x.\"y.z\""), 4);
    assert_int_equal(query("collide", "SELECT id FROM \"x.y\".z"), 5);
    char dsn[1024];
    pgserver_conninfo_db(server, "collide", dsn, sizeof dsn);
    int rc = bak2pg_run(tmpdir, &o, "verify --keep-case --dsn '%s' '%s'", dsn, bak);
    if (rc != 0) fail_msg("verify exit %d: %s%s", rc, o.out, o.err);
    /* dump -o: one file per table, all inside the directory */
    assert_int_equal(bak2pg_run(tmpdir, &o, "dump --all -o '%s' '%s'", dump, bak), 0);
    assert_int_equal(entries_in(dump), 5);
    assert_false(exists("/tmp/B2P-EVIL.copy"));
    char path[1200];
    snprintf(path, sizeof path, "%s/%%2E.%%2F%%2E%%2E%%2F%%2E%%2E%%2F%%2E%%2E%%2F%%2E%%2E%%2Ftmp%%2FB2P-EVIL.copy", dump);
    size_t len;
    char *text = read_file(path, &len);
    assert_non_null(text);
    assert_string_equal(text, "1\n");
    free(text);
    bak2pg_output_free(&o);
}

/* A table whose varchar holds NUL bytes (hashed passwords, say) beside a healthy one. */
static const char NUL_TEXT[] =
    "database nultext\n"
    "table dbo.Members\n  column id int not null seq\n  column Password varchar(20) null\n"
    "  primary key (id) clustered\n  row 1 | \"ab\\x00cd\"\n  row 2 | plain\nend\n"
    "table dbo.Books\n  column id int not null seq\n  column Title varchar(20) null\n"
    "  primary key (id) clustered\n  row 1 | Dune\n  row 2 | Emma\n  row 3 | Ulysses\nend\n";

static void test_a_failed_table_does_not_sink_the_run(void **state) {
    (void)state;
    make_backup("nultext", NUL_TEXT);
    char out[1024], bak[1024], path[1200];
    snprintf(bak, sizeof bak, "%s/nultext.bak", tmpdir);
    snprintf(out, sizeof out, "%s/nultext.out", tmpdir);
    bak2pg_output o = {0};
    assert_int_equal(bak2pg_run(tmpdir, &o, "convert -o '%s' '%s'", out, bak), 21);
    assert_non_null(strstr(o.err, "table dbo.Members failed"));
    assert_non_null(strstr(o.out, "FAILED dbo.Members"));
    snprintf(path, sizeof path, "%s/manifest.json", out);
    mj_value *m = mj_parse_file(path);
    assert_non_null(m);
    assert_int_equal(mj_get(m, "failed_tables")->number, 1);
    const mj_value *tables = mj_get(m, "tables");
    size_t failed = 0, converted = 0;
    for (size_t i = 0; i < tables->n; i++) {
        const mj_value *t = &tables->items[i];
        const char *name = mj_get_string(t, "source_table");
        if (mj_get_string(t, "error")) {
            assert_string_equal(name, "Members");
            assert_string_equal(mj_get_string(t, "file"), "");
            failed++;
        } else {
            assert_string_equal(name, "Books");
            assert_string_equal(mj_get_string(t, "file"), "data/public.books.copy");
            converted++;
        }
    }
    assert_int_equal(failed, 1);
    assert_int_equal(converted, 1);
    mj_free(m);
    snprintf(path, sizeof path, "%s/data/public.members.copy", out); /* the partial file is gone */
    assert_false(exists(path));
    snprintf(path, sizeof path, "%s/review.sql", out);
    size_t len;
    char *review = read_file(path, &len);
    assert_non_null(strstr(review, "dbo.Members: TABLE FAILED"));
    free(review);
    char *psql_out = NULL;
    if (psql_in(out, "nultext", "load.sql", &psql_out) != 0) fail_msg("psql -f load.sql: %s", psql_out);
    free(psql_out);
    assert_int_equal(query("nultext", "SELECT count(*) FROM books"), 3);
    assert_int_equal(query("nultext", "SELECT count(*) FROM members"), 0); /* made, and left empty */
    /* --nul replace: both tables, and the affected one named with its count */
    snprintf(out, sizeof out, "%s/nultext-replace.out", tmpdir);
    assert_int_equal(bak2pg_run(tmpdir, &o, "convert --nul replace -o '%s' '%s'", out, bak), 0);
    assert_non_null(strstr(o.err, "table dbo.Members: 1 values held NUL characters (replaced by --nul)"));
    snprintf(path, sizeof path, "%s/manifest.json", out);
    m = mj_parse_file(path);
    assert_string_equal(mj_get_string(m, "nul_policy"), "replace");
    assert_int_equal(mj_get(&mj_get(m, "tables")->items[0], "nul_values")->number +
                         mj_get(&mj_get(m, "tables")->items[1], "nul_values")->number,
                     1);
    mj_free(m);
    bak2pg_output_free(&o);
}

/* Names that try to run programs: a database name that ends load.sql's first comment and then
 * calls \!, a table name that would close zstd's quoted argument, a module-free CR in a name. */
static const char PROGRAMS[] =
    "database \"shop\\n\\\\! touch B2P-CANARY-1\\n-- \"\n"
    "table dbo.\"a'$(touch B2P-CANARY-2)'b\"\n  column id int not null seq\n  row 1\nend\n"
    "table dbo.\"c`touch B2P-CANARY-3`d\\r\\\\! touch B2P-CANARY-4\"\n  column id int not null seq\n  row 2\nend\n";

static void test_scripts_run_no_program(void **state) {
    (void)state;
    make_backup("programs", PROGRAMS);
    char bak[1024];
    snprintf(bak, sizeof bak, "%s/programs.bak", tmpdir);
    const char *variants[] = {"", "--compress zstd"};
    for (int v = 0; v < 2; v++) {
        char out[1024], db[32], path[1200];
        snprintf(out, sizeof out, "%s/programs-%d.out", tmpdir, v);
        snprintf(db, sizeof db, "programs%d", v);
        bak2pg_output o = {0};
        assert_int_equal(bak2pg_run(tmpdir, &o, "convert --keep-case %s -o '%s' '%s'", variants[v], out, bak), 0);
        bak2pg_output_free(&o);
        char *psql_out = NULL;
        if (psql_in(out, db, "load.sql", &psql_out) != 0) fail_msg("psql -f load.sql (%s): %s", variants[v], psql_out);
        free(psql_out);
        if (psql_in(out, NULL, "review.sql", &psql_out) != 0) fail_msg("psql -f review.sql: %s", psql_out);
        free(psql_out);
        for (int k = 1; k <= 4; k++) {
            snprintf(path, sizeof path, "%s/B2P-CANARY-%d", out, k);
            if (exists(path)) fail_msg("%s: a program ran: %s exists", variants[v], path);
            snprintf(path, sizeof path, "%s/B2P-CANARY-%d", tmpdir, k);
            if (exists(path)) fail_msg("%s: a program ran: %s exists", variants[v], path);
        }
        assert_int_equal(query(db, "SELECT id FROM public.\"a'$(touch B2P-CANARY-2)'b\""), 1);
        assert_int_equal(query(db, "SELECT id FROM public.\"c`touch B2P-CANARY-3`d\r\\! touch B2P-CANARY-4\""), 2);
    }
}

static void test_output_directory_is_never_reused_or_followed(void **state) {
    (void)state;
    char out[1024], bak[1024], path[1200], victim[1200];
    snprintf(bak, sizeof bak, "%s/collide.bak", tmpdir);
    if (!exists(bak)) make_backup("collide", COLLIDING);
    snprintf(out, sizeof out, "%s/reuse.out", tmpdir);
    bak2pg_output o = {0};
    assert_int_equal(bak2pg_run(tmpdir, &o, "convert -o '%s' '%s'", out, bak), 0);
    /* a used directory is refused, naming it */
    assert_int_equal(bak2pg_run(tmpdir, &o, "convert -o '%s' '%s'", out, bak), 2);
    assert_non_null(strstr(o.err, "is not empty"));
    /* --clean removes what bak2pg wrote, keeps the user's own file */
    snprintf(path, sizeof path, "%s/notes.txt", out);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("mine\n", f);
    fclose(f);
    assert_int_equal(bak2pg_run(tmpdir, &o, "convert --clean -o '%s' '%s'", out, bak), 0);
    assert_true(exists(path));
    assert_int_equal(entries_in(out), 5 + 5 + 1);
    /* dump -o: the same rules */
    snprintf(out, sizeof out, "%s/reuse.dump", tmpdir);
    assert_int_equal(bak2pg_run(tmpdir, &o, "dump --all -o '%s' '%s'", out, bak), 0);
    assert_int_equal(bak2pg_run(tmpdir, &o, "dump --all -o '%s' '%s'", out, bak), 2);
    assert_int_equal(bak2pg_run(tmpdir, &o, "dump --all --clean -o '%s' '%s'", out, bak), 0);
    assert_int_equal(entries_in(out), 5);
    /* a link planted where load.sql goes, pointing at a file elsewhere: never written through */
    snprintf(out, sizeof out, "%s/planted.out", tmpdir);
    snprintf(victim, sizeof victim, "%s/victim.txt", tmpdir);
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(mkdir(out, 0777), 0);
    snprintf(path, sizeof path, "%s/load.sql", out);
    assert_int_equal(symlink(victim, path), 0);
    int rc = bak2pg_run(tmpdir, &o, "convert --clean -o '%s' '%s'", out, bak);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(o.err, "load.sql"));
    size_t len;
    char *text = read_file(victim, &len);
    assert_string_equal(text, "precious\n");
    free(text);
    snprintf(path, sizeof path, "%s/manifest.json", out); /* no manifest: the run did not complete */
    assert_false(exists(path));
    bak2pg_output_free(&o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colliding_names_get_their_own_files),
        cmocka_unit_test(test_a_failed_table_does_not_sink_the_run),
        cmocka_unit_test(test_scripts_run_no_program),
        cmocka_unit_test(test_output_directory_is_never_reused_or_followed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
