/*
 * test_group_commit_http.c - many engineers ticking at once, over HTTP, with group commit on (the
 * default) and off (FLIGHTDECK_GROUP_COMMIT=0):
 *
 *   - every tick and untick from many concurrent clients is answered 200, and a GET right after
 *     an answer already shows it (an answer is only sent once its batch is durable and readable);
 *   - a retried request (same Idempotency-Key) replays the first answer and writes nothing;
 *   - after a clean restart every acknowledged change is there, the audit log holds exactly one
 *     event per acknowledged change, and its chain verifies.
 *
 * (Kill -9 in the middle of such a load is tests/integration/test_crash.c.)
 */
#define _GNU_SOURCE
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MID "gc"
#define WRITERS 12
#define STEPS_EACH 4
#define PAIRS 3 /* tick + untick pairs per step, then a final tick */

static char *g_admin, *g_lead;
static char *g_eng[WRITERS]; /* one engineer per writer: the rate limit is per user */

/* One stage of WRITERS * STEPS_EACH steps, and a landing. */
static char *plan_text(void)
{
    size_t cap = 64 * WRITERS * STEPS_EACH + 512, n = 0;
    char *p = malloc(cap);
    n += (size_t)snprintf(p + n, cap - n,
                          "{\"id\":\"" MID "\",\"title\":\"Group commit drill\","
                          "\"owner_team\":\"data-stream\",\"stages\":[{\"key\":\"takeoff\","
                          "\"title\":\"Take-off\",\"steps\":[");
    for (int i = 0; i < WRITERS * STEPS_EACH; i++)
        n += (size_t)snprintf(p + n, cap - n, "%s{\"title\":\"Step %d\"}", i ? "," : "", i);
    snprintf(p + n, cap - n,
             "]},{\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Land\"}]}]}");
    return p;
}

