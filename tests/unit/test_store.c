/* test_store.c - the database: migrations, settings, the schema contract, append-only audit.
 *
 * This test opens the database file with sqlite3 directly (nothing else outside core/store*.c
 * does) to look at it the way an operator or an attacker with file access would.
 *
 * FLIGHTDECK_UPDATE_SCHEMA=1 rewrites schema/flightdeck.sql from the migrations instead of
 * comparing (run it after adding a migration, then review the diff). */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "core_fixture.h"
#include "core/store_internal.h"

#define SCHEMA_FILE "schema/flightdeck.sql"
#define SCHEMA_HEADER                                                                              \
    "-- flightdeck.sql - the schema that migrations/*.sql produce on a fresh database.\n"          \
    "-- Generated from the migrations (FLIGHTDECK_UPDATE_SCHEMA=1 build/tests/test_store);\n"      \
    "-- tests/unit/test_store.c fails when the two disagree. Do not edit by hand.\n"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/fd-store-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, fp);
    s[got] = '\0';
    fclose(fp);
    return s;
}

static void migrations_applied_and_versioned(void **state)
{
    (void)state;
    fixture *f = fix_open();
    assert_true(store_migration_count() >= 1);
    assert_int_equal(store_schema_version(f->st), store_migration_count());
    assert_string_equal(store_migration_name(0), "0001_init.sql");
    assert_non_null(strstr(store_migration_sql(0), "CREATE TABLE audit"));
    assert_null(store_migration_name(store_migration_count()));
    fix_close(f);
}

static void foreign_keys_are_enforced(void **state)
{
    (void)state;
    fixture *f = fix_open();
    /* a migration owned by a team that does not exist is refused by the database itself */
    fd_mig_plan plan = {.id = "m", .title = "M", .owner_team = "nobody"};
    assert_int_equal(store_begin(f->st), FD_OK);
    assert_int_equal(store_mig_insert(f->st, &plan, 1), FD_E_INTERNAL);
    assert_non_null(strstr(store_last_error(f->st), "FOREIGN KEY"));
    store_rollback(f->st);
    fix_close(f);
}

