/* rollback_check.c - arming a rollback PR and checking it: on demand, on the timer, and after a
 * go-around found its head moved (see rollback.h). Each asks GitHub through the port (a
 * GH_JOB_CHECK) and records the answer when it comes back, on the loop thread. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight_internal.h"
#include "mutate.h"
#include "rollback_internal.h"

#define RECHECK_BATCH 50
#define PR_MAX 2147483647LL

static const check_field arm_fields[] = {
    {"repo", CHECK_STRING, 1, 3, GH_REPO_MAX},
    {"pr", CHECK_INT, 1, 1, PR_MAX},
    {"merge_method", CHECK_STRING, 0, 1, 7},
    {"requires_second_lead", CHECK_BOOL, 0, 0, 0},
    {NULL, 0, 0, 0, 0},
};

/* "owner/name": two non-empty parts of [A-Za-z0-9._-], neither "." nor "..". They go into URL
 * paths of GitHub's API, so nothing else may pass. */
static int repo_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL || strchr(slash + 1, '/') != NULL)
        return 0;
    size_t owner = (size_t)(slash - s), name = strlen(slash + 1);
    if (owner == 0 || name == 0 || owner > 100 || name > 100)
        return 0;
    for (const char *p = s; *p; p++) {
        if (p == slash)
            continue;
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return strcmp(slash + 1, ".") != 0 && strcmp(slash + 1, "..") != 0 &&
           !(owner == 1 && s[0] == '.') && !(owner == 2 && s[0] == '.' && s[1] == '.');
}

/* Refuse while a go-around of `mid` is merging: its PR must not change under it. */
static fd_err refuse_while_merging(fd_store *st, fd_ctx *ctx, const char *mid)
{
    if (rb_job_find(st, mid, RB_MERGE) == NULL)
        return FD_OK;
    return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                   "a go-around of %s is in progress; wait for its outcome", mid);
}

fd_err rollback_arm(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body,
                    rollback_done_fn fn, void *arg)
{
    fd_mig_head h;
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "arm a rollback PR");
    if (e == FD_OK)
        e = check_object(body, arm_fields, "", &ctx->problem);
    if (e != FD_OK)
        return e;
    const char *repo = check_str(body, "repo", "");
    const char *method = check_str(body, "merge_method", "merge");
    if (!repo_valid(repo))
        return fd_fail(&ctx->problem, FD_E_INVALID, "repo",
                       "repo must be \"owner/name\" as on GitHub (letters, digits, '.', '_', '-')");
    if (strcmp(method, "merge") != 0 && strcmp(method, "squash") != 0 &&
        strcmp(method, "rebase") != 0)
        return fd_fail(&ctx->problem, FD_E_INVALID, "merge_method",
                       "merge_method must be merge, squash or rebase");
    e = flight_load_head(st, ctx, mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = refuse_while_merging(st, ctx, mid);
    if (e != FD_OK)
        return e;
    rb_job *job = rb_job_new(st, ctx, mid, RB_ARM);
    if (job == NULL)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "out of memory");
    job->gh.kind = GH_JOB_CHECK;
    snprintf(job->gh.repo, sizeof job->gh.repo, "%s", repo);
    job->gh.number = check_int(body, "pr", 0);
    snprintf(job->merge_method, sizeof job->merge_method, "%s", method);
    job->requires_second_lead = check_bool(body, "requires_second_lead", 0);
    job->fn = fn;
    job->arg = arg;
    return rb_job_submit(job, &ctx->problem);
}

/* The configuration part of a row, for the before/after of rollback.arm. */
static json_t *config_json(const fd_rollback_row *r)
{
    return json_pack("{s:s,s:I,s:s,s:s,s:b}", "repo", r->repo, "pr", (json_int_t)r->pr,
                     "approved_sha", r->approved_sha, "merge_method", r->merge_method,
                     "requires_second_lead", r->requires_second_lead);
}

typedef struct arm_args {
    rb_job *job;
    const json_t *decision;
} arm_args;

