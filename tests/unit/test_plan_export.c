/* test_plan_export.c - plans as code: the validator that reports every error with its path, the
 * JSON Schema that describes the same format, export that imports back to the same plan (both
 * examples), and templates. Run from the repository root (it reads schema/ and examples/). */
#include "core_fixture.h"
#include "core/flight.h"
#include "core/plan_lint.h"
#include "core/plans.h"

/* ---- helpers ---- */

static json_t *load(const char *path)
{
    json_error_t err;
    json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL)
        fail_msg("cannot read %s: line %d: %s (run from the repository root)", path, err.line,
                 err.text);
    return v;
}

/* Every team of examples/teams.json. */
static fixture *setup_examples(void)
{
    fixture *f = fix_open();
    json_t *teams = load("examples/teams.json");
    size_t i;
    json_t *t;
    json_array_foreach(teams, i, t) fix_team(f, json_string_value(json_object_get(t, "slug")),
                                             json_string_value(json_object_get(t, "name")));
    json_decref(teams);
    return f;
}

static json_t *create_ok(fixture *f, const json_t *plan)
{
    fd_ctx ctx;
    json_t *m = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    fd_err e = flight_create(f->st, &ctx, plan, &m);
    if (e != FD_OK)
        fail_msg("create: %s %s (%s)", fd_err_name(e), ctx.problem.detail, ctx.problem.field);
    return m;
}

static json_t *export_ok(fixture *f, const char *mid)
{
    fd_ctx ctx;
    json_t *plan = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    fd_err e = plan_export(f->st, &ctx, mid, &plan);
    if (e != FD_OK)
        fail_msg("export %s: %s %s", mid, fd_err_name(e), ctx.problem.detail);
    return plan;
}

/* Collects lint errors as "path: message" lines. */
static void collect(void *arg, fd_err code, const char *path, const char *message)
{
    (void)code;
    json_array_append_new(arg, json_pack("{s:s,s:s}", "path", path, "message", message));
}

static json_t *lint_all(const json_t *plan, json_t *teams)
{
    json_t *errors = json_array();
    int n = plan_lint(plan, "", teams ? plan_lint_teams_in : NULL, teams, collect, errors);
    assert_int_equal(n, (int)json_array_size(errors));
    return errors;
}

/* 1 when some error names `path` and its message contains `words`. */
static int has_error(const json_t *errors, const char *path, const char *words)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "path")), path) == 0 &&
            strstr(json_string_value(json_object_get(e, "message")), words) != NULL)
            return 1;
    }
    return 0;
}

static void dump_errors(const json_t *errors)
{
    char *text = json_dumps(errors, JSON_INDENT(1));
    fprintf(stderr, "%s\n", text ? text : "?");
    free(text);
}

#define EXPECT_ERROR(errors, path, words)                                                          \
    do {                                                                                           \
        if (!has_error((errors), (path), (words))) {                                               \
            dump_errors(errors);                                                                   \
            fail_msg("no error at %s saying \"%s\"", (path), (words));                             \
        }                                                                                          \
    } while (0)

/* ---- lint ---- */

