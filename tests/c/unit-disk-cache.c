/* unit-disk-cache.c: the disk tier (shim/disk_cache.c) in one process and its children:
 * fill and hit, keys of two objects never confused, a changed validator misses and its
 * old chunks are reused first, LRU eviction order, persistence across a reopen,
 * single-flight claims (another claimer waits; a dead filler, or a live one past its
 * lease, is taken over and a late fill refused), a flipped
 * byte in the slab fails its checksum and is refetched, a slot table of random bytes is
 * made sound at open (misses, never wrong bytes), a truncated slab or index and an
 * index of a foreign format are rebuilt empty with one log line, the limit holds in
 * allocated and apparent bytes, a directory or file that others could write, another
 * user's, or a symbolic link is refused with one log line, a vanished directory does not
 * stop the tier, junk in the eviction list's links of a cache in use is repaired (no
 * access outside the slot table); reads straight from the slab, zombie and late fillers,
 * cheap retiring (test_direct); a failed fill or an abandon gives its slot back at once
 * (test_failed_claims); runs of chunks read with one lock and few preads (test_runs); a
 * clean detach spares the next opener its repair, unless a process died holding the
 * lock since, the mark is from another boot or a slot was left FILLING
 * (test_clean_detach).  Scratch space under argv[1] (default /tmp).
 * Prints "N passed, N failed". */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "clock.h"
#include "disk-test.h"
#include "disk_cache.h"
#include "disk_hash.h"
#include "disk_index.h"
#include "unit.h"

#define CS 65536u
#define KiB 1024ull
#define MiB (1024ull * 1024)

static char root[4096], logpath[4200];
static uint8_t buf[CS], want[CS];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", root, name);
}

static void fill_chunk(struct disk_cache *dc, const struct disk_key *k, uint32_t obj,
                       uint32_t ver, uint64_t chunk)
{
    struct disk_claim c;
    int rc = disk_cache_claim(dc, k, chunk, &c);
    CHECK(rc == 0, "claim obj %u chunk %llu: %d", obj, (unsigned long long)chunk, rc);
    if (rc)
        return;
    pattern_fill(want, CS, obj, ver, chunk);
    rc = disk_cache_fill(dc, &c, want, CS);
    CHECK(rc == 0, "fill obj %u chunk %llu: %d", obj, (unsigned long long)chunk, rc);
}

/* 1 if (k, chunk) is a hit with the right bytes, 0 on a miss; wrong bytes fail. */
static int hit(struct disk_cache *dc, const struct disk_key *k, uint32_t obj, uint32_t ver,
               uint64_t chunk)
{
    memset(buf, 0, sizeof buf);
    ssize_t n = disk_cache_read(dc, k, chunk, buf, sizeof buf);
    if (n < 0)
        return 0;
    CHECK(n == CS, "read length %zd", n);
    CHECK(pattern_wrong(buf, CS, obj, ver, chunk) == 0, "wrong bytes in obj %u chunk %llu", obj,
          (unsigned long long)chunk);
    return 1;
}

/* CRC32C by its definition, one bit at a time. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78U : crc >> 1;
    }
    return ~crc;
}

/* The published vectors of SipHash-2-4-128 and CRC32C, and every way of computing CRC32C
 * against its definition. */
