/*
 * barrier.c - answers held until their batch is durable (see barrier.h).
 *
 * The held answers form one FIFO list. Batches end in the order they were opened (one is open
 * or committing at a time), and answers are appended as they are made, so the list is in batch
 * order too: a release pops from the front while the front's batch has ended.
 *
 * An entry lives on the heap, not in the request's pool, because the client may go away (and
 * the pool with it) before the batch ends; a small guard in the pool cuts the link then.
 */
#include "api/barrier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/job.h"
#include "api/reply.h"

typedef struct held held;

/* In the request's pool: disposed with the request. */
typedef struct held_guard {
    held *h; /* NULL once the answer was sent */
} held_guard;

struct held {
    held *next;
    uint64_t batch;
    h2o_req_t *req; /* NULL once the client went away */
    held_guard *guard;
    h2o_iovec_t *bufs; /* the body, in req->pool (the array too) */
    size_t nbufs;
};

static struct {
    fd_store *st;
    held *head, *tail;
    size_t count;
    int releasing; /* a 503 sent by release must not be held again */
} B;

void api_barrier_set_store(fd_store *st)
{
    B.st = st;
}

static void on_request_disposed(void *p)
{
    held_guard *g = p;
    if (g->h != NULL) {
        g->h->req = NULL;
        g->h->guard = NULL;
    }
}

int api_barrier_hold(h2o_req_t *req, h2o_iovec_t *bufs, size_t nbufs)
{
    if (B.st == NULL || B.releasing)
        return 0;
    uint64_t batch = store_batch_take(B.st);
    if (batch == 0)
        return 0; /* read only committed data, or wrote nothing that is not durable yet */
    held *h = calloc(1, sizeof *h);
    if (h == NULL) {
        /* Without memory to wait, the only safe answer is one that promises nothing. */
        fprintf(stderr, "flightdeck: out of memory holding an answer until its commit\n");
        req->res.status = 503;
        req->res.reason = "Service Unavailable";
        req->res.content_length = 0;
        api_reply_send_rendered(req, NULL, 0);
        return 1;
    }
    h->batch = batch;
    h->req = req;
    h->nbufs = nbufs;
    if (nbufs > 0) {
        h->bufs = h2o_mem_alloc_pool(&req->pool, nbufs * sizeof *bufs);
        memcpy(h->bufs, bufs, nbufs * sizeof *bufs);
    }
    held_guard *g = h2o_mem_alloc_shared(&req->pool, sizeof *g, on_request_disposed);
    g->h = h;
    h->guard = g;
    if (B.tail != NULL)
        B.tail->next = h;
    else
        B.head = h;
    B.tail = h;
    B.count++;
    return 1;
}

/* The batch failed: drop the success that was rendered and say so instead. */
static void send_unavailable(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t rid = i != -1 ? req->res.headers.entries[i].value : h2o_iovec_init(NULL, 0);
    req->res.headers.size = 0; /* ETag, Location, Content-Type of the lost answer */
    req->res.content_length = SIZE_MAX;
    if (rid.base != NULL)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0,
                              "X-Request-Id", rid.base, rid.len);
    api_reply_problem(req, FD_E_UNAVAILABLE, api_job_lost_detail, NULL);
}

void api_barrier_release(uint64_t batch, int durable)
{
    B.releasing = 1;
    while (B.head != NULL && B.head->batch <= batch) {
        held *h = B.head;
        B.head = h->next;
        if (B.head == NULL)
            B.tail = NULL;
        B.count--;
        if (h->req != NULL) {
            h->guard->h = NULL; /* the request may be disposed as soon as it is answered */
            if (durable)
                api_reply_send_rendered(h->req, h->bufs, h->nbufs);
            else
                send_unavailable(h->req);
        }
        free(h);
    }
    B.releasing = 0;
}

size_t api_barrier_held(void)
{
    return B.count;
}
