/*
 * test_gates_http.c - the gates over HTTP, as a crew meets them: a briefing acknowledged by every
 * affected team and made stale by a plan edit, a start refused with exactly what is missing and
 * then overridden with a written reason; a go/no-go quorum of two people, one person refused for
 * a second team, an outsider refused, a no-go blocking the next stage; a critical step that only
 * a second person can confirm; and the flight clock's overdue events on the live stream.
 *
 * One server for the whole file, with a short flight-clock period (FLIGHTDECK_OVERDUE_CHECK_MS)
 * so an overdue step is noticed within a moment. Each test flies its own migration.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 15000 /* a generous bound on "the clock noticed"; never asserted as a time */

static h_server g_srv;
static char *g_admin, *g_lead, *g_dan, *g_sam, *g_sue, *g_pat, *g_bo, *g_vera;

static int setup(void **state)
{
    (void)state;
    h_init();
    const char *env[] = {"FLIGHTDECK_OVERDUE_CHECK_MS=200", NULL};
    if (h_server_init(&g_srv) != 0 || h_start(&g_srv, NULL, env) != 0) {
        h_dump_logs(&g_srv);
        h_destroy(&g_srv);
        return -1;
    }
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_lead = h_token("lena", "Lena Lead", "lead", "data-stream");
    g_dan = h_token("dan", "Dan", "engineer", "data-stream");
    g_sam = h_token("sam", "Sam", "engineer", "sre");
    g_sue = h_token("sue", "Sue", "engineer", "sre");
    g_pat = h_token("pat", "Pat", "engineer", "cloud-platform");
    g_bo = h_token("bo", "Bo", "engineer", "sre,cloud-platform");
    g_vera = h_token("vera", "Vera", "viewer", "sre");
    h_create_demo_teams(&g_srv, g_admin);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = 0;
    /* a clean stop (exit 0) also means the flight clock's timer was taken down properly, and,
     * in the sanitizer build, that nothing leaked */
    if (g_srv.pid > 0 && (h_stop(&g_srv, SIGTERM, 5000) != 0 || g_srv.exit_code != 0)) {
        fprintf(stderr, "server did not stop cleanly (exit %d)\n", g_srv.exit_code);
        h_dump_logs(&g_srv);
        rc = -1;
    }
    h_destroy(&g_srv);
    char *tokens[] = {g_admin, g_lead, g_dan, g_sam, g_sue, g_pat, g_bo, g_vera};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        free(tokens[i]);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* POST `body` (JSON text or NULL) to `path` as `token`; the caller frees r. */
static long post(const char *path, const char *token, const char *body, h_resp *r)
{
    return h_req(&g_srv, "POST", path, token, body, (size_t)-1, NULL, r);
}

/* POST and insist on `status`, then free the answer. */
static void post_expect(const char *path, const char *token, const char *body, long status)
{
    h_resp r;
    post(path, token, body, &r);
    if (status >= 400)
        H_PROBLEM(&r, status);
    else
        H_EXPECT(&r, status);
    h_resp_free(&r);
}

/* Create a migration from a plan given as JSON text (as the lead). */
static void create_plan(const char *plan)
{
    post_expect("/api/migrations", g_lead, plan, 201);
}

/* The stage `key` of a migration document (borrowed). */
static json_t *stage_of(const json_t *m, const char *key)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(m, "stages"), i, st)
    {
        if (strcmp(json_string_value(json_object_get(st, "key")), key) == 0)
            return st;
    }
    fail_msg("no stage %s", key);
    return NULL;
}

/* The team entry `team` of a Gate (borrowed). */
static json_t *gate_team(const json_t *gate, const char *team)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(gate, "teams"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "team")), team) == 0)
            return t;
    }
    fail_msg("gate has no team %s", team);
    return NULL;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

/*
 * Assert that a "missing" list is exactly `want` in order: "team:need:have:reason" strings,
 * NULL-terminated (an empty list when want[0] is NULL).
 */
