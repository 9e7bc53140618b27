/* store.c - opening the SQLite database, schema migrations, transactions, the event queue and
 * idempotency keys (see store.h and store_internal.h).
 *
 * Only core/store*.c include sqlite3.h: the rules never hold a database handle. */
#include "store_sqlite.h"
#include "store_alloc.h"
#include "store_vfs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* Generated from migrations/NNNN_*.sql by scripts/embed.sh (see the Makefile). */
extern const int fd_migrations_count;
extern const char *const fd_migrations_names[];
extern const char *const fd_migrations_texts[];

#define BUSY_TIMEOUT_MS 5000

/* ---- small helpers shared by the store files ---- */

__thread char store_error[256];
__thread sqlite3 *store_error_db;

fd_err store_fail(fd_store *st, const char *what)
{
    sqlite3 *db = store_error_db;
    if (db == NULL || (db != st->db && db != st->rdb && db != st->cdb))
        db = st->db; /* the last statement on this thread was another store's */
    snprintf(store_error, sizeof store_error, "%s: %s", what,
             db ? sqlite3_errmsg(db) : "no database");
    return FD_E_INTERNAL;
}

const char *store_last_error(fd_store *st)
{
    return st ? store_error : "";
}

static sqlite3_stmt *stmt_on(fd_store *st, int committed, enum store_stmt_id id, const char *sql)
{
    sqlite3 *db = committed ? st->rdb : st->db;
    sqlite3_stmt **slot = committed ? &st->rstmts[id] : &st->stmts[id];
    sqlite3_stmt *s = *slot;
    store_error_db = db;
    if (s == NULL) {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
            store_fail(st, "prepare");
            return NULL;
        }
        *slot = s;
        return s;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

sqlite3_stmt *store_stmt(fd_store *st, enum store_stmt_id id, const char *sql)
{
    /* Group commit: a plain read goes to the read connection (committed data only); units and
     * whoever acts inside the open batch use the write connection (store_batch.c). */
    return stmt_on(st, store_batch_reads_committed(st), id, sql);
}

sqlite3_stmt *store_stmt_write(fd_store *st, enum store_stmt_id id, const char *sql)
{
    return stmt_on(st, 0, id, sql);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

fd_err store_exec_stmt(fd_store *st, sqlite3_stmt *s, const char *what)
{
    if (s == NULL)
        return FD_E_INTERNAL;
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = store_fail(st, what);
    sqlite3_reset(s);
    return e;
}

fd_err store_insert_stmt(fd_store *st, sqlite3_stmt *s, const char *what, int64_t *id)
{
    if (store_exec_stmt(st, s, what) != FD_OK)
        return FD_E_INTERNAL;
    *id = sqlite3_last_insert_rowid(st->db);
    return FD_OK;
}

int64_t store_col_int_or(sqlite3_stmt *s, int i, int64_t dflt)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(s, i);
}

void store_bind_int_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

json_t *store_col_str(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    return json_stringn((const char *)sqlite3_column_text(s, i),
                        (size_t)sqlite3_column_bytes(s, i));
}

json_t *store_col_time(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    char t[FD_TIME_LEN];
    fd_time_format(sqlite3_column_int64(s, i), t);
    return json_string(t);
}

json_t *store_col_int(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(s, i));
}

json_t *store_col_person(sqlite3_stmt *s, int sub, int name)
{
    if (sqlite3_column_type(s, sub) == SQLITE_NULL)
        return json_null();
    return json_pack("{s:o,s:o}", "sub", store_col_str(s, sub), "name", store_col_str(s, name));
}

fd_err store_col_strings(fd_store *st, sqlite3_stmt *s, const char *what, json_t *into)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(into, store_col_str(s, 0));
    fd_err e = rc == SQLITE_DONE ? FD_OK : store_fail(st, what);
    sqlite3_reset(s);
    return e;
}

