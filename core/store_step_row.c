/* store_step_row.c - a step as a plain row, and its JSON text written from it (see
 * store_step_row.h for why). The values are taken from the columns exactly as step_doc in
 * store_flight.c takes them, so the text is the text of that document. */
#include "store_step_row.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "store_sqlite.h"
#include "timefmt.h"

/* The step's columns in STEP_COLS order (store_flight.c), then the migration's head. */
#define ROW_SQL                                                                                    \
    "SELECT s.id, s.migration, s.stage, s.position, s.title, s.details, s.owner_team, s.command,"  \
    " s.link, s.expected_minutes, s.critical, s.status, s.by_sub, s.by_name, s.at, s.note,"        \
    " s.version, s.confirmed_by_sub, s.confirmed_by_name, s.confirmed_at, s.confirm_note,"         \
    " s.switch_name, s.switch_position, s.verifies, m.status, m.current_stage, m.version"          \
    " FROM steps s JOIN migrations m ON m.id = s.migration WHERE s.id = ?1 AND s.migration = ?2"

/* Which column fills which text member. */
static const struct {
    int col;
    size_t off;
} text_cols[] = {
    {1, offsetof(store_step_row, migration)},
    {2, offsetof(store_step_row, stage)},
    {4, offsetof(store_step_row, title)},
    {5, offsetof(store_step_row, details)},
    {6, offsetof(store_step_row, owner_team)},
    {7, offsetof(store_step_row, command)},
    {8, offsetof(store_step_row, link)},
    {11, offsetof(store_step_row, status)},
    {12, offsetof(store_step_row, by_sub)},
    {13, offsetof(store_step_row, by_name)},
    {15, offsetof(store_step_row, note)},
    {17, offsetof(store_step_row, confirmed_by_sub)},
    {18, offsetof(store_step_row, confirmed_by_name)},
    {20, offsetof(store_step_row, confirm_note)},
    {21, offsetof(store_step_row, switch_name)},
    {22, offsetof(store_step_row, switch_position)},
    {23, offsetof(store_step_row, verifies)},
};
#define NTEXT (sizeof text_cols / sizeof text_cols[0])

static store_text *text_at(store_step_row *row, size_t off)
{
    return (store_text *)((char *)row + off);
}

static store_opt_int opt_int(sqlite3_stmt *s, int col)
{
    store_opt_int v = {0, 0};
    if (sqlite3_column_type(s, col) != SQLITE_NULL) {
        v.set = 1;
        v.v = sqlite3_column_int64(s, col);
    }
    return v;
}

/* Fill *row from the current result row of s: the text columns are copied into one block. */
static int fill_row(sqlite3_stmt *s, store_step_row *row)
{
    const char *src[NTEXT];
    size_t total = 0;
    for (size_t i = 0; i < NTEXT; i++) {
        store_text *t = text_at(row, text_cols[i].off);
        if (sqlite3_column_type(s, text_cols[i].col) == SQLITE_NULL) {
            src[i] = NULL;
            continue;
        }
        /* text first, then its length: the order SQLite documents for a conversion */
        src[i] = (const char *)sqlite3_column_text(s, text_cols[i].col);
        if (src[i] == NULL)
            return -1; /* out of memory converting the value */
        t->n = (size_t)sqlite3_column_bytes(s, text_cols[i].col);
        total += t->n + 1;
    }
    row->mem = malloc(total ? total : 1);
    if (row->mem == NULL)
        return -1;
    char *p = row->mem;
    for (size_t i = 0; i < NTEXT; i++) {
        store_text *t = text_at(row, text_cols[i].off);
        if (src[i] == NULL)
            continue;
        memcpy(p, src[i], t->n);
        p[t->n] = '\0';
        t->s = p;
        p += t->n + 1;
    }
    row->id = sqlite3_column_int64(s, 0);
    row->position = sqlite3_column_int64(s, 3);
    row->expected_minutes = opt_int(s, 9);
    row->critical = sqlite3_column_int(s, 10) != 0;
    row->at = opt_int(s, 14);
    row->version = sqlite3_column_int64(s, 16);
    row->confirmed_at = opt_int(s, 19);
    return 0;
}

