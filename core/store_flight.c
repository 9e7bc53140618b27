/* store_flight.c - migrations, their teams, dashboards, stages and steps (see store_internal.h).
 *
 * The documents of flight.h are assembled here from rows; the rules in flight.c decide what
 * may change and call the writers below inside a transaction. */
#include "store_sqlite.h"

#include <string.h>

#define STEP_COLS                                                                                  \
    "id, migration, stage, position, title, details, owner_team, command, link,"                   \
    " expected_minutes, critical, status, by_sub, by_name, at, note, version,"                     \
    " confirmed_by_sub, confirmed_by_name, confirmed_at, confirm_note,"                            \
    " switch_name, switch_position, verifies"

/* Set a member whose name is a literal: its length is known and it is ASCII, so jansson's
 * strlen and UTF-8 check of the key are skipped (step documents are built on every tick). */
#define SET(obj, lit, value) json_object_setn_new_nocheck((obj), lit, sizeof(lit) - 1, (value))

/* The Step document of flight.h from a row of STEP_COLS. store_step_row.c writes the same
 * document as text for the step actions: change both together (test_step_row compares them). */
static json_t *step_doc(sqlite3_stmt *s)
{
    json_t *d = json_object();
    SET(d, "id", store_col_int(s, 0));
    SET(d, "migration", store_col_str(s, 1));
    SET(d, "stage", store_col_str(s, 2));
    SET(d, "position", store_col_int(s, 3));
    SET(d, "title", store_col_str(s, 4));
    SET(d, "details", store_col_str(s, 5));
    SET(d, "owner_team", store_col_str(s, 6));
    SET(d, "command", store_col_str(s, 7));
    SET(d, "link", store_col_str(s, 8));
    SET(d, "expected_minutes", store_col_int(s, 9));
    SET(d, "critical", json_boolean(sqlite3_column_int(s, 10)));
    SET(d, "status", store_col_str(s, 11));
    SET(d, "by", store_col_person(s, 12, 13));
    SET(d, "at", store_col_time(s, 14));
    SET(d, "note", store_col_str(s, 15));
    SET(d, "version", store_col_int(s, 16));
    /* a critical step names both people: the one who ticked it (by) and who confirmed it */
    SET(d, "confirmed_by", store_col_person(s, 17, 18));
    SET(d, "confirmed_at", store_col_time(s, 19));
    SET(d, "confirm_note", store_col_str(s, 20));
    /* plans as code (0005): a switch step moves a switch when done; a verification step names
     * what it verifies, for the switch rules */
    if (sqlite3_column_type(s, 21) == SQLITE_NULL)
        SET(d, "switch", json_null());
    else
        SET(d, "switch",
            json_pack("{s:o,s:o}", "name", store_col_str(s, 21), "position", store_col_str(s, 22)));
    SET(d, "verifies", store_col_str(s, 23));
    return d;
}

/* ---- migrations ---- */

fd_err store_mig_head(fd_store *st, const char *mid, fd_mig_head *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = store_stmt(st, S_MIG_HEAD,
                                 "SELECT id, status, current_stage, version,"
                                 " (SELECT count(*) FROM stages WHERE migration = m.id)"
                                 " FROM migrations m WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        store_col_copy(s, 0, out->id, sizeof out->id);
        store_col_copy(s, 1, out->status, sizeof out->status);
        store_col_copy(s, 2, out->current_stage, sizeof out->current_stage);
        out->version = sqlite3_column_int64(s, 3);
        out->nstages = sqlite3_column_int(s, 4);
    } else if (rc == SQLITE_DONE) {
        e = FD_E_NOT_FOUND;
    } else {
        e = store_fail(st, "migration head");
    }
    sqlite3_reset(s);
    return e;
}

