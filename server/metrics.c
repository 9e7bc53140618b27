/*
 * metrics.c - counting requests and rendering the Prometheus text format (see metrics.h).
 *
 * One series per (route pattern, method) holds the latency histogram and the counts by status;
 * a small chained hash finds it per request. Routes come from the route tables and methods from
 * a fixed list, so the table stays small whatever clients send.
 */
#include "server/metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/reply.h"
#include "core/buf.h"
#include "server/ratelimit.h"

#define DUR_BUCKETS 13
#define SLOTS 256
#define MAX_SERIES 4096 /* a safety net; the route tables give a few hundred at most */

static const double dur_bounds[DUR_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1.0,   2.5,  5.0};

typedef struct status_count {
    int status;
    uint64_t count;
} status_count;

typedef struct series {
    struct series *next_slot; /* hash chain */
    struct series *next;      /* in order of first sight, for rendering */
    uint64_t hash;
    char *route;
    const char *method; /* one of methods[] */
    uint64_t buckets[DUR_BUCKETS + 1];
    double sum;
    uint64_t count;
    status_count *statuses;
    size_t nstatuses;
} series;

typedef struct registered {
    char *name; /* with its label set, if any */
    char *help;
    int counter;
    metrics_value_fn fn;
    void *arg;
} registered;

static struct {
    series *slots[SLOTS];
    series *head, **tail;
    size_t nseries;
    series *last; /* the series found last: requests in a row mostly share route and method */
    registered regs[METRICS_MAX_REGISTERED];
    int nregs;
    fd_store *st;
    metrics_count_fn subscribers;
    void *subscribers_arg;
    char *token;
    double start_time;
} M = {.tail = &M.head};

static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", NULL};

/* ---- sources and registrations ----------------------------------------------------------- */

