/*
 * test_slack.c - the Slack endpoint: request signatures (good, bad, stale, future, replayed,
 * malformed), the form-encoded body, and the handler in-process through a fake h2o connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "chatops_fixture.h"
#include "core/chat.h"
#include "fake_h2o.h"
#include "server/slack.h"

#define SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define NOW 1773169200LL

/* "v0=" + hex HMAC-SHA256 over "v0:ts:body", computed here independently of slack.c. */
static void sign(const char *secret, const char *ts, const char *body, char out[68])
{
    char base[4096];
    int n = snprintf(base, sizeof base, "v0:%s:%s", ts, body);
    unsigned char md[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)base, (size_t)n, md, &len);
    strcpy(out, "v0=");
    for (int i = 0; i < 32; i++)
        sprintf(out + 3 + 2 * i, "%02x", md[i]);
}

static slack_verdict check(const char *ts, const char *body, const char *sig, int64_t now)
{
    return slack_verify((const unsigned char *)SECRET, strlen(SECRET), ts, strlen(ts), body,
                        strlen(body), sig, strlen(sig), now);
}

static void signatures_good_bad_stale_future(void **state)
{
    (void)state;
    const char *body = "token=x&user_id=U1&text=status+msk";
    char ts[24], sig[68];
    snprintf(ts, sizeof ts, "%lld", NOW);
    sign(SECRET, ts, body, sig);
    assert_int_equal(check(ts, body, sig, NOW), SLACK_OK);
    assert_int_equal(check(ts, body, sig, NOW + 299), SLACK_OK);

    /* one byte of the body changed, or another secret: refused */
    assert_int_equal(check(ts, "token=x&user_id=U1&text=status+msl", sig, NOW), SLACK_BAD_SIG);
    char other[68];
    sign("another-secret", ts, body, other);
    assert_int_equal(check(ts, body, other, NOW), SLACK_BAD_SIG);
    char upper[68];
    snprintf(upper, sizeof upper, "%s", sig);
    upper[10] = upper[10] == 'a' ? 'b' : 'a';
    assert_int_equal(check(ts, body, upper, NOW), SLACK_BAD_SIG);

    /* more than 5 minutes old, or ahead */
    assert_int_equal(check(ts, body, sig, NOW + 301), SLACK_STALE);
    char future[24], fsig[68];
    snprintf(future, sizeof future, "%lld", NOW + 301);
    sign(SECRET, future, body, fsig);
    assert_int_equal(check(future, body, fsig, NOW), SLACK_FUTURE);

    /* malformed headers */
    assert_int_equal(check("", body, sig, NOW), SLACK_MALFORMED);
    assert_int_equal(check("17731692OO", body, sig, NOW), SLACK_MALFORMED);
    assert_int_equal(check("-1", body, sig, NOW), SLACK_MALFORMED);
    assert_int_equal(check("99999999999999999999999", body, sig, NOW), SLACK_MALFORMED);
    assert_int_equal(check(ts, body, "v1=abc", NOW), SLACK_MALFORMED);
    assert_int_equal(check(ts, body, sig + 3, NOW), SLACK_MALFORMED);
    assert_int_equal(
        slack_verify(NULL, 0, ts, strlen(ts), body, strlen(body), sig, strlen(sig), NOW),
        SLACK_MALFORMED);
}

static void replayed_signatures_are_refused_within_the_window(void **state)
{
    (void)state;
    slack_replay *r = slack_replay_new();
    const char *a = "v0=aaaa", *b = "v0=bbbb";
    assert_int_equal(slack_replay_check(r, a, strlen(a), NOW, NOW), 0);
    assert_int_equal(slack_replay_check(r, a, strlen(a), NOW, NOW + 10), 1);
    assert_int_equal(slack_replay_check(r, b, strlen(b), NOW, NOW + 10), 0);
    /* after the window the timestamp itself is stale; the memory may forget it */
    assert_int_equal(slack_replay_check(r, b, strlen(b), NOW + 400, NOW + 400), 0);
    assert_int_equal(slack_replay_check(r, a, strlen(a), NOW + 400, NOW + 400), 0);
    slack_replay_free(r);
}

