/* chat.c - chatops: the chat identity mapping, the "what next" document, and the command
 * dispatcher with the read-only commands (help, status, next). See chat.h. The commands that
 * change something are in chat_cmd.c. */
#include "chat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "chat_internal.h"
#include "check.h"
#include "flight.h"
#include "mutate.h"
#include "store_chatops.h"

/* ---- small helpers shared with chat_cmd.c ---- */

/* Slack reads &, < and > as control sequences (<!channel>, <@U123>): escape them all. */
static json_t *escaped_string(const char *s)
{
    fd_buf b = {0};
    int r = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '&')
            r |= fd_buf_puts(&b, "&amp;");
        else if (*p == '<')
            r |= fd_buf_puts(&b, "&lt;");
        else if (*p == '>')
            r |= fd_buf_puts(&b, "&gt;");
        else
            r |= fd_buf_append(&b, p, 1);
    }
    json_t *v = r == 0 ? json_string(b.data ? b.data : "") : NULL;
    fd_buf_free(&b);
    return v;
}

json_t *chat_reply(const char *type, const char *fmt, ...)
{
    char text[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *t = escaped_string(text);
    if (t == NULL)
        return NULL;
    return json_pack("{s:s,s:o}", "response_type", type, "text", t);
}

const char *chat_skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

int chat_word(const char **p, char *out, size_t n)
{
    const char *s = chat_skip_blanks(*p);
    size_t len = 0;
    while (s[len] != '\0' && s[len] != ' ' && s[len] != '\t' && s[len] != '\n' && s[len] != '\r')
        len++;
    if (len == 0 || len >= n)
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    *p = s + len;
    return 0;
}

int chat_step_id(const char *word, int64_t *out)
{
    if (word[0] == '#')
        word++;
    if (word[0] < '0' || word[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(word, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 9007199254740992LL)
        return -1;
    *out = v;
    return 0;
}

json_t *chat_refusal(fd_ctx *ctx, fd_err e, const char *hint)
{
    const char *detail = ctx->problem.detail[0] ? ctx->problem.detail : fd_err_name(e);
    if (e == FD_E_INTERNAL)
        detail = "something went wrong on the server; try again, or use the web UI";
    json_t *r =
        chat_reply("ephemeral", "Refused: %s.%s%s", detail, hint ? " " : "", hint ? hint : "");
    fd_problem_clear(&ctx->problem);
    return r;
}

/* ---- the mapping ---- */

static fd_err require_admin(fd_ctx *ctx)
{
    if (ctx->actor->role < FD_ROLE_ADMIN)
        return fd_fail(&ctx->problem, FD_E_FORBIDDEN, NULL,
                       "only an admin can manage chat identities; you are %s",
                       fd_role_name(ctx->actor->role));
    return FD_OK;
}

/* Chat ids: letters, digits, '.', '_' and '-' (Slack's are upper-case letters and digits). */
static fd_err check_chat_user(fd_ctx *ctx, const char *id)
{
    size_t n = strlen(id);
    int ok = n >= 1 && n <= CHAT_USER_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = id[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return fd_fail(&ctx->problem, FD_E_NOT_FOUND, NULL,
                       "%.64s is not a chat user id (1-%d of A-Z a-z 0-9 . _ -)", id,
                       CHAT_USER_MAX);
    return FD_OK;
}

static const check_field user_fields[] = {
    {"sub", CHECK_STRING, 1, 1, FD_NAME_MAX - 1},
    {"name", CHECK_STRING, 1, 1, FD_NAME_MAX - 1},
    {"role", CHECK_STRING, 1, 1, 16},
    {"teams", CHECK_ARRAY, 0, 0, FD_MAX_TEAMS},
    {NULL, 0, 0, 0, 0},
};

typedef struct user_args {
    const char *chat_user;
    const json_t *body;
} user_args;

static void user_target(char *out, size_t n, const char *chat_user)
{
    snprintf(out, n, "chatops/users/%s", chat_user);
}

static fd_err rule_user_put(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    user_args *a = args;
    json_t *old = NULL;
    char *teams = NULL, target[CHAT_USER_MAX + 32];
    fd_role role;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = check_chat_user(ctx, a->chat_user);
    if (e == FD_OK)
        e = check_object(a->body, user_fields, "", &ctx->problem);
    if (e != FD_OK)
        return e;
    if (fd_role_parse(check_str(a->body, "role", NULL), &role) != 0)
        return fd_fail(&ctx->problem, FD_E_INVALID, "role",
                       "role must be viewer, engineer, lead or admin");
    json_t *list = json_object_get(a->body, "teams");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        char field[32];
        snprintf(field, sizeof field, "teams[%zu]", i);
        if (!json_is_string(t) || !check_is_slug(json_string_value(t)))
            return fd_fail(&ctx->problem, FD_E_INVALID, field, "%s must be a team slug", field);
        int exists = store_team_exists(st, json_string_value(t));
        if (exists < 0)
            return FD_E_INTERNAL;
        if (!exists)
            return fd_fail(&ctx->problem, FD_E_INVALID, field, "there is no team %s",
                           json_string_value(t));
    }
    teams = list != NULL ? json_dumps(list, JSON_COMPACT) : strdup("[]");
    if (teams == NULL)
        return FD_E_INTERNAL;
    e = store_chat_user_get(st, a->chat_user, &old);
    if (e == FD_E_NOT_FOUND)
        e = FD_OK;
    if (e == FD_OK)
        e = store_chat_user_put(st, a->chat_user, check_str(a->body, "sub", NULL),
                                check_str(a->body, "name", NULL), fd_role_name(role), teams,
                                store_now_ms(st));
    if (e == FD_OK)
        e = store_chat_user_get(st, a->chat_user, out);
    user_target(target, sizeof target, a->chat_user);
    if (e == FD_OK)
        e = audit_append(st, ctx, NULL, "chatops.user.put", target, old, *out, NULL);
    json_decref(old);
    free(teams);
    return e;
}

fd_err chat_user_put(fd_store *st, fd_ctx *ctx, const char *chat_user, const json_t *body,
                     json_t **out)
{
    user_args a = {.chat_user = chat_user, .body = body};
    return core_mutate(st, ctx, rule_user_put, &a, out);
}

fd_err chat_user_get(fd_store *st, fd_ctx *ctx, const char *chat_user, json_t **out)
{
    *out = NULL;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = check_chat_user(ctx, chat_user);
    if (e != FD_OK)
        return e;
    e = store_chat_user_get(st, chat_user, out);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "chat user %s is not mapped", chat_user);
    if (e != FD_OK)
        return fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    return FD_OK;
}

static fd_err rule_user_delete(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    const char *chat_user = args;
    json_t *old = NULL;
    char target[CHAT_USER_MAX + 32];
    (void)out;
    fd_err e = require_admin(ctx);
    if (e == FD_OK)
        e = check_chat_user(ctx, chat_user);
    if (e == FD_OK)
        e = store_chat_user_get(st, chat_user, &old);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "chat user %s is not mapped", chat_user);
    if (e == FD_OK)
        e = store_chat_user_delete(st, chat_user);
    user_target(target, sizeof target, chat_user);
    if (e == FD_OK)
        e = audit_append(st, ctx, NULL, "chatops.user.delete", target, old, NULL, NULL);
    json_decref(old);
    return e;
}

fd_err chat_user_delete(fd_store *st, fd_ctx *ctx, const char *chat_user)
{
    return core_mutate(st, ctx, rule_user_delete, (void *)chat_user, NULL);
}

/* ---- what next ---- */

static json_t *stage_ref(const json_t *stage)
{
    if (stage == NULL)
        return json_null();
    return json_pack("{s:O,s:O}", "key", json_object_get(stage, "key"), "title",
                     json_object_get(stage, "title"));
}

static int is_open(const char *status)
{
    return strcmp(status, "done") != 0 && strcmp(status, "skipped") != 0;
}

fd_err chat_next(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    *out = NULL;
    json_t *doc = NULL;
    fd_err e = flight_get(st, ctx, mid, &doc);
    if (e != FD_OK)
        return e;
    const char *status = check_str(doc, "status", "");
    const char *current = check_str(doc, "current_stage", NULL);
    json_t *stages = json_object_get(doc, "stages");
    json_t *active = NULL, *next = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(stages, i, s)
    {
        if (current != NULL && strcmp(check_str(s, "key", ""), current) == 0) {
            active = s;
            next = json_array_get(stages, i + 1);
        }
    }
    if (strcmp(status, "draft") == 0)
        next = json_array_get(stages, 0); /* before take-off, the first stage is what is next */

    json_t *open = json_array(), *blocking = json_array();
    json_array_foreach(json_object_get(active, "steps"), i, s)
    {
        const char *st_status = check_str(s, "status", "");
        if (!is_open(st_status))
            continue;
        json_array_append_new(
            open, json_pack("{s:O,s:O,s:O,s:s,s:O,s:O}", "id", json_object_get(s, "id"), "position",
                            json_object_get(s, "position"), "title", json_object_get(s, "title"),
                            "status", st_status, "critical", json_object_get(s, "critical"),
                            "owner_team", json_object_get(s, "owner_team")));
        json_array_append_new(blocking,
                              json_pack("{s:O,s:O,s:s}", "id", json_object_get(s, "id"), "title",
                                        json_object_get(s, "title"), "status", st_status));
    }
    /* the next stage's gate, when gates apply (the Stage document carries it) */
    json_t *gate = json_object_get(next, "gate");
    *out = json_pack("{s:s,s:s,s:o,s:o,s:o,s:{s:o,s:O}}", "migration", mid, "status", status,
                     "stage", stage_ref(active), "open_steps", open, "next_stage", stage_ref(next),
                     "blocking", "steps", blocking, "gate", gate ? gate : json_null());
    json_decref(doc);
    return *out ? FD_OK : FD_E_INTERNAL;
}

int chat_list_open(fd_store *st, fd_ctx *ctx, const char *mid, int max, fd_buf *b, int64_t *first)
{
    json_t *next = NULL;
    int n = 0;
    if (chat_next(st, ctx, mid, &next) != FD_OK) {
        fd_problem_clear(&ctx->problem);
        return 0;
    }
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(next, "open_steps"), i, s)
    {
        if (n == max)
            break;
        int64_t id = json_integer_value(json_object_get(s, "id"));
        if (n == 0 && first != NULL)
            *first = id;
        fd_buf_printf(b, "%s#%lld %s", n ? ", " : "", (long long)id, check_str(s, "title", ""));
        n++;
    }
    json_decref(next);
    return n;
}

