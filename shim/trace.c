/* trace.c: see trace.h.  The recording, the files, and the trace thread that paces the
 * replays (trace_replay.c decides what to fetch) and writes the recordings.
 *
 * The thread wakes every PUMP_MS while a replay runs (every IDLE_MS otherwise), submits
 * what each replay says is due as readahead jobs of the object (prefetch.h: fetched with
 * demand == false, so the connection pool keeps its share for demand reads and a read
 * never waits behind a replay), and writes the recordings that are complete.  A replay
 * holds a reference on its object until it is over, so the object (and its trace) cannot
 * be freed under it; the thread drops that reference with no lock held.  Only the thread
 * frees a trace (once it is closed, written and its replay over); a forked child leaves
 * its parent's traces alone (orphans, never freed nor written there).
 *
 * Budgets: a replay's lead is at most LEAD_MS ahead of the trace clock and LEAD_BYTES
 * (at most half of the cache's readahead budget; OPEN_LEAD_BYTES until the program has
 * read ARM_CHUNKS chunks of the trace) beyond the program's furthest read,
 * in requests of at most RANGE_BYTES, at most INFLIGHT_MAX of them queued or running; in all it fetches no more than the cache can hold
 * (the memory cache's size, or the disk tier's limit when that is larger): a larger
 * trace is clipped there, with one log line.
 *
 * Locking: trace_lock guards the list (traces, next), the thread's state and the
 * directory; each trace's own mutex `mu` guards its fields below `lock:`, so that readers
 * of different objects never meet.  Order: trace_lock, then a trace's mu (then the
 * prefetch queue's).  trace_read takes only mu, and only for a read that touches a chunk
 * not read before: `active`, `bits` (a chunk's bit is set, under mu, once it is in
 * `seen`) and `inflight` are atomics read without a lock.  Only the thread frees a
 * trace, with trace_lock and its mu held, once it is closed (nobody reads it any more). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "config.h"
#include "disk_sys.h"
#include "disk_tier.h"
#include "lifecycle.h"
#include "log.h"
#include "trace.h"
#include "trace_file.h"
#include "trace_replay.h"
#include "url.h"
#include "thread.h"

#define PUMP_MS 50
#define IDLE_MS 1000
#define LEAD_MS 3000
#define LEAD_BYTES (64ull << 20)
/* The lead until the program has read ARM_CHUNKS distinct chunks of the trace (its own
 * open's reads, a header or two, are not yet a sign that the recorded run follows). */
#define OPEN_LEAD_BYTES (2ull << 20)
#define ARM_CHUNKS 4
#define RANGE_BYTES (8ull << 20)
/* Reads are followed this long past the window, so that late reads of replayed chunks
 * count as used rather than wasted. */
#define TRACK_EXTRA_MS 10000
#define MAX_RANGES 64
/* Replay jobs queued or running at once, per trace: several in flight, and never so many
 * that they crowd the readahead queue (its parts beyond 256 would be dropped). */
#define INFLIGHT_MAX 16
#define READ_CHUNKS_MAX 4096 /* a larger read is followed over its first chunks only */

enum mode { MODE_OFF, MODE_RECORD, MODE_REPLAY, MODE_AUTO };

/* The distinct chunks read since the open: open addressing, chunk + 1 (0: empty). */
struct chunk_set {
    uint64_t *v;
    size_t cap, n;
};
#define SET_MAX (2 * (size_t)TRACE_MAX_CHUNKS)
/* At most this many objects are traced at once in a process (a few MiB each at most):
 * the first ones read. */
#define TRACES_MAX 8

/* Objects of at most this many chunks have a bitmap of the chunks read, so that a read of
 * chunks read before takes no lock (512 KiB, in pages touched only as they are used). */
#define BITS_MAX (1u << 22)

