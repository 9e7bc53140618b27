/*
 * report.c - after landing: the flight report (printable HTML) and the archive (one JSON
 * document, streamed).
 *
 * GET /api/migrations/{mid}/report builds the page in memory (core/report.c) and sends it in one
 * piece, with a Content-Security-Policy that allows nothing but its own inline styles: the page
 * has no scripts, and user text in it is escaped, so a step titled <script> stays text.
 *
 * GET /api/migrations/{mid}/archive streams in constant memory like the audit export: one
 * archive_cursor, one reused ~64 KiB buffer, one h2o_send outstanding at a time.
 */
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/archive.h"
#include "core/report.h"

#define ARCHIVE_CHUNK (64 * 1024)
/* the page needs nothing but its own inline styles */
#define REPORT_CSP                                                                                 \
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none';"          \
    " frame-ancestors 'none'"

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

static void not_found_or_error(api_call *c, fd_err e)
{
    if (e == FD_E_NOT_FOUND)
        fd_fail(&c->ctx.problem, e, NULL, "There is no migration %s.", c->params[0]);
    api_reply_error(c, e, &c->ctx.problem);
}

/* GET /api/migrations/{mid}/report */
void api_migration_report(api_call *c)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = c->req;
    fd_buf page = {0};
    fd_err e = report_html(c->st, c->params[0], &page);
    if (e != FD_OK) {
        fd_buf_free(&page);
        not_found_or_error(c, e);
        return;
    }
    /* h2o sends from memory it does not own only while the request lives: copy to the pool */
    h2o_iovec_t body = h2o_strdup(&req->pool, page.data, page.len);
    fd_buf_free(&page);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = body.len;
    add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/html; charset=utf-8");
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0,
                          NULL, H2O_STRLIT(REPORT_CSP));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

typedef struct archive_stream {
    h2o_generator_t super; /* first: h2o hands this pointer back to proceed and stop */
    fd_store *st;
    archive_cursor cur;
    fd_buf buf;
    const char *request_id;
} archive_stream;

static void stream_dispose(void *p)
{
    archive_stream *s = p;
    fd_buf_free(&s->buf);
}

static void stream_send_next(archive_stream *s, h2o_req_t *req)
{
    int done = 0;
    fd_buf_reset(&s->buf);
    fd_err e = archive_chunk(s->st, &s->cur, &s->buf, ARCHIVE_CHUNK, &done);
    if (e != FD_OK) {
        /* the status line is out: cut the stream so the client sees a truncated transfer */
        fprintf(stderr, "flightdeck: archive failed mid-stream, request %s\n",
                s->request_id != NULL ? s->request_id : "-");
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    h2o_iovec_t chunk = h2o_iovec_init(s->buf.data, s->buf.len);
    h2o_send(req, &chunk, chunk.len > 0 ? 1 : 0,
             done ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    stream_send_next((archive_stream *)gen, req);
}

static void stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)gen; /* the client went away; stream_dispose frees the buffer with the pool */
    (void)req;
}

/* GET /api/migrations/{mid}/archive */
void api_migration_archive(api_call *c)
{
    h2o_req_t *req = c->req;
    const char *mid = c->params[0];
    archive_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, stream_dispose);
    memset(s, 0, sizeof *s);
    s->super.proceed = stream_proceed;
    s->super.stop = stream_stop;
    s->st = c->st;
    s->request_id = c->request_id;
    fd_err e = archive_open(c->st, mid, &s->cur);
    if (e != FD_OK) {
        not_found_or_error(c, e);
        return;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    add_header(req, H2O_TOKEN_CONTENT_TYPE, "application/json");
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    char disp[128];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s-archive.json\"",
             check_is_slug(mid) ? mid : "migration");
    add_header(req, H2O_TOKEN_CONTENT_DISPOSITION, h2o_strdup(&req->pool, disp, strlen(disp)).base);
    h2o_start_response(req, &s->super);
    stream_send_next(s, req); /* the head is written now, on the same turn as the cursor opened */
}
