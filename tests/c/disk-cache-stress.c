/* disk-cache-stress.c: the disk tier (shim/disk_cache.c) shared by real processes.
 *   bound DIR LIMIT   4 processes write 4x LIMIT of distinct chunks while a sampler runs
 *                     du (allocated, apparent) on DIR every 20 ms: never above LIMIT
 *   shared DIR        2 processes read the same cold chunks at once: one fetch per chunk
 *   kill DIR          20 rounds of kill -9 at random moments of 4 readers, then a verifying
 *                     pass: 0 wrong bytes, nothing left FILLING, no slot stuck, still works
 *   small DIR LIMIT   DIR on a small file system, LIMIT larger: reduced at start with one
 *                     log line, works, stays within the reduced limit
 *   readonly DIR      (root) the slab made unwritable in use (chattr +i): the tier steps
 *                     aside with one log line and reads go on (fetched); a read-only
 *                     mount of the cache directory is refused at open with one line
 *   threads DIR       4 threads and a child process on the same chunks (for TSan)
 *   bench DIR MIB     hit read and fill throughput against pread of a plain file (report)
 * Prints "N passed, N failed" (bench: figures only). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>

#include "clock.h"
#include "disk-test.h"
#include "disk_cache.h"
#include "unit.h"

#define CS 65536u
#define MiB (1024ull * 1024)
#define MAX_CHUNKS 4096

/* Shared between the processes of a scenario (an anonymous MAP_SHARED page set). */
struct shared {
    uint64_t fetches[MAX_CHUNKS];
    uint64_t wrong, served, stop, start, samples, max_alloc, max_apparent, max_du_alloc,
        max_du_apparent;
};
static struct shared *sh;

struct fetch_arg {
    uint32_t obj, ver;
    unsigned delay_us; /* a fetch takes at least this long */
};

static ssize_t fetch_pattern(void *arg, uint64_t chunk, void *buf, size_t len)
{
    struct fetch_arg *fa = arg;
    if (fa->delay_us) {
        struct timespec ts = { 0, (long)fa->delay_us * 1000 };
        nanosleep(&ts, NULL);
    }
    if (chunk < MAX_CHUNKS)
        __atomic_fetch_add(&sh->fetches[chunk], 1, __ATOMIC_RELAXED);
    pattern_fill(buf, len < CS ? len : CS, fa->obj, fa->ver, chunk);
    return CS;
}

static struct disk_cache *open_cache(const char *dir, uint64_t limit)
{
    struct disk_cache *dc = disk_cache_open(dir, limit, CS);
    if (!dc) {
        printf("FAIL: cannot open the cache in %s\n", dir);
        exit(2);
    }
    return dc;
}

/* Read chunk of obj through the tier (fetching on a miss); count wrong bytes. */
static ssize_t get_checked(struct disk_cache *dc, const struct disk_key *k, uint32_t obj,
                           uint64_t chunk, unsigned delay_us, uint8_t *buf)
{
    struct fetch_arg fa = { obj, 1, delay_us };
    ssize_t n = disk_cache_get(dc, k, chunk, buf, CS, now_ms() + 5000, fetch_pattern, &fa);
    if (n == CS) {
        __atomic_fetch_add(&sh->wrong, pattern_wrong(buf, CS, obj, 1, chunk), __ATOMIC_RELAXED);
        __atomic_fetch_add(&sh->served, 1, __ATOMIC_RELAXED);
    }
    return n;
}

static void key_of(struct disk_cache *dc, struct disk_key *k, uint32_t obj)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1/object-%u", obj);
    disk_key_make(dc, k, url, "\"v1\"", 1ull << 40);
}

static int wait_children(pid_t *pids, int n)
{
    int bad = 0, status;
    for (int i = 0; i < n; i++)
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status))
            bad++;
    return bad;
}

static uint64_t du(const char *dir, const char *flags)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "du -s %s '%s' 2>/dev/null", flags, dir);
    FILE *p = popen(cmd, "r");
    unsigned long long v = 0;
    if (p) {
        if (fscanf(p, "%llu", &v) != 1)
            v = 0;
        pclose(p);
    }
    return v;
}

