/*
 * test_read_snapshot.c - plain reads under group commit never answer from an older state than
 * the last commit the loop has ended: the read snapshot's prepared BEGIN/COMMIT (core/
 * store_batch.c), the migration stamps kept for the length of one snapshot (core/store_stamp.c)
 * and, on top of them, the rendered documents of GET .../steps/{sid} (api/doc_cache.c).
 *
 * The server's loop is played by the test: store_batch_read_end at the end of an "iteration",
 * store_batch_detach / store_batch_commit_run (on a thread of its own) / store_batch_end for a
 * batch. Group commit needs a second connection, so the database is a file.
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

#include "api/doc_cache.h"
#include "api/handlers.h"
#include "api/reply.h"
#include "chatops_fixture.h"
#include "core/store_sqlite.h"
#include "fake_h2o.h"

typedef struct rs {
    fixture *f;
    char path[64];
} rs;

static rs *rs_open(void)
{
    rs *r = calloc(1, sizeof *r);
    snprintf(r->path, sizeof r->path, "/tmp/fd-rs-XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    close(fd);
    r->f = cx_open(r->path, 1);
    fd_problem p = {0};
    assert_int_equal(store_batch_enable(r->f->st, NULL, &p), FD_OK);
    api_doc_cache_enable(1);
    return r;
}

static void rs_close(rs *r)
{
    char side[80];
    api_doc_cache_enable(0); /* the next test has another store */
    fix_close(r->f);
    unlink(r->path);
    snprintf(side, sizeof side, "%s-wal", r->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", r->path);
    unlink(side);
    free(r);
}

/* The migration's version as a plain read sees it now (through the stamp). */
static int64_t stamp_version(rs *r)
{
    fd_doc_stamp s;
    assert_int_equal(flight_doc_stamp(r->f->st, CX_MID, &s), FD_OK);
    return s.version;
}

/* How many times the stamp query has run on the read connection. */
static int stamp_queries(rs *r)
{
    sqlite3_stmt *s = r->f->st->rstmts[S_MIG_STAMP];
    return s != NULL ? sqlite3_stmt_status(s, SQLITE_STMTSTATUS_RUN, 0) : 0;
}

/* The version as a fresh query on its own connection sees it: the truth to compare with. */
static int64_t version_on_disk(rs *r)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT version FROM migrations WHERE id = 'msk'", -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void tick(rs *r, int64_t sid, fd_step_action a)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_ctx_init(&ctx, &r->f->alice, "req-rs");
    CX_EXPECT(FD_OK, ctx, flight_step_action(r->f->st, &ctx, CX_MID, sid, a, NULL, &out));
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    store_batch_untouch(r->f->st); /* what comes next is a new request that only reads */
}

/* The committing thread, held at a gate until the test has made its reads "while the batch is
 * with the thread": a COMMIT that finished first would be durable and may rightly be seen by a
 * new snapshot, which made these tests depend on timing (they failed once under ASan). */
typedef struct committer {
    fd_store *st;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;
} committer;

static void *commit_thread(void *arg)
{
    committer *cm = arg;
    pthread_mutex_lock(&cm->mu);
    while (!cm->go)
        pthread_cond_wait(&cm->cv, &cm->mu);
    pthread_mutex_unlock(&cm->mu);
    store_batch_commit_run(cm->st);
    return NULL;
}

/* Let the held committing thread run its COMMIT, and wait for it. */
static void commit_release_and_join(committer *cm, pthread_t t)
{
    pthread_mutex_lock(&cm->mu);
    cm->go = 1;
    pthread_cond_signal(&cm->cv);
    pthread_mutex_unlock(&cm->mu);
    pthread_join(t, NULL);
}

/* GET .../steps/{sid} through the handler; returns the body (malloc'd) and its status. */
static char *get_step(rs *r, int64_t sid, int *status)
{
    char path[96], sids[24];
    snprintf(sids, sizeof sids, "%lld", (long long)sid);
    snprintf(path, sizeof path, "/api/migrations/" CX_MID "/steps/%s", sids);
    fake_conn *fc = fake_new("GET", path, NULL);
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.st = r->f->st;
    c.actor = &r->f->viewer;
    c.request_id = "req-rs";
    c.params[0] = CX_MID;
    c.params[1] = sids;
    c.nparams = 2;
    fd_ctx_init(&c.ctx, &r->f->viewer, "req-rs");
    api_step_get(&c);
    assert_int_equal(fc->complete, 1);
    fd_problem_clear(&c.ctx.problem);
    *status = fc->req.res.status;
    char *body = strdup(fc->body != NULL ? fc->body : "");
    fake_free(fc);
    return body;
}

/* The step's "status" member in a GET body. */
static void expect_status(const char *body, const char *want, const char *when)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"status\":\"%s\"", want);
    if (strstr(body, needle) == NULL)
        fail_msg("%s: the step is not %s:\n%s", when, want, body);
}

