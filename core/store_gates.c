/* store_gates.c - the rows behind gates (see store_internal.h): plan revisions, stage gate
 * settings and sign-off requirements, sign-offs, briefings with their acknowledgements and
 * feedback, gate overrides, and the overdue markers of the flight clock.
 *
 * Only rows and plain documents here; what they mean (stale, satisfied, overdue) is decided in
 * gates.c, briefing.c and flight_time.c. */
#include "store_sqlite.h"

#include <string.h>

/* ---- plan revision ---- */

fd_err store_mig_plan_rev(fd_store *st, const char *mid, int64_t *rev)
{
    *rev = 0;
    sqlite3_stmt *s =
        store_stmt(st, S_MIG_PLAN_REV, "SELECT plan_rev FROM migrations WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        *rev = sqlite3_column_int64(s, 0);
    else
        e = rc == SQLITE_DONE ? FD_E_NOT_FOUND : store_fail(st, "plan_rev");
    sqlite3_reset(s);
    return e;
}

fd_err store_mig_bump_plan_rev(fd_store *st, const char *mid)
{
    sqlite3_stmt *s = store_stmt(st, S_MIG_BUMP_PLAN_REV,
                                 "UPDATE migrations SET plan_rev = plan_rev + 1 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    return store_exec_stmt(st, s, "plan_rev bump");
}

/* ---- stage settings and requirements ---- */

fd_err store_stage_cfg(fd_store *st, const char *mid, const char *stage, fd_stage_cfg *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = store_stmt(st, S_STAGE_CFG,
                                 "SELECT status, allow_shared_signers, expected_minutes,"
                                 " started_at, overdue_at FROM stages"
                                 " WHERE migration = ?1 AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        store_col_copy(s, 0, out->status, sizeof out->status);
        out->allow_shared = sqlite3_column_int(s, 1);
        out->expected_minutes = store_col_int_or(s, 2, -1);
        out->started_at = store_col_int_or(s, 3, -1);
        out->overdue_at = store_col_int_or(s, 4, -1);
    } else {
        e = rc == SQLITE_DONE ? FD_E_NOT_FOUND : store_fail(st, "stage settings");
    }
    sqlite3_reset(s);
    return e;
}

fd_err store_stage_set_cfg(fd_store *st, const char *mid, const char *stage, int allow_shared,
                           int64_t expected_minutes)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_SET_CFG,
                                 "UPDATE stages SET allow_shared_signers = ?3,"
                                 " expected_minutes = ?4 WHERE migration = ?1 AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    sqlite3_bind_int(s, 3, allow_shared ? 1 : 0);
    if (expected_minutes >= 0)
        sqlite3_bind_int64(s, 4, expected_minutes);
    return store_exec_stmt(st, s, "stage settings");
}

fd_err store_stage_reqs(fd_store *st, const char *mid, const char *stage, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_REQS_GET,
                                 "SELECT team, count FROM stage_signoff_reqs"
                                 " WHERE migration = ?1 AND stage = ?2 ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(
            arr, json_pack("{s:o,s:o}", "team", store_col_str(s, 0), "count", store_col_int(s, 1)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "sign-off requirements");
    }
    *out = arr;
    return FD_OK;
}

fd_err store_stage_set_reqs(fd_store *st, const char *mid, const char *stage, const json_t *reqs)
{
    sqlite3_stmt *s = store_stmt(st, S_REQS_DEL,
                                 "DELETE FROM stage_signoff_reqs WHERE migration = ?1"
                                 " AND stage = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    if (store_exec_stmt(st, s, "sign-off requirements") != FD_OK)
        return FD_E_INTERNAL;
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        s = store_stmt(st, S_REQS_ADD,
                       "INSERT INTO stage_signoff_reqs (migration, stage, team, position, count)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)");
        if (s == NULL)
            return FD_E_INTERNAL;
        store_bind_text(s, 1, mid);
        store_bind_text(s, 2, stage);
        store_bind_text(s, 3, json_string_value(json_object_get(r, "team")));
        sqlite3_bind_int64(s, 4, (sqlite3_int64)i);
        sqlite3_bind_int64(s, 5, json_integer_value(json_object_get(r, "count")));
        if (store_exec_stmt(st, s, "sign-off requirements") != FD_OK)
            return FD_E_INTERNAL;
    }
    return FD_OK;
}

