/*
 * outbound.c - the webhook delivery worker (see outbound.h). The only file that includes curl.
 */
#include "server/outbound.h"
#include "server/commit.h"
#include "server/config.h"
#include "server/metrics.h"

#include "core/buf.h"
#include "core/switches.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 16
#define TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 5000

/* What a job is: a webhook delivery, or the flag-system call of a switch move (core/switches.h):
 * both go through this one worker, with the same curl handle, timeouts and retry schedule. */
enum { JOB_WEBHOOK, JOB_SWITCH };

/* One delivery handed to the worker; owned by whoever holds it. */
typedef struct job {
    struct job *next;
    int kind;         /* JOB_WEBHOOK | JOB_SWITCH */
    int64_t delivery; /* the delivery, or the switch call */
    int64_t seq;
    char *url, *secret, *body, *action, *format;
    char *method, *headers; /* JOB_SWITCH: POST|PUT|PATCH, and a JSON object of headers */
} job;

/* The worker's answer, sent back to the loop. */
typedef struct result {
    h2o_multithread_message_t super; /* first: the message link */
    int kind;
    int permanent; /* JOB_SWITCH: retrying cannot help (the server lacks a secret it names) */
    int64_t delivery;
    int64_t at; /* when the attempt began (ms) */
    int64_t duration_ms;
    int http_status; /* -1: no answer */
    char error[200];
} result;

static struct {
    int running;
    h2o_context_t *ctx;
    fd_store *st;
    webhook_policy policy;
    webhook_policy flag_policy; /* switch calls: few, quick retries (FLIGHTDECK_FLAG_*) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail; /* guarded by mu */
    atomic_int stop;
    h2o_multithread_receiver_t receiver;
    size_t inflight; /* jobs handed out whose result has not come back (loop only) */
    h2o_timeout_t timer;
    h2o_timeout_entry_t timer_entry;
    int timer_ready;
    int kick_soon; /* the timer is armed to look at the queue for events just committed */
} O;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(job *j)
{
    if (j == NULL)
        return;
    free(j->url);
    if (j->secret != NULL) {
        memset(j->secret, 0, strlen(j->secret));
        free(j->secret);
    }
    free(j->body);
    free(j->action);
    free(j->format);
    free(j->method);
    free(j->headers);
    free(j);
}

int outbound_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void outbound_global_cleanup(void)
{
    curl_global_cleanup();
}

int outbound_signature(const char *secret, const char *body, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, md, &n) ==
            NULL ||
        n != 32)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int outbound_flag_policy_from_env(webhook_policy *p, char *err, size_t errlen)
{
    char why[160];
    switch_policy_default(p);
    long long base = p->base_ms, attempts = p->max_attempts;
    if (config_env_number("FLIGHTDECK_FLAG_BACKOFF_MS", 1, 600000, &base, why, sizeof why) != 0) {
        snprintf(err, errlen, "FLIGHTDECK_FLAG_BACKOFF_MS must be 1-600000 milliseconds");
        return -1;
    }
    if (config_env_number("FLIGHTDECK_FLAG_MAX_ATTEMPTS", 1, 20, &attempts, why, sizeof why) != 0) {
        snprintf(err, errlen, "FLIGHTDECK_FLAG_MAX_ATTEMPTS must be 1-20");
        return -1;
    }
    p->base_ms = base;
    p->cap_ms = base * 10; /* 500 ms -> 5 s */
    p->max_attempts = (int)attempts;
    return 0;
}

int outbound_policy_from_env(webhook_policy *p, char *err, size_t errlen)
{
    char why[160];
    webhook_policy_default(p);
    long long base = p->base_ms, attempts = p->max_attempts;
    if (config_env_number("FLIGHTDECK_WEBHOOK_BACKOFF_MS", 1, 3600000, &base, why, sizeof why) !=
        0) {
        snprintf(err, errlen, "FLIGHTDECK_WEBHOOK_BACKOFF_MS must be 1-3600000 milliseconds");
        return -1;
    }
    if (config_env_number("FLIGHTDECK_WEBHOOK_MAX_ATTEMPTS", 1, 100, &attempts, why, sizeof why) !=
        0) {
        snprintf(err, errlen, "FLIGHTDECK_WEBHOOK_MAX_ATTEMPTS must be 1-100");
        return -1;
    }
    p->base_ms = base;
    p->cap_ms = base * 300; /* 1 s -> 5 min */
    p->max_attempts = (int)attempts;
    return 0;
}

