/*
 * test_lifecycle.c - the process as an operator sees it: start, stop, restart, configuration,
 * the demo, and the sub-commands.
 *
 * Each test has its own server and temporary database (setup/teardown), so one failure does not
 * leave a process behind for the next.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int setup(void **state)
{
    h_server *s = calloc(1, sizeof *s);
    if (!s || h_server_init(s) != 0)
        return -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    h_server *s = *state;
    h_destroy(s);
    free(s);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    h_init();
    return 0;
}

/* Run a sub-command; fail the test unless it exits with `want` (-1: anything but 0). */
static char *run_expect(const char *const *args, const char *const *env, int want)
{
    char *out = NULL, *err = NULL;
    int code = h_run(args, env, &out, &err);
    int ok = want < 0 ? code != 0 : code == want;
    if (!ok)
        fail_msg("flightdeck %s %s: exit %d, want %s%d\nstdout: %.1000s\nstderr: %.1000s", args[0],
                 args[1] ? args[1] : "", code, want < 0 ? "non-zero, not " : "",
                 want < 0 ? 0 : want, out, err);
    /* the answer a person reads may be on either stream */
    char *both = h_fmt("%s%s", out, err);
    free(out);
    free(err);
    return both;
}

static void expect_contains(const char *text, const char *what, const char *context)
{
    if (!strstr(text, what))
        fail_msg("%s: no \"%s\" in:\n%.1500s", context, what, text);
}

static void test_sigterm_with_keepalive_open(void **state)
{
    h_server *s = *state;
    h_start_ok(s);

    /* one connection that already had an answer and stays open, one that never said a word */
    int busy = h_raw_connect(s);
    int idle = h_raw_connect(s);
    assert_true(busy >= 0 && idle >= 0);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(h_raw_send(busy, req, strlen(req)), 0);
    char buf[4096];
    assert_int_equal(h_raw_read(busy, buf, sizeof buf, 10000), 200);

    if (h_stop(s, SIGTERM, 5000) != 0) {
        h_dump_logs(s);
        fail_msg("SIGTERM with a keep-alive connection open: still running after 5 s");
    }
    if (s->exit_code != 0) {
        h_dump_logs(s);
        fail_msg("SIGTERM: exit code %d, want 0", s->exit_code);
    }
    close(busy);
    close(idle);
    /* nobody listens any more */
    assert_true(h_raw_connect(s) < 0);
}

static void test_sigint_exits_zero(void **state)
{
    h_server *s = *state;
    h_start_ok(s);
    h_resp r;
    h_req(s, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    assert_int_equal(h_stop(s, SIGINT, 5000), 0);
    assert_int_equal(s->exit_code, 0);
}

static void test_data_survives_restart(void **state)
{
    h_server *s = *state;
    h_start_ok(s);
    char *admin = h_token("root", "Root", "admin", NULL);
    char *lead = h_token("alice", "Alice", "lead", "data-stream");
    char *eng = h_token("bob", "Bob", "engineer", "data-stream");
    h_create_demo_teams(s, admin);
    json_t *plan = h_load_json("examples/msk-cluster-replacement.json");
    h_resp r;
    h_req_json(s, "POST", "/api/migrations", lead, plan, NULL, &r);
    H_EXPECT(&r, 201);
    h_resp_free(&r);
    h_req(s, "POST", "/api/migrations/msk-cluster-replacement/start", lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    int64_t sid = h_step_id(r.json, "takeoff", 0);
    h_resp_free(&r);
    char *tick = h_fmt("/api/migrations/msk-cluster-replacement/steps/%lld/tick", (long long)sid);
    const char *key[] = {"Idempotency-Key: restart-survivor-1", NULL};
    h_req(s, "POST", tick, eng, "{\"note\":\"announced in #data-stream\"}", (size_t)-1, key, &r);
    H_EXPECT(&r, 200);
    json_t *answer = json_incref(r.json);
    h_resp_free(&r);

    char *before = h_snapshot(s, lead, "msk-cluster-replacement");
    size_t count = h_audit_count(s, lead, "msk-cluster-replacement");
    assert_int_equal(h_stop(s, SIGTERM, 5000), 0);
    assert_int_equal(s->exit_code, 0);

    h_start_ok(s);
    char *after = h_snapshot(s, lead, "msk-cluster-replacement");
    assert_string_equal(before, after);
    assert_int_equal(h_audit_count(s, lead, "msk-cluster-replacement"), count);
    json_t *m = h_get_migration(s, lead, "msk-cluster-replacement");
    json_t *first = json_array_get(
        json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "note")),
                        "announced in #data-stream");
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "by"), "sub")),
                        "bob");
    json_decref(m);
    h_req(s, "GET", "/api/migrations/msk-cluster-replacement/audit/verify", lead, NULL, 0, NULL,
          &r);
    H_EXPECT(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    h_resp_free(&r);
    /* a bot retrying across the restart gets its first answer back, and nothing twice */
    h_req(s, "POST", tick, eng, "{\"note\":\"announced in #data-stream\"}", (size_t)-1, key, &r);
    H_EXPECT(&r, 200);
    assert_non_null(h_hdr(&r, "Idempotent-Replayed"));
    assert_true(json_equal(r.json, answer));
    h_resp_free(&r);
    json_decref(answer);
    assert_int_equal(h_audit_count(s, lead, "msk-cluster-replacement"), count);
    /* the teams are still there */
    h_req(s, "GET", "/api/teams/cloud-platform", lead, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);

    json_decref(plan);
    free(before);
    free(after);
    free(tick);
    free(admin);
    free(lead);
    free(eng);
}

