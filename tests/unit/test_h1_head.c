/*
 * test_h1_head.c - the hand-written start of every HTTP/1 response head (server/h1_head.c) is
 * byte for byte what glibc's sprintf writes for h2o's two formats, and every other sprintf
 * still reaches glibc unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/h1_head.h"

/* The symbol h2o 2.2.5 calls (Debian builds it with _FORTIFY_SOURCE): h1_head.c's, in this
 * program as in the server. */
int __sprintf_chk(char *restrict s, int flag, size_t slen, const char *restrict format, ...);

static const char FORMAT_LENGTH[] =
    "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\nContent-Length: %zu\r\n";
static const char FORMAT_NO_LENGTH[] = "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n";

/* glibc's rendering, through vsnprintf (another symbol, never ours). */
static int reference(char *out, size_t cap, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(out, cap, format, ap);
    va_end(ap);
    return n;
}

static void test_self_check_passes(void **state)
{
    (void)state;
    assert_int_equal(h1head_self_check(), 0);
}

static void test_heads_match_glibc(void **state)
{
    (void)state;
    static const int statuses[] = {100, 101, 200, 201, 204, 304, 400, 401, 404, 409, 413, 999};
    static const char *const reasons[] = {"OK", "Not Found", "", "Unprocessable Content"};
    static const char *const conns[] = {"keep-alive", "close", "upgrade"};
    static const size_t lengths[] = {0, 1, 9, 10, 99, 100, 399, 65535, 4294967296ULL, (size_t)-1};
    const char *date = "Sun, 22 Nov 2026 06:36:39 GMT";
    unsigned long before = h1head_fast_count(), calls = 0;
    char mine[512], want[512];
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        for (size_t r = 0; r < sizeof reasons / sizeof reasons[0]; r++)
            for (size_t k = 0; k < sizeof conns / sizeof conns[0]; k++) {
                for (size_t j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
                    memset(mine, 'x', sizeof mine);
                    int a = __sprintf_chk(mine, 1, sizeof mine, FORMAT_LENGTH, statuses[i],
                                          reasons[r], date, conns[k], lengths[j]);
                    int b = reference(want, sizeof want, FORMAT_LENGTH, statuses[i], reasons[r],
                                      date, conns[k], lengths[j]);
                    assert_int_equal(a, b);
                    assert_memory_equal(mine, want, (size_t)b + 1);
                    calls++;
                }
                int a = __sprintf_chk(mine, 1, sizeof mine, FORMAT_NO_LENGTH, statuses[i],
                                      reasons[r], date, conns[k]);
                int b = reference(want, sizeof want, FORMAT_NO_LENGTH, statuses[i], reasons[r],
                                  date, conns[k]);
                assert_int_equal(a, b);
                assert_memory_equal(mine, want, (size_t)b + 1);
                calls++;
            }
    /* every one of them took the hand-written path */
    assert_true(h1head_fast_count() - before == calls);
}

/* A destination with exactly the room needed (NUL included) is enough. */
static void test_exact_room(void **state)
{
    (void)state;
    char want[256], mine[256];
    int n = reference(want, sizeof want, FORMAT_LENGTH, 200, "OK", "Sun, 22 Nov 2026 06:36:39 GMT",
                      "keep-alive", (size_t)399);
    memset(mine, 'x', sizeof mine);
    int a = __sprintf_chk(mine, 1, (size_t)n + 1, FORMAT_LENGTH, 200, "OK",
                          "Sun, 22 Nov 2026 06:36:39 GMT", "keep-alive", (size_t)399);
    assert_int_equal(a, n);
    assert_memory_equal(mine, want, (size_t)n + 1);
    assert_int_equal(mine[n + 1], 'x'); /* nothing past the NUL */
}

/* Anything else, including a status outside 100..999 in h2o's own format, is glibc's. */
static void test_other_formats_reach_glibc(void **state)
{
    (void)state;
    char mine[256], want[256];
    unsigned long before = h1head_fast_count();
    int a = __sprintf_chk(mine, 1, sizeof mine, "Server: %s\r\n", "flightdeck");
    assert_int_equal(a, 20);
    assert_string_equal(mine, "Server: flightdeck\r\n");
    a = __sprintf_chk(mine, 1, sizeof mine, "HTTP %d %5.2f %x", -7, 3.14159, 255u);
    int b = reference(want, sizeof want, "HTTP %d %5.2f %x", -7, 3.14159, 255u);
    assert_int_equal(a, b);
    assert_string_equal(mine, want);
    a = __sprintf_chk(mine, 1, sizeof mine, FORMAT_LENGTH, 42, "Odd", "d", "close", (size_t)5);
    b = reference(want, sizeof want, FORMAT_LENGTH, 42, "Odd", "d", "close", (size_t)5);
    assert_int_equal(a, b);
    assert_string_equal(mine, want);
    a = __sprintf_chk(mine, 1, sizeof mine, FORMAT_NO_LENGTH, 1000, "Odd", "d", "close");
    b = reference(want, sizeof want, FORMAT_NO_LENGTH, 1000, "Odd", "d", "close");
    assert_int_equal(a, b);
    assert_string_equal(mine, want);
    assert_true(h1head_fast_count() == before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_check_passes),
        cmocka_unit_test(test_heads_match_glibc),
        cmocka_unit_test(test_exact_room),
        cmocka_unit_test(test_other_formats_reach_glibc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
