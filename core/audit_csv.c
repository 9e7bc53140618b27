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
 * keys, ~150 quotes). Their end is found 16 bytes at a time (container_end), and they are copied
 * with a 16-byte block copy up to each quote (put_doubled).
 */
#include "audit_csv.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* ---- 16 bytes at a time ---------------------------------------------------------------------- */

/*
 * A block is 16 bytes of the text, looked at together: bytes_eq gives a bitmask with bit i set
 * when byte i is c. SSE2 (every x86-64 has it) does that in two instructions; elsewhere a loop
 * gives the same masks. The caller guarantees 16 readable bytes.
 */
#ifdef __SSE2__
typedef __m128i block;

static inline block block_at(const unsigned char *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

static inline unsigned bytes_eq(block v, char c)
{
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}
#else
typedef struct block {
    unsigned char b[16];
} block;

static inline block block_at(const unsigned char *p)
{
    block v;
    memcpy(v.b, p, 16);
    return v;
}

static inline unsigned bytes_eq(block v, char c)
{
    unsigned m = 0;
    for (int i = 0; i < 16; i++)
        m |= (unsigned)(v.b[i] == (unsigned char)c) << i;
    return m;
}
#endif

/* Bit i of the result is the xor of bits 0..i of m (16 bits): for the mask of a block's
 * quotes, the bytes from an opening quote up to (not including) its closing one. */
static inline unsigned prefix_xor(unsigned m)
{
    m ^= m << 1;
    m ^= m << 2;
    m ^= m << 4;
    m ^= m << 8;
    return m;
}

/* The masks of the block's opening brackets ({ [) and closing ones (} ]); returns those of both
 * and the backslashes together (0: none of them, the usual case). */
#ifdef __SSE2__
static inline unsigned bracket_masks(block v, unsigned *open, unsigned *close)
{
    /* '[' and ']' are '{' and '}' without bit 0x20; no other byte is */
    block x = _mm_or_si128(v, _mm_set1_epi8(0x20));
    block o = _mm_cmpeq_epi8(x, _mm_set1_epi8('{')), c = _mm_cmpeq_epi8(x, _mm_set1_epi8('}'));
    *open = (unsigned)_mm_movemask_epi8(o);
    *close = (unsigned)_mm_movemask_epi8(c);
    block any = _mm_or_si128(_mm_or_si128(o, c), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    return (unsigned)_mm_movemask_epi8(any);
}
#else
static inline unsigned bracket_masks(block v, unsigned *open, unsigned *close)
{
    *open = bytes_eq(v, '{') | bytes_eq(v, '[');
    *close = bytes_eq(v, '}') | bytes_eq(v, ']');
    return *open | *close | bytes_eq(v, '\\');
}
#endif

/* ---- following the text's structure ------------------------------------------------------ */

/* Just past the closing quote of the string whose opening quote is at p, or NULL when the text
 * ends first. A backslash takes the byte after it along (that is all the scan knows of escapes);
 * *esc tells whether there was one. */
static const unsigned char *string_end(const unsigned char *p, const unsigned char *end, int *esc)
{
    *esc = 0;
    p++;
    while (p < end) {
        if (end - p >= 16) {
            block v = block_at(p);
            unsigned m = bytes_eq(v, '"') | bytes_eq(v, '\\');
            if (m == 0) {
                p += 16;
                continue;
            }
            p += __builtin_ctz(m);
        } else if (*p != '"' && *p != '\\') {
            p++;
            continue;
        }
        if (*p == '"')
            return p + 1;
        *esc = 1;
        p += 2;
    }
    return NULL;
}

/* Where the bracket walk of container_end is. */
typedef struct walk {
    unsigned depth; /* brackets open */
    int in_string;
    int escaped; /* the byte before was a backslash in a string */
} walk;

/* One byte of the walk; 1 when it closes the outermost bracket. */
static inline int walk_byte(walk *w, unsigned char c)
{
    if (w->escaped)
        w->escaped = 0;
    else if (w->in_string)
        w->escaped = c == '\\', w->in_string = c != '"';
    else if (c == '"')
        w->in_string = 1;
    else if (c == '{' || c == '[')
        w->depth++;
    else if (c == '}' || c == ']')
        return --w->depth == 0;
    return 0;
}

/*
 * Just past the bracket that closes the object or array opening at p, or NULL when the text ends
 * first. Most blocks have no bracket and no backslash: they only flip "inside a string" when
 * they hold an odd number of quotes. In a block with brackets, the running xor of the quote bits
 * says which bytes are inside strings, and the brackets outside them are counted. A block with a
 * backslash, and the text's last bytes, go a byte at a time.
 */
static const unsigned char *container_end(const unsigned char *p, const unsigned char *end)
{
    walk w = {0, 0, 0};
    while (p < end) {
        if (end - p >= 16 && !w.escaped) {
            block v = block_at(p);
            unsigned quotes = bytes_eq(v, '"'), open, close;
            unsigned other = bracket_masks(v, &open, &close);
            if (other == 0) {
                w.in_string ^= __builtin_parity(quotes);
                p += 16;
                continue;
            }
            if (bytes_eq(v, '\\') == 0) {
                unsigned inside = prefix_xor(quotes) ^ (w.in_string ? 0xffffu : 0);
                w.in_string = (inside >> 15) & 1;
                open &= ~inside;
                close &= ~inside;
                for (unsigned m = open | close; m != 0; m &= m - 1) {
                    unsigned i = (unsigned)__builtin_ctz(m);
                    if (open & (1u << i))
                        w.depth++;
                    else if (--w.depth == 0)
                        return p + i + 1;
                }
                p += 16;
                continue;
            }
        }
        const unsigned char *stop = end - p < 16 ? end : p + 16;
        for (; p < stop; p++)
            if (walk_byte(&w, *p))
                return p + 1;
    }
    return NULL;
}

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

/* Just past the value at p, or NULL. */
static const unsigned char *value_end(const unsigned char *p, const unsigned char *end)
{
    int esc;
    if (*p == '"')
        return string_end(p, end, &esc);
    if (*p == '{' || *p == '[')
        return container_end(p, end);
    return scalar_end(p, end);
}

/* ---- the cells --------------------------------------------------------------------------- */

/* A cell's source: text as it is (seq, the hashes), a JSON string's content (escaped), or
 * before/after's JSON text (its quotes to be doubled); `set` 0 is an empty cell. */
enum { CELL_TEXT, CELL_JSON, CELL_RAW };

typedef struct cell {
    const unsigned char *s;
    size_t n;
    int kind;
    int set;
    const unsigned char *readable; /* 16-byte blocks may be read before it */
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

/* The value (v up to v_end) of a column's member into its cell: before/after as their text,
 * empty when null; the others when they are strings (any other value leaves the cell empty, as
 * json_string_value gives NULL for it). 0, or -1 when a string has an escape that put_cell_slow
 * does not decode. */
static int set_cell(cell *c, int col, const unsigned char *v, const unsigned char *v_end,
                    const unsigned char *end)
{
    size_t n = (size_t)(v_end - v);
    if (col == COL_BEFORE || col == COL_AFTER) {
        int null = n == 4 && memcmp(v, "null", 4) == 0;
        *c = (cell){.s = v, .n = n, .kind = CELL_RAW, .set = !null, .readable = end};
        return 0;
    }
    c->set = 0;
    if (*v != '"')
        return 0;
    *c = (cell){.s = v + 1, .n = n - 2, .kind = CELL_JSON, .set = 1, .readable = end};
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
 * The members of the object at p (the event; its actor when `actor`), into the cells of the
 * columns they are. A repeated key counts once, the last (as in jansson). Returns just past the
 * closing brace, or NULL when the text is not shaped as expected: the row goes the jansson way.
 */
static const unsigned char *scan_object(const unsigned char *p, const unsigned char *end,
                                        cell cells[], int actor)
{
    if (*p != '{')
        return NULL;
    p++;
    if (*p == '}')
        return p + 1;
    for (;;) {
        int esc = 0;
        const unsigned char *key = p + 1, *v = *p == '"' ? string_end(p, end, &esc) : NULL;
        if (v == NULL || esc || *v != ':')
            return NULL; /* escaped keys: jansson would match "n\u006fte" with "note" */
        int col = key_column(key, (size_t)(v - 1 - key), actor);
        v++;
        if (col == COL_ACTOR) {
            cells[COL_SUB].set = cells[COL_NAME].set = cells[COL_ROLE].set = 0;
            p = *v == '{' ? scan_object(v, end, cells, 1) : value_end(v, end);
        } else {
            p = value_end(v, end);
            if (p != NULL && col >= 0 && set_cell(&cells[col], col, v, p, end) != 0)
                return NULL;
        }
        if (p == NULL)
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

/* Bytes that need a look while a cell is copied: quotes (doubled, and the cell is quoted),
 * commas and line breaks (the cell is quoted), backslashes (escapes, in JSON strings). */
static inline unsigned cell_mask(const unsigned char *p)
{
    block v = block_at(p);
    return bytes_eq(v, '"') | bytes_eq(v, ',') | bytes_eq(v, '\\') | bytes_eq(v, '\r') |
           bytes_eq(v, '\n');
}

static inline int cell_special(unsigned char c)
{
    return c == '"' || c == ',' || c == '\r' || c == '\n' || c == '\\';
}

/* 1 when the n bytes at p have a cell_special byte; blocks may be read before `readable`. A cell
 * of 16 bytes or more is looked at in blocks, the last one ending at its end (it may look at
 * some bytes twice); a shorter one in one block cut to n when readable. */
static inline int needs_work(const unsigned char *p, size_t n, const unsigned char *readable)
{
    const unsigned char *end = p + n;
    if (n >= 16) {
        for (; end - p > 16; p += 16)
            if (cell_mask(p) != 0)
                return 1;
        return cell_mask(end - 16) != 0;
    }
    if (readable - p >= 16)
        return (cell_mask(p) & ((1u << n) - 1)) != 0;
    for (; p < end; p++)
        if (cell_special(*p))
            return 1;
    return 0;
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
 * Doubling the quotes of before/after, 16 bytes at a time. Each half of a block (8 bytes) is
 * spread out by one byte shuffle (SSSE3 pshufb), whose control comes from a table indexed by the
 * half's quote bits: byte i is taken once, twice when it is a quote. No branch depends on where
 * the quotes are (a loop over them mispredicted about once a block). SSSE3 is checked for at
 * startup (all x86-64 CPUs since 2006 have it, but not the baseline the build targets); without
 * it, and off x86, the quotes are doubled a byte at a time.
 */
#if defined(__x86_64__) && defined(__SSE2__)
#include <tmmintrin.h>
#define HAVE_SHUFFLE 1

static unsigned char spread_control[256][16]; /* [quote bits of 8 bytes] -> pshufb control */
static unsigned char spread_len[256];         /* -> bytes it gives: 8 + the quotes */
static int have_ssse3;

__attribute__((constructor)) static void spread_init(void)
{
    for (int m = 0; m < 256; m++) {
        int n = 0;
        for (int i = 0; i < 8; i++) {
            spread_control[m][n++] = (unsigned char)i;
            if (m & (1 << i))
                spread_control[m][n++] = (unsigned char)i;
        }
        spread_len[m] = (unsigned char)n;
        for (; n < 16; n++)
            spread_control[m][n] = 0x80; /* a zero byte, overwritten by what comes next */
    }
    __builtin_cpu_init();
    have_ssse3 = __builtin_cpu_supports("ssse3");
}

/* The 16 bytes v (quote bits m) at o with their quotes doubled; returns o + 16 + the quotes.
 * Writes up to 32 bytes. */
__attribute__((target("ssse3"))) static inline char *spread_block(char *o, __m128i v, unsigned m)
{
    unsigned lo = m & 0xff, hi = m >> 8;
    __m128i c = _mm_loadu_si128((const __m128i *)spread_control[lo]);
    _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(v, c));
    o += spread_len[lo];
    c = _mm_loadu_si128((const __m128i *)spread_control[hi]);
    _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(_mm_srli_si128(v, 8), c));
    return o + spread_len[hi];
}

/* put_doubled with shuffles; the last partial block is read as a whole one when `readable`
 * allows (its bytes past `end` are written past the result, to be overwritten). */
__attribute__((target("ssse3"))) static char *put_doubled_shuffle(char *o, const unsigned char *p,
                                                                  const unsigned char *end,
                                                                  const unsigned char *readable)
{
    for (; end - p >= 16; p += 16) {
        block v = block_at(p);
        o = spread_block(o, v, bytes_eq(v, '"'));
    }
    if (p < end && readable - p >= 16) {
        unsigned n = (unsigned)(end - p);
        block v = block_at(p);
        unsigned m = bytes_eq(v, '"') & ((1u << n) - 1);
        char *full = spread_block(o, v, m); /* o + 16 + the quotes among the n bytes */
        return full - (16 - n);
    }
    for (; p < end; p++) {
        *o++ = (char)*p;
        if (*p == '"')
            *o++ = '"';
    }
    return o;
}
#endif

/* The bytes from p to end at o with every quote doubled; returns the new end. Blocks may be read
 * before `readable`; up to 32 bytes past the end may be written (room reserved by the caller). */
static char *put_doubled(char *o, const unsigned char *p, const unsigned char *end,
                         const unsigned char *readable)
{
#ifdef HAVE_SHUFFLE
    if (have_ssse3)
        return put_doubled_shuffle(o, p, end, readable);
#endif
    (void)readable;
    for (; p < end; p++) {
        *o++ = (char)*p;
        if (*p == '"')
            *o++ = '"';
    }
    return o;
}

/* before/after: their text with quotes doubled, quoted when it has a quote, a comma or a line
 * break, with the formula guard. The opening quote is written first and taken back when the
 * cell needs none. Returns the new end. */
static char *put_raw_cell(char *o, const cell *c)
{
    char *start = o;
    *o++ = '"';
    if (formula_start(c->s[0]))
        *o++ = '\'';
    char *body = o;
    o = put_doubled(o, c->s, c->s + c->n, c->readable);
    if ((size_t)(o - body) != c->n || needs_work(c->s, c->n, c->readable)) {
        *o++ = '"';
    } else {
        memmove(start, start + 1, (size_t)(o - start - 1));
        o--;
    }
    return o;
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

/* Cell `c` and its separator at o (room reserved by the caller). Returns the new end. */
static char *put_cell(char *o, const cell *c, int last)
{
    if (!c->set || c->n == 0) {
        /* empty */
    } else if (c->kind == CELL_RAW) {
        o = put_raw_cell(o, c);
    } else if (needs_work(c->s, c->n, c->readable)) {
        o = put_cell_slow(o, c);
    } else {
        /* the usual cell: its bytes, after the guard (no escapes: the first byte is the first
         * character) */
        if (formula_start(c->s[0]))
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
    cell cells[NCOLS];
    /* the scan fills the cells it finds; put_cell reads no more of the others */
    for (int i = 0; i < NCOLS; i++)
        cells[i].set = 0;
    const unsigned char *text = (const unsigned char *)row->event;
    if (text == NULL || scan_object(text, text + row->len, cells, 0) != text + row->len) {
        fallbacks++;
        return audit_csv_row_tree(b, row);
    }
    char seq[24] = ""; /* zeroed: a block load reads past the digits */
    cells[COL_SEQ] = (cell){.s = (const unsigned char *)seq,
                            .n = format_seq(seq, (long long)row->seq),
                            .kind = CELL_TEXT,
                            .set = 1,
                            .readable = (const unsigned char *)seq + sizeof seq};
    cells[COL_PREV] = text_cell(row->prev_hash);
    cells[COL_HASH] = text_cell(row->hash);

    /* A cell grows at most to twice its text (doubled quotes) plus quotes, guard and separator;
     * the event's cells are disjoint parts of its text; block copies may run 32 bytes past. */
    size_t room =
        2 * (row->len + sizeof seq + cells[COL_PREV].n + cells[COL_HASH].n) + 4 * NCOLS + 2 + 32;
    if (fd_buf_reserve(b, room) != 0)
        return -1;
    char *o = b->data + b->len;
    for (int i = 0; i < NCOLS; i++)
        o = put_cell(o, &cells[i], i == NCOLS - 1);
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}
