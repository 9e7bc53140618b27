/*
 * auth_cache.c - verified tokens remembered for a minute (see auth_cache.h).
 *
 * A small set-associative table: the token's hash picks a set of AUTH_CACHE_WAYS entries, and
 * the full token bytes decide a match (the hash and the length are compared first, so a
 * mismatch costs no byte compare). The hash need not resist collisions: a collision costs
 * an eviction, never a wrong answer, and only tokens that verified are ever stored.
 */
#include "server/auth_cache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SETS (AUTH_CACHE_SLOTS / AUTH_CACHE_WAYS)

struct auth_shared {
    fd_actor actor;   /* written once, by auth_shared_new */
    atomic_uint refs; /* the cache entry's and each borrower's */
};

auth_shared *auth_shared_new(const fd_actor *actor)
{
    auth_shared *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->actor = *actor;
    atomic_init(&s->refs, 1);
    return s;
}

/* One more reference to `s`. The caller already holds one (or holds the cache's lock, under
 * which an entry's reference cannot go away), so the count cannot be 0 here. */
static auth_shared *shared_ref(auth_shared *s)
{
    /* relaxed: taking a reference orders nothing; the release below does the ordering */
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void auth_shared_release(auth_shared *s)
{
    if (s == NULL)
        return;
    /* acq_rel: every holder's reads of the actor happen before the free by the last one */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

const fd_actor *auth_shared_actor(const auth_shared *s)
{
    return &s->actor;
}

typedef struct entry {
    char *token; /* malloc'd copy, NULL = free slot */
    size_t len;
    uint64_t hash;
    int64_t cached_at; /* seconds */
    double exp;        /* the token's exp claim, compared as auth.c compares it */
    int has_nbf;
    double nbf;
    uint64_t used;      /* clock of the last hit, for eviction */
    auth_shared *actor; /* the entry's reference */
} entry;

struct auth_cache {
    pthread_mutex_t lock;
    uint64_t tick; /* bumps on every hit or insert: a cheap recency clock */
    uint64_t hits, misses;
    entry slots[AUTH_CACHE_SLOTS];
};

/* Bytes of a token's end that pick its set (see token_hash). */
#define HASH_TAIL 32

/*
 * The set index of a token: its length and its last HASH_TAIL bytes, read eight at a time. A
 * token ends with its signature, a MAC (or a signature) over everything before it, so two
 * tokens that both verified and differ anywhere differ there too; a token that shares its end
 * with a cached one (a forged head, say) only lands in the same set, where the full compare
 * tells it apart. Hashing all ~300 bytes of a token cost more than the rest of a hit.
 * Each word goes in with a multiply, whose carries run upwards only; the final folds bring the
 * top bits, which depend on every bit read, down to the low bits that pick the set.
 */
static uint64_t token_hash(const char *s, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL; /* odd, bits well spread (2^64 / golden ratio) */
    uint64_t h = len * k;
    size_t i = len > HASH_TAIL ? len - HASH_TAIL : 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8); /* any alignment; byte order does not matter to a hash */
        h = (h ^ w) * k;
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, s + i, len - i);
        h = (h ^ w) * k;
    }
    h ^= h >> 32;
    h *= k;
    return h ^ (h >> 29);
}

static void entry_clear(entry *e)
{
    if (e->token != NULL) {
        OPENSSL_cleanse(e->token, e->len);
        free(e->token);
    }
    auth_shared_release(e->actor); /* a request still holding the actor keeps it alive */
    memset(e, 0, sizeof *e);
}

/* The time rules of a hit; auth.c's check_claims refuses exactly the complement. */
static int entry_valid_at(const entry *e, int64_t now)
{
    if (e->exp <= (double)now)
        return 0;
    if (e->has_nbf && e->nbf > (double)now)
        return 0;
    /* at most a minute either way: a clock set back does not stretch an entry's life */
    return now < e->cached_at + AUTH_CACHE_TTL && now > e->cached_at - AUTH_CACHE_TTL;
}

auth_cache *auth_cache_new(void)
{
    auth_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void auth_cache_free(auth_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
        entry_clear(&c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int auth_cache_get(auth_cache *c, const char *token, size_t len, int64_t now, auth_shared **actor,
                   int64_t *exp)
{
    if (c == NULL || len == 0 || len > AUTH_CACHE_TOKEN_MAX)
        return 0;
    uint64_t h = token_hash(token, len);
    entry *set = &c->slots[(h % SETS) * AUTH_CACHE_WAYS];
    int hit = 0;
    pthread_mutex_lock(&c->lock);
    for (int w = 0; w < AUTH_CACHE_WAYS; w++) {
        entry *e = &set[w];
        if (e->token == NULL || e->hash != h || e->len != len || memcmp(e->token, token, len) != 0)
            continue;
        if (!entry_valid_at(e, now)) {
            entry_clear(e); /* expired (or the clock moved): verify again, fully */
            break;
        }
        *actor = shared_ref(e->actor);
        if (exp != NULL)
            *exp = e->exp >= 9.2e18 ? INT64_MAX : (int64_t)e->exp;
        e->used = ++c->tick;
        hit = 1;
        break;
    }
    if (hit)
        c->hits++;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void auth_cache_miss(auth_cache *c, size_t len)
{
    if (c == NULL || len == 0 || len > AUTH_CACHE_TOKEN_MAX)
        return;
    pthread_mutex_lock(&c->lock);
    c->misses++;
    pthread_mutex_unlock(&c->lock);
}

void auth_cache_put(auth_cache *c, const char *token, size_t len, int64_t now, auth_shared *actor,
                    double exp, int has_nbf, double nbf)
{
    if (c == NULL || len == 0 || len > AUTH_CACHE_TOKEN_MAX)
        return;
    char *copy = malloc(len);
    if (copy == NULL)
        return; /* not caching is always correct */
    memcpy(copy, token, len);
    uint64_t h = token_hash(token, len);
    entry *set = &c->slots[(h % SETS) * AUTH_CACHE_WAYS];
    pthread_mutex_lock(&c->lock);
    /* the same token again (two requests verified it at once), else a free or expired slot,
     * else the least recently used one */
    entry *victim = NULL;
    for (int w = 0; w < AUTH_CACHE_WAYS && victim == NULL; w++) {
        entry *e = &set[w];
        if (e->token != NULL && e->hash == h && e->len == len && memcmp(e->token, token, len) == 0)
            victim = e;
    }
    for (int w = 0; w < AUTH_CACHE_WAYS && victim == NULL; w++)
        if (set[w].token == NULL || !entry_valid_at(&set[w], now))
            victim = &set[w];
    if (victim == NULL) {
        victim = &set[0];
        for (int w = 1; w < AUTH_CACHE_WAYS; w++)
            if (set[w].used < victim->used)
                victim = &set[w];
    }
    entry_clear(victim);
    victim->token = copy;
    victim->len = len;
    victim->hash = h;
    victim->cached_at = now;
    victim->exp = exp;
    victim->has_nbf = has_nbf;
    victim->nbf = nbf;
    victim->actor = shared_ref(actor);
    victim->used = ++c->tick;
    pthread_mutex_unlock(&c->lock);
}

void auth_cache_stats(auth_cache *c, uint64_t *hits, uint64_t *misses)
{
    if (c == NULL) {
        *hits = *misses = 0;
        return;
    }
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
