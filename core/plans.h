/*
 * plans.h - plans as code: a migration's plan exported as the JSON that creates it again, and
 * templates (reusable plans) that new migrations start from.
 *
 * Export (GET /api/migrations/{mid}/plan, any role): the plan of plan_lint.h / flight.h that
 * POST /api/migrations accepts, so that create -> export -> create (another id) -> export gives
 * the same plan but for the id. Only plan fields, never state (who ticked what). Optional members
 * are left out when empty or at their default (description null, window null, critical false,
 * no sign-offs, ...); a stage's expected_minutes is its own (not the sum of its steps). The
 * rollback is the PR armed for the migration (PUT .../rollback) if any, else the one the plan
 * named. Switch actions come back as written: header values name secrets only as
 * {{secret:NAME}} (plan_lint refuses credentials written out).
 *
 * Template document:
 *   {"id": slug, "title": 1-200, "description": "..."|null, "source_migration": mid|null,
 *    "created_by": {"sub", "name"}, "created_at": <time>, "version": 1,
 *    "plan": Plan without "id" and "window" (GET one; lists leave it out)}
 * Body of template_create (lead; audited template.create on the global chain):
 *   {"id": slug, "title"?: 1-200, "description"?: string, and exactly one of
 *    "plan": a plan without id and window (its title optional: the template's is used), or
 *    "from_migration": an existing migration id (its exported plan; title defaults to its title)}
 * Body of template_instantiate (lead): {"id": slug, "title": 1-200, "window"?: {start, end},
 *   "description"?: string} -> a new draft migration (audited migration.create, then
 *   template.instantiate on the new migration's chain).
 */
#ifndef FD_PLANS_H
#define FD_PLANS_H

#include <jansson.h>

#include "store.h"

/* The plan of migration `mid` (any role). FD_E_NOT_FOUND when there is none. */
fd_err plan_export(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

fd_err template_create(fd_store *st, fd_ctx *ctx, const json_t *body, json_t **out);
/* The Template with its plan (any role), or FD_E_NOT_FOUND. */
fd_err template_get(fd_store *st, fd_ctx *ctx, const char *tid, json_t **out);
/* {"items": [Template without plan], "next_cursor": id|null} by id; limit 1..200. */
fd_err template_list(fd_store *st, fd_ctx *ctx, const char *cursor, int limit, json_t **out);
/* Lead; audited template.delete. Migrations made from it are not touched. */
fd_err template_delete(fd_store *st, fd_ctx *ctx, const char *tid);
/* A new draft migration from template `tid`. *out: the whole migration document. */
fd_err template_instantiate(fd_store *st, fd_ctx *ctx, const char *tid, const json_t *body,
                            json_t **out);

#endif
