/* disk_open.c: opening the disk tier (design and invariants in disk_cache.h): the
 * directory's and files' ownership checks, the limit against the file system, the layout
 * that fits the limit, building or reusing the index, and closing.
 * Locking: the index's OFD lock: exclusive while building or checking it (nobody else
 * attached), shared while attached.  Nothing here runs concurrently with another call on
 * the same handle. */
#include <errno.h>
#include <linux/fs.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "disk_cache.h"
#include "disk_hash.h"
#include "disk_index.h"
#include "disk_sys.h"
#include "log.h"

#define BTRFS_MAGIC 0x9123683e

/* Refuse what another user could write to or own. */
static int check_owner(struct disk_cache *dc, const struct stat *st, const char *what)
{
    if (st->st_uid != geteuid()) {
        log_warn("disk cache %s: %s is owned by uid %u, not %u; refused, going on without it",
                 dc->dir, what, (unsigned)st->st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st->st_mode & 022) {
        log_warn("disk cache %s: %s is writable by group or others (mode %03o); refused, going "
                 "on without it", dc->dir, what, (unsigned)(st->st_mode & 0777));
        return -1;
    }
    return 0;
}

static int open_dir(struct disk_cache *dc)
{
    if (sys_mkdirat(AT_FDCWD, dc->dir, 0700) < 0 && errno != EEXIST) {
        log_warn("disk cache %s: cannot create it: %s; going on without it", dc->dir,
                 strerror(errno));
        return -1;
    }
    dc->dirfd = sys_openat(AT_FDCWD, dc->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    struct stat st;
    if (dc->dirfd < 0) {
        int err = errno;
        bool link = sys_lstat(dc->dir, &st) == 0 && S_ISLNK(st.st_mode);
        log_warn("disk cache %s: %s; refused, going on without it", dc->dir,
                 link ? "is a symbolic link" : strerror(err));
        return -1;
    }
    if (sys_fstat(dc->dirfd, &st) < 0) {
        log_warn("disk cache %s: %s; going on without it", dc->dir, strerror(errno));
        return -1;
    }
    return check_owner(dc, &st, "the directory");
}

static int open_file(struct disk_cache *dc, const char *name)
{
    int fd = sys_openat(dc->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
    if (fd < 0) {
        log_warn("disk cache %s: %s: %s; going on without it", dc->dir, name,
                 errno == ELOOP ? "is a symbolic link, refused" : strerror(errno));
        return -1;
    }
    struct stat st;
    char what[64];
    snprintf(what, sizeof what, "its file %s", name);
    if (sys_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        log_warn("disk cache %s: %s is not a plain file with one link; refused, going on "
                 "without it", dc->dir, name);
        sys_close(fd);
        return -1;
    }
    if (check_owner(dc, &st, what)) {
        sys_close(fd);
        return -1;
    }
    return fd;
}

static uint64_t round_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

static uint32_t buckets_for(uint32_t nslots)
{
    uint32_t b = 1;
    while (b < nslots)
        b <<= 1;
    return b;
}

static uint64_t index_bytes(uint32_t nslots)
{
    return round_up(DC_HEADER_SIZE + (uint64_t)nslots * sizeof(struct dc_slot) +
                    (uint64_t)buckets_for(nslots) * sizeof(uint32_t), 4096);
}

/* Blocks a file system may add for extents as written chunks split the preallocated
 * (unwritten) extents: at most two new extents per chunk, hundreds per 4 KiB block. */
static uint64_t extent_margin(uint32_t nslots)
{
    return ((uint64_t)nslots / 128 + 4) * 4096;
}

/* What a file takes: in allocated bytes and in apparent size. */
static void add_usage(int fd, uint64_t *alloc, uint64_t *apparent)
{
    struct stat st;
    if (sys_fstat(fd, &st) == 0) {
        *alloc += (uint64_t)st.st_blocks * 512;
        *apparent += (uint64_t)st.st_size;
    }
}

static uint64_t usage(struct disk_cache *dc)
{
    uint64_t alloc = 0, apparent = 0;
    add_usage(dc->dirfd, &alloc, &apparent);
    add_usage(dc->index_fd, &alloc, &apparent);
    add_usage(dc->slab_fd, &alloc, &apparent);
    return alloc > apparent ? alloc : apparent;
}

/* The most slots whose files fit the limit, with the directory and the extent margin. */
static uint32_t slots_for(uint64_t limit, uint32_t chunk, uint64_t dir_cost)
{
    uint64_t n = limit / chunk;
    if (n > UINT32_MAX / 2)
        n = UINT32_MAX / 2;
    while (n > 0) {
        uint64_t cost = index_bytes((uint32_t)n) + n * chunk + extent_margin((uint32_t)n) +
                        dir_cost;
        if (cost <= limit)
            break;
        uint64_t over = (cost - limit) / (chunk + sizeof(struct dc_slot));
        n -= over ? over : 1;
    }
    return (uint32_t)n;
}

/* The limit in force: the asked one (or the default), no more than the file system can
 * hold: its free space plus what the cache's files hold already, less a tenth. */
static uint64_t effective_limit(struct disk_cache *dc, uint64_t limit, bool *btrfs)
{
    struct statfs fs;
    if (sys_fstatfs(dc->dirfd, &fs) < 0)
        return limit ? limit : (uint64_t)64 * dc->chunk_size;
    *btrfs = (unsigned long)fs.f_type == BTRFS_MAGIC;
    uint64_t unit = fs.f_frsize ? (uint64_t)fs.f_frsize : (uint64_t)fs.f_bsize;
    uint64_t mine = 0, apparent = 0;
    add_usage(dc->index_fd, &mine, &apparent);
    add_usage(dc->slab_fd, &mine, &apparent);
    uint64_t room = (uint64_t)fs.f_bavail * unit + mine;
    uint64_t cap = room - room / 10;
    if (!limit) {
        limit = room / 4 < DEFAULT_MAX ? room / 4 : DEFAULT_MAX;
        if (limit < (uint64_t)64 * dc->chunk_size)
            limit = (uint64_t)64 * dc->chunk_size;
    }
    if (limit > cap) {
        log_warn("disk cache %s: limit %llu bytes is more than the file system can hold; "
                 "using %llu", dc->dir, (unsigned long long)limit, (unsigned long long)cap);
        limit = cap;
    }
    return limit;
}

static int header_problem(struct disk_cache *dc, const struct dc_header *h, const char **why)
{
    struct stat si, ss;
    if (sys_fstat(dc->index_fd, &si) < 0 || sys_fstat(dc->slab_fd, &ss) < 0) {
        *why = "cannot stat its files";
        return -1;
    }
    if (si.st_size == 0) {
        *why = NULL; /* new */
        return -1;
    }
    *why = "its index is of another format";
    if ((size_t)si.st_size < sizeof *h || memcmp(h->magic, DC_MAGIC, 8) != 0 ||
        h->format != DC_FORMAT || h->header_size != DC_HEADER_SIZE ||
        h->slot_size != sizeof(struct dc_slot))
        return -1;
    *why = "its index is damaged";
    if (h->header_crc != crc32c(0, h, offsetof(struct dc_header, header_crc)) ||
        h->chunk_size < 4096 || h->chunk_size % 4096 || h->nslots == 0 ||
        h->nbuckets != buckets_for(h->nslots) || h->index_size < index_bytes(h->nslots))
        return -1;
    *why = "its files were truncated or resized";
    if ((uint64_t)si.st_size != h->index_size || (uint64_t)ss.st_size != h->slab_size ||
        h->slab_size != (uint64_t)h->nslots * h->chunk_size)
        return -1;
    return 0;
}

static int map_index(struct disk_cache *dc, uint64_t index_size)
{
    void *p = sys_mmap_shared(dc->index_fd, index_size);
    if (p == MAP_FAILED) {
        log_warn("disk cache %s: cannot map its index: %s; going on without it", dc->dir,
                 strerror(errno));
        return -1;
    }
    dc->h = p;
    dc->map_len = index_size;
    return 0;
}

static void local_map_free(struct disk_cache *dc)
{
    if (dc->local_mem)
        sys_munmap(dc->local_mem, dc->local_len);
    dc->local_mem = NULL;
    dc->local = NULL;
}

static void use_mapping(struct disk_cache *dc)
{
    dc->nslots = dc->h->nslots;
    dc->bucket_mask = dc->h->nbuckets - 1;
    dc->slots = (struct dc_slot *)((char *)dc->h + DC_HEADER_SIZE);
    dc->buckets = (uint32_t *)(dc->slots + dc->nslots);
    dc->limit = dc->h->limit;
    free(dc->stored);
    /* Lazily touched; NULL: disk_cache_read_at knows no own chunk. */
    dc->stored = calloc(dc->nslots, sizeof *dc->stored);
    local_map_free(dc);
    uint32_t n = 2; /* two ways at least (disk_cache.c, local_put) */
    while (n < dc->nslots && n < DC_LOCAL_MAX)
        n <<= 1;
    /* Anonymous memory, its pages touched as used (no huge pages: the first write to one
     * zeroes 2 MiB, a cost every process paid at its first read, for no measurable gain
     * on reads at random); NULL: every read locks. */
    size_t len = (size_t)n * sizeof *dc->local;
    void *p = sys_mmap_anon(len);
    if (p != MAP_FAILED) {
        dc->local_mem = p;
        dc->local_len = len;
        dc->local = p;
    }
    dc->local_mask = n - 1;
}

static int init_lock(struct disk_cache *dc)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&dc->h->lock, &a);
    pthread_mutexattr_destroy(&a);
    if (rc)
        log_warn("disk cache %s: cannot set up its lock: %s; going on without it", dc->dir,
                 strerror(rc));
    return rc ? -1 : 0;
}

static int allocate(struct disk_cache *dc, int fd, uint64_t len, const char *name)
{
    if (sys_fallocate(fd, 0, (off_t)len) == 0)
        return 0;
    log_warn("disk cache %s: cannot allocate %llu bytes for %s: %s; going on without it",
             dc->dir, (unsigned long long)len, name, strerror(errno));
    return -1;
}

/* Build an empty index for the limit (the index to ourselves). */
static int build(struct disk_cache *dc, uint64_t limit, bool btrfs)
{
    sys_ftruncate(dc->index_fd, 0);
    sys_ftruncate(dc->slab_fd, 0);
    if (btrfs) { /* overwrites in place, so the preallocation holds */
        int nocow = FS_NOCOW_FL;
        sys_ioctl(dc->index_fd, FS_IOC_SETFLAGS, &nocow);
        sys_ioctl(dc->slab_fd, FS_IOC_SETFLAGS, &nocow);
    }
    uint64_t dir_alloc = 0, dir_apparent = 0;
    add_usage(dc->dirfd, &dir_alloc, &dir_apparent);
    uint64_t dir_cost = (dir_alloc > dir_apparent ? dir_alloc : dir_apparent) + 4096;
    uint32_t n = slots_for(limit, dc->chunk_size, dir_cost);
    if (n < 4) {
        log_warn("disk cache %s: limit %llu bytes holds fewer than 4 chunks of %u; going on "
                 "without it", dc->dir, (unsigned long long)limit, dc->chunk_size);
        return -1;
    }
    uint64_t isize = index_bytes(n);
    if (allocate(dc, dc->index_fd, isize, "its index") ||
        allocate(dc, dc->slab_fd, (uint64_t)n * dc->chunk_size, "its slab"))
        goto fail;
    /* The file system may charge more than the sizes (metadata): measured, and the slab
     * shrunk until everything fits. */
    for (int round = 0; round < 8; round++) {
        uint64_t total = usage(dc) + extent_margin(n);
        if (total <= limit)
            break;
        uint64_t over = (total - limit + dc->chunk_size - 1) / dc->chunk_size;
        if (over >= n - 3 || round == 7) {
            log_warn("disk cache %s: the file system charges more than the limit allows; "
                     "going on without it", dc->dir);
            goto fail;
        }
        n -= (uint32_t)over;
        sys_ftruncate(dc->slab_fd, (off_t)n * dc->chunk_size);
    }
    if (map_index(dc, isize))
        goto fail;
    struct dc_header *h = dc->h;
    memset(h, 0, DC_HEADER_SIZE);
    h->format = DC_FORMAT;
    h->header_size = DC_HEADER_SIZE;
    h->slot_size = sizeof(struct dc_slot);
    h->chunk_size = dc->chunk_size;
    h->nslots = n;
    h->nbuckets = buckets_for(n);
    h->index_size = isize;
    h->slab_size = (uint64_t)n * dc->chunk_size;
    h->limit = limit;
    if (sys_getrandom(h->secret, sizeof h->secret) != (ssize_t)sizeof h->secret) {
        log_warn("disk cache %s: no random bytes for its key: %s; going on without it",
                 dc->dir, strerror(errno));
        goto fail;
    }
    use_mapping(dc);
    memset(dc->slots, 0, (size_t)n * sizeof *dc->slots);
    if (init_lock(dc))
        goto fail;
    disk_index_repair(dc, true);
    memcpy(h->magic, DC_MAGIC, 8);
    h->header_crc = crc32c(0, h, offsetof(struct dc_header, header_crc));
    return 0;
fail:
    sys_ftruncate(dc->index_fd, 0);
    sys_ftruncate(dc->slab_fd, 0);
    return -1;
}

/* With the index to ourselves: did the last process detach cleanly, in this boot, with
 * no slot FILLING, and nobody dying holding the lock since (the robust mutex says so:
 * EOWNERDEAD, or EBUSY for a lock word from before a reboot)?  Then the lists and chains
 * are whole, and a stale pin or fill is cleared where it is met (I4): no repair pass over
 * every slot.  The mark is cleared either way, so that a process killed from now on
 * makes the next opener repair. */
static bool left_clean(struct disk_cache *dc)
{
    struct dc_header *h = dc->h;
    bool clean = __atomic_exchange_n(&h->clean, 0, __ATOMIC_ACQ_REL) == DC_CLEAN &&
                 h->clean_boot == disk_boot_id() && h->clean_boot != 0 && h->n_filling == 0;
    int rc = pthread_mutex_trylock(&h->lock);
    if (rc == EOWNERDEAD) { /* ours now: hand it back whole before it is set up again */
        pthread_mutex_consistent(&h->lock);
        pthread_mutex_unlock(&h->lock);
        return false;
    }
    if (rc == 0)
        pthread_mutex_unlock(&h->lock);
    return clean && rc == 0; /* else the caller sets the lock up again and repairs */
}

/* With the index to ourselves: reuse it when it is sound and fits the limit, else
 * rebuild it. */
static int build_or_reuse(struct disk_cache *dc, uint64_t asked)
{
    bool btrfs = false;
    uint64_t limit = effective_limit(dc, asked, &btrfs);
    struct dc_header h;
    memset(&h, 0, sizeof h);
    ssize_t r = sys_pread(dc->index_fd, &h, sizeof h, 0);
    const char *why = NULL;
    if (r < 0 || header_problem(dc, &h, &why) == 0) {
        uint32_t want = slots_for(limit, dc->chunk_size, 8192);
        if (r >= 0 && h.chunk_size == dc->chunk_size && h.nslots <= want &&
            h.nslots >= want - want / 16 && h.index_size + h.slab_size <= limit) {
            if (map_index(dc, h.index_size))
                return -1;
            use_mapping(dc);
            if (left_clean(dc))
                return 0;
            if (init_lock(dc))
                return -1;
            disk_index_repair(dc, true);
            return 0;
        }
        why = "its layout does not match the limit or chunk size";
    }
    if (why)
        log_warn("disk cache %s: %s; rebuilding it empty", dc->dir, why);
    return build(dc, limit, btrfs);
}

/* Another process has the index open (or, for disk_cache_attach, had it): use its
 * layout once it is built. */
static int adopt(struct disk_cache *dc)
{
    uint64_t until = now_ms() + OPEN_WAIT_MS;
    while (sys_ofd_lock(dc->index_fd, F_RDLCK) < 0) {
        if ((errno != EAGAIN && errno != EACCES) || now_ms() >= until) {
            log_warn("disk cache %s: cannot share its index: %s; going on without it",
                     dc->dir, errno == EAGAIN || errno == EACCES ? "busy" : strerror(errno));
            return -1;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    struct dc_header h;
    const char *why = NULL;
    if (sys_pread(dc->index_fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
        header_problem(dc, &h, &why) || h.chunk_size != dc->chunk_size) {
        log_warn("disk cache %s: in use by another process with %s; going on without it",
                 dc->dir, why ? why : "another chunk size");
        return -1;
    }
    if (map_index(dc, h.index_size))
        return -1;
    use_mapping(dc);
    /* Attached beside a process that may be detaching: its mark would outlive it. */
    __atomic_store_n(&dc->h->clean, 0, __ATOMIC_RELEASE);
    return 0;
}

/* A handle on dir with its directory and files opened and checked (slab_fd < 0 when
 * that failed, logged), or NULL. */
static struct disk_cache *handle_new(const char *dir)
{
    struct disk_cache *dc = calloc(1, sizeof *dc);
    if (!dc)
        return NULL;
    dc->dirfd = dc->index_fd = dc->slab_fd = -1;
    snprintf(dc->dir, sizeof dc->dir, "%s", dir);
    disk_cache_set_leases(dc, PIN_LEASE_MS, FILL_LEASE_MS);
    if (open_dir(dc) == 0 && (dc->index_fd = open_file(dc, "index")) >= 0)
        dc->slab_fd = open_file(dc, "slab");
    return dc;
}

struct disk_cache *disk_cache_open(const char *dir, uint64_t limit, uint32_t chunk_size)
{
    if (!dir || !*dir || strlen(dir) >= PATH_MAX || chunk_size < 4096 || chunk_size % 4096 ||
        chunk_size > (1u << 30)) {
        log_warn("disk cache: bad directory or chunk size %u; going on without it", chunk_size);
        return NULL;
    }
    struct disk_cache *dc = handle_new(dir);
    if (!dc)
        return NULL;
    dc->chunk_size = chunk_size;
    if (dc->slab_fd < 0)
        goto fail;
    if (sys_ofd_lock(dc->index_fd, F_WRLCK) == 0) {
        if (build_or_reuse(dc, limit) || sys_ofd_lock(dc->index_fd, F_RDLCK) < 0)
            goto fail;
    } else if (adopt(dc)) {
        goto fail;
    }
    dc->opener = (int32_t)getpid();
    return dc;
fail:
    disk_cache_close(dc);
    return NULL;
}

struct disk_cache *disk_cache_attach(const char *dir)
{
    struct stat st;
    char index[PATH_MAX + 8];
    snprintf(index, sizeof index, "%s/index", dir ? dir : "");
    if (!dir || !*dir || strlen(dir) >= PATH_MAX || sys_lstat(index, &st) < 0 ||
        st.st_size < DC_HEADER_SIZE) {
        log_warn("disk cache %s: there is no cache there", dir ? dir : "");
        return NULL;
    }
    struct disk_cache *dc = handle_new(dir);
    if (!dc)
        return NULL;
    struct dc_header h;
    if (dc->slab_fd < 0 || sys_pread(dc->index_fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        goto fail;
    dc->chunk_size = h.chunk_size; /* checked by adopt's header_problem */
    if (adopt(dc))
        goto fail;
    return dc;
fail:
    disk_cache_close(dc);
    return NULL;
}

void disk_cache_close(struct disk_cache *dc)
{
    if (!dc)
        return;
    if (dc->h)
        sys_munmap(dc->h, dc->map_len);
    if (dc->slab_fd >= 0)
        sys_close(dc->slab_fd);
    if (dc->index_fd >= 0)
        sys_close(dc->index_fd);
    if (dc->dirfd >= 0)
        sys_close(dc->dirfd);
    free(dc->stored);
    local_map_free(dc);
    free(dc);
}
