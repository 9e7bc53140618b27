/*
 * test_flight_run.c - the whole MSK cluster replacement from examples/, flown over HTTP from
 * draft to closed the way a crew would, then the flight recorder checked online and offline.
 *
 * The tests run in order and share one server: each one continues the flight of the previous.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MID "msk-cluster-replacement"

static h_server g_srv;
static char *g_admin, *g_lead, *g_eng, *g_viewer;
static int g_ticks, g_skips, g_confirms; /* what the flight did, for the audit export */

static int setup(void **state)
{
    (void)state;
    h_init();
    if (h_server_init(&g_srv) != 0 || h_start(&g_srv, NULL, NULL) != 0) {
        h_dump_logs(&g_srv);
        h_destroy(&g_srv);
        return -1;
    }
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_lead = h_token("alice", "Alice", "lead", "data-stream");
    g_eng = h_token("bob", "Bob", "engineer",
                    "data-stream,cloud-platform,event-management,production-analytics,sre");
    g_viewer = h_token("vera", "Vera", "viewer", "sre");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_srv.pid > 0 && h_stop(&g_srv, SIGTERM, 5000) != 0)
        fprintf(stderr, "server did not stop within 5 s\n");
    h_destroy(&g_srv);
    free(g_admin);
    free(g_lead);
    free(g_eng);
    free(g_viewer);
    return 0;
}

/* ETag must be the quoted version of the document. */
static void expect_etag(const h_resp *r, json_int_t version)
{
    const char *etag = h_hdr(r, "ETag");
    char want[32];
    snprintf(want, sizeof want, "\"%lld\"", (long long)version);
    if (!etag || strcmp(etag, want) != 0)
        fail_msg("ETag %s, want %s", etag ? etag : "(none)", want);
}

static void expect_request_id(const h_resp *r)
{
    const char *rid = h_hdr(r, "X-Request-Id");
    if (!rid || !*rid)
        fail_msg("HTTP %ld without X-Request-Id", r->status);
}

