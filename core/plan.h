/*
 * plan.h - validating plans (the body of flight_create) and the pieces a PATCH may carry.
 *
 * Every refusal names the JSON path of the offending field (check.h). Functions that take a
 * store also check that named teams exist (read only; no writes).
 */
#ifndef FD_PLAN_H
#define FD_PLAN_H

#include <jansson.h>

#include "store_internal.h"

/* A checked plan, normalised: what flight_create writes. */
typedef struct plan_parts {
    fd_mig_plan mig;    /* strings borrowed from the plan */
    json_t *teams;      /* owned: slugs, owner first when the plan did not name it */
    json_t *dashboards; /* owned: [{title, url, kind}] with kind defaulted */
    json_t *stages;     /* owned: [{key, title, steps: [StepInput], signoffs: [{team, count}],
                           allow_shared_signers: bool, expected_minutes: n|null}],
                           the defaults when absent */
} plan_parts;

/* The field tables of the plan format, one copy for plan.c (create and PATCH bodies) and
 * plan_lint.c (the whole format, every error), so the two cannot drift apart. */
#include "check.h"
extern const check_field plan_top_fields[];       /* the plan document */
extern const check_field plan_window_fields[];    /* window */
extern const check_field plan_dashboard_fields[]; /* dashboards[] */
extern const check_field plan_stage_fields[];     /* stages[] */
extern const check_field plan_signoff_fields[];   /* stages[].signoffs[] */
extern const check_field plan_step_fields[];      /* stages[].steps[] (StepInput) */

/* Check a whole plan. On success `out` is filled (plan_parts_free); on failure p says where. */
fd_err plan_check(fd_store *st, const json_t *plan, plan_parts *out, fd_problem *p);
void plan_parts_free(plan_parts *pp);

/* Check a StepInput at `path` ("" for a request body). patch: title optional, "position"
 * allowed, nulls mean "clear". */
fd_err plan_check_step(fd_store *st, const json_t *step, const char *path, int patch,
                       fd_problem *p);

/* Check the affected teams (array of existing slugs, no repeats) and return them normalised
 * with `owner` first when missing (new array in *out). */
fd_err plan_check_teams(fd_store *st, const json_t *teams, const char *owner, json_t **out,
                        fd_problem *p);

/* Check a team slug field names an existing team; `field` is its path. */
fd_err plan_check_team_exists(fd_store *st, const char *slug, const char *field, fd_problem *p);

/* Check {start, end} (end after start) at `path`. */
fd_err plan_check_window(const json_t *w, const char *path, int64_t *start, int64_t *end,
                         fd_problem *p);

/* Check sign-off requirements [{team, count?: 1..20 (default 1)}] at `path`: each team one of
 * `teams` (the migration's affected teams, array of slugs), named once. New array with counts
 * defaulted in *out. */
fd_err plan_check_signoffs(const json_t *arr, const char *path, const json_t *teams, json_t **out,
                           fd_problem *p);

/* Check dashboards and return them with kind defaulted (new array in *out). */
fd_err plan_check_dashboards(const json_t *arr, const char *path, json_t **out, fd_problem *p);

#endif
