/*
 * router.c - matching "{param}" patterns against raw request paths.
 */
#include "server/router.h"
#include "core/check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/* 1 when `ch` stands for itself in a parameter: printable ASCII, neither an escape nor '/'. */
static int is_plain_byte(unsigned char ch)
{
    return ch >= 0x20 && ch < 0x7f && ch != '%' && ch != '/';
}

/* 1 when every byte of the segment is plain (is_plain_byte): then decoding it is a copy, and
 * the copy is valid UTF-8, since ASCII is. Ids and slugs, nearly every parameter, are plain. */
static int is_plain_segment(const char *in, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_plain_byte((unsigned char)in[i]))
            return 0;
    return 1;
}

int router_decode_param(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n = 0;

    /* the common case, a plain segment that fits: the byte loop below would copy it unchanged
     * and accept it, so copy it at once (tests/unit/test_router.c compares both ways) */
    if (len < outlen && is_plain_segment(in, len)) {
        memcpy(out, in, len);
        out[len] = '\0';
        return (int)len;
    }
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

/* Split the path (before '?') into segments after the leading '/'. Returns the count or -1.
 * memchr finds each '/' (a word at a time) rather than a loop over every byte of the path. */
static int split_path(const char *path, size_t len, const char *seg[], size_t seglen[])
{
    const char *q = memchr(path, '?', len);
    if (q != NULL)
        len = (size_t)(q - path);
    if (len == 0 || path[0] != '/')
        return -1;
    int n = 0;
    const char *p = path + 1, *end = path + len;
    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash != NULL ? slash : end;
        if (n == ROUTER_MAX_SEGMENTS)
            return -1;
        seg[n] = p;
        seglen[n] = (size_t)(seg_end - p);
        n++;
        if (slash == NULL)
            return n;
        p = slash + 1;
    }
}

/* The path's segments, each percent-decoded at most once and only when a pattern that fits the
 * path's literal segments asks for it as a parameter (every request is tried against every
 * route, so decoding per route was most of the router's time). */
typedef struct path_segs {
    int n;
    const char *seg[ROUTER_MAX_SEGMENTS];
    size_t len[ROUTER_MAX_SEGMENTS];
    int state[ROUTER_MAX_SEGMENTS];   /* 0 not decoded yet, 1 a valid parameter, -1 not one */
    size_t dlen[ROUTER_MAX_SEGMENTS]; /* decoded length when state is 1 */
    char decoded[ROUTER_MAX_SEGMENTS][ROUTER_PARAM_MAX + 1];
} path_segs;

/* 1 when segment i is a valid parameter value (non-empty, decodes, fits). */
static int seg_param_ok(path_segs *ps, int i)
{
    if (ps->state[i] == 0) {
        int n = ps->len[i] > 0 ? router_decode_param(ps->seg[i], ps->len[i], ps->decoded[i],
                                                     sizeof ps->decoded[i])
                               : -1;
        ps->state[i] = n > 0 ? 1 : -1;
        ps->dlen[i] = n > 0 ? (size_t)n : 0;
    }
    return ps->state[i] == 1;
}

/* ---- compiled route tables ----------------------------------------------------------------
 *
 * Every request is tried against every route, so each pattern is cut into its segments once
 * (literal text and length, or a {param}) rather than scanned with strchr/strlen per request:
 * a route is then ruled out by its segment count, its method or its first differing literal,
 * a few integer compares each. The process's tables are compiled on first use and kept; other
 * tables (tests) are compiled for the call. */

typedef struct route_seg {
    const char *text; /* the literal, not NUL-terminated; NULL for a {param} */
    size_t len;
} route_seg;

typedef struct compiled_route {
    const api_route *route;
    int nseg;     /* segments after the leading '/'; -1: no path can match the pattern */
    int head_ok;  /* a GET route that is not a stream: HEAD reaches it too */
    size_t method_len;
    long score;   /* a bit per literal segment, earlier segments weigh more */
    int nparams;
    int param_seg[API_MAX_PARAMS]; /* which segments are the parameters, in order */
    route_seg seg[ROUTER_MAX_SEGMENTS];
} compiled_route;

typedef struct compiled_table {
    size_t n;
    compiled_route *routes; /* every route of every table, in table order */
    /* routes[] indices grouped by segment count, table order kept within a group: a path of
     * n segments is tried only against by_nseg[first[n]] .. by_nseg[first[n + 1] - 1] */
    size_t *by_nseg;
    size_t first[ROUTER_MAX_SEGMENTS + 2];
} compiled_table;

static void compile_route(const api_route *r, compiled_route *cr)
{
    memset(cr, 0, sizeof *cr);
    cr->route = r;
    cr->nseg = -1;
    cr->method_len = strlen(r->method);
    cr->head_ok = strcmp(r->method, "GET") == 0 && (r->flags & API_STREAM) == 0;
    const char *p = r->pattern;
    if (*p != '/')
        return;
    p++;
    int n = 0;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t plen = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == ROUTER_MAX_SEGMENTS)
            return; /* longer than any path split_path accepts */
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (cr->nparams == API_MAX_PARAMS)
                return; /* more parameters than a call carries: never matches */
            cr->param_seg[cr->nparams++] = n;
        } else {
            cr->seg[n].text = p;
            cr->seg[n].len = plen;
            cr->score |= 1L << (ROUTER_MAX_SEGMENTS - n);
        }
        n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    cr->nseg = n;
}

