/* flight_steps.c - steps: adding and editing them (leads), and the actions of a live flight:
 * tick, untick, skip, fail, and the second person's confirm of a critical step (engineers and
 * above). See flight.h.
 *
 * Rules run inside core_mutate (one transaction with the audit event). Every change of a step
 * bumps the step's version and the migration's version; every change of the plan (a step added,
 * removed, edited or moved) also raises the migration's plan_rev, which makes briefing
 * acknowledgements stale (gates.h). */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight.h"
#include "flight_internal.h"
#include "mutate.h"
#include "plan.h"
#include "store_step_row.h"
#include "switches.h"
#include "timefmt.h"

#define TEXT_MAX 2000

typedef struct step_args {
    const char *mid;
    const char *stage;
    int64_t sid;
    const json_t *body;
    fd_step_action action;
    const char *text;
    int64_t version; /* the answer's version (rule_action, which answers text) */
} step_args;

/* "steps/<sid>" into out, without snprintf: it was a visible part of a tick. */
static void target_step(char out[32], int64_t sid)
{
    _Static_assert(6 + FD_INT_TEXT_MAX <= 32, "room for the longest id");
    memcpy(out, "steps/", 6);
    fd_i64_text(out + 6, sid);
}

static fd_err load_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid, json_t **out)
{
    fd_err e = store_step_doc(st, mid, sid, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no step %lld", mid,
                       (long long)sid);
    return e;
}

static int64_t step_version(const json_t *step)
{
    return (int64_t)json_integer_value(json_object_get(step, "version"));
}

static const char *step_status(const json_t *step)
{
    return check_str(step, "status", "");
}

/* "Alice at 2026-..." of the last change, for refusals. */
static void who_when(const json_t *step, char *out, size_t n)
{
    snprintf(out, n, "%s at %s", check_str(json_object_get(step, "by"), "name", "someone"),
             check_str(step, "at", "an unknown time"));
}

fd_err flight_get_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid, json_t **out)
{
    fd_err e = load_step(st, ctx, mid, sid, out);
    if (e == FD_E_INTERNAL)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return e;
}

/* ---- plan edits (leads) ---- */

static fd_err rule_add(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    step_args *a = args;
    fd_mig_head h;
    fd_stage_row stage;
    int64_t sid;
    char target[32];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "add steps");
    if (e == FD_OK)
        e = plan_check_step(st, a->body, "", 0, &ctx->problem);
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK) /* there is no step yet: If-Match names the migration */
        e = flight_if_match(ctx, h.version, "the migration");
    if (e == FD_OK) /* a switch step names a switch and position of this migration */
        e = switches_check_step_input(st, ctx, a->mid, a->body);
    if (e != FD_OK)
        return e;
    e = store_stage_get(st, a->mid, a->stage, &stage);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no stage %s", a->mid, a->stage);
    if (e != FD_OK)
        return e;
    if (strcmp(stage.status, "done") == 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "stage %s is done; steps can no longer be added to it", stage.key);
    e = store_step_insert(st, a->mid, stage.key, a->body, &sid);
    if (e == FD_OK)
        e = store_mig_bump_plan_rev(st, a->mid);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = store_step_doc(st, a->mid, sid, out);
    target_step(target, sid);
    /* adding to the active stage records what reality required: the audit says so */
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "step.add", target, NULL, *out, NULL);
    return e;
}

fd_err flight_add_step(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                       const json_t *step, json_t **out)
{
    step_args a = {.mid = mid, .stage = stage, .body = step};
    return core_mutate(st, ctx, rule_add, &a, out);
}

/* The checks shared by patch and delete: lead, the step exists, the migration is not
 * read-only, If-Match, and neither the step nor its stage is done. *step is the step. */
