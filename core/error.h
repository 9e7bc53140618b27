/*
 * error.h - the one error enum of flightdeck, and the problem that carries its detail.
 *
 * core/ returns an fd_err from every function that can fail and fills an fd_problem with the
 * words a person needs. Only api/reply.c turns these into HTTP (status + problem+json); nothing
 * in core knows about status codes.
 */
#ifndef FD_ERROR_H
#define FD_ERROR_H

#include <jansson.h>

typedef enum fd_err {
    FD_OK = 0,
    FD_E_BAD_REQUEST,     /* malformed input: not JSON, not an object, bad query parameter */
    FD_E_UNKNOWN_FIELD,   /* a field the endpoint does not know (field names it) */
    FD_E_INVALID,         /* wrong type or value (field names it) */
    FD_E_UNAUTHENTICATED, /* missing, invalid or expired credentials */
    FD_E_FORBIDDEN,       /* role or team may not do this */
    FD_E_NOT_FOUND,       /* no such migration, step, team, ... */
    FD_E_CONFLICT,        /* the current state forbids it (extra carries the current state) */
    FD_E_EXISTS,          /* the id is already taken */
    FD_E_STALE,           /* If-Match names an old version */
    FD_E_IDEM_MISMATCH,   /* Idempotency-Key reused for a different request */
    FD_E_TOO_LARGE,       /* body or export over its limit */
    FD_E_RATE_LIMITED,    /* too many requests from one caller */
    FD_E_UNAVAILABLE,     /* shutting down, or a dependency is down */
    FD_E_INTERNAL,        /* a bug or an I/O failure: logged, never detailed to the client */
    FD_E__COUNT
} fd_err;

/* The detail of a failure. Zero-initialise it; fd_problem_clear() releases `extra`. */
typedef struct fd_problem {
    char detail[512]; /* one sentence for a person: what is wrong and what to do instead */
    char field[160];  /* JSON path of the offending input ("steps[2].title"), "" when none */
    json_t *extra;    /* owned, may be NULL: members merged into the problem body
                         (e.g. "current": {...} on a conflict, "missing": [...] on a gate) */
} fd_problem;

/* Short stable name of an error ("conflict", "not-found"): used in problem type URIs. */
const char *fd_err_name(fd_err e);

/* Fill `p` (may be NULL) and return `e`, so rules read `return fd_fail(p, FD_E_CONFLICT, NULL, ...)`.
 * `field` may be NULL. Any previous `extra` is released. */
fd_err fd_fail(fd_problem *p, fd_err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Attach an extension member to the problem; steals the reference to `value`. */
void fd_problem_set(fd_problem *p, const char *key, json_t *value);

/* Release `extra` and empty the problem. Safe on a zeroed struct. */
void fd_problem_clear(fd_problem *p);

#endif
