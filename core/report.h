/*
 * report.h - the flight report: one self-contained, printable HTML page about one migration, for
 * whoever reviews it afterwards.
 *
 * Sections: the plan (owner, teams, window, dashboards); each stage with planned versus actual
 * times; every step with its status, who changed it last and when, and its note; the skips with
 * their reasons; sign-offs, briefings, gate overrides and go-arounds (from the flight recorder,
 * so whatever of those features exists shows up); the recorder's timeline; and the result of
 * verifying the audit chain. Every piece of user text is HTML-escaped; the page has no scripts
 * and loads nothing (inline CSS, print styles).
 */
#ifndef FD_REPORT_H
#define FD_REPORT_H

#include "buf.h"
#include "store.h"

/*
 * Append the report of `mid` to `out`. Memory: the page is built in one buffer and the
 * migration's events are held parsed while it is written, so it grows with the size of the
 * migration (a report is a document for people: thousands of events, not millions).
 * FD_E_NOT_FOUND for an unknown migration, FD_E_INTERNAL when the database or memory fails.
 */
fd_err report_html(fd_store *st, const char *mid, fd_buf *out);

/* Append `s` to `b` with & < > " ' escaped for HTML text and attributes. 0 or -1. */
int report_escape(fd_buf *b, const char *s);

#endif
