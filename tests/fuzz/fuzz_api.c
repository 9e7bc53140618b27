/*
 * fuzz_api.c - libFuzzer target: whole requests through the front door (http_handle: request
 * id, router, authentication, If-Match, Idempotency-Key, then the handler), in-process on a
 * fake h2o connection (tests/unit/fake_h2o.h) over a seeded in-memory store (fuzz_store.h).
 * This is where every JSON body decoder is fuzzed with its real field table: teams, plans
 * (flight_create), migration/stage/step PATCH, step actions, sign-offs, briefings, feedback,
 * rollback plans, chat users, webhooks, sessions.
 *
 * Input, like HTTP/1 without the version:
 *     METHOD SP PATH \n
 *     Name: value \n        (any number; names are lower-cased as h2o does)
 *     \n
 *     body                  (the rest, byte for byte)
 * Unless the input carries Authorization or Cookie itself, it is sent as the seeded lead
 * ("as: viewer|engineer|lead|admin|nobody", a harness-only header, picks someone else).
 * Every input starts from the same seeded database (see fuzz_store.h).
 *
 * Properties, abort() on violation:
 *   - every API request is answered, with a status the REST conventions allow; a 500 is a bug
 *     (hostile input must never reach "internal error");
 *   - every 4xx (but to HEAD) carries a problem+json document; JSON and problem+json bodies
 *     parse, and a problem's "status" is the response status;
 *   - a refused request (4xx) leaves the database byte for byte unchanged;
 *   - after any request the audit chains of the seeded migration and the global chain verify;
 *   - a 2xx POST/PUT/PATCH/DELETE with an Idempotency-Key, sent again, replays: same status,
 *     same body, Idempotent-Replayed: true, and the database unchanged by the replay.
 * The event-stream routes (server/hub.c) are skipped: they never end by design. Group commit
 * is off here (store_batch_enable is the server's business), so units commit one by one.
 *
 * FUZZ_KNOWN=problem-utf8 steps over a known, reported bug (see fuzz_common.h); FUZZ_API_TRACE=1
 * prints each request's status and body, to read a reproducer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/audit.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/hub.h"
#include "server/router.h"
#include "tests/fuzz/fuzz_store.h"
#include "tests/unit/fake_h2o.h"

static const char SECRET[] = "fuzz-api-secret-0123456789abcdef-0123456";
static auth_keys *keys;
static fuzz_db db;
static char *tokens[4]; /* by fd_role */
static int trace;

typedef struct header {
    const char *name, *value;
    size_t nlen, vlen;
} header;

typedef struct request {
    const char *method, *path, *body;
    size_t mlen, plen, blen;
    header h[32];
    int nh;
    int role; /* -1: nobody (no credentials added) */
    int has_creds, has_idem;
} request;

/* Split the input into a request; 0, or -1 when it has no request line. */
static int parse_request(const char *d, size_t n, request *r)
{
    memset(r, 0, sizeof *r);
    r->role = FD_ROLE_LEAD;
    const char *end = d + n;
    const char *nl = memchr(d, '\n', n);
    const char *line_end = nl != NULL ? nl : end;
    const char *sp = memchr(d, ' ', (size_t)(line_end - d));
    if (sp == NULL)
        return -1;
    r->method = d;
    r->mlen = (size_t)(sp - d);
    r->path = sp + 1;
    r->plen = (size_t)(line_end - sp - 1);
    if (r->plen > 0 && r->path[r->plen - 1] == '\r')
        r->plen--;
    const char *p = nl != NULL ? nl + 1 : end;
    while (p < end) {
        const char *lbeg = p;
        nl = memchr(p, '\n', (size_t)(end - p));
        line_end = nl != NULL ? nl : end;
        p = nl != NULL ? nl + 1 : end;
        size_t len = (size_t)(line_end - lbeg);
        if (len > 0 && lbeg[len - 1] == '\r')
            len--;
        if (len == 0)
            break; /* the blank line: the body follows */
        const char *colon = memchr(lbeg, ':', len);
        if (colon == NULL || colon == lbeg || r->nh == 32)
            continue;
        header *h = &r->h[r->nh];
        h->name = lbeg;
        h->nlen = (size_t)(colon - lbeg);
        h->value = colon + 1;
        h->vlen = len - h->nlen - 1;
        while (h->vlen > 0 && (*h->value == ' ' || *h->value == '\t')) {
            h->value++;
            h->vlen--;
        }
        if (h->nlen == 2 && strncasecmp(h->name, "as", 2) == 0) {
            static const char *const roles[] = {"viewer", "engineer", "lead", "admin"};
            r->role = -1;
            for (int i = 0; i < 4; i++)
                if (h->vlen == strlen(roles[i]) && memcmp(h->value, roles[i], h->vlen) == 0)
                    r->role = i;
            continue;
        }
        if ((h->nlen == 13 && strncasecmp(h->name, "authorization", 13) == 0) ||
            (h->nlen == 6 && strncasecmp(h->name, "cookie", 6) == 0))
            r->has_creds = 1;
        if (h->nlen == 15 && strncasecmp(h->name, "idempotency-key", 15) == 0)
            r->has_idem = 1;
        r->nh++;
    }
    r->body = p;
    r->blen = (size_t)(end - p);
    return 0;
}

