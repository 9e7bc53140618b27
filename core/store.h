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

/* Call fn with the id of every migration that has audit events (each is one hash chain), in
 * order; fn returns 0 to go on. FD_OK, or FD_E_INTERNAL (database error, or fn returned != 0). */
fd_err store_audit_chains(fd_store *st, int (*fn)(void *arg, const char *mid), void *arg);

#endif
