/*
 * api.h - how server/ hands a routed, authenticated request to an api/ handler.
 *
 * api/ has one file per REST resource. Each handler: parse (api/body), call core, render
 * (api/reply). The handler always answers (a JSON document or a problem) and returns nothing.
 * server/ owns routing, authentication, request ids and the event hub; api/ never includes
 * server/ headers.
 */
#ifndef FD_API_H
#define FD_API_H

#include <h2o.h>

#include "core/store.h"
#include "core/types.h"

#define API_MAX_PARAMS 4

typedef struct api_call {
    h2o_req_t *req;
    fd_store *st;
    const fd_actor *actor;       /* NULL on public routes */
    const char *request_id;      /* also sent as X-Request-Id; from req->pool */
    const char *params[API_MAX_PARAMS]; /* {param} segments in order, percent-decoded,
                                           NUL-terminated, from req->pool */
    int nparams;
    fd_ctx ctx;                  /* prepared by the router: actor, request_id, idem_key,
                                    request_hash, if_match (from If-Match "<n>") */
} api_call;

typedef void (*api_handler_fn)(api_call *c);

enum {
    API_PUBLIC = 1u << 0, /* no token needed */
    API_STREAM = 1u << 1, /* answers with a stream (export); not replayable */
    API_JOB = 1u << 2,    /* a write whose handler only checks the request and hands the change
                             to api_job_submit (api/job.h): it runs at once, even while a commit
                             is in flight, instead of waiting for the write connection */
};

typedef struct api_route {
    const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern; /* "/api/migrations/{mid}/steps/{sid}/tick"; {name} matches one
                            non-empty segment */
    api_handler_fn fn;
    unsigned flags;
} api_route;

/* The table of every route api/ serves, terminated by an entry with method NULL. */
extern const api_route api_routes[];

#endif
