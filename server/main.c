/*
 * main.c - the flightdeck binary and its sub-commands:
 *   flightdeck serve | token | audit verify | version
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/audit.h"
#include "core/plan_lint.h"
#include "core/store.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/demo.h"
#include "server/export.h"
#include "server/http.h"
#include "server/log.h"
#include "server/outbound.h"
#include "server/slack.h"

#ifndef FD_VERSION
#define FD_VERSION "dev"
#endif

#define EXIT_USAGE 2

static const char usage_top[] =
    "flightdeck - coordinate migrations that several teams carry out together\n"
    "\n"
    "usage: flightdeck <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve          run the server (REST API, live events, web UI)\n"
    "  token          mint a JWT with the configured HS256 secret\n"
    "  audit verify   verify a migration's audit chain, offline, from the database\n"
    "  backup         copy the database while the server runs, and verify the copy\n"
    "  export         write a migration's record (ndjson, csv, report, archive) from the database\n"
    "  verify         verify an archive file offline, with no database\n"
    "  plan lint      check a plan file offline (every error with its JSON path)\n"
    "  version        print the version\n"
    "\n"
    "'flightdeck <command> --help' describes each command.\n";

static const char usage_serve[] =
    "usage: flightdeck serve [--listen HOST:PORT] [--db PATH] [--web DIR] [--demo DIR] [--dev]\n"
    "                        [--cookie-secure]\n"
    "\n"
    "  --listen HOST:PORT  address to listen on (FLIGHTDECK_LISTEN; default 127.0.0.1:8080;\n"
    "                      port 0 picks a free port; [::1]:PORT for IPv6)\n"
    "  --db PATH           SQLite database (FLIGHTDECK_DB; default ./flightdeck.db)\n"
    "  --web DIR           static files of the web UI (FLIGHTDECK_WEB; default ./web)\n"
    "  --demo DIR          on first start (no migrations yet) load DIR/teams.json and every\n"
    "                      other DIR/*.json as a migration plan\n"
    "  --dev               development: without a configured key, generate a secret once and\n"
    "                      keep it in <db>.dev-secret; print demo users and their tokens;\n"
    "                      serve GET /api/dev/users\n"
    "  --cookie-secure     mark the session cookie Secure (behind HTTPS; also\n"
    "                      FLIGHTDECK_COOKIE_SECURE=1)\n"
    "\n"
    "keys (environment): FLIGHTDECK_JWT_SECRET or FLIGHTDECK_JWT_SECRET_FILE (HS256, at least\n"
    "32 bytes), FLIGHTDECK_JWT_PUBLIC_KEY (PEM file; RSA -> RS256, EC P-256 -> ES256),\n"
    "FLIGHTDECK_JWT_ISSUER, FLIGHTDECK_JWT_AUDIENCE. FLIGHTDECK_ACCESS_LOG=0 silences the\n"
    "access log. When ready, prints one line on stdout: flightdeck: listening on "
    "http://HOST:PORT\n"
    "\n"
    "chatops and webhooks (environment): FLIGHTDECK_SLACK_SIGNING_SECRET or _FILE (the Slack\n"
    "app's signing secret; without it POST /api/chatops/slack answers 503), FLIGHTDECK_PUBLIC_URL\n"
    "(the address in chat hints), FLIGHTDECK_WEBHOOK_BACKOFF_MS (first retry, default 1000),\n"
    "FLIGHTDECK_WEBHOOK_MAX_ATTEMPTS (default 12).\n"
    "\n"
    "cutover switches (environment): FLIGHTDECK_SECRET_<NAME> (the value of {{secret:NAME}} in a\n"
    "switch action's headers; never stored, never logged), FLIGHTDECK_FLAG_BACKOFF_MS (first\n"
    "retry of a flag call, default 500), FLIGHTDECK_FLAG_MAX_ATTEMPTS (default 3).\n"
    "\n"
    "go-around (environment): FLIGHTDECK_GITHUB_TOKEN or _FILE (reads and merges rollback PRs;\n"
    "never logged), FLIGHTDECK_GITHUB_API (default https://api.github.com; GitHub Enterprise:\n"
    "https://HOST/api/v3), FLIGHTDECK_GITHUB_TIMEOUT_SECONDS (each call, default 10),\n"
    "FLIGHTDECK_ROLLBACK_CHECK_SECONDS (re-check of armed rollbacks, default 60).\n"
    "\n"
    "limits and operations (environment): FLIGHTDECK_RATE_LIMIT (requests/s per caller, default\n"
    "200, 0 disables), FLIGHTDECK_RATE_BURST (default twice the rate),\n"
    "FLIGHTDECK_REQUEST_TIMEOUT_MS (reading one request, default 10000), FLIGHTDECK_METRICS_TOKEN\n"
    "(bearer token GET /metrics then requires), FLIGHTDECK_OVERDUE_CHECK_MS (how often overdue\n"
    "steps and stages are looked for, default 10000), FLIGHTDECK_GROUP_COMMIT (1 default: many\n"
    "requests share one durable commit; 0: one commit per request), FLIGHTDECK_GROUP_COMMIT_MAX\n"
    "(writers parked while a commit is in flight, default 1000).\n";

static const char usage_token[] =
    "usage: flightdeck token --sub SUB --role ROLE [--name NAME] [--teams a,b] [--ttl 8h]\n"
    "                        [--source api|bot|web] [--dev [--db PATH]]\n"
    "\n"
    "Prints a JWT signed with FLIGHTDECK_JWT_SECRET (or _FILE); with --dev, with the development\n"
    "secret kept beside the database (<db>.dev-secret).\n"
    "  --role   viewer | engineer | lead | admin\n"
    "  --teams  comma-separated team slugs\n"
    "  --ttl    lifetime: 90s, 15m, 8h, 2d (default 8h, at most 366d)\n";

static const char usage_audit[] =
    "usage: flightdeck audit verify <migration> [--db PATH]\n"
    "       flightdeck audit verify --global [--db PATH]\n"
    "\n"
    "Recomputes the hash chain of one migration's audit log (or of the events outside any\n"
    "migration) from the database and prints the report as JSON.\n"
    "exit status: 0 intact, 1 broken, 2 usage, 3 cannot verify (no database, no such migration)\n";

static const char usage_backup[] =
    "usage: flightdeck backup <file> [--db PATH]\n"
    "\n"
    "Copies the database (--db, FLIGHTDECK_DB, default ./flightdeck.db) into the new file <file>\n"
    "with SQLite's online backup while the server keeps serving: one consistent snapshot, taken\n"
    "a few pages at a time. Then opens the copy and verifies every audit chain in it.\n"
    "<file> must not exist.\n"
    "exit status: 0 copied and verified, 1 the copy does not verify (it is kept for inspection),\n"
    "2 usage, 3 cannot copy (no database, <file> exists, I/O error)\n";

/* ---- serve ------------------------------------------------------------------------------- */

