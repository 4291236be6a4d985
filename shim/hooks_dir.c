/* hooks_dir.c: directory streams and getdents64 on virtual directories (vdir.h).
 *
 * opendir of a directory under an s3:// prefix mapping (and of the mapping's own
 * directory when nothing real is there), and fdopendir of a virtual directory's
 * descriptor (what gnulib's fts in find and du do after openat O_DIRECTORY), give a
 * stream of ours; readdir, readdir64, readdir_r, readdir64_r, telldir, seekdir,
 * rewinddir, dirfd and closedir serve it from the vdir's snapshot, and pass any other
 * stream to libc.  getdents64 on a virtual directory's descriptor packs the same entries
 * as the kernel would, and scandir/scandir64 (whose glibc versions call glibc's own
 * opendir, which no hook sees) read our streams.  A plain HTTP prefix mapping has no listing: its opendir fails as
 * libc's does (ENOENT), and open with O_DIRECTORY with ENOTDIR.
 *
 * Our streams are told from libc's by a list of them (one mutex, held for the lookup
 * only); while none is open a stream call costs one atomic load more than libc's.
 * Two threads must not use one stream at once (POSIX says the same of libc's); the
 * vdir's position has its own lock, shared with the descriptor's duplicates. */
#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "shim.h"
#include "vdir.h"
#include "vfd.h"
#include "vpath.h"

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64) &&
                   offsetof(struct dirent, d_name) == offsetof(struct dirent64, d_name),
               "dirent and dirent64 differ");

struct vstream {
    struct vstream *next;
    int fd;
    struct vdir *d;
    struct dirent64 ent;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER; /* guards streams */
static struct vstream *streams;
static atomic_int nstreams;

static struct vstream *ours(DIR *dp)
{
    if (__builtin_expect(atomic_load_explicit(&nstreams, memory_order_acquire) == 0, 1) || !dp)
        return NULL;
    pthread_mutex_lock(&streams_lock);
    struct vstream *s = streams;
    while (s && (DIR *)s != dp)
        s = s->next;
    pthread_mutex_unlock(&streams_lock);
    return s;
}

/* fork: streams_lock is taken before and released after (registered at the first
 * stream), so that a child never inherits it held. */
static void lock_streams(void)
{
    pthread_mutex_lock(&streams_lock);
}

static void unlock_streams(void)
{
    pthread_mutex_unlock(&streams_lock);
}

static void register_atfork(void)
{
    pthread_atfork(lock_streams, unlock_streams, unlock_streams);
}

/* A stream of ours on the virtual directory descriptor fd; on failure NULL, and fd
 * closed when close_on_failure. */
static DIR *stream_on(int fd, bool close_on_failure)
{
    if (fd < 0)
        return NULL;
    struct vdir *d = vdir_get(fd);
    struct vstream *s = d ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        int e = d ? ENOMEM : EBADF;
        vdir_unref(d);
        if (close_on_failure)
            vfd_close(fd);
        errno = e;
        return NULL;
    }
    s->fd = fd;
    s->d = d;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    pthread_mutex_lock(&streams_lock);
    s->next = streams;
    streams = s;
    atomic_fetch_add(&nstreams, 1);
    pthread_mutex_unlock(&streams_lock);
    return (DIR *)s;
}

/* A stream of ours when path is a directory of an s3:// prefix mapping (*ours set;
 * NULL with errno when it cannot be opened), else NULL with *ours false. */
static DIR *open_ours(const char *path, bool *ours)
{
    int saved = errno, fd, err;
    struct vpath vp;
    *ours = vpath_match(AT_FDCWD, path, &vp, &err) && vdir_listable(vp.map);
    if (!*ours)
        return NULL;
    if (!vfd_open(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, &fd) || fd < 0)
        return NULL;
    DIR *dp = stream_on(fd, true);
    if (dp)
        errno = saved;
    return dp;
}

/* libc found nothing at path: a prefix mapping's own directory, as a stream of ours
 * (*ours set), when the mapping has listings. */
static DIR *open_root(const char *path, int saved, bool *ours)
{
    int fd;
    *ours = errno == ENOENT && config.nmaps &&
            vfd_open_root(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, &fd);
    if (!*ours)
        return NULL;
    DIR *dp = stream_on(fd, true);
    if (dp)
        errno = saved;
    return dp;
}

