/*
 * test_goaround.c - the go-around through flightdeck's API, against a fake GitHub on loopback
 * (fake_github.c) that plays each scenario: healthy, not mergeable, head moved, review
 * withdrawn, checks failing, "mergeable": null then true, 502 then success, a timeout after which
 * the PR turns out merged, a bad token. The fake records what flightdeck asked, so the tests
 * assert what a GitHub owner would care about: the merge was called once, with the approved SHA
 * and the right token, and never twice.
 *
 * Each test starts its own server (its own database) pointed at the fake with
 * FLIGHTDECK_GITHUB_API.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_github.h"

#define MID "msk"

static fake_github *gh;
static char *admin_tok, *lead_tok, *lead2_tok, *eng_tok;

typedef struct world {
    h_server s;
} world;

static const char *const PLAN =
    "{\"id\": \"msk\", \"title\": \"Replace the MSK cluster\", \"owner_team\": \"data-stream\","
    " \"stages\": [{\"key\": \"takeoff\", \"title\": \"Take-off\", \"steps\": ["
    "   {\"title\": \"Mirror topics\"}, {\"title\": \"Switch producers\"}]},"
    "  {\"key\": \"landing\", \"title\": \"Landing\"},"
    "  {\"key\": \"shutdown\", \"title\": \"Shutdown\"}]}";

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POST/PUT `body` (JSON text) and expect `status`; returns the response (caller frees). */
static void call(world *w, const char *method, const char *path, const char *token,
                 const char *body, long status, h_resp *r)
{
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    h_req(&w->s, method, path, token, body, body ? (size_t)-1 : 0, hdrs, r);
    if (r->status != status) {
        h_dump_logs(&w->s);
        fail_msg("%s %s: %ld, want %ld: %.600s", method, path, r->status, status, r->body);
    }
}

static void call_ok(world *w, const char *method, const char *path, const char *token,
                    const char *body, long status)
{
    h_resp r;
    call(w, method, path, token, body, status, &r);
    h_resp_free(&r);
}

/* Start flightdeck against the fake (check_seconds: the re-check interval; timeout_s: per call),
 * then create the team and the migration, and take off. */
static void start_world(world *w, int check_seconds, int timeout_s)
{
    char api[128], every[64], timeout[64];
    snprintf(api, sizeof api, "FLIGHTDECK_GITHUB_API=%s", fg_url(gh));
    snprintf(every, sizeof every, "FLIGHTDECK_ROLLBACK_CHECK_SECONDS=%d", check_seconds);
    snprintf(timeout, sizeof timeout, "FLIGHTDECK_GITHUB_TIMEOUT_SECONDS=%d", timeout_s);
    const char *env[] = {api, "FLIGHTDECK_GITHUB_TOKEN=" FG_TOKEN, every, timeout, NULL};
    if (h_start(&w->s, NULL, env) != 0) {
        h_dump_logs(&w->s);
        fail_msg("the server did not start (exit %d)", w->s.exit_code);
    }
    call_ok(w, "POST", "/api/teams", admin_tok,
            "{\"slug\": \"data-stream\", \"name\": \"Data Stream\"}", 201);
    call_ok(w, "POST", "/api/migrations", lead_tok, PLAN, 201);
    call_ok(w, "POST", "/api/migrations/" MID "/start", lead_tok,
            "{\"override_reason\": \"integration test of the go-around\"}", 200);
}

/* Arm acme/infra#42 (squash); expects the answer `status` and returns it. */
static void arm(world *w, const char *extra, long status, h_resp *r)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"repo\": \"acme/infra\", \"pr\": 42, \"merge_method\": \"squash\"%s}",
             extra ? extra : "");
    call(w, "PUT", "/api/migrations/" MID "/rollback", lead_tok, body, status, r);
}

static void arm_ok(world *w)
{
    h_resp r;
    arm(w, NULL, 200, &r);
    assert_true(json_is_true(json_object_get(r.json, "armed")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "pr"), "approved_sha")),
        FG_SHA_A);
    h_resp_free(&r);
}

