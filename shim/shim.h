/* shim.h: what every hook file shares: the export marker, start-up, the guard that lets
 * the shim's own libc calls (and libcurl's) pass straight through, and the one place that
 * decides whether a path is virtual.
 *
 * Errors: hooks fail as libc would, -1 (or NULL) with errno, and keep errno as it was
 * when they succeed. */
#ifndef REMOTEIO_SHIM_H
#define REMOTEIO_SHIM_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "config.h"
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

/* A path as openat(dirfd, path) names it, matched against the mappings. */
struct vpath {
    char norm[PATH_MAX];
    const struct mapping *map;
    const char *rest;
};

/* True when (dirfd, path) is a virtual file (v filled), or is inside a virtual
 * directory fd (then *err = ENOTDIR).  False for everything libc should handle. */
bool vpath_match(int dirfd, const char *path, struct vpath *v, int *err);

/* open(path, flags) when path is virtual (hooks_open.c): true when handled, *fd set. */
bool hooks_open_virtual(const char *path, int flags, int *fd);

/* Descriptor fd changed between virtual and not (open, dup2, close): stdio follows
 * (hooks_stdio.c; only fd 0, stdin, matters). */
void stdio_descriptor_changed(int fd);
void stdio_atfork_prepare(void);
void stdio_atfork_parent(void);
void stdio_atfork_child(void);

/* The URL of a matched path (malloc'd). */
char *vpath_url(const struct vpath *v);

#endif
