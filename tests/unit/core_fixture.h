/*
 * core_fixture.h - what the core unit tests share: an in-memory store with the real migrations,
 * a fake clock, an event sink that records what it receives, and a few actors.
 * Header-only (static functions) because each test file is its own binary.
 */
#ifndef FD_TEST_CORE_FIXTURE_H
#define FD_TEST_CORE_FIXTURE_H

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/audit.h"
#include "core/store.h"
#include "core/team.h"
#include "core/types.h"

/* 2026-03-10T19:00:00.000Z */
#define FIX_T0 1773169200000LL

typedef struct fixture {
    fd_store *st;
    int64_t now;        /* the fake clock */
    json_t *events;     /* what the sink received: [{seq, migration, action, json}] */
    int committed_seen; /* events seen by the sink so far */
    fd_actor admin, lead, alice, bob, viewer;
} fixture;

static inline int64_t fix_clock(void *arg)
{
    fixture *f = arg;
    return f->now;
}

static inline void fix_sink(void *arg, int64_t seq, const char *migration, const char *action,
                            const char *json, size_t len)
{
    fixture *f = arg;
    assert_int_equal(strlen(json), len);
    json_array_append_new(f->events,
                          json_pack("{s:I,s:s?,s:s,s:s}", "seq", (json_int_t)seq, "migration",
                                    migration, "action", action, "json", json));
}

static inline void fix_actor(fd_actor *a, const char *sub, const char *name, fd_role role)
{
    memset(a, 0, sizeof *a);
    snprintf(a->sub, sizeof a->sub, "%s", sub);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->role = role;
    snprintf(a->source, sizeof a->source, "api");
}

/* Open `path` (":memory:" usually) with the fake clock and the recording sink. */
static inline fixture *fix_open_path(const char *path)
{
    fixture *f = calloc(1, sizeof *f);
    fd_problem p = {0};
    assert_int_equal(store_open(path, &f->st, &p), FD_OK);
    f->now = FIX_T0;
    f->events = json_array();
    fd_ports ports = {.clock = {fix_clock, f}, .events = {fix_sink, f}};
    store_set_ports(f->st, &ports);
    fix_actor(&f->admin, "root", "Ada Admin", FD_ROLE_ADMIN);
    fix_actor(&f->lead, "lena", "Lena Lead", FD_ROLE_LEAD);
    fix_actor(&f->alice, "alice", "Alice", FD_ROLE_ENGINEER);
    fix_actor(&f->bob, "bob", "Bob", FD_ROLE_ENGINEER);
    fix_actor(&f->viewer, "vic", "Vic Viewer", FD_ROLE_VIEWER);
    return f;
}

static inline fixture *fix_open(void)
{
    return fix_open_path(":memory:");
}

static inline void fix_close(fixture *f)
{
    if (f == NULL)
        return;
    store_close(f->st);
    json_decref(f->events);
    free(f);
}

/* Create a team as admin; asserts success. */
static inline void fix_team(fixture *f, const char *slug, const char *name)
{
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->admin, NULL);
    json_t *body = json_pack("{s:s,s:s}", "slug", slug, "name", name);
    json_t *out = NULL;
    fd_err e = team_create(f->st, &ctx, body, &out);
    if (e != FD_OK)
        fail_msg("team_create %s: %s %s", slug, fd_err_name(e), ctx.problem.detail);
    json_decref(body);
    json_decref(out);
    fd_problem_clear(&ctx.problem);
}

/* Parse JSON text in a test; fails the test on a syntax error. */
static inline json_t *fix_json(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (v == NULL)
        fail_msg("bad JSON in test: %s at line %d: %s", err.text, err.line, text);
    return v;
}

#endif
