/*
 * router.h - which handler answers a request: method + path against the route tables.
 *
 * h2o 2.2.5 has no router. This one matches the raw request path (up to '?'), never the
 * normalised one, so an encoded "%2F" inside a parameter cannot create a path segment. Each
 * {param} segment is then percent-decoded and refused (no match) when it decodes to a '/',
 * a NUL or another control character, when an escape is malformed, or when it is longer than
 * ROUTER_PARAM_MAX bytes. A trailing slash is an empty segment and matches nothing.
 *
 * When several patterns match a path, the one with literal segments earliest wins
 * ("/api/migrations/export" before "/api/migrations/{mid}").
 *
 * Independent of h2o and of the database: a pure function over the tables, tested directly.
 */
#ifndef FD_ROUTER_H
#define FD_ROUTER_H

#include <stddef.h>

#include "api/api.h"

#define ROUTER_PARAM_MAX 200
#define ROUTER_MAX_SEGMENTS 16

typedef enum router_status {
    ROUTER_OK = 0,     /* `route` and `params` are set */
    ROUTER_NOT_FOUND,  /* no pattern matches the path */
    ROUTER_BAD_METHOD, /* a pattern matches but not with this method; `allow` lists them */
} router_status;

typedef struct router_match {
    const api_route *route; /* the matched route, or NULL */
    int nparams;
    const char *params[API_MAX_PARAMS]; /* point into `storage`, NUL-terminated, decoded */
    char storage[API_MAX_PARAMS][ROUTER_PARAM_MAX + 1];
    char allow[64]; /* "GET, POST" on ROUTER_BAD_METHOD, else "" */
} router_match;

/*
 * Match `method` and `path` (`path_len` bytes, need not be NUL-terminated; a '?' ends the
 * path) against `tables`, a NULL-terminated list of route tables each terminated by an entry
 * with method NULL. Fills *m. The match borrows route pointers from the tables.
 */
router_status router_match_in(const api_route *const *tables, const char *method, size_t method_len,
                              const char *path, size_t path_len, router_match *m);

/* The same against the process's tables: api_routes[] then server_routes[]. */
router_status router_match_request(const char *method, size_t method_len, const char *path,
                                   size_t path_len, router_match *m);

/* The process's route tables, NULL-terminated (for the OpenAPI test, which lists every route). */
const api_route *const *router_tables(void);

/* Call fn for every route of every table, in table order. */
void router_each_route(void (*fn)(void *arg, const api_route *r), void *arg);

/*
 * Decode percent-escapes of `in` (`len` bytes) into out (outlen bytes with room for the NUL).
 * Returns the decoded length, or -1 when an escape is malformed, the result would not fit,
 * or it contains '/', NUL or a control character.
 */
int router_decode_param(const char *in, size_t len, char *out, size_t outlen);

/* Routes served by server/ itself (sessions, event streams, dev users), method NULL at the end. */
extern const api_route server_routes[];

#endif
