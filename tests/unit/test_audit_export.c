/*
 * test_audit_export.c - the fast paths of the audit export.
 *
 * The CSV row writer (core/audit_csv.c): the scanner that slices cells out of the stored event
 * text writes exactly the bytes of the jansson path it replaced, on events core really writes
 * (quotes, commas, line breaks, unicode, formula prefixes, null before/after) and on thousands of
 * random canonical events, without ever falling back to it; texts it cannot follow go the jansson
 * way (the same bytes); texts it follows but that are not canonical (a row tampered with in the
 * database) still give well-formed CSV.
 *
 * The export of one migration (core/audit.c) switches between the audit_migration index and a
 * walk of the log in seq order as the migration's events get dense or sparse: whatever it does,
 * it exports exactly the migration's events, in order, once.
 */
#include "core_fixture.h"

#include <stdlib.h>

#include "core/audit_csv.h"
#include "core/csv_scan.h"
#include "core/flight.h"
#include "core/store_sqlite.h"

/* Both writers on one row: same return code, same bytes. Returns the fast path's return. */
static int same_row(const char *event, size_t len, int64_t seq)
{
    /* SQLite hands the text with a NUL after it; so does this copy */
    char *text = malloc(len + 1);
    memcpy(text, event, len);
    text[len] = '\0';
    store_audit_row row = {
        .seq = seq,
        .migration = "msk",
        .action = "step.tick",
        .prev_hash = "0000000000000000000000000000000000000000000000000000000000000000",
        .hash = "d1c5f6b0e2a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d",
        .event = text,
        .len = len};
    fd_buf fast = {0}, tree = {0};
    fd_buf_puts(&fast, "x"); /* rows are appended to what the chunk holds */
    fd_buf_puts(&tree, "x");
    int rf = audit_csv_row(&fast, &row);
    int rt = audit_csv_row_tree(&tree, &row);
    assert_int_equal(rf, rt);
    if (fast.len != tree.len || memcmp(fast.data, tree.data, fast.len) != 0)
        fail_msg("rows differ for %s\nfast: %s\ntree: %s", text, fast.data, tree.data);
    assert_int_equal(fast.data[fast.len], '\0');
    fd_buf_free(&fast);
    fd_buf_free(&tree);
    free(text);
    return rf;
}

static int same_row_str(const char *event)
{
    return same_row(event, strlen(event), 7);
}

/* A canonical event around `before`/`after` (stolen, NULL for JSON null) and `note`. */
static char *canonical_event(const char *note, json_t *before, json_t *after, const char *name)
{
    json_t *ev = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:s, s:o, s:s, s:s, s:s?, s:s, s:s, s:I, s:s, s:s}",
        "action", "step.tick", "actor", "name", name, "role", "engineer", "sub", "alice", "after",
        after ? after : json_null(), "at", "2026-03-10T19:00:00.002Z", "before",
        before ? before : json_null(), "hash", "ab", "migration", "msk", "note", note, "prev_hash",
        "cd", "request_id", "req-1", "seq", (json_int_t)7, "source", "web", "target", "steps/3");
    assert_non_null(ev);
    char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ev);
    return text;
}

static void collect(void *arg, int64_t seq, const char *migration, const char *action,
                    const char *json, size_t len)
{
    (void)seq, (void)migration, (void)action;
    json_array_append_new(arg, json_stringn(json, len));
}

/* ---- tests ---- */