static fd_err editable_step(fd_store *st, fd_ctx *ctx, step_args *a, const char *what,
                            json_t **step)
{
    fd_mig_head h;
    fd_stage_row stage;
    char ww[200];
    *step = NULL;
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, what);
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = load_step(st, ctx, a->mid, a->sid, step);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, step_version(*step), "the step");
    /* a step awaiting its second person is as good as ticked: changing it under the
     * confirmer would have them confirm something else */
    if (e == FD_OK && (strcmp(step_status(*step), "done") == 0 ||
                       strcmp(step_status(*step), "awaiting_confirmation") == 0)) {
        who_when(*step, ww, sizeof ww);
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "step %lld is %s (ticked by %s); untick it before changing it",
                    (long long)a->sid, step_status(*step), ww);
        fd_problem_set(&ctx->problem, "current", json_incref(*step));
    }
    if (e == FD_OK) {
        e = store_stage_get(st, a->mid, check_str(*step, "stage", ""), &stage);
        if (e == FD_OK && strcmp(stage.status, "done") == 0)
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                        "stage %s is done; its steps can no longer change", stage.key);
    }
    if (e != FD_OK) {
        json_decref(*step);
        *step = NULL;
    }
    return e;
}

static fd_err rule_patch_step(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    step_args *a = args;
    json_t *old = NULL, *cur = NULL;
    char target[32];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "edit steps");
    if (e == FD_OK)
        e = plan_check_step(st, a->body, "", 1, &ctx->problem);
    if (e == FD_OK)
        e = editable_step(st, ctx, a, "edit steps", &old);
    if (e == FD_OK)
        e = switches_check_step_input(st, ctx, a->mid, a->body);
    if (e != FD_OK) {
        json_decref(old);
        return e;
    }
    cur = json_deep_copy(old);

    /* plan fields: a null clears an optional field; title and critical cannot be null */
    static const char *const fields[] = {"title",    "details", "owner_team",
                                         "command",  "link",    "expected_minutes",
                                         "critical", "switch",  "verifies"};
    int plan_changed = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(a->body, fields[i]);
        if (v == NULL || (json_is_null(v) && (i == 0 || i == 6)))
            continue;
        if (!json_equal(v, json_object_get(cur, fields[i]))) {
            json_object_set(cur, fields[i], v);
            plan_changed = 1;
        }
    }
    int from = (int)json_integer_value(json_object_get(old, "position")), to = from, count = 0;
    json_t *pos = json_object_get(a->body, "position");
    if (json_is_integer(pos)) {
        const char *stage = check_str(old, "stage", "");
        e = store_stage_step_count(st, a->mid, stage, &count);
        if (e != FD_OK)
            goto done;
        to = (int)json_integer_value(pos);
        if (to > count) {
            e = fd_fail(&ctx->problem, FD_E_INVALID, "position",
                        "position must be from 1 to %d (the steps of stage %s)", count, stage);
            goto done;
        }
    }
    if (plan_changed || to != from) {
        if (plan_changed)
            e = store_step_write_plan(st, a->sid, cur);
        if (e == FD_OK && to != from)
            e = store_step_move(st, a->mid, check_str(old, "stage", ""), a->sid, from, to);
        if (e == FD_OK)
            e = store_mig_bump_plan_rev(st, a->mid);
        if (e == FD_OK)
            e = store_mig_bump(st, a->mid);
    }
    json_decref(cur);
    cur = NULL;
    if (e == FD_OK)
        e = store_step_doc(st, a->mid, a->sid, &cur);
    target_step(target, a->sid);
    if (e == FD_OK && (plan_changed || to != from))
        e = audit_append(st, ctx, a->mid, "step.update", target, old, cur, NULL);
    if (e == FD_OK) {
        *out = cur;
        cur = NULL;
    }
done:
    json_decref(old);
    json_decref(cur);
    return e;
}

fd_err flight_patch_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                         const json_t *body, json_t **out)
{
    step_args a = {.mid = mid, .sid = sid, .body = body};
    return core_mutate(st, ctx, rule_patch_step, &a, out);
}

static fd_err rule_delete_step(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    step_args *a = args;
    json_t *old = NULL;
    char target[32];
    (void)out; /* nothing to return: the idempotent answer of a delete is null */
    fd_err e = editable_step(st, ctx, a, "remove steps", &old);
    if (e != FD_OK)
        return e;
    e = store_step_delete(st, a->mid, check_str(old, "stage", ""), a->sid,
                          (int)json_integer_value(json_object_get(old, "position")));
    if (e == FD_OK)
        e = store_mig_bump_plan_rev(st, a->mid);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    target_step(target, a->sid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "step.delete", target, old, NULL, NULL);
    json_decref(old);
    return e;
}

fd_err flight_delete_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid)
{
    step_args a = {.mid = mid, .sid = sid};
    return core_mutate(st, ctx, rule_delete_step, &a, NULL);
}

