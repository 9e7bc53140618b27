/*
 * test_group_commit.c - group commit (core/store_batch.c, api/barrier.c): several units in one
 * batch transaction, each in its own savepoint; answers held until the batch is durable; plain
 * reads on a second connection that never sees a batch before its commit; events and webhook
 * deliveries that commit with their batch or not at all.
 *
 * The server's committing thread is played by the test: store_batch_detach, then
 * store_batch_commit_run (on a thread of its own where it matters), then store_batch_end.
 * Group commit needs a second connection, so these tests use a database file, not :memory:.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/barrier.h"
#include "api/reply.h"
#include "chatops_fixture.h"
#include "core/mutate.h"
#include "core/store_sqlite.h"
#include "core/webhook.h"
#include "fake_h2o.h"

typedef struct gc {
    fixture *f;
    char path[64];
    int opened; /* the `opened` hook fired */
    int waited; /* the `wait` hook fired */
} gc;

static void on_opened(void *arg)
{
    ((gc *)arg)->opened++;
}

/* The server's wait hook: take the batch back from the "committing thread" (the test). */
static void on_wait(void *arg)
{
    gc *g = arg;
    g->waited++;
    store_batch_commit_run(g->f->st);
    assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
}

/* The chatops fixture (migration msk, started) in a file, then group commit on. */
static gc *gc_open(int with_wait)
{
    gc *g = calloc(1, sizeof *g);
    snprintf(g->path, sizeof g->path, "/tmp/fd-gc-XXXXXX");
    int fd = mkstemp(g->path);
    assert_true(fd >= 0);
    close(fd);
    g->f = cx_open(g->path, 1);
    store_batch_hooks hooks = {.opened = on_opened, .wait = with_wait ? on_wait : NULL, .arg = g};
    fd_problem p = {0};
    assert_int_equal(store_batch_enable(g->f->st, &hooks, &p), FD_OK);
    assert_true(store_batch_on(g->f->st));
    return g;
}

static void gc_close(gc *g)
{
    char side[80];
    fix_close(g->f);
    unlink(g->path);
    snprintf(side, sizeof side, "%s-wal", g->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", g->path);
    unlink(side);
    free(g);
}

/* Events the sink has received so far. */
static size_t nevents(gc *g)
{
    return json_array_size(g->f->events);
}

static fd_err act(gc *g, const fd_actor *who, int64_t sid, fd_step_action a, const char *key)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, who, "req-gc");
    ctx.idem_key = key;
    ctx.request_hash = key != NULL ? "hash-of-the-request" : NULL;
    fd_err e = flight_step_action(g->f->st, &ctx, CX_MID, sid, a,
                                  a == FD_STEP_UNTICK ? "undo" : NULL, &out);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    return e;
}

/* The status of a step as a plain read sees it now. */
static const char *status_of(gc *g, int64_t sid, char *buf, size_t n)
{
    fd_ctx ctx;
    json_t *step = NULL;
    fd_ctx_init(&ctx, &g->f->viewer, NULL);
    CX_EXPECT(FD_OK, ctx, flight_get_step(g->f->st, &ctx, CX_MID, sid, &step));
    snprintf(buf, n, "%s", json_string_value(json_object_get(step, "status")));
    json_decref(step);
    return buf;
}

static void assert_chain_ok(gc *g)
{
    json_t *v = NULL;
    assert_int_equal(audit_verify(g->f->st, CX_MID, &v), FD_OK);
    if (!json_is_true(json_object_get(v, "ok")))
        fail_msg("audit chain broken: %s", json_dumps(v, 0));
    json_decref(v);
}

/* Detach, COMMIT, end: what the server's committing thread and loop do. */
static fd_err commit_batch(gc *g, uint64_t *id)
{
    uint64_t bid = 0, ended = 0;
    if (store_batch_detach(g->f->st, &bid))
        store_batch_commit_run(g->f->st);
    fd_err e = store_batch_end(g->f->st, &ended);
    assert_int_equal(bid, ended);
    if (id != NULL)
        *id = bid;
    return e;
}

/* A rule that writes an audit event (and, through it, webhook deliveries), then refuses. */
static fd_err rule_write_then_refuse(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    (void)args;
    (void)out;
    fd_err e = audit_append(st, ctx, CX_MID, "step.tick", "999", NULL, NULL, "doomed");
    if (e != FD_OK)
        return e;
    return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "refused after writing");
}

