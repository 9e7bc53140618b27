/*
 * test_config.c - what `flightdeck serve` makes of its flags and environment, and the keys it
 * refuses to start with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config.h"

static const char *const env_names[] = {
    "FLIGHTDECK_LISTEN",         "FLIGHTDECK_DB",         "FLIGHTDECK_WEB",
    "FLIGHTDECK_COOKIE_SECURE",  "FLIGHTDECK_JWT_SECRET", "FLIGHTDECK_JWT_SECRET_FILE",
    "FLIGHTDECK_JWT_PUBLIC_KEY", "FLIGHTDECK_JWT_ISSUER", "FLIGHTDECK_JWT_AUDIENCE",
};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    return 0;
}

/* Parse `serve` flags (NULL-terminated list) on top of the current environment. */
static int parse(fd_config *c, char *err, size_t errlen, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    argv[argc++] = "serve";
    va_start(ap, errlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    config_defaults(c);
    return config_parse_serve(c, argc, argv, err, errlen);
}

static void defaults_without_flags_or_environment(void **state)
{
    (void)state;
    fd_config c;
    char err[256];
    assert_int_equal(parse(&c, err, sizeof err, NULL), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.db_path, "./flightdeck.db");
    assert_string_equal(c.web_dir, "./web");
    assert_string_equal(c.demo_dir, "");
    assert_false(c.dev);
    assert_false(c.cookie_secure);
}

static void environment_is_used_and_flags_override_it(void **state)
{
    (void)state;
    fd_config c;
    char err[256];
    setenv("FLIGHTDECK_LISTEN", "0.0.0.0:9000", 1);
    setenv("FLIGHTDECK_DB", "/var/lib/fd/env.db", 1);
    setenv("FLIGHTDECK_WEB", "/srv/web", 1);
    assert_int_equal(parse(&c, err, sizeof err, NULL), 0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.db_path, "/var/lib/fd/env.db");
    assert_string_equal(c.web_dir, "/srv/web");

    assert_int_equal(parse(&c, err, sizeof err, "--listen", "127.0.0.1:0", "--db=flag.db", "--web",
                           "ui", "--demo", "examples", "--dev", "--cookie-secure", NULL),
                     0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 0);
    assert_string_equal(c.db_path, "flag.db");
    assert_string_equal(c.web_dir, "ui");
    assert_string_equal(c.demo_dir, "examples");
    assert_true(c.dev);
    assert_true(c.cookie_secure);
}

static void bad_listen_addresses_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"8080",   "localhost", "host:", "host:65536", "host:-1",  "host:80x",
                         "::1:80", "[::1]80",   "[::1",  "a b:80",     "host:+80", ""};
    char host[256];
    int port;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (config_parse_listen(bad[i], host, sizeof host, &port) != -1)
            fail_msg("listen address '%s' accepted", bad[i]);

    assert_int_equal(config_parse_listen("[::1]:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(config_parse_listen(":8081", host, sizeof host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 8081);
    assert_int_equal(config_parse_listen("localhost:65535", host, sizeof host, &port), 0);
    assert_int_equal(port, 65535);

    /* a bad value fails the whole parse, from a flag and from the environment alike */
    fd_config c;
    char err[256] = "";
    assert_int_equal(parse(&c, err, sizeof err, "--listen", "nowhere", NULL), -1);
    assert_non_null(strstr(err, "HOST:PORT"));
    setenv("FLIGHTDECK_LISTEN", "127.0.0.1:99999", 1);
    assert_int_equal(parse(&c, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "FLIGHTDECK_LISTEN"));
    /* a flag replaces its environment variable, broken or not */
    assert_int_equal(parse(&c, err, sizeof err, "--listen", "127.0.0.1:1", NULL), 0);
    assert_int_equal(c.listen_port, 1);
}

static void unknown_flags_and_missing_values_are_refused(void **state)
{
    (void)state;
    fd_config c;
    char err[256];
    assert_int_equal(parse(&c, err, sizeof err, "--port", "80", NULL), -1);
    assert_non_null(strstr(err, "--port"));
    assert_int_equal(parse(&c, err, sizeof err, "--db", NULL), -1);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse(&c, err, sizeof err, "stray", NULL), -1);
    assert_int_equal(parse(&c, err, sizeof err, "--dev=yes", NULL), -1);
    assert_int_equal(parse(&c, err, sizeof err, "--db=", NULL), -1);
    assert_int_equal(parse(&c, err, sizeof err, "--help", NULL), 0);
    assert_true(c.help);
}