static const char *const BROKEN =
    "{\"id\":\"Bad Id\",\"title\":\"\",\"owner_team\":\"data-stream\",\"colour\":\"red\","
    " \"teams\":[\"sre\",\"sre\",\"nobody\"],"
    " \"window\":{\"start\":\"2026-03-10T19:00:00Z\",\"end\":\"2026-03-10T18:00:00Z\"},"
    " \"dashboards\":[{\"title\":\"Lag\",\"url\":\"ftp://x\",\"kind\":\"tiny\"}],"
    " \"stages\":["
    "  {\"key\":\"takeoff\",\"title\":\"Take-off\",\"signoffs\":[{\"team\":\"platform\"}],"
    "   \"steps\":[{\"title\":\"ok\"},{\"details\":\"no title\",\"critical\":\"yes\"},"
    "    {\"title\":\"s\",\"switch\":{\"name\":\"reads\",\"position\":\"75% dynamodb\"}},"
    "    {\"title\":\"t\",\"switch\":{\"name\":\"ghost\",\"position\":\"on\"}}]},"
    "  {\"key\":\"takeoff\",\"title\":\"Again\"}],"
    " \"rollback\":{\"repo\":\"not a repo\",\"pr\":0,\"merge_method\":\"yolo\"},"
    " \"switches\":["
    "  {\"name\":\"reads\",\"title\":\"Reads\",\"positions\":[\"mysql\",\"dynamodb\"],"
    "   \"action\":{\"method\":\"GET\",\"url\":\"https://flags.example/x\","
    "     \"headers\":{\"X-Api-Key\":\"hunter2\",\"X-Team\":\"data\"},\"body\":{}}},"
    "  {\"name\":\"writes\",\"title\":\"Writes\",\"positions\":[\"mysql\"]},"
    "  {\"name\":\"flags\",\"title\":\"Flags\",\"positions\":[\"on\",\"off\",\"on\"]},"
    "  {\"name\":\"reads\",\"title\":\"Twice\",\"positions\":[\"a\",\"b\"]}],"
    " \"rules\":["
    "  {\"switch\":\"reads\",\"beyond\":\"dynamodb\",\"requires\":["
    "   {\"switch\":\"reads\",\"at_least\":\"mysql\"},"
    "   {\"verification\":\"row-counts\",\"within_hours\":24},"
    "   {\"switch\":\"writes\",\"within_hours\":3}]},"
    "  {\"switch\":\"ghost\",\"beyond\":\"x\",\"requires\":[]}]"
    "}";

/* One broken plan, every mistake reported with its path: what `flightdeck plan lint` prints. */
static void lint_reports_every_error_with_its_path(void **state)
{
    (void)state;
    json_t *plan = fix_json(BROKEN);
    json_t *teams = json_pack("[s,s]", "data-stream", "sre");
    json_t *errors = lint_all(plan, teams);
    EXPECT_ERROR(errors, "colour", "is not a known field");
    EXPECT_ERROR(errors, "id", "must be a slug");
    EXPECT_ERROR(errors, "title", "must be a string of 1-200 characters");
    EXPECT_ERROR(errors, "teams[1]", "repeats the team sre");
    EXPECT_ERROR(errors, "teams[2]", "names no team: nobody");
    EXPECT_ERROR(errors, "window.end", "must be after window.start");
    EXPECT_ERROR(errors, "dashboards[0].url", "http:// or https://");
    EXPECT_ERROR(errors, "dashboards[0].kind", "must be overview or full");
    EXPECT_ERROR(errors, "stages[0].signoffs[0].team", "not an affected team");
    EXPECT_ERROR(errors, "stages[0].steps[1].title", "is required");
    EXPECT_ERROR(errors, "stages[0].steps[1].critical", "must be true or false");
    EXPECT_ERROR(errors, "stages[0].steps[3].switch.name", "names no switch of this plan: ghost");
    EXPECT_ERROR(errors, "stages[1].key", "repeats the stage key takeoff");
    EXPECT_ERROR(errors, "rollback.repo", "owner/name");
    EXPECT_ERROR(errors, "rollback.pr", "from 1 to");
    EXPECT_ERROR(errors, "rollback.merge_method", "merge, squash or rebase");
    EXPECT_ERROR(errors, "stages[0].steps[2].switch.position",
                 "must be one of the positions of reads: 'mysql', 'dynamodb'");
    EXPECT_ERROR(errors, "switches[2].positions[2]", "repeats the position 'on'");
    EXPECT_ERROR(errors, "switches[3].name", "repeats the switch name reads");
    EXPECT_ERROR(errors, "switches[0].action.method", "POST, PUT or PATCH");
    EXPECT_ERROR(errors, "switches[0].action.headers.X-Api-Key", "{{secret:NAME}}");
    EXPECT_ERROR(errors, "switches[1].positions", "2 to 16 elements");
    EXPECT_ERROR(errors, "rules[0].beyond", "other than its last");
    EXPECT_ERROR(errors, "rules[0].requires[0].switch", "the rule's own switch");
    EXPECT_ERROR(errors, "rules[0].requires[1].verification", "no step has \"verifies\"");
    EXPECT_ERROR(errors, "rules[0].requires[2]", "either");
    EXPECT_ERROR(errors, "rules[1].switch", "names no switch of this plan: ghost");
    EXPECT_ERROR(errors, "rules[1].requires", "1 to 16 elements");
    /* writes is declared but its positions are wrong: what refers to it is not judged again;
     * a header without a credential-like name passes */
    assert_false(has_error(errors, "switches[0].action.headers.X-Team", ""));
    assert_int_equal(json_array_size(errors), 28); /* each one asserted above */

    /* offline, without --teams: team existence is not judged */
    json_t *offline = lint_all(plan, NULL);
    assert_false(has_error(offline, "teams[2]", "names no team"));
    assert_int_equal(json_array_size(offline), 27);
    json_decref(offline);
    json_decref(errors);
    json_decref(teams);
    json_decref(plan);
}

