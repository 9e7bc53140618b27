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
    S_SAVEPOINT, /* store_batch.c: one unit inside a batch transaction */
    S_RELEASE,
    S_ROLLBACK_TO,
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
    S_STAGE_STEPS,
    S_STEP_CONFIRM,
    /* store_step_row.c */
    S_STEP_ACTION_ROW,
    /* store_gates.c */
    S_MIG_PLAN_REV,
    S_MIG_BUMP_PLAN_REV,
    S_STAGE_CFG,
    S_STAGE_SET_CFG,
    S_REQS_GET,
    S_REQS_DEL,
    S_REQS_ADD,
    S_SIGNOFF_INSERT,
    S_SIGNOFF_LIST,
    S_BRIEFING_INSERT,
    S_BRIEFING_TEAM_ADD,
    S_BRIEFING_ROW,
    S_BRIEFING_TEAMS,
    S_BRIEFING_ACKS,
    S_BRIEFING_IDS,
    S_BRIEFING_BUMP,
    S_BRIEFING_COUNT,
    S_ACK_INSERT,
    S_ACK_STATUS,
    S_FEEDBACK_INSERT,
    S_FEEDBACK_GET,
    S_FEEDBACK_LIST,
    S_FEEDBACK_RESOLVE,
    S_FEEDBACK_OPEN,
    S_OVERRIDE_INSERT,
    S_OVERRIDE_LIST,
    S_TIMING_STEPS,
    S_ACTIVE_FLIGHTS,
    S_STEP_OVERDUE,
    S_STAGE_OVERDUE,
    /* store_audit.c */
    S_AUDIT_PREV,
    S_AUDIT_NEXT,
    S_AUDIT_INSERT,
    S_AUDIT_LAST,
    S_AUDIT_PAGE_ALL,
    S_AUDIT_PAGE_MIG,
    S_AUDIT_PAGE_GLOBAL,
    S_AUDIT_PAGE_WALK,
    /* store_webhook.c (chat identities, go-around codes, webhooks, deliveries) */
    S_CHAT_USER_GET,
    S_CHAT_USER_PUT,
    S_CHAT_USER_DEL,
    S_CHAT_CODE_PUT,
    S_CHAT_CODE_GET,
    S_CHAT_CODE_DEL,
    S_HOOK_INSERT,
    S_HOOK_GET,
    S_HOOK_LIST,
    S_HOOK_DEL,
    S_HOOK_ALL,
    S_DELIV_INSERT,
    S_DELIV_DUE,
    S_DELIV_STATE,
    S_DELIV_UPDATE,
    S_DELIV_NEXT,
    S_DELIV_PENDING,
    S_DELIV_LIST,
    S_ATTEMPT_INSERT,
    S_ATTEMPT_LIST,
    /* store_rollback.c (rollback PRs and go-arounds) */
    S_RB_GET,
    S_RB_PUT,
    S_RB_CHECK,
    S_RB_USED,
    S_RB_DUE,
    S_GA_INSERT,
    S_GA_UPDATE,
    S_GA_GET,
    S_GA_LATEST,
    /* store_plans.c (plan extras, templates, switches, their moves and flag calls) */
    S_PX_PUT,
    S_PX_GET,
    S_TPL_INSERT,
    S_TPL_GET,
    S_TPL_LIST,
    S_TPL_DEL,
    S_SW_INSERT,
    S_SW_LIST,
    S_SW_GET,
    S_SW_SET,
    S_SW_APPLIED,
    S_SW_MOVE_INSERT,
    S_SW_HISTORY,
    S_SW_CALL_INSERT,
    S_SW_CALL_SUPERSEDE,
    S_SW_CALL_DUE,
    S_SW_CALL_GET,
    S_SW_CALL_UPDATE,
    S_SW_CALL_NEXT,
    S_SW_VERIFIED,
    /* store_stamp.c */
    S_MIG_STAMP,
    /* store_batch.c: the read snapshot's BEGIN and COMMIT, on rdb only */
    S_SNAP_BEGIN,
    S_SNAP_END,
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

/* Hand events to the sink in order and free their members (not the array). Loop thread. */
void store_events_emit(fd_store *st, store_event *q, size_t n);

/* Group commit (store_batch.c): where the write connection is. */
enum store_batch_state {
    STORE_BATCH_IDLE,       /* no transaction open */
    STORE_BATCH_OPEN,       /* a batch transaction is open on the loop; units join it */
    STORE_BATCH_COMMITTING, /* the committing thread has the write connection */
};

