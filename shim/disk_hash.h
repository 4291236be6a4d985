/* disk_hash.h: the two hashes of the disk cache (disk_cache.c), both of our own making so
 * that the tier needs no library:
 *   - SipHash-2-4 with its 128-bit output, keyed with a secret kept in the cache's index
 *     (0600 in a 0700 directory).  It names objects: keyed, so nobody who cannot read the
 *     index can craft two (URL, validator, size) that share a name.  Not used for
 *     anything else, and not a replacement for a signature.
 *   - CRC32C (Castagnoli).  It detects torn writes and flipped bits in cached chunks and
 *     trace records; it is not meant to resist an adversary (the directory's permissions
 *     are what keep others out).  The standard function, whichever way it is computed:
 *     carry-less folding of 512-bit registers where the CPU has VPCLMULQDQ (about 1.5x
 *     the speed of the crc32 instruction), else three crc32 streams joined by a
 *     carry-less shift, else the crc32 instruction, else slicing by 8.
 * Pure functions, no state but tables built once (thread-safe: pthread_once) and the
 * choice of implementation, which only a test changes (crc32c_use, before any thread). */
#ifndef REMOTEIO_DISK_HASH_H
#define REMOTEIO_DISK_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* out = SipHash-2-4-128(key, in). */
void siphash128(const uint8_t key[16], const void *in, size_t len, uint8_t out[16]);
/* Continue a CRC32C (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* Ways of computing it, slowest first. */
enum crc32c_impl { CRC32C_SOFT, CRC32C_SSE42, CRC32C_PCLMUL, CRC32C_VPCLMUL };
/* For tests: compute it this way from now on; false (and no change) if the CPU cannot. */
bool crc32c_use(enum crc32c_impl impl);

#endif