static void lint_passes_both_examples(void **state)
{
    (void)state;
    json_t *teams = json_array();
    json_t *list = load("examples/teams.json");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) json_array_append(teams, json_object_get(t, "slug"));
    static const char *const files[] = {"examples/msk-cluster-replacement.json",
                                        "examples/mysql-to-dynamodb.json"};
    for (size_t k = 0; k < 2; k++) {
        json_t *plan = load(files[k]);
        json_t *errors = lint_all(plan, teams);
        if (json_array_size(errors) != 0) {
            dump_errors(errors);
            fail_msg("%s does not lint clean", files[k]);
        }
        json_decref(errors);
        json_decref(plan);
    }
    /* not an object at all */
    json_t *arr = json_array();
    json_t *errors = lint_all(arr, NULL);
    assert_int_equal(json_array_size(errors), 1);
    EXPECT_ERROR(errors, "", "must be a JSON object");
    json_decref(errors);
    json_decref(arr);
    json_decref(list);
    json_decref(teams);
}

/* POST /api/migrations refuses a plan with the first error lint finds, naming its path, and
 * creates nothing. */
static void create_refuses_with_the_first_lint_error(void **state)
{
    (void)state;
    fixture *f = setup_examples();
    json_t *plan = load("examples/mysql-to-dynamodb.json");
    json_t *rule = json_array_get(json_object_get(plan, "rules"), 1);
    json_object_set_new(json_array_get(json_object_get(rule, "requires"), 0), "at_least",
                        json_string("100% dynamodb"));
    fd_ctx ctx;
    json_t *m = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(flight_create(f->st, &ctx, plan, &m), FD_E_INVALID);
    assert_string_equal(ctx.problem.field, "rules[1].requires[0].at_least");
    assert_non_null(strstr(ctx.problem.detail, "must be one of the positions of reads"));
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(flight_get(f->st, &ctx, "mysql-to-dynamodb", &m), FD_E_NOT_FOUND);
    fd_problem_clear(&ctx.problem);
    json_decref(plan);
    fix_close(f);
}

/* ---- the schema and the validator describe the same format ---- */

