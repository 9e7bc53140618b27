/*
 * fuzz_time.c - libFuzzer target: RFC 3339 time parsing and formatting (core/timefmt.c), the
 * parser behind every CHECK_TIME field (plan windows) and every time in the API.
 *
 * Input: the text to parse (a NUL ends it, as for a C string from a JSON document).
 * Properties, abort() on violation:
 *   - differential: fd_time_parse accepts exactly what an independent reference accepts
 *     (RFC 3339 date-time, 4-digit year, real calendar dates, seconds 00-60, optional fraction of
 *     any length, Z or +hh:mm/-hh:mm, result within years 0000-9999 UTC) and to the same
 *     millisecond, computed here with timegm();
 *   - round trip: fd_time_format of the result is 24 characters and parses back to the same
 *     millisecond; a canonical input (upper case, 3 fraction digits, Z, seconds < 60) comes
 *     back byte for byte;
 *   - the first 8 input bytes as milliseconds: formatting never overflows and parses back to
 *     the value clamped to the years 0000-9999.
 */
#define _GNU_SOURCE /* timegm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"
#include "tests/fuzz/fuzz_common.h"

#define MIN_MS (-62167219200000LL)
#define MAX_MS (253402300799999LL)

static int isdig(char c)
{
    return c >= '0' && c <= '9';
}

/* Read n digits at s[*i]; -1 when any is not a digit. */
static int num(const char *s, size_t *i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (!isdig(s[*i]))
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The reference parser: 0 with *ms, or -1. Written from RFC 3339 section 5.6, not from
 * timefmt.c; calendar arithmetic by timegm(). */
static int ref_parse(const char *s, int64_t *ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    int y = num(s, &i, 4);
    if (y < 0 || s[i++] != '-')
        return -1;
    int mo = num(s, &i, 2);
    if (mo < 1 || mo > 12 || s[i++] != '-')
        return -1;
    int d = num(s, &i, 2);
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return -1;
    if (s[i] != 'T' && s[i] != 't')
        return -1;
    i++;
    int h = num(s, &i, 2);
    if (h < 0 || h > 23 || s[i++] != ':')
        return -1;
    int mi = num(s, &i, 2);
    if (mi < 0 || mi > 59 || s[i++] != ':')
        return -1;
    int sec = num(s, &i, 2);
    if (sec < 0 || sec > 60)
        return -1;
    int frac = 0;
    if (s[i] == '.') {
        i++;
        if (!isdig(s[i]))
            return -1;
        int k = 0;
        for (; isdig(s[i]); i++, k++)
            if (k < 3)
                frac = frac * 10 + (s[i] - '0');
        for (; k < 3; k++)
            frac *= 10;
    }
    long off = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int neg = s[i++] == '-';
        int oh = num(s, &i, 2);
        if (oh < 0 || oh > 23 || s[i++] != ':')
            return -1;
        int om = num(s, &i, 2);
        if (om < 0 || om > 59)
            return -1;
        off = (neg ? -1 : 1) * (oh * 60L + om);
    } else {
        return -1;
    }
    if (s[i] != '\0')
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec; /* 60 rolls into the next minute, as timefmt.h documents */
    int64_t t = (int64_t)timegm(&tm) * 1000 + frac - (int64_t)off * 60000;
    if (t < MIN_MS || t > MAX_MS)
        return -1;
    *ms = t;
    return 0;
}

static void check_format(int64_t ms)
{
    char out[FD_TIME_LEN];
    int64_t back = 0;
    fd_time_format(ms, out);
    FUZZ_CHECK(strlen(out) == FD_TIME_LEN - 1, "format(%lld) = '%s'", (long long)ms, out);
    int64_t want = ms < MIN_MS ? MIN_MS : ms > MAX_MS ? MAX_MS : ms;
    FUZZ_CHECK(fd_time_parse(out, &back) == 0 && back == want, "'%s' parses to %lld, not %lld", out,
               (long long)back, (long long)want);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("TZ", "UTC", 1); /* timegm ignores it; set anyway so nothing local leaks in */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    int64_t got = 0, want = 0;
    int rg = fd_time_parse(s, &got);
    int rw = ref_parse(s, &want);
    FUZZ_CHECK(rg == rw, "fd_time_parse %s '%s', the reference %s it", rg ? "refuses" : "accepts",
               s, rw ? "refuses" : "accepts");
    if (rg == 0) {
        FUZZ_CHECK(got == want, "'%s' is %lld ms, the reference says %lld", s, (long long)got,
                   (long long)want);
        check_format(got);
        char out[FD_TIME_LEN];
        fd_time_format(got, out);
        /* canonical text comes back unchanged */
        if (strlen(s) == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z' &&
            !(s[17] == '6' && s[18] == '0'))
            FUZZ_CHECK(strcmp(out, s) == 0, "'%s' formats back as '%s'", s, out);
    }
    if (size >= 8) {
        int64_t ms;
        memcpy(&ms, data, 8);
        check_format(ms);
    }
    free(s);
    return 0;
}
