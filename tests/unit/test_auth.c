/*
 * test_auth.c - token verification: what a forged, stale or malformed token gets, and what a
 * good one turns into. Keys are generated at test time (OpenSSL EVP), nothing is shipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/auth.h"
#include "server/auth_cache.h" /* AUTH_CACHE_SLOTS */
#include "server/config.h"

#define NOW 1800000000LL
static const char SECRET[] = "0123456789abcdef0123456789abcdef-test";

typedef struct keypair {
    char *priv; /* PEM */
    char *pub;  /* PEM */
} keypair;

static keypair rsa, ec;

static char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

static void make_keypair(EVP_PKEY *pkey, keypair *kp)
{
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    assert_non_null(pkey);
    assert_int_equal(PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(PEM_write_bio_PUBKEY(pub, pkey), 1);
    kp->priv = bio_text(priv);
    kp->pub = bio_text(pub);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pkey);
}

static int setup_keys(void **state)
{
    (void)state;
    make_keypair(EVP_RSA_gen(2048), &rsa);
    make_keypair(EVP_EC_gen("P-256"), &ec);
    return 0;
}

static int teardown_keys(void **state)
{
    (void)state;
    free(rsa.priv);
    free(rsa.pub);
    free(ec.priv);
    free(ec.pub);
    return 0;
}

static auth_keys *hs_keys(const char *iss, const char *aud)
{
    auth_keys *k = NULL;
    char err[256];
    assert_int_equal(auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), NULL, 0, iss, aud,
                                   &k, err, sizeof err),
                     0);
    return k;
}

static auth_keys *pem_keys(const char *pem)
{
    auth_keys *k = NULL;
    char err[256];
    assert_int_equal(auth_keys_new(NULL, 0, pem, strlen(pem), NULL, NULL, &k, err, sizeof err), 0);
    return k;
}

/* Sign `claims` (JSON text) with alg and key; the caller frees. (noinline: GCC 12 otherwise
 * mistakes the returned heap pointer for one into this frame, -Wdangling-pointer.) */
__attribute__((noinline)) static char *sign(const char *alg, const char *key, size_t keylen,
                                            const char *claims)
{
    char *tok = NULL;
    assert_int_equal(auth_sign_raw(alg, (const unsigned char *)key, keylen, claims, &tok), 0);
    return tok;
}

static char *sign_hs(const char *claims)
{
    return sign("HS256", SECRET, strlen(SECRET), claims);
}

#define GOOD_CLAIMS                                                                                \
    "{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"lead\",\"teams\":[\"data-stream\"],"         \
    "\"exp\":1800003600}"

/* Verify and return 0/-1; `why` gets the reason. */
static int verify(const auth_keys *k, const char *tok, fd_actor *a, char *why, size_t whylen)
{
    return auth_verify(k, tok, strlen(tok), NOW, a, NULL, why, whylen);
}

static void expect_refused(const auth_keys *k, const char *claims_or_token, int is_token,
                           const char *why_contains)
{
    fd_actor a;
    char why[256] = "";
    char *tok = is_token ? NULL : sign_hs(claims_or_token);
    const char *t = is_token ? claims_or_token : tok;
    assert_int_equal(verify(k, t, &a, why, sizeof why), -1);
    if (strstr(why, why_contains) == NULL)
        fail_msg("reason '%s' does not mention '%s'", why, why_contains);
    free(tok);
}

static void valid_hs256_token_gives_the_actor(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    fd_actor a;
    int64_t exp = 0;
    char why[256];
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW, &a, &exp, why, sizeof why), 0);
    assert_string_equal(a.sub, "alice");
    assert_string_equal(a.name, "Alice");
    assert_int_equal(a.role, FD_ROLE_LEAD);
    assert_int_equal(a.nteams, 1);
    assert_string_equal(a.teams[0], "data-stream");
    assert_string_equal(a.source, "api");
    assert_int_equal(exp, 1800003600LL);
    free(tok);
    auth_keys_free(k);
}

