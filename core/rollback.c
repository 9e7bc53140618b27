/* rollback.c - the rollback PR: the decision whether it is armed (pure), arming it, checking it
 * on demand and on a timer, and its documents (see rollback.h). The go-around itself is in
 * goaround.c; the jobs both hand to the GitHub port are listed here. */
#include "rollback.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight_internal.h"
#include "mutate.h"
#include "rollback_internal.h"
#include "timefmt.h"

/* ---- jobs under way (loop thread only) ---- */

static rb_job *jobs; /* every job handed to a port and not yet completed */

static void unlist(rb_job *job)
{
    for (rb_job **p = &jobs; *p != NULL; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            return;
        }
    }
}

static const fd_actor system_actor = {.sub = "flightdeck",
                                      .name = "flightdeck (rollback check)",
                                      .role = FD_ROLE_VIEWER,
                                      .source = "api"};

const fd_actor *rb_system_actor(void)
{
    return &system_actor;
}

rb_job *rb_job_new(fd_store *st, const fd_ctx *ctx, const char *mid, rb_purpose purpose)
{
    rb_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return NULL;
    job->purpose = purpose;
    job->st = st;
    snprintf(job->mid, sizeof job->mid, "%s", mid);
    job->actor = ctx != NULL && ctx->actor != NULL ? *ctx->actor : system_actor;
    if (ctx != NULL && ctx->request_id != NULL)
        snprintf(job->request_id, sizeof job->request_id, "%s", ctx->request_id);
    if (ctx != NULL && ctx->idem_key != NULL && strlen(ctx->idem_key) < sizeof job->idem_key) {
        snprintf(job->idem_key, sizeof job->idem_key, "%s", ctx->idem_key);
        snprintf(job->request_hash, sizeof job->request_hash, "%s",
                 ctx->request_hash ? ctx->request_hash : "");
    }
    return job;
}

fd_ctx *rb_job_ctx(rb_job *job, int with_idem_key)
{
    fd_problem_clear(&job->ctx.problem);
    fd_ctx_init(&job->ctx, &job->actor, job->request_id[0] ? job->request_id : NULL);
    if (with_idem_key && job->idem_key[0] != '\0') {
        job->ctx.idem_key = job->idem_key;
        job->ctx.request_hash = job->request_hash;
    }
    return &job->ctx;
}

/* The port calls this on the loop thread with the answers filled in. */
static void job_done(gh_job *gh)
{
    rb_job *job = gh->data;
    unlist(job);
    switch (job->purpose) {
    case RB_ARM:
        rb_arm_done(job);
        break;
    case RB_CHECK:
        rb_check_done(job);
        break;
    case RB_MERGE:
        rb_merge_done(job);
        break;
    }
}

fd_err rb_job_submit(rb_job *job, fd_problem *p)
{
    const fd_github *port = store_github(job->st);
    job->gh.done = job_done;
    job->gh.data = job;
    /* listed first: a port may complete the job before submit returns */
    job->next = jobs;
    jobs = job;
    if (port == NULL || port->submit(port->arg, &job->gh) != 0) {
        unlist(job);
        free(job);
        return fd_fail(p, FD_E_UNAVAILABLE, NULL,
                       port == NULL ? "flightdeck is not connected to GitHub"
                                    : "flightdeck cannot reach GitHub right now (shutting down "
                                      "or overloaded); try again");
    }
    return FD_OK;
}

rb_job *rb_job_find(fd_store *st, const char *mid, rb_purpose purpose)
{
    for (rb_job *j = jobs; j != NULL; j = j->next)
        if (j->st == st && j->purpose == purpose && strcmp(j->mid, mid) == 0)
            return j;
    return NULL;
}

int rollback_jobs_in_flight(fd_store *st)
{
    int n = 0;
    for (rb_job *j = jobs; j != NULL; j = j->next)
        n += j->st == st;
    return n;
}

