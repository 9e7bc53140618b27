/*
 * test_chatops.c - chatops, webhooks and the record after landing, against the real binary:
 *   - every slash command through POST /api/chatops/slack, signed as Slack signs (HMAC computed
 *     here with OpenSSL), and the refusals of bad, stale and replayed signatures;
 *   - webhook deliveries to a real HTTP receiver on loopback that fails the first attempts, with
 *     a restart of flightdeck in the middle of the retries;
 *   - the report and the archive of a whole migration, `flightdeck verify` catching a tampered
 *     archive, and `flightdeck export` after the server has stopped.
 * Each test has its own server and database.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "webhook_sink.h"

#define SLACK_SECRET "slack-signing-secret-for-tests-0123"
#define HOOK_SECRET "hook-secret-0123456789"
#define MID "msk"

static const char *const PLAN =
    "{\"id\":\"msk\",\"title\":\"Replace <the> MSK cluster\",\"owner_team\":\"data-stream\","
    "\"teams\":[\"data-stream\",\"sre\"],\"stages\":["
    " {\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "   {\"title\":\"Announce\",\"expected_minutes\":5},{\"title\":\"Freeze deploys\"}]},"
    " {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Switch consumers\"}]}"
    "]}";

typedef struct world {
    h_server srv;
    char *admin, *lead, *eng;
} world;

static int group_setup(void **state)
{
    (void)state;
    h_init();
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (w == NULL || h_server_init(&w->srv) != 0)
        return -1;
    w->admin = h_token("root", "Root", "admin", NULL);
    w->lead = h_token("lena", "Lena Lead", "lead", "data-stream");
    w->eng = h_token("alice", "Alice", "engineer", "data-stream");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    h_destroy(&w->srv);
    free(w->admin);
    free(w->lead);
    free(w->eng);
    free(w);
    return 0;
}

static void start(world *w, const char *const *env)
{
    if (h_start(&w->srv, NULL, env) != 0) {
        h_dump_logs(&w->srv);
        fail_msg("the server did not start (exit %d)", w->srv.exit_code);
    }
}

static void call(world *w, const char *method, const char *path, const char *token,
                 const char *json, long want)
{
    h_resp r;
    h_req(&w->srv, method, path, token, json, (size_t)-1, NULL, &r);
    H_EXPECT(&r, want);
    h_resp_free(&r);
}

/* Teams, the plan, started. */
static void prepare(world *w)
{
    call(w, "POST", "/api/teams", w->admin, "{\"slug\":\"data-stream\",\"name\":\"Data Stream\"}",
         201);
    call(w, "POST", "/api/teams", w->admin, "{\"slug\":\"sre\",\"name\":\"SRE\"}", 201);
    call(w, "POST", "/api/migrations", w->lead, PLAN, 201);
    call(w, "POST", "/api/migrations/msk/start", w->lead, NULL, 200);
}

/* The ids of the steps: stage 0 step 0, 1; stage 1 step 0. */
static void step_ids(world *w, int64_t ids[3])
{
    json_t *m = h_get_migration(&w->srv, w->lead, MID);
    ids[0] = h_step_id(m, "takeoff", 0);
    ids[1] = h_step_id(m, "takeoff", 1);
    ids[2] = h_step_id(m, "landing", 0);
    json_decref(m);
}

/* ---- Slack ---- */

static char *hmac_hex(const char *key, const char *data, size_t len)
{
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, len, md, &n);
    char *out = malloc(65);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    return out;
}

/* POST a form body to the Slack endpoint, signed with `secret` at now + ts_off. */
static long slack_raw(world *w, const char *body, const char *secret, long ts_off, h_resp *r)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) + ts_off);
    char *base = h_fmt("v0:%s:%s", ts, body);
    char *mac = hmac_hex(secret, base, strlen(base));
    char *h_ts = h_fmt("X-Slack-Request-Timestamp: %s", ts);
    char *h_sig = h_fmt("X-Slack-Signature: v0=%s", mac);
    const char *hdrs[] = {h_ts, h_sig, "Content-Type: application/x-www-form-urlencoded", NULL};
    long st = h_req(&w->srv, "POST", "/api/chatops/slack", NULL, body, (size_t)-1, hdrs, r);
    free(base);
    free(mac);
    free(h_ts);
    free(h_sig);
    return st;
}

