/* goaround.c - the go-around: asking for it (with a second lead's confirmation when the plan
 * wants one), the merge through the GitHub port, its outcome, and re-opening landing afterwards
 * (see rollback.h for the rules and outcomes). */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight_internal.h"
#include "mutate.h"
#include "rollback_internal.h"

/* ---- the checks every request and confirmation passes ---- */

/* The migration is flying (in flight or landed), has an unused rollback PR (*r, cleared by the
 * caller on FD_OK), and no go-around of it is merging. */
static fd_err ready_to_go_around(fd_store *st, fd_ctx *ctx, const char *mid, fd_mig_head *h,
                                 fd_rollback_row *r)
{
    fd_goaround_row g;
    fd_err e = flight_load_head(st, ctx, mid, h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, h);
    if (e != FD_OK)
        return e;
    if (strcmp(h->status, "go_around") == 0) {
        char sha[13] = "";
        if (store_goaround_latest(st, mid, "merged", &g) == FD_OK)
            rb_short_sha(g.merge_sha, sha);
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s already went around (merge commit %s); re-open landing or "
                       "abort it",
                       mid, sha[0] ? sha : "unknown");
    }
    if (strcmp(h->status, "draft") == 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s has not taken off: there is nothing to go around from", mid);
    rb_job *busy = rb_job_find(st, mid, RB_MERGE);
    if (busy != NULL) {
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "a go-around of %s is in progress (ordered by %s); wait for its outcome", mid,
                busy->actor.name);
        fd_problem_set(&ctx->problem, "outcome", json_string("in_progress"));
        if (store_goaround_get(st, mid, busy->gid, &g) == FD_OK)
            fd_problem_set(&ctx->problem, "go_around", rb_goaround_doc(&g));
        return FD_E_CONFLICT;
    }
    e = store_rollback_get(st, mid, r);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s has no rollback PR; a lead arms one with PUT "
                       "/api/migrations/%s/rollback",
                       mid, mid);
    if (e != FD_OK)
        return e;
    if (r->used_by >= 0) {
        store_rollback_row_clear(r);
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "the rollback PR of %s was already merged by go-around %lld; arm a new one",
                       mid, (long long)r->used_by);
    }
    const fd_github *port = store_github(st);
    if (port == NULL || !port->has_token) {
        store_rollback_row_clear(r);
        fd_fail(&ctx->problem, FD_E_UNAVAILABLE, NULL,
                "flightdeck has no GitHub token, so it cannot merge; configure "
                "FLIGHTDECK_GITHUB_TOKEN");
        fd_problem_set(&ctx->problem, "outcome", json_string("no_token"));
        return FD_E_UNAVAILABLE;
    }
    return FD_OK;
}

static fd_err check_reason(fd_ctx *ctx, const char *reason)
{
    if (reason == NULL || reason[0] == '\0' || strlen(reason) > GA_REASON_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "reason",
                       "reason is required (1-%d characters): say why the flight goes around",
                       GA_REASON_MAX);
    return FD_OK;
}

static void target_of(char *out, size_t n, const char *mid, int64_t gid)
{
    snprintf(out, n, "migrations/%s/go-arounds/%lld", mid, (long long)gid);
}

/* ---- waiting for a second lead ---- */

typedef struct ga_args {
    const char *mid;
    const char *reason;
    const fd_rollback_row *r;
    fd_goaround_row *g; /* the pending request being confirmed, or NULL */
    int64_t gid;        /* out: the go-around */
} ga_args;

/* A pending request nobody confirmed in time becomes "expired" (audited) when next touched. */
static fd_err expire(fd_store *st, fd_ctx *ctx, fd_goaround_row *g)
{
    char target[FD_SLUG_MAX + 48];
    snprintf(g->state, sizeof g->state, "expired");
    g->finished_at = g->expires_at;
    target_of(target, sizeof target, g->migration, g->id);
    json_t *after = rb_goaround_doc(g);
    fd_err e = store_goaround_update(st, g);
    if (e == FD_OK)
        e = audit_append(st, ctx, g->migration, "go_around.expired", target, NULL, after,
                         "no second lead confirmed in time");
    json_decref(after);
    return e;
}

