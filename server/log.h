/*
 * log.h - request ids and the access log: one JSON line per request on stderr.
 *
 * A line: {"ts":"2026-11-22T01:12:22.123Z","method":"POST",
 *          "route":"/api/migrations/{mid}/steps/{sid}/tick","status":200,"ms":0.412,
 *          "request_id":"5f3a9c1e-1b","sub":"alice"}
 * The route is the matched pattern (never the raw path, whose query could hold anything), and
 * nothing from Authorization or Cookie headers is ever written.
 *
 * Thread rule: the event-loop thread only (the request-id counter is not atomic).
 */
#ifndef FD_LOG_H
#define FD_LOG_H

#include <stddef.h>

#define LOG_RID_MAX 65 /* 64 characters + NUL */

/* 1 when s[0..len) is an acceptable incoming request id: [A-Za-z0-9._-]{1,64}. */
int log_request_id_valid(const char *s, size_t len);

/* A new request id, unique within the process ("<8 hex of boot randomness>-<counter hex>"). */
void log_request_id_new(char out[LOG_RID_MAX]);

/* Turn the access log on (default) or off (FLIGHTDECK_ACCESS_LOG=0, for benchmarks). */
void log_set_access(int on);

/*
 * Write one access-log line. `method` is `method_len` bytes; route, request_id and sub may be
 * NULL (written as null). Strings are JSON-escaped.
 */
void log_access(const char *method, size_t method_len, const char *route, int status, double ms,
                const char *request_id, const char *sub);

#endif
