/*
 * test_reply.c - api/reply.c: the error-to-status mapping, the problem+json body, JSON replies
 * with their headers, request body parsing, query parameters and paging. Handlers answer through
 * a fake h2o connection that captures the response (tests/unit/fake_h2o.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/reply.h"
#include "fake_h2o.h"

static fd_actor test_actor = {
    .sub = "alice", .name = "Alice", .role = FD_ROLE_ENGINEER, .source = "api"};

/* An api_call on a fresh fake request. */
static fake_conn *call_new(api_call *c, const char *method, const char *path, const char *body)
{
    fake_conn *fc = fake_new(method, path, body);
    memset(c, 0, sizeof *c);
    c->req = &fc->req;
    c->actor = &test_actor;
    c->request_id = "req-42";
    fd_ctx_init(&c->ctx, &test_actor, "req-42");
    return fc;
}

/* The captured body as JSON (owned), asserting it parses. */
static json_t *body_json(fake_conn *fc)
{
    json_error_t err;
    json_t *doc = json_loadb(fc->body, fc->body_len, 0, &err);
    if (doc == NULL)
        fail_msg("response body is not JSON (%s): %s", err.text, fc->body);
    return doc;
}

static void assert_header(fake_conn *fc, const char *name, const char *want)
{
    char *v = fake_res_header(fc, name);
    if (v == NULL)
        fail_msg("response has no %s header", name);
    assert_string_equal(v, want);
    free(v);
}

static void assert_no_header(fake_conn *fc, const char *name)
{
    char *v = fake_res_header(fc, name);
    if (v != NULL)
        fail_msg("unexpected %s: %s", name, v);
}

/* ---- status mapping ------------------------------------------------------------------------ */

static void test_status_of_every_error(void **state)
{
    (void)state;
    static const struct {
        fd_err e;
        int status;
    } table[] = {
        {FD_E_BAD_REQUEST, 400},     {FD_E_UNKNOWN_FIELD, 400}, {FD_E_INVALID, 422},
        {FD_E_UNAUTHENTICATED, 401}, {FD_E_FORBIDDEN, 403},     {FD_E_NOT_FOUND, 404},
        {FD_E_CONFLICT, 409},        {FD_E_EXISTS, 409},        {FD_E_STALE, 412},
        {FD_E_IDEM_MISMATCH, 422},   {FD_E_TOO_LARGE, 413},     {FD_E_RATE_LIMITED, 429},
        {FD_E_UNAVAILABLE, 503},     {FD_E_INTERNAL, 500},
    };
    size_t n = sizeof table / sizeof table[0];
    /* every error of the enum is in the table above: adding one forces a decision here */
    assert_int_equal(n, FD_E__COUNT - 1);
    for (size_t i = 0; i < n; i++) {
        if (api_http_status(table[i].e) != table[i].status)
            fail_msg("%s: got %d, want %d", fd_err_name(table[i].e), api_http_status(table[i].e),
                     table[i].status);
    }
    /* not an error at all: a handler bug, answered as 500 rather than a false success */
    assert_int_equal(api_http_status(FD_OK), 500);
    assert_int_equal(api_http_status((fd_err)999), 500);
}

/* ---- problem+json ---------------------------------------------------------------------------- */

static void test_problem_body_shape(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "POST", "/api/migrations/m1/steps/7/tick?x=1", "{}");
    fd_fail(&c.ctx.problem, FD_E_CONFLICT, "status", "already ticked by Bob at 14:02:11");
    fd_problem_set(&c.ctx.problem, "current", json_pack("{s:s}", "status", "done"));
    fd_problem_set(&c.ctx.problem, "status", json_integer(200)); /* may not override */
    api_reply_error(&c, FD_E_CONFLICT, &c.ctx.problem);

    assert_int_equal(fc->complete, 1);
    assert_int_equal(fc->req.res.status, 409);
    assert_header(fc, "content-type", "application/problem+json");
    assert_int_equal(fc->req.res.content_length, fc->body_len);
    json_t *p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "type")),
                        "https://flightdeck.dev/problems/conflict");
    assert_string_equal(json_string_value(json_object_get(p, "title")),
                        "Conflict with the current state");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(p, "detail")),
                        "already ticked by Bob at 14:02:11");
    assert_string_equal(json_string_value(json_object_get(p, "instance")),
                        "/api/migrations/m1/steps/7/tick");
    assert_string_equal(json_string_value(json_object_get(p, "request_id")), "req-42");
    assert_string_equal(json_string_value(json_object_get(p, "field")), "status");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "current"), "status")),
                        "done");
    /* the problem is consumed */
    assert_null(c.ctx.problem.extra);
    assert_string_equal(c.ctx.problem.detail, "");
    json_decref(p);
    fake_free(fc);
}

