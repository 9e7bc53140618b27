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
 *
 * Where the time goes: before/after are most of an event (~1 KB of a bench event's 1.3 KB, ~45
 * keys). They are checked and written in one walk (walk_value): the CSV form of JSON text is the
 * text with every quote doubled, so the walk copies the run of bytes up to each quote it passes
 * and adds one quote, with 16-byte block copies; strings are found 16 bytes at a time, and keys
 * are compared with one block compare. The walk writes into scratch room past the row, since
 * before/after come after the other cells in the row but not in the text; the row is assembled
 * from it at the end. Short cells are checked and copied with one block each.
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
 * Looking at 16 bytes at once (SSE2, every x86-64 has it; elsewhere one byte at a time). Each
 * returns a bitmask with bit i set when p[i] is interesting; the caller guarantees 16 readable
 * bytes at p.
 *   in_string_mask: '"', '\\', control characters and bytes >= 0x80 (signed compare: both
 *                   ranges are "less than 0x20" as signed bytes)
 *   cell_mask:      '"', ',', CR, LF, '\\' (a cell with none of them is copied as it is)
 */
#ifdef __SSE2__
static inline __m128i load16(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

static inline void store16(void *o, __m128i v)
{
    _mm_storeu_si128((__m128i *)o, v);
}

static inline unsigned in_string_mask(const unsigned char *p)
{
    __m128i v = load16(p);
    __m128i m =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(m);
}

static inline unsigned cell_mask(const unsigned char *p)
{
    __m128i v = load16(p);
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

/*
 * The scanner walks the event text. While it walks a value it also writes it at o, with every
 * quote doubled (RFC 4180), which is all the CSV changes in JSON text: for before/after that is
 * their cell; other values' copies are overwritten.
 */
typedef struct scanner {
    const unsigned char *p;
    const unsigned char *end; /* *end == '\0' */
    char *o;
} scanner;

/* A cell's source: JSON string content (escaped), raw bytes, or before/after already written
 * (quotes doubled); `set` 0 is an empty cell. */
enum { CELL_TEXT, CELL_JSON, CELL_DOUBLED };

typedef struct cell {
    const unsigned char *s;
    size_t n;
    int kind;
    int set;
    int quoted;                    /* CELL_DOUBLED: the value has a quote or a comma */
    int guard;                     /* CELL_DOUBLED: the value starts with '-' */
    const unsigned char *readable; /* 16-byte blocks may be read before it (the text's end) */
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

/* The first byte at or after p inside a string that is not plain ASCII text. */
static inline const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
    while (HAVE_BLOCKS && end - p >= 16) {
        unsigned m = in_string_mask(p);
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    while (str_class[*p] == C_PLAIN) /* the tail, or no blocks */
        p++;
    return p;
}

/* The closing quote of the string whose opening quote is at `open`, or NULL to give up. Only
 * the escapes jansson writes are taken (\" \\ \b \f \n \r \t): \/ and \u are left to jansson.
 * *esc = 1 when the string has escapes. */
static const unsigned char *string_close_slow(const unsigned char *open, const unsigned char *end,
                                              int *esc)
{
    const unsigned char *p = open + 1;
    *esc = 0;
    for (;;) {
        p = skip_plain(p, end);
        if (*p == '"')
            return p;
        if (*p == '\\') {
            if (p[1] != '"' && p[1] != '\\' && p[1] != 'b' && p[1] != 'f' && p[1] != 'n' &&
                p[1] != 'r' && p[1] != 't')
                return NULL;
            *esc = 1;
            p += 2;
        } else if (*p >= 0x80) {
            int n = utf8_len(p);
            if (n == 0)
                return NULL;
            p += n;
        } else {
            return NULL; /* a control character, or the end of the text */
        }
    }
}

/* The same, for the usual string: plain ASCII text, looked at 16 bytes at a time. Anything else
 * (an escape, UTF-8, the end of the text near) takes the general loop, from the start. */
static inline const unsigned char *string_close(const unsigned char *open, const unsigned char *end,
                                                int *esc)
{
#ifdef __SSE2__
    const unsigned char *p = open + 1;
    while (end - p >= 16) {
        unsigned m = in_string_mask(p);
        if (m != 0) {
            p += __builtin_ctz(m);
            if (*p != '"')
                break;
            *esc = 0;
            return p;
        }
        p += 16;
    }
#endif
    return string_close_slow(open, end, esc);
}

/* A string at s->p (the opening quote); s->p ends after the closing quote. 0, or -1 to give
 * up. */
static inline int scan_string(scanner *s, int *esc)
{
    const unsigned char *close = string_close(s->p, s->end, esc);
    if (close == NULL)
        return -1;
    s->p = close + 1;
    return 0;
}

/* n bytes from `from` to o, returning the new end: 16 at a time while 16 are readable before
 * `end`. A block store may run up to 16 bytes past the n bytes, into room the caller reserved;
 * what is written next overwrites it. */
static inline char *copy_run(char *o, const unsigned char *from, size_t n, const unsigned char *end)
{
#ifdef __SSE2__
    while (n > 16) {
        store16(o, load16(from));
        o += 16;
        from += 16;
        n -= 16;
    }
    if (end - from >= 16) {
        store16(o, load16(from));
        return o + n;
    }
#endif
    (void)end;
    memcpy(o, from, n);
    return o + n;
}

/* The walk reached the quote at q: copy what was walked up to it (from *from), and one more
 * quote. */
static inline void double_quote(char **o, const unsigned char **from, const unsigned char *q,
                                const unsigned char *end)
{
    *o = copy_run(*o, *from, (size_t)(q + 1 - *from), end);
    *(*o)++ = '"';
    *from = q + 1;
}

/* An integer as jansson writes it: no fraction or exponent (reals are left to jansson), no
 * leading zero, no "-0", at most MAX_DIGITS digits. Returns the end of it, or NULL. */
static inline const unsigned char *number_end(const unsigned char *start)
{
    const unsigned char *p = start;
    if (*p == '-')
        p++;
    const unsigned char *digits = p;
    if (*p == '0') {
        p++;
        if (p - start == 2)
            return NULL; /* "-0": jansson writes 0 */
    } else {
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (p == digits || p - digits > MAX_DIGITS || *p == '.' || *p == 'e' || *p == 'E' ||
        (*p >= '0' && *p <= '9'))
        return NULL;
    return p;
}

/* 1 when key a sorts strictly before key b, bytewise (jansson's JSON_SORT_KEYS order). Both are
 * in the text, a before b. Keys are short: under 16 bytes one block compare finds the first
 * difference; a loop beats a call to memcmp for the others. */
static inline int key_before(const unsigned char *a, size_t alen, const unsigned char *b,
                             size_t blen, const unsigned char *end)
{
    size_t n = alen < blen ? alen : blen;
#ifdef __SSE2__
    if (n < 16 && end - b >= 16) {
        unsigned same = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(a), load16(b)));
        unsigned i = (unsigned)__builtin_ctz(~same); /* bit 16 and up are set: at most 16 */
        if (i < n)
            return a[i] < b[i];
        return alen < blen;
    }
#endif
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i];
    return alen < blen;
}

/* An object or array the walk is inside, kept while it walks a value nested in it. */
typedef struct level {
    unsigned char close;      /* '}' or ']'; 0 outside any */
    const unsigned char *key; /* an object's last key so far (NULL: none yet) */
    size_t key_len;
} level;

/*
 * Any value at s->p, in the form jansson's compact, sorted dump would write it: no whitespace,
 * integers only, object keys without escapes and in strictly increasing byte order (no
 * duplicates). s->p ends after it. On the way its bytes are written at s->o with every quote
 * doubled (RFC 4180); s->o ends after them (at most 2x the value's bytes, and block stores may
 * run 16 bytes further). 0, or -1 to give up.
 *
 * One loop, no recursion: `stack` holds the objects and arrays the walk is inside. Each turn
 * reads one member or element: an object's key and colon, then the value; a value that opens
 * an object or array is entered, the next turn reads its first member or element.
 */
static int walk_value(scanner *s)
{
    level stack[MAX_DEPTH];  /* the containers around the current one */
    level in = {0, NULL, 0}; /* the current one */
    int depth = 0, esc;
    const unsigned char *p = s->p, *end = s->end, *from = p, *close;
    char *o = s->o;
    for (;;) {
        if (in.close == '}') {
            close = *p == '"' ? string_close(p, end, &esc) : NULL;
            if (close == NULL || esc || close[1] != ':')
                return -1;
            size_t len = (size_t)(close - p - 1);
            if (in.key != NULL && !key_before(in.key, in.key_len, p + 1, len, end))
                return -1;
            in.key = p + 1;
            in.key_len = len;
            double_quote(&o, &from, p, end);
            double_quote(&o, &from, close, end);
            p = close + 2;
        }
        switch (*p) {
        case '"':
            close = string_close(p, end, &esc);
            if (close == NULL)
                return -1;
            double_quote(&o, &from, p, end);
            /* inside the string a quote byte is always an escaped one (\") */
            for (const unsigned char *q = p + 1; esc && q < close; q++)
                if (*q == '"')
                    double_quote(&o, &from, q, end);
            double_quote(&o, &from, close, end);
            p = close + 1;
            break;
        case '{':
        case '[': {
            unsigned char closing = *p == '{' ? '}' : ']';
            if (p[1] == closing) {
                p += 2; /* empty */
                break;
            }
            if (depth == MAX_DEPTH)
                return -1; /* deeper values go the jansson way */
            stack[depth++] = in;
            in = (level){closing, NULL, 0};
            p++;
            continue;
        }
        case 'n':
            if (end - p < 4 || memcmp(p, "null", 4) != 0)
                return -1;
            p += 4;
            break;
        case 't':
            if (end - p < 4 || memcmp(p, "true", 4) != 0)
                return -1;
            p += 4;
            break;
        case 'f':
            if (end - p < 5 || memcmp(p, "false", 5) != 0)
                return -1;
            p += 5;
            break;
        default:
            p = number_end(p);
            if (p == NULL)
                return -1;
            break;
        }
        /* after a value: a comma and the next member or element (the usual case), or the ends
         * of the objects and arrays that end here, then a comma or the end of the walk */
        if (*p == ',' && in.close != 0) {
            p++;
            continue;
        }
        while (in.close != 0 && *p == in.close) {
            p++;
            in = stack[--depth];
        }
        if (in.close == 0)
            break;
        if (*p != ',')
            return -1;
        p++;
    }
    s->o = copy_run(o, from, (size_t)(p - from), end); /* after the last quote */
    s->p = p;
    return 0;
}

/* A value that is not a cell: checked (so that the row goes the jansson way whenever jansson
 * would see something else), and its copy at s->o left there to be overwritten. */
static int skip_value(scanner *s)
{
    char *o = s->o;
    int rc = walk_value(s);
    s->o = o;
    return rc;
}

/* A top-level member that is a string cell: the string, or (any other value) an empty cell, as
 * json_string_value gives NULL for it. A repeated key counts once, the last (as in jansson). */
static int scan_string_cell(scanner *s, cell *c)
{
    const unsigned char *start = s->p;
    c->set = 0;
    if (*start != '"')
        return skip_value(s);
    int esc;
    if (scan_string(s, &esc) != 0)
        return -1;
    *c = (cell){.s = start + 1,
                .n = (size_t)(s->p - 1 - start - 1),
                .kind = CELL_JSON,
                .set = 1,
                .readable = s->end};
    return 0;
}

/* before/after: the value's own bytes (what json_dumps gives back), empty when null, written
 * with quotes doubled at s->o as they are checked; s->o moves past them. */
static int scan_raw_cell(scanner *s, cell *c)
{
    const unsigned char *start = s->p;
    char *o = s->o;
    if (walk_value(s) != 0)
        return -1;
    size_t n = (size_t)(s->p - start);
    c->set = !(n == 4 && memcmp(start, "null", 4) == 0);
    c->s = (const unsigned char *)o;
    c->n = (size_t)(s->o - o);
    c->kind = CELL_DOUBLED;
    /* JSON text has no raw CR or LF: quoted for a quote (then some were doubled) or a comma */
    c->quoted = c->n != n || memchr(start, ',', n) != NULL;
    c->guard = start[0] == '-'; /* the only formula start a JSON value can have */
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
        return skip_value(s);
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
        if ((col >= 0 ? scan_string_cell(s, &cells[col]) : skip_value(s)) != 0)
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

/* The whole event: one object, nothing after it. Fills the cells it finds; before/after are
 * written at *scratch (see scan_raw_cell). */
static int scan_event(const store_audit_row *row, cell cells[], char *scratch)
{
    scanner s = {(const unsigned char *)row->event, (const unsigned char *)row->event + row->len,
                 scratch};
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
                rc = skip_value(&s);
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

static inline int formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* Bytes that need a look while a cell is copied: quotes (doubled, and the cell is quoted),
 * commas and line breaks (the cell is quoted), backslashes (escapes, in JSON strings). */
static const unsigned char cell_special[256] = {
    ['"'] = 1, [','] = 1, ['\r'] = 1, ['\n'] = 1, ['\\'] = 1,
};

/* 1 when the n bytes at p have one of the cell_special bytes; blocks may be read before
 * `readable`. A cell of 16 bytes or more is looked at in blocks, the last one ending at its
 * end (it may look at some bytes twice); a shorter one in one block cut to n when readable. */
static inline int needs_work(const unsigned char *p, size_t n, const unsigned char *readable)
{
    const unsigned char *end = p + n;
    if (HAVE_BLOCKS && n >= 16) {
        for (; end - p > 16; p += 16)
            if (cell_mask(p) != 0)
                return 1;
        return cell_mask(end - 16) != 0;
    }
    if (HAVE_BLOCKS && readable - p >= 16)
        return (cell_mask(p) & ((1u << n) - 1)) != 0;
    for (; p < end; p++)
        if (cell_special[*p])
            return 1;
    return 0;
}

/*
 * A cell with quotes, commas, line breaks or escapes, at o (room reserved by the caller), exactly
 * as csv_cell writes the same text: quoted when it holds , " CR or LF, with the formula guard.
 * The opening quote is written first and taken back when the cell needs none. Returns the new end.
 */
static char *put_cell_slow(char *o, const cell *c)
{
    char *start = o;
    const unsigned char *p = c->s, *end = c->s + c->n;
    int json = c->kind == CELL_JSON, quote = 0;
    *o++ = '"';
    char first = (char)p[0];
    if (json && first == '\\')
        first = unescape(p[1]);
    if (formula_start(first))
        *o++ = '\'';
    while (p < end) {
        unsigned char ch = *p++;
        if (cell_special[ch]) {
            if (ch == '\\' && json)
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
    return o;
}

/* Cell `c` and its separator at o (room reserved by the caller). Returns the new end. */
static char *put_cell(char *o, const cell *c, int last)
{
    if (!c->set || c->n == 0) {
        /* empty */
    } else if (c->kind == CELL_DOUBLED) {
        if (c->quoted)
            *o++ = '"';
        if (c->guard)
            *o++ = '\'';
        memcpy(o, c->s, c->n);
        o += c->n;
        if (c->quoted)
            *o++ = '"';
    } else if (needs_work(c->s, c->n, c->readable)) {
        o = put_cell_slow(o, c);
    } else {
        /* the usual cell: its bytes, after the guard (no escapes: the first byte is the first
         * character) */
        if (formula_start((char)c->s[0]))
            *o++ = '\'';
        o = copy_run(o, c->s, c->n, c->readable);
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
    size_t n = s ? strlen(s) : 0;
    return (cell){.s = (const unsigned char *)s,
                  .n = n,
                  .kind = CELL_TEXT,
                  .set = s != NULL,
                  .readable = s ? (const unsigned char *)s + n : NULL};
}

/* v in decimal at buf (24 bytes), as "%lld" writes it; returns the length. */
static size_t format_seq(char buf[24], long long v)
{
    char tmp[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n > 0)
        buf[len++] = tmp[--n];
    return len;
}

static unsigned long fallbacks; /* loop thread or a single-threaded command: no lock */

unsigned long audit_csv_fallbacks(void)
{
    return fallbacks;
}

int audit_csv_row(fd_buf *b, const store_audit_row *row)
{
    if (row->event == NULL) {
        fallbacks++;
        return audit_csv_row_tree(b, row);
    }
    cell cells[NCOLS];
    memset(cells, 0, sizeof cells);
    char seq[24] = ""; /* zeroed: a block load reads past the digits */
    cells[COL_SEQ] = (cell){.s = (const unsigned char *)seq,
                            .n = format_seq(seq, (long long)row->seq),
                            .kind = CELL_TEXT,
                            .set = 1,
                            .readable = (const unsigned char *)seq + sizeof seq};
    cells[COL_PREV] = text_cell(row->prev_hash);
    cells[COL_HASH] = text_cell(row->hash);

    /* The row goes at the end of b; before/after are written first, while the event is
     * checked, into scratch room after the row's room, and copied into the row at the end.
     * A cell grows at most to twice its text (doubled quotes) plus quotes, guard and separator;
     * the event's cells are disjoint parts of its text; 16-byte block stores may run 16 bytes
     * past a copy. */
    size_t row_room =
        2 * (row->len + sizeof seq + cells[COL_PREV].n + cells[COL_HASH].n) + 4 * NCOLS + 2 + 16;
    size_t scratch_room = 2 * row->len + 16;
    if (fd_buf_reserve(b, row_room + scratch_room) != 0)
        return -1;
    char *o = b->data + b->len;
    if (scan_event(row, cells, o + row_room) != 0) {
        fallbacks++;
        return audit_csv_row_tree(b, row);
    }
    for (int i = 0; i < NCOLS; i++)
        o = put_cell(o, &cells[i], i == NCOLS - 1);
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}
