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
void api_step_confirm(api_call *c);

/* briefings.c: /api/migrations/{mid}/briefings[/{bid}[/acks|/feedback[/{fid}/resolve]]] */
void api_briefings_list(api_call *c);
void api_briefings_create(api_call *c);
void api_briefing_get(api_call *c);
void api_briefing_ack(api_call *c);
void api_feedback_list(api_call *c);
void api_feedback_add(api_call *c);
void api_feedback_resolve(api_call *c);

/* signoffs.c: PATCH /api/migrations/{mid}/stages/{stage}, .../stages/{stage}/signoffs */
void api_stage_patch(api_call *c);
void api_signoffs_list(api_call *c);
void api_signoffs_create(api_call *c);

/* audit.c: /api/migrations/{mid}/audit (streamed export), /api/migrations/{mid}/audit/verify */
void api_audit_export(api_call *c);
void api_audit_verify(api_call *c);

/* rollback.c: /api/migrations/{mid}/rollback, .../go-around[/confirm], .../landing/reopen.
 * Arming, ?refresh=1 and the go-around answer later, when GitHub has (see api/rollback.c). */
void api_rollback_put(api_call *c);
void api_rollback_get(api_call *c);
void api_goaround(api_call *c);
void api_goaround_confirm(api_call *c);
void api_landing_reopen(api_call *c);

/* chatops.c: /api/chatops/users/{chat_user} (admin), /api/migrations/{mid}/next */
void api_chat_user_put(api_call *c);
void api_chat_user_get(api_call *c);
void api_chat_user_delete(api_call *c);
void api_migration_next(api_call *c);

/* webhooks.c: /api/webhooks, /api/webhooks/{id}, /api/webhooks/{id}/deliveries (admin) */
void api_webhooks_create(api_call *c);
void api_webhooks_list(api_call *c);
void api_webhook_get(api_call *c);
void api_webhook_delete(api_call *c);
void api_webhook_deliveries(api_call *c);

/* report.c: /api/migrations/{mid}/report (HTML), /api/migrations/{mid}/archive (streamed) */
void api_migration_report(api_call *c);
void api_migration_archive(api_call *c);

/* plan.c: GET /api/migrations/{mid}/plan (plans as code) */
void api_migration_plan(api_call *c);

/* templates.c: /api/templates, /api/templates/{tid}[/instantiate] */
void api_templates_create(api_call *c);
void api_templates_list(api_call *c);
void api_template_get(api_call *c);
void api_template_delete(api_call *c);
void api_template_instantiate(api_call *c);

/* switches.c: /api/migrations/{mid}/switches, .../switches/{name}/revert */
void api_switches_list(api_call *c);
void api_switch_revert(api_call *c);

#endif
