/* audit.c - the flight recorder: appending hash-chained events, verifying chains, exporting
 * (see audit.h). The only file that includes OpenSSL headers: SHA-256 comes from libcrypto.
 *
 * Each stored row holds the exported event text: compact JSON with sorted keys, "hash"
 * included. The canonical form that is hashed is the same object without "hash", dumped the
 * same way, so anyone can recompute it from an export. Events hold only strings, integers,
 * booleans and null (no reals), so dumping a parsed event gives back the same bytes. */
#include "audit.h"
#include "audit_csv.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_out.h"
#include "store_internal.h"
#include "timefmt.h"
#include "webhook.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define PAGE_ROWS 256
#define WALK_SPAN 4096 /* seqs one page of a walking export may cover */
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* OpenSSL 3 looks the digest up by name on every EVP_sha256() use through EVP_Digest (a fetch
 * under a lock, ~1/3 of a short hash); fetched once, it is shared by every thread. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* hex(SHA-256(data)) into out[FD_HASH_HEX]; 0 or -1. */
static int sha256_hex(const char *data, size_t len, char out[FD_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    pthread_once(&sha256_once, sha256_fetch);
    const EVP_MD *type = sha256_md != NULL ? sha256_md : EVP_sha256();
    if (EVP_Digest(data, len, md, &n, type, NULL) != 1 || n != 32)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int audit_sha256_hex(const void *data, size_t len, char out[FD_HASH_HEX])
{
    return sha256_hex(data, len, out);
}

/* Append `"name":` and s as a JSON string, or null when s is NULL; 0 or -1 (not UTF-8). */
static int put_str_member(fd_buf *b, const char *name, const char *s)
{
    if (fd_buf_puts(b, name) != 0)
        return -1;
    return s != NULL ? json_out_string(b, s, strlen(s)) : fd_buf_append(b, "null", 4);
}

/* A before/after document of an event: a tree to write, or text already canonical (both NULL:
 * null). */
typedef struct event_doc {
    const json_t *tree;
    const char *text;
    size_t len;
} event_doc;

/* Append `"name":` and d as canonical JSON (keys sorted), or null. Reals are refused: they do
 * not survive a dump/parse round trip byte for byte. */
static int put_doc_member(fd_buf *b, const char *name, const event_doc *d)
{
    if (fd_buf_puts(b, name) != 0)
        return -1;
    if (d->tree != NULL)
        return json_out_append(b, d->tree, JSON_OUT_SORT | JSON_OUT_NO_REALS);
    if (d->text != NULL)
        return fd_buf_append(b, d->text, d->len);
    return fd_buf_append(b, "null", 4);
}

/* The event is written into one buffer per thread, kept between events (an event is ~1-2 KB,
 * and a fresh buffer of that size was a malloc that made glibc consolidate its free lists on
 * every tick); one that a huge event grew past this is let go. */
#define EVENT_BUF_KEEP (64 * 1024)
static __thread fd_buf event_buf;

void audit_thread_exit(void)
{
    fd_buf_free(&event_buf);
}

#define HASH_MEMBER_LEN (sizeof ",\"hash\":\"" - 1 + 64 + 1) /* ,"hash":"<64 hex>" */

static fd_err append_event(fd_store *st, const fd_ctx *ctx, const char *migration,
                           const char *action, const char *target, const event_doc *before,
                           const event_doc *after, const char *note)
{
    const fd_actor *a = ctx->actor;
    fd_buf *b = &event_buf;
    char prev[FD_HASH_HEX], hash[FD_HASH_HEX], at[FD_TIME_LEN];
    int64_t seq, now = store_now_ms(st);
    fd_err e = FD_E_INTERNAL;

    if (a == NULL)
        return FD_E_INTERNAL;
    /* A string that is not UTF-8 cannot go into JSON. Refuse instead of chaining something
     * else; the rules check user text first and say which field, this is the last line of
     * defence (the writer below fails on it too). */
    const char *texts[] = {migration, action, target, note, ctx->request_id, a->sub, a->name};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] != NULL && !check_is_utf8(texts[i], strlen(texts[i])))
            return FD_E_INVALID;
    if (store_audit_next_seq(st, &seq) != FD_OK ||
        store_audit_prev_hash(st, migration, prev) != FD_OK)
        return FD_E_INTERNAL;
    fd_time_format(now, at);

    /*
     * The event is written straight as its canonical text: compact, keys in byte order, strings
     * escaped as jansson escapes them (json_out.h), which is exactly json_dumps(event,
     * JSON_COMPACT | JSON_SORT_KEYS) - test_audit checks the stored text against jansson's dump
     * of it. "hash" sorts between "before" and "migration": the canonical form (without hash)
     * is written and hashed whole, then the hash member is put in at that place, which gives
     * the stored text. This is on every mutation's path, so no tree is built for it.
     */
    fd_buf_reset(b);
    int ok = fd_buf_reserve(b, 2048) == 0 && fd_buf_puts(b, "{") == 0 &&
             put_str_member(b, "\"action\":", action) == 0 &&
             put_str_member(b, ",\"actor\":{\"name\":", a->name) == 0 &&
             put_str_member(b, ",\"role\":", fd_role_name(a->role)) == 0 &&
             put_str_member(b, ",\"sub\":", a->sub) == 0 && fd_buf_puts(b, "}") == 0 &&
             put_doc_member(b, ",\"after\":", after) == 0 &&
             put_str_member(b, ",\"at\":", at) == 0 &&
             put_doc_member(b, ",\"before\":", before) == 0;
    size_t split = b->len; /* "hash" goes here */
    ok = ok && put_str_member(b, ",\"migration\":", migration) == 0 &&
         put_str_member(b, ",\"note\":", note) == 0 &&
         put_str_member(b, ",\"prev_hash\":", prev) == 0 &&
         put_str_member(b, ",\"request_id\":", ctx->request_id) == 0 &&
         fd_buf_puts(b, ",\"seq\":") == 0 && json_out_integer(b, seq) == 0 &&
         put_str_member(b, ",\"source\":", a->source[0] ? a->source : "api") == 0 &&
         put_str_member(b, ",\"target\":", target) == 0 && fd_buf_puts(b, "}") == 0;
    if (!ok || sha256_hex(b->data, b->len, hash) != 0 || fd_buf_reserve(b, HASH_MEMBER_LEN) != 0)
        goto done;
    /* open the gap at split and write ,"hash":"..." into it (the NUL moves along) */
    memmove(b->data + split + HASH_MEMBER_LEN, b->data + split, b->len - split + 1);
    memcpy(b->data + split, ",\"hash\":\"", sizeof ",\"hash\":\"" - 1);
    memcpy(b->data + split + sizeof ",\"hash\":\"" - 1, hash, 64);
    b->data[split + HASH_MEMBER_LEN - 1] = '"';
    b->len += HASH_MEMBER_LEN;
    e = store_audit_insert(st, seq, migration, now, action, prev, hash, b->data, b->len);
    /* the webhook deliveries of the event commit with it, or not at all */
    if (e == FD_OK)
        e = webhook_enqueue_tx(st, seq, migration, action, b->data, b->len, NULL);
done:
    if (b->cap > EVENT_BUF_KEEP)
        fd_buf_free(b);
    return e;
}

