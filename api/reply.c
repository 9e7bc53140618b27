/*
 * reply.c - answering requests: JSON documents, problem+json errors, request bodies, queries.
 *
 * Everything a handler sends goes through send_body(), which sets Content-Length itself
 * (h2o_send_inline does not) and sends the whole response in one h2o_send. JSON is serialised
 * into a per-thread scratch buffer and copied once into req->pool, freed with the request.
 */
#include "api/reply.h"
#include "api/barrier.h"
#include "core/json_out.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBLEM_TYPE_BASE "https://flightdeck.dev/problems/"
#define DUMP_KEEP (256 * 1024) /* scratch kept between replies, at most */

/* Status, title and fallback detail per error; the only mapping from fd_err to HTTP. */
static const struct {
    int status;
    const char *title;
    const char *detail;
} errors[FD_E__COUNT] = {
    [FD_E_BAD_REQUEST] = {400, "Bad request", "The request could not be understood."},
    [FD_E_UNKNOWN_FIELD] = {400, "Unknown field",
                            "The body has a field this endpoint does not know."},
    [FD_E_INVALID] = {422, "Invalid value", "A field has the wrong type or value."},
    [FD_E_UNAUTHENTICATED] = {401, "Authentication required",
                              "Send a valid token: Authorization: Bearer <token>."},
    [FD_E_FORBIDDEN] = {403, "Not allowed", "Your role or teams do not allow this."},
    [FD_E_NOT_FOUND] = {404, "Not found", "There is nothing at this address."},
    [FD_E_CONFLICT] = {409, "Conflict with the current state",
                       "The current state does not allow this; reload and try again."},
    [FD_E_EXISTS] = {409, "Already exists", "That id is already taken."},
    [FD_E_STALE] = {412, "Stale version",
                    "If-Match names an old version; reload the resource and try again."},
    [FD_E_IDEM_MISMATCH] = {422, "Idempotency key reused",
                            "This Idempotency-Key was used for a different request."},
    [FD_E_TOO_LARGE] = {413, "Too large", "The request body is over the 1 MiB limit."},
    [FD_E_RATE_LIMITED] = {429, "Too many requests", "Slow down and retry later."},
    [FD_E_UNAVAILABLE] = {503, "Service unavailable",
                          "The server is not available; retry shortly."},
    [FD_E_INTERNAL] = {500, "Internal error", "Something went wrong on our side."},
};

/* Members of a problem body that `extra` may not replace. */
static const char *const reserved_members[] = {"type",     "title",      "status", "detail",
                                               "instance", "request_id", NULL};

int api_http_status(fd_err e)
{
    if ((int)e <= FD_OK || e >= FD_E__COUNT || errors[e].status == 0)
        return 500; /* FD_OK or a value outside the enum: a handler bug */
    return errors[e].status;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Internal Server Error";
    }
}

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

static void add_header_str(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value,
                          strlen(value));
}

/* A pool copy of s, NUL-terminated. */
static const char *pool_strdup(h2o_req_t *req, const char *s)
{
    return h2o_strdup(&req->pool, s, strlen(s)).base;
}

/* The request path without its query, NUL-terminated in the pool. */
static const char *request_path(h2o_req_t *req)
{
    size_t len = req->input.query_at != SIZE_MAX ? req->input.query_at : req->input.path.len;
    return h2o_strdup(&req->pool, req->input.path.base, len).base;
}

static int is_head(h2o_req_t *req)
{
    return h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
}

void api_reply_send_rendered(h2o_req_t *req, h2o_iovec_t *bufs, size_t nbufs)
{
    /* state FINAL clears the generator before anyone could call proceed, as h2o_send_inline does */
    static h2o_generator_t generator = {NULL, NULL};
    h2o_start_response(req, &generator);
    if (is_head(req) || nbufs == 0)
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, bufs, nbufs, H2O_SEND_STATE_FINAL);
}

/* The whole response in one send: status, Content-Type, Content-Length, bufs (pool memory). */
static void send_body(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t *bufs,
                      size_t nbufs)
{
    size_t total = 0;
    for (size_t i = 0; i < nbufs; i++)
        total += bufs[i].len;

    req->res.status = status;
    req->res.reason = reason_phrase(status);
    if (content_type != NULL) {
        add_header(req, H2O_TOKEN_CONTENT_TYPE, content_type);
        req->res.content_length = total;
    }
    /* group commit: an answer about a change waits until the change is durable */
    if (api_barrier_hold(req, bufs, nbufs))
        return;
    api_reply_send_rendered(req, bufs, nbufs);
}

