/*
 * teams.c - /api/teams: list and create (admin), /api/teams/{team}: read and patch (admin).
 * The rules (who may, what a valid team is) live in core/team.c; this file only translates.
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/team.h"

/* GET /api/teams?limit=&cursor= */
void api_teams_list(api_call *c)
{
    int limit;
    const char *cursor;
    if (api_page_params(c, &limit, &cursor) != 0)
        return;
    json_t *page = NULL;
    fd_err e = team_list(c->st, &c->ctx, cursor, limit, &page);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_page(c, page, limit, NULL);
}

/* POST /api/teams {slug, name, channel?} -> 201 + Location */
void api_teams_create(api_call *c)
{
    json_t *body = NULL, *team = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = team_create(c->st, &c->ctx, body, &team);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    const char *slug = json_string_value(json_object_get(team, "slug"));
    char location[96];
    snprintf(location, sizeof location, "/api/teams/%s", slug != NULL ? slug : "");
    api_reply_created(c, team, location, api_doc_version(team));
}

/* GET /api/teams/{team} */
void api_team_get(api_call *c)
{
    json_t *team = NULL;
    fd_err e = team_get(c->st, &c->ctx, c->params[0], &team);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, team, api_doc_version(team));
}

/* PATCH /api/teams/{team} {name?, channel?}, If-Match honoured by core */
void api_team_patch(api_call *c)
{
    json_t *body = NULL, *team = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = team_patch(c->st, &c->ctx, c->params[0], body, &team);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, team, api_doc_version(team));
}
