/*
 * test_store_vfs.c - the VFS that gathers the write-ahead log's appends (core/store_vfs.c):
 * commits of every size read back the same through another connection, a transaction that
 * spills pages into the log before its commit (and rewrites them) stays whole, a rollback leaves
 * nothing, the database passes integrity_check, and the appends were in fact gathered (fewer
 * writes of the real file than SQLite asked for).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/store_vfs.h"

static char path[64];

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static long long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void remove_files(void)
{
    char side[80];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_ok(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL");
    return db;
}

/* Inserts `n` rows of ~`size` bytes in one transaction. */
static void insert_rows(sqlite3 *db, int from, int n, int size)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO t(id, v) VALUES (?, randomblob(?))", -1, &s, NULL),
        SQLITE_OK);
    for (int i = from; i < from + n; i++) {
        sqlite3_bind_int(s, 1, i);
        sqlite3_bind_int(s, 2, size);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
}

static void commits_of_every_size_read_back(void **state)
{
    (void)state;
    remove_files();
    sqlite3 *w = open_db(), *r = open_db();
    exec_ok(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    long long f0, w0, f1, w1;
    store_vfs_counts(&f0, &w0);
    int total = 0;
    /* 1 row; ~30 pages (a batch of ticks); ~40 pages per piece boundary; > 1 MiB (the cap) */
    const int sizes[][2] = {{1, 100}, {30, 3000}, {40, 3300}, {400, 3000}, {1, 100000}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        exec_ok(w, "BEGIN IMMEDIATE");
        insert_rows(w, total, sizes[k][0], sizes[k][1]);
        exec_ok(w, "COMMIT");
        total += sizes[k][0];
        assert_int_equal(count(r, "SELECT count(*) FROM t"), total);
    }
    store_vfs_counts(&f1, &w1);
    printf("  %lld writes asked, %lld gathered writes out\n", w1 - w0, f1 - f0);
    assert_true(f1 - f0 > 0);
    assert_true((f1 - f0) * 4 < w1 - w0); /* the log's frames went out together */
    assert_int_equal(count(r, "SELECT count(*) FROM pragma_integrity_check WHERE "
                              "integrity_check <> 'ok'"),
                     0);
    sqlite3_close(r);
    sqlite3_close(w);
    /* and from the files alone, after both connections closed */
    sqlite3 *again = open_db();
    assert_int_equal(count(again, "SELECT count(*) FROM t"), total);
    sqlite3_close(again);
    remove_files();
}

/* A transaction bigger than the page cache writes pages into the log before its COMMIT, reads
 * them back, and rewrites some (SQLite overwrites a frame of its own transaction in place). */
static void spilled_and_rewritten_pages_stay_whole(void **state)
{
    (void)state;
    remove_files();
    sqlite3 *w = open_db();
    exec_ok(w, "PRAGMA cache_size = 50; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    exec_ok(w, "BEGIN IMMEDIATE");
    insert_rows(w, 0, 3000, 500);
    exec_ok(w, "UPDATE t SET v = randomblob(400) WHERE id % 7 = 0");
    exec_ok(w, "UPDATE t SET v = randomblob(600) WHERE id % 5 = 0");
    exec_ok(w, "COMMIT");
    exec_ok(w, "BEGIN IMMEDIATE");
    insert_rows(w, 3000, 2000, 500);
    exec_ok(w, "ROLLBACK"); /* spilled frames of a rolled-back transaction are never seen */
    sqlite3 *r = open_db();
    assert_int_equal(count(r, "SELECT count(*) FROM t"), 3000);
    assert_int_equal(count(r, "SELECT count(*) FROM t WHERE id % 5 = 0 AND length(v) <> 600"), 0);
    assert_int_equal(count(r, "SELECT count(*) FROM t WHERE id % 5 <> 0 AND id % 7 = 0 AND "
                              "length(v) <> 400"),
                     0);
    assert_int_equal(count(r, "SELECT count(*) FROM pragma_integrity_check WHERE "
                              "integrity_check <> 'ok'"),
                     0);
    exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)"); /* the log starts over: its header rewritten */
    exec_ok(w, "BEGIN IMMEDIATE");
    insert_rows(w, 3000, 10, 100);
    exec_ok(w, "COMMIT");
    assert_int_equal(count(r, "SELECT count(*) FROM t"), 3010);
    sqlite3_close(r);
    sqlite3_close(w);
    remove_files();
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/fd-vfs-%d.db", (int)getpid());
    if (store_vfs_install() != 0) {
        fprintf(stderr, "the VFS did not install\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commits_of_every_size_read_back),
        cmocka_unit_test(spilled_and_rewritten_pages_stay_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
