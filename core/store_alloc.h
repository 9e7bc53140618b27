/*
 * store_alloc.h - SQLite's memory allocator in flightdeck: per-thread free lists of 15 block
 * sizes over glibc's malloc (issue 8).
 *
 * Debian's SQLite is built without lookaside memory, so every small allocation it makes (~70
 * per durable tick: statements' registers, cursors, record buffers) is a glibc malloc and free;
 * on the committing thread they were ~9 % of its CPU. Here a block of up to 4 KiB is taken from
 * the calling thread's list of blocks of its size class, or from malloc when the list is
 * empty, and a freed block goes to the freeing thread's list (whichever thread took it), up to
 * a cap per class (32 KiB of blocks); past the cap, and for bigger blocks, it goes back to glibc.
 * A thread's lists are handed back to glibc when the thread ends. At most ~0.5 MB stays on a
 * thread's lists. No locks: a block taken on one thread and freed on another simply changes
 * lists.
 *
 * Under AddressSanitizer (the `make check` build) nothing is installed: glibc's allocator stays,
 * so the sanitizer sees every SQLite block. FLIGHTDECK_SQLITE_MALLOC=system keeps it too.
 */
#ifndef FD_STORE_ALLOC_H
#define FD_STORE_ALLOC_H

/* Install the allocator with sqlite3_config, before SQLite is initialised (once per process).
 * 1 installed, 0 kept SQLite's own (sanitizer build, or the environment says so), -1 refused
 * (SQLite was already initialised: its own stays). */
int store_alloc_install(void);

#endif