void store_col_copy(sqlite3_stmt *s, int i, char *out, size_t n)
{
    /* up to the first NUL, cut to fit, as snprintf "%s" would: without snprintf, which a
     * durable tick calls this for several times */
    if (n == 0)
        return;
    const char *t = (const char *)sqlite3_column_text(s, i);
    size_t len = t != NULL ? strnlen(t, (size_t)sqlite3_column_bytes(s, i)) : 0;
    if (len >= n)
        len = n - 1;
    memcpy(out, t != NULL ? t : "", len);
    out[len] = '\0';
}

/* ---- open, migrate, close ---- */

static fd_err exec_sql(fd_store *st, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(store_error, sizeof store_error, "%s: %s", what, msg ? msg : "failed");
        sqlite3_free(msg);
        return FD_E_INTERNAL;
    }
    return FD_OK;
}

static int pragma_int(fd_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int v = -1;
    /* with group commit the write connection may be with the committing thread (/healthz asks
     * for the schema version while serving): read through the read connection then */
    sqlite3 *db = st->batch.on ? st->rdb : st->db;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* 1 when PRAGMA foreign_key_check finds a row that references nothing (or cannot run). */
static int foreign_keys_broken(fd_store *st)
{
    sqlite3_stmt *s = NULL;
    int broken = 1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s, NULL) == SQLITE_OK)
        broken = sqlite3_step(s) != SQLITE_DONE;
    sqlite3_finalize(s);
    if (broken)
        snprintf(store_error, sizeof store_error,
                 "foreign_key_check found broken references");
    return broken;
}

/* Apply the embedded migrations newer than user_version, all in one transaction: a database is
 * either at the old version or the new one, never in between.
 *
 * Foreign keys are off while the scripts run: changing a CHECK constraint means rebuilding the
 * table (SQLite's documented procedure), and a rebuilt table that others reference cannot be
 * dropped with them on. They cannot be switched inside a transaction, so it happens around it,
 * and PRAGMA foreign_key_check proves the result consistent before COMMIT. */
static fd_err migrate_scripts(fd_store *st, fd_problem *p);

static fd_err migrate(fd_store *st, fd_problem *p)
{
    if (exec_sql(st, "PRAGMA foreign_keys = OFF", "foreign_keys") != FD_OK)
        return fd_fail(p, FD_E_INTERNAL, NULL, "schema migration failed: %s", store_error);
    fd_err e = migrate_scripts(st, p);
    if (exec_sql(st, "PRAGMA foreign_keys = ON", "foreign_keys") != FD_OK && e == FD_OK)
        e = fd_fail(p, FD_E_INTERNAL, NULL, "schema migration failed: %s", store_error);
    return e;
}

static fd_err migrate_scripts(fd_store *st, fd_problem *p)
{
    int have = pragma_int(st, "PRAGMA user_version");
    if (have < 0)
        return fd_fail(p, store_fail(st, "user_version"), NULL, "cannot read the schema version");
    if (have > fd_migrations_count)
        return fd_fail(p, FD_E_INTERNAL, NULL,
                       "the database has schema version %d but this flightdeck knows only %d: "
                       "use a newer flightdeck",
                       have, fd_migrations_count);
    if (have == fd_migrations_count)
        return FD_OK;
    if (exec_sql(st, "BEGIN IMMEDIATE", "begin migration") != FD_OK)
        goto fail;
    for (int i = have; i < fd_migrations_count; i++) {
        if (exec_sql(st, fd_migrations_texts[i], fd_migrations_names[i]) != FD_OK) {
            exec_sql(st, "ROLLBACK", "rollback migration");
            goto fail;
        }
    }
    /* PRAGMA takes no bound parameters; the number is ours, not input */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", fd_migrations_count);
    if (foreign_keys_broken(st) || exec_sql(st, sql, "user_version") != FD_OK ||
        exec_sql(st, "COMMIT", "commit") != FD_OK) {
        exec_sql(st, "ROLLBACK", "rollback migration");
        goto fail;
    }
    return FD_OK;
fail:
    return fd_fail(p, FD_E_INTERNAL, NULL, "schema migration failed: %s", store_error);
}

