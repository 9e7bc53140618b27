/* report.c - the flight report, one self-contained printable HTML page (see report.h).
 *
 * The page is assembled from the migration document (plan, stages, steps) and the flight
 * recorder (sign-offs, briefings, overrides, go-arounds, the timeline): reading those from the
 * audit events rather than from each feature's tables means the report shows whatever happened,
 * whichever features were in use. Each section is its own function. */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "flight.h"
#include "timefmt.h"

#define EVENTS_MAX 1000000 /* read the whole recorder of one migration */

int report_escape(fd_buf *b, const char *s)
{
    int r = 0;
    if (s == NULL)
        return 0;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&':
            r |= fd_buf_puts(b, "&amp;");
            break;
        case '<':
            r |= fd_buf_puts(b, "&lt;");
            break;
        case '>':
            r |= fd_buf_puts(b, "&gt;");
            break;
        case '"':
            r |= fd_buf_puts(b, "&quot;");
            break;
        case '\'':
            r |= fd_buf_puts(b, "&#39;");
            break;
        default:
            r |= fd_buf_append(b, p, 1);
            break;
        }
    }
    return r;
}

/* <tag>escaped text</tag>; a NULL or empty text shows as a dash. */
static int cell(fd_buf *b, const char *text)
{
    int r = fd_buf_puts(b, "<td>");
    r |= text && *text ? report_escape(b, text) : fd_buf_puts(b, "&ndash;");
    return r | fd_buf_puts(b, "</td>");
}

static const char CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#111;margin:2em auto;"
    "max-width:1100px;padding:0 1em}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:2px solid #333;"
    "margin-top:1.8em}h3{font-size:1.05em;margin-bottom:.3em}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}"
    "th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee}.muted{color:#555}.ok{color:#075e00;font-weight:bold}"
    ".bad{color:#a00000;font-weight:bold}.status-done{color:#075e00}"
    ".status-skipped{color:#8a5a00}.status-failed{color:#a00000}"
    "code{font-size:.9em;word-break:break-all}"
    "@media print{body{margin:0;max-width:none;font-size:11px}h2{page-break-after:avoid}"
    "tr{page-break-inside:avoid}a{color:inherit;text-decoration:none}}";

/* ---- sections from the migration document ---- */

static int section_plan(fd_buf *b, const json_t *m)
{
    int r = fd_buf_puts(b, "<h1>");
    r |= report_escape(b, check_str(m, "title", ""));
    r |= fd_buf_puts(b, "</h1>\n<p class=\"muted\">Flight report of <code>");
    r |= report_escape(b, check_str(m, "id", ""));
    r |= fd_buf_puts(b, "</code></p>\n<h2>Plan</h2>\n<table>\n");
    const char *desc = check_str(m, "description", NULL);
    json_t *w = json_object_get(m, "window");
    struct {
        const char *label, *value;
    } rows[] = {
        {"Status", check_str(m, "status", "")},
        {"Owner team", check_str(m, "owner_team", "")},
        {"Description", desc},
        {"Planned window start", check_str(w, "start", NULL)},
        {"Planned window end", check_str(w, "end", NULL)},
        {"Created", check_str(m, "created_at", NULL)},
        {"Started", check_str(m, "started_at", NULL)},
        {"Closed", check_str(m, "closed_at", NULL)},
        {"Abort reason", check_str(m, "abort_reason", NULL)},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        r |= fd_buf_printf(b, "<tr><th>%s</th>", rows[i].label);
        r |= cell(b, rows[i].value);
        r |= fd_buf_puts(b, "</tr>\n");
    }
    r |= fd_buf_puts(b, "<tr><th>Affected teams</th><td>");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "teams"), i, v)
    {
        r |= i ? fd_buf_puts(b, ", ") : 0;
        r |= report_escape(b, json_string_value(v));
    }
    r |= fd_buf_puts(b, "</td></tr>\n<tr><th>Dashboards</th><td>");
    json_array_foreach(json_object_get(m, "dashboards"), i, v)
    {
        r |= i ? fd_buf_puts(b, "<br>") : 0;
        r |= report_escape(b, check_str(v, "title", ""));
        r |= fd_buf_puts(b, ": <code>");
        r |= report_escape(b, check_str(v, "url", ""));
        r |= fd_buf_puts(b, "</code>");
    }
    return r | fd_buf_puts(b, "</td></tr>\n</table>\n");
}