/* GET rollback?refresh=1: armed and the first reason's code ("" when armed). */
static int refresh(world *w, char code[64])
{
    h_resp r;
    call(w, "GET", "/api/migrations/" MID "/rollback?refresh=1", eng_tok, NULL, 200, &r);
    int armed = json_is_true(json_object_get(r.json, "armed"));
    const char *c = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "reasons"), 0), "code"));
    snprintf(code, 64, "%s", c ? c : "");
    h_resp_free(&r);
    return armed;
}

static void go_around(world *w, const char *token, long status, h_resp *r)
{
    call(w, "POST", "/api/migrations/" MID "/go-around", token,
         "{\"reason\": \"consumer lag above 5 minutes\"}", status, r);
}

static const char *migration_status(world *w, char out[32])
{
    json_t *m = h_get_migration(&w->s, eng_tok, MID);
    snprintf(out, 32, "%s", json_string_value(json_object_get(m, "status")));
    json_decref(m);
    return out;
}

/* 1 when the migration's audit holds an event `action`. */
static int audit_has(world *w, const char *action)
{
    h_resp r;
    call(w, "GET", "/api/migrations/" MID "/audit?format=json", eng_tok, NULL, 200, &r);
    int found = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(r.json, i, ev)
    {
        found |= strcmp(json_string_value(json_object_get(ev, "action")), action) == 0;
    }
    h_resp_free(&r);
    return found;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
    (void)state;
    h_init();
    gh = fg_start();
    if (gh == NULL)
        return -1;
    admin_tok = h_token("root", "Ada Admin", "admin", NULL);
    lead_tok = h_token("lena", "Lena Lead", "lead", "data-stream");
    lead2_tok = h_token("otto", "Otto Lead", "lead", "data-stream");
    eng_tok = h_token("alice", "Alice", "engineer", "data-stream");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fg_stop(gh);
    free(admin_tok);
    free(lead_tok);
    free(lead2_tok);
    free(eng_tok);
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (w == NULL || h_server_init(&w->s) != 0)
        return -1;
    fg_reset(gh);
    *state = w;
    return 0;
}

/* 1 when the server's log holds a sanitizer report. */
static int log_has_sanitizer_report(const h_server *s)
{
    FILE *f = fopen(s->err_log, "r");
    char line[4096];
    int found = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        found |= strstr(line, "AddressSanitizer") != NULL ||
                 strstr(line, "runtime error") != NULL || strstr(line, "LeakSanitizer") != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* A clean stop (SIGTERM, exit 0, no sanitizer report) is part of every scenario: a go-around in
 * any state must not leave the server unable to shut down. */
static int teardown(void **state)
{
    world *w = *state;
    int rc = 0;
    if (w->s.pid > 0 && (h_stop(&w->s, SIGTERM, 10000) != 0 || w->s.exit_code != 0)) {
        fprintf(stderr, "the server did not stop cleanly (exit %d)\n", w->s.exit_code);
        rc = -1;
    }
    if (log_has_sanitizer_report(&w->s)) {
        fprintf(stderr, "the server's log holds a sanitizer report\n");
        rc = -1;
    }
    if (rc != 0)
        h_dump_logs(&w->s);
    h_destroy(&w->s);
    free(w);
    return rc;
}

/* ---- scenarios ---- */

/* The value of one series in GET /metrics (exact name with labels), or -1 when absent. */
static double metric(world *w, const char *series)
{
    h_resp r;
    call(w, "GET", "/metrics", NULL, NULL, 200, &r);
    double v = -1;
    size_t n = strlen(series);
    for (const char *p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
    h_resp_free(&r);
    return v;
}

static void healthy_go_around_merges_once_with_the_approved_sha(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    json_t *m = h_get_migration(&w->s, eng_tok, MID);
    assert_true(json_is_true(json_object_get(json_object_get(m, "rollback"), "armed")));
    json_decref(m);

    h_resp r;
    go_around(w, lead_tok, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "merged");
    assert_string_equal(json_string_value(json_object_get(r.json, "merge_sha")), FG_MERGE_SHA);
    assert_null(strstr(r.body, FG_TOKEN));
    h_resp_free(&r);

    /* GitHub saw exactly one merge: the approved SHA, our token, a title naming the migration */
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 1);
    fg_request req;
    int found = 0;
    for (int i = 0; fg_request_at(gh, i, &req) == 0; i++) {
        if (strcmp(req.method, "PUT") != 0)
            continue;
        found = 1;
        assert_string_equal(req.auth, "Bearer " FG_TOKEN);
        json_t *body = json_loads(req.body, 0, NULL);
        assert_non_null(body);
        assert_string_equal(json_string_value(json_object_get(body, "sha")), FG_SHA_A);
        assert_string_equal(json_string_value(json_object_get(body, "merge_method")), "squash");
        assert_non_null(strstr(json_string_value(json_object_get(body, "commit_title")),
                               "flightdeck go-around: msk"));
        json_decref(body);
    }
    assert_true(found);

    char st[32];
    assert_string_equal(migration_status(w, st), "go_around");
    assert_true(audit_has(w, "go_around.merged"));
    /* the team running flightdeck sees GitHub's answers on its own six-pack */
    assert_true(metric(w, "flightdeck_github_calls_total{outcome=\"ok\"}") >= 2);
    assert_int_equal((int)metric(w, "flightdeck_github_calls_total{outcome=\"no_answer\"}"), 0);

    /* a second go-around is refused without asking GitHub; landing re-opens */
    go_around(w, lead_tok, 409, &r);
    h_resp_free(&r);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 1);
    call_ok(w, "POST", "/api/migrations/" MID "/landing/reopen", lead_tok, NULL, 200);
    assert_string_equal(migration_status(w, st), "in_flight");

    /* the token is in no answer and no log line */
    h_resp g;
    call(w, "GET", "/api/migrations/" MID "/rollback", eng_tok, NULL, 200, &g);
    assert_null(strstr(g.body, FG_TOKEN));
    h_resp_free(&g);
    assert_int_equal(h_stop(&w->s, SIGTERM, 5000), 0);
    assert_int_equal(w->s.exit_code, 0);
    FILE *f = fopen(w->s.err_log, "r");
    char line[4096];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        assert_null(strstr(line, FG_TOKEN));
    if (f != NULL)
        fclose(f);
}

