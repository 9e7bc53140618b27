/* chat_cmd.c - the chat commands that change something: tick, skip, signoff, go-around (see
 * chat.h). Each runs through the same core function as the REST API, as the mapped identity with
 * source "bot"; a refusal becomes a reply that says what to type instead. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_internal.h"
#include "check.h"
#include "flight.h"
#include "gates.h"
#include "mutate.h"
#include "rollback.h"
#include "store_chatops.h"

#define CODE_DIGITS 6

/* ---- tick, skip ---- */

json_t *chat_cmd_step(chat_run *run, int skip)
{
    const char *verb = skip ? "skip" : "tick";
    const char *p = run->rest;
    char word[40];
    int64_t sid;
    if (chat_word(&p, word, sizeof word) != 0 || chat_step_id(word, &sid) != 0)
        return chat_reply(
            "ephemeral", "Which step? `%s %s %s <step>%s` - the #numbers are in `%s next %s`.",
            run->cmd, verb, run->mid, skip ? " <reason>" : " [note]", run->cmd, run->mid);
    const char *text = chat_skip_blanks(p);
    if (skip && *text == '\0')
        return chat_reply("ephemeral", "A skip needs a reason: `%s skip %s %lld <reason>`.",
                          run->cmd, run->mid, (long long)sid);

    fd_ctx ctx;
    json_t *step = NULL;
    char hint[512];
    fd_ctx_init(&ctx, &run->actor, run->req->request_id);
    fd_err e = flight_step_action(run->st, &ctx, run->mid, sid, skip ? FD_STEP_SKIP : FD_STEP_TICK,
                                  *text ? text : NULL, &step);
    if (e != FD_OK) {
        if (e == FD_E_NOT_FOUND)
            snprintf(hint, sizeof hint, "`%s next %s` lists the open steps.", run->cmd, run->mid);
        else if (e == FD_E_FORBIDDEN)
            snprintf(hint, sizeof hint,
                     "Your chat identity is %s; an admin can change it (PUT "
                     "/api/chatops/users/%s).",
                     fd_role_name(run->actor.role), run->req->chat_user);
        else
            snprintf(hint, sizeof hint, "`%s status %s` shows where the flight is.", run->cmd,
                     run->mid);
        return chat_refusal(&ctx, e, hint);
    }

    fd_buf b = {0}, list = {0};
    fd_buf_printf(&b, "%s %s #%lld %s in %s", run->actor.name, skip ? "skipped" : "ticked",
                  (long long)sid, check_str(step, "title", ""), run->mid);
    if (*text)
        fd_buf_printf(&b, " (%s)", text);
    fd_buf_puts(&b, ".");
    int64_t first = 0;
    if (chat_list_open(run->st, &ctx, run->mid, 3, &list, &first) > 0)
        fd_buf_printf(&b, " Next: %s - `%s tick %s %lld`", list.data, run->cmd, run->mid,
                      (long long)first);
    else
        fd_buf_printf(&b, " Every step of stage %s is done: a lead can complete it.",
                      check_str(step, "stage", ""));
    json_t *r = chat_reply("in_channel", "%s", b.data ? b.data : "");
    fd_buf_free(&b);
    fd_buf_free(&list);
    json_decref(step);
    return r;
}

/* ---- signoff ---- */

/* The team to sign for: the first team the stage's gate names that the actor belongs to. */
static const char *pick_team(const chat_run *run, const json_t *gate, fd_buf *names)
{
    size_t i;
    json_t *t;
    const char *found = NULL;
    json_array_foreach(json_object_get(gate, "teams"), i, t)
    {
        const char *team = check_str(t, "team", "");
        fd_buf_printf(names, "%s%s", i ? ", " : "", team);
        if (found == NULL && fd_actor_in_team(&run->actor, team))
            found = team;
    }
    return found;
}