/* Minutes planned for a stage: its own expected_minutes when set, else the sum of its steps'. */
static long long planned_minutes(const json_t *stage, int *known)
{
    json_t *own = json_object_get(stage, "expected_minutes");
    if (json_is_integer(own)) {
        *known = 1;
        return json_integer_value(own);
    }
    long long sum = 0;
    *known = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(stage, "steps"), i, s)
    {
        json_t *m = json_object_get(s, "expected_minutes");
        if (json_is_integer(m)) {
            sum += json_integer_value(m);
            *known = 1;
        }
    }
    return sum;
}

static int section_stages(fd_buf *b, const json_t *m)
{
    int r = fd_buf_puts(b, "<h2>Stages: planned versus actual</h2>\n<table>\n<tr><th>Stage</th>"
                           "<th>Status</th><th>Planned</th><th>Started</th><th>Completed</th>"
                           "<th>Actual</th><th>Steps</th></tr>\n");
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        int known = 0;
        long long planned = planned_minutes(g, &known);
        const char *started = check_str(g, "started_at", NULL);
        const char *completed = check_str(g, "completed_at", NULL);
        char plan_text[32] = "", actual[48] = "";
        if (known)
            snprintf(plan_text, sizeof plan_text, "%lld min", planned);
        int64_t t0, t1;
        if (started && completed && fd_time_parse(started, &t0) == 0 &&
            fd_time_parse(completed, &t1) == 0)
            snprintf(actual, sizeof actual, "%.1f min", (double)(t1 - t0) / 60000.0);
        else if (started)
            snprintf(actual, sizeof actual, "not completed");
        json_t *pr = json_object_get(g, "progress");
        char steps[96];
        snprintf(steps, sizeof steps, "%lld done, %lld skipped, %lld failed of %lld",
                 (long long)json_integer_value(json_object_get(pr, "done")),
                 (long long)json_integer_value(json_object_get(pr, "skipped")),
                 (long long)json_integer_value(json_object_get(pr, "failed")),
                 (long long)json_integer_value(json_object_get(pr, "total")));
        r |= fd_buf_puts(b, "<tr>");
        r |= cell(b, check_str(g, "title", ""));
        r |= cell(b, check_str(g, "status", ""));
        r |= cell(b, plan_text);
        r |= cell(b, started);
        r |= cell(b, completed);
        r |= cell(b, actual);
        r |= cell(b, steps);
        r |= fd_buf_puts(b, "</tr>\n");
    }
    return r | fd_buf_puts(b, "</table>\n");
}

static int section_steps(fd_buf *b, const json_t *m)
{
    int r = fd_buf_puts(b, "<h2>Steps</h2>\n");
    size_t i, j;
    json_t *g, *s;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        r |= fd_buf_puts(b, "<h3>");
        r |= report_escape(b, check_str(g, "title", ""));
        r |= fd_buf_puts(b, "</h3>\n<table>\n<tr><th>#</th><th>Step</th><th>Owner</th>"
                            "<th>Status</th><th>By</th><th>At</th><th>Note</th></tr>\n");
        json_array_foreach(json_object_get(g, "steps"), j, s)
        {
            const char *status = check_str(s, "status", "");
            char id[32];
            snprintf(id, sizeof id, "#%lld",
                     (long long)json_integer_value(json_object_get(s, "id")));
            r |= fd_buf_puts(b, "<tr>");
            r |= cell(b, id);
            r |= fd_buf_puts(b, "<td>");
            r |= report_escape(b, check_str(s, "title", ""));
            if (json_is_true(json_object_get(s, "critical")))
                r |= fd_buf_puts(b, " <strong>(critical)</strong>");
            r |= fd_buf_puts(b, "</td>");
            r |= cell(b, check_str(s, "owner_team", NULL));
            r |= fd_buf_puts(b, "<td class=\"status-");
            r |= report_escape(b, status);
            r |= fd_buf_puts(b, "\">");
            r |= report_escape(b, status);
            r |= fd_buf_puts(b, "</td>");
            json_t *by = json_object_get(s, "by"), *cb = json_object_get(s, "confirmed_by");
            r |= fd_buf_puts(b, "<td>");
            r |= json_is_object(by) ? report_escape(b, check_str(by, "name", ""))
                                    : fd_buf_puts(b, "&ndash;");
            if (json_is_object(cb)) {
                r |= fd_buf_puts(b, "<br>confirmed by ");
                r |= report_escape(b, check_str(cb, "name", ""));
            }
            r |= fd_buf_puts(b, "</td>");
            r |= cell(b, check_str(s, "at", NULL));
            r |= cell(b, check_str(s, "note", NULL));
            r |= fd_buf_puts(b, "</tr>\n");
        }
        r |= fd_buf_puts(b, "</table>\n");
    }
    return r;
}