static void not_mergeable_is_a_clear_refusal(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    fg_lock(gh)->mergeable = 0;
    fg_unlock(gh);
    char code[64];
    assert_false(refresh(w, code));
    assert_string_equal(code, "not_mergeable");

    h_resp r;
    go_around(w, lead_tok, 409, &r);
    H_PROBLEM(&r, 409);
    assert_string_equal(json_string_value(json_object_get(r.json, "outcome")), "not_mergeable");
    h_resp_free(&r);
    assert_true(audit_has(w, "go_around.failed"));
    char st[32];
    assert_string_equal(migration_status(w, st), "in_flight");
}

static void head_moved_is_refused_and_shows_the_new_sha(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    fg_scenario *sc = fg_lock(gh);
    snprintf(sc->head_sha, sizeof sc->head_sha, "%s", FG_SHA_B); /* pushed after approval */
    fg_unlock(gh);

    h_resp r;
    go_around(w, lead_tok, 409, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "outcome")), "head_changed");
    assert_string_equal(json_string_value(json_object_get(r.json, "head_sha")), FG_SHA_B);
    assert_string_equal(json_string_value(json_object_get(r.json, "approved_sha")), FG_SHA_A);
    h_resp_free(&r);
    assert_int_equal(fg_lock(gh)->merged, 0);
    fg_unlock(gh);

    char code[64];
    assert_false(refresh(w, code));
    assert_string_equal(code, "head_moved");
    /* re-arming approves the new head, explicitly and audited */
    arm(w, NULL, 200, &r);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "pr"), "approved_sha")),
        FG_SHA_B);
    h_resp_free(&r);
    go_around(w, lead_tok, 200, &r);
    h_resp_free(&r);
}