/* Bind the plan columns shared by insert and rewrite: ?1 id ... ?6 window_end. */
static void bind_plan(sqlite3_stmt *s, const fd_mig_plan *plan)
{
    store_bind_text(s, 1, plan->id);
    store_bind_text(s, 2, plan->title);
    store_bind_text(s, 3, plan->description);
    store_bind_text(s, 4, plan->owner_team);
    if (plan->has_window) {
        sqlite3_bind_int64(s, 5, plan->window_start);
        sqlite3_bind_int64(s, 6, plan->window_end);
    }
}

fd_err store_mig_insert(fd_store *st, const fd_mig_plan *plan, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_INSERT,
                                 "INSERT INTO migrations (id, title, description, owner_team,"
                                 " window_start, window_end, status, version, created_at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', 1, ?7)");
    if (s == NULL)
        return FD_E_INTERNAL;
    bind_plan(s, plan);
    sqlite3_bind_int64(s, 7, now);
    return store_exec_stmt(st, s, "migration insert");
}

fd_err store_mig_write_plan(fd_store *st, const fd_mig_plan *plan)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_WRITE,
                                 "UPDATE migrations SET title = ?2, description = ?3,"
                                 " owner_team = ?4, window_start = ?5, window_end = ?6"
                                 " WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    bind_plan(s, plan);
    return store_exec_stmt(st, s, "migration write");
}

fd_err store_mig_set_teams(fd_store *st, const char *mid, const json_t *slugs)
{
    sqlite3_stmt *s =
        store_stmt(st, S_MIG_TEAMS_DEL, "DELETE FROM migration_teams WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    if (store_exec_stmt(st, s, "migration teams") != FD_OK)
        return FD_E_INTERNAL;
    size_t i;
    json_t *v;
    json_array_foreach(slugs, i, v)
    {
        s = store_stmt(st, S_MIG_TEAMS_ADD,
                       "INSERT INTO migration_teams (migration, team, position)"
                       " VALUES (?1, ?2, ?3)");
        if (s == NULL)
            return FD_E_INTERNAL;
        store_bind_text(s, 1, mid);
        store_bind_text(s, 2, json_string_value(v));
        sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
        if (store_exec_stmt(st, s, "migration teams") != FD_OK)
            return FD_E_INTERNAL;
    }
    return FD_OK;
}

fd_err store_mig_set_dashboards(fd_store *st, const char *mid, const json_t *dashboards)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_DASH_DEL, "DELETE FROM dashboards WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    if (store_exec_stmt(st, s, "dashboards") != FD_OK)
        return FD_E_INTERNAL;
    size_t i;
    json_t *d;
    json_array_foreach(dashboards, i, d)
    {
        s = store_stmt(st, S_MIG_DASH_ADD,
                       "INSERT INTO dashboards (migration, position, title, url, kind)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)");
        if (s == NULL)
            return FD_E_INTERNAL;
        store_bind_text(s, 1, mid);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
        store_bind_text(s, 3, json_string_value(json_object_get(d, "title")));
        store_bind_text(s, 4, json_string_value(json_object_get(d, "url")));
        store_bind_text(s, 5, json_string_value(json_object_get(d, "kind")));
        if (store_exec_stmt(st, s, "dashboards") != FD_OK)
            return FD_E_INTERNAL;
    }
    return FD_OK;
}

fd_err store_mig_set_state(fd_store *st, const char *mid, const char *status,
                           const char *current_stage, int64_t started_at, int64_t closed_at,
                           const char *abort_reason)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_STATE,
                                 "UPDATE migrations SET status = ?2, current_stage = ?3,"
                                 " started_at = coalesce(?4, started_at),"
                                 " closed_at = coalesce(?5, closed_at),"
                                 " abort_reason = coalesce(?6, abort_reason) WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, status);
    store_bind_text(s, 3, current_stage);
    if (started_at >= 0)
        sqlite3_bind_int64(s, 4, started_at);
    if (closed_at >= 0)
        sqlite3_bind_int64(s, 5, closed_at);
    store_bind_text(s, 6, abort_reason);
    return store_exec_stmt(st, s, "migration state");
}

