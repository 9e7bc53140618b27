/*
 * csv_scan.c - the byte scans of the CSV export (see csv_scan.h).
 *
 * Why this file: before/after are most of an audit event (~1 KB of a bench event's 1.3 KB, ~150
 * quotes), and the row writer used to go over them twice (once to find where the value ends,
 * once to copy it with its quotes doubled), 16 bytes at a time. Here one pass does both, 32
 * bytes at a time: each block's quotes, brackets and backslashes are found with a few AVX2
 * compares; a block without brackets or backslashes (most of them) only flips "inside a string"
 * when it holds an odd number of quotes, and is written out with its quotes doubled by four byte
 * shuffles. A block with brackets counts those outside strings (the running xor of the quote
 * bits says which bytes are inside); a block with a backslash goes a byte at a time.
 *
 * AVX2 is checked for at startup (x86-64 CPUs since 2013 have it, but not the baseline the
 * build targets); without it, and off x86, every scan goes a byte at a time, with the same
 * results. The unit tests run both (csv_scan_level). An AVX-512 VBMI2 byte expand (vpexpandb)
 * doubles a block's quotes in ~10 instructions instead of ~36, but was measured at 4 % of the
 * row (the scan's latency, not the shuffles, bounds it): not worth a third path.
 */
#include "csv_scan.h"

#include <stdint.h>
#include <string.h>

/* ---- a byte at a time (the portable path, and the awkward bytes of the fast one) ---------- */

/* Where the walk over a bracketed value is. */
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

/* The walk over the bytes from p up to stop, writing them at *o (when o is not NULL) with quotes
 * doubled. Returns just past the closing bracket (*closed = 1), or stop. */
static const unsigned char *walk_bytes(walk *w, const unsigned char *p, const unsigned char *stop,
                                       char **o, int *closed)
{
    char *out = o != NULL ? *o : NULL;
    *closed = 0;
    for (; p < stop; p++) {
        unsigned char c = *p;
        if (out != NULL) {
            *out++ = (char)c;
            if (c == '"')
                *out++ = '"';
        }
        if (walk_byte(w, c)) {
            *closed = 1;
            p++;
            break;
        }
    }
    if (o != NULL)
        *o = out;
    return p;
}

/* csv_string_end from inside the string (p just past the opening quote, or further in). */
static const unsigned char *string_rest_bytes(const unsigned char *p, const unsigned char *end,
                                              unsigned *flags)
{
    for (; p < end; p++) {
        unsigned char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            *flags |= CSV_ESCAPE;
            p++; /* the escaped byte goes along */
        } else if (c == ',' || c == '\r' || c == '\n') {
            *flags |= CSV_SPECIAL;
        }
    }
    return NULL;
}

static inline int special_byte(unsigned char c)
{
    return c == '"' || c == ',' || c == '\r' || c == '\n' || c == '\\';
}

static int has_special_bytes(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (special_byte(p[i]))
            return 1;
    return 0;
}

char *csv_put_doubled(char *o, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *o++ = (char)p[i];
        if (p[i] == '"')
            *o++ = '"';
    }
    return o;
}

/* ---- 32 bytes at a time (AVX2) --------------------------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2 1
#define AVX2 __attribute__((target("avx2,popcnt")))

static int use_avx2;  /* set at startup; tests may turn it off */
static int cpu_level; /* what the CPU has: 0, or 1 for AVX2 */

/*
 * Doubling the quotes of 8 bytes is one byte shuffle (pshufb) whose control comes from a table
 * indexed by the 8 bytes' quote bits: byte i is taken once, twice when it is a quote. No branch
 * depends on where the quotes are (a loop over them mispredicts about once a block).
 */
/* [quote bits of 8 bytes] -> pshufb control, and the bytes it gives (8 + the quotes) */
static unsigned char spread_control[256][16] __attribute__((aligned(16)));
static unsigned char spread_len[256];

/* The bytes the blocks are compared with, 32 of each: loaded (or used as memory operands) in one
 * instruction, where a _mm256_set1_epi8 outside a loop takes three. */
enum { K_QUOTE, K_BACKSLASH, K_COMMA, K_CR, K_LF, K_OPEN, K_CLOSE, K_CASE, K_COUNT };
static const char kbytes[K_COUNT] = {'"', '\\', ',', '\r', '\n', '{', '}', 0x20};
static unsigned char konst[K_COUNT][32] __attribute__((aligned(32)));

__attribute__((constructor)) static void csv_scan_init(void)
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
    for (int k = 0; k < K_COUNT; k++)
        memset(konst[k], kbytes[k], 32);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
        cpu_level = 1;
    csv_scan_level(1);
}

