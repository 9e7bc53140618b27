/*
 * plan.c - GET /api/migrations/{mid}/plan: the migration's plan as the JSON that creates it again
 * (plans as code; core/plans.h). POST /api/migrations takes the same format.
 */
#include "api/handlers.h"
#include "api/reply.h"
#include "core/plans.h"

/* GET /api/migrations/{mid}/plan (any role) */
void api_migration_plan(api_call *c)
{
    json_t *plan = NULL;
    fd_err e = plan_export(c->st, &c->ctx, c->params[0], &plan);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, plan, -1);
}
