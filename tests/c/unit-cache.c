/* unit-cache.c: the chunk cache (shim/cache.c) against a fake fetch, no network: the
 * bound (the arena holds whole slots within cache_size, whatever the chunk size; a read
 * larger than the cache goes through it in steps; with every slot pending a read fails
 * with EIO at its deadline), single flight (N threads on one cold chunk: one fetch),
 * pinning (a slot being filled is never handed to another chunk), eviction order (LRU;
 * readahead's unread chunks spared; what a sequential stream has read goes first) and
 * readahead's budget.  Prints "N passed, N failed". */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "real.h"
#include "unit.h"

#define KiB ((int64_t)1 << 10)
#define MiB ((int64_t)1 << 20)
#define CHUNK (64 * KiB)
#define MAX_BUFS 4096

/* A source whose fetch fills byte o with pattern(o), counts what it does, can be held
 * at a gate, and checks that every buffer it is handed lies in the arena's slots. */
struct fake {
    struct cache_source src;
    struct object_stats stats;
    atomic_int fetches;             /* calls */
    atomic_int chunk_fetches[1024]; /* by chunk index */
    atomic_int started;             /* calls that began (gated or not) */
    int delay_ms;                   /* each fetch sleeps this long */
    pthread_mutex_t lock;           /* guards the gate and the buffers seen */
    pthread_cond_t cond;
    bool gate_closed;               /* fetches of the gated chunks wait while set */
    int64_t gate_index;             /* the gated chunk; -1: every chunk */
    char *held_buf;                 /* the gated chunk's slot while it waits */
    int gate_timeouts;              /* fetches that waited 3 s at the gate (then EIO) */
    int reused_held;                /* fetches handed held_buf while it was held */
    char *bufs_seen[MAX_BUFS];
    int nbufs_seen;
    atomic_long inflight, peak_inflight; /* bytes being fetched */
    int bad_sinks;
};

static uint8_t pattern(int64_t o)
{
    return (uint8_t)((uint64_t)o * 2654435761u >> 11);
}

static void see_buf(struct fake *f, char *b)
{
    for (int i = 0; i < f->nbufs_seen; i++)
        if (f->bufs_seen[i] == b)
            return;
    if (f->nbufs_seen < MAX_BUFS)
        f->bufs_seen[f->nbufs_seen++] = b;
}

static int fake_fetch(struct cache_source *src, int64_t offset, int64_t len,
                      const struct cache_sink *sink, uint64_t deadline_ms, bool demand)
{
    struct fake *f = (struct fake *)src;
    atomic_fetch_add(&f->fetches, 1);
    atomic_fetch_add(&f->started, 1);
    long now = atomic_fetch_add(&f->inflight, len) + len;
    for (long peak = atomic_load(&f->peak_inflight);
         now > peak && !atomic_compare_exchange_weak(&f->peak_inflight, &peak, now);)
        ;
    pthread_mutex_lock(&f->lock);
    int64_t sum = 0;
    for (size_t i = 0; i < sink->nbufs; i++) {
        size_t piece = i + 1 < sink->nbufs ? sink->piece : (size_t)(len - sum);
        if (piece > sink->piece || piece == 0)
            f->bad_sinks++;
        sum += (int64_t)piece;
        if (f->held_buf == sink->bufs[i])
            f->reused_held++;
        see_buf(f, sink->bufs[i]);
    }
    if (sum != len || offset % (int64_t)sink->piece != 0)
        f->bad_sinks++;
    int64_t first = offset / (int64_t)sink->piece;
    bool gated = f->gate_index < 0 ||
                 (f->gate_index >= first && f->gate_index < first + (int64_t)sink->nbufs);
    if (gated && f->gate_closed && f->gate_index >= 0)
        f->held_buf = sink->bufs[f->gate_index - first];
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3; /* no test waits forever, even on a broken cache */
    int timed_out = 0;
    while (gated && f->gate_closed && !timed_out)
        timed_out = pthread_cond_timedwait(&f->cond, &f->lock, &until) == ETIMEDOUT;
    if (gated && f->gate_index >= 0)
        f->held_buf = NULL;
    f->gate_timeouts += timed_out;
    pthread_mutex_unlock(&f->lock);
    if (timed_out) {
        atomic_fetch_sub(&f->inflight, len);
        return -EIO;
    }
    if (f->delay_ms)
        usleep((useconds_t)f->delay_ms * 1000);
    int64_t o = offset;
    for (size_t i = 0; i < sink->nbufs; i++) {
        size_t piece = i + 1 < sink->nbufs ? sink->piece : (size_t)(len - (o - offset));
        for (size_t k = 0; k < piece; k++)
            sink->bufs[i][k] = (char)pattern(o + (int64_t)k);
        int64_t idx = o / (int64_t)sink->piece;
        if (idx < 1024)
            atomic_fetch_add(&f->chunk_fetches[idx], 1);
        o += (int64_t)piece;
    }
    atomic_fetch_sub(&f->inflight, len);
    return 0;
}