static fd_err refuse_after_writing(gc *g)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &g->f->bob, "req-doomed");
    fd_err e = core_mutate(g->f->st, &ctx, rule_write_then_refuse, NULL, NULL);
    fd_problem_clear(&ctx.problem);
    return e;
}

/* The migration's version as a plain read sees it now (committed batches only). */
static int64_t mig_version(gc *g)
{
    int64_t v = -1, clock_start;
    int clocks;
    assert_int_equal(store_mig_stamp(g->f->st, CX_MID, &v, &clock_start, &clocks), FD_OK);
    return v;
}

/* A rule that asks for the migration's bump at commit, then refuses. */
static fd_err rule_bump_then_refuse(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    (void)args;
    (void)out;
    fd_err e = store_mig_bump_later(st, CX_MID);
    if (e != FD_OK)
        return e;
    return fd_fail(&ctx->problem, FD_E_CONFLICT, NULL, "refused after asking for a bump");
}

/* A rule that writes an audit event and nothing else (no bump). */
static fd_err rule_note_only(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    (void)args;
    (void)out;
    return audit_append(st, ctx, CX_MID, "step.note", "998", NULL, NULL, "a note");
}

static fd_err run_rule(gc *g, fd_err (*rule)(fd_store *, fd_ctx *, void *, json_t **))
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &g->f->bob, "req-rule");
    fd_err e = core_mutate(g->f->st, &ctx, rule, NULL, NULL);
    fd_problem_clear(&ctx.problem);
    return e;
}

/* ---- the migration's version under batches ---- */

/* The step actions move their migration's version once per transaction (store_mig_bump_later):
 * a batch of three ticks moves it by one, in the batch, so a plain read sees the new version
 * together with the ticks, and not before. A unit rolled back takes its ask with it. Outside a
 * batch every action still moves it (test_flight: every_change_bumps_versions). */
static void test_a_batch_moves_the_migration_version_once(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    char buf[32];
    int64_t a = cx_step(g->f, 0, 0), b = cx_step(g->f, 0, 1), c = cx_step(g->f, 0, 2);
    int64_t v0 = mig_version(g);
    assert_true(v0 > 0);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    assert_int_equal(act(g, &g->f->bob, b, FD_STEP_TICK, NULL), FD_OK);
    assert_int_equal(act(g, &g->f->alice, c, FD_STEP_TICK, NULL), FD_OK);
    store_batch_untouch(g->f->st); /* a new request that only reads */
    assert_int_equal(mig_version(g), v0); /* the open batch is not seen */
    assert_string_equal(status_of(g, a, buf, sizeof buf), "pending");
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_int_equal(mig_version(g), v0 + 1);
    assert_string_equal(status_of(g, c, buf, sizeof buf), "done");

    /* a unit that asked and was refused, beside one that wrote without asking: no move */
    assert_int_equal(run_rule(g, rule_bump_then_refuse), FD_E_CONFLICT);
    assert_int_equal(run_rule(g, rule_note_only), FD_OK);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_int_equal(mig_version(g), v0 + 1);

    /* and an untick in a batch of its own moves it again */
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_UNTICK, NULL), FD_OK);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_int_equal(mig_version(g), v0 + 2);
    assert_chain_ok(g);
    gc_close(g);
}

/* ---- savepoints ---- */

/* A succeeds, B writes and is refused, C succeeds, all in one batch: A and C are there with
 * their events, B left nothing, the chain verifies and seqs have no gap. */
