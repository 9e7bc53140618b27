/*
 * hub_internal.h - the event hub's insides, shared by server/hub.c (streams, fan-out, replay,
 * handlers), server/hub_msg.c (formatted messages and bounded queues) and server/hub_presence.c
 * (who has a migration open). Nothing outside the hub and its unit test includes this.
 *
 * Everything here runs on the event-loop thread, except the sendmsg of a flush's direct writes,
 * which hub_fanout.c may share with its one helper thread (see there for why that is safe).
 */
#ifndef FD_HUB_INTERNAL_H
#define FD_HUB_INTERNAL_H

#include <h2o.h>
#include <jansson.h>
#include <stdint.h>

#include "server/hub.h"

#define HUB_QUEUE_MAX_EVENTS 1000         /* messages one stream may have waiting */
#define HUB_QUEUE_MAX_BYTES (1024 * 1024) /* ... or bytes; past either it is resynced */
#define HUB_REPLAY_PAGE 500               /* events read from the audit log at a time */
#define HUB_HEARTBEAT_MS 15000
#define HUB_PRESENCE_DELAY_MS 100 /* joins and leaves within this window make one event */
#define HUB_SEND_BATCH 32         /* messages per send */
#define HUB_FANOUT_SPLIT_MIN 64   /* direct writes in one flush from which two threads write */

#define HUB_CHUNK_HEAD_MAX 18 /* "<size in hex>\r\n": 16 digits at most, CR, LF */

/*
 * One formatted event-stream block, shared (refcounted) by every stream that sends it. It is
 * stored framed as one HTTP/1.1 chunk, "<size in hex>\r\n<block>\r\n", so that a chunked
 * stream sends `chunk` as it is and another (HTTP/1.0, tests) sends `text`: the framing is done
 * once per message, not once per stream.
 */
typedef struct hub_msg {
    size_t refs;
    size_t len;        /* of the block */
    char *text;        /* the block: len bytes in buf, followed by "\r\n" */
    const char *chunk; /* the chunk: chunk_len bytes in buf, ending with the block's "\r\n" */
    size_t chunk_len;
    char buf[]; /* room for the size line, the block, "\r\n" and a NUL */
} hub_msg;

/* A growable ring of messages waiting to be sent; `bytes` is the sum of their lengths. */
typedef struct hub_queue {
    hub_msg **items;
    size_t head, count, cap;
    size_t bytes;
} hub_queue;

typedef struct hub_room hub_room;

/* One open event stream. Allocated in the request's pool with h2o_mem_alloc_shared, so its
 * dispose hook runs exactly once, when the last reference goes. */
typedef struct hub_stream {
    h2o_generator_t super; /* first: h2o hands it back to proceed/stop */
    h2o_req_t *req;
    fd_hub *hub;         /* NULL once detached: the hub no longer sends to it */
    hub_room *room;      /* the migration's room, NULL for /api/events */
    h2o_linklist_t link; /* in room->streams or hub->all */
    char mid[FD_SLUG_MAX + 1];
    char sub[FD_NAME_MAX]; /* "" when the request carried no actor */
    char name[FD_NAME_MAX];
    fd_role role;
    int64_t since_ms;
    int64_t watermark;    /* W: replay covers (after, W], live events come after W */
    int64_t replay_after; /* the replay cursor: last seq replayed */
    int64_t last_seq;     /* the newest live seq queued; emits at or below it are ignored */
    int replaying;
    int want_presence;    /* send the next presence message even if nobody joined */
    int presence_pending; /* send the room's current presence message at the next flush */
    int ending;           /* send what is queued, then FINAL */
    int uncounted;        /* no longer in hub->nstreams (ending, or detached) */
    int finished;         /* FINAL handed to h2o */
    int stopped;          /* h2o stopped the generator: never call h2o_send again */
    int sending;          /* one h2o_send outstanding */
    int chunked;          /* HTTP/1.1: the hub frames the body as chunks itself (hub_msg) */
    int head_sent;        /* h2o has written the response head (its first send completed) */
    hub_queue out;        /* ready to send, in order */
    hub_queue held;       /* live events that arrived during the replay */
    hub_msg *inflight[HUB_SEND_BATCH];
    h2o_iovec_t vec[HUB_SEND_BATCH + 1]; /* + the last chunk */
    size_t ninflight;
    int in_flush; /* on hub->flush_head (holding a reference) */
    struct hub_stream *flush_next;
    /* One send, from stream_prepare to stream_complete (hub.c). Set on the loop thread; only
     * direct_done is written by whichever thread does the direct write (hub_fanout.c). */
    int prep;                       /* what stream_prepare found: PREP_NONE, _H2O, _DIRECT */
    int batch_final;                /* the batch ends the response */
    size_t nvec;                    /* entries of vec to send */
    int direct_fd;                  /* PREP_DIRECT: the socket, free of h2o writes */
    size_t direct_done;             /* bytes the socket took (0: full, broken) */
    struct hub_stream *direct_next; /* the flush's chain of direct writes */
    struct hub_stream *batch_next;  /* the flush's streams, in order */
} hub_stream;

/* The streams of one migration, and its presence. Exists while it has streams. */
struct hub_room {
    h2o_linklist_t link;    /* in hub->rooms */
    h2o_linklist_t streams; /* hub_stream.link */
    char mid[FD_SLUG_MAX + 1];
    size_t nstreams;
    hub_msg *presence; /* the latest presence message, NULL until built */
    int dirty;         /* rebuild the presence message */
    int changed;       /* somebody joined or left: every stream gets it */
};

