/*
 * test_http.c - the front door, in-process (fake h2o connection, in-memory database): who gets
 * in with a Bearer token or a session cookie, the CSRF rule for cookies, sign-in and sign-out,
 * request ids, and the answers to requests that never reach a handler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_h2o.h"
#include "server/auth.h"
#include "server/http.h"

static const char SECRET[] = "front-door-test-secret-0123456789abcdef";
static fd_store *st;
static auth_keys *keys;

static int setup(void **state)
{
    (void)state;
    fd_problem p = {0};
    char err[256];
    fake_h2o_setup();
    assert_int_equal(store_open(":memory:", &st, &p), FD_OK);
    assert_int_equal(auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), NULL, 0, NULL,
                                   NULL, &keys, err, sizeof err),
                     0);
    http_set_context(st, keys, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    auth_keys_free(keys);
    store_close(st);
    fake_h2o_teardown();
    return 0;
}

/* A token for `sub` with `role`, valid for `ttl` seconds from now (negative: already expired). */
static char *token_for(const char *sub, fd_role role, int64_t ttl)
{
    fd_actor a = {.role = role, .source = "api"};
    char *tok = NULL;
    snprintf(a.sub, sizeof a.sub, "%s", sub);
    snprintf(a.name, sizeof a.name, "%s", sub);
    int64_t now = (int64_t)time(NULL);
    if (ttl < 0) { /* minted an hour ago, expired -ttl seconds ago */
        assert_int_equal(auth_mint(keys, &a, now - 3600, 3600 + ttl, &tok), 0);
    } else {
        assert_int_equal(auth_mint(keys, &a, now, ttl, &tok), 0);
    }
    return tok;
}

static fake_conn *request(const char *method, const char *path, const char *body)
{
    return fake_new(method, path, body);
}

static void bearer(fake_conn *fc, const char *token)
{
    char h[4096];
    snprintf(h, sizeof h, "Bearer %s", token);
    fake_add_req_header(fc, "authorization", h);
}

static void cookie(fake_conn *fc, const char *token)
{
    char h[4096];
    snprintf(h, sizeof h, "theme=dark; fd_session=%s; other=1", token);
    fake_add_req_header(fc, "cookie", h);
}

/* Run the front door; returns the status (0 when it declined the request). */
static int run(fake_conn *fc)
{
    if (http_handle(&fc->req) != 0)
        return 0;
    assert_int_equal(fake_dechunk(fc), 0);
    return fc->req.res.status;
}

static json_t *body_json(fake_conn *fc)
{
    json_t *doc = json_loads(fc->body, 0, NULL);
    if (doc == NULL)
        fail_msg("not JSON: %s", fc->body);
    return doc;
}

static void assert_detail_mentions(fake_conn *fc, const char *needle)
{
    json_t *doc = body_json(fc);
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    if (detail == NULL || strstr(detail, needle) == NULL)
        fail_msg("detail '%s' does not mention '%s'", detail ? detail : "(none)", needle);
    json_decref(doc);
}

static void no_credentials_is_401(void **state)
{
    (void)state;
    fake_conn *fc = request("GET", "/api/me", NULL);
    assert_int_equal(run(fc), 401);
    char *www = fake_res_header(fc, "www-authenticate");
    assert_non_null(www);
    assert_non_null(strstr(www, "Bearer"));
    free(www);
    fake_free(fc);
}

static void bearer_token_signs_in(void **state)
{
    (void)state;
    char *tok = token_for("alice", FD_ROLE_LEAD, 600);
    fake_conn *fc = request("GET", "/api/me", NULL);
    bearer(fc, tok);
    assert_int_equal(run(fc), 200);
    json_t *me = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(me, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(me, "source")), "api");
    json_decref(me);
    fake_free(fc);

    fc = request("GET", "/api/me", NULL);
    fake_add_req_header(fc, "authorization", "Basic YWxpY2U6cHc=");
    assert_int_equal(run(fc), 401);
    assert_detail_mentions(fc, "Bearer");
    fake_free(fc);

    char *old = token_for("alice", FD_ROLE_LEAD, -10);
    fc = request("GET", "/api/me", NULL);
    bearer(fc, old);
    assert_int_equal(run(fc), 401);
    assert_detail_mentions(fc, "expired");
    fake_free(fc);
    free(old);
    free(tok);
}

