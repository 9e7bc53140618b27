/*
 * hub.c - the event hub: server-sent event streams fed from committed audit events only.
 *
 * Wire format (text/event-stream, one block per message, each ending in a blank line):
 *   : flightdeck            first block, sent at once so the headers go out; carries
 *   retry: 2000             the reconnect delay and, on a fresh stream, "id: <seq>" of the
 *   id: 41                  newest committed event, so a reconnect resumes from there
 *
 *   id: 42                  one block per committed audit event: id = its audit seq,
 *   event: step.tick        event = its action, data = the event JSON exactly as the audit
 *   data: {"seq":42,...}    export gives it (a newline inside would become another data: line)
 *
 *   event: presence         who has the migration open (per-migration streams only); no id:
 *   data: {"migration":..}  line, so it never moves the client's Last-Event-ID
 *
 *   : hb                    heartbeat every 15 s, so dead HTTP/1 clients are noticed
 *
 *   event: resync           the last block of a stream that fell too far behind (or asked to
 *   data: {"reason":...}    resume from an id this server never issued); the stream then ends
 *
 * No gap, no duplicate: the hub remembers the newest seq handed to it (`hub->seq`, which starts at
 * the log's last seq). A stream that opens records that number as its watermark W. Events up to W
 * are committed, so they are replayed from the audit log (a page at a time, only when the stream's
 * queue is empty); events after W are emitted later, in commit order, and are held in the stream's
 * `held` queue until the replay reaches W. Every stream also ignores any emitted seq at or below
 * the last one it queued, so an event handed over twice is sent once.
 *
 * Memory: each event is formatted once into a refcounted message shared by every stream that
 * queues it. A stream holds at most HUB_QUEUE_MAX_EVENTS messages or HUB_QUEUE_MAX_BYTES bytes
 * waiting; past that it gets the resync block and ends, and nobody else waits for it. The stream
 * object lives in the request's pool (h2o_mem_alloc_shared), so its dispose hook runs exactly
 * once, however the stream ends.
 *
 * Writing (what a fan-out to a thousand streams costs): over HTTP/1.1 the hub frames the body as
 * chunks itself, each message stored once as a ready chunk (hub_msg), so h2o's chunked encoder
 * stands aside. A stream whose last send h2o has completed and whose batch is all it has (the
 * live case: one new event) is written with one sendmsg of its own (stream_prepare, then
 * hub_stream_send); what the socket does not take, and everything else (the head, replays, the
 * end), goes through h2o. The body's bytes are the same either way (the head differs from
 * before this framing only in order: transfer-encoding now comes before our
 * X-Content-Type-Options, as we set it before h2o starts the response). A flush prepares every
 * stream first, then does the direct writes, on two threads when there are many (hub_fanout.c:
 * the kernel's part of a thousand loopback sends is most of a fan-out), then hands h2o the rest.
 *
 * Everything here runs on the event-loop thread, except those sendmsg calls; nothing is locked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/reply.h"
#include "core/audit.h"
#include "core/flight.h"
#include "server/hub_internal.h"

static fd_hub *hub_current;

/* ---- streams ----------------------------------------------------------------------------- */

/* Queue `s` for the next hub_flush_pending (a reference keeps it alive until then). */
void hub_stream_mark(fd_hub *hub, hub_stream *s)
{
    if (s->in_flush)
        return;
    s->in_flush = 1;
    s->flush_next = hub->flush_head;
    hub->flush_head = s;
    h2o_mem_addref_shared(s);
}

static void stream_release_inflight(hub_stream *s)
{
    for (size_t i = 0; i < s->ninflight; i++)
        hub_msg_unref(s->inflight[i]);
    s->ninflight = 0;
}

/* Take the stream out of the hub (idempotent): no more events, presence updated. */
static void stream_detach(hub_stream *s)
{
    fd_hub *hub = s->hub;
    if (hub == NULL)
        return;
    s->hub = NULL;
    if (!s->uncounted)
        hub->nstreams--;
    s->uncounted = 1;
    hub_room_leave(hub, s); /* unlinks from the room, or from hub->all */
}

/* Drop what is waiting, queue `last` (may be NULL) and end the stream after it. The stream
 * leaves the hub (and its room) in hub_flush_pending, not here: callers may be walking a room. */