void rb_job_answer(rb_job *job, fd_err e, json_t *doc)
{
    if (e != FD_OK) {
        json_decref(doc);
        doc = NULL;
    }
    if (job->fn != NULL)
        job->fn(job->arg, e, &job->ctx.problem, doc); /* takes doc */
    else
        json_decref(doc);
    fd_problem_clear(&job->ctx.problem);
    gh_job_clear(&job->gh);
    free(job);
}

fd_err rb_replay(fd_store *st, fd_ctx *ctx, json_t **out)
{
    char *hash = NULL, *result = NULL;
    *out = NULL;
    if (ctx->idem_key == NULL)
        return FD_E_NOT_FOUND;
    fd_err e = store_idem_get(st, ctx->actor->sub, ctx->idem_key, &hash, &result);
    if (e == FD_OK) {
        if (strcmp(hash, ctx->request_hash ? ctx->request_hash : "") != 0) {
            e = fd_fail(&ctx->problem, FD_E_IDEM_MISMATCH, NULL,
                        "the Idempotency-Key %s was already used for a different request; use a "
                        "new key for a new request",
                        ctx->idem_key);
        } else {
            *out = json_loads(result, JSON_DECODE_ANY, NULL);
            ctx->replayed = 1;
            if (*out == NULL)
                e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "stored answer unreadable");
        }
    } else if (e != FD_E_NOT_FOUND) {
        e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    }
    free(hash);
    free(result);
    return e;
}

void gh_job_clear(gh_job *job)
{
    gh_reply *r[] = {&job->pr, &job->reviews, &job->status, &job->checks, &job->merge};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        json_decref(r[i]->body);
        r[i]->body = NULL;
    }
}

void gh_reply_describe(const gh_reply *r, char *out, size_t n)
{
    const char *msg = json_string_value(json_object_get(r->body, "message"));
    if (r->status == 0)
        snprintf(out, n, "no answer from GitHub (%s)", r->error[0] ? r->error : "no response");
    else if (msg != NULL)
        snprintf(out, n, "GitHub answered %ld: %.200s", r->status, msg);
    else
        snprintf(out, n, "GitHub answered %ld", r->status);
}

void rb_short_sha(const char *sha, char out[13])
{
    snprintf(out, 13, "%s", sha != NULL && sha[0] ? sha : "(unknown)");
}

/* ---- the decision (pure) ---- */

