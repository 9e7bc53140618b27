/* store_webhook.c - chat identities, go-around codes, webhooks and their delivery queue (see
 * store_chatops.h). Tables from migrations/0004_chatops.sql. */
#include "store_chatops.h"
#include "store_sqlite.h"

#include <stdlib.h>
#include <string.h>

/* A JSON array stored as text, parsed; an empty array when the text is unreadable. */
static json_t *col_json_array(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    if (!json_is_array(v)) {
        json_decref(v);
        v = json_array();
    }
    return v;
}

/* Run a statement that returns one row or none: FD_OK with the row current, FD_E_NOT_FOUND, or
 * FD_E_INTERNAL. The caller reads the columns and resets. */
static fd_err step_one(fd_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return FD_OK;
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? FD_E_NOT_FOUND : store_fail(st, what);
}

/* ---- chat identities ---- */

fd_err store_chat_user_get(fd_store *st, const char *chat_user, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_CHAT_USER_GET,
                                 "SELECT chat_user, sub, name, role, teams, created_at, version"
                                 " FROM chat_users WHERE chat_user = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, chat_user);
    fd_err e = step_one(st, s, "chat user get");
    if (e != FD_OK)
        return e;
    json_t *d = json_object();
    json_object_set_new(d, "chat_user", store_col_str(s, 0));
    json_object_set_new(d, "sub", store_col_str(s, 1));
    json_object_set_new(d, "name", store_col_str(s, 2));
    json_object_set_new(d, "role", store_col_str(s, 3));
    json_object_set_new(d, "teams", col_json_array(s, 4));
    json_object_set_new(d, "created_at", store_col_time(s, 5));
    json_object_set_new(d, "version", store_col_int(s, 6));
    sqlite3_reset(s);
    *out = d;
    return FD_OK;
}

fd_err store_chat_user_put(fd_store *st, const char *chat_user, const char *sub, const char *name,
                           const char *role, const char *teams_json, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, S_CHAT_USER_PUT,
                                 "INSERT INTO chat_users (chat_user, sub, name, role, teams,"
                                 " created_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)"
                                 " ON CONFLICT (chat_user) DO UPDATE SET sub = excluded.sub,"
                                 " name = excluded.name, role = excluded.role,"
                                 " teams = excluded.teams, version = version + 1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, chat_user);
    store_bind_text(s, 2, sub);
    store_bind_text(s, 3, name);
    store_bind_text(s, 4, role);
    store_bind_text(s, 5, teams_json);
    sqlite3_bind_int64(s, 6, now);
    return store_exec_stmt(st, s, "chat user put");
}