static void stream_end(hub_stream *s, hub_msg *last)
{
    if (s->ending)
        return;
    hub_queue_clear(&s->out);
    hub_queue_clear(&s->held);
    s->replaying = 0;
    s->presence_pending = s->want_presence = 0;
    if (last != NULL)
        hub_queue_push(&s->out, last); /* on failure the stream still ends, without the notice */
    s->ending = 1;
    if (s->hub != NULL) {
        /* no longer a subscriber from now on, though it leaves the lists only at the flush */
        if (!s->uncounted)
            s->hub->nstreams--;
        s->uncounted = 1;
        hub_stream_mark(s->hub, s);
    }
}

/* A live message for the stream: held back during a replay, else queued; past the bounds the
 * stream ends with a resync. */
static void stream_offer(fd_hub *hub, hub_stream *s, hub_msg *m)
{
    hub_queue *q = s->replaying ? &s->held : &s->out;
    if (q->count >= HUB_QUEUE_MAX_EVENTS ||
        (q->count > 0 && q->bytes + m->len > HUB_QUEUE_MAX_BYTES) || hub_queue_push(q, m) != 0) {
        stream_end(s, hub->slow);
        return;
    }
    hub_stream_mark(hub, s);
}

typedef struct replay_page {
    hub_stream *s;
    size_t bytes;
    int full;    /* the page reached the byte budget; the rest comes with the next page */
    int reached; /* an event past the watermark was seen: the replay is complete */
    int failed;
} replay_page;

static void replay_one(void *arg, int64_t seq, const char *migration, const char *action,
                       const char *json, size_t len)
{
    replay_page *p = arg;
    hub_stream *s = p->s;
    (void)migration;
    if (p->full || p->failed || p->reached)
        return;
    if (seq > s->watermark) {
        p->reached = 1; /* emitted after the stream opened: it is in `held` */
        return;
    }
    if (seq <= s->replay_after)
        return;
    if (p->bytes >= HUB_QUEUE_MAX_BYTES) {
        p->full = 1;
        return;
    }
    hub_msg *m = hub_msg_event(seq, action, json, len);
    if (m == NULL || hub_queue_push(&s->out, m) != 0) {
        p->failed = 1;
        hub_msg_unref(m);
        return;
    }
    p->bytes += m->len;
    hub_msg_unref(m);
    s->replay_after = seq;
}

/* Replay the next page from the audit log into `out`; when the log is caught up to the
 * watermark, the held live events follow and the stream is live. */
static void stream_replay_page(fd_hub *hub, hub_stream *s)
{
    replay_page p = {.s = s};
    int count = 0;
    fd_err e = audit_each_after(hub->st, s->mid[0] ? s->mid : NULL, s->replay_after,
                                HUB_REPLAY_PAGE, replay_one, &p, &count);
    if (e != FD_OK || p.failed) {
        fprintf(stderr, "hub: replay after %" PRId64 " failed (%s)\n", s->replay_after,
                fd_err_name(e != FD_OK ? e : FD_E_INTERNAL));
        stream_end(s, hub->broken);
        return;
    }
    if (p.full || (!p.reached && count >= HUB_REPLAY_PAGE && s->replay_after < s->watermark))
        return; /* more to replay */
    hub_msg *m;
    while ((m = hub_queue_pop(&s->held)) != NULL) {
        int rc = hub_queue_push(&s->out, m);
        hub_msg_unref(m);
        if (rc != 0) {
            stream_end(s, hub->slow);
            return;
        }
    }
    s->replaying = 0;
}

/* What stream_prepare found to do. */
enum { PREP_NONE, PREP_H2O, PREP_DIRECT };

/*
 * The socket a stream's bytes may be written to directly, or -1. For a thousand subscribers this
 * leaves the syscall alone per stream, without h2o's send path (the ostream chain, then a
 * completion callback and a proceed on the next pass over its pending sockets). The bytes are
 * the ones h2o would write, as the hub frames the chunks itself (s->chunked). Only on a plain
 * HTTP/1.1 connection on which h2o has nothing in flight: its response head is out and its last
 * send completed, so no byte of h2o's can come before or after these.
 */
