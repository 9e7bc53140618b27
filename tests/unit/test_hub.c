/*
 * test_hub.c - the event hub, in process: real h2o requests on a fake connection whose output
 * stream captures what a client would read, a real store on :memory: feeding events through the
 * event-sink port. No socket, no port; runs under ASan.
 *
 * A test client "reads" by calling h2o_proceed_response (drain); a slow client simply does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <h2o.h>
#include <jansson.h>

#include "api/api.h"
#include "core/audit.h"
#include "core/buf.h"
#include "core/flight.h"
#include "core/store.h"
#include "core/team.h"
#include "server/hub.h"
#include "server/hub_internal.h"

/* ---- fixture: an h2o context, a store, a hub ---------------------------------------------- */

typedef struct fixture {
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_evloop_t *loop;
    h2o_hostconf_t *hosts[2];
    h2o_conn_t conn;
    h2o_pathconf_t pathconf; /* zeroed: no filters, no loggers */
    fd_store *st;
    fd_hub *hub;
    int64_t now_ms;
    fd_actor admin;
} fixture;

static const h2o_conn_callbacks_t conn_callbacks = {NULL};

/* The loop of the fixture in use, for settle(). */
static h2o_evloop_t *current_loop;

static int64_t fake_now(void *arg)
{
    return ((fixture *)arg)->now_ms;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    h2o_config_init(&f->globalconf);
    f->hosts[0] =
        h2o_config_register_host(&f->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    f->loop = h2o_evloop_create();
    current_loop = f->loop;
    h2o_context_init(&f->ctx, f->loop, &f->globalconf);
    f->conn.ctx = &f->ctx;
    f->conn.hosts = f->hosts;
    f->conn.callbacks = &conn_callbacks;

    fd_problem p = {0};
    assert_int_equal(store_open(":memory:", &f->st, &p), FD_OK);
    f->hub = hub_new(&f->ctx, f->st);
    assert_non_null(f->hub);
    hub_set_current(f->hub);
    f->now_ms = 1795000000000; /* 2026-11-18T11:06:40Z */
    fd_ports ports = {.clock = {fake_now, f}, .events = {hub_emit, f->hub}};
    store_set_ports(f->st, &ports);

    snprintf(f->admin.sub, sizeof(f->admin.sub), "root");
    snprintf(f->admin.name, sizeof(f->admin.name), "Root");
    f->admin.role = FD_ROLE_ADMIN;
    snprintf(f->admin.source, sizeof(f->admin.source), "api");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hub_free(f->hub);
    store_close(f->st);
    h2o_context_dispose(&f->ctx);
    h2o_evloop_destroy(f->loop);
    h2o_config_dispose(&f->globalconf);
    free(f);
    return 0;
}

/* One audited change: a new team (an event outside any migration). Returns its seq. */
static int64_t make_team(fixture *f, int n)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    char slug[32];
    snprintf(slug, sizeof(slug), "team-%d", n);
    json_t *body = json_pack("{s:s, s:s}", "slug", slug, "name", slug), *out = NULL;
    assert_int_equal(team_create(f->st, &ctx, body, &out), FD_OK);
    json_decref(body);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    return audit_last_seq(f->st);
}

/* Migration `mid` (owner team-0, which must exist), started, with four steps in take-off. */
static void make_migration(fixture *f, const char *mid)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    json_t *plan = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:[{s:s},{s:s},{s:s},{s:s}]}]}", "id",
                             mid, "title", "A migration", "owner_team", "team-0", "stages", "key",
                             "takeoff", "title", "Take-off", "steps", "title", "one", "title",
                             "two", "title", "three", "title", "four");
    json_t *out = NULL;
    assert_int_equal(flight_create(f->st, &ctx, plan, &out), FD_OK);
    json_decref(out);
    json_decref(plan);
    assert_int_equal(flight_start(f->st, &ctx, mid, &out), FD_OK);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
}

