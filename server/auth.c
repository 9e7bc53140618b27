/*
 * auth.c - JSON Web Token verification and minting on top of libjwt 1.10.
 *
 * libjwt verifies a signature and nothing else; it even takes the algorithm from the token.
 * So this file decides the algorithm from the configured key, checks that the token used exactly
 * that one, and validates every claim itself from the verified claims JSON (jansson), where a
 * string "exp" cannot pass for a number.
 */
#include "server/auth.h"
#include "server/auth_cache.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct auth_keys {
    unsigned char *secret; /* HS256 secret, NULL when none */
    size_t secret_len;
    unsigned char *pem; /* public key PEM (NUL-terminated copy), NULL when none */
    size_t pem_len;
    jwt_alg_t pem_alg;  /* JWT_ALG_RS256 or JWT_ALG_ES256, decided by the key type */
    char issuer[256];   /* "" = not checked */
    char audience[256]; /* "" = not checked */
    auth_cache *cache;  /* tokens verified lately (auth_cache.h); NULL = verify every time */
};

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

/* Find the algorithm a PEM public key implies: RSA -> RS256, EC on P-256 -> ES256. */
static int pem_algorithm(const unsigned char *pem, size_t len, jwt_alg_t *alg, char *err,
                         size_t errlen)
{
    int rc = -1;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = NULL;

    if (bio == NULL) {
        set_err(err, errlen, "out of memory reading the public key");
        goto done;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) {
        set_err(err, errlen,
                "the JWT public key is not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
        goto done;
    }
    switch (EVP_PKEY_base_id(pkey)) {
    case EVP_PKEY_RSA:
        if (EVP_PKEY_bits(pkey) < 2048) {
            set_err(err, errlen, "the JWT RSA public key is shorter than 2048 bits");
            goto done;
        }
        *alg = JWT_ALG_RS256;
        break;
    case EVP_PKEY_EC:
        /* ES256 is defined on P-256 only; other curves belong to ES384/ES512. */
        if (EVP_PKEY_bits(pkey) != 256) {
            set_err(err, errlen, "the JWT EC public key must be on curve P-256 (ES256)");
            goto done;
        }
        *alg = JWT_ALG_ES256;
        break;
    default:
        set_err(err, errlen, "the JWT public key must be an RSA (RS256) or EC P-256 (ES256) key");
        goto done;
    }
    rc = 0;
done:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rc;
}

int auth_keys_new(const unsigned char *secret, size_t secret_len, const char *pem, size_t pem_len,
                  const char *issuer, const char *audience, auth_keys **out, char *err,
                  size_t errlen)
{
    auth_keys *k = NULL;

    *out = NULL;
    if ((secret == NULL || secret_len == 0) && (pem == NULL || pem_len == 0)) {
        set_err(err, errlen, "no JWT key configured");
        return -1;
    }
    if (secret != NULL && secret_len > 0 && secret_len < AUTH_SECRET_MIN) {
        set_err(err, errlen, "the JWT secret is shorter than 32 bytes");
        return -1;
    }
    if ((issuer != NULL && strlen(issuer) >= sizeof k->issuer) ||
        (audience != NULL && strlen(audience) >= sizeof k->audience)) {
        set_err(err, errlen, "the JWT issuer or audience is longer than 255 bytes");
        return -1;
    }
    k = calloc(1, sizeof *k);
    if (k == NULL)
        goto nomem;
    if (secret != NULL && secret_len > 0) {
        k->secret = malloc(secret_len);
        if (k->secret == NULL)
            goto nomem;
        memcpy(k->secret, secret, secret_len);
        k->secret_len = secret_len;
    }
    if (pem != NULL && pem_len > 0) {
        if (pem_len > 64 * 1024) {
            set_err(err, errlen, "the JWT public key file is larger than 64 KiB");
            goto fail;
        }
        k->pem = malloc(pem_len + 1);
        if (k->pem == NULL)
            goto nomem;
        memcpy(k->pem, pem, pem_len);
        k->pem[pem_len] = '\0';
        k->pem_len = pem_len;
        if (pem_algorithm(k->pem, k->pem_len, &k->pem_alg, err, errlen) != 0)
            goto fail;
    }
    snprintf(k->issuer, sizeof k->issuer, "%s", issuer != NULL ? issuer : "");
    snprintf(k->audience, sizeof k->audience, "%s", audience != NULL ? audience : "");
    k->cache = auth_cache_new(); /* without it every token is simply verified in full */
    *out = k;
    return 0;
nomem:
    set_err(err, errlen, "out of memory");
fail:
    auth_keys_free(k);
    return -1;
}

void auth_keys_free(auth_keys *k)
{
    if (k == NULL)
        return;
    if (k->secret != NULL) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    free(k->pem);
    auth_cache_free(k->cache);
    free(k);
}

void auth_keys_cache_stats(const auth_keys *k, uint64_t *hits, uint64_t *misses)
{
    auth_cache_stats(k != NULL ? k->cache : NULL, hits, misses);
}

int auth_keys_can_mint(const auth_keys *k)
{
    return k != NULL && k->secret != NULL;
}

const char *auth_keys_describe(const auth_keys *k)
{
    if (k == NULL)
        return "none";
    if (k->secret != NULL && k->pem != NULL)
        return k->pem_alg == JWT_ALG_RS256 ? "HS256+RS256" : "HS256+ES256";
    if (k->pem != NULL)
        return k->pem_alg == JWT_ALG_RS256 ? "RS256" : "ES256";
    return "HS256";
}

/* Slugs are [a-z0-9-]{1,64}. A local check keeps auth free of core's validation module. */
static int is_slug(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return 0;
    }
    return n >= 1 && n <= FD_SLUG_MAX;
}

