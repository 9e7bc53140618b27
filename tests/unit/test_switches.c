/* test_switches.c - cutover switches as a dual-write crew lives them: switch steps move flags,
 * rules hold writes back until reads are across and a verification is fresh, a revert is one
 * action at any time, and a flag-system move counts only once the flag system said yes. */
#include "core_fixture.h"
#include "core/flight.h"
#include "core/switches.h"

#define MID "cut"
#define HOUR 3600000LL

static const char *const PLAN =
    "{\"id\":\"cut\",\"title\":\"Cutover\",\"owner_team\":\"data-stream\",\"teams\":[\"sre\"],"
    " \"stages\":["
    "  {\"key\":\"prep\",\"title\":\"Prep\",\"steps\":["
    "    {\"title\":\"Count rows\",\"verifies\":\"row-counts\"}]},"
    "  {\"key\":\"reads\",\"title\":\"Reads\",\"steps\":["
    "    {\"title\":\"Reads to half\",\"switch\":{\"name\":\"reads\",\"position\":\"50% "
    "dynamodb\"}},"
    "    {\"title\":\"Reads across\",\"critical\":true,"
    "     \"switch\":{\"name\":\"reads\",\"position\":\"dynamodb\"}}]},"
    "  {\"key\":\"writes\",\"title\":\"Writes\",\"steps\":["
    "    {\"title\":\"Dual writes\",\"switch\":{\"name\":\"writes\","
    "     \"position\":\"dual (mysql primary)\"}},"
    "    {\"title\":\"DynamoDB primary\",\"switch\":{\"name\":\"writes\","
    "     \"position\":\"dual (dynamodb primary)\"}},"
    "    {\"title\":\"Recount rows\",\"verifies\":\"row-counts\"}]},"
    "  {\"key\":\"done\",\"title\":\"Done\",\"steps\":[{\"title\":\"Tell everyone\"}]}],"
    " \"switches\":["
    "  {\"name\":\"reads\",\"title\":\"Reads\","
    "   \"positions\":[\"mysql\",\"10% dynamodb\",\"50% dynamodb\",\"dynamodb\"],"
    "   \"action\":{\"method\":\"PUT\",\"url\":\"https://flags.example/reads\","
    "     \"headers\":{\"Authorization\":\"Bearer {{secret:FLAGS}}\"},"
    "     \"body\":{\"flag\":\"{{switch}}\",\"value\":\"{{position}}\","
    "               \"note\":\"{{migration}}: {{switch}} to {{position}}\",\"n\":1}}},"
    "  {\"name\":\"writes\",\"title\":\"Writes\","
    "   \"positions\":[\"mysql\",\"dual (mysql primary)\",\"dual (dynamodb primary)\","
    "                  \"dynamodb\"]}],"
    " \"rules\":[{\"switch\":\"writes\",\"beyond\":\"dual (mysql primary)\",\"requires\":["
    "   {\"switch\":\"reads\",\"at_least\":\"dynamodb\"},"
    "   {\"verification\":\"row-counts\",\"within_hours\":24}]}]}";

/* ---- helpers ---- */

static json_t *get(fixture *f)
{
    fd_ctx ctx;
    json_t *m = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(flight_get(f->st, &ctx, MID, &m), FD_OK);
    return m;
}

static int64_t sid_of(fixture *f, const char *title)
{
    json_t *m = get(f);
    size_t i, k;
    json_t *g, *s;
    int64_t id = -1;
    json_array_foreach(json_object_get(m, "stages"), i, g)
        json_array_foreach(json_object_get(g, "steps"), k,
                           s) if (strcmp(json_string_value(json_object_get(s, "title")), title) ==
                                  0) id = json_integer_value(json_object_get(s, "id"));
    json_decref(m);
    if (id < 0)
        fail_msg("no step %s", title);
    return id;
}

/* The switch `name` from the migration document (owned). */
static json_t *sw(fixture *f, const char *name)
{
    json_t *m = get(f), *found = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(m, "switches"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
        found = json_incref(s);
    json_decref(m);
    assert_non_null(found);
    return found;
}

static const char *pos(fixture *f, const char *name)
{
    static char buf[128];
    json_t *s = sw(f, name);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(s, "position")));
    json_decref(s);
    return buf;
}

static int flag(fixture *f, const char *name, const char *key)
{
    json_t *s = sw(f, name);
    int v = json_is_true(json_object_get(s, key));
    json_decref(s);
    return v;
}

