/*
 * test_bad_input.c - every kind of bad input from issue 2, over HTTP against the real server.
 *
 * Each case checks the status, that the answer is a proper application/problem+json (type,
 * title, status, detail, request_id), and - for refused mutations - that the migration and its
 * audit log are exactly as they were: a refused request changes nothing.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MID "bad-input"
#define DRAFT "bad-input-draft"

static h_server g_srv;
static char *g_admin, *g_lead, *g_eng, *g_eng2, *g_viewer;
static int64_t g_sid;       /* a pending step of the active stage */
static int64_t g_later_sid; /* a step of a later stage */

static const char *g_plan =
    "{\"id\":\"bad-input\",\"title\":\"Bad input\",\"owner_team\":\"data-stream\","
    "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "{\"title\":\"First\"},{\"title\":\"Second\"},{\"title\":\"Third\"}]},"
    "{\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Land\"}]}]}";

/* What "nothing changed" is measured against, refreshed before each case. */
static char *g_before;
static size_t g_count;

static int setup(void **state)
{
    (void)state;
    h_init();
    if (h_server_init(&g_srv) != 0 || h_start(&g_srv, NULL, NULL) != 0) {
        h_dump_logs(&g_srv);
        h_destroy(&g_srv);
        return -1;
    }
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_lead = h_token("alice", "Alice", "lead", "data-stream");
    g_eng = h_token("bob", "Bob", "engineer", "data-stream");
    g_eng2 = h_token("carol", "Carol", "engineer", "data-stream");
    g_viewer = h_token("vera", "Vera", "viewer", "data-stream");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_srv.pid > 0 && h_stop(&g_srv, SIGTERM, 5000) != 0)
        fprintf(stderr, "server did not stop within 5 s\n");
    h_destroy(&g_srv);
    free(g_admin);
    free(g_lead);
    free(g_eng);
    free(g_eng2);
    free(g_viewer);
    free(g_before);
    return 0;
}

static void remember(void)
{
    free(g_before);
    g_before = h_snapshot(&g_srv, g_lead, MID);
    g_count = h_audit_count(&g_srv, g_lead, MID);
}

static void assert_unchanged_at(const char *file, int line)
{
    char *now = h_snapshot(&g_srv, g_lead, MID);
    size_t count = h_audit_count(&g_srv, g_lead, MID);
    if (strcmp(now, g_before) != 0 || count != g_count) {
        print_error("%s:%d: a refused request changed something\nbefore: %s (%zu events)\n"
                    "after:  %s (%zu events)\n",
                    file, line, g_before, g_count, now, count);
        _fail(file, line);
    }
    free(now);
}
#define UNCHANGED() assert_unchanged_at(__FILE__, __LINE__)

static char *tick_path(int64_t sid)
{
    return h_fmt("/api/migrations/" MID "/steps/%lld/tick", (long long)sid);
}

/* POST body to path as token; expect a problem with `status`; nothing may change. */
static void refuse_at(const char *path, const char *token, const char *body, long status,
                      const char *field, const char *file, int line)
{
    h_resp r;
    h_req(&g_srv, "POST", path, token, body, (size_t)-1, NULL, &r);
    h_expect_problem_at(&r, status, file, line);
    if (field) {
        const char *got = json_string_value(json_object_get(r.json, "field"));
        if (!got || strcmp(got, field) != 0) {
            print_error("%s:%d: problem names field %s, want %s\nbody: %s\n", file, line,
                        got ? got : "(none)", field, r.body);
            _fail(file, line);
        }
    }
    h_resp_free(&r);
    assert_unchanged_at(file, line);
}
#define REFUSE(path, token, body, status, field)                                                   \
    refuse_at((path), (token), (body), (status), (field), __FILE__, __LINE__)