static void test_health_and_request_ids(void **state)
{
    (void)state;
    h_resp r;
    h_req(&g_srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    expect_request_id(&r);
    h_resp_free(&r);

    /* two requests get two different ids */
    h_req(&g_srv, "GET", "/api/openapi.yaml", NULL, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    expect_request_id(&r);
    char *first = strdup(h_hdr(&r, "X-Request-Id"));
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/migrations", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    expect_request_id(&r);
    assert_string_not_equal(first, h_hdr(&r, "X-Request-Id"));
    free(first);
    h_resp_free(&r);

    /* a caller's own id is kept when it is sane, replaced when it is not */
    const char *mine[] = {"X-Request-Id: deploy-bot.run-42", NULL};
    h_req(&g_srv, "GET", "/healthz", NULL, NULL, 0, mine, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(h_hdr(&r, "X-Request-Id"), "deploy-bot.run-42");
    h_resp_free(&r);
    const char *evil[] = {"X-Request-Id: <script>alert(1)</script>", NULL};
    h_req(&g_srv, "GET", "/healthz", NULL, NULL, 0, evil, &r);
    H_EXPECT(&r, 200);
    expect_request_id(&r);
    assert_null(strchr(h_hdr(&r, "X-Request-Id"), '<'));
    h_resp_free(&r);

    /* errors carry one too, from the router and from auth */
    h_req(&g_srv, "GET", "/api/no-such-thing", g_viewer, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/migrations", NULL, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
}

static void test_me(void **state)
{
    (void)state;
    h_resp r;
    h_req(&g_srv, "GET", "/api/me", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "lead");
    h_resp_free(&r);
}

static void test_teams_created_and_paged(void **state)
{
    (void)state;
    json_t *teams = h_load_json("examples/teams.json");
    size_t i;
    json_t *t;
    json_array_foreach(teams, i, t)
    {
        h_resp r;
        const char *slug = json_string_value(json_object_get(t, "slug"));
        h_req_json(&g_srv, "POST", "/api/teams", g_admin, t, NULL, &r);
        H_EXPECT(&r, 201);
        expect_request_id(&r);
        char *loc = h_fmt("/api/teams/%s", slug);
        assert_non_null(h_hdr(&r, "Location"));
        assert_string_equal(h_hdr(&r, "Location"), loc);
        assert_string_equal(json_string_value(json_object_get(r.json, "slug")), slug);
        expect_etag(&r, json_integer_value(json_object_get(r.json, "version")));
        h_resp_free(&r);

        /* the Location answers with the same team */
        h_req(&g_srv, "GET", loc, g_viewer, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "name")),
                            json_string_value(json_object_get(t, "name")));
        expect_etag(&r, json_integer_value(json_object_get(r.json, "version")));
        h_resp_free(&r);
        free(loc);
    }

    /* a slug is taken only once */
    h_resp r;
    h_req_json(&g_srv, "POST", "/api/teams", g_admin, json_array_get(teams, 0), NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);

    /* page through with limit=2: every team exactly once, in slug order, then no cursor */
    json_t *seen = json_array();
    char *cursor = NULL;
    for (int page = 0; page < 10; page++) {
        char *path =
            cursor ? h_fmt("/api/teams?limit=2&cursor=%s", cursor) : h_fmt("/api/teams?limit=2");
        h_req(&g_srv, "GET", path, g_viewer, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_is_array(items));
        assert_true(json_array_size(items) <= 2);
        size_t k;
        json_t *it;
        json_array_foreach(items, k, it) json_array_append(seen, json_object_get(it, "slug"));
        free(cursor);
        cursor = NULL;
        json_t *next = json_object_get(r.json, "next_cursor");
        if (json_is_string(next))
            cursor = strdup(json_string_value(next));
        else
            assert_true(next == NULL || json_is_null(next));
        h_resp_free(&r);
        free(path);
        if (!cursor)
            break;
    }
    assert_null(cursor);
    assert_int_equal(json_array_size(seen), json_array_size(teams));
    for (size_t k = 1; k < json_array_size(seen); k++)
        assert_true(strcmp(json_string_value(json_array_get(seen, k - 1)),
                           json_string_value(json_array_get(seen, k))) < 0);
    json_decref(seen);
    json_decref(teams);
}

static void test_create_msk_plan(void **state)
{
    (void)state;
    json_t *plan = h_load_json("examples/msk-cluster-replacement.json");
    h_resp r;
    h_req_json(&g_srv, "POST", "/api/migrations", g_lead, plan, NULL, &r);
    H_EXPECT(&r, 201);
    expect_request_id(&r);
    assert_non_null(h_hdr(&r, "Location"));
    assert_string_equal(h_hdr(&r, "Location"), "/api/migrations/" MID);
    json_t *m = r.json;
    assert_string_equal(json_string_value(json_object_get(m, "id")), MID);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "draft");
    assert_string_equal(json_string_value(json_object_get(m, "owner_team")), "data-stream");
    expect_etag(&r, json_integer_value(json_object_get(m, "version")));

    /* every stage and step of the plan made it, in order */
    json_t *pst = json_object_get(plan, "stages");
    json_t *mst = json_object_get(m, "stages");
    assert_int_equal(json_array_size(mst), json_array_size(pst));
    for (size_t i = 0; i < json_array_size(pst); i++) {
        json_t *ps = json_array_get(pst, i), *ms = json_array_get(mst, i);
        assert_string_equal(json_string_value(json_object_get(ms, "key")),
                            json_string_value(json_object_get(ps, "key")));
        json_t *psteps = json_object_get(ps, "steps"), *msteps = json_object_get(ms, "steps");
        assert_int_equal(json_array_size(msteps), json_array_size(psteps));
        for (size_t k = 0; k < json_array_size(psteps); k++) {
            json_t *a = json_array_get(psteps, k), *b = json_array_get(msteps, k);
            assert_string_equal(json_string_value(json_object_get(b, "title")),
                                json_string_value(json_object_get(a, "title")));
            assert_string_equal(json_string_value(json_object_get(b, "status")), "pending");
            assert_int_equal(json_is_true(json_object_get(b, "critical")),
                             json_is_true(json_object_get(a, "critical")));
        }
    }
    /* the six-pack and the full dashboards, affected teams */
    int overview = 0;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(m, "dashboards"), i, d) overview +=
        strcmp(json_string_value(json_object_get(d, "kind")), "overview") == 0;
    assert_int_equal(overview, 6);
    assert_int_equal(json_array_size(json_object_get(m, "dashboards")), 10);
    assert_int_equal(json_array_size(json_object_get(m, "teams")), 5);
    h_resp_free(&r);

    /* listed, without steps in the list items */
    h_req(&g_srv, "GET", "/api/migrations", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), MID);
    h_resp_free(&r);

    /* the same id again is a conflict, not a second migration */
    h_req_json(&g_srv, "POST", "/api/migrations", g_lead, plan, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    json_decref(plan);
}

