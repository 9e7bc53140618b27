/*
 * store_step_row.h - a step as a plain C row, and its JSON text written straight from it.
 *
 * The durable tick is the hottest write of flightdeck (issue 8 wants 25,000/s on two cores), and
 * building the Step document as a jansson tree, copying it for the answer and walking both trees
 * again to write the answer and the audit event's before/after cost about a third of the loop's
 * work per tick. The actions of a live flight (tick, untick, skip, fail: flight_steps.c) read the
 * step into this row instead and write its text directly:
 *   - in document order, byte for byte what json_out_dumps(store_step_doc(...), 0) writes (the
 *     answer, and what an Idempotency-Key replays);
 *   - with keys sorted, byte for byte what json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) writes
 *     (the canonical form the audit event's before/after must have, audit.h).
 * tests/unit/test_step_row.c compares both with jansson on steps of every shape.
 * Everything else (GET, plan edits, confirm) still uses store_step_doc's tree.
 */
#ifndef FD_STORE_STEP_ROW_H
#define FD_STORE_STEP_ROW_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "store_internal.h"

/* A nullable text column: s is NULL for SQL NULL, else n bytes at s (NUL-terminated). */
typedef struct store_text {
    const char *s;
    size_t n;
} store_text;

/* A nullable integer column: set is 0 for SQL NULL. */
typedef struct store_opt_int {
    int set;
    int64_t v;
} store_opt_int;

/* The columns of a step, one member per member of the Step document (flight.h). */
typedef struct store_step_row {
    int64_t id;
    store_text migration, stage;
    int64_t position;
    store_text title, details, owner_team, command, link;
    store_opt_int expected_minutes;
    int critical;
    store_text status;
    store_text by_sub, by_name; /* "by": null when by_sub is null */
    store_opt_int at;
    store_text note;
    int64_t version;
    store_text confirmed_by_sub, confirmed_by_name; /* "confirmed_by", as "by" */
    store_opt_int confirmed_at;
    store_text confirm_note;
    store_text switch_name, switch_position; /* "switch": null when switch_name is null */
    store_text verifies;
    char *mem; /* the copies of the strings of a row read from the database; NULL if borrowed */
} store_step_row;

/*
 * Read step `sid` of migration `mid` into *row and the migration's head into *head (id, status,
 * current_stage, version; nstages is not read and left 0), in one statement. FD_E_NOT_FOUND when
 * there is no such step or migration (the caller tells which apart with the separate reads),
 * FD_E_INTERNAL when the database fails. On FD_OK the row owns copies of its strings: release
 * them with store_step_row_free. On error *row is zeroed (free is still safe).
 */
fd_err store_step_row_read(fd_store *st, const char *mid, int64_t sid, store_step_row *row,
                           fd_mig_head *head);

/* Release what store_step_row_read copied. Safe on a zeroed or borrowed row. */
void store_step_row_free(store_step_row *row);

/*
 * The row that store_step_set_status(..., status, by_sub, by_name, at, note) leaves behind,
 * derived from `before` without reading it back: *after borrows the strings of `before` and the
 * arguments (it owns nothing; it must not outlive them, and needs no free).
 */
void store_step_row_after_status(const store_step_row *before, const char *status,
                                 const char *by_sub, const char *by_name, int64_t at,
                                 const char *note, store_step_row *after);

/*
 * Append the Step document of `row` to `b` as compact JSON: in document order (sorted == 0), or
 * with keys sorted (sorted == 1, the audit's canonical form). Returns 0, or -1 when a string is
 * not UTF-8 or memory runs out (`b` then holds what it held before).
 */
int store_step_row_json(fd_buf *b, const store_step_row *row, int sorted);

/* The Step document of `row` as a new jansson tree (for the rare paths that want one: refusals
 * naming the step, switch steps), or NULL when it cannot be built. */
json_t *store_step_row_doc(const store_step_row *row);

#endif
