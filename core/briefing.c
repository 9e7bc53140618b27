/* briefing.c - team briefings: the acknowledgements of the affected teams, bound to the plan
 * revision they were given on, and the feedback raised there until a lead resolves it; and the
 * start gate they make up (gates.h, gates_internal.h).
 *
 * An acknowledgement is never rewritten: a plan change raises the migration's plan_rev, and an
 * acknowledgement of an older revision shows as stale until the team acknowledges again. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "flight_internal.h"
#include "gates.h"
#include "gates_internal.h"
#include "mutate.h"
#include "timefmt.h"

#define TEXT_MAX 4000
#define ID_MAX 9007199254740992LL /* ids stay within what a JSON number holds exactly */

typedef struct brief_args {
    const char *mid;
    int64_t bid, fid;
    const json_t *body;
} brief_args;

static void target_briefing(char *out, size_t n, const char *mid, int64_t bid)
{
    snprintf(out, n, "migrations/%s/briefings/%lld", mid, (long long)bid);
}

/* The Briefing document: the stored one with the current plan_rev and each ack's staleness. */
static fd_err briefing_doc(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, json_t **out)
{
    int64_t rev;
    *out = NULL;
    fd_err e = store_mig_plan_rev(st, mid, &rev);
    if (e == FD_OK)
        e = store_briefing_doc(st, mid, bid, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no briefing %lld", mid,
                       (long long)bid);
    if (e != FD_OK)
        return e;
    json_object_set_new(*out, "plan_rev", json_integer(rev));
    size_t i;
    json_t *ack;
    json_array_foreach(json_object_get(*out, "acks"), i, ack)
    {
        int64_t given = json_integer_value(json_object_get(ack, "plan_rev"));
        json_object_set_new(ack, "stale", json_boolean(given != rev));
    }
    return FD_OK;
}

/* Role, body, migration writable; *h is the migration's head. */
static fd_err prelude(fd_store *st, fd_ctx *ctx, brief_args *a, fd_role role, const char *what,
                      const check_field *fields, fd_mig_head *h)
{
    fd_err e = flight_require_role(ctx, role, what);
    if (e == FD_OK)
        e = check_object(a->body, fields, "", &ctx->problem);
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, h);
    return e;
}

/* Every change under a briefing is a change of the briefing and of the migration (whose
 * document shows the start gate). */
static fd_err bump_both(fd_store *st, const char *mid, int64_t bid)
{
    fd_err e = store_briefing_bump(st, bid);
    if (e == FD_OK)
        e = store_mig_bump(st, mid);
    return e;
}

/* ---- briefings ---- */

static const check_field briefing_fields[] = {
    {"title", CHECK_STRING, 1, 1, 200},
    {"at", CHECK_TIME, 1, 0, 0},
    {"notes", CHECK_STRING, 0, 0, 10000},
    {"teams", CHECK_ARRAY, 1, 1, 64},
    {NULL, 0, 0, 0, 0},
};

/* The briefing's teams: slugs of affected teams of the migration, each once. */
static fd_err check_briefing_teams(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *teams)
{
    json_t *doc = NULL;
    char at[32];
    fd_err e = store_mig_doc(st, mid, 0, &doc);
    if (e != FD_OK)
        return e;
    const json_t *affected = json_object_get(doc, "teams");
    size_t i, j;
    json_t *t, *x;
    json_array_foreach(teams, i, t)
    {
        snprintf(at, sizeof at, "teams[%zu]", i);
        const char *slug = json_string_value(t);
        int known = 0;
        json_array_foreach(affected, j, x)
        {
            if (slug != NULL && strcmp(json_string_value(x), slug) == 0)
                known = 1;
        }
        if (!check_is_slug(slug))
            e = fd_fail(&ctx->problem, FD_E_INVALID, at, "%s must be a team slug", at);
        else if (!known)
            e = fd_fail(&ctx->problem, FD_E_INVALID, at,
                        "%s names %s, which is not an affected team of migration %s", at, slug,
                        mid);
        for (j = 0; e == FD_OK && j < i; j++) {
            if (strcmp(slug, json_string_value(json_array_get(teams, j))) == 0)
                e = fd_fail(&ctx->problem, FD_E_INVALID, at, "%s repeats the team %s", at, slug);
        }
        if (e != FD_OK)
            break;
    }
    json_decref(doc);
    return e;
}