static void schema_and_validator_agree(void **state)
{
    (void)state;
    static const struct {
        const char *place, *def; /* def NULL: the root */
    } places[] = {
        {"plan", NULL},
        {"window", "window"},
        {"dashboard", "dashboard"},
        {"stage", "stage"},
        {"signoff", "signoff"},
        {"step", "step"},
        {"step.switch", "step_switch"},
        {"rollback", "rollback"},
        {"switch", "switch"},
        {"action", "action"},
        {"rule", "rule"},
        {"requirement", "requirement"},
    };
    json_t *schema = load("schema/plan.schema.json");
    assert_string_equal(json_string_value(json_object_get(schema, "$schema")),
                        "https://json-schema.org/draft/2020-12/schema");
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        const json_t *node = places[i].def
                                 ? json_object_get(json_object_get(schema, "$defs"), places[i].def)
                                 : schema;
        const json_t *props = json_object_get(node, "properties");
        const check_field *fields = plan_lint_fields(places[i].place);
        assert_non_null(props);
        assert_non_null(fields);
        assert_true(json_is_false(json_object_get(node, "additionalProperties")));
        size_t n = 0;
        for (const check_field *fl = fields; fl->name != NULL; fl++, n++) {
            if (json_object_get(props, fl->name) == NULL)
                fail_msg("%s.%s: the validator accepts it, the schema does not describe it",
                         places[i].place, fl->name);
            /* required in one, required in the other */
            int req = 0;
            size_t k;
            json_t *r;
            json_array_foreach(json_object_get(node, "required"), k, r) req |=
                strcmp(json_string_value(r), fl->name) == 0;
            if (req != fl->required)
                fail_msg("%s.%s: required %d in the validator, %d in the schema", places[i].place,
                         fl->name, fl->required, req);
        }
        if (json_object_size(props) != n)
            fail_msg("%s: the schema describes %zu properties, the validator accepts %zu",
                     places[i].place, json_object_size(props), n);
    }
    json_decref(schema);
}

/* ---- export and round trip ---- */

static void round_trip(const char *file, const char *other_id)
{
    fixture *f = setup_examples();
    json_t *plan = load(file);
    const char *mid = json_string_value(json_object_get(plan, "id"));
    json_decref(create_ok(f, plan));
    json_t *first = export_ok(f, mid);

    /* the export is a plan: it lints clean, and creates a migration under another id */
    json_t *copy = json_deep_copy(first);
    json_object_set_new(copy, "id", json_string(other_id));
    json_decref(create_ok(f, copy));
    json_t *second = export_ok(f, other_id);
    assert_string_equal(json_string_value(json_object_get(second, "id")), other_id);
    json_object_set_new(second, "id", json_string(mid));
    if (!json_equal(first, second)) {
        char *a = json_dumps(first, JSON_INDENT(1)), *b = json_dumps(second, JSON_INDENT(1));
        fprintf(stderr, "first:\n%s\nsecond:\n%s\n", a, b);
        free(a);
        free(b);
        fail_msg("%s: export -> create -> export differs", file);
    }
    /* and it holds the whole plan: every stage and step of the file */
    json_t *fs = json_object_get(plan, "stages"), *es = json_object_get(first, "stages");
    assert_int_equal(json_array_size(fs), json_array_size(es));
    for (size_t i = 0; i < json_array_size(fs); i++)
        assert_int_equal(json_array_size(json_object_get(json_array_get(fs, i), "steps")),
                         json_array_size(json_object_get(json_array_get(es, i), "steps")));
    static const char *const same[] = {"title",    "owner_team", "teams",    "dashboards",
                                       "switches", "rules",      "rollback", "description"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (json_object_get(plan, same[i]) != json_object_get(first, same[i]) &&
            !json_equal(json_object_get(plan, same[i]), json_object_get(first, same[i])))
            fail_msg("%s: %s differs in the export", file, same[i]);
    json_decref(copy);
    json_decref(first);
    json_decref(second);
    json_decref(plan);
    fix_close(f);
}

static void msk_example_round_trips(void **state)
{
    (void)state;
    round_trip("examples/msk-cluster-replacement.json", "msk-again");
}

static void dynamodb_example_round_trips(void **state)
{
    (void)state;
    round_trip("examples/mysql-to-dynamodb.json", "dynamo-again");
    /* the step fields of the cutover survive: a switch step and a verification */
    fixture *f = setup_examples();
    json_t *plan = load("examples/mysql-to-dynamodb.json");
    json_decref(create_ok(f, plan));
    json_t *out = export_ok(f, "mysql-to-dynamodb");
    json_t *reads = json_array_get(json_object_get(out, "stages"), 1);
    json_t *step = json_array_get(json_object_get(reads, "steps"), 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(step, "switch"), "name")),
                        "reads");
    assert_true(json_is_true(json_object_get(step, "critical")));
    json_t *writes = json_array_get(json_object_get(out, "stages"), 2);
    assert_int_equal(json_array_size(json_object_get(writes, "signoffs")), 2);
    json_decref(out);
    json_decref(plan);
    fix_close(f);
}