/* Process-wide SQLite settings, before its first use. Memory statistics off: with them on,
 * every sqlite3_malloc and sqlite3_free takes a global mutex (~5 % of a durable tick), and
 * nothing here reads the statistics. If SQLite is already initialised this is refused
 * (SQLITE_MISUSE) and changes nothing: the default is only slower. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (store_alloc_install() < 0)
        fprintf(stderr, "flightdeck: SQLite was initialised before flightdeck could set its "
                        "allocator; using SQLite's own\n");
    /* after the configuration: registering a VFS initialises SQLite */
    if (store_vfs_install() != 0)
        fprintf(stderr, "flightdeck: the log-gathering SQLite VFS is not available; "
                        "using SQLite's own\n");
}

fd_err store_open(const char *path, fd_store **out, fd_problem *p)
{
    pthread_once(&sqlite_once, sqlite_configure);
    *out = NULL;
    fd_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return fd_fail(p, FD_E_INTERNAL, NULL, "out of memory");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot open database %s: %s", path,
                st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    /* WAL lets readers (exports, backups) run beside the writer; FULL makes every commit
     * durable before we answer; foreign keys must be switched on per connection. In-memory
     * databases answer "memory" to journal_mode, which is fine. */
    if (exec_sql(st, "PRAGMA journal_mode = WAL", "journal_mode") != FD_OK ||
        exec_sql(st, "PRAGMA synchronous = FULL", "synchronous") != FD_OK ||
        exec_sql(st, "PRAGMA foreign_keys = ON", "foreign_keys") != FD_OK) {
        fd_fail(p, FD_E_INTERNAL, NULL, "cannot configure database %s: %s", path, store_error);
        goto fail;
    }
    if (migrate(st, p) != FD_OK)
        goto fail;
    *out = st;
    return FD_OK;
fail:
    if (st->db != NULL)
        sqlite3_close(st->db);
    free(st);
    return FD_E_INTERNAL;
}

static void queue_clear(fd_store *st)
{
    for (size_t i = 0; i < st->nqueue; i++) {
        free(st->queue[i].migration);
        free(st->queue[i].action);
        free(st->queue[i].json);
    }
    st->nqueue = 0;
}

void store_close(fd_store *st)
{
    if (st == NULL)
        return;
    if (st->in_tx)
        store_rollback(st);
    store_batch_disable(st); /* commits an open batch: nobody was answered, nothing is lost */
    json_decref(st->hooks);
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    /* fold the WAL back into the database file, so a copied file is complete on its own */
    if (!st->reader)
        sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(st->db);
    queue_clear(st);
    free(st->queue);
    free(st);
}

void store_set_ports(fd_store *st, const fd_ports *ports)
{
    st->ports = *ports;
}

