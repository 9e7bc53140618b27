/*
 * test_github_config.c - what `flightdeck serve` makes of the go-around's environment: where
 * GitHub is, the token (from the environment or a file, never both), and the timings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static const char *const env_names[] = {
    "FLIGHTDECK_GITHUB_TOKEN",
    "FLIGHTDECK_GITHUB_TOKEN_FILE",
    "FLIGHTDECK_GITHUB_API",
    "FLIGHTDECK_GITHUB_TIMEOUT_SECONDS",
    "FLIGHTDECK_ROLLBACK_CHECK_SECONDS",
};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    return 0;
}

/* Parse `serve` without flags on top of the current environment. */
static int parse(fd_config *c, char *err, size_t errlen)
{
    char *argv[] = {"serve", NULL};
    config_defaults(c);
    return config_parse_serve(c, 1, argv, err, errlen);
}

static void defaults_have_no_token(void **state)
{
    (void)state;
    fd_config c;
    char err[256];
    assert_int_equal(parse(&c, err, sizeof err), 0);
    assert_null(c.github_token);
    assert_string_equal(c.github_api, "https://api.github.com");
    assert_int_equal(c.github_timeout_s, 10);
    assert_int_equal(c.rollback_check_s, 60);
    config_free(&c);
}

static void enterprise_url_and_token_from_the_environment(void **state)
{
    (void)state;
    fd_config c;
    char err[256];
    setenv("FLIGHTDECK_GITHUB_API", "https://ghe.example.com/api/v3/", 1);
    setenv("FLIGHTDECK_GITHUB_TOKEN", "ghp_abc123", 1);
    setenv("FLIGHTDECK_ROLLBACK_CHECK_SECONDS", "5", 1);
    assert_int_equal(parse(&c, err, sizeof err), 0);
    assert_string_equal(c.github_api, "https://ghe.example.com/api/v3"); /* no trailing '/' */
    assert_string_equal(c.github_token, "ghp_abc123");
    assert_int_equal(c.rollback_check_s, 5);
    config_free(&c);
    assert_null(c.github_token);
}

static void token_from_a_file_without_its_newline(void **state)
{
    (void)state;
    char path[] = "/tmp/fd-ghtoken-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ghp_from_file\n", 14), 14);
    close(fd);
    setenv("FLIGHTDECK_GITHUB_TOKEN_FILE", path, 1);
    fd_config c;
    char err[256];
    assert_int_equal(parse(&c, err, sizeof err), 0);
    assert_string_equal(c.github_token, "ghp_from_file");
    config_free(&c);

    setenv("FLIGHTDECK_GITHUB_TOKEN", "ghp_other", 1); /* both: which one is meant? */
    assert_int_equal(parse(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not both"));
    config_free(&c);
    unlink(path);
}

static void bad_values_are_refused_by_name(void **state)
{
    (void)state;
    fd_config c;
    char err[256];
    setenv("FLIGHTDECK_GITHUB_API", "ftp://github.example.com", 1);
    assert_int_equal(parse(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "FLIGHTDECK_GITHUB_API"));
    config_free(&c);
    unsetenv("FLIGHTDECK_GITHUB_API");
    setenv("FLIGHTDECK_GITHUB_TIMEOUT_SECONDS", "0", 1);
    assert_int_equal(parse(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "FLIGHTDECK_GITHUB_TIMEOUT_SECONDS"));
    config_free(&c);
    unsetenv("FLIGHTDECK_GITHUB_TIMEOUT_SECONDS");
    setenv("FLIGHTDECK_GITHUB_TOKEN", "two words", 1); /* would break the header */
    assert_int_equal(parse(&c, err, sizeof err), -1);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_have_no_token, clean_env),
        cmocka_unit_test_setup(enterprise_url_and_token_from_the_environment, clean_env),
        cmocka_unit_test_setup(token_from_a_file_without_its_newline, clean_env),
        cmocka_unit_test_setup(bad_values_are_refused_by_name, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
