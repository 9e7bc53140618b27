/*
 * fuzz_export.c - libFuzzer target: the audit export writers (core/audit.c: JSON, NDJSON,
 * CSV) fed with hostile event contents.
 *
 * Input: texts separated by NUL bytes (at most 4). Each text becomes, on the seeded migration
 * (fuzz_store.h), the note of a tick or the reason of an untick of step 2 (alternating); the
 * second and fourth, when valid UTF-8 of 1-200 bytes, also become the title of step 5 (a
 * step.update event whose before/after documents carry it). Quotes, commas, CR/LF, formula
 * prefixes, invalid UTF-8 and long texts all end up in the flight recorder. The last input byte
 * sets the export chunk size.
 *
 * Properties, abort() on violation:
 *   - a chunked export (any chunk size) is byte for byte the one-chunk export;
 *   - NDJSON: every line is one JSON event; the notes and titles are exactly the ones given;
 *   - JSON: one array holding the same events as the NDJSON lines, and its chain verifies
 *     (audit_verify_events);
 *   - CSV: an RFC 4180 reader (below) gets back the header and 15 fields per event; the note
 *     cell is the note (with the documented leading apostrophe when it starts with = + - @ TAB
 *     CR), the after cell is the event's "after" document; no cell can start a formula.
 * A note core accepts must come back exactly; invalid UTF-8 it cannot record must be refused.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/buf.h"
#include "tests/fuzz/fuzz_store.h"

#define MAX_TEXTS 4

static fuzz_db db;
static fd_actor lead;
static int64_t seeded_seq; /* the last event of the seeded state */

typedef struct expect {
    const char *action; /* "step.tick", "step.untick", "step.update" */
    const char *text;   /* the note ("": none, so null), or the new title; NULL: not compared */
} expect;

/* ---- export ------------------------------------------------------------------------------ */

static char *export_all(fd_audit_format fmt, size_t target, size_t *len)
{
    audit_cursor cur;
    fd_buf out = {0};
    int done = 0;
    FUZZ_CHECK(audit_cursor_open(db.st, FUZZ_MID, 0, fmt, &cur) == FD_OK, "cursor");
    for (int rounds = 0; !done; rounds++) {
        FUZZ_CHECK(audit_export_chunk(db.st, &cur, &out, target, &done) == FD_OK,
                   "export chunk failed");
        FUZZ_CHECK(rounds < 100000, "the export never ends");
    }
    *len = out.len;
    if (out.data == NULL)
        return calloc(1, 1);
    return out.data;
}

/* ---- a small RFC 4180 reader: records of fields, CRLF line ends ------------------------- */

typedef struct csv_rec {
    char *f[32];
    int n;
} csv_rec;

/* Read one record at *pos; 1 with rec filled, 0 at the end, -1 when malformed. */
static int csv_read(const char *s, size_t len, size_t *pos, csv_rec *rec)
{
    size_t i = *pos;
    rec->n = 0;
    if (i >= len)
        return 0;
    for (;;) {
        char *cell;
        size_t k = 0;
        if (i < len && s[i] == '"') {
            /* quoted: up to the closing quote that is not a doubled one */
            size_t j = ++i;
            while (j < len && !(s[j] == '"' && (j + 1 >= len || s[j + 1] != '"')))
                j += s[j] == '"' ? 2 : 1;
            if (j >= len)
                return -1; /* unterminated quote */
            cell = malloc(j - i + 1);
            for (; i < j; i++) {
                cell[k++] = s[i];
                if (s[i] == '"')
                    i++; /* the second of a doubled quote */
            }
            i = j + 1;
        } else {
            size_t j = i;
            while (j < len && s[j] != ',' && s[j] != '\r' && s[j] != '\n') {
                if (s[j] == '"')
                    return -1; /* a quote inside an unquoted cell */
                j++;
            }
            cell = malloc(j - i + 1);
            memcpy(cell, s + i, j - i);
            k = j - i;
            i = j;
        }
        cell[k] = '\0';
        if (rec->n == 32) {
            free(cell);
            return -1;
        }
        rec->f[rec->n++] = cell;
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i + 1 < len && s[i] == '\r' && s[i + 1] == '\n') {
            *pos = i + 2;
            return 1;
        }
        return -1; /* a record must end in CRLF */
    }
}

static void csv_free(csv_rec *rec)
{
    for (int i = 0; i < rec->n; i++)
        free(rec->f[i]);
    rec->n = 0;
}