/* The events core writes, with every awkward character a note or a name may carry. */
static void core_events_are_identical(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fix_team(f, "data-stream", "Data \"Stream\", Inc.");
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan =
        fix_json("{\"id\":\"msk\",\"title\":\"=cmd|' /C calc'!A0\",\"owner_team\":"
                 "\"data-stream\",\"description\":\"line one\\nline two, with \\\"quotes\\\""
                 "\\r\\n\\ttab\",\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\","
                 "\"steps\":[{\"title\":\"Ünïcödé ✈ 🛫 step\"},{\"title\":\"+SUM(A1)\"},"
                 "{\"title\":\"-1\"},{\"title\":\"@import\"}]}]}");
    json_t *m = NULL;
    if (flight_create(f->st, &ctx, plan, &m) != FD_OK)
        fail_msg("create: %s", ctx.problem.detail);
    json_decref(plan);
    json_t *steps = json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps");
    assert_int_equal(flight_start_override(f->st, &ctx, "msk", "test", &plan), FD_OK);
    json_decref(plan);
    const char *notes[] = {"=HYPERLINK(\"http://evil\")",
                           "comma, and \"quote\"",
                           "two\nlines",
                           "\tstarts with a tab",
                           "\rstarts with CR",
                           "émoji 🚀 and ü",
                           "-5",
                           "@me",
                           "+1",
                           "back\\slash",
                           "nul-free \x01 control",
                           NULL};
    fd_ctx_init(&ctx, &f->alice, NULL);
    for (size_t i = 0; notes[i] != NULL || i < 1; i++) {
        int64_t sid = json_integer_value(json_object_get(json_array_get(steps, i % 4), "id"));
        json_t *out = NULL;
        fd_err e = flight_step_action(f->st, &ctx, "msk", sid, FD_STEP_TICK, notes[i], &out);
        json_decref(out);
        fd_problem_clear(&ctx.problem);
        if (e == FD_OK) {
            e = flight_step_action(f->st, &ctx, "msk", sid, FD_STEP_UNTICK, notes[i], &out);
            json_decref(out);
            fd_problem_clear(&ctx.problem);
        }
        if (notes[i] == NULL)
            break;
    }
    json_decref(m);

    /* every stored event, through both writers, none the jansson way (a control character in a
     * note is a \u00XX escape: decoded too) */
    json_t *texts = json_array();
    int n = 0;
    assert_int_equal(audit_each_after(f->st, NULL, 0, 10000, collect, texts, &n), FD_OK);
    assert_true(n >= 20);
    size_t i;
    json_t *t;
    int escaped = 0;
    json_array_foreach(texts, i, t)
    {
        unsigned long fb = audit_csv_fallbacks();
        assert_int_equal(same_row(json_string_value(t), json_string_length(t), (int64_t)i + 1), 0);
        escaped += strstr(json_string_value(t), "\\u") != NULL;
        assert_int_equal(audit_csv_fallbacks() - fb, 0);
    }
    assert_true(escaped >= 1); /* the note with a control character */
    json_decref(texts);
    fix_close(f);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A random string of awkward characters (valid UTF-8; no NUL: jansson refuses \u0000). */
static json_t *random_string(void)
{
    static const char *const pieces[] = {"a",    "Z",    " ", ",", "\"", "\\", "\n", "\r",   "\t",
                                         "=",    "+",    "-", "@", "/",  "é",  "✈",  "🛫", "\x01",
                                         "\x1f", "\x7f", "'", "{", "}",  "[",  "]",  ":"};
    char buf[128] = "";
    int len = (int)(next_rand() % 12);
    for (int i = 0; i < len; i++)
        strcat(buf, pieces[next_rand() % (sizeof pieces / sizeof pieces[0])]);
    return json_string(buf);
}

/* A random object key: keys with escapes go the jansson way (unusual_texts covers them). */
static json_t *random_key(void)
{
    static const char *const pieces[] = {"a", "Z", " ", ",", "=", "-", "/", "é", "✈", "🛫", "_"};
    char buf[64] = "";
    int len = (int)(next_rand() % 6);
    for (int i = 0; i < len; i++)
        strcat(buf, pieces[next_rand() % (sizeof pieces / sizeof pieces[0])]);
    return json_string(buf);
}

/* A random value as a migration document part might be (depth-limited). */
static json_t *random_value(int depth)
{
    switch (next_rand() % (depth > 2 ? 5 : 7)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(next_rand() % 2);
    case 2:
        return json_integer((json_int_t)(next_rand() % 2000) - 1000);
    case 3:
    case 4:
        return random_string();
    case 5: {
        json_t *o = json_object();
        int n = (int)(next_rand() % 5);
        for (int i = 0; i < n; i++) {
            json_t *k = random_key();
            json_object_set_new(o, json_string_value(k), random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        int n = (int)(next_rand() % 4);
        for (int i = 0; i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

/* Thousands of canonical events with random notes, names and before/after: identical rows. */
static void random_canonical_events_are_identical(void **state)
{
    (void)state;
    int escaped = 0;
    for (int i = 0; i < 3000; i++) {
        json_t *note = random_string(), *name = random_string();
        json_t *before = next_rand() % 4 == 0 ? NULL : random_value(0);
        json_t *after = next_rand() % 4 == 0 ? NULL : random_value(0);
        char *ev = canonical_event(next_rand() % 5 == 0 ? NULL : json_string_value(note), before,
                                   after, json_string_value(name));
        unsigned long fb = audit_csv_fallbacks();
        assert_int_equal(same_row_str(ev), 0);
        if (audit_csv_fallbacks() != fb)
            fail_msg("went the jansson way: %s", ev);
        escaped += strstr(ev, "\\u") != NULL;
        free(ev);
        json_decref(note);
        json_decref(name);
    }
    assert_true(escaped > 300); /* control characters (\u00XX) were tried, often */
}

/* Texts the scanner cannot follow: they go the jansson way, so the same bytes (or the same
 * failure). */
static void texts_it_cannot_follow_fall_back(void **state)
{
    (void)state;
    static const char *const texts[] = {
        /* whitespace between top-level tokens */
        "{ \"action\": \"x\", \"before\": {\"b\": 1, \"a\": 2} }",
        "{\"note\" :\"a\"}",
        "{\"note\": \"a\"}",
        /* escapes in a string cell it does not decode, escaped top-level keys */
        "{\"note\":\"\\u0041\\u00e9 \\/ \\ud83d\\ude80\"}",
        "{\"note\":\"\\x\"}",
        "{\"n\\u006fte\":\"escaped key\"}",
        "{\"actor\":{\"s\\u0075b\":\"alice\"}}",
        /* not an object, cut short, unbalanced, trailing bytes */
        "[1,2,3]",
        "",
        "{",
        "{\"note\":\"unterminated}",
        "{\"note\":\"a\"} trailing",
        "not json",
        "{\"note\":\"a\",}",
        "{\"note\" \"a\"}",
        "{\"after\":nul",
        "{\"after\":{\"a\":[1,2}",
        "{\"after\":{\"a\":\"}\"}",
        "{\"after\":\"\\\"}",
        "{\"after\":,\"note\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        unsigned long fb = audit_csv_fallbacks();
        same_row_str(texts[i]);
        if (audit_csv_fallbacks() - fb != 1)
            fail_msg("taken by the fast path: %s", texts[i]);
    }
}

/* Valid shapes an event does not usually have, and escapes jansson reads but does not write in
 * string cells: the fast path takes them, with the reference's bytes. */
static void odd_shapes_are_identical(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}",
        "{\"actor\":\"alice\",\"note\":42,\"before\":\"=text\",\"after\":[]}",
        "{\"actor\":{},\"before\":-12,\"after\":{}}",
        "{\"actor\":null,\"before\":true,\"after\":[1,2,3]}",
        "{\"extra\":{\"deep\":[[[[{\"x\":[true,false,null]}]]]]},\"note\":\"n\"}",
        "{\"note\":\"\\u0041\\u001f\\/\\t\",\"target\":\"\\u003d1\"}",
        /* duplicate keys: the last one wins, in both */
        "{\"note\":\"first\",\"note\":\"second\",\"actor\":{\"sub\":\"a\"},\"actor\":null}",
        "{\"note\":\"first\",\"note\":7}",
        /* strings with brackets, escaped quotes and backslashes inside before/after */
        "{\"after\":{\"a\":\"}]\\\\\",\"b\":[\"\\\"{\",\"x\\\\\\\"]\"]},\"before\":[\"]\"]}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        unsigned long fb = audit_csv_fallbacks();
        assert_int_equal(same_row_str(texts[i]), 0);
        if (audit_csv_fallbacks() != fb)
            fail_msg("went the jansson way: %s", texts[i]);
    }
    /* deep nesting */
    char deep[400] = "{\"after\":";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    for (int i = 0; i < 100; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(same_row_str(deep), 0);
}

/* ---- a small RFC 4180 reader, to check that the CSV stays well-formed ---- */

/* Reads the records of s (len bytes): each must end in CRLF and have `fields` fields, quoted
 * fields must close, a quote inside one must be doubled, an unquoted one holds no quote, CR or
 * LF, and no field may start like a formula (= + - @ TAB CR). Returns the number of records;
 * fails the test otherwise. cells[i] (when not NULL) gets the unquoted fields of the first
 * record, malloc'd. */
static int csv_records(const char *s, size_t len, int fields, char **cells)
{
    size_t i = 0;
    int records = 0;
    while (i < len) {
        for (int f = 0; f < fields; f++) {
            char *cell = malloc(2 * len + 1);
            size_t n = 0;
            if (s[i] == '"') {
                for (i++;; i++) {
                    if (i >= len)
                        fail_msg("unterminated quoted field in record %d", records);
                    if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                        cell[n++] = s[i++];
                    else if (s[i] == '"')
                        break;
                    else
                        cell[n++] = s[i];
                }
                i++;
            } else {
                for (; i < len && s[i] != ',' && s[i] != '\r'; i++) {
                    if (s[i] == '"' || s[i] == '\n')
                        fail_msg("a quote or LF in an unquoted field of record %d", records);
                    cell[n++] = s[i];
                }
            }
            cell[n] = '\0';
            if (n > 0 && strchr("=+-@\t\r", cell[0]) != NULL)
                fail_msg("field %d of record %d starts a formula: %s", f, records, cell);
            if (records == 0 && cells != NULL)
                cells[f] = cell;
            else
                free(cell);
            const char *sep = f == fields - 1 ? "\r\n" : ",";
            if (i + strlen(sep) > len || memcmp(s + i, sep, strlen(sep)) != 0)
                fail_msg("record %d: field %d not followed by \"%s\"", records, f,
                         f == fields - 1 ? "CRLF" : ",");
            i += strlen(sep);
        }
        records++;
    }
    return records;
}

/* Texts the scanner follows although they are not canonical (what a row tampered with in the
 * database may hold): the fast path shows them as stored, and the row is still one record of 15
 * well-formed fields. */
static const char *const tampered_texts[] = {
    /* unsorted or duplicate keys, numbers jansson writes differently or refuses */
    "{\"action\":\"x\",\"before\":{\"b\":1,\"a\":2}}",
    "{\"after\":{\"a\":1,\"a\":2}}",
    "{\"after\":{\"abcdefghijklmnopqrstu\":1,\"abcdefghijklmnopqrst\":2}}",
    "{\"after\":{\"n\":1.50},\"before\":1e3}",
    "{\"after\":-0,\"before\":{\"n\":123456789012345678901234567890}}",
    "{\"after\":{\"n\":01},\"before\":tru}",
    /* escapes jansson does not write, in before/after */
    "{\"action\":\"x\",\"after\":{\"a\":\"\\u00e9\\/\"}}",
    "{\"after\":{\"a\\\"b\":1,\"a\\nb\":2}}",
    /* whitespace, raw line breaks and commas inside before/after */
    "{\"after\":{ \"a\" : [ 1 , 2 ] },\"before\":[1,\r\n2]}",
    "{\"after\":[1\n],\"before\":[\r]}",
    "{\"after\":{\"a\":\"raw\nline\"},\"note\":\"raw\r\nline, \\\"q\\\"\"}",
    /* values that start like formulas, or are not JSON at all */
    "{\"after\":+1,\"before\":-x,\"note\":\"@x\"}",
    "{\"after\":[=1],\"before\":{=}}",
    "{\"after\":{\"\":\"\\\"\"},\"before\":[\"\\\\\"]}",
    /* bytes that are not UTF-8, control characters */
    "{\"note\":\"bad utf-8 \xc3\x28\",\"after\":\"\xff\"}",
    "{\"note\":\"overlong \xc0\xaf\",\"target\":\"surrogate \xed\xa0\x80\"}",
    "{\"note\":\"raw\ttab\",\"source\":\"\x01\"}",
    "{\"actor\":{\"sub\":\"a,b\",\"sub\":\"\\\"\",\"name\":[1,2]}}",
};

static void tampered_texts_give_well_formed_csv(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof tampered_texts / sizeof tampered_texts[0]; i++) {
        const char *text = tampered_texts[i];
        size_t len = strlen(text);
        char *copy = malloc(len + 1);
        memcpy(copy, text, len + 1);
        store_audit_row row = {.seq = 9, .prev_hash = "p", .hash = "h", .event = copy, .len = len};
        fd_buf b = {0};
        unsigned long fb = audit_csv_fallbacks();
        assert_int_equal(audit_csv_row(&b, &row), 0);
        if (audit_csv_fallbacks() != fb)
            fail_msg("went the jansson way: %s", text);
        assert_int_equal(csv_records(b.data, b.len, 15, NULL), 1);
        fd_buf_free(&b);
        free(copy);
    }
    /* a NUL inside the text, before its length ends */
    store_audit_row row = {
        .seq = 9, .prev_hash = "p", .hash = "h", .event = "{\"note\":\"a\0b\"}", .len = 14};
    fd_buf b = {0};
    assert_int_equal(audit_csv_row(&b, &row), 0);
    assert_int_equal(csv_records(b.data, b.len, 15, NULL), 1);
    fd_buf_free(&b);
}

/* Canonical events take the fast path (the point of it); the header-less row is RFC 4180. */
static void canonical_event_takes_the_fast_path(void **state)
{
    (void)state;
    char *ev = canonical_event("a note, \"quoted\"", json_pack("{s:s}", "status", "pending"),
                               json_pack("{s:s,s:i}", "status", "done", "version", 3), "Alice");
    unsigned long fb = audit_csv_fallbacks();
    store_audit_row row = {
        .seq = 42, .prev_hash = "p", .hash = "h", .event = ev, .len = strlen(ev)};
    fd_buf b = {0};
    assert_int_equal(audit_csv_row(&b, &row), 0);
    assert_int_equal(audit_csv_fallbacks(), fb);
    assert_string_equal(b.data, "42,2026-03-10T19:00:00.002Z,msk,alice,Alice,engineer,web,"
                                "step.tick,steps/3,\"a note, \"\"quoted\"\"\",req-1,"
                                "\"{\"\"status\"\":\"\"pending\"\"}\","
                                "\"{\"\"status\"\":\"\"done\"\",\"\"version\"\":3}\",p,h\r\n");
    fd_buf_free(&b);
    free(ev);
}

/* A string of n bytes: letters, with a quote (escaped in JSON) at every position i where
 * (i + shift) % 7 == 0 when `quotes` is set. */
static void pattern(char *out, int n, int shift, int quotes)
{
    for (int i = 0; i < n; i++)
        out[i] = quotes && (i + shift) % 7 == 0 ? '"' : (char)('a' + (i + shift) % 26);
    out[n] = '\0';
}

/* The fast paths look at 16-byte blocks: strings and keys of every length around and across a
 * block, with quotes anywhere, long keys sharing long prefixes, cells of every short length.
 * All canonical: the bytes must be identical and no row may go the jansson way. */
static void block_boundaries_are_identical(void **state)
{
    (void)state;
    char s[128], kq[128], k1[64], k2[64];
    for (int n = 0; n <= 70; n++) {
        for (int shift = 0; shift < 3; shift++) {
            pattern(s, n, shift, shift != 0);
            pattern(kq, n, shift, 0); /* keys with escapes go the jansson way: none here */
            /* keys that share the first n bytes (up to 40) and differ after */
            int kn = n < 40 ? n : 40;
            pattern(k1, kn, 0, 0);
            strcat(k1, "_x");
            pattern(k2, kn, 0, 0);
            strcat(k2, "_y");
            json_t *before = json_pack("{s:s, s:s, s:i, s:n}", k1, s, k2, s, "z", n, kq);
            json_t *after = json_pack("{s:[s,i,s], s:{s:s}}", kq, s, -n, "", "q", kq, s);
            char *ev = canonical_event(s, before, after, s);
            unsigned long fb = audit_csv_fallbacks();
            assert_int_equal(same_row_str(ev), 0);
            if (audit_csv_fallbacks() != fb)
                fail_msg("went the jansson way: %s", ev);
            free(ev);
            /* the value last in the text, its end within the text's last bytes */
            char text[512];
            json_t *js = json_string(s);
            char *esc = json_dumps(js, JSON_ENCODE_ANY);
            json_decref(js);
            snprintf(text, sizeof text, "{\"after\":{\"%s\":%s},\"before\":%s}", k1, esc, esc);
            same_row_str(text);
            snprintf(text, sizeof text, "{\"note\":%s}", esc);
            same_row_str(text);
            free(esc);
        }
    }
}

/* Events shaped as the export usually sees them (a step before and after a tick: ~1.3 KB, ~45
 * keys, a nested object, ~150 quotes), with a text of every length from 0 to 160 holding quotes,
 * backslashes, commas and brackets: before/after end at every offset of a 32-byte block, and
 * escapes fall on every block edge. */
static void step_shaped_events_are_identical(void **state)
{
    (void)state;
    for (int n = 0; n <= 160; n++) {
        char text[200];
        for (int i = 0; i < n; i++)
            text[i] = "ab\"c\\d,e]f{g h"[(i * 7 + n) % 15];
        text[n] = '\0';
        json_t *by = json_pack("{s:s,s:s}", "name", "Bench bench-engineer", "sub", text);
        json_t *before = json_pack(
            "{s:s,s:o,s:n,s:n,s:n,s:n,s:b,s:s,s:i,s:i,s:n,s:s,s:s,s:s,s:i,s:s,s:s,s:n,s:s,s:n,s:i}",
            "at", "2026-03-10T19:00:00.995Z", "by", by, "command", "confirm_note",
            "confirmed_at", "confirmed_by", "critical", 0, "details", text, "expected_minutes", 5,
            "id", 96, "link", "migration", "bench-audit", "note", "bench tick", "owner_team",
            "data-stream", "position", 96, "stage", "takeoff", "status", "done", "switch", "title",
            text, "verifies", "version", 11);
        json_t *after = json_pack("{s:n,s:n,s:s,s:s,s:i,s:s,s:i}", "at", "by", "details", text,
                                  "status", "pending", "version", 12, "title", "Benchmark step",
                                  "id", n);
        char *ev = canonical_event(n % 3 ? NULL : text, before, after, text);
        unsigned long fb = audit_csv_fallbacks();
        assert_int_equal(same_row_str(ev), 0);
        if (audit_csv_fallbacks() != fb)
            fail_msg("went the jansson way: %s", ev);
        free(ev);
    }
}

/* Rows are appended to a chunk one after another, and the writer uses room past the row while
 * it works: many random rows in one buffer are the same bytes as the reference's rows. */
static void rows_appended_to_one_buffer_are_identical(void **state)
{
    (void)state;
    fd_buf fast = {0}, tree = {0};
    for (int i = 0; i < 500; i++) {
        json_t *note = random_string(), *name = random_string();
        json_t *before = next_rand() % 4 == 0 ? NULL : random_value(0);
        json_t *after = next_rand() % 4 == 0 ? NULL : random_value(0);
        char *ev = canonical_event(json_string_value(note), before, after, json_string_value(name));
        store_audit_row row = {.seq = i * 997,
                               .prev_hash = "p\"q",
                               .hash = i % 2 ? "=h" : "h,h",
                               .event = ev,
                               .len = strlen(ev)};
        assert_int_equal(audit_csv_row(&fast, &row), 0);
        assert_int_equal(audit_csv_row_tree(&tree, &row), 0);
        free(ev);
        json_decref(note);
        json_decref(name);
    }
    assert_int_equal(fast.len, tree.len);
    assert_memory_equal(fast.data, tree.data, tree.len);
    fd_buf_free(&fast);
    fd_buf_free(&tree);
}

/* Rows packed on one thread and formatted on another (the export's CSV worker): unpacking gives
 * exactly the rows audit_csv_row writes, the header line between them as it is, for random
 * canonical events, texts that go the jansson way, a NUL inside a text, missing hashes. */
static void packed_rows_unpack_to_the_same_bytes(void **state)
{
    (void)state;
    static const char header[] = "seq,at,migration\r\n";
    fd_buf packed = {0}, direct = {0}, out = {0};
    assert_int_equal(fd_buf_puts(&packed, header), 0);
    assert_int_equal(fd_buf_puts(&direct, header), 0);
    for (int i = 0; i < 300; i++) {
        json_t *note = random_string(), *name = random_string();
        json_t *before = next_rand() % 4 == 0 ? NULL : random_value(0);
        json_t *after = next_rand() % 4 == 0 ? NULL : random_value(0);
        char *ev = canonical_event(json_string_value(note), before, after, json_string_value(name));
        const char *text = ev;
        size_t len = strlen(ev);
        if (i % 50 == 7)
            text = "{\"note\" :\"jansson's way\"}", len = strlen(text);
        if (i % 50 == 9)
            text = "{\"note\":\"a\0b\"}", len = 14;
        store_audit_row row = {.seq = i,
                               .prev_hash = i % 3 ? "p\"q" : NULL,
                               .hash = i % 5 ? "h,h" : NULL,
                               .event = text,
                               .len = len};
        assert_int_equal(audit_csv_pack_row(&packed, &row), 0);
        assert_int_equal(audit_csv_row(&direct, &row), 0);
        free(ev);
        json_decref(note);
        json_decref(name);
    }
    assert_int_equal(audit_csv_unpack(&out, packed.data, packed.len), 0);
    assert_int_equal(out.len, direct.len);
    assert_memory_equal(out.data, direct.data, direct.len);
    /* a packed row cut short is refused, not read past its end */
    fd_buf cut = {0};
    assert_int_equal(audit_csv_unpack(&cut, packed.data, sizeof header + 20), -1);
    fd_buf_free(&cut);
    fd_buf_free(&packed);
    fd_buf_free(&direct);
    fd_buf_free(&out);
}

/* Tick and untick step `sid` of `mid` n times (2n events). */
static void churn(fixture *f, const char *mid, int64_t sid, int n)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    for (int i = 0; i < n; i++) {
        json_t *out = NULL;
        assert_int_equal(flight_step_action(f->st, &ctx, mid, sid, FD_STEP_TICK, "t", &out), FD_OK);
        json_decref(out);
        assert_int_equal(flight_step_action(f->st, &ctx, mid, sid, FD_STEP_UNTICK, "u", &out),
                         FD_OK);
        json_decref(out);
    }
    fd_problem_clear(&ctx.problem);
}

/* A started migration with one step; returns the step's id. */
static int64_t flying(fixture *f, const char *mid)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, NULL);
    json_t *plan = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:[{s:s}]}]}", "id", mid, "title", mid,
                             "owner_team", "data-stream", "stages", "key", "takeoff", "title",
                             "Take-off", "steps", "title", "the step"),
           *m = NULL;
    assert_int_equal(flight_create(f->st, &ctx, plan, &m), FD_OK);
    json_decref(plan);
    int64_t sid = json_integer_value(json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"),
                       0),
        "id"));
    json_decref(m);
    assert_int_equal(flight_start_override(f->st, &ctx, mid, "test", &m), FD_OK);
    json_decref(m);
    fd_problem_clear(&ctx.problem);
    return sid;
}