EXPORT DIR *opendir(const char *path)
{
    bool ours;
    int saved = errno;
    DIR *dp = open_ours(path, &ours);
    if (ours)
        return dp;
    dp = REAL(opendir)(path);
    if (!dp) {
        DIR *root = open_root(path, saved, &ours);
        if (ours)
            return root;
    }
    return dp;
}

EXPORT DIR *fdopendir(int fd)
{
    if (__builtin_expect(!fd_is_vdir(fd), 1))
        return REAL(fdopendir)(fd);
    int saved = errno;
    DIR *dp = stream_on(fd, false);
    if (dp)
        errno = saved;
    return dp;
}

/* vdir_read's callback for one entry: the first fills the dirent, the next stops. */
struct one {
    struct dirent64 *ent;
    bool done;
};

static bool put_one(void *arg, const struct vdir_entry *e, size_t index)
{
    struct one *o = arg;
    if (o->done)
        return false;
    struct dirent64 *ent = o->ent;
    size_t len = strlen(e->name); /* at most NAME_MAX: vdir.c skips longer names */
    ent->d_ino = e->ino;
    ent->d_off = (off64_t)index + 1;
    ent->d_reclen = (unsigned short)sizeof *ent;
    ent->d_type = e->type;
    memcpy(ent->d_name, e->name, len + 1);
    o->done = true;
    return true;
}

/* The stream's next entry into ent, or NULL at the end (errno kept). */
static struct dirent64 *next_entry(struct vstream *s, struct dirent64 *ent)
{
    struct one o = { .ent = ent, .done = false };
    return vdir_read(s->d, put_one, &o) ? ent : NULL;
}

EXPORT struct dirent *readdir(DIR *dp)
{
    struct vstream *s = ours(dp);
    if (!s)
        return REAL(readdir)(dp);
    return (struct dirent *)next_entry(s, &s->ent);
}

EXPORT struct dirent64 *readdir64(DIR *dp)
{
    struct vstream *s = ours(dp);
    if (!s)
        return REAL(readdir64)(dp);
    return next_entry(s, &s->ent);
}

/* readdir_r of libc's streams: readdir (whose stream has its own lock) and a copy. */
static int copy_next(DIR *dp, void *entry, void **result, bool wide)
{
    int saved = errno;
    errno = 0;
    void *e = wide ? (void *)REAL(readdir64)(dp) : (void *)REAL(readdir)(dp);
    int err = errno;
    errno = saved;
    *result = NULL;
    if (!e)
        return err;
    memcpy(entry, e, ((struct dirent64 *)e)->d_reclen < sizeof(struct dirent64)
                         ? ((struct dirent64 *)e)->d_reclen : sizeof(struct dirent64));
    *result = entry;
    return 0;
}

EXPORT int readdir_r(DIR *dp, struct dirent *entry, struct dirent **result)
{
    struct vstream *s = ours(dp);
    if (!s)
        return copy_next(dp, entry, (void **)result, false);
    *result = (struct dirent *)next_entry(s, (struct dirent64 *)entry);
    return 0;
}

EXPORT int readdir64_r(DIR *dp, struct dirent64 *entry, struct dirent64 **result)
{
    struct vstream *s = ours(dp);
    if (!s)
        return copy_next(dp, entry, (void **)result, true);
    *result = next_entry(s, entry);
    return 0;
}

EXPORT int closedir(DIR *dp)
{
    struct vstream *s = ours(dp);
    if (!s)
        return REAL(closedir)(dp);
    pthread_mutex_lock(&streams_lock);
    struct vstream **pp = &streams;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    atomic_fetch_sub(&nstreams, 1);
    pthread_mutex_unlock(&streams_lock);
    int saved = errno;
    vdir_unref(s->d);
    int rc = fd_is_vdir(s->fd) ? vfd_close(s->fd) : 0; /* unless the program closed it */
    free(s);
    if (rc == 0)
        errno = saved;
    return rc;
}

EXPORT int dirfd(DIR *dp)
{
    struct vstream *s = ours(dp);
    return s ? s->fd : REAL(dirfd)(dp);
}

EXPORT void rewinddir(DIR *dp)
{
    struct vstream *s = ours(dp);
    if (!s) {
        REAL(rewinddir)(dp);
        return;
    }
    vdir_seek(s->d, 0); /* the same snapshot, from its start */
}

