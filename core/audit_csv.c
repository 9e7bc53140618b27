/*
 * audit_csv.c - one audit event as one CSV row (see audit_csv.h).
 *
 * Why slicing: the CSV export parsed every stored event with jansson and dumped before/after
 * back to text, ~380,000 instructions an event. The stored text is already what those dumps
 * produce: audit_append (audit.c) is the only writer of the audit log and writes each event in
 * canonical form (compact, keys sorted, strings escaped as jansson escapes them: json_out.c,
 * tested byte for byte against jansson), and the log is append-only (SQLite triggers). So the
 * cells are pieces of the text: the string cells are top-level strings (and the actor's),
 * unescaped; before/after are their own text with every quote doubled (RFC 4180), which is
 * exactly what the reference writes for canonical text.
 *
 * Trusted, not proven: the scanner finds the pieces by following only the text's structure
 * (where strings begin and end, honouring backslash escapes, and how deep the brackets are); it
 * does not check key order, numbers or UTF-8. A text it cannot follow that way (not an object,
 * whitespace between top-level tokens, unbalanced or cut short, an escaped top-level key, a
 * string cell with an escape it does not decode) goes to the jansson path, audit_csv_row_tree.
 * So a row changed behind flightdeck's back (written with sqlite3, say) that is well-formed
 * enough but not canonical is exported as it is stored: its before/after cells show the stored
 * bytes, not jansson's re-dump, and its string cells carry its bytes even when they are not
 * UTF-8. Finding such rows is the job of `flightdeck audit verify` (the hash chain), not of the
 * export. Whatever the bytes are, the CSV itself stays well-formed: a cell with a quote, a comma
 * or a line break is quoted, quotes are doubled, and a cell that starts like a formula gets the
 * apostrophe.
 *
 * Where the time goes: before/after are most of an event (~1 KB of a bench event's 1.3 KB, ~45
 * keys, ~150 quotes). The scan goes over them once (csv_scan.c: their end found and their quotes
 * doubled in the same pass, 32 bytes at a time), into scratch room past the row, because "after"
 * comes before "before" in the text but after it in the row; the row is then written in column
 * order, before/after copied from the scratch room. A string cell's scan also tells whether it
 * needs quoting or unescaping, so most cells are one block copy.
 */
#include "audit_csv.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_scan.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define NCOLS 15

/* ---- the reference: jansson ----------------------------------------------------------------- */

/* Spreadsheets run cells that start with = + - @ (and tab/CR) as formulas: a note such as
 * "=HYPERLINK(...)" in a CSV opened in a spreadsheet would execute. Such cells get a leading
 * apostrophe (the OWASP advice). Only the CSV export does this; JSON and NDJSON stay verbatim
 * because their hashes must verify. */
static int csv_cell(fd_buf *b, const char *s, int last)
{
    int r = 0;
    if (s == NULL)
        s = "";
    int guard =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        r |= fd_buf_puts(b, "\"");
    if (guard)
        r |= fd_buf_puts(b, "'");
    for (const char *p = s; *p; p++) {
        const char *q = strchr(p, '"');
        if (q == NULL) {
            r |= fd_buf_puts(b, p);
            break;
        }
        r |= fd_buf_append(b, p, (size_t)(q - p + 1));
        r |= fd_buf_puts(b, "\""); /* RFC 4180: a quote inside a quoted cell is doubled */
        p = q;
    }
    if (quote)
        r |= fd_buf_puts(b, "\"");
    r |= fd_buf_puts(b, last ? "\r\n" : ",");
    return r;
}

