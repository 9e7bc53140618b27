/*
 * handlers.h - the REST handlers of api/, one group per resource file, wired up in routes.c.
 *
 * Each handler answers the request itself (a document or a problem) and returns nothing.
 * Path parameters arrive in c->params in the order they appear in the route's pattern.
 */
#ifndef FD_API_HANDLERS_H
#define FD_API_HANDLERS_H

#include "api/api.h"

/* misc.c: GET /healthz, GET /api/openapi.yaml (both public), GET /api/me */
void api_healthz(api_call *c);
void api_openapi(api_call *c);
void api_me(api_call *c);

/* teams.c: /api/teams, /api/teams/{team} */
void api_teams_list(api_call *c);
void api_teams_create(api_call *c);
void api_team_get(api_call *c);
void api_team_patch(api_call *c);

/* migrations.c: /api/migrations, /api/migrations/{mid}, its state changes and stages */
void api_migrations_list(api_call *c);
void api_migrations_create(api_call *c);
void api_migration_get(api_call *c);
void api_migration_patch(api_call *c);
void api_migration_start(api_call *c);
void api_migration_abort(api_call *c);
void api_stage_complete(api_call *c);

/* steps.c: /api/migrations/{mid}/stages/{stage}/steps, /api/migrations/{mid}/steps/{sid}[/...] */
void api_step_add(api_call *c);
void api_step_get(api_call *c);
void api_step_patch(api_call *c);
void api_step_delete(api_call *c);
void api_step_tick(api_call *c);
void api_step_untick(api_call *c);
void api_step_skip(api_call *c);
void api_step_fail(api_call *c);

/* audit.c: /api/migrations/{mid}/audit (streamed export), /api/migrations/{mid}/audit/verify */
void api_audit_export(api_call *c);
void api_audit_verify(api_call *c);

#endif
