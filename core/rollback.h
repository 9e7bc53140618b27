/*
 * rollback.h - the go-around: a pre-approved rollback pull request kept armed, and merged with one
 * action when the flight must go around.
 *
 * A lead arms a migration's rollback PR (rollback_arm): flightdeck reads the PR from GitHub and
 * records its head as the approved SHA. From then on the rollback is checked (on a timer while
 * the migration is in flight or landed, and on demand); it is "armed" when
 *   - the PR is open and not merged;
 *   - GitHub says it is mergeable (an unknown answer, "mergeable": null, is asked again briefly);
 *   - its head is still the approved SHA;
 *   - reviews approve it: the latest review of each reviewer counts, any "changes requested"
 *     disarms, and at least one approval is needed;
 *   - the combined status and the check runs of the head are green (none failing, none pending);
 *   - the token works (GitHub answered at all).
 * Every reason that disarms is listed in words. A change of the armed state (or of the reasons
 * while disarmed) appends rollback.armed / rollback.disarmed, so the cockpit sees it live.
 *
 * The go-around (goaround_request) merges exactly the approved SHA: GitHub refuses with 409 when
 * the head moved. On success the migration enters "go_around": the active stage stops (no stage
 * is active, steps cannot change), the merge commit is recorded, go_around.merged is audited. A
 * lead then re-opens landing (goaround_reopen) for another attempt, or aborts. A failure is
 * audited go_around.failed with the reason and answered as a problem whose "outcome" member
 * says what happened:
 *   not_mergeable (GitHub 405), head_changed (409; "head_sha" shows the new head; re-arm),
 *   unprocessable (422), pr_closed, pr_not_found (404)          -> FD_E_CONFLICT
 *   token_rejected (401), no_permission (403), no_token, github_unavailable (5xx / no answer
 *   within GH_MERGE_BUDGET_MS), github_error (anything else)    -> FD_E_UNAVAILABLE
 * A merge is never sent twice: one go-around per migration runs at a time (another request is
 * FD_E_CONFLICT "a go-around is in progress"), the PR is read before merging, and after a
 * timeout or 5xx the worker asks GitHub whether the PR merged before trying again (github.h).
 * With requires_second_lead, the first lead's request waits (state "pending", answered at once)
 * until a different lead confirms within GOAROUND_CONFIRM_MS.
 *
 * Audit actions: rollback.arm rollback.armed rollback.disarmed go_around.requested
 * go_around.started go_around.merged go_around.failed go_around.expired landing.reopen
 *
 * Asynchronous calls take a rollback_done_fn: FD_OK from the call means GitHub was asked and fn
 * will be called exactly once, later, on the loop thread; an error means the call was refused
 * at once (ctx->problem says why) and fn is never called. Some calls may also answer at once
 * (*out set, fn never called): an Idempotency-Key replay, a go-around waiting for a second lead.
 * Everything runs on the loop thread (the store's thread).
 *
 * Documents (owned by the caller):
 *
 * Rollback (GET /api/migrations/{mid}/rollback):
 *   {"migration": "msk", "armed": false, "checked_at": <time>|null, "checking": false,
 *    "pr": {"repo": "acme/infra", "number": 42, "title": "...", "url": "https://...",
 *           "approved_sha": "...", "head_sha": "..."|null, "merge_method": "squash"},
 *    "requires_second_lead": false, "armed_by": {"sub", "name"}, "armed_at": <time>,
 *    "reasons": [{"code": "head_moved", "text": "..."}], "used_by": <go-around id>|null,
 *    "go_around": GoAround|null (the latest)}
 * Summary (member "rollback" of a migration document; null when none is configured):
 *   {"armed": bool, "reasons": [...], "pr": {"repo", "number", "url"}}
 * GoAround:
 *   {"id": 3, "migration": "msk", "state": "pending"|"merging"|"merged"|"failed"|"expired",
 *    "reason": "...", "pr": {"repo", "number"}, "approved_sha": "...",
 *    "requested_by": {"sub", "name"}, "requested_at": <time>, "expires_at": <time>|null,
 *    "confirmed_by": {"sub", "name"}|null, "merge_sha": "..."|null, "outcome": "..."|null,
 *    "detail": "..."|null, "finished_at": <time>|null}
 */