static void test_refused_unit_takes_only_itself(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0), c = cx_step(g->f, 0, 1);
    size_t before = nevents(g);
    int64_t last = audit_last_seq(g->f->st);
    fd_store_stats s0, s1;
    store_stats(g->f->st, &s0);

    int opened = g->opened;
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    uint64_t open = store_batch_open_id(g->f->st);
    assert_true(open > 0);
    assert_true(g->opened > opened); /* the server was told to commit it soon */
    assert_int_equal(refuse_after_writing(g), FD_E_CONFLICT);
    assert_int_equal(act(g, &g->f->bob, c, FD_STEP_TICK, NULL), FD_OK);
    assert_int_equal(store_batch_open_id(g->f->st), open); /* one batch for all three */
    assert_int_equal(store_batch_units(g->f->st), 2);
    assert_int_equal(nevents(g), before); /* nothing reached the sink before the commit */

    uint64_t id = 0;
    assert_int_equal(commit_batch(g, &id), FD_OK);
    assert_true(id > 0);
    assert_true(store_batch_ended(g->f->st, id));

    char buf[32];
    assert_string_equal(status_of(g, a, buf, sizeof buf), "done");
    assert_string_equal(status_of(g, c, buf, sizeof buf), "done");
    assert_int_equal(nevents(g), before + 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *ev = json_array_get(g->f->events, before + i);
        assert_string_equal(json_string_value(json_object_get(ev, "action")), "step.tick");
        assert_int_equal(json_integer_value(json_object_get(ev, "seq")), last + 1 + (int64_t)i);
        if (strstr(json_string_value(json_object_get(ev, "json")), "doomed") != NULL)
            fail_msg("the refused unit's event reached the sink");
    }
    assert_int_equal(audit_last_seq(g->f->st), last + 2);
    assert_chain_ok(g);

    /* one commit (one fsync) carried both units: the le="2" bucket of the batch histogram */
    store_stats(g->f->st, &s1);
    assert_int_equal(s1.commits - s0.commits, 1);
    assert_int_equal(s1.units - s0.units, 2);
    assert_int_equal(s1.batch[1] - s0.batch[1], 1);
    gc_close(g);
}

/* A batch of refusals only ends without a COMMIT and without events. */
static void test_batch_of_refusals_commits_nothing(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    size_t before = nevents(g);
    fd_store_stats s0, s1;
    store_stats(g->f->st, &s0);
    assert_int_equal(refuse_after_writing(g), FD_E_CONFLICT);
    uint64_t id = 0;
    assert_int_equal(store_batch_detach(g->f->st, &id), 0); /* nothing for the committing thread */
    assert_true(id > 0);
    assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
    store_stats(g->f->st, &s1);
    assert_int_equal(s1.commits, s0.commits);
    assert_int_equal(nevents(g), before);
    assert_chain_ok(g);
    gc_close(g);
}

/* ---- reads ---- */

/* The read connection sees committed data only; a writer sees its batch. */
static void test_plain_reads_do_not_see_the_open_batch(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0);
    char buf[32];

    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    /* the unit's own activity still reads inside the batch */
    assert_string_equal(status_of(g, a, buf, sizeof buf), "done");
    store_batch_untouch(g->f->st); /* a new request that only reads */
    assert_string_equal(status_of(g, a, buf, sizeof buf), "pending");

    /* while the batch is with the committing thread, reads go on and still see the old state */
    uint64_t id = 0;
    assert_int_equal(store_batch_detach(g->f->st, &id), 1);
    assert_false(store_batch_writable(g->f->st));
    assert_string_equal(status_of(g, a, buf, sizeof buf), "pending");
    store_batch_commit_run(g->f->st);
    assert_string_equal(status_of(g, a, buf, sizeof buf), "pending"); /* not ended yet */
    assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
    assert_string_equal(status_of(g, a, buf, sizeof buf), "done");
    gc_close(g);
}

typedef struct committer {
    fd_store *st;
} committer;

static void *commit_thread(void *arg)
{
    store_batch_commit_run(((committer *)arg)->st);
    return NULL;
}

/* The COMMIT on another thread while the loop keeps reading (run under -fsanitize=thread too). */
static void test_reads_run_while_another_thread_commits(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0), b = cx_step(g->f, 0, 1);
    char buf[32];
    for (int round = 0; round < 20; round++) {
        fd_step_action what = round % 2 == 0 ? FD_STEP_TICK : FD_STEP_UNTICK;
        assert_int_equal(act(g, &g->f->alice, a, what, NULL), FD_OK);
        assert_int_equal(act(g, &g->f->alice, b, what, NULL), FD_OK);
        uint64_t id = 0;
        assert_int_equal(store_batch_detach(g->f->st, &id), 1);
        committer c = {g->f->st};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, commit_thread, &c), 0);
        for (int i = 0; i < 5; i++)
            assert_string_equal(status_of(g, a, buf, sizeof buf),
                                round % 2 == 0 ? "pending" : "done");
        pthread_join(t, NULL);
        assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
        assert_string_equal(status_of(g, b, buf, sizeof buf), round % 2 == 0 ? "done" : "pending");
    }
    assert_chain_ok(g);
    gc_close(g);
}

