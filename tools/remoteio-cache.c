/* remoteio-cache: what `remoteio cache ...` runs: look into, clean and fill the persistent
 * disk cache (shim/disk_cache.h) that REMOTEIO_CACHE_DIR names.
 *
 *   remoteio-cache [-d DIR] stats                 limit, use, objects, host-wide hit rates
 *   remoteio-cache [-d DIR] ls [PATH|URL]...      the cached versions, named when known
 *   remoteio-cache [-d DIR] clear [PATH|URL]...   drop those objects' chunks and learned
 *                                                 traces (all: none given)
 *   remoteio-cache [-d DIR] verify                check every chunk's checksum (bad: dropped)
 *   remoteio-cache [-j N] prefetch PATH...        read the files whole, N threads (run under
 *                                                 the shim by the wrapper: it fills the cache)
 * DIR: -d, else cache_dir from the configuration (REMOTEIO_CACHE_DIR, REMOTEIO_CONFIG).
 * The cache is attached in the layout it has (disk_cache_attach): a tool never rebuilds
 * it.  The index holds hashes, not URLs: ls names a version when a mapping or an argument
 * gives its URL.  Exit status 0, 1 on a failure (verify: a chunk failed), 2 on a usage
 * error.  Threads: prefetch's readers share only an atomic cursor and counters. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "disk_cache.h"
#include "trace_file.h"
#include "url.h"

/* Where the shim keeps learned traces for the cache in dir (shim/trace.h): the trace
 * directory, else dir.traces. */
static const char *trace_dir_of(const char *dir, char *buf, size_t cap)
{
    if (config.trace_dir && config.trace_dir[0])
        return config.trace_dir;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    snprintf(buf, cap, "%.*s.traces", (int)n, dir);
    return buf;
}
static const char *tdir; /* trace_dir_of the cache's */

static void usage(void)
{
    fprintf(stderr, "Usage: remoteio cache [-d DIR] stats|ls [PATH|URL]...|clear [PATH|URL]..."
                    "|verify\n       remoteio cache [-j THREADS] prefetch PATH...\n");
    exit(2);
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* ---- stats, ls ---- */

struct version {
    struct disk_key key;
    uint64_t chunks, bytes, last_use;
};

struct versions {
    struct version *v;
    size_t n, cap;
};

static void count_version(void *arg, const struct disk_key *k, uint64_t chunk, uint32_t len,
                          uint64_t last_use)
{
    struct versions *vs = arg;
    (void)chunk;
    for (size_t i = 0; i < vs->n; i++) {
        struct version *v = &vs->v[i];
        if (memcmp(&v->key, k, sizeof *k) == 0) {
            v->chunks++;
            v->bytes += len;
            if (last_use > v->last_use)
                v->last_use = last_use;
            return;
        }
    }
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 64;
        struct version *nv = realloc(vs->v, cap * sizeof *nv);
        if (!nv)
            return;
        vs->v = nv;
        vs->cap = cap;
    }
    vs->v[vs->n++] = (struct version){ *k, 1, len, last_use };
}

static int by_last_use(const void *a, const void *b)
{
    const struct version *x = a, *y = b;
    return x->last_use < y->last_use ? 1 : x->last_use > y->last_use ? -1 : 0;
}