static void name_defaults_to_sub_and_source_is_read(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs("{\"sub\":\"deploy-bot\",\"role\":\"engineer\",\"source\":\"bot\","
                        "\"exp\":1800003600}");
    fd_actor a;
    char why[256];
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0);
    assert_string_equal(a.name, "deploy-bot");
    assert_string_equal(a.source, "bot");
    assert_int_equal(a.nteams, 0);
    free(tok);
    expect_refused(k, "{\"sub\":\"x\",\"role\":\"lead\",\"source\":\"root\",\"exp\":1800003600}", 0,
                   "source");
    auth_keys_free(k);
}

static void expired_token_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1799999990}", 0, "expired");
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800000000}", 0, "expired");
    auth_keys_free(k);
}

static void token_without_exp_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\"}", 0, "exp");
    auth_keys_free(k);
}

static void non_numeric_exp_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    /* libjwt's own getter would read a string exp as 0 with errno 0 */
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":\"1900000000\"}", 0,
                   "not a number");
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":true}", 0, "not a number");
    auth_keys_free(k);
}

static void nbf_in_the_future_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    fd_actor a;
    char why[256];
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,\"nbf\":1800000060}", 0,
                   "nbf");
    char *ok = sign_hs("{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,\"nbf\":1799999000}");
    assert_int_equal(verify(k, ok, &a, why, sizeof why), 0);
    free(ok);
    auth_keys_free(k);
}

static void missing_sub_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    expect_refused(k, "{\"role\":\"lead\",\"exp\":1800003600}", 0, "sub");
    expect_refused(k, "{\"sub\":\"\",\"role\":\"lead\",\"exp\":1800003600}", 0, "sub");
    expect_refused(k, "{\"sub\":42,\"role\":\"lead\",\"exp\":1800003600}", 0, "sub");
    auth_keys_free(k);
}

static void missing_or_unknown_role_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    expect_refused(k, "{\"sub\":\"a\",\"exp\":1800003600}", 0, "role");
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"superuser\",\"exp\":1800003600}", 0, "role");
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"Lead\",\"exp\":1800003600}", 0, "role");
    auth_keys_free(k);
}

static void alg_none_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *none = sign("none", NULL, 0, GOOD_CLAIMS);
    expect_refused(k, none, 1, "signature or algorithm");
    /* and with an empty signature glued onto a header claiming HS256 */
    char *hs = sign_hs(GOOD_CLAIMS);
    char *dot = strrchr(hs, '.');
    dot[1] = '\0';
    expect_refused(k, hs, 1, "signature or algorithm");
    free(hs);
    free(none);
    auth_keys_free(k);
}

static void hs256_signed_with_the_public_key_refused(void **state)
{
    (void)state;
    auth_keys *k = pem_keys(rsa.pub);
    fd_actor a;
    char why[256];

    /* the legitimate RS256 token passes, so the refusal below is about the algorithm */
    char *good = sign("RS256", rsa.priv, strlen(rsa.priv), GOOD_CLAIMS);
    assert_int_equal(verify(k, good, &a, why, sizeof why), 0);
    assert_string_equal(a.sub, "alice");

    char *forged = sign("HS256", rsa.pub, strlen(rsa.pub), GOOD_CLAIMS);
    expect_refused(k, forged, 1, "signature or algorithm");
    /* RS384 with the right key is still not the configured algorithm */
    char *rs384 = sign("RS384", rsa.priv, strlen(rsa.priv), GOOD_CLAIMS);
    expect_refused(k, rs384, 1, "signature or algorithm");
    free(good);
    free(forged);
    free(rs384);
    auth_keys_free(k);
}

static void es256_key_accepts_es256_only(void **state)
{
    (void)state;
    auth_keys *k = pem_keys(ec.pub);
    fd_actor a;
    char why[256];
    assert_string_equal(auth_keys_describe(k), "ES256");
    char *good = sign("ES256", ec.priv, strlen(ec.priv), GOOD_CLAIMS);
    assert_int_equal(verify(k, good, &a, why, sizeof why), 0);
    char *rs = sign("RS256", rsa.priv, strlen(rsa.priv), GOOD_CLAIMS);
    expect_refused(k, rs, 1, "signature or algorithm");
    char *forged = sign("HS256", ec.pub, strlen(ec.pub), GOOD_CLAIMS);
    expect_refused(k, forged, 1, "signature or algorithm");
    free(good);
    free(rs);
    free(forged);
    auth_keys_free(k);
}

