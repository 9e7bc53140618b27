/*
 * test_ratelimit.c - the token buckets with a fake clock (bursts, refill, the wait a refused
 * caller is told, a clock that jumps back), the table of callers (independent buckets, a full
 * table), and the limiter at the front door (429 with Retry-After for the flooding user while
 * another user goes on; failed sign-ins limited per address).
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
#include "server/ratelimit.h"

/* ---- the bucket ----------------------------------------------------------------------------- */

static void test_bucket_allows_a_burst_then_refuses(void **state)
{
    (void)state;
    rl_bucket b;
    rl_bucket_init(&b, 5, 1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rl_bucket_take(&b, 1.0, 5, 1000), 0);
    /* empty: at 1 token/s the next one is a second away */
    assert_int_equal(rl_bucket_take(&b, 1.0, 5, 1000), 1000);
    /* a refused request takes nothing: asking again later is not penalised */
    assert_int_equal(rl_bucket_take(&b, 1.0, 5, 1400), 600);
    assert_int_equal(rl_bucket_take(&b, 1.0, 5, 2000), 0);
}

static void test_bucket_refills_at_the_rate(void **state)
{
    (void)state;
    rl_bucket b;
    rl_bucket_init(&b, 2, 0);
    assert_int_equal(rl_bucket_take(&b, 10.0, 2, 0), 0);
    assert_int_equal(rl_bucket_take(&b, 10.0, 2, 0), 0);
    assert_int_equal(rl_bucket_take(&b, 10.0, 2, 0), 100); /* 10/s: one per 100 ms */
    assert_int_equal(rl_bucket_take(&b, 10.0, 2, 50), 50); /* half a token there */
    assert_int_equal(rl_bucket_take(&b, 10.0, 2, 100), 0);
    assert_int_equal(rl_bucket_take(&b, 10.0, 2, 150), 50);
    /* a slow rate: one every 2 s */
    rl_bucket_init(&b, 1, 0);
    assert_int_equal(rl_bucket_take(&b, 0.5, 1, 0), 0);
    assert_int_equal(rl_bucket_take(&b, 0.5, 1, 0), 2000);
}

static void test_bucket_never_holds_more_than_the_burst(void **state)
{
    (void)state;
    rl_bucket b;
    rl_bucket_init(&b, 3, 0);
    assert_int_equal(rl_bucket_take(&b, 100.0, 3, 0), 0);
    /* an hour idle at 100/s would be 360,000 tokens; the bucket holds 3 */
    int64_t t = 3600 * 1000;
    int allowed = 0;
    while (rl_bucket_take(&b, 100.0, 3, t) == 0)
        allowed++;
    assert_int_equal(allowed, 3);
}

static void test_bucket_clock_going_back(void **state)
{
    (void)state;
    rl_bucket b;
    rl_bucket_init(&b, 1, 10000);
    assert_int_equal(rl_bucket_take(&b, 1.0, 1, 10000), 0);
    /* the clock steps back 5 s: no refill, and no negative wait either */
    assert_int_equal(rl_bucket_take(&b, 1.0, 1, 5000), 1000);
    /* the time already credited is not lost: at 11 s the token is there */
    assert_int_equal(rl_bucket_take(&b, 1.0, 1, 11000), 0);
}

/* ---- the table ----------------------------------------------------------------------------- */

static void test_table_callers_are_independent(void **state)
{
    (void)state;
    rl_table *t = rl_table_new(1.0, 2, 100);
    assert_non_null(t);
    assert_int_equal(rl_table_take(t, "sub:alice", 0), 0);
    assert_int_equal(rl_table_take(t, "sub:alice", 0), 0);
    assert_true(rl_table_take(t, "sub:alice", 0) > 0);
    assert_int_equal(rl_table_take(t, "sub:bob", 0), 0); /* alice's flood is not bob's problem */
    assert_int_equal(rl_table_size(t), 2);
    /* many callers: the table grows and keeps each one's count */
    char key[32];
    for (int i = 0; i < 98; i++) {
        snprintf(key, sizeof key, "ip:10.0.%d.%d", i / 256, i % 256);
        assert_int_equal(rl_table_take(t, key, 0), 0);
    }
    assert_int_equal(rl_table_size(t), 100);
    assert_true(rl_table_take(t, "sub:alice", 0) > 0);
    rl_table_free(t);
}

