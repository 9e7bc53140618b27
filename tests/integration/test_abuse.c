/*
 * test_abuse.c - hostile clients against the real server.
 *
 *   - 10,000 idle connections: the server raises its own descriptor limit (it is started with a
 *     soft limit of 1024), holds them all, and still answers a normal request; closing them
 *     frees them.
 *   - Out of descriptors: accept() fails with EMFILE; the server does not spin (its CPU time
 *     stays low while connections wait), logs it once, and recovers when descriptors free up.
 *   - 1,000 event-stream clients connect and vanish (before the answer, after it, with a reset):
 *     the subscriber count returns to 0 and the server exits 0 - under `make check` that exit
 *     includes LeakSanitizer's verdict.
 *   - Slow clients (a byte every 250 ms, head or body) are cut off by the request timeout
 *     (FLIGHTDECK_REQUEST_TIMEOUT_MS=1000 here) while others are served.
 *   - Oversized heads are refused (431 over 64 KiB, h2o's own 400 past ~408 KiB or 100 headers)
 *     and oversized bodies are 413, chunked too; the server stays up.
 *   - A flood from one token gets 429 with Retry-After while another user is unaffected; the
 *     access log names route, status, request id and user, never the token; /metrics counts it.
 *
 * Deadlines here only bound how long a test waits. The one number compared with something is
 * CPU time during the EMFILE episode: a spinning loop burns a whole core, a paused one nothing.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_WANTED 10000

static h_server g_a; /* no rate limit, 30 s request timeout: connections, streams */
static h_server g_b; /* 1 s request timeout, 5 requests/s in bursts of 10: slow, big, flood */
static char *g_admin, *g_bob, *g_carol, *g_dave;
static struct rlimit g_nofile;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    h_init();
    /* Start server A with the usual soft limit of 1024: holding 10,000 connections then proves
     * that it raises its own limit. The test raises its own afterwards. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &g_nofile), 0);
    struct rlimit low = {g_nofile.rlim_max < 1024 ? g_nofile.rlim_max : 1024, g_nofile.rlim_max};
    setrlimit(RLIMIT_NOFILE, &low);
    const char *env_a[] = {"FLIGHTDECK_RATE_LIMIT=0", "FLIGHTDECK_REQUEST_TIMEOUT_MS=30000", NULL};
    const char *env_b[] = {"FLIGHTDECK_REQUEST_TIMEOUT_MS=1000", "FLIGHTDECK_RATE_LIMIT=5",
                           "FLIGHTDECK_RATE_BURST=10", NULL};
    int ok = h_server_init(&g_a) == 0 && h_start(&g_a, NULL, env_a) == 0;
    struct rlimit high = {g_nofile.rlim_max, g_nofile.rlim_max};
    setrlimit(RLIMIT_NOFILE, &high);
    ok = ok && h_server_init(&g_b) == 0 && h_start(&g_b, NULL, env_b) == 0;
    if (!ok) {
        h_dump_logs(&g_a);
        h_dump_logs(&g_b);
        return -1;
    }
    g_admin = h_token("root", "Root Admin", "admin", NULL);
    g_bob = h_token("bob", "Bob", "engineer", "data-stream");
    g_carol = h_token("carol", "Carol", "engineer", "data-stream");
    g_dave = h_token("dave", "Dave", "viewer", NULL);
    h_create_demo_teams(&g_a, g_admin);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_a.pid > 0)
        h_stop(&g_a, SIGTERM, 10000);
    if (g_b.pid > 0)
        h_stop(&g_b, SIGTERM, 10000);
    h_destroy(&g_a);
    h_destroy(&g_b);
    free(g_admin);
    free(g_bob);
    free(g_carol);
    free(g_dave);
    return 0;
}

/* The value of one unlabelled series (or a series given with its labels) in GET /metrics. */
static double metric(const h_server *s, const char *series)
{
    h_resp r;
    h_req(s, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    char *want = h_fmt("\n%s ", series);
    const char *at = strstr(r.body, want);
    double v = at != NULL ? strtod(at + strlen(want), NULL) : -1;
    free(want);
    h_resp_free(&r);
    return v;
}

/* Wait until `series` satisfies cmp against v (1: >=, -1: <=); returns the last value. */
static double wait_metric(const h_server *s, const char *series, int cmp, double v, int ms)
{
    int64_t end = mono_ms() + ms;
    double got;
    while (!((got = metric(s, series)) >= 0 && (cmp > 0 ? got >= v : got <= v)) && mono_ms() < end)
        sleep_ms(50);
    return got;
}

static void expect_alive(const h_server *s)
{
    h_resp r;
    h_req(s, "GET", "/api/me", g_dave, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
}

static char *read_log(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(mem);
    fclose(f);
    return buf;
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ---- descriptors ------------------------------------------------------------------------- */

static void test_ten_thousand_idle_connections(void **state)
{
    (void)state;
    size_t want = IDLE_WANTED;
    if (g_nofile.rlim_max < want + 512) {
        want = g_nofile.rlim_max > 1536 ? g_nofile.rlim_max - 512 : 1024;
        print_message("the hard descriptor limit is %llu: opening %zu connections\n",
                      (unsigned long long)g_nofile.rlim_max, want);
    }
    int *fds = calloc(want, sizeof *fds);
    for (size_t i = 0; i < want; i++) {
        fds[i] = h_raw_connect(&g_a);
        if (fds[i] < 0)
            fail_msg("connection %zu of %zu failed: %s", i, want, strerror(errno));
    }
    /* the server has accepted every one (not just the kernel's backlog) */
    double held = wait_metric(&g_a, "flightdeck_http_connections", 1, (double)want, 30000);
    if (held < (double)want)
        fail_msg("the server holds %.0f of %zu connections", held, want);
    assert_true(metric(&g_a, "process_open_fds") >= (double)want);
    expect_alive(&g_a);
    for (size_t i = 0; i < want; i++)
        close(fds[i]);
    free(fds);
    /* and lets them go: the count falls back to the scrape's own connection */
    assert_true(wait_metric(&g_a, "flightdeck_http_connections", -1, 2, 30000) <= 2);
    expect_alive(&g_a);
}

/* utime + stime of a process, in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    assert_non_null(p);
    long long utime = 0, stime = 0;
    /* fields after ')': state(3) ... utime(14) stime(15) */
    int field = 2;
    for (const char *q = p + 1; *q != '\0'; q++) {
        if (*q == ' ') {
            field++;
            if (field == 14)
                utime = atoll(q + 1);
            else if (field == 15)
                stime = atoll(q + 1);
        }
    }
    return utime + stime;
}

static int open_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    int n = 0;
    FILE *p = NULL;
    char *cmd = h_fmt("ls %s | wc -l", path);
    p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void test_out_of_descriptors_does_not_spin(void **state)
{
    (void)state;
    enum { EXTRA = 40, CONNS = 200 };
    struct rlimit before, cap;
    assert_int_equal(prlimit(g_a.pid, RLIMIT_NOFILE, NULL, &before), 0);
    /* leave the server room for EXTRA more descriptors, then connect far more than that */
    cap.rlim_cur = (rlim_t)(open_fd_count(g_a.pid) + EXTRA);
    cap.rlim_max = before.rlim_max;
    assert_int_equal(prlimit(g_a.pid, RLIMIT_NOFILE, &cap, NULL), 0);
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) {
        fds[i] = h_raw_connect(&g_a);
        assert_true(fds[i] >= 0); /* the kernel's backlog takes them */
    }
    /* wait until the server is at its limit, then watch its CPU for a second while the rest
     * of the connections wait in the backlog */
    int64_t end = mono_ms() + 10000;
    while (open_fd_count(g_a.pid) < (int)cap.rlim_cur && mono_ms() < end)
        sleep_ms(50);
    assert_true(open_fd_count(g_a.pid) >= (int)cap.rlim_cur);
    long long t0 = cpu_ticks(g_a.pid);
    sleep_ms(1000);
    long long used = cpu_ticks(g_a.pid) - t0;
    long hz = sysconf(_SC_CLK_TCK);
    /* measured here: ~0 ticks paused, 45-60 of 100 spinning */
    if (used * 5 > hz)
        fail_msg("the server used %lld ticks of CPU in one second while out of descriptors "
                 "(spinning on accept?)",
                 used);
    char *log = read_log(g_a.err_log);
    assert_int_equal(count_in(log, "cannot accept connections"), 1); /* once, not per retry */
    free(log);

    /* descriptors come back: the server takes connections again */
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
    assert_int_equal(prlimit(g_a.pid, RLIMIT_NOFILE, &before, NULL), 0);
    expect_alive(&g_a);
    assert_true(metric(&g_a, "flightdeck_accept_errors_total") >= 1);
}

/* ---- event streams that vanish ----------------------------------------------------------- */

static int stream_open(const h_server *s, const char *token)
{
    int fd = h_raw_connect(s);
    assert_true(fd >= 0);
    char *req = h_fmt("GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Accept: text/event-stream\r\n\r\n",
                      token);
    assert_int_equal(h_raw_send(fd, req, strlen(req)), 0);
    free(req);
    return fd;
}

/* Read until the first block of the stream arrived. */
static void stream_wait_open(int fd)
{
    char buf[4096];
    size_t len = 0;
    int64_t end = mono_ms() + 10000;
    while (mono_ms() < end && len + 1 < sizeof buf) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        assert_true(n > 0);
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, ": flightdeck") != NULL)
            return;
    }
    fail_msg("no stream opening: %s", buf);
}

