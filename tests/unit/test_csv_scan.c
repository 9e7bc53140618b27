/* test_csv_scan.c - core/csv_scan.c: the 32-byte path (AVX2, where the CPU has it) must give
 * exactly what the byte-at-a-time path gives, for any bytes: where a string or a bracketed value
 * ends, the flags, and the value's text with its quotes doubled. Random texts
 * made of the bytes that matter (quotes, backslashes, brackets, commas, line breaks) at every
 * position of a block, values ending at every offset of a block and near the text's end, and
 * escapes running over a block's edge. Each text is copied to a buffer of its exact size, so a
 * read past its end is caught by the sanitizers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/csv_scan.h"

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* A random text of n bytes, mostly letters, with the bytes the scans look for. */
static void random_bytes(unsigned char *out, size_t n)
{
    static const char awkward[] = "\"\\{}[],\r\n:x";
    for (size_t i = 0; i < n; i++)
        out[i] = rnd(4) == 0 ? (unsigned char)awkward[rnd(sizeof awkward - 1)]
                             : (unsigned char)('a' + rnd(26));
}

/* One scan's results at one level. */
typedef struct result {
    const unsigned char *end; /* the string's or value's end, or NULL */
    unsigned flags;
    size_t out_len; /* the doubled text (containers only) */
    char out[4096];
} result;

/* The three scans of the text (n bytes, already in a buffer of exactly n bytes) from its first
 * byte, at the current level. */
static void scan_all(const unsigned char *text, size_t n, result *str, result *skip, result *box)
{
    csv_text t = {text, text + n};
    memset(str, 0, sizeof *str);
    memset(skip, 0, sizeof *skip);
    memset(box, 0, sizeof *box);
    if (text[0] == '"') {
        str->end = csv_string_end(&t, text, &str->flags);
        skip->end = csv_string_skip(&t, text, &skip->flags);
    }
    if (text[0] == '{' || text[0] == '[') {
        char *o = box->out;
        box->end = csv_container_end(&t, text, &o);
        box->out_len = box->end != NULL ? (size_t)(o - box->out) : 0;
        /* and without writing */
        const unsigned char *e = csv_container_end(&t, text, NULL);
        assert_ptr_equal(e, box->end);
    }
}

static void same_results(const result *a, const result *b, int strings_flags)
{
    assert_ptr_equal(a->end, b->end);
    if (strings_flags)
        assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->out_len, b->out_len);
    assert_memory_equal(a->out, b->out, a->out_len);
}

/* The text through every level against level 0. */
static void check_text(const unsigned char *bytes, size_t n)
{
    unsigned char *text = malloc(n); /* exactly n: a read past the end is an ASan error */
    memcpy(text, bytes, n);
    static result ref[3], got[3]; /* string, skip, container */
    int top = csv_scan_level(1);
    csv_scan_level(0);
    scan_all(text, n, &ref[0], &ref[1], &ref[2]);
    for (int level = 1; level <= top; level++) {
        assert_int_equal(csv_scan_level(level), level);
        scan_all(text, n, &got[0], &got[1], &got[2]);
        same_results(&ref[0], &got[0], 1);
        assert_ptr_equal(ref[1].end, got[1].end);
        /* csv_string_skip may leave CSV_SPECIAL out, never CSV_ESCAPE */
        assert_int_equal(ref[1].flags & CSV_ESCAPE, got[1].flags & CSV_ESCAPE);
        same_results(&ref[2], &got[2], 0);
    }
    /* the doubled text is the value's text with its quotes doubled */
    if (ref[2].end != NULL) {
        char doubled[4096];
        size_t len =
            (size_t)(csv_put_doubled(doubled, text, (size_t)(ref[2].end - text)) - doubled);
        assert_int_equal(len, ref[2].out_len);
        assert_memory_equal(doubled, ref[2].out, len);
    }
    csv_scan_level(1);
    free(text);
}

/* Random texts starting with a quote or a bracket, of every length up to 300. */
static void random_texts_agree(void **state)
{
    (void)state;
    unsigned char buf[400];
    for (int i = 0; i < 20000; i++) {
        size_t n = 1 + rnd(300);
        random_bytes(buf, n);
        buf[0] = (unsigned char)"\"{["[rnd(3)];
        check_text(buf, n);
    }
}

/* JSON-like values whose closing bracket falls at every offset of a block, with quotes before
 * it at every spacing, brackets inside strings, and an escape (\" or \\) at every position,
 * running over a block's edge; the value at the text's end and with bytes after it. */
static void values_end_at_every_offset(void **state)
{
    (void)state;
    char buf[512];
    for (int pad = 0; pad < 100; pad++) {
        for (int variant = 0; variant < 6; variant++) {
            char s[128];
            for (int i = 0; i < pad; i++)
                s[i] = (char)('a' + i % 26);
            s[pad] = '\0';
            /* the value's text around the padding s */
            static const char *const before[] = {"{\"k\":\"", "[\"", "{\"",
                                                 "{\"k\":\"", "[\"", "{\"a\":[[[\""};
            static const char *const after[] = {
                "\"}",          "\",{\"a\":[1,\"]}\"]}]", "\":{\"b\":null}}",
                "\\\"}\\\\\"}", "\\\\\",\"\\\"[\"]",      "\"]]],\"c\":\"{\"}"};
            int n = snprintf(buf, sizeof buf, "%s%s%s", before[variant], s, after[variant]);
            check_text((const unsigned char *)buf, (size_t)n); /* at the end */
            n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"tail\":\"%s\"}", s);
            check_text((const unsigned char *)buf, (size_t)n);         /* bytes after it */
            check_text((const unsigned char *)buf, (size_t)(n - pad)); /* cut short */
        }
    }
    /* strings: the closing quote at every offset, with an escape just before a block's edge */
    for (int pad = 0; pad < 100; pad++) {
        for (int esc = -1; esc < pad; esc++) {
            int n = 0;
            buf[n++] = '"';
            for (int i = 0; i < pad; i++)
                buf[n++] = i == esc ? '\\' : (char)(i % 9 == 4 ? ',' : 'a' + i % 26);
            buf[n++] = '"';
            check_text((const unsigned char *)buf, (size_t)n);
            memcpy(buf + n, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40);
            check_text((const unsigned char *)buf, (size_t)n + 40);
        }
    }
}

/* csv_has_special at every length and position of the special byte. */
static void has_special_at_every_position(void **state)
{
    (void)state;
    int top = csv_scan_level(1);
    for (int level = 0; level <= top; level++) {
        csv_scan_level(level);
        for (size_t n = 0; n < 100; n++) {
            unsigned char *b = malloc(n + 1);
            memset(b, 'a', n);
            assert_int_equal(csv_has_special(b, n), 0);
            for (size_t i = 0; i < n; i++) {
                for (const char *c = "\",\r\n\\"; *c; c++) {
                    b[i] = (unsigned char)*c;
                    assert_int_equal(csv_has_special(b, n), 1);
                }
                b[i] = 'a';
            }
            free(b);
        }
    }
    csv_scan_level(1);
}

int main(void)
{
    printf("csv_scan: levels up to %d on this CPU\n", csv_scan_level(1));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_texts_agree),
        cmocka_unit_test(values_end_at_every_offset),
        cmocka_unit_test(has_special_at_every_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
