/* shim.h: what every hook file shares: the export marker, start-up, and (lifecycle.h) the
 * guard that lets the shim's own libc calls (and libcurl's) pass straight through.  Narrower needs
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
#include "lifecycle.h"
#include "real.h"
#include "vfile.h"

#define EXPORT __attribute__((visibility("default")))

/* Heavy start-up (libcurl, the cache) on the first virtual open; 0 or -1 (EIO). */
int shim_start_backend(void);

/* False in a vfork child (python's subprocess, glibc's posix_spawn): it shares our
 * memory but not our descriptor table, so it must leave the slots alone and let the
 * kernel act on its own table; after its exec, the new image re-attaches.  Costs a
 * getpid; only slot-changing paths ask. */
bool shim_owns_state(void);

#endif
