/*
 * store_internal.h - what the rules (flight.c, team.c, audit.c, mutate.c) ask of the store.
 *
 * Nothing here mentions SQLite: a PostgreSQL store would implement the same functions. Reads
 * return the public JSON documents (team.h, flight.h) owned by the caller; writes take plain C
 * values or validated JSON. Every write must run inside store_begin()/store_commit() (mutate.c
 * does that). All functions return FD_OK, FD_E_NOT_FOUND where said, or FD_E_INTERNAL (the
 * database failed; store_last_error() says why, for the log).
 */
#ifndef FD_STORE_INTERNAL_H
#define FD_STORE_INTERNAL_H

#include <jansson.h>

#include "store.h"

/* ---- transactions (store.c) ---- */

/* BEGIN IMMEDIATE: the one writer takes the write lock up front, so no upgrade can fail later. */
fd_err store_begin(fd_store *st);
/* COMMIT, then hand the events queued by store_audit_insert to the event sink, in order. */
fd_err store_commit(fd_store *st);
/* ROLLBACK and drop the queued events. Safe when no transaction is open. */
void store_rollback(fd_store *st);
/* The last database error message (for logs), "" when none. */
const char *store_last_error(fd_store *st);

/* ---- idempotency keys (store.c) ---- */

/* FD_OK with *hash and *result (malloc'd, the caller frees) when (sub, key) is stored;
 * FD_E_NOT_FOUND when not. */
fd_err store_idem_get(fd_store *st, const char *sub, const char *key, char **hash, char **result);
fd_err store_idem_put(fd_store *st, const char *sub, const char *key, const char *hash,
                      const char *result, int64_t now);

/* ---- teams (store_team.c) ---- */

fd_err store_team_get(fd_store *st, const char *slug, json_t **out); /* or FD_E_NOT_FOUND */
/* 1 when the team exists, 0 when not, -1 on a database error. */
int store_team_exists(fd_store *st, const char *slug);
fd_err store_team_insert(fd_store *st, const char *slug, const char *name, const char *channel,
                         int64_t now);
/* Set name and channel (NULL channel clears it) and bump the version. */
fd_err store_team_update(fd_store *st, const char *slug, const char *name, const char *channel);
/* Teams with slug > after (NULL: from the start), at most `limit`, as a new array. */
fd_err store_team_list(fd_store *st, const char *after, int limit, json_t **items);

/* ---- migrations, stages, steps (store_flight.c) ---- */

/* The few columns the state machine decides on. */
typedef struct fd_mig_head {
    char id[FD_SLUG_MAX + 1];
    char status[16];
    char current_stage[FD_SLUG_MAX + 1]; /* "" when none */
    int64_t version;
    int nstages;
} fd_mig_head;

typedef struct fd_stage_row {
    char key[FD_SLUG_MAX + 1];
    int position; /* 0-based */
    char status[16];
} fd_stage_row;

/* The plan fields of a migration (borrowed strings). */
typedef struct fd_mig_plan {
    const char *id;
    const char *title;
    const char *description; /* NULL: none */
    const char *owner_team;
    int has_window;
    int64_t window_start, window_end;
} fd_mig_plan;

fd_err store_mig_head(fd_store *st, const char *mid, fd_mig_head *out); /* or FD_E_NOT_FOUND */
/* Insert the migration row in draft with version 1 (no teams, dashboards or stages yet). */
fd_err store_mig_insert(fd_store *st, const fd_mig_plan *plan, int64_t now);
/* Rewrite title, description, owner team and window. Does not bump the version. */
fd_err store_mig_write_plan(fd_store *st, const fd_mig_plan *plan);
/* Replace the affected teams with `slugs` (array of strings, in order). */
fd_err store_mig_set_teams(fd_store *st, const char *mid, const json_t *slugs);
/* Replace the dashboards with `dashboards` (array of {title, url, kind}, validated). */
fd_err store_mig_set_dashboards(fd_store *st, const char *mid, const json_t *dashboards);
/* Set status and current stage (NULL clears it); started_at/closed_at < 0 and abort_reason NULL
 * keep what is stored. */
