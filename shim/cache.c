/* cache.c: see cache.h.  All state of the memory tier is one struct cache_tier; every
 * function below takes the tier it works on, and the public functions use the one
 * instance.  Locking: t->lock guards everything in a tier (see cache.h); functions named
 * *_locked, and those documented so, are called with it held. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cache.h"
#include "cleanup.h"
#include "clock.h"
#include "log.h"
#include "real.h"

enum chunk_state { CHUNK_FREE, CHUNK_PENDING, CHUNK_READY, CHUNK_FAILED };

struct chunk {
    struct cache_source *src;
    int64_t index;
    enum chunk_state state;
    int err;                  /* FAILED: why */
    int pins;                 /* readers copying out, or the fetcher */
    bool prefetched;          /* filled by readahead and not yet read */
    bool once;                /* filled by readahead and read once since */
    uint64_t unread_since_ms; /* prefetched: when it joined the unread list */
    struct chunk *hash_next;
    struct chunk *lru_prev, *lru_next; /* on an LRU list (READY, unpinned) or the free list */
    char *data;
    size_t len;
};

/* An unread readahead chunk older than this is a leftover (its stream stopped). */
#define UNREAD_STALE_MS 2000

/* Largest number of chunks one step of a read handles (and pins) at once. */
#define STEP_MAX 256

/* One tier: an arena cut into slots, the table finding a chunk by (source, index), and
 * the lists eviction takes from (see take_slot). */
struct cache_tier {
    pthread_mutex_t lock;     /* guards all below */
    pthread_cond_t cond;      /* a chunk changed state, or a slot was unpinned */
    char *arena;
    size_t arena_len;
    struct chunk *chunks;     /* nslots entries; chunks[i].data is slot i */
    size_t nslots;
    struct chunk **buckets;
    size_t nbuckets;          /* a power of two */
    struct chunk lru;         /* sentinel: lru.lru_next is the most recent */
    struct chunk unread;      /* sentinel: the same for chunks readahead filled */
    size_t n_unread;          /* chunks on the unread list */
    size_t n_prefetched;      /* chunks readahead filled or is filling, not yet read */
    size_t unread_max;        /* readahead's budget, in chunks */
    struct chunk behind;      /* sentinel: readahead's chunks, read once since */
    size_t n_behind;          /* chunks on the behind list */
    size_t behind_keep;       /* how many of those stay before slots are reused */
    struct chunk free_list;   /* sentinel */
    uint64_t chunk_size;
    unsigned chunk_shift;
    size_t step_max;
};

static struct cache_tier memory_tier = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void list_init(struct chunk *s)
{
    s->lru_next = s->lru_prev = s;
}

static void list_remove(struct chunk *c)
{
    c->lru_prev->lru_next = c->lru_next;
    c->lru_next->lru_prev = c->lru_prev;
    c->lru_next = c->lru_prev = NULL;
}

static void list_push_front(struct chunk *s, struct chunk *c)
{
    c->lru_next = s->lru_next;
    c->lru_prev = s;
    s->lru_next->lru_prev = c;
    s->lru_next = c;
}

static bool list_empty(const struct chunk *s)
{
    return s->lru_next == s;
}

static void lists_init(struct cache_tier *t)
{
    list_init(&t->lru);
    list_init(&t->unread);
    list_init(&t->behind);
    list_init(&t->free_list);
    t->n_unread = t->n_behind = t->n_prefetched = 0;
}

