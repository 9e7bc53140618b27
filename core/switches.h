/*
 * switches.h - cutover switches: the feature flags (or DNS weights, or routing tables) a
 * dual-read/dual-write migration moves stage by stage, the rules about their order, the
 * one-action way back, and the flag-system call that applies each move.
 *
 * A plan declares switches with ordered positions (plan_lint.h), the first the initial one:
 *   reads:  mysql -> 10% dynamodb -> 50% dynamodb -> dynamodb
 *   writes: mysql -> dual (mysql primary) -> dual (dynamodb primary) -> dynamodb
 * A switch step ({"switch": {"name": "reads", "position": "50% dynamodb"}}) moves its switch
 * when the step is done: at the tick, or for a critical step at the second person's confirm
 * (the tick checks the rules already). The move is audited switch.move in the same transaction
 * as the tick. Unticking a switch step does not move the switch back: the way back is a revert.
 * Ticking a switch step again after its flag call failed sends the call again.
 *
 * Rules ({"switch": "writes", "beyond": "dual (mysql primary)", "requires": [...]}) gate every
 * forward move of `switch` to a position after `beyond`: each requirement must hold at that
 * moment, {"switch": "reads", "at_least": "dynamodb"} (reads is at dynamodb or after it) and
 * {"verification": "row-counts", "within_hours": 24} (a step with "verifies": "row-counts" is
 * done, and was done within the last 24 hours by the flight clock). A refusal is FD_E_CONFLICT
 * saying which rule and what is missing ("writes may not pass 'dual (mysql primary)': reads must
 * be at 'dynamodb' (now '50% dynamodb')"), with extras "rule" and "unmet": [sentences]. A move
 * backwards, or a revert, is never gated.
 *
 * A revert moves a switch back one position, or to a named earlier one, in one action, by an
 * engineer or above, whenever the migration is not closed (draft, in flight, landed, go-around,
 * even aborted: the flags must still come back): no gate, no sign-off, no rule. Audited
 * switch.revert.
 *
 * With an action, each move queues a flag-system call (switch_calls.c; sent by the outbound
 * worker in server/ with the webhook deliveries): the switch shows "applied": false, "pending":
 * true until a 2xx comes back (audited switch.applied). A 4xx, or the last retry failing, is
 * final: the switch shows "applied": false with "error", switch.failed is audited, and the step
 * that moved it (if still done or awaiting confirmation) becomes "failed" with the reason as its
 * note (audited step.fail by the system actor "flightdeck flags").
 *
 * Documents (owned by the caller):
 * Switch:
 *   {"name": "reads", "title": "...", "positions": ["mysql", ...], "position": "mysql",
 *    "index": 0, "applied": true, "pending": false, "error": "..."|null, "has_action": bool,
 *    "moved_by": {"sub", "name"}|null, "moved_at": <time>|null, "version": 3,
 *    "history": [Move] (GET switches and revert only)}
 * Move:
 *   {"id", "kind": "move"|"revert", "from", "to", "step": id|null, "by": {"sub", "name"}, "at",
 *    "reason"|null, "call": null | {"status": "pending"|"applied"|"failed"|"superseded",
 *                                   "attempts", "http_status"|null, "error"|null}}
 */
#ifndef FD_SWITCHES_H
#define FD_SWITCHES_H

#include <jansson.h>

#include "store.h"
#include "webhook.h"

/* GET switches: {"migration": mid, "items": [Switch with history], "rules": [...]} (any role). */
fd_err switches_list(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* POST switches/{name}/revert {to?, reason?} (engineer or above). `to` NULL: one back.
 * If-Match names the switch's version. *out: the Switch with history. */
fd_err switches_revert(fd_store *st, fd_ctx *ctx, const char *mid, const char *name, const char *to,
                       const char *reason, json_t **out);

/* Set doc["switches"] to the migration's Switches (no history). FD_OK or FD_E_INTERNAL. */
fd_err switches_add_summary(fd_store *st, json_t *doc);

/* ---- for the flight rules (inside their transaction) ---- */

/* Create the switches and the plan's extras (rules, rollback) of a new migration from its
 * validated plan. */
fd_err switches_create(fd_store *st, const char *mid, const json_t *plan);

/* After a step's status changed to `step` (its new Step document): a switch step that is done
 * moves its switch (rules checked, audited); one awaiting confirmation has its rules checked.
 * Anything else: FD_OK. Refusals fill ctx->problem. */
fd_err switches_on_step(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *step);

/* Check a StepInput (or step patch) added to an existing migration: its "switch" must name a
 * switch of the migration and one of its positions (FD_E_INVALID naming switch.name or
 * switch.position). */
fd_err switches_check_step_input(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *step);

/* ---- the flag-system calls (switch_calls.c; loop thread) ---- */

/* 3 attempts, 500 ms then 1 s, at most 5 s. */
void switch_policy_default(webhook_policy *p);

/* Due calls, oldest first, at most `limit`: a new array of {call, migration, switch, method,
 * url, headers: {name: value with {{secret:NAME}} unresolved}, body, attempts}. */
fd_err switch_calls_due(fd_store *st, int64_t now, int limit, json_t **jobs);

/*
 * Record one attempt of `call` made at `at`: http_status the answer (< 0: none), error a short
 * reason or NULL, permanent 1 when retrying cannot help (a secret the server lacks). 2xx applies
 * the move; a 4xx, permanent, or the last attempt fails it; else it is retried per `policy`. A
 * call that is no longer pending (superseded meanwhile) is ignored. Runs its own transaction.
 */
fd_err switch_call_record(fd_store *st, const webhook_policy *policy, int64_t call, int64_t at,
                          int http_status, const char *error, int permanent);

/* The earliest time a pending call is due: 1 with *at, 0 when none, -1 on a database error. */
int switch_calls_next_due(fd_store *st, int64_t *at);

#endif
