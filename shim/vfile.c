/* vfile.c: see vfile.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "object.h"
#include "path.h"
#include "vfile.h"

#define RECORD_MAGIC 0x52494f31u /* "RIO1" */
#define MEMFD_NAME "remoteio"
#define MEMFD_LINK "/memfd:" MEMFD_NAME " (deleted)"

/* The shared part, at the start of the memfd. */
struct record {
    uint32_t magic;
    uint32_t length;         /* of the whole record, strings included */
    _Atomic int64_t offset;  /* the file offset */
    _Atomic int32_t flags;   /* status flags as F_GETFL reports them */
    int32_t reserved;
    int64_t size;
    uint32_t path_len, url_len, etag_len, lm_len;
    char strings[];          /* path, url, etag, last-modified; each NUL-terminated */
};

struct vfile {
    atomic_int refs;
    struct object *obj;
    struct record *rec;
    size_t rec_len;
};

static const char *rec_string(const struct record *r, int which)
{
    const char *s = r->strings;
    uint32_t lens[4] = { r->path_len, r->url_len, r->etag_len, r->lm_len };
    for (int i = 0; i < which; i++)
        s += lens[i] + 1;
    return s;
}

/* Makes the memfd with its record, and the O_PATH descriptor the program will see. */
static int make_placeholder(struct vfile *v, const char *path, struct object *obj, int flags)
{
    const char *strs[4] = { path, object_url(obj), object_etag(obj), object_last_modified(obj) };
    size_t lens[4], total = sizeof(struct record);
    for (int i = 0; i < 4; i++) {
        lens[i] = strlen(strs[i]);
        total += lens[i] + 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t map_len = (total + (size_t)page - 1) & ~((size_t)page - 1);
    int mfd = (int)syscall(SYS_memfd_create, MEMFD_NAME, MFD_CLOEXEC);
    if (mfd < 0)
        return -1;
    /* Sparse up to the object's size, so that even a raw fstat shows the right size. */
    int64_t fsize = object_size(obj) > (int64_t)map_len ? object_size(obj) : (int64_t)map_len;
    struct record *r = MAP_FAILED;
    if (syscall(SYS_ftruncate, mfd, fsize) == 0)
        r = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (r == MAP_FAILED) {
        int e = errno;
        syscall(SYS_close, mfd);
        errno = e;
        return -1;
    }
    r->magic = RECORD_MAGIC;
    r->length = (uint32_t)total;
    atomic_store(&r->offset, 0);
    atomic_store(&r->flags, O_RDONLY | (flags & (O_NONBLOCK | O_APPEND | O_DIRECT | O_NOATIME |
                                                 O_LARGEFILE | O_SYNC | O_DSYNC)));
    r->size = object_size(obj);
    r->path_len = (uint32_t)lens[0];
    r->url_len = (uint32_t)lens[1];
    r->etag_len = (uint32_t)lens[2];
    r->lm_len = (uint32_t)lens[3];
    char *s = r->strings;
    for (int i = 0; i < 4; i++) {
        memcpy(s, strs[i], lens[i] + 1);
        s += lens[i] + 1;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", mfd);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, proc, O_PATH | (flags & O_CLOEXEC));
    int e = errno;
    syscall(SYS_close, mfd);
    if (fd < 0) {
        munmap(r, map_len);
        errno = e == ENOENT ? EIO : e; /* no /proc */
        return -1;
    }
    v->rec = r;
    v->rec_len = map_len;
    return fd;
}

int vfile_open(const char *path, const struct mapping *m, const char *rest, int flags)
{
    char *url = m->prefix ? url_append_path(m->url, rest) : strdup(m->url);
    if (!url) {
        errno = ENOMEM;
        return -1;
    }
    struct map_options opt = config_mapping_options(&config, m);
    struct object *obj = object_open(path, url, &opt);
    free(url);
    if (!obj)
        return -1;
    struct vfile *v = calloc(1, sizeof *v);
    if (!v) {
        object_unref(obj);
        errno = ENOMEM;
        return -1;
    }
    v->obj = obj;
    int fd = make_placeholder(v, path, obj, flags);
    if (fd < 0 || fd >= FDTABLE_SIZE) {
        int e = fd < 0 ? errno : EMFILE;
        if (fd >= 0)
            syscall(SYS_close, fd);
        if (v->rec)
            munmap(v->rec, v->rec_len);
        object_unref(obj);
        free(v);
        errno = e;
        return -1;
    }
    atomic_init(&v->refs, 0);
    struct vfile *old = fdtable_set(fd, v);
    if (old) /* a stale slot for a number the kernel had free: cannot happen, but be safe */
        vfile_unref(old);
    log_debug("open %s -> fd %d", path, fd);
    return fd;
}

void vfile_ref(struct vfile *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void vfile_unref(struct vfile *v)
{
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (v->obj)
        object_unref(v->obj);
    munmap(v->rec, v->rec_len);
    free(v);
}

struct object *vfile_object(const struct vfile *v)
{
    return v->obj;
}

ssize_t vfile_pread(struct vfile *v, void *buf, size_t len, int64_t offset)
{
    if (!v->obj) {
        errno = EIO;
        return -1;
    }
    return object_pread(v->obj, buf, len, offset);
}

/* Like the kernel, a read claims its range of the offset before reading, so concurrent
 * read() calls on one description get consecutive, non-overlapping data.  A short read
 * (EOF) or a failure gives back what it did not use when nobody moved the offset since. */
int64_t vfile_claim(struct vfile *v, size_t len)
{
    return atomic_fetch_add(&v->rec->offset, (int64_t)len);
}

void vfile_settle(struct vfile *v, int64_t pos, size_t len, ssize_t used)
{
    if (used < 0)
        used = 0;
    if ((size_t)used == len)
        return;
    int64_t expect = pos + (int64_t)len;
    int e = errno;
    atomic_compare_exchange_strong(&v->rec->offset, &expect, pos + used);
    errno = e;
}

ssize_t vfile_read(struct vfile *v, void *buf, size_t len)
{
    if (len > 0x7ffff000)
        len = 0x7ffff000;
    int64_t pos = vfile_claim(v, len);
    ssize_t n = vfile_pread(v, buf, len, pos);
    vfile_settle(v, pos, len, n);
    return n;
}

int64_t vfile_lseek(struct vfile *v, int64_t offset, int whence)
{
    int64_t size = v->rec->size, base, pos;
    for (;;) {
        int64_t cur = atomic_load(&v->rec->offset);
        switch (whence) {
        case SEEK_SET: base = 0; break;
        case SEEK_CUR: base = cur; break;
        case SEEK_END: base = size; break;
        case SEEK_DATA:
        case SEEK_HOLE:
            if (offset < 0 || offset >= size) {
                errno = offset < 0 ? EINVAL : ENXIO;
                return -1;
            }
            base = 0;
            break;
        default: errno = EINVAL; return -1;
        }
        if (__builtin_add_overflow(base, offset, &pos) || pos < 0) {
            errno = EINVAL;
            return -1;
        }
        if (whence == SEEK_HOLE)
            pos = size; /* all data: the only hole is at the end */
        if (atomic_compare_exchange_strong(&v->rec->offset, &cur, pos))
            return pos;
    }
}

int64_t vfile_offset(const struct vfile *v)
{
    return atomic_load(&v->rec->offset);
}

int vfile_status_flags(const struct vfile *v)
{
    return atomic_load(&v->rec->flags);
}

void vfile_set_status_flags(struct vfile *v, int flags)
{
    /* F_SETFL changes only these, as on a real file. */
    int changeable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC;
    int old = atomic_load(&v->rec->flags);
    atomic_store(&v->rec->flags, (old & ~changeable) | (flags & changeable));
}

void vfile_adopt(int fd)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int mfd = (int)syscall(SYS_openat, AT_FDCWD, proc, O_RDWR | O_CLOEXEC);
    if (mfd < 0)
        return;
    struct record head;
    struct record *r = MAP_FAILED;
    size_t map_len = 0;
    if (syscall(SYS_pread64, mfd, &head, sizeof head, 0) == (long)sizeof head &&
        head.magic == RECORD_MAGIC && head.length < (1u << 20)) {
        long page = sysconf(_SC_PAGESIZE);
        map_len = (head.length + (size_t)page - 1) & ~((size_t)page - 1);
        r = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    }
    syscall(SYS_close, mfd);
    if (r == MAP_FAILED)
        return;
    size_t strings = (size_t)r->path_len + r->url_len + r->etag_len + r->lm_len + 4;
    if (sizeof *r + strings > r->length) {
        munmap(r, map_len);
        return;
    }
    struct vfile *v = calloc(1, sizeof *v);
    if (!v) {
        munmap(r, map_len);
        return;
    }
    v->rec = r;
    v->rec_len = map_len;
    const char *path = rec_string(r, 0), *url = rec_string(r, 1);
    const char *rest;
    const struct mapping *m = config_match(&config, path, &rest);
    struct map_options opt = m ? config_mapping_options(&config, m) : config.defaults;
    v->obj = object_adopt(path, url, &opt, r->size, rec_string(r, 2), rec_string(r, 3));
    if (!v->obj)
        log_error("%s: inherited descriptor %d cannot be re-attached; its reads fail", path, fd);
    atomic_init(&v->refs, 0);
    fdtable_set(fd, v);
    log_debug("fd %d: inherited %s", fd, path);
}

int vfile_find_inherited(int *out, int max)
{
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
                           O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return 0;
    char buf[4096];
    int found[256];
    int nfound = 0, n_out = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            char *end;
            long fd = strtol(d->d_name, &end, 10);
            if (*end || end == d->d_name || fd == dir || fd >= FDTABLE_SIZE)
                continue;
            char proc[64], link[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
            long l = syscall(SYS_readlinkat, AT_FDCWD, proc, link, sizeof link - 1);
            if (l <= 0)
                continue;
            link[l] = '\0';
            if (strcmp(link, MEMFD_LINK) == 0 && nfound < 256)
                found[nfound++] = (int)fd;
        }
    }
    syscall(SYS_close, dir);
    for (int i = 0; i < nfound; i++) {
        /* Only O_PATH descriptors are ours: a program's own memfd named alike is not. */
        long fl = syscall(SYS_fcntl, found[i], F_GETFL);
        if (fl >= 0 && (fl & O_PATH) && n_out < max)
            out[n_out++] = found[i];
    }
    return n_out;
}
