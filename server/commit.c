/*
 * commit.c - group commit in the server (see commit.h): the committing thread, the 0 ms flush at
 * the end of each loop iteration, and the requests parked while a commit is in flight.
 *
 * The write connection is handed over and back explicitly: store_batch_detach gives the batch
 * to the committing thread (C.go under C.mu), the thread runs store_batch_commit_run and sets
 * C.back, then posts a message to the loop; the loop's store_batch_end takes it back. The loop
 * never touches the write connection in between: writers park (commit_dispatch, commit_call),
 * and a writer that slipped past (the store's `wait` hook) blocks until the commit is back.
 */
#include "server/commit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/barrier.h"
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
    int go, back, stop; /* guarded by mu */
} C;

/* ---- the committing thread ---- */

static void *committer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&C.mu);
    for (;;) {
        while (!C.go && !C.stop)
            pthread_cond_wait(&C.cv, &C.mu);
        if (!C.go)
            break; /* stop, with nothing left to commit */
        C.go = 0;
        pthread_mutex_unlock(&C.mu);
        store_batch_commit_run(C.st); /* the fsync; the loop goes on meanwhile */
        /* A message per commit (freed by the loop): one object could still be linked in the
         * receiver's queue when the next commit ends, if the loop took the first one back
         * through the wait hook. */
        h2o_multithread_message_t *msg;
        while ((msg = calloc(1, sizeof *msg)) == NULL)
            usleep(1000); /* without the message the loop would never learn it is back */
        pthread_mutex_lock(&C.mu);
        C.back = 1;
        pthread_cond_broadcast(&C.cv); /* a loop blocked in the wait hook */
        pthread_mutex_unlock(&C.mu);
        h2o_multithread_send_message(&C.receiver, msg);
        pthread_mutex_lock(&C.mu);
    }
    pthread_mutex_unlock(&C.mu);
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

/* The batch is back (or was ended on the spot): events, then the held answers, then whoever
 * waited for it to end. */
static void batch_end(void)
{
    uint64_t id = 0;
    fd_err e = store_batch_end(C.st, &id);
    if (e != FD_OK)
        fprintf(stderr, "flightdeck: a batch of changes failed to commit and was not applied: %s\n",
                store_batch_error(C.st));
    if (id != 0) {
        api_barrier_release(id, e == FD_OK);
        run_after(id);
    }
    if (C.head != NULL)
        schedule_flush(); /* the parked make the next batch */
}

/* Take the commit back from the thread: 1 when it had one to give. */
static int take_back(int block)
{
    int back;
    pthread_mutex_lock(&C.mu);
    while (block && C.in_flight && !C.back)
        pthread_cond_wait(&C.cv, &C.mu);
    back = C.back;
    C.back = 0;
    pthread_mutex_unlock(&C.mu);
    if (!back)
        return 0;
    C.in_flight = 0;
    batch_end();
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

/* The end of a loop iteration: let the parked in, then send the batch to disk. */
static void flush(void)
{
    store_batch_read_end(C.st); /* this iteration's reads are done */
    if (C.in_flight)
        return; /* the commit's return schedules the next flush */
    run_parked();
    uint64_t id = 0;
    if (store_batch_detach(C.st, &id)) {
        C.in_flight = 1;
        pthread_mutex_lock(&C.mu);
        C.go = 1;
        pthread_cond_signal(&C.cv);
        pthread_mutex_unlock(&C.mu);
        return;
    }
    if (id != 0) /* only refusals and replays: ended without an fsync */
        batch_end();
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
    return C.nparked;
}

static double metric_parked(void *arg)
{
    (void)arg;
    return (double)C.nparked;
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
    /* what waits, in as many batches as it takes, committed here on the loop */
    while (C.head != NULL || store_batch_open_id(C.st) != 0) {
        run_parked();
        uint64_t id = 0;
        fd_err e = store_batch_finish(C.st, &id);
        if (e != FD_OK)
            fprintf(stderr, "flightdeck: the last batch failed to commit: %s\n",
                    store_batch_error(C.st));
        if (id != 0) {
            api_barrier_release(id, e == FD_OK);
            run_after(id);
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
