/* buf.c - a growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make room for `extra` more bytes plus the NUL; 0 or -1. */
static int buf_reserve(fd_buf *b, size_t extra)
{
    if (extra > (size_t)-1 / 2 - b->len)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int fd_buf_reserve(fd_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

int fd_buf_append(fd_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int fd_buf_puts(fd_buf *b, const char *s)
{
    return fd_buf_append(b, s, strlen(s));
}

int fd_buf_printf(fd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void fd_buf_reset(fd_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void fd_buf_free(fd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

size_t fd_u64_text(char *out, uint64_t v)
{
    char tmp[FD_INT_TEXT_MAX];
    size_t n = 0, len = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

size_t fd_i64_text(char *out, int64_t v)
{
    if (v >= 0)
        return fd_u64_text(out, (uint64_t)v);
    out[0] = '-';
    /* the magnitude as unsigned, so the most negative value does not overflow */
    return 1 + fd_u64_text(out + 1, 0 - (uint64_t)v);
}