/* Run a slash command as chat user `user`; the reply's text is returned (owned). */
static char *slash(world *w, const char *user, const char *text, const char *want_type)
{
    /* form-encode the text: spaces as '+', the rest of what a command holds as %XX */
    char enc[1024];
    size_t o = 0;
    for (const char *p = text; *p && o + 4 < sizeof enc; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ')
            enc[o++] = '+';
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.')
            enc[o++] = (char)c;
        else
            o += (size_t)sprintf(enc + o, "%%%02X", c);
    }
    enc[o] = '\0';
    /* Slack gives every invocation its own trigger_id: the same command twice is not a replay */
    static int trigger;
    char *body = h_fmt("token=t&team_id=T1&command=%%2Ffd&user_id=%s&text=%s&trigger_id=%d.%ld",
                       user, enc, ++trigger, (long)getpid());
    h_resp r;
    slack_raw(w, body, SLACK_SECRET, 0, &r);
    H_EXPECT(&r, 200);
    if (r.json == NULL)
        fail_msg("the reply is not JSON: %s", r.body);
    const char *type = json_string_value(json_object_get(r.json, "response_type"));
    if (want_type != NULL && (type == NULL || strcmp(type, want_type) != 0))
        fail_msg("reply type %s, want %s: %s", type, want_type, r.body);
    char *t = strdup(json_string_value(json_object_get(r.json, "text")));
    h_resp_free(&r);
    free(body);
    return t;
}

static void contains(const char *text, const char *what)
{
    if (text == NULL || strstr(text, what) == NULL)
        fail_msg("no \"%s\" in: %.2000s", what, text ? text : "(null)");
}

