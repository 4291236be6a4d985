/* cache.c: see cache.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cache.h"
#include "clock.h"
#include "log.h"
#include "pool.h"
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
    struct chunk *hash_next;
    struct chunk *lru_prev, *lru_next; /* on an LRU list (READY, unpinned) or the free list */
    char *data;
    size_t len;
};

/* Largest number of chunks one step of a read handles (and pins) at once. */
#define STEP_MAX 256

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER; /* guards all below */
static pthread_cond_t cache_cond; /* a chunk changed state, or a slot was unpinned */
static struct chunk *chunks;      /* nslots entries; chunks[i].data is slot i */
static size_t nslots;
static struct chunk **buckets;
static size_t nbuckets;           /* a power of two */
static struct chunk lru;          /* sentinel: lru.lru_next is the most recent */
static struct chunk unread;       /* sentinel: the same for chunks readahead filled */
static size_t n_unread;           /* chunks on the unread list */
static size_t unread_max;         /* readahead's budget, in chunks */
static struct chunk behind;       /* sentinel: readahead's chunks, read once since */
static size_t n_behind;           /* chunks on the behind list */
static size_t behind_keep;        /* how many of those stay before slots are reused */
static struct chunk free_list;    /* sentinel */
static uint64_t chunk_size;
static unsigned chunk_shift;
static size_t step_max;

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

int cache_init(uint64_t csize, uint64_t cache_size)
{
    chunk_size = csize;
    chunk_shift = (unsigned)__builtin_ctzll(csize);
    nslots = (size_t)(cache_size / csize);
    if (nslots < 4)
        nslots = 4;
    step_max = nslots / 4 < STEP_MAX ? nslots / 4 : STEP_MAX;
    if (step_max == 0)
        step_max = 1;
    nbuckets = 1;
    while (nbuckets < nslots * 2)
        nbuckets <<= 1;
    /* Reserved, not committed: pages become resident as chunks are first filled. */
    char *arena = REAL(mmap)(NULL, nslots * csize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena != MAP_FAILED) /* fewer page faults while the cache first fills */
        madvise(arena, nslots * csize, MADV_HUGEPAGE);
    chunks = calloc(nslots, sizeof *chunks);
    buckets = calloc(nbuckets, sizeof *buckets);
    if (arena == MAP_FAILED || !chunks || !buckets) {
        log_error("cannot reserve the %llu-byte cache", (unsigned long long)cache_size);
        return -1;
    }
    cond_init_monotonic(&cache_cond);
    list_init(&lru);
    list_init(&unread);
    list_init(&behind);
    list_init(&free_list);
    unread_max = nslots / 4 * 3;
    behind_keep = nslots / 16;
    for (size_t i = 0; i < nslots; i++) {
        chunks[i].data = arena + i * csize;
        list_push_front(&free_list, &chunks[i]);
    }
    return 0;
}

uint64_t cache_chunk_size(void)
{
    return chunk_size;
}

uint64_t cache_readahead_budget(void)
{
    return unread_max * chunk_size;
}

static size_t bucket_of(const struct cache_source *src, int64_t index)
{
    uint64_t h = src->id * 0x9E3779B97F4A7C15ull ^ (uint64_t)index * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29)) & (nbuckets - 1);
}

static struct chunk *lookup(const struct cache_source *src, int64_t index)
{
    for (struct chunk *c = buckets[bucket_of(src, index)]; c; c = c->hash_next)
        if (c->src == src && c->index == index)
            return c;
    return NULL;
}

static void unhash(struct chunk *c)
{
    struct chunk **pp = &buckets[bucket_of(c->src, c->index)];
    while (*pp != c)
        pp = &(*pp)->hash_next;
    *pp = c->hash_next;
    c->hash_next = NULL;
}

/* A READY, unpinned chunk leaves its LRU list (to be pinned or evicted). */
static void lru_remove(struct chunk *c)
{
    if (c->prefetched)
        n_unread--;
    else if (c->once)
        n_behind--;
    list_remove(c);
}