fd_err store_mig_set_state(fd_store *st, const char *mid, const char *status,
                           const char *current_stage, int64_t started_at, int64_t closed_at,
                           const char *abort_reason);
/* version = version + 1. Every change of a migration
 * or of anything in it calls this once, so the migration's ETag follows its whole document. */
fd_err store_mig_bump(fd_store *st, const char *mid);
/* The same, made once just before the transaction at hand commits, however many of its changes
 * ask (a unit rolled back takes its asks with it). For the step actions: under durable ticks a
 * batch holds dozens of them, mostly of one migration, and the UPDATE was ~7 % of each one's
 * instructions. The version still moves with every durable change of the document: once per
 * transaction, in it. Nothing between the ask and the COMMIT may read the version (the step
 * actions do not; a later unit of the batch that does would see it unmoved). Outside a
 * transaction it bumps at once. */
fd_err store_mig_bump_later(fd_store *st, const char *mid);
/* store.c and store_batch.c, just before COMMIT: make the bumps asked (the list is empty after,
 * whatever the outcome); and forget them, on a rollback. */
fd_err store_mig_bumps_apply(fd_store *st);
/* store_stamp.c: the version of `mid`, and how many active stages have a running clock (the
 * start of one of them in *clock_start, -1 when none). FD_E_NOT_FOUND when no such migration. */
fd_err store_mig_stamp(fd_store *st, const char *mid, int64_t *version, int64_t *clock_start,
                       int *clocks);

/* The Migration document of flight.h: with_steps 0 gives list items (stages without "steps"). */
fd_err store_mig_doc(fd_store *st, const char *mid, int with_steps, json_t **out);
/* Migrations with id > after (NULL: from the start) and status (NULL: any), at most `limit`,
 * as a new array of documents without steps. */
fd_err store_mig_list(fd_store *st, const char *status, const char *after, int limit,
                      json_t **items);

fd_err store_stage_insert(fd_store *st, const char *mid, const char *key, const char *title,
                          int position);
fd_err store_stage_get(fd_store *st, const char *mid, const char *key, fd_stage_row *out);
fd_err store_stage_at(fd_store *st, const char *mid, int position, fd_stage_row *out);
fd_err store_stage_set_title(fd_store *st, const char *mid, const char *key, const char *title);
/* started_at/completed_at < 0 keep what is stored. */
fd_err store_stage_set_status(fd_store *st, const char *mid, const char *key, const char *status,
                              int64_t started_at, int64_t completed_at);
/* The steps of a stage that are neither done nor skipped: a new array of {id, title, status}. */
fd_err store_stage_blocking(fd_store *st, const char *mid, const char *key, json_t **out);
fd_err store_stage_step_count(fd_store *st, const char *mid, const char *key, int *count);

/* The Step document of flight.h, or FD_E_NOT_FOUND when sid is not a step of mid. */
fd_err store_step_doc(fd_store *st, const char *mid, int64_t sid, json_t **out);
/* Append a step (validated StepInput) at the end of the stage; *sid gets its id. */
fd_err store_step_insert(fd_store *st, const char *mid, const char *stage, const json_t *input,
                         int64_t *sid);
/* Rewrite the plan fields (title, details, owner_team, command, link, expected_minutes,
 * critical) from a Step document, and bump the step's version. */
fd_err store_step_write_plan(fd_store *st, int64_t sid, const json_t *step);
/* Record a status change with who/when/note (NULL note clears it), and bump the version. */
fd_err store_step_set_status(fd_store *st, int64_t sid, const char *status, const char *by_sub,
                             const char *by_name, int64_t at, const char *note);
/* Move a step from position `from` to `to` in its stage; the steps in between shift by one.
 * Every step whose position changes gets a new version. */
fd_err store_step_move(fd_store *st, const char *mid, const char *stage, int64_t sid, int from,
                       int to);
/* Delete a step and close the gap in its stage's numbering. */
fd_err store_step_delete(fd_store *st, const char *mid, const char *stage, int64_t sid,
                         int position);