static long step_action(const char *token, int64_t sid, const char *action, const char *body,
                        h_resp *r)
{
    char *path = h_fmt("/api/migrations/" MID "/steps/%lld/%s", (long long)sid, action);
    long st = h_req(&g_srv, "POST", path, token, body, (size_t)-1, NULL, r);
    free(path);
    return st;
}

static void complete_stage(const char *stage, const char *want_status)
{
    char *path = h_fmt("/api/migrations/" MID "/stages/%s/complete", stage);
    h_resp r;
    h_req(&g_srv, "POST", path, g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    expect_request_id(&r);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), want_status);
    expect_etag(&r, json_integer_value(json_object_get(r.json, "version")));
    h_resp_free(&r);
    free(path);
}

static void test_start(void **state)
{
    (void)state;
    h_resp r;
    h_req(&g_srv, "POST", "/api/migrations/" MID "/start", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "in_flight");
    assert_string_equal(json_string_value(json_object_get(r.json, "current_stage")), "takeoff");
    json_t *first = json_array_get(json_object_get(r.json, "stages"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "status")), "active");
    expect_etag(&r, json_integer_value(json_object_get(r.json, "version")));
    h_resp_free(&r);

    /* starting twice is refused */
    h_req(&g_srv, "POST", "/api/migrations/" MID "/start", g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
}

static void test_refusals_in_flight(void **state)
{
    (void)state;
    json_t *m = h_get_migration(&g_srv, g_viewer, MID);
    h_resp r;

    /* completing take-off with every step pending: 409 listing what blocks it */
    h_req(&g_srv, "POST", "/api/migrations/" MID "/stages/takeoff/complete", g_lead, NULL, 0, NULL,
          &r);
    H_PROBLEM(&r, 409);
    json_t *blocking = json_object_get(r.json, "blocking");
    assert_true(json_is_array(blocking));
    assert_int_equal(json_array_size(blocking), 10);
    h_resp_free(&r);

    /* a step of a stage that is not active yet cannot be ticked */
    step_action(g_eng, h_step_id(m, "landing", 0), "tick", NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);

    /* a skip needs a reason; a fail needs a note */
    step_action(g_eng, h_step_id(m, "takeoff", 0), "skip", "{}", &r);
    H_PROBLEM(&r, 422);
    h_resp_free(&r);
    step_action(g_eng, h_step_id(m, "takeoff", 0), "fail", "{}", &r);
    H_PROBLEM(&r, 422);
    h_resp_free(&r);
    json_decref(m);
}

