/*
 * test_events.c - the live event streams over real HTTP: a tick reaches a browser-like client,
 * a reconnect with Last-Event-ID gets exactly what it missed, presence follows people joining and
 * leaving, a client that stops reading is cut off with a resync, and SIGTERM ends every stream.
 *
 * The stream client here is a raw socket speaking HTTP/1.1 (chunked), reading with a deadline,
 * as EventSource does. Deadlines only bound how long a test may wait; nothing asserts on time.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

static h_server g_srv;
static char *g_admin, *g_lead, *g_alice, *g_bob;

/* ---- a stream client ---------------------------------------------------------------------- */

typedef struct sse {
    int fd;
    int status;
    char *raw; /* bytes as received */
    size_t rawlen, rawcap;
    size_t pos; /* decoding position in raw (after the headers) */
    int chunked;
    int ended;  /* the terminating chunk (or EOF) was seen */
    char *body; /* the decoded event-stream text */
    size_t len, cap;
    char headers[4096];
} sse;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void grow(char **p, size_t *cap, size_t need)
{
    if (need + 1 <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need + 1)
        c *= 2;
    *p = realloc(*p, c);
    assert_non_null(*p);
    *cap = c;
}

static void body_put(sse *s, const char *d, size_t n)
{
    grow(&s->body, &s->cap, s->len + n);
    memcpy(s->body + s->len, d, n);
    s->len += n;
    s->body[s->len] = '\0';
}

/* Decode what has arrived: chunked framing into body. */
static void decode(sse *s)
{
    if (!s->chunked) {
        body_put(s, s->raw + s->pos, s->rawlen - s->pos);
        s->pos = s->rawlen;
        return;
    }
    while (!s->ended) {
        char *line_end = memmem(s->raw + s->pos, s->rawlen - s->pos, "\r\n", 2);
        if (line_end == NULL)
            return;
        size_t n = strtoul(s->raw + s->pos, NULL, 16);
        size_t start = (size_t)(line_end - s->raw) + 2;
        if (s->rawlen < start + n + 2)
            return;
        if (n == 0) {
            s->ended = 1;
            return;
        }
        body_put(s, s->raw + start, n);
        s->pos = start + n + 2;
    }
}

/* Read whatever arrives within `ms`. 0 when something came, -1 on timeout, 1 at EOF. */
static int sse_pump(sse *s, int ms)
{
    struct pollfd pfd = {s->fd, POLLIN, 0};
    int pr = poll(&pfd, 1, ms);
    if (pr <= 0)
        return -1;
    grow(&s->raw, &s->rawcap, s->rawlen + 65536);
    ssize_t n = recv(s->fd, s->raw + s->rawlen, 65536, 0);
    if (n <= 0) {
        s->ended = 1;
        return 1;
    }
    s->rawlen += (size_t)n;
    s->raw[s->rawlen] = '\0';
    if (s->status == 0) {
        char *h = memmem(s->raw, s->rawlen, "\r\n\r\n", 4);
        if (h == NULL)
            return 0;
        size_t hl = (size_t)(h - s->raw) + 4;
        snprintf(s->headers, sizeof(s->headers), "%.*s", (int)hl, s->raw);
        for (char *p = s->headers; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        s->status = (int)strtol(s->raw + 9, NULL, 10);
        s->chunked = strstr(s->headers, "transfer-encoding: chunked") != NULL;
        s->pos = hl;
    }
    decode(s);
    return 0;
}

/* Connect (with a receive buffer of `rcvbuf` bytes when > 0) and send the request. */
static sse *sse_connect(const char *path, const char *token, const char *last_event_id, int rcvbuf)
{
    sse *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    if (rcvbuf > 0)
        assert_int_equal(setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_srv.port)};
    assert_int_equal(inet_pton(AF_INET, g_srv.host, &sa.sin_addr), 1);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char *req =
        h_fmt("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
              "%s%s%s%s%s%s\r\n",
              path, g_srv.host, g_srv.port, token ? "Authorization: Bearer " : "",
              token ? token : "", token ? "\r\n" : "", last_event_id ? "Last-Event-ID: " : "",
              last_event_id ? last_event_id : "", last_event_id ? "\r\n" : "");
    assert_int_equal(h_raw_send(s->fd, req, strlen(req)), 0);
    free(req);
    return s;
}

