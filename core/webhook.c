/* webhook.c - outgoing webhooks: subscriptions, event matching, the delivery queue and its retry
 * schedule (see webhook.h). The HTTP side (curl, the worker thread) is server/outbound.c. */
#include "webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "check.h"
#include "mutate.h"
#include "store_chatops.h"

#define PAGE_MAX 200
#define SECRET_MIN 16
#define SECRET_MAX 256
#define URL_MAX 2000

void webhook_policy_default(webhook_policy *p)
{
    p->base_ms = 1000;
    p->cap_ms = 5 * 60 * 1000;
    p->max_attempts = 12;
}

int64_t webhook_backoff_ms(const webhook_policy *p, int attempt)
{
    int64_t d = p->base_ms > 0 ? p->base_ms : 1;
    /* double until the cap: no shift that could overflow */
    for (int i = 1; i < attempt && d < p->cap_ms; i++)
        d *= 2;
    return d < p->cap_ms ? d : p->cap_ms;
}

/* Action names are lower-case words joined by dots and underscores ("step.tick", "gate.override").
 */
static int is_action_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int webhook_pattern_valid(const char *pattern)
{
    if (pattern == NULL || pattern[0] == '\0' || strlen(pattern) > 100)
        return 0;
    if (strcmp(pattern, "*") == 0)
        return 1;
    size_t n = strlen(pattern);
    if (n > 2 && strcmp(pattern + n - 2, ".*") == 0)
        n -= 2; /* a prefix: "step.*" */
    if (pattern[0] == '.' || pattern[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_action_char(pattern[i]))
            return 0;
    return 1;
}

static int pattern_matches(const char *p, const char *action)
{
    if (strcmp(p, "*") == 0)
        return 1;
    size_t n = strlen(p);
    if (n > 2 && strcmp(p + n - 2, ".*") == 0) /* "step.*" matches "step.tick", not "steps" */
        return strncmp(action, p, n - 1) == 0;
    return strcmp(p, action) == 0;
}

int webhook_matches(const json_t *patterns, const char *filter, const char *migration,
                    const char *action)
{
    if (filter != NULL && (migration == NULL || strcmp(filter, migration) != 0))
        return 0;
    size_t i;
    json_t *p;
    json_array_foreach(patterns, i, p)
    {
        if (json_is_string(p) && pattern_matches(json_string_value(p), action))
            return 1;
    }
    return 0;
}

/* ---- the readable line ---- */

static const struct {
    const char *action;
    const char *verb;
} verbs[] = {
    {"step.tick", "ticked"},
    {"step.untick", "unticked"},
    {"step.skip", "skipped"},
    {"step.fail", "marked failed"},
    {"step.add", "added"},
    {"step.update", "edited"},
    {"step.delete", "removed"},
    {"step.confirm", "confirmed"},
    {"migration.create", "created the migration"},
    {"migration.update", "changed the plan"},
    {"migration.start", "started the migration"},
    {"migration.abort", "aborted the migration"},
    {"migration.landed", "landed the migration"},
    {"migration.closed", "closed the migration"},
    {"stage.complete", "completed stage"},
    {"switch.move", "moved switch"},
    {"switch.revert", "reverted switch"},
    {"switch.applied", "applied switch"},
    {"switch.failed", "could not apply switch"},
};

char *webhook_event_text(const json_t *event)
{
    fd_buf b = {0};
    const char *action = check_str(event, "action", "event");
    const char *mig = check_str(event, "migration", NULL);
    const char *who = check_str(json_object_get(event, "actor"), "name", "someone");
    const char *verb = NULL;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verbs[i].action, action) == 0)
            verb = verbs[i].verb;

    int r =
        fd_buf_printf(&b, "%s%s%s %s", mig ? mig : "", mig ? ": " : "", who, verb ? verb : action);
    json_t *thing = json_object_get(event, "after");
    if (!json_is_object(thing))
        thing = json_object_get(event, "before");
    json_t *id = json_object_get(thing, "id");
    const char *title = check_str(thing, "title", NULL);
    if (strncmp(action, "step.", 5) == 0 && json_is_integer(id))
        r |= fd_buf_printf(&b, " #%lld", (long long)json_integer_value(id));
    else if (strcmp(action, "stage.complete") == 0)
        r |= fd_buf_printf(&b, " %s", check_str(thing, "key", check_str(event, "target", "")));
    else if (strncmp(action, "switch.", 7) == 0) /* "reverted switch reads to 'mysql'" */
        r |= fd_buf_printf(&b, " %s to '%s'", check_str(thing, "switch", "?"),
                           check_str(thing, "position", "?"));
    if (title != NULL && strncmp(action, "migration.", 10) != 0)
        r |= fd_buf_printf(&b, " %s", title);
    const char *note = check_str(event, "note", NULL);
    if (note != NULL)
        r |= fd_buf_printf(&b, " (%s)", note);
    if (r != 0 || b.data == NULL) {
        fd_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- subscriptions ---- */

static fd_err require_admin(fd_ctx *ctx)
{
    if (ctx->actor->role < FD_ROLE_ADMIN)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                       "only an admin can manage webhooks; you are %s",
                       fd_role_name(ctx->actor->role));
    return FD_OK;
}

