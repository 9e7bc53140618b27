/* test_gates.c - gates as a crew lives them: a quorum is people, a go is bound to the plan it
 * approved, a no-go blocks, the refusal lists exactly what is missing, and briefings are
 * acknowledged per plan revision. Two-person steps and the clock: test_critical_and_clock.c. */
#include "gates_fixture.h"

/* ---- plans carry sign-off requirements ---- */

static void plan_round_trips_signoff_fields(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    json_t *m = get(c);
    json_t *t = stage_of(m, "takeoff");
    assert_json(json_object_get(t, "signoffs_required"),
                "[{\"team\":\"sre\",\"count\":2},{\"team\":\"dba\",\"count\":1}]");
    assert_true(json_is_false(json_object_get(t, "allow_shared_signers")));
    assert_int_equal(json_integer_value(json_object_get(t, "expected_minutes")), 30);
    assert_true(json_is_false(json_object_get(json_object_get(t, "gate"), "satisfied")));
    assert_true(json_is_null(json_object_get(t, "timing"))); /* not active yet */
    json_t *landing = stage_of(m, "landing");
    assert_json(json_object_get(landing, "signoffs_required"), "[]");
    assert_true(json_is_true(json_object_get(json_object_get(landing, "gate"), "satisfied")));
    assert_true(json_is_null(json_object_get(landing, "expected_minutes")));
    assert_int_equal(json_integer_value(json_object_get(m, "plan_rev")), 1);
    json_decref(m);
    teardown(c);

    /* a stage's own time, shared signers; and the refusals name the path */
    fixture *f = fix_open();
    fix_team(f, "data-stream", "Data Stream");
    fix_team(f, "sre", "SRE");
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = fix_json("{\"id\":\"x\",\"title\":\"X\",\"owner_team\":\"data-stream\","
                            "\"stages\":[{\"key\":\"a\",\"title\":\"A\",\"expected_minutes\":45,"
                            "\"allow_shared_signers\":true,"
                            "\"signoffs\":[{\"team\":\"data-stream\",\"count\":3}]}]}");
    json_t *out = NULL;
    EXPECT(FD_OK, flight_create(f->st, &ctx, plan, &out));
    json_t *a = json_array_get(json_object_get(out, "stages"), 0);
    assert_int_equal(json_integer_value(json_object_get(a, "expected_minutes")), 45);
    assert_true(json_is_true(json_object_get(a, "allow_shared_signers")));
    assert_json(json_object_get(a, "signoffs_required"),
                "[{\"team\":\"data-stream\",\"count\":3}]");
    json_decref(out);
    json_decref(plan);
    static const struct {
        const char *stages, *field;
    } bad[] = {
        {"[{\"key\":\"a\",\"title\":\"A\",\"signoffs\":[{\"team\":\"sre\"}]}]",
         "stages[0].signoffs[0].team"}, /* sre is not an affected team of this plan */
        {"[{\"key\":\"a\",\"title\":\"A\",\"signoffs\":[{\"team\":\"data-stream\",\"count\":0}]}]",
         "stages[0].signoffs[0].count"},
        {"[{\"key\":\"a\",\"title\":\"A\",\"signoffs\":[{\"team\":\"data-stream\"},"
         "{\"team\":\"data-stream\"}]}]",
         "stages[0].signoffs[1].team"},
        {"[{\"key\":\"a\",\"title\":\"A\",\"allow_shared_signers\":\"yes\"}]",
         "stages[0].allow_shared_signers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[400];
        snprintf(text, sizeof text,
                 "{\"id\":\"y\",\"title\":\"Y\",\"owner_team\":\"data-stream\",\"stages\":%s}",
                 bad[i].stages);
        plan = fix_json(text);
        fd_ctx_init(&ctx, &f->lead, NULL);
        EXPECT(FD_E_INVALID, flight_create(f->st, &ctx, plan, &out));
        assert_string_equal(ctx.problem.field, bad[i].field);
        fd_problem_clear(&ctx.problem);
        json_decref(plan);
    }
    fix_close(f);
}

/* ---- quorum, shared signers, who may sign ---- */

static void quorum_is_two_different_people(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":0,\"reason\":\"no sign-off\"},"
                   "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no sign-off\"}]");
    sign_ok(c, &c->sre1, "takeoff", "sre", "go");
    sign_ok(c, &c->sre1, "takeoff", "sre", "go"); /* the same person twice is still one */
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":1,\"reason\":\"no sign-off\"},"
                   "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no sign-off\"}]");
    fd_ctx ctx;
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 0, NULL, NULL));
    assert_json(json_object_get(ctx.problem.extra, "signoffs_missing"),
                "[{\"team\":\"sre\",\"need\":2,\"have\":1,\"reason\":\"no sign-off\"},"
                "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no sign-off\"}]");
    assert_non_null(strstr(ctx.problem.detail, "sre has 1 of 2 go"));
    fd_problem_clear(&ctx.problem);

    sign_ok(c, &c->sre2, "takeoff", "sre", "go");
    sign_ok(c, &c->dba1, "takeoff", "dba", "go");
    json_t *m = get(c);
    json_t *gate = json_object_get(stage_of(m, "takeoff"), "gate");
    assert_true(json_is_true(json_object_get(gate, "satisfied")));
    json_t *sre = json_array_get(json_object_get(gate, "teams"), 0);
    assert_string_equal(json_string_value(json_object_get(sre, "status")), "go");
    assert_int_equal(json_integer_value(json_object_get(sre, "have")), 2);
    json_t *signers = json_object_get(sre, "signers");
    assert_int_equal(json_array_size(signers), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(signers, 1), "name")),
                        "Bob");
    assert_true(json_is_true(json_object_get(json_object_get(m, "start_gate"), "satisfied")));
    json_decref(m);
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, NULL));
    json_t *ev = last_event(c, "signoff.create");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "after"), "team")),
                        "dba");
    json_decref(ev);
    teardown(c);
}