fd_err audit_append(fd_store *st, const fd_ctx *ctx, const char *migration, const char *action,
                    const char *target, const json_t *before, const json_t *after, const char *note)
{
    event_doc b = {.tree = before}, a = {.tree = after};
    return append_event(st, ctx, migration, action, target, &b, &a, note);
}

fd_err audit_append_text(fd_store *st, const fd_ctx *ctx, const char *migration, const char *action,
                         const char *target, const char *before, size_t before_len,
                         const char *after, size_t after_len, const char *note)
{
    event_doc b = {.text = before, .len = before_len}, a = {.text = after, .len = after_len};
    return append_event(st, ctx, migration, action, target, &b, &a, note);
}

int64_t audit_last_seq(fd_store *st)
{
    return store_audit_last_seq(st);
}

int audit_format_parse(const char *s, fd_audit_format *out)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "json") == 0)
        *out = FD_AUDIT_JSON;
    else if (strcmp(s, "ndjson") == 0)
        *out = FD_AUDIT_NDJSON;
    else if (strcmp(s, "csv") == 0)
        *out = FD_AUDIT_CSV;
    else
        return -1;
    return 0;
}

/* ---- verification ---- */

typedef struct verifier {
    json_t *heads; /* chain ("" for the global chain) -> last claimed hash */
    int64_t events;
    int64_t first_seq, last_seq;
    char last_hash[FD_HASH_HEX];
    int64_t broken_seq; /* -1 while intact */
    const char *broken_reason;
} verifier;