/* ---- the worker thread ---- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb; /* the receiver's answer body does not matter, only its status */
}

/* Non-zero aborts the transfer: shutdown must not wait for a slow receiver. */
static int on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)arg;
    (void)dlt;
    (void)dln;
    (void)ult;
    (void)uln;
    return atomic_load(&O.stop) ? 1 : 0;
}

static void post_one(CURL *curl, const job *j, result *r)
{
    struct curl_slist *hdrs = NULL;
    char line[160], sig[65];
    r->http_status = -1;
    r->at = now_ms();
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "User-Agent: flightdeck-webhook/1");
    snprintf(line, sizeof line, "X-Flightdeck-Event-Id: %lld", (long long)j->seq);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "X-Flightdeck-Event: %.100s", j->action);
    hdrs = curl_slist_append(hdrs, line);
    if (j->secret != NULL) {
        if (outbound_signature(j->secret, j->body, strlen(j->body), sig) != 0) {
            snprintf(r->error, sizeof r->error, "cannot compute the signature");
            goto done;
        }
        snprintf(line, sizeof line, "X-Flightdeck-Signature: sha256=%s", sig);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, j->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        r->http_status = (int)status;
        if (status < 200 || status > 299)
            snprintf(r->error, sizeof r->error, "the receiver answered HTTP %ld", status);
    } else {
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(rc));
    }
done:
    r->duration_ms = now_ms() - r->at;
    curl_slist_free_all(hdrs);
}

/* Header value `v` with each {{secret:NAME}} replaced by the server's FLIGHTDECK_SECRET_NAME
 * (plans carry no secrets: core/plan_lint.h). A malloc'd string, or NULL with the reason in
 * r->error (permanent when the server lacks the secret). */
static char *resolve_secrets(const char *v, result *r)
{
    fd_buf b = {0};
    int rc = 0;
    while (rc == 0 && *v != '\0') {
        const char *ref = strstr(v, "{{secret:");
        if (ref == NULL) {
            rc = fd_buf_puts(&b, v);
            break;
        }
        rc = fd_buf_append(&b, v, (size_t)(ref - v));
        const char *name = ref + 9, *end = strstr(name, "}}");
        char var[100];
        if (end == NULL || end == name || (size_t)(end - name) > 64) {
            snprintf(r->error, sizeof r->error, "a header names a secret badly");
            rc = -1;
            break;
        }
        snprintf(var, sizeof var, "FLIGHTDECK_SECRET_%.*s", (int)(end - name), name);
        const char *secret = getenv(var);
        if (secret == NULL || *secret == '\0') {
            snprintf(r->error, sizeof r->error, "the server has no secret %.64s: set %.90s",
                     var + 18, var);
            r->permanent = 1;
            rc = -1;
            break;
        }
        if (rc == 0)
            rc = fd_buf_puts(&b, secret);
        v = end + 2;
    }
    if (rc == 0 && b.data == NULL)
        rc = fd_buf_puts(&b, "");
    if (rc != 0) {
        if (b.data != NULL)
            memset(b.data, 0, b.cap);
        fd_buf_free(&b);
        if (r->error[0] == '\0')
            snprintf(r->error, sizeof r->error, "out of memory");
        return NULL;
    }
    return b.data;
}

/* Free a header list whose lines may hold secrets: wipe them first. */
static void free_secret_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p != NULL; p = p->next)
        if (p->data != NULL)
            memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(h);
}

/* One flag-system call of a switch move: the plan's method, URL, headers (secrets resolved
 * here, on the worker, and wiped after) and the rendered body. */