static void one_person_counts_for_one_team(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    sign_ok(c, &c->both, "takeoff", "sre", "go");
    fd_ctx ctx;
    EXPECT(FD_E_CONFLICT, sign(c, &ctx, &c->both, "takeoff", "dba", "go", NULL));
    assert_non_null(
        strstr(ctx.problem.detail, "Dave already signed off stage takeoff for team sre"));
    assert_non_null(json_object_get(ctx.problem.extra, "current"));
    fd_problem_clear(&ctx.problem);
    assert_int_equal(count_events(c, "signoff.create"), 1); /* the refusal changed nothing */

    /* the lead allows shared signers: a plan change, so Dave's go is stale and must be renewed */
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    json_t *body = fix_json("{\"allow_shared_signers\":true}"), *m = NULL;
    EXPECT(FD_OK, gates_stage_patch(c->f->st, &ctx, MID, "takeoff", body, &m));
    json_decref(body);
    assert_int_equal(json_integer_value(json_object_get(m, "plan_rev")), 2);
    json_decref(m);
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":0,\"reason\":\"stale\"},"
                   "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no sign-off\"}]");
    sign_ok(c, &c->both, "takeoff", "sre", "go");
    sign_ok(c, &c->both, "takeoff", "dba", "go");
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":1,\"reason\":\"no sign-off\"}]");
    teardown(c);
}

