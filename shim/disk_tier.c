/* disk_tier.c: see disk_tier.h.  The handle is written once at start-up and read without
 * a lock afterwards (an acquire load); a fetch's plan lives on its own thread. */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "disk_tier.h"
#include "fdtable.h"
#include "log.h"

static struct disk_cache *tier;

/* One of the tier's descriptors among the shim's own: high, close-on-exec, protected. */
static int place_descriptor(int fd)
{
    fd = fdtable_move_high(fd, true);
    syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC); /* also where it could not move */
    fdtable_mark_internal(fd);
    return fd;
}

void disk_tier_start(uint64_t chunk_size)
{
    if (!config.cache_dir || !config.cache_dir[0] || disk_tier_on())
        return;
    /* disk_cache_open says why with one line when it returns NULL. */
    struct disk_cache *dc = disk_cache_open(config.cache_dir, config.disk_cache_size,
                                            (uint32_t)chunk_size);
    if (!dc)
        return;
    disk_cache_place_descriptors(dc, place_descriptor);
    struct disk_cache_stats st;
    disk_cache_stats(dc, &st);
    log_info("disk cache %s: %llu bytes in %llu chunks, %llu bytes of them in use",
             config.cache_dir, (unsigned long long)st.limit, (unsigned long long)st.slots,
             (unsigned long long)st.used);
    __atomic_store_n(&tier, dc, __ATOMIC_RELEASE);
}

static struct disk_cache *handle(void)
{
    return __atomic_load_n(&tier, __ATOMIC_ACQUIRE);
}

bool disk_tier_on(void)
{
    return handle() != NULL;
}

void disk_tier_key(struct disk_key *k, const char *url, const char *etag,
                   const char *last_modified, int64_t size)
{
    memset(k, 0, sizeof *k);
    const char *validator = etag[0] ? etag : last_modified;
    struct disk_cache *dc = handle();
    if (dc && validator[0] && size > 0)
        disk_key_make(dc, k, url, validator, (uint64_t)size); /* all zero if it fails */
}

static bool key_set(const struct disk_key *k)
{
    static const struct disk_key zero;
    return memcmp(k, &zero, sizeof zero) != 0;
}

void disk_tier_opened(const struct disk_key *k)
{
    struct disk_cache *dc = handle();
    if (dc && key_set(k))
        disk_cache_retire_others(dc, k);
}

/* What one fetch does with each of its chunks. */
enum plan_state {
    DONE,    /* in its slot (from the slab, or fetched) */
    CLAIMED, /* ours to fetch, then to write to the slab */
    NET,     /* to fetch, not to store (tier full or off) */
    WAIT,    /* another process is fetching it */
};

struct plan {
    const struct disk_key *k;
    struct cache_source *src;
    const struct cache_sink *sink;
    int64_t offset;  /* of chunk 0 of the sink */
    uint64_t first;  /* its index */
    uint8_t *state;
    struct disk_claim *claims;
};

static size_t chunk_len(const struct plan *p, size_t i)
{
    int64_t start = p->offset + (int64_t)(i * p->sink->piece);
    int64_t left = p->src->size - start;
    return left < (int64_t)p->sink->piece ? (size_t)left : p->sink->piece;
}

/* Decide chunk i: read it from the slab, or claim it, or wait for it. */
static void classify(struct disk_cache *dc, struct plan *p, size_t i)
{
    size_t len = chunk_len(p, i);
    uint64_t chunk = p->first + i;
    p->state[i] = NET;
    for (int round = 0; round < 3; round++) {
        ssize_t n = disk_cache_read(dc, p->k, chunk, p->sink->bufs[i], len);
        if (n == (ssize_t)len) {
            p->state[i] = DONE;
            STAT_ADD(p->src->stats, disk_hits, 1);
            return;
        }
        if (n == -EBADMSG)
            STAT_ADD(p->src->stats, disk_checksum_failures, 1);
        if (n == -EINPROGRESS) {
            p->state[i] = WAIT;
            return;
        }
        if (n != -ENOENT && n != -EBADMSG)
            break; /* off, or a length that cannot be this chunk's: fetch it */
        int rc = disk_cache_claim(dc, p->k, chunk, &p->claims[i]);
        if (rc == -EEXIST)
            continue; /* someone just stored it: read it */
        if (rc == -EINPROGRESS) {
            p->state[i] = WAIT;
            return;
        }
        if (rc == 0) {
            p->state[i] = CLAIMED;
            if (p->claims[i].evicted)
                STAT_ADD(p->src->stats, disk_evictions, 1);
        }
        break;
    }
    STAT_ADD(p->src->stats, disk_misses, 1);
}