fd_err store_chat_user_delete(fd_store *st, const char *chat_user)
{
    sqlite3_stmt *s =
        store_stmt(st, S_CHAT_USER_DEL, "DELETE FROM chat_users WHERE chat_user = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, chat_user);
    return store_exec_stmt(st, s, "chat user delete");
}

/* ---- go-around codes ---- */

fd_err store_chat_code_put(fd_store *st, const char *mid, const char *chat_user, const char *code,
                           const char *reason, int64_t expires_at)
{
    sqlite3_stmt *s = store_stmt(st, S_CHAT_CODE_PUT,
                                 "INSERT OR REPLACE INTO chat_codes (migration, chat_user, code,"
                                 " reason, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, chat_user);
    store_bind_text(s, 3, code);
    store_bind_text(s, 4, reason);
    sqlite3_bind_int64(s, 5, expires_at);
    return store_exec_stmt(st, s, "chat code put");
}

fd_err store_chat_code_get(fd_store *st, const char *mid, const char *chat_user, char code[16],
                           char **reason, int64_t *expires_at)
{
    *reason = NULL;
    code[0] = '\0';
    sqlite3_stmt *s = store_stmt(st, S_CHAT_CODE_GET,
                                 "SELECT code, reason, expires_at FROM chat_codes"
                                 " WHERE migration = ?1 AND chat_user = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, chat_user);
    fd_err e = step_one(st, s, "chat code get");
    if (e != FD_OK)
        return e;
    store_col_copy(s, 0, code, 16);
    const char *r = (const char *)sqlite3_column_text(s, 1);
    *reason = strdup(r ? r : "");
    *expires_at = sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    return *reason ? FD_OK : FD_E_INTERNAL;
}

fd_err store_chat_code_delete(fd_store *st, const char *mid, const char *chat_user)
{
    sqlite3_stmt *s = store_stmt(st, S_CHAT_CODE_DEL,
                                 "DELETE FROM chat_codes WHERE migration = ?1 AND chat_user = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, chat_user);
    return store_exec_stmt(st, s, "chat code delete");
}

/* ---- webhooks ---- */

#define HOOK_COLS "id, url, secret IS NOT NULL, events, migration, format, created_by, created_at"

static json_t *webhook_doc(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", store_col_int(s, 0));
    json_object_set_new(d, "url", store_col_str(s, 1));
    json_object_set_new(d, "has_secret", json_boolean(sqlite3_column_int(s, 2)));
    json_object_set_new(d, "events", col_json_array(s, 3));
    json_object_set_new(d, "migration", store_col_str(s, 4));
    json_object_set_new(d, "format", store_col_str(s, 5));
    json_object_set_new(d, "created_by", store_col_str(s, 6));
    json_object_set_new(d, "created_at", store_col_time(s, 7));
    return d;
}

fd_err store_webhook_insert(fd_store *st, const store_webhook_in *in, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, S_HOOK_INSERT,
                                 "INSERT INTO webhooks (url, secret, events, migration, format,"
                                 " created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, in->url);
    store_bind_text(s, 2, in->secret);
    store_bind_text(s, 3, in->events);
    store_bind_text(s, 4, in->migration);
    store_bind_text(s, 5, in->format);
    store_bind_text(s, 6, in->created_by);
    sqlite3_bind_int64(s, 7, in->now);
    json_decref(st->hooks); /* the cached list (store_webhook_cached) is out of date */
    st->hooks = NULL;
    return store_insert_stmt(st, s, "webhook insert", id);
}

fd_err store_webhook_get(fd_store *st, int64_t id, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s =
        store_stmt(st, S_HOOK_GET, "SELECT " HOOK_COLS " FROM webhooks WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, id);
    fd_err e = step_one(st, s, "webhook get");
    if (e != FD_OK)
        return e;
    *out = webhook_doc(s);
    sqlite3_reset(s);
    return FD_OK;
}

fd_err store_webhook_list(fd_store *st, int64_t after, int limit, json_t **items)
{
    *items = NULL;
    sqlite3_stmt *s = store_stmt(st, S_HOOK_LIST,
                                 "SELECT " HOOK_COLS " FROM webhooks WHERE id > ?1"
                                 " ORDER BY id LIMIT ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int(s, 2, limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, webhook_doc(s));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "webhook list");
    }
    *items = arr;
    return FD_OK;
}

fd_err store_webhook_delete(fd_store *st, int64_t id)
{
    sqlite3_stmt *s = store_stmt(st, S_HOOK_DEL, "DELETE FROM webhooks WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, id);
    json_decref(st->hooks); /* the cached list (store_webhook_cached) is out of date */
    st->hooks = NULL;
    return store_exec_stmt(st, s, "webhook delete");
}

fd_err store_webhook_all(fd_store *st, json_t **items)
{
    *items = NULL;
    sqlite3_stmt *s = store_stmt(st, S_HOOK_ALL,
                                 "SELECT id, events, migration, format FROM webhooks ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:o}", "id", store_col_int(s, 0),
                                             "events", col_json_array(s, 1), "migration",
                                             store_col_str(s, 2), "format", store_col_str(s, 3)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "webhooks");
    }
    *items = arr;
    return FD_OK;
}

fd_err store_webhook_cached(fd_store *st, const json_t **items)
{
    *items = NULL;
    if (st->hooks == NULL && store_webhook_all(st, &st->hooks) != FD_OK)
        return FD_E_INTERNAL;
    *items = st->hooks;
    return FD_OK;
}

/* ---- deliveries ---- */

fd_err store_delivery_insert(fd_store *st, int64_t webhook, int64_t seq, const char *action,
                             const char *body, int64_t now, int *inserted)
{
    sqlite3_stmt *s = store_stmt(st, S_DELIV_INSERT,
                                 "INSERT OR IGNORE INTO webhook_deliveries (webhook, seq, action,"
                                 " body, status, attempts, next_at, created_at)"
                                 " VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, webhook);
    sqlite3_bind_int64(s, 2, seq);
    store_bind_text(s, 3, action);
    store_bind_text(s, 4, body);
    sqlite3_bind_int64(s, 5, now);
    if (store_exec_stmt(st, s, "delivery insert") != FD_OK)
        return FD_E_INTERNAL;
    if (inserted != NULL)
        *inserted = sqlite3_changes(st->db) > 0;
    return FD_OK;
}

fd_err store_delivery_due(fd_store *st, int64_t now, int limit, json_t **jobs)
{
    *jobs = NULL;
    sqlite3_stmt *s = store_stmt(
        st, S_DELIV_DUE,
        "SELECT d.id, d.webhook, w.url, w.secret, w.format, d.seq, d.action, d.body, d.attempts"
        " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook"
        " WHERE d.status = 'pending' AND d.next_at <= ?1 ORDER BY d.next_at, d.id LIMIT ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(
            arr, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "delivery", store_col_int(s, 0),
                           "webhook", store_col_int(s, 1), "url", store_col_str(s, 2), "secret",
                           store_col_str(s, 3), "format", store_col_str(s, 4), "seq",
                           store_col_int(s, 5), "action", store_col_str(s, 6), "body",
                           store_col_str(s, 7), "attempts", store_col_int(s, 8)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "due deliveries");
    }
    *jobs = arr;
    return FD_OK;
}

fd_err store_delivery_state(fd_store *st, int64_t delivery, char status[16], int *attempts)
{
    sqlite3_stmt *s = store_stmt(st, S_DELIV_STATE,
                                 "SELECT status, attempts FROM webhook_deliveries WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, delivery);
    fd_err e = step_one(st, s, "delivery state");
    if (e != FD_OK)
        return e;
    store_col_copy(s, 0, status, 16);
    *attempts = sqlite3_column_int(s, 1);
    sqlite3_reset(s);
    return FD_OK;
}

fd_err store_delivery_update(fd_store *st, int64_t delivery, const char *status, int attempts,
                             int64_t next_at, int64_t done_at)
{
    sqlite3_stmt *s = store_stmt(st, S_DELIV_UPDATE,
                                 "UPDATE webhook_deliveries SET status = ?2, attempts = ?3,"
                                 " next_at = ?4, done_at = coalesce(?5, done_at) WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, delivery);
    store_bind_text(s, 2, status);
    sqlite3_bind_int(s, 3, attempts);
    sqlite3_bind_int64(s, 4, next_at);
    if (done_at >= 0)
        sqlite3_bind_int64(s, 5, done_at);
    return store_exec_stmt(st, s, "delivery update");
}

fd_err store_delivery_pending(fd_store *st, int64_t *n)
{
    sqlite3_stmt *s = store_stmt(
        st, S_DELIV_PENDING, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'");
    if (s == NULL)
        return FD_E_INTERNAL;
    fd_err e = step_one(st, s, "pending deliveries");
    if (e == FD_OK)
        *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return e;
}

fd_err store_delivery_next_due(fd_store *st, int64_t *at)
{
    sqlite3_stmt *s = store_stmt(st, S_DELIV_NEXT,
                                 "SELECT min(next_at) FROM webhook_deliveries"
                                 " WHERE status = 'pending'");
    if (s == NULL)
        return FD_E_INTERNAL;
    fd_err e = step_one(st, s, "next delivery");
    if (e != FD_OK)
        return e;
    if (sqlite3_column_type(s, 0) == SQLITE_NULL)
        e = FD_E_NOT_FOUND;
    else
        *at = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return e;
}

/* The attempts of one delivery, in order. */
static fd_err attempts_of(fd_store *st, int64_t delivery, json_t **out)
{
    sqlite3_stmt *s = store_stmt(st, S_ATTEMPT_LIST,
                                 "SELECT attempt, at, http_status, error, duration_ms"
                                 " FROM webhook_attempts WHERE delivery = ?1 ORDER BY attempt");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, delivery);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(
            arr, json_pack("{s:o,s:o,s:o,s:o,s:o}", "attempt", store_col_int(s, 0), "at",
                           store_col_time(s, 1), "http_status", store_col_int(s, 2), "error",
                           store_col_str(s, 3), "duration_ms", store_col_int(s, 4)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "attempts");
    }
    *out = arr;
    return FD_OK;
}

fd_err store_delivery_list(fd_store *st, int64_t webhook, int64_t after, int limit, json_t **items)
{
    *items = NULL;
    sqlite3_stmt *s = store_stmt(st, S_DELIV_LIST,
                                 "SELECT id, seq, action, status, attempts, next_at, created_at,"
                                 " done_at FROM webhook_deliveries WHERE webhook = ?1 AND id > ?2"
                                 " ORDER BY id LIMIT ?3");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, webhook);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *d = json_object();
        json_object_set_new(d, "id", store_col_int(s, 0));
        json_object_set_new(d, "seq", store_col_int(s, 1));
        json_object_set_new(d, "action", store_col_str(s, 2));
        json_object_set_new(d, "status", store_col_str(s, 3));
        json_object_set_new(d, "attempts", store_col_int(s, 4));
        const unsigned char *status = sqlite3_column_text(s, 3);
        int pending = status != NULL && strcmp((const char *)status, "pending") == 0;
        json_object_set_new(d, "next_attempt_at", pending ? store_col_time(s, 5) : json_null());
        json_object_set_new(d, "created_at", store_col_time(s, 6));
        json_object_set_new(d, "done_at", store_col_time(s, 7));
        json_array_append_new(arr, d);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "delivery list");
    }
    /* the attempts of each, after the outer statement is reset (one cursor at a time) */
    size_t i;
    json_t *d;
    json_array_foreach(arr, i, d)
    {
        json_t *att = NULL;
        if (attempts_of(st, json_integer_value(json_object_get(d, "id")), &att) != FD_OK) {
            json_decref(arr);
            return FD_E_INTERNAL;
        }
        json_object_set_new(d, "attempt_log", att);
    }
    *items = arr;
    return FD_OK;
}

fd_err store_attempt_insert(fd_store *st, int64_t delivery, int attempt, int64_t at,
                            int http_status, const char *error, int64_t duration_ms)
{
    sqlite3_stmt *s =
        store_stmt(st, S_ATTEMPT_INSERT,
                   "INSERT OR REPLACE INTO webhook_attempts (delivery, attempt, at,"
                   " http_status, error, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, delivery);
    sqlite3_bind_int(s, 2, attempt);
    sqlite3_bind_int64(s, 3, at);
    if (http_status >= 0)
        sqlite3_bind_int(s, 4, http_status);
    store_bind_text(s, 5, error);
    sqlite3_bind_int64(s, 6, duration_ms);
    return store_exec_stmt(st, s, "attempt insert");
}
