/* The scheduler of emit.h ("jobs on threads"): every job runs once, dependencies are respected,
 * the preferred order is followed, the first failure stops the run and is the one reported,
 * workers are started and stopped in pairs, cycles are refused before anything runs.
 * Workers record what they see; the assertions run on the main thread afterwards. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "emit/emit.h"

enum { MAX_JOBS = 400, MAX_WORKERS = 8 };

typedef struct fixture {
    atomic_uint runs[MAX_JOBS];       /* times each job ran */
    atomic_bool finished[MAX_JOBS];   /* set as a job returns */
    atomic_uint violations;           /* a job started before one of its dependencies finished */
    atomic_uint bad_worker;           /* a job given a worker index out of range or not started */
    atomic_uint started[MAX_WORKERS], stopped[MAX_WORKERS];
    atomic_uint total;
    size_t sequence[MAX_JOBS];        /* start order; only meaningful with one thread */
    atomic_size_t nsequence;
    unsigned threads;
    size_t ndeps[MAX_JOBS];
    size_t deps_store[MAX_JOBS][4];
    const size_t *deps[MAX_JOBS];
    long fail_job;                    /* this job fails (-1: none) */
    long fail_worker;                 /* this worker's start fails (-1: none) */
    bool wait_for_stop;               /* other jobs wait until the run is stopping */
    unsigned spin_us;                 /* work per job */
} fixture;

static void pause_us(unsigned us) {
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
}

static b2p_status start(void *ctx, unsigned worker, b2p_error *err) {
    fixture *f = ctx;
    if (worker >= f->threads) atomic_fetch_add(&f->bad_worker, 1);
    else atomic_fetch_add(&f->started[worker], 1);
    if ((long)worker == f->fail_worker) return b2p_fail(err, B2P_ERR_NOMEM, "worker %u cannot start", worker);
    return B2P_OK;
}

static void stop(void *ctx, unsigned worker) {
    fixture *f = ctx;
    if (worker < f->threads) atomic_fetch_add(&f->stopped[worker], 1);
}

static b2p_status run(void *ctx, b2p_jobs *jobs, size_t job, unsigned worker, b2p_error *err) {
    fixture *f = ctx;
    if (worker >= f->threads || !atomic_load(&f->started[worker])) atomic_fetch_add(&f->bad_worker, 1);
    for (size_t d = 0; d < f->ndeps[job]; d++)
        if (!atomic_load(&f->finished[f->deps[job][d]])) atomic_fetch_add(&f->violations, 1);
    atomic_fetch_add(&f->runs[job], 1);
    atomic_fetch_add(&f->total, 1);
    f->sequence[atomic_fetch_add(&f->nsequence, 1)] = job;
    b2p_status st = B2P_OK;
    if ((long)job == f->fail_job) {
        st = b2p_fail(err, B2P_ERR_CORRUPT, "job %zu failed", job);
    } else if (f->wait_for_stop) {
        for (int i = 0; i < 20000 && !b2p_jobs_stopping(jobs); i++) pause_us(100);
    } else if (f->spin_us) {
        pause_us(f->spin_us * (unsigned)(job % 3));
    }
    atomic_store(&f->finished[job], true);
    return st;
}

static fixture *new_fixture(unsigned threads) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->threads = threads;
    f->fail_job = f->fail_worker = -1;
    for (size_t i = 0; i < MAX_JOBS; i++) f->deps[i] = f->deps_store[i];
    return f;
}

static b2p_jobs_spec spec_of(fixture *f, size_t njobs, const size_t *order) {
    return (b2p_jobs_spec){.njobs = njobs, .threads = f->threads, .order = order, .ndeps = f->ndeps,
                           .deps = f->deps, .ctx = f, .worker_start = start, .worker_stop = stop, .run = run};
}

static void assert_each_ran_once(const fixture *f, size_t njobs) {
    for (size_t i = 0; i < njobs; i++)
        if (atomic_load(&f->runs[i]) != 1) fail_msg("job %zu ran %u times", i, atomic_load(&f->runs[i]));
    assert_int_equal(atomic_load(&f->total), njobs);
}

static void assert_workers_paired(const fixture *f) {
    assert_int_equal(atomic_load(&f->bad_worker), 0);
    for (unsigned w = 0; w < f->threads; w++) {
        assert_true(atomic_load(&f->started[w]) <= 1);
        unsigned want = atomic_load(&f->started[w]) && (long)w != f->fail_worker;
        assert_int_equal(atomic_load(&f->stopped[w]), want);
    }
}

/* No dependencies, 4 threads: every job once, on workers that were started, all stopped. */
static void test_independent_jobs(void **state) {
    (void)state;
    fixture *f = new_fixture(4);
    f->spin_us = 50;
    b2p_jobs_spec s = spec_of(f, 300, NULL);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_OK);
    assert_each_ran_once(f, 300);
    assert_workers_paired(f);
    assert_int_equal(atomic_load(&f->started[0]), 1); /* the calling thread is worker 0 */
    free(f);
}

/* One thread follows the preferred order exactly, on the calling thread. */
static void test_one_thread_follows_order(void **state) {
    (void)state;
    fixture *f = new_fixture(1);
    size_t order[50];
    for (size_t i = 0; i < 50; i++) order[i] = (i * 17 + 5) % 50; /* a permutation: 17 is prime to 50 */
    b2p_jobs_spec s = spec_of(f, 50, order);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_OK);
    assert_each_ran_once(f, 50);
    for (size_t i = 0; i < 50; i++) assert_int_equal(f->sequence[i], order[i]);
    assert_workers_paired(f);
    free(f);
}

