/*
 * team.h - teams: slug, name, chat channel. Admins manage them; everyone reads them.
 *
 * Team document (what every function here returns, owned by the caller):
 *   {"slug": "data-stream", "name": "Data Stream", "channel": "#data-stream" | null,
 *    "created_at": "2026-11-22T01:12:22.123Z", "version": 1}
 */
#ifndef FD_TEAM_H
#define FD_TEAM_H

#include <jansson.h>

#include "store.h"

/* body: {slug, name, channel?}. Admin only. FD_E_EXISTS when the slug is taken. Audited
 * ("team.create", migration NULL). *out: the new team. */
fd_err team_create(fd_store *st, fd_ctx *ctx, const json_t *body, json_t **out);

/* body: {name?, channel?}. Admin only. Honours ctx->if_match (FD_E_STALE). Audited. */
fd_err team_patch(fd_store *st, fd_ctx *ctx, const char *slug, const json_t *body, json_t **out);

fd_err team_get(fd_store *st, fd_ctx *ctx, const char *slug, json_t **out);

/* Keyset paging by slug: *out = {"items": [...], "next_cursor": "<slug>" | null}.
 * cursor NULL for the first page; limit 1..200. */
fd_err team_list(fd_store *st, fd_ctx *ctx, const char *cursor, int limit, json_t **out);

#endif
