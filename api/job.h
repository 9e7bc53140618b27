/*
 * job.h - writes that run beside the loop: the SQL of a request on the committing thread, its
 * answer back on the loop (group commit, issue 8).
 *
 * With group commit the loop used to run every unit of change itself and hand only the COMMIT
 * to the committing thread; under durable ticks the loop was the limit, with SQLite ~a third of
 * its time. A handler with a write that needs nothing of h2o while it runs (the step actions)
 * can instead pack it as a job: plain C data, no request, no pool. The server queues it, runs
 * `run` on the committing thread inside the next batch (a unit like any other: a refusal rolls
 * back alone), commits, and calls `finish` on the loop once that batch has ended, after the
 * batch's events went to the sink, as held answers are released (api/barrier.h).
 *
 *   handler (loop) -> api_job_submit -> 0: the server owns the job until `finish`
 *                                      -1: no server queue (group commit off): run it yourself
 *   committing thread: run(job, store)          (the write connection; touches nothing else)
 *   loop: finish(job, call or NULL, durable)     (answers, then frees the job)
 *
 * Loop thread only, except `run`.
 */
#ifndef FD_API_JOB_H
#define FD_API_JOB_H

#include "api/api.h"

typedef struct api_job api_job;

struct api_job {
    /* On the committing thread, inside the batch: run the unit(s) and keep the outcome in the
     * job. No h2o, no api_call, no loop state: only the store and the job's own memory. */
    void (*run)(api_job *j, fd_store *st);
    /* On the loop once the batch has ended: answer `c` (NULL when the client went away while
     * the job waited), then free the job. `durable` is 0 when the batch failed to commit:
     * nothing the job wrote was applied. */
    void (*finish)(api_job *j, api_call *c, int durable);
    /* the server's, while it holds the job */
    api_job *next;
    api_call *call;
    void *guard;
};

/* How the server takes jobs: 0 when it took `j` (it calls `finish` later), -1 when it cannot
 * (the caller runs the job itself). Set at start by server/commit.c; NULL: jobs are refused. */
typedef int (*api_job_submit_fn)(api_call *c, api_job *j);
void api_job_set_submit(api_job_submit_fn fn);

/* Hand `j` (owned by the server from then on) to run beside the loop: 0, or -1 when there is
 * no such thread (group commit off, an in-memory database): `j` is still the caller's. */
int api_job_submit(api_call *c, api_job *j);

/* The detail of the 503 for a change that was not made durable (a failed batch), shared with
 * the held answers (api/barrier.c). */
extern const char api_job_lost_detail[];

#endif
