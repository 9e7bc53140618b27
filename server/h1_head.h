/*
 * h1_head.h - the status line, Date, Connection and Content-Length of every HTTP/1 response,
 * written by hand instead of by glibc's printf (h2o 2.2.5 formats them with sprintf; see
 * h1_head.c for how its call lands here). Nothing to call per request: linking this file in
 * is what makes h2o's heads cheaper. Any thread.
 */
#ifndef FD_SERVER_H1_HEAD_H
#define FD_SERVER_H1_HEAD_H

/* Compare the hand-written heads with glibc's over a set of values. 0 when they agree; -1
 * (every head then goes to glibc again) when they do not. The server calls it once at start,
 * which is also what links this file into the program. */
int h1head_self_check(void);

/* Heads written by hand since the process started (tests). */
unsigned long h1head_fast_count(void);

#endif