/* A failed step blocks completion until it is resolved (ticked after the fix). */
static void test_failed_step_blocks(void **state)
{
    (void)state;
    json_t *m = h_get_migration(&g_srv, g_viewer, MID);
    int64_t sid = h_step_id(m, "takeoff", 2);
    h_resp r;
    step_action(g_eng, sid, "fail", "{\"note\":\"terraform apply timed out on the peering\"}", &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(r.json, "note")),
                        "terraform apply timed out on the peering");
    h_resp_free(&r);

    /* completion names the failed step among what blocks it */
    h_req(&g_srv, "POST", "/api/migrations/" MID "/stages/takeoff/complete", g_lead, NULL, 0, NULL,
          &r);
    H_PROBLEM(&r, 409);
    int found = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(r.json, "blocking"), i,
                       b) if (json_integer_value(json_object_get(b, "id")) == sid) found =
        strcmp(json_string_value(json_object_get(b, "status")), "failed") == 0;
    assert_true(found);
    h_resp_free(&r);
    json_decref(m);
}

/* Reality happens: a step is added to the active stage; a done step can no longer be edited or
 * removed. */
static void test_add_step_to_active_stage(void **state)
{
    (void)state;
    h_resp r;
    h_req(&g_srv, "POST", "/api/migrations/" MID "/stages/takeoff/steps", g_lead,
          "{\"title\":\"Raise the MSK broker quota with AWS "
          "support\",\"owner_team\":\"cloud-platform\","
          "\"expected_minutes\":20}",
          (size_t)-1, NULL, &r);
    H_EXPECT(&r, 201);
    int64_t sid = json_integer_value(json_object_get(r.json, "id"));
    char *loc = h_fmt("/api/migrations/" MID "/steps/%lld", (long long)sid);
    assert_non_null(h_hdr(&r, "Location"));
    assert_string_equal(h_hdr(&r, "Location"), loc);
    assert_string_equal(json_string_value(json_object_get(r.json, "stage")), "takeoff");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "pending");
    expect_etag(&r, json_integer_value(json_object_get(r.json, "version")));
    h_resp_free(&r);

    /* tick the first step; from then on it is history: no edit, no removal */
    json_t *m = h_get_migration(&g_srv, g_viewer, MID);
    int64_t first = h_step_id(m, "takeoff", 0);
    json_decref(m);
    step_action(g_eng, first, "tick", "{\"note\":\"announced\"}", &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    g_ticks++;
    char *before = h_snapshot(&g_srv, g_viewer, MID);
    char *first_path = h_fmt("/api/migrations/" MID "/steps/%lld", (long long)first);
    h_req(&g_srv, "PATCH", first_path, g_lead, "{\"title\":\"rewritten history\"}", (size_t)-1,
          NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    h_req(&g_srv, "DELETE", first_path, g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    char *after = h_snapshot(&g_srv, g_viewer, MID);
    assert_string_equal(before, after);

    /* the new step, still pending, can be edited */
    h_req(&g_srv, "PATCH", loc, g_lead, "{\"expected_minutes\":30}", (size_t)-1, NULL, &r);
    H_EXPECT(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "expected_minutes")), 30);
    h_resp_free(&r);
    free(before);
    free(after);
    free(first_path);
    free(loc);
}

/* A critical step ticked by Bob awaits a second person: Bob himself may not confirm it (403);
 * Alice, the lead, confirms with one call, and it is done, naming both of them. */
static void confirm_critical(int64_t sid, h_resp *r)
{
    assert_string_equal(json_string_value(json_object_get(r->json, "status")),
                        "awaiting_confirmation");
    h_resp_free(r);
    step_action(g_eng, sid, "confirm", NULL, r);
    H_PROBLEM(r, 403);
    h_resp_free(r);
    step_action(g_lead, sid, "confirm", "{\"note\":\"checked on the six-pack\"}", r);
    H_EXPECT(r, 200);
    assert_string_equal(json_string_value(json_object_get(r->json, "status")), "done");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r->json, "confirmed_by"), "sub")),
        "alice");
    g_confirms++;
}