/*
 * JSON is written into one contiguous scratch buffer, then copied once into the request's pool
 * (appending to a vector of pool chunks cost ~11 % of a large reply). The scratch buffer belongs
 * to the thread and is kept between replies unless it grew past DUMP_KEEP.
 */
static __thread fd_buf scratch;

/* Dump `doc` and a final newline into the scratch buffer; its bytes are scratch.data[0..len).
 * json_out writes what jansson's json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) would, faster. */
static int dump_to_scratch(const json_t *doc)
{
    fd_buf_reset(&scratch);
    if (json_out_append(&scratch, doc, 0) != 0)
        return -1;
    return fd_buf_append(&scratch, "\n", 1);
}

/* Let go of a scratch buffer that a rare huge reply grew. */
static void scratch_trim(void)
{
    if (scratch.cap > DUMP_KEEP) {
        fd_buf_free(&scratch);
    }
}

char *api_json_render(const json_t *doc, size_t *len)
{
    char *out = NULL;
    *len = 0;
    if (dump_to_scratch(doc) == 0) {
        out = h2o_mem_alloc_shared(NULL, scratch.len, NULL);
        memcpy(out, scratch.data, scratch.len);
        *len = scratch.len;
    }
    scratch_trim();
    return out;
}

/* Serialise `doc` (borrowed) with a final newline and send it. */
static void send_json(h2o_req_t *req, int status, const char *content_type, const json_t *doc)
{
    if (dump_to_scratch(doc) != 0) {
        /* only a non-serialisable value (NaN) gets here: a bug, never the client's fault */
        static const char fallback[] = "{\"title\":\"Internal error\",\"status\":500}\n";
        h2o_iovec_t b = h2o_iovec_init(H2O_STRLIT(fallback));
        fprintf(stderr, "flightdeck: cannot serialise a response to %.*s\n",
                (int)req->input.path.len, req->input.path.base);
        scratch_trim();
        send_body(req, 500, "application/problem+json", &b, 1);
        return;
    }
    h2o_iovec_t b = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, scratch.len), scratch.len);
    memcpy(b.base, scratch.data, scratch.len);
    scratch_trim();
    send_body(req, status, content_type, &b, 1);
}

static int is_safe_method(h2o_req_t *req)
{
    return is_head(req) ||
           h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("GET"));
}

/* 1 when an If-None-Match header lists `etag` (or "*"). */
static int etag_matches(h2o_req_t *req, const char *etag)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    const char *s = h2o_strdup(&req->pool, v.base, v.len).base;
    return strcmp(s, "*") == 0 || strstr(s, etag) != NULL;
}

#define ETAG_MAX (FD_INT_TEXT_MAX + 2) /* the number between quotes, and the NUL */

/* The ETag of `version` into buf, NUL-terminated: "\"%lld\"" as snprintf would write it,
 * without snprintf, which was most of the cost of a cached document's headers. Returns the
 * length. */
static size_t etag_format(char buf[ETAG_MAX], int64_t version)
{
    buf[0] = '"';
    size_t len = 1 + fd_i64_text(buf + 1, version);
    buf[len++] = '"';
    buf[len] = '\0';
    return len;
}

/* The headers of every JSON document (Idempotent-Replayed, ETag). Returns 1 when the answer is
 * 304 Not Modified, sent here: a 200 to a GET/HEAD whose If-None-Match names the ETag. */
static int json_headers_or_304(api_call *c, int status, int64_t etag_version)
{
    h2o_req_t *req = c->req;
    if (c->ctx.replayed)
        add_header_str(req, "idempotent-replayed", "true");
    if (etag_version >= 0) {
        char *etag = h2o_mem_alloc_pool(&req->pool, ETAG_MAX); /* the header keeps it */
        size_t len = etag_format(etag, etag_version);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, len);
        if (status == 200 && is_safe_method(req) && etag_matches(req, etag)) {
            send_body(req, 304, NULL, NULL, 0);
            return 1;
        }
    }
    return 0;
}