/* Run a step action as `who`; on failure the detail is copied to `detail` (may be NULL). */
static fd_err act(fixture *f, const fd_actor *who, const char *title, fd_step_action a,
                  const char *text, char *detail)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, who, NULL);
    fd_err e = flight_step_action(f->st, &ctx, MID, sid_of(f, title), a, text, &out);
    if (detail != NULL)
        snprintf(detail, 512, "%s", ctx.problem.detail);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    return e;
}

static void tick_ok(fixture *f, const fd_actor *who, const char *title)
{
    char d[512];
    fd_err e = act(f, who, title, FD_STEP_TICK, NULL, d);
    if (e != FD_OK)
        fail_msg("tick %s: %s %s", title, fd_err_name(e), d);
}

static void confirm_ok(fixture *f, const fd_actor *who, const char *title)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, who, NULL);
    fd_err e = flight_confirm_step(f->st, &ctx, MID, sid_of(f, title), NULL, &out);
    if (e != FD_OK)
        fail_msg("confirm %s: %s %s", title, fd_err_name(e), ctx.problem.detail);
    json_decref(out);
}

static void complete_ok(fixture *f, const char *stage)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    fd_err e = flight_complete_stage(f->st, &ctx, MID, stage, &out);
    if (e != FD_OK)
        fail_msg("complete %s: %s %s", stage, fd_err_name(e), ctx.problem.detail);
    json_decref(out);
}

static fixture *setup_flight(void)
{
    fixture *f = fix_open();
    fix_team(f, "data-stream", "Data Stream");
    fix_team(f, "sre", "Site Reliability");
    fd_ctx ctx;
    json_t *plan = fix_json(PLAN), *m = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    fd_err e = flight_create(f->st, &ctx, plan, &m);
    if (e != FD_OK)
        fail_msg("create: %s %s (%s)", fd_err_name(e), ctx.problem.detail, ctx.problem.field);
    json_decref(m);
    json_decref(plan);
    assert_int_equal(flight_start(f->st, &ctx, MID, &m), FD_OK);
    json_decref(m);
    return f;
}

/* Up to the writes stage: rows counted (at the clock's now), reads at 50%, "Reads across"
 * skipped. */
static fixture *setup_writes(void)
{
    fixture *f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads to half");
    assert_int_equal(act(f, &f->alice, "Reads across", FD_STEP_SKIP, "later", NULL), FD_OK);
    complete_ok(f, "reads");
    return f;
}

static size_t count_events(fixture *f, const char *action)
{
    size_t n = 0, i;
    json_t *ev;
    json_array_foreach(f->events, i, ev) n +=
        strcmp(json_string_value(json_object_get(ev, "action")), action) == 0;
    return n;
}

/* The last event of `action` as an object. */
static json_t *last_event(fixture *f, const char *action)
{
    json_t *found = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(
        f->events, i, ev) if (strcmp(json_string_value(json_object_get(ev, "action")), action) == 0)
        found = ev;
    assert_non_null(found);
    return json_loads(json_string_value(json_object_get(found, "json")), 0, NULL);
}

/* The switches document (GET switches). */
static json_t *list(fixture *f)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(switches_list(f->st, &ctx, MID, &out), FD_OK);
    return out;
}

/* ---- moves by switch steps ---- */

static void ticking_a_switch_step_moves_its_switch(void **state)
{
    (void)state;
    fixture *f = setup_flight();
    assert_string_equal(pos(f, "writes"), "mysql");
    assert_true(flag(f, "writes", "applied"));
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    f->now += 60000;
    tick_ok(f, &f->bob, "Reads to half");

    json_t *s = sw(f, "reads");
    assert_string_equal(json_string_value(json_object_get(s, "position")), "50% dynamodb");
    assert_int_equal(json_integer_value(json_object_get(s, "index")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(s, "moved_by"), "sub")),
                        "bob");
    assert_string_equal(json_string_value(json_object_get(s, "moved_at")),
                        "2026-03-10T19:01:00.000Z");
    /* its action is a flag call: recorded, not applied until the flag system answers */
    assert_false(json_is_true(json_object_get(s, "applied")));
    assert_true(json_is_true(json_object_get(s, "pending")));
    assert_null(json_object_get(s, "action")); /* the document never shows the call's headers */
    json_decref(s);

    json_t *ev = last_event(f, "switch.move");
    assert_string_equal(json_string_value(json_object_get(ev, "target")),
                        "migrations/cut/switches/reads");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "before"), "position")), "mysql");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "after"), "position")),
        "50% dynamodb");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "after"), "step")),
                     sid_of(f, "Reads to half"));
    json_decref(ev);

    /* GET switches: the history, and the rules the matrix shows */
    json_t *l = list(f);
    json_t *reads = json_array_get(json_object_get(l, "items"), 0);
    json_t *h = json_object_get(reads, "history");
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "kind")), "move");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(h, 0), "call"), "status")),
        "pending");
    assert_int_equal(json_array_size(json_object_get(l, "rules")), 1);
    json_decref(l);

    /* unticking the step does not move the switch back: a revert does */
    assert_int_equal(act(f, &f->bob, "Reads to half", FD_STEP_UNTICK, NULL, NULL), FD_OK);
    assert_string_equal(pos(f, "reads"), "50% dynamodb");
    fix_close(f);
}