static void max_into(uint64_t *m, uint64_t v)
{
    if (v > *m)
        *m = v;
}

static void sampler(const char *dir)
{
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
        uint64_t alloc, apparent;
        dir_usage(dir, &alloc, &apparent);
        max_into(&sh->max_alloc, alloc);
        max_into(&sh->max_apparent, apparent);
        max_into(&sh->max_du_alloc, du(dir, "--block-size=1"));
        max_into(&sh->max_du_apparent, du(dir, "--apparent-size --block-size=1"));
        sh->samples++;
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    _exit(0);
}

static void scenario_bound(const char *dir, uint64_t limit)
{
    struct disk_cache *dc = open_cache(dir, limit);
    struct disk_cache_stats st;
    disk_cache_stats(dc, &st);
    pid_t sp = fork();
    if (sp == 0)
        sampler(dir);
    uint64_t per = limit / CS; /* chunks each writer writes: 4 x the limit in all */
    pid_t pids[4];
    for (int w = 0; w < 4; w++) {
        if ((pids[w] = fork()) == 0) {
            struct disk_cache *mine = open_cache(dir, limit);
            struct disk_key k;
            uint8_t *buf = malloc(CS);
            key_of(mine, &k, 100 + (uint32_t)w);
            for (uint64_t c = 0; c < per; c++)
                if (get_checked(mine, &k, 100 + (uint32_t)w, c, 4000, buf) != CS)
                    _exit(3);
            /* The most recent chunks are hits. */
            struct disk_cache_stats s0, s1;
            disk_cache_stats(mine, &s0);
            for (uint64_t c = per - 4; c < per; c++)
                get_checked(mine, &k, 100 + (uint32_t)w, c, 0, buf);
            disk_cache_stats(mine, &s1);
            _exit(s1.hits - s0.hits >= 1 ? 0 : 4);
        }
    }
    int bad = wait_children(pids, 4);
    __atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
    wait_children(&sp, 1);
    disk_cache_stats(dc, &st);
    CHECK(bad == 0, "%d writers failed", bad);
    CHECK(sh->wrong == 0, "%llu wrong bytes", (unsigned long long)sh->wrong);
    CHECK(sh->served == 4 * per + 16, "served %llu chunks", (unsigned long long)sh->served);
    CHECK(sh->samples >= 10, "only %llu samples", (unsigned long long)sh->samples);
    CHECK(sh->max_du_alloc > 0 && sh->max_du_alloc <= limit && sh->max_alloc <= limit,
          "allocated: du %llu, stat %llu, limit %llu", (unsigned long long)sh->max_du_alloc,
          (unsigned long long)sh->max_alloc, (unsigned long long)limit);
    CHECK(sh->max_du_apparent <= limit && sh->max_apparent <= limit,
          "apparent: du %llu, stat %llu, limit %llu", (unsigned long long)sh->max_du_apparent,
          (unsigned long long)sh->max_apparent, (unsigned long long)limit);
    CHECK(st.ready <= st.slots && st.used <= st.slots * CS, "ready %llu of %llu slots",
          (unsigned long long)st.ready, (unsigned long long)st.slots);
    printf("bound: %llu chunks written by 4 processes into %llu slots; %llu samples; max du "
           "%llu allocated, %llu apparent; limit %llu\n",
           (unsigned long long)(4 * per), (unsigned long long)st.slots,
           (unsigned long long)sh->samples, (unsigned long long)sh->max_du_alloc,
           (unsigned long long)sh->max_du_apparent, (unsigned long long)limit);
    disk_cache_close(dc);
}

