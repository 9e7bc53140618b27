/*
 * check.h - validation of JSON request bodies, shared by api/ (small bodies) and core/ (plans).
 *
 * Every refusal names the JSON path of the offending field:
 *   unknown field            -> FD_E_UNKNOWN_FIELD  ("steps[2].colour is not a known field")
 *   wrong type / bad value   -> FD_E_INVALID        ("title must be a string of 1-200 characters")
 *   missing required field   -> FD_E_INVALID
 */
#ifndef FD_CHECK_H
#define FD_CHECK_H

#include <jansson.h>

#include "error.h"

typedef enum check_type {
    CHECK_STRING,   /* a JSON string; min/max are lengths in bytes */
    CHECK_SLUG,     /* [a-z0-9-]{1,64} */
    CHECK_INT,      /* a JSON integer; min/max are bounds */
    CHECK_BOOL,
    CHECK_TIME,     /* an RFC 3339 date-time string */
    CHECK_URL,      /* an http(s) URL string */
    CHECK_ARRAY,    /* min/max are element counts; elements checked by the caller */
    CHECK_OBJECT,   /* checked by the caller */
    CHECK_ANY,
} check_type;

typedef struct check_field {
    const char *name;
    check_type type;
    int required;   /* 1: absent (or null) is FD_E_INVALID */
    long long min;  /* see check_type; 0/0 means no bound */
    long long max;
} check_field;

/*
 * Check that `obj` is a JSON object whose members all appear in `fields` (terminated by an entry
 * with name NULL), with the right types and bounds. `path` is the JSON path of `obj` itself ("" at
 * the top). A JSON null counts as absent. Returns FD_OK or the error, with `p` filled.
 */
fd_err check_object(const json_t *obj, const check_field *fields, const char *path, fd_problem *p);

/* 1 when `s` is a slug ([a-z0-9-]{1,64}). */
int check_is_slug(const char *s);

/* 1 when the `len` bytes at `s` are well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * past U+10FFFF). Text that reaches the audit log must be: JSON cannot carry anything else. */
int check_is_utf8(const char *s, size_t len);
/* Length of the well-formed UTF-8 sequence at s (1..4, `left` bytes readable), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF are not. */
size_t check_utf8_seq(const unsigned char *s, size_t left);

/* Copy `s` into `out` (cap bytes, always NUL-terminated), replacing every byte that is not part
 * of well-formed UTF-8 with '?', and cutting only at character boundaries. For echoing hostile
 * input (a path, a method) back in an error message. Returns out. */
char *check_utf8_sanitize(const char *s, size_t len, char *out, size_t cap);

/* Convenience getters after check_object: the member, or `dflt` when absent or null. */
const char *check_str(const json_t *obj, const char *name, const char *dflt);
long long check_int(const json_t *obj, const char *name, long long dflt);
int check_bool(const json_t *obj, const char *name, int dflt);

#endif
