/* hooks_stdio.c: stdio streams on virtual files.  glibc's fopen opens through its own
 * internal open, which no hook sees, so a virtual path gets a stream of ours: a
 * fopencookie FILE whose read, seek and close go through the vfile.  fileno() on it gives
 * the virtual descriptor, so fstat(fileno(f)) works as usual. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
    return read((int)(intptr_t)cookie, buf, n);
}

static int cookie_seek(void *cookie, off64_t *pos, int whence)
{
    off64_t r = lseek64((int)(intptr_t)cookie, *pos, whence);
    if (r < 0)
        return -1;
    *pos = r;
    return 0;
}

static int cookie_close(void *cookie)
{
    return close((int)(intptr_t)cookie);
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    (void)buf;
    (void)n;
    errno = EBADF;
    return -1;
}

/* A stream over virtual descriptor fd; on failure fd is left open. */
static FILE *stream_on(int fd)
{
    cookie_io_functions_t io = {
        .read = cookie_read, .write = cookie_write, .seek = cookie_seek, .close = cookie_close,
    };
    FILE *f = fopencookie((void *)(intptr_t)fd, "r", io);
    if (f)
        f->_fileno = fd;
    return f;
}

static bool mode_writes(const char *mode)
{
    return mode[0] != 'r' || strchr(mode, '+') != NULL;
}

/* fopen of a virtual path: true when handled, *out the stream or NULL with errno. */
static bool fopen_virtual(const char *path, const char *mode, FILE **out)
{
    int fd;
    int flags = mode_writes(mode) ? O_WRONLY | O_CREAT : O_RDONLY;
    if (strchr(mode, 'e'))
        flags |= O_CLOEXEC;
    if (!hooks_open_virtual(path, flags, &fd))
        return false;
    *out = NULL;
    if (fd < 0)
        return true;
    *out = stream_on(fd);
    if (!*out) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return true;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
    FILE *f;
    if (mode && fopen_virtual(path, mode, &f))
        return f;
    return REAL(fopen)(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
    FILE *f;
    if (mode && fopen_virtual(path, mode, &f))
        return f;
    return REAL(fopen64)(path, mode);
}

/* freopen onto a virtual path closes the old stream and returns a new one; for the
 * standard streams the global stdin/stdout/stderr is pointed at it. */
static bool freopen_virtual(const char *path, const char *mode, FILE *old, FILE **out)
{
    if (!path || !mode)
        return false;
    if (!fopen_virtual(path, mode, out))
        return false;
    if (*out) {
        if (old == stdin)
            stdin = *out;
        else if (old == stdout)
            stdout = *out;
        else if (old == stderr)
            stderr = *out;
        fclose(old);
    }
    return true;
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
    FILE *f;
    if (freopen_virtual(path, mode, stream, &f))
        return f;
    return REAL(freopen)(path, mode, stream);
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
    FILE *f;
    if (freopen_virtual(path, mode, stream, &f))
        return f;
    return REAL(freopen64)(path, mode, stream);
}

EXPORT FILE *fdopen(int fd, const char *mode)
{
    if (fd_is_plain(fd) || fd_is_internal(fd))
        return REAL(fdopen)(fd, mode);
    if (mode_writes(mode)) {
        errno = EINVAL; /* the descriptor is read-only */
        return NULL;
    }
    return stream_on(fd);
}
