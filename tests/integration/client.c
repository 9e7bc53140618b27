/*
 * client.c - the HTTP side of the harness: a tiny libcurl client, a raw-socket client for
 * requests curl would tidy up, problem+json assertions, and helpers that read migrations.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    h_resp *r = arg;
    size_t add = size * n;
    char *grown = realloc(r->body, r->len + add + 1);
    if (!grown)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, data, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static void drop_headers(h_resp *r)
{
    for (int i = 0; i < r->nheaders; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
    r->nheaders = 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    h_resp *r = arg;
    size_t len = size * n;
    /* a new status line (after a 100 Continue) starts a new header block */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        drop_headers(r);
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || r->nheaders >= H_MAX_HEADERS)
        return len;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    r->hname[r->nheaders] = strndup(data, nlen);
    r->hvalue[r->nheaders] = strndup(v, (size_t)(end - v));
    r->nheaders++;
    return len;
}

const char *h_hdr(const h_resp *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->hname[i], name) == 0)
            return r->hvalue[i];
    return NULL;
}

void h_resp_free(h_resp *r)
{
    drop_headers(r);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

long h_req(const h_server *s, const char *method, const char *path, const char *token,
           const char *body, size_t len, const char *const *hdrs, h_resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *list = NULL;
    char *url = h_fmt("%s%s", s->base, path);
    char *auth = NULL;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, r->curl_error);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
        strcmp(method, "PUT") == 0) {
        if (!body) {
            body = "";
            len = 0;
        } else if (len == (size_t)-1) {
            len = strlen(body);
        }
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (len > 0)
            list = curl_slist_append(list, "Content-Type: application/json");
    }
    /* no "Expect: 100-continue" pause on large bodies */
    list = curl_slist_append(list, "Expect:");
    if (token) {
        auth = h_fmt("Authorization: Bearer %s", token);
        list = curl_slist_append(list, auth);
    }
    for (int i = 0; hdrs && hdrs[i]; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK || r->nheaders > 0)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (rc != CURLE_OK && r->curl_error[0] == '\0')
        snprintf(r->curl_error, sizeof r->curl_error, "%s", curl_easy_strerror(rc));
    if (!r->body)
        r->body = calloc(1, 1);

    const char *ct = h_hdr(r, "Content-Type");
    if (ct && strstr(ct, "json") && r->len > 0 && !strstr(ct, "ndjson"))
        r->json = json_loadb(r->body, r->len, 0, NULL);

    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    free(url);
    free(auth);
    return r->status;
}

long h_req_json(const h_server *s, const char *method, const char *path, const char *token,
                const json_t *body, const char *const *hdrs, h_resp *r)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    long st = h_req(s, method, path, token, text, (size_t)-1, hdrs, r);
    free(text);
    return st;
}

void h_expect_at(const h_resp *r, long status, const char *file, int line)
{
    if (r->status == status)
        return;
    print_error("%s:%d: expected HTTP %ld, got %ld%s%s\nbody: %.2000s\n", file, line, status,
                r->status, r->curl_error[0] ? " transport: " : "", r->curl_error,
                r->body ? r->body : "");
    _fail(file, line);
}

void h_expect_problem_at(const h_resp *r, long status, const char *file, int line)
{
    h_expect_at(r, status, file, line);
    const char *why = NULL;
    const char *ct = h_hdr(r, "Content-Type");
    const char *rid = h_hdr(r, "X-Request-Id");
    json_t *j = r->json;
    if (!ct || strncasecmp(ct, "application/problem+json", 24) != 0)
        why = "Content-Type is not application/problem+json";
    else if (!j || !json_is_object(j))
        why = "body is not a JSON object";
    else if (!json_is_string(json_object_get(j, "type")))
        why = "no string member \"type\"";
    else if (!json_is_string(json_object_get(j, "title")))
        why = "no string member \"title\"";
    else if (!json_is_string(json_object_get(j, "detail")) ||
             json_string_length(json_object_get(j, "detail")) == 0)
        why = "no non-empty string member \"detail\"";
    else if (json_integer_value(json_object_get(j, "status")) != status)
        why = "member \"status\" differs from the HTTP status";
    else if (!rid || !*rid)
        why = "no X-Request-Id header";
    else if (!json_is_string(json_object_get(j, "request_id")) ||
             strcmp(json_string_value(json_object_get(j, "request_id")), rid) != 0)
        why = "member \"request_id\" differs from the X-Request-Id header";
    if (!why)
        return;
    print_error("%s:%d: not a proper problem: %s\nContent-Type: %s\nbody: %.2000s\n", file, line,
                why, ct ? ct : "(none)", r->body ? r->body : "");
    _fail(file, line);
}

/* ---- raw sockets ---- */

