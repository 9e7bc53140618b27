/* test_audit.c - the flight recorder: hash chains anyone can recompute, tamper detection,
 * exports of any size.
 *
 * The tamper test edits the database file with sqlite3 directly, as an attacker with file
 * access would; the hash check uses OpenSSL directly, as a reviewer with an export would. */
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "core_fixture.h"
#include "core/flight.h"

#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static const char *str(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* A migration with `nsteps` steps in takeoff, started; teams sre. */
static void flight(fixture *f, const char *mid, int nsteps)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->lead, "req-plan");
    json_t *plan =
        json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:[]}]}", "id", mid, "title", "T", "owner_team", "sre",
                  "stages", "key", "takeoff", "title", "Take-off", "steps");
    json_t *steps = json_object_get(json_array_get(json_object_get(plan, "stages"), 0), "steps");
    for (int i = 0; i < nsteps; i++) {
        char title[32];
        snprintf(title, sizeof title, "step %d", i);
        json_array_append_new(steps, json_pack("{s:s}", "title", title));
    }
    json_t *out = NULL;
    assert_int_equal(flight_create(f->st, &ctx, plan, &out), FD_OK);
    json_decref(out);
    assert_int_equal(flight_start(f->st, &ctx, mid, &out), FD_OK);
    json_decref(out);
    json_decref(plan);
}

/* Tick and untick the first step of `mid` n times each (2n events). */
static void churn(fixture *f, const char *mid, int n)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, NULL);
    json_t *m = NULL;
    assert_int_equal(flight_get(f->st, &ctx, mid, &m), FD_OK);
    int64_t sid = json_integer_value(json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"),
                       0),
        "id"));
    json_decref(m);
    for (int i = 0; i < n; i++) {
        json_t *s = NULL;
        f->now += 1;
        assert_int_equal(
            flight_step_action(f->st, &ctx, mid, sid, FD_STEP_TICK, "a, \"quoted\"\nnote", &s),
            FD_OK);
        json_decref(s);
        assert_int_equal(flight_step_action(f->st, &ctx, mid, sid, FD_STEP_UNTICK, "=1+1", &s),
                         FD_OK);
        json_decref(s);
    }
}

/* Export everything (mid NULL) or one migration in chunks of `target` bytes. */
static char *export_all(fixture *f, const char *mid, fd_audit_format fmt, size_t target,
                        int *chunks)
{
    audit_cursor cur;
    assert_int_equal(audit_cursor_open(f->st, mid, 0, fmt, &cur), FD_OK);
    fd_buf out = {0};
    int done = 0;
    *chunks = 0;
    while (!done) {
        assert_int_equal(audit_export_chunk(f->st, &cur, &out, target, &done), FD_OK);
        (*chunks)++;
        assert_true(*chunks < 100000);
    }
    fd_buf_puts(&out, ""); /* NUL-terminated even when empty */
    return out.data;
}

