/*
 * config.c - flags, environment and key material for `flightdeck serve` (and `token`).
 */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/auth.h"

#define SECRET_FILE_MAX 4096

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void config_defaults(fd_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    snprintf(c->db_path, sizeof c->db_path, "./flightdeck.db");
    snprintf(c->web_dir, sizeof c->web_dir, "./web");
    c->request_timeout_ms = 10000;
    c->rate_limit = 200;
    c->rate_burst = 400;
    snprintf(c->github_api, sizeof c->github_api, "https://api.github.com");
    c->github_timeout_s = 10;
    c->rollback_check_s = 60;
}

void config_free(fd_config *c)
{
    if (c->jwt_secret != NULL) {
        OPENSSL_cleanse(c->jwt_secret, c->jwt_secret_len);
        free(c->jwt_secret);
    }
    free(c->jwt_public_pem);
    OPENSSL_cleanse(c->metrics_token, sizeof c->metrics_token);
    if (c->github_token != NULL) {
        OPENSSL_cleanse(c->github_token, strlen(c->github_token));
        free(c->github_token);
        c->github_token = NULL;
    }
    c->jwt_secret = NULL;
    c->jwt_secret_len = 0;
    c->jwt_public_pem = NULL;
    c->jwt_public_pem_len = 0;
}

int config_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon, *host_start, *host_end;

    if (s == NULL || *s == '\0')
        return -1;
    if (s[0] == '[') { /* [v6]:port */
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        host_start = s + 1;
        host_end = close;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return -1; /* no port, or a bare IPv6 address without brackets */
        host_start = s;
        host_end = colon;
    }
    size_t n = (size_t)(host_end - host_start);
    if (n >= hostlen)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = host_start[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == ':' || ch == '%' || ch == '_'))
            return -1;
    }

    const char *p = colon + 1;
    if (*p < '0' || *p > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
        return -1;

    if (n == 0) {
        snprintf(host, hostlen, "0.0.0.0"); /* ":8080" means every interface */
    } else {
        memcpy(host, host_start, n);
        host[n] = '\0';
    }
    *port = (int)v;
    return 0;
}

int config_parse_duration(const char *s, int64_t *seconds)
{
    char *end = NULL;
    long long unit = 1;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (*end != '\0') {
        switch (*end) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return -1;
        }
        if (end[1] != '\0')
            return -1;
    }
    if (v < 1 || v > 366LL * 86400 / unit)
        return -1;
    *seconds = (int64_t)(v * unit);
    return 0;
}

int config_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int rc = -1;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    *out = NULL;
    *len = 0;
    if (f == NULL)
        return -1;
    buf = malloc(max + 1);
    if (buf == NULL)
        goto done;
    n = fread(buf, 1, max + 1, f);
    if (ferror(f))
        goto done;
    if (n > max) {
        errno = EFBIG;
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
done:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, max + 1); /* may hold part of a secret */
        free(buf);
    }
    fclose(f);
    return rc;
}

/* Copy a string setting into a fixed field, refusing what does not fit. */
static int set_field(char *dst, size_t dstlen, const char *val, const char *name, char *err,
                     size_t errlen)
{
    if (strlen(val) >= dstlen || val[0] == '\0') {
        set_err(err, errlen, "%s is empty or too long", name);
        return -1;
    }
    snprintf(dst, dstlen, "%s", val);
    return 0;
}

static int set_listen(fd_config *c, const char *val, const char *origin, char *err, size_t errlen)
{
    if (config_parse_listen(val, c->listen_host, sizeof c->listen_host, &c->listen_port) != 0) {
        set_err(err, errlen, "%s: expected HOST:PORT (port 0-65535, [::1]:PORT for IPv6)", origin);
        return -1;
    }
    return 0;
}

