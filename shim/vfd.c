/* vfd.c: see vfd.h.  No state of its own: the descriptor table (fdtable.h) holds the
 * slots, under its own lock. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "path.h"
#include "report.h"
#include "shim.h"
#include "vdir.h"
#include "vfd.h"
#include "vpath.h"

/* The descriptor named by /dev/stdin, /dev/fd/N, /proc/self/fd/N, /proc/<our pid>/fd/N
 * or /proc/thread-self/fd/N, when it is virtual; else -1. */
static int names_virtual_fd(const char *path)
{
    static const char *const std[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
    char norm[PATH_MAX], self[48];
    if (!vfile_any_open() || (strncmp(path, "/dev/", 5) != 0 && strncmp(path, "/proc/", 6) != 0))
        return -1;
    if (path_normalise_absolute(path, norm, sizeof norm) < 0)
        return -1;
    long fd = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(norm, std[i]) == 0)
            fd = i;
    if (fd < 0) {
        snprintf(self, sizeof self, "/proc/%d/fd/", (int)getpid());
        const char *prefixes[] = { "/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", self };
        for (int i = 0; i < 4 && fd < 0; i++) {
            size_t n = strlen(prefixes[i]);
            if (strncmp(norm, prefixes[i], n) == 0 && norm[n] >= '0' && norm[n] <= '9') {
                char *end;
                fd = strtol(norm + n, &end, 10);
                if (*end)
                    fd = -1;
            }
        }
    }
    return fd >= 0 && fd < FDTABLE_SIZE && !fd_is_plain((int)fd) && !fd_is_internal((int)fd)
               ? (int)fd : -1;
}

static bool reopen_virtual(const char *path, int flags, int *fd)
{
    if (config.nmaps == 0 || path == NULL || shim_depth > 0)
        return false;
    int target = names_virtual_fd(path);
    struct vfile *v = target >= 0 ? fdtable_get(target) : NULL;
    if (!v)
        return false;
    int saved = errno;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
        errno = EROFS;
        *fd = -1;
    } else {
        shim_enter();
        *fd = vfile_reopen(v, flags);
        shim_leave();
        if (*fd >= 0)
            errno = saved;
    }
    vfile_unref(v);
    return true;
}

bool vfd_open(int dirfd, const char *path, int flags, int *fd)
{
    struct vpath vp;
    int err;
    if (dirfd == AT_FDCWD && reopen_virtual(path, flags, fd))
        return true;
    if (!vpath_match(dirfd, path, &vp, &err))
        return false;
    int saved = errno;
    *fd = -1;
    if (err && !(err == ENOTDIR && vp.dir && vdir_listable(vp.map))) {
        errno = err;
        return true;
    }
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ||
        ((flags & O_CREAT) && (flags & O_EXCL))) {
        errno = vp.dir ? EISDIR : EROFS;
        return true;
    }
    bool want_dir = (flags & O_DIRECTORY) == O_DIRECTORY || vp.dir;
    if (want_dir && !vdir_listable(vp.map)) { /* O_TMPFILE contains O_DIRECTORY */
        errno = ENOTDIR;
        return true;
    }
    if (shim_start_backend() < 0)
        return true;
    shim_enter();
    if (want_dir) {
        *fd = vdir_open(vp.norm, vp.map, vp.rest, flags);
    } else {
        *fd = vfile_open(vp.norm, vp.map, vp.rest, flags);
        /* a prefix with keys under it is a directory, as open(2) opens one */
        if (*fd < 0 && errno == ENOENT && vdir_listable(vp.map) && !(flags & O_CREAT)) {
            *fd = vdir_open(vp.norm, vp.map, vp.rest, flags);
            if (*fd < 0)
                errno = ENOENT; /* no key; whether a prefix is there is not the question */
        }
    }
    shim_leave();
    if (*fd < 0 && errno == ENOENT && (flags & O_CREAT))
        errno = EROFS;
    if (*fd >= 0)
        errno = saved;
    return true;
}

bool vfd_open_root(int dirfd, const char *path, int flags, int *fd)
{
    char norm[PATH_MAX];
    if (config.nmaps == 0 || path == NULL || shim_depth > 0 ||
        path_resolve_quiet(dirfd, path, norm, sizeof norm) < 0)
        return false;
    const struct mapping *m = vdir_root_mapping(norm);
    if (!vdir_listable(m))
        return false; /* an HTTP prefix has no listing: libc's ENOENT stays */
    int saved = errno;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) || (flags & O_CREAT)) {
        errno = EISDIR;
        *fd = -1;
        return true;
    }
    *fd = -1;
    if (shim_start_backend() < 0)
        return true;
    shim_enter();
    *fd = vdir_open(norm, m, "", flags);
    shim_leave();
    if (*fd >= 0)
        errno = saved;
    return true;
}

/* A descriptor that is not virtual any more (closed under a stream) is EBADF: never
 * another file's bytes. */
static int not_virtual(void)
{
    errno = EBADF;
    return -1;
}

ssize_t vfd_read(int fd, void *buf, size_t n)
{
    WITH_VFILE(fd, v, not_virtual(), vfile_read(v, buf, n));
}

off64_t vfd_lseek(int fd, off64_t off, int whence)
{
    WITH_VFILE(fd, v, not_virtual(), (off64_t)vfile_lseek(v, off, whence));
}

static int pass_close(int fd)
{
    return REAL(close) ? real.close(fd) : (int)syscall(SYS_close, fd);
}

int vfd_close(int fd)
{
    if (fd_is_vdir(fd)) {
        if (shim_owns_state())
            vdir_forget(fd); /* a vfork child closes in its own table only */
        return pass_close(fd);
    }
    bool owner = shim_owns_state(); /* a vfork child closes in its own table only */
    struct vfile *v = owner ? fdtable_clear(fd) : fdtable_get(fd);
    int rc = pass_close(fd);
    if (v) {
        vfile_sync_inheritance(v, owner);
        vfile_unref(v); /* the slot's reference, or fdtable_get's */
        if (owner)
            report_file_closed();
    }
    return rc;
}
