/*
 * store_rollback.h - what the go-around rules (rollback.c, goaround.c) ask of the store: the
 * rollback PR of a migration with its last check, and the go-arounds asked for.
 *
 * Same rules as store_internal.h: no SQLite here, writes inside store_begin/store_commit (the
 * rules run through core_mutate), FD_OK / FD_E_NOT_FOUND where said / FD_E_INTERNAL.
 */
#ifndef FD_STORE_ROLLBACK_H
#define FD_STORE_ROLLBACK_H

#include <jansson.h>

#include "github.h"
#include "store_internal.h"

#define RB_URL_MAX 512
#define GA_REASON_MAX 2000
#define GA_DETAIL_MAX 600

/* The GitHub port installed with store_set_ports, or NULL. */
const fd_github *store_github(fd_store *st);

typedef struct fd_rollback_row {
    char migration[FD_SLUG_MAX + 1];
    char repo[GH_REPO_MAX + 1];
    int64_t pr;
    char merge_method[8];
    int requires_second_lead;
    char title[GH_TITLE_MAX + 1];
    char url[RB_URL_MAX + 1];
    char approved_sha[GH_SHA_MAX + 1];
    char armed_by_sub[FD_NAME_MAX];
    char armed_by_name[FD_NAME_MAX];
    int64_t armed_at;
    /* the last check */
    int check_armed;
    char check_head_sha[GH_SHA_MAX + 1]; /* "" when unknown */
    json_t *check_reasons;               /* owned array of {code, text}; never NULL after a read */
    int64_t checked_at;                  /* -1: never checked */
    int64_t used_by;                     /* the go-around that merged it, -1: none */
} fd_rollback_row;

/* Release row->check_reasons. Safe on a zeroed row. */
void store_rollback_row_clear(fd_rollback_row *row);

fd_err store_rollback_get(fd_store *st, const char *mid, fd_rollback_row *out); /* or NOT_FOUND */
/* Insert or replace the whole row of row->migration. */
fd_err store_rollback_put(fd_store *st, const fd_rollback_row *row);
/* Record a check: armed, head (NULL: unknown), reasons (borrowed array), when. */
fd_err store_rollback_set_check(fd_store *st, const char *mid, int armed, const char *head_sha,
                                const json_t *reasons, int64_t at);
/* Mark the rollback as merged by go-around `gid` (disarmed from then on). */
fd_err store_rollback_set_used(fd_store *st, const char *mid, int64_t gid);
/* The ids of migrations in flight or landed whose unused rollback was last checked before
 * `before` (or never): a new array of strings, at most `limit`. */
fd_err store_rollback_due(fd_store *st, int64_t before, int limit, json_t **mids);

typedef struct fd_goaround_row {
    int64_t id;
    char migration[FD_SLUG_MAX + 1];
    char state[16];
    char reason[GA_REASON_MAX + 1];
    char repo[GH_REPO_MAX + 1];
    int64_t pr;
    char approved_sha[GH_SHA_MAX + 1];
    char requested_by_sub[FD_NAME_MAX];
    char requested_by_name[FD_NAME_MAX];
    int64_t requested_at;
    int64_t expires_at;                 /* -1: none */
    char confirmed_by_sub[FD_NAME_MAX]; /* "" when none */
    char confirmed_by_name[FD_NAME_MAX];
    int64_t confirmed_at;           /* -1: none */
    char stage[FD_SLUG_MAX + 1];    /* "" when none */
    char prior_status[16];          /* "" when none */
    char merge_sha[GH_SHA_MAX + 1]; /* "" when none */
    char outcome[32];               /* "" when none */
    char detail[GA_DETAIL_MAX + 1]; /* "" when none */
    int64_t finished_at;            /* -1: not finished */
} fd_goaround_row;

/* Insert (row->id is ignored); *id gets the new id. */
fd_err store_goaround_insert(fd_store *st, const fd_goaround_row *row, int64_t *id);
/* Rewrite the mutable columns (state, confirmed_*, stage, prior_status, merge_sha, outcome,
 * detail, finished_at) of row->id. */
fd_err store_goaround_update(fd_store *st, const fd_goaround_row *row);
/* Go-around `id` of `mid`, or FD_E_NOT_FOUND. */
fd_err store_goaround_get(fd_store *st, const char *mid, int64_t id, fd_goaround_row *out);
/* The latest go-around of `mid` (with state `state`, or any when NULL), or FD_E_NOT_FOUND. */
fd_err store_goaround_latest(fd_store *st, const char *mid, const char *state,
                             fd_goaround_row *out);

#endif