static void a_critical_switch_step_moves_when_confirmed(void **state)
{
    (void)state;
    fixture *f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads across");
    assert_string_equal(pos(f, "reads"), "mysql"); /* one person is not enough */
    assert_int_equal(count_events(f, "switch.move"), 0);
    confirm_ok(f, &f->bob, "Reads across");
    assert_string_equal(pos(f, "reads"), "dynamodb");
    assert_int_equal(count_events(f, "switch.move"), 1);
    fix_close(f);
}

/* ---- rules ---- */

static void rules_hold_writes_until_reads_are_across(void **state)
{
    (void)state;
    fixture *f = setup_writes();
    tick_ok(f, &f->alice, "Dual writes"); /* nothing gates the first move */
    assert_string_equal(pos(f, "writes"), "dual (mysql primary)");
    assert_true(flag(f, "writes", "applied")); /* no action: moved by hand, applied at once */

    size_t events = json_array_size(f->events);
    char d[512];
    assert_int_equal(act(f, &f->alice, "DynamoDB primary", FD_STEP_TICK, NULL, d), FD_E_CONFLICT);
    assert_string_equal(d, "writes may not pass 'dual (mysql primary)': reads must be at "
                           "'dynamodb' (now '50% dynamodb')");
    /* refused: nothing moved, the step is still to do, nothing was recorded */
    assert_string_equal(pos(f, "writes"), "dual (mysql primary)");
    assert_int_equal(json_array_size(f->events), events);
    json_t *m = get(f);
    json_t *writes = json_array_get(json_object_get(m, "stages"), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(writes, "steps"), 1), "status")),
                        "pending");
    json_decref(m);

    /* reality happens: the lead adds a step to the active stage that moves reads across */
    fd_ctx ctx;
    json_t *step = fix_json("{\"title\":\"Reads across now\","
                            "\"switch\":{\"name\":\"reads\",\"position\":\"dynamodb\"}}"),
           *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(flight_add_step(f->st, &ctx, MID, "writes", step, &out), FD_OK);
    json_decref(out);
    json_decref(step);
    tick_ok(f, &f->alice, "Reads across now");
    assert_string_equal(pos(f, "reads"), "dynamodb");

    /* the verification was done 30 hours ago: stale */
    f->now += 30 * HOUR;
    assert_int_equal(act(f, &f->alice, "DynamoDB primary", FD_STEP_TICK, NULL, d), FD_E_CONFLICT);
    assert_string_equal(d, "writes may not pass 'dual (mysql primary)': verification 'Count rows' "
                           "was ticked 30 hours ago; it must be within 24 hours");
    /* a fresh verification opens the way */
    f->now += HOUR;
    tick_ok(f, &f->bob, "Recount rows");
    f->now += 23 * HOUR; /* 23 h later: still within 24 */
    tick_ok(f, &f->alice, "DynamoDB primary");
    assert_string_equal(pos(f, "writes"), "dual (dynamodb primary)");
    fix_close(f);
}