/* Dense, sparse, interleaved and dense again: the export of m1 in small chunks is exactly m1's
 * events, in seq order, whichever way each page was read; and both ways were used. */
static void migration_export_walks_dense_stretches(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fix_team(f, "data-stream", "Data Stream");
    int64_t s1 = flying(f, "m1"), s2 = flying(f, "m2");
    churn(f, "m1", s1, 300);  /* dense */
    churn(f, "m2", s2, 3000); /* m1 silent for 6,000 seqs */
    for (int i = 0; i < 200; i++) {
        churn(f, "m1", s1, 1); /* interleaved: half of the seqs */
        churn(f, "m2", s2, 1);
    }
    churn(f, "m1", s1, 400); /* dense again */

    json_t *want = json_array();
    int n = 0;
    assert_int_equal(audit_each_after(f->st, "m1", 0, 1000000, collect, want, &n), FD_OK);
    assert_true(n > 1800);

    audit_cursor cur;
    assert_int_equal(audit_cursor_open(f->st, "m1", 0, FD_AUDIT_NDJSON, &cur), FD_OK);
    fd_buf out = {0};
    int done = 0, walked = 0, back_to_index = 0, chunks = 0;
    while (!done) {
        assert_int_equal(audit_export_chunk(f->st, &cur, &out, 4096, &done), FD_OK);
        walked |= cur.walk;
        back_to_index |= walked && !cur.walk;
        chunks++;
    }
    assert_true(walked);
    assert_true(back_to_index);
    assert_true(chunks > 100);
    /* the lines are the events, in order */
    size_t i = 0;
    for (char *line = out.data; *line != '\0'; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        json_t *w = json_array_get(want, i);
        assert_non_null(w);
        assert_int_equal((size_t)(nl - line), json_string_length(w));
        assert_memory_equal(line, json_string_value(w), json_string_length(w));
        line = nl + 1;
    }
    assert_int_equal(i, json_array_size(want));
    assert_int_equal(cur.written, n);
    fd_buf_free(&out);
    json_decref(want);
    fix_close(f);
}

