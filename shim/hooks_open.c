/* hooks_open.c: the open family.  A virtual path opens a vfile (read-only); anything else
 * goes to libc untouched.  Writing, truncating or creating a virtual file fails with
 * EROFS, a virtual path opened as a directory with ENOTDIR. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "shim.h"

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

/* Returns true when the call was ours, with *fd set (or -1 and errno). */
static bool open_virtual(int dirfd, const char *path, int flags, int *fd)
{
    struct vpath vp;
    int err;
    if (dirfd == AT_FDCWD && reopen_virtual(path, flags, fd))
        return true;
    if (!vpath_match(dirfd, path, &vp, &err))
        return false;
    int saved = errno;
    *fd = -1;
    if (err) {
        errno = err;
        return true;
    }
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ||
        ((flags & O_CREAT) && (flags & O_EXCL))) {
        errno = EROFS;
        return true;
    }
    if ((flags & O_DIRECTORY) == O_DIRECTORY) { /* O_TMPFILE contains O_DIRECTORY */
        errno = ENOTDIR;
        return true;
    }
    if (shim_start_backend() < 0)
        return true;
    shim_enter();
    *fd = vfile_open(vp.norm, vp.map, vp.rest, flags);
    shim_leave();
    if (*fd < 0 && errno == ENOENT && (flags & O_CREAT))
        errno = EROFS;
    if (*fd >= 0)
        errno = saved;
    if (*fd == 0)
        stdio_descriptor_changed(0);
    return true;
}

/* A descriptor the kernel just handed out cannot be virtual: if its slot says otherwise,
 * the virtual file behind that number was closed where no hook saw it (a raw syscall,
 * glibc's internal dup2 in daemon()), and the slot must not serve it any more. */
static int fresh(int fd)
{
    if (__builtin_expect(fd_is_plain(fd), 1) || fd_is_internal(fd) || !shim_owns_state())
        return fd; /* a vfork child's descriptors are not the table's */
    struct vfile *stale = fdtable_clear(fd);
    if (stale)
        vfile_unref(stale);
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static int pass_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    if (REAL(openat))
        return fresh(real.openat(dirfd, path, flags, mode));
    return fresh((int)syscall(SYS_openat, dirfd, path, flags, mode));
}

EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    if (REAL(open))
        return fresh(real.open(path, flags, mode));
    return pass_openat(AT_FDCWD, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    if (REAL(open64))
        return fresh(real.open64(path, flags, mode));
    return pass_openat(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return pass_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    if (REAL(openat64))
        return fresh(real.openat64(dirfd, path, flags, mode));
    return pass_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* The fortified forms are called when the compiler knows no mode is passed. */
EXPORT int __open_2(const char *path, int flags)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    return REAL(__open_2) ? fresh(real.__open_2(path, flags)) : pass_openat(AT_FDCWD, path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    return REAL(__open64_2) ? fresh(real.__open64_2(path, flags))
                            : pass_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return REAL(__openat_2) ? fresh(real.__openat_2(dirfd, path, flags))
                            : pass_openat(dirfd, path, flags, 0);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return REAL(__openat64_2) ? fresh(real.__openat64_2(dirfd, path, flags))
                              : pass_openat(dirfd, path, flags | O_LARGEFILE, 0);
}

EXPORT int creat(const char *path, mode_t mode)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, &fd))
        return fd;
    return REAL(creat) ? fresh(real.creat(path, mode))
                       : pass_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

EXPORT int creat64(const char *path, mode_t mode)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, &fd))
        return fd;
    return REAL(creat64) ? fresh(real.creat64(path, mode))
                         : pass_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE,
                                       mode);
}

/* For stdio: the same decision, without the varargs. */
bool hooks_open_virtual(const char *path, int flags, int *fd)
{
    return open_virtual(AT_FDCWD, path, flags, fd);
}
