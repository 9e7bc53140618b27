/*
 * barrier.h - answers that wait until what they report is durable (group commit, issue 8).
 *
 * With group commit (core/store.h, server/commit.c) a request's change is written into the open
 * batch transaction at once, but is durable only when the whole batch has committed, later, on
 * another thread. An answer sent before that would promise something a crash could still take
 * away, so every answer goes through here: api/reply.c renders it as before (status, headers,
 * body, all in req->pool), then asks api_barrier_hold(), which keeps it when the request ran a
 * unit in (or read from) a batch that is not durable yet (store_batch_take). The server calls
 * api_barrier_release() when that batch has ended: the held answers go out in the order they
 * were made, or, if the batch failed, each becomes a 503 (nothing of it was applied; a retry is
 * safe, Idempotency-Key included).
 *
 * A client that goes away while its answer is held is forgotten (the request's pool dispose
 * hook); its change stays as committed. Loop thread only.
 */
#ifndef FD_API_BARRIER_H
#define FD_API_BARRIER_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store.h"

/* The store whose batches answers wait for (borrowed); NULL (the default): nothing is held. */
void api_barrier_set_store(fd_store *st);

/*
 * Called by api/reply.c with a rendered answer (status and headers set in req->res, body bufs
 * in req->pool, not yet started). 1: held, api_barrier_release sends it; 0: send it now.
 */
int api_barrier_hold(h2o_req_t *req, h2o_iovec_t *bufs, size_t nbufs);

/* Batch `batch` (and every batch before it) has ended: send the answers held for it in order
 * when `durable`, else answer each with 503. */
void api_barrier_release(uint64_t batch, int durable);

/* How many answers are held now (for /metrics and tests). */
size_t api_barrier_held(void);

#endif
