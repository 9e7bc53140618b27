/*
 * test_metrics.c - what a Prometheus scrape of /metrics reads: request counts by route, method
 * and status; cumulative latency buckets; commit statistics from a real (in-memory) store;
 * series other modules register, grouped per family; a well-formed text exposition line by
 * line; and the optional scrape token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store_internal.h"
#include "fake_h2o.h"
#include "server/metrics.h"

static char *render(void)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(&text, &len), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

/* Fail unless `line` (a whole line, without the newline) is in `text`. */
static void assert_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return;
    fail_msg("no line '%s' in:\n%s", line, text);
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static int reset(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

static void test_requests_by_route_method_and_status(void **state)
{
    (void)state;
    metrics_observe_request("GET", 3, "/api/migrations/{mid}", 200, 0.0003);
    metrics_observe_request("GET", 3, "/api/migrations/{mid}", 200, 0.003);
    metrics_observe_request("GET", 3, "/api/migrations/{mid}", 404, 0.0001);
    metrics_observe_request("POST", 4, "/api/migrations/{mid}", 409, 0.02);
    metrics_observe_request("BREW", 4, NULL, 405, 7.0); /* junk method, no route */
    char *t = render();
    assert_line(t, "flightdeck_http_requests_total{route=\"/api/migrations/{mid}\",method=\"GET\","
                   "status=\"200\"} 2");
    assert_line(t, "flightdeck_http_requests_total{route=\"/api/migrations/{mid}\",method=\"GET\","
                   "status=\"404\"} 1");
    assert_line(t, "flightdeck_http_requests_total{route=\"/api/migrations/{mid}\",method=\"POST\","
                   "status=\"409\"} 1");
    assert_line(t, "flightdeck_http_requests_total{route=\"(none)\",method=\"OTHER\","
                   "status=\"405\"} 1");
    /* the histogram is cumulative: 0.1 ms and 0.3 ms are under 0.5 ms, 3 ms under 5 ms */
    const char *h = "flightdeck_http_request_duration_seconds";
    char line[256];
    snprintf(line, sizeof line,
             "%s_bucket{route=\"/api/migrations/{mid}\",method=\"GET\",le=\"0.0005\"} 2", h);
    assert_line(t, line);
    snprintf(line, sizeof line,
             "%s_bucket{route=\"/api/migrations/{mid}\",method=\"GET\",le=\"0.0025\"} 2", h);
    assert_line(t, line);
    snprintf(line, sizeof line,
             "%s_bucket{route=\"/api/migrations/{mid}\",method=\"GET\",le=\"0.005\"} 3", h);
    assert_line(t, line);
    snprintf(line, sizeof line,
             "%s_bucket{route=\"/api/migrations/{mid}\",method=\"GET\",le=\"+Inf\"} 3", h);
    assert_line(t, line);
    snprintf(line, sizeof line, "%s_count{route=\"/api/migrations/{mid}\",method=\"GET\"} 3", h);
    assert_line(t, line);
    /* 7 s is past the last bound (5 s): only +Inf holds it */
    snprintf(line, sizeof line, "%s_bucket{route=\"(none)\",method=\"OTHER\",le=\"5\"} 0", h);
    assert_line(t, line);
    snprintf(line, sizeof line, "%s_bucket{route=\"(none)\",method=\"OTHER\",le=\"+Inf\"} 1", h);
    assert_line(t, line);
    snprintf(line, sizeof line, "%s_sum{route=\"(none)\",method=\"OTHER\"} 7", h);
    assert_line(t, line);
    free(t);
}

static void test_label_values_are_escaped(void **state)
{
    (void)state;
    metrics_observe_request("GET", 3, "/odd\"route\\with\nnewline", 200, 0.001);
    char *t = render();
    assert_non_null(strstr(t, "route=\"/odd\\\"route\\\\with\\nnewline\""));
    free(t);
}

/* A route given in a buffer that is then rewritten (same pointer, other bytes) is another
 * series: the "same as last time" shortcut compares the route's bytes, not its address. */
static void test_same_buffer_new_route_is_a_new_series(void **state)
{
    (void)state;
    char route[32];
    snprintf(route, sizeof route, "/api/a");
    metrics_observe_request("GET", 3, route, 200, 0.001);
    metrics_observe_request("GET", 3, route, 200, 0.001);
    snprintf(route, sizeof route, "/api/b");
    metrics_observe_request("GET", 3, route, 200, 0.001);
    metrics_observe_request("HEAD", 4, route, 200, 0.001); /* same route, other method */
    snprintf(route, sizeof route, "/api/a");
    metrics_observe_request("GET", 3, route, 404, 0.001); /* back to the first series */
    char *t = render();
    const char *total = "flightdeck_http_requests_total";
    char line[160];
    snprintf(line, sizeof line, "%s{route=\"/api/a\",method=\"GET\",status=\"200\"} 2", total);
    assert_line(t, line);
    snprintf(line, sizeof line, "%s{route=\"/api/a\",method=\"GET\",status=\"404\"} 1", total);
    assert_line(t, line);
    snprintf(line, sizeof line, "%s{route=\"/api/b\",method=\"GET\",status=\"200\"} 1", total);
    assert_line(t, line);
    snprintf(line, sizeof line, "%s{route=\"/api/b\",method=\"HEAD\",status=\"200\"} 1", total);
    assert_line(t, line);
    free(t);
}

/* ---- every line is valid exposition text ---- */

static int is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Check `text` the way a scraper parses it; every family has one TYPE before its samples. */
static void assert_well_formed(const char *text)
{
    char typed[64][128];
    int ntyped = 0;
    const char *line = text;
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = (size_t)(nl - line);
        char buf[1024];
        assert_true(len < sizeof buf);
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            char name[128], type[32];
            assert_int_equal(sscanf(buf + 7, "%127s %31s", name, type), 2);
            for (int i = 0; i < ntyped; i++)
                if (strcmp(typed[i], name) == 0)
                    fail_msg("family %s has two TYPE lines", name);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            assert_true(ntyped < 64);
            snprintf(typed[ntyped++], sizeof typed[0], "%s", name);
        } else if (strncmp(buf, "# HELP ", 7) == 0) {
            assert_true(len > 8);
        } else {
            size_t i = 0;
            assert_true(is_name_char(buf[0], 1));
            while (is_name_char(buf[i], 0))
                i++;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)i, buf);
            if (buf[i] == '{') {
                char *close = strrchr(buf, '}');
                assert_non_null(close);
                i = (size_t)(close - buf) + 1;
            }
            assert_int_equal(buf[i], ' ');
            char *end = NULL;
            errno = 0;
            const char *v = buf + i + 1;
            if (strcmp(v, "+Inf") != 0 && strcmp(v, "NaN") != 0) {
                strtod(v, &end);
                if (errno != 0 || end == v || *end != '\0')
                    fail_msg("bad value in '%s'", buf);
            }
            /* the sample belongs to a family declared before it */
            int found = 0;
            for (int k = 0; k < ntyped && !found; k++) {
                size_t fl = strlen(typed[k]);
                found = strncmp(name, typed[k], fl) == 0 &&
                        (name[fl] == '\0' || strcmp(name + fl, "_bucket") == 0 ||
                         strcmp(name + fl, "_sum") == 0 || strcmp(name + fl, "_count") == 0);
            }
            if (!found)
                fail_msg("sample '%s' before any TYPE of its family", buf);
        }
        line = nl + 1;
    }
}

