/* test_team.c - teams: admins manage them, everyone reads them, every change is recorded. */
#include "core_fixture.h"

static json_t *create(fixture *f, const fd_actor *who, const char *body, fd_err want,
                      fd_ctx *ctx_out)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, who, "req-1");
    json_t *b = fix_json(body), *out = NULL;
    fd_err e = team_create(f->st, &ctx, b, &out);
    if (e != want)
        fail_msg("team_create %s: got %s (%s), want %s", body, fd_err_name(e), ctx.problem.detail,
                 fd_err_name(want));
    json_decref(b);
    if (ctx_out != NULL)
        *ctx_out = ctx;
    else
        fd_problem_clear(&ctx.problem);
    return out;
}

static void admin_creates_a_team(void **state)
{
    (void)state;
    fixture *f = fix_open();
    json_t *t = create(f, &f->admin,
                       "{\"slug\":\"data-stream\",\"name\":\"Data Stream\",\"channel\":\"#ds\"}",
                       FD_OK, NULL);
    json_t *want = fix_json("{\"slug\":\"data-stream\",\"name\":\"Data Stream\",\"channel\":"
                            "\"#ds\",\"created_at\":\"2026-03-10T19:00:00.000Z\",\"version\":1}");
    assert_true(json_equal(t, want));
    json_decref(want);
    /* and it is audited in the global chain, delivered after commit */
    assert_int_equal(json_array_size(f->events), 1);
    json_t *ev = fix_json(json_string_value(json_object_get(json_array_get(f->events, 0), "json")));
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "team.create");
    assert_true(json_is_null(json_object_get(ev, "migration")));
    assert_string_equal(json_string_value(json_object_get(ev, "target")), "teams/data-stream");
    assert_string_equal(json_string_value(json_object_get(ev, "request_id")), "req-1");
    assert_true(json_equal(json_object_get(ev, "after"), t));
    json_decref(ev);
    json_decref(t);
    fix_close(f);
}

static void only_admins_create(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fd_ctx ctx;
    create(f, &f->lead, "{\"slug\":\"sre\",\"name\":\"SRE\"}", FD_E_FORBIDDEN, &ctx);
    assert_non_null(strstr(ctx.problem.detail, "only an admin"));
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *t = NULL;
    assert_int_equal(team_get(f->st, &ctx, "sre", &t), FD_E_NOT_FOUND);
    fd_problem_clear(&ctx.problem);
    assert_int_equal(audit_last_seq(f->st), 0); /* a refusal leaves no trace */
    assert_int_equal(json_array_size(f->events), 0);
    fix_close(f);
}

static void bad_bodies_name_the_field(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fd_ctx ctx;
    create(f, &f->admin, "{\"slug\":\"Bad Slug\",\"name\":\"X\"}", FD_E_INVALID, &ctx);
    assert_string_equal(ctx.problem.field, "slug");
    fd_problem_clear(&ctx.problem);
    create(f, &f->admin, "{\"slug\":\"ok\",\"name\":\"X\",\"colour\":\"red\"}", FD_E_UNKNOWN_FIELD,
           &ctx);
    assert_string_equal(ctx.problem.field, "colour");
    fd_problem_clear(&ctx.problem);
    create(f, &f->admin, "{\"slug\":\"ok\"}", FD_E_INVALID, &ctx);
    assert_string_equal(ctx.problem.field, "name");
    fd_problem_clear(&ctx.problem);
    json_decref(create(f, &f->admin, "{\"slug\":\"ok\",\"name\":\"X\"}", FD_OK, NULL));
    create(f, &f->admin, "{\"slug\":\"ok\",\"name\":\"Y\"}", FD_E_EXISTS, &ctx);
    assert_string_equal(ctx.problem.field, "slug");
    fd_problem_clear(&ctx.problem);
    assert_int_equal(audit_last_seq(f->st), 1);
    fix_close(f);
}

