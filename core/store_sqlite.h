/*
 * store_sqlite.h - the inside of the SQLite store, shared by core/store*.c and nobody else.
 *
 * Statements are prepared once, on first use, and kept in st->stmts[] until store_close: each
 * call site names its slot and its SQL together (store_stmt(st, S_TEAM_GET, "SELECT ...")), so
 * the SQL stays next to the code that binds it.
 */
#ifndef FD_STORE_SQLITE_H
#define FD_STORE_SQLITE_H

#include <jansson.h>
#include <sqlite3.h>

#include "store_internal.h"

enum store_stmt_id {
    /* store.c */
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_IDEM_GET,
    S_IDEM_PUT,
    /* store_team.c */
    S_TEAM_GET,
    S_TEAM_INSERT,
    S_TEAM_UPDATE,
    S_TEAM_LIST,
    /* store_flight.c */
    S_MIG_HEAD,
    S_MIG_INSERT,
    S_MIG_WRITE,
    S_MIG_TEAMS_DEL,
    S_MIG_TEAMS_ADD,
    S_MIG_TEAMS_GET,
    S_MIG_DASH_DEL,
    S_MIG_DASH_ADD,
    S_MIG_DASH_GET,
    S_MIG_STATE,
    S_MIG_BUMP,
    S_MIG_ROW,
    S_MIG_LIST,
    S_MIG_PROGRESS,
    S_STAGE_INSERT,
    S_STAGE_GET,
    S_STAGE_AT,
    S_STAGE_TITLE,
    S_STAGE_STATUS,
    S_STAGE_LIST,
    S_STAGE_BLOCKING,
    S_STAGE_COUNT,
    S_STEP_DOC,
    S_STEP_ALL,
    S_STEP_INSERT,
    S_STEP_WRITE,
    S_STEP_STATUS,
    S_STEP_SHIFT_UP,
    S_STEP_SHIFT_DOWN,
    S_STEP_SET_POS,
    S_STEP_DELETE,
    /* store_audit.c */
    S_AUDIT_PREV,
    S_AUDIT_NEXT,
    S_AUDIT_INSERT,
    S_AUDIT_LAST,
    S_AUDIT_PAGE_ALL,
    S_AUDIT_PAGE_MIG,
    S_AUDIT_PAGE_GLOBAL,
    S__COUNT
};

/* A committed-to-be event waiting for COMMIT before it goes to the sink. */
typedef struct store_event {
    int64_t seq;
    char *migration; /* NULL outside a migration */
    char *action;
    char *json;
    size_t len;
} store_event;

struct fd_store {
    sqlite3 *db;
    fd_ports ports;
    sqlite3_stmt *stmts[S__COUNT];
    int in_tx;
    /* events appended in the open transaction, in order */
    store_event *queue;
    size_t nqueue, capqueue;
    char last_error[256];
};

/* The cached statement for `id`, prepared from `sql` on first use, reset and unbound.
 * NULL on failure (st->last_error says why). */
sqlite3_stmt *store_stmt(fd_store *st, enum store_stmt_id id, const char *sql);

/* Record the connection's error message and return FD_E_INTERNAL. */
fd_err store_fail(fd_store *st, const char *what);

/* Bind helpers: NULL text binds SQL NULL; text is copied (SQLITE_TRANSIENT). */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);

/* Run a statement that returns no rows; FD_OK or FD_E_INTERNAL. Resets it. */
fd_err store_exec_stmt(fd_store *st, sqlite3_stmt *s, const char *what);

/* Column readers for building documents: JSON null for SQL NULL. */
json_t *store_col_str(sqlite3_stmt *s, int i);
json_t *store_col_time(sqlite3_stmt *s, int i);
json_t *store_col_int(sqlite3_stmt *s, int i);

/* Copy a text column into a fixed buffer ("" for NULL). */
void store_col_copy(sqlite3_stmt *s, int i, char *out, size_t n);

/* Queue an event for the sink (store.c); FD_OK or FD_E_INTERNAL when memory runs out. */
fd_err store_queue_event(fd_store *st, int64_t seq, const char *migration, const char *action,
                         const char *json, size_t len);

#endif
