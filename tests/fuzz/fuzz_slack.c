/*
 * fuzz_slack.c - libFuzzer target: the Slack slash-command endpoint (server/slack.c): the form
 * parser, the request signature check, and whole signed requests through the front door into
 * the chat command language (core/chat*.c) on the seeded store (fuzz_store.h).
 *
 * The first input byte picks the mode; the rest is the material:
 *   0 a form body: slack_form_get for user_id, text, command and a key named by the body's
 *     first pair agrees with an independent application/x-www-form-urlencoded reader (found,
 *     absent, or malformed: a bad escape or a decoded NUL anywhere; too long for the buffer);
 *   1 "timestamp \n signature \n body": slack_verify accepts exactly when the signature is
 *     v0=hex(HMAC-SHA256(secret, "v0:" ts ":" body)) and ts is a number of seconds within five
 *     minutes of now; the correct signature for that input is always accepted when ts is fresh;
 *   2 a form body, signed by the harness with a fresh timestamp and POSTed to
 *     /api/chatops/slack as U1 (an engineer) or, with a third mode-byte bit, U2 (a lead) unless
 *     the body names its own user_id. The answer is a 200 Slack message (JSON with "text") or a
 *     problem, never a 500; a refusal changes nothing; every audit event written is complete
 *     (all 14 members) and the chains verify.
 * The replay memory is cleared before each input so that an input always replays alike.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/audit.h"
#include "core/check.h"
#include "core/chat.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/slack.h"
#include "tests/fuzz/fuzz_store.h"
#include "tests/unit/fake_h2o.h"

static const char SIGNING[] = "8f742231b10e8888abcd99yyyzzz85a5";
static const char JWT_SECRET[] = "fuzz-slack-jwt-secret-0123456789abcdef";
static fuzz_db db;
static auth_keys *keys;
static int64_t seeded_seq;

/* ---- mode 0: the form parser ------------------------------------------------------------ */

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one component; -1 when malformed. out has room for len + 1. */
static long ref_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= len + 0 || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0)
                return -1;
            c = hexv(s[i + 1]) * 16 + hexv(s[i + 2]);
            i += 2;
            if (c == 0)
                return -1; /* an escaped NUL; a raw one passes (see the report) */
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

/* The reference: 1 found (value in *val, malloc'd, *vlen bytes), 0 absent, -1 malformed. */
static int ref_form_get(const char *body, size_t len, const char *key, char **val, size_t *vlen)
{
    int found = 0;
    *val = NULL;
    *vlen = 0;
    char *buf = malloc(len + 1);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && body[j] != '&')
            j++;
        size_t eq = i;
        while (eq < j && body[eq] != '=')
            eq++;
        long n = ref_decode(body + i, eq - i, buf);
        if (n < 0)
            goto bad;
        int match = !found && (size_t)n == strlen(key) && memcmp(buf, key, (size_t)n) == 0;
        n = eq < j ? ref_decode(body + eq + 1, j - eq - 1, buf) : ref_decode("", 0, buf);
        if (n < 0)
            goto bad;
        if (match) {
            *val = malloc((size_t)n + 1);
            memcpy(*val, buf, (size_t)n + 1);
            *vlen = (size_t)n;
            found = 1;
        }
        i = j + 1;
    }
    free(buf);
    return found;
bad:
    free(buf);
    free(*val);
    *val = NULL;
    return -1;
}

static void check_form_key(const char *body, size_t len, const char *key, size_t outlen)
{
    char *want = NULL;
    size_t wlen = 0;
    char *out = malloc(outlen);
    int rw = ref_form_get(body, len, key, &want, &wlen);
    if (rw == 1 && wlen + 1 > outlen)
        rw = -1; /* does not fit */
    /* the value of the asked key must be text: UTF-8 without a NUL (the audit log is JSON) */
    if (rw == 1 && (memchr(want, '\0', wlen) != NULL || !check_is_utf8(want, wlen)))
        rw = -1;
    int rg = slack_form_get(body, len, key, out, outlen);
    FUZZ_CHECK(rg == rw, "slack_form_get(%s) = %d, the reference says %d", key, rg, rw);
    if (rg == 1)
        FUZZ_CHECK(memcmp(out, want, wlen + 1) == 0, "value of %s differs", key);
    free(out);
    free(want);
}

static void mode_form(const char *d, size_t n)
{
    check_form_key(d, n, "user_id", 65);
    check_form_key(d, n, "text", 4001);
    check_form_key(d, n, "command", 64);
    check_form_key(d, n, "text", 8); /* a small buffer: "does not fit" */
    /* the first pair's own name, when it decodes to something short */
    char name[40];
    size_t k = 0;
    while (k < n && k < 39 && d[k] != '=' && d[k] != '&' && d[k] != '%' && d[k] != '+' &&
           d[k] != '\0') {
        name[k] = d[k];
        k++;
    }
    name[k] = '\0';
    /* at most 20: an escaped spelling of it stays under the parser's 64-byte name limit */
    if (k > 0 && k <= 20)
        check_form_key(d, n, name, 64);
}

