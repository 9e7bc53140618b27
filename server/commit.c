/*
 * commit.c - group commit in the server (see commit.h): the committing thread, the 0 ms flush at
 * the end of each loop iteration, the requests parked while a commit is in flight, and the
 * jobs (api/job.h) that run on the committing thread.
 *
 * The write connection is handed over and back explicitly: store_batch_detach (or
 * store_batch_hand_over, with jobs) gives the batch to the committing thread (C.go under C.mu);
 * the thread runs the jobs' units, commits, seals the result (store_batch_seal) and posts it
 * (C.results, and a message to wake the loop); it may chain more batches; the result it posts
 * last is marked `back` and sets C.back. The loop ends each result in order
 * (store_batch_end_result) and takes the write connection back with the last. It never touches
 * the write connection in between: writers park (commit_dispatch, commit_call; parking sets
 * C.want, which stops the chain), and a writer that slipped past (the store's `wait` hook)
 * blocks until the connection is back.
 *
 * Shared with the thread, under C.mu: go/go_jobs, back, want, stop, the job queue and the
 * results. Everything else is the loop's.
 */
#include "server/commit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/barrier.h"
#include "api/job.h"
#include "core/flight.h"
#include "api/reply.h"
#include "server/checkpointer.h"
#include "server/config.h"
#include "server/metrics.h"

#define MAX_UNITS_DEFAULT 1000

/* Something waiting for the write connection. */
typedef struct parked parked;

/* In a parked request's pool: disposed with the request. */
typedef struct parked_guard {
    parked *p; /* NULL once it ran */
} parked_guard;

/* In a waiting job's request pool: disposed with the request. */
typedef struct job_guard {
    api_job *j; /* NULL once the job was finished */
} job_guard;

/* A batch the committing thread sealed, for the loop to end. */
typedef struct result {
    struct result *next;
    store_batch_result r;
    api_job *jobs; /* the jobs it ran, in order */
    int back;      /* the last of a chain: the write connection is back on the loop */
} result;

/* Something to run once the batch open now has ended. */
typedef struct after {
    struct after *next;
    uint64_t batch;
    void (*fn)(void *arg);
    void *arg;
} after;

struct parked {
    parked *next;
    /* a request ... */
    api_call *call; /* NULL once the client went away */
    api_handler_fn fn;
    parked_guard *guard;
    /* ... or a call */
    void (*call_fn)(void *arg);
    void *arg;
};

static struct {
    int on;
    h2o_context_t *ctx;
    fd_store *st;
    int max_units;
    parked *head, *tail; /* FIFO */
    size_t nparked;
    after *after_head, *after_tail; /* FIFO, in batch order */
    h2o_timeout_t flush_timeout;    /* 0 ms: the end of the current loop iteration */
    h2o_timeout_entry_t flush_entry;
    int in_flight; /* a batch is with the committing thread (loop's view) */
    h2o_multithread_receiver_t receiver;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu: */
    int go, back, stop;
    int want;                       /* the loop wants the write connection back: no chaining */
    api_job *go_jobs;               /* the jobs to run in the batch handed over */
    api_job *jobs_head, *jobs_tail; /* jobs for the next batch (FIFO) */
    size_t njobs;
    result *results_head, *results_tail; /* sealed batches for the loop to end, in order */
} C;

/* ---- the committing thread ---- */

/* Memory the thread cannot do without (a result, the loop's wake-up): wait for it. */
static void *alloc_retry(size_t size)
{
    void *p;
    while ((p = calloc(1, size)) == NULL)
        usleep(1000);
    return p;
}

/* Take up to max_units waiting jobs off the queue, in order. Under C.mu. */
static api_job *take_jobs_locked(void)
{
    api_job *first = C.jobs_head, *last = NULL;
    int n = 0;
    for (api_job *j = first; j != NULL && n < C.max_units; j = j->next, n++)
        last = j;
    if (last == NULL)
        return NULL;
    C.jobs_head = last->next;
    if (C.jobs_head == NULL)
        C.jobs_tail = NULL;
    last->next = NULL;
    C.njobs -= (size_t)n;
    return first;
}