/* Tick every step of `stage` (skip the second one, with a reason; a critical step confirmed by a
 * second person), then complete it. */
static void fly_stage(const char *stage, const char *want_status)
{
    json_t *m = h_get_migration(&g_srv, g_viewer, MID);
    assert_string_equal(json_string_value(json_object_get(m, "current_stage")), stage);
    json_t *steps = NULL;
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(m, "stages"), i,
                       st) if (strcmp(json_string_value(json_object_get(st, "key")), stage) == 0)
        steps = json_object_get(st, "steps");
    assert_non_null(steps);

    json_t *step;
    json_array_foreach(steps, i, step)
    {
        int64_t sid = json_integer_value(json_object_get(step, "id"));
        json_int_t v0 = json_integer_value(json_object_get(step, "version"));
        h_resp r;
        if (strcmp(json_string_value(json_object_get(step, "status")), "done") == 0)
            continue; /* ticked earlier in the flight */
        if (i == 1) {
            step_action(g_eng, sid, "skip", "{\"reason\":\"covered by the previous step\"}", &r);
            H_EXPECT(&r, 200);
            assert_string_equal(json_string_value(json_object_get(r.json, "status")), "skipped");
            assert_string_equal(json_string_value(json_object_get(r.json, "note")),
                                "covered by the previous step");
            g_skips++;
        } else {
            char *body = h_fmt("{\"note\":\"done, see %s step %zu\"}", stage, i);
            step_action(g_eng, sid, "tick", body, &r);
            free(body);
            H_EXPECT(&r, 200);
            g_ticks++;
            if (json_is_true(json_object_get(step, "critical")))
                confirm_critical(sid, &r);
            assert_string_equal(json_string_value(json_object_get(r.json, "status")), "done");
        }
        expect_request_id(&r);
        assert_int_equal(json_integer_value(json_object_get(r.json, "id")), sid);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r.json, "by"), "sub")), "bob");
        assert_true(json_is_string(json_object_get(r.json, "at")));
        json_int_t v1 = json_integer_value(json_object_get(r.json, "version"));
        assert_true(v1 > v0);
        expect_etag(&r, v1);
        h_resp_free(&r);

        /* the step reads back as answered, with the same ETag */
        char *path = h_fmt("/api/migrations/" MID "/steps/%lld", (long long)sid);
        h_req(&g_srv, "GET", path, g_viewer, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        assert_int_equal(json_integer_value(json_object_get(r.json, "version")), v1);
        expect_etag(&r, v1);
        h_resp_free(&r);
        free(path);
    }
    complete_stage(stage, want_status);
    json_decref(m);

    /* the next stage is active now, this one done */
    m = h_get_migration(&g_srv, g_viewer, MID);
    json_array_foreach(json_object_get(m, "stages"), i,
                       st) if (strcmp(json_string_value(json_object_get(st, "key")), stage) == 0)
        assert_string_equal(json_string_value(json_object_get(st, "status")), "done");
    json_decref(m);
}

static void test_fly_takeoff(void **state)
{
    (void)state;
    fly_stage("takeoff", "in_flight");
}

static void test_fly_inflight(void **state)
{
    (void)state;
    fly_stage("inflight", "in_flight");
}

static void test_fly_landing_marks_landed(void **state)
{
    (void)state;
    fly_stage("landing", "landed");
    json_t *m = h_get_migration(&g_srv, g_viewer, MID);
    assert_string_equal(json_string_value(json_object_get(m, "current_stage")), "shutdown");
    json_decref(m);
}