/* The Step documents of one stage in position order, as a new array. */
fd_err store_stage_steps(fd_store *st, const char *mid, const char *stage, json_t **out);
/* awaiting_confirmation -> done, recording the second person (confirmed_by/at, note may be NULL).
 * by/at/note of the first person stay. Bumps the step's version. */
fd_err store_step_confirm(fd_store *st, int64_t sid, const char *sub, const char *name, int64_t at,
                          const char *note);

/* ---- gates: plan revision, sign-offs, briefings, overrides, time (store_gates.c) ---- */

fd_err store_mig_plan_rev(fd_store *st, const char *mid, int64_t *rev); /* or FD_E_NOT_FOUND */
/* plan_rev = plan_rev + 1: a plan change makes earlier acknowledgements stale. */
fd_err store_mig_bump_plan_rev(fd_store *st, const char *mid);

/* The gate and time settings of a stage. */
typedef struct fd_stage_cfg {
    char status[16];
    int allow_shared;         /* one person may sign for several teams of this stage */
    int64_t expected_minutes; /* -1: not set (the stage takes the sum of its steps) */
    int64_t started_at;       /* -1: not started */
    int64_t overdue_at;       /* -1: stage.overdue has not fired */
} fd_stage_cfg;

fd_err store_stage_cfg(fd_store *st, const char *mid, const char *stage, fd_stage_cfg *out);
/* expected_minutes -1 clears it. */
fd_err store_stage_set_cfg(fd_store *st, const char *mid, const char *stage, int allow_shared,
                           int64_t expected_minutes);
/* The sign-off requirements of a stage in order: a new array of {team, count}. */
fd_err store_stage_reqs(fd_store *st, const char *mid, const char *stage, json_t **out);
/* Replace them with `reqs` (validated [{team, count}], count defaulted). */
fd_err store_stage_set_reqs(fd_store *st, const char *mid, const char *stage, const json_t *reqs);

typedef struct fd_signoff_in {
    const char *mid, *stage, *team, *sub, *name;
    const char *decision;        /* "go" | "no_go" */
    const char *comment;         /* NULL: none */
    const char *override_reason; /* NULL: none */
    const char *stage_hash;      /* 64 hex */
    int64_t at;
} fd_signoff_in;

fd_err store_signoff_insert(fd_store *st, const fd_signoff_in *in, int64_t *id);
/* Every sign-off of a stage in the order given: a new array of {id, stage, team,
 * by: {sub, name}, decision, comment, override_reason, at, stage_hash}. */
fd_err store_signoffs(fd_store *st, const char *mid, const char *stage, json_t **out);

/* Insert a briefing and its teams (array of slugs); *bid gets its id. */
fd_err store_briefing_insert(fd_store *st, const char *mid, const char *title, int64_t at,
                             const char *notes, const char *by_sub, const char *by_name,
                             int64_t now, const json_t *teams, int64_t *bid);
/* {id, migration, title, at, notes, teams, by, created_at, version,
 *  acks: [{id, team, by, comment, plan_rev, at}], feedback: [Feedback]}, or FD_E_NOT_FOUND. */
fd_err store_briefing_doc(fd_store *st, const char *mid, int64_t bid, json_t **out);
/* Every briefing of a migration (documents as above), oldest first. */
fd_err store_briefing_list(fd_store *st, const char *mid, json_t **out);
fd_err store_briefing_bump(fd_store *st, int64_t bid);
/* How many briefings the migration has held. */
fd_err store_briefing_count(fd_store *st, const char *mid, int64_t *count);
/* FD_E_EXISTS when (briefing, team, sub, plan_rev) is already acknowledged. */
fd_err store_ack_insert(fd_store *st, const char *mid, int64_t bid, const char *team,
                        const char *sub, const char *name, const char *comment, int64_t plan_rev,
                        int64_t at);
/* Per affected team of the migration, in order: {team, acks: n, latest_rev: n|null}. */
fd_err store_ack_status(fd_store *st, const char *mid, json_t **out);

