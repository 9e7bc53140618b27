/* test_flight.c - the flight state machine as a crew lives it: plan, start, tick, complete,
 * land, close; and every refusal, race and retry on the way. */
#include "core_fixture.h"
#include "core/flight.h"
#include "core/store_internal.h"

#define MID "msk"

static const char *const PLAN =
    "{\"id\":\"msk\",\"title\":\"Replace the MSK cluster\",\"owner_team\":\"data-stream\","
    " \"teams\":[\"sre\"],"
    " \"window\":{\"start\":\"2026-03-10T19:00:00Z\",\"end\":\"2026-03-10T23:00:00+00:00\"},"
    " \"dashboards\":[{\"title\":\"Lag\",\"url\":\"https://grafana.example/d/1\"}],"
    " \"stages\":["
    "  {\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "    {\"title\":\"Create msk-v2\",\"owner_team\":\"sre\",\"expected_minutes\":30},"
    "    {\"title\":\"Mirror topics\",\"command\":\"mm2 start\",\"critical\":true}]},"
    "  {\"key\":\"inflight\",\"title\":\"In-flight\",\"steps\":[{\"title\":\"Dual publish\"}]},"
    "  {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Move consumers\"}]},"
    "  {\"key\":\"shutdown\",\"title\":\"Shutdown\",\"steps\":[{\"title\":\"Delete msk-v1\"}]}"
    "]}";

/* ---- helpers ---- */

static fixture *setup_teams(void)
{
    fixture *f = fix_open();
    fix_team(f, "data-stream", "Data Stream");
    fix_team(f, "sre", "Site Reliability");
    fix_team(f, "platform", "Cloud Platform");
    return f;
}

/* Create the plan above as the lead; returns the migration document. */
static json_t *create(fixture *f)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = fix_json(PLAN), *m = NULL;
    fd_err e = flight_create(f->st, &ctx, plan, &m);
    if (e != FD_OK)
        fail_msg("create: %s %s (%s)", fd_err_name(e), ctx.problem.detail, ctx.problem.field);
    json_decref(plan);
    return m;
}

static int64_t step_id(const json_t *m, int stage, int step)
{
    json_t *g = json_array_get(json_object_get(m, "stages"), (size_t)stage);
    return json_integer_value(
        json_object_get(json_array_get(json_object_get(g, "steps"), (size_t)step), "id"));
}

static json_t *get(fixture *f)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *m = NULL;
    assert_int_equal(flight_get(f->st, &ctx, MID, &m), FD_OK);
    return m;
}

static int64_t version(const json_t *doc)
{
    return json_integer_value(json_object_get(doc, "version"));
}

static const char *str(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* Run a call and check its error; the context (problem) is left in *ctx for inspection. */
#define EXPECT(want, call)                                                                         \
    do {                                                                                           \
        fd_err got_ = (call);                                                                      \
        if (got_ != (want))                                                                        \
            fail_msg("%s: got %s (%s), want %s", #call, fd_err_name(got_), ctx.problem.detail,     \
                     fd_err_name(want));                                                           \
    } while (0)

/* Every action's answer is the step as stored: the rules derive it from the step before the
 * change instead of reading it back, so it is compared here with a fresh read, byte for byte
 * (members in the same order). */
static void act_ok(fixture *f, const fd_actor *who, int64_t sid, fd_step_action a, const char *text)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, who, NULL);
    json_t *s = NULL, *again = NULL;
    EXPECT(FD_OK, flight_step_action(f->st, &ctx, MID, sid, a, text, &s));
    EXPECT(FD_OK, flight_get_step(f->st, &ctx, MID, sid, &again));
    char *got = json_dumps(s, JSON_COMPACT), *stored = json_dumps(again, JSON_COMPACT);
    assert_string_equal(got, stored);
    free(got);
    free(stored);
    json_decref(again);
    json_decref(s);
}

/* The second person of a critical step (issue 4): "Mirror topics" in the plan above is critical,
 * so a tick leaves it awaiting confirmation until someone else confirms it. */
static void confirm_ok(fixture *f, const fd_actor *who, int64_t sid)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, who, NULL);
    json_t *s = NULL;
    EXPECT(FD_OK, flight_confirm_step(f->st, &ctx, MID, sid, NULL, &s));
    json_decref(s);
}

static void lead_call_ok(fixture *f, int which, const char *arg)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *m = NULL;
    if (which == 0)
        EXPECT(FD_OK, flight_start(f->st, &ctx, MID, &m));
    else
        EXPECT(FD_OK, flight_complete_stage(f->st, &ctx, MID, arg, &m));
    json_decref(m);
}

/* The actions of the events the sink received, joined by spaces. */
static void sink_actions(fixture *f, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *ev;
    json_array_foreach(f->events, i, ev)
    {
        strncat(out, str(ev, "action"), n - strlen(out) - 1);
        strncat(out, " ", n - strlen(out) - 1);
    }
}

/* ---- the whole flight ---- */