static void durations(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(config_parse_duration("8h", &s), 0);
    assert_int_equal(s, 8 * 3600);
    assert_int_equal(config_parse_duration("90s", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(config_parse_duration("15m", &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(config_parse_duration("2d", &s), 0);
    assert_int_equal(s, 2 * 86400);
    assert_int_equal(config_parse_duration("3600", &s), 0);
    assert_int_equal(s, 3600);
    const char *bad[] = {"",   "0", "0h", "-1h", "8x", "8hh", "h", "367d", "99999999999999999999h",
                         " 8h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (config_parse_duration(bad[i], &s) != -1)
            fail_msg("duration '%s' accepted", bad[i]);
}

static void short_or_ambiguous_secrets_are_refused(void **state)
{
    (void)state;
    fd_config c;
    char err[256] = "";
    config_defaults(&c);
    setenv("FLIGHTDECK_JWT_SECRET", "too-short", 1);
    assert_int_equal(config_load_keys(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "32 bytes"));
    assert_null(strstr(err, "too-short")); /* the secret itself is never echoed */
    assert_false(config_has_key(&c));

    setenv("FLIGHTDECK_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1); /* exactly 32 */
    assert_int_equal(config_load_keys(&c, err, sizeof err), 0);
    assert_true(config_has_key(&c));
    assert_int_equal(c.jwt_secret_len, 32);
    config_free(&c);

    setenv("FLIGHTDECK_JWT_SECRET_FILE", "/nonexistent", 1);
    config_defaults(&c);
    assert_int_equal(config_load_keys(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not both"));
    config_free(&c);
}

static void secret_file_is_read_and_checked(void **state)
{
    (void)state;
    char path[] = "/tmp/fd-cfg-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "short\n", 6), 6);
    close(fd);
    fd_config c;
    char err[256];
    config_defaults(&c);
    setenv("FLIGHTDECK_JWT_SECRET_FILE", path, 1);
    assert_int_equal(config_load_keys(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "32 bytes"));

    FILE *f = fopen(path, "w");
    fputs("0123456789abcdef0123456789abcdef0123\r\n", f);
    fclose(f);
    assert_int_equal(config_load_keys(&c, err, sizeof err), 0);
    assert_int_equal(c.jwt_secret_len, 36); /* the line ending is not part of the secret */
    assert_memory_equal(c.jwt_secret, "0123456789abcdef0123456789abcdef0123", 36);
    config_free(&c);

    setenv("FLIGHTDECK_JWT_SECRET_FILE", "/nonexistent/secret", 1);
    assert_int_equal(config_load_keys(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/secret"));
    unlink(path);
}

static void public_key_issuer_and_audience_from_environment(void **state)
{
    (void)state;
    char path[] = "/tmp/fd-cfg-pem-XXXXXX";
    int fd = mkstemp(path);
    const char pem[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t)strlen(pem));
    close(fd);
    fd_config c;
    char err[256];
    config_defaults(&c);
    setenv("FLIGHTDECK_JWT_PUBLIC_KEY", path, 1);
    setenv("FLIGHTDECK_JWT_ISSUER", "https://idp.example", 1);
    setenv("FLIGHTDECK_JWT_AUDIENCE", "flightdeck", 1);
    assert_int_equal(config_load_keys(&c, err, sizeof err), 0);
    assert_true(config_has_key(&c));
    assert_string_equal(c.jwt_public_pem, pem); /* checked as a key later, by auth */
    assert_string_equal(c.jwt_issuer, "https://idp.example");
    assert_string_equal(c.jwt_audience, "flightdeck");
    config_free(&c);
    unlink(path);
}

static void dev_secret_is_created_once_and_kept(void **state)
{
    (void)state;
    char dir[] = "/tmp/fd-cfg-dev-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fd_config c;
    char err[256], secret_path[256];
    struct stat sb;

    config_defaults(&c);
    snprintf(c.db_path, sizeof c.db_path, "%s/fd.db", dir);
    snprintf(secret_path, sizeof secret_path, "%s/fd.db.dev-secret", dir);
    assert_int_equal(config_dev_secret(&c, err, sizeof err), 0);
    assert_true(c.dev_secret_created);
    assert_int_equal(c.jwt_secret_len, 64);
    assert_int_equal(stat(secret_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600); /* nobody else may read it */
    char first[64];
    memcpy(first, c.jwt_secret, 64);
    config_free(&c);

    /* a restart reads the same secret, so tokens handed out before still work */
    config_defaults(&c);
    snprintf(c.db_path, sizeof c.db_path, "%s/fd.db", dir);
    assert_int_equal(config_dev_secret(&c, err, sizeof err), 0);
    assert_false(c.dev_secret_created);
    assert_int_equal(c.jwt_secret_len, 64);
    assert_memory_equal(c.jwt_secret, first, 64);
    config_free(&c);

    /* an in-memory database gets a secret without a file */
    config_defaults(&c);
    snprintf(c.db_path, sizeof c.db_path, ":memory:");
    assert_int_equal(config_dev_secret(&c, err, sizeof err), 0);
    assert_int_equal(c.jwt_secret_len, 64);
    assert_int_equal(access(":memory:.dev-secret", F_OK), -1);
    config_free(&c);

    unlink(secret_path);
    rmdir(dir);
}

/* The limits for hostile clients: defaults, environment, and values out of range refused. */
static void limits_from_environment(void **state)
{
    (void)state;
    static const char *const names[] = {"FLIGHTDECK_REQUEST_TIMEOUT_MS", "FLIGHTDECK_RATE_LIMIT",
                                        "FLIGHTDECK_RATE_BURST", "FLIGHTDECK_METRICS_TOKEN", NULL};
    fd_config c;
    char err[256];
    for (int i = 0; names[i] != NULL; i++)
        unsetenv(names[i]);
    assert_int_equal(parse(&c, err, sizeof err, NULL), 0);
    assert_int_equal(c.request_timeout_ms, 10000);
    assert_true(c.rate_limit == 200 && c.rate_burst == 400);
    assert_string_equal(c.metrics_token, "");

    setenv("FLIGHTDECK_REQUEST_TIMEOUT_MS", "1500", 1);
    setenv("FLIGHTDECK_RATE_LIMIT", "50", 1);
    setenv("FLIGHTDECK_METRICS_TOKEN", "scrape-me", 1);
    assert_int_equal(parse(&c, err, sizeof err, NULL), 0);
    assert_int_equal(c.request_timeout_ms, 1500);
    assert_true(c.rate_limit == 50 && c.rate_burst == 100); /* burst defaults to twice the rate */
    assert_string_equal(c.metrics_token, "scrape-me");
    setenv("FLIGHTDECK_RATE_BURST", "7", 1);
    assert_int_equal(parse(&c, err, sizeof err, NULL), 0);
    assert_true(c.rate_burst == 7);
    setenv("FLIGHTDECK_RATE_LIMIT", "0", 1); /* off */
    assert_int_equal(parse(&c, err, sizeof err, NULL), 0);
    assert_true(c.rate_limit == 0);
    config_free(&c);

    static const char *const bad[][2] = {
        {"FLIGHTDECK_REQUEST_TIMEOUT_MS", "50"}, {"FLIGHTDECK_REQUEST_TIMEOUT_MS", "10s"},
        {"FLIGHTDECK_RATE_LIMIT", "-1"},         {"FLIGHTDECK_RATE_LIMIT", "lots"},
        {"FLIGHTDECK_RATE_BURST", "0"},          {"FLIGHTDECK_RATE_LIMIT", "99999999999999999999"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int k = 0; names[k] != NULL; k++)
            unsetenv(names[k]);
        setenv(bad[i][0], bad[i][1], 1);
        if (parse(&c, err, sizeof err, NULL) != -1)
            fail_msg("%s=%s was accepted", bad[i][0], bad[i][1]);
        assert_non_null(strstr(err, bad[i][0]));
    }
    for (int i = 0; names[i] != NULL; i++)
        unsetenv(names[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_without_flags_or_environment, clean_env),
        cmocka_unit_test_setup(environment_is_used_and_flags_override_it, clean_env),
        cmocka_unit_test_setup(bad_listen_addresses_are_refused, clean_env),
        cmocka_unit_test_setup(unknown_flags_and_missing_values_are_refused, clean_env),
        cmocka_unit_test_setup(durations, clean_env),
        cmocka_unit_test_setup(short_or_ambiguous_secrets_are_refused, clean_env),
        cmocka_unit_test_setup(secret_file_is_read_and_checked, clean_env),
        cmocka_unit_test_setup(public_key_issuer_and_audience_from_environment, clean_env),
        cmocka_unit_test_setup(dev_secret_is_created_once_and_kept, clean_env),
        cmocka_unit_test_setup(limits_from_environment, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
