/* team.c - teams: create and patch (admin), read and list (everyone). See team.h. */
#include "team.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "mutate.h"
#include "store_internal.h"

#define PAGE_MAX 200

static fd_err require_admin(fd_ctx *ctx)
{
    if (ctx->actor->role < FD_ROLE_ADMIN)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                       "only an admin can manage teams; you are %s",
                       fd_role_name(ctx->actor->role));
    return FD_OK;
}

static const check_field create_fields[] = {
    {"slug", CHECK_SLUG, 1, 0, 0},
    {"name", CHECK_STRING, 1, 1, 200},
    {"channel", CHECK_STRING, 0, 1, 200},
    {NULL, 0, 0, 0, 0},
};

static const check_field patch_fields[] = {
    {"name", CHECK_STRING, 0, 1, 200},
    {"channel", CHECK_STRING, 0, 1, 200},
    {NULL, 0, 0, 0, 0},
};

static fd_err rule_create(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const json_t *body = args;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = check_object(body, create_fields, "", &ctx->problem);
    if (e != FD_OK)
        return e;
    const char *slug = check_str(body, "slug", NULL);
    int exists = store_team_exists(st, slug);
    if (exists < 0)
        return FD_E_INTERNAL;
    if (exists)
        return fd_fail(&ctx->problem, FD_E_EXISTS, "slug", "a team %s already exists", slug);
    if (store_team_insert(st, slug, check_str(body, "name", NULL), check_str(body, "channel", NULL),
                          store_now_ms(st)) != FD_OK ||
        store_team_get(st, slug, out) != FD_OK)
        return FD_E_INTERNAL;
    char target[FD_SLUG_MAX + 8];
    snprintf(target, sizeof target, "teams/%s", slug);
    return audit_append(st, ctx, NULL, "team.create", target, NULL, *out, NULL);
}

fd_err team_create(fd_store *st, fd_ctx *ctx, const json_t *body, json_t **out)
{
    return core_mutate(st, ctx, rule_create, (void *)body, out);
}

typedef struct patch_args {
    const char *slug;
    const json_t *body;
} patch_args;

static fd_err rule_patch(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    patch_args *a = args;
    json_t *cur = NULL, *before = NULL, *after = NULL;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = check_object(a->body, patch_fields, "", &ctx->problem);
    if (e != FD_OK)
        return e;
    e = store_team_get(st, a->slug, &cur);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "no team %s", a->slug);
    if (e != FD_OK)
        return e;
    json_int_t version = json_integer_value(json_object_get(cur, "version"));
    if (ctx->if_match >= 0 && ctx->if_match != version) {
        fd_fail(&ctx->problem, FD_E_STALE, NULL,
                "team %s is at version %lld, not %lld: reload and try again", a->slug,
                (long long)version, (long long)ctx->if_match);
        fd_problem_set(&ctx->problem, "current_version", json_integer(version));
        e = FD_E_STALE;
        goto done;
    }
    /* before/after name only the fields that change */
    before = json_object();
    after = json_object();
    const char *fields[] = {"name", "channel"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(a->body, fields[i]);
        if (v == NULL || (json_is_null(v) && i == 0))
            continue; /* absent, or a null name: unchanged */
        if (json_equal(v, json_object_get(cur, fields[i])))
            continue;
        json_object_set(before, fields[i], json_object_get(cur, fields[i]));
        json_object_set(after, fields[i], v);
        json_object_set(cur, fields[i], v); /* a null channel clears it */
    }
    if (json_object_size(after) > 0) {
        char target[FD_SLUG_MAX + 8];
        snprintf(target, sizeof target, "teams/%s", a->slug);
        if (store_team_update(st, a->slug, json_string_value(json_object_get(cur, "name")),
                              json_string_value(json_object_get(cur, "channel"))) != FD_OK ||
            audit_append(st, ctx, NULL, "team.update", target, before, after, NULL) != FD_OK) {
            e = FD_E_INTERNAL;
            goto done;
        }
    }
    e = store_team_get(st, a->slug, out);
done:
    json_decref(cur);
    json_decref(before);
    json_decref(after);
    return e;
}

fd_err team_patch(fd_store *st, fd_ctx *ctx, const char *slug, const json_t *body, json_t **out)
{
    patch_args a = {.slug = slug, .body = body};
    return core_mutate(st, ctx, rule_patch, &a, out);
}

fd_err team_get(fd_store *st, fd_ctx *ctx, const char *slug, json_t **out)
{
    fd_err e = store_team_get(st, slug, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "no team %s", slug);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return FD_OK;
}

fd_err team_list(fd_store *st, fd_ctx *ctx, const char *cursor, int limit, json_t **out)
{
    *out = NULL;
    if (limit < 1 || limit > PAGE_MAX)
        return fd_fail(&ctx->problem, FD_E_INVALID, "limit", "limit must be from 1 to %d",
                       PAGE_MAX);
    json_t *items = NULL;
    /* one more than asked tells whether another page follows */
    fd_err e = store_team_list(st, cursor, limit + 1, &items);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    json_t *next = json_null();
    if (json_array_size(items) > (size_t)limit) {
        json_array_remove(items, (size_t)limit);
        next = json_incref(json_object_get(json_array_get(items, (size_t)limit - 1), "slug"));
    }
    *out = json_pack("{s:o,s:o}", "items", items, "next_cursor", next);
    return FD_OK;
}