int audit_csv_row_tree(fd_buf *b, const store_audit_row *row)
{
    json_t *ev = json_loadb(row->event, row->len, 0, NULL);
    if (ev == NULL)
        return -1;
    json_t *actor = json_object_get(ev, "actor");
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)row->seq);
    char *before = json_dumps(json_object_get(ev, "before"), DUMP_FLAGS | JSON_ENCODE_ANY);
    char *after = json_dumps(json_object_get(ev, "after"), DUMP_FLAGS | JSON_ENCODE_ANY);
    const char *cells[] = {
        seq,
        json_string_value(json_object_get(ev, "at")),
        json_string_value(json_object_get(ev, "migration")),
        json_string_value(json_object_get(actor, "sub")),
        json_string_value(json_object_get(actor, "name")),
        json_string_value(json_object_get(actor, "role")),
        json_string_value(json_object_get(ev, "source")),
        json_string_value(json_object_get(ev, "action")),
        json_string_value(json_object_get(ev, "target")),
        json_string_value(json_object_get(ev, "note")),
        json_string_value(json_object_get(ev, "request_id")),
        before && strcmp(before, "null") != 0 ? before : NULL,
        after && strcmp(after, "null") != 0 ? after : NULL,
        row->prev_hash,
        row->hash,
    };
    int n = (int)(sizeof cells / sizeof cells[0]), r = 0;
    for (int i = 0; i < n; i++)
        r |= csv_cell(b, cells[i], i == n - 1);
    free(before);
    free(after);
    json_decref(ev);
    return r;
}

/* ---- the cells --------------------------------------------------------------------------- */

/* A cell's source: text as it is (seq, the hashes), a JSON string's content (escaped), or
 * before/after's JSON text, its quotes already doubled (in the scratch room); `set` 0 is an
 * empty cell. */
enum { CELL_TEXT, CELL_JSON, CELL_RAW };

typedef struct cell {
    const unsigned char *s;
    size_t n;
    int kind;
    int set;
    unsigned flags;      /* CELL_JSON: what csv_string_end saw; CELL_RAW: 1 when it is quoted */
    unsigned char first; /* CELL_RAW: the first byte of the value's text (the formula guard) */
} cell;

/* The columns (see audit_csv.h), and the actor object that holds three of them. */
enum {
    COL_SEQ,
    COL_AT,
    COL_MIG,
    COL_SUB,
    COL_NAME,
    COL_ROLE,
    COL_SOURCE,
    COL_ACTION,
    COL_TARGET,
    COL_NOTE,
    COL_REQ,
    COL_BEFORE,
    COL_AFTER,
    COL_PREV,
    COL_HASH,
    COL_ACTOR = NCOLS
};

/* Is the key (k, n bytes) the literal `name`? (sizeof: no strlen per key and event) */
#define key_is(k, n, name) ((n) == sizeof(name) - 1 && memcmp((k), (name), sizeof(name) - 1) == 0)

/* The column of a key of the event (actor: of the actor object), -1 when it is none. */
static int key_column(const unsigned char *k, size_t n, int actor)
{
    if (actor)
        return key_is(k, n, "sub")    ? COL_SUB
               : key_is(k, n, "name") ? COL_NAME
               : key_is(k, n, "role") ? COL_ROLE
                                      : -1;
    switch (k[0]) {
    case 'a':
        return key_is(k, n, "at")       ? COL_AT
               : key_is(k, n, "action") ? COL_ACTION
               : key_is(k, n, "actor")  ? COL_ACTOR
               : key_is(k, n, "after")  ? COL_AFTER
                                        : -1;
    case 'b':
        return key_is(k, n, "before") ? COL_BEFORE : -1;
    case 'm':
        return key_is(k, n, "migration") ? COL_MIG : -1;
    case 'n':
        return key_is(k, n, "note") ? COL_NOTE : -1;
    case 'r':
        return key_is(k, n, "request_id") ? COL_REQ : -1;
    case 's':
        return key_is(k, n, "source") ? COL_SOURCE : -1;
    case 't':
        return key_is(k, n, "target") ? COL_TARGET : -1;
    default:
        return -1;
    }
}

static inline int hex_digit(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The byte of the escape at p (just past the backslash), and how many bytes it takes (*len).
 * Decoded: \" \\ \/ \b \f \n \r \t, and \u00XX below 0x80 (how canonical text writes control
 * characters); anything else gives -1. */
static int unescape(const unsigned char *p, int *len)
{
    *len = 1;
    switch (*p) {
    case '"':
    case '\\':
    case '/':
        return *p;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u':
        *len = 5;
        if (p[1] != '0' || p[2] != '0' || hex_digit(p[3]) < 0 || hex_digit(p[3]) > 7 ||
            hex_digit(p[4]) < 0)
            return -1;
        return hex_digit(p[3]) * 16 + hex_digit(p[4]);
    default:
        return -1;
    }
}

/* ---- following the text's structure ------------------------------------------------------ */

/* One event's scan: its text, the cells found so far, and where before/after's doubled text
 * goes next (room the caller reserved past the row). */