EXPORT long telldir(DIR *dp)
{
    struct vstream *s = ours(dp);
    return s ? (long)vdir_tell(s->d) : REAL(telldir)(dp);
}

EXPORT void seekdir(DIR *dp, long pos)
{
    struct vstream *s = ours(dp);
    if (!s) {
        REAL(seekdir)(dp, pos);
        return;
    }
    vdir_seek(s->d, pos < 0 ? 0 : (size_t)pos);
}

/* getdents64's packing: records 8-byte aligned, d_off the next entry's index. */
struct pack {
    char *buf;
    size_t len, used;
};

static bool put_record(void *arg, const struct vdir_entry *e, size_t index)
{
    struct pack *p = arg;
    size_t namelen = strlen(e->name);
    size_t reclen = (offsetof(struct dirent64, d_name) + namelen + 1 + 7) & ~(size_t)7;
    if (p->used + reclen > p->len)
        return false;
    struct dirent64 *ent = (struct dirent64 *)(p->buf + p->used);
    ent->d_ino = e->ino;
    ent->d_off = (off64_t)index + 1;
    ent->d_reclen = (unsigned short)reclen;
    ent->d_type = e->type;
    memcpy(ent->d_name, e->name, namelen + 1);
    memset(ent->d_name + namelen + 1, 0, reclen - offsetof(struct dirent64, d_name) - namelen - 1);
    p->used += reclen;
    return true;
}

EXPORT ssize_t getdents64(int fd, void *buf, size_t len)
{
    if (__builtin_expect(!fd_is_vdir(fd), 1))
        return REAL(getdents64) ? REAL(getdents64)(fd, buf, len)
                                : (ssize_t)syscall(SYS_getdents64, fd, buf, len);
    struct vdir *d = vdir_get(fd);
    if (!d) {
        errno = EBADF;
        return -1;
    }
    struct pack p = { .buf = buf, .len = len };
    size_t before = vdir_tell(d);
    size_t n = vdir_read(d, put_record, &p);
    bool at_end = before >= vdir_count(d);
    vdir_unref(d);
    if (n == 0 && !at_end) {
        errno = EINVAL; /* not even one record fits, as the kernel says */
        return -1;
    }
    return (ssize_t)p.used;
}

/* scandir of a stream of ours: entries as glibc's scandir makes them (one malloc'd
 * struct each), filtered by sel, sorted with cmp; the stream is closed. */
static int scan_ours(DIR *dp, struct dirent64 ***list, int (*sel)(const struct dirent64 *),
                     int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
    struct vstream *s = ours(dp);
    struct dirent64 **v = NULL, *e;
    size_t n = 0, cap = 0;
    int saved = errno, err = 0;
    while ((e = next_entry(s, &s->ent))) {
        if (sel && !sel(e))
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 64;
            struct dirent64 **nv = c < INT_MAX ? realloc(v, c * sizeof *nv) : NULL;
            if (!nv) {
                err = ENOMEM;
                break;
            }
            v = nv;
            cap = c;
        }
        if (!(v[n] = malloc(sizeof *e))) {
            err = ENOMEM;
            break;
        }
        memcpy(v[n++], e, sizeof *e);
    }
    closedir(dp);
    if (err) {
        while (n)
            free(v[--n]);
        free(v);
        errno = err;
        return -1;
    }
    if (cmp && n > 1)
        qsort(v, n, sizeof *v, (int (*)(const void *, const void *))cmp);
    *list = v;
    errno = saved;
    return (int)n;
}

EXPORT int scandir64(const char *path, struct dirent64 ***list,
                     int (*sel)(const struct dirent64 *),
                     int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
    bool ours;
    int saved = errno;
    DIR *dp = open_ours(path, &ours);
    if (ours)
        return dp ? scan_ours(dp, list, sel, cmp) : -1;
    int rc = REAL(scandir64)(path, list, sel, cmp);
    if (rc < 0) {
        dp = open_root(path, saved, &ours);
        if (ours)
            return dp ? scan_ours(dp, list, sel, cmp) : -1;
    }
    return rc;
}

/* struct dirent is struct dirent64 here (see the assertion above). */
EXPORT int scandir(const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
                   int (*cmp)(const struct dirent **, const struct dirent **))
{
    return scandir64(path, (struct dirent64 ***)list, (int (*)(const struct dirent64 *))sel,
                     (int (*)(const struct dirent64 **, const struct dirent64 **))cmp);
}