/* no RETURNING: it costs an ephemeral table per statement, on every mutation's path */
#define MIG_BUMP_SQL "UPDATE migrations SET version = version + 1 WHERE id = ?1"

static fd_err bump(fd_store *st, sqlite3_stmt *s, const char *mid)
{
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    return store_exec_stmt(st, s, "migration bump");
}

fd_err store_mig_bump(fd_store *st, const char *mid)
{
    return bump(st, store_stmt(st, S_MIG_BUMP, MIG_BUMP_SQL), mid);
}

fd_err store_mig_bump_later(fd_store *st, const char *mid)
{
    if (!st->in_tx)
        return store_mig_bump(st, mid);
    for (int i = 0; i < st->nlater_bumps; i++)
        if (strcmp(st->later_bumps[i], mid) == 0)
            return FD_OK;
    size_t n = strlen(mid);
    if (st->nlater_bumps == STORE_LATER_BUMPS || n >= STORE_LATER_BUMP_ID)
        return store_mig_bump(st, mid);
    memcpy(st->later_bumps[st->nlater_bumps++], mid, n + 1);
    return FD_OK;
}

fd_err store_mig_bumps_apply(fd_store *st)
{
    fd_err e = FD_OK;
    for (int i = 0; i < st->nlater_bumps && e == FD_OK; i++) /* no unit is open at a batch's end */
        e = bump(st, store_stmt_write(st, S_MIG_BUMP, MIG_BUMP_SQL), st->later_bumps[i]);
    st->nlater_bumps = 0;
    return e;
}

/* ---- documents ---- */

/* Append the stages of `mid` to doc["stages"], each with a zeroed "progress" (and an empty
 * "steps" when with_steps); index maps key -> stage object (borrowed). */
static fd_err add_stages(fd_store *st, const char *mid, json_t *doc, json_t *index, int with_steps)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_LIST,
                                 "SELECT key, title, position, status, started_at, completed_at"
                                 " FROM stages WHERE migration = ?1 ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    json_t *stages = json_array();
    json_object_set_new(doc, "stages", stages);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *g = json_object();
        json_object_set_new(g, "key", store_col_str(s, 0));
        json_object_set_new(g, "title", store_col_str(s, 1));
        json_object_set_new(g, "position", store_col_int(s, 2));
        json_object_set_new(g, "status", store_col_str(s, 3));
        json_object_set_new(g, "started_at", store_col_time(s, 4));
        json_object_set_new(g, "completed_at", store_col_time(s, 5));
        json_object_set_new(g, "progress",
                            json_pack("{s:i,s:i,s:i,s:i,s:i}", "total", 0, "done", 0, "skipped", 0,
                                      "failed", 0, "pending", 0));
        if (with_steps)
            json_object_set_new(g, "steps", json_array());
        json_array_append_new(stages, g);
        json_object_set(index, (const char *)sqlite3_column_text(s, 0), g);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? FD_OK : store_fail(st, "stage list");
}

/* progress.total += n and progress.<status> += n. A critical step awaiting its second person
 * is not done yet: it counts as pending. */
static void count_progress(json_t *stage, const char *status, json_int_t n)
{
    if (strcmp(status, "awaiting_confirmation") == 0)
        status = "pending";
    json_t *pr = json_object_get(stage, "progress");
    json_t *total = json_object_get(pr, "total");
    json_t *bucket = json_object_get(pr, status);
    json_integer_set(total, json_integer_value(total) + n);
    if (bucket != NULL)
        json_integer_set(bucket, json_integer_value(bucket) + n);
}

