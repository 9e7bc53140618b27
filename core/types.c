/* types.c - roles, team membership and request contexts (see types.h). */
#include "types.h"

#include <string.h>

static const char *const role_names[] = {
    [FD_ROLE_VIEWER] = "viewer",
    [FD_ROLE_ENGINEER] = "engineer",
    [FD_ROLE_LEAD] = "lead",
    [FD_ROLE_ADMIN] = "admin",
};

const char *fd_role_name(fd_role r)
{
    if ((int)r < 0 || (int)r > FD_ROLE_ADMIN)
        return "viewer";
    return role_names[r];
}

int fd_role_parse(const char *s, fd_role *out)
{
    if (s == NULL)
        return -1;
    for (int r = FD_ROLE_VIEWER; r <= FD_ROLE_ADMIN; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            *out = (fd_role)r;
            return 0;
        }
    }
    return -1;
}

int fd_actor_in_team(const fd_actor *a, const char *team)
{
    if (a == NULL || team == NULL)
        return 0;
    for (int i = 0; i < a->nteams && i < FD_MAX_TEAMS; i++) {
        if (strcmp(a->teams[i], team) == 0)
            return 1;
    }
    return 0;
}

void fd_ctx_init(fd_ctx *c, const fd_actor *actor, const char *request_id)
{
    memset(c, 0, sizeof *c);
    c->actor = actor;
    c->request_id = request_id;
    c->if_match = -1;
}
