/*
 * slack.c - the Slack slash command endpoint: signature, replay window, form body, then
 * core/chat.c (see slack.h).
 */
#include "server/slack.h"
#include "core/check.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/reply.h"
#include "core/chat.h"
#include "server/config.h"

#define SECRET_MAX 1024
#define SIG_LEN 67 /* "v0=" + 64 hex digits */
#define TEXT_MAX 4000

/* ---- signature ---- */

const char *slack_verdict_text(slack_verdict v)
{
    switch (v) {
    case SLACK_OK:
        return "The signature is valid.";
    case SLACK_MALFORMED:
        return "The request must carry X-Slack-Request-Timestamp (seconds) and X-Slack-Signature "
               "(v0=<64 hex digits>), as Slack sends them.";
    case SLACK_STALE:
        return "The request timestamp is more than 5 minutes old; Slack requests are accepted "
               "only within 5 minutes (check the clock).";
    case SLACK_FUTURE:
        return "The request timestamp is more than 5 minutes in the future (check the clock).";
    case SLACK_BAD_SIG:
        return "The Slack signature does not match: check that flightdeck and the Slack app use "
               "the same signing secret.";
    case SLACK_REPLAY:
        return "This exact request was already received: replays are refused.";
    }
    return "Invalid Slack request.";
}

/* Decimal seconds, range-checked; 0 or -1. */
static int parse_seconds(const char *s, size_t len, int64_t *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

slack_verdict slack_verify(const unsigned char *secret, size_t secret_len, const char *ts,
                           size_t ts_len, const char *body, size_t body_len, const char *sig,
                           size_t sig_len, int64_t now_s)
{
    int64_t t;
    if (secret == NULL || secret_len == 0 || ts == NULL || sig == NULL ||
        parse_seconds(ts, ts_len, &t) != 0 || sig_len != SIG_LEN || memcmp(sig, "v0=", 3) != 0)
        return SLACK_MALFORMED;
    if (t < now_s - SLACK_WINDOW_S)
        return SLACK_STALE;
    if (t > now_s + SLACK_WINDOW_S)
        return SLACK_FUTURE;

    /* HMAC over "v0:" ts ":" body, fed in pieces: the body is never copied */
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    int ok = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *m = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    if (m != NULL && EVP_MAC_init(m, secret, secret_len, params) == 1 &&
        EVP_MAC_update(m, (const unsigned char *)"v0:", 3) == 1 &&
        EVP_MAC_update(m, (const unsigned char *)ts, ts_len) == 1 &&
        EVP_MAC_update(m, (const unsigned char *)":", 1) == 1 &&
        (body_len == 0 || EVP_MAC_update(m, (const unsigned char *)body, body_len) == 1) &&
        EVP_MAC_final(m, md, &mdlen, sizeof md) == 1 && mdlen == 32)
        ok = 1;
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(mac);
    if (!ok)
        return SLACK_BAD_SIG;
    char expect[SIG_LEN + 1] = "v0=";
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        expect[3 + 2 * i] = hex[md[i] >> 4];
        expect[3 + 2 * i + 1] = hex[md[i] & 15];
    }
    expect[SIG_LEN] = '\0';
    /* constant time: how much of a guess matched must not show in the timing */
    return CRYPTO_memcmp(expect, sig, SIG_LEN) == 0 ? SLACK_OK : SLACK_BAD_SIG;
}

/* ---- replay window ---- */

typedef struct seen_sig {
    char sig[SIG_LEN + 1];
    int64_t ts;
} seen_sig;

struct slack_replay {
    seen_sig *items;
    size_t n, cap;
};

slack_replay *slack_replay_new(void)
{
    return calloc(1, sizeof(slack_replay));
}

void slack_replay_free(slack_replay *r)
{
    if (r == NULL)
        return;
    free(r->items);
    free(r);
}

