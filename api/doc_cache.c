/*
 * doc_cache.c - rendered migration documents (see doc_cache.h).
 *
 * A handful of entries scanned linearly: with at most API_DOC_CACHE_SLOTS of them a scan is a
 * few dozen integer compares, cheaper than any index. Entries hold one reference to their bytes;
 * a request being answered from an entry holds another (linked to its pool), so an entry dropped
 * meanwhile never frees bytes still being written to a socket.
 */
#include "api/doc_cache.h"
#include "api/reply.h"

#include <stdio.h>
#include <string.h>

typedef struct doc_entry {
    char mid[FD_SLUG_MAX + 1]; /* "" = free */
    int64_t sid;               /* 0: the migration's document, else this step's */
    int64_t version;
    int64_t clock;
    int64_t etag; /* the version the reply names in its ETag */
    char *text;   /* h2o shared memory, one reference */
    size_t len;
    uint64_t used; /* recency clock */
} doc_entry;

static struct {
    int on;
    doc_entry slots[API_DOC_CACHE_SLOTS];
    size_t bytes; /* sum of the entries' len */
    uint64_t tick;
    uint64_t hits, misses;
} cache;

static void entry_drop(doc_entry *e)
{
    if (e->mid[0] == '\0')
        return;
    cache.bytes -= e->len;
    h2o_mem_release_shared(e->text);
    memset(e, 0, sizeof *e);
}

void api_doc_cache_enable(int on)
{
    if (!on)
        api_doc_cache_forget(NULL);
    cache.on = on != 0;
}

int api_doc_cache_enabled(void)
{
    return cache.on;
}

void api_doc_cache_forget(const char *mid)
{
    if (cache.bytes == 0)
        return; /* nothing kept: the common case for the event sink under write load */
    for (size_t i = 0; i < API_DOC_CACHE_SLOTS; i++) {
        doc_entry *e = &cache.slots[i];
        if (e->mid[0] != '\0' && (mid == NULL || strcmp(e->mid, mid) == 0))
            entry_drop(e);
    }
}

int api_doc_cache_get(h2o_mem_pool_t *pool, const char *mid, int64_t sid, const fd_doc_stamp *stamp,
                      h2o_iovec_t *text, int64_t *etag)
{
    if (!cache.on || !stamp->cacheable)
        return 0;
    for (size_t i = 0; i < API_DOC_CACHE_SLOTS; i++) {
        doc_entry *e = &cache.slots[i];
        if (e->mid[0] == '\0' || e->sid != sid || e->version != stamp->version ||
            e->clock != stamp->clock || strcmp(e->mid, mid) != 0)
            continue;
        e->used = ++cache.tick;
        h2o_mem_link_shared(pool, e->text);
        *text = h2o_iovec_init(e->text, e->len);
        *etag = e->etag;
        cache.hits++;
        return 1;
    }
    cache.misses++;
    return 0;
}

/* The entry to fill for (mid, sid): its own (one entry per document), else a free one, else the
 * least recently used. */
static doc_entry *slot_for(const char *mid, int64_t sid)
{
    doc_entry *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < API_DOC_CACHE_SLOTS; i++) {
        doc_entry *e = &cache.slots[i];
        if (e->mid[0] == '\0') {
            if (free_slot == NULL)
                free_slot = e;
            continue;
        }
        if (e->sid == sid && strcmp(e->mid, mid) == 0)
            return e;
        if (oldest == NULL || e->used < oldest->used)
            oldest = e;
    }
    return free_slot != NULL ? free_slot : oldest;
}

/* The least recently used entry other than `keep`, NULL when none. */
static doc_entry *oldest_other(const doc_entry *keep)
{
    doc_entry *oldest = NULL;
    for (size_t i = 0; i < API_DOC_CACHE_SLOTS; i++) {
        doc_entry *e = &cache.slots[i];
        if (e != keep && e->mid[0] != '\0' && (oldest == NULL || e->used < oldest->used))
            oldest = e;
    }
    return oldest;
}

void api_doc_cache_put(const char *mid, int64_t sid, const fd_doc_stamp *stamp, int64_t etag,
                       char *text, size_t len)
{
    if (text == NULL)
        return;
    if (!cache.on || !stamp->cacheable || len > API_DOC_CACHE_DOC_MAX ||
        strlen(mid) > FD_SLUG_MAX) {
        h2o_mem_release_shared(text);
        return;
    }
    doc_entry *e = slot_for(mid, sid);
    entry_drop(e);
    while (cache.bytes + len > API_DOC_CACHE_BYTES) {
        doc_entry *victim = oldest_other(e);
        if (victim == NULL)
            break;
        entry_drop(victim);
    }
    snprintf(e->mid, sizeof e->mid, "%s", mid);
    e->sid = sid;
    e->etag = etag;
    e->version = stamp->version;
    e->clock = stamp->clock;
    e->text = text;
    e->len = len;
    e->used = ++cache.tick;
    cache.bytes += len;
}

void api_doc_cache_stats(uint64_t *hits, uint64_t *misses)
{
    *hits = cache.hits;
    *misses = cache.misses;
}

int api_doc_cache_reply(api_call *c, const char *mid, int64_t sid, fd_doc_stamp *stamp)
{
    stamp->cacheable = 0;
    if (flight_doc_stamp(c->st, mid, stamp) != FD_OK)
        return 0; /* no such migration, or a failure: building the document says which */
    /* the migration's own ETag is its version: a client that has it needs nothing built */
    if (sid == 0 && api_reply_not_modified(c, stamp->version))
        return 1;
    h2o_iovec_t text;
    int64_t etag;
    if (!api_doc_cache_get(&c->req->pool, mid, sid, stamp, &text, &etag))
        return 0;
    api_reply_json_text(c, 200, text, etag);
    return 1;
}

void api_doc_cache_reply_built(api_call *c, const char *mid, int64_t sid, const fd_doc_stamp *stamp,
                               json_t *doc)
{
    int64_t etag = api_doc_version(doc);
    fd_doc_stamp now;
    /* kept only when nothing moved while it was built: a commit, a minute of the clock */
    if (cache.on && stamp->cacheable && (sid != 0 || etag == stamp->version) &&
        flight_doc_stamp(c->st, mid, &now) == FD_OK && now.version == stamp->version &&
        now.clock == stamp->clock) {
        size_t len = 0;
        char *text = api_json_render(doc, &len);
        if (text != NULL) {
            json_decref(doc);
            h2o_mem_link_shared(&c->req->pool, text); /* the reply's reference */
            api_reply_json_text(c, 200, h2o_iovec_init(text, len), etag);
            api_doc_cache_put(mid, sid, stamp, etag, text, len); /* takes ours */
            return;
        }
    }
    api_reply_json(c, 200, doc, etag);
}