struct fd_hub {
    h2o_context_t *ctx;
    fd_store *st;
    int64_t seq;          /* newest committed seq known (the log's at start, then emits) */
    h2o_linklist_t all;   /* streams of /api/events */
    h2o_linklist_t rooms; /* hub_room.link */
    size_t nstreams;
    int closing;
    hub_msg *heartbeat;
    hub_msg *slow;   /* resync: slow consumer */
    hub_msg *broken; /* resync: the replay failed */
    h2o_timeout_t hb_timeout;
    h2o_timeout_entry_t hb_entry;
    h2o_timeout_t presence_timeout;
    h2o_timeout_entry_t presence_entry;
    hub_stream *flush_head;      /* streams with something new, flushed after a fan-out */
    h2o_timeout_t flush_timeout; /* 0 ms: a fan-out is written at the end of the loop
                                    iteration, after the answers the commit released */
    h2o_timeout_entry_t flush_entry;
    struct hub_fanout *fanout;   /* the helper thread of hub_fanout.c, NULL until first needed */
    int fanout_failed;           /* it could not start: the loop writes everything */
    size_t fanout_splits;        /* flushes offered to two threads (for tests) */
    size_t fanout_helper_writes; /* streams the helper thread wrote, all flushes (for tests) */
    size_t fanout_loop_max;      /* tests only: at most this many streams of a split flush are
                                    written by the loop, the rest wait for the helper (0: no
                                    limit, each thread takes what it has time for) */
};

/* ---- hub_msg.c ---- */

/* A message holding `s` verbatim (comments, the first block). NULL when memory runs out.
 * The caller owns the one reference (hub_msg_unref). */
hub_msg *hub_msg_text(const char *s);

/*
 * An event block: "id: <seq>\n" (only when seq > 0), "event: <event>\n" (CR/LF removed), one
 * "data: " line per line of `data` (CR, LF and CRLF each end a line), then the blank line that
 * dispatches it. NULL when memory runs out; the caller owns the one reference.
 */
hub_msg *hub_msg_event(int64_t seq, const char *event, const char *data, size_t len);

/* Drop one reference (NULL is fine); the last one frees. */
void hub_msg_unref(hub_msg *m);

/* Append `m`, taking a new reference. 0, or -1 when memory runs out (nothing changed).
 * Bounds are the caller's business (see hub.c stream_offer). */
int hub_queue_push(hub_queue *q, hub_msg *m);

/* Remove the oldest message and hand its reference to the caller; NULL when empty. */
hub_msg *hub_queue_pop(hub_queue *q);

/* Drop every message and the ring; the queue is empty and reusable. */
void hub_queue_clear(hub_queue *q);

/* ---- hub_fanout.c ---- */

/* The direct write of one prepared stream (s->vec[0..nvec) to s->direct_fd, one sendmsg, never
 * blocking): sets s->direct_done to the bytes taken, 0 when none (full, broken). Touches nothing
 * else, so it may run on the fan-out thread. */
void hub_stream_send(hub_stream *s);

/* Write the `count` prepared streams of `chain` (linked by direct_next) with hub_stream_send.
 * From HUB_FANOUT_SPLIT_MIN on, the fan-out thread (started on first use) and the calling loop
 * thread both take streams from the flush until none is left (each as many as it gets to);
 * returns only when every stream is written and the helper holds none. The caller must run no
 * h2o code on these streams' connections until it returns. */
void hub_fanout_write(fd_hub *hub, hub_stream *chain, size_t count);

/* Stop and join the fan-out thread, if it was started (hub_free). */
void hub_fanout_stop(fd_hub *hub);

/* ---- hub_presence.c ---- */

/* Put `s` (attached, with s->mid set) into its migration's room, creating the room. Schedules
 * a presence message: to everyone when s->sub is new there, else to `s` alone. 0 or -1 (no
 * memory). */
int hub_room_join(fd_hub *hub, hub_stream *s);

/* Take `s` out of its room; frees the room with its last stream; a presence message follows
 * when it was the user's last stream there. */
void hub_room_leave(fd_hub *hub, hub_stream *s);

/* The room of `mid`, or NULL. */
hub_room *hub_room_find(fd_hub *hub, const char *mid);

/* Free a room (its streams must be gone or already detached). */
void hub_room_free(hub_room *r);

/* {"migration": mid, "users": [{sub, name, role, since}]}: one entry per sub, `since` its
 * earliest open stream, earliest first. r may be NULL (nobody). Owned by the caller; NULL when
 * memory runs out. */
json_t *hub_presence_doc(const hub_room *r, const char *mid);

/* The presence timer's callback (hub->presence_entry). */
void hub_presence_on_timer(h2o_timeout_entry_t *entry);

/* ---- hub.c, used by hub_presence.c ---- */

/* Remember that `s` has something to send; hub_flush_pending sends it. */
void hub_stream_mark(fd_hub *hub, hub_stream *s);

/* Flush every marked stream. */
void hub_flush_pending(fd_hub *hub);

/* The hub installed with hub_set_current. */
fd_hub *hub_get_current(void);

/* 0 when migration `mid` exists; else answers the problem (404, ...) and returns -1. */
int hub_migration_exists_or_reply(api_call *c, const char *mid);

#endif