static void call_one(CURL *curl, const job *j, result *r)
{
    struct curl_slist *hdrs = NULL;
    char line[160];
    json_t *headers = json_loads(j->headers ? j->headers : "{}", 0, NULL);
    const char *name;
    json_t *v;
    r->http_status = -1;
    r->at = now_ms();
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "User-Agent: flightdeck-flags/1");
    snprintf(line, sizeof line, "X-Flightdeck-Switch-Call: %lld", (long long)j->delivery);
    hdrs = curl_slist_append(hdrs, line);
    json_object_foreach(headers, name, v)
    {
        char *value = resolve_secrets(json_string_value(v) ? json_string_value(v) : "", r);
        if (value == NULL)
            goto done;
        size_t n = strlen(name) + strlen(value) + 3;
        char *h = malloc(n);
        if (h != NULL) {
            snprintf(h, n, "%s: %s", name, value);
            hdrs = curl_slist_append(hdrs, h);
            memset(h, 0, n);
            free(h);
        }
        memset(value, 0, strlen(value));
        free(value);
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, j->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, j->method ? j->method : "POST");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        r->http_status = (int)status;
        if (status < 200 || status > 299)
            snprintf(r->error, sizeof r->error, "the flag system answered HTTP %ld", status);
    } else {
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(rc));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
done:
    r->duration_ms = now_ms() - r->at;
    free_secret_headers(hdrs);
    json_decref(headers);
}

static void *worker_main(void *arg)
{
    (void)arg;
    CURL *curl = curl_easy_init();
    for (;;) {
        pthread_mutex_lock(&O.mu);
        while (!atomic_load(&O.stop) && O.head == NULL)
            pthread_cond_wait(&O.cv, &O.mu);
        if (atomic_load(&O.stop)) {
            pthread_mutex_unlock(&O.mu);
            break;
        }
        job *j = O.head;
        O.head = j->next;
        if (O.head == NULL)
            O.tail = NULL;
        pthread_mutex_unlock(&O.mu);

        result *r = calloc(1, sizeof *r);
        if (r != NULL) {
            r->delivery = j->delivery;
            r->kind = j->kind;
            if (curl != NULL && j->kind == JOB_SWITCH)
                call_one(curl, j, r);
            else if (curl != NULL)
                post_one(curl, j, r);
            else
                snprintf(r->error, sizeof r->error, "curl is not available");
            h2o_multithread_send_message(&O.receiver, &r->super);
        }
        job_free(j);
    }
    if (curl != NULL)
        curl_easy_cleanup(curl);
    return NULL;
}

/* ---- the loop side ---- */

static char *dup_member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

static void arm_timer(int64_t delay_ms);

/* Put one job on the worker's queue (loop thread). */
static void enqueue_job(job *j)
{
    pthread_mutex_lock(&O.mu);
    if (O.tail != NULL)
        O.tail->next = j;
    else
        O.head = j;
    O.tail = j;
    pthread_mutex_unlock(&O.mu);
    O.inflight++;
}

/* Hand the due flag-system calls of switch moves to the worker, after the webhook deliveries. */
static void queue_switch_calls(int64_t now)
{
    json_t *calls = NULL;
    if (switch_calls_due(O.st, now, BATCH_MAX, &calls) != FD_OK) {
        fprintf(stderr, "flightdeck: flags: cannot read the switch calls: %s\n",
                webhook_last_error(O.st));
        return;
    }
    size_t i;
    json_t *d;
    json_array_foreach(calls, i, d)
    {
        job *j = calloc(1, sizeof *j);
        if (j == NULL)
            break;
        j->kind = JOB_SWITCH;
        j->delivery = json_integer_value(json_object_get(d, "call"));
        j->url = dup_member(d, "url");
        j->body = dup_member(d, "body");
        j->method = dup_member(d, "method");
        j->headers = json_dumps(json_object_get(d, "headers"), JSON_COMPACT);
        if (j->url == NULL || j->body == NULL || j->method == NULL) {
            job_free(j);
            break;
        }
        enqueue_job(j);
    }
    json_decref(calls);
}

