/*
 * store.h - the database behind flightdeck (SQLite today; the rules never see it).
 *
 * Only core/store*.c include sqlite3.h. The rules (flight.c, team.c, audit.c, ...) call the
 * store_* functions declared in store_internal.h; api/ and server/ see only what is here.
 *
 * Thread rule: an fd_store is used by one thread at a time (the event loop). Open and migrate it
 * in main before any thread starts.
 */
#ifndef FD_STORE_H
#define FD_STORE_H

#include "types.h"

typedef struct fd_store fd_store;

/*
 * Open (creating if needed) the database at `path` (":memory:" for tests), set WAL,
 * synchronous=FULL, foreign_keys=ON, and apply the embedded migrations/NNNN_*.sql that are newer
 * than PRAGMA user_version, all in one transaction. On success *out is owned by the caller
 * (store_close). On failure returns an error and fills `p`.
 */
fd_err store_open(const char *path, fd_store **out, fd_problem *p);

/* Close cleanly (checkpoint the WAL). NULL is fine. */
void store_close(fd_store *st);

/* Install the ports (copied). Call before serving. */
void store_set_ports(fd_store *st, const fd_ports *ports);

/* Milliseconds now, from the clock port (system clock by default). */
int64_t store_now_ms(fd_store *st);

/* The schema version (PRAGMA user_version) after open; and the number of embedded migrations. */
int store_schema_version(fd_store *st);
int store_migration_count(void);

/* The embedded migration scripts, in order (for the schema test): name and SQL text. */
const char *store_migration_name(int i);
const char *store_migration_sql(int i);

/*
 * Dump the live schema (sqlite_master SQL of tables, indexes and triggers, sorted by name, one
 * statement per line ending in ";\n") into a malloc'd string owned by the caller. For the test
 * that proves schema/flightdeck.sql agrees with the migrations.
 */
fd_err store_dump_schema(fd_store *st, char **out);

/* ---- operations: commit statistics, online backup (store.c, store_backup.c) ---- */

/*
 * Open an existing database as a guest beside a running server (for `flightdeck backup`): no
 * file is created, no schema migration runs (a database at another schema version is refused),
 * and store_close does not checkpoint the WAL (that would hold up the server's writes). Only for
 * reading: store_backup and the audit functions. Same ownership as store_open.
 */
fd_err store_open_reader(const char *path, fd_store **out, fd_problem *p);

/* Histogram buckets of the commit statistics: counts per bucket (not cumulative); the last
 * slot counts what is above the last bound. */
#define STORE_STATS_SECONDS_BUCKETS 12
#define STORE_STATS_BATCH_BUCKETS 11
extern const double store_stats_seconds_bounds[STORE_STATS_SECONDS_BUCKETS];
extern const double store_stats_batch_bounds[STORE_STATS_BATCH_BUCKETS];

typedef struct fd_store_stats {
    uint64_t commits;       /* transactions committed */
    uint64_t commit_errors; /* COMMITs that failed (the transaction was rolled back) */
    uint64_t units;         /* mutations those commits carried (1 each until group commit) */
    double seconds_sum;     /* time spent committing (COMMIT, where the fsync happens) */
    uint64_t seconds[STORE_STATS_SECONDS_BUCKETS + 1];
    uint64_t batch[STORE_STATS_BATCH_BUCKETS + 1];
} fd_store_stats;

/* Copy the statistics since store_open into *out. Same thread rule as the store. */
void store_stats(fd_store *st, fd_store_stats *out);

/*
 * Copy the database behind `st` into a new file `dst_path` with SQLite's online backup API,
 * while another process (the server) keeps writing it. `st` is a second connection to the same
 * file (WAL lets it read beside the writer). The copy is one consistent snapshot: a read
 * transaction is held on `st` for the whole copy, so the writer is never blocked and the copy
 * never restarts. Pages are copied `pages_per_step` at a time with `pause_ms` between steps, so
 * the server keeps the disk; BUSY/LOCKED steps are retried for up to 10 s.
 * *pages (may be NULL) gets the number of pages copied.
 * Returns FD_OK; FD_E_EXISTS when dst_path exists (nothing is overwritten); FD_E_INTERNAL with
 * p filled (a partial copy is removed).
 */
fd_err store_backup(fd_store *st, const char *dst_path, int pages_per_step, int pause_ms,
                    int64_t *pages, fd_problem *p);