static void test_setup_flight(void **state)
{
    (void)state;
    h_create_demo_teams(&g_srv, g_admin);
    h_resp r;
    h_req(&g_srv, "POST", "/api/migrations", g_lead, g_plan, (size_t)-1, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    h_req(&g_srv, "POST", "/api/migrations/" MID "/start", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    g_sid = h_step_id(r.json, "takeoff", 0);
    g_later_sid = h_step_id(r.json, "landing", 0);
    h_resp_free(&r);
    /* a second migration, left in draft, for the start refusals */
    const char *draft =
        "{\"id\":\"bad-input-draft\",\"title\":\"Draft\",\"owner_team\":\"data-stream\"}";
    h_req(&g_srv, "POST", "/api/migrations", g_lead, draft, (size_t)-1, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
}

static void test_body_too_large(void **state)
{
    (void)state;
    remember();
    /* a valid JSON body just over 1 MiB */
    size_t n = 1024 * 1024 + 16;
    char *big = malloc(n + 1);
    memcpy(big, "{\"note\":\"", 9);
    memset(big + 9, 'a', n - 11);
    memcpy(big + n - 2, "\"}", 2);
    big[n] = '\0';
    char *path = tick_path(g_sid);
    REFUSE(path, g_eng, big, 413, NULL);
    REFUSE("/api/migrations", g_lead, big, 413, NULL);

    /* the same without a Content-Length: a chunked upload is cut off at the limit too */
    int fd = h_raw_connect(&g_srv);
    assert_true(fd >= 0);
    char *head = h_fmt("POST %s HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n",
                       path, g_eng);
    assert_int_equal(h_raw_send(fd, head, strlen(head)), 0);
    /* 2 MiB in 64 KiB chunks; the server may stop reading (and close) at any point */
    for (size_t off = 0; off < 2 * 1024 * 1024; off += 65536) {
        char size_line[16];
        snprintf(size_line, sizeof size_line, "10000\r\n");
        if (h_raw_send(fd, size_line, strlen(size_line)) != 0 ||
            h_raw_send(fd, big + (off % (n - 65536)), 65536) != 0 || h_raw_send(fd, "\r\n", 2) != 0)
            break;
    }
    h_raw_send(fd, "0\r\n\r\n", 5);
    char resp[8192];
    int st = h_raw_read(fd, resp, sizeof resp, 10000);
    close(fd);
    if (st != 413)
        fail_msg("chunked 2 MiB upload: status %d, want 413\n%.500s", st, resp);
    UNCHANGED();
    free(head);
    free(path);
    free(big);
}

static void test_malformed_json(void **state)
{
    (void)state;
    remember();
    char *path = tick_path(g_sid);
    const char *bodies[] = {"{\"note\": \"x\",}", "{\"note\": ", "not json at all",
                            "{\"note\":\"x\"} {}", NULL};
    for (int i = 0; bodies[i]; i++) {
        h_resp r;
        h_req(&g_srv, "POST", path, g_eng, bodies[i], (size_t)-1, NULL, &r);
        H_PROBLEM(&r, 400);
        /* where it went wrong, for the person fixing their script */
        if (!json_is_integer(json_object_get(r.json, "position")))
            fail_msg("malformed body %s: no position in %s", bodies[i], r.body);
        h_resp_free(&r);
        UNCHANGED();
    }
    /* valid JSON but not an object */
    REFUSE(path, g_eng, "[\"note\"]", 400, NULL);
    REFUSE("/api/migrations", g_lead, "{\"id\": \"x\", \"title\": ", 400, NULL);
    free(path);
}

static void test_unknown_field(void **state)
{
    (void)state;
    remember();
    char *path = tick_path(g_sid);
    REFUSE(path, g_eng, "{\"note\":\"x\",\"colour\":\"red\"}", 400, "colour");
    /* deep inside a plan, the JSON path names it */
    REFUSE("/api/migrations", g_lead,
           "{\"id\":\"unknown-field\",\"title\":\"T\",\"owner_team\":\"data-stream\","
           "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":"
           "[{\"title\":\"a\",\"colour\":\"red\"}]}]}",
           400, "stages[0].steps[0].colour");
    REFUSE("/api/teams", g_admin, "{\"slug\":\"t1\",\"name\":\"T\",\"owner\":\"me\"}", 400,
           "owner");
    free(path);

    /* nothing was created either */
    h_resp r;
    h_req(&g_srv, "GET", "/api/migrations/unknown-field", g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/teams/t1", g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
}

static void test_wrong_type_names_field(void **state)
{
    (void)state;
    remember();
    char *path = tick_path(g_sid);
    REFUSE(path, g_eng, "{\"note\":5}", 422, "note");
    char *skip = h_fmt("/api/migrations/" MID "/steps/%lld/skip", (long long)g_sid);
    REFUSE(skip, g_eng, "{}", 422, "reason");
    REFUSE(skip, g_eng, "{\"reason\":true}", 422, "reason");
    REFUSE("/api/migrations", g_lead,
           "{\"id\":\"wrong-type\",\"title\":5,\"owner_team\":\"data-stream\"}", 422, "title");
    REFUSE("/api/migrations", g_lead,
           "{\"id\":\"wrong-type\",\"title\":\"T\",\"owner_team\":\"data-stream\","
           "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":"
           "[{\"title\":\"a\",\"expected_minutes\":\"ten\"}]}]}",
           422, "stages[0].steps[0].expected_minutes");
    /* a value of the right type but out of range, or a bad slug */
    REFUSE("/api/migrations", g_lead,
           "{\"id\":\"Not A Slug\",\"title\":\"T\",\"owner_team\":\"data-stream\"}", 422, "id");
    REFUSE(
        "/api/migrations", g_lead,
        "{\"id\":\"bad-window\",\"title\":\"T\",\"owner_team\":\"data-stream\","
        "\"window\":{\"start\":\"2026-03-10T23:00:00.000Z\",\"end\":\"2026-03-10T19:00:00.000Z\"}}",
        422, NULL);
    REFUSE("/api/migrations", g_lead,
           "{\"id\":\"no-team\",\"title\":\"T\",\"owner_team\":\"no-such-team\"}", 422,
           "owner_team");
    free(skip);
    free(path);
}

/* Claims of a real token from `flightdeck token`, so forged tokens differ only where meant. */
static json_t *real_claims(void)
{
    json_t *c = h_jwt_payload(g_eng);
    assert_non_null(c);
    return c;
}

static char *claims_text(json_t *c)
{
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return s;
}

static void test_bad_tokens_401(void **state)
{
    (void)state;
    remember();
    time_t now = time(NULL);
    const char *hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

    /* control: a token forged here with the server's secret and the real claims is accepted,
     * so each refusal below is about the one thing that differs */
    char *good_claims = claims_text(real_claims());
    char *good = h_jwt_forge(hs256, good_claims, H_SECRET, 256);
    h_resp r;
    h_req(&g_srv, "GET", "/api/me", good, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);

    json_t *c = real_claims();
    json_object_set_new(c, "exp", json_integer((json_int_t)now - 120));
    json_object_set_new(c, "iat", json_integer((json_int_t)now - 3600));
    char *expired_claims = claims_text(c);
    c = real_claims();
    json_object_del(c, "exp");
    char *no_exp_claims = claims_text(c);
    c = real_claims();
    json_object_del(c, "sub");
    char *no_sub_claims = claims_text(c);
    c = real_claims();
    json_object_set_new(c, "nbf", json_integer((json_int_t)now + 3600));
    char *future_claims = claims_text(c);

    struct {
        const char *what;
        char *token; /* NULL: no Authorization header at all */
    } cases[] = {
        {"no token", NULL},
        {"garbage", strdup("not-a-jwt")},
        {"wrong secret", h_jwt_forge(hs256, good_claims, H_OTHER_SECRET, 256)},
        {"tampered payload", NULL},
        {"expired", h_jwt_forge(hs256, expired_claims, H_SECRET, 256)},
        {"no exp", h_jwt_forge(hs256, no_exp_claims, H_SECRET, 256)},
        {"no sub", h_jwt_forge(hs256, no_sub_claims, H_SECRET, 256)},
        {"not yet valid", h_jwt_forge(hs256, future_claims, H_SECRET, 256)},
        {"alg none", h_jwt_forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims, NULL, 0)},
        {"alg none with a signature",
         h_jwt_forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims, H_SECRET, 256)},
        {"HS512 with the right secret",
         h_jwt_forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good_claims, H_SECRET, 512)},
        {"RS256 header, HMAC signature",
         h_jwt_forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", good_claims, H_SECRET, 256)},
    };
    /* tampered: the payload of another user under bob's signature */
    {
        const char *dot1 = strchr(g_eng, '.');
        const char *dot2 = strchr(dot1 + 1, '.');
        const char *ldot1 = strchr(g_lead, '.');
        const char *ldot2 = strchr(ldot1 + 1, '.');
        cases[3].token =
            h_fmt("%.*s%.*s%s", (int)(dot1 - g_eng), g_eng, (int)(ldot2 - ldot1), ldot1, dot2);
    }

    char *path = tick_path(g_sid);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h_req(&g_srv, "POST", path, cases[i].token, "{\"note\":\"x\"}", (size_t)-1, NULL, &r);
        if (r.status != 401)
            fail_msg("%s: tick answered %ld, want 401\n%s", cases[i].what, r.status, r.body);
        H_PROBLEM(&r, 401);
        h_resp_free(&r);
        h_req(&g_srv, "GET", "/api/migrations/" MID, cases[i].token, NULL, 0, NULL, &r);
        if (r.status != 401)
            fail_msg("%s: GET answered %ld, want 401\n%s", cases[i].what, r.status, r.body);
        h_resp_free(&r);
        UNCHANGED();
        free(cases[i].token);
    }

    /* other schemes and empty bearer */
    const char *basic[] = {"Authorization: Basic YWxpY2U6c2VjcmV0", NULL};
    h_req(&g_srv, "GET", "/api/migrations", NULL, NULL, 0, basic, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    const char *empty[] = {"Authorization: Bearer ", NULL};
    h_req(&g_srv, "GET", "/api/migrations", NULL, NULL, 0, empty, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);

    free(path);
    free(good);
    free(good_claims);
    free(expired_claims);
    free(no_exp_claims);
    free(no_sub_claims);
    free(future_claims);
}

static void test_roles_403(void **state)
{
    (void)state;
    remember();
    char *tick = tick_path(g_sid);
    REFUSE(tick, g_viewer, "{\"note\":\"viewers only look\"}", 403, NULL);
    REFUSE("/api/migrations/" DRAFT "/start", g_eng, NULL, 403, NULL);
    REFUSE("/api/migrations/" MID "/stages/takeoff/complete", g_eng, NULL, 403, NULL);
    REFUSE("/api/migrations/" MID "/abort", g_eng, "{\"reason\":\"I am not the lead\"}", 403, NULL);
    REFUSE("/api/migrations", g_eng,
           "{\"id\":\"by-engineer\",\"title\":\"T\",\"owner_team\":\"data-stream\"}", 403, NULL);
    REFUSE("/api/teams", g_lead, "{\"slug\":\"by-lead\",\"name\":\"T\"}", 403, NULL);
    char *add = h_fmt("/api/migrations/" MID "/stages/takeoff/steps");
    REFUSE(add, g_eng, "{\"title\":\"engineers do not edit plans\"}", 403, NULL);
    free(add);

    h_resp r;
    h_req(&g_srv, "PATCH", "/api/migrations/" MID, g_eng, "{\"title\":\"mine now\"}", (size_t)-1,
          NULL, &r);
    H_PROBLEM(&r, 403);
    h_resp_free(&r);
    UNCHANGED();

    /* an engineer unticks only their own ticks */
    h_req(&g_srv, "POST", tick, g_eng, "{\"note\":\"bob's tick\"}", (size_t)-1, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    remember();
    char *untick = h_fmt("/api/migrations/" MID "/steps/%lld/untick", (long long)g_sid);
    REFUSE(untick, g_eng2, "{\"reason\":\"not mine\"}", 403, NULL);
    /* the lead may */
    h_req(&g_srv, "POST", untick, g_lead, "{\"reason\":\"redo\"}", (size_t)-1, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    free(untick);
    free(tick);

    /* nothing was created by the refused creates */
    h_req(&g_srv, "GET", "/api/migrations/by-engineer", g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
}

static void test_unknown_ids_404(void **state)
{
    (void)state;
    remember();
    h_resp r;
    const char *gets[] = {"/api/migrations/no-such-migration",
                          "/api/teams/no-such-team",
                          "/api/migrations/no-such-migration/audit",
                          "/api/migrations/no-such-migration/audit/verify",
                          "/api/nothing-here",
                          NULL};
    for (int i = 0; gets[i]; i++) {
        h_req(&g_srv, "GET", gets[i], g_lead, NULL, 0, NULL, &r);
        H_PROBLEM(&r, 404);
        h_resp_free(&r);
    }
    REFUSE("/api/migrations/" MID "/steps/999999/tick", g_eng, NULL, 404, NULL);
    REFUSE("/api/migrations/no-such-migration/start", g_lead, NULL, 404, NULL);
    REFUSE("/api/migrations/" MID "/stages/no-such-stage/complete", g_lead, NULL, 404, NULL);

    /* a real step id under another migration's path is not found there */
    char *cross = h_fmt("/api/migrations/" DRAFT "/steps/%lld/tick", (long long)g_sid);
    REFUSE(cross, g_eng, NULL, 404, NULL);
    free(cross);
    /* a step of a later stage exists, but may not be ticked yet: 409, not 404 */
    char *later = tick_path(g_later_sid);
    REFUSE(later, g_eng, NULL, 409, NULL);
    free(later);
}

static void test_path_tricks_404(void **state)
{
    (void)state;
    remember();
    h_resp r;
    /* an encoded slash must not climb out of the migration's path */
    h_req(&g_srv, "GET", "/api/migrations/..%2F..", g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    h_req(&g_srv, "POST", "/api/migrations/" MID "%2F..%2F..%2Fteams", g_admin,
          "{\"slug\":\"sneaky\",\"name\":\"Sneaky\"}", (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    UNCHANGED();

    const char *raw[] = {
        "GET /api/migrations/..%2F.. HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /../Makefile HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /..%2fMakefile HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        NULL,
    };
    static char buf[65536];
    for (int i = 0; raw[i]; i++) {
        int st = h_raw(&g_srv, raw[i], buf, sizeof buf);
        if (st != 404)
            fail_msg("%.60s: status %d, want 404\n%.400s", raw[i], st, buf);
        if (strstr(buf, "root:") || strstr(buf, "DEB_BUILD"))
            fail_msg("%.60s: leaked a file outside web/", raw[i]);
        if (!strcasestr(buf, "\r\nx-request-id: "))
            fail_msg("%.60s: no X-Request-Id\n%.400s", raw[i], buf);
    }
    /* and the team was not created by the sneaky POST */
    h_req(&g_srv, "GET", "/api/teams/sneaky", g_lead, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
}

static void test_bad_headers_and_queries(void **state)
{
    (void)state;
    remember();
    char *tick = tick_path(g_sid);
    h_resp r;

    /* If-Match that is not a quoted version, and an Idempotency-Key that is too long */
    const char *bad_if_match[] = {"If-Match: seven", NULL};
    h_req(&g_srv, "POST", tick, g_eng, NULL, 0, bad_if_match, &r);
    H_PROBLEM(&r, 400);
    h_resp_free(&r);
    UNCHANGED();
    char long_key[400];
    memset(long_key, 'k', sizeof long_key);
    memcpy(long_key, "Idempotency-Key: ", 17);
    long_key[sizeof long_key - 1] = '\0';
    const char *bad_key[] = {long_key, NULL};
    h_req(&g_srv, "POST", tick, g_eng, NULL, 0, bad_key, &r);
    H_PROBLEM(&r, 400);
    h_resp_free(&r);
    UNCHANGED();

    /* a token far over any sane size is refused before it is parsed */
    size_t big = 64 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[10] = '.';
    huge[big / 2] = '.';
    huge[big] = '\0';
    h_req(&g_srv, "POST", tick, huge, NULL, 0, NULL, &r);
    assert_true(r.status == 401 || r.status == 431 || r.status == 400);
    h_resp_free(&r);
    free(huge);
    UNCHANGED();

    /* numbers in the path and the query are range-checked */
    const char *paths[] = {"/api/migrations/" MID "/steps/99999999999999999999999/tick",
                           "/api/migrations/" MID "/steps/-1/tick",
                           "/api/migrations/" MID "/steps/abc/tick", NULL};
    for (int i = 0; paths[i]; i++) {
        h_req(&g_srv, "POST", paths[i], g_eng, NULL, 0, NULL, &r);
        if (r.status != 404 && r.status != 400)
            fail_msg("%s: status %ld, want 404 (or 400)\n%s", paths[i], r.status, r.body);
        H_PROBLEM(&r, r.status);
        h_resp_free(&r);
        UNCHANGED();
    }
    const char *queries[] = {"/api/migrations?limit=0",
                             "/api/migrations?limit=abc",
                             "/api/migrations?limit=100000",
                             "/api/migrations?limit=5x",
                             "/api/migrations?status=flying",
                             "/api/migrations/" MID "/audit?after=abc",
                             "/api/migrations/" MID "/audit?after=-5",
                             NULL};
    for (int i = 0; queries[i]; i++) {
        h_req(&g_srv, "GET", queries[i], g_viewer, NULL, 0, NULL, &r);
        if (r.status != 400)
            fail_msg("%s: status %ld, want 400\n%.300s", queries[i], r.status, r.body);
        H_PROBLEM(&r, 400);
        h_resp_free(&r);
    }

    /* JSON nested 100,000 deep: refused as malformed, and the server is still there */
    size_t depth = 100000;
    char *deep = malloc(depth + 1);
    memset(deep, '[', depth);
    deep[depth] = '\0';
    h_req(&g_srv, "POST", tick, g_eng, deep, depth, NULL, &r);
    H_PROBLEM(&r, 400);
    h_resp_free(&r);
    free(deep);
    h_req(&g_srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    UNCHANGED();
    free(tick);
}

/* The errors h2o's file handler answers itself (text/plain there) reach the client as
 * problem+json like every other error, with their own status and headers (Allow, Content-Range),
 * and a HEAD still gets no body. */
static void test_static_file_errors_are_problems(void **state)
{
    (void)state;
    h_resp r;
    h_req(&g_srv, "GET", "/no-such-file.js", NULL, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    assert_string_equal(json_string_value(json_object_get(r.json, "instance")), "/no-such-file.js");
    h_resp_free(&r);
    h_req(&g_srv, "POST", "/index.html", NULL, "{}", (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 405);
    const char *allow = h_hdr(&r, "allow");
    if (allow == NULL || strstr(allow, "GET") == NULL)
        fail_msg("405 from the file handler without its Allow header: %s", r.body);
    h_resp_free(&r);

    static char buf[8192];
    int st = h_raw(&g_srv,
                   "GET /index.html HTTP/1.1\r\nHost: t\r\nRange: bytes=99999999-\r\n"
                   "Connection: close\r\n\r\n",
                   buf, sizeof buf);
    if (st != 416 || strstr(buf, "application/problem+json") == NULL ||
        strstr(buf, "\"status\":416") == NULL)
        fail_msg("range outside the file: status %d, want a 416 problem\n%.600s", st, buf);
    st = h_raw(&g_srv, "HEAD /no-such-file.js HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
               buf, sizeof buf);
    char *end = strstr(buf, "\r\n\r\n");
    if (st != 404 || end == NULL || end[4] != '\0' ||
        strstr(buf, "application/problem+json") == NULL)
        fail_msg("HEAD of a missing file: status %d, want a bodiless 404 problem\n%.600s", st, buf);
}

/* Every kind of answer (a handler's, a static file, h2o's own 413) starts its head the same
 * way: "Server: flightdeck" once, right after Content-Length, where h2o prints its server name
 * (the server adds it itself, in that place), and X-Request-Id and nosniff once each. */
static void test_response_head_layout(void **state)
{
    (void)state;
    char *with_token = h_fmt("GET /api/me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                             "Connection: close\r\n\r\n",
                             g_eng);
    const char *raw[] = {
        with_token,
        "GET /api/no-such-thing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /api/me HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "POST /api/teams HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\n"
        "Connection: close\r\n\r\n",
        NULL,
    };
    const int want[] = {200, 404, 401, 200, 413};
    static char buf[65536];
    for (int i = 0; raw[i]; i++) {
        int st = h_raw(&g_srv, raw[i], buf, sizeof buf);
        if (st != want[i])
            fail_msg("%.40s: status %d, want %d\n%.400s", raw[i], st, want[i], buf);
        char *end = strstr(buf, "\r\n\r\n");
        assert_non_null(end);
        /* the first four lines, as h2o formats them (server/h1_head.c writes them by hand):
         * status line, a 29-character Date, Connection, and the body's exact length */
        size_t body_len = strlen(end + 4);
        char status_line[160];
        snprintf(status_line, sizeof status_line, "HTTP/1.1 %d ", want[i]);
        const char *date = strstr(buf, "\r\nDate: ");
        char line[96];
        snprintf(line, sizeof line, "\r\nConnection: close\r\nContent-Length: %zu\r\n", body_len);
        if (strncmp(buf, status_line, strlen(status_line)) != 0 || date == NULL ||
            date != strstr(buf, "\r\n") || strncmp(date + 8 + 29, line, strlen(line)) != 0)
            fail_msg("%.40s: the head does not start as h2o writes it\n%.400s", raw[i], buf);
        end[2] = '\0'; /* the head only, each line ending in CRLF */
        char *cl = strstr(buf, "\r\nContent-Length: ");
        if (cl == NULL)
            fail_msg("%.40s: no Content-Length\n%s", raw[i], buf);
        char *next = strstr(cl + 2, "\r\n");
        if (strncmp(next, "\r\nServer: flightdeck\r\n", 22) != 0)
            fail_msg("%.40s: Server is not right after Content-Length\n%s", raw[i], buf);
        const char *once[] = {
            "\r\nServer:", "\r\nX-Request-Id:", "\r\nX-Content-Type-Options: nosniff\r\n", NULL};
        for (int j = 0; once[j]; j++) {
            char *first = strstr(buf, once[j]);
            if (first == NULL || strstr(first + 2, once[j]) != NULL)
                fail_msg("%.40s: '%s' not exactly once\n%s", raw[i], once[j] + 2, buf);
        }
    }
    free(with_token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_flight),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_wrong_type_names_field),
        cmocka_unit_test(test_bad_tokens_401),
        cmocka_unit_test(test_roles_403),
        cmocka_unit_test(test_unknown_ids_404),
        cmocka_unit_test(test_path_tricks_404),
        cmocka_unit_test(test_static_file_errors_are_problems),
        cmocka_unit_test(test_bad_headers_and_queries),
        cmocka_unit_test(test_response_head_layout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