static int section_skips(fd_buf *b, const json_t *m)
{
    int r = fd_buf_puts(b, "<h2>Skipped steps</h2>\n");
    int n = 0;
    size_t i, j;
    json_t *g, *s;
    json_array_foreach(json_object_get(m, "stages"), i, g)
    {
        json_array_foreach(json_object_get(g, "steps"), j, s)
        {
            if (strcmp(check_str(s, "status", ""), "skipped") != 0)
                continue;
            if (n++ == 0)
                r |= fd_buf_puts(b, "<table>\n<tr><th>#</th><th>Step</th><th>Skipped by</th>"
                                    "<th>At</th><th>Reason</th></tr>\n");
            char id[32];
            snprintf(id, sizeof id, "#%lld",
                     (long long)json_integer_value(json_object_get(s, "id")));
            r |= fd_buf_puts(b, "<tr>");
            r |= cell(b, id);
            r |= cell(b, check_str(s, "title", ""));
            r |= cell(b, check_str(json_object_get(s, "by"), "name", NULL));
            r |= cell(b, check_str(s, "at", NULL));
            r |= cell(b, check_str(s, "note", NULL));
            r |= fd_buf_puts(b, "</tr>\n");
        }
    }
    return r | fd_buf_puts(b, n ? "</table>\n" : "<p class=\"muted\">No step was skipped.</p>\n");
}

/* ---- sections from the flight recorder ---- */

typedef struct events_read {
    json_t *all; /* every event of the migration, parsed */
    int failed;
} events_read;

static void collect(void *arg, int64_t seq, const char *migration, const char *action,
                    const char *json, size_t len)
{
    events_read *x = arg;
    (void)seq;
    (void)migration;
    (void)action;
    json_t *ev = json_loadb(json, len, 0, NULL);
    if (ev == NULL || json_array_append_new(x->all, ev) != 0)
        x->failed = 1;
}

/* One line of what an event changed: the interesting members of "after" (or "before"). */
static int event_summary(fd_buf *b, const json_t *ev)
{
    static const char *const keys[] = {
        "team",       "decision", "title", "comment", "text", "reason", "override_reason",
        "resolution", "kind",     "stage", NULL};
    json_t *obj = json_object_get(ev, "after");
    if (!json_is_object(obj))
        obj = json_object_get(ev, "before");
    int r = 0, n = 0;
    for (int i = 0; keys[i] != NULL; i++) {
        json_t *v = json_object_get(obj, keys[i]);
        if (!json_is_string(v) || json_string_length(v) == 0)
            continue;
        r |= fd_buf_printf(b, "%s%s: ", n++ ? "; " : "", keys[i]);
        r |= report_escape(b, json_string_value(v));
    }
    const char *note = check_str(ev, "note", NULL);
    if (note != NULL) {
        r |= fd_buf_printf(b, "%snote: ", n++ ? "; " : "");
        r |= report_escape(b, note);
    }
    return r;
}

static int event_row(fd_buf *b, const json_t *ev)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(ev, "seq")));
    json_t *actor = json_object_get(ev, "actor");
    int r = fd_buf_puts(b, "<tr>");
    r |= cell(b, seq);
    r |= cell(b, check_str(ev, "at", ""));
    r |= fd_buf_puts(b, "<td>");
    r |= report_escape(b, check_str(actor, "name", ""));
    r |= fd_buf_puts(b, " <span class=\"muted\">(");
    r |= report_escape(b, check_str(actor, "role", ""));
    r |= fd_buf_puts(b, ", ");
    r |= report_escape(b, check_str(ev, "source", ""));
    r |= fd_buf_puts(b, ")</span></td>");
    r |= cell(b, check_str(ev, "action", ""));
    r |= cell(b, check_str(ev, "target", NULL));
    r |= fd_buf_puts(b, "<td>");
    r |= event_summary(b, ev);
    return r | fd_buf_puts(b, "</td></tr>\n");
}