struct trace {
    struct trace *next;       /* trace_lock */
    pthread_mutex_t mu;
    atomic_bool active;       /* trace_read has something to do */
    _Atomic uint64_t *bits;   /* chunks in `seen` (NULL: too many chunks, always lock) */
    atomic_int inflight;      /* replay jobs queued or running */
    struct trace_owner owner; /* stats NULL once closed */
    char *path;
    uint8_t key[16];
    char validator[TRACE_VALIDATOR_MAX + 1];
    int64_t size;
    uint32_t chunk_size;
    int chunk_shift;
    uint64_t start_ms;
    pid_t pid;
    /* lock: mu */
    bool recording, record_done, saving, saved, closed, orphan, counted;
    bool replaying;           /* holds a reference on the object */
    struct chunk_set seen;
    struct trace_run *runs;   /* this run's recording */
    uint32_t nruns, cap_runs, rec_chunks;
    struct trace_data base;   /* the trace the run started from (current chunk units) */
    struct replay *rp;
    struct replay_counts shown; /* what the stats already have */
};

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t trace_cond; /* CLOCK_MONOTONIC: work for the thread */
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static struct trace *traces;
static bool thread_running, thread_failed;
static char *dir_cached;
static bool dir_known;

static void init_cond(void)
{
    cond_init_monotonic(&trace_cond);
}

static enum mode trace_mode(void)
{
    const char *m = config.trace;
    if (!m || strcmp(m, "auto") == 0)
        return MODE_AUTO;
    if (strcmp(m, "off") == 0)
        return MODE_OFF;
    if (strcmp(m, "record") == 0)
        return MODE_RECORD;
    if (strcmp(m, "replay") == 0)
        return MODE_REPLAY;
    log_limited(LOG_WARN, "trace-mode", "REMOTEIO_TRACE=%s is not off, record, replay or auto; "
                "using auto", m);
    return MODE_AUTO;
}

/* The directory traces live in (made if need be), or NULL.  Beside the disk cache's
 * directory, not in it: that one holds exactly what its hard limit allows.  One that is
 * not a directory of ours that only we can write is refused (a trace is only a hint, but
 * another user's could make us fetch what nobody reads).  trace_lock held. */
static const char *trace_dir(void)
{
    if (dir_known)
        return dir_cached;
    dir_known = true;
    char buf[4096];
    if (config.trace_dir && config.trace_dir[0]) {
        snprintf(buf, sizeof buf, "%s", config.trace_dir);
    } else if (disk_tier_on() && config.cache_dir && config.cache_dir[0]) {
        size_t n = strlen(config.cache_dir);
        while (n > 1 && config.cache_dir[n - 1] == '/')
            n--;
        snprintf(buf, sizeof buf, "%.*s.traces", (int)n, config.cache_dir);
    } else {
        return NULL;
    }
    struct stat st;
    if (sys_mkdirat(AT_FDCWD, buf, 0700) < 0 && errno != EEXIST) {
        log_warn("trace directory %s cannot be made (%s): no learned prefetch", buf,
                 strerror(errno));
        return NULL;
    }
    if (sys_lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        log_warn("trace directory %s is not a directory only this user can write: no "
                 "learned prefetch", buf);
        return NULL;
    }
    dir_cached = strdup(buf);
    return dir_cached;
}

static bool set_has(const struct chunk_set *s, uint64_t c)
{
    if (!s->cap)
        return false;
    for (size_t i = (c * 0x9e3779b97f4a7c15ull) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == 0)
            return false;
        if (s->v[i] == c + 1)
            return true;
    }
}

/* True when c was not there (also when the set is full and c is not in it). */
static bool set_add(struct chunk_set *s, uint64_t c)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *v = cap <= SET_MAX ? calloc(cap, sizeof *v) : NULL;
        if (!v)
            return !set_has(s, c);
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = ((s->v[i] - 1) * 0x9e3779b97f4a7c15ull) & (cap - 1);
                while (v[j])
                    j = (j + 1) & (cap - 1);
                v[j] = s->v[i];
            }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t i = (c * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    for (; s->v[i]; i = (i + 1) & (s->cap - 1))
        if (s->v[i] == c + 1)
            return false;
    s->v[i] = c + 1;
    s->n++;
    return true;
}

/* Append chunk c, first read t_ms after the open, to the recording.  t->mu held. */
static void record_chunk(struct trace *t, uint64_t c, uint32_t t_ms)
{
    if (t->rec_chunks >= TRACE_MAX_CHUNKS)
        return;
    struct trace_run *last = t->nruns ? &t->runs[t->nruns - 1] : NULL;
    if (last && c == last->chunk + last->count) {
        last->count++;
    } else {
        if (t->nruns == t->cap_runs) {
            uint32_t cap = t->cap_runs ? t->cap_runs * 2 : 256;
            struct trace_run *r = realloc(t->runs, cap * sizeof *r);
            if (!r)
                return;
            t->runs = r;
            t->cap_runs = cap;
        }
        t->runs[t->nruns++] = (struct trace_run){ c, 1, t_ms };
    }
    t->rec_chunks++;
}

