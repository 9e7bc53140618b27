/*
 * chat_internal.h - shared by chat.c (mapping, dispatch, read-only commands) and chat_cmd.c (the
 * commands that change something).
 */
#ifndef FD_CHAT_INTERNAL_H
#define FD_CHAT_INTERNAL_H

#include <jansson.h>

#include "buf.h"
#include "chat.h"

/* One command being run: who, the words, and how to phrase hints. */
typedef struct chat_run {
    fd_store *st;
    const chat_request *req;
    const char *cmd;  /* "/flightdeck" */
    fd_actor actor;   /* from the mapping, source "bot" */
    char mid[200];    /* the migration id: the word after the command word */
    const char *rest; /* the text after the migration id, blanks skipped */
} chat_run;

/* A reply message: type "ephemeral" or "in_channel"; text printf-style. Text is escaped for
 * Slack (&, <, >) so a step title cannot ping @channel. */
json_t *chat_reply(const char *type, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy the next whitespace-separated word of *p into out (at most n-1 bytes) and advance *p.
 * Returns 0, or -1 when there is none or it is too long. */
int chat_word(const char **p, char *out, size_t n);

/* *p with leading blanks skipped. */
const char *chat_skip_blanks(const char *p);

/* "42" or "#42" -> 42; 0 or -1. */
int chat_step_id(const char *word, int64_t *out);

/* The refusal of a core call as a reply: the problem's detail, then `hint` (may be NULL). Clears
 * the problem. */
json_t *chat_refusal(fd_ctx *ctx, fd_err e, const char *hint);

/* Append the first `max` open steps of the active stage as "#12 Title" items to b (", " between).
 * Returns how many were written (0: none open, or not in flight). */
int chat_list_open(fd_store *st, fd_ctx *ctx, const char *mid, int max, fd_buf *b, int64_t *first);

/* The mutating commands (chat_cmd.c). */
json_t *chat_cmd_step(chat_run *run, int skip);
json_t *chat_cmd_signoff(chat_run *run);
json_t *chat_cmd_go_around(chat_run *run);

#endif