/* A READY chunk nobody pins any more goes to the front of its LRU list. */
static void lru_push(struct chunk *c)
{
    if (c->prefetched) {
        n_unread++;
        list_push_front(&unread, c);
    } else if (c->once) {
        n_behind++;
        list_push_front(&behind, c);
    } else {
        list_push_front(&lru, c);
    }
}

/* A READY, unpinned chunk leaves the cache. */
static void evict(struct chunk *c)
{
    lru_remove(c);
    unhash(c);
    if (c->prefetched)
        STAT_ADD(c->src->stats, readahead_wasted, c->len);
    c->state = CHUNK_FREE;
    c->src = NULL;
    list_push_front(&free_list, c);
}

/* A free slot, evicting a chunk if need be; NULL when every slot is pinned or pending.
 *
 * Chunks are kept on three lists.  Readahead's chunks that nobody has read yet go last,
 * while they fit in readahead's budget: readahead never runs more than a window ahead
 * of its reader, so they are about to be read, and evicting them would fetch them
 * twice (beyond the budget they are leftovers of streams that stopped, and go first).
 * Readahead's chunks once they have been read go first: a sequential stream rarely
 * reads its data again (like the kernel's use-once pages), so a big scan neither
 * flushes the data random reads keep coming back to nor spreads over the whole arena;
 * behind_keep of them stay, for a reader that steps back a little, and past that their
 * slots are reused even before fresh slots are touched.  A chunk read a second time
 * joins the ordinary LRU list. */
static struct chunk *take_slot(void)
{
    if (!list_empty(&unread) && n_unread > unread_max)
        evict(unread.lru_prev);
    else if (n_behind > behind_keep)
        evict(behind.lru_prev);
    else if (list_empty(&free_list)) {
        if (!list_empty(&behind))
            evict(behind.lru_prev);
        else if (!list_empty(&lru))
            evict(lru.lru_prev);
        else if (!list_empty(&unread))
            evict(unread.lru_prev);
        else
            return NULL;
    }
    struct chunk *c = free_list.lru_next;
    list_remove(c);
    return c;
}

static struct chunk *claim(struct cache_source *src, int64_t index, bool prefetched)
{
    struct chunk *c = take_slot();
    if (!c)
        return NULL;
    int64_t start = index << chunk_shift;
    c->src = src;
    c->index = index;
    c->state = CHUNK_PENDING;
    c->err = 0;
    c->pins = 1;
    c->prefetched = prefetched;
    c->once = false;
    c->len = (size_t)(src->size - start < (int64_t)chunk_size ? src->size - start
                                                                : (int64_t)chunk_size);
    size_t b = bucket_of(src, index);
    c->hash_next = buckets[b];
    buckets[b] = c;
    return c;
}

static void pin(struct chunk *c)
{
    if (c->pins++ == 0 && c->state == CHUNK_READY)
        lru_remove(c);
}

static void unpin(struct chunk *c)
{
    if (--c->pins > 0)
        return;
    if (c->state == CHUNK_READY) {
        lru_push(c);
    } else if (c->state == CHUNK_FAILED) {
        c->state = CHUNK_FREE;
        c->src = NULL;
        list_push_front(&free_list, c);
    }
}

/* Fetch the run chunk[0..n) (consecutive, claimed by us) as one range and publish the
 * result. */
static int fetch_run(struct cache_source *src, struct chunk **run, size_t n,
                     uint64_t deadline_ms, bool demand)
{
    char *bufs[STEP_MAX];
    int64_t len = 0;
    for (size_t i = 0; i < n; i++) {
        bufs[i] = run[i]->data;
        len += (int64_t)run[i]->len;
    }
    struct http_sink sink = { .bufs = bufs, .nbufs = n, .piece = chunk_size };
    int rc = src->fetch(src, run[0]->index << chunk_shift, len, &sink, deadline_ms, demand);
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            run[i]->state = CHUNK_READY;
        } else {
            run[i]->state = CHUNK_FAILED;
            run[i]->err = -rc;
            unhash(run[i]);
        }
    }
    pthread_cond_broadcast(&cache_cond);
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* Fetch every run of consecutive chunks in c[0..n) that we claimed. */
static int fetch_claimed(struct cache_source *src, struct chunk **c, const bool *mine, size_t n,
                         uint64_t deadline_ms, bool demand)
{
    int first_err = 0;
    for (size_t i = 0; i < n;) {
        if (!mine[i]) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && mine[j] && c[j]->index == c[j - 1]->index + 1)
            j++;
        int rc = fetch_run(src, c + i, j - i, deadline_ms, demand);
        if (rc < 0 && !first_err)
            first_err = rc;
        i = j;
    }
    return first_err;
}

