/*
 * hub.h - the event hub: server-sent event streams fed from committed audit events only.
 *
 * Lives on the event-loop thread, without locks (only a big fan-out's socket writes are shared with
 * one helper thread, behind a barrier: see server/hub_fanout.c). http.c creates it after the h2o
 * context, installs hub_emit as the store's event sink, and calls hub_shutdown on SIGTERM (ends
 * every stream) and hub_free after the loop has stopped.
 */
#ifndef FD_HUB_H
#define FD_HUB_H

#include <h2o.h>

#include "api/api.h"
#include "core/store.h"

typedef struct fd_hub fd_hub;

/* Create the hub on `ctx`'s loop, reading replays from `st` (its newest seq is where "now" starts).
 * Starts the 15 s heartbeat timer. Owned by the caller (hub_free); NULL when memory runs out. */
fd_hub *hub_new(h2o_context_t *ctx, fd_store *st);

/* The store's event sink (fd_event_sink.emit, arg = hub): push one committed event to every
 * matching stream. Call in commit order, after the commit. `json` is copied (formatted once for
 * all streams). A seq a stream already has (replayed, or handed over twice) is ignored. The
 * event is queued here and written to the sockets by a 0 ms timer, at the end of the loop
 * iteration: after the answers released by the same commit. */
void hub_emit(void *hub, int64_t seq, const char *migration, const char *action, const char *json,
              size_t len);

/* End every open stream (graceful shutdown: each gets FINAL after the send in flight, so clients
 * reconnect and resume); new streams are refused with 503 afterwards. */
void hub_shutdown(fd_hub *hub);

/* Number of streams receiving events (for /metrics and tests); a stream being ended does not
 * count. */
size_t hub_subscribers(fd_hub *hub);

/* Send the heartbeat comment (": hb") to every idle stream now. The hub's own 15 s timer calls
 * this; exposed for tests. */
void hub_heartbeat(fd_hub *hub);

/* Free the hub: call after the loop stopped and before the loop/context are disposed (it
 * disposes its timers, and stops and joins the fan-out thread if a flush started one: see
 * server/hub_fanout.c). Streams still open are detached and freed with their requests. NULL is
 * fine. */
void hub_free(fd_hub *hub);

/* Handlers, wired into server_routes[] (server/routes.c):
 *   GET /api/migrations/{mid}/events   GET /api/events   GET /api/migrations/{mid}/presence
 * The hub is found through the request's context (http.c sets it; see hub_set_current).
 *
 * The event handlers answer 200 text/event-stream (Cache-Control: no-store,
 * X-Accel-Buffering: no) and stream until the client goes, the hub shuts down or the client
 * falls too far behind; or 404 (unknown migration), 400 (Last-Event-ID / ?after= not a seq),
 * 503 (shutting down), as problem+json. Resume: Last-Event-ID, else ?after=<seq>. Wire format
 * and guarantees: see the top of server/hub.c. c->actor (when set) makes the stream count for
 * presence. Presence answers {"migration", "users": [{sub, name, role, since}]}, or 404. */
void hub_handle_events(api_call *c);
void hub_handle_events_all(api_call *c);
void hub_handle_presence(api_call *c);

/* The hub the handlers above use (one per process). */
void hub_set_current(fd_hub *hub);

#endif