static int tier_init(struct cache_tier *t, uint64_t csize, uint64_t cache_size)
{
    t->chunk_size = csize;
    t->chunk_shift = (unsigned)__builtin_ctzll(csize);
    t->nslots = (size_t)(cache_size / csize);
    t->step_max = t->nslots / 4 < STEP_MAX ? t->nslots / 4 : STEP_MAX;
    if (t->step_max == 0)
        t->step_max = 1;
    t->nbuckets = 1;
    while (t->nbuckets < t->nslots * 2)
        t->nbuckets <<= 1;
    /* Reserved, not committed: pages become resident as chunks are first filled. */
    t->arena_len = t->nslots * csize;
    t->arena = REAL(mmap)(NULL, t->arena_len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t->arena != MAP_FAILED) /* fewer page faults while the cache first fills */
        madvise(t->arena, t->arena_len, MADV_HUGEPAGE);
    t->chunks = calloc(t->nslots, sizeof *t->chunks);
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (t->arena == MAP_FAILED || !t->chunks || !t->buckets) {
        log_error("cannot reserve the %llu-byte cache", (unsigned long long)cache_size);
        if (t->arena != MAP_FAILED)
            munmap(t->arena, t->arena_len);
        free(t->chunks);
        free(t->buckets);
        t->arena = NULL;
        t->chunks = NULL;
        t->buckets = NULL;
        return -1;
    }
    cond_init_monotonic(&t->cond);
    lists_init(t);
    t->unread_max = t->nslots / 4 * 3;
    t->behind_keep = t->nslots / 16;
    for (size_t i = 0; i < t->nslots; i++) {
        t->chunks[i].data = t->arena + i * csize;
        list_push_front(&t->free_list, &t->chunks[i]);
    }
    return 0;
}

int cache_init(uint64_t csize, uint64_t cache_size)
{
    uint64_t most = cache_size / CACHE_MIN_SLOTS;
    if (most < 4096) {
        log_error("REMOTEIO_CACHE_SIZE=%llu cannot hold %d chunks of 4096 bytes",
                  (unsigned long long)cache_size, CACHE_MIN_SLOTS);
        return -1;
    }
    if (csize > most) {
        /* A bigger chunk would make an arena larger than the bound: clip it. */
        uint64_t clipped = 4096;
        while (clipped * 2 <= most)
            clipped *= 2;
        log_warn("REMOTEIO_CHUNK_SIZE=%llu is more than a quarter of REMOTEIO_CACHE_SIZE=%llu: "
                 "using chunks of %llu bytes, so that the cache stays within its size",
                 (unsigned long long)csize, (unsigned long long)cache_size,
                 (unsigned long long)clipped);
        csize = clipped;
    }
    return tier_init(&memory_tier, csize, cache_size);
}

void cache_fini(void)
{
    struct cache_tier *t = &memory_tier;
    if (t->chunks) {
        munmap(t->arena, t->arena_len);
        free(t->chunks);
        free(t->buckets);
        pthread_cond_destroy(&t->cond);
    }
    *t = (struct cache_tier){ .lock = PTHREAD_MUTEX_INITIALIZER };
}

uint64_t cache_chunk_size(void)
{
    return memory_tier.chunk_size;
}

uint64_t cache_capacity(void)
{
    return memory_tier.arena_len;
}

uint64_t cache_readahead_budget(void)
{
    return memory_tier.unread_max * memory_tier.chunk_size;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* field separator: "ab"+"c" differs from "a"+"bc" */
}

static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

struct cache_key cache_key_make(const char *url, const char *etag, const char *last_modified,
                                int64_t size)
{
    /* Two FNV-1a passes from different bases, each finished with murmur3's mixer. */
    uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    const char *fields[] = { url, etag[0] ? etag : "", etag[0] ? "" : last_modified };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        a = fnv1a(a, fields[i]);
        b = fnv1a(b ^ 0x9e3779b97f4a7c15ull, fields[i]);
    }
    a ^= (uint64_t)size;
    b ^= (uint64_t)size * 0x9e3779b97f4a7c15ull;
    return (struct cache_key){ .hi = fmix64(a), .lo = fmix64(b ^ fmix64(a)) };
}

