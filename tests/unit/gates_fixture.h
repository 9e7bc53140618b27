/*
 * gates_fixture.h - what the gate tests share: a crew of engineers in teams (sre, dba, both,
 * the owner team), a migration created from a plan, and helpers to sign off, start, complete,
 * tick and read the audit the sink received. Header-only (static inline), like core_fixture.h.
 */
#ifndef FD_TEST_GATES_FIXTURE_H
#define FD_TEST_GATES_FIXTURE_H

#include "core_fixture.h"
#include "core/flight.h"
#include "core/gates.h"

#define MID "msk"

/* takeoff needs two people of sre and one of dba; inflight one of dba; landing and shutdown
 * need nothing. Take-off has a timetable (10 + 20 minutes) and a critical step. */
static const char *const PLAN =
    "{\"id\":\"msk\",\"title\":\"Replace the MSK cluster\",\"owner_team\":\"data-stream\","
    " \"teams\":[\"sre\",\"dba\"],"
    " \"stages\":["
    "  {\"key\":\"takeoff\",\"title\":\"Take-off\","
    "   \"signoffs\":[{\"team\":\"sre\",\"count\":2},{\"team\":\"dba\"}],"
    "   \"steps\":["
    "    {\"title\":\"Create msk-v2\",\"expected_minutes\":10},"
    "    {\"title\":\"Flip producers\",\"expected_minutes\":20,\"critical\":true}]},"
    "  {\"key\":\"inflight\",\"title\":\"In-flight\",\"signoffs\":[{\"team\":\"dba\"}],"
    "   \"steps\":[{\"title\":\"Dual publish\"}]},"
    "  {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Move consumers\"}]},"
    "  {\"key\":\"shutdown\",\"title\":\"Shutdown\",\"steps\":[{\"title\":\"Delete msk-v1\"}]}"
    "]}";

/* The same flight without sign-off requirements: only briefings gate its start. */
static const char *const PLAN_PLAIN =
    "{\"id\":\"msk\",\"title\":\"Replace the MSK cluster\",\"owner_team\":\"data-stream\","
    " \"teams\":[\"sre\",\"dba\"],"
    " \"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":[{\"title\":\"A\"}]},"
    "  {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"B\"}]}]}";

typedef struct crew {
    fixture *f;
    fd_actor sre1, sre2, dba1, both, owner; /* engineers by team; `both` is in sre and dba */
} crew;

static inline void join(fd_actor *a, const char *team)
{
    snprintf(a->teams[a->nteams++], sizeof a->teams[0], "%s", team);
}

static inline crew *setup(const char *plan_text)
{
    crew *c = calloc(1, sizeof *c);
    fixture *f = c->f = fix_open();
    fix_team(f, "data-stream", "Data Stream");
    fix_team(f, "sre", "Site Reliability");
    fix_team(f, "dba", "Databases");
    fix_actor(&c->sre1, "alice", "Alice", FD_ROLE_ENGINEER);
    join(&c->sre1, "sre");
    fix_actor(&c->sre2, "bob", "Bob", FD_ROLE_ENGINEER);
    join(&c->sre2, "sre");
    fix_actor(&c->dba1, "carol", "Carol", FD_ROLE_ENGINEER);
    join(&c->dba1, "dba");
    fix_actor(&c->both, "dave", "Dave", FD_ROLE_ENGINEER);
    join(&c->both, "sre");
    join(&c->both, "dba");
    fix_actor(&c->owner, "olga", "Olga", FD_ROLE_ENGINEER);
    join(&c->owner, "data-stream");
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = fix_json(plan_text), *m = NULL;
    fd_err e = flight_create(f->st, &ctx, plan, &m);
    if (e != FD_OK)
        fail_msg("create: %s %s (%s)", fd_err_name(e), ctx.problem.detail, ctx.problem.field);
    json_decref(plan);
    json_decref(m);
    return c;
}

static inline void teardown(crew *c)
{
    fix_close(c->f);
    free(c);
}

#define EXPECT(want, call)                                                                         \
    do {                                                                                           \
        fd_err got_ = (call);                                                                      \
        if (got_ != (want))                                                                        \
            fail_msg("%s: got %s (%s), want %s", #call, fd_err_name(got_), ctx.problem.detail,     \
                     fd_err_name(want));                                                           \
    } while (0)

static inline json_t *get(crew *c)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &c->f->viewer, NULL);
    json_t *m = NULL;
    EXPECT(FD_OK, flight_get(c->f->st, &ctx, MID, &m));
    return m;
}

static inline json_t *stage_of(const json_t *m, const char *key)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        if (strcmp(json_string_value(json_object_get(g, "key")), key) == 0)
            return g;
    }
    fail_msg("no stage %s", key);
    return NULL;
}

static inline int64_t step_id(crew *c, const char *stage, size_t i)
{
    json_t *m = get(c);
    int64_t id = json_integer_value(
        json_object_get(json_array_get(json_object_get(stage_of(m, stage), "steps"), i), "id"));
    json_decref(m);
    return id;
}

/* Assert that `got` equals the JSON `want_text`, showing both when not. */
static inline void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = fix_json(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

/* The gate's "missing" of a stage as the migration document shows it. */
static inline void assert_missing(crew *c, const char *stage, const char *want)
{
    json_t *m = get(c);
    assert_json(json_object_get(json_object_get(stage_of(m, stage), "gate"), "missing"), want);
    json_decref(m);
}

/* Sign off; the problem stays in *ctx for inspection (the caller clears it). */
static inline fd_err sign(crew *c, fd_ctx *ctx, const fd_actor *who, const char *stage,
                          const char *team, const char *decision, const char *override)
{
    fd_ctx_init(ctx, who, NULL);
    json_t *body = json_pack("{s:s,s:s,s:s?}", "team", team, "decision", decision,
                             "override_reason", override);
    json_t *out = NULL;
    fd_err e = gates_signoff(c->f->st, ctx, MID, stage, body, &out);
    json_decref(body);
    json_decref(out);
    return e;
}

static inline void sign_ok(crew *c, const fd_actor *who, const char *stage, const char *team,
                           const char *decision)
{
    fd_ctx ctx;
    EXPECT(FD_OK, sign(c, &ctx, who, stage, team, decision, NULL));
}

static inline fd_err lead_do(crew *c, fd_ctx *ctx, int what, const char *stage,
                             const char *override)
{
    fd_ctx_init(ctx, &c->f->lead, NULL);
    json_t *m = NULL;
    fd_err e = what == 0 ? flight_start_override(c->f->st, ctx, MID, override, &m)
                         : flight_complete_stage_override(c->f->st, ctx, MID, stage, override, &m);
    json_decref(m);
    return e;
}

static inline void act_ok(crew *c, const fd_actor *who, int64_t sid, fd_step_action a)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, who, NULL);
    json_t *s = NULL;
    EXPECT(FD_OK, flight_step_action(c->f->st, &ctx, MID, sid, a, NULL, &s));
    json_decref(s);
}

static inline json_t *last_event(crew *c, const char *action)
{
    for (size_t i = json_array_size(c->f->events); i-- > 0;) {
        json_t *ev = json_array_get(c->f->events, i);
        if (strcmp(json_string_value(json_object_get(ev, "action")), action) == 0)
            return fix_json(json_string_value(json_object_get(ev, "json")));
    }
    fail_msg("no %s event", action);
    return NULL;
}

static inline int count_events(crew *c, const char *action)
{
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(c->f->events, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "action")), action) == 0)
            n++;
    }
    return n;
}

#endif
