/* flight.c - migrations and the flight state machine (see flight.h).
 *
 * Each public mutation packs its arguments and runs a rule_* function through core_mutate
 * (mutate.c), which owns the transaction and the Idempotency-Key. A rule checks in this order:
 * role, input, existence, read-only state, If-Match, then the state machine; it writes, bumps
 * the migration's version once, appends its audit events and returns the document. Step edits
 * live in flight_steps.c. */
#include "flight.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight_internal.h"
#include "gates_internal.h"
#include "mutate.h"
#include "plan.h"
#include "rollback.h"
#include "switches.h"
#include "timefmt.h"

#define PAGE_MAX 200

/* ---- helpers shared with flight_steps.c ---- */

fd_err flight_require_role(fd_ctx *ctx, fd_role min, const char *what)
{
    if (ctx->actor->role >= min)
        return FD_OK;
    return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL, "only %s %s can %s; you are %s",
                   min == FD_ROLE_ENGINEER ? "an" : "a", fd_role_name(min), what,
                   fd_role_name(ctx->actor->role));
}

fd_err flight_load_head(fd_store *st, fd_ctx *ctx, const char *mid, fd_mig_head *h)
{
    fd_err e = store_mig_head(st, mid, h);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "no migration %s", mid);
    return e;
}

fd_err flight_refuse_read_only(fd_ctx *ctx, const fd_mig_head *h)
{
    if (strcmp(h->status, "closed") == 0 || strcmp(h->status, "aborted") == 0) {
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "migration %s is %s: it is read-only", h->id,
                h->status);
        fd_problem_set(&ctx->problem, "status", json_string(h->status));
        return FD_E_CONFLICT;
    }
    return FD_OK;
}

fd_err flight_if_match(fd_ctx *ctx, int64_t version, const char *what)
{
    if (ctx->if_match < 0 || ctx->if_match == version)
        return FD_OK;
    fd_fail(&ctx->problem, FD_E_STALE, NULL,
            "%s changed: it is at version %lld, not %lld; reload it and try again", what,
            (long long)version, (long long)ctx->if_match);
    fd_problem_set(&ctx->problem, "current_version", json_integer(version));
    return FD_E_STALE;
}

void flight_target_mig(char *out, size_t n, const char *mid)
{
    snprintf(out, n, "migrations/%s", mid);
}

fd_err flight_doc(fd_store *st, const char *mid, int with_steps, json_t **out)
{
    fd_err e = store_mig_doc(st, mid, with_steps, out);
    if (e == FD_OK)
        e = gates_decorate(st, *out);
    if (e == FD_OK)
        e = rollback_add_summary(st, *out);
    if (e == FD_OK)
        e = switches_add_summary(st, *out);
    if (e != FD_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return e;
}

/* ---- reads ---- */

fd_err flight_get(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    fd_err e = flight_doc(st, mid, 1, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "no migration %s", mid);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return FD_OK;
}

static int is_status(const char *s)
{
    static const char *const all[] = {"draft",     "in_flight", "landed",
                                      "go_around", "closed",    "aborted"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, all[i]) == 0)
            return 1;
    }
    return 0;
}

fd_err flight_list(fd_store *st, fd_ctx *ctx, const char *status, const char *cursor, int limit,
                   json_t **out)
{
    *out = NULL;
    if (limit < 1 || limit > PAGE_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "limit", "limit must be from 1 to %d",
                       PAGE_MAX);
    if (status != NULL && !is_status(status))
        return fd_fail(&ctx->problem, FD_E_INVALID, "status",
                       "status must be draft, in_flight, landed, go_around, closed or aborted");
    json_t *items = NULL;
    /* one more than asked tells whether another page follows */
    fd_err e = store_mig_list(st, status, cursor, limit + 1, &items);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (e == FD_OK)
            e = gates_decorate(st, item);
        if (e == FD_OK)
            e = rollback_add_summary(st, item);
    }
    if (e != FD_OK) {
        json_decref(items);
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    }
    json_t *next = json_null();
    if (json_array_size(items) > (size_t)limit) {
        json_array_remove(items, (size_t)limit);
        next = json_incref(json_object_get(json_array_get(items, (size_t)limit - 1), "id"));
    }
    *out = json_pack("{s:o,s:o}", "items", items, "next_cursor", next);
    return FD_OK;
}

