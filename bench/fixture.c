/*
 * fixture.c - builds the benchmark databases before a server starts, by calling core directly.
 *
 *   fixture serve DB            teams; migration "bench-tick" with 2,000 steps in its active
 *                               stage (the wrk tick/untick load); "bench-read" with 200 steps
 *                               (the whole-migration GET); "bench-fanout" with 4 steps (one
 *                               ticker, many event-stream subscribers). All three started.
 *                               Prints "tick_first=<id> tick_last=<id> read_step=<id>
 *                               fanout_step=<id>" on stdout for bench/run.sh.
 *   fixture audit DB EVENTS     teams; migration "bench-audit" with 100 steps, started, then
 *                               step.tick / step.untick events (sweeping the steps) until the
 *                               migration's audit log holds EVENTS events. Prints
 *                               "events=<n> seconds=<s> path=fast|core".
 *
 * Both refuse to touch an existing file: the runner hands each a fresh path.
 *
 * The audit log is hash-chained, so its events are not faked with bulk SQL. Going through
 * flight_step_action per event would cost a transaction each (~5k/s here: minutes for a
 * million), and even audit_append alone spends ~90 us an event in jansson. So: the first event
 * is written by core's audit_append; templates are learnt from it (append_events, render); every
 * later event is rendered from them, hashed with core's audit_sha256_hex and stored with the
 * store's own insert, 20,000 to a transaction, durability off (PRAGMA synchronous=OFF on this
 * private connection, through core/store_sqlite.h). The rendering of the first event is compared
 * with core's byte for byte; if they differ, every event goes through audit_append (slow, right).
 * The step rows do not follow the events (the export reads only the log); the chain passes
 * `flightdeck audit verify`. The server that reads the file later opens it with its own settings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/audit.h"
#include "core/flight.h"
#include "core/store.h"
#include "core/store_sqlite.h"
#include "core/team.h"
#include "core/timefmt.h"

#define TICK_STEPS 2000
#define PLAN_STEPS_MAX 500 /* the most one stage of a plan may hold */
#define READ_STEPS 200
#define FANOUT_STEPS 4
#define AUDIT_STEPS 100
#define AUDIT_EVENTS_MAX 100000000LL
#define AUDIT_BATCH 20000 /* events per transaction */

static const char *const teams[] = {"data-stream", "sre"};

static void actor_init(fd_actor *a, const char *sub, fd_role role)
{
    memset(a, 0, sizeof *a);
    snprintf(a->sub, sizeof a->sub, "%s", sub);
    snprintf(a->name, sizeof a->name, "Bench %s", sub);
    a->role = role;
    snprintf(a->source, sizeof a->source, "bot");
    a->nteams = 1;
    snprintf(a->teams[0], sizeof a->teams[0], "%s", teams[0]);
}

static int fail(const char *what, fd_err e, fd_ctx *ctx)
{
    fprintf(stderr, "fixture: %s: %s: %s\n", what, fd_err_name(e), ctx->problem.detail);
    fd_problem_clear(&ctx->problem);
    return -1;
}

static int make_teams(fd_store *st, fd_ctx *ctx)
{
    for (size_t i = 0; i < sizeof teams / sizeof teams[0]; i++) {
        json_t *body = json_pack("{s:s, s:s}", "slug", teams[i], "name", teams[i]);
        json_t *out = NULL;
        fd_err e = team_create(st, ctx, body, &out);
        json_decref(body);
        json_decref(out);
        if (e != FD_OK)
            return fail("team_create", e, ctx);
    }
    return 0;
}

static json_t *step_input(int i)
{
    char title[64];
    snprintf(title, sizeof title, "Benchmark step %d", i + 1);
    return json_pack("{s:s, s:s, s:s, s:i}", "title", title, "details",
                     "Check the producer error rate on the six-pack.", "owner_team", teams[0],
                     "expected_minutes", 5);
}

/* Create migration `id` with `nsteps` steps in its first stage and start it. A plan holds at
 * most PLAN_STEPS_MAX steps a stage; the rest are added to the active stage after the start, as
 * a lead may. On success *first_step is the id of the first step (the ids of one migration's
 * steps are consecutive here: nothing else writes meanwhile). */