/* One step of cache_read: chunks [first, first+n) hold the bytes
 * [offset, offset+len) with len fitting in them.  Returns 0, 1 (retry the step: a chunk
 * someone else fetched failed for a passing reason) or -errno. */
static int read_step(struct cache_source *src, char *buf, int64_t offset, size_t len,
                     int64_t first, size_t n, bool sequential, uint64_t deadline_ms,
                     size_t *done_len)
{
    struct chunk *c[STEP_MAX];
    bool mine[STEP_MAX] = { false };
    struct timespec ts = deadline_timespec(deadline_ms);

    pthread_mutex_lock(&cache_lock);
    size_t got = 0;
    while (got < n) {
        struct chunk *ch = lookup(src, first + (int64_t)got);
        if (ch) {
            pin(ch);
            mine[got] = false;
            if (ch->state == CHUNK_READY)
                STAT_ADD(src->stats, cache_hits, 1);
            else
                STAT_ADD(src->stats, cache_misses, 1);
        } else {
            ch = claim(src, first + (int64_t)got, false);
            if (!ch) {
                if (got > 0)
                    break; /* do what we hold now; the rest in the next step */
                if (pthread_cond_timedwait(&cache_cond, &cache_lock, &ts) == ETIMEDOUT) {
                    pthread_mutex_unlock(&cache_lock);
                    log_limited(LOG_ERROR, "cache-full",
                                "every cache slot is in use; raise REMOTEIO_CACHE_SIZE");
                    return -EIO;
                }
                continue;
            }
            mine[got] = true;
            STAT_ADD(src->stats, cache_misses, 1);
        }
        c[got++] = ch;
    }
    pthread_mutex_unlock(&cache_lock);
    n = got;

    int own_err = fetch_claimed(src, c, mine, n, deadline_ms, true);

    /* Wait for the chunks others are fetching. */
    int result = 0;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < n && result == 0; i++) {
        while (c[i]->state == CHUNK_PENDING)
            if (pthread_cond_timedwait(&cache_cond, &cache_lock, &ts) == ETIMEDOUT)
                break;
        if (c[i]->state == CHUNK_PENDING) {
            log_limited(LOG_ERROR, "wait-timeout", "a read waited past its deadline for data");
            result = -EIO;
        } else if (c[i]->state == CHUNK_FAILED) {
            bool passing = !mine[i] && (c[i]->err == EIO || c[i]->err == EAGAIN);
            result = passing ? 1 : -c[i]->err;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (result == 0 && own_err < 0)
        result = own_err;

    /* Copy out from the pinned chunks. */
    size_t copied = 0;
    if (result == 0) {
        for (size_t i = 0; i < n && copied < len; i++) {
            int64_t cstart = c[i]->index << chunk_shift;
            int64_t from = offset + (int64_t)copied - cstart;
            size_t k = c[i]->len - (size_t)from;
            if (k > len - copied)
                k = len - copied;
            if (buf)
                memcpy(buf + copied, c[i]->data + from, k);
            copied += k;
        }
    }

    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < n; i++) {
        if (result == 0 && buf) {
            if (c[i]->prefetched || mine[i])
                c[i]->once = sequential; /* its first read, by a stream or not */
            else if (!sequential)
                c[i]->once = false;      /* read again, not by a stream: keep it */
        }
        if (result == 0 && buf && c[i]->prefetched) { /* a fetch-only pass reads nothing */
            c[i]->prefetched = false;
            STAT_ADD(src->stats, readahead_used, c[i]->len);
        }
        unpin(c[i]);
    }
    pthread_cond_broadcast(&cache_cond);
    pthread_mutex_unlock(&cache_lock);
    *done_len = copied;
    return result;
}

