/* plan_lint.c - the plan validator that reports every error with its JSON path (see
 * plan_lint.h).
 *
 * Each object is checked member by member with check.h's own rules (one field at a time, so one
 * bad field does not hide the next), then what a field table cannot say: teams exist, keys and
 * names are unique, steps and rules name declared switches and positions, rules name
 * verifications some step performs. A member that is itself wrong is not looked into further. */
#include "plan_lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plan.h"
#include "store_internal.h"
#include "timefmt.h"

#define PATH_LEN 200
#define MSG_LEN 600
#define POSITION_MAX 100
#define HEADER_VALUE_MAX 2000

/* ---- the format: one table per place (plan_lint_fields names them) ---- */

static const check_field step_switch_fields[] = {
    {"name", CHECK_SLUG, 1, 0, 0},
    {"position", CHECK_STRING, 1, 1, POSITION_MAX},
    {NULL, 0, 0, 0, 0},
};

static const check_field rollback_fields[] = {
    {"repo", CHECK_STRING, 1, 3, 200},
    {"pr", CHECK_INT, 1, 1, 1000000000},
    {"merge_method", CHECK_STRING, 0, 0, 0},
    {"requires_second_lead", CHECK_BOOL, 0, 0, 0},
    {NULL, 0, 0, 0, 0},
};

static const check_field switch_fields[] = {
    {"name", CHECK_SLUG, 1, 0, 0},
    {"title", CHECK_STRING, 1, 1, 200},
    {"positions", CHECK_ARRAY, 1, 2, 16},
    {"action", CHECK_OBJECT, 0, 0, 0},
    {NULL, 0, 0, 0, 0},
};

static const check_field action_fields[] = {
    {"method", CHECK_STRING, 1, 0, 0},
    {"url", CHECK_URL, 1, 0, 0},
    {"headers", CHECK_OBJECT, 0, 0, 0},
    {"body", CHECK_ANY, 1, 0, 0},
    {NULL, 0, 0, 0, 0},
};

static const check_field rule_fields[] = {
    {"switch", CHECK_SLUG, 1, 0, 0},
    {"beyond", CHECK_STRING, 1, 1, POSITION_MAX},
    {"requires", CHECK_ARRAY, 1, 1, 16},
    {NULL, 0, 0, 0, 0},
};

static const check_field requirement_fields[] = {
    {"switch", CHECK_SLUG, 0, 0, 0},
    {"at_least", CHECK_STRING, 0, 1, POSITION_MAX},
    {"verification", CHECK_SLUG, 0, 0, 0},
    {"within_hours", CHECK_INT, 0, 1, 8760},
    {NULL, 0, 0, 0, 0},
};

const check_field *plan_lint_fields(const char *where)
{
    static const struct {
        const char *name;
        const check_field *fields;
    } places[] = {
        {"plan", plan_top_fields},
        {"window", plan_window_fields},
        {"dashboard", plan_dashboard_fields},
        {"stage", plan_stage_fields},
        {"signoff", plan_signoff_fields},
        {"step", plan_step_fields},
        {"step.switch", step_switch_fields},
        {"rollback", rollback_fields},
        {"switch", switch_fields},
        {"action", action_fields},
        {"rule", rule_fields},
        {"requirement", requirement_fields},
    };
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        if (strcmp(places[i].name, where) == 0)
            return places[i].fields;
    return NULL;
}

/* ---- reporting ---- */

typedef struct lint {
    plan_team_fn teams;
    void *teams_arg;
    plan_lint_fn fn;
    void *arg;
    int count;
    json_t *switches; /* name -> positions (array), or JSON null for a declared switch whose
                         positions are wrong (reported there; nothing more said about it) */
    json_t *verifies; /* verification slug -> title of the first step that performs it */
    json_t *affected; /* the affected teams (valid slugs, owner included) */
} lint;