static fd_err rule_briefing_create(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    brief_args *a = args;
    fd_mig_head h;
    int64_t at, bid;
    char target[FD_SLUG_MAX + 48];
    fd_err e = prelude(st, ctx, a, FD_ROLE_LEAD, "hold a briefing", briefing_fields, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e == FD_OK)
        e = check_briefing_teams(st, ctx, a->mid, json_object_get(a->body, "teams"));
    if (e != FD_OK)
        return e;
    fd_time_parse(check_str(a->body, "at", ""), &at);
    e = store_briefing_insert(st, a->mid, check_str(a->body, "title", ""), at,
                              check_str(a->body, "notes", NULL), ctx->actor->sub, ctx->actor->name,
                              store_now_ms(st), json_object_get(a->body, "teams"), &bid);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    if (e == FD_OK)
        e = briefing_doc(st, ctx, a->mid, bid, out);
    target_briefing(target, sizeof target, a->mid, bid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "briefing.create", target, NULL, *out, NULL);
    return e;
}

fd_err gates_briefing_create(fd_store *st, fd_ctx *ctx, const char *mid, const json_t *body,
                             json_t **out)
{
    brief_args a = {.mid = mid, .body = body};
    return core_mutate(st, ctx, rule_briefing_create, &a, out);
}

fd_err gates_briefing_list(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    fd_mig_head h;
    json_t *items = NULL;
    int64_t rev;
    *out = NULL;
    fd_err e = flight_load_head(st, ctx, mid, &h);
    if (e != FD_OK)
        return e;
    if (store_mig_plan_rev(st, mid, &rev) != FD_OK || store_briefing_list(st, mid, &items) != FD_OK)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    size_t i, j;
    json_t *b, *ack;
    json_array_foreach(items, i, b)
    {
        json_object_set_new(b, "plan_rev", json_integer(rev));
        json_array_foreach(json_object_get(b, "acks"), j, ack) json_object_set_new(
            ack, "stale",
            json_boolean(json_integer_value(json_object_get(ack, "plan_rev")) != rev));
    }
    *out = json_pack("{s:o}", "items", items);
    return FD_OK;
}

fd_err gates_briefing_get(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, json_t **out)
{
    fd_mig_head h;
    fd_err e = flight_load_head(st, ctx, mid, &h);
    if (e == FD_OK)
        e = briefing_doc(st, ctx, mid, bid, out);
    if (e == FD_E_INTERNAL)
        fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return e;
}

/* ---- acknowledgements ---- */

static const check_field ack_fields[] = {
    {"team", CHECK_SLUG, 1, 0, 0},
    {"comment", CHECK_STRING, 0, 0, TEXT_MAX},
    {NULL, 0, 0, 0, 0},
};