/* ---- read-only commands ---- */

static json_t *cmd_help(const char *cmd)
{
    return chat_reply(
        "ephemeral",
        "flightdeck commands:\n"
        "%1$s status <migration> - where the flight is\n"
        "%1$s next <migration> - the open steps of the active stage\n"
        "%1$s tick <migration> <step> [note] - tick step #<step>\n"
        "%1$s skip <migration> <step> <reason>\n"
        "%1$s signoff <migration> <stage> go|no_go [comment]\n"
        "%1$s go-around <migration> <reason> - then confirm with the code it answers\n"
        "Step numbers are the #ids that status and next show.",
        cmd);
}

static json_t *cmd_status(chat_run *run)
{
    const char *mid = run->mid;
    fd_ctx ctx;
    json_t *doc = NULL;
    fd_ctx_init(&ctx, &run->actor, run->req->request_id);
    fd_err e = flight_get(run->st, &ctx, mid, &doc);
    if (e != FD_OK)
        return chat_refusal(&ctx, e, "Check the migration id in the web UI.");
    const char *status = check_str(doc, "status", "");
    const char *current = check_str(doc, "current_stage", NULL);
    fd_buf b = {0};
    fd_buf_printf(&b, "*%s* (%s) is %s", check_str(doc, "title", ""), mid, status);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "stages"), i, s)
    {
        if (current == NULL || strcmp(check_str(s, "key", ""), current) != 0)
            continue;
        json_t *pr = json_object_get(s, "progress");
        fd_buf_printf(&b, ", stage %s: %lld of %lld done, %lld skipped, %lld failed",
                      check_str(s, "key", ""),
                      (long long)json_integer_value(json_object_get(pr, "done")),
                      (long long)json_integer_value(json_object_get(pr, "total")),
                      (long long)json_integer_value(json_object_get(pr, "skipped")),
                      (long long)json_integer_value(json_object_get(pr, "failed")));
    }
    fd_buf_puts(&b, ".");
    int64_t first = 0;
    fd_buf list = {0};
    if (strcmp(status, "draft") == 0)
        fd_buf_printf(&b, "\nNot started yet: a lead starts it in the web UI.");
    else if (strcmp(status, "closed") == 0 || strcmp(status, "aborted") == 0)
        fd_buf_printf(&b, "\nIt is read-only now; `%s` has nothing to tick.", mid);
    else if (chat_list_open(run->st, &ctx, mid, 3, &list, &first) > 0)
        fd_buf_printf(&b, "\nNext: %s\nTick: `%s tick %s %lld` - all open steps: `%s next %s`",
                      list.data, run->cmd, mid, (long long)first, run->cmd, mid);
    else
        fd_buf_printf(&b, "\nEvery step of the stage is done: a lead can complete it.");
    json_t *r = chat_reply("ephemeral", "%s", b.data ? b.data : "");
    fd_buf_free(&b);
    fd_buf_free(&list);
    json_decref(doc);
    return r;
}

