/* store_audit.c - the audit table: chain heads, appends, and keyset pages (see
 * store_internal.h). Rows are append-only; triggers in the schema refuse UPDATE and DELETE. */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

/* ---- the heads' cache (store_audit_cache in store_sqlite.h) ---- */

unsigned store_data_version(fd_store *st)
{
    unsigned dv = 0;
    if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_DATA_VERSION, &dv) != SQLITE_OK)
        return 0;
    return dv;
}

static void heads_clear(store_audit_heads *h)
{
    memset(h, 0, sizeof *h);
}

/* The cache serves only the thread that has the write side, inside a unit (or a transaction):
 * that is where appends happen, and where a rollback is sure to reach store_rollback. */
static int cache_usable(fd_store *st)
{
    return st->in_tx && !store_batch_away(st);
}

/* `kept` as of now: emptied when the data version moved since it was filled (a commit by
 * another connection, or one of ours that store_audit_heads_committed was not told of). */
static store_audit_heads *kept_now(fd_store *st)
{
    store_audit_cache *c = &st->heads;
    unsigned dv = store_data_version(st);
    if (!c->dv_set || c->dv != dv) {
        heads_clear(&c->kept);
        c->dv = dv;
        c->dv_set = 1;
    }
    return &c->kept;
}

static store_audit_chain *chain_find(store_audit_heads *h, const char *migration)
{
    for (int i = 0; i < STORE_AUDIT_HEADS; i++) {
        store_audit_chain *c = &h->chains[i];
        if (c->used && (migration == NULL ? c->global
                                          : !c->global && strcmp(c->migration, migration) == 0))
            return c;
    }
    return NULL;
}

/* Keep `hash` as the head of `migration`'s chain. `evict`: a full table gives up its oldest
 * slot (the kept layer: a miss later costs a read); else the entry is not kept and -1 says so
 * (the unit's layer: what it appended must never fall through to the layer below). */
static int chain_put(store_audit_heads *h, const char *migration, const char *hash, int evict)
{
    if (migration != NULL && strlen(migration) >= STORE_AUDIT_HEAD_ID)
        return -1;
    store_audit_chain *c = chain_find(h, migration);
    for (int i = 0; c == NULL && i < STORE_AUDIT_HEADS; i++)
        if (!h->chains[i].used)
            c = &h->chains[i];
    if (c == NULL && !evict)
        return -1;
    if (c == NULL)
        c = &h->chains[h->next++ % STORE_AUDIT_HEADS];
    c->used = 1;
    c->global = migration == NULL;
    snprintf(c->migration, sizeof c->migration, "%s", migration ? migration : "");
    memcpy(c->hash, hash, 64);
    c->hash[64] = '\0';
    return 0;
}

void store_audit_heads_unit_end(fd_store *st, int kept)
{
    store_audit_cache *c = &st->heads;
    store_audit_heads *u = &c->unit;
    if (kept && u->overflow) {
        /* some chain the unit appended to is not in its layer: what kept says of it is old */
        store_audit_heads_forget(st);
    } else if (kept && u->last_seq != 0) { /* the unit appended something */
        store_audit_heads *k = kept_now(st);
        k->last_seq = u->last_seq;
        for (int i = 0; i < STORE_AUDIT_HEADS; i++)
            if (u->chains[i].used)
                chain_put(k, u->chains[i].global ? NULL : u->chains[i].migration,
                          u->chains[i].hash, 1);
    }
    heads_clear(u);
}

void store_audit_heads_committed(fd_store *st, unsigned dv_before, int ok)
{
    store_audit_cache *c = &st->heads;
    /* our own COMMIT moved the data version, and nothing else could in between: the write
     * lock was ours since BEGIN IMMEDIATE */
    if (ok && c->dv_set && c->dv == dv_before)
        c->dv = store_data_version(st);
    else if (!ok)
        store_audit_heads_forget(st);
}

void store_audit_heads_forget(fd_store *st)
{
    heads_clear(&st->heads.kept);
    heads_clear(&st->heads.unit);
    st->heads.dv_set = 0;
}

/* ---- appends ---- */

static fd_err read_prev_hash(fd_store *st, const char *migration, char out[65])
{
    memset(out, '0', 64);
    out[64] = '\0';
    /* "IS" so that a NULL migration finds the global chain */
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_PREV,
                                 "SELECT hash FROM audit WHERE migration IS ?1"
                                 " ORDER BY seq DESC LIMIT 1");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, migration);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW)
        store_col_copy(s, 0, out, 65);
    else if (rc != SQLITE_DONE)
        e = store_fail(st, "audit prev hash");
    sqlite3_reset(s);
    return e;
}

fd_err store_audit_prev_hash(fd_store *st, const char *migration, char out[65])
{
    if (!cache_usable(st))
        return read_prev_hash(st, migration, out);
    /* what this unit appended, then what is known of the database before it (unless the unit
     * appended to a chain its layer could not keep: that one may be any chain) */
    store_audit_heads *u = &st->heads.unit;
    const store_audit_chain *c = chain_find(u, migration);
    if (c == NULL && !u->overflow)
        c = chain_find(kept_now(st), migration);
    if (c != NULL) {
        memcpy(out, c->hash, 65);
        return FD_OK;
    }
    fd_err e = read_prev_hash(st, migration, out);
    /* the unit has not appended to this chain (else it would be in its layer): what the
     * database says was true before the unit too */
    if (e == FD_OK && !u->overflow)
        chain_put(kept_now(st), migration, out, 1);
    return e;
}