/* Tick the i-th take-off step of `mid`; returns the event's seq. */
static int64_t tick(fixture *f, const char *mid, int i)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    json_t *out = NULL;
    assert_int_equal(flight_get(f->st, &ctx, mid, &out), FD_OK);
    json_t *steps = json_object_get(json_array_get(json_object_get(out, "stages"), 0), "steps");
    int64_t sid = json_integer_value(json_object_get(json_array_get(steps, (size_t)i), "id"));
    json_decref(out);
    assert_int_equal(flight_step_action(f->st, &ctx, mid, sid, FD_STEP_TICK, "done", &out), FD_OK);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    return audit_last_seq(f->st);
}

/* ---- clients: a request whose response is captured --------------------------------------- */

typedef struct client {
    h2o_ostream_t ostr; /* first: the capture stream */
    h2o_req_t *req;
    fd_buf out;
    int pending; /* a send waits for proceed */
    int final;
    long last_write; /* when this client last got bytes, on the writes clock below */
    fd_actor actor;
    api_call call;
    char path[256];
} client;

/* Counts every write to any client, to tell which of two clients was written first. */
static long writes_clock;

static void capture_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                         h2o_send_state_t state)
{
    client *cl = (client *)self;
    (void)req;
    if (n > 0)
        cl->last_write = ++writes_clock;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fd_buf_append(&cl->out, bufs[i].base, bufs[i].len), 0);
    if (cl->out.data == NULL)
        assert_int_equal(fd_buf_append(&cl->out, "", 0), 0);
    if (h2o_send_state_is_in_progress(state))
        cl->pending = 1;
    else
        cl->final = 1;
}

/* Open a request to `path` and hand it to `fn` with the given {mid} parameter and headers. */
static client *client_request(fixture *f, const char *path, const char *mid, const char *sub,
                              const char *last_event_id, void (*fn)(api_call *c))
{
    client *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    cl->req = calloc(1, sizeof(*cl->req));
    assert_non_null(cl->req);
    snprintf(cl->path, sizeof(cl->path), "%s", path);
    h2o_req_t *req = cl->req;
    h2o_init_request(req, &f->conn, NULL);
    req->pathconf = &f->pathconf;
    req->input.method = req->method = h2o_iovec_init(H2O_STRLIT("GET"));
    req->input.path = req->path = h2o_iovec_init(cl->path, strlen(cl->path));
    const char *q = strchr(cl->path, '?');
    req->query_at = req->input.query_at = q ? (size_t)(q - cl->path) : SIZE_MAX;
    req->path_normalized = h2o_iovec_init(cl->path, q ? (size_t)(q - cl->path) : strlen(cl->path));
    cl->ostr.do_send = capture_send;
    req->_ostr_top = &cl->ostr;
    if (last_event_id != NULL)
        h2o_add_header_by_str(&req->pool, &req->headers, H2O_STRLIT("last-event-id"), 0, NULL,
                              last_event_id, strlen(last_event_id));
    snprintf(cl->actor.sub, sizeof(cl->actor.sub), "%s", sub ? sub : "anon");
    snprintf(cl->actor.name, sizeof(cl->actor.name), "Name of %s", sub ? sub : "anon");
    cl->actor.role = FD_ROLE_ENGINEER;
    cl->call.req = req;
    cl->call.st = f->st;
    cl->call.actor = sub ? &cl->actor : NULL;
    cl->call.request_id = "test-request";
    if (mid != NULL) {
        cl->call.params[0] = mid;
        cl->call.nparams = 1;
    }
    fd_ctx_init(&cl->call.ctx, cl->call.actor, "test-request");
    fn(&cl->call);
    fd_problem_clear(&cl->call.ctx.problem);
    return cl;
}

static client *open_all(fixture *f, const char *last_event_id)
{
    return client_request(f, "/api/events", NULL, "watcher", last_event_id, hub_handle_events_all);
}

static client *open_mid(fixture *f, const char *mid, const char *sub, const char *last_event_id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/migrations/%s/events", mid);
    return client_request(f, path, mid, sub, last_event_id, hub_handle_events);
}

/* Let the loop finish its iteration: the hub writes what it queued from its 0 ms timer. */
static void settle(void)
{
    fd_hub *hub = hub_get_current();
    for (int i = 0; i < 10 && hub != NULL && h2o_timeout_is_linked(&hub->flush_entry); i++)
        h2o_evloop_run(current_loop, 0);
}

/* Read everything the server has for this client (a fast client). */
static void drain(client *cl)
{
    settle();
    while (cl->pending && !cl->final) {
        cl->pending = 0;
        h2o_proceed_response(cl->req);
    }
}