static void export_of_unknown_migration_is_not_found(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(plan_export(f->st, &ctx, "nope", &out), FD_E_NOT_FOUND);
    assert_null(out);
    fd_problem_clear(&ctx.problem);
    fix_close(f);
}

/* ---- templates ---- */

static json_t *tpl_call(fixture *f, const fd_actor *who, fd_err want, const char *tid,
                        const char *body_text, int instantiate)
{
    fd_ctx ctx;
    json_t *body = fix_json(body_text), *out = NULL;
    fd_ctx_init(&ctx, who, NULL);
    fd_err e = instantiate ? template_instantiate(f->st, &ctx, tid, body, &out)
                           : template_create(f->st, &ctx, body, &out);
    if (e != want)
        fail_msg("template call: got %s (%s at %s), want %s", fd_err_name(e), ctx.problem.detail,
                 ctx.problem.field, fd_err_name(want));
    json_decref(body);
    fd_problem_clear(&ctx.problem);
    return out;
}

static int audit_has(fixture *f, const char *action, const char *migration)
{
    size_t i;
    json_t *ev;
    json_array_foreach(f->events, i, ev)
    {
        const char *m = json_string_value(json_object_get(ev, "migration"));
        if (strcmp(json_string_value(json_object_get(ev, "action")), action) == 0 &&
            ((migration == NULL && m == NULL) || (migration && m && strcmp(m, migration) == 0)))
            return 1;
    }
    return 0;
}

/* A second migration starts from the first one's checklists: template from a migration, then
 * a new draft with its own id, title and window. */
static void template_from_migration_then_instantiate(void **state)
{
    (void)state;
    fixture *f = setup_examples();
    json_t *plan = load("examples/mysql-to-dynamodb.json");
    json_decref(create_ok(f, plan));

    json_t *tpl =
        tpl_call(f, &f->lead, FD_OK, NULL,
                 "{\"id\":\"dual-write-cutover\",\"from_migration\":\"mysql-to-dynamodb\","
                 " \"description\":\"reads, then writes, behind two flags\"}",
                 0);
    assert_string_equal(json_string_value(json_object_get(tpl, "title")),
                        json_string_value(json_object_get(plan, "title")));
    json_t *tp = json_object_get(tpl, "plan");
    assert_null(json_object_get(tp, "id"));
    assert_null(json_object_get(tp, "window"));
    assert_int_equal(json_array_size(json_object_get(tp, "switches")), 2);
    assert_true(audit_has(f, "template.create", NULL));
    json_decref(tpl);

    json_t *m = tpl_call(f, &f->lead, FD_OK, "dual-write-cutover",
                         "{\"id\":\"accounts-to-dynamodb\",\"title\":\"Accounts to DynamoDB\","
                         " \"window\":{\"start\":\"2026-06-01T08:00:00Z\","
                         "            \"end\":\"2026-06-02T08:00:00Z\"}}",
                         1);
    assert_string_equal(json_string_value(json_object_get(m, "id")), "accounts-to-dynamodb");
    assert_string_equal(json_string_value(json_object_get(m, "title")), "Accounts to DynamoDB");
    assert_string_equal(json_string_value(json_object_get(m, "status")), "draft");
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "window"), "start")),
                        "2026-06-01T08:00:00.000Z");
    assert_int_equal(json_array_size(json_object_get(m, "switches")), 2);
    assert_true(audit_has(f, "migration.create", "accounts-to-dynamodb"));
    assert_true(audit_has(f, "template.instantiate", "accounts-to-dynamodb"));
    /* the same checklists: the exports are equal but for id, title and window */
    json_t *a = export_ok(f, "mysql-to-dynamodb"), *b = export_ok(f, "accounts-to-dynamodb");
    static const char *const own[] = {"id", "title", "window"};
    for (size_t i = 0; i < 3; i++) {
        json_object_del(a, own[i]);
        json_object_del(b, own[i]);
    }
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(m);

    /* its id is its own: instantiating again under the same id is refused */
    json_decref(tpl_call(f, &f->lead, FD_E_EXISTS, "dual-write-cutover",
                         "{\"id\":\"accounts-to-dynamodb\",\"title\":\"Again\"}", 1));
    json_decref(plan);
    fix_close(f);
}

