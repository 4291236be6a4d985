/* disk_cache.h: the persistent disk tier, shared by every process of one user on the host,
 * under a hard limit that holds by construction.
 *
 * Design
 *   DIR/index  header + slot table + hash buckets, mapped MAP_SHARED by every process.
 *   DIR/slab   nslots * chunk_size bytes; slot i's bytes live at offset i * chunk_size.
 *   Both files are sized and fallocate()d once, when the index is built, so every block
 *   the tier will ever use is allocated at start (ENOSPC shows up there, not mid-run), and
 *   nothing later changes a file's size: writes overwrite allocated blocks.  The layout is
 *   chosen so that index + slab + the directory itself + a margin for the file system's
 *   extent blocks <= limit, in allocated bytes and in apparent size; the allocation is
 *   measured after fallocate and the slab shrunk if the file system charged more.  A limit
 *   larger than the file system can hold (statvfs: free space + what the cache files
 *   already hold, less 10%) is reduced with one log line.  Default limit (limit 0): a
 *   quarter of the free space, at most 8 GiB and at least 64 chunks: large enough for the
 *   working set of a few VM images, small enough to leave most of a disk to its owner.
 *   On a copy-on-write file system (btrfs) the files are created NOCOW where possible.
 *
 *   A slot is FREE, FILLING (one process fetching it: owner pid, lease deadline), READY
 *   (key, chunk index, length, CRC32C) or ORPHAN (a FILLING slot taken from a live filler
 *   past its lease: out of the hash, on no list, reused only once that filler is dead or
 *   came back, or ORPHAN_MAX_MS later).  The key of an object is SipHash-128 of (URL,
 *   validator, size) under the index's secret, plus a 64-bit hash of the URL alone (to
 *   find an object's older versions); both are stored in the slot and compared in full.
 *   The CRC covers the key, the chunk index, the length and the bytes.
 *   Eviction: one list holds FREE and READY slots, least recently used at the tail (FREE
 *   slots and older versions of an object are put at the tail).  A claim takes the first
 *   slot from the tail that no live process has pinned, whichever object it belongs to.
 *   FILLING and ORPHAN slots are on no list.  Retiring older versions at open scans the
 *   slots (in batches, the lock released between) only when the header's small table
 *   does not already name the opened version as the one retired for, and nothing of
 *   another version of that URL was stored since: reopening an unchanged object is O(1).
 *
 *   Reads.  A reader pins the slot, preads the bytes it needs, and checks the slot's seq
 *   did not move.  A chunk is cut into DC_BLOCKS blocks, each with its own CRC in the slot
 *   (bcrc), and the slot's CRC covers those with the key, chunk index and length: every
 *   read, however small, reads the blocks that cover its range and checks each of them
 *   and the block CRCs against the slot's CRC, in the bytes it returns (read straight
 *   into the caller's buffer when the range is whole blocks, else through a scratch
 *   copy).  A 4 KiB read of a 64 KiB chunk checks 4 KiB; nothing is trusted from an
 *   earlier check, so bytes changed in the slab after one read are caught by the next
 *   (an earlier design checked a slot once per process and generation, and served junk
 *   written into the slab after that check).  A process also remembers where it last
 *   found a chunk READY (slot, seq: dc->local); reading it again takes no lock: the
 *   slot's seq still equal means the slot still holds that chunk, READY; the reader pins
 *   it and checks the seq again, then copies and checks it once more (I2).  Such a read
 *   cannot move the slot up the eviction list: it marks the slot referenced, and a claim
 *   walking the list moves a referenced slot to the head instead of reusing it (a second
 *   chance, as in CLOCK).
 *   A large read takes its whole chunks as a run (disk_cache_read_run): pinned with one
 *   hold of the lock at most, read with one pread per stretch of slots that lie end to
 *   end in the slab (free slots are reused lowest index first, so chunks claimed in order
 *   do), each block checked as above.  What a read touches of a slot is in its first two
 *   cache lines, fetched together.
 *
 * Invariants
 *   I1 The files' sizes and allocations are fixed when the index is built; no call grows
 *      them (pwrite only within [0, slab_size), the index only through its mapping).
 *   I2 A byte is returned only if, in the same call, the copy it is returned from matched
 *      its block's CRC, the block CRCs matched the slot's CRC over key, chunk index,
 *      length and them, and the slot's seq did not change from the pin to the end of the
 *      copy: a slot reused under a reader is a miss, never served.  What the check
 *      catches is a torn or corrupted write, a flipped bit read from the medium, junk
 *      written into the slab or the index at any time, a truncated slab.
 *   I3 The index lock (a process-shared robust mutex) guards every mutable field of the
 *      index but the atomic words a lock-free read uses (seq, ref, pins); it is held for
 *      memory work only, never across a pread/pwrite, a fetch or a
 *      wait, and taken with a bounded timeout.  EOWNERDEAD runs a repair pass.
 *   I4 A pin (pid, lease) keeps a READY slot from reuse while a reader copies; a pin of a
 *      dead process, or past its lease, counts as absent.  A FILLING slot whose owner is
 *      dead (a zombie counts as dead: /proc/PID/stat) is taken over as it is by the next
 *      claimer, or freed by the sweep each claim runs over a few slots, at once; one whose
 *      owner lives but is past its lease becomes an ORPHAN and the chunk is claimed in
 *      another slot.  Only a slot's FILLING owner writes into it, so no late filler ever
 *      writes over another's chunk: it writes into its orphan, cannot publish it (the seq
 *      moved) and frees it.  A claim whose fill fails for any reason (lost, its slot's
 *      seq moved by a repair, a failed write, the tier stepped aside) or that is
 *      abandoned frees its slot at once, so that waiters go on without waiting out the
 *      lease.  Nothing stays pinned or FILLING beyond a lease; an ORPHAN
 *      holds a slot while its live filler is stuck, ORPHAN_MAX_MS at most.
 *   I5 An index whose magic, format version, sizes or header CRC do not match, or whose
 *      files are missing or of the wrong size, is rebuilt empty (one log line) by a process
 *      that holds the index's exclusive OFD lock, i.e. while no other process has it open.
 *      Every user holds a shared OFD lock while attached.  A sound index opened that way
 *      is repaired (disk_index_repair, force) unless the last process to leave marked it
 *      whole (disk_cache_detach, at exit, when it was alone) and its lock is free.
 *   I6 Any I/O error, ENOSPC, EROFS or a failed check makes the tier step aside: one log
 *      line, and every later call answers "miss" / "not stored" (-ENODEV).
 *
 * I/O goes through raw syscalls (disk_sys.h), not libc: inside the shim, libc's open, pread,
 * mmap... are our own hooks, and the standalone tests have no REAL() table.
 *
 * Threads and fork: a handle may be used by many threads at once.  After fork a child may
 * use the parent's handle for new calls (its pins and claims are its own, under its pid);
 * a claim the parent made is not the child's to fill (disk_cache_fill answers -ESTALE).
 * After exec the descriptors (O_CLOEXEC) and the mapping are gone.
 */