static void whole_flight_from_draft_to_closed(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f);
    assert_string_equal(str(m, "status"), "draft");
    assert_int_equal(version(m), 1);
    assert_string_equal(str(m, "owner_team"), "data-stream");
    json_t *want_teams = fix_json("[\"data-stream\",\"sre\"]"); /* owner added in front */
    assert_true(json_equal(json_object_get(m, "teams"), want_teams));
    json_decref(want_teams);
    assert_string_equal(str(json_object_get(m, "window"), "end"), "2026-03-10T23:00:00.000Z");
    assert_string_equal(str(json_array_get(json_object_get(m, "dashboards"), 0), "kind"), "full");
    json_t *takeoff = json_array_get(json_object_get(m, "stages"), 0);
    assert_string_equal(str(takeoff, "status"), "pending");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(takeoff, "progress"), "total")), 2);
    json_t *s1 = json_array_get(json_object_get(takeoff, "steps"), 1);
    assert_int_equal(json_integer_value(json_object_get(s1, "position")), 2);
    assert_true(json_is_true(json_object_get(s1, "critical")));
    assert_string_equal(str(s1, "command"), "mm2 start");
    assert_string_equal(str(s1, "migration"), MID);
    int64_t a = step_id(m, 0, 0), b = step_id(m, 0, 1), c = step_id(m, 1, 0), d = step_id(m, 2, 0),
            e = step_id(m, 3, 0);
    json_decref(m);

    f->now += 1000;
    lead_call_ok(f, 0, NULL);
    m = get(f);
    assert_string_equal(str(m, "status"), "in_flight");
    assert_string_equal(str(m, "current_stage"), "takeoff");
    assert_string_equal(str(m, "started_at"), "2026-03-10T19:00:01.000Z");
    assert_string_equal(str(json_array_get(json_object_get(m, "stages"), 0), "status"), "active");
    int64_t v = version(m);
    json_decref(m);

    f->now += 1000;
    act_ok(f, &f->alice, a, FD_STEP_TICK, "cluster is up");
    act_ok(f, &f->bob, b, FD_STEP_SKIP, "mirroring not needed for empty topics");
    m = get(f);
    assert_true(version(m) > v);
    json_t *pr = json_object_get(json_array_get(json_object_get(m, "stages"), 0), "progress");
    json_t *want_pr = fix_json("{\"total\":2,\"done\":1,\"skipped\":1,\"failed\":0,\"pending\":0}");
    assert_true(json_equal(pr, want_pr));
    json_decref(want_pr);
    json_t *ticked = json_array_get(
        json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"), 0);
    assert_string_equal(str(ticked, "status"), "done");
    assert_string_equal(str(json_object_get(ticked, "by"), "name"), "Alice");
    assert_string_equal(str(ticked, "at"), "2026-03-10T19:00:02.000Z");
    assert_string_equal(str(ticked, "note"), "cluster is up");
    json_decref(m);

    lead_call_ok(f, 1, "takeoff");
    act_ok(f, &f->alice, c, FD_STEP_TICK, NULL);
    lead_call_ok(f, 1, "inflight");
    m = get(f);
    assert_string_equal(str(m, "status"), "in_flight");
    assert_string_equal(str(m, "current_stage"), "landing");
    json_decref(m);
    act_ok(f, &f->alice, d, FD_STEP_TICK, NULL);
    lead_call_ok(f, 1, "landing");
    m = get(f);
    assert_string_equal(str(m, "status"), "landed"); /* the stage before shutdown completed */
    assert_string_equal(str(m, "current_stage"), "shutdown");
    json_decref(m);
    act_ok(f, &f->bob, e, FD_STEP_TICK, NULL); /* steps still move while landed */
    f->now += 5000;
    lead_call_ok(f, 1, "shutdown");
    m = get(f);
    assert_string_equal(str(m, "status"), "closed");
    assert_true(json_is_null(json_object_get(m, "current_stage")));
    assert_string_equal(str(m, "closed_at"), "2026-03-10T19:00:07.000Z");
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        assert_string_equal(str(g, "status"), "done");
        assert_false(json_is_null(json_object_get(g, "completed_at")));
    }
    json_decref(m);

    char actions[1024];
    sink_actions(f, actions, sizeof actions);
    assert_string_equal(actions, "team.create team.create team.create migration.create "
                                 "migration.start step.tick step.skip stage.complete step.tick "
                                 "stage.complete step.tick stage.complete migration.landed "
                                 "step.tick stage.complete migration.closed ");
    json_t *verdict = NULL;
    assert_int_equal(audit_verify(f->st, MID, &verdict), FD_OK);
    assert_true(json_is_true(json_object_get(verdict, "ok")));
    assert_int_equal(json_integer_value(json_object_get(verdict, "events")), 13);
    json_decref(verdict);
    fix_close(f);
}

/* ---- refusals ---- */

static void roles_are_enforced(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0);
    json_decref(m);
    fd_ctx ctx;
    json_t *plan = fix_json(PLAN);

    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_FORBIDDEN, flight_create(f->st, &ctx, plan, &out));
    assert_non_null(strstr(ctx.problem.detail, "only a lead can create a migration"));
    EXPECT(FD_E_FORBIDDEN, flight_start(f->st, &ctx, MID, &out));
    EXPECT(FD_E_FORBIDDEN, flight_abort(f->st, &ctx, MID, "no", &out));
    json_t *step = fix_json("{\"title\":\"x\"}");
    EXPECT(FD_E_FORBIDDEN, flight_add_step(f->st, &ctx, MID, "takeoff", step, &out));
    EXPECT(FD_E_FORBIDDEN, flight_patch_step(f->st, &ctx, MID, a, step, &out));
    EXPECT(FD_E_FORBIDDEN, flight_delete_step(f->st, &ctx, MID, a));
    fd_problem_clear(&ctx.problem);

    lead_call_ok(f, 0, NULL);
    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_FORBIDDEN, flight_complete_stage(f->st, &ctx, MID, "takeoff", &out));
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->viewer, NULL);
    EXPECT(FD_E_FORBIDDEN, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    assert_non_null(strstr(ctx.problem.detail, "you are viewer"));
    fd_problem_clear(&ctx.problem);
    /* no actor at all */
    fd_ctx_init(&ctx, NULL, NULL);
    EXPECT(FD_E_UNAUTHENTICATED, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(step);
    json_decref(plan);
    fix_close(f);
}

static void steps_move_only_in_the_active_stage(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0), d = step_id(m, 2, 0);
    json_decref(m);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    assert_non_null(strstr(ctx.problem.detail, "has not started"));
    fd_problem_clear(&ctx.problem);
    lead_call_ok(f, 0, NULL);
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, d, FD_STEP_TICK, NULL, &out));
    assert_string_equal(ctx.problem.detail,
                        "stage landing is not active; the active stage is takeoff");
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_NOT_FOUND, flight_step_action(f->st, &ctx, MID, 9999, FD_STEP_TICK, NULL, &out));
    EXPECT(FD_E_NOT_FOUND, flight_step_action(f->st, &ctx, "nope", a, FD_STEP_TICK, NULL, &out));
    fd_problem_clear(&ctx.problem);
    /* completing a stage that is not active says which one is */
    fd_ctx_init(&ctx, &f->lead, NULL);
    EXPECT(FD_E_CONFLICT, flight_complete_stage(f->st, &ctx, MID, "landing", &out));
    assert_non_null(strstr(ctx.problem.detail, "the active stage is takeoff"));
    EXPECT(FD_E_NOT_FOUND, flight_complete_stage(f->st, &ctx, MID, "cruise", &out));
    fd_problem_clear(&ctx.problem);
    fix_close(f);
}

