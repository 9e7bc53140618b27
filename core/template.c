/* template.c - templates: reusable plans, from a plan or from an existing migration, and new
 * migrations made from them (see plans.h). */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight_internal.h"
#include "mutate.h"
#include "plan_lint.h"
#include "plans.h"
#include "store_plans.h"

#define PAGE_MAX 200
/* stands in for the id and title a template's plan leaves to each migration, while checking */
#define PLACEHOLDER_ID "template-check"

static const check_field create_fields[] = {
    {"id", CHECK_SLUG, 1, 0, 0},
    {"title", CHECK_STRING, 0, 1, 200},
    {"description", CHECK_STRING, 0, 0, 10000},
    {"plan", CHECK_OBJECT, 0, 0, 0},
    {"from_migration", CHECK_SLUG, 0, 0, 0},
    {NULL, 0, 0, 0, 0},
};

static const check_field instantiate_fields[] = {
    {"id", CHECK_SLUG, 1, 0, 0},
    {"title", CHECK_STRING, 1, 1, 200},
    {"window", CHECK_OBJECT, 0, 0, 0},
    {"description", CHECK_STRING, 0, 0, 10000},
    {NULL, 0, 0, 0, 0},
};

static void template_target(char *out, size_t n, const char *tid)
{
    snprintf(out, n, "templates/%s", tid);
}

static fd_err load_template(fd_store *st, fd_ctx *ctx, const char *tid, int with_plan, json_t **out)
{
    fd_err e = store_template_get(st, tid, with_plan, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "there is no template %s", tid);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return FD_OK;
}

/* A template's plan given in the body: no id, no window; checked as a plan would be, with a
 * placeholder id and (when it has none) the template's title. *out: the plan to store. */
static fd_err check_given_plan(fd_store *st, fd_ctx *ctx, const json_t *plan, const char *title,
                               json_t **out)
{
    static const char *const own[] = {"id", "window"};
    for (size_t i = 0; i < 2; i++) {
        if (json_object_get(plan, own[i]) != NULL) {
            char field[32];
            snprintf(field, sizeof field, "plan.%s", own[i]);
            return fd_fail(&ctx->problem, FD_E_INVALID, field,
                           "%s is not part of a template: each migration made from it gets its "
                           "own %s when it is instantiated",
                           field, own[i]);
        }
    }
    json_t *probe = json_deep_copy(plan);
    json_object_set_new(probe, "id", json_string(PLACEHOLDER_ID));
    if (json_object_get(probe, "title") == NULL)
        json_object_set_new(probe, "title", json_string(title));
    fd_err e = plan_lint_first(st, probe, "plan", &ctx->problem);
    json_decref(probe);
    if (e == FD_OK)
        *out = json_deep_copy(plan);
    return e;
}

static fd_err rule_create(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const json_t *body = args;
    json_t *plan = NULL, *old = NULL;
    char target[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "create a template");
    if (e == FD_OK)
        e = check_object(body, create_fields, "", &ctx->problem);
    if (e != FD_OK)
        return e;
    const char *tid = check_str(body, "id", "");
    const char *title = check_str(body, "title", NULL);
    const char *from = check_str(body, "from_migration", NULL);
    const json_t *given = json_object_get(body, "plan");
    if ((from == NULL) == (given == NULL || json_is_null(given)))
        return fd_fail(&ctx->problem, FD_E_INVALID, "plan",
                       "give exactly one of plan (a plan without id and window) and "
                       "from_migration (the id of a migration whose plan to reuse)");
    if (from != NULL) {
        e = plan_export(st, ctx, from, &plan);
        if (e == FD_E_NOT_FOUND)
            return fd_fail(&ctx->problem, FD_E_INVALID, "from_migration",
                           "from_migration names no migration: %s", from);
        if (e != FD_OK)
            return e;
        json_object_del(plan, "id");
        json_object_del(plan, "window");
        if (title == NULL)
            title = check_str(plan, "title", tid);
    } else {
        if (title == NULL)
            title = check_str(given, "title", NULL);
        if (title == NULL) {
            return fd_fail(&ctx->problem, FD_E_INVALID, "title",
                           "title is required (or a title in the plan)");
        }
        e = check_given_plan(st, ctx, given, title, &plan);
        if (e != FD_OK)
            return e;
    }
    e = store_template_get(st, tid, 0, &old);
    json_decref(old);
    if (e == FD_OK) {
        e = fd_fail(&ctx->problem, FD_E_EXISTS, "id", "a template %s already exists", tid);
        goto done;
    }
    if (e != FD_E_NOT_FOUND)
        goto done;
    store_template_in in = {.id = tid,
                            .title = title,
                            .description = check_str(body, "description", NULL),
                            .plan = plan,
                            .source_migration = from,
                            .by_sub = ctx->actor->sub,
                            .by_name = ctx->actor->name,
                            .now = store_now_ms(st)};
    e = store_template_insert(st, &in);
    if (e == FD_OK)
        e = store_template_get(st, tid, 1, out);
    template_target(target, sizeof target, tid);
    if (e == FD_OK)
        e = audit_append(st, ctx, NULL, "template.create", target, NULL, *out, NULL);
done:
    json_decref(plan);
    return e;
}

