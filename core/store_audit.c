/* store_audit.c - the audit table: chain heads, appends, and keyset pages (see
 * store_internal.h). Rows are append-only; triggers in the schema refuse UPDATE and DELETE. */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

fd_err store_audit_prev_hash(fd_store *st, const char *migration, char out[65])
{
    memset(out, '0', 64);
    out[64] = '\0';
    /* "IS" so that a NULL migration finds the global chain */
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_PREV,
                                 "SELECT hash FROM audit WHERE migration IS ?1"
                                 " ORDER BY seq DESC LIMIT 1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, migration);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        store_col_copy(s, 0, out, 65);
    else if (rc != SQLITE_DONE)
        e = store_fail(st, "audit prev hash");
    sqlite3_reset(s);
    return e;
}

fd_err store_audit_next_seq(fd_store *st, int64_t *seq)
{
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_NEXT, "SELECT coalesce(max(seq), 0) + 1 FROM audit");
    if (s == NULL)
        return FD_E_INTERNAL;
    fd_err e = FD_OK;
    if (sqlite3_step(s) == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    else
        e = store_fail(st, "audit next seq");
    sqlite3_reset(s);
    return e;
}

fd_err store_audit_insert(fd_store *st, int64_t seq, const char *migration, int64_t at,
                          const char *action, const char *prev_hash, const char *hash,
                          const char *event, size_t len)
{
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_INSERT,
                                 "INSERT INTO audit (seq, migration, at, action, prev_hash, hash,"
                                 " event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, seq);
    store_bind_text(s, 2, migration);
    sqlite3_bind_int64(s, 3, at);
    store_bind_text(s, 4, action);
    store_bind_text(s, 5, prev_hash);
    store_bind_text(s, 6, hash);
    sqlite3_bind_text(s, 7, event, (int)len, SQLITE_TRANSIENT);
    if (store_exec_stmt(st, s, "audit insert") != FD_OK)
        return FD_E_INTERNAL;
    return store_queue_event(st, seq, migration, action, event, len);
}

int64_t store_audit_last_seq(fd_store *st)
{
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_LAST, "SELECT coalesce(max(seq), 0) FROM audit");
    if (s == NULL)
        return 0;
    int64_t seq = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

#define PAGE_COLS "seq, migration, action, prev_hash, hash, event"

fd_err store_audit_page(fd_store *st, store_audit_scope scope, const char *mid, int64_t after,
                        int64_t until, int limit, int (*fn)(void *arg, const store_audit_row *row),
                        void *arg, int *count)
{
    *count = 0;
    sqlite3_stmt *s;
    switch (scope) {
    case STORE_AUDIT_MIGRATION:
        s = store_stmt(st, S_AUDIT_PAGE_MIG,
                       "SELECT " PAGE_COLS " FROM audit WHERE migration = ?3"
                       " AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?4");
        break;
    case STORE_AUDIT_MIGRATION_WALK:
        /* "+migration": the unary plus keeps the planner off the audit_migration index, so the
         * rows come from the table itself in rowid (seq) order */
        s = store_stmt(st, S_AUDIT_PAGE_WALK,
                       "SELECT " PAGE_COLS " FROM audit WHERE +migration = ?3"
                       " AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?4");
        break;
    case STORE_AUDIT_GLOBAL:
        s = store_stmt(st, S_AUDIT_PAGE_GLOBAL,
                       "SELECT " PAGE_COLS " FROM audit WHERE migration IS NULL"
                       " AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?4");
        break;
    default:
        s = store_stmt(st, S_AUDIT_PAGE_ALL,
                       "SELECT " PAGE_COLS " FROM audit WHERE seq > ?1 AND seq <= ?2"
                       " ORDER BY seq LIMIT ?4");
        break;
    }
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, until);
    if (scope == STORE_AUDIT_MIGRATION || scope == STORE_AUDIT_MIGRATION_WALK)
        store_bind_text(s, 3, mid);
    sqlite3_bind_int(s, 4, limit);
    int rc;
    fd_err e = FD_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_audit_row row = {
            .seq = sqlite3_column_int64(s, 0),
            .migration = (const char *)sqlite3_column_text(s, 1),
            .action = (const char *)sqlite3_column_text(s, 2),
            .prev_hash = (const char *)sqlite3_column_text(s, 3),
            .hash = (const char *)sqlite3_column_text(s, 4),
            .event = (const char *)sqlite3_column_text(s, 5),
        };
        row.len = (size_t)sqlite3_column_bytes(s, 5);
        (*count)++;
        int r = fn(arg, &row);
        if (r < 0) {
            snprintf(st->last_error, sizeof st->last_error, "audit page: the reader failed");
            e = FD_E_INTERNAL;
            break;
        }
        if (r > 0) { /* the reader has enough for now */
            rc = SQLITE_DONE;
            break;
        }
    }
    if (e == FD_OK && rc != SQLITE_DONE)
        e = store_fail(st, "audit page");
    sqlite3_reset(s);
    return e;
}