/* Add what the replay counted since the last call to the object's counters. */
static void show_counts(struct trace *t, bool final)
{
    if (!t->rp || !t->owner.stats || t->counted)
        return;
    struct replay_counts c;
    replay_get_counts(t->rp, &c);
    STAT_ADD(t->owner.stats, trace_chunks_replayed, c.replayed - t->shown.replayed);
    STAT_ADD(t->owner.stats, trace_chunks_used, c.used - t->shown.used);
    if (final) {
        STAT_ADD(t->owner.stats, trace_chunks_wasted, c.wasted);
        t->counted = true;
    }
    t->shown = c;
}

static bool bit_has(const struct trace *t, uint64_t c)
{
    return atomic_load_explicit(&t->bits[c >> 6], memory_order_relaxed) & (1ull << (c & 63));
}

void trace_read(struct trace *t, int64_t offset, int64_t len)
{
    if (!t || !atomic_load_explicit(&t->active, memory_order_relaxed) || len <= 0)
        return;
    uint64_t first = (uint64_t)offset >> t->chunk_shift;
    uint64_t last = (uint64_t)(offset + len - 1) >> t->chunk_shift;
    if (last - first >= READ_CHUNKS_MAX)
        last = first + READ_CHUNKS_MAX - 1;
    if (t->bits) { /* a read of chunks all read before has nothing to record (a re-read
                    * does not move the replay's frontier: its first read did, or not) */
        uint64_t c = first;
        while (c <= last && bit_has(t, c))
            c++;
        if (c > last)
            return;
    }
    uint64_t now = now_ms();
    bool wake = false;
    pthread_mutex_lock(&t->mu);
    uint64_t el = now - t->start_ms;
    if (t->recording && el > TRACE_WINDOW_MS) {
        t->recording = false;
        t->record_done = wake = true;
    }
    if (el > TRACE_WINDOW_MS + TRACK_EXTRA_MS || t->closed || t->orphan) {
        atomic_store_explicit(&t->active, false, memory_order_relaxed);
    } else {
        for (uint64_t c = first; c <= last; c++) {
            bool fresh = set_add(&t->seen, c);
            if (fresh && t->recording)
                record_chunk(t, c, (uint32_t)el);
            if (t->rp)
                replay_on_read(t->rp, c, fresh);
            if (t->bits && set_has(&t->seen, c))
                atomic_fetch_or_explicit(&t->bits[c >> 6], 1ull << (c & 63), memory_order_relaxed);
        }
        show_counts(t, false);
    }
    pthread_mutex_unlock(&t->mu);
    if (wake)
        pthread_cond_signal(&trace_cond);
}

/* The trace to write for t: this run's reads, then the base's chunks it neither read nor
 * reached in time, less those replayed if it diverged (trace.h, "Refinement").  0, or -1 when there is nothing
 * to write.  t->mu held. */
static int build_save(struct trace *t, uint64_t now, struct trace_data *d)
{
    if (t->rec_chunks == 0)
        return -1;
    const char *why = NULL;
    bool diverged = t->rp && replay_over(t->rp, &why) && strcmp(why, "diverged") == 0;
    if (t->rp && !diverged && !replay_armed(t->rp))
        return -1; /* read next to nothing of its trace, nor strayed from it: kept as it is */
    memset(d, 0, sizeof *d);
    size_t cap = (size_t)t->nruns + t->base.chunks;
    d->runs = malloc((cap ? cap : 1) * sizeof *d->runs);
    if (!d->runs)
        return -1;
    memcpy(d->runs, t->runs, t->nruns * sizeof *d->runs);
    d->n = t->nruns;
    d->chunks = t->rec_chunks;
    uint64_t reached = now - t->start_ms;
    if (reached > TRACE_WINDOW_MS)
        reached = TRACE_WINDOW_MS;
    for (uint32_t i = 0; i < t->base.n && d->chunks < TRACE_MAX_CHUNKS; i++) {
        const struct trace_run *r = &t->base.runs[i];
        if (r->t_ms <= reached)
            continue;
        for (uint64_t c = r->chunk; c < r->chunk + r->count && d->chunks < TRACE_MAX_CHUNKS; c++) {
            if (set_has(&t->seen, c) || (diverged && replay_fetched(t->rp, c)))
                continue;
            struct trace_run *l = &d->runs[d->n - 1];
            if (d->n > t->nruns && l->t_ms == r->t_ms && c == l->chunk + l->count)
                l->count++;
            else
                d->runs[d->n++] = (struct trace_run){ c, 1, r->t_ms };
            d->chunks++;
        }
    }
    memcpy(d->key, t->key, 16);
    d->size = t->size;
    d->chunk_size = t->chunk_size;
    d->window_ms = TRACE_WINDOW_MS;
    snprintf(d->validator, sizeof d->validator, "%s", t->validator);
    return 0;
}

