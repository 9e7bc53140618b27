/*
 * webhooks.c - outgoing webhook subscriptions (admin): create, list, read, delete, and the
 * delivery log of one webhook. The secret goes in and never comes out (has_secret).
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/webhook.h"

#define HOOK_ID_MAX 9007199254740992LL

/* The {id} parameter as a webhook id; anything else is simply not found. */
static int hook_id_or_reply(api_call *c, int64_t *id)
{
    if (api_parse_int64(c->params[0], 1, HOOK_ID_MAX, id) == 0)
        return 0;
    fd_fail(&c->ctx.problem, FD_E_NOT_FOUND, NULL, "There is no webhook %s.", c->params[0]);
    api_reply_error(c, FD_E_NOT_FOUND, &c->ctx.problem);
    return -1;
}

/* POST /api/webhooks {url, secret?, events, migration?, format?} -> 201 + Location */
void api_webhooks_create(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = webhook_create(c->st, &c->ctx, body, &doc);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    char location[64];
    snprintf(location, sizeof location, "/api/webhooks/%lld",
             (long long)json_integer_value(json_object_get(doc, "id")));
    api_reply_created(c, doc, location, -1);
}

/* GET /api/webhooks?limit=&cursor= */
void api_webhooks_list(api_call *c)
{
    int limit;
    const char *cursor;
    json_t *page = NULL;
    if (api_page_params(c, &limit, &cursor) != 0)
        return;
    fd_err e = webhook_list(c->st, &c->ctx, cursor, limit, &page);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_page(c, page, limit, NULL);
}

/* GET /api/webhooks/{id} */
void api_webhook_get(api_call *c)
{
    int64_t id;
    json_t *doc = NULL;
    if (hook_id_or_reply(c, &id) != 0)
        return;
    fd_err e = webhook_get(c->st, &c->ctx, id, &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, -1);
}

/* DELETE /api/webhooks/{id} -> 204; its pending deliveries go with it */
void api_webhook_delete(api_call *c)
{
    int64_t id;
    if (hook_id_or_reply(c, &id) != 0)
        return;
    fd_err e = webhook_delete(c->st, &c->ctx, id);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_no_content(c);
}

/* GET /api/webhooks/{id}/deliveries?limit=&cursor=: attempts and results, oldest first */
void api_webhook_deliveries(api_call *c)
{
    int64_t id;
    int limit;
    const char *cursor;
    json_t *page = NULL;
    if (hook_id_or_reply(c, &id) != 0 || api_page_params(c, &limit, &cursor) != 0)
        return;
    fd_err e = webhook_deliveries(c->st, &c->ctx, id, cursor, limit, &page);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_page(c, page, limit, NULL);
}