static void test_problem_default_detail_and_no_field(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/teams/nope", NULL);
    api_reply_error(&c, FD_E_NOT_FOUND, NULL);
    assert_int_equal(fc->req.res.status, 404);
    json_t *p = body_json(fc);
    assert_true(strlen(json_string_value(json_object_get(p, "detail"))) > 0);
    assert_null(json_object_get(p, "field"));
    assert_string_equal(json_string_value(json_object_get(p, "type")),
                        "https://flightdeck.dev/problems/not-found");
    json_decref(p);
    fake_free(fc);
}

static void test_unauthenticated_has_www_authenticate(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/me", NULL);
    fd_fail(&c.ctx.problem, FD_E_UNAUTHENTICATED, NULL, "the token has expired");
    api_reply_error(&c, FD_E_UNAUTHENTICATED, &c.ctx.problem);
    assert_int_equal(fc->req.res.status, 401);
    char *v = fake_res_header(fc, "www-authenticate");
    assert_non_null(v);
    assert_memory_equal(v, "Bearer", 6);
    free(v);
    fake_free(fc);
}

static void test_internal_error_hides_detail(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/migrations/m1", NULL);
    fd_fail(&c.ctx.problem, FD_E_INTERNAL, "secret_field", "sqlite: disk I/O error at /var/db");
    fd_problem_set(&c.ctx.problem, "sql", json_string("SELECT secret"));
    api_reply_error(&c, FD_E_INTERNAL, &c.ctx.problem);
    assert_int_equal(fc->req.res.status, 500);
    assert_null(strstr(fc->body, "sqlite"));
    assert_null(strstr(fc->body, "secret"));
    json_t *p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "request_id")), "req-42");
    json_decref(p);
    fake_free(fc);
}

static void test_reply_problem_uses_response_request_id(void **state)
{
    (void)state;
    fake_conn *fc = fake_new("GET", "/api/nowhere", NULL);
    h2o_add_header_by_str(&fc->req.pool, &fc->req.res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          H2O_STRLIT("rid-7"));
    api_reply_problem(&fc->req, FD_E_RATE_LIMITED, "slow down",
                      json_pack("{s:i}", "retry_after", 3));
    assert_int_equal(fc->req.res.status, 429);
    assert_header(fc, "retry-after", "3");
    json_t *p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "request_id")), "rid-7");
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "slow down");
    json_decref(p);
    fake_free(fc);
}

/* ---- JSON replies -------------------------------------------------------------------------- */

static void test_reply_json_etag_and_length(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/teams/a", NULL);
    api_reply_json(&c, 200, json_pack("{s:s, s:i}", "slug", "a", "version", 7), 7);
    assert_int_equal(fc->req.res.status, 200);
    assert_header(fc, "content-type", "application/json");
    assert_header(fc, "etag", "\"7\"");
    assert_no_header(fc, "idempotent-replayed");
    assert_int_equal(fc->req.res.content_length, fc->body_len);
    json_t *d = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(d, "slug")), "a");
    json_decref(d);
    fake_free(fc);
}

static void test_reply_json_large_document(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/migrations/big", NULL);
    json_t *items = json_array();
    for (int i = 0; i < 5000; i++)
        json_array_append_new(items,
                              json_pack("{s:i, s:s}", "id", i, "title", "a step with a title"));
    api_reply_json(&c, 200, json_pack("{s:o}", "items", items), -1);
    assert_no_header(fc, "etag");
    assert_true(fc->body_len > 100000); /* spans many pool chunks */
    assert_int_equal(fc->req.res.content_length, fc->body_len);
    json_t *d = body_json(fc);
    assert_int_equal(json_array_size(json_object_get(d, "items")), 5000);
    json_decref(d);
    fake_free(fc);
}

static void test_if_none_match_gives_304(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/teams/a", NULL);
    fake_add_req_header(fc, "if-none-match", "\"3\"");
    api_reply_json(&c, 200, json_pack("{s:i}", "version", 3), 3);
    assert_int_equal(fc->req.res.status, 304);
    assert_int_equal(fc->body_len, 0);
    fake_free(fc);

    fc = call_new(&c, "GET", "/api/teams/a", NULL);
    fake_add_req_header(fc, "if-none-match", "\"2\"");
    api_reply_json(&c, 200, json_pack("{s:i}", "version", 3), 3);
    assert_int_equal(fc->req.res.status, 200);
    fake_free(fc);
}

