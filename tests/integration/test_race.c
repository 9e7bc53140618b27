/*
 * test_race.c - two engineers on one step, stale writes, and bots that retry.
 *
 *   - Two clients tick the same step at the same moment, many rounds: exactly one wins (200),
 *     the other gets 409 naming the winner and when; one audit event per real change.
 *   - If-Match with a stale version: 412 with the current version, nothing changed.
 *   - Idempotency-Key: a replay returns the first answer with Idempotent-Replayed: true and
 *     writes nothing; the same key with another request is 422.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MID "race"
#define ROUNDS 30

static h_server g_srv;
static char *g_admin, *g_lead, *g_bob, *g_carol;

static const char *g_plan =
    "{\"id\":\"race\",\"title\":\"Race drill\",\"owner_team\":\"data-stream\","
    "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "{\"title\":\"Shared step\"},{\"title\":\"Idempotent step\"},{\"title\":\"If-Match step\"}]},"
    "{\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Land\"}]}]}";

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
    g_bob = h_token("bob", "Bob", "engineer", "data-stream");
    g_carol = h_token("carol", "Carol", "engineer", "data-stream");
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
    free(g_bob);
    free(g_carol);
    return 0;
}

static int64_t step(size_t idx)
{
    json_t *m = h_get_migration(&g_srv, g_lead, MID);
    int64_t sid = h_step_id(m, "takeoff", idx);
    json_decref(m);
    return sid;
}

static char *action_path(int64_t sid, const char *action)
{
    return h_fmt("/api/migrations/" MID "/steps/%lld/%s", (long long)sid, action);
}

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
    h_resp_free(&r);
}

typedef struct racer {
    pthread_barrier_t *gate;
    const char *token;
    const char *path;
    const char *body;
    h_resp resp;
} racer;

static void *race(void *arg)
{
    racer *me = arg;
    pthread_barrier_wait(me->gate);
    h_req(&g_srv, "POST", me->path, me->token, me->body, (size_t)-1, NULL, &me->resp);
    return NULL;
}

static const char *by_sub(const json_t *step_doc)
{
    return json_string_value(json_object_get(json_object_get(step_doc, "by"), "sub"));
}

static void test_concurrent_ticks_one_winner(void **state)
{
    (void)state;
    int64_t sid = step(0);
    char *tick = action_path(sid, "tick");
    char *untick = action_path(sid, "untick");
    size_t count0 = h_audit_count(&g_srv, g_lead, MID);
    int wins[2] = {0, 0};

    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_t gate;
        pthread_barrier_init(&gate, NULL, 2);
        racer rs[2] = {
            {&gate, g_bob, tick, "{\"note\":\"bob was here\"}", {0}},
            {&gate, g_carol, tick, "{\"note\":\"carol was here\"}", {0}},
        };
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&gate);

        int w = rs[0].resp.status == 200 ? 0 : 1;
        int l = 1 - w;
        const char *wsub = w == 0 ? "bob" : "carol";
        const char *wname = w == 0 ? "Bob" : "Carol";
        if (rs[w].resp.status != 200 || rs[l].resp.status != 409)
            fail_msg("round %d: statuses %ld and %ld, want one 200 and one 409\n%s\n%s", round,
                     rs[0].resp.status, rs[1].resp.status, rs[0].resp.body, rs[1].resp.body);
        wins[w]++;

        /* the winner's answer is the done step, by the winner */
        assert_string_equal(json_string_value(json_object_get(rs[w].resp.json, "status")), "done");
        assert_string_equal(by_sub(rs[w].resp.json), wsub);

        /* the loser is told who was first and when, with the step as it is now */
        H_PROBLEM(&rs[l].resp, 409);
        json_t *cur = json_object_get(rs[l].resp.json, "current");
        assert_true(json_is_object(cur));
        assert_string_equal(json_string_value(json_object_get(cur, "status")), "done");
        assert_string_equal(by_sub(cur), wsub);
        assert_true(json_is_string(json_object_get(cur, "at")));
        const char *detail = json_string_value(json_object_get(rs[l].resp.json, "detail"));
        if (!strstr(detail, wname))
            fail_msg("round %d: the 409 detail does not name %s: %s", round, wname, detail);
        for (int i = 0; i < 2; i++)
            h_resp_free(&rs[i].resp);

        /* the winner takes it back for the next round */
        h_resp r;
        h_req(&g_srv, "POST", untick, w == 0 ? g_bob : g_carol, "{\"reason\":\"next round\"}",
              (size_t)-1, NULL, &r);
        H_EXPECT(&r, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "status")), "pending");
        h_resp_free(&r);
    }
    /* one tick and one untick per round, nothing for the refused ticks */
    assert_int_equal(h_audit_count(&g_srv, g_lead, MID), count0 + 2 * ROUNDS);
    assert_int_equal(wins[0] + wins[1], ROUNDS);
    free(tick);
    free(untick);
}

