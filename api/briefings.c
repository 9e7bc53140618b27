/*
 * briefings.c - /api/migrations/{mid}/briefings: the briefings of the affected teams, their
 * acknowledgements (bound to the plan revision) and the feedback raised there. The rules live in
 * core/briefing.c; a stale acknowledgement shows as "stale": true in every briefing document.
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/gates.h"

/* Briefing and feedback ids are SQLite rowids, kept within what a JSON number holds exactly. */
#define ID_MAX 9007199254740992LL

/* The id parameter params[i] (bid, fid); anything that is not an id is simply not found. */
static int id_or_reply(api_call *c, int i, const char *what, int64_t *id)
{
    if (api_parse_int64(c->params[i], 1, ID_MAX, id) == 0)
        return 0;
    fd_fail(&c->ctx.problem, FD_E_NOT_FOUND, NULL, "Migration %s has no %s %s.", c->params[0], what,
            c->params[i]);
    api_reply_error(c, FD_E_NOT_FOUND, &c->ctx.problem);
    return -1;
}

static void reply_doc(api_call *c, fd_err e, json_t *doc, int status, const char *location)
{
    if (e != FD_OK) {
        json_decref(doc);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    if (status == 201)
        api_reply_created(c, doc, location, api_doc_version(doc));
    else
        api_reply_json(c, status, doc, api_doc_version(doc));
}

/* GET /api/migrations/{mid}/briefings: {"items": [Briefing...]} oldest first */
void api_briefings_list(api_call *c)
{
    json_t *list = NULL;
    fd_err e = gates_briefing_list(c->st, &c->ctx, c->params[0], &list);
    reply_doc(c, e, list, 200, NULL);
}

/* POST /api/migrations/{mid}/briefings {title, at, notes?, teams} -> 201 + Location */
void api_briefings_create(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    char location[160];
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = gates_briefing_create(c->st, &c->ctx, c->params[0], body, &doc);
    json_decref(body);
    snprintf(location, sizeof location, "/api/migrations/%s/briefings/%lld", c->params[0],
             (long long)json_integer_value(json_object_get(doc, "id")));
    reply_doc(c, e, doc, 201, location);
}

/* GET /api/migrations/{mid}/briefings/{bid} */
void api_briefing_get(api_call *c)
{
    int64_t bid;
    json_t *doc = NULL;
    if (id_or_reply(c, 1, "briefing", &bid) != 0)
        return;
    fd_err e = gates_briefing_get(c->st, &c->ctx, c->params[0], bid, &doc);
    reply_doc(c, e, doc, 200, NULL);
}

/* POST /api/migrations/{mid}/briefings/{bid}/acks {team, comment?} -> 200 + the Briefing */
void api_briefing_ack(api_call *c)
{
    int64_t bid;
    json_t *body = NULL, *doc = NULL;
    if (id_or_reply(c, 1, "briefing", &bid) != 0)
        return;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = gates_briefing_ack(c->st, &c->ctx, c->params[0], bid, body, &doc);
    json_decref(body);
    reply_doc(c, e, doc, 200, NULL);
}

/* GET /api/migrations/{mid}/briefings/{bid}/feedback: {"items": [Feedback...]} */
void api_feedback_list(api_call *c)
{
    int64_t bid;
    json_t *list = NULL;
    if (id_or_reply(c, 1, "briefing", &bid) != 0)
        return;
    fd_err e = gates_feedback_list(c->st, &c->ctx, c->params[0], bid, &list);
    reply_doc(c, e, list, 200, NULL);
}

/* POST /api/migrations/{mid}/briefings/{bid}/feedback {text} -> 201, Location: the briefing
 * that lists it */
void api_feedback_add(api_call *c)
{
    int64_t bid;
    json_t *body = NULL, *doc = NULL;
    char location[160];
    if (id_or_reply(c, 1, "briefing", &bid) != 0)
        return;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = gates_feedback_add(c->st, &c->ctx, c->params[0], bid, body, &doc);
    json_decref(body);
    snprintf(location, sizeof location, "/api/migrations/%s/briefings/%lld", c->params[0],
             (long long)bid);
    reply_doc(c, e, doc, 201, location);
}

/* POST /api/migrations/{mid}/briefings/{bid}/feedback/{fid}/resolve {resolution, step_id?} */
void api_feedback_resolve(api_call *c)
{
    int64_t bid, fid;
    json_t *body = NULL, *doc = NULL;
    if (id_or_reply(c, 1, "briefing", &bid) != 0 || id_or_reply(c, 2, "feedback", &fid) != 0)
        return;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = gates_feedback_resolve(c->st, &c->ctx, c->params[0], bid, fid, body, &doc);
    json_decref(body);
    reply_doc(c, e, doc, 200, NULL);
}
