/*
 * archive.h - the archive of a migration: one JSON document with the plan and every audit event,
 * verifiable offline with no database.
 *
 *   {"format": "flightdeck-archive/1",
 *    "migration": <Migration document of flight.h, stages with steps>,
 *    "verification": <audit_verify result when the archive was written>,
 *    "events": [<every audit event of the migration, in seq order, exactly as exported>]}
 *
 * Written as a stream in constant memory: the head (format, migration, verification) once, then
 * the events page by page through an audit cursor, which fixes the set of events when it opens
 * (the same moment the verification is computed, on the same thread), so the two agree.
 */
#ifndef FD_ARCHIVE_H
#define FD_ARCHIVE_H

#include <jansson.h>

#include "audit.h"
#include "buf.h"
#include "store.h"

#define ARCHIVE_FORMAT "flightdeck-archive/1"

typedef struct archive_cursor {
    audit_cursor events;
    int phase; /* 0 head not written, 1 events, 2 done */
    char mid[FD_SLUG_MAX + 1];
} archive_cursor;

/* Open the archive of `mid`. FD_E_NOT_FOUND for an unknown migration. Call the first
 * archive_chunk right after it, with no write in between (the head's verification and the
 * cursor's snapshot must describe the same events; on the loop thread this holds). */
fd_err archive_open(fd_store *st, const char *mid, archive_cursor *cur);

/* Append the next ~target bytes of the document to `out`; *done after the closing brace. */
fd_err archive_chunk(fd_store *st, archive_cursor *cur, fd_buf *out, size_t target, int *done);

/*
 * Verify an archive document offline: the format, that every event belongs to the archived
 * migration, the hash chain (audit_verify_events), and that the chain ends where the archive's
 * own verification says it ended (a truncated archive is caught). *out (owned):
 *   {"ok": bool, "format": "...", "migration": "msk", "chain": <audit_verify_events result>,
 *    "problems": ["..."]}
 * Returns FD_OK (the verdict is in "ok"), or FD_E_BAD_REQUEST when `doc` is not an archive at
 * all (no "events" array).
 */
fd_err archive_verify(const json_t *doc, json_t **out);

#endif
