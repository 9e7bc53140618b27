/*
 * test_plans.c - plans as code and cutover switches against the real binary:
 *   - the second seed's MySQL -> DynamoDB cutover (examples/mysql-to-dynamodb.json) flown to the
 *     end over HTTP: start, every step ticked (critical ones confirmed by a second person), the
 *     writes stage's sign-offs, a rule refusal, a revert in the middle, every stage completed,
 *     closed; each switch move applied by a flag endpoint on loopback that fails first, then
 *     answers 200, receiving the secret header the server resolved;
 *   - export -> create under another id -> export gives the same plan (both examples), and a
 *     template from a migration instantiated as a new draft;
 *   - `flightdeck plan lint` on good, bad and unreadable files.
 * Each test has its own server and database.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "webhook_sink.h"

#define MID "mysql-to-dynamodb"
#define FLAG_SECRET "flags-token-for-tests"

typedef struct world {
    h_server srv;
    char *admin, *lead, *alice, *bob;
} world;

static int group_setup(void **state)
{
    (void)state;
    h_init();
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (w == NULL || h_server_init(&w->srv) != 0)
        return -1;
    w->admin = h_token("root", "Root", "admin", NULL);
    w->lead = h_token("lena", "Lena Lead", "lead", "data-stream");
    w->alice = h_token("alice", "Alice", "engineer", "data-stream");
    w->bob = h_token("bob", "Bob", "engineer", "sre");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    h_destroy(&w->srv);
    free(w->admin);
    free(w->lead);
    free(w->alice);
    free(w->bob);
    free(w);
    return 0;
}

static void start_server(world *w, const char *const *env)
{
    if (h_start(&w->srv, NULL, env) != 0) {
        h_dump_logs(&w->srv);
        fail_msg("the server did not start");
    }
    h_create_demo_teams(&w->srv, w->admin);
}

/* Stop with SIGTERM: a clean exit 0 (under the sanitizers, also no leak and no error). */
static void stop_clean(world *w)
{
    if (h_stop(&w->srv, SIGTERM, 10000) != 0 || w->srv.exit_code != 0) {
        h_dump_logs(&w->srv);
        fail_msg("the server did not stop cleanly (exit %d)", w->srv.exit_code);
    }
}

/* POST/GET with a JSON body (NULL: none) expecting `status`; returns the parsed body (owned). */
static json_t *call(world *w, const char *token, const char *method, const char *path,
                    const char *body_text, long status)
{
    h_resp r;
    json_t *body = body_text ? json_loads(body_text, 0, NULL) : NULL;
    if (body_text != NULL && body == NULL)
        fail_msg("bad JSON in test: %s", body_text);
    h_req_json(&w->srv, method, path, token, body, NULL, &r);
    json_decref(body);
    if (r.status != status) {
        h_dump_logs(&w->srv);
        fail_msg("%s %s: HTTP %ld, want %ld: %.600s", method, path, r.status, status, r.body);
    }
    json_t *out = json_incref(r.json);
    h_resp_free(&r);
    return out;
}

