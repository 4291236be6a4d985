/* disk_index.h: the layout of the disk cache's shared index file and the handle, private
 * to disk_cache.c (the index and chunk protocol) and disk_open.c (checks, layout, building).
 * Design and invariants: disk_cache.h. */
#ifndef REMOTEIO_DISK_INDEX_H
#define REMOTEIO_DISK_INDEX_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "disk_cache.h"

#define DC_MAGIC "RIODCIDX"
#define DC_FORMAT 5 /* 2: ref; 3: bcrc; 4: a read's fields first; 5: plain CRC32C, moved */
#define DC_HEADER_SIZE 4096
#define DC_PINS 6
#define DC_BLOCKS 16 /* a chunk's blocks, each with its own CRC (dc_slot.bcrc) */
#define NIL UINT32_MAX
#define PIN_LEASE_MS 10000   /* a reader copies one chunk in far less */
#define FILL_LEASE_MS 30000  /* a filler fetches and writes one chunk in far less */
#define LOCK_TIMEOUT_MS 2000 /* the lock is held for memory work only */
#define SWEEP_STEP 8         /* slots each claim checks for dead pins and fillers */
#define OPEN_WAIT_MS 5000    /* for another process building the index */
#define DEFAULT_MAX ((uint64_t)8 << 30)
#define DC_RETIRED 128       /* entries of the header's table of retired versions */
#define RETIRE_BATCH 4096    /* slots one hold of the lock scans for disk_cache_retire_others */

/* SLOT_ORPHAN: a FILLING slot taken from a live filler past its lease.  Only that filler
 * may still write into it, so it is in no hash chain and on no list, and nothing else is
 * put there until the filler dies, comes back (its fill or abandon frees it), or
 * ORPHAN_MAX_MS passed (a pid reused by another process). */
enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_ORPHAN };
#define ORPHAN_MAX_MS (10 * 60 * 1000)

struct dc_pin {
    uint64_t tag; /* pid << 32 | per-process nonce; 0: unused.  Atomic. */
    uint64_t until_ms; /* atomic */
};

/* This process's memory of where a chunk was READY (disk_cache.c's lock-free read path):
 * direct-mapped, every word atomic, ver a seqlock (odd while written, 0 empty). */
struct dc_local {
    uint64_t ver;
    uint64_t id[2], url_hash, chunk;
    uint64_t slot_seq; /* slot << 32 | seq at which it was READY */
    uint64_t len_crc;  /* len << 32 | crc */
} __attribute__((aligned(64)));
#define DC_LOCAL_MAX 65536 /* entries at most (64 bytes each, touched as used) */

/* 64-byte aligned.  What a read touches is in the first 128 bytes, two neighbouring
 * cache lines: a lock-free read (disk_cache.c) loads seq and the block CRCs (its length
 * and CRC come from the process's map), takes one of the first pins and sets ref; a
 * locked one reads len and crc here too; the rest is for the locked paths. */
struct dc_slot {
    uint32_t seq;      /* bumped on every change of identity or state; futex word.  Atomic */
    uint32_t ref;      /* when a read that took no lock last used it (a recency, 0: none):
                        * victim() puts the slot where that read places it.  Atomic */
    uint32_t len, crc;
    /* READY: CRC32C of each block of chunk_size / DC_BLOCKS bytes (the last
     * one short when len is); crc covers them with the key, the chunk index and len.
     * Atomic words (read by lock-free readers). */
    uint32_t bcrc[DC_BLOCKS];
    struct dc_pin pins[DC_PINS];
    struct disk_key key;
    uint64_t chunk;
    uint64_t tick;     /* last use (h->tick), the LRU order */
    uint32_t moved;    /* the recency at which it took its place in the list (0: unknown) */
    uint64_t lease_ms; /* FILLING, ORPHAN: the owner's deadline */
    uint32_t state;
    int32_t owner;     /* FILLING, ORPHAN: the filler's pid */
    uint32_t hnext, prev, next;
} __attribute__((aligned(64)));

struct counters {
    uint64_t hits, misses, writes, bytes_written, evictions, checksum_failures, takeovers;
};

struct dc_header {
    char magic[8];
    uint32_t format, header_size, slot_size, chunk_size, nslots, nbuckets;
    uint64_t index_size, slab_size, limit;
    uint8_t secret[16];
    uint32_t header_crc; /* over everything above */
    uint32_t pad;
    /* Mutable, under lock. */
    pthread_mutex_t lock;
    uint64_t tick;
    uint32_t head, tail; /* eviction list of FREE and READY slots; head: most recent */
    uint32_t sweep;
    uint32_t n_ready, n_filling; /* n_filling counts ORPHAN slots too */
    uint64_t used;
    struct counters total; /* every process's counters since the index was built (atomics) */
    /* Per URL (direct-mapped by url_hash): the version whose open last retired the others,
     * cleared when a chunk of another version of that URL is stored.  An open finding its
     * own version there has nothing to retire: no scan.  All zero in an older index. */
    struct { uint64_t url_hash; uint8_t id[16]; } retired[DC_RETIRED];
    /* DC_CLEAN: the last process attached detached through disk_cache_detach, leaving
     * the lists and chains whole and no slot FILLING, in the boot clean_boot names
     * (disk_boot_id), and nobody attached since (an opener clears it). */
    uint32_t clean, clean_boot;
};
#define DC_CLEAN 0x636c6e31u
_Static_assert(sizeof(struct dc_header) <= DC_HEADER_SIZE, "index header too large");

struct disk_cache {
    int dirfd, index_fd, slab_fd;
    struct dc_header *h;
    size_t map_len;
    struct dc_slot *slots;
    uint32_t *buckets;
    uint32_t nslots, bucket_mask, chunk_size;
    uint64_t limit;
    uint64_t pin_lease_ms, fill_lease_ms; /* this process's leases (disk_cache_set_leases) */
    int disabled; /* atomic */
    uint32_t *stored;   /* per slot: seq + 1 when this process published it (atomics) */
    struct dc_local *local; /* local_mask + 1 entries (in local_mem), or NULL */
    void *local_mem;   /* its mapping, local_len bytes */
    size_t local_len;
    uint32_t local_mask;
    uint32_t nonce; /* atomic: makes pin tags unique within the process */
    int32_t opener; /* the pid that opened it (a forked child does not detach it) */
    struct counters c; /* atomics */
    char dir[PATH_MAX];
};

/* A hash of this boot's id (/proc/sys/kernel/random/boot_id), never 0; 0 when it cannot
 * be read.  Leases and pids mean nothing across a reboot. */
uint32_t disk_boot_id(void);

/* One log line, then every call answers "miss" / "not stored". */
void disk_step_aside(struct disk_cache *dc, const char *what, int err);
/* Rebuild hash chains, the eviction list and the counts from the slots (under the lock, or
 * with the index to oneself: force, which also drops every pin and FILLING slot). */
void disk_index_repair(struct disk_cache *dc, bool force);

#endif