/* ---- sign-offs ---- */

fd_err store_signoff_insert(fd_store *st, const fd_signoff_in *in, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, S_SIGNOFF_INSERT,
                                 "INSERT INTO signoffs (migration, stage, team, sub, name,"
                                 " decision, comment, override_reason, stage_hash, at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, in->mid);
    store_bind_text(s, 2, in->stage);
    store_bind_text(s, 3, in->team);
    store_bind_text(s, 4, in->sub);
    store_bind_text(s, 5, in->name);
    store_bind_text(s, 6, in->decision);
    store_bind_text(s, 7, in->comment);
    store_bind_text(s, 8, in->override_reason);
    store_bind_text(s, 9, in->stage_hash);
    sqlite3_bind_int64(s, 10, in->at);
    return store_insert_stmt(st, s, "sign-off insert", id);
}

fd_err store_signoffs(fd_store *st, const char *mid, const char *stage, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_SIGNOFF_LIST,
                                 "SELECT id, stage, team, sub, name, decision, comment,"
                                 " override_reason, at, stage_hash FROM signoffs"
                                 " WHERE migration = ?1 AND stage = ?2 ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *d = json_object();
        json_object_set_new(d, "id", store_col_int(s, 0));
        json_object_set_new(d, "stage", store_col_str(s, 1));
        json_object_set_new(d, "team", store_col_str(s, 2));
        json_object_set_new(d, "by", store_col_person(s, 3, 4));
        json_object_set_new(d, "decision", store_col_str(s, 5));
        json_object_set_new(d, "comment", store_col_str(s, 6));
        json_object_set_new(d, "override_reason", store_col_str(s, 7));
        json_object_set_new(d, "at", store_col_time(s, 8));
        json_object_set_new(d, "stage_hash", store_col_str(s, 9));
        json_array_append_new(arr, d);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "sign-offs");
    }
    *out = arr;
    return FD_OK;
}

/* ---- briefings ---- */

fd_err store_briefing_insert(fd_store *st, const char *mid, const char *title, int64_t at,
                             const char *notes, const char *by_sub, const char *by_name,
                             int64_t now, const json_t *teams, int64_t *bid)
{
    sqlite3_stmt *s = store_stmt(st, S_BRIEFING_INSERT,
                                 "INSERT INTO briefings (migration, title, at, notes, by_sub,"
                                 " by_name, created_at, version)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, title);
    sqlite3_bind_int64(s, 3, at);
    store_bind_text(s, 4, notes);
    store_bind_text(s, 5, by_sub);
    store_bind_text(s, 6, by_name);
    sqlite3_bind_int64(s, 7, now);
    if (store_insert_stmt(st, s, "briefing insert", bid) != FD_OK)
        return FD_E_INTERNAL;
    size_t i;
    json_t *t;
    json_array_foreach(teams, i, t)
    {
        s = store_stmt(st, S_BRIEFING_TEAM_ADD,
                       "INSERT INTO briefing_teams (briefing, team, position) VALUES (?1, ?2, ?3)");
        if (s == NULL)
            return FD_E_INTERNAL;
        sqlite3_bind_int64(s, 1, *bid);
        store_bind_text(s, 2, json_string_value(t));
        sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
        if (store_exec_stmt(st, s, "briefing teams") != FD_OK)
            return FD_E_INTERNAL;
    }
    return FD_OK;
}

#define FEEDBACK_COLS                                                                              \
    "id, briefing, text, by_sub, by_name, at, resolution, resolved_by_sub, resolved_by_name,"      \
    " resolved_at, step_id, version"

static json_t *feedback_doc(sqlite3_stmt *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", store_col_int(s, 0));
    json_object_set_new(d, "briefing", store_col_int(s, 1));
    json_object_set_new(d, "text", store_col_str(s, 2));
    json_object_set_new(d, "by", store_col_person(s, 3, 4));
    json_object_set_new(d, "at", store_col_time(s, 5));
    json_object_set_new(d, "resolved", json_boolean(sqlite3_column_type(s, 9) != SQLITE_NULL));
    json_object_set_new(d, "resolution", store_col_str(s, 6));
    json_object_set_new(d, "resolved_by", store_col_person(s, 7, 8));
    json_object_set_new(d, "resolved_at", store_col_time(s, 9));
    json_object_set_new(d, "step_id", store_col_int(s, 10));
    json_object_set_new(d, "version", store_col_int(s, 11));
    return d;
}

fd_err store_feedback_list(fd_store *st, const char *mid, int64_t bid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_FEEDBACK_LIST,
                                 "SELECT " FEEDBACK_COLS " FROM briefing_feedback"
                                 " WHERE migration = ?1 AND briefing = ?2 ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    sqlite3_bind_int64(s, 2, bid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, feedback_doc(s));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "feedback list");
    }
    *out = arr;
    return FD_OK;
}