static struct fake *fake_new(int64_t size)
{
    static atomic_uint_fast64_t ids = 1;
    struct fake *f = calloc(1, sizeof *f);
    f->src.id = atomic_fetch_add(&ids, 1);
    f->src.key = cache_key_make("http://127.0.0.1/obj", "\"v1\"", "", size);
    f->src.size = size;
    f->src.stats = &f->stats;
    f->src.fetch = fake_fetch;
    f->gate_index = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    return f;
}

static void fake_free(struct fake *f)
{
    CHECK(f->gate_timeouts == 0, "%d fetches held at the gate for 3 s", f->gate_timeouts);
    cache_drop_source(&f->src);
    free(f);
}

static void gate(struct fake *f, bool closed)
{
    pthread_mutex_lock(&f->lock);
    f->gate_closed = closed;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static bool right_bytes(const char *buf, int64_t offset, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)buf[i] != pattern(offset + (int64_t)i))
            return false;
    return true;
}

/* Read [offset, offset+len) and check the bytes; the number of fetches it caused. */
static int read_ok(struct fake *f, int64_t offset, size_t len, bool sequential)
{
    char *buf = malloc(len);
    int before = atomic_load(&f->fetches);
    ssize_t n = cache_read(&f->src, buf, len, offset, sequential, now_ms() + 5000);
    CHECK(n == (ssize_t)len && right_bytes(buf, offset, len),
          "read of %zu at %lld: %zd, %s", len, (long long)offset, n,
          n < 0 ? strerror(errno) : "wrong bytes");
    free(buf);
    return atomic_load(&f->fetches) - before;
}

/* Fetches caused by reading chunks [first, first+n) one by one. */
static int read_chunks(struct fake *f, int64_t first, int64_t n, bool sequential)
{
    int fetches = 0;
    for (int64_t i = first; i < first + n; i++)
        fetches += read_ok(f, i * CHUNK, (size_t)CHUNK, sequential);
    return fetches;
}

static void fresh_cache(uint64_t chunk, uint64_t size)
{
    cache_fini();
    CHECK(cache_init(chunk, size) == 0, "cache_init(%llu, %llu)", (unsigned long long)chunk,
          (unsigned long long)size);
}

static void test_bound_knobs(void)
{
    /* A chunk larger than a quarter of the cache is clipped: the arena stays within it. */
    fresh_cache(16 * MiB, 1 * MiB);
    CHECK(cache_capacity() <= 1 * MiB, "CACHE 1M CHUNK 16M: arena %llu > 1 MiB",
          (unsigned long long)cache_capacity());
    CHECK(cache_chunk_size() * CACHE_MIN_SLOTS <= 1 * MiB, "chunk %llu not clipped",
          (unsigned long long)cache_chunk_size());
    fresh_cache(CHUNK, 1 * MiB + 12345);
    CHECK(cache_capacity() <= 1 * MiB + 12345 && cache_capacity() == 16 * CHUNK,
          "arena %llu for 1 MiB + 12345", (unsigned long long)cache_capacity());
    fresh_cache(2 * MiB, 4 * MiB);
    CHECK(cache_capacity() <= 4 * MiB && cache_chunk_size() == 1 * MiB,
          "CACHE 4M CHUNK 2M: arena %llu, chunk %llu", (unsigned long long)cache_capacity(),
          (unsigned long long)cache_chunk_size());
}

