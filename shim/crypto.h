/* crypto.h: SHA-256 and HMAC-SHA256 for request signing, from OpenSSL's libcrypto.
 * libcurl (libcurl4-openssl) has normally loaded libcrypto.so.3 already; the first call
 * finds it there (or loads it) and resolves three functions, once per process
 * (pthread_once).  After that every call is reentrant and keeps no state: callers on any
 * thread may hash at the same time.  No hash is implemented here.
 * Calls may load a library (dlopen opens files): call from inside the shim only. */
#ifndef REMOTEIO_CRYPTO_H
#define REMOTEIO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64 /* lower-case hex digits, without the terminating NUL */

/* 0 when libcrypto and its functions are available; -1 when not (logged once). */
int crypto_available(void);

/* out = SHA-256(data).  0, or -1 when libcrypto is unavailable or fails. */
int crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* out = HMAC-SHA256(key, data).  0, or -1 when libcrypto is unavailable or fails. */
int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       uint8_t out[SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n characters and a NUL). */
void crypto_hex(const uint8_t *in, size_t n, char *out);

#endif
