/* switches.c - cutover switches: moves by switch steps, the rules that gate them, reverts, and
 * the documents (see switches.h). The flag-system calls are recorded in switch_calls.c. */
#include "switches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "check.h"
#include "flight_internal.h"
#include "mutate.h"
#include "store_plans.h"

#define REASON_MAX 2000
#define HOUR_MS 3600000LL
#define DETAIL_MAX 480

/* The index of `position` among `positions`, -1 when absent. */
static int index_of(const json_t *positions, const char *position)
{
    size_t i;
    json_t *v;
    if (position == NULL)
        return -1;
    json_array_foreach(positions, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), position) == 0)
            return (int)i;
    }
    return -1;
}

/* "'mysql', '10% dynamodb', ..." into out. */
static void positions_text(const json_t *positions, char *out, size_t cap)
{
    size_t used = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(positions, i, v)
    {
        int n = snprintf(out + used, cap - used, "%s'%s'", i ? ", " : "", json_string_value(v));
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

/* The public Switch document from a store row (the action stays inside). */
static json_t *public_switch(const json_t *row)
{
    const json_t *positions = json_object_get(row, "positions");
    const char *position = check_str(row, "position", "");
    return json_pack(
        "{s:O,s:O,s:O,s:s,s:i,s:O,s:O,s:O,s:b,s:O,s:O,s:O}", "name", json_object_get(row, "name"),
        "title", json_object_get(row, "title"), "positions", positions, "position", position,
        "index", index_of(positions, position), "applied", json_object_get(row, "applied"),
        "pending", json_object_get(row, "pending"), "error", json_object_get(row, "error"),
        "has_action", json_is_object(json_object_get(row, "action")), "moved_by",
        json_object_get(row, "moved_by"), "moved_at", json_object_get(row, "moved_at"), "version",
        json_object_get(row, "version"));
}

fd_err switches_add_summary(fd_store *st, json_t *doc)
{
    json_t *rows = NULL;
    fd_err e = store_switch_list(st, check_str(doc, "id", ""), &rows);
    if (e != FD_OK)
        return e;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append_new(list, public_switch(row));
    json_decref(rows);
    json_object_set_new(doc, "switches", list);
    return FD_OK;
}

/* The Switch with its history. */
static fd_err switch_with_history(fd_store *st, const char *mid, const json_t *row, json_t **out)
{
    json_t *history = NULL;
    fd_err e = store_switch_history(st, mid, check_str(row, "name", ""), &history);
    if (e != FD_OK)
        return e;
    *out = public_switch(row);
    json_object_set_new(*out, "history", history);
    return FD_OK;
}

fd_err switches_list(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    fd_mig_head h;
    json_t *rows = NULL, *rollback = NULL, *rules = NULL, *items = json_array();
    *out = NULL;
    fd_err e = flight_load_head(st, ctx, mid, &h);
    if (e == FD_OK)
        e = store_switch_list(st, mid, &rows);
    if (e == FD_OK)
        e = store_plan_extras_get(st, mid, &rollback, &rules);
    size_t i;
    json_t *row;
    json_array_foreach(e == FD_OK ? rows : NULL, i, row)
    {
        json_t *sw = NULL;
        e = switch_with_history(st, mid, row, &sw);
        if (e != FD_OK)
            break;
        json_array_append_new(items, sw);
    }
    if (e == FD_OK) {
        *out = json_pack("{s:s,s:O,s:O}", "migration", mid, "items", items, "rules", rules);
    } else if (e == FD_E_INTERNAL) {
        fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    }
    json_decref(items);
    json_decref(rows);
    json_decref(rollback);
    json_decref(rules);
    return e;
}

/* ---- creating them with the migration ---- */

fd_err switches_create(fd_store *st, const char *mid, const json_t *plan)
{
    size_t i;
    json_t *sw;
    fd_err e = FD_OK;
    json_array_foreach(json_object_get(plan, "switches"), i, sw)
    {
        const json_t *action = json_object_get(sw, "action");
        e = store_switch_insert(st, mid, check_str(sw, "name", ""), (int)i,
                                check_str(sw, "title", ""), json_object_get(sw, "positions"),
                                json_is_object(action) ? action : NULL);
        if (e != FD_OK)
            return e;
    }
    const json_t *rb = json_object_get(plan, "rollback"), *rules = json_object_get(plan, "rules");
    return store_plan_extras_put(st, mid, json_is_object(rb) ? rb : NULL,
                                 json_is_array(rules) ? rules : NULL);
}

/* ---- the rules ---- */

/* Append "; " + sentence to the unmet list and the detail. */
static void unmet(json_t *list, fd_buf *detail, const char *sentence)
{
    json_array_append_new(list, json_string(sentence));
    fd_buf_printf(detail, "%s%s", json_array_size(list) > 1 ? "; " : "", sentence);
}

/* Check one requirement; append a sentence to `list` when it does not hold. */
static fd_err check_requirement(fd_store *st, const char *mid, const json_t *req, json_t *list,
                                fd_buf *detail)
{
    char sentence[DETAIL_MAX];
    const char *other = check_str(req, "switch", NULL);
    if (other != NULL) {
        const char *least = check_str(req, "at_least", "");
        json_t *row = NULL;
        fd_err e = store_switch_get(st, mid, other, &row);
        if (e != FD_OK)
            return e == FD_E_NOT_FOUND ? FD_E_INTERNAL : e;
        const json_t *positions = json_object_get(row, "positions");
        const char *now_at = check_str(row, "position", "");
        int need = index_of(positions, least), have = index_of(positions, now_at);
        int last = need == (int)json_array_size(positions) - 1;
        if (have < need) {
            snprintf(sentence, sizeof sentence, "%s must be at '%s'%s (now '%s')", other, least,
                     last ? "" : " or beyond", now_at);
            unmet(list, detail, sentence);
        }
        json_decref(row);
        return FD_OK;
    }
    const char *what = check_str(req, "verification", "");
    int64_t hours = check_int(req, "within_hours", 24), at = 0;
    char title[256];
    fd_err e = store_verification_latest(st, mid, what, &at, title, sizeof title);
    if (e == FD_E_NOT_FOUND) {
        snprintf(sentence, sizeof sentence,
                 "verification '%s' has not been done: no step that verifies it is ticked", what);
        unmet(list, detail, sentence);
        return FD_OK;
    }
    if (e != FD_OK)
        return e;
    int64_t age = store_now_ms(st) - at;
    if (age > hours * HOUR_MS) {
        snprintf(sentence, sizeof sentence,
                 "verification '%s' was ticked %lld hours ago; it must be within %lld hours", title,
                 (long long)(age / HOUR_MS), (long long)hours);
        unmet(list, detail, sentence);
    }
    return FD_OK;
}

/* May switch `row` move forward to index `to`? Every rule of the switch whose `beyond` lies
 * before `to` must have all its requirements met. FD_E_CONFLICT names the first rule broken. */
static fd_err check_rules(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *row, int to)
{
    const json_t *positions = json_object_get(row, "positions");
    const char *name = check_str(row, "name", "");
    if (to <= index_of(positions, check_str(row, "position", "")))
        return FD_OK; /* the way back is never gated */
    json_t *rollback = NULL, *rules = NULL;
    fd_err e = store_plan_extras_get(st, mid, &rollback, &rules);
    size_t i, k;
    json_t *rule, *req;
    json_array_foreach(e == FD_OK ? rules : NULL, i, rule)
    {
        const char *beyond = check_str(rule, "beyond", "");
        if (strcmp(check_str(rule, "switch", ""), name) != 0 || to <= index_of(positions, beyond))
            continue;
        json_t *list = json_array();
        fd_buf detail = {0};
        fd_buf_printf(&detail, "%s may not pass '%s': ", name, beyond);
        json_array_foreach(json_object_get(rule, "requires"), k, req)
        {
            if (e == FD_OK)
                e = check_requirement(st, mid, req, list, &detail);
        }
        if (e == FD_OK && json_array_size(list) > 0) {
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "%s", detail.data ? detail.data : "");
            fd_problem_set(&ctx->problem, "rule", json_deep_copy(rule));
            fd_problem_set(&ctx->problem, "unmet", json_incref(list));
        }
        json_decref(list);
        fd_buf_free(&detail);
        if (e != FD_OK)
            break;
    }
    json_decref(rollback);
    json_decref(rules);
    return e;
}

/* ---- moving ---- */

/* Copy of `s` with {{position}}, {{switch}} and {{migration}} replaced (malloc'd), or NULL. */
static char *substitute(const char *s, const char *position, const char *sw, const char *mid)
{
    static const char *const keys[] = {"{{position}}", "{{switch}}", "{{migration}}"};
    const char *values[] = {position, sw, mid};
    fd_buf b = {0};
    int r = 0;
    while (*s != '\0' && r == 0) {
        size_t k;
        for (k = 0; k < 3; k++)
            if (strncmp(s, keys[k], strlen(keys[k])) == 0)
                break;
        if (k < 3) {
            r = fd_buf_puts(&b, values[k]);
            s += strlen(keys[k]);
        } else {
            r = fd_buf_append(&b, s, 1);
            s++;
        }
    }
    if (r == 0 && b.data == NULL)
        r = fd_buf_puts(&b, "");
    if (r != 0) {
        fd_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The body template with every string's placeholders filled in (new value), or NULL. */
static json_t *render(const json_t *t, const char *position, const char *sw, const char *mid)
{
    if (json_is_string(t)) {
        char *s = substitute(json_string_value(t), position, sw, mid);
        json_t *v = s ? json_string(s) : NULL;
        free(s);
        return v;
    }
    if (json_is_array(t)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v) json_array_append_new(a, render(v, position, sw, mid));
        return a;
    }
    if (json_is_object(t)) {
        json_t *o = json_object();
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)t, key, v)
            json_object_set_new(o, key, render(v, position, sw, mid));
        return o;
    }
    return json_deep_copy(t);
}

