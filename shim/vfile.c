/* vfile.c: see vfile.h.
 *
 * The record holds no secret: the URLs in it are in display form (url.h), so a program
 * without the shim that inherits it learns the path, host and version and nothing
 * else.  A program with the shim takes the URL from its own configuration (the mapping
 * of the recorded path, which must still show as the recorded mapped URL); a URL reached
 * by a redirect is recorded exactly only when it is its own display form, and otherwise
 * found again by a probe of the mapped URL, which must answer with the recorded version.
 *
 * The record memfd is close-on-exec exactly while every descriptor naming it is
 * (vfile_sync_inheritance after each change of the descriptors).  Locking: none of its
 * own; the record's offset and flags are atomics, inheritance changes are serialised by
 * fdtable's lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "object.h"
#include "path.h"
#include "real.h"
#include "url.h"
#include "vfile.h"

#define RECORD_MAGIC 0x52494f33u /* "RIO3" */
#define MEMFD_PREFIX "remoteio:"
#define MEMFD_LINK_PREFIX "/memfd:" MEMFD_PREFIX

/* The record's strings, in this order. */
enum rec_string { REC_PATH, REC_MAPPED, REC_TARGET, REC_ETAG, REC_LM, REC_STRINGS };
/* Where range requests go (record.where), so that no secret need be recorded. */
enum {
    REC_AT_MAPPED = 0, /* the mapped URL itself (REC_TARGET: its display form) */
    REC_AT_TARGET = 1, /* REC_TARGET exactly: a redirect's target with nothing to hide */
    REC_REPROBE = 2,   /* a redirect's target with a secret: probe the mapped URL again */
};

/* The shared part, at the start of the record memfd. */
struct record {
    uint32_t magic;
    uint32_t length;         /* of the whole record, strings included */
    _Atomic int64_t offset;  /* the file offset */
    _Atomic int32_t flags;   /* status flags as F_GETFL reports them */
    int32_t where;           /* REC_*: where range requests go */
    int64_t size;
    uint32_t lens[REC_STRINGS];
    char strings[];          /* see enum rec_string; each NUL-terminated */
};

static atomic_int live_vfiles; /* vfiles in existence */

bool vfile_any_open(void)
{
    return atomic_load_explicit(&live_vfiles, memory_order_relaxed) > 0;
}

struct vfile {
    struct fdtable_entry entry; /* first: the reference count the fd table takes too */
    struct object *obj;      /* NULL: unusable, reads fail with err */
    int err;
    struct record *rec;
    size_t rec_len;
    int record_fd;           /* the memfd; one of the shim's own descriptors */
    unsigned long ino;       /* of the placeholder socket: names the record */
};

static const char *rec_string(const struct record *r, enum rec_string which)
{
    const char *s = r->strings;
    for (int i = 0; i < (int)which; i++)
        s += r->lens[i] + 1;
    return s;
}

/* The URL a mapping gives path's rest; malloc'd. */
static char *mapped_url(const struct mapping *m, const char *rest)
{
    return m->prefix ? url_append_path(m->url, rest) : strdup(m->url);
}

static void close_quietly(int fd)
{
    int e = errno;
    syscall(SYS_close, fd);
    errno = e;
}

/* The descriptor the program sees: O_PATH of a fresh socket inode.  *ino gets the
 * inode number, which names the record. */
static int make_placeholder(int flags, unsigned long *ino)
{
    int sock = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", sock);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, proc, O_PATH | (flags & O_CLOEXEC));
    close_quietly(sock);
    if (fd < 0) {
        if (errno == ENOENT)
            errno = EIO; /* no /proc */
        return -1;
    }
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) < 0) {
        close_quietly(fd);
        return -1;
    }
    *ino = (unsigned long)st.st_ino;
    return fd;
}

/* The record memfd, mapped; inherited across exec unless the descriptor is close-on-exec.
 * mapped is the URL the mapping gives path. */