static json_t *cmd_next(chat_run *run)
{
    const char *mid = run->mid;
    fd_ctx ctx;
    json_t *next = NULL;
    fd_ctx_init(&ctx, &run->actor, run->req->request_id);
    fd_err e = chat_next(run->st, &ctx, mid, &next);
    if (e != FD_OK)
        return chat_refusal(&ctx, e, "Check the migration id in the web UI.");
    fd_buf b = {0};
    json_t *stage = json_object_get(next, "stage");
    json_t *open = json_object_get(next, "open_steps");
    if (json_is_null(stage)) {
        fd_buf_printf(&b, "%s is %s: no stage is active.", mid, check_str(next, "status", ""));
    } else if (json_array_size(open) == 0) {
        fd_buf_printf(&b, "Stage %s of %s: every step is done or skipped; a lead can complete it.",
                      check_str(stage, "key", ""), mid);
    } else {
        fd_buf_printf(&b, "Stage %s of %s, open steps:", check_str(stage, "key", ""), mid);
        size_t i;
        json_t *s;
        json_array_foreach(open, i, s)
        {
            const char *st_status = check_str(s, "status", "");
            fd_buf_printf(&b, "\n#%lld %s%s%s%s",
                          (long long)json_integer_value(json_object_get(s, "id")),
                          check_str(s, "title", ""),
                          json_is_true(json_object_get(s, "critical")) ? " (critical)" : "",
                          strcmp(st_status, "pending") ? " - " : "",
                          strcmp(st_status, "pending") ? st_status : "");
        }
        fd_buf_printf(
            &b, "\nTick: `%s tick %s %lld [note]`", run->cmd, mid,
            (long long)json_integer_value(json_object_get(json_array_get(open, 0), "id")));
    }
    json_t *gate = json_object_get(json_object_get(next, "blocking"), "gate");
    json_t *next_stage = json_object_get(next, "next_stage");
    if (json_is_object(gate) && !json_is_true(json_object_get(gate, "satisfied"))) {
        fd_buf_printf(&b, "\nStage %s still needs a go from:", check_str(next_stage, "key", ""));
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(gate, "missing"), i, m) fd_buf_printf(
            &b, " %s (%lld of %lld, %s)", check_str(m, "team", ""),
            (long long)json_integer_value(json_object_get(m, "have")),
            (long long)json_integer_value(json_object_get(m, "need")), check_str(m, "reason", ""));
        fd_buf_printf(&b, "\nSign off: `%s signoff %s %s go`", run->cmd, mid,
                      check_str(next_stage, "key", ""));
    }
    json_t *r = chat_reply("ephemeral", "%s", b.data ? b.data : "");
    fd_buf_free(&b);
    json_decref(next);
    return r;
}

