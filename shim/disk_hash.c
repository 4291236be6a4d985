/* disk_hash.c: see disk_hash.h. */
#include <pthread.h>
#include <string.h>

#include "disk_hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian hosts only (x86-64, arm64) */
}

static void sipround(uint64_t v[4])
{
    v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
    v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

void siphash128(const uint8_t key[16], const void *in, size_t len, uint8_t out[16])
{
    const uint8_t *p = in;
    uint64_t k0 = load64(key), k1 = load64(key + 8);
    uint64_t v[4] = { 0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
                      0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1 };
    v[1] ^= 0xee;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load64(p + i);
        v[3] ^= m;
        sipround(v);
        sipround(v);
        v[0] ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)p[whole + i] << (8 * i);
    v[3] ^= b;
    sipround(v);
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xee;
    for (int i = 0; i < 4; i++)
        sipround(v);
    uint64_t h = v[0] ^ v[1] ^ v[2] ^ v[3];
    memcpy(out, &h, 8);
    v[1] ^= 0xdd;
    for (int i = 0; i < 4; i++)
        sipround(v);
    h = v[0] ^ v[1] ^ v[2] ^ v[3];
    memcpy(out + 8, &h, 8);
}

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void crc_setup(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t soft_u64(uint32_t crc, uint64_t w)
{
    w ^= crc;
    return crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
           crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
           crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
           crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
}

static uint32_t crc_soft(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len >= 8) {
        crc = soft_u64(crc, load64(p));
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p,
                                                             size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        c = __builtin_ia32_crc32di(c, load64(p));
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_setup);
    crc = ~crc;
#if defined(__x86_64__)
    if (crc_hw)
        return ~crc_sse42(crc, buf, len);
#endif
    return ~crc_soft(crc, buf, len);
}

/* Four lanes over 32-byte blocks, word j of a block to lane j; the rest to lane 0. */
#define LANES_BODY(STEP)                                                               \
    uint32_t l[4] = { ~0u, ~0u, ~0u, ~0u };                                           \
    size_t blocks = len / 32;                                                          \
    for (size_t b = 0; b < blocks; b++, p += 32) {                                     \
        l[0] = STEP(l[0], load64(p));                                                  \
        l[1] = STEP(l[1], load64(p + 8));                                              \
        l[2] = STEP(l[2], load64(p + 16));                                             \
        l[3] = STEP(l[3], load64(p + 24));                                             \
    }                                                                                  \
    l[0] = ~crc32c(~l[0], p, len % 32);                                                \
    for (int i = 0; i < 4; i++)                                                        \
        l[i] = ~l[i];                                                                  \
    return crc32c(0, l, sizeof l)

static uint32_t x4_soft(const uint8_t *p, size_t len)
{
    LANES_BODY(soft_u64);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t hw_u64(uint32_t crc, uint64_t w)
{
    return (uint32_t)__builtin_ia32_crc32di(crc, w);
}

__attribute__((target("sse4.2"))) static uint32_t x4_sse42(const uint8_t *p, size_t len)
{
    LANES_BODY(hw_u64);
}
#endif

uint32_t crc32c_x4(const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_setup);
#if defined(__x86_64__)
    if (crc_hw)
        return x4_sse42(buf, len);
#endif
    return x4_soft(buf, len);
}