static void report(lint *L, fd_err code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(lint *L, fd_err code, const char *path, const char *fmt, ...)
{
    char msg[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    L->count++;
    if (L->fn != NULL)
        L->fn(L->arg, code, path, msg);
}

/* "" + "title" -> "title"; "stages[1]" + "key" -> "stages[1].key". */
static void join(char *out, const char *path, const char *name)
{
    int n = path[0] == '\0' ? snprintf(out, PATH_LEN, "%s", name)
                            : snprintf(out, PATH_LEN, "%s.%s", path, name);
    if (n < 0 || n >= PATH_LEN)
        snprintf(out + PATH_LEN - 4, 4, "..."); /* a path this deep is cut, never overrun */
}

/* "stages" + 2 -> "stages[2]" (path is already joined). */
static void item(char *out, const char *path, size_t i)
{
    int n = snprintf(out, PATH_LEN, "%s[%zu]", path, i);
    if (n < 0 || n >= PATH_LEN)
        snprintf(out + PATH_LEN - 4, 4, "...");
}

/* Check one member against its entry, as check_object would. */
static fd_err check_member(const json_t *v, const check_field *f, const char *path, fd_problem *p)
{
    check_field one[2] = {*f, {NULL, 0, 0, 0, 0}};
    json_t *tmp = json_object();
    json_object_set(tmp, f->name, (json_t *)v);
    fd_err e = check_object(tmp, one, path, p);
    json_decref(tmp);
    return e;
}

/* Every member of obj against fields: unknown members, missing required ones, wrong types and
 * bounds, each reported. 0 when obj is not an object (nothing more can be said). */
static int lint_fields(lint *L, const json_t *obj, const check_field *fields, const char *path)
{
    char at[PATH_LEN];
    if (!json_is_object(obj)) {
        if (path[0] == '\0')
            report(L, FD_E_BAD_REQUEST, "", "the plan must be a JSON object");
        else
            report(L, FD_E_INVALID, path, "%s must be an object", path);
        return 0;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const check_field *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL) {
            join(at, path, key);
            report(L, FD_E_UNKNOWN_FIELD, at, "%s is not a known field", at);
        }
    }
    for (const check_field *f = fields; f->name != NULL; f++) {
        v = json_object_get(obj, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required) {
                join(at, path, f->name);
                report(L, FD_E_INVALID, at, "%s is required", at);
            }
            continue;
        }
        fd_problem p = {0};
        fd_err e = check_member(v, f, path, &p);
        if (e != FD_OK)
            report(L, e, p.field, "%s", p.detail);
        fd_problem_clear(&p);
    }
    return 1;
}

/* The member `name` when it is present and passes its entry, else NULL (reported already). */
static const json_t *good(const json_t *obj, const check_field *fields, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (v == NULL || json_is_null(v))
        return NULL;
    for (const check_field *f = fields; f->name != NULL; f++) {
        if (strcmp(f->name, name) != 0)
            continue;
        fd_problem p = {0};
        fd_err e = check_member(v, f, "", &p);
        fd_problem_clear(&p);
        return e == FD_OK ? v : NULL;
    }
    return NULL;
}

static const char *good_str(const json_t *obj, const check_field *fields, const char *name)
{
    return json_string_value(good(obj, fields, name));
}

static void team_exists(lint *L, const char *slug, const char *at)
{
    if (L->teams == NULL)
        return; /* offline: only the shape of the slug is checked */
    int r = L->teams(L->teams_arg, slug);
    if (r == 0)
        report(L, FD_E_INVALID, at, "%s names no team: %s (create it first)", at, slug);
    else if (r < 0)
        report(L, FD_E_INTERNAL, at, "%s: cannot look up the team %s", at, slug);
}

