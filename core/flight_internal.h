/*
 * flight_internal.h - helpers shared by flight.c (migrations, stages) and flight_steps.c
 * (steps). Each fills ctx->problem and returns the error, or FD_OK.
 */
#ifndef FD_FLIGHT_INTERNAL_H
#define FD_FLIGHT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "store_internal.h"

/* FD_E_FORBIDDEN unless the actor has at least role `min`; `what` completes "only a lead can". */
fd_err flight_require_role(fd_ctx *ctx, fd_role min, const char *what);
/* The migration's head, or FD_E_NOT_FOUND "no migration X". */
fd_err flight_load_head(fd_store *st, fd_ctx *ctx, const char *mid, fd_mig_head *h);
/* FD_E_CONFLICT when the migration is closed or aborted. */
fd_err flight_refuse_read_only(fd_ctx *ctx, const fd_mig_head *h);
/* FD_E_STALE (extra current_version) when ctx->if_match is set and differs from `version`. */
fd_err flight_if_match(fd_ctx *ctx, int64_t version, const char *what);
/* "migrations/<mid>", the audit target of a migration. */
void flight_target_mig(char *out, size_t n, const char *mid);
/* The Migration document of flight.h with its gates and timing (store_mig_doc + gates_decorate).
 * with_steps 0 gives list items. FD_E_NOT_FOUND when there is no such migration. */
fd_err flight_doc(fd_store *st, const char *mid, int with_steps, json_t **out);
/* The rule of flight_create (args: the plan), for callers that create a migration inside their
 * own core_mutate (templates: template.c). Lead; audited migration.create. */
fd_err flight_rule_create(fd_store *st, fd_ctx *ctx, void *args, json_t **out);

#endif
