/* cache.h: the memory chunk cache, one per process, of at most REMOTEIO_CACHE_SIZE bytes.
 *
 * Objects are cut into chunks of REMOTEIO_CHUNK_SIZE bytes.  The cache owns one arena of
 * at most cache_size bytes (whole slots, at least CACHE_MIN_SLOTS of them: a larger chunk
 * size is clipped), reserved once and touched as it fills, cut into chunk slots: every
 * byte the shim fetches lands directly in a slot (in-flight data included), so the bound
 * is hard and there is no fragmentation.
 *
 * A chunk is PENDING while one request fills it, then READY.  Whoever needs a chunk that
 * is missing claims it (single flight: a second reader waits for the first one's request
 * instead of sending its own); consecutive claimed chunks are fetched as one range.
 * Readers pin the chunks they copy from; eviction takes the least recently used READY
 * chunk that nobody pins, sparing chunks readahead filled and nobody has read yet (they
 * never exceed readahead's budget), and taking first those a sequential stream has read
 * (see take_slot in cache.c).  When every slot is pinned, readers wait (bounded) and
 * readahead simply does not happen.
 *
 * The slots, table, LRU lists and counters make one tier (struct cache_tier in cache.c);
 * the process has one, the memory tier.  The cache knows nothing of HTTP or of objects:
 * it fills its slots through the source's fetch callback, and that callback is the seam
 * where a lower tier plugs in (a disk cache answers from its slab by src->key, and only
 * what it does not hold goes on to the network).
 *
 * Locking: one mutex guards the table, the LRU list and every chunk's state and pins; it
 * is held for memory work only.  Network I/O and copies happen with the chunk pinned and
 * the lock released.  One condition variable announces every state change.
 *
 * Errors: cache_init gives 0 or -1 (logged); a source's fetch 0 or a negative errno;
 * cache_read -1 with errno (EIO, ESTALE, ETIMEDOUT...); readahead never fails, it
 * fetches less. */
#ifndef REMOTEIO_CACHE_H
#define REMOTEIO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stats.h"

/* Destination of a fetch: consecutive chunk slots of `piece` bytes each (the last may be
 * shorter), to be filled in order. */
struct cache_sink {
    char **bufs;
    size_t nbufs;
    size_t piece;
};

/* The stable name of one version of an object, the same in every process and every run:
 * a 128-bit hash of its URL, validator (ETag, else Last-Modified) and size.  The memory
 * tier keys chunks by the per-process id; a disk tier keys them by (key, chunk index),
 * so that a later run, or another process, finds the chunks of the same version and
 * never those of another one.  It is a hash rather than the URL itself so that an index
 * on disk holds no credentials or presigned query. */
struct cache_key {
    uint64_t hi, lo;
};

struct cache_key cache_key_make(const char *url, const char *etag, const char *last_modified,
                                int64_t size);

/* What the cache needs from the owner of the chunks (an object). */
struct cache_source {
    uint64_t id;          /* unique in this process while the source lives */
    struct cache_key key; /* stable across processes and runs (see above) */
    int64_t size;         /* bytes; the last chunk may be short */
    struct object_stats *stats;
    /* Fill [offset, offset+len) into sink (chunk-aligned; len is the sum of its pieces);
     * 0 or a negative errno (ESTALE, EIO, EACCES...).  demand == false: readahead, which
     * may give up at once rather than wait for a connection.  The lower tier's seam: the
     * memory tier calls it for every miss, with no lock held, and a disk tier would sit
     * behind it (serve what it holds by src->key, fetch the rest from the network and
     * keep a copy). */
    int (*fetch)(struct cache_source *src, int64_t offset, int64_t len,
                 const struct cache_sink *sink, uint64_t deadline_ms, bool demand);
};

/* The cache holds at least this many chunks: a chunk size over cache_size / CACHE_MIN_SLOTS
 * is clipped (one warning naming both knobs), so the arena never exceeds cache_size. */
#define CACHE_MIN_SLOTS 4

int cache_init(uint64_t chunk_size, uint64_t cache_size);
/* Release the arena (between two cache_init calls, with nobody using the cache). */
void cache_fini(void);
uint64_t cache_chunk_size(void);
/* Bytes of the arena: whole slots, never more than the cache_size given to cache_init. */
uint64_t cache_capacity(void);
/* How much of the cache readahead may fill (three quarters of it). */
uint64_t cache_readahead_budget(void);

/* Copy [offset, offset+len) (within the object) into buf, fetching what is missing
 * (buf NULL: only fetch).  sequential: the read continues a sequential stream (its
 * readahead's chunks are then used once).  Returns len, or -1 with errno (EIO,
 * ESTALE...), never a partial count. */
ssize_t cache_read(struct cache_source *src, void *buf, size_t len, int64_t offset,
                   bool sequential, uint64_t deadline_ms);

/* Readahead: fetch the missing chunks of [offset, offset+len) without waiting for
 * memory or connections.  Chunks readahead filled that nobody has read yet, and those it
 * is filling, never hold more than cache_readahead_budget(): past it, the oldest unread
 * one is reused, else readahead stops.  Returns the number of bytes it fetched. */
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
