/*
 * github.h - the GitHub port of core/github.h, implemented with one curl worker thread, and the
 * timer that keeps rollback PRs checked.
 *
 *   core (loop) -- submit(job) --> queue (mutex + condition variable) --> worker: blocking curl
 *   calls, in the order core/github.h prescribes (retries and backoff sleep here, never on the
 *   loop) --> h2o_multithread_send_message --> loop: job->done(job) (core records and answers)
 *
 * The loop never waits on GitHub: a slow or silent GitHub delays only the requests that asked
 * it. The timer (loop) starts a check of every rollback that is due (rollback_recheck_due).
 *
 * Configuration (server/config.h): FLIGHTDECK_GITHUB_API (default https://api.github.com),
 * FLIGHTDECK_GITHUB_TOKEN or _FILE (never logged, never answered),
 * FLIGHTDECK_GITHUB_TIMEOUT_SECONDS (each call, default 10), FLIGHTDECK_ROLLBACK_CHECK_SECONDS
 * (default 60). curl_global_init must have run before github_start (main does it before any
 * thread).
 */
#ifndef FD_SERVER_GITHUB_H
#define FD_SERVER_GITHUB_H

#include <h2o.h>

#include "core/github.h"
#include "core/store.h"
#include "server/config.h"

/* Start the worker and the check timer on `ctx`'s loop for `st` (borrowed). Returns the port to
 * install in fd_ports.github, valid until github_stop; NULL when the thread could not start
 * (a message has been printed). One per process. */
const fd_github *github_start(h2o_context_t *ctx, fd_store *st, const fd_config *cfg);

/* Stop: the call in progress is cut short, jobs not yet run are completed as unanswered, the
 * answers that came back are handed to core, and everything is released. Loop thread, before
 * the context is disposed and while the store's ports are still installed. Safe when not
 * started. */
void github_stop(void);

#endif