static void test_key(void)
{
    /* The stable key: the same for the same URL, validator and size; another otherwise. */
    struct cache_key a = cache_key_make("http://127.0.0.1/a", "\"1\"", "", 100);
    struct cache_key b = cache_key_make("http://127.0.0.1/a", "\"1\"", "", 100);
    struct cache_key e = cache_key_make("http://127.0.0.1/a", "\"2\"", "", 100);
    struct cache_key s = cache_key_make("http://127.0.0.1/a", "\"1\"", "", 101);
    struct cache_key u = cache_key_make("http://127.0.0.1/b", "\"1\"", "", 100);
    struct cache_key m = cache_key_make("http://127.0.0.1/a", "", "Mon, 01 Jan 2024", 100);
    CHECK(a.hi == b.hi && a.lo == b.lo, "one version, two keys");
    CHECK((a.hi != e.hi || a.lo != e.lo) && (a.hi != s.hi || a.lo != s.lo) &&
              (a.hi != u.hi || a.lo != u.lo) && (a.hi != m.hi || a.lo != m.lo),
          "another validator, size or URL, the same key");
}

static void test_bound_big_read(void)
{
    /* A read of 8x the cache goes through it in steps: right bytes, and no buffer the
     * fetch was handed lies outside the 16 slots. */
    fresh_cache(CHUNK, 16 * CHUNK);
    struct fake *f = fake_new(64 * MiB);
    read_ok(f, 12345, (size_t)(8 * MiB), true);
    char *lo = f->bufs_seen[0], *hi = f->bufs_seen[0];
    for (int i = 1; i < f->nbufs_seen; i++) {
        lo = f->bufs_seen[i] < lo ? f->bufs_seen[i] : lo;
        hi = f->bufs_seen[i] > hi ? f->bufs_seen[i] : hi;
    }
    CHECK(f->nbufs_seen <= 16 && hi + CHUNK - lo <= 16 * CHUNK,
          "a read of 8 MiB through a 1 MiB cache used %d slots spanning %lld bytes",
          f->nbufs_seen, (long long)(hi + CHUNK - lo));
    CHECK(atomic_load(&f->peak_inflight) <= 16 * CHUNK, "%ld bytes fetched at once",
          (long)atomic_load(&f->peak_inflight));
    CHECK(f->bad_sinks == 0, "%d malformed sinks", f->bad_sinks);
    fake_free(f);
}

struct reader_arg {
    struct fake *f;
    int64_t offset;
    size_t len;
    ssize_t got;
    bool right;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    char *buf = malloc(a->len);
    a->got = cache_read(&a->f->src, buf, a->len, a->offset, false, now_ms() + 10000);
    a->right = a->got == (ssize_t)a->len && right_bytes(buf, a->offset, a->len);
    free(buf);
    return NULL;
}

static void wait_started(struct fake *f, int n)
{
    for (int i = 0; i < 2000 && atomic_load(&f->started) < n; i++)
        usleep(1000);
}

static void test_bound_all_pending(void)
{
    /* Every slot pending (4 readers of 4 chunks each, held at the gate): a fifth read
     * allocates nothing more; it fails with EIO at its deadline. */
    fresh_cache(CHUNK, 16 * CHUNK);
    struct fake *f = fake_new(64 * MiB);
    gate(f, true);
    pthread_t t[4];
    struct reader_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct reader_arg){ .f = f, .offset = i * 4 * CHUNK, .len = (size_t)(4 * CHUNK) };
        pthread_create(&t[i], NULL, reader, &a[i]);
    }
    wait_started(f, 4);
    char buf[100];
    uint64_t start = now_ms();
    ssize_t n = cache_read(&f->src, buf, sizeof buf, 40 * CHUNK, false, start + 300);
    int err = errno;
    uint64_t took = now_ms() - start;
    CHECK(n == -1 && err == EIO && took >= 250 && took < 2000,
          "a read with every slot pending: %zd (%s) after %llu ms", n, strerror(err),
          (unsigned long long)took);
    CHECK(atomic_load(&f->started) == 4, "%d fetches with 16 slots pending",
          atomic_load(&f->started));
    gate(f, false);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].right, "reader %d after the gate: %zd", i, a[i].got);
    }
    fake_free(f);
}

