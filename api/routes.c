/*
 * routes.c - every route api/ serves. server/ matches these (and its own server_routes[]);
 * schema/openapi.yaml describes exactly this set, and tests/unit/test_openapi.c holds them equal.
 */
#include "api/api.h"
#include "api/handlers.h"

const api_route api_routes[] = {
    {"GET", "/healthz", api_healthz, API_PUBLIC},
    {"GET", "/api/openapi.yaml", api_openapi, API_PUBLIC},
    {"GET", "/api/me", api_me, 0},

    {"GET", "/api/teams", api_teams_list, 0},
    {"POST", "/api/teams", api_teams_create, 0},
    {"GET", "/api/teams/{team}", api_team_get, 0},
    {"PATCH", "/api/teams/{team}", api_team_patch, 0},

    {"GET", "/api/migrations", api_migrations_list, 0},
    {"POST", "/api/migrations", api_migrations_create, 0},
    {"GET", "/api/migrations/{mid}", api_migration_get, 0},
    {"PATCH", "/api/migrations/{mid}", api_migration_patch, 0},
    {"POST", "/api/migrations/{mid}/start", api_migration_start, 0},
    {"POST", "/api/migrations/{mid}/abort", api_migration_abort, 0},
    {"POST", "/api/migrations/{mid}/stages/{stage}/complete", api_stage_complete, 0},
    {"POST", "/api/migrations/{mid}/stages/{stage}/steps", api_step_add, 0},

    {"GET", "/api/migrations/{mid}/steps/{sid}", api_step_get, 0},
    {"PATCH", "/api/migrations/{mid}/steps/{sid}", api_step_patch, 0},
    {"DELETE", "/api/migrations/{mid}/steps/{sid}", api_step_delete, 0},
    {"POST", "/api/migrations/{mid}/steps/{sid}/tick", api_step_tick, API_JOB},
    {"POST", "/api/migrations/{mid}/steps/{sid}/untick", api_step_untick, API_JOB},
    {"POST", "/api/migrations/{mid}/steps/{sid}/skip", api_step_skip, API_JOB},
    {"POST", "/api/migrations/{mid}/steps/{sid}/fail", api_step_fail, API_JOB},
    {"POST", "/api/migrations/{mid}/steps/{sid}/confirm", api_step_confirm, 0},

    {"PATCH", "/api/migrations/{mid}/stages/{stage}", api_stage_patch, 0},
    {"GET", "/api/migrations/{mid}/stages/{stage}/signoffs", api_signoffs_list, 0},
    {"POST", "/api/migrations/{mid}/stages/{stage}/signoffs", api_signoffs_create, 0},
    {"GET", "/api/migrations/{mid}/briefings", api_briefings_list, 0},
    {"POST", "/api/migrations/{mid}/briefings", api_briefings_create, 0},
    {"GET", "/api/migrations/{mid}/briefings/{bid}", api_briefing_get, 0},
    {"POST", "/api/migrations/{mid}/briefings/{bid}/acks", api_briefing_ack, 0},
    {"GET", "/api/migrations/{mid}/briefings/{bid}/feedback", api_feedback_list, 0},
    {"POST", "/api/migrations/{mid}/briefings/{bid}/feedback", api_feedback_add, 0},
    {"POST", "/api/migrations/{mid}/briefings/{bid}/feedback/{fid}/resolve", api_feedback_resolve,
     0},

    {"GET", "/api/migrations/{mid}/audit", api_audit_export, API_STREAM},
    {"GET", "/api/migrations/{mid}/audit/verify", api_audit_verify, 0},

    {"PUT", "/api/migrations/{mid}/rollback", api_rollback_put, 0},
    {"GET", "/api/migrations/{mid}/rollback", api_rollback_get, 0},
    {"POST", "/api/migrations/{mid}/go-around", api_goaround, 0},
    {"POST", "/api/migrations/{mid}/go-around/confirm", api_goaround_confirm, 0},
    {"POST", "/api/migrations/{mid}/landing/reopen", api_landing_reopen, 0},

    {"GET", "/api/migrations/{mid}/next", api_migration_next, 0},
    {"GET", "/api/migrations/{mid}/report", api_migration_report, 0},
    {"GET", "/api/migrations/{mid}/archive", api_migration_archive, API_STREAM},
    {"PUT", "/api/chatops/users/{chat_user}", api_chat_user_put, 0},
    {"GET", "/api/chatops/users/{chat_user}", api_chat_user_get, 0},
    {"DELETE", "/api/chatops/users/{chat_user}", api_chat_user_delete, 0},
    {"POST", "/api/webhooks", api_webhooks_create, 0},
    {"GET", "/api/webhooks", api_webhooks_list, 0},
    {"GET", "/api/webhooks/{id}", api_webhook_get, 0},
    {"DELETE", "/api/webhooks/{id}", api_webhook_delete, 0},
    {"GET", "/api/webhooks/{id}/deliveries", api_webhook_deliveries, 0},

    {"GET", "/api/migrations/{mid}/plan", api_migration_plan, 0},
    {"POST", "/api/templates", api_templates_create, 0},
    {"GET", "/api/templates", api_templates_list, 0},
    {"GET", "/api/templates/{tid}", api_template_get, 0},
    {"DELETE", "/api/templates/{tid}", api_template_delete, 0},
    {"POST", "/api/templates/{tid}/instantiate", api_template_instantiate, 0},
    {"GET", "/api/migrations/{mid}/switches", api_switches_list, 0},
    {"POST", "/api/migrations/{mid}/switches/{name}/revert", api_switch_revert, 0},

    {NULL, NULL, NULL, 0},
};