static fd_err rule_ack(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    brief_args *a = args;
    fd_mig_head h;
    json_t *doc = NULL;
    int64_t rev;
    char target[FD_SLUG_MAX + 48];
    fd_err e = prelude(st, ctx, a, FD_ROLE_ENGINEER, "acknowledge a briefing", ack_fields, &h);
    if (e == FD_OK)
        e = briefing_doc(st, ctx, a->mid, a->bid, &doc);
    if (e == FD_OK)
        e = flight_if_match(ctx, json_integer_value(json_object_get(doc, "version")),
                            "the briefing");
    if (e != FD_OK)
        goto done;
    const char *team = check_str(a->body, "team", "");
    const char *comment = check_str(a->body, "comment", NULL);
    int briefed = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "teams"), i, t)
    {
        if (strcmp(json_string_value(t), team) == 0)
            briefed = 1;
    }
    if (!briefed) {
        e = fd_fail(&ctx->problem, FD_E_INVALID, "team",
                    "team %s was not part of briefing %lld; acknowledge a briefing of your team",
                    team, (long long)a->bid);
        goto done;
    }
    if (!fd_actor_in_team(ctx->actor, team)) {
        e = fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                    "only members of team %s can acknowledge for it, and your token does not "
                    "name that team",
                    team);
        goto done;
    }
    rev = json_integer_value(json_object_get(doc, "plan_rev"));
    e = store_ack_insert(st, a->mid, a->bid, team, ctx->actor->sub, ctx->actor->name,
                         comment && comment[0] ? comment : NULL, rev, store_now_ms(st));
    if (e == FD_E_EXISTS) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "%s already acknowledged plan revision %lld for team %s in this briefing",
                    ctx->actor->name, (long long)rev, team);
        goto done;
    }
    if (e == FD_OK)
        e = bump_both(st, a->mid, a->bid);
    json_decref(doc);
    doc = NULL;
    if (e == FD_OK)
        e = briefing_doc(st, ctx, a->mid, a->bid, &doc);
    if (e != FD_OK)
        goto done;
    json_t *after =
        json_pack("{s:I,s:s,s:I,s:s?}", "briefing", (json_int_t)a->bid, "team", team, "plan_rev",
                  (json_int_t)rev, "comment", comment && comment[0] ? comment : NULL);
    target_briefing(target, sizeof target, a->mid, a->bid);
    e = audit_append(st, ctx, a->mid, "briefing.ack", target, NULL, after, NULL);
    json_decref(after);
    if (e == FD_OK) {
        *out = doc;
        doc = NULL;
    }
done:
    json_decref(doc);
    return e;
}

fd_err gates_briefing_ack(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid,
                          const json_t *body, json_t **out)
{
    brief_args a = {.mid = mid, .bid = bid, .body = body};
    return core_mutate(st, ctx, rule_ack, &a, out);
}

/* ---- feedback ---- */

static const check_field feedback_fields[] = {
    {"text", CHECK_STRING, 1, 1, TEXT_MAX},
    {NULL, 0, 0, 0, 0},
};

static const check_field resolve_fields[] = {
    {"resolution", CHECK_STRING, 1, 1, TEXT_MAX},
    {"step_id", CHECK_INT, 0, 1, ID_MAX},
    {NULL, 0, 0, 0, 0},
};

static fd_err feedback_doc(fd_store *st, fd_ctx *ctx, brief_args *a, json_t **out)
{
    fd_err e = store_feedback_doc(st, a->mid, a->bid, a->fid, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "briefing %lld of migration %s has no feedback %lld",
                       (long long)a->bid, a->mid, (long long)a->fid);
    return e;
}

static fd_err rule_feedback_add(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    brief_args *a = args;
    fd_mig_head h;
    json_t *doc = NULL;
    char target[FD_SLUG_MAX + 80];
    fd_err e = prelude(st, ctx, a, FD_ROLE_ENGINEER, "give feedback", feedback_fields, &h);
    if (e == FD_OK)
        e = briefing_doc(st, ctx, a->mid, a->bid, &doc); /* it exists */
    json_decref(doc);
    if (e == FD_OK)
        e = store_feedback_insert(st, a->mid, a->bid, check_str(a->body, "text", ""),
                                  ctx->actor->sub, ctx->actor->name, store_now_ms(st), &a->fid);
    if (e == FD_OK)
        e = bump_both(st, a->mid, a->bid);
    if (e == FD_OK)
        e = feedback_doc(st, ctx, a, out);
    snprintf(target, sizeof target, "migrations/%s/briefings/%lld/feedback/%lld", a->mid,
             (long long)a->bid, (long long)a->fid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "feedback.create", target, NULL, *out, NULL);
    return e;
}

