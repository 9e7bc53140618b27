/*
 * test_rollback.c - the go-around in core, without a network: the decision whether a rollback PR
 * is armed (from canned GitHub answers), arming and checking it, the go-around and its outcomes,
 * re-opening landing, the second lead, never merging twice, and the REST handler waiting for
 * GitHub (answering later, or not at all when the client went away).
 *
 * GitHub is a fake port: submitted jobs wait in a list until the test fills their answers and
 * completes them, as the worker thread would.
 */
#include "core_fixture.h"

#include <stdlib.h>

#include "api/handlers.h"
#include "core/flight.h"
#include "core/rollback.h"
#include "fake_h2o.h"

#define MID "msk"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_M "cccccccccccccccccccccccccccccccccccccccc"

#define EXPECT(want, call)                                                                         \
    do {                                                                                           \
        fd_err got_ = (call);                                                                      \
        if (got_ != (want))                                                                        \
            fail_msg("%s: %s, want %s (%s)", #call, fd_err_name(got_), fd_err_name(want),          \
                     ctx.problem.detail);                                                          \
    } while (0)

/* ---- the fake port ---- */

static gh_job *queued[16];
static int nqueued;
static int port_refuses;

static int fake_submit(void *arg, gh_job *job)
{
    (void)arg;
    if (port_refuses || nqueued == 16)
        return -1;
    queued[nqueued++] = job;
    return 0;
}

static fd_github fake_port = {fake_submit, NULL, 1};

/* Take the oldest queued job (fails the test when none). */
static gh_job *take_job(void)
{
    if (nqueued == 0)
        fail_msg("no GitHub job was submitted");
    gh_job *j = queued[0];
    memmove(queued, queued + 1, (size_t)(nqueued - 1) * sizeof queued[0]);
    nqueued--;
    return j;
}

static void set_reply(gh_reply *r, long status, const char *json)
{
    json_decref(r->body);
    r->status = status;
    r->body = json != NULL ? fix_json(json) : NULL;
}

/* ---- canned GitHub answers ---- */

static char *pr_json(const char *state, int merged, const char *mergeable, const char *head)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"number\": 42, \"state\": \"%s\", \"merged\": %s, \"mergeable\": %s,"
             " \"mergeable_state\": \"%s\", \"title\": \"Revert MSK cutover\","
             " \"html_url\": \"https://github.com/acme/infra/pull/42\","
             " \"head\": {\"sha\": \"%s\"}, \"merge_commit_sha\": %s}",
             state, merged ? "true" : "false", mergeable,
             strcmp(mergeable, "false") == 0 ? "dirty" : "clean", head,
             merged ? "\"" SHA_M "\"" : "null");
    return buf;
}

static const char *const APPROVED = "[{\"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\"}]";
static const char *const GREEN_STATUS =
    "{\"state\": \"success\", \"total_count\": 1, \"statuses\": [{\"context\": \"ci/build\","
    " \"state\": \"success\"}]}";
static const char *const GREEN_CHECKS =
    "{\"total_count\": 1, \"check_runs\": [{\"name\": \"tests\", \"status\": \"completed\","
    " \"conclusion\": \"success\"}]}";

/* Fill a check job's answers. */
static void answer_check(gh_job *j, const char *pr, const char *reviews, const char *status,
                         const char *checks)
{
    set_reply(&j->pr, 200, pr);
    set_reply(&j->reviews, 200, reviews);
    set_reply(&j->status, 200, status);
    set_reply(&j->checks, 200, checks);
}

static void answer_healthy(gh_job *j, const char *head)
{
    answer_check(j, pr_json("open", 0, "true", head), APPROVED, GREEN_STATUS, GREEN_CHECKS);
}

/* rollback_decide on canned answers; returns the reason codes joined by ',' ("" when armed). */
static const char *decide(const char *pr, const char *reviews, const char *status,
                          const char *checks, int *armed)
{
    static char codes[512];
    gh_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.repo, sizeof j.repo, "acme/infra");
    j.number = 42;
    answer_check(&j, pr, reviews, status, checks);
    json_t *d = rollback_decide(SHA_A, &j, 1);
    *armed = json_is_true(json_object_get(d, "armed"));
    codes[0] = '\0';
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(d, "reasons"), i, r)
    {
        strcat(codes, json_string_value(json_object_get(r, "code")));
        strcat(codes, ",");
        assert_true(strlen(json_string_value(json_object_get(r, "text"))) > 10); /* words */
    }
    json_decref(d);
    gh_job_clear(&j);
    return codes;
}