typedef struct move_req {
    const char *mid;
    const json_t *row; /* the switch as stored */
    const char *to;
    const char *kind; /* "move" | "revert" */
    int64_t step;     /* -1: none */
    const char *reason;
} move_req;

/* Record the move, queue its flag call (superseding older ones), audit it. */
static fd_err do_move(fd_store *st, fd_ctx *ctx, const move_req *m)
{
    const char *name = check_str(m->row, "name", "");
    const char *from = check_str(m->row, "position", "");
    const json_t *action = json_object_get(m->row, "action");
    int has_action = json_is_object(action);
    int64_t now = store_now_ms(st), move = 0, call = 0;
    store_move_in in = {.mid = m->mid,
                        .name = name,
                        .kind = m->kind,
                        .from = from,
                        .to = m->to,
                        .step = m->step,
                        .by_sub = ctx->actor->sub,
                        .by_name = ctx->actor->name,
                        .at = now,
                        .reason = m->reason};
    fd_err e = store_switch_move_insert(st, &in, &move);
    if (e == FD_OK)
        e = store_switch_calls_supersede(st, m->mid, name, now);
    if (e == FD_OK && has_action) {
        json_t *body = render(json_object_get(action, "body"), m->to, name, m->mid);
        char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        const json_t *headers = json_object_get(action, "headers");
        e = text ? store_switch_call_insert(
                       st, move, check_str(action, "method", "POST"), check_str(action, "url", ""),
                       json_is_object(headers) ? headers : NULL, text, now, &call)
                 : FD_E_INTERNAL;
        free(text);
        json_decref(body);
    }
    if (e == FD_OK)
        e = store_switch_set(st, m->mid, name, m->to, !has_action, NULL, move);
    char target[FD_SLUG_MAX * 2 + 32];
    snprintf(target, sizeof target, "migrations/%s/switches/%s", m->mid, name);
    json_t *before = json_pack("{s:s,s:s,s:O}", "switch", name, "position", from, "applied",
                               json_object_get(m->row, "applied"));
    json_t *after = json_pack("{s:s,s:s,s:b,s:b,s:o}", "switch", name, "position", m->to, "applied",
                              !has_action, "pending", has_action, "step",
                              m->step >= 0 ? json_integer(m->step) : json_null());
    if (e == FD_OK)
        e = audit_append(st, ctx, m->mid,
                         strcmp(m->kind, "revert") == 0 ? "switch.revert" : "switch.move", target,
                         before, after, m->reason);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err switches_on_step(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *step)
{
    const json_t *sw = json_object_get(step, "switch");
    const char *status = check_str(step, "status", "");
    int done = strcmp(status, "done") == 0;
    if (!json_is_object(sw) || (!done && strcmp(status, "awaiting_confirmation") != 0))
        return FD_OK;
    const char *name = check_str(sw, "name", ""), *to = check_str(sw, "position", "");
    json_t *row = NULL;
    fd_err e = store_switch_get(st, mid, name, &row);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "step %lld moves the switch %s, which migration %s does not have",
                       (long long)json_integer_value(json_object_get(step, "id")), name, mid);
    if (e != FD_OK)
        return e;
    int target = index_of(json_object_get(row, "positions"), to);
    if (target < 0) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "the switch %s has no position '%s'", name,
                    to);
        goto done;
    }
    e = check_rules(st, ctx, mid, row, target);
    /* there already and applied: nothing to do; there but not applied (its call failed): the
     * tick sends the call again */
    int there = strcmp(check_str(row, "position", ""), to) == 0;
    if (e != FD_OK || !done || (there && json_is_true(json_object_get(row, "applied"))))
        goto done;
    move_req m = {.mid = mid,
                  .row = row,
                  .to = to,
                  .kind = "move",
                  .step = json_integer_value(json_object_get(step, "id")),
                  .reason = NULL};
    e = do_move(st, ctx, &m);
