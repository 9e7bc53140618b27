/* store_stamp.c - the few columns that tell whether a rendered migration document is still
 * current (flight.h: flight_doc_stamp): the migration's version, and the start of every stage
 * whose clock runs. One indexed lookup; no document is built. */
#include "store_sqlite.h"

fd_err store_mig_stamp(fd_store *st, const char *mid, int64_t *version, int64_t *clock_start,
                       int *clocks)
{
    *version = -1;
    *clock_start = -1;
    *clocks = 0;
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
    return rows > 0 ? FD_OK : FD_E_NOT_FOUND;
}