/* The client goes away (or, after FINAL, the request is simply over). */
static void client_close(client *cl)
{
    h2o_dispose_request(cl->req);
    free(cl->req);
    fd_buf_free(&cl->out);
    free(cl);
}

static const char *text(client *cl)
{
    return cl->out.data ? cl->out.data : "";
}

static const char *header(client *cl, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&cl->req->res.headers, name, strlen(name), -1);
    if (i == -1)
        return NULL;
    static char v[256];
    h2o_iovec_t iv = cl->req->res.headers.entries[i].value;
    snprintf(v, sizeof(v), "%.*s", (int)iv.len, iv.base);
    return v;
}

/* ---- reading the stream as EventSource would --------------------------------------------- */

typedef struct sse_event {
    int64_t id; /* -1: the block had no id line */
    char event[64];
    char *data;
} sse_event;

typedef struct sse_list {
    sse_event ev[4096];
    int n;
    int comments;
} sse_list;

/* Blocks with an event: field, in order; comments are counted. */
static sse_list *sse_parse(const char *s)
{
    sse_list *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    while (*s) {
        const char *end = strstr(s, "\n\n");
        assert_non_null(end); /* every block is complete */
        sse_event e = {.id = -1};
        fd_buf data = {0};
        int has_data = 0;
        for (const char *line = s; line < end + 1;) {
            const char *nl = strchr(line, '\n');
            size_t len = (size_t)(nl - line);
            if (len >= 1 && line[0] == ':')
                l->comments++;
            else if (len > 4 && strncmp(line, "id: ", 4) == 0)
                e.id = strtoll(line + 4, NULL, 10);
            else if (len > 7 && strncmp(line, "event: ", 7) == 0)
                snprintf(e.event, sizeof(e.event), "%.*s", (int)(len - 7), line + 7);
            else if (len >= 6 && strncmp(line, "data: ", 6) == 0) {
                if (has_data)
                    fd_buf_append(&data, "\n", 1);
                fd_buf_append(&data, line + 6, len - 6);
                has_data = 1;
            }
            line = nl + 1;
        }
        if (e.event[0] != '\0') {
            assert_true(l->n < 4096);
            e.data = data.data ? data.data : strdup("");
            l->ev[l->n++] = e;
        } else {
            fd_buf_free(&data);
        }
        s = end + 2;
    }
    return l;
}

static void sse_free(sse_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->ev[i].data);
    free(l);
}

/* The ids of the audit events (blocks with an id) in order, as "1,2,3". */
static char *ids_of(client *cl)
{
    sse_list *l = sse_parse(text(cl));
    fd_buf b = {0};
    fd_buf_puts(&b, "");
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].id >= 0)
            fd_buf_printf(&b, "%s%lld", b.len ? "," : "", (long long)l->ev[i].id);
    sse_free(l);
    return b.data;
}

static int count_events(client *cl, const char *event)
{
    sse_list *l = sse_parse(text(cl));
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += strcmp(l->ev[i].event, event) == 0;
    sse_free(l);
    return n;
}

/* The data of the last `event` block, owned by the caller; NULL when none. */
static char *last_data(client *cl, const char *event)
{
    sse_list *l = sse_parse(text(cl));
    char *d = NULL;
    for (int i = l->n - 1; i >= 0 && d == NULL; i--)
        if (strcmp(l->ev[i].event, event) == 0)
            d = strdup(l->ev[i].data);
    sse_free(l);
    return d;
}

#define assert_ids(cl, expected)                                                                   \
    do {                                                                                           \
        char *got_ = ids_of(cl);                                                                   \
        assert_string_equal(got_, expected);                                                       \
        free(got_);                                                                                \
    } while (0)

static void audit_json_cb(void *arg, int64_t seq, const char *migration, const char *action,
                          const char *json, size_t len)
{
    (void)seq, (void)migration, (void)action;
    fd_buf_append(arg, json, len);
}

/* Run the loop until the presence timer has fired. */
static void run_presence(fixture *f)
{
    for (int i = 0; i < 100 && h2o_timeout_is_linked(&f->hub->presence_entry); i++)
        h2o_evloop_run(f->loop, 20);
    assert_false(h2o_timeout_is_linked(&f->hub->presence_entry));
}