/* The server's committing thread with jobs: units in the batch the loop handed over, COMMIT,
 * seal, then a second batch chained there without going back to the loop. */
typedef struct owner {
    gc *g;
    int64_t b, c;
    fd_err eb, erefused, ec;
    store_batch_result r1, r2;
    uint64_t chained; /* the batch id after store_batch_chain */
} owner;

static void *owner_thread(void *arg)
{
    owner *o = arg;
    fd_store *st = o->g->f->st;
    store_batch_owner_thread();
    o->eb = act(o->g, &o->g->f->bob, o->b, FD_STEP_TICK, NULL);
    store_batch_commit_or_drop(st);
    store_batch_seal(st, &o->r1);
    if (store_batch_chain(st) != FD_OK) {
        flight_thread_exit();
        return NULL;
    }
    o->chained = o->r1.id + 1;
    o->erefused = refuse_after_writing(o->g);
    o->ec = act(o->g, &o->g->f->bob, o->c, FD_STEP_TICK, NULL);
    store_batch_commit_or_drop(st);
    store_batch_seal(st, &o->r2);
    flight_thread_exit();
    return NULL;
}

static void test_units_run_on_the_committing_thread_and_chain(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0);
    owner o = {.g = g, .b = cx_step(g->f, 0, 1), .c = cx_step(g->f, 0, 2)};
    size_t before = nevents(g);
    int64_t last = audit_last_seq(g->f->st);
    char buf[32];

    assert_int_equal(store_batch_open(g->f->st), FD_OK);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK); /* the loop's unit */
    uint64_t id = 0;
    assert_int_equal(store_batch_hand_over(g->f->st, &id), 1);
    assert_false(store_batch_writable(g->f->st));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, owner_thread, &o), 0);
    for (int i = 0; i < 20; i++) /* the loop reads committed data meanwhile */
        status_of(g, a, buf, sizeof buf);
    pthread_join(t, NULL);
    assert_int_equal(o.eb, FD_OK);
    assert_int_equal(o.erefused, FD_E_CONFLICT);
    assert_int_equal(o.ec, FD_OK);
    assert_int_equal(o.r1.id, id);
    assert_int_equal(o.r2.id, o.chained);
    assert_int_equal(o.r1.units, 2);
    assert_int_equal(o.r2.units, 1);
    assert_true(o.r1.ok && o.r2.ok);
    assert_int_equal(nevents(g), before); /* nothing reached the sink before the loop ends them */
    assert_false(store_batch_writable(g->f->st)); /* still away: the chain has not come back */

    assert_int_equal(store_batch_end_result(g->f->st, &o.r1, 0), FD_OK);
    assert_int_equal(nevents(g), before + 2);
    assert_true(store_batch_ended(g->f->st, id));
    assert_false(store_batch_ended(g->f->st, o.chained));
    assert_false(store_batch_writable(g->f->st));
    assert_int_equal(store_batch_end_result(g->f->st, &o.r2, 1), FD_OK);
    assert_true(store_batch_writable(g->f->st));
    assert_true(store_batch_ended(g->f->st, o.chained));
    assert_int_equal(nevents(g), before + 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *ev = json_array_get(g->f->events, before + i);
        assert_int_equal(json_integer_value(json_object_get(ev, "seq")), last + 1 + (int64_t)i);
        if (strstr(json_string_value(json_object_get(ev, "json")), "doomed") != NULL)
            fail_msg("the refused unit's event reached the sink");
    }
    assert_string_equal(status_of(g, a, buf, sizeof buf), "done");
    assert_string_equal(status_of(g, o.b, buf, sizeof buf), "done");
    assert_string_equal(status_of(g, o.c, buf, sizeof buf), "done");
    assert_chain_ok(g);

    /* and the loop writes again as before */
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_UNTICK, NULL), FD_OK);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_string_equal(status_of(g, a, buf, sizeof buf), "pending");
    assert_chain_ok(g);
    gc_close(g);
}