/* A name or subject: 1..FD_NAME_MAX-1 bytes, no control characters. */
static int is_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= FD_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* `aud` may be one string or an array of strings (RFC 7519 4.1.3). */
static int audience_matches(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
                return 1;
        }
    }
    return 0;
}

/* The time claims of a verified token, for the cache. */
typedef struct claim_times {
    double exp;
    int has_nbf;
    double nbf;
} claim_times;

/* Validate the verified claims and fill the actor and the time claims. Returns 0 or -1 with
 * `why`. */
static int check_claims(const auth_keys *k, const json_t *claims, int64_t now, fd_actor *a,
                        claim_times *times, char *why, size_t whylen)
{
    const json_t *v;

    v = json_object_get(claims, "exp");
    if (v == NULL) {
        set_err(why, whylen, "the token has no expiry (exp)");
        return -1;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        set_err(why, whylen, "the token's exp is not a number");
        return -1;
    }
    double exp = json_number_value(v);
    if (exp <= (double)now) {
        set_err(why, whylen, "the token has expired");
        return -1;
    }
    v = json_object_get(claims, "nbf");
    if (v != NULL) {
        if (!json_is_number(v)) {
            set_err(why, whylen, "the token's nbf is not a number");
            return -1;
        }
        if (json_number_value(v) > (double)now) {
            set_err(why, whylen, "the token is not valid yet (nbf)");
            return -1;
        }
        times->has_nbf = 1;
        times->nbf = json_number_value(v);
    }
    times->exp = exp;
    if (k->issuer[0] != '\0') {
        v = json_object_get(claims, "iss");
        if (!json_is_string(v) || strcmp(json_string_value(v), k->issuer) != 0) {
            set_err(why, whylen, "the token was not issued by the configured issuer (iss)");
            return -1;
        }
    }
    if (k->audience[0] != '\0' && !audience_matches(json_object_get(claims, "aud"), k->audience)) {
        set_err(why, whylen, "the token is not meant for this audience (aud)");
        return -1;
    }

    memset(a, 0, sizeof *a);
    v = json_object_get(claims, "sub");
    if (!json_is_string(v) || !is_label(json_string_value(v))) {
        set_err(why, whylen, "the token has no valid subject (sub)");
        return -1;
    }
    snprintf(a->sub, sizeof a->sub, "%s", json_string_value(v));

    v = json_object_get(claims, "name");
    if (v == NULL || json_is_null(v)) {
        snprintf(a->name, sizeof a->name, "%s", a->sub);
    } else if (json_is_string(v) && is_label(json_string_value(v))) {
        snprintf(a->name, sizeof a->name, "%s", json_string_value(v));
    } else {
        set_err(why, whylen, "the token's name must be a string of 1-127 bytes");
        return -1;
    }

    v = json_object_get(claims, "role");
    if (!json_is_string(v)) {
        set_err(why, whylen, "the token has no role (viewer, engineer, lead or admin)");
        return -1;
    }
    if (fd_role_parse(json_string_value(v), &a->role) != 0) {
        set_err(why, whylen, "the token's role is not one of viewer, engineer, lead, admin");
        return -1;
    }

    v = json_object_get(claims, "teams");
    if (v != NULL && !json_is_null(v)) {
        size_t i;
        json_t *t;
        if (!json_is_array(v) || json_array_size(v) > FD_MAX_TEAMS) {
            set_err(why, whylen, "the token's teams must be an array of at most 32 team slugs");
            return -1;
        }
        json_array_foreach(v, i, t)
        {
            if (!json_is_string(t) || !is_slug(json_string_value(t))) {
                set_err(why, whylen, "the token's teams must be team slugs ([a-z0-9-]{1,64})");
                return -1;
            }
            if (fd_actor_in_team(a, json_string_value(t)))
                continue; /* a repeated team counts once */
            snprintf(a->teams[a->nteams], sizeof a->teams[0], "%s", json_string_value(t));
            a->nteams++;
        }
    }

    v = json_object_get(claims, "source");
    if (v == NULL || json_is_null(v)) {
        snprintf(a->source, sizeof a->source, "api");
    } else if (json_is_string(v) && (strcmp(json_string_value(v), "api") == 0 ||
                                     strcmp(json_string_value(v), "bot") == 0 ||
                                     strcmp(json_string_value(v), "web") == 0)) {
        snprintf(a->source, sizeof a->source, "%s", json_string_value(v));
    } else {
        set_err(why, whylen, "the token's source must be api, bot or web");
        return -1;
    }

    return 0;
}