static void test_fly_shutdown_closes(void **state)
{
    (void)state;
    fly_stage("shutdown", "closed");
    json_t *m = h_get_migration(&g_srv, g_viewer, MID);
    assert_true(json_is_string(json_object_get(m, "closed_at")));
    int64_t sid = h_step_id(m, "shutdown", 0);
    json_decref(m);

    /* closed is read-only forever: untick, edit, abort are refused and change nothing */
    char *before = h_snapshot(&g_srv, g_viewer, MID);
    h_resp r;
    step_action(g_lead, sid, "untick", "{\"reason\":\"oops\"}", &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    h_req(&g_srv, "PATCH", "/api/migrations/" MID, g_lead, "{\"title\":\"renamed\"}", (size_t)-1,
          NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    h_req(&g_srv, "POST", "/api/migrations/" MID "/abort", g_lead, "{\"reason\":\"late\"}",
          (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    char *after = h_snapshot(&g_srv, g_viewer, MID);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- the flight recorder ---- */

static void test_audit_exports_consistent(void **state)
{
    (void)state;
    h_resp r;
    h_req(&g_srv, "GET", "/api/migrations/" MID "/audit?format=json", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    expect_request_id(&r);
    json_t *events = json_loadb(r.body, r.len, 0, NULL);
    assert_true(json_is_array(events));
    h_resp_free(&r);
    size_t n = json_array_size(events);

    /* what the crew did, each exactly once */
    int create = 0, start = 0, ticks = 0, skips = 0, fails = 0, completes = 0, landed = 0,
        closed = 0, adds = 0, updates = 0, confirms = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *a = json_string_value(json_object_get(ev, "action"));
        assert_non_null(a);
        create += strcmp(a, "migration.create") == 0;
        start += strcmp(a, "migration.start") == 0;
        ticks += strcmp(a, "step.tick") == 0;
        skips += strcmp(a, "step.skip") == 0;
        fails += strcmp(a, "step.fail") == 0;
        completes += strcmp(a, "stage.complete") == 0;
        landed += strcmp(a, "migration.landed") == 0;
        closed += strcmp(a, "migration.closed") == 0;
        adds += strcmp(a, "step.add") == 0;
        updates += strcmp(a, "step.update") == 0;
        confirms += strcmp(a, "step.confirm") == 0;
        assert_string_equal(json_string_value(json_object_get(ev, "migration")), MID);
    }
    /* seq ascending, each event naming its predecessor's hash, each hash recomputable */
    char prev_hash[FD_TEST_HASH_HEX];
    h_check_chain(events, prev_hash);
    assert_int_equal(create, 1);
    assert_int_equal(start, 1);
    assert_int_equal(ticks, g_ticks); /* the failed take-off step was ticked after the fix */
    assert_int_equal(skips, g_skips);
    assert_int_equal(fails, 1);
    assert_int_equal(completes, 4);
    assert_int_equal(landed, 1);
    assert_int_equal(closed, 1);
    assert_int_equal(adds, 1);
    assert_int_equal(updates, 1);
    assert_int_equal(confirms, g_confirms); /* one per critical step of the plan */
    assert_int_equal(g_confirms, 5);
    /* nothing else: every event is one of the above */
    assert_int_equal((size_t)(create + start + ticks + skips + fails + completes + landed + closed +
                              adds + updates + confirms),
                     n);

    /* NDJSON: the same events, line for line */
    h_req(&g_srv, "GET", "/api/migrations/" MID "/audit?format=ndjson", g_viewer, NULL, 0, NULL,
          &r);
    H_EXPECT(&r, 200);
    assert_non_null(h_hdr(&r, "Content-Type"));
    assert_non_null(strstr(h_hdr(&r, "Content-Type"), "ndjson"));
    size_t line = 0;
    char *save = NULL;
    for (char *l = strtok_r(r.body, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
        json_t *e = json_loads(l, 0, NULL);
        if (!e || line >= n || !json_equal(e, json_array_get(events, line)))
            fail_msg("ndjson line %zu differs from the json export: %.300s", line, l);
        json_decref(e);
    }
    assert_int_equal(line, n);
    h_resp_free(&r);

    /* ?after=seq resumes after an event */
    json_int_t mid_seq = json_integer_value(json_object_get(json_array_get(events, 4), "seq"));
    char *path =
        h_fmt("/api/migrations/" MID "/audit?format=ndjson&after=%lld", (long long)mid_seq);
    h_req(&g_srv, "GET", path, g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    size_t rest = 0;
    for (size_t k = 0; k < r.len; k++)
        rest += r.body[k] == '\n';
    assert_int_equal(rest, n - 5);
    h_resp_free(&r);
    free(path);

    /* CSV: a header, then one row per event with the same seq and hash */
    h_req(&g_srv, "GET", "/api/migrations/" MID "/audit?format=csv", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_non_null(h_hdr(&r, "Content-Type"));
    assert_non_null(strstr(h_hdr(&r, "Content-Type"), "csv"));
    json_t *rows = h_parse_csv(r.body, r.len);
    assert_int_equal(json_array_size(rows), n + 1);
    json_t *head = json_array_get(rows, 0);
    int seq_col = -1, hash_col = -1;
    json_t *col;
    json_array_foreach(head, i, col)
    {
        if (strcmp(json_string_value(col), "seq") == 0)
            seq_col = (int)i;
        if (strcmp(json_string_value(col), "hash") == 0)
            hash_col = (int)i;
    }
    assert_true(seq_col >= 0 && hash_col >= 0);
    for (size_t k = 0; k < n; k++) {
        json_t *row = json_array_get(rows, k + 1);
        json_t *e = json_array_get(events, k);
        char seq[32];
        snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(e, "seq")));
        assert_int_equal(json_array_size(row), json_array_size(head));
        assert_string_equal(json_string_value(json_array_get(row, (size_t)seq_col)), seq);
        assert_string_equal(json_string_value(json_array_get(row, (size_t)hash_col)),
                            json_string_value(json_object_get(e, "hash")));
    }
    json_decref(rows);
    h_resp_free(&r);

    /* an unknown format is a bad request */
    h_req(&g_srv, "GET", "/api/migrations/" MID "/audit?format=xml", g_viewer, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 400);
    h_resp_free(&r);

    /* online verification agrees with the export */
    h_req(&g_srv, "GET", "/api/migrations/" MID "/audit/verify", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "events")), n);
    assert_string_equal(json_string_value(json_object_get(r.json, "last_hash")), prev_hash);
    assert_true(json_is_null(json_object_get(r.json, "broken")) ||
                json_object_get(r.json, "broken") == NULL);
    h_resp_free(&r);
    json_decref(events);
}

/* A second plan, aborted mid-flight: read-only afterwards, the reason kept. */
static void test_abort_is_final(void **state)
{
    (void)state;
    h_resp r;
    h_req(
        &g_srv, "POST", "/api/migrations", g_lead,
        "{\"id\":\"msk-dry-run\",\"title\":\"Dry run in staging\",\"owner_team\":\"data-stream\","
        "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":[{\"title\":\"a\"}]}]}",
        (size_t)-1, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    h_req(&g_srv, "POST", "/api/migrations/msk-dry-run/start", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    int64_t sid = h_step_id(r.json, "takeoff", 0);
    h_resp_free(&r);

    /* a reason is required */
    h_req(&g_srv, "POST", "/api/migrations/msk-dry-run/abort", g_lead, "{}", (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 422);
    h_resp_free(&r);
    h_req(&g_srv, "POST", "/api/migrations/msk-dry-run/abort", g_lead,
          "{\"reason\":\"staging VPC quota exhausted\"}", (size_t)-1, NULL, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "aborted");
    assert_string_equal(json_string_value(json_object_get(r.json, "abort_reason")),
                        "staging VPC quota exhausted");
    h_resp_free(&r);

    char *tick = h_fmt("/api/migrations/msk-dry-run/steps/%lld/tick", (long long)sid);
    h_req(&g_srv, "POST", tick, g_eng, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);
    free(tick);
    h_req(&g_srv, "POST", "/api/migrations/msk-dry-run/abort", g_lead, "{\"reason\":\"again\"}",
          (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 409);
    h_resp_free(&r);

    /* the status filter of the list */
    h_req(&g_srv, "GET", "/api/migrations?status=aborted", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
                        "msk-dry-run");
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/migrations/msk-dry-run/audit/verify", g_viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "events")), 3);
    h_resp_free(&r);
}

static void test_offline_verify_after_stop(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&g_srv, SIGTERM, 5000), 0);
    assert_int_equal(g_srv.exit_code, 0);

    char *env_db = h_fmt("FLIGHTDECK_DB=%s", g_srv.db);
    const char *env[] = {env_db, NULL};
    const char *ok_args[] = {"audit", "verify", MID, NULL};
    char *out = NULL, *err = NULL;
    int code = h_run(ok_args, env, &out, &err);
    if (code != 0)
        fail_msg("audit verify exited %d\nstdout: %s\nstderr: %s", code, out, err);
    free(out);
    free(err);

    /* with --db instead of the environment, and the JSON report says so */
    const char *flag_args[] = {"audit", "verify", MID, "--db", g_srv.db, NULL};
    code = h_run(flag_args, NULL, &out, &err);
    assert_int_equal(code, 0);
    json_t *report = json_loads(out, 0, NULL);
    assert_non_null(report);
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
    free(out);
    free(err);

    /* a migration that does not exist does not verify */
    const char *bad_args[] = {"audit", "verify", "no-such-migration", NULL};
    code = h_run(bad_args, env, &out, &err);
    assert_int_not_equal(code, 0);
    free(out);
    free(err);
    free(env_db);
}

/* Someone edits the database file behind flightdeck's back: offline verification notices. */
static void test_offline_verify_catches_tampering(void **state)
{
    (void)state;
    assert_true(g_srv.pid <= 0); /* stopped by the previous test: the file is checkpointed */
    FILE *f = fopen(g_srv.db, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);

    /* rewrite history: the failure note recorded during take-off, same length, every copy */
    const char *was = "timed out on the peering";
    const char *now = "went fine on the peering";
    size_t len = strlen(was);
    int hits = 0;
    for (long i = 0; i + (long)len <= size; i++) {
        if (memcmp(data + i, was, len) == 0) {
            memcpy(data + i, now, len);
            hits++;
        }
    }
    assert_true(hits > 0);
    char *copy = h_fmt("%s/tampered.db", g_srv.dir);
    f = fopen(copy, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    free(data);

    const char *args[] = {"audit", "verify", MID, "--db", copy, NULL};
    char *out = NULL, *err = NULL;
    int code = h_run(args, NULL, &out, &err);
    if (code != 1)
        fail_msg("audit verify of a tampered database exited %d, want 1 (broken)\n%s%s", code, out,
                 err);
    json_t *report = json_loads(out, 0, NULL);
    assert_non_null(report);
    assert_true(json_is_false(json_object_get(report, "ok")));
    assert_true(json_is_object(json_object_get(report, "broken")));
    json_decref(report);
    free(out);
    free(err);
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_request_ids),
        cmocka_unit_test(test_me),
        cmocka_unit_test(test_teams_created_and_paged),
        cmocka_unit_test(test_create_msk_plan),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_refusals_in_flight),
        cmocka_unit_test(test_failed_step_blocks),
        cmocka_unit_test(test_add_step_to_active_stage),
        cmocka_unit_test(test_fly_takeoff),
        cmocka_unit_test(test_fly_inflight),
        cmocka_unit_test(test_fly_landing_marks_landed),
        cmocka_unit_test(test_fly_shutdown_closes),
        cmocka_unit_test(test_audit_exports_consistent),
        cmocka_unit_test(test_abort_is_final),
        cmocka_unit_test(test_offline_verify_after_stop),
        cmocka_unit_test(test_offline_verify_catches_tampering),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