static void members_sign_admins_only_with_an_override(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    fd_ctx ctx;
    EXPECT(FD_E_FORBIDDEN, sign(c, &ctx, &c->sre1, "takeoff", "dba", "go", NULL));
    assert_non_null(strstr(ctx.problem.detail, "only members of team dba"));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_FORBIDDEN, sign(c, &ctx, &c->f->admin, "takeoff", "dba", "go", NULL));
    assert_non_null(strstr(ctx.problem.detail, "override_reason"));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_FORBIDDEN, sign(c, &ctx, &c->f->lead, "takeoff", "dba", "go", "I said so"));
    fd_problem_clear(&ctx.problem);
    fd_actor viewer = c->f->viewer;
    join(&viewer, "dba");
    EXPECT(FD_E_FORBIDDEN, sign(c, &ctx, &viewer, "takeoff", "dba", "go", NULL));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_INVALID, sign(c, &ctx, &c->dba1, "takeoff", "dba", "maybe", NULL));
    assert_string_equal(ctx.problem.field, "decision");
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_INVALID, sign(c, &ctx, &c->owner, "takeoff", "data-stream", "go", NULL));
    assert_string_equal(ctx.problem.field, "team");
    assert_non_null(strstr(ctx.problem.detail, "it needs: sre, dba"));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_NOT_FOUND, sign(c, &ctx, &c->dba1, "cruise", "dba", "go", NULL));
    fd_problem_clear(&ctx.problem);
    assert_int_equal(count_events(c, "signoff.create") + count_events(c, "signoff.override"), 0);

    EXPECT(FD_OK, sign(c, &ctx, &c->f->admin, "takeoff", "dba", "go", "dba on-call unreachable"));
    json_t *ev = last_event(c, "signoff.override");
    assert_string_equal(json_string_value(json_object_get(ev, "note")), "dba on-call unreachable");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "actor"), "sub")),
                        "root");
    json_decref(ev);
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":0,\"reason\":\"no sign-off\"}]");
    teardown(c);
}

/* ---- bound to the plan; no-go ---- */

static void a_changed_stage_makes_its_signoffs_stale(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    sign_ok(c, &c->sre1, "takeoff", "sre", "go");
    sign_ok(c, &c->sre2, "takeoff", "sre", "go");
    sign_ok(c, &c->dba1, "takeoff", "dba", "go");
    sign_ok(c, &c->dba1, "inflight", "dba", "go");
    assert_missing(c, "takeoff", "[]");

    /* the lead edits a take-off step: every take-off go was given to another plan */
    fd_ctx ctx;
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    json_t *body = fix_json("{\"expected_minutes\":15}"), *out = NULL;
    EXPECT(FD_OK, flight_patch_step(c->f->st, &ctx, MID, step_id(c, "takeoff", 0), body, &out));
    json_decref(body);
    json_decref(out);
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":0,\"reason\":\"stale\"},"
                   "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"stale\"}]");
    assert_missing(c, "inflight", "[]"); /* another stage's content did not change */
    json_t *m = get(c);
    assert_int_equal(json_integer_value(json_object_get(m, "plan_rev")), 2);
    json_t *sre = json_array_get(
        json_object_get(json_object_get(stage_of(m, "takeoff"), "gate"), "teams"), 0);
    assert_string_equal(json_string_value(json_object_get(sre, "status")), "stale");
    assert_true(
        json_is_true(json_object_get(json_array_get(json_object_get(sre, "signers"), 0), "stale")));
    json_decref(m);

    /* a title change of the stage is not a plan change; new requirements are */
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    body = fix_json("{\"title\":\"Take-off!\"}");
    EXPECT(FD_OK, gates_stage_patch(c->f->st, &ctx, MID, "inflight", body, &out));
    assert_int_equal(json_integer_value(json_object_get(out, "plan_rev")), 2);
    assert_string_equal(json_string_value(json_object_get(stage_of(out, "inflight"), "title")),
                        "Take-off!");
    json_decref(out);
    json_decref(body);
    body = fix_json("{\"signoffs\":[{\"team\":\"dba\",\"count\":2}]}");
    EXPECT(FD_OK, gates_stage_patch(c->f->st, &ctx, MID, "inflight", body, &out));
    json_decref(body);
    json_decref(out);
    assert_missing(c, "inflight",
                   "[{\"team\":\"dba\",\"need\":2,\"have\":0,\"reason\":\"stale\"}]");
    json_t *ev = last_event(c, "stage.update");
    assert_json(json_object_get(ev, "before"), "{\"signoffs\":[{\"team\":\"dba\",\"count\":1}]}");
    json_decref(ev);
    teardown(c);
}