/* ---- create ---- */

fd_err flight_rule_create(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const json_t *plan = args;
    plan_parts pp;
    fd_mig_head h;
    char target[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "create a migration");
    if (e != FD_OK)
        return e;
    e = plan_check(st, plan, &pp, &ctx->problem);
    if (e != FD_OK)
        return e;
    e = store_mig_head(st, pp.mig.id, &h);
    if (e == FD_OK) {
        e = fd_fail(&ctx->problem, FD_E_EXISTS, "id", "a migration %s already exists", pp.mig.id);
        goto done;
    }
    if (e != FD_E_NOT_FOUND)
        goto done;
    int64_t now = store_now_ms(st);
    e = store_mig_insert(st, &pp.mig, now);
    if (e == FD_OK)
        e = store_mig_set_teams(st, pp.mig.id, pp.teams);
    if (e == FD_OK)
        e = store_mig_set_dashboards(st, pp.mig.id, pp.dashboards);
    size_t i, k;
    json_t *g, *step;
    json_array_foreach(pp.stages, i, g)
    {
        const char *key = check_str(g, "key", "");
        if (e == FD_OK)
            e = store_stage_insert(st, pp.mig.id, key, check_str(g, "title", ""), (int)i);
        json_array_foreach(json_object_get(g, "steps"), k, step)
        {
            int64_t sid;
            if (e == FD_OK)
                e = store_step_insert(st, pp.mig.id, key, step, &sid);
        }
        const json_t *minutes = json_object_get(g, "expected_minutes");
        if (e == FD_OK)
            e = store_stage_set_cfg(st, pp.mig.id, key,
                                    json_is_true(json_object_get(g, "allow_shared_signers")),
                                    json_is_integer(minutes) ? json_integer_value(minutes) : -1);
        if (e == FD_OK)
            e = store_stage_set_reqs(st, pp.mig.id, key, json_object_get(g, "signoffs"));
    }
    if (e == FD_OK) /* switches, rules and the rollback PR to arm later (switches.h) */
        e = switches_create(st, pp.mig.id, plan);
    if (e == FD_OK)
        e = flight_doc(st, pp.mig.id, 1, out);
    flight_target_mig(target, sizeof target, pp.mig.id);
    if (e == FD_OK)
        e = audit_append(st, ctx, pp.mig.id, "migration.create", target, NULL, *out, NULL);
done:
    plan_parts_free(&pp);
    return e;
}

fd_err flight_create(fd_store *st, fd_ctx *ctx, const json_t *plan, json_t **out)
{
    return core_mutate(st, ctx, flight_rule_create, (void *)plan, out);
}

/* ---- patch ---- */

static const check_field patch_fields[] = {
    {"title", CHECK_STRING, 0, 1, 200},  {"description", CHECK_STRING, 0, 0, 10000},
    {"owner_team", CHECK_SLUG, 0, 0, 0}, {"teams", CHECK_ARRAY, 0, 0, 64},
    {"window", CHECK_OBJECT, 0, 0, 0},   {"dashboards", CHECK_ARRAY, 0, 0, 50},
    {"stages", CHECK_ARRAY, 0, 0, 32},   {NULL, 0, 0, 0, 0},
};

static const check_field stage_rename_fields[] = {
    {"key", CHECK_SLUG, 1, 0, 0},
    {"title", CHECK_STRING, 1, 1, 200},
    {NULL, 0, 0, 0, 0},
};

typedef struct mig_args {
    const char *mid;
    const json_t *body;
    const char *text;     /* abort reason */
    const char *stage;    /* complete */
    const char *override; /* start, complete: a lead's reason to pass an unsatisfied gate */
} mig_args;

/* Record a changed member in before/after and in the working document `cur`. Steals `now`. */
static void change(json_t *cur, json_t *before, json_t *after, const char *key, json_t *now)
{
    if (json_equal(json_object_get(cur, key), now)) {
        json_decref(now);
        return;
    }
    json_object_set(before, key, json_object_get(cur, key));
    json_object_set(after, key, now);
    json_object_set_new(cur, key, now);
}