/* ---- tests ------------------------------------------------------------------------------- */

/* A fresh stream: headers, the first block at once (with "now" as its id), then each committed
 * event as the audit export gives it. */
static void test_live_event_is_the_audit_event(void **state)
{
    fixture *f = *state;
    make_team(f, 0);
    client *cl = open_all(f, NULL);
    assert_int_equal(cl->req->res.status, 200);
    assert_string_equal(header(cl, "content-type"), "text/event-stream; charset=utf-8");
    assert_string_equal(header(cl, "cache-control"), "no-store");
    assert_string_equal(header(cl, "x-accel-buffering"), "no");
    assert_string_equal(text(cl), ": flightdeck\nretry: 2000\nid: 1\n\n");
    assert_int_equal(hub_subscribers(f->hub), 1);

    drain(cl);
    int64_t seq = make_team(f, 1);
    drain(cl);
    fd_buf audit = {0};
    int count = 0;
    assert_int_equal(audit_each_after(f->st, NULL, seq - 1, 10, audit_json_cb, &audit, &count),
                     FD_OK);
    assert_int_equal(count, 1);
    char expected[4096];
    snprintf(expected, sizeof(expected),
             ": flightdeck\nretry: 2000\nid: 1\n\nid: %lld\nevent: team.create\ndata: %s\n\n",
             (long long)seq, audit.data);
    assert_string_equal(text(cl), expected);
    fd_buf_free(&audit);
    client_close(cl);
    assert_int_equal(hub_subscribers(f->hub), 0);
}

/* Data with line breaks becomes several data: lines; an event name cannot break the framing. */
static void test_multiline_data_is_split(void **state)
{
    fixture *f = *state;
    client *cl = open_all(f, NULL);
    drain(cl);
    fd_buf_reset(&cl->out);
    const char json[] = "{\"note\":\n\"a\"\r\n}\rx";
    hub_emit(f->hub, 5, NULL, "step.tick\nevent: evil", json, sizeof(json) - 1);
    drain(cl);
    assert_string_equal(text(cl), "id: 5\nevent: step.tickevent: evil\ndata: {\"note\":\n"
                                  "data: \"a\"\ndata: }\ndata: x\n\n");
    client_close(cl);
}

/* Last-Event-ID: the missed events first, then live; an event handed over twice is sent once. */
static void test_resume_replays_then_live_without_duplicates(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 5; i++)
        make_team(f, i);
    client *cl = open_all(f, "2");
    drain(cl);
    assert_ids(cl, "3,4,5");
    const char first[] = ": flightdeck\nretry: 2000\n\n"; /* a resume keeps the client's id */
    assert_int_equal(strncmp(text(cl), first, sizeof(first) - 1), 0);

    make_team(f, 5);
    drain(cl);
    hub_emit(f->hub, 5, NULL, "team.create", "{}", 2); /* already replayed */
    hub_emit(f->hub, 6, NULL, "team.create", "{}", 2); /* already live */
    drain(cl);
    assert_ids(cl, "3,4,5,6");
    client_close(cl);
}

/* Events committed while a long replay is under way are neither lost nor doubled, and the
 * replay never holds more than a page in memory. */
static void test_events_during_replay_are_held_in_order(void **state)
{
    fixture *f = *state;
    int total = HUB_REPLAY_PAGE * 2 + 37;
    for (int i = 0; i < total; i++)
        make_team(f, i);
    client *cl = open_all(f, "0");
    /* the first send is out, the client has not read yet: the first page is queued */
    assert_true(cl->pending);
    hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, f->hub->all.next);
    assert_true(s->replaying);
    assert_true(s->out.count <= HUB_REPLAY_PAGE);

    for (int i = 0; i < 10; i++)
        make_team(f, total + i); /* live while replaying */
    assert_int_equal(s->held.count, 10);
    /* read a little, commit more, read a little ... */
    for (int round = 0; round < 40; round++) {
        cl->pending = 0;
        h2o_proceed_response(cl->req);
        if (round % 7 == 0)
            make_team(f, total + 10 + round);
    }
    drain(cl);
    int64_t last = audit_last_seq(f->st);
    fd_buf want = {0};
    for (int64_t i = 1; i <= last; i++)
        fd_buf_printf(&want, "%s%lld", i > 1 ? "," : "", (long long)i);
    assert_ids(cl, want.data);
    fd_buf_free(&want);
    client_close(cl);
}

