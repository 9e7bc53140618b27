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

#endif
