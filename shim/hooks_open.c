/* hooks_open.c: the open family.  A virtual path opens through vfd_open (vfd.h:
 * read-only, EROFS for writes; a directory is a virtual directory under an s3:// prefix
 * mapping, ENOTDIR under another); anything else goes to libc untouched, and a
 * descriptor libc hands out clears a stale slot of the same number.  When libc finds
 * nothing, a prefix mapping's own directory may be meant (vfd_open_root). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hooks_stdio.h"
#include "shim.h"
#include "vdir.h"
#include "vfd.h"

/* Returns true when the call was ours, with *fd set (or -1 and errno). */
static bool open_virtual(int dirfd, const char *path, int flags, int *fd)
{
    if (!vfd_open(dirfd, path, flags, fd))
        return false;
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
    if (fd_is_vdir(fd)) {
        vdir_forget(fd);
        return fd;
    }
    struct vfile *stale = fdtable_clear(fd);
    if (stale)
        vfile_unref(stale);
    return fd;
}

/* libc found nothing at (dirfd, path): the directory of an s3:// prefix mapping
 * ("/remote" for "/remote/") may be meant (vfd_open_root). */
static int after(int fd, int dirfd, const char *path, int flags)
{
    int vfd;
    if (fd < 0 && errno == ENOENT && config.nmaps && vfd_open_root(dirfd, path, flags, &vfd))
        return vfd;
    return fresh(fd);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static int pass_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    if (REAL(openat))
        return after(real.openat(dirfd, path, flags, mode), dirfd, path, flags);
    return after((int)syscall(SYS_openat, dirfd, path, flags, mode), dirfd, path, flags);
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
        return after(real.open(path, flags, mode), AT_FDCWD, path, flags);
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
        return after(real.open64(path, flags, mode), AT_FDCWD, path, flags);
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
        return after(real.openat64(dirfd, path, flags, mode), dirfd, path, flags);
    return pass_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* The fortified forms are called when the compiler knows no mode is passed. */
EXPORT int __open_2(const char *path, int flags)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    return REAL(__open_2) ? after(real.__open_2(path, flags), AT_FDCWD, path, flags) : pass_openat(AT_FDCWD, path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
    int fd;
    if (open_virtual(AT_FDCWD, path, flags, &fd))
        return fd;
    return REAL(__open64_2) ? after(real.__open64_2(path, flags), AT_FDCWD, path, flags)
                            : pass_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return REAL(__openat_2) ? after(real.__openat_2(dirfd, path, flags), dirfd, path, flags)
                            : pass_openat(dirfd, path, flags, 0);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_virtual(dirfd, path, flags, &fd))
        return fd;
    return REAL(__openat64_2) ? after(real.__openat64_2(dirfd, path, flags), dirfd, path, flags)
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
