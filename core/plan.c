/* plan.c - validation of plans and plan pieces (see plan.h). */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "plan_lint.h"
#include "timefmt.h"

#define PATH_MAX_LEN 160

const check_field plan_top_fields[] = {
    {"id", CHECK_SLUG, 1, 0, 0},
    {"title", CHECK_STRING, 1, 1, 200},
    {"description", CHECK_STRING, 0, 0, 10000},
    {"owner_team", CHECK_SLUG, 1, 0, 0},
    {"teams", CHECK_ARRAY, 0, 0, 64},
    {"window", CHECK_OBJECT, 0, 0, 0},
    {"dashboards", CHECK_ARRAY, 0, 0, 50},
    {"stages", CHECK_ARRAY, 0, 0, 32},
    /* plans as code: checked in full by plan_lint (plan_lint.h), stored by flight.c */
    {"rollback", CHECK_OBJECT, 0, 0, 0},
    {"switches", CHECK_ARRAY, 0, 0, 16},
    {"rules", CHECK_ARRAY, 0, 0, 64},
    {NULL, 0, 0, 0, 0},
};

const check_field plan_window_fields[] = {
    {"start", CHECK_TIME, 1, 0, 0},
    {"end", CHECK_TIME, 1, 0, 0},
    {NULL, 0, 0, 0, 0},
};

const check_field plan_dashboard_fields[] = {
    {"title", CHECK_STRING, 1, 1, 200},
    {"url", CHECK_URL, 1, 0, 0},
    {"kind", CHECK_STRING, 0, 0, 0},
    {NULL, 0, 0, 0, 0},
};

const check_field plan_stage_fields[] = {
    {"key", CHECK_SLUG, 1, 0, 0},
    {"title", CHECK_STRING, 1, 1, 200},
    {"steps", CHECK_ARRAY, 0, 0, 500},
    {"signoffs", CHECK_ARRAY, 0, 0, 32},
    {"allow_shared_signers", CHECK_BOOL, 0, 0, 0},
    {"expected_minutes", CHECK_INT, 0, 0, 10080},
    {NULL, 0, 0, 0, 0},
};

const check_field plan_signoff_fields[] = {
    {"team", CHECK_SLUG, 1, 0, 0},
    {"count", CHECK_INT, 0, 1, 20},
    {NULL, 0, 0, 0, 0},
};

/* StepInput; the patch variant adds "position" and makes title optional. */
#define STEP_FIELDS(title_required)                                                                \
    {"title", CHECK_STRING, title_required, 1, 200}, {"details", CHECK_STRING, 0, 0, 10000},       \
        {"owner_team", CHECK_SLUG, 0, 0, 0}, {"command", CHECK_STRING, 0, 0, 10000},               \
        {"link", CHECK_URL, 0, 0, 0}, {"expected_minutes", CHECK_INT, 0, 0, 10080},                \
        {"switch", CHECK_OBJECT, 0, 0, 0}, {"verifies", CHECK_SLUG, 0, 0, 0},                      \
    {                                                                                              \
        "critical", CHECK_BOOL, 0, 0, 0                                                            \
    }

const check_field plan_step_fields[] = {STEP_FIELDS(1), {NULL, 0, 0, 0, 0}};
static const check_field step_patch_fields[] = {
    STEP_FIELDS(0), {"position", CHECK_INT, 0, 1, 100000}, {NULL, 0, 0, 0, 0}};

static const struct {
    const char *key, *title;
} default_stages[] = {
    {"takeoff", "Take-off"},
    {"inflight", "In-flight"},
    {"landing", "Landing"},
    {"shutdown", "Shutdown"},
};

