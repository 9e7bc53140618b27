/*
 * test_api_handlers.c - the REST handlers of api/ in-process, on an in-memory store with the real
 * migrations, through a fake h2o connection (tests/unit/fake_h2o.h). What a bot would notice:
 * status codes, Location/ETag/Link headers, the documents, refusals as problems, and the audit
 * export streamed in several chunks. The same flows over real HTTP are in tests/integration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/audit.h"
#include "core/flight.h"
#include "core/team.h"
#include "fake_h2o.h"

extern const char *const fd_openapi_texts[];

static fd_store *st;
static fd_actor admin = {.sub = "root", .name = "Root", .role = FD_ROLE_ADMIN, .source = "api"};
static fd_actor lead = {.sub = "lena", .name = "Lena Lead", .role = FD_ROLE_LEAD, .source = "api"};
static fd_actor alice = {.sub = "alice",
                         .name = "Alice",
                         .role = FD_ROLE_ENGINEER,
                         .source = "web",
                         .nteams = 1,
                         .teams = {"data-stream"}};
static fd_actor bob = {.sub = "bob", .name = "Bob", .role = FD_ROLE_ENGINEER, .source = "bot"};
static fd_actor viewer = {.sub = "vic", .name = "Vic", .role = FD_ROLE_VIEWER, .source = "api"};

/* One request through handler `fn` as `actor`; params are the {param} segments in order. */
static fake_conn *run(api_handler_fn fn, const fd_actor *actor, const char *method,
                      const char *path, const char *body, const char *p0, const char *p1)
{
    fake_conn *fc = fake_new(method, path, body);
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.st = st;
    c.actor = actor;
    c.request_id = "test-req";
    c.params[0] = p0;
    c.params[1] = p1;
    c.nparams = (p0 != NULL) + (p1 != NULL);
    fd_ctx_init(&c.ctx, actor, "test-req");
    fn(&c);
    assert_true(fc->complete != 0); /* every handler answers */
    fd_problem_clear(&c.ctx.problem);
    return fc;
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
        fail_msg("status %d, want %d: %.300s", fc->req.res.status, status, fc->body);
}

static void expect_header(fake_conn *fc, const char *name, const char *want)
{
    char *v = fake_res_header(fc, name);
    if (v == NULL)
        fail_msg("no %s header", name);
    assert_string_equal(v, want);
    free(v);
}

static const char *plan_json =
    "{\"id\": \"msk\", \"title\": \"Replace the MSK cluster\", \"owner_team\": \"data-stream\","
    " \"stages\": [{\"key\": \"takeoff\", \"title\": \"Take-off\", \"steps\": ["
    "   {\"title\": \"Announce in #data-stream\"}, {\"title\": \"Freeze deploys\", \"critical\": "
    "true}]},"
    " {\"key\": \"landing\", \"title\": \"Landing\"}]}";

/* Each test starts from a fresh database with team data-stream. */
static int setup(void **state)
{
    (void)state;
    fd_problem p = {0};
    if (store_open(":memory:", &st, &p) != FD_OK) {
        fprintf(stderr, "store_open: %s\n", p.detail);
        fd_problem_clear(&p);
        return -1;
    }
    fake_conn *fc = run(api_teams_create, &admin, "POST", "/api/teams",
                        "{\"slug\": \"data-stream\", \"name\": \"Data Stream\"}", NULL, NULL);
    int ok = fc->req.res.status == 201;
    fake_free(fc);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_close(st);
    st = NULL;
    return 0;
}

/* Create the plan above as the lead; returns the id of the first take-off step. */
static int64_t create_plan(void)
{
    fake_conn *fc =
        run(api_migrations_create, &lead, "POST", "/api/migrations", plan_json, NULL, NULL);
    expect_status(fc, 201);
    json_t *m = body_json(fc);
    json_t *steps = json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps");
    int64_t sid = json_integer_value(json_object_get(json_array_get(steps, 0), "id"));
    json_decref(m);
    fake_free(fc);
    return sid;
}

