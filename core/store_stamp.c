/* store_stamp.c - the few columns that tell whether a rendered migration document is still
 * current (flight.h: flight_doc_stamp): the migration's version, and the start of every stage
 * whose clock runs. One indexed lookup; no document is built.
 *
 * In batch mode a plain read sees one snapshot of the read connection for a whole loop
 * iteration (store_batch.c), and a snapshot cannot change: a stamp read in it is kept and
 * served again to the other requests of the same iteration, without a query. The memo names the
 * snapshot it was read in; opening the next snapshot (store_batch_reads_committed) makes it
 * stale at once, so no commit can hide behind it. */
#include "store_sqlite.h"

#include <string.h>

/* The open read snapshot that plain reads use now, or 0 when reads are not on one (no batch
 * mode, a unit or a writer's reads on the write connection, or SQLite dropped the transaction:
 * then each statement is its own snapshot and nothing may be kept). Not a pure question: like
 * any plain read, it opens the snapshot (BEGIN on the read connection) when none is open yet
 * (store_batch_reads_committed). */
static uint64_t open_snapshot(fd_store *st)
{
    if (!store_batch_reads_committed(st) || !st->batch.read_tx ||
        sqlite3_get_autocommit(st->rdb))
        return 0;
    return st->batch.snapshot;
}

static const store_stamp_memo *memo_find(fd_store *st, uint64_t snapshot, const char *mid)
{
    for (int i = 0; i < STORE_STAMP_MEMO; i++) {
        const store_stamp_memo *m = &st->batch.stamps[i];
        if (m->snapshot == snapshot && strcmp(m->mid, mid) == 0)
            return m;
    }
    return NULL;
}

static void memo_put(fd_store *st, uint64_t snapshot, const char *mid, int64_t version,
                     int64_t clock_start, int clocks)
{
    size_t len = strlen(mid);
    if (len > FD_SLUG_MAX)
        return;
    store_stamp_memo *m = &st->batch.stamps[st->batch.stamp_next++ % STORE_STAMP_MEMO];
    m->snapshot = snapshot;
    memcpy(m->mid, mid, len + 1);
    m->version = version;
    m->clock_start = clock_start;
    m->clocks = clocks;
}

fd_err store_mig_stamp(fd_store *st, const char *mid, int64_t *version, int64_t *clock_start,
                       int *clocks)
{
    *version = -1;
    *clock_start = -1;
    *clocks = 0;
    uint64_t snapshot = open_snapshot(st);
    const store_stamp_memo *memo = snapshot != 0 ? memo_find(st, snapshot, mid) : NULL;
    if (memo != NULL) {
        *version = memo->version;
        *clock_start = memo->clock_start;
        *clocks = memo->clocks;
        return FD_OK;
    }
    /* A stage's clock runs while it is active and has a start (flight_time.c: the "timing"
     * member); a go-around's re-opened stage has none. The LEFT JOIN keeps the migration's row
     * when no clock runs. */
    sqlite3_stmt *s = store_stmt(st, S_MIG_STAMP,
                                 "SELECT m.version, s.started_at FROM migrations m"
                                 " LEFT JOIN stages s ON s.migration = m.id"
                                 " AND s.status = 'active' AND s.started_at >= 0"
                                 " WHERE m.id = ?1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, mid);
    int rc, rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows++;
        *version = sqlite3_column_int64(s, 0);
        if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
            *clock_start = sqlite3_column_int64(s, 1);
            (*clocks)++;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "migration stamp");
    if (rows == 0)
        return FD_E_NOT_FOUND;
    /* kept only if the query ran in the snapshot named before it: still the open one, unbroken */
    if (snapshot != 0 && open_snapshot(st) == snapshot)
        memo_put(st, snapshot, mid, *version, *clock_start, *clocks);
    return FD_OK;
}