/* Fill doc["teams"] and doc["acks"] of briefing bid. */
static fd_err briefing_children(fd_store *st, int64_t bid, json_t *doc)
{
    sqlite3_stmt *s = store_stmt(st, S_BRIEFING_TEAMS,
                                 "SELECT team FROM briefing_teams WHERE briefing = ?1"
                                 " ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, bid);
    json_t *teams = json_array();
    json_object_set_new(doc, "teams", teams);
    fd_err e = store_col_strings(st, s, "briefing teams", teams);
    if (e != FD_OK)
        return e;
    int rc;

    s = store_stmt(st, S_BRIEFING_ACKS,
                   "SELECT id, team, sub, name, comment, plan_rev, at FROM briefing_acks"
                   " WHERE briefing = ?1 ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, bid);
    json_t *acks = json_array();
    json_object_set_new(doc, "acks", acks);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(acks, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                                              store_col_int(s, 0), "team", store_col_str(s, 1),
                                              "by", store_col_person(s, 2, 3), "comment",
                                              store_col_str(s, 4), "plan_rev", store_col_int(s, 5),
                                              "at", store_col_time(s, 6)));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? FD_OK : store_fail(st, "briefing acks");
}

fd_err store_briefing_doc(fd_store *st, const char *mid, int64_t bid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_BRIEFING_ROW,
                                 "SELECT id, migration, title, at, notes, by_sub, by_name,"
                                 " created_at, version FROM briefings"
                                 " WHERE id = ?1 AND migration = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, bid);
    store_bind_text(s, 2, mid);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? FD_E_NOT_FOUND : store_fail(st, "briefing get");
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "id", store_col_int(s, 0));
    json_object_set_new(doc, "migration", store_col_str(s, 1));
    json_object_set_new(doc, "title", store_col_str(s, 2));
    json_object_set_new(doc, "at", store_col_time(s, 3));
    json_object_set_new(doc, "notes", store_col_str(s, 4));
    json_object_set_new(doc, "teams", json_null());
    json_object_set_new(doc, "by", store_col_person(s, 5, 6));
    json_object_set_new(doc, "created_at", store_col_time(s, 7));
    json_object_set_new(doc, "version", store_col_int(s, 8));
    sqlite3_reset(s);
    json_t *feedback = NULL;
    fd_err e = briefing_children(st, bid, doc);
    if (e == FD_OK)
        e = store_feedback_list(st, mid, bid, &feedback);
    if (e != FD_OK) {
        json_decref(doc);
        return e;
    }
    json_object_set_new(doc, "feedback", feedback);
    *out = doc;
    return FD_OK;
}

fd_err store_briefing_list(fd_store *st, const char *mid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s =
        store_stmt(st, S_BRIEFING_IDS, "SELECT id FROM briefings WHERE migration = ?1 ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    /* ids first: each document is built with other statements */
    json_t *ids = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(ids, store_col_int(s, 0));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(ids);
        return store_fail(st, "briefing list");
    }
    json_t *arr = json_array();
    size_t i;
    json_t *id;
    fd_err e = FD_OK;
    json_array_foreach(ids, i, id)
    {
        json_t *doc = NULL;
        e = store_briefing_doc(st, mid, json_integer_value(id), &doc);
        if (e != FD_OK)
            break;
        json_array_append_new(arr, doc);
    }
    json_decref(ids);
    if (e != FD_OK) {
        json_decref(arr);
        return e;
    }
    *out = arr;
    return FD_OK;
}

