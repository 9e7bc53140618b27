/*
 * fuzz_token.c - libFuzzer target: bearer token verification (server/auth.c on libjwt 1.10).
 *
 * The first input byte picks a mode; the rest is the material:
 *   0  raw bytes as the token (HS256 secret configured). Nobody without the secret may get in:
 *      an accepted token must carry alg HS256 and a signature that really is the HMAC of its
 *      header and payload under the secret, and claims the reference check below accepts.
 *   1  the rest is a claims JSON text; the harness signs it (header {"alg":"HS256","typ":"JWT"})
 *      with the secret. Differential: auth_verify accepts exactly when the reference check does,
 *      and then the actor holds exactly the claims' values.
 *   2  "header JSON \n claims JSON", signed with the secret: accepted only with alg HS256 and
 *      claims the reference accepts. (libjwt reads alg case-insensitively, so "Hs256" is HS256:
 *      the same algorithm under the same key, no confusion; RFC 7515 would refuse it.)
 *   3  key confusion and alg none: the claims signed HS256 with the RSA or EC public key PEM as
 *      the HMAC key, or sent with alg "none" and no signature. Never accepted, whatever the claims.
 *   4  the claims signed with the secret, verified by keys that also hold an RSA public key and
 *      require iss/aud: differential as in mode 1.
 *   5  the claims signed ES256 with the EC private key, verified by the EC public key:
 *      differential as in mode 1.
 * On every refusal the reason is one non-empty sentence that never repeats the token.
 * `now` is fixed (2026-03-10T19:00:00Z), so seeds with valid tokens stay valid.
 */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <math.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/auth.h"
#include "tests/fuzz/fuzz_common.h"

#define NOW 1773169200LL
#define ISS "https://idp.example"
#define AUD "flightdeck"

static const char SECRET[] = "fuzz-secret-0123456789abcdef-0123456789";
static auth_keys *keys_hs;  /* the secret only */
static auth_keys *keys_rsa; /* the secret and an RSA public key; iss and aud required */
static auth_keys *keys_ec;  /* an EC P-256 public key only */
static char *rsa_pub, *ec_pub, *ec_priv;

/* ---- helpers ---------------------------------------------------------------------------- */

static char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

static void make_keypair(EVP_PKEY *pkey, char **pub, char **priv)
{
    BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem());
    if (pkey == NULL || PEM_write_bio_PUBKEY(b1, pkey) != 1 ||
        PEM_write_bio_PrivateKey(b2, pkey, NULL, NULL, 0, NULL, NULL) != 1)
        abort();
    *pub = bio_text(b1);
    if (priv != NULL)
        *priv = bio_text(b2);
    BIO_free(b1);
    BIO_free(b2);
    EVP_PKEY_free(pkey);
}

static size_t b64url(const unsigned char *in, size_t len, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[n++] = t[v >> 18];
        out[n++] = t[(v >> 12) & 63];
        out[n++] = t[(v >> 6) & 63];
        out[n++] = t[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[n++] = t[v >> 18];
        out[n++] = t[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[n++] = t[v >> 18];
        out[n++] = t[(v >> 12) & 63];
        out[n++] = t[(v >> 6) & 63];
    }
    out[n] = '\0';
    return n;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict base64url decode (no padding, no stray characters); -1 when not strict. */
static long b64url_decode(const char *in, size_t len, unsigned char *out)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)n;
}

/* header.payload.signature, signed HMAC-SHA256 with `key`; malloc'd. */
static char *sign_hs256(const char *header, size_t hlen, const char *claims, size_t clen,
                        const void *key, size_t klen)
{
    char *tok = malloc(4 * (hlen + clen + 64) / 3 + 16);
    size_t n = b64url((const unsigned char *)header, hlen, tok);
    tok[n++] = '.';
    n += b64url((const unsigned char *)claims, clen, tok + n);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)tok, n, mac, &maclen) == NULL)
        abort();
    tok[n++] = '.';
    b64url(mac, maclen, tok + n);
    return tok;
}

/* ---- the reference: what a token's claims must hold to be accepted (auth.h's rules) ----- */

static int ref_label(const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > 127 || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int ref_slug(const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n < 1 || n > 64 || n != json_string_length(v))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int ref_one_of(const json_t *v, const char *const *names)
{
    if (!json_is_string(v))
        return 0;
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(json_string_value(v), names[i]) == 0)
            return 1;
    return 0;
}

