/*
 * rollback_internal.h - what rollback.c (arming, checks, the decision) and goaround.c (the merge,
 * confirmation, re-opening landing) share: the GitHub jobs under way and the documents.
 *
 * A job under way is an rb_job: the gh_job handed to the port, plus what core needs when the
 * answer comes back. The request that asked may be gone by then (its memory belonged to the
 * HTTP request), so the job holds copies: actor, request id, Idempotency-Key. Jobs are listed
 * per process (loop thread only) so "is this migration being checked / merged?" has an answer.
 */
#ifndef FD_ROLLBACK_INTERNAL_H
#define FD_ROLLBACK_INTERNAL_H

#include "rollback.h"
#include "store_rollback.h"

typedef enum rb_purpose {
    RB_ARM,   /* PUT rollback: read the PR, then record it as approved */
    RB_CHECK, /* a check: timer, ?refresh=1, or after a merge found the head moved */
    RB_MERGE, /* the go-around */
} rb_purpose;

typedef struct rb_job {
    gh_job gh;
    rb_purpose purpose;
    fd_store *st;
    char mid[FD_SLUG_MAX + 1];
    /* the context of the request that asked, copied (NULL pointers in ctx when absent) */
    fd_actor actor;
    char request_id[80];
    char idem_key[256];
    char request_hash[80];
    fd_ctx ctx; /* points into the copies above; rebuilt by rb_job_ctx */
    /* arm: the configuration asked for */
    char merge_method[8];
    int requires_second_lead;
    /* merge: the go-around row */
    int64_t gid;
    char reason[GA_REASON_MAX + 1];
    /* who waits (fn may be NULL) */
    rollback_done_fn fn;
    void *arg;
    struct rb_job *next;
} rb_job;

/* A new job for `st`/`mid`, copying the actor, request id and key of `ctx` (NULL: flightdeck
 * itself, for timer checks). Owned by the caller until rb_job_submit succeeds. NULL: no memory. */
rb_job *rb_job_new(fd_store *st, const fd_ctx *ctx, const char *mid, rb_purpose purpose);

/* Hand the job to the port and list it. FD_OK, or FD_E_UNAVAILABLE (no port, refused; the job
 * is freed and ctx->problem filled). */
fd_err rb_job_submit(rb_job *job, fd_problem *p);

/* The job under way for (st, mid) with `purpose`, or NULL. */
rb_job *rb_job_find(fd_store *st, const char *mid, rb_purpose purpose);

/* A fresh context for the job's writes, with or without its Idempotency-Key. */
fd_ctx *rb_job_ctx(rb_job *job, int with_idem_key);

/* flightdeck's own actor, for what the timer observes. */
const fd_actor *rb_system_actor(void);

/* Answer the waiter (if any) and clear the problem. Steals doc. */
void rb_job_answer(rb_job *job, fd_err e, json_t *doc);

/* Start a check of `mid` by flightdeck itself unless one is under way (timer, after a merge
 * found the head moved). 0 when started, -1 when not. */
int rb_recheck(fd_store *st, const char *mid, const char *request_id);

/* The completions, called from the job's done on the loop thread; each answers and frees. */
void rb_arm_done(rb_job *job);
void rb_check_done(rb_job *job);
void rb_merge_done(rb_job *job);

/* An Idempotency-Key already answered: FD_OK with *out (and ctx->replayed), FD_E_NOT_FOUND when
 * not stored, or the error (mismatch, database). */
fd_err rb_replay(fd_store *st, fd_ctx *ctx, json_t **out);

/* The Rollback document of `mid` (FD_E_NOT_FOUND when none) and the GoAround document of a row. */
fd_err rb_rollback_doc(fd_store *st, const char *mid, json_t **out);
json_t *rb_goaround_doc(const fd_goaround_row *g);

/* A short "abc1234def56" form of a SHA for sentences (static buffer per call site). */
void rb_short_sha(const char *sha, char out[13]);

#endif