fd_err store_briefing_bump(fd_store *st, int64_t bid)
{
    sqlite3_stmt *s =
        store_stmt(st, S_BRIEFING_BUMP, "UPDATE briefings SET version = version + 1 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, bid);
    return store_exec_stmt(st, s, "briefing bump");
}

fd_err store_briefing_count(fd_store *st, const char *mid, int64_t *count)
{
    *count = 0;
    sqlite3_stmt *s =
        store_stmt(st, S_BRIEFING_COUNT, "SELECT count(*) FROM briefings WHERE migration = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    fd_err e = FD_OK;
    if (sqlite3_step(s) == SQLITE_ROW)
        *count = sqlite3_column_int64(s, 0);
    else
        e = store_fail(st, "briefing count");
    sqlite3_reset(s);
    return e;
}

fd_err store_ack_insert(fd_store *st, const char *mid, int64_t bid, const char *team,
                        const char *sub, const char *name, const char *comment, int64_t plan_rev,
                        int64_t at)
{
    sqlite3_stmt *s = store_stmt(st, S_ACK_INSERT,
                                 "INSERT INTO briefing_acks (briefing, migration, team, sub, name,"
                                 " comment, plan_rev, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, bid);
    store_bind_text(s, 2, mid);
    store_bind_text(s, 3, team);
    store_bind_text(s, 4, sub);
    store_bind_text(s, 5, name);
    store_bind_text(s, 6, comment);
    sqlite3_bind_int64(s, 7, plan_rev);
    sqlite3_bind_int64(s, 8, at);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        e = FD_E_EXISTS; /* this person already acknowledged this revision for this team */
    else if (rc != SQLITE_DONE)
        e = store_fail(st, "ack insert");
    sqlite3_reset(s);
    return e;
}

fd_err store_ack_status(fd_store *st, const char *mid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_ACK_STATUS,
                                 "SELECT t.team, count(a.id), max(a.plan_rev)"
                                 " FROM migration_teams t LEFT JOIN briefing_acks a"
                                 " ON a.migration = t.migration AND a.team = t.team"
                                 " WHERE t.migration = ?1 GROUP BY t.team, t.position"
                                 " ORDER BY t.position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr,
                              json_pack("{s:o,s:o,s:o}", "team", store_col_str(s, 0), "acks",
                                        store_col_int(s, 1), "latest_rev", store_col_int(s, 2)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "ack status");
    }
    *out = arr;
    return FD_OK;
}

/* ---- feedback ---- */

fd_err store_feedback_insert(fd_store *st, const char *mid, int64_t bid, const char *text,
                             const char *sub, const char *name, int64_t at, int64_t *fid)
{
    sqlite3_stmt *s = store_stmt(st, S_FEEDBACK_INSERT,
                                 "INSERT INTO briefing_feedback (briefing, migration, text,"
                                 " by_sub, by_name, at, version)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, bid);
    store_bind_text(s, 2, mid);
    store_bind_text(s, 3, text);
    store_bind_text(s, 4, sub);
    store_bind_text(s, 5, name);
    sqlite3_bind_int64(s, 6, at);
    return store_insert_stmt(st, s, "feedback insert", fid);
}

fd_err store_feedback_doc(fd_store *st, const char *mid, int64_t bid, int64_t fid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_FEEDBACK_GET,
                                 "SELECT " FEEDBACK_COLS " FROM briefing_feedback"
                                 " WHERE id = ?1 AND briefing = ?2 AND migration = ?3");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, fid);
    sqlite3_bind_int64(s, 2, bid);
    store_bind_text(s, 3, mid);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        *out = feedback_doc(s);
    else
        e = rc == SQLITE_DONE ? FD_E_NOT_FOUND : store_fail(st, "feedback get");
    sqlite3_reset(s);
    return e;
}

fd_err store_feedback_resolve(fd_store *st, int64_t fid, const char *resolution, const char *sub,
                              const char *name, int64_t at, int64_t step_id)
{
    sqlite3_stmt *s = store_stmt(st, S_FEEDBACK_RESOLVE,
                                 "UPDATE briefing_feedback SET resolution = ?2,"
                                 " resolved_by_sub = ?3, resolved_by_name = ?4, resolved_at = ?5,"
                                 " step_id = ?6, version = version + 1 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, fid);
    store_bind_text(s, 2, resolution);
    store_bind_text(s, 3, sub);
    store_bind_text(s, 4, name);
    sqlite3_bind_int64(s, 5, at);
    if (step_id >= 0)
        sqlite3_bind_int64(s, 6, step_id);
    return store_exec_stmt(st, s, "feedback resolve");
}

fd_err store_feedback_open(fd_store *st, const char *mid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_FEEDBACK_OPEN,
                                 "SELECT id, text FROM briefing_feedback"
                                 " WHERE migration = ?1 AND resolved_at IS NULL ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(
            arr, json_pack("{s:o,s:o}", "id", store_col_int(s, 0), "text", store_col_str(s, 1)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "open feedback");
    }
    *out = arr;
    return FD_OK;
}

/* ---- gate overrides ---- */

fd_err store_override_insert(fd_store *st, const char *mid, const char *kind, const char *stage,
                             const char *reason, const char *missing, const char *sub,
                             const char *name, int64_t at)
{
    sqlite3_stmt *s = store_stmt(st, S_OVERRIDE_INSERT,
                                 "INSERT INTO gate_overrides (migration, kind, stage, reason,"
                                 " missing, by_sub, by_name, at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, kind);
    store_bind_text(s, 3, stage);
    store_bind_text(s, 4, reason);
    store_bind_text(s, 5, missing);
    store_bind_text(s, 6, sub);
    store_bind_text(s, 7, name);
    sqlite3_bind_int64(s, 8, at);
    return store_exec_stmt(st, s, "override insert");
}

fd_err store_overrides(fd_store *st, const char *mid, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_OVERRIDE_LIST,
                                 "SELECT kind, stage, reason, missing, by_sub, by_name, at"
                                 " FROM gate_overrides WHERE migration = ?1 ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        /* written by us as JSON; an unreadable value would be a bug, shown as null */
        const char *text = (const char *)sqlite3_column_text(s, 3);
        json_t *missing = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        json_array_append_new(arr,
                              json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "kind", store_col_str(s, 0),
                                        "stage", store_col_str(s, 1), "reason", store_col_str(s, 2),
                                        "missing", missing ? missing : json_null(), "by",
                                        store_col_person(s, 4, 5), "at", store_col_time(s, 6)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "overrides");
    }
    *out = arr;
    return FD_OK;
}

/* ---- the flight clock ---- */

fd_err store_timing_steps(fd_store *st, const char *mid, const char *stage, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_TIMING_STEPS,
                                 "SELECT id, title, status, expected_minutes, overdue_at"
                                 " FROM steps WHERE migration = ?1 AND stage = ?2"
                                 " ORDER BY position");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr,
                              json_pack("{s:o,s:o,s:o,s:o,s:b}", "id", store_col_int(s, 0), "title",
                                        store_col_str(s, 1), "status", store_col_str(s, 2),
                                        "expected_minutes", store_col_int(s, 3), "overdue",
                                        sqlite3_column_type(s, 4) != SQLITE_NULL));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "timing steps");
    }
    *out = arr;
    return FD_OK;
}