static void test_refuses_to_start_without_secret(void **state)
{
    h_server *s = *state;
    const char *no_secret[] = {"FLIGHTDECK_JWT_SECRET", NULL};
    if (h_start(s, NULL, no_secret) == 0)
        fail_msg("serve started without a secret and without --dev");
    assert_int_not_equal(s->exit_code, 0);
    /* and says why, on its error stream */
    struct stat sb;
    assert_int_equal(stat(s->err_log, &sb), 0);
    assert_true(sb.st_size > 0);

    /* a secret that is too short is refused too */
    const char *short_secret[] = {"FLIGHTDECK_JWT_SECRET=short", NULL};
    if (h_start(s, NULL, short_secret) == 0)
        fail_msg("serve started with a 5-byte secret");
    assert_int_not_equal(s->exit_code, 0);
}

static void test_secret_from_file(void **state)
{
    h_server *s = *state;
    char *path = h_fmt("%s/jwt.secret", s->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", H_SECRET);
    fclose(f);
    char *file_env = h_fmt("FLIGHTDECK_JWT_SECRET_FILE=%s", path);
    const char *env[] = {"FLIGHTDECK_JWT_SECRET", file_env, NULL};
    if (h_start(s, NULL, env) != 0) {
        h_dump_logs(s);
        fail_msg("serve did not start with FLIGHTDECK_JWT_SECRET_FILE");
    }
    /* a token signed with the same secret is accepted */
    char *tok = h_token("alice", "Alice", "lead", "data-stream");
    h_resp r;
    h_req(s, "GET", "/api/me", tok, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    free(tok);
    free(file_env);
    free(path);
}

static void test_dev_demo_loads_examples(void **state)
{
    h_server *s = *state;
    char *demo = h_fmt("%s/examples", h_repo());
    const char *extra[] = {"--dev", "--demo", demo, NULL};
    if (h_start(s, extra, NULL) != 0) {
        h_dump_logs(s);
        fail_msg("serve --dev --demo examples did not start");
    }
    char *viewer = h_token("vera", "Vera", "viewer", "sre");
    h_resp r;
    h_req(s, "GET", "/api/migrations", viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    /* both example plans: the first seed's MSK replacement and the second seed's cutover */
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
                        "msk-cluster-replacement");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "id")),
                        "mysql-to-dynamodb");
    h_resp_free(&r);
    /* the demo has no flag system: its switches are there, their flag calls are not */
    json_t *dyn = h_get_migration(s, viewer, "mysql-to-dynamodb");
    json_t *sws = json_object_get(dyn, "switches");
    assert_int_equal(json_array_size(sws), 2);
    for (size_t k = 0; k < json_array_size(sws); k++)
        assert_false(json_is_true(json_object_get(json_array_get(sws, k), "has_action")));
    json_decref(dyn);
    json_t *m = h_get_migration(s, viewer, "msk-cluster-replacement");
    size_t steps = 0, i;
    json_t *st;
    json_array_foreach(json_object_get(m, "stages"), i, st) steps +=
        json_array_size(json_object_get(st, "steps"));
    assert_int_equal(steps, 33);
    json_decref(m);
    /* every demo team */
    h_req(s, "GET", "/api/teams?limit=200", viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 5);
    h_resp_free(&r);

    /* only on first start: a restart with --demo neither fails nor loads it twice */
    assert_int_equal(h_stop(s, SIGTERM, 5000), 0);
    assert_int_equal(s->exit_code, 0);
    if (h_start(s, extra, NULL) != 0) {
        h_dump_logs(s);
        fail_msg("second start with --demo failed");
    }
    h_req(s, "GET", "/api/migrations", viewer, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    h_resp_free(&r);
    free(viewer);
    free(demo);
}

/* What `make run` does: --dev without a configured secret starts, and prints sign-in tokens
 * that work. */