/* The ETag is the version in quotes, as "\"%lld\"" prints it, for any version (one digit,
 * carries, the largest); If-None-Match with it gives 304, with a neighbour 200. */
static void test_etag_text_of_any_version(void **state)
{
    (void)state;
    const int64_t versions[] = {
        0, 1, 9, 10, 99, 100, 12345, 1000000007, 9007199254740993LL, INT64_MAX,
    };
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        char want[32], other[32];
        snprintf(want, sizeof want, "\"%lld\"", (long long)versions[i]);
        snprintf(other, sizeof other, "\"%lld\"", (long long)(versions[i] / 10));
        api_call c;
        fake_conn *fc = call_new(&c, "GET", "/api/teams/a", NULL);
        api_reply_json(&c, 200, json_pack("{s:s}", "slug", "a"), versions[i]);
        assert_header(fc, "etag", want);
        fake_free(fc);

        fc = call_new(&c, "GET", "/api/teams/a", NULL);
        fake_add_req_header(fc, "if-none-match", want);
        assert_int_equal(api_reply_not_modified(&c, versions[i]), 1);
        assert_int_equal(fc->req.res.status, 304);
        assert_header(fc, "etag", want);
        fake_free(fc);

        if (versions[i] >= 10) {
            fc = call_new(&c, "GET", "/api/teams/a", NULL);
            fake_add_req_header(fc, "if-none-match", other);
            assert_int_equal(api_reply_not_modified(&c, versions[i]), 0);
            fake_free(fc);
        }
    }
    /* no version, no ETag and never a 304 */
    api_call c;
    fake_conn *fc = call_new(&c, "GET", "/api/teams/a", NULL);
    fake_add_req_header(fc, "if-none-match", "*");
    assert_int_equal(api_reply_not_modified(&c, -1), 0);
    fake_free(fc);
}

static void test_created_replayed_and_no_content(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc = call_new(&c, "POST", "/api/teams", "{}");
    c.ctx.replayed = 1;
    api_reply_created(&c, json_pack("{s:s, s:i}", "slug", "dba", "version", 1), "/api/teams/dba",
                      1);
    assert_int_equal(fc->req.res.status, 201);
    assert_header(fc, "location", "/api/teams/dba");
    assert_header(fc, "etag", "\"1\"");
    assert_header(fc, "idempotent-replayed", "true");
    fake_free(fc);

    fc = call_new(&c, "DELETE", "/api/migrations/m/steps/1", NULL);
    api_reply_no_content(&c);
    assert_int_equal(fc->req.res.status, 204);
    assert_int_equal(fc->body_len, 0);
    assert_int_equal(fc->complete, 1);
    fake_free(fc);
}

/* ---- request bodies -------------------------------------------------------------------------- */

static const check_field skip_fields[] = {
    {"reason", CHECK_STRING, 1, 1, 4000},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* Run api_body_object on `body`; returns the captured connection (status 0 when accepted). */
static fake_conn *parse_body(const char *body, size_t len, int empty_ok, json_t **out, int *rc)
{
    api_call c;
    fake_conn *fc = call_new(&c, "POST", "/api/x", NULL);
    if (body != NULL)
        fc->req.entity = h2o_strdup(&fc->req.pool, body, len);
    *rc = api_body_object(&c, skip_fields, empty_ok, out);
    return fc;
}

static void test_body_accepts_object(void **state)
{
    (void)state;
    json_t *obj = NULL;
    int rc;
    fake_conn *fc = parse_body("{\"reason\": \"not needed\"}", 24, 0, &obj, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(fc->sends, 0); /* nothing answered yet: the handler goes on */
    assert_string_equal(check_str(obj, "reason", NULL), "not needed");
    json_decref(obj);
    fake_free(fc);
}

static void test_body_empty(void **state)
{
    (void)state;
    json_t *obj = NULL;
    int rc;
    api_call c;
    fake_conn *fc = call_new(&c, "POST", "/api/x", NULL);
    rc = api_body_object(&c, NULL, 1, &obj);
    assert_int_equal(rc, 0);
    assert_true(json_is_object(obj) && json_object_size(obj) == 0);
    json_decref(obj);
    fake_free(fc);

    fc = parse_body(" \n", 2, 0, &obj, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(fc->req.res.status, 400);
    fake_free(fc);
}

static void test_body_malformed_names_position(void **state)
{
    (void)state;
    json_t *obj = NULL;
    int rc;
    const char *bad = "{\n  \"reason\": \"x\",\n  oops\n}";
    fake_conn *fc = parse_body(bad, strlen(bad), 0, &obj, &rc);
    assert_int_equal(rc, -1);
    assert_null(obj);
    assert_int_equal(fc->req.res.status, 400);
    json_t *p = body_json(fc);
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 3);
    assert_true(json_integer_value(json_object_get(p, "column")) >= 3);
    assert_true(json_integer_value(json_object_get(p, "position")) > 0);
    assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "line 3"));
    assert_string_equal(json_string_value(json_object_get(p, "type")),
                        "https://flightdeck.dev/problems/bad-request");
    json_decref(p);
    fake_free(fc);
}

