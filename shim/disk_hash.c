/* disk_hash.c: see disk_hash.h. */
#include <pthread.h>
#include <stdbool.h>
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
static enum crc32c_impl crc_best, crc_impl;

#define CRC_POLY 0x82f63b78U /* Castagnoli, reflected */
#define SPLIT 1024           /* each of the three crc32 streams' share of a stretch */

/* Fold and shift constants: x^n mod P, reflected, shifted left by one (as carry-less
 * multiplication of reflected operands wants them). */
static uint64_t k_fold1[2], k_fold4[2], k_fold16[2], k_lanes[3][2], k_split, k_split2;

static uint64_t x_pow_mod(unsigned n)
{
    uint32_t r = 0x80000000U; /* x^0 */
    for (unsigned i = 0; i < n; i++)
        r = r & 1 ? (r >> 1) ^ CRC_POLY : r >> 1;
    return (uint64_t)r << 1;
}

static void crc_setup(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC_POLY : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    /* A 128-bit lane moved forward by D bits: its low half (the earlier bytes) times
     * x^(D+32), its high half times x^(D-32). */
    static const unsigned fold_bits[] = { 128, 512, 2048 };
    uint64_t *fold[] = { k_fold1, k_fold4, k_fold16 };
    for (int i = 0; i < 3; i++) {
        fold[i][0] = x_pow_mod(fold_bits[i] + 32);
        fold[i][1] = x_pow_mod(fold_bits[i] - 32);
    }
    for (int i = 0; i < 3; i++) {
        k_lanes[i][0] = x_pow_mod((3 - i) * 128 + 32);
        k_lanes[i][1] = x_pow_mod((3 - i) * 128 - 32);
    }
    /* A CRC register moved forward over n zero bytes: times x^(8n-32), then one crc32. */
    k_split = x_pow_mod(8 * SPLIT - 32);
    k_split2 = x_pow_mod(16 * SPLIT - 32);
    crc_best = CRC32C_SOFT;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        crc_best = CRC32C_SSE42;
    if (crc_best == CRC32C_SSE42 && __builtin_cpu_supports("pclmul"))
        crc_best = CRC32C_PCLMUL;
    if (crc_best == CRC32C_PCLMUL && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("vpclmulqdq"))
        crc_best = CRC32C_VPCLMUL;
#endif
    crc_impl = crc_best;
}

static uint32_t soft_u64(uint32_t crc, uint64_t w)
{
    w ^= crc;
    return crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
           crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
           crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
           crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
}

/* The raw register (no inversions) on and after here. */
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
#include <immintrin.h>

#define SSE42 __attribute__((target("sse4.2")))
#define PCLMUL __attribute__((target("sse4.2,pclmul")))
#define VPCLMUL __attribute__((target("sse4.2,pclmul,avx512f,avx512vl,vpclmulqdq")))

SSE42 static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    for (; len >= 8; p += 8, len -= 8)
        c = _mm_crc32_u64(c, load64(p));
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

/* The register moved forward over the zero bytes that k stands for. */
PCLMUL static uint32_t crc_shift(uint32_t crc, uint64_t k)
{
    __m128i x = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)crc), _mm_cvtsi64_si128((long long)k), 0);
    return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
}

/* Three crc32 streams over stretches of 3 * SPLIT bytes (the instruction's latency is
 * three times its issue rate), joined by shifting the first two. */
PCLMUL static uint32_t crc_pclmul(uint32_t crc, const uint8_t *p, size_t len)
{
    for (; len >= 3 * SPLIT; p += 3 * SPLIT, len -= 3 * SPLIT) {
        uint64_t a = crc, b = 0, c = 0;
        for (size_t i = 0; i < SPLIT; i += 8) {
            a = _mm_crc32_u64(a, load64(p + i));
            b = _mm_crc32_u64(b, load64(p + SPLIT + i));
            c = _mm_crc32_u64(c, load64(p + 2 * SPLIT + i));
        }
        crc = crc_shift((uint32_t)a, k_split2) ^ crc_shift((uint32_t)b, k_split) ^ (uint32_t)c;
    }
    return crc_sse42(crc, p, len);
}

