/*
 * export.c - the record after landing, from the command line (see export.h):
 *   flightdeck export <mid> --format ndjson|csv|report|archive [--db PATH]
 *   flightdeck verify <archive.json>
 */
#include "server/export.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/archive.h"
#include "core/audit.h"
#include "core/report.h"
#include "core/store.h"
#include "server/config.h"

#define CHUNK (64 * 1024)
#define EXIT_USAGE 2
#define EXIT_CANNOT 3

const char export_usage[] =
    "usage: flightdeck export <migration> --format ndjson|csv|report|archive [--db PATH]\n"
    "\n"
    "Writes the record of one migration to stdout, reading the database directly (--db,\n"
    "FLIGHTDECK_DB, default ./flightdeck.db), so it works after the server has stopped:\n"
    "  ndjson   every audit event, one JSON object per line\n"
    "  csv      every audit event, RFC 4180\n"
    "  report   the flight report, a self-contained printable HTML page\n"
    "  archive  the archive document (plan + every audit event), for `flightdeck verify`\n"
    "exit status: 0 written, 2 usage, 3 cannot (no database, no such migration, I/O error)\n";

const char verify_usage[] =
    "usage: flightdeck verify <archive.json>\n"
    "\n"
    "Verifies an archive offline, with no database: its format, that every event belongs to the\n"
    "archived migration, the hash chain of the events, and that the chain ends where the\n"
    "archive's own verification record says. Prints the report as JSON.\n"
    "exit status: 0 intact, 1 not intact, 2 usage, 3 cannot read the file\n";

/* "--name value" or "--name=value": the value (advancing *i), or NULL. */
static const char *flag(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int write_all(const char *data, size_t len)
{
    return len == 0 || fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

static fd_err export_audit(fd_store *st, const char *mid, fd_audit_format format)
{
    audit_cursor cur;
    fd_buf buf = {0};
    fd_err e = audit_cursor_open(st, mid, 0, format, &cur);
    for (int done = 0; e == FD_OK && !done;) {
        fd_buf_reset(&buf);
        e = audit_export_chunk(st, &cur, &buf, CHUNK, &done);
        if (e == FD_OK && write_all(buf.data, buf.len) != 0)
            e = FD_E_INTERNAL;
    }
    fd_buf_free(&buf);
    return e;
}

static fd_err export_archive(fd_store *st, const char *mid)
{
    archive_cursor cur;
    fd_buf buf = {0};
    fd_err e = archive_open(st, mid, &cur);
    for (int done = 0; e == FD_OK && !done;) {
        fd_buf_reset(&buf);
        e = archive_chunk(st, &cur, &buf, CHUNK, &done);
        if (e == FD_OK && write_all(buf.data, buf.len) != 0)
            e = FD_E_INTERNAL;
    }
    fd_buf_free(&buf);
    return e;
}

static fd_err export_report(fd_store *st, const char *mid)
{
    fd_buf page = {0};
    fd_err e = report_html(st, mid, &page);
    if (e == FD_OK && write_all(page.data, page.len) != 0)
        e = FD_E_INTERNAL;
    fd_buf_free(&page);
    return e;
}

int export_cmd_export(int argc, char **argv)
{
    char db[CONFIG_PATH_MAX] = "./flightdeck.db";
    const char *mid = NULL, *format = NULL;
    const char *envdb = getenv("FLIGHTDECK_DB");
    if (envdb != NULL && *envdb != '\0')
        snprintf(db, sizeof db, "%s", envdb);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(export_usage, stdout);
            return 0;
        } else if ((v = flag(argc, argv, &i, "--db")) != NULL) {
            snprintf(db, sizeof db, "%s", v);
        } else if ((v = flag(argc, argv, &i, "--format")) != NULL) {
            format = v;
        } else if (argv[i][0] != '-' && mid == NULL) {
            mid = argv[i];
        } else {
            fputs(export_usage, stderr);
            return EXIT_USAGE;
        }
    }
    static const char *const formats[] = {"ndjson", "csv", "report", "archive", NULL};
    int which = -1;
    for (int i = 0; format != NULL && formats[i] != NULL; i++)
        if (strcmp(format, formats[i]) == 0)
            which = i;
    if (mid == NULL || which < 0) {
        fputs(export_usage, stderr);
        return EXIT_USAGE;
    }
    struct stat sb;
    if (stat(db, &sb) != 0) {
        fprintf(stderr, "flightdeck export: no database at %s (use --db or FLIGHTDECK_DB)\n", db);
        return EXIT_CANNOT;
    }
    fd_store *st = NULL;
    fd_problem p = {0};
    int rc = EXIT_CANNOT;
    if (store_open(db, &st, &p) != FD_OK) {
        fprintf(stderr, "flightdeck export: cannot open %s: %s\n", db, p.detail);
        goto done;
    }
    fd_err e;
    if (which == 0)
        e = export_audit(st, mid, FD_AUDIT_NDJSON);
    else if (which == 1)
        e = export_audit(st, mid, FD_AUDIT_CSV);
    else if (which == 2)
        e = export_report(st, mid);
    else
        e = export_archive(st, mid);
    if (fflush(stdout) != 0)
        e = FD_E_INTERNAL;
    if (e == FD_E_NOT_FOUND)
        fprintf(stderr, "flightdeck export: there is no migration %s in %s\n", mid, db);
    else if (e != FD_OK)
        fprintf(stderr, "flightdeck export: failed (%s)\n", fd_err_name(e));
    else
        rc = 0;
done:
    fd_problem_clear(&p);
    store_close(st);
    return rc;
}

int export_cmd_verify(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(verify_usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(verify_usage, stderr);
        return EXIT_USAGE;
    }
    json_error_t err;
    json_t *doc = json_load_file(argv[1], 0, &err), *report = NULL;
    if (doc == NULL) {
        fprintf(stderr, "flightdeck verify: cannot read %s: %s (line %d)\n", argv[1], err.text,
                err.line);
        return EXIT_CANNOT;
    }
    int rc = 1;
    fd_err e = archive_verify(doc, &report);
    if (e == FD_E_BAD_REQUEST) {
        fprintf(stderr, "flightdeck verify: %s is not a flightdeck archive (no \"events\")\n",
                argv[1]);
    } else if (e != FD_OK) {
        fprintf(stderr, "flightdeck verify: cannot verify %s\n", argv[1]);
        rc = EXIT_CANNOT;
    } else {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        rc = json_is_true(json_object_get(report, "ok")) ? 0 : 1;
    }
    json_decref(report);
    json_decref(doc);
    return rc;
}
