/* test_step_row.c - the step actions write the Step document as text straight from a row
 * (core/store_step_row.h) instead of building it with jansson. That text is the answer of every
 * tick and the before/after of its audit event, so it must be byte for byte what jansson writes
 * of store_step_doc's tree: in document order (json_dumps(doc, JSON_COMPACT)) and with keys
 * sorted (JSON_SORT_KEYS, the audit's canonical form). Steps of every shape are compared here:
 * nulls everywhere, text that needs escaping, non-ASCII, both people, switches, odd integers.
 *
 * The rows are edited with sqlite3 directly (a second connection to the same file), since the
 * rules would never write most of these shapes. */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "core_fixture.h"
#include "core/flight.h"
#include "core/json_out.h"
#include "core/store_internal.h"
#include "core/store_step_row.h"

#define MID "msk"

static const char *const PLAN =
    "{\"id\":\"msk\",\"title\":\"Replace the MSK cluster\",\"owner_team\":\"data-stream\","
    " \"teams\":[\"sre\"],"
    " \"stages\":["
    "  {\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "    {\"title\":\"Create msk-v2\",\"owner_team\":\"sre\",\"expected_minutes\":30},"
    "    {\"title\":\"Mirror topics\",\"command\":\"mm2 start\",\"critical\":true},"
    "    {\"title\":\"Third\"}, {\"title\":\"Fourth\"}, {\"title\":\"Fifth\"},"
    "    {\"title\":\"Sixth\"}, {\"title\":\"Seventh\"}]},"
    "  {\"key\":\"landing\",\"title\":\"Landing\",\"steps\":[{\"title\":\"Move consumers\"}]}"
    "]}";

/* How rows are bent into the shapes under test (steps are numbered 1.. in plan order). */
static const char *const SHAPES[] = {
    /* 1: as planned, with the plan's owner and minutes; 2: critical, with a command */
    /* 3: every text with something to escape or beyond ASCII; by without a name */
    "UPDATE steps SET title = 'Tab\there \"quoted\" back\\slash /slash \x01\x1f\x7f',"
    " details = 'Ünïcødé ✓ 😀 中文', owner_team = 'sre', command = 'a\nb\rc\bd\fe',"
    " link = 'https://example.com/?a=1&b=<2>', expected_minutes = 0, critical = 1,"
    " status = 'awaiting_confirmation', by_sub = 'bob', by_name = NULL, at = 0,"
    " note = '', version = 7 WHERE id = 3",
    /* 4: both people, confirmed, a switch with both halves, a time before 1970 */
    "UPDATE steps SET status = 'done', by_sub = 'alice', by_name = 'Alice A.',"
    " at = -86400001, note = 'n', confirmed_by_sub = 'bob', confirmed_by_name = 'Bob B.',"
    " confirmed_at = 1773169200123, confirm_note = 'checked ✓', switch_name = 'traffic',"
    " switch_position = 'v2', verifies = 'traffic', expected_minutes = 10080,"
    " version = 9007199254740993 WHERE id = 4",
    /* 5: a switch without its position, a confirmer without a name, huge and negative ints */
    "UPDATE steps SET switch_name = 'flag', switch_position = NULL, confirmed_by_sub = 'x',"
    " confirmed_by_name = NULL, expected_minutes = -9223372036854775808, status = 'skipped',"
    " at = 253402300799999 WHERE id = 5",
    /* 6: the far future past what four year digits show (clamped the same either way) */
    "UPDATE steps SET status = 'failed', by_sub = 'vic', by_name = 'Vic', at = 999999999999999,"
    " note = 'x' WHERE id = 6",
    /* 7: a number stored in a text column, and text that needs no escaping at all */
    "UPDATE steps SET title = 42, details = 'plain', verifies = 'v' WHERE id = 7",
};

typedef struct world {
    fixture *f;
    char path[64];
    int64_t first; /* id of the plan's first step */
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    snprintf(w->path, sizeof w->path, "/tmp/fd-step-row-XXXXXX");
    int fd = mkstemp(w->path);
    assert_true(fd >= 0);
    close(fd);
    w->f = fix_open_path(w->path);
    fix_team(w->f, "data-stream", "Data Stream");
    fix_team(w->f, "sre", "Site Reliability");
    fd_ctx ctx;
    fd_ctx_init(&ctx, &w->f->lead, NULL);
    json_t *plan = fix_json(PLAN), *m = NULL;
    assert_int_equal(flight_create(w->f->st, &ctx, plan, &m), FD_OK);
    json_decref(m);
    assert_int_equal(flight_start(w->f->st, &ctx, MID, &m), FD_OK);
    json_t *g = json_array_get(json_object_get(m, "stages"), 0);
    w->first =
        json_integer_value(json_object_get(json_array_get(json_object_get(g, "steps"), 0), "id"));
    json_decref(m);
    json_decref(plan);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    fix_close(w->f);
    unlink(w->path);
    char more[80];
    snprintf(more, sizeof more, "%s-wal", w->path);
    unlink(more);
    snprintf(more, sizeof more, "%s-shm", w->path);
    unlink(more);
    free(w);
    return 0;
}

/* Bend the rows with a second connection, as the file's owner could. */
static void shape_rows(world *w)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(w->path, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, SHAPES[i], NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fail_msg("shape %zu: %s", i, msg ? msg : "?");
        assert_int_equal(sqlite3_changes(db), 1);
    }
    sqlite3_close(db);
}