static fixture *setup(void)
{
    fixture *f = fix_open();
    fix_team(f, "sre", "Site Reliability");
    return f;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static void chain_links_events_per_migration(void **state)
{
    (void)state;
    fixture *f = setup();
    flight(f, "m1", 1);
    flight(f, "m2", 1);
    churn(f, "m1", 2);
    char *text;
    int chunks;
    text = export_all(f, NULL, FD_AUDIT_JSON, 1 << 20, &chunks);
    json_t *events = fix_json(text);
    free(text);
    /* team.create, m1 create+start, m2 create+start, 4 m1 step events */
    assert_int_equal(json_array_size(events), 9);
    const char *last_m1 = ZERO, *last_m2 = ZERO, *last_global = ZERO;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        assert_int_equal(json_integer_value(json_object_get(ev, "seq")), (json_int_t)i + 1);
        const char *mig = str(ev, "migration");
        const char **last = mig == NULL              ? &last_global
                            : strcmp(mig, "m1") == 0 ? &last_m1
                                                     : &last_m2;
        assert_string_equal(str(ev, "prev_hash"), *last);
        /* anyone can recompute the hash from the export: drop "hash", dump sorted compact */
        json_t *copy = json_deep_copy(ev);
        json_object_del(copy, "hash");
        char *canonical = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS), hex[65];
        sha256_hex(canonical, hex);
        assert_string_equal(hex, str(ev, "hash"));
        free(canonical);
        json_decref(copy);
        *last = str(ev, "hash");
    }
    /* each stored event is itself compact with sorted keys, "hash" in its sorted place (the
     * event is dumped once, in two halves around "hash": this proves the splice is exact) */
    char *nd = export_all(f, NULL, FD_AUDIT_NDJSON, 1 << 20, &chunks);
    for (char *line = nd, *nl; line != NULL && *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        json_t *parsed = json_loads(line, 0, NULL);
        assert_non_null(parsed);
        char *again = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(again, line);
        free(again);
        json_decref(parsed);
    }
    free(nd);
    /* the documented members, nothing else */
    ev = json_array_get(events, 5);
    const char *keys[] = {"seq",        "migration", "at",     "actor", "source",
                          "action",     "target",    "before", "after", "note",
                          "request_id", "prev_hash", "hash"};
    assert_int_equal(json_object_size(ev), sizeof keys / sizeof keys[0]);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        assert_non_null(json_object_get(ev, keys[k]));
    assert_string_equal(str(ev, "action"), "step.tick");
    assert_string_equal(str(json_object_get(ev, "actor"), "role"), "engineer");
    assert_string_equal(str(json_object_get(ev, "actor"), "name"), "Alice");
    assert_string_equal(str(ev, "source"), "api");
    assert_string_equal(str(json_object_get(ev, "before"), "status"), "pending");
    assert_string_equal(str(json_object_get(ev, "after"), "status"), "done");
    assert_string_equal(str(json_array_get(events, 1), "request_id"), "req-plan");

    json_t *v = NULL;
    assert_int_equal(audit_verify(f->st, "m1", &v), FD_OK);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "events")), 6);
    assert_int_equal(json_integer_value(json_object_get(v, "first_seq")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "last_seq")), 9);
    assert_string_equal(str(v, "last_hash"), last_m1);
    assert_true(json_is_null(json_object_get(v, "broken")));
    json_decref(v);
    assert_int_equal(audit_verify(f->st, NULL, &v), FD_OK); /* the global chain: teams */
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "events")), 1);
    json_decref(v);
    assert_int_equal(audit_verify(f->st, "nope", &v), FD_E_NOT_FOUND);
    /* the whole export verifies offline, chains interleaved */
    assert_int_equal(audit_verify_events(events, &v), FD_OK);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "events")), 9);
    json_decref(v);
    json_decref(events);
    fix_close(f);
}

/* The event text is written directly (core/json_out.c), not dumped by jansson: it must be
 * byte for byte jansson's sorted compact dump of itself, hostile text included, or a reviewer
 * recomputing hashes with another tool would disagree. */
static void stored_text_is_janssons_canonical_dump(void **state)
{
    (void)state;
    fixture *f = setup();
    flight(f, "m1", 1);
    fix_actor(&f->alice, "alice", "Al\"ice\\ \xc3\x85 \xf0\x9f\x9b\xab\t", FD_ROLE_ENGINEER);
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->alice, "req-\"x\"");
    json_t *m = NULL;
    assert_int_equal(flight_get(f->st, &ctx, "m1", &m), FD_OK);
    int64_t sid = json_integer_value(json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(m, "stages"), 0), "steps"),
                       0),
        "id"));
    json_decref(m);
    json_t *s = NULL;
    assert_int_equal(flight_step_action(f->st, &ctx, "m1", sid, FD_STEP_TICK,
                                        "\x01 \x1f \x7f \b\f\n\r/ \xe2\x80\xa8 </script>", &s),
                     FD_OK);
    json_decref(s);
    int chunks;
    char *text = export_all(f, "m1", FD_AUDIT_NDJSON, 1 << 20, &chunks);
    int lines = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"), lines++) {
        json_t *ev = fix_json(line);
        char *again = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(line, again);
        free(again);
        json_decref(ev);
    }
    assert_int_equal(lines, 3); /* create, start, tick */
    free(text);
    fix_close(f);
}