static void secret_and_public_key_together(void **state)
{
    (void)state;
    auth_keys *k = NULL;
    char err[256], why[256];
    fd_actor a;
    assert_int_equal(auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), rsa.pub,
                                   strlen(rsa.pub), NULL, NULL, &k, err, sizeof err),
                     0);
    assert_string_equal(auth_keys_describe(k), "HS256+RS256");
    char *hs = sign_hs(GOOD_CLAIMS);
    char *rs = sign("RS256", rsa.priv, strlen(rsa.priv), GOOD_CLAIMS);
    char *forged = sign("HS256", rsa.pub, strlen(rsa.pub), GOOD_CLAIMS);
    assert_int_equal(verify(k, hs, &a, why, sizeof why), 0);
    assert_int_equal(verify(k, rs, &a, why, sizeof why), 0);
    assert_int_equal(verify(k, forged, &a, why, sizeof why), -1);
    free(hs);
    free(rs);
    free(forged);
    auth_keys_free(k);
}

static void wrong_secret_refused(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    const char other[] = "another-secret-that-is-long-enough-000";
    char *tok = sign("HS256", other, strlen(other), GOOD_CLAIMS);
    expect_refused(k, tok, 1, "signature");
    /* a tampered payload under the right secret */
    char *good = sign_hs(GOOD_CLAIMS);
    char *p = strchr(good, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    expect_refused(k, good, 1, "");
    expect_refused(k, "not a token", 1, "compact JWT");
    expect_refused(k, "", 1, "empty");
    free(good);
    free(tok);
    auth_keys_free(k);
}

static void issuer_and_audience_checked_when_configured(void **state)
{
    (void)state;
    auth_keys *k = hs_keys("https://idp.example", "flightdeck");
    fd_actor a;
    char why[256];
    expect_refused(k, GOOD_CLAIMS, 0, "iss");
    expect_refused(k,
                   "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,"
                   "\"iss\":\"https://evil.example\",\"aud\":\"flightdeck\"}",
                   0, "iss");
    expect_refused(k,
                   "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,"
                   "\"iss\":\"https://idp.example\",\"aud\":\"other\"}",
                   0, "aud");
    char *ok = sign_hs("{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,"
                       "\"iss\":\"https://idp.example\",\"aud\":[\"x\",\"flightdeck\"]}");
    assert_int_equal(verify(k, ok, &a, why, sizeof why), 0);
    free(ok);
    auth_keys_free(k);
}

static void teams_claim_parsing(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    fd_actor a;
    char why[256];
    char *tok = sign_hs("{\"sub\":\"a\",\"role\":\"engineer\",\"exp\":1800003600,"
                        "\"teams\":[\"sre\",\"data-stream\",\"sre\"]}");
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0);
    assert_int_equal(a.nteams, 2); /* a repeated team counts once */
    assert_true(fd_actor_in_team(&a, "sre"));
    assert_true(fd_actor_in_team(&a, "data-stream"));
    assert_false(fd_actor_in_team(&a, "platform"));
    free(tok);

    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,\"teams\":\"sre\"}", 0,
                   "teams");
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,\"teams\":[\"SRE\"]}", 0,
                   "teams");
    expect_refused(k, "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,\"teams\":[7]}", 0,
                   "teams");

    /* 33 teams is one more than a token may carry */
    char claims[2048];
    size_t n = (size_t)snprintf(claims, sizeof claims,
                                "{\"sub\":\"a\",\"role\":\"lead\",\"exp\":1800003600,\"teams\":[");
    for (int i = 0; i < FD_MAX_TEAMS + 1; i++)
        n += (size_t)snprintf(claims + n, sizeof claims - n, "%s\"t%d\"", i ? "," : "", i);
    snprintf(claims + n, sizeof claims - n, "]}");
    expect_refused(k, claims, 0, "teams");
    auth_keys_free(k);
}

