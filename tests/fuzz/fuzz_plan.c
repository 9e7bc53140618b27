/*
 * fuzz_plan.c - libFuzzer target: the JSON body decoders of core, called directly (no HTTP
 * framing, so the fuzzer spends its time inside the documents): plan validation through
 * flight_create, migration PATCH, step add and step PATCH, team create and PATCH, all with
 * their real field tables (core/check.c, core/plan.c) on the seeded store (fuzz_store.h).
 *
 * Input: one mode byte (0 plan, 1 migration PATCH, 2 add step, 3 step PATCH, 4 team create,
 * 5 team PATCH), then a JSON text parsed as api_body_object does (duplicates refused).
 * Properties, abort() on violation:
 *   - never FD_E_INTERNAL: bad input is the client's error, never the server's;
 *   - a refusal leaves the database byte for byte unchanged, and an invalid or unknown field is
 *     named by a JSON path that leads into the body (an unknown field's path exists; a missing
 *     field's parent exists);
 *   - an accepted plan comes back as written: id, title, description, owner team, teams (owner
 *     first when not named), stages (or the four defaults) with their steps' titles in order,
 *     dashboards with kind defaulted; flight_get returns the same document; every accepted
 *     change leaves the audit chains verifying.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "tests/fuzz/fuzz_store.h"

static fuzz_db db;
static fd_actor lead, admin;

/* Follow a problem's field path ("stages[1].steps[0].title") into doc; NULL when it leaves it.
 * *parent is the last container reached. */
static const json_t *follow(const json_t *doc, const char *path, const json_t **parent)
{
    const json_t *cur = doc;
    const char *p = path;
    *parent = doc;
    while (*p != '\0' && cur != NULL) {
        *parent = cur;
        if (json_is_array(cur)) {
            if (*p != '[')
                return NULL;
            char *end = NULL;
            long i = strtol(p + 1, &end, 10);
            if (end == NULL || *end != ']')
                return NULL;
            cur = json_array_get(cur, (size_t)i);
            p = end + 1;
        } else {
            if (*p == '.' && p != path)
                p++;
            /* a key may itself hold '.' or '[': take the longest prefix that is a member */
            const json_t *next = NULL;
            size_t n = strlen(p);
            for (;;) {
                next = json_object_getn(cur, p, n);
                if (next != NULL || n == 0)
                    break;
                do
                    n--;
                while (n > 0 && p[n] != '.' && p[n] != '[');
            }
            if (next == NULL)
                return NULL;
            cur = next;
            p += n;
        }
    }
    return cur;
}

static void check_refusal(fd_err e, const fd_ctx *ctx, const json_t *body)
{
    FUZZ_CHECK(e != FD_E_INTERNAL, "internal error: %s", ctx->problem.detail);
    FUZZ_CHECK(!fuzz_db_changed(&db), "refused (%s), yet the database changed", fd_err_name(e));
    const char *field = ctx->problem.field;
    if (strlen(field) + 1 >= sizeof ctx->problem.field)
        return; /* a path longer than the problem's field[] is cut short: nothing to follow */
    if (e == FD_E_UNKNOWN_FIELD) {
        const json_t *parent;
        /* a member named "" is reported with an empty path (cosmetic: " is not a known field") */
        FUZZ_CHECK(field[0] != '\0' ? follow(body, field, &parent) != NULL
                                    : json_object_getn(body, "", 0) != NULL,
                   "unknown field '%s' is not in the body", field);
    } else if (e == FD_E_INVALID && field[0] != '\0' && json_is_object(body)) {
        const json_t *parent = NULL;
        const json_t *v = follow(body, field, &parent);
        (void)v; /* a missing required member is fine; its container must exist */
        FUZZ_CHECK(parent != NULL && (json_is_object(parent) || json_is_array(parent)),
                   "invalid field '%s' leads nowhere in the body", field);
    }
}

static void check_chains(const char *mid)
{
    json_t *v = NULL;
    fd_err e = audit_verify(db.st, mid, &v);
    FUZZ_CHECK(e == FD_OK && json_is_true(json_object_get(v, "ok")), "chain %s broken",
               mid ? mid : "(global)");
    json_decref(v);
}

static const char *str_or(const json_t *o, const char *k, const char *d)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : d;
}