/* A sink that holds events back, as a commit whose event has not been handed over yet. */
typedef struct held_events {
    int n;
    int64_t seq[8];
    char action[8][32];
    char *json[8];
} held_events;

static void hold_emit(void *arg, int64_t seq, const char *migration, const char *action,
                      const char *json, size_t len)
{
    held_events *h = arg;
    (void)migration;
    assert_true(h->n < 8);
    h->seq[h->n] = seq;
    snprintf(h->action[h->n], sizeof(h->action[0]), "%s", action);
    h->json[h->n] = strndup(json, len);
    h->n++;
}

/* Events already in the log but not yet handed to the hub are not replayed (they are past the
 * stream's watermark); when they are handed over they arrive once, in order. */
static void test_committed_but_not_yet_emitted(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        make_team(f, i);
    held_events h = {0};
    fd_ports late = {.clock = {fake_now, f}, .events = {hold_emit, &h}};
    store_set_ports(f->st, &late);
    make_team(f, 3);
    make_team(f, 4);
    assert_int_equal(h.n, 2);

    client *cl = open_all(f, "1");
    drain(cl);
    assert_ids(cl, "2,3");
    for (int i = 0; i < h.n; i++) {
        hub_emit(f->hub, h.seq[i], NULL, h.action[i], h.json[i], strlen(h.json[i]));
        free(h.json[i]);
    }
    drain(cl);
    assert_ids(cl, "2,3,4,5");
    fd_ports ports = {.clock = {fake_now, f}, .events = {hub_emit, f->hub}};
    store_set_ports(f->st, &ports);
    make_team(f, 5);
    drain(cl);
    assert_ids(cl, "2,3,4,5,6");
    client_close(cl);
}

/* ?after= works, and Last-Event-ID (the reconnect's own) wins over a stale ?after=. */
static void test_after_query_and_header_precedence(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 4; i++)
        make_team(f, i);
    client *a = client_request(f, "/api/events?after=2", NULL, "u", NULL, hub_handle_events_all);
    client *b = client_request(f, "/api/events?after=1", NULL, "u", "3", hub_handle_events_all);
    drain(a);
    drain(b);
    assert_ids(a, "3,4");
    assert_ids(b, "4");
    client_close(a);
    client_close(b);
}

static void test_bad_resume_point_is_400(void **state)
{
    fixture *f = *state;
    client *a = open_all(f, "abc");
    assert_int_equal(a->req->res.status, 400);
    assert_non_null(strstr(text(a), "Last-Event-ID"));
    client *b = client_request(f, "/api/events?after=-4", NULL, "u", NULL, hub_handle_events_all);
    assert_int_equal(b->req->res.status, 400);
    assert_int_equal(hub_subscribers(f->hub), 0);
    client_close(a);
    client_close(b);
}

/* An id this database never issued: the client is told where "now" is, to resync, and the
 * stream ends so the reconnect starts from a known point. */
static void test_unknown_event_id_resyncs(void **state)
{
    fixture *f = *state;
    make_team(f, 0);
    client *cl = open_all(f, "999");
    drain(cl);
    assert_true(cl->final);
    assert_string_equal(text(cl), ": flightdeck\nretry: 2000\nid: 1\n\nevent: resync\n"
                                  "data: {\"reason\":\"unknown event id\"}\n\n");
    assert_int_equal(hub_subscribers(f->hub), 0);
    client_close(cl);
}

/* A client that stops reading is cut off with a resync once its queue is full; a reading client
 * beside it gets everything. */