typedef struct scan {
    csv_text t;
    cell *cells;
    char *scratch;
} scan;

/* Just past the number, true, false or null at p (only the characters those have are taken),
 * or NULL when there is none. */
static const unsigned char *scalar_end(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *start = p;
    while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                       (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '+' || *p == '.'))
        p++;
    return p > start ? p : NULL;
}

/* Just past the value at p, or NULL; a string's csv_string_end flags or'ed into *flags. */
static const unsigned char *value_end(const scan *s, const unsigned char *p, unsigned *flags)
{
    if (*p == '"')
        return csv_string_end(&s->t, p, flags);
    if (*p == '{' || *p == '[')
        return csv_container_end(&s->t, p, NULL);
    return scalar_end(p, s->t.end);
}

/* before/after at v: its text with quotes doubled into the scratch room, and its cell (empty
 * when null). Returns just past the value, or NULL. */
static const unsigned char *raw_value(scan *s, cell *c, const unsigned char *v)
{
    char *o = s->scratch;
    const unsigned char *e;
    if (*v == '{' || *v == '[') {
        e = csv_container_end(&s->t, v, &o); /* the end and the doubling in one pass */
    } else {
        unsigned flags = 0;
        e = value_end(s, v, &flags);
        if (e != NULL)
            o = csv_put_doubled(o, v, (size_t)(e - v));
    }
    if (e == NULL)
        return NULL;
    size_t n = (size_t)(e - v), doubled = (size_t)(o - s->scratch);
    if (n == 4 && memcmp(v, "null", 4) == 0) {
        c->set = 0;
        return e;
    }
    /* quoted when it has a quote (some were doubled), a comma, a line break or a backslash */
    *c = (cell){.s = (const unsigned char *)s->scratch,
                .n = doubled,
                .kind = CELL_RAW,
                .set = 1,
                .flags = doubled != n || csv_has_special(v, n),
                .first = *v};
    s->scratch = o;
    return e;
}

/* A string member's value (v up to v_end, csv_string_end's flags) into its cell. 0, or -1 when
 * it has an escape that put_cell_slow does not decode. */
static int string_cell(cell *c, const unsigned char *v, const unsigned char *v_end, unsigned flags)
{
    *c = (cell){
        .s = v + 1, .n = (size_t)(v_end - v) - 2, .kind = CELL_JSON, .set = 1, .flags = flags};
    if (!(flags & CSV_ESCAPE))
        return 0;
    const unsigned char *q = memchr(c->s, '\\', c->n);
    while (q != NULL) {
        int len;
        if (unescape(q + 1, &len) < 0)
            return -1;
        q += 1 + len;
        q = memchr(q, '\\', (size_t)(c->s + c->n - q));
    }
    return 0;
}

/*
 * The members of a canonical event, in the order audit_append writes them (keys sorted), and
 * of its actor: the scan first tries the key it expects next with one 16-byte compare (the key
 * with its quotes and colon), and reads the key only when that fails. A match is the key the
 * reading would find (the literal holds no backslash), so this changes nothing but the time.
 */
typedef struct known_key {
    unsigned char text[16]; /* "key": then zeros */
    unsigned char mask[16]; /* 0xff over the literal, then zeros */
    size_t len;
    int col;
} known_key;

static const struct {
    const char *name;
    int col;
} event_keys[] = {{"action", COL_ACTION},
                  {"actor", COL_ACTOR},
                  {"after", COL_AFTER},
                  {"at", COL_AT},
                  {"before", COL_BEFORE},
                  {"hash", -1},
                  {"migration", COL_MIG},
                  {"note", COL_NOTE},
                  {"prev_hash", -1},
                  {"request_id", COL_REQ},
                  {"seq", -1},
                  {"source", COL_SOURCE},
                  {"target", COL_TARGET}},
  actor_keys[] = {{"name", COL_NAME}, {"role", COL_ROLE}, {"sub", COL_SUB}};

#define N_EVENT_KEYS (sizeof event_keys / sizeof event_keys[0])
#define N_ACTOR_KEYS (sizeof actor_keys / sizeof actor_keys[0])
static known_key known_event[N_EVENT_KEYS], known_actor[N_ACTOR_KEYS];