/* ---- actions of a live flight ----
 *
 * Every durable tick comes this way, so the step is read as a plain row together with its
 * migration's head (one statement), and the answer and the audit event's before/after are
 * written from the row as text (store_step_row.h): no jansson tree on the path. */

static const struct {
    const char *verb;   /* for messages */
    const char *target; /* the status it leads to */
    const char *audit;  /* the audit action */
    const char *text;   /* name of the required text, NULL when optional */
} actions[] = {
    [FD_STEP_TICK] = {"ticked", "done", "step.tick", NULL},
    [FD_STEP_UNTICK] = {"unticked", "pending", "step.untick", NULL},
    [FD_STEP_SKIP] = {"skipped", "skipped", "step.skip", "reason"},
    [FD_STEP_FAIL] = {"marked failed", "failed", "step.fail", "note"},
};

/* Append the n bytes of s to out[cap] at *len, as far as they fit (out stays NUL-terminated). */
static void put_cut(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

/* who_when of a row: "Alice at 2026-..." (or "someone", "an unknown time"), by hand: the rules
 * compute it for every action in case they refuse it. */
static void row_who_when(const store_step_row *row, char *out, size_t n)
{
    char at[FD_TIME_LEN];
    size_t len = 0;
    out[0] = '\0';
    put_cut(out, n, &len,
            row->by_sub.s != NULL && row->by_name.s != NULL ? row->by_name.s : "someone");
    put_cut(out, n, &len, " at ");
    if (row->at.set)
        fd_time_format(row->at.v, at);
    put_cut(out, n, &len, row->at.set ? at : "an unknown time");
}

static const char *row_str(store_text t)
{
    return t.s != NULL ? t.s : "";
}

/* Is the move from the step's status allowed for this action? If not, say why in ctx->problem
 * with the step as "current" (someone else may have been first). */
static fd_err check_transition(fd_ctx *ctx, fd_step_action act, const store_step_row *step,
                               int64_t sid)
{
    const char *status = row_str(step->status);
    char ww[200];
    row_who_when(step, ww, sizeof ww);
    fd_err e = FD_OK;
    int awaiting = strcmp(status, "awaiting_confirmation") == 0;
    if (awaiting && act == FD_STEP_TICK) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "already ticked by %s; it is a critical step and awaits confirmation by "
                    "someone else",
                    ww);
    } else if (awaiting && act == FD_STEP_SKIP) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "step %lld was ticked by %s and awaits confirmation; untick it first",
                    (long long)sid, ww);
    } else if (strcmp(status, actions[act].target) == 0) {
        if (step->by_sub.s == NULL)
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "step %lld is already %s",
                        (long long)sid, status);
        else
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "already %s by %s", actions[act].verb,
                        ww);
    } else if (act == FD_STEP_TICK && strcmp(status, "skipped") == 0) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "step %lld was skipped by %s; untick it first to tick it", (long long)sid, ww);
    } else if ((act == FD_STEP_SKIP || act == FD_STEP_FAIL) && strcmp(status, "done") == 0) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "step %lld was ticked by %s; untick it first", (long long)sid, ww);
    } else if (act == FD_STEP_FAIL && strcmp(status, "skipped") == 0) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "step %lld was skipped by %s; untick it first", (long long)sid, ww);
    }
    if (e != FD_OK)
        fd_problem_set(&ctx->problem, "current", store_step_row_doc(step));
    return e;
}

/* The step and its migration's head, read together; when either is missing, the separate
 * reads say which, with the words the other rules use. */
static fd_err load_action_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                               store_step_row *row, fd_mig_head *h)
{
    fd_err e = store_step_row_read(st, mid, sid, row, h);
    if (e != FD_E_NOT_FOUND)
        return e;
    e = flight_load_head(st, ctx, mid, h);
    if (e != FD_OK)
        return e;
    return fd_fail(&ctx->problem, FD_E_NOT_FOUND, NULL, "migration %s has no step %lld", mid,
                   (long long)sid);
}

/* The canonical before and after of the audit event, written next to each other: one buffer
 * per thread, kept between actions (a fresh ~1 KB buffer per tick made glibc consolidate its
 * free lists every time); one that a huge step grew past CANON_KEEP is let go. */
#define CANON_KEEP (64 * 1024)
static __thread fd_buf canon;