json_t *chat_cmd_signoff(chat_run *run)
{
    const char *p = run->rest;
    char stage[80], decision[16];
    if (chat_word(&p, stage, sizeof stage) != 0 || chat_word(&p, decision, sizeof decision) != 0 ||
        (strcmp(decision, "go") != 0 && strcmp(decision, "no_go") != 0))
        return chat_reply("ephemeral", "Usage: `%s signoff %s <stage> go|no_go [comment]`.",
                          run->cmd, run->mid);
    const char *comment = chat_skip_blanks(p);

    fd_ctx ctx;
    json_t *list = NULL, *body = NULL, *out = NULL, *r = NULL;
    fd_buf names = {0}, b = {0};
    char hint[512];
    fd_ctx_init(&ctx, &run->actor, run->req->request_id);
    snprintf(hint, sizeof hint, "`%s next %s` shows what each stage still needs.", run->cmd,
             run->mid);
    fd_err e = gates_signoff_list(run->st, &ctx, run->mid, stage, &list);
    if (e != FD_OK) {
        r = chat_refusal(&ctx, e, hint);
        goto done;
    }
    const char *team = pick_team(run, json_object_get(list, "gate"), &names);
    if (team == NULL) {
        if (names.len == 0)
            r = chat_reply("ephemeral", "Stage %s of %s needs no sign-offs.", stage, run->mid);
        else
            r = chat_reply("ephemeral",
                           "Stage %s of %s needs a go from %s; your chat identity is in none of "
                           "these teams. An admin can add the team to it (PUT "
                           "/api/chatops/users/%s).",
                           stage, run->mid, names.data, run->req->chat_user);
        goto done;
    }
    body = json_pack("{s:s,s:s}", "team", team, "decision", decision);
    if (*comment)
        json_object_set_new(body, "comment", json_string(comment));
    e = gates_signoff(run->st, &ctx, run->mid, stage, body, &out);
    if (e != FD_OK) {
        r = chat_refusal(&ctx, e, hint);
        goto done;
    }
    json_t *gate = json_object_get(out, "gate");
    fd_buf_printf(&b, "%s gave %s for %s on stage %s of %s.", run->actor.name,
                  strcmp(decision, "go") == 0 ? "GO" : "NO-GO", team, stage, run->mid);
    if (json_is_true(json_object_get(gate, "satisfied"))) {
        fd_buf_puts(&b, " The gate is satisfied.");
    } else {
        fd_buf_puts(&b, " Still missing:");
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(gate, "missing"), i, m) fd_buf_printf(
            &b, " %s (%lld of %lld, %s)", check_str(m, "team", ""),
            (long long)json_integer_value(json_object_get(m, "have")),
            (long long)json_integer_value(json_object_get(m, "need")), check_str(m, "reason", ""));
    }
    r = chat_reply("in_channel", "%s", b.data);
done:
    json_decref(list);
    json_decref(body);
    json_decref(out);
    fd_buf_free(&names);
    fd_buf_free(&b);
    return r;
}

/* ---- go-around: ask, then confirm with a one-time code ---- */

typedef struct code_args {
    const char *mid;
    const char *chat_user;
    const char *reason; /* ask */
    const char *code;   /* ask: the new code; confirm: the code given */
} code_args;

/* A go-around is for a flight in the air: not before take-off, not after it is over. */
static fd_err check_flying(fd_store *st, fd_ctx *ctx, const char *mid)
{
    fd_mig_head h;
    fd_err e = store_mig_head(st, mid, &h);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "there is no migration %s", mid);
    if (e != FD_OK)
        return e;
    if (strcmp(h.status, "in_flight") != 0 && strcmp(h.status, "landed") != 0)
        return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL,
                       "migration %s is %s: a go-around is only for a flight in the air", mid,
                       h.status);
    return FD_OK;
}

static fd_err require_lead(fd_ctx *ctx)
{
    if (ctx->actor->role < FD_ROLE_LEAD)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                       "only a lead can call a go-around; you are %s",
                       fd_role_name(ctx->actor->role));
    return FD_OK;
}

static fd_err rule_ask(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    code_args *a = args;
    (void)out;
    fd_err e = require_lead(ctx);
    if (e == FD_OK)
        e = check_flying(st, ctx, a->mid);
    if (e == FD_OK)
        e = store_chat_code_put(st, a->mid, a->chat_user, a->code, a->reason,
                                store_now_ms(st) + CHAT_CODE_TTL_MS);
    return e;
}

/* Confirming answers a small document: {"outcome": "confirmed"|"none"|"expired"|"mismatch",
 * "reason"}. A wrong or expired code is spent (committed), so codes cannot be guessed. Nothing
 * is audited here: the code is chat's own safety catch; the go-around that follows is. */
static fd_err rule_confirm(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    code_args *a = args;
    char stored[16];
    char *reason = NULL;
    int64_t expires = 0;
    fd_err e = require_lead(ctx);
    if (e == FD_OK)
        e = check_flying(st, ctx, a->mid);
    if (e != FD_OK)
        return e;
    e = store_chat_code_get(st, a->mid, a->chat_user, stored, &reason, &expires);
    if (e == FD_E_NOT_FOUND) {
        *out = json_pack("{s:s}", "outcome", "none");
        return FD_OK;
    }
    if (e != FD_OK)
        return e;
    const char *outcome = "confirmed";
    if (store_now_ms(st) > expires)
        outcome = "expired";
    else if (strlen(a->code) != strlen(stored) ||
             CRYPTO_memcmp(a->code, stored, strlen(stored)) != 0)
        outcome = "mismatch";
    /* spent either way; the go-around itself (and its audit) is goaround_request's */
    e = store_chat_code_delete(st, a->mid, a->chat_user);
    if (e == FD_OK)
        *out = json_pack("{s:s,s:s}", "outcome", outcome, "reason", reason);
    free(reason);
    return e;
}