/* Put jobs taken back at the front of the queue. Under C.mu. */
static void return_jobs_locked(api_job *jobs)
{
    size_t n = 0;
    api_job *last = jobs;
    for (api_job *j = jobs; j != NULL; j = j->next, n++)
        last = j;
    if (jobs == NULL)
        return;
    last->next = C.jobs_head;
    C.jobs_head = jobs;
    if (C.jobs_tail == NULL)
        C.jobs_tail = last;
    C.njobs += n;
}

/* Give a sealed batch to the loop. A message per result (freed by the loop): one object could
 * still be linked in the receiver's queue when the next one is posted, if the loop took the
 * results through the wait hook. */
static void post(result *res)
{
    h2o_multithread_message_t *msg = alloc_retry(sizeof *msg);
    pthread_mutex_lock(&C.mu);
    if (C.results_tail != NULL)
        C.results_tail->next = res;
    else
        C.results_head = res;
    C.results_tail = res;
    if (res->back)
        C.back = 1;
    pthread_cond_broadcast(&C.cv); /* a loop blocked in the wait hook */
    pthread_mutex_unlock(&C.mu);
    h2o_multithread_send_message(&C.receiver, msg);
}

/* The committing thread: it runs the jobs of the batch handed over, commits it, and then, as
 * long as jobs keep coming and the loop does not want the write connection back, begins the
 * next batch itself with the jobs that came in meanwhile (a chain): the loop ends each batch
 * (events, answers) while the thread already runs the next one's SQL. Going back to the loop
 * between batches cost ~0.3-0.9 ms of idle time per batch (the loop's wake-up, then its turn
 * to hand over), a third of the time between two commits under durable ticks. */
static void *committer_main(void *arg)
{
    (void)arg;
    store_batch_owner_thread(); /* the units of the jobs run here, inside the batch */
    pthread_mutex_lock(&C.mu);
    for (;;) {
        while (!C.go && !C.stop)
            pthread_cond_wait(&C.cv, &C.mu);
        if (!C.go)
            break; /* stop, with nothing left to commit */
        C.go = 0;
        api_job *jobs = C.go_jobs;
        C.go_jobs = NULL;
        pthread_mutex_unlock(&C.mu);
        for (;;) { /* the loop goes on meanwhile: the jobs' SQL, then the fsync */
            for (api_job *j = jobs; j != NULL; j = j->next)
                j->run(j, C.st);
            store_batch_commit_or_drop(C.st);
            result *res = alloc_retry(sizeof *res);
            store_batch_seal(C.st, &res->r);
            res->jobs = jobs;
            pthread_mutex_lock(&C.mu);
            jobs = C.want || C.stop ? NULL : take_jobs_locked();
            pthread_mutex_unlock(&C.mu);
            if (jobs != NULL && store_batch_chain(C.st) != FD_OK) {
                fprintf(stderr, "flightdeck: cannot begin the next batch: %s\n",
                        store_batch_error(C.st));
                pthread_mutex_lock(&C.mu);
                return_jobs_locked(jobs); /* the loop tries again */
                pthread_mutex_unlock(&C.mu);
                jobs = NULL;
            }
            res->back = jobs == NULL;
            post(res);
            if (jobs == NULL)
                break;
        }
        pthread_mutex_lock(&C.mu);
    }
    pthread_mutex_unlock(&C.mu);
    flight_thread_exit(); /* the step actions' per-thread buffers */
    return NULL;
}

/* ---- the loop's side ---- */

static void schedule_flush(void)
{
    if (C.on && !h2o_timeout_is_linked(&C.flush_entry))
        h2o_timeout_link(C.ctx->loop, &C.flush_timeout, &C.flush_entry);
}