static void verifier_init(verifier *v)
{
    memset(v, 0, sizeof *v);
    v->heads = json_object();
    v->first_seq = v->last_seq = -1;
    v->broken_seq = -1;
}

static void broken(verifier *v, int64_t seq, const char *reason)
{
    if (v->broken_seq < 0) {
        v->broken_seq = seq;
        v->broken_reason = reason;
    }
}

static int is_hex64(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Check one event object: its hash, its link to the previous event of its chain, its order.
 * The object is modified temporarily ("hash" removed and put back). */
static void verify_event(verifier *v, json_t *ev, int64_t fallback_seq)
{
    json_t *jseq = json_object_get(ev, "seq"), *jmig = json_object_get(ev, "migration");
    const char *hash = json_string_value(json_object_get(ev, "hash"));
    const char *prev = json_string_value(json_object_get(ev, "prev_hash"));
    int64_t seq = json_is_integer(jseq) ? json_integer_value(jseq) : fallback_seq;

    v->events++;
    if (v->first_seq < 0)
        v->first_seq = seq;
    if (!json_is_object(ev) || !json_is_integer(jseq) ||
        !(json_is_string(jmig) || json_is_null(jmig)) || !is_hex64(hash) || !is_hex64(prev)) {
        broken(v, seq, "malformed event");
        v->last_seq = seq;
        return;
    }
    if (v->last_seq >= 0 && seq <= v->last_seq)
        broken(v, seq, "seq out of order");
    v->last_seq = seq;

    json_t *keep = json_incref(json_object_get(ev, "hash"));
    json_object_del(ev, "hash");
    char *canonical = json_dumps(ev, DUMP_FLAGS);
    json_object_set_new(ev, "hash", keep);
    hash = json_string_value(keep);
    char computed[FD_HASH_HEX];
    if (canonical == NULL || sha256_hex(canonical, strlen(canonical), computed) != 0)
        broken(v, seq, "cannot hash event");
    else if (strcmp(computed, hash) != 0)
        broken(v, seq, "hash mismatch");
    free(canonical);

    const char *chain = json_is_string(jmig) ? json_string_value(jmig) : "";
    const char *expect = json_string_value(json_object_get(v->heads, chain));
    if (strcmp(prev, expect ? expect : ZERO_HASH) != 0)
        broken(v, seq, "prev_hash mismatch");
    json_object_set_new(v->heads, chain, json_string(hash));
    snprintf(v->last_hash, sizeof v->last_hash, "%s", hash);
}

static json_t *verifier_result(verifier *v)
{
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_boolean(v->broken_seq < 0));
    json_object_set_new(r, "events", json_integer(v->events));
    json_object_set_new(r, "first_seq", v->events ? json_integer(v->first_seq) : json_null());
    json_object_set_new(r, "last_seq", v->events ? json_integer(v->last_seq) : json_null());
    json_object_set_new(r, "last_hash", v->events ? json_string(v->last_hash) : json_null());
    if (v->broken_seq < 0)
        json_object_set_new(r, "broken", json_null());
    else
        json_object_set_new(
            r, "broken",
            json_pack("{s:I,s:s}", "seq", (json_int_t)v->broken_seq, "reason", v->broken_reason));
    json_decref(v->heads);
    v->heads = NULL;
    return r;
}