/* The row's two texts against jansson's dumps of the document. */
static void same_as_jansson(const store_step_row *row, const json_t *doc)
{
    char *plain = json_dumps(doc, JSON_COMPACT),
         *sorted = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(plain);
    assert_non_null(sorted);
    fd_buf b = {0};
    assert_int_equal(store_step_row_json(&b, row, 0), 0);
    assert_string_equal(b.data, plain);
    fd_buf_reset(&b);
    assert_int_equal(store_step_row_json(&b, row, 1), 0);
    assert_string_equal(b.data, sorted);
    /* and the tree made from the row is the tree store_step_doc made */
    json_t *again = store_step_row_doc(row);
    assert_non_null(again);
    char *again_text = json_dumps(again, JSON_COMPACT);
    assert_string_equal(again_text, plain);
    free(again_text);
    json_decref(again);
    fd_buf_free(&b);
    free(plain);
    free(sorted);
}

/* Every shape, read as a row, writes what jansson writes of store_step_doc. */
static void rows_write_what_jansson_writes(void **state)
{
    world *w = *state;
    shape_rows(w);
    for (int64_t sid = w->first; sid < w->first + 8; sid++) {
        json_t *doc = NULL;
        store_step_row row;
        fd_mig_head h;
        assert_int_equal(store_step_doc(w->f->st, MID, sid, &doc), FD_OK);
        assert_int_equal(store_step_row_read(w->f->st, MID, sid, &row, &h), FD_OK);
        assert_string_equal(h.id, MID);
        assert_string_equal(h.status, "in_flight");
        assert_string_equal(h.current_stage, "takeoff");
        same_as_jansson(&row, doc);
        store_step_row_free(&row);
        json_decref(doc);
    }
    /* a step of another migration, or none: not found, and the row is safe to free */
    store_step_row row;
    fd_mig_head h;
    assert_int_equal(store_step_row_read(w->f->st, "nope", w->first, &row, &h), FD_E_NOT_FOUND);
    store_step_row_free(&row);
    assert_int_equal(store_step_row_read(w->f->st, MID, 99999, &row, &h), FD_E_NOT_FOUND);
    store_step_row_free(&row);
}

/* The row derived after a status change writes what a fresh read after that change writes. */
static void after_status_is_the_stored_step(void **state)
{
    world *w = *state;
    shape_rows(w);
    static const char *const notes[] = {NULL, "done \"now\" ✓"};
    for (int64_t sid = w->first; sid < w->first + 8; sid++) {
        store_step_row old, now_row;
        fd_mig_head h;
        assert_int_equal(store_step_row_read(w->f->st, MID, sid, &old, &h), FD_OK);
        const char *note = notes[sid % 2];
        assert_int_equal(
            store_step_set_status(w->f->st, sid, "done", "alice", "Alice \\o/", FIX_T0 + sid, note),
            FD_OK);
        store_step_row_after_status(&old, "done", "alice", "Alice \\o/", FIX_T0 + sid, note,
                                    &now_row);
        json_t *doc = NULL;
        assert_int_equal(store_step_doc(w->f->st, MID, sid, &doc), FD_OK);
        same_as_jansson(&now_row, doc);
        json_decref(doc);
        store_step_row_free(&old);
    }
}

/* The text path of the API: the answer is a fresh read's json_out text, the version its ETag,
 * and an Idempotency-Key replays the same bytes with the same version. */
