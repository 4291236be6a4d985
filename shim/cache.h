/* cache.h: the memory chunk cache, one per process, of at most REMOTEIO_CACHE_SIZE bytes.
 *
 * Objects are cut into chunks of REMOTEIO_CHUNK_SIZE bytes.  The cache owns one arena of
 * cache_size bytes, reserved once and touched as it fills, cut into chunk slots: every
 * byte the shim fetches lands directly in a slot (in-flight data included), so the bound
 * is hard and there is no fragmentation.
 *
 * A chunk is PENDING while one request fills it, then READY.  Whoever needs a chunk that
 * is missing claims it (single flight: a second reader waits for the first one's request
 * instead of sending its own); consecutive claimed chunks are fetched as one range.
 * Readers pin the chunks they copy from; eviction takes the least recently used READY
 * chunk that nobody pins, sparing chunks readahead filled and nobody has read yet while
 * they fit in readahead's budget, and taking first those a sequential stream has read
 * (see take_slot in cache.c).  When every slot is pinned, readers wait (bounded) and
 * readahead simply does not happen.
 *
 * Locking: one mutex guards the table, the LRU list and every chunk's state and pins; it
 * is held for memory work only.  Network I/O and copies happen with the chunk pinned and
 * the lock released.  One condition variable announces every state change.
 *
 * Errors: cache_read returns -1 with errno (EIO, ESTALE, ETIMEDOUT...), a source's fetch
 * 0 or a negative errno; readahead never fails, it fetches less. */
#ifndef REMOTEIO_CACHE_H
#define REMOTEIO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http.h"
#include "stats.h"

/* What the cache needs from the owner of the chunks (an object). */
struct cache_source {
    uint64_t id;   /* unique while the source lives */
    int64_t size;  /* bytes; the last chunk may be short */
    struct object_stats *stats;
    /* Fetch [offset, offset+len) into sink; 0 or a negative errno. */
    int (*fetch)(struct cache_source *src, int64_t offset, int64_t len,
                 const struct http_sink *sink, uint64_t deadline_ms, bool demand);
};

int cache_init(uint64_t chunk_size, uint64_t cache_size);
uint64_t cache_chunk_size(void);
/* How much of the cache readahead may fill (three quarters of it). */
uint64_t cache_readahead_budget(void);

/* Copy [offset, offset+len) (within the object) into buf, fetching what is missing
 * (buf NULL: only fetch).  sequential: the read continues a sequential stream (its
 * readahead's chunks are then used once).  Returns len, or -1 with errno (EIO,
 * ESTALE...), never a partial count. */
ssize_t cache_read(struct cache_source *src, void *buf, size_t len, int64_t offset,
                   bool sequential, uint64_t deadline_ms);

/* Readahead: fetch the missing chunks of [offset, offset+len) without waiting for
 * memory or connections.  Returns the number of bytes it fetched. */
int64_t cache_prefetch(struct cache_source *src, int64_t offset, int64_t len,
                       uint64_t deadline_ms);

/* Bytes of src that readahead fetched and nobody has read yet. */
uint64_t cache_unread_prefetch(const struct cache_source *src);

/* Forget every chunk of src (it is going away; nobody reads it any more). */
void cache_drop_source(struct cache_source *src);

void cache_atfork_prepare(void);
void cache_atfork_parent(void);
void cache_atfork_child(void);

#endif