static fake_conn *build(const request *r)
{
    fake_conn *fc = fake_new_len("GET", "/", r->blen > 0 ? r->body : NULL, r->blen);
    h2o_req_t *req = &fc->req;
    req->input.method = h2o_strdup(&req->pool, r->method, r->mlen);
    req->method = req->input.method;
    req->input.path = h2o_strdup(&req->pool, r->path, r->plen);
    req->path = req->input.path;
    const char *q = memchr(r->path, '?', r->plen);
    req->input.query_at = q != NULL ? (size_t)(q - r->path) : SIZE_MAX;
    req->query_at = req->input.query_at;
    req->path_normalized =
        h2o_iovec_init(req->path.base, q != NULL ? (size_t)(q - r->path) : req->path.len);
    for (int i = 0; i < r->nh; i++) {
        char *name = h2o_mem_alloc_pool(&req->pool, r->h[i].nlen);
        for (size_t k = 0; k < r->h[i].nlen; k++) {
            char ch = r->h[i].name[k];
            name[k] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        h2o_add_header_by_str(&req->pool, &req->headers, name, r->h[i].nlen, 1, NULL,
                              h2o_strdup(&req->pool, r->h[i].value, r->h[i].vlen).base,
                              r->h[i].vlen);
    }
    if (!r->has_creds && r->role >= 0) {
        const char *t = tokens[r->role];
        size_t len = strlen("Bearer ") + strlen(t);
        char *v = h2o_mem_alloc_pool(&req->pool, len + 1);
        snprintf(v, len + 1, "Bearer %s", t);
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_AUTHORIZATION, NULL, v, len);
    }
    return fc;
}

static int status_allowed(int s)
{
    static const int ok[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
                             405, 409, 412, 413, 415, 422, 429, 503};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (s == ok[i])
            return 1;
    return 0;
}

static char *header_value(fake_conn *fc, const char *name)
{
    return fake_res_header(fc, name);
}

/* Send one request; returns the connection (answered) or NULL when the path is not the API's. */
static fake_conn *send_request(const request *r)
{
    fake_conn *fc = build(r);
    if (http_handle(&fc->req) != 0) {
        fake_free(fc);
        return NULL;
    }
    FUZZ_CHECK(fc->complete == 1, "%.*s %.*s was not answered completely (state %d)", (int)r->mlen,
               r->method, (int)r->plen, r->path, fc->complete);
    FUZZ_CHECK(fake_dechunk(fc) == 0, "bad chunked framing");
    return fc;
}

/* The same after percent-decoding (path parameters are decoded before they reach a detail). */
static int decoded_utf8_valid(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned hi, lo;
        if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%1x%1x", &hi, &lo) == 2) {
            d[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[k++] = s[i];
        }
    }
    int ok = utf8_valid(d, k);
    free(d);
    return ok;
}

