/*
 * test_router.c - which handler a request reaches, with which parameters, and what a client
 * gets when no route fits (404, or 405 with the methods that would).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/check.h"
#include "server/http.h"
#include "server/log.h"
#include "server/router.h"

static void h_list(api_call *c)
{
    (void)c;
}
static void h_create(api_call *c)
{
    (void)c;
}
static void h_get(api_call *c)
{
    (void)c;
}
static void h_patch(api_call *c)
{
    (void)c;
}
static void h_export(api_call *c)
{
    (void)c;
}
static void h_tick(api_call *c)
{
    (void)c;
}
static void h_health(api_call *c)
{
    (void)c;
}

static const api_route table_a[] = {
    {"GET", "/api/migrations", h_list, 0},
    {"POST", "/api/migrations", h_create, 0},
    {"GET", "/api/migrations/{mid}", h_get, 0},
    {"PATCH", "/api/migrations/{mid}", h_patch, 0},
    {"POST", "/api/migrations/{mid}/steps/{sid}/tick", h_tick, 0},
    {NULL, NULL, NULL, 0},
};
static const api_route table_b[] = {
    {"GET", "/api/migrations/export", h_export, 0}, /* a literal beside {mid}: literal wins */
    {"GET", "/api/stream", h_export, API_STREAM},
    {"GET", "/healthz", h_health, API_PUBLIC},
    {NULL, NULL, NULL, 0},
};
static const api_route *const tables[] = {table_a, table_b, NULL};

static router_status match(const char *method, const char *path, router_match *m)
{
    return router_match_in(tables, method, strlen(method), path, strlen(path), m);
}

