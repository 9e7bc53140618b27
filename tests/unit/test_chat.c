/*
 * test_chat.c - chatops in core: the identity mapping, and every slash command run through
 * chat_execute on an in-memory store, the way a person in Slack would notice it: what the reply
 * says (and whether the channel sees it), what changed, and who the flight recorder says did it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatops_fixture.h"
#include "core/chat.h"
#include "core/gates.h"

#define BASE "https://fd.example"

static void map(fixture *f, const char *chat_user, const char *json)
{
    fd_ctx ctx;
    json_t *body = fix_json(json), *out = NULL;
    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, chat_user_put(f->st, &ctx, chat_user, body, &out));
    json_decref(body);
    json_decref(out);
}

/* A started migration and three chat users: an engineer and a lead of data-stream, a viewer. */
static int setup(void **state)
{
    fixture *f = cx_open(":memory:", 1);
    map(f, "UALICE",
        "{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"engineer\","
        "\"teams\":[\"data-stream\"]}");
    map(f, "ULENA",
        "{\"sub\":\"lena\",\"name\":\"Lena Lead\",\"role\":\"lead\","
        "\"teams\":[\"data-stream\"]}");
    map(f, "UVIC", "{\"sub\":\"vic\",\"name\":\"Vic\",\"role\":\"viewer\"}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_close(*state);
    return 0;
}

/* One command; the reply's text and type are copied into *text / type (owned by the caller). */
typedef struct reply {
    char *text;
    char type[16];
} reply;

static reply say(fixture *f, const char *user, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static reply say(fixture *f, const char *user, const char *fmt, ...)
{
    char text[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    chat_request r = {.chat_user = user,
                      .text = text,
                      .command = "/fd",
                      .base_url = BASE,
                      .request_id = "chat-test"};
    json_t *msg = chat_execute(f->st, &r);
    assert_non_null(msg);
    reply out = {0};
    out.text = strdup(json_string_value(json_object_get(msg, "text")));
    snprintf(out.type, sizeof out.type, "%s",
             json_string_value(json_object_get(msg, "response_type")));
    json_decref(msg);
    return out;
}

static const char *last_action(fixture *f)
{
    json_t *ev = json_array_get(f->events, json_array_size(f->events) - 1);
    return json_string_value(json_object_get(ev, "action"));
}

static json_t *last_event(fixture *f)
{
    json_t *ev = json_array_get(f->events, json_array_size(f->events) - 1);
    return fix_json(json_string_value(json_object_get(ev, "json")));
}

/* ---- the mapping ---- */

static void unmapped_users_are_told_how_to_get_mapped(void **state)
{
    fixture *f = *state;
    size_t before = json_array_size(f->events);
    int64_t sid = cx_step(f, 0, 0);
    reply r = say(f, "U999", "tick msk %lld", (long long)sid);
    assert_string_equal(r.type, "ephemeral");
    CX_CONTAINS(r.text, "not mapped");
    CX_CONTAINS(r.text, "curl -X PUT " BASE "/api/chatops/users/U999");
    free(r.text);
    /* and nothing happened */
    json_t *step = cx_get_step(f, sid);
    assert_string_equal(json_string_value(json_object_get(step, "status")), "pending");
    json_decref(step);
    assert_int_equal(json_array_size(f->events), before);
}

static void mapping_is_for_admins_and_checked(void **state)
{
    fixture *f = *state;
    fd_ctx ctx;
    json_t *out = NULL;
    json_t *ok = fix_json("{\"sub\":\"bob\",\"name\":\"Bob\",\"role\":\"engineer\"}");
    fd_ctx_init(&ctx, &f->lead, NULL);
    CX_EXPECT(FD_E_FORBIDDEN, ctx, chat_user_put(f->st, &ctx, "UBOB", ok, &out));
    fd_problem_clear(&ctx.problem);

    struct {
        const char *id, *body, *field;
        fd_err want;
    } bad[] = {
        {"UBOB", "{\"sub\":\"bob\",\"name\":\"Bob\",\"role\":\"captain\"}", "role", FD_E_INVALID},
        {"UBOB", "{\"sub\":\"bob\",\"name\":\"Bob\",\"role\":\"lead\",\"teams\":[\"nope\"]}",
         "teams[0]", FD_E_INVALID},
        {"UBOB", "{\"name\":\"Bob\",\"role\":\"lead\"}", "sub", FD_E_INVALID},
        {"U BOB", "{\"sub\":\"bob\",\"name\":\"Bob\",\"role\":\"lead\"}", "", FD_E_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = fix_json(bad[i].body);
        fd_ctx_init(&ctx, &f->admin, NULL);
        fd_err e = chat_user_put(f->st, &ctx, bad[i].id, body, &out);
        if (e != bad[i].want || strcmp(ctx.problem.field, bad[i].field) != 0)
            fail_msg("case %zu: %s '%s' %s", i, fd_err_name(e), ctx.problem.field,
                     ctx.problem.detail);
        fd_problem_clear(&ctx.problem);
        json_decref(body);
    }

    fd_ctx_init(&ctx, &f->admin, NULL);
    CX_EXPECT(FD_OK, ctx, chat_user_put(f->st, &ctx, "UBOB", ok, &out));
    assert_string_equal(last_action(f), "chatops.user.put");
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
    json_decref(out);
    CX_EXPECT(FD_OK, ctx, chat_user_put(f->st, &ctx, "UBOB", ok, &out));
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
    json_decref(out);
    CX_EXPECT(FD_OK, ctx, chat_user_get(f->st, &ctx, "UBOB", &out));
    assert_string_equal(json_string_value(json_object_get(out, "sub")), "bob");
    json_decref(out);
    CX_EXPECT(FD_OK, ctx, chat_user_delete(f->st, &ctx, "UBOB"));
    assert_string_equal(last_action(f), "chatops.user.delete");
    CX_EXPECT(FD_E_NOT_FOUND, ctx, chat_user_get(f->st, &ctx, "UBOB", &out));
    fd_problem_clear(&ctx.problem);
    CX_EXPECT(FD_E_NOT_FOUND, ctx, chat_user_delete(f->st, &ctx, "UBOB"));
    fd_problem_clear(&ctx.problem);
    json_decref(ok);

    /* once unmapped, chat can do nothing for them */
    reply r = say(f, "UBOB", "status msk");
    CX_CONTAINS(r.text, "not mapped");
    free(r.text);
}

/* ---- reading ----
 * Replies are Slack text: &, < and > are escaped (Slack shows &lt; as <), so the expected texts
 * below carry the escapes. */

static void help_and_unknown_commands(void **state)
{
    fixture *f = *state;
    reply r = say(f, "UALICE", "help");
    CX_CONTAINS(r.text, "/fd tick &lt;migration&gt; &lt;step&gt; [note]");
    CX_CONTAINS(r.text, "/fd go-around &lt;migration&gt; &lt;reason&gt;");
    free(r.text);
    r = say(f, "UALICE", "%s", "");
    CX_CONTAINS(r.text, "/fd status &lt;migration&gt;");
    free(r.text);
    r = say(f, "UALICE", "launch msk");
    assert_string_equal(r.type, "ephemeral");
    CX_CONTAINS(r.text, "I do not know \"launch\". `/fd help` lists the commands.");
    free(r.text);
    r = say(f, "UALICE", "tick");
    CX_CONTAINS(r.text, "Which migration? `/fd tick &lt;migration&gt;`");
    free(r.text);
    r = say(f, "UALICE", "status nope");
    CX_CONTAINS(r.text, "Refused: no migration nope");
    free(r.text);
}

static void status_and_next_show_the_step_numbers_to_type(void **state)
{
    fixture *f = *state;
    int64_t s0 = cx_step(f, 0, 0), s1 = cx_step(f, 0, 1), s2 = cx_step(f, 0, 2);
    char want[200];
    reply r = say(f, "UVIC", "status msk");
    assert_string_equal(r.type, "ephemeral");
    CX_CONTAINS(r.text, "*Replace the MSK cluster* (msk) is in_flight, stage takeoff: 0 of 3 done");
    snprintf(want, sizeof want, "Next: #%lld Announce in #data-stream, #%lld Freeze deploys",
             (long long)s0, (long long)s1);
    CX_CONTAINS(r.text, want);
    snprintf(want, sizeof want, "`/fd tick msk %lld`", (long long)s0);
    CX_CONTAINS(r.text, want);
    free(r.text);

    r = say(f, "UVIC", "next msk");
    snprintf(want, sizeof want,
             "#%lld Announce in #data-stream\n#%lld Freeze deploys\n#%lld Snapshot", (long long)s0,
             (long long)s1, (long long)s2);
    CX_CONTAINS(r.text, "Stage takeoff of msk, open steps:");
    CX_CONTAINS(r.text, want);
    free(r.text);

    /* the same for bots, as a document */
    fd_ctx ctx;
    json_t *next = NULL;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    CX_EXPECT(FD_OK, ctx, chat_next(f->st, &ctx, CX_MID, &next));
    json_t *open = json_object_get(next, "open_steps");
    assert_int_equal(json_array_size(open), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(open, 2), "id")), s2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(next, "stage"), "key")),
                        "takeoff");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(next, "next_stage"), "key")), "landing");
    assert_int_equal(json_array_size(json_object_get(json_object_get(next, "blocking"), "steps")),
                     3);
    json_decref(next);
    CX_EXPECT(FD_E_NOT_FOUND, ctx, chat_next(f->st, &ctx, "nope", &next));
    fd_problem_clear(&ctx.problem);
}

