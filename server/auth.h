/*
 * auth.h - who is calling: JSON Web Tokens verified into an fd_actor, and minted for the
 * `token` command and the demo users.
 *
 * The only module that includes libjwt. libjwt 1.10 checks nothing but the signature (and
 * trusts the token's own `alg`), so every other check lives here (see DESIGN.md):
 *   key present; jwt_decode == 0; the token's alg equals the algorithm of the key that verified
 *   it (so `alg: none` and HS256-signed-with-the-public-key fail); exp present, numeric, in the
 *   future; nbf, if present, not in the future; sub present; iss/aud when configured; role
 *   known; teams an array of slugs; source api|bot|web.
 *
 * Key material: an HS256 secret (at least AUTH_SECRET_MIN bytes), and/or a PEM public key from
 * an identity provider whose type decides the algorithm (RSA -> RS256, EC P-256 -> ES256). When
 * both are configured a token is accepted by either, each strictly with its own algorithm.
 *
 * Thread rule: an auth_keys is read-only after auth_keys_new (its cache of verified tokens has
 * its own lock); any thread may verify with it.
 */
#ifndef FD_AUTH_H
#define FD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

#define AUTH_SECRET_MIN 32  /* bytes; shorter HS256 secrets are refused */
#define AUTH_TOKEN_MAX 8192 /* longer tokens are refused before parsing */

typedef struct auth_keys auth_keys;
typedef struct auth_shared auth_shared; /* a verified actor shared by reference (auth_cache.h) */

/*
 * Build the verifier from key material, which is copied (the caller may wipe its own copy).
 * `secret` may be NULL (len 0) when only a public key is used; `pem` may be NULL (len 0) when
 * only a secret is used; at least one is required. `issuer`/`audience` NULL or "" mean "not
 * checked". Returns 0 with *out owned by the caller (auth_keys_free), or -1 with a sentence in
 * `err` (never containing key material).
 */
int auth_keys_new(const unsigned char *secret, size_t secret_len, const char *pem, size_t pem_len,
                  const char *issuer, const char *audience, auth_keys **out, char *err,
                  size_t errlen);

/* Wipe and free. NULL is fine. */
void auth_keys_free(auth_keys *k);

/* 1 when an HS256 secret is configured (tokens can be minted), else 0. */
int auth_keys_can_mint(const auth_keys *k);

/* "HS256", "RS256", "ES256", "HS256+RS256", ... for the start-up message. Static string. */
const char *auth_keys_describe(const auth_keys *k);

/*
 * Verify `token` (`len` bytes, need not be NUL-terminated) at time `now` (seconds since the
 * epoch). On success fills *actor (source from the `source` claim, default "api") and *exp
 * (may be NULL) and returns 0. A token that verified lately is answered from a per-`k` cache
 * (auth_cache.h): same bytes, never past its exp nor before its nbf, at most a minute. On failure returns -1 and writes why into `why` (one sentence
 * safe to show the client: it never repeats the token).
 */
int auth_verify(const auth_keys *k, const char *token, size_t len, int64_t now, fd_actor *actor,
                int64_t *exp, char *why, size_t whylen);

/*
 * auth_verify without the copy, for the request path: the same checks, answers and messages,
 * but on success *out is a reference to the verified actor (read it with auth_shared_actor),
 * which the caller releases with auth_shared_release once done; on a cache hit it is the cache
 * entry's own actor, so nothing is copied. On failure *out is NULL and nothing is to be released.
 */
int auth_verify_shared(const auth_keys *k, const char *token, size_t len, int64_t now,
                       auth_shared **out, int64_t *exp, char *why, size_t whylen);

/* How many auth_verify calls were answered from the cache of verified tokens (auth_cache.h), and
 * how many were verified in full, since `k` was made. */
void auth_keys_cache_stats(const auth_keys *k, uint64_t *hits, uint64_t *misses);

/*
 * Mint an HS256 token for `a` (sub, name, role, teams, source) valid from `now` for `ttl`
 * seconds, with iss/aud when configured. Returns 0 with *out malloc'd (caller frees), or -1
 * when no secret is configured or memory runs out.
 */
int auth_mint(const auth_keys *k, const fd_actor *a, int64_t now, int64_t ttl, char **out);

/*
 * Sign arbitrary claims (a JSON object text) with algorithm `alg` ("HS256", "RS256", "ES256",
 * "none") and `key` (secret bytes, or a private key PEM). For tests that need tokens a correct
 * issuer would never make. Returns 0 with *out malloc'd, or -1.
 */
int auth_sign_raw(const char *alg, const unsigned char *key, size_t key_len, const char *claims,
                  char **out);

#endif