static void every_command_through_the_signed_endpoint(void **state)
{
    world *w = *state;
    const char *env[] = {"FLIGHTDECK_SLACK_SIGNING_SECRET=" SLACK_SECRET, NULL};
    start(w, env);
    prepare(w);
    int64_t id[3];
    step_ids(w, id);
    char want[200], cmd[200];

    /* before the mapping: told how, nothing else */
    char *t = slash(w, "UALICE", "status msk", "ephemeral");
    contains(t, "not mapped");
    contains(t, "/api/chatops/users/UALICE");
    free(t);
    call(w, "PUT", "/api/chatops/users/UALICE", w->lead,
         "{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"engineer\"}", 403);
    call(w, "PUT", "/api/chatops/users/UALICE", w->admin,
         "{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"engineer\",\"teams\":[\"data-stream\"]}",
         200);
    call(w, "PUT", "/api/chatops/users/ULENA", w->admin,
         "{\"sub\":\"lena\",\"name\":\"Lena Lead\",\"role\":\"lead\",\"teams\":[\"data-stream\"]}",
         200);
    call(w, "GET", "/api/chatops/users/ULENA", w->admin, NULL, 200);
    call(w, "GET", "/api/chatops/users/UNOBODY", w->admin, NULL, 404);

    t = slash(w, "UALICE", "help", "ephemeral");
    contains(t, "/fd signoff &lt;migration&gt; &lt;stage&gt; go|no_go [comment]");
    free(t);

    t = slash(w, "UALICE", "status msk", "ephemeral");
    contains(t, "(msk) is in_flight, stage takeoff: 0 of 2 done");
    snprintf(want, sizeof want, "Tick: `/fd tick msk %lld`", (long long)id[0]);
    contains(t, want);
    free(t);

    t = slash(w, "UALICE", "next msk", "ephemeral");
    snprintf(want, sizeof want, "#%lld Announce\n#%lld Freeze deploys", (long long)id[0],
             (long long)id[1]);
    contains(t, want);
    free(t);

    snprintf(cmd, sizeof cmd, "tick msk #%lld announced in #data-stream", (long long)id[0]);
    t = slash(w, "UALICE", cmd, "in_channel");
    snprintf(want, sizeof want, "Alice ticked #%lld Announce in msk (announced in #data-stream).",
             (long long)id[0]);
    contains(t, want);
    free(t);
    snprintf(cmd, sizeof cmd, "tick msk %lld", (long long)id[0]);
    t = slash(w, "ULENA", cmd, "ephemeral");
    contains(t, "already ticked by Alice");
    free(t);

    snprintf(cmd, sizeof cmd, "skip msk %lld", (long long)id[1]);
    t = slash(w, "UALICE", cmd, "ephemeral");
    contains(t, "A skip needs a reason");
    free(t);
    snprintf(cmd, sizeof cmd, "skip msk %lld deploys already frozen by policy", (long long)id[1]);
    t = slash(w, "UALICE", cmd, "in_channel");
    contains(t, "Every step of stage takeoff is done: a lead can complete it.");
    free(t);

    /* the bots' view, over REST */
    h_resp r;
    h_req(&w->srv, "GET", "/api/migrations/msk/next", w->eng, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "open_steps")), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "next_stage"), "key")),
        "landing");
    h_resp_free(&r);

    /* sign-off: the landing stage asks data-stream for a go */
    call(w, "PATCH", "/api/migrations/msk/stages/landing", w->lead,
         "{\"signoffs\":[{\"team\":\"data-stream\",\"count\":1}]}", 200);
    t = slash(w, "UALICE", "signoff msk landing go consumers are ready", "in_channel");
    contains(t, "Alice gave GO for data-stream on stage landing of msk. The gate is satisfied.");
    free(t);
    call(w, "POST", "/api/migrations/msk/stages/takeoff/complete", w->lead, NULL, 200);

    /* go-around: a code, then the confirmation reaches the go-around feature */
    t = slash(w, "UALICE", "go-around msk lag", "ephemeral");
    contains(t, "only a lead can call a go-around");
    free(t);
    t = slash(w, "ULENA", "go-around msk consumers lagging", "ephemeral");
    const char *at = strstr(t, "go-around msk confirm ");
    assert_non_null(at);
    snprintf(cmd, sizeof cmd, "go-around msk confirm %.6s", at + strlen("go-around msk confirm "));
    free(t);
    t = slash(w, "ULENA", cmd, "ephemeral");
    contains(t, "has no rollback PR");
    contains(t, "Nothing was merged.");
    free(t);
    t = slash(w, "ULENA", cmd, "ephemeral");
    contains(t, "No go-around of msk is waiting");
    free(t);

    /* what the flight recorder says: the chat actions are the mapped people's, via the bot */
    h_req(&w->srv, "GET", "/api/migrations/msk/audit", w->lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    size_t i, bot = 0;
    json_t *ev;
    json_array_foreach(r.json, i, ev)
    {
        const char *source = json_string_value(json_object_get(ev, "source"));
        if (source != NULL && strcmp(source, "bot") == 0)
            bot++;
    }
    assert_int_equal(bot, 3); /* tick, skip, sign-off */
    h_resp_free(&r);
}