/* ---- group commit (store_batch.c) ----
 *
 * Without it (CLI commands, tests, FLIGHTDECK_GROUP_COMMIT=0) every unit of change (core_mutate)
 * is its own transaction, committed (fsync) before core_mutate returns.
 *
 * With it (the server), units are SAVEPOINTs inside one batch transaction on the write
 * connection: a refused unit rolls back to its savepoint and takes nothing of its neighbours
 * with it. The server commits the batch on another thread (store_batch_detach, then
 * store_batch_commit_run there, then store_batch_end back on the loop), so many requests share
 * one fsync and the loop never waits for the disk. Meanwhile plain reads go to a second,
 * read-only connection that sees committed data only (one snapshot between two batch ends), so
 * they are never blocked by a commit and never see half a batch. Whoever runs a unit, or reads
 * on behalf of a request that will write (store_batch_touch), reads on the write connection
 * instead and sees the batch so far; its answer must then wait until the batch is durable:
 * store_batch_take tells which batch to wait for.
 *
 * Units may also run on the committing thread: the loop opens the batch (store_batch_open),
 * runs its own units in it, hands it over (store_batch_hand_over), and that thread
 * (store_batch_owner_thread) runs more units in it, then store_batch_commit_or_drop. So the
 * SQL of the hottest writes (the step actions) runs beside the loop's HTTP work.
 *
 * Thread rule: everything here runs on the loop thread, except store_batch_commit_run and
 * store_batch_commit_or_drop and the units in between, which run on the committing thread
 * between store_batch_detach (or _hand_over) and store_batch_end; the loop does not touch the
 * write connection, the unit state or the event queue in between (its units wait:
 * store_batch_writable; its plain reads use the read connection).
 */
typedef struct store_batch_hooks {
    /* A new batch was opened, or a read snapshot: arrange for store_batch_detach (or _finish)
     * and store_batch_read_end to be called soon, e.g. at the end of the loop iteration. */
    void (*opened)(void *arg);
    /* A unit wants the write connection while the committing thread has it (a caller that did
     * not wait for store_batch_writable): block until the commit is back and end it
     * (store_batch_end). A safety net; the server routes writers around it. May be NULL. */
    void (*wait)(void *arg);
    /* The write-ahead log holds STORE_CHECKPOINT_PAGES pages or more after a commit, and grew
     * by STORE_CHECKPOINT_STEP_PAGES since the last call (called on the thread that ran the
     * COMMIT): arrange for store_batch_checkpoint to run soon, on a
     * thread of its own. SQLite's automatic checkpoint runs inside a COMMIT, and copying the
     * log into the database and syncing it there held every waiting write for milliseconds
     * (the p99 of durable ticks); given this hook, the copying happens beside the commits.
     * But only a checkpoint between a commit and the writer's next transaction lets the log
     * start over from its beginning, and under steady writes a checkpoint of another
     * connection never lands there: so a commit still checkpoints itself once the log passes
     * STORE_CHECKPOINT_RESTART_PAGES (by then nearly all of it was copied beside, so that
     * checkpoint is short) and the log stays bounded.
     * NULL: SQLite checkpoints inside commits at STORE_CHECKPOINT_PAGES, as it does by default. */
    void (*wal_grown)(void *arg);
    void *arg;
} store_batch_hooks;

#define STORE_CHECKPOINT_PAGES 1000         /* SQLite's default automatic checkpoint size */
#define STORE_CHECKPOINT_RESTART_PAGES 4000 /* with wal_grown: a commit checkpoints itself */
#define STORE_CHECKPOINT_STEP_PAGES 256     /* wal_grown again once the log grew this much */

/* Switch batch mode on: open the read connection. FD_E_INVALID (nothing changes) for databases
 * that cannot have a second connection (":memory:", a guest store_open_reader); FD_E_INTERNAL
 * with p filled when the read connection cannot be opened. No transaction may be open. */
fd_err store_batch_enable(fd_store *st, const store_batch_hooks *hooks, fd_problem *p);
/* Copy what the write-ahead log holds into the database on a connection of its own, passively
 * (it never waits for the writer or the readers; what a reader still needs stays in the log for
 * the next time), syncing the database as a FULL checkpoint does. For the wal_grown hook's
 * thread; one thread at a time, and not after store_batch_disable has begun. *log_pages and
 * *copied (may be NULL) get the log's size and how much of it is now in the database.
 * FD_OK, or FD_E_INTERNAL (the log stays as it is; the next checkpoint tries again). */
fd_err store_batch_checkpoint(fd_store *st, int *log_pages, int *copied);
/* Back to one transaction per unit (the open batch, if any, is committed first, inline).
 * Not while a batch is with the committing thread. */
void store_batch_disable(fd_store *st);
/* 1 in batch mode. */
int store_batch_on(fd_store *st);
/* 1 when a unit may begin now (the write connection is not with the committing thread). */
int store_batch_writable(fd_store *st);
/* The open batch (0: none) and how many units it holds (refused units do not count). */
uint64_t store_batch_open_id(fd_store *st);
int store_batch_units(fd_store *st);
/* The activity at hand (a request that may write, a worker's result) acts inside the open batch:
 * its reads see it, and store_batch_take will name it. store_batch_untouch forgets that (a new
 * request that only reads). */