int config_env_number(const char *name, long long min, long long max, long long *out, char *err,
                      size_t errlen)
{
    const char *v = getenv(name);
    char *end = NULL;

    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        set_err(err, errlen, "%s must be a whole number from %lld to %lld", name, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

/* The limits of a server facing hostile clients: timeouts, rate limit, the metrics token. */
static int parse_limits(fd_config *c, char *err, size_t errlen)
{
    long long timeout = c->request_timeout_ms, rate = (long long)c->rate_limit, burst = -1;
    const char *token = getenv("FLIGHTDECK_METRICS_TOKEN");

    if (config_env_number("FLIGHTDECK_REQUEST_TIMEOUT_MS", 100, 3600000, &timeout, err, errlen) !=
            0 ||
        config_env_number("FLIGHTDECK_RATE_LIMIT", 0, 1000000, &rate, err, errlen) != 0 ||
        config_env_number("FLIGHTDECK_RATE_BURST", 1, 10000000, &burst, err, errlen) != 0)
        return -1;
    c->request_timeout_ms = (int)timeout;
    c->rate_limit = (double)rate;
    c->rate_burst = burst > 0 ? (double)burst : 2.0 * (double)rate;
    if (token != NULL && *token != '\0' &&
        set_field(c->metrics_token, sizeof c->metrics_token, token, "FLIGHTDECK_METRICS_TOKEN", err,
                  errlen) != 0)
        return -1;
    return 0;
}

/* GitHub: where its API is, the token (from the environment or a file, trailing newline
 * ignored), and the timing of calls and re-checks. */
static int parse_github(fd_config *c, char *err, size_t errlen)
{
    const char *api = getenv("FLIGHTDECK_GITHUB_API");
    const char *token = getenv("FLIGHTDECK_GITHUB_TOKEN");
    const char *file = getenv("FLIGHTDECK_GITHUB_TOKEN_FILE");
    long long timeout = c->github_timeout_s, every = c->rollback_check_s;

    if (config_env_number("FLIGHTDECK_GITHUB_TIMEOUT_SECONDS", 1, 300, &timeout, err, errlen) !=
            0 ||
        config_env_number("FLIGHTDECK_ROLLBACK_CHECK_SECONDS", 1, 86400, &every, err, errlen) != 0)
        return -1;
    c->github_timeout_s = (int)timeout;
    c->rollback_check_s = (int)every;
    if (api != NULL && *api != '\0') {
        if ((strncmp(api, "https://", 8) != 0 && strncmp(api, "http://", 7) != 0) ||
            strpbrk(api, " \t\r\n?#") != NULL ||
            set_field(c->github_api, sizeof c->github_api, api, "FLIGHTDECK_GITHUB_API", err,
                      errlen) != 0) {
            set_err(err, errlen,
                    "FLIGHTDECK_GITHUB_API must be an http(s) URL such as "
                    "https://api.github.com or https://HOST/api/v3");
            return -1;
        }
        size_t n = strlen(c->github_api);
        while (n > 0 && c->github_api[n - 1] == '/')
            c->github_api[--n] = '\0';
    }
    if (token != NULL && *token == '\0')
        token = NULL;
    if (file != NULL && *file == '\0')
        file = NULL;
    if (token != NULL && file != NULL) {
        set_err(err, errlen,
                "set FLIGHTDECK_GITHUB_TOKEN or FLIGHTDECK_GITHUB_TOKEN_FILE, not both");
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    if (token != NULL) {
        buf = strdup(token);
        len = buf != NULL ? strlen(buf) : 0;
    } else if (file != NULL && config_read_file(file, SECRET_FILE_MAX, &buf, &len) != 0) {
        set_err(err, errlen,
                "cannot read FLIGHTDECK_GITHUB_TOKEN_FILE %s (missing, unreadable or larger "
                "than 4 KiB)",
                file);
        return -1;
    }
    if (buf == NULL && token == NULL)
        return 0; /* no token: GitHub is read anonymously and merges are refused */
    if (buf == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    /* it goes into an HTTP header: printable ASCII only */
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f) {
            OPENSSL_cleanse(buf, len);
            free(buf);
            set_err(err, errlen, "the GitHub token must be printable ASCII without spaces");
            return -1;
        }
    }
    if (len == 0) {
        free(buf);
        return 0;
    }
    if (c->github_token != NULL) {
        OPENSSL_cleanse(c->github_token, strlen(c->github_token));
        free(c->github_token);
    }
    c->github_token = buf;
    return 0;
}

int config_parse_serve(fd_config *c, int argc, char **argv, char *err, size_t errlen)
{
    const char *env;
    int flag_listen = 0, flag_db = 0, flag_web = 0;

    /* Flags first; the environment then fills only what no flag set, so a flag overrides
     * (and hides) its environment variable. */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;
        char name[32];
        const char *eq = strchr(arg, '=');

        if (strncmp(arg, "--", 2) != 0) {
            set_err(err, errlen, "unexpected argument '%s' (see --help)", arg);
            return -1;
        }
        size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name) {
            set_err(err, errlen, "unknown flag '%s' (see --help)", arg);
            return -1;
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';

        if (strcmp(name, "--help") == 0 || strcmp(name, "--dev") == 0 ||
            strcmp(name, "--cookie-secure") == 0) {
            if (eq != NULL) {
                set_err(err, errlen, "%s takes no value", name);
                return -1;
            }
            if (strcmp(name, "--help") == 0)
                c->help = 1;
            else if (strcmp(name, "--dev") == 0)
                c->dev = 1;
            else
                c->cookie_secure = 1;
            continue;
        }
        if (strcmp(name, "--listen") != 0 && strcmp(name, "--db") != 0 &&
            strcmp(name, "--web") != 0 && strcmp(name, "--demo") != 0) {
            set_err(err, errlen, "unknown flag '%s' (see --help)", name);
            return -1;
        }
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            set_err(err, errlen, "%s needs a value", name);
            return -1;
        }
        if (strcmp(name, "--listen") == 0) {
            if (set_listen(c, val, "--listen", err, errlen) != 0)
                return -1;
            flag_listen = 1;
        } else if (strcmp(name, "--db") == 0) {
            if (set_field(c->db_path, sizeof c->db_path, val, "--db", err, errlen) != 0)
                return -1;
            flag_db = 1;
        } else if (strcmp(name, "--web") == 0) {
            if (set_field(c->web_dir, sizeof c->web_dir, val, "--web", err, errlen) != 0)
                return -1;
            flag_web = 1;
        } else {
            if (set_field(c->demo_dir, sizeof c->demo_dir, val, "--demo", err, errlen) != 0)
                return -1;
        }
    }

    if (!flag_listen && (env = getenv("FLIGHTDECK_LISTEN")) != NULL && *env != '\0' &&
        set_listen(c, env, "FLIGHTDECK_LISTEN", err, errlen) != 0)
        return -1;
    if (!flag_db && (env = getenv("FLIGHTDECK_DB")) != NULL && *env != '\0' &&
        set_field(c->db_path, sizeof c->db_path, env, "FLIGHTDECK_DB", err, errlen) != 0)
        return -1;
    if (!flag_web && (env = getenv("FLIGHTDECK_WEB")) != NULL && *env != '\0' &&
        set_field(c->web_dir, sizeof c->web_dir, env, "FLIGHTDECK_WEB", err, errlen) != 0)
        return -1;
    if (!c->cookie_secure && (env = getenv("FLIGHTDECK_COOKIE_SECURE")) != NULL)
        c->cookie_secure = strcmp(env, "1") == 0 || strcmp(env, "true") == 0;
    if (parse_limits(c, err, errlen) != 0)
        return -1;
    return parse_github(c, err, errlen);
}