fd_err plan_check_team_exists(fd_store *st, const char *slug, const char *field, fd_problem *p)
{
    int exists = store_team_exists(st, slug);
    if (exists < 0)
        return fd_fail(p, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
    if (!exists)
        return fd_fail(p, FD_E_INVALID, field, "%s names no team: %s (create it first)", field,
                       slug);
    return FD_OK;
}

fd_err plan_check_step(fd_store *st, const json_t *step, const char *path, int patch, fd_problem *p)
{
    fd_err e = check_object(step, patch ? step_patch_fields : plan_step_fields, path, p);
    if (e != FD_OK)
        return e;
    const char *owner = check_str(step, "owner_team", NULL);
    if (owner != NULL) {
        char at[PATH_MAX_LEN];
        snprintf(at, sizeof at, "%s%sowner_team", path, path[0] ? "." : "");
        return plan_check_team_exists(st, owner, at, p);
    }
    return FD_OK;
}

fd_err plan_check_teams(fd_store *st, const json_t *teams, const char *owner, json_t **out,
                        fd_problem *p)
{
    *out = NULL;
    json_t *norm = json_array();
    size_t i;
    json_t *v;
    char at[PATH_MAX_LEN];
    if (teams != NULL) {
        json_array_foreach(teams, i, v)
        {
            snprintf(at, sizeof at, "teams[%zu]", i);
            const char *slug = json_string_value(v);
            fd_err e;
            if (!check_is_slug(slug))
                e = fd_fail(p, FD_E_INVALID, at, "%s must be a team slug", at);
            else
                e = plan_check_team_exists(st, slug, at, p);
            for (size_t j = 0; e == FD_OK && j < i; j++) {
                if (strcmp(slug, json_string_value(json_array_get(teams, j))) == 0)
                    e = fd_fail(p, FD_E_INVALID, at, "%s repeats the team %s", at, slug);
            }
            if (e != FD_OK) {
                json_decref(norm);
                return e;
            }
            json_array_append(norm, v);
        }
    }
    /* the owner team is always affected: add it in front when the plan left it out */
    int has_owner = 0;
    json_array_foreach(norm, i, v)
    {
        if (strcmp(json_string_value(v), owner) == 0)
            has_owner = 1;
    }
    if (!has_owner)
        json_array_insert_new(norm, 0, json_string(owner));
    *out = norm;
    return FD_OK;
}

fd_err plan_check_window(const json_t *w, const char *path, int64_t *start, int64_t *end,
                         fd_problem *p)
{
    fd_err e = check_object(w, plan_window_fields, path, p);
    if (e != FD_OK)
        return e;
    fd_time_parse(check_str(w, "start", NULL), start);
    fd_time_parse(check_str(w, "end", NULL), end);
    if (*end <= *start) {
        char at[PATH_MAX_LEN];
        snprintf(at, sizeof at, "%s.end", path);
        return fd_fail(p, FD_E_INVALID, at, "%s must be after %s.start", at, path);
    }
    return FD_OK;
}

fd_err plan_check_dashboards(const json_t *arr, const char *path, json_t **out, fd_problem *p)
{
    *out = NULL;
    json_t *norm = json_array();
    size_t i;
    json_t *d;
    char at[PATH_MAX_LEN], kat[PATH_MAX_LEN + 8];
    json_array_foreach(arr, i, d)
    {
        snprintf(at, sizeof at, "%s[%zu]", path, i);
        fd_err e = check_object(d, plan_dashboard_fields, at, p);
        const char *kind = check_str(d, "kind", "full");
        if (e == FD_OK && strcmp(kind, "overview") != 0 && strcmp(kind, "full") != 0) {
            snprintf(kat, sizeof kat, "%s.kind", at);
            e = fd_fail(p, FD_E_INVALID, kat, "%s must be overview or full", kat);
        }
        if (e != FD_OK) {
            json_decref(norm);
            return e;
        }
        json_array_append_new(norm, json_pack("{s:s,s:s,s:s}", "title", check_str(d, "title", ""),
                                              "url", check_str(d, "url", ""), "kind", kind));
    }
    *out = norm;
    return FD_OK;
}

static int has_slug(const json_t *arr, const char *slug)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), slug) == 0)
            return 1;
    }
    return 0;
}

fd_err plan_check_signoffs(const json_t *arr, const char *path, const json_t *teams, json_t **out,
                           fd_problem *p)
{
    *out = NULL;
    json_t *norm = json_array();
    size_t i;
    json_t *r;
    char at[PATH_MAX_LEN], tat[PATH_MAX_LEN + 8];
    json_array_foreach(arr, i, r)
    {
        snprintf(at, sizeof at, "%s[%zu]", path, i);
        snprintf(tat, sizeof tat, "%s.team", at);
        fd_err e = check_object(r, plan_signoff_fields, at, p);
        const char *team = check_str(r, "team", "");
        if (e == FD_OK && !has_slug(teams, team))
            e = fd_fail(p, FD_E_INVALID, tat,
                        "%s names %s, which is not an affected team of this migration: add it to "
                        "the migration's teams first",
                        tat, team);
        for (size_t j = 0; e == FD_OK && j < i; j++) {
            if (strcmp(team, check_str(json_array_get(arr, j), "team", "")) == 0)
                e = fd_fail(p, FD_E_INVALID, tat, "%s repeats the team %s", tat, team);
        }
        if (e != FD_OK) {
            json_decref(norm);
            return e;
        }
        json_array_append_new(norm, json_pack("{s:s,s:I}", "team", team, "count",
                                              (json_int_t)check_int(r, "count", 1)));
    }
    *out = norm;
    return FD_OK;
}

