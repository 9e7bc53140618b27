/* store_rollback.c - the rollback PR of each migration and the go-arounds asked for (see
 * store_rollback.h). Rows come back as C structs: the rules in rollback.c and goaround.c decide
 * on them and build the documents. */
#include "store_rollback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"

const fd_github *store_github(fd_store *st)
{
    return st->ports.github;
}

void store_rollback_row_clear(fd_rollback_row *row)
{
    json_decref(row->check_reasons);
    row->check_reasons = NULL;
}

/* Bind text, or NULL for "". */
static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    store_bind_text(s, i, v != NULL && v[0] != '\0' ? v : NULL);
}

/* ---- rollbacks ---- */

#define RB_COLS                                                                                    \
    "migration, repo, pr, merge_method, requires_second_lead, title, url, approved_sha,"           \
    " armed_by_sub, armed_by_name, armed_at, check_armed, check_head_sha, check_reasons,"          \
    " checked_at, used_by"

fd_err store_rollback_get(fd_store *st, const char *mid, fd_rollback_row *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s =
        store_stmt(st, S_RB_GET, "SELECT " RB_COLS " FROM rollbacks WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        store_col_copy(s, 0, out->migration, sizeof out->migration);
        store_col_copy(s, 1, out->repo, sizeof out->repo);
        out->pr = sqlite3_column_int64(s, 2);
        store_col_copy(s, 3, out->merge_method, sizeof out->merge_method);
        out->requires_second_lead = sqlite3_column_int(s, 4);
        store_col_copy(s, 5, out->title, sizeof out->title);
        store_col_copy(s, 6, out->url, sizeof out->url);
        store_col_copy(s, 7, out->approved_sha, sizeof out->approved_sha);
        store_col_copy(s, 8, out->armed_by_sub, sizeof out->armed_by_sub);
        store_col_copy(s, 9, out->armed_by_name, sizeof out->armed_by_name);
        out->armed_at = sqlite3_column_int64(s, 10);
        out->check_armed = sqlite3_column_int(s, 11);
        store_col_copy(s, 12, out->check_head_sha, sizeof out->check_head_sha);
        const char *reasons = (const char *)sqlite3_column_text(s, 13);
        out->check_reasons = reasons != NULL ? json_loads(reasons, 0, NULL) : NULL;
        if (!json_is_array(out->check_reasons)) {
            json_decref(out->check_reasons);
            out->check_reasons = json_array();
        }
        out->checked_at = store_col_int_or(s, 14, -1);
        out->used_by = store_col_int_or(s, 15, -1);
    } else if (rc == SQLITE_DONE) {
        e = FD_E_NOT_FOUND;
    } else {
        e = store_fail(st, "rollback get");
    }
    sqlite3_reset(s);
    return e;
}

