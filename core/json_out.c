/* json_out.c - compact JSON text from a jansson tree, byte for byte as jansson writes it
 * (see json_out.h for why it exists and what "the same" means). */
#include "json_out.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

#define STACK_KEYS 32  /* objects with more members sort a heap array */
#define STACK_DEPTH 64 /* and so do objects nested deeper than this */

/* One member of an object being written in key order. */
typedef struct member {
    const char *key;
    size_t len;
    json_t *value;
} member;


/* The escape jansson writes for the byte c (< 0x20, '"' or '\\'): 2 or 6 bytes into out. */
static size_t escape(unsigned char c, char out[6])
{
    static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u001F, upper case */
    out[0] = '\\';
    switch (c) {
    case '"':
        out[1] = '"';
        return 2;
    case '\\':
        out[1] = '\\';
        return 2;
    case '\b':
        out[1] = 'b';
        return 2;
    case '\f':
        out[1] = 'f';
        return 2;
    case '\n':
        out[1] = 'n';
        return 2;
    case '\r':
        out[1] = 'r';
        return 2;
    case '\t':
        out[1] = 't';
        return 2;
    default:
        memcpy(out + 1, "u00", 3);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
}

/* What a byte asks of the string writer: 0 nothing, ESC an escape, MB the start (or a stray
 * part) of a multi-byte sequence, which is checked. The scan is then one load and one test per
 * byte, which matters because most of a document is strings. */
#define ESC 1
#define MB 2
static const unsigned char byte_class[256] = {
    [0x00 ... 0x1f] = ESC, ['"'] = ESC, ['\\'] = ESC, [0x80 ... 0xff] = MB,
};

/* A JSON string: runs that need nothing are copied whole; multi-byte sequences are checked
 * (jansson refuses to write text that is not UTF-8, and so do we). */
static int put_string(fd_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    if ((b->data == NULL || b->cap - b->len <= n + 2) && fd_buf_reserve(b, n + 2) != 0)
        return -1;
    b->data[b->len++] = '"';
    while (p < end) {
        const unsigned char *run = p;
        while (p < end) {
            unsigned char k = byte_class[*p];
            if (k == 0) {
                p++;
            } else if (k == MB) {
                size_t len = check_utf8_seq(p, (size_t)(end - p));
                if (len == 0)
                    return -1;
                p += len;
            } else {
                break;
            }
        }
        if (p > run && fd_buf_put(b, run, (size_t)(p - run)) != 0)
            return -1;
        if (p == end)
            break;
        char e[6];
        if (fd_buf_put(b, e, escape(*p, e)) != 0)
            return -1;
        p++;
    }
    return fd_buf_put(b, "\"", 1);
}

/* "%lld" without printf. */
static int put_integer(fd_buf *b, json_int_t v)
{
    char tmp[FD_INT_TEXT_MAX];
    return fd_buf_put(b, tmp, fd_i64_text(tmp, (int64_t)v));
}

/* jansson's order for sorted keys: bytes compared up to the shorter key, then the shorter first. */
static int member_cmp(const void *x, const void *y)
{
    const member *a = x, *c = y;
    size_t n = a->len < c->len ? a->len : c->len;
    int r = memcmp(a->key, c->key, n);
    if (r != 0)
        return r;
    return a->len < c->len ? -1 : a->len > c->len;
}

static void sort_members(member *m, size_t n)
{
    if (n > STACK_KEYS) {
        qsort(m, n, sizeof *m, member_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* small objects: insertion sort, no call per compare */
        member t = m[i];
        size_t j = i;
        while (j > 0 && member_cmp(&m[j - 1], &t) > 0) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = t;
    }
}

static int put_value(fd_buf *b, const json_t *v, int flags, int depth);

static int put_member(fd_buf *b, const member *m, int first, int flags, int depth)
{
    if (!first && fd_buf_put(b, ",", 1) != 0)
        return -1;
    if (put_string(b, m->key, m->len) != 0 || fd_buf_put(b, ":", 1) != 0)
        return -1;
    return put_value(b, m->value, flags, depth + 1);
}

/* Members in byte order. Its own function, kept out of line, so that the array of members is
 * on the stack of sorted objects only, and only near the top: a tree nested hundreds of levels
 * deep must not take hundreds of those arrays of stack (deeper objects sort on the heap). */
static __attribute__((noinline)) int put_members_sorted(fd_buf *b, const json_t *v, size_t n,
                                                        int flags, int depth)
{
    member stack[STACK_KEYS];
    member *m = n <= STACK_KEYS && depth < STACK_DEPTH ? stack : malloc((n ? n : 1) * sizeof *m);
    if (m == NULL)
        return -1;
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)v); it != NULL && i < n;
         it = json_object_iter_next((json_t *)v, it), i++)
        m[i] = (member){json_object_iter_key(it), json_object_iter_key_len(it),
                        json_object_iter_value(it)};
    sort_members(m, i);
    int rc = 0;
    for (size_t k = 0; k < i && rc == 0; k++)
        rc = put_member(b, &m[k], k == 0, flags, depth);
    if (m != stack)
        free(m);
    return rc;
}