#ifndef REMOTEIO_DISK_CACHE_H
#define REMOTEIO_DISK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct disk_cache;

/* An object's name in the cache: made by disk_key_make from (URL, validator, size). */
struct disk_key {
    uint8_t id[16];    /* SipHash-128 of URL, validator and size */
    uint64_t url_hash; /* the URL alone: finds older versions of the same object */
};

/* A slot reserved for one chunk by disk_cache_claim, until fill or abandon. */
struct disk_claim {
    uint32_t slot;
    uint32_t seq;
    struct disk_key key;
    uint64_t chunk;
    bool evicted; /* a READY chunk (of any object) was reused for it */
};

struct disk_cache_stats {
    uint64_t limit;      /* the limit in force (after any reduction) */
    uint64_t file_bytes; /* what the cache's files take (max of allocated, apparent) */
    uint64_t slots, chunk_size;
    uint64_t used;       /* bytes of READY chunks, host-wide */
    uint64_t ready, filling, pinned; /* slots in those states now (host-wide) */
    /* This handle's counters, and every process's since the index was built: */
    uint64_t hits, misses, writes, bytes_written, evictions, checksum_failures, takeovers;
    struct {
        uint64_t hits, misses, writes, bytes_written, evictions, checksum_failures, takeovers;
    } host;
};

/* Open (creating if need be) the cache in dir.  limit 0: the default (see above);
 * chunk_size: a multiple of 4096.  NULL (one log line) when the tier cannot be used. */
struct disk_cache *disk_cache_open(const char *dir, uint64_t limit, uint32_t chunk_size);
/* Open an existing cache in dir in the layout it has, for the tools: never builds nor
 * resizes it.  NULL (one log line) when there is none or it cannot be used. */
struct disk_cache *disk_cache_attach(const char *dir);
void disk_cache_close(struct disk_cache *dc);
/* At exit, in the process that opened dc: if no other process is attached, mark the
 * index as left whole, so that the next opener skips its repair pass (I5). */
void disk_cache_detach(struct disk_cache *dc);
/* Hands each descriptor the tier holds to place(fd), which returns the number it lives
 * at from then on (the shim moves them among its own, high and close-on-exec, so that a
 * program closing or reusing low numbers cannot take them). */
void disk_cache_place_descriptors(struct disk_cache *dc, int (*place)(int fd));

/* 0, or -ENOMEM (then k is all zero: such a key never hits and is never stored). */
int disk_key_make(const struct disk_cache *dc, struct disk_key *k, const char *url,
                  const char *validator, uint64_t size);

/* A hit copies the chunk into buf (len >= its length) and returns its length.
 * Otherwise: -ENOENT (not there), -EBADMSG (it failed its check: counted, dropped; claim
 * it like a chunk that is not there), -EINPROGRESS (another
 * live process is filling it: disk_cache_wait), -ENODEV (the tier stepped aside, or, for
 * this call only, its lock stayed busy for 2 s).  Every call below answers -ENODEV the
 * same way: the caller goes on from the network. */
