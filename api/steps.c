/*
 * steps.c - steps of a migration: add to a stage, read, edit, remove, and the four actions a crew
 * takes on a live checklist (tick, untick, skip, fail, and confirm for the second person of a
 * critical step). Each action answers 200 with the updated step; a step someone else changed
 * first is core's 409 naming who and when.
 */
#include <stdio.h>
#include <string.h>

#include "api/doc_cache.h"
#include "api/handlers.h"
#include "api/reply.h"
#include "core/flight.h"

/* Step ids are SQLite rowids, kept within what a JSON number holds exactly (2^53). */
#define STEP_ID_MAX 9007199254740992LL
#define TEXT_MAX 4000

static const check_field tick_fields[] = {
    {"note", CHECK_STRING, 0, 0, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};
static const check_field untick_fields[] = {
    {"reason", CHECK_STRING, 0, 0, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};
static const check_field skip_fields[] = {
    {"reason", CHECK_STRING, 1, 1, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};
static const check_field fail_fields[] = {
    {"note", CHECK_STRING, 1, 1, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* The {sid} parameter (params[1]) as an id; anything that is not one is simply not found. */
static int step_id_or_reply(api_call *c, int64_t *sid)
{
    if (api_parse_int64(c->params[1], 1, STEP_ID_MAX, sid) == 0)
        return 0;
    fd_fail(&c->ctx.problem, FD_E_NOT_FOUND, NULL, "Migration %s has no step %s.", c->params[0],
            c->params[1]);
    api_reply_error(c, FD_E_NOT_FOUND, &c->ctx.problem);
    return -1;
}

static void reply_step(api_call *c, fd_err e, json_t *step)
{
    if (e != FD_OK) {
        json_decref(step);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, step, api_doc_version(step));
}

/* POST /api/migrations/{mid}/stages/{stage}/steps {StepInput} -> 201 + Location */
void api_step_add(api_call *c)
{
    json_t *body = NULL, *step = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = flight_add_step(c->st, &c->ctx, c->params[0], c->params[1], body, &step);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    json_t *id = json_object_get(step, "id");
    char location[160];
    snprintf(location, sizeof location, "/api/migrations/%s/steps/%lld", c->params[0],
             (long long)json_integer_value(id));
    api_reply_created(c, step, location, api_doc_version(step));
}

/* GET /api/migrations/{mid}/steps/{sid} */
void api_step_get(api_call *c)
{
    int64_t sid;
    json_t *step = NULL;
    fd_doc_stamp stamp;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    /* a step is part of its migration's document: the migration's stamp vouches for it */
    if (api_doc_cache_reply(c, c->params[0], sid, &stamp))
        return;
    fd_err e = flight_get_step(c->st, &c->ctx, c->params[0], sid, &step);
    if (e == FD_OK)
        api_doc_cache_reply_built(c, c->params[0], sid, &stamp, step);
    else
        reply_step(c, e, step);
}

/* PATCH /api/migrations/{mid}/steps/{sid} {StepInput fields, position?}, If-Match honoured */
void api_step_patch(api_call *c)
{
    int64_t sid;
    json_t *body = NULL, *step = NULL;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = flight_patch_step(c->st, &c->ctx, c->params[0], sid, body, &step);
    json_decref(body);
    reply_step(c, e, step);
}

/* DELETE /api/migrations/{mid}/steps/{sid} -> 204 */
void api_step_delete(api_call *c)
{
    int64_t sid;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    fd_err e = flight_delete_step(c->st, &c->ctx, c->params[0], sid);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_no_content(c);
}

/* The answer of an action, written by core as text (no tree: every durable tick comes this
 * way), then copied once into the request's pool. One buffer per thread, kept between
 * requests; one that a huge step grew past ANSWER_KEEP is let go. */
#define ANSWER_KEEP (64 * 1024)
static __thread fd_buf answer;

/* The four actions share one shape: check the small body, call core, answer the step. */
static void step_action(api_call *c, fd_step_action action, const check_field *fields,
                        const char *text_field)
{
    int64_t sid, version;
    json_t *body = NULL;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    if (api_body_object(c, fields, 1, &body) != 0)
        return;
    const char *text = check_str(body, text_field, NULL);
    if (text != NULL && *text == '\0')
        text = NULL; /* an empty optional note is no note */
    fd_buf_reset(&answer);
    fd_err e =
        flight_step_action_text(c->st, &c->ctx, c->params[0], sid, action, text, &answer, &version);
    json_decref(body);
    if (e == FD_OK && fd_buf_append(&answer, "\n", 1) != 0)
        e = fd_fail(&c->ctx.problem, FD_E_INTERNAL, NULL, "out of memory");
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
    } else {
        h2o_iovec_t text_out =
            h2o_iovec_init(h2o_mem_alloc_pool(&c->req->pool, answer.len), answer.len);
        memcpy(text_out.base, answer.data, answer.len);
        api_reply_json_text(c, 200, text_out, version);
    }
    if (answer.cap > ANSWER_KEEP)
        fd_buf_free(&answer);
}

/* POST .../steps/{sid}/tick {note?} */
void api_step_tick(api_call *c)
{
    step_action(c, FD_STEP_TICK, tick_fields, "note");
}

/* POST .../steps/{sid}/untick {reason?} */
void api_step_untick(api_call *c)
{
    step_action(c, FD_STEP_UNTICK, untick_fields, "reason");
}

/* POST .../steps/{sid}/skip {reason} */
void api_step_skip(api_call *c)
{
    step_action(c, FD_STEP_SKIP, skip_fields, "reason");
}

/* POST .../steps/{sid}/fail {note} */
void api_step_fail(api_call *c)
{
    step_action(c, FD_STEP_FAIL, fail_fields, "note");
}

/* POST .../steps/{sid}/confirm {note?}: the second person of a critical step. The one who
 * ticked it is 403; a step not awaiting confirmation is 409. */
void api_step_confirm(api_call *c)
{
    int64_t sid;
    json_t *body = NULL, *step = NULL;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    if (api_body_object(c, tick_fields, 1, &body) != 0)
        return;
    fd_err e = flight_confirm_step(c->st, &c->ctx, c->params[0], sid, check_str(body, "note", NULL),
                                   &step);
    json_decref(body);
    reply_step(c, e, step);
}
