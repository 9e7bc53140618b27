/*
 * chatops_fixture.h - what the chatops, webhook and report tests share on top of core_fixture.h:
 * a migration "msk" with two stages, started, and small helpers. Header-only (static functions).
 */
#ifndef FD_TEST_CHATOPS_FIXTURE_H
#define FD_TEST_CHATOPS_FIXTURE_H

#include "core/flight.h"
#include "core_fixture.h"

#define CX_MID "msk"

static const char *const CX_PLAN =
    "{\"id\":\"msk\",\"title\":\"Replace the MSK cluster\",\"owner_team\":\"data-stream\","
    "\"teams\":[\"data-stream\",\"sre\"],\"stages\":["
    " {\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "   {\"title\":\"Announce in #data-stream\",\"expected_minutes\":5},"
    "   {\"title\":\"Freeze deploys\",\"critical\":false,\"expected_minutes\":10},"
    "   {\"title\":\"Snapshot topics\"}]},"
    " {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Switch consumers\"}]}"
    "]}";

/* Run a core call and fail the test, naming the call and the problem, unless it returns want. */
#define CX_EXPECT(want, ctx, call)                                                                 \
    do {                                                                                           \
        fd_err got_ = (call);                                                                      \
        if (got_ != (want))                                                                        \
            fail_msg("%s: got %s (%s), want %s", #call, fd_err_name(got_), (ctx).problem.detail,   \
                     fd_err_name(want));                                                           \
    } while (0)

/* Teams data-stream and sre; the plan above created by the lead and, when start, started. */
static inline fixture *cx_open(const char *path, int start)
{
    fixture *f = fix_open_path(path);
    fix_team(f, "data-stream", "Data Stream");
    fix_team(f, "sre", "Site Reliability");
    fd_ctx ctx;
    json_t *plan = fix_json(CX_PLAN), *m = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    CX_EXPECT(FD_OK, ctx, flight_create(f->st, &ctx, plan, &m));
    json_decref(plan);
    json_decref(m);
    m = NULL;
    if (start)
        CX_EXPECT(FD_OK, ctx, flight_start(f->st, &ctx, CX_MID, &m));
    json_decref(m);
    fd_problem_clear(&ctx.problem);
    return f;
}

/* The id of step `idx` of stage `stage` (0-based both). */
static inline int64_t cx_step(fixture *f, int stage, int idx)
{
    fd_ctx ctx;
    json_t *m = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    CX_EXPECT(FD_OK, ctx, flight_get(f->st, &ctx, CX_MID, &m));
    json_t *g = json_array_get(json_object_get(m, "stages"), (size_t)stage);
    int64_t id = json_integer_value(
        json_object_get(json_array_get(json_object_get(g, "steps"), (size_t)idx), "id"));
    json_decref(m);
    return id;
}

/* The step document (owned). */
static inline json_t *cx_get_step(fixture *f, int64_t sid)
{
    fd_ctx ctx;
    json_t *s = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    CX_EXPECT(FD_OK, ctx, flight_get_step(f->st, &ctx, CX_MID, sid, &s));
    return s;
}

/* Fail unless `text` contains `what`. */
#define CX_CONTAINS(text, what)                                                                    \
    do {                                                                                           \
        const char *t_ = (text);                                                                   \
        if (t_ == NULL || strstr(t_, (what)) == NULL)                                              \
            fail_msg("no \"%s\" in: %.2000s", (what), t_ ? t_ : "(null)");                         \
    } while (0)

#define CX_LACKS(text, what)                                                                       \
    do {                                                                                           \
        const char *t_ = (text);                                                                   \
        if (t_ != NULL && strstr(t_, (what)) != NULL)                                              \
            fail_msg("\"%s\" should not be in: %.2000s", (what), t_);                              \
    } while (0)

#endif
