/*
 * test_webhook.c - outgoing webhooks in core: which events match a subscription, the delivery
 * queue fed from the event sink, the retry schedule, the attempt log, and deliveries that survive
 * a restart. The HTTP side (curl worker) is driven in tests/integration/test_chatops.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatops_fixture.h"
#include "core/webhook.h"

#define SECRET "0123456789abcdef-secret"

/* The server's sink: the recorder of core_fixture, and the webhook queue. */
static void both_sink(void *arg, int64_t seq, const char *migration, const char *action,
                      const char *json, size_t len)
{
    fixture *f = arg;
    fix_sink(f, seq, migration, action, json, len);
    assert_int_equal(webhook_enqueue(f->st, seq, migration, action, json, len, NULL), FD_OK);
}

static fixture *open_with_queue(const char *path)
{
    fixture *f = cx_open(path, 1);
    fd_ports ports = {.clock = {fix_clock, f}, .events = {both_sink, f}};
    store_set_ports(f->st, &ports);
    return f;
}

/* Create a webhook as admin from JSON text; returns its id. */
static int64_t hook(fixture *f, const char *json)
{
    fd_ctx ctx;
    json_t *body = fix_json(json), *out = NULL;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_create(f->st, &ctx, body, &out));
    int64_t id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    json_decref(body);
    return id;
}

static void tick(fixture *f, int64_t sid)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->alice, NULL);
    CX_EXPECT(FD_OK, ctx, flight_step_action(f->st, &ctx, CX_MID, sid, FD_STEP_TICK, NULL, &out));
    json_decref(out);
}

static json_t *due(fixture *f, int64_t at)
{
    json_t *jobs = NULL;
    assert_int_equal(webhook_due(f->st, at, 100, &jobs), FD_OK);
    return jobs;
}

/* ---- matching ---- */

static void patterns_are_checked(void **state)
{
    (void)state;
    const char *good[] = {"*", "step.tick", "step.*", "gate.override", "go_around.merged"};
    const char *bad[] = {"", "step.", ".tick", "STEP.tick", "step.*.x", "a b", "step*", "**"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!webhook_pattern_valid(good[i]))
            fail_msg("%s should be a valid pattern", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (webhook_pattern_valid(bad[i]))
            fail_msg("\"%s\" should be refused", bad[i]);
}

static void events_match_by_action_prefix_and_migration(void **state)
{
    (void)state;
    json_t *steps = fix_json("[\"step.*\"]"), *exact = fix_json("[\"stage.complete\"]");
    json_t *all = fix_json("[\"*\"]");
    assert_true(webhook_matches(steps, NULL, "msk", "step.tick"));
    assert_true(webhook_matches(steps, NULL, "msk", "step.skip"));
    assert_false(webhook_matches(steps, NULL, "msk", "stage.complete"));
    assert_false(webhook_matches(steps, NULL, "msk", "steps.odd"));
    assert_true(webhook_matches(exact, NULL, "msk", "stage.complete"));
    assert_false(webhook_matches(exact, NULL, "msk", "stage.completed"));
    assert_true(webhook_matches(all, NULL, NULL, "team.create"));
    /* a webhook for one migration hears nothing of another, nor of global events */
    assert_true(webhook_matches(all, "msk", "msk", "step.tick"));
    assert_false(webhook_matches(all, "msk", "other", "step.tick"));
    assert_false(webhook_matches(all, "msk", NULL, "team.create"));
    json_decref(steps);
    json_decref(exact);
    json_decref(all);
}

static void backoff_doubles_up_to_the_cap(void **state)
{
    (void)state;
    webhook_policy p;
    webhook_policy_default(&p);
    assert_int_equal(p.max_attempts, 12);
    int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000};
    for (int i = 0; i < 11; i++)
        assert_int_equal(webhook_backoff_ms(&p, i + 1), want[i]);
    webhook_policy fast = {.base_ms = 10, .cap_ms = 3000, .max_attempts = 3};
    assert_int_equal(webhook_backoff_ms(&fast, 1), 10);
    assert_int_equal(webhook_backoff_ms(&fast, 9), 2560);
    assert_int_equal(webhook_backoff_ms(&fast, 10), 3000);
    assert_int_equal(webhook_backoff_ms(&fast, 60), 3000); /* no overflow far out */
}