AVX2 static inline __m256i k256(int k)
{
    return _mm256_load_si256((const __m256i *)konst[k]);
}

/* The 8 bytes at the bottom of v, quote bits m (8 bits), at o with quotes doubled; returns o + 8
 * + the quotes. Writes 16 bytes. */
AVX2 static inline char *spread8(char *o, __m128i v, unsigned m)
{
    __m128i c = _mm_load_si128((const __m128i *)spread_control[m]);
    _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(v, c));
    return o + spread_len[m];
}

/* The 32 bytes v (quote bits q) at o with quotes doubled; returns o + 32 + the quotes. Writes up
 * to 8 bytes past that. */
AVX2 static inline char *spread32(char *o, __m256i v, uint32_t q)
{
    __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    o = spread8(o, lo, q & 0xff);
    o = spread8(o, _mm_srli_si128(lo, 8), (q >> 8) & 0xff);
    o = spread8(o, hi, (q >> 16) & 0xff);
    return spread8(o, _mm_srli_si128(hi, 8), q >> 24);
}

/* Bit i of the result is the xor of bits 0..i of m: for the mask of a block's quotes, the bytes
 * from an opening quote up to (not including) its closing one. */
static inline uint32_t prefix_xor(uint32_t m)
{
    m ^= m << 1;
    m ^= m << 2;
    m ^= m << 4;
    m ^= m << 8;
    m ^= m << 16;
    return m;
}

/* The walk's state lives in locals (registers) in the loop; walk_bytes gets a copy. */
AVX2 static const unsigned char *container_avx2(const csv_text *t, const unsigned char *p, char **o)
{
    const unsigned char *end = t->end;
    char *out = o != NULL ? *o : NULL;
    unsigned depth = 0;
    uint32_t in_string = 0; /* 0 or all ones */
    const __m256i quote = k256(K_QUOTE), backslash = k256(K_BACKSLASH), open_b = k256(K_OPEN),
                  close_b = k256(K_CLOSE), lower = k256(K_CASE);
    while (p < end) {
        if (end - p >= 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)p);
            /* '[' and ']' are '{' and '}' without bit 0x20; no other byte is */
            __m256i x = _mm256_or_si256(v, lower);
            __m256i open_v = _mm256_cmpeq_epi8(x, open_b), close_v = _mm256_cmpeq_epi8(x, close_b);
            __m256i bs_v = _mm256_cmpeq_epi8(v, backslash);
            uint32_t q = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote));
            __m256i other = _mm256_or_si256(_mm256_or_si256(open_v, close_v), bs_v);
            if (_mm256_testz_si256(other, other)) {
                in_string ^= 0u - (uint32_t)__builtin_parity(q);
                if (out != NULL)
                    out = spread32(out, v, q);
                p += 32;
                continue;
            }
            if (_mm256_testz_si256(bs_v, bs_v)) {
                uint32_t inside = prefix_xor(q) ^ in_string;
                in_string = 0u - (inside >> 31);
                uint32_t open = (uint32_t)_mm256_movemask_epi8(open_v) & ~inside;
                uint32_t close = (uint32_t)_mm256_movemask_epi8(close_v) & ~inside;
                for (uint32_t m = open | close; m != 0; m &= m - 1) {
                    unsigned i = (unsigned)__builtin_ctz(m);
                    if (open & (1u << i)) {
                        depth++;
                    } else if (--depth == 0) {
                        /* the block up to and with the bracket: the bytes past it are written
                         * undoubled past the result, to be overwritten */
                        if (out != NULL) {
                            uint32_t keep = i == 31 ? 0xffffffffu : (2u << i) - 1;
                            out = spread32(out, v, q & keep);
                            *o = out - (31 - i);
                        }
                        return p + i + 1;
                    }
                }
                if (out != NULL)
                    out = spread32(out, v, q);
                p += 32;
                continue;
            }
        }
        /* a backslash or the text's last bytes: a block's worth a byte at a time (and on while
         * an escape runs over the block's end) */
        walk w = {depth, in_string != 0, 0};
        const unsigned char *stop = end - p < 32 ? end : p + 32;
        int closed;
        p = walk_bytes(&w, p, stop, out != NULL ? &out : NULL, &closed);
        while (!closed && w.escaped && p < end)
            p = walk_bytes(&w, p, p + 1, out != NULL ? &out : NULL, &closed);
        if (closed) {
            if (o != NULL)
                *o = out;
            return p;
        }
        depth = w.depth;
        in_string = w.in_string ? 0xffffffffu : 0;
    }
    return NULL;
}