fd_err store_rollback_put(fd_store *st, const fd_rollback_row *row)
{
    sqlite3_stmt *s = store_stmt(st, S_RB_PUT,
                                 "INSERT OR REPLACE INTO rollbacks (" RB_COLS ") VALUES (?1, ?2,"
                                 " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    if (s == NULL)
        return FD_E_INTERNAL;
    char *reasons =
        json_dumps(row->check_reasons ? row->check_reasons : json_array(), JSON_COMPACT);
    if (reasons == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, row->migration);
    store_bind_text(s, 2, row->repo);
    sqlite3_bind_int64(s, 3, row->pr);
    store_bind_text(s, 4, row->merge_method);
    sqlite3_bind_int(s, 5, row->requires_second_lead ? 1 : 0);
    store_bind_text(s, 6, row->title);
    store_bind_text(s, 7, row->url);
    store_bind_text(s, 8, row->approved_sha);
    store_bind_text(s, 9, row->armed_by_sub);
    store_bind_text(s, 10, row->armed_by_name);
    sqlite3_bind_int64(s, 11, row->armed_at);
    sqlite3_bind_int(s, 12, row->check_armed ? 1 : 0);
    bind_text_or_null(s, 13, row->check_head_sha);
    store_bind_text(s, 14, reasons);
    store_bind_int_or_null(s, 15, row->checked_at);
    store_bind_int_or_null(s, 16, row->used_by);
    free(reasons);
    return store_exec_stmt(st, s, "rollback put");
}

fd_err store_rollback_set_check(fd_store *st, const char *mid, int armed, const char *head_sha,
                                const json_t *reasons, int64_t at)
{
    sqlite3_stmt *s = store_stmt(st, S_RB_CHECK,
                                 "UPDATE rollbacks SET check_armed = ?2,"
                                 " check_head_sha = coalesce(?3, check_head_sha),"
                                 " check_reasons = ?4, checked_at = ?5 WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    char *text = json_dumps(reasons, JSON_COMPACT);
    if (text == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    sqlite3_bind_int(s, 2, armed ? 1 : 0);
    bind_text_or_null(s, 3, head_sha);
    store_bind_text(s, 4, text);
    sqlite3_bind_int64(s, 5, at);
    free(text);
    return store_exec_stmt(st, s, "rollback check");
}

fd_err store_rollback_set_used(fd_store *st, const char *mid, int64_t gid)
{
    sqlite3_stmt *s = store_stmt(st, S_RB_USED,
                                 "UPDATE rollbacks SET used_by = ?2, check_armed = 0"
                                 " WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    sqlite3_bind_int64(s, 2, gid);
    return store_exec_stmt(st, s, "rollback used");
}

fd_err store_rollback_due(fd_store *st, int64_t before, int limit, json_t **mids)
{
    *mids = NULL;
    sqlite3_stmt *s = store_stmt(st, S_RB_DUE,
                                 "SELECT r.migration FROM rollbacks r JOIN migrations m"
                                 " ON m.id = r.migration"
                                 " WHERE m.status IN ('in_flight', 'landed') AND r.used_by IS NULL"
                                 " AND (r.checked_at IS NULL OR r.checked_at < ?1)"
                                 " ORDER BY coalesce(r.checked_at, 0), r.migration LIMIT ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, before);
    sqlite3_bind_int(s, 2, limit);
    json_t *arr = json_array();
    fd_err e = store_col_strings(st, s, "rollback due", arr);
    if (e != FD_OK) {
        json_decref(arr);
        return e;
    }
    *mids = arr;
    return FD_OK;
}

/* ---- go-arounds ---- */

#define GA_COLS                                                                                    \
    "id, migration, state, reason, repo, pr, approved_sha, requested_by_sub, requested_by_name,"   \
    " requested_at, expires_at, confirmed_by_sub, confirmed_by_name, confirmed_at, stage,"         \
    " prior_status, merge_sha, outcome, detail, finished_at"

static void goaround_row(sqlite3_stmt *s, fd_goaround_row *g)
{
    memset(g, 0, sizeof *g);
    g->id = sqlite3_column_int64(s, 0);
    store_col_copy(s, 1, g->migration, sizeof g->migration);
    store_col_copy(s, 2, g->state, sizeof g->state);
    store_col_copy(s, 3, g->reason, sizeof g->reason);
    store_col_copy(s, 4, g->repo, sizeof g->repo);
    g->pr = sqlite3_column_int64(s, 5);
    store_col_copy(s, 6, g->approved_sha, sizeof g->approved_sha);
    store_col_copy(s, 7, g->requested_by_sub, sizeof g->requested_by_sub);
    store_col_copy(s, 8, g->requested_by_name, sizeof g->requested_by_name);
    g->requested_at = sqlite3_column_int64(s, 9);
    g->expires_at = store_col_int_or(s, 10, -1);
    store_col_copy(s, 11, g->confirmed_by_sub, sizeof g->confirmed_by_sub);
    store_col_copy(s, 12, g->confirmed_by_name, sizeof g->confirmed_by_name);
    g->confirmed_at = store_col_int_or(s, 13, -1);
    store_col_copy(s, 14, g->stage, sizeof g->stage);
    store_col_copy(s, 15, g->prior_status, sizeof g->prior_status);
    store_col_copy(s, 16, g->merge_sha, sizeof g->merge_sha);
    store_col_copy(s, 17, g->outcome, sizeof g->outcome);
    store_col_copy(s, 18, g->detail, sizeof g->detail);
    g->finished_at = store_col_int_or(s, 19, -1);
}

fd_err store_goaround_insert(fd_store *st, const fd_goaround_row *g, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, S_GA_INSERT,
                                 "INSERT INTO go_arounds (migration, state, reason, repo, pr,"
                                 " approved_sha, requested_by_sub, requested_by_name, requested_at,"
                                 " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, g->migration);
    store_bind_text(s, 2, g->state);
    store_bind_text(s, 3, g->reason);
    store_bind_text(s, 4, g->repo);
    sqlite3_bind_int64(s, 5, g->pr);
    store_bind_text(s, 6, g->approved_sha);
    store_bind_text(s, 7, g->requested_by_sub);
    store_bind_text(s, 8, g->requested_by_name);
    sqlite3_bind_int64(s, 9, g->requested_at);
    store_bind_int_or_null(s, 10, g->expires_at);
    return store_insert_stmt(st, s, "go-around insert", id);
}

fd_err store_goaround_update(fd_store *st, const fd_goaround_row *g)
{
    sqlite3_stmt *s = store_stmt(st, S_GA_UPDATE,
                                 "UPDATE go_arounds SET state = ?2, confirmed_by_sub = ?3,"
                                 " confirmed_by_name = ?4, confirmed_at = ?5, stage = ?6,"
                                 " prior_status = ?7, merge_sha = ?8, outcome = ?9, detail = ?10,"
                                 " finished_at = ?11 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, g->id);
    store_bind_text(s, 2, g->state);
    bind_text_or_null(s, 3, g->confirmed_by_sub);
    bind_text_or_null(s, 4, g->confirmed_by_name);
    store_bind_int_or_null(s, 5, g->confirmed_at);
    bind_text_or_null(s, 6, g->stage);
    bind_text_or_null(s, 7, g->prior_status);
    bind_text_or_null(s, 8, g->merge_sha);
    bind_text_or_null(s, 9, g->outcome);
    bind_text_or_null(s, 10, g->detail);
    store_bind_int_or_null(s, 11, g->finished_at);
    return store_exec_stmt(st, s, "go-around update");
}

/* Step a prepared SELECT of GA_COLS that yields at most one row. */
static fd_err one_goaround(fd_store *st, sqlite3_stmt *s, fd_goaround_row *out, const char *what)
{
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        goaround_row(s, out);
    else if (rc == SQLITE_DONE)
        e = FD_E_NOT_FOUND;
    else
        e = store_fail(st, what);
    sqlite3_reset(s);
    return e;
}

fd_err store_goaround_get(fd_store *st, const char *mid, int64_t id, fd_goaround_row *out)
{
    sqlite3_stmt *s = store_stmt(st, S_GA_GET,
                                 "SELECT " GA_COLS " FROM go_arounds WHERE migration = ?1"
                                 " AND id = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    sqlite3_bind_int64(s, 2, id);
    return one_goaround(st, s, out, "go-around get");
}

fd_err store_goaround_latest(fd_store *st, const char *mid, const char *state, fd_goaround_row *out)
{
    sqlite3_stmt *s = store_stmt(st, S_GA_LATEST,
                                 "SELECT " GA_COLS " FROM go_arounds WHERE migration = ?1"
                                 " AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT 1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, state);
    return one_goaround(st, s, out, "go-around latest");
}