/* Rows written into the database behind flightdeck's back (INSERT with sqlite3, as someone with
 * the file could), non-canonical and odd: the CSV export of the migration is still well-formed,
 * one record of 15 fields per event after the header; the stored note shows as it is. */
static void tampered_rows_export_as_well_formed_csv(void **state)
{
    (void)state;
    fixture *f = fix_open();
    fix_team(f, "data-stream", "Data Stream");
    int64_t sid = flying(f, "msk");
    churn(f, "msk", sid, 2);
    sqlite3_stmt *ins = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->st->db,
                                        "INSERT INTO audit (migration, at, action, prev_hash, "
                                        "hash, event) VALUES ('msk', 0, 'step.tick', 'p', 'h', ?)",
                                        -1, &ins, NULL),
                     SQLITE_OK);
    const char *extra[] = {
        /* a valid event with whitespace: the jansson way */
        "{ \"note\" : \"spaced, out\" , \"after\" : { \"b\" : 1 , \"a\" : [ ] } }",
        /* the first cell that matters most: a note that would run as a formula */
        "{\"action\":\"step.tick\",\"before\":{\"z\":1,  \"a\":\"=1+1\"},\"note\":\"=cmd|' /C "
        "calc'!A0\",\"seq\":1}",
    };
    for (size_t i = 0; i < sizeof tampered_texts / sizeof tampered_texts[0] + 2; i++) {
        const char *text = i < 2 ? extra[i] : tampered_texts[i - 2];
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, text, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
    }
    sqlite3_finalize(ins);
    churn(f, "msk", sid, 1); /* and the log goes on */

    json_t *all = json_array();
    int n = 0;
    assert_int_equal(audit_each_after(f->st, "msk", 0, 1000000, collect, all, &n), FD_OK);
    json_decref(all);
    audit_cursor cur;
    assert_int_equal(audit_cursor_open(f->st, "msk", 0, FD_AUDIT_CSV, &cur), FD_OK);
    fd_buf out = {0};
    int done = 0;
    while (!done)
        assert_int_equal(audit_export_chunk(f->st, &cur, &out, 1000, &done), FD_OK);
    assert_int_equal(csv_records(out.data, out.len, 15, NULL), n + 1); /* and the header */
    assert_non_null(strstr(out.data, ",'=cmd|' /C calc'!A0,"));
    assert_non_null(strstr(out.data, "\"{\"\"z\"\":1,  \"\"a\"\":\"\"=1+1\"\"}\""));
    assert_non_null(strstr(out.data, ",\"spaced, out\","));
    fd_buf_free(&out);
    fix_close(f);
}

