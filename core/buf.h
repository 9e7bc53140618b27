/*
 * buf.h - a growable byte buffer for building responses and exports.
 * The buffer owns `data` (always NUL-terminated when len > 0 or after any append).
 */
#ifndef FD_BUF_H
#define FD_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fd_buf {
    char *data;
    size_t len;
    size_t cap;
} fd_buf;

/* All return 0, or -1 when memory runs out (the buffer is then unchanged). */
int fd_buf_append(fd_buf *b, const char *s, size_t n);
int fd_buf_puts(fd_buf *b, const char *s);
int fd_buf_printf(fd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fd_buf_append for writers that append many small pieces (JSON text): when there is room,
 * a bare memcpy here, inline; only growing goes through fd_buf_append. */
static inline int fd_buf_put(fd_buf *b, const void *s, size_t n)
{
    if (b->data != NULL && b->cap - b->len > n) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
    }
    return fd_buf_append(b, s, n);
}
/* Make room for `extra` more bytes (and the NUL) without changing the content, for writers that
 * fill data[len..] themselves and then advance len (keeping data[len] == '\0'). */
int fd_buf_reserve(fd_buf *b, size_t extra);
/* Keep the allocation, forget the content. */
void fd_buf_reset(fd_buf *b);
/* Release the allocation. Safe on a zeroed buffer. */
void fd_buf_free(fd_buf *b);

/* Integers in decimal, byte for byte as printf's %llu and %lld write them, into out (room for
 * FD_INT_TEXT_MAX bytes; NUL-terminated); each returns the length. By hand because snprintf was a visible cost on the
 * hot paths that write numbers (JSON, ETags, CSV, response heads). */
#define FD_INT_TEXT_MAX 21 /* "18446744073709551615" or "-9223372036854775808", and the NUL */
size_t fd_u64_text(char *out, uint64_t v);
size_t fd_i64_text(char *out, int64_t v);

#endif