static int cmd_stats(struct disk_cache *dc, const char *dir)
{
    struct disk_cache_stats st;
    struct versions vs = { 0 };
    disk_cache_sweep(dc); /* what dead processes left pinned or filling is released */
    disk_cache_stats(dc, &st);
    disk_cache_each(dc, count_version, &vs);
    printf("cache %s\n", dir);
    printf("limit %llu bytes; its files take %llu\n", (unsigned long long)st.limit,
           (unsigned long long)st.file_bytes);
    printf("used %llu bytes (%.1f%% of the slab): %llu of %llu chunks of %llu bytes\n",
           (unsigned long long)st.used, pct(st.used, st.slots * st.chunk_size),
           (unsigned long long)st.ready, (unsigned long long)st.slots,
           (unsigned long long)st.chunk_size);
    printf("objects %zu (versions); %llu chunks being filled, %llu pinned by readers\n", vs.n,
           (unsigned long long)st.filling, (unsigned long long)st.pinned);
    printf("since built: %llu hits, %llu misses (hit rate %.1f%%), %llu bytes written, "
           "%llu evictions, %llu checksum failures, %llu takeovers\n",
           (unsigned long long)st.host.hits, (unsigned long long)st.host.misses,
           pct(st.host.hits, st.host.hits + st.host.misses),
           (unsigned long long)st.host.bytes_written, (unsigned long long)st.host.evictions,
           (unsigned long long)st.host.checksum_failures, (unsigned long long)st.host.takeovers);
    free(vs.v);
    return 0;
}

/* A name for each version whose URL a mapping (exact) or an argument gives. */
static int cmd_ls(struct disk_cache *dc, int argc, char **argv)
{
    struct versions vs = { 0 };
    disk_cache_each(dc, count_version, &vs);
    qsort(vs.v, vs.n, sizeof *vs.v, by_last_use);
    size_t nnames = config.nmaps + (size_t)argc;
    struct { uint64_t url_hash; char shown[512]; const char *path; } *names =
        calloc(nnames ? nnames : 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; names && i < nnames; i++) {
        const char *arg = i < config.nmaps ? config.maps[i].url : argv[i - config.nmaps];
        if (i < config.nmaps && config.maps[i].prefix)
            continue;
        char *url = config_url_of(&config, arg);
        struct disk_key key;
        if (!url || disk_key_make(dc, &key, url, "", 0)) {
            free(url);
            continue;
        }
        names[k].url_hash = key.url_hash;
        names[k].path = i < config.nmaps ? config.maps[i].virt : (arg[0] == '/' ? arg : NULL);
        url_display(url, names[k].shown, sizeof names[k].shown);
        k++;
        free(url);
    }
    printf("%-32s %10s %14s  %s\n", "VERSION", "CHUNKS", "BYTES", "OBJECT");
    for (size_t i = 0; i < vs.n; i++) {
        const struct version *v = &vs.v[i];
        char id[33];
        for (int b = 0; b < 16; b++)
            snprintf(id + 2 * b, 3, "%02x", v->key.id[b]);
        const char *shown = "?", *path = NULL;
        for (size_t j = 0; j < k; j++)
            if (names[j].url_hash == v->key.url_hash) {
                shown = names[j].shown;
                path = names[j].path;
            }
        printf("%s %10llu %14llu  %s%s%s%s\n", id, (unsigned long long)v->chunks,
               (unsigned long long)v->bytes, path ? path : "", path ? " (" : "", shown,
               path ? ")" : "");
    }
    free(names);
    free(vs.v);
    return 0;
}

/* ---- clear, verify ---- */

static int cmd_clear(struct disk_cache *dc, int argc, char **argv)
{
    if (argc == 0) {
        DIR *d = opendir(tdir); /* the traces go quietly: the output is the chunks' */
        for (struct dirent *e; d && (e = readdir(d));)
            if (strlen(e->d_name) == 38 && strcmp(e->d_name + 32, ".trace") == 0 &&
                strspn(e->d_name, "0123456789abcdef") == 32)
                unlinkat(dirfd(d), e->d_name, 0);
        if (d)
            closedir(d);
        printf("cleared %zu chunks\n", disk_cache_clear(dc, NULL));
        return 0;
    }
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        char *url = config_url_of(&config, argv[i]);
        if (!url) {
            fprintf(stderr, "remoteio cache: %s: not a URL nor a mapped path\n", argv[i]);
            rc = 1;
            continue;
        }
        char shown[2048]; /* as the shim keys traces */
        url_display(url, shown, sizeof shown);
        uint8_t key[16];
        trace_key(shown, key);
        trace_file_remove(tdir, key); /* quietly, as above */
        printf("%s: cleared %zu chunks\n", shown, disk_cache_clear_url(dc, url));
        free(url);
    }
    return rc;
}