static void compiled_free(compiled_table *ct)
{
    free(ct->routes);
    free(ct->by_nseg);
    ct->routes = NULL;
    ct->by_nseg = NULL;
}

/* Compile `tables` into *ct (its arrays from malloc: compiled_free). 0, or -1 when memory runs
 * out. */
static int compile_tables(const api_route *const *tables, compiled_table *ct)
{
    size_t n = 0;
    for (const api_route *const *t = tables; *t != NULL; t++)
        for (const api_route *r = *t; r->method != NULL; r++)
            n++;
    memset(ct, 0, sizeof *ct);
    ct->routes = malloc((n > 0 ? n : 1) * sizeof *ct->routes);
    ct->by_nseg = malloc((n > 0 ? n : 1) * sizeof *ct->by_nseg);
    if (ct->routes == NULL || ct->by_nseg == NULL) {
        compiled_free(ct);
        return -1;
    }
    for (const api_route *const *t = tables; *t != NULL; t++)
        for (const api_route *r = *t; r->method != NULL; r++)
            compile_route(r, &ct->routes[ct->n++]);
    /* group by segment count (a pattern no path matches, nseg -1, is in no group) */
    size_t k = 0;
    for (int nseg = 0; nseg <= ROUTER_MAX_SEGMENTS; nseg++) {
        ct->first[nseg] = k;
        for (size_t i = 0; i < ct->n; i++)
            if (ct->routes[i].nseg == nseg)
                ct->by_nseg[k++] = i;
    }
    ct->first[ROUTER_MAX_SEGMENTS + 1] = k;
    return 0;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static compiled_table default_compiled; /* routes NULL: could not be compiled */

static void compile_default_tables(void)
{
    if (compile_tables(default_tables, &default_compiled) != 0)
        default_compiled.routes = NULL; /* compiled per call instead */
}

/* Does compiled route `cr` match the path? Its specificity when it does, else -1. The literal
 * segments are compared first, so parameters are decoded only for routes that fit. */
static long match_route(const compiled_route *cr, path_segs *ps)
{
    if (cr->nseg != ps->n)
        return -1;
    for (int i = 0; i < cr->nseg; i++) {
        const route_seg *s = &cr->seg[i];
        if (s->text != NULL && (s->len != ps->len[i] || memcmp(s->text, ps->seg[i], s->len) != 0))
            return -1;
    }
    for (int k = 0; k < cr->nparams; k++)
        if (!seg_param_ok(ps, cr->param_seg[k]))
            return -1;
    return cr->score;
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

static router_status match_compiled(const compiled_table *ct, const char *method,
                                    size_t method_len, const char *path, size_t path_len,
                                    router_match *m)
{
    path_segs ps;
    long best = -1;
    const compiled_route *best_cr = NULL;
    /* HEAD is GET without a body (load balancers and uptime checks probe with it); h2o drops
     * the body itself. Streams are left out: a HEAD on an event stream would never end. */
    int head = method_len == 4 && memcmp(method, "HEAD", 4) == 0;

    ps.n = split_path(path, path_len, ps.seg, ps.len);
    if (ps.n < 0)
        return ROUTER_NOT_FOUND;
    memset(ps.state, 0, sizeof ps.state);

    /* Only routes of this method can be the answer: the others are tried only when none
     * matched, to tell 405 (and its Allow list) from 404. Ties go to the first in table order. */
    for (size_t k = ct->first[ps.n]; k < ct->first[ps.n + 1]; k++) {
        const compiled_route *cr = &ct->routes[ct->by_nseg[k]];
        int method_ok = (cr->method_len == method_len &&
                         memcmp(cr->route->method, method, method_len) == 0) ||
                        (head && cr->head_ok);
        if (!method_ok)
            continue;
        long score = match_route(cr, &ps);
        if (score > best) {
            best = score;
            best_cr = cr;
        }
    }
    if (best_cr == NULL) {
        /* 405 when the path takes other methods: list them, in table order (rare: built only
         * now) */
        int any_other_method = 0;
        for (size_t i = 0; i < ct->n; i++) {
            if (match_route(&ct->routes[i], &ps) >= 0) {
                any_other_method = 1;
                allow_add(m->allow, sizeof m->allow, ct->routes[i].route->method);
            }
        }
        return any_other_method ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
    }
    m->route = best_cr->route;
    m->nparams = best_cr->nparams;
    for (int i = 0; i < m->nparams; i++) {
        int k = best_cr->param_seg[i];
        memcpy(m->storage[i], ps.decoded[k], ps.dlen[k] + 1); /* with its NUL */
        m->params[i] = m->storage[i];
    }
    return ROUTER_OK;
}

router_status router_match_in(const api_route *const *tables, const char *method, size_t method_len,
                              const char *path, size_t path_len, router_match *m)
{
    m->route = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    if (tables == default_tables) {
        pthread_once(&default_once, compile_default_tables);
        if (default_compiled.routes != NULL)
            return match_compiled(&default_compiled, method, method_len, path, path_len, m);
    }
    compiled_table ct;
    if (compile_tables(tables, &ct) != 0)
        return ROUTER_NOT_FOUND; /* out of memory: nothing can be served anyway */
    router_status rs = match_compiled(&ct, method, method_len, path, path_len, m);
    compiled_free(&ct);
    return rs;
}

router_status router_match_request(const char *method, size_t method_len, const char *path,
                                   size_t path_len, router_match *m)
{
    return router_match_in(default_tables, method, method_len, path, path_len, m);
}