static size_t bucket_of(const struct cache_tier *t, const struct cache_source *src, int64_t index)
{
    uint64_t h = src->id * 0x9E3779B97F4A7C15ull ^ (uint64_t)index * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

static struct chunk *lookup(const struct cache_tier *t, const struct cache_source *src,
                            int64_t index)
{
    for (struct chunk *c = t->buckets[bucket_of(t, src, index)]; c; c = c->hash_next)
        if (c->src == src && c->index == index)
            return c;
    return NULL;
}

static void unhash(struct cache_tier *t, struct chunk *c)
{
    struct chunk **pp = &t->buckets[bucket_of(t, c->src, c->index)];
    while (*pp != c)
        pp = &(*pp)->hash_next;
    *pp = c->hash_next;
    c->hash_next = NULL;
}

/* A READY, unpinned chunk leaves its LRU list (to be pinned or evicted). */
static void lru_remove(struct cache_tier *t, struct chunk *c)
{
    if (c->prefetched)
        t->n_unread--;
    else if (c->once)
        t->n_behind--;
    list_remove(c);
}

/* A READY chunk nobody pins any more goes to the front of its LRU list. */
static void lru_push(struct cache_tier *t, struct chunk *c)
{
    if (c->prefetched) {
        t->n_unread++;
        c->unread_since_ms = now_ms();
        list_push_front(&t->unread, c);
    } else if (c->once) {
        t->n_behind++;
        list_push_front(&t->behind, c);
    } else {
        list_push_front(&t->lru, c);
    }
}

/* A chunk's slot goes back to the free list (out of the table and of every LRU list). */
static void free_slot(struct cache_tier *t, struct chunk *c)
{
    if (c->prefetched)
        t->n_prefetched--;
    c->prefetched = false;
    c->state = CHUNK_FREE;
    c->src = NULL;
    list_push_front(&t->free_list, c);
}

/* A READY, unpinned chunk leaves the cache. */
static void evict(struct cache_tier *t, struct chunk *c)
{
    lru_remove(t, c);
    unhash(t, c);
    if (c->prefetched)
        STAT_ADD(c->src->stats, readahead_wasted, c->len);
    free_slot(t, c);
}

/* A free slot, evicting a chunk if need be; NULL when every slot is pinned or pending.
 *
 * Chunks are kept on three lists.  Readahead's chunks that nobody has read yet go last:
 * readahead never runs more than a window ahead of its reader, so they are about to be
 * read, and evicting them would fetch them twice.  They never exceed readahead's budget:
 * at the budget readahead reuses its own oldest unread chunk if nobody read it for
 * UNREAD_STALE_MS (a leftover of a stream that stopped), or does not happen, so they
 * crowd out no other data and a live stream's next chunks are never evicted for its own
 * readahead.
 * Readahead's chunks once they have been read go first: a sequential stream rarely
 * reads its data again (like the kernel's use-once pages), so a big scan neither
 * flushes the data random reads keep coming back to nor spreads over the whole arena;
 * behind_keep of them stay, for a reader that steps back a little, and past that their
 * slots are reused even before fresh slots are touched.  A chunk read a second time
 * joins the ordinary LRU list. */
static struct chunk *take_slot(struct cache_tier *t, bool for_readahead)
{
    if (for_readahead && t->n_prefetched >= t->unread_max) {
        /* Only a leftover: the oldest unread chunk of a live stream is the next one its
         * reader needs. */
        struct chunk *oldest = t->unread.lru_prev;
        if (list_empty(&t->unread) || now_ms() - oldest->unread_since_ms < UNREAD_STALE_MS)
            return NULL;
        evict(t, oldest);
    } else if (t->n_behind > t->behind_keep)
        evict(t, t->behind.lru_prev);
    else if (list_empty(&t->free_list)) {
        if (!list_empty(&t->behind))
            evict(t, t->behind.lru_prev);
        else if (!list_empty(&t->lru))
            evict(t, t->lru.lru_prev);
        else if (!list_empty(&t->unread))
            evict(t, t->unread.lru_prev);
        else
            return NULL;
    }
    struct chunk *c = t->free_list.lru_next;
    list_remove(c);
    return c;
}

static struct chunk *claim(struct cache_tier *t, struct cache_source *src, int64_t index,
                           bool prefetched)
{
    struct chunk *c = take_slot(t, prefetched);
    if (!c)
        return NULL;
    int64_t start = index << t->chunk_shift;
    c->src = src;
    c->index = index;
    c->state = CHUNK_PENDING;
    c->err = 0;
    c->pins = 1;
    c->prefetched = prefetched;
    if (prefetched)
        t->n_prefetched++;
    c->once = false;
    c->len = (size_t)(src->size - start < (int64_t)t->chunk_size ? src->size - start
                                                                   : (int64_t)t->chunk_size);
    size_t b = bucket_of(t, src, index);
    c->hash_next = t->buckets[b];
    t->buckets[b] = c;
    return c;
}

static void pin(struct cache_tier *t, struct chunk *c)
{
    if (c->pins++ == 0 && c->state == CHUNK_READY)
        lru_remove(t, c);
}

static void unpin(struct cache_tier *t, struct chunk *c)
{
    if (--c->pins > 0)
        return;
    if (c->state == CHUNK_READY)
        lru_push(t, c);
    else if (c->state == CHUNK_FAILED)
        free_slot(t, c);
}

/* Fetch the run chunk[0..n) (consecutive, claimed by us) as one range and publish the
 * result. */
static int fetch_run(struct cache_tier *t, struct cache_source *src, struct chunk **run,
                     size_t n, uint64_t deadline_ms, bool demand)
{
    char *bufs[STEP_MAX];
    int64_t len = 0;
    for (size_t i = 0; i < n; i++) {
        bufs[i] = run[i]->data;
        len += (int64_t)run[i]->len;
    }
    struct cache_sink sink = { .bufs = bufs, .nbufs = n, .piece = t->chunk_size };
    int rc = src->fetch(src, run[0]->index << t->chunk_shift, len, &sink, deadline_ms, demand);
    LOCK_FOR_SCOPE(&t->lock);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            run[i]->state = CHUNK_READY;
        } else {
            run[i]->state = CHUNK_FAILED;
            run[i]->err = -rc;
            unhash(t, run[i]);
        }
    }
    pthread_cond_broadcast(&t->cond);
    return rc;
}