typedef struct serve_ready {
    const fd_config *cfg;
    const auth_keys *keys;
} serve_ready;

static void on_ready(void *arg, const char *url)
{
    serve_ready *r = arg;
    if (r->cfg->dev && auth_keys_can_mint(r->keys))
        demo_print_signin(stderr, r->keys, (int64_t)time(NULL), url);
    /* The one line on stdout; integration tests wait for it. */
    printf("flightdeck: listening on %s\n", url);
    fflush(stdout);
}

static int cmd_serve(int argc, char **argv)
{
    fd_config cfg;
    auth_keys *keys = NULL;
    fd_store *st = NULL;
    fd_problem p = {0};
    char err[512];
    int rc = 1;

    config_defaults(&cfg);
    if (config_parse_serve(&cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck serve: %s\n", err);
        return EXIT_USAGE;
    }
    if (cfg.help) {
        fputs(usage_serve, stdout);
        return 0;
    }
    if (config_load_keys(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck serve: %s\n", err);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!config_has_key(&cfg)) {
        if (!cfg.dev) {
            fprintf(stderr,
                    "flightdeck serve: no JWT key configured. Set FLIGHTDECK_JWT_SECRET (or "
                    "FLIGHTDECK_JWT_SECRET_FILE, or FLIGHTDECK_JWT_PUBLIC_KEY), or run with --dev "
                    "for local development.\n");
            rc = EXIT_USAGE;
            goto done;
        }
        if (config_dev_secret(&cfg, err, sizeof err) != 0) {
            fprintf(stderr, "flightdeck serve: %s\n", err);
            goto done;
        }
        fprintf(stderr, "flightdeck: development secret %s %s.dev-secret\n",
                cfg.dev_secret_created ? "created in" : "read from", cfg.db_path);
    }
    if (auth_keys_new(cfg.jwt_secret, cfg.jwt_secret_len, cfg.jwt_public_pem,
                      cfg.jwt_public_pem_len, cfg.jwt_issuer, cfg.jwt_audience, &keys, err,
                      sizeof err) != 0) {
        fprintf(stderr, "flightdeck serve: %s\n", err);
        rc = EXIT_USAGE;
        goto done;
    }
    if (slack_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck serve: %s\n", err);
        rc = EXIT_USAGE;
        goto done;
    }
    const char *al = getenv("FLIGHTDECK_ACCESS_LOG");
    log_set_access(al == NULL || strcmp(al, "0") != 0);

    if (store_open(cfg.db_path, &st, &p) != FD_OK) {
        fprintf(stderr, "flightdeck serve: cannot open the database %s: %s\n", cfg.db_path,
                p.detail);
        goto done;
    }
    if (cfg.demo_dir[0] != '\0' && demo_load(st, cfg.demo_dir, stderr) != 0) {
        fprintf(stderr, "flightdeck serve: the demo data in %s was refused (see above)\n",
                cfg.demo_dir);
        goto done;
    }
    if (cfg.dev)
        demo_prepare_users(st);
    fprintf(stderr, "flightdeck %s: database %s, tokens %s\n", FD_VERSION, cfg.db_path,
            auth_keys_describe(keys));

    serve_ready ready = {&cfg, keys};
    if (outbound_global_init() != 0) { /* curl, before any thread starts */
        fprintf(stderr, "flightdeck serve: cannot initialise curl\n");
        goto done;
    }
    if (http_serve(&cfg, st, keys, on_ready, &ready) == 0) {
        fprintf(stderr, "flightdeck: stopped\n");
        rc = 0;
    }
    outbound_global_cleanup();
done:
    fd_problem_clear(&p);
    store_close(st);
    slack_shutdown();
    auth_keys_free(keys);
    config_free(&cfg);
    return rc;
}

/* ---- token ------------------------------------------------------------------------------- */

/* "--name value" or "--name=value": returns the value and advances *i, or NULL. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int parse_teams(const char *list, fd_actor *a)
{
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n > FD_SLUG_MAX || a->nteams == FD_MAX_TEAMS)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
                return -1;
        memcpy(a->teams[a->nteams], p, n);
        a->teams[a->nteams][n] = '\0';
        a->nteams++;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int cmd_token(int argc, char **argv)
{
    fd_config cfg;
    fd_actor a;
    auth_keys *keys = NULL;
    const char *sub = NULL, *name = NULL, *role = NULL, *teams = NULL, *ttl = "8h", *source = "api";
    int64_t ttl_s = 0;
    char err[512];
    char *token = NULL;
    int rc = EXIT_USAGE, dev = 0;

    config_defaults(&cfg);
    const char *envdb = getenv("FLIGHTDECK_DB");
    if (envdb != NULL && *envdb != '\0')
        snprintf(cfg.db_path, sizeof cfg.db_path, "%s", envdb);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_token, stdout);
            return 0;
        } else if (strcmp(argv[i], "--dev") == 0) {
            dev = 1;
        } else if ((v = flag_value(argc, argv, &i, "--sub")) != NULL) {
            sub = v;
        } else if ((v = flag_value(argc, argv, &i, "--name")) != NULL) {
            name = v;
        } else if ((v = flag_value(argc, argv, &i, "--role")) != NULL) {
            role = v;
        } else if ((v = flag_value(argc, argv, &i, "--teams")) != NULL) {
            teams = v;
        } else if ((v = flag_value(argc, argv, &i, "--ttl")) != NULL) {
            ttl = v;
        } else if ((v = flag_value(argc, argv, &i, "--source")) != NULL) {
            source = v;
        } else if ((v = flag_value(argc, argv, &i, "--db")) != NULL) {
            snprintf(cfg.db_path, sizeof cfg.db_path, "%s", v);
        } else {
            fprintf(stderr, "flightdeck token: unknown or incomplete flag '%s' (see --help)\n",
                    argv[i]);
            goto done;
        }
    }
    memset(&a, 0, sizeof a);
    if (sub == NULL || role == NULL) {
        fprintf(stderr, "flightdeck token: --sub and --role are required (see --help)\n");
        goto done;
    }
    if (fd_role_parse(role, &a.role) != 0) {
        fprintf(stderr, "flightdeck token: --role must be viewer, engineer, lead or admin\n");
        goto done;
    }
    if (teams != NULL && parse_teams(teams, &a) != 0) {
        fprintf(stderr,
                "flightdeck token: --teams must be up to %d comma-separated team slugs "
                "([a-z0-9-]{1,64})\n",
                FD_MAX_TEAMS);
        goto done;
    }
    if (config_parse_duration(ttl, &ttl_s) != 0) {
        fprintf(stderr,
                "flightdeck token: --ttl must look like 90s, 15m, 8h or 2d (at most 366d)\n");
        goto done;
    }
    if (strcmp(source, "api") != 0 && strcmp(source, "bot") != 0 && strcmp(source, "web") != 0) {
        fprintf(stderr, "flightdeck token: --source must be api, bot or web\n");
        goto done;
    }
    if (strlen(sub) >= sizeof a.sub || (name != NULL && strlen(name) >= sizeof a.name)) {
        fprintf(stderr, "flightdeck token: --sub and --name must be shorter than %d bytes\n",
                FD_NAME_MAX);
        goto done;
    }
    snprintf(a.sub, sizeof a.sub, "%s", sub);
    snprintf(a.name, sizeof a.name, "%s", name != NULL ? name : sub);
    snprintf(a.source, sizeof a.source, "%s", source);

    rc = 1;
    if (config_load_keys(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck token: %s\n", err);
        goto done;
    }
    if (cfg.jwt_secret == NULL && dev && config_dev_secret(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck token: %s\n", err);
        goto done;
    }
    if (cfg.jwt_secret == NULL) {
        fprintf(stderr, "flightdeck token: no HS256 secret: set FLIGHTDECK_JWT_SECRET (or _FILE), "
                        "or pass --dev to use the development secret of --db\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (auth_keys_new(cfg.jwt_secret, cfg.jwt_secret_len, NULL, 0, cfg.jwt_issuer, cfg.jwt_audience,
                      &keys, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck token: %s\n", err);
        goto done;
    }
    int64_t now = (int64_t)time(NULL);
    if (auth_mint(keys, &a, now, ttl_s, &token) != 0) {
        fprintf(stderr, "flightdeck token: cannot sign the token\n");
        goto done;
    }
    /* What the server would refuse (a control character in the name, ...) is refused here. */
    fd_actor check;
    if (auth_verify(keys, token, strlen(token), now, &check, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "flightdeck token: the server would refuse this token: %s\n", err);
        rc = EXIT_USAGE;
        goto done;
    }
    printf("%s\n", token);
    rc = 0;
done:
    free(token);
    auth_keys_free(keys);
    config_free(&cfg);
    return rc;
}

/* ---- audit verify ------------------------------------------------------------------------ */

static int cmd_audit(int argc, char **argv)
{
    char db[CONFIG_PATH_MAX] = "./flightdeck.db";
    const char *mid = NULL;
    int global = 0, rc = 3;
    fd_store *st = NULL;
    fd_problem p = {0};
    json_t *report = NULL;
    struct stat sb;

    const char *envdb = getenv("FLIGHTDECK_DB");
    if (envdb != NULL && *envdb != '\0')
        snprintf(db, sizeof db, "%s", envdb);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage_audit, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fputs(usage_audit, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_audit, stdout);
            return 0;
        } else if (strcmp(argv[i], "--global") == 0) {
            global = 1;
        } else if ((v = flag_value(argc, argv, &i, "--db")) != NULL) {
            snprintf(db, sizeof db, "%s", v);
        } else if (argv[i][0] != '-' && mid == NULL) {
            mid = argv[i];
        } else {
            fputs(usage_audit, stderr);
            return EXIT_USAGE;
        }
    }
    if ((mid == NULL) == (global == 0)) { /* exactly one of <migration> and --global */
        fputs(usage_audit, stderr);
        return EXIT_USAGE;
    }
    if (stat(db, &sb) != 0) {
        fprintf(stderr, "flightdeck audit: no database at %s (use --db or FLIGHTDECK_DB)\n", db);
        return 3;
    }
    if (store_open(db, &st, &p) != FD_OK) {
        fprintf(stderr, "flightdeck audit: cannot open %s: %s\n", db, p.detail);
        goto done;
    }
    fd_err e = audit_verify(st, mid, &report);
    if (e != FD_OK) {
        fprintf(stderr, "flightdeck audit: cannot verify %s: %s\n", mid != NULL ? mid : "--global",
                e == FD_E_NOT_FOUND ? "no such migration" : fd_err_name(e));
        goto done;
    }
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    rc = json_is_true(json_object_get(report, "ok")) ? 0 : 1;
done:
    json_decref(report);
    fd_problem_clear(&p);
    store_close(st);
    return rc;
}