static void form_bodies_decode_plus_and_escapes(void **state)
{
    (void)state;
    char out[64];
    const char *body = "token=gIk&team_domain=ex&user_id=U2147483697&command=%2Ffd"
                       "&text=tick+msk+%2342+done%21+%C3%A9t%C3%A9&empty=&flag";
    size_t n = strlen(body);
    assert_int_equal(slack_form_get(body, n, "user_id", out, sizeof out), 1);
    assert_string_equal(out, "U2147483697");
    assert_int_equal(slack_form_get(body, n, "command", out, sizeof out), 1);
    assert_string_equal(out, "/fd");
    assert_int_equal(slack_form_get(body, n, "text", out, sizeof out), 1);
    assert_string_equal(out, "tick msk #42 done! \xc3\xa9t\xc3\xa9");
    assert_int_equal(slack_form_get(body, n, "empty", out, sizeof out), 1);
    assert_string_equal(out, "");
    assert_int_equal(slack_form_get(body, n, "flag", out, sizeof out), 1);
    assert_int_equal(slack_form_get(body, n, "missing", out, sizeof out), 0);
    assert_int_equal(slack_form_get("", 0, "text", out, sizeof out), 0);
    /* the value must fit */
    char tiny[4];
    assert_int_equal(slack_form_get(body, n, "text", tiny, sizeof tiny), -1);
    /* malformed anywhere is malformed: a bad escape, a truncated one, an encoded NUL */
    const char *bad[] = {"user_id=U1&text=%zz", "user_id=U1&text=50%", "user_id=U1&text=%4",
                         "user_id=U1%00&text=x", "us%G0er_id=U1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (slack_form_get(bad[i], strlen(bad[i]), "user_id", out, sizeof out) != -1)
            fail_msg("\"%s\" should be malformed", bad[i]);
    /* the length given is the body: nothing after it is read */
    assert_int_equal(slack_form_get("user_id=U1&text=ab", 16, "text", out, sizeof out), 1);
    assert_string_equal(out, "");
    /* found by fuzz_slack: a value that is not UTF-8 used to reach chat and end in a 500 after
     * the tick had committed with its note lost; a raw NUL cut the text short */
    assert_int_equal(slack_form_get("user_id=U1&text=tick+m1+2+%FF", 29, "text", out, sizeof out),
                     -1);
    assert_int_equal(slack_form_get("user_id=U%C0%AF", 15, "user_id", out, sizeof out), -1);
    assert_int_equal(slack_form_get("user_id=U1&text=a\0b", 19, "text", out, sizeof out), -1);
}

/* ---- the handler ---- */

static fixture *fx;

static int setup(void **state)
{
    (void)state;
    fake_h2o_setup();
    fx = cx_open(":memory:", 1);
    fd_ctx ctx;
    json_t *body = fix_json("{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"engineer\"}"), *out;
    fd_ctx_init(&ctx, &fx->admin, NULL);
    CX_EXPECT(FD_OK, ctx, chat_user_put(fx->st, &ctx, "UALICE", body, &out));
    json_decref(body);
    json_decref(out);
    slack_set_secret(SECRET, strlen(SECRET));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    slack_shutdown();
    fix_close(fx);
    fake_h2o_teardown();
    return 0;
}

/* POST the form body; ts_off shifts the signed timestamp from now; sig_secret NULL: no headers. */
static fake_conn *post(const char *body, long ts_off, const char *sig_secret)
{
    fake_conn *fc = fake_new("POST", "/api/chatops/slack", body);
    char ts[24], sig[68];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) + ts_off);
    if (sig_secret != NULL) {
        sign(sig_secret, ts, body, sig);
        fake_add_req_header(fc, "x-slack-request-timestamp", ts);
        fake_add_req_header(fc, "x-slack-signature", sig);
    }
    fake_add_req_header(fc, "host", "fd.example:8080");
    fc->req.authority = h2o_iovec_init(H2O_STRLIT("fd.example:8080"));
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.st = fx->st;
    c.request_id = "slack-req";
    fd_ctx_init(&c.ctx, NULL, "slack-req");
    slack_handle(&c);
    assert_true(fc->complete != 0);
    fd_problem_clear(&c.ctx.problem);
    return fc;
}