static void minted_token_round_trips(void **state)
{
    (void)state;
    auth_keys *k = hs_keys("flightdeck", NULL);
    fd_actor in = {.sub = "bob",
                   .name = "Bob B.",
                   .role = FD_ROLE_ENGINEER,
                   .source = "bot",
                   .nteams = 2,
                   .teams = {"data-stream", "sre"}};
    fd_actor out;
    char *tok = NULL;
    char why[256];
    int64_t exp = 0;
    assert_true(auth_keys_can_mint(k));
    assert_int_equal(auth_mint(k, &in, NOW, 8 * 3600, &tok), 0);
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW, &out, &exp, why, sizeof why), 0);
    assert_string_equal(out.sub, "bob");
    assert_string_equal(out.name, "Bob B.");
    assert_int_equal(out.role, FD_ROLE_ENGINEER);
    assert_string_equal(out.source, "bot");
    assert_int_equal(out.nteams, 2);
    assert_int_equal(exp, NOW + 8 * 3600);
    /* eight hours later it is expired */
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW + 8 * 3600, &out, NULL, why, sizeof why),
                     -1);
    free(tok);
    auth_keys_free(k);

    auth_keys *pub = pem_keys(rsa.pub);
    assert_false(auth_keys_can_mint(pub));
    assert_int_equal(auth_mint(pub, &in, NOW, 60, &tok), -1);
    auth_keys_free(pub);
}

static void short_or_missing_keys_refused(void **state)
{
    (void)state;
    auth_keys *k = NULL;
    char err[256] = "";
    const char short_secret[] = "0123456789abcdef0123456789abcde"; /* 31 bytes */
    assert_int_equal(auth_keys_new((const unsigned char *)short_secret, strlen(short_secret), NULL,
                                   0, NULL, NULL, &k, err, sizeof err),
                     -1);
    assert_null(k);
    assert_non_null(strstr(err, "32 bytes"));
    assert_int_equal(auth_keys_new(NULL, 0, NULL, 0, NULL, NULL, &k, err, sizeof err), -1);
    const char junk[] = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n";
    assert_int_equal(auth_keys_new(NULL, 0, junk, strlen(junk), NULL, NULL, &k, err, sizeof err),
                     -1);
    assert_int_equal(auth_verify(NULL, "a.b.c", 5, NOW, NULL, NULL, err, sizeof err), -1);
}

static void secret_file_is_used(void **state)
{
    (void)state;
    char path[] = "/tmp/fd-test-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char body[] = "0123456789abcdef0123456789abcdef-test\n"; /* SECRET plus a newline */
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);

    fd_config c;
    char err[256];
    config_defaults(&c);
    unsetenv("FLIGHTDECK_JWT_SECRET");
    setenv("FLIGHTDECK_JWT_SECRET_FILE", path, 1);
    assert_int_equal(config_load_keys(&c, err, sizeof err), 0);
    unsetenv("FLIGHTDECK_JWT_SECRET_FILE");
    unlink(path);

    auth_keys *k = NULL;
    assert_int_equal(
        auth_keys_new(c.jwt_secret, c.jwt_secret_len, NULL, 0, NULL, NULL, &k, err, sizeof err), 0);
    /* a token signed with SECRET (no newline) verifies: the file's newline was not key */
    char *tok = sign_hs(GOOD_CLAIMS);
    fd_actor a;
    assert_int_equal(verify(k, tok, &a, err, sizeof err), 0);
    free(tok);
    auth_keys_free(k);
    config_free(&c);
}

/* ---- the cache of verified tokens (auth_cache.h) ---- */

static void cache_counts(const auth_keys *k, uint64_t *hits, uint64_t *misses)
{
    auth_keys_cache_stats(k, hits, misses);
}

/* A token served from the cache still expires the second its exp says, and a clock set back
 * before its nbf refuses it again. */