static void a_verification_never_done_is_named(void **state)
{
    (void)state;
    fixture *f = setup_flight();
    /* skip the count: no step that verifies row-counts is done */
    assert_int_equal(act(f, &f->alice, "Count rows", FD_STEP_SKIP, "no time", NULL), FD_OK);
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads across");
    confirm_ok(f, &f->bob, "Reads across");
    assert_int_equal(act(f, &f->alice, "Reads to half", FD_STEP_SKIP, "went straight", NULL),
                     FD_OK);
    complete_ok(f, "reads");
    tick_ok(f, &f->alice, "Dual writes");
    char d[512];
    assert_int_equal(act(f, &f->alice, "DynamoDB primary", FD_STEP_TICK, NULL, d), FD_E_CONFLICT);
    assert_non_null(strstr(d, "verification 'row-counts' has not been done"));
    assert_null(strstr(d, "reads must be")); /* reads is across: only what is unmet is said */
    fix_close(f);
}

/* ---- revert ---- */

static fd_err revert(fixture *f, const fd_actor *who, const char *name, const char *to,
                     const char *reason, char *detail)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, who, NULL);
    fd_err e = switches_revert(f->st, &ctx, MID, name, to, reason, &out);
    if (detail != NULL)
        snprintf(detail, 512, "%s", ctx.problem.detail);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    return e;
}

static void revert_goes_back_in_one_action_never_gated(void **state)
{
    (void)state;
    fixture *f = setup_writes();
    tick_ok(f, &f->alice, "Dual writes");
    char d[512];
    /* a viewer cannot; an engineer can, one position back, whatever the rules say */
    assert_int_equal(revert(f, &f->viewer, "writes", NULL, NULL, d), FD_E_FORBIDDEN);
    assert_int_equal(revert(f, &f->bob, "writes", NULL, "errors on writes", NULL), FD_OK);
    assert_string_equal(pos(f, "writes"), "mysql");
    json_t *ev = last_event(f, "switch.revert");
    assert_string_equal(json_string_value(json_object_get(ev, "note")), "errors on writes");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "actor"), "sub")),
                        "bob");
    char *line = webhook_event_text(ev); /* what chat and slack webhooks show */
    assert_string_equal(line, "cut: Bob reverted switch writes to 'mysql' (errors on writes)");
    free(line);
    json_decref(ev);
    /* already at the first position */
    assert_int_equal(revert(f, &f->bob, "writes", NULL, NULL, d), FD_E_CONFLICT);
    assert_string_equal(d, "writes is at its first position 'mysql': there is nothing to revert "
                           "to");
    /* to a named earlier position, in one action */
    assert_string_equal(pos(f, "reads"), "50% dynamodb");
    assert_int_equal(revert(f, &f->alice, "reads", "50% dynamodb", NULL, d), FD_E_CONFLICT);
    assert_int_equal(revert(f, &f->alice, "reads", "dynamodb", NULL, d), FD_E_CONFLICT);
    assert_non_null(strstr(d, "a revert only moves back"));
    assert_int_equal(revert(f, &f->alice, "reads", "warp", NULL, d), FD_E_INVALID);
    assert_int_equal(revert(f, &f->alice, "reads", "mysql", NULL, NULL), FD_OK);
    assert_string_equal(pos(f, "reads"), "mysql");
    assert_int_equal(revert(f, &f->alice, "nope", NULL, NULL, d), FD_E_NOT_FOUND);

    json_t *l = list(f);
    json_t *h = json_object_get(json_array_get(json_object_get(l, "items"), 0), "history");
    assert_int_equal(json_array_size(h), 2); /* to 50% by the step, back to mysql */
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "kind")), "revert");
    json_decref(l);
    fix_close(f);
}

static void revert_works_after_abort_but_not_once_closed(void **state)
{
    (void)state;
    fixture *f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads to half");
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(flight_abort(f->st, &ctx, MID, "DynamoDB throttles", &out), FD_OK);
    json_decref(out);
    /* the flight is over, the flags must still come back */
    assert_int_equal(revert(f, &f->bob, "reads", "mysql", NULL, NULL), FD_OK);
    assert_string_equal(pos(f, "reads"), "mysql");
    fix_close(f);

    f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads across");
    confirm_ok(f, &f->bob, "Reads across");
    assert_int_equal(act(f, &f->alice, "Reads to half", FD_STEP_SKIP, "went straight", NULL),
                     FD_OK);
    complete_ok(f, "reads");
    tick_ok(f, &f->alice, "Dual writes");
    tick_ok(f, &f->alice, "DynamoDB primary");
    tick_ok(f, &f->alice, "Recount rows");
    complete_ok(f, "writes");
    tick_ok(f, &f->alice, "Tell everyone");
    complete_ok(f, "done");
    char d[512];
    assert_int_equal(revert(f, &f->bob, "writes", NULL, NULL, d), FD_E_CONFLICT);
    assert_non_null(strstr(d, "closed"));
    fix_close(f);
}