/* The store opened a batch: commit it at the end of this loop iteration, so that everything the
 * iteration brings in (all the sockets that were readable) joins it. (Or it opened a read
 * snapshot, which ends there too.) */
static void on_batch_opened(void *arg)
{
    (void)arg;
    schedule_flush();
}

/* Run what waited for batch `id` (and earlier ones) to end. */
static void run_after(uint64_t id)
{
    while (C.after_head != NULL && C.after_head->batch <= id) {
        after *a = C.after_head;
        C.after_head = a->next;
        if (C.after_head == NULL)
            C.after_tail = NULL;
        a->fn(a->arg);
        free(a);
    }
}

/* Answer the jobs of a batch that has ended, in order, and free them. */
static void finish_jobs(api_job *j, int durable)
{
    while (j != NULL) {
        api_job *next = j->next;
        api_call *c = j->call;
        if (c != NULL) /* else the request, and the guard in its pool, are gone */
            ((job_guard *)j->guard)->j = NULL;
        j->finish(j, c, durable);
        j = next;
    }
}

static api_job *take_jobs(void)
{
    pthread_mutex_lock(&C.mu);
    api_job *jobs = take_jobs_locked();
    pthread_mutex_unlock(&C.mu);
    return jobs;
}

static int jobs_waiting(void)
{
    pthread_mutex_lock(&C.mu);
    int n = C.jobs_head != NULL;
    pthread_mutex_unlock(&C.mu);
    return n;
}

/* Give the open batch to the committing thread, with `jobs` to run in it first. */
static void go(api_job *jobs)
{
    C.in_flight = 1;
    pthread_mutex_lock(&C.mu);
    C.go = 1;
    C.want = C.head != NULL; /* writers still parked (the batch was full) come next */
    C.go_jobs = jobs;
    pthread_cond_signal(&C.cv);
    pthread_mutex_unlock(&C.mu);
}

/* Open a batch and hand it to the committing thread with the waiting jobs (as many as a batch
 * takes). 1 when it went; 0 when no batch could be opened: those jobs are answered 503. */
static int hand_jobs_over(void)
{
    uint64_t id = 0;
    api_job *jobs = take_jobs();
    if (store_batch_open(C.st) == FD_OK && store_batch_hand_over(C.st, &id)) {
        go(jobs);
        return 1;
    }
    fprintf(stderr, "flightdeck: cannot open a batch for the waiting writes: %s\n",
            store_batch_error(C.st));
    finish_jobs(jobs, 0); /* 503: nothing of them ran */
    if (jobs_waiting())
        schedule_flush(); /* the rest try again next iteration */
    return 0;
}

/* End one sealed batch: events, then the held answers and the jobs' answers, then whoever
 * waited for it to end. `start_next`: when it brings the write connection back and jobs wait
 * (they came in after the thread stopped chaining), they go to the thread before this batch's
 * answers are written. Not when writers are parked (they go first, at the flush), nor for the
 * wait hook (its writer needs the write connection here). */
static void end_one(result *res, int start_next)
{
    fd_err e = store_batch_end_result(C.st, &res->r, res->back);
    if (e != FD_OK)
        fprintf(stderr, "flightdeck: a batch of changes failed to commit and was not applied: %s\n",
                res->r.error);
    if (res->back) {
        C.in_flight = 0;
        if (start_next && C.head == NULL && jobs_waiting())
            hand_jobs_over();
    }
    api_barrier_release(res->r.id, e == FD_OK);
    finish_jobs(res->jobs, e == FD_OK);
    run_after(res->r.id);
    free(res);
}

/* End what the thread has sealed, in order: 1 when there was anything. `block`: wait until the
 * write connection is back (the wait hook). */