fd_err audit_verify_events(const json_t *events, json_t **out)
{
    *out = NULL;
    if (!json_is_array(events))
        return FD_E_BAD_REQUEST;
    verifier v;
    verifier_init(&v);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        /* work on a copy: the caller's array stays untouched */
        json_t *copy = json_deep_copy(ev);
        verify_event(&v, copy ? copy : json_null(), v.last_seq + 1);
        json_decref(copy);
    }
    *out = verifier_result(&v);
    return FD_OK;
}

/* A stored row: the event text must parse, and its columns must agree with it. */
static int verify_row(void *arg, const store_audit_row *row)
{
    verifier *v = arg;
    json_t *ev = json_loadb(row->event, row->len, 0, NULL);
    if (ev == NULL) {
        v->events++;
        if (v->first_seq < 0)
            v->first_seq = row->seq;
        v->last_seq = row->seq;
        broken(v, row->seq, "malformed event");
        return 0;
    }
    verify_event(v, ev, row->seq);
    const char *hash = json_string_value(json_object_get(ev, "hash"));
    const char *mig = json_string_value(json_object_get(ev, "migration"));
    if (json_integer_value(json_object_get(ev, "seq")) != row->seq || hash == NULL ||
        strcmp(hash, row->hash) != 0 || (mig == NULL) != (row->migration == NULL) ||
        (mig != NULL && strcmp(mig, row->migration) != 0))
        broken(v, row->seq, "row does not match its event");
    json_decref(ev);
    return 0;
}

fd_err audit_verify(fd_store *st, const char *mid, json_t **out)
{
    *out = NULL;
    if (mid != NULL) {
        fd_mig_head head;
        fd_err e = store_mig_head(st, mid, &head);
        if (e != FD_OK)
            return e;
    }
    verifier v;
    verifier_init(&v);
    int64_t after = 0, until = store_audit_last_seq(st);
    for (;;) {
        int n = 0;
        fd_err e = store_audit_page(st, mid ? STORE_AUDIT_MIGRATION : STORE_AUDIT_GLOBAL, mid,
                                    after, until, PAGE_ROWS, verify_row, &v, &n);
        if (e != FD_OK) {
            json_decref(v.heads);
            return e;
        }
        if (n < PAGE_ROWS)
            break;
        after = v.last_seq;
    }
    *out = verifier_result(&v);
    return FD_OK;
}

/* ---- export ---- */

typedef struct export_state {
    audit_cursor *cur;
    fd_buf *out;
    size_t stop_at; /* the chunk is full once out->len reaches this */
    int full;
    int failed;
} export_state;

static const char CSV_HEADER[] = "seq,at,migration,actor_sub,actor_name,actor_role,source,action,"
                                 "target,note,request_id,before,after,prev_hash,hash\r\n";

static int export_row(void *arg, const store_audit_row *row)
{
    export_state *x = arg;
    int r = 0;
    switch (x->cur->format) {
    case FD_AUDIT_JSON:
        r |= fd_buf_puts(x->out, x->cur->written ? ",\n" : "\n");
        r |= fd_buf_append(x->out, row->event, row->len);
        break;
    case FD_AUDIT_NDJSON:
        r |= fd_buf_append(x->out, row->event, row->len);
        r |= fd_buf_puts(x->out, "\n");
        break;
    case FD_AUDIT_CSV:
        /* audit_csv.c: the row, or what another thread makes it from (api/audit.c) */
        r |= x->cur->csv_packed ? audit_csv_pack_row(x->out, row) : audit_csv_row(x->out, row);
        break;
    }
    if (r != 0) {
        x->failed = 1;
        return -1;
    }
    x->cur->after = row->seq;
    x->cur->written++;
    if (x->out->len >= x->stop_at) {
        x->full = 1;
        return 1;
    }
    return 0;
}

fd_err audit_cursor_open(fd_store *st, const char *mid, int64_t after, fd_audit_format format,
                         audit_cursor *cur)
{
    memset(cur, 0, sizeof *cur);
    if (mid != NULL) {
        fd_mig_head head;
        fd_err e = store_mig_head(st, mid, &head);
        if (e != FD_OK)
            return e;
        snprintf(cur->migration, sizeof cur->migration, "%s", mid);
    } else {
        cur->all = 1;
    }
    cur->after = after > 0 ? after : 0;
    cur->until = store_audit_last_seq(st);
    cur->format = format;
    return FD_OK;
}