/* Open a stream and wait for its first block (": flightdeck"). Fails the test unless 200. */
static sse *sse_open(const char *path, const char *token, const char *last_event_id)
{
    sse *s = sse_connect(path, token, last_event_id, 0);
    int64_t end = now_ms() + WAIT_MS;
    while ((s->body == NULL || strstr(s->body, ": flightdeck\n") == NULL) && !s->ended &&
           now_ms() < end)
        sse_pump(s, 100);
    if (s->status != 200)
        fail_msg("stream %s: HTTP %d\n%s", path, s->status, s->raw ? s->raw : "");
    assert_non_null(strstr(s->headers, "content-type: text/event-stream"));
    assert_non_null(strstr(s->headers, "cache-control: no-store"));
    return s;
}

static void sse_close(sse *s)
{
    if (s->fd >= 0)
        close(s->fd);
    free(s->raw);
    free(s->body);
    free(s);
}

typedef struct event {
    long long id; /* -1 when the block had no id */
    char name[64];
    json_t *data;
} event;

/* The dispatched events in the body so far (blocks with an event: line); *n set. */
static event *sse_events(sse *s, int *n)
{
    event *list = NULL;
    int count = 0;
    const char *p = s->body ? s->body : "";
    const char *end;
    while ((end = strstr(p, "\n\n")) != NULL) {
        event e = {.id = -1};
        char *data = NULL;
        size_t dlen = 0;
        for (const char *line = p; line <= end;) {
            const char *nl = strchr(line, '\n');
            size_t len = (size_t)(nl - line);
            if (len > 4 && strncmp(line, "id: ", 4) == 0)
                e.id = strtoll(line + 4, NULL, 10);
            else if (len > 7 && strncmp(line, "event: ", 7) == 0)
                snprintf(e.name, sizeof(e.name), "%.*s", (int)(len - 7), line + 7);
            else if (len >= 6 && strncmp(line, "data: ", 6) == 0) {
                data = realloc(data, dlen + len);
                memcpy(data + dlen, line + 6, len - 6);
                dlen += len - 6;
                data[dlen] = '\0';
            }
            line = nl + 1;
        }
        if (e.name[0] != '\0') {
            e.data = data ? json_loads(data, 0, NULL) : NULL;
            list = realloc(list, sizeof(*list) * (size_t)(count + 1));
            list[count++] = e;
        }
        free(data);
        p = end + 2;
    }
    *n = count;
    return list;
}

static void events_free(event *list, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(list[i].data);
    free(list);
}

static int count_named(sse *s, const char *name)
{
    int n, c = 0;
    event *ev = sse_events(s, &n);
    for (int i = 0; i < n; i++)
        c += strcmp(ev[i].name, name) == 0;
    events_free(ev, n);
    return c;
}

/* Wait until the stream holds at least `want` events called `name`; fails the test otherwise. */
static void wait_events(sse *s, const char *name, int want)
{
    int64_t end = now_ms() + WAIT_MS;
    while (count_named(s, name) < want && !s->ended && now_ms() < end)
        sse_pump(s, 100);
    if (count_named(s, name) < want)
        fail_msg("waited for %d %s events, have %d; stream:\n%s", want, name, count_named(s, name),
                 s->body ? s->body : "");
}

/* ---- the migration under test ------------------------------------------------------------ */