/* The recursive code behind a body (checks, audit, rendering) is not handed a deep tree: 64
 * levels of nesting pass (the field is CHECK_ANY), 65 are a 400 that says why. */
static void test_body_nesting_is_capped(void **state)
{
    (void)state;
    for (int depth = API_BODY_MAX_DEPTH; depth <= API_BODY_MAX_DEPTH + 1; depth++) {
        char body[512];
        int n = snprintf(body, sizeof body, "{\"x\":");
        for (int i = 1; i < depth; i++) /* the body object itself is the first level */
            body[n++] = '[';
        for (int i = 1; i < depth; i++)
            body[n++] = ']';
        n += snprintf(body + n, sizeof body - (size_t)n, "}");
        json_t *obj = NULL;
        api_call c;
        fake_conn *fc = call_new(&c, "POST", "/api/x", NULL);
        fc->req.entity = h2o_strdup(&fc->req.pool, body, (size_t)n);
        int rc = api_body_object(&c, NULL, 0, &obj); /* no field list: any member */
        if (depth == API_BODY_MAX_DEPTH) {
            assert_int_equal(rc, 0);
            json_decref(obj);
        } else {
            assert_int_equal(rc, -1);
            assert_null(obj);
            assert_int_equal(fc->req.res.status, 400);
            json_t *p = body_json(fc);
            assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "64 levels"));
            json_decref(p);
        }
        fake_free(fc);
    }
}

static void test_body_not_object_duplicate_unknown_wrong_type(void **state)
{
    (void)state;
    json_t *obj = NULL;
    int rc;
    fake_conn *fc = parse_body("[1,2]", 5, 0, &obj, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(fc->req.res.status, 400);
    assert_non_null(strstr(fc->body, "not an array"));
    fake_free(fc);

    const char *dup = "{\"reason\":\"a\",\"reason\":\"b\"}";
    fc = parse_body(dup, strlen(dup), 0, &obj, &rc);
    assert_int_equal(fc->req.res.status, 400);
    fake_free(fc);

    const char *unknown = "{\"reason\":\"a\",\"colour\":\"red\"}";
    fc = parse_body(unknown, strlen(unknown), 0, &obj, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(fc->req.res.status, 400);
    json_t *p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "type")),
                        "https://flightdeck.dev/problems/unknown-field");
    assert_string_equal(json_string_value(json_object_get(p, "field")), "colour");
    json_decref(p);
    fake_free(fc);

    fc = parse_body("{\"reason\": 5}", 13, 0, &obj, &rc);
    assert_int_equal(fc->req.res.status, 422);
    p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "field")), "reason");
    json_decref(p);
    fake_free(fc);

    /* a required field missing from an empty body: 422 naming it, not a vague 400 */
    fc = parse_body(NULL, 0, 1, &obj, &rc);
    assert_int_equal(fc->req.res.status, 422);
    p = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(p, "field")), "reason");
    json_decref(p);
    fake_free(fc);
}