static fd_err rule_pending(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    ga_args *a = args;
    fd_goaround_row g, old;
    char target[FD_SLUG_MAX + 48];
    int64_t now = store_now_ms(st);
    fd_err e = store_goaround_latest(st, a->mid, "pending", &old);
    if (e == FD_OK && now <= old.expires_at) {
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "a go-around ordered by %s is waiting for a second lead: confirm it with POST "
                "/api/migrations/%s/go-around/confirm {\"id\": %lld}",
                old.requested_by_name, a->mid, (long long)old.id);
        fd_problem_set(&ctx->problem, "go_around", rb_goaround_doc(&old));
        return FD_E_CONFLICT;
    }
    if (e == FD_OK)
        e = expire(st, ctx, &old);
    if (e != FD_OK && e != FD_E_NOT_FOUND)
        return e;
    memset(&g, 0, sizeof g);
    snprintf(g.migration, sizeof g.migration, "%s", a->mid);
    snprintf(g.state, sizeof g.state, "pending");
    snprintf(g.reason, sizeof g.reason, "%s", a->reason);
    snprintf(g.repo, sizeof g.repo, "%s", a->r->repo);
    g.pr = a->r->pr;
    snprintf(g.approved_sha, sizeof g.approved_sha, "%s", a->r->approved_sha);
    snprintf(g.requested_by_sub, sizeof g.requested_by_sub, "%s", ctx->actor->sub);
    snprintf(g.requested_by_name, sizeof g.requested_by_name, "%s", ctx->actor->name);
    g.requested_at = now;
    g.expires_at = now + GOAROUND_CONFIRM_MS;
    g.confirmed_at = g.finished_at = -1;
    e = store_goaround_insert(st, &g, &g.id);
    if (e != FD_OK)
        return e;
    *out = rb_goaround_doc(&g);
    target_of(target, sizeof target, a->mid, g.id);
    return audit_append(st, ctx, a->mid, "go_around.requested", target, NULL, *out, a->reason);
}

/* ---- the merge ---- */

/* Copy at most n-1 bytes of s, never cutting a UTF-8 sequence in two. */
static void copy_utf8(char *out, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, s, len);
    out[len] = '\0';
}

static fd_err rule_begin(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    ga_args *a = args;
    fd_goaround_row g;
    char target[FD_SLUG_MAX + 48];
    int64_t now = store_now_ms(st);
    fd_err e;
    (void)out;
    if (a->g != NULL) { /* a second lead confirms a pending request */
        g = *a->g;
        snprintf(g.confirmed_by_sub, sizeof g.confirmed_by_sub, "%s", ctx->actor->sub);
        snprintf(g.confirmed_by_name, sizeof g.confirmed_by_name, "%s", ctx->actor->name);
        g.confirmed_at = now;
        snprintf(g.state, sizeof g.state, "merging");
        e = store_goaround_update(st, &g);
    } else {
        memset(&g, 0, sizeof g);
        snprintf(g.migration, sizeof g.migration, "%s", a->mid);
        snprintf(g.state, sizeof g.state, "merging");
        snprintf(g.reason, sizeof g.reason, "%s", a->reason);
        snprintf(g.repo, sizeof g.repo, "%s", a->r->repo);
        g.pr = a->r->pr;
        snprintf(g.approved_sha, sizeof g.approved_sha, "%s", a->r->approved_sha);
        snprintf(g.requested_by_sub, sizeof g.requested_by_sub, "%s", ctx->actor->sub);
        snprintf(g.requested_by_name, sizeof g.requested_by_name, "%s", ctx->actor->name);
        g.requested_at = now;
        g.expires_at = g.confirmed_at = g.finished_at = -1;
        e = store_goaround_insert(st, &g, &g.id);
    }
    if (e != FD_OK)
        return e;
    a->gid = g.id;
    json_t *after = rb_goaround_doc(&g);
    /* the lead may go around with a disarmed rollback (an emergency): the record says so */
    json_object_set_new(after, "armed_when_ordered", json_boolean(a->r->check_armed));
    target_of(target, sizeof target, a->mid, g.id);
    e = audit_append(st, ctx, a->mid, "go_around.started", target, NULL, after, g.reason);
    json_decref(after);
    return e;
}

