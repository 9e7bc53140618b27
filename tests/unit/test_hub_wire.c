/*
 * test_hub_wire.c - the event hub's bytes on the wire over HTTP/1.1: the hub frames each message
 * as a chunk itself (once, shared by every stream) and, when h2o has nothing in flight on a
 * plain connection, writes a stream's bytes to its socket directly. Whatever way the bytes go
 * (h2o only, the socket only, a socket that takes part of a chunk, a socket that is broken), the
 * client must read exactly the text an unframed stream gets, then the last chunk.
 *
 * Each client has its own fake connection: h2o's output is captured (as in test_hub.c), and
 * get_socket hands out one end of a socket pair whose other end is read here. The two are merged
 * in the order a client would see them: a capture first takes what the socket already has.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <h2o.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/store.h"
#include "server/hub.h"
#include "server/hub_internal.h"

typedef struct fixture {
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_evloop_t *loop;
    h2o_hostconf_t *hosts[2];
    h2o_pathconf_t pathconf; /* zeroed: no filters (no chunked encoder of h2o's) */
    fd_store *st;
    fd_hub *hub;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    h2o_config_init(&f->globalconf);
    f->hosts[0] =
        h2o_config_register_host(&f->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    f->loop = h2o_evloop_create();
    h2o_context_init(&f->ctx, f->loop, &f->globalconf);
    fd_problem p = {0};
    assert_int_equal(store_open(":memory:", &f->st, &p), FD_OK);
    f->hub = hub_new(&f->ctx, f->st);
    assert_non_null(f->hub);
    hub_set_current(f->hub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hub_free(f->hub);
    store_close(f->st);
    h2o_evloop_run(f->loop, 0); /* frees the sockets closed by the tests */
    h2o_context_dispose(&f->ctx);
    h2o_evloop_destroy(f->loop);
    h2o_config_dispose(&f->globalconf);
    free(f);
    return 0;
}

/* ---- a client with its own connection ----------------------------------------------------- */

typedef struct client {
    h2o_conn_t conn;    /* first: get_socket finds the client through it */
    h2o_ostream_t ostr; /* captures what h2o sends */
    h2o_req_t req;
    h2o_socket_t *sock; /* NULL: h2o writes everything */
    int peer;           /* the socket pair's other end, -1 without a socket */
    fd_buf wire;        /* everything that arrived, in order */
    size_t via_h2o;     /* bytes of wire that came through h2o */
    int pending, final;
    api_call call;
} client;

static h2o_socket_t *client_get_socket(h2o_conn_t *conn)
{
    return ((client *)conn)->sock;
}

static const h2o_conn_callbacks_t with_socket = {.get_socket = client_get_socket};
static const h2o_conn_callbacks_t without_socket = {.get_socket = NULL};

/* What the hub wrote to the socket so far. */
static void read_peer(client *cl)
{
    char buf[65536];
    ssize_t n;
    while (cl->peer >= 0 && (n = recv(cl->peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        assert_int_equal(fd_buf_append(&cl->wire, buf, (size_t)n), 0);
}

static void capture_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                         h2o_send_state_t state)
{
    client *cl = H2O_STRUCT_FROM_MEMBER(client, ostr, self);
    (void)req;
    read_peer(cl); /* the socket's bytes went out before these */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fd_buf_append(&cl->wire, bufs[i].base, bufs[i].len), 0);
        cl->via_h2o += bufs[i].len;
    }
    if (h2o_send_state_is_in_progress(state))
        cl->pending = 1;
    else
        cl->final = 1;
}

/* Open GET /api/events as HTTP/`version` (0x100, 0x101); with a socket pair when `socket`. */
static client *open_client(fixture *f, int version, int socket)
{
    client *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    cl->peer = -1;
    cl->conn.ctx = &f->ctx;
    cl->conn.hosts = f->hosts;
    cl->conn.callbacks = socket ? &with_socket : &without_socket;
    if (socket) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        cl->sock = h2o_evloop_socket_create(f->loop, sv[0], H2O_SOCKET_FLAG_DONT_READ);
        cl->peer = sv[1];
    }
    h2o_req_t *req = &cl->req;
    h2o_init_request(req, &cl->conn, NULL);
    req->version = version;
    req->pathconf = &f->pathconf;
    req->input.method = req->method = h2o_iovec_init(H2O_STRLIT("GET"));
    req->input.path = req->path = h2o_iovec_init(H2O_STRLIT("/api/events"));
    req->path_normalized = req->path;
    req->query_at = req->input.query_at = SIZE_MAX;
    cl->ostr.do_send = capture_send;
    req->_ostr_top = &cl->ostr;
    cl->call.req = req;
    cl->call.st = f->st;
    cl->call.request_id = "test-request";
    fd_ctx_init(&cl->call.ctx, NULL, "test-request");
    hub_handle_events_all(&cl->call);
    fd_problem_clear(&cl->call.ctx.problem);
    assert_int_equal(req->res.status, 200);
    return cl;
}