static int make_migration(fd_store *st, fd_ctx *ctx, const char *id, int nsteps,
                          int64_t *first_step)
{
    json_t *steps = json_array();
    for (int i = 0; i < nsteps && i < PLAN_STEPS_MAX; i++)
        json_array_append_new(steps, step_input(i));
    json_t *plan = json_pack(
        "{s:s, s:s, s:s, s:[s,s], s:[{s:s, s:s, s:o}, {s:s, s:s}]}", "id", id, "title",
        "Benchmark migration", "owner_team", teams[0], "teams", teams[0], teams[1], "stages",
        "key", "takeoff", "title", "Take-off", "steps", steps, "key", "landing", "title",
        "Landing");
    json_t *out = NULL;
    fd_err e = flight_create(st, ctx, plan, &out);
    json_decref(plan);
    if (e != FD_OK)
        return fail("flight_create", e, ctx);
    json_t *first = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(out, "stages"), 0), "steps"),
                       0),
        "id");
    *first_step = json_integer_value(first);
    json_decref(out);
    out = NULL;
    e = flight_start(st, ctx, id, &out);
    json_decref(out);
    if (e != FD_OK)
        return fail("flight_start", e, ctx);
    for (int i = PLAN_STEPS_MAX; i < nsteps; i++) {
        json_t *in = step_input(i);
        out = NULL;
        e = flight_add_step(st, ctx, id, "takeoff", in, &out);
        int64_t sid = json_integer_value(json_object_get(out, "id"));
        json_decref(in);
        json_decref(out);
        if (e != FD_OK)
            return fail("flight_add_step", e, ctx);
        if (sid != *first_step + i) {
            fprintf(stderr, "fixture: step ids of %s are not consecutive\n", id);
            return -1;
        }
    }
    return 0;
}

static int refuse_existing(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        fprintf(stderr, "fixture: %s exists; give me a fresh path\n", path);
        return -1;
    }
    return 0;
}

