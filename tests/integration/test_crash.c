/*
 * test_crash.c - kill -9 under load: nothing acknowledged is lost, nothing is half-applied.
 *
 * 16 clients (threads, one keep-alive connection each, two clients per step) tick and untick
 * steps of one migration as fast as the server answers, while the test kills the server with
 * SIGKILL at random moments (50-400 ms apart, at least 20 times) and restarts it on the same
 * database and port. Every request carries its own X-Request-Id and the same value as
 * Idempotency-Key (so a request curl resends on a fresh connection cannot apply twice). Each
 * client records every answer: 200 = acknowledged (with the resulting step version and status),
 * 409 = refused (known not applied), no answer = unknown (may or may not have committed).
 * While the clients still run, `flightdeck backup` copies the live database and verifies it.
 *
 * Afterwards, read back through the API and the command line:
 *   - every acknowledged request id is in the audit export exactly once, with the version and
 *     status the client was told; no refused request id is there; every step event's request
 *     id is one a client sent (acknowledged, or unknown and committed);
 *   - per step, the events chain version to version without a hole (before = previous after),
 *     and the last event's `after` equals the step as stored: no change without its event and
 *     no event without its change;
 *   - the export's hash chain recomputes, `flightdeck audit verify` passes, and the event stream
 *     replayed from 0 gives exactly the export's seqs in order.
 *
 * The database runs with synchronous=FULL, so a killed process loses nothing that was fsync'd.
 * Power loss (the disk's cache) is out of scope: kill -9 cannot test it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MID "crash"
#define CLIENTS 16
#define NSTEPS 8
#define KILLS 24
#define KILL_MIN_MS 50
#define KILL_MAX_MS 400

typedef enum outcome { O_ACKED, O_REFUSED, O_UNKNOWN, O_UNEXPECTED } outcome;

typedef struct rec {
    char rid[32];
    int step; /* index into g_sids */
    outcome out;
    long status;        /* HTTP status, 0 = no answer */
    int refused_conn;   /* no answer because the server was down (connection refused) */
    json_int_t version; /* acknowledged: the step's version after the action */
    char st[24];        /* acknowledged: the step's status after the action */
} rec;

typedef struct client {
    int id;
    pthread_t th;
    char *token;
    rec *recs;
    size_t nrecs, cap;
    char body[8192];
    size_t blen;
} client;

static h_server g_srv;
static char *g_admin, *g_lead;
static int64_t g_sids[NSTEPS];
static client g_clients[CLIENTS];
static atomic_int g_stop;
static char g_listen[64];

static const char *const g_env[] = {"FLIGHTDECK_RATE_LIMIT=0", NULL};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* (Re)start the server on the same database and port; the test fails when it does not come up. */
static void start_server(void)
{
    const char *extra[] = {"--listen", g_listen, NULL};
    for (int attempt = 0; attempt < 3; attempt++) {
        if (h_start(&g_srv, extra, g_env) == 0)
            return;
        sleep_ms(100); /* the port may still be held for a moment */
    }
    h_dump_logs(&g_srv);
    fail_msg("the server did not restart on %s (exit %d)", g_listen, g_srv.exit_code);
}

