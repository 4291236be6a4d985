/* stats.h: per-object counters, updated with relaxed atomics on the I/O paths and printed
 * at exit when REMOTEIO_STATS is set (see stats.c for the line format). */
#ifndef REMOTEIO_STATS_H
#define REMOTEIO_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct object_stats {
    atomic_uint_fast64_t requests;        /* range requests sent (each attempt counts) */
    atomic_uint_fast64_t bytes_fetched;   /* body bytes received for ranges */
    atomic_uint_fast64_t bytes_served;    /* bytes returned to the program */
    atomic_uint_fast64_t cache_hits;      /* chunks found in the cache by a read */
    atomic_uint_fast64_t cache_misses;    /* chunks a read had to fetch or wait for */
    atomic_uint_fast64_t readahead_used;  /* prefetched bytes a read later used */
    atomic_uint_fast64_t readahead_wasted;/* prefetched bytes evicted or dropped unused */
    atomic_uint_fast64_t retries;
    atomic_uint_fast64_t errors;          /* reads that failed */
    atomic_int inflight;
    atomic_int peak_inflight;
};

#define STAT_ADD(s, field, n) atomic_fetch_add_explicit(&(s)->field, (n), memory_order_relaxed)

static inline void stats_inflight_begin(struct object_stats *s)
{
    int now = atomic_fetch_add_explicit(&s->inflight, 1, memory_order_relaxed) + 1;
    int peak = atomic_load_explicit(&s->peak_inflight, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&s->peak_inflight, &peak, now,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static inline void stats_inflight_end(struct object_stats *s)
{
    atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_relaxed);
}

#endif
