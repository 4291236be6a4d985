/* hooks_mmap.c: mmap and the in-kernel copy calls on virtual files.
 *
 * mmap(PROT_READ) of a virtual file gives an anonymous private mapping filled with the
 * object's bytes at map time (eagerly: there is no page-fault path into the shim); a
 * writable shared mapping fails with EACCES, as on a file opened read-only.
 * copy_file_range and sendfile from a virtual file copy through a buffer; splice, which
 * needs the page cache, fails with EINVAL so callers fall back to read/write.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "object.h"
#include "shim.h"

#define COPY_BUFFER (1 << 20)

static void *pass_mmap(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    if (REAL(mmap64))
        return real.mmap64(addr, len, prot, flags, fd, off);
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static void *virtual_mmap(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    long page = sysconf(_SC_PAGESIZE);
    if (len == 0 || off < 0 || (off & (page - 1))) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    int type = flags & MAP_TYPE;
    if ((prot & PROT_WRITE) && (type == MAP_SHARED || type == MAP_SHARED_VALIDATE)) {
        errno = EACCES;
        return MAP_FAILED;
    }
    struct vfile *v = fdtable_get(fd);
    if (!v) {
        errno = EBADF;
        return MAP_FAILED;
    }
    int saved = errno;
    int anon_flags = (flags & ~(MAP_TYPE | MAP_SHARED_VALIDATE)) | MAP_PRIVATE | MAP_ANONYMOUS;
    void *p = pass_mmap(addr, len, PROT_READ | PROT_WRITE, anon_flags, -1, 0);
    if (p == MAP_FAILED) {
        vfile_unref(v);
        return MAP_FAILED;
    }
    shim_enter();
    ssize_t n = 0;
    if (!vfile_object(v)) {
        n = -1;
        errno = vfile_error(v);
    } else {
        int64_t size = object_size(vfile_object(v));
        size_t want = off >= size ? 0 : (int64_t)len < size - off ? len : (size_t)(size - off);
        for (size_t done = 0; done < want && n >= 0; done += (size_t)n) {
            n = vfile_pread(v, (char *)p + done, want - done, off + (off64_t)done);
            if (n == 0) { /* EOF before the size known at open */
                n = -1;
                errno = EIO;
            }
        }
    }
    shim_leave();
    vfile_unref(v);
    if (n < 0 || mprotect(p, len, prot) < 0) {
        int e = errno;
        munmap(p, len);
        errno = e;
        return MAP_FAILED;
    }
    errno = saved;
    return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if ((flags & MAP_ANONYMOUS) || fd_is_plain(fd))
        return REAL(mmap) ? real.mmap(addr, len, prot, flags, fd, off)
                          : pass_mmap(addr, len, prot, flags, fd, off);
    return virtual_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    if ((flags & MAP_ANONYMOUS) || fd_is_plain(fd))
        return pass_mmap(addr, len, prot, flags, fd, off);
    return virtual_mmap(addr, len, prot, flags, fd, off);
}

/* Copy up to len bytes from virtual in_fd (at *in_off, or its offset) to out_fd (at
 * *out_off, or its offset), as the kernel's copy calls would. */
static ssize_t copy_out(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off, size_t len)
{
    if (!fd_is_plain(out_fd) && !fd_is_internal(out_fd)) {
        errno = EBADF;
        return -1;
    }
    if ((in_off && *in_off < 0) || (out_off && *out_off < 0)) {
        errno = EINVAL;
        return -1;
    }
    size_t want = len < COPY_BUFFER ? len : COPY_BUFFER;
    if (want == 0)
        return 0;
    char *buf = malloc(want);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n = in_off ? pread64(in_fd, buf, want, *in_off) : read(in_fd, buf, want);
    ssize_t w = n;
    if (n > 0) {
        w = out_off ? REAL(pwrite64)(out_fd, buf, (size_t)n, *out_off)
                    : REAL(write)(out_fd, buf, (size_t)n);
        if (w < n && !in_off) /* give back what was not written (all of it on failure) */
            lseek64(in_fd, (w > 0 ? w : 0) - n, SEEK_CUR);
    }
    free(buf);
    if (w > 0) {
        if (in_off)
            *in_off += w;
        if (out_off)
            *out_off += w;
    }
    return w;
}

EXPORT ssize_t copy_file_range(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off,
                               size_t len, unsigned flags)
{
    if ((fd_is_plain(in_fd) || fd_is_internal(in_fd)) && fd_is_plain(out_fd))
        return REAL(copy_file_range)(in_fd, in_off, out_fd, out_off, len, flags);
    if (flags != 0) {
        errno = EINVAL;
        return -1;
    }
    if (fd_is_plain(in_fd)) {
        errno = EBADF; /* the destination is virtual, so read-only */
        return -1;
    }
    return copy_out(in_fd, in_off, out_fd, out_off, len);
}

EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t count)
{
    if (fd_is_plain(in_fd) && fd_is_plain(out_fd))
        return REAL(sendfile)(out_fd, in_fd, off, count);
    if (fd_is_plain(in_fd)) {
        errno = EBADF;
        return -1;
    }
    off64_t o = off ? *off : 0;
    ssize_t n = copy_out(in_fd, off ? &o : NULL, out_fd, NULL, count);
    if (off && n > 0)
        *off = o;
    return n;
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *off, size_t count)
{
    if (fd_is_plain(in_fd) && fd_is_plain(out_fd))
        return REAL(sendfile64)(out_fd, in_fd, off, count);
    if (fd_is_plain(in_fd)) {
        errno = EBADF;
        return -1;
    }
    return copy_out(in_fd, off, out_fd, NULL, count);
}

EXPORT ssize_t splice(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off, size_t len,
                      unsigned flags)
{
    if ((fd_is_plain(in_fd) || fd_is_internal(in_fd)) &&
        (fd_is_plain(out_fd) || fd_is_internal(out_fd)))
        return REAL(splice)(in_fd, in_off, out_fd, out_off, len, flags);
    errno = EINVAL;
    return -1;
}
