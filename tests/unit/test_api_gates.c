/*
 * test_api_gates.c - the gate routes of api/ in-process (fake h2o connection, in-memory store):
 * briefings, acknowledgements, feedback, stage requirements, sign-offs, the critical-step confirm,
 * and what a bot sees when a gate refuses: a 409 whose body lists exactly what is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/flight.h"
#include "core/store.h"
#include "fake_h2o.h"

static fd_store *st;
static fd_actor admin = {.sub = "root", .name = "Root", .role = FD_ROLE_ADMIN, .source = "api"};
static fd_actor lead = {.sub = "lena", .name = "Lena Lead", .role = FD_ROLE_LEAD, .source = "api"};
static fd_actor alice = {.sub = "alice",
                         .name = "Alice",
                         .role = FD_ROLE_ENGINEER,
                         .source = "web",
                         .nteams = 1,
                         .teams = {"sre"}};
static fd_actor bob = {.sub = "bob",
                       .name = "Bob",
                       .role = FD_ROLE_ENGINEER,
                       .source = "bot",
                       .nteams = 1,
                       .teams = {"data-stream"}};

static const char *const plan_json =
    "{\"id\": \"msk\", \"title\": \"Replace the MSK cluster\", \"owner_team\": \"data-stream\","
    " \"teams\": [\"sre\"],"
    " \"stages\": [{\"key\": \"takeoff\", \"title\": \"Take-off\", \"steps\": ["
    "   {\"title\": \"Freeze deploys\", \"critical\": true}]},"
    "  {\"key\": \"landing\", \"title\": \"Landing\", \"signoffs\": [{\"team\": \"sre\"}],"
    "   \"steps\": [{\"title\": \"Move consumers\"}]}]}";

/* One request through handler `fn` as `actor`; params are the {param} segments in order. */
static fake_conn *run3(api_handler_fn fn, const fd_actor *actor, const char *method,
                       const char *body, const char *p0, const char *p1, const char *p2)
{
    fake_conn *fc = fake_new(method, "/x", body);
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.st = st;
    c.actor = actor;
    c.request_id = "test-req";
    c.params[0] = p0;
    c.params[1] = p1;
    c.params[2] = p2;
    c.nparams = (p0 != NULL) + (p1 != NULL) + (p2 != NULL);
    fd_ctx_init(&c.ctx, actor, "test-req");
    fn(&c);
    assert_true(fc->complete != 0); /* every handler answers */
    fd_problem_clear(&c.ctx.problem);
    return fc;
}

static fake_conn *run(api_handler_fn fn, const fd_actor *actor, const char *method,
                      const char *body, const char *p0, const char *p1)
{
    return run3(fn, actor, method, body, p0, p1, NULL);
}

static json_t *body_json(fake_conn *fc)
{
    json_error_t err;
    json_t *doc = json_loadb(fc->body, fc->body_len, 0, &err);
    if (doc == NULL)
        fail_msg("response body is not JSON (%s): %.200s", err.text, fc->body);
    return doc;
}

static void expect_status(fake_conn *fc, int status)
{
    if (fc->req.res.status != status)
        fail_msg("status %d, want %d: %.400s", fc->req.res.status, status, fc->body);
}

/* Run, check the status, return the body (owned) and free the request. */
static json_t *call(int want, api_handler_fn fn, const fd_actor *actor, const char *method,
                    const char *body, const char *p0, const char *p1)
{
    fake_conn *fc = run(fn, actor, method, body, p0, p1);
    expect_status(fc, want);
    json_t *doc = fc->body_len > 0 ? body_json(fc) : NULL;
    fake_free(fc);
    return doc;
}

static void assert_member(const json_t *doc, const char *key, const char *want_text)
{
    json_error_t err;
    json_t *want = json_loads(want_text, 0, &err);
    assert_non_null(want);
    if (!json_equal(json_object_get(doc, key), want)) {
        char *got = json_dumps(json_object_get(doc, key), JSON_COMPACT);
        fail_msg("%s is %s, want %s", key, got, want_text);
    }
    json_decref(want);
}