/* ---- the decision ---- */

static void healthy_pr_is_armed(void **state)
{
    (void)state;
    int armed = 0;
    assert_string_equal(
        decide(pr_json("open", 0, "true", SHA_A), APPROVED, GREEN_STATUS, GREEN_CHECKS, &armed),
        "");
    assert_true(armed);
}

static void each_fault_disarms_with_its_reason(void **state)
{
    (void)state;
    int armed = 1;
    assert_string_equal(
        decide(pr_json("closed", 0, "null", SHA_A), APPROVED, GREEN_STATUS, GREEN_CHECKS, &armed),
        "pr_closed,");
    assert_false(armed);
    assert_string_equal(
        decide(pr_json("closed", 1, "null", SHA_A), APPROVED, GREEN_STATUS, GREEN_CHECKS, &armed),
        "pr_merged,");
    assert_string_equal(
        decide(pr_json("open", 0, "false", SHA_A), APPROVED, GREEN_STATUS, GREEN_CHECKS, &armed),
        "not_mergeable,");
    assert_string_equal(
        decide(pr_json("open", 0, "null", SHA_A), APPROVED, GREEN_STATUS, GREEN_CHECKS, &armed),
        "mergeable_unknown,");
    assert_string_equal(
        decide(pr_json("open", 0, "true", SHA_B), APPROVED, GREEN_STATUS, GREEN_CHECKS, &armed),
        "head_moved,");
    assert_false(armed);
}

static void reviews_latest_per_reviewer_counts(void **state)
{
    (void)state;
    int armed = 1;
    const char *pr = pr_json("open", 0, "true", SHA_A);
    /* carol approved, then asked for changes; dave's approval does not outvote her */
    assert_string_equal(decide(pr,
                               "[{\"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\"},"
                               " {\"user\": {\"login\": \"dave\"}, \"state\": \"APPROVED\"},"
                               " {\"user\": {\"login\": \"carol\"}, \"state\": "
                               "\"CHANGES_REQUESTED\"}]",
                               GREEN_STATUS, GREEN_CHECKS, &armed),
                        "changes_requested,");
    assert_false(armed);
    /* changes requested, then approved by the same reviewer; a later comment changes nothing */
    assert_string_equal(decide(pr,
                               "[{\"user\": {\"login\": \"carol\"}, \"state\": "
                               "\"CHANGES_REQUESTED\"},"
                               " {\"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\"},"
                               " {\"user\": {\"login\": \"carol\"}, \"state\": \"COMMENTED\"}]",
                               GREEN_STATUS, GREEN_CHECKS, &armed),
                        "");
    assert_true(armed);
    /* only comments, or an approval dismissed: nobody approves */
    assert_string_equal(decide(pr, "[{\"user\": {\"login\": \"carol\"}, \"state\": \"COMMENTED\"}]",
                               GREEN_STATUS, GREEN_CHECKS, &armed),
                        "not_approved,");
    assert_string_equal(decide(pr,
                               "[{\"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\"},"
                               " {\"user\": {\"login\": \"carol\"}, \"state\": \"DISMISSED\"}]",
                               GREEN_STATUS, GREEN_CHECKS, &armed),
                        "not_approved,");
}

static void checks_and_statuses_must_be_green(void **state)
{
    (void)state;
    int armed = 1;
    const char *pr = pr_json("open", 0, "true", SHA_A);
    assert_string_equal(
        decide(pr, APPROVED, GREEN_STATUS,
               "{\"check_runs\": [{\"name\": \"tests\", \"status\": \"completed\","
               " \"conclusion\": \"failure\"}, {\"name\": \"lint\", \"status\": \"completed\","
               " \"conclusion\": \"skipped\"}]}",
               &armed),
        "checks_failing,");
    assert_string_equal(decide(pr, APPROVED, GREEN_STATUS,
                               "{\"check_runs\": [{\"name\": \"tests\", \"status\": "
                               "\"in_progress\", \"conclusion\": null}]}",
                               &armed),
                        "checks_pending,");
    assert_string_equal(decide(pr, APPROVED,
                               "{\"state\": \"failure\", \"statuses\": [{\"context\": "
                               "\"ci/deploy\", \"state\": \"failure\"}]}",
                               GREEN_CHECKS, &armed),
                        "status_failing,");
    assert_string_equal(decide(pr, APPROVED,
                               "{\"state\": \"pending\", \"statuses\": [{\"context\": "
                               "\"ci/deploy\", \"state\": \"pending\"}]}",
                               GREEN_CHECKS, &armed),
                        "status_pending,");
    /* GitHub says "pending" for a commit without any status: nothing to wait for */
    assert_string_equal(decide(pr, APPROVED,
                               "{\"state\": \"pending\", \"total_count\": 0, \"statuses\": []}",
                               GREEN_CHECKS, &armed),
                        "");
    assert_true(armed);
}

