/*
 * audit_csv.c - one audit event as one CSV row (see audit_csv.h).
 *
 * Why a scanner: the CSV export parsed every stored event with jansson and dumped before/after
 * back to text, ~380,000 instructions an event. The stored text is already what those dumps
 * produce (audit_append writes compact JSON with sorted keys), so the before/after cells are
 * byte ranges of it, and the other cells are its top-level strings, unescaped.
 *
 * The scanner is strict on purpose: it accepts only what jansson would both parse and write back
 * byte for byte (no whitespace, the escapes jansson writes and no others, integers only, object
 * keys in strictly increasing order, valid UTF-8). Anything else makes it give up on the row, and
 * the row is written by audit_csv_row_tree, the jansson path, so the output never depends on
 * which path wrote it. Reading relies on the NUL after the text: every loop stops at it.
 */
#include "audit_csv.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define MAX_DEPTH 64  /* deeper values go the jansson way */
#define MAX_DIGITS 18 /* an integer that surely fits json_int_t */
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

/* ---- the scanner ----------------------------------------------------------------------------- */

/* What a byte inside a JSON string is. */
enum { C_PLAIN, C_QUOTE, C_ESCAPE, C_CONTROL, C_HIGH };

static const unsigned char str_class[256] = {
    [0 ... 0x1f] = C_CONTROL,
    ['"'] = C_QUOTE,
    ['\\'] = C_ESCAPE,
    [0x80 ... 0xff] = C_HIGH,
};

/*
 * Skipping plain bytes 16 at a time (SSE2, every x86-64 has it; elsewhere one at a time). Each
 * returns a bitmask with bit i set when p[i] is interesting; the caller guarantees 16 readable
 * bytes at p.
 *   in_string_mask: '"', '\\', control characters and bytes >= 0x80 (signed compare: both
 *                   ranges are "less than 0x20" as signed bytes)
 *   cell_mask:      '"', ',', CR, LF, '\\' (what put_cell must look at)
 */
#ifdef __SSE2__
static inline unsigned in_string_mask(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(m);
}

static inline unsigned cell_mask(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    return (unsigned)_mm_movemask_epi8(m);
}
#define HAVE_BLOCKS 1
#else
#define HAVE_BLOCKS 0
static inline unsigned in_string_mask(const unsigned char *p)
{
    (void)p;
    return 1; /* "look at p[0]": the byte loops do the work */
}
static inline unsigned cell_mask(const unsigned char *p)
{
    (void)p;
    return 1;
}
#endif

typedef struct scanner {
    const unsigned char *p;
    const unsigned char *end; /* *end == '\0' */
} scanner;

