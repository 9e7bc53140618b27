/*
 * flight.h - migrations, their stages and steps, and the flight state machine.
 *
 *   draft --start--> in_flight (first stage active) --complete stage--> next stage active ...
 *   completing the stage before the last one marks the migration "landed";
 *   completing the last stage closes it ("closed", read-only forever).
 *   abort {reason} from any state but closed/aborted -> "aborted" (read-only).
 *   in_flight|landed --go-around merged (rollback.h)--> "go_around": no stage is active, steps
 *   and stages do not move; a lead re-opens landing (back to the status and stage before) or
 *   aborts.
 *
 * Every mutation runs in one transaction with its audit event; a refused call changes nothing.
 * Mutations honour ctx->idem_key (replay, ctx->replayed = 1) and ctx->if_match (FD_E_STALE).
 * If-Match names the migration's version for migration calls and the step's for step calls.
 *
 * Roles: viewer reads; engineer ticks/skips/fails/unticks own ticks; lead also edits plans,
 * starts, completes stages, aborts and unticks anyone's; admin as lead.
 *
 * Documents (all JSON returned here is owned by the caller):
 *
 * Step:
 *   {"id": 42, "migration": "msk-replacement", "stage": "takeoff", "position": 1,
 *    "title": "...", "details": "..."|null, "owner_team": "data-stream"|null,
 *    "command": "..."|null, "link": "https://..."|null, "expected_minutes": 5|null,
 *    "critical": false,
 *    "status": "pending"|"awaiting_confirmation"|"done"|"skipped"|"failed",
 *    "by": {"sub": "alice", "name": "Alice"}|null, "at": "<time>"|null, "note": "..."|null,
 *    "version": 3,
 *    "confirmed_by": {"sub", "name"}|null, "confirmed_at": <time>|null,
 *    "confirm_note": "..."|null,          (the second person of a critical step)
 *    "switch": {"name": "reads", "position": "50% dynamodb"}|null (a switch step: done, it moves
 *              the switch, rules allowing; switches.h),
 *    "verifies": "row-counts"|null (what the step verifies, for the switch rules)}
 *   A critical step ticked by one person is "awaiting_confirmation" (by/at name them) until a
 *   different engineer confirms it (flight_confirm_step); then it is "done".
 *
 * Stage (inside a migration):
 *   {"key": "takeoff", "title": "Take-off", "position": 0, "status": "pending"|"active"|"done",
 *    "started_at": <time>|null, "completed_at": <time>|null,
 *    "progress": {"total": 6, "done": 2, "skipped": 1, "failed": 0, "pending": 3},
 *               (steps awaiting confirmation count as pending)
 *    "signoffs_required": [{"team", "count"}], "allow_shared_signers": false,
 *    "expected_minutes": 45|null (its own, else the sum of its steps'),
 *    "gate": Gate (gates.h),
 *    "timing": null, or for the active stage {"started_at", "elapsed_minutes",
 *              "expected_minutes"|null, "overdue": bool, "overdue_steps": [step ids]},
 *    "steps": [Step...]}            (steps omitted in list items)
 *
 * Migration:
 *   {"id": "msk-replacement", "title": "...", "description": "..."|null,
 *    "owner_team": "data-stream", "teams": ["data-stream", "platform", ...],
 *    "window": {"start": <time>, "end": <time>} | null,
 *    "dashboards": [{"title": "...", "url": "https://...", "kind": "overview"|"full"}],
 *    "status": "draft"|"in_flight"|"landed"|"go_around"|"closed"|"aborted",
 *    "current_stage": "takeoff"|null, "version": 7,
 *    "rollback": {"armed", "reasons", "pr": {"repo", "number", "url"}}|null (rollback.h;
 *                a change of "armed" or of the reasons bumps the version),
 *    "plan_rev": 3 (raised by every plan change: steps added, removed, edited; sign-off
 *                   requirements changed; acknowledgements of older revisions are stale),
 *    "created_at", "started_at", "closed_at": <time>|null, "abort_reason": "..."|null,
 *    "stages": [Stage...],
 *    "start_gate": null, or in draft {"satisfied", "stage", "briefings", "plan_rev", "missing",
 *                  "unresolved_feedback", "signoffs_missing"} (see flight_start_override),
 *    "gate_overrides": [{"kind": "start"|"complete", "stage", "reason", "missing",
 *                        "by": {"sub", "name"}, "at"}],
 *    "switches": [Switch (switches.h, without history)]: each cutover switch with its position,
 *                whether the flag system applied it, who moved it and when}
 *
 * Plan (body of flight_create; unknown fields refused, every error names its JSON path):
 *   {"id": slug, "title": 1-200, "description"?: string, "owner_team": existing team slug,
 *    "teams"?: [existing team slugs] (affected teams; owner added if missing),
 *    "window"?: {"start": time, "end": time} (end after start),
 *    "dashboards"?: [{"title", "url", "kind"?: "overview"|"full" (default "full")}],
 *    "stages"?: [{"key": slug, "title": string, "steps"?: [StepInput...],
 *                 "signoffs"?: [{"team": affected team, "count"?: 1..20 (default 1)}],
 *                 "allow_shared_signers"?: bool (default false),
 *                 "expected_minutes"?: 0..10080}]
 *               (default: takeoff "Take-off", inflight "In-flight", landing "Landing",
 *                shutdown "Shutdown", no steps),
 *    "rollback"?: {repo, pr, merge_method?, requires_second_lead?} (kept for arming later),
 *    "switches"?: [{name, title, positions, action?}], "rules"?: [{switch, beyond, requires}]}
 *   (the whole format, every check: plan_lint.h and schema/plan.schema.json; the export that
 *    creates the same plan again and templates: plans.h)
 * StepInput: {"title", "details"?, "owner_team"?: team slug, "command"?, "link"?: url,
 *             "expected_minutes"?: 0..10080, "critical"?: bool,
 *             "switch"?: {"name": a switch of the plan, "position": one of its positions},
 *             "verifies"?: slug}
 */
