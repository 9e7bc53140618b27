/*
 * webhook.h - outgoing webhooks: subscriptions (admin), the delivery queue in the database, the
 * retry schedule, and the readable line a Slack incoming webhook shows.
 *
 * Every audit event that matches a subscription becomes a delivery row in the same transaction
 * as the event (webhook_enqueue_tx, called by audit_append). The outbound worker in server/ takes
 * due deliveries (webhook_due), POSTs them, and the loop records each attempt (webhook_record): 2xx
 * delivers, anything else is retried after webhook_backoff_ms() until max_attempts, then the
 * delivery is "failed". Deliveries are rows, so a restart simply finds them pending again.
 *
 * Webhook document (never the secret):
 *   {"id": 3, "url": "https://...", "has_secret": true, "events": ["step.*", "stage.complete"],
 *    "migration": "msk"|null, "format": "json"|"slack", "created_by": "root",
 *    "created_at": <time>}
 * Body of webhook_create: {url (http/https), secret?: 16-256 chars (required for json),
 *   events: [1-32 patterns], migration?: existing migration id, format?: "json" (default)|"slack"}
 * A pattern is "*", an action ("step.tick"), or a prefix ending in ".*" ("step.*").
 *
 * Delivery document:
 *   {"id", "seq", "action", "status": "pending"|"delivered"|"failed", "attempts",
 *    "next_attempt_at": <time>|null, "created_at", "done_at": <time>|null,
 *    "attempt_log": [{"attempt", "at", "http_status": n|null, "error": "..."|null,
 *                     "duration_ms"}]}
 *
 * What is POSTed: format json, the event exactly as the audit export holds it; format slack,
 * {"text": "<readable line>"}. Headers: X-Flightdeck-Signature: sha256=<hex HMAC-SHA256 of the
 * body with the secret> (when the webhook has one), X-Flightdeck-Event-Id: <seq> (deduplicate
 * on it: a delivery can arrive twice when the server stops mid-attempt), X-Flightdeck-Event:
 * <action>.
 */
#ifndef FD_WEBHOOK_H
#define FD_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>

#include "store.h"

#define WEBHOOK_PATTERN_MAX 32

/* The retry schedule: attempt n (1-based) that fails waits base * 2^(n-1), at most cap, and
 * after max_attempts failed attempts the delivery is given up. */
typedef struct webhook_policy {
    int64_t base_ms;
    int64_t cap_ms;
    int max_attempts;
} webhook_policy;

/* 1 s, 2 s, 4 s ... at most 5 min, 12 attempts. */
void webhook_policy_default(webhook_policy *p);

/* The wait after failed attempt `attempt` (1-based). */
int64_t webhook_backoff_ms(const webhook_policy *p, int attempt);

/* 1 when `pattern` is a valid event pattern. */
int webhook_pattern_valid(const char *pattern);

/* 1 when `action` of `migration` (NULL: outside any) matches a webhook with `patterns` (a JSON
 * array of strings) and `filter` (the webhook's migration, NULL: any). */
int webhook_matches(const json_t *patterns, const char *filter, const char *migration,
                    const char *action);

/* The readable one-liner of an event for chat ("msk: Alice ticked #42 Freeze deploys"); `event`
 * is the event object. malloc'd, the caller frees; NULL when memory runs out. */
char *webhook_event_text(const json_t *event);

/* ---- subscriptions (admin; create and delete are audited as webhook.create/webhook.delete) -- */

fd_err webhook_create(fd_store *st, fd_ctx *ctx, const json_t *body, json_t **out);
fd_err webhook_get(fd_store *st, fd_ctx *ctx, int64_t id, json_t **out);
/* {"items": [Webhook...], "next_cursor": "<id>"|null}; cursor NULL for the first page. */
fd_err webhook_list(fd_store *st, fd_ctx *ctx, const char *cursor, int limit, json_t **out);
fd_err webhook_delete(fd_store *st, fd_ctx *ctx, int64_t id);
/* {"items": [Delivery...], "next_cursor": "<id>"|null}. */
fd_err webhook_deliveries(fd_store *st, fd_ctx *ctx, int64_t id, const char *cursor, int limit,
                          json_t **out);

/* ---- the queue (loop thread) ---- */

/*
 * Queue a delivery of one event to every matching webhook, inside the open transaction (unit).
 * audit_append calls it for every event it writes, so an event and its deliveries are committed
 * (or rolled back) together: a crash cannot keep the one and lose the other. A delivery that is
 * already queued for (webhook, seq) is left alone. *queued (may be NULL) gets the number of
 * deliveries added. FD_OK or FD_E_INTERNAL.
 */
fd_err webhook_enqueue_tx(fd_store *st, int64_t seq, const char *migration, const char *action,
                          const char *json, size_t len, int *queued);

/* The same in a transaction of its own, for an event written without it (never inside a
 * transaction). Events from audit_append are queued already: this adds nothing for them. */
fd_err webhook_enqueue(fd_store *st, int64_t seq, const char *migration, const char *action,
                       const char *json, size_t len, int *queued);

/* Due deliveries, oldest first, at most `limit`: a new array of {delivery, webhook, url,
 * secret|null, format, seq, action, body, attempts}. Owned by the caller; holds secrets: never
 * log or return it. */
fd_err webhook_due(fd_store *st, int64_t now, int limit, json_t **jobs);

/*
 * Record one attempt of `delivery` made at `at`: http_status the answer (< 0: none came), error
 * a short reason or NULL. 2xx marks it delivered; otherwise it is retried per `policy` or, after
 * the last attempt, failed. A delivery whose webhook was deleted meanwhile is ignored (FD_OK).
 */
fd_err webhook_record(fd_store *st, const webhook_policy *policy, int64_t delivery, int64_t at,
                      int http_status, const char *error, int64_t duration_ms);

/* The earliest time a pending delivery is due: 1 with *at, 0 when none is pending, -1 on a
 * database error. */
int webhook_next_due(fd_store *st, int64_t *at);

/* How many deliveries wait to be sent (the queue depth), or -1 on a database error. */
int64_t webhook_queue_depth(fd_store *st);

/* Why the last database call failed, for the server's log ("" when none). */
const char *webhook_last_error(fd_store *st);

#endif
