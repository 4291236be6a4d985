/* object.c: see object.h.
 *
 * Locks: registry_lock guards the registry list, every object's refs crossing zero,
 * probed_ms and released_ms, and the statistics records.  An object's ra_lock guards its
 * readahead streams.  Order: registry_lock, then ra_lock, then the cache's lock.
 *
 * Layers: object.c calls the cache (cache.c), the readahead policy (readahead.c), the
 * readahead workers (prefetch.c) and HTTP (http.c); none of them calls back into it
 * except through the callbacks it hands them (the cache's fetch, a prefetch job's run).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cache.h"
#include "cleanup.h"
#include "clock.h"
#include "disk_tier.h"
#include "http.h"
#include "log.h"
#include "object.h"
#include "prefetch.h"
#include "readahead.h"
#include "stats.h"
#include "trace.h"
#include "trace_origin.h"

/* An object confirmed this recently is reused by the next open without a request. */
#define REVALIDATE_MS 2000
/* An object nobody holds is kept this long for the next open. */
#define LINGER_MS 3000
/* The device number every virtual file reports. */
#define VIRTUAL_DEV makedev(0, 0x52)
#define BLKSIZE (128 << 10)

struct object {
    struct cache_source src;
    atomic_int refs;
    atomic_bool stale;          /* the remote object changed: fetches fail ESTALE */
    pthread_mutex_t ra_lock;    /* guards ra */
    struct ra_state ra;
    char *path;                 /* virtual path, for messages and statistics */
    char *orig_url;             /* as mapped */
    struct http_meta meta;      /* size, validator, effective URL */
    struct disk_key dkey;       /* its name in the disk tier (all zero: not stored) */
    _Atomic(struct trace *) trace; /* learned prefetch (trace.h), set once (start_trace) */
    atomic_bool trace_claimed;
    struct map_options opt;
    struct object_stats stats;
    uint64_t ino;
    uint64_t probed_ms;
    uint64_t released_ms;
    struct object *next;
};