done:
    json_decref(row);
    return e;
}

fd_err switches_check_step_input(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *step)
{
    const json_t *sw = json_object_get(step, "switch");
    char list[600];
    if (!json_is_object(sw))
        return FD_OK;
    const char *name = check_str(sw, "name", NULL), *to = check_str(sw, "position", NULL);
    if (name == NULL || !check_is_slug(name))
        return fd_fail(&ctx->problem, FD_E_INVALID, "switch.name",
                       "switch.name must be the slug of a switch of the migration");
    if (to == NULL || to[0] == '\0')
        return fd_fail(&ctx->problem, FD_E_INVALID, "switch.position",
                       "switch.position is required");
    json_t *row = NULL;
    fd_err e = store_switch_get(st, mid, name, &row);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, FD_E_INVALID, "switch.name",
                       "switch.name names no switch of migration %s: %s", mid, name);
    if (e != FD_OK)
        return e;
    const json_t *positions = json_object_get(row, "positions");
    if (index_of(positions, to) < 0) {
        positions_text(positions, list, sizeof list);
        e = fd_fail(&ctx->problem, FD_E_INVALID, "switch.position",
                    "switch.position must be one of the positions of %s: %s", name, list);
    }
    json_decref(row);
    return e;
}

/* ---- revert ---- */

