/* readahead.h: per-object sequential stream detection and the readahead policy.
 *
 * Pure bookkeeping: the caller holds the object's lock, and gets back the range to
 * prefetch, if any.  See readahead.c for the policy and its numbers.
 *
 * Errors: none; pure arithmetic. */
#ifndef REMOTEIO_READAHEAD_H
#define REMOTEIO_READAHEAD_H

#include <stdbool.h>
#include <stdint.h>

#define RA_STREAMS 8

struct ra_stream {
    int64_t start;     /* where the stream's first read began */
    int64_t next;      /* where the stream's next read is expected */
    int64_t ra_end;    /* readahead has been issued up to here */
    int64_t window;    /* current window; 0 until the stream is confirmed */
    int64_t grown_at;  /* next when the window last grew */
    uint64_t last_use; /* LRU tick */
    uint64_t last_ms;  /* when it was last read (CLOCK_MONOTONIC ms) */
    unsigned hits;     /* reads that continued the stream */
    /* How many parts the stream keeps in flight, and the probe that adapts it (see
     * readahead.c, "Requests in flight"). */
    int requests;          /* 0 until the stream is confirmed */
    int requests_before;   /* the level a probe stepped up from; 0: not probing */
    uint64_t rate_before;  /* bytes per second fetched at requests_before */
    uint64_t rate_prev;    /* the previous measurement at the current level (0: none) */
    int64_t mark_next;     /* where the current settle or measure phase began */
    uint64_t mark_fetched; /* the object's bytes fetched then (ra_limits.fetched) */
    uint64_t mark_ms;
    bool measuring;        /* false: settling after a change of level */
    bool confirmed;        /* the probed level was faster once; a second time keeps it */
    int64_t hold_until;    /* no probe before the reader is there (a probe that did not help) */
    unsigned failed;       /* probes that did not help, in a row (up to PROBE_HOLD_DOUBLINGS) */
};

struct ra_state {
    struct ra_stream s[RA_STREAMS];
    uint64_t tick;
};

struct ra_decision {
    bool sequential;     /* the read continued a confirmed stream */
    int64_t offset, len; /* len 0: nothing to prefetch */
    int64_t part;        /* split into requests of about this size, issued in parallel */
    int requests;        /* the stream's parts in flight now (0: not a stream) */
};

/* What bounds an object's readahead. */
struct ra_limits {
    int64_t size;       /* the object's size */
    int64_t max_window; /* one stream's largest window (REMOTEIO_READAHEAD; 0: none) */
    int64_t budget;     /* all of the object's active windows together */
    int64_t chunk;      /* the cache's chunk size: no part is smaller */
    int requests;       /* most parts one stream may keep in flight (REMOTEIO_STREAM_REQUESTS,
                         * clipped to what readahead may use of the pool) */
    bool alone;         /* no other object's stream and no random read active in the process */
    uint64_t fetched;   /* bytes the object has received from the origin so far */
};

/* A read of [offset, offset+len) at now_ms: updates the streams and says what to
 * prefetch. */
void ra_on_read(struct ra_state *ra, const struct ra_limits *lim, int64_t offset, int64_t len,
                uint64_t now_ms, struct ra_decision *out);

#endif