static int stream_direct_fd(hub_stream *s)
{
    h2o_conn_t *conn = s->req->conn;
    if (!s->chunked || !s->head_sent || conn->callbacks->get_socket == NULL)
        return -1;
    h2o_socket_t *sock = conn->callbacks->get_socket(conn);
    /* _cb.write is set while h2o has a write of its own in flight; s->sending says the same
     * for ours, but the socket is h2o's to vouch for */
    if (sock == NULL || sock->ssl != NULL || sock->_cb.write != NULL)
        return -1;
    return h2o_socket_get_fd(sock);
}

/*
 * A send in two halves, so that the writes of many streams can be done together in between
 * (hub_flush_pending). stream_prepare takes the next batch if nothing is outstanding: into
 * s->inflight and s->vec, and says how it goes: PREP_DIRECT when the batch is all the stream has
 * (the live fan-out: one new event) and the socket is free (s->direct_fd), else PREP_H2O, or
 * PREP_NONE when there is nothing to send. It runs no h2o code that writes.
 */
static int stream_prepare(hub_stream *s)
{
    if (s->req == NULL || s->stopped || s->finished || s->sending)
        return PREP_NONE;
    if (s->replaying && s->out.count == 0 && s->hub != NULL)
        stream_replay_page(s->hub, s);
    size_t n = 0;
    if (s->presence_pending && s->room != NULL && s->room->presence != NULL) {
        s->inflight[n++] = s->room->presence;
        s->room->presence->refs++;
    }
    s->presence_pending = 0;
    hub_msg *m;
    while (n < HUB_SEND_BATCH && (m = hub_queue_pop(&s->out)) != NULL)
        s->inflight[n++] = m;
    int final = s->ending && s->out.count == 0;
    if (n == 0 && !final)
        return PREP_NONE;
    size_t nvec = 0;
    for (size_t i = 0; i < n; i++) {
        m = s->inflight[i];
        s->vec[nvec++] =
            s->chunked ? h2o_iovec_init(m->chunk, m->chunk_len) : h2o_iovec_init(m->text, m->len);
    }
    if (final && s->chunked)
        s->vec[nvec++] = h2o_iovec_init(H2O_STRLIT("0\r\n\r\n")); /* the last chunk */
    s->ninflight = n;
    s->nvec = nvec;
    s->batch_final = final;
    s->direct_done = 0;
    if (!final && !s->replaying && s->out.count == 0 && (s->direct_fd = stream_direct_fd(s)) >= 0)
        return PREP_DIRECT;
    return PREP_H2O;
}

/*
 * The second half: after a direct write (s->direct_done bytes taken), the batch is done or its
 * rest goes through h2o (which waits for the socket, or closes a broken connection); a PREP_H2O
 * batch goes through h2o whole. h2o_send is the last thing done: h2o may call proceed (or even
 * dispose the request) before it returns.
 */