static const check_field create_fields[] = {
    {"url", CHECK_URL, 1, 0, 0},
    {"secret", CHECK_STRING, 0, SECRET_MIN, SECRET_MAX},
    {"events", CHECK_ARRAY, 1, 1, WEBHOOK_PATTERN_MAX},
    {"migration", CHECK_SLUG, 0, 0, 0},
    {"format", CHECK_STRING, 0, 1, 16},
    {NULL, 0, 0, 0, 0},
};

static fd_err check_create(fd_store *st, fd_ctx *ctx, const json_t *body)
{
    fd_err e = check_object(body, create_fields, "", &ctx->problem);
    if (e != FD_OK)
        return e;
    if (strlen(check_str(body, "url", "")) > URL_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "url", "url may have at most %d characters",
                       URL_MAX);
    const char *format = check_str(body, "format", "json");
    if (strcmp(format, "json") != 0 && strcmp(format, "slack") != 0)
        return fd_fail(&ctx->problem, FD_E_INVALID, "format", "format must be json or slack");
    if (strcmp(format, "json") == 0 && check_str(body, "secret", NULL) == NULL)
        return fd_fail(&ctx->problem, FD_E_INVALID, "secret",
                       "secret is required for format json: receivers check the "
                       "X-Flightdeck-Signature made with it (%d-%d characters)",
                       SECRET_MIN, SECRET_MAX);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(body, "events"), i, p)
    {
        if (!json_is_string(p) || !webhook_pattern_valid(json_string_value(p))) {
            char field[32];
            snprintf(field, sizeof field, "events[%zu]", i);
            return fd_fail(&ctx->problem, FD_E_INVALID, field,
                           "%s must be \"*\", an action such as \"step.tick\", or a prefix such "
                           "as \"step.*\"",
                           field);
        }
    }
    const char *mid = check_str(body, "migration", NULL);
    if (mid != NULL) {
        fd_mig_head h;
        e = store_mig_head(st, mid, &h);
        if (e == FD_E_NOT_FOUND)
            return fd_fail(&ctx->problem, FD_E_INVALID, "migration", "there is no migration %s",
                           mid);
        if (e != FD_OK)
            return e;
    }
    return FD_OK;
}

static void webhook_target(char *out, size_t n, int64_t id)
{
    snprintf(out, n, "webhooks/%lld", (long long)id);
}

static fd_err rule_create(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const json_t *body = args;
    char *events = NULL, target[48];
    int64_t id = 0;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = check_create(st, ctx, body);
    if (e != FD_OK)
        return e;
    events = json_dumps(json_object_get(body, "events"), JSON_COMPACT);
    if (events == NULL)
        return FD_E_INTERNAL;
    store_webhook_in in = {
        .url = check_str(body, "url", NULL),
        .secret = check_str(body, "secret", NULL),
        .events = events,
        .migration = check_str(body, "migration", NULL),
        .format = check_str(body, "format", "json"),
        .created_by = ctx->actor->sub,
        .now = store_now_ms(st),
    };
    e = store_webhook_insert(st, &in, &id);
    if (e == FD_OK)
        e = store_webhook_get(st, id, out);
    webhook_target(target, sizeof target, id);
    /* the audit holds the document (has_secret, never the secret) */
    if (e == FD_OK)
        e = audit_append(st, ctx, NULL, "webhook.create", target, NULL, *out, NULL);
    free(events);
    return e;
}