static void make_migration(const char *mid, int start)
{
    json_t *plan =
        json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:[{s:s},{s:s},{s:s},{s:s},{s:s}]}]}", "id", mid,
                  "title", "Event test", "owner_team", "data-stream", "stages", "key", "takeoff",
                  "title", "Take-off", "steps", "title", "one", "title", "two", "title", "three",
                  "title", "four", "title", "five");
    h_resp r;
    h_req_json(&g_srv, "POST", "/api/migrations", g_lead, plan, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    json_decref(plan);
    if (start) {
        char *path = h_fmt("/api/migrations/%s/start", mid);
        h_req(&g_srv, "POST", path, g_lead, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        h_resp_free(&r);
        free(path);
    }
}

static int64_t step_id(const char *mid, size_t i)
{
    json_t *m = h_get_migration(&g_srv, g_lead, mid);
    int64_t id = h_step_id(m, "takeoff", i);
    json_decref(m);
    return id;
}

/* POST .../steps/{sid}/{action} as `token`; returns the audit seq it produced. */
static long long act(const char *mid, size_t i, const char *action, const char *token)
{
    char *path = h_fmt("/api/migrations/%s/steps/%lld/%s", mid, (long long)step_id(mid, i), action);
    h_resp r;
    h_req(&g_srv, "POST", path, token, "{}", (size_t)-1, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    free(path);
    /* the newest event of this migration */
    char *apath = h_fmt("/api/migrations/%s/audit?format=json", mid);
    h_req(&g_srv, "GET", apath, token, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *last = json_array_get(r.json, json_array_size(r.json) - 1);
    long long seq = json_integer_value(json_object_get(last, "seq"));
    h_resp_free(&r);
    free(apath);
    return seq;
}

/* ---- fixture ----------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    h_init();
    if (h_server_init(&g_srv) != 0 || h_start(&g_srv, NULL, NULL) != 0) {
        h_dump_logs(&g_srv);
        return -1;
    }
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_lead = h_token("lena", "Lena Lead", "lead", "data-stream");
    g_alice = h_token("alice", "Alice", "engineer", "data-stream");
    g_bob = h_token("bob", "Bob", "engineer", "data-stream");
    h_create_demo_teams(&g_srv, g_admin);
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
    free(g_alice);
    free(g_bob);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_auth_and_unknown_migration(void **state)
{
    (void)state;
    make_migration("ev-auth", 0);
    h_resp r;
    h_req(&g_srv, "GET", "/api/migrations/ev-auth/events", NULL, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/events", NULL, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/migrations/ev-auth/presence", NULL, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/migrations/no-such-thing/events", g_alice, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    h_req(&g_srv, "GET", "/api/migrations/no-such-thing/presence", g_alice, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 404);
    h_resp_free(&r);
    const char *bad[] = {"Last-Event-ID: twelve", NULL};
    h_req(&g_srv, "GET", "/api/migrations/ev-auth/events", g_alice, NULL, 0, bad, &r);
    H_PROBLEM(&r, 400);
    h_resp_free(&r);
}

/* A tick is pushed to the migration's stream and to /api/events, as the audit export has it. */
static void test_tick_arrives(void **state)
{
    (void)state;
    make_migration("ev-live", 1);
    sse *s = sse_open("/api/migrations/ev-live/events", g_alice, NULL);
    sse *all = sse_open("/api/events", g_bob, NULL);
    long long seq = act("ev-live", 0, "tick", g_alice);
    wait_events(s, "step.tick", 1);
    wait_events(all, "step.tick", 1);

    int n;
    event *ev = sse_events(s, &n);
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(ev[i].name, "step.tick") != 0)
            continue;
        found = 1;
        assert_int_equal(ev[i].id, seq);
        /* the same object the audit export gives */
        char *path = h_fmt("/api/migrations/ev-live/audit?format=json&after=%lld", seq - 1);
        h_resp r;
        h_req(&g_srv, "GET", path, g_alice, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        assert_true(json_equal(ev[i].data, json_array_get(r.json, 0)));
        h_resp_free(&r);
        free(path);
    }
    assert_true(found);
    events_free(ev, n);
    sse_close(s);
    sse_close(all);
}

/* A client that drops and reconnects with Last-Event-ID gets what it missed, once, in order,
 * then the live stream. */
static void test_reconnect_gets_missed_events_once(void **state)
{
    (void)state;
    make_migration("ev-resume", 1);
    sse *s = sse_open("/api/migrations/ev-resume/events", g_alice, NULL);
    long long first = act("ev-resume", 0, "tick", g_alice);
    wait_events(s, "step.tick", 1);
    sse_close(s); /* Wi-Fi drops */

    long long missed[3];
    missed[0] = act("ev-resume", 1, "tick", g_bob);
    missed[1] = act("ev-resume", 2, "tick", g_bob);
    missed[2] = act("ev-resume", 0, "untick", g_alice);

    char id[32];
    snprintf(id, sizeof(id), "%lld", first);
    s = sse_open("/api/migrations/ev-resume/events", g_alice, id);
    wait_events(s, "step.tick", 2);
    wait_events(s, "step.untick", 1);
    long long live = act("ev-resume", 3, "tick", g_bob);
    wait_events(s, "step.tick", 3);

    int n;
    event *ev = sse_events(s, &n);
    long long got[16];
    int k = 0;
    for (int i = 0; i < n && k < 16; i++)
        if (ev[i].id >= 0)
            got[k++] = ev[i].id;
    events_free(ev, n);
    assert_int_equal(k, 4);
    assert_int_equal(got[0], missed[0]);
    assert_int_equal(got[1], missed[1]);
    assert_int_equal(got[2], missed[2]);
    assert_int_equal(got[3], live);
    sse_close(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The users in the newest presence event of a stream, sorted, as "alice,bob" (the document
 * itself orders them by arrival, which two near-simultaneous connections may swap). */
static char *presence_users(sse *s)
{
    int n;
    event *ev = sse_events(s, &n);
    char *out = strdup("");
    for (int i = n - 1; i >= 0; i--) {
        if (strcmp(ev[i].name, "presence") != 0)
            continue;
        json_t *users = json_object_get(ev[i].data, "users");
        const char *subs[64];
        size_t k = 0;
        for (size_t j = 0; j < json_array_size(users) && k < 64; j++)
            subs[k++] = json_string_value(json_object_get(json_array_get(users, j), "sub"));
        qsort(subs, k, sizeof(subs[0]), cmp_str);
        for (size_t j = 0; j < k; j++) {
            char *next = h_fmt("%s%s%s", out, j ? "," : "", subs[j] ? subs[j] : "?");
            free(out);
            out = next;
        }
        break;
    }
    events_free(ev, n);
    return out;
}

static void wait_presence(sse *s, const char *want, const char *mid)
{
    int64_t end = now_ms() + WAIT_MS;
    char *got = presence_users(s);
    int nudges = 0;
    while (strcmp(got, want) != 0 && now_ms() < end && !s->ended) {
        /* A client that vanished is noticed when the server writes to it: make it write. */
        if (mid != NULL && nudges < 6 && sse_pump(s, 300) == -1) {
            act(mid, 4, nudges % 2 ? "untick" : "tick", g_lead);
            nudges++;
        } else {
            sse_pump(s, 100);
        }
        free(got);
        got = presence_users(s);
    }
    if (strcmp(got, want) != 0)
        fail_msg("presence is \"%s\", want \"%s\"", got, want);
    free(got);
}

static void test_presence_join_and_leave(void **state)
{
    (void)state;
    make_migration("ev-presence", 1);
    sse *a = sse_open("/api/migrations/ev-presence/events", g_alice, NULL);
    wait_presence(a, "alice", NULL);
    sse *b = sse_open("/api/migrations/ev-presence/events", g_bob, NULL);
    sse *b2 = sse_open("/api/migrations/ev-presence/events", g_bob, NULL); /* second tab */
    wait_presence(a, "alice,bob", NULL);
    wait_presence(b2, "alice,bob", NULL);

    h_resp r;
    h_req(&g_srv, "GET", "/api/migrations/ev-presence/presence", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "migration")), "ev-presence");
    json_t *users = json_object_get(r.json, "users");
    assert_int_equal(json_array_size(users), 2);
    json_t *bob = json_array_get(users, 1);
    assert_string_equal(json_string_value(json_object_get(bob, "sub")), "bob");
    assert_string_equal(json_string_value(json_object_get(bob, "name")), "Bob");
    assert_string_equal(json_string_value(json_object_get(bob, "role")), "engineer");
    assert_true(json_is_string(json_object_get(bob, "since")));
    h_resp_free(&r);

    sse_close(b);
    sse_close(b2);
    wait_presence(a, "alice", "ev-presence");
    h_req(&g_srv, "GET", "/api/migrations/ev-presence/presence", g_lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "users")), 1);
    h_resp_free(&r);
    sse_close(a);
}

