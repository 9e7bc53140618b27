/*
 * hub_presence.c - who has a migration open right now.
 *
 * A room holds the open streams of one migration. A user is present while at least one
 * authenticated stream of theirs is in the room (several tabs count once; `since` is their
 * earliest open stream). When a user's first stream opens or their last one closes, every stream
 * of the room gets an "event: presence" block; a new stream always gets one, so it learns who is
 * there. Changes are gathered for HUB_PRESENCE_DELAY_MS, so a crowd arriving at once costs one
 * document, not one per arrival, and each stream holds at most one pending presence message (the
 * newest), never a backlog of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/reply.h"
#include "core/timefmt.h"
#include "server/hub_internal.h"

hub_room *hub_room_find(fd_hub *hub, const char *mid)
{
    for (h2o_linklist_t *l = hub->rooms.next; l != &hub->rooms; l = l->next) {
        hub_room *r = H2O_STRUCT_FROM_MEMBER(hub_room, link, l);
        if (strcmp(r->mid, mid) == 0)
            return r;
    }
    return NULL;
}

void hub_room_free(hub_room *r)
{
    h2o_linklist_unlink(&r->link);
    hub_msg_unref(r->presence);
    free(r);
}

/* 1 when a stream of `sub` is in the room. */
static int room_has_sub(const hub_room *r, const char *sub)
{
    for (h2o_linklist_t *l = r->streams.next; l != &r->streams; l = l->next) {
        const hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, l);
        if (strcmp(s->sub, sub) == 0)
            return 1;
    }
    return 0;
}

static void presence_schedule(fd_hub *hub)
{
    if (!hub->closing && !h2o_timeout_is_linked(&hub->presence_entry))
        h2o_timeout_link(hub->ctx->loop, &hub->presence_timeout, &hub->presence_entry);
}

int hub_room_join(fd_hub *hub, hub_stream *s)
{
    hub_room *r = hub_room_find(hub, s->mid);
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return -1;
        snprintf(r->mid, sizeof(r->mid), "%s", s->mid);
        h2o_linklist_init_anchor(&r->streams);
        h2o_linklist_insert(&hub->rooms, &r->link);
    }
    if (s->sub[0] != '\0' && !room_has_sub(r, s->sub))
        r->changed = 1; /* the user's first stream on this migration */
    h2o_linklist_insert(&r->streams, &s->link);
    r->nstreams++;
    r->dirty = 1;
    s->room = r;
    s->want_presence = 1;
    presence_schedule(hub);
    return 0;
}

void hub_room_leave(fd_hub *hub, hub_stream *s)
{
    hub_room *r = s->room;
    s->room = NULL;
    h2o_linklist_unlink(&s->link);
    if (r == NULL)
        return;
    r->nstreams--;
    if (r->nstreams == 0) {
        hub_room_free(r);
    } else if (s->sub[0] != '\0' && !room_has_sub(r, s->sub)) {
        r->dirty = r->changed = 1; /* the user's last stream on this migration closed */
        presence_schedule(hub);
    }
}

typedef struct presence_user {
    const hub_stream *s; /* the user's earliest open stream */
} presence_user;

static int presence_cmp(const void *a, const void *b)
{
    const hub_stream *x = ((const presence_user *)a)->s, *y = ((const presence_user *)b)->s;
    if (x->since_ms != y->since_ms)
        return x->since_ms < y->since_ms ? -1 : 1;
    return strcmp(x->sub, y->sub);
}

json_t *hub_presence_doc(const hub_room *r, const char *mid)
{
    json_t *doc = NULL, *users = json_array(), *index = json_object();
    presence_user *list = NULL;
    size_t n = 0;
    if (users == NULL || index == NULL)
        goto done;
    if (r != NULL && r->nstreams > 0) {
        list = calloc(r->nstreams, sizeof(*list));
        if (list == NULL)
            goto done;
        /* index: sub -> position in list, so a crowd of one migration costs O(n), not O(n^2) */
        for (h2o_linklist_t *l = r->streams.next; l != &r->streams; l = l->next) {
            const hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, l);
            if (s->sub[0] == '\0' || s->ending)
                continue;
            json_t *at = json_object_get(index, s->sub);
            if (at != NULL) {
                presence_user *u = &list[json_integer_value(at)];
                if (s->since_ms < u->s->since_ms)
                    u->s = s;
                continue;
            }
            if (json_object_set_new(index, s->sub, json_integer((json_int_t)n)) != 0)
                goto done;
            list[n++].s = s;
        }
        qsort(list, n, sizeof(*list), presence_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        char since[FD_TIME_LEN];
        fd_time_format(list[i].s->since_ms, since);
        json_t *u =
            json_pack("{s:s, s:s, s:s, s:s}", "sub", list[i].s->sub, "name", list[i].s->name,
                      "role", fd_role_name(list[i].s->role), "since", since);
        if (u == NULL || json_array_append_new(users, u) != 0)
            goto done;
    }
    doc = json_pack("{s:s, s:O}", "migration", mid, "users", users);
done:
    free(list);
    json_decref(users);
    json_decref(index);
    return doc;
}

void hub_presence_on_timer(h2o_timeout_entry_t *entry)
{
    fd_hub *hub = H2O_STRUCT_FROM_MEMBER(fd_hub, presence_entry, entry);
    if (hub->closing)
        return;
    for (h2o_linklist_t *rl = hub->rooms.next; rl != &hub->rooms; rl = rl->next) {
        hub_room *r = H2O_STRUCT_FROM_MEMBER(hub_room, link, rl);
        if (!r->dirty)
            continue;
        json_t *doc = hub_presence_doc(r, r->mid);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        hub_msg *m = text ? hub_msg_event(0, "presence", text, strlen(text)) : NULL;
        free(text);
        json_decref(doc);
        if (m == NULL) {
            fprintf(stderr, "hub: out of memory building the presence of %s\n", r->mid);
            continue; /* stays dirty: the next change retries */
        }
        hub_msg_unref(r->presence);
        r->presence = m; /* streams still sending the previous one hold their own reference */
        for (h2o_linklist_t *l = r->streams.next; l != &r->streams; l = l->next) {
            hub_stream *s = H2O_STRUCT_FROM_MEMBER(hub_stream, link, l);
            if (s->ending || !(r->changed || s->want_presence))
                continue;
            s->want_presence = 0;
            s->presence_pending = 1;
            hub_stream_mark(hub, s);
        }
        r->dirty = r->changed = 0;
    }
    hub_flush_pending(hub);
}

void hub_handle_presence(api_call *c)
{
    fd_hub *hub = hub_get_current();
    const char *mid = c->nparams > 0 ? c->params[0] : "";
    if (hub_migration_exists_or_reply(c, mid) != 0)
        return;
    json_t *doc = hub_presence_doc(hub ? hub_room_find(hub, mid) : NULL, mid);
    if (doc == NULL) {
        api_reply_problem(c->req, FD_E_INTERNAL, NULL, NULL);
        return;
    }
    api_reply_json(c, 200, doc, -1);
}