static int take_back(int block)
{
    pthread_mutex_lock(&C.mu);
    if (block && C.in_flight)
        C.want = 1; /* the thread stops chaining */
    while (block && C.in_flight && !C.back)
        pthread_cond_wait(&C.cv, &C.mu);
    result *list = C.results_head;
    C.results_head = C.results_tail = NULL;
    C.back = 0; /* a result that brings it back is in `list` */
    pthread_mutex_unlock(&C.mu);
    if (list == NULL)
        return 0;
    while (list != NULL) {
        result *next = list->next;
        end_one(list, !block);
        list = next;
    }
    if (!C.in_flight && (C.head != NULL || jobs_waiting()))
        schedule_flush(); /* the parked and the jobs make the next batch */
    return 1;
}

static void on_commit_back(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        free(m);
    }
    take_back(0); /* nothing when the wait hook took it already */
}

/* The store's safety net: a unit wants the write connection while the thread has it. */
static void on_batch_wait(void *arg)
{
    (void)arg;
    take_back(1);
}

static int batch_full(void)
{
    return store_batch_units(C.st) >= C.max_units;
}

static int may_write_now(void)
{
    return !C.in_flight && store_batch_writable(C.st) && !batch_full();
}

static void run_parked_one(parked *p)
{
    if (p->call_fn != NULL) {
        store_batch_touch(C.st);
        p->call_fn(p->arg);
    } else if (p->call != NULL) { /* NULL: the client went away while it waited */
        p->guard->p = NULL;
        store_batch_touch(C.st);
        p->fn(p->call);
    }
    store_batch_untouch(C.st); /* what runs next reads committed data, unless it writes */
    free(p);
}

/* Run parked work while the batch has room (first come, first served). */
static void run_parked(void)
{
    while (C.head != NULL && may_write_now()) {
        parked *p = C.head;
        C.head = p->next;
        if (C.head == NULL)
            C.tail = NULL;
        C.nparked--;
        run_parked_one(p);
    }
}

/* The end of a loop iteration: let the parked in, then send the batch, with the waiting jobs,
 * to the committing thread. */
static void flush(void)
{
    store_batch_read_end(C.st); /* this iteration's reads are done */
    if (C.in_flight)
        return; /* the commit's return schedules the next flush */
    run_parked();
    uint64_t id = 0;
    if (jobs_waiting() && hand_jobs_over())
        return;
    if (store_batch_detach(C.st, &id)) {
        go(NULL);
        return;
    }
    if (id != 0) { /* only refusals and replays: ended without an fsync */
        result *res = alloc_retry(sizeof *res);
        store_batch_seal(C.st, &res->r);
        res->back = 1;
        end_one(res, 0);
    }
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    (void)entry;
    flush();
}

static void park(parked *p)
{
    if (C.tail != NULL)
        C.tail->next = p;
    else
        C.head = p;
    C.tail = p;
    C.nparked++;
    pthread_mutex_lock(&C.mu);
    C.want = 1; /* the thread gives the write connection back after its batch at hand */
    pthread_mutex_unlock(&C.mu);
}

static void on_parked_request_disposed(void *arg)
{
    parked_guard *g = arg;
    if (g->p != NULL)
        g->p->call = NULL;
}

void commit_dispatch(api_call *c, api_handler_fn fn, int writes)
{
    if (!C.on) {
        fn(c);
        return;
    }
    if (!writes) {
        store_batch_untouch(C.st); /* reads committed data; answered at once */
        fn(c);
        return;
    }
    if (C.head == NULL && may_write_now()) {
        store_batch_touch(C.st); /* its reads see the open batch; its answer waits for it */
        fn(c);
        store_batch_untouch(C.st);
        return;
    }
    parked *p = calloc(1, sizeof *p);
    if (p == NULL) {
        fd_fail(&c->ctx.problem, FD_E_UNAVAILABLE, NULL, "out of memory; retry");
        api_reply_error(c, FD_E_UNAVAILABLE, &c->ctx.problem);
        return;
    }
    p->call = c;
    p->fn = fn;
    p->guard = h2o_mem_alloc_shared(&c->req->pool, sizeof *p->guard, on_parked_request_disposed);
    p->guard->p = p;
    park(p);
}