static int ref_accepts(const json_t *c, const char *iss, const char *aud)
{
    static const char *const roles[] = {"viewer", "engineer", "lead", "admin", NULL};
    static const char *const sources[] = {"api", "bot", "web", NULL};
    if (!json_is_object(c))
        return 0;
    json_t *v = json_object_get(c, "exp");
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) <= NOW)
        return 0;
    v = json_object_get(c, "nbf");
    if (v != NULL && (!json_is_number(v) || json_number_value(v) > NOW))
        return 0;
    if (iss != NULL) {
        v = json_object_get(c, "iss");
        if (!json_is_string(v) || strcmp(json_string_value(v), iss) != 0)
            return 0;
    }
    if (aud != NULL) {
        v = json_object_get(c, "aud");
        int ok = json_is_string(v) && strcmp(json_string_value(v), aud) == 0;
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
            json_t *e = json_array_get(v, i);
            ok |= json_is_string(e) && strcmp(json_string_value(e), aud) == 0;
        }
        if (!ok)
            return 0;
    }
    if (!ref_label(json_object_get(c, "sub")))
        return 0;
    v = json_object_get(c, "name");
    if (v != NULL && !json_is_null(v) && !ref_label(v))
        return 0;
    if (!ref_one_of(json_object_get(c, "role"), roles))
        return 0;
    v = json_object_get(c, "teams");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) > FD_MAX_TEAMS)
            return 0;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!ref_slug(json_array_get(v, i)))
                return 0;
    }
    v = json_object_get(c, "source");
    if (v != NULL && !json_is_null(v) && !ref_one_of(v, sources))
        return 0;
    return 1;
}

/* The actor must hold exactly what the claims say. */
static void check_actor(const fd_actor *a, const json_t *c, int64_t exp)
{
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const json_t *name = json_object_get(c, "name");
    FUZZ_CHECK(strcmp(a->sub, sub) == 0, "sub '%s' became '%s'", sub, a->sub);
    FUZZ_CHECK(strcmp(a->name, json_is_string(name) ? json_string_value(name) : sub) == 0,
               "name became '%s'", a->name);
    FUZZ_CHECK(strcmp(fd_role_name(a->role), json_string_value(json_object_get(c, "role"))) == 0,
               "role became %s", fd_role_name(a->role));
    const json_t *src = json_object_get(c, "source");
    FUZZ_CHECK(strcmp(a->source, json_is_string(src) ? json_string_value(src) : "api") == 0,
               "source became %s", a->source);
    const json_t *teams = json_object_get(c, "teams");
    int distinct = 0;
    for (size_t i = 0; json_is_array(teams) && i < json_array_size(teams); i++) {
        const char *t = json_string_value(json_array_get(teams, i));
        FUZZ_CHECK(fd_actor_in_team(a, t), "team %s lost", t);
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(t, json_string_value(json_array_get(teams, j))) == 0;
        distinct += !seen;
    }
    FUZZ_CHECK(a->nteams == distinct, "%d teams for %d distinct", a->nteams, distinct);
    double e = json_number_value(json_object_get(c, "exp"));
    FUZZ_CHECK(exp > NOW && (double)exp <= e, "exp %lld for claim %g", (long long)exp, e);
}

/* ---- one verification ------------------------------------------------------------------- */

static int verify(const auth_keys *k, const char *tok, size_t len, fd_actor *a, int64_t *exp)
{
    char why[200] = "";
    /* an exact-size copy: ASan sees any read past the token */
    char *copy = malloc(len);
    memcpy(copy, tok, len);
    int rc = auth_verify(k, copy, len, NOW, a, exp, why, sizeof why);
    free(copy);
    if (rc != 0) {
        FUZZ_CHECK(why[0] != '\0', "refused without a reason");
        FUZZ_CHECK(len < 12 || memmem(why, strlen(why), tok, len) == NULL,
                   "the reason repeats the token: %s", why);
    }
    return rc;
}

/* Parse a decoded segment the way libjwt 1.10 does: as a C string (bytes after a NUL are
 * ignored; the signature still covers them), json_loads flags 0. */
static json_t *parse(const char *s, size_t n)
{
    return json_loadb(s, strnlen(s, n), 0, NULL);
}

static void mode_raw(const char *d, size_t n)
{
    fd_actor a;
    int64_t exp = 0;
    if (verify(keys_hs, d, n, &a, &exp) != 0)
        return;
    /* accepted: it must be a genuine token under our secret */
    const char *dot1 = memchr(d, '.', n);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - d)) : NULL;
    FUZZ_CHECK(dot2 != NULL, "accepted a token without two dots");
    unsigned char *buf = malloc(n + 1);
    long hl = b64url_decode(d, (size_t)(dot1 - d), buf);
    if (hl >= 0) {
        json_t *h = parse((const char *)buf, (size_t)hl);
        FUZZ_CHECK(json_is_string(json_object_get(h, "alg")) &&
                       strcasecmp(json_string_value(json_object_get(h, "alg")), "HS256") == 0,
                   "accepted a token whose alg is not HS256");
        json_decref(h);
    }
    long pl = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
    if (pl >= 0) {
        json_t *c = parse((const char *)buf, (size_t)pl);
        FUZZ_CHECK(ref_accepts(c, NULL, NULL), "accepted claims the rules refuse");
        check_actor(&a, c, exp);
        json_decref(c);
    }
    long sl = b64url_decode(dot2 + 1, n - (size_t)(dot2 + 1 - d), buf);
    if (sl >= 0) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)d,
             (size_t)(dot2 - d), mac, &maclen);
        FUZZ_CHECK(sl == (long)maclen && memcmp(mac, buf, maclen) == 0,
                   "accepted a token whose signature is not ours");
    }
    free(buf);
}

