/*
 * harness.h - drive the real flightdeck binary over HTTP, as a user and a bot would.
 *
 * The Makefile runs each tests/integration/test_*.c binary from the repo root with
 * FLIGHTDECK_BIN set to the absolute path of the built server. The harness:
 *   - starts `FLIGHTDECK_BIN serve --listen 127.0.0.1:0 --db <tmp>/fd.db --web <repo>/web` with a
 *     test JWT secret, and waits for the stdout line "flightdeck: listening on http://HOST:PORT";
 *   - stops it with SIGTERM and reports how it exited (a clean stop is exit 0 within 5 s);
 *   - mints tokens with `FLIGHTDECK_BIN token ...`, and forges bad ones (wrong key, expired,
 *     alg none, wrong algorithm) with OpenSSL's HMAC;
 *   - speaks HTTP through libcurl (h_req), and through a raw socket (h_raw*) for requests curl
 *     would normalise or that must stay open (keep-alive).
 *
 * Everything here is for cmocka tests: failures inside helpers fail the current test.
 * Children get a clean environment: every FLIGHTDECK_* variable of the caller's shell is removed,
 * then FLIGHTDECK_JWT_SECRET=H_SECRET is set, then the caller's edits are applied.
 */
#ifndef FD_TEST_HARNESS_H
#define FD_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

/* The test secret (at least 32 bytes, as HS256 wants), and another one for forged tokens. */
#define H_SECRET "integration-test-secret-0123456789-abcdef"
#define H_OTHER_SECRET "not-the-server-secret-0123456789-abcdefgh"

typedef struct h_server {
    pid_t pid; /* > 0 while running */
    int port;
    char host[64];
    char base[128];    /* "http://127.0.0.1:PORT" */
    char dir[128];     /* temporary directory holding the database and the logs */
    char db[256];      /* <dir>/fd.db */
    char out_log[256]; /* the server's stdout */
    char err_log[256]; /* the server's stderr */
    int exit_code;     /* after h_stop / a failed start: exit status, 128+signal if killed */
} h_server;

/* Once per test binary, before any thread: curl_global_init, locate the binary and the repo. */
void h_init(void);

/* The absolute path of the server binary, and of the repo root (the working directory). */
const char *h_bin(void);
const char *h_repo(void);

/* Fill s with a fresh temporary directory and database path. 0 or -1. */
int h_server_init(h_server *s);

/*
 * Start `serve --listen 127.0.0.1:0 --db s->db --web <repo>/web` plus `extra` (NULL-terminated,
 * may be NULL), with env edits `env` ("NAME=value" sets, "NAME" unsets; NULL-terminated, may be
 * NULL). Returns 0 when the ready line was read; -1 when the process exited first (s->exit_code)
 * or did not become ready within 20 s (then it is killed).
 */
int h_start(h_server *s, const char *const *extra, const char *const *env);

/* h_start with no extras that fails the test when the server does not come up. */
void h_start_ok(h_server *s);

/* Send `sig` (SIGTERM, SIGINT), then wait up to `ms` milliseconds. 0 when it exited
 * (s->exit_code set); -1 when it was still running (it is then killed with SIGKILL). */
int h_stop(h_server *s, int sig, int ms);

/* SIGKILL if still running, reap, and remove the temporary directory. Safe to call twice. */
void h_destroy(h_server *s);

/* Print the tail of the server's logs to stderr (for failures). */
void h_dump_logs(const h_server *s);

/*
 * Run FLIGHTDECK_BIN with argv `args` (args[0] is the first argument after the program name;
 * NULL-terminated) and env edits; wait up to 30 s. *out / *err (may be NULL) get malloc'd
 * stdout / stderr text. Returns the exit code (128+signal when killed), or -1 when it could not
 * run.
 */
int h_run(const char *const *args, const char *const *env, char **out, char **err);

/* A token from `flightdeck token` with the test secret, ttl 1h. teams: comma-separated or NULL.
 * Returns a malloc'd JWT; fails the test if the command fails. */
char *h_token(const char *sub, const char *name, const char *role, const char *teams);

/* base64url(header).base64url(payload).signature, signed with HMAC-SHA-`bits` (256, 384, 512)
 * over `key`, or with an empty signature when bits is 0. Returns malloc'd text. */
char *h_jwt_forge(const char *header_json, const char *payload_json, const char *key, int bits);

/* The payload of a JWT, base64url-decoded and parsed; NULL when it is not one. Owned. */
json_t *h_jwt_payload(const char *jwt);