/* Decode with one key; succeed only when the token's own alg is the key's algorithm. */
static jwt_t *decode_with(const char *token, const unsigned char *key, size_t key_len,
                          jwt_alg_t alg)
{
    jwt_t *jwt = NULL;

    if (key == NULL || key_len == 0) /* libjwt verifies nothing without a key */
        return NULL;
    if (jwt_decode(&jwt, token, key, (int)key_len) != 0 || jwt == NULL)
        return NULL;
    if (jwt_get_alg(jwt) != alg) { /* alg "none", or HS256 keyed with the public key PEM */
        jwt_free(jwt);
        return NULL;
    }
    return jwt;
}

int auth_verify_shared(const auth_keys *k, const char *token, size_t len, int64_t now,
                       auth_shared **out, int64_t *exp, char *why, size_t whylen)
{
    int rc = -1;
    char *copy = NULL;
    jwt_t *jwt = NULL;
    char *claims_text = NULL;
    json_t *claims = NULL;
    fd_actor actor;

    *out = NULL;
    if (k == NULL) {
        set_err(why, whylen, "no key is configured to verify tokens");
        return -1;
    }
    if (len == 0 || len > AUTH_TOKEN_MAX) {
        set_err(why, whylen, "the token is empty or too long");
        return -1;
    }
    /* a token verified lately: same bytes, still within its exp and nbf (auth_cache.h). Asked
     * before the character check below: only tokens that passed it are ever cached, and a hit
     * is the same bytes, so checking them again would only repeat an answer already known. */
    if (auth_cache_get(k->cache, token, len, now, out, exp) == 1)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = token[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == '=')) {
            set_err(why, whylen, "the token is not a compact JWT (header.payload.signature)");
            return -1;
        }
    }
    auth_cache_miss(k->cache, len);
    copy = malloc(len + 1);
    if (copy == NULL) {
        set_err(why, whylen, "out of memory");
        return -1;
    }
    memcpy(copy, token, len);
    copy[len] = '\0';

    jwt = decode_with(copy, k->secret, k->secret_len, JWT_ALG_HS256);
    if (jwt == NULL)
        jwt = decode_with(copy, k->pem, k->pem_len, k->pem_alg);
    if (jwt == NULL) {
        set_err(why, whylen, "the token's signature or algorithm is not accepted");
        goto done;
    }
    claims_text = jwt_get_grants_json(jwt, NULL);
    if (claims_text != NULL)
        claims = json_loads(claims_text, 0, NULL);
    if (!json_is_object(claims)) {
        set_err(why, whylen, "the token's claims are not a JSON object");
        goto done;
    }
    claim_times times = {0};
    rc = check_claims(k, claims, now, &actor, &times, why, whylen);
    if (rc == 0) {
        *out = auth_shared_new(&actor);
        if (*out == NULL) {
            set_err(why, whylen, "out of memory");
            rc = -1;
            goto done;
        }
        if (exp != NULL)
            *exp = times.exp >= 9.2e18 ? INT64_MAX : (int64_t)times.exp;
        auth_cache_put(k->cache, token, len, now, *out, times.exp, times.has_nbf, times.nbf);
    }
