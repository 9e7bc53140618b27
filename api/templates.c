/*
 * templates.c - /api/templates: reusable plans (from a plan or from an existing migration), and
 * new draft migrations made from them (core/plans.h). Leads create, delete and instantiate;
 * everyone signed in reads.
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/plans.h"

/* POST /api/templates {id, title?, description?, plan | from_migration} -> 201 + Location */
void api_templates_create(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = template_create(c->st, &c->ctx, body, &doc);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/templates/%s",
             json_string_value(json_object_get(doc, "id")));
    api_reply_created(c, doc, location, api_doc_version(doc));
}

/* GET /api/templates?limit=&cursor= (without their plans) */
void api_templates_list(api_call *c)
{
    int limit;
    const char *cursor;
    json_t *page = NULL;
    if (api_page_params(c, &limit, &cursor) != 0)
        return;
    fd_err e = template_list(c->st, &c->ctx, cursor, limit, &page);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_page(c, page, limit, NULL);
}

/* GET /api/templates/{tid}: with its plan */
void api_template_get(api_call *c)
{
    json_t *doc = NULL;
    fd_err e = template_get(c->st, &c->ctx, c->params[0], &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}

/* DELETE /api/templates/{tid} -> 204 */
void api_template_delete(api_call *c)
{
    fd_err e = template_delete(c->st, &c->ctx, c->params[0]);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_no_content(c);
}

/* POST /api/templates/{tid}/instantiate {id, title, window?, description?} -> 201 + Location of
 * the new draft migration */
void api_template_instantiate(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = template_instantiate(c->st, &c->ctx, c->params[0], body, &doc);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/migrations/%s",
             json_string_value(json_object_get(doc, "id")));
    api_reply_created(c, doc, location, api_doc_version(doc));
}