fd_err store_feedback_insert(fd_store *st, const char *mid, int64_t bid, const char *text,
                             const char *sub, const char *name, int64_t at, int64_t *fid);
/* {id, briefing, text, by, at, resolved, resolution, resolved_by, resolved_at, step_id, version}
 * or FD_E_NOT_FOUND when fid is not feedback of briefing bid of mid. */
fd_err store_feedback_doc(fd_store *st, const char *mid, int64_t bid, int64_t fid, json_t **out);
fd_err store_feedback_list(fd_store *st, const char *mid, int64_t bid, json_t **out);
/* step_id < 0: none. Bumps the item's version. */
fd_err store_feedback_resolve(fd_store *st, int64_t fid, const char *resolution, const char *sub,
                              const char *name, int64_t at, int64_t step_id);
/* The unresolved feedback of a migration, oldest first: [{id, text}]. */
fd_err store_feedback_open(fd_store *st, const char *mid, json_t **out);

/* Record a gate override; `missing` is the JSON text of what was missing. */
fd_err store_override_insert(fd_store *st, const char *mid, const char *kind, const char *stage,
                             const char *reason, const char *missing, const char *sub,
                             const char *name, int64_t at);
/* [{kind, stage, reason, missing, by, at}] oldest first. */
fd_err store_overrides(fd_store *st, const char *mid, json_t **out);

/* The steps of a stage for timing, by position: [{id, title, status, expected_minutes|null,
 * overdue: bool}]. */
fd_err store_timing_steps(fd_store *st, const char *mid, const char *stage, json_t **out);
/* The migrations in flight (in_flight or landed) with their active stage: [{id, stage}]. */
fd_err store_active_flights(fd_store *st, json_t **out);
fd_err store_step_mark_overdue(fd_store *st, int64_t sid, int64_t at);
fd_err store_stage_mark_overdue(fd_store *st, const char *mid, const char *stage, int64_t at);

/* ---- the audit log (store_audit.c) ---- */

/* The hash of the last event of `migration`'s chain (NULL: the global chain), or 64 zeros. */
fd_err store_audit_prev_hash(fd_store *st, const char *migration, char out[65]);
/* The seq the next event gets (seq is global and gap-free). */
fd_err store_audit_next_seq(fd_store *st, int64_t *seq);
/* Append the row and queue the event for the sink (delivered by store_commit). */
fd_err store_audit_insert(fd_store *st, int64_t seq, const char *migration, int64_t at,
                          const char *action, const char *prev_hash, const char *hash,
                          const char *event, size_t len);
int64_t store_audit_last_seq(fd_store *st); /* 0 when empty or on error */

typedef enum store_audit_scope {
    STORE_AUDIT_ALL,            /* every event */
    STORE_AUDIT_MIGRATION,      /* the events of one migration */
    STORE_AUDIT_GLOBAL,         /* the events outside any migration (migration NULL) */
    STORE_AUDIT_MIGRATION_WALK, /* the same rows as STORE_AUDIT_MIGRATION, found by walking the
                                   log in seq order and skipping other migrations' events: no
                                   index lookup per row, so faster when most events in the range
                                   are this migration's (the export picks it by density) */
} store_audit_scope;

/* One row, borrowed for the duration of the callback. */
typedef struct store_audit_row {
    int64_t seq;
    const char *migration; /* NULL for the global chain */
    const char *action;
    const char *prev_hash;
    const char *hash;
    const char *event; /* the exported event text */
    size_t len;
} store_audit_row;

/* Call fn for rows with after < seq <= until in seq order, at most `limit`; *count gets how many
 * rows were passed. fn returns 0 to go on, 1 to stop the page early (FD_OK), -1 to fail it
 * (FD_E_INTERNAL). The statement is reset before returning: nothing stays open between pages. */
fd_err store_audit_page(fd_store *st, store_audit_scope scope, const char *mid, int64_t after,
                        int64_t until, int limit, int (*fn)(void *arg, const store_audit_row *row),
                        void *arg, int *count);

#endif
