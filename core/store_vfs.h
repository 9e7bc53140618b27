/*
 * store_vfs.h - the SQLite VFS flightdeck opens its databases with: the platform's own, except
 * that the frames a COMMIT appends to the write-ahead log are gathered and written with one
 * call at the sync, instead of two pwrite calls per page (issue 8).
 *
 * A durable tick batch of ~25 ticks appended ~35 pages to the log: ~70 pwrite system calls on
 * the committing thread before its fdatasync, ~1.5 calls (and their ext4 work) per tick. The
 * bytes SQLite asks to write at the log's end, one after another, wait in a buffer of the open
 * log file; anything else on that file (a read, a write elsewhere, a truncate, the size, a sync,
 * a close, a lock change) first writes the buffer out. Nothing is lost that was promised: SQLite
 * makes a commit visible to others (the log's index in shared memory) only after its xSync, and
 * the buffer is written before that sync returns; an error writing it is the sync's error, so
 * the COMMIT fails and is rolled back as on any failed write.
 *
 * Only files opened as write-ahead logs are buffered; the database itself, its journals and
 * temporary files pass straight through. Thread rule: as SQLite's own file objects (one
 * connection's file is used by one thread at a time).
 */
#ifndef FD_STORE_VFS_H
#define FD_STORE_VFS_H

/* Register the VFS as SQLite's default, once per process, before the first database is opened.
 * 0, or -1 when it could not be registered (SQLite's default stays in use: only slower).
 * FLIGHTDECK_SQLITE_VFS=plain keeps SQLite's own (for comparison). */
int store_vfs_install(void);

/* How many times a gathered log buffer was written out, and how many write calls it stood for
 * (for tests: the second grows faster than the first when frames are gathered). */
void store_vfs_counts(long long *flushes, long long *writes);

#endif