fd_err store_audit_next_seq(fd_store *st, int64_t *seq)
{
    int usable = cache_usable(st);
    if (usable && st->heads.unit.last_seq != 0) {
        *seq = st->heads.unit.last_seq + 1;
        return FD_OK;
    }
    if (usable && kept_now(st)->last_seq != 0) {
        *seq = st->heads.kept.last_seq + 1;
        return FD_OK;
    }
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_NEXT, "SELECT coalesce(max(seq), 0) + 1 FROM audit");
    if (s == NULL)
        return FD_E_INTERNAL;
    fd_err e = FD_OK;
    if (sqlite3_step(s) == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    else
        e = store_fail(st, "audit next seq");
    sqlite3_reset(s);
    /* an empty log (seq 1 next) is not kept: 0 means "not known" */
    if (e == FD_OK && usable && *seq > 1)
        st->heads.kept.last_seq = *seq - 1; /* the unit has appended nothing yet */
    return e;
}

fd_err store_audit_insert(fd_store *st, int64_t seq, const char *migration, int64_t at,
                          const char *action, const char *prev_hash, const char *hash,
                          const char *event, size_t len)
{
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_INSERT,
                                 "INSERT INTO audit (seq, migration, at, action, prev_hash, hash,"
                                 " event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, seq);
    store_bind_text(s, 2, migration);
    sqlite3_bind_int64(s, 3, at);
    store_bind_text(s, 4, action);
    store_bind_text(s, 5, prev_hash);
    store_bind_text(s, 6, hash);
    /* static: the text outlives the statement's run (it is reset before we return) */
    sqlite3_bind_text(s, 7, event, (int)len, SQLITE_STATIC);
    if (store_exec_stmt(st, s, "audit insert") != FD_OK)
        return FD_E_INTERNAL;
    if (cache_usable(st)) {
        st->heads.unit.last_seq = seq;
        if (chain_put(&st->heads.unit, migration, hash, 0) != 0)
            st->heads.unit.overflow = 1;
    }
    return store_queue_event(st, seq, migration, action, event, len);
}

int64_t store_audit_last_seq(fd_store *st)
{
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_LAST, "SELECT coalesce(max(seq), 0) FROM audit");
    if (s == NULL)
        return 0;
    int64_t seq = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

#define PAGE_COLS "seq, migration, action, prev_hash, hash, event"

fd_err store_audit_page(fd_store *st, store_audit_scope scope, const char *mid, int64_t after,
                        int64_t until, int limit, int (*fn)(void *arg, const store_audit_row *row),
                        void *arg, int *count)
{
    *count = 0;
    sqlite3_stmt *s;
    switch (scope) {
    case STORE_AUDIT_MIGRATION:
        s = store_stmt(st, S_AUDIT_PAGE_MIG,
                       "SELECT " PAGE_COLS " FROM audit WHERE migration = ?3"
                       " AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?4");
        break;
    case STORE_AUDIT_MIGRATION_WALK:
        /* "+migration": the unary plus keeps the planner off the audit_migration index, so the
         * rows come from the table itself in rowid (seq) order */
        s = store_stmt(st, S_AUDIT_PAGE_WALK,
                       "SELECT " PAGE_COLS " FROM audit WHERE +migration = ?3"
                       " AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?4");
        break;
    case STORE_AUDIT_GLOBAL:
        s = store_stmt(st, S_AUDIT_PAGE_GLOBAL,
                       "SELECT " PAGE_COLS " FROM audit WHERE migration IS NULL"
                       " AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?4");
        break;
    default:
        s = store_stmt(st, S_AUDIT_PAGE_ALL,
                       "SELECT " PAGE_COLS " FROM audit WHERE seq > ?1 AND seq <= ?2"
                       " ORDER BY seq LIMIT ?4");
        break;
    }
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, until);
    if (scope == STORE_AUDIT_MIGRATION || scope == STORE_AUDIT_MIGRATION_WALK)
        store_bind_text(s, 3, mid);
    sqlite3_bind_int(s, 4, limit);
    int rc;
    fd_err e = FD_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_audit_row row = {
            .seq = sqlite3_column_int64(s, 0),
            .migration = (const char *)sqlite3_column_text(s, 1),
            .action = (const char *)sqlite3_column_text(s, 2),
            .prev_hash = (const char *)sqlite3_column_text(s, 3),
            .hash = (const char *)sqlite3_column_text(s, 4),
            .event = (const char *)sqlite3_column_text(s, 5),
        };
        row.len = (size_t)sqlite3_column_bytes(s, 5);
        (*count)++;
        int r = fn(arg, &row);
        if (r < 0) {
            snprintf(store_error, sizeof store_error, "audit page: the reader failed");
            e = FD_E_INTERNAL;
            break;
        }
        if (r > 0) { /* the reader has enough for now */
            rc = SQLITE_DONE;
            break;
        }
    }
    if (e == FD_OK && rc != SQLITE_DONE)
        e = store_fail(st, "audit page");
    sqlite3_reset(s);
    return e;
}