/* Record the go-around as started and hand the merge to the port. */
static fd_err start_merge(fd_store *st, fd_ctx *ctx, const char *mid, const fd_rollback_row *r,
                          fd_goaround_row *pending, const char *reason, rollback_done_fn fn,
                          void *arg)
{
    ga_args a = {.mid = mid, .reason = reason, .r = r, .g = pending};
    /* the Idempotency-Key belongs to the final answer, not to this first step */
    fd_ctx c = *ctx;
    c.idem_key = NULL;
    c.request_hash = NULL;
    memset(&c.problem, 0, sizeof c.problem);
    fd_err e = core_mutate(st, &c, rule_begin, &a, NULL);
    if (e != FD_OK) {
        fd_problem_clear(&ctx->problem);
        ctx->problem = c.problem;
        return e;
    }
    rb_job *job = rb_job_new(st, ctx, mid, RB_MERGE);
    if (job == NULL)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "out of memory");
    job->gh.kind = GH_JOB_MERGE;
    snprintf(job->gh.repo, sizeof job->gh.repo, "%s", r->repo);
    job->gh.number = r->pr;
    snprintf(job->gh.sha, sizeof job->gh.sha, "%s", r->approved_sha);
    snprintf(job->gh.method, sizeof job->gh.method, "%s", r->merge_method);
    char title[GA_REASON_MAX + FD_SLUG_MAX + 64];
    snprintf(title, sizeof title, "flightdeck go-around: %s \xe2\x80\x94 %s", mid,
             pending != NULL ? pending->reason : reason);
    copy_utf8(job->gh.title, sizeof job->gh.title, title);
    job->gid = a.gid;
    snprintf(job->reason, sizeof job->reason, "%s", pending != NULL ? pending->reason : reason);
    job->fn = fn;
    job->arg = arg;
    /* listed before it is submitted, so a port that answers at once finds it */
    e = rb_job_submit(job, &ctx->problem);
    if (e != FD_OK) {
        /* nothing was sent to GitHub: record the go-around as failed */
        rb_job *failed = rb_job_new(st, ctx, mid, RB_MERGE);
        if (failed != NULL) {
            failed->gid = a.gid;
            snprintf(failed->gh.repo, sizeof failed->gh.repo, "%s", r->repo);
            failed->gh.number = r->pr;
            snprintf(failed->gh.pr.error, sizeof failed->gh.pr.error, "%s",
                     "flightdeck could not hand the call to its GitHub worker");
            rb_merge_done(failed); /* answers nobody (fn NULL) and frees */
        }
    }
    return e;
}

fd_err goaround_request(fd_store *st, fd_ctx *ctx, const char *mid, const char *reason,
                        rollback_done_fn fn, void *arg, json_t **out)
{
    fd_mig_head h;
    fd_rollback_row r;
    *out = NULL;
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "order a go-around");
    if (e == FD_OK)
        e = check_reason(ctx, reason);
    if (e != FD_OK)
        return e;
    e = rb_replay(st, ctx, out);
    if (e != FD_E_NOT_FOUND)
        return e;
    e = ready_to_go_around(st, ctx, mid, &h, &r);
    if (e != FD_OK)
        return e;
    if (r.requires_second_lead) {
        ga_args a = {.mid = mid, .reason = reason, .r = &r};
        e = core_mutate(st, ctx, rule_pending, &a, out);
    } else {
        e = start_merge(st, ctx, mid, &r, NULL, reason, fn, arg);
    }
    store_rollback_row_clear(&r);
    return e;
}

static fd_err rule_expire(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    (void)out;
    return expire(st, ctx, args);
}