/* The chunks one step of a read (or of readahead) holds pinned. */
struct step {
    struct cache_source *src;
    struct chunk *c[STEP_MAX];
    bool mine[STEP_MAX];      /* claimed by this step: it fetches them */
    size_t n;
    struct timespec deadline;
};

/* Fetch every run of consecutive chunks of the step that it claimed. */
static int step_fetch(struct cache_tier *t, struct step *s, uint64_t deadline_ms, bool demand)
{
    int first_err = 0;
    for (size_t i = 0; i < s->n;) {
        if (!s->mine[i]) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < s->n && s->mine[j] && s->c[j]->index == s->c[j - 1]->index + 1)
            j++;
        int rc = fetch_run(t, s->src, s->c + i, j - i, deadline_ms, demand);
        if (rc < 0 && !first_err)
            first_err = rc;
        i = j;
    }
    return first_err;
}

/* Pin chunks [first, first+n), claiming the missing ones, or as many of them as there
 * are slots for (at least one: it waits for a slot until the deadline).  Lock held.
 * 0, or -ETIMEDOUT when no slot came free. */
static int step_claim(struct cache_tier *t, struct step *s, int64_t first, size_t n)
{
    while (s->n < n) {
        int64_t index = first + (int64_t)s->n;
        struct chunk *ch = lookup(t, s->src, index);
        bool mine = false;
        if (ch) {
            pin(t, ch);
            if (ch->state == CHUNK_READY)
                STAT_ADD(s->src->stats, cache_hits, 1);
            else
                STAT_ADD(s->src->stats, cache_misses, 1);
        } else if ((ch = claim(t, s->src, index, false)) != NULL) {
            mine = true;
            STAT_ADD(s->src->stats, cache_misses, 1);
        } else if (s->n > 0) {
            break; /* do what we hold now; the rest in the next step */
        } else {
            if (pthread_cond_timedwait(&t->cond, &t->lock, &s->deadline) == ETIMEDOUT)
                return -ETIMEDOUT;
            continue;
        }
        s->mine[s->n] = mine;
        s->c[s->n++] = ch;
    }
    return 0;
}

/* Wait for the chunks others are fetching.  Lock held.  0, 1 (retry: a chunk someone
 * else fetched failed for a passing reason), -ETIMEDOUT, or the chunk's -errno. */
static int step_wait(struct cache_tier *t, struct step *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct chunk *c = s->c[i];
        while (c->state == CHUNK_PENDING)
            if (pthread_cond_timedwait(&t->cond, &t->lock, &s->deadline) == ETIMEDOUT)
                break;
        if (c->state == CHUNK_PENDING)
            return -ETIMEDOUT;
        if (c->state == CHUNK_FAILED) {
            bool passing = !s->mine[i] && (c->err == EIO || c->err == EAGAIN);
            return passing ? 1 : -c->err;
        }
    }
    return 0;
}

