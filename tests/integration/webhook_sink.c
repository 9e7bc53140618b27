/*
 * webhook_sink.c - a loopback HTTP receiver for webhook deliveries (see webhook_sink.h).
 */
#define _GNU_SOURCE
#include "webhook_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUESTS 256
#define REQ_MAX (256 * 1024)

struct wh_sink {
    int fd;
    char url[64];
    int fail_first;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    wh_request reqs[MAX_REQUESTS];
    int n;
};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* The value of header `name` in the head [head, end), trimmed, malloc'd; or NULL. */
static char *header(const char *head, const char *end, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = head; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (v < eol && *v == ' ')
                v++;
            return dup_n(v, (size_t)(eol - v));
        }
        p = eol + 2;
    }
    return NULL;
}

/* Read one request from c: head and Content-Length body. Returns the total length or -1. */
static long read_request(int c, char *buf, size_t cap, size_t *head_len)
{
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        struct pollfd pfd = {.fd = c, .events = POLLIN};
        if (poll(&pfd, 1, 5000) <= 0 || len + 1 >= cap)
            return -1;
        ssize_t n = read(c, buf + len, cap - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    *head_len = (size_t)(end - buf) + 4;
    char *cl = header(buf, end, "Content-Length");
    size_t want = cl ? strtoul(cl, NULL, 10) : 0;
    free(cl);
    if (*head_len + want >= cap)
        return -1;
    while (len < *head_len + want) {
        struct pollfd pfd = {.fd = c, .events = POLLIN};
        if (poll(&pfd, 1, 5000) <= 0)
            return -1;
        ssize_t n = read(c, buf + len, *head_len + want - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return (long)len;
}

static void serve_one(wh_sink *s, int c)
{
    static char buf[REQ_MAX];
    size_t head_len = 0;
    long len = read_request(c, buf, sizeof buf, &head_len);
    if (len < 0)
        return;
    pthread_mutex_lock(&s->mu);
    int status = s->n < s->fail_first ? 500 : 200;
    if (s->n < MAX_REQUESTS) {
        wh_request *r = &s->reqs[s->n++];
        const char *end = buf + head_len - 4;
        r->signature = header(buf, end, "X-Flightdeck-Signature");
        r->event_id = header(buf, end, "X-Flightdeck-Event-Id");
        r->event = header(buf, end, "X-Flightdeck-Event");
        r->body = dup_n(buf + head_len, (size_t)len - head_len);
        r->answered = status;
        r->method = dup_n(buf, strcspn(buf, " "));
        r->authorization = header(buf, end, "Authorization");
    }
    pthread_mutex_unlock(&s->mu);
    char resp[160];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status,
                     status == 200 ? "OK" : "Internal Server Error");
    ssize_t w = write(c, resp, (size_t)n);
    (void)w;
}

static void *sink_main(void *arg)
{
    wh_sink *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(s, c);
        close(c);
    }
    return NULL;
}

wh_sink *wh_sink_start(int fail_first)
{
    wh_sink *s = calloc(1, sizeof *s);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fail_first = fail_first;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return NULL;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
        close(s->fd);
        free(s);
        return NULL;
    }
    return s;
}

const char *wh_sink_url(wh_sink *s)
{
    return s->url;
}

int wh_sink_count(wh_sink *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int wh_sink_wait(wh_sink *s, int n, int timeout_ms)
{
    struct timespec ts = {0, 20 * 1000000};
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (wh_sink_count(s) >= n)
            break;
        nanosleep(&ts, NULL);
    }
    return wh_sink_count(s);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int wh_sink_get(wh_sink *s, int i, wh_request *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int ok = i >= 0 && i < s->n;
    if (ok) {
        wh_request *r = &s->reqs[i];
        out->signature = dup_or_null(r->signature);
        out->event_id = dup_or_null(r->event_id);
        out->event = dup_or_null(r->event);
        out->body = dup_or_null(r->body);
        out->answered = r->answered;
        out->method = dup_or_null(r->method);
        out->authorization = dup_or_null(r->authorization);
    }
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

void wh_request_free(wh_request *r)
{
    free(r->signature);
    free(r->event_id);
    free(r->event);
    free(r->body);
    free(r->method);
    free(r->authorization);
    memset(r, 0, sizeof *r);
}

void wh_sink_stop(wh_sink *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->n; i++)
        wh_request_free(&s->reqs[i]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