struct verify {
    struct disk_cache *dc;
    char *buf;
    size_t len;
    uint64_t good, bad, gone;
};

static void verify_chunk(void *arg, const struct disk_key *k, uint64_t chunk, uint32_t len,
                         uint64_t last_use)
{
    struct verify *v = arg;
    (void)len;
    (void)last_use;
    ssize_t n = disk_cache_read(v->dc, k, chunk, v->buf, v->len);
    if (n >= 0)
        v->good++;
    else if (n == -EBADMSG)
        v->bad++;
    else
        v->gone++; /* reused or being refilled meanwhile */
}

static int cmd_verify(struct disk_cache *dc)
{
    struct disk_cache_stats st;
    disk_cache_stats(dc, &st);
    struct verify v = { .dc = dc, .len = st.chunk_size, .buf = malloc(st.chunk_size) };
    if (!v.buf)
        return 1;
    disk_cache_each(dc, verify_chunk, &v);
    free(v.buf);
    printf("verified %llu chunks: %llu good, %llu failed their checksum (dropped), %llu "
           "changed meanwhile\n", (unsigned long long)(v.good + v.bad + v.gone),
           (unsigned long long)v.good, (unsigned long long)v.bad, (unsigned long long)v.gone);
    return v.bad ? 1 : 0;
}

/* ---- prefetch ---- */

#define BLOCK ((int64_t)8 << 20) /* one read: large ranges, as a boot's first pass wants */

struct file {
    const char *path;
    int fd;
    int64_t size, take; /* take: what is read of it (within the cache's limit) */
};

/* Each block is one read; a file takes whole blocks of the cursor, so that no block
 * spans two files. */
static int64_t blocks_of(int64_t n)
{
    return (n + BLOCK - 1) / BLOCK * BLOCK;
}

struct prefetch {
    struct file *files;
    int nfiles;
    atomic_int_fast64_t next; /* the cursor: over the files' blocks, one after the other */
    int64_t span;             /* where it ends */
    atomic_int_fast64_t done; /* bytes read */
    int64_t total;            /* bytes to read */
    atomic_int failed;
};

static void *reader(void *arg)
{
    struct prefetch *p = arg;
    char *buf = malloc((size_t)BLOCK);
    if (!buf) {
        atomic_store(&p->failed, ENOMEM);
        return NULL;
    }
    for (;;) {
        int64_t at = atomic_fetch_add(&p->next, BLOCK);
        if (at >= p->span)
            break;
        int f = 0;
        while (f < p->nfiles && at >= blocks_of(p->files[f].take)) {
            at -= blocks_of(p->files[f].take);
            f++;
        }
        if (f == p->nfiles)
            break;
        int64_t len = p->files[f].take - at < BLOCK ? p->files[f].take - at : BLOCK;
        ssize_t n = pread(p->files[f].fd, buf, (size_t)len, at);
        if (n != len) {
            fprintf(stderr, "remoteio cache: %s: read at %lld: %s\n", p->files[f].path,
                    (long long)at, n < 0 ? strerror(errno) : "short read");
            atomic_store(&p->failed, n < 0 ? errno : EIO);
            break;
        }
        atomic_fetch_add(&p->done, len);
    }
    free(buf);
    return NULL;
}

