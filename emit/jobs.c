/* Jobs on threads (emit.h "jobs on threads"): one mutex and one condition variable guard the
 * scheduling state; the jobs themselves run outside the lock. A worker takes the most preferred
 * ready job; when none is ready it waits for a running job to finish, which may release some. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

enum { JOB_WAITING, JOB_STARTED };

struct b2p_jobs {
    const b2p_jobs_spec *spec;
    pthread_mutex_t mu;
    pthread_cond_t changed;      /* a job finished, or the run stopped */
    size_t *unmet;               /* per job: dependencies not finished yet */
    uint8_t *state;              /* per job: JOB_WAITING or JOB_STARTED */
    size_t *dependents, *dep_start; /* who waits for job j: dependents[dep_start[j] .. dep_start[j+1]) */
    size_t next_pref;            /* order[] before this index have all started */
    size_t started, running;
    unsigned workers_expected;   /* workers whose start is awaited (threads actually created) */
    unsigned workers_ready;      /* workers whose start has returned */
    atomic_bool stopping;
    b2p_status status;           /* the first failure */
    b2p_error first_err;
};

bool b2p_jobs_stopping(const b2p_jobs *jobs) {
    return atomic_load_explicit(&jobs->stopping, memory_order_relaxed);
}

static size_t pref(const b2p_jobs *j, size_t k) {
    return j->spec->order ? j->spec->order[k] : k;
}

static size_t ndeps_of(const b2p_jobs_spec *s, size_t i) {
    return s->ndeps ? s->ndeps[i] : 0;
}

/* The reverse edges (who waits for whom) and each job's count of unmet dependencies. */
static b2p_status build_graph(b2p_jobs *j, b2p_error *err) {
    const b2p_jobs_spec *s = j->spec;
    size_t n = s->njobs, edges = 0;
    for (size_t i = 0; i < n; i++) edges += ndeps_of(s, i);
    j->unmet = calloc(n + 1, sizeof *j->unmet);
    j->state = calloc(n + 1, 1);
    j->dep_start = calloc(n + 2, sizeof *j->dep_start);
    j->dependents = calloc(edges + 1, sizeof *j->dependents);
    if (!j->unmet || !j->state || !j->dep_start || !j->dependents)
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory scheduling %zu jobs", n);
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < ndeps_of(s, i); d++) {
            size_t on = s->deps[i][d];
            if (on >= n) return b2p_fail(err, B2P_ERR_INTERNAL, "job %zu depends on job %zu of %zu", i, on, n);
            j->dep_start[on + 1]++;
        }
        j->unmet[i] = ndeps_of(s, i);
    }
    for (size_t k = 0; k < n; k++) j->dep_start[k + 1] += j->dep_start[k];
    size_t *fill = calloc(n + 1, sizeof *fill);
    if (!fill) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory scheduling %zu jobs", n);
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < ndeps_of(s, i); d++) {
            size_t on = s->deps[i][d];
            j->dependents[j->dep_start[on] + fill[on]++] = i;
        }
    free(fill);
    return B2P_OK;
}

/* Kahn's algorithm on a copy of the counts: every job must become ready eventually. */
static b2p_status refuse_cycles(const b2p_jobs *j, b2p_error *err) {
    size_t n = j->spec->njobs, done = 0;
    size_t *unmet = malloc((n + 1) * sizeof *unmet), *ready = malloc((n + 1) * sizeof *ready);
    b2p_status st = B2P_OK;
    if (!unmet || !ready) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory scheduling %zu jobs", n);
    if (!st) {
        size_t nready = 0;
        memcpy(unmet, j->unmet, n * sizeof *unmet);
        for (size_t i = 0; i < n; i++)
            if (!unmet[i]) ready[nready++] = i;
        while (nready) {
            size_t i = ready[--nready];
            done++;
            for (size_t e = j->dep_start[i]; e < j->dep_start[i + 1]; e++)
                if (--unmet[j->dependents[e]] == 0) ready[nready++] = j->dependents[e];
        }
        if (done < n)
            st = b2p_fail(err, B2P_ERR_INTERNAL, "%zu of %zu jobs wait on each other in a cycle", n - done, n);
    }
    free(unmet);
    free(ready);
    return st;
}

