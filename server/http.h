/*
 * http.h - the front door (http.c) and the event loop around it (serve.c): h2o 2.2.5
 * (evloop), one loop thread.
 *
 * Every request gets an X-Request-Id (the client's own when it matches [A-Za-z0-9._-]{1,64}).
 * /api/... and the other routed paths go through the router, authentication and the api_call
 * preparation below; everything else is a static file from the web directory.
 *
 * Shutdown (SIGTERM/SIGINT): the listener closes, the event hub ends its streams, requests in
 * flight finish, idle keep-alive connections are closed, and http_serve returns within ~3 s.
 */
#ifndef FD_HTTP_H
#define FD_HTTP_H

#include <h2o.h>
#include <stdint.h>

#include "core/store.h"
#include "server/auth.h"
#include "server/config.h"

#define HTTP_SHUTDOWN_MS 3000 /* longest wait for requests in flight after a signal */

/* Fill `conf` (h2o_config_init included) with the front door: one host, our handler then the
 * web directory's files on "/", the response filter and the access logger on every path. For
 * http_serve (server/serve.c). Returns 0. */
int http_configure(h2o_globalconf_t *conf, const fd_config *cfg);

/* Called once on the loop thread when the listener is ready, with "http://HOST:PORT". */
typedef void (*http_ready_fn)(void *arg, const char *base_url);

/*
 * Serve until SIGTERM or SIGINT. Blocks those signals first (call before starting any thread),
 * ignores SIGPIPE, installs the event hub and the webhook queue (server/outbound.h) as the
 * store's event sink. `keys` and `st` are
 * borrowed and must outlive the call. Returns 0 after a clean shutdown, -1 when the listener or
 * the loop could not be set up (a message has been printed to stderr).
 */
int http_serve(const fd_config *cfg, fd_store *st, const auth_keys *keys, http_ready_fn ready,
               void *arg);

/* What the server's own routes (server/routes.c) need to know; valid while http_serve runs. */
typedef struct http_settings {
    const auth_keys *keys;
    int cookie_secure;
    int dev;
} http_settings;

const http_settings *http_current(void);

/* Set what http_handle works with (http_serve does this; in-process tests call it). */
void http_set_context(fd_store *st, const auth_keys *keys, int cookie_secure, int dev);

/*
 * The front door for one request: request id, routing, authentication, CSRF, If-Match and
 * Idempotency-Key, then the route's handler. Returns 0 when answered, -1 when the path is not
 * the API's (the static file handler takes it). Loop thread only.
 */
int http_handle(h2o_req_t *req);

/* The session cookie's name. */
#define HTTP_SESSION_COOKIE "fd_session"

/*
 * Authenticate a request from `Authorization: Bearer <token>` or the session cookie (then the
 * actor's source is "web"). Returns 0 with *actor and *exp set: the actor is read-only and
 * borrowed for the life of `req` (its pool holds a reference to it, dropped when the request is
 * disposed, so a parked request or a long event stream keeps it however the token cache moves
 * on). Returns -1 when there are no credentials or they are invalid (why says which,
 * *via_cookie says where they came from); *actor is then NULL.
 */
int http_authenticate(h2o_req_t *req, const fd_actor **actor, int64_t *exp, int *via_cookie,
                      char *why, size_t whylen);

/* 1 when the request carries X-Requested-With: flightdeck (the CSRF defence for cookies). */
int http_has_csrf_header(h2o_req_t *req);

/*
 * Parse an If-Match value: "\"7\"", "W/\"7\"" -> 7; "*" -> -1 (any version). Returns 0, or -1
 * when malformed (a list, no quotes, not a number).
 */
int http_parse_if_match(const char *s, size_t len, int64_t *out);

/* 1 when an Idempotency-Key value is acceptable: 1..255 bytes of printable ASCII. */
int http_idempotency_key_valid(const char *s, size_t len);

#endif
