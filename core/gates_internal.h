/*
 * gates_internal.h - what the flight rules (flight.c, flight_steps.c) ask of the gates
 * (gates.c, briefing.c) and of the flight clock (flight_time.c). Each function that takes a
 * ctx fills ctx->problem and returns the error, or FD_OK.
 */
#ifndef FD_GATES_INTERNAL_H
#define FD_GATES_INTERNAL_H

#include <jansson.h>

#include "audit.h"
#include "store_internal.h"

/* ---- gates.c ---- */

/* hex(SHA-256) of the stage's content: its steps' plan fields in position order, its sign-off
 * requirements and allow_shared_signers, as compact JSON with sorted keys. */
fd_err gates_stage_hash(fd_store *st, const char *mid, const char *stage, char out[FD_HASH_HEX]);

/* The Gate document of a stage (gates.h). */
fd_err gates_stage_gate(fd_store *st, const char *mid, const char *stage, json_t **out);

/* Completing a stage begins `next`: its gate must be satisfied. Unsatisfied: with an
 * override_reason (non-empty) the override is recorded and audited (gate.override); without,
 * FD_E_CONFLICT with extras "missing" (exactly [{team, need, have, reason}]) and "stage". */
fd_err gates_enforce_stage(fd_store *st, fd_ctx *ctx, const char *mid, const char *next,
                           const char *override_reason);

/* Add the gate and time members to a migration document built by store_mig_doc: per stage
 * "signoffs_required", "allow_shared_signers", "expected_minutes", "gate", "timing" (the active
 * stage only, else null); at the top "start_gate" (drafts only, else null) and
 * "gate_overrides". */
fd_err gates_decorate(fd_store *st, json_t *doc);

/* One line for a person from a "missing" list: "sre has 1 of 2 go (stale), dba: no-go". */
void gates_describe_missing(const json_t *missing, char *out, size_t n);

/* Record an override of an unsatisfied gate: the gate_overrides row and the gate.override
 * event. `what` is the JSON of what was missing (borrowed). */
fd_err gates_record_override(fd_store *st, fd_ctx *ctx, const char *mid, const char *kind,
                             const char *stage, const char *reason, const json_t *what);

/* ---- briefing.c ---- */

/* The start gate: {"satisfied", "stage" (the first), "briefings" (how many were held),
 * "plan_rev", "missing": [{team, need: 1, have: 0, reason: "no acknowledgement"|"stale"}],
 * "unresolved_feedback": [{id, text}], "signoffs_missing": [the first stage's Gate missing]}.
 * Acknowledgements are required once the migration has held a briefing. */
fd_err gates_start_gate(fd_store *st, const char *mid, json_t **out);

/* Start needs the start gate; like gates_enforce_stage (override kind "start"), refusing with
 * extras "missing", "unresolved_feedback", "signoffs_missing" and "stage". */
fd_err gates_enforce_start(fd_store *st, fd_ctx *ctx, const char *mid, const char *override_reason);

/* ---- flight_time.c ---- */

/* A stage's expected minutes: its own when set, else the sum of its steps' (steps as from
 * store_timing_steps); -1 when neither says anything. */
int64_t flight_time_expected(const fd_stage_cfg *cfg, const json_t *steps);

/* The "timing" member of the active stage: {started_at, elapsed_minutes, expected_minutes,
 * overdue, overdue_steps: [ids]} at `now`. New object. */
json_t *flight_time_timing(const fd_stage_cfg *cfg, const json_t *steps, int64_t now);

#endif
