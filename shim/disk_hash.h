/* disk_hash.h: the two hashes of the disk cache (disk_cache.c), both of our own making so
 * that the tier needs no library:
 *   - SipHash-2-4 with its 128-bit output, keyed with a secret kept in the cache's index
 *     (0600 in a 0700 directory).  It names objects: keyed, so nobody who cannot read the
 *     index can craft two (URL, validator, size) that share a name.  Not used for
 *     anything else, and not a replacement for a signature.
 *   - CRC32C (Castagnoli), with the SSE4.2 instruction where the CPU has it, otherwise
 *     slicing by 8.  It detects torn writes and flipped bits in cached chunks; it is not
 *     meant to resist an adversary (the directory's permissions are what keep others out).
 *     For a chunk's bytes, crc32c_x4 runs four CRC32C lanes over interleaved 8-byte words
 *     (independent chains, so the instruction's latency is hidden: about 3x the speed of
 *     one chain) and folds the four by a CRC32C of them: an error within one lane is found
 *     as by a CRC, errors in several lanes unless 32 bits collide.
 * Pure functions, no state but a table built once (thread-safe: pthread_once). */
#ifndef REMOTEIO_DISK_HASH_H
#define REMOTEIO_DISK_HASH_H

#include <stddef.h>
#include <stdint.h>

/* out = SipHash-2-4-128(key, in). */
void siphash128(const uint8_t key[16], const void *in, size_t len, uint8_t out[16]);
/* Continue a CRC32C (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The four-lane checksum of a chunk's bytes (see above). */
uint32_t crc32c_x4(const void *buf, size_t len);

#endif
