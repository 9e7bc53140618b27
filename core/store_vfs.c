/* store_vfs.c - SQLite's default VFS with the write-ahead log's appends gathered (see
 * store_vfs.h).
 *
 * A file opened through this VFS is a `gfile`: SQLite's view (our methods) followed by the real
 * file of the platform VFS, which does all the work. Every method passes through to the real
 * one; for a write-ahead log, xWrite at the end of what is pending appends to a buffer, and
 * every other method writes the buffer out first. */
#include "store_vfs.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define GATHER_MAX (1024 * 1024) /* bytes pending at most; a batch of ticks is ~150 KB */
#define WRITE_PIECE (64 * 1024)  /* bytes per write of the real file */

typedef struct gfile {
    sqlite3_file base; /* pMethods: ours (gather_methods), or NULL when the open failed */
    sqlite3_file *real;
    int wal;               /* a write-ahead log: its appends are gathered */
    char *buf;             /* pending bytes, to be written at `at` */
    size_t len, cap;
    sqlite3_int64 at;
} gfile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs gather_vfs;
static sqlite3_io_methods gather_methods; /* every method: ours, passing through */
static atomic_llong n_flushes, n_writes;

/* Write what is pending. SQLITE_OK, or the real write's error (the bytes are dropped: SQLite
 * will fail the sync or the call that needed them, and roll back). */
static int flush(gfile *g)
{
    int rc = SQLITE_OK;
    /* in pieces: the unix VFS writes at most 128 KiB - 1 bytes per call (it masks the count
     * with 0x1ffff, and a write of exactly 128 KiB would be taken for a full disk) */
    for (size_t done = 0; done < g->len && rc == SQLITE_OK; done += WRITE_PIECE) {
        size_t n = g->len - done < WRITE_PIECE ? g->len - done : WRITE_PIECE;
        rc = g->real->pMethods->xWrite(g->real, g->buf + done, (int)n,
                                       g->at + (sqlite3_int64)done);
    }
    if (g->len > 0)
        atomic_fetch_add_explicit(&n_flushes, 1, memory_order_relaxed);
    g->len = 0;
    return rc;
}

static int g_close(sqlite3_file *f)
{
    gfile *g = (gfile *)f;
    int rc = flush(g);
    int rc2 = g->real->pMethods->xClose(g->real);
    free(g->buf);
    g->buf = NULL;
    g->cap = 0;
    return rc != SQLITE_OK ? rc : rc2;
}

static int g_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    gfile *g = (gfile *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xRead(g->real, p, amt, off);
}

/* Room for `amt` more pending bytes: 0, or -1 when memory ran out (write through then). */
static int reserve(gfile *g, size_t amt)
{
    if (g->len + amt <= g->cap)
        return 0;
    size_t cap = g->cap ? g->cap : 64 * 1024;
    while (cap < g->len + amt)
        cap *= 2;
    char *nb = realloc(g->buf, cap);
    if (nb == NULL)
        return -1;
    g->buf = nb;
    g->cap = cap;
    return 0;
}

static int g_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    gfile *g = (gfile *)f;
    atomic_fetch_add_explicit(&n_writes, 1, memory_order_relaxed);
    if (g->wal && amt > 0 && (size_t)amt <= GATHER_MAX) {
        if (g->len > 0 &&
            (off != g->at + (sqlite3_int64)g->len || g->len + (size_t)amt > GATHER_MAX)) {
            int rc = flush(g); /* not the next bytes, or no room: out with what is pending */
            if (rc != SQLITE_OK)
                return rc;
        }
        if (reserve(g, (size_t)amt) == 0) {
            if (g->len == 0)
                g->at = off;
            memcpy(g->buf + g->len, p, (size_t)amt);
            g->len += (size_t)amt;
            return SQLITE_OK;
        }
    }
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xWrite(g->real, p, amt, off);
}

static int g_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    gfile *g = (gfile *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xTruncate(g->real, size);
}

static int g_sync(sqlite3_file *f, int flags)
{
    gfile *g = (gfile *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xSync(g->real, flags);
}

static int g_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    gfile *g = (gfile *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFileSize(g->real, size);
}

static int g_lock(sqlite3_file *f, int level)
{
    gfile *g = (gfile *)f;
    return g->real->pMethods->xLock(g->real, level);
}

static int g_unlock(sqlite3_file *f, int level)
{
    gfile *g = (gfile *)f;
    int rc = flush(g); /* nothing may stay pending once the writer lets go */
    int rc2 = g->real->pMethods->xUnlock(g->real, level);
    return rc != SQLITE_OK ? rc : rc2;
}

static int g_check_reserved(sqlite3_file *f, int *out)
{
    gfile *g = (gfile *)f;
    return g->real->pMethods->xCheckReservedLock(g->real, out);
}

static int g_file_control(sqlite3_file *f, int op, void *arg)
{
    gfile *g = (gfile *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFileControl(g->real, op, arg);
}

static int g_sector_size(sqlite3_file *f)
{
    gfile *g = (gfile *)f;
    return g->real->pMethods->xSectorSize(g->real);
}

static int g_device(sqlite3_file *f)
{
    gfile *g = (gfile *)f;
    return g->real->pMethods->xDeviceCharacteristics(g->real);
}

static int g_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    gfile *g = (gfile *)f;
    if (g->real->pMethods->iVersion < 2)
        return SQLITE_IOERR_SHMMAP;
    return g->real->pMethods->xShmMap(g->real, page, size, extend, out);
}

static int g_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    gfile *g = (gfile *)f;
    if (g->real->pMethods->iVersion < 2)
        return SQLITE_IOERR_SHMLOCK;
    return g->real->pMethods->xShmLock(g->real, offset, n, flags);
}