#ifndef FD_FLIGHT_H
#define FD_FLIGHT_H

#include <jansson.h>

#include "buf.h"
#include "store.h"

typedef enum fd_step_action {
    FD_STEP_TICK,   /* pending|failed -> done (a critical step: -> awaiting_confirmation);
                       text = optional note */
    FD_STEP_UNTICK, /* done|skipped|failed|awaiting_confirmation -> pending; text = optional
                       reason; own ticks for engineers, anyone's for leads */
    FD_STEP_SKIP,   /* pending|failed -> skipped; text = reason, required */
    FD_STEP_FAIL,   /* pending|awaiting_confirmation -> failed; text = note, required (the
                       second person of a critical step may find it was not done) */
} fd_step_action;

/* Create a migration in draft from a plan (lead). FD_E_EXISTS if the id is taken. */
fd_err flight_create(fd_store *st, fd_ctx *ctx, const json_t *plan, json_t **out);

/* The whole migration document, stages with steps. */
fd_err flight_get(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/*
 * What the whole document of `mid` (flight_get) depends on, read without building it: equal
 * stamps (all three members) mean byte-identical documents, so a reader may keep a rendered
 * document and serve it again while the stamp stays (flight_stamp.c explains the clock).
 *   version: the migration's version (its ETag); clock: which interval of the running stage's
 *   clock the document shows (-1 when none runs); cacheable: 0 when the stamp cannot vouch for
 *   the document (then build it).
 * FD_E_NOT_FOUND when there is no such migration (no detail is set: call flight_get for the
 * error the client should see). One indexed query (the migration's row and its active stage);
 * does not touch ctx.
 */
typedef struct fd_doc_stamp {
    int64_t version;
    int64_t clock;
    int cacheable;
} fd_doc_stamp;
fd_err flight_doc_stamp(fd_store *st, const char *mid, fd_doc_stamp *out);

/* The clock part of a stamp for a stage started at `started_at`, at `now` (both ms). */
int64_t flight_stamp_clock(int64_t started_at, int64_t now);

/* Keyset paging by id: {"items": [Migration without steps], "next_cursor": id|null}.
 * status: NULL for all, or one status to filter on. limit 1..200. */
fd_err flight_list(fd_store *st, fd_ctx *ctx, const char *status, const char *cursor, int limit,
                   json_t **out);

/* PATCH {title?, description?, owner_team?, teams?, window?, dashboards?,
 *        stages?: [{key, title}] (renames only)} (lead). Refused once closed or aborted.
 * *out: the whole migration. */
fd_err flight_patch(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body, json_t **out);

/* draft -> in_flight, first stage active (lead). *out: the whole migration.
 * Same as flight_start_override with no override. */
fd_err flight_start(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* Start, through the start gate (gates.h): once the migration has held a briefing, every
 * affected team acknowledged the plan at the current plan revision; no unresolved briefing
 * feedback; and the first stage's sign-offs.
 * Otherwise FD_E_CONFLICT with extras "missing": [{team, need: 1, have: 0, reason:
 * "no acknowledgement"|"stale"}], "unresolved_feedback": [{id, text}], "signoffs_missing":
 * [{team, need, have, reason}] and "stage". With a non-empty override_reason the lead takes off
 * anyway: recorded in "gate_overrides" and audited as gate.override. */
fd_err flight_start_override(fd_store *st, fd_ctx *ctx, const char *mid,
                             const char *override_reason, json_t **out);

/* Any state but closed/aborted -> aborted, reason required (lead). */
fd_err flight_abort(fd_store *st, fd_ctx *ctx, const char *mid, const char *reason, json_t **out);

/* Complete the active stage `stage` (lead): every step done or skipped. A failed or pending step
 * refuses with FD_E_CONFLICT and extra "blocking": [{id, title, status}]. */
fd_err flight_complete_stage(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                             json_t **out);

/* Complete a stage; the next stage begins only when its gate is satisfied (gates.h), else
 * FD_E_CONFLICT with extras "missing": [{team, need, have, reason: "no sign-off"|"stale"|
 * "no_go"}] and "stage" (the next one). A non-empty override_reason begins it anyway (recorded,
 * audited gate.override). The last stage needs no next gate. flight_complete_stage is this with
 * no override. */
fd_err flight_complete_stage_override(fd_store *st, fd_ctx *ctx, const char *mid,
                                      const char *stage, const char *override_reason,
                                      json_t **out);

/* Add a step at the end of `stage` (lead). Allowed in draft, and in in_flight/landed for a stage
 * that is not done (adding to the active stage is how reality gets recorded). *out: the step. */
fd_err flight_add_step(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                       const json_t *step, json_t **out);

/* PATCH a step's plan fields (StepInput fields, plus "position") (lead). Refused for a step that
 * is done, or in a done stage, or once the migration is closed/aborted. */
fd_err flight_patch_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                         const json_t *body, json_t **out);

/* Remove a step (lead); same refusals as patch. */
fd_err flight_delete_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid);