static void scenario_shared(const char *dir)
{
    enum { K = 48 };
    struct disk_cache *dc = open_cache(dir, 8 * MiB);
    disk_cache_close(dc);
    pid_t pids[2];
    for (int r = 0; r < 2; r++) {
        if ((pids[r] = fork()) == 0) {
            struct disk_cache *mine = open_cache(dir, 8 * MiB);
            struct disk_key k;
            uint8_t *buf = malloc(CS);
            key_of(mine, &k, 200);
            __atomic_fetch_add(&sh->start, 1, __ATOMIC_ACQ_REL);
            while (__atomic_load_n(&sh->start, __ATOMIC_ACQUIRE) < 2)
                ;
            for (uint64_t c = 0; c < K; c++)
                if (get_checked(mine, &k, 200, c, 3000, buf) != CS)
                    _exit(3);
            _exit(0);
        }
    }
    int bad = wait_children(pids, 2);
    uint64_t total = 0, most = 0;
    for (int c = 0; c < K; c++) {
        total += sh->fetches[c];
        max_into(&most, sh->fetches[c]);
    }
    CHECK(bad == 0, "%d readers failed", bad);
    CHECK(sh->served == 2 * K && sh->wrong == 0, "served %llu, %llu wrong bytes",
          (unsigned long long)sh->served, (unsigned long long)sh->wrong);
    CHECK(total == K && most == 1, "%llu fetches for %d chunks (most %llu for one)",
          (unsigned long long)total, K, (unsigned long long)most);
    printf("shared: 2 processes read %d cold chunks at once: %llu fetches\n", K,
           (unsigned long long)total);
}

static void reader_loop(const char *dir, uint64_t limit, unsigned seed, uint64_t universe)
{
    struct disk_cache *dc = open_cache(dir, limit);
    struct disk_key k[2];
    key_of(dc, &k[0], 300);
    key_of(dc, &k[1], 301);
    uint8_t *buf = malloc(CS);
    for (;;) {
        uint64_t c = (uint64_t)rand_r(&seed) % universe;
        int o = rand_r(&seed) % 2;
        get_checked(dc, &k[o], 300 + (uint32_t)o, c, (unsigned)(rand_r(&seed) % 2000), buf);
    }
}

static void scenario_kill(const char *dir)
{
    const uint64_t limit = 2 * MiB, universe = 40;
    /* Kept open throughout, so that nothing is rebuilt: what the dead leave behind is
     * cleaned up by the live. */
    struct disk_cache *dc = open_cache(dir, limit);
    struct disk_cache_stats st;
    unsigned seed = (unsigned)getpid();
    uint64_t served_kill = 0;
    for (int round = 0; round < 20; round++) {
        pid_t pids[4];
        for (int r = 0; r < 4; r++)
            if ((pids[r] = fork()) == 0)
                reader_loop(dir, limit, seed + (unsigned)(round * 4 + r), universe);
        for (int r = 0; r < 4; r++) {
            struct timespec ts = { 0, (long)(5 + rand_r(&seed) % 40) * 1000 * 1000 };
            nanosleep(&ts, NULL);
            kill(pids[r], SIGKILL);
        }
        for (int r = 0; r < 4; r++)
            waitpid(pids[r], NULL, 0);
    }
    served_kill = sh->served;
    CHECK(sh->wrong == 0, "%llu wrong bytes while killing", (unsigned long long)sh->wrong);
    CHECK(served_kill > 100, "only %llu chunks served in 20 rounds", (unsigned long long)served_kill);

    disk_cache_stats(dc, &st);
    uint64_t filling_dead = st.filling;
    struct disk_key k[2];
    key_of(dc, &k[0], 300);
    key_of(dc, &k[1], 301);
    uint8_t *buf = malloc(CS);
    sh->served = 0;
    uint64_t failures = 0;
    for (int o = 0; o < 2; o++)
        for (uint64_t c = 0; c < universe; c++)
            failures += get_checked(dc, &k[o], 300 + (uint32_t)o, c, 0, buf) != CS;
    disk_cache_stats(dc, &st);
    CHECK(failures == 0 && sh->served == 2 * universe && sh->wrong == 0,
          "verify: %llu failures, %llu served, %llu wrong bytes", (unsigned long long)failures,
          (unsigned long long)sh->served, (unsigned long long)sh->wrong);
    CHECK(st.filling == 0 && st.pinned == 0, "after verify: %llu filling, %llu pinned",
          (unsigned long long)st.filling, (unsigned long long)st.pinned);
    /* Every slot can still be claimed: fill twice the slot count of new chunks. */
    struct disk_key fresh;
    key_of(dc, &fresh, 399);
    uint64_t stored = 0, nospace = 0;
    for (uint64_t c = 0; c < 2 * st.slots; c++) {
        struct disk_claim cl;
        int rc = disk_cache_claim(dc, &fresh, c, &cl);
        nospace += rc == -ENOSPC;
        if (rc == 0) {
            pattern_fill(buf, CS, 399, 1, c);
            stored += disk_cache_fill(dc, &cl, buf, CS) == 0;
        }
    }
    uint64_t hits = 0;
    for (uint64_t c = st.slots; c < 2 * st.slots; c++) {
        ssize_t n = disk_cache_read(dc, &fresh, c, buf, CS);
        hits += n == CS && pattern_wrong(buf, CS, 399, 1, c) == 0;
    }
    CHECK(stored == 2 * st.slots && nospace == 0 && hits == st.slots,
          "after kills: %llu stored, %llu no space, %llu of %llu hits", (unsigned long long)stored,
          (unsigned long long)nospace, (unsigned long long)hits, (unsigned long long)st.slots);
    printf("kill: 20 rounds of kill -9 of 4 readers, %llu chunks served meanwhile; verify: %llu "
           "chunks, 0 wrong bytes; %llu slots left FILLING by the dead, %llu taken over\n",
           (unsigned long long)served_kill, (unsigned long long)(2 * universe),
           (unsigned long long)filling_dead, (unsigned long long)st.takeovers);
    free(buf);
    disk_cache_close(dc);
}

