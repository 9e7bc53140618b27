/* flight_time.c - the flight clock: expected versus elapsed time of the active stage, which steps
 * are overdue, and the overdue events (flight.h: flight_check_overdue).
 *
 * A stage's deadline is its start plus its expected minutes (its own, or the sum of its steps').
 * A step's deadline is the stage's start plus the expected minutes of the steps up to and
 * including it, in order: the plan's own timetable. An overdue event fires once per step and per
 * stage, and is recorded, so the crew gets one clear prompt to decide: hold, continue or go
 * around. The timer that calls flight_check_overdue lives in server/. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight.h"
#include "flight_internal.h"
#include "gates_internal.h"
#include "mutate.h"
#include "timefmt.h"

#define MINUTE_MS 60000LL

int64_t flight_time_expected(const fd_stage_cfg *cfg, const json_t *steps)
{
    if (cfg->expected_minutes >= 0)
        return cfg->expected_minutes;
    int64_t sum = 0;
    int any = 0;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const json_t *m = json_object_get(s, "expected_minutes");
        if (json_is_integer(m)) {
            sum += json_integer_value(m);
            any = 1;
        }
    }
    return any ? sum : -1;
}

/* A step still to be finished: not done and not skipped. */
static int open_step(const json_t *step)
{
    const char *status = check_str(step, "status", "");
    return strcmp(status, "done") != 0 && strcmp(status, "skipped") != 0;
}

/* Call fn for each open step with expected minutes whose deadline passed at `now`. */
static void each_overdue_step(const fd_stage_cfg *cfg, const json_t *steps, int64_t now,
                              void (*fn)(void *arg, const json_t *step, int64_t deadline),
                              void *arg)
{
    int64_t cumulative = 0;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const json_t *m = json_object_get(s, "expected_minutes");
        if (!json_is_integer(m))
            continue; /* a step without a time has no deadline of its own */
        cumulative += json_integer_value(m);
        int64_t deadline = cfg->started_at + cumulative * MINUTE_MS;
        if (open_step(s) && now > deadline)
            fn(arg, s, deadline);
    }
}

static void collect_id(void *arg, const json_t *step, int64_t deadline)
{
    (void)deadline;
    json_array_append(arg, json_object_get(step, "id"));
}

json_t *flight_time_timing(const fd_stage_cfg *cfg, const json_t *steps, int64_t now)
{
    int64_t expected = flight_time_expected(cfg, steps);
    if (cfg->started_at < 0)
        return json_null();
    char started[FD_TIME_LEN];
    fd_time_format(cfg->started_at, started);
    int64_t elapsed = now > cfg->started_at ? (now - cfg->started_at) / MINUTE_MS : 0;
    int overdue = expected >= 0 && now > cfg->started_at + expected * MINUTE_MS;
    json_t *ids = json_array();
    each_overdue_step(cfg, steps, now, collect_id, ids);
    return json_pack("{s:s,s:I,s:o,s:b,s:o}", "started_at", started, "elapsed_minutes",
                     (json_int_t)elapsed, "expected_minutes",
                     expected >= 0 ? json_integer(expected) : json_null(), "overdue", overdue,
                     "overdue_steps", ids);
}

/* ---- the overdue events ---- */

typedef struct overdue_run {
    fd_store *st;
    fd_ctx *ctx;
    const char *mid;
    const char *stage;
    int64_t now;
    int fired;  /* events appended for this migration */
    fd_err err; /* the first failure */
} overdue_run;