/* ---- mode 1: the signature ------------------------------------------------------------- */

static void sign(const char *ts, size_t tslen, const char *body, size_t blen, char out[68])
{
    size_t n = 3 + tslen + 1 + blen;
    unsigned char *base = malloc(n + 1), mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    memcpy(base, "v0:", 3);
    memcpy(base + 3, ts, tslen);
    base[3 + tslen] = ':';
    memcpy(base + 4 + tslen, body, blen);
    HMAC(EVP_sha256(), SIGNING, (int)strlen(SIGNING), base, n, mac, &maclen);
    free(base);
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "v0=", 3);
    for (unsigned i = 0; i < maclen; i++) {
        out[3 + 2 * i] = hex[mac[i] >> 4];
        out[4 + 2 * i] = hex[mac[i] & 15];
    }
    out[3 + 2 * maclen] = '\0';
}

/* Seconds in ts when it is all digits (at most 18); -1 otherwise. */
static int64_t ref_seconds(const char *ts, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (ts[i] < '0' || ts[i] > '9')
            return -1;
        v = v * 10 + (ts[i] - '0');
    }
    return v;
}

static void mode_verify(const char *d, size_t n)
{
    const char *nl1 = memchr(d, '\n', n);
    const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', n - (size_t)(nl1 + 1 - d)) : NULL;
    if (nl2 == NULL)
        return;
    const char *ts = d, *sig = nl1 + 1, *body = nl2 + 1;
    size_t tslen = (size_t)(nl1 - d), siglen = (size_t)(nl2 - sig), blen = n - (size_t)(body - d);
    int64_t now = 1773169200;
    char good[68];
    sign(ts, tslen, body, blen, good);
    int64_t t = ref_seconds(ts, tslen);
    int fresh = t >= 0 && t >= now - SLACK_WINDOW_S && t <= now + SLACK_WINDOW_S;

    slack_verdict v = slack_verify((const unsigned char *)SIGNING, strlen(SIGNING), ts, tslen, body,
                                   blen, sig, siglen, now);
    int sig_ok = siglen == strlen(good) && memcmp(sig, good, siglen) == 0;
    if (v == SLACK_OK)
        FUZZ_CHECK(sig_ok && fresh, "accepted a %s signature with %s timestamp",
                   sig_ok ? "good" : "bad", fresh ? "a fresh" : "a stale");
    else if (sig_ok && fresh)
        FUZZ_CHECK(0, "refused a good signature with a fresh timestamp (%s)",
                   slack_verdict_text(v));
    /* and the correct signature for this input */
    v = slack_verify((const unsigned char *)SIGNING, strlen(SIGNING), ts, tslen, body, blen, good,
                     strlen(good), now);
    FUZZ_CHECK((v == SLACK_OK) == fresh, "correct signature: verdict %d, fresh %d", (int)v, fresh);
}

/* ---- mode 2: whole requests ------------------------------------------------------------ */

static void check_events(void)
{
    static const char *const members[] = {"seq",        "migration", "at",     "actor", "source",
                                          "action",     "target",    "before", "after", "note",
                                          "request_id", "prev_hash", "hash",   NULL};
    audit_cursor cur;
    fd_buf out = {0};
    int done = 0;
    if (audit_cursor_open(db.st, NULL, seeded_seq, FD_AUDIT_NDJSON, &cur) != FD_OK)
        abort();
    while (!done)
        FUZZ_CHECK(audit_export_chunk(db.st, &cur, &out, 1 << 20, &done) == FD_OK, "export");
    for (size_t i = 0; i < out.len;) {
        const char *nl = memchr(out.data + i, '\n', out.len - i);
        json_t *ev = json_loadb(out.data + i, (size_t)(nl - out.data) - i, 0, NULL);
        FUZZ_CHECK(json_is_object(ev), "an event does not parse");
        for (int k = 0; members[k] != NULL; k++)
            FUZZ_CHECK(json_object_get(ev, members[k]) != NULL ||
                           (strcmp(members[k], "note") == 0 && known("note-utf8")),
                       "event %s (%s) has no %s", json_string_value(json_object_get(ev, "action")),
                       json_string_value(json_object_get(ev, "target")), members[k]);
        json_decref(ev);
        i = (size_t)(nl - out.data) + 1;
    }
    fd_buf_free(&out);
    const char *mids[] = {NULL, FUZZ_MID};
    for (int i = 0; i < 2; i++) {
        json_t *v = NULL;
        FUZZ_CHECK(audit_verify(db.st, mids[i], &v) == FD_OK &&
                       json_is_true(json_object_get(v, "ok")),
                   "chain %s broken", mids[i] ? mids[i] : "(global)");
        json_decref(v);
    }
}

