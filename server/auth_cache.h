/*
 * auth_cache.h - verified tokens remembered for a minute, so a client that sends the same token
 * with every request pays for the signature check (libjwt: base64, two JSON parses, an HMAC or
 * RSA/EC verification) once, not per request.
 *
 * What is cached is only the outcome of a successful verification: token bytes -> the actor it
 * verified into, with the token's own `exp` and `nbf`. A hit is served only while
 *   now < exp            (a cached token expires exactly when it would unverified),
 *   now >= nbf           (when the token has one; a clock set back is not trusted blindly),
 *   now < cached_at + 60 (the cache never keeps an entry longer than a minute),
 * and only for a token equal byte for byte to the cached one (the full bytes are compared, the
 * hash only picks the slot). A token that failed verification is never stored. Whatever a hit
 * does not cover falls back to the full verification, which gives the same answer and message.
 *
 * Size: AUTH_CACHE_SLOTS entries in sets of AUTH_CACHE_WAYS; a new token replaces an expired
 * entry of its set, else the least recently used one. Tokens longer than AUTH_CACHE_TOKEN_MAX
 * bytes are verified every time.
 *
 * What a hit gives is not a copy of the actor (2 KiB, mostly the team list) but a reference to
 * the entry's own, an auth_shared: reference-counted, read-only once made. A request borrows it
 * for its whole life; an entry evicted or expired meanwhile only drops the cache's reference, and
 * the last reference dropped frees it.
 *
 * Thread rule: every function may be called from any thread (one mutex, held for a lookup or an
 * insert only; reference counts are atomic).
 */
#ifndef FD_AUTH_CACHE_H
#define FD_AUTH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

#define AUTH_CACHE_SLOTS 1024
#define AUTH_CACHE_WAYS 4
#define AUTH_CACHE_TTL 60 /* seconds an entry lives at most */
#define AUTH_CACHE_TOKEN_MAX 2048

typedef struct auth_cache auth_cache;

/* A verified actor shared by reference (see above). */
typedef struct auth_shared auth_shared;

/* A new auth_shared holding a copy of `actor`, with one reference, owned by the caller
 * (auth_shared_release); NULL when memory runs out. */
auth_shared *auth_shared_new(const fd_actor *actor);

/* Drop one reference; the last one frees it. NULL is fine. */
void auth_shared_release(auth_shared *s);

/* The actor, valid while the caller holds its reference. Never NULL. */
const fd_actor *auth_shared_actor(const auth_shared *s);

/* A new empty cache, owned by the caller (auth_cache_free); NULL when memory runs out. */
auth_cache *auth_cache_new(void);

/* Forget every entry (token copies are wiped) and free the cache. NULL is fine. */
void auth_cache_free(auth_cache *c);

/*
 * Look `token` (len bytes) up at time `now` (seconds). On a hit (see the rules above) sets
 * *actor to a new reference to the entry's actor (the caller releases it: auth_shared_release),
 * fills *exp (exp may be NULL), counts a hit and returns 1; otherwise returns 0, leaves *actor
 * alone and counts nothing: the caller counts the miss (auth_cache_miss) once it knows the token
 * goes on to a full verification, so a malformed token refused at once is not a miss.
 */
int auth_cache_get(auth_cache *c, const char *token, size_t len, int64_t now, auth_shared **actor,
                   int64_t *exp);

/* Count a lookup of a `len`-byte token that auth_cache_get did not serve (tokens the cache
 * would never hold, over AUTH_CACHE_TOKEN_MAX bytes, are not counted). NULL is fine. */
void auth_cache_miss(auth_cache *c, size_t len);

/*
 * Remember that `token` verified at `now` into `actor`, with claims exp (seconds, as in the
 * token) and nbf (has_nbf 0 when the token had none). Call only after a successful full
 * verification. The entry takes a reference of its own: the caller keeps (and still releases)
 * its own. Tokens over AUTH_CACHE_TOKEN_MAX bytes are not stored.
 */
void auth_cache_put(auth_cache *c, const char *token, size_t len, int64_t now, auth_shared *actor,
                    double exp, int has_nbf, double nbf);

/* Counters since the cache was made (tests, /metrics): lookups served, lookups not served. */
void auth_cache_stats(auth_cache *c, uint64_t *hits, uint64_t *misses);

#endif
