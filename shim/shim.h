/* shim.h: what every hook file shares: the export marker, start-up, and the guard that
 * lets the shim's own libc calls (and libcurl's) pass straight through.  Narrower needs
 * have their own headers: vpath.h (is a path virtual), vfd.h (virtual descriptors below
 * the hooks), hooks_stdio.h (stdin following descriptor 0).
 *
 * Errors: hooks fail as libc would, -1 (or NULL) with errno, and keep errno as it was
 * when they succeed. */
#ifndef REMOTEIO_SHIM_H
#define REMOTEIO_SHIM_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "fdtable.h"
#include "real.h"
#include "vfile.h"

#define EXPORT __attribute__((visibility("default")))

/* Heavy start-up (libcurl, the cache) on the first virtual open; 0 or -1 (EIO). */
int shim_start_backend(void);

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

/* False in a vfork child (python's subprocess, glibc's posix_spawn): it shares our
 * memory but not our descriptor table, so it must leave the slots alone and let the
 * kernel act on its own table; after its exec, the new image re-attaches.  Costs a
 * getpid; only slot-changing paths ask. */
bool shim_owns_state(void);

#endif