static void test_thousand_streams_come_and_go(void **state)
{
    (void)state;
    enum { ROUND = 100, ROUNDS = 10 };
    for (int round = 0; round < ROUNDS; round++) {
        int fds[ROUND];
        for (int i = 0; i < ROUND; i++)
            fds[i] = stream_open(&g_a, i % 2 ? g_bob : g_carol);
        for (int i = 0; i < ROUND; i++) {
            if (i % 3 != 0)
                stream_wait_open(fds[i]); /* a third vanish before the answer */
            if (i % 3 == 2) {
                struct linger lg = {1, 0}; /* a reset instead of a goodbye */
                setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            close(fds[i]);
        }
    }
    /* A gone HTTP/1 client is noticed when a write to it fails: make events until every
     * stream has been written to and dropped. */
    double subs = -1;
    for (int nudge = 0; nudge < 20; nudge++) {
        char *body = h_fmt("{\"name\":\"Data Stream %d\"}", nudge);
        h_resp r;
        h_req(&g_a, "PATCH", "/api/teams/data-stream", g_admin, body, (size_t)-1, NULL, &r);
        H_EXPECT(&r, 200);
        h_resp_free(&r);
        free(body);
        subs = wait_metric(&g_a, "flightdeck_event_subscribers", -1, 0, 200);
        if (subs == 0)
            break;
    }
    if (subs != 0)
        fail_msg("%.0f event subscribers left after 1,000 clients vanished", subs);
    expect_alive(&g_a);
}

/* Runs after the tests on server A: a clean exit (under make check: no leak either). */
static void test_server_a_exits_clean(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&g_a, SIGTERM, 10000), 0);
    char *log = read_log(g_a.err_log);
    if (g_a.exit_code != 0 || strstr(log, "Sanitizer") != NULL)
        fail_msg("server A exited %d:\n%.4000s", g_a.exit_code, log);
    free(log);
}

