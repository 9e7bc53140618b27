/*
 * demo.c - demo migration loading and the development sign-in.
 */
#include "server/demo.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/flight.h"
#include "core/team.h"

typedef struct demo_user {
    const char *sub;
    const char *name;
    fd_role role;
    int team; /* index into demo_teams, -1 for none */
} demo_user;

static const demo_user users[] = {
    {"alice", "Alice", FD_ROLE_LEAD, 0},   {"bob", "Bob", FD_ROLE_ENGINEER, 0},
    {"erin", "Erin", FD_ROLE_ENGINEER, 1}, {"carol", "Carol", FD_ROLE_VIEWER, 0},
    {"dave", "Dave", FD_ROLE_ADMIN, -1},
};

static char demo_teams[2][FD_SLUG_MAX + 1];

static void system_actor(fd_actor *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->sub, sizeof a->sub, "flightdeck");
    snprintf(a->name, sizeof a->name, "flightdeck demo loader");
    a->role = FD_ROLE_ADMIN;
    snprintf(a->source, sizeof a->source, "api");
}

static void report(FILE *log, const char *file, fd_err e, const fd_problem *p)
{
    fprintf(log, "flightdeck: demo: %s refused (%s%s%s): %s\n", file, fd_err_name(e),
            p->field[0] != '\0' ? " at " : "", p->field, p->detail);
}

/* 1 when the store holds at least one migration (then the demo is not loaded again). */
static int has_migrations(fd_store *st, fd_ctx *ctx)
{
    json_t *page = NULL;
    int any = 1; /* on error, do not risk loading twice */
    if (flight_list(st, ctx, NULL, NULL, 1, &page) == FD_OK)
        any = json_array_size(json_object_get(page, "items")) > 0;
    json_decref(page);
    fd_problem_clear(&ctx->problem);
    return any;
}

static int load_teams(fd_store *st, fd_ctx *ctx, const char *path, FILE *log)
{
    json_error_t jerr;
    json_t *teams = json_load_file(path, 0, &jerr);
    size_t i;
    json_t *team;
    int rc = 0, created = 0;

    if (teams == NULL) {
        fprintf(log, "flightdeck: demo: cannot read %s: line %d: %s\n", path, jerr.line, jerr.text);
        return -1;
    }
    if (!json_is_array(teams)) {
        fprintf(log, "flightdeck: demo: %s must be an array of teams\n", path);
        json_decref(teams);
        return -1;
    }
    json_array_foreach(teams, i, team)
    {
        json_t *out = NULL;
        fd_err e = team_create(st, ctx, team, &out);
        json_decref(out);
        if (e == FD_OK) {
            created++;
        } else if (e != FD_E_EXISTS) {
            report(log, path, e, &ctx->problem);
            rc = -1;
        }
        fd_problem_clear(&ctx->problem);
    }
    json_decref(teams);
    fprintf(log, "flightdeck: demo: %d team(s) from %s\n", created, path);
    return rc;
}

/* A demo has no flag system to call: a switch's flag action would only fail (no secret, no
 * reachable URL) and turn every switch step red. The demo keeps the switches and their rules and
 * drops the calls, and says so; the example files keep their actions for real use. */
static void drop_flag_actions(json_t *plan, const char *path, FILE *log)
{
    size_t i;
    json_t *sw;
    int dropped = 0;
    json_array_foreach(json_object_get(plan, "switches"), i, sw)
    {
        if (json_object_get(sw, "action") != NULL) {
            json_object_del(sw, "action");
            dropped++;
        }
    }
    if (dropped > 0)
        fprintf(log,
                "flightdeck: demo: %s: %d switch flag action(s) left out (no flag system here); "
                "switch moves are recorded, not sent\n",
                path, dropped);
}

static int load_plan(fd_store *st, fd_ctx *ctx, const char *path, FILE *log)
{
    json_error_t jerr;
    json_t *plan = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *out = NULL;

    if (plan == NULL) {
        fprintf(log, "flightdeck: demo: cannot read %s: line %d: %s\n", path, jerr.line, jerr.text);
        return -1;
    }
    drop_flag_actions(plan, path, log);
    fd_err e = flight_create(st, ctx, plan, &out);
    if (e == FD_OK)
        fprintf(log, "flightdeck: demo: migration %s from %s\n",
                json_string_value(json_object_get(out, "id")), path);
    else if (e != FD_E_EXISTS)
        report(log, path, e, &ctx->problem);
    fd_problem_clear(&ctx->problem);
    json_decref(out);
    json_decref(plan);
    return e == FD_OK || e == FD_E_EXISTS ? 0 : -1;
}

