/*
 * router.c - matching "{param}" patterns against raw request paths.
 */
#include "server/router.h"

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

/*
 * Does `pattern` match the path segments? On a match fills params (decoded) and returns the
 * specificity (a bit per literal segment, earlier segments weigh more); -1 otherwise.
 */
static long match_pattern(const char *pattern, const char *seg[], const size_t seglen[], int nseg,
                          router_match *m, int *nparams)
{
    const char *p = pattern;
    long score = 0;
    int np = 0;

    if (*p != '/')
        return -1;
    p++;
    for (int i = 0; i < nseg; i++) {
        const char *end = strchr(p, '/');
        size_t plen = end != NULL ? (size_t)(end - p) : strlen(p);

        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (seglen[i] == 0 || np == API_MAX_PARAMS)
                return -1;
            if (router_decode_param(seg[i], seglen[i], m->storage[np], sizeof m->storage[np]) <= 0)
                return -1;
            np++;
        } else {
            if (plen != seglen[i] || memcmp(p, seg[i], plen) != 0)
                return -1;
            score |= 1L << (ROUTER_MAX_SEGMENTS - i);
        }
        if (end == NULL) {
            if (i != nseg - 1)
                return -1; /* the path has more segments than the pattern */
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
    const char *seg[ROUTER_MAX_SEGMENTS];
    size_t seglen[ROUTER_MAX_SEGMENTS];
    long best = -1;
    router_match tmp;

    m->route = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    int nseg = split_path(path, path_len, seg, seglen);
    if (nseg < 0)
        return ROUTER_NOT_FOUND;

    for (const api_route *const *t = tables; *t != NULL; t++) {
        for (const api_route *r = *t; r->method != NULL; r++) {
            int np = 0;
            long score = match_pattern(r->pattern, seg, seglen, nseg, &tmp, &np);
            if (score < 0)
                continue;
            if (!method_is(r, method, method_len)) {
                allow_add(m->allow, sizeof m->allow, r->method);
                continue;
            }
            if (score > best) {
                best = score;
                m->route = r;
                m->nparams = np;
                memcpy(m->storage, tmp.storage, sizeof m->storage);
            }
        }
    }
    if (m->route == NULL)
        return m->allow[0] != '\0' ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
    m->allow[0] = '\0';
    for (int i = 0; i < m->nparams; i++)
        m->params[i] = m->storage[i];
    return ROUTER_OK;
}

router_status router_match_request(const char *method, size_t method_len, const char *path,
                                   size_t path_len, router_match *m)
{
    return router_match_in(default_tables, method, method_len, path, path_len, m);
}