static void test_single_flight(void)
{
    fresh_cache(CHUNK, 4 * MiB);
    struct fake *f = fake_new(64 * MiB);
    f->delay_ms = 100;
    enum { N = 8 };
    pthread_t t[N];
    struct reader_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (struct reader_arg){ .f = f, .offset = 1000 + i, .len = 4000 };
        pthread_create(&t[i], NULL, reader, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].right, "reader %d of one cold chunk: %zd", i, a[i].got);
    }
    CHECK(atomic_load(&f->fetches) == 1, "%d threads reading one cold chunk: %d fetches", N,
          atomic_load(&f->fetches));
    /* And over 16 chunks, each read by 8 threads from different places: each fetched once. */
    for (int i = 0; i < N; i++) {
        a[i] = (struct reader_arg){ .f = f, .offset = 16 * CHUNK + i * 4096,
                                    .len = (size_t)(16 * CHUNK - i * 8192) };
        pthread_create(&t[i], NULL, reader, &a[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    int most = 0;
    for (int c = 16; c < 32; c++)
        most = atomic_load(&f->chunk_fetches[c]) > most ? atomic_load(&f->chunk_fetches[c]) : most;
    CHECK(most == 1, "16 chunks read by %d threads at once: a chunk fetched %d times", N, most);
    fake_free(f);
}

static void test_pinning(void)
{
    /* A slot being filled (chunk 5, held at the gate) is never handed to another chunk,
     * however many others are read meanwhile; a second reader of chunk 5 waits for it. */
    fresh_cache(CHUNK, 16 * CHUNK);
    struct fake *f = fake_new(64 * MiB);
    f->gate_index = 5;
    gate(f, true);
    pthread_t t[2];
    struct reader_arg a[2] = { { .f = f, .offset = 5 * CHUNK + 7, .len = 1000 },
                               { .f = f, .offset = 5 * CHUNK + 100, .len = 5000 } };
    pthread_create(&t[0], NULL, reader, &a[0]);
    wait_started(f, 1);
    pthread_create(&t[1], NULL, reader, &a[1]);
    read_chunks(f, 100, 60, false);
    read_ok(f, 200 * CHUNK, (size_t)(40 * CHUNK), true);
    gate(f, false);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].right, "reader %d of the held chunk: %zd", i, a[i].got);
    }
    CHECK(f->reused_held == 0, "the slot of a pending chunk was handed out %d times",
          f->reused_held);
    CHECK(atomic_load(&f->chunk_fetches[5]) == 1, "the held chunk was fetched %d times",
          atomic_load(&f->chunk_fetches[5]));
    fake_free(f);
}

static void test_lru(void)
{
    /* 16 slots filled by random reads; chunk 0 read again; a new chunk evicts the least
     * recently used one (1), not 0. */
    fresh_cache(CHUNK, 16 * CHUNK);
    struct fake *f = fake_new(64 * MiB);
    read_chunks(f, 0, 16, false);
    CHECK(read_chunks(f, 0, 1, false) == 0, "chunk 0 again: fetched");
    CHECK(read_chunks(f, 16, 1, false) == 1, "a new chunk: not fetched once");
    CHECK(read_chunks(f, 0, 1, false) == 0, "the chunk read again was evicted");
    CHECK(read_chunks(f, 2, 1, false) == 0, "chunk 2 (more recent than 1) was evicted");
    CHECK(read_chunks(f, 1, 1, false) == 1, "chunk 1 (least recently used) was kept");
    fake_free(f);
}

static void test_unread_spared(void)
{
    /* Readahead's chunks nobody has read yet outlive 30 random reads that cycle the
     * other slots; then they are read without a fetch and nothing was wasted. */
    fresh_cache(CHUNK, 16 * CHUNK);
    struct fake *f = fake_new(64 * MiB);
    int64_t got = cache_prefetch(&f->src, 100 * CHUNK, 4 * CHUNK, now_ms() + 5000);
    CHECK(got == 4 * CHUNK, "prefetch of 4 chunks fetched %lld bytes", (long long)got);
    read_chunks(f, 0, 30, false);
    CHECK(read_chunks(f, 100, 4, true) == 0, "readahead's unread chunks were evicted");
    CHECK(atomic_load(&f->stats.readahead_wasted) == 0, "readahead wasted %llu bytes",
          (unsigned long long)atomic_load(&f->stats.readahead_wasted));
    CHECK(atomic_load(&f->stats.readahead_used) == 4 * CHUNK, "readahead used %llu bytes",
          (unsigned long long)atomic_load(&f->stats.readahead_used));
    fake_free(f);
}

