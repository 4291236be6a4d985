/* pool.h: a bounded set of libcurl easy handles, borrowed for one request at a time.
 *
 * Each handle keeps its own keep-alive connection, so the number of handles is the number
 * of connections to origins, at most REMOTEIO_CONNECTIONS.  A handle is used by one thread
 * at a time (libcurl's rule).  Demand reads may take any free handle; readahead leaves a
 * quarter of them for demand reads, so a burst of prefetching never makes a program's own
 * read wait.  Waits end at the caller's deadline. */
#ifndef REMOTEIO_POOL_H
#define REMOTEIO_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "libcurl.h"

/* A handle, reset to defaults with the shim's common options set; NULL with errno
 * ETIMEDOUT when none became free before deadline_ms (CLOCK_MONOTONIC, ms) or, for
 * readahead (demand == false), at once when only the reserve is left. */
CURL *pool_get(uint64_t deadline_ms, bool demand);
void pool_put(CURL *h);

/* In a forked child: forget the parent's handles without touching their connections
 * (closing a TLS session from the child would break the parent's). */
void pool_atfork_prepare(void);
void pool_atfork_parent(void);
void pool_atfork_child(void);


#endif