static void token_problems_disarm(void **state)
{
    (void)state;
    gh_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.repo, sizeof j.repo, "acme/infra");
    j.number = 42;
    set_reply(&j.pr, 401, "{\"message\": \"Bad credentials\"}");
    json_t *d = rollback_decide(SHA_A, &j, 1);
    assert_false(json_is_true(json_object_get(d, "armed")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(d, "reasons"), 0), "code")),
                        "token_rejected");
    json_decref(d);
    answer_healthy(&j, SHA_A);
    d = rollback_decide(SHA_A, &j, 0); /* everything green, but no token to merge with */
    assert_false(json_is_true(json_object_get(d, "armed")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(d, "reasons"), 0), "code")),
                        "no_token");
    json_decref(d);
    gh_job_clear(&j);

    json_t *pr = fix_json(pr_json("open", 0, "null", SHA_A));
    assert_true(rollback_pr_mergeable_unknown(pr));
    json_decref(pr);
    pr = fix_json(pr_json("closed", 1, "null", SHA_A));
    assert_false(rollback_pr_mergeable_unknown(pr)); /* merged PRs stay null: do not wait */
    assert_true(rollback_pr_merged(pr));
    json_decref(pr);
    assert_true(goaround_answer_is_final(200));
    assert_true(goaround_answer_is_final(409));
    assert_false(goaround_answer_is_final(502));
    assert_false(goaround_answer_is_final(0));
}

/* ---- a migration with a rollback, through the fake port ---- */

static const char *const PLAN =
    "{\"id\": \"msk\", \"title\": \"Replace MSK\", \"owner_team\": \"data-stream\","
    " \"stages\": [{\"key\": \"takeoff\", \"title\": \"Take-off\", \"steps\": ["
    "   {\"title\": \"Mirror topics\"}, {\"title\": \"Switch producers\"}]},"
    "  {\"key\": \"landing\", \"title\": \"Landing\"},"
    "  {\"key\": \"shutdown\", \"title\": \"Shutdown\"}]}";

/* The answer a rollback_done_fn received. */
typedef struct answer {
    int called;
    fd_err e;
    json_t *doc;
    json_t *extra;
    char detail[512];
} answer;

static void on_done(void *arg, fd_err e, fd_problem *p, json_t *doc)
{
    answer *a = arg;
    a->called++;
    a->e = e;
    a->doc = doc;
    if (e != FD_OK) {
        snprintf(a->detail, sizeof a->detail, "%s", p->detail);
        a->extra = json_incref(p->extra);
    }
}

static void answer_clear(answer *a)
{
    json_decref(a->doc);
    json_decref(a->extra);
    memset(a, 0, sizeof *a);
}

static fixture *flying(void)
{
    fixture *f = fix_open();
    fd_ports ports = {.clock = {fix_clock, f}, .events = {fix_sink, f}, .github = &fake_port};
    store_set_ports(f->st, &ports);
    nqueued = 0;
    port_refuses = 0;
    fix_team(f, "data-stream", "Data Stream");
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = fix_json(PLAN), *m = NULL;
    EXPECT(FD_OK, flight_create(f->st, &ctx, plan, &m));
    json_decref(plan);
    json_decref(m);
    EXPECT(FD_OK, flight_start_override(f->st, &ctx, MID, "test flight", &m));
    json_decref(m);
    fd_problem_clear(&ctx.problem);
    return f;
}

/* Complete whatever GitHub jobs are still queued (unanswered), then close: no job outlives its
 * store. */
static void land(fixture *f)
{
    while (nqueued > 0) {
        gh_job *j = take_job();
        j->done(j);
    }
    assert_int_equal(rollback_jobs_in_flight(f->st), 0);
    fix_close(f);
}

static json_t *migration(fixture *f)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *m = NULL;
    EXPECT(FD_OK, flight_get(f->st, &ctx, MID, &m));
    return m;
}