static int setup(void **state)
{
    (void)state;
    fd_problem p = {0};
    if (store_open(":memory:", &st, &p) != FD_OK) {
        fprintf(stderr, "store_open: %s\n", p.detail);
        fd_problem_clear(&p);
        return -1;
    }
    json_decref(call(201, api_teams_create, &admin, "POST",
                     "{\"slug\": \"data-stream\", \"name\": \"Data Stream\"}", NULL, NULL));
    json_decref(call(201, api_teams_create, &admin, "POST",
                     "{\"slug\": \"sre\", \"name\": \"SRE\"}", NULL, NULL));
    json_decref(call(201, api_migrations_create, &lead, "POST", plan_json, NULL, NULL));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(st);
    st = NULL;
    return 0;
}

static int64_t first_step(const char *stage)
{
    json_t *m = call(200, api_migration_get, &lead, "GET", NULL, "msk", NULL);
    int64_t id = -1;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        if (strcmp(json_string_value(json_object_get(g, "key")), stage) == 0)
            id = json_integer_value(
                json_object_get(json_array_get(json_object_get(g, "steps"), 0), "id"));
    }
    json_decref(m);
    return id;
}

/* ---- briefings, acknowledgements, feedback, and the start gate ---- */

static void test_briefings_hold_the_start(void **state)
{
    (void)state;
    fake_conn *fc = run(api_briefings_create, &lead, "POST",
                        "{\"title\": \"Take-off briefing\", \"at\": \"2026-03-09T15:00:00Z\","
                        " \"teams\": [\"sre\", \"data-stream\"]}",
                        "msk", NULL);
    expect_status(fc, 201);
    char *loc = fake_res_header(fc, "location");
    json_t *b = body_json(fc);
    char bid[24];
    snprintf(bid, sizeof bid, "%lld", (long long)json_integer_value(json_object_get(b, "id")));
    char want[96];
    snprintf(want, sizeof want, "/api/migrations/msk/briefings/%s", bid);
    assert_string_equal(loc, want);
    free(loc);
    assert_member(b, "acks", "[]");
    json_decref(b);
    fake_free(fc);

    /* briefing teams must be affected teams; unknown fields are 400 */
    json_decref(call(422, api_briefings_create, &lead, "POST",
                     "{\"title\": \"x\", \"at\": \"2026-03-09T15:00:00Z\", \"teams\": [\"dba\"]}",
                     "msk", NULL));
    json_decref(call(400, api_briefings_create, &lead, "POST",
                     "{\"title\": \"x\", \"at\": \"2026-03-09T15:00:00Z\", \"teams\": [\"sre\"],"
                     " \"colour\": 1}",
                     "msk", NULL));

    /* the start refusal lists what is missing, machine-readable */
    json_t *p = call(409, api_migration_start, &lead, "POST", NULL, "msk", NULL);
    assert_member(
        p, "missing",
        "[{\"team\": \"data-stream\", \"need\": 1, \"have\": 0,"
        "  \"reason\": \"no acknowledgement\"},"
        " {\"team\": \"sre\", \"need\": 1, \"have\": 0, \"reason\": \"no acknowledgement\"}]");
    assert_member(p, "unresolved_feedback", "[]");
    assert_member(p, "signoffs_missing", "[]");
    assert_string_equal(json_string_value(json_object_get(p, "stage")), "takeoff");
    json_decref(p);

    /* acknowledgements: a member for their team; anything else is refused */
    json_decref(
        call(403, api_briefing_ack, &alice, "POST", "{\"team\": \"data-stream\"}", "msk", bid));
    json_decref(call(404, api_briefing_ack, &alice, "POST", "{\"team\": \"sre\"}", "msk", "nope"));
    b = call(200, api_briefing_ack, &alice, "POST", "{\"team\": \"sre\", \"comment\": \"ok\"}",
             "msk", bid);
    json_t *ack = json_array_get(json_object_get(b, "acks"), 0);
    assert_string_equal(json_string_value(json_object_get(ack, "team")), "sre");
    assert_true(json_is_false(json_object_get(ack, "stale")));
    json_decref(b);
    json_decref(call(409, api_briefing_ack, &alice, "POST", "{\"team\": \"sre\"}", "msk", bid));
    json_decref(
        call(200, api_briefing_ack, &bob, "POST", "{\"team\": \"data-stream\"}", "msk", bid));

    /* feedback holds take-off until a lead resolves it */
    fc = run(api_feedback_add, &bob, "POST", "{\"text\": \"who pages the DBAs?\"}", "msk", bid);
    expect_status(fc, 201);
    json_t *fb = body_json(fc);
    char fid[24];
    snprintf(fid, sizeof fid, "%lld", (long long)json_integer_value(json_object_get(fb, "id")));
    json_decref(fb);
    fake_free(fc);
    json_t *list = call(200, api_feedback_list, &alice, "GET", NULL, "msk", bid);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    p = call(409, api_migration_start, &lead, "POST", "{}", "msk", NULL);
    assert_member(p, "missing", "[]");
    json_t *open = json_object_get(p, "unresolved_feedback");
    assert_int_equal(json_array_size(open), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "text")),
                        "who pages the DBAs?");
    json_decref(p);
    fc = run3(api_feedback_resolve, &alice, "POST", "{\"resolution\": \"x\"}", "msk", bid, fid);
    expect_status(fc, 403);
    fake_free(fc);
    fc = run3(api_feedback_resolve, &lead, "POST", "{\"resolution\": \"Lena pages them\"}", "msk",
              bid, fid);
    expect_status(fc, 200);
    fb = body_json(fc);
    assert_true(json_is_true(json_object_get(fb, "resolved")));
    json_decref(fb);
    fake_free(fc);

    json_t *briefings = call(200, api_briefings_list, &alice, "GET", NULL, "msk", NULL);
    assert_int_equal(json_array_size(json_object_get(briefings, "items")), 1);
    json_decref(briefings);
    json_t *m = call(200, api_migration_start, &lead, "POST", NULL, "msk", NULL);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "in_flight");
    json_decref(m);
    json_decref(call(200, api_briefing_get, &alice, "GET", NULL, "msk", bid));
}