static void test_team_create_get_list(void **state)
{
    (void)state;
    fake_conn *fc = run(
        api_teams_create, &admin, "POST", "/api/teams",
        "{\"slug\": \"platform\", \"name\": \"Platform\", \"channel\": \"#platform\"}", NULL, NULL);
    expect_status(fc, 201);
    expect_header(fc, "location", "/api/teams/platform");
    expect_header(fc, "etag", "\"1\"");
    fake_free(fc);

    fc = run(api_team_get, &viewer, "GET", "/api/teams/platform", NULL, "platform", NULL);
    expect_status(fc, 200);
    expect_header(fc, "etag", "\"1\"");
    json_t *t = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(t, "channel")), "#platform");
    json_decref(t);
    fake_free(fc);

    /* two teams, one per page: the first page links to the second */
    fc = run(api_teams_list, &viewer, "GET", "/api/teams?limit=1", NULL, NULL, NULL);
    expect_status(fc, 200);
    char *link = fake_res_header(fc, "link");
    assert_non_null(link);
    assert_non_null(strstr(link, "rel=\"next\""));
    assert_non_null(strstr(link, "/api/teams?limit=1&cursor="));
    free(link);
    json_t *page = body_json(fc);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    json_decref(page);
    fake_free(fc);

    /* an engineer may not create teams; a missing team is 404 */
    fc = run(api_teams_create, &alice, "POST", "/api/teams", "{\"slug\": \"x\", \"name\": \"X\"}",
             NULL, NULL);
    expect_status(fc, 403);
    fake_free(fc);
    fc = run(api_team_get, &viewer, "GET", "/api/teams/nope", NULL, "nope", NULL);
    expect_status(fc, 404);
    expect_header(fc, "content-type", "application/problem+json");
    fake_free(fc);
}

static void test_migration_flight(void **state)
{
    (void)state;
    int64_t sid = create_plan();
    char sidbuf[24];
    snprintf(sidbuf, sizeof sidbuf, "%lld", (long long)sid);

    fake_conn *fc =
        run(api_migration_get, &viewer, "GET", "/api/migrations/msk", NULL, "msk", NULL);
    expect_status(fc, 200);
    char *etag = fake_res_header(fc, "etag");
    assert_non_null(etag);
    free(etag);
    fake_free(fc);

    /* a step of a stage that is not active cannot be ticked */
    fc = run(api_step_tick, &alice, "POST", "/x", NULL, "msk", sidbuf);
    expect_status(fc, 409);
    fake_free(fc);

    fc = run(api_migration_start, &lead, "POST", "/api/migrations/msk/start", NULL, "msk", NULL);
    expect_status(fc, 200);
    json_t *m = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "in_flight");
    json_decref(m);
    fake_free(fc);

    fc = run(api_step_tick, &alice, "POST", "/x", "{\"note\": \"posted\"}", "msk", sidbuf);
    expect_status(fc, 200);
    json_t *step = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(step, "status")), "done");
    assert_string_equal(json_string_value(json_object_get(step, "note")), "posted");
    assert_string_equal(json_string_value(json_object_get(json_object_get(step, "by"), "name")),
                        "Alice");
    json_decref(step);
    fake_free(fc);

    /* Bob was second: 409 naming who ticked it */
    fc = run(api_step_tick, &bob, "POST", "/x", NULL, "msk", sidbuf);
    expect_status(fc, 409);
    assert_non_null(strstr(fc->body, "Alice"));
    fake_free(fc);

    /* skip needs a reason; a viewer may not tick; ids that are not ids are 404 */
    fc = run(api_step_skip, &bob, "POST", "/x", "{}", "msk", sidbuf);
    expect_status(fc, 422);
    json_t *p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "field")), "reason");
    json_decref(p);
    fake_free(fc);
    fc = run(api_step_tick, &viewer, "POST", "/x", NULL, "msk", sidbuf);
    expect_status(fc, 403);
    fake_free(fc);
    const char *bad_ids[] = {"abc", "0", "-1", "9007199254740993", "1e3", NULL};
    for (int i = 0; bad_ids[i] != NULL; i++) {
        fc = run(api_step_get, &viewer, "GET", "/x", NULL, "msk", bad_ids[i]);
        expect_status(fc, 404);
        fake_free(fc);
    }
    fc = run(api_step_tick, &alice, "POST", "/x", "{\"note\": 1}", "msk", sidbuf);
    expect_status(fc, 422);
    fake_free(fc);
    fc = run(api_step_tick, &alice, "POST", "/x", "{\"colour\": \"red\"}", "msk", sidbuf);
    expect_status(fc, 400);
    fake_free(fc);

    /* completing with a pending step is refused; abort needs a reason */
    fc = run(api_stage_complete, &lead, "POST", "/x", NULL, "msk", "takeoff");
    expect_status(fc, 409);
    fake_free(fc);
    fc = run(api_migration_abort, &lead, "POST", "/x", "{}", "msk", NULL);
    expect_status(fc, 422);
    fake_free(fc);
    fc = run(api_migration_abort, &lead, "POST", "/x", "{\"reason\": \"broker lag\"}", "msk", NULL);
    expect_status(fc, 200);
    m = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "aborted");
    json_decref(m);
    fake_free(fc);
}

