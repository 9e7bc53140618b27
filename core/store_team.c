/* store_team.c - the teams table (see store_internal.h). */
#include "store_sqlite.h"

#define TEAM_COLS "slug, name, channel, created_at, version"

/* The Team document of team.h from a row of TEAM_COLS. */
static json_t *team_doc(sqlite3_stmt *s)
{
    json_t *t = json_object();
    json_object_set_new(t, "slug", store_col_str(s, 0));
    json_object_set_new(t, "name", store_col_str(s, 1));
    json_object_set_new(t, "channel", store_col_str(s, 2));
    json_object_set_new(t, "created_at", store_col_time(s, 3));
    json_object_set_new(t, "version", store_col_int(s, 4));
    return t;
}

fd_err store_team_get(fd_store *st, const char *slug, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, S_TEAM_GET, "SELECT " TEAM_COLS " FROM teams WHERE slug = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, slug);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        *out = team_doc(s);
    else if (rc == SQLITE_DONE)
        e = FD_E_NOT_FOUND;
    else
        e = store_fail(st, "team get");
    sqlite3_reset(s);
    return e;
}

int store_team_exists(fd_store *st, const char *slug)
{
    json_t *t = NULL;
    fd_err e = store_team_get(st, slug, &t);
    json_decref(t);
    return e == FD_OK ? 1 : e == FD_E_NOT_FOUND ? 0 : -1;
}

fd_err store_team_insert(fd_store *st, const char *slug, const char *name, const char *channel,
                         int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, S_TEAM_INSERT,
                                 "INSERT INTO teams (slug, name, channel, created_at, version)"
                                 " VALUES (?1, ?2, ?3, ?4, 1)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, slug);
    store_bind_text(s, 2, name);
    store_bind_text(s, 3, channel);
    sqlite3_bind_int64(s, 4, now);
    return store_exec_stmt(st, s, "team insert");
}

fd_err store_team_update(fd_store *st, const char *slug, const char *name, const char *channel)
{
    sqlite3_stmt *s = store_stmt(st, S_TEAM_UPDATE,
                                 "UPDATE teams SET name = ?2, channel = ?3, version = version + 1"
                                 " WHERE slug = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, slug);
    store_bind_text(s, 2, name);
    store_bind_text(s, 3, channel);
    return store_exec_stmt(st, s, "team update");
}

fd_err store_team_list(fd_store *st, const char *after, int limit, json_t **items)
{
    *items = NULL;
    sqlite3_stmt *s = store_stmt(st, S_TEAM_LIST,
                                 "SELECT " TEAM_COLS " FROM teams WHERE slug > ?1"
                                 " ORDER BY slug LIMIT ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, after ? after : ""); /* every slug sorts after "" */
    sqlite3_bind_int(s, 2, limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, team_doc(s));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_fail(st, "team list");
    }
    *items = arr;
    return FD_OK;
}