/* ---- subscriptions ---- */

static void create_refuses_what_would_not_work(void **state)
{
    (void)state;
    fixture *f = cx_open(":memory:", 0);
    struct {
        const fd_actor *who;
        const char *body;
        fd_err want;
        const char *field;
    } cases[] = {
        {&f->lead, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET "\",\"events\":[\"*\"]}",
         FD_E_FORBIDDEN, ""},
        {&f->admin, "{\"url\":\"https://x.example/h\",\"events\":[\"*\"]}", FD_E_INVALID, "secret"},
        {&f->admin, "{\"url\":\"ftp://x.example/h\",\"secret\":\"" SECRET "\",\"events\":[\"*\"]}",
         FD_E_INVALID, "url"},
        {&f->admin,
         "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET "\",\"events\":[\"*\",\"St\"]}",
         FD_E_INVALID, "events[1]"},
        {&f->admin, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET "\",\"events\":[]}",
         FD_E_INVALID, "events"},
        {&f->admin,
         "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
         "\",\"events\":[\"*\"],\"migration\":\"nope\"}",
         FD_E_INVALID, "migration"},
        {&f->admin,
         "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
         "\",\"events\":[\"*\"],\"format\":\"xml\"}",
         FD_E_INVALID, "format"},
        {&f->admin, "{\"url\":\"https://x.example/h\",\"secret\":\"short\",\"events\":[\"*\"]}",
         FD_E_INVALID, "secret"},
        {&f->admin,
         "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET "\",\"events\":[\"*\"],\"x\":1}",
         FD_E_UNKNOWN_FIELD, "x"},
    };
    size_t n_before = json_array_size(f->events);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fd_ctx ctx;
        json_t *body = fix_json(cases[i].body), *out = NULL;
        fd_ctx_init(&ctx, cases[i].who, NULL);
        fd_err e = webhook_create(f->st, &ctx, body, &out);
        if (e != cases[i].want || strcmp(ctx.problem.field, cases[i].field) != 0)
            fail_msg("case %zu: got %s field '%s' (%s), want %s field '%s'", i, fd_err_name(e),
                     ctx.problem.field, ctx.problem.detail, fd_err_name(cases[i].want),
                     cases[i].field);
        assert_null(out);
        fd_problem_clear(&ctx.problem);
        json_decref(body);
    }
    assert_int_equal(json_array_size(f->events), n_before); /* nothing was recorded */
    fix_close(f);
}

static void the_secret_never_comes_back(void **state)
{
    (void)state;
    fixture *f = cx_open(":memory:", 0);
    int64_t id = hook(f, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
                         "\",\"events\":[\"step.*\"],\"migration\":\"msk\"}");
    fd_ctx ctx;
    json_t *doc = NULL, *page = NULL;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_get(f->st, &ctx, id, &doc));
    assert_true(json_is_true(json_object_get(doc, "has_secret")));
    assert_null(json_object_get(doc, "secret"));
    assert_string_equal(json_string_value(json_object_get(doc, "migration")), "msk");
    CX_EXPECT(FD_OK, ctx, webhook_list(f->st, &ctx, NULL, 50, &page));
    char *text = json_dumps(page, 0);
    CX_LACKS(text, SECRET);
    free(text);
    /* nor in the flight recorder, which holds the created document */
    json_t *last = json_array_get(f->events, json_array_size(f->events) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "webhook.create");
    CX_LACKS(json_string_value(json_object_get(last, "json")), SECRET);
    /* an engineer may not even read it */
    fd_ctx_init(&ctx, &f->alice, NULL);
    json_t *none = NULL;
    CX_EXPECT(FD_E_FORBIDDEN, ctx, webhook_get(f->st, &ctx, id, &none));
    fd_problem_clear(&ctx.problem);
    json_decref(doc);
    json_decref(page);
    fix_close(f);
}