static void cached_token_still_expires_on_time(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs("{\"sub\":\"a\",\"role\":\"lead\",\"nbf\":1799999995,\"exp\":1800000010}");
    fd_actor a;
    char why[256];
    uint64_t hits, misses;
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW, &a, NULL, why, sizeof why), 0);
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW + 9, &a, NULL, why, sizeof why), 0);
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 1); /* the second call came from the cache */
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW + 10, &a, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW + 3600, &a, NULL, why, sizeof why), -1);
    /* verified (and cached) again at NOW, then asked about a moment before its nbf */
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW, &a, NULL, why, sizeof why), 0);
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW - 6, &a, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "nbf"));
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 1);
    free(tok);
    auth_keys_free(k);
}

/* The exp handed back from the cache is the token's, as from a full verification. */
static void cached_token_reports_its_exp(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    fd_actor a, b;
    int64_t exp1 = 0, exp2 = 0;
    char why[256];
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW, &a, &exp1, why, sizeof why), 0);
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW + 1, &b, &exp2, why, sizeof why), 0);
    assert_int_equal(exp1, 1800003600LL);
    assert_int_equal(exp2, 1800003600LL);
    assert_memory_equal(&a, &b, sizeof a);
    free(tok);
    auth_keys_free(k);
}

/* A token that shares its first bytes with a cached one (a tampered signature, an extra byte, a
 * prefix) is verified in full, and refused. */
static void tampered_token_is_not_served_from_the_cache(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    size_t len = strlen(tok);
    fd_actor a;
    char why[256];
    uint64_t hits, misses;
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0);
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0);

    char *bad = malloc(len + 2);
    memcpy(bad, tok, len + 1);
    bad[len - 1] = bad[len - 1] == 'A' ? 'B' : 'A'; /* last signature character */
    assert_int_equal(verify(k, bad, &a, why, sizeof why), -1);
    memcpy(bad, tok, len);
    bad[len] = 'A';
    bad[len + 1] = '\0'; /* one byte more */
    assert_int_equal(verify(k, bad, &a, why, sizeof why), -1);
    /* the first len-1 bytes only, not NUL-terminated at len: auth_verify takes a length */
    assert_int_equal(auth_verify(k, tok, len - 1, NOW, &a, NULL, why, sizeof why), -1);
    /* the same signature over another payload: the role raised to admin */
    char *admin = sign_hs("{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"admin\","
                          "\"teams\":[\"data-stream\"],\"exp\":1800003600}");
    char *dot = strrchr(admin, '.'), *tdot = strrchr(tok, '.');
    {
        size_t head = (size_t)(dot - admin) + 1;
        char *forged = malloc(head + strlen(tdot + 1) + 1);
        memcpy(forged, admin, head);
        strcpy(forged + head, tdot + 1);
        assert_int_equal(verify(k, forged, &a, why, sizeof why), -1);
        free(forged);
    }
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 1); /* only the good token's second call */
    assert_int_equal(misses, 5);
    /* and the good token still verifies, from the cache */
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0);
    assert_int_equal(a.role, FD_ROLE_LEAD);
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 2);
    free(admin);
    free(bad);
    free(tok);
    auth_keys_free(k);
}

/* A refused token is never remembered as good: every attempt is verified in full. */
static void refused_token_is_never_cached(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign("HS256", "another-secret-another-secret-0000", 34, GOOD_CLAIMS);
    fd_actor a;
    char why[256];
    uint64_t hits, misses;
    for (int i = 0; i < 3; i++)
        assert_int_equal(verify(k, tok, &a, why, sizeof why), -1);
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 3);
    free(tok);
    auth_keys_free(k);
}

/* The character check still refuses a token that is not a compact JWT, though the cache is
 * asked first: a cached token with one byte made illegal (or one illegal byte more) is refused
 * with the same sentence as ever, and such tokens are not counted as cache misses. */
