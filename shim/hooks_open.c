/* hooks_open.c: the open family.  A virtual path opens a vfile (read-only); anything else
 * goes to libc untouched.  Writing, truncating or creating a virtual file fails with
 * EROFS, a virtual path opened as a directory with ENOTDIR. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"

/* Returns true when the call was ours, with *fd set (or -1 and errno). */
static bool open_virtual(int dirfd, const char *path, int flags, int *fd)
{
    struct vpath vp;
    int err;
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

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static int pass_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    if (REAL(openat))
        return real.openat(dirfd, path, flags, mode);
    return (int)syscall(SYS_openat, dirfd, path, flags, mode);
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
        return real.open(path, flags, mode);
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
        return real.open64(path, flags, mode);
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
        return real.openat64(dirfd, path, flags, mode);
    return pass_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* The fortified forms are called when the compiler knows no mode is passed. */
EXPORT int __open_2(const char *path, int flags)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    return REAL(__open_2) ? real.__open_2(path, flags) : pass_openat(AT_FDCWD, path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    return REAL(__open64_2) ? real.__open64_2(path, flags)
                            : pass_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return REAL(__openat_2) ? real.__openat_2(dirfd, path, flags)
                            : pass_openat(dirfd, path, flags, 0);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return REAL(__openat64_2) ? real.__openat64_2(dirfd, path, flags)
                              : pass_openat(dirfd, path, flags | O_LARGEFILE, 0);
}

EXPORT int creat(const char *path, mode_t mode)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, &fd))
        return fd;
    return REAL(creat) ? real.creat(path, mode)
                       : pass_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

EXPORT int creat64(const char *path, mode_t mode)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, &fd))
        return fd;
    return REAL(creat64) ? real.creat64(path, mode)
                         : pass_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE,
                                       mode);
}

/* For stdio: the same decision, without the varargs. */
bool hooks_open_virtual(const char *path, int flags, int *fd)
{
    return open_virtual(AT_FDCWD, path, flags, fd);
}
