/*
 * sse_fanout.c - tick-to-screen: how long after a tick is answered does every open event stream
 * have it?
 *
 *   sse_fanout --port PORT --migration MID --step SID --streams K --ticks N [--pid SERVER_PID]
 *              (the bearer token comes from the environment: BENCH_TOKEN)
 *
 * Opens K event streams (GET /api/migrations/MID/events) on 127.0.0.1:PORT and waits until each
 * has its first block. Then, N times (after a few warm-up rounds): sends a tick (or an untick,
 * alternating, so the step can be ticked again) over one separate keep-alive connection, notes
 * the moment its response has fully arrived, and waits until every stream has received one more
 * event id. The delay of a round is (the last stream's arrival - the response's arrival); a
 * stream that has the event before the ticker has its answer counts as 0. The server hands the
 * event to the hub at commit, before the handler answers, so this is often 0: the same rounds
 * are also timed from the moment the tick was sent (send_*: commit, fsync and fan-out together).
 *
 * The same rounds are also timed by the kernel's receive timestamps (SO_TIMESTAMPNS: the moment
 * the segment reached the receiving socket, which on loopback is the moment the server's send
 * delivered it): sock_median_ms, sock_p99_ms = the last stream's segment minus the response's.
 * That is when each subscriber's machine has the event, before this one process has read 1,000
 * sockets in turn on the cores the server uses (a browser has a machine of its own); the times
 * above are when this tool read them. Both are printed; bench/README.md says which the target is
 * read against.
 *
 * Prints one line: streams=K ticks=N median_ms=.. p99_ms=.. max_ms=.. send_median_ms=..
 * send_p99_ms=.. sock_median_ms=.. sock_p99_ms=.. bad_status=.. timeouts=.. connect_s=..
 * [rss_kb=.. hwm_kb=..]   (RSS of --pid with all K streams open, read after the rounds; the
 * sock_ figures are -1 when the kernel gave no timestamps). Exit 0 when it measured, 1 when the
 * harness could not (no server, ...).
 *
 * One thread, epoll, non-blocking sockets; RLIMIT_NOFILE raised to its hard limit. Every wait
 * is bounded (ROUND_TIMEOUT_MS per round, SETUP_TIMEOUT_MS to open the streams).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STREAMS_MAX 20000
#define TICKS_MAX 100000
#define WARMUP_ROUNDS 5
#define ROUND_TIMEOUT_MS 5000
#define SETUP_TIMEOUT_MS 30000
#define EVENTS_MAX 1024  /* epoll events taken per wait */
#define LINE_MAX_LEN 256 /* only short lines (id:, chunk sizes) are looked at; longer are skipped */

/* One event stream: an HTTP/1.1 chunked response carrying text/event-stream. */
typedef struct stream {
    int fd;
    char status[13];     /* "HTTP/1.1 200" */
    size_t status_len;
    int in_body;         /* headers done */
    int hdr_match;       /* bytes of "\r\n\r\n" matched so far */
    /* chunked decoding */
    int chunk_state;     /* 0 size line, 1 data, 2 CRLF after data */
    long long chunk_left;
    char size_line[32];
    size_t size_len;
    /* event-stream lines */
    char line[LINE_MAX_LEN];
    size_t line_len;
    int line_long;
    long long blocks;    /* blank lines: blocks (events, comments) ended */
    long long ids;       /* "id:" lines seen */
    long long base;      /* ids when the rounds began */
    double last_id_at;   /* when the newest one arrived (ms, monotonic) */
    double last_id_kt;   /* ... and when its segment reached the socket (ms, realtime; 0: unknown) */
} stream;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int parse_num(const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int connect_local(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The kernel's receive time of the read at hand (ms, realtime; 0: none), set by the readers
 * before they parse what they read. */
static double read_kt;

/* A complete event-stream line (without its newline). */
static void stream_line(stream *s, double t)
{
    if (s->line_long)
        return;
    if (s->line_len == 0)
        s->blocks++;
    if (s->line_len >= 3 && memcmp(s->line, "id:", 3) == 0) {
        s->ids++;
        s->last_id_at = t;
        s->last_id_kt = read_kt;
    }
}

/* Event-stream bytes (already de-chunked). Whole lines at a time (memchr): a byte-at-a-time loop
 * over 1,000 streams' events costs the tool milliseconds a round, on the cores the server uses. */
static void stream_data(stream *s, const char *p, size_t n, double t)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - p) : n;
        if (!s->line_long) {
            if (s->line_len + take <= sizeof s->line) {
                memcpy(s->line + s->line_len, p, take);
                s->line_len += take;
            } else {
                s->line_long = 1;
            }
        }
        if (nl == NULL)
            return;
        if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
            s->line_len--;
        stream_line(s, t);
        s->line_len = 0;
        s->line_long = 0;
        p += take + 1;
        n -= take + 1;
    }
}

