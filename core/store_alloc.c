/* store_alloc.c - per-thread free lists for SQLite's small blocks (see store_alloc.h).
 *
 * Every block carries a 16-byte header before what SQLite sees: its size class, and the size
 * SQLite may use (the class's size, or for a block straight from glibc, bigger than the largest
 * class, the size asked). The header keeps what SQLite sees 16-byte aligned, as glibc's blocks
 * are.
 *
 * Classes: two per power of two, 32, 48, 64, 96, 128, 192, ... 3072, 4096 bytes, so a block
 * wastes at most a third of itself (SQLite asks for many sizes just over a power of two:
 * 65, 520, 608 bytes). Bigger blocks are rare in a tick (~1 in 1,000) and mostly long-lived:
 * the page cache's pages (4,360 bytes each), which a class of 6 KiB would waste ~40 % of. */
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
#define NCLASSES 15    /* 32, 48, 64, 96, ..., 3072, 4096 */
#define LARGEST 4096   /* bigger blocks come straight from glibc */
#define BIG UINT32_MAX /* the class of a block straight from glibc */
/* What a thread keeps of each class: 32 KiB of it (8 blocks of 4 KiB, 1,024 of 32 bytes). Of the
 * ~70 SQLite blocks of a durable tick, almost all come from a list (callgrind: ~1 in 300 from
 * glibc, big blocks included; a quarter of this cap made it ~1 in 6 and RSS no lower), and a
 * thread holds at most ~0.5 MB on its lists. */
#define KEEP_BYTES 32768

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

static const uint32_t class_size[NCLASSES] = {32,  48,  64,   96,   128,  192,  256, 384,
                                              512, 768, 1024, 1536, 2048, 3072, 4096};
static unsigned keep[NCLASSES]; /* filled in by store_alloc_install */

/* The class for n bytes (1 <= n <= LARGEST). Above 32, with 2^b < n <= 2^(b+1): the lower class
 * of that pair (1.5 * 2^b) if n fits it, else the upper (2^(b+1)); the bit below the top bit of
 * n - 1 says which. */
static uint32_t class_of(size_t n)
{
    if (n <= 32)
        return 0;
    size_t m = n - 1;
    unsigned b = 63u - (unsigned)__builtin_clzll(m); /* m's top bit: 5 .. 11 */
    unsigned upper = (unsigned)(m >> (b - 1)) & 1u;
    return 1u + 2u * (b - 5u) + upper;
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

/* A new block of class cls (BIG: of size bytes) from glibc. Not inlined: the common case, a
 * block from a list, then needs no stack frame. */
static __attribute__((noinline)) void *from_glibc(uint32_t cls, size_t size)
{
    header *h = malloc(HEADER + size);
    if (h == NULL)
        return NULL;
    h->cls = cls;
    h->size = size;
    return (char *)h + HEADER;
}

static void *a_malloc(int n)
{
    if (n <= 0)
        return NULL;
    if (n > LARGEST)
        return from_glibc(BIG, (size_t)n);
    uint32_t cls = class_of((size_t)n);
    free_block *b = tl.head[cls];
    if (b == NULL)
        return from_glibc(cls, class_size[cls]);
    tl.head[cls] = b->next;
    tl.count[cls]--;
    return b;
}

/* Put block p on this thread's list of class cls. */
static void keep_block(void *p, uint32_t cls)
{
    free_block *b = p;
    b->next = tl.head[cls];
    tl.head[cls] = b;
    tl.count[cls]++;
}

/* The first block a thread keeps: from now on its lists go back to glibc when it ends. Not
 * inlined, so that a_free needs no stack frame. */
static __attribute__((noinline)) void keep_first_block(void *p, uint32_t cls)
{
    tl.registered = 1;
    pthread_setspecific(exit_key, &tl);
    keep_block(p, cls);
}

static void a_free(void *p)
{
    if (p == NULL)
        return;
    header *h = (header *)((char *)p - HEADER);
    uint32_t cls = h->cls;
    if (cls == BIG || tl.count[cls] >= keep[cls])
        free(h);
    else if (!tl.registered)
        keep_first_block(p, cls);
    else
        keep_block(p, cls);
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
    if (n <= 0) { /* SQLite never asks this (sqlite3_realloc frees by itself): as glibc does */
        a_free(p);
        return NULL;
    }
    header *h = (header *)((char *)p - HEADER);
    if (h->cls == BIG && n > LARGEST) {
        /* big to big: glibc's realloc, which can grow or shrink in place */
        header *g = realloc(h, HEADER + (size_t)n);
        if (g == NULL)
            return NULL;
        g->size = (size_t)n;
        return (char *)g + HEADER;
    }
    if (h->cls != BIG && (size_t)n <= h->size)
        return p; /* fits in its class: SQLite sees the class's size through a_size */
    void *q = a_malloc(n);
    if (q == NULL)
        return NULL;
    size_t copy = (size_t)n < h->size ? (size_t)n : h->size;
    memcpy(q, p, copy);
    a_free(p);
    return q;
}

static int a_roundup(int n)
{
    if (n <= 0)
        return (int)class_size[0];
    if (n > LARGEST)
        return (n + 7) & ~7;
    return (int)class_size[class_of((size_t)n)];
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
    for (unsigned c = 0; c < NCLASSES; c++)
        keep[c] = KEEP_BYTES / class_size[c];
    if (pthread_key_create(&exit_key, hand_back) != 0)
        return 0;
    static const sqlite3_mem_methods methods = {a_malloc,  a_free, a_realloc,  a_size,
                                                a_roundup, a_init, a_shutdown, NULL};
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK ? 1 : -1;
}

#endif
