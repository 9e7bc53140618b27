/* test_check.c - request validation: every refusal names the field and says what is wrong. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/check.h"

static const check_field fields[] = {
    {"slug", CHECK_SLUG, 1, 0, 0},    {"title", CHECK_STRING, 1, 1, 10},
    {"minutes", CHECK_INT, 0, 0, 60}, {"critical", CHECK_BOOL, 0, 0, 0},
    {"at", CHECK_TIME, 0, 0, 0},      {"link", CHECK_URL, 0, 0, 0},
    {"tags", CHECK_ARRAY, 0, 0, 2},   {"window", CHECK_OBJECT, 0, 0, 0},
    {"extra", CHECK_ANY, 0, 0, 0},    {NULL, 0, 0, 0, 0},
};

/* Check `text` at `path`; return the error and leave the problem in *p. */
static fd_err run(const char *text, const char *path, fd_problem *p)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    fd_problem_clear(p);
    fd_err e = check_object(v, fields, path, p);
    json_decref(v);
    return e;
}

static void accepts_a_good_object(void **state)
{
    (void)state;
    fd_problem p = {0};
    assert_int_equal(run("{\"slug\":\"a-1\",\"title\":\"T\",\"minutes\":60,\"critical\":true,"
                         "\"at\":\"2026-01-01T00:00:00Z\",\"link\":\"https://x.example/a?b\","
                         "\"tags\":[1,2],\"window\":{},\"extra\":[{}]}",
                         "", &p),
                     FD_OK);
    /* null counts as absent for optional fields */
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"minutes\":null,\"link\":null}", "", &p),
                     FD_OK);
}

static void unknown_field_names_its_path(void **state)
{
    (void)state;
    fd_problem p = {0};
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"colour\":1}", "stages[1]", &p),
                     FD_E_UNKNOWN_FIELD);
    assert_string_equal(p.field, "stages[1].colour");
    assert_non_null(strstr(p.detail, "stages[1].colour is not a known field"));
    /* a typo is reported as a typo even when a required field is also missing */
    assert_int_equal(run("{\"titel\":\"T\"}", "", &p), FD_E_UNKNOWN_FIELD);
    assert_string_equal(p.field, "titel");
}

static void missing_and_wrong_types(void **state)
{
    (void)state;
    fd_problem p = {0};
    assert_int_equal(run("{\"title\":\"T\"}", "", &p), FD_E_INVALID);
    assert_string_equal(p.field, "slug");
    assert_non_null(strstr(p.detail, "slug is required"));
    assert_int_equal(run("{\"slug\":null,\"title\":\"T\"}", "", &p), FD_E_INVALID);
    assert_string_equal(p.field, "slug");
    assert_int_equal(run("{\"slug\":\"a\",\"title\":5}", "steps[0]", &p), FD_E_INVALID);
    assert_string_equal(p.field, "steps[0].title");
    assert_non_null(strstr(p.detail, "must be a string"));
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"minutes\":1.5}", "", &p), FD_E_INVALID);
    assert_string_equal(p.field, "minutes");
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"critical\":\"yes\"}", "", &p),
                     FD_E_INVALID);
    assert_string_equal(p.field, "critical");
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"tags\":{}}", "", &p), FD_E_INVALID);
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"window\":[]}", "", &p), FD_E_INVALID);
    assert_string_equal(p.field, "window");
}

static void bounds(void **state)
{
    (void)state;
    fd_problem p = {0};
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"\"}", "", &p), FD_E_INVALID);
    assert_non_null(strstr(p.detail, "1-10 characters"));
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"12345678901\"}", "", &p), FD_E_INVALID);
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"1234567890\"}", "", &p), FD_OK);
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"minutes\":61}", "", &p), FD_E_INVALID);
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"minutes\":-1}", "", &p), FD_E_INVALID);
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"tags\":[1,2,3]}", "", &p),
                     FD_E_INVALID);
    assert_string_equal(p.field, "tags");
}