/* The loop's iteration ends (the hub writes from its 0 ms timer), then the client reads
 * everything, as a fast client does. */
static void drain(fixture *f, client *cl)
{
    for (int i = 0; i < 10 && h2o_timeout_is_linked(&f->hub->flush_entry); i++)
        h2o_evloop_run(f->loop, 0);
    read_peer(cl);
    while (cl->pending && !cl->final) {
        cl->pending = 0;
        h2o_proceed_response(&cl->req);
        read_peer(cl);
    }
}

static void client_close(fixture *f, client *cl)
{
    h2o_dispose_request(&cl->req);
    if (cl->sock != NULL)
        h2o_socket_close(cl->sock);
    if (cl->peer >= 0)
        close(cl->peer);
    h2o_evloop_run(f->loop, 0);
    fd_buf_free(&cl->wire);
    free(cl);
}

static const char *header(client *cl, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&cl->req.res.headers, name, strlen(name), -1);
    if (i == -1)
        return NULL;
    static char v[256];
    h2o_iovec_t iv = cl->req.res.headers.entries[i].value;
    snprintf(v, sizeof(v), "%.*s", (int)iv.len, iv.base);
    return v;
}

/* Undo HTTP/1.1 chunked framing strictly (hex size, CRLF, data, CRLF); *ended when the last
 * chunk came. Returns the text (malloc'd), or NULL when the framing is broken. */
static char *dechunk(const fd_buf *w, int *ended)
{
    fd_buf out = {0};
    size_t in = 0;
    *ended = 0;
    fd_buf_append(&out, "", 0);
    while (in < w->len) {
        char *end = NULL;
        errno = 0;
        unsigned long size = strtoul(w->data + in, &end, 16);
        if (errno != 0 || end == w->data + in || (size_t)(end - w->data) + 2 > w->len ||
            end[0] != '\r' || end[1] != '\n')
            goto broken;
        in = (size_t)(end - w->data) + 2;
        if (in + size + 2 > w->len || w->data[in + size] != '\r' || w->data[in + size + 1] != '\n')
            goto broken;
        if (size == 0) {
            *ended = in + 2 == w->len; /* nothing may follow the last chunk */
            if (!*ended)
                goto broken;
            break;
        }
        fd_buf_append(&out, w->data + in, size);
        in += size + 2;
    }
    return out.data;
broken:
    fd_buf_free(&out);
    return NULL;
}