static int formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* ---- checks ------------------------------------------------------------------------------ */

static json_t *parse_ndjson(const char *s, size_t len)
{
    json_t *events = json_array();
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(s + i, '\n', len - i);
        FUZZ_CHECK(nl != NULL, "NDJSON does not end in a newline");
        json_error_t err;
        json_t *ev = json_loadb(s + i, (size_t)(nl - (s + i)), 0, &err);
        FUZZ_CHECK(json_is_object(ev), "NDJSON line is not an event (%s): %.*s", err.text,
                   (int)(nl - (s + i)), s + i);
        json_array_append_new(events, ev);
        i = (size_t)(nl - s) + 1;
    }
    return events;
}

/* The events' notes and titles must be the ones we wrote, in order. */
static void check_texts(const json_t *events, const expect *ex, int nex)
{
    int k = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *action = json_string_value(json_object_get(ev, "action"));
        if (json_integer_value(json_object_get(ev, "seq")) <= seeded_seq)
            continue; /* the seeded events */
        FUZZ_CHECK(k < nex, "an event more than the actions: %s", action);
        FUZZ_CHECK(strcmp(action, ex[k].action) == 0, "event %d is %s, expected %s", k, action,
                   ex[k].action);
        if (ex[k].text == NULL) {
            ; /* not compared (a known bug) */
        } else if (strcmp(action, "step.update") == 0) {
            const char *t =
                json_string_value(json_object_get(json_object_get(ev, "after"), "title"));
            FUZZ_CHECK(t != NULL && strcmp(t, ex[k].text) == 0, "title '%s' came back as '%s'",
                       ex[k].text, t ? t : "(none)");
        } else if (ex[k].text[0] == '\0') {
            FUZZ_CHECK(json_is_null(json_object_get(ev, "note")), "an empty note is not null");
        } else {
            const char *n = json_string_value(json_object_get(ev, "note"));
            FUZZ_CHECK(n != NULL && strcmp(n, ex[k].text) == 0, "note of %zu bytes came back as %s",
                       strlen(ex[k].text), n ? "a different text" : "no note");
        }
        k++;
    }
    FUZZ_CHECK(k == nex, "%d events for %d actions", k, nex);
}

static void check_csv(const char *s, size_t len, const json_t *events)
{
    static const char *const header[] = {
        "seq",    "at",   "migration",  "actor_sub", "actor_name", "actor_role", "source", "action",
        "target", "note", "request_id", "before",    "after",      "prev_hash",  "hash"};
    size_t pos = 0;
    csv_rec rec;
    FUZZ_CHECK(csv_read(s, len, &pos, &rec) == 1 && rec.n == 15, "CSV header unreadable");
    for (int i = 0; i < 15; i++)
        FUZZ_CHECK(strcmp(rec.f[i], header[i]) == 0, "CSV header field %d is %s", i, rec.f[i]);
    csv_free(&rec);
    size_t k = 0;
    int r;
    while ((r = csv_read(s, len, &pos, &rec)) == 1) {
        FUZZ_CHECK(rec.n == 15, "CSV row %zu has %d fields", k, rec.n);
        FUZZ_CHECK(k < json_array_size(events), "more CSV rows than events");
        json_t *ev = json_array_get(events, k);
        for (int i = 0; i < 15; i++)
            FUZZ_CHECK(!formula_start(rec.f[i][0]), "CSV cell %s of row %zu starts a formula: %s",
                       header[i], k, rec.f[i]);
        FUZZ_CHECK(json_integer_value(json_object_get(ev, "seq")) == strtoll(rec.f[0], NULL, 10),
                   "CSV row %zu is not event %s", k, rec.f[0]);
        const char *note = json_string_value(json_object_get(ev, "note"));
        if (note == NULL)
            note = "";
        int guarded = formula_start(note[0]);
        FUZZ_CHECK((guarded ? rec.f[9][0] == '\'' && strcmp(rec.f[9] + 1, note) == 0
                            : strcmp(rec.f[9], note) == 0),
                   "CSV note cell differs from the note (row %zu)", k);
        json_t *after = json_object_get(ev, "after");
        if (json_is_null(after)) {
            FUZZ_CHECK(rec.f[12][0] == '\0', "CSV after cell for a null after");
        } else {
            json_t *cell = json_loads(rec.f[12], 0, NULL);
            FUZZ_CHECK(json_equal(cell, after), "CSV after cell is not the after document");
            json_decref(cell);
        }
        FUZZ_CHECK(strcmp(rec.f[14], json_string_value(json_object_get(ev, "hash"))) == 0,
                   "CSV hash cell differs");
        csv_free(&rec);
        k++;
    }
    FUZZ_CHECK(r == 0, "CSV malformed after row %zu", k);
    FUZZ_CHECK(k == json_array_size(events), "%zu CSV rows for %zu events", k,
               json_array_size(events));
}