static void a_no_go_blocks_until_a_new_go(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    sign_ok(c, &c->sre1, "takeoff", "sre", "go");
    sign_ok(c, &c->sre2, "takeoff", "sre", "go");
    sign_ok(c, &c->dba1, "takeoff", "dba", "no_go");
    assert_missing(c, "takeoff", "[{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no_go\"}]");
    fd_ctx ctx;
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 0, NULL, NULL));
    assert_non_null(strstr(ctx.problem.detail, "dba said no-go"));
    fd_problem_clear(&ctx.problem);
    sign_ok(c, &c->dba1, "takeoff", "dba", "go");
    assert_missing(c, "takeoff", "[]");

    /* Alice changes her mind: sre's latest word is no-go, whatever Bob said before */
    sign_ok(c, &c->sre1, "takeoff", "sre", "no_go");
    assert_missing(c, "takeoff", "[{\"team\":\"sre\",\"need\":2,\"have\":1,\"reason\":\"no_go\"}]");
    /* Bob's new go lifts the no-go, but Alice's latest is still no-go: one go of two */
    sign_ok(c, &c->sre2, "takeoff", "sre", "go");
    assert_missing(c, "takeoff",
                   "[{\"team\":\"sre\",\"need\":2,\"have\":1,\"reason\":\"no sign-off\"}]");
    teardown(c);
}

/* ---- the gate on completing a stage ---- */

static void completing_needs_the_next_stages_go(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    fd_ctx ctx;
    json_t *out = NULL;
    sign_ok(c, &c->sre1, "takeoff", "sre", "go");
    sign_ok(c, &c->sre2, "takeoff", "sre", "go");
    sign_ok(c, &c->dba1, "takeoff", "dba", "go");
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, NULL));
    int64_t a = step_id(c, "takeoff", 0), b = step_id(c, "takeoff", 1);
    act_ok(c, &c->sre1, a, FD_STEP_TICK);
    act_ok(c, &c->sre1, b, FD_STEP_TICK);
    fd_ctx_init(&ctx, &c->sre2, NULL);
    EXPECT(FD_OK, flight_confirm_step(c->f->st, &ctx, MID, b, NULL, &out));
    json_decref(out);

    /* sign-offs of the active stage are allowed; of a done one not (below) */
    sign_ok(c, &c->dba1, "takeoff", "dba", "go");
    int before = (int)json_array_size(c->f->events);
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 1, "takeoff", NULL));
    assert_json(json_object_get(ctx.problem.extra, "missing"),
                "[{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no sign-off\"}]");
    assert_string_equal(json_string_value(json_object_get(ctx.problem.extra, "stage")), "inflight");
    assert_non_null(strstr(ctx.problem.detail, "stage inflight cannot begin"));
    fd_problem_clear(&ctx.problem);
    assert_int_equal((int)json_array_size(c->f->events), before); /* nothing changed */
    json_t *m = get(c);
    assert_string_equal(json_string_value(json_object_get(m, "current_stage")), "takeoff");
    json_decref(m);

    /* a lead's override moves on, recorded and audited */
    EXPECT(FD_OK, lead_do(c, &ctx, 1, "takeoff", "dba lead approved by phone"));
    json_t *ev = last_event(c, "gate.override");
    assert_string_equal(json_string_value(json_object_get(ev, "note")),
                        "dba lead approved by phone");
    assert_json(json_object_get(json_object_get(ev, "after"), "missing"),
                "[{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no sign-off\"}]");
    json_decref(ev);
    m = get(c);
    assert_string_equal(json_string_value(json_object_get(m, "current_stage")), "inflight");
    json_t *ov = json_array_get(json_object_get(m, "gate_overrides"), 0);
    assert_string_equal(json_string_value(json_object_get(ov, "kind")), "complete");
    assert_string_equal(json_string_value(json_object_get(ov, "stage")), "inflight");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ov, "by"), "name")),
                        "Lena Lead");
    json_decref(m);
    EXPECT(FD_E_CONFLICT, sign(c, &ctx, &c->dba1, "takeoff", "dba", "go", NULL));
    assert_non_null(strstr(ctx.problem.detail, "is done"));
    fd_problem_clear(&ctx.problem);

    /* landing needs nothing; the last stage needs no next gate */
    act_ok(c, &c->dba1, step_id(c, "inflight", 0), FD_STEP_TICK);
    EXPECT(FD_OK, lead_do(c, &ctx, 1, "inflight", NULL));
    act_ok(c, &c->dba1, step_id(c, "landing", 0), FD_STEP_TICK);
    EXPECT(FD_OK, lead_do(c, &ctx, 1, "landing", NULL));
    act_ok(c, &c->dba1, step_id(c, "shutdown", 0), FD_STEP_TICK);
    EXPECT(FD_OK, lead_do(c, &ctx, 1, "shutdown", NULL));
    json_t *verdict = NULL;
    assert_int_equal(audit_verify(c->f->st, MID, &verdict), FD_OK);
    assert_true(json_is_true(json_object_get(verdict, "ok")));
    json_decref(verdict);
    teardown(c);
}

