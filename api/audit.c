/*
 * audit.c - the flight recorder over HTTP: the export (streamed) and the chain verification.
 *
 * GET /api/migrations/{mid}/audit?format=json|ndjson|csv&after={seq} streams in constant memory:
 * a generator keeps one core audit_cursor and one buffer, refills the buffer with the next
 * ~64 KiB each time h2o asks for more (proceed), and has exactly one h2o_send outstanding. The
 * buffer is reused, so its contents stay valid until the next proceed, as h2o requires. The
 * cursor fixes the set of events when it opens, so a long export of a live migration is a
 * consistent snapshot.
 */
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/audit.h"

#define EXPORT_CHUNK (64 * 1024)

typedef struct audit_stream {
    h2o_generator_t super; /* first: h2o hands this pointer back to proceed and stop */
    fd_store *st;
    audit_cursor cur;
    fd_buf buf;
    const char *request_id;
} audit_stream;

/* Runs when the request's pool is released: after the last send, or when the client went away. */
static void stream_dispose(void *p)
{
    audit_stream *s = p;
    fd_buf_free(&s->buf);
}

/* Fill the buffer with the next chunk and send it; the final chunk ends the response. */
static void stream_send_next(audit_stream *s, h2o_req_t *req)
{
    int done = 0;
    fd_buf_reset(&s->buf);
    fd_err e = audit_export_chunk(s->st, &s->cur, &s->buf, EXPORT_CHUNK, &done);
    if (e != FD_OK) {
        /* the status line has gone out already: all we can do is cut the stream short, so the
           client sees a truncated transfer rather than a complete-looking export */
        fprintf(stderr, "flightdeck: audit export failed mid-stream, request %s, after seq %lld\n",
                s->request_id != NULL ? s->request_id : "-", (long long)s->cur.after);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    h2o_iovec_t chunk = h2o_iovec_init(s->buf.data, s->buf.len);
    h2o_send(req, &chunk, chunk.len > 0 ? 1 : 0,
             done ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    stream_send_next((audit_stream *)gen, req);
}

static void stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    /* the client went away; stream_dispose frees the buffer with the pool */
    (void)gen;
    (void)req;
}

static const char *content_type_of(fd_audit_format f)
{
    switch (f) {
    case FD_AUDIT_NDJSON:
        return "application/x-ndjson";
    case FD_AUDIT_CSV:
        return "text/csv; charset=utf-8";
    default:
        return "application/json";
    }
}

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

/* GET /api/migrations/{mid}/audit?format=&after= */
void api_audit_export(api_call *c)
{
    h2o_req_t *req = c->req;
    const char *mid = c->params[0];

    fd_audit_format format = FD_AUDIT_JSON;
    const char *fs = api_query(c, "format");
    if (fs != NULL && *fs != '\0' && audit_format_parse(fs, &format) != 0) {
        fd_fail(&c->ctx.problem, FD_E_BAD_REQUEST, "format", "format must be json, ndjson or csv.");
        api_reply_error(c, FD_E_BAD_REQUEST, &c->ctx.problem);
        return;
    }
    int64_t after = 0;
    const char *as = api_query(c, "after");
    if (as != NULL && *as != '\0' && api_parse_int64(as, 0, INT64_MAX, &after) != 0) {
        fd_fail(&c->ctx.problem, FD_E_BAD_REQUEST, "after",
                "after must be an audit sequence number (a whole number, 0 or more).");
        api_reply_error(c, FD_E_BAD_REQUEST, &c->ctx.problem);
        return;
    }

    audit_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, stream_dispose);
    memset(s, 0, sizeof *s);
    s->super.proceed = stream_proceed;
    s->super.stop = stream_stop;
    s->st = c->st;
    s->request_id = c->request_id;
    fd_err e = audit_cursor_open(c->st, mid, after, format, &s->cur);
    if (e != FD_OK) {
        /* audit_cursor_open reports no detail of its own */
        if (e == FD_E_NOT_FOUND)
            fd_fail(&c->ctx.problem, e, NULL, "There is no migration %s.", mid);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }

    req->res.status = 200;
    req->res.reason = "OK";
    add_header(req, H2O_TOKEN_CONTENT_TYPE, content_type_of(format));
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    if (format == FD_AUDIT_CSV) {
        char disp[128];
        snprintf(disp, sizeof disp, "attachment; filename=\"%s-audit.csv\"",
                 check_is_slug(mid) ? mid : "migration");
        add_header(req, H2O_TOKEN_CONTENT_DISPOSITION,
                   h2o_strdup(&req->pool, disp, strlen(disp)).base);
    }
    h2o_start_response(req, &s->super);
    stream_send_next(s, req);
}

/* GET /api/migrations/{mid}/audit/verify: recompute the chain, report the first broken link */
void api_audit_verify(api_call *c)
{
    json_t *report = NULL;
    fd_err e = audit_verify(c->st, c->params[0], &report);
    if (e != FD_OK) {
        if (e == FD_E_NOT_FOUND)
            fd_fail(&c->ctx.problem, e, NULL, "There is no migration %s.", c->params[0]);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, report, -1);
}
