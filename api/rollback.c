/*
 * rollback.c - the go-around over REST: arm and read the rollback PR, order and confirm a
 * go-around, re-open landing after one. The rules live in core/rollback*.c and core/goaround.c.
 *
 * Arming, ?refresh=1 and the go-around ask GitHub, which takes a while: the handler returns
 * without answering and the request waits. Core calls back on the loop thread when the worker's
 * answer is in (see core/rollback.h), and the response is sent from there. h2o 2.2.5 keeps a
 * request until it is answered, but a client can still go away (HTTP/2 reset, a closed
 * connection noticed on write): a pool-disposal hook then marks the wait as orphaned, and the
 * answer is dropped instead of being written into freed memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/rollback.h"
#include "core/store_rollback.h"

/* Go-around ids are SQLite rowids, kept within what a JSON number holds exactly (2^53). */
#define GA_ID_MAX 9007199254740992LL

typedef struct api_wait api_wait;

/* Lives in the request's pool; disposed with the request. */
typedef struct wait_guard {
    api_wait *w; /* NULL once the answer was sent */
} wait_guard;

/* Lives on the heap until core's answer arrives, whether or not the client is still there. */
struct api_wait {
    h2o_req_t *req; /* NULL once the client went away */
    wait_guard *guard;
    char request_id[80];
};

static void on_request_disposed(void *p)
{
    wait_guard *g = p;
    if (g->w != NULL) {
        g->w->req = NULL;
        g->w->guard = NULL;
    }
}

static api_wait *wait_new(api_call *c)
{
    api_wait *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    wait_guard *g = h2o_mem_alloc_shared(&c->req->pool, sizeof *g, on_request_disposed);
    g->w = w;
    w->guard = g;
    w->req = c->req;
    snprintf(w->request_id, sizeof w->request_id, "%s", c->request_id ? c->request_id : "");
    return w;
}

/* A pending go-around waits for a second lead: 202 Accepted; anything else is 200. */
static int status_of(const json_t *doc)
{
    const char *state = json_string_value(json_object_get(doc, "state"));
    return state != NULL && strcmp(state, "pending") == 0 ? 202 : 200;
}

/* core's rollback_done_fn: answer the waiting request, if it is still there. */
static void on_answer(void *arg, fd_err e, fd_problem *p, json_t *doc)
{
    api_wait *w = arg;
    if (w->req != NULL) {
        api_call c;
        memset(&c, 0, sizeof c);
        c.req = w->req;
        c.request_id = w->request_id[0] ? w->request_id : NULL;
        fd_ctx_init(&c.ctx, NULL, c.request_id);
        w->guard->w = NULL; /* the request may be disposed as soon as it is answered */
        if (e == FD_OK)
            api_reply_json(&c, status_of(doc), doc, -1);
        else
            api_reply_error(&c, e, p);
    } else {
        json_decref(doc);
    }
    free(w);
}

/* After an asynchronous core call: an immediate answer (error or *out), or wait for on_answer. */
static void reply_or_wait(api_call *c, fd_err e, api_wait *w, json_t *out)
{
    if (e != FD_OK || out != NULL) {
        /* answered at once: core will not call back */
        if (w != NULL) {
            w->guard->w = NULL;
            free(w);
        }
        if (e != FD_OK)
            api_reply_error(c, e, &c->ctx.problem);
        else
            api_reply_json(c, status_of(out), out, -1);
    }
}

static int wait_or_reply(api_call *c, api_wait **w)
{
    *w = wait_new(c);
    if (*w != NULL)
        return 0;
    fd_fail(&c->ctx.problem, FD_E_INTERNAL, NULL, "out of memory");
    api_reply_error(c, FD_E_INTERNAL, &c->ctx.problem);
    return -1;
}

/* PUT /api/migrations/{mid}/rollback {repo, pr, merge_method?, requires_second_lead?} */
void api_rollback_put(api_call *c)
{
    json_t *body = NULL;
    api_wait *w;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    if (wait_or_reply(c, &w) != 0) {
        json_decref(body);
        return;
    }
    fd_err e = rollback_arm(c->st, &c->ctx, c->params[0], body, on_answer, w);
    json_decref(body);
    reply_or_wait(c, e, w, NULL);
}

/* GET /api/migrations/{mid}/rollback[?refresh=1] */
void api_rollback_get(api_call *c)
{
    const char *refresh = api_query(c, "refresh");
    if (refresh != NULL && strcmp(refresh, "1") != 0 && strcmp(refresh, "true") != 0 &&
        strcmp(refresh, "0") != 0 && strcmp(refresh, "false") != 0) {
        fd_fail(&c->ctx.problem, FD_E_BAD_REQUEST, "refresh", "refresh must be 1 or 0.");
        api_reply_error(c, FD_E_BAD_REQUEST, &c->ctx.problem);
        return;
    }
    if (refresh != NULL && (strcmp(refresh, "1") == 0 || strcmp(refresh, "true") == 0)) {
        api_wait *w;
        if (wait_or_reply(c, &w) != 0)
            return;
        fd_err e = rollback_refresh(c->st, &c->ctx, c->params[0], on_answer, w);
        reply_or_wait(c, e, w, NULL);
        return;
    }
    json_t *doc = NULL;
    fd_err e = rollback_get(c->st, &c->ctx, c->params[0], &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, -1);
}

static const check_field goaround_fields[] = {
    {"reason", CHECK_STRING, 1, 1, GA_REASON_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* POST /api/migrations/{mid}/go-around {reason} */
void api_goaround(api_call *c)
{
    json_t *body = NULL, *out = NULL;
    api_wait *w;
    if (api_body_object(c, goaround_fields, 0, &body) != 0)
        return;
    if (wait_or_reply(c, &w) != 0) {
        json_decref(body);
        return;
    }
    fd_err e = goaround_request(c->st, &c->ctx, c->params[0], check_str(body, "reason", NULL),
                                on_answer, w, &out);
    json_decref(body);
    reply_or_wait(c, e, w, out);
}

static const check_field confirm_fields[] = {
    {"id", CHECK_INT, 1, 1, GA_ID_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* POST /api/migrations/{mid}/go-around/confirm {id} */
void api_goaround_confirm(api_call *c)
{
    json_t *body = NULL, *out = NULL;
    api_wait *w;
    if (api_body_object(c, confirm_fields, 0, &body) != 0)
        return;
    if (wait_or_reply(c, &w) != 0) {
        json_decref(body);
        return;
    }
    fd_err e = goaround_confirm(c->st, &c->ctx, c->params[0], check_int(body, "id", 0), on_answer,
                                w, &out);
    json_decref(body);
    reply_or_wait(c, e, w, out);
}

static const check_field no_fields[] = {{NULL, CHECK_ANY, 0, 0, 0}};

/* POST /api/migrations/{mid}/landing/reopen: go_around -> landing active again */
void api_landing_reopen(api_call *c)
{
    json_t *body = NULL, *doc = NULL;
    if (api_body_object(c, no_fields, 1, &body) != 0)
        return;
    json_decref(body);
    fd_err e = goaround_reopen(c->st, &c->ctx, c->params[0], &doc);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, doc, api_doc_version(doc));
}