static void write_trace(const char *path, const struct trace_data *d)
{
    const char *dir = dir_cached;
    size_t len = trace_encoded_size(d);
    void *buf = malloc(len);
    int rc = !dir ? -ENOENT : !buf ? -ENOMEM : trace_encode(d, buf, len) ? 0 : -EINVAL;
    if (rc == 0)
        rc = trace_file_store(dir, d->key, buf, len);
    free(buf);
    if (rc < 0)
        log_limited(LOG_WARN, "trace-write", "%s: cannot write its trace in %s: %s", path,
                    dir ? dir : "(none)", strerror(-rc));
    else
        log_msg(LOG_DEBUG, "%s: trace of %u chunks written", path, d->chunks);
}

static void trace_free(struct trace *t)
{
    pthread_mutex_destroy(&t->mu);
    free((void *)t->bits);
    replay_free(t->rp);
    trace_data_free(&t->base);
    free(t->seen.v);
    free(t->runs);
    free(t->path);
    free(t);
}

/* A replay job: the object's readahead job, counted while it is queued or running. */
static void job_run(void *arg, int64_t offset, int64_t len)
{
    struct trace *t = arg;
    t->owner.ops->run(t->owner.arg, offset, len);
}

static void job_ref(void *arg)
{
    struct trace *t = arg;
    atomic_fetch_add(&t->inflight, 1);
    t->owner.ops->ref(t->owner.arg);
}

static void job_unref(void *arg)
{
    struct trace *t = arg;
    const struct prefetch_ops *ops = t->owner.ops;
    void *owner = t->owner.arg;
    atomic_fetch_sub(&t->inflight, 1);
    ops->unref(owner); /* may free the object, and t with it: not touched after */
}

static const struct prefetch_ops job_ops = { .run = job_run, .ref = job_ref, .unref = job_unref };