/* ---- slow clients ------------------------------------------------------------------------ */

/* Send `data` a byte every 250 ms. Returns the number of bytes sent before the server closed
 * the connection (read EOF or reset), or -1 when all of it went through without a close. */
static int trickle(int fd, const char *data)
{
    size_t len = strlen(data);
    for (size_t i = 0; i < len; i++) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 250) > 0) {
            char buf[1024];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                return (int)i; /* closed on us */
        }
        if (send(fd, data + i, 1, MSG_NOSIGNAL) != 1)
            return (int)i;
    }
    return -1;
}

static void test_slow_clients_are_cut_off(void **state)
{
    (void)state;
    /* a head trickling in: 80 bytes at 4 a second would take 20 s; the limit is 1 s */
    int fd = h_raw_connect(&g_b);
    assert_true(fd >= 0);
    int sent = trickle(fd, "GET /api/openapi.yaml HTTP/1.1\r\nHost: flightdeck\r\n"
                           "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
    close(fd);
    if (sent < 0)
        fail_msg("a client sending its head a byte at a time was never cut off");
    /* cut by the configured 1 s (about 4 bytes), not h2o's default 10 s (about 40): the bound
     * leaves a margin of seven times the limit for a loaded machine */
    if (sent > 28)
        fail_msg("the slow head was cut only after %d bytes (~%d ms)", sent, sent * 250);
    /* a complete head with a body trickling in */
    fd = h_raw_connect(&g_b);
    const char *head = "POST /api/session HTTP/1.1\r\nHost: flightdeck\r\n"
                       "X-Requested-With: flightdeck\r\nContent-Type: application/json\r\n"
                       "Content-Length: 60\r\n\r\n";
    assert_int_equal(h_raw_send(fd, head, strlen(head)), 0);
    sent = trickle(fd, "{\"token\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
    close(fd);
    if (sent < 0)
        fail_msg("a client sending its body a byte at a time was never cut off");
    /* an idle connection too */
    fd = h_raw_connect(&g_b);
    char buf[64];
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_int_equal(recv(fd, buf, sizeof buf, 0), 0);
    close(fd);
    expect_alive(&g_b);
}

/* ---- oversized ----------------------------------------------------------------------------- */

/* Send a request with one header of `size` bytes (or `count` small headers); returns the status,
 * or 0 when the server closed without one. */
static int big_head(size_t size, int count, char *resp, size_t cap)
{
    int fd = h_raw_connect(&g_b);
    assert_true(fd >= 0);
    char *junk = malloc(size + 1);
    memset(junk, 'a', size);
    junk[size] = '\0';
    char *req = h_fmt("GET /api/openapi.yaml HTTP/1.1\r\nHost: x\r\nX-Junk: %s\r\n", junk);
    h_raw_send(fd, req, strlen(req)); /* the server may close before it is all sent */
    for (int i = 0; i < count; i++) {
        char line[64];
        snprintf(line, sizeof line, "X-Many-%d: 1\r\n", i);
        h_raw_send(fd, line, strlen(line));
    }
    h_raw_send(fd, "\r\n", 2);
    int st = h_raw_read(fd, resp, cap, 10000);
    close(fd);
    free(junk);
    free(req);
    return st < 0 ? 0 : st;
}

static void test_oversized_heads_are_refused(void **state)
{
    (void)state;
    char resp[8192];
    /* 70 KiB: ours, with a reason */
    assert_int_equal(big_head(70 * 1024, 0, resp, sizeof resp), 431);
    assert_non_null(strstr(resp, "application/problem+json"));
    assert_non_null(strstr(resp, "64 KiB"));
    /* 60 KiB passes */
    assert_int_equal(big_head(60 * 1024, 0, resp, sizeof resp), 200);
    /* 500 KiB: past h2o's own buffer (~408 KiB): 400 and a close, or just a close */
    int st = big_head(500 * 1024, 0, resp, sizeof resp);
    assert_true(st == 400 || st == 0);
    /* 150 headers: h2o takes 100 */
    assert_int_equal(big_head(10, 150, resp, sizeof resp), 400);
    expect_alive(&g_b);
}

/* POST a chunked body of `total` bytes in 64 KiB chunks; returns the status (0: none). */
static int chunked_post(size_t total, char *resp, size_t cap)
{
    int fd = h_raw_connect(&g_b);
    assert_true(fd >= 0);
    char *req = h_fmt("POST /api/migrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                      g_carol);
    int ok = h_raw_send(fd, req, strlen(req)) == 0;
    free(req);
    size_t chunk = 64 * 1024;
    char *data = malloc(chunk);
    memset(data, ' ', chunk);
    char size_line[32];
    snprintf(size_line, sizeof size_line, "%zx\r\n", chunk);
    for (size_t sent = 0; ok && sent < total; sent += chunk)
        ok = h_raw_send(fd, size_line, strlen(size_line)) == 0 &&
             h_raw_send(fd, data, chunk) == 0 && h_raw_send(fd, "\r\n", 2) == 0;
    if (ok)
        h_raw_send(fd, "0\r\n\r\n", 5);
    free(data);
    int st = h_raw_read(fd, resp, cap, 10000);
    close(fd);
    return st < 0 ? 0 : st;
}

static void test_oversized_bodies_are_413(void **state)
{
    (void)state;
    char resp[8192];
    assert_int_equal(chunked_post(2 * 1024 * 1024, resp, sizeof resp), 413);
    assert_non_null(strstr(resp, "application/problem+json"));
    assert_non_null(strstr(resp, "too-large"));
    /* declared too large up front */
    int fd = h_raw_connect(&g_b);
    const char *req = "POST /api/migrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      "\r\nContent-Length: 5000000\r\n\r\n{";
    assert_int_equal(h_raw_send(fd, req, strlen(req)), 0);
    assert_int_equal(h_raw_read(fd, resp, sizeof resp, 10000), 413);
    close(fd);
    /* under the limit, chunked, is read and judged on its content (not JSON: 400) */
    assert_int_equal(chunked_post(64 * 1024, resp, sizeof resp), 400);
    expect_alive(&g_b);
}

/* ---- a flood ------------------------------------------------------------------------------- */

static void test_flood_from_one_token_is_limited(void **state)
{
    (void)state;
    sleep_ms(2100); /* earlier tests' requests have refilled every bucket (10 at 5/s) */
    int ok = 0, limited = 0;
    h_resp first429 = {0};
    int64_t t0 = mono_ms();
    for (int i = 0; i < 60; i++) {
        h_resp r;
        h_req(&g_b, "GET", "/api/me", g_bob, NULL, 0, NULL, &r);
        if (r.status == 200) {
            ok++;
        } else if (r.status == 429) {
            if (limited++ == 0) {
                first429 = r;
                continue;
            }
        } else {
            fail_msg("flood: HTTP %ld: %s", r.status, r.body);
        }
        h_resp_free(&r);
    }
    double secs = (double)(mono_ms() - t0) / 1000.0;
    assert_true(limited > 0);
    /* at most the burst plus what refilled meanwhile */
    if (ok > 10 + (int)(5 * secs) + 1)
        fail_msg("%d of 60 flood requests went through in %.2f s (limit 5/s, burst 10)", ok, secs);
    H_PROBLEM(&first429, 429);
    const char *ra = h_hdr(&first429, "Retry-After");
    assert_non_null(ra);
    long retry = strtol(ra, NULL, 10);
    assert_true(retry >= 1 && retry <= 2);
    assert_int_equal(json_integer_value(json_object_get(first429.json, "retry_after")), retry);
    char *rid = strdup(h_hdr(&first429, "X-Request-Id"));
    h_resp_free(&first429);

    /* carol is somebody else */
    h_resp r;
    h_req(&g_b, "GET", "/api/me", g_carol, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    /* bob, having waited as told, is served again */
    sleep_ms((int)retry * 1000);
    h_req(&g_b, "GET", "/api/me", g_bob, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);

    /* the operator's view: counted in /metrics, one access-log line per request */
    assert_true(metric(&g_b, "flightdeck_rate_limited_total") >= limited);
    char *series = h_fmt("flightdeck_http_requests_total{route=\"/api/me\",method=\"GET\","
                         "status=\"429\"}");
    assert_true(metric(&g_b, series) >= limited);
    free(series);
    char *log = read_log(g_b.err_log);
    char *line = h_fmt("\"route\":\"/api/me\",\"status\":429,");
    assert_true(count_in(log, line) >= limited);
    free(line);
    char *want = h_fmt("\"request_id\":\"%s\",\"sub\":\"bob\"}", rid);
    assert_non_null(strstr(log, want));
    free(want);
    /* never a token, even a refused one */
    const char *sig = strrchr(g_bob, '.') + 1;
    assert_null(strstr(log, sig));
    assert_null(strstr(log, strrchr(g_carol, '.') + 1));
    free(log);
    free(rid);
}

/* Runs last: server B, after slow, oversized and flooding clients, exits clean too. */
static void test_server_b_exits_clean(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&g_b, SIGTERM, 10000), 0);
    char *log = read_log(g_b.err_log);
    if (g_b.exit_code != 0 || strstr(log, "Sanitizer") != NULL)
        fail_msg("server B exited %d:\n%.4000s", g_b.exit_code, log);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_thousand_idle_connections),
        cmocka_unit_test(test_out_of_descriptors_does_not_spin),
        cmocka_unit_test(test_thousand_streams_come_and_go),
        cmocka_unit_test(test_server_a_exits_clean),
        cmocka_unit_test(test_slow_clients_are_cut_off),
        cmocka_unit_test(test_oversized_heads_are_refused),
        cmocka_unit_test(test_oversized_bodies_are_413),
        cmocka_unit_test(test_flood_from_one_token_is_limited),
        cmocka_unit_test(test_server_b_exits_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