/* A migration's stamp (store_stamp.c) as read in one read snapshot, which cannot change it. */
#define STORE_STAMP_MEMO 16
typedef struct store_stamp_memo {
    uint64_t snapshot; /* the snapshot it was read in (store_batch.snapshot); 0 = free */
    char mid[FD_SLUG_MAX + 1];
    int64_t version;
    int64_t clock_start;
    int clocks;
} store_stamp_memo;

typedef struct store_batch {
    int on;                       /* batch mode: units are savepoints, reads use rdb */
    enum store_batch_state state; /* loop only */
    uint64_t id;                  /* the open or committing batch; ids start at 1 */
    uint64_t done_id;             /* the last batch that ended (durable or failed) */
    int units;                    /* units released into the open batch */
    int broken;                   /* SQLite dropped the batch transaction: it can only fail */
    uint64_t touched;             /* the batch the activity at hand writes or reads in */
    size_t unit_queue;            /* events queued before the unit at hand began */
    int unit_bumps;               /* later bumps asked before the unit at hand began */
    int read_tx;                  /* a read snapshot is open on rdb */
    uint64_t snapshot;            /* read snapshots opened so far: names the open one */
    store_stamp_memo stamps[STORE_STAMP_MEMO]; /* stamps read in the open snapshot */
    unsigned stamp_next;                       /* the memo slot to fill next (round robin) */
    store_batch_hooks hooks;
    /* written by the committing thread, read by the loop once the batch is handed back */
    int commit_ok;
    double commit_seconds;
    char commit_error[200];
    int wal_woken_at; /* the log's pages when the wal_grown hook was last called */
} store_batch;

/*
 * The heads of the audit log as the write connection last saw them: the last seq, and the last
 * hash of a few chains (each migration's, and the global one). Every append needs both, and
 * reading them was two statements of the ~10 in a tick (~9 % of the committing thread's
 * instructions). Kept in two layers (store_audit.c): `unit` holds what the open unit appended,
 * and joins `kept` only when the unit is released (a unit rolled back takes its layer with it);
 * `kept` holds what is true of the database as of SQLite's data version `dv`, so a change by
 * another connection or process (which moves the data version) empties it.
 */
#define STORE_AUDIT_HEADS 8
#define STORE_AUDIT_HEAD_ID 128 /* longer migration ids are simply not kept */
typedef struct store_audit_chain {
    int used;
    int global; /* the chain of events outside any migration (migration NULL) */
    char migration[STORE_AUDIT_HEAD_ID];
    char hash[65];
} store_audit_chain;
typedef struct store_audit_heads {
    int64_t last_seq; /* 0: not known */
    store_audit_chain chains[STORE_AUDIT_HEADS];
    unsigned next; /* the slot to take when all are used (round robin) */
    int overflow;  /* the unit's layer: it appended to a chain it could not keep */
} store_audit_heads;
typedef struct store_audit_cache {
    store_audit_heads kept;
    unsigned dv; /* SQLITE_FCNTL_DATA_VERSION of the write connection when kept was true */
    int dv_set;
    store_audit_heads unit;
} store_audit_cache;

#define STORE_LATER_BUMPS 8      /* more distinct migrations in one transaction: bumped at once */
#define STORE_LATER_BUMP_ID 128 /* longer ids too */

struct fd_store {
    sqlite3 *db; /* the connection that writes (the only one outside batch mode) */
    fd_ports ports;
    sqlite3_stmt *stmts[S__COUNT];  /* prepared on db */
    int in_tx;                      /* a transaction (batch mode: a unit) is open */
    sqlite3 *rdb;                   /* batch mode: read-only, sees committed data only */
    sqlite3_stmt *rstmts[S__COUNT]; /* prepared on rdb */
    sqlite3 *cdb;                   /* batch mode with a wal_grown hook: checkpoints only */
    store_batch batch;
    json_t *hooks; /* the webhooks as the write connection sees them (cache; NULL: not loaded) */
    /* events appended in the open transaction, in order */
    store_event *queue;
    size_t nqueue, capqueue;
    store_audit_cache heads; /* the audit log's heads (see store_audit_cache) */
    /* migrations whose version moves just before the transaction at hand commits
     * (store_mig_bump_later), each once */
    char later_bumps[STORE_LATER_BUMPS][STORE_LATER_BUMP_ID];
    int nlater_bumps;
    fd_store_stats stats; /* commits since open (store_stats) */
    int reader;           /* opened by store_open_reader: a guest beside the server, which
                             never checkpoints (that would stall the server's writes) */
};

