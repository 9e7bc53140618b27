/*
 * test_doc_cache.c - GET /api/migrations/{mid} (and .../steps/{sid}) answered from rendered
 * documents (api/doc_cache.h): after every kind of change a crew makes, and as the flight clock
 * runs, the cached answer is byte for byte what a freshly built document gives; a client holding
 * the current version gets 304 without a build; entries are bounded and dropped on demand.
 *
 * The handlers run in-process on a fake connection (fake_h2o.h), on a real store in memory with
 * a fake clock and a fake GitHub port (arming a rollback asks GitHub). No event sink drops entries
 * here: the stamp alone must keep the cache right.
 */
#include "core_fixture.h"

#include <stdlib.h>

#include "api/doc_cache.h"
#include "api/handlers.h"
#include "api/reply.h"
#include "core/flight.h"
#include "core/gates.h"
#include "core/rollback.h"
#include "fake_h2o.h"

#define MID "msk"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Two stages with timed steps (the clock shows in "timing"), a sign-off on landing. */
static const char PLAN[] =
    "{\"id\":\"msk\",\"title\":\"Replace the MSK cluster\",\"owner_team\":\"data-stream\","
    "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "{\"title\":\"Freeze deploys\",\"expected_minutes\":2},"
    "{\"title\":\"Drain producers\",\"expected_minutes\":3},"
    "{\"title\":\"Flip DNS\",\"expected_minutes\":1,\"critical\":true}]},"
    "{\"key\":\"landing\",\"title\":\"Landing\",\"signoffs\":[{\"team\":\"data-stream\"}],"
    "\"steps\":[{\"title\":\"Watch the six-pack\"}]}]}";

#define OK(call)                                                                                   \
    do {                                                                                           \
        fd_err got_ = (call);                                                                      \
        if (got_ != FD_OK)                                                                         \
            fail_msg("%s: %s (%s)", #call, fd_err_name(got_), ctx.problem.detail);                 \
        fd_problem_clear(&ctx.problem);                                                            \
    } while (0)

/* ---- a fake GitHub: jobs wait until the test answers them ---- */

static gh_job *queued;

static int fake_submit(void *arg, gh_job *job)
{
    (void)arg;
    if (queued != NULL)
        return -1;
    queued = job;
    return 0;
}

static fd_github fake_port = {fake_submit, NULL, 1};

static void set_reply(gh_reply *r, const char *json)
{
    json_decref(r->body);
    r->status = 200;
    r->body = fix_json(json);
}

/* Answer the queued check: an open, approved, green PR with head SHA_A. */
static void answer_healthy(void)
{
    gh_job *j = queued;
    assert_non_null(j);
    queued = NULL;
    set_reply(&j->pr, "{\"number\":42,\"state\":\"open\",\"merged\":false,\"mergeable\":true,"
                      "\"mergeable_state\":\"clean\",\"title\":\"Revert\","
                      "\"html_url\":\"https://github.com/acme/infra/pull/42\","
                      "\"head\":{\"sha\":\"" SHA_A "\"},\"merge_commit_sha\":null}");
    set_reply(&j->reviews, "[{\"user\":{\"login\":\"carol\"},\"state\":\"APPROVED\"}]");
    set_reply(&j->status, "{\"state\":\"success\",\"total_count\":1,\"statuses\":[{\"context\":"
                          "\"ci\",\"state\":\"success\"}]}");
    set_reply(&j->checks, "{\"total_count\":1,\"check_runs\":[{\"name\":\"t\",\"status\":"
                          "\"completed\",\"conclusion\":\"success\"}]}");
    j->done(j);
}

static void on_done(void *arg, fd_err e, fd_problem *p, json_t *doc)
{
    (void)p;
    *(fd_err *)arg = e;
    json_decref(doc);
}

/* ---- the fixture ---- */

static int setup(void **state)
{
    fixture *f = fix_open();
    fd_ports ports = {.clock = {fix_clock, f}, .events = {fix_sink, f}, .github = &fake_port};
    store_set_ports(f->st, &ports);
    queued = NULL;
    fix_team(f, "data-stream", "Data Stream");
    f->alice.nteams = 1;
    snprintf(f->alice.teams[0], sizeof f->alice.teams[0], "data-stream");
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = fix_json(PLAN), *m = NULL;
    OK(flight_create(f->st, &ctx, plan, &m));
    json_decref(plan);
    json_decref(m);
    api_doc_cache_enable(1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    api_doc_cache_enable(0); /* the next test has another store */
    fix_close(*state);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    fake_h2o_setup();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_h2o_teardown();
    return 0;
}

/* One GET through the handler as `actor`; the caller frees the connection. */
static fake_conn *get(fixture *f, const fd_actor *actor, int64_t sid, const char *if_none_match)
{
    char path[128];
    char sids[24];
    snprintf(sids, sizeof sids, "%lld", (long long)sid);
    if (sid > 0)
        snprintf(path, sizeof path, "/api/migrations/" MID "/steps/%s", sids);
    else
        snprintf(path, sizeof path, "/api/migrations/" MID);
    fake_conn *fc = fake_new("GET", path, NULL);
    if (if_none_match != NULL)
        fake_add_req_header(fc, "if-none-match", if_none_match);
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.st = f->st;
    c.actor = actor;
    c.request_id = "test-req";
    c.params[0] = MID;
    c.params[1] = sids;
    c.nparams = sid > 0 ? 2 : 1;
    fd_ctx_init(&c.ctx, actor, "test-req");
    if (sid > 0)
        api_step_get(&c);
    else
        api_migration_get(&c);
    assert_int_equal(fc->complete, 1);
    fd_problem_clear(&c.ctx.problem);
    return fc;
}

/* What a server without the cache sends for the document: built now, rendered. */
static char *fresh(fixture *f, int64_t sid)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *doc = NULL;
    if (sid > 0)
        OK(flight_get_step(f->st, &ctx, MID, sid, &doc));
    else
        OK(flight_get(f->st, &ctx, MID, &doc));
    size_t len = 0;
    char *text = api_json_render(doc, &len);
    assert_non_null(text);
    char *out = malloc(len + 1);
    memcpy(out, text, len);
    out[len] = '\0';
    h2o_mem_release_shared(text);
    json_decref(doc);
    return out;
}

static uint64_t hits(void)
{
    uint64_t h, m;
    api_doc_cache_stats(&h, &m);
    return h;
}

/* GET twice: both answers equal the fresh document, and the second came from the cache. */
static void expect_current(fixture *f, int64_t sid, const char *after)
{
    char *want = fresh(f, sid);
    fake_conn *a = get(f, &f->alice, sid, NULL);
    uint64_t before = hits();
    fake_conn *b = get(f, &f->viewer, sid, NULL);
    if (strcmp(a->body, want) != 0)
        fail_msg("after %s: the answer is not the current document:\n%s\nwant\n%s", after, a->body,
                 want);
    assert_string_equal(b->body, want); /* the same bytes for every caller */
    assert_int_equal(hits(), before + 1);
    assert_int_equal(a->req.res.status, 200);
    fake_free(a);
    fake_free(b);
    free(want);
}

/* The ids of the take-off steps, from the document. */
static void step_ids(fixture *f, int64_t ids[3], int64_t *landing)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *m = NULL;
    OK(flight_get(f->st, &ctx, MID, &m));
    json_t *stages = json_object_get(m, "stages");
    json_t *steps = json_object_get(json_array_get(stages, 0), "steps");
    for (size_t i = 0; i < 3; i++)
        ids[i] = json_integer_value(json_object_get(json_array_get(steps, i), "id"));
    steps = json_object_get(json_array_get(stages, 1), "steps");
    *landing = json_integer_value(json_object_get(json_array_get(steps, 0), "id"));
    json_decref(m);
}

/* ---- tests ---- */

/* Every kind of change, and the clock, shows in the next GET: the cache never answers with a
 * document older than the data. */
static void cached_document_follows_every_change(void **state)
{
    fixture *f = *state;
    fd_ctx ctx;
    json_t *out = NULL, *body = NULL;
    int64_t s[3], land;
    step_ids(f, s, &land);

    expect_current(f, 0, "create (draft)");
    expect_current(f, s[0], "create, a step");

    fd_ctx_init(&ctx, &f->lead, NULL);
    OK(flight_start(f->st, &ctx, MID, &out));
    json_decref(out);
    expect_current(f, 0, "start");

    fd_ctx_init(&ctx, &f->alice, NULL);
    OK(flight_step_action(f->st, &ctx, MID, s[0], FD_STEP_TICK, "done", &out));
    json_decref(out);
    expect_current(f, 0, "tick");
    expect_current(f, s[0], "tick, the step");

    OK(flight_step_action(f->st, &ctx, MID, s[0], FD_STEP_UNTICK, "oops", &out));
    json_decref(out);
    expect_current(f, 0, "untick");
    expect_current(f, s[0], "untick, the step");

    OK(flight_step_action(f->st, &ctx, MID, s[1], FD_STEP_SKIP, "not needed", &out));
    json_decref(out);
    expect_current(f, 0, "skip");

    OK(flight_step_action(f->st, &ctx, MID, s[2], FD_STEP_TICK, NULL, &out));
    json_decref(out);
    expect_current(f, 0, "tick of a critical step (awaiting confirmation)");
    fd_ctx_init(&ctx, &f->bob, NULL);
    OK(flight_confirm_step(f->st, &ctx, MID, s[2], "seen", &out));
    json_decref(out);
    expect_current(f, 0, "confirm");
    expect_current(f, s[2], "confirm, the step");

    /* the clock: elapsed minutes and overdue steps move with no change to the data */
    f->now += 30 * 1000;
    expect_current(f, 0, "30 s later");
    f->now += 150 * 1000;
    expect_current(f, 0, "3 min later (step 1 overdue)");
    f->now = FIX_T0 + 3 * 60 * 1000; /* exactly on a minute */
    expect_current(f, 0, "exactly 3 min after the start");
    f->now += 1;
    expect_current(f, 0, "a millisecond later");
    OK(flight_check_overdue(f->st, f->now + 10 * 60 * 1000));
    expect_current(f, 0, "the overdue sweep");

    fd_ctx_init(&ctx, &f->lead, NULL);
    body = fix_json("{\"title\":\"Check consumer lag\",\"expected_minutes\":4}");
    OK(flight_add_step(f->st, &ctx, MID, "takeoff", body, &out));
    int64_t added = json_integer_value(json_object_get(out, "id"));
    json_decref(body);
    json_decref(out);
    expect_current(f, 0, "add a step");
    body = fix_json("{\"title\":\"Freeze all deploys\"}");
    OK(flight_patch_step(f->st, &ctx, MID, s[0], body, &out));
    json_decref(body);
    json_decref(out);
    expect_current(f, 0, "edit a step");
    expect_current(f, s[0], "edit a step, the step");
    body = fix_json("{\"expected_minutes\":90}");
    OK(gates_stage_patch(f->st, &ctx, MID, "landing", body, &out));
    json_decref(body);
    json_decref(out);
    expect_current(f, 0, "patch a stage");

    fd_ctx_init(&ctx, &f->alice, NULL);
    body = fix_json("{\"team\":\"data-stream\",\"decision\":\"go\"}");
    OK(gates_signoff(f->st, &ctx, MID, "landing", body, &out));
    json_decref(body);
    json_decref(out);
    expect_current(f, 0, "sign-off");

    fd_ctx_init(&ctx, &f->lead, NULL);
    fd_err done = FD_E_INTERNAL;
    body = fix_json("{\"repo\":\"acme/infra\",\"pr\":42}");
    OK(rollback_arm(f->st, &ctx, MID, body, on_done, &done));
    json_decref(body);
    answer_healthy();
    assert_int_equal(done, FD_OK);
    expect_current(f, 0, "arming the rollback");

    fd_ctx_init(&ctx, &f->alice, NULL);
    OK(flight_step_action(f->st, &ctx, MID, s[0], FD_STEP_TICK, NULL, &out));
    json_decref(out);
    OK(flight_step_action(f->st, &ctx, MID, added, FD_STEP_SKIP, "later", &out));
    json_decref(out);
    fd_ctx_init(&ctx, &f->lead, NULL);
    OK(flight_complete_stage_override(f->st, &ctx, MID, "takeoff", "test", &out));
    json_decref(out);
    expect_current(f, 0, "complete take-off");
    expect_current(f, land, "complete take-off, a landing step");

    OK(flight_abort(f->st, &ctx, MID, "test over", &out));
    json_decref(out);
    expect_current(f, 0, "abort");
}

/* A client that has the current version gets 304 from the stamp alone; an old one gets 200. */
static void current_etag_is_not_modified(void **state)
{
    fixture *f = *state;
    fake_conn *a = get(f, &f->alice, 0, NULL);
    char *etag = fake_res_header(a, "etag");
    assert_non_null(etag);
    uint64_t h0, m0, h1, m1;
    api_doc_cache_stats(&h0, &m0);
    fake_conn *b = get(f, &f->alice, 0, etag);
    api_doc_cache_stats(&h1, &m1);
    assert_int_equal(b->req.res.status, 304);
    assert_int_equal(b->body_len, 0);
    char *etag2 = fake_res_header(b, "etag");
    assert_string_equal(etag2, etag);
    assert_int_equal(h1 + m1, h0 + m0); /* answered before any lookup or build */
    fake_conn *c = get(f, &f->alice, 0, "\"999\"");
    assert_int_equal(c->req.res.status, 200);
    assert_string_equal(c->body, a->body);
    free(etag);
    free(etag2);
    fake_free(a);
    fake_free(b);
    fake_free(c);
}

/* forget drops a migration's documents (the server calls it for every committed event). */
static void forget_drops_the_migration(void **state)
{
    fixture *f = *state;
    int64_t s[3], land;
    step_ids(f, s, &land);
    fake_free(get(f, &f->alice, 0, NULL));
    fake_free(get(f, &f->alice, s[1], NULL));
    uint64_t before = hits();
    fake_free(get(f, &f->alice, 0, NULL));
    fake_free(get(f, &f->alice, s[1], NULL));
    assert_int_equal(hits(), before + 2);
    api_doc_cache_forget("another-migration");
    fake_free(get(f, &f->alice, 0, NULL));
    assert_int_equal(hits(), before + 3);
    api_doc_cache_forget(MID);
    fake_free(get(f, &f->alice, 0, NULL));
    fake_free(get(f, &f->alice, s[1], NULL));
    assert_int_equal(hits(), before + 3); /* both rebuilt */
    api_doc_cache_forget(NULL);
    fake_free(get(f, &f->alice, 0, NULL));
    assert_int_equal(hits(), before + 3);
}

/* Off (as in every process but the server), nothing is kept or served. */
static void disabled_cache_keeps_nothing(void **state)
{
    fixture *f = *state;
    api_doc_cache_enable(0);
    uint64_t before = hits();
    char *want = fresh(f, 0);
    for (int i = 0; i < 3; i++) {
        fake_conn *a = get(f, &f->alice, 0, NULL);
        assert_string_equal(a->body, want);
        fake_free(a);
    }
    assert_int_equal(hits(), before);
    free(want);
}

/* The clock part of the stamp changes exactly where the document's timing can change. */
static void stamp_clock_intervals(void **state)
{
    (void)state;
    const int64_t t0 = 1000000;
    assert_int_equal(flight_stamp_clock(t0, t0 - 5), 0);
    assert_int_equal(flight_stamp_clock(t0, t0), 0);
    assert_int_equal(flight_stamp_clock(t0, t0 + 1), 2);
    assert_int_equal(flight_stamp_clock(t0, t0 + 59999), 2);
    assert_int_equal(flight_stamp_clock(t0, t0 + 60000), 3); /* elapsed 1, overdue(1) not yet */
    assert_int_equal(flight_stamp_clock(t0, t0 + 60001), 4); /* overdue(1) now */
    assert_int_equal(flight_stamp_clock(t0, t0 + 119999), 4);
    assert_int_equal(flight_stamp_clock(t0, t0 + 120000), 5);
}

static char *shared_text(size_t len, char fill)
{
    char *t = h2o_mem_alloc_shared(NULL, len, NULL);
    memset(t, fill, len);
    return t;
}

/* Entries are bounded by count and bytes, the least recently used go first, and a document
 * too big to keep is not kept. */
static void cache_is_bounded(void **state)
{
    (void)state;
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    fd_doc_stamp stamp = {.version = 1, .clock = -1, .cacheable = 1};
    h2o_iovec_t text;
    int64_t etag;
    char mid[32];
    for (int i = 0; i < 2 * API_DOC_CACHE_SLOTS; i++) {
        snprintf(mid, sizeof mid, "m%d", i);
        api_doc_cache_put(mid, 0, &stamp, 1, shared_text(1000, 'a'), 1000);
        /* m0 is the oldest put but used all along: it stays */
        assert_int_equal(api_doc_cache_get(&pool, "m0", 0, &stamp, &text, &etag), 1);
    }
    assert_int_equal(api_doc_cache_get(&pool, "m1", 0, &stamp, &text, &etag), 0);
    snprintf(mid, sizeof mid, "m%d", 2 * API_DOC_CACHE_SLOTS - 1);
    assert_int_equal(api_doc_cache_get(&pool, mid, 0, &stamp, &text, &etag), 1);
    assert_int_equal(text.len, 1000);
    /* bytes: big entries push the others out */
    size_t big = API_DOC_CACHE_DOC_MAX;
    int kept = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(mid, sizeof mid, "big%d", i);
        api_doc_cache_put(mid, 0, &stamp, 1, shared_text(big, 'b'), big);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(mid, sizeof mid, "big%d", i);
        kept += api_doc_cache_get(&pool, mid, 0, &stamp, &text, &etag);
    }
    assert_true(kept >= 1 && (size_t)kept * big <= API_DOC_CACHE_BYTES);
    api_doc_cache_put("huge", 0, &stamp, 1, shared_text(big + 1, 'c'), big + 1);
    assert_int_equal(api_doc_cache_get(&pool, "huge", 0, &stamp, &text, &etag), 0);
    /* another stamp misses */
    fd_doc_stamp later = stamp;
    later.version = 2;
    snprintf(mid, sizeof mid, "big7");
    assert_int_equal(api_doc_cache_get(&pool, mid, 0, &later, &text, &etag), 0);
    later = stamp;
    later.clock = 7;
    assert_int_equal(api_doc_cache_get(&pool, mid, 0, &later, &text, &etag), 0);
    h2o_mem_clear_pool(&pool); /* the references the hits took */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cached_document_follows_every_change, setup, teardown),
        cmocka_unit_test_setup_teardown(current_etag_is_not_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(forget_drops_the_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(disabled_cache_keeps_nothing, setup, teardown),
        cmocka_unit_test(stamp_clock_intervals),
        cmocka_unit_test_setup_teardown(cache_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
