/*
 * h1_head.c - the first lines of every HTTP/1 response head, written without printf
 * (see h1_head.h).
 *
 * h2o 2.2.5 starts each response head (lib/http1.c, flatten_headers) with
 *
 *     sprintf(dst, "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\nContent-Length: %zu\r\n",
 *             status, reason, date, connection, content_length);
 *
 * (or the same without Content-Length). Debian builds h2o with _FORTIFY_SOURCE, so that call
 * is __sprintf_chk, resolved by the dynamic linker when the program starts. glibc's printf
 * engine spends ~2,200 instructions on it: 15 % of the user-space work of a cached GET of a
 * step (callgrind). h2o offers no other way to write a response, so this file defines
 * __sprintf_chk in the executable: the dynamic linker binds h2o's calls here (an executable's
 * definitions come before any library's), and this function writes those two formats by hand
 * and hands every other call to glibc's own __vsprintf_chk, unchanged.
 *
 * The output is byte for byte what glibc writes (h1head_self_check compares the two at start,
 * and tests/unit/test_h1_head.c compares them over many values); when the destination would
 * not hold it, glibc's function runs instead and reports the overflow as it always has.
 */
#include "server/h1_head.h"
#include "core/buf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* glibc's fortified entry points (stdio2.h declares them only under _FORTIFY_SOURCE). */
int __sprintf_chk(char *restrict s, int flag, size_t slen, const char *restrict format, ...);
int __vsprintf_chk(char *restrict s, int flag, size_t slen, const char *restrict format,
                   va_list ap);

/* h2o 2.2.5's two formats, as in lib/http1.c. */
static const char FORMAT_LENGTH[] =
    "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\nContent-Length: %zu\r\n";
static const char FORMAT_NO_LENGTH[] = "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n";

static atomic_int fast_off;     /* 1: every call goes to glibc (self-check failed) */
static atomic_ulong fast_heads; /* heads written here, for tests */

static char *put(char *dst, const char *s, size_t len)
{
    memcpy(dst, s, len);
    return dst + len;
}

/*
 * The head's first lines into s (room for slen bytes, NUL included), from the arguments of
 * one of h2o's two formats. Returns the length written, or -1 when the fast path does not
 * apply (a status outside 100..999, or too little room): the caller then lets glibc do it.
 */
static int write_head(char *s, size_t slen, int with_length, va_list ap)
{
    int status = va_arg(ap, int);
    const char *reason = va_arg(ap, const char *);
    const char *date = va_arg(ap, const char *);
    const char *connection = va_arg(ap, const char *);
    size_t length = with_length ? va_arg(ap, size_t) : 0;
    if (status < 100 || status > 999 || reason == NULL || date == NULL || connection == NULL)
        return -1;
    size_t rlen = strlen(reason), dlen = strlen(date), clen = strlen(connection);
    char digits[FD_INT_TEXT_MAX];
    size_t nlen = with_length ? fd_u64_text(digits, length) : 0;
    /* "HTTP/1.1 " 9, status 3, " " 1, "\r\nDate: " 8, "\r\nConnection: " 14, "\r\n" 2, and
     * "Content-Length: " 16 + "\r\n" 2 */
    size_t total = 37 + rlen + dlen + clen + (with_length ? 18 + nlen : 0);
    if (total + 1 > slen || total > 0x7fffffff)
        return -1;
    char *d = s;
    d = put(d, "HTTP/1.1 ", 9);
    *d++ = (char)('0' + status / 100);
    *d++ = (char)('0' + status / 10 % 10);
    *d++ = (char)('0' + status % 10);
    *d++ = ' ';
    d = put(d, reason, rlen);
    d = put(d, "\r\nDate: ", 8);
    d = put(d, date, dlen);
    d = put(d, "\r\nConnection: ", 14);
    d = put(d, connection, clen);
    d = put(d, "\r\n", 2);
    if (with_length) {
        d = put(d, "Content-Length: ", 16);
        d = put(d, digits, nlen);
        d = put(d, "\r\n", 2);
    }
    *d = '\0';
    return (int)total;
}

int __sprintf_chk(char *restrict s, int flag, size_t slen, const char *restrict format, ...)
{
    va_list ap;
    int n = -1;
    va_start(ap, format);
    /* the first byte rules out nearly every other caller before any compare */
    if (format[0] == 'H' && !atomic_load_explicit(&fast_off, memory_order_relaxed)) {
        int with_length = -1;
        if (strcmp(format, FORMAT_LENGTH) == 0)
            with_length = 1;
        else if (strcmp(format, FORMAT_NO_LENGTH) == 0)
            with_length = 0;
        if (with_length >= 0) {
            va_list args;
            va_copy(args, ap);
            n = write_head(s, slen, with_length, args);
            va_end(args);
            if (n >= 0)
                atomic_fetch_add_explicit(&fast_heads, 1, memory_order_relaxed);
        }
    }
    if (n < 0)
        n = __vsprintf_chk(s, flag, slen, format, ap);
    va_end(ap);
    return n;
}

/* glibc's own rendering of a head, for the comparison. */
static int libc_head(char *s, size_t slen, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = __vsprintf_chk(s, 1, slen, format, ap);
    va_end(ap);
    return n;
}

int h1head_self_check(void)
{
    static const int statuses[] = {100, 200, 304, 404, 999};
    static const size_t lengths[] = {0, 9, 10, 399, 90210, (size_t)-1};
    char mine[256], theirs[256];
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        for (size_t j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
            const char *date = "Sun, 22 Nov 2026 06:36:39 GMT";
            int a = __sprintf_chk(mine, 1, sizeof mine, FORMAT_LENGTH, statuses[i], "OK", date,
                                  "keep-alive", lengths[j]);
            int b = libc_head(theirs, sizeof theirs, FORMAT_LENGTH, statuses[i], "OK", date,
                              "keep-alive", lengths[j]);
            int c = __sprintf_chk(mine + 128, 1, 128, FORMAT_NO_LENGTH, statuses[i], "Not Found",
                                  date, "close");
            int d = libc_head(theirs + 128, 128, FORMAT_NO_LENGTH, statuses[i], "Not Found", date,
                              "close");
            if (a != b || c != d || memcmp(mine, theirs, (size_t)a + 1) != 0 ||
                memcmp(mine + 128, theirs + 128, (size_t)c + 1) != 0) {
                atomic_store(&fast_off, 1);
                return -1;
            }
        }
    }
    return 0;
}

unsigned long h1head_fast_count(void)
{
    return atomic_load_explicit(&fast_heads, memory_order_relaxed);
}
