/*
 * serve.c - the event loop around the front door (http.c): the listener and its connections,
 * running out of descriptors, the flight clock, signals and shutdown, and http_serve, which
 * sets everything up and runs the loop (see http.h).
 */
#include "server/http.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/doc_cache.h"
#include "core/flight.h"
#include "server/commit.h"
#include "server/github.h"
#include "server/hub.h"
#include "server/metrics.h"
#include "server/outbound.h"
#include "server/ratelimit.h"

#define ACCEPT_PAUSE_MS 100    /* out of descriptors: wait this long before accepting again */
#define OVERDUE_CHECK_MS 10000 /* the flight clock; FLIGHTDECK_OVERDUE_CHECK_MS overrides */

static struct {
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    fd_store *st;
    fd_hub *hub;
    size_t open_conns; /* accepted and not yet closed */
    int stopping;
    uint64_t deadline; /* loop time (ms) by which shutdown ends */
    h2o_multithread_receiver_t wake;
    atomic_int signal_seen;
    h2o_timeout_t accept_pause; /* ACCEPT_PAUSE_MS; holds accept_resume while accepts pause */
    h2o_timeout_entry_t accept_resume;
    h2o_timeout_t overdue_timeout; /* the flight clock's period; holds overdue_entry */
    h2o_timeout_entry_t overdue_entry;
    uint64_t accept_errors; /* accepts that failed for lack of descriptors or memory */
    int accept_logged;      /* the current run of such failures has been logged */
} S;

/* ---- connections ------------------------------------------------------------------------- */

static void on_conn_close(void *data)
{
    (void)data;
    S.open_conns--;
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void on_accept_resume(h2o_timeout_entry_t *entry)
{
    (void)entry;
    if (S.listener != NULL && !S.stopping)
        h2o_socket_read_start(S.listener, on_accept);
}

/*
 * accept() failed for lack of descriptors (or memory). The connection stays in the backlog and
 * the listener stays readable, so trying again at once would spin the loop at full CPU while
 * nothing can change. Stop watching the listener for ACCEPT_PAUSE_MS instead (requests on open
 * connections go on), and log once per run of failures.
 */
static void accept_pause(int err)
{
    S.accept_errors++;
    if (!S.accept_logged) {
        S.accept_logged = 1;
        fprintf(stderr,
                "flightdeck: cannot accept connections: %s (%zu open); retrying every %d ms until "
                "descriptors are free (raise the file descriptor limit: ulimit -n)\n",
                strerror(err), S.open_conns, ACCEPT_PAUSE_MS);
    }
    h2o_socket_read_stop(S.listener);
    if (!h2o_timeout_is_linked(&S.accept_resume))
        h2o_timeout_link(S.ctx.loop, &S.accept_pause, &S.accept_resume);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    for (int i = 0; i < 32; i++) { /* drain the backlog a little per wake-up */
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(errno);
            return;
        }
        S.accept_logged = 0;
        S.open_conns++;
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = NULL;
        h2o_accept(&S.accept_ctx, sock);
    }
}

static int open_listener(const fd_config *cfg, char *url, size_t urllen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8], host[NI_MAXHOST], serv[NI_MAXSERV];
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    int fd = -1, saved = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof port, "%d", cfg->listen_port);
    int gai = getaddrinfo(cfg->listen_host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "flightdeck: cannot resolve the listen address %s: %s\n", cfg->listen_host,
                gai_strerror(gai));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int one = 1;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "flightdeck: cannot listen on %s:%d: %s\n", cfg->listen_host,
                cfg->listen_port, strerror(saved));
        return -1;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        fprintf(stderr, "flightdeck: cannot read the listening address: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    if (strchr(host, ':') != NULL)
        snprintf(url, urllen, "http://[%s]:%s", host, serv);
    else
        snprintf(url, urllen, "http://%s:%s", host, serv);
    S.listener = h2o_evloop_socket_create(S.ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(S.listener, on_accept);
    return 0;
}

/* ---- the flight clock -------------------------------------------------------------------- */

/* Every period, core appends step.overdue / stage.overdue (once each) for what ran past its
 * expected time, so the crew is prompted to decide. On the loop thread: it owns the database. */
static void check_overdue(void *arg)
{
    (void)arg;
    fd_err e = flight_check_overdue(S.st, store_now_ms(S.st));
    if (e != FD_OK)
        fprintf(stderr, "flightdeck: overdue check failed: %s\n", fd_err_name(e));
}

static void on_overdue_timer(h2o_timeout_entry_t *entry)
{
    commit_call(check_overdue, NULL); /* it writes: when the write connection is here */
    if (!S.stopping)
        h2o_timeout_link(S.ctx.loop, &S.overdue_timeout, entry);
}

/* The clock's period in ms: OVERDUE_CHECK_MS, or FLIGHTDECK_OVERDUE_CHECK_MS (50..3600000; tests
 * use a short one). Returns 0, or -1 after saying what is wrong. */
static int overdue_period(uint64_t *ms)
{
    const char *v = getenv("FLIGHTDECK_OVERDUE_CHECK_MS");
    char *end = NULL;
    *ms = OVERDUE_CHECK_MS;
    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < 50 || n > 3600000) {
        fprintf(stderr, "flightdeck: FLIGHTDECK_OVERDUE_CHECK_MS must be a whole number from 50 "
                        "to 3600000\n");
        return -1;
    }
    *ms = (uint64_t)n;
    return 0;
}

