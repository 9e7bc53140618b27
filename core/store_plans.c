/* store_plans.c - plan extras, templates, switches with their moves, flag-system calls and the
 * latest verifications (see store_plans.h). */
#include "store_plans.h"

#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"

/* Bind `v` as compact JSON text (NULL or JSON null binds SQL NULL). 0 or -1 (out of memory). */
static int bind_json(sqlite3_stmt *s, int i, const json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        sqlite3_bind_null(s, i);
        return 0;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return -1;
    sqlite3_bind_text(s, i, text, -1, free);
    return 0;
}

/* A JSON text column parsed (JSON null for SQL NULL or unreadable text: the store wrote it). */
static json_t *col_json(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    json_t *v = json_loadb((const char *)sqlite3_column_text(s, i),
                           (size_t)sqlite3_column_bytes(s, i), JSON_DECODE_ANY, NULL);
    return v != NULL ? v : json_null();
}

/* Step through a statement, appending row(s) made by `row` to a new array in *out. */
static fd_err collect(fd_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *),
                      const char *what, json_t **out)
{
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, row(s));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, what);
    }
    *out = arr;
    return FD_OK;
}

/* One row into *out via `row`, or FD_E_NOT_FOUND. */
static fd_err one(fd_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *), const char *what,
                  json_t **out)
{
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        *out = row(s);
    else if (rc == SQLITE_DONE)
        e = FD_E_NOT_FOUND;
    else
        e = store_fail(st, what);
    sqlite3_reset(s);
    return e;
}

/* ---- plan extras ---- */

fd_err store_plan_extras_put(fd_store *st, const char *mid, const json_t *rollback,
                             const json_t *rules)
{
    sqlite3_stmt *s = store_stmt(st, S_PX_PUT,
                                 "INSERT OR REPLACE INTO plan_extras (migration, rollback, rules)"
                                 " VALUES (?1, ?2, coalesce(?3, '[]'))");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    if (bind_json(s, 2, rollback) != 0 || bind_json(s, 3, rules) != 0) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return FD_E_INTERNAL;
    }
    return store_exec_stmt(st, s, "plan extras put");
}