#ifndef FD_ROLLBACK_H
#define FD_ROLLBACK_H

#include <jansson.h>

#include "github.h"
#include "store.h"

#define GOAROUND_CONFIRM_MS 120000 /* a second lead confirms within this */
#define ROLLBACK_CHECK_MS_DEFAULT 60000

/* The answer of an asynchronous call: e == FD_OK with `doc` (ownership passes to fn), or an
 * error with `p` (borrowed for the call; fn may take p->extra by clearing it). */
typedef void (*rollback_done_fn)(void *arg, fd_err e, fd_problem *p, json_t *doc);

/*
 * PUT rollback {repo: "owner/name", pr: 1.., merge_method?: merge|squash|rebase (default merge),
 * requires_second_lead?: bool} (lead). Reads the PR from GitHub and records its head as the
 * approved SHA (audit rollback.arm, before/after the previous configuration: re-arming is an
 * explicit act). Refused for closed/aborted migrations; refused by GitHub's answer when the PR
 * cannot be read, is closed or merged. fn gets the Rollback document.
 */
fd_err rollback_arm(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body,
                    rollback_done_fn fn, void *arg);

/* GET rollback: the Rollback document from the last check. FD_E_NOT_FOUND when the migration
 * does not exist or has no rollback PR. */
fd_err rollback_get(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* GET rollback?refresh=1: check now, then fn gets the Rollback document. */
fd_err rollback_refresh(fd_store *st, fd_ctx *ctx, const char *mid, rollback_done_fn fn, void *arg);

/* The timer: start a check of every rollback of a migration in flight or landed whose last check
 * is older than interval_ms and that is not being checked. Returns how many checks started. */
int rollback_recheck_due(fd_store *st, int64_t interval_ms);

/* Set doc["rollback"] to the Summary of doc["id"]'s rollback (null when none). FD_OK or
 * FD_E_INTERNAL. */
fd_err rollback_add_summary(fd_store *st, json_t *doc);

/*
 * The decision, pure: from the answers of a GH_JOB_CHECK and the approved SHA, a new
 * {"armed": bool, "head_sha": "..."|null, "title", "url", "reasons": [{code, text}]}.
 * has_token 0 adds the reason no_token. Codes: no_token token_rejected no_permission
 * pr_not_found github_unavailable github_error pr_merged pr_closed not_mergeable
 * mergeable_unknown head_moved changes_requested not_approved reviews_unknown status_failing
 * status_pending checks_failing checks_pending checks_unknown.
 */
json_t *rollback_decide(const char *approved_sha, const gh_job *job, int has_token);

/* 1 when a PR document says "mergeable": null (GitHub is still computing): ask again. */
int rollback_pr_mergeable_unknown(const json_t *pr);

/* 1 when a PR document says it is merged. */
int rollback_pr_merged(const json_t *pr);

/* 1 when a merge answer is final: anything but a 5xx or no answer (status 0), after which the
 * merge may or may not have happened and GitHub must be asked before any retry. */
int goaround_answer_is_final(long status);

/* POST go-around {reason} (lead). FD_OK with *out set: answered now (a GoAround "pending" for a
 * second lead, or an Idempotency-Key replay); FD_OK with *out NULL: the merge is under way and
 * fn gets the GoAround document (state "merged") or the problem. fn may be NULL (chat: the
 * outcome is then only in the audit and the event stream). */
fd_err goaround_request(fd_store *st, fd_ctx *ctx, const char *mid, const char *reason,
                        rollback_done_fn fn, void *arg, json_t **out);

/* POST go-around/confirm {id} (a lead other than the one who asked, before expires_at). Then as
 * goaround_request. */
fd_err goaround_confirm(fd_store *st, fd_ctx *ctx, const char *mid, int64_t id, rollback_done_fn fn,
                        void *arg, json_t **out);

/* POST landing/reopen (lead): go_around -> the status and active stage from before the
 * go-around. *out: the migration document. Audit landing.reopen. */
fd_err goaround_reopen(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* Number of GitHub jobs of `st` still under way (checks and merges), for shutdown and tests. */
int rollback_jobs_in_flight(fd_store *st);

#endif
