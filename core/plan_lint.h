/*
 * plan_lint.h - the plan validator that reports every error, not only the first: for
 * `flightdeck plan lint` (offline, no database), for templates, and in front of plan_check
 * (plan.h), which refuses a plan with the first error found here. schema/plan.schema.json
 * describes the same format; tests/unit/test_plan_export.c holds the two in agreement.
 *
 * The plan (the body of POST /api/migrations, flight.h) with what plans as code add:
 *   "rollback"?: {"repo": "owner/name", "pr": 1.., "merge_method"?: "merge"|"squash"|"rebase",
 *                 "requires_second_lead"?: bool}   (kept for arming later: PUT .../rollback)
 *   "switches"?: [{"name": slug, "title": 1-200, "positions": [2-16 distinct strings of 1-100],
 *                  "action"?: {"method": "POST"|"PUT"|"PATCH", "url": http(s),
 *                              "headers"?: {name: value}, "body": any JSON}}]
 *       body strings may hold {{position}}, {{switch}} and {{migration}}; header values may hold
 *       {{secret:NAME}} (resolved by the server from FLIGHTDECK_SECRET_NAME when the call is
 *       sent: plans carry no secrets). A header whose name looks secret (authorization, cookie,
 *       or containing token, secret, key, password) must use {{secret:NAME}}.
 *   "rules"?: [{"switch": name, "beyond": a position of it but the last,
 *               "requires": [{"switch": another switch, "at_least": one of its positions} |
 *                            {"verification": slug named by a step's "verifies",
 *                             "within_hours": 1..8760}]}]
 *   StepInput gains "switch"?: {"name": a declared switch, "position": one of its positions}
 *   and "verifies"?: slug.
 *
 * Each error names its JSON path ("stages[1].steps[0].switch.position") and says what is wrong,
 * in the words of check.h ("... must be a slug ...", "... is not a known field").
 */
#ifndef FD_PLAN_LINT_H
#define FD_PLAN_LINT_H

#include <jansson.h>

#include "check.h"
#include "store.h"

/* One error: its code (FD_E_UNKNOWN_FIELD, FD_E_INVALID, FD_E_BAD_REQUEST for a plan that is
 * not an object, FD_E_INTERNAL when the team lookup failed), the JSON path ("" for the plan
 * itself) and a sentence that begins with the path. Both strings live for the call only. */
typedef void (*plan_lint_fn)(void *arg, fd_err code, const char *path, const char *message);

/* Does team `slug` exist? 1 yes, 0 no, -1 cannot tell (a database error). */
typedef int (*plan_team_fn)(void *arg, const char *slug);

/*
 * Check `plan` and call fn for every error, in document order. `path` is where the plan sits
 * ("" for a request body, "plan" inside a template). teams NULL: team existence is not checked
 * (offline lint); slugs are still checked. Returns the number of errors (0: valid).
 */
int plan_lint(const json_t *plan, const char *path, plan_team_fn teams, void *teams_arg,
              plan_lint_fn fn, void *arg);

/* plan_lint against the store's teams; the first error fills `p` and is returned (FD_OK when
 * the plan is valid). */
fd_err plan_lint_first(fd_store *st, const json_t *plan, const char *path, fd_problem *p);

/* A team oracle over a JSON array of slugs (arg: the array), for `plan lint --teams a,b`. */
int plan_lint_teams_in(void *arg, const char *slug);

/* The fields the validator accepts at `where`, terminated by a NULL name, or NULL for an unknown
 * place. Places: plan window dashboard stage signoff step step.switch rollback switch action rule
 * requirement. For the schema agreement test. */
const check_field *plan_lint_fields(const char *where);

#endif