/* Apply stage renames [{key, title}] to cur["stages"], recording what changed. */
static fd_err rename_stages(fd_ctx *ctx, json_t *cur, const json_t *renames, json_t *before,
                            json_t *after)
{
    json_t *stages = json_object_get(cur, "stages");
    json_t *old = json_array(), *new = json_array();
    size_t i, j;
    json_t *r, *g;
    char at[64];
    fd_err e = FD_OK;
    json_array_foreach(renames, i, r)
    {
        snprintf(at, sizeof at, "stages[%zu]", i);
        e = check_object(r, stage_rename_fields, at, &ctx->problem);
        if (e != FD_OK)
            goto done;
        const char *key = check_str(r, "key", ""), *title = check_str(r, "title", "");
        json_t *found = NULL;
        json_array_foreach(stages, j, g)
        {
            if (strcmp(check_str(g, "key", ""), key) == 0)
                found = g;
        }
        if (found == NULL) {
            snprintf(at, sizeof at, "stages[%zu].key", i);
            e = fd_fail(&ctx->problem, FD_E_INVALID, at,
                        "%s names no stage of this migration: %s (stages can be renamed, not "
                        "added)",
                        at, key);
            goto done;
        }
        if (strcmp(check_str(found, "title", ""), title) == 0)
            continue;
        json_array_append_new(
            old, json_pack("{s:s,s:O}", "key", key, "title", json_object_get(found, "title")));
        json_array_append_new(new, json_pack("{s:s,s:s}", "key", key, "title", title));
        json_object_set_new(found, "title", json_string(title));
    }
    if (json_array_size(new) > 0) {
        json_object_set(before, "stages", old);
        json_object_set(after, "stages", new);
    }
done:
    json_decref(old);
    json_decref(new);
    return e;
}

static fd_err rule_patch(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    mig_args *a = args;
    const json_t *body = a->body;
    fd_mig_head h;
    json_t *cur = NULL, *before = json_object(), *after = json_object(), *v;
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "edit a plan");
    if (e == FD_OK)
        e = check_object(body, patch_fields, "", &ctx->problem);
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e == FD_OK)
        e = store_mig_doc(st, a->mid, 0, &cur);
    if (e != FD_OK)
        goto done;

    if ((v = json_object_get(body, "title")) != NULL && !json_is_null(v))
        change(cur, before, after, "title", json_incref(v));
    if ((v = json_object_get(body, "description")) != NULL)
        change(cur, before, after, "description", json_incref(v)); /* null clears */
    if ((v = json_object_get(body, "owner_team")) != NULL && !json_is_null(v)) {
        e = plan_check_team_exists(st, json_string_value(v), "owner_team", &ctx->problem);
        if (e != FD_OK)
            goto done;
        change(cur, before, after, "owner_team", json_incref(v));
    }
    /* the owner is always among the affected teams, whether teams or owner changed */
    const char *owner = check_str(cur, "owner_team", "");
    v = json_object_get(body, "teams");
    json_t *teams = NULL;
    e = plan_check_teams(st, json_is_array(v) ? v : json_object_get(cur, "teams"), owner, &teams,
                         &ctx->problem);
    if (e != FD_OK)
        goto done;
    change(cur, before, after, "teams", teams);
    if ((v = json_object_get(body, "window")) != NULL) {
        json_t *w = json_null(); /* null clears the window */
        if (json_is_object(v)) {
            int64_t s, en;
            e = plan_check_window(v, "window", &s, &en, &ctx->problem);
            if (e != FD_OK)
                goto done;
            char ts[32], te[32];
            fd_time_format(s, ts);
            fd_time_format(en, te);
            w = json_pack("{s:s,s:s}", "start", ts, "end", te);
        }
        change(cur, before, after, "window", w);
    }
    if ((v = json_object_get(body, "dashboards")) != NULL && json_is_array(v)) {
        json_t *dash = NULL;
        e = plan_check_dashboards(v, "dashboards", &dash, &ctx->problem);
        if (e != FD_OK)
            goto done;
        change(cur, before, after, "dashboards", dash);
    }
    if ((v = json_object_get(body, "stages")) != NULL && json_is_array(v)) {
        e = rename_stages(ctx, cur, v, before, after);
        if (e != FD_OK)
            goto done;
    }

    if (json_object_size(after) > 0) {
        const json_t *w = json_object_get(cur, "window");
        fd_mig_plan mp = {
            .id = a->mid,
            .title = check_str(cur, "title", ""),
            .description = check_str(cur, "description", NULL),
            .owner_team = owner,
            .has_window = json_is_object(w),
        };
        if (mp.has_window) {
            fd_time_parse(check_str(w, "start", ""), &mp.window_start);
            fd_time_parse(check_str(w, "end", ""), &mp.window_end);
        }
        char target[FD_SLUG_MAX + 16];
        flight_target_mig(target, sizeof target, a->mid);
        e = store_mig_write_plan(st, &mp);
        if (e == FD_OK && json_object_get(after, "teams"))
            e = store_mig_set_teams(st, a->mid, json_object_get(cur, "teams"));
        if (e == FD_OK && json_object_get(after, "dashboards"))
            e = store_mig_set_dashboards(st, a->mid, json_object_get(cur, "dashboards"));
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(after, "stages"), i, g)
        {
            if (e == FD_OK)
                e = store_stage_set_title(st, a->mid, check_str(g, "key", ""),
                                          check_str(g, "title", ""));
        }
        if (e == FD_OK)
            e = store_mig_bump(st, a->mid);
        if (e == FD_OK)
            e = audit_append(st, ctx, a->mid, "migration.update", target, before, after, NULL);
    }
    if (e == FD_OK)
        e = flight_doc(st, a->mid, 1, out);
