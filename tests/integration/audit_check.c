/*
 * audit_check.c - reading the flight recorder the way an auditor would: recompute the hash
 * chain of an export independently of the server (OpenSSL + jansson), and read CSV exports.
 */
#include "harness.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sha256_hex(const char *s, size_t len, char out[FD_TEST_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void h_check_chain(const json_t *events, char last_hash[FD_TEST_HASH_HEX])
{
    char prev[FD_TEST_HASH_HEX];
    memset(prev, '0', 64);
    prev[64] = '\0';
    json_int_t prev_seq = 0;
    size_t i;
    json_t *ev;
    assert_true(json_is_array(events));
    json_array_foreach(events, i, ev)
    {
        json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
        if (seq <= prev_seq)
            fail_msg("event %zu: seq %lld after %lld", i, (long long)seq, (long long)prev_seq);
        prev_seq = seq;

        const char *ph = json_string_value(json_object_get(ev, "prev_hash"));
        if (!ph || strcmp(ph, prev) != 0)
            fail_msg("event seq %lld: prev_hash %s, want %s", (long long)seq, ph ? ph : "(none)",
                     prev);

        /* hash = hex(SHA-256(the event without "hash", compact, keys sorted)) */
        json_t *canon = json_deep_copy(ev);
        json_object_del(canon, "hash");
        char *text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
        char want[FD_TEST_HASH_HEX];
        sha256_hex(text, strlen(text), want);
        const char *hash = json_string_value(json_object_get(ev, "hash"));
        if (!hash || strcmp(hash, want) != 0)
            fail_msg("event seq %lld: hash %s, recomputed %s", (long long)seq,
                     hash ? hash : "(none)", want);
        snprintf(prev, sizeof prev, "%s", hash);
        free(text);
        json_decref(canon);
    }
    if (last_hash)
        snprintf(last_hash, FD_TEST_HASH_HEX, "%s", prev);
}

json_t *h_parse_csv(const char *s, size_t len)
{
    json_t *rows = json_array(), *row = json_array();
    char *field = malloc(len + 1);
    size_t f = 0;
    int quoted = 0, any = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (quoted) {
            if (ch == '"' && i + 1 < len && s[i + 1] == '"') {
                field[f++] = '"';
                i++;
            } else if (ch == '"') {
                quoted = 0;
            } else {
                field[f++] = ch;
            }
            continue;
        }
        if (ch == '"') {
            quoted = 1;
            any = 1;
        } else if (ch == ',') {
            json_array_append_new(row, json_stringn(field, f));
            f = 0;
            any = 1;
        } else if (ch == '\r') {
            continue;
        } else if (ch == '\n') {
            json_array_append_new(row, json_stringn(field, f));
            json_array_append_new(rows, row);
            row = json_array();
            f = 0;
            any = 0;
        } else {
            field[f++] = ch;
            any = 1;
        }
    }
    if (any || f > 0) {
        json_array_append_new(row, json_stringn(field, f));
        json_array_append_new(rows, row);
    } else {
        json_decref(row);
    }
    free(field);
    return rows;
}