static void bad_stale_and_replayed_requests_are_refused(void **state)
{
    world *w = *state;
    const char *env[] = {"FLIGHTDECK_SLACK_SIGNING_SECRET=" SLACK_SECRET, NULL};
    start(w, env);
    prepare(w);
    call(w, "PUT", "/api/chatops/users/UALICE", w->admin,
         "{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"engineer\"}", 200);
    const char *body = "command=%2Ffd&user_id=UALICE&text=status+msk";
    h_resp r;
    slack_raw(w, body, "the-wrong-secret-0123456789", 0, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    slack_raw(w, body, SLACK_SECRET, -360, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    slack_raw(w, body, SLACK_SECRET, 360, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    h_req(&w->srv, "POST", "/api/chatops/slack", NULL, body, (size_t)-1, NULL, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);

    /* the same signed request twice: the second is a replay */
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    char *base = h_fmt("v0:%s:%s", ts, body), *mac = hmac_hex(SLACK_SECRET, base, strlen(base));
    char *h_ts = h_fmt("X-Slack-Request-Timestamp: %s", ts),
         *h_sig = h_fmt("X-Slack-Signature: v0=%s", mac);
    const char *hdrs[] = {h_ts, h_sig, NULL};
    h_req(&w->srv, "POST", "/api/chatops/slack", NULL, body, (size_t)-1, hdrs, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    h_req(&w->srv, "POST", "/api/chatops/slack", NULL, body, (size_t)-1, hdrs, &r);
    H_PROBLEM(&r, 401);
    if (strstr(json_string_value(json_object_get(r.json, "detail")), "replay") == NULL)
        fail_msg("the refusal should name the replay: %s", r.body);
    h_resp_free(&r);
    free(base);
    free(mac);
    free(h_ts);
    free(h_sig);
}

static void without_a_signing_secret_the_endpoint_is_off(void **state)
{
    world *w = *state;
    start(w, NULL);
    h_resp r;
    slack_raw(w, "user_id=U1&text=help", SLACK_SECRET, 0, &r);
    H_PROBLEM(&r, 503);
    h_resp_free(&r);
}

/* ---- webhooks ---- */

/* The delivery log of webhook `id` (owned page). */
static json_t *deliveries(world *w, const char *id)
{
    char *path = h_fmt("/api/webhooks/%s/deliveries", id);
    h_resp r;
    h_req(&w->srv, "GET", path, w->admin, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *page = json_incref(r.json);
    h_resp_free(&r);
    free(path);
    return page;
}

static void deliveries_retry_survive_a_restart_and_arrive_signed(void **state)
{
    world *w = *state;
    wh_sink *sink = wh_sink_start(3); /* 500, 500, 500, then 200 */
    assert_non_null(sink);
    const char *env[] = {"FLIGHTDECK_WEBHOOK_BACKOFF_MS=400", NULL};
    start(w, env);
    prepare(w);
    int64_t id[3];
    step_ids(w, id);

    char *body = h_fmt("{\"url\":\"%s\",\"secret\":\"" HOOK_SECRET "\",\"events\":[\"step.*\"],"
                       "\"migration\":\"msk\"}",
                       wh_sink_url(sink));
    h_resp r;
    h_req(&w->srv, "POST", "/api/webhooks", w->admin, body, (size_t)-1, NULL, &r);
    H_EXPECT(&r, 201);
    free(body);
    char hook[24];
    snprintf(hook, sizeof hook, "%lld",
             (long long)json_integer_value(json_object_get(r.json, "id")));
    assert_true(json_is_true(json_object_get(r.json, "has_secret")));
    if (strstr(r.body, HOOK_SECRET) != NULL)
        fail_msg("the secret came back: %s", r.body);
    if (h_hdr(&r, "Location") == NULL)
        fail_msg("no Location");
    h_resp_free(&r);
    call(w, "POST", "/api/webhooks", w->eng, "{\"url\":\"http://x.example\",\"events\":[\"*\"]}",
         403);
    call(w, "POST", "/api/webhooks", w->admin,
         "{\"url\":\"http://x.example\",\"secret\":\"" HOOK_SECRET "\",\"events\":[\"St*\"]}", 422);

    char *path = h_fmt("/api/migrations/msk/steps/%lld/tick", (long long)id[0]);
    call(w, "POST", path, w->eng, NULL, 200);
    free(path);

    /* the first attempt fails; stop flightdeck in the middle of the retries */
    if (wh_sink_wait(sink, 1, 20000) < 1)
        fail_msg("no delivery arrived");
    if (h_stop(&w->srv, SIGTERM, 5000) != 0 || w->srv.exit_code != 0)
        fail_msg("the server did not stop cleanly (exit %d)", w->srv.exit_code);
    int before_restart = wh_sink_count(sink);
    assert_true(before_restart < 4);

    /* a new process on the same database picks the pending delivery up and keeps trying */
    start(w, env);
    if (wh_sink_wait(sink, 4, 30000) < 4) {
        h_dump_logs(&w->srv);
        fail_msg("only %d deliveries arrived", wh_sink_count(sink));
    }

    /* every attempt carried the same event id and body, signed with the secret */
    wh_request first, q;
    assert_int_equal(wh_sink_get(sink, 0, &first), 0);
    json_t *ev = json_loads(first.body, 0, NULL);
    assert_non_null(ev);
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(ev, "seq")));
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "step.tick");
    json_decref(ev);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(wh_sink_get(sink, i, &q), 0);
        assert_string_equal(q.event_id, seq);
        assert_string_equal(q.event, "step.tick");
        assert_string_equal(q.body, first.body);
        char *mac = hmac_hex(HOOK_SECRET, q.body, strlen(q.body));
        char *sig = h_fmt("sha256=%s", mac);
        assert_string_equal(q.signature, sig);
        free(mac);
        free(sig);
        assert_int_equal(q.answered, i < 3 ? 500 : 200);
        wh_request_free(&q);
    }
    wh_request_free(&first);

    /* the log: delivered after four attempts, the three failures with their status */
    json_t *page = NULL;
    for (int tries = 0; tries < 200; tries++) { /* the last result is recorded after the answer */
        json_decref(page);
        page = deliveries(w, hook);
        json_t *d = json_array_get(json_object_get(page, "items"), 0);
        if (strcmp(json_string_value(json_object_get(d, "status")), "delivered") == 0)
            break;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    json_t *d = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "status")), "delivered");
    assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 4);
    json_t *log = json_object_get(d, "attempt_log");
    assert_int_equal(json_array_size(log), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(log, 0), "http_status")),
                     500);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(log, 3), "http_status")),
                     200);
    json_decref(page);

    call(w, "DELETE", "/api/webhooks/99999", w->admin, NULL, 404);
    char *hp = h_fmt("/api/webhooks/%s", hook);
    call(w, "GET", hp, w->admin, NULL, 200);
    call(w, "DELETE", hp, w->admin, NULL, 204);
    call(w, "GET", hp, w->admin, NULL, 404);
    free(hp);
    wh_sink_stop(sink);
}

