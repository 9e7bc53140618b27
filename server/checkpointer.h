/*
 * checkpointer.h - the thread that folds the write-ahead log back into the database file.
 *
 * SQLite checkpoints inside a COMMIT once the log passes 1,000 pages: the committing thread then
 * copies the log into the database and syncs it, and every write waiting for the next batch
 * waits milliseconds longer (most of the durable ticks' p99 in bench/README.md). With group
 * commit on, the store tells us instead (store_batch_hooks.wal_grown, on the committing thread)
 * and this thread checkpoints passively on a connection of its own: commits do not wait for it,
 * and it never waits for them. (Only a commit's own checkpoint lets the log start over, so the
 * store still has a commit checkpoint past STORE_CHECKPOINT_RESTART_PAGES; by then this thread
 * has copied nearly everything, and that checkpoint is short.)
 *
 * checkpointer_wake may be called from any thread; the others from the loop.
 */
#ifndef FD_SERVER_CHECKPOINTER_H
#define FD_SERVER_CHECKPOINTER_H

#include "core/store.h"

/* Start the thread for `st` (borrowed until checkpointer_stop). 0, or -1 with a message. */
int checkpointer_start(fd_store *st);

/* The log has grown: checkpoint soon. Cheap. Called after every commit while the log holds
 * STORE_CHECKPOINT_PAGES or more; calls that come while a checkpoint is asked for or running
 * make one more checkpoint at most. The signature is store_batch_hooks.wal_grown's (arg
 * unused). */
void checkpointer_wake(void *arg);

/* Stop and join the thread (a checkpoint under way finishes first). Before store_batch_disable,
 * which closes the thread's connection. Safe when it was never started. */
void checkpointer_stop(void);

/* Checkpoints run since start, for /metrics. */
uint64_t checkpointer_runs(void);

#endif