fd_err template_create(fd_store *st, fd_ctx *ctx, const json_t *body, json_t **out)
{
    return core_mutate(st, ctx, rule_create, (void *)body, out);
}

fd_err template_get(fd_store *st, fd_ctx *ctx, const char *tid, json_t **out)
{
    *out = NULL;
    return load_template(st, ctx, tid, 1, out);
}

fd_err template_list(fd_store *st, fd_ctx *ctx, const char *cursor, int limit, json_t **out)
{
    json_t *items = NULL;
    *out = NULL;
    if (limit < 1 || limit > PAGE_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "limit", "limit must be from 1 to %d",
                       PAGE_MAX);
    if (cursor != NULL && cursor[0] != '\0' && !check_is_slug(cursor))
        return fd_fail(&ctx->problem, FD_E_BAD_REQUEST, "cursor",
                       "cursor must be the next_cursor of the previous page");
    if (store_template_list(st, cursor, limit + 1, &items) != FD_OK)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    json_t *next = json_null();
    if (json_array_size(items) > (size_t)limit) {
        json_array_remove(items, (size_t)limit);
        next = json_incref(json_object_get(json_array_get(items, (size_t)limit - 1), "id"));
    }
    *out = json_pack("{s:o,s:o}", "items", items, "next_cursor", next);
    return FD_OK;
}

static fd_err rule_delete(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const char *tid = args;
    json_t *old = NULL;
    char target[FD_SLUG_MAX + 16];
    (void)out;
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "delete a template");
    if (e == FD_OK)
        e = load_template(st, ctx, tid, 1, &old);
    if (e == FD_OK)
        e = store_template_delete(st, tid);
    template_target(target, sizeof target, tid);
    if (e == FD_OK)
        e = audit_append(st, ctx, NULL, "template.delete", target, old, NULL, NULL);
    json_decref(old);
    return e;
}

fd_err template_delete(fd_store *st, fd_ctx *ctx, const char *tid)
{
    return core_mutate(st, ctx, rule_delete, (void *)tid, NULL);
}

typedef struct inst_args {
    const char *tid;
    const json_t *body;
} inst_args;

static fd_err rule_instantiate(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    inst_args *a = args;
    json_t *tpl = NULL, *plan = NULL, *after = NULL;
    char target[FD_SLUG_MAX + 16];
    fd_err e = flight_require_role(ctx, FD_ROLE_LEAD, "create a migration from a template");
    if (e == FD_OK)
        e = check_object(a->body, instantiate_fields, "", &ctx->problem);
    if (e == FD_OK)
        e = load_template(st, ctx, a->tid, 1, &tpl);
    if (e != FD_OK)
        return e;
    plan = json_deep_copy(json_object_get(tpl, "plan"));
    static const char *const own[] = {"id", "title", "window", "description"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        const json_t *v = json_object_get(a->body, own[i]);
        if (v != NULL && !json_is_null(v))
            json_object_set(plan, own[i], (json_t *)v);
    }
    /* the template's plan is checked again: teams may have changed since it was made */
    e = flight_rule_create(st, ctx, plan, out);
    const char *mid = check_str(a->body, "id", "");
    template_target(target, sizeof target, a->tid);
    after = json_pack("{s:s,s:s}", "template", a->tid, "migration", mid);
    if (e == FD_OK)
        e = audit_append(st, ctx, mid, "template.instantiate", target, NULL, after, NULL);
    json_decref(tpl);
    json_decref(plan);
    json_decref(after);
    return e;
}

fd_err template_instantiate(fd_store *st, fd_ctx *ctx, const char *tid, const json_t *body,
                            json_t **out)
{
    inst_args a = {.tid = tid, .body = body};
    return core_mutate(st, ctx, rule_instantiate, &a, out);
}
