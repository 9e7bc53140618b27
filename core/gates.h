/*
 * gates.h - what must be true before a migration moves: team briefings acknowledged on the
 * current plan, and a go from the teams each stage names, given to the stage as it is now.
 *
 * Nothing moved in the first seed until the affected teams were briefed and had given their go.
 * Three rules make flightdeck's gates honest:
 *   - a quorum is people, not clicks: "sre needs 2" means two different members of sre;
 *   - a go is bound to what it approved: each sign-off stores the SHA-256 of its stage's content
 *     (the steps' plan fields in order, and the sign-off requirements); when the stage changes,
 *     the go is stale and counts no more. An acknowledgement is bound to the plan revision;
 *   - the refusal says exactly what is missing: missing: [{team, need, have, reason}].
 *
 * Gates apply on: start (once the migration has held a briefing, every affected team
 * acknowledged on the current plan revision; no unresolved feedback; the first stage's
 * sign-offs) and completing stage N (stage N+1's sign-offs). A plan that names no sign-offs and
 * holds no briefing flies as before. A lead may override either with a reason: audited as
 * gate.override and listed in the migration's "gate_overrides". See flight.h for
 * flight_start_override and flight_complete_stage_override.
 *
 * Documents (owned by the caller):
 *
 * Briefing:
 *   {"id": 3, "migration": "msk", "title": "Take-off briefing", "at": <time>, "notes": "..."|null,
 *    "teams": ["sre", "data-stream"], "by": {"sub", "name"}, "created_at": <time>,
 *    "plan_rev": 4 (the migration's current revision), "version": 2,
 *    "acks": [{"id", "team", "by": {"sub","name"}, "comment"|null, "plan_rev", "at",
 *              "stale": bool (given on an older revision)}],
 *    "feedback": [Feedback]}
 * Feedback:
 *   {"id", "briefing", "text", "by": {"sub","name"}, "at", "resolved": bool,
 *    "resolution"|null, "resolved_by": {"sub","name"}|null, "resolved_at"|null,
 *    "step_id"|null, "version"}
 * Sign-off:
 *   {"id", "stage", "team", "by": {"sub","name"}, "decision": "go"|"no_go", "comment"|null,
 *    "override_reason"|null, "at", "stage_hash", "stale": bool}
 * Gate (of a stage; also in every Stage of the migration document as "gate"):
 *   {"satisfied": bool,
 *    "teams": [{"team", "need", "have", "status": "go"|"no_go"|"stale"|"waiting",
 *               "signers": [{"sub", "name", "decision", "at", "stale", "comment"}]}],
 *    "missing": [{"team", "need", "have", "reason": "no sign-off"|"stale"|"no_go"}]}
 *
 * Roles: viewers read; engineers acknowledge (for their own teams), give feedback and sign off
 * (for their own teams); leads create briefings, resolve feedback, edit stage requirements and
 * override gates; an admin may sign for a team they are not in only with an override_reason.
 * Every mutation runs through core_mutate (Idempotency-Key; one transaction with its audit
 * event) and bumps the migration's version: the migration document shows the gates.
 */
#ifndef FD_GATES_H
#define FD_GATES_H

#include <jansson.h>

#include "store.h"

/* ---- briefings (briefing.c) ---- */

/* body {title: 1-200, at: time, notes?: string, teams: [affected team slugs, 1+]} (lead).
 * Allowed in any state but closed/aborted. Audited briefing.create. *out: the Briefing. */
fd_err gates_briefing_create(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body,
                             json_t **out);
/* {"items": [Briefing...]}, oldest first. */
fd_err gates_briefing_list(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);
fd_err gates_briefing_get(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, json_t **out);

/* body {team, comment?}: a member of `team` (engineer or above) acknowledges the plan for the
 * team, at the current plan revision. `team` must be one of the briefing's teams (else
 * FD_E_INVALID naming "team"); a non-member is FD_E_FORBIDDEN; the same person acknowledging the
 * same revision twice is FD_E_CONFLICT. If-Match names the briefing's version. Audited
 * briefing.ack. *out: the Briefing. */
fd_err gates_briefing_ack(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid,
                          const json_t *body, json_t **out);

/* body {text: 1-4000} (engineer or above). Audited feedback.create. *out: the Feedback. */
fd_err gates_feedback_add(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid,
                          const json_t *body, json_t **out);
/* {"items": [Feedback...]}, oldest first. */
fd_err gates_feedback_list(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, json_t **out);
/* body {resolution: 1-4000, step_id?: a step of the migration} (lead). Resolving twice is
 * FD_E_CONFLICT. If-Match names the item's version. Audited feedback.resolve. *out: Feedback. */
fd_err gates_feedback_resolve(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, int64_t fid,
                              const json_t *body, json_t **out);

/* ---- stage requirements and sign-offs (gates.c) ---- */

/* PATCH a stage (lead) {title?: 1-200, signoffs?: [{team, count?: 1..20}],
 * allow_shared_signers?: bool, expected_minutes?: 0..10080|null}. Only while the stage is pending
 * (not active, not done), else FD_E_CONFLICT. Sign-off teams must be affected teams of the
 * migration, each named once. A change of signoffs or allow_shared_signers is a plan change
 * (plan_rev + 1; the stage's sign-offs become stale). If-Match names the migration's version.
 * Audited stage.update. *out: the whole migration. */
fd_err gates_stage_patch(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                         const json_t *body, json_t **out);

/* body {team, decision: "go"|"no_go", comment?, override_reason?} (engineer or above, member of
 * `team`). An admin outside the team may sign only with override_reason (audited
 * signoff.override instead of signoff.create); anyone else giving override_reason is
 * FD_E_FORBIDDEN. Refusals: the stage requires nothing from `team` (FD_E_INVALID naming "team");
 * the stage is done or the migration read-only (FD_E_CONFLICT); the person already signed for
 * another team of this stage and the stage does not allow shared signers (FD_E_CONFLICT).
 * If-Match names the migration's version. *out: the Sign-off with "gate": the stage's Gate. */
fd_err gates_signoff(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                     const json_t *body, json_t **out);

/* {"stage", "items": [Sign-off...] in the order given, "gate": Gate}. */
fd_err gates_signoff_list(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                          json_t **out);

#endif