/* ---- changing ---- */

static void tick_changes_the_step_as_the_mapped_identity(void **state)
{
    fixture *f = *state;
    int64_t s0 = cx_step(f, 0, 0), s1 = cx_step(f, 0, 1);
    char want[200];
    reply r = say(f, "UALICE", "tick msk #%lld  announced at 14:02", (long long)s0);
    assert_string_equal(r.type, "in_channel");
    snprintf(want, sizeof want,
             "Alice ticked #%lld Announce in #data-stream in msk (announced at 14:02). Next: #%lld",
             (long long)s0, (long long)s1);
    CX_CONTAINS(r.text, want);
    free(r.text);

    json_t *step = cx_get_step(f, s0);
    assert_string_equal(json_string_value(json_object_get(step, "status")), "done");
    assert_string_equal(json_string_value(json_object_get(json_object_get(step, "by"), "sub")),
                        "alice");
    assert_string_equal(json_string_value(json_object_get(step, "note")), "announced at 14:02");
    json_decref(step);
    json_t *ev = last_event(f);
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "step.tick");
    assert_string_equal(json_string_value(json_object_get(ev, "source")), "bot");
    assert_string_equal(json_string_value(json_object_get(ev, "request_id")), "chat-test");
    json_decref(ev);

    /* second time: someone was first, and the reply says who */
    r = say(f, "ULENA", "tick msk %lld", (long long)s0);
    assert_string_equal(r.type, "ephemeral");
    CX_CONTAINS(r.text, "Refused: already ticked by Alice at");
    CX_CONTAINS(r.text, "`/fd status msk`");
    free(r.text);
}