static void scenario_small(const char *dir, uint64_t limit)
{
    char logpath[4300];
    snprintf(logpath, sizeof logpath, "%s.log", dir);
    log_capture(logpath);
    struct disk_cache *dc = open_cache(dir, limit);
    log_set_descriptor(2);
    struct disk_cache_stats st;
    disk_cache_stats(dc, &st);
    int lines = log_count(logpath, "remoteio:");
    int reduced = log_count(logpath, "more than the file system can hold");
    CHECK(lines == 1 && reduced == 1, "%d log lines, %d about the reduction", lines, reduced);
    uint64_t fs_alloc, fs_apparent;
    dir_usage(dir, &fs_alloc, &fs_apparent);
    CHECK(st.limit < limit && fs_alloc <= st.limit && fs_apparent <= st.limit,
          "limit %llu reduced to %llu; usage %llu / %llu", (unsigned long long)limit,
          (unsigned long long)st.limit, (unsigned long long)fs_alloc,
          (unsigned long long)fs_apparent);
    struct disk_key k;
    key_of(dc, &k, 500);
    uint8_t *buf = malloc(CS);
    uint64_t n = 2 * st.slots, ok = 0;
    for (uint64_t c = 0; c < n; c++)
        ok += get_checked(dc, &k, 500, c, 0, buf) == CS;
    uint64_t hits0 = st.hits;
    for (uint64_t c = n - st.slots / 2; c < n; c++)
        ok += get_checked(dc, &k, 500, c, 0, buf) == CS;
    disk_cache_stats(dc, &st);
    dir_usage(dir, &fs_alloc, &fs_apparent);
    CHECK(ok == n + st.slots / 2 && sh->wrong == 0, "%llu reads right of %llu",
          (unsigned long long)ok, (unsigned long long)(n + st.slots / 2));
    CHECK(st.hits - hits0 == st.slots / 2, "%llu hits of %llu recent chunks",
          (unsigned long long)(st.hits - hits0), (unsigned long long)(st.slots / 2));
    CHECK(fs_alloc <= st.limit && fs_apparent <= st.limit, "after: usage %llu / %llu",
          (unsigned long long)fs_alloc, (unsigned long long)fs_apparent);
    printf("small: limit %llu reduced to %llu (%llu slots), %llu chunks written, usage %llu\n",
           (unsigned long long)limit, (unsigned long long)st.limit, (unsigned long long)st.slots,
           (unsigned long long)n, (unsigned long long)fs_alloc);
    free(buf);
    disk_cache_close(dc);

    /* The default limit: a quarter of the free space (at most 8 GiB, at least 64 chunks). */
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "remove the cache");
    struct statvfs fs;
    statvfs(logpath, &fs);
    uint64_t quarter = (uint64_t)fs.f_bavail * fs.f_frsize / 4;
    uint64_t expect = quarter > 64 * CS ? quarter : 64 * CS;
    dc = open_cache(dir, 0);
    disk_cache_stats(dc, &st);
    dir_usage(dir, &fs_alloc, &fs_apparent);
    CHECK(st.limit == expect && fs_alloc <= st.limit && fs_apparent <= st.limit,
          "default limit %llu (expected %llu), usage %llu", (unsigned long long)st.limit,
          (unsigned long long)expect, (unsigned long long)fs_alloc);
    printf("small: default limit on that file system %llu (%llu slots)\n",
           (unsigned long long)st.limit, (unsigned long long)st.slots);
    disk_cache_close(dc);
}