/* A client that stops reading is cut off with a final resync; a reading client is not. */
static void test_slow_consumer_gets_resync(void **state)
{
    (void)state;
    make_migration("ev-slow", 0);
    sse *slow = sse_connect("/api/migrations/ev-slow/events", g_bob, NULL, 4096);
    sse *fast = sse_open("/api/migrations/ev-slow/events", g_alice, NULL);
    wait_presence(fast, "alice,bob", NULL);

    /* Plan edits of a draft make big events (the step before and after): fill the slow client's
     * socket buffers and then its queue, until the server lets it go (bob leaves presence). */
    char *details[2];
    for (int k = 0; k < 2; k++) {
        details[k] = malloc(9001);
        memset(details[k], 'a' + k, 9000);
        details[k][9000] = '\0';
    }
    char *path = h_fmt("/api/migrations/ev-slow/steps/%lld", (long long)step_id("ev-slow", 0));
    int edits = 0, gone = 0;
    while (!gone && edits < 3000) {
        json_t *body = json_pack("{s:s}", "details", details[edits % 2]);
        h_resp r;
        h_req_json(&g_srv, "PATCH", path, g_lead, body, NULL, &r);
        H_EXPECT(&r, 200);
        h_resp_free(&r);
        json_decref(body);
        edits++;
        while (sse_pump(fast, 0) == 0) /* the fast client keeps reading */
            ;
        if (edits % 20 == 0) {
            h_req(&g_srv, "GET", "/api/migrations/ev-slow/presence", g_lead, NULL, 0, NULL, &r);
            H_EXPECT(&r, 200);
            gone = json_array_size(json_object_get(r.json, "users")) == 1;
            h_resp_free(&r);
        }
    }
    free(path);
    free(details[0]);
    free(details[1]);
    assert_true(gone);

    /* The slow client now reads: whatever was in flight, then resync, then the end. */
    int64_t end = now_ms() + WAIT_MS;
    while (!slow->ended && now_ms() < end)
        sse_pump(slow, 100);
    assert_true(slow->ended);
    int n;
    event *ev = sse_events(slow, &n);
    assert_true(n > 0);
    assert_string_equal(ev[n - 1].name, "resync");
    assert_string_equal(json_string_value(json_object_get(ev[n - 1].data, "reason")),
                        "slow consumer");
    events_free(ev, n);

    wait_events(fast, "step.update", edits);
    assert_false(fast->ended);
    assert_int_equal(count_named(fast, "resync"), 0);
    sse_close(slow);
    sse_close(fast);
}