/* Just past the closing quote of a string, from p inside it (or NULL): csv_string_end's scan.
 * Most strings end in their first block. Near the text's end the block is the text's last 32
 * bytes, its masks shifted so that bit 0 is p (no byte past the end is read). The comma and
 * line-break masks are made only when `flags` wants them (values, not keys). */
AVX2 static inline const unsigned char *string_rest_avx2(const csv_text *t, const unsigned char *p,
                                                         unsigned *flags, int want_special)
{
    const unsigned char *end = t->end;
    for (;;) {
        ptrdiff_t left = end - p;
        const unsigned char *at = p;
        unsigned shift = 0;
        if (left <= 0)
            return NULL;
        if (left < 32) {
            if (end - t->begin < 32)
                return string_rest_bytes(p, end, flags);
            at = end - 32;
            shift = (unsigned)(32 - left);
        }
        __m256i v = _mm256_loadu_si256((const __m256i *)at);
        uint32_t stop =
            (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
                _mm256_cmpeq_epi8(v, k256(K_QUOTE)), _mm256_cmpeq_epi8(v, k256(K_BACKSLASH)))) >>
            shift;
        uint32_t special = 0;
        if (want_special)
            special = (uint32_t)_mm256_movemask_epi8(
                          _mm256_or_si256(_mm256_cmpeq_epi8(v, k256(K_COMMA)),
                                          _mm256_or_si256(_mm256_cmpeq_epi8(v, k256(K_CR)),
                                                          _mm256_cmpeq_epi8(v, k256(K_LF))))) >>
                      shift;
        if (stop == 0) {
            if (special != 0)
                *flags |= CSV_SPECIAL;
            if (left <= 32)
                return NULL;
            p += 32;
            continue;
        }
        unsigned i = (unsigned)__builtin_ctz(stop);
        if (special & ((1u << i) - 1))
            *flags |= CSV_SPECIAL;
        p += i;
        if (*p == '"')
            return p + 1;
        *flags |= CSV_ESCAPE;
        p += 2; /* the escaped byte goes along */
    }
}

AVX2 static const unsigned char *string_end_avx2(const csv_text *t, const unsigned char *p,
                                                 unsigned *flags)
{
    return string_rest_avx2(t, p + 1, flags, 1);
}

AVX2 static const unsigned char *skip_string_avx2(const csv_text *t, const unsigned char *p,
                                                  unsigned *flags)
{
    return string_rest_avx2(t, p + 1, flags, 0);
}

AVX2 static int has_special_avx2(const unsigned char *p, size_t n)
{
    if (n < 32)
        return has_special_bytes(p, n);
    const unsigned char *end = p + n;
    for (;;) {
        if (end - p < 32)
            p = end - 32; /* the last block overlaps the one before */
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        __m256i m =
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, k256(K_QUOTE)),
                                            _mm256_cmpeq_epi8(v, k256(K_COMMA))),
                            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, k256(K_CR)),
                                                            _mm256_cmpeq_epi8(v, k256(K_LF))),
                                            _mm256_cmpeq_epi8(v, k256(K_BACKSLASH))));
        if (!_mm256_testz_si256(m, m))
            return 1;
        p += 32;
        if (p >= end)
            return 0;
    }
}
#endif

/* ---- the entry points ------------------------------------------------------------------------ */

const unsigned char *csv_string_end(const csv_text *t, const unsigned char *p, unsigned *flags)
{
#ifdef HAVE_AVX2
    if (use_avx2)
        return string_end_avx2(t, p, flags);
#endif
    return string_rest_bytes(p + 1, t->end, flags);
}

const unsigned char *csv_string_skip(const csv_text *t, const unsigned char *p, unsigned *flags)
{
#ifdef HAVE_AVX2
    if (use_avx2)
        return skip_string_avx2(t, p, flags);
#endif
    return string_rest_bytes(p + 1, t->end, flags);
}

const unsigned char *csv_container_end(const csv_text *t, const unsigned char *p, char **o)
{
#ifdef HAVE_AVX2
    if (use_avx2)
        return container_avx2(t, p, o);
#endif
    walk w = {0, 0, 0};
    int closed;
    p = walk_bytes(&w, p, t->end, o, &closed);
    return closed ? p : NULL;
}

int csv_has_special(const unsigned char *p, size_t n)
{
#ifdef HAVE_AVX2
    if (use_avx2)
        return has_special_avx2(p, n);
#endif
    return has_special_bytes(p, n);
}

int csv_scan_level(int level)
{
#ifdef HAVE_AVX2
    if (level > cpu_level)
        level = cpu_level;
    use_avx2 = level >= 1;
    return level;
#else
    (void)level;
    return 0;
#endif
}