static int in_array(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* "mysql, 10% dynamodb, dynamodb" (the first `n` positions) into out. */
static void list_positions(const json_t *positions, size_t n, char *out, size_t cap)
{
    size_t used = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(positions, i, v)
    {
        if (i >= n || used >= cap)
            break;
        used +=
            (size_t)snprintf(out + used, cap - used, "%s'%s'", i ? ", " : "", json_string_value(v));
    }
}

/* ---- the parts ---- */

static void lint_teams(lint *L, const json_t *plan, const char *path, const char *owner)
{
    char base[PATH_LEN], at[PATH_LEN];
    const json_t *teams = good(plan, plan_top_fields, "teams");
    size_t i;
    json_t *v;
    join(base, path, "teams");
    json_array_foreach(teams, i, v)
    {
        item(at, base, i);
        const char *slug = json_string_value(v);
        if (!check_is_slug(slug)) {
            report(L, FD_E_INVALID, at, "%s must be a team slug", at);
            continue;
        }
        if (in_array(L->affected, slug)) {
            report(L, FD_E_INVALID, at, "%s repeats the team %s", at, slug);
            continue;
        }
        team_exists(L, slug, at);
        json_array_append(L->affected, v);
    }
    if (owner != NULL && !in_array(L->affected, owner))
        json_array_append_new(L->affected, json_string(owner));
}

static void lint_window(lint *L, const json_t *w, const char *path)
{
    char at[PATH_LEN];
    int64_t start, end;
    join(at, path, "window");
    if (!lint_fields(L, w, plan_window_fields, at))
        return;
    const char *s = good_str(w, plan_window_fields, "start"), *e = good_str(w, plan_window_fields, "end");
    if (s == NULL || e == NULL || fd_time_parse(s, &start) != 0 || fd_time_parse(e, &end) != 0)
        return;
    if (end <= start) {
        char eat[PATH_LEN];
        join(eat, at, "end");
        report(L, FD_E_INVALID, eat, "%s must be after %s.start", eat, at);
    }
}

static void lint_dashboards(lint *L, const json_t *arr, const char *path)
{
    char base[PATH_LEN], at[PATH_LEN], kat[PATH_LEN];
    size_t i;
    json_t *d;
    join(base, path, "dashboards");
    json_array_foreach(arr, i, d)
    {
        item(at, base, i);
        if (!lint_fields(L, d, plan_dashboard_fields, at))
            continue;
        const char *kind = good_str(d, plan_dashboard_fields, "kind");
        if (kind != NULL && strcmp(kind, "overview") != 0 && strcmp(kind, "full") != 0) {
            join(kat, at, "kind");
            report(L, FD_E_INVALID, kat, "%s must be overview or full", kat);
        }
    }
}

/* Header names that carry credentials: their values must come from {{secret:NAME}}. */
static int looks_secret(const char *name)
{
    static const char *const words[] = {"token", "secret", "key", "password", "auth", "cookie"};
    char low[128];
    size_t n = strlen(name);
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]) != NULL)
            return 1;
    return 0;
}

/* 1 when every {{secret:NAME}} in s is well formed (NAME of A-Z 0-9 _); *uses says whether s has
 * one. */
static int secret_refs_ok(const char *s, int *uses)
{
    *uses = 0;
    for (const char *p = strstr(s, "{{secret:"); p != NULL; p = strstr(p, "{{secret:")) {
        p += 9;
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (n == 0 || n > 64 || strncmp(p + n, "}}", 2) != 0)
            return 0;
        *uses = 1;
        p += n + 2;
    }
    return 1;
}

static int header_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static void lint_action(lint *L, const json_t *a, const char *at)
{
    char fat[PATH_LEN], hat[PATH_LEN];
    if (!lint_fields(L, a, action_fields, at))
        return;
    const char *method = good_str(a, action_fields, "method");
    if (method != NULL && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 &&
        strcmp(method, "PATCH") != 0) {
        join(fat, at, "method");
        report(L, FD_E_INVALID, fat, "%s must be POST, PUT or PATCH", fat);
    }
    const json_t *headers = good(a, action_fields, "headers");
    const char *name;
    json_t *v;
    join(fat, at, "headers");
    json_object_foreach((json_t *)headers, name, v)
    {
        join(hat, fat, name);
        if (!header_name_ok(name)) {
            report(L, FD_E_INVALID, hat,
                   "%s is not a header name: 1-100 characters of A-Z, a-z, 0-9, - and _", hat);
            continue;
        }
        const char *s = json_string_value(v);
        int uses = 0;
        if (s == NULL || s[0] == '\0' || strlen(s) > HEADER_VALUE_MAX || strpbrk(s, "\r\n")) {
            report(L, FD_E_INVALID, hat,
                   "%s must be a string of 1-%d characters without line breaks", hat,
                   HEADER_VALUE_MAX);
        } else if (!secret_refs_ok(s, &uses)) {
            report(L, FD_E_INVALID, hat,
                   "%s: write a secret as {{secret:NAME}} with NAME of A-Z, 0-9 and _", hat);
        } else if (looks_secret(name) && !uses) {
            report(L, FD_E_INVALID, hat,
                   "%s looks like a credential: write {{secret:NAME}} and set "
                   "FLIGHTDECK_SECRET_NAME on the server (plans carry no secrets)",
                   hat);
        }
    }
}

