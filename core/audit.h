/*
 * audit.h - the flight recorder: an append-only, hash-chained log of every change.
 *
 * Event (the same object in exports, the event stream and archives):
 *   {"seq": 12, "migration": "msk-replacement"|null, "at": "2026-11-22T01:12:22.123Z",
 *    "actor": {"sub": "alice", "name": "Alice", "role": "engineer"}, "source": "web"|"api"|"bot",
 *    "action": "step.tick", "target": "steps/42", "before": {...}|null, "after": {...}|null,
 *    "note": "..."|null, "request_id": "..."|null, "prev_hash": "<64 hex>", "hash": "<64 hex>"}
 *
 * seq is global (one sequence for the whole database, so one stream of all migrations can resume
 * from one number). The chain is per migration (events with migration null form their own chain):
 * prev_hash is the hash of the previous event of the same migration ("0"*64 for the first), and
 *   hash = hex(SHA-256(canonical))
 * where canonical is the event without "hash", as compact JSON with keys sorted (jansson
 * JSON_COMPACT | JSON_SORT_KEYS). Anyone holding an export can recompute it.
 *
 * Actions: team.create team.update migration.create migration.update migration.start
 * migration.abort stage.complete migration.landed migration.closed step.add step.update
 * step.delete step.tick step.untick step.skip step.fail step.confirm
 * and, for gates (gates.h): stage.update signoff.create signoff.override gate.override
 * briefing.create briefing.ack feedback.create feedback.resolve step.overdue stage.overdue
 * and, for the go-around (rollback.h): rollback.arm rollback.armed rollback.disarmed
 * go_around.requested go_around.started go_around.merged go_around.failed go_around.expired
 * landing.reopen
 * and, for plans as code and cutover switches (plans.h, switches.h): template.create
 * template.delete (global chain) template.instantiate switch.move switch.revert switch.applied
 * switch.failed
 */
#ifndef FD_AUDIT_H
#define FD_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

#define FD_HASH_HEX 65 /* 64 hex digits + NUL */

/* hex(SHA-256(data)) into out[FD_HASH_HEX]: the one SHA-256 of core (the chain, stage content
 * hashes). Returns 0, or -1 when the digest fails. */
int audit_sha256_hex(const void *data, size_t len, char out[FD_HASH_HEX]);

/*
 * Append an event inside the caller's open transaction (the rules call this; nobody else).
 * `before`/`after` are borrowed, may be NULL. The event reaches the event sink only after commit.
 */
fd_err audit_append(fd_store *st, const fd_ctx *ctx, const char *migration, const char *action,
                    const char *target, const json_t *before, const json_t *after,
                    const char *note);

/*
 * audit_append with before/after already written as canonical text: compact, keys sorted,
 * strings escaped, exactly as json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) writes them, with no
 * reals (the step actions write them straight from the row, store_step_row.h). NULL is null.
 * The text is copied into the event as it is: a caller that writes anything else breaks the
 * chain's promise that an export can be recomputed with jansson.
 */
fd_err audit_append_text(fd_store *st, const fd_ctx *ctx, const char *migration, const char *action,
                         const char *target, const char *before, size_t before_len,
                         const char *after, size_t after_len, const char *note);

typedef enum fd_audit_format {
    FD_AUDIT_JSON,   /* one JSON array */
    FD_AUDIT_NDJSON, /* one event per line */
    FD_AUDIT_CSV,    /* header line, then one row per event (RFC 4180) */
} fd_audit_format;

/* "json"|"ndjson"|"csv" -> format; 0 or -1. */
int audit_format_parse(const char *s, fd_audit_format *out);

/*
 * Streaming export in constant memory: the caller keeps an audit_cursor and calls
 * audit_export_chunk until *done. Each call appends roughly `target` bytes to `out`. The set of
 * events is fixed when the cursor is opened (seq <= the last seq then), so a long export of a live
 * migration is a consistent snapshot. No statement stays open between calls.
 */
typedef struct audit_cursor {
    char migration[65]; /* "" = every migration (and the global chain) */
    int all;            /* 1 when migration == "" means all events */
    int64_t after;      /* last seq already written */
    int64_t until;      /* last seq in the snapshot */
    fd_audit_format format;
    int phase;       /* 0 header not written, 1 rows, 2 done */
    int64_t written; /* events written so far */
    int walk;        /* 1 while the migration's events are dense in the log: read it in seq
                        order instead of through the index (audit.c, export) */
    int csv_packed;  /* CSV only: rows packed for another thread to format (audit_csv.h);
                        set by the caller after audit_cursor_open */
} audit_cursor;

/* mid NULL = all events. FD_E_NOT_FOUND when mid names no migration. */
fd_err audit_cursor_open(fd_store *st, const char *mid, int64_t after, fd_audit_format format,
                         audit_cursor *cur);
fd_err audit_export_chunk(fd_store *st, audit_cursor *cur, fd_buf *out, size_t target, int *done);

/*
 * Call fn for each event with seq > after (migration `mid`, or all when NULL), in seq order, at
 * most `limit` events; `json` is the event as exported. Used to replay missed events to a stream.
 * Returns the number of events passed through *count.
 */
fd_err audit_each_after(fd_store *st, const char *mid, int64_t after, int limit,
                        void (*fn)(void *arg, int64_t seq, const char *migration,
                                   const char *action, const char *json, size_t len),
                        void *arg, int *count);

/* The last seq in the whole log (0 when empty). */
int64_t audit_last_seq(fd_store *st);

/*
 * Verify the chain of one migration (mid NULL: the global chain) by recomputing every hash.
 * *out: {"ok": bool, "events": N, "first_seq", "last_seq", "last_hash",
 *        "broken": {"seq": n, "reason": "hash mismatch"|"prev_hash mismatch"|...} | null}
 */
fd_err audit_verify(fd_store *st, const char *mid, json_t **out);

/*
 * Verify a sequence of event objects in memory (an archive): the same rules as audit_verify,
 * without a database. `events` is a JSON array of Event objects.
 */
fd_err audit_verify_events(const json_t *events, json_t **out);

/* Free the buffer this thread keeps between events (audit_append_text). Call on a thread that
 * appended events before it ends. */
void audit_thread_exit(void);

#endif
