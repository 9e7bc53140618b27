/*
 * github.c - the GitHub port: one curl worker thread, messages back to the loop, and the timer
 * that re-checks rollback PRs (see server/github.h; the procedure is in core/github.h).
 *
 * Only this file (and outbound.c) include curl. The worker owns one curl handle, reused so calls
 * share a connection. It touches nothing of the loop's: it reads the job's inputs, fills its
 * replies, and posts it back; the loop hands it to core (job->done), which owns the database.
 */
#include "server/github.h"
#include "server/commit.h"
#include "server/metrics.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rollback.h"

#define BODY_MAX (4 * 1024 * 1024) /* a PR with many reviews is far below this */
#define MERGEABLE_FIRST_WAIT_MS 250
#define MERGE_FIRST_WAIT_MS 1000
#define STOP_DRAIN_ROUNDS 100

/* A job on its way: queued for the worker, then posted back to the loop. */
typedef struct envelope {
    h2o_multithread_message_t super; /* first: the message is the envelope */
    gh_job *job;
    struct envelope *next; /* the worker's queue */
} envelope;

static struct {
    int started;
    h2o_context_t *ctx;
    fd_store *st;
    fd_github port;
    char api[512];
    char *auth_header; /* "Authorization: Bearer <token>", wiped at stop; NULL without token */
    long timeout_ms;
    uint64_t check_ms;
    /* the queue, shared with the worker */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    envelope *head, *tail;
    atomic_int stopping;
    atomic_int posted; /* posted to the loop and not yet received */
    pthread_t thread;
    /* the loop's side */
    h2o_multithread_receiver_t receiver;
    h2o_timeout_t check_timeout;
    h2o_timeout_entry_t check_entry;
    /* the worker's */
    CURL *curl;
    /* GitHub call outcomes for /metrics: written by the worker, read by the loop */
    atomic_uint_fast64_t calls[4];
} G;

/* Outcome classes of one GitHub call, as labelled in /metrics. */
enum { GH_OK, GH_CLIENT_ERROR, GH_SERVER_ERROR, GH_NO_ANSWER };
static const char *const gh_outcome_series[4] = {
    "flightdeck_github_calls_total{outcome=\"ok\"}",
    "flightdeck_github_calls_total{outcome=\"client_error\"}",
    "flightdeck_github_calls_total{outcome=\"server_error\"}",
    "flightdeck_github_calls_total{outcome=\"no_answer\"}",
};

static double gh_calls(void *arg)
{
    return (double)atomic_load(&G.calls[(intptr_t)arg]);
}

/* ---- the worker's HTTP ---- */

typedef struct body_buf {
    char *data;
    size_t len;
    int too_big;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > BODY_MAX) {
        b->too_big = 1;
        return 0;
    }
    char *bigger = realloc(b->data, b->len + n + 1);
    if (bigger == NULL)
        return 0;
    b->data = bigger;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* curl's progress callback: a non-zero answer aborts the transfer (shutdown). */
static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)p;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return atomic_load(&G.stopping) != 0;
}

/* One call: `method` on G.api + path, with an optional JSON body. Fills r (status 0 with a reason
 * when no answer came). The token is in a header curl holds only for this call. */
static void call(const char *method, const char *path, const char *json, gh_reply *r)
{
    char url[1024];
    body_buf b = {0};
    struct curl_slist *h = NULL;
    json_decref(r->body);
    memset(r, 0, sizeof *r);
    if (atomic_load(&G.stopping)) {
        snprintf(r->error, sizeof r->error, "flightdeck is shutting down");
        return;
    }
    snprintf(url, sizeof url, "%s%s", G.api, path);
    h = curl_slist_append(h, "Accept: application/vnd.github+json");
    h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip for small bodies */
    if (json != NULL)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (G.auth_header != NULL)
        h = curl_slist_append(h, G.auth_header);

    CURL *c = G.curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "flightdeck");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, G.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, G.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* the token never follows a redirect */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (json != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h); /* the list held the Authorization line: gone now */
    if (rc != CURLE_OK) {
        atomic_fetch_add(&G.calls[GH_NO_ANSWER], 1);
        snprintf(r->error, sizeof r->error, "%s",
                 b.too_big ? "answer too large" : curl_easy_strerror(rc));
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        r->status = status;
        atomic_fetch_add(&G.calls[status >= 500   ? GH_SERVER_ERROR
                                  : status >= 400 ? GH_CLIENT_ERROR
                                                  : GH_OK],
                         1);
        if (b.data != NULL)
            r->body = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
    }
    free(b.data);
}