/* Take ownership of a secret buffer after checking its length; trims trailing whitespace. */
static int adopt_secret(fd_config *c, char *buf, size_t len, const char *origin, char *err,
                        size_t errlen)
{
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        buf[--len] = '\0';
    if (len < AUTH_SECRET_MIN) {
        OPENSSL_cleanse(buf, len);
        free(buf);
        set_err(err, errlen,
                "%s is shorter than 32 bytes; use a long random secret "
                "(e.g. openssl rand -hex 32)",
                origin);
        return -1;
    }
    if (c->jwt_secret != NULL) {
        OPENSSL_cleanse(c->jwt_secret, c->jwt_secret_len);
        free(c->jwt_secret);
    }
    c->jwt_secret = (unsigned char *)buf;
    c->jwt_secret_len = len;
    return 0;
}

int config_load_keys(fd_config *c, char *err, size_t errlen)
{
    const char *secret = getenv("FLIGHTDECK_JWT_SECRET");
    const char *secret_file = getenv("FLIGHTDECK_JWT_SECRET_FILE");
    const char *pub = getenv("FLIGHTDECK_JWT_PUBLIC_KEY");
    const char *iss = getenv("FLIGHTDECK_JWT_ISSUER");
    const char *aud = getenv("FLIGHTDECK_JWT_AUDIENCE");

    if (secret != NULL && *secret == '\0')
        secret = NULL;
    if (secret_file != NULL && *secret_file == '\0')
        secret_file = NULL;
    if (pub != NULL && *pub == '\0')
        pub = NULL;
    if (secret != NULL && secret_file != NULL) {
        set_err(err, errlen, "set FLIGHTDECK_JWT_SECRET or FLIGHTDECK_JWT_SECRET_FILE, not both");
        return -1;
    }
    if (secret != NULL) {
        size_t len = strlen(secret);
        char *buf = malloc(len + 1);
        if (buf == NULL) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        memcpy(buf, secret, len + 1);
        if (adopt_secret(c, buf, len, "FLIGHTDECK_JWT_SECRET", err, errlen) != 0)
            return -1;
    } else if (secret_file != NULL) {
        char *buf = NULL;
        size_t len = 0;
        if (config_read_file(secret_file, SECRET_FILE_MAX, &buf, &len) != 0) {
            set_err(err, errlen,
                    "cannot read FLIGHTDECK_JWT_SECRET_FILE %s (missing, unreadable "
                    "or larger than 4 KiB)",
                    secret_file);
            return -1;
        }
        if (adopt_secret(c, buf, len, "the secret in FLIGHTDECK_JWT_SECRET_FILE", err, errlen) != 0)
            return -1;
    }
    if (pub != NULL) {
        free(c->jwt_public_pem);
        c->jwt_public_pem = NULL;
        if (config_read_file(pub, 64 * 1024, &c->jwt_public_pem, &c->jwt_public_pem_len) != 0) {
            set_err(err, errlen,
                    "cannot read FLIGHTDECK_JWT_PUBLIC_KEY %s (missing, unreadable "
                    "or larger than 64 KiB)",
                    pub);
            return -1;
        }
    }
    if (iss != NULL && *iss != '\0' &&
        set_field(c->jwt_issuer, sizeof c->jwt_issuer, iss, "FLIGHTDECK_JWT_ISSUER", err, errlen) !=
            0)
        return -1;
    if (aud != NULL && *aud != '\0' &&
        set_field(c->jwt_audience, sizeof c->jwt_audience, aud, "FLIGHTDECK_JWT_AUDIENCE", err,
                  errlen) != 0)
        return -1;
    return 0;
}

