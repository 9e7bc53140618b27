/*
 * export.h - the `export` and `verify` sub-commands (main.c dispatches to them).
 *
 *   flightdeck export <mid> --format ndjson|csv|report|archive [--db PATH]
 *     reads the database directly (the server may be stopped) and writes to stdout;
 *     exit 0 written, 2 usage, 3 cannot (no database, no such migration, I/O error).
 *   flightdeck verify <archive.json>
 *     verifies an archive offline (core/archive.h); prints the report as JSON;
 *     exit 0 intact, 1 not intact, 2 usage, 3 cannot read the file.
 *
 * argv[0] is the sub-command's name; parsing starts at argv[1].
 */
#ifndef FD_EXPORT_H
#define FD_EXPORT_H

extern const char export_usage[];
extern const char verify_usage[];

int export_cmd_export(int argc, char **argv);
int export_cmd_verify(int argc, char **argv);

#endif
