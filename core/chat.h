/*
 * chat.h - chatops: the chat identity mapping, the slash-command language, and the "what next"
 * document bots ask for.
 *
 * A chat user (a Slack user id such as U023BECGF) acts in flightdeck only once an admin has
 * mapped it to an identity: {sub, name, role, teams}. Commands then run through the same core
 * functions as the REST API, as that identity with source "bot", so the audit says who did what
 * from chat. An unmapped user is told how to get mapped and can do nothing else.
 *
 * ChatUser document: {"chat_user": "U123", "sub": "alice", "name": "Alice", "role": "engineer",
 *                     "teams": ["data-stream"], "created_at": <time>, "version": 1}
 *
 * Commands (the text after the slash command; step numbers are step ids, shown as #42):
 *   help
 *   status <mid>                      state, active stage, progress, the next open steps
 *   next <mid>                        the active stage's open steps in order, what blocks the next
 *   tick <mid> <step> [note]
 *   skip <mid> <step> <reason>
 *   signoff <mid> <stage> go|no_go [comment]
 *   go-around <mid> <reason>          answers with a one-time code, valid CHAT_CODE_TTL_MS
 *   go-around <mid> confirm <code>    then goaround_request (rollback.h) merges the armed
 *                                     rollback PR, as the mapped identity (a lead)
 *
 * Reply (Slack message JSON): {"response_type": "ephemeral"|"in_channel", "text": "..."}.
 * Changes everyone should see (a tick, a skip, a sign-off, a go-around) are "in_channel"; answers
 * for the asker alone (status, help, refusals) are "ephemeral".
 */
#ifndef FD_CHAT_H
#define FD_CHAT_H

#include <jansson.h>

#include "store.h"

#define CHAT_CODE_TTL_MS 60000 /* a go-around code must come back within a minute */
#define CHAT_USER_MAX 64       /* Slack ids are ~11 characters; leave room for other chats */

/* ---- the mapping (admin; changes audited as chatops.user.put / chatops.user.delete) ---- */

/* body {sub: 1-127, name: 1-127, role, teams?: [existing team slugs]}. Creates or replaces.
 * *out: the ChatUser. */
fd_err chat_user_put(fd_store *st, fd_ctx *ctx, const char *chat_user, const json_t *body,
                     json_t **out);
fd_err chat_user_get(fd_store *st, fd_ctx *ctx, const char *chat_user, json_t **out);
/* FD_E_NOT_FOUND when not mapped. */
fd_err chat_user_delete(fd_store *st, fd_ctx *ctx, const char *chat_user);

/*
 * What to do next in a migration, for people and bots (any role):
 *   {"migration": "msk", "status": "in_flight", "stage": {"key", "title"}|null,
 *    "open_steps": [{"id", "position", "title", "status", "critical", "owner_team"}],
 *    "next_stage": {"key", "title"}|null,
 *    "blocking": {"steps": [{"id", "title", "status"}], "gate": Gate|null}}
 * "blocking" says what stands between now and the next stage: the open steps of the active stage
 * and, when gates apply, the next stage's gate (gates.h). FD_E_NOT_FOUND for an unknown mid.
 */
fd_err chat_next(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out);

/* One slash command as received. All borrowed. */
typedef struct chat_request {
    const char *chat_user;  /* Slack user_id */
    const char *text;       /* what followed the command, may be "" */
    const char *command;    /* "/flightdeck" (used in hints); NULL: "/flightdeck" */
    const char *base_url;   /* "https://flightdeck.example" for the how-to-get-mapped hint */
    const char *request_id; /* recorded in audit events; may be NULL */
} chat_request;

/*
 * Run one command and return the reply message (owned by the caller, never NULL unless memory
 * runs out). Refusals are replies too: they say what went wrong and what to type instead.
 */
json_t *chat_execute(fd_store *st, const chat_request *r);

#endif
