/*
 * reply.h - answering requests: JSON documents, problem+json errors, request bodies, queries.
 *
 * api_http_status() is the one place that maps the core error enum to HTTP.
 * Every reply function sends the response; after it the handler must not touch the request.
 */
#ifndef FD_API_REPLY_H
#define FD_API_REPLY_H

#include <jansson.h>
#include <stdint.h>

#include "api/api.h"
#include "core/check.h"
#include "core/error.h"

#define API_BODY_MAX (1024 * 1024) /* 1 MiB: larger bodies are 413 */
#define API_BODY_MAX_DEPTH 64       /* arrays and objects nested deeper are 400 */

/* The HTTP status for an error: 400, 401, 403, 404, 409, 412, 413, 422, 429, 500, 503. */
int api_http_status(fd_err e);

/* Send `body` (reference stolen) as application/json. etag_version >= 0 adds ETag: "<n>"
 * (and a 200 to a GET/HEAD whose If-None-Match names that ETag becomes 304 without a body).
 * Adds Idempotent-Replayed: true when c->ctx.replayed. */
void api_reply_json(api_call *c, int status, json_t *body, int64_t etag_version);

/* The same for a document already rendered (api_json_render; the final newline included):
 * `text` must stay valid until the request is disposed (pool memory, or shared memory linked to
 * the pool with h2o_mem_link_shared). */
void api_reply_json_text(api_call *c, int status, h2o_iovec_t text, int64_t etag_version);

/* Answer 304 Not Modified (with the ETag) when this is a GET/HEAD whose If-None-Match names
 * etag_version, and return 1; otherwise send nothing and return 0. Lets a handler that knows
 * the version cheaply skip building the document. */
int api_reply_not_modified(api_call *c, int64_t etag_version);

/* `doc` (borrowed) as the exact bytes api_reply_json would send (compact, final newline), in
 * h2o shared memory with one reference owned by the caller (h2o_mem_release_shared), *len
 * bytes, not NUL-terminated. NULL when it cannot be serialised or memory runs out. */
char *api_json_render(const json_t *doc, size_t *len);

/* 201 Created with Location (copied), ETag as above. */
void api_reply_created(api_call *c, json_t *body, const char *location, int64_t etag_version);

/* 204 No Content. */
void api_reply_no_content(api_call *c);

/* application/problem+json for `e` with p's detail, field ("field" member) and extra members
 * merged in; clears `p`. Internal errors are logged with the request id, never detailed. */
void api_reply_error(api_call *c, fd_err e, fd_problem *p);

/* The same for requests that never reached a handler (router, auth): extra stolen, may be NULL. */
void api_reply_problem(h2o_req_t *req, fd_err e, const char *detail, json_t *extra);

/* Start and send a response whose status and headers are set already and whose body is `bufs`
 * (pool memory); nothing for HEAD. Every reply above ends here, unless api/barrier.c holds it
 * until its change is durable, and then sends it with this. */
void api_reply_send_rendered(h2o_req_t *req, h2o_iovec_t *bufs, size_t nbufs);

/*
 * Parse the request body as one JSON object and check it against `fields` (see core/check.h).
 * Empty body counts as {} when `empty_ok`. On failure answers the problem itself (413 over
 * API_BODY_MAX, 400 malformed with line/column/position, 400 unknown field, 422 wrong type)
 * and returns -1; on success *out is owned by the caller and 0 is returned.
 */
int api_body_object(api_call *c, const check_field *fields, int empty_ok, json_t **out);

/* The decoded value of query parameter `name`, from req->pool; NULL when absent. */
const char *api_query(api_call *c, const char *name);

/* Parse a decimal id/number parameter with range check; 0 or -1. */
int api_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Paging and ETags (added with the handlers).
 */

#define API_PAGE_DEFAULT 50
#define API_PAGE_MAX 200

/* The "version" member of a document, or -1 when it has none (then no ETag is sent). */
int64_t api_doc_version(const json_t *doc);

/* Read ?limit= (1..200, default 50) and ?cursor= (NULL when absent). On a bad limit answers
 * 400 naming "limit" and returns -1; else 0. */
int api_page_params(api_call *c, int *limit, const char **cursor);

/* 200 with `page` ({"items": [...], "next_cursor": ...}, reference stolen). When next_cursor is a
 * string, adds Link: <path?limit=N&cursor=C&...>; rel="next", carrying over the query parameters
 * named in `keep` (NULL-terminated list, may be NULL), e.g. "status". */
void api_reply_page(api_call *c, json_t *page, int limit, const char *const *keep);

/* Percent-encode `s` for a URL query value into req->pool (unreserved characters kept). */
const char *api_url_encode(h2o_req_t *req, const char *s);

#endif