/* Check the stages (unique keys, their steps, sign-off requirements naming affected teams) and
 * return them normalised, or the defaults. */
static fd_err check_stages(fd_store *st, const json_t *arr, const json_t *teams, json_t **out,
                           fd_problem *p)
{
    *out = NULL;
    json_t *norm = json_array();
    char at[PATH_MAX_LEN], sat[PATH_MAX_LEN + 32];
    if (arr == NULL) {
        for (size_t i = 0; i < sizeof default_stages / sizeof default_stages[0]; i++)
            json_array_append_new(norm, json_pack("{s:s,s:s,s:[],s:[],s:b,s:n}", "key",
                                                  default_stages[i].key, "title",
                                                  default_stages[i].title, "steps", "signoffs",
                                                  "allow_shared_signers", 0, "expected_minutes"));
        *out = norm;
        return FD_OK;
    }
    size_t i;
    json_t *g;
    json_array_foreach(arr, i, g)
    {
        snprintf(at, sizeof at, "stages[%zu]", i);
        fd_err e = check_object(g, plan_stage_fields, at, p);
        const char *key = check_str(g, "key", "");
        for (size_t j = 0; e == FD_OK && j < i; j++) {
            if (strcmp(key, check_str(json_array_get(arr, j), "key", "")) == 0) {
                snprintf(sat, sizeof sat, "%s.key", at);
                e = fd_fail(p, FD_E_INVALID, sat, "%s repeats the stage key %s", sat, key);
            }
        }
        json_t *steps = json_object_get(g, "steps");
        size_t k;
        json_t *step;
        if (json_is_array(steps)) {
            json_array_foreach(steps, k, step)
            {
                if (e != FD_OK)
                    break;
                snprintf(sat, sizeof sat, "%s.steps[%zu]", at, k);
                e = plan_check_step(st, step, sat, 0, p);
            }
        }
        json_t *reqs = NULL;
        if (e == FD_OK) {
            const json_t *sarr = json_object_get(g, "signoffs");
            snprintf(sat, sizeof sat, "%s.signoffs", at);
            e = plan_check_signoffs(json_is_array(sarr) ? sarr : NULL, sat, teams, &reqs, p);
        }
        if (e != FD_OK) {
            json_decref(norm);
            return e;
        }
        const json_t *minutes = json_object_get(g, "expected_minutes");
        json_array_append_new(
            norm,
            json_pack("{s:s,s:s,s:o,s:o,s:b,s:O}", "key", key, "title", check_str(g, "title", ""),
                      "steps", json_is_array(steps) ? json_incref(steps) : json_array(), "signoffs",
                      reqs, "allow_shared_signers", check_bool(g, "allow_shared_signers", 0),
                      "expected_minutes", json_is_integer(minutes) ? minutes : json_null()));
    }
    *out = norm;
    return FD_OK;
}

fd_err plan_check(fd_store *st, const json_t *plan, plan_parts *out, fd_problem *p)
{
    memset(out, 0, sizeof *out);
    /* the whole format (switches, rules, rollback included): the first of all errors */
    fd_err e = plan_lint_first(st, plan, "", p);
    if (e != FD_OK)
        return e;
    e = check_object(plan, plan_top_fields, "", p);
    if (e != FD_OK)
        return e;
    out->mig.id = check_str(plan, "id", NULL);
    out->mig.title = check_str(plan, "title", NULL);
    out->mig.description = check_str(plan, "description", NULL);
    out->mig.owner_team = check_str(plan, "owner_team", NULL);
    e = plan_check_team_exists(st, out->mig.owner_team, "owner_team", p);
    if (e == FD_OK)
        e = plan_check_teams(st, json_object_get(plan, "teams"), out->mig.owner_team, &out->teams,
                             p);
    const json_t *w = json_object_get(plan, "window");
    if (e == FD_OK && json_is_object(w)) {
        out->mig.has_window = 1;
        e = plan_check_window(w, "window", &out->mig.window_start, &out->mig.window_end, p);
    }
    const json_t *dash = json_object_get(plan, "dashboards");
    if (e == FD_OK)
        e = plan_check_dashboards(json_is_array(dash) ? dash : NULL, "dashboards", &out->dashboards,
                                  p);
    if (e == FD_OK) {
        const json_t *stages = json_object_get(plan, "stages");
        e = check_stages(st, json_is_array(stages) ? stages : NULL, out->teams, &out->stages, p);
    }
    if (e != FD_OK)
        plan_parts_free(out);
    return e;
}

void plan_parts_free(plan_parts *pp)
{
    json_decref(pp->teams);
    json_decref(pp->dashboards);
    json_decref(pp->stages);
    memset(pp, 0, sizeof *pp);
}