/* ---- the record after landing ---- */

static char *write_temp(world *w, const char *name, const char *data, size_t len)
{
    char *path = h_fmt("%s/%s", w->srv.dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static void report_archive_verify_and_export(void **state)
{
    world *w = *state;
    start(w, NULL);
    prepare(w);
    int64_t id[3];
    step_ids(w, id);
    char *p0 = h_fmt("/api/migrations/msk/steps/%lld/tick", (long long)id[0]);
    char *p1 = h_fmt("/api/migrations/msk/steps/%lld/skip", (long long)id[1]);
    char *p2 = h_fmt("/api/migrations/msk/steps/%lld/tick", (long long)id[2]);
    call(w, "POST", p0, w->eng, "{\"note\":\"<script>alert(1)</script>\"}", 200);
    call(w, "POST", p1, w->eng, "{\"reason\":\"frozen by policy\"}", 200);
    call(w, "POST", "/api/migrations/msk/stages/takeoff/complete", w->lead, NULL, 200);
    call(w, "POST", p2, w->eng, NULL, 200);
    call(w, "POST", "/api/migrations/msk/stages/landing/complete", w->lead, NULL, 200);
    free(p0);
    free(p1);
    free(p2);

    h_resp r;
    h_req(&w->srv, "GET", "/api/migrations/msk/report", w->eng, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    contains(h_hdr(&r, "Content-Type"), "text/html");
    contains(h_hdr(&r, "Content-Security-Policy"), "default-src 'none'");
    contains(r.body, "Replace &lt;the&gt; MSK cluster");
    contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;");
    if (strstr(r.body, "<script>") != NULL)
        fail_msg("the report carries a script");
    contains(r.body, "frozen by policy");
    contains(r.body, "<td>Alice</td>");
    contains(r.body, "The audit chain is intact");
    h_resp_free(&r);
    call(w, "GET", "/api/migrations/nope/report", w->eng, NULL, 404);

    h_req(&w->srv, "GET", "/api/migrations/msk/archive", w->eng, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    contains(h_hdr(&r, "Content-Disposition"), "msk-archive.json");
    json_t *doc = json_loadb(r.body, r.len, 0, NULL);
    assert_non_null(doc);
    size_t events = json_array_size(json_object_get(doc, "events"));
    assert_int_equal(events, h_audit_count(&w->srv, w->eng, MID));
    char *good = write_temp(w, "archive.json", r.body, r.len);
    h_resp_free(&r);

    /* offline: intact, then a reason rewritten after the fact */
    const char *vargs[] = {"verify", good, NULL};
    char *out = NULL;
    assert_int_equal(h_run(vargs, NULL, &out, NULL), 0);
    contains(out, "\"ok\": true");
    free(out);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(doc, "events"), i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "action")), "step.skip") == 0)
            json_object_set_new(ev, "note", json_string("it was all fine"));
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    char *bad = write_temp(w, "tampered.json", text, strlen(text));
    const char *bargs[] = {"verify", bad, NULL};
    assert_int_equal(h_run(bargs, NULL, &out, NULL), 1);
    contains(out, "hash mismatch");
    free(out);
    free(text);
    json_decref(doc);

    /* the server stops; the record can still be taken from the database */
    if (h_stop(&w->srv, SIGTERM, 5000) != 0)
        fail_msg("the server did not stop");
    const char *ea[] = {"export", MID, "--format", "archive", "--db", w->srv.db, NULL};
    assert_int_equal(h_run(ea, NULL, &out, NULL), 0);
    char *exported = write_temp(w, "exported.json", out, strlen(out));
    free(out);
    const char *ev_args[] = {"verify", exported, NULL};
    assert_int_equal(h_run(ev_args, NULL, &out, NULL), 0);
    free(out);

    const char *en[] = {"export", MID, "--format", "ndjson", "--db", w->srv.db, NULL};
    assert_int_equal(h_run(en, NULL, &out, NULL), 0);
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, events);
    free(out);
    const char *ec[] = {"export", MID, "--format", "csv", "--db", w->srv.db, NULL};
    assert_int_equal(h_run(ec, NULL, &out, NULL), 0);
    contains(out, "seq,at,migration,actor_sub");
    free(out);
    const char *er[] = {"export", MID, "--format", "report", "--db", w->srv.db, NULL};
    assert_int_equal(h_run(er, NULL, &out, NULL), 0);
    contains(out, "<h2>Skipped steps</h2>");
    free(out);
    const char *missing[] = {"export", "nope", "--format", "csv", "--db", w->srv.db, NULL};
    assert_int_equal(h_run(missing, NULL, NULL, NULL), 3);
    const char *usage[] = {"export", MID, "--format", "pdf", "--db", w->srv.db, NULL};
    assert_int_equal(h_run(usage, NULL, NULL, NULL), 2);
    free(good);
    free(bad);
    free(exported);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_command_through_the_signed_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_stale_and_replayed_requests_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(without_a_signing_secret_the_endpoint_is_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(deliveries_retry_survive_a_restart_and_arrive_signed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(report_archive_verify_and_export, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