/* A layered graph with up to 4 dependencies per job on 4 threads: no job starts before all of
 * its dependencies have finished, and every job runs. */
static void test_dependencies_respected(void **state) {
    (void)state;
    fixture *f = new_fixture(4);
    f->spin_us = 30;
    size_t n = MAX_JOBS;
    uint32_t rnd = 12345;
    for (size_t i = 1; i < n; i++) {
        size_t k = i < 4 ? i : 4;
        for (size_t d = 0; d < k; d++) {
            rnd = rnd * 1103515245u + 12345u;
            size_t on = (rnd >> 8) % i; /* only earlier jobs: no cycle */
            bool dup = false;
            for (size_t e = 0; e < f->ndeps[i]; e++) dup |= f->deps_store[i][e] == on;
            if (!dup) f->deps_store[i][f->ndeps[i]++] = on;
        }
    }
    size_t order[MAX_JOBS]; /* prefer the late jobs: the scheduler must hold them back */
    for (size_t i = 0; i < n; i++) order[i] = n - 1 - i;
    b2p_jobs_spec s = spec_of(f, n, order);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_OK);
    assert_int_equal(atomic_load(&f->violations), 0);
    assert_each_ran_once(f, n);
    assert_workers_paired(f);
    free(f);
}

/* A chain run on one thread starts each job after the one it needs, whatever the preference. */
static void test_chain_on_one_thread(void **state) {
    (void)state;
    fixture *f = new_fixture(1);
    for (size_t i = 1; i < 10; i++) {
        f->deps_store[i][0] = i - 1;
        f->ndeps[i] = 1;
    }
    size_t order[10];
    for (size_t i = 0; i < 10; i++) order[i] = 9 - i;
    b2p_jobs_spec s = spec_of(f, 10, order);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_OK);
    for (size_t i = 0; i < 10; i++) assert_int_equal(f->sequence[i], i);
    free(f);
}

/* One thread: the failing job is the last to run, and its error is the run's. */
static void test_failure_stops_sequential_run(void **state) {
    (void)state;
    fixture *f = new_fixture(1);
    f->fail_job = 10;
    b2p_jobs_spec s = spec_of(f, 50, NULL);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_ERR_CORRUPT);
    assert_string_equal(err.msg, "job 10 failed");
    assert_int_equal(atomic_load(&f->total), 11);
    for (size_t i = 0; i < 11; i++) assert_int_equal(f->sequence[i], i);
    assert_workers_paired(f);
    free(f);
}

/* Four threads: the other jobs in flight see b2p_jobs_stopping and end; no job starts after the
 * failure, so at most one job per worker ran (the jobs wait for the stop, so none finishes first). */
static void test_failure_stops_parallel_run(void **state) {
    (void)state;
    fixture *f = new_fixture(4);
    f->fail_job = 2;
    f->wait_for_stop = true;
    b2p_jobs_spec s = spec_of(f, 200, NULL);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_ERR_CORRUPT);
    assert_string_equal(err.msg, "job 2 failed");
    assert_int_equal(atomic_load(&f->runs[2]), 1);
    assert_true(atomic_load(&f->total) <= 4);
    for (size_t i = 4; i < 200; i++) assert_int_equal(atomic_load(&f->runs[i]), 0);
    assert_workers_paired(f);
    free(f);
}

/* A worker that cannot start fails the run with its error; the others are stopped as usual. */
static void test_worker_start_failure(void **state) {
    (void)state;
    fixture *f = new_fixture(3);
    f->fail_worker = 0;
    b2p_jobs_spec s = spec_of(f, 100, NULL);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_ERR_NOMEM);
    assert_string_equal(err.msg, "worker 0 cannot start");
    assert_int_equal(atomic_load(&f->total), 0); /* no job before every worker has started */
    assert_workers_paired(f);
    free(f);
}

/* 0 -> 1 -> 2 -> 0: refused before any worker starts. So is a dependency out of range. */
static void test_cycle_refused(void **state) {
    (void)state;
    fixture *f = new_fixture(2);
    for (size_t i = 0; i < 3; i++) {
        f->deps_store[i][0] = (i + 1) % 3;
        f->ndeps[i] = 1;
    }
    b2p_jobs_spec s = spec_of(f, 4, NULL);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "3 of 4 jobs wait on each other"));
    f->deps_store[0][0] = 7;
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "job 0 depends on job 7 of 4"));
    assert_int_equal(atomic_load(&f->total), 0);
    assert_int_equal(atomic_load(&f->started[0]) + atomic_load(&f->started[1]), 0);
    free(f);
}

/* No jobs: nothing runs, success; more threads than jobs: only as many workers as jobs. */
static void test_few_jobs(void **state) {
    (void)state;
    fixture *f = new_fixture(4);
    b2p_jobs_spec s = spec_of(f, 0, NULL);
    b2p_error err = {0};
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_OK);
    assert_int_equal(atomic_load(&f->total), 0);
    s = spec_of(f, 2, NULL);
    assert_int_equal(b2p_jobs_run(&s, &err), B2P_OK);
    assert_each_ran_once(f, 2);
    assert_int_equal(atomic_load(&f->started[2]) + atomic_load(&f->started[3]), 0);
    free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_independent_jobs),
        cmocka_unit_test(test_one_thread_follows_order),
        cmocka_unit_test(test_dependencies_respected),
        cmocka_unit_test(test_chain_on_one_thread),
        cmocka_unit_test(test_failure_stops_sequential_run),
        cmocka_unit_test(test_failure_stops_parallel_run),
        cmocka_unit_test(test_worker_start_failure),
        cmocka_unit_test(test_cycle_refused),
        cmocka_unit_test(test_few_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
