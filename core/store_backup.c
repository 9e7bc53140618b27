/* store_backup.c - an online copy of the database (SQLite's backup API) taken while the server
 * keeps writing, and the list of audit chains a copy is verified against (see store.h).
 *
 * The copy runs on a second connection, usually in another process (`flightdeck backup`). WAL
 * lets that connection read beside the server's writes; the one read transaction held for the
 * whole copy is what makes the copy a single consistent snapshot. */
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKUP_BUSY_MAX_MS 10000 /* how long a BUSY/LOCKED step is retried before giving up */
#define BACKUP_BUSY_SLEEP_MS 10

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Remove a failed copy and the side files SQLite may have left beside it. */
static void remove_copy(const char *path)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    char side[4096];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffixes[i]);
        unlink(side);
    }
}

fd_err store_open_reader(const char *path, fd_store **out, fd_problem *p)
{
    sqlite3_stmt *s = NULL;
    int version = -1;

    *out = NULL;
    fd_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return fd_fail(p, FD_E_INTERNAL, NULL, "out of memory");
    st->reader = 1;
    /* READWRITE, not READONLY: a WAL reader writes its read mark into the -shm file. */
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot open %s: %s", path,
                st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 5000);
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version != store_migration_count()) {
        if (version < 0)
            fd_fail(p, FD_E_INTERNAL, NULL, "%s is not a readable flightdeck database", path);
        else
            fd_fail(p, FD_E_INTERNAL, NULL,
                    "%s has schema version %d, this flightdeck knows %d: back it up with the "
                    "flightdeck that serves it",
                    path, version, store_migration_count());
        goto fail;
    }
    *out = st;
    return FD_OK;
fail:
    sqlite3_close(st->db);
    free(st);
    return FD_E_INTERNAL;
}

fd_err store_backup(fd_store *st, const char *dst_path, int pages_per_step, int pause_ms,
                    int64_t *pages, fd_problem *p)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int created = 0, reading = 0, busy_ms = 0;
    fd_err e = FD_E_INTERNAL;
    char *msg = NULL;

    if (pages != NULL)
        *pages = 0;
    if (st->in_tx)
        return fd_fail(p, FD_E_INTERNAL, NULL, "a write transaction is open on this connection");
    if (pages_per_step < 1)
        pages_per_step = 1;

    /* O_EXCL: a backup never overwrites anything (an older backup, or the database itself). */
    int fd = open(dst_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return fd_fail(p, FD_E_EXISTS, NULL, "%s already exists; choose a new file name",
                           dst_path);
        return fd_fail(p, FD_E_INTERNAL, NULL, "cannot create %s: %s", dst_path, strerror(errno));
    }
    close(fd);
    created = 1;

    if (sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot open %s: %s", dst_path,
                dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
        goto done;
    }
    /* The snapshot. Without an open read transaction every commit of the server would make the
     * next backup step start over, and a busy server would never let the copy finish. */
    if (sqlite3_exec(st->db, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, &msg) !=
        SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot start reading the database: %s",
                msg != NULL ? msg : sqlite3_errmsg(st->db));
        goto done;
    }
    reading = 1;
    b = sqlite3_backup_init(dst, "main", st->db, "main");
    if (b == NULL) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot start the backup: %s", sqlite3_errmsg(dst));
        goto done;
    }
    for (;;) {
        int rc = sqlite3_backup_step(b, pages_per_step);
        if (rc == SQLITE_DONE)
            break;
        if (rc == SQLITE_OK) {
            busy_ms = 0;
            if (pause_ms > 0)
                sleep_ms(pause_ms); /* leave the disk to the server for a moment */
            continue;
        }
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
            if (busy_ms >= BACKUP_BUSY_MAX_MS) {
                fd_fail(p, FD_E_INTERNAL, NULL, "the database stayed locked for %d s",
                        BACKUP_BUSY_MAX_MS / 1000);
                goto done;
            }
            sleep_ms(BACKUP_BUSY_SLEEP_MS);
            busy_ms += BACKUP_BUSY_SLEEP_MS;
            continue;
        }
        fd_fail(p, FD_E_INTERNAL, NULL, "backup step failed: %s", sqlite3_errstr(rc));
        goto done;
    }
    if (pages != NULL)
        *pages = sqlite3_backup_pagecount(b);
    int rc = sqlite3_backup_finish(b);
    b = NULL;
    if (rc != SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "backup failed: %s", sqlite3_errmsg(dst));
        goto done;
    }
    e = FD_OK;
done:
    sqlite3_free(msg);
    if (b != NULL)
        sqlite3_backup_finish(b);
    if (reading)
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL); /* ends the read transaction */
    if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && e == FD_OK)
        e = fd_fail(p, FD_E_INTERNAL, NULL, "cannot close %s", dst_path);
    if (e != FD_OK && created)
        remove_copy(dst_path);
    return e;
}

fd_err store_audit_chains(fd_store *st, int (*fn)(void *arg, const char *mid), void *arg)
{
    sqlite3_stmt *s = NULL;
    fd_err e = FD_OK;
    int rc;

    /* Not a cached statement: it runs once per backup, never on the request path. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT DISTINCT migration FROM audit WHERE migration IS NOT NULL"
                           " ORDER BY migration",
                           -1, &s, NULL) != SQLITE_OK)
        return store_fail(st, "audit chains");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (fn(arg, (const char *)sqlite3_column_text(s, 0)) != 0) {
            snprintf(store_error, sizeof store_error, "audit chains: stopped by the caller");
            e = FD_E_INTERNAL;
            break;
        }
    }
    if (e == FD_OK && rc != SQLITE_DONE)
        e = store_fail(st, "audit chains");
    sqlite3_finalize(s);
    return e;
}