static void test_steps_add_patch_delete(void **state)
{
    (void)state;
    create_plan();
    fake_conn *fc = run(api_step_add, &lead, "POST", "/x", "{\"title\": \"Drain consumers\"}",
                        "msk", "takeoff");
    expect_status(fc, 201);
    json_t *step = body_json(fc);
    char want[96], sidbuf[24];
    int64_t sid = json_integer_value(json_object_get(step, "id"));
    snprintf(sidbuf, sizeof sidbuf, "%lld", (long long)sid);
    snprintf(want, sizeof want, "/api/migrations/msk/steps/%s", sidbuf);
    expect_header(fc, "location", want);
    json_decref(step);
    fake_free(fc);

    /* plans name their mistakes by JSON path */
    fc = run(api_step_add, &lead, "POST", "/x", "{\"title\": 5}", "msk", "takeoff");
    expect_status(fc, 422);
    json_t *p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "field")), "title");
    json_decref(p);
    fake_free(fc);

    fc = run(api_step_patch, &lead, "PATCH", "/x", "{\"title\": \"Drain all consumers\"}", "msk",
             sidbuf);
    expect_status(fc, 200);
    step = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(step, "title")), "Drain all consumers");
    json_decref(step);
    fake_free(fc);

    fc = run(api_step_delete, &lead, "DELETE", "/x", NULL, "msk", sidbuf);
    expect_status(fc, 204);
    assert_int_equal(fc->body_len, 0);
    fake_free(fc);
    fc = run(api_step_get, &lead, "GET", "/x", NULL, "msk", sidbuf);
    expect_status(fc, 404);
    fake_free(fc);
}

static void test_migrations_list_filters(void **state)
{
    (void)state;
    create_plan();
    fake_conn *fc =
        run(api_migrations_list, &viewer, "GET", "/api/migrations?status=draft", NULL, NULL, NULL);
    expect_status(fc, 200);
    json_t *page = body_json(fc);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    json_decref(page);
    fake_free(fc);

    fc =
        run(api_migrations_list, &viewer, "GET", "/api/migrations?status=closed", NULL, NULL, NULL);
    expect_status(fc, 200);
    page = body_json(fc);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);
    fake_free(fc);

    fc =
        run(api_migrations_list, &viewer, "GET", "/api/migrations?status=flying", NULL, NULL, NULL);
    expect_status(fc, 400);
    fake_free(fc);
}

/* The CSV export's rows are formatted on a worker thread, chunks read ahead while the previous
 * one is formatted: the body is exactly what core's inline export writes, for a log of many
 * chunks (the fake asks for the next chunk from inside each send, the hardest order), for one
 * of one chunk, and for an empty one. */
static void test_audit_export_csv_worker(void **state)
{
    (void)state;
    create_plan();
    fd_ctx ctx;
    /* ~4 KB of CSV an event: 400 events are several of the worker's chunks */
    char details[3001];
    for (int i = 0; i < 3000; i++)
        details[i] = "say \"hi\", {x} \\ \n"[i % 17];
    details[3000] = '\0';
    for (int i = 0; i < 400; i++) {
        char title[96];
        snprintf(title, sizeof title, "Step %d, with \"quotes\", commas and =formula", i);
        json_t *in = json_pack("{s:s, s:s}", "title", title, "details", details);
        json_t *out = NULL;
        fd_ctx_init(&ctx, &lead, NULL);
        assert_int_equal(flight_add_step(st, &ctx, "msk", "landing", in, &out), FD_OK);
        json_decref(in);
        json_decref(out);
        fd_problem_clear(&ctx.problem);
    }
    static const char *const paths[] = {"/x?format=csv", "/x?format=csv&after=399",
                                        "/x?format=csv&after=999999"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        /* the reference: core's export, formatted inline */
        audit_cursor cur;
        int64_t after = i == 0 ? 0 : i == 1 ? 399 : 999999;
        assert_int_equal(audit_cursor_open(st, "msk", after, FD_AUDIT_CSV, &cur), FD_OK);
        fd_buf want = {0};
        for (int done = 0; !done;)
            assert_int_equal(audit_export_chunk(st, &cur, &want, 64 * 1024, &done), FD_OK);

        fake_conn *fc = run(api_audit_export, &viewer, "GET", paths[i], NULL, "msk", NULL);
        expect_status(fc, 200);
        assert_int_equal(fc->complete, 1);
        assert_int_equal(fake_dechunk(fc), 0);
        if (i == 0)
            assert_true(fc->sends >= 3); /* several chunks: the pipeline ran */
        assert_int_equal(fc->body_len, want.len);
        assert_memory_equal(fc->body, want.data, want.len);
        fake_free(fc);
        fd_buf_free(&want);
    }
}