static void expect_missing(const json_t *missing, const char *const *want)
{
    size_t n = 0;
    while (want[n] != NULL)
        n++;
    if (!json_is_array(missing) || json_array_size(missing) != n) {
        char *text = json_dumps(missing, JSON_COMPACT);
        fail_msg("missing %s, want %zu item(s)", text ? text : "(not JSON)", n);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(missing, i);
        char got[200];
        snprintf(got, sizeof got, "%s:%lld:%lld:%s", str(m, "team"),
                 (long long)json_integer_value(json_object_get(m, "need")),
                 (long long)json_integer_value(json_object_get(m, "have")), str(m, "reason"));
        assert_string_equal(got, want[i]);
    }
}

/* How many audit events of `mid` have `action` (and, if actor is not NULL, that actor's sub). */
static int audit_count(const char *mid, const char *action, const char *actor)
{
    h_resp r;
    char *path = h_fmt("/api/migrations/%s/audit?format=json", mid);
    h_req(&g_srv, "GET", path, g_vera, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *events = json_loadb(r.body, r.len, 0, NULL);
    assert_true(json_is_array(events));
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (strcmp(str(ev, "action"), action) != 0)
            continue;
        if (actor == NULL || strcmp(str(json_object_get(ev, "actor"), "sub"), actor) == 0)
            n++;
    }
    json_decref(events);
    h_resp_free(&r);
    free(path);
    return n;
}

/* ---- briefings and the start gate ---------------------------------------------------------- */

#define BRIEF "/api/migrations/brief"