/* 1,000 clients open a stream and vanish (half politely, half with a reset): the server
 * notices at its next write, they leave presence, and nothing leaks (make check runs this server
 * under ASan, and the last test requires exit code 0). */
static void test_thousand_clients_come_and_go(void **state)
{
    (void)state;
    make_migration("ev-crowd", 1);
    enum { USERS = 10, ROUND = 250, ROUNDS = 4 };
    char *tokens[USERS];
    for (int i = 0; i < USERS; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "crowd-%d", i);
        tokens[i] = h_token(sub, sub, "viewer", NULL);
    }
    for (int round = 0; round < ROUNDS; round++) {
        sse *c[ROUND];
        for (int i = 0; i < ROUND; i++)
            c[i] = sse_open("/api/migrations/ev-crowd/events", tokens[i % USERS], NULL);
        for (int i = 0; i < ROUND; i++) {
            if (i % 2) {
                struct linger lg = {1, 0};
                setsockopt(c[i]->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            }
            sse_close(c[i]);
        }
    }
    for (int i = 0; i < USERS; i++)
        free(tokens[i]);

    size_t present = 1;
    for (int nudge = 0; nudge < 10 && present > 0; nudge++) {
        act("ev-crowd", 0, nudge % 2 ? "untick" : "tick", g_lead); /* a write to every stream */
        h_resp r;
        h_req(&g_srv, "GET", "/api/migrations/ev-crowd/presence", g_lead, NULL, 0, NULL, &r);
        H_EXPECT(&r, 200);
        present = json_array_size(json_object_get(r.json, "users"));
        h_resp_free(&r);
    }
    assert_int_equal(present, 0);
}

/* SIGTERM ends open streams cleanly and the server exits 0. Runs last. */
static void test_shutdown_ends_streams(void **state)
{
    (void)state;
    sse *s = sse_open("/api/events", g_alice, NULL);
    assert_int_equal(h_stop(&g_srv, SIGTERM, 5000), 0);
    assert_int_equal(g_srv.exit_code, 0);
    int64_t end = now_ms() + WAIT_MS;
    while (!s->ended && now_ms() < end)
        sse_pump(s, 100);
    assert_true(s->ended);
    sse_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_and_unknown_migration),
        cmocka_unit_test(test_tick_arrives),
        cmocka_unit_test(test_reconnect_gets_missed_events_once),
        cmocka_unit_test(test_presence_join_and_leave),
        cmocka_unit_test(test_slow_consumer_gets_resync),
        cmocka_unit_test(test_thousand_clients_come_and_go),
        cmocka_unit_test(test_shutdown_ends_streams),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