/* The most preferred job that is ready and not started, or SIZE_MAX. Called locked. */
static size_t take_ready(b2p_jobs *j) {
    size_t n = j->spec->njobs;
    while (j->next_pref < n && j->state[pref(j, j->next_pref)] == JOB_STARTED) j->next_pref++;
    for (size_t k = j->next_pref; k < n; k++) {
        size_t i = pref(j, k);
        if (j->state[i] == JOB_WAITING && j->unmet[i] == 0) {
            j->state[i] = JOB_STARTED;
            j->started++;
            j->running++;
            return i;
        }
    }
    return SIZE_MAX;
}

/* Records the outcome of a job or of a worker's start. Called locked. */
static void finish(b2p_jobs *j, size_t job, b2p_status st, const b2p_error *err) {
    if (st && !j->status) {
        j->status = st;
        j->first_err = *err;
        atomic_store(&j->stopping, true);
    }
    if (!st && job != SIZE_MAX)
        for (size_t e = j->dep_start[job]; e < j->dep_start[job + 1]; e++) j->unmet[j->dependents[e]]--;
    pthread_cond_broadcast(&j->changed);
}

typedef struct worker {
    b2p_jobs *jobs;
    unsigned index;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    b2p_jobs *j = w->jobs;
    const b2p_jobs_spec *s = j->spec;
    b2p_error err = {0};
    b2p_status st = s->worker_start ? s->worker_start(s->ctx, w->index, &err) : B2P_OK;
    pthread_mutex_lock(&j->mu);
    if (st) finish(j, SIZE_MAX, st, &err);
    /* no job before every worker has started: a worker that cannot start (no connection, say)
     * stops the run before any job has run, whichever thread gets going first */
    j->workers_ready++;
    pthread_cond_broadcast(&j->changed);
    while (!j->status && j->workers_ready < j->workers_expected) pthread_cond_wait(&j->changed, &j->mu);
    while (!st && !j->status && j->started < s->njobs) {
        size_t job = take_ready(j);
        if (job == SIZE_MAX) {
            if (!j->running) break; /* cannot happen once cycles are refused; never wait forever */
            pthread_cond_wait(&j->changed, &j->mu);
            continue;
        }
        pthread_mutex_unlock(&j->mu);
        b2p_status jst = s->run(s->ctx, j, job, w->index, &err);
        pthread_mutex_lock(&j->mu);
        j->running--;
        finish(j, job, jst, &err);
    }
    pthread_mutex_unlock(&j->mu);
    if (!st && s->worker_stop) s->worker_stop(s->ctx, w->index);
    return NULL;
}

static void free_graph(b2p_jobs *j) {
    free(j->unmet);
    free(j->state);
    free(j->dep_start);
    free(j->dependents);
}

b2p_status b2p_jobs_run(const b2p_jobs_spec *spec, b2p_error *err) {
    b2p_jobs j = {.spec = spec};
    atomic_init(&j.stopping, false);
    b2p_status st = build_graph(&j, err);
    if (!st) st = refuse_cycles(&j, err);
    unsigned nthreads = spec->threads ? spec->threads : 1;
    if (nthreads > spec->njobs) nthreads = spec->njobs ? (unsigned)spec->njobs : 1;
    worker *ws = st ? NULL : calloc(nthreads, sizeof *ws);
    pthread_t *tids = st ? NULL : calloc(nthreads, sizeof *tids);
    if (!st && (!ws || !tids)) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory starting %u workers", nthreads);
    if (st) {
        free(ws);
        free(tids);
        free_graph(&j);
        return st;
    }
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.changed, NULL);
    /* Workers 1.. on threads of their own (fewer if the system refuses some: the run is the same,
     * only slower); worker 0 on this thread. */
    unsigned started = 1;
    j.workers_expected = nthreads;
    for (unsigned w = 1; w < nthreads; w++) {
        ws[w] = (worker){&j, w};
        if (pthread_create(&tids[w], NULL, work, &ws[w]) != 0) break;
        started++;
    }
    if (started < nthreads) {
        pthread_mutex_lock(&j.mu);
        j.workers_expected = started;
        pthread_cond_broadcast(&j.changed);
        pthread_mutex_unlock(&j.mu);
    }
    ws[0] = (worker){&j, 0};
    work(&ws[0]);
    for (unsigned w = 1; w < started; w++) pthread_join(tids[w], NULL);
    pthread_cond_destroy(&j.changed);
    pthread_mutex_destroy(&j.mu);
    st = j.status;
    if (st) *err = j.first_err;
    free(ws);
    free(tids);
    free_graph(&j);
    return st;
}