fd_err store_plan_extras_get(fd_store *st, const char *mid, json_t **rollback, json_t **rules)
{
    *rollback = NULL;
    *rules = NULL;
    sqlite3_stmt *s =
        store_stmt(st, S_PX_GET, "SELECT rollback, rules FROM plan_extras WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *rollback = col_json(s, 0);
        *rules = col_json(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail(st, "plan extras get");
    if (*rollback == NULL)
        *rollback = json_null();
    if (!json_is_array(*rules)) {
        json_decref(*rules);
        *rules = json_array();
    }
    return FD_OK;
}

/* ---- templates ---- */

#define TPL_COLS                                                                                   \
    "id, title, description, source_migration, created_by_sub, created_by_name, created_at,"       \
    " version, plan"

static json_t *template_doc(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", store_col_str(s, 0));
    json_object_set_new(d, "title", store_col_str(s, 1));
    json_object_set_new(d, "description", store_col_str(s, 2));
    json_object_set_new(d, "source_migration", store_col_str(s, 3));
    json_object_set_new(d, "created_by", store_col_person(s, 4, 5));
    json_object_set_new(d, "created_at", store_col_time(s, 6));
    json_object_set_new(d, "version", store_col_int(s, 7));
    return d;
}

static json_t *template_doc_plan(sqlite3_stmt *s)
{
    json_t *d = template_doc(s);
    json_object_set_new(d, "plan", col_json(s, 8));
    return d;
}

fd_err store_template_insert(fd_store *st, const store_template_in *in)
{
    sqlite3_stmt *s = store_stmt(st, S_TPL_INSERT,
                                 "INSERT INTO templates (id, title, description, plan,"
                                 " source_migration, created_by_sub, created_by_name, created_at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, in->id);
    store_bind_text(s, 2, in->title);
    store_bind_text(s, 3, in->description);
    store_bind_text(s, 5, in->source_migration);
    store_bind_text(s, 6, in->by_sub);
    store_bind_text(s, 7, in->by_name);
    sqlite3_bind_int64(s, 8, in->now);
    if (bind_json(s, 4, in->plan) != 0) {
        sqlite3_clear_bindings(s);
        return FD_E_INTERNAL;
    }
    return store_exec_stmt(st, s, "template insert");
}

fd_err store_template_get(fd_store *st, const char *id, int with_plan, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_TPL_GET, "SELECT " TPL_COLS " FROM templates WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, id);
    return one(st, s, with_plan ? template_doc_plan : template_doc, "template get", out);
}

fd_err store_template_list(fd_store *st, const char *after, int limit, json_t **items)
{
    *items = NULL;
    sqlite3_stmt *s = store_stmt(st, S_TPL_LIST,
                                 "SELECT " TPL_COLS " FROM templates WHERE id > ?1"
                                 " ORDER BY id LIMIT ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, after ? after : "");
    sqlite3_bind_int(s, 2, limit);
    return collect(st, s, template_doc, "template list", items);
}

fd_err store_template_delete(fd_store *st, const char *id)
{
    sqlite3_stmt *s = store_stmt(st, S_TPL_DEL, "DELETE FROM templates WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, id);
    return store_exec_stmt(st, s, "template delete");
}

/* ---- switches ---- */

fd_err store_switch_insert(fd_store *st, const char *mid, const char *name, int ord,
                           const char *title, const json_t *positions, const json_t *action)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_INSERT,
                                 "INSERT INTO switches (migration, name, ord, title, positions,"
                                 " action, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, name);
    sqlite3_bind_int(s, 3, ord);
    store_bind_text(s, 4, title);
    store_bind_text(s, 7, json_string_value(json_array_get(positions, 0)));
    if (bind_json(s, 5, positions) != 0 || bind_json(s, 6, action) != 0) {
        sqlite3_clear_bindings(s);
        return FD_E_INTERNAL;
    }
    return store_exec_stmt(st, s, "switch insert");
}

#define SW_SELECT                                                                                  \
    "SELECT w.name, w.title, w.positions, w.action, w.position, w.applied, w.apply_error,"         \
    " w.version, w.last_move, m.by_sub, m.by_name, m.at,"                                          \
    " EXISTS (SELECT 1 FROM switch_calls c WHERE c.move = w.last_move"                             \
    "         AND c.status = 'pending')"                                                           \
    " FROM switches w LEFT JOIN switch_moves m ON m.id = w.last_move"

static json_t *switch_row(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "name", store_col_str(s, 0));
    json_object_set_new(d, "title", store_col_str(s, 1));
    json_object_set_new(d, "positions", col_json(s, 2));
    json_object_set_new(d, "action", col_json(s, 3));
    json_object_set_new(d, "position", store_col_str(s, 4));
    json_object_set_new(d, "applied", json_boolean(sqlite3_column_int(s, 5)));
    json_object_set_new(d, "error", store_col_str(s, 6));
    json_object_set_new(d, "version", store_col_int(s, 7));
    json_object_set_new(d, "last_move", store_col_int(s, 8));
    json_object_set_new(d, "moved_by", store_col_person(s, 9, 10));
    json_object_set_new(d, "moved_at", store_col_time(s, 11));
    json_object_set_new(d, "pending", json_boolean(sqlite3_column_int(s, 12)));
    return d;
}

fd_err store_switch_list(fd_store *st, const char *mid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_SW_LIST, SW_SELECT " WHERE w.migration = ?1 ORDER BY w.ord");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    return collect(st, s, switch_row, "switch list", out);
}

fd_err store_switch_get(fd_store *st, const char *mid, const char *name, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_SW_GET, SW_SELECT " WHERE w.migration = ?1 AND w.name = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, name);
    return one(st, s, switch_row, "switch get", out);
}

fd_err store_switch_set(fd_store *st, const char *mid, const char *name, const char *position,
                        int applied, const char *error, int64_t last_move)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_SET,
                                 "UPDATE switches SET position = ?3, applied = ?4,"
                                 " apply_error = ?5, last_move = ?6, version = version + 1"
                                 " WHERE migration = ?1 AND name = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, name);
    store_bind_text(s, 3, position);
    sqlite3_bind_int(s, 4, applied);
    store_bind_text(s, 5, error);
    sqlite3_bind_int64(s, 6, last_move);
    return store_exec_stmt(st, s, "switch set");
}

fd_err store_switch_set_applied(fd_store *st, const char *mid, const char *name, int applied,
                                const char *error)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_APPLIED,
                                 "UPDATE switches SET applied = ?3, apply_error = ?4,"
                                 " version = version + 1 WHERE migration = ?1 AND name = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, name);
    sqlite3_bind_int(s, 3, applied);
    store_bind_text(s, 4, error);
    return store_exec_stmt(st, s, "switch applied");
}