static void skip_needs_reason_fail_needs_note(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0), b = step_id(m, 0, 1);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_INVALID, flight_step_action(f->st, &ctx, MID, a, FD_STEP_SKIP, NULL, &out));
    assert_string_equal(ctx.problem.field, "reason");
    EXPECT(FD_E_INVALID, flight_step_action(f->st, &ctx, MID, a, FD_STEP_SKIP, "", &out));
    EXPECT(FD_E_INVALID, flight_step_action(f->st, &ctx, MID, a, FD_STEP_FAIL, NULL, &out));
    assert_string_equal(ctx.problem.field, "note");
    /* a note that is not UTF-8 cannot be recorded (found by fuzz_export): refused, not dropped */
    EXPECT(FD_E_INVALID, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, "ok \xff", &out));
    assert_string_equal(ctx.problem.field, "note");
    fd_problem_clear(&ctx.problem);

    /* a failed step blocks the stage until it is resolved */
    act_ok(f, &f->alice, a, FD_STEP_FAIL, "brokers unreachable");
    act_ok(f, &f->alice, b, FD_STEP_TICK, NULL);
    confirm_ok(f, &f->bob, b);
    fd_ctx_init(&ctx, &f->lead, NULL);
    EXPECT(FD_E_CONFLICT, flight_complete_stage(f->st, &ctx, MID, "takeoff", &out));
    json_t *blocking = json_object_get(ctx.problem.extra, "blocking");
    assert_int_equal(json_array_size(blocking), 1);
    json_t *want = json_pack("[{s:I,s:s,s:s}]", "id", (json_int_t)a, "title", "Create msk-v2",
                             "status", "failed");
    assert_true(json_equal(blocking, want));
    json_decref(want);
    fd_problem_clear(&ctx.problem);
    act_ok(f, &f->bob, a, FD_STEP_TICK, "fixed the security group");
    lead_call_ok(f, 1, "takeoff");
    fix_close(f);
}

static void untick_own_ticks_only(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    act_ok(f, &f->alice, a, FD_STEP_TICK, NULL);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->bob, NULL);
    EXPECT(FD_E_FORBIDDEN, flight_step_action(f->st, &ctx, MID, a, FD_STEP_UNTICK, NULL, &out));
    assert_non_null(strstr(ctx.problem.detail, "Alice"));
    fd_problem_clear(&ctx.problem);
    act_ok(f, &f->alice, a, FD_STEP_UNTICK, "ticked too early");
    fd_ctx_init(&ctx, &f->alice, NULL);
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, a, FD_STEP_UNTICK, NULL, &out));
    fd_problem_clear(&ctx.problem);
    act_ok(f, &f->alice, a, FD_STEP_TICK, NULL);
    act_ok(f, &f->lead, a, FD_STEP_UNTICK, "lead says redo"); /* leads untick anyone's */
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(flight_get_step(f->st, &ctx, MID, a, &out), FD_OK);
    assert_string_equal(str(out, "status"), "pending");
    assert_string_equal(str(json_object_get(out, "by"), "sub"), "lena");
    assert_string_equal(str(out, "note"), "lead says redo");
    json_decref(out);
    fix_close(f);
}