static void list_pages_by_id(void **state)
{
    (void)state;
    fixture *f = cx_open(":memory:", 0);
    for (int i = 0; i < 3; i++)
        hook(f, "{\"url\":\"https://x.example/h\",\"format\":\"slack\",\"events\":[\"*\"]}");
    fd_ctx ctx;
    json_t *p1 = NULL, *p2 = NULL;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_list(f->st, &ctx, NULL, 2, &p1));
    assert_int_equal(json_array_size(json_object_get(p1, "items")), 2);
    const char *next = json_string_value(json_object_get(p1, "next_cursor"));
    assert_non_null(next);
    CX_EXPECT(FD_OK, ctx, webhook_list(f->st, &ctx, next, 2, &p2));
    assert_int_equal(json_array_size(json_object_get(p2, "items")), 1);
    assert_true(json_is_null(json_object_get(p2, "next_cursor")));
    json_t *bad = NULL;
    CX_EXPECT(FD_E_BAD_REQUEST, ctx, webhook_list(f->st, &ctx, "x1", 2, &bad));
    fd_problem_clear(&ctx.problem);
    json_decref(p1);
    json_decref(p2);
    fix_close(f);
}

/* ---- the queue ---- */

static void matching_events_are_queued_with_their_bodies(void **state)
{
    (void)state;
    fixture *f = open_with_queue(":memory:");
    int64_t steps = hook(f, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
                            "\",\"events\":[\"step.*\"],\"migration\":\"msk\"}");
    int64_t chat = hook(f, "{\"url\":\"https://hooks.slack.example/T/B\",\"format\":\"slack\","
                           "\"events\":[\"step.tick\"]}");
    hook(f, "{\"url\":\"https://x.example/other\",\"secret\":\"" SECRET
            "\",\"events\":[\"stage.complete\"]}");
    json_t *none = due(f, f->now);
    assert_int_equal(json_array_size(none), 0); /* webhook.create events match nobody here */
    json_decref(none);

    int64_t sid = cx_step(f, 0, 1);
    tick(f, sid);
    json_t *ev = json_array_get(f->events, json_array_size(f->events) - 1);
    json_t *jobs = due(f, f->now);
    assert_int_equal(json_array_size(jobs), 2);
    json_t *j0 = json_array_get(jobs, 0), *j1 = json_array_get(jobs, 1);
    assert_int_equal(json_integer_value(json_object_get(j0, "webhook")), steps);
    assert_int_equal(json_integer_value(json_object_get(j1, "webhook")), chat);
    assert_int_equal(json_integer_value(json_object_get(j0, "seq")),
                     json_integer_value(json_object_get(ev, "seq")));
    assert_string_equal(json_string_value(json_object_get(j0, "action")), "step.tick");
    /* format json: the event byte for byte as the flight recorder holds it */
    assert_string_equal(json_string_value(json_object_get(j0, "body")),
                        json_string_value(json_object_get(ev, "json")));
    assert_string_equal(json_string_value(json_object_get(j0, "secret")), SECRET);
    /* format slack: a readable line naming who, what and the step number */
    json_t *msg = fix_json(json_string_value(json_object_get(j1, "body")));
    const char *text = json_string_value(json_object_get(msg, "text"));
    char want[64];
    snprintf(want, sizeof want, "msk: Alice ticked #%lld Freeze deploys", (long long)sid);
    CX_CONTAINS(text, want);
    assert_true(json_is_null(json_object_get(j1, "secret")));
    json_decref(msg);
    json_decref(jobs);
    fix_close(f);
}