static void stage_patch_only_before_the_stage_begins(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    fd_ctx ctx;
    json_t *out = NULL, *body = fix_json("{\"expected_minutes\":50}");
    fd_ctx_init(&ctx, &c->sre1, NULL);
    EXPECT(FD_E_FORBIDDEN, gates_stage_patch(c->f->st, &ctx, MID, "takeoff", body, &out));
    fd_problem_clear(&ctx.problem);
    json_t *bad = fix_json("{\"colour\":\"red\"}");
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    EXPECT(FD_E_UNKNOWN_FIELD, gates_stage_patch(c->f->st, &ctx, MID, "takeoff", bad, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(bad);
    bad = fix_json("{\"signoffs\":[{\"team\":\"nobody\"}]}");
    EXPECT(FD_E_INVALID, gates_stage_patch(c->f->st, &ctx, MID, "takeoff", bad, &out));
    assert_string_equal(ctx.problem.field, "signoffs[0].team");
    fd_problem_clear(&ctx.problem);
    json_decref(bad);
    EXPECT(FD_OK, gates_stage_patch(c->f->st, &ctx, MID, "takeoff", body, &out));
    assert_int_equal(
        json_integer_value(json_object_get(stage_of(out, "takeoff"), "expected_minutes")), 50);
    assert_int_equal(json_integer_value(json_object_get(out, "plan_rev")), 1); /* time only */
    json_decref(out);
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, "gates tested elsewhere"));
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    EXPECT(FD_E_CONFLICT, gates_stage_patch(c->f->st, &ctx, MID, "takeoff", body, &out));
    assert_non_null(strstr(ctx.problem.detail, "is active"));
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    teardown(c);
}

/* ---- briefings and the start gate ---- */

static int64_t brief(crew *c, const char *teams)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    char text[300];
    snprintf(text, sizeof text,
             "{\"title\":\"Take-off briefing\",\"at\":\"2026-03-09T15:00:00Z\",\"notes\":\"runbook "
             "v3\",\"teams\":%s}",
             teams);
    json_t *body = fix_json(text), *b = NULL;
    EXPECT(FD_OK, gates_briefing_create(c->f->st, &ctx, MID, body, &b));
    json_decref(body);
    int64_t id = json_integer_value(json_object_get(b, "id"));
    json_decref(b);
    return id;
}

