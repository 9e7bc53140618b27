/*
 * http.c - the request front door (h2o 2.2.5, evloop); the loop around it is serve.c.
 *
 * One pathconf "/" holds, in order: our handler (route, authenticate, prepare the api_call,
 * call the api/ or server/ handler), then h2o's file handler for the web UI. A filter adds
 * X-Request-Id to every response (static files and h2o's own errors too) and turns h2o's plain
 * text errors (413, and the file handler's 403/404/405/416/503) into problem+json; a logger writes the access log when the request is done. The
 * same filter and logger sit on the host's fallback path, which is where h2o sends the errors
 * it answers before any handler runs (an oversized body).
 *
 * Per-request notes (request id, route pattern, subject) travel in req->env, which h2o keeps
 * per request in its pool and which nothing else uses here.
 */
#include "server/http.h"
#include "core/check.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "api/reply.h"
#include "server/auth_cache.h"
#include "server/commit.h"
#include "server/h1_head.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/router.h"

#define ENV_RID "fd.rid"
#define ENV_ROUTE "fd.route"
#define ENV_SUB "fd.sub"

#define HTTP_HEADERS_MAX (64 * 1024) /* request line and headers; h2o alone allows ~408 KiB */

/* What the front door needs, set by http_set_context (the loop's own state is in serve.c). */
static struct {
    fd_store *st;
    http_settings settings;
} S;

const http_settings *http_current(void)
{
    return &S.settings;
}

/* ---- per-request notes ------------------------------------------------------------------- */

#define ENV_NOTES 3 /* request id, route, subject */

static void env_set(h2o_req_t *req, const char *name, const char *value)
{
    /* room for every note at the first one: growing the vector note by note costs a pool
     * allocation and a copy each time */
    size_t want = req->env.size + 2;
    h2o_vector_reserve(&req->pool, &req->env, want < 2 * ENV_NOTES ? 2 * ENV_NOTES : want);
    req->env.entries[req->env.size++] = h2o_iovec_init(name, strlen(name));
    req->env.entries[req->env.size++] = h2o_iovec_init(value, strlen(value));
}

static const char *env_get(h2o_req_t *req, const char *name)
{
    /* the names are this file's ENV_* strings, stored as given: the same pointer is the same
     * note, without comparing bytes; the byte compare below still decides for any other */
    for (size_t i = 0; i + 1 < req->env.size; i += 2)
        if (req->env.entries[i].base == name)
            return req->env.entries[i + 1].base;
    size_t len = strlen(name);
    for (size_t i = 0; i + 1 < req->env.size; i += 2)
        if (h2o_memis(req->env.entries[i].base, req->env.entries[i].len, name, len))
            return req->env.entries[i + 1].base;
    return NULL;
}

static const char *pool_strndup(h2o_req_t *req, const char *s, size_t len)
{
    return h2o_strdup(&req->pool, s, len).base;
}

/* The request's id: decided once, from a valid incoming X-Request-Id or a new one. */
static const char *request_id(h2o_req_t *req)
{
    const char *rid = env_get(req, ENV_RID);
    if (rid != NULL)
        return rid;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i != -1 && log_request_id_valid(req->headers.entries[i].value.base,
                                        req->headers.entries[i].value.len)) {
        rid = pool_strndup(req, req->headers.entries[i].value.base,
                           req->headers.entries[i].value.len);
    } else {
        char *buf = h2o_mem_alloc_pool(&req->pool, LOG_RID_MAX);
        log_request_id_new(buf);
        rid = buf;
    }
    env_set(req, ENV_RID, rid);
    return rid;
}

/* Names of the headers added to every response (not h2o tokens, so h2o has no static copy). */
static h2o_iovec_t hdr_request_id = {H2O_STRLIT("x-request-id")};
static h2o_iovec_t hdr_nosniff = {H2O_STRLIT("x-content-type-options")};
static h2o_iovec_t hdr_server = {H2O_STRLIT("server")};

/*
 * Append a response header whose name, spelling on the wire (orig_name, same length) and value
 * live as long as the request: what h2o_add_header_by_str does, without the pool copies of
 * name and spelling it makes for every call.
 */