/* A unit that arrives while the batch is away waits (hook) or is refused as unavailable. */
static void test_unit_during_commit_waits_or_is_refused(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0), b = cx_step(g->f, 0, 1);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    uint64_t id = 0;
    assert_int_equal(store_batch_detach(g->f->st, &id), 1);
    assert_int_equal(act(g, &g->f->alice, b, FD_STEP_TICK, NULL), FD_E_UNAVAILABLE);
    store_batch_commit_run(g->f->st);
    assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
    gc_close(g);

    g = gc_open(1);
    a = cx_step(g->f, 0, 0);
    b = cx_step(g->f, 0, 1);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    assert_int_equal(store_batch_detach(g->f->st, &id), 1);
    assert_int_equal(act(g, &g->f->alice, b, FD_STEP_TICK, NULL), FD_OK); /* waited */
    assert_int_equal(g->waited, 1);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    char buf[32];
    assert_string_equal(status_of(g, b, buf, sizeof buf), "done");
    gc_close(g);
}

/* ---- idempotency ---- */

/* A retry with the same key inside the same (uncommitted) batch replays, and runs once. */
static void test_retry_in_the_same_batch_runs_once(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0);
    size_t before = nevents(g);
    fd_ctx ctx;
    json_t *first = NULL, *again = NULL;
    fd_ctx_init(&ctx, &g->f->alice, "req-1");
    ctx.idem_key = "key-1";
    ctx.request_hash = "h1";
    CX_EXPECT(FD_OK, ctx,
              flight_step_action(g->f->st, &ctx, CX_MID, a, FD_STEP_TICK, NULL, &first));
    assert_int_equal(ctx.replayed, 0);
    CX_EXPECT(FD_OK, ctx,
              flight_step_action(g->f->st, &ctx, CX_MID, a, FD_STEP_TICK, NULL, &again));
    assert_int_equal(ctx.replayed, 1);
    assert_true(json_equal(first, again));
    /* the replay read the batch: its answer must wait for the batch too */
    assert_int_equal(store_batch_take(g->f->st), store_batch_open_id(g->f->st));
    assert_int_equal(store_batch_units(g->f->st), 1);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_int_equal(nevents(g), before + 1);
    json_decref(first);
    json_decref(again);
    fd_problem_clear(&ctx.problem);
    gc_close(g);
}

/* ---- a failed commit ---- */

/* A unit whose change cannot commit: a foreign key checked only at COMMIT. */
static fd_err rule_poison(fd_store *st, fd_ctx *ctx, void *args, json_t **out)
{
    (void)ctx;
    (void)args;
    (void)out;
    if (sqlite3_exec(st->db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db,
                     "INSERT INTO webhook_deliveries (webhook, seq, action, body, next_at,"
                     " created_at) VALUES (987654, 1, 'x', 'x', 0, 0)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return FD_E_INTERNAL;
    return FD_OK;
}

/* When the COMMIT fails, nothing of the batch stays, no event is emitted, the next batch works. */
static void test_failed_commit_applies_nothing(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0), b = cx_step(g->f, 0, 1);
    size_t before = nevents(g);
    int64_t last = audit_last_seq(g->f->st);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &g->f->bob, NULL);
    assert_int_equal(core_mutate(g->f->st, &ctx, rule_poison, NULL, NULL), FD_OK);
    fd_problem_clear(&ctx.problem);
    assert_int_equal(commit_batch(g, NULL), FD_E_INTERNAL);
    assert_true(strstr(store_batch_error(g->f->st), "FOREIGN KEY") != NULL);

    char buf[32];
    store_batch_untouch(g->f->st);
    assert_string_equal(status_of(g, a, buf, sizeof buf), "pending");
    assert_int_equal(nevents(g), before);
    assert_int_equal(audit_last_seq(g->f->st), last);
    fd_store_stats s;
    store_stats(g->f->st, &s);
    assert_int_equal(s.commit_errors, 1);

    assert_int_equal(act(g, &g->f->alice, b, FD_STEP_TICK, NULL), FD_OK);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_string_equal(status_of(g, b, buf, sizeof buf), "done");
    assert_int_equal(nevents(g), before + 1);
    assert_chain_ok(g);
    gc_close(g);
}

