/*
 * audit.c - the flight recorder over HTTP: the export (streamed) and the chain verification.
 *
 * GET /api/migrations/{mid}/audit?format=json|ndjson|csv&after={seq} streams in constant memory:
 * a generator keeps one core audit_cursor and one buffer, refills the buffer with the next
 * ~64 KiB each time h2o asks for more (proceed), and has exactly one h2o_send outstanding. The
 * buffer is reused, so its contents stay valid until the next proceed, as h2o requires. The
 * cursor fixes the set of events when it opens, so a long export of a live migration is a
 * consistent snapshot.
 *
 * CSV is formatted on a thread of its own. Why: the export is one loop thread's work (reading
 * SQLite, writing the socket), and turning an event into its CSV row costs about as much again
 * as reading it (a million events: ~1.6 s of loop CPU for NDJSON, ~2.5 s for CSV), while the
 * other core is half idle (the client). So the loop thread reads chunk k+2 (its rows packed,
 * copied out of SQLite: the cursor's csv_packed) while the worker formats chunk k+1
 * (audit_csv_unpack) and the socket takes chunk k: two packed buffers, two CSV buffers, one
 * job at a time, handed over under a mutex. Its chunks are bigger (CSV_CHUNK): each chunk costs
 * a handover, a proceed and a write besides its rows, and at 64 KiB those were ~0.3 s of loop
 * CPU in a million events; 512 KiB keeps the loop away from other requests for under a
 * millisecond a chunk and adds ~2 MB to the peak RSS. At most CSV_WORKERS exports have a worker
 * at once; others format inline as the other formats do (same bytes either way).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "core/audit.h"
#include "core/audit_csv.h"

#define EXPORT_CHUNK (64 * 1024)
#define CSV_CHUNK (512 * 1024) /* packed rows a chunk, with a worker */
#define CSV_WORKERS 2          /* CSV exports with a formatting thread at once (loop thread only) */

/* The formatting thread of one CSV export and its one job: packed rows in, CSV out. */
typedef struct csv_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t posted_cv, done_cv;
    int posted;   /* a job waits for the worker */
    int finished; /* the last job posted is done */
    int failed;   /* ... and audit_csv_unpack failed */
    int quit;
    const fd_buf *in;
    fd_buf *out;
} csv_worker;

typedef struct audit_stream {
    h2o_generator_t super; /* first: h2o hands this pointer back to proceed and stop */
    fd_store *st;
    audit_cursor cur;
    fd_buf buf;
    const char *request_id;
    /* CSV with a worker (csv != NULL): chunk k is read into packed[k % 2] and formatted into
     * out[k % 2] */
    csv_worker *csv;
    fd_buf packed[2], out[2];
    int nread;      /* chunks read so far */
    int read_all;   /* the cursor is exhausted */
    int filled;     /* a chunk read and not yet posted, or -1 */
    int formatting; /* the chunk posted to the worker, or -1 */
} audit_stream;

static int csv_workers; /* how many exports have one now */

static void *csv_worker_main(void *arg)
{
    csv_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->posted && !w->quit)
            pthread_cond_wait(&w->posted_cv, &w->lock);
        if (w->quit)
            break;
        w->posted = 0;
        const fd_buf *in = w->in;
        fd_buf *out = w->out;
        pthread_mutex_unlock(&w->lock);
        fd_buf_reset(out);
        int r = audit_csv_unpack(out, in->data, in->len);
        pthread_mutex_lock(&w->lock);
        w->failed = r != 0;
        w->finished = 1;
        pthread_cond_signal(&w->done_cv);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* A worker for s, or none (s->csv stays NULL: the export formats inline) when CSV_WORKERS
 * exports have one or the thread cannot start. */
static void csv_worker_start(audit_stream *s)
{
    if (csv_workers >= CSV_WORKERS)
        return;
    csv_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->posted_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    if (pthread_create(&w->thread, NULL, csv_worker_main, w) != 0) {
        pthread_cond_destroy(&w->done_cv);
        pthread_cond_destroy(&w->posted_cv);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return;
    }
    csv_workers++;
    s->csv = w;
    s->cur.csv_packed = 1; /* the loop only copies rows; the worker writes their CSV */
    s->filled = s->formatting = -1;
}

