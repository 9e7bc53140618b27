/* gates.c - go/no-go sign-offs bound to the stage they approve, the stage gate that counts them,
 * editing a stage's requirements, and the gate members of the migration document (gates.h).
 *
 * A sign-off stores the SHA-256 of its stage's content at that moment. Nothing ever rewrites a
 * sign-off: the gate is recomputed from every sign-off given, so a changed stage, a later no-go
 * or a second person's go shows up at once, and the record of who said what stays whole. */
#include "gates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flight_internal.h"
#include "gates_internal.h"
#include "mutate.h"
#include "plan.h"

#define TEXT_MAX 2000

/* ---- the stage's content and its hash ---- */

/* The plan fields of a step that a go approves; position is implied by the order. */
static const char *const plan_fields[] = {"title", "details",          "owner_team", "command",
                                          "link",  "expected_minutes", "critical"};

fd_err gates_stage_hash(fd_store *st, const char *mid, const char *stage, char out[FD_HASH_HEX])
{
    json_t *steps = NULL, *reqs = NULL, *content = NULL;
    char *text = NULL;
    fd_stage_cfg cfg;
    fd_err e = store_stage_steps(st, mid, stage, &steps);
    if (e == FD_OK)
        e = store_stage_reqs(st, mid, stage, &reqs);
    if (e == FD_OK)
        e = store_stage_cfg(st, mid, stage, &cfg);
    if (e != FD_OK)
        goto done;
    json_t *plan = json_array();
    size_t i;
    json_t *step;
    json_array_foreach(steps, i, step)
    {
        json_t *p = json_object();
        for (size_t k = 0; k < sizeof plan_fields / sizeof plan_fields[0]; k++)
            json_object_set(p, plan_fields[k], json_object_get(step, plan_fields[k]));
        /* a go approves the switch a step moves and what it verifies too; absent when unset,
         * so the hash of a stage without them is what it always was */
        static const char *const cutover[] = {"switch", "verifies"};
        for (size_t k = 0; k < 2; k++) {
            const json_t *v = json_object_get(step, cutover[k]);
            if (v != NULL && !json_is_null(v))
                json_object_set(p, cutover[k], (json_t *)v);
        }
        json_array_append_new(plan, p);
    }
    content = json_pack("{s:o,s:O,s:b}", "steps", plan, "signoffs", reqs, "allow_shared_signers",
                        cfg.allow_shared);
    /* sorted keys and no whitespace: the same content always gives the same bytes */
    text = content ? json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text == NULL || audit_sha256_hex(text, strlen(text), out) != 0)
        e = FD_E_INTERNAL;
done:
    json_decref(steps);
    json_decref(reqs);
    json_decref(content);
    free(text);
    return e;
}

/* ---- counting a gate ---- */

static const char *by_sub(const json_t *signoff)
{
    return check_str(json_object_get(signoff, "by"), "sub", "");
}

/*
 * The Gate from the requirements and every sign-off of the stage (in the order given, each with
 * "stale" set). Per team: the team's latest decision (by anyone in it) being no_go is "no_go"
 * until a new go; else `have` counts the people whose latest decision for the team is a go that
 * is not stale. Without shared signers a person counts only for the team they signed for first.
 */