static void known_key_init(known_key *k, const char *name, int col)
{
    size_t n = strlen(name); /* at most 12: "request_id" */
    memset(k, 0, sizeof *k);
    k->text[0] = '"';
    memcpy(k->text + 1, name, n);
    k->text[n + 1] = '"';
    k->text[n + 2] = ':';
    k->len = n + 3;
    memset(k->mask, 0xff, k->len);
    k->col = col;
}

__attribute__((constructor)) static void known_keys_init(void)
{
    for (size_t i = 0; i < N_EVENT_KEYS; i++)
        known_key_init(&known_event[i], event_keys[i].name, event_keys[i].col);
    for (size_t i = 0; i < N_ACTOR_KEYS; i++)
        known_key_init(&known_actor[i], actor_keys[i].name, actor_keys[i].col);
}

/* Do the 16 bytes at p start with k's literal? (memcpy: any alignment, any byte order) */
static inline int key_matches(const unsigned char *p, const known_key *k)
{
    uint64_t a[2], t[2], m[2];
    memcpy(a, p, 16);
    memcpy(t, k->text, 16);
    memcpy(m, k->mask, 16);
    return (((a[0] ^ t[0]) & m[0]) | ((a[1] ^ t[1]) & m[1])) == 0;
}

/*
 * The members of the object at p (the event; its actor when `actor`), into the cells of the
 * columns they are. A repeated key counts once, the last (as in jansson); a string column whose
 * value is no string is empty (json_string_value gives NULL for it). Returns just past the
 * closing brace, or NULL when the text is not shaped as expected: the row goes the jansson way.
 */
static const unsigned char *scan_object(scan *s, const unsigned char *p, int actor)
{
    const unsigned char *end = s->t.end;
    cell *cells = s->cells;
    const known_key *known = actor ? known_actor : known_event;
    size_t n_known = actor ? N_ACTOR_KEYS : N_EVENT_KEYS, next = 0;
    if (*p != '{')
        return NULL;
    p++;
    if (p < end && *p == '}')
        return p + 1;
    for (;;) {
        unsigned kflags = 0, vflags = 0;
        const unsigned char *v;
        int col;
        if (next < n_known && end - p >= 16 && key_matches(p, &known[next])) {
            v = p + known[next].len; /* past the colon */
            col = known[next++].col;
        } else {
            if (p >= end || *p != '"')
                return NULL;
            const unsigned char *key = p + 1;
            v = csv_string_skip(&s->t, p, &kflags);
            if (v == NULL || v >= end || (kflags & CSV_ESCAPE) || *v != ':')
                return NULL; /* escaped keys: jansson would match "n\u006fte" with "note" */
            size_t n = (size_t)(v - 1 - key);
            col = key_column(key, n, actor);
            v++;
            /* expect what follows this key next (a key missing from the event, say) */
            for (size_t j = next; j < n_known; j++)
                if (known[j].len == n + 3 && memcmp(known[j].text + 1, key, n) == 0)
                    next = j + 1;
        }
        if (v >= end)
            return NULL;
        if (col == COL_ACTOR) {
            cells[COL_SUB].set = cells[COL_NAME].set = cells[COL_ROLE].set = 0;
            p = *v == '{' ? scan_object(s, v, 1) : value_end(s, v, &vflags);
        } else if (col == COL_BEFORE || col == COL_AFTER) {
            p = raw_value(s, &cells[col], v);
        } else {
            /* a string that becomes no cell (the hashes) needs no look for commas */
            p = *v == '"' && col < 0 ? csv_string_skip(&s->t, v, &vflags)
                                     : value_end(s, v, &vflags);
            if (p != NULL && col >= 0) {
                if (*v != '"')
                    cells[col].set = 0;
                else if (string_cell(&cells[col], v, p, vflags) != 0)
                    return NULL;
            }
        }
        if (p == NULL || p >= end)
            return NULL;
        if (*p == ',') {
            p++;
            continue;
        }
        return *p == '}' ? p + 1 : NULL;
    }
}

/* ---- writing the row ------------------------------------------------------------------------ */