static void reason(json_t *reasons, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reason(json_t *reasons, const char *code, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(reasons, json_pack("{s:s,s:s}", "code", code, "text", text));
}

static int reply_ok(const gh_reply *r)
{
    return r->status >= 200 && r->status < 300 && r->body != NULL;
}

/* The reason a GitHub call failed, in words; `what` names what was asked. */
static void reply_reason(json_t *reasons, const gh_reply *r, const char *what, const char *repo,
                         int64_t number)
{
    char said[300];
    gh_reply_describe(r, said, sizeof said);
    if (r->status == 401)
        reason(reasons, "token_rejected",
               "GitHub refused flightdeck's token (401): it is wrong, expired or revoked; "
               "configure a working FLIGHTDECK_GITHUB_TOKEN");
    else if (r->status == 403)
        reason(reasons, "no_permission",
               "GitHub refused access to %s (403): the token lacks permission on %s, or its "
               "rate limit is used up",
               what, repo);
    else if (r->status == 404)
        reason(reasons, "pr_not_found",
               "GitHub has no pull request #%lld in %s (or the token cannot see it)",
               (long long)number, repo);
    else if (r->status == 0 || r->status >= 500)
        reason(reasons, "github_unavailable", "GitHub could not be asked for %s: %s", what, said);
    else
        reason(reasons, "github_error", "GitHub could not be asked for %s: %s", what, said);
}

int rollback_pr_mergeable_unknown(const json_t *pr)
{
    json_t *m = json_object_get(pr, "mergeable");
    /* merged or closed PRs stay "mergeable": null for ever: nothing to wait for */
    return json_is_object(pr) && (m == NULL || json_is_null(m)) && !rollback_pr_merged(pr) &&
           strcmp(check_str(pr, "state", ""), "open") == 0;
}

int rollback_pr_merged(const json_t *pr)
{
    return json_is_true(json_object_get(pr, "merged"));
}

int goaround_answer_is_final(long status)
{
    return status != 0 && status < 500;
}

/* Append ", name" to a list of at most 5 names (then "and more"). */
static void list_add(char *list, size_t n, int *count, const char *name)
{
    size_t len = strlen(list);
    if (*count < 5)
        snprintf(list + len, n - len, "%s%s", *count ? ", " : "", name);
    else if (*count == 5)
        snprintf(list + len, n - len, " and more");
    (*count)++;
}

/* Reviews: the latest decisive review of each reviewer counts (COMMENTED and PENDING decide
 * nothing; DISMISSED takes the reviewer's earlier decision away). */
static void decide_reviews(json_t *reasons, const gh_job *job)
{
    if (!reply_ok(&job->reviews) || !json_is_array(job->reviews.body)) {
        char said[300];
        gh_reply_describe(&job->reviews, said, sizeof said);
        reason(reasons, "reviews_unknown", "the reviews of the PR could not be read: %s", said);
        return;
    }
    json_t *latest = json_object(); /* login -> state */
    size_t i;
    json_t *r;
    json_array_foreach(job->reviews.body, i, r)
    {
        const char *login = check_str(json_object_get(r, "user"), "login", NULL);
        const char *state = check_str(r, "state", "");
        if (login == NULL)
            continue;
        if (strcmp(state, "APPROVED") == 0 || strcmp(state, "CHANGES_REQUESTED") == 0 ||
            strcmp(state, "DISMISSED") == 0)
            json_object_set_new(latest, login, json_string(state));
    }
    char blockers[300] = "";
    int nblock = 0, napproved = 0;
    const char *login;
    json_t *state;
    json_object_foreach(latest, login, state)
    {
        if (strcmp(json_string_value(state), "CHANGES_REQUESTED") == 0)
            list_add(blockers, sizeof blockers, &nblock, login);
        else if (strcmp(json_string_value(state), "APPROVED") == 0)
            napproved++;
    }
    json_decref(latest);
    if (nblock > 0)
        reason(reasons, "changes_requested", "changes requested by %s", blockers);
    if (napproved == 0)
        reason(reasons, "not_approved", "nobody approves the PR");
}

static void decide_status(json_t *reasons, const gh_job *job)
{
    if (!reply_ok(&job->status)) {
        char said[300];
        gh_reply_describe(&job->status, said, sizeof said);
        reason(reasons, "checks_unknown", "the commit statuses of the head could not be read: %s",
               said);
        return;
    }
    const char *state = check_str(job->status.body, "state", "");
    char failing[300] = "", pending[300] = "";
    int nfail = 0, npend = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(job->status.body, "statuses"), i, s)
    {
        const char *st = check_str(s, "state", "");
        const char *ctxname = check_str(s, "context", "(unnamed)");
        if (strcmp(st, "failure") == 0 || strcmp(st, "error") == 0)
            list_add(failing, sizeof failing, &nfail, ctxname);
        else if (strcmp(st, "pending") == 0)
            list_add(pending, sizeof pending, &npend, ctxname);
    }
    /* GitHub says "pending" for a commit with no statuses at all: that is not a wait */
    if (nfail > 0 || strcmp(state, "failure") == 0 || strcmp(state, "error") == 0)
        reason(reasons, "status_failing", "commit statuses are failing: %s",
               nfail ? failing : state);
    else if (npend > 0)
        reason(reasons, "status_pending", "commit statuses are still running: %s", pending);
}