int slack_replay_check(slack_replay *r, const char *sig, size_t sig_len, int64_t ts_s,
                       int64_t now_s)
{
    if (sig_len > SIG_LEN)
        return -1;
    /* forget what the window no longer accepts anyway (its timestamp would be stale) */
    size_t keep = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].ts >= now_s - SLACK_WINDOW_S)
            r->items[keep++] = r->items[i];
    r->n = keep;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->items[i].sig) == sig_len && memcmp(r->items[i].sig, sig, sig_len) == 0)
            return 1;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        seen_sig *bigger = realloc(r->items, cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        r->items = bigger;
        r->cap = cap;
    }
    memcpy(r->items[r->n].sig, sig, sig_len);
    r->items[r->n].sig[sig_len] = '\0';
    r->items[r->n].ts = ts_s;
    r->n++;
    return 0;
}

/* ---- the form body ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode s[0..len) into out (NULL: only validate). Returns the decoded length or -1. */
static long form_decode(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            if (c == '\0')
                return -1;
            i += 2;
        }
        if (out != NULL) {
            if (o + 1 >= outlen)
                return -1;
            out[o] = c;
        }
        o++;
    }
    if (out != NULL)
        out[o] = '\0';
    return (long)o;
}

int slack_form_get(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    int found = 0;
    size_t i = 0;
    while (i < len) {
        const char *pair = body + i;
        const char *amp = memchr(pair, '&', len - i);
        size_t plen = amp ? (size_t)(amp - pair) : len - i;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq ? (size_t)(eq - pair) : plen;
        const char *val = eq ? eq + 1 : pair + plen;
        size_t vlen = eq ? plen - nlen - 1 : 0;
        char name[64];
        if (form_decode(pair, nlen, NULL, 0) < 0 || form_decode(val, vlen, NULL, 0) < 0)
            return -1;
        /* a name longer than any key we ask for simply does not match */
        long n = nlen < sizeof name ? form_decode(pair, nlen, name, sizeof name) : -1;
        if (!found && n >= 0 && (size_t)n == klen && memcmp(name, key, klen) == 0) {
            long vn = form_decode(val, vlen, out, outlen);
            /* a value is text for the audit log (JSON): UTF-8, and no NUL to cut it short */
            if (vn < 0 || memchr(out, '\0', (size_t)vn) != NULL ||
                !check_is_utf8(out, (size_t)vn))
                return -1;
            found = 1;
        }
        i += plen + 1;
    }
    return found;
}

/* ---- configuration ---- */

static struct {
    unsigned char *secret;
    size_t secret_len;
    slack_replay *seen;
} S;

void slack_set_secret(const char *secret, size_t len)
{
    if (S.secret != NULL) {
        OPENSSL_cleanse(S.secret, S.secret_len);
        free(S.secret);
    }
    S.secret = NULL;
    S.secret_len = 0;
    if (secret == NULL || len == 0)
        return;
    S.secret = malloc(len);
    if (S.secret == NULL)
        return;
    memcpy(S.secret, secret, len);
    S.secret_len = len;
}

int slack_configured(void)
{
    return S.secret != NULL;
}

void slack_shutdown(void)
{
    slack_set_secret(NULL, 0);
    slack_replay_free(S.seen);
    S.seen = NULL;
}

int slack_config_load(char *err, size_t errlen)
{
    const char *v = getenv("FLIGHTDECK_SLACK_SIGNING_SECRET");
    const char *f = getenv("FLIGHTDECK_SLACK_SIGNING_SECRET_FILE");
    if (v != NULL && *v == '\0')
        v = NULL;
    if (f != NULL && *f == '\0')
        f = NULL;
    if (v != NULL && f != NULL) {
        snprintf(err, errlen,
                 "set FLIGHTDECK_SLACK_SIGNING_SECRET or "
                 "FLIGHTDECK_SLACK_SIGNING_SECRET_FILE, not both");
        return -1;
    }
    if (v != NULL) {
        slack_set_secret(v, strlen(v));
        return 0;
    }
    if (f == NULL)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    if (config_read_file(f, SECRET_MAX, &buf, &len) != 0) {
        snprintf(err, errlen, "cannot read the Slack signing secret file %s: %s", f,
                 strerror(errno));
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0) {
        snprintf(err, errlen, "the Slack signing secret file %s is empty", f);
        free(buf);
        return -1;
    }
    slack_set_secret(buf, len);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return 0;
}

