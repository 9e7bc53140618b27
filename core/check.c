/* check.c - validation of JSON objects against a field table (see check.h).
 *
 * Every refusal names the JSON path of the field, so a plan author or a bot can find it. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "timefmt.h"

#define URL_MAX 2048

/* Join `path` and `name` into out: "" + "title" -> "title", "stages[1]" + "key" ->
 * "stages[1].key". */
static void join_path(char *out, size_t n, const char *path, const char *name)
{
    if (path == NULL || path[0] == '\0')
        snprintf(out, n, "%s", name);
    else
        snprintf(out, n, "%s.%s", path, name);
}

size_t check_utf8_seq(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int check_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    while (len > 0) {
        size_t n = check_utf8_seq(p, len);
        if (n == 0)
            return 0;
        p += n;
        len -= n;
    }
    return 1;
}

char *check_utf8_sanitize(const char *s, size_t len, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    if (cap == 0)
        return out;
    while (len > 0) {
        size_t n = check_utf8_seq(p, len);
        if (n == 0) { /* one bad byte becomes one '?' */
            if (o + 1 >= cap)
                break;
            out[o++] = '?';
            p++;
            len--;
            continue;
        }
        if (o + n >= cap)
            break;
        if (n == 1 && *p == '\0')
            break;
        memcpy(out + o, p, n);
        o += n;
        p += n;
        len -= n;
    }
    out[o] = '\0';
    return out;
}

int check_is_slug(const char *s)
{
    if (s == NULL)
        return 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        if (n >= 64)
            return 0;
    }
    return n >= 1;
}

/* http(s)://host... with no spaces or control characters. */
static int is_url(const char *s, size_t len, long long max)
{
    if (max <= 0 || max > URL_MAX)
        max = URL_MAX;
    if (len > (size_t)max)
        return 0;
    size_t scheme;
    if (strncmp(s, "https://", 8) == 0)
        scheme = 8;
    else if (strncmp(s, "http://", 7) == 0)
        scheme = 7;
    else
        return 0;
    if (len <= scheme || s[scheme] == '/')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Check one present, non-null member against its field entry. */
static fd_err check_value(const json_t *v, const check_field *f, const char *at, fd_problem *p)
{
    long long min = f->min, max = f->max;
    int bounded = !(min == 0 && max == 0);
    switch (f->type) {
    case CHECK_STRING: {
        if (!json_is_string(v))
            goto wrong_type;
        size_t len = json_string_length(v);
        if (bounded && ((long long)len < min || (long long)len > max))
            return fd_fail(p, FD_E_INVALID, at, "%s must be a string of %lld-%lld characters", at,
                           min, max);
        return FD_OK;
    }
    case CHECK_SLUG:
        if (!json_is_string(v) || !check_is_slug(json_string_value(v)))
            return fd_fail(p, FD_E_INVALID, at,
                           "%s must be a slug: 1-64 characters of a-z, 0-9 and -", at);
        return FD_OK;
    case CHECK_INT: {
        if (!json_is_integer(v))
            goto wrong_type;
        long long x = json_integer_value(v);
        if (bounded && (x < min || x > max))
            return fd_fail(p, FD_E_INVALID, at, "%s must be an integer from %lld to %lld", at, min,
                           max);
        return FD_OK;
    }
    case CHECK_BOOL:
        if (!json_is_boolean(v))
            goto wrong_type;
        return FD_OK;
    case CHECK_TIME: {
        int64_t ms;
        if (!json_is_string(v) || fd_time_parse(json_string_value(v), &ms) != 0)
            return fd_fail(p, FD_E_INVALID, at,
                           "%s must be an RFC 3339 date-time such as 2026-03-10T19:00:00Z", at);
        return FD_OK;
    }
    case CHECK_URL:
        if (!json_is_string(v) || !is_url(json_string_value(v), json_string_length(v), max))
            return fd_fail(p, FD_E_INVALID, at, "%s must be an http:// or https:// URL", at);
        return FD_OK;
    case CHECK_ARRAY: {
        if (!json_is_array(v))
            goto wrong_type;
        long long n = (long long)json_array_size(v);
        if (bounded && (n < min || n > max))
            return fd_fail(p, FD_E_INVALID, at, "%s must have %lld to %lld elements", at, min, max);
        return FD_OK;
    }
    case CHECK_OBJECT:
        if (!json_is_object(v))
            goto wrong_type;
        return FD_OK;
    case CHECK_ANY:
        return FD_OK;
    }
wrong_type:;
    static const char *const type_words[] = {
        [CHECK_STRING] = "a string",    [CHECK_SLUG] = "a slug",      [CHECK_INT] = "an integer",
        [CHECK_BOOL] = "true or false", [CHECK_TIME] = "a date-time", [CHECK_URL] = "a URL",
        [CHECK_ARRAY] = "an array",     [CHECK_OBJECT] = "an object", [CHECK_ANY] = "a value",
    };
    return fd_fail(p, FD_E_INVALID, at, "%s must be %s", at, type_words[f->type]);
}

fd_err check_object(const json_t *obj, const check_field *fields, const char *path, fd_problem *p)
{
    char at[160];
    if (path == NULL)
        path = "";
    if (!json_is_object(obj)) {
        if (path[0] == '\0')
            return fd_fail(p, FD_E_BAD_REQUEST, NULL, "the body must be a JSON object");
        return fd_fail(p, FD_E_INVALID, path, "%s must be an object", path);
    }
    /* unknown members first: a typo should be reported as a typo, not as a missing field */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const check_field *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL) {
            join_path(at, sizeof at, path, key);
            return fd_fail(p, FD_E_UNKNOWN_FIELD, at, "%s is not a known field", at);
        }
    }
    for (const check_field *f = fields; f->name != NULL; f++) {
        join_path(at, sizeof at, path, f->name);
        v = json_object_get(obj, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required)
                return fd_fail(p, FD_E_INVALID, at, "%s is required", at);
            continue;
        }
        fd_err e = check_value(v, f, at, p);
        if (e != FD_OK)
            return e;
    }
    return FD_OK;
}

const char *check_str(const json_t *obj, const char *name, const char *dflt)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

long long check_int(const json_t *obj, const char *name, long long dflt)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int check_bool(const json_t *obj, const char *name, int dflt)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}
