/*
 * fake_h2o.h - run api/ handlers in-process: a fake h2o connection whose output stream captures
 * the response (status, headers, body), the way h2o's own t/00unit tests do. No socket, no port.
 *
 * Header-only (static functions) because the Makefile builds each tests/unit/test_*.c alone.
 * Usage: fake_h2o_setup() once, fake_new() per request, fake_free() after, fake_h2o_teardown().
 */
#ifndef FD_TEST_FAKE_H2O_H
#define FD_TEST_FAKE_H2O_H

#include <h2o.h>
#include <stdlib.h>
#include <string.h>

typedef struct fake_conn {
    h2o_conn_t super;
    h2o_ostream_t ostr;
    char *body; /* everything sent, NUL-terminated, malloc'd */
    size_t body_len;
    int sends;    /* number of do_send calls */
    int complete; /* 1 after a final send, 2 after an error send */
    h2o_req_t req;
} fake_conn;

static h2o_globalconf_t fake_config;
static h2o_context_t fake_ctx;
static h2o_hostconf_t *fake_host;
static h2o_pathconf_t *fake_pathconf;
static h2o_evloop_t *fake_loop;
static const h2o_conn_callbacks_t fake_callbacks; /* all NULL: nothing here asks the socket */

static inline void fake_h2o_setup(void)
{
    h2o_config_init(&fake_config);
    fake_host =
        h2o_config_register_host(&fake_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    fake_pathconf = h2o_config_register_path(fake_host, "/", 0);
    fake_loop = h2o_evloop_create();
    h2o_context_init(&fake_ctx, fake_loop, &fake_config);
}

static inline void fake_h2o_teardown(void)
{
    h2o_context_dispose(&fake_ctx);
    h2o_evloop_destroy(fake_loop);
    h2o_config_dispose(&fake_config);
}

/* Capture what the handler sends; ask for more at once, like a fast client would. */
static inline void fake_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                                h2o_send_state_t state)
{
    fake_conn *fc = H2O_STRUCT_FROM_MEMBER(fake_conn, ostr, self);
    fc->sends++;
    for (size_t i = 0; i < n; i++) {
        fc->body = realloc(fc->body, fc->body_len + bufs[i].len + 1);
        memcpy(fc->body + fc->body_len, bufs[i].base, bufs[i].len);
        fc->body_len += bufs[i].len;
        fc->body[fc->body_len] = '\0';
    }
    if (state == H2O_SEND_STATE_IN_PROGRESS)
        h2o_proceed_response(req);
    else
        fc->complete = state == H2O_SEND_STATE_FINAL ? 1 : 2;
}

/* A request as the server would hand it to a handler. `body` may be NULL (no entity). */
static inline fake_conn *fake_new_len(const char *method, const char *path, const char *body,
                                      size_t body_len)
{
    fake_conn *fc = calloc(1, sizeof *fc);
    fc->super.ctx = &fake_ctx;
    fc->super.hosts = fake_config.hosts;
    fc->super.callbacks = &fake_callbacks;
    fc->ostr.do_send = fake_do_send;
    fc->body = calloc(1, 1);

    h2o_req_t *req = &fc->req;
    h2o_init_request(req, &fc->super, NULL);
    req->version = 0x101;
    req->hostconf = fake_host;
    req->pathconf = fake_pathconf;
    req->_ostr_top = &fc->ostr;
    req->input.method = h2o_strdup(&req->pool, method, strlen(method));
    req->method = req->input.method;
    req->input.path = h2o_strdup(&req->pool, path, strlen(path));
    req->path = req->input.path;
    const char *q = strchr(path, '?');
    req->input.query_at = q != NULL ? (size_t)(q - path) : SIZE_MAX;
    req->query_at = req->input.query_at;
    req->path_normalized =
        h2o_iovec_init(req->path.base, q != NULL ? (size_t)(q - path) : req->path.len);
    if (body != NULL)
        req->entity = h2o_strdup(&req->pool, body, body_len); /* note: not NUL-terminated in h2o */
    return fc;
}

static inline fake_conn *fake_new(const char *method, const char *path, const char *body)
{
    return fake_new_len(method, path, body, body != NULL ? strlen(body) : 0);
}

static inline void fake_add_req_header(fake_conn *fc, const char *name, const char *value)
{
    h2o_req_t *req = &fc->req;
    h2o_add_header_by_str(&req->pool, &req->headers, name, strlen(name), 1, NULL,
                          h2o_strdup(&req->pool, value, strlen(value)).base, strlen(value));
}

/* The value of response header `name` (lower case) as a malloc'd string, or NULL. */
static inline char *fake_res_header(fake_conn *fc, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&fc->req.res.headers, name, strlen(name), -1);
    if (i == -1)
        return NULL;
    h2o_iovec_t v = fc->req.res.headers.entries[i].value;
    char *s = malloc(v.len + 1);
    memcpy(s, v.base, v.len);
    s[v.len] = '\0';
    return s;
}

/*
 * A response without Content-Length goes through h2o's chunked filter (registered on every
 * pathconf), as it would on the wire: undo the framing in place. Returns 0 when the body was
 * not chunked or the framing is valid and ends with the zero-size chunk, -1 otherwise.
 */
static inline int fake_dechunk(fake_conn *fc)
{
    char *te = fake_res_header(fc, "transfer-encoding");
    int chunked = te != NULL && strcmp(te, "chunked") == 0;
    free(te);
    if (!chunked)
        return 0;
    size_t in = 0, out = 0;
    for (;;) {
        char *end = NULL;
        unsigned long size = strtoul(fc->body + in, &end, 16);
        if (end == fc->body + in || end[0] != '\r' || end[1] != '\n')
            return -1;
        in = (size_t)(end - fc->body) + 2;
        if (size == 0)
            break;
        if (in + size + 2 > fc->body_len || fc->body[in + size] != '\r')
            return -1;
        memmove(fc->body + out, fc->body + in, size);
        out += size;
        in += size + 2;
    }
    fc->body_len = out;
    fc->body[out] = '\0';
    return 0;
}

static inline void fake_free(fake_conn *fc)
{
    h2o_dispose_request(&fc->req);
    free(fc->body);
    free(fc);
}

#endif