/* ---- the input --------------------------------------------------------------------------- */

static void act(const char *text, int i, expect *ex, int *nex)
{
    fd_ctx ctx;
    json_t *out = NULL;
    fd_step_action a = i % 2 == 0 ? FD_STEP_TICK : FD_STEP_UNTICK;
    fd_ctx_init(&ctx, &lead, "fuzz-export");
    fd_err e = flight_step_action(db.st, &ctx, FUZZ_MID, 2, a, text, &out);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
    if (e == FD_OK) {
        ex[*nex].action = a == FD_STEP_TICK ? "step.tick" : "step.untick";
        ex[*nex].text = text;
        /* Known bug "note-utf8": a note that is not UTF-8 is accepted and then silently left
         * out of the event (json_string refuses it); FUZZ_KNOWN=note-utf8 skips the comparison */
        if (known("note-utf8") && !utf8_valid(text, strlen(text)))
            ex[*nex].text = NULL;
        (*nex)++;
    }

    size_t len = strlen(text);
    json_t *title = json_stringn(text, len); /* NULL unless valid UTF-8 */
    if (title != NULL && len >= 1 && len <= 200 && i % 2 == 1) {
        json_t *body = json_object();
        json_object_set_new(body, "title", title);
        fd_ctx_init(&ctx, &lead, "fuzz-export");
        json_t *cur = NULL;
        flight_get_step(db.st, &ctx, FUZZ_MID, 5, &cur);
        int same = strcmp(json_string_value(json_object_get(cur, "title")), text) == 0;
        json_decref(cur);
        e = flight_patch_step(db.st, &ctx, FUZZ_MID, 5, body, &out);
        FUZZ_CHECK(e == FD_OK, "a valid title was refused: %s", ctx.problem.detail);
        if (!same) { /* an unchanged title writes no event */
            ex[*nex].action = "step.update";
            ex[(*nex)++].text = text;
        }
        json_decref(body);
        json_decref(out);
        fd_problem_clear(&ctx.problem);
    } else {
        json_decref(title);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_db_open(&db, NULL);
    seeded_seq = audit_last_seq(db.st);
    lead = fuzz_actor("lena", "Lena \"the\" Lead, =1+1", FD_ROLE_LEAD);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    fuzz_db_begin(&db);
    size_t target = 1 + data[size - 1] * 7u; /* 1..1786 bytes per chunk */
    char *copy = malloc(size);
    memcpy(copy, data, size - 1);
    copy[size - 1] = '\0';

    expect ex[2 * MAX_TEXTS];
    int nex = 0;
    const char *p = copy, *end = copy + size - 1;
    for (int i = 0; i < MAX_TEXTS && p <= end; i++) {
        act(p, i, ex, &nex);
        p += strlen(p) + 1;
    }
    size_t n1, n2, nj, nc;
    char *nd = export_all(FD_AUDIT_NDJSON, (size_t)1 << 30, &n1);
    char *nd_chunked = export_all(FD_AUDIT_NDJSON, target, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(nd, nd_chunked, n1) == 0,
               "a chunked export (%zu bytes a chunk) differs from the whole", target);
    json_t *events = parse_ndjson(nd, n1);
    check_texts(events, ex, nex);

    char *js = export_all(FD_AUDIT_JSON, target, &nj);
    json_error_t err;
    json_t *arr = json_loadb(js, nj, 0, &err);
    FUZZ_CHECK(json_is_array(arr), "the JSON export does not parse: %s", err.text);
    FUZZ_CHECK(json_equal(arr, events), "the JSON export and the NDJSON export differ");
    json_t *verdict = NULL;
    FUZZ_CHECK(audit_verify_events(arr, &verdict) == FD_OK &&
                   json_is_true(json_object_get(verdict, "ok")),
               "the exported chain does not verify");

    char *csv = export_all(FD_AUDIT_CSV, target, &nc);
    check_csv(csv, nc, events);

    json_decref(verdict);
    json_decref(arr);
    json_decref(events);
    free(nd);
    free(nd_chunked);
    free(js);
    free(csv);
    free(copy);
    return 0;
}