static json_t *body_of(fake_conn *fc, int status)
{
    if (fc->req.res.status != status)
        fail_msg("status %d, want %d: %s", fc->req.res.status, status, fc->body);
    return fix_json(fc->body);
}

static void signed_commands_run_and_others_are_refused(void **state)
{
    (void)state;
    int64_t sid = cx_step(fx, 0, 0);
    char body[200];
    snprintf(body, sizeof body, "command=%%2Ffd&user_id=UALICE&text=tick+msk+%%23%lld+done",
             (long long)sid);

    fake_conn *fc = post(body, 0, SECRET);
    json_t *msg = body_of(fc, 200);
    assert_string_equal(json_string_value(json_object_get(msg, "response_type")), "in_channel");
    CX_CONTAINS(json_string_value(json_object_get(msg, "text")), "Alice ticked");
    json_decref(msg);
    fake_free(fc);

    /* unsigned, wrongly signed, stale: 401 problems, and the step stays as it is */
    const char *other = "command=%2Ffd&user_id=UALICE&text=status+msk";
    fc = post(other, 0, NULL);
    msg = body_of(fc, 401);
    CX_CONTAINS(json_string_value(json_object_get(msg, "detail")), "X-Slack-Signature");
    json_decref(msg);
    fake_free(fc);
    fc = post(other, 0, "not-the-secret");
    msg = body_of(fc, 401);
    CX_CONTAINS(json_string_value(json_object_get(msg, "detail")), "does not match");
    json_decref(msg);
    fake_free(fc);
    fc = post(other, -301, SECRET);
    msg = body_of(fc, 401);
    CX_CONTAINS(json_string_value(json_object_get(msg, "detail")), "more than 5 minutes old");
    json_decref(msg);
    fake_free(fc);

    /* the exact same signed request again: a replay */
    fc = post(other, -5, SECRET);
    json_decref(body_of(fc, 200));
    fake_free(fc);
    fc = post(other, -5, SECRET);
    msg = body_of(fc, 401);
    CX_CONTAINS(json_string_value(json_object_get(msg, "detail")), "replays are refused");
    json_decref(msg);
    fake_free(fc);
}

static void unmapped_users_and_bad_bodies(void **state)
{
    (void)state;
    fake_conn *fc = post("command=%2Ffd&user_id=UNOBODY&text=status+msk", 0, SECRET);
    json_t *msg = body_of(fc, 200);
    assert_string_equal(json_string_value(json_object_get(msg, "response_type")), "ephemeral");
    CX_CONTAINS(json_string_value(json_object_get(msg, "text")),
                "curl -X PUT http://fd.example:8080/api/chatops/users/UNOBODY");
    json_decref(msg);
    fake_free(fc);

    fc = post("command=%2Ffd&text=status+msk", 0, SECRET); /* no user_id */
    json_decref(body_of(fc, 400));
    fake_free(fc);
    fc = post("user_id=UALICE&text=%zz", 0, SECRET);
    json_decref(body_of(fc, 400));
    fake_free(fc);
}

static void without_a_secret_the_endpoint_is_unavailable(void **state)
{
    (void)state;
    slack_set_secret(NULL, 0);
    fake_conn *fc = post("user_id=UALICE&text=help", 0, SECRET);
    json_t *msg = body_of(fc, 503);
    CX_CONTAINS(json_string_value(json_object_get(msg, "detail")),
                "FLIGHTDECK_SLACK_SIGNING_SECRET");
    json_decref(msg);
    fake_free(fc);
    slack_set_secret(SECRET, strlen(SECRET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signatures_good_bad_stale_future),
        cmocka_unit_test(replayed_signatures_are_refused_within_the_window),
        cmocka_unit_test(form_bodies_decode_plus_and_escapes),
        cmocka_unit_test_setup_teardown(signed_commands_run_and_others_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unmapped_users_and_bad_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(without_a_secret_the_endpoint_is_unavailable, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
