/*
 * audit_csv.h - one audit event as one CSV row (RFC 4180), for the audit export (audit.c).
 *
 * Columns: seq,at,migration,actor_sub,actor_name,actor_role,source,action,target,note,
 * request_id,before,after,prev_hash,hash. String cells are the event's strings unescaped;
 * before/after are their compact JSON (keys sorted), empty when null. A cell with a comma, a
 * quote or a line break is quoted (quotes doubled); a cell that a spreadsheet would run as a
 * formula (= + - @ tab CR first) gets a leading apostrophe.
 *
 * Inside core only (audit.c and the tests).
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

#endif