int config_has_key(const fd_config *c)
{
    return c->jwt_secret != NULL || c->jwt_public_pem != NULL;
}

/* 32 random bytes as 64 hex digits: printable, so the file also works as FLIGHTDECK_JWT_SECRET. */
static int random_hex_secret(char out[65])
{
    unsigned char raw[32];
    static const char hex[] = "0123456789abcdef";

    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[64] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

int config_dev_secret(fd_config *c, char *err, size_t errlen)
{
    char path[CONFIG_PATH_MAX + 16];
    char hex[65];
    char *buf = NULL;
    size_t len = 0;
    int fd = -1;

    c->dev_secret_created = 0;
    if (strcmp(c->db_path, ":memory:") == 0) {
        if (random_hex_secret(hex) != 0 || (buf = strdup(hex)) == NULL) {
            set_err(err, errlen, "cannot generate a development secret");
            return -1;
        }
        OPENSSL_cleanse(hex, sizeof hex);
        return adopt_secret(c, buf, 64, "the development secret", err, errlen);
    }
    snprintf(path, sizeof path, "%s.dev-secret", c->db_path);

    if (config_read_file(path, SECRET_FILE_MAX, &buf, &len) == 0)
        return adopt_secret(c, buf, len, path, err, errlen);
    if (errno != ENOENT) {
        set_err(err, errlen, "cannot read the development secret %s", path);
        return -1;
    }

    /* O_EXCL: two servers starting at once must not each write a different secret. */
    if (random_hex_secret(hex) != 0) {
        set_err(err, errlen, "cannot generate a development secret");
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        OPENSSL_cleanse(hex, sizeof hex);
        set_err(err, errlen, "cannot create the development secret %s", path);
        return -1;
    }
    ssize_t w = write(fd, hex, 64);
    int wrote_ok = w == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!wrote_ok) {
        OPENSSL_cleanse(hex, sizeof hex);
        unlink(path);
        set_err(err, errlen, "cannot write the development secret %s", path);
        return -1;
    }
    buf = strdup(hex);
    OPENSSL_cleanse(hex, sizeof hex);
    if (buf == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    c->dev_secret_created = 1;
    return adopt_secret(c, buf, 64, path, err, errlen);
}