static void verify_events_catches_tampering(void **state)
{
    (void)state;
    fixture *f = setup();
    flight(f, "m1", 1);
    churn(f, "m1", 3);
    int chunks;
    char *text = export_all(f, "m1", FD_AUDIT_JSON, 1 << 20, &chunks);
    json_t *events = fix_json(text), *v = NULL;
    free(text);
    assert_int_equal(json_array_size(events), 8);
    assert_int_equal(audit_verify_events(events, &v), FD_OK);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);

    /* a changed note */
    json_t *t = json_deep_copy(events);
    json_object_set_new(json_array_get(t, 4), "note", json_string("all fine"));
    assert_int_equal(audit_verify_events(t, &v), FD_OK);
    assert_false(json_is_true(json_object_get(v, "ok")));
    json_t *broken = json_object_get(v, "broken");
    assert_int_equal(json_integer_value(json_object_get(broken, "seq")),
                     json_integer_value(json_object_get(json_array_get(events, 4), "seq")));
    assert_string_equal(str(broken, "reason"), "hash mismatch");
    json_decref(v);
    json_decref(t);

    /* a removed event breaks the link of the next one */
    t = json_deep_copy(events);
    json_array_remove(t, 3);
    assert_int_equal(audit_verify_events(t, &v), FD_OK);
    broken = json_object_get(v, "broken");
    assert_int_equal(json_integer_value(json_object_get(broken, "seq")),
                     json_integer_value(json_object_get(json_array_get(events, 4), "seq")));
    assert_string_equal(str(broken, "reason"), "prev_hash mismatch");
    json_decref(v);
    json_decref(t);

    /* swapped events */
    t = json_deep_copy(events);
    json_t *e2 = json_incref(json_array_get(t, 2));
    json_array_set(t, 2, json_array_get(t, 3));
    json_array_set_new(t, 3, e2);
    assert_int_equal(audit_verify_events(t, &v), FD_OK);
    assert_false(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    json_decref(t);

    /* garbage */
    t = json_pack("[{s:i}]", "seq", 1);
    assert_int_equal(audit_verify_events(t, &v), FD_OK);
    assert_string_equal(str(json_object_get(v, "broken"), "reason"), "malformed event");
    json_decref(v);
    json_decref(t);
    t = json_object();
    assert_int_equal(audit_verify_events(t, &v), FD_E_BAD_REQUEST);
    json_decref(t);
    json_decref(events);
    fix_close(f);
}