static void *trace_thread(void *arg)
{
    (void)arg;
    shim_enter();
    struct replay_range ranges[MAX_RANGES];
    pthread_mutex_lock(&trace_lock);
    for (;;) {
        bool busy = false;
        uint64_t now = now_ms();
        struct trace *save = NULL, *drop[16];
        struct trace_data data;
        size_t ndrop = 0;
        for (struct trace **pp = &traces; *pp && !shim_exiting();) {
            struct trace *t = *pp;
            uint64_t el = now - t->start_ms;
            pthread_mutex_lock(&t->mu);
            if (t->replaying) {
                busy = true;
                int room = INFLIGHT_MAX - atomic_load(&t->inflight);
                size_t n = room > 0 ? replay_next(t->rp, el, ranges,
                                                  room < MAX_RANGES ? (size_t)room : MAX_RANGES)
                                    : 0;
                for (size_t i = 0; i < n; i++) {
                    int64_t off = (int64_t)(ranges[i].chunk << t->chunk_shift);
                    int64_t len = (int64_t)ranges[i].count << t->chunk_shift;
                    if (off < t->size) /* each range is one part: at most RANGE_BYTES */
                        prefetch_submit(&job_ops, t, off,
                                        len < t->size - off ? len : t->size - off,
                                        (int64_t)RANGE_BYTES);
                }
                show_counts(t, false);
                const char *why;
                if (replay_over(t->rp, &why) && ndrop < 16) {
                    t->replaying = false;
                    drop[ndrop++] = t;
                    if (strcmp(why, "done") != 0)
                        log_msg(LOG_INFO, "%s: trace replay stopped (%s) after %llu chunks",
                                t->path, strcmp(why, "budget") == 0 ? "the cache's budget is used"
                                : "the reads diverged from the trace",
                                (unsigned long long)t->shown.replayed);
                }
            }
            if (t->recording && el > TRACE_WINDOW_MS) {
                t->recording = false;
                t->record_done = true;
            }
            if (el > TRACE_WINDOW_MS + TRACK_EXTRA_MS)
                atomic_store_explicit(&t->active, false, memory_order_relaxed);
            if (!save && !t->saving && !t->saved && (t->record_done || (t->closed && t->recording))) {
                t->recording = false;
                t->record_done = true;
                t->saving = true;
                if (build_save(t, now, &data) == 0)
                    save = t;
                else
                    t->saving = false, t->saved = true;
            }
            bool gone = t->closed && !t->saving && !t->replaying;
            pthread_mutex_unlock(&t->mu);
            if (gone) { /* closed: nobody else holds it, and the list is ours */
                *pp = t->next;
                trace_free(t);
                continue;
            }
            pp = &t->next;
        }
        pthread_mutex_unlock(&trace_lock);
        if (save) {
            write_trace(save->path, &data);
            trace_data_free(&data);
        }
        for (size_t i = 0; i < ndrop; i++)
            drop[i]->owner.ops->unref(drop[i]->owner.arg); /* may free it: not touched again */
        pthread_mutex_lock(&trace_lock);
        if (save) {
            pthread_mutex_lock(&save->mu);
            save->saving = false;
            save->saved = true;
            pthread_mutex_unlock(&save->mu);
            continue; /* there may be more to write */
        }
        struct timespec ts = deadline_timespec(now_ms() + (busy ? PUMP_MS : IDLE_MS));
        pthread_cond_timedwait(&trace_cond, &trace_lock, &ts);
    }
    return NULL;
}

/* Called with trace_lock held. */
static void start_thread(void)
{
    if (thread_running || thread_failed)
        return;
    int err = thread_start_detached(trace_thread, NULL, 256 << 10);
    if (err == 0) {
        thread_running = true;
    } else {
        thread_failed = true;
        log_warn("cannot start the trace thread (%s): no learned prefetch", strerror(err));
    }
}

static int shift_of(uint64_t v)
{
    int s = 0;
    while ((1ull << s) < v)
        s++;
    return s;
}

/* The stored trace of t into t->base, in t's chunk units and within its size and
 * budget; false (one log line unless there is none) when it is not to be followed. */