/* ---- the flag-system call ---- */

static json_t *due(fixture *f)
{
    json_t *jobs = NULL;
    assert_int_equal(switch_calls_due(f->st, f->now, 16, &jobs), FD_OK);
    return jobs;
}

static int64_t only_call(fixture *f)
{
    json_t *jobs = due(f);
    assert_int_equal(json_array_size(jobs), 1);
    int64_t id = json_integer_value(json_object_get(json_array_get(jobs, 0), "call"));
    json_decref(jobs);
    return id;
}

static const char *step_status(fixture *f, const char *title, char *note, size_t n)
{
    static char status[32];
    fd_ctx ctx;
    json_t *s = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(flight_get_step(f->st, &ctx, MID, sid_of(f, title), &s), FD_OK);
    snprintf(status, sizeof status, "%s", json_string_value(json_object_get(s, "status")));
    if (note != NULL)
        snprintf(note, n, "%s", json_string_value(json_object_get(s, "note")) ?: "");
    json_decref(s);
    return status;
}

static void a_flag_move_is_applied_only_after_a_2xx(void **state)
{
    (void)state;
    webhook_policy pol;
    switch_policy_default(&pol);
    fixture *f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads to half");

    json_t *jobs = due(f);
    assert_int_equal(json_array_size(jobs), 1);
    json_t *job = json_array_get(jobs, 0);
    assert_string_equal(json_string_value(json_object_get(job, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(job, "url")),
                        "https://flags.example/reads");
    /* the secret stays a reference: the server resolves it when it sends */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(job, "headers"), "Authorization")),
        "Bearer {{secret:FLAGS}}");
    json_t *body = json_loads(json_string_value(json_object_get(job, "body")), 0, NULL);
    json_t *want = fix_json("{\"flag\":\"reads\",\"value\":\"50% dynamodb\","
                            "\"note\":\"cut: reads to 50% dynamodb\",\"n\":1}");
    assert_true(json_equal(body, want));
    json_decref(body);
    json_decref(want);
    int64_t call = json_integer_value(json_object_get(job, "call"));
    json_decref(jobs);

    /* a 503: retried after the backoff, still pending, not applied */
    assert_int_equal(switch_call_record(f->st, &pol, call, f->now, 503, "HTTP 503", 0), FD_OK);
    jobs = due(f);
    assert_int_equal(json_array_size(jobs), 0); /* not yet due */
    json_decref(jobs);
    assert_true(flag(f, "reads", "pending"));
    assert_false(flag(f, "reads", "applied"));
    f->now += pol.base_ms;
    assert_int_equal(only_call(f), call);
    /* then a 200: applied, audited */
    assert_int_equal(switch_call_record(f->st, &pol, call, f->now, 200, NULL, 0), FD_OK);
    assert_true(flag(f, "reads", "applied"));
    assert_false(flag(f, "reads", "pending"));
    json_t *ev = last_event(f, "switch.applied");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "actor"), "name")),
                        "flightdeck flags");
    json_decref(ev);
    assert_string_equal(step_status(f, "Reads to half", NULL, 0), "done");
    /* an answer for a call that is settled changes nothing */
    size_t n = json_array_size(f->events);
    assert_int_equal(switch_call_record(f->st, &pol, call, f->now, 500, "late", 0), FD_OK);
    assert_int_equal(json_array_size(f->events), n);
    fix_close(f);
}