static void cookie_signs_in_as_web(void **state)
{
    (void)state;
    char *tok = token_for("bob", FD_ROLE_ENGINEER, 600);
    fake_conn *fc = request("GET", "/api/me", NULL);
    cookie(fc, tok);
    assert_int_equal(run(fc), 200);
    json_t *me = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(me, "source")), "web");
    json_decref(me);
    fake_free(fc);

    /* the same token as a Bearer header, now answered from the token cache, whose actor the
     * requests share: the cookie's "web" went into a copy, never into the shared actor */
    for (int i = 0; i < 2; i++) {
        fc = request("GET", "/api/me", NULL);
        if (i == 0)
            bearer(fc, tok);
        else
            cookie(fc, tok);
        assert_int_equal(run(fc), 200);
        me = body_json(fc);
        assert_string_equal(json_string_value(json_object_get(me, "sub")), "bob");
        assert_string_equal(json_string_value(json_object_get(me, "source")),
                            i == 0 ? "api" : "web");
        json_decref(me);
        fake_free(fc);
    }

    /* an expired session is refused and the stale cookie cleared */
    char *old = token_for("bob", FD_ROLE_ENGINEER, -10);
    fc = request("GET", "/api/me", NULL);
    cookie(fc, old);
    assert_int_equal(run(fc), 401);
    char *set = fake_res_header(fc, "set-cookie");
    assert_non_null(set);
    assert_non_null(strstr(set, "Max-Age=0"));
    free(set);
    fake_free(fc);

    /* a bad Bearer header is not rescued by a good cookie */
    fc = request("GET", "/api/me", NULL);
    bearer(fc, "eyJhbGciOiJub25lIn0.e30.");
    cookie(fc, tok);
    assert_int_equal(run(fc), 401);
    fake_free(fc);
    free(old);
    free(tok);
}

static void cookie_writes_need_the_csrf_header(void **state)
{
    (void)state;
    char *admin = token_for("dave", FD_ROLE_ADMIN, 600);
    const char *team = "{\"slug\":\"csrf-team\",\"name\":\"CSRF\"}";

    /* what a cross-site form post looks like: the cookie rides along, the header cannot */
    fake_conn *fc = request("POST", "/api/teams", team);
    cookie(fc, admin);
    assert_int_equal(run(fc), 403);
    assert_detail_mentions(fc, "X-Requested-With");
    fake_free(fc);

    /* and it changed nothing */
    fc = request("GET", "/api/teams/csrf-team", NULL);
    cookie(fc, admin);
    assert_int_equal(run(fc), 404);
    fake_free(fc);

    fc = request("POST", "/api/teams", team);
    cookie(fc, admin);
    fake_add_req_header(fc, "x-requested-with", "flightdeck");
    assert_int_equal(run(fc), 201);
    fake_free(fc);

    /* Bearer requests need no such header: a bot has no cross-site problem */
    fc = request("POST", "/api/teams", "{\"slug\":\"bot-team\",\"name\":\"Bots\"}");
    bearer(fc, admin);
    assert_int_equal(run(fc), 201);
    fake_free(fc);
    free(admin);
}

static void session_sign_in_and_out(void **state)
{
    (void)state;
    char *tok = token_for("carol", FD_ROLE_VIEWER, 600);
    char body[4096];
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", tok);

    fake_conn *fc = request("POST", "/api/session", body);
    assert_int_equal(run(fc), 403); /* login CSRF: the header is required here too */
    fake_free(fc);

    fc = request("POST", "/api/session", body);
    fake_add_req_header(fc, "x-requested-with", "flightdeck");
    assert_int_equal(run(fc), 200);
    char *set = fake_res_header(fc, "set-cookie");
    assert_non_null(set);
    assert_true(strncmp(set, "fd_session=", 11) == 0);
    assert_non_null(strstr(set, tok));
    assert_non_null(strstr(set, "HttpOnly"));
    assert_non_null(strstr(set, "SameSite=Strict"));
    assert_non_null(strstr(set, "Path=/"));
    assert_null(strstr(set, "Secure;"));
    const char *ma = strstr(set, "Max-Age=");
    assert_non_null(ma);
    long max_age = strtol(ma + 8, NULL, 10);
    assert_true(max_age > 590 && max_age <= 600); /* the token's remaining lifetime */
    json_t *doc = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(doc, "sub")), "carol");
    assert_string_equal(json_string_value(json_object_get(doc, "role")), "viewer");
    assert_non_null(json_string_value(json_object_get(doc, "expires_at")));
    assert_true(json_is_array(json_object_get(doc, "teams")));
    json_decref(doc);
    free(set);
    fake_free(fc);

    /* behind HTTPS the cookie is Secure */
    http_set_context(st, keys, 1, 0);
    fc = request("POST", "/api/session", body);
    fake_add_req_header(fc, "x-requested-with", "flightdeck");
    assert_int_equal(run(fc), 200);
    set = fake_res_header(fc, "set-cookie");
    assert_non_null(strstr(set, "; Secure"));
    free(set);
    fake_free(fc);
    http_set_context(st, keys, 0, 0);

    fc = request("POST", "/api/session", "{\"token\":\"abc.def.ghi\"}");
    fake_add_req_header(fc, "x-requested-with", "flightdeck");
    assert_int_equal(run(fc), 401);
    assert_null(fake_res_header(fc, "set-cookie"));
    fake_free(fc);

    fc = request("DELETE", "/api/session", NULL);
    assert_int_equal(run(fc), 204);
    set = fake_res_header(fc, "set-cookie");
    assert_non_null(strstr(set, "fd_session=;"));
    assert_non_null(strstr(set, "Max-Age=0"));
    free(set);
    fake_free(fc);
    free(tok);
}

