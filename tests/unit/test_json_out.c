/* test_json_out.c - core/json_out.c must write exactly what jansson writes: the audit chain's
 * hashes are computed over its output and verified by anyone with jansson (audit.h). Random
 * trees, hostile strings and the edge cases are compared byte for byte with json_dumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json_out.h"

#define JFLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Bytes that stress the string writer: every escape, multi-byte UTF-8 of each length, keys that
 * are prefixes of each other (the sort's tie-break). */
static size_t random_text(char *out, size_t cap)
{
    static const char *pieces[] = {
        "a",  "b",    "ab", "step", "\"",   "\\",           "/",   "\b",   "\f",       "\n",
        "\r", "\t",   "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9b\xab",
        " ",  "note", "=1+2", "\xe2\x80\xa8", "Z",   "0",
    };
    size_t len = 0, n = rnd(8);
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
        size_t k = strlen(p);
        if (len + k >= cap)
            break;
        memcpy(out + len, p, k);
        len += k;
    }
    out[len] = '\0';
    return len;
}

static json_t *random_tree(int depth)
{
    char text[96];
    switch (rnd(depth > 3 ? 6 : 9)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rnd(2));
    case 2: {
        static const json_int_t edge[] = {0, -1, 1, 9, 10, -10, INT64_MAX, INT64_MIN, 1763770342123};
        return json_integer(rnd(3) ? (json_int_t)rnd(1000000) - 500000
                                   : edge[rnd(sizeof edge / sizeof edge[0])]);
    }
    case 3:
    case 4:
        return json_stringn(text, random_text(text, sizeof text));
    case 5: {
        static const double reals[] = {0.5, -1.25, 1e300, 3.0, 0.1};
        return json_real(reals[rnd(5)]);
    }
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = rnd(5); i > 0; i--)
            json_array_append_new(a, random_tree(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = rnd(40); i > 0; i--) {
            size_t k = random_text(text, sizeof text);
            json_object_setn_new(o, text, k, random_tree(depth + 1));
        }
        return o;
    }
    }
}

static void assert_same(const json_t *v, int sort)
{
    char *want = json_dumps(v, JFLAGS | (sort ? JSON_SORT_KEYS : 0));
    char *got = json_out_dumps(v, sort ? JSON_OUT_SORT : 0);
    if (want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
    free(want);
    free(got);
}

static void random_trees_match_jansson(void **state)
{
    (void)state;
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_tree(0);
        assert_same(v, 1);
        assert_same(v, 0);
        json_decref(v);
    }
}

/* An audit-shaped event: the case that is hashed. */
static void audit_event_matches_jansson(void **state)
{
    (void)state;
    json_t *ev = json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:I,s:s,s:n,s:b},s:n,s:s,s:I,s:s}", "action",
                           "step.tick", "actor", "sub", "alice", "name", "Alice \"A\" Ångström",
                           "role", "engineer", "after", "id", (json_int_t)42, "status", "done",
                           "note", "critical", 1, "before", "prev_hash", "00ff", "seq",
                           (json_int_t)7, "target", "steps/42");
    assert_non_null(ev);
    assert_same(ev, 1);
    json_decref(ev);
}

static void edge_cases_match_jansson(void **state)
{
    (void)state;
    json_t *v = json_object();
    assert_same(v, 1);                      /* {} */
    json_object_setn_new(v, "a\0b", 3, json_integer(1)); /* a key holding NUL */
    json_object_setn_new(v, "a", 1, json_integer(2));
    json_object_setn_new(v, "", 0, json_array());
    json_object_setn_new(v, "\xc3\xa9", 2, json_string("\xf0\x9f\x9b\xab"));
    assert_same(v, 1);
    assert_same(v, 0);
    json_decref(v);
    v = json_stringn("nul\0inside", 10);
    assert_same(v, 0);
    json_decref(v);
    /* a big object sorts through qsort */
    v = json_object();
    for (int i = 0; i < 500; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", (i * 7919) % 1000);
        json_object_set_new(v, k, json_integer(i));
    }
    assert_same(v, 1);
    json_decref(v);
}

