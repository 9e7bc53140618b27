/*
 * test_log.c - the access log an operator greps and ships: exactly one JSON object per request
 * on one line, with method, route pattern, status, duration, request id and actor; hostile
 * strings escaped, absent values null; silent when switched off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"

/* Run log_access with stderr sent to a temporary file; returns what was written (malloc'd). */
static char *capture(const char *method, const char *route, int status, double ms, const char *rid,
                     const char *sub)
{
    char path[] = "/tmp/fd-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    dup2(fd, 2);
    log_access(method, strlen(method), route, status, ms, rid, sub);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    off_t size = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)size + 1);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    close(fd);
    unlink(path);
    return text;
}

static json_t *one_line_json(const char *text)
{
    size_t len = strlen(text);
    assert_true(len > 2);
    assert_int_equal(text[len - 1], '\n');
    assert_null(memchr(text, '\n', len - 1)); /* one line, whatever the values held */
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (doc == NULL)
        fail_msg("not JSON (%s): %s", err.text, text);
    return doc;
}

static void test_line_has_every_field(void **state)
{
    (void)state;
    log_set_access(1);
    char *text = capture("POST", "/api/migrations/{mid}/steps/{sid}/tick", 200, 0.412,
                         "5f3a9c1e-1b", "alice");
    json_t *doc = one_line_json(text);
    assert_string_equal(json_string_value(json_object_get(doc, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(doc, "route")),
                        "/api/migrations/{mid}/steps/{sid}/tick");
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 200);
    assert_true(json_real_value(json_object_get(doc, "ms")) > 0.41 &&
                json_real_value(json_object_get(doc, "ms")) < 0.42);
    assert_string_equal(json_string_value(json_object_get(doc, "request_id")), "5f3a9c1e-1b");
    assert_string_equal(json_string_value(json_object_get(doc, "sub")), "alice");
    const char *ts = json_string_value(json_object_get(doc, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-11-22T01:12:22.123Z */
    assert_int_equal(ts[23], 'Z');
    /* exactly these members: nothing else (no header, no token) can slip into a line */
    assert_int_equal(json_object_size(doc), 7);
    json_decref(doc);
    free(text);
}

static void test_hostile_values_are_escaped_and_absent_ones_null(void **state)
{
    (void)state;
    log_set_access(1);
    char *text = capture("GET\r\n{\"x\":1}", NULL, 401, 1.0, NULL, "eve\"\n\\\x01");
    json_t *doc = one_line_json(text);
    /* a junk method is cut to 16 bytes and stays a string */
    assert_string_equal(json_string_value(json_object_get(doc, "method")), "GET\r\n{\"x\":1}");
    assert_true(json_is_null(json_object_get(doc, "route")));
    assert_true(json_is_null(json_object_get(doc, "request_id")));
    assert_string_equal(json_string_value(json_object_get(doc, "sub")), "eve\"\n\\\x01");
    json_decref(doc);
    free(text);

    char longm[64];
    memset(longm, 'M', sizeof longm - 1);
    longm[sizeof longm - 1] = '\0';
    text = capture(longm, "(none)", 400, 0, "r", NULL);
    doc = one_line_json(text);
    assert_int_equal(strlen(json_string_value(json_object_get(doc, "method"))), 16);
    assert_true(json_is_null(json_object_get(doc, "sub")));
    json_decref(doc);
    free(text);
}

static void test_switched_off_writes_nothing(void **state)
{
    (void)state;
    log_set_access(0);
    char *text = capture("GET", "/api/me", 200, 0.1, "r", "alice");
    assert_string_equal(text, "");
    free(text);
    log_set_access(1);
}

/* New request ids are "<8 hex digits>-<counter in hex>": the boot part never changes, the
 * counter goes up by one each time, lowercase and without leading zeros, exactly as
 * "%s-%" PRIx64 would print it (through the 1 -> 2 -> 3 digit carries). */
static void test_request_ids_count_in_hex(void **state)
{
    (void)state;
    char first[LOG_RID_MAX];
    log_request_id_new(first);
    assert_int_equal(strlen(first) > 9, 1);
    assert_int_equal(first[8], '-');
    for (int i = 0; i < 8; i++)
        assert_non_null(strchr("0123456789abcdef", first[i]));
    uint64_t n = strtoull(first + 9, NULL, 16);
    for (int i = 0; i < 5000; i++) {
        char id[LOG_RID_MAX], want[LOG_RID_MAX];
        log_request_id_new(id);
        n++;
        snprintf(want, sizeof want, "%.8s-%" PRIx64, first, n);
        assert_string_equal(id, want);
        assert_true(log_request_id_valid(id, strlen(id)));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_has_every_field),
        cmocka_unit_test(test_hostile_values_are_escaped_and_absent_ones_null),
        cmocka_unit_test(test_switched_off_writes_nothing),
        cmocka_unit_test(test_request_ids_count_in_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