static void test_slow_consumer_is_resynced_and_others_unaffected(void **state)
{
    fixture *f = *state;
    client *slow = open_all(f, NULL);
    client *fast = open_all(f, NULL);
    drain(fast);
    int n = HUB_QUEUE_MAX_EVENTS + 5;
    for (int i = 1; i <= n; i++) {
        hub_emit(f->hub, i, NULL, "team.create", "{\"x\":1}", 7);
        drain(fast);
    }
    assert_false(fast->final);
    assert_int_equal(count_events(fast, "team.create"), n);
    assert_int_equal(hub_subscribers(f->hub), 1); /* the slow one is already out */

    drain(slow); /* it finally reads: its backlog was dropped, resync, then the end; its
                    reconnect resumes from the last id it really got */
    assert_true(slow->final);
    assert_int_equal(count_events(slow, "team.create"), 0);
    char *d = last_data(slow, "resync");
    assert_string_equal(d, "{\"reason\":\"slow consumer\"}");
    free(d);
    client_close(slow);
    client_close(fast);
}

/* The byte bound: a few big events overflow a stuck client long before 1,000 of them. */
static void test_queue_byte_bound(void **state)
{
    fixture *f = *state;
    client *slow = open_all(f, NULL);
    size_t big = 100 * 1024;
    char *json = malloc(big);
    memset(json, 'x', big);
    int sent = 0;
    while (hub_subscribers(f->hub) == 1 && sent < 100)
        hub_emit(f->hub, ++sent, NULL, "team.create", json, big);
    free(json);
    assert_true(sent <= (int)(HUB_QUEUE_MAX_BYTES / big) + 1);
    drain(slow);
    assert_true(slow->final);
    assert_int_equal(count_events(slow, "resync"), 1);
    client_close(slow);
}

/* Per-migration streams get their migration's events only; /api/events gets all. */
static void test_migration_streams_are_filtered(void **state)
{
    fixture *f = *state;
    make_team(f, 0);
    make_migration(f, "m1");
    make_migration(f, "m2");
    client *c1 = open_mid(f, "m1", "alice", NULL);
    client *all = open_all(f, NULL);
    drain(c1);
    drain(all);
    int64_t a = tick(f, "m1", 0);
    int64_t b = tick(f, "m2", 1);
    int64_t c = make_team(f, 9);
    drain(c1);
    drain(all);
    char want[64];
    snprintf(want, sizeof(want), "%lld", (long long)a);
    assert_ids(c1, want);
    snprintf(want, sizeof(want), "%lld,%lld,%lld", (long long)a, (long long)b, (long long)c);
    assert_ids(all, want);
    assert_int_equal(count_events(c1, "step.tick"), 1);
    client_close(c1);
    client_close(all);
}

/* Resume on a migration stream: only that migration's missed events. */
static void test_migration_resume(void **state)
{
    fixture *f = *state;
    make_team(f, 0);
    make_migration(f, "m1");
    make_migration(f, "m2");
    int64_t from = audit_last_seq(f->st);
    int64_t a = tick(f, "m1", 0);
    tick(f, "m2", 0);
    int64_t c = tick(f, "m1", 1);
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)from);
    client *cl = open_mid(f, "m1", "alice", id);
    drain(cl);
    int64_t d = tick(f, "m1", 2);
    drain(cl);
    char want[96];
    snprintf(want, sizeof(want), "%lld,%lld,%lld", (long long)a, (long long)c, (long long)d);
    assert_ids(cl, want);
    client_close(cl);
}

static void test_unknown_migration_is_404(void **state)
{
    fixture *f = *state;
    client *a = open_mid(f, "nope", "alice", NULL);
    assert_int_equal(a->req->res.status, 404);
    client *b = client_request(f, "/api/migrations/nope/presence", "nope", "alice", NULL,
                               hub_handle_presence);
    assert_int_equal(b->req->res.status, 404);
    assert_int_equal(hub_subscribers(f->hub), 0);
    client_close(a);
    client_close(b);
}

