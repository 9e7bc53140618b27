/*
 * harness.c - the server process and the command line: start, wait until ready, stop, run
 * sub-commands, mint and forge tokens. The HTTP side is in client.c.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_bin[PATH_MAX];
static char g_repo[PATH_MAX];

/* Variables of the caller's shell that would change what the server under test does. */
static const char *const g_scrub[] = {
    "FLIGHTDECK_LISTEN",
    "FLIGHTDECK_DB",
    "FLIGHTDECK_WEB",
    "FLIGHTDECK_JWT_SECRET",
    "FLIGHTDECK_JWT_SECRET_FILE",
    "FLIGHTDECK_JWT_PUBLIC_KEY",
    "FLIGHTDECK_JWT_ISSUER",
    "FLIGHTDECK_JWT_AUDIENCE",
    "FLIGHTDECK_REQUEST_TIMEOUT_MS",
    "FLIGHTDECK_RATE_LIMIT",
    "FLIGHTDECK_RATE_BURST",
    "FLIGHTDECK_METRICS_TOKEN",
    NULL,
};

void h_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN); /* a server that closes early must not kill the test */
    if (!getcwd(g_repo, sizeof g_repo)) {
        perror("getcwd");
        exit(2);
    }
    const char *bin = getenv("FLIGHTDECK_BIN");
    if (!bin || !*bin) {
        /* convenient when a test is run by hand from the repo root */
        bin = "build/flightdeck";
    }
    if (!realpath(bin, g_bin)) {
        fprintf(stderr, "harness: FLIGHTDECK_BIN %s: %s\n", bin, strerror(errno));
        exit(2);
    }
}

const char *h_bin(void)
{
    return g_bin;
}
const char *h_repo(void)
{
    return g_repo;
}

char *h_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    assert_non_null(s);
    return s;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int h_server_init(h_server *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/fd-integ-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->db, sizeof s->db, "%s/fd.db", s->dir);
    snprintf(s->out_log, sizeof s->out_log, "%s/stdout.log", s->dir);
    snprintf(s->err_log, sizeof s->err_log, "%s/stderr.log", s->dir);
    return 0;
}

/* In the child: clean FLIGHTDECK_* from the environment, set the test secret, apply edits. */
static void child_env(const char *const *env)
{
    for (int i = 0; g_scrub[i]; i++)
        unsetenv(g_scrub[i]);
    setenv("FLIGHTDECK_JWT_SECRET", H_SECRET, 1);
    for (int i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (eq) {
            char name[128];
            size_t n = (size_t)(eq - env[i]);
            if (n >= sizeof name)
                continue;
            memcpy(name, env[i], n);
            name[n] = '\0';
            setenv(name, eq + 1, 1);
        } else {
            unsetenv(env[i]);
        }
    }
}

/* fork + exec g_bin with args; stdout/stderr to the given files. Returns the pid or -1. */
static pid_t spawn(const char *const *args, const char *const *env, const char *out_path,
                   const char *err_path)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = g_bin;
    for (int i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0)
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    child_env(env);
    execv(g_bin, (char *const *)argv);
    _exit(127);
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* Wait up to ms for pid; 0 with *code set when it exited, -1 while still running. */
static int wait_exit(pid_t pid, int ms, int *code)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *code = decode_status(st);
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            *code = -1;
            return 0;
        }
        if (now_ms() >= end)
            return -1;
        sleep_ms(5);
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(mem);
    fclose(f);
    return buf;
}

/* Find "flightdeck: listening on http://HOST:PORT" in the stdout log. 0 when found. */
static int parse_ready(h_server *s)
{
    char *text = read_file(s->out_log);
    const char *tag = "flightdeck: listening on http://";
    char *line = strstr(text, tag);
    int rc = -1;
    if (line && strchr(line, '\n')) {
        char *hp = line + strlen(tag);
        char *colon = strrchr(hp, ':');
        char *nl = strchr(hp, '\n');
        if (colon && colon < nl && (size_t)(colon - hp) < sizeof s->host) {
            memcpy(s->host, hp, (size_t)(colon - hp));
            s->host[colon - hp] = '\0';
            char *end = NULL;
            errno = 0;
            long port = strtol(colon + 1, &end, 10);
            if (errno == 0 && end != colon + 1 && port > 0 && port < 65536) {
                s->port = (int)port;
                snprintf(s->base, sizeof s->base, "http://%s:%d", s->host, s->port);
                rc = 0;
            }
        }
    }
    free(text);
    return rc;
}