static void malformed_token_is_refused_whatever_the_cache_holds(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    size_t len = strlen(tok);
    fd_actor a;
    char why[256];
    uint64_t hits, misses;
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0); /* verified and cached */
    assert_int_equal(verify(k, tok, &a, why, sizeof why), 0); /* a hit */

    char *bad = malloc(len + 2);
    const size_t at[] = {0, len / 2, len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(bad, tok, len + 1);
        bad[at[i]] = '!';
        why[0] = '\0';
        assert_int_equal(verify(k, bad, &a, why, sizeof why), -1);
        assert_string_equal(why, "the token is not a compact JWT (header.payload.signature)");
    }
    memcpy(bad, tok, len);
    bad[len] = ' ';
    bad[len + 1] = '\0';
    assert_int_equal(verify(k, bad, &a, why, sizeof why), -1);
    assert_string_equal(why, "the token is not a compact JWT (header.payload.signature)");
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 1); /* the first, full verification only */
    free(bad);
    free(tok);
    auth_keys_free(k);
}

/* Each verifier has its own cache: a token good for one key set is not good for another. */
static void cache_belongs_to_its_keys(void **state)
{
    (void)state;
    auth_keys *open = hs_keys(NULL, NULL), *strict = hs_keys("https://idp.example", NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    fd_actor a;
    char why[256];
    assert_int_equal(verify(open, tok, &a, why, sizeof why), 0);
    assert_int_equal(verify(strict, tok, &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "iss"));
    free(tok);
    auth_keys_free(open);
    auth_keys_free(strict);
}

/* An entry lives a minute at most; more distinct tokens than the cache holds all still verify,
 * and a token used a moment ago is still a hit. */
static void cache_is_bounded_and_short_lived(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    fd_actor a;
    char why[256];
    uint64_t hits, misses;
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW, &a, NULL, why, sizeof why), 0);
    assert_int_equal(auth_verify(k, tok, strlen(tok), NOW + 61, &a, NULL, why, sizeof why), 0);
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 0); /* a minute later: verified in full again */
    assert_int_equal(misses, 2);

    for (int i = 0; i < 2 * 1024; i++) {
        char claims[128];
        snprintf(claims, sizeof claims, "{\"sub\":\"user-%d\",\"role\":\"viewer\",\"exp\":1800003600}",
                 i);
        char *t = sign_hs(claims);
        assert_int_equal(auth_verify(k, t, strlen(t), NOW + 61, &a, NULL, why, sizeof why), 0);
        assert_int_equal(auth_verify(k, t, strlen(t), NOW + 61, &a, NULL, why, sizeof why), 0);
        char want[32];
        snprintf(want, sizeof want, "user-%d", i);
        assert_string_equal(a.sub, want);
        free(t);
    }
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits, 2 * 1024);
    free(tok);
    auth_keys_free(k);
}

/* The cache spreads tokens over its sets: a quarter as many distinct tokens as it has entries,
 * each verified once and then all asked again, are nearly all still there (spread at random, a
 * set gets more than its AUTH_CACHE_WAYS about once in 250; a hash that put them in a few sets
 * would keep a handful). Tokens of one issuer share their first bytes, and these differ only
 * in a counter inside the payload. */