/* ---- signals and shutdown ---------------------------------------------------------------- */

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    (void)messages; /* only ever woken with no message; the flag says why */
}

static void *signal_main(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    if (sigwait(set, &sig) == 0) {
        atomic_store(&S.signal_seen, sig);
        h2o_multithread_send_message(&S.wake, NULL);
    }
    return NULL;
}

static void begin_shutdown(void)
{
    S.stopping = 1;
    S.deadline = h2o_now(S.ctx.loop) + HTTP_SHUTDOWN_MS;
    if (h2o_timeout_is_linked(&S.accept_resume))
        h2o_timeout_unlink(&S.accept_resume);
    if (S.listener != NULL) { /* stop accepting */
        h2o_socket_read_stop(S.listener);
        h2o_socket_close(S.listener);
        S.listener = NULL;
    }
    /* Responses finished from now on close their connection (no keep-alive). */
    h2o_context_request_shutdown(&S.ctx);
    /* Idle keep-alive connections wait in the request-read timeout; shorten it so they close
     * now instead of holding the shutdown for 10 s. */
    if (S.ctx.http1.req_timeout.timeout > 100)
        S.ctx.http1.req_timeout.timeout = 100;
    hub_shutdown(S.hub);
}

/* ---- setup ------------------------------------------------------------------------------- */

/* Every connection is a descriptor: take the hard limit, not the usual soft 1024. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        fprintf(stderr, "flightdeck: warning: cannot raise the file descriptor limit: %s\n",
                strerror(errno));
}

static double metric_connections(void *arg)
{
    (void)arg;
    return (double)S.open_conns;
}

static double metric_accept_errors(void *arg)
{
    (void)arg;
    return (double)S.accept_errors;
}

/* Cache effectiveness: arg 0/1 = token cache hits/misses, 2/3 = rendered-document hits/misses.
 * A hit rate that falls says the caches stopped paying for themselves (bench/README.md). */
static double metric_cache(void *arg)
{
    uint64_t hits = 0, misses = 0;
    intptr_t which = (intptr_t)arg;
    if (which < 2)
        auth_keys_cache_stats(http_current()->keys, &hits, &misses);
    else
        api_doc_cache_stats(&hits, &misses);
    return (double)(which % 2 == 0 ? hits : misses);
}

static size_t metric_subscribers(void *hub)
{
    return hub_subscribers(hub);
}

/* The store's event sink: every committed event goes to the live streams and to the webhook
 * delivery queue (server/outbound.c), in commit order. */
static void events_fanout(void *hub, int64_t seq, const char *migration, const char *action,
                          const char *json, size_t len)
{
    api_doc_cache_forget(migration); /* NULL (outside any migration) drops every document */
    hub_emit(hub, seq, migration, action, json, len);
    outbound_event(NULL, seq, migration, action, json, len);
}