int64_t store_now_ms(fd_store *st)
{
    if (st != NULL && st->ports.clock.now_ms != NULL)
        return st->ports.clock.now_ms(st->ports.clock.arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_schema_version(fd_store *st)
{
    return pragma_int(st, "PRAGMA user_version");
}

int store_migration_count(void)
{
    return fd_migrations_count;
}

const char *store_migration_name(int i)
{
    return i >= 0 && i < fd_migrations_count ? fd_migrations_names[i] : NULL;
}

const char *store_migration_sql(int i)
{
    return i >= 0 && i < fd_migrations_count ? fd_migrations_texts[i] : NULL;
}

fd_err store_dump_schema(fd_store *st, char **out)
{
    *out = NULL;
    sqlite3_stmt *s = NULL;
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    fd_err e = FD_OK;
    if (text == NULL)
        return FD_E_INTERNAL;
    text[0] = '\0';
    if (sqlite3_prepare_v2(st->db,
                           "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"
                           " AND name NOT LIKE 'sqlite_%' ORDER BY name",
                           -1, &s, NULL) != SQLITE_OK) {
        e = store_fail(st, "dump schema");
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        const char *sql = (const char *)sqlite3_column_text(s, 0);
        while (len + n + 3 > cap) {
            cap *= 2;
            char *bigger = realloc(text, cap);
            if (bigger == NULL) {
                e = FD_E_INTERNAL;
                goto done;
            }
            text = bigger;
        }
        memcpy(text + len, sql, n);
        len += n;
        memcpy(text + len, ";\n", 3);
        len += 2;
    }
    if (rc != SQLITE_DONE)
        e = store_fail(st, "dump schema");
done:
    sqlite3_finalize(s);
    if (e != FD_OK) {
        free(text);
        return e;
    }
    *out = text;
    return FD_OK;
}

/* ---- commit statistics (for /metrics) ---- */

const double store_stats_seconds_bounds[STORE_STATS_SECONDS_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};
const double store_stats_batch_bounds[STORE_STATS_BATCH_BUCKETS] = {1,  2,   4,   8,   16,  32,
                                                                    64, 128, 256, 512, 1024};

double store_stats_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One durable commit of `units` mutations that took `seconds`. Group commit calls this once per
 * batch, which is what makes the batch-size histogram say something. */
void store_stats_record_commit(fd_store *st, int units, double seconds)
{
    fd_store_stats *s = &st->stats;
    int i = 0;
    s->commits++;
    s->units += (uint64_t)units;
    s->seconds_sum += seconds;
    while (i < STORE_STATS_SECONDS_BUCKETS && seconds > store_stats_seconds_bounds[i])
        i++;
    s->seconds[i]++;
    for (i = 0; i < STORE_STATS_BATCH_BUCKETS && (double)units > store_stats_batch_bounds[i];)
        i++;
    s->batch[i]++;
}

void store_stats(fd_store *st, fd_store_stats *out)
{
    *out = st->stats;
}

/* ---- transactions and the event queue ----
 *
 * Outside batch mode one mutation is one transaction (mutate.c): BEGIN IMMEDIATE ... COMMIT, and
 * the events go to the sink right after the COMMIT. In batch mode (group commit, store_batch.c)
 * the same three calls become SAVEPOINT / RELEASE / ROLLBACK TO inside the batch transaction, and
 * the events wait in the queue for the batch COMMIT; the rules do not change. */

fd_err store_begin(fd_store *st)
{
    if (st->batch.on) /* first: in_tx may belong to the committing thread until it is back */
        return store_batch_unit_begin(st);
    if (st->in_tx) {
        snprintf(store_error, sizeof store_error, "a transaction is already open");
        return FD_E_INTERNAL;
    }
    if (store_exec_stmt(st, store_stmt(st, S_BEGIN, "BEGIN IMMEDIATE"), "begin") != FD_OK)
        return FD_E_INTERNAL;
    st->in_tx = 1;
    st->nlater_bumps = 0;
    return FD_OK;
}

fd_err store_commit(fd_store *st)
{
    if (st->batch.on)
        return store_batch_unit_release(st);
    double t0 = store_stats_clock();
    unsigned dv = store_data_version(st);
    if (store_mig_bumps_apply(st) != FD_OK)
        return FD_E_INTERNAL; /* the caller's store_rollback undoes the transaction */
    if (store_exec_stmt(st, store_stmt(st, S_COMMIT, "COMMIT"), "commit") != FD_OK) {
        st->stats.commit_errors++;
        return FD_E_INTERNAL; /* the caller's store_rollback drops the unit's heads */
    }
    store_audit_heads_committed(st, dv, 1);
    store_audit_heads_unit_end(st, 1);
    store_stats_record_commit(st, 1, store_stats_clock() - t0);
    st->in_tx = 0;
    store_queue_flush(st);
    return FD_OK;
}

void store_events_emit(fd_store *st, store_event *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (st->ports.events.emit != NULL)
            st->ports.events.emit(st->ports.events.arg, q[i].seq, q[i].migration, q[i].action,
                                  q[i].json, q[i].len);
        free(q[i].migration);
        free(q[i].action);
        free(q[i].json);
    }
}

void store_queue_flush(fd_store *st)
{
    /* Only now are the events true: hand them on in the order they were written. The queue is
     * detached first, so a sink that itself writes (a webhook delivery queue) starts a fresh
     * transaction with a fresh queue instead of pulling this one from under our feet. */
    store_event *q = st->queue;
    size_t n = st->nqueue, cap = st->capqueue;
    st->queue = NULL;
    st->nqueue = st->capqueue = 0;
    store_events_emit(st, q, n);
    if (st->queue == NULL) { /* keep the allocation for the next transaction */
        st->queue = q;
        st->capqueue = cap;
    } else {
        free(q);
    }
}

void store_queue_truncate(fd_store *st, size_t from)
{
    for (size_t i = from; i < st->nqueue; i++) {
        free(st->queue[i].migration);
        free(st->queue[i].action);
        free(st->queue[i].json);
    }
    if (from < st->nqueue)
        st->nqueue = from;
}

void store_rollback(fd_store *st)
{
    if (st->batch.on) { /* only the unit at hand: the batch's other units stay */
        store_batch_unit_rollback(st);
        return;
    }
    queue_clear(st);
    st->nlater_bumps = 0;
    if (!st->in_tx)
        return;
    store_audit_heads_unit_end(st, 0);
    json_decref(st->hooks); /* the webhooks cached in the transaction may be gone with it */
    st->hooks = NULL;
    store_exec_stmt(st, store_stmt(st, S_ROLLBACK, "ROLLBACK"), "rollback");
    st->in_tx = 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

fd_err store_queue_event(fd_store *st, int64_t seq, const char *migration, const char *action,
                         const char *json, size_t len)
{
    if (st->nqueue == st->capqueue) {
        size_t cap = st->capqueue ? st->capqueue * 2 : 8;
        store_event *q = realloc(st->queue, cap * sizeof *q);
        if (q == NULL)
            return FD_E_INTERNAL;
        st->queue = q;
        st->capqueue = cap;
    }
    store_event *ev = &st->queue[st->nqueue];
    ev->seq = seq;
    ev->migration = dup_or_null(migration);
    ev->action = strdup(action);
    ev->json = malloc(len + 1);
    ev->len = len;
    if ((migration && !ev->migration) || !ev->action || !ev->json) {
        free(ev->migration);
        free(ev->action);
        free(ev->json);
        return FD_E_INTERNAL;
    }
    memcpy(ev->json, json, len);
    ev->json[len] = '\0';
    st->nqueue++;
    return FD_OK;
}

/* ---- idempotency keys ---- */

fd_err store_idem_get(fd_store *st, const char *sub, const char *key, char **hash, char **result)
{
    *hash = NULL;
    *result = NULL;
    sqlite3_stmt *s = store_stmt(st, S_IDEM_GET,
                                 "SELECT request_hash, result FROM idempotency"
                                 " WHERE actor_sub = ?1 AND key = ?2");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, sub);
    store_bind_text(s, 2, key);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        *hash = strdup((const char *)sqlite3_column_text(s, 0));
        *result = strdup((const char *)sqlite3_column_text(s, 1));
        if (*hash == NULL || *result == NULL) {
            free(*hash);
            free(*result);
            *hash = *result = NULL;
            e = FD_E_INTERNAL;
        }
    } else if (rc == SQLITE_DONE) {
        e = FD_E_NOT_FOUND;
    } else {
        e = store_fail(st, "idempotency get");
    }
    sqlite3_reset(s);
    return e;
}

fd_err store_idem_put(fd_store *st, const char *sub, const char *key, const char *hash,
                      const char *result, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, S_IDEM_PUT,
                                 "INSERT INTO idempotency (actor_sub, key, request_hash, result,"
                                 " created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (s == NULL)
        return FD_E_INTERNAL;
    store_bind_text(s, 1, sub);
    store_bind_text(s, 2, key);
    store_bind_text(s, 3, hash);
    store_bind_text(s, 4, result);
    sqlite3_bind_int64(s, 5, now);
    return store_exec_stmt(st, s, "idempotency put");
}