static int make_record(struct vfile *v, unsigned long ino, const char *path, const char *mapped,
                       int flags)
{
    struct object *obj = v->obj;
    char mapped_shown[4096], target_shown[4096];
    url_display(mapped, mapped_shown, sizeof mapped_shown);
    url_display(object_url(obj), target_shown, sizeof target_shown);
    int32_t where = strcmp(object_url(obj), mapped) == 0 ? REC_AT_MAPPED
                    : strcmp(object_url(obj), target_shown) == 0 ? REC_AT_TARGET
                                                                 : REC_REPROBE;
    const char *strs[REC_STRINGS] = { path, mapped_shown, target_shown, object_etag(obj),
                                      object_last_modified(obj) };
    size_t lens[REC_STRINGS], total = offsetof(struct record, strings);
    for (int i = 0; i < REC_STRINGS; i++) {
        lens[i] = strlen(strs[i]);
        total += lens[i] + 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t map_len = (total + (size_t)page - 1) & ~((size_t)page - 1);
    char name[64];
    snprintf(name, sizeof name, MEMFD_PREFIX "%lu", ino);
    bool cloexec = flags & O_CLOEXEC;
    int mfd = (int)syscall(SYS_memfd_create, name, cloexec ? MFD_CLOEXEC : 0);
    if (mfd < 0)
        return -1;
    mfd = fdtable_move_high(mfd, cloexec);
    struct record *r = MAP_FAILED;
    if (syscall(SYS_ftruncate, mfd, (off_t)map_len) == 0)
        r = REAL(mmap)(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (r == MAP_FAILED) {
        close_quietly(mfd);
        return -1;
    }
    r->magic = RECORD_MAGIC;
    r->length = (uint32_t)total;
    atomic_store(&r->offset, 0);
    atomic_store(&r->flags, O_RDONLY | O_LARGEFILE |
                                (flags & (O_NONBLOCK | O_APPEND | O_DIRECT | O_NOATIME | O_SYNC |
                                          O_DSYNC)));
    r->where = where;
    r->size = object_size(obj);
    char *s = r->strings;
    for (int i = 0; i < REC_STRINGS; i++) {
        r->lens[i] = (uint32_t)lens[i];
        memcpy(s, strs[i], lens[i] + 1);
        s += lens[i] + 1;
    }
    fdtable_mark_internal(mfd);
    v->rec = r;
    v->rec_len = map_len;
    v->record_fd = mfd;
    v->ino = ino;
    return 0;
}

/* A vfile on obj (whose reference it takes) behind a new descriptor. */
static int open_on(struct object *obj, const char *path, const char *mapped, int flags)
{
    struct vfile *v = calloc(1, sizeof *v);
    if (!v) {
        object_unref(obj);
        errno = ENOMEM;
        return -1;
    }
    v->obj = obj;
    v->record_fd = -1;
    unsigned long ino;
    int fd = make_placeholder(flags, &ino);
    if (fd >= 0 && (fd >= FDTABLE_SIZE || make_record(v, ino, path, mapped, flags) < 0)) {
        if (fd >= FDTABLE_SIZE)
            errno = EMFILE;
        close_quietly(fd);
        fd = -1;
    }
    if (fd < 0) {
        object_unref(obj);
        free(v);
        return -1;
    }
    atomic_init(&v->entry.refs, 0);
    atomic_fetch_add(&live_vfiles, 1);
    struct vfile *old = fdtable_set(fd, v);
    if (old) /* a slot the kernel's numbering says is free: cannot happen, but be safe */
        vfile_unref(old);
    log_debug("open %s -> fd %d", path, fd);
    return fd;
}

int vfile_open(const char *path, const struct mapping *m, const char *rest, int flags)
{
    char *url = mapped_url(m, rest);
    if (!url) {
        errno = ENOMEM;
        return -1;
    }
    struct map_options opt = config_mapping_options(&config, m);
    struct object *obj = object_open(path, url, &opt);
    int fd = obj ? open_on(obj, path, url, flags) : -1;
    int e = errno;
    free(url);
    errno = e;
    return fd;
}

int vfile_reopen(struct vfile *v, int flags)
{
    const char *path = rec_string(v->rec, REC_PATH), *rest;
    const struct mapping *m = v->obj ? config_match(&config, path, &rest) : NULL;
    char *url = m ? mapped_url(m, rest) : NULL;
    if (!url) {
        errno = v->obj ? ENOMEM : vfile_error(v);
        return -1;
    }
    object_ref(v->obj);
    int fd = open_on(v->obj, path, url, flags);
    int e = errno;
    free(url);
    errno = e;
    return fd;
}

void vfile_ref(struct vfile *v)
{
    atomic_fetch_add_explicit(&v->entry.refs, 1, memory_order_relaxed);
}

void vfile_unref(struct vfile *v)
{
    if (atomic_fetch_sub_explicit(&v->entry.refs, 1, memory_order_acq_rel) != 1)
        return;
    if (v->obj)
        object_unref(v->obj);
    munmap(v->rec, v->rec_len);
    fdtable_unmark_internal(v->record_fd);
    close_quietly(v->record_fd);
    free(v);
    atomic_fetch_sub(&live_vfiles, 1);
}

struct object *vfile_object(const struct vfile *v)
{
    return v->obj;
}

int vfile_error(const struct vfile *v)
{
    return v->err ? v->err : EIO;
}

ssize_t vfile_pread(struct vfile *v, void *buf, size_t len, int64_t offset)
{
    if (!v->obj) {
        errno = vfile_error(v);
        return -1;
    }
    return object_pread(v->obj, buf, len, offset);
}

ssize_t vfile_preadv(struct vfile *v, const struct iovec *iov, int cnt, int64_t offset)
{
    if (!v->obj) {
        errno = vfile_error(v);
        return -1;
    }
    return object_preadv(v->obj, iov, cnt, offset);
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

/* Inheritance as the kernel sees it (a vfork child shares our slots, not our descriptor
 * table): is any descriptor of the socket inode ino inheritable? */
struct inheritable_namer {
    char want[64];
    bool found;
};

static void each_fd(void (*visit)(int fd, const char *link, void *arg), void *arg);

static void find_inheritable(int fd, const char *link, void *arg)
{
    struct inheritable_namer *in = arg;
    if (!in->found && strcmp(link, in->want) == 0) {
        long fl = syscall(SYS_fcntl, fd, F_GETFD);
        in->found = fl >= 0 && !(fl & FD_CLOEXEC);
    }
}

void vfile_sync_inheritance(struct vfile *v, bool owner)
{
    if (owner) {
        fdtable_follow_cloexec(v, v->record_fd);
        return;
    }
    struct inheritable_namer in = { .found = false };
    snprintf(in.want, sizeof in.want, "socket:[%lu]", v->ino);
    each_fd(find_inheritable, &in);
    int e = errno;
    syscall(SYS_fcntl, v->record_fd, F_SETFD, in.found ? 0 : FD_CLOEXEC);
    errno = e;
}

void vfile_sync_all(bool owner)
{
    int top = fdtable_highest();
    for (int fd = 0; fd <= top; fd++) {
        if (fd_is_plain(fd) || fd_is_internal(fd))
            continue;
        struct vfile *v = fdtable_get(fd);
        if (v) {
            vfile_sync_inheritance(v, owner);
            vfile_unref(v);
        }
    }
}

void vfile_inherit_for_spawn(struct vfile *v)
{
    int e = errno;
    syscall(SYS_fcntl, v->record_fd, F_SETFD, 0);
    errno = e;
}

/* Calls visit(fd, link target) for each of this process's descriptors below
 * FDTABLE_SIZE (raw syscalls: this runs at start-up). */
static void each_fd(void (*visit)(int fd, const char *link, void *arg), void *arg)
{
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
                           O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return;
    char buf[4096];
    for (long got; (got = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0;) {
        for (long off = 0; off < got;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            char *end;
            long fd = strtol(d->d_name, &end, 10);
            if (*end || end == d->d_name || fd == dir || fd >= FDTABLE_SIZE)
                continue;
            char proc[64], link[128];
            snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
            long l = syscall(SYS_readlinkat, AT_FDCWD, proc, link, sizeof link - 1);
            if (l <= 0)
                continue;
            link[l] = '\0';
            visit((int)fd, link, arg);
        }
    }
    syscall(SYS_close, dir);
}

/* The descriptors naming one record: O_PATH descriptors of its socket inode. */
struct namers {
    char want[64];
    int fds[64];
    int n;
};

static void find_namer(int fd, const char *link, void *arg)
{
    struct namers *nm = arg;
    if (nm->n < 64 && strcmp(link, nm->want) == 0) {
        long fl = syscall(SYS_fcntl, fd, F_GETFL);
        if (fl >= 0 && (fl & O_PATH))
            nm->fds[nm->n++] = fd;
    }
}

/* True when r's strings lie within its length, each NUL-terminated. */
static bool record_sane(const struct record *r)
{
    size_t at = offsetof(struct record, strings);
    for (int i = 0; i < REC_STRINGS; i++) {
        if (r->lens[i] >= r->length || at + r->lens[i] + 1 > r->length ||
            ((const char *)r)[at + r->lens[i]] != '\0')
            return false;
        at += r->lens[i] + 1;
    }
    return true;
}

/* The object an inherited record names, from this program's configuration; NULL with
 * v->err set and one line logged when there is none. */
static struct object *adopt_object(struct vfile *v, int fd)
{
    const struct record *r = v->rec;
    const char *path = rec_string(r, REC_PATH), *rest;
    const struct mapping *m = config_match(&config, path, &rest);
    char *url = m ? mapped_url(m, rest) : NULL;
    char shown[4096] = "";
    if (url)
        url_display(url, shown, sizeof shown);
    if (!m || (url && strcmp(shown, rec_string(r, REC_MAPPED)) != 0)) {
        free(url);
        v->err = EACCES;
        log_error("%s: inherited descriptor %d: this program's configuration %s%s; its reads "
                  "fail (%s)", path, fd, m ? "maps the path elsewhere than " : "does not map it",
                  m ? rec_string(r, REC_MAPPED) : "", strerror(v->err));
        return NULL;
    }
    if (!url) {
        v->err = ENOMEM;
        log_error("%s: inherited descriptor %d cannot be re-attached; its reads fail (%s)", path,
                  fd, strerror(v->err));
        return NULL;
    }
    struct map_options opt = config_mapping_options(&config, m);
    const char *etag = rec_string(r, REC_ETAG), *lm = rec_string(r, REC_LM);
    struct object *obj = NULL;
    if (r->where == REC_REPROBE) {
        /* Where the redirect led is a secret: ask again, and take the answer only if it
         * is the recorded version. */
        obj = object_open(path, url, &opt);
        v->err = errno;
        if (obj && (object_size(obj) != r->size || strcmp(object_etag(obj), etag) != 0 ||
                    strcmp(object_last_modified(obj), lm) != 0)) {
            object_unref(obj);
            obj = NULL;
            v->err = ESTALE;
        }
    } else {
        obj = object_adopt(path, r->where == REC_AT_TARGET ? rec_string(r, REC_TARGET) : url,
                           &opt, r->size, etag, lm);
        v->err = ENOMEM;
    }
    if (!obj)
        log_error("%s: inherited descriptor %d cannot be re-attached to %s; its reads fail (%s)",
                  path, fd, rec_string(r, REC_MAPPED), strerror(v->err));
    free(url);
    return obj;
}

void vfile_adopt(const struct vfile_inherited *in, void (*attached)(int fd))
{
    struct namers nm = { .n = 0 };
    snprintf(nm.want, sizeof nm.want, "socket:[%lu]", in->ino);
    each_fd(find_namer, &nm);
    int *fds = nm.fds, n = nm.n;

    struct record head;
    struct record *r = MAP_FAILED;
    size_t map_len = 0;
    if (n > 0 && syscall(SYS_pread64, in->record_fd, &head, sizeof head, 0) == (long)sizeof head &&
        head.magic == RECORD_MAGIC && head.length < (1u << 20)) {
        long page = sysconf(_SC_PAGESIZE);
        map_len = (head.length + (size_t)page - 1) & ~((size_t)page - 1);
        r = REAL(mmap)(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, in->record_fd, 0);
    }
    struct vfile *v = r == MAP_FAILED || !record_sane(r) ? NULL : calloc(1, sizeof *v);
    if (!v) { /* an orphan (nobody names it any more) or unreadable: let it go */
        if (r != MAP_FAILED)
            munmap(r, map_len);
        syscall(SYS_close, in->record_fd);
        return;
    }
    v->rec = r;
    v->rec_len = map_len;
    v->record_fd = in->record_fd;
    v->ino = in->ino;
    fdtable_mark_internal(in->record_fd);
    v->obj = adopt_object(v, fds[0]);
    atomic_init(&v->entry.refs, 1); /* ours until every descriptor holds one */
    atomic_fetch_add(&live_vfiles, 1);
    for (int i = 0; i < n; i++) {
        fdtable_set(fds[i], v);
        attached(fds[i]);
        log_debug("fd %d: inherited %s", fds[i], rec_string(r, REC_PATH));
    }
    vfile_unref(v);
}

struct records {
    struct vfile_inherited *out;
    int max, n;
};

static void find_record(int fd, const char *link, void *arg)
{
    struct records *r = arg;
    size_t plen = strlen(MEMFD_LINK_PREFIX);
    if (r->n == r->max || strncmp(link, MEMFD_LINK_PREFIX, plen) != 0)
        return;
    char *end;
    unsigned long ino = strtoul(link + plen, &end, 10);
    if (strcmp(end, " (deleted)") == 0)
        r->out[r->n++] = (struct vfile_inherited){ fd, ino };
}

int vfile_find_inherited(struct vfile_inherited *out, int max)
{
    struct records r = { out, max, 0 };
    each_fd(find_record, &r);
    return r.n;
}