static void add_static_header(h2o_req_t *req, h2o_iovec_t *name, const char *orig_name,
                              const char *value, size_t len)
{
    /* room for the usual five or so at once (h2o grows 4 -> 8 by copying otherwise) */
    size_t want = req->res.headers.size + 1;
    h2o_vector_reserve(&req->pool, &req->res.headers, want < 8 ? 8 : want);
    h2o_header_t *slot = req->res.headers.entries + req->res.headers.size++;
    slot->name = name;
    slot->orig_name = orig_name;
    slot->value = h2o_iovec_init(value, len);
}

/* The same, as the first response header. */
static void prepend_static_header(h2o_req_t *req, h2o_iovec_t *name, const char *orig_name,
                                  const char *value, size_t len)
{
    add_static_header(req, name, orig_name, value, len);
    h2o_header_t *e = req->res.headers.entries;
    h2o_header_t added = e[req->res.headers.size - 1];
    memmove(e + 1, e, (req->res.headers.size - 1) * sizeof *e);
    e[0] = added;
}

static void add_response_headers(h2o_req_t *req, const char *rid)
{
    if (h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1) == -1)
        add_static_header(req, &hdr_request_id, "X-Request-Id", rid, strlen(rid));
}

/* ---- small problem answers the api/ helpers do not cover (405, 413 from h2o) ------------ */

static h2o_iovec_t problem_text(h2o_req_t *req, int status, const char *slug, const char *title,
                                const char *detail)
{
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    char type[96];
    snprintf(type, sizeof type, "https://flightdeck.dev/problems/%s", slug);
    /* the path and the method are the client's bytes: JSON carries only UTF-8, so anything
     * else is shown as '?' rather than losing the whole body */
    char instance[1024], safe_detail[512];
    check_utf8_sanitize(req->path.base != NULL ? req->path.base : "", req->path.base ? plen : 0,
                        instance, sizeof instance);
    check_utf8_sanitize(detail, strlen(detail), safe_detail, sizeof safe_detail);
    json_t *doc =
        json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", type, "title", title, "status", status,
                  "detail", safe_detail, "instance", instance, "request_id", request_id(req));
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    h2o_iovec_t out = h2o_iovec_init(H2O_STRLIT("{}\n"));
    if (text != NULL) {
        size_t n = strlen(text);
        out.base = h2o_mem_alloc_pool(&req->pool, n + 1);
        memcpy(out.base, text, n);
        out.base[n] = '\n';
        out.len = n + 1;
    }
    free(text);
    json_decref(doc);
    return out;
}

static void send_method_not_allowed(h2o_req_t *req, const char *allow)
{
    static h2o_generator_t generator = {NULL, NULL};
    char detail[160];
    snprintf(detail, sizeof detail, "This endpoint does not answer %.*s; it answers %s.",
             (int)(req->method.len > 16 ? 16 : req->method.len), req->method.base, allow);
    h2o_iovec_t body = problem_text(req, 405, "method-not-allowed", "Method not allowed", detail);

    req->res.status = 405;
    req->res.reason = "Method Not Allowed";
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                   pool_strndup(req, allow, strlen(allow)), strlen(allow));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/problem+json"));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* The request line and headers, in bytes as they came (near enough: ": " and CRLF counted). */
static size_t request_head_size(h2o_req_t *req)
{
    size_t n = req->input.method.len + req->input.path.len + 12;
    for (size_t i = 0; i < req->headers.size; i++)
        n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return n;
}