done:
    json_decref(cur);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err flight_patch(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body, json_t **out)
{
    mig_args a = {.mid = mid, .body = body};
    return core_mutate(st, ctx, rule_patch, &a, out);
}

/* ---- start, abort, complete ---- */

static fd_err rule_start(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    mig_args *a = args;
    fd_mig_head h;
    fd_stage_row first;
    char target[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "start a migration");
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e != FD_OK)
        return e;
    if (strcmp(h.status, "draft") != 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s is already %s; only a draft can be started", h.id, h.status);
    if (h.nstages < 1)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s has no stages; add at least one before starting", h.id);
    if (store_stage_at(st, a->mid, 0, &first) != FD_OK)
        return FD_E_INTERNAL;
    /* briefed, no open feedback, and the first stage's go: or a lead's audited override */
    e = gates_enforce_start(st, ctx, a->mid, a->override);
    if (e != FD_OK)
        return e;
    int64_t now = store_now_ms(st);
    flight_target_mig(target, sizeof target, a->mid);
    json_t *before = json_pack("{s:s}", "status", "draft");
    json_t *after = json_pack("{s:s,s:s}", "status", "in_flight", "current_stage", first.key);
    e = store_stage_set_status(st, a->mid, first.key, "active", now, -1);
    if (e == FD_OK)
        e = store_mig_set_state(st, a->mid, "in_flight", first.key, now, -1, NULL);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "migration.start", target, before, after, NULL);
    if (e == FD_OK)
        e = flight_doc(st, a->mid, 1, out);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err flight_start(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    return flight_start_override(st, ctx, mid, NULL, out);
}

fd_err flight_start_override(fd_store *st, fd_ctx *ctx, const char *mid,
                             const char *override_reason, json_t **out)
{
    mig_args a = {.mid = mid, .override = override_reason};
    return core_mutate(st, ctx, rule_start, &a, out);
}

#define REASON_MAX 2000

static fd_err rule_abort(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    mig_args *a = args;
    fd_mig_head h;
    char target[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "abort a migration");
    if (e != FD_OK)
        return e;
    if (a->text == NULL || a->text[0] == '\0' || strlen(a->text) > REASON_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "reason",
                       "reason is required (1-%d characters): say why the migration is aborted",
                       REASON_MAX);
    e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e != FD_OK)
        return e;
    flight_target_mig(target, sizeof target, a->mid);
    json_t *before = json_pack("{s:s}", "status", h.status);
    json_t *after = json_pack("{s:s,s:s}", "status", "aborted", "abort_reason", a->text);
    /* the current stage stays: the record shows where the flight stopped */
    e = store_mig_set_state(st, a->mid, "aborted", h.current_stage[0] ? h.current_stage : NULL, -1,
                            store_now_ms(st), a->text);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "migration.abort", target, before, after, a->text);
    if (e == FD_OK)
        e = flight_doc(st, a->mid, 1, out);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err flight_abort(fd_store *st, fd_ctx *ctx, const char *mid, const char *reason, json_t **out)
{
    mig_args a = {.mid = mid, .text = reason};
    return core_mutate(st, ctx, rule_abort, &a, out);
}