static void start_flight(h_server *s)
{
    h_create_demo_teams(s, g_admin);
    char *plan = plan_text();
    h_resp r;
    h_req(s, "POST", "/api/migrations", g_lead, plan, (size_t)-1, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    free(plan);
    h_req(s, "POST", "/api/migrations/" MID "/start", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
}

typedef struct writer {
    h_server *s;
    int id;
    const char *token;
    int64_t sids[STEPS_EACH];
    int acked;    /* changes answered 200 (not replays) */
    int replayed; /* retries answered from the stored answer */
    char failure[512];
} writer;

static const char *status_of(const json_t *doc)
{
    return json_string_value(json_object_get(doc, "status"));
}

/* One action, answered 200 with the step in the wanted state, then a GET that sees it too. With
 * `retry`, the same request again with the same key must be a replay. 0, or -1 with w->failure. */
static int act(writer *w, int64_t sid, const char *action, const char *want, int n, int retry)
{
    char path[128], key[96], keyhdr[128];
    const char *body = strcmp(action, "tick") == 0 ? "{\"note\":\"gc\"}" : "{\"reason\":\"gc\"}";
    snprintf(path, sizeof path, "/api/migrations/" MID "/steps/%lld/%s", (long long)sid, action);
    snprintf(key, sizeof key, "gc-%d-%lld-%d", w->id, (long long)sid, n);
    snprintf(keyhdr, sizeof keyhdr, "Idempotency-Key: %s", key);
    const char *hdrs[] = {keyhdr, NULL};
    h_resp r;
    for (int attempt = 0; attempt < (retry ? 2 : 1); attempt++) {
        h_req(w->s, "POST", path, w->token, body, (size_t)-1, hdrs, &r);
        int replay = h_hdr(&r, "idempotent-replayed") != NULL;
        if (r.status != 200 || status_of(r.json) == NULL || strcmp(status_of(r.json), want) != 0 ||
            replay != attempt) {
            snprintf(w->failure, sizeof w->failure, "%s %s (attempt %d): %ld %s", action, path,
                     attempt, r.status, r.body ? r.body : "");
            h_resp_free(&r);
            return -1;
        }
        h_resp_free(&r);
        if (attempt == 0)
            w->acked++;
        else
            w->replayed++;
    }
    /* acknowledged means readable by anyone now */
    snprintf(path, sizeof path, "/api/migrations/" MID "/steps/%lld", (long long)sid);
    h_req(w->s, "GET", path, w->token, NULL, 0, NULL, &r);
    if (r.status != 200 || status_of(r.json) == NULL || strcmp(status_of(r.json), want) != 0) {
        snprintf(w->failure, sizeof w->failure, "GET after %s answered: %ld %s", action, r.status,
                 r.body ? r.body : "");
        h_resp_free(&r);
        return -1;
    }
    h_resp_free(&r);
    return 0;
}

static void *write_loop(void *arg)
{
    writer *w = arg;
    int n = 0;
    for (int pair = 0; pair < PAIRS; pair++) {
        for (int i = 0; i < STEPS_EACH; i++, n++)
            if (act(w, w->sids[i], "tick", "done", n, (n + w->id) % 5 == 0) != 0)
                return NULL;
        for (int i = 0; i < STEPS_EACH; i++, n++)
            if (act(w, w->sids[i], "untick", "pending", n, (n + w->id) % 5 == 0) != 0)
                return NULL;
    }
    for (int i = 0; i < STEPS_EACH; i++, n++)
        if (act(w, w->sids[i], "tick", "done", n, 0) != 0)
            return NULL;
    return NULL;
}

/* Reads beside the writers: answered (never blocked by a commit), until the writers are done. */
typedef struct reader {
    h_server *s;
    const char *token;
    volatile int stop;
    int reads;
    char failure[512];
} reader;

static void *read_loop(void *arg)
{
    reader *rd = arg;
    static const char *const paths[] = {"/healthz", "/api/migrations/" MID, "/metrics"};
    while (!rd->stop && rd->failure[0] == '\0') {
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            h_resp r;
            h_req(rd->s, "GET", paths[i], rd->token, NULL, 0, NULL, &r);
            if (r.status != 200)
                snprintf(rd->failure, sizeof rd->failure, "GET %s: %ld %s", paths[i], r.status,
                         r.body ? r.body : "");
            h_resp_free(&r);
            rd->reads++;
        }
        usleep(20000); /* public routes are rate-limited per address (200/s) */
    }
    return NULL;
}

/* A number from the Prometheus text, or -1. */
static double metric(h_server *s, const char *name)
{
    h_resp r;
    double v = -1;
    h_req(s, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    size_t len = strlen(name);
    for (const char *p = r.body; p != NULL && *p != '\0';) {
        if (strncmp(p, name, len) == 0 && p[len] == ' ')
            v = strtod(p + len + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    h_resp_free(&r);
    return v;
}

static json_t *audit_events(h_server *s)
{
    h_resp r;
    h_req(s, "GET", "/api/migrations/" MID "/audit?format=json", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *events = json_loadb(r.body, r.len, 0, NULL);
    h_resp_free(&r);
    if (!json_is_array(events))
        fail_msg("the audit export is not a JSON array");
    return events;
}

/* The whole drill against a server started with `env`. */
static void drill(const char *const *env)
{
    h_server s;
    assert_int_equal(h_server_init(&s), 0);
    if (h_start(&s, NULL, env) != 0) {
        h_dump_logs(&s);
        fail_msg("the server did not start");
    }
    start_flight(&s);
    size_t events0 = h_audit_count(&s, g_lead, MID);
    json_t *m = h_get_migration(&s, g_lead, MID);
    writer ws[WRITERS];
    pthread_t th[WRITERS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < WRITERS; i++) {
        ws[i].s = &s;
        ws[i].id = i;
        ws[i].token = g_eng[i];
        for (int k = 0; k < STEPS_EACH; k++)
            ws[i].sids[k] = h_step_id(m, "takeoff", (size_t)(i * STEPS_EACH + k));
    }
    json_decref(m);
    reader rd = {.s = &s, .token = g_lead};
    pthread_t rth;
    assert_int_equal(pthread_create(&rth, NULL, read_loop, &rd), 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, write_loop, &ws[i]), 0);
    int acked = 0, replayed = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        if (ws[i].failure[0] != '\0') {
            h_dump_logs(&s);
            fail_msg("writer %d: %s", i, ws[i].failure);
        }
        acked += ws[i].acked;
        replayed += ws[i].replayed;
    }
    rd.stop = 1;
    pthread_join(rth, NULL);
    if (rd.failure[0] != '\0')
        fail_msg("reader: %s", rd.failure);
    assert_true(rd.reads > 0);
    assert_int_equal(acked, WRITERS * STEPS_EACH * (2 * PAIRS + 1));
    assert_true(replayed > 0);
    fprintf(stderr, "  %d changes acknowledged (%d replays) in %.0f commits of %.0f units\n", acked,
            replayed, metric(&s, "flightdeck_store_commits_total"),
            metric(&s, "flightdeck_store_commit_batch_size_sum"));

    /* a clean restart keeps everything that was acknowledged, and nothing more */
    assert_int_equal(h_stop(&s, SIGTERM, 10000), 0);
    assert_int_equal(s.exit_code, 0);
    if (h_start(&s, NULL, env) != 0) {
        h_dump_logs(&s);
        fail_msg("the server did not restart");
    }
    m = h_get_migration(&s, g_lead, MID);
    for (size_t i = 0; i < WRITERS * STEPS_EACH; i++) {
        json_t *steps = json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps");
        const char *st = status_of(json_array_get(steps, i));
        if (st == NULL || strcmp(st, "done") != 0)
            fail_msg("step %zu is %s after the restart, want done", i, st ? st : "(missing)");
    }
    json_decref(m);
    json_t *events = audit_events(&s);
    assert_int_equal(json_array_size(events), events0 + (size_t)acked);
    h_check_chain(events, NULL);
    json_decref(events);
    assert_int_equal(h_stop(&s, SIGTERM, 10000), 0);
    h_destroy(&s);
}

static void test_concurrent_writers_group_commit(void **state)
{
    (void)state;
    drill(NULL);
}

static void test_concurrent_writers_one_commit_each(void **state)
{
    (void)state;
    const char *env[] = {"FLIGHTDECK_GROUP_COMMIT=0", NULL};
    drill(env);
}

static void test_small_batches_still_keep_everything(void **state)
{
    (void)state;
    const char *env[] = {"FLIGHTDECK_GROUP_COMMIT_MAX=2", NULL};
    drill(env);
}

/* Step actions run as jobs on the committing thread, which chains batch after batch while
 * ticks keep coming. Another write (a PATCH, run on the loop) must still get the write
 * connection within a batch or two, not wait until the ticks stop. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct ticker {
    h_server *s;
    const char *token;
    int64_t sid;
    volatile int *stop;
    int acked;
    char failure[256];
} ticker;

#define TICKERS (WRITERS * STEPS_EACH) /* one per step: enough to keep a batch always waiting */

static void *tick_loop(void *arg)
{
    ticker *t = arg;
    char path[2][128];
    snprintf(path[0], sizeof path[0], "/api/migrations/" MID "/steps/%lld/tick", (long long)t->sid);
    snprintf(path[1], sizeof path[1], "/api/migrations/" MID "/steps/%lld/untick",
             (long long)t->sid);
    double until = h_now() + 20; /* a starved PATCH would wait about this long */
    for (int n = 0; !*t->stop && h_now() < until; n++) {
        h_resp r;
        h_req(t->s, "POST", path[n % 2], t->token, "{}", (size_t)-1, NULL, &r);
        if (r.status != 200) {
            snprintf(t->failure, sizeof t->failure, "%s: %ld", path[n % 2], r.status);
            h_resp_free(&r);
            return NULL;
        }
        h_resp_free(&r);
        t->acked++;
    }
    return NULL;
}

static void test_other_writes_are_not_starved_by_steady_ticks(void **state)
{
    (void)state;
    h_server s;
    /* batches of one: the queue of ticks never runs dry, so only the thread's giving the write
     * connection back when a writer waits on the loop lets the PATCH in */
    const char *env[] = {"FLIGHTDECK_RATE_LIMIT=1000000", "FLIGHTDECK_RATE_BURST=1000000",
                         "FLIGHTDECK_GROUP_COMMIT_MAX=1", NULL};
    assert_int_equal(h_server_init(&s), 0);
    if (h_start(&s, NULL, env) != 0) {
        h_dump_logs(&s);
        fail_msg("the server did not start");
    }
    start_flight(&s);
    json_t *m = h_get_migration(&s, g_lead, MID);
    int64_t land = h_step_id(m, "landing", 0);
    volatile int stop = 0;
    ticker ts[TICKERS];
    pthread_t th[TICKERS];
    for (int i = 0; i < TICKERS; i++) {
        ts[i] = (ticker){.s = &s, .token = g_eng[i % WRITERS],
                         .sid = h_step_id(m, "takeoff", (size_t)i), .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, tick_loop, &ts[i]), 0);
    }
    json_decref(m);
    usleep(300 * 1000); /* the ticks are flowing */
    char path[128], body[64];
    snprintf(path, sizeof path, "/api/migrations/" MID "/steps/%lld", (long long)land);
    double took[10];
    for (int i = 0; i < 10; i++) {
        snprintf(body, sizeof body, "{\"title\":\"Land %d\"}", i);
        double t0 = h_now();
        h_resp r;
        h_req(&s, "PATCH", path, g_lead, body, (size_t)-1, NULL, &r);
        took[i] = h_now() - t0;
        H_EXPECT(&r, 200);
        h_resp_free(&r);
    }
    qsort(took, 10, sizeof took[0], cmp_double);
    stop = 1;
    int acked = 0;
    for (int i = 0; i < TICKERS; i++) {
        pthread_join(th[i], NULL);
        if (ts[i].failure[0] != '\0')
            fail_msg("ticker %d: %s", i, ts[i].failure);
        acked += ts[i].acked;
    }
    fprintf(stderr, "  10 PATCHes beside %d ticks: median %.0f ms, slowest %.0f ms\n", acked,
            took[5] * 1000, took[9] * 1000);
    assert_true(acked > 0);
    /* given the write connection back, a PATCH waits for one batch of one tick (~1-20 ms);
     * without that, until the queue of ticks happens to run dry (~0.2-1 s here) */
    if (took[5] > 0.15)
        fail_msg("PATCHes waited %.0f ms (median) for the write connection while ticks ran",
                 took[5] * 1000);
    assert_int_equal(h_stop(&s, SIGTERM, 10000), 0);
    h_destroy(&s);
}

/* Clients that send a tick and hang up at once: the job may run after its request is gone
 * (its change stands, nobody is answered). The server stays up, every step is either done with
 * its event or untouched, and the chain verifies. Under the sanitizers this is where a job
 * touching its freed request would show. */
static void test_ticks_from_clients_that_vanish(void **state)
{
    (void)state;
    h_server s;
    assert_int_equal(h_server_init(&s), 0);
    if (h_start(&s, NULL, NULL) != 0) {
        h_dump_logs(&s);
        fail_msg("the server did not start");
    }
    start_flight(&s);
    size_t events0 = h_audit_count(&s, g_lead, MID);
    json_t *m = h_get_migration(&s, g_lead, MID);
    int fds[WRITERS * STEPS_EACH];
    for (int i = 0; i < WRITERS * STEPS_EACH; i++) {
        char *req = h_fmt("POST /api/migrations/" MID "/steps/%lld/tick HTTP/1.1\r\n"
                          "Host: x\r\nAuthorization: Bearer %s\r\nContent-Type: "
                          "application/json\r\nContent-Length: 2\r\n\r\n{}",
                          (long long)h_step_id(m, "takeoff", (size_t)i), g_eng[i % WRITERS]);
        fds[i] = h_raw_connect(&s);
        assert_true(fds[i] >= 0);
        assert_int_equal(h_raw_send(fds[i], req, strlen(req)), 0);
        free(req);
        if (i % 2 == 0) { /* half hang up at once, half once all are sent */
            close(fds[i]);
            fds[i] = -1;
        }
    }
    for (int i = 0; i < WRITERS * STEPS_EACH; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    json_decref(m);
    usleep(300 * 1000); /* the last batch commits */
    m = h_get_migration(&s, g_lead, MID);
    size_t done = 0;
    json_t *steps = json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const char *st = status_of(json_array_get(steps, i));
        if (st != NULL && strcmp(st, "done") == 0)
            done++;
        else if (st == NULL || strcmp(st, "pending") != 0)
            fail_msg("step %zu is %s", i, st ? st : "(missing)");
    }
    json_decref(m);
    fprintf(stderr, "  %zu of %d ticks from vanished clients were applied\n", done,
            WRITERS * STEPS_EACH);
    json_t *events = audit_events(&s);
    assert_int_equal(json_array_size(events), events0 + done);
    h_check_chain(events, NULL);
    json_decref(events);
    assert_int_equal(h_stop(&s, SIGTERM, 10000), 0);
    assert_int_equal(s.exit_code, 0);
    h_destroy(&s);
}

/* The loop keeps spent step jobs for the next actions (api/steps.c): one action after another,
 * each must answer only of itself. A refusal, a replay, a note, another actor and a long note
 * (a job made to measure) come in turn, one at a time, so each job is the last one's, reused. */
static void test_each_action_answers_only_of_itself(void **state)
{
    (void)state;
    h_server s;
    assert_int_equal(h_server_init(&s), 0);
    if (h_start(&s, NULL, NULL) != 0) {
        h_dump_logs(&s);
        fail_msg("the server did not start");
    }
    start_flight(&s);
    json_t *m = h_get_migration(&s, g_lead, MID);
    char *path[4];
    for (int i = 0; i < 4; i++)
        path[i] = h_fmt("/api/migrations/" MID "/steps/%lld/tick",
                        (long long)h_step_id(m, "takeoff", (size_t)i));
    json_decref(m);
    const char *key[] = {"Idempotency-Key: reuse-1", NULL};
    char long_note[1500];
    memset(long_note, 'n', sizeof long_note - 1);
    long_note[sizeof long_note - 1] = '\0';
    char *long_body = h_fmt("{\"note\":\"%s\"}", long_note);
    h_resp r;
    for (int round = 0; round < 3; round++) {
        /* eng-0 ticks step 0 with a key and a note */
        h_req(&s, "POST", path[0], g_eng[0], "{\"note\":\"first\"}", (size_t)-1, key, &r);
        H_EXPECT(&r, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "note")), "first");
        if (round == 0)
            assert_null(h_hdr(&r, "Idempotent-Replayed"));
        else
            assert_string_equal(h_hdr(&r, "Idempotent-Replayed"), "true");
        h_resp_free(&r);
        /* eng-1 ticks the same step: 409 naming eng-0, nothing of the answer before */
        h_req(&s, "POST", path[0], g_eng[1], "{}", (size_t)-1, NULL, &r);
        H_PROBLEM(&r, 409);
        assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "Engineer 0"));
        assert_null(h_hdr(&r, "Idempotent-Replayed"));
        h_resp_free(&r);
        if (round > 0)
            continue; /* the steps below are done now */
        /* eng-1 ticks step 1 without a note or a key: its own name, no note, no replay */
        h_req(&s, "POST", path[1], g_eng[1], "{}", (size_t)-1, NULL, &r);
        H_EXPECT(&r, 200);
        assert_null(h_hdr(&r, "Idempotent-Replayed"));
        assert_true(json_is_null(json_object_get(r.json, "note")) ||
                    json_object_get(r.json, "note") == NULL);
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "by"), "name")),
                            "Engineer 1");
        h_resp_free(&r);
        /* a long note (more than a kept job holds), then a short one */
        h_req(&s, "POST", path[2], g_eng[2], long_body, (size_t)-1, NULL, &r);
        H_EXPECT(&r, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "note")), long_note);
        h_resp_free(&r);
        h_req(&s, "POST", path[3], g_eng[3], "{\"note\":\"short\"}", (size_t)-1, NULL, &r);
        H_EXPECT(&r, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "note")), "short");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "by"), "name")),
                            "Engineer 3");
        h_resp_free(&r);
    }
    free(long_body);
    for (int i = 0; i < 4; i++)
        free(path[i]);
    assert_int_equal(h_stop(&s, SIGTERM, 10000), 0);
    h_destroy(&s);
}