static json_t *evaluate(const json_t *reqs, int allow_shared, const json_t *signoffs)
{
    json_t *teams = json_array(), *missing = json_array();
    json_t *first_team = json_object(); /* sub -> the team of their first sign-off here */
    size_t i, j;
    json_t *so, *r;
    json_array_foreach(signoffs, i, so)
    {
        if (json_object_get(first_team, by_sub(so)) == NULL)
            json_object_set(first_team, by_sub(so), json_object_get(so, "team"));
    }
    json_array_foreach(reqs, i, r)
    {
        const char *team = check_str(r, "team", "");
        json_int_t need = json_integer_value(json_object_get(r, "count"));
        json_t *latest = json_object(); /* sub -> their latest sign-off for this team */
        const json_t *team_latest = NULL;
        json_array_foreach(signoffs, j, so)
        {
            if (strcmp(check_str(so, "team", ""), team) != 0)
                continue;
            json_object_set(latest, by_sub(so), so); /* keeps first-seen order */
            team_latest = so;
        }
        json_int_t have = 0, stale_go = 0;
        json_t *signers = json_array();
        const char *sub;
        json_t *last;
        json_object_foreach(latest, sub, last)
        {
            int go = strcmp(check_str(last, "decision", ""), "go") == 0;
            int stale = json_is_true(json_object_get(last, "stale"));
            int counts = allow_shared ||
                         strcmp(json_string_value(json_object_get(first_team, sub)), team) == 0;
            have += go && !stale && counts;
            stale_go += go && stale;
            json_array_append_new(signers,
                                  json_pack("{s:s,s:O,s:O,s:O,s:b,s:O}", "sub", sub, "name",
                                            json_object_get(json_object_get(last, "by"), "name"),
                                            "decision", json_object_get(last, "decision"), "at",
                                            json_object_get(last, "at"), "stale", stale, "comment",
                                            json_object_get(last, "comment")));
        }
        const char *status, *reason = NULL;
        if (team_latest != NULL && strcmp(check_str(team_latest, "decision", ""), "no_go") == 0)
            status = "no_go", reason = "no_go";
        else if (have >= need)
            status = "go";
        else if (stale_go > 0)
            status = "stale", reason = "stale";
        else
            status = "waiting", reason = "no sign-off";
        json_array_append_new(teams, json_pack("{s:s,s:I,s:I,s:s,s:o}", "team", team, "need", need,
                                               "have", have, "status", status, "signers", signers));
        if (reason != NULL)
            json_array_append_new(missing, json_pack("{s:s,s:I,s:I,s:s}", "team", team, "need",
                                                     need, "have", have, "reason", reason));
        json_decref(latest);
    }
    json_decref(first_team);
    return json_pack("{s:b,s:o,s:o}", "satisfied", json_array_size(missing) == 0, "teams", teams,
                     "missing", missing);
}

/* The stage's sign-offs with "stale" set against its hash today; *reqs and *cfg as stored. */
static fd_err load_signoffs(fd_store *st, const char *mid, const char *stage, json_t **signoffs,
                            json_t **reqs, fd_stage_cfg *cfg)
{
    char hash[FD_HASH_HEX] = "";
    *signoffs = *reqs = NULL;
    fd_err e = store_stage_cfg(st, mid, stage, cfg);
    if (e == FD_OK)
        e = store_stage_reqs(st, mid, stage, reqs);
    if (e == FD_OK)
        e = store_signoffs(st, mid, stage, signoffs);
    /* without sign-offs nothing can be stale: skip hashing the stage */
    if (e == FD_OK && json_array_size(*signoffs) > 0)
        e = gates_stage_hash(st, mid, stage, hash);
    size_t i;
    json_t *so;
    json_array_foreach(e == FD_OK ? *signoffs : NULL, i, so) json_object_set_new(
        so, "stale", json_boolean(strcmp(check_str(so, "stage_hash", ""), hash) != 0));
    if (e != FD_OK) {
        json_decref(*signoffs);
        json_decref(*reqs);
        *signoffs = *reqs = NULL;
    }
    return e;
}

fd_err gates_stage_gate(fd_store *st, const char *mid, const char *stage, json_t **out)
{
    json_t *signoffs, *reqs;
    fd_stage_cfg cfg;
    *out = NULL;
    fd_err e = load_signoffs(st, mid, stage, &signoffs, &reqs, &cfg);
    if (e != FD_OK)
        return e;
    *out = evaluate(reqs, cfg.allow_shared, signoffs);
    json_decref(signoffs);
    json_decref(reqs);
    return FD_OK;
}

void gates_describe_missing(const json_t *missing, char *out, size_t n)
{
    size_t i, len = 0;
    json_t *m;
    out[0] = '\0';
    json_array_foreach(missing, i, m)
    {
        const char *team = check_str(m, "team", ""), *reason = check_str(m, "reason", "");
        json_int_t need = json_integer_value(json_object_get(m, "need"));
        json_int_t have = json_integer_value(json_object_get(m, "have"));
        const char *sep = i > 0 ? "; " : "";
        int w;
        if (strcmp(reason, "no_go") == 0)
            w = snprintf(out + len, n - len, "%s%s said no-go", sep, team);
        else if (strcmp(reason, "no acknowledgement") == 0)
            w = snprintf(out + len, n - len, "%s%s has not acknowledged the plan", sep, team);
        else
            w = snprintf(out + len, n - len, "%s%s has %lld of %lld go (%s)", sep, team,
                         (long long)have, (long long)need,
                         strcmp(reason, "stale") == 0 ? "stale: the plan changed since" : reason);
        if (w < 0 || (size_t)w >= n - len)
            return; /* truncated: the extras carry the whole list */
        len += (size_t)w;
    }
}