/* The audit heads' cache (store_audit.c), told where units and transactions end:
 * store_audit_heads_unit_end after a unit's release (kept = 1) or rollback (kept = 0);
 * store_audit_heads_committed after a COMMIT of the write connection's own, with the data
 * version read just before it (ok = 0: the COMMIT failed, or the transaction was rolled back);
 * store_audit_heads_forget when anything else may have undone what it holds. That includes
 * replacing the database under the write connection (sqlite3_deserialize, as the fuzz targets
 * do between inputs): the new image gets a new pager whose data version starts over, so it
 * can repeat the number the cache holds. The server never does that. */
void store_audit_heads_unit_end(fd_store *st, int kept);
void store_audit_heads_committed(fd_store *st, unsigned dv_before, int ok);
void store_audit_heads_forget(fd_store *st);
/* SQLite's data version of the write connection's main database: it moves at every commit,
 * ours or another connection's (seen at our next transaction). */
unsigned store_data_version(fd_store *st);

/* The last failure's message on this thread (store_last_error), and the connection of this
 * thread's last statement (for store_fail's message). Per thread, not per store: with group
 * commit the loop reads through a store while the committing thread runs units on it. */
extern __thread char store_error[256];
extern __thread sqlite3 *store_error_db;

/* The cached statement for `id`, prepared from `sql` on first use, reset and unbound.
 * NULL on failure (store_error says why). */
sqlite3_stmt *store_stmt(fd_store *st, enum store_stmt_id id, const char *sql);
/* The same on the write connection whatever the batch's routing says: for what the store itself
 * runs at a batch's end, when no unit is open (store_mig_bumps_apply). */
sqlite3_stmt *store_stmt_write(fd_store *st, enum store_stmt_id id, const char *sql);

/* Record the connection's error message and return FD_E_INTERNAL. */
fd_err store_fail(fd_store *st, const char *what);

/* Bind helpers: NULL text binds SQL NULL; text is copied (SQLITE_TRANSIENT). */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);

/* Run a statement that returns no rows; FD_OK or FD_E_INTERNAL. Resets it. */
fd_err store_exec_stmt(fd_store *st, sqlite3_stmt *s, const char *what);
/* store_exec_stmt for an INSERT, then *id = the new row's id. FD_OK or FD_E_INTERNAL. */
fd_err store_insert_stmt(fd_store *st, sqlite3_stmt *s, const char *what, int64_t *id);
/* An integer column, or `dflt` for NULL. */
int64_t store_col_int_or(sqlite3_stmt *s, int i, int64_t dflt);
/* Bind an integer, or NULL when v < 0. */
void store_bind_int_or_null(sqlite3_stmt *s, int i, int64_t v);

/* Column readers for building documents: JSON null for SQL NULL. */
json_t *store_col_str(sqlite3_stmt *s, int i);
json_t *store_col_time(sqlite3_stmt *s, int i);
json_t *store_col_int(sqlite3_stmt *s, int i);
/* {"sub", "name"} from columns sub and name, or JSON null when sub is NULL (who did something). */
json_t *store_col_person(sqlite3_stmt *s, int sub, int name);

/* Step `s` to the end, appending column 0 of every row (text, or null) to `into`; resets `s`.
 * FD_OK, or the store's failure naming `what`. For one-column lists (team slugs, ids). */
fd_err store_col_strings(fd_store *st, sqlite3_stmt *s, const char *what, json_t *into);

/* Copy a text column into a fixed buffer ("" for NULL). */
void store_col_copy(sqlite3_stmt *s, int i, char *out, size_t n);

/* Queue an event for the sink (store.c); FD_OK or FD_E_INTERNAL when memory runs out. */
fd_err store_queue_event(fd_store *st, int64_t seq, const char *migration, const char *action,
                         const char *json, size_t len);

/* ---- group commit (store_batch.c), called by store.c ---- */

/* 1 when a statement now should run on rdb: batch mode, and the activity at hand neither runs a
 * unit nor acts inside the open batch (store_batch_touch). Opens the read snapshot if needed. */
int store_batch_reads_committed(fd_store *st);
/* store_begin / store_commit / store_rollback in batch mode. */
fd_err store_batch_unit_begin(fd_store *st);
/* 1 when the batch is with the committing thread and this is not it (the write side, in_tx
 * included, is that thread's until the batch is back). */
int store_batch_away(const fd_store *st);
fd_err store_batch_unit_release(fd_store *st);
void store_batch_unit_rollback(fd_store *st);
/* Commit statistics (store.c): a clock in seconds, and one commit of `units` units. */
double store_stats_clock(void);
void store_stats_record_commit(fd_store *st, int units, double seconds);
/* Drop the queued events from index `from` on. */
void store_queue_truncate(fd_store *st, size_t from);
/* Hand the queued events to the sink in order and empty the queue (after a durable commit). */
void store_queue_flush(fd_store *st);

#endif