static void text_answer_is_a_fresh_read(void **state)
{
    world *w = *state;
    fixture *f = w->f;
    fd_ctx ctx;
    fd_buf answer = {0};
    int64_t version = 0;
    fd_ctx_init(&ctx, &f->alice, NULL);
    ctx.idem_key = "k-1";
    ctx.request_hash = "h-1";
    fd_buf_puts(&answer, "kept:"); /* the answer is appended: what was there stays */
    assert_int_equal(flight_step_action_text(f->st, &ctx, MID, w->first, FD_STEP_TICK,
                                             "with \"a\" note", &answer, &version),
                     FD_OK);
    assert_int_equal(ctx.replayed, 0);
    json_t *doc = NULL;
    assert_int_equal(store_step_doc(f->st, MID, w->first, &doc), FD_OK);
    char *fresh = json_out_dumps(doc, 0);
    assert_string_equal(answer.data + 5, fresh);
    assert_memory_equal(answer.data, "kept:", 5);
    assert_int_equal(version, json_integer_value(json_object_get(doc, "version")));
    json_decref(doc);

    /* the same key and request again: the stored bytes and the same version */
    fd_buf again = {0};
    int64_t version2 = 0;
    fd_ctx_init(&ctx, &f->alice, NULL);
    ctx.idem_key = "k-1";
    ctx.request_hash = "h-1";
    assert_int_equal(flight_step_action_text(f->st, &ctx, MID, w->first, FD_STEP_TICK,
                                             "with \"a\" note", &again, &version2),
                     FD_OK);
    assert_int_equal(ctx.replayed, 1);
    assert_string_equal(again.data, fresh);
    assert_int_equal(version2, version);
    free(fresh);

    /* a refusal leaves the buffer as it was and says who was first */
    fd_buf_reset(&again);
    fd_buf_puts(&again, "x");
    fd_ctx_init(&ctx, &f->bob, NULL);
    assert_int_equal(
        flight_step_action_text(f->st, &ctx, MID, w->first, FD_STEP_TICK, NULL, &again, &version2),
        FD_E_CONFLICT);
    assert_string_equal(again.data, "x");
    assert_non_null(strstr(ctx.problem.detail, "already ticked by Alice at 2026-03-10T19:00:00"));
    fd_problem_clear(&ctx.problem);

    /* what is missing is named: the migration first, then the step */
    fd_ctx_init(&ctx, &f->bob, NULL);
    assert_int_equal(flight_step_action_text(f->st, &ctx, "nope", w->first, FD_STEP_TICK, NULL,
                                             &again, &version2),
                     FD_E_NOT_FOUND);
    assert_string_equal(ctx.problem.detail, "no migration nope");
    fd_problem_clear(&ctx.problem);
    fd_ctx_init(&ctx, &f->bob, NULL);
    assert_int_equal(
        flight_step_action_text(f->st, &ctx, MID, 99999, FD_STEP_TICK, NULL, &again, &version2),
        FD_E_NOT_FOUND);
    assert_string_equal(ctx.problem.detail, "migration msk has no step 99999");
    fd_problem_clear(&ctx.problem);
    fd_buf_free(&answer);
    fd_buf_free(&again);
}

/* The audit event of an action holds the canonical before and after: jansson's sorted dumps of
 * the step before the change and of the step after it. */
static void event_holds_canonical_before_and_after(void **state)
{
    world *w = *state;
    fixture *f = w->f;
    shape_rows(w);
    int64_t sid = w->first + 3; /* shape 4: both people, a switch, a time before 1970 */
    json_t *before = NULL, *after = NULL, *out = NULL;
    assert_int_equal(store_step_doc(f->st, MID, sid, &before), FD_OK);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, "req-1");
    assert_int_equal(flight_step_action(f->st, &ctx, MID, sid, FD_STEP_UNTICK, "undo ✓", &out),
                     FD_OK);
    assert_int_equal(store_step_doc(f->st, MID, sid, &after), FD_OK);
    assert_true(json_equal(out, after));
    json_t *last = json_array_get(f->events, json_array_size(f->events) - 1);
    json_t *ev = fix_json(json_string_value(json_object_get(last, "json")));
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "step.untick");
    char *want_before = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
    char *want_after = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
    char *got_before = json_dumps(json_object_get(ev, "before"), JSON_COMPACT | JSON_SORT_KEYS);
    char *got_after = json_dumps(json_object_get(ev, "after"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got_before, want_before);
    assert_string_equal(got_after, want_after);
    /* and the stored text is itself canonical: jansson writes it back byte for byte */
    char *canon = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(canon, json_string_value(json_object_get(last, "json")));
    free(canon);
    free(want_before);
    free(want_after);
    free(got_before);
    free(got_after);
    json_decref(ev);
    json_decref(before);
    json_decref(after);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows_write_what_jansson_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(after_status_is_the_stored_step, setup, teardown),
        cmocka_unit_test_setup_teardown(text_answer_is_a_fresh_read, setup, teardown),
        cmocka_unit_test_setup_teardown(event_holds_canonical_before_and_after, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