static json_t *switch_of(world *w, const char *name)
{
    char *path = h_fmt("/api/migrations/%s/switches", MID);
    json_t *l = call(w, w->alice, "GET", path, NULL, 200), *found = NULL;
    free(path);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(l, "items"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
        found = json_incref(s);
    json_decref(l);
    assert_non_null(found);
    return found;
}

/* Wait (up to 10 s) until the flag system applied switch `name` at `position`. */
static void wait_applied(world *w, const char *name, const char *position)
{
    struct timespec ts = {0, 25 * 1000000};
    for (int i = 0; i < 400; i++) {
        json_t *s = switch_of(w, name);
        int done = json_is_true(json_object_get(s, "applied")) &&
                   strcmp(json_string_value(json_object_get(s, "position")), position) == 0;
        if (!done && json_is_string(json_object_get(s, "error")))
            fail_msg("%s: the flag call failed: %s", name,
                     json_string_value(json_object_get(s, "error")));
        json_decref(s);
        if (done)
            return;
        nanosleep(&ts, NULL);
    }
    h_dump_logs(&w->srv);
    fail_msg("switch %s was not applied at '%s' within 10 s", name, position);
}

/* The example plan with both flag actions pointing at the sink. */
static json_t *plan_for(const char *sink_url)
{
    json_t *plan = h_load_json("examples/mysql-to-dynamodb.json");
    size_t i;
    json_t *sw;
    json_array_foreach(json_object_get(plan, "switches"), i, sw)
        json_object_set_new(json_object_get(sw, "action"), "url", json_string(sink_url));
    return plan;
}

static int64_t step_id_titled(const json_t *m, const char *title)
{
    size_t i, k;
    json_t *g, *s;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        json_array_foreach(json_object_get(g, "steps"), k, s)
        {
            if (strcmp(json_string_value(json_object_get(s, "title")), title) == 0)
                return json_integer_value(json_object_get(s, "id"));
        }
    }
    fail_msg("no step %s", title);
    return -1;
}

/* Tick a step as Alice; a critical one is confirmed by Bob. A switch step waits until its flag
 * call is applied. */
static void fly_step(world *w, const json_t *step)
{
    int64_t sid = json_integer_value(json_object_get(step, "id"));
    char *tick = h_fmt("/api/migrations/%s/steps/%lld/tick", MID, (long long)sid);
    json_t *done = call(w, w->alice, "POST", tick, "{\"note\":\"done\"}", 200);
    if (strcmp(json_string_value(json_object_get(done, "status")), "awaiting_confirmation") == 0) {
        char *confirm = h_fmt("/api/migrations/%s/steps/%lld/confirm", MID, (long long)sid);
        json_decref(done);
        done = call(w, w->bob, "POST", confirm, "{}", 200);
        free(confirm);
    }
    assert_string_equal(json_string_value(json_object_get(done, "status")), "done");
    const json_t *sw = json_object_get(done, "switch");
    if (json_is_object(sw))
        wait_applied(w, json_string_value(json_object_get(sw, "name")),
                     json_string_value(json_object_get(sw, "position")));
    json_decref(done);
    free(tick);
}

static void complete(world *w, const char *stage)
{
    char *path = h_fmt("/api/migrations/%s/stages/%s/complete", MID, stage);
    json_decref(call(w, w->lead, "POST", path, "{}", 200));
    free(path);
}

/* ---- the second seed, flown to the end ---- */