/* The row tests run at every level of csv_scan the CPU has (AVX2, a byte at a time): each must
 * give the reference's bytes. */
int main(void)
{
    const struct CMUnitTest rows[] = {
        cmocka_unit_test(core_events_are_identical),
        cmocka_unit_test(random_canonical_events_are_identical),
        cmocka_unit_test(texts_it_cannot_follow_fall_back),
        cmocka_unit_test(odd_shapes_are_identical),
        cmocka_unit_test(tampered_texts_give_well_formed_csv),
        cmocka_unit_test(tampered_rows_export_as_well_formed_csv),
        cmocka_unit_test(canonical_event_takes_the_fast_path),
        cmocka_unit_test(block_boundaries_are_identical),
        cmocka_unit_test(step_shaped_events_are_identical),
        cmocka_unit_test(rows_appended_to_one_buffer_are_identical),
        cmocka_unit_test(packed_rows_unpack_to_the_same_bytes),
    };
    const struct CMUnitTest exports[] = {
        cmocka_unit_test(migration_export_walks_dense_stretches),
    };
    int failed = 0, top = csv_scan_level(1);
    for (int level = top; level >= 0; level--) {
        char name[64];
        snprintf(name, sizeof name, "csv rows, csv_scan level %d", csv_scan_level(level));
        failed += _cmocka_run_group_tests(name, rows, sizeof rows / sizeof rows[0], NULL, NULL);
    }
    csv_scan_level(top);
    failed += cmocka_run_group_tests(exports, NULL, NULL);
    return failed;
}