/* Bytes of the HTTP response as read from the socket. Returns -1 on a malformed response. */
static int stream_bytes(stream *s, const char *p, size_t n, double t)
{
    size_t i = 0;
    while (!s->in_body && i < n) { /* check the status, skip the headers */
        static const char end[] = "\r\n\r\n";
        if (s->status_len < 12) {
            s->status[s->status_len++] = p[i];
            if (s->status_len == 12 && memcmp(s->status, "HTTP/1.1 200", 12) != 0)
                return -1; /* refused */
        }
        s->hdr_match = p[i] == end[s->hdr_match] ? s->hdr_match + 1 : (p[i] == '\r' ? 1 : 0);
        i++;
        if (s->hdr_match == 4)
            s->in_body = 1;
    }
    while (i < n) {
        if (s->chunk_state == 0) { /* "<hex size>\r\n" */
            char c = p[i++];
            if (c == '\n') {
                s->size_line[s->size_len] = '\0';
                char *end = NULL;
                errno = 0;
                long long size = strtoll(s->size_line, &end, 16);
                if (errno != 0 || end == s->size_line || size < 0)
                    return -1;
                if (size == 0)
                    return -1; /* the server ended the stream */
                s->chunk_left = size;
                s->chunk_state = 1;
                s->size_len = 0;
            } else if (c != '\r' && s->size_len + 1 < sizeof s->size_line) {
                s->size_line[s->size_len++] = c;
            }
        } else if (s->chunk_state == 1) {
            size_t take = n - i < (size_t)s->chunk_left ? n - i : (size_t)s->chunk_left;
            stream_data(s, p + i, take, t);
            i += take;
            s->chunk_left -= (long long)take;
            if (s->chunk_left == 0)
                s->chunk_state = 2;
        } else { /* the CRLF after the data */
            if (p[i++] == '\n')
                s->chunk_state = 0;
        }
    }
    return 0;
}

/* The ticker's keep-alive connection: one request, then its response (Content-Length). */
typedef struct ticker {
    int fd;
    char buf[65536];
    size_t len;
    int status;
    double done_at; /* > 0 once the whole response arrived */
    double done_kt; /* the kernel's receive time of its last segment (ms, realtime; 0: none) */
} ticker;

/* Parse what the ticker has: when the response is complete, note status and time. */
static int ticker_check(ticker *tk, double t)
{
    tk->buf[tk->len] = '\0';
    char *hend = strstr(tk->buf, "\r\n\r\n");
    if (hend == NULL)
        return tk->len + 1 >= sizeof tk->buf ? -1 : 0;
    size_t hlen = (size_t)(hend - tk->buf) + 4;
    long long clen = -1;
    for (char *h = strstr(tk->buf, "\r\n"); h != NULL && h < hend; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "content-length:", 15) == 0)
            clen = strtoll(h + 17, NULL, 10);
    if (clen < 0 || clen > (long long)(sizeof tk->buf - hlen - 1))
        return -1;
    if (tk->len < hlen + (size_t)clen)
        return 0;
    tk->status = atoi(tk->buf + 9) /* "HTTP/1.1 200" */;
    tk->done_at = t;
    tk->done_kt = read_kt;
    /* keep-alive: the next response starts after this one */
    size_t used = hlen + (size_t)clen;
    memmove(tk->buf, tk->buf + used, tk->len - used);
    tk->len -= used;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long status_kb(long pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (f == NULL)
        return -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            kb = strtol(line + kl + 1, NULL, 10);
    fclose(f);
    return kb;
}