static void review_withdrawn_disarms_on_the_timer(void **state)
{
    world *w = *state;
    start_world(w, 1, 10);
    arm_ok(w);
    fg_scenario *sc = fg_lock(gh);
    snprintf(sc->reviews, sizeof sc->reviews,
             "[{\"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\"},"
             " {\"user\": {\"login\": \"carol\"}, \"state\": \"CHANGES_REQUESTED\"}]");
    fg_unlock(gh);
    /* nobody asks: the timer notices, and the event is in the audit (and so on the stream) */
    int disarmed = 0;
    for (int i = 0; i < 200 && !disarmed; i++) {
        sleep_ms(100);
        disarmed = audit_has(w, "rollback.disarmed");
    }
    assert_true(disarmed);
    h_resp r;
    call(w, "GET", "/api/migrations/" MID "/rollback", eng_tok, NULL, 200, &r);
    assert_false(json_is_true(json_object_get(r.json, "armed")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "reasons"), 0), "code")),
                        "changes_requested");
    assert_non_null(strstr(r.body, "carol"));
    h_resp_free(&r);
}

static void failing_checks_disarm(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    fg_scenario *sc = fg_lock(gh);
    snprintf(sc->checks, sizeof sc->checks,
             "{\"total_count\": 1, \"check_runs\": [{\"name\": \"integration\", \"status\": "
             "\"completed\", \"conclusion\": \"failure\"}]}");
    fg_unlock(gh);
    char code[64];
    assert_false(refresh(w, code));
    assert_string_equal(code, "checks_failing");
    assert_true(audit_has(w, "rollback.disarmed"));
}

static void mergeable_null_is_asked_again(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    fg_lock(gh)->mergeable_nulls = 2;
    fg_unlock(gh);
    int before = fg_count(gh, "GET", "/repos/acme/infra/pulls/42");
    char code[64];
    assert_true(refresh(w, code));
    /* the PR itself was read three times (null, null, true); the prefix also counts reviews */
    assert_true(fg_count(gh, "GET", "/repos/acme/infra/pulls/42") - before >= 4);
}

static void a_502_is_retried_after_checking_the_pr(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    fg_lock(gh)->merge_5xx = 1;
    fg_unlock(gh);
    int first = fg_total(gh);
    h_resp r;
    go_around(w, lead_tok, 200, &r);
    h_resp_free(&r);
    /* PUT (502), GET the PR (not merged), PUT again (200) */
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 2);
    const char *want[] = {"GET", "PUT", "GET", "PUT"};
    int k = 0;
    fg_request req;
    for (int i = first; fg_request_at(gh, i, &req) == 0 && k < 4; i++) {
        if (strcmp(req.path, "/repos/acme/infra/pulls/42") != 0 &&
            strcmp(req.path, "/repos/acme/infra/pulls/42/merge") != 0)
            continue;
        assert_string_equal(req.method, want[k]);
        k++;
    }
    assert_int_equal(k, 4);
}

static void a_timeout_then_merged_is_success_with_one_merge(void **state)
{
    world *w = *state;
    start_world(w, 60, 1); /* each GitHub call may take 1 s */
    arm_ok(w);
    fg_lock(gh)->merge_delay_ms = 2500; /* GitHub merges, but answers too late */
    fg_unlock(gh);
    h_resp r;
    go_around(w, lead_tok, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "merge_sha")), FG_MERGE_SHA);
    h_resp_free(&r);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 1);
    char st[32];
    assert_string_equal(migration_status(w, st), "go_around");
}

static void a_bad_token_is_named(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    snprintf(fg_lock(gh)->token, sizeof(((fg_scenario *)0)->token), "%s", "rotated-token");
    fg_unlock(gh);
    char code[64];
    assert_false(refresh(w, code));
    assert_string_equal(code, "token_rejected");
    h_resp r;
    go_around(w, lead_tok, 503, &r);
    H_PROBLEM(&r, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "outcome")), "token_rejected");
    h_resp_free(&r);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 0);
    assert_true(audit_has(w, "go_around.failed"));
    assert_true(metric(w, "flightdeck_github_calls_total{outcome=\"client_error\"}") >= 1);
}

/* ---- GitHub's slowness and concurrent requests ---- */

typedef struct bg_call {
    world *w;
    const char *token;
    long status;
    char outcome[64];
    atomic_int done;
} bg_call;

static void *bg_go_around(void *arg)
{
    bg_call *b = arg;
    h_resp r;
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    h_req(&b->w->s, "POST", "/api/migrations/" MID "/go-around", b->token,
          "{\"reason\": \"consumer lag above 5 minutes\"}", (size_t)-1, hdrs, &r);
    b->status = r.status;
    h_resp_free(&r);
    atomic_store(&b->done, 1);
    return NULL;
}

