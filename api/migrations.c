/*
 * migrations.c - /api/migrations and the flight's state changes: create, read, patch the plan,
 * start, abort, complete a stage. The state machine and the role rules live in core/flight.c.
 */
#include <stdio.h>
#include <string.h>

#include "api/doc_cache.h"
#include "api/handlers.h"
#include "api/reply.h"
#include "core/flight.h"

static const char *const statuses[] = {"draft",     "in_flight", "landed", "go_around",
                                       "closed",    "aborted",   NULL};

/* start and complete: a lead may pass an unsatisfied gate with a reason (audited) */
static const check_field override_fields[] = {
    {"override_reason", CHECK_STRING, 0, 0, 4000},
    {NULL, CHECK_ANY, 0, 0, 0},
};

static const check_field abort_fields[] = {
    {"reason", CHECK_STRING, 1, 1, 4000},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* Answer a migration document (or the error) with its version as ETag. */
static void reply_migration(api_call *c, fd_err e, json_t *doc)
{
    if (e != FD_OK) {
        json_decref(doc);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}

/* GET /api/migrations?status=&limit=&cursor= */
void api_migrations_list(api_call *c)
{
    int limit;
    const char *cursor;
    if (api_page_params(c, &limit, &cursor) != 0)
        return;
    const char *status = api_query(c, "status");
    if (status != NULL && *status == '\0')
        status = NULL;
    if (status != NULL) {
        int known = 0;
        for (int i = 0; statuses[i] != NULL; i++)
            known |= strcmp(statuses[i], status) == 0;
        if (!known) {
            fd_fail(&c->ctx.problem, FD_E_BAD_REQUEST, "status",
                    "status must be one of draft, in_flight, landed, go_around, closed, "
                    "aborted.");
            api_reply_error(c, FD_E_BAD_REQUEST, &c->ctx.problem);
            return;
        }
    }
    json_t *page = NULL;
    fd_err e = flight_list(c->st, &c->ctx, status, cursor, limit, &page);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    static const char *const keep[] = {"status", NULL};
    api_reply_page(c, page, limit, keep);
}

/* POST /api/migrations {plan} -> 201 + Location. core validates the whole plan and names the
 * JSON path of anything wrong in it. */
void api_migrations_create(api_call *c)
{
    json_t *plan = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &plan) != 0)
        return;
    fd_err e = flight_create(c->st, &c->ctx, plan, &doc);
    json_decref(plan);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    const char *id = json_string_value(json_object_get(doc, "id"));
    char location[96];
    snprintf(location, sizeof location, "/api/migrations/%s", id != NULL ? id : "");
    api_reply_created(c, doc, location, api_doc_version(doc));
}

/* GET /api/migrations/{mid}: the whole document, stages with their steps.
 * A cheap read of the document's stamp (version and clock) comes first: a client that has this
 * version gets 304 without anything being built, and a document rendered for the same stamp is
 * sent again as it is (doc_cache.h). Only a miss builds, renders and keeps the document. */
void api_migration_get(api_call *c)
{
    const char *mid = c->params[0];
    fd_doc_stamp stamp;
    if (api_doc_cache_reply(c, mid, 0, &stamp))
        return;
    json_t *doc = NULL;
    fd_err e = flight_get(c->st, &c->ctx, mid, &doc);
    if (e == FD_OK)
        api_doc_cache_reply_built(c, mid, 0, &stamp, doc);
    else
        reply_migration(c, e, doc);
}

/* PATCH /api/migrations/{mid} {title?, description?, ...}, If-Match honoured by core */
void api_migration_patch(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = flight_patch(c->st, &c->ctx, c->params[0], body, &doc);
    json_decref(body);
    reply_migration(c, e, doc);
}

/* POST /api/migrations/{mid}/start {override_reason?}: draft -> in_flight. An unsatisfied start
 * gate is 409 with "missing", "unresolved_feedback" and "signoffs_missing". */
void api_migration_start(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, override_fields, 1, &body) != 0)
        return;
    fd_err e = flight_start_override(c->st, &c->ctx, c->params[0],
                                     check_str(body, "override_reason", NULL), &doc);
    json_decref(body);
    reply_migration(c, e, doc);
}

/* POST /api/migrations/{mid}/abort {reason} */
void api_migration_abort(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, abort_fields, 1, &body) != 0)
        return;
    fd_err e = flight_abort(c->st, &c->ctx, c->params[0], check_str(body, "reason", NULL), &doc);
    json_decref(body);
    reply_migration(c, e, doc);
}

/* POST /api/migrations/{mid}/stages/{stage}/complete {override_reason?}: a refusal lists the
 * blocking steps, or what the next stage's gate is "missing" */
void api_stage_complete(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, override_fields, 1, &body) != 0)
        return;
    fd_err e = flight_complete_stage_override(c->st, &c->ctx, c->params[0], c->params[1],
                                              check_str(body, "override_reason", NULL), &doc);
    json_decref(body);
    reply_migration(c, e, doc);
}