/* ---- dispatch ---- */

/* The mapped identity of the chat user: 0, or -1 when unmapped (or unreadable). */
static int load_actor(chat_run *run)
{
    json_t *u = NULL;
    if (store_chat_user_get(run->st, run->req->chat_user, &u) != FD_OK)
        return -1;
    fd_actor *a = &run->actor;
    memset(a, 0, sizeof *a);
    snprintf(a->sub, sizeof a->sub, "%s", check_str(u, "sub", ""));
    snprintf(a->name, sizeof a->name, "%s", check_str(u, "name", ""));
    if (fd_role_parse(check_str(u, "role", ""), &a->role) != 0)
        a->role = FD_ROLE_VIEWER;
    snprintf(a->source, sizeof a->source, "bot");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(u, "teams"), i, t)
    {
        if (a->nteams < FD_MAX_TEAMS && json_is_string(t))
            snprintf(a->teams[a->nteams++], FD_SLUG_MAX + 1, "%s", json_string_value(t));
    }
    json_decref(u);
    return 0;
}

json_t *chat_execute(fd_store *st, const chat_request *r)
{
    chat_run run = {
        .st = st, .req = r, .cmd = r->command && *r->command ? r->command : "/flightdeck"};
    const char *user = r->chat_user ? r->chat_user : "";
    if (load_actor(&run) != 0)
        return chat_reply("ephemeral",
                          "You (%s) are not mapped to a flightdeck identity yet, so you can do "
                          "nothing here. Ask an admin to run:\n"
                          "curl -X PUT %s/api/chatops/users/%s -H 'Authorization: Bearer "
                          "<admin token>' -H 'Content-Type: application/json' -d '{\"sub\": "
                          "\"<your sub>\", \"name\": \"<your name>\", \"role\": \"engineer\", "
                          "\"teams\": [\"<team>\"]}'",
                          user, r->base_url ? r->base_url : "", user);

    const char *p = r->text ? r->text : "";
    char verb[32];
    if (chat_word(&p, verb, sizeof verb) != 0 || strcmp(verb, "help") == 0)
        return cmd_help(run.cmd);
    int known = strcmp(verb, "status") == 0 || strcmp(verb, "next") == 0 ||
                strcmp(verb, "tick") == 0 || strcmp(verb, "skip") == 0 ||
                strcmp(verb, "signoff") == 0 || strcmp(verb, "go-around") == 0;
    if (!known)
        return chat_reply("ephemeral", "I do not know \"%s\". `%s help` lists the commands.", verb,
                          run.cmd);
    if (chat_word(&p, run.mid, sizeof run.mid) != 0)
        return chat_reply("ephemeral",
                          "Which migration? `%s %s <migration>` (the id in the web UI's address, "
                          "like msk-replacement).",
                          run.cmd, verb);
    run.rest = chat_skip_blanks(p);
    if (strcmp(verb, "status") == 0)
        return cmd_status(&run);
    if (strcmp(verb, "next") == 0)
        return cmd_next(&run);
    if (strcmp(verb, "tick") == 0 || strcmp(verb, "skip") == 0)
        return chat_cmd_step(&run, strcmp(verb, "skip") == 0);
    if (strcmp(verb, "signoff") == 0)
        return chat_cmd_signoff(&run);
    return chat_cmd_go_around(&run);
}