/* Arm acme/infra#42 as the lead with a healthy PR at SHA_A (squash). */
static void arm_ok(fixture *f, int second_lead)
{
    fd_ctx ctx;
    answer a = {0};
    fd_ctx_init(&ctx, &f->lead, "req-arm");
    json_t *body = json_pack("{s:s,s:i,s:s,s:b}", "repo", "acme/infra", "pr", 42, "merge_method",
                             "squash", "requires_second_lead", second_lead);
    EXPECT(FD_OK, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    json_decref(body);
    assert_int_equal(a.called, 0); /* waits for GitHub */
    gh_job *j = take_job();
    assert_int_equal(j->kind, GH_JOB_CHECK);
    assert_string_equal(j->repo, "acme/infra");
    answer_healthy(j, SHA_A);
    j->done(j);
    assert_int_equal(a.called, 1);
    if (a.e != FD_OK)
        fail_msg("arming failed: %s", a.detail);
    assert_true(json_is_true(json_object_get(a.doc, "armed")));
    answer_clear(&a);
}

/* The actions the sink received since `from`, joined by spaces. */
static void actions_since(fixture *f, size_t from, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = from; i < json_array_size(f->events); i++) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", len ? " " : "",
                 json_string_value(json_object_get(json_array_get(f->events, i), "action")));
    }
}

static void arming_records_the_approved_head(void **state)
{
    (void)state;
    fixture *f = flying();
    json_t *m = migration(f);
    assert_true(json_is_null(json_object_get(m, "rollback")));
    int64_t before = json_integer_value(json_object_get(m, "version"));
    json_decref(m);
    arm_ok(f, 0);

    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *doc = NULL;
    EXPECT(FD_OK, rollback_get(f->st, &ctx, MID, &doc));
    json_t *pr = json_object_get(doc, "pr");
    assert_string_equal(json_string_value(json_object_get(pr, "approved_sha")), SHA_A);
    assert_string_equal(json_string_value(json_object_get(pr, "title")), "Revert MSK cutover");
    assert_string_equal(json_string_value(json_object_get(pr, "merge_method")), "squash");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "armed_by"), "sub")),
                        "lena");
    json_decref(doc);

    m = migration(f);
    json_t *rb = json_object_get(m, "rollback");
    assert_true(json_is_true(json_object_get(rb, "armed")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(rb, "pr"), "url")),
                        "https://github.com/acme/infra/pull/42");
    assert_true(json_integer_value(json_object_get(m, "version")) > before);
    json_decref(m);
    char acts[256];
    actions_since(f, 0, acts, sizeof acts);
    assert_non_null(strstr(acts, "rollback.arm"));
    land(f);
}

static void arming_refusals(void **state)
{
    (void)state;
    fixture *f = flying();
    fd_ctx ctx;
    answer a = {0};
    json_t *body = json_pack("{s:s,s:i}", "repo", "acme/infra", "pr", 42);
    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_FORBIDDEN, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    fd_problem_clear(&ctx.problem);
    json_decref(body);

    fd_ctx_init(&ctx, &f->lead, NULL);
    body = json_pack("{s:s,s:i}", "repo", "acme/../infra", "pr", 42);
    EXPECT(FD_E_INVALID, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    assert_string_equal(ctx.problem.field, "repo");
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    body = json_pack("{s:s,s:i,s:s}", "repo", "acme/infra", "pr", 42, "merge_method", "yolo");
    EXPECT(FD_E_INVALID, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    body = json_pack("{s:s,s:i,s:b}", "repo", "acme/infra", "pr", 42, "force", 1);
    EXPECT(FD_E_UNKNOWN_FIELD, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    assert_int_equal(nqueued, 0); /* nothing asked of GitHub */

    /* GitHub has no such PR: 422 naming pr, nothing recorded */
    body = json_pack("{s:s,s:i}", "repo", "acme/infra", "pr", 404);
    EXPECT(FD_OK, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    json_decref(body);
    gh_job *j = take_job();
    set_reply(&j->pr, 404, "{\"message\": \"Not Found\"}");
    j->done(j);
    assert_int_equal(a.called, 1);
    assert_int_equal(a.e, FD_E_INVALID);
    answer_clear(&a);
    json_t *doc = NULL;
    EXPECT(FD_E_NOT_FOUND, rollback_get(f->st, &ctx, MID, &doc));
    fd_problem_clear(&ctx.problem);

    /* the port refuses (shutting down): answered at once, no callback */
    port_refuses = 1;
    body = json_pack("{s:s,s:i}", "repo", "acme/infra", "pr", 42);
    EXPECT(FD_E_UNAVAILABLE, rollback_arm(f->st, &ctx, MID, body, on_done, &a));
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    assert_int_equal(a.called, 0);
    assert_int_equal(rollback_jobs_in_flight(f->st), 0);
    land(f);
}

/* Run a refresh and answer it with `pr` (reviews/status/checks green). */
static void refresh_with(fixture *f, const char *pr)
{
    fd_ctx ctx;
    answer a = {0};
    fd_ctx_init(&ctx, &f->viewer, "req-refresh");
    EXPECT(FD_OK, rollback_refresh(f->st, &ctx, MID, on_done, &a));
    gh_job *j = take_job();
    answer_check(j, pr, APPROVED, GREEN_STATUS, GREEN_CHECKS);
    j->done(j);
    assert_int_equal(a.called, 1);
    assert_int_equal(a.e, FD_OK);
    answer_clear(&a);
}

static void checks_audit_changes_of_the_armed_state(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    size_t mark = json_array_size(f->events);
    char acts[256];

    refresh_with(f, pr_json("open", 0, "true", SHA_B)); /* someone pushed */
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "rollback.disarmed");
    json_t *m = migration(f);
    json_t *rb = json_object_get(m, "rollback");
    assert_false(json_is_true(json_object_get(rb, "armed")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(rb, "reasons"), 0), "code")),
                        "head_moved");
    json_decref(m);

    mark = json_array_size(f->events);
    refresh_with(f, pr_json("open", 0, "true", SHA_B)); /* the same again: nothing new */
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "");

    refresh_with(f, pr_json("open", 0, "true", SHA_A)); /* force-pushed back */
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "rollback.armed");
    json_t *ev = fix_json(json_string_value(
        json_object_get(json_array_get(f->events, json_array_size(f->events) - 1), "json")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "actor"), "sub")),
                        "flightdeck");
    json_decref(ev);
    land(f);
}