static int put_object(fd_buf *b, const json_t *v, int flags, int depth)
{
    if (fd_buf_put(b, "{", 1) != 0)
        return -1;
    if (flags & JSON_OUT_SORT) {
        if (put_members_sorted(b, v, json_object_size(v), flags, depth) != 0)
            return -1;
        return fd_buf_put(b, "}", 1);
    }
    int first = 1; /* insertion order, as jansson iterates and dumps */
    for (void *it = json_object_iter((json_t *)v); it != NULL;
         it = json_object_iter_next((json_t *)v, it)) {
        member m = {json_object_iter_key(it), json_object_iter_key_len(it),
                    json_object_iter_value(it)};
        if (put_member(b, &m, first, flags, depth) != 0)
            return -1;
        first = 0;
    }
    return fd_buf_put(b, "}", 1);
}

static int put_array(fd_buf *b, const json_t *v, int flags, int depth)
{
    size_t n = json_array_size(v);
    if (fd_buf_put(b, "[", 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && fd_buf_put(b, ",", 1) != 0)
            return -1;
        if (put_value(b, json_array_get(v, i), flags, depth + 1) != 0)
            return -1;
    }
    return fd_buf_put(b, "]", 1);
}

/* A real the way jansson writes it (its shortest round-trip form): asked of jansson itself. */
static int put_real(fd_buf *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = text != NULL ? fd_buf_put(b, text, strlen(text)) : -1;
    free(text);
    return rc;
}

static int put_value(fd_buf *b, const json_t *v, int flags, int depth)
{
    if (v == NULL || depth > JSON_OUT_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return fd_buf_put(b, "null", 4);
    case JSON_TRUE:
        return fd_buf_put(b, "true", 4);
    case JSON_FALSE:
        return fd_buf_put(b, "false", 5);
    case JSON_INTEGER:
        return put_integer(b, json_integer_value(v));
    case JSON_REAL:
        return (flags & JSON_OUT_NO_REALS) ? -1 : put_real(b, v);
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
        return put_array(b, v, flags, depth);
    case JSON_OBJECT:
        return put_object(b, v, flags, depth);
    }
    return -1;
}

int json_out_append(fd_buf *b, const json_t *v, int flags)
{
    size_t before = b->len;
    if (put_value(b, v, flags, 0) == 0)
        return 0;
    b->len = before;
    if (b->data != NULL)
        b->data[before] = '\0';
    return -1;
}

int json_out_string(fd_buf *b, const char *s, size_t len)
{
    size_t before = b->len;
    if (put_string(b, s, len) == 0)
        return 0;
    b->len = before;
    if (b->data != NULL)
        b->data[before] = '\0';
    return -1;
}

int json_out_integer(fd_buf *b, json_int_t v)
{
    return put_integer(b, v);
}

char *json_out_dumps(const json_t *v, int flags)
{
    fd_buf b = {0};
    if (json_out_append(&b, v, flags) != 0 || fd_buf_reserve(&b, 0) != 0) {
        fd_buf_free(&b);
        return NULL;
    }
    return b.data; /* NUL-terminated by fd_buf; the caller owns it */
}