/* ---- backup ------------------------------------------------------------------------------ */

#define BACKUP_PAGES_PER_STEP 256 /* 1 MiB at 4 KiB pages */
#define BACKUP_PAUSE_MS 2

typedef struct backup_check {
    fd_store *copy;
    int chains;
    int64_t events;
    int64_t last_seq;
    int broken;
} backup_check;

/* Verify one chain of the copy (mid NULL: the global one); print the report when it is broken. */
static int backup_verify_chain(void *arg, const char *mid)
{
    backup_check *bc = arg;
    json_t *report = NULL;
    fd_err e = audit_verify(bc->copy, mid, &report);
    if (e != FD_OK) {
        fprintf(stderr, "flightdeck backup: cannot verify %s in the copy: %s\n",
                mid != NULL ? mid : "the global chain", fd_err_name(e));
        bc->broken++;
        return 0;
    }
    bc->chains++;
    bc->events += json_integer_value(json_object_get(report, "events"));
    json_int_t last = json_integer_value(json_object_get(report, "last_seq"));
    if (last > bc->last_seq)
        bc->last_seq = last;
    if (!json_is_true(json_object_get(report, "ok"))) {
        char *text = json_dumps(report, JSON_COMPACT);
        fprintf(stderr, "flightdeck backup: the chain of %s is broken in the copy: %s\n",
                mid != NULL ? mid : "the global events", text != NULL ? text : "?");
        free(text);
        bc->broken++;
    }
    json_decref(report);
    return 0;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_backup(int argc, char **argv)
{
    char db[CONFIG_PATH_MAX] = "./flightdeck.db";
    const char *file = NULL;
    fd_store *src = NULL, *copy = NULL;
    fd_problem p = {0};
    int64_t pages = 0;
    int rc = 3;
    struct stat sb;

    const char *envdb = getenv("FLIGHTDECK_DB");
    if (envdb != NULL && *envdb != '\0')
        snprintf(db, sizeof db, "%s", envdb);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_backup, stdout);
            return 0;
        } else if ((v = flag_value(argc, argv, &i, "--db")) != NULL) {
            snprintf(db, sizeof db, "%s", v);
        } else if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];
        } else {
            fputs(usage_backup, stderr);
            return EXIT_USAGE;
        }
    }
    if (file == NULL) {
        fputs(usage_backup, stderr);
        return EXIT_USAGE;
    }
    if (stat(db, &sb) != 0) {
        fprintf(stderr, "flightdeck backup: no database at %s (use --db or FLIGHTDECK_DB)\n", db);
        return 3;
    }
    double t0 = mono_seconds();
    if (store_open_reader(db, &src, &p) != FD_OK ||
        store_backup(src, file, BACKUP_PAGES_PER_STEP, BACKUP_PAUSE_MS, &pages, &p) != FD_OK) {
        fprintf(stderr, "flightdeck backup: %s\n", p.detail);
        goto done;
    }
    double t1 = mono_seconds();
    store_close(src);
    src = NULL;
    printf("flightdeck backup: copied %s to %s: %lld pages, %lld bytes, %.2f s\n", db, file,
           (long long)pages, stat(file, &sb) == 0 ? (long long)sb.st_size : -1LL, t1 - t0);

    if (store_open(file, &copy, &p) != FD_OK) {
        fprintf(stderr, "flightdeck backup: the copy %s does not open: %s\n", file, p.detail);
        rc = 1;
        goto done;
    }
    backup_check bc = {.copy = copy};
    backup_verify_chain(&bc, NULL);
    if (store_audit_chains(copy, backup_verify_chain, &bc) != FD_OK) {
        fprintf(stderr, "flightdeck backup: cannot list the audit chains of the copy\n");
        bc.broken++;
    }
    if (bc.broken > 0) {
        fprintf(stderr, "flightdeck backup: %d chain(s) of %s do not verify; the copy is kept\n",
                bc.broken, file);
        rc = 1;
        goto done;
    }
    printf("flightdeck backup: verified %d audit chains (%d migrations and the global one), "
           "%lld events, last seq %lld: intact\n",
           bc.chains, bc.chains - 1, (long long)bc.events, (long long)bc.last_seq);
    rc = 0;