ssize_t disk_cache_read(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                        void *buf, size_t len);

/* Copy [off, off+len) of chunk of k into buf straight from the slab (buf NULL and len 0:
 * only make sure it is there and sound).  The blocks that cover the range are checked
 * in the bytes copied, at every call (I2).  len, or the
 * errors of disk_cache_read (-EINVAL: the range is not within the chunk; -ENOENT is not
 * counted as a miss), -ENOMEM, or -EAGAIN: this process stored that chunk itself (the
 * memory cache in front likely holds it still). */
ssize_t disk_cache_read_at(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                           size_t off, void *buf, size_t len);
/* Is chunk of k READY now?  (A hint: it may be reused the next moment.) */
bool disk_cache_has(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk);
/* How many chunks from first on are READY, consecutively, at most max (looked up under
 * one hold of the lock: the caller keeps max to a few hundred). */
size_t disk_cache_ready_run(struct disk_cache *dc, const struct disk_key *k, uint64_t first,
                            size_t max);
#define DISK_READ_RUN_MAX 32 /* chunks one disk_cache_read_run pins at once, at most */
/* Read whole chunks first.. (nchunks at most, each chunk_size long) into buf, with one
 * lock or none and as few preads as their slots allow: how many leading chunks were
 * read and checked (I2).  The chunk where it stopped is for disk_cache_read_at. */
size_t disk_cache_read_run(struct disk_cache *dc, const struct disk_key *k, uint64_t first,
                           void *buf, size_t nchunks);

/* Reserve a slot to fill chunk of k.  0: the caller fetches, then disk_cache_fill or
 * disk_cache_abandon.  -EEXIST: a READY copy is there (read it).  -EINPROGRESS: another
 * live process fills it.  -ENOSPC: every slot is pinned or filling (fetch, do not store).
 * -ENODEV: stepped aside. */
int disk_cache_claim(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                     struct disk_claim *c);
/* Write len (<= chunk_size) bytes into the claimed slot and publish them.  0, -ESTALE
 * (the claim was lost: lease expired and taken over, or not this process's) or -ENODEV. */
int disk_cache_fill(struct disk_cache *dc, const struct disk_claim *c, const void *data,
                    size_t len);
void disk_cache_abandon(struct disk_cache *dc, const struct disk_claim *c);
/* Wait until chunk of k is no longer being filled by a live process, at most until
 * deadline_ms (clock.h's clock).  0: READY now (read it); -ENOENT: not there any more (claim
 * it); -ETIMEDOUT; -ENODEV. */
int disk_cache_wait(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                    uint64_t deadline_ms);

/* The whole protocol for one chunk: read, or claim + fetch + fill, or wait for another
 * process's fetch; fetch(arg, chunk, buf, len) returns the chunk's length or -errno.
 * Returns the length in buf or -errno (the fetch's, or -ETIMEDOUT).  When the tier is off
 * or full, it just fetches. */
typedef ssize_t (*disk_fetch_fn)(void *arg, uint64_t chunk, void *buf, size_t len);
ssize_t disk_cache_get(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                       void *buf, size_t len, uint64_t deadline_ms, disk_fetch_fn fetch,
                       void *arg);

/* Put every chunk of other versions of k's URL (same url_hash, other id) at the tail of
 * the eviction list: they are reused first.  Returns how many. */
size_t disk_cache_retire_others(struct disk_cache *dc, const struct disk_key *k);
/* Drop chunks of k (all of them when k is NULL).  Returns how many. */
size_t disk_cache_clear(struct disk_cache *dc, const struct disk_key *k);
/* Drop chunks of every version of url (as given to disk_key_make).  Returns how many. */
size_t disk_cache_clear_url(struct disk_cache *dc, const char *url);
/* Call fn for every READY chunk, from a copy of its slot taken under the lock (fn runs
 * without it, and may call the functions above).  Returns how many. */
typedef void (*disk_each_fn)(void *arg, const struct disk_key *k, uint64_t chunk,
                             uint32_t len, uint64_t last_use);
size_t disk_cache_each(struct disk_cache *dc, disk_each_fn fn, void *arg);
/* Release pins of dead processes and FILLING slots of dead or late fillers, everywhere. */
size_t disk_cache_sweep(struct disk_cache *dc);
void disk_cache_stats(struct disk_cache *dc, struct disk_cache_stats *st);
/* The same but pinned, which takes a pass over every slot: 0. */
void disk_cache_usage(struct disk_cache *dc, struct disk_cache_stats *st);
/* The leases this process's pins and claims take (defaults 10 s and 30 s): a pin or claim
 * older than its lease counts as absent, even if its process lives. */
void disk_cache_set_leases(struct disk_cache *dc, uint64_t pin_ms, uint64_t fill_ms);

#endif
