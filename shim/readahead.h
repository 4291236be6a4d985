/* readahead.h: per-object sequential stream detection and the readahead policy.
 *
 * Pure bookkeeping: the caller holds the object's lock, and gets back the range to
 * prefetch, if any.  See readahead.c for the policy and its numbers. */
#ifndef REMOTEIO_READAHEAD_H
#define REMOTEIO_READAHEAD_H

#include <stdbool.h>
#include <stdint.h>

#define RA_STREAMS 8

struct ra_stream {
    int64_t next;      /* where the stream's next read is expected */
    int64_t ra_end;    /* readahead has been issued up to here */
    int64_t window;    /* current window; 0 until the stream is confirmed */
    uint64_t last_use; /* LRU tick */
    unsigned hits;     /* reads that continued the stream */
};

struct ra_state {
    struct ra_stream s[RA_STREAMS];
    uint64_t tick;
};

struct ra_decision {
    int64_t offset, len; /* len 0: nothing to prefetch */
    int64_t part;        /* split into requests of about this size, issued in parallel */
};

void ra_on_read(struct ra_state *ra, int64_t offset, int64_t len, int64_t size,
                int64_t max_window, int64_t chunk, struct ra_decision *out);

#endif
