/* Output that cannot be written, for the commands that talk to PostgreSQL: `load` (its summary
 * and --log-json events) and `verify` (its table and --json) with standard output on /dev/full
 * fail with exit status 3 and the reason in one line, like every other command (cli/main.c;
 * the commands without a server are in test_cli.c). A real PostgreSQL 15, started here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "base/base.h"
#include "tests/support/fixtures.h"
#include "tests/support/pgserver.h"

static char tmpdir[256];
static pgserver *server;
static bak2pg_output last;
static char err_text[1 << 16];

static int setup(void **state) {
    (void)state;
    return pgserver_test_setup("b2p-outloss", tmpdir, sizeof tmpdir, &server);
}

static int teardown(void **state) {
    (void)state;
    bak2pg_output_free(&last);
    return pgserver_test_teardown(server, tmpdir);
}

/* Runs "bak2pg ARGS" with standard output on /dev/full, stderr captured in err_text. */
static int run_to_full_disk(const char *fmt, ...) {
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/full 2>'%s/err' </dev/null", bak2pg_bin(), args, tmpdir);
    int st = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/err", tmpdir);
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(err_text, 1, sizeof err_text - 1, f) : 0;
    err_text[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The last line of stderr gives the reason (load and verify report progress lines before it). */
static void assert_reason_given(const char *what) {
    if (!strstr(err_text, "(standard output: No space left on device)"))
        fail_msg("%s > /dev/full: no reason given: %s", what, err_text);
}

static void test_load_and_verify_output_lost(void **state) {
    (void)state;
    char bak[4096], conninfo[1024];
    snprintf(bak, sizeof bak, "%s", fixture_path("quanlysinhvien_2016sp2_tiny_nhatminh.bak"));
    assert_int_equal(pgserver_create_db(server, "lost"), 0);
    pgserver_conninfo_db(server, "lost", conninfo, sizeof conninfo);
    /* the rows arrive, the summary does not: the run says so */
    int rc = run_to_full_disk("load --dsn '%s' '%s'", conninfo, bak);
    if (rc != B2P_ERR_IO) fail_msg("load: exit %d: %s", rc, err_text);
    assert_reason_given("load");
    rc = run_to_full_disk("load --log-json --dsn '%s' '%s'", conninfo, bak);
    if (rc != B2P_ERR_IO) fail_msg("load --log-json: exit %d: %s", rc, err_text);
    assert_reason_given("load --log-json");
    /* the target is complete: verify itself passes, its report is what is lost */
    assert_int_equal(bak2pg_run(tmpdir, &last, "verify --dsn '%s' '%s'", conninfo, bak), 0);
    rc = run_to_full_disk("verify --dsn '%s' '%s'", conninfo, bak);
    if (rc != B2P_ERR_IO) fail_msg("verify: exit %d: %s", rc, err_text);
    assert_reason_given("verify");
    rc = run_to_full_disk("verify --json --dsn '%s' '%s'", conninfo, bak);
    if (rc != B2P_ERR_IO) fail_msg("verify --json: exit %d: %s", rc, err_text);
    assert_reason_given("verify --json");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_verify_output_lost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