/* Wait (bounded) until GitHub has received the merge call. */
static void wait_for_merge_call(void)
{
    for (int i = 0; i < 500 && fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge") == 0; i++)
        sleep_ms(20);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 1);
}

static void slow_github_blocks_nobody_and_merges_once(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    arm_ok(w);
    fg_lock(gh)->merge_delay_ms = 3000;
    fg_unlock(gh);
    bg_call b = {.w = w, .token = lead_tok};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_go_around, &b), 0);
    wait_for_merge_call();

    /* while GitHub sits on the merge: other requests are answered */
    h_resp r;
    call(w, "GET", "/healthz", NULL, NULL, 200, &r);
    h_resp_free(&r);
    call(w, "GET", "/api/migrations/" MID, eng_tok, NULL, 200, &r);
    h_resp_free(&r);
    int go_around_finished_first = atomic_load(&b.done);
    /* a second lead's go-around meanwhile is refused: one merge only */
    go_around(w, lead2_tok, 409, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "outcome")), "in_progress");
    h_resp_free(&r);

    pthread_join(t, NULL);
    assert_false(go_around_finished_first);
    assert_int_equal(b.status, 200);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 1);
}

static void a_second_lead_confirms(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    h_resp r;
    arm(w, ", \"requires_second_lead\": true", 200, &r);
    h_resp_free(&r);
    go_around(w, lead_tok, 202, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "pending");
    char body[64];
    snprintf(body, sizeof body, "{\"id\": %lld}",
             (long long)json_integer_value(json_object_get(r.json, "id")));
    h_resp_free(&r);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 0);

    call(w, "POST", "/api/migrations/" MID "/go-around/confirm", lead_tok, body, 403, &r);
    H_PROBLEM(&r, 403);
    h_resp_free(&r);
    call(w, "POST", "/api/migrations/" MID "/go-around/confirm", lead2_tok, body, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "merged");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "confirmed_by"), "sub")), "otto");
    h_resp_free(&r);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 1);
}

static void refusals_over_http(void **state)
{
    world *w = *state;
    start_world(w, 60, 10);
    h_resp r;
    /* no rollback yet */
    call(w, "GET", "/api/migrations/" MID "/rollback", eng_tok, NULL, 404, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    go_around(w, lead_tok, 409, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    /* engineers may not arm or go around; bad input is named */
    call(w, "PUT", "/api/migrations/" MID "/rollback", eng_tok,
         "{\"repo\": \"acme/infra\", \"pr\": 42}", 403, &r);
    h_resp_free(&r);
    call(w, "PUT", "/api/migrations/" MID "/rollback", lead_tok,
         "{\"repo\": \"not a repo\", \"pr\": 42}", 422, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "repo");
    h_resp_free(&r);
    call(w, "PUT", "/api/migrations/" MID "/rollback", lead_tok,
         "{\"repo\": \"acme/infra\", \"pr\": 7}", 422, &r); /* GitHub: no such PR */
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "pr");
    h_resp_free(&r);
    arm_ok(w);
    go_around(w, eng_tok, 403, &r);
    h_resp_free(&r);
    call(w, "POST", "/api/migrations/" MID "/go-around", lead_tok, "{}", 422, &r);
    h_resp_free(&r);
    assert_int_equal(fg_count(gh, "PUT", "/repos/acme/infra/pulls/42/merge"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(healthy_go_around_merges_once_with_the_approved_sha, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(not_mergeable_is_a_clear_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(head_moved_is_refused_and_shows_the_new_sha, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(review_withdrawn_disarms_on_the_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_checks_disarm, setup, teardown),
        cmocka_unit_test_setup_teardown(mergeable_null_is_asked_again, setup, teardown),
        cmocka_unit_test_setup_teardown(a_502_is_retried_after_checking_the_pr, setup, teardown),
        cmocka_unit_test_setup_teardown(a_timeout_then_merged_is_success_with_one_merge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_bad_token_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_github_blocks_nobody_and_merges_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_lead_confirms, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_over_http, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
