/* disk_tier.c: see disk_tier.h.  The handle is written once at start-up and read without
 * a lock afterwards (an acquire load); a fetch's plan lives on its own thread; the
 * writer's queue is guarded by wq.lock (below). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "disk_tier.h"
#include "fdtable.h"
#include "log.h"
#include "thread.h"

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
    disk_cache_usage(dc, &st);
    log_info("disk cache %s: %llu bytes in %llu chunks, %llu bytes of them in use",
             config.cache_dir, (unsigned long long)st.limit, (unsigned long long)st.slots,
             (unsigned long long)st.used);
    __atomic_store_n(&tier, dc, __ATOMIC_RELEASE);
}

static struct disk_cache *handle(void)
{
    return __atomic_load_n(&tier, __ATOMIC_ACQUIRE);
}

void disk_tier_detach(void)
{
    struct disk_cache *dc = handle();
    if (dc)
        disk_cache_detach(dc);
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

/* The chunk size: the memory cache's, which the tier was opened with. */
static uint64_t dc_chunk_size(void)
{
    return cache_chunk_size();
}

/* ---- the writer: slab writes (CRC + pwrite + publish) off the fetching thread ----
 * A fetched chunk that was claimed is copied into one of the queue's buffers and the
 * writer thread stores it; the fetching thread goes on at once.  The buffers are
 * write_queue_bytes in all (part of the memory budget; reserved once, touched as used): when every one is taken the
 * fetching thread stores the chunk itself, as it would with no writer (a readahead
 * thread first waits a little for a buffer; a reader's never waits), and no chunk is
 * dropped: dropping them when the writer falls behind
 * (the first design) lost 83% of a cold 256 MiB read on a busy 2-core host, and so the
 * next run's hits; a reader doing the write itself is the back-pressure.  The claim stays
 * the process's (FILLING, under its pid) while the chunk waits, so other processes wait
 * for it as for any fetch.  Locking: wq.lock guards the lists; a job's buffer is the
 * enqueuer's until it is on the queue, then the writer's until it is back on the free
 * list.  After fork the child starts with an empty queue (the parent's claims are not its
 * own to fill); at exit the queue is drained for at most WRITE_DRAIN_MS. */
#define WRITE_QUEUE_BYTES ((size_t)8 << 20)
#define WRITE_DRAIN_MS 2000
#define WRITE_WAIT_MS 500 /* < 1000 */

/* The queue's buffers hold fetched data: they come out of REMOTEIO_CACHE_SIZE (an
 * eighth of it, WRITE_QUEUE_BYTES at most), and the memory cache is opened with the rest. */
static uint64_t write_queue_bytes;

uint64_t disk_tier_memory_share(uint64_t cache_size)
{
    if (!config.cache_dir || !config.cache_dir[0])
        return 0;
    uint64_t b = cache_size / 8;
    write_queue_bytes = b < WRITE_QUEUE_BYTES ? b : WRITE_QUEUE_BYTES;
    return write_queue_bytes;
}

struct wjob {
    struct disk_claim claim;
    size_t len;
    char *buf;
    struct wjob *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* a job was queued (the writer waits on it) */
    pthread_cond_t room;    /* a buffer came back (one waiter woken per buffer) */
    pthread_cond_t drained; /* busy reached 0 */
    struct wjob *jobs, *free, *head, *tail;
    char *arena;
    size_t njobs, busy; /* busy: jobs queued or being written */
    size_t room_waiters, drain_waiters; /* threads waiting on room, drained */
    bool idle;          /* the writer waits for a job */
    pid_t pid;          /* the process whose thread runs (0: none) */
    bool failed;        /* could not start: write on the fetching thread */
} wq = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *writer_main(void *arg)
{
    struct disk_cache *dc = arg;
    pthread_mutex_lock(&wq.lock);
    for (;;) {
        while (!wq.head) {
            wq.idle = true;
            pthread_cond_wait(&wq.work, &wq.lock);
        }
        wq.idle = false;
        struct wjob *j = wq.head;
        wq.head = j->next;
        if (!wq.head)
            wq.tail = NULL;
        pthread_mutex_unlock(&wq.lock);
        disk_cache_fill(dc, &j->claim, j->buf, j->len); /* a lost claim is simply dropped */
        pthread_mutex_lock(&wq.lock);
        j->next = wq.free;
        wq.free = j;
        wq.busy--;
        if (wq.room_waiters)
            pthread_cond_signal(&wq.room);
        if (wq.busy == 0 && wq.drain_waiters)
            pthread_cond_broadcast(&wq.drained);
    }
    return NULL;
}

static void writer_reset(void)
{
    wq.free = wq.head = wq.tail = NULL;
    for (size_t i = 0; i < wq.njobs; i++) {
        wq.jobs[i].next = wq.free;
        wq.free = &wq.jobs[i];
    }
    wq.busy = 0;
}

static void writer_prepare(void) { pthread_mutex_lock(&wq.lock); }
static void writer_parent(void) { pthread_mutex_unlock(&wq.lock); }
static void writer_child(void)
{
    /* No writer thread here; the queued chunks are the parent's claims. */
    writer_reset();
    wq.pid = 0;
    pthread_mutex_unlock(&wq.lock);
}

static void writer_drain(void)
{
    pthread_mutex_lock(&wq.lock);
    if (wq.pid == (pid_t)syscall(SYS_getpid)) { /* not a vfork child's exit() */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += WRITE_DRAIN_MS / 1000;
        wq.drain_waiters++;
        while (wq.busy > 0 && pthread_cond_timedwait(&wq.drained, &wq.lock, &until) == 0)
            ;
        wq.drain_waiters--;
    }
    pthread_mutex_unlock(&wq.lock);
}