static double fixed_value(void *arg)
{
    return *(double *)arg;
}

static void test_store_stats_and_registered_series(void **state)
{
    (void)state;
    fd_store *st = NULL;
    fd_problem p = {0};
    assert_int_equal(store_open(":memory:", &st, &p), FD_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_begin(st), FD_OK);
        assert_int_equal(store_commit(st), FD_OK);
    }
    fd_store_stats s;
    store_stats(st, &s);
    assert_int_equal(s.commits, 3);
    assert_int_equal(s.units, 3);

    static double depth = 7, ok = 12, failed = 2.5;
    metrics_set_sources(st, NULL, NULL);
    /* a family registered in two halves with something in between still renders as one */
    assert_int_equal(metrics_counter_fn("flightdeck_github_calls_total{outcome=\"ok\"}",
                                        "GitHub API calls by outcome.", fixed_value, &ok),
                     0);
    assert_int_equal(metrics_gauge_fn("flightdeck_webhook_queue_depth",
                                      "Webhook deliveries waiting.", fixed_value, &depth),
                     0);
    assert_int_equal(metrics_counter_fn("flightdeck_github_calls_total{outcome=\"error\"}",
                                        "GitHub API calls by outcome.", fixed_value, &failed),
                     0);
    /* names a scraper would choke on are refused */
    assert_int_equal(metrics_gauge_fn("1starts_with_digit", "x", fixed_value, &depth), -1);
    assert_int_equal(metrics_gauge_fn("has space", "x", fixed_value, &depth), -1);
    assert_int_equal(metrics_gauge_fn("", "x", fixed_value, &depth), -1);
    assert_int_equal(metrics_gauge_fn("open{label=\"x\"", "x", fixed_value, &depth), -1);
    assert_int_equal(metrics_gauge_fn("no_fn", "x", NULL, NULL), -1);

    char *t = render();
    assert_line(t, "flightdeck_store_commits_total 3");
    assert_line(t, "flightdeck_store_commit_batch_size_bucket{le=\"1\"} 3");
    assert_line(t, "flightdeck_store_commit_batch_size_count 3");
    assert_line(t, "flightdeck_store_commit_duration_seconds_count 3");
    assert_line(t, "flightdeck_webhook_queue_depth 7");
    assert_line(t, "# TYPE flightdeck_webhook_queue_depth gauge");
    assert_line(t, "# TYPE flightdeck_github_calls_total counter");
    assert_int_equal(count_of(t, "# TYPE flightdeck_github_calls_total"), 1);
    const char *fam = strstr(t, "# TYPE flightdeck_github_calls_total counter\n");
    assert_non_null(fam);
    assert_non_null(strstr(fam, "\nflightdeck_github_calls_total{outcome=\"ok\"} 12\n"
                                "flightdeck_github_calls_total{outcome=\"error\"} 2.5\n"));
    assert_well_formed(t);
    free(t);

    /* registering a name again replaces its function, no second series */
    static double depth2 = 9;
    assert_int_equal(metrics_gauge_fn("flightdeck_webhook_queue_depth", "Webhook deliveries.",
                                      fixed_value, &depth2),
                     0);
    metrics_observe_request("GET", 3, "/api/me", 200, 0.001);
    t = render();
    assert_line(t, "flightdeck_webhook_queue_depth 9");
    assert_int_equal(count_of(t, "\nflightdeck_webhook_queue_depth "), 1);
    assert_well_formed(t);
    free(t);
    metrics_set_sources(NULL, NULL, NULL);
    store_close(st);
}

