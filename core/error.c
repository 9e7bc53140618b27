/* error.c - names for the error enum and the problem helpers. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[FD_E__COUNT] = {
    [FD_OK] = "ok",
    [FD_E_BAD_REQUEST] = "bad-request",
    [FD_E_UNKNOWN_FIELD] = "unknown-field",
    [FD_E_INVALID] = "invalid",
    [FD_E_UNAUTHENTICATED] = "unauthenticated",
    [FD_E_FORBIDDEN] = "forbidden",
    [FD_E_NOT_FOUND] = "not-found",
    [FD_E_CONFLICT] = "conflict",
    [FD_E_EXISTS] = "exists",
    [FD_E_STALE] = "stale",
    [FD_E_IDEM_MISMATCH] = "idempotency-mismatch",
    [FD_E_TOO_LARGE] = "too-large",
    [FD_E_RATE_LIMITED] = "rate-limited",
    [FD_E_UNAVAILABLE] = "unavailable",
    [FD_E_INTERNAL] = "internal",
};

const char *fd_err_name(fd_err e)
{
    if ((int)e < 0 || e >= FD_E__COUNT || names[e] == NULL)
        return "internal";
    return names[e];
}

fd_err fd_fail(fd_problem *p, fd_err e, const char *field, const char *fmt, ...)
{
    if (p == NULL)
        return e;
    if (p->extra != NULL) {
        json_decref(p->extra);
        p->extra = NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
    snprintf(p->field, sizeof p->field, "%s", field != NULL ? field : "");
    return e;
}

void fd_problem_set(fd_problem *p, const char *key, json_t *value)
{
    if (p == NULL) {
        json_decref(value);
        return;
    }
    if (p->extra == NULL)
        p->extra = json_object();
    json_object_set_new(p->extra, key, value);
}

void fd_problem_clear(fd_problem *p)
{
    if (p == NULL)
        return;
    json_decref(p->extra);
    memset(p, 0, sizeof *p);
}
