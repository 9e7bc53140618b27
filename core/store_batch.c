/* store_batch.c - group commit: many units of change in one transaction, committed by another
 * thread, with plain reads on a second connection that sees committed data only (see store.h).
 *
 * The write connection (st->db) belongs to the loop, except between store_batch_detach and
 * store_batch_end, when the committing thread runs the COMMIT on it. Nothing on the loop touches
 * it in between: store_stmt sends reads to the read connection (st->rdb) whenever the batch is
 * not open, and store_begin refuses (or waits, through the hooks) while the batch is away.
 *
 * A unit is SAVEPOINT unit ... RELEASE unit inside the batch transaction; a refused unit is
 * ROLLBACK TO unit; RELEASE unit, which undoes exactly its own changes and drops its own queued
 * events. The batch's events reach the sink only after the COMMIT is durable. */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

#define READ_BUSY_TIMEOUT_MS 5000

/* 1 on the thread that runs units while the batch is handed over to it (store_batch_hand_over,
 * store_batch_owner_thread). While the batch is away, the loop's view of the write side
 * (in_tx, the unit counters, the event queue) belongs to that thread. */
static __thread int tl_owner;

/* The batch is with the committing thread, and this is not it: hands off the write side. */
static int away(const fd_store *st)
{
    return st->batch.state == STORE_BATCH_COMMITTING && !tl_owner;
}

int store_batch_away(const fd_store *st)
{
    return away(st);
}

/* Run a cached statement on the write connection, whatever the read routing says. */
static fd_err wexec(fd_store *st, enum store_stmt_id id, const char *sql, const char *what)
{
    sqlite3_stmt *s = st->stmts[id];
    store_error_db = st->db;
    if (s == NULL) {
        if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
            return store_fail(st, "prepare");
        st->stmts[id] = s;
    }
    int rc = sqlite3_step(s);
    fd_err e = rc == SQLITE_DONE || rc == SQLITE_ROW ? FD_OK : store_fail(st, what);
    sqlite3_reset(s);
    return e;
}

/* Step a statement of the read connection's own (BEGIN, COMMIT), prepared on first use: they
 * run once per loop iteration that reads, and sqlite3_exec would parse them again each time.
 * SQLITE_OK or SQLite's error. */
