/*
 * metrics.h - GET /metrics: flightdeck's own health in the Prometheus text format (0.0.4), so
 * the team running it can put flightdeck itself on its six-pack.
 *
 * Built in:
 *   flightdeck_http_requests_total{route,method,status}           counter
 *   flightdeck_http_request_duration_seconds{route,method}        histogram, 0.5 ms .. 5 s
 *   flightdeck_store_commits_total, _commit_errors_total           counters
 *   flightdeck_store_commit_duration_seconds                       histogram
 *   flightdeck_store_commit_batch_size                             histogram (mutations/commit)
 *   flightdeck_event_subscribers                                   gauge
 *   flightdeck_rate_limited_total                                  counter
 *   process_resident_memory_bytes, process_open_fds, process_start_time_seconds
 * `route` is the matched pattern ("/api/migrations/{mid}"), "(static)" for files of the web UI
 * and "(none)" for requests that matched nothing, so the number of series stays bounded
 * whatever clients send; unknown methods are counted as "OTHER".
 *
 * Other modules add their own series with metrics_gauge_fn / metrics_counter_fn, e.g. the
 * webhook worker:
 *     metrics_gauge_fn("flightdeck_webhook_queue_depth", "Webhook deliveries waiting.",
 *                      webhook_depth, wh);
 *     metrics_counter_fn("flightdeck_github_calls_total{outcome=\"ok\"}",
 *                        "GitHub API calls by outcome.", github_ok, gh);
 * A name may carry a label set; registrations with the same name before '{' form one family
 * (one HELP/TYPE header), so register them together.
 *
 * GET /metrics is public unless FLIGHTDECK_METRICS_TOKEN is set; then it wants
 * "Authorization: Bearer <that token>" (a static scrape secret, not a JWT).
 *
 * Thread rule: everything here runs on the event-loop thread, including the registered
 * functions (called while rendering); a function reading a worker's numbers reads atomics.
 */
#ifndef FD_METRICS_H
#define FD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "core/store.h"

#define METRICS_MAX_REGISTERED 64

/* The store whose commit statistics are reported, and the number of event subscribers.
 * Either may be NULL (then those series are left out). Borrowed. */
typedef size_t (*metrics_count_fn)(void *arg);
void metrics_set_sources(fd_store *st, metrics_count_fn subscribers, void *subscribers_arg);

/* Only answer GET /metrics with this bearer token (copied; NULL or "" = public). */
void metrics_set_token(const char *token);

/* Count one answered request: method (method_len bytes), route pattern (NULL = "(none)"),
 * status, and its duration in seconds. */
void metrics_observe_request(const char *method, size_t method_len, const char *route, int status,
                             double seconds);

/*
 * Add a series computed when /metrics is scraped. `name` is a metric name, optionally followed
 * by a label set ({outcome="ok"}); `help` a sentence; both are copied. Registering the same
 * name again replaces its function. Returns 0, or -1 (bad name, table full, out of memory).
 */
typedef double (*metrics_value_fn)(void *arg);
int metrics_gauge_fn(const char *name, const char *help, metrics_value_fn fn, void *arg);
int metrics_counter_fn(const char *name, const char *help, metrics_value_fn fn, void *arg);

/* The whole exposition as a malloc'd NUL-terminated text (*len bytes). 0, or -1 when out of
 * memory. */
int metrics_render(char **out, size_t *len);

/* Forget every series and registration (tests, and the end of http_serve). */
void metrics_reset(void);

/* GET /metrics (server_routes[]). */
void metrics_handle(api_call *c);

#endif
