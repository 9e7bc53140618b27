/*
 * csv_scan.h - the byte scans under the CSV export's row writer (audit_csv.c): where a JSON
 * string or a bracketed value ends, and a bracketed value's text with its quotes doubled, in one
 * pass. 32 bytes at a time with AVX2 where the CPU has it (checked at startup), a byte at a time
 * elsewhere; both give the same results for any bytes.
 *
 * Inside core only (audit_csv.c and the tests).
 */
#ifndef FD_CSV_SCAN_H
#define FD_CSV_SCAN_H

#include <stddef.h>

/* What csv_string_end saw inside a string (flags, or'ed in). */
#define CSV_ESCAPE 1u  /* a backslash */
#define CSV_SPECIAL 2u /* a comma, CR or LF (the cell must be quoted) */

/* A text being scanned: every byte from begin up to end may be read (and no other). */
typedef struct csv_text {
    const unsigned char *begin;
    const unsigned char *end;
} csv_text;

/*
 * The string whose opening quote is at p (inside t): returns just past its closing quote, or
 * NULL when the text ends first. A backslash takes the byte after it along (that is all the scan
 * knows of escapes). *flags gets CSV_ESCAPE and CSV_SPECIAL or'ed in for what the string holds
 * before its end (it is not cleared).
 */
const unsigned char *csv_string_end(const csv_text *t, const unsigned char *p, unsigned *flags);

/* csv_string_end for a string that becomes no cell (a key, the hashes): the same result, except
 * that CSV_SPECIAL may be left out (a little cheaper). */
const unsigned char *csv_string_skip(const csv_text *t, const unsigned char *p, unsigned *flags);

/*
 * The object or array whose opening bracket is at p (inside t): returns just past the bracket
 * that closes it, or NULL when the text ends first. Brackets inside strings do not count;
 * strings follow csv_string_end's rule. When o is not NULL, the value's text is written at *o
 * with every quote doubled and *o is advanced past it; up to 64 bytes past the new *o may be
 * written too (the caller reserves room: twice the value's length plus 64 is enough). On NULL
 * what was written is garbage.
 */
const unsigned char *csv_container_end(const csv_text *t, const unsigned char *p, char **o);

/* 1 when the n bytes at p hold a quote, a comma, CR, LF or a backslash, else 0. Reads only
 * those n bytes. */
int csv_has_special(const unsigned char *p, size_t n);

/* The n bytes at p at o with every quote doubled; returns the new end (exact: nothing is
 * written past it). */
char *csv_put_doubled(char *o, const unsigned char *p, size_t n);

/* Tests: which code the scans use: 0 a byte at a time, 1 AVX2 (the default where the CPU has it).
 * Returns the level in use afterwards (at most the CPU's).
 * Not for use while other threads scan. */
int csv_scan_level(int level);

#endif
