/* switch_calls.c - the flag-system calls of switch moves: what is due, and what each attempt's
 * answer does to the switch and to the step that moved it (see switches.h). The HTTP side is the
 * outbound worker of server/outbound.c, shared with the webhook deliveries; the retry schedule
 * is webhook.h's, with its own, shorter policy. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "mutate.h"
#include "store_plans.h"
#include "switches.h"

void switch_policy_default(webhook_policy *p)
{
    p->base_ms = 500;
    p->cap_ms = 5000;
    p->max_attempts = 3;
}

fd_err switch_calls_due(fd_store *st, int64_t now, int limit, json_t **jobs)
{
    return store_switch_call_due(st, now, limit, jobs);
}

int switch_calls_next_due(fd_store *st, int64_t *at)
{
    fd_err e = store_switch_call_next_due(st, at);
    return e == FD_OK ? 1 : e == FD_E_NOT_FOUND ? 0 : -1;
}

typedef struct record_args {
    const webhook_policy *policy;
    int64_t call, at;
    int http_status;
    const char *error;
    int permanent;
} record_args;

/* The step that moved the switch fails with the reason, if it still stands as done (or awaits
 * its second person): the checklist must not show a cutover that did not happen. */
static fd_err fail_step(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid, const char *note)
{
    json_t *old = NULL, *now = NULL;
    char target[32];
    fd_err e = store_step_doc(st, mid, sid, &old);
    if (e == FD_E_NOT_FOUND)
        return FD_OK; /* removed meanwhile */
    if (e != FD_OK)
        return e;
    const char *status = check_str(old, "status", "");
    if (strcmp(status, "done") == 0 || strcmp(status, "awaiting_confirmation") == 0) {
        e = store_step_set_status(st, sid, "failed", ctx->actor->sub, ctx->actor->name,
                                  store_now_ms(st), note);
        if (e == FD_OK)
            e = store_step_doc(st, mid, sid, &now);
        snprintf(target, sizeof target, "steps/%lld", (long long)sid);
        if (e == FD_OK)
            e = audit_append(st, ctx, mid, "step.fail", target, old, now, note);
    }
    json_decref(old);
    json_decref(now);
    return e;
}

static fd_err rule_record(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    record_args *a = args;
    json_t *c = NULL, *sw = NULL;
    char reason[400], target[FD_SLUG_MAX * 2 + 32];
    (void)out;
    fd_err e = store_switch_call_get(st, a->call, &c);
    if (e == FD_E_NOT_FOUND)
        return FD_OK;
    if (e != FD_OK)
        return e;
    if (strcmp(check_str(c, "status", ""), "pending") != 0)
        goto done; /* superseded by a newer move while this attempt was out */
    int attempts = (int)json_integer_value(json_object_get(c, "attempts")) + 1;
    int ok = a->http_status >= 200 && a->http_status < 300;
    int client_error = a->http_status >= 400 && a->http_status < 500;
    int final = ok || a->permanent || client_error || attempts >= a->policy->max_attempts;
    const char *error = ok ? NULL : a->error ? a->error : "no answer";
    if (!final) {
        e = store_switch_call_update(st, a->call, "pending", attempts,
                                     a->at + webhook_backoff_ms(a->policy, attempts), -1,
                                     a->http_status, error);
        goto done;
    }
    e = store_switch_call_update(st, a->call, ok ? "applied" : "failed", attempts, a->at, a->at,
                                 a->http_status, error);
    const char *mid = check_str(c, "migration", ""), *name = check_str(c, "switch", "");
    const char *to = check_str(c, "to", "");
    if (e == FD_OK)
        e = store_switch_get(st, mid, name, &sw);
    /* only the answer for the switch's latest move says whether its position is applied */
    if (e != FD_OK || json_integer_value(json_object_get(sw, "last_move")) !=
                          json_integer_value(json_object_get(c, "move")))
        goto done;
    snprintf(target, sizeof target, "migrations/%s/switches/%s", mid, name);
    if (ok) {
        json_t *before = json_pack("{s:s,s:s,s:b}", "switch", name, "position", to, "applied", 0);
        json_t *after =
            json_pack("{s:s,s:s,s:b,s:i,s:i}", "switch", name, "position", to, "applied", 1,
                      "http_status", a->http_status, "attempts", attempts);
        e = store_switch_set_applied(st, mid, name, 1, NULL);
        if (e == FD_OK)
            e = audit_append(st, ctx, mid, "switch.applied", target, before, after, NULL);
        json_decref(before);
        json_decref(after);
    } else {
        snprintf(reason, sizeof reason,
                 "the flag call moving %s to '%s' failed after %d attempt%s: %s", name, to,
                 attempts, attempts == 1 ? "" : "s", error);
        json_t *before = json_pack("{s:s,s:s,s:b}", "switch", name, "position", to, "applied", 0);
        json_t *after = json_pack("{s:s,s:s,s:b,s:s,s:o}", "switch", name, "position", to,
                                  "applied", 0, "error", reason, "http_status",
                                  a->http_status >= 0 ? json_integer(a->http_status) : json_null());
        e = store_switch_set_applied(st, mid, name, 0, reason);
        if (e == FD_OK)
            e = audit_append(st, ctx, mid, "switch.failed", target, before, after, reason);
        const json_t *step = json_object_get(c, "step");
        if (e == FD_OK && json_is_integer(step))
            e = fail_step(st, ctx, mid, json_integer_value(step), reason);
        json_decref(before);
        json_decref(after);
    }
    /* the migration document shows the switches: its ETag must move */
    if (e == FD_OK)
        e = store_mig_bump(st, mid);
done:
    json_decref(c);
    json_decref(sw);
    return e;
}

fd_err switch_call_record(fd_store *st, const webhook_policy *policy, int64_t call, int64_t at,
                          int http_status, const char *error, int permanent)
{
    static const fd_actor flags = {
        .sub = "flightdeck", .name = "flightdeck flags", .role = FD_ROLE_ADMIN, .source = "api"};
    fd_ctx ctx;
    fd_ctx_init(&ctx, &flags, NULL);
    record_args a = {.policy = policy,
                     .call = call,
                     .at = at,
                     .http_status = http_status,
                     .error = error,
                     .permanent = permanent};
    fd_err e = core_mutate(st, &ctx, rule_record, &a, NULL);
    fd_problem_clear(&ctx.problem);
    return e;
}