void api_reply_json(api_call *c, int status, json_t *body, int64_t etag_version)
{
    if (body == NULL) {
        fd_problem p = {0};
        fd_fail(&p, FD_E_INTERNAL, NULL, "a handler replied with no document");
        api_reply_error(c, FD_E_INTERNAL, &p);
        return;
    }
    if (!json_headers_or_304(c, status, etag_version))
        send_json(c->req, status, "application/json", body);
    json_decref(body);
}

void api_reply_json_text(api_call *c, int status, h2o_iovec_t text, int64_t etag_version)
{
    if (!json_headers_or_304(c, status, etag_version))
        send_body(c->req, status, "application/json", &text, 1);
}

int api_reply_not_modified(api_call *c, int64_t etag_version)
{
    char etag[ETAG_MAX];
    etag_format(etag, etag_version);
    if (etag_version < 0 || !is_safe_method(c->req) || !etag_matches(c->req, etag))
        return 0;
    return json_headers_or_304(c, 200, etag_version);
}

void api_reply_created(api_call *c, json_t *body, const char *location, int64_t etag_version)
{
    if (location != NULL)
        add_header(c->req, H2O_TOKEN_LOCATION, pool_strdup(c->req, location));
    api_reply_json(c, 201, body, etag_version);
}

void api_reply_no_content(api_call *c)
{
    if (c->ctx.replayed)
        add_header_str(c->req, "idempotent-replayed", "true");
    send_body(c->req, 204, NULL, NULL, 0);
}

/* The request id the server put on the response (X-Request-Id), or NULL. */
static const char *response_request_id(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    if (i == -1)
        return NULL;
    h2o_iovec_t v = req->res.headers.entries[i].value;
    return h2o_strdup(&req->pool, v.base, v.len).base;
}

static int is_reserved(const char *key)
{
    for (int i = 0; reserved_members[i] != NULL; i++)
        if (strcmp(reserved_members[i], key) == 0)
            return 1;
    return 0;
}

/* Build and send the problem+json body. `extra` is borrowed. */
static void send_problem(h2o_req_t *req, const char *request_id, fd_err e, const char *detail,
                         const char *field, const json_t *extra)
{
    if ((int)e <= FD_OK || e >= FD_E__COUNT)
        e = FD_E_INTERNAL;
    int status = api_http_status(e);
    const char *path = request_path(req);

    if (e == FD_E_INTERNAL) {
        /* the real cause goes to the log, the client gets the request id to quote */
        fprintf(stderr, "flightdeck: internal error, request %s, %.*s %s: %s\n",
                request_id != NULL ? request_id : "-", (int)req->input.method.len,
                req->input.method.base, path, detail != NULL && *detail ? detail : "(no detail)");
        detail = "Something went wrong on our side. It has been logged; quote the request id "
                 "when you report it.";
        field = NULL;
        extra = NULL;
    } else if (detail == NULL || *detail == '\0') {
        detail = errors[e].detail;
    }

    char type[96];
    snprintf(type, sizeof type, PROBLEM_TYPE_BASE "%s", fd_err_name(e));
    /* the path (and a detail that quotes it) are the client's bytes: JSON carries only UTF-8,
     * so anything else is shown as '?' rather than losing the whole problem body */
    char safe_path[1024], safe_detail[1024];
    check_utf8_sanitize(path, strlen(path), safe_path, sizeof safe_path);
    check_utf8_sanitize(detail, strlen(detail), safe_detail, sizeof safe_detail);
    json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s?}", "type", type, "title",
                             errors[e].title, "status", status, "detail", safe_detail, "instance",
                             safe_path, "request_id", request_id);
    if (body == NULL) {
        send_body(req, status, NULL, NULL, 0);
        return;
    }
    if (request_id == NULL)
        json_object_set_new(body, "request_id", json_null());
    if (field != NULL && *field != '\0')
        json_object_set_new(body, "field", json_string(field));
    if (json_is_object(extra)) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)extra, key, value)
        {
            if (!is_reserved(key))
                json_object_set(body, key, value);
        }
    }

    if (status == 401)
        add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer realm=\"flightdeck\"");
    json_t *retry = json_object_get(body, "retry_after");
    if (status == 429 && json_is_integer(retry)) {
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", (long long)json_integer_value(retry));
        add_header(req, H2O_TOKEN_RETRY_AFTER, pool_strdup(req, secs));
    }
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    send_json(req, status, "application/problem+json", body);
    json_decref(body);
}