static void slugs_urls_times(void **state)
{
    (void)state;
    fd_problem p = {0};
    assert_true(check_is_slug("msk-v2"));
    assert_true(check_is_slug("a"));
    char long64[65], long65[66];
    memset(long64, 'a', 64);
    long64[64] = '\0';
    memset(long65, 'a', 65);
    long65[65] = '\0';
    assert_true(check_is_slug(long64));
    assert_false(check_is_slug(long65));
    assert_false(check_is_slug(""));
    assert_false(check_is_slug("Upper"));
    assert_false(check_is_slug("under_score"));
    assert_false(check_is_slug("sp ace"));
    assert_false(check_is_slug(NULL));

    assert_int_equal(run("{\"slug\":\"Bad\",\"title\":\"T\"}", "", &p), FD_E_INVALID);
    assert_string_equal(p.field, "slug");
    const char *bad_urls[] = {"ftp://x",    "https://",     "https:///x",
                              "http://a b", "javascript:x", "x"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"slug\":\"a\",\"title\":\"T\",\"link\":\"%s\"}",
                 bad_urls[i]);
        if (run(body, "", &p) != FD_E_INVALID)
            fail_msg("accepted URL %s", bad_urls[i]);
        assert_string_equal(p.field, "link");
    }
    assert_int_equal(run("{\"slug\":\"a\",\"title\":\"T\",\"at\":\"tomorrow\"}", "", &p),
                     FD_E_INVALID);
    assert_string_equal(p.field, "at");
}

static void not_an_object(void **state)
{
    (void)state;
    fd_problem p = {0};
    assert_int_equal(run("[1]", "", &p), FD_E_BAD_REQUEST);
    assert_int_equal(run("\"x\"", "window", &p), FD_E_INVALID);
    assert_string_equal(p.field, "window");
    fd_problem_clear(&p);
}

static void utf8_checks_and_sanitising(void **state)
{
    (void)state;
    assert_true(check_is_utf8("", 0));
    assert_true(check_is_utf8("plain", 5));
    assert_true(check_is_utf8("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x9b\xab", 14));
    assert_false(check_is_utf8("\xff", 1));
    assert_false(check_is_utf8("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(check_is_utf8("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(check_is_utf8("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(check_is_utf8("\xe2\x80", 2));         /* cut short */
    char out[16];
    assert_string_equal(check_utf8_sanitize("m\xfex", 3, out, sizeof out), "m?x");
    assert_string_equal(check_utf8_sanitize("caf\xc3\xa9", 5, out, sizeof out), "caf\xc3\xa9");
    /* cut at a character boundary, never inside one */
    assert_string_equal(check_utf8_sanitize("abcd\xc3\xa9", 6, out, 6), "abcd");
    assert_true(check_is_utf8(out, strlen(out)));
}

static void getters_with_defaults(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:i,s:b,s:n}", "s", "v", "i", 7, "b", 1, "n");
    assert_string_equal(check_str(o, "s", "d"), "v");
    assert_string_equal(check_str(o, "n", "d"), "d");
    assert_string_equal(check_str(o, "i", "d"), "d");
    assert_int_equal(check_int(o, "i", -1), 7);
    assert_int_equal(check_int(o, "missing", -1), -1);
    assert_int_equal(check_bool(o, "b", 0), 1);
    assert_int_equal(check_bool(o, "s", 0), 0);
    assert_null(check_str(NULL, "s", NULL));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_a_good_object),   cmocka_unit_test(unknown_field_names_its_path),
        cmocka_unit_test(missing_and_wrong_types), cmocka_unit_test(bounds),
        cmocka_unit_test(slugs_urls_times),        cmocka_unit_test(not_an_object),
        cmocka_unit_test(getters_with_defaults),
        cmocka_unit_test(utf8_checks_and_sanitising),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