/* ---- the endpoint ---- */

/* A request header's value (not NUL-terminated), or a zero iovec. */
static h2o_iovec_t header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i == -1)
        return h2o_iovec_init(NULL, 0);
    return req->headers.entries[i].value;
}

/* Where people reach flightdeck, for the hint an unmapped user gets. */
static const char *public_url(h2o_req_t *req)
{
    const char *env = getenv("FLIGHTDECK_PUBLIC_URL");
    if (env != NULL && *env != '\0')
        return env;
    size_t n = req->authority.len < 200 ? req->authority.len : 200;
    char buf[256];
    snprintf(buf, sizeof buf, "http://%.*s", (int)n,
             req->authority.base ? req->authority.base : "");
    return h2o_strdup(&req->pool, buf, strlen(buf)).base;
}

static void refuse(api_call *c, fd_err e, const char *detail)
{
    fd_fail(&c->ctx.problem, e, NULL, "%s", detail);
    api_reply_error(c, e, &c->ctx.problem);
}

void slack_handle(api_call *c)
{
    h2o_req_t *req = c->req;
    if (!slack_configured()) {
        refuse(c, FD_E_UNAVAILABLE,
               "Chatops is not configured: set FLIGHTDECK_SLACK_SIGNING_SECRET (or _FILE) to the "
               "Slack app's signing secret and restart flightdeck.");
        return;
    }
    h2o_iovec_t ts = header(req, "x-slack-request-timestamp");
    h2o_iovec_t sig = header(req, "x-slack-signature");
    int64_t now = (int64_t)time(NULL), t = 0;
    slack_verdict v = slack_verify(S.secret, S.secret_len, ts.base, ts.len, req->entity.base,
                                   req->entity.len, sig.base, sig.len, now);
    if (v != SLACK_OK) {
        refuse(c, FD_E_UNAUTHENTICATED, slack_verdict_text(v));
        return;
    }
    /* only a valid signature is remembered: garbage cannot fill the replay memory */
    parse_seconds(ts.base, ts.len, &t);
    if (S.seen == NULL)
        S.seen = slack_replay_new();
    int seen = S.seen != NULL ? slack_replay_check(S.seen, sig.base, sig.len, t, now) : -1;
    if (seen > 0) {
        refuse(c, FD_E_UNAUTHENTICATED, slack_verdict_text(SLACK_REPLAY));
        return;
    }
    if (seen < 0) {
        refuse(c, FD_E_INTERNAL, "out of memory");
        return;
    }

    char user[CHAT_USER_MAX + 1], command[64], *text = h2o_mem_alloc_pool(&req->pool, TEXT_MAX + 1);
    const char *body = req->entity.base != NULL ? req->entity.base : "";
    int ru = slack_form_get(body, req->entity.len, "user_id", user, sizeof user);
    int rt = slack_form_get(body, req->entity.len, "text", text, TEXT_MAX + 1);
    int rc = slack_form_get(body, req->entity.len, "command", command, sizeof command);
    if (ru < 0 || rt < 0 || rc < 0 || ru == 0) {
        refuse(c, FD_E_BAD_REQUEST,
               "The body must be form-encoded UTF-8 as Slack sends slash commands, with user_id "
               "(and text, command); text may have at most 4000 characters.");
        return;
    }
    if (rt == 0)
        text[0] = '\0';
    if (rc == 0)
        command[0] = '\0';
    chat_request r = {
        .chat_user = user,
        .text = text,
        .command = command,
        .base_url = public_url(req),
        .request_id = c->request_id,
    };
    json_t *reply = chat_execute(c->st, &r);
    if (reply == NULL) {
        refuse(c, FD_E_INTERNAL, "out of memory");
        return;
    }
    api_reply_json(c, 200, reply, -1);
}