typedef struct options {
    long long port, step, streams, ticks, pid;
    const char *mid;
    const char *token;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->pid = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        int bad = 0;
        if (strcmp(k, "--port") == 0)
            bad = parse_num(v, 1, 65535, &o->port);
        else if (strcmp(k, "--step") == 0)
            bad = parse_num(v, 1, INT64_MAX, &o->step);
        else if (strcmp(k, "--streams") == 0)
            bad = parse_num(v, 1, STREAMS_MAX, &o->streams);
        else if (strcmp(k, "--ticks") == 0)
            bad = parse_num(v, 1, TICKS_MAX, &o->ticks);
        else if (strcmp(k, "--pid") == 0)
            bad = parse_num(v, 1, INT32_MAX, &o->pid);
        else if (strcmp(k, "--migration") == 0)
            o->mid = v;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "sse_fanout: bad option %s %s\n", k, v);
            return -1;
        }
    }
    o->token = getenv("BENCH_TOKEN");
    if ((argc - 1) % 2 != 0 || o->port == 0 || o->step == 0 || o->streams == 0 ||
        o->ticks == 0 || o->mid == NULL || o->token == NULL) {
        fprintf(stderr, "usage: BENCH_TOKEN=... sse_fanout --port P --migration MID --step SID "
                        "--streams K --ticks N [--pid PID]\n");
        return -1;
    }
    return 0;
}

/* recv, and the kernel's receive time of the last segment read into read_kt (0 if none). */
static ssize_t recv_stamped(int fd, char *buf, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(fd, &mh, 0);
    read_kt = 0;
    for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c != NULL; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            read_kt = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
        }
    return n;
}

/* Read what a ready stream has: -1 when it ended or failed. One recv is enough when it does not
 * fill the buffer: TCP hands over everything queued up to the buffer's size, so a short read
 * left the socket empty, and the epoll registration is level-triggered, so bytes that arrive
 * later wake the loop again. The recv that would only say EAGAIN is saved: at 1,000 streams
 * that was 1,000 syscalls a round on the cores the server is measured on. */