static inline int formula_start(unsigned char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* Bytes that need a look while a string cell is copied: quotes (doubled, and the cell is
 * quoted), commas and line breaks (the cell is quoted), backslashes (escapes, in JSON strings). */
static inline int cell_special(unsigned char c)
{
    return c == '"' || c == ',' || c == '\r' || c == '\n' || c == '\\';
}

/* n bytes from `from` to o, returning the new end: 16 at a time while 16 are readable before
 * `readable`. A block store may run up to 16 bytes past the n bytes, into room the caller
 * reserved; what is written next overwrites it. */
static inline char *copy_run(char *o, const unsigned char *from, size_t n,
                             const unsigned char *readable)
{
    if (readable - from >= (ptrdiff_t)n + 16) {
        for (size_t i = 0; i < n; i += 16)
            memcpy(o + i, from + i, 16);
        return o + n;
    }
    memcpy(o, from, n);
    return o + n;
}

/*
 * A string cell with quotes, commas, line breaks or escapes, at o (room reserved by the caller),
 * exactly as csv_cell writes the same text: quoted when it holds , " CR or LF, with the formula
 * guard. The opening quote is written first and taken back when the cell needs none. Returns
 * the new end.
 */
static char *put_cell_slow(char *o, const cell *c)
{
    char *start = o;
    const unsigned char *p = c->s, *end = c->s + c->n;
    int json = c->kind == CELL_JSON, quote = 0, len;
    *o++ = '"';
    int first = json && p[0] == '\\' ? unescape(p + 1, &len) : p[0];
    if (formula_start((unsigned char)first))
        *o++ = '\'';
    while (p < end) {
        unsigned char ch = *p++;
        if (cell_special(ch)) {
            if (ch == '\\' && json) {
                ch = (unsigned char)unescape(p, &len); /* set_cell checked it */
                p += len;
            }
            if (ch == '"') {
                *o++ = '"';
                quote = 1;
            } else if (ch == ',' || ch == '\r' || ch == '\n') {
                quote = 1;
            }
        }
        *o++ = (char)ch;
    }
    if (quote) {
        *o++ = '"';
    } else {
        memmove(start, start + 1, (size_t)(o - start - 1));
        o--;
    }
    return o;
}

/* Cell `c` and its separator at o (room reserved by the caller); string cells' blocks may be
 * read before `readable`. Returns the new end. */
static char *put_cell(char *o, const cell *c, int last, const unsigned char *readable)
{
    if (!c->set || c->n == 0) {
        /* empty */
    } else if (c->kind == CELL_RAW) {
        /* before/after, doubled already: quoted when flags says so, with the formula guard */
        if (c->flags)
            *o++ = '"';
        if (formula_start(c->first))
            *o++ = '\'';
        memcpy(o, c->s, c->n);
        o += c->n;
        if (c->flags)
            *o++ = '"';
    } else if (c->flags != 0) {
        o = put_cell_slow(o, c);
    } else {
        /* the usual cell: its bytes, after the guard (no escapes: the first byte is the first
         * character) */
        if (formula_start(c->s[0]))
            *o++ = '\'';
        o = copy_run(o, c->s, c->n, readable);
    }
    if (last) {
        *o++ = '\r';
        *o++ = '\n';
    } else {
        *o++ = ',';
    }
    return o;
}

/* A cell of text that is not JSON (the hashes): flags 1 when it needs a look. */
static cell text_cell(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return (cell){.s = (const unsigned char *)s,
                  .n = n,
                  .kind = CELL_TEXT,
                  .set = s != NULL,
                  .flags = s != NULL && csv_has_special((const unsigned char *)s, n)};
}

static unsigned long fallbacks; /* atomic: the export's formatting thread counts too */

unsigned long audit_csv_fallbacks(void)
{
    return __atomic_load_n(&fallbacks, __ATOMIC_RELAXED);
}

/* ---- rows packed for another thread ------------------------------------------------------ */

/* A packed row is a NUL byte, this header, then prev_hash, hash and the event text, each with a
 * NUL after it (the event's is the one the fast path wants). The bytes between packed rows (the
 * CSV header line) are CSV already, and hold no NUL. */
typedef struct packed_row {
    int64_t seq;
    size_t prev_len, hash_len, event_len;
    int has_prev, has_hash, has_event;
} packed_row;

int audit_csv_pack_row(fd_buf *b, const store_audit_row *row)
{
    packed_row h = {.seq = row->seq,
                    .prev_len = row->prev_hash ? strlen(row->prev_hash) : 0,
                    .hash_len = row->hash ? strlen(row->hash) : 0,
                    .event_len = row->event ? row->len : 0,
                    .has_prev = row->prev_hash != NULL,
                    .has_hash = row->hash != NULL,
                    .has_event = row->event != NULL};
    size_t n = 1 + sizeof h + h.prev_len + h.hash_len + h.event_len + 3;
    if (fd_buf_reserve(b, n) != 0)
        return -1;
    char *o = b->data + b->len;
    *o++ = '\0';
    memcpy(o, &h, sizeof h);
    o += sizeof h;
    if (h.prev_len > 0)
        memcpy(o, row->prev_hash, h.prev_len);
    o += h.prev_len;
    *o++ = '\0';
    if (h.hash_len > 0)
        memcpy(o, row->hash, h.hash_len);
    o += h.hash_len;
    *o++ = '\0';
    if (h.event_len > 0)
        memcpy(o, row->event, h.event_len);
    o += h.event_len;
    *o++ = '\0';
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int audit_csv_unpack(fd_buf *out, const char *in, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (in[i] != '\0') {
            /* CSV already (the header line): as it is */
            const char *z = memchr(in + i, '\0', n - i);
            size_t len = z != NULL ? (size_t)(z - (in + i)) : n - i;
            if (fd_buf_append(out, in + i, len) != 0)
                return -1;
            i += len;
            continue;
        }
        packed_row h;
        if (n - i < 1 + sizeof h)
            return -1;
        memcpy(&h, in + i + 1, sizeof h);
        const char *prev = in + i + 1 + sizeof h;
        const char *hash = prev + h.prev_len + 1, *event = hash + h.hash_len + 1;
        if ((size_t)(event + h.event_len + 1 - in) > n)
            return -1;
        store_audit_row row = {.seq = h.seq,
                               .prev_hash = h.has_prev ? prev : NULL,
                               .hash = h.has_hash ? hash : NULL,
                               .event = h.has_event ? event : NULL,
                               .len = h.event_len};
        if (audit_csv_row(out, &row) != 0)
            return -1;
        i = (size_t)(event + h.event_len + 1 - in);
    }
    return 0;
}

int audit_csv_row(fd_buf *b, const store_audit_row *row)
{
    cell cells[NCOLS];
    /* the scan fills the cells it finds; put_cell reads no more of the others */
    for (int i = 0; i < NCOLS; i++)
        cells[i].set = 0;
    const unsigned char *text = (const unsigned char *)row->event;
    cells[COL_PREV] = text_cell(row->prev_hash);
    cells[COL_HASH] = text_cell(row->hash);

    /* A cell grows at most to twice its text (doubled quotes) plus quotes, guard and separator;
     * the event's cells are disjoint parts of its text; block copies may run 16 bytes past.
     * Past that, the scratch room for before/after's doubled text (csv_container_end may write
     * 64 bytes past it). The fallback appends after the reserve; it needs none of it. */
    size_t room = 2 * (row->len + 24 + cells[COL_PREV].n + cells[COL_HASH].n) + 4 * NCOLS + 2 + 32;
    if (fd_buf_reserve(b, room + 2 * row->len + 96) != 0)
        return -1;
    scan s = {.t = {text, text + row->len}, .cells = cells, .scratch = b->data + b->len + room};
    if (text == NULL || row->len == 0 || scan_object(&s, text, 0) != text + row->len) {
        __atomic_fetch_add(&fallbacks, 1, __ATOMIC_RELAXED);
        return audit_csv_row_tree(b, row);
    }
    char seq[24] = ""; /* zeroed: a block copy reads past the digits */
    cells[COL_SEQ] = (cell){.s = (const unsigned char *)seq,
                            .n = fd_i64_text(seq, row->seq),
                            .kind = CELL_TEXT,
                            .set = 1,
                            .flags = 0}; /* digits and a minus sign need no look */

    char *o = b->data + b->len;
    for (int i = 0; i < NCOLS; i++) {
        const unsigned char *readable = text + row->len; /* string cells: the event text */
        if (i == COL_SEQ)
            readable = (const unsigned char *)seq + sizeof seq;
        else if ((i == COL_PREV || i == COL_HASH) && cells[i].set)
            readable = cells[i].s + cells[i].n;
        o = put_cell(o, &cells[i], i == NCOLS - 1, readable);
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}
