/*
 * test_openapi.c - schema/openapi.yaml and the route tables describe the same API.
 *
 * Every (method, path) in api_routes[] (api/routes.c) and server_routes[] (server/routes.c) must
 * be an operation of the spec, and every operation of the spec must be served. The spec checked
 * is the one embedded in the binary (what GET /api/openapi.yaml serves).
 *
 * The parser reads only the `paths:` section, line by line: path keys at 2 spaces of indent,
 * operation keys (get, post, ...) at 4. That is the layout the spec keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

extern const char *const fd_openapi_texts[];
extern const api_route server_routes[];

#define MAX_OPS 256

typedef struct spec_op {
    char method[8];
    char path[160];
} spec_op;

static const char *const methods[] = {"get",  "put",     "post",  "delete", "patch",
                                      "head", "options", "trace", NULL};

static size_t indent_of(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && line[i] == ' ')
        i++;
    return i;
}

/* Parse the operations of `text`'s paths section into ops; returns their count, -1 on overflow. */
static int parse_paths(const char *text, spec_op *ops, int max)
{
    int n = 0, in_paths = 0;
    char path[160] = "";
    const char *line = text;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        size_t ind = indent_of(line, len);
        int blank = ind == len || line[ind] == '#';

        if (!blank && ind == 0) {
            in_paths = len >= 6 && strncmp(line, "paths:", 6) == 0;
            path[0] = '\0';
        } else if (in_paths && !blank && ind == 2) {
            /* "  /api/teams/{team}:" or quoted "  '/x':" */
            const char *s = line + ind;
            size_t k = len - ind;
            while (k > 0 && (s[k - 1] == ':' || s[k - 1] == ' ' || s[k - 1] == '\r'))
                k--;
            if (k > 0 && (s[0] == '"' || s[0] == '\'')) {
                s++;
                k -= 2;
            }
            snprintf(path, sizeof path, "%.*s", (int)k, s);
        } else if (in_paths && !blank && ind == 4 && path[0] == '/') {
            for (int m = 0; methods[m] != NULL; m++) {
                size_t ml = strlen(methods[m]);
                if (len >= ind + ml + 1 && strncmp(line + ind, methods[m], ml) == 0 &&
                    line[ind + ml] == ':') {
                    if (n == max)
                        return -1;
                    for (size_t i = 0; i <= ml; i++)
                        ops[n].method[i] = (char)toupper((unsigned char)methods[m][i]);
                    snprintf(ops[n].path, sizeof ops[n].path, "%s", path);
                    n++;
                }
            }
        }
        line = nl != NULL ? nl + 1 : line + len;
    }
    return n;
}

static int spec_has(const spec_op *ops, int n, const char *method, const char *path)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ops[i].method, method) == 0 && strcmp(ops[i].path, path) == 0)
            return 1;
    return 0;
}

static int table_has(const api_route *t, const char *method, const char *path)
{
    for (int i = 0; t[i].method != NULL; i++)
        if (strcmp(t[i].method, method) == 0 && strcmp(t[i].pattern, path) == 0)
            return 1;
    return 0;
}

/* The parser itself finds what it should, and nothing under components. */
static void test_parser_reads_operations(void **state)
{
    (void)state;
    const char *sample = "openapi: 3.1.0\n"
                         "paths:\n"
                         "  /a/{x}:\n"
                         "    parameters:\n"
                         "      - name: x\n"
                         "    get:\n"
                         "      summary: get: not an op\n"
                         "    delete:\n"
                         "\n"
                         "  \"/b\":\n"
                         "    post:\n"
                         "components:\n"
                         "  /c:\n"
                         "    get:\n";
    spec_op ops[8];
    int n = parse_paths(sample, ops, 8);
    assert_int_equal(n, 3);
    assert_true(spec_has(ops, n, "GET", "/a/{x}"));
    assert_true(spec_has(ops, n, "DELETE", "/a/{x}"));
    assert_true(spec_has(ops, n, "POST", "/b"));
    assert_false(spec_has(ops, n, "GET", "/c"));
}

static void test_every_route_is_in_the_spec(void **state)
{
    (void)state;
    static spec_op ops[MAX_OPS];
    int n = parse_paths(fd_openapi_texts[0], ops, MAX_OPS);
    assert_true(n > 0);
    int missing = 0;
    const api_route *tables[] = {api_routes, server_routes};
    for (int t = 0; t < 2; t++) {
        for (int i = 0; tables[t][i].method != NULL; i++) {
            if (!spec_has(ops, n, tables[t][i].method, tables[t][i].pattern)) {
                fprintf(stderr, "not in schema/openapi.yaml: %s %s\n", tables[t][i].method,
                        tables[t][i].pattern);
                missing++;
            }
        }
    }
    assert_int_equal(missing, 0);
}

static void test_every_spec_operation_is_served(void **state)
{
    (void)state;
    static spec_op ops[MAX_OPS];
    int n = parse_paths(fd_openapi_texts[0], ops, MAX_OPS);
    assert_true(n > 0);
    int unserved = 0;
    for (int i = 0; i < n; i++) {
        if (!table_has(api_routes, ops[i].method, ops[i].path) &&
            !table_has(server_routes, ops[i].method, ops[i].path)) {
            fprintf(stderr, "in the spec but not routed: %s %s\n", ops[i].method, ops[i].path);
            unserved++;
        }
    }
    assert_int_equal(unserved, 0);
}

/* Two routes for one (method, pattern) would make one of them dead code. */
static void test_no_route_twice(void **state)
{
    (void)state;
    const api_route *tables[] = {api_routes, server_routes};
    int dups = 0;
    for (int a = 0; a < 2; a++)
        for (int i = 0; tables[a][i].method != NULL; i++)
            for (int b = a; b < 2; b++)
                for (int j = (b == a ? i + 1 : 0); tables[b][j].method != NULL; j++)
                    if (strcmp(tables[a][i].method, tables[b][j].method) == 0 &&
                        strcmp(tables[a][i].pattern, tables[b][j].pattern) == 0) {
                        fprintf(stderr, "routed twice: %s %s\n", tables[a][i].method,
                                tables[a][i].pattern);
                        dups++;
                    }
    assert_int_equal(dups, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_reads_operations),
        cmocka_unit_test(test_every_route_is_in_the_spec),
        cmocka_unit_test(test_every_spec_operation_is_served),
        cmocka_unit_test(test_no_route_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