/* 431: h2o buffers heads up to ~408 KiB; nothing we serve needs more than a few KiB. */
static void send_headers_too_large(h2o_req_t *req)
{
    static h2o_generator_t generator = {NULL, NULL};
    char detail[128];
    snprintf(detail, sizeof detail, "The request line and headers are over the limit of %d KiB.",
             HTTP_HEADERS_MAX / 1024);
    h2o_iovec_t body =
        problem_text(req, 431, "headers-too-large", "Request header fields too large", detail);

    req->res.status = 431;
    req->res.reason = "Request Header Fields Too Large";
    req->res.content_length = body.len;
    req->http1_is_persistent = 0; /* whoever sends this much is not worth keeping */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/problem+json"));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* ---- authentication ---------------------------------------------------------------------- */

static void set_err(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
}

/* Find the session cookie among the Cookie headers. Returns 1 with *out, else 0. */
static int find_session_cookie(h2o_req_t *req, h2o_iovec_t *out)
{
    static const char name[] = HTTP_SESSION_COOKIE;
    const size_t nlen = sizeof name - 1;

    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        const char *p = req->headers.entries[i].value.base;
        const char *end = p + req->headers.entries[i].value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *pair_end = semi != NULL ? semi : end;
            if ((size_t)(pair_end - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
                const char *v = p + nlen + 1;
                size_t vlen = (size_t)(pair_end - v);
                while (vlen > 0 && v[vlen - 1] == ' ')
                    vlen--;
                if (vlen > 0) {
                    *out = h2o_iovec_init(v, vlen);
                    return 1;
                }
            }
            p = pair_end;
        }
    }
    return 0;
}

/* The pool's hold on a request's actor: released when the request is disposed. */
static void release_actor(void *p)
{
    auth_shared_release(*(auth_shared **)p);
}

int http_authenticate(h2o_req_t *req, const fd_actor **actor, int64_t *exp, int *via_cookie,
                      char *why, size_t whylen)
{
    h2o_iovec_t token;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    auth_shared *shared = NULL;

    *actor = NULL;
    *via_cookie = 0;
    if (i != -1) {
        /* A Bearer header wins over a cookie, and a bad one is not rescued by the cookie. */
        h2o_iovec_t v = req->headers.entries[i].value;
        if (v.len < 8 || !h2o_lcstris(v.base, 6, H2O_STRLIT("bearer")) || v.base[6] != ' ') {
            set_err(why, whylen, "The Authorization header must be 'Bearer <token>'.");
            return -1;
        }
        size_t start = 7, end = v.len;
        while (start < end && v.base[start] == ' ')
            start++;
        while (end > start && v.base[end - 1] == ' ')
            end--;
        token = h2o_iovec_init(v.base + start, end - start);
    } else if (find_session_cookie(req, &token)) {
        *via_cookie = 1;
    } else {
        set_err(why, whylen,
                "Sign in: send 'Authorization: Bearer <token>', or exchange the token for a "
                "session cookie with POST /api/session.");
        return -1;
    }
    if (auth_verify_shared(S.settings.keys, token.base, token.len, (int64_t)time(NULL), &shared,
                           exp, why, whylen) != 0)
        return -1;
    /* The request borrows the verified actor (on a cache hit, the cache entry's own: no 2 KiB
     * copy per request); the reference goes with the pool, so it outlives every use. */
    auth_shared **hold = h2o_mem_alloc_shared(&req->pool, sizeof *hold, release_actor);
    *hold = shared;
    *actor = auth_shared_actor(shared);
    if (*via_cookie) {
        /* the shared actor is read-only: a session gets its own copy saying "web" */
        fd_actor *web = h2o_mem_alloc_pool(&req->pool, sizeof *web);
        *web = **actor;
        snprintf(web->source, sizeof web->source, "web");
        *actor = web;
    }
    return 0;
}

int http_has_csrf_header(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-requested-with"), -1);
    return i != -1 && h2o_lcstris(req->headers.entries[i].value.base,
                                  req->headers.entries[i].value.len, H2O_STRLIT("flightdeck"));
}

/* ---- preconditions: If-Match, Idempotency-Key -------------------------------------------- */