static void check_response(const request *r, fake_conn *fc)
{
    int status = fc->req.res.status;
    FUZZ_CHECK(status != 500, "internal error for %.*s %.*s: %s", (int)r->mlen, r->method,
               (int)r->plen, r->path, fc->body);
    FUZZ_CHECK(status_allowed(status), "status %d for %.*s %.*s", status, (int)r->mlen, r->method,
               (int)r->plen, r->path);
    char *ct = header_value(fc, "content-type");
    int is_head = r->mlen == 4 && memcmp(r->method, "HEAD", 4) == 0;
    /* Known bug "problem-utf8": the problem document is built with the raw method and path (and
     * details quoting decoded path parameters), which jansson refuses when they are not UTF-8;
     * the body then degrades to "{}" or to nothing at all. */
    int skip = known("problem-utf8") &&
               (!utf8_valid(r->method, r->mlen) || !utf8_valid(r->path, r->plen) ||
                !decoded_utf8_valid(r->path, r->plen));
    if (status >= 400 && !is_head && !skip)
        FUZZ_CHECK(ct != NULL && strcmp(ct, "application/problem+json") == 0 && fc->body_len > 0,
                   "a %d without a problem document (%s, %zu bytes)", status, ct ? ct : "no type",
                   fc->body_len);
    if (skip)
        ; /* nothing more to check about the body */
    else if (ct != NULL && fc->body_len > 0 && !is_head &&
             (strcmp(ct, "application/json") == 0 || strcmp(ct, "application/problem+json") == 0)) {
        json_error_t err;
        json_t *doc = json_loadb(fc->body, fc->body_len, 0, &err);
        FUZZ_CHECK(doc != NULL, "%s body is not JSON (%s): %.200s", ct, err.text, fc->body);
        if (strcmp(ct, "application/problem+json") == 0)
            FUZZ_CHECK(json_integer_value(json_object_get(doc, "status")) == status,
                       "problem status differs from %d", status);
        json_decref(doc);
    }
    free(ct);
}

static void check_chains(void)
{
    const char *mids[] = {NULL, FUZZ_MID};
    for (int i = 0; i < 2; i++) {
        json_t *v = NULL;
        fd_err e = audit_verify(db.st, mids[i], &v);
        FUZZ_CHECK(e == FD_OK && json_is_true(json_object_get(v, "ok")),
                   "audit chain %s does not verify: %s", mids[i] ? mids[i] : "(global)",
                   v ? json_dumps(v, JSON_COMPACT) : fd_err_name(e));
        json_decref(v);
    }
}