void flight_thread_exit(void)
{
    fd_buf_free(&canon);
    audit_thread_exit();
}

static fd_err rule_action(fd_store *st, fd_ctx *ctx, void *args, fd_buf *out)
{
    step_args *a = args;
    fd_step_action act = a->action;
    fd_mig_head h;
    store_step_row old = {0}, now_row;
    char target[32];
    const char *text = a->text && a->text[0] ? a->text : NULL;

    fd_err e = flight_require_role(ctx, FD_ROLE_ENGINEER, "change steps");
    if (e != FD_OK)
        return e;
    if (actions[act].text != NULL && text == NULL)
        return fd_fail(&ctx->problem, FD_E_INVALID, actions[act].text,
                       "%s is required: a step is %s only with a %s", actions[act].text,
                       actions[act].verb, actions[act].text);
    if (text != NULL && strlen(text) > TEXT_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, actions[act].text ? actions[act].text : "note",
                       "the text may have at most %d characters", TEXT_MAX);
    /* JSON bodies are UTF-8 already; chat forms and other callers may not be, and the audit
     * log (JSON) cannot record anything else */
    if (text != NULL && !check_is_utf8(text, strlen(text)))
        return fd_fail(&ctx->problem, FD_E_INVALID, actions[act].text ? actions[act].text : "note",
                       "the text must be UTF-8");
    e = load_action_step(st, ctx, a->mid, a->sid, &old, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK && strcmp(h.status, "draft") == 0)
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "migration %s has not started: steps change once it is in flight", h.id);
    if (e == FD_OK && strcmp(h.status, "go_around") == 0)
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "migration %s went around: no stage is active; a lead re-opens landing "
                    "(POST /api/migrations/%s/landing/reopen) or aborts",
                    h.id, h.id);
    const char *stage = row_str(old.stage);
    if (e == FD_OK && strcmp(stage, h.current_stage) != 0)
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "stage %s is not active; the active stage is %s", stage, h.current_stage);
    /* who was first matters more than a stale version: say who ticked it */
    if (e == FD_OK)
        e = check_transition(ctx, act, &old, a->sid);
    if (e == FD_OK)
        e = flight_if_match(ctx, old.version, "the step");
    if (e == FD_OK && act == FD_STEP_UNTICK && ctx->actor->role < FD_ROLE_LEAD &&
        strcmp(row_str(old.by_sub), ctx->actor->sub) != 0) {
        char ww[200];
        row_who_when(&old, ww, sizeof ww);
        e = fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                    "step %lld was %s by %s: only they or a lead can untick it", (long long)a->sid,
                    row_str(old.status), ww);
    }
    if (e != FD_OK)
        goto done;

    /* challenge and response: a critical step is done only when a second person confirms */
    const char *status = actions[act].target;
    if (act == FD_STEP_TICK && old.critical)
        status = "awaiting_confirmation";
    int64_t now = store_now_ms(st);
    e = store_step_set_status(st, a->sid, status, ctx->actor->sub, ctx->actor->name, now, text);
    if (e == FD_OK) /* once per transaction: a batch holds many of these (store_internal.h) */
        e = store_mig_bump_later(st, a->mid);
    if (e != FD_OK)
        goto done;
    /* the step as it is now, without reading it back: the answer, then the event's canonical
     * before and after */
    store_step_row_after_status(&old, status, ctx->actor->sub, ctx->actor->name, now, text,
                                &now_row);
    a->version = now_row.version;
    fd_buf_reset(&canon);
    size_t split = 0;
    if (store_step_row_json(out, &now_row, 0) != 0 || store_step_row_json(&canon, &old, 1) != 0)
        e = FD_E_INTERNAL;
    split = canon.len;
    if (e == FD_OK && store_step_row_json(&canon, &now_row, 1) != 0)
        e = FD_E_INTERNAL;
    target_step(target, a->sid);
    if (e == FD_OK)
        e = audit_append_text(st, ctx, a->mid, actions[act].audit, target, canon.data, split,
                              canon.data + split, canon.len - split, text);
    /* a switch step that is done moves its switch, if the rules allow (switches.h reads the
     * step's document; the other steps have nothing to move) */
    if (e == FD_OK && now_row.switch_name.s != NULL) {
        json_t *doc = store_step_row_doc(&now_row);
        e = doc != NULL ? switches_on_step(st, ctx, a->mid, doc) : FD_E_INTERNAL;
        json_decref(doc);
    }
