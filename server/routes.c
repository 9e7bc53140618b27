/*
 * routes.c - the routes server/ answers itself: browser sessions, event streams (the hub's
 * handlers), and the development sign-in list.
 *
 *   POST   /api/session            {token} -> HttpOnly session cookie           (public)
 *   DELETE /api/session            clear the cookie, 204                        (public)
 *   GET    /api/events             every migration's events (server-sent events)
 *   GET    /api/migrations/{mid}/events     one migration's events
 *   GET    /api/migrations/{mid}/presence   who has the migration open
 *   GET    /api/dev/users          demo users with ready tokens; --dev only     (public)
 *   GET    /metrics                Prometheus text (server/metrics.c)   (public, or its token)
 *   POST   /api/chatops/slack      Slack slash commands (server/slack.c; public, signed)
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/reply.h"
#include "core/timefmt.h"
#include "server/demo.h"
#include "server/http.h"
#include "server/hub.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/slack.h"

static void session_create(api_call *c);
static void session_delete(api_call *c);
static void dev_users(api_call *c);

const api_route server_routes[] = {
    {"POST", "/api/session", session_create, API_PUBLIC},
    {"DELETE", "/api/session", session_delete, API_PUBLIC},
    {"GET", "/api/events", hub_handle_events_all, API_STREAM},
    {"GET", "/api/migrations/{mid}/events", hub_handle_events, API_STREAM},
    {"GET", "/api/migrations/{mid}/presence", hub_handle_presence, 0},
    {"GET", "/api/dev/users", dev_users, API_PUBLIC},
    {"GET", "/metrics", metrics_handle, API_PUBLIC},
    {"POST", "/api/chatops/slack", slack_handle, API_PUBLIC},
    {NULL, NULL, NULL, 0},
};

/* The answer to a sign-in: who the token says you are, and until when. */
static json_t *session_doc(const fd_actor *a, int64_t exp)
{
    char when[FD_TIME_LEN];
    json_t *teams = json_array();

    for (int i = 0; teams != NULL && i < a->nteams; i++)
        json_array_append_new(teams, json_string(a->teams[i]));
    fd_time_format(exp * 1000, when);
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "sub", a->sub, "name", a->name, "role",
                     fd_role_name(a->role), "teams", teams, "expires_at", when);
}

static void session_create(api_call *c)
{
    static const check_field fields[] = {
        {"token", CHECK_STRING, 1, 1, AUTH_TOKEN_MAX},
        {NULL, 0, 0, 0, 0},
    };
    const http_settings *hs = http_current();
    h2o_req_t *req = c->req;
    json_t *body = NULL;
    fd_actor actor;
    int64_t exp = 0, now = (int64_t)time(NULL);
    char why[200];

    /* Login CSRF: a cross-site form could otherwise sign a victim in as the attacker. */
    if (!http_has_csrf_header(req)) {
        fd_fail(&c->ctx.problem, FD_E_FORBIDDEN, NULL,
                "Signing in needs the header 'X-Requested-With: flightdeck' (defence against "
                "cross-site requests).");
        api_reply_error(c, FD_E_FORBIDDEN, &c->ctx.problem);
        return;
    }
    if (api_body_object(c, fields, 0, &body) != 0)
        return;
    const char *token = json_string_value(json_object_get(body, "token"));
    if (auth_verify(hs->keys, token, strlen(token), now, &actor, &exp, why, sizeof why) != 0) {
        json_decref(body);
        fd_fail(&c->ctx.problem, FD_E_UNAUTHENTICATED, NULL, "%s", why);
        api_reply_error(c, FD_E_UNAUTHENTICATED, &c->ctx.problem);
        return;
    }

    /* The cookie lives exactly as long as the token it carries. */
    int64_t max_age = exp - now;
    size_t tlen = strlen(token);
    size_t cap = tlen + 128;
    char *cookie = h2o_mem_alloc_pool(&req->pool, cap);
    int n = snprintf(cookie, cap, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
                     HTTP_SESSION_COOKIE, token, (long long)max_age,
                     hs->cookie_secure ? "; Secure" : "");
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, cookie, (size_t)n);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    json_decref(body);
    api_reply_json(c, 200, session_doc(&actor, exp), -1);
}

static void session_delete(api_call *c)
{
    static const char clear[] =
        HTTP_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
    h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_SET_COOKIE, NULL,
                   H2O_STRLIT(clear));
    api_reply_no_content(c);
}

static void dev_users(api_call *c)
{
    const http_settings *hs = http_current();
    json_t *users = NULL;

    if (!hs->dev) {
        fd_fail(&c->ctx.problem, FD_E_NOT_FOUND, NULL,
                "There is no endpoint at this path; GET /api/openapi.yaml lists them.");
        api_reply_error(c, FD_E_NOT_FOUND, &c->ctx.problem);
        return;
    }
    if (!auth_keys_can_mint(hs->keys)) { /* only an identity provider's key: nobody to offer */
        api_reply_json(c, 200, json_array(), -1);
        return;
    }
    if (demo_users_json(hs->keys, (int64_t)time(NULL), &users) != 0) {
        fd_fail(&c->ctx.problem, FD_E_INTERNAL, NULL, "cannot mint demo tokens");
        api_reply_error(c, FD_E_INTERNAL, &c->ctx.problem);
        return;
    }
    h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    api_reply_json(c, 200, users, -1);
}
