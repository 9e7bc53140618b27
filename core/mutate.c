/* mutate.c - the unit of change: one transaction per mutation (see mutate.h).
 *
 * With group commit on (store.h, store_batch.c) the same store_begin/commit/rollback calls are
 * a SAVEPOINT inside the server's batch transaction, its RELEASE, and ROLLBACK TO it: a refused
 * mutation undoes only itself, and its neighbours in the batch stay. The answer then waits
 * until the batch is durable (api/barrier.c); the rules stay as they are. */
#include "mutate.h"

#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "store_internal.h"

#define IDEM_KEY_MAX 255 /* a UUID is 36; leave room for bots that compose keys */

/* What a unit answers: a tree (core_mutate) or text (core_mutate_text). Exactly one of the two
 * rules is set. */
typedef struct unit_answer {
    core_rule_fn tree_fn;
    json_t **tree; /* may be NULL: the caller wants no document */
    core_text_rule_fn text_fn;
    fd_buf *text;
} unit_answer;

/* A stored answer exists for this key: replay it, or refuse a different request. */
static fd_err replay(fd_ctx *ctx, const char *stored_hash, const char *result,
                     const unit_answer *ans)
{
    const char *hash = ctx->request_hash ? ctx->request_hash : "";
    if (strcmp(stored_hash, hash) != 0)
        return fd_fail(&ctx->problem, FD_E_IDEM_MISMATCH, NULL,
                       "the Idempotency-Key %s was already used for a different request; "
                       "use a new key for a new request",
                       ctx->idem_key);
    if (ans->text != NULL && fd_buf_puts(ans->text, result) != 0)
        return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "out of memory");
    if (ans->tree != NULL) {
        json_error_t jerr;
        json_t *doc = json_loads(result, JSON_DECODE_ANY, &jerr);
        if (doc == NULL)
            return fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "stored answer unreadable: %s",
                           jerr.text);
        if (json_is_null(doc)) {
            json_decref(doc);
            doc = NULL;
        }
        *ans->tree = doc;
    }
    ctx->replayed = 1;
    return FD_OK;
}

static fd_err run_unit(fd_store *st, fd_ctx *ctx, void *args, const unit_answer *ans)
{
    json_t *result = NULL;
    char *stored_hash = NULL, *stored_result = NULL, *dumped = NULL;
    size_t text_start = ans->text != NULL ? ans->text->len : 0;
    fd_err e;

    if (ans->tree != NULL)
        *ans->tree = NULL;
    ctx->replayed = 0;
    if (ctx->actor == NULL)
        return fd_fail(&ctx->problem, FD_E_UNAUTHENTICATED, NULL, "sign in first");
    if (ctx->idem_key != NULL && (ctx->idem_key[0] == '\0' || strlen(ctx->idem_key) > IDEM_KEY_MAX))
        return fd_fail(&ctx->problem, FD_E_INVALID, "Idempotency-Key",
                       "the Idempotency-Key must have 1-%d characters", IDEM_KEY_MAX);
    e = store_begin(st);
    if (e != FD_OK) { /* FD_E_UNAVAILABLE: the batch is away being committed; retry */
        e = fd_fail(&ctx->problem, e == FD_E_UNAVAILABLE ? e : FD_E_INTERNAL, NULL, "begin: %s",
                    store_last_error(st));
        goto done;
    }

    if (ctx->idem_key != NULL) {
        e = store_idem_get(st, ctx->actor->sub, ctx->idem_key, &stored_hash, &stored_result);
        if (e == FD_OK) {
            e = replay(ctx, stored_hash, stored_result, ans);
            goto done; /* a replay changes nothing: roll back the empty transaction */
        }
        if (e != FD_E_NOT_FOUND) {
            e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "%s", store_last_error(st));
            goto done;
        }
    }

    e = ans->text_fn != NULL ? ans->text_fn(st, ctx, args, ans->text)
                             : ans->tree_fn(st, ctx, args, &result);
    if (e != FD_OK) {
        if (e == FD_E_INTERNAL && ctx->problem.detail[0] == '\0')
            fd_fail(&ctx->problem, e, NULL, "%s", store_last_error(st));
        goto done;
    }

    if (ctx->idem_key != NULL) {
        /* compact, keys in document order: a replay renders byte for byte what the first
         * answer rendered (a text rule wrote exactly that) */
        const char *text;
        if (ans->text_fn != NULL)
            text = ans->text->len > text_start ? ans->text->data + text_start : "null";
        else
            text = dumped = result ? json_out_dumps(result, 0) : strdup("null");
        if (text == NULL || store_idem_put(st, ctx->actor->sub, ctx->idem_key,
                                           ctx->request_hash ? ctx->request_hash : "", text,
                                           store_now_ms(st)) != FD_OK) {
            e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "idempotency: %s",
                        store_last_error(st));
            goto done;
        }
    }

    if (store_commit(st) != FD_OK) {
        e = fd_fail(&ctx->problem, FD_E_INTERNAL, NULL, "commit: %s", store_last_error(st));
        goto done;
    }
    if (ans->tree != NULL) {
        *ans->tree = result;
        result = NULL;
    }
    e = FD_OK;

done:
    if (st != NULL)
        store_rollback(st); /* no-op after a commit; drops queued events otherwise */
    if (e != FD_OK && ans->text != NULL && ans->text->len > text_start) {
        ans->text->len = text_start; /* a refused rule may have written part of an answer */
        ans->text->data[text_start] = '\0';
    }
    json_decref(result);
    free(stored_hash);
    free(stored_result);
    free(dumped);
    return e;
}

fd_err core_mutate(fd_store *st, fd_ctx *ctx, core_rule_fn fn, void *args, json_t **out)
{
    unit_answer ans = {.tree_fn = fn, .tree = out};
    return run_unit(st, ctx, args, &ans);
}

fd_err core_mutate_text(fd_store *st, fd_ctx *ctx, core_text_rule_fn fn, void *args, fd_buf *out)
{
    unit_answer ans = {.text_fn = fn, .text = out};
    return run_unit(st, ctx, args, &ans);
}
