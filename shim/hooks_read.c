/* hooks_read.c: the read family and lseek.  On an ordinary descriptor each hook costs one
 * slot load before libc; on a virtual one it reads through the vfile. */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"
#include "vfd.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* A virtual directory is read with readdir, as a real one: read(2) says EISDIR. */
static ssize_t is_dir(void)
{
    errno = EISDIR;
    return -1;
}

static ssize_t pass_read(int fd, void *buf, size_t n)
{
    if (fd_is_vdir(fd))
        return is_dir();
    return REAL(read) ? real.read(fd, buf, n) : syscall(SYS_read, fd, buf, n);
}

static ssize_t pass_pread(int fd, void *buf, size_t n, off64_t off)
{
    if (fd_is_vdir(fd))
        return is_dir();
    return REAL(pread64) ? real.pread64(fd, buf, n, off) : syscall(SYS_pread64, fd, buf, n, off);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    if (fd_is_plain(fd))
        return pass_read(fd, buf, n);
    WITH_VFILE(fd, v, pass_read(fd, buf, n), vfile_read(v, buf, n));
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return read(fd, buf, n);
}

static ssize_t virtual_pread(struct vfile *v, void *buf, size_t n, off64_t off)
{
    if (off < 0) {
        errno = EINVAL;
        return -1;
    }
    return vfile_pread(v, buf, n, off);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    if (fd_is_plain(fd))
        return REAL(pread) ? real.pread(fd, buf, n, off) : pass_pread(fd, buf, n, off);
    WITH_VFILE(fd, v, pass_pread(fd, buf, n, off), virtual_pread(v, buf, n, off));
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    if (fd_is_plain(fd))
        return pass_pread(fd, buf, n, off);
    WITH_VFILE(fd, v, pass_pread(fd, buf, n, off), virtual_pread(v, buf, n, off));
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return pread64(fd, buf, n, off);
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return pread64(fd, buf, n, off);
}

/* Vectored reads: one read of the total into the segments (a failure fails the whole
 * call: short counts mean EOF).  off < 0: at the file offset, which advances. */
static ssize_t virtual_preadv(struct vfile *v, const struct iovec *iov, int cnt, off64_t off)
{
    if (cnt < 0 || cnt > IOV_MAX) {
        errno = EINVAL;
        return -1;
    }
    size_t total = 0;
    for (int i = 0; i < cnt; i++) {
        if (iov[i].iov_len > SSIZE_MAX - total) {
            errno = EINVAL;
            return -1;
        }
        total += iov[i].iov_len;
    }
    bool at_offset = off < 0;
    int64_t pos = at_offset ? vfile_claim(v, total) : off;
    ssize_t done = vfile_preadv(v, iov, cnt, pos);
    if (at_offset)
        vfile_settle(v, pos, total, done);
    return done;
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    if (fd_is_plain(fd))
        return REAL(readv) ? real.readv(fd, iov, cnt) : syscall(SYS_readv, fd, iov, cnt);
    WITH_VFILE(fd, v, real.readv(fd, iov, cnt), virtual_preadv(v, iov, cnt, -1));
}

static ssize_t checked_preadv(struct vfile *v, const struct iovec *iov, int cnt, off64_t off)
{
    if (off < 0) {
        errno = EINVAL;
        return -1;
    }
    return virtual_preadv(v, iov, cnt, off);
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (fd_is_plain(fd))
        return REAL(preadv)(fd, iov, cnt, off);
    WITH_VFILE(fd, v, real.preadv(fd, iov, cnt, off), checked_preadv(v, iov, cnt, off));
}

EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    if (fd_is_plain(fd))
        return REAL(preadv64)(fd, iov, cnt, off);
    WITH_VFILE(fd, v, real.preadv64(fd, iov, cnt, off), checked_preadv(v, iov, cnt, off));
}

/* preadv2: offset -1 means the file offset; the RWF_* hints change nothing here. */
static ssize_t virtual_preadv2(struct vfile *v, const struct iovec *iov, int cnt, off64_t off)
{
    if (off < -1) {
        errno = EINVAL;
        return -1;
    }
    return virtual_preadv(v, iov, cnt, off);
}

EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (fd_is_plain(fd))
        return REAL(preadv2)(fd, iov, cnt, off, flags);
    WITH_VFILE(fd, v, real.preadv2(fd, iov, cnt, off, flags), virtual_preadv2(v, iov, cnt, off));
}

EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
    if (fd_is_plain(fd))
        return REAL(preadv64v2)(fd, iov, cnt, off, flags);
    WITH_VFILE(fd, v, real.preadv64v2(fd, iov, cnt, off, flags),
               virtual_preadv2(v, iov, cnt, off));
}

static off64_t pass_lseek(int fd, off64_t off, int whence)
{
    return REAL(lseek64) ? real.lseek64(fd, off, whence) : syscall(SYS_lseek, fd, off, whence);
}

EXPORT off_t lseek(int fd, off_t off, int whence)
{
    if (fd_is_plain(fd))
        return pass_lseek(fd, off, whence);
    WITH_VFILE(fd, v, pass_lseek(fd, off, whence), (off_t)vfile_lseek(v, off, whence));
}

EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
    if (fd_is_plain(fd))
        return pass_lseek(fd, off, whence);
    WITH_VFILE(fd, v, pass_lseek(fd, off, whence), (off64_t)vfile_lseek(v, off, whence));
}