/* Declared switches first: steps and rules refer to them wherever they stand in the plan. */
static void lint_switches(lint *L, const json_t *arr, const char *path)
{
    char base[PATH_LEN], at[PATH_LEN], fat[PATH_LEN], pat[PATH_LEN];
    size_t i, k;
    json_t *sw, *pos;
    join(base, path, "switches");
    json_array_foreach(arr, i, sw)
    {
        item(at, base, i);
        if (!lint_fields(L, sw, switch_fields, at))
            continue;
        const char *name = good_str(sw, switch_fields, "name");
        if (name != NULL && json_object_get(L->switches, name) != NULL) {
            join(fat, at, "name");
            report(L, FD_E_INVALID, fat, "%s repeats the switch name %s", fat, name);
            name = NULL;
        }
        const json_t *positions = good(sw, switch_fields, "positions");
        int sound = positions != NULL;
        join(fat, at, "positions");
        json_array_foreach(positions, k, pos)
        {
            item(pat, fat, k);
            const char *s = json_string_value(pos);
            if (s == NULL || s[0] == '\0' || strlen(s) > POSITION_MAX) {
                report(L, FD_E_INVALID, pat, "%s must be a string of 1-%d characters", pat,
                       POSITION_MAX);
                sound = 0;
                continue;
            }
            for (size_t j = 0; j < k; j++) {
                const char *earlier = json_string_value(json_array_get(positions, j));
                if (earlier != NULL && strcmp(s, earlier) == 0) {
                    report(L, FD_E_INVALID, pat, "%s repeats the position '%s'", pat, s);
                    sound = 0;
                    break;
                }
            }
        }
        const json_t *action = good(sw, switch_fields, "action");
        if (action != NULL) {
            join(fat, at, "action");
            lint_action(L, action, fat);
        }
        if (name != NULL)
            json_object_set_new(L->switches, name,
                                sound ? json_incref((json_t *)positions) : json_null());
    }
}

static void lint_step_switch(lint *L, const json_t *sw, const char *at)
{
    char fat[PATH_LEN], list[400];
    if (!lint_fields(L, sw, step_switch_fields, at))
        return;
    const char *name = good_str(sw, step_switch_fields, "name");
    const char *position = good_str(sw, step_switch_fields, "position");
    if (name == NULL)
        return;
    const json_t *positions = json_object_get(L->switches, name);
    if (positions == NULL) {
        join(fat, at, "name");
        report(L, FD_E_INVALID, fat, "%s names no switch of this plan: %s (declare it in switches)",
               fat, name);
        return;
    }
    if (position != NULL && json_is_array(positions) && !in_array(positions, position)) {
        join(fat, at, "position");
        list_positions(positions, json_array_size(positions), list, sizeof list);
        report(L, FD_E_INVALID, fat, "%s must be one of the positions of %s: %s", fat, name, list);
    }
}

static void lint_steps(lint *L, const json_t *steps, const char *stage_at)
{
    char base[PATH_LEN], at[PATH_LEN], fat[PATH_LEN];
    size_t i;
    json_t *step;
    join(base, stage_at, "steps");
    json_array_foreach(steps, i, step)
    {
        item(at, base, i);
        if (!lint_fields(L, step, plan_step_fields, at))
            continue;
        const char *owner = good_str(step, plan_step_fields, "owner_team");
        if (owner != NULL) {
            join(fat, at, "owner_team");
            team_exists(L, owner, fat);
        }
        const json_t *sw = good(step, plan_step_fields, "switch");
        if (sw != NULL) {
            join(fat, at, "switch");
            lint_step_switch(L, sw, fat);
        }
        const char *what = good_str(step, plan_step_fields, "verifies");
        const char *title = good_str(step, plan_step_fields, "title");
        if (what != NULL && json_object_get(L->verifies, what) == NULL)
            json_object_set_new(L->verifies, what, json_string(title ? title : what));
    }
}