/* Totals of objects already freed, by path, for REMOTEIO_STATS. */
struct stats_record {
    char *path, *url;
    int64_t size;
    struct stats_totals t;
    struct stats_record *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct object *registry;
static struct stats_record *records;
static atomic_uint_fast64_t next_id = 1;

static struct object *from_source(struct cache_source *src)
{
    return (struct object *)((char *)src - offsetof(struct object, src));
}

static uint64_t hash_url(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

/* What the disk tier does not hold comes from here: the sink becomes HTTP's. */
static int object_fetch_network(struct cache_source *src, int64_t offset, int64_t len,
                                const struct cache_sink *sink, uint64_t deadline_ms,
                                bool demand)
{
    struct object *o = from_source(src);
    if (atomic_load_explicit(&o->stale, memory_order_relaxed))
        return -ESTALE;
    struct http_target t = {
        .url = o->meta.url,
        .mapped_url = o->orig_url,
        .path = o->path,
        .etag = o->meta.etag,
        .last_modified = o->meta.last_modified,
        .size = o->meta.size,
        .opt = o->opt,
        .stats = &o->stats,
    };
    struct http_sink to = { .bufs = sink->bufs, .nbufs = sink->nbufs, .piece = sink->piece };
    int rc = http_get_range(&t, offset, len, &to, deadline_ms, demand);
    if (rc == -ESTALE && !atomic_exchange(&o->stale, true)) {
        char shown[512];
        http_display_url(o->meta.url, shown, sizeof shown);
        log_error("%s: %s changed since it was opened; reads of data not already cached "
                  "fail with ESTALE (reopen the file to read the new version)", o->path, shown);
    }
    return rc;
}

/* The cache's fetch callback: the disk tier first (when there is one), then the network.
 * The opened version's chunks on disk are served even once the object changed. */
static int object_fetch(struct cache_source *src, int64_t offset, int64_t len,
                        const struct cache_sink *sink, uint64_t deadline_ms, bool demand)
{
    return disk_tier_fetch(&from_source(src)->dkey, src, offset, len, sink, deadline_ms, demand,
                           object_fetch_network);
}

/* The record of o's path, made on first use.  Called with registry_lock held. */
static struct stats_record *record_of(const struct object *o)
{
    struct stats_record *r;
    for (r = records; r; r = r->next)
        if (strcmp(r->path, o->path) == 0)
            return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->path = strdup(o->path);
    r->url = malloc(512);
    if (!r->path || !r->url) {
        free(r->path);
        free(r->url);
        free(r);
        return NULL;
    }
    http_display_url(o->meta.url, r->url, 512);
    r->size = o->meta.size;
    r->next = records;
    records = r;
    return r;
}

/* Called with registry_lock held. */
static void record_stats(const struct object *o)
{
    struct stats_record *r = config.stats ? record_of(o) : NULL;
    if (r) {
        r->size = o->meta.size;
        stats_accumulate(&r->t, &o->stats);
    }
}

static void object_free(struct object *o)
{
    trace_close(atomic_load(&o->trace)); /* its counters are final before they are recorded */
    cache_drop_source(&o->src);
    /* Readahead that was never read and is dropped with the object is waste too; the
     * cache counted what it evicted. */
    record_stats(o);
    http_meta_free(&o->meta);
    pthread_mutex_destroy(&o->ra_lock);
    free(o->path);
    free(o->orig_url);
    free(o);
}

/* Free objects nobody has held for LINGER_MS.  Called with registry_lock held. */
static void sweep_locked(uint64_t now)
{
    for (struct object **pp = &registry; *pp;) {
        struct object *o = *pp;
        if (atomic_load(&o->refs) == 0 && now - o->released_ms >= LINGER_MS) {
            *pp = o->next;
            object_free(o);
        } else {
            pp = &o->next;
        }
    }
}

/* Only an object with a validator can be recognised as the same version again. */
static bool versioned(const struct http_meta *m)
{
    return m->etag[0] || m->last_modified[0];
}

static struct object *find_fresh_locked(const char *url, uint64_t now)
{
    for (struct object *o = registry; o; o = o->next)
        if (strcmp(o->orig_url, url) == 0 && !atomic_load(&o->stale) && versioned(&o->meta) &&
            now - o->probed_ms < REVALIDATE_MS)
            return o;
    return NULL;
}

static struct object *find_same_version_locked(const char *url, const struct http_meta *m)
{
    for (struct object *o = registry; o; o = o->next)
        if (strcmp(o->orig_url, url) == 0 && !atomic_load(&o->stale) && versioned(m) &&
            o->meta.size == m->size && strcmp(o->meta.etag, m->etag) == 0 &&
            strcmp(o->meta.last_modified, m->last_modified) == 0)
            return o;
    return NULL;
}

static struct object *object_new(const char *path, const char *url,
                                 const struct map_options *opt, struct http_meta *meta)
{
    struct object *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->path = strdup(path);
    o->orig_url = strdup(url);
    if (!o->path || !o->orig_url) {
        free(o->path);
        free(o->orig_url);
        free(o);
        return NULL;
    }
    pthread_mutex_init(&o->ra_lock, NULL);
    o->meta = *meta;
    meta->url = NULL; /* now ours */
    o->opt = *opt;
    o->src.id = atomic_fetch_add(&next_id, 1);
    o->src.key = cache_key_make(url, o->meta.etag, o->meta.last_modified, o->meta.size);
    o->src.size = o->meta.size;
    o->src.stats = &o->stats;
    o->src.fetch = object_fetch;
    disk_tier_key(&o->dkey, url, o->meta.etag, o->meta.last_modified, o->meta.size);
    o->ino = hash_url(url);
    atomic_init(&o->refs, 1);
    return o;
}

/* A reference to an object of url confirmed within REVALIDATE_MS, or NULL. */
static struct object *ref_fresh(const char *url)
{
    uint64_t now = now_ms();
    LOCK_FOR_SCOPE(&registry_lock);
    sweep_locked(now);
    struct object *o = find_fresh_locked(url, now);
    if (o)
        atomic_fetch_add(&o->refs, 1);
    return o;
}

/* A reference to the object of url in the version meta describes: the registered one, or
 * a new one (taking meta->url); NULL when out of memory.  probed: it was just confirmed. */
static struct object *ref_version(const char *path, const char *url,
                                  const struct map_options *opt, struct http_meta *meta,
                                  bool probed)
{
    LOCK_FOR_SCOPE(&registry_lock);
    struct object *o = find_same_version_locked(url, meta);
    if (o) {
        atomic_fetch_add(&o->refs, 1);
    } else if ((o = object_new(path, url, opt, meta)) != NULL) {
        o->next = registry;
        registry = o;
    } else {
        return NULL;
    }
    if (probed)
        o->probed_ms = now_ms();
    return o;
}

static struct trace *start_trace(struct object *o);

/* trace: an open by the program (its trace starts now), not a stat(). */
static struct object *open_object(const char *path, const char *url,
                                  const struct map_options *opt, bool trace)
{
    struct object *o = ref_fresh(url);
    if (o) {
        if (trace)
            start_trace(o);
        return o;
    }

    struct http_meta meta;
    int rc = http_probe(url, path, opt, &meta);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    if (!meta.etag[0] && !meta.last_modified[0] && !config.allow_unversioned) {
        /* Nothing would tell us that the object changed under an open file: bytes of
         * two versions could be combined.  Refuse, unless the user says it cannot. */
        char shown[512];
        http_display_url(meta.url, shown, sizeof shown);
        log_limited(LOG_ERROR, shown, "%s: %s has neither ETag nor Last-Modified, so a change "
                    "could not be detected; refusing it (REMOTEIO_ALLOW_UNVERSIONED=1 to read "
                    "it anyway)", path, shown);
        http_meta_free(&meta);
        errno = EIO;
        return NULL;
    }
    o = ref_version(path, url, opt, &meta, true);
    http_meta_free(&meta);
    if (!o) {
        errno = ENOMEM;
        return NULL;
    }
    disk_tier_opened(&o->dkey); /* a version just confirmed: older ones go first */
    if (trace)
        start_trace(o);
    return o;
}

struct object *object_open(const char *path, const char *url, const struct map_options *opt)
{
    return open_object(path, url, opt, true);
}

struct object *object_adopt(const char *path, const char *url, const struct map_options *opt,
                            int64_t size, const char *etag, const char *last_modified)
{
    /* No request here: this runs before main() in every program that inherits a virtual
     * file, and the recorded URL is already the one range requests go to.  The recorded
     * version is what the file keeps serving: if the object changed, its reads fail with
     * ESTALE instead of mixing versions. */
    struct http_meta meta = { .size = size, .url = strdup(url) };
    if (!meta.url)
        return NULL;
    snprintf(meta.etag, sizeof meta.etag, "%s", etag);
    snprintf(meta.last_modified, sizeof meta.last_modified, "%s", last_modified);
    meta.mtime = http_parse_date(last_modified);
    /* probed_ms stays 0: never handed to a fresh open without a probe */
    struct object *o = ref_version(path, url, opt, &meta, false);
    http_meta_free(&meta);
    return o;
}

void object_ref(struct object *obj)
{
    atomic_fetch_add(&obj->refs, 1);
}

void object_unref(struct object *obj)
{
    LOCK_FOR_SCOPE(&registry_lock);
    if (atomic_fetch_sub(&obj->refs, 1) == 1)
        obj->released_ms = now_ms();
}

/* What a queued readahead job does with the object it carries. */
static void prefetch_run(void *arg, int64_t offset, int64_t len)
{
    struct object *o = arg;
    /* What the disk tier holds is read from there by the reader itself; only the rest
     * comes into the memory cache. */
    int64_t held = disk_tier_held(&o->dkey, o->meta.size, offset, len);
    if (held < len)
        cache_prefetch(&o->src, offset + held, len - held, now_ms() + o->opt.deadline_ms);
}

static void prefetch_ref(void *arg)
{
    object_ref(arg);
}

static void prefetch_unref(void *arg)
{
    object_unref(arg);
}

static const struct prefetch_ops object_prefetch_ops = {
    .run = prefetch_run,
    .ref = prefetch_ref,
    .unref = prefetch_unref,
};

static int64_t held_on_disk(void *arg, int64_t offset, int64_t len)
{
    struct object *o = arg;
    return disk_tier_held(&o->dkey, o->meta.size, offset, len);
}

/* The trace stored at the origin beside the object (REMOTEIO_TRACE_ORIGIN). */
static int fetch_origin_trace(void *arg, void **buf, size_t *len)
{
    struct object *o = arg;
    return trace_origin_fetch(o->orig_url, o->path, &o->opt, buf, len);
}

/* The first open of a version by the program starts its trace (recording, replay), not
 * a stat(); an object re-attached across exec starts it at its first read.  It reads a
 * file (and with REMOTEIO_TRACE_ORIGIN may ask the origin), with no lock held; a read
 * racing with it is not recorded. */
static struct trace *start_trace(struct object *o)
{
    if (atomic_exchange(&o->trace_claimed, true))
        return atomic_load_explicit(&o->trace, memory_order_acquire);
    struct trace_owner owner = { &object_prefetch_ops, o, &o->stats, fetch_origin_trace,
                                 held_on_disk };
    struct trace *t = trace_open(o->path, o->orig_url, o->meta.etag, o->meta.last_modified,
                                 o->meta.size, &owner);
    atomic_store_explicit(&o->trace, t, memory_order_release);
    return t;
}

/* What tells a lone sequential stream that it may use more connections (readahead.c,
 * "Requests in flight"): the last three milliseconds in which a read continued no stream
 * (a random read, or one of the first two reads of a new stream), and when the
 * sequential reads last moved from one object to another.  Two such reads in a second
 * are a stream starting, the lone stream's own start among them; a third means random
 * reads.  Stored only when they change, so that readers do not contend on them; two
 * readers shifting the three at once may lose one, which only delays the verdict. */
#define ALONE_AFTER_MS 1000
static _Atomic uint64_t random_ms[3]; /* [0] the latest */
static _Atomic uint64_t last_switch_ms;
static _Atomic(const struct object *) last_stream_object;

static void note_read(const struct object *o, bool sequential, uint64_t now)
{
    if (!sequential) {
        if (atomic_load_explicit(&random_ms[0], memory_order_relaxed) != now) {
            atomic_store_explicit(&random_ms[2],
                                  atomic_load_explicit(&random_ms[1], memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&random_ms[1],
                                  atomic_load_explicit(&random_ms[0], memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&random_ms[0], now, memory_order_relaxed);
        }
    } else {
        const struct object *was = atomic_load_explicit(&last_stream_object, memory_order_relaxed);
        if (was != o) {
            atomic_store_explicit(&last_stream_object, o, memory_order_relaxed);
            if (was) /* the process's first stream moved from nowhere */
                atomic_store_explicit(&last_switch_ms, now, memory_order_relaxed);
        }
    }
}
static bool quiet_since(_Atomic uint64_t *when, uint64_t now)
{
    uint64_t t = atomic_load_explicit(when, memory_order_relaxed);
    return t == 0 || (now > t && now - t >= ALONE_AFTER_MS);
}

/* Readahead windows may fill three quarters of the cache (cache_readahead_budget); a
 * stream's requests in flight are bounded by REMOTEIO_STREAM_REQUESTS and the workers. */
static struct ra_limits readahead_limits(const struct object *o, uint64_t now)
{
    int64_t budget = (int64_t)cache_readahead_budget();
    int64_t ra = (int64_t)o->opt.readahead;
    unsigned requests = config.stream_requests;
    if (requests > prefetch_worker_limit())
        requests = prefetch_worker_limit();
    return (struct ra_limits){ .size = o->meta.size,
                               .max_window = ra < budget ? ra : budget,
                               .budget = budget,
                               .chunk = (int64_t)cache_chunk_size(),
                               .requests = (int)requests,
                               .alone = quiet_since(&random_ms[2], now) &&
                                        quiet_since(&last_switch_ms, now),
                               .fetched = atomic_load_explicit(&o->stats.bytes_fetched,
                                                               memory_order_relaxed) };
}

ssize_t object_preadv(struct object *o, const struct iovec *iov, int cnt, int64_t offset)
{
    if (offset < 0) {
        errno = EINVAL;
        return -1;
    }
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len; /* the caller checked for overflow */
    if (offset >= o->meta.size || total == 0)
        return 0;
    if ((int64_t)total > o->meta.size - offset)
        total = (size_t)(o->meta.size - offset);
    if (total > 0x7ffff000) /* what Linux transfers at most in one call */
        total = 0x7ffff000;

    struct ra_decision d;
    uint64_t now = now_ms();
    struct ra_limits lim = readahead_limits(o, now);
    {
        LOCK_FOR_SCOPE(&o->ra_lock);
        ra_on_read(&o->ra, &lim, offset, (int64_t)total, now, &d);
    }
    note_read(o, d.sequential, now);
    struct trace *tr = atomic_load_explicit(&o->trace, memory_order_acquire);
    if (!tr && !atomic_load_explicit(&o->trace_claimed, memory_order_relaxed))
        tr = start_trace(o);
    trace_read(tr, offset, (int64_t)total);
    if (d.requests > 0)
        stats_raise(&o->stats.stream_requests_peak, (uint_fast64_t)d.requests);
    if (d.len > 0 && disk_tier_on()) {
        /* What the disk tier holds needs no job: a warm stream wakes no worker. */
        int64_t held = disk_tier_held(&o->dkey, o->meta.size, d.offset, d.len);
        d.offset += held;
        d.len -= held;
    }
    if (d.len > 0)
        prefetch_submit(&object_prefetch_ops, o, d.offset, d.len, d.part);

    uint64_t deadline = now + o->opt.deadline_ms;
    /* Scattered buffers: fetch the whole range first, so that it goes out as one range
     * request instead of one per segment; the copies below then find it cached (if the
     * range is no larger than a quarter of the cache, so that it stays there). */
    if (cnt > 1 && total <= config.cache_size / 4 &&
        disk_tier_held(&o->dkey, o->meta.size, offset, (int64_t)total) < (int64_t)total &&
        cache_read(&o->src, NULL, total, offset, d.sequential, deadline) < 0)
        goto fail;
    size_t done = 0;
    for (int i = 0; i < cnt && done < total; i++) {
        size_t n = iov[i].iov_len < total - done ? iov[i].iov_len : total - done;
        /* Chunks on disk straight from the slab; the rest through the memory cache. */
        size_t direct = n ? disk_tier_read(&o->dkey, &o->stats, o->meta.size, iov[i].iov_base,
                                           n, offset + (int64_t)done) : 0;
        if (n > direct && cache_read(&o->src, (char *)iov[i].iov_base + direct, n - direct,
                                     offset + (int64_t)(done + direct), d.sequential,
                                     deadline) < 0)
            goto fail;
        done += n;
    }
    STAT_ADD(&o->stats, bytes_served, (uint64_t)done);
    return (ssize_t)done;
fail:
    STAT_ADD(&o->stats, errors, 1);
    return -1;
}

ssize_t object_pread(struct object *o, void *buf, size_t len, int64_t offset)
{
    struct iovec one = { .iov_base = buf, .iov_len = len };
    return object_preadv(o, &one, 1, offset);
}

void object_hint_willneed(struct object *o, int64_t offset, int64_t len)
{
    if (offset < 0 || offset >= o->meta.size)
        return;
    if (len <= 0 || len > o->meta.size - offset)
        len = o->meta.size - offset;
    if (len > (int64_t)o->opt.readahead)
        len = (int64_t)o->opt.readahead;
    if (len > 0)
        prefetch_submit(&object_prefetch_ops, o, offset, len, 4 << 20);
}

int64_t object_size(const struct object *o)
{
    return o->meta.size;
}

const char *object_url(const struct object *o)
{
    return o->meta.url;
}

const char *object_etag(const struct object *o)
{
    return o->meta.etag;
}

const char *object_last_modified(const struct object *o)
{
    return o->meta.last_modified;
}

void object_fill_stat(const struct object *o, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = VIRTUAL_DEV;
    st->st_ino = (ino_t)o->ino;
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_size = o->meta.size;
    st->st_blksize = BLKSIZE;
    st->st_blocks = (o->meta.size + 511) / 512;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = o->meta.mtime;
}

void object_fill_stat_listed(const char *url, int64_t size, time_t mtime, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = VIRTUAL_DEV;
    st->st_ino = (ino_t)hash_url(url);
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_size = size;
    st->st_blksize = BLKSIZE;
    st->st_blocks = (size + 511) / 512;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = mtime;
}

int object_stat_url(const char *path, const char *url, const struct map_options *opt,
                    struct stat *st)
{
    /* A probe makes an object anyway: keep it, so that the open which usually follows a
     * stat needs no second request. */
    struct object *o = open_object(path, url, opt, false);
    if (!o)
        return -1;
    object_fill_stat(o, st);
    object_unref(o);
    return 0;
}

static void write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = syscall(SYS_write, fd, s, len);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

void object_print_stats(int fd, bool at_exit)
{
    /* The lines are made under the registry lock and written after it is released: a
     * slow reader of the stats descriptor must not hold up every open and close. */
    char *text = NULL;
    size_t used = 0, room = 0;
    pthread_mutex_lock(&registry_lock);
    for (struct object *o = registry; o; o = o->next)
        record_of(o); /* every live path gets a line */
    for (struct stats_record *r = records; r && fd >= 0; r = r->next) {
        /* What freed objects did, plus what live ones did so far: printing changes no
         * counter, so lines printed on an interval add up to the same totals. */
        struct stats_totals t = r->t;
        int64_t size = r->size;
        for (struct object *o = registry; o; o = o->next) {
            if (strcmp(o->path, r->path) != 0)
                continue;
            stats_accumulate(&t, &o->stats);
            size = o->meta.size;
            /* Readahead still unread at exit was fetched for nothing. */
            if (at_exit)
                t.v[STAT_readahead_wasted] += cache_unread_prefetch(&o->src);
        }
        char line[2048];
        size_t n = stats_format(line, sizeof line, r->path, r->url, size, &t);
        if (used + n > room) {
            size_t want = room ? room * 2 : 4096;
            while (want < used + n)
                want *= 2;
            char *grown = realloc(text, want);
            if (!grown)
                break; /* the lines made so far are still written */
            text = grown;
            room = want;
        }
        memcpy(text + used, line, n);
        used += n;
    }
    pthread_mutex_unlock(&registry_lock);
    if (used)
        write_all(fd, text, used);
    free(text);
}

void object_atfork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    for (struct object *o = registry; o; o = o->next)
        pthread_mutex_lock(&o->ra_lock);
}

void object_atfork_parent(void)
{
    for (struct object *o = registry; o; o = o->next)
        pthread_mutex_unlock(&o->ra_lock);
    pthread_mutex_unlock(&registry_lock);
}

void object_atfork_child(void)
{
    /* The child counts its own work: the parent reports what it did. */
    for (struct object *o = registry; o; o = o->next) {
        pthread_mutex_unlock(&o->ra_lock);
        memset(&o->stats, 0, sizeof o->stats);
    }
    records = NULL; /* the parent's; leaked here rather than freed twice */
    pthread_mutex_unlock(&registry_lock);
}