static void step_errors_say_what_to_type_instead(void **state)
{
    fixture *f = *state;
    int64_t s0 = cx_step(f, 0, 0), landing = cx_step(f, 1, 0);
    char want[200];
    reply r = say(f, "UALICE", "tick msk twelve");
    CX_CONTAINS(r.text, "Which step? `/fd tick msk &lt;step&gt; [note]` - the #numbers are in "
                        "`/fd next msk`.");
    free(r.text);
    r = say(f, "UALICE", "tick msk 99999");
    CX_CONTAINS(r.text, "Refused: migration msk has no step 99999. `/fd next msk` lists");
    free(r.text);
    r = say(f, "UALICE", "tick msk %lld", (long long)landing);
    CX_CONTAINS(r.text, "stage landing is not active");
    free(r.text);
    r = say(f, "UALICE", "skip msk %lld", (long long)s0);
    snprintf(want, sizeof want, "A skip needs a reason: `/fd skip msk %lld &lt;reason&gt;`.",
             (long long)s0);
    CX_CONTAINS(r.text, want);
    free(r.text);
    r = say(f, "UVIC", "tick msk %lld", (long long)s0);
    CX_CONTAINS(r.text, "Refused: only an engineer can change steps; you are viewer.");
    CX_CONTAINS(r.text, "Your chat identity is viewer; an admin can change it (PUT "
                        "/api/chatops/users/UVIC).");
    free(r.text);
    json_t *step = cx_get_step(f, s0);
    assert_string_equal(json_string_value(json_object_get(step, "status")), "pending");
    json_decref(step);
}

