/*
 * fuzz_headers.c - libFuzzer target: the request-header parsers of the front door
 * (server/http.c, server/log.c): If-Match, Idempotency-Key, X-Request-Id, and the credentials
 * in Authorization and Cookie (http_authenticate, on a fake h2o request, tests/unit/fake_h2o.h).
 *
 * The first input byte picks the header; the rest is its value. Properties, abort() on
 * violation, each against an independent reference written from the rule in the header file:
 *   0 If-Match: OWS, "*" or [W/]"digits" (1-18 digits) -> the version; nothing else accepted.
 *     Plus a round trip: a version from the input bytes, written as "n" or W/"n" with blanks,
 *     parses back to n.
 *   1 Idempotency-Key: accepted exactly when 1-255 bytes of printable ASCII.
 *   2 X-Request-Id: accepted exactly when [A-Za-z0-9._-]{1,64}; new ids are acceptable ones.
 *   3 Authorization, 4 Cookie, 5 both (the rest split at the first newline): "@T" in the value
 *     stands for a valid token (sub "alice"), "@X" for an expired one. Signed in exactly when
 *     the reference finds the valid token where the rule looks (Bearer first; else the first
 *     non-empty fd_session cookie), and then as alice (source "web" through the cookie).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/auth.h"
#include "server/http.h"
#include "server/log.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/unit/fake_h2o.h"

static const char SECRET[] = "fuzz-headers-secret-0123456789abcdef-01";
static auth_keys *keys;
static char *valid_token, *expired_token;

/* ---- If-Match ---------------------------------------------------------------------------- */

static int ref_if_match(const char *s, size_t n, int64_t *out)
{
    size_t a = 0, b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
        b--;
    if (b - a == 1 && s[a] == '*') {
        *out = -1;
        return 0;
    }
    if (b - a >= 2 && s[a] == 'W' && s[a + 1] == '/')
        a += 2;
    if (b - a < 3 || s[a] != '"' || s[b - 1] != '"' || b - a - 2 > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = a + 1; i < b - 1; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0'); /* 18 digits cannot overflow */
    }
    *out = v;
    return 0;
}

static void check_if_match(const char *s, size_t n, const uint8_t *raw, size_t rawn)
{
    int64_t got = -7, want = -7;
    int rg = http_parse_if_match(s, n, &got);
    int rw = ref_if_match(s, n, &want);
    FUZZ_CHECK(rg == rw, "If-Match '%.*s': parser %d, reference %d", (int)n, s, rg, rw);
    FUZZ_CHECK(rg != 0 || got == want, "If-Match '%.*s' = %lld, reference %lld", (int)n, s,
               (long long)got, (long long)want);

    /* round trip of a version taken from the input bytes */
    uint64_t u = 0;
    memcpy(&u, raw, rawn < 8 ? rawn : 8);
    int64_t v = (int64_t)(u % 1000000000000000000ULL); /* up to 18 digits */
    char text[48];
    int len = snprintf(text, sizeof text, "%s%s\"%lld\"%s", u & 1 ? " \t" : "", u & 2 ? "W/" : "",
                       (long long)v, u & 4 ? "\t " : "");
    int64_t back = -7;
    FUZZ_CHECK(http_parse_if_match(text, (size_t)len, &back) == 0 && back == v,
               "If-Match '%s' parses to %lld", text, (long long)back);
}

/* ---- Idempotency-Key, X-Request-Id ------------------------------------------------------ */

static void check_idem(const char *s, size_t n)
{
    int want = n >= 1 && n <= 255;
    for (size_t i = 0; i < n; i++)
        want &= (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7e;
    FUZZ_CHECK(http_idempotency_key_valid(s, n) == want, "Idempotency-Key of %zu bytes: %d", n,
               !want);
}

static void check_rid(const char *s, size_t n)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    int want = n >= 1 && n <= 64;
    for (size_t i = 0; i < n; i++)
        want &= s[i] != '\0' && strchr(ok, s[i]) != NULL;
    FUZZ_CHECK(log_request_id_valid(s, n) == want, "X-Request-Id '%.*s': %d", (int)n, s, !want);
    char fresh[LOG_RID_MAX];
    log_request_id_new(fresh);
    FUZZ_CHECK(log_request_id_valid(fresh, strlen(fresh)), "new request id '%s' invalid", fresh);
}

/* ---- credentials ------------------------------------------------------------------------- */

/* Replace "@T" and "@X" by the tokens; malloc'd, *outlen set. */
static char *expand(const char *s, size_t n, size_t *outlen)
{
    size_t cap = n * (strlen(valid_token) + strlen(expired_token)) + 1, k = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '@' && i + 1 < n && (s[i + 1] == 'T' || s[i + 1] == 'X')) {
            const char *t = s[i + 1] == 'T' ? valid_token : expired_token;
            memcpy(out + k, t, strlen(t));
            k += strlen(t);
            i++;
        } else {
            out[k++] = s[i];
        }
    }
    *outlen = k;
    return out;
}