static fd_err ack(crew *c, fd_ctx *ctx, const fd_actor *who, int64_t bid, const char *team)
{
    fd_ctx_init(ctx, who, NULL);
    json_t *body = json_pack("{s:s}", "team", team), *out = NULL;
    fd_err e = gates_briefing_ack(c->f->st, ctx, MID, bid, body, &out);
    json_decref(body);
    json_decref(out);
    return e;
}

static void start_needs_fresh_acknowledgements(void **state)
{
    (void)state;
    crew *c = setup(PLAN_PLAIN);
    fd_ctx ctx;
    json_t *out = NULL;
    int64_t bid = brief(c, "[\"sre\",\"dba\"]");
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 0, NULL, NULL));
    assert_json(
        json_object_get(ctx.problem.extra, "missing"),
        "[{\"team\":\"data-stream\",\"need\":1,\"have\":0,\"reason\":\"no acknowledgement\"},"
        "{\"team\":\"sre\",\"need\":1,\"have\":0,\"reason\":\"no acknowledgement\"},"
        "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"no acknowledgement\"}]");
    assert_json(json_object_get(ctx.problem.extra, "unresolved_feedback"), "[]");
    fd_problem_clear(&ctx.problem);

    /* who may acknowledge */
    EXPECT(FD_E_FORBIDDEN, ack(c, &ctx, &c->sre1, bid, "dba"));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_INVALID, ack(c, &ctx, &c->owner, bid, "data-stream")); /* not in this briefing */
    assert_string_equal(ctx.problem.field, "team");
    fd_problem_clear(&ctx.problem);
    fd_actor viewer = c->f->viewer;
    join(&viewer, "sre");
    EXPECT(FD_E_FORBIDDEN, ack(c, &ctx, &viewer, bid, "sre"));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_E_NOT_FOUND, ack(c, &ctx, &c->sre1, bid + 100, "sre"));
    fd_problem_clear(&ctx.problem);

    EXPECT(FD_OK, ack(c, &ctx, &c->sre1, bid, "sre"));
    EXPECT(FD_E_CONFLICT, ack(c, &ctx, &c->sre1, bid, "sre"));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_OK, ack(c, &ctx, &c->dba1, bid, "dba"));
    int64_t bid2 = brief(c, "[\"data-stream\"]"); /* any briefing counts */
    EXPECT(FD_OK, ack(c, &ctx, &c->owner, bid2, "data-stream"));

    /* feedback blocks until resolved */
    fd_ctx_init(&ctx, &c->sre2, NULL);
    json_t *body = fix_json("{\"text\":\"who restarts connect workers?\"}");
    EXPECT(FD_OK, gates_feedback_add(c->f->st, &ctx, MID, bid, body, &out));
    json_decref(body);
    int64_t fid = json_integer_value(json_object_get(out, "id"));
    assert_true(json_is_false(json_object_get(out, "resolved")));
    json_decref(out);
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 0, NULL, NULL));
    assert_json(json_object_get(ctx.problem.extra, "missing"), "[]");
    json_t *want =
        json_pack("[{s:I,s:s}]", "id", (json_int_t)fid, "text", "who restarts connect workers?");
    assert_true(json_equal(json_object_get(ctx.problem.extra, "unresolved_feedback"), want));
    json_decref(want);
    fd_problem_clear(&ctx.problem);

    /* the lead resolves it by adding a step: a plan change, so every acknowledgement is stale */
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    body = fix_json("{\"title\":\"Restart connect workers\",\"owner_team\":\"sre\"}");
    EXPECT(FD_OK, flight_add_step(c->f->st, &ctx, MID, "takeoff", body, &out));
    json_decref(body);
    int64_t sid = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    body = json_pack("{s:s,s:I}", "resolution", "added a step", "step_id", (json_int_t)sid);
    fd_ctx_init(&ctx, &c->sre1, NULL);
    EXPECT(FD_E_FORBIDDEN, gates_feedback_resolve(c->f->st, &ctx, MID, bid, fid, body, &out));
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &c->f->lead, NULL);
    EXPECT(FD_OK, gates_feedback_resolve(c->f->st, &ctx, MID, bid, fid, body, &out));
    assert_true(json_is_true(json_object_get(out, "resolved")));
    assert_int_equal(json_integer_value(json_object_get(out, "step_id")), sid);
    json_decref(out);
    EXPECT(FD_E_CONFLICT, gates_feedback_resolve(c->f->st, &ctx, MID, bid, fid, body, &out));
    fd_problem_clear(&ctx.problem);
    json_decref(body);

    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 0, NULL, NULL));
    assert_json(json_object_get(ctx.problem.extra, "missing"),
                "[{\"team\":\"data-stream\",\"need\":1,\"have\":0,\"reason\":\"stale\"},"
                "{\"team\":\"sre\",\"need\":1,\"have\":0,\"reason\":\"stale\"},"
                "{\"team\":\"dba\",\"need\":1,\"have\":0,\"reason\":\"stale\"}]");
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &c->f->viewer, NULL);
    json_t *b = NULL;
    EXPECT(FD_OK, gates_briefing_get(c->f->st, &ctx, MID, bid, &b));
    assert_int_equal(json_integer_value(json_object_get(b, "plan_rev")), 2);
    json_t *first = json_array_get(json_object_get(b, "acks"), 0);
    assert_true(json_is_true(json_object_get(first, "stale")));
    assert_int_equal(json_integer_value(json_object_get(first, "plan_rev")), 1);
    assert_int_equal(json_array_size(json_object_get(b, "feedback")), 1);
    json_decref(b);

    /* everyone acknowledges the new plan: take-off */
    EXPECT(FD_OK, ack(c, &ctx, &c->sre1, bid, "sre"));
    EXPECT(FD_OK, ack(c, &ctx, &c->dba1, bid, "dba"));
    EXPECT(FD_OK, ack(c, &ctx, &c->owner, bid2, "data-stream"));
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, NULL));
    assert_int_equal(count_events(c, "gate.override"), 0);
    assert_int_equal(count_events(c, "briefing.ack"), 6);
    teardown(c);
}