/* ---- webhook deliveries ---- */

static int64_t deliveries(gc *g)
{
    json_t *jobs = NULL;
    assert_int_equal(webhook_due(g->f->st, INT64_MAX / 2, 100, &jobs), FD_OK);
    int64_t n = (int64_t)json_array_size(jobs);
    json_decref(jobs);
    return n;
}

/* Deliveries are rows of the event's own unit: a refused unit takes its rows with it, a
 * committed one has them without any sink doing anything. */
static void test_deliveries_commit_with_their_event(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    fd_ctx ctx;
    json_t *out = NULL;
    json_t *body = fix_json("{\"url\":\"http://127.0.0.1:9/hook\","
                            "\"secret\":\"0123456789abcdef-s\",\"events\":[\"step.*\"]}");
    fd_ctx_init(&ctx, &g->f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, webhook_create(g->f->st, &ctx, body, &out));
    json_decref(body);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    fd_ports quiet = {.clock = {fix_clock, g->f}}; /* no sink at all */
    store_set_ports(g->f->st, &quiet);
    store_batch_untouch(g->f->st);
    assert_int_equal(deliveries(g), 0);

    assert_int_equal(act(g, &g->f->alice, cx_step(g->f, 0, 0), FD_STEP_TICK, NULL), FD_OK);
    assert_int_equal(refuse_after_writing(g), FD_E_CONFLICT);
    store_batch_untouch(g->f->st);
    assert_int_equal(deliveries(g), 0); /* not committed yet: not visible to the worker */
    assert_int_equal(commit_batch(g, NULL), FD_OK);
    assert_int_equal(deliveries(g), 1);
    gc_close(g);
}

/* ---- held answers ---- */

static fd_actor alice_actor = {
    .sub = "alice", .name = "Alice", .role = FD_ROLE_ENGINEER, .source = "api"};

static fake_conn *call_new(api_call *c, gc *g, const char *method, const char *path)
{
    fake_conn *fc = fake_new(method, path, NULL);
    memset(c, 0, sizeof *c);
    c->req = &fc->req;
    c->st = g->f->st;
    c->actor = &alice_actor;
    c->request_id = "req-held";
    fd_ctx_init(&c->ctx, &alice_actor, "req-held");
    h2o_add_header_by_str(&fc->req.pool, &fc->req.res.headers, H2O_STRLIT("x-request-id"), 0,
                          "X-Request-Id", H2O_STRLIT("req-held"));
    return fc;
}

/* An answer about a change goes out only after its batch is durable; a read goes out at once. */
static void test_answers_wait_for_their_batch(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    api_barrier_set_store(g->f->st);
    int64_t a = cx_step(g->f, 0, 0), b = cx_step(g->f, 0, 1);
    api_call c1, c2, c3;

    fake_conn *w1 = call_new(&c1, g, "POST", "/tick-a");
    store_batch_touch(g->f->st);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    api_reply_json(&c1, 200, json_pack("{s:s}", "step", "a"), 7);
    fake_conn *w2 = call_new(&c2, g, "POST", "/tick-b");
    store_batch_touch(g->f->st);
    assert_int_equal(act(g, &g->f->alice, b, FD_STEP_TICK, NULL), FD_OK);
    api_reply_json(&c2, 200, json_pack("{s:s}", "step", "b"), 8);
    assert_int_equal(w1->complete, 0);
    assert_int_equal(w2->complete, 0);
    assert_int_equal(api_barrier_held(), 2);

    /* a plain read meanwhile is answered at once */
    fake_conn *r = call_new(&c3, g, "GET", "/read");
    store_batch_untouch(g->f->st);
    api_reply_json(&c3, 200, json_pack("{s:b}", "read", 1), -1);
    assert_int_equal(r->complete, 1);

    uint64_t id = 0;
    assert_int_equal(store_batch_detach(g->f->st, &id), 1);
    store_batch_commit_run(g->f->st);
    assert_int_equal(w1->complete, 0); /* durable, but the loop has not ended it yet */
    assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
    api_barrier_release(id, 1);
    assert_int_equal(api_barrier_held(), 0);
    assert_int_equal(w1->complete, 1);
    assert_int_equal(w2->complete, 1);
    assert_int_equal(w1->req.res.status, 200);
    assert_non_null(strstr(w1->body, "\"a\""));
    assert_non_null(strstr(w2->body, "\"b\""));
    char *etag = fake_res_header(w2, "etag");
    assert_string_equal(etag, "\"8\"");
    free(etag);

    fake_free(w1);
    fake_free(w2);
    fake_free(r);
    api_barrier_set_store(NULL);
    gc_close(g);
}