static int new_code(char out[CODE_DIGITS + 1])
{
    unsigned char r[CODE_DIGITS];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    for (int i = 0; i < CODE_DIGITS; i++)
        out[i] = (char)('0' + r[i] % 10); /* the bias of 256 % 10 is irrelevant for 60 s */
    out[CODE_DIGITS] = '\0';
    return 0;
}

/* The confirmed go-around: merge the armed rollback PR (core/rollback.h). The merge answers
 * later; chat learns the outcome from the audit and the cockpit, so no callback is given. */
static json_t *go_around_now(chat_run *run, fd_ctx *ctx, const char *reason)
{
    json_t *out = NULL, *r;
    char hint[512];
    fd_err e = goaround_request(run->st, ctx, run->mid, reason, NULL, NULL, &out);
    if (e != FD_OK) {
        snprintf(hint, sizeof hint, "Nothing was merged. `%s status %s` shows where the flight is.",
                 run->cmd, run->mid);
        return chat_refusal(ctx, e, hint);
    }
    if (out != NULL && strcmp(check_str(out, "state", ""), "pending") == 0)
        r = chat_reply("in_channel",
                       "GO-AROUND of %s ordered by %s (%s): waiting for a second lead to confirm "
                       "go-around %lld in the web UI before %s.",
                       run->mid, run->actor.name, reason,
                       (long long)json_integer_value(json_object_get(out, "id")),
                       check_str(out, "expires_at", "it expires"));
    else
        r = chat_reply("in_channel",
                       "GO-AROUND of %s ordered by %s: %s. Merging the rollback PR now; the "
                       "cockpit shows the outcome.",
                       run->mid, run->actor.name, reason);
    json_decref(out);
    return r;
}

json_t *chat_cmd_go_around(chat_run *run)
{
    const char *p = run->rest;
    char word[32], code[CODE_DIGITS + 1];
    const char *after_word = p;
    fd_ctx ctx;
    json_t *res = NULL, *r = NULL;
    char hint[512];
    fd_ctx_init(&ctx, &run->actor, run->req->request_id);
    snprintf(hint, sizeof hint, "`%s status %s` shows where the flight is.", run->cmd, run->mid);

    /* "confirm <code>" with nothing after it is a confirmation; anything else is a reason */
    int confirm = chat_word(&after_word, word, sizeof word) == 0 && strcmp(word, "confirm") == 0 &&
                  chat_word(&after_word, word, sizeof word) == 0 &&
                  *chat_skip_blanks(after_word) == '\0';
    if (confirm) {
        code_args a = {.mid = run->mid, .chat_user = run->req->chat_user, .code = word};
        fd_err e = core_mutate(run->st, &ctx, rule_confirm, &a, &res);
        if (e != FD_OK)
            return chat_refusal(&ctx, e, hint);
        const char *outcome = check_str(res, "outcome", "");
        if (strcmp(outcome, "none") == 0)
            r = chat_reply("ephemeral",
                           "No go-around of %s is waiting for your confirmation. Start one: "
                           "`%s go-around %s <reason>`.",
                           run->mid, run->cmd, run->mid);
        else if (strcmp(outcome, "expired") == 0)
            r = chat_reply("ephemeral",
                           "That code expired (it is valid for %d s). Ask again: `%s go-around "
                           "%s <reason>`.",
                           CHAT_CODE_TTL_MS / 1000, run->cmd, run->mid);
        else if (strcmp(outcome, "mismatch") == 0)
            r = chat_reply("ephemeral",
                           "That code does not match, and the request is cancelled. Ask again: "
                           "`%s go-around %s <reason>`.",
                           run->cmd, run->mid);
        else
            r = go_around_now(run, &ctx, check_str(res, "reason", ""));
        json_decref(res);
        return r;
    }

    if (*p == '\0')
        return chat_reply("ephemeral", "A go-around needs a reason: `%s go-around %s <reason>`.",
                          run->cmd, run->mid);
    if (strlen(p) > 2000)
        return chat_reply("ephemeral", "Keep the reason under 2000 characters.");
    if (new_code(code) != 0)
        return chat_reply("ephemeral", "Could not make a code; try again.");
    code_args a = {.mid = run->mid, .chat_user = run->req->chat_user, .reason = p, .code = code};
    fd_err e = core_mutate(run->st, &ctx, rule_ask, &a, NULL);
    if (e != FD_OK)
        return chat_refusal(&ctx, e, hint);
    return chat_reply("ephemeral",
                      "Go-around of %s requested: %s\nTo confirm, within %d s type: `%s "
                      "go-around %s confirm %s`",
                      run->mid, p, CHAT_CODE_TTL_MS / 1000, run->cmd, run->mid, code);
}