int http_parse_if_match(const char *s, size_t len, int64_t *out)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 1 && s[0] == '*') {
        *out = -1; /* "any current version": no version check */
        return 0;
    }
    if (len >= 2 && s[0] == 'W' && s[1] == '/') {
        s += 2;
        len -= 2;
    }
    if (len < 3 || len > 20 || s[0] != '"' || s[len - 1] != '"')
        return -1;
    int64_t v = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int http_idempotency_key_valid(const char *s, size_t len)
{
    if (len == 0 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* Hex SHA-256 of method, path (with query) and body: what "the same request" means for a key. */
static const char *request_hash(h2o_req_t *req)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *m = EVP_MD_CTX_new();

    if (m == NULL)
        return NULL;
    int ok =
        EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(m, req->method.base, req->method.len) == 1 &&
        EVP_DigestUpdate(m, "\n", 1) == 1 &&
        EVP_DigestUpdate(m, req->path.base, req->path.len) == 1 &&
        EVP_DigestUpdate(m, "\n", 1) == 1 &&
        (req->entity.len == 0 || EVP_DigestUpdate(m, req->entity.base, req->entity.len) == 1) &&
        EVP_DigestFinal_ex(m, md, &mdlen) == 1;
    EVP_MD_CTX_free(m);
    if (!ok)
        return NULL;
    char *out = h2o_mem_alloc_pool(&req->pool, 2 * mdlen + 1);
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    return out;
}

/* Fill ctx.if_match, ctx.idem_key and ctx.request_hash; answers 400 itself and returns -1. */
static int prepare_preconditions(api_call *c)
{
    h2o_req_t *req = c->req;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_MATCH, -1);

    if (i != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (h2o_find_header(&req->headers, H2O_TOKEN_IF_MATCH, i) != -1 ||
            http_parse_if_match(v.base, v.len, &c->ctx.if_match) != 0) {
            api_reply_problem(req, FD_E_BAD_REQUEST,
                              "If-Match must be one version in quotes, like \"3\" (W/\"3\" and * "
                              "are accepted too); take it from the ETag of the resource.",
                              NULL);
            return -1;
        }
    }
    i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (!http_idempotency_key_valid(v.base, v.len)) {
            api_reply_problem(req, FD_E_BAD_REQUEST,
                              "Idempotency-Key must be 1 to 255 printable ASCII characters "
                              "(a UUID is a good choice).",
                              NULL);
            return -1;
        }
        c->ctx.idem_key = pool_strndup(req, v.base, v.len);
        c->ctx.request_hash = request_hash(req);
        if (c->ctx.request_hash == NULL) {
            api_reply_problem(req, FD_E_INTERNAL, "SHA-256 of the request failed", NULL);
            return -1;
        }
    }
    return 0;
}

/* ---- the front door ---------------------------------------------------------------------- */

static int is_api_path(const char *path, size_t len)
{
    return (len == 4 && memcmp(path, "/api", 4) == 0) || (len > 4 && memcmp(path, "/api/", 5) == 0);
}

static int is_safe_method(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

static void clear_session_cookie(h2o_req_t *req)
{
    static const char clear[] =
        HTTP_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, H2O_STRLIT(clear));
}

void http_set_context(fd_store *st, const auth_keys *keys, int cookie_secure, int dev)
{
    S.st = st;
    S.settings.keys = keys;
    S.settings.cookie_secure = cookie_secure;
    S.settings.dev = dev;
}