static void failed_attempts_retry_with_backoff_then_give_up(void **state)
{
    (void)state;
    fixture *f = open_with_queue(":memory:");
    int64_t id = hook(f, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
                         "\",\"events\":[\"step.tick\"]}");
    tick(f, cx_step(f, 0, 0));
    json_t *jobs = due(f, f->now);
    assert_int_equal(json_array_size(jobs), 1);
    int64_t d = json_integer_value(json_object_get(json_array_get(jobs, 0), "delivery"));
    json_decref(jobs);

    webhook_policy p = {.base_ms = 1000, .cap_ms = 4000, .max_attempts = 4};
    int64_t t = f->now;
    assert_int_equal(webhook_record(f->st, &p, d, t, 500, "the receiver answered HTTP 500", 12),
                     FD_OK);
    /* not due again before the first backoff, due right at it */
    jobs = due(f, t + 999);
    assert_int_equal(json_array_size(jobs), 0);
    json_decref(jobs);
    jobs = due(f, t + 1000);
    assert_int_equal(json_array_size(jobs), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 0), "attempts")), 1);
    json_decref(jobs);
    int64_t next = 0;
    assert_int_equal(webhook_next_due(f->st, &next), 1);
    assert_int_equal(next, t + 1000);

    assert_int_equal(webhook_record(f->st, &p, d, t + 1000, -1, "Connection refused", 1), FD_OK);
    assert_int_equal(webhook_next_due(f->st, &next), 1);
    assert_int_equal(next, t + 1000 + 2000);
    assert_int_equal(webhook_record(f->st, &p, d, t + 3000, 503, "HTTP 503", 1), FD_OK);
    assert_int_equal(webhook_record(f->st, &p, d, t + 7000, 502, "HTTP 502", 1), FD_OK);
    /* four attempts: given up, nothing pending */
    assert_int_equal(webhook_next_due(f->st, &next), 0);

    fd_ctx ctx;
    json_t *page = NULL;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_deliveries(f->st, &ctx, id, NULL, 50, &page));
    json_t *del = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(del, "status")), "failed");
    assert_int_equal(json_integer_value(json_object_get(del, "attempts")), 4);
    json_t *log = json_object_get(del, "attempt_log");
    assert_int_equal(json_array_size(log), 4);
    json_t *a0 = json_array_get(log, 0), *a1 = json_array_get(log, 1);
    assert_int_equal(json_integer_value(json_object_get(a0, "http_status")), 500);
    assert_true(json_is_null(json_object_get(a1, "http_status")));
    assert_string_equal(json_string_value(json_object_get(a1, "error")), "Connection refused");
    /* a late result for a settled delivery changes nothing */
    assert_int_equal(webhook_record(f->st, &p, d, t + 9000, 200, NULL, 1), FD_OK);
    json_decref(page);
    page = NULL;
    CX_EXPECT(FD_OK, ctx, webhook_deliveries(f->st, &ctx, id, NULL, 50, &page));
    del = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(del, "status")), "failed");
    json_decref(page);
    fix_close(f);
}

static void a_2xx_delivers(void **state)
{
    (void)state;
    fixture *f = open_with_queue(":memory:");
    int64_t id = hook(f, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
                         "\",\"events\":[\"step.*\"]}");
    assert_int_equal(webhook_queue_depth(f->st), 0);
    tick(f, cx_step(f, 0, 0));
    assert_int_equal(webhook_queue_depth(f->st), 1); /* what /metrics shows as the queue depth */
    json_t *jobs = due(f, f->now);
    int64_t d = json_integer_value(json_object_get(json_array_get(jobs, 0), "delivery"));
    json_decref(jobs);
    webhook_policy p;
    webhook_policy_default(&p);
    assert_int_equal(webhook_record(f->st, &p, d, f->now, 204, NULL, 3), FD_OK);
    assert_int_equal(webhook_queue_depth(f->st), 0);
    int64_t next;
    assert_int_equal(webhook_next_due(f->st, &next), 0);
    fd_ctx ctx;
    json_t *page = NULL;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_deliveries(f->st, &ctx, id, NULL, 50, &page));
    json_t *del = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(del, "status")), "delivered");
    assert_true(json_is_null(json_object_get(del, "next_attempt_at")));
    assert_true(json_is_string(json_object_get(del, "done_at")));
    json_decref(page);
    fix_close(f);
}