/* With wq.lock held: the thread runs in this process, or wq.failed. */
static bool writer_running(struct disk_cache *dc)
{
    pid_t me = (pid_t)syscall(SYS_getpid);
    if (wq.pid == me)
        return true;
    if (wq.failed)
        return false;
    if (!wq.jobs) {
        size_t cs = dc_chunk_size();
        wq.njobs = write_queue_bytes / cs;
        if (wq.njobs == 0) { /* no room for one buffer: fetching threads write */
            wq.failed = true;
            return false;
        }
        wq.jobs = calloc(wq.njobs, sizeof *wq.jobs);
        wq.arena = malloc(wq.njobs * cs); /* untouched pages cost nothing */
        if (!wq.jobs || !wq.arena) {
            wq.failed = true;
            return false;
        }
        for (size_t i = 0; i < wq.njobs; i++)
            wq.jobs[i].buf = wq.arena + i * cs;
        cond_init_monotonic(&wq.work);
        cond_init_monotonic(&wq.room);
        cond_init_monotonic(&wq.drained);
        pthread_atfork(writer_prepare, writer_parent, writer_child);
        atexit(writer_drain);
        writer_reset();
    }
    int err = thread_start_detached(writer_main, dc, 0);
    if (err) {
        log_warn("disk cache: cannot start its writer thread: %s; writing on the readers' "
                 "threads", strerror(err));
        wq.failed = true;
        return false;
    }
    wq.pid = me;
    return true;
}

/* Store a fetched chunk of claim c: queued for the writer (true: counted as written), or
 * written here when there is no writer thread or the queue is full.  A readahead fetch
 * (!demand: no reader waits on this thread) first waits up to WRITE_WAIT_MS for a
 * buffer: the writer alone then writes the slab, instead of several threads fighting
 * over its inode lock. */
static bool store(struct disk_cache *dc, const struct disk_claim *c, const void *data,
                  size_t len, bool demand)
{
    pthread_mutex_lock(&wq.lock);
    bool running = writer_running(dc);
    if (running && !wq.free && !demand) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WRITE_WAIT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        wq.room_waiters++;
        while (!wq.free && pthread_cond_timedwait(&wq.room, &wq.lock, &until) == 0)
            ;
        wq.room_waiters--;
    }
    struct wjob *j = running ? wq.free : NULL;
    if (j) {
        wq.free = j->next;
        wq.busy++;
    }
    pthread_mutex_unlock(&wq.lock);
    if (!j)
        return disk_cache_fill(dc, c, data, len) == 0;
    j->claim = *c;
    j->len = len;
    memcpy(j->buf, data, len);
    pthread_mutex_lock(&wq.lock);
    j->next = NULL;
    if (wq.tail)
        wq.tail->next = j;
    else
        wq.head = j;
    wq.tail = j;
    if (wq.idle)
        pthread_cond_signal(&wq.work);
    pthread_mutex_unlock(&wq.lock);
    return true;
}


size_t disk_tier_read(const struct disk_key *k, struct object_stats *stats, int64_t size,
                      void *buf, size_t len, int64_t offset)
{
    struct disk_cache *dc = handle();
    uint64_t cs = dc_chunk_size();
    if (!dc || !key_set(k) || cs == 0 || offset < 0 || offset >= size)
        return 0;
    if ((int64_t)len > size - offset)
        len = (size_t)(size - offset);
    size_t done = 0;
    while (done < len) {
        uint64_t at = (uint64_t)offset + done, chunk = at / cs;
        size_t from = (size_t)(at % cs), n = (size_t)(cs - from);
        if (from == 0 && len - done >= 2 * cs) {
            /* Whole chunks: a run of them at a time; the chunk a run stops at (if it
             * does) is read alone below, which says why. */
            size_t ask = (len - done) / cs;
            if (ask > DISK_READ_RUN_MAX)
                ask = DISK_READ_RUN_MAX;
            size_t got = disk_cache_read_run(dc, k, chunk, (char *)buf + done, ask);
            STAT_ADD(stats, disk_hits, got);
            done += got * cs;
            if (got == ask || done >= len)
                continue;
            chunk += got;
            n = (size_t)cs;
        }
        if (n > len - done)
            n = len - done;
        ssize_t r = disk_cache_read_at(dc, k, chunk, from, (char *)buf + done, n);
        if (r == -EBADMSG)
            STAT_ADD(stats, disk_checksum_failures, 1);
        if (r != (ssize_t)n)
            break; /* the memory cache takes it from here (fetch, claim or wait) */
        STAT_ADD(stats, disk_hits, 1);
        done += n;
    }
    return done;
}

#define HELD_STEP 256 /* chunks looked up under one hold of the index lock */

int64_t disk_tier_held(const struct disk_key *k, int64_t size, int64_t offset, int64_t len)
{
    struct disk_cache *dc = handle();
    uint64_t cs = dc_chunk_size();
    if (!dc || !key_set(k) || cs == 0 || offset < 0 || offset >= size || len <= 0)
        return 0;
    if (len > size - offset)
        len = size - offset;
    int64_t end = offset + len, at = offset;
    while (at < end) {
        uint64_t chunk = (uint64_t)at / cs, want = (uint64_t)(end - 1) / cs - chunk + 1;
        if (want > HELD_STEP)
            want = HELD_STEP;
        size_t n = disk_cache_ready_run(dc, k, chunk, (size_t)want);
        if (n == 0)
            break; /* at stays where the held bytes end (or offset) */
        at = (int64_t)((chunk + n) * cs);
        if (n < want)
            break;
    }
    return (at < end ? at : end) - offset;
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
                if (rc == 0 && store(dc, &p->claims[c], p->sink->bufs[c], clen, demand))
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