static fd_err add_steps(fd_store *st, const char *mid, json_t *index)
{
    sqlite3_stmt *s = store_stmt(st, S_STEP_ALL,
                                 "SELECT " STEP_COLS " FROM steps WHERE migration = ?1"
                                 " ORDER BY stage, position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *g = json_object_get(index, (const char *)sqlite3_column_text(s, 2));
        if (g == NULL)
            continue; /* cannot happen: the foreign key ties steps to stages */
        json_array_append_new(json_object_get(g, "steps"), step_doc(s));
        count_progress(g, (const char *)sqlite3_column_text(s, 11), 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? FD_OK : store_fail(st, "step list");
}

static fd_err add_progress(fd_store *st, const char *mid, json_t *index)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_PROGRESS,
                                 "SELECT stage, status, count(*) FROM steps WHERE migration = ?1"
                                 " GROUP BY stage, status");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *g = json_object_get(index, (const char *)sqlite3_column_text(s, 0));
        if (g != NULL)
            count_progress(g, (const char *)sqlite3_column_text(s, 1), sqlite3_column_int64(s, 2));
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? FD_OK : store_fail(st, "progress");
}

static fd_err add_teams_and_dashboards(fd_store *st, const char *mid, json_t *doc)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_TEAMS_GET,
                                 "SELECT team FROM migration_teams WHERE migration = ?1"
                                 " ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    json_t *teams = json_array();
    json_object_set_new(doc, "teams", teams);
    fd_err e = store_col_strings(st, s, "migration teams", teams);
    if (e != FD_OK)
        return e;
    int rc;

    s = store_stmt(st, S_MIG_DASH_GET,
                   "SELECT title, url, kind FROM dashboards WHERE migration = ?1"
                   " ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    json_t *dash = json_array();
    json_object_set_new(doc, "dashboards", dash);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(dash, json_pack("{s:o,s:o,s:o}", "title", store_col_str(s, 0), "url",
                                              store_col_str(s, 1), "kind", store_col_str(s, 2)));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? FD_OK : store_fail(st, "dashboards");
}

fd_err store_mig_doc(fd_store *st, const char *mid, int with_steps, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_MIG_ROW,
                                 "SELECT id, title, description, owner_team, window_start,"
                                 " window_end, status, current_stage, version, created_at,"
                                 " started_at, closed_at, abort_reason, plan_rev FROM migrations"
                                 " WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? FD_E_NOT_FOUND : store_fail(st, "migration get");
    }
    /* the members in the order flight.h documents them; teams/dashboards/stages filled below */
    json_t *doc = json_object();
    json_object_set_new(doc, "id", store_col_str(s, 0));
    json_object_set_new(doc, "title", store_col_str(s, 1));
    json_object_set_new(doc, "description", store_col_str(s, 2));
    json_object_set_new(doc, "owner_team", store_col_str(s, 3));
    json_object_set_new(doc, "teams", json_null());
    if (sqlite3_column_type(s, 4) == SQLITE_NULL)
        json_object_set_new(doc, "window", json_null());
    else
        json_object_set_new(
            doc, "window",
            json_pack("{s:o,s:o}", "start", store_col_time(s, 4), "end", store_col_time(s, 5)));
    json_object_set_new(doc, "dashboards", json_null());
    json_object_set_new(doc, "status", store_col_str(s, 6));
    json_object_set_new(doc, "current_stage", store_col_str(s, 7));
    json_object_set_new(doc, "version", store_col_int(s, 8));
    json_object_set_new(doc, "plan_rev", store_col_int(s, 13));
    json_object_set_new(doc, "created_at", store_col_time(s, 9));
    json_object_set_new(doc, "started_at", store_col_time(s, 10));
    json_object_set_new(doc, "closed_at", store_col_time(s, 11));
    json_object_set_new(doc, "abort_reason", store_col_str(s, 12));
    sqlite3_reset(s);

    json_t *index = json_object();
    fd_err e = add_teams_and_dashboards(st, mid, doc);
    if (e == FD_OK)
        e = add_stages(st, mid, doc, index, with_steps);
    if (e == FD_OK)
        e = with_steps ? add_steps(st, mid, index) : add_progress(st, mid, index);
    json_decref(index);
    if (e != FD_OK) {
        json_decref(doc);
        return e;
    }
    *out = doc;
    return FD_OK;
}