/* Presence: users deduplicated by sub, joins and leaves pushed, a second tab is no news. */
static void test_presence(void **state)
{
    fixture *f = *state;
    make_team(f, 0);
    make_migration(f, "m1");
    client *a1 = open_mid(f, "m1", "alice", NULL);
    f->now_ms += 1000;
    client *b = open_mid(f, "m1", "bob", NULL);
    f->now_ms += 1000;
    client *a2 = open_mid(f, "m1", "alice", NULL); /* second tab */
    client *other = open_mid(f, "m1", NULL, NULL); /* no actor: not a person */
    run_presence(f);
    drain(a1), drain(b), drain(a2), drain(other);

    const char *both = "{\"migration\":\"m1\",\"users\":["
                       "{\"sub\":\"alice\",\"name\":\"Name of alice\",\"role\":\"engineer\","
                       "\"since\":\"2026-11-18T11:06:40.000Z\"},"
                       "{\"sub\":\"bob\",\"name\":\"Name of bob\",\"role\":\"engineer\","
                       "\"since\":\"2026-11-18T11:06:41.000Z\"}]}";
    client *g =
        client_request(f, "/api/migrations/m1/presence", "m1", "carol", NULL, hub_handle_presence);
    assert_int_equal(g->req->res.status, 200);
    json_t *got = json_loads(text(g), 0, NULL), *want = json_loads(both, 0, NULL);
    assert_non_null(got);
    assert_true(json_equal(got, want));
    json_decref(got);
    client_close(g);

    char *d = last_data(a2, "presence"); /* everyone, the newcomer too, has the full list */
    got = json_loads(d, 0, NULL);
    assert_true(json_equal(got, want));
    json_decref(got);
    free(d);
    assert_int_equal(count_events(other, "presence"), 1);
    assert_int_equal(strstr(text(a1), "event: presence\ndata: ") != NULL, 1);
    assert_null(strstr(strstr(text(a1), "event: presence"), "id: ")); /* no id on presence */

    /* alice closes one tab: still present, nobody is told anything */
    int before = count_events(b, "presence");
    client_close(a1);
    run_presence(f);
    drain(b);
    assert_int_equal(count_events(b, "presence"), before);

    /* bob leaves: alice's remaining tab learns it */
    client_close(b);
    run_presence(f);
    drain(a2);
    d = last_data(a2, "presence");
    got = json_loads(d, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(got, "users")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(got, "users"), 0), "sub")),
        "alice");
    json_decref(got);
    json_decref(want);
    free(d);
    client_close(a2);
    client_close(other);
    assert_int_equal(hub_subscribers(f->hub), 0);
    assert_null(hub_room_find(f->hub, "m1")); /* the room goes with its last stream */
}

/* Heartbeats go to idle streams only. */
static void test_heartbeat(void **state)
{
    fixture *f = *state;
    client *idle = open_all(f, NULL);
    client *busy = open_all(f, NULL);
    drain(idle);
    hub_heartbeat(f->hub);
    assert_non_null(strstr(text(idle), "\n\n: hb\n\n"));
    assert_null(strstr(text(busy), ": hb"));
    client_close(idle);
    client_close(busy);
}

/* Shutdown ends every stream with FINAL and refuses new ones. */
static void test_shutdown(void **state)
{
    fixture *f = *state;
    client *a = open_all(f, NULL);
    client *b = open_all(f, NULL); /* has a send outstanding: ends after it */
    drain(a);
    hub_shutdown(f->hub);
    assert_true(a->final);
    assert_false(b->final);
    drain(b);
    assert_true(b->final);
    assert_int_equal(hub_subscribers(f->hub), 0);
    client *c = open_all(f, NULL);
    assert_int_equal(c->req->res.status, 503);
    client_close(a);
    client_close(b);
    client_close(c);
}

/* 1,000 clients connect, some mid-send, and vanish: nothing left behind (ASan checks the
 * memory); one event reaches all of them, formatted once. */