/* ---- tests ---- */

/* Within one snapshot the stamp is read once; the next snapshot reads it again, so an ended
 * batch shows at once, and a batch still open or committing never shows early. */
static void stamp_is_kept_for_one_snapshot_only(void **state)
{
    (void)state;
    rs *r = rs_open();
    int64_t a = cx_step(r->f, 0, 0);
    store_batch_read_end(r->f->st);

    int64_t v0 = stamp_version(r);
    int runs = stamp_queries(r);
    assert_int_equal(stamp_version(r), v0);
    assert_int_equal(stamp_queries(r), runs); /* the same snapshot: no query */
    assert_int_equal(v0, version_on_disk(r));

    tick(r, a, FD_STEP_TICK);
    assert_int_equal(stamp_version(r), v0); /* the open batch is not committed data */
    uint64_t id = 0;
    assert_int_equal(store_batch_detach(r->f->st, &id), 1);
    committer cm = {
        .st = r->f->st, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, commit_thread, &cm), 0);
    assert_int_equal(stamp_version(r), v0); /* reads go on while the commit runs */
    store_batch_read_end(r->f->st);         /* another loop iteration meanwhile */
    assert_int_equal(stamp_version(r), v0); /* not ended yet: still the committed state */
    commit_release_and_join(&cm, t);
    assert_int_equal(store_batch_end(r->f->st, NULL), FD_OK);

    /* the batch has ended: the very next read must see it, not the kept stamp */
    int64_t v1 = stamp_version(r);
    assert_true(v1 > v0);
    assert_int_equal(v1, version_on_disk(r));
    assert_true(stamp_queries(r) > runs);
    rs_close(r);
}

/* A change committed by someone else on the same file (another process: the CLI, a restore)
 * shows from the next snapshot on: nothing is kept across snapshots. */
static void stamp_sees_another_connection_from_the_next_snapshot(void **state)
{
    (void)state;
    rs *r = rs_open();
    store_batch_read_end(r->f->st);
    int64_t v0 = stamp_version(r);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(r->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "UPDATE migrations SET version = version + 1 WHERE id = 'msk'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(stamp_version(r), v0); /* the snapshot that was open keeps its view */
    store_batch_read_end(r->f->st);
    assert_int_equal(stamp_version(r), v0 + 1);
    rs_close(r);
}

/* GET, tick, GET: the second GET shows the tick as soon as its batch has ended, and not before
 * (a batch still committing is not durable: showing it would promise what may be lost). Each
 * answer is what a fresh build from the read connection gives at that moment. */
static void cached_step_shows_the_tick_after_its_batch(void **state)
{
    (void)state;
    rs *r = rs_open();
    int64_t a = cx_step(r->f, 0, 0);
    int status;
    store_batch_read_end(r->f->st);

    char *b0 = get_step(r, a, &status);
    assert_int_equal(status, 200);
    expect_status(b0, "pending", "before the tick");
    char *b1 = get_step(r, a, &status); /* from the cache */
    assert_string_equal(b1, b0);
    free(b1);
    store_batch_read_end(r->f->st);

    tick(r, a, FD_STEP_TICK);
    b1 = get_step(r, a, &status);
    assert_string_equal(b1, b0); /* the batch is open: not committed yet */
    free(b1);

    uint64_t id = 0;
    assert_int_equal(store_batch_detach(r->f->st, &id), 1);
    committer cm = {
        .st = r->f->st, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, commit_thread, &cm), 0);
    b1 = get_step(r, a, &status); /* while the batch commits */
    assert_int_equal(status, 200);
    assert_string_equal(b1, b0);
    free(b1);
    store_batch_read_end(r->f->st);
    b1 = get_step(r, a, &status);
    assert_string_equal(b1, b0);
    free(b1);
    commit_release_and_join(&cm, t);
    assert_int_equal(store_batch_end(r->f->st, NULL), FD_OK);

    /* no read_end in between: store_batch_end itself must end the snapshot */
    char *b2 = get_step(r, a, &status);
    assert_int_equal(status, 200);
    expect_status(b2, "done", "after the tick's batch ended");
    char *b3 = get_step(r, a, &status); /* cached again, at the new stamp */
    assert_string_equal(b3, b2);
    free(b3);
    store_batch_read_end(r->f->st);

    /* and back: untick, commit inline, GET */
    tick(r, a, FD_STEP_UNTICK);
    assert_int_equal(store_batch_finish(r->f->st, NULL), FD_OK);
    b3 = get_step(r, a, &status);
    expect_status(b3, "pending", "after the untick");
    free(b3);
    free(b2);
    free(b0);
    rs_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stamp_is_kept_for_one_snapshot_only),
        cmocka_unit_test(stamp_sees_another_connection_from_the_next_snapshot),
        cmocka_unit_test(cached_step_shows_the_tick_after_its_batch),
    };
    fake_h2o_setup();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fake_h2o_teardown();
    return failed;
}
