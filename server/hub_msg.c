/*
 * hub_msg.c - the event hub's messages and queues.
 *
 * A message is one event-stream block, formatted once and shared by every stream that sends it
 * (a refcount, not a copy per subscriber: 1,000 subscribers cost one formatting). A queue is a
 * growable ring of message references; it starts small, so an idle stream costs little.
 *
 * Each message is kept framed as an HTTP/1.1 chunk too (see hub_msg): a thousand HTTP/1.1
 * streams then write the same bytes, and h2o's chunked encoder (a snprintf per send) is not used.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/hub_internal.h"

static hub_msg *msg_alloc(size_t cap)
{
    hub_msg *m = malloc(sizeof(*m) + HUB_CHUNK_HEAD_MAX + cap + 3);
    if (m == NULL)
        return NULL;
    m->refs = 1;
    m->len = 0;
    m->text = m->buf + HUB_CHUNK_HEAD_MAX;
    m->chunk = NULL;
    m->chunk_len = 0;
    return m;
}

/* The caller sized the message for everything it puts. */
static void msg_put(hub_msg *m, const char *s, size_t n)
{
    memcpy(m->text + m->len, s, n);
    m->len += n;
}

/* The block is complete: frame it as a chunk, the size line written just before the text. An
 * empty block frames as nothing at all: a chunk of size 0 would end the response. */
static hub_msg *msg_seal(hub_msg *m)
{
    char head[HUB_CHUNK_HEAD_MAX + 1];
    int n = snprintf(head, sizeof(head), "%zx\r\n", m->len);
    memcpy(m->text + m->len, "\r\n", 3); /* with the NUL */
    memcpy(m->text - n, head, (size_t)n);
    m->chunk = m->text - n;
    m->chunk_len = m->len > 0 ? (size_t)n + m->len + 2 : 0;
    return m;
}

/* A field value without CR or LF: either would end the field early. */
static void msg_put_field(hub_msg *m, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n')
            msg_put(m, s + i, 1);
}

hub_msg *hub_msg_text(const char *s)
{
    size_t n = strlen(s);
    hub_msg *m = msg_alloc(n);
    if (m == NULL)
        return NULL;
    msg_put(m, s, n);
    return msg_seal(m);
}

hub_msg *hub_msg_event(int64_t seq, const char *event, const char *data, size_t len)
{
    size_t lines = 1, elen = strlen(event);
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n' || data[i] == '\r')
            lines++;
    /* "id: " + 19 digits + "\n" fits in 32; "event: " + "\n"; "data: " + "\n" per line; "\n" */
    hub_msg *m = msg_alloc(32 + 8 + elen + len + lines * 7 + 1);
    if (m == NULL)
        return NULL;
    if (seq > 0) {
        char id[32];
        int n = snprintf(id, sizeof(id), "id: %" PRId64 "\n", seq);
        msg_put(m, id, (size_t)n);
    }
    msg_put(m, "event: ", 7);
    msg_put_field(m, event, elen);
    msg_put(m, "\n", 1);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\n' && data[i] != '\r')
            continue;
        msg_put(m, "data: ", 6);
        msg_put(m, data + start, i - start);
        msg_put(m, "\n", 1);
        if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
            i++; /* CRLF is one line end */
        start = i + 1;
    }
    msg_put(m, "\n", 1);
    return msg_seal(m);
}

void hub_msg_unref(hub_msg *m)
{
    if (m != NULL && --m->refs == 0)
        free(m);
}

int hub_queue_push(hub_queue *q, hub_msg *m)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        hub_msg **items = malloc(cap * sizeof(*items));
        if (items == NULL)
            return -1;
        for (size_t i = 0; i < q->count; i++)
            items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    q->items[(q->head + q->count) % q->cap] = m;
    q->count++;
    q->bytes += m->len;
    m->refs++;
    return 0;
}

hub_msg *hub_queue_pop(hub_queue *q)
{
    if (q->count == 0)
        return NULL;
    hub_msg *m = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->bytes -= m->len;
    return m;
}

void hub_queue_clear(hub_queue *q)
{
    hub_msg *m;
    while ((m = hub_queue_pop(q)) != NULL)
        hub_msg_unref(m);
    free(q->items);
    memset(q, 0, sizeof(*q));
}
