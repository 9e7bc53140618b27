/*
 * router.c - matching "{param}" patterns against raw request paths.
 */
#include "server/router.h"
#include "core/check.h"

#include <stdio.h>
#include <string.h>

static const api_route *const default_tables[] = {api_routes, server_routes, NULL};

const api_route *const *router_tables(void)
{
    return default_tables;
}

void router_each_route(void (*fn)(void *arg, const api_route *r), void *arg)
{
    for (const api_route *const *t = default_tables; *t != NULL; t++)
        for (const api_route *r = *t; r->method != NULL; r++)
            fn(arg, r);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int router_decode_param(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1; /* "%" or "%4" at the end */
            hi = hexval(in[i + 1]);
            lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (ch == '/' || ch < 0x20 || ch == 0x7f)
            return -1;
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    /* ids are text that ends up in JSON (problem details, audit targets): UTF-8 or nothing */
    if (!check_is_utf8(out, n))
        return -1;
    return (int)n;
}

/* Split the path (before '?') into segments after the leading '/'. Returns the count or -1. */
static int split_path(const char *path, size_t len, const char *seg[], size_t seglen[])
{
    const char *q = memchr(path, '?', len);
    if (q != NULL)
        len = (size_t)(q - path);
    if (len == 0 || path[0] != '/')
        return -1;
    int n = 0;
    size_t start = 1;
    for (size_t i = 1; i <= len; i++) {
        if (i == len || path[i] == '/') {
            if (n == ROUTER_MAX_SEGMENTS)
                return -1;
            seg[n] = path + start;
            seglen[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    return n;
}

/* The path's segments, each percent-decoded at most once and only when a pattern that fits the
 * path's literal segments asks for it as a parameter (every request is tried against every
 * route, so decoding per route was most of the router's time). */
typedef struct path_segs {
    int n;
    const char *seg[ROUTER_MAX_SEGMENTS];
    size_t len[ROUTER_MAX_SEGMENTS];
    int state[ROUTER_MAX_SEGMENTS]; /* 0 not decoded yet, 1 a valid parameter, -1 not one */
    char decoded[ROUTER_MAX_SEGMENTS][ROUTER_PARAM_MAX + 1];
} path_segs;

/* 1 when segment i is a valid parameter value (non-empty, decodes, fits). */
static int seg_param_ok(path_segs *ps, int i)
{
    if (ps->state[i] == 0) {
        ps->state[i] = ps->len[i] > 0 && router_decode_param(ps->seg[i], ps->len[i], ps->decoded[i],
                                                             sizeof ps->decoded[i]) > 0
                           ? 1
                           : -1;
    }
    return ps->state[i] == 1;
}

/*
 * Does `pattern` match the path segments? On a match records which segments are its parameters
 * (param_seg[], *nparams) and returns the specificity (a bit per literal segment, earlier
 * segments weigh more); -1 otherwise. The literal segments are compared first, so parameters are
 * decoded only for patterns that fit.
 */
static long match_pattern(const char *pattern, path_segs *ps, int param_seg[], int *nparams)
{
    const char *p = pattern;
    long score = 0;
    int np = 0;

    if (*p != '/')
        return -1;
    p++;
    for (int i = 0; i < ps->n; i++) {
        const char *end = strchr(p, '/');
        size_t plen = end != NULL ? (size_t)(end - p) : strlen(p);

        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (np == API_MAX_PARAMS)
                return -1;
            param_seg[np++] = i;
        } else {
            if (plen != ps->len[i] || memcmp(p, ps->seg[i], plen) != 0)
                return -1;
            score |= 1L << (ROUTER_MAX_SEGMENTS - i);
        }
        if (end == NULL) {
            if (i != ps->n - 1)
                return -1; /* the path has more segments than the pattern */
            for (int k = 0; k < np; k++)
                if (!seg_param_ok(ps, param_seg[k]))
                    return -1;
            *nparams = np;
            return score;
        }
        p = end + 1;
    }
    return -1; /* the pattern has more segments than the path */
}

static int method_is(const api_route *r, const char *method, size_t method_len)
{
    if (strlen(r->method) == method_len && memcmp(r->method, method, method_len) == 0)
        return 1;
    /* HEAD is GET without a body (load balancers and uptime checks probe with it); h2o drops the
     * body itself. Streams are left out: a HEAD on an event stream would never end. */
    return method_len == 4 && memcmp(method, "HEAD", 4) == 0 && strcmp(r->method, "GET") == 0 &&
           (r->flags & API_STREAM) == 0;
}

/* Append a method to the Allow list once. */
static void allow_add(char *allow, size_t cap, const char *method)
{
    size_t mlen = strlen(method);
    const char *p = allow;
    while ((p = strstr(p, method)) != NULL) {
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
        p += mlen;
    }
    size_t used = strlen(allow);
    snprintf(allow + used, cap - used, "%s%s", used > 0 ? ", " : "", method);
}

router_status router_match_in(const api_route *const *tables, const char *method, size_t method_len,
                              const char *path, size_t path_len, router_match *m)
{
    path_segs ps;
    long best = -1;
    int best_seg[API_MAX_PARAMS], seg_of[API_MAX_PARAMS], any_other_method = 0;

    m->route = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    ps.n = split_path(path, path_len, ps.seg, ps.len);
    if (ps.n < 0)
        return ROUTER_NOT_FOUND;
    memset(ps.state, 0, sizeof ps.state);

    /* Only routes of this method can be the answer: the others' patterns are tried only when
     * none matched, to tell 405 (and its Allow list) from 404. */
    for (const api_route *const *t = tables; *t != NULL; t++) {
        for (const api_route *r = *t; r->method != NULL; r++) {
            int np = 0;
            if (!method_is(r, method, method_len))
                continue;
            long score = match_pattern(r->pattern, &ps, seg_of, &np);
            if (score < 0)
                continue;
            if (score > best) {
                best = score;
                m->route = r;
                m->nparams = np;
                memcpy(best_seg, seg_of, sizeof best_seg);
            }
        }
    }
    if (m->route == NULL) {
        /* 405 when the path takes other methods: list them, in table order (rare: built only
         * now) */
        for (const api_route *const *t = tables; *t != NULL; t++)
            for (const api_route *r = *t; r->method != NULL; r++) {
                int np = 0;
                if (match_pattern(r->pattern, &ps, seg_of, &np) >= 0) {
                    any_other_method = 1;
                    allow_add(m->allow, sizeof m->allow, r->method);
                }
            }
        return any_other_method ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
    }
    for (int i = 0; i < m->nparams; i++) {
        const char *d = ps.decoded[best_seg[i]];
        memcpy(m->storage[i], d, strlen(d) + 1);
        m->params[i] = m->storage[i];
    }
    return ROUTER_OK;
}

router_status router_match_request(const char *method, size_t method_len, const char *path,
                                   size_t path_len, router_match *m)
{
    return router_match_in(default_tables, method, method_len, path, path_len, m);
}