/* A batch that failed answers its held requests 503 (not the success rendered for them), and a
 * client that left while waiting is simply forgotten. */
static void test_failed_batch_answers_unavailable(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    api_barrier_set_store(g->f->st);
    api_call c1, c2;
    fake_conn *w1 = call_new(&c1, g, "POST", "/tick");
    store_batch_touch(g->f->st);
    assert_int_equal(act(g, &g->f->alice, cx_step(g->f, 0, 0), FD_STEP_TICK, NULL), FD_OK);
    api_reply_created(&c1, json_pack("{s:s}", "step", "a"), "/somewhere", 3);
    fake_conn *w2 = call_new(&c2, g, "POST", "/tick");
    store_batch_touch(g->f->st);
    assert_int_equal(act(g, &g->f->alice, cx_step(g->f, 0, 1), FD_STEP_TICK, NULL), FD_OK);
    api_reply_json(&c2, 200, json_pack("{s:s}", "step", "b"), 4);
    assert_int_equal(api_barrier_held(), 2);
    fake_free(w2); /* the client went away */

    uint64_t id = 0;
    assert_int_equal(store_batch_detach(g->f->st, &id), 1);
    store_batch_commit_run(g->f->st);
    assert_int_equal(store_batch_end(g->f->st, NULL), FD_OK);
    api_barrier_release(id, 0); /* as if the COMMIT had failed */
    assert_int_equal(api_barrier_held(), 0);
    assert_int_equal(w1->complete, 1);
    assert_int_equal(w1->req.res.status, 503);
    assert_non_null(strstr(w1->body, "not applied"));
    char *v = fake_res_header(w1, "location");
    assert_null(v);
    v = fake_res_header(w1, "etag");
    assert_null(v);
    v = fake_res_header(w1, "x-request-id");
    assert_string_equal(v, "req-held");
    free(v);
    fake_free(w1);
    api_barrier_set_store(NULL);
    gc_close(g);
}

/* ---- modes ---- */

/* ":memory:" has no second connection: group commit stays off and units commit inline. */
static void test_memory_database_stays_inline(void **state)
{
    (void)state;
    fixture *f = cx_open(":memory:", 1);
    fd_problem p = {0};
    store_batch_hooks hooks = {0};
    assert_int_equal(store_batch_enable(f->st, &hooks, &p), FD_E_INVALID);
    fd_problem_clear(&p);
    assert_false(store_batch_on(f->st));
    size_t before = json_array_size(f->events);
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &f->alice, NULL);
    CX_EXPECT(FD_OK, ctx,
              flight_step_action(f->st, &ctx, CX_MID, cx_step(f, 0, 0), FD_STEP_TICK, NULL, &out));
    json_decref(out);
    assert_int_equal(json_array_size(f->events), before + 1); /* at once, no batch */
    assert_int_equal(store_batch_take(f->st), 0);
    fix_close(f);
}

/* Disabling commits the open batch (the store closes cleanly with one open, too). */
static void test_disable_commits_the_open_batch(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    int64_t a = cx_step(g->f, 0, 0);
    assert_int_equal(act(g, &g->f->alice, a, FD_STEP_TICK, NULL), FD_OK);
    store_batch_disable(g->f->st);
    assert_false(store_batch_on(g->f->st));
    char buf[32];
    assert_string_equal(status_of(g, a, buf, sizeof buf), "done");
    assert_int_equal(act(g, &g->f->alice, cx_step(g->f, 0, 1), FD_STEP_TICK, NULL), FD_OK);
    gc_close(g);
}

/* ---- checkpoints beside the commits ---- */

static void on_wal_grown(void *arg)
{
    ((gc *)arg)->waited++; /* reused as "the log has grown" */
}

/* With a wal_grown hook, commits never checkpoint themselves: the log grows past SQLite's
 * automatic checkpoint size until store_batch_checkpoint (the server's own thread) folds it
 * back, while nothing is lost and the chain still verifies. */