static fd_store *open_fast(const char *path)
{
    fd_store *st = NULL;
    fd_problem p = {0};
    if (store_open(path, &st, &p) != FD_OK) {
        fprintf(stderr, "fixture: cannot open %s: %s\n", path, p.detail);
        fd_problem_clear(&p);
        return NULL;
    }
    /* durability is the server's business; building a fixture needs none */
    sqlite3_exec(st->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
    return st;
}

static int cmd_serve(const char *path)
{
    fd_actor lead;
    fd_ctx ctx;
    int64_t tick_first = 0, read_first = 0, fanout_first = 0;
    int rc = 1;

    if (refuse_existing(path) != 0)
        return 1;
    fd_store *st = open_fast(path);
    if (st == NULL)
        return 1;
    actor_init(&lead, "bench-lead", FD_ROLE_ADMIN);
    fd_ctx_init(&ctx, &lead, "bench-fixture");
    if (make_teams(st, &ctx) != 0 ||
        make_migration(st, &ctx, "bench-tick", TICK_STEPS, &tick_first) != 0 ||
        make_migration(st, &ctx, "bench-read", READ_STEPS, &read_first) != 0 ||
        make_migration(st, &ctx, "bench-fanout", FANOUT_STEPS, &fanout_first) != 0)
        goto done;
    printf("tick_first=%" PRId64 " tick_last=%" PRId64 " read_step=%" PRId64
           " fanout_step=%" PRId64 "\n",
           tick_first, tick_first + TICK_STEPS - 1, read_first, fanout_first);
    rc = 0;
done:
    store_close(st);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The clock port: the fixture sets the time of each event itself. */
static int64_t fixed_now(void *arg)
{
    return *(const int64_t *)arg;
}

/* What one generated event says: step `step` ticked (or unticked) at `at_ms`. */
typedef struct gen_event {
    int64_t seq;
    int64_t at_ms;
    int index;          /* which step of the sweep */
    const json_t *step; /* the step's document as flight_get_step gave it */
    int tick;           /* 1 step.tick (pending -> done), 0 step.untick (done -> pending) */
    int64_t version;    /* the step's version before the change */
    char prev[FD_HASH_HEX];
} gen_event;

/*
 * Templates. The fast path does not know the event format: it learns it from the first event
 * core wrote. Each template is that JSON (compact, keys sorted, as core dumps it) with the
 * values that change per event replaced by sentinel strings "@@NAME@@", which render() swaps
 * for raw JSON text. Fields core adds later are carried along untouched.
 */
typedef struct tpl_value {
    const char *name; /* NAME of "@@NAME@@" */
    const char *raw;  /* JSON text put in its place (quotes included for strings) */
} tpl_value;

typedef struct templates {
    char *pending[AUDIT_STEPS]; /* a step as it is pending: VERSION */
    char *done[AUDIT_STEPS];    /* a step as it is done: VERSION, AT */
    char *canonical;            /* the event without "hash": SEQ AT ACTION TARGET NOTE PREV BEFORE
                                   AFTER */
    char *text;                 /* the event as stored: the same, and HASH */
} templates;

static void templates_free(templates *t)
{
    for (int k = 0; k < AUDIT_STEPS; k++) {
        free(t->pending[k]);
        free(t->done[k]);
    }
    free(t->canonical);
    free(t->text);
}

/* Render `tpl` into out[n], replacing every "@@NAME@@" by its value. Length, or -1. */
static int render(char *out, size_t n, const char *tpl, const tpl_value *vals, int nvals)
{
    size_t len = 0;
    const char *p = tpl;
    for (;;) {
        const char *s = strstr(p, "\"@@");
        size_t lit = s != NULL ? (size_t)(s - p) : strlen(p);
        if (len + lit + 1 > n)
            return -1;
        memcpy(out + len, p, lit);
        len += lit;
        if (s == NULL)
            break;
        const char *name = s + 3, *e = strstr(name, "@@\"");
        if (e == NULL)
            return -1;
        const char *raw = NULL;
        for (int i = 0; i < nvals; i++)
            if (strlen(vals[i].name) == (size_t)(e - name) &&
                memcmp(vals[i].name, name, (size_t)(e - name)) == 0)
                raw = vals[i].raw;
        if (raw == NULL)
            return -1;
        size_t rl = strlen(raw);
        if (len + rl + 1 > n)
            return -1;
        memcpy(out + len, raw, rl);
        len += rl;
        p = e + 3;
    }
    out[len] = '\0';
    return (int)len;
}

static char *dump_with(json_t *doc, const char *key, json_t *value)
{
    if (key != NULL)
        json_object_set_new(doc, key, value);
    return json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Build the templates from the steps' documents and the first event core wrote (`first`). */
static int templates_build(templates *t, json_t *const *steps, const fd_actor *a,
                           const char *first)
{
    for (int k = 0; k < AUDIT_STEPS; k++) {
        /* the same edits event_core makes, with sentinels for what changes */
        json_t *pending = json_deep_copy(steps[k]), *done = json_deep_copy(steps[k]);
        json_object_set_new(done, "status", json_string("done"));
        json_object_set_new(done, "by", json_pack("{s:s, s:s}", "sub", a->sub, "name", a->name));
        json_object_set_new(done, "at", json_string("@@AT@@"));
        json_object_set_new(done, "note", json_string("bench tick"));
        t->pending[k] = dump_with(pending, "version", json_string("@@VERSION@@"));
        t->done[k] = dump_with(done, "version", json_string("@@VERSION@@"));
        json_decref(pending);
        json_decref(done);
        if (t->pending[k] == NULL || t->done[k] == NULL)
            return -1;
    }
    json_error_t jerr;
    json_t *ev = json_loads(first, 0, &jerr);
    if (ev == NULL)
        return -1;
    static const char *const vary[] = {"seq",  "at",        "action", "target",
                                       "note", "prev_hash", "before", "after"};
    static const char *const sentinel[] = {"@@SEQ@@",  "@@AT@@",   "@@ACTION@@", "@@TARGET@@",
                                           "@@NOTE@@", "@@PREV@@", "@@BEFORE@@", "@@AFTER@@"};
    int ok = json_object_get(ev, "hash") != NULL;
    for (size_t i = 0; i < sizeof vary / sizeof vary[0]; i++) {
        ok = ok && json_object_get(ev, vary[i]) != NULL;
        json_object_set_new(ev, vary[i], json_string(sentinel[i]));
    }
    t->text = dump_with(ev, "hash", json_string("@@HASH@@"));
    json_object_del(ev, "hash");
    t->canonical = dump_with(ev, NULL, NULL);
    json_decref(ev);
    return ok && t->text != NULL && t->canonical != NULL ? 0 : -1;
}

/* The event exactly as audit_append stores it, so its hash chain verifies. `hash` receives the
 * event's hash. Returns the length, or -1. */
static int event_text(char *out, size_t n, const templates *t, const gen_event *g,
                      char hash[FD_HASH_HEX])
{
    char at[FD_TIME_LEN + 2], ver[2][24], seq[24], target[48], prev[FD_HASH_HEX + 2];
    char quoted_hash[FD_HASH_HEX + 2], before[4096], after[4096], canonical[12288];
    char bare_at[FD_TIME_LEN];

    fd_time_format(g->at_ms, bare_at);
    snprintf(at, sizeof at, "\"%s\"", bare_at);
    snprintf(ver[0], sizeof ver[0], "%lld", (long long)g->version);
    snprintf(ver[1], sizeof ver[1], "%lld", (long long)g->version + 1);
    snprintf(seq, sizeof seq, "%lld", (long long)g->seq);
    snprintf(target, sizeof target, "\"steps/%lld\"",
             json_integer_value(json_object_get(g->step, "id")));
    snprintf(prev, sizeof prev, "\"%s\"", g->prev);
    /* the done side carries the time of the tick: the event's own for a tick, and for an
       untick the earlier tick's, which the sweep also sets to the untick's time (any does) */
    tpl_value bv[] = {{"VERSION", ver[0]}, {"AT", at}};
    tpl_value av[] = {{"VERSION", ver[1]}, {"AT", at}};
    const char *btpl = g->tick ? t->pending[g->index] : t->done[g->index];
    const char *atpl = g->tick ? t->done[g->index] : t->pending[g->index];
    if (render(before, sizeof before, btpl, bv, 2) < 0 ||
        render(after, sizeof after, atpl, av, 2) < 0)
        return -1;
    tpl_value ev[] = {{"SEQ", seq},
                      {"AT", at},
                      {"ACTION", g->tick ? "\"step.tick\"" : "\"step.untick\""},
                      {"TARGET", target},
                      {"NOTE", g->tick ? "\"bench tick\"" : "null"},
                      {"PREV", prev},
                      {"BEFORE", before},
                      {"AFTER", after},
                      {"HASH", quoted_hash}};
    int cn = render(canonical, sizeof canonical, t->canonical, ev, 8);
    if (cn < 0 || audit_sha256_hex(canonical, (size_t)cn, hash) != 0)
        return -1;
    snprintf(quoted_hash, sizeof quoted_hash, "\"%s\"", hash);
    return render(out, n, t->text, ev, 9);
}

/* The same event written by core's audit_append (the slow, reference path). */
static fd_err event_core(fd_store *st, fd_ctx *ctx, int64_t *clock_ms, const gen_event *g)
{
    char at[FD_TIME_LEN];
    *clock_ms = g->at_ms;
    fd_time_format(g->at_ms, at);
    json_t *pending = json_deep_copy(g->step), *done = json_deep_copy(g->step);
    json_object_set_new(done, "status", json_string("done"));
    json_object_set_new(done, "by", json_pack("{s:s, s:s}", "sub", ctx->actor->sub, "name",
                                              ctx->actor->name));
    json_object_set_new(done, "at", json_string(at));
    json_object_set_new(done, "note", json_string("bench tick"));
    json_t *before = g->tick ? pending : done, *after = g->tick ? done : pending;
    json_object_set_new(before, "version", json_integer(g->version));
    json_object_set_new(after, "version", json_integer(g->version + 1));
    char target[32];
    snprintf(target, sizeof target, "steps/%lld", json_integer_value(json_object_get(g->step, "id")));
    fd_err e = audit_append(st, ctx, "bench-audit", g->tick ? "step.tick" : "step.untick", target,
                            before, after, g->tick ? "bench tick" : NULL);
    json_decref(pending);
    json_decref(done);
    return e;
}

/* Fill `g` for event number i (0-based) of the sweep: tick all steps, untick all, ... */
static void event_plan(gen_event *g, json_t *const *steps, int64_t i, int64_t base_ms)
{
    g->seq++;
    g->at_ms = base_ms + i;
    g->index = (int)(i % AUDIT_STEPS);
    g->step = steps[g->index];
    g->tick = (i / AUDIT_STEPS) % 2 == 0;
    g->version = 2 + i / AUDIT_STEPS; /* created 1, started... any increasing number does */
}

typedef struct stored_event {
    char *text;
} stored_event;

static void keep_event(void *arg, int64_t seq, const char *migration, const char *action,
                       const char *json, size_t len)
{
    (void)seq, (void)migration, (void)action;
    stored_event *k = arg;
    free(k->text);
    k->text = strndup(json, len);
}

/*
 * Append `want` events. Event 0 goes through audit_append and is compared byte for byte with
 * what event_text makes of the same inputs: equal, the rest is written by event_text (fast);
 * different (core's format moved on), every event goes through audit_append (slow, but right).
 */
static int append_events(fd_store *st, fd_ctx *ctx, int64_t *clock_ms, json_t *const *steps,
                         int64_t want, int *fast)
{
    static char text[16384];
    gen_event g = {0};
    stored_event kept = {0};
    templates t = {0};
    int rc = -1;
    int64_t base_ms = *clock_ms;

    if (store_audit_next_seq(st, &g.seq) != FD_OK)
        return fail("next seq", FD_E_INTERNAL, ctx);
    g.seq--;
    *fast = 0;
    for (int64_t i = 0; i < want;) {
        if (store_begin(st) != FD_OK)
            return fail("begin", FD_E_INTERNAL, ctx);
        for (int64_t k = 0; k < AUDIT_BATCH && i < want; k++, i++) {
            event_plan(&g, steps, i, base_ms);
            if (store_audit_prev_hash(st, "bench-audit", g.prev) != FD_OK)
                goto rollback;
            if (i == 0 || !*fast) {
                if (event_core(st, ctx, clock_ms, &g) != FD_OK)
                    goto rollback;
                if (i > 0)
                    continue;
                /* the check: does the fast path write what core writes? */
                int n = 0;
                if (audit_each_after(st, "bench-audit", g.seq - 1, 1, keep_event, &kept, &n) !=
                        FD_OK ||
                    n != 1)
                    goto rollback;
                char hash[FD_HASH_HEX];
                int len = -1;
                if (templates_build(&t, steps, ctx->actor, kept.text) == 0)
                    len = event_text(text, sizeof text, &t, &g, hash);
                *fast = len > 0 && strcmp(text, kept.text) == 0;
                if (!*fast)
                    fprintf(stderr,
                            "fixture: the fast path does not reproduce core's event; "
                            "writing every event through audit_append (slow)\n core: %s\n mine: "
                            "%s\n",
                            kept.text, len > 0 ? text : "(too long)");
                continue;
            }
            char hash[FD_HASH_HEX];
            int len = event_text(text, sizeof text, &t, &g, hash);
            if (len < 0 || store_audit_insert(st, g.seq, "bench-audit", g.at_ms,
                                              g.tick ? "step.tick" : "step.untick", g.prev, hash,
                                              text, (size_t)len) != FD_OK)
                goto rollback;
        }
        if (store_commit(st) != FD_OK)
            goto rollback;
    }
    rc = 0;
    goto done;
rollback:
    fail("append", FD_E_INTERNAL, ctx);
    fprintf(stderr, "fixture: %s\n", store_last_error(st));
    store_rollback(st);
done:
    free(kept.text);
    templates_free(&t);
    return rc;
}

static int cmd_audit(const char *path, const char *count)
{
    fd_actor lead, eng;
    fd_ctx ctx;
    int64_t first = 0, clock_ms = 1773169200000LL; /* 2026-03-10T19:00:00Z */
    json_t *steps[AUDIT_STEPS] = {0};
    int rc = 1, fast = 0;

    char *end = NULL;
    errno = 0;
    long long want = strtoll(count, &end, 10);
    if (errno != 0 || end == count || *end != '\0' || want < 1 || want > AUDIT_EVENTS_MAX) {
        fprintf(stderr, "fixture: EVENTS must be 1..%lld\n", AUDIT_EVENTS_MAX);
        return 2;
    }
    if (refuse_existing(path) != 0)
        return 1;
    fd_store *st = open_fast(path);
    if (st == NULL)
        return 1;
    fd_ports ports = {.clock = {fixed_now, &clock_ms}};
    store_set_ports(st, &ports);
    double t0 = now_s();
    actor_init(&lead, "bench-lead", FD_ROLE_ADMIN);
    actor_init(&eng, "bench-engineer", FD_ROLE_ENGINEER);
    fd_ctx_init(&ctx, &lead, "bench-fixture");
    if (make_teams(st, &ctx) != 0 ||
        make_migration(st, &ctx, "bench-audit", AUDIT_STEPS, &first) != 0)
        goto done;
    for (int k = 0; k < AUDIT_STEPS; k++) {
        fd_err e = flight_get_step(st, &ctx, "bench-audit", first + k, &steps[k]);
        if (e != FD_OK) {
            fail("flight_get_step", e, &ctx);
            goto done;
        }
    }
    /* the migration's own events so far (create, start); the teams' are outside its log */
    int64_t outside = (int64_t)(sizeof teams / sizeof teams[0]);
    int64_t have = audit_last_seq(st) - outside;
    fd_ctx_init(&ctx, &eng, "bench-fixture");
    if (want > have && append_events(st, &ctx, &clock_ms, steps, want - have, &fast) != 0)
        goto done;
    printf("events=%lld seconds=%.1f path=%s\n", (long long)(audit_last_seq(st) - outside),
           now_s() - t0, fast ? "fast" : "core");
    rc = 0;
done:
    for (int k = 0; k < AUDIT_STEPS; k++)
        json_decref(steps[k]);
    store_close(st);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return cmd_serve(argv[2]);
    if (argc == 4 && strcmp(argv[1], "audit") == 0)
        return cmd_audit(argv[2], argv[3]);
    fprintf(stderr, "usage: fixture serve DB | fixture audit DB EVENTS\n");
    return 2;
}