/* Copy [offset, offset+len) out of the step's READY, pinned chunks (no lock needed:
 * a pinned chunk does not change).  Returns the bytes copied. */
static size_t step_copy(const struct cache_tier *t, const struct step *s, char *buf,
                        int64_t offset, size_t len)
{
    size_t copied = 0;
    for (size_t i = 0; i < s->n && copied < len; i++) {
        int64_t cstart = s->c[i]->index << t->chunk_shift;
        int64_t from = offset + (int64_t)copied - cstart;
        size_t k = s->c[i]->len - (size_t)from;
        if (k > len - copied)
            k = len - copied;
        if (buf)
            memcpy(buf + copied, s->c[i]->data + from, k);
        copied += k;
    }
    return copied;
}

/* Unpin the step's chunks; read: a program read them (by a stream when sequential), so
 * readahead's chunks among them count as used.  Lock held. */
static void step_release(struct cache_tier *t, struct step *s, bool read, bool sequential)
{
    for (size_t i = 0; i < s->n; i++) {
        struct chunk *c = s->c[i];
        if (read) {
            if (c->prefetched || s->mine[i])
                c->once = sequential; /* its first read, by a stream or not */
            else if (!sequential)
                c->once = false;      /* read again, not by a stream: keep it */
            if (c->prefetched) {
                c->prefetched = false;
                t->n_prefetched--;
                STAT_ADD(s->src->stats, readahead_used, c->len);
            }
        }
        unpin(t, c);
    }
    pthread_cond_broadcast(&t->cond);
}

/* One step of cache_read: chunks [first, first+n) hold the bytes [offset, offset+len)
 * with len fitting in them.  Returns 0, 1 (retry the step) or -errno; *done_len is what
 * it copied (it may do fewer chunks than n when slots are short). */
static int read_step(struct cache_tier *t, struct cache_source *src, char *buf,
                     int64_t offset, size_t len, int64_t first, size_t n, bool sequential,
                     uint64_t deadline_ms, size_t *done_len)
{
    struct step s = { .src = src, .deadline = deadline_timespec(deadline_ms) };
    int rc;
    *done_len = 0;
    {
        LOCK_FOR_SCOPE(&t->lock);
        rc = step_claim(t, &s, first, n);
    }
    if (rc < 0) {
        log_limited(LOG_ERROR, "cache-full",
                    "every cache slot is in use; raise REMOTEIO_CACHE_SIZE");
        return -EIO;
    }
    int own_err = step_fetch(t, &s, deadline_ms, true);
    {
        LOCK_FOR_SCOPE(&t->lock);
        rc = step_wait(t, &s);
    }
    if (rc == -ETIMEDOUT) {
        log_limited(LOG_ERROR, "wait-timeout", "a read waited past its deadline for data");
        rc = -EIO;
    }
    if (rc == 0 && own_err < 0)
        rc = own_err;
    if (rc == 0)
        *done_len = step_copy(t, &s, buf, offset, len);
    LOCK_FOR_SCOPE(&t->lock);
    step_release(t, &s, rc == 0 && buf, sequential); /* a fetch-only pass reads nothing */
    return rc;
}

ssize_t cache_read(struct cache_source *src, void *buf, size_t len, int64_t offset,
                   bool sequential, uint64_t deadline_ms)
{
    struct cache_tier *t = &memory_tier;
    size_t done = 0;
    while (done < len) {
        int64_t pos = offset + (int64_t)done;
        int64_t first = pos >> t->chunk_shift;
        int64_t last = (offset + (int64_t)len - 1) >> t->chunk_shift;
        size_t n = (size_t)(last - first + 1) < t->step_max ? (size_t)(last - first + 1)
                                                             : t->step_max;
        size_t want = (size_t)(((first + (int64_t)n) << t->chunk_shift) - pos);
        if (want > len - done)
            want = len - done;
        size_t got = 0;
        char *dst = buf ? (char *)buf + done : NULL; /* NULL: fetch only */
        int rc = read_step(t, src, dst, pos, want, first, n, sequential, deadline_ms, &got);
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        if (rc == 1 && now_ms() >= deadline_ms) {
            errno = EIO;
            return -1;
        }
        done += got; /* 0 when the step is retried */
    }
    return (ssize_t)len;
}

