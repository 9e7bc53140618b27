/*
 * fake_github.c - GitHub's REST API for one pull request, on loopback (see fake_github.h).
 */
#define _GNU_SOURCE
#include "fake_github.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECORDED 512
#define MAX_CONNS 64
#define REQ_MAX (64 * 1024)
#define PR_PATH "/repos/acme/infra/pulls/42"
#define COMMITS_PATH "/repos/acme/infra/commits/"

struct fake_github {
    int listen_fd;
    char url[64];
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    fg_scenario sc;
    fg_request *recorded;
    int nrecorded;
    int conns[MAX_CONNS]; /* open connection sockets, -1 when free */
    int nthreads;         /* connection threads still running */
};

typedef struct conn_arg {
    fake_github *g;
    int fd;
    int slot;
} conn_arg;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void fg_reset(fake_github *g)
{
    pthread_mutex_lock(&g->mu);
    memset(&g->sc, 0, sizeof g->sc);
    snprintf(g->sc.token, sizeof g->sc.token, "%s", FG_TOKEN);
    snprintf(g->sc.head_sha, sizeof g->sc.head_sha, "%s", FG_SHA_A);
    g->sc.open = 1;
    g->sc.mergeable = 1;
    snprintf(g->sc.reviews, sizeof g->sc.reviews,
             "[{\"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\"}]");
    snprintf(g->sc.status, sizeof g->sc.status,
             "{\"state\": \"success\", \"total_count\": 1, \"statuses\": [{\"context\": "
             "\"ci/build\", \"state\": \"success\"}]}");
    snprintf(g->sc.checks, sizeof g->sc.checks,
             "{\"total_count\": 1, \"check_runs\": [{\"name\": \"tests\", \"status\": "
             "\"completed\", \"conclusion\": \"success\"}]}");
    g->nrecorded = 0;
    pthread_mutex_unlock(&g->mu);
}

fg_scenario *fg_lock(fake_github *g)
{
    pthread_mutex_lock(&g->mu);
    return &g->sc;
}

void fg_unlock(fake_github *g)
{
    pthread_mutex_unlock(&g->mu);
}

const char *fg_url(fake_github *g)
{
    return g->url;
}

int fg_count(fake_github *g, const char *method, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->nrecorded; i++)
        n += strcmp(g->recorded[i].method, method) == 0 &&
             strncmp(g->recorded[i].path, prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&g->mu);
    return n;
}

int fg_total(fake_github *g)
{
    pthread_mutex_lock(&g->mu);
    int n = g->nrecorded;
    pthread_mutex_unlock(&g->mu);
    return n;
}

int fg_request_at(fake_github *g, int i, fg_request *out)
{
    int rc = -1;
    pthread_mutex_lock(&g->mu);
    if (i >= 0 && i < g->nrecorded) {
        *out = g->recorded[i];
        rc = 0;
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* ---- answering ---- */

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int respond(int fd, int status, const char *body)
{
    char head[256];
    const char *reason = status == 200   ? "OK"
                         : status == 401 ? "Unauthorized"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 409 ? "Conflict"
                                         : "Error";
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
                     status, reason, strlen(body));
    if (send_all(fd, head, (size_t)n) != 0)
        return -1;
    return send_all(fd, body, strlen(body));
}

/* The answer to one request, decided under the lock; *delay_ms is how long to wait first. */
static int answer(fake_github *g, const fg_request *r, char *out, size_t n, int *delay_ms)
{
    fg_scenario *sc = &g->sc;
    char want[128];
    snprintf(want, sizeof want, "Bearer %s", sc->token);
    *delay_ms = sc->delay_ms;
    if (strcmp(r->auth, want) != 0) {
        snprintf(out, n, "{\"message\": \"Bad credentials\"}");
        return 401;
    }
    if (strcmp(r->method, "GET") == 0 && strcmp(r->path, PR_PATH) == 0) {
        const char *mergeable = sc->mergeable ? "true" : "false";
        if (sc->merged || !sc->open) {
            mergeable = "null";
        } else if (sc->mergeable_nulls > 0) {
            sc->mergeable_nulls--;
            mergeable = "null";
        }
        snprintf(out, n,
                 "{\"number\": 42, \"state\": \"%s\", \"merged\": %s, \"mergeable\": %s,"
                 " \"mergeable_state\": \"%s\", \"title\": \"Revert: switch producers to MSK\","
                 " \"html_url\": \"https://github.com/acme/infra/pull/42\","
                 " \"head\": {\"sha\": \"%s\"}, \"merge_commit_sha\": %s}",
                 sc->open ? "open" : "closed", sc->merged ? "true" : "false", mergeable,
                 sc->mergeable ? "clean" : "dirty", sc->head_sha,
                 sc->merged ? "\"" FG_MERGE_SHA "\"" : "null");
        return 200;
    }
    if (strcmp(r->method, "GET") == 0 &&
        strncmp(r->path, PR_PATH "/reviews", strlen(PR_PATH "/reviews")) == 0) {
        snprintf(out, n, "%s", sc->reviews);
        return 200;
    }
    if (strcmp(r->method, "GET") == 0 &&
        strncmp(r->path, COMMITS_PATH, strlen(COMMITS_PATH)) == 0) {
        const char *rest = r->path + strlen(COMMITS_PATH);
        const char *slash = strchr(rest, '/');
        if (slash != NULL && strncmp(slash, "/status", 7) == 0) {
            snprintf(out, n, "%s", sc->status);
            return 200;
        }
        if (slash != NULL && strncmp(slash, "/check-runs", 11) == 0) {
            snprintf(out, n, "%s", sc->checks);
            return 200;
        }
    }
    if (strcmp(r->method, "PUT") == 0 && strcmp(r->path, PR_PATH "/merge") == 0) {
        *delay_ms += sc->merge_delay_ms;
        if (sc->merge_5xx > 0) {
            sc->merge_5xx--;
            snprintf(out, n, "{\"message\": \"Server Error\"}");
            return 502;
        }
        if (sc->merge_status != 0) {
            snprintf(out, n, "{\"message\": \"forced by the test\"}");
            return sc->merge_status;
        }
        if (sc->merged || !sc->open || !sc->mergeable) {
            snprintf(out, n, "{\"message\": \"Pull Request is not mergeable\"}");
            return 405;
        }
        char sha[64] = "";
        const char *p = strstr(r->body, "\"sha\":\"");
        if (p != NULL)
            sscanf(p + 7, "%63[0-9a-f]", sha);
        if (strcmp(sha, sc->head_sha) != 0) {
            snprintf(out, n,
                     "{\"message\": \"Head branch was modified. Review and try the merge "
                     "again.\"}");
            return 409;
        }
        sc->merged = 1;
        sc->open = 0;
        snprintf(out, n,
                 "{\"sha\": \"" FG_MERGE_SHA "\", \"merged\": true, \"message\": \"Pull Request "
                 "successfully merged\"}");
        return 200;
    }
    snprintf(out, n, "{\"message\": \"Not Found\"}");
    return 404;
}

/* Read one request (headers and a Content-Length body) into r. 0, or -1 when the peer closed. */
static int read_request(int fd, char *buf, size_t cap, size_t *have, fg_request *r)
{
    char *end;
    for (;;) {
        buf[*have] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) != NULL)
            break;
        if (*have + 1 >= cap)
            return -1;
        ssize_t got = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (got <= 0)
            return -1;
        *have += (size_t)got;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    memset(r, 0, sizeof *r);
    sscanf(buf, "%7s %255s", r->method, r->path);
    size_t clen = 0;
    for (char *line = strstr(buf, "\r\n"); line != NULL && line < end;
         line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (strncasecmp(l, "Content-Length:", 15) == 0)
            clen = (size_t)strtoul(l + 15, NULL, 10);
        else if (strncasecmp(l, "Authorization:", 14) == 0)
            sscanf(l + 14, " %159[^\r\n]", r->auth);
    }
    if (head_len + clen >= cap)
        return -1;
    while (*have < head_len + clen) {
        ssize_t got = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (got <= 0)
            return -1;
        *have += (size_t)got;
    }
    snprintf(r->body, sizeof r->body, "%.*s", (int)clen, buf + head_len);
    /* keep what follows (a pipelined request) for the next round */
    memmove(buf, buf + head_len + clen, *have - head_len - clen);
    *have -= head_len + clen;
    return 0;
}