static void g_shm_barrier(sqlite3_file *f)
{
    gfile *g = (gfile *)f;
    if (g->real->pMethods->iVersion >= 2)
        g->real->pMethods->xShmBarrier(g->real);
}

static int g_shm_unmap(sqlite3_file *f, int del)
{
    gfile *g = (gfile *)f;
    if (g->real->pMethods->iVersion < 2)
        return SQLITE_OK;
    return g->real->pMethods->xShmUnmap(g->real, del);
}

static int g_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
    gfile *g = (gfile *)f;
    *out = NULL; /* no memory map: SQLite reads instead */
    if (g->real->pMethods->iVersion < 3)
        return SQLITE_OK;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFetch(g->real, off, amt, out);
}

static int g_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    gfile *g = (gfile *)f;
    if (g->real->pMethods->iVersion < 3)
        return SQLITE_OK;
    return g->real->pMethods->xUnfetch(g->real, off, p);
}

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                  int *out_flags)
{
    (void)vfs;
    gfile *g = (gfile *)f;
    memset(g, 0, sizeof *g);
    g->real = (sqlite3_file *)(g + 1);
    g->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = real_vfs->xOpen(real_vfs, name, g->real, flags, out_flags);
    /* SQLite calls xClose only when pMethods is set, even after a failed open */
    g->base.pMethods = g->real->pMethods != NULL ? &gather_methods : NULL;
    return rc;
}

/* The rest of the VFS is the real one's. */
static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return real_vfs->xDelete(real_vfs, name, sync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    real_vfs->xDlClose(real_vfs, h);
}

static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs->xSleep(real_vfs, us);
}

static int v_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int v_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int store_vfs_install(void)
{
    const char *knob = getenv("FLIGHTDECK_SQLITE_VFS");
    if (knob != NULL && strcmp(knob, "plain") == 0)
        return 0;
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL || real_vfs->iVersion < 2)
        return -1;
    memset(&gather_methods, 0, sizeof gather_methods);
    gather_methods.iVersion = 3;
    gather_methods.xClose = g_close;
    gather_methods.xRead = g_read;
    gather_methods.xWrite = g_write;
    gather_methods.xTruncate = g_truncate;
    gather_methods.xSync = g_sync;
    gather_methods.xFileSize = g_file_size;
    gather_methods.xLock = g_lock;
    gather_methods.xUnlock = g_unlock;
    gather_methods.xCheckReservedLock = g_check_reserved;
    gather_methods.xFileControl = g_file_control;
    gather_methods.xSectorSize = g_sector_size;
    gather_methods.xDeviceCharacteristics = g_device;
    gather_methods.xShmMap = g_shm_map;
    gather_methods.xShmLock = g_shm_lock;
    gather_methods.xShmBarrier = g_shm_barrier;
    gather_methods.xShmUnmap = g_shm_unmap;
    gather_methods.xFetch = g_fetch;
    gather_methods.xUnfetch = g_unfetch;
    memset(&gather_vfs, 0, sizeof gather_vfs);
    gather_vfs.iVersion = 2;
    gather_vfs.szOsFile = (int)sizeof(gfile) + real_vfs->szOsFile;
    gather_vfs.mxPathname = real_vfs->mxPathname;
    gather_vfs.zName = "flightdeck";
    gather_vfs.xOpen = v_open;
    gather_vfs.xDelete = v_delete;
    gather_vfs.xAccess = v_access;
    gather_vfs.xFullPathname = v_full_pathname;
    gather_vfs.xDlOpen = v_dlopen;
    gather_vfs.xDlError = v_dlerror;
    gather_vfs.xDlSym = v_dlsym;
    gather_vfs.xDlClose = v_dlclose;
    gather_vfs.xRandomness = v_randomness;
    gather_vfs.xSleep = v_sleep;
    gather_vfs.xCurrentTime = v_current_time;
    gather_vfs.xGetLastError = v_last_error;
    gather_vfs.xCurrentTimeInt64 = v_current_time64;
    return sqlite3_vfs_register(&gather_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void store_vfs_counts(long long *flushes, long long *writes)
{
    *flushes = atomic_load(&n_flushes);
    *writes = atomic_load(&n_writes);
}