fd_err store_mig_list(fd_store *st, const char *status, const char *after, int limit,
                      json_t **items)
{
    *items = NULL;
    sqlite3_stmt *s = store_stmt(st, S_MIG_LIST,
                                 "SELECT id FROM migrations WHERE id > ?1"
                                 " AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, after ? after : ""); /* every id sorts after "" */
    store_bind_text(s, 2, status);
    sqlite3_bind_int(s, 3, limit);
    /* collect the ids first: the documents are built with other statements */
    json_t *ids = json_array();
    fd_err e = store_col_strings(st, s, "migration list", ids);
    if (e != FD_OK) {
        json_decref(ids);
        return e;
    }
    json_t *arr = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        json_t *doc = NULL;
        e = store_mig_doc(st, json_string_value(id), 0, &doc);
        if (e != FD_OK) {
            json_decref(ids);
            json_decref(arr);
            return e;
        }
        json_array_append_new(arr, doc);
    }
    json_decref(ids);
    *items = arr;
    return FD_OK;
}

/* ---- stages ---- */

fd_err store_stage_insert(fd_store *st, const char *mid, const char *key, const char *title,
                          int position)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_INSERT,
                                 "INSERT INTO stages (migration, key, title, position, status)"
                                 " VALUES (?1, ?2, ?3, ?4, 'pending')");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, key);
    store_bind_text(s, 3, title);
    sqlite3_bind_int(s, 4, position);
    return store_exec_stmt(st, s, "stage insert");
}

static fd_err stage_row(fd_store *st, sqlite3_stmt *s, fd_stage_row *out)
{
    memset(out, 0, sizeof *out);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        store_col_copy(s, 0, out->key, sizeof out->key);
        out->position = sqlite3_column_int(s, 1);
        store_col_copy(s, 2, out->status, sizeof out->status);
    } else if (rc == SQLITE_DONE) {
        e = FD_E_NOT_FOUND;
    } else {
        e = store_fail(st, "stage get");
    }
    sqlite3_reset(s);
    return e;
}

fd_err store_stage_get(fd_store *st, const char *mid, const char *key, fd_stage_row *out)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_GET,
                                 "SELECT key, position, status FROM stages"
                                 " WHERE migration = ?1 AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, key);
    return stage_row(st, s, out);
}

fd_err store_stage_at(fd_store *st, const char *mid, int position, fd_stage_row *out)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_AT,
                                 "SELECT key, position, status FROM stages"
                                 " WHERE migration = ?1 AND position = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    sqlite3_bind_int(s, 2, position);
    return stage_row(st, s, out);
}

fd_err store_stage_set_title(fd_store *st, const char *mid, const char *key, const char *title)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_TITLE,
                                 "UPDATE stages SET title = ?3 WHERE migration = ?1 AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, key);
    store_bind_text(s, 3, title);
    return store_exec_stmt(st, s, "stage title");
}

fd_err store_stage_set_status(fd_store *st, const char *mid, const char *key, const char *status,
                              int64_t started_at, int64_t completed_at)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_STATUS,
                                 "UPDATE stages SET status = ?3,"
                                 " started_at = coalesce(?4, started_at),"
                                 " completed_at = coalesce(?5, completed_at)"
                                 " WHERE migration = ?1 AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, key);
    store_bind_text(s, 3, status);
    if (started_at >= 0)
        sqlite3_bind_int64(s, 4, started_at);
    if (completed_at >= 0)
        sqlite3_bind_int64(s, 5, completed_at);
    return store_exec_stmt(st, s, "stage status");
}

