/* crypto.c: see crypto.h.  The only state is the table of resolved functions, written
 * once under pthread_once and read-only afterwards.  The library handle is never closed
 * (libcurl's TLS uses the same library).  Prototypes are declared here, so the build
 * needs no OpenSSL headers; EVP_Digest, EVP_sha256 and HMAC have kept these signatures
 * from OpenSSL 1.1.0 through 3.x, and none of them is deprecated in 3.x. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>

#include "crypto.h"
#include "log.h"

#define LIBCRYPTO_SONAME "libcrypto.so.3"

typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;

static struct {
    const EVP_MD *(*evp_sha256)(void);
    int (*evp_digest)(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl);
    unsigned char *(*hmac)(const EVP_MD *md, const void *key, int key_len,
                           const unsigned char *data, size_t data_len, unsigned char *out,
                           unsigned int *out_len);
    int ok;
} lib;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static const unsigned char no_data; /* stands for NULL data of length 0 */

static void lib_resolve(void)
{
    void *h = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        h = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        log_error("cannot load %s (%s): requests cannot be signed", LIBCRYPTO_SONAME,
                  why ? why : "no reason given");
        return;
    }
    *(void **)&lib.evp_sha256 = dlsym(h, "EVP_sha256");
    *(void **)&lib.evp_digest = dlsym(h, "EVP_Digest");
    *(void **)&lib.hmac = dlsym(h, "HMAC");
    if (!lib.evp_sha256 || !lib.evp_digest || !lib.hmac) {
        log_error("%s lacks EVP_sha256, EVP_Digest or HMAC: requests cannot be signed",
                  LIBCRYPTO_SONAME);
        return;
    }
    lib.ok = 1;
}

int crypto_available(void)
{
    pthread_once(&lib_once, lib_resolve);
    return lib.ok ? 0 : -1;
}

int crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    if (crypto_available() < 0)
        return -1;
    unsigned int n = 0;
    if (!data)
        data = &no_data;
    if (lib.evp_digest(data, len, out, &n, lib.evp_sha256(), NULL) != 1 || n != SHA256_LEN)
        return -1;
    return 0;
}

int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       uint8_t out[SHA256_LEN])
{
    if (crypto_available() < 0 || key_len > INT_MAX)
        return -1;
    unsigned int n = 0;
    if (!data)
        data = &no_data;
    if (!lib.hmac(lib.evp_sha256(), key, (int)key_len, data, len, out, &n) || n != SHA256_LEN)
        return -1;
    return 0;
}

void crypto_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