typedef struct revert_args {
    const char *mid, *name, *to, *reason;
} revert_args;

static fd_err rule_revert(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    revert_args *a = args;
    fd_mig_head h;
    json_t *row = NULL, *after = NULL;
    char list[600];
    const char *reason = a->reason && a->reason[0] ? a->reason : NULL;
    fd_err e = flight_require_role(ctx, FD_ROLE_ENGINEER, "revert a switch");
    if (e != FD_OK)
        return e;
    if (reason != NULL && strlen(reason) > REASON_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "reason",
                       "reason may have at most %d characters", REASON_MAX);
    e = flight_load_head(st, ctx, a->mid, &h);
    if (e != FD_OK)
        return e;
    /* closed is read-only forever; anything else, aborted included, may still need the way back */
    if (strcmp(h.status, "closed") == 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s is closed: its switches can no longer move", h.id);
    e = store_switch_get(st, a->mid, a->name, &row);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no switch %s", a->mid, a->name);
    if (e != FD_OK)
        return e;
    e = flight_if_match(ctx, json_integer_value(json_object_get(row, "version")), "the switch");
    if (e != FD_OK)
        goto done;
    const json_t *positions = json_object_get(row, "positions");
    const char *now_at = check_str(row, "position", "");
    int cur = index_of(positions, now_at), target;
    if (a->to != NULL) {
        target = index_of(positions, a->to);
        if (target < 0) {
            positions_text(positions, list, sizeof list);
            e = fd_fail(&ctx->problem, FD_E_INVALID, "to",
                        "to must be one of the positions of %s: %s", a->name, list);
            goto done;
        }
        if (target >= cur) {
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, "to",
                        "to must come before the current position '%s' of %s: a revert only moves "
                        "back (a switch step moves it forward)",
                        now_at, a->name);
            goto done;
        }
    } else {
        if (cur <= 0) {
            e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                        "%s is at its first position '%s': there is nothing to revert to", a->name,
                        now_at);
            goto done;
        }
        target = cur - 1;
    }
    move_req m = {.mid = a->mid,
                  .row = row,
                  .to = json_string_value(json_array_get(positions, (size_t)target)),
                  .kind = "revert",
                  .step = -1,
                  .reason = reason};
    e = do_move(st, ctx, &m);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = store_switch_get(st, a->mid, a->name, &after);
    if (e == FD_OK)
        e = switch_with_history(st, a->mid, after, out);
done:
    json_decref(row);
    json_decref(after);
    return e;
}

fd_err switches_revert(fd_store *st, fd_ctx *ctx, const char *mid, const char *name, const char *to,
                       const char *reason, json_t **out)
{
    revert_args a = {.mid = mid, .name = name, .to = to, .reason = reason};
    return core_mutate(st, ctx, rule_revert, &a, out);
}