static void params_are_extracted_in_order(void **state)
{
    (void)state;
    router_match m;
    assert_int_equal(match("POST", "/api/migrations/msk-1/steps/42/tick", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_tick);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.params[0], "msk-1");
    assert_string_equal(m.params[1], "42");

    assert_int_equal(match("GET", "/api/migrations", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_list);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match("GET", "/healthz", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_health);
}

static void query_string_is_not_part_of_the_path(void **state)
{
    (void)state;
    router_match m;
    assert_int_equal(match("GET", "/api/migrations?limit=5&cursor=a/b", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_list);
    assert_int_equal(match("GET", "/api/migrations/msk?x=%2F", &m), ROUTER_OK);
    assert_string_equal(m.params[0], "msk");
    /* the path handed over need not be NUL-terminated: only path_len bytes count */
    const char raw[] = "/api/migrations/abcdef";
    assert_int_equal(router_match_in(tables, "GET", 3, raw, 19, &m), ROUTER_OK);
    assert_string_equal(m.params[0], "abc");
}

static void params_are_percent_decoded(void **state)
{
    (void)state;
    router_match m;
    assert_int_equal(match("GET", "/api/migrations/my%20plan%21", &m), ROUTER_OK);
    assert_string_equal(m.params[0], "my plan!");
    assert_int_equal(match("GET", "/api/migrations/%c3%a9t%C3%A9", &m), ROUTER_OK);
    assert_string_equal(m.params[0], "\xc3\xa9t\xc3\xa9"); /* UTF-8 passes through */
}

static void encoded_slash_does_not_split_or_match(void **state)
{
    (void)state;
    router_match m;
    /* "%2F" would turn one segment into two after decoding; it is refused, not re-routed */
    assert_int_equal(match("GET", "/api/migrations/a%2Fsteps", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/migrations/a%2f..%2f..", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("POST", "/api/migrations/x%2Fsteps%2F1/tick", &m), ROUTER_NOT_FOUND);
    assert_null(m.route);
}

static void bad_params_are_not_found(void **state)
{
    (void)state;
    router_match m;
    const char *bad[] = {
        "/api/migrations/a%00b",                         /* NUL would cut the C string */
        "/api/migrations/a%0Ab",                         /* control characters */
        "/api/migrations/a%7f",  "/api/migrations/a%zz", /* malformed escapes */
        "/api/migrations/abc%",  "/api/migrations/abc%4",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (match("GET", bad[i], &m) != ROUTER_NOT_FOUND)
            fail_msg("%s was routed", bad[i]);
}

static void overlong_params_are_not_found(void **state)
{
    (void)state;
    router_match m;
    char path[1024];
    int n = snprintf(path, sizeof path, "/api/migrations/");
    memset(path + n, 'a', ROUTER_PARAM_MAX);
    path[n + ROUTER_PARAM_MAX] = '\0';
    assert_int_equal(match("GET", path, &m), ROUTER_OK); /* exactly the limit */
    assert_int_equal(strlen(m.params[0]), ROUTER_PARAM_MAX);
    path[n + ROUTER_PARAM_MAX] = 'a';
    path[n + ROUTER_PARAM_MAX + 1] = '\0';
    assert_int_equal(match("GET", path, &m), ROUTER_NOT_FOUND); /* one more */
    /* the limit is on the decoded value: 200 escapes of 3 bytes each decode to 200 bytes */
    n = snprintf(path, sizeof path, "/api/migrations/");
    for (int i = 0; i < ROUTER_PARAM_MAX; i++)
        n += snprintf(path + n, sizeof path - (size_t)n, "%%41");
    assert_int_equal(match("GET", path, &m), ROUTER_OK);
}

static void wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    router_match m;
    assert_int_equal(match("DELETE", "/api/migrations/msk", &m), ROUTER_BAD_METHOD);
    assert_null(m.route);
    assert_string_equal(m.allow, "GET, PATCH");
    assert_int_equal(match("PUT", "/api/migrations", &m), ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "GET, POST");
    /* HEAD answers like GET (no body), except on streams, which would never end */
    assert_int_equal(match("HEAD", "/healthz", &m), ROUTER_OK);
    assert_int_equal(match("HEAD", "/api/stream", &m), ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "GET");
    /* the method must match exactly, not as a prefix */
    assert_int_equal(match("GE", "/healthz", &m), ROUTER_BAD_METHOD);
    assert_int_equal(match("GETX", "/healthz", &m), ROUTER_BAD_METHOD);
    /* a path nobody serves is 404 whatever the method */
    assert_int_equal(match("DELETE", "/api/nothing", &m), ROUTER_NOT_FOUND);
    assert_string_equal(m.allow, "");
}

static void trailing_and_double_slashes_do_not_match(void **state)
{
    (void)state;
    router_match m;
    assert_int_equal(match("GET", "/api/migrations/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/migrations/msk/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api//migrations", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/migrations//steps/1/tick", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "api/migrations", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/migrations/msk/extra", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/Migrations", &m), ROUTER_NOT_FOUND); /* case matters */
}

/* A path is cut at every '/': up to ROUTER_MAX_SEGMENTS segments, the last one what follows the
 * last '/', empty or not (so "/" is one empty segment and matches no pattern of literals). */
static void paths_split_into_at_most_the_segment_limit(void **state)
{
    (void)state;
    static const api_route deep[] = {
        {"GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/{p}", h_get, 0}, /* 16 segments */
        {"GET", "/x", h_list, 0},
        {NULL, NULL, NULL, 0},
    };
    static const api_route *const deep_tables[] = {deep, NULL};
    router_match m;
    const char *p16 = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/last?q=/a/b";
    assert_int_equal(router_match_in(deep_tables, "GET", 3, p16, strlen(p16), &m), ROUTER_OK);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "last");
    const char *p17 = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q";
    assert_int_equal(router_match_in(deep_tables, "GET", 3, p17, strlen(p17), &m),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match_in(deep_tables, "GET", 3, "/x", 2, &m), ROUTER_OK);
    assert_int_equal(router_match_in(deep_tables, "GET", 3, "/x/", 3, &m), ROUTER_NOT_FOUND);
    assert_int_equal(router_match_in(deep_tables, "GET", 3, "/", 1, &m), ROUTER_NOT_FOUND);
    assert_int_equal(router_match_in(deep_tables, "GET", 3, "/x?", 3, &m), ROUTER_OK);
}

static void literal_segment_beats_parameter(void **state)
{
    (void)state;
    router_match m;
    assert_int_equal(match("GET", "/api/migrations/export", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_export);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match("GET", "/api/migrations/exports", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_get);
    /* PATCH on the literal path still reaches the {mid} route */
    assert_int_equal(match("PATCH", "/api/migrations/export", &m), ROUTER_OK);
    assert_ptr_equal(m.route->fn, h_patch);
}

static void decode_param_contract(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(router_decode_param("a%41", 4, out, sizeof out), 2);
    assert_string_equal(out, "aA");
    assert_int_equal(router_decode_param("abcdefgh", 8, out, sizeof out), -1); /* no room for NUL */
    assert_int_equal(router_decode_param("abcdefg", 7, out, sizeof out), 7);
    assert_int_equal(router_decode_param("a/b", 3, out, sizeof out), -1);
    /* not UTF-8 (found by fuzz_api: the 404 used to lose its body): no such id */
    assert_int_equal(router_decode_param("m%FEx", 5, out, sizeof out), -1);
    assert_int_equal(router_decode_param("%C0%AF", 6, out, sizeof out), -1); /* overlong '/' */
    assert_int_equal(router_decode_param("%ED%A0%80", 9, out, sizeof out), -1); /* surrogate */
    assert_int_equal(router_decode_param("caf%C3%A9", 9, out, sizeof out), 5);
}

/* router_decode_param as it was before its plain-segment shortcut (a byte at a time, every
 * segment through the UTF-8 check), kept as the reference the shortcut must agree with. */
static int ref_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int ref_decode_param(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = ref_hexval(in[i + 1]);
            lo = ref_hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (ch == '/' || ch < 0x20 || ch == 0x7f)
            return -1;
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    if (!check_is_utf8(out, n))
        return -1;
    return (int)n;
}

/* xorshift64: a fixed sequence, so a failure repeats */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random segments, rich in the bytes where plain ends (controls, space, '%', '/', DEL, bytes
 * with the high bit, escapes of them, UTF-8), of many lengths and around the room left for the
 * NUL: the same answer and the same bytes written as the reference, every time. */
static void decode_param_agrees_with_the_reference(void **state)
{
    (void)state;
    static const char edge[] = {
        0x00, 0x01, 0x1f, ' ', '!',  '%',        '.',        '/',        '0',        '9',
        'A',  'f',  'z',  '~', 0x7f, (char)0x80, (char)0xc3, (char)0xa9, (char)0xed, (char)0xff};
    static const char *const esc[] = {"%41",       "%2F", "%2f", "%00", "%7F", "%C3%A9", "%FE",
                                      "%ED%A0%80", "%4",  "%G1", "%",   "%20", "%25"};
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 200000; round++) {
        char in[ROUTER_PARAM_MAX + 40];
        size_t len = 0, want = rng_next(&x) % 5 == 0 ? rng_next(&x) % sizeof in : rng_next(&x) % 40;
        /* 0: plain only; 1: plain but for one byte; 2, 3: more and more of the rest */
        int kind = (int)(rng_next(&x) % 4);
        while (len < want) {
            uint64_t r = rng_next(&x);
            int pick = kind <= 1 ? 0 : (int)(r % (uint64_t)(2 * kind)) - 1;
            if (pick <= 0) {
                in[len++] = (char)(0x20 + (r >> 8) % 0x5f); /* printable ASCII, '%' and '/' too */
                if (kind <= 1 && (in[len - 1] == '%' || in[len - 1] == '/'))
                    in[len - 1] = 'x';
            } else if (pick == 1) {
                in[len++] = edge[(r >> 8) % sizeof edge];
            } else {
                const char *e = esc[(r >> 8) % (sizeof esc / sizeof esc[0])];
                size_t el = strlen(e);
                if (len + el > sizeof in)
                    break;
                memcpy(in + len, e, el);
                len += el;
            }
        }
        if (kind == 1 && len > 0) { /* any byte at all, or an edge one, anywhere */
            uint64_t r = rng_next(&x);
            in[(r >> 16) % len] = r % 2 ? (char)(r >> 8) : edge[(r >> 8) % sizeof edge];
        }
        size_t room[] = {len, len + 1, len + 2, ROUTER_PARAM_MAX + 1, len > 0 ? len - 1 : 1};
        size_t outlen = room[rng_next(&x) % 5];
        if (outlen == 0 || outlen > sizeof in + 1)
            outlen = 1;
        char got[sizeof in + 1], ref[sizeof in + 1];
        memset(got, '#', sizeof got);
        memset(ref, '#', sizeof ref);
        int g = router_decode_param(in, len, got, outlen);
        int r = ref_decode_param(in, len, ref, outlen);
        if (g != r || memcmp(got, ref, sizeof got) != 0)
            fail_msg("round %d: %zu bytes, room %zu: %d, the reference %d", round, len, outlen, g,
                     r);
    }
}

/* The process's own tables: every route well-formed and reachable, none shadowed by another. */
static int count_routes;
static void check_route(void *arg, const api_route *r)
{
    (void)arg;
    router_match m;
    count_routes++;
    assert_non_null(r->fn);
    assert_true(r->pattern[0] == '/');
    /* route the pattern itself (params as literal names): it must reach this very route */
    char path[256];
    size_t n = 0;
    for (const char *p = r->pattern; *p != '\0' && n + 1 < sizeof path; p++)
        if (*p != '{' && *p != '}')
            path[n++] = *p;
    path[n] = '\0';
    assert_int_equal(router_match_request(r->method, strlen(r->method), path, n, &m), ROUTER_OK);
    if (m.route != r) /* a duplicate, or shadowed by a more literal pattern */
        fail_msg("%s %s is reached as %s", r->method, r->pattern, m.route->pattern);
}

static void process_tables_are_consistent(void **state)
{
    (void)state;
    router_match m;
    count_routes = 0;
    router_each_route(check_route, NULL);
    assert_true(count_routes > 6);
    /* the routes server/ owns are wired in */
    assert_int_equal(router_match_request("POST", 4, "/api/session", 12, &m), ROUTER_OK);
    assert_true((m.route->flags & API_PUBLIC) != 0);
    assert_int_equal(router_match_request("DELETE", 6, "/api/session", 12, &m), ROUTER_OK);
    const char *ev = "/api/migrations/msk/events";
    assert_int_equal(router_match_request("GET", 3, ev, strlen(ev), &m), ROUTER_OK);
    assert_true((m.route->flags & API_PUBLIC) == 0); /* streams need a signed-in user */
    assert_int_equal(router_match_request("GET", 3, "/api/events", 11, &m), ROUTER_OK);
    const char *pr = "/api/migrations/msk/presence";
    assert_int_equal(router_match_request("GET", 3, pr, strlen(pr), &m), ROUTER_OK);
    assert_int_equal(router_match_request("GET", 3, "/api/dev/users", 14, &m), ROUTER_OK);
}

/* ---- request preparation helpers (server/http.c) ---------------------------------------- */

static void if_match_forms(void **state)
{
    (void)state;
    int64_t v = 99;
    assert_int_equal(http_parse_if_match("\"7\"", 3, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(http_parse_if_match("W/\"12\"", 6, &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(http_parse_if_match(" \"0\" ", 5, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(http_parse_if_match("*", 1, &v), 0);
    assert_int_equal(v, -1);
    const char *bad[] = {
        "7", "\"\"", "\"7", "\"-1\"", "\"7\", \"8\"", "\"x\"", "W/7", "\"99999999999999999999\"",
        ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (http_parse_if_match(bad[i], strlen(bad[i]), &v) != -1)
            fail_msg("If-Match %s accepted", bad[i]);
}

static void idempotency_key_and_request_id_forms(void **state)
{
    (void)state;
    char k[300];
    assert_true(http_idempotency_key_valid("3f1c-9a", 7));
    assert_true(http_idempotency_key_valid("a b", 3));
    assert_false(http_idempotency_key_valid("", 0));
    assert_false(http_idempotency_key_valid("a\tb", 3));
    assert_false(http_idempotency_key_valid("\xc3\xa9", 2));
    memset(k, 'k', sizeof k);
    assert_true(http_idempotency_key_valid(k, 255));
    assert_false(http_idempotency_key_valid(k, 256));

    assert_true(log_request_id_valid("abc.DEF_1-2", 11));
    assert_false(log_request_id_valid("bad id", 6));
    assert_false(log_request_id_valid("", 0));
    assert_false(log_request_id_valid(k, 65));
    char a[LOG_RID_MAX], b[LOG_RID_MAX];
    log_request_id_new(a);
    log_request_id_new(b);
    assert_string_not_equal(a, b);
    assert_true(log_request_id_valid(a, strlen(a))); /* our own ids pass our own check */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_are_extracted_in_order),
        cmocka_unit_test(query_string_is_not_part_of_the_path),
        cmocka_unit_test(params_are_percent_decoded),
        cmocka_unit_test(encoded_slash_does_not_split_or_match),
        cmocka_unit_test(bad_params_are_not_found),
        cmocka_unit_test(overlong_params_are_not_found),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(trailing_and_double_slashes_do_not_match),
        cmocka_unit_test(paths_split_into_at_most_the_segment_limit),
        cmocka_unit_test(literal_segment_beats_parameter),
        cmocka_unit_test(decode_param_contract),
        cmocka_unit_test(decode_param_agrees_with_the_reference),
        cmocka_unit_test(process_tables_are_consistent),
        cmocka_unit_test(if_match_forms),
        cmocka_unit_test(idempotency_key_and_request_id_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
