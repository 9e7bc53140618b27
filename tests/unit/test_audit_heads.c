/*
 * test_audit_heads.c - the write connection's cache of the audit log's heads (the last seq and
 * each chain's last hash, store_audit_cache in core/store_sqlite.h) never makes an append chain
 * onto something that is not the log's real head: not after a unit rolled back, not when a unit
 * appends to more chains than the cache keeps, not when another connection appended meanwhile.
 * A cache that got any of these wrong would reuse a seq (the INSERT fails) or link an event to
 * a hash that is not its predecessor's (audit_verify says "prev_hash mismatch").
 *
 * The appends go through audit_append in units of the store's own (store_begin, store_commit,
 * store_rollback), on a database file so that a second store can open it too.
 */
#include <stdlib.h>
#include <unistd.h>

#include "core_fixture.h"
#include "core/store_sqlite.h"

#define NCHAINS (STORE_AUDIT_HEADS + 3) /* more chains than the cache keeps */

typedef struct heads_db {
    char path[64];
    fixture *f;
} heads_db;

static heads_db *db_open(void)
{
    heads_db *d = calloc(1, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/fd-heads-XXXXXX");
    int fd = mkstemp(d->path);
    assert_true(fd >= 0);
    close(fd);
    d->f = fix_open_path(d->path);
    return d;
}

static void db_close(heads_db *d)
{
    char side[80];
    fix_close(d->f);
    unlink(d->path);
    snprintf(side, sizeof side, "%s-wal", d->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", d->path);
    unlink(side);
    free(d);
}

static void append(fixture *f, const char *chain)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, "req-heads");
    f->now += 1;
    fd_err e = audit_append(f->st, &ctx, chain, "test.append", "t", NULL, NULL, NULL);
    if (e != FD_OK)
        fail_msg("append to %s: %s (%s)", chain ? chain : "(global)", fd_err_name(e),
                 store_last_error(f->st));
}

static void chain_name(char *out, size_t n, int i)
{
    snprintf(out, n, "chain-%02d", i);
}

/* The chain's events as stored, checked by the rules of an archive's verification (the
 * chains here belong to no migration, which audit_verify wants). */
static void assert_chain(fixture *f, const char *chain, int events)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->st->db,
                                        "SELECT event FROM audit WHERE migration IS ?1 ORDER BY seq",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, chain, -1, SQLITE_STATIC);
    json_t *all = json_array();
    while (sqlite3_step(s) == SQLITE_ROW)
        json_array_append_new(all, fix_json((const char *)sqlite3_column_text(s, 0)));
    sqlite3_finalize(s);
    json_t *v = NULL;
    assert_int_equal(audit_verify_events(all, &v), FD_OK);
    json_decref(all);
    if (!json_is_true(json_object_get(v, "ok")))
        fail_msg("chain %s broken: %s", chain ? chain : "(global)", json_dumps(v, 0));
    assert_int_equal(json_integer_value(json_object_get(v, "events")), events);
    json_decref(v);
}

/* Seqs are 1..n without a gap: nothing was reused or skipped. */
static void assert_seqs(fixture *f, int64_t n)
{
    assert_int_equal(audit_last_seq(f->st), n);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->st->db, "SELECT count(*), min(seq) FROM audit", -1, &s,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(s, 0), n);
    assert_int_equal(sqlite3_column_int64(s, 1), 1);
    sqlite3_finalize(s);
}

/* A unit that appended and then rolled back leaves no trace: the next append takes its seq and
 * chains onto what was there before it, on a migration's chain and on the global one. */
static void test_a_rolled_back_unit_takes_its_heads_along(void **state)
{
    (void)state;
    heads_db *d = db_open();
    fixture *f = d->f;
    assert_int_equal(store_begin(f->st), FD_OK);
    append(f, "m1");
    append(f, NULL);
    assert_int_equal(store_commit(f->st), FD_OK);

    assert_int_equal(store_begin(f->st), FD_OK);
    append(f, "m1");
    append(f, NULL);
    append(f, "m1");
    store_rollback(f->st);

    assert_int_equal(store_begin(f->st), FD_OK);
    append(f, "m1");
    append(f, NULL);
    assert_int_equal(store_commit(f->st), FD_OK);
    assert_chain(f, "m1", 2);
    assert_chain(f, NULL, 2);
    assert_seqs(f, 4);
    db_close(d);
}

/* One unit appends to a chain, then to more chains than the cache has room for, then to the
 * first again: that last append must follow the unit's own first one, not what was known of the
 * chain before the unit. Then more units do the same across all the chains. */
static void test_more_chains_than_the_cache_keeps(void **state)
{
    (void)state;
    heads_db *d = db_open();
    fixture *f = d->f;
    char name[32];
    int counts[NCHAINS] = {0};
    int64_t total = 0;
    /* first, as many chains as the cache keeps, chain-00 last: all known after this unit */
    assert_int_equal(store_begin(f->st), FD_OK);
    for (int i = 1; i <= STORE_AUDIT_HEADS; i++) {
        chain_name(name, sizeof name, i % STORE_AUDIT_HEADS);
        append(f, name);
        counts[i % STORE_AUDIT_HEADS]++;
        total++;
    }
    assert_int_equal(store_commit(f->st), FD_OK);
    /* chain-00, the others, one more (the unit has now appended to more chains than are
     * kept), and chain-00 again */
    assert_int_equal(store_begin(f->st), FD_OK);
    for (int i = 0; i <= STORE_AUDIT_HEADS; i++) {
        chain_name(name, sizeof name, i);
        append(f, name);
        counts[i]++;
        total++;
    }
    append(f, "chain-00");
    counts[0]++;
    total++;
    assert_int_equal(store_commit(f->st), FD_OK);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(store_begin(f->st), FD_OK);
        for (int i = 0; i < NCHAINS; i++) {
            chain_name(name, sizeof name, i);
            append(f, name);
            counts[i]++;
            total++;
        }
        for (int i = 0; i < NCHAINS; i += 4) { /* kept and not kept, in the same unit */
            chain_name(name, sizeof name, i);
            append(f, name);
            counts[i]++;
            total++;
        }
        assert_int_equal(store_commit(f->st), FD_OK);
    }
    for (int i = 0; i < NCHAINS; i++) {
        chain_name(name, sizeof name, i);
        assert_chain(f, name, counts[i]);
    }
    assert_seqs(f, total);
    db_close(d);
}

/* Another connection (a second process, say) appends between our units: our next append
 * follows its events, whatever we had cached. */
static void test_appends_by_another_connection_are_seen(void **state)
{
    (void)state;
    heads_db *d = db_open();
    fixture *f = d->f;
    fixture *other = fix_open_path(d->path);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(store_begin(f->st), FD_OK);
        append(f, "shared");
        append(f, "ours");
        assert_int_equal(store_commit(f->st), FD_OK);

        assert_int_equal(store_begin(other->st), FD_OK);
        append(other, "shared");
        append(other, NULL);
        assert_int_equal(store_commit(other->st), FD_OK);
    }
    assert_int_equal(store_begin(f->st), FD_OK);
    append(f, "shared");
    append(f, NULL);
    assert_int_equal(store_commit(f->st), FD_OK);
    assert_chain(f, "shared", 9);
    assert_chain(f, "ours", 4);
    assert_chain(f, NULL, 5);
    assert_seqs(f, 18);
    fix_close(other);
    db_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_rolled_back_unit_takes_its_heads_along),
        cmocka_unit_test(test_more_chains_than_the_cache_keeps),
        cmocka_unit_test(test_appends_by_another_connection_are_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
