/* prefetch.h: the readahead workers.  Readahead ranges are queued here and fetched by a
 * few threads of the shim's own (started on first use, again in a forked child), each
 * running one part at a time.  The queue is bounded: when it is full a part is dropped,
 * which only means less readahead.
 *
 * A job carries everything it needs (like the commands of nbdkit's readahead filter carry
 * `next`): what to run and a reference on its argument.  This layer knows nothing of what
 * it runs, and calls nothing above it except the functions a job was handed.
 *
 * Errors: none reported: readahead that cannot be queued or fetched is dropped, and a
 * demand read fetches the data later. */
#ifndef REMOTEIO_PREFETCH_H
#define REMOTEIO_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

/* What the jobs of one submitter do with their argument. */
struct prefetch_ops {
    void (*run)(void *arg, int64_t offset, int64_t len); /* on a worker thread */
    void (*ref)(void *arg);   /* taken for each queued part... */
    void (*unref)(void *arg); /* ...and dropped once it ran, or was dropped */
};

/* Queue [offset, offset+len) in parts of `part` bytes, each to be run as
 * ops->run(arg, offset, len) (ops is not copied: it must outlive the jobs). */
void prefetch_submit(const struct prefetch_ops *ops, void *arg, int64_t offset, int64_t len,
                     int64_t part);

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