static void start_override_is_audited(void **state)
{
    (void)state;
    crew *c = setup(PLAN_PLAIN);
    fd_ctx ctx;
    brief(c, "[\"sre\"]");
    fd_ctx_init(&ctx, &c->f->viewer, NULL);
    json_t *list = NULL;
    EXPECT(FD_OK, gates_briefing_list(c->f->st, &ctx, MID, &list));
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    json_t *m = get(c);
    assert_true(json_is_false(json_object_get(json_object_get(m, "start_gate"), "satisfied")));
    json_decref(m);
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 0, NULL, ""));
    fd_problem_clear(&ctx.problem);
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, "window closes at 20:00"));
    json_t *ev = last_event(c, "gate.override");
    json_t *after = json_object_get(ev, "after");
    assert_string_equal(json_string_value(json_object_get(after, "kind")), "start");
    assert_int_equal(json_array_size(json_object_get(json_object_get(after, "missing"), "missing")),
                     3);
    json_decref(ev);
    m = get(c);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "in_flight");
    assert_true(json_is_null(json_object_get(m, "start_gate")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(m, "gate_overrides"), 0), "reason")),
                        "window closes at 20:00");
    json_decref(m);
    teardown(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_round_trips_signoff_fields),
        cmocka_unit_test(quorum_is_two_different_people),
        cmocka_unit_test(one_person_counts_for_one_team),
        cmocka_unit_test(members_sign_admins_only_with_an_override),
        cmocka_unit_test(a_changed_stage_makes_its_signoffs_stale),
        cmocka_unit_test(a_no_go_blocks_until_a_new_go),
        cmocka_unit_test(completing_needs_the_next_stages_go),
        cmocka_unit_test(stage_patch_only_before_the_stage_begins),
        cmocka_unit_test(start_needs_fresh_acknowledgements),
        cmocka_unit_test(start_override_is_audited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