/* Fetch every run of consecutive CLAIMED or NET chunks as one range, then store the
 * claimed ones.  0, or the first failure (every claim not yet filled is abandoned). */
static int fetch_runs(struct disk_cache *dc, struct plan *p, uint64_t deadline_ms, bool demand,
                      disk_tier_net_fn net)
{
    size_t n = p->sink->nbufs;
    int err = 0;
    for (size_t i = 0; i < n;) {
        if (p->state[i] != CLAIMED && p->state[i] != NET) {
            i++;
            continue;
        }
        size_t j = i;
        int64_t len = 0;
        while (j < n && (p->state[j] == CLAIMED || p->state[j] == NET))
            len += (int64_t)chunk_len(p, j++);
        struct cache_sink part = { .bufs = p->sink->bufs + i, .nbufs = j - i,
                                   .piece = p->sink->piece };
        int rc = err ? err : net(p->src, p->offset + (int64_t)(i * p->sink->piece), len, &part,
                                 deadline_ms, demand);
        for (size_t c = i; c < j; c++) {
            if (p->state[c] == CLAIMED) {
                size_t clen = chunk_len(p, c);
                if (rc == 0 && disk_cache_fill(dc, &p->claims[c], p->sink->bufs[c], clen) == 0)
                    STAT_ADD(p->src->stats, disk_bytes_written, clen);
                else if (rc != 0)
                    disk_cache_abandon(dc, &p->claims[c]);
            }
            p->state[c] = DONE;
        }
        if (rc && !err)
            err = rc;
        i = j;
    }
    return err;
}

/* Chunks another process was fetching: wait for each (bounded), then read it, or fetch
 * it ourselves when that process gave up, died or is late. */
static void settle_waits(struct disk_cache *dc, struct plan *p, uint64_t deadline_ms)
{
    for (size_t i = 0; i < p->sink->nbufs; i++) {
        if (p->state[i] != WAIT)
            continue;
        uint64_t chunk = p->first + i;
        size_t len = chunk_len(p, i);
        int w = disk_cache_wait(dc, p->k, chunk, deadline_ms);
        p->state[i] = NET;
        if (w == 0 && disk_cache_read(dc, p->k, chunk, p->sink->bufs[i], len) == (ssize_t)len) {
            p->state[i] = DONE;
            STAT_ADD(p->src->stats, disk_hits, 1);
            continue;
        }
        STAT_ADD(p->src->stats, disk_misses, 1);
        if (w == -ENOENT && disk_cache_claim(dc, p->k, chunk, &p->claims[i]) == 0)
            p->state[i] = CLAIMED;
    }
}

int disk_tier_fetch(const struct disk_key *k, struct cache_source *src, int64_t offset,
                    int64_t len, const struct cache_sink *sink, uint64_t deadline_ms,
                    bool demand, disk_tier_net_fn net)
{
    struct disk_cache *dc = handle();
    if (!dc || !key_set(k) || sink->nbufs == 0 || sink->piece == 0 ||
        (offset % (int64_t)sink->piece) != 0)
        return net(src, offset, len, sink, deadline_ms, demand);
    struct plan p = { .k = k, .src = src, .sink = sink, .offset = offset,
                      .first = (uint64_t)offset / sink->piece };
    p.state = malloc(sink->nbufs);
    p.claims = malloc(sink->nbufs * sizeof *p.claims);
    if (!p.state || !p.claims) {
        free(p.state);
        free(p.claims);
        return net(src, offset, len, sink, deadline_ms, demand);
    }
    bool waits = false;
    for (size_t i = 0; i < sink->nbufs; i++) {
        classify(dc, &p, i);
        waits |= p.state[i] == WAIT;
    }
    /* Our own claims first, so that two processes waiting on each other's chunks both
     * make progress. */
    int rc = fetch_runs(dc, &p, deadline_ms, demand, net);
    if (rc == 0 && waits) {
        settle_waits(dc, &p, deadline_ms);
        rc = fetch_runs(dc, &p, deadline_ms, demand, net);
    }
    free(p.state);
    free(p.claims);
    return rc;
}