static int sh_cmd(const char *fmt, const char *a, const char *b)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static void scenario_readonly(const char *dir)
{
    char cache[4200], logpath[4300], ro[4300], slab[4300];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(slab, sizeof slab, "%s/slab", cache);
    snprintf(logpath, sizeof logpath, "%s/log", dir);
    snprintf(ro, sizeof ro, "%s/ro", dir);
    struct disk_cache *dc = open_cache(cache, 4 * MiB);
    struct disk_key k;
    key_of(dc, &k, 800);
    uint8_t *buf = malloc(CS);
    for (uint64_t c = 0; c < 4; c++)
        get_checked(dc, &k, 800, c, 0, buf);
    /* Writes into the slab now fail (EPERM), as on a file system gone read-only. */
    CHECK(sh_cmd("chattr +i '%s'%s", slab, "") == 0, "chattr +i slab");
    log_capture(logpath);
    uint64_t ok = 0;
    for (uint64_t c = 0; c < 16; c++) /* 0-3 are hits; the rest fetched */
        ok += get_checked(dc, &k, 800, c, 0, buf) == CS;
    int lines = log_count(logpath, "remoteio:"), aside = log_count(logpath, "going on without it");
    CHECK(ok == 16 && sh->wrong == 0, "%llu of 16 reads right, %llu wrong bytes",
          (unsigned long long)ok, (unsigned long long)sh->wrong);
    CHECK(lines == 1 && aside == 1, "%d log lines, %d stepping aside", lines, aside);
    CHECK(disk_cache_read(dc, &k, 0, buf, CS) == -ENODEV, "the tier has stepped aside");
    disk_cache_close(dc);
    sh_cmd("chattr -i '%s'%s", slab, "");
    /* A read-only mount of a good cache directory is refused at open. */
    mkdir(ro, 0700);
    CHECK(sh_cmd("mount --bind '%s' '%s'", cache, ro) == 0 &&
          sh_cmd("mount -o remount,ro,bind '%s'%s", ro, "") == 0, "read-only bind mount");
    log_capture(logpath);
    struct disk_cache *again = disk_cache_open(ro, 4 * MiB, CS);
    lines = log_count(logpath, "remoteio:");
    CHECK(again == NULL && lines == 1 && log_count(logpath, "Read-only file system") == 1,
          "read-only directory refused at open (%d log lines)", lines);
    log_set_descriptor(2);
    disk_cache_close(again);
    sh_cmd("umount '%s'%s", ro, "");
    printf("readonly: slab unwritable in use: %llu of 16 reads right, the tier stepped aside "
           "with %d line; a read-only mount refused at open\n", (unsigned long long)ok, aside);
    free(buf);
}

struct thread_arg {
    struct disk_cache *dc;
    unsigned seed;
};

static void *thread_main(void *p)
{
    struct thread_arg *ta = p;
    struct disk_key k;
    key_of(ta->dc, &k, 600);
    uint8_t *buf = malloc(CS);
    for (int i = 0; i < 400; i++)
        get_checked(ta->dc, &k, 600, (uint64_t)rand_r(&ta->seed) % 64, 200, buf);
    free(buf);
    return NULL;
}