void metrics_set_sources(fd_store *st, metrics_count_fn subscribers, void *subscribers_arg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    M.st = st;
    M.subscribers = subscribers;
    M.subscribers_arg = subscribers_arg;
    M.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_set_token(const char *token)
{
    if (M.token != NULL) {
        OPENSSL_cleanse(M.token, strlen(M.token));
        free(M.token);
    }
    M.token = token != NULL && *token != '\0' ? strdup(token) : NULL;
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), optionally followed by one {...} label set. */
static int name_valid(const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0' && s[i] != '{'; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
                 (i > 0 && ch >= '0' && ch <= '9');
        if (!ok)
            return 0;
    }
    if (i == 0)
        return 0;
    if (s[i] == '\0')
        return 1;
    size_t n = strlen(s);
    return n > i + 1 && s[n - 1] == '}' && strchr(s + i + 1, '{') == NULL &&
           strchr(s + i, '\n') == NULL;
}

static size_t family_len(const char *name)
{
    return strcspn(name, "{");
}

static int register_fn(const char *name, const char *help, int counter, metrics_value_fn fn,
                       void *arg)
{
    if (name == NULL || fn == NULL || !name_valid(name) || strlen(name) > 200)
        return -1;
    for (int i = 0; i < M.nregs; i++) {
        if (strcmp(M.regs[i].name, name) == 0) {
            M.regs[i].fn = fn;
            M.regs[i].arg = arg;
            M.regs[i].counter = counter;
            return 0;
        }
    }
    if (M.nregs == METRICS_MAX_REGISTERED)
        return -1;
    registered *r = &M.regs[M.nregs];
    r->name = strdup(name);
    r->help = strdup(help != NULL ? help : "");
    if (r->name == NULL || r->help == NULL) {
        free(r->name);
        free(r->help);
        return -1;
    }
    /* HELP is one line: a newline would end it early */
    for (char *p = r->help; *p != '\0'; p++)
        if (*p == '\n' || *p == '\\')
            *p = ' ';
    r->counter = counter;
    r->fn = fn;
    r->arg = arg;
    M.nregs++;
    return 0;
}

int metrics_gauge_fn(const char *name, const char *help, metrics_value_fn fn, void *arg)
{
    return register_fn(name, help, 0, fn, arg);
}

int metrics_counter_fn(const char *name, const char *help, metrics_value_fn fn, void *arg)
{
    return register_fn(name, help, 1, fn, arg);
}

void metrics_reset(void)
{
    series *s = M.head;
    while (s != NULL) {
        series *next = s->next;
        free(s->route);
        free(s->statuses);
        free(s);
        s = next;
    }
    for (int i = 0; i < M.nregs; i++) {
        free(M.regs[i].name);
        free(M.regs[i].help);
    }
    metrics_set_token(NULL);
    memset(&M, 0, sizeof M);
    M.tail = &M.head;
}

/* ---- counting ---------------------------------------------------------------------------- */

static const char *method_label(const char *m, size_t len)
{
    for (int i = 0; methods[i] != NULL; i++)
        if (strlen(methods[i]) == len && memcmp(methods[i], m, len) == 0)
            return methods[i];
    return "OTHER";
}

static uint64_t hash_of(const char *route, const char *method)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over route, NUL, method */
    for (const char *p = route;; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
        if (*p == '\0')
            break;
    }
    for (const char *p = method; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The series of (route, method), made on first sight; NULL past MAX_SERIES or out of memory. */
static series *find_or_add_series(const char *route, const char *method)
{
    uint64_t h = hash_of(route, method);
    series **slot = &M.slots[h % SLOTS];
    for (series *s = *slot; s != NULL; s = s->next_slot)
        if (s->hash == h && s->method == method && strcmp(s->route, route) == 0)
            return s;
    if (M.nseries >= MAX_SERIES)
        return NULL;
    series *s = calloc(1, sizeof *s);
    if (s == NULL || (s->route = strdup(route)) == NULL) {
        free(s);
        return NULL;
    }
    s->hash = h;
    s->method = method;
    s->next_slot = *slot;
    *slot = s;
    *M.tail = s;
    M.tail = &s->next;
    M.nseries++;
    return s;
}

static series *find_series(const char *route, const char *method)
{
    /* the same as last time? (a method is a pointer into methods[]; the route is compared in
     * full, as it may come from any buffer) - cheaper than hashing the route */
    if (M.last != NULL && M.last->method == method && strcmp(M.last->route, route) == 0)
        return M.last;
    series *s = find_or_add_series(route, method);
    if (s != NULL)
        M.last = s;
    return s;
}

void metrics_observe_request(const char *method, size_t method_len, const char *route, int status,
                             double seconds)
{
    series *s = find_series(route != NULL ? route : "(none)", method_label(method, method_len));
    if (s == NULL)
        return;
    if (!(seconds >= 0)) /* also NaN */
        seconds = 0;
    int b = 0;
    while (b < DUR_BUCKETS && seconds > dur_bounds[b])
        b++;
    s->buckets[b]++;
    s->sum += seconds;
    s->count++;
    for (size_t i = 0; i < s->nstatuses; i++) {
        if (s->statuses[i].status == status) {
            s->statuses[i].count++;
            return;
        }
    }
    status_count *grown = realloc(s->statuses, (s->nstatuses + 1) * sizeof *grown);
    if (grown == NULL)
        return;
    s->statuses = grown;
    s->statuses[s->nstatuses].status = status;
    s->statuses[s->nstatuses].count = 1;
    s->nstatuses++;
}

/* ---- rendering --------------------------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void put_label(fd_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            fd_buf_puts(b, "\\\\");
        else if (*s == '"')
            fd_buf_puts(b, "\\\"");
        else if (*s == '\n')
            fd_buf_puts(b, "\\n");
        else
            fd_buf_append(b, s, 1);
    }
}

static void put_value(fd_buf *b, double v)
{
    if (isnan(v))
        fd_buf_puts(b, "NaN");
    else if (isinf(v))
        fd_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        fd_buf_printf(b, "%.0f", v);
    else
        fd_buf_printf(b, "%.9g", v);
}

static void header(fd_buf *b, const char *name, const char *type, const char *help)
{
    fd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void route_labels(fd_buf *b, const series *s)
{
    fd_buf_puts(b, "route=\"");
    put_label(b, s->route);
    fd_buf_printf(b, "\",method=\"%s\"", s->method);
}

static void render_requests(fd_buf *b)
{
    header(b, "flightdeck_http_requests_total", "counter",
           "HTTP requests answered, by route pattern, method and status.");
    for (const series *s = M.head; s != NULL; s = s->next) {
        for (size_t i = 0; i < s->nstatuses; i++) {
            fd_buf_puts(b, "flightdeck_http_requests_total{");
            route_labels(b, s);
            fd_buf_printf(b, ",status=\"%d\"} %" PRIu64 "\n", s->statuses[i].status,
                          s->statuses[i].count);
        }
    }
    header(b, "flightdeck_http_request_duration_seconds", "histogram",
           "Time from the first byte of a request to the end of its response, by route.");
    for (const series *s = M.head; s != NULL; s = s->next) {
        uint64_t cum = 0;
        for (int i = 0; i <= DUR_BUCKETS; i++) {
            cum += s->buckets[i];
            fd_buf_puts(b, "flightdeck_http_request_duration_seconds_bucket{");
            route_labels(b, s);
            fd_buf_puts(b, ",le=\"");
            put_value(b, i < DUR_BUCKETS ? dur_bounds[i] : INFINITY);
            fd_buf_printf(b, "\"} %" PRIu64 "\n", cum);
        }
        fd_buf_puts(b, "flightdeck_http_request_duration_seconds_sum{");
        route_labels(b, s);
        fd_buf_puts(b, "} ");
        put_value(b, s->sum);
        fd_buf_puts(b, "\nflightdeck_http_request_duration_seconds_count{");
        route_labels(b, s);
        fd_buf_printf(b, "} %" PRIu64 "\n", s->count);
    }
}

static void histogram(fd_buf *b, const char *name, const double *bounds, int nbounds,
                      const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    for (int i = 0; i <= nbounds; i++) {
        cum += counts[i];
        fd_buf_printf(b, "%s_bucket{le=\"", name);
        put_value(b, i < nbounds ? bounds[i] : INFINITY);
        fd_buf_printf(b, "\"} %" PRIu64 "\n", cum);
    }
    fd_buf_printf(b, "%s_sum ", name);
    put_value(b, sum);
    fd_buf_printf(b, "\n%s_count %" PRIu64 "\n", name, cum);
}

static void render_store(fd_buf *b)
{
    fd_store_stats s;
    if (M.st == NULL)
        return;
    store_stats(M.st, &s);
    header(b, "flightdeck_store_commits_total", "counter",
           "Durable transactions committed (each answered only after its fsync).");
    fd_buf_printf(b, "flightdeck_store_commits_total %" PRIu64 "\n", s.commits);
    header(b, "flightdeck_store_commit_errors_total", "counter",
           "Transactions whose COMMIT failed and were rolled back.");
    fd_buf_printf(b, "flightdeck_store_commit_errors_total %" PRIu64 "\n", s.commit_errors);
    header(b, "flightdeck_store_commit_duration_seconds", "histogram",
           "Time to make one transaction durable (COMMIT with synchronous=FULL).");
    histogram(b, "flightdeck_store_commit_duration_seconds", store_stats_seconds_bounds,
              STORE_STATS_SECONDS_BUCKETS, s.seconds, s.seconds_sum);
    header(b, "flightdeck_store_commit_batch_size", "histogram",
           "Mutations carried by one durable transaction.");
    histogram(b, "flightdeck_store_commit_batch_size", store_stats_batch_bounds,
              STORE_STATS_BATCH_BUCKETS, s.batch, (double)s.units);
}

/* Open file descriptors of this process, or -1 when /proc cannot say. */
static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static double resident_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    int ok = fscanf(f, "%ld %ld", &pages, &rss) == 2;
    fclose(f);
    return ok ? (double)rss * (double)sysconf(_SC_PAGESIZE) : -1;
}

static void render_process(fd_buf *b)
{
    double v;
    if (M.subscribers != NULL) {
        header(b, "flightdeck_event_subscribers", "gauge",
               "Open event streams (server-sent events) receiving events.");
        fd_buf_printf(b, "flightdeck_event_subscribers %zu\n", M.subscribers(M.subscribers_arg));
    }
    header(b, "flightdeck_rate_limited_total", "counter",
           "Requests refused with 429 because their caller exceeded the rate limit.");
    fd_buf_printf(b, "flightdeck_rate_limited_total %" PRIu64 "\n", ratelimit_refused());
    if ((v = resident_bytes()) >= 0) {
        header(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        fd_buf_puts(b, "process_resident_memory_bytes ");
        put_value(b, v);
        fd_buf_puts(b, "\n");
    }
    if ((v = open_fds()) >= 0) {
        header(b, "process_open_fds", "gauge", "Open file descriptors (sockets included).");
        fd_buf_puts(b, "process_open_fds ");
        put_value(b, v);
        fd_buf_puts(b, "\n");
    }
    if (M.start_time > 0) {
        header(b, "process_start_time_seconds", "gauge",
               "Start time of the process since the Unix epoch, in seconds.");
        fd_buf_printf(b, "process_start_time_seconds %.3f\n", M.start_time);
    }
}

static void render_registered(fd_buf *b)
{
    for (int i = 0; i < M.nregs; i++) {
        size_t fl = family_len(M.regs[i].name);
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen =
                family_len(M.regs[k].name) == fl && memcmp(M.regs[k].name, M.regs[i].name, fl) == 0;
        if (seen)
            continue; /* rendered with the first of its family */
        fd_buf_printf(b, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)fl, M.regs[i].name,
                      M.regs[i].help, (int)fl, M.regs[i].name,
                      M.regs[i].counter ? "counter" : "gauge");
        for (int k = i; k < M.nregs; k++) {
            if (family_len(M.regs[k].name) != fl || memcmp(M.regs[k].name, M.regs[i].name, fl))
                continue;
            fd_buf_printf(b, "%s ", M.regs[k].name);
            put_value(b, M.regs[k].fn(M.regs[k].arg));
            fd_buf_puts(b, "\n");
        }
    }
}

int metrics_render(char **out, size_t *len)
{
    fd_buf b = {0};
    render_requests(&b);
    render_store(&b);
    render_process(&b);
    render_registered(&b);
    if (b.data == NULL) {
        fd_buf_free(&b);
        return -1;
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

/* ---- GET /metrics ------------------------------------------------------------------------ */

static int token_ok(h2o_req_t *req)
{
    if (M.token == NULL)
        return 1;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t tlen = strlen(M.token);
    if (v.len != 7 + tlen || !h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
        return 0;
    return CRYPTO_memcmp(v.base + 7, M.token, tlen) == 0;
}

void metrics_handle(api_call *c)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = c->req;
    char *text = NULL;
    size_t len = 0;

    if (!token_ok(req)) {
        api_reply_problem(req, FD_E_UNAUTHENTICATED,
                          "GET /metrics wants 'Authorization: Bearer <FLIGHTDECK_METRICS_TOKEN>'.",
                          NULL);
        return;
    }
    if (metrics_render(&text, &len) != 0) {
        api_reply_problem(req, FD_E_INTERNAL, NULL, NULL);
        return;
    }
    h2o_iovec_t body = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, len), len);
    memcpy(body.base, text, len);
    free(text);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}
