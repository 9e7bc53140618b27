/*
 * log.c - request ids and the JSON access log.
 */
#include "server/log.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "core/timefmt.h"

static int access_on = 1;
static char boot_id[9];
static uint64_t counter;

int log_request_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

void log_request_id_new(char out[LOG_RID_MAX])
{
    if (boot_id[0] == '\0') {
        /* Random per process, so ids from two runs (or two replicas) never collide. */
        unsigned char raw[4] = {0};
        if (RAND_bytes(raw, sizeof raw) != 1) {
            struct timeval tv;
            gettimeofday(&tv, NULL);
            memcpy(raw, &tv.tv_usec, sizeof raw);
        }
        snprintf(boot_id, sizeof boot_id, "%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3]);
    }
    /* "<boot id>-<counter in lowercase hex, no leading zeros>", as "%s-%" PRIx64 would print
     * it; written by hand because snprintf cost more than the rest of the request id */
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    size_t n = 0;
    uint64_t v = ++counter;
    do {
        digits[n++] = hex[v & 15];
        v >>= 4;
    } while (v != 0);
    size_t blen = sizeof boot_id - 1; /* always 8 hex digits */
    memcpy(out, boot_id, blen);
    out[blen] = '-';
    for (size_t i = 0; i < n; i++)
        out[blen + 1 + i] = digits[n - 1 - i];
    out[blen + 1 + n] = '\0';
}

void log_set_access(int on)
{
    access_on = on;
}

/* Append s as a JSON string (or null) to buf at *n, never past cap. */
static void put_json_string(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    if (s == NULL) {
        if (*n + 4 < cap) {
            memcpy(buf + *n, "null", 4);
            *n += 4;
        }
        return;
    }
    if (*n + 1 < cap)
        buf[(*n)++] = '"';
    for (size_t i = 0; i < len && *n + 7 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[(*n)++] = '\\';
            buf[(*n)++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            memcpy(buf + *n, "\\u00", 4);
            buf[*n + 4] = hex[ch >> 4];
            buf[*n + 5] = hex[ch & 15];
            *n += 6;
        } else {
            buf[(*n)++] = (char)ch;
        }
    }
    if (*n + 1 < cap)
        buf[(*n)++] = '"';
}

static void put_raw(char *buf, size_t cap, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n + len < cap) {
        memcpy(buf + *n, s, len);
        *n += len;
    }
}

void log_access(const char *method, size_t method_len, const char *route, int status, double ms,
                const char *request_id, const char *sub)
{
    char line[1024];
    char ts[FD_TIME_LEN];
    char num[64];
    size_t n = 0;
    struct timeval tv;

    if (!access_on)
        return;
    if (method_len > 16) /* methods are short; a long one is junk and must not crowd the line */
        method_len = 16;
    gettimeofday(&tv, NULL);
    fd_time_format((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, ts);

    put_raw(line, sizeof line, &n, "{\"ts\":\"");
    put_raw(line, sizeof line, &n, ts);
    put_raw(line, sizeof line, &n, "\",\"method\":");
    put_json_string(line, sizeof line, &n, method, method_len);
    put_raw(line, sizeof line, &n, ",\"route\":");
    put_json_string(line, sizeof line, &n, route, route != NULL ? strlen(route) : 0);
    snprintf(num, sizeof num, ",\"status\":%d,\"ms\":%.3f,\"request_id\":", status, ms);
    put_raw(line, sizeof line, &n, num);
    put_json_string(line, sizeof line, &n, request_id, request_id != NULL ? strlen(request_id) : 0);
    put_raw(line, sizeof line, &n, ",\"sub\":");
    put_json_string(line, sizeof line, &n, sub, sub != NULL ? strlen(sub) : 0);
    put_raw(line, sizeof line, &n, "}\n");
    fwrite(line, 1, n, stderr); /* stderr is unbuffered: one write per line */
}