static void decide_checks(json_t *reasons, const gh_job *job)
{
    if (!reply_ok(&job->checks)) {
        char said[300];
        gh_reply_describe(&job->checks, said, sizeof said);
        reason(reasons, "checks_unknown", "the check runs of the head could not be read: %s", said);
        return;
    }
    char failing[300] = "", pending[300] = "";
    int nfail = 0, npend = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(job->checks.body, "check_runs"), i, c)
    {
        const char *name = check_str(c, "name", "(unnamed)");
        const char *conclusion = check_str(c, "conclusion", "");
        if (strcmp(check_str(c, "status", ""), "completed") != 0)
            list_add(pending, sizeof pending, &npend, name);
        else if (strcmp(conclusion, "success") != 0 && strcmp(conclusion, "neutral") != 0 &&
                 strcmp(conclusion, "skipped") != 0)
            list_add(failing, sizeof failing, &nfail, name);
    }
    if (nfail > 0)
        reason(reasons, "checks_failing", "check runs are failing: %s", failing);
    if (npend > 0)
        reason(reasons, "checks_pending", "check runs are still running: %s", pending);
}

json_t *rollback_decide(const char *approved_sha, const gh_job *job, int has_token)
{
    json_t *reasons = json_array();
    const json_t *pr = job->pr.body;
    const char *head = NULL;
    char a[13], h[13];

    if (!has_token)
        reason(reasons, "no_token",
               "flightdeck has no GitHub token: set FLIGHTDECK_GITHUB_TOKEN (or _FILE) so it "
               "can read and merge the PR");
    if (!reply_ok(&job->pr) || !json_is_object(pr)) {
        reply_reason(reasons, &job->pr, "the pull request", job->repo, job->number);
        goto done;
    }
    head = check_str(json_object_get(pr, "head"), "sha", NULL);
    if (rollback_pr_merged(pr)) {
        reason(reasons, "pr_merged", "the PR is already merged (merge commit %s)",
               check_str(pr, "merge_commit_sha", "unknown"));
        goto done;
    }
    if (strcmp(check_str(pr, "state", ""), "open") != 0) {
        reason(reasons, "pr_closed",
               "the PR is closed without being merged; reopen it or arm "
               "another one");
        goto done;
    }
    json_t *mergeable = json_object_get(pr, "mergeable");
    if (json_is_false(mergeable))
        reason(reasons, "not_mergeable",
               "GitHub says the PR cannot be merged (mergeable_state: %s): it conflicts with its "
               "base branch or is blocked",
               check_str(pr, "mergeable_state", "unknown"));
    else if (!json_is_true(mergeable))
        reason(reasons, "mergeable_unknown",
               "GitHub has not finished working out whether the PR can be merged; it is asked "
               "again at the next check");
    if (head == NULL || approved_sha == NULL || strcmp(head, approved_sha) != 0) {
        rb_short_sha(head, h);
        rb_short_sha(approved_sha, a);
        reason(reasons, "head_moved",
               "the PR's head is now %s, not the approved %s: it changed after approval; "
               "review it and arm it again",
               h, a);
    }
    decide_reviews(reasons, job);
    decide_status(reasons, job);
    decide_checks(reasons, job);
done:;
    const char *title = check_str(pr, "title", NULL), *url = check_str(pr, "html_url", NULL);
    return json_pack("{s:b,s:o,s:o,s:o,s:o}", "armed", json_array_size(reasons) == 0, "head_sha",
                     head ? json_string(head) : json_null(), "title",
                     title ? json_string(title) : json_null(), "url",
                     url ? json_string(url) : json_null(), "reasons", reasons);
}

/* ---- documents ---- */

static json_t *time_or_null(int64_t ms)
{
    char t[FD_TIME_LEN];
    if (ms < 0)
        return json_null();
    fd_time_format(ms, t);
    return json_string(t);
}

