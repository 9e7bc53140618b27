/*
 * github.h - the GitHub port: how core asks GitHub about a pull request and merges it.
 *
 * core/ never speaks HTTP. It fills a gh_job (what to do), hands it to the port's submit(), and
 * gets it back, answers filled in, through job->done() ON THE LOOP THREAD. server/github.c
 * implements the port with a curl worker thread; tests fill it with a fake that completes jobs
 * when the test says so.
 *
 * The worker follows the procedure written down here, so that what is asked of GitHub, and how
 * often, is part of the contract:
 *
 * GH_JOB_CHECK (arming and re-checking):
 *   GET /repos/{repo}/pulls/{n}                     -> job->pr
 *       while the answer is 200 with "mergeable": null (GitHub is still computing), ask again up
 *       to GH_MERGEABLE_ASKS times in all, waiting 250 ms, 500 ms, 1 s, ... in between;
 *   when the PR answered 200, with sha = its head.sha:
 *   GET /repos/{repo}/pulls/{n}/reviews?per_page=100          -> job->reviews
 *   GET /repos/{repo}/commits/{sha}/status                    -> job->status
 *   GET /repos/{repo}/commits/{sha}/check-runs?per_page=100   -> job->checks
 *
 * GH_JOB_MERGE (the go-around), within GH_MERGE_BUDGET_MS in all:
 *   GET the PR first (job->pr): already merged -> done (the rollback is in effect, whoever merged
 *   it); closed or gone -> done. Then
 *   PUT /repos/{repo}/pulls/{n}/merge {sha, merge_method, commit_title}  -> job->merge
 *   An answer that is neither a 5xx nor missing (timeout, connection failure) is final. After a
 *   5xx or no answer the merge may or may not have happened, so it is never simply repeated:
 *   wait (1 s, 2 s, 4 s, ... within the budget), GET the PR (job->pr); merged -> done, with
 *   job->merged_after_retry set; otherwise try the PUT again. After a 409 (head changed) the PR
 *   is read once more so job->pr shows the new head.
 *
 * Ownership: the submitter allocates the job and keeps it; the port only fills the gh_reply
 * members (bodies owned by the job, released by gh_job_clear) and calls done exactly once.
 */
#ifndef FD_GITHUB_H
#define FD_GITHUB_H

#include <jansson.h>
#include <stdint.h>

#define GH_REPO_MAX 200 /* "owner/name" */
#define GH_SHA_MAX 64   /* 40 hex digits today; room for SHA-256 repositories */
#define GH_TITLE_MAX 512
#define GH_MERGEABLE_ASKS 4 /* GETs of the PR while GitHub answers "mergeable": null */
#define GH_MERGE_BUDGET_MS 20000

typedef enum gh_job_kind {
    GH_JOB_CHECK,
    GH_JOB_MERGE,
} gh_job_kind;

/* One answer of GitHub. status 0: no answer (timeout, refused, shut down); `error` says why. */
typedef struct gh_reply {
    long status;
    json_t *body; /* parsed JSON body or NULL; owned by the job */
    char error[200];
} gh_reply;

typedef struct gh_job gh_job;

struct gh_job {
    gh_job_kind kind;
    /* what to ask (filled by core) */
    char repo[GH_REPO_MAX + 1]; /* "owner/name", validated by core */
    int64_t number;
    char sha[GH_SHA_MAX + 1];     /* merge: the approved head SHA */
    char method[8];               /* merge: "merge" | "squash" | "rebase" */
    char title[GH_TITLE_MAX + 1]; /* merge: commit_title */

    /* the answers (filled by the port) */
    gh_reply pr;            /* the last GET of the pull request */
    gh_reply reviews;       /* check only */
    gh_reply status;        /* check only: combined status of the head */
    gh_reply checks;        /* check only: check runs of the head */
    gh_reply merge;         /* merge only: the last PUT .../merge answer */
    int merge_calls;        /* merge only: how many PUTs were sent */
    int merged_after_retry; /* merge only: a later GET showed the PR merged */
    int pr_asks;            /* GETs of the PR made */

    /* completion: called once, on the loop thread, after the answers are filled */
    void (*done)(gh_job *job);
    void *data; /* the submitter's */
};

/* The port. `submit` returns 0 when the job was queued (done will be called), -1 when it was
 * refused (shutting down, out of memory): then done is never called. */
typedef struct fd_github {
    int (*submit)(void *arg, gh_job *job);
    void *arg;
    int has_token; /* 0: no FLIGHTDECK_GITHUB_TOKEN configured; merges are refused up front */
} fd_github;

/* The port is installed with the other ports (fd_ports.github in types.h, store_set_ports);
 * NULL there means no GitHub at all: every GitHub action is refused as unavailable. */

/* Release the bodies of a job's replies (the job itself belongs to the caller). */
void gh_job_clear(gh_job *job);

/* A reply's status in words for logs and problems: "GitHub answered 502", "no answer: timeout". */
void gh_reply_describe(const gh_reply *r, char *out, size_t n);

#endif
