/*
 * store_chatops.h - what chat.c and webhook.c ask of the store (implemented in store_webhook.c):
 * chat identities, go-around confirmation codes, webhook subscriptions and the delivery queue.
 *
 * Like store_internal.h, nothing here mentions SQLite. Writes run inside store_begin/commit (the
 * rules use core_mutate; the delivery queue its own short transactions). Every function returns
 * FD_OK, FD_E_NOT_FOUND where said, or FD_E_INTERNAL (store_last_error() says why).
 */
#ifndef FD_STORE_CHATOPS_H
#define FD_STORE_CHATOPS_H

#include <jansson.h>

#include "store_internal.h"

/* ---- chat identities ---- */

/* {chat_user, sub, name, role, teams: [...], created_at, version}, or FD_E_NOT_FOUND. */
fd_err store_chat_user_get(fd_store *st, const char *chat_user, json_t **out);
/* Insert, or replace sub/name/role/teams and bump the version. teams_json: a JSON array text. */
fd_err store_chat_user_put(fd_store *st, const char *chat_user, const char *sub, const char *name,
                           const char *role, const char *teams_json, int64_t now);
fd_err store_chat_user_delete(fd_store *st, const char *chat_user);

/* ---- go-around confirmation codes ---- */

/* Replace the open code of (mid, chat_user). */
fd_err store_chat_code_put(fd_store *st, const char *mid, const char *chat_user, const char *code,
                           const char *reason, int64_t expires_at);
/* code (up to 15 characters), *reason (malloc'd, the caller frees) and *expires_at, or
 * FD_E_NOT_FOUND when no code is open. */
fd_err store_chat_code_get(fd_store *st, const char *mid, const char *chat_user, char code[16],
                           char **reason, int64_t *expires_at);
fd_err store_chat_code_delete(fd_store *st, const char *mid, const char *chat_user);

/* ---- webhooks ---- */

typedef struct store_webhook_in {
    const char *url;
    const char *secret;    /* NULL: none */
    const char *events;    /* JSON array text */
    const char *migration; /* NULL: all */
    const char *format;    /* "json" | "slack" */
    const char *created_by;
    int64_t now;
} store_webhook_in;

fd_err store_webhook_insert(fd_store *st, const store_webhook_in *in, int64_t *id);
/* The Webhook document of webhook.h (the secret only as has_secret), or FD_E_NOT_FOUND. */
fd_err store_webhook_get(fd_store *st, int64_t id, json_t **out);
/* Webhooks with id > after, at most `limit`, as a new array of documents. */
fd_err store_webhook_list(fd_store *st, int64_t after, int limit, json_t **items);
/* Delete the webhook and (cascade) its deliveries and attempts. */
fd_err store_webhook_delete(fd_store *st, int64_t id);
/* Every webhook as {id, events: [...], migration, format}: what event matching needs. */
fd_err store_webhook_all(fd_store *st, json_t **items);
/* The same list, cached in the store (borrowed: valid until the next store call that changes
 * webhooks or rolls back). Read through the connection that writes: call inside a unit. */
fd_err store_webhook_cached(fd_store *st, const json_t **items);

/* ---- deliveries ---- */

/* Queue a delivery (pending, due at `now`); a second one for the same (webhook, seq) is
 * ignored. *inserted (may be NULL) says whether a row was added. */
fd_err store_delivery_insert(fd_store *st, int64_t webhook, int64_t seq, const char *action,
                             const char *body, int64_t now, int *inserted);
/* Pending deliveries due at `now`, oldest first, at most `limit`: a new array of
 * {delivery, webhook, url, secret|null, format, seq, action, body, attempts}. */
fd_err store_delivery_due(fd_store *st, int64_t now, int limit, json_t **jobs);
/* The status and attempt count of a delivery, or FD_E_NOT_FOUND (its webhook was deleted). */
fd_err store_delivery_state(fd_store *st, int64_t delivery, char status[16], int *attempts);
/* Set status, attempts, next_at, and done_at (< 0: keep). */
fd_err store_delivery_update(fd_store *st, int64_t delivery, const char *status, int attempts,
                             int64_t next_at, int64_t done_at);
/* The earliest next_at of a pending delivery, or FD_E_NOT_FOUND when none is pending. */
fd_err store_delivery_next_due(fd_store *st, int64_t *at);
/* How many deliveries are pending (waiting or due), for /metrics. */
fd_err store_delivery_pending(fd_store *st, int64_t *n);
/* Deliveries of one webhook with id > after, oldest first, at most `limit`, each with its
 * attempts: see the Delivery document of webhook.h. */
fd_err store_delivery_list(fd_store *st, int64_t webhook, int64_t after, int limit, json_t **items);
/* http_status < 0: no answer; error NULL: none. */
fd_err store_attempt_insert(fd_store *st, int64_t delivery, int attempt, int64_t at,
                            int http_status, const char *error, int64_t duration_ms);

#endif