static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *who(const char *sub, const char *name)
{
    if (sub == NULL || sub[0] == '\0')
        return json_null();
    return json_pack("{s:s,s:s}", "sub", sub, "name", name);
}

json_t *rb_goaround_doc(const fd_goaround_row *g)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:{s:s,s:I},s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                     (json_int_t)g->id, "migration", g->migration, "state", g->state, "reason",
                     g->reason, "pr", "repo", g->repo, "number", (json_int_t)g->pr, "approved_sha",
                     g->approved_sha, "requested_by",
                     who(g->requested_by_sub, g->requested_by_name), "requested_at",
                     time_or_null(g->requested_at), "expires_at", time_or_null(g->expires_at),
                     "confirmed_by", who(g->confirmed_by_sub, g->confirmed_by_name), "merge_sha",
                     str_or_null(g->merge_sha), "outcome", str_or_null(g->outcome), "detail",
                     str_or_null(g->detail), "finished_at", time_or_null(g->finished_at));
}

fd_err rb_rollback_doc(fd_store *st, const char *mid, json_t **out)
{
    fd_rollback_row r;
    fd_goaround_row g;
    *out = NULL;
    fd_err e = store_rollback_get(st, mid, &r);
    if (e != FD_OK)
        return e;
    json_t *ga = json_null();
    e = store_goaround_latest(st, mid, NULL, &g);
    if (e == FD_OK)
        ga = rb_goaround_doc(&g);
    else if (e != FD_E_NOT_FOUND)
        goto done;
    *out =
        json_pack("{s:s,s:b,s:o,s:b,s:{s:s,s:I,s:s,s:s,s:s,s:o,s:s},s:b,s:o,s:o,s:O,s:o,s:o}",
                  "migration", mid, "armed", r.check_armed && r.used_by < 0, "checked_at",
                  time_or_null(r.checked_at), "checking", rb_job_find(st, mid, RB_CHECK) != NULL,
                  "pr", "repo", r.repo, "number", (json_int_t)r.pr, "title", r.title, "url", r.url,
                  "approved_sha", r.approved_sha, "head_sha", str_or_null(r.check_head_sha),
                  "merge_method", r.merge_method, "requires_second_lead", r.requires_second_lead,
                  "armed_by", who(r.armed_by_sub, r.armed_by_name), "armed_at",
                  time_or_null(r.armed_at), "reasons", r.check_reasons, "used_by",
                  r.used_by >= 0 ? json_integer(r.used_by) : json_null(), "go_around", ga);
    e = *out != NULL ? FD_OK : FD_E_INTERNAL;
done:
    store_rollback_row_clear(&r);
    return e;
}

fd_err rollback_add_summary(fd_store *st, json_t *doc)
{
    fd_rollback_row r;
    const char *mid = check_str(doc, "id", "");
    fd_err e = store_rollback_get(st, mid, &r);
    if (e == FD_E_NOT_FOUND) {
        json_object_set_new(doc, "rollback", json_null());
        return FD_OK;
    }
    if (e != FD_OK)
        return e;
    json_object_set_new(doc, "rollback",
                        json_pack("{s:b,s:O,s:{s:s,s:I,s:s}}", "armed",
                                  r.check_armed && r.used_by < 0, "reasons", r.check_reasons, "pr",
                                  "repo", r.repo, "number", (json_int_t)r.pr, "url", r.url));
    store_rollback_row_clear(&r);
    return FD_OK;
}

fd_err rollback_get(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    fd_mig_head h;
    fd_err e = flight_load_head(st, ctx, mid, &h);
    if (e == FD_OK)
        e = rb_rollback_doc(st, mid, out);
    if (e == FD_E_NOT_FOUND && ctx->problem.detail[0] == '\0')
        return fd_fail(&ctx->problem, e, NULL,
                       "migration %s has no rollback PR; a lead arms one with PUT "
                       "/api/migrations/%s/rollback",
                       mid, mid);
    if (e == FD_E_INTERNAL)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return e;
}
