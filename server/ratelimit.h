/*
 * ratelimit.h - token buckets per caller, so one runaway bot cannot starve everyone else.
 *
 * A caller is the token's subject for authenticated requests ("sub:alice") and the remote
 * address for the rest ("ip:10.0.0.7"). Each caller's bucket holds up to `burst` tokens and
 * refills at `rate` tokens per second; a request takes one or is refused with 429 and a
 * Retry-After. Configured by FLIGHTDECK_RATE_LIMIT (requests/s, 0 disables) and
 * FLIGHTDECK_RATE_BURST (default twice the rate); the defaults (200/s, burst 400) are far above
 * what people and well-behaved bots do, so only a flood meets them. Benchmarks that drive many
 * clients with one token set FLIGHTDECK_RATE_LIMIT=0.
 *
 * Thread rule: the event-loop thread only; nothing is locked.
 */
#ifndef FD_RATELIMIT_H
#define FD_RATELIMIT_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_DEFAULT_RATE 200.0
#define RATELIMIT_MAX_KEYS 50000 /* callers tracked at once; idle full buckets are forgotten */

/* ---- the bucket arithmetic (pure; unit-tested with a fake clock) ---- */

typedef struct rl_bucket {
    double tokens;   /* tokens available at last_ms */
    int64_t last_ms; /* when tokens was computed */
} rl_bucket;

/* A full bucket at now_ms. */
void rl_bucket_init(rl_bucket *b, double burst, int64_t now_ms);

/*
 * Refill `b` for the time since it was last used (rate tokens per second, at most burst), then
 * take one token. Returns 0 when one was taken; otherwise the whole milliseconds until one will
 * be there (>= 1), and nothing is taken. A clock that goes backwards refills nothing.
 */
int64_t rl_bucket_take(rl_bucket *b, double rate, double burst, int64_t now_ms);

/* ---- a table of buckets by caller ---- */

typedef struct rl_table rl_table;

/* A table for `rate`/s with `burst`, tracking at most max_keys callers. NULL when out of memory.
 * Owned by the caller (rl_table_free). */
rl_table *rl_table_new(double rate, double burst, size_t max_keys);
void rl_table_free(rl_table *t);

/*
 * Take a token from `key`'s bucket (created full on first sight). Returns 0 (allowed) or the
 * milliseconds to wait. When the table is full of active callers a new caller is let through
 * untracked (counted in rl_table_untracked): refusing strangers would let a crowd lock out
 * everyone who arrives after it.
 */
int64_t rl_table_take(rl_table *t, const char *key, int64_t now_ms);

/* Callers tracked now, and requests let through untracked because the table was full. */
size_t rl_table_size(const rl_table *t);
uint64_t rl_table_untracked(const rl_table *t);

/* ---- the server's limiter ---- */

/* Install the process's limiter (rate <= 0 disables it; burst <= 0 means 2 x rate). Call before
 * serving; 0, or -1 when out of memory. ratelimit_shutdown frees it. */
int ratelimit_configure(double rate, double burst);
void ratelimit_shutdown(void);

/*
 * Charge one request to its caller: `sub` when authenticated, else the remote address. Returns
 * 0 when it may proceed; -1 when it was refused and already answered (429 problem+json with
 * Retry-After and "retry_after"). Always 0 when no limiter is installed.
 */
int ratelimit_request(h2o_req_t *req, const char *sub);

/* Requests refused with 429 since start (for /metrics). */
uint64_t ratelimit_refused(void);

#endif