fd_err store_step_row_read(fd_store *st, const char *mid, int64_t sid, store_step_row *row,
                           fd_mig_head *head)
{
    memset(row, 0, sizeof *row);
    memset(head, 0, sizeof *head);
    sqlite3_stmt *s = store_stmt(st, S_STEP_ACTION_ROW, ROW_SQL);
    if (s == NULL)
        return FD_E_INTERNAL;
    sqlite3_bind_int64(s, 1, sid);
    store_bind_text(s, 2, mid);
    int rc = sqlite3_step(s);
    fd_err e = FD_OK;
    if (rc == SQLITE_ROW) {
        if (fill_row(s, row) != 0) {
            e = FD_E_INTERNAL;
        } else {
            store_col_copy(s, 1, head->id, sizeof head->id); /* m.id = s.migration */
            store_col_copy(s, 24, head->status, sizeof head->status);
            store_col_copy(s, 25, head->current_stage, sizeof head->current_stage);
            head->version = sqlite3_column_int64(s, 26);
        }
    } else if (rc == SQLITE_DONE) {
        e = FD_E_NOT_FOUND;
    } else {
        e = store_fail(st, "step row");
    }
    sqlite3_reset(s);
    if (e != FD_OK) {
        free(row->mem);
        memset(row, 0, sizeof *row);
    }
    return e;
}

void store_step_row_free(store_step_row *row)
{
    free(row->mem);
    row->mem = NULL;
}

static store_text text_of(const char *s)
{
    store_text t = {s, s != NULL ? strlen(s) : 0};
    return t;
}

void store_step_row_after_status(const store_step_row *before, const char *status,
                                 const char *by_sub, const char *by_name, int64_t at,
                                 const char *note, store_step_row *after)
{
    /* the columns store_step_set_status writes; the rest stays as it was */
    *after = *before;
    after->mem = NULL;
    after->status = text_of(status);
    after->by_sub = text_of(by_sub);
    after->by_name = text_of(by_name);
    after->at = (store_opt_int){1, at};
    after->note = text_of(note);
    after->confirmed_by_sub = text_of(NULL);
    after->confirmed_by_name = text_of(NULL);
    after->confirmed_at = (store_opt_int){0, 0};
    after->confirm_note = text_of(NULL);
    after->version = before->version + 1;
}

/* ---- JSON text ---- */

/* How a member's value is written (what step_doc puts there). */
enum member_kind {
    M_INT,     /* int64_t */
    M_OPT_INT, /* store_opt_int: null or an integer */
    M_TEXT,    /* store_text: null or a string */
    M_BOOL,    /* int */
    M_TIME,    /* store_opt_int: null or an RFC 3339 time (timefmt.h) */
    M_PERSON,  /* two store_text, sub and name: null, or {"sub":..,"name":..} */
    M_SWITCH,  /* two store_text, name and position: null, or {"name":..,"position":..} */
};

typedef struct member {
    const char *key; /* the member's name as written: quoted, with its colon */
    size_t keylen;
    enum member_kind kind;
    size_t off, off2; /* where the value is in the row (off2: the second text of a pair) */
} member;

#define KEY(name) "\"" name "\":", sizeof("\"" name "\":") - 1
#define AT(field) offsetof(store_step_row, field)

/* The members in document order: the order step_doc (store_flight.c) inserts them. */
static const member members[] = {
    {KEY("id"), M_INT, AT(id), 0},
    {KEY("migration"), M_TEXT, AT(migration), 0},
    {KEY("stage"), M_TEXT, AT(stage), 0},
    {KEY("position"), M_INT, AT(position), 0},
    {KEY("title"), M_TEXT, AT(title), 0},
    {KEY("details"), M_TEXT, AT(details), 0},
    {KEY("owner_team"), M_TEXT, AT(owner_team), 0},
    {KEY("command"), M_TEXT, AT(command), 0},
    {KEY("link"), M_TEXT, AT(link), 0},
    {KEY("expected_minutes"), M_OPT_INT, AT(expected_minutes), 0},
    {KEY("critical"), M_BOOL, AT(critical), 0},
    {KEY("status"), M_TEXT, AT(status), 0},
    {KEY("by"), M_PERSON, AT(by_sub), AT(by_name)},
    {KEY("at"), M_TIME, AT(at), 0},
    {KEY("note"), M_TEXT, AT(note), 0},
    {KEY("version"), M_INT, AT(version), 0},
    {KEY("confirmed_by"), M_PERSON, AT(confirmed_by_sub), AT(confirmed_by_name)},
    {KEY("confirmed_at"), M_TIME, AT(confirmed_at), 0},
    {KEY("confirm_note"), M_TEXT, AT(confirm_note), 0},
    {KEY("switch"), M_SWITCH, AT(switch_name), AT(switch_position)},
    {KEY("verifies"), M_TEXT, AT(verifies), 0},
};
#define NMEMBERS (sizeof members / sizeof members[0])