static void mode_request(const char *d, size_t n, int lead)
{
    /* user_id first unless the body brings its own */
    const char *user = lead ? "user_id=U2&" : "user_id=U1&";
    size_t ulen = strncmp(d, "user_id=", n < 8 ? n : 8) == 0 && n >= 8 ? 0 : strlen(user);
    char *body = malloc(ulen + n + 1);
    memcpy(body, user, ulen);
    memcpy(body + ulen, d, n);
    size_t blen = ulen + n;

    char ts[24], sig[68];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    sign(ts, strlen(ts), body, blen, sig);

    fake_conn *fc = fake_new_len("POST", "/api/chatops/slack", body, blen);
    h2o_req_t *req = &fc->req;
    h2o_add_header_by_str(&req->pool, &req->headers, H2O_STRLIT("x-slack-request-timestamp"), 1,
                          NULL, h2o_strdup(&req->pool, ts, strlen(ts)).base, strlen(ts));
    h2o_add_header_by_str(&req->pool, &req->headers, H2O_STRLIT("x-slack-signature"), 1, NULL,
                          h2o_strdup(&req->pool, sig, strlen(sig)).base, strlen(sig));
    h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/x-www-form-urlencoded"));

    FUZZ_CHECK(http_handle(req) == 0 && fc->complete == 1, "the slack request was not answered");
    int status = req->res.status;
    /* Known bug "chat-utf8": a text, user_id or command that is not UTF-8 is carried out (a tick
     * with such a note commits), then the chat reply quoting it cannot be built (json_pack refuses
     * it), chat_execute returns NULL and slack_handle answers 500 "out of memory" */
    int bad_text = 0;
    static const char *const fields[] = {"text", "user_id", "command"};
    for (int i = 0; i < 3; i++) {
        char *v = NULL;
        size_t vlen = 0;
        bad_text |= ref_form_get(body, blen, fields[i], &v, &vlen) == 1 && !utf8_valid(v, vlen);
        free(v);
    }
    FUZZ_CHECK(status != 500 || (bad_text && known("chat-utf8")), "internal error: %s", fc->body);
    if (status == 500) {
        fake_free(fc);
        free(body);
        return;
    }
    json_t *doc = json_loadb(fc->body, fc->body_len, 0, NULL);
    if (status == 200) {
        FUZZ_CHECK(json_is_string(json_object_get(doc, "text")), "a 200 without a message: %s",
                   fc->body);
        check_events();
    } else {
        FUZZ_CHECK(status == 400 || status == 401 || status == 413 || status == 429, "status %d",
                   status);
        FUZZ_CHECK(!fuzz_db_changed(&db), "refused with %d, yet the database changed", status);
        /* known bug "problem-utf8" (see fuzz_api.c) can leave the body empty */
        FUZZ_CHECK(doc != NULL || known("problem-utf8"), "a %d without a problem: %s", status,
                   fc->body);
    }
    json_decref(doc);
    fake_free(fc);
    free(body);
}

static void seed_chat_users(fd_store *st)
{
    fd_actor admin = fuzz_actor("root", "Root", FD_ROLE_ADMIN);
    static const char *const users[][2] = {
        {"U1", "{\"sub\":\"alice\",\"name\":\"Alice\",\"role\":\"engineer\","
               "\"teams\":[\"data-stream\"]}"},
        {"U2", "{\"sub\":\"lena\",\"name\":\"Lena\",\"role\":\"lead\"}"},
    };
    for (int i = 0; i < 2; i++) {
        fd_ctx ctx;
        json_t *body = json_loads(users[i][1], 0, NULL), *out = NULL;
        fd_ctx_init(&ctx, &admin, "seed");
        fuzz_need(chat_user_put(st, &ctx, users[i][0], body, &out), &ctx, "chat_user_put");
        json_decref(body);
        json_decref(out);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[200];
    fake_h2o_setup();
    fuzz_db_open(&db, seed_chat_users);
    seeded_seq = audit_last_seq(db.st);
    if (auth_keys_new((const unsigned char *)JWT_SECRET, strlen(JWT_SECRET), NULL, 0, NULL, NULL,
                      &keys, err, sizeof err) != 0)
        abort();
    http_set_context(db.st, keys, 0, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    size_t n = size - 1;
    char *d = malloc(n + 1); /* +1 only so that n == 0 is a valid pointer; never read */
    memcpy(d, data + 1, n);
    switch (data[0] % 3) {
    case 0:
        mode_form(d, n);
        break;
    case 1:
        mode_verify(d, n);
        break;
    default:
        fuzz_db_begin(&db);
        slack_shutdown(); /* forget seen signatures: every input replays alike */
        slack_set_secret(SIGNING, strlen(SIGNING));
        mode_request(d, n, (data[0] & 4) != 0);
        break;
    }
    free(d);
    return 0;
}