/* Claim a run of missing chunks from *first on (skipping those present or in flight);
 * stops at a present chunk after the run, at last, or when readahead gets no slot
 * (*full).  Lock held. */
static void prefetch_claim(struct cache_tier *t, struct step *s, int64_t *first, int64_t last,
                           bool *full)
{
    while (*first <= last && s->n < t->step_max) {
        struct chunk *ch = lookup(t, s->src, *first);
        if (ch) {
            if (s->n > 0)
                break;
            (*first)++;
            continue;
        }
        ch = claim(t, s->src, *first, true);
        if (!ch) {
            *full = true;
            break;
        }
        s->mine[s->n] = true;
        s->c[s->n++] = ch;
        (*first)++;
    }
}

int64_t cache_prefetch(struct cache_source *src, int64_t offset, int64_t len,
                       uint64_t deadline_ms)
{
    struct cache_tier *t = &memory_tier;
    if (offset >= src->size)
        return 0;
    if (offset + len > src->size)
        len = src->size - offset;
    if (len > (int64_t)cache_readahead_budget()) /* more would evict its own work */
        len = (int64_t)cache_readahead_budget();
    if (len <= 0)
        return 0;
    int64_t first = offset >> t->chunk_shift;
    int64_t last = (offset + len - 1) >> t->chunk_shift;
    int64_t fetched = 0;
    bool full = false;
    while (first <= last && !full) {
        struct step s = { .src = src };
        {
            LOCK_FOR_SCOPE(&t->lock);
            prefetch_claim(t, &s, &first, last, &full);
        }
        if (s.n == 0)
            continue;
        int rc = step_fetch(t, &s, deadline_ms, false);
        if (rc == 0)
            for (size_t i = 0; i < s.n; i++)
                fetched += (int64_t)s.c[i]->len;
        LOCK_FOR_SCOPE(&t->lock);
        step_release(t, &s, false, false);
        if (rc < 0)
            break;
    }
    return fetched;
}

uint64_t cache_unread_prefetch(const struct cache_source *src)
{
    struct cache_tier *t = &memory_tier;
    uint64_t n = 0;
    if (!t->chunks)
        return 0;
    LOCK_FOR_SCOPE(&t->lock);
    for (size_t i = 0; i < t->nslots; i++) {
        const struct chunk *c = &t->chunks[i];
        if (c->src == src && c->state == CHUNK_READY && c->prefetched)
            n += c->len;
    }
    return n;
}

void cache_drop_source(struct cache_source *src)
{
    struct cache_tier *t = &memory_tier;
    if (!t->chunks)
        return;
    LOCK_FOR_SCOPE(&t->lock);
    for (size_t i = 0; i < t->nslots; i++) {
        struct chunk *c = &t->chunks[i];
        if (c->src == src && c->state == CHUNK_READY && c->pins == 0)
            evict(t, c);
    }
}

void cache_atfork_prepare(void)
{
    pthread_mutex_lock(&memory_tier.lock);
}

void cache_atfork_parent(void)
{
    pthread_mutex_unlock(&memory_tier.lock);
}

void cache_atfork_child(void)
{
    /* Only the forking thread exists here, and it was not inside the cache: every pin and
     * every pending fetch belonged to threads of the parent.  Keep what is READY, free the
     * rest. */
    struct cache_tier *t = &memory_tier;
    if (!t->chunks) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    cond_init_monotonic(&t->cond);
    lists_init(t);
    for (size_t i = 0; i < t->nslots; i++) {
        struct chunk *c = &t->chunks[i];
        c->pins = 0;
        if (c->state == CHUNK_READY) {
            if (c->prefetched)
                t->n_prefetched++;
            lru_push(t, c);
            continue;
        }
        if (c->state == CHUNK_PENDING)
            unhash(t, c);
        c->state = CHUNK_FREE;
        c->src = NULL;
        c->prefetched = false;
        c->lru_next = c->lru_prev = NULL;
        list_push_front(&t->free_list, c);
    }
    pthread_mutex_unlock(&t->lock);
}