done:
    json_decref(claims);
    free(claims_text);
    jwt_free(jwt);
    free(copy);
    return rc;
}

int auth_verify(const auth_keys *k, const char *token, size_t len, int64_t now, fd_actor *actor,
                int64_t *exp, char *why, size_t whylen)
{
    auth_shared *shared = NULL;

    if (auth_verify_shared(k, token, len, now, &shared, exp, why, whylen) != 0)
        return -1;
    *actor = *auth_shared_actor(shared);
    auth_shared_release(shared);
    return 0;
}

int auth_sign_raw(const char *alg, const unsigned char *key, size_t key_len, const char *claims,
                  char **out)
{
    int rc = -1;
    jwt_t *jwt = NULL;
    jwt_alg_t a = jwt_str_alg(alg);

    *out = NULL;
    if (a == JWT_ALG_INVAL || jwt_new(&jwt) != 0)
        goto done;
    if (jwt_add_grants_json(jwt, claims) != 0)
        goto done;
    if (a == JWT_ALG_NONE) {
        if (jwt_set_alg(jwt, a, NULL, 0) != 0)
            goto done;
    } else if (jwt_set_alg(jwt, a, key, (int)key_len) != 0) {
        goto done;
    }
    *out = jwt_encode_str(jwt);
    rc = *out != NULL ? 0 : -1;
done:
    jwt_free(jwt);
    return rc;
}

int auth_mint(const auth_keys *k, const fd_actor *a, int64_t now, int64_t ttl, char **out)
{
    int rc = -1;
    json_t *claims = NULL, *teams = NULL;
    char *text = NULL;

    *out = NULL;
    if (!auth_keys_can_mint(k) || ttl <= 0)
        return -1;
    teams = json_array();
    for (int i = 0; teams != NULL && i < a->nteams; i++)
        json_array_append_new(teams, json_string(a->teams[i]));
    claims = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I}", "sub", a->sub, "name",
                       a->name[0] != '\0' ? a->name : a->sub, "role", fd_role_name(a->role),
                       "teams", teams, "source", a->source[0] != '\0' ? a->source : "api", "iat",
                       (json_int_t)now, "exp", (json_int_t)(now + ttl));
    teams = NULL; /* stolen by json_pack (even on failure) */
    if (claims == NULL)
        goto done;
    if (k->issuer[0] != '\0')
        json_object_set_new(claims, "iss", json_string(k->issuer));
    if (k->audience[0] != '\0')
        json_object_set_new(claims, "aud", json_string(k->audience));
    text = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        goto done;
    rc = auth_sign_raw("HS256", k->secret, k->secret_len, text, out);
done:
    free(text);
    json_decref(claims);
    return rc;
}