static void lint_signoffs(lint *L, const json_t *arr, const char *stage_at)
{
    char base[PATH_LEN], at[PATH_LEN], tat[PATH_LEN];
    size_t i;
    json_t *r;
    json_t *seen = json_array();
    join(base, stage_at, "signoffs");
    json_array_foreach(arr, i, r)
    {
        item(at, base, i);
        if (!lint_fields(L, r, plan_signoff_fields, at))
            continue;
        const char *team = good_str(r, plan_signoff_fields, "team");
        if (team == NULL)
            continue;
        join(tat, at, "team");
        if (!in_array(L->affected, team))
            report(L, FD_E_INVALID, tat,
                   "%s names %s, which is not an affected team of this migration: add it to "
                   "the migration's teams first",
                   tat, team);
        else if (in_array(seen, team))
            report(L, FD_E_INVALID, tat, "%s repeats the team %s", tat, team);
        json_array_append_new(seen, json_string(team));
    }
    json_decref(seen);
}

static void lint_stages(lint *L, const json_t *arr, const char *path)
{
    char base[PATH_LEN], at[PATH_LEN], kat[PATH_LEN];
    size_t i;
    json_t *g;
    json_t *keys = json_array();
    join(base, path, "stages");
    json_array_foreach(arr, i, g)
    {
        item(at, base, i);
        if (!lint_fields(L, g, plan_stage_fields, at))
            continue;
        const char *key = good_str(g, plan_stage_fields, "key");
        if (key != NULL && in_array(keys, key)) {
            join(kat, at, "key");
            report(L, FD_E_INVALID, kat, "%s repeats the stage key %s", kat, key);
        } else if (key != NULL) {
            json_array_append_new(keys, json_string(key));
        }
        lint_steps(L, good(g, plan_stage_fields, "steps"), at);
        lint_signoffs(L, good(g, plan_stage_fields, "signoffs"), at);
    }
    json_decref(keys);
}

static void lint_requirement(lint *L, const json_t *r, const char *at, const char *rule_switch)
{
    char fat[PATH_LEN], list[400];
    if (!lint_fields(L, r, requirement_fields, at))
        return;
    int has_switch = json_object_get(r, "switch") != NULL,
        has_at = json_object_get(r, "at_least") != NULL,
        has_ver = json_object_get(r, "verification") != NULL,
        has_hours = json_object_get(r, "within_hours") != NULL;
    if (!((has_switch && has_at && !has_ver && !has_hours) ||
          (has_ver && has_hours && !has_switch && !has_at))) {
        report(L, FD_E_INVALID, at,
               "%s must be either {\"switch\", \"at_least\"} or {\"verification\", "
               "\"within_hours\"}",
               at);
        return;
    }
    const char *sw = good_str(r, requirement_fields, "switch");
    const char *least = good_str(r, requirement_fields, "at_least");
    const char *ver = good_str(r, requirement_fields, "verification");
    if (sw != NULL) {
        const json_t *positions = json_object_get(L->switches, sw);
        join(fat, at, "switch");
        if (rule_switch != NULL && strcmp(sw, rule_switch) == 0) {
            report(L, FD_E_INVALID, fat, "%s names the rule's own switch %s", fat, sw);
        } else if (positions == NULL) {
            report(L, FD_E_INVALID, fat, "%s names no switch of this plan: %s", fat, sw);
        } else if (least != NULL && json_is_array(positions) && !in_array(positions, least)) {
            join(fat, at, "at_least");
            list_positions(positions, json_array_size(positions), list, sizeof list);
            report(L, FD_E_INVALID, fat, "%s must be one of the positions of %s: %s", fat, sw,
                   list);
        }
    }
    if (ver != NULL && json_object_get(L->verifies, ver) == NULL) {
        join(fat, at, "verification");
        report(L, FD_E_INVALID, fat,
               "%s names no verification of this plan: no step has \"verifies\": \"%s\"", fat, ver);
    }
}

