/* plan_export.c - a migration's plan as the JSON that creates it again (see plans.h).
 *
 * Built from the migration document (flight_doc) plus what the document does not show: a
 * stage's own expected minutes, the switches' actions, the rules and the rollback PR. The keys
 * come in the order a person writes a plan in (id, title, ... stages, rollback, switches,
 * rules), so an export reads like the file it came from. */
#include <string.h>

#include "check.h"
#include "flight_internal.h"
#include "plans.h"
#include "store_plans.h"
#include "store_rollback.h"

/* Copy member `key` of src into dst when it is present and not null. */
static void copy_set(json_t *dst, const json_t *src, const char *key)
{
    const json_t *v = json_object_get(src, key);
    if (v != NULL && !json_is_null(v))
        json_object_set(dst, key, (json_t *)v);
}

/* A step's plan fields: the StepInput that creates it. */
static json_t *export_step(const json_t *step)
{
    static const char *const fields[] = {"title",   "details", "owner_team",
                                         "command", "link",    "expected_minutes"};
    json_t *s = json_object();
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        copy_set(s, step, fields[i]);
    if (json_is_true(json_object_get(step, "critical")))
        json_object_set_new(s, "critical", json_true());
    copy_set(s, step, "switch");
    copy_set(s, step, "verifies");
    return s;
}

static fd_err export_stage(fd_store *st, const char *mid, const json_t *g, json_t **out)
{
    fd_stage_cfg cfg;
    const char *key = check_str(g, "key", "");
    fd_err e = store_stage_cfg(st, mid, key, &cfg);
    if (e != FD_OK)
        return e;
    json_t *s = json_pack("{s:s,s:s}", "key", key, "title", check_str(g, "title", ""));
    if (cfg.expected_minutes >= 0) /* its own; the document shows the sum of its steps' */
        json_object_set_new(s, "expected_minutes", json_integer(cfg.expected_minutes));
    const json_t *reqs = json_object_get(g, "signoffs_required");
    if (json_array_size(reqs) > 0)
        json_object_set(s, "signoffs", (json_t *)reqs);
    if (cfg.allow_shared)
        json_object_set_new(s, "allow_shared_signers", json_true());
    json_t *steps = json_array();
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(g, "steps"), i, step)
        json_array_append_new(steps, export_step(step));
    json_object_set_new(s, "steps", steps);
    *out = s;
    return FD_OK;
}

/* The PR armed for the migration, else the one its plan named, else JSON null. */
static fd_err export_rollback(fd_store *st, const char *mid, json_t *planned, json_t **out)
{
    fd_rollback_row row;
    memset(&row, 0, sizeof row);
    fd_err e = store_rollback_get(st, mid, &row);
    if (e == FD_E_NOT_FOUND) {
        *out = json_incref(planned);
        return FD_OK;
    }
    if (e == FD_OK)
        *out = json_pack("{s:s,s:I,s:s,s:b}", "repo", row.repo, "pr", (json_int_t)row.pr,
                         "merge_method", row.merge_method, "requires_second_lead",
                         row.requires_second_lead);
    store_rollback_row_clear(&row);
    return e;
}

static json_t *export_switches(const json_t *rows)
{
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *sw = json_pack("{s:O,s:O,s:O}", "name", json_object_get(row, "name"), "title",
                               json_object_get(row, "title"), "positions",
                               json_object_get(row, "positions"));
        copy_set(sw, row, "action");
        json_array_append_new(list, sw);
    }
    return list;
}

fd_err plan_export(fd_store *st, fd_ctx *ctx, const char *mid, json_t **out)
{
    json_t *doc = NULL, *rows = NULL, *planned = NULL, *rules = NULL, *rollback = NULL;
    json_t *plan = NULL;
    *out = NULL;
    fd_err e = flight_doc(st, mid, 1, &doc);
    if (e == FD_E_NOT_FOUND)
        return fd_fail(&ctx->problem, e, NULL, "no migration %s", mid);
    if (e == FD_OK)
        e = store_switch_list(st, mid, &rows);
    if (e == FD_OK)
        e = store_plan_extras_get(st, mid, &planned, &rules);
    if (e == FD_OK)
        e = export_rollback(st, mid, planned, &rollback);
    if (e != FD_OK)
        goto done;

    plan = json_object();
    static const char *const head[] = {"id",    "title",  "description", "owner_team",
                                       "teams", "window", "dashboards"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        copy_set(plan, doc, head[i]);
    json_t *stages = json_array();
    json_object_set_new(plan, "stages", stages);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "stages"), i, g)
    {
        json_t *s = NULL;
        e = export_stage(st, mid, g, &s);
        if (e != FD_OK)
            goto done;
        json_array_append_new(stages, s);
    }
    if (json_is_object(rollback))
        json_object_set(plan, "rollback", rollback);
    if (json_array_size(rows) > 0)
        json_object_set_new(plan, "switches", export_switches(rows));
    if (json_array_size(rules) > 0)
        json_object_set(plan, "rules", rules);
    *out = plan;
    plan = NULL;
done:
    if (e == FD_E_INTERNAL)
        fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
    json_decref(doc);
    json_decref(rows);
    json_decref(planned);
    json_decref(rules);
    json_decref(rollback);
    json_decref(plan);
    return e;
}
