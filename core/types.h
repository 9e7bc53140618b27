/*
 * types.h - who is acting, on whose behalf, and the ports through which core reaches outside.
 *
 * server/auth.c fills an fd_actor from a verified token; api/ builds an fd_ctx per request and
 * hands it to core. core/ never sees HTTP: the context carries only what the rules need.
 */
#ifndef FD_TYPES_H
#define FD_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define FD_SLUG_MAX 64      /* slugs are [a-z0-9-]{1,64} */
#define FD_MAX_TEAMS 32     /* teams one token may carry */
#define FD_NAME_MAX 128

typedef enum fd_role {
    FD_ROLE_VIEWER = 0,   /* reads */
    FD_ROLE_ENGINEER = 1, /* ticks, skips, fails, unticks own ticks, adds notes */
    FD_ROLE_LEAD = 2,     /* also edits plans, starts/completes stages, aborts, unticks anyone's */
    FD_ROLE_ADMIN = 3,    /* also manages teams */
} fd_role;

/* "viewer".."admin"; fd_role_parse returns 0 or -1 for an unknown name. */
const char *fd_role_name(fd_role r);
int fd_role_parse(const char *s, fd_role *out);

typedef struct fd_actor {
    char sub[FD_NAME_MAX];   /* stable subject id from the token */
    char name[FD_NAME_MAX];  /* display name */
    fd_role role;
    char source[8];          /* "web" (cookie session), "api" (default), "bot" */
    int nteams;
    char teams[FD_MAX_TEAMS][FD_SLUG_MAX + 1];
} fd_actor;

/* 1 when the actor belongs to `team` (a slug), else 0. */
int fd_actor_in_team(const fd_actor *a, const char *team);

/*
 * One request's context. Owned by the caller (api/ or a test), lives for one core call.
 * All pointers are borrowed.
 */
typedef struct fd_ctx {
    const fd_actor *actor;     /* never NULL for a mutation */
    const char *request_id;    /* recorded in the audit event; may be NULL */
    const char *idem_key;      /* Idempotency-Key, NULL when absent */
    const char *request_hash;  /* hex digest of method, path and body: a reused key with another
                                  request is FD_E_IDEM_MISMATCH. NULL when idem_key is NULL. */
    int64_t if_match;          /* If-Match version, -1 when absent */
    int replayed;              /* out: 1 when the answer was replayed from an Idempotency-Key */
    fd_problem problem;        /* out: detail of the failure; the caller clears it */
} fd_ctx;

/* Initialise a context with no idempotency key and no If-Match. */
void fd_ctx_init(fd_ctx *c, const fd_actor *actor, const char *request_id);

/*
 * Ports: how core reaches the outside world. server/ fills them at start; tests fill fakes.
 */
typedef struct fd_clock {
    int64_t (*now_ms)(void *arg); /* milliseconds since the Unix epoch, UTC */
    void *arg;
} fd_clock;

/*
 * Called once per audit event, after the transaction that wrote it has committed, in commit
 * order. `json` is the event exactly as the audit export gives it (NUL-terminated, `len` bytes),
 * valid only during the call. `migration` is NULL for events outside a migration (teams).
 */
typedef struct fd_event_sink {
    void (*emit)(void *arg, int64_t seq, const char *migration, const char *action,
                 const char *json, size_t len);
    void *arg;
} fd_event_sink;

struct fd_github; /* core/github.h */

typedef struct fd_ports {
    fd_clock clock;      /* NULL now_ms means the system clock */
    fd_event_sink events; /* NULL emit means nobody listens */
    const struct fd_github *github; /* NULL: no GitHub; rollback checks and go-arounds refuse */
} fd_ports;

#endif