static bool load_base(struct trace *t, const char *dir, uint64_t budget_chunks)
{
    void *buf;
    size_t len;
    int rc = trace_file_load(dir, t->key, &buf, &len);
    const char *where = dir;
    if (rc == -ENOENT && config.trace_origin && t->owner.fetch_origin) {
        where = "the origin";
        rc = t->owner.fetch_origin(t->owner.arg, &buf, &len);
    }
    if (rc == -ENOENT)
        return false;
    if (rc < 0) {
        log_warn("%s: its trace in %s is not used: %s", t->path, where,
                 rc == -EFBIG ? "larger than any trace can be" : strerror(-rc));
        return false;
    }
    struct trace_data d;
    const char *why = NULL;
    rc = trace_decode(buf, len, &d, &why);
    free(buf);
    if (rc == 0 && memcmp(d.key, t->key, 16) != 0) {
        why = "it was recorded for another object";
        trace_data_free(&d);
        rc = -1;
    }
    if (rc < 0) {
        log_warn("%s: its trace in %s is ignored: %s", t->path, where, why);
        return false;
    }
    if (d.size != t->size || strcmp(d.validator, t->validator) != 0)
        log_msg(LOG_INFO, "%s: its trace was recorded for another version; followed as a hint",
                t->path);
    /* Convert to our chunk size, dropping what lies past the end of the object. */
    struct trace_run *out = malloc((d.n ? d.n : 1) * sizeof *out);
    uint32_t n = 0;
    uint64_t chunks = 0, want = 0;
    for (uint32_t i = 0; out && i < d.n; i++) {
        uint64_t start = d.runs[i].chunk * d.chunk_size;
        uint64_t end = (d.runs[i].chunk + d.runs[i].count) * d.chunk_size;
        if (start >= (uint64_t)t->size)
            continue;
        if (end > (uint64_t)t->size)
            end = (uint64_t)t->size;
        uint64_t c0 = start >> t->chunk_shift, c1 = (end - 1) >> t->chunk_shift;
        if (n && c0 >= out[n - 1].chunk && c0 <= out[n - 1].chunk + out[n - 1].count) {
            uint64_t e = out[n - 1].chunk + out[n - 1].count;
            if (c1 + 1 > e) {
                want += c1 + 1 - e;
                if (chunks + (c1 + 1 - e) <= budget_chunks && chunks + (c1 + 1 - e) <= TRACE_MAX_CHUNKS) {
                    out[n - 1].count = (uint32_t)(c1 + 1 - out[n - 1].chunk);
                    chunks += c1 + 1 - e;
                }
            }
            continue;
        }
        want += c1 - c0 + 1;
        uint64_t cap = budget_chunks < TRACE_MAX_CHUNKS ? budget_chunks : TRACE_MAX_CHUNKS;
        uint64_t take = c1 - c0 + 1 < cap - chunks ? c1 - c0 + 1 : cap - chunks;
        if (take == 0)
            continue;
        out[n++] = (struct trace_run){ c0, (uint32_t)take, d.runs[i].t_ms };
        chunks += take;
    }
    trace_data_free(&d);
    if (!out)
        return false;
    if (want > chunks) /* not a fault: a program that reads more than the cache holds */
        log_msg(LOG_INFO, "%s: its trace of %llu MiB is larger than the cache's budget; replaying "
                 "%llu MiB of it", t->path, (unsigned long long)((want << t->chunk_shift) >> 20),
                 (unsigned long long)((chunks << t->chunk_shift) >> 20));
    t->base = (struct trace_data){ .n = n, .chunks = (uint32_t)chunks, .runs = out,
                                   .chunk_size = t->chunk_size, .size = t->size };
    return n > 0;
}

/* Is every chunk of the stored trace on disk already?  Then a replay has nothing to do. */
static bool all_held(const struct trace *t)
{
    if (!t->owner.held)
        return false;
    for (uint32_t i = 0; i < t->base.n; i++) {
        int64_t off = (int64_t)(t->base.runs[i].chunk << t->chunk_shift);
        int64_t len = (int64_t)t->base.runs[i].count << t->chunk_shift;
        if (off >= t->size)
            continue;
        if (len > t->size - off)
            len = t->size - off;
        if (t->owner.held(t->owner.arg, off, len) < len)
            return false;
    }
    return true;
}