fd_err store_switch_move_insert(fd_store *st, const store_move_in *in, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_MOVE_INSERT,
                                 "INSERT INTO switch_moves (migration, switch, kind, from_position,"
                                 " to_position, step, by_sub, by_name, at, reason)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, in->mid);
    store_bind_text(s, 2, in->name);
    store_bind_text(s, 3, in->kind);
    store_bind_text(s, 4, in->from);
    store_bind_text(s, 5, in->to);
    if (in->step >= 0)
        sqlite3_bind_int64(s, 6, in->step);
    store_bind_text(s, 7, in->by_sub);
    store_bind_text(s, 8, in->by_name);
    sqlite3_bind_int64(s, 9, in->at);
    store_bind_text(s, 10, in->reason);
    return store_insert_stmt(st, s, "switch move insert", id);
}

static json_t *move_row(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", store_col_int(s, 0));
    json_object_set_new(d, "kind", store_col_str(s, 1));
    json_object_set_new(d, "from", store_col_str(s, 2));
    json_object_set_new(d, "to", store_col_str(s, 3));
    json_object_set_new(d, "step", store_col_int(s, 4));
    json_object_set_new(d, "by", store_col_person(s, 5, 6));
    json_object_set_new(d, "at", store_col_time(s, 7));
    json_object_set_new(d, "reason", store_col_str(s, 8));
    if (sqlite3_column_type(s, 9) == SQLITE_NULL)
        json_object_set_new(d, "call", json_null());
    else
        json_object_set_new(d, "call",
                            json_pack("{s:o,s:o,s:o,s:o}", "status", store_col_str(s, 9),
                                      "attempts", store_col_int(s, 10), "http_status",
                                      store_col_int(s, 11), "error", store_col_str(s, 12)));
    return d;
}

fd_err store_switch_history(fd_store *st, const char *mid, const char *name, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(
        st, S_SW_HISTORY,
        "SELECT m.id, m.kind, m.from_position, m.to_position, m.step, m.by_sub, m.by_name, m.at,"
        " m.reason, c.status, c.attempts, c.http_status, c.error"
        " FROM switch_moves m LEFT JOIN switch_calls c ON c.move = m.id"
        " WHERE m.migration = ?1 AND m.switch = ?2 ORDER BY m.id");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, name);
    return collect(st, s, move_row, "switch history", out);
}

/* ---- flag-system calls ---- */

fd_err store_switch_call_insert(fd_store *st, int64_t move, const char *method, const char *url,
                                const json_t *headers, const char *body, int64_t now, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_CALL_INSERT,
                                 "INSERT INTO switch_calls (move, method, url, headers, body,"
                                 " next_at, created_at) VALUES (?1, ?2, ?3, coalesce(?4, '{}'),"
                                 " ?5, ?6, ?6)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, move);
    store_bind_text(s, 2, method);
    store_bind_text(s, 3, url);
    store_bind_text(s, 5, body);
    sqlite3_bind_int64(s, 6, now);
    if (bind_json(s, 4, headers) != 0) {
        sqlite3_clear_bindings(s);
        return FD_E_INTERNAL;
    }
    return store_insert_stmt(st, s, "switch call insert", id);
}

fd_err store_switch_calls_supersede(fd_store *st, const char *mid, const char *name, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_CALL_SUPERSEDE,
                                 "UPDATE switch_calls SET status = 'superseded', done_at = ?3"
                                 " WHERE status = 'pending' AND move IN (SELECT id FROM"
                                 " switch_moves WHERE migration = ?1 AND switch = ?2)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, name);
    sqlite3_bind_int64(s, 3, now);
    return store_exec_stmt(st, s, "switch call supersede");
}