fd_err goaround_confirm(fd_store *st, fd_ctx *ctx, const char *mid, int64_t id, rollback_done_fn fn,
                        void *arg, json_t **out)
{
    fd_mig_head h;
    fd_rollback_row r;
    fd_goaround_row g;
    *out = NULL;
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "confirm a go-around");
    if (e != FD_OK)
        return e;
    e = rb_replay(st, ctx, out);
    if (e != FD_E_NOT_FOUND)
        return e;
    e = flight_load_head(st, ctx, mid, &h);
    if (e != FD_OK)
        return e;
    e = store_goaround_get(st, mid, id, &g);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, "id", "migration %s has no go-around %lld", mid,
                       (long long)id);
    if (e != FD_OK)
        return e;
    if (strcmp(g.state, "pending") != 0) {
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "go-around %lld is %s: there is nothing to confirm", (long long)id, g.state);
        fd_problem_set(&ctx->problem, "go_around", rb_goaround_doc(&g));
        return FD_E_CONFLICT;
    }
    if (store_now_ms(st) > g.expires_at) {
        fd_ctx c = *ctx;
        c.idem_key = NULL;
        c.request_hash = NULL;
        memset(&c.problem, 0, sizeof c.problem);
        e = core_mutate(st, &c, rule_expire, &g, NULL);
        fd_problem_clear(&c.problem);
        if (e != FD_OK)
            return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "go-around %lld expired: nobody confirmed it within %d seconds; order it again",
                (long long)id, GOAROUND_CONFIRM_MS / 1000);
        fd_problem_set(&ctx->problem, "go_around", rb_goaround_doc(&g));
        return FD_E_CONFLICT;
    }
    if (strcmp(g.requested_by_sub, ctx->actor->sub) == 0)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                       "you ordered go-around %lld; a different lead must confirm it",
                       (long long)id);
    e = ready_to_go_around(st, ctx, mid, &h, &r);
    if (e != FD_OK)
        return e;
    /* what was ordered is what gets merged: not a PR armed since */
    if (strcmp(r.repo, g.repo) != 0 || r.pr != g.pr ||
        strcmp(r.approved_sha, g.approved_sha) != 0) {
        store_rollback_row_clear(&r);
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "the rollback PR was armed again after go-around %lld was ordered; order "
                       "the go-around again",
                       (long long)id);
    }
    e = start_merge(st, ctx, mid, &r, &g, NULL, fn, arg);
    store_rollback_row_clear(&r);
    return e;
}

/* ---- the outcome ---- */

typedef struct merge_outcome {
    int merged;
    const char *merge_sha;
    const char *code; /* failure: the outcome code */
    fd_err err;
    long github_status;
    const char *head_sha; /* head_changed: the new head, may be NULL */
    char detail[GA_DETAIL_MAX + 1];
} merge_outcome;

static int ok2xx(long status)
{
    return status >= 200 && status < 300;
}

/* What a failed GitHub answer means for the go-around. */
static void failure_of(const gh_reply *r, const rb_job *job, merge_outcome *o)
{
    char said[300];
    gh_reply_describe(r, said, sizeof said);
    o->github_status = r->status;
    o->err = FD_E_CONFLICT;
    switch (r->status) {
    case 405:
        o->code = "not_mergeable";
        snprintf(o->detail, sizeof o->detail,
                 "GitHub refused the merge: the PR is not mergeable (%s)", said);
        return;
    case 409:
        o->code = "head_changed";
        o->head_sha = check_str(json_object_get(job->gh.pr.body, "head"), "sha", NULL);
        snprintf(o->detail, sizeof o->detail,
                 "the PR changed after approval: its head is now %.12s, not the approved %.12s; "
                 "nothing was merged. Review it and arm it again",
                 o->head_sha ? o->head_sha : "unknown", job->gh.sha);
        return;
    case 422:
        o->code = "unprocessable";
        snprintf(o->detail, sizeof o->detail, "GitHub refused the merge request (%s)", said);
        return;
    case 404:
        o->code = "pr_not_found";
        snprintf(o->detail, sizeof o->detail,
                 "GitHub has no pull request #%lld in %s any more (or the token cannot see it)",
                 (long long)job->gh.number, job->gh.repo);
        return;
    case 401:
        o->err = FD_E_UNAVAILABLE;
        o->code = "token_rejected";
        snprintf(o->detail, sizeof o->detail,
                 "GitHub refused flightdeck's token (401): it is wrong, expired or revoked; "
                 "nothing was merged");
        return;
    case 403:
        o->err = FD_E_UNAVAILABLE;
        o->code = "no_permission";
        snprintf(o->detail, sizeof o->detail,
                 "GitHub refused (403): the token may not merge in %s (%s); nothing was merged",
                 job->gh.repo, said);
        return;
    default:
        o->err = FD_E_UNAVAILABLE;
        o->code = r->status == 0 || r->status >= 500 ? "github_unavailable" : "github_error";
        if (r == &job->gh.merge)
            snprintf(o->detail, sizeof o->detail,
                     "%s; flightdeck kept asking for %d s and the PR is not merged; try again",
                     said, GH_MERGE_BUDGET_MS / 1000);
        else
            snprintf(o->detail, sizeof o->detail, "%s; nothing was merged; try again", said);
    }
}

