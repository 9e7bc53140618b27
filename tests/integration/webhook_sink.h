/*
 * webhook_sink.h - a real HTTP server on loopback that receives flightdeck's webhook POSTs, for
 * integration tests. One thread accepts connections one at a time, reads one HTTP/1.1 request
 * (headers and a Content-Length body), records it, and answers 500 to the first `fail_first`
 * requests and 200 afterwards (Connection: close).
 */
#ifndef FD_TEST_WEBHOOK_SINK_H
#define FD_TEST_WEBHOOK_SINK_H

#include <stddef.h>

typedef struct wh_sink wh_sink;

/* One received request (strings owned by the sink; copy what you keep). */
typedef struct wh_request {
    char *signature; /* X-Flightdeck-Signature, or NULL */
    char *event_id;  /* X-Flightdeck-Event-Id, or NULL */
    char *event;     /* X-Flightdeck-Event, or NULL */
    char *body;
    int answered; /* the status the sink answered */
    char *method;        /* "POST", "PUT", ... (flag calls of switch moves use the plan's) */
    char *authorization; /* Authorization, or NULL */
} wh_request;

/* Listen on 127.0.0.1 with a free port. NULL on failure. */
wh_sink *wh_sink_start(int fail_first);

/* "http://127.0.0.1:PORT/hook" (owned by the sink). */
const char *wh_sink_url(wh_sink *s);

/* Number of requests received so far (thread-safe). */
int wh_sink_count(wh_sink *s);

/* Wait until at least n requests have arrived, up to timeout_ms. Returns the count reached. */
int wh_sink_wait(wh_sink *s, int n, int timeout_ms);

/* A copy of request i (0-based): fields malloc'd, free with wh_request_free. 0 or -1. */
int wh_sink_get(wh_sink *s, int i, wh_request *out);
void wh_request_free(wh_request *r);

/* Stop the thread, close the socket, free everything. */
void wh_sink_stop(wh_sink *s);

#endif
