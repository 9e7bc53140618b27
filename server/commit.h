/*
 * commit.h - group commit in the server: many requests, one transaction, one fsync, and each
 * answered only after the transaction holding it is durable (issue 8).
 *
 *   a step action (tick, untick, skip, fail: routes flagged API_JOB) -> its handler checks the
 *       request and queues a job (api/job.h), at once, whatever the write connection is doing
 *   another request that may write (not GET/HEAD) -> commit_dispatch:
 *       the write connection is here -> the handler runs now; its units join the open batch
 *           as savepoints (core/store_batch.c) and its answer is held (api/barrier.c)
 *       a commit is in flight (or the batch is full, or others wait) -> parked, run later
 *   end of the loop iteration (a 0 ms timeout) -> the parked run, then the open batch goes to
 *       the committing thread with the queued jobs
 *   committing thread: the jobs' units (their SQL), COMMIT, the fsync -> the result to the loop;
 *       then, while jobs keep coming and no writer is parked on the loop, it begins the next
 *       batch itself with the jobs queued meanwhile (a chain), else it gives the write
 *       connection back
 *   loop, for each result in order: the batch's events to the sink in seq order, then its held
 *       answers and its jobs' answers (in order), then the parked requests run: they make the
 *       next batch, committed at the end of that iteration
 *
 * So while one batch is on disk, the next one gathers, and under durable ticks the loop only
 * does HTTP while the committing thread does the SQL and the fsyncs back to back. Plain reads
 * (GET) run at once on the store's read connection: never blocked by a commit, never seeing a
 * batch before it is durable. Writers that are not requests (worker results, timers) call
 * commit_call.
 *
 * Environment: FLIGHTDECK_GROUP_COMMIT=0 turns it off (one transaction and one fsync per request,
 * on the loop, as before; for comparison); FLIGHTDECK_GROUP_COMMIT_MAX (1-100000, default 1000)
 * caps the units of one batch (and the jobs of one batch). An in-memory database cannot have
 * the read connection: group commit stays off for it, and jobs run in their handlers.
 *
 * Loop thread only, except the committing thread inside.
 */
#ifndef FD_SERVER_COMMIT_H
#define FD_SERVER_COMMIT_H

#include <h2o.h>

#include "api/api.h"
#include "core/store.h"

/* Start group commit for `st` on `ctx`'s loop (both borrowed until commit_stop). 0 (also when
 * it stays off: disabled, or an in-memory database), or -1 with a message printed. */
int commit_start(h2o_context_t *ctx, fd_store *st);

/* Run what is parked, commit what is open, wait for it, stop the thread, and go back to one
 * transaction per unit. Held answers are sent. Call after the workers have stopped and handed
 * their results in, before the store closes. */
void commit_stop(void);

/* 1 while group commit is on. */
int commit_on(void);

/* Run a routed request's handler: at once when it only reads (`writes` 0) or the write
 * connection is free; otherwise when it is back. */
void commit_dispatch(api_call *c, api_handler_fn fn, int writes);

/* Run fn(arg), which may write, now when the write connection is free, else when it is back
 * (in order with parked requests). Returns 0; -1 when memory ran out to park it (fn has then
 * run at once: the store waits for the commit in flight). */
int commit_call(void (*fn)(void *arg), void *arg);

/* Run fn(arg) once everything written so far is durable (or failed): when the open batch has
 * ended, or now when none is open. For a writer whose next step reads what it wrote through
 * the read connection (the webhook worker re-reading its queue). 0, or -1 when memory ran out
 * to wait (fn has then run at once). */
int commit_after(void (*fn)(void *arg), void *arg);

/* How many writers wait for the commit in flight now (also /metrics: flightdeck_commit_parked;
 * batch sizes and commit durations are the store's statistics). */
size_t commit_parked(void);

#endif