/* The active stage may complete when all its steps are done or skipped. Completing the stage
 * before the last marks the migration landed; completing the last closes it. */
static fd_err rule_complete(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    mig_args *a = args;
    fd_mig_head h;
    fd_stage_row stage, next;
    json_t *blocking = NULL;
    char target[FD_SLUG_MAX * 2 + 32], mtarget[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "complete a stage");
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e != FD_OK)
        return e;
    if (strcmp(h.status, "draft") == 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s has not started; start it first", h.id);
    if (strcmp(h.status, "go_around") == 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s went around: no stage is active; re-open landing (POST "
                       "/api/migrations/%s/landing/reopen) or abort",
                       h.id, h.id);
    e = store_stage_get(st, a->mid, a->stage, &stage);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no stage %s", h.id, a->stage);
    if (e != FD_OK)
        return e;
    if (strcmp(stage.status, "active") != 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "stage %s is not active (it is %s); the active stage is %s", stage.key,
                       stage.status, h.current_stage);
    if (store_stage_blocking(st, a->mid, stage.key, &blocking) != FD_OK)
        return FD_E_INTERNAL;
    if (json_array_size(blocking) > 0) {
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "stage %s cannot complete: %zu step(s) are neither done nor skipped", stage.key,
                json_array_size(blocking));
        fd_problem_set(&ctx->problem, "blocking", blocking);
        return FD_E_CONFLICT;
    }
    json_decref(blocking);

    int64_t now = store_now_ms(st);
    int last = stage.position == h.nstages - 1;
    int landing = stage.position == h.nstages - 2;
    if (!last && store_stage_at(st, a->mid, stage.position + 1, &next) != FD_OK)
        return FD_E_INTERNAL;
    /* the go for the next phase: its gate, or a lead's audited override */
    if (!last) {
        e = gates_enforce_stage(st, ctx, a->mid, next.key, a->override);
        if (e != FD_OK)
            return e;
    }
    const char *status = last ? "closed" : landing ? "landed" : h.status;

    snprintf(target, sizeof target, "migrations/%s/stages/%s", a->mid, stage.key);
    flight_target_mig(mtarget, sizeof mtarget, a->mid);
    json_t *sbefore = json_pack("{s:s,s:s}", "stage", stage.key, "status", "active");
    json_t *safter = json_pack("{s:s,s:s,s:o}", "stage", stage.key, "status", "done", "next_stage",
                               last ? json_null() : json_string(next.key));
    json_t *mbefore = json_pack("{s:s}", "status", h.status);
    json_t *mafter = json_pack("{s:s}", "status", status);

    e = store_stage_set_status(st, a->mid, stage.key, "done", -1, now);
    if (e == FD_OK && !last)
        e = store_stage_set_status(st, a->mid, next.key, "active", now, -1);
    if (e == FD_OK)
        e = store_mig_set_state(st, a->mid, status, last ? NULL : next.key, -1, last ? now : -1,
                                NULL);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "stage.complete", target, sbefore, safter, NULL);
    if (e == FD_OK && (last || landing))
        e = audit_append(st, ctx, a->mid, last ? "migration.closed" : "migration.landed", mtarget,
                         mbefore, mafter, NULL);
    if (e == FD_OK)
        e = flight_doc(st, a->mid, 1, out);
    json_decref(sbefore);
    json_decref(safter);
    json_decref(mbefore);
    json_decref(mafter);
    return e;
}

fd_err flight_complete_stage(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                             json_t **out)
{
    return flight_complete_stage_override(st, ctx, mid, stage, NULL, out);
}

fd_err flight_complete_stage_override(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                                      const char *override_reason, json_t **out)
{
    mig_args a = {.mid = mid, .stage = stage, .override = override_reason};
    return core_mutate(st, ctx, rule_complete, &a, out);
}
