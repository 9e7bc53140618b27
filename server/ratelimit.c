/*
 * ratelimit.c - token buckets per caller (see ratelimit.h).
 *
 * The table is a chained hash of callers; it grows with them and forgets a caller once its
 * bucket has refilled completely (a full bucket is the same as no bucket). The forgetting is a
 * sweep over the table, run when the table is full, at most once a second, so a crowd of
 * one-off callers costs one pass per second and not one per request.
 */
#include "server/ratelimit.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api/reply.h"

/* ---- buckets ----------------------------------------------------------------------------- */

void rl_bucket_init(rl_bucket *b, double burst, int64_t now_ms)
{
    b->tokens = burst;
    b->last_ms = now_ms;
}

/* The tokens `b` would hold at now_ms (refilled, capped at burst), without changing it. */
static double bucket_level(const rl_bucket *b, double rate, double burst, int64_t now_ms)
{
    double tokens = b->tokens;
    if (now_ms > b->last_ms)
        tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
    return tokens > burst ? burst : tokens;
}

int64_t rl_bucket_take(rl_bucket *b, double rate, double burst, int64_t now_ms)
{
    b->tokens = bucket_level(b, rate, burst, now_ms);
    if (now_ms > b->last_ms)
        b->last_ms = now_ms;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait = ceil((1.0 - b->tokens) * 1000.0 / rate);
    return wait < 1.0 ? 1 : (int64_t)wait;
}

/* ---- the table --------------------------------------------------------------------------- */

typedef struct rl_entry {
    struct rl_entry *next;
    rl_bucket bucket;
    uint64_t hash;
    char key[]; /* NUL-terminated */
} rl_entry;

struct rl_table {
    double rate, burst;
    size_t max_keys;
    rl_entry **slots;
    size_t nslots; /* a power of two */
    size_t count;
    uint64_t untracked;
    int64_t last_sweep_ms;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

rl_table *rl_table_new(double rate, double burst, size_t max_keys)
{
    rl_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->rate = rate;
    t->burst = burst;
    t->max_keys = max_keys;
    t->nslots = 256;
    t->slots = calloc(t->nslots, sizeof *t->slots);
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void rl_table_free(rl_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nslots; i++) {
        rl_entry *e = t->slots[i];
        while (e != NULL) {
            rl_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(t->slots);
    free(t);
}

/* Double the slots when the chains grow long; keeps going with the old size when memory runs
 * out (longer chains, same answers). */
static void grow(rl_table *t)
{
    size_t n = t->nslots * 2;
    rl_entry **slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return;
    for (size_t i = 0; i < t->nslots; i++) {
        rl_entry *e = t->slots[i];
        while (e != NULL) {
            rl_entry *next = e->next;
            size_t j = (size_t)(e->hash & (n - 1));
            e->next = slots[j];
            slots[j] = e;
            e = next;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
}

/* Forget every caller whose bucket is full again: they are not being limited. */
static void sweep(rl_table *t, int64_t now_ms)
{
    t->last_sweep_ms = now_ms;
    for (size_t i = 0; i < t->nslots; i++) {
        rl_entry **link = &t->slots[i];
        while (*link != NULL) {
            rl_entry *e = *link;
            if (bucket_level(&e->bucket, t->rate, t->burst, now_ms) >= t->burst) {
                *link = e->next;
                free(e);
                t->count--;
            } else {
                link = &e->next;
            }
        }
    }
}

int64_t rl_table_take(rl_table *t, const char *key, int64_t now_ms)
{
    uint64_t h = hash_key(key);
    size_t slot = (size_t)(h & (t->nslots - 1));

    for (rl_entry *e = t->slots[slot]; e != NULL; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return rl_bucket_take(&e->bucket, t->rate, t->burst, now_ms);

    if (t->count >= t->max_keys && now_ms - t->last_sweep_ms >= 1000)
        sweep(t, now_ms);
    size_t klen = strlen(key);
    rl_entry *e = t->count < t->max_keys ? malloc(sizeof *e + klen + 1) : NULL;
    if (e == NULL) {
        t->untracked++;
        return 0;
    }
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    rl_bucket_init(&e->bucket, t->burst, now_ms);
    if (t->count >= t->nslots)
        grow(t);
    slot = (size_t)(h & (t->nslots - 1));
    e->next = t->slots[slot];
    t->slots[slot] = e;
    t->count++;
    return rl_bucket_take(&e->bucket, t->rate, t->burst, now_ms);
}

size_t rl_table_size(const rl_table *t)
{
    return t != NULL ? t->count : 0;
}

uint64_t rl_table_untracked(const rl_table *t)
{
    return t != NULL ? t->untracked : 0;
}

/* ---- the server's limiter ---------------------------------------------------------------- */

static rl_table *limiter;
static uint64_t refused;

int ratelimit_configure(double rate, double burst)
{
    ratelimit_shutdown();
    if (rate <= 0)
        return 0;
    if (burst <= 0)
        burst = 2 * rate;
    if (burst < 1)
        burst = 1; /* a bucket that can never hold a whole token would refuse everything */
    limiter = rl_table_new(rate, burst, RATELIMIT_MAX_KEYS);
    return limiter != NULL ? 0 : -1;
}

void ratelimit_shutdown(void)
{
    rl_table_free(limiter);
    limiter = NULL;
}

uint64_t ratelimit_refused(void)
{
    return refused;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* prefix then s into out (outlen > 0), cut to fit and NUL-terminated, as snprintf("%s%s")
 * would; by hand because snprintf was most of the limiter's cost per request. */
static void join_key(char *out, size_t outlen, const char *prefix, const char *s)
{
    size_t plen = strlen(prefix), slen = strlen(s);
    if (plen > outlen - 1)
        plen = outlen - 1;
    if (slen > outlen - 1 - plen)
        slen = outlen - 1 - plen;
    memcpy(out, prefix, plen);
    memcpy(out + plen, s, slen);
    out[plen + slen] = '\0';
}

/* "ip:<address>" of the peer, or "ip:unknown" when the connection cannot say. */
static void peer_key(h2o_req_t *req, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    char addr[INET6_ADDRSTRLEN] = "unknown";

    memset(&ss, 0, sizeof ss);
    if (req->conn != NULL && req->conn->callbacks != NULL &&
        req->conn->callbacks->get_peername != NULL &&
        req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) != 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
    }
    join_key(out, outlen, "ip:", addr);
}

int ratelimit_request(h2o_req_t *req, const char *sub)
{
    char key[300];

    if (limiter == NULL)
        return 0;
    if (sub != NULL && *sub != '\0')
        join_key(key, sizeof key, "sub:", sub);
    else
        peer_key(req, key, sizeof key);
    int64_t wait_ms = rl_table_take(limiter, key, mono_ms());
    if (wait_ms == 0)
        return 0;

    refused++;
    json_int_t secs = (json_int_t)((wait_ms + 999) / 1000); /* Retry-After is whole seconds */
    char detail[200];
    snprintf(detail, sizeof detail,
             "More than %.0f requests per second (bursts of %.0f) from one %s; retry in %lld s.",
             limiter->rate, limiter->burst, sub != NULL && *sub != '\0' ? "user" : "address",
             (long long)secs);
    api_reply_problem(req, FD_E_RATE_LIMITED, detail, json_pack("{s:I}", "retry_after", secs));
    return -1;
}