static void fire_step(void *arg, const json_t *step, int64_t deadline)
{
    overdue_run *r = arg;
    char target[32], dl[FD_TIME_LEN], note[300];
    if (r->err != FD_OK || json_is_true(json_object_get(step, "overdue")))
        return; /* fired before: once per step, even after an untick */
    int64_t sid = json_integer_value(json_object_get(step, "id"));
    fd_time_format(deadline, dl);
    snprintf(target, sizeof target, "steps/%lld", (long long)sid);
    snprintf(note, sizeof note, "step %lld \"%s\" of stage %s is past its expected time",
             (long long)sid, check_str(step, "title", ""), r->stage);
    json_t *after = json_pack("{s:I,s:s,s:s,s:O,s:s,s:s}", "id", (json_int_t)sid, "title",
                              check_str(step, "title", ""), "stage", r->stage, "expected_minutes",
                              json_object_get(step, "expected_minutes"), "status",
                              check_str(step, "status", ""), "deadline", dl);
    r->err = store_step_mark_overdue(r->st, sid, r->now);
    if (r->err == FD_OK)
        r->err = audit_append(r->st, r->ctx, r->mid, "step.overdue", target, NULL, after, note);
    json_decref(after);
    r->fired++;
}

static fd_err check_flight(overdue_run *r)
{
    fd_stage_cfg cfg;
    json_t *steps = NULL;
    fd_err e = store_stage_cfg(r->st, r->mid, r->stage, &cfg);
    if (e == FD_OK)
        e = store_timing_steps(r->st, r->mid, r->stage, &steps);
    if (e != FD_OK || cfg.started_at < 0 || strcmp(cfg.status, "active") != 0)
        goto done;
    int64_t expected = flight_time_expected(&cfg, steps);
    int64_t deadline = cfg.started_at + expected * MINUTE_MS;
    if (expected >= 0 && cfg.overdue_at < 0 && r->now > deadline) {
        char target[FD_SLUG_MAX * 2 + 32], dl[FD_TIME_LEN], started[FD_TIME_LEN], note[200];
        fd_time_format(deadline, dl);
        fd_time_format(cfg.started_at, started);
        snprintf(target, sizeof target, "migrations/%s/stages/%s", r->mid, r->stage);
        snprintf(note, sizeof note, "stage %s is past its expected %lld minutes", r->stage,
                 (long long)expected);
        json_t *after = json_pack("{s:s,s:s,s:I,s:s}", "stage", r->stage, "started_at", started,
                                  "expected_minutes", (json_int_t)expected, "deadline", dl);
        e = store_stage_mark_overdue(r->st, r->mid, r->stage, r->now);
        if (e == FD_OK)
            e = audit_append(r->st, r->ctx, r->mid, "stage.overdue", target, NULL, after, note);
        json_decref(after);
        r->fired++;
    }
    if (e == FD_OK) {
        each_overdue_step(&cfg, steps, r->now, fire_step, r);
        e = r->err;
    }
    /* the migration document shows what is overdue: its ETag must move */
    if (e == FD_OK && r->fired > 0)
        e = store_mig_bump(r->st, r->mid);
done:
    json_decref(steps);
    return e;
}

static fd_err rule_overdue(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    int64_t now = *(const int64_t *)args;
    json_t *flights = NULL;
    (void)out;
    fd_err e = store_active_flights(st, &flights);
    size_t i;
    json_t *f;
    json_array_foreach(e == FD_OK ? flights : NULL, i, f)
    {
        overdue_run r = {.st = st,
                         .ctx = ctx,
                         .mid = check_str(f, "id", ""),
                         .stage = check_str(f, "stage", ""),
                         .now = now,
                         .err = FD_OK};
        e = check_flight(&r);
        if (e != FD_OK)
            break;
    }
    json_decref(flights);
    return e;
}

fd_err flight_check_overdue(fd_store *st, int64_t now_ms)
{
    static const fd_actor clock = {
        .sub = "flightdeck", .name = "flightdeck clock", .role = FD_ROLE_ADMIN, .source = "api"};
    fd_ctx ctx;
    fd_ctx_init(&ctx, &clock, NULL);
    /* one transaction for the whole sweep; with nothing due it writes nothing */
    fd_err e = core_mutate(st, &ctx, rule_overdue, &now_ms, NULL);
    fd_problem_clear(&ctx.problem);
    return e;
}