struct trace *trace_open(const char *path, const char *url, const char *etag,
                         const char *last_modified, int64_t size, const struct trace_owner *o)
{
    enum mode mode = trace_mode();
    if (mode == MODE_OFF || size <= 0)
        return NULL;
    pthread_once(&cond_once, init_cond);
    struct trace *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return NULL;
    }
    char shown[2048];
    url_display(url, shown, sizeof shown);
    trace_key(shown, t->key);
    snprintf(t->validator, sizeof t->validator, "%s", etag && etag[0] ? etag : last_modified);
    t->size = size;
    t->chunk_size = (uint32_t)cache_chunk_size();
    t->chunk_shift = shift_of(t->chunk_size);
    t->owner = *o;
    t->pid = (pid_t)syscall(SYS_getpid);
    pthread_mutex_init(&t->mu, NULL);
    uint64_t nchunks = ((uint64_t)size + t->chunk_size - 1) >> t->chunk_shift;
    if (nchunks <= BITS_MAX)
        t->bits = calloc((nchunks + 63) / 64, sizeof *t->bits); /* NULL: always lock */

    uint64_t budget = cache_capacity();
    if (disk_tier_on()) /* a limit of 0 is the tier's default: at least the memory's */
        budget = config.disk_cache_size > budget ? config.disk_cache_size : budget;
    uint64_t budget_chunks = budget >> t->chunk_shift;
    uint64_t lead = cache_readahead_budget() / 2;
    if (lead > LEAD_BYTES)
        lead = LEAD_BYTES;

    pthread_mutex_lock(&trace_lock);
    const char *dir = trace_dir();
    size_t live = 0;
    for (struct trace *x = traces; x; x = x->next) {
        pthread_mutex_lock(&x->mu);
        live += !x->closed;
        pthread_mutex_unlock(&x->mu);
    }
    if (!dir || live >= TRACES_MAX) {
        pthread_mutex_unlock(&trace_lock);
        trace_free(t);
        return NULL;
    }
    pthread_mutex_unlock(&trace_lock);
    bool have = mode != MODE_RECORD && load_base(t, dir, budget_chunks);
    t->start_ms = now_ms(); /* after the load, which may have asked the origin */
    if (have) {
        struct replay_params p = { .budget_chunks = budget_chunks,
                                   .lead_chunks = (lead >> t->chunk_shift) ? lead >> t->chunk_shift : 1,
                                   .open_lead_chunks = (OPEN_LEAD_BYTES >> t->chunk_shift) ?
                                                       OPEN_LEAD_BYTES >> t->chunk_shift : 1,
                                   .arm_chunks = ARM_CHUNKS,
                                   .lead_ms = LEAD_MS,
                                   .max_range_chunks = (uint32_t)(RANGE_BYTES >> t->chunk_shift) ?
                                                       (uint32_t)(RANGE_BYTES >> t->chunk_shift) : 1 };
        if (all_held(t))
            log_msg(LOG_INFO, "%s: the %u chunks of its trace are in the disk cache: no replay",
                    path, t->base.chunks);
        else
            t->rp = replay_new(t->base.runs, t->base.n, &p);
    }
    t->recording = mode == MODE_RECORD || mode == MODE_AUTO;
    pthread_mutex_lock(&trace_lock);
    start_thread();
    if (!thread_running || (!t->recording && !t->rp)) {
        pthread_mutex_unlock(&trace_lock);
        trace_free(t);
        return NULL;
    }
    if (t->rp) {
        t->replaying = true;
        o->ops->ref(o->arg);
        log_msg(LOG_INFO, "%s: replaying its trace of %u chunks", path, t->base.chunks);
    }
    atomic_init(&t->active, true);
    t->next = traces;
    traces = t;
    pthread_mutex_unlock(&trace_lock);
    pthread_cond_signal(&trace_cond);
    return t;
}

void trace_close(struct trace *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->orphan) { /* a forked child's copy of its parent's: left alone */
        pthread_mutex_unlock(&t->mu);
        return;
    }
    show_counts(t, true);
    t->owner.stats = NULL;
    t->closed = true;
    atomic_store_explicit(&t->active, false, memory_order_relaxed);
    pthread_mutex_unlock(&t->mu);
    pthread_cond_signal(&trace_cond);
}

void trace_exit(void)
{
    pid_t me = (pid_t)syscall(SYS_getpid);
    uint64_t now = now_ms();
    for (;;) {
        struct trace *save = NULL;
        struct trace_data data;
        pthread_mutex_lock(&trace_lock);
        for (struct trace *t = traces; t; t = t->next) {
            pthread_mutex_lock(&t->mu);
            if (t->orphan || t->pid != me) {
                pthread_mutex_unlock(&t->mu);
                continue;
            }
            show_counts(t, true);
            atomic_store_explicit(&t->active, false, memory_order_relaxed);
            if (!save && !t->saving && !t->saved && (t->recording || t->record_done)) {
                t->recording = false;
                t->record_done = t->saving = true;
                if (build_save(t, now, &data) == 0)
                    save = t;
                else
                    t->saving = false, t->saved = true;
            }
            pthread_mutex_unlock(&t->mu);
        }
        pthread_mutex_unlock(&trace_lock);
        if (!save)
            return;
        write_trace(save->path, &data);
        trace_data_free(&data);
        pthread_mutex_lock(&save->mu);
        save->saving = false;
        save->saved = true;
        pthread_mutex_unlock(&save->mu);
    }
}

void trace_atfork_child(void)
{
    /* The thread did not come along and trace_lock may be held by a thread that is not
     * here: the parent's traces are its own (the child neither replays nor writes them),
     * and the child starts a thread of its own for objects it makes. */
    pthread_mutex_init(&trace_lock, NULL);
    cond_init_monotonic(&trace_cond);
    for (struct trace *t = traces; t; t = t->next) {
        pthread_mutex_init(&t->mu, NULL); /* may have been held by a thread not here */
        t->orphan = true;
        atomic_store_explicit(&t->active, false, memory_order_relaxed);
    }
    traces = NULL;
    thread_running = false;
}