static void dynamodb_cutover_flown_to_the_end(void **state)
{
    world *w = *state;
    wh_sink *sink = wh_sink_start(1); /* the flag system fails once, then answers 200 */
    assert_non_null(sink);
    const char *env[] = {"FLIGHTDECK_FLAG_BACKOFF_MS=50", "FLIGHTDECK_FLAG_MAX_ATTEMPTS=3",
                         "FLIGHTDECK_SECRET_FLAGS_TOKEN=" FLAG_SECRET, NULL};
    start_server(w, env);
    h_resp r;
    json_t *plan = plan_for(wh_sink_url(sink));
    h_req_json(&w->srv, "POST", "/api/migrations", w->lead, plan, NULL, &r);
    H_EXPECT(&r, 201);
    assert_int_equal(json_array_size(json_object_get(r.json, "switches")), 2);
    h_resp_free(&r);
    json_decref(plan);
    char *base = h_fmt("/api/migrations/%s", MID);
    char *start = h_fmt("%s/start", base);
    json_decref(call(w, w->lead, "POST", start, "{}", 200));

    /* take-off, then reads: the first move's flag call fails once and is retried */
    json_t *m = h_get_migration(&w->srv, w->alice, MID);
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"), i,
                       step) fly_step(w, step);
    complete(w, "takeoff");
    json_t *reads = json_object_get(json_array_get(json_object_get(m, "stages"), 1), "steps");
    fly_step(w, json_array_get(reads, 0)); /* 10% */
    wh_request req;
    assert_int_equal(wh_sink_get(sink, 0, &req), 0);
    assert_int_equal(req.answered, 500);
    wh_request_free(&req);
    assert_int_equal(wh_sink_get(sink, 1, &req), 0);
    assert_int_equal(req.answered, 200);
    assert_string_equal(req.method, "PATCH");
    assert_string_equal(req.authorization, "Bearer " FLAG_SECRET); /* resolved by the server */
    json_t *body = json_loads(req.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "variation")), "10% dynamodb");
    assert_string_equal(json_string_value(json_object_get(body, "comment")),
                        "flightdeck mysql-to-dynamodb: reads -> 10% dynamodb");
    json_decref(body);
    wh_request_free(&req);
    fly_step(w, json_array_get(reads, 1));
    fly_step(w, json_array_get(reads, 2)); /* 50% */

    /* latency: an engineer reverts reads at once, no gate; the crew re-ticks the step later */
    char *revert = h_fmt("%s/switches/reads/revert", base);
    json_t *sw = call(w, w->bob, "POST", revert, "{\"reason\":\"p99 doubled\"}", 200);
    assert_string_equal(json_string_value(json_object_get(sw, "position")), "10% dynamodb");
    json_decref(sw);
    wait_applied(w, "reads", "10% dynamodb");
    int64_t half = json_integer_value(json_object_get(json_array_get(reads, 2), "id"));
    char *untick = h_fmt("%s/steps/%lld/untick", base, (long long)half);
    json_decref(call(w, w->alice, "POST", untick, "{\"reason\":\"reverted\"}", 200));
    fly_step(w, json_array_get(reads, 2));
    fly_step(w, json_array_get(reads, 3));
    fly_step(w, json_array_get(reads, 4)); /* dynamodb, critical: moves at the confirm */

    /* writes needs the go of sre and data-stream before it begins */
    char *complete_reads = h_fmt("%s/stages/reads/complete", base);
    json_t *refused = call(w, w->lead, "POST", complete_reads, "{}", 409);
    assert_int_equal(json_array_size(json_object_get(refused, "missing")), 2);
    json_decref(refused);
    char *signoffs = h_fmt("%s/stages/writes/signoffs", base);
    json_decref(call(w, w->bob, "POST", signoffs, "{\"team\":\"sre\",\"decision\":\"go\"}", 201));
    json_decref(
        call(w, w->alice, "POST", signoffs, "{\"team\":\"data-stream\",\"decision\":\"go\"}", 201));
    complete(w, "reads");

    /* a rule: DynamoDB may not become primary before the dual writes were diffed */
    json_t *writes = json_object_get(json_array_get(json_object_get(m, "stages"), 2), "steps");
    fly_step(w, json_array_get(writes, 0));
    int64_t primary = step_id_titled(m, "Make DynamoDB the primary of dual writes");
    char *tick_primary = h_fmt("%s/steps/%lld/tick", base, (long long)primary);
    refused = call(w, w->alice, "POST", tick_primary, "{}", 409);
    assert_string_equal(json_string_value(json_object_get(refused, "detail")),
                        "writes may not pass 'dual (mysql primary)': verification "
                        "'dual-write-diff' has not been done: no step that verifies it is "
                        "ticked");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(refused, "rule"), "beyond")),
        "dual (mysql primary)");
    assert_int_equal(json_array_size(json_object_get(refused, "unmet")), 1);
    json_decref(refused);
    json_array_foreach(writes, i, step) if (i > 0) fly_step(w, step);
    complete(w, "writes");
    json_array_foreach(json_object_get(json_array_get(json_object_get(m, "stages"), 3), "steps"), i,
                       step) fly_step(w, step);
    complete(w, "landing");
    json_array_foreach(json_object_get(json_array_get(json_object_get(m, "stages"), 4), "steps"), i,
                       step) fly_step(w, step);
    complete(w, "shutdown");

    json_t *end = h_get_migration(&w->srv, w->alice, MID);
    assert_string_equal(json_string_value(json_object_get(end, "status")), "closed");
    json_t *sws = json_object_get(end, "switches");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sws, 0), "position")),
                        "dynamodb");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sws, 1), "position")),
                        "dynamodb");
    json_decref(end);
    /* every move called the flag system once, the first one twice (500, then 200): reads moved
     * 5 times (10%, 50%, the revert to 10%, 50% again, dynamodb), writes 3 times */
    assert_int_equal(wh_sink_count(sink), 9);
    json_t *rsw = switch_of(w, "reads");
    assert_int_equal(json_array_size(json_object_get(rsw, "history")), 5);
    json_t *rev = json_array_get(json_object_get(rsw, "history"), 2);
    assert_string_equal(json_string_value(json_object_get(rev, "kind")), "revert");
    assert_string_equal(json_string_value(json_object_get(rev, "reason")), "p99 doubled");
    json_decref(rsw);
    /* closed is closed: no revert any more */
    json_decref(call(w, w->bob, "POST", revert, "{}", 409));
    /* the audit holds the moves and the chain is intact */
    char *verify = h_fmt("%s/audit/verify", base);
    json_t *v = call(w, w->lead, "GET", verify, NULL, 200);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);

    json_decref(m);
    free(verify);
    free(tick_primary);
    free(signoffs);
    free(complete_reads);
    free(untick);
    free(revert);
    free(start);
    free(base);
    stop_clean(w);
    wh_sink_stop(sink);
}

