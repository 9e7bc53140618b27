/*
 * flight.h - migrations, their stages and steps, and the flight state machine.
 *
 *   draft --start--> in_flight (first stage active) --complete stage--> next stage active ...
 *   completing the stage before the last one marks the migration "landed";
 *   completing the last stage closes it ("closed", read-only forever).
 *   abort {reason} from any state but closed/aborted -> "aborted" (read-only).
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
 *    "critical": false, "status": "pending"|"done"|"skipped"|"failed",
 *    "by": {"sub": "alice", "name": "Alice"}|null, "at": "<time>"|null, "note": "..."|null,
 *    "version": 3}
 *
 * Stage (inside a migration):
 *   {"key": "takeoff", "title": "Take-off", "position": 0, "status": "pending"|"active"|"done",
 *    "started_at": <time>|null, "completed_at": <time>|null,
 *    "progress": {"total": 6, "done": 2, "skipped": 1, "failed": 0, "pending": 3},
 *    "steps": [Step...]}            (steps omitted in list items)
 *
 * Migration:
 *   {"id": "msk-replacement", "title": "...", "description": "..."|null,
 *    "owner_team": "data-stream", "teams": ["data-stream", "platform", ...],
 *    "window": {"start": <time>, "end": <time>} | null,
 *    "dashboards": [{"title": "...", "url": "https://...", "kind": "overview"|"full"}],
 *    "status": "draft"|"in_flight"|"landed"|"closed"|"aborted",
 *    "current_stage": "takeoff"|null, "version": 7,
 *    "created_at", "started_at", "closed_at": <time>|null, "abort_reason": "..."|null,
 *    "stages": [Stage...]}
 *
 * Plan (body of flight_create; unknown fields refused, every error names its JSON path):
 *   {"id": slug, "title": 1-200, "description"?: string, "owner_team": existing team slug,
 *    "teams"?: [existing team slugs] (affected teams; owner added if missing),
 *    "window"?: {"start": time, "end": time} (end after start),
 *    "dashboards"?: [{"title", "url", "kind"?: "overview"|"full" (default "full")}],
 *    "stages"?: [{"key": slug, "title": string, "steps"?: [StepInput...]}]
 *               (default: takeoff "Take-off", inflight "In-flight", landing "Landing",
 *                shutdown "Shutdown", no steps)}
 * StepInput: {"title", "details"?, "owner_team"?: team slug, "command"?, "link"?: url,
 *             "expected_minutes"?: 0..10080, "critical"?: bool}
 */
#ifndef FD_FLIGHT_H
#define FD_FLIGHT_H

#include <jansson.h>

#include "store.h"

typedef enum fd_step_action {
    FD_STEP_TICK,   /* pending|failed -> done; text = optional note */
    FD_STEP_UNTICK, /* done|skipped|failed -> pending; text = optional reason; own ticks
                       for engineers, anyone's for leads */
    FD_STEP_SKIP,   /* pending|failed -> skipped; text = reason, required */
    FD_STEP_FAIL,   /* pending -> failed; text = note, required */
} fd_step_action;

/* Create a migration in draft from a plan (lead). FD_E_EXISTS if the id is taken. */
fd_err flight_create(fd_store *st, fd_ctx *ctx, const json_t *plan, json_t **out);

/* The whole migration document, stages with steps. */
fd_err flight_get(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* Keyset paging by id: {"items": [Migration without steps], "next_cursor": id|null}.
 * status: NULL for all, or one status to filter on. limit 1..200. */
fd_err flight_list(fd_store *st, fd_ctx *ctx, const char *status, const char *cursor, int limit,
                   json_t **out);

/* PATCH {title?, description?, owner_team?, teams?, window?, dashboards?,
 *        stages?: [{key, title}] (renames only)} (lead). Refused once closed or aborted.
 * *out: the whole migration. */
fd_err flight_patch(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body, json_t **out);

/* draft -> in_flight, first stage active (lead). *out: the whole migration. */
fd_err flight_start(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* Any state but closed/aborted -> aborted, reason required (lead). */
fd_err flight_abort(fd_store *st, fd_ctx *ctx, const char *mid, const char *reason, json_t **out);

/* Complete the active stage `stage` (lead): every step done or skipped. A failed or pending step
 * refuses with FD_E_CONFLICT and extra "blocking": [{id, title, status}]. */
fd_err flight_complete_stage(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
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

#endif
