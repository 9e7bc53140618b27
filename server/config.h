/*
 * config.h - the server's configuration: flags override environment, environment overrides
 * defaults.
 *
 *   flag              environment                    default
 *   --listen H:P      FLIGHTDECK_LISTEN              127.0.0.1:8080   (H:0 picks a free port)
 *   --db PATH         FLIGHTDECK_DB                  ./flightdeck.db
 *   --web DIR         FLIGHTDECK_WEB                 ./web
 *   --demo DIR        -                              (none) load demo data on first start
 *   --dev             -                              off: generate/keep <db>.dev-secret
 *   --cookie-secure   FLIGHTDECK_COOKIE_SECURE=1     off: add Secure to the session cookie
 *   -                 FLIGHTDECK_JWT_SECRET          HS256 secret (>= 32 bytes)
 *   -                 FLIGHTDECK_JWT_SECRET_FILE     file holding the HS256 secret
 *   -                 FLIGHTDECK_JWT_PUBLIC_KEY      PEM public key file (RS256/ES256)
 *   -                 FLIGHTDECK_JWT_ISSUER          required iss, when set
 *   -                 FLIGHTDECK_JWT_AUDIENCE        required aud, when set
 *   -                 FLIGHTDECK_REQUEST_TIMEOUT_MS  10000: a request's head and body must
 *                                                    arrive within this (slow clients are cut)
 *   -                 FLIGHTDECK_RATE_LIMIT          200 requests/s per user (per address when
 *                                                    unauthenticated); 0 disables
 *   -                 FLIGHTDECK_RATE_BURST          2 x the rate: requests allowed at once
 *   -                 FLIGHTDECK_METRICS_TOKEN       (none) GET /metrics is public; when set,
 *                                                    it wants "Authorization: Bearer <this>"
 *   -                 FLIGHTDECK_GITHUB_TOKEN        (none) token that reads and merges rollback
 *                                                    PRs; or FLIGHTDECK_GITHUB_TOKEN_FILE
 *   -                 FLIGHTDECK_GITHUB_API          https://api.github.com (Enterprise:
 *                                                    https://HOST/api/v3)
 *   -                 FLIGHTDECK_GITHUB_TIMEOUT_SECONDS  10: the longest one GitHub call may take
 *   -                 FLIGHTDECK_ROLLBACK_CHECK_SECONDS  60: re-check of armed rollback PRs
 *
 * Secrets are held only here (wiped by config_free) and never printed.
 */
#ifndef FD_CONFIG_H
#define FD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX 1024

typedef struct fd_config {
    char listen_host[256]; /* numeric address or name; "::1" without brackets */
    int listen_port;       /* 0..65535; 0 = the system picks a free port */
    char db_path[CONFIG_PATH_MAX];
    char web_dir[CONFIG_PATH_MAX];
    char demo_dir[CONFIG_PATH_MAX]; /* "" = no demo data */
    int dev;                        /* --dev: a generated secret is acceptable, /api/dev/users on */
    int cookie_secure;              /* add "Secure" to the session cookie */
    int help;                       /* --help was given: print usage, do nothing else */

    unsigned char *jwt_secret; /* owned, wiped by config_free; NULL when none */
    size_t jwt_secret_len;
    char *jwt_public_pem; /* owned; the content of FLIGHTDECK_JWT_PUBLIC_KEY; NULL = none */
    size_t jwt_public_pem_len;
    char jwt_issuer[256];   /* "" = not checked */
    char jwt_audience[256]; /* "" = not checked */
    int dev_secret_created; /* out of config_dev_secret: 1 when a new secret was written */

    int request_timeout_ms;  /* 100 .. 3600000 */
    double rate_limit;       /* requests/s per caller, 0 = off */
    double rate_burst;       /* bucket size */
    char metrics_token[256]; /* "" = /metrics is public */

    char *github_token;   /* owned, wiped by config_free; NULL = none (merges are refused) */
    char github_api[512]; /* GitHub's REST base URL, no trailing '/' */
    int github_timeout_s; /* each GitHub call, 1..300 */
    int rollback_check_s; /* how often armed rollbacks are re-checked, 1..86400 */
} fd_config;

/* Fill the defaults (no keys). */
void config_defaults(fd_config *c);

/*
 * Read the flags of `serve` (argv[0] is the sub-command name; parsing starts at argv[1]), then
 * the environment for what no flag set: a flag replaces its variable, even a malformed one.
 * Accepts "--flag value" and "--flag=value". Does not load keys.
 * Returns 0, or -1 with a sentence for the user in `err` (unknown flag, missing value, bad
 * listen address, ...).
 */
int config_parse_serve(fd_config *c, int argc, char **argv, char *err, size_t errlen);

/*
 * Load the JWT key material from the environment: FLIGHTDECK_JWT_SECRET or _SECRET_FILE (not
 * both; at least AUTH_SECRET_MIN bytes; a trailing newline in the file is ignored),
 * FLIGHTDECK_JWT_PUBLIC_KEY (read from the file named), FLIGHTDECK_JWT_ISSUER/_AUDIENCE.
 * Having no key at all is not an error here (see config_has_key). Returns 0 or -1 with `err`.
 */
int config_load_keys(fd_config *c, char *err, size_t errlen);

/* 1 when a secret or a public key is configured. */
int config_has_key(const fd_config *c);

/*
 * --dev without a configured key: read the secret kept in "<db>.dev-secret", or create it
 * (32 random bytes, hex, mode 0600) so tokens survive restarts. An in-memory database gets a
 * secret that lives as long as the process. Returns 0 or -1 with `err`.
 */
int config_dev_secret(fd_config *c, char *err, size_t errlen);

/* Wipe the secret and free what config owns. The struct may be reused after config_defaults. */
void config_free(fd_config *c);

/*
 * "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces) -> host (no brackets) and port 0..65535.
 * Returns 0 or -1.
 */
int config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/* "90s", "15m", "8h", "2d" or plain seconds -> seconds, 1 second .. 366 days. 0 or -1. */
int config_parse_duration(const char *s, int64_t *seconds);

/* A whole number from the environment variable `name` in [min, max]; absent or empty keeps *out.
 * Returns 0, or -1 with "NAME must be a whole number from MIN to MAX" in `err`. The one parser
 * of numeric settings (config, group commit, the outbound workers). */
int config_env_number(const char *name, long long min, long long max, long long *out, char *err,
                      size_t errlen);

/* Read a whole small file (at most `max` bytes) into a malloc'd NUL-terminated buffer.
 * Returns 0 with *out and *len, or -1 with errno set (EFBIG when larger than max). */
int config_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
