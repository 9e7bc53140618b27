/*
 * test_report.c - after landing: the flight report (HTML a reviewer reads and prints) and the
 * archive (one JSON document that verifies offline), for a migration flown from draft to closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatops_fixture.h"
#include "core/archive.h"
#include "core/report.h"

static const char *const HOSTILE_PLAN =
    "{\"id\":\"msk\",\"title\":\"MSK <b>bold</b> & co\",\"owner_team\":\"data-stream\","
    "\"description\":\"Replace it\",\"window\":{\"start\":\"2026-03-10T19:00:00Z\","
    "\"end\":\"2026-03-10T23:00:00Z\"},\"stages\":["
    " {\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "   {\"title\":\"<script>alert(1)</script>\",\"expected_minutes\":5},"
    "   {\"title\":\"Freeze deploys\",\"expected_minutes\":10}]},"
    " {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Switch consumers\"}]}"
    "]}";

typedef struct flown {
    fixture *f;
    int64_t s0, s1, s2;
} flown;

static void act(fixture *f, const fd_actor *who, int64_t sid, fd_step_action a, const char *text)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, who, NULL);
    CX_EXPECT(FD_OK, ctx, flight_step_action(f->st, &ctx, "msk", sid, a, text, &out));
    json_decref(out);
}

static void complete(fixture *f, const char *stage)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    CX_EXPECT(FD_OK, ctx, flight_complete_stage(f->st, &ctx, "msk", stage, &out));
    json_decref(out);
}

/* The hostile plan, flown to closed: alice ticks with a note, bob skips with a reason. */
static int setup(void **state)
{
    flown *x = calloc(1, sizeof *x);
    fixture *f = fix_open();
    x->f = f;
    fix_team(f, "data-stream", "Data Stream");
    fd_ctx ctx;
    json_t *plan = fix_json(HOSTILE_PLAN), *m = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    CX_EXPECT(FD_OK, ctx, flight_create(f->st, &ctx, plan, &m));
    json_decref(plan);
    json_decref(m);
    f->now += 60000;
    CX_EXPECT(FD_OK, ctx, flight_start(f->st, &ctx, "msk", &m));
    json_decref(m);
    x->s0 = cx_step(f, 0, 0);
    x->s1 = cx_step(f, 0, 1);
    x->s2 = cx_step(f, 1, 0);
    f->now += 6 * 60000;
    act(f, &f->alice, x->s0, FD_STEP_TICK, "done, \"quoted\" <i>note</i>");
    f->now += 60000;
    act(f, &f->bob, x->s1, FD_STEP_SKIP, "deploys were frozen already <b>");
    f->now += 60000;
    complete(f, "takeoff");
    f->now += 60000;
    act(f, &f->alice, x->s2, FD_STEP_TICK, NULL);
    complete(f, "landing");
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    flown *x = *state;
    fix_close(x->f);
    free(x);
    return 0;
}

static char *report(fixture *f)
{
    fd_buf b = {0};
    assert_int_equal(report_html(f->st, "msk", &b), FD_OK);
    return b.data;
}

static void report_shows_steps_who_and_skips(void **state)
{
    flown *x = *state;
    char *html = report(x->f);
    char id[32];
    CX_CONTAINS(html, "<!DOCTYPE html>");
    CX_CONTAINS(html, "@media print");
    CX_CONTAINS(html, "<h2>Plan</h2>");
    CX_CONTAINS(html, "2026-03-10T19:00:00.000Z"); /* the planned window */
    snprintf(id, sizeof id, "<td>#%lld</td>", (long long)x->s1);
    CX_CONTAINS(html, id);
    CX_CONTAINS(html, "Freeze deploys");
    CX_CONTAINS(html, "<td>Alice</td>");
    CX_CONTAINS(html, "<td>Bob</td>");
    CX_CONTAINS(html, "<h2>Skipped steps</h2>");
    CX_CONTAINS(html, "deploys were frozen already &lt;b&gt;");
    CX_CONTAINS(html, "class=\"status-skipped\"");
    /* planned 15 min for take-off (5 + 10), actual from started to completed: 8 min */
    CX_CONTAINS(html, "<td>15 min</td>");
    CX_CONTAINS(html, "<td>8.0 min</td>");
    CX_CONTAINS(html, "<h2>Flight recorder timeline</h2>");
    CX_CONTAINS(html, "<td>stage.complete</td>");
    CX_CONTAINS(html, "The audit chain is intact");
    CX_CONTAINS(html, "No go-around was called.");
    free(html);
}