static const char HS_HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Differential: the token for `claims` is accepted by `k` exactly when the reference agrees. */
static void differential(const auth_keys *k, const char *tok, const char *claims, size_t clen,
                         const char *iss, const char *aud)
{
    fd_actor a;
    int64_t exp = 0;
    json_t *c = parse(claims, clen);
    int want = ref_accepts(c, iss, aud) && strlen(tok) <= AUTH_TOKEN_MAX;
    int got = verify(k, tok, strlen(tok), &a, &exp) == 0;
    FUZZ_CHECK(got == want, "auth_verify %s claims the rules %s: %.*s",
               got ? "accepted" : "refused", want ? "accept" : "refuse", (int)clen, claims);
    if (got)
        check_actor(&a, c, exp);
    json_decref(c);
}

static void mode_claims(const char *d, size_t n, const auth_keys *k, const char *iss,
                        const char *aud)
{
    char *tok = sign_hs256(HS_HEADER, strlen(HS_HEADER), d, n, SECRET, strlen(SECRET));
    differential(k, tok, d, n, iss, aud);
    free(tok);
}

static void mode_header(const char *d, size_t n)
{
    const char *nl = memchr(d, '\n', n);
    size_t hlen = nl != NULL ? (size_t)(nl - d) : n;
    const char *claims = nl != NULL ? nl + 1 : "";
    size_t clen = nl != NULL ? n - hlen - 1 : 0;
    char *tok = sign_hs256(d, hlen, claims, clen, SECRET, strlen(SECRET));
    fd_actor a;
    int64_t exp = 0;
    if (verify(keys_hs, tok, strlen(tok), &a, &exp) == 0) {
        json_t *h = parse(d, hlen), *c = parse(claims, clen);
        const char *alg = json_string_value(json_object_get(h, "alg"));
        FUZZ_CHECK(alg != NULL && strcasecmp(alg, "HS256") == 0, "accepted header %.*s", (int)hlen,
                   d);
        FUZZ_CHECK(ref_accepts(c, NULL, NULL), "accepted claims the rules refuse");
        check_actor(&a, c, exp);
        json_decref(h);
        json_decref(c);
    }
    free(tok);
}

static void mode_confusion(const char *d, size_t n)
{
    fd_actor a;
    int64_t exp = 0;
    const char *pems[] = {rsa_pub, ec_pub};
    const auth_keys *ks[] = {keys_rsa, keys_ec};
    for (int i = 0; i < 2; i++) {
        /* HS256 keyed with the public key text: the classic algorithm confusion */
        char *tok = sign_hs256(HS_HEADER, strlen(HS_HEADER), d, n, pems[i], strlen(pems[i]));
        FUZZ_CHECK(verify(ks[i], tok, strlen(tok), &a, &exp) != 0,
                   "accepted HS256 signed with the public key");
        free(tok);
    }
    static const char none[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char *tok = sign_hs256(none, strlen(none), d, n, SECRET, strlen(SECRET));
    char *sig = strrchr(tok, '.');
    for (int keep = 0; keep < 2; keep++) { /* "h.p." and "h.p.<junk>" */
        if (keep == 0)
            sig[1] = '\0';
        const auth_keys *all[] = {keys_hs, keys_rsa, keys_ec};
        for (int i = 0; i < 3; i++)
            FUZZ_CHECK(verify(all[i], tok, strlen(tok), &a, &exp) != 0, "accepted alg none");
    }
    free(tok);
}

static void mode_es256(const char *d, size_t n)
{
    char *claims = malloc(n + 1);
    memcpy(claims, d, n);
    claims[n] = '\0';
    char *tok = NULL;
    /* libjwt wants an object; anything else cannot be signed and is not interesting here */
    if (strlen(claims) == n &&
        auth_sign_raw("ES256", (const unsigned char *)ec_priv, strlen(ec_priv), claims, &tok) == 0)
        differential(keys_ec, tok, d, n, NULL, NULL);
    free(tok);
    free(claims);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256], *rsa_priv = NULL;
    make_keypair(EVP_RSA_gen(2048), &rsa_pub, &rsa_priv);
    make_keypair(EVP_EC_gen("P-256"), &ec_pub, &ec_priv);
    free(rsa_priv);
    if (auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), NULL, 0, NULL, NULL, &keys_hs,
                      err, sizeof err) != 0 ||
        auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), rsa_pub, strlen(rsa_pub), ISS,
                      AUD, &keys_rsa, err, sizeof err) != 0 ||
        auth_keys_new(NULL, 0, ec_pub, strlen(ec_pub), NULL, NULL, &keys_ec, err, sizeof err) !=
            0) {
        fprintf(stderr, "fuzz_token setup: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > AUTH_TOKEN_MAX)
        return 0;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0:
        mode_raw(d, n);
        break;
    case 1:
        mode_claims(d, n, keys_hs, NULL, NULL);
        break;
    case 2:
        mode_header(d, n);
        break;
    case 3:
        mode_confusion(d, n);
        break;
    case 4:
        mode_claims(d, n, keys_rsa, ISS, AUD);
        break;
    default:
        mode_es256(d, n);
        break;
    }
    return 0;
}
