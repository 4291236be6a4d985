/* thread.c: starting the shim's own threads: detached, every signal blocked, an optional
 * small stack.  No state, no lock. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "thread.h"

static int start(void *(*fn)(void *), void *arg, size_t stack)
{
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err)
        return err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack)
        pthread_attr_setstacksize(&attr, stack);
    pthread_t t;
    err = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return err;
}

int thread_start_detached(void *(*fn)(void *), void *arg, size_t stack)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = start(fn, arg, stack);
    if (err == EINVAL && stack) /* the program's static TLS does not fit in a small stack */
        err = start(fn, arg, 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}