int h_start(h_server *s, const char *const *extra, const char *const *env)
{
    char web[PATH_MAX + 8];
    snprintf(web, sizeof web, "%s/web", g_repo);
    const char *args[48] = {"serve", "--listen", "127.0.0.1:0", "--db", s->db, "--web", web};
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 47; i++)
        args[n++] = extra[i];
    args[n] = NULL;

    s->port = 0;
    s->exit_code = 0;
    /* the previous run's ready line must not be mistaken for this one's: the child truncates
     * the logs only after fork, and we may look before it does */
    unlink(s->out_log);
    unlink(s->err_log);
    s->pid = spawn(args, env, s->out_log, s->err_log);
    if (s->pid < 0)
        return -1;
    /* generous: the sanitizer build starts slowly on a loaded 2-core machine */
    int64_t end = now_ms() + 20000;
    while (now_ms() < end) {
        if (parse_ready(s) == 0)
            return 0;
        int code;
        if (wait_exit(s->pid, 0, &code) == 0) {
            s->exit_code = code;
            s->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "harness: server did not print its ready line within 20 s\n");
    kill(s->pid, SIGKILL);
    wait_exit(s->pid, 5000, &s->exit_code);
    s->pid = 0;
    return -1;
}

void h_start_ok(h_server *s)
{
    if (h_start(s, NULL, NULL) != 0) {
        h_dump_logs(s);
        fail_msg("the server did not start (exit code %d)", s->exit_code);
    }
}

int h_stop(h_server *s, int sig, int ms)
{
    if (s->pid <= 0)
        return 0;
    kill(s->pid, sig);
    if (wait_exit(s->pid, ms, &s->exit_code) == 0) {
        s->pid = 0;
        return 0;
    }
    kill(s->pid, SIGKILL);
    wait_exit(s->pid, 5000, &s->exit_code);
    s->pid = 0;
    return -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void h_destroy(h_server *s)
{
    if (s->pid > 0) {
        int code;
        kill(s->pid, SIGKILL);
        wait_exit(s->pid, 5000, &code);
        s->pid = 0;
    }
    if (s->dir[0] && !getenv("H_KEEP"))
        nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
}

static void dump_tail(const char *label, const char *path)
{
    char *text = read_file(path);
    size_t len = strlen(text);
    const char *from = len > 4000 ? text + len - 4000 : text;
    fprintf(stderr, "---- server %s (%s) ----\n%s\n", label, path, from);
    free(text);
}

void h_dump_logs(const h_server *s)
{
    dump_tail("stdout", s->out_log);
    dump_tail("stderr", s->err_log);
}

int h_run(const char *const *args, const char *const *env, char **out, char **err)
{
    char dir[] = "/tmp/fd-run-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char out_path[64], err_path[64];
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    int code = -1;
    pid_t pid = spawn(args, env, out_path, err_path);
    if (pid > 0 && wait_exit(pid, 30000, &code) != 0) {
        kill(pid, SIGKILL);
        wait_exit(pid, 5000, &code);
    }
    if (out)
        *out = read_file(out_path);
    if (err)
        *err = read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    rmdir(dir);
    return code;
}

char *h_token(const char *sub, const char *name, const char *role, const char *teams)
{
    const char *args[16] = {"token", "--sub", sub, "--name", name, "--role", role, "--ttl", "1h"};
    int n = 9;
    if (teams) {
        args[n++] = "--teams";
        args[n++] = teams;
    }
    args[n] = NULL;
    char *out = NULL, *err = NULL;
    int code = h_run(args, NULL, &out, &err);
    if (code != 0)
        fail_msg("flightdeck token --sub %s exited %d: %s", sub, code, err);
    /* the token is the one line of stdout; trim the newline */
    out[strcspn(out, " \r\n")] = '\0';
    if (strchr(out, '.') == NULL)
        fail_msg("flightdeck token printed no JWT: '%s'", out);
    free(err);
    return out;
}

/* base64url without padding of len bytes; malloc'd. */
static char *b64url(const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len * 4 / 3 + 4);
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

char *h_jwt_forge(const char *header_json, const char *payload_json, const char *key, int bits)
{
    char *h = b64url((const unsigned char *)header_json, strlen(header_json));
    char *p = b64url((const unsigned char *)payload_json, strlen(payload_json));
    char *signing = h_fmt("%s.%s", h, p);
    char *sig = strdup("");
    if (bits) {
        const EVP_MD *md = bits == 512 ? EVP_sha512() : bits == 384 ? EVP_sha384() : EVP_sha256();
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        HMAC(md, key, (int)strlen(key), (const unsigned char *)signing, strlen(signing), mac,
             &maclen);
        free(sig);
        sig = b64url(mac, maclen);
    }
    char *jwt = h_fmt("%s.%s", signing, sig);
    free(h);
    free(p);
    free(signing);
    free(sig);
    return jwt;
}

json_t *h_jwt_payload(const char *jwt)
{
    const char *p = strchr(jwt, '.');
    const char *end = p ? strchr(p + 1, '.') : NULL;
    if (!end)
        return NULL;
    p++;
    size_t n = (size_t)(end - p);
    unsigned char *raw = malloc(n + 4);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        int v = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
                : ch >= '0' && ch <= '9' ? ch - '0' + 52
                : ch == '-' || ch == '+' ? 62
                : ch == '_' || ch == '/' ? 63
                                         : -1;
        if (v < 0)
            break; /* padding or garbage ends the payload */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    json_t *j = json_loadb((const char *)raw, o, 0, NULL);
    free(raw);
    return j;
}
