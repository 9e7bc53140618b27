/* store_alloc.c - per-thread free lists for SQLite's small blocks (see store_alloc.h).
 *
 * Every block carries a 16-byte header before what SQLite sees: its size class, or for a block
 * from glibc directly (bigger than the largest class) its size. Classes are powers of two from
 * 32 to 8192 bytes. */
#include "store_alloc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* AddressSanitizer: gcc says so with __SANITIZE_ADDRESS__, clang (the fuzzers) with
 * __has_feature */
#if defined(__SANITIZE_ADDRESS__)
#define STORE_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STORE_ALLOC_ASAN 1
#endif
#endif

#if defined(STORE_ALLOC_ASAN)

int store_alloc_install(void)
{
    return 0; /* glibc's allocator, so the sanitizer sees every block */
}

#else

#define HEADER 16
#define NCLASSES 9 /* 32, 64, ..., 8192 */
#define MIN_SHIFT 5
#define BIG UINT32_MAX /* the class of a block straight from glibc */

typedef struct header {
    uint32_t cls;
    uint32_t unused;
    uint64_t size; /* what SQLite may use */
} header;

typedef struct free_block {
    struct free_block *next;
} free_block;

typedef struct thread_lists {
    free_block *head[NCLASSES];
    unsigned count[NCLASSES];
    int registered; /* the key's destructor will hand the lists back */
} thread_lists;

static __thread thread_lists tl;
static pthread_key_t exit_key;

/* Blocks kept per class and thread: 512 small ones, ~192 KB of each bigger class. */
static const unsigned keep[NCLASSES] = {512, 512, 512, 512, 384, 192, 96, 48, 24};

static size_t class_size(unsigned cls)
{
    return (size_t)1 << (cls + MIN_SHIFT);
}

/* The class for n bytes, or BIG. */
static uint32_t class_of(size_t n)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        if (n <= class_size(c))
            return c;
    return BIG;
}

static void hand_back(void *arg)
{
    thread_lists *l = arg;
    for (unsigned c = 0; c < NCLASSES; c++) {
        while (l->head[c] != NULL) {
            free_block *b = l->head[c];
            l->head[c] = b->next;
            free((char *)b - HEADER);
        }
        l->count[c] = 0;
    }
    l->registered = 0;
}

static void *a_malloc(int n)
{
    if (n <= 0)
        return NULL;
    uint32_t cls = class_of((size_t)n);
    if (cls != BIG && tl.head[cls] != NULL) {
        free_block *b = tl.head[cls];
        tl.head[cls] = b->next;
        tl.count[cls]--;
        return b;
    }
    size_t size = cls == BIG ? (size_t)n : class_size(cls);
    header *h = malloc(HEADER + size);
    if (h == NULL)
        return NULL;
    h->cls = cls;
    h->size = size;
    return (char *)h + HEADER;
}

static void a_free(void *p)
{
    if (p == NULL)
        return;
    header *h = (header *)((char *)p - HEADER);
    uint32_t cls = h->cls;
    if (cls == BIG || tl.count[cls] >= keep[cls]) {
        free(h);
        return;
    }
    if (!tl.registered) { /* this thread's lists go back to glibc when it ends */
        tl.registered = 1;
        pthread_setspecific(exit_key, &tl);
    }
    free_block *b = p;
    b->next = tl.head[cls];
    tl.head[cls] = b;
    tl.count[cls]++;
}

static int a_size(void *p)
{
    if (p == NULL)
        return 0;
    return (int)((header *)((char *)p - HEADER))->size;
}

static void *a_realloc(void *p, int n)
{
    if (p == NULL)
        return a_malloc(n);
    if ((size_t)n <= (size_t)a_size(p))
        return p; /* fits where it is (SQLite only ever grows blocks this way) */
    void *q = a_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, (size_t)a_size(p));
    a_free(p);
    return q;
}

static int a_roundup(int n)
{
    uint32_t cls = class_of((size_t)(n > 0 ? n : 1));
    return cls == BIG ? (n + 7) & ~7 : (int)class_size(cls);
}

static int a_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void a_shutdown(void *arg)
{
    (void)arg;
}

int store_alloc_install(void)
{
    const char *knob = getenv("FLIGHTDECK_SQLITE_MALLOC");
    if (knob != NULL && strcmp(knob, "system") == 0)
        return 0;
    if (pthread_key_create(&exit_key, hand_back) != 0)
        return 0;
    static const sqlite3_mem_methods methods = {a_malloc, a_free,     a_realloc, a_size,
                                                a_roundup, a_init, a_shutdown, NULL};
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK ? 1 : -1;
}

#endif
