/* pool.h: a bounded set of libcurl easy handles, borrowed for one request at a time.
 *
 * Each handle keeps its own keep-alive connection, so the number of handles is the number
 * of connections to origins, at most REMOTEIO_CONNECTIONS.  A handle is used by one thread
 * at a time (libcurl's rule).  Demand reads may take any free handle; readahead leaves a
 * quarter of them for demand reads, so a burst of prefetching never makes a program's own
 * read wait.  Waits end at the caller's deadline.
 *
 * Errors: a borrow that gets no handle returns NULL with errno (ETIMEDOUT at the
 * deadline, ENOMEM); nothing is logged here. */
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

/* A handle for a direct exchange with origin ("scheme://host:port"): *connected is true
 * when it already holds an idle connection there (made with CURLOPT_CONNECT_ONLY), else
 * (always when fresh) it is a new handle with the common options, for the caller to
 * connect.  Give it back
 * with pool_put_direct while its connection is clean (between two responses), or with
 * pool_discard, which closes the connection. */
CURL *pool_get_direct(const char *origin, bool fresh, uint64_t deadline_ms, bool demand,
                      bool *connected);
void pool_put_direct(CURL *h, const char *origin);
void pool_discard(CURL *h);

/* In a forked child: forget the parent's handles without touching their connections
 * (closing a TLS session from the child would break the parent's). */
void pool_atfork_prepare(void);
void pool_atfork_parent(void);
void pool_atfork_child(void);


#endif
