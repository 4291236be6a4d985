/* vfd.h: virtual descriptors as the shim's own code uses them, below the hooks: open a
 * virtual path, read, seek and close a virtual descriptor.  The exported hooks are thin
 * wrappers around these, and stdio's streams (hooks_stdio.c) call them directly, so no
 * hook file calls another's exported functions.
 *
 * Errors: -1 with errno, as the matching system call would set it; errno is kept on
 * success.  vfd_open returns false when the path is not virtual (libc's business). */
#ifndef REMOTEIO_VFD_H
#define REMOTEIO_VFD_H

#include <stdbool.h>
#include <sys/types.h>

/* openat(dirfd, path, flags) when path is virtual (or names a virtual descriptor, as
 * /dev/fd/N does): true when handled, *fd the new descriptor or -1 with errno.  Writing,
 * truncating or creating fails with EROFS.  A directory (O_DIRECTORY, a trailing '/',
 * or a name with keys under it) opens as a virtual directory (vdir.h) under an s3://
 * prefix mapping, and fails with ENOTDIR under any other. */
bool vfd_open(int dirfd, const char *path, int flags, int *fd);
/* After libc found nothing at (dirfd, path) (ENOENT): the directory of a prefix mapping
 * ("/remote" for "/remote/") opens as a virtual directory (vdir.h) when the mapping
 * has listings (not a plain HTTP one: its ENOENT stays).  true when handled, *fd as
 * for vfd_open. */
bool vfd_open_root(int dirfd, const char *path, int flags, int *fd);
/* read(2) and lseek(2) on virtual descriptor fd; EBADF when fd is not virtual. */
ssize_t vfd_read(int fd, void *buf, size_t n);
off64_t vfd_lseek(int fd, off64_t off, int whence);
/* close(2) of fd, dropping its vfile if it has one. */
int vfd_close(int fd);

/* (After shim.h.)  In a function returning body's type: runs body on fd's vfile v
 * inside the shim and returns its result, errno kept on success; returns fallback when
 * fd is not virtual. */
#define WITH_VFILE(fd, v, fallback, body)                                              \
    do {                                                                               \
        struct vfile *v = fdtable_get(fd);                                             \
        if (!v)                                                                        \
            return fallback;                                                           \
        int saved_errno_ = errno;                                                      \
        shim_enter();                                                                  \
        __typeof__(body) r_ = body;                                                    \
        shim_leave();                                                                  \
        vfile_unref(v);                                                                \
        if (r_ >= 0)                                                                   \
            errno = saved_errno_;                                                      \
        return r_;                                                                     \
    } while (0)

#endif