fd_err gates_record_override(fd_store *st, fd_ctx *ctx, const char *mid, const char *kind,
                             const char *stage, const char *reason, const json_t *what)
{
    char target[FD_SLUG_MAX + 16];
    char *text = json_dumps(what, JSON_COMPACT);
    if (text == NULL)
        return FD_E_INTERNAL;
    fd_err e = store_override_insert(st, mid, kind, stage, reason, text, ctx->actor->sub,
                                     ctx->actor->name, store_now_ms(st));
    free(text);
    json_t *after = json_pack("{s:s,s:s,s:s,s:O}", "kind", kind, "stage", stage, "reason", reason,
                              "missing", what);
    flight_target_mig(target, sizeof target, mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, mid, "gate.override", target, NULL, after, reason);
    json_decref(after);
    return e;
}

fd_err gates_enforce_stage(fd_store *st, fd_ctx *ctx, const char *mid, const char *next,
                           const char *override_reason)
{
    json_t *gate = NULL;
    char what[300];
    if (gates_stage_gate(st, mid, next, &gate) != FD_OK)
        return FD_E_INTERNAL;
    fd_err e = FD_OK;
    json_t *missing = json_object_get(gate, "missing");
    if (json_array_size(missing) > 0 && override_reason != NULL && override_reason[0]) {
        e = gates_record_override(st, ctx, mid, "complete", next, override_reason, missing);
    } else if (json_array_size(missing) > 0) {
        gates_describe_missing(missing, what, sizeof what);
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "stage %s cannot begin: its go/no-go gate is not satisfied (%s); get the missing "
                "sign-offs, or override with a reason",
                next, what);
        fd_problem_set(&ctx->problem, "missing", json_incref(missing));
        fd_problem_set(&ctx->problem, "stage", json_string(next));
        e = FD_E_CONFLICT;
    }
    json_decref(gate);
    return e;
}

/* ---- the gate members of the migration document ---- */

static fd_err decorate_stage(fd_store *st, const char *mid, json_t *g, int64_t now)
{
    const char *key = check_str(g, "key", "");
    json_t *signoffs = NULL, *reqs = NULL, *tsteps = NULL;
    fd_stage_cfg cfg;
    fd_err e = load_signoffs(st, mid, key, &signoffs, &reqs, &cfg);
    if (e == FD_OK)
        e = store_timing_steps(st, mid, key, &tsteps);
    if (e != FD_OK)
        goto done;
    int64_t expected = flight_time_expected(&cfg, tsteps);
    json_object_set(g, "signoffs_required", reqs);
    json_object_set_new(g, "allow_shared_signers", json_boolean(cfg.allow_shared));
    json_object_set_new(g, "expected_minutes",
                        expected >= 0 ? json_integer(expected) : json_null());
    json_object_set_new(g, "gate", evaluate(reqs, cfg.allow_shared, signoffs));
    json_object_set_new(g, "timing",
                        strcmp(cfg.status, "active") == 0 ? flight_time_timing(&cfg, tsteps, now)
                                                          : json_null());
done:
    json_decref(signoffs);
    json_decref(reqs);
    json_decref(tsteps);
    return e;
}

fd_err gates_decorate(fd_store *st, json_t *doc)
{
    const char *mid = check_str(doc, "id", "");
    int64_t now = store_now_ms(st);
    json_t *overrides = NULL, *start = NULL;
    size_t i;
    json_t *g;
    fd_err e = FD_OK;
    json_array_foreach(json_object_get(doc, "stages"), i, g)
    {
        e = decorate_stage(st, mid, g, now);
        if (e != FD_OK)
            return e;
    }
    if (strcmp(check_str(doc, "status", ""), "draft") == 0) {
        e = gates_start_gate(st, mid, &start);
        if (e != FD_OK)
            return e;
    }
    e = store_overrides(st, mid, &overrides);
    if (e != FD_OK) {
        json_decref(start);
        return e;
    }
    json_object_set_new(doc, "start_gate", start ? start : json_null());
    json_object_set_new(doc, "gate_overrides", overrides);
    return FD_OK;
}

