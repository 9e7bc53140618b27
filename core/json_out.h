/*
 * json_out.h - compact JSON text from a jansson tree, fast, byte for byte as jansson writes it.
 *
 * Every mutation dumps JSON on its path: the audit event that is hashed and stored (keys sorted,
 * the canonical form of audit.h), the answer, the idempotency record. jansson's own dumper
 * spends most of its time on bookkeeping this code does not need (a hash table of the parents
 * of every container to detect cycles, a callback per token, a malloc per sorted object), so
 * it was the largest single cost of a tick (bench/README.md). This writer produces exactly the
 * bytes of
 *     json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY [| JSON_SORT_KEYS])
 * (tests/unit/test_json_out.c compares the two on generated trees), so hashes computed over its
 * output agree with anyone recomputing them with jansson.
 *
 * Differences: cycles are not detected by a parent table but cut by a depth limit (a tree deeper
 * than JSON_OUT_MAX_DEPTH fails, as jansson fails on a cycle; jansson's parser refuses anything
 * that deep, and request bodies stop at 64 levels, api/reply.h); reals are handed to jansson
 * itself (rare: nothing flightdeck stores has them).
 */
#ifndef FD_JSON_OUT_H
#define FD_JSON_OUT_H

#include <jansson.h>

#include "buf.h"

#define JSON_OUT_SORT 1        /* object keys in byte order (JSON_SORT_KEYS) */
#define JSON_OUT_NO_REALS 2    /* fail on a real: the audit log keeps none (audit.c) */
#define JSON_OUT_MAX_DEPTH 2048 /* jansson's parser limit: what it can read, this writes */

/* Append `v` to `b` as compact JSON. Returns 0, or -1 when a string is not UTF-8, the tree is
 * too deep or memory runs out; `b` then holds what it held before (b->len restored). */
int json_out_append(fd_buf *b, const json_t *v, int flags);

/* Append the `len` bytes at `s` as a JSON string, escaped as jansson escapes it. Returns 0, or -1
 * when they are not UTF-8 or memory runs out (`b` then holds what it held before). */
int json_out_string(fd_buf *b, const char *s, size_t len);

/* Append the integer `v` as jansson writes it ("%lld"). Returns 0, or -1 when memory runs out
 * (`b` is then unchanged). For writers that compose JSON text themselves (store_step_row.c,
 * audit.c). */
int json_out_integer(fd_buf *b, json_int_t v);

/* `v` as a malloc'd NUL-terminated string (the caller frees it), or NULL as above: what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY [| JSON_SORT_KEYS]) returns, for trees up to
 * JSON_OUT_MAX_DEPTH deep. */
char *json_out_dumps(const json_t *v, int flags);

#endif
