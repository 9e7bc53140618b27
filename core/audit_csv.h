/*
 * audit_csv.h - one audit event as one CSV row (RFC 4180), for the audit export (audit.c).
 *
 * Columns: seq,at,migration,actor_sub,actor_name,actor_role,source,action,target,note,
 * request_id,before,after,prev_hash,hash. String cells are the event's strings unescaped;
 * before/after are their compact JSON (keys sorted), empty when null. A cell with a comma, a
 * quote or a line break is quoted (quotes doubled); a cell that a spreadsheet would run as a
 * formula (= + - @ tab CR first) gets a leading apostrophe.
 *
 * Inside core (audit.c, the tests), and the export handler (api/audit.c) for the packed rows.
 */
#ifndef FD_AUDIT_CSV_H
#define FD_AUDIT_CSV_H

#include "buf.h"
#include "store_internal.h"

/*
 * Append the row of `row` to `b`. The stored event text is trusted to be canonical (compact
 * JSON, keys sorted, as audit_append writes it), so the cells are sliced out of it by a scanner
 * that follows only its strings and brackets, without building a tree; for canonical text the
 * row is byte for byte audit_csv_row_tree's. A text the scanner cannot follow (not an object,
 * whitespace between top-level tokens, cut short, a \u escape above \u007f in a string cell, ...)
 * goes through audit_csv_row_tree instead. A well-formed but non-canonical text (a row written
 * behind flightdeck's back) is exported as stored; the CSV is well-formed whatever the bytes.
 * row->event must have a NUL at row->event[len] (SQLite text does). Returns 0, or -1 when memory
 * runs out or the jansson path refuses the event.
 */
int audit_csv_row(fd_buf *b, const store_audit_row *row);

/* The reference: parse the event with jansson and dump before/after again. The same output,
 * ~15x slower. 0 or -1. */
int audit_csv_row_tree(fd_buf *b, const store_audit_row *row);

/* How many rows audit_csv_row handed to audit_csv_row_tree since the process started (tests:
 * canonical events never should). */
unsigned long audit_csv_fallbacks(void);

/*
 * The export's rows formatted on another thread (api/audit.c; the cursor's csv_packed): the
 * thread that reads SQLite packs each row (its seq, hashes and event text, copied) with
 * audit_csv_pack_row, and so does no more than the NDJSON export does; audit_csv_unpack, on any
 * thread, then writes the CSV of a buffer of packed rows to `out`: exactly what audit_csv_row
 * would have written, and the bytes between the rows (the header line) as they are. Both return
 * 0, or -1 (memory; for unpack also a row the jansson path refuses, or a buffer that is not
 * packed rows).
 */
int audit_csv_pack_row(fd_buf *b, const store_audit_row *row);
int audit_csv_unpack(fd_buf *out, const char *in, size_t n);

#endif