static void on_job_request_disposed(void *arg)
{
    job_guard *g = arg;
    if (g->j != NULL)
        g->j->call = NULL; /* the job still runs (its change is as good as any); no answer */
}

/* api_job_submit's server side: queue the job for the next batch handed over. */
static int job_submit(api_call *c, api_job *j)
{
    if (!C.on)
        return -1;
    job_guard *g = h2o_mem_alloc_shared(&c->req->pool, sizeof *g, on_job_request_disposed);
    g->j = j;
    j->guard = g;
    j->call = c;
    j->next = NULL;
    pthread_mutex_lock(&C.mu);
    if (C.jobs_tail != NULL)
        C.jobs_tail->next = j;
    else
        C.jobs_head = j;
    C.jobs_tail = j;
    C.njobs++;
    pthread_mutex_unlock(&C.mu);
    if (!C.in_flight) /* else the thread takes it into its next batch, or the return does */
        schedule_flush();
    return 0;
}

int commit_call(void (*fn)(void *arg), void *arg)
{
    if (!C.on) {
        fn(arg);
        return 0;
    }
    if (C.head == NULL && may_write_now()) {
        store_batch_touch(C.st);
        fn(arg);
        store_batch_untouch(C.st);
        return 0;
    }
    parked *p = calloc(1, sizeof *p);
    if (p == NULL) {
        fn(arg); /* the store's wait hook holds the loop until the write connection is back */
        return -1;
    }
    p->call_fn = fn;
    p->arg = arg;
    park(p);
    return 0;
}

int commit_after(void (*fn)(void *arg), void *arg)
{
    uint64_t id = C.on ? store_batch_open_id(C.st) : 0;
    if (id == 0) { /* nothing uncommitted: it has all ended */
        fn(arg);
        return 0;
    }
    after *a = calloc(1, sizeof *a);
    if (a == NULL) {
        fn(arg); /* early rather than never */
        return -1;
    }
    a->batch = id;
    a->fn = fn;
    a->arg = arg;
    if (C.after_tail != NULL)
        C.after_tail->next = a;
    else
        C.after_head = a;
    C.after_tail = a;
    return 0;
}

int commit_on(void)
{
    return C.on;
}

size_t commit_parked(void)
{
    if (!C.on)
        return C.nparked;
    pthread_mutex_lock(&C.mu);
    size_t n = C.nparked + C.njobs;
    pthread_mutex_unlock(&C.mu);
    return n;
}

static double metric_parked(void *arg)
{
    (void)arg;
    return (double)commit_parked();
}

static double metric_held(void *arg)
{
    (void)arg;
    return (double)api_barrier_held();
}

static double metric_checkpoints(void *arg)
{
    (void)arg;
    return (double)checkpointer_runs();
}