static void skip_records_the_reason(void **state)
{
    fixture *f = *state;
    int64_t s2 = cx_step(f, 0, 2);
    reply r = say(f, "UALICE", "skip msk %lld topics are <empty> & unused", (long long)s2);
    assert_string_equal(r.type, "in_channel");
    /* Slack's control characters are escaped: a title or reason cannot ping @channel */
    CX_CONTAINS(r.text, "(topics are &lt;empty&gt; &amp; unused)");
    free(r.text);
    json_t *step = cx_get_step(f, s2);
    assert_string_equal(json_string_value(json_object_get(step, "status")), "skipped");
    assert_string_equal(json_string_value(json_object_get(step, "note")),
                        "topics are <empty> & unused");
    json_decref(step);
    assert_string_equal(last_action(f), "step.skip");
}

static void signoff_goes_through_the_gate(void **state)
{
    fixture *f = *state;
    fd_ctx ctx;
    json_t *body = fix_json("{\"signoffs\":[{\"team\":\"data-stream\",\"count\":1},"
                            "{\"team\":\"sre\",\"count\":1}]}"),
           *out = NULL;
    fd_ctx_init(&ctx, &f->lead, NULL);
    CX_EXPECT(FD_OK, ctx, gates_stage_patch(f->st, &ctx, CX_MID, "landing", body, &out));
    json_decref(body);
    json_decref(out);

    reply r = say(f, "UALICE", "next msk");
    CX_CONTAINS(r.text, "Stage landing still needs a go from: data-stream (0 of 1");
    CX_CONTAINS(r.text, "`/fd signoff msk landing go`");
    free(r.text);

    r = say(f, "UALICE", "signoff msk landing maybe");
    CX_CONTAINS(r.text, "Usage: `/fd signoff msk &lt;stage&gt; go|no_go [comment]`.");
    free(r.text);
    r = say(f, "UVIC", "signoff msk landing go");
    CX_CONTAINS(r.text, "needs a go from data-stream, sre; your chat identity is in none of these");
    free(r.text);

    r = say(f, "UALICE", "signoff msk landing go consumers ready");
    assert_string_equal(r.type, "in_channel");
    CX_CONTAINS(r.text,
                "Alice gave GO for data-stream on stage landing of msk. Still missing: sre");
    free(r.text);
    assert_string_equal(last_action(f), "signoff.create");
    json_t *ev = last_event(f);
    assert_string_equal(json_string_value(json_object_get(ev, "source")), "bot");
    json_decref(ev);

    r = say(f, "UALICE", "signoff msk nope go");
    CX_CONTAINS(r.text, "Refused:");
    free(r.text);
}