static int drain_stream(stream *s, double t)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv_stamped(s->fd, buf, sizeof buf);
        if (n > 0) {
            if (stream_bytes(s, buf, (size_t)n, t) != 0)
                return -1;
            if ((size_t)n < sizeof buf)
                return 0;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static int drain_ticker(ticker *tk, double t)
{
    for (;;) {
        ssize_t n = recv_stamped(tk->fd, tk->buf + tk->len, sizeof tk->buf - 1 - tk->len);
        if (n > 0) {
            tk->len += (size_t)n;
            if (ticker_check(tk, t) != 0)
                return -1;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* Wait for events on every socket until `done(arg)` or the deadline. 0 done, -1 timeout or a
 * socket failed (*failed says which). epoll data: index into streams, or -1 for the ticker. */
typedef struct loop {
    int ep;
    stream *streams;
    long long nstreams;
    ticker *tk;
} loop;

static int loop_until(loop *l, int (*done)(void *), void *arg, double deadline)
{
    /* room for a whole round's streams: one epoll_wait per wake-up rather than four at 1,000 */
    static struct epoll_event evs[EVENTS_MAX];
    while (!done(arg)) {
        double left = deadline - now_ms();
        if (left <= 0)
            return -1;
        int n = epoll_wait(l->ep, evs, EVENTS_MAX, (int)left + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        double t = now_ms();
        /* the ticker first, whatever epoll's order: its answer's time is the reference, and
           reading it after a thousand streams would make every stream look early */
        if (l->tk->fd >= 0 && drain_ticker(l->tk, t) != 0) {
            fprintf(stderr, "sse_fanout: the ticker connection failed\n");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            int64_t idx = (int64_t)evs[i].data.u64 - 1;
            if (idx < 0)
                continue; /* drained above */
            if (drain_stream(&l->streams[idx], t) != 0) {
                fprintf(stderr, "sse_fanout: stream %lld ended or was refused\n", (long long)idx);
                return -1;
            }
        }
    }
    return 0;
}

static int all_opened(void *arg)
{
    const loop *l = arg;
    for (long long i = 0; i < l->nstreams; i++)
        if (l->streams[i].blocks < 1)
            return 0;
    return 1;
}

typedef struct wait_ids {
    loop *l;
    long long want; /* every stream has at least this many ids past its base */
    int need_ticker;
    long long next; /* the streams before this one have it already (ids only grow) */
} wait_ids;

static int all_have(void *arg)
{
    wait_ids *w = arg;
    if (w->need_ticker && w->l->tk->done_at <= 0)
        return 0;
    if (w->need_ticker && w->l->tk->status != 200)
        return 1; /* refused: no event is coming */
    /* from where the last call stopped: a scan of every stream at every wake-up would cost
       the tool O(streams) per epoll_wait, inside the measured window */
    while (w->next < w->l->nstreams &&
           w->l->streams[w->next].ids - w->l->streams[w->next].base >= w->want)
        w->next++;
    return w->next == w->l->nstreams;
}

static int add_fd(int ep, int fd, int64_t tag)
{
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(tag + 1)};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
    options o;
    loop l = {.ep = -1};
    ticker tk = {.fd = -1};
    double *delays = NULL, *from_send = NULL, *at_socket = NULL;
    int rc = 1;

    if (parse_options(argc, argv, &o) != 0)
        return 1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (long long)rl.rlim_cur < o.streams + 16) {
        fprintf(stderr, "sse_fanout: %lld streams need more file descriptors than %llu\n",
                o.streams, (unsigned long long)rl.rlim_cur);
        return 1;
    }
    l.streams = calloc((size_t)o.streams, sizeof *l.streams);
    delays = calloc((size_t)o.ticks, sizeof *delays);
    from_send = calloc((size_t)o.ticks, sizeof *from_send);
    at_socket = calloc((size_t)o.ticks, sizeof *at_socket);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.tk = &tk;
    if (l.streams == NULL || delays == NULL || from_send == NULL || at_socket == NULL || l.ep < 0)
        goto done;
    for (long long i = 0; i < o.streams; i++)
        l.streams[i].fd = -1;

    char req[4096];
    int reqlen = snprintf(req, sizeof req,
                          "GET /api/migrations/%s/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                          o.mid, o.token);
    if (reqlen <= 0 || reqlen >= (int)sizeof req)
        goto done;
    double t0 = now_ms();
    for (long long i = 0; i < o.streams; i++) {
        stream *s = &l.streams[i];
        s->fd = connect_local((int)o.port);
        if (s->fd < 0 || send_all(s->fd, req, (size_t)reqlen) != 0 ||
            add_fd(l.ep, s->fd, (int64_t)i) != 0) {
            fprintf(stderr, "sse_fanout: stream %lld: %s\n", i, strerror(errno));
            goto done;
        }
        l.nstreams = i + 1;
    }
    /* every stream has its first block (the comment sent at once, with the newest id) */
    if (loop_until(&l, all_opened, &l, now_ms() + SETUP_TIMEOUT_MS) != 0) {
        fprintf(stderr, "sse_fanout: the streams did not all open\n");
        goto done;
    }
    double connect_s = (now_ms() - t0) / 1e3;

    tk.fd = connect_local((int)o.port);
    if (tk.fd < 0 || add_fd(l.ep, tk.fd, -1) != 0)
        goto done;
    long long bad_status = 0, timeouts = 0, measured = 0, events = 0, nstamped = 0;
    for (long long i = 0; i < l.nstreams; i++) /* each stream counts from where it stands */
        l.streams[i].base = l.streams[i].ids;
    for (long long r = 0; r < WARMUP_ROUNDS + o.ticks; r++) {
        char body[] = "{}", tick[4096];
        int n = snprintf(tick, sizeof tick,
                         "POST /api/migrations/%s/steps/%lld/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         o.mid, o.step, r % 2 == 0 ? "tick" : "untick", o.token, strlen(body),
                         body);
        tk.done_at = 0;
        tk.done_kt = 0;
        double sent_at = now_ms();
        if (n <= 0 || n >= (int)sizeof tick || send_all(tk.fd, tick, (size_t)n) != 0)
            goto done;
        /* one event per answered round (a presence block carries no id, so it does not
           count); a refused tick (409: the step was left ticked) brings none */
        wait_ids wr = {&l, events + 1, 1, 0};
        if (loop_until(&l, all_have, &wr, now_ms() + ROUND_TIMEOUT_MS) != 0) {
            timeouts++;
            long long behind = 0;
            for (long long i = 0; i < l.nstreams; i++)
                behind += l.streams[i].ids - l.streams[i].base < events + 1;
            fprintf(stderr, "sse_fanout: round %lld timed out: %lld streams without the event%s\n",
                    r, behind, tk.done_at > 0 ? "" : ", no answer to the tick");
            break; /* the counts no longer line up; report what was measured */
        }
        if (tk.status != 200) {
            bad_status += r >= WARMUP_ROUNDS;
            continue;
        }
        events++;
        if (r < WARMUP_ROUNDS)
            continue;
        double last = 0, last_kt = 0;
        int stamped = tk.done_kt > 0;
        for (long long i = 0; i < l.nstreams; i++) {
            if (l.streams[i].last_id_at > last)
                last = l.streams[i].last_id_at;
            if (l.streams[i].last_id_kt > last_kt)
                last_kt = l.streams[i].last_id_kt;
            stamped = stamped && l.streams[i].last_id_kt > 0;
        }
        double d = last - tk.done_at, dk = last_kt - tk.done_kt;
        delays[measured] = d > 0 ? d : 0;
        at_socket[measured] = !stamped ? -1 : dk > 0 ? dk : 0;
        nstamped += stamped;
        from_send[measured++] = last - sent_at;
    }
    long rss = o.pid > 0 ? status_kb(o.pid, "VmRSS") : -1;
    long hwm = o.pid > 0 ? status_kb(o.pid, "VmHWM") : -1;
    if (measured == 0) {
        fprintf(stderr, "sse_fanout: nothing measured\n");
        goto done;
    }
    qsort(delays, (size_t)measured, sizeof *delays, cmp_double);
    qsort(from_send, (size_t)measured, sizeof *from_send, cmp_double);
    qsort(at_socket, (size_t)measured, sizeof *at_socket, cmp_double);
    long long p99 = (measured * 99 + 99) / 100 - 1; /* nearest rank */
    /* a round without every timestamp counts -1: the sock_ figures only when all had them */
    int all_stamped = nstamped == measured;
    printf("streams=%lld ticks=%lld median_ms=%.2f p99_ms=%.2f max_ms=%.2f send_median_ms=%.2f "
           "send_p99_ms=%.2f sock_median_ms=%.2f sock_p99_ms=%.2f bad_status=%lld timeouts=%lld "
           "connect_s=%.2f",
           l.nstreams, measured, delays[measured / 2], delays[p99], delays[measured - 1],
           from_send[measured / 2], from_send[p99], all_stamped ? at_socket[measured / 2] : -1.0,
           all_stamped ? at_socket[p99] : -1.0, bad_status, timeouts, connect_s);
    if (rss >= 0)
        printf(" rss_kb=%ld hwm_kb=%ld", rss, hwm);
    printf("\n");
    rc = 0;
done:
    if (l.streams != NULL)
        for (long long i = 0; i < o.streams; i++)
            if (l.streams[i].fd >= 0)
                close(l.streams[i].fd);
    if (tk.fd >= 0)
        close(tk.fd);
    if (l.ep >= 0)
        close(l.ep);
    free(l.streams);
    free(delays);
    free(from_send);
    free(at_socket);
    return rc;
}