static void stream_complete(hub_stream *s, int prep)
{
    if (prep == PREP_NONE)
        return;
    if (s->req == NULL || s->stopped) {
        stream_release_inflight(s); /* gone between the halves: nothing more to send */
        return;
    }
    h2o_iovec_t *vec = s->vec;
    size_t nvec = s->nvec;
    if (prep == PREP_DIRECT) {
        size_t done = s->direct_done;
        s->req->bytes_sent += done;
        while (nvec > 0 && done >= vec->len) {
            done -= vec->len;
            vec++;
            nvec--;
        }
        if (nvec == 0) {
            stream_release_inflight(s);
            return;
        }
        vec->base += done; /* the part of a chunk the socket did not take */
        vec->len -= done;
    }
    s->sending = 1;
    if (s->batch_final) {
        s->finished = 1;
        stream_detach(s);
    }
    h2o_send(s->req, vec, nvec, s->batch_final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

/* Send the next batch of one stream, written directly when it can be (see stream_prepare). */
static void stream_flush(hub_stream *s)
{
    int prep = stream_prepare(s);
    if (prep == PREP_DIRECT)
        hub_stream_send(s);
    stream_complete(s, prep);
}

/*
 * Flush every marked stream, in three passes: prepare each (loop thread), write the direct ones
 * (hub_fanout_write: two threads when there are many, and back only when all are written), then
 * complete each (h2o gets what the sockets did not take). No h2o code runs between a stream's
 * prepare and its write, so the socket found free stays free. Each stream holds a reference,
 * so one whose request was disposed meanwhile is freed here, not under our feet. A stream marked
 * again while this runs (its list link is reused) is flushed in the next round.
 */
void hub_flush_pending(fd_hub *hub)
{
    while (hub->flush_head != NULL) {
        hub_stream *list = hub->flush_head, *next;
        hub->flush_head = NULL;
        hub_stream *batch = NULL, **batch_tail = &batch;
        hub_stream *chain = NULL, **chain_tail = &chain;
        size_t ndirect = 0;
        for (hub_stream *s = list; s != NULL; s = next) {
            next = s->flush_next;
            s->flush_next = NULL;
            s->in_flush = 0;
            if (s->ending)
                stream_detach(s); /* no more events, out of presence, no longer a subscriber */
            s->prep = stream_prepare(s);
            if (s->prep == PREP_DIRECT) {
                *chain_tail = s;
                chain_tail = &s->direct_next;
                ndirect++;
            }
            *batch_tail = s;
            batch_tail = &s->batch_next;
        }
        *chain_tail = NULL;
        *batch_tail = NULL;
        hub_fanout_write(hub, chain, ndirect);
        for (hub_stream *s = batch; s != NULL; s = next) {
            next = s->batch_next;
            s->batch_next = NULL;
            s->direct_next = NULL;
            stream_complete(s, s->prep);
            h2o_mem_release_shared(s);
        }
    }
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    hub_stream *s = (hub_stream *)gen;
    (void)req;
    stream_release_inflight(s);
    s->sending = 0;
    s->head_sent = 1;
    stream_flush(s);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    hub_stream *s = (hub_stream *)gen;
    (void)req;
    s->stopped = 1;
    stream_detach(s);
}

/* The request's pool let go of the stream (client gone, or the response finished). */
static void on_stream_dispose(void *p)
{
    hub_stream *s = p;
    stream_detach(s);
    stream_release_inflight(s);
    hub_queue_clear(&s->out);
    hub_queue_clear(&s->held);
    s->req = NULL;
}

/* ---- timers ------------------------------------------------------------------------------ */

static void hub_each_stream(fd_hub *hub, void (*fn)(fd_hub *hub, hub_stream *s))
{
    for (h2o_linklist_t *l = hub->all.next; l != &hub->all; l = l->next)
        fn(hub, H2O_STRUCT_FROM_MEMBER(hub_stream, link, l));
    for (h2o_linklist_t *rl = hub->rooms.next; rl != &hub->rooms; rl = rl->next) {
        hub_room *r = H2O_STRUCT_FROM_MEMBER(hub_room, link, rl);
        for (h2o_linklist_t *l = r->streams.next; l != &r->streams; l = l->next)
            fn(hub, H2O_STRUCT_FROM_MEMBER(hub_stream, link, l));
    }
}

/* A stream with nothing queued or outstanding gets a comment: over HTTP/1 a dead client is
 * noticed only when a write fails. Busy streams are writing anyway. */
static void heartbeat_one(fd_hub *hub, hub_stream *s)
{
    if (!s->ending && !s->sending && !s->replaying && s->out.count == 0 &&
        hub_queue_push(&s->out, hub->heartbeat) == 0)
        hub_stream_mark(hub, s);
}

void hub_heartbeat(fd_hub *hub)
{
    if (hub == NULL || hub->closing)
        return;
    hub_each_stream(hub, heartbeat_one);
    hub_flush_pending(hub);
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    fd_hub *hub = H2O_STRUCT_FROM_MEMBER(fd_hub, hb_entry, entry);
    hub_heartbeat(hub);
    if (!hub->closing)
        h2o_timeout_link(hub->ctx->loop, &hub->hb_timeout, &hub->hb_entry);
}

/* ---- the hub ----------------------------------------------------------------------------- */

/* The 0 ms timer: write what hub_emit queued. */
static void on_flush_timer(h2o_timeout_entry_t *entry)
{
    fd_hub *hub = H2O_STRUCT_FROM_MEMBER(fd_hub, flush_entry, entry);
    hub_flush_pending(hub);
}

/*
 * hub_emit queues and returns; the streams are written by the 0 ms timer, which h2o runs after
 * the current iteration's I/O callbacks. Events are emitted at commit, before the commit's held
 * answers are released, so writing a thousand streams there delayed the tick's own answer by as
 * long as the writes took; now the answer goes out first. Order and the no-gap/no-duplicate
 * rules are untouched: only when the queues are written moves.
 */
static void schedule_flush(fd_hub *hub)
{
    if (hub->flush_head != NULL && !h2o_timeout_is_linked(&hub->flush_entry))
        h2o_timeout_link(hub->ctx->loop, &hub->flush_timeout, &hub->flush_entry);
}

fd_hub *hub_new(h2o_context_t *ctx, fd_store *st)
{
    fd_hub *hub = calloc(1, sizeof(*hub));
    if (hub == NULL)
        return NULL;
    hub->ctx = ctx;
    hub->st = st;
    hub->seq = audit_last_seq(st);
    h2o_linklist_init_anchor(&hub->all);
    h2o_linklist_init_anchor(&hub->rooms);
    const char slow[] = "{\"reason\":\"slow consumer\"}";
    const char broken[] = "{\"reason\":\"replay failed\"}";
    hub->heartbeat = hub_msg_text(": hb\n\n");
    hub->slow = hub_msg_event(0, "resync", slow, sizeof(slow) - 1);
    hub->broken = hub_msg_event(0, "resync", broken, sizeof(broken) - 1);
    if (hub->heartbeat == NULL || hub->slow == NULL || hub->broken == NULL) {
        hub_msg_unref(hub->heartbeat);
        hub_msg_unref(hub->slow);
        hub_msg_unref(hub->broken);
        free(hub);
        return NULL;
    }
    h2o_timeout_init(ctx->loop, &hub->hb_timeout, HUB_HEARTBEAT_MS);
    hub->hb_entry.cb = on_heartbeat;
    h2o_timeout_link(ctx->loop, &hub->hb_timeout, &hub->hb_entry);
    h2o_timeout_init(ctx->loop, &hub->presence_timeout, HUB_PRESENCE_DELAY_MS);
    hub->presence_entry.cb = hub_presence_on_timer;
    h2o_timeout_init(ctx->loop, &hub->flush_timeout, 0);
    hub->flush_entry.cb = on_flush_timer;
    return hub;
}

/* End every stream of `list` with `last` (may be NULL). Safe while walking: stream_end only
 * marks; the streams leave their lists in hub_flush_pending. */
static void end_streams(fd_hub *hub, h2o_linklist_t *list, hub_msg *last)
{
    (void)hub;
    for (h2o_linklist_t *l = list->next; l != list; l = l->next)
        stream_end(H2O_STRUCT_FROM_MEMBER(hub_stream, link, l), last);
}

static void emit_one(fd_hub *hub, hub_stream *s, hub_msg *m, int64_t seq)
{
    if (s->ending || seq <= s->last_seq)
        return; /* already queued (or replayed) */
    s->last_seq = seq;
    stream_offer(hub, s, m);
}

void hub_emit(void *arg, int64_t seq, const char *migration, const char *action, const char *json,
              size_t len)
{
    fd_hub *hub = arg;
    if (hub == NULL)
        return;
    if (seq > hub->seq)
        hub->seq = seq;
    if (hub->closing)
        return;
    hub_room *r = migration ? hub_room_find(hub, migration) : NULL;
    if (r == NULL && h2o_linklist_is_empty(&hub->all))
        return; /* nobody listens: do not even format it */
    hub_msg *m = hub_msg_event(seq, action, json, len);
    if (m == NULL) {
        /* Dropping the event silently would be a gap: end every stream that wanted it, so the
         * clients reconnect and replay it from their Last-Event-ID. */
        end_streams(hub, &hub->all, hub->slow);
        if (r != NULL)
            end_streams(hub, &r->streams, hub->slow);
        hub_flush_pending(hub);
        return;
    }
    for (h2o_linklist_t *l = hub->all.next; l != &hub->all; l = l->next)
        emit_one(hub, H2O_STRUCT_FROM_MEMBER(hub_stream, link, l), m, seq);
    if (r != NULL)
        for (h2o_linklist_t *l = r->streams.next; l != &r->streams; l = l->next)
            emit_one(hub, H2O_STRUCT_FROM_MEMBER(hub_stream, link, l), m, seq);
    hub_msg_unref(m);
    schedule_flush(hub);
}

void hub_shutdown(fd_hub *hub)
{
    if (hub == NULL || hub->closing)
        return;
    end_streams(hub, &hub->all, NULL);
    for (h2o_linklist_t *l = hub->rooms.next; l != &hub->rooms; l = l->next)
        end_streams(hub, &H2O_STRUCT_FROM_MEMBER(hub_room, link, l)->streams, NULL);
    hub->closing = 1; /* before the flush: rooms emptied now schedule no presence */
    if (h2o_timeout_is_linked(&hub->hb_entry))
        h2o_timeout_unlink(&hub->hb_entry);
    if (h2o_timeout_is_linked(&hub->presence_entry))
        h2o_timeout_unlink(&hub->presence_entry);
    if (h2o_timeout_is_linked(&hub->flush_entry))
        h2o_timeout_unlink(&hub->flush_entry);
    hub_flush_pending(hub);
}

size_t hub_subscribers(fd_hub *hub)
{
    return hub ? hub->nstreams : 0;
}

void hub_free(fd_hub *hub)
{
    if (hub == NULL)
        return;
    /* Marks the flush timer did not get to (the loop stopped first): drop their references
     * without writing, as nothing runs the loop any more. */
    while (hub->flush_head != NULL) {
        hub_stream *s = hub->flush_head;
        hub->flush_head = s->flush_next;
        s->flush_next = NULL;
        s->in_flush = 0;
        h2o_mem_release_shared(s);
    }
    /* Streams still open (the loop stopped first) keep their own memory until their requests
     * are disposed; they just no longer point here. */
    while (!h2o_linklist_is_empty(&hub->all)) {
        hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, hub->all.next);
        h2o_linklist_unlink(&s->link);
        s->hub = NULL;
    }
    while (!h2o_linklist_is_empty(&hub->rooms)) {
        hub_room *r = H2O_STRUCT_FROM_MEMBER(hub_room, link, hub->rooms.next);
        while (!h2o_linklist_is_empty(&r->streams)) {
            hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, r->streams.next);
            h2o_linklist_unlink(&s->link);
            s->hub = NULL;
            s->room = NULL;
        }
        hub_room_free(r);
    }
    if (h2o_timeout_is_linked(&hub->hb_entry))
        h2o_timeout_unlink(&hub->hb_entry);
    if (h2o_timeout_is_linked(&hub->presence_entry))
        h2o_timeout_unlink(&hub->presence_entry);
    if (h2o_timeout_is_linked(&hub->flush_entry))
        h2o_timeout_unlink(&hub->flush_entry);
    hub_fanout_stop(hub);
    h2o_timeout_dispose(hub->ctx->loop, &hub->hb_timeout);
    h2o_timeout_dispose(hub->ctx->loop, &hub->presence_timeout);
    h2o_timeout_dispose(hub->ctx->loop, &hub->flush_timeout);
    hub_msg_unref(hub->heartbeat);
    hub_msg_unref(hub->slow);
    hub_msg_unref(hub->broken);
    if (hub_current == hub)
        hub_current = NULL;
    free(hub);
}