void store_batch_touch(fd_store *st);
void store_batch_untouch(fd_store *st);
/* The batch the activity at hand ran units in or read from, if it is not durable yet, else 0;
 * forgets it. An answer built on it must be held until that batch has ended. */
uint64_t store_batch_take(fd_store *st);
/* 1 when batch `id` has ended (durable or failed). */
int store_batch_ended(fd_store *st, uint64_t id);

/* Hand the open batch (*id; 0 and nothing happens when none is open) to the committer. 1: the
 * batch holds units: run store_batch_commit_run (on any thread), then store_batch_end on the
 * loop. 0: nothing to make durable (all its units were refused or replays, or SQLite lost the
 * transaction): it was rolled back on the spot, no fsync; call store_batch_end right away. */
int store_batch_detach(fd_store *st, uint64_t *id);
/* Open a batch on the loop if none is open, so that units can be handed over with it. FD_OK;
 * FD_E_UNAVAILABLE while one is with the committing thread; FD_E_INTERNAL when BEGIN fails
 * (store_batch_error says why). */
fd_err store_batch_open(fd_store *st);
/* Hand the open batch (*id; 0 and nothing happens when none is open) to the committing thread
 * whether or not it holds units yet: that thread runs more units in it, then
 * store_batch_commit_or_drop; then store_batch_end on the loop. 1 when handed over. */
int store_batch_hand_over(fd_store *st, uint64_t *id);
/* Mark the calling thread as the one that runs units in a handed-over batch (once, at its
 * start). Its statements use the write connection and see the batch. */
void store_batch_owner_thread(void);
/* After the units of a handed-over batch: COMMIT it when it holds any (the fsync), else roll it
 * back (no fsync). On the committing thread. */
void store_batch_commit_or_drop(fd_store *st);
/* COMMIT the detached batch: the fsync. On the committing thread; touches nothing but the write
 * connection and the batch's result. */
void store_batch_commit_run(fd_store *st);
/* What one batch came to: sealed by the thread that committed it, ended on the loop. The
 * committing thread may chain batches (store_batch_chain) while the loop still ends earlier
 * ones, so each carries its own events. */
typedef struct store_batch_result {
    uint64_t id;
    int ok;         /* durable, or nothing to make durable */
    int units;      /* units it held */
    double seconds; /* the COMMIT's, fsync included */
    char error[200];
    struct store_event *events; /* owned: to the sink at store_batch_end_result */
    size_t nevents;
} store_batch_result;
/* After store_batch_commit_run / _commit_or_drop, on the thread that ran it (or after
 * store_batch_detach returned 0): take the batch's outcome and events into *r (a failed one is
 * rolled back, its events dropped) and clear them from the write side. */
void store_batch_seal(fd_store *st, store_batch_result *r);
/* On the committing thread, after store_batch_seal, with the batch still handed over: begin the
 * next batch there (its id follows), without going back to the loop. FD_OK, or FD_E_INTERNAL
 * when BEGIN fails (store_batch_error says why; the write connection should go back). */
fd_err store_batch_chain(fd_store *st);
/* On the loop, for each sealed result in order: statistics, the read snapshot moves past the
 * batch, its events go to the sink. `back`: the write connection is back on the loop (the last
 * result of a chain). FD_OK when the batch is durable; FD_E_INTERNAL: it failed, nothing of it
 * was applied, store_last_error says why. Frees r's events. */
fd_err store_batch_end_result(fd_store *st, store_batch_result *r, int back);
/* Back on the loop after store_batch_commit_run (or a detach that returned 0): seal and end
 * the batch in one (store_batch_seal + store_batch_end_result, back). FD_OK: the batch is
 * durable. FD_E_INTERNAL: it failed and nothing of it was applied (its events are dropped);
 * the reason is in store_last_error. *id gets the batch. */
fd_err store_batch_end(fd_store *st, uint64_t *id);
/* End the read connection's snapshot (the next plain read takes a new one). Call at the end of
 * each loop iteration: a snapshot kept longer would pin the WAL. */
void store_batch_read_end(fd_store *st);
/* Why the last batch failed to commit, for the log ("" when none has). */
const char *store_batch_error(fd_store *st);
/* detach + commit_run + end on the calling thread (shutdown; tests). FD_OK also when there was
 * nothing to commit; *id as store_batch_detach (may be NULL). */
fd_err store_batch_finish(fd_store *st, uint64_t *id);

/* Call fn with the id of every migration that has audit events (each is one hash chain), in
 * order; fn returns 0 to go on. FD_OK, or FD_E_INTERNAL (database error, or fn returned != 0). */
fd_err store_audit_chains(fd_store *st, int (*fn)(void *arg, const char *mid), void *arg);

#endif