static void done_steps_cannot_be_edited(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0), b = step_id(m, 0, 1);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    act_ok(f, &f->alice, a, FD_STEP_TICK, NULL);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *patch = fix_json("{\"title\":\"Renamed\"}");
    EXPECT(FD_E_CONFLICT, flight_patch_step(f->st, &ctx, MID, a, patch, &out));
    assert_non_null(strstr(ctx.problem.detail, "untick it"));
    EXPECT(FD_E_CONFLICT, flight_delete_step(f->st, &ctx, MID, a));
    fd_problem_clear(&ctx.problem);

    /* a pending step can be edited and moved; positions stay 1..n */
    json_t *move = fix_json("{\"title\":\"Mirror all topics\",\"position\":1,\"command\":null}");
    EXPECT(FD_OK, flight_patch_step(f->st, &ctx, MID, b, move, &out));
    assert_string_equal(str(out, "title"), "Mirror all topics");
    assert_int_equal(json_integer_value(json_object_get(out, "position")), 1);
    assert_true(json_is_null(json_object_get(out, "command")));
    assert_true(version(out) > 1);
    json_decref(out);
    assert_int_equal(flight_get_step(f->st, &ctx, MID, a, &out), FD_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "position")), 2);
    json_decref(out);
    json_t *badpos = fix_json("{\"position\":3}");
    EXPECT(FD_E_INVALID, flight_patch_step(f->st, &ctx, MID, b, badpos, &out));
    assert_string_equal(ctx.problem.field, "position");
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_OK, flight_delete_step(f->st, &ctx, MID, b));
    assert_int_equal(flight_get_step(f->st, &ctx, MID, a, &out), FD_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "position")), 1);
    json_decref(out);
    EXPECT(FD_E_NOT_FOUND, flight_get_step(f->st, &ctx, MID, b, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(patch);
    json_decref(move);
    json_decref(badpos);
    fix_close(f);
}

static void closed_and_aborted_are_read_only(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0);
    json_decref(m);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    EXPECT(FD_E_INVALID, flight_abort(f->st, &ctx, MID, NULL, &out));
    assert_string_equal(ctx.problem.field, "reason");
    EXPECT(FD_E_INVALID, flight_abort(f->st, &ctx, MID, "", &out));
    lead_call_ok(f, 0, NULL);
    EXPECT(FD_OK, flight_abort(f->st, &ctx, MID, "msk-v2 brokers keep crashing", &out));
    assert_string_equal(str(out, "status"), "aborted");
    assert_string_equal(str(out, "abort_reason"), "msk-v2 brokers keep crashing");
    assert_string_equal(str(out, "current_stage"), "takeoff");
    json_decref(out);
    int64_t seq = audit_last_seq(f->st);

    json_t *patch = fix_json("{\"title\":\"x\"}");
    EXPECT(FD_E_CONFLICT, flight_patch(f->st, &ctx, MID, patch, &out));
    assert_non_null(strstr(ctx.problem.detail, "read-only"));
    EXPECT(FD_E_CONFLICT, flight_abort(f->st, &ctx, MID, "again", &out));
    EXPECT(FD_E_CONFLICT, flight_start(f->st, &ctx, MID, &out));
    EXPECT(FD_E_CONFLICT, flight_complete_stage(f->st, &ctx, MID, "takeoff", &out));
    EXPECT(FD_E_CONFLICT, flight_add_step(f->st, &ctx, MID, "takeoff", patch, &out));
    EXPECT(FD_E_CONFLICT, flight_patch_step(f->st, &ctx, MID, a, patch, &out));
    EXPECT(FD_E_CONFLICT, flight_delete_step(f->st, &ctx, MID, a));
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    fd_problem_clear(&ctx.problem);
    assert_int_equal(audit_last_seq(f->st), seq);

    /* closed: run a one-stage flight to the end */
    json_t *plan = fix_json("{\"id\":\"tiny\",\"title\":\"Tiny\",\"owner_team\":\"sre\","
                            "\"stages\":[{\"key\":\"only\",\"title\":\"Only\"}]}");
    EXPECT(FD_OK, flight_create(f->st, &ctx, plan, &out));
    json_decref(out);
    EXPECT(FD_OK, flight_start(f->st, &ctx, "tiny", &out));
    json_decref(out);
    EXPECT(FD_OK, flight_complete_stage(f->st, &ctx, "tiny", "only", &out));
    assert_string_equal(str(out, "status"), "closed");
    json_decref(out);
    EXPECT(FD_E_CONFLICT, flight_patch(f->st, &ctx, "tiny", patch, &out));
    EXPECT(FD_E_CONFLICT, flight_abort(f->st, &ctx, "tiny", "too late", &out));
    EXPECT(FD_E_CONFLICT, flight_add_step(f->st, &ctx, "tiny", "only", patch, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(plan);
    json_decref(patch);
    fix_close(f);
}

static void start_needs_a_stage_and_a_draft(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = fix_json("{\"id\":\"empty\",\"title\":\"E\",\"owner_team\":\"sre\","
                            "\"stages\":[]}"),
           *out = NULL;
    EXPECT(FD_OK, flight_create(f->st, &ctx, plan, &out));
    json_decref(out);
    EXPECT(FD_E_CONFLICT, flight_start(f->st, &ctx, "empty", &out));
    assert_non_null(strstr(ctx.problem.detail, "at least one"));
    json_decref(plan);
    /* the default plan has the four classic stages */
    plan = fix_json("{\"id\":\"dflt\",\"title\":\"D\",\"owner_team\":\"sre\"}");
    EXPECT(FD_OK, flight_create(f->st, &ctx, plan, &out));
    const char *keys[] = {"takeoff", "inflight", "landing", "shutdown"};
    const char *titles[] = {"Take-off", "In-flight", "Landing", "Shutdown"};
    for (int i = 0; i < 4; i++) {
        json_t *g = json_array_get(json_object_get(out, "stages"), (size_t)i);
        assert_string_equal(str(g, "key"), keys[i]);
        assert_string_equal(str(g, "title"), titles[i]);
        assert_int_equal(json_integer_value(json_object_get(g, "position")), i);
    }
    json_decref(out);
    EXPECT(FD_OK, flight_start(f->st, &ctx, "dflt", &out));
    json_decref(out);
    EXPECT(FD_E_CONFLICT, flight_start(f->st, &ctx, "dflt", &out));
    assert_non_null(strstr(ctx.problem.detail, "already in_flight"));
    fd_problem_clear(&ctx.problem);
    json_decref(plan);
    fix_close(f);
}

/* ---- concurrency ---- */

static void second_tick_names_the_first_ticker(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    assert_int_equal(flight_get_step(f->st, &ctx, MID, a, &out), FD_OK);
    int64_t seen = version(out); /* both engineers look at the same version */
    json_decref(out);
    f->now += 5000;
    ctx.if_match = seen;
    EXPECT(FD_OK, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    json_decref(out);
    fd_ctx_init(&ctx, &f->bob, NULL);
    ctx.if_match = seen;
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    assert_null(out);
    assert_string_equal(ctx.problem.detail, "already ticked by Alice at 2026-03-10T19:00:05.000Z");
    json_t *cur = json_object_get(ctx.problem.extra, "current");
    assert_string_equal(str(cur, "status"), "done");
    assert_string_equal(str(json_object_get(cur, "by"), "sub"), "alice");
    assert_int_equal(json_integer_value(json_object_get(cur, "id")), a);
    fd_problem_clear(&ctx.problem);
    fix_close(f);
}

static void if_match_stale_is_refused(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0), b = step_id(m, 0, 1), v = version(m);
    json_decref(m);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    ctx.if_match = v + 7;
    EXPECT(FD_E_STALE, flight_start(f->st, &ctx, MID, &out));
    assert_int_equal(json_integer_value(json_object_get(ctx.problem.extra, "current_version")), v);
    fd_problem_clear(&ctx.problem);
    ctx.if_match = v;
    EXPECT(FD_OK, flight_start(f->st, &ctx, MID, &out));
    assert_true(version(out) > v);
    json_decref(out);
    json_t *patch = fix_json("{\"title\":\"New title\"}");
    EXPECT(FD_E_STALE, flight_patch(f->st, &ctx, MID, patch, &out)); /* v is old now */
    fd_problem_clear(&ctx.problem);

    /* steps: If-Match names the step's version */
    fd_ctx_init(&ctx, &f->alice, NULL);
    assert_int_equal(flight_get_step(f->st, &ctx, MID, a, &out), FD_OK);
    int64_t sv = version(out);
    json_decref(out);
    ctx.if_match = sv + 1;
    EXPECT(FD_E_STALE, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    assert_int_equal(json_integer_value(json_object_get(ctx.problem.extra, "current_version")), sv);
    fd_problem_clear(&ctx.problem);
    ctx.if_match = sv;
    EXPECT(FD_OK, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    assert_int_equal(version(out), sv + 1);
    json_decref(out);
    fd_ctx_init(&ctx, &f->lead, NULL);
    ctx.if_match = 99;
    EXPECT(FD_E_STALE, flight_patch_step(f->st, &ctx, MID, b, patch, &out));
    EXPECT(FD_E_STALE, flight_delete_step(f->st, &ctx, MID, b));
    fd_problem_clear(&ctx.problem);
    json_decref(patch);
    fix_close(f);
}

static void idempotent_retries_replay(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *first = NULL, *again = NULL;
    int64_t a = step_id(m, 0, 0), b = step_id(m, 0, 1);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    ctx.idem_key = "tick-1";
    ctx.request_hash = "POST /steps/a/tick {}";
    EXPECT(FD_OK, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, "ok", &first));
    assert_int_equal(ctx.replayed, 0);
    int64_t seq = audit_last_seq(f->st);
    size_t delivered = json_array_size(f->events);
    f->now += 10000;
    EXPECT(FD_OK, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, "ok", &again));
    assert_int_equal(ctx.replayed, 1);
    assert_true(json_equal(first, again));
    char *t1 = json_dumps(first, JSON_COMPACT), *t2 = json_dumps(again, JSON_COMPACT);
    assert_string_equal(t1, t2); /* byte for byte, member order included */
    free(t1);
    free(t2);
    assert_int_equal(audit_last_seq(f->st), seq);
    assert_int_equal(json_array_size(f->events), delivered);
    json_decref(again);

    ctx.request_hash = "POST /steps/b/tick {}";
    EXPECT(FD_E_IDEM_MISMATCH, flight_step_action(f->st, &ctx, MID, b, FD_STEP_TICK, NULL, &again));
    assert_non_null(strstr(ctx.problem.detail, "tick-1"));
    fd_problem_clear(&ctx.problem);
    ctx.idem_key = "";
    EXPECT(FD_E_INVALID, flight_step_action(f->st, &ctx, MID, b, FD_STEP_TICK, NULL, &again));
    fd_problem_clear(&ctx.problem);
    assert_int_equal(audit_last_seq(f->st), seq);

    /* a refused request stores nothing: the same key may be used again once it would succeed */
    fd_ctx_init(&ctx, &f->alice, NULL);
    ctx.idem_key = "skip-1";
    ctx.request_hash = "h";
    EXPECT(FD_E_INVALID, flight_step_action(f->st, &ctx, MID, b, FD_STEP_SKIP, NULL, &again));
    EXPECT(FD_OK, flight_step_action(f->st, &ctx, MID, b, FD_STEP_SKIP, "why not", &again));
    assert_int_equal(ctx.replayed, 0);
    json_decref(again);
    fd_problem_clear(&ctx.problem);

    /* deletes replay as well (their stored answer is null) */
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *step = fix_json("{\"title\":\"Extra check\"}"), *added = NULL;
    EXPECT(FD_OK, flight_add_step(f->st, &ctx, MID, "inflight", step, &added));
    int64_t x = json_integer_value(json_object_get(added, "id"));
    json_decref(added);
    ctx.idem_key = "del-1";
    ctx.request_hash = "DELETE x";
    EXPECT(FD_OK, flight_delete_step(f->st, &ctx, MID, x));
    EXPECT(FD_OK, flight_delete_step(f->st, &ctx, MID, x));
    assert_int_equal(ctx.replayed, 1);
    json_decref(step);
    json_decref(first);
    fix_close(f);
}

static void refusals_change_nothing(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f), *out = NULL;
    int64_t a = step_id(m, 0, 0), d = step_id(m, 2, 0);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    act_ok(f, &f->alice, a, FD_STEP_TICK, NULL);
    m = get(f);
    int64_t seq = audit_last_seq(f->st), v = version(m);
    size_t delivered = json_array_size(f->events);
    json_decref(m);

    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->bob, NULL);
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, a, FD_STEP_TICK, NULL, &out));
    EXPECT(FD_E_FORBIDDEN, flight_step_action(f->st, &ctx, MID, a, FD_STEP_UNTICK, NULL, &out));
    EXPECT(FD_E_CONFLICT, flight_step_action(f->st, &ctx, MID, d, FD_STEP_TICK, NULL, &out));
    fd_ctx_init(&ctx, &f->lead, NULL);
    EXPECT(FD_E_CONFLICT, flight_complete_stage(f->st, &ctx, MID, "takeoff", &out));
    json_t *bad = fix_json("{\"title\":\"\"}");
    EXPECT(FD_E_INVALID, flight_patch(f->st, &ctx, MID, bad, &out));
    EXPECT(FD_E_INVALID, flight_add_step(f->st, &ctx, MID, "takeoff", bad, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(bad);

    assert_int_equal(audit_last_seq(f->st), seq);
    assert_int_equal(json_array_size(f->events), delivered);
    m = get(f);
    assert_int_equal(version(m), v);
    json_decref(m);
    fix_close(f);
}

/* The sink hears of an event only once its transaction committed. */
static int sink_saw_open_tx;

static void checking_sink(void *arg, int64_t seq, const char *migration, const char *action,
                          const char *json, size_t len)
{
    fixture *f = arg;
    /* a new transaction can begin only if the one holding the event has ended */
    if (store_begin(f->st) != FD_OK)
        sink_saw_open_tx = 1;
    else
        store_rollback(f->st);
    fix_sink(arg, seq, migration, action, json, len);
}

static void events_reach_the_sink_after_commit_only(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    fd_ports ports = {.clock = {fix_clock, f}, .events = {checking_sink, f}};
    store_set_ports(f->st, &ports);
    json_t *m = create(f);
    json_decref(m);
    json_array_clear(f->events);

    /* written then rolled back: never delivered */
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(store_begin(f->st), FD_OK);
    assert_int_equal(audit_append(f->st, &ctx, MID, "migration.update", "migrations/msk", NULL,
                                  NULL, "will be rolled back"),
                     FD_OK);
    store_rollback(f->st);
    assert_int_equal(json_array_size(f->events), 0);
    int64_t seq = audit_last_seq(f->st);

    /* two events in one transaction arrive after commit, in order */
    lead_call_ok(f, 0, NULL);
    json_t *step = fix_json("{\"title\":\"late\"}"), *out = NULL;
    EXPECT(FD_OK, flight_add_step(f->st, &ctx, MID, "takeoff", step, &out));
    json_decref(out);
    json_decref(step);
    m = get(f);
    for (int i = 0; i < 3; i++)
        act_ok(f, &f->alice, step_id(m, 0, i), FD_STEP_TICK, NULL);
    confirm_ok(f, &f->bob, step_id(m, 0, 1));
    for (int s = 1; s < 3; s++) {
        lead_call_ok(f, 1, s == 1 ? "takeoff" : "inflight");
        act_ok(f, &f->alice, step_id(m, s, 0), FD_STEP_TICK, NULL);
    }
    json_decref(m);
    lead_call_ok(f, 1, "landing");
    assert_false(sink_saw_open_tx);
    char actions[512];
    sink_actions(f, actions, sizeof actions);
    assert_string_equal(actions, "migration.start step.add step.tick step.tick step.tick "
                                 "step.confirm stage.complete step.tick stage.complete step.tick "
                                 "stage.complete migration.landed ");
    size_t i;
    json_t *ev;
    json_array_foreach(f->events, i, ev)
    {
        assert_int_equal(json_integer_value(json_object_get(ev, "seq")), seq + 1 + (int64_t)i);
        assert_string_equal(str(ev, "migration"), MID);
    }
    fix_close(f);
}

/* ---- plans ---- */

static void bad_plans_name_the_path(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_decref(create(f));
    int64_t seq = audit_last_seq(f->st);
    static const struct {
        const char *plan;
        fd_err err;
        const char *field;
    } cases[] = {
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"colour\":1}", FD_E_UNKNOWN_FIELD,
         "colour"},
        {"{\"title\":\"X\",\"owner_team\":\"sre\"}", FD_E_INVALID, "id"},
        {"{\"id\":\"X Y\",\"title\":\"X\",\"owner_team\":\"sre\"}", FD_E_INVALID, "id"},
        {"{\"id\":\"msk\",\"title\":\"X\",\"owner_team\":\"sre\"}", FD_E_EXISTS, "id"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"nobody\"}", FD_E_INVALID, "owner_team"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"teams\":[\"sre\",\"ghost\"]}",
         FD_E_INVALID, "teams[1]"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"teams\":[\"sre\",\"sre\"]}",
         FD_E_INVALID, "teams[1]"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"window\":{\"start\":"
         "\"2026-03-10T19:00:00Z\",\"end\":\"2026-03-10T18:00:00Z\"}}",
         FD_E_INVALID, "window.end"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"window\":{\"start\":\"soon\","
         "\"end\":\"2026-03-10T18:00:00Z\"}}",
         FD_E_INVALID, "window.start"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"dashboards\":[{\"title\":\"d\","
         "\"url\":\"https://g.example\",\"kind\":\"mini\"}]}",
         FD_E_INVALID, "dashboards[0].kind"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"dashboards\":[{\"title\":\"d\","
         "\"url\":\"ftp://g.example\"}]}",
         FD_E_INVALID, "dashboards[0].url"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"a\","
         "\"title\":\"A\"},{\"key\":\"b\",\"title\":\"B\",\"steps\":[{\"details\":\"no "
         "title\"}]}]}",
         FD_E_INVALID, "stages[1].steps[0].title"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"a\","
         "\"title\":\"A\"},{\"key\":\"b\",\"title\":\"B\",\"steps\":[{\"title\":7}]}]}",
         FD_E_INVALID, "stages[1].steps[0].title"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"a\","
         "\"title\":\"A\",\"steps\":[{\"title\":\"t\"},{\"title\":\"t\",\"colour\":1}]}]}",
         FD_E_UNKNOWN_FIELD, "stages[0].steps[1].colour"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"a\","
         "\"title\":\"A\",\"steps\":[{\"title\":\"t\",\"owner_team\":\"ghost\"}]}]}",
         FD_E_INVALID, "stages[0].steps[0].owner_team"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"a\","
         "\"title\":\"A\",\"steps\":[{\"title\":\"t\",\"expected_minutes\":20000}]}]}",
         FD_E_INVALID, "stages[0].steps[0].expected_minutes"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"a\","
         "\"title\":\"A\"},{\"key\":\"a\",\"title\":\"B\"}]}",
         FD_E_INVALID, "stages[1].key"},
        {"{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"sre\",\"stages\":[{\"key\":\"Take Off\","
         "\"title\":\"A\"}]}",
         FD_E_INVALID, "stages[0].key"},
        {"[]", FD_E_BAD_REQUEST, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fd_ctx ctx;
        fd_ctx_init(&ctx, &f->lead, NULL);
        json_t *plan = fix_json(cases[i].plan), *out = NULL;
        fd_err e = flight_create(f->st, &ctx, plan, &out);
        if (e != cases[i].err || strcmp(ctx.problem.field, cases[i].field) != 0)
            fail_msg("case %zu: got %s field '%s' (%s), want %s field '%s'", i, fd_err_name(e),
                     ctx.problem.field, ctx.problem.detail, fd_err_name(cases[i].err),
                     cases[i].field);
        assert_null(out);
        fd_problem_clear(&ctx.problem);
        json_decref(plan);
    }
    assert_int_equal(audit_last_seq(f->st), seq);
    fix_close(f);
}

static void patch_migration_records_changed_fields(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_decref(create(f));
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *patch = fix_json("{\"title\":\"Replace MSK\",\"owner_team\":\"platform\","
                             "\"window\":null,\"stages\":[{\"key\":\"takeoff\",\"title\":"
                             "\"Departure\"}]}"),
           *out = NULL;
    EXPECT(FD_OK, flight_patch(f->st, &ctx, MID, patch, &out));
    assert_string_equal(str(out, "title"), "Replace MSK");
    assert_true(json_is_null(json_object_get(out, "window")));
    json_t *want_teams = fix_json("[\"platform\",\"data-stream\",\"sre\"]");
    assert_true(json_equal(json_object_get(out, "teams"), want_teams));
    json_decref(want_teams);
    assert_string_equal(str(json_array_get(json_object_get(out, "stages"), 0), "title"),
                        "Departure");
    assert_int_equal(version(out), 2);
    json_decref(out);
    json_t *ev = fix_json(str(json_array_get(f->events, json_array_size(f->events) - 1), "json"));
    assert_string_equal(str(ev, "action"), "migration.update");
    json_t *after = json_object_get(ev, "after");
    assert_string_equal(str(after, "title"), "Replace MSK");
    assert_null(json_object_get(after, "description")); /* unchanged fields are not listed */
    assert_string_equal(str(json_object_get(ev, "before"), "owner_team"), "data-stream");
    json_decref(ev);
    json_decref(patch);

    patch = fix_json("{\"stages\":[{\"key\":\"cruise\",\"title\":\"Cruise\"}]}");
    EXPECT(FD_E_INVALID, flight_patch(f->st, &ctx, MID, patch, &out));
    assert_string_equal(ctx.problem.field, "stages[0].key");
    json_decref(patch);
    patch = fix_json("{\"teams\":[\"ghost\"]}");
    EXPECT(FD_E_INVALID, flight_patch(f->st, &ctx, MID, patch, &out));
    assert_string_equal(ctx.problem.field, "teams[0]");
    json_decref(patch);
    patch = fix_json("{\"stages\":[{\"key\":\"takeoff\",\"title\":\"T\",\"steps\":[]}]}");
    EXPECT(FD_E_UNKNOWN_FIELD, flight_patch(f->st, &ctx, MID, patch, &out));
    assert_string_equal(ctx.problem.field, "stages[0].steps");
    fd_problem_clear(&ctx.problem);
    json_decref(patch);
    fix_close(f);
}

static void adding_to_the_active_stage_is_audited(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_decref(create(f));
    lead_call_ok(f, 0, NULL);
    json_t *m = get(f);
    int64_t v = version(m);
    json_decref(m);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *step = fix_json("{\"title\":\"Restart connect workers\",\"owner_team\":\"sre\","
                            "\"expected_minutes\":5}"),
           *out = NULL;
    EXPECT(FD_OK, flight_add_step(f->st, &ctx, MID, "takeoff", step, &out));
    assert_int_equal(json_integer_value(json_object_get(out, "position")), 3);
    assert_string_equal(str(out, "status"), "pending");
    assert_int_equal(version(out), 1);
    json_decref(out);
    m = get(f);
    assert_true(version(m) > v);
    json_decref(m);
    json_t *ev = fix_json(str(json_array_get(f->events, json_array_size(f->events) - 1), "json"));
    assert_string_equal(str(ev, "action"), "step.add");
    assert_string_equal(str(json_object_get(ev, "after"), "title"), "Restart connect workers");
    json_decref(ev);
    EXPECT(FD_E_NOT_FOUND, flight_add_step(f->st, &ctx, MID, "cruise", step, &out));
    ctx.if_match = v; /* the migration has moved on since v */
    EXPECT(FD_E_STALE, flight_add_step(f->st, &ctx, MID, "takeoff", step, &out));
    ctx.if_match = -1;
    fd_problem_clear(&ctx.problem);

    /* a done stage takes no more steps */
    m = get(f);
    for (int i = 0; i < 3; i++)
        act_ok(f, &f->alice, step_id(m, 0, i), FD_STEP_TICK, NULL);
    confirm_ok(f, &f->bob, step_id(m, 0, 1));
    json_decref(m);
    lead_call_ok(f, 1, "takeoff");
    EXPECT(FD_E_CONFLICT, flight_add_step(f->st, &ctx, MID, "takeoff", step, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(step);
    fix_close(f);
}

static void every_change_bumps_versions(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_t *m = create(f);
    int64_t a = step_id(m, 0, 0);
    json_decref(m);
    lead_call_ok(f, 0, NULL);
    int64_t mv = 0, sv = 0;
    const fd_step_action seq[] = {FD_STEP_TICK, FD_STEP_UNTICK, FD_STEP_FAIL, FD_STEP_SKIP,
                                  FD_STEP_UNTICK};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        act_ok(f, &f->alice, a, seq[i], "because");
        m = get(f);
        json_t *s = json_array_get(
            json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"), 0);
        assert_true(version(m) > mv);
        assert_true(version(s) > sv);
        mv = version(m);
        sv = version(s);
        json_decref(m);
    }
    fix_close(f);
}

static void list_and_get(void **state)
{
    (void)state;
    fixture *f = setup_teams();
    json_decref(create(f));
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    const char *ids[] = {"b-mig", "a-mig", "c-mig"};
    for (int i = 0; i < 3; i++) {
        char text[160];
        snprintf(text, sizeof text, "{\"id\":\"%s\",\"title\":\"%s\",\"owner_team\":\"sre\"}",
                 ids[i], ids[i]);
        json_t *plan = fix_json(text), *out = NULL;
        EXPECT(FD_OK, flight_create(f->st, &ctx, plan, &out));
        json_decref(out);
        json_decref(plan);
    }
    lead_call_ok(f, 0, NULL); /* msk in flight */
    json_t *page = NULL;
    EXPECT(FD_OK, flight_list(f->st, &ctx, NULL, NULL, 3, &page));
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(str(json_array_get(items, 0), "id"), "a-mig");
    assert_string_equal(str(page, "next_cursor"), "c-mig");
    /* list items carry stages with progress but no steps */
    json_t *g = json_array_get(json_object_get(json_array_get(items, 0), "stages"), 0);
    assert_non_null(json_object_get(g, "progress"));
    assert_null(json_object_get(g, "steps"));
    json_decref(page);
    EXPECT(FD_OK, flight_list(f->st, &ctx, NULL, "c-mig", 3, &page));
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "id"), "msk");
    json_t *prog = json_object_get(
        json_array_get(json_object_get(json_array_get(items, 0), "stages"), 0), "progress");
    assert_int_equal(json_integer_value(json_object_get(prog, "pending")), 2);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);
    EXPECT(FD_OK, flight_list(f->st, &ctx, "in_flight", NULL, 10, &page));
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    json_decref(page);
    EXPECT(FD_E_INVALID, flight_list(f->st, &ctx, "flying", NULL, 10, &page));
    assert_string_equal(ctx.problem.field, "status");
    EXPECT(FD_E_INVALID, flight_list(f->st, &ctx, NULL, NULL, 0, &page));
    EXPECT(FD_E_INVALID, flight_list(f->st, &ctx, NULL, NULL, 201, &page));
    assert_string_equal(ctx.problem.field, "limit");
    EXPECT(FD_E_NOT_FOUND, flight_get(f->st, &ctx, "nope", &page));
    /* a step id of another migration is not found through this one */
    json_t *m = get(f);
    EXPECT(FD_E_NOT_FOUND, flight_get_step(f->st, &ctx, "a-mig", step_id(m, 0, 0), &page));
    json_decref(m);
    fd_problem_clear(&ctx.problem);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_flight_from_draft_to_closed),
        cmocka_unit_test(roles_are_enforced),
        cmocka_unit_test(steps_move_only_in_the_active_stage),
        cmocka_unit_test(skip_needs_reason_fail_needs_note),
        cmocka_unit_test(untick_own_ticks_only),
        cmocka_unit_test(done_steps_cannot_be_edited),
        cmocka_unit_test(closed_and_aborted_are_read_only),
        cmocka_unit_test(start_needs_a_stage_and_a_draft),
        cmocka_unit_test(second_tick_names_the_first_ticker),
        cmocka_unit_test(if_match_stale_is_refused),
        cmocka_unit_test(idempotent_retries_replay),
        cmocka_unit_test(refusals_change_nothing),
        cmocka_unit_test(events_reach_the_sink_after_commit_only),
        cmocka_unit_test(bad_plans_name_the_path),
        cmocka_unit_test(patch_migration_records_changed_fields),
        cmocka_unit_test(adding_to_the_active_stage_is_audited),
        cmocka_unit_test(every_change_bumps_versions),
        cmocka_unit_test(list_and_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