fd_err store_stage_blocking(fd_store *st, const char *mid, const char *key, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_STAGE_BLOCKING,
                                 "SELECT id, title, status FROM steps WHERE migration = ?1"
                                 " AND stage = ?2 AND status NOT IN ('done', 'skipped')"
                                 " ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, key);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:o,s:o,s:o}", "id", store_col_int(s, 0), "title",
                                             store_col_str(s, 1), "status", store_col_str(s, 2)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "blocking steps");
    }
    *out = arr;
    return FD_OK;
}

fd_err store_stage_step_count(fd_store *st, const char *mid, const char *key, int *count)
{
    *count = 0;
    sqlite3_stmt *s = store_stmt(st, S_STAGE_COUNT,
                                 "SELECT count(*) FROM steps WHERE migration = ?1 AND stage = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, key);
    fd_err e = FD_OK;
    if (sqlite3_step(s) == SQLITE_ROW)
        *count = sqlite3_column_int(s, 0);
    else
        e = store_fail(st, "step count");
    sqlite3_reset(s);
    return e;
}

/* ---- steps ---- */

fd_err store_step_doc(fd_store *st, const char *mid, int64_t sid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(
        st, S_STEP_DOC, "SELECT " STEP_COLS " FROM steps WHERE id = ?1 AND migration = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    store_bind_text(s, 2, mid);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        *out = step_doc(s);
    else if (rc == SQLITE_DONE)
        e = FD_E_NOT_FOUND;
    else
        e = store_fail(st, "step get");
    sqlite3_reset(s);
    return e;
}

/* Bind the plan fields of a StepInput or Step document to ?3..?12. */
static void bind_step_plan(sqlite3_stmt *s, const json_t *in)
{
    const json_t *v;
    store_bind_text(s, 3, json_string_value(json_object_get(in, "title")));
    store_bind_text(s, 4, json_string_value(json_object_get(in, "details")));
    store_bind_text(s, 5, json_string_value(json_object_get(in, "owner_team")));
    store_bind_text(s, 6, json_string_value(json_object_get(in, "command")));
    store_bind_text(s, 7, json_string_value(json_object_get(in, "link")));
    v = json_object_get(in, "expected_minutes");
    if (json_is_integer(v))
        sqlite3_bind_int64(s, 8, json_integer_value(v));
    sqlite3_bind_int(s, 9, json_is_true(json_object_get(in, "critical")));
    const json_t *sw = json_object_get(in, "switch");
    store_bind_text(s, 10, json_string_value(json_object_get(sw, "name")));
    store_bind_text(s, 11, json_string_value(json_object_get(sw, "position")));
    store_bind_text(s, 12, json_string_value(json_object_get(in, "verifies")));
}

fd_err store_step_insert(fd_store *st, const char *mid, const char *stage, const json_t *input,
                         int64_t *sid)
{
    sqlite3_stmt *s = store_stmt(st, S_STEP_INSERT,
                                 "INSERT INTO steps (migration, stage, position, title, details,"
                                 " owner_team, command, link, expected_minutes, critical,"
                                 " switch_name, switch_position, verifies)"
                                 " VALUES (?1, ?2, (SELECT coalesce(max(position), 0) + 1"
                                 " FROM steps WHERE migration = ?1 AND stage = ?2),"
                                 " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    bind_step_plan(s, input);
    return store_insert_stmt(st, s, "step insert", sid);
}

fd_err store_step_write_plan(fd_store *st, int64_t sid, const json_t *step)
{
    sqlite3_stmt *s = store_stmt(st, S_STEP_WRITE,
                                 "UPDATE steps SET title = ?3, details = ?4, owner_team = ?5,"
                                 " command = ?6, link = ?7, expected_minutes = ?8, critical = ?9,"
                                 " switch_name = ?10, switch_position = ?11, verifies = ?12,"
                                 " version = version + 1 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    bind_step_plan(s, step);
    return store_exec_stmt(st, s, "step write");
}

fd_err store_step_set_status(fd_store *st, int64_t sid, const char *status, const char *by_sub,
                             const char *by_name, int64_t at, const char *note)
{
    sqlite3_stmt *s = store_stmt(st, S_STEP_STATUS,
                                 "UPDATE steps SET status = ?2, by_sub = ?3, by_name = ?4,"
                                 " at = ?5, note = ?6, confirmed_by_sub = NULL,"
                                 " confirmed_by_name = NULL, confirmed_at = NULL,"
                                 " confirm_note = NULL, version = version + 1 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    store_bind_text(s, 2, status);
    store_bind_text(s, 3, by_sub);
    store_bind_text(s, 4, by_name);
    sqlite3_bind_int64(s, 5, at);
    store_bind_text(s, 6, note);
    return store_exec_stmt(st, s, "step status");
}

/* Shift the steps with lo <= position <= hi of a stage by `delta` (+1 or -1). */
static fd_err shift_steps(fd_store *st, const char *mid, const char *stage, int lo, int hi,
                          int delta)
{
    sqlite3_stmt *s = delta < 0 ? store_stmt(st, S_STEP_SHIFT_UP,
                                             "UPDATE steps SET position = position - 1,"
                                             " version = version + 1 WHERE migration = ?1"
                                             " AND stage = ?2 AND position BETWEEN ?3 AND ?4")
                                : store_stmt(st, S_STEP_SHIFT_DOWN,
                                             "UPDATE steps SET position = position + 1,"
                                             " version = version + 1 WHERE migration = ?1"
                                             " AND stage = ?2 AND position BETWEEN ?3 AND ?4");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    sqlite3_bind_int(s, 3, lo);
    sqlite3_bind_int(s, 4, hi);
    return store_exec_stmt(st, s, "step shift");
}

fd_err store_step_move(fd_store *st, const char *mid, const char *stage, int64_t sid, int from,
                       int to)
{
    if (from == to)
        return FD_OK;
    fd_err e = to < from ? shift_steps(st, mid, stage, to, from - 1, +1)
                         : shift_steps(st, mid, stage, from + 1, to, -1);
    if (e != FD_OK)
        return e;
    sqlite3_stmt *s = store_stmt(st, S_STEP_SET_POS,
                                 "UPDATE steps SET position = ?2, version = version + 1"
                                 " WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    sqlite3_bind_int(s, 2, to);
    return store_exec_stmt(st, s, "step move");
}

fd_err store_step_delete(fd_store *st, const char *mid, const char *stage, int64_t sid,
                         int position)
{
    sqlite3_stmt *s = store_stmt(st, S_STEP_DELETE, "DELETE FROM steps WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    if (store_exec_stmt(st, s, "step delete") != FD_OK)
        return FD_E_INTERNAL;
    return shift_steps(st, mid, stage, position + 1, 1 << 30, -1);
}

fd_err store_stage_steps(fd_store *st, const char *mid, const char *stage, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_STAGE_STEPS,
                                 "SELECT " STEP_COLS " FROM steps WHERE migration = ?1"
                                 " AND stage = ?2 ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, step_doc(s));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "stage steps");
    }
    *out = arr;
    return FD_OK;
}

fd_err store_step_confirm(fd_store *st, int64_t sid, const char *sub, const char *name, int64_t at,
                          const char *note)
{
    sqlite3_stmt *s = store_stmt(st, S_STEP_CONFIRM,
                                 "UPDATE steps SET status = 'done', confirmed_by_sub = ?2,"
                                 " confirmed_by_name = ?3, confirmed_at = ?4, confirm_note = ?5,"
                                 " version = version + 1 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    store_bind_text(s, 2, sub);
    store_bind_text(s, 3, name);
    sqlite3_bind_int64(s, 4, at);
    store_bind_text(s, 5, note);
    return store_exec_stmt(st, s, "step confirm");
}