/* Whatever jansson can parse (it stops at 2048 levels), json_out writes as jansson does. */
static void deep_trees_match_jansson(void **state)
{
    (void)state;
    static const int depths[] = {1, 63, 64, 65, 300, 1000, 2000};
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        for (int obj = 0; obj < 2; obj++) {
            size_t n = (size_t)depths[d];
            char *text = malloc(n * 6 + 8), *p = text;
            for (size_t i = 0; i < n; i++)
                p += sprintf(p, obj ? "{\"k\":" : "[");
            p += sprintf(p, "1");
            for (size_t i = 0; i < n; i++)
                *p++ = obj ? '}' : ']';
            *p = '\0';
            json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
            assert_non_null(v);
            assert_same(v, 1);
            assert_same(v, 0);
            json_decref(v);
            free(text);
        }
    }
}

static void invalid_utf8_fails_and_leaves_buffer(void **state)
{
    (void)state;
    const char *bad[] = {"\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xffz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *a = json_array();
        json_array_append_new(a, json_stringn_nocheck(bad[i], strlen(bad[i])));
        assert_null(json_dumps(a, JFLAGS)); /* jansson refuses it too */
        fd_buf b = {0};
        assert_int_equal(fd_buf_append(&b, "keep", 4), 0);
        assert_int_equal(json_out_append(&b, a, JSON_OUT_SORT), -1);
        assert_int_equal(b.len, 4);
        assert_string_equal(b.data, "keep");
        fd_buf_free(&b);
        json_decref(a);
    }
}

static void cycle_fails(void **state)
{
    (void)state;
    json_t *a = json_array(), *b = json_object();
    json_object_set(b, "a", a);
    json_array_append(a, b); /* a cycle: jansson's dump refuses it, ours runs out of depth */
    assert_null(json_dumps(a, JFLAGS));
    assert_null(json_out_dumps(a, 0));
    assert_null(json_out_dumps(a, JSON_OUT_SORT));
    json_array_clear(a);
    json_decref(a);
    json_decref(b);
}

/* fd_i64_text and fd_u64_text (buf.h), which json_out, ETags, CSV and response heads share,
 * write what printf writes: the extremes, every power of ten either side, random values. */
static void int_text_matches_printf(void **state)
{
    (void)state;
    char mine[FD_INT_TEXT_MAX], theirs[32];
    int64_t edges[] = {0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1, INT64_MAX - 1};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        size_t n = fd_i64_text(mine, edges[i]);
        snprintf(theirs, sizeof theirs, "%lld", (long long)edges[i]);
        assert_string_equal(mine, theirs);
        assert_int_equal(n, strlen(theirs));
    }
    uint64_t p = 1;
    for (int k = 0; k < 20; k++, p *= 10) {
        uint64_t us[] = {p - 1, p, p + 1, UINT64_MAX - p};
        for (size_t i = 0; i < 4; i++) {
            size_t n = fd_u64_text(mine, us[i]);
            snprintf(theirs, sizeof theirs, "%llu", (unsigned long long)us[i]);
            assert_string_equal(mine, theirs);
            assert_int_equal(n, strlen(theirs));
            fd_i64_text(mine, -(int64_t)(us[i] >> 1));
            snprintf(theirs, sizeof theirs, "%lld", -(long long)(us[i] >> 1));
            assert_string_equal(mine, theirs);
        }
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t u = ((uint64_t)rnd(0xffffffffu) << 32 | rnd(0xffffffffu)) >> rnd(64);
        fd_u64_text(mine, u);
        snprintf(theirs, sizeof theirs, "%llu", (unsigned long long)u);
        assert_string_equal(mine, theirs);
        fd_i64_text(mine, (int64_t)u);
        snprintf(theirs, sizeof theirs, "%lld", (long long)(int64_t)u);
        assert_string_equal(mine, theirs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_trees_match_jansson),
        cmocka_unit_test(audit_event_matches_jansson),
        cmocka_unit_test(edge_cases_match_jansson),
        cmocka_unit_test(deep_trees_match_jansson),
        cmocka_unit_test(invalid_utf8_fails_and_leaves_buffer),
        cmocka_unit_test(cycle_fails),
        cmocka_unit_test(int_text_matches_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