static void verify_catches_a_tampered_database(void **state)
{
    (void)state;
    char dir[] = "/tmp/fd-audit-XXXXXX", path[64], cmd[96];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    fixture *f = fix_open_path(path);
    fix_team(f, "sre", "Site Reliability");
    flight(f, "m1", 1);
    churn(f, "m1", 3); /* m1: seq 2..9 */
    fix_close(f);

    /* rewrite history behind flightdeck's back: drop the guard, change Alice's note at seq 5 */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TRIGGER audit_no_update;"
                                  "UPDATE audit SET event = replace(event, '\"note\":\"=1+1\"',"
                                  " '\"note\":\"nothing happened\"') WHERE seq = 5;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);

    f = fix_open_path(path);
    json_t *v = NULL;
    assert_int_equal(audit_verify(f->st, "m1", &v), FD_OK);
    assert_false(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "broken"), "seq")), 5);
    assert_string_equal(str(json_object_get(v, "broken"), "reason"), "hash mismatch");
    assert_int_equal(json_integer_value(json_object_get(v, "events")), 8);
    json_decref(v);
    fix_close(f);

    /* a cleverer attacker recomputes the row's hash: the next event's link gives it away */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT event FROM audit WHERE seq = 5", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    json_t *ev = fix_json((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    json_object_del(ev, "hash");
    char *canonical = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS), hex[65];
    sha256_hex(canonical, hex);
    json_object_set_new(ev, "hash", json_string(hex));
    char *forged = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit SET event = ?1, hash = ?2 WHERE seq = 5",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, forged, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hex, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    free(canonical);
    free(forged);
    json_decref(ev);
    f = fix_open_path(path);
    assert_int_equal(audit_verify(f->st, "m1", &v), FD_OK);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "broken"), "seq")), 6);
    assert_string_equal(str(json_object_get(v, "broken"), "reason"), "prev_hash mismatch");
    json_decref(v);
    fix_close(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void csv_ndjson_json_formats(void **state)
{
    (void)state;
    fixture *f = setup();
    flight(f, "m1", 1);
    churn(f, "m1", 1);
    int chunks;
    char *json = export_all(f, "m1", FD_AUDIT_JSON, 1 << 20, &chunks);
    char *nd = export_all(f, "m1", FD_AUDIT_NDJSON, 1 << 20, &chunks);
    char *csv = export_all(f, "m1", FD_AUDIT_CSV, 1 << 20, &chunks);
    json_t *events = fix_json(json);
    assert_int_equal(json_array_size(events), 4);

    /* NDJSON: the same events, one per line, byte for byte what the sink delivered */
    char *line = nd;
    for (size_t i = 0; i < 4; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        json_t *sunk = json_array_get(f->events, i + 1); /* after team.create */
        assert_string_equal(line, str(sunk, "json"));
        json_t *ev = fix_json(line);
        assert_true(json_equal(ev, json_array_get(events, i)));
        json_decref(ev);
        line = nl + 1;
    }
    assert_string_equal(line, "");

    /* CSV: header, RFC 4180 quoting, spreadsheet formulas neutralised */
    const char *header = "seq,at,migration,actor_sub,actor_name,actor_role,source,action,target,"
                         "note,request_id,before,after,prev_hash,hash\r\n";
    assert_memory_equal(csv, header, strlen(header));
    assert_non_null(strstr(csv, "\r\n4,2026-03-10T19:00:00.001Z,m1,alice,Alice,engineer,api,"
                                "step.tick,steps/1,\"a, \"\"quoted\"\"\nnote\",,\"{"));
    assert_non_null(strstr(csv, ",step.untick,steps/1,'=1+1,,"));
    int rows = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2)
        rows++;
    assert_int_equal(rows, 5); /* header + 4 (the quoted newline is a bare \n) */
    const char *last_hash = str(json_array_get(events, 3), "hash");
    char tail[80];
    snprintf(tail, sizeof tail, ",%s\r\n", last_hash);
    assert_string_equal(csv + strlen(csv) - strlen(tail), tail);
    free(json);
    free(nd);
    free(csv);
    json_decref(events);

    fd_audit_format fmt;
    assert_int_equal(audit_format_parse("ndjson", &fmt), 0);
    assert_int_equal(fmt, FD_AUDIT_NDJSON);
    assert_int_equal(audit_format_parse("csv", &fmt), 0);
    assert_int_equal(fmt, FD_AUDIT_CSV);
    assert_int_equal(audit_format_parse("xml", &fmt), -1);
    audit_cursor cur;
    assert_int_equal(audit_cursor_open(f->st, "nope", 0, FD_AUDIT_JSON, &cur), FD_E_NOT_FOUND);
    fix_close(f);
}

