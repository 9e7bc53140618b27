/* test_critical_and_clock.c - a critical step is done only when a second person confirms it,
 * and the flight clock calls out an overdue step or stage exactly once. */
#include "gates_fixture.h"

/* ---- two people for a critical step ---- */

static void critical_steps_need_a_second_person(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    fd_ctx ctx;
    json_t *out = NULL;
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, "gates tested elsewhere"));
    int64_t a = step_id(c, "takeoff", 0), b = step_id(c, "takeoff", 1);
    fd_ctx_init(&ctx, &c->sre1, NULL);
    EXPECT(FD_OK, flight_step_action(c->f->st, &ctx, MID, b, FD_STEP_TICK, "flipped", &out));
    assert_string_equal(json_string_value(json_object_get(out, "status")), "awaiting_confirmation");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "by"), "name")),
                        "Alice");
    json_decref(out);
    EXPECT(FD_E_CONFLICT, flight_step_action(c->f->st, &ctx, MID, b, FD_STEP_TICK, NULL, &out));
    assert_non_null(strstr(ctx.problem.detail, "awaits confirmation"));
    fd_problem_clear(&ctx.problem);

    /* the same person cannot confirm; a non-critical or pending step has nothing to confirm */
    EXPECT(FD_E_FORBIDDEN, flight_confirm_step(c->f->st, &ctx, MID, b, NULL, &out));
    assert_string_equal(ctx.problem.detail,
                        "a critical step needs a second person: someone other than Alice must "
                        "confirm");
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &c->sre2, NULL);
    EXPECT(FD_E_CONFLICT, flight_confirm_step(c->f->st, &ctx, MID, a, NULL, &out));
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &c->f->viewer, NULL);
    EXPECT(FD_E_FORBIDDEN, flight_confirm_step(c->f->st, &ctx, MID, b, NULL, &out));
    fd_problem_clear(&ctx.problem);

    /* awaiting blocks the stage; the progress counts it as pending */
    act_ok(c, &c->sre1, a, FD_STEP_TICK);
    EXPECT(FD_E_CONFLICT, lead_do(c, &ctx, 1, "takeoff", "ignored: steps block, not gates"));
    json_t *blocking = json_object_get(ctx.problem.extra, "blocking");
    assert_int_equal(json_array_size(blocking), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(blocking, 0), "status")),
                        "awaiting_confirmation");
    fd_problem_clear(&ctx.problem);

    fd_ctx_init(&ctx, &c->sre2, NULL);
    EXPECT(FD_OK, flight_confirm_step(c->f->st, &ctx, MID, b, "saw the producers move", &out));
    assert_string_equal(json_string_value(json_object_get(out, "status")), "done");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "by"), "name")),
                        "Alice");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "confirmed_by"), "name")), "Bob");
    assert_string_equal(json_string_value(json_object_get(out, "confirmed_at")),
                        "2026-03-10T19:00:00.000Z");
    json_decref(out);
    json_t *ev = last_event(c, "step.confirm");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "actor"), "name")),
                        "Bob");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ev, "before"), "by"), "name")),
                        "Alice");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ev, "after"), "confirmed_by"), "sub")),
                        "bob");
    json_decref(ev);
    EXPECT(FD_E_CONFLICT, flight_confirm_step(c->f->st, &ctx, MID, b, NULL, &out));
    assert_non_null(strstr(ctx.problem.detail, "already confirmed by Bob"));
    fd_problem_clear(&ctx.problem);

    /* untick: back to pending, the confirmation gone; an awaiting step unticks to pending too */
    act_ok(c, &c->f->lead, b, FD_STEP_UNTICK);
    act_ok(c, &c->sre2, b, FD_STEP_TICK);
    fd_ctx_init(&ctx, &c->sre2, NULL);
    EXPECT(FD_OK, flight_step_action(c->f->st, &ctx, MID, b, FD_STEP_UNTICK, NULL, &out));
    assert_string_equal(json_string_value(json_object_get(out, "status")), "pending");
    assert_true(json_is_null(json_object_get(out, "confirmed_by")));
    json_decref(out);
    teardown(c);
}

/* ---- the clock ---- */

static void overdue_fires_once_per_step_and_stage(void **state)
{
    (void)state;
    crew *c = setup(PLAN);
    fd_ctx ctx;
    int64_t t0 = c->f->now;
    EXPECT(FD_OK, lead_do(c, &ctx, 0, NULL, "gates tested elsewhere"));
    int64_t a = step_id(c, "takeoff", 0), b = step_id(c, "takeoff", 1);

    c->f->now = t0 + 5 * 60000;
    assert_int_equal(flight_check_overdue(c->f->st, c->f->now), FD_OK);
    assert_int_equal(count_events(c, "step.overdue"), 0);
    json_t *m = get(c);
    json_t *timing = json_object_get(stage_of(m, "takeoff"), "timing");
    assert_json(timing, "{\"started_at\":\"2026-03-10T19:00:00.000Z\",\"elapsed_minutes\":5,"
                        "\"expected_minutes\":30,\"overdue\":false,\"overdue_steps\":[]}");
    json_decref(m);

    c->f->now = t0 + 11 * 60000; /* step a was due at 10 minutes */
    assert_int_equal(flight_check_overdue(c->f->st, c->f->now), FD_OK);
    assert_int_equal(flight_check_overdue(c->f->st, c->f->now + 1000), FD_OK);
    assert_int_equal(count_events(c, "step.overdue"), 1);
    json_t *ev = last_event(c, "step.overdue");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "actor"), "name")),
                        "flightdeck clock");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "after"), "id")), a);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "after"), "deadline")),
        "2026-03-10T19:10:00.000Z");
    json_decref(ev);
    m = get(c);
    timing = json_object_get(stage_of(m, "takeoff"), "timing");
    json_t *want = json_pack("[I]", (json_int_t)a);
    assert_true(json_equal(json_object_get(timing, "overdue_steps"), want));
    json_decref(want);
    json_decref(m);

    /* ticked late, unticked, past the stage's time: neither step nor stage fires twice */
    act_ok(c, &c->sre1, a, FD_STEP_TICK);
    act_ok(c, &c->sre1, a, FD_STEP_UNTICK);
    c->f->now = t0 + 31 * 60000;
    assert_int_equal(flight_check_overdue(c->f->st, c->f->now), FD_OK);
    assert_int_equal(flight_check_overdue(c->f->st, c->f->now + 60000), FD_OK);
    assert_int_equal(count_events(c, "step.overdue"), 2);
    assert_int_equal(count_events(c, "stage.overdue"), 1);
    ev = last_event(c, "step.overdue");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "after"), "id")), b);
    json_decref(ev);
    m = get(c);
    timing = json_object_get(stage_of(m, "takeoff"), "timing");
    assert_true(json_is_true(json_object_get(timing, "overdue")));
    assert_int_equal(json_integer_value(json_object_get(timing, "elapsed_minutes")), 31);
    assert_int_equal(json_array_size(json_object_get(timing, "overdue_steps")), 2);
    json_decref(m);
    json_t *verdict = NULL;
    assert_int_equal(audit_verify(c->f->st, MID, &verdict), FD_OK);
    assert_true(json_is_true(json_object_get(verdict, "ok")));
    json_decref(verdict);
    teardown(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(critical_steps_need_a_second_person),
        cmocka_unit_test(overdue_fires_once_per_step_and_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