static void test_dev_without_secret_prints_tokens(void **state)
{
    h_server *s = *state;
    const char *no_secret[] = {"FLIGHTDECK_JWT_SECRET", NULL};
    char *demo = h_fmt("%s/examples", h_repo());
    const char *extra[] = {"--dev", "--demo", demo, NULL};
    if (h_start(s, extra, no_secret) != 0) {
        h_dump_logs(s);
        fail_msg("serve --dev without a secret did not start");
    }
    /* the dev secret is not the test secret: our own token is refused */
    char *ours = h_token("alice", "Alice", "lead", "data-stream");
    h_resp r;
    h_req(s, "GET", "/api/me", ours, NULL, 0, NULL, &r);
    H_PROBLEM(&r, 401);
    h_resp_free(&r);
    free(ours);

    /* a printed token ("eyJ...", on either stream) signs in */
    char *token = NULL;
    const char *logs[] = {s->out_log, s->err_log};
    for (int i = 0; i < 2 && !token; i++) {
        FILE *f = fopen(logs[i], "r");
        assert_non_null(f);
        char line[8192];
        while (!token && fgets(line, sizeof line, f)) {
            char *t = strstr(line, "eyJ");
            if (t) {
                size_t n =
                    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
                token = strndup(t, n);
            }
        }
        fclose(f);
    }
    if (!token) {
        h_dump_logs(s);
        fail_msg("serve --dev printed no sign-in token");
    }
    h_req(s, "GET", "/api/me", token, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    h_resp_free(&r);
    free(token);
    free(demo);
}

static void test_token_command(void **state)
{
    h_server *s = *state;
    char *tok = h_token("alice", "Alice", "lead", "data-stream");
    assert_int_equal(
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        strlen(tok));
    json_t *claims = h_jwt_payload(tok);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(claims, "name")), "Alice");
    assert_string_equal(json_string_value(json_object_get(claims, "role")), "lead");
    json_t *teams = json_object_get(claims, "teams");
    assert_int_equal(json_array_size(teams), 1);
    assert_string_equal(json_string_value(json_array_get(teams, 0)), "data-stream");
    /* --ttl 1h */
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    json_int_t now = (json_int_t)time(NULL);
    assert_true(exp > now + 3600 - 120 && exp <= now + 3600 + 5);
    json_decref(claims);

    /* the server signs it in as that person */
    h_start_ok(s);
    h_resp r;
    h_req(s, "GET", "/api/me", tok, NULL, 0, NULL, &r);
    H_EXPECT(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Alice");
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "lead");
    h_resp_free(&r);
    free(tok);

    /* no secret: nothing to sign with */
    const char *no_secret[] = {"FLIGHTDECK_JWT_SECRET", NULL};
    const char *args[] = {"token", "--sub", "x", "--name", "X", "--role", "viewer", NULL};
    free(run_expect(args, no_secret, -1));
    /* an unknown role is refused */
    const char *bad_role[] = {"token", "--sub", "x", "--name", "X", "--role", "pilot", NULL};
    free(run_expect(bad_role, NULL, -1));
}

static void test_version_and_help(void **state)
{
    (void)state;
    const char *version[] = {"version", NULL};
    char *out = run_expect(version, NULL, 0);
    assert_true(strlen(out) > 0);
    expect_contains(out, "flightdeck", "flightdeck version");
    free(out);

    const char *help[] = {"--help", NULL};
    out = run_expect(help, NULL, 0);
    expect_contains(out, "serve", "flightdeck --help");
    expect_contains(out, "token", "flightdeck --help");
    expect_contains(out, "audit", "flightdeck --help");
    expect_contains(out, "version", "flightdeck --help");
    free(out);

    const char *serve_help[] = {"serve", "--help", NULL};
    out = run_expect(serve_help, NULL, 0);
    expect_contains(out, "--listen", "flightdeck serve --help");
    expect_contains(out, "--db", "flightdeck serve --help");
    expect_contains(out, "--dev", "flightdeck serve --help");
    free(out);

    const char *token_help[] = {"token", "--help", NULL};
    out = run_expect(token_help, NULL, 0);
    expect_contains(out, "--sub", "flightdeck token --help");
    expect_contains(out, "--ttl", "flightdeck token --help");
    free(out);

    const char *audit_help[] = {"audit", "verify", "--help", NULL};
    out = run_expect(audit_help, NULL, 0);
    expect_contains(out, "verify", "flightdeck audit verify --help");
    free(out);

    /* mistakes exit non-zero */
    const char *unknown[] = {"frobnicate", NULL};
    free(run_expect(unknown, NULL, -1));
    const char *bad_flag[] = {"serve", "--no-such-flag", NULL};
    free(run_expect(bad_flag, NULL, -1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigterm_with_keepalive_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigint_exits_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_to_start_without_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_demo_loads_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_without_secret_prints_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_help, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