static void test_stream_goes_first(void)
{
    /* 8 chunks of random reads, then 8 that readahead filled and a sequential stream
     * read: new chunks take the stream's slots, the random reads' data stays. */
    fresh_cache(CHUNK, 16 * CHUNK);
    struct fake *f = fake_new(64 * MiB);
    read_chunks(f, 0, 8, false);
    cache_prefetch(&f->src, 50 * CHUNK, 8 * CHUNK, now_ms() + 5000);
    CHECK(read_chunks(f, 50, 8, true) == 0, "the stream's readahead was not used");
    CHECK(read_chunks(f, 60, 6, false) == 6, "6 new chunks");
    CHECK(read_chunks(f, 0, 8, false) == 0, "random reads' data went before the stream's");
    fake_free(f);
}

static void test_readahead_budget(void)
{
    /* 16 slots of random reads, then readahead of 100 chunks: it fetches at most its
     * budget (12 chunks), leaves the other 4 slots' data alone; a second readahead leaves
     * the first one's unread chunks alone while they are fresh (its reader is about to
     * need them), and reuses the oldest once they are leftovers, rather than anything
     * else. */
    fresh_cache(CHUNK, 16 * CHUNK);
    uint64_t budget = cache_readahead_budget();
    CHECK(budget == 12 * CHUNK, "budget %llu", (unsigned long long)budget);
    struct fake *f = fake_new(64 * MiB);
    read_chunks(f, 0, 16, false);
    int64_t got = cache_prefetch(&f->src, 100 * CHUNK, 100 * CHUNK, now_ms() + 5000);
    CHECK(got > 0 && (uint64_t)got <= budget, "readahead of 100 chunks fetched %lld > budget %llu",
          (long long)got, (unsigned long long)budget);
    CHECK(cache_unread_prefetch(&f->src) <= budget, "unread readahead %llu > budget",
          (unsigned long long)cache_unread_prefetch(&f->src));
    /* the 4 most recent random chunks stay (read newest first: each hit refreshes it) */
    CHECK(read_chunks(f, 15, 1, false) + read_chunks(f, 14, 1, false) +
                  read_chunks(f, 13, 1, false) + read_chunks(f, 12, 1, false) == 0,
          "readahead evicted data beyond its budget");
    struct fake *g = fake_new(64 * MiB);
    got = cache_prefetch(&g->src, 0, 4 * CHUNK, now_ms() + 5000);
    CHECK(got == 0, "a second readahead evicted the first one's unread chunks (fetched %lld)",
          (long long)got);
    usleep(2100 * 1000); /* the first readahead's chunks are leftovers now */
    got = cache_prefetch(&g->src, 0, 4 * CHUNK, now_ms() + 5000);
    CHECK(got == 4 * CHUNK, "a second readahead fetched %lld", (long long)got);
    CHECK(cache_unread_prefetch(&f->src) + cache_unread_prefetch(&g->src) <= budget,
          "two readaheads hold %llu > budget",
          (unsigned long long)(cache_unread_prefetch(&f->src) + cache_unread_prefetch(&g->src)));
    CHECK(read_chunks(f, 12, 4, false) == 0, "the second readahead evicted other data");
    fake_free(g);
    fake_free(f);
}

int main(void)
{
    /* No hooks here: libc's own mmap is the real one (real_resolve refuses a symbol that
     * is the program's own definition). */
    real.mmap = mmap;
    test_key();
    test_bound_knobs();
    test_bound_big_read();
    test_bound_all_pending();
    test_single_flight();
    test_pinning();
    test_lru();
    test_unread_spared();
    test_stream_goes_first();
    test_readahead_budget();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
