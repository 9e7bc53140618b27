/*
 * demo.h - demo data on first start (`serve --demo DIR`) and the development sign-in
 * (`serve --dev`): a few demo users of different roles and teams with ready-made tokens.
 */
#ifndef FD_DEMO_H
#define FD_DEMO_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/store.h"
#include "server/auth.h"

#define DEMO_TOKEN_TTL (12 * 3600) /* seconds */

/*
 * When the store holds no migration yet: create the teams of DIR/teams.json (an array of team
 * bodies) and every other DIR/<name>.json as a migration plan, in name order, as the system actor
 * (sub "flightdeck", role admin). Reports what it did on `log`. Returns 0 (also when there was
 * nothing to do), or -1 when a file is unreadable or refused (the reason is on `log`).
 */
int demo_load(fd_store *st, const char *dir, FILE *log);

/*
 * Choose the demo users' teams from the teams in the store ("data-stream" and
 * "cloud-platform" when present, else the first two). Call once, before serving.
 */
void demo_prepare_users(fd_store *st);

/* [{"sub","name","role","teams","token"}] with tokens minted now (TTL 12 h). *out is owned by
 * the caller. Returns 0, or -1 when tokens cannot be minted (no HS256 secret). */
int demo_users_json(const auth_keys *k, int64_t now, json_t **out);

/* Print how to sign in: the address, and per demo user a token and a curl line to paste. */
void demo_print_signin(FILE *f, const auth_keys *k, int64_t now, const char *base_url);

#endif