static void scenario_threads(const char *dir)
{
    struct disk_cache *dc = open_cache(dir, 2 * MiB);
    pid_t child = fork();
    pthread_t t[4];
    struct thread_arg ta[4];
    for (int i = 0; i < 4; i++) {
        ta[i] = (struct thread_arg){ dc, (unsigned)(i + 1 + (child == 0) * 100) };
        pthread_create(&t[i], NULL, thread_main, &ta[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (child == 0)
        _exit(sh->wrong ? 1 : 0);
    int bad = wait_children(&child, 1);
    struct disk_cache_stats st;
    disk_cache_stats(dc, &st);
    CHECK(bad == 0 && sh->wrong == 0 && sh->served == 8 * 400, "served %llu, %llu wrong bytes",
          (unsigned long long)sh->served, (unsigned long long)sh->wrong);
    CHECK(st.filling == 0 && st.pinned == 0, "left %llu filling, %llu pinned",
          (unsigned long long)st.filling, (unsigned long long)st.pinned);
    printf("threads: 8 threads in 2 processes, %llu chunks served, %llu hits here\n",
           (unsigned long long)sh->served, (unsigned long long)st.hits);
    disk_cache_close(dc);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void scenario_bench(const char *dir, uint64_t mib)
{
    const uint32_t cs = 1 << 20;
    struct disk_cache *dc = disk_cache_open(dir, (mib + mib / 4 + 8) * MiB, cs);
    if (!dc)
        exit(2);
    struct disk_key k;
    key_of(dc, &k, 700);
    disk_cache_clear(dc, NULL);
    uint8_t *buf = malloc(cs);
    memset(buf, 0x5a, cs);
    double t0 = seconds();
    for (uint64_t c = 0; c < mib; c++) {
        struct disk_claim cl;
        if (disk_cache_claim(dc, &k, c, &cl) == 0)
            disk_cache_fill(dc, &cl, buf, cs);
    }
    double fill = seconds() - t0;
    double best_hit = 1e9, best_plain = 1e9;
    char plain[4300];
    snprintf(plain, sizeof plain, "%s.plain", dir);
    int fd = open(plain, O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (uint64_t c = 0; c < mib; c++)
        if (pwrite(fd, buf, cs, (off_t)(c * cs)) != (ssize_t)cs)
            exit(2);
    for (int round = 0; round < 3; round++) {
        t0 = seconds();
        for (uint64_t c = 0; c < mib; c++)
            if (disk_cache_read(dc, &k, c, buf, cs) != (ssize_t)cs)
                exit(3);
        double t = seconds() - t0;
        best_hit = t < best_hit ? t : best_hit;
        t0 = seconds();
        for (uint64_t c = 0; c < mib; c++)
            if (pread(fd, buf, cs, (off_t)(c * cs)) != (ssize_t)cs)
                exit(3);
        t = seconds() - t0;
        best_plain = t < best_plain ? t : best_plain;
    }
    close(fd);
    unlink(plain);
    double gb = (double)mib * cs / 1e9;
    printf("bench: %llu MiB in 1 MiB chunks: fill %.2f GB/s; warm hit read %.2f GB/s; pread of "
           "a plain file %.2f GB/s (ratio %.2f)\n",
           (unsigned long long)mib, gb / fill, gb / best_hit, gb / best_plain,
           best_plain / best_hit);
    free(buf);
    disk_cache_close(dc);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s bound|shared|kill|small|readonly|threads|bench DIR [SIZE]\n", argv[0]);
        return 2;
    }
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const char *what = argv[1], *dir = argv[2];
    uint64_t size = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    if (!strcmp(what, "bound"))
        scenario_bound(dir, size * MiB);
    else if (!strcmp(what, "shared"))
        scenario_shared(dir);
    else if (!strcmp(what, "kill"))
        scenario_kill(dir);
    else if (!strcmp(what, "small"))
        scenario_small(dir, size * MiB);
    else if (!strcmp(what, "readonly"))
        scenario_readonly(dir);
    else if (!strcmp(what, "threads"))
        scenario_threads(dir);
    else if (!strcmp(what, "bench")) {
        scenario_bench(dir, size ? size : 256);
        return 0;
    } else {
        fprintf(stderr, "unknown scenario %s\n", what);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