/* ---- PATCH a stage ---- */

static const check_field stage_patch_fields[] = {
    {"title", CHECK_STRING, 0, 1, 200},
    {"signoffs", CHECK_ARRAY, 0, 0, 32},
    {"allow_shared_signers", CHECK_BOOL, 0, 0, 0},
    {"expected_minutes", CHECK_INT, 0, 0, 10080},
    {NULL, 0, 0, 0, 0},
};

typedef struct stage_args {
    const char *mid;
    const char *stage;
    const json_t *body;
} stage_args;

/* The common checks of stage calls: role, body, migration exists and is writable, If-Match on
 * the migration, the stage exists (its settings in *cfg). */
static fd_err stage_prelude(fd_store *st, fd_ctx *ctx, stage_args *a, fd_role role,
                            const char *what, const check_field *fields, fd_stage_cfg *cfg)
{
    fd_mig_head h;
    fd_err e = flight_require_role(ctx, role, what);
    if (e == FD_OK)
        e = check_object(a->body, fields, "", &ctx->problem);
    if (e == FD_OK)
        e = flight_load_head(st, ctx, a->mid, &h);
    if (e == FD_OK)
        e = flight_refuse_read_only(ctx, &h);
    if (e == FD_OK)
        e = flight_if_match(ctx, h.version, "the migration");
    if (e != FD_OK)
        return e;
    e = store_stage_cfg(st, a->mid, a->stage, cfg);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no stage %s", a->mid, a->stage);
    return e;
}

/* Record key: before -> after in the change set when they differ. Borrows `old`, steals `now`;
 * 1 when they differ. */
static int note_change(json_t *before, json_t *after, const char *key, json_t *old, json_t *now)
{
    if (json_equal(old, now)) {
        json_decref(now);
        return 0;
    }
    json_object_set(before, key, old);
    json_object_set_new(after, key, now);
    return 1;
}

static fd_err rule_stage_patch(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    stage_args *a = args;
    fd_stage_cfg cfg;
    json_t *doc = NULL, *reqs = NULL, *before = json_object(), *after = json_object();
    char target[FD_SLUG_MAX * 2 + 32];
    fd_err e = stage_prelude(st, ctx, a, FD_ROLE_LEAD, "change a stage", stage_patch_fields, &cfg);
    if (e == FD_OK && strcmp(cfg.status, "pending") != 0)
        e = fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                    "stage %s is %s: its title, sign-offs and time can change only before it "
                    "begins",
                    a->stage, cfg.status);
    if (e == FD_OK)
        e = store_mig_doc(st, a->mid, 0, &doc);
    if (e == FD_OK)
        e = store_stage_reqs(st, a->mid, a->stage, &reqs);
    if (e != FD_OK)
        goto done;

    const json_t *v;
    json_t *stage_doc = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "stages"), i, g)
    {
        if (strcmp(check_str(g, "key", ""), a->stage) == 0)
            stage_doc = g;
    }
    int plan_change = 0, other_change = 0;
    if ((v = json_object_get(a->body, "title")) != NULL && json_is_string(v))
        other_change |= note_change(before, after, "title", json_object_get(stage_doc, "title"),
                                    json_incref((json_t *)v));
    if ((v = json_object_get(a->body, "signoffs")) != NULL && json_is_array(v)) {
        json_t *norm = NULL;
        e = plan_check_signoffs(v, "signoffs", json_object_get(doc, "teams"), &norm, &ctx->problem);
        if (e != FD_OK)
            goto done;
        plan_change |= note_change(before, after, "signoffs", reqs, norm);
    }
    int shared = cfg.allow_shared;
    if ((v = json_object_get(a->body, "allow_shared_signers")) != NULL && json_is_boolean(v)) {
        shared = json_is_true(v);
        plan_change |= note_change(before, after, "allow_shared_signers",
                                   json_boolean(cfg.allow_shared), json_boolean(shared));
    }
    int64_t minutes = cfg.expected_minutes;
    if ((v = json_object_get(a->body, "expected_minutes")) != NULL) {
        minutes = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1; /* null clears */
        json_t *old = cfg.expected_minutes >= 0 ? json_integer(cfg.expected_minutes) : json_null();
        other_change |= note_change(before, after, "expected_minutes", old,
                                    minutes >= 0 ? json_integer(minutes) : json_null());
        json_decref(old);
    }

    if (plan_change || other_change) {
        if (json_object_get(after, "title"))
            e = store_stage_set_title(st, a->mid, a->stage, check_str(after, "title", ""));
        if (e == FD_OK)
            e = store_stage_set_cfg(st, a->mid, a->stage, shared, minutes);
        if (e == FD_OK && json_object_get(after, "signoffs"))
            e = store_stage_set_reqs(st, a->mid, a->stage, json_object_get(after, "signoffs"));
        /* new requirements change what a go approves: acknowledgements and sign-offs go stale */
        if (e == FD_OK && plan_change)
            e = store_mig_bump_plan_rev(st, a->mid);
        if (e == FD_OK)
            e = store_mig_bump(st, a->mid);
        snprintf(target, sizeof target, "migrations/%s/stages/%s", a->mid, a->stage);
        if (e == FD_OK)
            e = audit_append(st, ctx, a->mid, "stage.update", target, before, after, NULL);
    }
    if (e == FD_OK)
        e = flight_doc(st, a->mid, 1, out);