static void timer_rechecks_what_is_due(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    assert_int_equal(rollback_recheck_due(f->st, 60000), 0); /* just checked */
    f->now += 61000;
    assert_int_equal(rollback_recheck_due(f->st, 60000), 1);
    assert_int_equal(rollback_recheck_due(f->st, 60000), 0); /* already being checked */
    gh_job *j = take_job();
    answer_check(j, pr_json("open", 0, "false", SHA_A), APPROVED, GREEN_STATUS, GREEN_CHECKS);
    size_t mark = json_array_size(f->events);
    j->done(j);
    char acts[128];
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "rollback.disarmed");
    assert_int_equal(rollback_recheck_due(f->st, 60000), 0);
    land(f);
}

/* Order a go-around as `who`; returns what the call answered at once (or NULL). */
static json_t *order(fixture *f, const fd_actor *who, const char *key, fd_err want, answer *a)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, who, "req-ga");
    ctx.idem_key = key;
    ctx.request_hash = key ? "hash-1" : NULL;
    EXPECT(want, goaround_request(f->st, &ctx, MID, "consumer lag above 5 min", on_done, a, &out));
    fd_problem_clear(&ctx.problem);
    return out;
}

static void merge_answer(gh_job *j, long status, const char *body)
{
    set_reply(&j->pr, 200, pr_json("open", 0, "true", SHA_A));
    set_reply(&j->merge, status, body);
    j->merge_calls = 1;
}

static void step_tick(fixture *f, int idx, fd_err want)
{
    json_t *m = migration(f);
    json_t *steps = json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps");
    int64_t sid = json_integer_value(json_object_get(json_array_get(steps, (size_t)idx), "id"));
    json_decref(m);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    json_t *s = NULL;
    EXPECT(want, flight_step_action(f->st, &ctx, MID, sid, FD_STEP_TICK, NULL, &s));
    json_decref(s);
    fd_problem_clear(&ctx.problem);
}