static void cache_spreads_tokens_over_its_sets(void **state)
{
    (void)state;
    enum { N = AUTH_CACHE_SLOTS / 4 };
    auth_keys *k = hs_keys(NULL, NULL);
    char **toks = calloc(N, sizeof *toks);
    fd_actor a;
    char why[256];
    uint64_t hits, misses;
    for (int i = 0; i < N; i++) {
        char claims[128];
        snprintf(claims, sizeof claims,
                 "{\"sub\":\"user-%d\",\"role\":\"viewer\",\"exp\":1800003600}", i);
        toks[i] = sign_hs(claims);
        assert_int_equal(verify(k, toks[i], &a, why, sizeof why), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(verify(k, toks[i], &a, why, sizeof why), 0);
        char want[32];
        snprintf(want, sizeof want, "user-%d", i);
        assert_string_equal(a.sub, want);
    }
    cache_counts(k, &hits, &misses);
    assert_int_equal(hits + misses, 2 * N);
    if (hits < N * 9 / 10)
        fail_msg("only %llu of %d tokens still cached", (unsigned long long)hits, N);
    for (int i = 0; i < N; i++)
        free(toks[i]);
    free(toks);
    auth_keys_free(k);
}

/* The request path borrows the cached actor itself (auth_verify_shared): hits share one object,
 * which outlives its cache entry, expired or with the whole cache freed, until its last holder
 * lets go (ASan would see a use after free, LeakSanitizer a reference never dropped). */
static void shared_actor_outlives_its_cache_entry(void **state)
{
    (void)state;
    auth_keys *k = hs_keys(NULL, NULL);
    char *tok = sign_hs(GOOD_CLAIMS);
    size_t len = strlen(tok);
    auth_shared *first = NULL, *second = NULL, *later = NULL, *none = NULL;
    char why[256];
    assert_int_equal(auth_verify_shared(k, tok, len, NOW, &first, NULL, why, sizeof why), 0);
    assert_int_equal(auth_verify_shared(k, tok, len, NOW + 1, &second, NULL, why, sizeof why), 0);
    assert_ptr_equal(first, second); /* the entry's own actor, not a copy */
    /* a minute on, the entry has expired: verified and cached afresh, the old one still held */
    assert_int_equal(auth_verify_shared(k, tok, len, NOW + 61, &later, NULL, why, sizeof why), 0);
    assert_ptr_not_equal(later, first);
    assert_string_equal(auth_shared_actor(first)->sub, "alice");
    auth_shared_release(first);
    assert_string_equal(auth_shared_actor(second)->name, "Alice");
    auth_shared_release(second);
    /* the keys (and their cache) go first; a request still holding its actor reads it */
    auth_keys_free(k);
    assert_string_equal(auth_shared_actor(later)->sub, "alice");
    assert_int_equal(auth_shared_actor(later)->role, FD_ROLE_LEAD);
    assert_true(fd_actor_in_team(auth_shared_actor(later), "data-stream"));
    auth_shared_release(later);
    /* a refusal hands out nothing to release */
    k = hs_keys(NULL, NULL);
    assert_int_equal(auth_verify_shared(k, "a.b.c", 5, NOW, &none, NULL, why, sizeof why), -1);
    assert_null(none);
    auth_keys_free(k);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_hs256_token_gives_the_actor),
        cmocka_unit_test(name_defaults_to_sub_and_source_is_read),
        cmocka_unit_test(expired_token_refused),
        cmocka_unit_test(token_without_exp_refused),
        cmocka_unit_test(non_numeric_exp_refused),
        cmocka_unit_test(nbf_in_the_future_refused),
        cmocka_unit_test(missing_sub_refused),
        cmocka_unit_test(missing_or_unknown_role_refused),
        cmocka_unit_test(alg_none_refused),
        cmocka_unit_test(hs256_signed_with_the_public_key_refused),
        cmocka_unit_test(es256_key_accepts_es256_only),
        cmocka_unit_test(secret_and_public_key_together),
        cmocka_unit_test(wrong_secret_refused),
        cmocka_unit_test(issuer_and_audience_checked_when_configured),
        cmocka_unit_test(teams_claim_parsing),
        cmocka_unit_test(minted_token_round_trips),
        cmocka_unit_test(short_or_missing_keys_refused),
        cmocka_unit_test(secret_file_is_used),
        cmocka_unit_test(cached_token_still_expires_on_time),
        cmocka_unit_test(cached_token_reports_its_exp),
        cmocka_unit_test(tampered_token_is_not_served_from_the_cache),
        cmocka_unit_test(refused_token_is_never_cached),
        cmocka_unit_test(malformed_token_is_refused_whatever_the_cache_holds),
        cmocka_unit_test(cache_belongs_to_its_keys),
        cmocka_unit_test(cache_is_bounded_and_short_lived),
        cmocka_unit_test(cache_spreads_tokens_over_its_sets),
        cmocka_unit_test(shared_actor_outlives_its_cache_entry),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