static void large_exports_are_complete_and_ordered(void **state)
{
    (void)state;
    fixture *f = setup();
    flight(f, "m1", 1);
    flight(f, "m2", 1);
    churn(f, "m1", 300); /* 600 */
    churn(f, "m2", 300); /* 600 */
    int64_t last = audit_last_seq(f->st);
    assert_int_equal(last, 1 + 4 + 1200);

    int chunks;
    char *nd = export_all(f, NULL, FD_AUDIT_NDJSON, 8192, &chunks);
    assert_true(chunks > 10); /* really chunked */
    int64_t want = 1;
    for (char *line = nd, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        json_t *ev = fix_json(line);
        assert_int_equal(json_integer_value(json_object_get(ev, "seq")), want);
        want++;
        json_decref(ev);
    }
    assert_int_equal(want - 1, last);
    free(nd);

    /* one migration, as JSON, verifies offline */
    char *json = export_all(f, "m2", FD_AUDIT_JSON, 4096, &chunks);
    json_t *events = fix_json(json), *v = NULL;
    assert_int_equal(json_array_size(events), 602);
    assert_int_equal(audit_verify_events(events, &v), FD_OK);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    json_decref(events);
    free(json);

    char *csv = export_all(f, NULL, FD_AUDIT_CSV, 16384, &chunks);
    int lines = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    assert_int_equal(lines, 1 + last);
    free(csv);

    /* the snapshot is fixed when the cursor opens: later events are not in it */
    audit_cursor cur;
    assert_int_equal(audit_cursor_open(f->st, NULL, last - 2, FD_AUDIT_NDJSON, &cur), FD_OK);
    churn(f, "m1", 1);
    fd_buf out = {0};
    int done = 0;
    while (!done)
        assert_int_equal(audit_export_chunk(f->st, &cur, &out, 1, &done), FD_OK);
    assert_int_equal(cur.written, 2);
    fd_buf_free(&out);

    assert_int_equal(audit_verify(f->st, "m1", &v), FD_OK);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "events")), 604);
    json_decref(v);
    fix_close(f);
}

typedef struct replay {
    int n;
    int64_t seqs[16];
    char actions[512];
} replay;

static void on_event(void *arg, int64_t seq, const char *migration, const char *action,
                     const char *json, size_t len)
{
    replay *r = arg;
    assert_true(r->n < 16);
    assert_int_equal(strlen(json), len);
    assert_non_null(migration);
    r->seqs[r->n++] = seq;
    strcat(r->actions, action);
    strcat(r->actions, " ");
}

static void replay_after_a_seq(void **state)
{
    (void)state;
    fixture *f = setup();
    flight(f, "m1", 1);
    flight(f, "m2", 1);
    churn(f, "m1", 2); /* seq 6..9 */
    replay r = {0};
    int count = 0;
    assert_int_equal(audit_each_after(f->st, "m1", 3, 100, on_event, &r, &count), FD_OK);
    assert_int_equal(count, 4);
    assert_int_equal(r.seqs[0], 6);
    assert_int_equal(r.seqs[3], 9);
    assert_string_equal(r.actions, "step.tick step.untick step.tick step.untick ");
    memset(&r, 0, sizeof r);
    assert_int_equal(audit_each_after(f->st, NULL, 1, 3, on_event, &r, &count), FD_OK);
    assert_int_equal(count, 3); /* limited */
    assert_int_equal(r.seqs[0], 2);
    assert_int_equal(r.seqs[2], 4);
    assert_int_equal(audit_each_after(f->st, NULL, 9, 10, on_event, &r, &count), FD_OK);
    assert_int_equal(count, 0);
    assert_int_equal(audit_last_seq(f->st), 9);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_links_events_per_migration),
        cmocka_unit_test(stored_text_is_janssons_canonical_dump),
        cmocka_unit_test(verify_events_catches_tampering),
        cmocka_unit_test(verify_catches_a_tampered_database),
        cmocka_unit_test(csv_ndjson_json_formats),
        cmocka_unit_test(large_exports_are_complete_and_ordered),
        cmocka_unit_test(replay_after_a_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
