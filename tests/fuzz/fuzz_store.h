/*
 * fuzz_store.h - a seeded in-memory store that every fuzz input starts from, cheaply.
 *
 * Opening and seeding a store costs tens of milliseconds (the migrations), far too slow per
 * input. So the seeded database is serialised once (sqlite3_serialize) and, after an input that
 * changed it, put back byte for byte (sqlite3_deserialize). Each input therefore sees exactly
 * the same state, so a saved crash reproduces alone. Checking "changed?" is a memcmp against the
 * snapshot, which also gives the targets their strongest property for free: a refused request
 * leaves the database byte for byte as it was.
 *
 * This peeks into the store's private struct (core/store_sqlite.h) for its sqlite3 handle: the
 * harness needs the bytes of the database, which no public store API offers (nor should).
 */
#ifndef FD_FUZZ_STORE_H
#define FD_FUZZ_STORE_H

#include <sqlite3.h>

#include "core/store_sqlite.h"
#include "tests/fuzz/fuzz_common.h"

typedef struct fuzz_db {
    fd_store *st;
    unsigned char *snap; /* the seeded database, sqlite3_malloc'd */
    sqlite3_int64 size;
} fuzz_db;

/* Reset every statement the store keeps prepared: a stepped-but-not-reset SELECT holds a read
 * transaction, and sqlite3_deserialize refuses to run under one. */
static inline void fuzz_db_reset_stmts(fd_store *st)
{
    for (sqlite3_stmt *s = sqlite3_next_stmt(st->db, NULL); s != NULL;
         s = sqlite3_next_stmt(st->db, s))
        sqlite3_reset(s);
}

/* Put the snapshot back (a fresh copy: SQLite owns and may grow it). */
static inline void fuzz_db_restore(fuzz_db *f)
{
    fuzz_db_reset_stmts(f->st);
    unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)f->size);
    if (copy == NULL)
        abort();
    memcpy(copy, f->snap, (size_t)f->size);
    int rc = sqlite3_deserialize(f->st->db, "main", copy, f->size, f->size,
                                 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "fuzz: sqlite3_deserialize: %s\n", sqlite3_errmsg(f->st->db));
        abort();
    }
    /* what the store caches from the database must go with it: the webhook list, and the audit
     * log's heads (a deserialized image gets a new pager, whose data version starts over, so
     * the store cannot tell by itself; store_sqlite.h) */
    json_decref(f->st->hooks);
    f->st->hooks = NULL;
    store_audit_heads_forget(f->st);
}

/* 1 when the database differs from the snapshot. */
static inline int fuzz_db_changed(fuzz_db *f)
{
    sqlite3_int64 size = 0;
    fuzz_db_reset_stmts(f->st);
    unsigned char *now = sqlite3_serialize(f->st->db, "main", &size, SQLITE_SERIALIZE_NOCOPY);
    if (now == NULL) /* not a contiguous in-memory image: cannot tell, assume changed */
        return 1;
    return size != f->size || memcmp(now, f->snap, (size_t)size) != 0;
}

/* Seed (then `more`, may be NULL), snapshot, and switch the connection onto the snapshot's
 * in-memory image (so that fuzz_db_changed can look at the live bytes without copying them). */
static inline void fuzz_db_open(fuzz_db *f, void (*more)(fd_store *st))
{
    f->st = fuzz_store_seeded();
    if (more != NULL) /* a target's own extra seeding, before the snapshot */
        more(f->st);
    fuzz_db_reset_stmts(f->st);
    f->snap = sqlite3_serialize(f->st->db, "main", &f->size, 0);
    if (f->snap == NULL)
        abort();
    fuzz_db_restore(f);
}

/* Before each input: the seeded state and the same clock. */
static inline void fuzz_db_begin(fuzz_db *f)
{
    if (fuzz_db_changed(f))
        fuzz_db_restore(f);
    fuzz_clock_ms = FUZZ_T0 + 3600 * 1000;
}

#endif
