/* flight_stamp.c - what a rendered migration document depends on, read without building it
 * (flight.h: flight_doc_stamp), so a reader can keep rendered documents and serve them again.
 *
 * The document changes in two ways. Every change of the migration or of anything in it bumps
 * its version (store_mig_bump). And the clock: the active stage's "timing" (flight_time.c)
 * shows elapsed_minutes = floor(d / 1 min) and overdue flags "d > k min" for whole minutes k,
 * where d = now - the stage's start. Both only change when d crosses a multiple of a minute:
 * elapsed at d = k min, the overdue flags one millisecond later. So the clock part of the stamp
 * names that interval: 0 for d <= 0, then 2k+1 for d = k min exactly, 2k+2 for k min < d <
 * (k+1) min. */
#include "flight.h"

#include "store_internal.h"

#define MINUTE_MS 60000LL

int64_t flight_stamp_clock(int64_t started_at, int64_t now)
{
    int64_t d = now - started_at;
    if (d <= 0)
        return 0;
    int64_t k = d / MINUTE_MS;
    return 2 * k + (d % MINUTE_MS == 0 ? 1 : 2);
}

fd_err flight_doc_stamp(fd_store *st, const char *mid, fd_doc_stamp *out)
{
    int64_t start = -1;
    int clocks = 0;
    out->version = -1;
    out->clock = -1;
    out->cacheable = 0;
    fd_err e = store_mig_stamp(st, mid, &out->version, &start, &clocks);
    if (e != FD_OK)
        return e;
    /* one running clock is the normal case; more than one stage running at once is not a
     * state the flight reaches, and is simply not cacheable rather than reasoned about */
    out->cacheable = clocks <= 1;
    if (clocks == 1)
        out->clock = flight_stamp_clock(start, store_now_ms(st));
    return FD_OK;
}