int h_raw_connect(const h_server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->port);
    if (inet_pton(AF_INET, s->host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int h_raw_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the response in buf[0..len) complete? Needs the header block first. */
static int raw_complete(const char *buf, size_t len)
{
    const char *hend = strstr(buf, "\r\n\r\n");
    if (!hend)
        return 0;
    size_t hlen = (size_t)(hend - buf) + 4;
    /* header names are case-insensitive: look at a lowered copy of the block */
    char *lower = strndup(buf, hlen);
    for (char *p = lower; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    int done = 0;
    char *cl = strstr(lower, "\r\ncontent-length:");
    if (cl) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(cl + 17, &end, 10);
        done = errno == 0 && n >= 0 && len >= hlen + (size_t)n;
    } else if (strstr(lower, "\r\ntransfer-encoding: chunked")) {
        done = len >= hlen + 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0;
    } else if (strncmp(lower + 9, "204", 3) == 0 || strncmp(lower + 9, "304", 3) == 0) {
        done = 1;
    }
    free(lower);
    return done;
}

int h_raw_read(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    int64_t end = mono_ms() + timeout_ms;
    buf[0] = '\0';
    while (len + 1 < cap) {
        int left = (int)(end - mono_ms());
        if (left <= 0)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* closed: whatever we have is the response */
        len += (size_t)n;
        buf[len] = '\0';
        if (raw_complete(buf, len))
            break;
    }
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    char *endp = NULL;
    errno = 0;
    long st = strtol(buf + 9, &endp, 10);
    if (errno != 0 || endp == buf + 9 || st < 100 || st > 599)
        return -1;
    return (int)st;
}

int h_raw(const h_server *s, const char *request, char *buf, size_t cap)
{
    int fd = h_raw_connect(s);
    if (fd < 0)
        return -1;
    int st = -1;
    if (h_raw_send(fd, request, strlen(request)) == 0)
        st = h_raw_read(fd, buf, cap, 10000);
    close(fd);
    return st;
}

/* ---- migrations and audit ---- */

json_t *h_load_json(const char *relpath)
{
    char *path = h_fmt("%s/%s", h_repo(), relpath);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s: %s (line %d)", path, e.text, e.line);
    free(path);
    return j;
}

void h_create_demo_teams(const h_server *s, const char *admin_token)
{
    json_t *teams = h_load_json("examples/teams.json");
    size_t i;
    json_t *t;
    assert_true(json_is_array(teams) && json_array_size(teams) > 0);
    json_array_foreach(teams, i, t)
    {
        h_resp r;
        h_req_json(s, "POST", "/api/teams", admin_token, t, NULL, &r);
        H_EXPECT(&r, 201);
        h_resp_free(&r);
    }
    json_decref(teams);
}

size_t h_audit_count(const h_server *s, const char *token, const char *mid)
{
    char *path = h_fmt("/api/migrations/%s/audit?format=json", mid);
    h_resp r;
    h_req(s, "GET", path, token, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    json_t *arr = json_loadb(r.body, r.len, 0, NULL);
    if (!json_is_array(arr))
        fail_msg("audit export of %s is not a JSON array: %.300s", mid, r.body);
    size_t n = json_array_size(arr);
    json_decref(arr);
    h_resp_free(&r);
    free(path);
    return n;
}

json_t *h_get_migration(const h_server *s, const char *token, const char *mid)
{
    char *path = h_fmt("/api/migrations/%s", mid);
    h_resp r;
    h_req(s, "GET", path, token, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_non_null(r.json);
    json_t *doc = json_incref(r.json);
    h_resp_free(&r);
    free(path);
    return doc;
}

char *h_snapshot(const h_server *s, const char *token, const char *mid)
{
    json_t *m = h_get_migration(s, token, mid);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "v=%lld status=%s stage=%s",
            (long long)json_integer_value(json_object_get(m, "version")),
            json_string_value(json_object_get(m, "status")),
            json_string_value(json_object_get(m, "current_stage")));
    size_t i, k;
    json_t *stage, *step;
    json_array_foreach(json_object_get(m, "stages"), i, stage)
    {
        fprintf(f, " [%s %s", json_string_value(json_object_get(stage, "key")),
                json_string_value(json_object_get(stage, "status")));
        json_array_foreach(json_object_get(stage, "steps"), k, step)
        {
            fprintf(f, " %lld:%s:%lld", (long long)json_integer_value(json_object_get(step, "id")),
                    json_string_value(json_object_get(step, "status")),
                    (long long)json_integer_value(json_object_get(step, "version")));
        }
        fprintf(f, "]");
    }
    fclose(f);
    json_decref(m);
    return buf;
}

int64_t h_step_id(const json_t *migration, const char *stage, size_t idx)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(migration, "stages"), i, st)
    {
        const char *key = json_string_value(json_object_get(st, "key"));
        if (key && strcmp(key, stage) == 0) {
            json_t *step = json_array_get(json_object_get(st, "steps"), idx);
            if (!json_is_integer(json_object_get(step, "id")))
                fail_msg("stage %s has no step %zu", stage, idx);
            return json_integer_value(json_object_get(step, "id"));
        }
    }
    fail_msg("no stage %s in the migration", stage);
    return -1;
}
