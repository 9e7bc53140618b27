/*
 * store_plans.h - what plans as code (plan_export.c, template.c) and the cutover switches
 * (switches.c, switch_calls.c) ask of the store; implemented in store_plans.c.
 *
 * Same rules as store_internal.h: nothing here mentions SQLite; writes run inside
 * store_begin/store_commit (the rules use core_mutate); every function returns FD_OK,
 * FD_E_NOT_FOUND where said, or FD_E_INTERNAL (store_last_error() says why). JSON handed out is
 * owned by the caller; JSON taken in is borrowed.
 */
#ifndef FD_STORE_PLANS_H
#define FD_STORE_PLANS_H

#include <jansson.h>

#include "store_internal.h"

/* ---- the plan's extras: rollback PR to arm later, switch rules ---- */

/* Insert or replace. rollback: {repo, pr, merge_method, requires_second_lead} or NULL; rules: an
 * array (NULL: none). */
fd_err store_plan_extras_put(fd_store *st, const char *mid, const json_t *rollback,
                             const json_t *rules);
/* *rollback: the object or JSON null; *rules: an array ([] when the migration has none). */
fd_err store_plan_extras_get(fd_store *st, const char *mid, json_t **rollback, json_t **rules);

/* ---- templates ---- */

typedef struct store_template_in {
    const char *id, *title, *description; /* description NULL: none */
    const json_t *plan;
    const char *source_migration; /* NULL: given as a plan */
    const char *by_sub, *by_name;
    int64_t now;
} store_template_in;

fd_err store_template_insert(fd_store *st, const store_template_in *in);
/* {id, title, description, source_migration, created_by: {sub, name}, created_at, version} and,
 * with with_plan, "plan". FD_E_NOT_FOUND when there is none. */
fd_err store_template_get(fd_store *st, const char *id, int with_plan, json_t **out);
/* Templates with id > after (NULL: from the start), at most `limit`, without their plans. */
fd_err store_template_list(fd_store *st, const char *after, int limit, json_t **items);
fd_err store_template_delete(fd_store *st, const char *id);

/* ---- switches ---- */

/* A switch at its initial position (positions[0]), applied. action may be NULL. */
fd_err store_switch_insert(fd_store *st, const char *mid, const char *name, int ord,
                           const char *title, const json_t *positions, const json_t *action);
/*
 * The switches of a migration in plan order, or one (FD_E_NOT_FOUND): rows as
 *   {name, title, positions: [...], action: {...}|null, position, applied: bool,
 *    error: "..."|null, version, last_move: id|null, moved_by: {sub, name}|null,
 *    moved_at: <time>|null, pending: bool (the last move's flag call is still pending)}
 * The action may hold header values: never hand it to a client beyond the plan export.
 */
fd_err store_switch_list(fd_store *st, const char *mid, json_t **out);
fd_err store_switch_get(fd_store *st, const char *mid, const char *name, json_t **out);
/* A move: position, applied, error (NULL: none) and last_move; bumps the switch's version. */
fd_err store_switch_set(fd_store *st, const char *mid, const char *name, const char *position,
                        int applied, const char *error, int64_t last_move);
/* The flag-system answer for the current position; bumps the version. */
fd_err store_switch_set_applied(fd_store *st, const char *mid, const char *name, int applied,
                                const char *error);

typedef struct store_move_in {
    const char *mid, *name;
    const char *kind; /* "move" | "revert" */
    const char *from, *to;
    int64_t step; /* -1: none */
    const char *by_sub, *by_name;
    int64_t at;
    const char *reason; /* NULL: none */
} store_move_in;

fd_err store_switch_move_insert(fd_store *st, const store_move_in *in, int64_t *id);
/* Every move of a switch, oldest first: [{id, kind, from, to, step: id|null, by: {sub, name},
 * at, reason|null, call: null | {status, attempts, http_status|null, error|null}}]. */
fd_err store_switch_history(fd_store *st, const char *mid, const char *name, json_t **out);

/* ---- the flag-system calls ---- */

fd_err store_switch_call_insert(fd_store *st, int64_t move, const char *method, const char *url,
                                const json_t *headers, const char *body, int64_t now, int64_t *id);
/* Mark the pending calls of a switch superseded (a newer move replaces them). */
fd_err store_switch_calls_supersede(fd_store *st, const char *mid, const char *name, int64_t now);
/* Pending calls due at `now`, oldest first, at most `limit`: a new array of
 * {call, migration, switch, method, url, headers: {...}, body, attempts}. */
fd_err store_switch_call_due(fd_store *st, int64_t now, int limit, json_t **jobs);
/* {call, move, migration, switch, step: id|null, to, status, attempts}, or FD_E_NOT_FOUND. */
fd_err store_switch_call_get(fd_store *st, int64_t id, json_t **out);
/* Record an attempt's outcome: status, attempts, next_at, done_at (< 0: keep), http_status
 * (< 0: none), error (NULL: none). */
fd_err store_switch_call_update(fd_store *st, int64_t id, const char *status, int attempts,
                                int64_t next_at, int64_t done_at, int http_status,
                                const char *error);
/* The earliest next_at of a pending call, or FD_E_NOT_FOUND when none is pending. */
fd_err store_switch_call_next_due(fd_store *st, int64_t *at);

/* ---- verifications ---- */

/* When a step of `mid` with verifies = `what` was last done (confirmed, for a critical one):
 * *at and its title (copied into title[n]); FD_E_NOT_FOUND when none is done. */
fd_err store_verification_latest(fd_store *st, const char *mid, const char *what, int64_t *at,
                                 char *title, size_t n);

#endif