/* Sleep up to ms unless the worker is told to stop. Returns 0, or -1 when stopping. */
static int pause_ms(long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&G.mu);
    while (!atomic_load(&G.stopping)) {
        if (pthread_cond_timedwait(&G.cv, &G.mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&G.mu);
    return atomic_load(&G.stopping) ? -1 : 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A head SHA goes into a URL path: hex only. */
static int sha_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n < 7 || n > GH_SHA_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void get_pr(gh_job *job)
{
    char path[GH_REPO_MAX + 64];
    snprintf(path, sizeof path, "/repos/%s/pulls/%lld", job->repo, (long long)job->number);
    call("GET", path, NULL, &job->pr);
    job->pr_asks++;
}

static void run_check(gh_job *job)
{
    char path[GH_REPO_MAX + GH_SHA_MAX + 64];
    long wait = MERGEABLE_FIRST_WAIT_MS;
    get_pr(job);
    /* "mergeable": null means GitHub is still computing: ask again, briefly */
    while (job->pr.status == 200 && rollback_pr_mergeable_unknown(job->pr.body) &&
           job->pr_asks < GH_MERGEABLE_ASKS) {
        if (pause_ms(wait) != 0)
            return;
        wait *= 2;
        get_pr(job);
    }
    if (job->pr.status != 200)
        return;
    const char *sha =
        json_string_value(json_object_get(json_object_get(job->pr.body, "head"), "sha"));
    snprintf(path, sizeof path, "/repos/%s/pulls/%lld/reviews?per_page=100", job->repo,
             (long long)job->number);
    call("GET", path, NULL, &job->reviews);
    if (!sha_ok(sha))
        return; /* the decision reports the head as unknown */
    snprintf(path, sizeof path, "/repos/%s/commits/%s/status", job->repo, sha);
    call("GET", path, NULL, &job->status);
    snprintf(path, sizeof path, "/repos/%s/commits/%s/check-runs?per_page=100", job->repo, sha);
    call("GET", path, NULL, &job->checks);
}

static void run_merge(gh_job *job)
{
    char path[GH_REPO_MAX + 64];
    int64_t start = mono_ms();
    long wait = MERGE_FIRST_WAIT_MS;
    get_pr(job);
    const char *state = json_string_value(json_object_get(job->pr.body, "state"));
    if (job->pr.status < 200 || job->pr.status >= 300 || rollback_pr_merged(job->pr.body) ||
        state == NULL || strcmp(state, "open") != 0)
        return; /* gone, already merged, or closed: core says which */
    json_t *req = json_pack("{s:s,s:s,s:s}", "sha", job->sha, "merge_method", job->method,
                            "commit_title", job->title);
    char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL) {
        snprintf(job->merge.error, sizeof job->merge.error, "out of memory");
        return;
    }
    snprintf(path, sizeof path, "/repos/%s/pulls/%lld/merge", job->repo, (long long)job->number);
    for (;;) {
        call("PUT", path, body, &job->merge);
        job->merge_calls++;
        if (goaround_answer_is_final(job->merge.status)) {
            if (job->merge.status == 409)
                get_pr(job); /* show the head it moved to */
            break;
        }
        /* no answer or a 5xx: the merge may have happened. Never send it again blindly: wait,
         * then ask GitHub whether the PR is merged. */
        int64_t left = GH_MERGE_BUDGET_MS - (mono_ms() - start);
        if (pause_ms(wait < left ? wait : (left > 0 ? left : 0)) != 0)
            break;
        get_pr(job);
        if (job->pr.status >= 200 && job->pr.status < 300 && rollback_pr_merged(job->pr.body)) {
            job->merged_after_retry = 1;
            break;
        }
        if (mono_ms() - start >= GH_MERGE_BUDGET_MS)
            break;
        wait *= 2;
    }
    free(body);
}

/* Post the finished job back to the loop. */
static void post(envelope *env)
{
    atomic_fetch_add(&G.posted, 1);
    h2o_multithread_send_message(&G.receiver, &env->super);
}

static void *worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&G.mu);
        while (G.head == NULL && !atomic_load(&G.stopping))
            pthread_cond_wait(&G.cv, &G.mu);
        envelope *env = G.head;
        if (env == NULL || atomic_load(&G.stopping)) {
            pthread_mutex_unlock(&G.mu);
            return NULL; /* the queue left over is completed by github_stop */
        }
        G.head = env->next;
        if (G.head == NULL)
            G.tail = NULL;
        pthread_mutex_unlock(&G.mu);

        if (env->job->kind == GH_JOB_MERGE)
            run_merge(env->job);
        else
            run_check(env->job);
        post(env);
    }
}

/* ---- the loop's side ---- */

static int submit(void *arg, gh_job *job)
{
    (void)arg;
    if (!G.started || atomic_load(&G.stopping))
        return -1;
    envelope *env = calloc(1, sizeof *env);
    if (env == NULL)
        return -1;
    env->job = job;
    pthread_mutex_lock(&G.mu);
    if (G.tail != NULL)
        G.tail->next = env;
    else
        G.head = env;
    G.tail = env;
    pthread_cond_broadcast(&G.cv);
    pthread_mutex_unlock(&G.mu);
    return 0;
}