void api_reply_error(api_call *c, fd_err e, fd_problem *p)
{
    fd_problem empty = {0};
    if (p == NULL)
        p = &empty;
    send_problem(c->req, c->request_id, e, p->detail, p->field, p->extra);
    fd_problem_clear(p);
}

void api_reply_problem(h2o_req_t *req, fd_err e, const char *detail, json_t *extra)
{
    send_problem(req, response_request_id(req), e, detail, NULL, extra);
    json_decref(extra);
}

/* ---- request bodies ---------------------------------------------------------------------- */

static int is_blank(h2o_iovec_t v)
{
    for (size_t i = 0; i < v.len; i++)
        if (!isspace((unsigned char)v.base[i]))
            return 0;
    return 1;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    default:
        return "an object";
    }
}

/* 1 when v nests arrays and objects more than `left` levels deep. */
static int too_deep(const json_t *v, int left)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (left == 0)
        return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (too_deep(json_array_get(v, i), left - 1))
                return 1;
        return 0;
    }
    for (void *it = json_object_iter((json_t *)v); it != NULL;
         it = json_object_iter_next((json_t *)v, it))
        if (too_deep(json_object_iter_value(it), left - 1))
            return 1;
    return 0;
}

int api_body_object(api_call *c, const check_field *fields, int empty_ok, json_t **out)
{
    h2o_iovec_t body = c->req->entity;
    fd_problem *p = &c->ctx.problem;
    *out = NULL;

    if (body.len > API_BODY_MAX) {
        fd_fail(p, FD_E_TOO_LARGE, NULL,
                "The request body is %zu bytes; the limit is %d bytes (1 MiB).", body.len,
                API_BODY_MAX);
        api_reply_error(c, FD_E_TOO_LARGE, p);
        return -1;
    }
    json_t *doc = NULL;
    json_error_t jerr;
    if (body.base == NULL || is_blank(body)) {
        if (!empty_ok) {
            fd_fail(p, FD_E_BAD_REQUEST, NULL, "This request needs a JSON object as its body.");
            api_reply_error(c, FD_E_BAD_REQUEST, p);
            return -1;
        }
        /* no body is {}: still checked, so a missing required field is named */
        doc = json_object();
        if (doc == NULL) {
            fd_fail(p, FD_E_INTERNAL, NULL, "out of memory");
            api_reply_error(c, FD_E_INTERNAL, p);
            return -1;
        }
    } else {
        doc = json_loadb(body.base, body.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    }
    if (doc == NULL) {
        fd_fail(p, FD_E_BAD_REQUEST, NULL, "Malformed JSON at line %d, column %d (byte %d): %s.",
                jerr.line, jerr.column, jerr.position, jerr.text);
        fd_problem_set(p, "line", json_integer(jerr.line));
        fd_problem_set(p, "column", json_integer(jerr.column));
        fd_problem_set(p, "position", json_integer(jerr.position));
        api_reply_error(c, FD_E_BAD_REQUEST, p);
        return -1;
    }
    if (!json_is_object(doc)) {
        fd_fail(p, FD_E_BAD_REQUEST, NULL, "The body must be a JSON object, not %s.",
                json_type_name(doc));
        json_decref(doc);
        api_reply_error(c, FD_E_BAD_REQUEST, p);
        return -1;
    }
    /* Nothing flightdeck takes nests anywhere near this; a body that does is an attack on the
     * recursive code that stores, hashes and renders what it was given. */
    if (too_deep(doc, API_BODY_MAX_DEPTH)) {
        fd_fail(p, FD_E_BAD_REQUEST, NULL,
                "The body nests arrays and objects more than %d levels deep.",
                API_BODY_MAX_DEPTH);
        json_decref(doc);
        api_reply_error(c, FD_E_BAD_REQUEST, p);
        return -1;
    }
    if (fields != NULL) {
        fd_err e = check_object(doc, fields, "", p);
        if (e != FD_OK) {
            json_decref(doc);
            api_reply_error(c, e, p);
            return -1;
        }
    }
    *out = doc;
    return 0;
}

/* ---- query parameters -------------------------------------------------------------------- */

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decode a query component (%XX, '+' as space) into the pool. A malformed escape, or %00 (which
 * would cut the C string short), is kept literally so the value fails validation visibly. */
static char *query_decode(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0 && (s[i + 1] != '0' || s[i + 2] != '0')) {
            out[n++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return out;
}

const char *api_query(api_call *c, const char *name)
{
    h2o_req_t *req = c->req;
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *p = req->path.base + req->query_at + 1;
    const char *end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *key_end = eq != NULL ? eq : amp;
        const char *key = query_decode(&req->pool, p, (size_t)(key_end - p));
        if (strcmp(key, name) == 0) {
            if (eq == NULL)
                return "";
            return query_decode(&req->pool, eq + 1, (size_t)(amp - eq - 1));
        }
        p = amp + 1;
    }
    return NULL;
}

int api_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL)
        return -1;
    /* strtoll alone accepts leading blanks and '+'; an id in a URL is digits only */
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)d[0]))
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- paging -------------------------------------------------------------------------------- */