ssize_t cache_read(struct cache_source *src, void *buf, size_t len, int64_t offset,
                   bool sequential, uint64_t deadline_ms)
{
    size_t done = 0;
    while (done < len) {
        int64_t pos = offset + (int64_t)done;
        int64_t first = pos >> chunk_shift;
        int64_t last = (offset + (int64_t)len - 1) >> chunk_shift;
        size_t n = (size_t)(last - first + 1) < step_max ? (size_t)(last - first + 1) : step_max;
        size_t want = (size_t)(((first + (int64_t)n) << chunk_shift) - pos);
        if (want > len - done)
            want = len - done;
        size_t got = 0;
        char *dst = buf ? (char *)buf + done : NULL; /* NULL: fetch only */
        int rc = read_step(src, dst, pos, want, first, n, sequential, deadline_ms, &got);
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

int64_t cache_prefetch(struct cache_source *src, int64_t offset, int64_t len,
                       uint64_t deadline_ms)
{
    if (offset >= src->size)
        return 0;
    if (offset + len > src->size)
        len = src->size - offset;
    int64_t first = offset >> chunk_shift;
    int64_t last = (offset + len - 1) >> chunk_shift;
    int64_t fetched = 0;
    while (first <= last) {
        struct chunk *c[STEP_MAX];
        bool mine[STEP_MAX] = { false };
        size_t n = 0;
        bool full = false;
        pthread_mutex_lock(&cache_lock);
        /* Claim a run of missing chunks; skip the ones present or in flight. */
        while (first <= last && n < step_max) {
            struct chunk *ch = lookup(src, first);
            if (ch) {
                if (n > 0)
                    break;
                first++;
                continue;
            }
            ch = claim(src, first, true);
            if (!ch) {
                full = true;
                break;
            }
            mine[n] = true;
            c[n++] = ch;
            first++;
        }
        pthread_mutex_unlock(&cache_lock);
        if (n > 0) {
            int rc = fetch_claimed(src, c, mine, n, deadline_ms, false);
            pthread_mutex_lock(&cache_lock);
            for (size_t i = 0; i < n; i++) {
                if (rc == 0)
                    fetched += (int64_t)c[i]->len;
                unpin(c[i]);
            }
            pthread_cond_broadcast(&cache_cond);
            pthread_mutex_unlock(&cache_lock);
            if (rc < 0)
                break;
        }
        if (full)
            break;
    }
    return fetched;
}

uint64_t cache_unread_prefetch(const struct cache_source *src)
{
    uint64_t n = 0;
    if (!chunks)
        return 0;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < nslots; i++)
        if (chunks[i].src == src && chunks[i].state == CHUNK_READY && chunks[i].prefetched)
            n += chunks[i].len;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void cache_drop_source(struct cache_source *src)
{
    if (!chunks)
        return;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < nslots; i++) {
        struct chunk *c = &chunks[i];
        if (c->src == src && c->state == CHUNK_READY && c->pins == 0)
            evict(c);
    }
    pthread_mutex_unlock(&cache_lock);
}

void cache_atfork_prepare(void)
{
    pthread_mutex_lock(&cache_lock);
}

void cache_atfork_parent(void)
{
    pthread_mutex_unlock(&cache_lock);
}

void cache_atfork_child(void)
{
    /* Only the forking thread exists here, and it was not inside the cache: every pin and
     * every pending fetch belonged to threads of the parent.  Keep what is READY, free the
     * rest. */
    if (!chunks) {
        pthread_mutex_unlock(&cache_lock);
        return;
    }
    cond_init_monotonic(&cache_cond);
    list_init(&lru);
    list_init(&unread);
    list_init(&behind);
    list_init(&free_list);
    n_unread = n_behind = 0;
    for (size_t i = 0; i < nslots; i++) {
        struct chunk *c = &chunks[i];
        if (c->state == CHUNK_READY) {
            c->pins = 0;
            lru_push(c);
            continue;
        }
        if (c->state == CHUNK_PENDING)
            unhash(c);
        c->state = CHUNK_FREE;
        c->src = NULL;
        c->pins = 0;
        c->lru_next = c->lru_prev = NULL;
        list_push_front(&free_list, c);
    }
    pthread_mutex_unlock(&cache_lock);
}