/* What the reference finds in Authorization: the token after "Bearer " (case-insensitive
 * scheme, blanks trimmed). -1: the header is malformed. */
static int ref_bearer(const char *v, size_t n, const char **tok, size_t *tlen)
{
    if (n < 8 || strncasecmp(v, "bearer ", 7) != 0)
        return -1;
    size_t a = 7, b = n;
    while (a < b && v[a] == ' ')
        a++;
    while (b > a && v[b - 1] == ' ')
        b--;
    *tok = v + a;
    *tlen = b - a;
    return 0;
}

/* The first non-empty fd_session value among "; "-separated pairs, or NULL. */
static const char *ref_cookie(const char *v, size_t n, size_t *tlen)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == ';'))
            i++;
        size_t j = i;
        while (j < n && v[j] != ';')
            j++;
        if (j - i > 11 && memcmp(v + i, "fd_session=", 11) == 0) {
            size_t e = j;
            while (e > i + 11 && v[e - 1] == ' ')
                e--;
            if (e > i + 11) {
                *tlen = e - i - 11;
                return v + i + 11;
            }
        }
        i = j;
    }
    return NULL;
}

static int is_valid_token(const char *t, size_t n)
{
    return t != NULL && n == strlen(valid_token) && memcmp(t, valid_token, n) == 0;
}

static void check_credentials(int which, const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    size_t alen = 0, clen = 0;
    char *auth = NULL, *cookie = NULL;
    if (which == 3)
        auth = expand(s, n, &alen);
    else if (which == 4)
        cookie = expand(s, n, &clen);
    else {
        auth = expand(s, nl != NULL ? (size_t)(nl - s) : n, &alen);
        cookie = nl != NULL ? expand(nl + 1, n - (size_t)(nl + 1 - s), &clen) : NULL;
    }

    fake_conn *fc = fake_new("GET", "/api/me", NULL);
    h2o_req_t *req = &fc->req;
    if (auth != NULL)
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_AUTHORIZATION, NULL,
                       h2o_strdup(&req->pool, auth, alen).base, alen);
    if (cookie != NULL)
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_COOKIE, NULL,
                       h2o_strdup(&req->pool, cookie, clen).base, clen);

    /* the reference's verdict */
    int want, want_cookie = 0;
    const char *t = NULL;
    size_t tlen = 0;
    if (auth != NULL) {
        want = ref_bearer(auth, alen, &t, &tlen) == 0 && is_valid_token(t, tlen);
    } else {
        t = cookie != NULL ? ref_cookie(cookie, clen, &tlen) : NULL;
        want = is_valid_token(t, tlen);
        want_cookie = t != NULL;
    }

    const fd_actor *a = NULL;
    int64_t exp = 0;
    int via_cookie = -1;
    char why[200] = "";
    int got = http_authenticate(req, &a, &exp, &via_cookie, why, sizeof why) == 0;
    FUZZ_CHECK(got == want, "signed in: %d, the reference says %d (%s)", got, want, why);
    if (got) {
        FUZZ_CHECK(strcmp(a->sub, "alice") == 0, "signed in as %s", a->sub);
        FUZZ_CHECK(strcmp(a->source, via_cookie ? "web" : "bot") == 0, "source %s", a->source);
    } else {
        FUZZ_CHECK(why[0] != '\0', "refused without a reason");
        FUZZ_CHECK(strstr(why, valid_token) == NULL && strstr(why, expired_token) == NULL,
                   "the reason repeats a token");
    }
    if (auth == NULL)
        FUZZ_CHECK(via_cookie == want_cookie, "via_cookie %d, the reference %d", via_cookie,
                   want_cookie);
    fake_free(fc);
    free(auth);
    free(cookie);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[200];
    fake_h2o_setup();
    if (auth_keys_new((const unsigned char *)SECRET, strlen(SECRET), NULL, 0, NULL, NULL, &keys,
                      err, sizeof err) != 0)
        abort();
    http_set_context(NULL, keys, 0, 0);
    fd_actor alice = fuzz_actor("alice", "Alice", FD_ROLE_ENGINEER);
    snprintf(alice.source, sizeof alice.source, "bot");
    int64_t now = (int64_t)time(NULL);
    if (auth_mint(keys, &alice, now, 10 * 365 * 86400LL, &valid_token) != 0 ||
        auth_mint(keys, &alice, now - 7200, 3600, &expired_token) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    size_t n = size - 1;
    char *s = malloc(n); /* exact size: ASan sees any read past the value */
    memcpy(s, data + 1, n);
    switch (data[0] % 6) {
    case 0:
        check_if_match(s, n, data + 1, n);
        break;
    case 1:
        check_idem(s, n);
        break;
    case 2:
        check_rid(s, n);
        break;
    default:
        check_credentials(data[0] % 6, s, n);
        break;
    }
    free(s);
    return 0;
}