int http_handle(h2o_req_t *req)
{
    router_match m;
    const char *rid = request_id(req);
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;

    add_response_headers(req, rid);
    if (request_head_size(req) > HTTP_HEADERS_MAX) {
        env_set(req, ENV_ROUTE, "(none)");
        send_headers_too_large(req);
        return 0;
    }
    router_status rs =
        router_match_request(req->method.base, req->method.len, req->path.base, plen, &m);
    if (rs == ROUTER_NOT_FOUND && !is_api_path(req->path.base, plen)) {
        env_set(req, ENV_ROUTE, "(static)");
        return -1; /* the file handler answers */
    }
    if (rs == ROUTER_NOT_FOUND) {
        env_set(req, ENV_ROUTE, "(none)");
        api_reply_problem(req, FD_E_NOT_FOUND,
                          "There is no endpoint at this path; GET /api/openapi.yaml lists them.",
                          NULL);
        return 0;
    }
    if (rs == ROUTER_BAD_METHOD) {
        env_set(req, ENV_ROUTE, "(none)");
        send_method_not_allowed(req, m.allow);
        return 0;
    }

    const api_route *route = m.route;
    api_call *c = h2o_mem_alloc_pool(&req->pool, sizeof *c);
    /* all but ctx, most of the struct, which fd_ctx_init below clears itself before any use */
    _Static_assert(offsetof(api_call, ctx) + sizeof c->ctx == sizeof *c, "ctx comes last");
    memset(c, 0, offsetof(api_call, ctx));
    env_set(req, ENV_ROUTE, route->pattern);
    c->req = req;
    c->st = S.st;
    c->request_id = rid;
    c->nparams = m.nparams;
    for (int i = 0; i < m.nparams; i++)
        c->params[i] = pool_strndup(req, m.params[i], strlen(m.params[i]));

    if ((route->flags & API_PUBLIC) == 0) {
        const fd_actor *actor = NULL;
        int64_t exp = 0;
        int via_cookie = 0;
        char why[200];
        if (http_authenticate(req, &actor, &exp, &via_cookie, why, sizeof why) != 0) {
            if (ratelimit_request(req, NULL) != 0) /* guessing tokens is limited per address */
                return 0;
            if (via_cookie)
                clear_session_cookie(req); /* an expired session should not linger */
            api_reply_problem(req, FD_E_UNAUTHENTICATED, why, NULL);
            return 0;
        }
        env_set(req, ENV_SUB, actor->sub);
        if (ratelimit_request(req, actor->sub) != 0)
            return 0;
        if (via_cookie && !is_safe_method(req) && !http_has_csrf_header(req)) {
            api_reply_problem(req, FD_E_FORBIDDEN,
                              "A request signed in by session cookie that changes something must "
                              "carry the header 'X-Requested-With: flightdeck' (defence against "
                              "cross-site requests).",
                              NULL);
            return 0;
        }
        c->actor = actor;
    } else if (ratelimit_request(req, NULL) != 0) {
        return 0;
    }
    fd_ctx_init(&c->ctx, c->actor, rid);
    if (prepare_preconditions(c) != 0)
        return 0;
    /* writers join the open batch, or wait while a commit is in flight (server/commit.c); a
     * job's handler runs at once: it only queues its change for the next batch */
    commit_dispatch(c, route->fn, !is_safe_method(req) && (route->flags & API_JOB) == 0);
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    return http_handle(req);
}

/* ---- filter: X-Request-Id everywhere, problem+json for h2o's own errors ----------------- */

typedef struct replace_body {
    h2o_ostream_t super;
    h2o_iovec_t body;
    int sent;
} replace_body;

static void replace_body_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t nbufs,
                              h2o_send_state_t state)
{
    replace_body *self = (replace_body *)_self;
    (void)bufs;
    (void)nbufs;
    if (!self->sent && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        self->sent = 1;
        h2o_ostream_send_next(&self->super, req, &self->body, 1, state);
    } else {
        h2o_ostream_send_next(&self->super, req, NULL, 0, state);
    }
}

/* The errors h2o answers itself, in text/plain: an oversized body (413, before any handler runs),
 * and for the web UI's files a missing file (404), a directory or an unreadable file (403), a
 * method other than GET or HEAD (405), a range outside the file (416), no descriptor left (503).
 * Every other error here is problem+json, so these are too: 1 and the body to send instead. */
