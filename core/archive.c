/* archive.c - the archive document of a migration: written as a stream, verified offline (see
 * archive.h). */
#include "archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flight.h"

fd_err archive_open(fd_store *st, const char *mid, archive_cursor *cur)
{
    memset(cur, 0, sizeof *cur);
    if (strlen(mid) > FD_SLUG_MAX)
        return FD_E_NOT_FOUND;
    snprintf(cur->mid, sizeof cur->mid, "%s", mid);
    return audit_cursor_open(st, mid, 0, FD_AUDIT_JSON, &cur->events);
}

/* {"format":...,"migration":...,"verification":...,"events": */
static fd_err write_head(fd_store *st, archive_cursor *cur, fd_buf *out)
{
    static const fd_actor reader = {.sub = "archive", .name = "archive", .role = FD_ROLE_VIEWER};
    fd_ctx ctx;
    json_t *m = NULL, *v = NULL;
    char *mtext = NULL, *vtext = NULL;
    fd_ctx_init(&ctx, &reader, NULL);
    fd_err e = flight_get(st, &ctx, cur->mid, &m);
    fd_problem_clear(&ctx.problem);
    if (e == FD_OK)
        e = audit_verify(st, cur->mid, &v);
    if (e == FD_OK) {
        mtext = json_dumps(m, JSON_COMPACT);
        vtext = json_dumps(v, JSON_COMPACT);
        if (mtext == NULL || vtext == NULL ||
            fd_buf_printf(out,
                          "{\"format\":\"" ARCHIVE_FORMAT "\",\n\"migration\":%s,\n"
                          "\"verification\":%s,\n\"events\":",
                          mtext, vtext) != 0)
            e = FD_E_INTERNAL;
    }
    json_decref(m);
    json_decref(v);
    free(mtext);
    free(vtext);
    return e;
}

fd_err archive_chunk(fd_store *st, archive_cursor *cur, fd_buf *out, size_t target, int *done)
{
    *done = 0;
    if (cur->phase == 2) {
        *done = 1;
        return FD_OK;
    }
    if (cur->phase == 0) {
        fd_err e = write_head(st, cur, out);
        if (e != FD_OK)
            return e;
        cur->phase = 1;
    }
    int events_done = 0;
    fd_err e = audit_export_chunk(st, &cur->events, out, target, &events_done);
    if (e != FD_OK)
        return e;
    if (events_done) {
        if (fd_buf_puts(out, "}\n") != 0)
            return FD_E_INTERNAL;
        cur->phase = 2;
        *done = 1;
    }
    return FD_OK;
}

fd_err archive_verify(const json_t *doc, json_t **out)
{
    *out = NULL;
    json_t *events = json_object_get(doc, "events");
    if (!json_is_array(events))
        return FD_E_BAD_REQUEST;
    json_t *chain = NULL, *problems = json_array();
    const char *format = check_str(doc, "format", "");
    const char *mid = check_str(json_object_get(doc, "migration"), "id", NULL);
    if (strcmp(format, ARCHIVE_FORMAT) != 0)
        json_array_append_new(problems, json_string("format is not " ARCHIVE_FORMAT));
    if (mid == NULL)
        json_array_append_new(problems, json_string("the archive names no migration"));

    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *em = check_str(ev, "migration", NULL);
        if (mid != NULL && (em == NULL || strcmp(em, mid) != 0)) {
            char msg[96];
            snprintf(msg, sizeof msg, "event %zu belongs to another migration", i);
            json_array_append_new(problems, json_string(msg));
            break;
        }
    }
    if (audit_verify_events(events, &chain) != FD_OK) {
        json_decref(problems);
        return FD_E_INTERNAL;
    }
    if (!json_is_true(json_object_get(chain, "ok")))
        json_array_append_new(problems, json_string("the hash chain is broken"));

    /* The chain of a prefix verifies too: compare its end with what the writer recorded. */
    json_t *claim = json_object_get(doc, "verification");
    if (!json_is_object(claim)) {
        json_array_append_new(problems, json_string("the archive holds no verification record"));
    } else if (!json_equal(json_object_get(claim, "events"), json_object_get(chain, "events")) ||
               !json_equal(json_object_get(claim, "last_hash"),
                           json_object_get(chain, "last_hash"))) {
        json_array_append_new(problems,
                              json_string("the events end elsewhere than the archive's "
                                          "verification record says (events removed or added)"));
    }
    *out = json_pack("{s:b,s:s,s:s?,s:o,s:o}", "ok", json_array_size(problems) == 0, "format",
                     format, "migration", mid, "chain", chain, "problems", problems);
    return *out ? FD_OK : FD_E_INTERNAL;
}
