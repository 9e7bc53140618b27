/*
 * fake_github.h - a real HTTP server on loopback that plays GitHub's REST API for one pull
 * request (acme/infra#42), for the go-around integration tests.
 *
 * A thread accepts connections; each connection gets its own thread (so a delayed answer never
 * holds up another request) and is kept alive as curl expects. Every request is recorded
 * (method, path, Authorization header, body) so tests can assert what flightdeck asked, in which
 * order, and how often. The scenario is a struct the test edits under the fake's lock; it can
 * change between requests (a PR that moves while the migration flies).
 *
 * Endpoints: GET /repos/acme/infra/pulls/42, .../pulls/42/reviews, /repos/acme/infra/commits/
 * {sha}/status, .../commits/{sha}/check-runs, PUT /repos/acme/infra/pulls/42/merge. Anything
 * else is 404. A wrong Authorization is 401 {"message": "Bad credentials"} for every endpoint.
 */
#ifndef FD_TEST_FAKE_GITHUB_H
#define FD_TEST_FAKE_GITHUB_H

#define FG_SHA_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define FG_SHA_B "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define FG_MERGE_SHA "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
#define FG_TOKEN "ghp-test-token-0123456789"

typedef struct fg_scenario {
    char token[64];      /* the token GitHub accepts ("Authorization: Bearer <token>") */
    char head_sha[48];   /* the PR's head now */
    int open;            /* 1 open, 0 closed */
    int merged;          /* set by a successful merge */
    int mergeable;       /* 1 true, 0 false (conflicts) */
    int mergeable_nulls; /* answer "mergeable": null this many more times first */
    char reviews[1024];  /* JSON array GET .../reviews answers */
    char status[1024];   /* JSON object GET .../status answers */
    char checks[1024];   /* JSON object GET .../check-runs answers */
    int merge_5xx;       /* answer the merge with 502 this many more times (nothing merged) */
    int merge_status;    /* 0: behave like GitHub (405 / 409 / 200); else always this */
    int merge_delay_ms;  /* the merge takes effect at once; its answer waits this long */
    int delay_ms;        /* every answer waits this long */
} fg_scenario;

typedef struct fg_request {
    char method[8];
    char path[256];
    char auth[160]; /* the Authorization header, "" when absent */
    char body[2048];
} fg_request;

typedef struct fake_github fake_github;

/* Listen on 127.0.0.1 with a free port; the scenario starts healthy (fg_healthy). NULL on
 * failure. */
fake_github *fg_start(void);

/* "http://127.0.0.1:PORT" (owned by the fake). */
const char *fg_url(fake_github *g);

/* Reset to a healthy, approved, green, open PR at FG_SHA_A and forget the recorded requests. */
void fg_reset(fake_github *g);

/* Edit the scenario: lock, change the returned struct, unlock. */
fg_scenario *fg_lock(fake_github *g);
void fg_unlock(fake_github *g);

/* Number of recorded requests with this method whose path starts with `prefix`. */
int fg_count(fake_github *g, const char *method, const char *prefix);

/* Copy of recorded request i (0-based); 0, or -1 when there is no such request. */
int fg_request_at(fake_github *g, int i, fg_request *out);
int fg_total(fake_github *g);

/* Stop the threads, close the sockets, free everything. */
void fg_stop(fake_github *g);

#endif