int commit_start(h2o_context_t *ctx, fd_store *st)
{
    long long enabled = 1, max_units = MAX_UNITS_DEFAULT;
    char err[160];
    fd_problem p = {0};
    memset(&C, 0, sizeof C);
    if (config_env_number("FLIGHTDECK_GROUP_COMMIT", 0, 1, &enabled, err, sizeof err) != 0 ||
        config_env_number("FLIGHTDECK_GROUP_COMMIT_MAX", 1, 100000, &max_units, err, sizeof err) !=
            0) {
        fprintf(stderr, "flightdeck: %s\n", err);
        return -1;
    }
    if (!enabled)
        return 0;
    store_batch_hooks hooks = {.opened = on_batch_opened,
                               .wait = on_batch_wait,
                               .wal_grown = checkpointer_wake,
                               .arg = NULL};
    fd_err e = store_batch_enable(st, &hooks, &p);
    if (e == FD_E_INVALID) { /* ":memory:": one connection, one transaction per request */
        fd_problem_clear(&p);
        return 0;
    }
    if (e != FD_OK) {
        fprintf(stderr, "flightdeck: cannot start group commit: %s\n", p.detail);
        fd_problem_clear(&p);
        return -1;
    }
    if (checkpointer_start(st) != 0) {
        store_batch_disable(st);
        return -1;
    }
    C.ctx = ctx;
    C.st = st;
    C.max_units = (int)max_units;
    pthread_mutex_init(&C.mu, NULL);
    pthread_cond_init(&C.cv, NULL);
    h2o_multithread_register_receiver(ctx->queue, &C.receiver, on_commit_back);
    if (pthread_create(&C.thread, NULL, committer_main, NULL) != 0) {
        fprintf(stderr, "flightdeck: cannot start the committing thread\n");
        h2o_multithread_unregister_receiver(ctx->queue, &C.receiver);
        pthread_mutex_destroy(&C.mu);
        pthread_cond_destroy(&C.cv);
        checkpointer_stop();
        store_batch_disable(st);
        return -1;
    }
    h2o_timeout_init(ctx->loop, &C.flush_timeout, 0);
    C.flush_entry.cb = on_flush;
    api_barrier_set_store(st);
    C.on = 1;
    api_job_set_submit(job_submit);
    metrics_gauge_fn("flightdeck_commit_parked",
                     "Writes waiting for the commit in flight to come back (group commit).",
                     metric_parked, NULL);
    metrics_counter_fn("flightdeck_store_checkpoints_total",
                       "Checkpoints of the write-ahead log, run beside the commits.",
                       metric_checkpoints, NULL);
    metrics_gauge_fn("flightdeck_commit_held_answers",
                     "Answers written and waiting for their batch to be durable (group commit).",
                     metric_held, NULL);
    return 0;
}

void commit_stop(void)
{
    if (!C.on)
        return;
    take_back(1); /* the batch in flight */
    api_job_set_submit(NULL); /* handlers run their writes themselves from now on */
    /* what waits, in as many batches as it takes, committed here on the loop */
    while (C.head != NULL || jobs_waiting() || store_batch_open_id(C.st) != 0) {
        run_parked();
        api_job *jobs = take_jobs();
        for (api_job *j = jobs; j != NULL; j = j->next)
            j->run(j, C.st); /* on the loop: units in the open batch as any other */
        uint64_t id = 0;
        fd_err e = store_batch_finish(C.st, &id);
        if (e != FD_OK)
            fprintf(stderr, "flightdeck: the last batch failed to commit: %s\n",
                    store_batch_error(C.st));
        if (id != 0) {
            api_barrier_release(id, e == FD_OK);
            finish_jobs(jobs, e == FD_OK);
            run_after(id);
        } else {
            finish_jobs(jobs, 0); /* none of them could even begin */
        }
    }
    run_after(UINT64_MAX); /* none should be left: every batch has ended */
    pthread_mutex_lock(&C.mu);
    C.stop = 1;
    pthread_cond_broadcast(&C.cv);
    pthread_mutex_unlock(&C.mu);
    pthread_join(C.thread, NULL);
    /* messages posted that the loop has not read: the receiver must be empty to unregister */
    on_commit_back(&C.receiver, &C.receiver._messages);
    h2o_multithread_unregister_receiver(C.ctx->queue, &C.receiver);
    if (h2o_timeout_is_linked(&C.flush_entry))
        h2o_timeout_unlink(&C.flush_entry);
    h2o_timeout_dispose(C.ctx->loop, &C.flush_timeout);
    pthread_mutex_destroy(&C.mu);
    pthread_cond_destroy(&C.cv);
    api_barrier_set_store(NULL);
    checkpointer_stop(); /* before its connection closes */
    store_batch_disable(C.st);
    C.on = 0;
}