fd_err gates_feedback_add(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid,
                          const json_t *body, json_t **out)
{
    brief_args a = {.mid = mid, .bid = bid, .body = body};
    return core_mutate(st, ctx, rule_feedback_add, &a, out);
}

fd_err gates_feedback_list(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, json_t **out)
{
    json_t *doc = NULL;
    *out = NULL;
    fd_err e = gates_briefing_get(st, ctx, mid, bid, &doc);
    if (e != FD_OK)
        return e;
    *out = json_pack("{s:O}", "items", json_object_get(doc, "feedback"));
    json_decref(doc);
    return FD_OK;
}

static fd_err rule_resolve(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    brief_args *a = args;
    fd_mig_head h;
    json_t *old = NULL, *step = NULL;
    char target[FD_SLUG_MAX + 80];
    fd_err e = prelude(st, ctx, a, FD_ROLE_LEAD, "resolve feedback", resolve_fields, &h);
    if (e == FD_OK)
        e = feedback_doc(st, ctx, a, &old);
    if (e == FD_OK)
        e = flight_if_match(ctx, json_integer_value(json_object_get(old, "version")),
                            "the feedback");
    if (e == FD_OK && json_is_true(json_object_get(old, "resolved"))) {
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "feedback %lld was already resolved by %s",
                    (long long)a->fid,
                    check_str(json_object_get(old, "resolved_by"), "name", "someone"));
        fd_problem_set(&ctx->problem, "current", json_incref(old));
    }
    int64_t sid = check_int(a->body, "step_id", -1);
    if (e == FD_OK && sid > 0) {
        e = store_step_doc(st, a->mid, sid, &step);
        json_decref(step);
        if (e == FD_E_NOT_FOUND)
            e = fd_fail(&ctx->problem, FD_E_INVALID, "step_id",
                        "step_id %lld names no step of migration %s", (long long)sid, a->mid);
    }
    if (e == FD_OK)
        e = store_feedback_resolve(st, a->fid, check_str(a->body, "resolution", ""),
                                   ctx->actor->sub, ctx->actor->name, store_now_ms(st), sid);
    if (e == FD_OK)
        e = bump_both(st, a->mid, a->bid);
    if (e == FD_OK)
        e = feedback_doc(st, ctx, a, out);
    snprintf(target, sizeof target, "migrations/%s/briefings/%lld/feedback/%lld", a->mid,
             (long long)a->bid, (long long)a->fid);
    if (e == FD_OK)
        e = audit_append(st, ctx, a->mid, "feedback.resolve", target, old, *out,
                         check_str(a->body, "resolution", NULL));
    json_decref(old);
    return e;
}

fd_err gates_feedback_resolve(fd_store *st, fd_ctx *ctx, const char *mid, int64_t bid, int64_t fid,
                              const json_t *body, json_t **out)
{
    brief_args a = {.mid = mid, .bid = bid, .fid = fid, .body = body};
    return core_mutate(st, ctx, rule_resolve, &a, out);
}

/* ---- the start gate ---- */