static int is_plan_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0 &&
           strcmp(d->d_name, "teams.json") != 0;
}

int demo_load(fd_store *st, const char *dir, FILE *log)
{
    fd_actor actor;
    fd_ctx ctx;
    char path[4096];
    struct dirent **names = NULL;
    int rc = 0;

    system_actor(&actor);
    fd_ctx_init(&ctx, &actor, "demo-load");
    if (has_migrations(st, &ctx)) {
        fprintf(log, "flightdeck: demo: the database already holds migrations; not loading %s\n",
                dir);
        return 0;
    }
    snprintf(path, sizeof path, "%s/teams.json", dir);
    if (load_teams(st, &ctx, path, log) != 0)
        rc = -1;

    int n = scandir(dir, &names, is_plan_file, alphasort);
    if (n < 0) {
        fprintf(log, "flightdeck: demo: cannot list %s\n", dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && load_plan(st, &ctx, path, log) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

void demo_prepare_users(fd_store *st)
{
    fd_actor actor;
    fd_ctx ctx;
    json_t *page = NULL;
    const char *first = NULL, *second = NULL;
    int have_ds = 0, have_cp = 0;
    size_t i;
    json_t *t;

    system_actor(&actor);
    fd_ctx_init(&ctx, &actor, "demo-users");
    demo_teams[0][0] = demo_teams[1][0] = '\0';
    if (team_list(st, &ctx, NULL, 200, &page) != FD_OK) {
        fd_problem_clear(&ctx.problem);
        return;
    }
    json_array_foreach(json_object_get(page, "items"), i, t)
    {
        const char *slug = json_string_value(json_object_get(t, "slug"));
        if (slug == NULL)
            continue;
        if (first == NULL)
            first = slug;
        else if (second == NULL)
            second = slug;
        have_ds |= strcmp(slug, "data-stream") == 0;
        have_cp |= strcmp(slug, "cloud-platform") == 0;
    }
    snprintf(demo_teams[0], sizeof demo_teams[0], "%s",
             have_ds         ? "data-stream"
             : first != NULL ? first
                             : "");
    snprintf(demo_teams[1], sizeof demo_teams[1], "%s",
             have_cp          ? "cloud-platform"
             : second != NULL ? second
                              : demo_teams[0]);
    json_decref(page);
}

static void user_actor(const demo_user *u, fd_actor *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->sub, sizeof a->sub, "%s", u->sub);
    snprintf(a->name, sizeof a->name, "%s", u->name);
    a->role = u->role;
    snprintf(a->source, sizeof a->source, "api"); /* a cookie session turns it into "web" */
    if (u->team >= 0 && demo_teams[u->team][0] != '\0') {
        snprintf(a->teams[0], sizeof a->teams[0], "%s", demo_teams[u->team]);
        a->nteams = 1;
    }
}

int demo_users_json(const auth_keys *k, int64_t now, json_t **out)
{
    json_t *list = json_array();

    *out = NULL;
    for (size_t i = 0; list != NULL && i < sizeof users / sizeof users[0]; i++) {
        fd_actor a;
        char *token = NULL;
        user_actor(&users[i], &a);
        if (auth_mint(k, &a, now, DEMO_TOKEN_TTL, &token) != 0) {
            json_decref(list);
            return -1;
        }
        json_t *teams = json_array();
        for (int j = 0; teams != NULL && j < a.nteams; j++)
            json_array_append_new(teams, json_string(a.teams[j]));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o, s:s}", "sub", a.sub, "name",
                                              a.name, "role", fd_role_name(a.role), "teams", teams,
                                              "token", token));
        free(token);
    }
    *out = list;
    return list != NULL ? 0 : -1;
}

void demo_print_signin(FILE *f, const auth_keys *k, int64_t now, const char *base_url)
{
    fprintf(f, "\nflightdeck: development sign-in (tokens valid 12 h)\n");
    fprintf(f, "  open %s/ in a browser and pick a demo user, or use a token:\n\n", base_url);
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        fd_actor a;
        char *token = NULL;
        user_actor(&users[i], &a);
        if (auth_mint(k, &a, now, DEMO_TOKEN_TTL, &token) != 0) {
            fprintf(f, "  (cannot mint demo tokens without an HS256 secret)\n");
            return;
        }
        fprintf(f, "  %-6s %-8s %s\n", a.sub, fd_role_name(a.role),
                a.nteams > 0 ? a.teams[0] : "(no team)");
        fprintf(f, "    curl -H 'Authorization: Bearer %s' %s/api/me\n\n", token, base_url);
        free(token);
    }
}