static void *conn_main(void *arg)
{
    conn_arg *ca = arg;
    fake_github *g = ca->g;
    char *buf = malloc(REQ_MAX);
    size_t have = 0;
    fg_request r;
    char body[4096];
    while (buf != NULL && read_request(ca->fd, buf, REQ_MAX, &have, &r) == 0) {
        int delay = 0;
        pthread_mutex_lock(&g->mu);
        if (g->nrecorded < MAX_RECORDED)
            g->recorded[g->nrecorded++] = r;
        int status = answer(g, &r, body, sizeof body, &delay);
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (delay > 0)
            sleep_ms(delay);
        if (respond(ca->fd, status, body) != 0)
            break;
    }
    free(buf);
    pthread_mutex_lock(&g->mu);
    close(ca->fd);
    g->conns[ca->slot] = -1;
    g->nthreads--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    free(ca);
    return NULL;
}

static void *accept_main(void *arg)
{
    fake_github *g = arg;
    for (;;) {
        int fd = accept(g->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL; /* fg_stop shut the socket down */
        }
        pthread_mutex_lock(&g->mu);
        int slot = -1;
        for (int i = 0; i < MAX_CONNS && slot < 0; i++)
            if (g->conns[i] < 0)
                slot = i;
        conn_arg *ca = slot >= 0 && !g->stopping ? malloc(sizeof *ca) : NULL;
        pthread_t t;
        if (ca == NULL) {
            pthread_mutex_unlock(&g->mu);
            close(fd);
            continue;
        }
        *ca = (conn_arg){g, fd, slot};
        g->conns[slot] = fd;
        g->nthreads++;
        if (pthread_create(&t, NULL, conn_main, ca) != 0) {
            g->conns[slot] = -1;
            g->nthreads--;
            close(fd);
            free(ca);
        } else {
            pthread_detach(t);
        }
        pthread_mutex_unlock(&g->mu);
    }
}

fake_github *fg_start(void)
{
    fake_github *g = calloc(1, sizeof *g);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (g == NULL)
        return NULL;
    g->recorded = calloc(MAX_RECORDED, sizeof *g->recorded);
    for (int i = 0; i < MAX_CONNS; i++)
        g->conns[i] = -1;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g->recorded == NULL || g->listen_fd < 0 ||
        bind(g->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(g->listen_fd, 64) != 0 ||
        getsockname(g->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        goto fail;
    snprintf(g->url, sizeof g->url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    fg_reset(g);
    if (pthread_create(&g->accept_thread, NULL, accept_main, g) != 0)
        goto fail;
    return g;
fail:
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    free(g->recorded);
    free(g);
    return NULL;
}

void fg_stop(fake_github *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = 1;
    pthread_mutex_unlock(&g->mu);
    shutdown(g->listen_fd, SHUT_RDWR);
    pthread_join(g->accept_thread, NULL);
    close(g->listen_fd);
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < MAX_CONNS; i++)
        if (g->conns[i] >= 0)
            shutdown(g->conns[i], SHUT_RDWR);
    while (g->nthreads > 0)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g->recorded);
    free(g);
}