/* ---- the clients ------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    client *c = arg;
    size_t add = size * n;
    if (c->blen + add < sizeof c->body) {
        memcpy(c->body + c->blen, data, add);
        c->blen += add;
        c->body[c->blen] = '\0';
    }
    return add;
}

static rec *new_rec(client *c)
{
    if (c->nrecs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4096;
        c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
        if (c->recs == NULL)
            abort();
    }
    rec *r = &c->recs[c->nrecs++];
    memset(r, 0, sizeof *r);
    return r;
}

static void *client_main(void *arg)
{
    client *c = arg;
    int step = c->id % NSTEPS, done = 0, n = 0;
    CURL *curl = curl_easy_init();
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);

    while (!atomic_load(&g_stop)) {
        rec *r = new_rec(c);
        r->step = step;
        snprintf(r->rid, sizeof r->rid, "crash-c%02d-%07d", c->id, n++);
        char url[256], rid_hdr[64], key_hdr[64];
        snprintf(url, sizeof url, "%s/api/migrations/" MID "/steps/%lld/%s", g_srv.base,
                 (long long)g_sids[step], done ? "untick" : "tick");
        snprintf(rid_hdr, sizeof rid_hdr, "X-Request-Id: %s", r->rid);
        snprintf(key_hdr, sizeof key_hdr, "Idempotency-Key: %s", r->rid);
        struct curl_slist *hdrs = curl_slist_append(NULL, auth);
        hdrs = curl_slist_append(hdrs, rid_hdr);
        hdrs = curl_slist_append(hdrs, key_hdr);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
        c->blen = 0;
        c->body[0] = '\0';
        CURLcode res = curl_easy_perform(curl);
        curl_slist_free_all(hdrs);
        long status = 0;
        if (res == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        r->status = status;

        json_t *doc = status != 0 ? json_loadb(c->body, c->blen, 0, NULL) : NULL;
        if (status == 200 && doc != NULL) {
            r->out = O_ACKED;
            r->version = json_integer_value(json_object_get(doc, "version"));
            const char *st = json_string_value(json_object_get(doc, "status"));
            snprintf(r->st, sizeof r->st, "%s", st != NULL ? st : "");
            done = strcmp(r->st, "done") == 0;
        } else if (status == 409) {
            r->out = O_REFUSED;
            const char *cur =
                json_string_value(json_object_get(json_object_get(doc, "current"), "status"));
            done = cur != NULL ? strcmp(cur, "done") == 0 : !done;
        } else if (status == 0) {
            /* killed mid-request, or down. Even "connection refused" may follow a send on the
             * old connection that curl retried, so it too may or may not have committed. */
            r->out = O_UNKNOWN;
            r->refused_conn = res == CURLE_COULDNT_CONNECT;
            done = !done; /* a guess; a wrong one costs one 409 */
            sleep_ms(5);
        } else {
            r->out = O_UNEXPECTED;
            snprintf(r->st, sizeof r->st, "%.23s", c->body);
        }
        json_decref(doc);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* ---- the event stream, replayed from 0 ---------------------------------------------------- */

typedef struct stream {
    int fd;
    char *raw;
    size_t rawlen, rawcap, pos, hdr_end;
    char *body;
    size_t len, cap;
} stream;

static void put(char **p, size_t *len, size_t *cap, const char *d, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *p = realloc(*p, *cap);
        assert_non_null(*p);
    }
    memcpy(*p + *len, d, n);
    *len += n;
    (*p)[*len] = '\0';
}

/* Decode the chunked framing that has arrived into s->body. */
static void dechunk(stream *s)
{
    for (;;) {
        char *line_end = memmem(s->raw + s->pos, s->rawlen - s->pos, "\r\n", 2);
        if (line_end == NULL)
            return;
        size_t n = strtoul(s->raw + s->pos, NULL, 16);
        size_t start = (size_t)(line_end - s->raw) + 2;
        if (n == 0 || s->rawlen < start + n + 2)
            return;
        put(&s->body, &s->len, &s->cap, s->raw + start, n);
        s->pos = start + n + 2;
    }
}

/* Every event of the migration from seq 0 on, as the hub replays them: their ids in order.
 * Reads until the event with id `last` arrived; fails the test after 30 s. */