/* Hand the due deliveries to the worker, or arm the timer for the next one. */
static void kick(void)
{
    json_t *jobs = NULL;
    if (!O.running || O.inflight > 0 || atomic_load(&O.stop))
        return; /* the batch in flight kicks again when its last result is back */
    int64_t now = now_ms();
    /* Nothing pending in either queue (the usual case: every committed batch kicks, and most
     * queue nothing): nothing to hand over and no timer to arm, which the four queries below
     * would also find, at twice the cost (~5 % of the loop's time under durable ticks). An
     * error goes on to the full path, which says so. */
    int64_t next, next_call;
    if (webhook_next_due(O.st, &next) == 0 && switch_calls_next_due(O.st, &next_call) == 0)
        return;
    if (webhook_due(O.st, now, BATCH_MAX, &jobs) != FD_OK) {
        fprintf(stderr, "flightdeck: webhooks: cannot read the delivery queue: %s\n",
                webhook_last_error(O.st));
        arm_timer(1000);
        return;
    }
    size_t i;
    json_t *d;
    json_array_foreach(jobs, i, d)
    {
        job *j = calloc(1, sizeof *j);
        if (j == NULL)
            break;
        j->delivery = json_integer_value(json_object_get(d, "delivery"));
        j->seq = json_integer_value(json_object_get(d, "seq"));
        j->url = dup_member(d, "url");
        j->secret = dup_member(d, "secret");
        j->body = dup_member(d, "body");
        j->action = dup_member(d, "action");
        j->format = dup_member(d, "format");
        if (j->url == NULL || j->body == NULL || j->action == NULL) {
            job_free(j);
            break;
        }
        pthread_mutex_lock(&O.mu);
        if (O.tail != NULL)
            O.tail->next = j;
        else
            O.head = j;
        O.tail = j;
        pthread_mutex_unlock(&O.mu);
        O.inflight++;
    }
    json_decref(jobs); /* holds secrets: gone with it */
    queue_switch_calls(now);
    if (O.inflight > 0) {
        pthread_cond_signal(&O.cv);
        return;
    }
    int r = webhook_next_due(O.st, &next);
    if (switch_calls_next_due(O.st, &next_call) > 0 && (r <= 0 || next_call < next)) {
        next = next_call;
        r = 1;
    }
    if (r > 0)
        arm_timer(next - now);
}

static void on_timer(h2o_timeout_entry_t *entry)
{
    (void)entry;
    O.kick_soon = 0;
    kick();
}

/* h2o 2.2.5 timeouts have one fixed duration each: re-create it for the delay wanted. */
static void arm_timer(int64_t delay_ms)
{
    h2o_loop_t *loop = O.ctx->loop;
    if (delay_ms < 1)
        delay_ms = 1;
    if (h2o_timeout_is_linked(&O.timer_entry))
        h2o_timeout_unlink(&O.timer_entry);
    if (O.timer_ready)
        h2o_timeout_dispose(loop, &O.timer);
    h2o_timeout_init(loop, &O.timer, (uint64_t)delay_ms);
    O.timer_ready = 1;
    O.timer_entry.cb = on_timer;
    h2o_timeout_link(loop, &O.timer, &O.timer_entry);
}

static void record(result *r)
{
    if (r->kind == JOB_SWITCH) {
        if (switch_call_record(O.st, &O.flag_policy, r->delivery, r->at, r->http_status,
                               r->error[0] ? r->error : NULL, r->permanent) != FD_OK)
            fprintf(stderr, "flightdeck: flags: cannot record switch call %lld: %s\n",
                    (long long)r->delivery, webhook_last_error(O.st));
        return;
    }
    fd_err e = webhook_record(O.st, &O.policy, r->delivery, r->at, r->http_status,
                              r->error[0] ? r->error : NULL, r->duration_ms);
    if (e != FD_OK)
        fprintf(stderr, "flightdeck: webhooks: cannot record delivery %lld: %s\n",
                (long long)r->delivery, webhook_last_error(O.st));
}

