/*
 * mutate.h - one mutation = one unit: transaction, Idempotency-Key, rule, commit, events.
 *
 * Every public mutation of core (flight.c, team.c) runs its rule through core_mutate, so the
 * rules only decide and write; they never begin, commit or roll back themselves.
 */
#ifndef FD_MUTATE_H
#define FD_MUTATE_H

#include <jansson.h>

#include "buf.h"
#include "store.h"

/* A rule: check, write, audit, and put the result document (owned) in *out, or leave it NULL
 * (deletes). Fill ctx->problem and return the error to refuse; everything is then rolled back. */
typedef fd_err (*core_rule_fn)(fd_store *st, fd_ctx *ctx, void *args, json_t **out);

/*
 * Run `fn` as one unit:
 *   - BEGIN IMMEDIATE;
 *   - with ctx->idem_key: a stored answer for (actor sub, key) with the same ctx->request_hash
 *     is returned as it was (ctx->replayed = 1, nothing changes); with another hash the call is
 *     FD_E_IDEM_MISMATCH;
 *   - run the rule; on success store the answer under the key (JSON null when out is NULL) and
 *     COMMIT, after which the events the rule appended reach the event sink in order;
 *   - on any error ROLLBACK: a refused request changes nothing, not even the audit log.
 * `out` may be NULL when the caller wants no document (the rule's result is then dropped).
 */
fd_err core_mutate(fd_store *st, fd_ctx *ctx, core_rule_fn fn, void *args, json_t **out);

/* A rule that writes its answer as JSON text: it appends the document to `out` (compact,
 * members in document order: what json_out_dumps(doc, 0) would write of the tree), without
 * building a tree. Otherwise as core_rule_fn. */
typedef fd_err (*core_text_rule_fn)(fd_store *st, fd_ctx *ctx, void *args, fd_buf *out);

/*
 * core_mutate for a rule that answers text (the step actions, the hottest writes). The answer is
 * appended to `out` (owned by the caller); that same text is what an Idempotency-Key stores, and
 * a replay appends the stored text as it is. On error `out` holds what it held before.
 */
fd_err core_mutate_text(fd_store *st, fd_ctx *ctx, core_text_rule_fn fn, void *args, fd_buf *out);

#endif