static json_int_t *replay_ids(json_int_t last, size_t *count)
{
    stream s = {.fd = h_raw_connect(&g_srv)};
    assert_true(s.fd >= 0);
    char *req = h_fmt("GET /api/migrations/" MID "/events?after=0 HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                      g_lead);
    assert_int_equal(h_raw_send(s.fd, req, strlen(req)), 0);
    free(req);
    char want[64];
    snprintf(want, sizeof want, "id: %lld\nevent: ", (long long)last);
    int64_t end = mono_ms() + 30000;
    char buf[65536];
    while (mono_ms() < end && (s.body == NULL || strstr(s.body, want) == NULL)) {
        struct pollfd pfd = {s.fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = recv(s.fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        put(&s.raw, &s.rawlen, &s.rawcap, buf, (size_t)n);
        if (s.hdr_end == 0) {
            char *h = memmem(s.raw, s.rawlen, "\r\n\r\n", 4);
            if (h == NULL)
                continue;
            assert_int_equal(strncmp(s.raw, "HTTP/1.1 200", 12), 0);
            s.hdr_end = s.pos = (size_t)(h - s.raw) + 4;
        }
        dechunk(&s);
    }
    close(s.fd);
    if (s.body == NULL || strstr(s.body, want) == NULL)
        fail_msg("the event stream did not replay up to seq %lld", (long long)last);

    /* blocks with an event: line and an id: line are audit events (presence has no id) */
    json_int_t *ids = NULL;
    size_t nids = 0, cap = 0;
    char *p = s.body, *blk_end;
    while ((blk_end = strstr(p, "\n\n")) != NULL) {
        *blk_end = '\0';
        char *id = strncmp(p, "id: ", 4) == 0 ? p : strstr(p, "\nid: ");
        char *ev = strncmp(p, "event: ", 7) == 0 ? p : strstr(p, "\nevent: ");
        if (id != NULL && ev != NULL && strstr(ev, "event: presence") == NULL) {
            if (nids == cap) {
                cap = cap ? cap * 2 : 1024;
                ids = realloc(ids, cap * sizeof *ids);
            }
            ids[nids++] = strtoll(id + (id[0] == '\n' ? 5 : 4), NULL, 10);
        }
        p = blk_end + 2;
    }
    free(s.raw);
    free(s.body);
    *count = nids;
    return ids;
}

/* ---- the test ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    h_init();
    if (h_server_init(&g_srv) != 0 || h_start(&g_srv, NULL, g_env) != 0) {
        h_dump_logs(&g_srv);
        h_destroy(&g_srv);
        return -1;
    }
    snprintf(g_listen, sizeof g_listen, "127.0.0.1:%d", g_srv.port);
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_lead = h_token("lena", "Lena Lead", "lead", "data-stream");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_srv.pid > 0 && h_stop(&g_srv, SIGTERM, 5000) != 0)
        fprintf(stderr, "server did not stop within 5 s\n");
    h_destroy(&g_srv);
    for (int i = 0; i < CLIENTS; i++) {
        free(g_clients[i].token);
        free(g_clients[i].recs);
    }
    free(g_admin);
    free(g_lead);
    return 0;
}

static void create_flight(void)
{
    h_create_demo_teams(&g_srv, g_admin);
    json_t *steps = json_array();
    for (int i = 0; i < NSTEPS; i++)
        json_array_append_new(steps, json_pack("{s:s}", "title", "Crash step"));
    json_t *plan = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:o}]}", "id", MID, "title",
                             "Crash drill", "owner_team", "data-stream", "stages", "key", "takeoff",
                             "title", "Take-off", "steps", steps);
    h_resp r;
    h_req_json(&g_srv, "POST", "/api/migrations", g_lead, plan, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    json_decref(plan);
    h_req(&g_srv, "POST", "/api/migrations/" MID "/start", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    json_t *m = h_get_migration(&g_srv, g_lead, MID);
    for (int i = 0; i < NSTEPS; i++)
        g_sids[i] = h_step_id(m, "takeoff", (size_t)i);
    json_decref(m);
}

static int step_index(const char *target)
{
    long long sid = target != NULL && strncmp(target, "steps/", 6) == 0 ? atoll(target + 6) : -1;
    for (int i = 0; i < NSTEPS; i++)
        if (g_sids[i] == sid)
            return i;
    return -1;
}

static int cmp_rid(const void *a, const void *b)
{
    return strcmp(((const rec *const *)a)[0]->rid, ((const rec *const *)b)[0]->rid);
}

static const rec *find_rec(rec **sorted, size_t n, const char *rid)
{
    rec key, *kp = &key;
    snprintf(key.rid, sizeof key.rid, "%s", rid);
    rec **hit = bsearch(&kp, sorted, n, sizeof *sorted, cmp_rid);
    return hit != NULL ? *hit : NULL;
}

static void test_kill_nine_loses_nothing_acknowledged(void **state)
{
    (void)state;
    create_flight();
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    int64_t t0 = mono_ms();

    char *copy = h_fmt("%s/backup.db", g_srv.dir);
    for (int i = 0; i < CLIENTS; i++) {
        char sub[32];
        snprintf(sub, sizeof sub, "pilot-%02d", i);
        g_clients[i].id = i;
        g_clients[i].token = h_token(sub, sub, "lead", "data-stream");
    }
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_create(&g_clients[i].th, NULL, client_main, &g_clients[i]), 0);

    int kills = 0;
    for (; kills < KILLS; kills++) {
        sleep_ms(KILL_MIN_MS + rand() % (KILL_MAX_MS - KILL_MIN_MS + 1));
        assert_int_equal(h_stop(&g_srv, SIGKILL, 5000), 0);
        assert_int_equal(g_srv.exit_code, 128 + SIGKILL);
        start_server();
    }
    /* a backup of the live database while the clients still write */
    sleep_ms(200);
    const char *bargs[] = {"backup", copy, "--db", g_srv.db, NULL};
    char *bout = NULL, *berr = NULL;
    int brc = h_run(bargs, NULL, &bout, &berr);
    sleep_ms(100);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(g_clients[i].th, NULL);
    if (brc != 0)
        fail_msg("flightdeck backup exited %d while serving:\n%s\n%s", brc, bout, berr);
    assert_non_null(strstr(bout, "intact"));
    free(bout);
    free(berr);

    /* what the clients were told */
    size_t total = 0, acked = 0, refused = 0, unknown = 0, down = 0;
    for (int i = 0; i < CLIENTS; i++)
        total += g_clients[i].nrecs;
    rec **all = calloc(total, sizeof *all);
    size_t k = 0;
    for (int i = 0; i < CLIENTS; i++) {
        for (size_t j = 0; j < g_clients[i].nrecs; j++) {
            rec *r = &g_clients[i].recs[j];
            all[k++] = r;
            acked += r->out == O_ACKED;
            refused += r->out == O_REFUSED;
            unknown += r->out == O_UNKNOWN;
            down += r->out == O_UNKNOWN && r->refused_conn;
            if (r->out == O_UNEXPECTED)
                fail_msg("request %s got HTTP %ld: %s", r->rid, r->status, r->st);
        }
    }
    qsort(all, total, sizeof *all, cmp_rid);
    assert_true(acked > 0);

    /* what the flight recorder holds */
    h_resp r;
    h_req(&g_srv, "GET", "/api/migrations/" MID "/audit?format=json", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *events = json_loadb(r.body, r.len, 0, NULL);
    h_resp_free(&r);
    assert_true(json_is_array(events));
    h_check_chain(events, NULL);

    json_int_t last_version[NSTEPS];
    const json_t *last_after[NSTEPS];
    for (int i = 0; i < NSTEPS; i++) {
        last_version[i] = -1;
        last_after[i] = NULL;
    }
    size_t matched = 0, committed_unacked = 0, i;
    json_t *ev;
    char *seen = calloc(total, 1);
    json_array_foreach(events, i, ev)
    {
        const char *action = json_string_value(json_object_get(ev, "action"));
        if (strcmp(action, "step.tick") != 0 && strcmp(action, "step.untick") != 0)
            continue;
        int si = step_index(json_string_value(json_object_get(ev, "target")));
        assert_true(si >= 0);
        const json_t *before = json_object_get(ev, "before");
        const json_t *after = json_object_get(ev, "after");
        json_int_t bv = json_integer_value(json_object_get(before, "version"));
        json_int_t av = json_integer_value(json_object_get(after, "version"));
        /* versions chain: each event starts where the previous one of its step ended */
        if (last_version[si] >= 0 && bv != last_version[si])
            fail_msg("step %d: event seq %lld starts at version %lld, the previous ended at %lld",
                     si, (long long)json_integer_value(json_object_get(ev, "seq")), (long long)bv,
                     (long long)last_version[si]);
        assert_int_equal(av, bv + 1);
        last_version[si] = av;
        last_after[si] = after;

        const char *rid = json_string_value(json_object_get(ev, "request_id"));
        const rec *rc = rid != NULL ? find_rec(all, total, rid) : NULL;
        if (rc == NULL)
            fail_msg("event seq %lld has request id %s, which no client sent",
                     (long long)json_integer_value(json_object_get(ev, "seq")),
                     rid ? rid : "(none)");
        rec **slot = bsearch(&rc, all, total, sizeof *all, cmp_rid);
        size_t pos = (size_t)(slot - all);
        if (seen[pos])
            fail_msg("request %s was applied twice", rid);
        seen[pos] = 1;
        if (rc->out == O_REFUSED)
            fail_msg("request %s was refused with 409 but is in the audit log", rid);
        assert_int_equal(rc->step, si);
        if (rc->out == O_ACKED) {
            if (rc->version != av ||
                strcmp(rc->st, json_string_value(json_object_get(after, "status"))) != 0)
                fail_msg("request %s: told version %lld %s, the log says %lld %s", rid,
                         (long long)rc->version, rc->st, (long long)av,
                         json_string_value(json_object_get(after, "status")));
            matched++;
        } else {
            committed_unacked++;
        }
    }
    /* every acknowledged action is there */
    if (matched != acked) {
        for (size_t j = 0; j < total; j++)
            if (all[j]->out == O_ACKED && !seen[j])
                fail_msg("acknowledged request %s (version %lld, %s) is not in the audit log",
                         all[j]->rid, (long long)all[j]->version, all[j]->st);
    }
    assert_int_equal(matched, acked);

    /* each step as stored is what its last event says: nothing half-applied */
    json_t *m = h_get_migration(&g_srv, g_lead, MID);
    for (int s = 0; s < NSTEPS; s++) {
        json_t *stage = json_array_get(json_object_get(m, "stages"), 0);
        json_t *step = json_array_get(json_object_get(stage, "steps"), (size_t)s);
        assert_int_equal(json_integer_value(json_object_get(step, "id")), g_sids[s]);
        if (last_after[s] == NULL)
            continue; /* never changed */
        assert_int_equal(json_integer_value(json_object_get(step, "version")),
                         json_integer_value(json_object_get(last_after[s], "version")));
        assert_string_equal(json_string_value(json_object_get(step, "status")),
                            json_string_value(json_object_get(last_after[s], "status")));
    }
    json_decref(m);

    /* the event stream replays from 0 exactly what the export holds */
    size_t nevents = json_array_size(events), nids = 0;
    json_int_t last_seq =
        json_integer_value(json_object_get(json_array_get(events, nevents - 1), "seq"));
    json_int_t *ids = replay_ids(last_seq, &nids);
    if (nids != nevents)
        fail_msg("the stream replayed %zu events, the export holds %zu", nids, nevents);
    json_array_foreach(events, i, ev)
    {
        if (ids[i] != json_integer_value(json_object_get(ev, "seq")))
            fail_msg("stream event %zu has seq %lld, the export %lld", i, (long long)ids[i],
                     (long long)json_integer_value(json_object_get(ev, "seq")));
    }
    free(ids);

    /* a clean stop, then the offline verifier on the database and on the backup */
    assert_int_equal(h_stop(&g_srv, SIGTERM, 10000), 0);
    assert_int_equal(g_srv.exit_code, 0);
    const char *vargs[] = {"audit", "verify", MID, "--db", g_srv.db, NULL};
    const char *gargs[] = {"audit", "verify", "--global", "--db", g_srv.db, NULL};
    const char *cargs[] = {"audit", "verify", MID, "--db", copy, NULL};
    char *out = NULL;
    int vrc = h_run(vargs, NULL, &out, NULL);
    if (vrc != 0)
        fail_msg("flightdeck audit verify " MID " exited %d: %s", vrc, out);
    free(out);
    assert_int_equal(h_run(gargs, NULL, NULL, NULL), 0);
    assert_int_equal(h_run(cargs, NULL, NULL, NULL), 0);
    /* a backup never overwrites: the same file again is refused, and the copy is untouched */
    char *berr2 = NULL;
    assert_int_equal(h_run(bargs, NULL, NULL, &berr2), 3);
    assert_non_null(strstr(berr2, "already exists"));
    free(berr2);
    assert_int_equal(h_run(cargs, NULL, NULL, NULL), 0);

    print_message("crash: %d kills in %.1f s (seed %u); %zu requests: %zu acknowledged, %zu "
                  "refused (409), %zu unanswered (%zu while the server was down; %zu of the "
                  "others had committed); %zu audit events verified, stream replay matches\n",
                  kills, (double)(mono_ms() - t0) / 1000.0, seed, total, acked, refused, unknown,
                  down, committed_unacked, nevents);
    free(seen);
    free(all);
    free(copy);
    json_decref(events);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_nine_loses_nothing_acknowledged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