/* The token and document caches say on /metrics how often they answer: the same GET twice with
 * the same token is one miss then one hit of each (the first request also verifies the token). */
static void test_cache_counters_are_on_metrics(void **state)
{
    (void)state;
    h_server s;
    assert_int_equal(h_server_init(&s), 0);
    if (h_start(&s, NULL, NULL) != 0) {
        h_dump_logs(&s);
        fail_msg("the server did not start");
    }
    start_flight(&s);
    double th0 = metric(&s, "flightdeck_token_cache_hits_total");
    double dh0 = metric(&s, "flightdeck_doc_cache_hits_total");
    double dm0 = metric(&s, "flightdeck_doc_cache_misses_total");
    assert_true(th0 >= 0 && dh0 >= 0 && dm0 >= 0);
    for (int i = 0; i < 2; i++) {
        h_resp r;
        h_req(&s, "GET", "/api/migrations/" MID, g_lead, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        h_resp_free(&r);
    }
    assert_true(metric(&s, "flightdeck_token_cache_hits_total") >= th0 + 2);
    assert_true(metric(&s, "flightdeck_doc_cache_misses_total") >= dm0 + 1);
    assert_true(metric(&s, "flightdeck_doc_cache_hits_total") >= dh0 + 1);
    assert_true(metric(&s, "flightdeck_token_cache_misses_total") >= 1);
    assert_int_equal(h_stop(&s, SIGTERM, 10000), 0);
    h_destroy(&s);
}

static void test_bad_settings_refuse_to_start(void **state)
{
    (void)state;
    const char *bad[][2] = {{"FLIGHTDECK_GROUP_COMMIT=yes", NULL},
                            {"FLIGHTDECK_GROUP_COMMIT_MAX=0", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h_server s;
        assert_int_equal(h_server_init(&s), 0);
        if (h_start(&s, NULL, bad[i]) == 0)
            fail_msg("the server started with %s", bad[i][0]);
        h_destroy(&s);
    }
}

static int setup(void **state)
{
    (void)state;
    h_init();
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_lead = h_token("alice", "Alice", "lead", "data-stream");
    for (int i = 0; i < WRITERS; i++) {
        char sub[32], name[32];
        snprintf(sub, sizeof sub, "eng-%d", i);
        snprintf(name, sizeof name, "Engineer %d", i);
        g_eng[i] = h_token(sub, name, "engineer", "data-stream");
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_admin);
    free(g_lead);
    for (int i = 0; i < WRITERS; i++)
        free(g_eng[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_writers_group_commit),
        cmocka_unit_test(test_concurrent_writers_one_commit_each),
        cmocka_unit_test(test_small_batches_still_keep_everything),
        cmocka_unit_test(test_other_writes_are_not_starved_by_steady_ticks),
        cmocka_unit_test(test_ticks_from_clients_that_vanish),
        cmocka_unit_test(test_each_action_answers_only_of_itself),
        cmocka_unit_test(test_cache_counters_are_on_metrics),
        cmocka_unit_test(test_bad_settings_refuse_to_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