/* The response of one request. */
#define H_MAX_HEADERS 64
typedef struct h_resp {
    long status; /* 0 when the request failed at the transport level */
    char *body;  /* NUL-terminated, may contain NULs before len */
    size_t len;
    json_t *json; /* the body parsed, when the Content-Type names json; else NULL */
    int nheaders;
    char *hname[H_MAX_HEADERS];
    char *hvalue[H_MAX_HEADERS];
    char curl_error[256];
} h_resp;

/*
 * One HTTP request through libcurl. token: Bearer token or NULL. body: NULL for none (POST
 * without body sends Content-Length: 0); len (size_t)-1 means strlen. hdrs: extra "Name: value"
 * lines, NULL-terminated, may be NULL. Paths are sent as given (no dot-segment removal).
 * Returns r->status; the caller frees r with h_resp_free.
 */
long h_req(const h_server *s, const char *method, const char *path, const char *token,
           const char *body, size_t len, const char *const *hdrs, h_resp *r);

/* The same with a JSON body (serialised compactly); body may be NULL. */
long h_req_json(const h_server *s, const char *method, const char *path, const char *token,
                const json_t *body, const char *const *hdrs, h_resp *r);

/* The first header called `name` (case-insensitive), or NULL. */
const char *h_hdr(const h_resp *r, const char *name);

void h_resp_free(h_resp *r);

/* Fail the test (printing method-independent context: status and body) unless r->status is
 * `status`. Use through H_EXPECT so the failure names the test's line. */
void h_expect_at(const h_resp *r, long status, const char *file, int line);
#define H_EXPECT(r, st) h_expect_at((r), (st), __FILE__, __LINE__)

/*
 * Assert an RFC 9457 problem: status, Content-Type application/problem+json, members type,
 * title, detail (strings), status (== HTTP status), request_id equal to the X-Request-Id header.
 */
void h_expect_problem_at(const h_resp *r, long status, const char *file, int line);
#define H_PROBLEM(r, st) h_expect_problem_at((r), (st), __FILE__, __LINE__)

/* Raw sockets: connect to the server (blocking fd, or -1); send everything (0 or -1). */
int h_raw_connect(const h_server *s);
int h_raw_send(int fd, const char *data, size_t len);

/*
 * Read one HTTP/1.x response from fd into buf (NUL-terminated): headers, then a
 * Content-Length body, a chunked body, or everything until the peer closes. Waits at most
 * timeout_ms in total. Returns the status code, or -1 (timeout, close before a status line).
 */
int h_raw_read(int fd, char *buf, size_t cap, int timeout_ms);

/* connect + send `request` verbatim + read one response + close. Returns the status or -1. */
int h_raw(const h_server *s, const char *request, char *buf, size_t cap);

/* Read a JSON file relative to the repo root; fails the test when unreadable. */
json_t *h_load_json(const char *relpath);

/* POST every team of examples/teams.json as `admin_token`; each must answer 201. */
void h_create_demo_teams(const h_server *s, const char *admin_token);

/* Number of audit events of migration `mid` (GET .../audit?format=json), fails the test on error.
 */
size_t h_audit_count(const h_server *s, const char *token, const char *mid);

/*
 * A compact fingerprint of a migration for "nothing changed" checks: version, status, current
 * stage, and every step's id, status and version. malloc'd; fails the test on error.
 */
char *h_snapshot(const h_server *s, const char *token, const char *mid);

/* The id of the idx-th step (0-based) of stage `stage` in a migration document; fails if absent. */
int64_t h_step_id(const json_t *migration, const char *stage, size_t idx);

/* GET /api/migrations/{mid}; fails the test unless 200. Returns an owned document. */
json_t *h_get_migration(const h_server *s, const char *token, const char *mid);

/* ---- audit_check.c ---- */

#define FD_TEST_HASH_HEX 65 /* 64 hex digits + NUL */

/*
 * Check an audit export (a JSON array of events, as GET .../audit?format=json gives them) the way
 * an auditor would, without trusting the server: seq strictly ascending, the first prev_hash all
 * zeros, each prev_hash the previous event's hash, and each hash the SHA-256 of the event without
 * "hash" serialised compact with sorted keys. Fails the test at the first broken link. The last
 * hash is copied to last_hash (may be NULL).
 */
void h_check_chain(const json_t *events, char last_hash[FD_TEST_HASH_HEX]);

/* An RFC 4180 CSV text as a JSON array of rows, each an array of strings. Owned by the caller. */
json_t *h_parse_csv(const char *s, size_t len);

/* printf into a malloc'd string. */
char *h_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