done:
    if (canon.cap > CANON_KEEP)
        fd_buf_free(&canon);
    store_step_row_free(&old);
    return e;
}

fd_err flight_step_action_text(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                               fd_step_action action, const char *text, fd_buf *answer,
                               int64_t *version)
{
    *version = -1;
    if ((int)action < FD_STEP_TICK || (int)action > FD_STEP_FAIL)
        return fd_fail(&ctx->problem, FD_E_BAD_REQUEST, NULL, "unknown step action");
    step_args a = {.mid = mid, .sid = sid, .action = action, .text = text, .version = -1};
    size_t start = answer->len;
    fd_err e = core_mutate_text(st, ctx, rule_action, &a, answer);
    if (e != FD_OK)
        return e;
    *version = a.version;
    if (ctx->replayed) { /* the stored answer of an earlier request: its version is in it */
        json_t *doc = json_loadb(answer->data + start, answer->len - start, 0, NULL);
        json_t *v = json_object_get(doc, "version");
        *version = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
        json_decref(doc);
    }
    return FD_OK;
}

fd_err flight_step_action(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                          fd_step_action action, const char *text, json_t **out)
{
    fd_buf answer = {0};
    int64_t version;
    if (out != NULL)
        *out = NULL;
    fd_err e = flight_step_action_text(st, ctx, mid, sid, action, text, &answer, &version);
    if (e == FD_OK && out != NULL) {
        /* the text parses back into the very tree store_step_doc builds (store_step_row.h) */
        *out = json_loadb(answer.data, answer.len, 0, NULL);
        if (*out == NULL)
            e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "the step's answer did not parse");
    }
    fd_buf_free(&answer);
    return e;
}

/* ---- the second person of a critical step ---- */

static fd_err rule_confirm(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    step_args *a = args;
    fd_mig_head h;
    json_t *old = NULL;
    char target[32], ww[200];
    const char *note = a->text && a->text[0] ? a->text : NULL;
    fd_err e = flight_require_role(ctx, FD_ROLE_ENGINEER, "confirm steps");
    if (e != FD_OK)
        return e;
    if (note != NULL && strlen(note) > TEXT_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "note",
                       "the note may have at most %d characters", TEXT_MAX);
    if (note != NULL && !check_is_utf8(note, strlen(note)))
        return fd_fail(&ctx->problem, FD_E_INVALID, "note", "the note must be UTF-8");
    e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = load_step(st, ctx, a->mid, a->sid, &old);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e != FD_OK)
        goto done;
    who_when(old, ww, sizeof ww);
    if (strcmp(step_status(old), "awaiting_confirmation") != 0) {
        const json_t *cb = json_object_get(old, "confirmed_by");
        if (json_is_object(cb))
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "already confirmed by %s at %s",
                        check_str(cb, "name", "someone"),
                        check_str(old, "confirmed_at", "an unknown time"));
        else
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                        "step %lld is %s, not awaiting confirmation: only a ticked critical step "
                        "is confirmed",
                        (long long)a->sid, step_status(old));
        fd_problem_set(&ctx->problem, "current", json_deep_copy(old));
        goto done;
    }
    e = flight_if_match(ctx, step_version(old), "the step");
    const char *first = check_str(json_object_get(old, "by"), "sub", "");
    if (e == FD_OK && strcmp(first, ctx->actor->sub) == 0)
        e = fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                    "a critical step needs a second person: someone other than %s must confirm",
                    check_str(json_object_get(old, "by"), "name", ctx->actor->name));
    if (e != FD_OK)
        goto done;
    e = store_step_confirm(st, a->sid, ctx->actor->sub, ctx->actor->name, store_now_ms(st), note);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = store_step_doc(st, a->mid, a->sid, out);
    target_step(target, a->sid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "step.confirm", target, old, *out, note);
    if (e == FD_OK) /* a critical switch step moves its switch when the second person confirms */
        e = switches_on_step(st, ctx, a->mid, *out);
done:
    json_decref(old);
    return e;
}

fd_err flight_confirm_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                           const char *note, json_t **out)
{
    step_args a = {.mid = mid, .sid = sid, .text = note};
    return core_mutate(st, ctx, rule_confirm, &a, out);
}