static void test_thousand_clients_come_and_go(void **state)
{
    fixture *f = *state;
    enum { N = 1000 };
    client **cl = calloc(N, sizeof(*cl));
    for (int i = 0; i < N; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "u%d", i % 10);
        cl[i] = i % 2 ? open_all(f, NULL) : open_mid(f, "m1", sub, NULL);
    }
    assert_int_equal(hub_subscribers(f->hub), N / 2); /* m1 does not exist yet: 404 */
    for (int i = 0; i < N; i++)
        client_close(cl[i]);
    assert_int_equal(hub_subscribers(f->hub), 0);

    make_team(f, 0);
    make_migration(f, "m1");
    for (int i = 0; i < N; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "u%d", i % 10);
        cl[i] = i % 2 ? open_all(f, NULL) : open_mid(f, "m1", sub, NULL);
        if (i % 3 == 0)
            drain(cl[i]);
    }
    assert_int_equal(hub_subscribers(f->hub), N);
    int64_t seq = tick(f, "m1", 0);
    /* one message, referenced by every stream (queued, or handed to h2o) */
    hub_msg *shared = NULL;
    for (h2o_linklist_t *l = f->hub->all.next; l != &f->hub->all; l = l->next) {
        hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, l);
        hub_msg *m = s->out.count ? s->out.items[(s->out.head + s->out.count - 1) % s->out.cap]
                                  : s->inflight[s->ninflight - 1];
        if (shared == NULL)
            shared = m;
        assert_ptr_equal(m, shared);
    }
    assert_true(shared->refs >= N);
    for (int i = 0; i < N; i++) {
        drain(cl[i]);
        char want[32];
        snprintf(want, sizeof(want), "%lld", (long long)seq);
        assert_ids(cl[i], want);
    }
    hub_heartbeat(f->hub);
    run_presence(f);
    for (int i = 0; i < N; i++)
        client_close(cl[i]); /* some with a send outstanding */
    assert_int_equal(hub_subscribers(f->hub), 0);
    free(cl);
}

/* Events are queued when emitted and written when the loop iteration ends (the 0 ms timer): in
 * emit order, each once, nothing lost while they wait. */
static void test_fanout_waits_for_the_end_of_the_iteration(void **state)
{
    fixture *f = *state;
    client *a = open_all(f, NULL), *b = open_all(f, NULL);
    drain(a);
    drain(b);
    fd_buf_reset(&a->out);
    fd_buf_reset(&b->out);
    hub_emit(f->hub, 1, NULL, "team.create", "{\"n\":1}", 7);
    hub_emit(f->hub, 2, NULL, "team.update", "{\"n\":2}", 7);
    hub_emit(f->hub, 2, NULL, "team.update", "{\"n\":2}", 7); /* handed over twice */
    hub_emit(f->hub, 3, NULL, "team.create", "{\"n\":3}", 7);
    assert_string_equal(text(a), ""); /* nothing written yet: the iteration is not over */
    assert_string_equal(text(b), "");
    assert_true(h2o_timeout_is_linked(&f->hub->flush_entry));
    drain(a);
    drain(b);
    assert_ids(a, "1,2,3");
    assert_ids(b, "1,2,3");
    assert_false(h2o_timeout_is_linked(&f->hub->flush_entry));
    /* the next iteration's events follow, still in order */
    hub_emit(f->hub, 4, NULL, "team.create", "{\"n\":4}", 7);
    drain(a);
    assert_ids(a, "1,2,3,4");
    client_close(a);
    client_close(b);
}

/* What a tick's answer is: any reply sent while the commit's events wait. */
static void reply_ok(api_call *c)
{
    h2o_send_inline(c->req, H2O_STRLIT("{\"ok\":true}\n"));
}

/* A commit emits its events, then its held answers are sent: the answer reaches its client
 * before the streams are written, however many there are. */
static void test_answer_goes_out_before_the_fanout(void **state)
{
    fixture *f = *state;
    make_team(f, 0);
    client *streams[50];
    for (int i = 0; i < 50; i++) {
        streams[i] = open_all(f, NULL);
        drain(streams[i]);
    }
    int64_t seq = make_team(f, 1); /* commits and emits */
    client *ticker = client_request(f, "/api/tick", NULL, "alice", NULL, reply_ok);
    assert_true(ticker->last_write > 0);
    for (int i = 0; i < 50; i++) {
        drain(streams[i]);
        assert_true(streams[i]->last_write > ticker->last_write);
        char want[32];
        snprintf(want, sizeof want, "id: %lld\n", (long long)seq);
        assert_non_null(strstr(text(streams[i]), want));
    }
    client_close(ticker);
    for (int i = 0; i < 50; i++)
        client_close(streams[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_live_event_is_the_audit_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiline_data_is_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_replays_then_live_without_duplicates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_during_replay_are_held_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_committed_but_not_yet_emitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_query_and_header_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_resume_point_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_event_id_resyncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_consumer_is_resynced_and_others_unaffected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_byte_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_streams_are_filtered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_migration_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousand_clients_come_and_go, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fanout_waits_for_the_end_of_the_iteration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer_goes_out_before_the_fanout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