done:
    fd_problem_clear(&p);
    store_close(src);
    store_close(copy);
    return rc;
}

/* ---- plan lint --------------------------------------------------------------------------- */

static const char usage_plan[] =
    "usage: flightdeck plan lint FILE [--teams a,b,...]\n"
    "\n"
    "Checks a plan (the body of POST /api/migrations; schema/plan.schema.json) offline, with no\n"
    "database, and prints every error as '<json path>: <what is wrong>'. Whether the teams it\n"
    "names exist cannot be known offline: with --teams, every team must be one of the list.\n"
    "exit status: 0 valid, 1 invalid (or not JSON), 2 usage or unreadable file\n";

/* Print one lint error: the path, then the sentence without the path it starts with. */
static void print_lint_error(void *arg, fd_err code, const char *path, const char *message)
{
    (void)arg;
    (void)code;
    size_t n = strlen(path);
    if (n > 0 && strncmp(message, path, n) == 0 && message[n] == ' ')
        message += n + 1;
    printf("%s: %s\n", n > 0 ? path : "(plan)", message);
}

static int cmd_plan(int argc, char **argv)
{
    const char *file = NULL, *teams = NULL;
    json_t *known = NULL, *plan = NULL;
    json_error_t jerr;
    int rc = EXIT_USAGE;
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage_plan, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "lint") != 0) {
        fputs(usage_plan, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_plan, stdout);
            return 0;
        } else if ((v = flag_value(argc, argv, &i, "--teams")) != NULL) {
            teams = v;
        } else if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];
        } else {
            fputs(usage_plan, stderr);
            return EXIT_USAGE;
        }
    }
    if (file == NULL) {
        fputs(usage_plan, stderr);
        return EXIT_USAGE;
    }
    if (teams != NULL) {
        fd_actor list; /* parse_teams checks the slugs and the count */
        memset(&list, 0, sizeof list);
        if (parse_teams(teams, &list) != 0) {
            fprintf(stderr,
                    "flightdeck plan lint: --teams must be up to %d comma-separated team "
                    "slugs\n",
                    FD_MAX_TEAMS);
            return EXIT_USAGE;
        }
        known = json_array();
        for (int i = 0; i < list.nteams; i++)
            json_array_append_new(known, json_string(list.teams[i]));
    }
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        fprintf(stderr, "flightdeck plan lint: cannot read %s\n", file);
        goto done;
    }
    plan = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    rc = 1;
    if (plan == NULL) {
        printf("(plan): not valid JSON at line %d, column %d: %s\n", jerr.line, jerr.column,
               jerr.text);
        goto done;
    }
    int errors =
        plan_lint(plan, "", known ? plan_lint_teams_in : NULL, known, print_lint_error, NULL);
    if (known == NULL)
        fprintf(stderr, "flightdeck plan lint: teams were not checked against a server (pass "
                        "--teams a,b to check them against a list)\n");
    if (errors > 0) {
        fprintf(stderr, "flightdeck plan lint: %s: %d error%s\n", file, errors,
                errors == 1 ? "" : "s");
        goto done;
    }
    printf("%s: a valid plan\n", file);
    rc = 0;
done:
    json_decref(plan);
    json_decref(known);
    return rc;
}

/* ---- main -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_top, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_top, stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "token") == 0)
        return cmd_token(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit(argc - 1, argv + 1);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return export_cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "plan") == 0)
        return cmd_plan(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return export_cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && strcmp(argv[2], "--help") == 0) {
            fputs("usage: flightdeck version\n\nPrints the version of this binary.\n", stdout);
            return 0;
        }
        printf("flightdeck %s\n", FD_VERSION);
        return 0;
    }
    fprintf(stderr, "flightdeck: unknown command '%s'\n\n%s", cmd, usage_top);
    return EXIT_USAGE;
}
