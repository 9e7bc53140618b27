/*
 * hub.h - the event hub: server-sent event streams fed from committed audit events only.
 *
 * Lives on the event-loop thread; no locks. http.c creates it after the h2o context, installs
 * hub_emit as the store's event sink, and calls hub_shutdown on SIGTERM (ends every stream) and
 * hub_free after the loop has stopped.
 */
#ifndef FD_HUB_H
#define FD_HUB_H

#include <h2o.h>

#include "api/api.h"
#include "core/store.h"

typedef struct fd_hub fd_hub;

/* Create the hub on `ctx`'s loop, reading replays from `st`. Owned by the caller (hub_free). */
fd_hub *hub_new(h2o_context_t *ctx, fd_store *st);

/* The store's event sink (fd_event_sink.emit, arg = hub): push one committed event to every
 * matching stream. */
void hub_emit(void *hub, int64_t seq, const char *migration, const char *action, const char *json,
              size_t len);

/* End every open stream (graceful shutdown); no new streams are accepted afterwards. */
void hub_shutdown(fd_hub *hub);

/* Number of open streams (for /metrics and tests). */
size_t hub_subscribers(fd_hub *hub);

void hub_free(fd_hub *hub);

/* Handlers, wired into server_routes[] (server/routes.c):
 *   GET /api/migrations/{mid}/events   GET /api/events   GET /api/migrations/{mid}/presence
 * The hub is found through the request's context (http.c sets it; see hub_set_current). */
void hub_handle_events(api_call *c);
void hub_handle_events_all(api_call *c);
void hub_handle_presence(api_call *c);

/* The hub the handlers above use (one per process). */
void hub_set_current(fd_hub *hub);

#endif