static void progress(struct prefetch *p, double secs, bool last)
{
    int64_t done = atomic_load(&p->done);
    int width = 40, fill = p->total ? (int)(width * done / p->total) : width;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %lld/%lld MiB %.0f MiB/s%s", fill,
            "########################################", width - fill, "",
            p->total ? (int)(100 * done / p->total) : 100, (long long)(done >> 20),
            (long long)(p->total >> 20), secs > 0 ? (double)done / secs / 1048576 : 0.0,
            last ? "\n" : "");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_prefetch(int threads, int argc, char **argv, const char *dir)
{
    if (argc == 0)
        usage();
    struct prefetch p = { .nfiles = argc };
    p.files = calloc((size_t)argc, sizeof *p.files);
    if (!p.files)
        return 1;
    for (int i = 0; i < argc; i++) {
        struct stat st;
        p.files[i].path = argv[i];
        p.files[i].fd = open(argv[i], O_RDONLY);
        if (p.files[i].fd < 0 || fstat(p.files[i].fd, &st) < 0) {
            fprintf(stderr, "remoteio cache: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        p.files[i].size = st.st_size;
    }
    /* Opening the files started the shim's disk tier: its capacity bounds the read (more
     * would only evict the start of what was read). */
    struct disk_cache *dc = dir ? disk_cache_attach(dir) : NULL;
    int64_t room = INT64_MAX;
    if (dc) {
        struct disk_cache_stats st;
        disk_cache_stats(dc, &st);
        room = (int64_t)(st.slots * st.chunk_size);
        disk_cache_close(dc);
    } else {
        fprintf(stderr, "remoteio cache: no disk cache to fill (set REMOTEIO_CACHE_DIR or "
                        "--cache)\n");
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        struct file *f = &p.files[i];
        f->take = f->size < room ? f->size : room;
        if (f->take < f->size)
            fprintf(stderr, "remoteio cache: %s: only its first %lld bytes fit the cache's "
                    "limit\n", f->path, (long long)f->take);
        room -= blocks_of(f->take);
        if (room < 0)
            room = 0;
        p.total += f->take;
        p.span += blocks_of(f->take);
    }
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!tid)
        return 1;
    double t0 = now_s();
    int started = 0;
    for (int i = 0; i < threads; i++)
        started += pthread_create(&tid[i], NULL, reader, &p) == 0;
    bool tty = isatty(2);
    while (tty && started > 0 && atomic_load(&p.done) < p.total && !atomic_load(&p.failed)) {
        progress(&p, now_s() - t0, false);
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (tty)
        progress(&p, now_s() - t0, true);
    double secs = now_s() - t0;
    printf("prefetched %lld bytes of %d file(s) in %.2f s (%.0f MiB/s)\n",
           (long long)atomic_load(&p.done), argc, secs,
           secs > 0 ? (double)atomic_load(&p.done) / secs / 1048576 : 0.0);
    free(tid);
    return atomic_load(&p.failed) || started == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    config_load();
    const char *dir = config.cache_dir && config.cache_dir[0] ? config.cache_dir : NULL;
    int threads = 8, opt;
    while ((opt = getopt(argc, argv, "+d:j:h")) != -1) {
        if (opt == 'd')
            dir = optarg;
        else if (opt == 'j' && (threads = atoi(optarg)) > 0 && threads <= 256)
            continue;
        else
            usage();
    }
    if (optind >= argc)
        usage();
    const char *cmd = argv[optind++];
    int rest = argc - optind;
    char **args = argv + optind;
    if (strcmp(cmd, "prefetch") == 0)
        return cmd_prefetch(threads, rest, args, dir);
    if (!dir) {
        fprintf(stderr, "remoteio cache: no cache directory (REMOTEIO_CACHE_DIR, cache_dir in "
                        "the configuration file, or --cache DIR)\n");
        return 2;
    }
    int (*run)(struct disk_cache *, int, char **) = NULL;
    if (strcmp(cmd, "ls") == 0)
        run = cmd_ls;
    else if (strcmp(cmd, "clear") == 0)
        run = cmd_clear;
    else if (strcmp(cmd, "stats") != 0 && strcmp(cmd, "verify") != 0)
        usage();
    char tbuf[4096];
    tdir = trace_dir_of(dir, tbuf, sizeof tbuf);
    struct disk_cache *dc = disk_cache_attach(dir);
    if (!dc)
        return 1;
    int rc = run ? run(dc, rest, args)
                 : strcmp(cmd, "stats") == 0 ? cmd_stats(dc, dir) : cmd_verify(dc);
    disk_cache_close(dc);
    return rc;
}
