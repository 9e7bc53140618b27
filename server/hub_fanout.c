/*
 * hub_fanout.c - the direct writes of one flush, shared between the loop thread and one helper.
 *
 * Why: at a thousand subscribers a live event is a thousand loopback sendmsg calls, and nearly
 * all of their cost is the kernel's (TCP transmit, the receiver's delivery done inline, waking
 * the reader): ~4 ms on one core. When a flush has HUB_FANOUT_SPLIT_MIN direct writes or more,
 * a long-lived fan-out thread helps the loop thread write them, and the loop waits for it before
 * it does anything else (a barrier).
 *
 * How the work is shared: the flush's streams are put in an array, and each thread takes the
 * next unwritten one with an atomic counter until none is left, so each writes as many as it
 * has CPU for. A fixed half each (as before) made the loop wait, idle, for a helper that the
 * scheduler had not run yet: on two cores shared with the subscribers' own reads, the helper's
 * wake-up often had to wait for a core (or took the loop's), and its half then started
 * milliseconds late. Now a helper that starts late finds less to do, and one that has not
 * started by the time the loop has taken the last stream is called off: the loop returns
 * without waiting for it.
 *
 * What makes this safe without touching h2o from two threads:
 *  - hub.c prepares every stream of the flush on the loop thread first (stream_prepare: the
 *    batch in s->vec, the socket's fd checked to be free of h2o writes), then calls
 *    hub_fanout_write, and only after it returns does it hand anything to h2o (stream_complete).
 *    So no h2o code runs while the helper writes, and no socket is written by two threads: the
 *    counter hands out each index once.
 *  - The helper only calls sendmsg: it reads s->vec, s->nvec and s->direct_fd of the streams it
 *    took and writes their s->direct_done, nothing else. The loop reads none of those until the
 *    barrier; the mutex orders the two (what one wrote, the other sees).
 *  - The array and the job are the loop's again once the helper has said it is done with the job
 *    (`job` cleared under the mutex), or once the loop called the job off before the helper took
 *    it (`taken` still 0 under the mutex): a helper woken later finds no job and waits again.
 *  - Whatever a sendmsg did not take (a full socket, EAGAIN, an error) is only recorded in
 *    direct_done; the loop hands the rest to h2o after the barrier, as for its own.
 *
 * The thread starts at the first flush that splits (a server that never fans out to many
 * streams never has it), inherits the loop thread's blocked signals (http.c blocks them before
 * anything starts), and is joined by hub_fanout_stop (hub_free).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "server/hub_internal.h"

struct hub_fanout {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the loop posted a job (or asked the thread to quit) */
    pthread_cond_t done; /* the thread finished the job it took */
    hub_stream **items;  /* the job's streams; only the loop changes it, between jobs */
    size_t cap;
    size_t count;
    atomic_size_t next;   /* the next index not yet taken by either thread */
    int job;              /* a job is posted and the helper has not finished it */
    int taken;            /* the helper has started on the posted job */
    size_t helper_writes; /* streams the helper wrote in the last job (for tests) */
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

/* Write `count` streams of the chain starting at `s` (the loop alone). */
static void send_chain(hub_stream *s, size_t count)
{
    for (size_t i = 0; i < count && s != NULL; i++, s = s->direct_next)
        hub_stream_send(s);
}

/* Take and write streams of the posted job until none is left or `max` are written; returns
 * how many this thread wrote. Relaxed order is enough for the counter: the array was published
 * under the mutex before the job was, and each index is handed out exactly once. */
static size_t take_and_send(struct hub_fanout *fo, size_t max)
{
    size_t written = 0;
    while (written < max) {
        size_t i = atomic_fetch_add_explicit(&fo->next, 1, memory_order_relaxed);
        if (i >= fo->count)
            break;
        hub_stream_send(fo->items[i]);
        written++;
    }
    return written;
}

static void *fanout_main(void *arg)
{
    struct hub_fanout *fo = arg;
    pthread_mutex_lock(&fo->mu);
    for (;;) {
        while ((!fo->job || fo->taken) && !fo->quit)
            pthread_cond_wait(&fo->work, &fo->mu);
        if (fo->quit)
            break;
        fo->taken = 1; /* from here on the loop waits for us instead of calling the job off */
        pthread_mutex_unlock(&fo->mu);
        size_t written = take_and_send(fo, SIZE_MAX);
        pthread_mutex_lock(&fo->mu);
        fo->helper_writes = written;
        fo->job = 0;
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
    atomic_init(&fo->next, 0);
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

/* Room for `count` streams in the job's array (no job is posted). 0, or -1 when memory runs
 * out (the array stays as it was). */
static int fanout_reserve(struct hub_fanout *fo, size_t count)
{
    if (count <= fo->cap)
        return 0;
    size_t cap = fo->cap > 0 ? fo->cap : 256;
    while (cap < count)
        cap *= 2;
    hub_stream **items = realloc(fo->items, cap * sizeof(*items));
    if (items == NULL)
        return -1;
    fo->items = items;
    fo->cap = cap;
    return 0;
}

void hub_fanout_write(fd_hub *hub, hub_stream *chain, size_t count)
{
    struct hub_fanout *fo = count >= HUB_FANOUT_SPLIT_MIN ? fanout_get(hub) : NULL;
    if (fo == NULL || fanout_reserve(fo, count) != 0) {
        send_chain(chain, count); /* below the threshold, or no helper: the loop alone */
        return;
    }
    size_t n = 0;
    for (hub_stream *s = chain; s != NULL && n < count; s = s->direct_next)
        fo->items[n++] = s;

    pthread_mutex_lock(&fo->mu);
    fo->count = n;
    atomic_store_explicit(&fo->next, 0, memory_order_relaxed);
    fo->job = 1;
    fo->taken = 0;
    fo->helper_writes = 0;
    pthread_cond_signal(&fo->work);
    pthread_mutex_unlock(&fo->mu);

    size_t max = hub->fanout_loop_max > 0 ? hub->fanout_loop_max : SIZE_MAX;
    size_t mine = take_and_send(fo, max);

    /* the barrier: nothing else happens on the loop until the helper is done with the job, or
     * has not started it and the loop has taken every stream (then it is called off) */
    pthread_mutex_lock(&fo->mu);
    if (!fo->taken && mine < max)
        fo->job = 0; /* take_and_send stopped because nothing was left */
    while (fo->job)
        pthread_cond_wait(&fo->done, &fo->mu);
    hub->fanout_helper_writes += fo->helper_writes;
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
    free(fo->items);
    free(fo);
    hub->fanout = NULL;
}