/* The same members with their names in byte order, as JSON_SORT_KEYS writes them (indexes into
 * members[]): at, by, command, confirm_note, confirmed_at, confirmed_by, critical, details,
 * expected_minutes, id, link, migration, note, owner_team, position, stage, status, switch,
 * title, verifies, version. */
static const unsigned char sorted_members[NMEMBERS] = {13, 12, 7, 18, 17, 16, 10, 5, 9,  0, 8,
                                                       1,  14, 6, 3,  2,  11, 19, 4, 20, 15};


#define PUT_LIT(b, lit) fd_buf_put((b), (lit), sizeof(lit) - 1)

static int put_text(fd_buf *b, store_text t)
{
    return t.s != NULL ? json_out_string(b, t.s, t.n) : PUT_LIT(b, "null");
}

static int put_time(fd_buf *b, store_opt_int t)
{
    if (!t.set)
        return PUT_LIT(b, "null");
    char s[FD_TIME_LEN + 1]; /* the quotes around the time's FD_TIME_LEN - 1 characters */
    s[0] = '"';
    fd_time_format(t.v, s + 1); /* digits and punctuation: nothing to escape */
    s[FD_TIME_LEN] = '"';
    return fd_buf_put(b, s, sizeof s);
}

/* A literal and its length, for the calls below. */
#define LIT(lit) (lit), sizeof(lit) - 1

/* A two-member object {"<k1>":a,"<k2>":c}, or null when !present. k1 and k2 are the literal text
 * before each value. */
static int put_pair(fd_buf *b, int present, const char *k1, size_t n1, store_text a, const char *k2,
                    size_t n2, store_text c)
{
    if (!present)
        return PUT_LIT(b, "null");
    if (fd_buf_put(b, k1, n1) != 0 || put_text(b, a) != 0 || fd_buf_put(b, k2, n2) != 0 || put_text(b, c) != 0)
        return -1;
    return PUT_LIT(b, "}");
}

static const void *value_at(const store_step_row *row, size_t off)
{
    return (const char *)row + off;
}

static int put_member(fd_buf *b, const store_step_row *row, const member *m, int sorted)
{
    if (fd_buf_put(b, m->key, m->keylen) != 0)
        return -1;
    switch (m->kind) {
    case M_INT:
        return json_out_integer(b, *(const int64_t *)value_at(row, m->off));
    case M_OPT_INT: {
        const store_opt_int *v = value_at(row, m->off);
        return v->set ? json_out_integer(b, v->v) : PUT_LIT(b, "null");
    }
    case M_TEXT:
        return put_text(b, *(const store_text *)value_at(row, m->off));
    case M_BOOL:
        return *(const int *)value_at(row, m->off) ? PUT_LIT(b, "true") : PUT_LIT(b, "false");
    case M_TIME:
        return put_time(b, *(const store_opt_int *)value_at(row, m->off));
    case M_PERSON: { /* null without a sub; sorted, "name" comes before "sub" */
        const store_text *sub = value_at(row, m->off), *name = value_at(row, m->off2);
        if (sorted)
            return put_pair(b, sub->s != NULL, LIT("{\"name\":"), *name, LIT(",\"sub\":"), *sub);
        return put_pair(b, sub->s != NULL, LIT("{\"sub\":"), *sub, LIT(",\"name\":"), *name);
    }
    case M_SWITCH: { /* null without a name; "name" < "position" either way */
        const store_text *name = value_at(row, m->off), *pos = value_at(row, m->off2);
        return put_pair(b, name->s != NULL, LIT("{\"name\":"), *name, LIT(",\"position\":"), *pos);
    }
    }
    return -1;
}

int store_step_row_json(fd_buf *b, const store_step_row *row, int sorted)
{
    size_t before = b->len;
    int rc = fd_buf_reserve(b, 1024) == 0 ? PUT_LIT(b, "{") : -1;
    for (size_t i = 0; i < NMEMBERS && rc == 0; i++) {
        if (i > 0)
            rc = PUT_LIT(b, ",");
        if (rc == 0)
            rc = put_member(b, row, &members[sorted ? sorted_members[i] : i], sorted);
    }
    if (rc == 0)
        rc = PUT_LIT(b, "}");
    if (rc != 0) {
        b->len = before;
        if (b->data != NULL)
            b->data[before] = '\0';
    }
    return rc;
}

json_t *store_step_row_doc(const store_step_row *row)
{
    fd_buf b = {0};
    json_t *doc = NULL;
    /* the text in document order parses back into the tree store_step_doc builds: the same
     * members, in the same order, with the same values */
    if (store_step_row_json(&b, row, 0) == 0)
        doc = json_loadb(b.data, b.len, 0, NULL);
    fd_buf_free(&b);
    return doc;
}
