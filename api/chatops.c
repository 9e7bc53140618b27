/*
 * chatops.c - the chat identity mapping (admin) and "what next" for bots:
 *   PUT|GET|DELETE /api/chatops/users/{chat_user}
 *   GET /api/migrations/{mid}/next
 * The Slack endpoint itself (POST /api/chatops/slack) is server/slack.c: it needs the signing
 * secret, which only server/ holds.
 */
#include "api/handlers.h"
#include "api/reply.h"
#include "core/chat.h"

/* PUT /api/chatops/users/{chat_user} {sub, name, role, teams?} -> 200 with the mapping */
void api_chat_user_put(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = chat_user_put(c->st, &c->ctx, c->params[0], body, &doc);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}

/* GET /api/chatops/users/{chat_user} */
void api_chat_user_get(api_call *c)
{
    json_t *doc = NULL;
    fd_err e = chat_user_get(c->st, &c->ctx, c->params[0], &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}

/* DELETE /api/chatops/users/{chat_user} -> 204 */
void api_chat_user_delete(api_call *c)
{
    fd_err e = chat_user_delete(c->st, &c->ctx, c->params[0]);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_no_content(c);
}

/* GET /api/migrations/{mid}/next: the active stage's open steps and what blocks the next stage */
void api_migration_next(api_call *c)
{
    json_t *doc = NULL;
    fd_err e = chat_next(c->st, &c->ctx, c->params[0], &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, -1);
}