static void test_table_full_lets_strangers_through_and_forgets_idle_callers(void **state)
{
    (void)state;
    rl_table *t = rl_table_new(1.0, 1, 2);
    assert_int_equal(rl_table_take(t, "a", 0), 0);
    assert_int_equal(rl_table_take(t, "b", 0), 0);
    /* full of active callers: a third is let through untracked, never refused for that */
    assert_int_equal(rl_table_take(t, "c", 0), 0);
    assert_int_equal(rl_table_take(t, "c", 0), 0);
    assert_int_equal(rl_table_untracked(t), 2);
    assert_int_equal(rl_table_size(t), 2);
    /* the limited callers stay limited meanwhile */
    assert_true(rl_table_take(t, "a", 500) > 0);
    /* two seconds later a and b are full again, so they are forgotten and c gets a bucket */
    assert_int_equal(rl_table_take(t, "c", 2000), 0);
    assert_true(rl_table_take(t, "c", 2000) > 0);
    assert_int_equal(rl_table_untracked(t), 2);
    rl_table_free(t);
}

/* ---- the front door ------------------------------------------------------------------------ */

static const char SECRET[] = "rate-limit-test-secret-0123456789abcdef";
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
    ratelimit_shutdown();
    auth_keys_free(keys);
    store_close(st);
    fake_h2o_teardown();
    return 0;
}

static char *token_for(const char *sub)
{
    fd_actor a = {.role = FD_ROLE_ENGINEER, .source = "api"};
    char *tok = NULL;
    snprintf(a.sub, sizeof a.sub, "%s", sub);
    snprintf(a.name, sizeof a.name, "%s", sub);
    assert_int_equal(auth_mint(keys, &a, (int64_t)time(NULL), 3600, &tok), 0);
    return tok;
}

/* GET /api/me with `token` (NULL: none, "bad": a wrong one); returns the status, and the
 * Retry-After header into retry (may be NULL). */
static int get_me(const char *token, char *retry, size_t retrylen, json_t **problem)
{
    fake_conn *fc = fake_new("GET", "/api/me", NULL);
    if (token != NULL) {
        char h[2048];
        snprintf(h, sizeof h, "Bearer %s", token);
        fake_add_req_header(fc, "authorization", h);
    }
    assert_int_equal(http_handle(&fc->req), 0);
    assert_int_equal(fake_dechunk(fc), 0);
    int status = fc->req.res.status;
    char *ra = fake_res_header(fc, "retry-after");
    if (retry != NULL)
        snprintf(retry, retrylen, "%s", ra != NULL ? ra : "");
    if (problem != NULL)
        *problem = json_loads(fc->body, 0, NULL);
    free(ra);
    fake_free(fc);
    return status;
}

static void test_flooding_user_gets_429_and_others_do_not(void **state)
{
    (void)state;
    char *alice = token_for("alice"), *bob = token_for("bob");
    char retry[32];
    json_t *problem = NULL;

    /* 1 request/s in bursts of 3: a test that runs for less than a second sees no refill */
    assert_int_equal(ratelimit_configure(1, 3), 0);
    uint64_t refused0 = ratelimit_refused();
    for (int i = 0; i < 3; i++)
        assert_int_equal(get_me(alice, NULL, 0, NULL), 200);
    assert_int_equal(get_me(alice, retry, sizeof retry, &problem), 429);
    assert_string_equal(retry, "1");
    assert_non_null(problem);
    assert_int_equal(json_integer_value(json_object_get(problem, "status")), 429);
    assert_int_equal(json_integer_value(json_object_get(problem, "retry_after")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(problem, "type")), "rate"));
    json_decref(problem);
    assert_int_equal(ratelimit_refused(), refused0 + 1);

    /* bob is somebody else */
    assert_int_equal(get_me(bob, NULL, 0, NULL), 200);

    /* requests without a valid token count against the address, and a flood of guesses ends in
     * 429 instead of 401 */
    int statuses[5];
    for (int i = 0; i < 5; i++)
        statuses[i] = get_me("bad.token.here", NULL, 0, NULL);
    assert_int_equal(statuses[0], 401);
    assert_int_equal(statuses[2], 401);
    assert_int_equal(statuses[3], 429);
    assert_int_equal(statuses[4], 429);
    /* still: bob, who has his own bucket, is fine */
    assert_int_equal(get_me(bob, NULL, 0, NULL), 200);

    /* switched off: no limit at all */
    assert_int_equal(ratelimit_configure(0, 0), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(get_me(alice, NULL, 0, NULL), 200);
    free(alice);
    free(bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_allows_a_burst_then_refuses),
        cmocka_unit_test(test_bucket_refills_at_the_rate),
        cmocka_unit_test(test_bucket_never_holds_more_than_the_burst),
        cmocka_unit_test(test_bucket_clock_going_back),
        cmocka_unit_test(test_table_callers_are_independent),
        cmocka_unit_test(test_table_full_lets_strangers_through_and_forgets_idle_callers),
        cmocka_unit_test(test_flooding_user_gets_429_and_others_do_not),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
