/*
 * switches.c - the cutover switches of a migration: list them with their history, and revert one
 * (core/switches.h). A revert is the way back: an engineer, at any time the migration is not
 * closed, never held by a gate or a rule.
 */
#include "api/handlers.h"
#include "api/reply.h"
#include "core/switches.h"

#define REASON_MAX 2000

static const check_field revert_fields[] = {
    {"to", CHECK_STRING, 0, 1, 100},
    {"reason", CHECK_STRING, 0, 0, REASON_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* GET /api/migrations/{mid}/switches */
void api_switches_list(api_call *c)
{
    json_t *doc = NULL;
    fd_err e = switches_list(c->st, &c->ctx, c->params[0], &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, -1);
}

/* POST /api/migrations/{mid}/switches/{name}/revert {to?, reason?}: 200 with the Switch;
 * If-Match names the switch's version */
void api_switch_revert(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, revert_fields, 1, &body) != 0)
        return;
    fd_err e = switches_revert(c->st, &c->ctx, c->params[0], c->params[1],
                               check_str(body, "to", NULL), check_str(body, "reason", NULL), &doc);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}
