/*
 * timefmt.h - RFC 3339 UTC times with milliseconds, the only time format flightdeck speaks.
 */
#ifndef FD_TIMEFMT_H
#define FD_TIMEFMT_H

#include <stdint.h>

#define FD_TIME_LEN 25 /* "2026-11-22T01:12:22.123Z" + NUL */

/* Format milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out[FD_TIME_LEN]. */
void fd_time_format(int64_t ms, char out[FD_TIME_LEN]);

/* Parse an RFC 3339 time (any offset, optional fraction) into ms since the epoch, UTC.
 * Returns 0 or -1 when it is not a valid RFC 3339 date-time. */
int fd_time_parse(const char *s, int64_t *out_ms);

#endif