/* An event whose data is `n` bytes of `c` (a big one fills a socket). */
static void emit_big(fixture *f, int64_t seq, char c, size_t n)
{
    char *data = malloc(n);
    assert_non_null(data);
    memset(data, c, n);
    hub_emit(f->hub, seq, NULL, "team.update", data, n);
    free(data);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* HTTP/1.1 streams announce chunked and carry exactly an HTTP/1.0 stream's text, framed, whether
 * h2o or the socket carries the events; the last chunk ends them. The live events of an idle
 * HTTP/1.1 stream go to the socket, not through h2o. */
static void test_chunked_streams_carry_the_same_text(void **state)
{
    fixture *f = *state;
    client *plain = open_client(f, 0x100, 0);
    client *h2o_only = open_client(f, 0x101, 0);
    client *direct = open_client(f, 0x101, 1);
    assert_null(header(plain, "transfer-encoding"));
    assert_string_equal(header(h2o_only, "transfer-encoding"), "chunked");
    assert_string_equal(header(direct, "transfer-encoding"), "chunked");
    client *all[] = {plain, h2o_only, direct};
    for (int i = 0; i < 3; i++)
        drain(f, all[i]);
    size_t head_via_h2o = direct->via_h2o;
    assert_true(head_via_h2o > 0); /* the response head and first block went through h2o */

    const char json[] = "{\"note\":\n\"a\"\r\n}";
    hub_emit(f->hub, 1, NULL, "team.create", "{\"n\":1}", 7);
    hub_emit(f->hub, 2, NULL, "step.tick", json, sizeof(json) - 1);
    for (int i = 0; i < 3; i++)
        drain(f, all[i]);
    emit_big(f, 3, 'x', 70000);
    for (int i = 0; i < 3; i++)
        drain(f, all[i]);
    hub_heartbeat(f->hub);
    hub_emit(f->hub, 4, NULL, "team.create", "{\"n\":4}", 7);
    for (int i = 0; i < 3; i++)
        drain(f, all[i]);
    assert_int_equal(direct->via_h2o, head_via_h2o); /* every event went to the socket */

    hub_shutdown(f->hub);
    for (int i = 0; i < 3; i++) {
        drain(f, all[i]);
        assert_true(all[i]->final);
    }
    assert_non_null(strstr(plain->wire.data, "id: 4\nevent: team.create\ndata: {\"n\":4}\n\n"));
    for (int i = 1; i < 3; i++) {
        int ended = 0;
        char *text = dechunk(&all[i]->wire, &ended);
        assert_non_null(text);
        assert_true(ended);
        assert_string_equal(text, plain->wire.data);
        free(text);
    }
    for (int i = 0; i < 3; i++)
        client_close(f, all[i]);
}

/* A socket that takes only part of a chunk: h2o gets the rest (and waits for the socket), later
 * events queue behind it, and once the client reads, the stream writes directly again. */
static void test_partial_write_goes_on_through_h2o(void **state)
{
    fixture *f = *state;
    client *plain = open_client(f, 0x100, 0);
    client *cl = open_client(f, 0x101, 1);
    int small = 4096;
    assert_int_equal(
        setsockopt(h2o_socket_get_fd(cl->sock), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    drain(f, plain);
    drain(f, cl);
    size_t head = cl->via_h2o;

    emit_big(f, 1, 'a', 200000); /* more than the socket takes at once */
    for (int i = 0; i < 10 && h2o_timeout_is_linked(&f->hub->flush_entry); i++)
        h2o_evloop_run(f->loop, 0);
    assert_true(cl->pending); /* h2o holds the rest of the chunk */
    size_t rest = cl->via_h2o - head;
    assert_true(rest > 0 && rest < 200000);
    hub_emit(f->hub, 2, NULL, "team.create", "{\"n\":2}", 7); /* queues behind it */
    drain(f, plain);
    drain(f, cl);

    size_t before = cl->via_h2o;
    hub_emit(f->hub, 3, NULL, "team.create", "{\"n\":3}", 7);
    drain(f, plain);
    drain(f, cl);
    assert_int_equal(cl->via_h2o, before); /* idle again: straight to the socket */

    hub_shutdown(f->hub);
    drain(f, plain);
    drain(f, cl);
    int ended = 0;
    char *text = dechunk(&cl->wire, &ended);
    assert_non_null(text);
    assert_true(ended);
    assert_string_equal(text, plain->wire.data);
    free(text);
    client_close(f, plain);
    client_close(f, cl);
}

/* A socket whose client is gone: the direct write fails and h2o gets the whole chunk (on a real
 * connection its own write then fails and it closes the connection, which ends the stream). */
static void test_broken_socket_leaves_the_chunk_to_h2o(void **state)
{
    fixture *f = *state;
    client *cl = open_client(f, 0x101, 1);
    drain(f, cl);
    close(cl->peer);
    cl->peer = -1;
    size_t before = cl->wire.len;
    hub_emit(f->hub, 7, NULL, "team.create", "{\"n\":7}", 7);
    drain(f, cl);
    const char want[] = "28\r\nid: 7\nevent: team.create\ndata: {\"n\":7}\n\n\r\n";
    assert_int_equal(cl->wire.len - before, sizeof(want) - 1);
    assert_memory_equal(cl->wire.data + before, want, sizeof(want) - 1);
    client_close(f, cl);
}

/* Many idle streams at once: from HUB_FANOUT_SPLIT_MIN direct writes on, a helper thread writes
 * some of them (hub_fanout.c; here the loop is held to half, so the helper surely writes). Every
 * stream must still carry exactly the HTTP/1.0 text, also those whose socket takes only part of a
 * chunk (the rest is handed back to the loop, then h2o) and those whose client is gone (h2o gets
 * the whole chunk), wherever they fall in the split. */
static void test_split_fanout_keeps_every_stream_whole(void **state)
{
    fixture *f = *state;
    enum { N = HUB_FANOUT_SPLIT_MIN + 16 };
    client *plain = open_client(f, 0x100, 0);
    client *cl[N];
    for (int i = 0; i < N; i++) {
        cl[i] = open_client(f, 0x101, 1);
        int small = 4096;
        if (i % 3 == 1)
            assert_int_equal(setsockopt(h2o_socket_get_fd(cl[i]->sock), SOL_SOCKET, SO_SNDBUF,
                                        &small, sizeof(small)),
                             0);
    }
    drain(f, plain);
    for (int i = 0; i < N; i++)
        drain(f, cl[i]);
    int gone[] = {0, 3 * (N / 6), 3 * (N / 3 - 1)}; /* big sockets, spread over both halves */
    for (size_t g = 0; g < sizeof(gone) / sizeof(gone[0]); g++) {
        close(cl[gone[g]]->peer);
        cl[gone[g]]->peer = -1;
    }
    size_t head[N];
    for (int i = 0; i < N; i++)
        head[i] = cl[i]->via_h2o;

    size_t splits = f->hub->fanout_splits;
    size_t helped = f->hub->fanout_helper_writes;
    f->hub->fanout_loop_max = N / 2;
    hub_emit(f->hub, 1, NULL, "team.create", "{\"n\":1}", 7);
    drain(f, plain);
    for (int i = 0; i < N; i++)
        drain(f, cl[i]);
    assert_true(f->hub->fanout_splits > splits);
    assert_true(f->hub->fanout_helper_writes - helped >= N - N / 2); /* the helper took part */
    for (int i = 0; i < N; i++)
        if (cl[i]->peer >= 0)
            assert_int_equal(cl[i]->via_h2o, head[i]); /* written directly, by either thread */

    emit_big(f, 2, 'b', 100000); /* more than a small socket takes */
    for (int i = 0; i < 10 && h2o_timeout_is_linked(&f->hub->flush_entry); i++)
        h2o_evloop_run(f->loop, 0);
    for (int i = 1; i < N; i += 3) {
        assert_true(cl[i]->pending); /* h2o holds the rest of the chunk */
        size_t rest = cl[i]->via_h2o - head[i];
        assert_true(rest > 0 && rest < 100000);
    }
    hub_emit(f->hub, 3, NULL, "team.create", "{\"n\":3}", 7); /* queues behind the rest */
    drain(f, plain);
    for (int i = 0; i < N; i++)
        drain(f, cl[i]);
    hub_emit(f->hub, 4, NULL, "step.tick", "{\"n\":4}", 7);
    drain(f, plain);
    for (int i = 0; i < N; i++)
        drain(f, cl[i]);

    hub_shutdown(f->hub);
    drain(f, plain);
    assert_true(plain->final);
    assert_non_null(strstr(plain->wire.data, "id: 4\nevent: step.tick\ndata: {\"n\":4}\n\n"));
    for (int i = 0; i < N; i++) {
        drain(f, cl[i]);
        assert_true(cl[i]->final);
        int ended = 0;
        char *text = dechunk(&cl[i]->wire, &ended);
        assert_non_null(text);
        assert_true(ended);
        assert_string_equal(text, plain->wire.data);
        free(text);
    }
    client_close(f, plain);
    for (int i = 0; i < N; i++)
        client_close(f, cl[i]);
}

/* Without a limit, the loop and the helper each take streams of a flush until none is left:
 * the split differs from flush to flush (a helper that starts late writes few or none and may
 * be called off), but every stream must be written exactly once and directly (a stream written
 * by both threads would carry an event twice; one written by neither, or handed to h2o while
 * the helper still writes it, would show up as bytes through h2o). Many flushes in a row, so
 * both the waited-for and the called-off helper come up. */
static void test_shared_fanout_writes_each_stream_once(void **state)
{
    fixture *f = *state;
    enum { N = HUB_FANOUT_SPLIT_MIN * 2, EVENTS = 60 };
    client *plain = open_client(f, 0x100, 0);
    client *cl[N];
    for (int i = 0; i < N; i++)
        cl[i] = open_client(f, 0x101, 1);
    drain(f, plain);
    for (int i = 0; i < N; i++)
        drain(f, cl[i]);
    size_t head[N];
    for (int i = 0; i < N; i++)
        head[i] = cl[i]->via_h2o;

    size_t splits = f->hub->fanout_splits;
    for (int e = 1; e <= EVENTS; e++) {
        char data[32];
        int len = snprintf(data, sizeof(data), "{\"n\":%d}", e);
        hub_emit(f->hub, e, NULL, "step.tick", data, (size_t)len);
        drain(f, plain);
        for (int i = 0; i < N; i++)
            drain(f, cl[i]);
    }
    assert_int_equal(f->hub->fanout_splits - splits, EVENTS); /* every flush was offered */
    for (int i = 0; i < N; i++)
        assert_int_equal(cl[i]->via_h2o, head[i]); /* every event went to the socket */

    hub_shutdown(f->hub);
    drain(f, plain);
    assert_non_null(strstr(plain->wire.data, "id: 60\nevent: step.tick\ndata: {\"n\":60}\n\n"));
    for (int i = 0; i < N; i++) {
        drain(f, cl[i]);
        int ended = 0;
        char *text = dechunk(&cl[i]->wire, &ended);
        assert_non_null(text);
        assert_true(ended);
        assert_string_equal(text, plain->wire.data);
        free(text);
    }
    client_close(f, plain);
    for (int i = 0; i < N; i++)
        client_close(f, cl[i]);
}

/* A message is framed once, for every stream: the size line in hex, the block, CRLF. */
static void test_message_is_framed_once(void **state)
{
    (void)state;
    hub_msg *m = hub_msg_event(12, "x", "{}", 2);
    assert_non_null(m);
    const char block[] = "id: 12\nevent: x\ndata: {}\n\n";
    assert_int_equal(m->len, sizeof(block) - 1);
    assert_memory_equal(m->text, block, m->len);
    const char chunk[] = "1a\r\nid: 12\nevent: x\ndata: {}\n\n\r\n";
    assert_int_equal(m->chunk_len, sizeof(chunk) - 1);
    assert_memory_equal(m->chunk, chunk, m->chunk_len);
    hub_msg_unref(m);
    hub_msg *empty = hub_msg_text("");
    assert_non_null(empty);
    assert_int_equal(empty->chunk_len, 0); /* never "0\r\n\r\n": that would end the response */
    hub_msg_unref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chunked_streams_carry_the_same_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_write_goes_on_through_h2o, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_socket_leaves_the_chunk_to_h2o, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_split_fanout_keeps_every_stream_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shared_fanout_writes_each_stream_once, setup,
                                        teardown),
        cmocka_unit_test(test_message_is_framed_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