static void test_if_match_stale(void **state)
{
    (void)state;
    int64_t sid = step(2);
    char *tick = action_path(sid, "tick");
    char *untick = action_path(sid, "untick");
    h_resp r;

    /* tick and untick once: the step is pending again, at a newer version */
    h_req(&g_srv, "POST", tick, g_bob, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_int_t v_old = json_integer_value(json_object_get(r.json, "version")) - 1;
    h_resp_free(&r);
    h_req(&g_srv, "POST", untick, g_bob, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_int_t v_now = json_integer_value(json_object_get(r.json, "version"));
    h_resp_free(&r);
    assert_true(v_now > v_old);

    size_t count = h_audit_count(&g_srv, g_lead, MID);
    char *before = h_snapshot(&g_srv, g_lead, MID);
    char *stale = h_fmt("If-Match: \"%lld\"", (long long)v_old);
    const char *stale_hdrs[] = {stale, NULL};
    h_req(&g_srv, "POST", tick, g_carol, "{\"note\":\"from an old screen\"}", (size_t)-1,
          stale_hdrs, &r);
    H_PROBLEM(&r, 412);
    assert_int_equal(json_integer_value(json_object_get(r.json, "current_version")), v_now);
    h_resp_free(&r);
    char *after = h_snapshot(&g_srv, g_lead, MID);
    assert_string_equal(before, after);
    assert_int_equal(h_audit_count(&g_srv, g_lead, MID), count);

    /* the current version goes through */
    char *fresh = h_fmt("If-Match: \"%lld\"", (long long)v_now);
    const char *fresh_hdrs[] = {fresh, NULL};
    h_req(&g_srv, "POST", tick, g_carol, NULL, 0, fresh_hdrs, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(by_sub(r.json), "carol");
    h_resp_free(&r);

    /* the same on the migration itself: PATCH with an old version */
    json_t *m = h_get_migration(&g_srv, g_lead, MID);
    json_int_t mv = json_integer_value(json_object_get(m, "version"));
    json_decref(m);
    char *old_m = h_fmt("If-Match: \"%lld\"", (long long)(mv - 1));
    const char *old_m_hdrs[] = {old_m, NULL};
    h_req(&g_srv, "PATCH", "/api/migrations/" MID, g_lead, "{\"title\":\"Renamed\"}", (size_t)-1,
          old_m_hdrs, &r);
    H_PROBLEM(&r, 412);
    assert_int_equal(json_integer_value(json_object_get(r.json, "current_version")), mv);
    h_resp_free(&r);
    m = h_get_migration(&g_srv, g_lead, MID);
    assert_string_equal(json_string_value(json_object_get(m, "title")), "Race drill");
    json_decref(m);

    char *cur_m = h_fmt("If-Match: \"%lld\"", (long long)mv);
    const char *cur_m_hdrs[] = {cur_m, NULL};
    h_req(&g_srv, "PATCH", "/api/migrations/" MID, g_lead, "{\"title\":\"Renamed\"}", (size_t)-1,
          cur_m_hdrs, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), "Renamed");
    json_int_t mv2 = json_integer_value(json_object_get(r.json, "version"));
    assert_true(mv2 > mv);
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)mv2);
    assert_non_null(h_hdr(&r, "ETag"));
    assert_string_equal(h_hdr(&r, "ETag"), etag);
    h_resp_free(&r);

    free(before);
    free(after);
    free(stale);
    free(fresh);
    free(old_m);
    free(cur_m);
    free(tick);
    free(untick);
}