static void go_around_merges_the_approved_sha_and_stops_landing(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    step_tick(f, 0, FD_OK);
    answer a = {0};
    size_t mark = json_array_size(f->events);
    assert_null(order(f, &f->lead, NULL, FD_OK, &a));
    assert_int_equal(a.called, 0);
    gh_job *j = take_job();
    assert_int_equal(j->kind, GH_JOB_MERGE);
    assert_string_equal(j->sha, SHA_A);
    assert_string_equal(j->method, "squash");
    assert_string_equal(j->title,
                        "flightdeck go-around: msk \xe2\x80\x94 consumer lag above 5 min");
    merge_answer(j, 200, "{\"sha\": \"" SHA_M "\", \"merged\": true}");
    j->done(j);
    assert_int_equal(a.called, 1);
    assert_int_equal(a.e, FD_OK);
    assert_string_equal(json_string_value(json_object_get(a.doc, "state")), "merged");
    assert_string_equal(json_string_value(json_object_get(a.doc, "merge_sha")), SHA_M);
    answer_clear(&a);
    char acts[256];
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "go_around.started go_around.merged");

    json_t *m = migration(f);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "go_around");
    assert_true(json_is_null(json_object_get(m, "current_stage")));
    json_t *takeoff = json_array_get(json_object_get(m, "stages"), 0);
    assert_string_equal(json_string_value(json_object_get(takeoff, "status")), "pending");
    assert_false(json_is_true(json_object_get(json_object_get(m, "rollback"), "armed")));
    json_decref(m);

    /* landing stopped: no step moves, no stage completes, no second go-around */
    step_tick(f, 1, FD_E_CONFLICT);
    {
        /* the refusal says what happened and what to do, not "the active stage is " */
        json_t *mm = migration(f);
        json_t *st0 = json_object_get(json_array_get(json_object_get(mm, "stages"), 0), "steps");
        int64_t sid = json_integer_value(json_object_get(json_array_get(st0, 1), "id"));
        json_decref(mm);
        fd_ctx c2;
        fd_ctx_init(&c2, &f->alice, NULL);
        json_t *s2 = NULL;
        assert_int_equal(flight_step_action(f->st, &c2, MID, sid, FD_STEP_TICK, NULL, &s2),
                         FD_E_CONFLICT);
        assert_non_null(strstr(c2.problem.detail, "went around"));
        assert_non_null(strstr(c2.problem.detail, "landing/reopen"));
        fd_problem_clear(&c2.problem);
    }
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *out = NULL;
    EXPECT(FD_E_CONFLICT, flight_complete_stage(f->st, &ctx, MID, "takeoff", &out));
    fd_problem_clear(&ctx.problem);
    assert_null(order(f, &f->lead, NULL, FD_E_CONFLICT, &a));
    assert_int_equal(nqueued, 0);

    /* re-open: the stage is active again, status as before */
    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_FORBIDDEN, goaround_reopen(f->st, &ctx, MID, &out));
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->lead, NULL);
    EXPECT(FD_OK, goaround_reopen(f->st, &ctx, MID, &out));
    assert_string_equal(json_string_value(json_object_get(out, "status")), "in_flight");
    assert_string_equal(json_string_value(json_object_get(out, "current_stage")), "takeoff");
    json_decref(out);
    EXPECT(FD_E_CONFLICT, goaround_reopen(f->st, &ctx, MID, &out)); /* not going around now */
    fd_problem_clear(&ctx.problem);
    step_tick(f, 1, FD_OK);
    /* the merged PR is spent: a new go-around needs a new rollback */
    assert_null(order(f, &f->lead, NULL, FD_E_CONFLICT, &a));
    land(f);
}

static void abort_after_go_around(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    answer a = {0};
    order(f, &f->lead, NULL, FD_OK, &a);
    gh_job *j = take_job();
    merge_answer(j, 200, "{\"sha\": \"" SHA_M "\", \"merged\": true}");
    j->done(j);
    answer_clear(&a);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *out = NULL;
    EXPECT(FD_OK, flight_abort(f->st, &ctx, MID, "rolled back for good", &out));
    assert_string_equal(json_string_value(json_object_get(out, "status")), "aborted");
    json_decref(out);
    land(f);
}

/* One failing merge answer -> the problem's outcome, and go_around.failed in the audit. */
static void failed_merge(long status, const char *body, fd_err want_err, const char *want_outcome)
{
    fixture *f = flying();
    arm_ok(f, 0);
    answer a = {0};
    order(f, &f->lead, NULL, FD_OK, &a);
    gh_job *j = take_job();
    merge_answer(j, status, body);
    if (status == 409)
        set_reply(&j->pr, 200, pr_json("open", 0, "true", SHA_B));
    size_t mark = json_array_size(f->events);
    j->done(j);
    assert_int_equal(a.called, 1);
    if (a.e != want_err)
        fail_msg("status %ld: %s, want %s", status, fd_err_name(a.e), fd_err_name(want_err));
    assert_string_equal(json_string_value(json_object_get(a.extra, "outcome")), want_outcome);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a.extra, "go_around"), "state")),
        "failed");
    if (status == 409) {
        assert_string_equal(json_string_value(json_object_get(a.extra, "head_sha")), SHA_B);
        assert_non_null(strstr(a.detail, "bbbbbbbbbbbb"));
        assert_int_equal(nqueued, 1); /* a check starts at once: the rollback disarms */
    }
    answer_clear(&a);
    char acts[128];
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "go_around.failed");
    json_t *m = migration(f);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "in_flight");
    json_decref(m);
    land(f);
}