PCLMUL static __m128i fold_x(__m128i x, const uint64_t k[2], __m128i next)
{
    __m128i kk = _mm_set_epi64x((long long)k[1], (long long)k[0]);
    __m128i a = _mm_clmulepi64_si128(x, kk, 0x00), b = _mm_clmulepi64_si128(x, kk, 0x11);
    return _mm_xor_si128(_mm_xor_si128(a, b), next);
}

VPCLMUL static __m512i fold_z(__m512i x, __m512i k, __m512i next)
{
    __m512i a = _mm512_clmulepi64_epi128(x, k, 0x00), b = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(a, b, next, 0x96); /* a ^ b ^ next */
}

VPCLMUL static __m512i broadcast_k(const uint64_t k[2])
{
    return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k[1], (long long)k[0]));
}

/* Carry-less folding, sixteen 128-bit lanes in four 512-bit registers: the message is
 * folded onto its last 16 bytes (which have the same CRC, the register xored into the
 * first 4), whose CRC two crc32 instructions then take. */
VPCLMUL static uint32_t crc_vpclmul(uint32_t crc, const uint8_t *p, size_t len)
{
    if (len < 256)
        return crc_sse42(crc, p, len);
    __m512i z0 = _mm512_loadu_si512(p), z1 = _mm512_loadu_si512(p + 64);
    __m512i z2 = _mm512_loadu_si512(p + 128), z3 = _mm512_loadu_si512(p + 192);
    z0 = _mm512_xor_si512(z0, _mm512_castsi128_si512(_mm_cvtsi32_si128((int)crc)));
    p += 256;
    len -= 256;
    __m512i k16 = broadcast_k(k_fold16), k4 = broadcast_k(k_fold4);
    for (; len >= 256; p += 256, len -= 256) {
        z0 = fold_z(z0, k16, _mm512_loadu_si512(p));
        z1 = fold_z(z1, k16, _mm512_loadu_si512(p + 64));
        z2 = fold_z(z2, k16, _mm512_loadu_si512(p + 128));
        z3 = fold_z(z3, k16, _mm512_loadu_si512(p + 192));
    }
    z0 = fold_z(fold_z(fold_z(z0, k4, z1), k4, z2), k4, z3);
    for (; len >= 64; p += 64, len -= 64)
        z0 = fold_z(z0, k4, _mm512_loadu_si512(p));
    /* Four lanes to one: lane i moved forward by (3 - i) * 128 bits onto lane 3. */
    __m512i kl = _mm512_set_epi64(0, 0, (long long)k_lanes[2][1], (long long)k_lanes[2][0],
                                  (long long)k_lanes[1][1], (long long)k_lanes[1][0],
                                  (long long)k_lanes[0][1], (long long)k_lanes[0][0]);
    __m512i s = _mm512_xor_si512(_mm512_clmulepi64_epi128(z0, kl, 0x00),
                                 _mm512_clmulepi64_epi128(z0, kl, 0x11));
    __m128i x = _mm_ternarylogic_epi64(_mm512_extracti32x4_epi32(z0, 3),
                                       _mm512_castsi512_si128(s),
                                       _mm512_extracti32x4_epi32(s, 1), 0x96);
    x = _mm_xor_si128(x, _mm512_extracti32x4_epi32(s, 2));
    for (; len >= 16; p += 16, len -= 16)
        x = fold_x(x, k_fold1, _mm_loadu_si128((const void *)p));
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
    c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(x, 1));
    return crc_sse42((uint32_t)c, p, len);
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_setup);
    crc = ~crc;
    switch (crc_impl) {
#if defined(__x86_64__)
    case CRC32C_VPCLMUL:
        return ~crc_vpclmul(crc, buf, len);
    case CRC32C_PCLMUL:
        return ~crc_pclmul(crc, buf, len);
    case CRC32C_SSE42:
        return ~crc_sse42(crc, buf, len);
#endif
    default:
        return ~crc_soft(crc, buf, len);
    }
}

bool crc32c_use(enum crc32c_impl impl)
{
    pthread_once(&crc_once, crc_setup);
    if (impl > crc_best)
        return false;
    crc_impl = impl;
    return true;
}