fd_err gates_start_gate(fd_store *st, const char *mid, json_t **out)
{
    json_t *acks = NULL, *open = NULL, *gate = NULL;
    fd_stage_row first;
    int64_t rev, held = 0;
    *out = NULL;
    fd_err e = store_mig_plan_rev(st, mid, &rev);
    if (e == FD_OK)
        e = store_briefing_count(st, mid, &held);
    /* acknowledgements are asked for once the migration holds a briefing: a plan without one
     * flies as before (its stages' sign-offs still apply) */
    if (e == FD_OK)
        e = held > 0 ? store_ack_status(st, mid, &acks) : FD_OK;
    if (e == FD_OK)
        e = store_feedback_open(st, mid, &open);
    int has_stage = e == FD_OK && store_stage_at(st, mid, 0, &first) == FD_OK;
    if (e == FD_OK && has_stage)
        e = gates_stage_gate(st, mid, first.key, &gate);
    if (e != FD_OK) {
        json_decref(acks);
        json_decref(open);
        return e;
    }
    json_t *missing = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(acks, i, t)
    {
        const json_t *latest = json_object_get(t, "latest_rev");
        if (json_is_integer(latest) && json_integer_value(latest) == rev)
            continue;
        json_array_append_new(missing,
                              json_pack("{s:O,s:i,s:i,s:s}", "team", json_object_get(t, "team"),
                                        "need", 1, "have", 0, "reason",
                                        json_is_integer(latest) ? "stale" : "no acknowledgement"));
    }
    json_t *signoffs_missing = gate ? json_incref(json_object_get(gate, "missing")) : json_array();
    int ok = json_array_size(missing) == 0 && json_array_size(open) == 0 &&
             json_array_size(signoffs_missing) == 0;
    *out = json_pack("{s:b,s:s?,s:I,s:I,s:o,s:o,s:o}", "satisfied", ok, "stage",
                     has_stage ? first.key : NULL, "briefings", (json_int_t)held, "plan_rev",
                     (json_int_t)rev, "missing", missing, "unresolved_feedback", open,
                     "signoffs_missing", signoffs_missing);
    json_decref(acks);
    json_decref(gate);
    return FD_OK;
}

fd_err gates_enforce_start(fd_store *st, fd_ctx *ctx, const char *mid, const char *override_reason)
{
    json_t *sg = NULL;
    char acks[300], signoffs[300];
    if (gates_start_gate(st, mid, &sg) != FD_OK)
        return FD_E_INTERNAL;
    fd_err e = FD_OK;
    const char *stage = check_str(sg, "stage", "");
    if (json_is_true(json_object_get(sg, "satisfied"))) {
        /* nothing to override */
    } else if (override_reason != NULL && override_reason[0]) {
        json_t *what = json_pack("{s:O,s:O,s:O}", "missing", json_object_get(sg, "missing"),
                                 "unresolved_feedback", json_object_get(sg, "unresolved_feedback"),
                                 "signoffs_missing", json_object_get(sg, "signoffs_missing"));
        e = gates_record_override(st, ctx, mid, "start", stage, override_reason, what);
        json_decref(what);
    } else {
        gates_describe_missing(json_object_get(sg, "missing"), acks, sizeof acks);
        gates_describe_missing(json_object_get(sg, "signoffs_missing"), signoffs, sizeof signoffs);
        size_t nfb = json_array_size(json_object_get(sg, "unresolved_feedback"));
        char what[800];
        size_t len = 0;
        what[0] = '\0';
        if (acks[0])
            len += (size_t)snprintf(what + len, sizeof what - len, "briefings: %s", acks);
        if (signoffs[0] && len < sizeof what)
            len += (size_t)snprintf(what + len, sizeof what - len, "%sstage %s sign-offs: %s",
                                    len ? "; " : "", stage, signoffs);
        if (nfb > 0 && len < sizeof what)
            snprintf(what + len, sizeof what - len, "%s%zu unresolved feedback item(s)",
                     len ? "; " : "", nfb);
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "migration %s cannot take off yet (%s); a lead may override with a reason", mid,
                what);
        fd_problem_set(&ctx->problem, "missing", json_incref(json_object_get(sg, "missing")));
        fd_problem_set(&ctx->problem, "unresolved_feedback",
                       json_incref(json_object_get(sg, "unresolved_feedback")));
        fd_problem_set(&ctx->problem, "signoffs_missing",
                       json_incref(json_object_get(sg, "signoffs_missing")));
        fd_problem_set(&ctx->problem, "stage", json_string(stage));
        e = FD_E_CONFLICT;
    }
    json_decref(sg);
    return e;
}
