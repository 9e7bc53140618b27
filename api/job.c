/* job.c - the hand-off of writes that run beside the loop (see job.h). */
#include "api/job.h"

#include <stddef.h>

static api_job_submit_fn submit_fn;

const char api_job_lost_detail[] =
    "The change could not be made durable and was not applied (the database failed to "
    "commit). Nothing of this request happened: retry it.";

void api_job_set_submit(api_job_submit_fn fn)
{
    submit_fn = fn;
}

int api_job_submit(api_call *c, api_job *j)
{
    return submit_fn != NULL ? submit_fn(c, j) : -1;
}
