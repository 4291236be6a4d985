/* lifecycle.h: the process's lifecycle flag, owned by init.c, and each thread's
 * inside-the-shim depth, which every layer that runs threads of the shim's own uses.
 *
 * Once the process is exiting (its exit handlers run), every wait in the shim's lower
 * layers (a transfer, a direct exchange, the readahead queue) ends at its next look at
 * the flag, so that no thread of the shim is inside libcurl or its TLS library while
 * their exit handlers run.  The flag is one atomic word: any thread may read or set it,
 * no lock; the depth is thread-local. */
#ifndef REMOTEIO_LIFECYCLE_H
#define REMOTEIO_LIFECYCLE_H

#include <pthread.h>
#include <stdbool.h>

bool shim_exiting(void);
void shim_set_exiting(void);

/* Depth of shim-internal work on this thread: hooks called from inside the shim (by
 * libcurl, the resolver, OpenSSL) go straight to libc.  While inside, the thread cannot
 * be cancelled (read(2) is a cancellation point, and a thread unwound in the middle of
 * the shim's work would leave locks held and chunks claimed forever); a pending
 * cancellation acts at the program's next cancellation point. */
extern __thread int shim_depth __attribute__((tls_model("initial-exec")));
extern __thread int shim_cancel_state __attribute__((tls_model("initial-exec")));

static inline void shim_enter(void)
{
    if (shim_depth++ == 0)
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &shim_cancel_state);
}

static inline void shim_leave(void)
{
    if (--shim_depth == 0)
        pthread_setcancelstate(shim_cancel_state, NULL);
}

#endif