fd_err flight_get_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid, json_t **out);

/*
 * Tick / untick / skip / fail a step of the active stage (engineer or above).
 * A step already in the target state (someone else was first) is FD_E_CONFLICT with detail
 * "already ticked by Alice at 2026-11-22T14:02:11.000Z" and extra "current": Step.
 * *out: the updated step.
 */
fd_err flight_step_action(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                          fd_step_action action, const char *text, json_t **out);

/* Free what this thread keeps between step actions (the canonical text and the audit event
 * buffers). Call on a thread that ran step actions before it ends; the next action on it
 * starts them afresh. */
void flight_thread_exit(void);

/*
 * flight_step_action for the HTTP handler: the updated step is appended to `answer` as compact
 * JSON text, members in document order (byte for byte what json_out_dumps(step, 0) writes of
 * flight_step_action's *out), and its version goes to *version (the ETag). No tree is built:
 * this is the path of every durable tick. On error `answer` holds what it held before.
 */
fd_err flight_step_action_text(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                               fd_step_action action, const char *text, fd_buf *answer,
                               int64_t *version);

/*
 * The second person of a critical step: awaiting_confirmation -> done (engineer or above),
 * recording confirmed_by/confirmed_at and the optional note. The person who ticked it gets
 * FD_E_FORBIDDEN ("a critical step needs a second person: someone other than Alice must
 * confirm"); a step not awaiting confirmation is FD_E_CONFLICT with extra "current".
 * Audited step.confirm (before/after name both people). If-Match names the step's version.
 */
fd_err flight_confirm_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                           const char *note, json_t **out);

/*
 * The flight clock: for every migration in flight, append step.overdue for each open step of the
 * active stage past its deadline and stage.overdue for the stage past its expected time, each
 * exactly once (recorded), as the system actor {sub "flightdeck", name "flightdeck clock",
 * role admin, source api}, in one transaction. server/ calls it on a timer (every 10 s) on the
 * loop thread; FD_OK when nothing was due.
 */
fd_err flight_check_overdue(fd_store *st, int64_t now_ms);

#endif