static void a_failed_flag_call_fails_the_step_with_the_reason(void **state)
{
    (void)state;
    webhook_policy pol;
    switch_policy_default(&pol);
    fixture *f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads to half");
    int64_t call = only_call(f);
    for (int i = 0; i < pol.max_attempts; i++) {
        assert_int_equal(switch_call_record(f->st, &pol, call, f->now, 500,
                                            "the flag system answered HTTP 500", 0),
                         FD_OK);
        f->now += 60000;
    }
    char note[512];
    assert_string_equal(step_status(f, "Reads to half", note, sizeof note), "failed");
    assert_string_equal(note, "the flag call moving reads to '50% dynamodb' failed after 3 "
                              "attempts: the flag system answered HTTP 500");
    json_t *s = sw(f, "reads");
    assert_false(json_is_true(json_object_get(s, "applied")));
    assert_false(json_is_true(json_object_get(s, "pending")));
    assert_string_equal(json_string_value(json_object_get(s, "error")), note);
    json_decref(s);
    assert_int_equal(count_events(f, "switch.failed"), 1);
    assert_int_equal(count_events(f, "step.fail"), 1);
    json_t *none = due(f);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);

    /* ticking the failed step again sends the call again; a 4xx is final at once */
    tick_ok(f, &f->alice, "Reads to half");
    call = only_call(f);
    assert_int_equal(
        switch_call_record(f->st, &pol, call, f->now, 403, "the flag system answered HTTP 403", 0),
        FD_OK);
    assert_string_equal(step_status(f, "Reads to half", note, sizeof note), "failed");
    assert_non_null(strstr(note, "after 1 attempt: the flag system answered HTTP 403"));
    fix_close(f);
}

/* A newer move supersedes a call still pending: an old position never lands last. */
static void a_revert_supersedes_a_pending_call(void **state)
{
    (void)state;
    webhook_policy pol;
    switch_policy_default(&pol);
    fixture *f = setup_flight();
    tick_ok(f, &f->alice, "Count rows");
    complete_ok(f, "prep");
    tick_ok(f, &f->alice, "Reads to half");
    int64_t first = only_call(f);
    assert_int_equal(revert(f, &f->bob, "reads", NULL, "latency", NULL), FD_OK);
    assert_string_equal(pos(f, "reads"), "10% dynamodb");
    json_t *jobs = due(f);
    assert_int_equal(json_array_size(jobs), 1);
    json_t *job = json_array_get(jobs, 0);
    assert_true(json_integer_value(json_object_get(job, "call")) != first);
    assert_non_null(strstr(json_string_value(json_object_get(job, "body")), "10% dynamodb"));
    json_decref(jobs);
    /* the late answer to the superseded call does nothing to the switch or the step */
    assert_int_equal(switch_call_record(f->st, &pol, first, f->now, 500, "x", 1), FD_OK);
    assert_string_equal(step_status(f, "Reads to half", NULL, 0), "done");
    assert_int_equal(count_events(f, "switch.failed"), 0);
    fix_close(f);
}

static void a_step_must_name_a_switch_and_position_of_the_migration(void **state)
{
    (void)state;
    fixture *f = setup_flight();
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *bad = fix_json("{\"title\":\"x\",\"switch\":{\"name\":\"ghost\",\"position\":\"on\"}}");
    assert_int_equal(flight_add_step(f->st, &ctx, MID, "reads", bad, &out), FD_E_INVALID);
    assert_string_equal(ctx.problem.field, "switch.name");
    fd_problem_clear(&ctx.problem);
    json_decref(bad);
    bad = fix_json("{\"title\":\"x\",\"switch\":{\"name\":\"reads\",\"position\":\"75%\"}}");
    assert_int_equal(flight_add_step(f->st, &ctx, MID, "reads", bad, &out), FD_E_INVALID);
    assert_string_equal(ctx.problem.field, "switch.position");
    assert_non_null(strstr(ctx.problem.detail, "'mysql', '10% dynamodb'"));
    fd_problem_clear(&ctx.problem);
    json_decref(bad);
    /* a patch may turn a plain step into a switch step, checked the same way */
    json_t *patch = fix_json("{\"switch\":{\"name\":\"writes\",\"position\":\"dynamodb\"}}");
    assert_int_equal(flight_patch_step(f->st, &ctx, MID, sid_of(f, "Tell everyone"), patch, &out),
                     FD_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "switch"), "name")),
                        "writes");
    json_decref(out);
    json_decref(patch);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ticking_a_switch_step_moves_its_switch),
        cmocka_unit_test(a_critical_switch_step_moves_when_confirmed),
        cmocka_unit_test(rules_hold_writes_until_reads_are_across),
        cmocka_unit_test(a_verification_never_done_is_named),
        cmocka_unit_test(revert_goes_back_in_one_action_never_gated),
        cmocka_unit_test(revert_works_after_abort_but_not_once_closed),
        cmocka_unit_test(a_flag_move_is_applied_only_after_a_2xx),
        cmocka_unit_test(a_failed_flag_call_fails_the_step_with_the_reason),
        cmocka_unit_test(a_revert_supersedes_a_pending_call),
        cmocka_unit_test(a_step_must_name_a_switch_and_position_of_the_migration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