fd_err store_active_flights(fd_store *st, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_ACTIVE_FLIGHTS,
                                 "SELECT id, current_stage FROM migrations"
                                 " WHERE status IN ('in_flight', 'landed')"
                                 " AND current_stage IS NOT NULL ORDER BY id");
    if (s == NULL)
        return FD_E_INTERNAL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(
            arr, json_pack("{s:o,s:o}", "id", store_col_str(s, 0), "stage", store_col_str(s, 1)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "active flights");
    }
    *out = arr;
    return FD_OK;
}

fd_err store_step_mark_overdue(fd_store *st, int64_t sid, int64_t at)
{
    sqlite3_stmt *s =
        store_stmt(st, S_STEP_OVERDUE, "UPDATE steps SET overdue_at = ?2 WHERE id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    sqlite3_bind_int64(s, 2, at);
    return store_exec_stmt(st, s, "step overdue");
}

fd_err store_stage_mark_overdue(fd_store *st, const char *mid, const char *stage, int64_t at)
{
    sqlite3_stmt *s = store_stmt(st, S_STAGE_OVERDUE,
                                 "UPDATE stages SET overdue_at = ?3 WHERE migration = ?1"
                                 " AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    store_bind_text(s, 2, stage);
    sqlite3_bind_int64(s, 3, at);
    return store_exec_stmt(st, s, "stage overdue");
}