static void patch_changes_and_audits(void **state)
{
    (void)state;
    fixture *f = fix_open();
    json_decref(create(f, &f->admin, "{\"slug\":\"sre\",\"name\":\"SRE\",\"channel\":\"#sre\"}",
                       FD_OK, NULL));
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    ctx.if_match = 1;
    json_t *body = fix_json("{\"name\":\"Site Reliability\",\"channel\":null}"), *t = NULL;
    assert_int_equal(team_patch(f->st, &ctx, "sre", body, &t), FD_OK);
    assert_string_equal(json_string_value(json_object_get(t, "name")), "Site Reliability");
    assert_true(json_is_null(json_object_get(t, "channel")));
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 2);
    json_decref(t);

    json_t *ev = fix_json(json_string_value(json_object_get(json_array_get(f->events, 1), "json")));
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "team.update");
    json_t *want_before = fix_json("{\"name\":\"SRE\",\"channel\":\"#sre\"}");
    json_t *want_after = fix_json("{\"name\":\"Site Reliability\",\"channel\":null}");
    assert_true(json_equal(json_object_get(ev, "before"), want_before));
    assert_true(json_equal(json_object_get(ev, "after"), want_after));
    json_decref(want_before);
    json_decref(want_after);
    json_decref(ev);

    /* the same If-Match again is stale now */
    assert_int_equal(team_patch(f->st, &ctx, "sre", body, &t), FD_E_STALE);
    assert_int_equal(json_integer_value(json_object_get(ctx.problem.extra, "current_version")), 2);
    fd_problem_clear(&ctx.problem);
    /* a patch that changes nothing writes nothing */
    ctx.if_match = -1;
    assert_int_equal(team_patch(f->st, &ctx, "sre", body, &t), FD_OK);
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 2);
    json_decref(t);
    assert_int_equal(audit_last_seq(f->st), 2);
    /* unknown team, wrong role */
    assert_int_equal(team_patch(f->st, &ctx, "nope", body, &t), FD_E_NOT_FOUND);
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->lead, NULL);
    assert_int_equal(team_patch(f->st, &ctx, "sre", body, &t), FD_E_FORBIDDEN);
    fd_problem_clear(&ctx.problem);
    json_decref(body);
    fix_close(f);
}

static void list_pages_by_slug(void **state)
{
    (void)state;
    fixture *f = fix_open();
    const char *slugs[] = {"e", "a", "d", "b", "c"};
    for (int i = 0; i < 5; i++)
        fix_team(f, slugs[i], slugs[i]);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *page = NULL;
    const char *cursor = NULL;
    char seen[16] = "";
    int pages = 0;
    char cur[FD_SLUG_MAX + 1];
    do {
        assert_int_equal(team_list(f->st, &ctx, cursor, 2, &page), FD_OK);
        json_t *items = json_object_get(page, "items");
        assert_true(json_array_size(items) <= 2);
        size_t i;
        json_t *t;
        json_array_foreach(items, i, t) strcat(seen, json_string_value(json_object_get(t, "slug")));
        json_t *next = json_object_get(page, "next_cursor");
        cursor = NULL;
        if (json_is_string(next)) {
            snprintf(cur, sizeof cur, "%s", json_string_value(next));
            cursor = cur;
        }
        json_decref(page);
        pages++;
    } while (cursor != NULL);
    assert_string_equal(seen, "abcde");
    assert_int_equal(pages, 3);
    /* exactly a full last page still ends with a null cursor */
    assert_int_equal(team_list(f->st, &ctx, NULL, 5, &page), FD_OK);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);
    assert_int_equal(team_list(f->st, &ctx, NULL, 0, &page), FD_E_INVALID);
    assert_string_equal(ctx.problem.field, "limit");
    assert_int_equal(team_list(f->st, &ctx, NULL, 201, &page), FD_E_INVALID);
    fd_problem_clear(&ctx.problem);
    fix_close(f);
}

static void idempotent_create(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    ctx.idem_key = "k1";
    ctx.request_hash = "h1";
    json_t *b = fix_json("{\"slug\":\"sre\",\"name\":\"SRE\"}"), *first = NULL, *again = NULL;
    assert_int_equal(team_create(f->st, &ctx, b, &first), FD_OK);
    assert_int_equal(ctx.replayed, 0);
    f->now += 60000;
    assert_int_equal(team_create(f->st, &ctx, b, &again), FD_OK); /* not EXISTS: a replay */
    assert_int_equal(ctx.replayed, 1);
    assert_true(json_equal(first, again));
    assert_int_equal(audit_last_seq(f->st), 1);
    json_decref(again);
    ctx.request_hash = "h2";
    assert_int_equal(team_create(f->st, &ctx, b, &again), FD_E_IDEM_MISMATCH);
    fd_problem_clear(&ctx.problem);
    /* keys belong to a caller: the same key from someone else is a new request */
    fd_ctx other;
    fd_ctx_init(&other, &f->lead, NULL);
    other.idem_key = "k1";
    other.request_hash = "h1";
    assert_int_equal(team_create(f->st, &other, b, &again), FD_E_FORBIDDEN);
    fd_problem_clear(&other.problem);
    json_decref(first);
    json_decref(b);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admin_creates_a_team),      cmocka_unit_test(only_admins_create),
        cmocka_unit_test(bad_bodies_name_the_field), cmocka_unit_test(patch_changes_and_audits),
        cmocka_unit_test(list_pages_by_slug),        cmocka_unit_test(idempotent_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