static void test_body_too_large(void **state)
{
    (void)state;
    size_t len = API_BODY_MAX + 1;
    char *big = malloc(len);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    json_t *obj = NULL;
    int rc;
    fake_conn *fc = parse_body(big, len, 0, &obj, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(fc->req.res.status, 413);
    fake_free(fc);

    /* exactly at the limit is accepted */
    fc = parse_body(big, len - 1, 0, &obj, &rc);
    assert_int_not_equal(fc->req.res.status, 413);
    json_decref(obj);
    fake_free(fc);
    free(big);
}

/* ---- query parameters and numbers ---------------------------------------------------------- */

static void test_query_decoding(void **state)
{
    (void)state;
    api_call c;
    fake_conn *fc =
        call_new(&c, "GET",
                 "/api/migrations?status=in_flight&cursor=a%2Fb+c&flag&bad=%zz&nul=a%00b"
                 "&status=closed",
                 NULL);
    assert_string_equal(api_query(&c, "status"), "in_flight"); /* first one wins */
    assert_string_equal(api_query(&c, "cursor"), "a/b c");
    assert_string_equal(api_query(&c, "flag"), "");
    assert_string_equal(api_query(&c, "bad"), "%zz");
    assert_string_equal(api_query(&c, "nul"), "a%00b");
    assert_null(api_query(&c, "limit"));
    assert_null(api_query(&c, "stat"));
    fake_free(fc);

    fc = call_new(&c, "GET", "/api/migrations", NULL);
    assert_null(api_query(&c, "status"));
    fake_free(fc);
}

static void test_parse_int64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(api_parse_int64("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(api_parse_int64("9007199254740992", 1, 9007199254740992LL, &v), 0);
    assert_int_equal(api_parse_int64("9007199254740993", 1, 9007199254740992LL, &v), -1);
    assert_int_equal(api_parse_int64("0", 1, 100, &v), -1);
    assert_int_equal(api_parse_int64("-3", -5, 5, &v), 0);
    assert_int_equal(v, -3);
    const char *bad[] = {"",  " 1", "+1", "1 ", "1x", "x", "0x10", "99999999999999999999",
                         "-", NULL};
    for (int i = 0; bad[i] != NULL; i++)
        if (api_parse_int64(bad[i], INT64_MIN, INT64_MAX, &v) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
    assert_int_equal(api_parse_int64(NULL, 0, 1, &v), -1);
}

static void test_page_params_and_link(void **state)
{
    (void)state;
    api_call c;
    int limit;
    const char *cursor;
    fake_conn *fc = call_new(&c, "GET", "/api/migrations", NULL);
    assert_int_equal(api_page_params(&c, &limit, &cursor), 0);
    assert_int_equal(limit, 50);
    assert_null(cursor);
    fake_free(fc);

    const char *bad[] = {"/api/teams?limit=0", "/api/teams?limit=201", "/api/teams?limit=ten",
                         "/api/teams?cursor=%ZZ", "/api/teams?cursor=%00", "/api/teams?cursor=a/b",
                         NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        fc = call_new(&c, "GET", bad[i], NULL);
        assert_int_equal(api_page_params(&c, &limit, &cursor), -1);
        assert_int_equal(fc->req.res.status, 400);
        json_t *p = body_json(fc);
        assert_string_equal(json_string_value(json_object_get(p, "field")),
                            strstr(bad[i], "cursor") != NULL ? "cursor" : "limit");
        json_decref(p);
        fake_free(fc);
    }

    fc = call_new(&c, "GET", "/api/migrations?status=draft&limit=2&cursor=abc", NULL);
    assert_int_equal(api_page_params(&c, &limit, &cursor), 0);
    assert_int_equal(limit, 2);
    assert_string_equal(cursor, "abc");
    static const char *const keep[] = {"status", NULL};
    api_reply_page(&c, json_pack("{s:[], s:s}", "items", "next_cursor", "m 2/x"), limit, keep);
    assert_int_equal(fc->req.res.status, 200);
    assert_header(fc, "link",
                  "</api/migrations?limit=2&cursor=m%202%2Fx&status=draft>; rel=\"next\"");
    fake_free(fc);

    /* the last page has no Link */
    fc = call_new(&c, "GET", "/api/migrations", NULL);
    api_reply_page(&c, json_pack("{s:[], s:n}", "items", "next_cursor"), 50, NULL);
    assert_no_header(fc, "link");
    fake_free(fc);
}

static int group_setup(void **state)
{
    (void)state;
    fake_h2o_setup();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_h2o_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_of_every_error),
        cmocka_unit_test(test_problem_body_shape),
        cmocka_unit_test(test_problem_default_detail_and_no_field),
        cmocka_unit_test(test_unauthenticated_has_www_authenticate),
        cmocka_unit_test(test_internal_error_hides_detail),
        cmocka_unit_test(test_reply_problem_uses_response_request_id),
        cmocka_unit_test(test_reply_json_etag_and_length),
        cmocka_unit_test(test_reply_json_large_document),
        cmocka_unit_test(test_if_none_match_gives_304),
        cmocka_unit_test(test_etag_text_of_any_version),
        cmocka_unit_test(test_created_replayed_and_no_content),
        cmocka_unit_test(test_body_accepts_object),
        cmocka_unit_test(test_body_empty),
        cmocka_unit_test(test_body_malformed_names_position),
        cmocka_unit_test(test_body_nesting_is_capped),
        cmocka_unit_test(test_body_not_object_duplicate_unknown_wrong_type),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_page_params_and_link),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