static int rexec(fd_store *st, enum store_stmt_id id, const char *sql)
{
    sqlite3_stmt *s = st->rstmts[id];
    if (s == NULL) {
        int rc = sqlite3_prepare_v3(st->rdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
        if (rc != SQLITE_OK)
            return rc;
        st->rstmts[id] = s;
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* End the read snapshot, so the next plain read sees everything committed so far. */
static void read_snapshot_end(fd_store *st)
{
    if (!st->batch.read_tx)
        return;
    /* COMMIT succeeds beside a statement still stepping (it keeps reading its own snapshot until
     * it is reset): whoever is iterating is not cut short */
    if (rexec(st, S_SNAP_END, "COMMIT") != SQLITE_OK && !sqlite3_get_autocommit(st->rdb))
        sqlite3_exec(st->rdb, "ROLLBACK", NULL, NULL, NULL); /* never keep an old snapshot */
    st->batch.read_tx = 0;
}

/* SQLite's WAL hook, after every commit on the write connection: it replaces the automatic
 * checkpoint (sqlite3_wal_autocheckpoint is itself a WAL hook). Past STORE_CHECKPOINT_PAGES the
 * server's checkpointing thread copies the log beside the commits; past
 * STORE_CHECKPOINT_RESTART_PAGES the commit checkpoints too, as SQLite's own hook does, so that
 * the writer's next transaction can start the log over (see store_batch_hooks.wal_grown). */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    fd_store *st = arg;
    store_batch *b = &st->batch;
    /* Every checkpoint reads the whole log's index before it copies anything: wake the
     * checkpointing thread once per STORE_CHECKPOINT_STEP_PAGES of growth, not after every
     * commit (a batch of ticks adds ~30 pages; woken after each, that thread cost ~20k
     * instructions per tick, ~4k this way). */
    if (pages < b->wal_woken_at)
        b->wal_woken_at = 0; /* the log started over */
    if (pages >= STORE_CHECKPOINT_PAGES && pages >= b->wal_woken_at + STORE_CHECKPOINT_STEP_PAGES &&
        b->hooks.wal_grown != NULL) {
        b->wal_woken_at = pages;
        b->hooks.wal_grown(b->hooks.arg);
    }
    if (pages >= STORE_CHECKPOINT_RESTART_PAGES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

/* The checkpointing connection: read-write (a checkpoint writes the database file), syncing
 * as FULL does. 0 or -1 (p filled). */
static int checkpointer_open(fd_store *st, const char *path, fd_problem *p)
{
    if (sqlite3_open_v2(path, &st->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(st->cdb, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot open the checkpoint connection to %s: %s", path,
                st->cdb != NULL ? sqlite3_errmsg(st->cdb) : "out of memory");
        sqlite3_close(st->cdb);
        st->cdb = NULL;
        return -1;
    }
    sqlite3_extended_result_codes(st->cdb, 1);
    sqlite3_busy_timeout(st->cdb, READ_BUSY_TIMEOUT_MS);
    return 0;
}

fd_err store_batch_checkpoint(fd_store *st, int *log_pages, int *copied)
{
    int log = -1, done = -1;
    if (log_pages != NULL)
        *log_pages = -1;
    if (copied != NULL)
        *copied = -1;
    if (st->cdb == NULL)
        return FD_E_INTERNAL;
    int rc = sqlite3_wal_checkpoint_v2(st->cdb, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (log_pages != NULL)
        *log_pages = log;
    if (copied != NULL)
        *copied = done;
    /* BUSY: another checkpoint (a guest's, or SQLite's own at a connection's close) was running:
     * this one did what it could, the next one goes on */
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? FD_OK : FD_E_INTERNAL;
}

static void hooks_forget(fd_store *st)
{
    json_decref(st->hooks);
    st->hooks = NULL;
}

fd_err store_batch_enable(fd_store *st, const store_batch_hooks *hooks, fd_problem *p)
{
    if (st->batch.on)
        return fd_fail(p, FD_E_INTERNAL, NULL, "group commit is already on");
    if (st->in_tx)
        return fd_fail(p, FD_E_INTERNAL, NULL, "a transaction is open");
    const char *path = sqlite3_db_filename(st->db, "main");
    if (st->reader || path == NULL || path[0] == '\0')
        return fd_fail(p, FD_E_INVALID, NULL,
                       "an in-memory database cannot have a second connection");
    if (sqlite3_open_v2(path, &st->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot open the read connection to %s: %s", path,
                st->rdb != NULL ? sqlite3_errmsg(st->rdb) : "out of memory");
        sqlite3_close(st->rdb);
        st->rdb = NULL;
        return FD_E_INTERNAL;
    }
    sqlite3_extended_result_codes(st->rdb, 1);
    sqlite3_busy_timeout(st->rdb, READ_BUSY_TIMEOUT_MS);
    /* The committing thread only steps COMMIT: prepare it here, on the loop. */
    if (st->stmts[S_COMMIT] == NULL &&
        sqlite3_prepare_v3(st->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &st->stmts[S_COMMIT],
                           NULL) != SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot prepare COMMIT: %s", sqlite3_errmsg(st->db));
        sqlite3_close(st->rdb);
        st->rdb = NULL;
        return FD_E_INTERNAL;
    }
    /* A unit's savepoint keeps the pages it changes in a statement journal, which spills to a
     * temporary file past 64 KiB: keep it in memory, the loop must not wait on a disk for it. */
    sqlite3_exec(st->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
    if (hooks != NULL && hooks->wal_grown != NULL && checkpointer_open(st, path, p) != 0) {
        sqlite3_close(st->rdb);
        st->rdb = NULL;
        return FD_E_INTERNAL;
    }
    memset(&st->batch, 0, sizeof st->batch);
    if (hooks != NULL)
        st->batch.hooks = *hooks;
    if (st->cdb != NULL) /* checkpoints move out of the commits, to the hook's thread */
        sqlite3_wal_hook(st->db, on_wal_commit, st);
    st->batch.on = 1;
    return FD_OK;
}

void store_batch_disable(fd_store *st)
{
    store_batch *b = &st->batch;
    if (!b->on || b->state == STORE_BATCH_COMMITTING)
        return;
    if (st->in_tx)
        store_batch_unit_rollback(st);
    if (store_batch_finish(st, NULL) != FD_OK)
        fprintf(stderr, "flightdeck: the last batch could not be committed: %s\n", store_error);
    read_snapshot_end(st);
    for (int i = 0; i < S__COUNT; i++) {
        sqlite3_finalize(st->rstmts[i]);
        st->rstmts[i] = NULL;
    }
    sqlite3_close(st->rdb);
    st->rdb = NULL;
    if (st->cdb != NULL) { /* commits checkpoint themselves again, as SQLite does by default */
        sqlite3_wal_autocheckpoint(st->db, STORE_CHECKPOINT_PAGES);
        sqlite3_close(st->cdb);
        st->cdb = NULL;
    }
    b->on = 0;
}

int store_batch_on(fd_store *st)
{
    return st->batch.on;
}

int store_batch_writable(fd_store *st)
{
    return !st->batch.on || st->batch.state != STORE_BATCH_COMMITTING;
}

uint64_t store_batch_open_id(fd_store *st)
{
    return st->batch.on && st->batch.state == STORE_BATCH_OPEN ? st->batch.id : 0;
}

int store_batch_units(fd_store *st)
{
    return st->batch.on && st->batch.state == STORE_BATCH_OPEN ? st->batch.units : 0;
}

void store_batch_touch(fd_store *st)
{
    st->batch.touched = store_batch_open_id(st);
}

void store_batch_untouch(fd_store *st)
{
    st->batch.touched = 0;
}

uint64_t store_batch_take(fd_store *st)
{
    uint64_t id = st->batch.touched;
    st->batch.touched = 0;
    return st->batch.on && id > st->batch.done_id ? id : 0;
}

int store_batch_ended(fd_store *st, uint64_t id)
{
    return id <= st->batch.done_id;
}

/* ---- routing reads (store_stmt) ---- */

int store_batch_reads_committed(fd_store *st)
{
    store_batch *b = &st->batch;
    if (!b->on || tl_owner)
        return 0; /* the thread that has the batch reads inside it */
    if (b->state != STORE_BATCH_COMMITTING) { /* away, in_tx is the other thread's */
        if (st->in_tx)
            return 0;
        if (b->state == STORE_BATCH_OPEN && b->touched == b->id)
            return 0; /* acting inside the open batch: see it */
    }
    if (!b->read_tx) {
        /* One snapshot until the end of the loop iteration (store_batch_read_end) or the next
         * batch end, whichever comes first: a document read in several statements is never torn
         * by a commit landing between them, and the WAL is not pinned for longer (a snapshot
         * held across commits keeps checkpoints from finishing and the WAL file growing). If
         * BEGIN fails, each statement is its own snapshot, which still shows committed data. */
        if (rexec(st, S_SNAP_BEGIN, "BEGIN") == SQLITE_OK) {
            b->read_tx = 1;
            b->snapshot++; /* what was memoised in the last one (store_stamp.c) no longer holds */
            if (b->hooks.opened != NULL)
                b->hooks.opened(b->hooks.arg);
        }
    }
    return 1;
}

/* ---- units ---- */

fd_err store_batch_unit_begin(fd_store *st)
{
    store_batch *b = &st->batch;
    if (tl_owner) {
        /* the committing thread, with a batch the loop opened and handed over */
        if (b->state != STORE_BATCH_COMMITTING) {
            snprintf(store_error, sizeof store_error, "no batch was handed over");
            return FD_E_INTERNAL;
        }
    } else {
        if (b->state == STORE_BATCH_COMMITTING && b->hooks.wait != NULL)
            b->hooks.wait(b->hooks.arg);
        if (b->state == STORE_BATCH_COMMITTING) {
            snprintf(store_error, sizeof store_error,
                     "the write connection is committing a batch; retry");
            return FD_E_UNAVAILABLE;
        }
    }
    if (st->in_tx) {
        snprintf(store_error, sizeof store_error, "a transaction is already open");
        return FD_E_INTERNAL;
    }
    if (b->state == STORE_BATCH_IDLE) {
        if (wexec(st, S_BEGIN, "BEGIN IMMEDIATE", "begin") != FD_OK)
            return FD_E_INTERNAL;
        b->state = STORE_BATCH_OPEN;
        b->id++;
        b->units = 0;
        b->broken = 0;
        if (b->hooks.opened != NULL)
            b->hooks.opened(b->hooks.arg);
    } else if (b->broken || sqlite3_get_autocommit(st->db)) {
        /* SQLite rolled the batch back after an I/O error: a savepoint now would start a new
         * transaction of its own. The batch can only fail; this unit waits for the next. */
        b->broken = 1;
        snprintf(store_error, sizeof store_error, "the batch transaction was lost; retry");
        return FD_E_UNAVAILABLE;
    }
    if (wexec(st, S_SAVEPOINT, "SAVEPOINT unit", "savepoint") != FD_OK)
        return FD_E_INTERNAL;
    st->in_tx = 1;
    if (!tl_owner)
        b->touched = b->id; /* the loop's request at hand waits for this batch */
    b->unit_queue = st->nqueue;
    b->unit_bumps = st->nlater_bumps;
    return FD_OK;
}

fd_err store_batch_unit_release(fd_store *st)
{
    if (!st->in_tx) {
        snprintf(store_error, sizeof store_error, "no unit is open");
        return FD_E_INTERNAL;
    }
    /* on failure the unit stays open: the caller's store_rollback undoes it */
    if (wexec(st, S_RELEASE, "RELEASE unit", "release") != FD_OK)
        return FD_E_INTERNAL;
    store_audit_heads_unit_end(st, 1);
    st->in_tx = 0;
    st->batch.units++;
    return FD_OK;
}

void store_batch_unit_rollback(fd_store *st)
{
    store_batch *b = &st->batch;
    if (away(st) || !st->in_tx)
        return; /* after a release: nothing to undo, and the batch's events stay */
    store_audit_heads_unit_end(st, 0);
    st->in_tx = 0;
    hooks_forget(st);
    store_queue_truncate(st, b->unit_queue);
    st->nlater_bumps = b->unit_bumps;
    if (wexec(st, S_ROLLBACK_TO, "ROLLBACK TO unit", "rollback to") != FD_OK ||
        wexec(st, S_RELEASE, "RELEASE unit", "release") != FD_OK || sqlite3_get_autocommit(st->db))
        b->broken = 1;
}

/* ---- the batch's commit ---- */

/* Only refused units (or replays): nothing to make durable, no fsync. A broken batch cannot
 * commit: it fails, and its units' answers say so. */
static void batch_drop(fd_store *st)
{
    store_batch *b = &st->batch;
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    store_audit_heads_forget(st); /* whatever its units appended is gone */
    st->nlater_bumps = 0;
    b->commit_ok = !b->broken;
    if (b->broken)
        snprintf(b->commit_error, sizeof b->commit_error, "the batch transaction was lost");
}

/* The loop gives the open batch away: COMMITTING from now until store_batch_end. */
static void give_away(fd_store *st, uint64_t *id)
{
    store_batch *b = &st->batch;
    if (st->in_tx) /* a caller bug: a unit left open would be committed half-done */
        store_batch_unit_rollback(st);
    *id = b->id;
    b->state = STORE_BATCH_COMMITTING;
    b->commit_ok = 0;
    b->commit_seconds = 0;
    b->commit_error[0] = '\0';
}

int store_batch_detach(fd_store *st, uint64_t *id)
{
    store_batch *b = &st->batch;
    *id = 0;
    if (!b->on || b->state != STORE_BATCH_OPEN)
        return 0;
    give_away(st, id);
    if (b->units > 0 && !b->broken)
        return 1;
    batch_drop(st);
    return 0;
}

fd_err store_batch_open(fd_store *st)
{
    store_batch *b = &st->batch;
    if (!b->on || b->state == STORE_BATCH_OPEN)
        return FD_OK;
    if (b->state == STORE_BATCH_COMMITTING) {
        snprintf(store_error, sizeof store_error,
                 "the write connection is committing a batch; retry");
        return FD_E_UNAVAILABLE;
    }
    if (wexec(st, S_BEGIN, "BEGIN IMMEDIATE", "begin") != FD_OK) {
        snprintf(b->commit_error, sizeof b->commit_error, "%.190s", store_error);
        return FD_E_INTERNAL;
    }
    b->state = STORE_BATCH_OPEN;
    b->id++;
    b->units = 0;
    b->broken = 0;
    return FD_OK;
}

int store_batch_hand_over(fd_store *st, uint64_t *id)
{
    store_batch *b = &st->batch;
    *id = 0;
    if (!b->on || b->state != STORE_BATCH_OPEN)
        return 0;
    give_away(st, id);
    return 1;
}

void store_batch_owner_thread(void)
{
    tl_owner = 1;
}

void store_batch_commit_or_drop(fd_store *st)
{
    store_batch *b = &st->batch;
    if (st->in_tx) /* a caller bug: a unit left open would be committed half-done */
        store_batch_unit_rollback(st);
    if (b->units > 0 && !b->broken)
        store_batch_commit_run(st);
    else
        batch_drop(st);
}

void store_batch_commit_run(fd_store *st)
{
    store_batch *b = &st->batch;
    sqlite3_stmt *s = st->stmts[S_COMMIT]; /* prepared by store_batch_enable */
    double t0 = store_stats_clock();
    unsigned dv = store_data_version(st);
    int bumped = store_mig_bumps_apply(st) == FD_OK; /* in the batch, before its COMMIT */
    int rc = bumped ? sqlite3_step(s) : SQLITE_ERROR;
    b->commit_ok = rc == SQLITE_DONE;
    store_audit_heads_committed(st, dv, b->commit_ok);
    if (!b->commit_ok) /* store_batch_seal rolls the batch back */
        snprintf(b->commit_error, sizeof b->commit_error, "%s",
                 bumped ? sqlite3_errmsg(st->db) : store_last_error(st));
    sqlite3_reset(s);
    b->commit_seconds = store_stats_clock() - t0;
}

void store_batch_seal(fd_store *st, store_batch_result *r)
{
    store_batch *b = &st->batch;
    memset(r, 0, sizeof *r);
    r->id = b->id;
    r->ok = b->commit_ok;
    r->units = b->units;
    r->seconds = b->commit_seconds;
    snprintf(r->error, sizeof r->error, "%s", b->commit_error);
    if (!r->ok) {
        /* a failed COMMIT may leave the transaction open (BUSY): nothing of it may stay */
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        store_queue_truncate(st, 0);
        hooks_forget(st);
    } else { /* the events go with the result; the next batch starts a queue of its own */
        r->events = st->queue;
        r->nevents = st->nqueue;
        st->queue = NULL;
        st->nqueue = st->capqueue = 0;
    }
    b->units = 0;
    b->broken = 0;
}

fd_err store_batch_chain(fd_store *st)
{
    store_batch *b = &st->batch;
    b->commit_ok = 0;
    b->commit_seconds = 0;
    b->commit_error[0] = '\0';
    if (wexec(st, S_BEGIN, "BEGIN IMMEDIATE", "begin") != FD_OK) {
        snprintf(b->commit_error, sizeof b->commit_error, "%.190s", store_error);
        return FD_E_INTERNAL;
    }
    b->id++;
    b->units = 0;
    b->broken = 0;
    return FD_OK;
}

fd_err store_batch_end_result(fd_store *st, store_batch_result *r, int back)
{
    store_batch *b = &st->batch;
    if (!r->ok) {
        st->stats.commit_errors++;
        snprintf(store_error, sizeof store_error, "commit: %s", r->error);
    } else if (r->units > 0) {
        store_stats_record_commit(st, r->units, r->seconds);
    }
    if (back)
        b->state = STORE_BATCH_IDLE;
    b->done_id = r->id;
    read_snapshot_end(st); /* readers (and the sink's readers) see the batch from now on */
    store_events_emit(st, r->events, r->nevents);
    free(r->events);
    r->events = NULL;
    r->nevents = 0;
    return r->ok ? FD_OK : FD_E_INTERNAL;
}

fd_err store_batch_end(fd_store *st, uint64_t *id)
{
    store_batch *b = &st->batch;
    store_batch_result r;
    if (id != NULL)
        *id = 0;
    if (!b->on || b->state != STORE_BATCH_COMMITTING)
        return FD_OK;
    store_batch_seal(st, &r);
    if (id != NULL)
        *id = r.id;
    return store_batch_end_result(st, &r, 1);
}

void store_batch_read_end(fd_store *st)
{
    if (st->batch.on)
        read_snapshot_end(st);
}

const char *store_batch_error(fd_store *st)
{
    return st->batch.commit_error;
}

fd_err store_batch_finish(fd_store *st, uint64_t *id)
{
    uint64_t bid = 0;
    if (id != NULL)
        *id = 0;
    if (!st->batch.on || st->batch.state != STORE_BATCH_OPEN)
        return FD_OK;
    if (store_batch_detach(st, &bid))
        store_batch_commit_run(st);
    return store_batch_end(st, id);
}
