/* hooks_stdio.c: stdio streams on virtual files.  glibc's fopen opens through its own
 * internal open, which no hook sees, so a virtual path gets a stream of ours: a
 * fopencookie FILE whose read, seek and close go through vfd.h (never through the
 * exported hooks).  fileno() on it gives the virtual descriptor, so fstat(fileno(f))
 * works as usual. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hooks_stdio.h"
#include "shim.h"
#include "vfd.h"

/* A stream's cookie: the descriptor it reads, or -1 once detached from it. */
struct cookie {
    int fd;
};

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
    return vfd_read(((struct cookie *)c)->fd, buf, n);
}

static int cookie_seek(void *c, off64_t *pos, int whence)
{
    off64_t r = vfd_lseek(((struct cookie *)c)->fd, *pos, whence);
    if (r < 0)
        return -1;
    *pos = r;
    return 0;
}

static int cookie_close(void *c)
{
    int fd = ((struct cookie *)c)->fd;
    free(c);
    return fd >= 0 ? vfd_close(fd) : 0;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    (void)c;
    (void)buf;
    (void)n;
    errno = EBADF;
    return -1;
}

/* A stream over virtual descriptor fd; on failure fd is left open.  *cookie (if not
 * NULL) gets the cookie, to detach the stream from fd later. */
static FILE *stream_on(int fd, struct cookie **cookie)
{
    cookie_io_functions_t io = {
        .read = cookie_read, .write = cookie_write, .seek = cookie_seek, .close = cookie_close,
    };
    struct cookie *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    FILE *f = fopencookie(c, "r", io);
    if (!f) {
        free(c);
        return NULL;
    }
    f->_fileno = fd;
    if (cookie)
        *cookie = c;
    return f;
}

/* stdin follows descriptor 0.  glibc's own stdin reads fd 0 with an internal read(2)
 * that no hook sees, so while fd 0 is virtual (a shell's `prog < /remote/x`, or dup2
 * in the program) stdin is a stream of ours over it, and glibc's returns when fd 0 is
 * an ordinary file again. */
static FILE *libc_stdin;           /* glibc's stdin, while ours stands in for it */
static struct cookie *stdin_cookie;
static pthread_mutex_t stdin_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two above */

static void atfork_prepare(void)
{
    pthread_mutex_lock(&stdin_lock);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&stdin_lock);
}

void stdio_descriptor_changed(int fd)
{
    if (fd != 0)
        return;
    pthread_mutex_lock(&stdin_lock);
    bool now_virtual = !fd_is_plain(0) && !fd_is_internal(0);
    if (now_virtual && !libc_stdin && stdin && stdin->_fileno == 0) {
        FILE *ours = stream_on(0, &stdin_cookie);
        if (ours) {
            libc_stdin = stdin;
            stdin = ours;
        }
    } else if (!now_virtual && libc_stdin && stdin && stdin->_fileno == 0) {
        FILE *ours = stdin;
        stdin = libc_stdin;
        libc_stdin = NULL;
        /* Detach from fd 0, which now belongs to something else, then free it. */
        stdin_cookie->fd = -1; /* its close is now a no-op; fclose frees it */
        stdin_cookie = NULL;
        fclose(ours);
    }
    pthread_mutex_unlock(&stdin_lock);
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
    if (!vfd_open(AT_FDCWD, path, flags, &fd))
        return false;
    *out = NULL;
    if (fd < 0)
        return true;
    if (fd == 0)
        stdio_descriptor_changed(0);
    *out = stream_on(fd, NULL);
    if (!*out) {
        int e = errno;
        vfd_close(fd);
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

/* A stream of ours is the only kind whose descriptor is virtual. */
static bool stream_is_ours(FILE *f)
{
    int fd = f ? f->_fileno : -1;
    return fd >= 0 && !fd_is_plain(fd) && !fd_is_internal(fd);
}

/* freopen onto a virtual path, or of one of our streams (which glibc's freopen cannot
 * reopen), closes the old stream and returns a new one; for the standard streams the
 * global stdin/stdout/stderr is pointed at it. */
static bool freopen_ours(const char *path, const char *mode, FILE *old, FILE **out,
                         FILE *(*real_fopen)(const char *, const char *))
{
    if (!path || !mode)
        return false;
    bool ours = stream_is_ours(old);
    if (!ours) {
        if (!fopen_virtual(path, mode, out))
            return false;
    } else {
        fflush(old);
        if (!fopen_virtual(path, mode, out))
            *out = real_fopen(path, mode);
    }
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
    if (freopen_ours(path, mode, stream, &f, REAL(fopen)))
        return f;
    return REAL(freopen)(path, mode, stream);
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
    FILE *f;
    if (freopen_ours(path, mode, stream, &f, REAL(fopen64)))
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
    return stream_on(fd, NULL);
}

/* After init.c's constructor (101), which re-attached inherited descriptors: fd 0 may be
 * virtual already.  The fork handlers registered here run their prepare before init.c's
 * (registered earlier), so stdin_lock is taken first and released last, as its holder
 * takes the shim's other locks (fclose of our stream closes a vfile). */
__attribute__((constructor(102))) static void stdio_constructor(void)
{
    if (config.nmaps == 0)
        return;
    int saved = errno;
    pthread_atfork(atfork_prepare, atfork_release, atfork_release);
    stdio_descriptor_changed(0);
    errno = saved;
}