done:
    json_decref(doc);
    json_decref(reqs);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err gates_stage_patch(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                         const json_t *body, json_t **out)
{
    stage_args a = {.mid = mid, .stage = stage, .body = body};
    return core_mutate(st, ctx, rule_stage_patch, &a, out);
}

/* ---- sign-offs ---- */

static const check_field signoff_fields[] = {
    {"team", CHECK_SLUG, 1, 0, 0},
    {"decision", CHECK_STRING, 1, 1, 16},
    {"comment", CHECK_STRING, 0, 0, TEXT_MAX},
    {"override_reason", CHECK_STRING, 0, 0, TEXT_MAX},
    {NULL, 0, 0, 0, 0},
};

/* "a, b, c" of the teams in reqs, or "none". */
static void team_list(const json_t *reqs, char *out, size_t n)
{
    size_t i, len = 0;
    json_t *r;
    snprintf(out, n, "none");
    json_array_foreach(reqs, i, r)
    {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", check_str(r, "team", ""));
        if (w < 0 || (size_t)w >= n - len)
            return;
        len += (size_t)w;
    }
}

static const json_t *find_req(const json_t *reqs, const char *team)
{
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        if (strcmp(check_str(r, "team", ""), team) == 0)
            return r;
    }
    return NULL;
}

/* Who may sign for `team`: its members; an admin outside it only with an override_reason. */
static fd_err check_signer(fd_ctx *ctx, const char *team, const char *override_reason,
                           int *overridden)
{
    const fd_actor *a = ctx->actor;
    *overridden = 0;
    if (override_reason != NULL && a->role != FD_ROLE_ADMIN)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, "override_reason",
                       "only an admin can sign with an override_reason; you are %s",
                       fd_role_name(a->role));
    if (fd_actor_in_team(a, team))
        return FD_OK;
    if (override_reason != NULL) {
        *overridden = 1;
        return FD_OK;
    }
    if (a->role == FD_ROLE_ADMIN)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                       "you are not a member of team %s: an admin may sign for it only with an "
                       "override_reason, which is audited",
                       team);
    return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                   "only members of team %s can sign off for it, and your token does not name "
                   "that team",
                   team);
}