/* A cell's source: JSON string content (escaped), or raw bytes; `set` 0 is an empty cell. */
typedef struct cell {
    const unsigned char *s;
    size_t n;
    int json; /* 1: JSON string content, unescaped when written */
    int set;
} cell;

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), 0 when invalid: no overlong
 * forms, no surrogates, nothing past U+10FFFF (what jansson's decoder accepts). */
static int utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c >= 0xc2 && c <= 0xdf)
        return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((p[1] & 0xc0) != 0x80 || (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
            return 0;
        return (p[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((p[1] & 0xc0) != 0x80 || (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
            return 0;
        return (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* A string at s->p (the opening quote); s->p ends after the closing quote. Only the escapes
 * jansson writes are taken (\" \\ \b \f \n \r \t): \/ and \u are left to jansson. *esc = 1 when
 * the string has escapes. 0, or -1 to give up. */
static int scan_string(scanner *s, int *esc)
{
    const unsigned char *p = s->p + 1;
    *esc = 0;
    for (;;) {
        while (HAVE_BLOCKS && s->end - p >= 16) {
            unsigned m = in_string_mask(p);
            if (m != 0) {
                p += __builtin_ctz(m);
                break;
            }
            p += 16;
        }
        while (str_class[*p] == C_PLAIN) /* the tail, or no blocks */
            p++;
        switch (str_class[*p]) {
        case C_QUOTE:
            s->p = p + 1;
            return 0;
        case C_ESCAPE:
            if (p[1] != '"' && p[1] != '\\' && p[1] != 'b' && p[1] != 'f' && p[1] != 'n' &&
                p[1] != 'r' && p[1] != 't')
                return -1;
            *esc = 1;
            p += 2;
            break;
        case C_HIGH: {
            int n = utf8_len(p);
            if (n == 0)
                return -1;
            p += n;
            break;
        }
        default:
            return -1; /* a control character, or the end of the text */
        }
    }
}

/* An integer as jansson writes it: no fraction or exponent (reals are left to jansson), no
 * leading zero, no "-0", at most MAX_DIGITS digits. */
static int scan_number(scanner *s)
{
    const unsigned char *p = s->p;
    if (*p == '-')
        p++;
    const unsigned char *digits = p;
    if (*p == '0') {
        p++;
        if (p - s->p == 2)
            return -1; /* "-0": jansson writes 0 */
    } else {
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (p == digits || p - digits > MAX_DIGITS || *p == '.' || *p == 'e' || *p == 'E' ||
        (*p >= '0' && *p <= '9'))
        return -1;
    s->p = p;
    return 0;
}

static int scan_literal(scanner *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int scan_value(scanner *s, int depth);

/* 1 when key a sorts strictly before key b, bytewise (jansson's JSON_SORT_KEYS order). Keys are
 * short: a loop beats a call to memcmp. */
static int key_before(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i];
    return alen < blen;
}

/* An object with its keys in strictly increasing byte order (JSON_SORT_KEYS, no duplicates) and
 * without escapes in keys. */
static int scan_object(scanner *s, int depth)
{
    const unsigned char *prev = NULL;
    size_t prev_len = 0;
    s->p++;
    if (*s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        int esc;
        const unsigned char *key = s->p + 1;
        if (*s->p != '"' || scan_string(s, &esc) != 0 || esc)
            return -1;
        size_t len = (size_t)(s->p - 1 - key);
        if (prev != NULL && !key_before(prev, prev_len, key, len))
            return -1;
        prev = key;
        prev_len = len;
        if (*s->p != ':')
            return -1;
        s->p++;
        /* strings and nulls are most values: no call through scan_value for them */
        if (*s->p == '"') {
            if (scan_string(s, &esc) != 0)
                return -1;
        } else if (*s->p == 'n' && s->end - s->p >= 4 && memcmp(s->p, "null", 4) == 0) {
            s->p += 4;
        } else if (scan_value(s, depth) != 0) {
            return -1;
        }
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != '}')
            return -1;
        s->p++;
        return 0;
    }
}

static int scan_array(scanner *s, int depth)
{
    s->p++;
    if (*s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (scan_value(s, depth) != 0)
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != ']')
            return -1;
        s->p++;
        return 0;
    }
}

/* Any value, in the form jansson's compact, sorted dump would write it. */
static int scan_value(scanner *s, int depth)
{
    int esc;
    if (depth > MAX_DEPTH)
        return -1;
    switch (*s->p) {
    case '"':
        return scan_string(s, &esc);
    case '{':
        return scan_object(s, depth + 1);
    case '[':
        return scan_array(s, depth + 1);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return scan_number(s);
    }
}

/* A top-level member that is a string cell: the string, or (any other value) an empty cell, as
 * json_string_value gives NULL for it. A repeated key counts once, the last (as in jansson). */
static int scan_string_cell(scanner *s, cell *c)
{
    const unsigned char *start = s->p;
    c->set = 0;
    if (*start != '"')
        return scan_value(s, 1);
    int esc;
    if (scan_string(s, &esc) != 0)
        return -1;
    *c = (cell){.s = start + 1, .n = (size_t)(s->p - 1 - start - 1), .json = 1, .set = 1};
    return 0;
}

/* before/after: the value's own bytes (what json_dumps gives back), empty when null. */
static int scan_raw_cell(scanner *s, cell *c)
{
    const unsigned char *start = s->p;
    if (scan_value(s, 1) != 0)
        return -1;
    size_t n = (size_t)(s->p - start);
    c->set = !(n == 4 && memcmp(start, "null", 4) == 0);
    c->s = start;
    c->n = n;
    c->json = 0;
    return 0;
}

/* Is the key (k, n bytes) the literal `name`? (sizeof: no strlen per key and event) */
#define key_is(k, n, name) ((n) == sizeof(name) - 1 && memcmp((k), (name), sizeof(name) - 1) == 0)

/* The column index of a top-level key (see audit_csv.h), -1 when it is not a column. */
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
    COL_HASH
};

static int top_column(const unsigned char *k, size_t n)
{
    switch (k[0]) {
    case 'a':
        return key_is(k, n, "at")       ? COL_AT
               : key_is(k, n, "action") ? COL_ACTION
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

/* The actor object: sub, name, role. Any other value leaves the three cells empty. */
static int scan_actor(scanner *s, cell cells[])
{
    cells[COL_SUB].set = cells[COL_NAME].set = cells[COL_ROLE].set = 0;
    if (*s->p != '{')
        return scan_value(s, 1);
    s->p++;
    if (*s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        int esc;
        const unsigned char *key = s->p + 1;
        if (*s->p != '"' || scan_string(s, &esc) != 0 || esc || *s->p != ':')
            return -1;
        size_t len = (size_t)(s->p - 1 - key);
        s->p++;
        int col = key_is(key, len, "sub")    ? COL_SUB
                  : key_is(key, len, "name") ? COL_NAME
                  : key_is(key, len, "role") ? COL_ROLE
                                             : -1;
        if ((col >= 0 ? scan_string_cell(s, &cells[col]) : scan_value(s, 2)) != 0)
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != '}')
            return -1;
        s->p++;
        return 0;
    }
}

/* The whole event: one object, nothing after it. Fills the cells it finds. */
static int scan_event(const store_audit_row *row, cell cells[])
{
    scanner s = {(const unsigned char *)row->event, (const unsigned char *)row->event + row->len};
    if (*s.p != '{')
        return -1;
    s.p++;
    if (*s.p == '}') {
        s.p++;
        return s.p == s.end ? 0 : -1;
    }
    for (;;) {
        int esc, rc;
        const unsigned char *key = s.p + 1;
        if (*s.p != '"' || scan_string(&s, &esc) != 0 || esc || *s.p != ':')
            return -1;
        size_t len = (size_t)(s.p - 1 - key);
        s.p++;
        if (key_is(key, len, "actor")) {
            rc = scan_actor(&s, cells);
        } else {
            int col = top_column(key, len);
            if (col == COL_BEFORE || col == COL_AFTER)
                rc = scan_raw_cell(&s, &cells[col]);
            else if (col >= 0)
                rc = scan_string_cell(&s, &cells[col]);
            else
                rc = scan_value(&s, 1);
        }
        if (rc != 0)
            return -1;
        if (*s.p == ',') {
            s.p++;
            continue;
        }
        if (*s.p != '}')
            return -1;
        s.p++;
        return s.p == s.end ? 0 : -1;
    }
}

/* ---- writing the row ------------------------------------------------------------------------ */

static char unescape(unsigned char c)
{
    switch (c) {
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
    default:
        return (char)c; /* \" and \\ */
    }
}

/* Bytes that need a look while a cell is copied: quotes (doubled, and the cell is quoted),
 * commas and line breaks (the cell is quoted), backslashes (escapes, in JSON strings). */
static const unsigned char cell_special[256] = {
    ['"'] = 1, [','] = 1, ['\r'] = 1, ['\n'] = 1, ['\\'] = 1,
};

/*
 * Write cell `c` and its separator at o (room reserved by the caller) exactly as csv_cell writes
 * the same text: quoted when it holds , " CR or LF, with the formula guard. The opening quote is
 * written first and taken back when the cell needs none. Returns the new end.
 */
static char *put_cell(char *o, const cell *c, int last)
{
    char *start = o;
    if (c->set && c->n > 0) {
        const unsigned char *p = c->s, *end = c->s + c->n;
        int quote = 0;
        *o++ = '"';
        char first = (char)p[0];
        if (c->json && first == '\\')
            first = unescape(p[1]);
        if (first == '=' || first == '+' || first == '-' || first == '@' || first == '\t' ||
            first == '\r')
            *o++ = '\'';
        while (p < end) {
            /* 16 plain bytes are stored at once; the store may run ahead of o, into the room
             * the caller reserved, and what follows overwrites it */
            if (HAVE_BLOCKS && end - p >= 16) {
                unsigned m = cell_mask(p);
                unsigned k = m != 0 ? (unsigned)__builtin_ctz(m) : 16;
#ifdef __SSE2__
                _mm_storeu_si128((__m128i *)(void *)o,
                                 _mm_loadu_si128((const __m128i *)(const void *)p));
#endif
                p += k;
                o += k;
                if (k == 16)
                    continue;
            }
            unsigned char ch = *p++;
            if (cell_special[ch]) {
                if (ch == '\\' && c->json)
                    ch = (unsigned char)unescape(*p++);
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
    }
    if (last) {
        *o++ = '\r';
        *o++ = '\n';
    } else {
        *o++ = ',';
    }
    return o;
}

/*
 * The same for before/after, whose bytes are JSON text (no CR or LF outside strings, and inside
 * them only as escapes): only quotes change (doubled), and a comma or a quote anywhere means the
 * cell is quoted. Blocks of 16 bytes are copied whole; each quote costs one more step.
 */
static char *put_raw_cell(char *o, const cell *c, int last)
{
    if (!HAVE_BLOCKS || !c->set || c->n == 0 || c->s[0] == '-')
        return put_cell(o, c, last); /* "-": a number, with the formula guard; rare */
    const unsigned char *p = c->s, *end = c->s + c->n;
    char *start = o;
    int quote = 0;
    *o++ = '"';
#ifdef __SSE2__
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        unsigned mc = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
        _mm_storeu_si128((__m128i *)(void *)o, v);
        quote |= (mq | mc) != 0;
        if (mq == 0) {
            p += 16;
            o += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(mq) + 1; /* up to and with the quote */
        p += k;
        o += k;
        *o++ = '"';
    }
#endif
    for (; p < end; p++) {
        if (*p == '"') {
            *o++ = '"';
            quote = 1;
        } else if (*p == ',') {
            quote = 1;
        }
        *o++ = (char)*p;
    }
    if (quote) {
        *o++ = '"';
    } else {
        memmove(start, start + 1, (size_t)(o - start - 1));
        o--;
    }
    if (last) {
        *o++ = '\r';
        *o++ = '\n';
    } else {
        *o++ = ',';
    }
    return o;
}

static cell text_cell(const char *s)
{
    return (cell){
        .s = (const unsigned char *)s, .n = s ? strlen(s) : 0, .json = 0, .set = s != NULL};
}

static unsigned long fallbacks; /* loop thread or a single-threaded command: no lock */

unsigned long audit_csv_fallbacks(void)
{
    return fallbacks;
}

int audit_csv_row(fd_buf *b, const store_audit_row *row)
{
    cell cells[NCOLS];
    memset(cells, 0, sizeof cells);
    if (row->event == NULL || scan_event(row, cells) != 0) {
        fallbacks++;
        return audit_csv_row_tree(b, row);
    }

    char seq[24];
    int n = snprintf(seq, sizeof seq, "%lld", (long long)row->seq);
    cells[COL_SEQ] = (cell){.s = (const unsigned char *)seq, .n = (size_t)n, .set = 1};
    cells[COL_PREV] = text_cell(row->prev_hash);
    cells[COL_HASH] = text_cell(row->hash);
    /* a cell grows at most to twice its text (doubled quotes) plus quotes, guard, separator */
    size_t room = 0;
    for (int i = 0; i < NCOLS; i++)
        room += 2 * cells[i].n + 4;
    room += 16; /* put_cell's block stores may run 16 bytes ahead */
    if (fd_buf_reserve(b, room) != 0)
        return -1;
    char *o = b->data + b->len;
    for (int i = 0; i < NCOLS; i++)
        o = cells[i].set && !cells[i].json && (i == COL_BEFORE || i == COL_AFTER)
                ? put_raw_cell(o, &cells[i], i == NCOLS - 1)
                : put_cell(o, &cells[i], i == NCOLS - 1);
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}