static void go_around_needs_a_lead_and_a_fresh_code(void **state)
{
    fixture *f = *state;
    reply r = say(f, "UALICE", "go-around msk consumers lagging");
    CX_CONTAINS(r.text, "Refused: only a lead can call a go-around; you are engineer.");
    free(r.text);
    r = say(f, "ULENA", "go-around msk");
    CX_CONTAINS(r.text, "A go-around needs a reason: `/fd go-around msk &lt;reason&gt;`.");
    free(r.text);
    r = say(f, "ULENA", "go-around msk confirm 123456");
    CX_CONTAINS(r.text, "No go-around of msk is waiting for your confirmation.");
    free(r.text);

    /* ask; the code comes back in the reply, for the asker only */
    r = say(f, "ULENA", "go-around msk consumers lagging");
    assert_string_equal(r.type, "ephemeral");
    CX_CONTAINS(r.text, "Go-around of msk requested: consumers lagging");
    const char *at = strstr(r.text, "go-around msk confirm ");
    assert_non_null(at);
    char code[7];
    memcpy(code, at + strlen("go-around msk confirm "), 6);
    code[6] = '\0';
    free(r.text);

    /* a wrong code spends the request: codes cannot be guessed */
    char wrong[12];
    snprintf(wrong, sizeof wrong, "%06d", (int)((strtol(code, NULL, 10) + 1) % 1000000));
    r = say(f, "ULENA", "go-around msk confirm %s", wrong);
    CX_CONTAINS(r.text, "That code does not match, and the request is cancelled.");
    free(r.text);
    r = say(f, "ULENA", "go-around msk confirm %s", code);
    CX_CONTAINS(r.text, "No go-around of msk is waiting");
    free(r.text);

    /* another user cannot confirm someone else's code */
    r = say(f, "ULENA", "go-around msk consumers lagging");
    at = strstr(r.text, "go-around msk confirm ");
    memcpy(code, at + strlen("go-around msk confirm "), 6);
    free(r.text);
    map(f, "ULEO", "{\"sub\":\"leo\",\"name\":\"Leo\",\"role\":\"lead\"}");
    r = say(f, "ULEO", "go-around msk confirm %s", code);
    CX_CONTAINS(r.text, "No go-around of msk is waiting for your confirmation.");
    free(r.text);

    /* a minute later the code has expired (the fake clock) */
    f->now += CHAT_CODE_TTL_MS + 1;
    r = say(f, "ULENA", "go-around msk confirm %s", code);
    CX_CONTAINS(r.text, "That code expired (it is valid for 60 s).");
    free(r.text);
}

static void a_confirmed_go_around_reaches_the_rollback(void **state)
{
    fixture *f = *state;
    size_t before = json_array_size(f->events);
    reply r = say(f, "ULENA", "go-around msk consumers lagging");
    const char *at = strstr(r.text, "go-around msk confirm ");
    char code[7];
    memcpy(code, at + strlen("go-around msk confirm "), 6);
    code[6] = '\0';
    free(r.text);
    f->now += CHAT_CODE_TTL_MS - 1000; /* still in time */
    r = say(f, "ULENA", "go-around msk confirm %s", code);
    /* no rollback PR is armed in this migration: the go-around feature says so, nothing merged */
    CX_CONTAINS(r.text, "has no rollback PR");
    CX_CONTAINS(r.text, "Nothing was merged.");
    free(r.text);
    assert_int_equal(json_array_size(f->events), before);

    r = say(f, "ULENA", "go-around msk confirm %s", code);
    CX_CONTAINS(r.text, "No go-around of msk is waiting"); /* the code was used */
    free(r.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unmapped_users_are_told_how_to_get_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(mapping_is_for_admins_and_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(help_and_unknown_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(status_and_next_show_the_step_numbers_to_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tick_changes_the_step_as_the_mapped_identity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(step_errors_say_what_to_type_instead, setup, teardown),
        cmocka_unit_test_setup_teardown(skip_records_the_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(signoff_goes_through_the_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(go_around_needs_a_lead_and_a_fresh_code, setup, teardown),
        cmocka_unit_test_setup_teardown(a_confirmed_go_around_reaches_the_rollback, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
