/*
 * signoffs.c - a stage's go/no-go: editing what it requires (PATCH /api/migrations/{mid}/stages/
 * {stage}: title, sign-off requirements, shared signers, expected minutes) and the sign-offs
 * themselves (/api/migrations/{mid}/stages/{stage}/signoffs). The rules live in core/gates.c;
 * a refused gate elsewhere (start, complete) answers 409 with "missing".
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/gates.h"

/* PATCH /api/migrations/{mid}/stages/{stage} -> the whole migration; If-Match: its version */
void api_stage_patch(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = gates_stage_patch(c->st, &c->ctx, c->params[0], c->params[1], body, &doc);
    json_decref(body);
    if (e != FD_OK) {
        json_decref(doc);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}

/* GET /api/migrations/{mid}/stages/{stage}/signoffs: {"stage", "items", "gate"} */
void api_signoffs_list(api_call *c)
{
    json_t *list = NULL;
    fd_err e = gates_signoff_list(c->st, &c->ctx, c->params[0], c->params[1], &list);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, list, -1);
}

/* POST /api/migrations/{mid}/stages/{stage}/signoffs {team, decision, comment?, override_reason?}
 * -> 201 with the sign-off and the stage's gate after it; Location: the stage's sign-offs */
void api_signoffs_create(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    char location[200];
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = gates_signoff(c->st, &c->ctx, c->params[0], c->params[1], body, &doc);
    json_decref(body);
    if (e != FD_OK) {
        json_decref(doc);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    snprintf(location, sizeof location, "/api/migrations/%s/stages/%s/signoffs", c->params[0],
             c->params[1]);
    api_reply_created(c, doc, location, -1);
}