/* ---- stage requirements, sign-offs, the gate on completing a stage ---- */

static void test_signoffs_and_the_stage_gate(void **state)
{
    (void)state;
    /* requirements are edited before the stage begins */
    json_decref(call(422, api_stage_patch, &lead, "PATCH", "{\"signoffs\": [{\"team\": \"dba\"}]}",
                     "msk", "landing"));
    json_t *m = call(200, api_stage_patch, &lead, "PATCH",
                     "{\"signoffs\": [{\"team\": \"sre\"}, {\"team\": \"data-stream\"}],"
                     " \"expected_minutes\": 30}",
                     "msk", "landing");
    assert_int_equal(json_integer_value(json_object_get(m, "plan_rev")), 2);
    json_decref(m);
    json_decref(call(200, api_migration_start, &lead, "POST", NULL, "msk", NULL));
    json_decref(
        call(409, api_stage_patch, &lead, "PATCH", "{\"title\": \"Go\"}", "msk", "takeoff"));

    /* a go from Alice for sre; Bob is not in sre */
    json_decref(call(403, api_signoffs_create, &bob, "POST",
                     "{\"team\": \"sre\", \"decision\": \"go\"}", "msk", "landing"));
    fake_conn *fc = run(api_signoffs_create, &alice, "POST",
                        "{\"team\": \"sre\", \"decision\": \"go\", \"comment\": \"lag is zero\"}",
                        "msk", "landing");
    expect_status(fc, 201);
    json_t *so = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(so, "decision")), "go");
    assert_true(json_is_false(json_object_get(so, "stale")));
    assert_member(json_object_get(so, "gate"), "missing",
                  "[{\"team\": \"data-stream\", \"need\": 1, \"have\": 0,"
                  "  \"reason\": \"no sign-off\"}]");
    json_decref(so);
    fake_free(fc);

    /* the critical take-off step needs a second person */
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)first_step("takeoff"));
    json_t *step = call(200, api_step_tick, &alice, "POST", NULL, "msk", sid);
    assert_string_equal(json_string_value(json_object_get(step, "status")),
                        "awaiting_confirmation");
    json_decref(step);
    json_t *p = call(403, api_step_confirm, &alice, "POST", NULL, "msk", sid);
    assert_string_equal(json_string_value(json_object_get(p, "detail")),
                        "a critical step needs a second person: someone other than Alice must "
                        "confirm");
    json_decref(p);
    step = call(200, api_step_confirm, &bob, "POST", "{\"note\": \"checked\"}", "msk", sid);
    assert_string_equal(json_string_value(json_object_get(step, "status")), "done");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(step, "confirmed_by"), "name")), "Bob");
    json_decref(step);
    json_decref(call(409, api_step_confirm, &lead, "POST", NULL, "msk", sid));
    json_decref(call(404, api_step_confirm, &bob, "POST", NULL, "msk", "abc"));

    /* completing take-off begins landing: its gate lists exactly what is missing */
    p = call(409, api_stage_complete, &lead, "POST", NULL, "msk", "takeoff");
    assert_member(p, "missing",
                  "[{\"team\": \"data-stream\", \"need\": 1, \"have\": 0,"
                  "  \"reason\": \"no sign-off\"}]");
    assert_string_equal(json_string_value(json_object_get(p, "stage")), "landing");
    json_decref(p);
    json_decref(
        call(400, api_stage_complete, &lead, "POST", "{\"force\": true}", "msk", "takeoff"));

    json_t *list = call(200, api_signoffs_list, &bob, "GET", NULL, "msk", "landing");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    assert_true(json_is_false(json_object_get(json_object_get(list, "gate"), "satisfied")));
    json_decref(list);
    json_decref(call(404, api_signoffs_list, &bob, "GET", NULL, "msk", "cruise"));

    json_decref(call(201, api_signoffs_create, &bob, "POST",
                     "{\"team\": \"data-stream\", \"decision\": \"go\"}", "msk", "landing"));
    m = call(200, api_stage_complete, &lead, "POST", NULL, "msk", "takeoff");
    assert_string_equal(json_string_value(json_object_get(m, "current_stage")), "landing");
    json_t *landing = json_array_get(json_object_get(m, "stages"), 1);
    json_t *timing = json_object_get(landing, "timing");
    assert_int_equal(json_integer_value(json_object_get(timing, "expected_minutes")), 30);
    assert_true(json_is_false(json_object_get(timing, "overdue")));
    json_decref(m);
}