/* ---- GET /metrics ---- */

static int scrape(const char *authorization, char **body, char **ctype)
{
    fake_conn *fc = fake_new("GET", "/metrics", NULL);
    if (authorization != NULL)
        fake_add_req_header(fc, "authorization", authorization);
    api_call c;
    memset(&c, 0, sizeof c);
    c.req = &fc->req;
    c.request_id = "test-1";
    metrics_handle(&c);
    assert_int_equal(fake_dechunk(fc), 0);
    int status = fc->req.res.status;
    if (body != NULL)
        *body = strdup(fc->body);
    if (ctype != NULL)
        *ctype = fake_res_header(fc, "content-type");
    fake_free(fc);
    return status;
}

static void test_scrape_public_and_with_token(void **state)
{
    (void)state;
    char *body = NULL, *ctype = NULL;
    fake_h2o_setup();
    metrics_observe_request("GET", 3, "/api/me", 200, 0.001);
    assert_int_equal(scrape(NULL, &body, &ctype), 200);
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(body, "flightdeck_http_requests_total{route=\"/api/me\""));
    assert_well_formed(body);
    free(body);
    free(ctype);

    metrics_set_token("scrape-secret-123");
    assert_int_equal(scrape(NULL, NULL, NULL), 401);
    assert_int_equal(scrape("Bearer wrong-secret-123", NULL, NULL), 401);
    assert_int_equal(scrape("Bearer scrape-secret-12", NULL, NULL), 401);
    assert_int_equal(scrape("Basic scrape-secret-123", NULL, NULL), 401);
    assert_int_equal(scrape("Bearer scrape-secret-123", &body, NULL), 200);
    /* the token itself never appears in what is scraped */
    assert_null(strstr(body, "scrape-secret"));
    free(body);
    metrics_set_token(NULL);
    fake_h2o_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_requests_by_route_method_and_status, reset),
        cmocka_unit_test_setup(test_label_values_are_escaped, reset),
        cmocka_unit_test_setup(test_same_buffer_new_route_is_a_new_series, reset),
        cmocka_unit_test_setup(test_store_stats_and_registered_series, reset),
        cmocka_unit_test_setup(test_scrape_public_and_with_token, reset),
    };
    return cmocka_run_group_tests(tests, NULL, reset);
}