static void test_idempotency_key_replay(void **state)
{
    (void)state;
    int64_t sid = step(1);
    char *tick = action_path(sid, "tick");
    const char *key_hdr[] = {"Idempotency-Key: 6f1d2c3e-bot-retry-1", NULL};
    h_resp first, again;

    h_req(&g_srv, "POST", tick, g_bob, "{\"note\":\"first try\"}", (size_t)-1, key_hdr, &first);
    H_EXPECT(&first, 200);
    const char *rep = h_hdr(&first, "Idempotent-Replayed");
    assert_true(rep == NULL || strcmp(rep, "true") != 0);
    size_t count = h_audit_count(&g_srv, g_lead, MID);
    char *before = h_snapshot(&g_srv, g_lead, MID);

    /* the bot retries: the same answer, marked as a replay, and nothing written */
    for (int i = 0; i < 3; i++) {
        h_req(&g_srv, "POST", tick, g_bob, "{\"note\":\"first try\"}", (size_t)-1, key_hdr, &again);
        H_EXPECT(&again, 200);
        assert_non_null(h_hdr(&again, "Idempotent-Replayed"));
        assert_string_equal(h_hdr(&again, "Idempotent-Replayed"), "true");
        assert_non_null(again.json);
        assert_true(json_equal(first.json, again.json));
        h_resp_free(&again);
    }
    assert_int_equal(h_audit_count(&g_srv, g_lead, MID), count);
    char *after = h_snapshot(&g_srv, g_lead, MID);
    assert_string_equal(before, after);

    /* the same key with a different body, or for a different step, is refused */
    h_req(&g_srv, "POST", tick, g_bob, "{\"note\":\"second try\"}", (size_t)-1, key_hdr, &again);
    H_PROBLEM(&again, 422);
    h_resp_free(&again);
    char *other = action_path(step(0), "tick");
    h_req(&g_srv, "POST", other, g_bob, "{\"note\":\"first try\"}", (size_t)-1, key_hdr, &again);
    H_PROBLEM(&again, 422);
    h_resp_free(&again);
    assert_int_equal(h_audit_count(&g_srv, g_lead, MID), count);

    /* another caller's request with the same key is theirs, not a replay of bob's answer */
    h_req(&g_srv, "POST", tick, g_carol, "{\"note\":\"first try\"}", (size_t)-1, key_hdr, &again);
    rep = h_hdr(&again, "Idempotent-Replayed");
    if (rep && strcmp(rep, "true") == 0)
        fail_msg("carol got bob's replayed answer for bob's Idempotency-Key: %s", again.body);
    H_PROBLEM(&again, 409);
    h_resp_free(&again);
    assert_int_equal(h_audit_count(&g_srv, g_lead, MID), count);

    /* without the key the same request is a new one, and the step is already done */
    h_req(&g_srv, "POST", tick, g_bob, "{\"note\":\"first try\"}", (size_t)-1, NULL, &again);
    H_PROBLEM(&again, 409);
    h_resp_free(&again);

    h_resp_free(&first);
    free(before);
    free(after);
    free(tick);
    free(other);
}

static void test_idempotent_create(void **state)
{
    (void)state;
    const char *plan = "{\"id\":\"retry-create\",\"title\":\"Created by a retrying bot\","
                       "\"owner_team\":\"data-stream\"}";
    const char *key_hdr[] = {"Idempotency-Key: create-retry-create-1", NULL};
    h_resp first, again;
    h_req(&g_srv, "POST", "/api/migrations", g_lead, plan, (size_t)-1, key_hdr, &first);
    H_EXPECT(&first, 201);
    h_req(&g_srv, "POST", "/api/migrations", g_lead, plan, (size_t)-1, key_hdr, &again);
    H_EXPECT(&again, 201);
    assert_non_null(h_hdr(&again, "Idempotent-Replayed"));
    assert_string_equal(h_hdr(&again, "Idempotent-Replayed"), "true");
    assert_non_null(h_hdr(&again, "Location"));
    assert_string_equal(h_hdr(&again, "Location"), "/api/migrations/retry-create");
    assert_true(json_equal(first.json, again.json));
    h_resp_free(&first);
    h_resp_free(&again);
    /* one migration, created once */
    assert_int_equal(h_audit_count(&g_srv, g_lead, "retry-create"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_flight),
        cmocka_unit_test(test_concurrent_ticks_one_winner),
        cmocka_unit_test(test_if_match_stale),
        cmocka_unit_test(test_idempotency_key_replay),
        cmocka_unit_test(test_idempotent_create),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