fd_err webhook_create(fd_store *st, fd_ctx *ctx, const json_t *body, json_t **out)
{
    return core_mutate(st, ctx, rule_create, (void *)body, out);
}

static fd_err load_hook(fd_store *st, fd_ctx *ctx, int64_t id, json_t **out)
{
    fd_err e = store_webhook_get(st, id, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "there is no webhook %lld", (long long)id);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return FD_OK;
}

fd_err webhook_get(fd_store *st, fd_ctx *ctx, int64_t id, json_t **out)
{
    *out = NULL;
    fd_err e = require_admin(ctx);
    return e != FD_OK ? e : load_hook(st, ctx, id, out);
}

/* Cursor text -> id after which the page starts. */
static fd_err parse_cursor(fd_ctx *ctx, const char *cursor, int64_t *after)
{
    *after = 0;
    if (cursor == NULL || *cursor == '\0')
        return FD_OK;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(cursor, &end, 10);
    if (errno != 0 || end == cursor || *end != '\0' || v < 0)
        return fd_fail(&ctx->problem, FD_E_BAD_REQUEST, "cursor",
                       "cursor must be the next_cursor of the previous page");
    *after = v;
    return FD_OK;
}

/* {"items", "next_cursor"} from a list fetched with one extra row. */
static json_t *page_of(json_t *items, int limit)
{
    json_t *next = json_null();
    if (json_array_size(items) > (size_t)limit) {
        json_array_remove(items, (size_t)limit);
        char c[24];
        snprintf(c, sizeof c, "%lld",
                 (long long)json_integer_value(
                     json_object_get(json_array_get(items, (size_t)limit - 1), "id")));
        next = json_string(c);
    }
    return json_pack("{s:o,s:o}", "items", items, "next_cursor", next);
}

fd_err webhook_list(fd_store *st, fd_ctx *ctx, const char *cursor, int limit, json_t **out)
{
    *out = NULL;
    int64_t after;
    json_t *items = NULL;
    fd_err e = require_admin(ctx);
    if (e == FD_OK && (limit < 1 || limit > PAGE_MAX))
        e = fd_fail(&ctx->problem, FD_E_INVALID, "limit", "limit must be from 1 to %d", PAGE_MAX);
    if (e == FD_OK)
        e = parse_cursor(ctx, cursor, &after);
    if (e != FD_OK)
        return e;
    if (store_webhook_list(st, after, limit + 1, &items) != FD_OK)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    *out = page_of(items, limit);
    return FD_OK;
}

static fd_err rule_delete(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    int64_t id = *(int64_t *)args;
    json_t *old = NULL;
    char target[48];
    (void)out;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = load_hook(st, ctx, id, &old);
    if (e == FD_OK)
        e = store_webhook_delete(st, id);
    webhook_target(target, sizeof target, id);
    if (e == FD_OK)
        e = audit_append(st, ctx, NULL, "webhook.delete", target, old, NULL, NULL);
    json_decref(old);
    return e;
}

fd_err webhook_delete(fd_store *st, fd_ctx *ctx, int64_t id)
{
    return core_mutate(st, ctx, rule_delete, &id, NULL);
}

fd_err webhook_deliveries(fd_store *st, fd_ctx *ctx, int64_t id, const char *cursor, int limit,
                          json_t **out)
{
    *out = NULL;
    int64_t after;
    json_t *hook = NULL, *items = NULL;
    fd_err e = require_admin(ctx);
    if (e == FD_OK && (limit < 1 || limit > PAGE_MAX))
        e = fd_fail(&ctx->problem, FD_E_INVALID, "limit", "limit must be from 1 to %d", PAGE_MAX);
    if (e == FD_OK)
        e = parse_cursor(ctx, cursor, &after);
    if (e == FD_OK)
        e = load_hook(st, ctx, id, &hook);
    json_decref(hook);
    if (e != FD_OK)
        return e;
    if (store_delivery_list(st, id, after, limit + 1, &items) != FD_OK)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    *out = page_of(items, limit);
    return FD_OK;
}

