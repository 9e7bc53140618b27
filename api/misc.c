/*
 * misc.c - the small endpoints: liveness, the OpenAPI document, and who the caller is.
 */
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"

/* schema/openapi.yaml, embedded by scripts/embed.sh into $(BUILD)/gen/openapi_embed.c */
extern const char *const fd_openapi_texts[];

/* GET /healthz (public): {"status": "ok", "schema_version": N}. For load balancers and the
 * Docker HEALTHCHECK; never cached, so a probe sees this process answering now. */
void api_healthz(api_call *c)
{
    json_t *doc = json_pack("{s:s}", "status", "ok");
    if (c->st != NULL)
        json_object_set_new(doc, "schema_version", json_integer(store_schema_version(c->st)));
    h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    api_reply_json(c, 200, doc, -1);
}

/* GET /api/openapi.yaml (public): the contract this binary was built with. */
void api_openapi(api_call *c)
{
    /* the text is static, so it is sent without a copy */
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = c->req;
    const char *text = fd_openapi_texts[0];
    h2o_iovec_t body = h2o_iovec_init(text, strlen(text));

    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/yaml"));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* GET /api/me: the caller as the server sees them, so a bot can check its token. */
void api_me(api_call *c)
{
    const fd_actor *a = c->actor;
    if (a == NULL) {
        fd_fail(&c->ctx.problem, FD_E_UNAUTHENTICATED, NULL, "Sign in to see who you are.");
        api_reply_error(c, FD_E_UNAUTHENTICATED, &c->ctx.problem);
        return;
    }
    json_t *teams = json_array();
    for (int i = 0; i < a->nteams && i < FD_MAX_TEAMS; i++)
        json_array_append_new(teams, json_string(a->teams[i]));
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:s}", "sub", a->sub, "name", a->name, "role",
                            fd_role_name(a->role), "teams", teams, "source", a->source);
    api_reply_json(c, 200, doc, -1);
}
