/*
 * test_store_alloc.c - SQLite's allocator (core/store_alloc.c): it is what SQLite uses once
 * installed; blocks of every size hold what was written, grow by realloc with their content,
 * report a usable size at least the one asked (and at most a third more); blocks taken on one
 * thread and freed on another, by many threads at once, come out intact; the lists of threads
 * that end go back to glibc; SQLite runs on it. Under AddressSanitizer nothing is installed
 * (glibc's stays, for the sanitizer); the block tests still run, on SQLite's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store_alloc.h"

static int installed;

static void fill(unsigned char *p, int n, unsigned seed)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31u + (unsigned)i);
}

static int same(const unsigned char *p, int n, unsigned seed)
{
    for (int i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31u + (unsigned)i))
            return 0;
    return 1;
}

static void blocks_of_every_size(void **state)
{
    (void)state;
    static const int sizes[] = {1, 7, 16, 31, 32, 33, 100, 255, 256, 1000, 4095, 4096,
                                4097, 8191, 8192, 8193, 70000, 1 << 20};
    void *p[sizeof sizes / sizeof sizes[0]];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        p[k] = sqlite3_malloc(sizes[k]);
        assert_non_null(p[k]);
        assert_true(sqlite3_msize(p[k]) >= (sqlite3_uint64)sizes[k]);
        assert_int_equal((uintptr_t)p[k] % 8, 0);
        fill(p[k], sizes[k], (unsigned)k);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        assert_true(same(p[k], sizes[k], (unsigned)k));
        sqlite3_free(p[k]);
    }
    /* realloc keeps the content, through every class and out of them */
    int n = 10;
    unsigned char *b = sqlite3_malloc(n);
    fill(b, n, 99);
    for (int grow = 20; grow < 200000; grow = grow * 3 + 1) {
        b = sqlite3_realloc(b, grow);
        assert_non_null(b);
        assert_true(same(b, n, 99));
        fill(b, grow, 99);
        n = grow;
    }
    b = sqlite3_realloc(b, 30000); /* shrinking keeps the start: big to big, */
    assert_non_null(b);
    assert_true(same(b, 30000, 99));
    b = sqlite3_realloc(b, 3000); /* big into a class, */
    assert_non_null(b);
    assert_true(same(b, 3000, 99));
    b = sqlite3_realloc(b, 5); /* a class into a smaller one's size */
    assert_true(same(b, 5, 99));
    sqlite3_free(b);
    sqlite3_free(NULL);
}

/* Each thread takes blocks, writes them, and frees the blocks another thread took. */
#define THREADS 4
#define ROUNDS 200
#define PER 64
static void *slots[THREADS][PER];
static int slot_size[THREADS][PER];
static pthread_barrier_t bar;

static void *crosswise(void *arg)
{
    int me = (int)(intptr_t)arg, other = (me + 1) % THREADS;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PER; i++) {
            int size = 1 + (r * 37 + i * 101 + me * 13) % 9000;
            slots[me][i] = sqlite3_malloc(size);
            slot_size[me][i] = size;
            if (slots[me][i] != NULL)
                fill(slots[me][i], size, (unsigned)(me + i));
        }
        pthread_barrier_wait(&bar);
        int bad = 0;
        for (int i = 0; i < PER; i++) {
            if (slots[other][i] == NULL || !same(slots[other][i], slot_size[other][i],
                                                 (unsigned)(other + i)))
                bad++;
            sqlite3_free(slots[other][i]);
        }
        pthread_barrier_wait(&bar);
        if (bad)
            return (void *)1;
    }
    return NULL;
}

static void blocks_freed_on_other_threads(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    pthread_barrier_init(&bar, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, crosswise, (void *)(intptr_t)i), 0);
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        bad += r != NULL;
    }
    pthread_barrier_destroy(&bar);
    assert_int_equal(bad, 0);
}

static void sqlite_runs_on_it(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    char *err = NULL;
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
                                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                  "WHERE i < 20000) INSERT INTO t SELECT i, hex(randomblob(i % 700)) "
                                  "FROM n;",
                                  NULL, NULL, &err),
                     SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*), sum(length(b)) FROM t", -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 20000);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Every size up to past the largest class (4 KiB): SQLite may use all of what sqlite3_msize says
 * (it does, for its registers), so a block must hold at least that, and wastes at most a third. */
static void usable_size_of_every_size(void **state)
{
    (void)state;
    for (int n = 1; n <= 8300; n++) {
        unsigned char *p = sqlite3_malloc(n);
        assert_non_null(p);
        int usable = (int)sqlite3_msize(p);
        assert_true(usable >= n);
        memset(p, 0xa5, (size_t)usable); /* the whole usable size is ours to write */
        if (installed == 1) {
            if (n > 4096) /* the largest class */
                assert_int_equal(usable, (n + 7) & ~7); /* from glibc; SQLite asks ROUND8(n) */
            else
                assert_true(usable <= 32 || usable * 2 <= n * 3);
        }
        sqlite3_free(p);
    }
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

/* A thread that fills its lists (every class; the bigger ones past their caps) and ends. */
static void *fill_lists_and_end(void *arg)
{
    (void)arg;
    enum { N = 64 };
    void *p[N];
    for (int size = 24; size <= 4096; size = size * 3 / 2) {
        for (int i = 0; i < N; i++)
            p[i] = sqlite3_malloc(size);
        for (int i = 0; i < N; i++)
            sqlite3_free(p[i]);
    }
    return NULL;
}

/* The lists of a thread that ends go back to glibc: 300 threads that each leave ~0.4 MB on their
 * lists would otherwise grow the process by ~100 MB. */
static void lists_of_ended_threads_go_back(void **state)
{
    (void)state;
    if (installed != 1)
        skip(); /* glibc's allocator; under AddressSanitizer its quarantine holds freed blocks */
    long before = rss_kb();
    for (int i = 0; i < 300; i++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, fill_lists_and_end, NULL), 0);
        pthread_join(t, NULL);
    }
    long after = rss_kb();
    print_message("VmRSS %ld kB before, %ld kB after\n", before, after);
    assert_true(after - before < 32 * 1024);
}

static void installed_unless_sanitized(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__) /* the unit tests build with gcc */
    assert_int_equal(installed, 0);
#else
    assert_int_equal(installed, 1);
    /* a block of 100 bytes sits in the 128-byte class: SQLite sees our size, not glibc's */
    void *p = sqlite3_malloc(100);
    assert_int_equal(sqlite3_msize(p), 128);
    sqlite3_free(p);
#endif
}

int main(void)
{
    unsetenv("FLIGHTDECK_SQLITE_MALLOC"); /* test the allocator, whatever the caller's setting */
    installed = store_alloc_install();
    printf("store_alloc: %s\n", installed == 1 ? "installed" : "SQLite's own allocator");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(installed_unless_sanitized),
        cmocka_unit_test(blocks_of_every_size),
        cmocka_unit_test(usable_size_of_every_size),
        cmocka_unit_test(blocks_freed_on_other_threads),
        cmocka_unit_test(lists_of_ended_threads_go_back),
        cmocka_unit_test(sqlite_runs_on_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