static void test_checkpoints_run_beside_the_commits(void **state)
{
    (void)state;
    gc *g = gc_open(0);
    store_batch_disable(g->f->st);
    store_batch_hooks hooks = {.opened = on_opened, .wal_grown = on_wal_grown, .arg = g};
    fd_problem p = {0};
    assert_int_equal(store_batch_enable(g->f->st, &hooks, &p), FD_OK);
    int64_t a = cx_step(g->f, 0, 0);
    int commits = 0;
    while (g->waited == 0 && commits < 4000) {
        fd_step_action act_now = commits % 2 == 0 ? FD_STEP_TICK : FD_STEP_UNTICK;
        assert_int_equal(act(g, &g->f->alice, a, act_now, NULL), FD_OK);
        assert_int_equal(commit_batch(g, NULL), FD_OK);
        commits++;
    }
    assert_true(g->waited > 0); /* the hook fired: the log reached STORE_CHECKPOINT_PAGES */
    store_batch_read_end(g->f->st);
    int log = 0, copied = 0;
    assert_int_equal(store_batch_checkpoint(g->f->st, &log, &copied), FD_OK);
    /* no commit checkpointed on its own: the whole log was still there, and now it is copied */
    assert_true(log >= STORE_CHECKPOINT_PAGES);
    assert_int_equal(copied, log);
    /* Under steady writes only a commit's own checkpoint lets the log start over: past
     * STORE_CHECKPOINT_RESTART_PAGES a commit checkpoints itself, and the log stays bounded. */
    int pages_per_commit = log / commits + 1;
    int more = 3 * STORE_CHECKPOINT_RESTART_PAGES / pages_per_commit; /* three times over */
    g->waited = 0;
    for (int i = 0; i < more; i++, commits++) {
        fd_step_action act_now = commits % 2 == 0 ? FD_STEP_TICK : FD_STEP_UNTICK;
        assert_int_equal(act(g, &g->f->alice, a, act_now, NULL), FD_OK);
        assert_int_equal(commit_batch(g, NULL), FD_OK);
    }
    store_batch_read_end(g->f->st);
    assert_int_equal(store_batch_checkpoint(g->f->st, &log, &copied), FD_OK);
    if (log >= STORE_CHECKPOINT_RESTART_PAGES)
        fail_msg("the log has %d pages after %d commits of ~%d pages: it never started over", log,
                 commits, pages_per_commit);
    /* the checkpointing thread is woken once per STORE_CHECKPOINT_STEP_PAGES of growth, not
     * after every commit past STORE_CHECKPOINT_PAGES (each wake-up reads the log's index) */
    int most = more * pages_per_commit / STORE_CHECKPOINT_STEP_PAGES + 8;
    if (g->waited == 0 || g->waited > most)
        fail_msg("wal_grown was called %d times over %d commits of ~%d pages (want 1..%d)",
                 (int)g->waited, more, pages_per_commit, most);
    char buf[32];
    assert_string_equal(status_of(g, a, buf, sizeof buf), commits % 2 ? "done" : "pending");
    assert_chain_ok(g);
    gc_close(g);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_unit_takes_only_itself),
        cmocka_unit_test(test_checkpoints_run_beside_the_commits),
        cmocka_unit_test(test_batch_of_refusals_commits_nothing),
        cmocka_unit_test(test_plain_reads_do_not_see_the_open_batch),
        cmocka_unit_test(test_reads_run_while_another_thread_commits),
        cmocka_unit_test(test_unit_during_commit_waits_or_is_refused),
        cmocka_unit_test(test_units_run_on_the_committing_thread_and_chain),
        cmocka_unit_test(test_retry_in_the_same_batch_runs_once),
        cmocka_unit_test(test_failed_commit_applies_nothing),
        cmocka_unit_test(test_deliveries_commit_with_their_event),
        cmocka_unit_test(test_answers_wait_for_their_batch),
        cmocka_unit_test(test_failed_batch_answers_unavailable),
        cmocka_unit_test(test_memory_database_stays_inline),
        cmocka_unit_test(test_disable_commits_the_open_batch),
        cmocka_unit_test(test_a_batch_moves_the_migration_version_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