static void classify(const rb_job *job, merge_outcome *o)
{
    const gh_job *gh = &job->gh;
    memset(o, 0, sizeof *o);
    if (ok2xx(gh->pr.status) && rollback_pr_merged(gh->pr.body) &&
        (gh->merge_calls == 0 || gh->merged_after_retry)) {
        o->merged = 1;
        o->merge_sha = check_str(gh->pr.body, "merge_commit_sha", "");
        snprintf(o->detail, sizeof o->detail, "%s",
                 gh->merge_calls == 0 ? "the PR was already merged when the go-around began"
                                      : "GitHub merged the PR (confirmed by reading it back "
                                        "after an unanswered merge call)");
        return;
    }
    if (gh->merge_calls == 0) { /* the PR could not be read, or is closed */
        if (!ok2xx(gh->pr.status)) {
            failure_of(&gh->pr, job, o);
        } else {
            o->err = FD_E_CONFLICT;
            o->code = "pr_closed";
            o->github_status = gh->pr.status;
            snprintf(o->detail, sizeof o->detail,
                     "the PR is closed without being merged; nothing was merged");
        }
        return;
    }
    if (ok2xx(gh->merge.status)) {
        o->merged = 1;
        o->merge_sha = check_str(gh->merge.body, "sha", "");
        snprintf(o->detail, sizeof o->detail, "GitHub merged the PR");
        return;
    }
    failure_of(&gh->merge, job, o);
}

typedef struct done_args {
    rb_job *job;
    const merge_outcome *o;
} done_args;

static fd_err rule_merged(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    done_args *a = args;
    rb_job *job = a->job;
    fd_mig_head h;
    fd_goaround_row g;
    char target[FD_SLUG_MAX + 16];
    fd_err e = store_mig_head(st, job->mid, &h);
    if (e == FD_OK)
        e = store_goaround_get(st, job->mid, job->gid, &g);
    if (e != FD_OK)
        return e;
    int64_t now = store_now_ms(st);
    snprintf(g.state, sizeof g.state, "merged");
    snprintf(g.merge_sha, sizeof g.merge_sha, "%s", a->o->merge_sha);
    snprintf(g.detail, sizeof g.detail, "%s", a->o->detail);
    snprintf(g.stage, sizeof g.stage, "%s", h.current_stage);
    snprintf(g.prior_status, sizeof g.prior_status, "%s", h.status);
    g.finished_at = now;
    json_t *before = json_pack("{s:s,s:o}", "status", h.status, "current_stage",
                               h.current_stage[0] ? json_string(h.current_stage) : json_null());
    json_t *after = json_pack("{s:s,s:n,s:I,s:s,s:{s:s,s:I}}", "status", "go_around",
                              "current_stage", "go_around", (json_int_t)g.id, "merge_sha",
                              g.merge_sha, "pr", "repo", g.repo, "number", (json_int_t)g.pr);
    /* landing stops: no stage is active until a lead re-opens it (or aborts) */
    int flying = strcmp(h.status, "in_flight") == 0 || strcmp(h.status, "landed") == 0;
    e = store_goaround_update(st, &g);
    if (e == FD_OK)
        e = store_rollback_set_used(st, job->mid, g.id);
    if (e == FD_OK && flying && h.current_stage[0] != '\0')
        e = store_stage_set_status(st, job->mid, h.current_stage, "pending", -1, -1);
    if (e == FD_OK && flying)
        e = store_mig_set_state(st, job->mid, "go_around", NULL, -1, -1, NULL);
    if (e == FD_OK)
        e = store_mig_bump(st, job->mid);
    flight_target_mig(target, sizeof target, job->mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, job->mid, "go_around.merged", target, before, after, g.reason);
    if (e == FD_OK)
        *out = rb_goaround_doc(&g);
    json_decref(before);
    json_decref(after);
    return e;
}