static void lint_rules(lint *L, const json_t *arr, const char *path)
{
    char base[PATH_LEN], at[PATH_LEN], fat[PATH_LEN], list[400];
    size_t i, k;
    json_t *rule, *r;
    join(base, path, "rules");
    json_array_foreach(arr, i, rule)
    {
        item(at, base, i);
        if (!lint_fields(L, rule, rule_fields, at))
            continue;
        const char *sw = good_str(rule, rule_fields, "switch");
        const char *beyond = good_str(rule, rule_fields, "beyond");
        const json_t *positions = sw ? json_object_get(L->switches, sw) : NULL;
        if (sw != NULL && positions == NULL) {
            join(fat, at, "switch");
            report(L, FD_E_INVALID, fat, "%s names no switch of this plan: %s", fat, sw);
        } else if (json_is_array(positions) && beyond != NULL) {
            size_t n = json_array_size(positions);
            int found = in_array(positions, beyond);
            if (!found ||
                strcmp(json_string_value(json_array_get(positions, n - 1)), beyond) == 0) {
                join(fat, at, "beyond");
                list_positions(positions, n - 1, list, sizeof list);
                report(L, FD_E_INVALID, fat,
                       "%s must be a position of %s other than its last (nothing lies beyond "
                       "it): %s",
                       fat, sw, list);
            }
        }
        join(fat, at, "requires");
        json_array_foreach(good(rule, rule_fields, "requires"), k, r)
        {
            char rat[PATH_LEN];
            item(rat, fat, k);
            lint_requirement(L, r, rat, sw);
        }
    }
}

static void lint_rollback(lint *L, const json_t *rb, const char *path)
{
    char at[PATH_LEN], fat[PATH_LEN];
    join(at, path, "rollback");
    if (!lint_fields(L, rb, rollback_fields, at))
        return;
    const char *repo = good_str(rb, rollback_fields, "repo");
    if (repo != NULL) {
        const char *slash = strchr(repo, '/');
        size_t n = strlen(repo);
        const char *ok = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/";
        if (slash == NULL || slash == repo || slash[1] == '\0' || strchr(slash + 1, '/') ||
            strspn(repo, ok) != n) {
            join(fat, at, "repo");
            report(L, FD_E_INVALID, fat, "%s must be a GitHub repository as owner/name", fat);
        }
    }
    const char *method = good_str(rb, rollback_fields, "merge_method");
    if (method != NULL && strcmp(method, "merge") != 0 && strcmp(method, "squash") != 0 &&
        strcmp(method, "rebase") != 0) {
        join(fat, at, "merge_method");
        report(L, FD_E_INVALID, fat, "%s must be merge, squash or rebase", fat);
    }
}

int plan_lint(const json_t *plan, const char *path, plan_team_fn teams, void *teams_arg,
              plan_lint_fn fn, void *arg)
{
    char at[PATH_LEN];
    lint L = {.teams = teams, .teams_arg = teams_arg, .fn = fn, .arg = arg};
    if (path == NULL)
        path = "";
    if (!lint_fields(&L, plan, plan_top_fields, path))
        return L.count;
    L.switches = json_object();
    L.verifies = json_object();
    L.affected = json_array();

    const char *owner = good_str(plan, plan_top_fields, "owner_team");
    if (owner != NULL) {
        join(at, path, "owner_team");
        team_exists(&L, owner, at);
    }
    lint_teams(&L, plan, path, owner);
    const json_t *w = good(plan, plan_top_fields, "window");
    if (w != NULL)
        lint_window(&L, w, path);
    lint_dashboards(&L, good(plan, plan_top_fields, "dashboards"), path);

    /* switches are declared before anything refers to them: their errors come first */
    lint_switches(&L, good(plan, plan_top_fields, "switches"), path);
    lint_stages(&L, good(plan, plan_top_fields, "stages"), path);
    const json_t *rb = good(plan, plan_top_fields, "rollback");
    if (rb != NULL)
        lint_rollback(&L, rb, path);
    lint_rules(&L, good(plan, plan_top_fields, "rules"), path);

    json_decref(L.switches);
    json_decref(L.verifies);
    json_decref(L.affected);
    return L.count;
}

/* ---- against the store ---- */

static int store_teams(void *arg, const char *slug)
{
    return store_team_exists(arg, slug);
}

typedef struct first_error {
    fd_problem *p;
    fd_err e;
} first_error;

static void keep_first(void *arg, fd_err code, const char *path, const char *message)
{
    first_error *f = arg;
    if (f->e != FD_OK)
        return;
    f->e = code;
    fd_fail(f->p, code, path[0] ? path : NULL, "%s", message);
}

fd_err plan_lint_first(fd_store *st, const json_t *plan, const char *path, fd_problem *p)
{
    first_error f = {.p = p, .e = FD_OK};
    plan_lint(plan, path, store_teams, st, keep_first, &f);
    return f.e;
}

int plan_lint_teams_in(void *arg, const char *slug)
{
    return in_array(arg, slug);
}
