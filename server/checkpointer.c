/* checkpointer.c - the thread that folds the write-ahead log back into the database file
 * (see checkpointer.h). */
#include "server/checkpointer.h"

#include <pthread.h>
#include <stdio.h>

static struct {
    int started;
    fd_store *st;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int want, stop; /* guarded by mu */
    uint64_t runs;  /* guarded by mu */
} K = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *checkpointer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&K.mu);
    for (;;) {
        while (!K.want && !K.stop)
            pthread_cond_wait(&K.cv, &K.mu);
        if (K.stop)
            break;
        K.want = 0;
        pthread_mutex_unlock(&K.mu);
        int log = 0, copied = 0;
        if (store_batch_checkpoint(K.st, &log, &copied) != FD_OK)
            fprintf(stderr, "flightdeck: a checkpoint of the write-ahead log failed; the next "
                            "commit past %d pages tries again\n",
                    STORE_CHECKPOINT_PAGES);
        pthread_mutex_lock(&K.mu);
        K.runs++;
    }
    pthread_mutex_unlock(&K.mu);
    return NULL;
}

int checkpointer_start(fd_store *st)
{
    pthread_mutex_lock(&K.mu); /* whoever calls checkpointer_wake sees these whole */
    K.st = st;
    K.want = K.stop = 0;
    pthread_mutex_unlock(&K.mu);
    if (pthread_create(&K.thread, NULL, checkpointer_main, NULL) != 0) {
        fprintf(stderr, "flightdeck: cannot start the checkpointing thread\n");
        return -1;
    }
    K.started = 1;
    return 0;
}

void checkpointer_wake(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&K.mu);
    K.want = 1;
    pthread_cond_signal(&K.cv);
    pthread_mutex_unlock(&K.mu);
}

void checkpointer_stop(void)
{
    if (!K.started)
        return;
    pthread_mutex_lock(&K.mu);
    K.stop = 1;
    pthread_cond_signal(&K.cv);
    pthread_mutex_unlock(&K.mu);
    pthread_join(K.thread, NULL);
    K.started = 0;
}

uint64_t checkpointer_runs(void)
{
    pthread_mutex_lock(&K.mu);
    uint64_t n = K.runs;
    pthread_mutex_unlock(&K.mu);
    return n;
}
