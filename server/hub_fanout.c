/*
 * hub_fanout.c - the direct writes of one flush, shared between the loop thread and one helper.
 *
 * Why: at a thousand subscribers a live event is a thousand loopback sendmsg calls, and nearly
 * all of their cost is the kernel's (TCP transmit, the receiver's delivery done inline, waking
 * the reader): ~4 ms on one core. When a flush has HUB_FANOUT_SPLIT_MIN direct writes or more,
 * a long-lived fan-out thread writes the second half of them while the loop thread writes the
 * first, and the loop waits for it before it does anything else (a barrier).
 *
 * What makes this safe without touching h2o from two threads:
 *  - hub.c prepares every stream of the flush on the loop thread first (stream_prepare: the
 *    batch in s->vec, the socket's fd checked to be free of h2o writes), then calls
 *    hub_fanout_write, and only after it returns does it hand anything to h2o (stream_complete).
 *    So no h2o code runs while the helper writes, and no socket is written by two threads.
 *  - The helper only calls sendmsg: it reads s->vec, s->nvec and s->direct_fd of its own
 *    streams and writes their s->direct_done, nothing else. The loop touches none of those
 *    streams until the barrier; the mutex orders the two (what one wrote, the other sees).
 *  - Whatever the helper's sendmsg did not take (a full socket, EAGAIN, an error) is only
 *    recorded in direct_done; the loop hands the rest to h2o after the barrier, as for its own.
 *
 * The thread starts at the first flush that splits (a server that never fans out to many
 * streams never has it), inherits the loop thread's blocked signals (http.c blocks them before
 * anything starts), and is joined by hub_fanout_stop (hub_free).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "server/hub_internal.h"

struct hub_fanout {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the loop handed over a chain (or asked the thread to quit) */
    pthread_cond_t done; /* the thread finished its chain */
    hub_stream *chain;   /* the helper's streams (direct_next), NULL when it has none */
    size_t count;
    int busy; /* a chain is handed over and not finished */
    int quit;
};

void hub_stream_send(hub_stream *s)
{
    struct iovec iov[HUB_SEND_BATCH + 1];
    for (size_t i = 0; i < s->nvec; i++)
        iov[i] = (struct iovec){.iov_base = s->vec[i].base, .iov_len = s->vec[i].len};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = s->nvec};
    ssize_t n;
    do
        n = sendmsg(s->direct_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    s->direct_done = n > 0 ? (size_t)n : 0;
}

/* Write `count` streams of the chain starting at `s`. */
static void send_chain(hub_stream *s, size_t count)
{
    for (size_t i = 0; i < count && s != NULL; i++, s = s->direct_next)
        hub_stream_send(s);
}

static void *fanout_main(void *arg)
{
    struct hub_fanout *fo = arg;
    pthread_mutex_lock(&fo->mu);
    for (;;) {
        while (!fo->busy && !fo->quit)
            pthread_cond_wait(&fo->work, &fo->mu);
        if (!fo->busy) /* quit, with nothing handed over */
            break;
        hub_stream *chain = fo->chain;
        size_t count = fo->count;
        pthread_mutex_unlock(&fo->mu);
        send_chain(chain, count);
        pthread_mutex_lock(&fo->mu);
        fo->busy = 0;
        fo->chain = NULL;
        pthread_cond_signal(&fo->done);
    }
    pthread_mutex_unlock(&fo->mu);
    return NULL;
}

/* The fan-out thread, started on first use. NULL when it cannot be (then the loop writes
 * everything, as below the threshold); the failure is remembered, not retried per flush. */
static struct hub_fanout *fanout_get(fd_hub *hub)
{
    if (hub->fanout != NULL || hub->fanout_failed)
        return hub->fanout;
    struct hub_fanout *fo = calloc(1, sizeof(*fo));
    if (fo == NULL)
        goto failed;
    if (pthread_mutex_init(&fo->mu, NULL) != 0)
        goto failed_free;
    if (pthread_cond_init(&fo->work, NULL) != 0)
        goto failed_mu;
    if (pthread_cond_init(&fo->done, NULL) != 0)
        goto failed_work;
    if (pthread_create(&fo->thread, NULL, fanout_main, fo) != 0)
        goto failed_done;
    hub->fanout = fo;
    return fo;
failed_done:
    pthread_cond_destroy(&fo->done);
failed_work:
    pthread_cond_destroy(&fo->work);
failed_mu:
    pthread_mutex_destroy(&fo->mu);
failed_free:
    free(fo);
failed:
    fprintf(stderr, "hub: no fan-out thread; the loop writes every stream\n");
    hub->fanout_failed = 1;
    return NULL;
}

void hub_fanout_write(fd_hub *hub, hub_stream *chain, size_t count)
{
    struct hub_fanout *fo = count >= HUB_FANOUT_SPLIT_MIN ? fanout_get(hub) : NULL;
    if (fo == NULL) {
        send_chain(chain, count);
        return;
    }
    size_t mine = count / 2;
    hub_stream *rest = chain;
    for (size_t i = 0; i < mine; i++)
        rest = rest->direct_next;
    pthread_mutex_lock(&fo->mu);
    fo->chain = rest;
    fo->count = count - mine;
    fo->busy = 1;
    pthread_cond_signal(&fo->work);
    pthread_mutex_unlock(&fo->mu);

    send_chain(chain, mine);

    /* the barrier: nothing else happens on the loop until the helper is done */
    pthread_mutex_lock(&fo->mu);
    while (fo->busy)
        pthread_cond_wait(&fo->done, &fo->mu);
    pthread_mutex_unlock(&fo->mu);
    hub->fanout_splits++;
}

void hub_fanout_stop(fd_hub *hub)
{
    struct hub_fanout *fo = hub->fanout;
    if (fo == NULL)
        return;
    pthread_mutex_lock(&fo->mu);
    fo->quit = 1;
    pthread_cond_signal(&fo->work);
    pthread_mutex_unlock(&fo->mu);
    pthread_join(fo->thread, NULL);
    pthread_cond_destroy(&fo->done);
    pthread_cond_destroy(&fo->work);
    pthread_mutex_destroy(&fo->mu);
    free(fo);
    hub->fanout = NULL;
}
