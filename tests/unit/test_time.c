/* test_time.c - RFC 3339 times: what every document and audit event shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "core/timefmt.h"

static void format_known_instants(void **state)
{
    (void)state;
    char t[FD_TIME_LEN];
    fd_time_format(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    fd_time_format(1795309942123LL, t);
    assert_string_equal(t, "2026-11-22T01:12:22.123Z");
    fd_time_format(-1, t); /* before the epoch rounds down, not toward zero */
    assert_string_equal(t, "1969-12-31T23:59:59.999Z");
    fd_time_format(1709208000000LL, t);
    assert_string_equal(t, "2024-02-29T12:00:00.000Z");
}

/* The formatter writes its digits by hand: compare it with the C library's calendar over
 * instants spread from year 0 to 9999 (and the clamps beyond). */
static void format_agrees_with_gmtime(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % 315569519999999ULL) - 62167219200000LL; /* 0000..9999 */
        char got[FD_TIME_LEN], want[64], day[40];
        fd_time_format(ms, got);
        int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
        time_t tt = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        strftime(day, sizeof day, "%m-%dT%H:%M:%S", &tm);
        snprintf(want, sizeof want, "%04d-%s.%03dZ", tm.tm_year + 1900, day,
                 (int)(ms - secs * 1000));
        assert_string_equal(got, want);
    }
    char t[FD_TIME_LEN];
    fd_time_format(-62167219200001LL, t); /* clamped to what four digits show */
    assert_string_equal(t, "0000-01-01T00:00:00.000Z");
    fd_time_format(INT64_MAX, t);
    assert_string_equal(t, "9999-12-31T23:59:59.999Z");
}

static void parse_utc_and_offsets(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(fd_time_parse("2026-11-22T01:12:22.123Z", &ms), 0);
    assert_int_equal(ms, 1795309942123LL);
    assert_int_equal(fd_time_parse("2026-11-22T03:12:22.123+02:00", &ms), 0);
    assert_int_equal(ms, 1795309942123LL);
    assert_int_equal(fd_time_parse("2026-11-21T19:42:22.123-05:30", &ms), 0);
    assert_int_equal(ms, 1795309942123LL);
    assert_int_equal(fd_time_parse("2026-11-22t01:12:22.123z", &ms), 0);
    assert_int_equal(ms, 1795309942123LL);
}

static void parse_fractions(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(fd_time_parse("1970-01-01T00:00:01Z", &ms), 0);
    assert_int_equal(ms, 1000);
    assert_int_equal(fd_time_parse("1970-01-01T00:00:01.5Z", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(fd_time_parse("1970-01-01T00:00:01.123456789Z", &ms), 0);
    assert_int_equal(ms, 1123); /* milliseconds, truncated */
}

static void parse_refuses_what_is_not_rfc3339(void **state)
{
    (void)state;
    int64_t ms = 42;
    const char *bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T01:12:22",       /* no offset */
        "2026-11-22 01:12:22Z",      /* space instead of T */
        "2026-13-01T00:00:00Z",      /* month 13 */
        "2023-02-29T00:00:00Z",      /* not a leap year */
        "2026-04-31T00:00:00Z",      /* April has 30 days */
        "2026-11-22T24:00:00Z",      /* hour 24 */
        "2026-11-22T01:60:00Z",      /* minute 60 */
        "2026-11-22T01:12:22.Z",     /* fraction without digits */
        "2026-11-22T01:12:22Z junk", /* trailing text */
        "2026-11-22T01:12:22+0200",  /* offset without colon */
        "26-11-22T01:12:22Z",
        "2026-1-22T01:12:22Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fd_time_parse(bad[i], &ms) != -1)
            fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(ms, 42); /* untouched on failure */
    assert_int_equal(fd_time_parse(NULL, &ms), -1);
    assert_int_equal(fd_time_parse("2024-02-29T00:00:00Z", &ms), 0); /* a leap day is fine */
}

static void format_parse_round_trip(void **state)
{
    (void)state;
    char t[FD_TIME_LEN];
    int64_t samples[] = {0,
                         1,
                         999,
                         86399999,
                         951782400000LL /* 2000-02-29 */,
                         4102444799999LL,
                         -62135596800000LL /* 0001-01-01 */,
                         253402300799999LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t back = -7;
        fd_time_format(samples[i], t);
        assert_int_equal(fd_time_parse(t, &back), 0);
        assert_int_equal(back, samples[i]);
    }
    /* every millisecond-stepped instant across a day boundary */
    for (int64_t ms = 86400000LL * 19000 - 5000; ms < 86400000LL * 19000 + 5000; ms += 7) {
        int64_t back;
        fd_time_format(ms, t);
        assert_int_equal(fd_time_parse(t, &back), 0);
        assert_int_equal(back, ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_known_instants),
        cmocka_unit_test(format_agrees_with_gmtime),
        cmocka_unit_test(parse_utc_and_offsets),
        cmocka_unit_test(parse_fractions),
        cmocka_unit_test(parse_refuses_what_is_not_rfc3339),
        cmocka_unit_test(format_parse_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