static fd_err rule_arm(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    arm_args *a = args;
    rb_job *job = a->job;
    fd_mig_head h;
    fd_rollback_row old = {0}, row;
    char target[FD_SLUG_MAX + 32];
    json_t *before = NULL, *after = NULL;
    /* the flight may have moved on while GitHub answered */
    fd_err e = flight_load_head(st, ctx, job->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = refuse_while_merging(st, ctx, job->mid);
    if (e != FD_OK)
        return e;
    e = store_rollback_get(st, job->mid, &old);
    if (e != FD_OK && e != FD_E_NOT_FOUND)
        return e;
    if (e == FD_OK)
        before = config_json(&old);
    store_rollback_row_clear(&old);

    memset(&row, 0, sizeof row);
    snprintf(row.migration, sizeof row.migration, "%s", job->mid);
    snprintf(row.repo, sizeof row.repo, "%s", job->gh.repo);
    row.pr = job->gh.number;
    snprintf(row.merge_method, sizeof row.merge_method, "%s", job->merge_method);
    row.requires_second_lead = job->requires_second_lead;
    snprintf(row.title, sizeof row.title, "%s", check_str(a->decision, "title", ""));
    snprintf(row.url, sizeof row.url, "%s", check_str(a->decision, "url", ""));
    snprintf(row.approved_sha, sizeof row.approved_sha, "%s",
             check_str(a->decision, "head_sha", ""));
    snprintf(row.armed_by_sub, sizeof row.armed_by_sub, "%s", ctx->actor->sub);
    snprintf(row.armed_by_name, sizeof row.armed_by_name, "%s", ctx->actor->name);
    row.armed_at = store_now_ms(st);
    row.check_armed = json_is_true(json_object_get(a->decision, "armed"));
    snprintf(row.check_head_sha, sizeof row.check_head_sha, "%s", row.approved_sha);
    row.check_reasons = json_object_get(a->decision, "reasons"); /* borrowed */
    row.checked_at = row.armed_at;
    row.used_by = -1;

    after = config_json(&row);
    json_object_set_new(after, "armed", json_boolean(row.check_armed));
    json_object_set(after, "reasons", row.check_reasons);
    snprintf(target, sizeof target, "migrations/%s/rollback", job->mid);
    e = store_rollback_put(st, &row);
    if (e == FD_OK)
        e = store_mig_bump(st, job->mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, job->mid, "rollback.arm", target, before, after, NULL);
    if (e == FD_OK)
        e = rb_rollback_doc(st, job->mid, out);
    json_decref(before);
    json_decref(after);
    return e;
}

void rb_arm_done(rb_job *job)
{
    fd_ctx *ctx = rb_job_ctx(job, 1);
    const fd_github *port = store_github(job->st);
    const char *approved = check_str(json_object_get(job->gh.pr.body, "head"), "sha", NULL);
    json_t *decision = rollback_decide(approved, &job->gh, port != NULL && port->has_token);
    /* the first reason about the PR itself decides whether it can be armed at all */
    const char *code = "", *text = "";
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(decision, "reasons"), i, r)
    {
        if (strcmp(check_str(r, "code", ""), "no_token") != 0) {
            code = check_str(r, "code", "");
            text = check_str(r, "text", "");
            break;
        }
    }
    json_t *doc = NULL;
    fd_err e;
    /* only what makes the PR unusable refuses arming; pending checks or missing reviews are
     * recorded as reasons why it is not armed yet */
    if (approved == NULL || strcmp(code, "pr_not_found") == 0) {
        if (strcmp(code, "pr_not_found") == 0)
            e = fd_fail(&ctx->problem, FD_E_INVALID, "pr", "%s", text);
        else
            e = fd_fail(&ctx->problem, FD_E_UNAVAILABLE, NULL,
                        "the PR could not be read from GitHub: %s", text);
        fd_problem_set(&ctx->problem, "outcome", json_string(code));
    } else if (strcmp(code, "pr_merged") == 0 || strcmp(code, "pr_closed") == 0) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, "pr",
                    "%s: a rollback PR must be open and not merged", text);
        fd_problem_set(&ctx->problem, "outcome", json_string(code));
    } else {
        arm_args a = {.job = job, .decision = decision};
        e = core_mutate(job->st, ctx, rule_arm, &a, &doc);
    }
    json_decref(decision);
    rb_job_answer(job, e, doc);
}

/* ---- checks ---- */

fd_err rollback_refresh(fd_store *st, fd_ctx *ctx, const char *mid, rollback_done_fn fn, void *arg)
{
    json_t *doc = NULL;
    fd_err e = rollback_get(st, ctx, mid, &doc); /* exists, has a rollback */
    json_decref(doc);
    if (e != FD_OK)
        return e;
    rb_job *job = rb_job_new(st, ctx, mid, RB_CHECK);
    if (job == NULL)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "out of memory");
    job->fn = fn;
    job->arg = arg;
    fd_rollback_row r;
    if (store_rollback_get(st, mid, &r) != FD_OK) {
        free(job);
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    }
    job->gh.kind = GH_JOB_CHECK;
    snprintf(job->gh.repo, sizeof job->gh.repo, "%s", r.repo);
    job->gh.number = r.pr;
    store_rollback_row_clear(&r);
    return rb_job_submit(job, &ctx->problem);
}