static fd_err rule_failed(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    done_args *a = args;
    fd_goaround_row g;
    char target[FD_SLUG_MAX + 48];
    fd_err e = store_goaround_get(st, a->job->mid, a->job->gid, &g);
    if (e != FD_OK)
        return e;
    snprintf(g.state, sizeof g.state, "failed");
    snprintf(g.outcome, sizeof g.outcome, "%s", a->o->code);
    snprintf(g.detail, sizeof g.detail, "%s", a->o->detail);
    g.finished_at = store_now_ms(st);
    e = store_goaround_update(st, &g);
    if (e != FD_OK)
        return e;
    *out = rb_goaround_doc(&g);
    json_t *after = json_pack("{s:s,s:s,s:I,s:o}", "outcome", a->o->code, "detail", a->o->detail,
                              "github_status", (json_int_t)a->o->github_status, "head_sha",
                              a->o->head_sha ? json_string(a->o->head_sha) : json_null());
    target_of(target, sizeof target, a->job->mid, g.id);
    e = audit_append(st, ctx, a->job->mid, "go_around.failed", target, NULL, after, a->o->detail);
    json_decref(after);
    return e;
}

void rb_merge_done(rb_job *job)
{
    merge_outcome o;
    json_t *doc = NULL;
    classify(job, &o);
    done_args a = {.job = job, .o = &o};
    if (o.merged) {
        fd_err e = core_mutate(job->st, rb_job_ctx(job, 1), rule_merged, &a, &doc);
        rb_job_answer(job, e, doc);
        return;
    }
    fd_ctx *ctx = rb_job_ctx(job, 0);
    fd_err e = core_mutate(job->st, ctx, rule_failed, &a, &doc);
    if (e == FD_OK) {
        fd_fail(&ctx->problem, o.err, NULL, "%s", o.detail);
        fd_problem_set(&ctx->problem, "outcome", json_string(o.code));
        fd_problem_set(&ctx->problem, "github_status", json_integer(o.github_status));
        fd_problem_set(&ctx->problem, "approved_sha", json_string(job->gh.sha));
        if (o.head_sha != NULL)
            fd_problem_set(&ctx->problem, "head_sha", json_string(o.head_sha));
        fd_problem_set(&ctx->problem, "go_around", doc);
        doc = NULL;
        e = o.err;
    }
    /* a moved head disarms the rollback: say so at once, not at the next timer tick */
    if (o.code != NULL && strcmp(o.code, "head_changed") == 0)
        rb_recheck(job->st, job->mid, job->request_id[0] ? job->request_id : NULL);
    rb_job_answer(job, e, doc);
}

/* ---- re-opening landing ---- */

static fd_err rule_reopen(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const char *mid = args;
    fd_mig_head h;
    fd_goaround_row g;
    char target[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "re-open landing");
    if (e == FD_OK)
        e = flight_load_head(st, ctx, mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e != FD_OK)
        return e;
    if (strcmp(h.status, "go_around") != 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s is %s; only a migration that went around re-opens landing",
                       mid, h.status);
    e = store_goaround_latest(st, mid, "merged", &g);
    if (e != FD_OK)
        return e == FD_E_NOT_FOUND ? FD_E_INTERNAL : e;
    const char *status = g.prior_status[0] ? g.prior_status : "in_flight";
    json_t *before = json_pack("{s:s,s:n}", "status", "go_around", "current_stage");
    json_t *after = json_pack("{s:s,s:s,s:I}", "status", status, "current_stage", g.stage,
                              "go_around", (json_int_t)g.id);
    e = store_stage_set_status(st, mid, g.stage, "active", -1, -1);
    if (e == FD_OK)
        e = store_mig_set_state(st, mid, status, g.stage, -1, -1, NULL);
    if (e == FD_OK)
        e = store_mig_bump(st, mid);
    flight_target_mig(target, sizeof target, mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, mid, "landing.reopen", target, before, after, NULL);
    if (e == FD_OK)
        e = flight_doc(st, mid, 1, out);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err goaround_reopen(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    return core_mutate(st, ctx, rule_reopen, (void *)mid, out);
}