void hub_set_current(fd_hub *hub)
{
    hub_current = hub;
}

fd_hub *hub_get_current(void)
{
    return hub_current;
}

/* ---- handlers ---------------------------------------------------------------------------- */

/* A decimal event seq from a header or query value (not NUL-terminated; blanks around are
 * fine). 0 or -1. */
static int parse_seq(const char *s, size_t len, int64_t *out)
{
    char num[24];
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(num))
        return -1;
    memcpy(num, s, len);
    num[len] = '\0';
    return api_parse_int64(num, 0, INT64_MAX, out);
}

/* The seq to resume after: Last-Event-ID (what EventSource sends on reconnect) wins over
 * ?after= (what the first connection named, stale by the time of a reconnect). *after = -1 when
 * neither is given (an empty Last-Event-ID counts as none). 0, or -1 after answering 400. */
static int resume_point(api_call *c, int64_t *after)
{
    const char *what, *q;
    int rc;
    *after = -1;
    ssize_t i = h2o_find_header_by_str(&c->req->headers, H2O_STRLIT("last-event-id"), -1);
    h2o_iovec_t v = i != -1 ? c->req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
    size_t blank = 0;
    while (blank < v.len && (v.base[blank] == ' ' || v.base[blank] == '\t'))
        blank++;
    if (blank < v.len) {
        what = "Last-Event-ID";
        rc = parse_seq(v.base, v.len, after);
    } else if ((q = api_query(c, "after")) != NULL) {
        what = "after";
        rc = parse_seq(q, strlen(q), after);
    } else {
        return 0;
    }
    if (rc == 0)
        return 0;
    *after = -1;
    fd_problem p = {0};
    fd_fail(&p, FD_E_BAD_REQUEST, what, "%s must be an event sequence number (a decimal integer)",
            what);
    api_reply_error(c, FD_E_BAD_REQUEST, &p);
    return -1;
}