static void preconditions_are_checked_before_the_handler(void **state)
{
    (void)state;
    char *admin = token_for("dave", FD_ROLE_ADMIN, 600);
    fake_conn *fc = request("POST", "/api/teams", "{\"slug\":\"pre-team\",\"name\":\"Pre\"}");
    bearer(fc, admin);
    assert_int_equal(run(fc), 201);
    fake_free(fc);

    fc = request("PATCH", "/api/teams/pre-team", "{\"name\":\"X\"}");
    bearer(fc, admin);
    fake_add_req_header(fc, "if-match", "3");
    assert_int_equal(run(fc), 400);
    assert_detail_mentions(fc, "If-Match");
    fake_free(fc);

    char key[300];
    memset(key, 'k', 256);
    key[256] = '\0';
    fc = request("POST", "/api/teams", "{\"slug\":\"k-team\",\"name\":\"K\"}");
    bearer(fc, admin);
    fake_add_req_header(fc, "idempotency-key", key);
    assert_int_equal(run(fc), 400);
    assert_detail_mentions(fc, "Idempotency-Key");
    fake_free(fc);

    /* a well-formed stale If-Match reaches core, which says 412 */
    fc = request("PATCH", "/api/teams/pre-team", "{\"name\":\"X\"}");
    bearer(fc, admin);
    fake_add_req_header(fc, "if-match", "W/\"99\"");
    assert_int_equal(run(fc), 412);
    fake_free(fc);
    free(admin);
}

static void unrouted_requests(void **state)
{
    (void)state;
    fake_conn *fc = request("DELETE", "/api/migrations", NULL);
    assert_int_equal(run(fc), 405);
    char *allow = fake_res_header(fc, "allow");
    assert_string_equal(allow, "GET, POST");
    free(allow);
    char *ct = fake_res_header(fc, "content-type");
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    fake_free(fc);

    fc = request("GET", "/api/no/such/thing", NULL);
    assert_int_equal(run(fc), 404);
    ct = fake_res_header(fc, "content-type");
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    fake_free(fc);

    /* not the API: the static file handler gets it */
    fc = request("GET", "/index.html", NULL);
    assert_int_equal(run(fc), 0);
    fake_free(fc);

    /* public routes need no token */
    fc = request("GET", "/healthz", NULL);
    assert_int_equal(run(fc), 200);
    fake_free(fc);
}

static void request_ids(void **state)
{
    (void)state;
    fake_conn *fc = request("GET", "/api/no/such/thing", NULL);
    fake_add_req_header(fc, "x-request-id", "deploy-bot.run-42");
    run(fc);
    char *rid = fake_res_header(fc, "x-request-id");
    assert_string_equal(rid, "deploy-bot.run-42");
    json_t *doc = body_json(fc);
    assert_string_equal(json_string_value(json_object_get(doc, "request_id")), rid);
    json_decref(doc);
    free(rid);
    fake_free(fc);

    fc = request("GET", "/healthz", NULL);
    fake_add_req_header(fc, "x-request-id", "<script>");
    run(fc);
    rid = fake_res_header(fc, "x-request-id");
    assert_non_null(rid);
    assert_null(strchr(rid, '<'));
    free(rid);
    fake_free(fc);
}

static void dev_users_only_in_dev_mode(void **state)
{
    (void)state;
    fake_conn *fc = request("GET", "/api/dev/users", NULL);
    assert_int_equal(run(fc), 404);
    fake_free(fc);

    http_set_context(st, keys, 0, 1);
    fc = request("GET", "/api/dev/users", NULL);
    assert_int_equal(run(fc), 200);
    json_t *users = body_json(fc);
    assert_true(json_array_size(users) >= 4);
    const char *tok = json_string_value(json_object_get(json_array_get(users, 0), "token"));
    assert_non_null(tok);
    fake_free(fc);

    /* the offered token signs in */
    fc = request("GET", "/api/me", NULL);
    bearer(fc, tok);
    assert_int_equal(run(fc), 200);
    fake_free(fc);
    json_decref(users);
    http_set_context(st, keys, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_credentials_is_401),
        cmocka_unit_test(bearer_token_signs_in),
        cmocka_unit_test(cookie_signs_in_as_web),
        cmocka_unit_test(cookie_writes_need_the_csrf_header),
        cmocka_unit_test(session_sign_in_and_out),
        cmocka_unit_test(preconditions_are_checked_before_the_handler),
        cmocka_unit_test(unrouted_requests),
        cmocka_unit_test(request_ids),
        cmocka_unit_test(dev_users_only_in_dev_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