static int has_prefix(const char *s, const char *const *prefixes)
{
    for (int i = 0; prefixes[i] != NULL; i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0 || strstr(s, prefixes[i]) != NULL)
            return 1;
    return 0;
}

/* A table of the events whose action starts with (or contains) one of `prefixes`. */
static int section_events(fd_buf *b, const json_t *events, const char *title,
                          const char *const *prefixes, const char *none)
{
    int r = fd_buf_printf(b, "<h2>%s</h2>\n", title), n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (prefixes != NULL && !has_prefix(check_str(ev, "action", ""), prefixes))
            continue;
        if (n++ == 0)
            r |= fd_buf_puts(b, "<table>\n<tr><th>Seq</th><th>At</th><th>Who</th><th>Action</th>"
                                "<th>Target</th><th>Details</th></tr>\n");
        r |= event_row(b, ev);
    }
    if (n == 0)
        return r | fd_buf_printf(b, "<p class=\"muted\">%s</p>\n", none);
    return r | fd_buf_puts(b, "</table>\n");
}

static int section_verification(fd_buf *b, const json_t *v)
{
    int ok = json_is_true(json_object_get(v, "ok"));
    int r = fd_buf_puts(b, "<h2>Flight recorder verification</h2>\n<p class=\"");
    r |= fd_buf_printf(b, "%s\">%s</p>\n<table>\n", ok ? "ok" : "bad",
                       ok ? "The audit chain is intact: every hash recomputes and links."
                          : "The audit chain is BROKEN.");
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(v, "events")));
    r |= fd_buf_puts(b, "<tr><th>Events</th>");
    r |= cell(b, n);
    r |= fd_buf_puts(b, "</tr>\n<tr><th>Last hash</th><td><code>");
    r |= report_escape(b, check_str(v, "last_hash", ""));
    r |= fd_buf_puts(b, "</code></td></tr>\n");
    json_t *br = json_object_get(v, "broken");
    if (json_is_object(br)) {
        r |= fd_buf_printf(b, "<tr><th>First broken link</th><td>seq %lld: ",
                           (long long)json_integer_value(json_object_get(br, "seq")));
        r |= report_escape(b, check_str(br, "reason", ""));
        r |= fd_buf_puts(b, "</td></tr>\n");
    }
    return r | fd_buf_puts(b, "</table>\n");
}

fd_err report_html(fd_store *st, const char *mid, fd_buf *out)
{
    static const fd_actor reader = {.sub = "report", .name = "report", .role = FD_ROLE_VIEWER};
    static const char *const signoffs[] = {"signoff.", "gate.", NULL};
    static const char *const briefings[] = {"briefing.", "feedback.", NULL};
    static const char *const go_arounds[] = {"go_around", "rollback", "landing.reopen",
                                             "migration.abort", NULL};
    fd_ctx ctx;
    json_t *m = NULL, *verify = NULL;
    events_read x = {.all = json_array()};
    int count = 0, r = 0;
    fd_ctx_init(&ctx, &reader, NULL);

    fd_err e = flight_get(st, &ctx, mid, &m);
    fd_problem_clear(&ctx.problem);
    if (e == FD_OK)
        e = audit_each_after(st, mid, 0, EVENTS_MAX, collect, &x, &count);
    if (e == FD_OK && x.failed)
        e = FD_E_INTERNAL;
    if (e == FD_OK)
        e = audit_verify(st, mid, &verify);
    if (e != FD_OK)
        goto done;

    r |= fd_buf_puts(out,
                     "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>Flight report: ");
    r |= report_escape(out, check_str(m, "title", mid));
    r |= fd_buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", CSS);
    r |= section_plan(out, m);
    r |= section_stages(out, m);
    r |= section_steps(out, m);
    r |= section_skips(out, m);
    r |= section_events(out, x.all, "Sign-offs and gates", signoffs, "No sign-off was recorded.");
    r |= section_events(out, x.all, "Briefings", briefings, "No briefing was recorded.");
    r |=
        section_events(out, x.all, "Go-arounds and aborts", go_arounds, "No go-around was called.");
    r |= section_events(out, x.all, "Flight recorder timeline", NULL, "The recorder is empty.");
    r |= section_verification(out, verify);
    r |= fd_buf_puts(out, "</body>\n</html>\n");
    if (r != 0)
        e = FD_E_INTERNAL;
done:
    json_decref(m);
    json_decref(verify);
    json_decref(x.all);
    return e;
}
