/*
 * doc_cache.h - rendered documents of a migration, kept so repeated GET /api/migrations/{mid}
 * (and .../steps/{sid}) send the same bytes again instead of building and dumping a document of
 * hundreds of steps.
 *
 * An entry is the exact reply body (api_json_render) of one document of a migration (the whole
 * migration, sid 0, or one step) for one stamp of the migration (flight.h: fd_doc_stamp, the
 * version plus the interval of the running stage's clock), with the version its ETag names; a
 * lookup with another stamp misses. A step is part of its migration: any change to it bumps the
 * migration's version. On top of the stamp, every committed audit event of a
 * migration drops its entry (api_doc_cache_forget from the server's event sink; an event outside
 * any migration drops everything), so a change that forgot to bump the version still cannot be
 * hidden by the cache. The document does not depend on who asks, so entries are shared by all
 * callers.
 *
 * Bounds: API_DOC_CACHE_SLOTS migrations and API_DOC_CACHE_BYTES bytes in all, least recently
 * used first out; one entry per document; a document over API_DOC_CACHE_DOC_MAX is not kept.
 *
 * Off until the server turns it on (api_doc_cache_enable): a process serving one store at a time.
 * The cache is keyed by migration id, not by store, so it must not outlive the store it was
 * filled from; tests that open many stores leave it off or turn it off between stores.
 * Event-loop thread only; no locks.
 */
#ifndef FD_API_DOC_CACHE_H
#define FD_API_DOC_CACHE_H

#include <h2o.h>
#include <stdint.h>

#include "api/api.h"
#include "core/flight.h"

#define API_DOC_CACHE_SLOTS 64
#define API_DOC_CACHE_BYTES (4u * 1024 * 1024)
#define API_DOC_CACHE_DOC_MAX (1024u * 1024)

/* Turn the cache on (1) or off (0: everything is dropped). */
void api_doc_cache_enable(int on);

/* 1 when the cache is on. */
int api_doc_cache_enabled(void);

/* Drop the entries of `mid`; NULL drops every entry. */
void api_doc_cache_forget(const char *mid);

/* The rendered document (mid, sid) at `stamp`: 1 with *text set (kept alive until `pool` is
 * cleared) and *etag, or 0 on a miss. */
int api_doc_cache_get(h2o_mem_pool_t *pool, const char *mid, int64_t sid, const fd_doc_stamp *stamp,
                      h2o_iovec_t *text, int64_t *etag);

/* Keep `text` (len bytes of h2o shared memory from api_json_render; the caller's reference is
 * stolen, whatever happens) as the document (mid, sid) at `stamp`, whose ETag names `etag`. */
void api_doc_cache_put(const char *mid, int64_t sid, const fd_doc_stamp *stamp, int64_t etag,
                       char *text, size_t len);

/*
 * For a GET handler, before it builds anything: read the stamp of `mid` into *stamp and answer
 * from the cache when it can (or 304 when sid is 0 and If-None-Match names the version).
 * Returns 1 when the request was answered, 0 when the handler must build the document.
 */
int api_doc_cache_reply(api_call *c, const char *mid, int64_t sid, fd_doc_stamp *stamp);

/* Answer 200 with `doc` (stolen), the document (mid, sid) just built after
 * api_doc_cache_reply returned 0 with `stamp`; keeps its rendering when the stamp still holds.
 * ETag: the document's "version". */
void api_doc_cache_reply_built(api_call *c, const char *mid, int64_t sid, const fd_doc_stamp *stamp,
                               json_t *doc);

/* Counters since the process started (tests, /metrics). */
void api_doc_cache_stats(uint64_t *hits, uint64_t *misses);

#endif