int http_serve(const fd_config *cfg, fd_store *st, const auth_keys *keys, http_ready_fn ready,
               void *arg)
{
    sigset_t set;
    pthread_t sig_thread;
    int have_thread = 0, rc = -1;
    char url[NI_MAXHOST + NI_MAXSERV + 16];

    /* Block the signals before any thread exists, so only sigwait ever sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&S, 0, sizeof S);
    raise_fd_limit();
    S.st = st; /* the flight clock's */
    http_set_context(st, keys, cfg->cookie_secure, cfg->dev);
    http_configure(&S.conf, cfg);
    h2o_context_init(&S.ctx, h2o_evloop_create(), &S.conf);
    h2o_timeout_init(S.ctx.loop, &S.accept_pause, ACCEPT_PAUSE_MS);
    uint64_t overdue_ms;
    int overdue_bad = overdue_period(&overdue_ms) != 0; /* refused below, once cleanup is safe */
    h2o_timeout_init(S.ctx.loop, &S.overdue_timeout, overdue_ms);
    S.overdue_entry.cb = on_overdue_timer;
    S.accept_resume.cb = on_accept_resume;
    S.accept_ctx.ctx = &S.ctx;
    S.accept_ctx.hosts = S.conf.hosts;
    h2o_multithread_register_receiver(S.ctx.queue, &S.wake, on_wake);

    S.hub = hub_new(&S.ctx, st);
    if (S.hub == NULL) {
        fprintf(stderr, "flightdeck: cannot create the event hub\n");
        goto done;
    }
    hub_set_current(S.hub);
    webhook_policy policy;
    char perr[160];
    if (outbound_policy_from_env(&policy, perr, sizeof perr) != 0) {
        fprintf(stderr, "flightdeck: %s\n", perr);
        goto done;
    }
    fd_ports ports = {.events = {.emit = events_fanout, .arg = S.hub}};
    ports.github = github_start(&S.ctx, st, cfg);
    if (ports.github == NULL)
        goto done;
    store_set_ports(st, &ports);
    api_doc_cache_enable(1); /* one store for the process's life: see api/doc_cache.h */
    if (overdue_bad)
        goto done;
    h2o_timeout_link(S.ctx.loop, &S.overdue_timeout, &S.overdue_entry);
    if (commit_start(&S.ctx, st) != 0)
        goto done;
    if (outbound_start(&S.ctx, st, &policy) != 0)
        goto done;
    if (ratelimit_configure(cfg->rate_limit, cfg->rate_burst) != 0) {
        fprintf(stderr, "flightdeck: cannot create the rate limiter\n");
        goto done;
    }
    metrics_set_sources(st, metric_subscribers, S.hub);
    metrics_set_token(cfg->metrics_token);
    metrics_gauge_fn("flightdeck_http_connections", "Open client connections.", metric_connections,
                     NULL);
    metrics_counter_fn("flightdeck_accept_errors_total",
                       "Connections not accepted for lack of file descriptors or memory.",
                       metric_accept_errors, NULL);
    metrics_counter_fn("flightdeck_token_cache_hits_total",
                       "Bearer tokens answered from the verified-token cache.", metric_cache,
                       (void *)0);
    metrics_counter_fn("flightdeck_token_cache_misses_total",
                       "Bearer tokens verified in full (signature, claims).", metric_cache,
                       (void *)1);
    metrics_counter_fn("flightdeck_doc_cache_hits_total", "GETs answered from a rendered document.",
                       metric_cache, (void *)2);
    metrics_counter_fn("flightdeck_doc_cache_misses_total",
                       "GETs that built and rendered their document.", metric_cache, (void *)3);

    if (open_listener(cfg, url, sizeof url) != 0)
        goto done;
    if (pthread_create(&sig_thread, NULL, signal_main, &set) != 0) {
        fprintf(stderr, "flightdeck: cannot start the signal thread\n");
        goto done;
    }
    have_thread = 1;
    if (ready != NULL)
        ready(arg, url);

    for (;;) {
        h2o_evloop_run(S.ctx.loop, S.stopping ? 50 : INT32_MAX);
        if (!S.stopping && atomic_load(&S.signal_seen) != 0)
            begin_shutdown();
        if (S.stopping && (S.open_conns == 0 || h2o_now(S.ctx.loop) >= S.deadline))
            break;
    }
    rc = 0;
done:
    if (have_thread) {
        if (atomic_load(&S.signal_seen) == 0)
            pthread_kill(sig_thread, SIGTERM); /* unblock sigwait on an error path */
        pthread_join(sig_thread, NULL);
    }
    github_stop();   /* hands the answers that came back to core; merges stay on record */
    outbound_stop(); /* records the attempts that came back; the rest stay pending */
    commit_stop();   /* what waits for the write connection runs, and is committed */
    {
        fd_ports none = {0};
        store_set_ports(st, &none);
    }
    hub_free(S.hub);
    S.hub = NULL;
    api_doc_cache_enable(0);
    metrics_set_sources(NULL, NULL, NULL);
    ratelimit_shutdown();
    if (S.listener != NULL) {
        h2o_socket_close(S.listener);
        S.listener = NULL;
        h2o_evloop_run(S.ctx.loop, 0); /* let the close complete */
    }
    if (S.open_conns > 0) {
        /* Their timeouts are still linked: disposing the context would assert. The process is
         * about to exit and the kernel closes them. */
        fprintf(stderr, "flightdeck: %zu connection(s) still open after %d ms; closing them\n",
                S.open_conns, HTTP_SHUTDOWN_MS);
        return rc;
    }
    if (h2o_timeout_is_linked(&S.ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&S.ctx.http2._graceful_shutdown_timeout);
    h2o_multithread_unregister_receiver(S.ctx.queue, &S.wake);
    if (h2o_timeout_is_linked(&S.accept_resume))
        h2o_timeout_unlink(&S.accept_resume);
    h2o_timeout_dispose(S.ctx.loop, &S.accept_pause);
    if (h2o_timeout_is_linked(&S.overdue_entry))
        h2o_timeout_unlink(&S.overdue_entry);
    h2o_timeout_dispose(S.ctx.loop, &S.overdue_timeout);
    h2o_loop_t *loop = S.ctx.loop;
    h2o_context_dispose(&S.ctx);
    h2o_evloop_destroy(loop);
    h2o_config_dispose(&S.conf);
    return rc;
}
