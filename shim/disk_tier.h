/* disk_tier.h: the process's disk tier (disk_cache.h) under the memory cache.
 *
 * REMOTEIO_CACHE_DIR turns it on: disk_tier_start opens it once, when the backend starts,
 * with the memory cache's chunk size and REMOTEIO_DISK_CACHE_SIZE as its limit.  A
 * directory that is refused or fails costs one log line and the process runs without it.
 * A read first goes to disk_tier_read: the chunks the tier holds are copied from the slab
 * straight into the reader's buffer (one copy; the blocks read checked at every read,
 * disk_cache.h), with no memory cache slot; what is left goes through the
 * memory cache, and readahead brings into it only what the tier does not hold.
 * disk_tier_fetch is what the memory cache's fetch callback does with the tier in place:
 * chunks the tier holds come from the slab into the memory cache's slots; the others are
 * claimed (one process on the host fetches a chunk, the others wait for it), fetched
 * from the network as runs of consecutive chunks, one range each, and handed to the
 * writer thread (a bounded queue: the CRC and the slab write happen off the fetching
 * thread; see disk_tier.c).  Chunks a process stored itself are read through its memory
 * cache, which holds them.  Neither a failed write nor a tier that stepped aside ever
 * fails a read: the data then simply comes from the network.
 *
 * Locking: the handle is set once, before any object exists (start-up is serialised by
 * init.c's start_lock), and read-only afterwards; disk_cache.c locks its own index; the
 * writer's queue has its own mutex (disk_tier.c). */
#ifndef REMOTEIO_DISK_TIER_H
#define REMOTEIO_DISK_TIER_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "disk_cache.h"

/* Open the tier if REMOTEIO_CACHE_DIR is set (chunk_size: the memory cache's).  Never
 * fails the caller: a tier that cannot be used is logged once and left off. */
void disk_tier_start(uint64_t chunk_size);

/* The part of the memory budget (REMOTEIO_CACHE_SIZE) the tier's write queue takes when
 * REMOTEIO_CACHE_DIR is set, 0 otherwise: the memory cache is given the rest, so that
 * the two together stay within the budget.  Called once, before the cache is made. */
uint64_t disk_tier_memory_share(uint64_t cache_size);
/* At exit, after the readahead workers stopped: leave the index marked whole if this
 * process is the last one attached (disk_cache_detach). */
void disk_tier_detach(void);
bool disk_tier_on(void);

/* The disk key of one version of an object (URL as mapped, ETag else Last-Modified,
 * size); an all-zero key (never stored nor found) when the tier is off or the object has
 * no validator (a change could not be recognised). */
void disk_tier_key(struct disk_key *k, const char *url, const char *etag,
                   const char *last_modified, int64_t size);
/* An object was opened in the version k names: other versions' chunks are reused first. */
void disk_tier_opened(const struct disk_key *k);

/* The network side of a fetch: the signature of cache_source.fetch. */
typedef int (*disk_tier_net_fn)(struct cache_source *src, int64_t offset, int64_t len,
                                const struct cache_sink *sink, uint64_t deadline_ms,
                                bool demand);

/* Fill sink with [offset, offset+len) of src as cache_source.fetch does, the tier first
 * (key k), net for the rest.  0 or net's negative errno (-ETIMEDOUT waiting past
 * deadline_ms for another process's fetch is reported as net's failure would be). */
int disk_tier_fetch(const struct disk_key *k, struct cache_source *src, int64_t offset,
                    int64_t len, const struct cache_sink *sink, uint64_t deadline_ms,
                    bool demand, disk_tier_net_fn net);

/* Serve [offset, offset+len) of an object of size bytes straight from the slab into buf,
 * chunk after chunk as long as the tier holds them (a warm read: one copy, no memory
 * cache slot, the blocks read checked by their CRCs).  Returns the bytes served: a
 * prefix, 0 when the first chunk is not there; never fails (the rest goes through the
 * memory cache, which fetches, claims or waits). */
size_t disk_tier_read(const struct disk_key *k, struct object_stats *stats, int64_t size,
                      void *buf, size_t len, int64_t offset);
/* How much of [offset, offset+len), from its start, the tier holds now (whole chunks,
 * clipped to the range): what readahead and a scattered read need not bring into the
 * memory cache, since disk_tier_read serves it. */
int64_t disk_tier_held(const struct disk_key *k, int64_t size, int64_t offset, int64_t len);

#endif