/* Stops the worker (after the job it has, if any) and waits for it. */
static void csv_worker_stop(audit_stream *s)
{
    csv_worker *w = s->csv;
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_signal(&w->posted_cv);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->posted_cv);
    pthread_mutex_destroy(&w->lock);
    free(w);
    s->csv = NULL;
    csv_workers--;
}

/* Hand chunk s->filled to the worker. */
static void csv_post(audit_stream *s)
{
    csv_worker *w = s->csv;
    int k = s->filled;
    pthread_mutex_lock(&w->lock);
    w->in = &s->packed[k % 2];
    w->out = &s->out[k % 2];
    w->posted = 1;
    w->finished = 0;
    pthread_cond_signal(&w->posted_cv);
    pthread_mutex_unlock(&w->lock);
    s->formatting = k;
    s->filled = -1;
}

/* Wait for the chunk posted last; 0, or -1 when it could not be formatted. */
static int csv_wait(audit_stream *s)
{
    csv_worker *w = s->csv;
    pthread_mutex_lock(&w->lock);
    while (!w->finished)
        pthread_cond_wait(&w->done_cv, &w->lock);
    int failed = w->failed;
    pthread_mutex_unlock(&w->lock);
    s->formatting = -1;
    return failed ? -1 : 0;
}

/* Read the next chunk's rows, packed, into its buffer (the worker is not using it): s->filled.
 * 0 or -1. */
static int csv_read(audit_stream *s)
{
    fd_buf *b = &s->packed[s->nread % 2];
    int done = 0;
    fd_buf_reset(b);
    fd_err e = audit_export_chunk(s->st, &s->cur, b, CSV_CHUNK, &done);
    if (e != FD_OK)
        return -1;
    s->filled = s->nread++;
    s->read_all = done;
    return 0;
}

/* Runs when the request's pool is released: after the last send, or when the client went away. */
static void stream_dispose(void *p)
{
    audit_stream *s = p;
    if (s->csv != NULL)
        csv_worker_stop(s);
    fd_buf_free(&s->buf);
    for (int i = 0; i < 2; i++) {
        fd_buf_free(&s->packed[i]);
        fd_buf_free(&s->out[i]);
    }
}

static void stream_failed(audit_stream *s, h2o_req_t *req)
{
    /* the status line has gone out already: all we can do is cut the stream short, so the
       client sees a truncated transfer rather than a complete-looking export */
    fprintf(stderr, "flightdeck: audit export failed mid-stream, request %s, after seq %lld\n",
            s->request_id != NULL ? s->request_id : "-", (long long)s->cur.after);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
}

/*
 * The next CSV chunk with a worker: wait for chunk k (posted last time), post k+1 (read last
 * time), read k+2, then send k. Everything is settled before h2o_send, which may ask for the
 * next chunk before it returns.
 */
static void stream_send_csv(audit_stream *s, h2o_req_t *req)
{
    if (s->nread == 0) {
        /* the first call: chunk 0 to the worker, chunk 1 read */
        if (csv_read(s) != 0)
            goto fail;
        csv_post(s);
        if (!s->read_all && csv_read(s) != 0)
            goto fail;
    }
    int k = s->formatting;
    if (k < 0 || csv_wait(s) != 0)
        goto fail;
    if (s->filled >= 0) {
        csv_post(s);
        if (!s->read_all && csv_read(s) != 0)
            goto fail;
    }
    int last = s->formatting < 0 && s->filled < 0;
    h2o_iovec_t chunk = h2o_iovec_init(s->out[k % 2].data, s->out[k % 2].len);
    h2o_send(req, &chunk, chunk.len > 0 ? 1 : 0,
             last ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
    return;
fail:
    stream_failed(s, req);
}

/* Fill the buffer with the next chunk and send it; the final chunk ends the response. */
static void stream_send_next(audit_stream *s, h2o_req_t *req)
{
    int done = 0;
    fd_buf_reset(&s->buf);
    if (s->csv != NULL) {
        stream_send_csv(s, req);
        return;
    }
    fd_err e = audit_export_chunk(s->st, &s->cur, &s->buf, EXPORT_CHUNK, &done);
    if (e != FD_OK) {
        stream_failed(s, req);
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
    if (format == FD_AUDIT_CSV)
        csv_worker_start(s);
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