/* core records the answer (it writes): once the write connection is here (server/commit.c). */
static void done_when_writable(void *arg)
{
    gh_job *job = arg;
    job->done(job);
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        envelope *env =
            (envelope *)H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&env->super.link);
        atomic_fetch_sub(&G.posted, 1);
        gh_job *job = env->job;
        free(env);
        commit_call(done_when_writable, job);
    }
}

static void recheck_when_writable(void *arg)
{
    (void)arg;
    if (G.started && !atomic_load(&G.stopping)) /* it may have waited past github_stop */
        rollback_recheck_due(G.st, (int64_t)G.check_ms);
}

static void on_check_timer(h2o_timeout_entry_t *entry)
{
    commit_call(recheck_when_writable, NULL);
    h2o_timeout_link(G.ctx->loop, &G.check_timeout, entry);
}

const fd_github *github_start(h2o_context_t *ctx, fd_store *st, const fd_config *cfg)
{
    memset(&G, 0, sizeof G);
    G.ctx = ctx;
    G.st = st;
    snprintf(G.api, sizeof G.api, "%s", cfg->github_api);
    G.timeout_ms = (long)cfg->github_timeout_s * 1000;
    G.check_ms = (uint64_t)cfg->rollback_check_s * 1000;
    if (cfg->github_token != NULL) {
        size_t n = strlen(cfg->github_token) + 32;
        G.auth_header = malloc(n);
        if (G.auth_header == NULL)
            return NULL;
        snprintf(G.auth_header, n, "Authorization: Bearer %s", cfg->github_token);
    }
    G.curl = curl_easy_init();
    if (G.curl == NULL) {
        fprintf(stderr, "flightdeck: cannot create a curl handle for GitHub\n");
        goto fail;
    }
    pthread_mutex_init(&G.mu, NULL);
    pthread_cond_init(&G.cv, NULL);
    h2o_multithread_register_receiver(ctx->queue, &G.receiver, on_messages);
    if (pthread_create(&G.thread, NULL, worker_main, NULL) != 0) {
        fprintf(stderr, "flightdeck: cannot start the GitHub worker\n");
        h2o_multithread_unregister_receiver(ctx->queue, &G.receiver);
        pthread_cond_destroy(&G.cv);
        pthread_mutex_destroy(&G.mu);
        goto fail;
    }
    /* a quarter of the interval: a rollback is re-checked at most that much late */
    uint64_t tick = G.check_ms / 4 > 250 ? G.check_ms / 4 : 250;
    h2o_timeout_init(ctx->loop, &G.check_timeout, tick);
    G.check_entry.cb = on_check_timer;
    h2o_timeout_link(ctx->loop, &G.check_timeout, &G.check_entry);
    G.port.submit = submit;
    G.port.arg = NULL;
    G.port.has_token = G.auth_header != NULL;
    G.started = 1;
    for (intptr_t i = 0; i < 4; i++)
        metrics_counter_fn(gh_outcome_series[i],
                           "GitHub API calls by outcome (HTTP class, or no answer).", gh_calls,
                           (void *)i);
    return &G.port;
fail:
    if (G.curl != NULL)
        curl_easy_cleanup(G.curl);
    if (G.auth_header != NULL) {
        OPENSSL_cleanse(G.auth_header, strlen(G.auth_header));
        free(G.auth_header);
    }
    memset(&G, 0, sizeof G);
    return NULL;
}

void github_stop(void)
{
    if (!G.started)
        return;
    pthread_mutex_lock(&G.mu);
    atomic_store(&G.stopping, 1);
    pthread_cond_broadcast(&G.cv);
    pthread_mutex_unlock(&G.mu);
    pthread_join(G.thread, NULL);

    /* jobs the worker never began: unanswered, so core records them as such */
    envelope *env = G.head;
    G.head = G.tail = NULL;
    while (env != NULL) {
        envelope *next = env->next;
        snprintf(env->job->pr.error, sizeof env->job->pr.error, "flightdeck is shutting down");
        gh_job *job = env->job;
        free(env);
        job->done(job);
        env = next;
    }
    /* answers already posted: let the loop deliver them */
    for (int i = 0; i < STOP_DRAIN_ROUNDS && atomic_load(&G.posted) > 0; i++)
        h2o_evloop_run(G.ctx->loop, 10);

    if (h2o_timeout_is_linked(&G.check_entry))
        h2o_timeout_unlink(&G.check_entry);
    h2o_timeout_dispose(G.ctx->loop, &G.check_timeout);
    h2o_multithread_unregister_receiver(G.ctx->queue, &G.receiver);
    pthread_cond_destroy(&G.cv);
    pthread_mutex_destroy(&G.mu);
    curl_easy_cleanup(G.curl);
    if (G.auth_header != NULL) {
        OPENSSL_cleanse(G.auth_header, strlen(G.auth_header));
        free(G.auth_header);
    }
    memset(&G, 0, sizeof G);
}