static fd_err rule_signoff(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    stage_args *a = args;
    fd_stage_cfg cfg;
    json_t *signoffs = NULL, *reqs = NULL, *doc = NULL;
    char hash[FD_HASH_HEX], teams[200], target[FD_SLUG_MAX * 2 + 64];
    int overridden = 0;
    int64_t id;
    fd_err e = stage_prelude(st, ctx, a, FD_ROLE_ENGINEER, "sign off", signoff_fields, &cfg);
    if (e != FD_OK)
        return e;
    const char *team = check_str(a->body, "team", "");
    const char *decision = check_str(a->body, "decision", "");
    const char *comment = check_str(a->body, "comment", NULL);
    const char *override = check_str(a->body, "override_reason", NULL);
    if (comment != NULL && comment[0] == '\0')
        comment = NULL;
    if (override != NULL && override[0] == '\0')
        override = NULL;
    if (strcmp(decision, "go") != 0 && strcmp(decision, "no_go") != 0)
        return fd_fail(&ctx->problem, FD_E_INVALID, "decision", "decision must be go or no_go");
    if (strcmp(cfg.status, "done") == 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "stage %s is done: sign-offs are for stages still to come", a->stage);
    e = load_signoffs(st, a->mid, a->stage, &signoffs, &reqs, &cfg);
    if (e != FD_OK)
        return e;
    if (find_req(reqs, team) == NULL) {
        team_list(reqs, teams, sizeof teams);
        e = fd_fail(&ctx->problem, FD_E_INVALID, "team",
                    "stage %s needs no sign-off from team %s (it needs: %s)", a->stage, team,
                    teams);
        goto done;
    }
    e = check_signer(ctx, team, override, &overridden);
    if (e != FD_OK)
        goto done;
    size_t i;
    json_t *so;
    json_array_foreach(cfg.allow_shared ? NULL : signoffs, i, so)
    {
        if (strcmp(by_sub(so), ctx->actor->sub) != 0 ||
            strcmp(check_str(so, "team", ""), team) == 0)
            continue;
        fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                "%s already signed off stage %s for team %s; one person counts for one team per "
                "stage (ask another member of %s, or let the stage allow shared signers)",
                ctx->actor->name, a->stage, check_str(so, "team", ""), team);
        fd_problem_set(&ctx->problem, "current", json_incref(so));
        e = FD_E_CONFLICT;
        goto done;
    }

    e = gates_stage_hash(st, a->mid, a->stage, hash);
    fd_signoff_in in = {.mid = a->mid,
                        .stage = a->stage,
                        .team = team,
                        .sub = ctx->actor->sub,
                        .name = ctx->actor->name,
                        .decision = decision,
                        .comment = comment,
                        .override_reason = override,
                        .stage_hash = hash,
                        .at = store_now_ms(st)};
    if (e == FD_OK)
        e = store_signoff_insert(st, &in, &id);
    if (e == FD_OK)
        e = store_mig_bump(st, a->mid);
    json_decref(signoffs);
    json_decref(reqs);
    signoffs = reqs = NULL;
    if (e == FD_OK)
        e = load_signoffs(st, a->mid, a->stage, &signoffs, &reqs, &cfg);
    if (e != FD_OK)
        goto done;
    doc = json_deep_copy(json_array_get(signoffs, json_array_size(signoffs) - 1));
    snprintf(target, sizeof target, "migrations/%s/stages/%s/signoffs/%lld", a->mid, a->stage,
             (long long)id);
    e = audit_append(st, ctx, a->mid, overridden ? "signoff.override" : "signoff.create", target,
                     NULL, doc, overridden ? override : comment);
    if (e == FD_OK) {
        json_object_set_new(doc, "gate", evaluate(reqs, cfg.allow_shared, signoffs));
        *out = doc;
        doc = NULL;
    }
done:
    json_decref(signoffs);
    json_decref(reqs);
    json_decref(doc);
    return e;
}

fd_err gates_signoff(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                     const json_t *body, json_t **out)
{
    stage_args a = {.mid = mid, .stage = stage, .body = body};
    return core_mutate(st, ctx, rule_signoff, &a, out);
}

fd_err gates_signoff_list(fd_store *st, fd_ctx *ctx, const char *mid, const char *stage,
                          json_t **out)
{
    fd_mig_head h;
    json_t *signoffs, *reqs;
    fd_stage_cfg cfg;
    *out = NULL;
    fd_err e = flight_load_head(st, ctx, mid, &h);
    if (e != FD_OK)
        return e;
    e = load_signoffs(st, mid, stage, &signoffs, &reqs, &cfg);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "migration %s has no stage %s", mid, stage);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    json_t *gate = evaluate(reqs, cfg.allow_shared, signoffs);
    *out = json_pack("{s:s,s:o,s:o}", "stage", stage, "items", signoffs, "gate", gate);
    json_decref(reqs);
    return FD_OK;
}