static void merge_failures_are_clear_and_audited(void **state)
{
    (void)state;
    failed_merge(405, "{\"message\": \"Pull Request is not mergeable\"}", FD_E_CONFLICT,
                 "not_mergeable");
    failed_merge(409, "{\"message\": \"Head branch was modified\"}", FD_E_CONFLICT, "head_changed");
    failed_merge(422, "{\"message\": \"Merge commits are not allowed\"}", FD_E_CONFLICT,
                 "unprocessable");
    failed_merge(401, "{\"message\": \"Bad credentials\"}", FD_E_UNAVAILABLE, "token_rejected");
    failed_merge(403, "{\"message\": \"Resource not accessible\"}", FD_E_UNAVAILABLE,
                 "no_permission");
    failed_merge(404, "{\"message\": \"Not Found\"}", FD_E_CONFLICT, "pr_not_found");
    failed_merge(0, NULL, FD_E_UNAVAILABLE, "github_unavailable");
    failed_merge(502, "{\"message\": \"Bad gateway\"}", FD_E_UNAVAILABLE, "github_unavailable");
}

static void never_merges_twice(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    answer a = {0}, b = {0};
    order(f, &f->lead, NULL, FD_OK, &a);
    fd_actor other;
    fix_actor(&other, "otto", "Otto Lead", FD_ROLE_LEAD);
    order(f, &other, NULL, FD_E_CONFLICT, &b); /* a second request while the first merges */
    assert_int_equal(nqueued, 1);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *body = json_pack("{s:s,s:i}", "repo", "acme/infra", "pr", 43);
    EXPECT(FD_E_CONFLICT, rollback_arm(f->st, &ctx, MID, body, on_done, &b)); /* nor re-arming */
    json_decref(body);
    fd_problem_clear(&ctx.problem);

    /* the merge call went unanswered, a later read showed the PR merged: that is success */
    gh_job *j = take_job();
    set_reply(&j->merge, 0, NULL);
    j->merge_calls = 1;
    j->merged_after_retry = 1;
    set_reply(&j->pr, 200, pr_json("closed", 1, "null", SHA_A));
    j->done(j);
    assert_int_equal(a.e, FD_OK);
    assert_string_equal(json_string_value(json_object_get(a.doc, "merge_sha")), SHA_M);
    answer_clear(&a);
    assert_int_equal(b.called, 0);
    land(f);

    /* the PR was already merged when the go-around began (an earlier, interrupted attempt) */
    f = flying();
    arm_ok(f, 0);
    order(f, &f->lead, NULL, FD_OK, &a);
    j = take_job();
    set_reply(&j->pr, 200, pr_json("closed", 1, "null", SHA_A));
    j->done(j);
    assert_int_equal(a.e, FD_OK);
    assert_string_equal(json_string_value(json_object_get(a.doc, "state")), "merged");
    answer_clear(&a);
    land(f);
}

static void idempotency_key_replays_the_outcome(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    answer a = {0};
    assert_null(order(f, &f->lead, "key-1", FD_OK, &a));
    gh_job *j = take_job();
    merge_answer(j, 200, "{\"sha\": \"" SHA_M "\", \"merged\": true}");
    j->done(j);
    answer_clear(&a);
    json_t *again = order(f, &f->lead, "key-1", FD_OK, &a); /* the bot retries */
    assert_non_null(again);
    assert_string_equal(json_string_value(json_object_get(again, "merge_sha")), SHA_M);
    json_decref(again);
    assert_int_equal(nqueued, 0);
    assert_int_equal(a.called, 0);
    land(f);
}