/* 0 when the migration exists, else answers the problem (404, ...) and returns -1. */
int hub_migration_exists_or_reply(api_call *c, const char *mid)
{
    if (strlen(mid) > FD_SLUG_MAX) {
        api_reply_problem(c->req, FD_E_NOT_FOUND, "No such migration.", NULL);
        return -1;
    }
    json_t *doc = NULL;
    fd_err e = flight_get(c->st, &c->ctx, mid, &doc);
    json_decref(doc);
    if (e == FD_OK)
        return 0;
    api_reply_error(c, e, &c->ctx.problem);
    return -1;
}

static void open_stream(api_call *c, const char *mid)
{
    fd_hub *hub = hub_current;
    h2o_req_t *req = c->req;
    int64_t after;
    if (hub == NULL || hub->closing) {
        api_reply_problem(req, FD_E_UNAVAILABLE, "The server is shutting down; reconnect shortly.",
                          NULL);
        return;
    }
    if (mid != NULL && hub_migration_exists_or_reply(c, mid) != 0)
        return;
    if (resume_point(c, &after) != 0)
        return;

    hub_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_stream_dispose);
    memset(s, 0, sizeof(*s));
    s->super.proceed = on_proceed;
    s->super.stop = on_stop;
    s->req = req;
    s->since_ms = store_now_ms(hub->st);
    if (c->actor != NULL) {
        snprintf(s->sub, sizeof(s->sub), "%s", c->actor->sub);
        snprintf(s->name, sizeof(s->name), "%s", c->actor->name);
        s->role = c->actor->role;
    }
    s->watermark = hub->seq;
    s->last_seq = hub->seq;

    /* The first block goes out at once, so the client sees the headers and the retry delay. A
     * fresh stream also learns where "now" is, so its first reconnect resumes without a gap. */
    char first[96];
    int unknown = after > s->watermark; /* an id this server never issued (another database) */
    if (after < 0 || unknown)
        snprintf(first, sizeof(first), ": flightdeck\nretry: 2000\nid: %" PRId64 "\n\n",
                 s->watermark);
    else
        snprintf(first, sizeof(first), ": flightdeck\nretry: 2000\n\n");
    hub_msg *m = hub_msg_text(first);
    if (m == NULL || hub_queue_push(&s->out, m) != 0) {
        hub_msg_unref(m);
        api_reply_problem(req, FD_E_INTERNAL, NULL, NULL);
        return;
    }
    hub_msg_unref(m);
    s->replaying = after >= 0 && after < s->watermark;
    s->replay_after = after;

    if (mid != NULL) {
        snprintf(s->mid, sizeof(s->mid), "%s", mid);
        if (hub_room_join(hub, s) != 0) {
            api_reply_problem(req, FD_E_INTERNAL, NULL, NULL);
            return; /* the pool's dispose frees the queue; the stream was never attached */
        }
    } else {
        h2o_linklist_insert(&hub->all, &s->link);
    }
    s->hub = hub;
    hub->nstreams++;

    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL,
                          H2O_STRLIT("no"));
    /* HTTP/1.1: the hub frames the chunks itself, once per message (see hub_msg); with the
     * header already there, h2o's chunked encoder stands aside. */
    s->chunked = req->version == 0x101;
    if (s->chunked)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_TRANSFER_ENCODING, NULL,
                       H2O_STRLIT("chunked"));
    h2o_start_response(req, &s->super);
    if (unknown) {
        /* After "id: W" above, the reconnect resumes from a seq this server knows. */
        const char data[] = "{\"reason\":\"unknown event id\"}";
        hub_msg *resync = hub_msg_event(0, "resync", data, sizeof(data) - 1);
        if (resync != NULL)
            hub_queue_push(&s->out, resync);
        hub_msg_unref(resync);
        s->ending = 1;
    }
    hub_stream_mark(hub, s);
    hub_flush_pending(hub);
}

void hub_handle_events(api_call *c)
{
    open_stream(c, c->nparams > 0 ? c->params[0] : "");
}

void hub_handle_events_all(api_call *c)
{
    open_stream(c, NULL);
}