static int h2o_plain_error(h2o_req_t *req, h2o_iovec_t *body)
{
    const char *route = env_get(req, ENV_ROUTE);
    if (req->res.status < 400 || (route != NULL && strcmp(route, "(static)") != 0))
        return 0; /* a success, or one of our handlers' answers */
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (ct < 0 || !h2o_memis(req->res.headers.entries[ct].value.base,
                             req->res.headers.entries[ct].value.len < 10
                                 ? req->res.headers.entries[ct].value.len
                                 : 10,
                             H2O_STRLIT("text/plain")))
        return 0;
    char detail[160];
    const char *slug, *title;
    switch (req->res.status) {
    case 413:
        slug = fd_err_name(FD_E_TOO_LARGE);
        title = "Too large";
        snprintf(detail, sizeof detail,
                 "The request body is over the limit of %d bytes (1 MiB).", API_BODY_MAX);
        break;
    case 404:
        slug = fd_err_name(FD_E_NOT_FOUND);
        title = "Not found";
        snprintf(detail, sizeof detail, "There is no web UI file at this path; the API lives "
                                        "under /api (GET /api/openapi.yaml lists it).");
        break;
    case 403:
        slug = fd_err_name(FD_E_FORBIDDEN);
        title = "Forbidden";
        snprintf(detail, sizeof detail, "This path is not a file the web UI serves.");
        break;
    case 405:
        slug = "method-not-allowed";
        title = "Method not allowed";
        snprintf(detail, sizeof detail, "The web UI's files answer GET and HEAD only.");
        break;
    case 416:
        slug = "range-not-satisfiable";
        title = "Range not satisfiable";
        snprintf(detail, sizeof detail, "The requested range is outside the file.");
        break;
    case 503:
        slug = fd_err_name(FD_E_UNAVAILABLE);
        title = "Unavailable";
        snprintf(detail, sizeof detail, "The server is short of resources; try again shortly.");
        break;
    default:
        slug = "http-error";
        title = req->res.reason != NULL ? req->res.reason : "Error";
        snprintf(detail, sizeof detail, "The server answered %d.", req->res.status);
        break;
    }
    *body = problem_text(req, req->res.status, slug, title, detail);
    return 1;
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    const char *rid = request_id(req);
    /* "Server: flightdeck" first, where h2o would print it from server_name (left empty in
     * configure: h2o formats that line with sprintf on every response) */
    prepend_static_header(req, &hdr_server, "Server", H2O_STRLIT("flightdeck"));
    add_response_headers(req, rid);
    add_static_header(req, &hdr_nosniff, "X-Content-Type-Options", H2O_STRLIT("nosniff"));

    h2o_iovec_t body;
    if (h2o_plain_error(req, &body)) {
        replace_body *r = (replace_body *)h2o_add_ostream(req, sizeof *r, slot);
        r->super.do_send = replace_body_send;
        r->body = body;
        r->sent = 0;
        req->res.content_length = r->body.len;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       H2O_STRLIT("application/problem+json"), 1);
        slot = &r->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- logger ------------------------------------------------------------------------------ */

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    (void)self;
    struct timeval now;
    gettimeofday(&now, NULL);
    double ms = (double)(now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000.0 +
                (double)(now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000.0;
    const char *route = env_get(req, ENV_ROUTE);
    log_access(req->input.method.base, req->input.method.len, route, req->res.status, ms,
               env_get(req, ENV_RID), env_get(req, ENV_SUB));
    metrics_observe_request(req->input.method.base, req->input.method.len, route, req->res.status,
                            ms / 1000.0);
}

/* ---- configuration ---------------------------------------------------------------------- */

int http_configure(h2o_globalconf_t *conf, const fd_config *cfg)
{
    static const char *index_files[] = {"index.html", NULL};
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    struct stat st;

    h2o_config_init(conf);
    conf->max_request_entity_size = API_BODY_MAX;
    /* h2o arms this once when it starts reading a request (head and body) and does not re-arm
     * it per read, so a client trickling a byte a second is cut off; also the keep-alive idle
     * time. */
    conf->http1.req_timeout = (uint64_t)cfg->request_timeout_ms;
    conf->http1.upgrade_to_http2 = 0; /* no TLS, so browsers never speak HTTP/2 here anyway */
    /* no server_name: on_setup_ostream adds "Server: flightdeck" itself, in the same place */
    conf->server_name = h2o_iovec_init(H2O_STRLIT(""));
    /* h2o's status line and first headers, written by hand rather than by printf (h1_head.c) */
    if (h1head_self_check() != 0)
        fprintf(stderr, "flightdeck: warning: hand-written response heads differ from glibc's; "
                        "using glibc's\n");
    host = h2o_config_register_host(conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);

    path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof *handler);
    handler->on_req = on_req;
    if (stat(cfg->web_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        fprintf(stderr, "flightdeck: warning: web directory %s not found; the UI will 404\n",
                cfg->web_dir);
    h2o_file_register(path, cfg->web_dir, index_files, NULL, 0);

    h2o_pathconf_t *paths[] = {path, &host->fallback_path};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        h2o_filter_t *filter = h2o_create_filter(paths[i], sizeof *filter);
        filter->on_setup_ostream = on_setup_ostream;
        h2o_logger_t *logger = h2o_create_logger(paths[i], sizeof *logger);
        logger->log_access = on_log_access;
    }
    return 0;
}