/* ---- the queue ---- */

/* The bytes POSTed for one event to one webhook (malloc'd). */
static char *delivery_body(const char *format, const char *json, size_t len)
{
    if (strcmp(format, "slack") != 0) {
        char *copy = malloc(len + 1);
        if (copy != NULL) {
            memcpy(copy, json, len);
            copy[len] = '\0';
        }
        return copy;
    }
    json_t *ev = json_loadb(json, len, 0, NULL);
    char *line = ev ? webhook_event_text(ev) : NULL;
    json_t *msg = line ? json_pack("{s:s}", "text", line) : NULL;
    char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    free(line);
    json_decref(ev);
    return body;
}

fd_err webhook_enqueue_tx(fd_store *st, int64_t seq, const char *migration, const char *action,
                          const char *json, size_t len, int *queued)
{
    const json_t *hooks = NULL;
    int n = 0;
    if (queued != NULL)
        *queued = 0;
    fd_err e = store_webhook_cached(st, &hooks);
    if (e != FD_OK)
        return e;
    size_t i;
    json_t *h;
    json_array_foreach(hooks, i, h)
    {
        if (!webhook_matches(json_object_get(h, "events"), check_str(h, "migration", NULL),
                             migration, action))
            continue;
        char *body = delivery_body(check_str(h, "format", "json"), json, len);
        int added = 0;
        e = body ? store_delivery_insert(st, json_integer_value(json_object_get(h, "id")), seq,
                                         action, body, store_now_ms(st), &added)
                 : FD_E_INTERNAL;
        free(body);
        if (e != FD_OK)
            return e;
        n += added;
    }
    if (queued != NULL)
        *queued = n;
    return FD_OK;
}

fd_err webhook_enqueue(fd_store *st, int64_t seq, const char *migration, const char *action,
                       const char *json, size_t len, int *queued)
{
    fd_err e = store_begin(st);
    if (e != FD_OK)
        return e;
    e = webhook_enqueue_tx(st, seq, migration, action, json, len, queued);
    if (e == FD_OK)
        e = store_commit(st);
    if (e != FD_OK) {
        store_rollback(st);
        if (queued != NULL)
            *queued = 0;
    }
    return e;
}

fd_err webhook_due(fd_store *st, int64_t now, int limit, json_t **jobs)
{
    return store_delivery_due(st, now, limit, jobs);
}

fd_err webhook_record(fd_store *st, const webhook_policy *policy, int64_t delivery, int64_t at,
                      int http_status, const char *error, int64_t duration_ms)
{
    char status[16];
    int attempts = 0;
    fd_err e = store_begin(st);
    if (e != FD_OK)
        return e;
    e = store_delivery_state(st, delivery, status, &attempts);
    if (e == FD_E_NOT_FOUND || (e == FD_OK && strcmp(status, "pending") != 0)) {
        store_rollback(st); /* deleted with its webhook, or settled already: nothing to record */
        return FD_OK;
    }
    if (e == FD_OK) {
        attempts++;
        e = store_attempt_insert(st, delivery, attempts, at, http_status, error, duration_ms);
    }
    if (e == FD_OK) {
        if (http_status >= 200 && http_status < 300)
            e = store_delivery_update(st, delivery, "delivered", attempts, at, at);
        else if (attempts >= policy->max_attempts)
            e = store_delivery_update(st, delivery, "failed", attempts, at, at);
        else
            e = store_delivery_update(st, delivery, "pending", attempts,
                                      at + webhook_backoff_ms(policy, attempts), -1);
    }
    if (e == FD_OK)
        e = store_commit(st);
    if (e != FD_OK)
        store_rollback(st);
    return e;
}

int webhook_next_due(fd_store *st, int64_t *at)
{
    fd_err e = store_delivery_next_due(st, at);
    return e == FD_OK ? 1 : e == FD_E_NOT_FOUND ? 0 : -1;
}

int64_t webhook_queue_depth(fd_store *st)
{
    int64_t n = 0;
    return store_delivery_pending(st, &n) == FD_OK ? n : -1;
}

const char *webhook_last_error(fd_store *st)
{
    return store_last_error(st);
}