static void test_briefing_acks_stale_and_start_override(void **state)
{
    (void)state;
    create_plan("{\"id\":\"brief\",\"title\":\"Briefed flight\",\"owner_team\":\"data-stream\","
                "\"teams\":[\"data-stream\",\"sre\",\"cloud-platform\"],"
                "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
                "{\"title\":\"Freeze topic creation\",\"expected_minutes\":5},"
                "{\"title\":\"Snapshot consumer offsets\"}]},"
                "{\"key\":\"inflight\",\"title\":\"In-flight\",\"steps\":[{\"title\":\"Watch\"}]}]}");

    /* a plan that never held a briefing flies as before */
    json_t *m = h_get_migration(&g_srv, g_vera, "brief");
    json_t *sg = json_object_get(m, "start_gate");
    assert_true(json_is_true(json_object_get(sg, "satisfied")));
    assert_int_equal(json_integer_value(json_object_get(sg, "briefings")), 0);
    json_int_t rev0 = json_integer_value(json_object_get(m, "plan_rev"));
    json_decref(m);

    /* only a lead calls a briefing */
    const char *briefing = "{\"title\":\"Take-off briefing\",\"at\":\"2026-03-10T18:00:00.000Z\","
                           "\"notes\":\"walk through the plan\","
                           "\"teams\":[\"data-stream\",\"sre\",\"cloud-platform\"]}";
    post_expect(BRIEF "/briefings", g_sam, briefing, 403);
    h_resp r;
    post(BRIEF "/briefings", g_lead, briefing, &r);
    H_EXPECT(&r, 201);
    json_int_t bid = json_integer_value(json_object_get(r.json, "id"));
    char *loc = h_fmt(BRIEF "/briefings/%lld", (long long)bid);
    assert_non_null(h_hdr(&r, "Location"));
    assert_string_equal(h_hdr(&r, "Location"), loc);
    h_resp_free(&r);
    char *acks = h_fmt("%s/acks", loc);
    char *feedback = h_fmt("%s/feedback", loc);

    /* held, so every affected team's acknowledgement is needed now */
    post(BRIEF "/start", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    expect_missing(json_object_get(r.json, "missing"),
                   (const char *const[]){"data-stream:1:0:no acknowledgement",
                                         "sre:1:0:no acknowledgement",
                                         "cloud-platform:1:0:no acknowledgement", NULL});
    assert_string_equal(str(r.json, "stage"), "takeoff");
    h_resp_free(&r);

    /* nobody acknowledges for a team they are not in; viewers do not acknowledge */
    post_expect(acks, g_pat, "{\"team\":\"sre\"}", 403);
    post_expect(acks, g_vera, "{\"team\":\"sre\"}", 403);
    post_expect(acks, g_sam, "{\"team\":\"event-management\"}", 422);

    post(acks, g_sam, "{\"team\":\"sre\",\"comment\":\"paged the on-call\"}", &r);
    H_EXPECT(&r, 200);
    json_t *ack = json_array_get(json_object_get(r.json, "acks"), 0);
    assert_string_equal(str(ack, "team"), "sre");
    assert_string_equal(str(json_object_get(ack, "by"), "sub"), "sam");
    assert_true(json_is_false(json_object_get(ack, "stale")));
    assert_int_equal(json_integer_value(json_object_get(ack, "plan_rev")), rev0);
    h_resp_free(&r);
    post_expect(acks, g_sam, "{\"team\":\"sre\"}", 409); /* the same revision twice */
    post_expect(acks, g_dan, "{\"team\":\"data-stream\"}", 200);
    post_expect(acks, g_pat, "{\"team\":\"cloud-platform\"}", 200);

    /* feedback holds the start until a lead resolves it */
    post(feedback, g_pat, "{\"text\":\"Pause MirrorMaker before the flip\"}", &r);
    H_EXPECT(&r, 201);
    json_int_t fid = json_integer_value(json_object_get(r.json, "id"));
    h_resp_free(&r);
    post(BRIEF "/start", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    expect_missing(json_object_get(r.json, "missing"), (const char *const[]){NULL});
    json_t *open = json_object_get(r.json, "unresolved_feedback");
    assert_int_equal(json_array_size(open), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(open, 0), "id")), fid);
    h_resp_free(&r);

    /* the lead resolves it by adding a step: a plan change, so every acknowledgement is stale */
    post(BRIEF "/stages/takeoff/steps", g_lead,
         "{\"title\":\"Pause MirrorMaker\",\"owner_team\":\"data-stream\"}", &r);
    H_EXPECT(&r, 201);
    json_int_t sid = json_integer_value(json_object_get(r.json, "id"));
    h_resp_free(&r);
    char *resolve = h_fmt("%s/%lld/resolve", feedback, (long long)fid);
    char *resolution = h_fmt("{\"resolution\":\"added as a step\",\"step_id\":%lld}", (long long)sid);
    post_expect(resolve, g_pat, resolution, 403);
    post(resolve, g_lead, resolution, &r);
    H_EXPECT(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "resolved")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "step_id")), sid);
    h_resp_free(&r);
    post_expect(resolve, g_lead, resolution, 409); /* resolving twice */

    h_req(&g_srv, "GET", loc, g_vera, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_true(json_integer_value(json_object_get(r.json, "plan_rev")) > rev0);
    size_t i;
    json_array_foreach(json_object_get(r.json, "acks"), i, ack)
        assert_true(json_is_true(json_object_get(ack, "stale")));
    h_resp_free(&r);

    post(BRIEF "/start", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    expect_missing(json_object_get(r.json, "missing"),
                   (const char *const[]){"data-stream:1:0:stale", "sre:1:0:stale",
                                         "cloud-platform:1:0:stale", NULL});
    assert_int_equal(json_array_size(json_object_get(r.json, "unresolved_feedback")), 0);
    h_resp_free(&r);

    /* sre acknowledges the new plan; the others are still stale, and the document says so */
    post_expect(acks, g_sam, "{\"team\":\"sre\"}", 200);
    m = h_get_migration(&g_srv, g_vera, "brief");
    expect_missing(json_object_get(json_object_get(m, "start_gate"), "missing"),
                   (const char *const[]){"data-stream:1:0:stale", "cloud-platform:1:0:stale",
                                         NULL});
    json_decref(m);
    char *before = h_snapshot(&g_srv, g_vera, "brief");
    post(BRIEF "/start", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    expect_missing(json_object_get(r.json, "missing"),
                   (const char *const[]){"data-stream:1:0:stale", "cloud-platform:1:0:stale",
                                         NULL});
    h_resp_free(&r);
    char *after = h_snapshot(&g_srv, g_vera, "brief");
    assert_string_equal(before, after); /* a refusal changes nothing */

    /* an engineer cannot override; the lead takes off with a written reason, on the record */
    post_expect(BRIEF "/start", g_dan, "{\"override_reason\":\"go\"}", 403);
    post(BRIEF "/start", g_lead,
         "{\"override_reason\":\"data-stream and cloud-platform re-acknowledged on the bridge\"}",
         &r);
    H_EXPECT(&r, 200);
    assert_string_equal(str(r.json, "status"), "in_flight");
    json_t *ov = json_object_get(r.json, "gate_overrides");
    assert_int_equal(json_array_size(ov), 1);
    assert_string_equal(str(json_array_get(ov, 0), "kind"), "start");
    assert_string_equal(str(json_array_get(ov, 0), "reason"),
                        "data-stream and cloud-platform re-acknowledged on the bridge");
    assert_string_equal(str(json_object_get(json_array_get(ov, 0), "by"), "sub"), "lena");
    /* take-off's override keeps the start gate's three lists (openapi: GateOverride.missing) */
    json_t *was = json_object_get(json_array_get(ov, 0), "missing");
    assert_true(json_is_array(json_object_get(was, "missing")));
    assert_true(json_array_size(json_object_get(was, "missing")) > 0);
    assert_true(json_is_array(json_object_get(was, "unresolved_feedback")));
    assert_true(json_is_array(json_object_get(was, "signoffs_missing")));
    h_resp_free(&r);

    assert_int_equal(audit_count("brief", "gate.override", "lena"), 1);
    assert_int_equal(audit_count("brief", "briefing.create", "lena"), 1);
    assert_int_equal(audit_count("brief", "briefing.ack", NULL), 4);
    assert_int_equal(audit_count("brief", "feedback.create", "pat"), 1);
    assert_int_equal(audit_count("brief", "feedback.resolve", "lena"), 1);

    free(before);
    free(after);
    free(resolve);
    free(resolution);
    free(acks);
    free(feedback);
    free(loc);
}

/* ---- go/no-go sign-offs ------------------------------------------------------------------ */

#define QUORUM "/api/migrations/quorum"

/* Sign for `team` on `stage` of "quorum" as `token`; expect `status`; return the answer's gate
 * team entry for `team` as an owned object (NULL unless 201). */
static json_t *sign(const char *token, const char *stage, const char *body, long status,
                    const char *team)
{
    char *path = h_fmt(QUORUM "/stages/%s/signoffs", stage);
    h_resp r;
    post(path, token, body, &r);
    free(path);
    if (status >= 400)
        H_PROBLEM(&r, status);
    else
        H_EXPECT(&r, status);
    json_t *t = status == 201 ? json_incref(gate_team(json_object_get(r.json, "gate"), team)) : NULL;
    h_resp_free(&r);
    return t;
}

static void expect_team(json_t *t, const char *status, long have, long need)
{
    assert_non_null(t);
    assert_string_equal(str(t, "status"), status);
    assert_int_equal(json_integer_value(json_object_get(t, "have")), have);
    assert_int_equal(json_integer_value(json_object_get(t, "need")), need);
    json_decref(t);
}

static void tick_all(const char *mid, const char *stage, const char *token)
{
    json_t *m = h_get_migration(&g_srv, g_vera, mid);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(stage_of(m, stage), "steps"), i, s)
    {
        char *path = h_fmt("/api/migrations/%s/steps/%lld/tick", mid,
                           (long long)json_integer_value(json_object_get(s, "id")));
        post_expect(path, token, NULL, 200);
        free(path);
    }
    json_decref(m);
}

static void test_quorum_people_not_clicks(void **state)
{
    (void)state;
    create_plan("{\"id\":\"quorum\",\"title\":\"Quorum flight\",\"owner_team\":\"data-stream\","
                "\"teams\":[\"data-stream\",\"sre\",\"cloud-platform\"],\"stages\":["
                "{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":[{\"title\":\"a\"}]},"
                "{\"key\":\"inflight\",\"title\":\"In-flight\",\"steps\":[{\"title\":\"b\"}],"
                "\"signoffs\":[{\"team\":\"sre\",\"count\":2},{\"team\":\"cloud-platform\"}]},"
                "{\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"c\"}]}]}");
    post_expect(QUORUM "/start", g_lead, NULL, 200);

    json_t *m = h_get_migration(&g_srv, g_vera, "quorum");
    json_t *gate = json_object_get(stage_of(m, "inflight"), "gate");
    assert_true(json_is_false(json_object_get(gate, "satisfied")));
    expect_team(json_incref(gate_team(gate, "sre")), "waiting", 0, 2);
    expect_team(json_incref(gate_team(gate, "cloud-platform")), "waiting", 0, 1);
    json_decref(m);

    /* two people of sre: one go is not a quorum, the second is */
    expect_team(sign(g_sam, "inflight", "{\"team\":\"sre\",\"decision\":\"go\"}", 201, "sre"),
                "waiting", 1, 2);
    expect_team(sign(g_sam, "inflight", "{\"team\":\"sre\",\"decision\":\"go\"}", 201, "sre"),
                "waiting", 1, 2); /* the same person twice is still one person */
    expect_team(sign(g_bo, "inflight",
                     "{\"team\":\"sre\",\"decision\":\"go\",\"comment\":\"lag is flat\"}", 201,
                     "sre"),
                "go", 2, 2);

    /* Bo is in cloud-platform too, but one person does not fill two teams' quorum */
    sign(g_bo, "inflight", "{\"team\":\"cloud-platform\",\"decision\":\"go\"}", 409, NULL);
    /* outsiders, viewers, admins without a reason: refused; a team the stage does not need: 422 */
    sign(g_pat, "inflight", "{\"team\":\"sre\",\"decision\":\"go\"}", 403, NULL);
    sign(g_vera, "inflight", "{\"team\":\"sre\",\"decision\":\"go\"}", 403, NULL);
    sign(g_admin, "inflight", "{\"team\":\"cloud-platform\",\"decision\":\"go\"}", 403, NULL);
    sign(g_dan, "inflight", "{\"team\":\"data-stream\",\"decision\":\"go\"}", 422, NULL);
    sign(g_pat, "inflight", "{\"team\":\"cloud-platform\",\"decision\":\"maybe\"}", 422, NULL);

    /* cloud-platform says no-go: completing take-off is refused with exactly that */
    expect_team(sign(g_pat, "inflight",
                     "{\"team\":\"cloud-platform\",\"decision\":\"no_go\","
                     "\"comment\":\"VPC peering not ready\"}",
                     201, "cloud-platform"),
                "no_go", 0, 1);
    tick_all("quorum", "takeoff", g_dan);
    h_resp r;
    post(QUORUM "/stages/takeoff/complete", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    expect_missing(json_object_get(r.json, "missing"),
                   (const char *const[]){"cloud-platform:1:0:no_go", NULL});
    assert_string_equal(str(r.json, "stage"), "inflight");
    h_resp_free(&r);

    /* an admin outside the team may sign only with a reason, audited as an override */
    expect_team(sign(g_admin, "inflight",
                     "{\"team\":\"cloud-platform\",\"decision\":\"go\","
                     "\"override_reason\":\"Pat confirmed the peering by phone\"}",
                     201, "cloud-platform"),
                "go", 1, 1);
    assert_int_equal(audit_count("quorum", "signoff.override", "root"), 1);
    assert_int_equal(audit_count("quorum", "signoff.create", NULL), 4);

    h_req(&g_srv, "GET", QUORUM "/stages/inflight/signoffs", g_vera, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 5);
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "gate"), "satisfied")));
    h_resp_free(&r);

    post(QUORUM "/stages/takeoff/complete", g_lead, NULL, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(str(r.json, "current_stage"), "inflight");
    h_resp_free(&r);
}

/* A go approves the stage as it was: edit the stage and the go is stale. */
static void test_stale_signoff_and_complete_override(void **state)
{
    (void)state;
    /* the active stage's requirements are no longer editable */
    h_resp r;
    h_req(&g_srv, "PATCH", QUORUM "/stages/inflight", g_lead,
          "{\"signoffs\":[{\"team\":\"sre\"}]}", (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    h_req(&g_srv, "PATCH", QUORUM "/stages/landing", g_sam, "{\"signoffs\":[{\"team\":\"sre\"}]}",
          (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 403);
    h_resp_free(&r);
    h_req(&g_srv, "PATCH", QUORUM "/stages/landing", g_lead,
          "{\"signoffs\":[{\"team\":\"sre\"}],\"expected_minutes\":30}", (size_t)-1, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *landing = stage_of(r.json, "landing");
    assert_int_equal(json_array_size(json_object_get(landing, "signoffs_required")), 1);
    assert_int_equal(json_integer_value(json_object_get(landing, "expected_minutes")), 30);
    h_resp_free(&r);

    expect_team(sign(g_sue, "landing", "{\"team\":\"sre\",\"decision\":\"go\"}", 201, "sre"), "go",
                1, 1);
    post_expect(QUORUM "/stages/landing/steps", g_lead, "{\"title\":\"Drain the old brokers\"}",
                201);

    json_t *m = h_get_migration(&g_srv, g_vera, "quorum");
    json_t *gate = json_object_get(stage_of(m, "landing"), "gate");
    json_t *sre = gate_team(gate, "sre");
    assert_string_equal(str(sre, "status"), "stale");
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(sre, "signers"), 0),
                                             "stale")));
    expect_missing(json_object_get(gate, "missing"), (const char *const[]){"sre:1:0:stale", NULL});
    json_decref(m);

    tick_all("quorum", "inflight", g_dan);
    post(QUORUM "/stages/inflight/complete", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    expect_missing(json_object_get(r.json, "missing"), (const char *const[]){"sre:1:0:stale", NULL});
    assert_string_equal(str(r.json, "stage"), "landing");
    h_resp_free(&r);

    post(QUORUM "/stages/inflight/complete", g_lead,
         "{\"override_reason\":\"the added step is cosmetic; sre agreed in chat\"}", &r);
    H_EXPECT(&r, 200);
    assert_string_equal(str(r.json, "current_stage"), "landing");
    json_t *ov = json_array_get(json_object_get(r.json, "gate_overrides"), 0);
    assert_string_equal(str(ov, "kind"), "complete");
    assert_string_equal(str(ov, "stage"), "landing");
    /* a stage's override keeps that gate's missing list */
    json_t *was = json_object_get(ov, "missing");
    assert_true(json_is_array(was) && json_array_size(was) > 0);
    assert_non_null(json_object_get(json_array_get(was, 0), "team"));
    h_resp_free(&r);
    assert_int_equal(audit_count("quorum", "gate.override", "lena"), 1);
    assert_int_equal(audit_count("quorum", "stage.update", "lena"), 1);
}

/* ---- critical steps: challenge and response ------------------------------------------------ */

static void test_critical_needs_a_second_person(void **state)
{
    (void)state;
    create_plan("{\"id\":\"critical\",\"title\":\"Critical flight\",\"owner_team\":\"sre\","
                "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
                "{\"title\":\"Flip the producers\",\"critical\":true}]},"
                "{\"key\":\"landing\",\"title\":\"Landing\"}]}");
    h_resp r;
    post("/api/migrations/critical/start", g_lead, NULL, &r);
    H_EXPECT(&r, 200);
    int64_t sid = h_step_id(r.json, "takeoff", 0);
    h_resp_free(&r);
    char *tick = h_fmt("/api/migrations/critical/steps/%lld/tick", (long long)sid);
    char *confirm = h_fmt("/api/migrations/critical/steps/%lld/confirm", (long long)sid);

    post(tick, g_sam, "{\"note\":\"flipped\"}", &r);
    H_EXPECT(&r, 200);
    assert_string_equal(str(r.json, "status"), "awaiting_confirmation");
    assert_string_equal(str(json_object_get(r.json, "by"), "name"), "Sam");
    h_resp_free(&r);

    /* not done yet: the stage cannot complete */
    post("/api/migrations/critical/stages/takeoff/complete", g_lead, NULL, &r);
    H_PROBLEM(&r, 409);
    assert_string_equal(str(json_array_get(json_object_get(r.json, "blocking"), 0), "status"),
                        "awaiting_confirmation");
    h_resp_free(&r);

    /* the same person cannot be their own second pair of eyes; nor can a viewer */
    post(confirm, g_sam, NULL, &r);
    H_PROBLEM(&r, 403);
    assert_non_null(strstr(str(r.json, "detail"), "someone other than Sam"));
    h_resp_free(&r);
    post_expect(confirm, g_vera, NULL, 403);

    post(confirm, g_sue, "{\"note\":\"producers on msk-v2 in the dashboard\"}", &r);
    H_EXPECT(&r, 200);
    assert_string_equal(str(r.json, "status"), "done");
    assert_string_equal(str(json_object_get(r.json, "by"), "sub"), "sam");
    assert_string_equal(str(json_object_get(r.json, "confirmed_by"), "sub"), "sue");
    assert_string_equal(str(r.json, "confirm_note"), "producers on msk-v2 in the dashboard");
    h_resp_free(&r);
    post_expect(confirm, g_bo, NULL, 409); /* already confirmed */
    assert_int_equal(audit_count("critical", "step.confirm", "sue"), 1);

    post_expect("/api/migrations/critical/stages/takeoff/complete", g_lead, NULL, 200);
    free(tick);
    free(confirm);
}

/* ---- the flight clock ---------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the open stream `fd` into buf until every string of `want` was seen or WAIT_MS passed.
 * Returns 0 when all were seen. */
static int stream_until(int fd, char *buf, size_t cap, size_t *len, const char *const *want)
{
    int64_t end = mono_ms() + WAIT_MS;
    for (;;) {
        int all = 1;
        for (size_t i = 0; want[i] != NULL; i++)
            all = all && strstr(buf, want[i]) != NULL;
        if (all)
            return 0;
        int left = (int)(end - mono_ms());
        if (left <= 0 || *len + 1 >= cap)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

static void test_overdue_on_the_event_stream(void **state)
{
    (void)state;
    /* a step planned to take 0 minutes is overdue the moment its stage begins */
    create_plan("{\"id\":\"clock\",\"title\":\"Clocked flight\",\"owner_team\":\"sre\","
                "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"expected_minutes\":0,"
                "\"steps\":[{\"title\":\"Instant step\",\"expected_minutes\":0},"
                "{\"title\":\"Untimed step\"}]},{\"key\":\"landing\",\"title\":\"Landing\"}]}");

    int fd = h_raw_connect(&g_srv);
    assert_true(fd >= 0);
    char *req = h_fmt("GET /api/migrations/clock/events HTTP/1.1\r\nHost: %s\r\n"
                      "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n",
                      g_srv.host, g_sam);
    assert_int_equal(h_raw_send(fd, req, strlen(req)), 0);
    free(req);
    size_t cap = 1 << 20, len = 0;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    if (stream_until(fd, buf, cap, &len, (const char *const[]){"\r\n\r\n", NULL}) != 0 ||
        strncmp(buf, "HTTP/1.1 200", 12) != 0)
        fail_msg("the event stream did not open: %.300s", buf);

    h_resp r;
    post("/api/migrations/clock/start", g_lead, NULL, &r);
    H_EXPECT(&r, 200);
    int64_t instant = h_step_id(r.json, "takeoff", 0);
    int64_t untimed = h_step_id(r.json, "takeoff", 1);
    h_resp_free(&r);

    if (stream_until(fd, buf, cap, &len,
                     (const char *const[]){"event: migration.start", "event: step.overdue",
                                           "event: stage.overdue", NULL}) != 0)
        fail_msg("no overdue events on the stream within %d ms:\n%.2000s", WAIT_MS, buf);
    assert_non_null(strstr(buf, "flightdeck clock"));
    close(fd);
    free(buf);

    /* the document says so too: the stage and its timed step are overdue, the untimed one not */
    json_t *m = h_get_migration(&g_srv, g_vera, "clock");
    json_t *timing = json_object_get(stage_of(m, "takeoff"), "timing");
    assert_true(json_is_true(json_object_get(timing, "overdue")));
    assert_int_equal(json_integer_value(json_object_get(timing, "expected_minutes")), 0);
    json_t *ids = json_object_get(timing, "overdue_steps");
    assert_int_equal(json_array_size(ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), instant);
    assert_int_not_equal(instant, untimed);
    json_decref(m);

    /* once each, however many times the clock looks again */
    usleep(1000 * 1000);
    assert_int_equal(audit_count("clock", "step.overdue", "flightdeck"), 1);
    assert_int_equal(audit_count("clock", "stage.overdue", "flightdeck"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_briefing_acks_stale_and_start_override),
        cmocka_unit_test(test_quorum_people_not_clicks),
        cmocka_unit_test(test_stale_signoff_and_complete_override),
        cmocka_unit_test(test_critical_needs_a_second_person),
        cmocka_unit_test(test_overdue_on_the_event_stream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