static int is_mutation(const request *r)
{
    static const char *const m[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (int i = 0; i < 4; i++)
        if (r->mlen == strlen(m[i]) && memcmp(r->method, m[i], r->mlen) == 0)
            return 1;
    return 0;
}

/* The event streams wait for events forever; the hub has its own tests. */
static int is_stream_route(const request *r)
{
    router_match m;
    size_t plen = r->plen;
    const char *q = memchr(r->path, '?', r->plen);
    if (q != NULL)
        plen = (size_t)(q - r->path);
    if (router_match_request(r->method, r->mlen, r->path, plen, &m) != ROUTER_OK)
        return 0;
    return m.route->fn == hub_handle_events || m.route->fn == hub_handle_events_all ||
           m.route->fn == hub_handle_presence;
}

/* More state for the handlers to work on, made through the API itself (its stable contract):
 * a briefing with feedback, a sign-off requirement, a chat user, a webhook. */
static const char *const extra_seed[] = {
    "POST /api/migrations/m1/briefings\n\n{\"title\":\"Pre-flight\",\"at\":"
    "\"2026-03-10T18:00:00Z\",\"notes\":\"read me\",\"teams\":[\"platform\",\"data-stream\"]}",
    "POST /api/migrations/m1/briefings/1/feedback\n\n{\"text\":\"what about DNS?\"}",
    "PATCH /api/migrations/m1/stages/landing\n\n{\"signoffs\":[{\"team\":\"platform\"}]}",
    "PUT /api/chatops/users/U1\nas: admin\n\n{\"sub\":\"alice\",\"name\":\"Alice\","
    "\"role\":\"engineer\",\"teams\":[\"data-stream\"]}",
    "POST /api/webhooks\nas: admin\n\n{\"url\":\"https://hooks.example/x\",\"secret\":"
    "\"0123456789abcdef0123456789abcdef\",\"events\":[\"step.*\"]}",
    NULL,
};

static void seed_more(fd_store *st)
{
    http_set_context(st, keys, 0, 0);
    for (int i = 0; extra_seed[i] != NULL; i++) {
        request r;
        if (parse_request(extra_seed[i], strlen(extra_seed[i]), &r) != 0)
            abort();
        fake_conn *fc = send_request(&r);
        if (fc == NULL || fc->req.res.status >= 300) {
            fprintf(stderr, "fuzz_api seed request %d failed: %s\n", i, fc ? fc->body : "-");
            abort();
        }
        fake_free(fc);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[200];
    trace = getenv("FUZZ_API_TRACE") != NULL;
    fake_h2o_setup();
    if (auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), NULL, 0, NULL, NULL, &keys,
                      err, sizeof err) != 0)
        abort();
    static const char *const subs[] = {"vic", "alice", "lena", "root"};
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < 4; i++) {
        fd_actor a = fuzz_actor(subs[i], subs[i], (fd_role)i);
        if (i == FD_ROLE_ENGINEER) {
            a.nteams = 1;
            snprintf(a.teams[0], sizeof a.teams[0], "data-stream");
        }
        if (auth_mint(keys, &a, now, 10 * 365 * 86400LL, &tokens[i]) != 0)
            abort();
    }
    fuzz_db_open(&db, seed_more);
    http_set_context(db.st, keys, 0, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    request r;
    if (size > 256 * 1024 || parse_request((const char *)data, size, &r) != 0 ||
        is_stream_route(&r))
        return 0;
    fuzz_db_begin(&db);

    fake_conn *fc = send_request(&r);
    if (fc == NULL)
        return 0; /* a static file path: the file handler's business */
    int status = fc->req.res.status;
    if (trace) /* FUZZ_API_TRACE=1 build/fuzz/fuzzers/fuzz_api <input>: what it answered */
        fprintf(stderr, "%.*s %.*s -> %d %.300s\n", (int)r.mlen, r.method, (int)r.plen, r.path,
                status, fc->body);
    check_response(&r, fc);
    if (status >= 400)
        FUZZ_CHECK(!fuzz_db_changed(&db), "refused with %d, yet the database changed: %.300s",
                   status, fc->body);
    else
        check_chains();

    if (status >= 200 && status < 300 && r.has_idem && is_mutation(&r)) {
        /* the same request again: a replay, byte for byte, changing nothing */
        sqlite3_int64 size1 = 0;
        fuzz_db_reset_stmts(db.st);
        unsigned char *before = sqlite3_serialize(db.st->db, "main", &size1, 0);
        fake_conn *again = send_request(&r);
        FUZZ_CHECK(again != NULL && again->req.res.status == status,
                   "the replay answered %d, the first request %d",
                   again ? again->req.res.status : 0, status);
        FUZZ_CHECK(again->body_len == fc->body_len &&
                       memcmp(again->body, fc->body, fc->body_len) == 0,
                   "the replay's body differs:\n%s\n%s", fc->body, again->body);
        char *replayed = header_value(again, "idempotent-replayed");
        FUZZ_CHECK(replayed != NULL && strcmp(replayed, "true") == 0,
                   "no Idempotent-Replayed: true on the replay");
        free(replayed);
        sqlite3_int64 size2 = 0;
        fuzz_db_reset_stmts(db.st);
        unsigned char *after =
            sqlite3_serialize(db.st->db, "main", &size2, SQLITE_SERIALIZE_NOCOPY);
        FUZZ_CHECK(after != NULL && size1 == size2 && memcmp(before, after, (size_t)size1) == 0,
                   "the replay changed the database");
        sqlite3_free(before);
        fake_free(again);
    }
    fake_free(fc);
    return 0;
}