/* The export of a long log arrives in several chunks, complete and in order. */
static void test_audit_export_streams(void **state)
{
    (void)state;
    create_plan();
    fd_ctx ctx;
    for (int i = 0; i < 300; i++) {
        char title[64];
        snprintf(title, sizeof title, "Check consumer group %d is drained and lag is zero", i);
        json_t *in = json_pack("{s:s, s:s}", "title", title, "details",
                               "Look at the lag panel of the overview dashboard; every partition "
                               "must read zero for one minute before you tick.");
        json_t *out = NULL;
        fd_ctx_init(&ctx, &lead, NULL);
        assert_int_equal(flight_add_step(st, &ctx, "msk", "landing", in, &out), FD_OK);
        json_decref(in);
        json_decref(out);
        fd_problem_clear(&ctx.problem);
    }

    fake_conn *fc = run(api_audit_export, &viewer, "GET", "/api/migrations/msk/audit?format=ndjson",
                        NULL, "msk", NULL);
    expect_status(fc, 200);
    expect_header(fc, "content-type", "application/x-ndjson");
    assert_int_equal(fc->complete, 1);
    assert_int_equal(fake_dechunk(fc), 0); /* no Content-Length: chunked on HTTP/1.1 */
    assert_true(fc->body_len > 64 * 1024);
    assert_true(fc->sends >= 2); /* streamed, not one buffer */
    int lines = 0;
    int64_t last = 0;
    for (char *line = fc->body; *line != '\0';) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        json_t *ev = json_loadb(line, (size_t)(nl - line), 0, NULL);
        if (ev == NULL)
            fail_msg("line %d is not JSON: %.300s", lines + 1, line);
        assert_non_null(ev);
        int64_t seq = json_integer_value(json_object_get(ev, "seq"));
        assert_true(seq > last);
        last = seq;
        json_decref(ev);
        lines++;
        line = nl + 1;
    }
    assert_int_equal(lines, 301); /* migration.create + 300 step.add */
    fake_free(fc);

    /* the default format is one JSON array */
    fc = run(api_audit_export, &viewer, "GET", "/api/migrations/msk/audit", NULL, "msk", NULL);
    expect_status(fc, 200);
    expect_header(fc, "content-type", "application/json");
    assert_int_equal(fake_dechunk(fc), 0);
    json_t *all = body_json(fc);
    assert_int_equal(json_array_size(all), 301);
    json_decref(all);
    fake_free(fc);

    /* after= skips what the client has; csv is an attachment */
    fc = run(api_audit_export, &viewer, "GET", "/x?format=csv&after=999999", NULL, "msk", NULL);
    expect_status(fc, 200);
    expect_header(fc, "content-type", "text/csv; charset=utf-8");
    expect_header(fc, "content-disposition", "attachment; filename=\"msk-audit.csv\"");
    fake_free(fc);

    fc = run(api_audit_export, &viewer, "GET", "/x?format=xml", NULL, "msk", NULL);
    expect_status(fc, 400);
    fake_free(fc);
    fc = run(api_audit_export, &viewer, "GET", "/x", NULL, "nope", NULL);
    expect_status(fc, 404);
    fake_free(fc);

    fc = run(api_audit_verify, &viewer, "GET", "/x", NULL, "msk", NULL);
    expect_status(fc, 200);
    json_t *report = body_json(fc);
    assert_true(json_is_true(json_object_get(report, "ok")));
    assert_int_equal(json_integer_value(json_object_get(report, "events")), 301);
    json_decref(report);
    fake_free(fc);
}

static void test_misc(void **state)
{
    (void)state;
    fake_conn *fc = run(api_me, &alice, "GET", "/api/me", NULL, NULL, NULL);
    expect_status(fc, 200);
    json_t *me = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(me, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(me, "role")), "engineer");
    assert_string_equal(json_string_value(json_object_get(me, "source")), "web");
    assert_string_equal(json_string_value(json_array_get(json_object_get(me, "teams"), 0)),
                        "data-stream");
    json_decref(me);
    fake_free(fc);

    fc = run(api_healthz, NULL, "GET", "/healthz", NULL, NULL, NULL);
    expect_status(fc, 200);
    fake_free(fc);

    fc = run(api_openapi, NULL, "GET", "/api/openapi.yaml", NULL, NULL, NULL);
    expect_status(fc, 200);
    expect_header(fc, "content-type", "application/yaml");
    assert_string_equal(fc->body, fd_openapi_texts[0]);
    fake_free(fc);
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
        cmocka_unit_test_setup_teardown(test_team_create_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps_add_patch_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_export_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_export_csv_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
