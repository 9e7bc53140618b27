/*
 * steps.c - steps of a migration: add to a stage, read, edit, remove, and the four actions a crew
 * takes on a live checklist (tick, untick, skip, fail, and confirm for the second person of a
 * critical step). Each action answers 200 with the updated step; a step someone else changed
 * first is core's 409 naming who and when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/doc_cache.h"
#include "api/handlers.h"
#include "api/job.h"
#include "api/reply.h"
#include "core/flight.h"

/* Step ids are SQLite rowids, kept within what a JSON number holds exactly (2^53). */
#define STEP_ID_MAX 9007199254740992LL
#define TEXT_MAX 4000

static const check_field tick_fields[] = {
    {"note", CHECK_STRING, 0, 0, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};
static const check_field untick_fields[] = {
    {"reason", CHECK_STRING, 0, 0, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};
static const check_field skip_fields[] = {
    {"reason", CHECK_STRING, 1, 1, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};
static const check_field fail_fields[] = {
    {"note", CHECK_STRING, 1, 1, TEXT_MAX},
    {NULL, CHECK_ANY, 0, 0, 0},
};

/* The {sid} parameter (params[1]) as an id; anything that is not one is simply not found. */
static int step_id_or_reply(api_call *c, int64_t *sid)
{
    if (api_parse_int64(c->params[1], 1, STEP_ID_MAX, sid) == 0)
        return 0;
    fd_fail(&c->ctx.problem, FD_E_NOT_FOUND, NULL, "Migration %s has no step %s.", c->params[0],
            c->params[1]);
    api_reply_error(c, FD_E_NOT_FOUND, &c->ctx.problem);
    return -1;
}

static void reply_step(api_call *c, fd_err e, json_t *step)
{
    if (e != FD_OK) {
        json_decref(step);
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_json(c, 200, step, api_doc_version(step));
}

/* POST /api/migrations/{mid}/stages/{stage}/steps {StepInput} -> 201 + Location */
void api_step_add(api_call *c)
{
    json_t *body = NULL, *step = NULL;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = flight_add_step(c->st, &c->ctx, c->params[0], c->params[1], body, &step);
    json_decref(body);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    json_t *id = json_object_get(step, "id");
    char location[160];
    snprintf(location, sizeof location, "/api/migrations/%s/steps/%lld", c->params[0],
             (long long)json_integer_value(id));
    api_reply_created(c, step, location, api_doc_version(step));
}

/* GET /api/migrations/{mid}/steps/{sid} */
void api_step_get(api_call *c)
{
    int64_t sid;
    json_t *step = NULL;
    fd_doc_stamp stamp;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    /* a step is part of its migration's document: the migration's stamp vouches for it */
    if (api_doc_cache_reply(c, c->params[0], sid, &stamp))
        return;
    fd_err e = flight_get_step(c->st, &c->ctx, c->params[0], sid, &step);
    if (e == FD_OK)
        api_doc_cache_reply_built(c, c->params[0], sid, &stamp, step);
    else
        reply_step(c, e, step);
}

/* PATCH /api/migrations/{mid}/steps/{sid} {StepInput fields, position?}, If-Match honoured */
void api_step_patch(api_call *c)
{
    int64_t sid;
    json_t *body = NULL, *step = NULL;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    if (api_body_object(c, NULL, 0, &body) != 0)
        return;
    fd_err e = flight_patch_step(c->st, &c->ctx, c->params[0], sid, body, &step);
    json_decref(body);
    reply_step(c, e, step);
}

/* DELETE /api/migrations/{mid}/steps/{sid} -> 204 */
void api_step_delete(api_call *c)
{
    int64_t sid;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    fd_err e = flight_delete_step(c->st, &c->ctx, c->params[0], sid);
    if (e != FD_OK) {
        api_reply_error(c, e, &c->ctx.problem);
        return;
    }
    api_reply_no_content(c);
}

/* The answer of an action, written by core as text (no tree: every durable tick comes this
 * way), then copied once into the request's pool. */
static void reply_action(api_call *c, fd_err e, fd_problem *p, const fd_buf *answer,
                         int64_t version)
{
    if (e != FD_OK) {
        api_reply_error(c, e, p);
        return;
    }
    h2o_iovec_t text = h2o_iovec_init(h2o_mem_alloc_pool(&c->req->pool, answer->len), answer->len);
    memcpy(text.base, answer->data, answer->len);
    api_reply_json_text(c, 200, text, version);
}

/* Core's action, its answer text ending in a newline. */
static fd_err run_action(fd_store *st, fd_ctx *ctx, const char *mid, int64_t sid,
                         fd_step_action action, const char *text, fd_buf *answer,
                         int64_t *version)
{
    fd_err e = flight_step_action_text(st, ctx, mid, sid, action, text, answer, version);
    if (e == FD_OK && fd_buf_append(answer, "\n", 1) != 0)
        e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "out of memory");
    return e;
}

/* An action as a job (api/job.h): its SQL runs on the committing thread, beside the loop. The
 * job owns copies of everything the request lent the context (the actor, the strings), since
 * the client may go away, and the request's pool with it, while the job runs. */
typedef struct step_job {
    api_job base;
    fd_actor actor;
    fd_ctx ctx;
    const char *mid, *text; /* in strings[] */
    int64_t sid;
    fd_step_action action;
    fd_err e;
    int64_t version;
    fd_buf answer;
    size_t room; /* bytes of strings[] */
    char strings[];
} step_job;

/* Spent jobs, kept for the next actions with their answer's room. Under durable ticks each
 * action took ~3 KB (the copies of the actor and the context) and 1.5 KB (the answer) from
 * glibc and gave them back: sizes its per-thread caches do not hold, so each went through the
 * locked bins (calloc alone was ~5k instructions of the loop's ~45k per tick, callgrind). Jobs
 * are made and finished on the loop thread only. Not under AddressSanitizer, which should see
 * every job's memory come and go. */
#if defined(__SANITIZE_ADDRESS__)
#define JOB_POOL_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JOB_POOL_MAX 0
#endif
#endif
#ifndef JOB_POOL_MAX
#define JOB_POOL_MAX 64 /* more than the jobs in flight at once under 50 clients */
#endif
#define JOB_ROOM 512                 /* strings[] of a pooled job; a job that needs more is made to measure */
#define JOB_ANSWER_KEEP (16 * 1024) /* an answer grown past this is let go with its job */
static __thread step_job *job_pool;  /* linked through base.next */
static __thread int job_pool_len;

/* Back to the pool, or to glibc. */
static void step_job_free(step_job *j)
{
    if (j->room == JOB_ROOM && j->answer.cap <= JOB_ANSWER_KEEP && job_pool_len < JOB_POOL_MAX) {
        j->base.next = &job_pool->base;
        job_pool = j;
        job_pool_len++;
        return;
    }
    fd_buf_free(&j->answer);
    free(j);
}

static void step_job_run(api_job *base, fd_store *st)
{
    step_job *j = (step_job *)base;
    j->e = run_action(st, &j->ctx, j->mid, j->sid, j->action, j->text, &j->answer, &j->version);
}

static void step_job_finish(api_job *base, api_call *c, int durable)
{
    step_job *j = (step_job *)base;
    if (c != NULL) {
        store_batch_untouch(c->st); /* the batch has ended: nothing to hold the answer for */
        c->ctx.replayed = j->ctx.replayed; /* the answer says so (Idempotent-Replayed) */
        if (j->e == FD_OK && !durable)
            j->e = fd_fail(&j->ctx.problem, FD_E_UNAVAILABLE, NULL, "%s", api_job_lost_detail);
        reply_action(c, j->e, &j->ctx.problem, &j->answer, j->version);
    }
    fd_problem_clear(&j->ctx.problem);
    step_job_free(j);
}

/* Copy `s` (may be NULL) to *at, moving it on; the copy or NULL. */
static const char *job_string(char **at, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = memcpy(*at, s, n);
    *at += n;
    return copy;
}

static size_t string_size(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

/* The job of an action, or NULL when memory ran out. */
static step_job *step_job_new(api_call *c, int64_t sid, fd_step_action action, const char *text)
{
    const fd_ctx *x = &c->ctx;
    size_t n = string_size(c->params[0]) + string_size(text) + string_size(x->request_id) +
               string_size(x->idem_key) + string_size(x->request_hash);
    step_job *j = NULL;
    if (n <= JOB_ROOM && job_pool != NULL) {
        j = job_pool;
        job_pool = (step_job *)j->base.next;
        job_pool_len--;
    } else {
        size_t room = n <= JOB_ROOM ? JOB_ROOM : n;
        j = malloc(sizeof *j + room);
        if (j == NULL)
            return NULL;
        j->room = room;
        j->answer = (fd_buf){0};
    }
    /* every member is set here: a pooled job still holds the last one's */
    char *at = j->strings;
    j->base = (api_job){.run = step_job_run, .finish = step_job_finish};
    j->actor = *x->actor;
    j->ctx = *x;
    j->ctx.actor = &j->actor;
    memset(&j->ctx.problem, 0, sizeof j->ctx.problem);
    j->ctx.request_id = job_string(&at, x->request_id);
    j->ctx.idem_key = job_string(&at, x->idem_key);
    j->ctx.request_hash = job_string(&at, x->request_hash);
    j->mid = job_string(&at, c->params[0]);
    j->text = job_string(&at, text);
    j->sid = sid;
    j->action = action;
    j->e = FD_OK;
    j->version = -1;
    /* the answer's room (a step is ~0.5-1 KB) comes from the loop's heap, where the answer is
     * freed: blocks freed on another thread than the one that took them wait on a lock */
    fd_buf_reset(&j->answer);
    if (fd_buf_reserve(&j->answer, 1536) != 0) {
        step_job_free(j);
        return NULL;
    }
    return j;
}

/* The answer when the action runs here, on the loop: one buffer per thread, kept between
 * requests; one that a huge step grew past ANSWER_KEEP is let go. */
#define ANSWER_KEEP (64 * 1024)
static __thread fd_buf answer;

/* The four actions share one shape: check the small body, then run core's action beside the
 * loop (a job), or here when there is no committing thread; answer the step. */
static void step_action(api_call *c, fd_step_action action, const check_field *fields,
                        const char *text_field)
{
    int64_t sid, version;
    json_t *body = NULL;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    if (api_body_object(c, fields, 1, &body) != 0)
        return;
    const char *text = check_str(body, text_field, NULL);
    if (text != NULL && *text == '\0')
        text = NULL; /* an empty optional note is no note */
    if (c->ctx.actor != NULL) { /* without one core refuses at once: no job for that */
        step_job *j = step_job_new(c, sid, action, text);
        if (j != NULL && api_job_submit(c, &j->base) == 0) {
            json_decref(body);
            return;
        }
        if (j != NULL)
            step_job_free(j);
    }
    fd_buf_reset(&answer);
    fd_err e = run_action(c->st, &c->ctx, c->params[0], sid, action, text, &answer, &version);
    json_decref(body);
    reply_action(c, e, &c->ctx.problem, &answer, version);
    if (answer.cap > ANSWER_KEEP)
        fd_buf_free(&answer);
}

/* POST .../steps/{sid}/tick {note?} */
void api_step_tick(api_call *c)
{
    step_action(c, FD_STEP_TICK, tick_fields, "note");
}

/* POST .../steps/{sid}/untick {reason?} */
void api_step_untick(api_call *c)
{
    step_action(c, FD_STEP_UNTICK, untick_fields, "reason");
}

/* POST .../steps/{sid}/skip {reason} */
void api_step_skip(api_call *c)
{
    step_action(c, FD_STEP_SKIP, skip_fields, "reason");
}

/* POST .../steps/{sid}/fail {note} */
void api_step_fail(api_call *c)
{
    step_action(c, FD_STEP_FAIL, fail_fields, "note");
}

/* POST .../steps/{sid}/confirm {note?}: the second person of a critical step. The one who
 * ticked it is 403; a step not awaiting confirmation is 409. */
void api_step_confirm(api_call *c)
{
    int64_t sid;
    json_t *body = NULL, *step = NULL;
    if (step_id_or_reply(c, &sid) != 0)
        return;
    if (api_body_object(c, tick_fields, 1, &body) != 0)
        return;
    fd_err e = flight_confirm_step(c->st, &c->ctx, c->params[0], sid, check_str(body, "note", NULL),
                                   &step);
    json_decref(body);
    reply_step(c, e, step);
}