static void file_database_uses_wal_and_reopens(void **state)
{
    (void)state;
    char path[128], wal[140];
    snprintf(path, sizeof path, "%s/wal.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    fixture *f = fix_open_path(path);
    fix_team(f, "sre", "Site Reliability");
    assert_int_equal(access(wal, F_OK), 0); /* WAL mode: the write went to the -wal file */
    fix_close(f);
    /* closing checkpoints and truncates the WAL */
    FILE *fp = fopen(wal, "rb");
    if (fp != NULL) {
        fseek(fp, 0, SEEK_END);
        assert_int_equal(ftell(fp), 0);
        fclose(fp);
    }
    /* reopening applies nothing twice and keeps the data */
    f = fix_open_path(path);
    assert_int_equal(store_schema_version(f->st), store_migration_count());
    fd_ctx ctx;
    fd_ctx_init(&ctx, &f->viewer, NULL);
    json_t *t = NULL;
    assert_int_equal(team_get(f->st, &ctx, "sre", &t), FD_OK);
    assert_string_equal(json_string_value(json_object_get(t, "name")), "Site Reliability");
    json_decref(t);
    fix_close(f);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal"); /* persistent */
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void newer_database_is_refused(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/newer.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    fd_store *st = NULL;
    fd_problem p = {0};
    assert_int_equal(store_open(path, &st, &p), FD_E_INTERNAL);
    assert_null(st);
    assert_non_null(strstr(p.detail, "newer flightdeck"));
    fd_problem_clear(&p);
    store_close(NULL); /* harmless */
}

/* 0006 rebuilds the steps table (its status CHECK without an IN list): a database made by the
 * first five migrations, with a step whose every column is set, comes through it unchanged. */
static void steps_survive_the_0006_rebuild(void **state)
{
    (void)state;
    static const char *const cols =
        "id, migration, stage, position, title, details, owner_team, command, link,"
        " expected_minutes, critical, status, by_sub, by_name, at, note, version,"
        " confirmed_by_sub, confirmed_by_name, confirmed_at, confirm_note, overdue_at,"
        " switch_name, switch_position, verifies";
    char path[128], sql[1024];
    snprintf(path, sizeof path, "%s/v5.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sqlite3_exec(db, store_migration_sql(i), NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql,
             "INSERT INTO teams (slug, name, created_at) VALUES ('sre', 'SRE', 1);"
             "INSERT INTO migrations (id, title, owner_team, created_at) VALUES ('m', 'M', 'sre', 1);"
             "INSERT INTO stages (migration, key, title, position) VALUES ('m', 'takeoff', 'T', 1);"
             "INSERT INTO steps (%s) VALUES (7, 'm', 'takeoff', 1, 'title', 'details', 'sre', 'cmd',"
             " 'https://x', 5, 1, 'awaiting_confirmation', 'a', 'A', 10, 'note', 3, 'b', 'B', 11,"
             " 'cnote', 12, 'reads', 'dynamodb', 'row-counts');"
             "PRAGMA user_version = 5;",
             cols);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "SELECT %s FROM steps", cols);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    char before[1024] = "";
    for (int c = 0; c < sqlite3_column_count(s); c++)
        snprintf(before + strlen(before), sizeof before - strlen(before), "%s|",
                 (const char *)sqlite3_column_text(s, c));
    sqlite3_finalize(s);
    sqlite3_close(db);

    fd_store *st = NULL;
    fd_problem p = {0};
    assert_int_equal(store_open(path, &st, &p), FD_OK);
    store_close(st);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    char after[1024] = "";
    for (int c = 0; c < sqlite3_column_count(s); c++)
        snprintf(after + strlen(after), sizeof after - strlen(after), "%s|",
                 (const char *)sqlite3_column_text(s, c));
    sqlite3_finalize(s);
    assert_string_equal(after, before);
    /* the rule is the same: a status outside the five is still refused */
    assert_int_not_equal(
        sqlite3_exec(db, "UPDATE steps SET status = 'bogus' WHERE id = 7", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
}

static void schema_file_matches_migrations(void **state)
{
    (void)state;
    fixture *f = fix_open();
    char *dump = NULL;
    assert_int_equal(store_dump_schema(f->st, &dump), FD_OK);
    assert_non_null(strstr(dump, "CREATE TRIGGER audit_no_update"));
    if (getenv("FLIGHTDECK_UPDATE_SCHEMA") != NULL) {
        FILE *fp = fopen(SCHEMA_FILE, "wb");
        assert_non_null(fp);
        fputs(SCHEMA_HEADER, fp);
        fputs(dump, fp);
        fclose(fp);
    }
    char *file = read_file(SCHEMA_FILE);
    if (file == NULL)
        fail_msg("cannot read %s (run the tests from the repository root)", SCHEMA_FILE);
    /* the file is the dump behind a comment header */
    const char *body = file;
    while (strncmp(body, "--", 2) == 0) {
        const char *nl = strchr(body, '\n');
        body = nl ? nl + 1 : body + strlen(body);
    }
    if (strcmp(body, dump) != 0)
        fail_msg("%s disagrees with migrations/: regenerate it with FLIGHTDECK_UPDATE_SCHEMA=1 "
                 "and review the difference",
                 SCHEMA_FILE);
    free(file);
    free(dump);
    fix_close(f);
}

static void audit_rows_cannot_change(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/audit.db", dir);
    fixture *f = fix_open_path(path);
    fix_team(f, "sre", "Site Reliability"); /* one audit event */
    assert_int_equal(audit_last_seq(f->st), 1);
    fix_close(f);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET action = 'x'", NULL, NULL, &msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    sqlite3_close(db);

    f = fix_open_path(path);
    assert_int_equal(audit_last_seq(f->st), 1);
    fix_close(f);
}

static void transactions_commit_and_roll_back(void **state)
{
    (void)state;
    fixture *f = fix_open();
    assert_int_equal(store_begin(f->st), FD_OK);
    assert_int_equal(store_team_insert(f->st, "a", "A", NULL, 5), FD_OK);
    store_rollback(f->st);
    assert_int_equal(store_team_exists(f->st, "a"), 0);
    assert_int_equal(store_begin(f->st), FD_OK);
    assert_int_equal(store_team_insert(f->st, "a", "A", "#a", 5), FD_OK);
    assert_int_equal(store_commit(f->st), FD_OK);
    assert_int_equal(store_team_exists(f->st, "a"), 1);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrations_applied_and_versioned),
        cmocka_unit_test(foreign_keys_are_enforced),
        cmocka_unit_test(file_database_uses_wal_and_reopens),
        cmocka_unit_test(newer_database_is_refused),
        cmocka_unit_test(steps_survive_the_0006_rebuild),
        cmocka_unit_test(schema_file_matches_migrations),
        cmocka_unit_test(audit_rows_cannot_change),
        cmocka_unit_test(transactions_commit_and_roll_back),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
