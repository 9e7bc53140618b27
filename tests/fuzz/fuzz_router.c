/*
 * fuzz_router.c - libFuzzer target: request method and path against the real route tables
 * (server/router.c over api_routes[] and server_routes[]).
 *
 * Input: "METHOD PATH" (the first space separates them; no space: the whole input is the path
 * and the method is GET). Properties checked, abort() on violation:
 *   - a match names a route of that method (or GET for HEAD, never a stream) whose pattern has
 * exactly nparams "{param}" segments; every parameter is non-empty, at most ROUTER_PARAM_MAX bytes,
 * free of '/', NUL and control characters (an encoded "%2F" never creates a segment);
 *   - round trip: percent-encoding the decoded parameters back into the pattern matches the same
 *     route with the same parameters;
 *   - a query string never changes the answer;
 *   - ROUTER_BAD_METHOD lists in Allow only methods that do match the path;
 *   - router_decode_param on the raw input agrees with a re-encode/decode round trip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/router.h"
#include "tests/fuzz/fuzz_common.h"

/* Percent-encode everything but unreserved characters: the most literal spelling of s. */
static size_t encode_all(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s != '\0' && n + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    out[n] = '\0';
    return n;
}

static int count_params(const char *pattern)
{
    int n = 0;
    for (const char *p = pattern; (p = strchr(p, '{')) != NULL; p++)
        n++;
    return n;
}

static void check_param(const char *v)
{
    size_t len = strlen(v);
    FUZZ_CHECK(len > 0 && len <= ROUTER_PARAM_MAX, "parameter of %zu bytes", len);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        FUZZ_CHECK(ch != '/' && ch >= 0x20 && ch != 0x7f, "parameter holds byte 0x%02x", ch);
    }
}

/* Rebuild a path from the matched pattern with the parameters encoded; NULL if too long. */
static char *rebuild_path(const router_match *m)
{
    size_t cap = strlen(m->route->pattern) + API_MAX_PARAMS * (ROUTER_PARAM_MAX * 3 + 1) + 1;
    char *out = malloc(cap);
    size_t n = 0;
    int k = 0;
    for (const char *p = m->route->pattern; *p != '\0';) {
        if (*p == '{') {
            n += encode_all(m->params[k++], out + n, cap - n);
            p = strchr(p, '}') + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

static void check_match(const char *method, size_t mlen, const char *path, size_t plen)
{
    router_match m, again;
    router_status rs = router_match_request(method, mlen, path, plen, &m);

    if (rs == ROUTER_OK) {
        FUZZ_CHECK(m.route != NULL, "OK without a route");
        int same = strlen(m.route->method) == mlen && memcmp(m.route->method, method, mlen) == 0;
        int head = mlen == 4 && memcmp(method, "HEAD", 4) == 0 &&
                   strcmp(m.route->method, "GET") == 0 && (m.route->flags & API_STREAM) == 0;
        FUZZ_CHECK(same || head, "route method %s for a %.*s request", m.route->method, (int)mlen,
                   method);
        FUZZ_CHECK(m.nparams == count_params(m.route->pattern), "%d params for pattern %s",
                   m.nparams, m.route->pattern);
        FUZZ_CHECK(m.allow[0] == '\0', "allow '%s' on a match", m.allow);
        for (int i = 0; i < m.nparams; i++)
            check_param(m.params[i]);

        char *p2 = rebuild_path(&m);
        router_status rs2 = router_match_request(method, mlen, p2, strlen(p2), &again);
        FUZZ_CHECK(rs2 == ROUTER_OK && again.route == m.route,
                   "re-encoded path %s does not match %s again", p2, m.route->pattern);
        for (int i = 0; i < m.nparams; i++)
            FUZZ_CHECK(strcmp(again.params[i], m.params[i]) == 0, "param %d: '%s' became '%s'", i,
                       m.params[i], again.params[i]);
        free(p2);
    } else if (rs == ROUTER_BAD_METHOD) {
        FUZZ_CHECK(m.route == NULL && m.allow[0] != '\0', "bad method without an Allow list");
        /* every listed method must really match this path */
        char allow[sizeof m.allow];
        memcpy(allow, m.allow, sizeof allow);
        for (char *save = NULL, *tok = strtok_r(allow, ", ", &save); tok != NULL;
             tok = strtok_r(NULL, ", ", &save)) {
            router_status r3 = router_match_request(tok, strlen(tok), path, plen, &again);
            FUZZ_CHECK(r3 == ROUTER_OK, "Allow lists %s but %s %.*s does not match", tok, tok,
                       (int)plen, path);
        }
    } else {
        FUZZ_CHECK(rs == ROUTER_NOT_FOUND && m.route == NULL, "status %d", (int)rs);
    }

    /* the same path with a query string: the same answer */
    char *q = malloc(plen + 8);
    memcpy(q, path, plen);
    memcpy(q + plen, "?a=/b%2F", 8);
    router_status rsq = router_match_request(method, mlen, q, plen + 8, &again);
    FUZZ_CHECK(rsq == rs && again.route == m.route, "a query changed the match");
    free(q);
}

static void check_decode(const char *in, size_t len)
{
    char out[ROUTER_PARAM_MAX + 1], enc[3 * (ROUTER_PARAM_MAX + 1) + 1], back[ROUTER_PARAM_MAX + 1];
    int n = router_decode_param(in, len, out, sizeof out);
    if (n < 0)
        return;
    FUZZ_CHECK((size_t)n <= len && (size_t)n == strlen(out), "decoded %d bytes from %zu", n, len);
    check_param(n > 0 ? out : "x");
    size_t elen = encode_all(out, enc, sizeof enc);
    int m = router_decode_param(enc, elen, back, sizeof back);
    FUZZ_CHECK(m == n && memcmp(back, out, (size_t)n) == 0, "decode(encode(x)) != x");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *sp = memchr(s, ' ', size);
    /* exact-size heap copies, so ASan sees any read past the end */
    char *method, *path;
    size_t mlen, plen;
    if (sp != NULL) {
        mlen = (size_t)(sp - s);
        plen = size - mlen - 1;
        method = malloc(mlen);
        memcpy(method, s, mlen);
        path = malloc(plen);
        memcpy(path, sp + 1, plen);
    } else {
        mlen = 3;
        method = malloc(3);
        memcpy(method, "GET", 3);
        plen = size;
        path = malloc(plen);
        memcpy(path, s, plen);
    }
    check_match(method, mlen, path, plen);
    check_decode(path, plen);
    free(method);
    free(path);
    return 0;
}