static void test_hashes(void)
{
    static const uint8_t sip0[16] = { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
                                      0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 };
    static const uint8_t sip2[16] = { 0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7,
                                      0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4 };
    uint8_t key[16], in[2] = { 0, 1 }, out[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    siphash128(key, in, 0, out);
    CHECK(memcmp(out, sip0, 16) == 0, "siphash128 of the empty message");
    siphash128(key, in, 2, out);
    CHECK(memcmp(out, sip2, 16) == 0, "siphash128 of 00 01");
    CHECK(crc32c(0, "123456789", 9) == 0xe3069283, "crc32c check value");
    /* Every way this CPU can compute it against the bit-by-bit definition, at every length
     * up to 4 KiB + 100 (each fold width's edges), three alignments, a start value. */
    static uint8_t data[70000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + 7 + i / 251);
    static const size_t big[] = { 65536, 69999 };
    static const char *impl_name[] = { "soft", "sse4.2", "pclmul", "vpclmul" };
    for (int impl = CRC32C_SOFT; impl <= CRC32C_VPCLMUL; impl++) {
        if (!crc32c_use((enum crc32c_impl)impl))
            continue;
        int wrong = 0, tried = 0;
        for (size_t n = 0; n <= 4196; n++)
            for (size_t at = 0; at < 3; at++, tried++)
                wrong += crc32c(0x1234567u * (uint32_t)at, data + at, n) !=
                         crc32c_bitwise(0x1234567u * (uint32_t)at, data + at, n);
        for (int i = 0; i < 2; i++, tried++)
            wrong += crc32c(0, data, big[i]) != crc32c_bitwise(0, data, big[i]);
        CHECK(wrong == 0, "crc32c (%s) agrees with the definition: %d of %d wrong",
              impl_name[impl], wrong, tried);
        CHECK(crc32c(0, "123456789", 9) == 0xe3069283, "crc32c (%s) check value", impl_name[impl]);
    }
    for (int impl = CRC32C_VPCLMUL; !crc32c_use((enum crc32c_impl)impl); impl--)
        ; /* back to the fastest */
}

static void test_basics(void)
{
    char dir[4200];
    path_of(dir, sizeof dir, "basic");
    struct disk_cache *dc = disk_cache_open(dir, 4 * MiB, CS);
    CHECK(dc != NULL, "open %s", dir);
    if (!dc)
        return;
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "dir mode %o", st.st_mode & 0777);
    struct disk_key a, b, a2;
    disk_key_make(dc, &a, "http://127.0.0.1/a.img", "\"etag-1\"", 10 * MiB);
    disk_key_make(dc, &b, "http://127.0.0.1/b.img", "\"etag-1\"", 10 * MiB);
    disk_key_make(dc, &a2, "http://127.0.0.1/a.img", "\"etag-2\"", 10 * MiB);
    CHECK(memcmp(a.id, b.id, 16) != 0 && memcmp(a.id, a2.id, 16) != 0, "distinct ids");
    CHECK(a.url_hash == a2.url_hash && a.url_hash != b.url_hash, "url hashes");
    struct disk_key unset = { { 0 }, 0 };
    struct disk_claim uc;
    CHECK(disk_cache_claim(dc, &unset, 0, &uc) == -ENOSPC &&
          disk_cache_read(dc, &unset, 0, buf, CS) == -ENOENT, "an unset key is never stored");
    static char longurl[5000];
    memset(longurl, 'u', sizeof longurl - 1);
    struct disk_key lk;
    CHECK(disk_key_make(dc, &lk, longurl, "v", 1) == 0 && lk.url_hash != 0, "a long URL");

    CHECK(disk_cache_read(dc, &a, 0, buf, CS) == -ENOENT, "cold read misses");
    for (uint64_t c = 0; c < 4; c++)
        fill_chunk(dc, &a, 1, 1, c);
    int hits = 0;
    for (uint64_t c = 0; c < 4; c++)
        hits += hit(dc, &a, 1, 1, c);
    CHECK(hits == 4, "4 hits after fill, got %d", hits);
    CHECK(disk_cache_read(dc, &b, 0, buf, CS) == -ENOENT, "object b misses where a is cached");
    fill_chunk(dc, &b, 2, 1, 0);
    CHECK(hit(dc, &b, 2, 1, 0) == 1 && hit(dc, &a, 1, 1, 0) == 1, "a and b each their own bytes");
    CHECK(disk_cache_read(dc, &a2, 0, buf, CS) == -ENOENT, "a changed validator misses");
    CHECK(disk_cache_read(dc, &a, 0, buf, 100) == -EINVAL, "a short buffer is refused");

    /* Single flight: a second claim of the same chunk waits; abandon lets it go. */
    struct disk_claim c1, c2;
    CHECK(disk_cache_claim(dc, &b, 5, &c1) == 0, "claim b5");
    CHECK(disk_cache_claim(dc, &b, 5, &c2) == -EINPROGRESS, "second claim is in progress");
    CHECK(disk_cache_read(dc, &b, 5, buf, CS) == -EINPROGRESS, "read of a filling chunk");
    uint64_t t0 = now_ms();
    CHECK(disk_cache_wait(dc, &b, 5, t0 + 100) == -ETIMEDOUT, "wait times out");
    uint64_t waited = now_ms() - t0;
    CHECK(waited >= 100 && waited < 300, "waited %llu ms for a 100 ms deadline",
          (unsigned long long)waited);
    disk_cache_abandon(dc, &c1);
    CHECK(disk_cache_wait(dc, &b, 5, now_ms() + 100) == -ENOENT, "abandoned: wait says claim it");
    pattern_fill(want, CS, 2, 1, 5);
    CHECK(disk_cache_fill(dc, &c1, want, CS) == -ESTALE, "fill of an abandoned claim is stale");

    /* A filler that dies is taken over. */
    pid_t pid = fork();
    if (pid == 0) {
        struct disk_claim c;
        _exit(disk_cache_claim(dc, &b, 6, &c) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child claimed b6");
    CHECK(disk_cache_wait(dc, &b, 6, now_ms() + 1000) == -ENOENT, "dead filler: claim it");
    fill_chunk(dc, &b, 2, 1, 6);
    CHECK(hit(dc, &b, 2, 1, 6) == 1, "taken-over chunk is served");

    /* A live filler past its lease is taken over; its late fill is refused. */
    disk_cache_set_leases(dc, 10000, 100);
    CHECK(disk_cache_claim(dc, &b, 7, &c1) == 0, "claim b7");
    CHECK(disk_cache_claim(dc, &b, 7, &c2) == -EINPROGRESS, "b7 within its lease");
    usleep(150 * 1000);
    CHECK(disk_cache_claim(dc, &b, 7, &c2) == 0, "b7 past its lease: taken over");
    pattern_fill(want, CS, 2, 1, 7);
    CHECK(disk_cache_fill(dc, &c2, want, CS) == 0, "the taker fills");
    pattern_fill(want, CS, 2, 9, 7);
    CHECK(disk_cache_fill(dc, &c1, want, CS) == -ESTALE, "the late filler is refused");
    CHECK(hit(dc, &b, 2, 1, 7) == 1, "the taker's bytes are served, not the late filler's");
    disk_cache_set_leases(dc, 10000, 30000);

    struct disk_cache_stats s;
    disk_cache_stats(dc, &s);
    /* b7's; the dead filler's b6 is taken over too unless a claim's sweep freed it first
     * (I4: either, at once). */
    CHECK(s.takeovers == 1 || s.takeovers == 2, "takeovers %llu", (unsigned long long)s.takeovers);
    CHECK(s.writes == 7 && s.bytes_written == 7 * CS, "writes %llu", (unsigned long long)s.writes);
    CHECK(s.hits == 8, "hits %llu", (unsigned long long)s.hits);
    CHECK(s.ready == 7 && s.used == 7 * CS && s.filling == 0, "ready %llu used %llu filling %llu",
          (unsigned long long)s.ready, (unsigned long long)s.used, (unsigned long long)s.filling);
    CHECK(s.limit == 4 * MiB && s.slots >= 50 && s.slots <= 64, "limit %llu slots %llu",
          (unsigned long long)s.limit, (unsigned long long)s.slots);
    uint64_t alloc, apparent;
    dir_usage(dir, &alloc, &apparent);
    CHECK(alloc <= 4 * MiB && apparent <= 4 * MiB, "usage %llu / %llu within 4 MiB",
          (unsigned long long)alloc, (unsigned long long)apparent);
    char slab[4300];
    snprintf(slab, sizeof slab, "%s/slab", dir);
    CHECK(stat(slab, &st) == 0 && (uint64_t)st.st_blocks * 512 >= s.slots * CS,
          "slab preallocated: %llu blocks", (unsigned long long)st.st_blocks);
    disk_cache_close(dc);

    /* Persistent: a new handle finds the chunks; the old version is retired. */
    dc = disk_cache_open(dir, 4 * MiB, CS);
    CHECK(dc != NULL, "reopen");
    if (!dc)
        return;
    disk_key_make(dc, &a, "http://127.0.0.1/a.img", "\"etag-1\"", 10 * MiB);
    disk_key_make(dc, &a2, "http://127.0.0.1/a.img", "\"etag-2\"", 10 * MiB);
    hits = 0;
    for (uint64_t c = 0; c < 4; c++)
        hits += hit(dc, &a, 1, 1, c);
    CHECK(hits == 4, "4 hits after reopen, got %d", hits);
    CHECK(hit(dc, &b, 2, 1, 0) == 1, "b after reopen");
    CHECK(disk_cache_retire_others(dc, &a2) == 4, "4 chunks of the old version retired");
    CHECK(disk_cache_read(dc, &a2, 1, buf, CS) == -ENOENT, "new version misses");
    disk_cache_close(dc);
}

/* A cache of size bytes in ROOT/name, and its number of slots (NULL: failed, checked). */
static struct disk_cache *open_named(const char *name, uint64_t size, uint64_t *slots)
{
    char dir[4200];
    path_of(dir, sizeof dir, name);
    struct disk_cache *dc = disk_cache_open(dir, size, CS);
    CHECK(dc != NULL, "open %s", name);
    if (dc) {
        struct disk_cache_stats s;
        disk_cache_stats(dc, &s);
        *slots = s.slots;
    }
    return dc;
}

static void test_lru(void)
{
    uint64_t n;
    struct disk_cache *dc = open_named("lru", 2 * MiB, &n);
    if (!dc)
        return;
    struct disk_cache_stats s;
    struct disk_key k, old, cur;
    disk_key_make(dc, &k, "http://127.0.0.1/lru", "v", 100 * MiB);
    for (uint64_t c = 0; c < n; c++)
        fill_chunk(dc, &k, 3, 1, c);
    CHECK(hit(dc, &k, 3, 1, 0) == 1, "chunk 0 touched");
    fill_chunk(dc, &k, 3, 1, n);     /* evicts chunk 1, the least recent */
    fill_chunk(dc, &k, 3, 1, n + 1); /* evicts chunk 2 */
    CHECK(hit(dc, &k, 3, 1, 1) == 0 && hit(dc, &k, 3, 1, 2) == 0, "chunks 1, 2 evicted");
    CHECK(hit(dc, &k, 3, 1, 0) == 1 && hit(dc, &k, 3, 1, 3) == 1, "chunks 0 and 3 kept");
    disk_cache_stats(dc, &s);
    CHECK(s.evictions == 2, "evictions %llu", (unsigned long long)s.evictions);

    /* Chunks of an older version go before older chunks of other objects. */
    disk_key_make(dc, &old, "http://127.0.0.1/ver", "v1", MiB);
    disk_key_make(dc, &cur, "http://127.0.0.1/ver", "v2", MiB);
    fill_chunk(dc, &old, 4, 1, 0);
    fill_chunk(dc, &old, 4, 1, 1);
    CHECK(disk_cache_retire_others(dc, &cur) == 2, "retired 2");
    fill_chunk(dc, &cur, 4, 2, 0);
    fill_chunk(dc, &cur, 4, 2, 1);
    CHECK(hit(dc, &old, 4, 1, 0) == 0 && hit(dc, &old, 4, 1, 1) == 0, "old version reused first");
    /* Filling the old version itself evicted chunks 4 and 5; 6 is the least recent now. */
    CHECK(hit(dc, &k, 3, 1, 6) == 1, "the least recent other chunk (6) kept");
    CHECK(hit(dc, &cur, 4, 2, 0) == 1 && hit(dc, &cur, 4, 2, 1) == 1, "new version served");
    CHECK(disk_cache_clear(dc, &cur) == 2 && hit(dc, &cur, 4, 2, 0) == 0, "clear one object");
    disk_cache_close(dc);
}

/* Reads that take no lock count by when they happened.  A fills the cache; its last
 * three quarters are read twice (the second time without the lock); then B fills half
 * of it.  By recency, what goes is A's first quarter (filled, never read), then the
 * earliest reads of A: all of B stays.  A second chance that put every such slot at the
 * head evicted B's own first chunks instead. */
static void test_lru_reads(void)
{
    uint64_t n;
    struct disk_cache *dc = open_named("lru-reads", 4 * MiB, &n);
    if (!dc)
        return;
    uint64_t q = n / 4, half = n / 2;
    struct disk_key a, b;
    disk_key_make(dc, &a, "http://127.0.0.1/lru-a", "v", 100 * MiB);
    disk_key_make(dc, &b, "http://127.0.0.1/lru-b", "v", 100 * MiB);
    for (uint64_t c = 0; c < n; c++)
        fill_chunk(dc, &a, 5, 1, c);
    usleep(40000); /* recencies step every 16 ms */
    int reads = 0;
    for (int round = 0; round < 2; round++)
        for (uint64_t c = q; c < n; c++)
            reads += hit(dc, &a, 5, 1, c);
    CHECK(reads == (int)(2 * (n - q)), "A read twice: %d hits", reads);
    usleep(40000);
    for (uint64_t c = 0; c < half; c++)
        fill_chunk(dc, &b, 6, 1, c);
    int b_kept = 0, a_unread = 0, a_read = 0;
    for (uint64_t c = 0; c < half; c++)
        b_kept += hit(dc, &b, 6, 1, c);
    for (uint64_t c = 0; c < n; c++)
        *(c < q ? &a_unread : &a_read) += hit(dc, &a, 5, 1, c);
    CHECK(b_kept == (int)half, "all %llu chunks of B kept: %d", (unsigned long long)half, b_kept);
    /* Within one 16 ms step the order of A's reads is approximate: which of them went
     * is not asserted, only how many. */
    CHECK(a_unread == 0 && a_read == (int)(n - half),
          "A's unread quarter went (%d kept), and as many of its read chunks as B needed "
          "(%d of %llu kept)", a_unread, a_read, (unsigned long long)(n - half));
    disk_cache_close(dc);
}

static void flip_every_slot(const char *file, uint64_t slots, off_t at)
{
    int fd = open(file, O_RDWR);
    for (uint64_t i = 0; i < slots; i++) {
        uint8_t b;
        off_t off = (off_t)(i * CS) + at;
        if (pread(fd, &b, 1, off) == 1) {
            b ^= 0x20;
            if (pwrite(fd, &b, 1, off) != 1)
                perror("pwrite");
        }
    }
    close(fd);
}

static void test_damage(void)
{
    char dir[4200], slab[4300], index[4300];
    path_of(dir, sizeof dir, "damage");
    snprintf(slab, sizeof slab, "%s/slab", dir);
    snprintf(index, sizeof index, "%s/index", dir);
    struct disk_cache *dc = disk_cache_open(dir, 2 * MiB, CS);
    CHECK(dc != NULL, "open damage");
    if (!dc)
        return;
    struct disk_key k;
    struct disk_cache_stats s;
    disk_key_make(dc, &k, "http://127.0.0.1/d", "v", MiB);
    for (uint64_t c = 0; c < 3; c++)
        fill_chunk(dc, &k, 5, 1, c);
    disk_cache_stats(dc, &s);
    flip_every_slot(slab, s.slots, 1234);
    int hits = 0;
    for (uint64_t c = 0; c < 3; c++)
        hits += hit(dc, &k, 5, 1, c);
    disk_cache_stats(dc, &s);
    CHECK(hits == 0 && s.checksum_failures == 3, "flipped bytes: %d hits, %llu failures", hits,
          (unsigned long long)s.checksum_failures);
    CHECK(s.ready == 0, "failed chunks dropped (%llu ready)", (unsigned long long)s.ready);
    for (uint64_t c = 0; c < 3; c++)
        fill_chunk(dc, &k, 5, 1, c);
    hits = 0;
    for (uint64_t c = 0; c < 3; c++)
        hits += hit(dc, &k, 5, 1, c);
    CHECK(hits == 3, "refetched chunks served (%d)", hits);
    disk_cache_close(dc);

    static const struct {
        const char *what, *file, *line;
        int how; /* 0: truncate to half, 1: overwrite the magic, 2: scramble the slots */
    } cases[] = {
        { "truncated slab", "slab", "truncated or resized", 0 },
        { "truncated index", "index", "truncated or resized", 0 },
        { "foreign index", "index", "another format", 1 },
        { "scrambled slot table", "index", NULL, 2 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dc = disk_cache_open(dir, 2 * MiB, CS);
        disk_key_make(dc, &k, "http://127.0.0.1/d", "v", MiB);
        if (!hit(dc, &k, 5, 1, 0))
            fill_chunk(dc, &k, 5, 1, 0);
        disk_cache_close(dc);
        char file[4300];
        snprintf(file, sizeof file, "%s/%s", dir, cases[i].file);
        struct stat st;
        stat(file, &st);
        if (cases[i].how == 0) {
            CHECK(truncate(file, st.st_size / 2) == 0, "truncate");
        } else if (cases[i].how == 1) {
            int fd = open(file, O_WRONLY);
            CHECK(pwrite(fd, "NOTOURS!", 8, 0) == 8, "overwrite");
            close(fd);
        } else { /* every slot's fields random: the header is intact */
            static uint8_t junk[32768];
            for (size_t j = 0; j < sizeof junk; j++)
                junk[j] = pattern_byte(9, 9, 9, j);
            size_t n = (size_t)st.st_size - 4096 < sizeof junk ? (size_t)st.st_size - 4096
                                                                : sizeof junk;
            int fd = open(file, O_WRONLY);
            CHECK(pwrite(fd, junk, n, 4096) == (ssize_t)n, "scramble");
            close(fd);
        }
        log_capture(logpath);
        dc = disk_cache_open(dir, 2 * MiB, CS);
        CHECK(dc != NULL, "%s: reopened", cases[i].what);
        if (cases[i].line)
            CHECK(log_count(logpath, cases[i].line) == 1 && log_count(logpath, "rebuilding") == 1,
                  "%s: one log line", cases[i].what);
        else
            CHECK(log_count(logpath, "remoteio:") == 0, "%s: kept, no log line", cases[i].what);
        log_set_descriptor(2);
        if (!dc)
            continue;
        disk_key_make(dc, &k, "http://127.0.0.1/d", "v", MiB);
        CHECK(hit(dc, &k, 5, 1, 0) == 0, "%s: rebuilt empty", cases[i].what);
        for (uint64_t c = 1; c < 40; c++) /* whatever the junk says: a miss or right bytes */
            hit(dc, &k, 5, 1, c);
        fill_chunk(dc, &k, 5, 1, 0);
        CHECK(hit(dc, &k, 5, 1, 0) == 1, "%s: works after", cases[i].what);
        disk_cache_close(dc);
    }

    /* A vanished directory: the open files go on working, within their size. */
    dc = disk_cache_open(dir, 2 * MiB, CS);
    disk_key_make(dc, &k, "http://127.0.0.1/d", "v", MiB);
    unlink(slab);
    unlink(index);
    CHECK(rmdir(dir) == 0, "rmdir");
    fill_chunk(dc, &k, 5, 1, 7);
    CHECK(hit(dc, &k, 5, 1, 7) == 1, "vanished directory: still served from the open files");
    disk_cache_close(dc);
}

/* Reads straight from the slab (disk_cache_read_at): a part of a chunk is served right, the
 * CRC is checked once per slot generation in each process (a flipped byte is caught by a
 * process that has not checked the slot yet, and after a refill), a process's own chunks
 * are left to its memory cache (-EAGAIN); a zombie filler's claim is taken over at once;
 * a live filler past its lease loses its slot to an orphan, not to the taker; reopening
 * an unchanged version retires nothing and scans nothing. */
static void test_direct(void)
{
    char dir[4200], slab[4300];
    path_of(dir, sizeof dir, "direct");
    snprintf(slab, sizeof slab, "%s/slab", dir);
    struct disk_cache *dc = disk_cache_open(dir, 4 * MiB, CS);
    CHECK(dc != NULL, "open direct");
    if (!dc)
        return;
    struct disk_key k;
    disk_key_make(dc, &k, "http://127.0.0.1/direct", "v", 10 * MiB);
    fill_chunk(dc, &k, 7, 1, 0);
    uint8_t part[100];
    CHECK(disk_cache_read_at(dc, &k, 0, 1000, part, sizeof part) == -EAGAIN,
          "own chunk: left to the memory cache");

    /* Another process (a child: its own verified map after a fresh attach). */
    pid_t pid = fork();
    if (pid == 0) {
        struct disk_cache *d2 = disk_cache_attach(dir);
        int bad = !d2;
        if (d2) {
            pattern_fill(want, CS, 7, 1, 0);
            bad |= disk_cache_read_at(d2, &k, 0, 1000, part, sizeof part) != sizeof part ||
                   memcmp(part, want + 1000, sizeof part) != 0;
            bad |= disk_cache_read_at(d2, &k, 0, CS - 10, part, 10) != 10 ||
                   memcmp(part, want + CS - 10, 10) != 0;
            bad |= disk_cache_read_at(d2, &k, 0, CS - 10, part, 11) != -EINVAL;
            bad |= disk_cache_read_at(d2, &k, 1, 0, part, 10) != -ENOENT;
            disk_cache_close(d2);
        }
        _exit(bad);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process reads parts right");

    /* A flipped byte (at 4321: block 1 of 16): caught by a read of a part that holds it;
     * a part of another block is served right. */
    struct disk_cache_stats s;
    disk_cache_stats(dc, &s);
    flip_every_slot(slab, s.slots, 4321);
    pid = fork();
    if (pid == 0) {
        struct disk_cache *d2 = disk_cache_attach(dir);
        pattern_fill(want, CS, 7, 1, 0);
        int bad = !d2 || disk_cache_read_at(d2, &k, 0, 0, part, 10) != 10 ||
                  memcmp(part, want, 10) != 0 ||
                  disk_cache_read_at(d2, &k, 0, 4300, part, 30) != -EBADMSG;
        if (d2)
            disk_cache_close(d2);
        _exit(bad);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "flipped byte: a part of another block is right, the part that holds it -EBADMSG");
    CHECK(disk_cache_read_at(dc, &k, 0, 0, part, 10) == -ENOENT, "and the chunk is dropped");

    /* Junk written into the slab after a read checked the slot: the next read of it is
     * checked again (before: served, the slot counted as verified for the process). */
    fill_chunk(dc, &k, 7, 2, 0);
    struct disk_cache *d2 = disk_cache_attach(dir); /* this process's other handle */
    CHECK(d2 && disk_cache_read_at(d2, &k, 0, 0, NULL, 0) == 0, "refilled chunk checked");
    CHECK(d2 && disk_cache_read_at(d2, &k, 0, 100, part, 10) == 10, "and read");
    flip_every_slot(slab, s.slots, 99);
    pattern_fill(want, CS, 7, 2, 0);
    CHECK(d2 && disk_cache_read_at(d2, &k, 0, 5000, part, 10) == 10 &&
              memcmp(part, want + 5000, 10) == 0, "a part of an intact block: right bytes");
    CHECK(d2 && disk_cache_read_at(d2, &k, 0, 90, part, 20) == -EBADMSG,
          "junk written after a check: the next read fails its check");
    fill_chunk(dc, &k, 7, 3, 0); /* the same slot or another: a new generation */
    flip_every_slot(slab, s.slots, 77);
    CHECK(d2 && disk_cache_read(d2, &k, 0, buf, CS) == -EBADMSG,
          "a whole-chunk read checks every block");
    if (d2)
        disk_cache_close(d2);

    /* A zombie filler (killed, not reaped) is taken over at once, within its lease. */
    struct disk_claim c1, c2;
    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        struct disk_claim c;
        char ok = disk_cache_claim(dc, &k, 5, &c) == 0 ? 'y' : 'n';
        if (write(pipefd[1], &ok, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char ok = 0;
    CHECK(read(pipefd[0], &ok, 1) == 1 && ok == 'y', "child claimed chunk 5");
    kill(pid, SIGKILL);
    siginfo_t info;
    CHECK(waitid(P_PID, pid, &info, WEXITED | WNOWAIT) == 0, "child died (left a zombie)");
    uint64_t t0 = now_ms();
    int rc = disk_cache_claim(dc, &k, 5, &c1);
    CHECK(rc == 0 && now_ms() - t0 < 1000, "a zombie's claim is taken over at once (%d)", rc);
    waitpid(pid, &status, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    if (rc == 0)
        disk_cache_abandon(dc, &c1);

    /* A live filler past its lease: the taker gets another slot; the late filler's bytes
     * land in its orphan, are never served, and the orphan is freed by its late fill. */
    disk_cache_set_leases(dc, 10000, 100);
    CHECK(disk_cache_claim(dc, &k, 6, &c1) == 0, "claim chunk 6");
    usleep(150 * 1000);
    CHECK(disk_cache_claim(dc, &k, 6, &c2) == 0 && c2.slot != c1.slot,
          "taken over in another slot (%u, %u)", c1.slot, c2.slot);
    disk_cache_stats(dc, &s);
    CHECK(s.filling == 2, "the orphan counts as filling (%llu)", (unsigned long long)s.filling);
    pattern_fill(want, CS, 7, 1, 6);
    CHECK(disk_cache_fill(dc, &c2, want, CS) == 0, "the taker fills");
    pattern_fill(want, CS, 7, 9, 6);
    CHECK(disk_cache_fill(dc, &c1, want, CS) == -ESTALE, "the late filler is refused");
    CHECK(hit(dc, &k, 7, 1, 6) == 1, "the taker's bytes");
    disk_cache_stats(dc, &s);
    CHECK(s.filling == 0, "the orphan is freed (%llu filling)", (unsigned long long)s.filling);
    disk_cache_set_leases(dc, 10000, 30000);

    /* Retiring: once per version; again once another version stored a chunk. */
    struct disk_key v2;
    disk_key_make(dc, &v2, "http://127.0.0.1/direct", "v2", 10 * MiB);
    size_t first = disk_cache_retire_others(dc, &v2); /* chunk 6 (0 failed its check) */
    CHECK(first == 1, "chunks of v retired: %zu", first);
    CHECK(disk_cache_retire_others(dc, &v2) == 0, "reopened: nothing to retire");
    fill_chunk(dc, &k, 7, 1, 9);
    size_t again = disk_cache_retire_others(dc, &v2);
    CHECK(again == 1, "a chunk of v stored since (into retired 6's slot): rescanned (%zu)", again);
    disk_cache_close(dc);
}

/* open must fail with exactly one log line holding text. */
static void refused(const char *dir, const char *text, const char *what)
{
    log_capture(logpath);
    struct disk_cache *dc = disk_cache_open(dir, 2 * MiB, CS);
    CHECK(dc == NULL, "%s: refused", what);
    int lines = log_count(logpath, "remoteio:"), match = log_count(logpath, text);
    CHECK(lines == 1 && match == 1, "%s: %d log lines, %d with '%s'", what, lines, match, text);
    log_set_descriptor(2);
    disk_cache_close(dc);
}

static void test_refusals(void)
{
    char dir[4200], file[4300];
    path_of(dir, sizeof dir, "open777");
    mkdir(dir, 0700);
    chmod(dir, 0777);
    refused(dir, "writable by group or others", "mode 0777 directory");
    path_of(dir, sizeof dir, "link");
    char target[4200];
    path_of(target, sizeof target, "basic");
    CHECK(symlink(target, dir) == 0, "symlink");
    refused(dir, "symbolic link", "symlinked directory");

    path_of(dir, sizeof dir, "badfile");
    struct disk_cache *dc = disk_cache_open(dir, 2 * MiB, CS);
    disk_cache_close(dc);
    snprintf(file, sizeof file, "%s/index", dir);
    chmod(file, 0666);
    refused(dir, "writable by group or others", "mode 0666 index");
    chmod(file, 0600);
    unlink(file);
    CHECK(symlink("/tmp/elsewhere", file) == 0, "symlink index");
    refused(dir, "symbolic link", "symlinked index");

    if (geteuid() == 0) {
        path_of(dir, sizeof dir, "nobody");
        mkdir(dir, 0700);
        CHECK(chown(dir, 65534, 65534) == 0, "chown nobody");
        refused(dir, "owned by uid 65534", "another user's directory");
    } else {
        printf("SKIP: another user's directory (not root)\n");
    }
}

/* DIR/index mapped a second time, shared (as another process, or junk written into the
 * file, would see it); MAP_FAILED when it cannot be. */
static void *map_index(const char *dir, size_t *len)
{
    char index[4300];
    snprintf(index, sizeof index, "%s/index", dir);
    int fd = open(index, O_RDWR);
    struct stat st;
    void *map = fd >= 0 && fstat(fd, &st) == 0
                    ? mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                    : MAP_FAILED;
    if (fd >= 0)
        close(fd); /* the mapping stays */
    *len = map == MAP_FAILED ? 0 : (size_t)st.st_size;
    return map;
}

/* The eviction list's links of a cache in use overwritten through another mapping (as
 * junk written into DIR/index would): hits, claims and fills go on, right bytes, no
 * access outside the slot table (before: a segfault in list_remove). */
static void test_junk_links(void)
{
    char dir[4200];
    path_of(dir, sizeof dir, "links");
    struct disk_cache *dc = disk_cache_open(dir, 2 * MiB, CS);
    CHECK(dc != NULL, "open links");
    if (!dc)
        return;
    struct disk_key k;
    disk_key_make(dc, &k, "http://127.0.0.1/links", "v", 100 * MiB);
    for (uint64_t c = 0; c < 8; c++)
        fill_chunk(dc, &k, 5, 1, c);
    size_t map_len;
    void *map = map_index(dir, &map_len);
    CHECK(map != MAP_FAILED, "map %s/index", dir);
    if (map == MAP_FAILED) {
        disk_cache_close(dc);
        return;
    }
    struct dc_header *h = map;
    struct dc_slot *slots = (struct dc_slot *)((char *)map + DC_HEADER_SIZE);
    for (uint32_t i = 0; i < h->nslots; i++) {
        slots[i].prev = 0x7fffffffu - i;
        slots[i].next = 0x40000000u + i;
    }
    h->head = 0x7ffffff0u;
    h->tail = 0x7fffff00u;
    int hits = 0;
    for (uint64_t c = 0; c < 8; c++)
        hits += hit(dc, &k, 5, 1, c);
    CHECK(hits >= 0, "reads with junk links: %d hits, no crash", hits);
    for (uint64_t c = 8; c < 16; c++)
        fill_chunk(dc, &k, 5, 1, c);
    hits = 0;
    for (uint64_t c = 8; c < 16; c++)
        hits += hit(dc, &k, 5, 1, c);
    CHECK(hits == 8, "chunks stored after the junk are served: %d of 8", hits);
    CHECK(h->head < h->nslots && h->tail < h->nslots, "the list's ends are slots again");
    munmap(map, map_len);
    disk_cache_close(dc);
}

/* A child (another process) claims chunk of k: 0 at once when nobody holds it. */
static int child_claim(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct disk_claim c;
        int rc = disk_cache_claim(dc, k, chunk, &c);
        if (rc == 0)
            disk_cache_abandon(dc, &c);
        _exit(rc == 0 ? 0 : rc == -EINPROGRESS ? 1 : 2);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

/* A claim whose fill fails gives its slot back at once: other processes claim the chunk
 * without waiting out the fill lease (before: -EINPROGRESS for 30 s).  Three ways a fill
 * fails: the slot's seq moved under the claim (a repair of the index after junk in its
 * links), the tier stepped aside before the fill, or before an abandon. */
static void test_failed_claims(void)
{
    char dir[4200];
    path_of(dir, sizeof dir, "failed");
    struct disk_cache *dc = disk_cache_open(dir, 2 * MiB, CS);
    CHECK(dc != NULL, "open failed");
    if (!dc)
        return;
    struct disk_key k;
    disk_key_make(dc, &k, "http://127.0.0.1/failed", "v", 100 * MiB);
    for (uint64_t c = 0; c < 4; c++)
        fill_chunk(dc, &k, 6, 1, c);
    struct disk_claim c1;
    CHECK(disk_cache_claim(dc, &k, 10, &c1) == 0, "claim chunk 10");
    CHECK(child_claim(dc, &k, 10) == 1, "chunk 10 is another process's fill meanwhile");
    size_t map_len;
    void *map = map_index(dir, &map_len);
    CHECK(map != MAP_FAILED, "map %s/index", dir);
    if (map != MAP_FAILED) {
        struct dc_header *h = map;
        h->head = 0x7ffffff0u; /* junk in a link: the next claim repairs the index */
        struct disk_claim c2;
        CHECK(disk_cache_claim(dc, &k, 11, &c2) == 0, "claim chunk 11 (repairs the index)");
        disk_cache_abandon(dc, &c2);
        munmap(map, map_len);
    }
    pattern_fill(want, CS, 6, 1, 10);
    CHECK(disk_cache_fill(dc, &c1, want, CS) == -ESTALE, "its seq moved: the fill is stale");
    uint64_t t0 = now_ms();
    CHECK(disk_cache_wait(dc, &k, 10, t0 + 2000) == -ENOENT && now_ms() - t0 < 1000,
          "the stale claim's slot is free at once: wait says claim it");
    CHECK(child_claim(dc, &k, 10) == 0, "another process claims chunk 10 at once");
    struct disk_cache_stats s;
    disk_cache_stats(dc, &s);
    CHECK(s.filling == 0, "nothing left filling (%llu)", (unsigned long long)s.filling);

    /* A handle of this process that stepped aside (I6) between claim and fill. */
    struct disk_cache *d2 = disk_cache_attach(dir);
    CHECK(d2 != NULL, "a second handle");
    if (d2) {
        struct disk_claim c3, c4;
        CHECK(disk_cache_claim(d2, &k, 12, &c3) == 0 && disk_cache_claim(d2, &k, 13, &c4) == 0,
              "claim chunks 12 and 13");
        log_capture(logpath);
        disk_step_aside(d2, "testing", EIO);
        log_set_descriptor(2);
        pattern_fill(want, CS, 6, 1, 12);
        CHECK(disk_cache_fill(d2, &c3, want, CS) == -ENODEV, "a fill once stepped aside");
        disk_cache_abandon(d2, &c4);
        CHECK(child_claim(dc, &k, 12) == 0, "its failed fill's chunk is claimed at once");
        CHECK(child_claim(dc, &k, 13) == 0, "its abandoned chunk is claimed at once");
        CHECK(disk_cache_read(dc, &k, 12, buf, CS) == -ENOENT, "and nothing was published");
        disk_cache_close(d2);
    }
    disk_cache_stats(dc, &s);
    CHECK(s.filling == 0 && s.ready == 4, "%llu filling, %llu ready",
          (unsigned long long)s.filling, (unsigned long long)s.ready);
    disk_cache_close(dc);
}

/* In another process: a run of chunks 0-5 gives the first `good` of them, and chunk
 * `good` read alone fails its check. */
static bool run_stops_at(const char *dir, const struct disk_key *k, size_t good)
{
    pid_t pid = fork();
    if (pid == 0) {
        static uint8_t run[8 * CS];
        struct disk_cache *d2 = disk_cache_attach(dir);
        int bad = !d2 || disk_cache_read_run(d2, k, 0, run, 6) != good ||
                  disk_cache_read_at(d2, k, good, 0, run, CS) != -EBADMSG;
        if (d2)
            disk_cache_close(d2);
        _exit(bad);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs of whole chunks (disk_cache_read_run, disk_cache_ready_run), read by another
 * process: right bytes; the run stops at a missing chunk and at one that fails its check,
 * which disk_cache_read_at then reports. */
static void test_runs(void)
{
    char dir[4200], slab[4300];
    path_of(dir, sizeof dir, "runs");
    snprintf(slab, sizeof slab, "%s/slab", dir);
    struct disk_cache *dc = disk_cache_open(dir, 4 * MiB, CS);
    CHECK(dc != NULL, "open runs");
    if (!dc)
        return;
    struct disk_key k;
    disk_key_make(dc, &k, "http://127.0.0.1/runs", "v", 10 * MiB);
    for (uint64_t c = 0; c < 6; c++)
        fill_chunk(dc, &k, 9, 1, c);
    CHECK(disk_cache_ready_run(dc, &k, 0, 10) == 6, "ready run: 6 chunks");
    CHECK(disk_cache_ready_run(dc, &k, 4, 10) == 2, "ready run from 4: 2 chunks");
    pid_t pid = fork();
    if (pid == 0) {
        static uint8_t run[8 * CS];
        struct disk_cache *d2 = disk_cache_attach(dir);
        int bad = !d2;
        if (d2) {
            bad |= disk_cache_read_run(d2, &k, 0, run, 6) != 6;
            for (uint64_t c = 0; c < 6 && !bad; c++) {
                pattern_fill(want, CS, 9, 1, c);
                bad |= memcmp(run + c * CS, want, CS) != 0;
            }
            bad |= (disk_cache_read_run(d2, &k, 4, run, 4) != 2) << 1;
            disk_cache_close(d2);
        }
        _exit(bad);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "another process reads a run right, and it stops at a missing chunk (%d)",
          WEXITSTATUS(status));
    /* One flipped byte in chunk 3's slot: the run stops there. */
    uint32_t slot3 = NIL;
    for (uint32_t i = 0; i < dc->nslots; i++)
        if (dc->slots[i].state == SLOT_READY && dc->slots[i].chunk == 3)
            slot3 = i;
    int fd = open(slab, O_RDWR);
    uint8_t b = 0;
    off_t at = (off_t)slot3 * CS + 40000;
    CHECK(slot3 != NIL && fd >= 0 && pread(fd, &b, 1, at) == 1 && (b ^= 1, pwrite(fd, &b, 1, at) == 1),
          "flip a byte of chunk 3");
    close(fd);
    CHECK(run_stops_at(dir, &k, 3),
          "a flipped byte in chunk 3: the run gives chunks 0-2; chunk 3 alone fails its check");
    struct disk_cache_stats st;
    disk_cache_stats(dc, &st);
    flip_every_slot(slab, st.slots, 5000);
    CHECK(run_stops_at(dir, &k, 0), "a flipped byte stops the run; the chunk read alone fails its check");
    disk_cache_close(dc);
}

/* A pin of a dead process planted in slot 0: cleared by the repair an opener alone runs,
 * kept (cleared only where met) when the last process detached cleanly.  After such a
 * detach, a process that dies holding the index lock makes the next opener repair. */
enum detach_case { NO_DETACH, DETACH, DETACH_OTHER_BOOT, DETACH_FILLING };

/* 1: the pin was kept (no repair), 0: cleared (repaired), -1: the test could not run. */
static int stale_pin_kept(const char *dir, enum detach_case how, bool die_locked)
{
    struct disk_cache *dc = disk_cache_open(dir, 4 * MiB, CS);
    if (!dc)
        return -1;
    dc->slots[0].pins[DC_PINS - 1].tag = (uint64_t)0x7ffffff0 << 32 | 1;
    dc->slots[0].pins[DC_PINS - 1].until_ms = UINT64_MAX / 2;
    struct disk_key k;
    struct disk_claim c;
    disk_key_make(dc, &k, "http://127.0.0.1/detach", "v", MiB);
    if (how == DETACH_FILLING && disk_cache_claim(dc, &k, 0, &c) != 0) {
        disk_cache_close(dc);
        return -1;
    }
    if (how != NO_DETACH)
        disk_cache_detach(dc);
    if (how == DETACH_OTHER_BOOT)
        dc->h->clean_boot ^= 2; /* as if marked before a reboot */
    if (die_locked) {
        pid_t pid = fork();
        if (pid == 0) {
            pthread_mutex_lock(&dc->h->lock);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    disk_cache_close(dc);
    dc = disk_cache_open(dir, 4 * MiB, CS);
    if (!dc)
        return -1;
    bool kept = dc->slots[0].pins[DC_PINS - 1].tag != 0;
    bool cleared_mark = dc->h->clean == 0; /* every opener clears it */
    disk_cache_close(dc);
    return cleared_mark ? kept : -1;
}

static void test_clean_detach(void)
{
    char dir[4200];
    path_of(dir, sizeof dir, "detach");
    CHECK(stale_pin_kept(dir, NO_DETACH, false) == 0, "no clean detach: the opener repairs");
    CHECK(stale_pin_kept(dir, DETACH, false) == 1, "clean detach: no repair pass at the next open");
    CHECK(stale_pin_kept(dir, DETACH, true) == 0,
          "clean detach, then a death holding the lock: repaired");
    CHECK(stale_pin_kept(dir, DETACH_OTHER_BOOT, false) == 0, "a mark from another boot: repaired");
    CHECK(stale_pin_kept(dir, DETACH_FILLING, false) == 0, "a slot left FILLING: no mark, repaired");
}

int main(int argc, char **argv)
{
    snprintf(root, sizeof root, "%s/unit-disk-cache.XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(logpath, sizeof logpath, "%s/log", root);
    test_hashes();
    test_basics();
    test_lru();
    test_lru_reads();
    test_damage();
    test_direct();
    test_refusals();
    test_junk_links();
    test_failed_claims();
    test_runs();
    test_clean_detach();
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("cannot remove %s\n", root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