static json_t *due_row(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "call", store_col_int(s, 0));
    json_object_set_new(d, "migration", store_col_str(s, 1));
    json_object_set_new(d, "switch", store_col_str(s, 2));
    json_object_set_new(d, "method", store_col_str(s, 3));
    json_object_set_new(d, "url", store_col_str(s, 4));
    json_object_set_new(d, "headers", col_json(s, 5));
    json_object_set_new(d, "body", store_col_str(s, 6));
    json_object_set_new(d, "attempts", store_col_int(s, 7));
    return d;
}

fd_err store_switch_call_due(fd_store *st, int64_t now, int limit, json_t **jobs)
{
    *jobs = NULL;
    sqlite3_stmt *s = store_stmt(
        st, S_SW_CALL_DUE,
        "SELECT c.id, m.migration, m.switch, c.method, c.url, c.headers, c.body, c.attempts"
        " FROM switch_calls c JOIN switch_moves m ON m.id = c.move"
        " WHERE c.status = 'pending' AND c.next_at <= ?1 ORDER BY c.next_at, c.id LIMIT ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit);
    return collect(st, s, due_row, "switch calls due", jobs);
}

static json_t *call_row(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "call", store_col_int(s, 0));
    json_object_set_new(d, "move", store_col_int(s, 1));
    json_object_set_new(d, "migration", store_col_str(s, 2));
    json_object_set_new(d, "switch", store_col_str(s, 3));
    json_object_set_new(d, "step", store_col_int(s, 4));
    json_object_set_new(d, "to", store_col_str(s, 5));
    json_object_set_new(d, "status", store_col_str(s, 6));
    json_object_set_new(d, "attempts", store_col_int(s, 7));
    return d;
}

fd_err store_switch_call_get(fd_store *st, int64_t id, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_SW_CALL_GET,
                                 "SELECT c.id, c.move, m.migration, m.switch, m.step,"
                                 " m.to_position, c.status, c.attempts"
                                 " FROM switch_calls c JOIN switch_moves m ON m.id = c.move"
                                 " WHERE c.id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, id);
    return one(st, s, call_row, "switch call get", out);
}

fd_err store_switch_call_update(fd_store *st, int64_t id, const char *status, int attempts,
                                int64_t next_at, int64_t done_at, int http_status,
                                const char *error)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_CALL_UPDATE,
                                 "UPDATE switch_calls SET status = ?2, attempts = ?3,"
                                 " next_at = ?4, done_at = coalesce(?5, done_at),"
                                 " http_status = ?6, error = ?7 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, id);
    store_bind_text(s, 2, status);
    sqlite3_bind_int(s, 3, attempts);
    sqlite3_bind_int64(s, 4, next_at);
    if (done_at >= 0)
        sqlite3_bind_int64(s, 5, done_at);
    if (http_status >= 0)
        sqlite3_bind_int(s, 6, http_status);
    store_bind_text(s, 7, error);
    return store_exec_stmt(st, s, "switch call update");
}

fd_err store_switch_call_next_due(fd_store *st, int64_t *at)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_CALL_NEXT,
                                 "SELECT min(next_at) FROM switch_calls WHERE status = 'pending'");
    if (s == NULL)
        return FD_E_INTERNAL;
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *at = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_ROW)
        e = FD_E_NOT_FOUND;
    else
        e = store_fail(st, "switch call next");
    sqlite3_reset(s);
    return e;
}

/* ---- verifications ---- */

fd_err store_verification_latest(fd_store *st, const char *mid, const char *what, int64_t *at,
                                 char *title, size_t n)
{
    sqlite3_stmt *s = store_stmt(st, S_SW_VERIFIED,
                                 "SELECT coalesce(confirmed_at, at) AS t, title FROM steps"
                                 " WHERE migration = ?1 AND verifies = ?2 AND status = 'done'"
                                 " ORDER BY t DESC LIMIT 1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, what);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        *at = sqlite3_column_int64(s, 0);
        store_col_copy(s, 1, title, n);
    } else if (rc == SQLITE_DONE) {
        e = FD_E_NOT_FOUND;
    } else {
        e = store_fail(st, "verification latest");
    }
    sqlite3_reset(s);
    return e;
}