/* ---- export, round trip, templates ---- */

static void round_trip(world *w, const char *file, const char *other)
{
    json_t *plan = h_load_json(file);
    const char *mid = json_string_value(json_object_get(plan, "id"));
    h_resp r;
    h_req_json(&w->srv, "POST", "/api/migrations", w->lead, plan, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    char *path = h_fmt("/api/migrations/%s/plan", mid);
    json_t *first = call(w, w->bob, "GET", path, NULL, 200);
    json_t *copy = json_deep_copy(first);
    json_object_set_new(copy, "id", json_string(other));
    h_req_json(&w->srv, "POST", "/api/migrations", w->lead, copy, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    char *path2 = h_fmt("/api/migrations/%s/plan", other);
    json_t *second = call(w, w->bob, "GET", path2, NULL, 200);
    json_object_set_new(second, "id", json_string(mid));
    if (!json_equal(first, second))
        fail_msg("%s: the export of the copy differs", file);
    json_decref(first);
    json_decref(second);
    json_decref(copy);
    json_decref(plan);
    free(path);
    free(path2);
}

static void plans_round_trip_and_templates(void **state)
{
    world *w = *state;
    start_server(w, NULL);
    round_trip(w, "examples/msk-cluster-replacement.json", "msk-again");
    round_trip(w, "examples/mysql-to-dynamodb.json", "dynamo-again");
    json_decref(call(w, w->bob, "GET", "/api/migrations/nope/plan", NULL, 404));

    /* a template from the first migration, a new draft from the template */
    json_decref(call(w, w->alice, "POST", "/api/templates",
                     "{\"id\":\"dual-write\",\"from_migration\":\"" MID "\"}", 403));
    h_resp r;
    json_t *body = json_pack("{s:s,s:s}", "id", "dual-write", "from_migration", MID);
    h_req_json(&w->srv, "POST", "/api/templates", w->lead, body, NULL, &r);
    H_EXPECT(&r, 201);
    assert_string_equal(h_hdr(&r, "Location"), "/api/templates/dual-write");
    h_resp_free(&r);
    json_decref(body);
    json_t *page = call(w, w->bob, "GET", "/api/templates", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    json_decref(page);
    json_t *tpl = call(w, w->bob, "GET", "/api/templates/dual-write", NULL, 200);
    assert_null(json_object_get(json_object_get(tpl, "plan"), "id"));
    json_decref(tpl);
    body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", "accounts-to-dynamodb", "title",
                     "Accounts to DynamoDB", "window", "start", "2026-06-01T08:00:00Z", "end",
                     "2026-06-02T08:00:00Z");
    h_req_json(&w->srv, "POST", "/api/templates/dual-write/instantiate", w->lead, body, NULL, &r);
    H_EXPECT(&r, 201);
    assert_string_equal(h_hdr(&r, "Location"), "/api/migrations/accounts-to-dynamodb");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "draft");
    assert_int_equal(json_array_size(json_object_get(r.json, "switches")), 2);
    h_resp_free(&r);
    json_decref(body);
    json_decref(call(w, w->lead, "DELETE", "/api/templates/dual-write", NULL, 204));
    json_decref(call(w, w->bob, "GET", "/api/templates/dual-write", NULL, 404));
    stop_clean(w);
}

/* ---- flightdeck plan lint ---- */

static char *write_temp(const char *dir, const char *name, const char *text)
{
    char *path = h_fmt("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void plan_lint_command(void **state)
{
    world *w = *state;
    char *out = NULL, *err = NULL;
    char *good = h_fmt("%s/examples/mysql-to-dynamodb.json", h_repo());
    const char *ok_args[] = {"plan", "lint", good, NULL};
    assert_int_equal(h_run(ok_args, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "a valid plan"));
    assert_non_null(strstr(err, "teams were not checked")); /* offline: said, not guessed */
    free(out);
    free(err);

    /* with --teams, a team outside the list is an error */
    const char *teams_args[] = {"plan", "lint", good, "--teams", "data-stream,sre", NULL};
    assert_int_equal(h_run(teams_args, NULL, &out, &err), 1);
    assert_non_null(strstr(out, "teams[1]: names no team: cloud-platform"));
    free(out);
    free(err);

    char *bad = write_temp(
        w->srv.dir, "bad.json",
        "{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":["
        " {\"key\":\"a\",\"title\":\"A\",\"steps\":[{\"title\":\"s\",\"critical\":1,"
        "  \"switch\":{\"name\":\"reads\",\"position\":\"on\"}}]}],"
        " \"switches\":[{\"name\":\"writes\",\"title\":\"W\",\"positions\":[\"a\",\"b\"]}],"
        " \"rules\":[{\"switch\":\"writes\",\"beyond\":\"b\",\"requires\":[]}]}");
    const char *bad_args[] = {"plan", "lint", bad, NULL};
    assert_int_equal(h_run(bad_args, NULL, &out, &err), 1);
    static const char *const lines[] = {
        "stages[0].steps[0].critical: must be true or false\n",
        "stages[0].steps[0].switch.name: names no switch of this plan: reads",
        "rules[0].beyond: must be a position of writes other than its last",
        "rules[0].requires: must have 1 to 16 elements\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (strstr(out, lines[i]) == NULL)
            fail_msg("plan lint did not print \"%s\":\n%s", lines[i], out);
    assert_non_null(strstr(err, "4 errors"));
    free(out);
    free(err);

    char *broken = write_temp(w->srv.dir, "broken.json", "{\"id\": \"x\",\n  \"title\": }");
    const char *broken_args[] = {"plan", "lint", broken, NULL};
    assert_int_equal(h_run(broken_args, NULL, &out, &err), 1);
    assert_non_null(strstr(out, "(plan): not valid JSON at line 2"));
    free(out);
    free(err);

    const char *missing_args[] = {"plan", "lint", "/nonexistent/plan.json", NULL};
    assert_int_equal(h_run(missing_args, NULL, NULL, NULL), 2);
    const char *usage_args[] = {"plan", "check", NULL};
    assert_int_equal(h_run(usage_args, NULL, NULL, NULL), 2);
    free(good);
    free(bad);
    free(broken);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dynamodb_cutover_flown_to_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(plans_round_trip_and_templates, setup, teardown),
        cmocka_unit_test_setup_teardown(plan_lint_command, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
