/*
 * fuzz_common.h - what the libFuzzer targets in tests/fuzz/ share: a check macro that aborts
 * (libFuzzer then saves the input as a reproducer), a fixed clock, a few actors, and an
 * in-memory store seeded with two teams and one migration in flight.
 *
 * A bug a target has found stays in its corpus (corpus/<name>/bug-*) until it is fixed, so
 * `make fuzz` fails until then. To keep fuzzing past it locally, FUZZ_KNOWN names the bugs
 * to step over (tags: problem-utf8, note-utf8, chat-utf8); CI never sets it.
 *
 * Header-only (static functions) because the Makefile builds each tests/fuzz/fuzz_*.c alone.
 * Nothing here is used by the server: it exists for the harnesses only.
 */
#ifndef FD_FUZZ_COMMON_H
#define FD_FUZZ_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flight.h"
#include "core/store.h"
#include "core/team.h"
#include "core/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test promised does not hold: say which, then abort so libFuzzer
 * keeps the input as crash-<sha1>. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "\nFUZZ PROPERTY VIOLATED at %s:%d: %s\n  ", __FILE__, __LINE__,       \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static inline int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        int more = c < 0x80             ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : -1;
        if (more < 0 || end - p < more)
            return 0;
        unsigned cp = more == 0 ? c : c & (0x3fu >> more);
        for (int i = 0; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more;
    }
    return 1;
}

/* Known, reported bugs a local run may step over: FUZZ_KNOWN=tag,tag. CI sets nothing, so
 * every check is on there. */
static inline int known(const char *tag)
{
    const char *k = getenv("FUZZ_KNOWN");
    return k != NULL && strstr(k, tag) != NULL;
}

/* 2026-03-10T19:00:00.000Z, plus one millisecond per call: events get distinct times. */
#define FUZZ_T0 1773169200000LL

static int64_t fuzz_clock_ms = FUZZ_T0;

static inline int64_t fuzz_clock(void *arg)
{
    (void)arg;
    return fuzz_clock_ms++;
}

static inline fd_actor fuzz_actor(const char *sub, const char *name, fd_role role)
{
    fd_actor a;
    memset(&a, 0, sizeof a);
    snprintf(a.sub, sizeof a.sub, "%s", sub);
    snprintf(a.name, sizeof a.name, "%s", name);
    a.role = role;
    snprintf(a.source, sizeof a.source, "api");
    return a;
}

/* Run one core call's result check: a seed step that fails is a harness bug, not a find. */
static inline void fuzz_need(fd_err e, fd_ctx *ctx, const char *what)
{
    if (e != FD_OK) {
        fprintf(stderr, "fuzz setup: %s failed: %s: %s\n", what, fd_err_name(e),
                ctx->problem.detail);
        abort();
    }
    fd_problem_clear(&ctx->problem);
}

/* The seeded migration: "m1" in flight, stage "takeoff" active with steps 1..3 (step 1 done),
 * stage "landing" pending with steps 4..5. Teams "platform" and "data-stream". */
#define FUZZ_MID "m1"

static const char fuzz_seed_plan[] =
    "{\"id\":\"m1\",\"title\":\"Seeded migration\",\"owner_team\":\"platform\","
    "\"teams\":[\"data-stream\"],"
    "\"window\":{\"start\":\"2026-03-10T19:00:00Z\",\"end\":\"2026-03-10T23:00:00Z\"},"
    "\"dashboards\":[{\"title\":\"Lag\",\"url\":\"https://grafana.example/d/lag\"}],"
    "\"stages\":[{\"key\":\"takeoff\",\"title\":\"Take-off\",\"steps\":["
    "{\"title\":\"Freeze deploys\",\"owner_team\":\"platform\",\"critical\":true},"
    "{\"title\":\"Snapshot\",\"command\":\"make snapshot\",\"expected_minutes\":5},"
    "{\"title\":\"Announce\",\"link\":\"https://chat.example/c/1\"}]},"
    "{\"key\":\"landing\",\"title\":\"Landing\",\"steps\":["
    "{\"title\":\"Verify lag\",\"owner_team\":\"data-stream\"},{\"title\":\"Unfreeze\"}]}]}";

/* Open a fresh in-memory store with the fixed clock and seed it. Owned by the caller. */
static inline fd_store *fuzz_store_seeded(void)
{
    fd_store *st = NULL;
    fd_problem p = {0};
    fd_actor admin = fuzz_actor("root", "Root", FD_ROLE_ADMIN);
    fd_ctx ctx;
    json_t *out = NULL, *body;

    if (store_open(":memory:", &st, &p) != FD_OK) {
        fprintf(stderr, "fuzz setup: store_open: %s\n", p.detail);
        abort();
    }
    fuzz_clock_ms = FUZZ_T0;
    fd_ports ports = {.clock = {fuzz_clock, NULL}};
    store_set_ports(st, &ports);

    static const char *const teams[][2] = {{"platform", "Platform"}, {"data-stream", "Data"}};
    for (size_t i = 0; i < 2; i++) {
        fd_ctx_init(&ctx, &admin, "seed");
        body = json_pack("{s:s,s:s}", "slug", teams[i][0], "name", teams[i][1]);
        fuzz_need(team_create(st, &ctx, body, &out), &ctx, "team_create");
        json_decref(body);
        json_decref(out);
    }
    body = json_loads(fuzz_seed_plan, 0, NULL);
    fd_ctx_init(&ctx, &admin, "seed");
    fuzz_need(flight_create(st, &ctx, body, &out), &ctx, "flight_create");
    json_decref(body);
    json_decref(out);
    fd_ctx_init(&ctx, &admin, "seed");
    fuzz_need(flight_start(st, &ctx, FUZZ_MID, &out), &ctx, "flight_start");
    json_decref(out);
    fd_ctx_init(&ctx, &admin, "seed");
    fuzz_need(flight_step_action(st, &ctx, FUZZ_MID, 1, FD_STEP_TICK, "done early", &out), &ctx,
              "tick");
    json_decref(out);
    return st;
}

#endif