static void report_escapes_every_user_text(void **state)
{
    flown *x = *state;
    char *html = report(x->f);
    CX_LACKS(html, "<script>");
    CX_LACKS(html, "<b>bold</b>");
    CX_LACKS(html, "<i>note</i>");
    CX_CONTAINS(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    CX_CONTAINS(html, "<title>Flight report: MSK &lt;b&gt;bold&lt;/b&gt; &amp; co</title>");
    CX_CONTAINS(html, "done, &quot;quoted&quot; &lt;i&gt;note&lt;/i&gt;");
    free(html);
    fd_buf b = {0};
    assert_int_equal(report_html(x->f->st, "nope", &b), FD_E_NOT_FOUND);
    fd_buf_free(&b);
}

/* The archive written in small chunks, as the stream would, then parsed. */
static json_t *archive(fixture *f, size_t chunk, int *chunks)
{
    archive_cursor cur;
    fd_buf b = {0};
    int done = 0;
    *chunks = 0;
    assert_int_equal(archive_open(f->st, "msk", &cur), FD_OK);
    while (!done) {
        size_t before = b.len;
        assert_int_equal(archive_chunk(f->st, &cur, &b, chunk, &done), FD_OK);
        assert_true(b.len > before || done);
        (*chunks)++;
    }
    json_t *doc = fix_json(b.data);
    fd_buf_free(&b);
    return doc;
}

static void archive_holds_plan_and_every_event_and_verifies(void **state)
{
    flown *x = *state;
    int chunks = 0;
    json_t *doc = archive(x->f, 200, &chunks);
    assert_true(chunks > 2); /* really streamed in pieces */
    assert_string_equal(json_string_value(json_object_get(doc, "format")), "flightdeck-archive/1");
    json_t *m = json_object_get(doc, "migration");
    assert_string_equal(json_string_value(json_object_get(m, "status")), "closed");
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps")),
        2);
    /* every event of the migration, and only those */
    size_t mine = 0, i;
    json_t *ev;
    json_array_foreach(x->f->events, i, ev)
    {
        const char *mig = json_string_value(json_object_get(ev, "migration"));
        mine += mig != NULL && strcmp(mig, "msk") == 0;
    }
    json_t *events = json_object_get(doc, "events");
    assert_int_equal(json_array_size(events), mine);
    assert_true(json_is_true(json_object_get(json_object_get(doc, "verification"), "ok")));

    json_t *v = NULL;
    assert_int_equal(archive_verify(doc, &v), FD_OK);
    if (!json_is_true(json_object_get(v, "ok"))) {
        char *t = json_dumps(v, 0);
        fail_msg("archive does not verify: %s", t);
    }
    json_decref(v);
    json_decref(doc);
}

static void tampered_archives_fail(void **state)
{
    flown *x = *state;
    int chunks;
    json_t *v = NULL;

    /* a reason rewritten after the fact */
    json_t *doc = archive(x->f, 1 << 16, &chunks);
    json_t *events = json_object_get(doc, "events");
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "action")), "step.skip") == 0)
            json_object_set_new(ev, "note", json_string("it was fine"));
    }
    assert_int_equal(archive_verify(doc, &v), FD_OK);
    assert_false(json_is_true(json_object_get(v, "ok")));
    char *t = json_dumps(v, 0);
    CX_CONTAINS(t, "hash mismatch");
    CX_CONTAINS(t, "the hash chain is broken");
    free(t);
    json_decref(v);
    json_decref(doc);

    /* the last events cut off: the chain of what is left verifies, the record says otherwise */
    doc = archive(x->f, 1 << 16, &chunks);
    events = json_object_get(doc, "events");
    json_array_remove(events, json_array_size(events) - 1);
    assert_int_equal(archive_verify(doc, &v), FD_OK);
    assert_false(json_is_true(json_object_get(v, "ok")));
    assert_true(json_is_true(json_object_get(json_object_get(v, "chain"), "ok")));
    t = json_dumps(v, 0);
    CX_CONTAINS(t, "events removed or added");
    free(t);
    json_decref(v);
    json_decref(doc);

    /* not an archive at all */
    json_t *junk = fix_json("{\"format\":\"x\"}");
    assert_int_equal(archive_verify(junk, &v), FD_E_BAD_REQUEST);
    json_decref(junk);

    archive_cursor cur;
    assert_int_equal(archive_open(x->f->st, "nope", &cur), FD_E_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(report_shows_steps_who_and_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(report_escapes_every_user_text, setup, teardown),
        cmocka_unit_test_setup_teardown(archive_holds_plan_and_every_event_and_verifies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tampered_archives_fail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