static void second_lead_confirms_in_time(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 1);
    answer a = {0};
    json_t *pending = order(f, &f->lead, NULL, FD_OK, &a);
    assert_non_null(pending);
    assert_string_equal(json_string_value(json_object_get(pending, "state")), "pending");
    int64_t id = json_integer_value(json_object_get(pending, "id"));
    json_decref(pending);
    assert_int_equal(nqueued, 0); /* nothing merges on one lead's word */
    assert_null(order(f, &f->lead, NULL, FD_E_CONFLICT, &a)); /* already waiting */

    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    EXPECT(FD_E_FORBIDDEN, goaround_confirm(f->st, &ctx, MID, id, on_done, &a, &out));
    fd_problem_clear(&ctx.problem);
    fd_actor other;
    fix_actor(&other, "otto", "Otto Lead", FD_ROLE_LEAD);
    fd_ctx_init(&ctx, &other, NULL);
    f->now += 60000;
    EXPECT(FD_OK, goaround_confirm(f->st, &ctx, MID, id, on_done, &a, &out));
    assert_null(out);
    gh_job *j = take_job();
    merge_answer(j, 200, "{\"sha\": \"" SHA_M "\", \"merged\": true}");
    j->done(j);
    assert_int_equal(a.e, FD_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a.doc, "confirmed_by"), "sub")), "otto");
    answer_clear(&a);
    land(f);

    /* nobody confirms within 120 s: expired, audited, nothing merged */
    f = flying();
    arm_ok(f, 1);
    pending = order(f, &f->lead, NULL, FD_OK, &a);
    id = json_integer_value(json_object_get(pending, "id"));
    json_decref(pending);
    f->now += GOAROUND_CONFIRM_MS + 1;
    size_t mark = json_array_size(f->events);
    fd_ctx_init(&ctx, &other, NULL);
    EXPECT(FD_E_CONFLICT, goaround_confirm(f->st, &ctx, MID, id, on_done, &a, &out));
    assert_non_null(strstr(ctx.problem.detail, "expired"));
    fd_problem_clear(&ctx.problem);
    char acts[64];
    actions_since(f, mark, acts, sizeof acts);
    assert_string_equal(acts, "go_around.expired");
    assert_int_equal(nqueued, 0);
    land(f);
}

/* ---- the REST handler waits for GitHub ---- */

static fake_conn *handler_goaround(fixture *f, const fd_actor *actor)
{
    fake_conn *fc = fake_new("POST", "/api/migrations/msk/go-around",
                             "{\"reason\": \"consumer lag above 5 min\"}");
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.st = f->st;
    c.actor = actor;
    c.request_id = "req-http";
    c.params[0] = MID;
    c.nparams = 1;
    fd_ctx_init(&c.ctx, actor, "req-http");
    api_goaround(&c);
    fd_problem_clear(&c.ctx.problem);
    return fc;
}

static void handler_answers_when_github_has(void **state)
{
    (void)state;
    fixture *f = flying();
    arm_ok(f, 0);
    fake_conn *fc = handler_goaround(f, &f->lead);
    assert_int_equal(fc->complete, 0); /* the loop is free while GitHub works */
    gh_job *j = take_job();
    merge_answer(j, 405, "{\"message\": \"Pull Request is not mergeable\"}");
    j->done(j);
    assert_int_equal(fc->complete, 1);
    assert_int_equal(fc->req.res.status, 409);
    assert_non_null(strstr(fc->body, "\"outcome\":\"not_mergeable\""));
    assert_non_null(strstr(fc->body, "\"request_id\":\"req-http\""));
    fake_free(fc);

    /* the client goes away before GitHub answers: the answer is dropped, the merge recorded */
    fc = handler_goaround(f, &f->lead);
    assert_int_equal(fc->complete, 0);
    fake_free(fc);
    j = take_job();
    merge_answer(j, 200, "{\"sha\": \"" SHA_M "\", \"merged\": true}");
    j->done(j);
    json_t *m = migration(f);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "go_around");
    json_decref(m);

    /* a refusal is answered at once */
    fc = handler_goaround(f, &f->alice);
    assert_int_equal(fc->complete, 1);
    assert_int_equal(fc->req.res.status, 403);
    fake_free(fc);
    land(f);
}

static int group_setup(void **state)
{
    (void)state;
    fake_h2o_setup();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_h2o_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthy_pr_is_armed),
        cmocka_unit_test(each_fault_disarms_with_its_reason),
        cmocka_unit_test(reviews_latest_per_reviewer_counts),
        cmocka_unit_test(checks_and_statuses_must_be_green),
        cmocka_unit_test(token_problems_disarm),
        cmocka_unit_test(arming_records_the_approved_head),
        cmocka_unit_test(arming_refusals),
        cmocka_unit_test(checks_audit_changes_of_the_armed_state),
        cmocka_unit_test(timer_rechecks_what_is_due),
        cmocka_unit_test(go_around_merges_the_approved_sha_and_stops_landing),
        cmocka_unit_test(abort_after_go_around),
        cmocka_unit_test(merge_failures_are_clear_and_audited),
        cmocka_unit_test(never_merges_twice),
        cmocka_unit_test(idempotency_key_replays_the_outcome),
        cmocka_unit_test(second_lead_confirms_in_time),
        cmocka_unit_test(handler_answers_when_github_has),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