fd_err audit_export_chunk(fd_store *st, audit_cursor *cur, fd_buf *out, size_t target, int *done)
{
    *done = 0;
    if (cur->phase == 2) {
        *done = 1;
        return FD_OK;
    }
    size_t start = out->len;
    int r = 0;
    if (cur->phase == 0) {
        if (cur->format == FD_AUDIT_JSON)
            r |= fd_buf_puts(out, "[");
        else if (cur->format == FD_AUDIT_CSV)
            r |= fd_buf_puts(out, CSV_HEADER);
        if (r != 0)
            return FD_E_INTERNAL;
        cur->phase = 1;
    }
    /* keyset pages until the chunk holds `target` bytes (at least one event) or the snapshot
     * is exhausted. A migration's export reads through the audit_migration index, one table
     * lookup per event, until the events prove dense (at least half the seqs a page covered are
     * the migration's, as in a long cutover); then it walks the table in seq order and skips
     * the others' events, at most WALK_SPAN seqs a page, so a stretch of other events costs one
     * short page and sends it back to the index. */
    export_state x = {.cur = cur, .out = out, .stop_at = start + target};
    for (;;) {
        int n = 0;
        int64_t from = cur->after, until = cur->until, rows = cur->written;
        store_audit_scope scope = cur->all    ? STORE_AUDIT_ALL
                                  : cur->walk ? STORE_AUDIT_MIGRATION_WALK
                                              : STORE_AUDIT_MIGRATION;
        if (scope == STORE_AUDIT_MIGRATION_WALK && until - from > WALK_SPAN)
            until = from + WALK_SPAN;
        fd_err e = store_audit_page(st, scope, cur->all ? NULL : cur->migration, from, until,
                                    PAGE_ROWS, export_row, &x, &n);
        if (e != FD_OK || x.failed)
            return FD_E_INTERNAL;
        int covered_all = !x.full && n < PAGE_ROWS; /* the page read its whole range */
        if (!cur->all) {
            int64_t span = (covered_all ? until : cur->after) - from;
            cur->walk = span > 0 && (cur->written - rows) * 2 >= span;
        }
        if (x.full)
            return FD_OK;
        if (covered_all && until < cur->until) {
            cur->after = until; /* a walk window ended, not the snapshot */
            continue;
        }
        if (n < PAGE_ROWS)
            break;
    }
    if (cur->format == FD_AUDIT_JSON && fd_buf_puts(out, "\n]\n") != 0)
        return FD_E_INTERNAL;
    cur->phase = 2;
    *done = 1;
    return FD_OK;
}

typedef struct each_state {
    void (*fn)(void *arg, int64_t seq, const char *migration, const char *action, const char *json,
               size_t len);
    void *arg;
    int64_t last;
} each_state;

static int each_row(void *arg, const store_audit_row *row)
{
    each_state *x = arg;
    x->fn(x->arg, row->seq, row->migration, row->action, row->event, row->len);
    x->last = row->seq;
    return 0;
}

fd_err audit_each_after(fd_store *st, const char *mid, int64_t after, int limit,
                        void (*fn)(void *arg, int64_t seq, const char *migration,
                                   const char *action, const char *json, size_t len),
                        void *arg, int *count)
{
    *count = 0;
    each_state x = {.fn = fn, .arg = arg, .last = after};
    int64_t until = store_audit_last_seq(st);
    while (*count < limit) {
        int want = limit - *count < PAGE_ROWS ? limit - *count : PAGE_ROWS, n = 0;
        fd_err e = store_audit_page(st, mid ? STORE_AUDIT_MIGRATION : STORE_AUDIT_ALL, mid, x.last,
                                    until, want, each_row, &x, &n);
        if (e != FD_OK)
            return e;
        *count += n;
        if (n < want)
            break;
    }
    return FD_OK;
}
