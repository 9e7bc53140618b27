/*
 * slack.h - the Slack-compatible slash command endpoint: POST /api/chatops/slack.
 *
 * Slack signs every request: X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signing secret,
 * "v0:" + X-Slack-Request-Timestamp + ":" + raw body)). We refuse a request whose signature does
 * not match (compared in constant time), whose timestamp is more than 5 minutes old or more than
 * 5 minutes ahead, or whose exact signature was already seen in that window (a replay). The body
 * is form-encoded (user_id, text, command, ...); core/chat.c runs the command.
 *
 * Configuration: FLIGHTDECK_SLACK_SIGNING_SECRET, or FLIGHTDECK_SLACK_SIGNING_SECRET_FILE (not
 * both). Without it the endpoint answers 503. FLIGHTDECK_PUBLIC_URL (optional) is the address
 * people use to reach flightdeck, for the how-to-get-mapped hint; default http://<Host>.
 */
#ifndef FD_SLACK_H
#define FD_SLACK_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

#define SLACK_WINDOW_S 300 /* 5 minutes either way */

typedef enum slack_verdict {
    SLACK_OK = 0,
    SLACK_MALFORMED, /* a header is missing or not of the expected form */
    SLACK_STALE,     /* timestamp older than the window */
    SLACK_FUTURE,    /* timestamp further ahead than the window */
    SLACK_BAD_SIG,   /* the signature does not match */
    SLACK_REPLAY,    /* this exact signature was accepted already */
} slack_verdict;

/* A sentence for each verdict (for the 401 detail). */
const char *slack_verdict_text(slack_verdict v);

/*
 * Check a request's signature at time now_s (seconds since the epoch). ts/sig are the header
 * values (need not be NUL-terminated). Does not check replays.
 */
slack_verdict slack_verify(const unsigned char *secret, size_t secret_len, const char *ts,
                           size_t ts_len, const char *body, size_t body_len, const char *sig,
                           size_t sig_len, int64_t now_s);

/* Signatures accepted within the window, to refuse exact replays. Loop thread only. */
typedef struct slack_replay slack_replay;
slack_replay *slack_replay_new(void);
void slack_replay_free(slack_replay *r);
/* 1 when `sig` was recorded within SLACK_WINDOW_S of now_s; else records it and returns 0
 * (-1 when memory runs out: refuse the request). */
int slack_replay_check(slack_replay *r, const char *sig, size_t sig_len, int64_t ts_s,
                       int64_t now_s);

/*
 * The value of `key` in an application/x-www-form-urlencoded body, decoded ('+' is a space,
 * %XX a byte) into out (outlen bytes with room for the NUL). Returns 1 when found, 0 when absent,
 * -1 when the body is malformed anywhere (a bad escape, a decoded NUL) or the value does not fit.
 */
int slack_form_get(const char *body, size_t len, const char *key, char *out, size_t outlen);

/* Load the signing secret from the environment. 0 (also when none is configured), or -1 with a
 * sentence in err (both variables set, unreadable file, empty secret). */
int slack_config_load(char *err, size_t errlen);
/* Install a secret directly (tests); NULL clears it. Copied. */
void slack_set_secret(const char *secret, size_t len);
/* 1 when a signing secret is configured. */
int slack_configured(void);
/* Wipe and free the secret and the replay memory. */
void slack_shutdown(void);

/* POST /api/chatops/slack (a public route: the signature is the authentication). */
void slack_handle(api_call *c);

#endif