static void test_override_is_a_lead_decision(void **state)
{
    (void)state;
    json_decref(call(201, api_briefings_create, &lead, "POST",
                     "{\"title\": \"B\", \"at\": \"2026-03-09T15:00:00Z\", \"teams\": [\"sre\"]}",
                     "msk", NULL));
    json_decref(call(403, api_migration_start, &alice, "POST", "{\"override_reason\": \"let me\"}",
                     "msk", NULL));
    json_t *m = call(200, api_migration_start, &lead, "POST",
                     "{\"override_reason\": \"briefed by phone\"}", "msk", NULL);
    json_t *ov = json_array_get(json_object_get(m, "gate_overrides"), 0);
    assert_string_equal(json_string_value(json_object_get(ov, "kind")), "start");
    assert_string_equal(json_string_value(json_object_get(ov, "reason")), "briefed by phone");
    json_decref(m);
    /* an admin signs for a team they are not in only with a reason */
    json_decref(call(403, api_signoffs_create, &admin, "POST",
                     "{\"team\": \"sre\", \"decision\": \"go\"}", "msk", "landing"));
    json_decref(call(201, api_signoffs_create, &admin, "POST",
                     "{\"team\": \"sre\", \"decision\": \"go\", \"override_reason\": \"on-call "
                     "asleep\"}",
                     "msk", "landing"));
}

int main(void)
{
    fake_h2o_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_briefings_hold_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signoffs_and_the_stage_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_is_a_lead_decision, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fake_h2o_teardown();
    return failed;
}