/* One result is recorded and durable: when the whole batch of jobs is, look at the queue again
 * (it reads committed rows: a delivery whose attempt is not durable yet would go out twice). */
static void recorded(void *arg)
{
    (void)arg;
    if (O.inflight > 0)
        O.inflight--;
    if (O.inflight == 0)
        kick();
}

/* Record one result once the write connection is here (group commit: server/commit.c). */
static void record_when_writable(void *arg)
{
    result *r = arg;
    record(r);
    free(r);
    commit_after(recorded, NULL);
}

static void on_results(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        result *r = H2O_STRUCT_FROM_MEMBER(result, super.link, messages->next);
        h2o_linklist_unlink(&r->super.link);
        commit_call(record_when_writable, r);
    }
}

void outbound_event(void *arg, int64_t seq, const char *migration, const char *action,
                    const char *json, size_t len)
{
    (void)arg;
    (void)seq;
    (void)migration;
    (void)action;
    (void)json;
    (void)len;
    /* The event's deliveries were queued in its own transaction (webhook_enqueue_tx from
     * audit_append) and are durable now: only look at the queue, once for all the events of a
     * moment (a batch commit hands over many), not once per event. */
    if (O.running && !O.kick_soon) {
        O.kick_soon = 1;
        arm_timer(0);
    }
}

/* /metrics: deliveries waiting, read on the loop thread at scrape time (one COUNT query). */
static double queue_depth(void *arg)
{
    return (double)webhook_queue_depth((fd_store *)arg);
}

int outbound_start(h2o_context_t *ctx, fd_store *st, const webhook_policy *policy)
{
    memset(&O, 0, sizeof O);
    O.ctx = ctx;
    O.st = st;
    O.policy = *policy;
    char err[160];
    if (outbound_flag_policy_from_env(&O.flag_policy, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck: %s\n", err);
        return -1;
    }
    pthread_mutex_init(&O.mu, NULL);
    pthread_cond_init(&O.cv, NULL);
    h2o_multithread_register_receiver(ctx->queue, &O.receiver, on_results);
    if (pthread_create(&O.thread, NULL, worker_main, NULL) != 0) {
        fprintf(stderr, "flightdeck: cannot start the webhook worker\n");
        h2o_multithread_unregister_receiver(ctx->queue, &O.receiver);
        pthread_mutex_destroy(&O.mu);
        pthread_cond_destroy(&O.cv);
        return -1;
    }
    O.running = 1;
    metrics_gauge_fn("flightdeck_webhook_queue_depth", "Webhook deliveries waiting to be sent.",
                     queue_depth, st);
    kick(); /* deliveries left pending by the last run go out now */
    return 0;
}

void outbound_stop(void)
{
    if (!O.running)
        return;
    pthread_mutex_lock(&O.mu);
    atomic_store(&O.stop, 1);
    pthread_cond_broadcast(&O.cv);
    pthread_mutex_unlock(&O.mu);
    pthread_join(O.thread, NULL);
    /* Results the worker sent that the loop has not read yet: record them now (the receiver
     * must be empty before it is unregistered, and the attempts happened). Nobody else sends. */
    on_results(&O.receiver, &O.receiver._messages);
    O.running = 0;
    h2o_multithread_unregister_receiver(O.ctx->queue, &O.receiver);
    if (h2o_timeout_is_linked(&O.timer_entry))
        h2o_timeout_unlink(&O.timer_entry);
    if (O.timer_ready)
        h2o_timeout_dispose(O.ctx->loop, &O.timer);
    O.timer_ready = 0;
    while (O.head != NULL) { /* not attempted: still pending in the database */
        job *j = O.head;
        O.head = j->next;
        job_free(j);
    }
    O.tail = NULL;
    pthread_mutex_destroy(&O.mu);
    pthread_cond_destroy(&O.cv);
}