int64_t api_doc_version(const json_t *doc)
{
    const json_t *v = json_object_get(doc, "version");
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

int api_page_params(api_call *c, int *limit, const char **cursor)
{
    const char *s = api_query(c, "limit");
    int64_t n = API_PAGE_DEFAULT;
    if (s != NULL && api_parse_int64(s, 1, API_PAGE_MAX, &n) != 0) {
        fd_fail(&c->ctx.problem, FD_E_BAD_REQUEST, "limit",
                "limit must be a whole number from 1 to %d.", API_PAGE_MAX);
        api_reply_error(c, FD_E_BAD_REQUEST, &c->ctx.problem);
        return -1;
    }
    *limit = (int)n;
    *cursor = api_query(c, "cursor");
    if (*cursor != NULL && **cursor == '\0')
        *cursor = NULL;
    /* Cursors are the keys we hand out (slugs and numeric ids). Anything else is refused rather
     * than read as "from the start": a bot with a broken cursor must not loop over page 1. */
    if (*cursor != NULL && !check_is_slug(*cursor)) {
        fd_fail(&c->ctx.problem, FD_E_BAD_REQUEST, "cursor",
                "cursor is not one this server handed out; use next_cursor from the last page.");
        api_reply_error(c, FD_E_BAD_REQUEST, &c->ctx.problem);
        return -1;
    }
    return 0;
}

const char *api_url_encode(h2o_req_t *req, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = h2o_mem_alloc_pool(&req->pool, len * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    out[n] = '\0';
    return out;
}

void api_reply_page(api_call *c, json_t *page, int limit, const char *const *keep)
{
    h2o_req_t *req = c->req;
    const char *next = json_string_value(json_object_get(page, "next_cursor"));
    if (next != NULL) {
        h2o_iovec_t parts[16];
        size_t n = 0;
        char lim[16];
        snprintf(lim, sizeof lim, "%d", limit);
        parts[n++] = h2o_iovec_init(H2O_STRLIT("<"));
        const char *path = request_path(req);
        parts[n++] = h2o_iovec_init(path, strlen(path));
        parts[n++] = h2o_iovec_init(H2O_STRLIT("?limit="));
        parts[n++] = h2o_strdup(&req->pool, lim, strlen(lim));
        parts[n++] = h2o_iovec_init(H2O_STRLIT("&cursor="));
        const char *enc = api_url_encode(req, next);
        parts[n++] = h2o_iovec_init(enc, strlen(enc));
        for (int i = 0; keep != NULL && keep[i] != NULL && n + 5 < 16; i++) {
            const char *v = api_query(c, keep[i]);
            if (v == NULL)
                continue;
            const char *venc = api_url_encode(req, v);
            parts[n++] = h2o_iovec_init(H2O_STRLIT("&"));
            parts[n++] = h2o_iovec_init(keep[i], strlen(keep[i]));
            parts[n++] = h2o_iovec_init(H2O_STRLIT("="));
            parts[n++] = h2o_iovec_init(venc, strlen(venc));
        }
        parts[n++] = h2o_iovec_init(H2O_STRLIT(">; rel=\"next\""));
        h2o_iovec_t link = h2o_concat_list(&req->pool, parts, n);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LINK, NULL, link.base, link.len);
    }
    api_reply_json(c, 200, page, -1);
}
