/* prefetch.h: the readahead workers.  Readahead ranges are queued here and fetched by a
 * few threads of the shim's own (started on first use, again in a forked child), each
 * fetching one part at a time into the cache.  The queue is bounded: when it is full a
 * part is dropped, which only means less readahead.
 *
 * Errors: none reported: readahead that cannot be queued or fetched is dropped, and a
 * demand read fetches the data later. */
#ifndef REMOTEIO_PREFETCH_H
#define REMOTEIO_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

struct object;

/* Queue [offset, offset+len) of obj in parts of `part` bytes (takes object refs). */
void prefetch_submit(struct object *obj, int64_t offset, int64_t len, int64_t part);

/* How many readahead workers there may be (half of REMOTEIO_CONNECTIONS, at most 32):
 * the most parts that can be in flight at once. */
unsigned prefetch_worker_limit(void);

/* At exit: mark the process exiting (lifecycle.h), stop taking parts, abandon the
 * queue, and wait up to wait_ms for the workers to leave their transfers (http.c aborts
 * them once shim_exiting() says so), so that no worker is inside libcurl or its TLS
 * library while their exit handlers run. */
void prefetch_init(void);
void prefetch_stop(uint64_t wait_ms);

void prefetch_atfork_prepare(void);
void prefetch_atfork_parent(void);
void prefetch_atfork_child(void);

#endif