/* Start a check of `mid` by flightdeck itself (timer, after a failed merge). 0 or -1. */
static int start_system_check(fd_store *st, const char *mid, const char *request_id)
{
    fd_rollback_row r;
    fd_problem p = {0};
    if (rb_job_find(st, mid, RB_CHECK) != NULL || store_rollback_get(st, mid, &r) != FD_OK)
        return -1;
    fd_ctx c;
    fd_ctx_init(&c, rb_system_actor(), request_id);
    rb_job *job = rb_job_new(st, &c, mid, RB_CHECK);
    if (job == NULL) {
        store_rollback_row_clear(&r);
        return -1;
    }
    job->gh.kind = GH_JOB_CHECK;
    snprintf(job->gh.repo, sizeof job->gh.repo, "%s", r.repo);
    job->gh.number = r.pr;
    store_rollback_row_clear(&r);
    int rc = rb_job_submit(job, &p) == FD_OK ? 0 : -1;
    fd_problem_clear(&p);
    return rc;
}

int rb_recheck(fd_store *st, const char *mid, const char *request_id)
{
    return start_system_check(st, mid, request_id);
}

int rollback_recheck_due(fd_store *st, int64_t interval_ms)
{
    json_t *mids = NULL;
    int started = 0;
    if (store_github(st) == NULL ||
        store_rollback_due(st, store_now_ms(st) - interval_ms, RECHECK_BATCH, &mids) != FD_OK)
        return 0;
    size_t i;
    json_t *m;
    json_array_foreach(mids, i, m)
    {
        if (start_system_check(st, json_string_value(m), NULL) == 0)
            started++;
    }
    json_decref(mids);
    return started;
}

/* The codes of a reasons array, joined, to tell whether the reasons changed. */
static void codes_of(const json_t *reasons, char *out, size_t n)
{
    size_t i, len = 0;
    json_t *r;
    out[0] = '\0';
    json_array_foreach(reasons, i, r)
    {
        int w = snprintf(out + len, n - len, "%s,", check_str(r, "code", ""));
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

typedef struct check_args {
    rb_job *job;
    const json_t *decision;
} check_args;

/* Record a check. The armed state is part of the migration document, so a change of it (or of
 * the reasons while disarmed) bumps the migration's version and is audited; a check that finds
 * nothing new only moves checked_at. */
static fd_err rule_record_check(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    check_args *a = args;
    fd_rollback_row r;
    char target[FD_SLUG_MAX + 32], was[400], now[400];
    (void)out;
    fd_err e = store_rollback_get(st, a->job->mid, &r);
    if (e == FD_E_NOT_FOUND)
        return FD_OK;
    if (e != FD_OK)
        return e;
    /* re-armed with another PR, or merged by a go-around, while this check ran: it is stale */
    if (r.used_by >= 0 || strcmp(r.repo, a->job->gh.repo) != 0 || r.pr != a->job->gh.number)
        goto done;
    int armed = json_is_true(json_object_get(a->decision, "armed"));
    const json_t *reasons = json_object_get(a->decision, "reasons");
    codes_of(r.check_reasons, was, sizeof was);
    codes_of(reasons, now, sizeof now);
    int changed = armed != r.check_armed || strcmp(was, now) != 0;
    e = store_rollback_set_check(st, a->job->mid, armed, check_str(a->decision, "head_sha", NULL),
                                 reasons, store_now_ms(st));
    if (e == FD_OK && changed) {
        json_t *before = json_pack("{s:b,s:O}", "armed", r.check_armed, "reasons", r.check_reasons);
        json_t *after = json_pack("{s:b,s:O,s:O}", "armed", armed, "reasons", reasons, "head_sha",
                                  json_object_get(a->decision, "head_sha"));
        snprintf(target, sizeof target, "migrations/%s/rollback", a->job->mid);
        e = store_mig_bump(st, a->job->mid);
        if (e == FD_OK)
            e = audit_append(st, ctx, a->job->mid, armed ? "rollback.armed" : "rollback.disarmed",
                             target, before, after, NULL);
        json_decref(before);
        json_decref(after);
    }
done:
    store_rollback_row_clear(&r);
    return e;
}

void rb_check_done(rb_job *job)
{
    fd_rollback_row r;
    json_t *doc = NULL;
    fd_ctx *ctx = rb_job_ctx(job, 0);
    /* what flightdeck observes on GitHub is its own act, whoever asked for the refresh */
    ctx->actor = rb_system_actor();
    fd_err e = store_rollback_get(job->st, job->mid, &r);
    if (e == FD_OK) {
        const fd_github *port = store_github(job->st);
        json_t *decision = rollback_decide(r.approved_sha, &job->gh, port && port->has_token);
        check_args a = {.job = job, .decision = decision};
        e = core_mutate(job->st, ctx, rule_record_check, &a, NULL);
        json_decref(decision);
        store_rollback_row_clear(&r);
    }
    if (e == FD_OK)
        e = rb_rollback_doc(job->st, job->mid, &doc);
    if (e == FD_E_NOT_FOUND)
        fd_fail(&ctx->problem, e, NULL, "migration %s has no rollback PR any more", job->mid);
    else if (e == FD_E_INTERNAL && ctx->problem.detail[0] == '\0')
        fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(job->st));
    rb_job_answer(job, e, doc);
}