static void template_from_plan_and_refusals(void **state)
{
    (void)state;
    fixture *f = setup_examples();
    const char *good = "{\"id\":\"small\",\"title\":\"Small change\",\"plan\":{"
                       "\"owner_team\":\"sre\",\"stages\":[{\"key\":\"do\",\"title\":\"Do\","
                       "\"steps\":[{\"title\":\"Change it\"}]}]}}";
    json_decref(tpl_call(f, &f->alice, FD_E_FORBIDDEN, NULL, good, 0));
    json_decref(tpl_call(f, &f->lead, FD_OK, NULL, good, 0));
    json_decref(tpl_call(f, &f->lead, FD_E_EXISTS, NULL, good, 0));
    /* a template's plan leaves id and window to each migration */
    fd_ctx ctx;
    json_t *body = fix_json("{\"id\":\"t2\",\"title\":\"T\",\"plan\":{\"id\":\"x\","
                            "\"owner_team\":\"sre\"}}"),
           *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(template_create(f->st, &ctx, body, &out), FD_E_INVALID);
    assert_string_equal(ctx.problem.field, "plan.id");
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    /* the plan is checked like any plan, its errors under "plan." */
    body = fix_json("{\"id\":\"t3\",\"title\":\"T\",\"plan\":{\"owner_team\":\"nobody\"}}");
    assert_int_equal(template_create(f->st, &ctx, body, &out), FD_E_INVALID);
    assert_string_equal(ctx.problem.field, "plan.owner_team");
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    /* exactly one of plan and from_migration */
    json_decref(tpl_call(f, &f->lead, FD_E_INVALID, NULL, "{\"id\":\"t4\",\"title\":\"T\"}", 0));
    json_decref(tpl_call(f, &f->lead, FD_E_INVALID, NULL,
                         "{\"id\":\"t5\",\"from_migration\":\"nope\"}", 0));

    /* list (without plans), get, instantiate, delete */
    json_t *page = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    assert_int_equal(template_list(f->st, &ctx, NULL, 50, &page), FD_OK);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    assert_null(json_object_get(json_array_get(json_object_get(page, "items"), 0), "plan"));
    json_decref(page);
    json_t *m =
        tpl_call(f, &f->lead, FD_OK, "small", "{\"id\":\"small-1\",\"title\":\"First\"}", 1);
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps")),
        1);
    json_decref(m);
    json_decref(
        tpl_call(f, &f->lead, FD_E_NOT_FOUND, "ghost", "{\"id\":\"g\",\"title\":\"G\"}", 1));
    fd_ctx_init(&ctx, &f->alice, NULL);
    assert_int_equal(template_delete(f->st, &ctx, "small"), FD_E_FORBIDDEN);
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(template_delete(f->st, &ctx, "small"), FD_OK);
    assert_true(audit_has(f, "template.delete", NULL));
    assert_int_equal(template_get(f->st, &ctx, "small", &out), FD_E_NOT_FOUND);
    fd_problem_clear(&ctx.problem);
    /* the migration made from it stays */
    assert_int_equal(flight_get(f->st, &ctx, "small-1", &out), FD_OK);
    json_decref(out);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lint_reports_every_error_with_its_path),
        cmocka_unit_test(lint_passes_both_examples),
        cmocka_unit_test(create_refuses_with_the_first_lint_error),
        cmocka_unit_test(schema_and_validator_agree),
        cmocka_unit_test(msk_example_round_trips),
        cmocka_unit_test(dynamodb_example_round_trips),
        cmocka_unit_test(export_of_unknown_migration_is_not_found),
        cmocka_unit_test(template_from_migration_then_instantiate),
        cmocka_unit_test(template_from_plan_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
