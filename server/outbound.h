/*
 * outbound.h - webhook deliveries: one worker thread POSTs them with curl; the loop thread owns
 * the database and records every attempt (core/webhook.h holds the queue and the rules).
 *
 *   event and its delivery rows committed together (webhook_enqueue_tx, in audit_append)
 *   -> outbound_event (sink, loop) -> kick (within a millisecond, once for many events)
 *   kick (loop): due rows -> jobs on the worker's queue (mutex + condition variable)
 *   worker: POST with X-Flightdeck-Signature/-Event-Id/-Event -> result message to the loop
 *           (h2o_multithread_send_message)
 *   loop: webhook_record (attempt row; delivered, retry later, or failed) -> kick again
 *
 * The loop never waits on the network: it only reads and writes rows. One batch of due
 * deliveries is out at a time; a timer wakes the loop when the next retry is due. Pending
 * deliveries are rows, so a restart finds them and sends them (outbound_start kicks at once).
 *
 * Environment: FLIGHTDECK_WEBHOOK_BACKOFF_MS (first retry delay, default 1000; later ones double,
 * at most 300 times it), FLIGHTDECK_WEBHOOK_MAX_ATTEMPTS (default 12). curl_global_init must have
 * run before outbound_start (main does it before any thread).
 */
#ifndef FD_OUTBOUND_H
#define FD_OUTBOUND_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store.h"
#include "core/webhook.h"

/* curl_global_init: once, in main, before any thread starts. 0 or -1. */
int outbound_global_init(void);
/* curl_global_cleanup: once, at exit, after every thread has stopped. */
void outbound_global_cleanup(void);

/* Read the retry policy from the environment into *p. 0, or -1 with a sentence in err. */
int outbound_policy_from_env(webhook_policy *p, char *err, size_t errlen);

/* The retry policy of the flag-system calls of switch moves (core/switches.h), sent by the same
 * worker: FLIGHTDECK_FLAG_BACKOFF_MS (first retry, default 500), FLIGHTDECK_FLAG_MAX_ATTEMPTS
 * (default 3). Header values {{secret:NAME}} are read from FLIGHTDECK_SECRET_NAME when sent.
 * outbound_start reads it. 0, or -1 with a sentence in err. */
int outbound_flag_policy_from_env(webhook_policy *p, char *err, size_t errlen);

/* Start the worker on `ctx`'s loop with the store `st` (borrowed). 0 or -1 (message printed). */
int outbound_start(h2o_context_t *ctx, fd_store *st, const webhook_policy *policy);

/* The store's event sink for webhooks (loop thread): queue deliveries, then send what is due. */
void outbound_event(void *arg, int64_t seq, const char *migration, const char *action,
                    const char *json, size_t len);

/* Stop the worker (an attempt in progress is cut short), record the results that came back,
 * and release everything. Deliveries not attempted stay pending for the next start. Loop thread,
 * before the context is disposed. Safe when not started. */
void outbound_stop(void);

/* hex(HMAC-SHA256(secret, body)) into out[65]. 0 or -1. */
int outbound_signature(const char *secret, const char *body, size_t len, char out[65]);

#endif
