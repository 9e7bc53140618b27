/*
 * export_count.c - the audit export's client in `make bench`: downloads one export and counts
 * its lines, with as little of the two cores as it can.
 *
 *   export_count --port PORT --path /api/... [--max-seconds S]   (token: BENCH_TOKEN)
 *
 * Prints one line: status=<HTTP status> bytes=<body bytes> lines=<newlines in the body>
 * seconds=<from connect to the body's last byte>. Exit 0 when the response was read to its end
 * (whatever its status), 1 when it was cut short or could not be read (the line says what:
 * error=cut-short when the server closed early or S seconds passed, 120 by default; the
 * figures are then those of what arrived).
 *
 * Why not `curl | wc -l`, as before: the export is ~1.3 GB, and curl copies it into a pipe that
 * wc copies out again, on the cores the server uses: ~0.9 s of CPU for a million events, a
 * third of the server's own. This reads the socket into one 1 MiB buffer and counts newlines
 * with memchr: the body is read (and the chunked framing decoded) exactly once. What it does not
 * do that curl did: write the bytes anywhere. The line count is what says the export is whole
 * (run.sh compares it with the events written), so a cut-short export cannot pass for a fast
 * one.
 *
 * HTTP/1.1 with Connection: close; a chunked body (how the server streams exports) or one with
 * Content-Length or one closed at its end. No redirects, no TLS: the server under test is on
 * 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1024 * 1024)
#define HEAD_MAX (64 * 1024)

typedef struct body {
    int chunked;
    long long remaining; /* chunked: bytes left of the chunk at hand; else of Content-Length (-1:
                            until the connection closes) */
    int state;           /* chunked: CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE */
    long long size;      /* the chunk size being parsed */
    int size_digits;
    long long bytes, lines;
} body;

enum { CH_SIZE, CH_SIZE_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_DONE };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long count_newlines(const char *p, size_t n)
{
    long long c = 0;
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

static void take_data(body *b, const char *p, size_t n)
{
    b->bytes += (long long)n;
    b->lines += count_newlines(p, n);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Body bytes as read. Returns -1 on a malformed chunked body. */
static int body_bytes(body *b, const char *p, size_t n)
{
    if (!b->chunked) {
        size_t take = n;
        if (b->remaining >= 0 && (long long)take > b->remaining)
            take = (size_t)b->remaining;
        take_data(b, p, take);
        if (b->remaining >= 0)
            b->remaining -= (long long)take;
        return 0;
    }
    size_t i = 0;
    while (i < n && b->state != CH_DONE) {
        char c = p[i];
        switch (b->state) {
        case CH_SIZE:
            if (hexval(c) >= 0) {
                if (++b->size_digits > 15)
                    return -1;
                b->size = b->size * 16 + hexval(c);
            } else if (c == ';') {
                b->state = CH_SIZE_EXT;
            } else if (c == '\r') {
                b->state = CH_SIZE_LF;
            } else {
                return -1;
            }
            i++;
            break;
        case CH_SIZE_EXT:
            if (c == '\r')
                b->state = CH_SIZE_LF;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n' || b->size_digits == 0)
                return -1;
            b->remaining = b->size;
            b->state = b->size > 0 ? CH_DATA : CH_TRAILER;
            b->size = 0;
            b->size_digits = 0;
            i++;
            break;
        case CH_DATA: {
            size_t take = n - i;
            if ((long long)take > b->remaining)
                take = (size_t)b->remaining;
            take_data(b, p + i, take);
            b->remaining -= (long long)take;
            i += take;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return -1;
            b->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return -1;
            b->state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            /* no trailers from our server: the last chunk ends with one more CRLF */
            if (c == '\n')
                b->state = CH_DONE;
            i++;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

static int body_complete(const body *b)
{
    return b->chunked ? b->state == CH_DONE : b->remaining == 0;
}

/* The value of header `name` in the head (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            line += n + 1;
            while (*line == ' ')
                line++;
            return line;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0;
    double max_s = 120;
    const char *path = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--path") == 0)
            path = argv[i + 1];
        else if (strcmp(argv[i], "--max-seconds") == 0)
            max_s = atof(argv[i + 1]);
    }
    const char *token = getenv("BENCH_TOKEN");
    if (port <= 0 || port > 65535 || path == NULL || token == NULL) {
        fprintf(stderr, "usage: BENCH_TOKEN=... export_count --port PORT --path PATH\n");
        return 1;
    }
    char *buf = malloc(BUF_SIZE);
    char req[4096];
    int reqlen = snprintf(req, sizeof req,
                          "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\n\r\n",
                          path, token);
    if (buf == NULL || reqlen <= 0 || reqlen >= (int)sizeof req)
        return 1;

    double t0 = now_s();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        printf("status=0 bytes=0 lines=0 seconds=0 error=connect\n");
        return 1;
    }
    /* a server that stops sending must not hold the run: every wait is bounded */
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int off = 0; off < reqlen;) {
        ssize_t w = send(fd, req + off, (size_t)(reqlen - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            printf("status=0 bytes=0 lines=0 seconds=0 error=send\n");
            return 1;
        }
        off += (int)w;
    }

    /* the head: read until the blank line (the rest of that read is body) */
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have >= HEAD_MAX) {
            printf("status=0 bytes=0 lines=0 seconds=0 error=head-too-long\n");
            return 1;
        }
        ssize_t r = recv(fd, buf + have, HEAD_MAX - have, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN) && now_s() - t0 < max_s)
            continue;
        if (r <= 0) {
            printf("status=0 bytes=0 lines=0 seconds=0 error=no-head\n");
            return 1;
        }
        have += (size_t)r;
        buf[have] = '\0'; /* BUF_SIZE > HEAD_MAX: room for it */
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    end[2] = '\0'; /* the head's text for the lookups, its last CRLF kept */
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        printf("status=0 bytes=0 lines=0 seconds=0 error=status-line\n");
        return 1;
    }
    body b = {.remaining = -1};
    const char *te = header(buf, "transfer-encoding");
    const char *cl = header(buf, "content-length");
    if (te != NULL && strncasecmp(te, "chunked", 7) == 0)
        b.chunked = 1;
    else if (cl != NULL)
        b.remaining = atoll(cl);

    int bad = body_bytes(&b, buf + head_len, have - head_len) != 0;
    while (!bad && !body_complete(&b) && now_s() - t0 < max_s) {
        ssize_t r = recv(fd, buf, BUF_SIZE, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            if (!b.chunked && b.remaining < 0)
                b.remaining = 0; /* closed at its end: that is the end */
            break;
        }
        bad = body_bytes(&b, buf, (size_t)r) != 0;
    }
    double secs = now_s() - t0;
    close(fd);
    free(buf);
    int whole = !bad && body_complete(&b);
    printf("status=%d bytes=%lld lines=%lld seconds=%.6f%s\n", status, b.bytes, b.lines, secs,
           whole ? "" : bad ? " error=malformed-body" : " error=cut-short");
    return whole ? 0 : 1;
}
