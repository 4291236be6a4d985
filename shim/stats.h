/* stats.h: per-object counters, updated with relaxed atomics on the I/O paths and printed
 * when REMOTEIO_STATS is set (stats.c formats the line; object.c keeps the totals).
 *
 * Every counter is declared once, in OBJECT_COUNTERS: the struct, the totals and the
 * stats line follow from it.  X(name, how, meaning): how is SUM (totals add up) or MAX
 * (totals keep the largest).  The line lists them in this order.
 *
 * Errors: none; these functions cannot fail. */
#ifndef REMOTEIO_STATS_H
#define REMOTEIO_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define OBJECT_COUNTERS(X)                                                              \
    X(requests, SUM, "range requests sent (each attempt counts)")                       \
    X(bytes_fetched, SUM, "body bytes received for ranges")                             \
    X(bytes_served, SUM, "bytes returned to the program")                               \
    X(cache_hits, SUM, "chunks found in the cache by a read")                           \
    X(cache_misses, SUM, "chunks a read had to fetch or wait for")                      \
    X(readahead_used, SUM, "prefetched bytes a read later used")                        \
    X(readahead_wasted, SUM, "prefetched bytes evicted or dropped unused")              \
    X(peak_inflight, MAX, "most requests in flight at once")                            \
    X(stream_requests_peak, MAX, "most readahead requests one stream kept in flight")   \
    X(retries, SUM, "requests tried again")                                             \
    X(errors, SUM, "reads that failed")                                                 \
    X(disk_hits, SUM, "chunks the disk cache served")                                   \
    X(disk_misses, SUM, "chunks the disk cache did not hold (fetched or waited for)")   \
    X(disk_bytes_written, SUM, "bytes stored in the disk cache")                        \
    X(disk_evictions, SUM, "disk cache chunks reused to store this object's")           \
    X(disk_checksum_failures, SUM, "disk cache chunks that failed their checksum")     \
    X(trace_chunks_replayed, SUM, "chunks a learned trace fetched ahead of the program") \
    X(trace_chunks_used, SUM, "replayed chunks the program then read")                 \
    X(trace_chunks_wasted, SUM, "replayed chunks the program did not read")

struct object_stats {
#define STATS_FIELD(name, how, meaning) atomic_uint_fast64_t name;
    OBJECT_COUNTERS(STATS_FIELD)
#undef STATS_FIELD
    atomic_uint_fast64_t inflight; /* requests in flight now (not printed) */
};

/* A plain copy of the counters, for totals and printing. */
enum {
#define STATS_INDEX(name, how, meaning) STAT_##name,
    OBJECT_COUNTERS(STATS_INDEX)
#undef STATS_INDEX
    STAT_COUNT
};
struct stats_totals {
    uint64_t v[STAT_COUNT];
};

#define STAT_ADD(s, field, n) atomic_fetch_add_explicit(&(s)->field, (n), memory_order_relaxed)

/* Adds the live counters s to t (SUM) or keeps the larger (MAX). */
void stats_accumulate(struct stats_totals *t, const struct object_stats *s);
/* Adds the totals from to into the same way. */
void stats_merge(struct stats_totals *into, const struct stats_totals *from);
/* The stats line for one virtual path ("remoteio: stats path=... url=... size=N
 * requests=N ...\n"), truncated to fit; returns its length. */
size_t stats_format(char *buf, size_t cap, const char *path, const char *url, int64_t size,
                    const struct stats_totals *t);

/* Raises *counter to value if it is larger. */
static inline void stats_raise(atomic_uint_fast64_t *counter, uint_fast64_t value)
{
    uint_fast64_t seen = atomic_load_explicit(counter, memory_order_relaxed);
    while (value > seen &&
           !atomic_compare_exchange_weak_explicit(counter, &seen, value, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static inline void stats_inflight_begin(struct object_stats *s)
{
    stats_raise(&s->peak_inflight,
                atomic_fetch_add_explicit(&s->inflight, 1, memory_order_relaxed) + 1);
}

static inline void stats_inflight_end(struct object_stats *s)
{
    atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_relaxed);
}

#endif