/* The created migration must say what the plan said. */
static void check_created(const json_t *plan, const json_t *doc)
{
    static const char *const dflt[] = {"takeoff", "inflight", "landing", "shutdown"};
    FUZZ_CHECK(strcmp(str_or(doc, "id", ""), str_or(plan, "id", "?")) == 0, "id differs");
    FUZZ_CHECK(strcmp(str_or(doc, "title", ""), str_or(plan, "title", "?")) == 0, "title differs");
    FUZZ_CHECK(json_equal(json_object_get(doc, "description"),
                          json_object_get(plan, "description") &&
                                  !json_is_null(json_object_get(plan, "description"))
                              ? json_object_get(plan, "description")
                              : json_null()),
               "description differs");
    const char *owner = str_or(plan, "owner_team", "?");
    FUZZ_CHECK(strcmp(str_or(doc, "owner_team", ""), owner) == 0, "owner differs");

    const json_t *pt = json_object_get(plan, "teams"), *dt = json_object_get(doc, "teams");
    size_t np = json_array_size(pt);
    int named = 0;
    for (size_t i = 0; i < np; i++)
        named |= strcmp(json_string_value(json_array_get(pt, i)), owner) == 0;
    FUZZ_CHECK(json_array_size(dt) == np + !named, "%zu teams for %zu named", json_array_size(dt),
               np);
    for (size_t i = 0; i < np; i++) {
        int found = 0;
        for (size_t j = 0; j < json_array_size(dt); j++)
            found |= json_equal(json_array_get(pt, i), json_array_get(dt, j));
        FUZZ_CHECK(found, "team %s lost", json_string_value(json_array_get(pt, i)));
    }

    const json_t *ps = json_object_get(plan, "stages"), *ds = json_object_get(doc, "stages");
    if (ps == NULL || json_is_null(ps)) {
        FUZZ_CHECK(json_array_size(ds) == 4, "%zu default stages", json_array_size(ds));
        for (size_t i = 0; i < 4; i++)
            FUZZ_CHECK(strcmp(str_or(json_array_get(ds, i), "key", ""), dflt[i]) == 0,
                       "default stage %zu", i);
    } else {
        FUZZ_CHECK(json_array_size(ds) == json_array_size(ps), "%zu stages for %zu",
                   json_array_size(ds), json_array_size(ps));
        for (size_t i = 0; i < json_array_size(ps); i++) {
            const json_t *a = json_array_get(ps, i), *b = json_array_get(ds, i);
            FUZZ_CHECK(strcmp(str_or(a, "key", "?"), str_or(b, "key", "")) == 0 &&
                           strcmp(str_or(a, "title", "?"), str_or(b, "title", "")) == 0,
                       "stage %zu differs", i);
            const json_t *sa = json_object_get(a, "steps"), *sb = json_object_get(b, "steps");
            FUZZ_CHECK(json_array_size(sa) == json_array_size(sb), "stage %zu: %zu steps for %zu",
                       i, json_array_size(sb), json_array_size(sa));
            for (size_t j = 0; j < json_array_size(sa); j++)
                FUZZ_CHECK(strcmp(str_or(json_array_get(sa, j), "title", "?"),
                                  str_or(json_array_get(sb, j), "title", "")) == 0,
                           "stage %zu step %zu title differs", i, j);
        }
    }

    const json_t *pd = json_object_get(plan, "dashboards"),
                 *dd = json_object_get(doc, "dashboards");
    FUZZ_CHECK(json_array_size(pd) == json_array_size(dd), "dashboards count differs");
    for (size_t i = 0; i < json_array_size(pd); i++) {
        const json_t *a = json_array_get(pd, i), *b = json_array_get(dd, i);
        FUZZ_CHECK(strcmp(str_or(a, "url", "?"), str_or(b, "url", "")) == 0 &&
                       strcmp(str_or(a, "kind", "full"), str_or(b, "kind", "")) == 0,
                   "dashboard %zu differs", i);
    }

    fd_ctx ctx;
    json_t *again = NULL;
    fd_ctx_init(&ctx, &lead, "fuzz");
    FUZZ_CHECK(flight_get(db.st, &ctx, str_or(doc, "id", ""), &again) == FD_OK &&
                   json_equal(again, doc),
               "flight_get differs from what flight_create returned");
    json_decref(again);
    fd_problem_clear(&ctx.problem);
    check_chains(str_or(doc, "id", ""));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_db_open(&db, NULL);
    lead = fuzz_actor("lena", "Lena", FD_ROLE_LEAD);
    admin = fuzz_actor("root", "Root", FD_ROLE_ADMIN);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    json_t *body = json_loadb((const char *)data + 1, size - 1,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (body == NULL)
        return 0; /* not JSON: api_body_object answers 400 before any decoder runs */
    fuzz_db_begin(&db);

    fd_ctx ctx;
    json_t *out = NULL;
    fd_err e;
    int mode = data[0] % 6;
    fd_ctx_init(&ctx, mode >= 4 ? &admin : &lead, "fuzz");
    switch (mode) {
    case 0:
        e = flight_create(db.st, &ctx, body, &out);
        break;
    case 1:
        e = flight_patch(db.st, &ctx, FUZZ_MID, body, &out);
        break;
    case 2:
        e = flight_add_step(db.st, &ctx, FUZZ_MID, "landing", body, &out);
        break;
    case 3:
        e = flight_patch_step(db.st, &ctx, FUZZ_MID, 5, body, &out);
        break;
    case 4:
        e = team_create(db.st, &ctx, body, &out);
        break;
    default:
        e = team_patch(db.st, &ctx, "platform", body, &out);
        break;
    }
    if (e != FD_OK) {
        check_refusal(e, &ctx, body);
    } else {
        if (mode == 0)
            check_created(body, out);
        check_chains(NULL);
        check_chains(FUZZ_MID);
    }
    fd_problem_clear(&ctx.problem);
    json_decref(out);
    json_decref(body);
    return 0;
}