static void pending_deliveries_survive_a_restart(void **state)
{
    (void)state;
    char path[] = "/tmp/fd-webhook-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* store_open creates it */

    fixture *f = open_with_queue(path);
    hook(f, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET "\",\"events\":[\"step.*\"]}");
    tick(f, cx_step(f, 0, 0));
    json_t *jobs = due(f, f->now);
    assert_int_equal(json_array_size(jobs), 1);
    int64_t d = json_integer_value(json_object_get(json_array_get(jobs, 0), "delivery"));
    json_decref(jobs);
    webhook_policy p;
    webhook_policy_default(&p);
    assert_int_equal(webhook_record(f->st, &p, d, f->now, 500, "HTTP 500", 5), FD_OK);
    int64_t t = f->now;
    fix_close(f);

    /* a new process: the delivery is still there, due at its retry time, one attempt behind it */
    fixture *g = fix_open_path(path);
    json_t *again = NULL;
    assert_int_equal(webhook_due(g->st, t + 1000, 10, &again), FD_OK);
    assert_int_equal(json_array_size(again), 1);
    json_t *j = json_array_get(again, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "delivery")), d);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "url")), "https://x.example/h");
    json_decref(again);
    fix_close(g);
    unlink(path);
    char side[sizeof path + 8];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static void deleting_a_webhook_drops_its_deliveries(void **state)
{
    (void)state;
    fixture *f = open_with_queue(":memory:");
    int64_t id = hook(f, "{\"url\":\"https://x.example/h\",\"secret\":\"" SECRET
                         "\",\"events\":[\"step.*\"]}");
    tick(f, cx_step(f, 0, 0));
    json_t *jobs = due(f, f->now);
    int64_t d = json_integer_value(json_object_get(json_array_get(jobs, 0), "delivery"));
    json_decref(jobs);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_delete(f->st, &ctx, id));
    jobs = due(f, f->now);
    assert_int_equal(json_array_size(jobs), 0);
    json_decref(jobs);
    /* a result arriving for it afterwards is dropped quietly */
    webhook_policy p;
    webhook_policy_default(&p);
    assert_int_equal(webhook_record(f->st, &p, d, f->now, 200, NULL, 1), FD_OK);
    json_t *gone = NULL;
    CX_EXPECT(FD_E_NOT_FOUND, ctx, webhook_get(f->st, &ctx, id, &gone));
    fd_problem_clear(&ctx.problem);
    CX_EXPECT(FD_E_NOT_FOUND, ctx, webhook_delete(f->st, &ctx, id));
    fd_problem_clear(&ctx.problem);
    json_t *last = json_array_get(f->events, json_array_size(f->events) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "webhook.delete");
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patterns_are_checked),
        cmocka_unit_test(events_match_by_action_prefix_and_migration),
        cmocka_unit_test(backoff_doubles_up_to_the_cap),
        cmocka_unit_test(create_refuses_what_would_not_work),
        cmocka_unit_test(the_secret_never_comes_back),
        cmocka_unit_test(list_pages_by_id),
        cmocka_unit_test(matching_events_are_queued_with_their_bodies),
        cmocka_unit_test(failed_attempts_retry_with_backoff_then_give_up),
        cmocka_unit_test(a_2xx_delivers),
        cmocka_unit_test(pending_deliveries_survive_a_restart),
        cmocka_unit_test(deleting_a_webhook_drops_its_deliveries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
