/* hooks_fd.c: descriptor management on virtual files (close, dup, fcntl, locks) and the
 * calls a read-only file refuses (writes) or accepts as no-ops (sync, advice).
 *
 * The kernel descriptor of a vfile is real, so dup/close work on it as usual; these hooks
 * keep the slots in step: a duplicate shares the vfile (and so the offset), a close
 * drops a reference.  The shim's own descriptors are invisible to the program: closing
 * one fails with EBADF as if it were not open, and close_range/closefrom skip them.
 * After each change of a vfile's descriptors (and in a vfork child too) its record
 * follows their close-on-exec flag (vfile_sync_inheritance): a program exec'd without
 * any of them inherits no record.  A virtual directory's descriptor (FD_VDIR) follows
 * the same way: a duplicate shares its vdir, a close forgets it. */
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hooks_stdio.h"
#include "object.h"
#include "report.h"
#include "shim.h"
#include "vdir.h"
#include "vfd.h"

static int pass_close(int fd)
{
    return REAL(close) ? real.close(fd) : (int)syscall(SYS_close, fd);
}

EXPORT int close(int fd)
{
    struct vfile *slot = fdtable_peek(fd);
    if (__builtin_expect(slot == NULL, 1))
        return pass_close(fd);
    if (slot == FD_INTERNAL_SOCKET || slot == FD_INTERNAL_OTHER) {
        if (shim_depth == 0) {
            errno = EBADF; /* not the program's: as if it were not open */
            return -1;
        }
        fdtable_unmark_internal(fd);
        return pass_close(fd);
    }
    return vfd_close(fd);
}

/* Closes [first, last] but the shim's own descriptors, dropping the vfiles in it. */
static int close_range_skipping(unsigned first, unsigned last, int flags)
{
    /* A vfork child closes in its own table only, but keeps our records for its exec;
     * with CLOSE_RANGE_CLOEXEC nothing is closed, and our records stay inheritable. */
    bool owner = shim_owns_state() && !(flags & CLOSE_RANGE_CLOEXEC);
    unsigned from = first;
    unsigned top = last < FDTABLE_SIZE - 1 ? last : FDTABLE_SIZE - 1;
    bool virtual_seen = false;
    int rc = 0;
    for (unsigned fd = first; fd <= top && fd >= first; fd++) {
        struct vfile *slot = fdtable_peek((int)fd);
        if (slot == NULL)
            continue;
        if (slot == FD_INTERNAL_SOCKET || slot == FD_INTERNAL_OTHER) {
            if (fd > from && syscall(SYS_close_range, from, fd - 1, flags) < 0) {
                rc = -1;
                break;
            }
            from = fd + 1;
            continue;
        }
        if (slot == FD_VDIR) {
            if (owner)
                vdir_forget((int)fd);
            continue;
        }
        virtual_seen = true;
        struct vfile *v = owner ? fdtable_clear((int)fd) : NULL;
        if (v) {
            vfile_unref(v);
            report_file_closed();
        }
    }
    if (rc == 0 && from <= last && from >= first)
        rc = (int)syscall(SYS_close_range, from, last, flags);
    if (virtual_seen) {
        int e = errno;
        vfile_sync_all(shim_owns_state());
        errno = e;
    }
    return rc;
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    if (first > last) {
        errno = EINVAL;
        return -1;
    }
    return close_range_skipping(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
    if (lowfd < 0)
        lowfd = 0;
    if (close_range_skipping((unsigned)lowfd, ~0U, 0) == 0)
        return;
    /* No close_range(2) (old kernel): close one by one, as glibc does. */
    for (int fd = lowfd; fd < FDTABLE_SIZE; fd++)
        if (!fd_is_internal(fd))
            close(fd);
}

/* After the kernel made newfd a copy of oldfd: make its slot follow, and the records of
 * the vfile it now names and of the one it named before follow their descriptors'
 * close-on-exec flags.  A vfork child leaves the slots (its parent's) alone. */
static void slot_follows(int oldfd, int newfd)
{
    int e = errno;
    bool owner = shim_owns_state();
    if (owner && fd_is_vdir(newfd))
        vdir_forget(newfd); /* newfd named another directory */
    if (fd_is_vdir(oldfd)) {
        /* a virtual directory: newfd shares it (and whatever vfile newfd named goes) */
        struct vfile *gone = owner ? fdtable_clear(newfd) : NULL;
        if (owner)
            vdir_dup(oldfd, newfd);
        if (gone) {
            vfile_sync_inheritance(gone, owner);
            vfile_unref(gone);
        }
        errno = e;
        return;
    }
    struct vfile *v = fdtable_get(oldfd);
    struct vfile *old = !owner ? fdtable_get(newfd)
                        : v    ? fdtable_set(newfd, v)
                               : fdtable_clear(newfd);
    if (old) {
        vfile_sync_inheritance(old, owner);
        vfile_unref(old);
    }
    if (v) {
        vfile_sync_inheritance(v, owner);
        vfile_unref(v);
    }
    if (owner && newfd == 0)
        stdio_descriptor_changed(0);
    errno = e;
}

EXPORT int dup(int fd)
{
    int nfd = REAL(dup) ? real.dup(fd) : (int)syscall(SYS_dup, fd);
    if (nfd >= 0 && !fd_is_plain(fd))
        slot_follows(fd, nfd);
    return nfd;
}

static int dup_onto(int oldfd, int newfd, int flags, bool is_dup2)
{
    if (fd_is_internal(newfd) && shim_depth == 0) {
        errno = EBUSY; /* the shim's own connection lives there */
        return -1;
    }
    int rc;
    if (is_dup2)
        rc = REAL(dup2) ? real.dup2(oldfd, newfd) : (int)syscall(SYS_dup2, oldfd, newfd);
    else
        rc = REAL(dup3) ? real.dup3(oldfd, newfd, flags)
                        : (int)syscall(SYS_dup3, oldfd, newfd, flags);
    if (rc >= 0 && oldfd != newfd && (!fd_is_plain(oldfd) || !fd_is_plain(newfd)))
        slot_follows(oldfd, newfd);
    return rc;
}

EXPORT int dup2(int oldfd, int newfd)
{
    if (fd_is_plain(oldfd) && fd_is_plain(newfd))
        return REAL(dup2) ? real.dup2(oldfd, newfd) : (int)syscall(SYS_dup2, oldfd, newfd);
    return dup_onto(oldfd, newfd, 0, true);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (fd_is_plain(oldfd) && fd_is_plain(newfd))
        return REAL(dup3)(oldfd, newfd, flags);
    return dup_onto(oldfd, newfd, flags, false);
}

/* fcntl on a virtual file: status flags live in the vfile, locks succeed as on a
 * read-only file (read locks are granted, nothing is ever held against us), the rest
 * is the kernel's business on the placeholder. */
static int virtual_fcntl(int fd, int cmd, void *argp, long arg, bool *handled)
{
    *handled = true;
    struct vfile *v = fdtable_get(fd);
    if (!v) {
        *handled = false;
        return 0;
    }
    int rc = 0, saved = errno;
    struct flock *fl = argp;
    bool lock_cmd = cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK ||
                    cmd == F_OFD_SETLKW || cmd == F_GETLK || cmd == F_OFD_GETLK;
    if (lock_cmd && !fl) {
        vfile_unref(v);
        errno = EFAULT;
        return -1;
    }
    switch (cmd) {
    case F_GETFL:
        rc = vfile_status_flags(v);
        break;
    case F_SETFL:
        vfile_set_status_flags(v, (int)arg);
        break;
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        if (fl->l_type == F_WRLCK) {
            errno = EBADF; /* a write lock needs a file open for writing */
            rc = -1;
        }
        break;
    case F_GETLK:
    case F_OFD_GETLK:
        fl->l_type = F_UNLCK;
        break;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        rc = (int)syscall(SYS_fcntl, fd, cmd, arg);
        if (rc >= 0)
            slot_follows(fd, rc);
        break;
    case F_SETFD:
        rc = (int)syscall(SYS_fcntl, fd, cmd, arg);
        if (rc >= 0)
            vfile_sync_inheritance(v, shim_owns_state());
        break;
    default:
        *handled = false;
    }
    vfile_unref(v);
    if (rc >= 0)
        errno = saved;
    return rc;
}

static bool fcntl_takes_pointer(int cmd)
{
    switch (cmd) {
    case F_GETLK: case F_SETLK: case F_SETLKW:
    case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
    case F_GETOWN_EX: case F_SETOWN_EX:
    case F_GET_RW_HINT: case F_SET_RW_HINT: case F_GET_FILE_RW_HINT: case F_SET_FILE_RW_HINT:
        return true;
    default:
        return false;
    }
}

static int fcntl_common(int fd, int cmd, va_list ap)
{
    /* One machine word carries either kind of argument. */
    void *argp = va_arg(ap, void *);
    long arg = (long)argp;
    if (fd_is_vdir(fd) && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) {
        int rc = (int)syscall(SYS_fcntl, fd, cmd, arg);
        if (rc >= 0)
            slot_follows(fd, rc);
        return rc;
    }
    if (!fd_is_plain(fd)) {
        bool handled;
        int rc = virtual_fcntl(fd, cmd, argp, arg, &handled);
        if (handled)
            return rc;
    }
    if (REAL(fcntl))
        return fcntl_takes_pointer(cmd) ? real.fcntl(fd, cmd, argp) : real.fcntl(fd, cmd, arg);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int rc = fcntl_common(fd, cmd, ap);
    va_end(ap);
    return rc;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int rc = fcntl_common(fd, cmd, ap);
    va_end(ap);
    return rc;
}

/* FIOCLEX/FIONCLEX on a virtual file: the kernel refuses ioctl on the placeholder
 * (O_PATH), so they are done with fcntl; any other request is the kernel's. */
EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *argp = va_arg(ap, void *);
    va_end(ap);
    if (__builtin_expect(fd_is_plain(fd), 1) || fd_is_internal(fd) ||
        (request != FIOCLEX && request != FIONCLEX))
        return REAL(ioctl) ? real.ioctl(fd, request, argp)
                           : (int)syscall(SYS_ioctl, fd, request, argp);
    int rc = (int)syscall(SYS_fcntl, fd, F_SETFD, request == FIOCLEX ? FD_CLOEXEC : 0);
    struct vfile *v = rc == 0 ? fdtable_get(fd) : NULL;
    if (v) {
        vfile_sync_inheritance(v, shim_owns_state());
        vfile_unref(v);
    }
    return rc;
}

/* posix_spawn runs its file actions with libc's internal calls, which no hook sees: a
 * virtual descriptor it will dup keeps its record inheritable until the spawn is done. */
EXPORT int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
    int rc = REAL(posix_spawn_file_actions_adddup2)(fa, fd, newfd);
    if (rc == 0 && !fd_is_plain(fd) && !fd_is_internal(fd)) {
        struct vfile *v = fdtable_get(fd);
        if (v) {
            vfile_inherit_for_spawn(v);
            vfile_unref(v);
        }
    }
    return rc;
}

static int spawn_done(int rc)
{
    if (vfile_any_open()) {
        int e = errno;
        vfile_sync_all(shim_owns_state());
        errno = e;
    }
    return rc;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn_done(REAL(posix_spawn)(pid, path, fa, attr, argv, envp));
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn_done(REAL(posix_spawnp)(pid, file, fa, attr, argv, envp));
}

EXPORT int flock(int fd, int op)
{
    if (fd_is_plain(fd) || fd_is_internal(fd))
        return REAL(flock)(fd, op);
    return 0; /* nobody else can hold a conflicting lock on a read-only remote object */
}

/* Writes: a virtual file is open read-only. */
#define REFUSE_ON_VIRTUAL(fd, call)                                                    \
    do {                                                                               \
        if (!fd_is_plain(fd) && !fd_is_internal(fd)) {                                 \
            errno = EBADF;                                                             \
            return -1;                                                                 \
        }                                                                              \
        return call;                                                                   \
    } while (0)

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (fd_is_plain(fd))
        return REAL(write) ? real.write(fd, buf, n) : syscall(SYS_write, fd, buf, n);
    REFUSE_ON_VIRTUAL(fd, REAL(write)(fd, buf, n));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REFUSE_ON_VIRTUAL(fd, REAL(pwrite)(fd, buf, n, off));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REFUSE_ON_VIRTUAL(fd, REAL(pwrite64)(fd, buf, n, off));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REFUSE_ON_VIRTUAL(fd, REAL(writev)(fd, iov, cnt));
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REFUSE_ON_VIRTUAL(fd, REAL(pwritev)(fd, iov, cnt, off));
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    REFUSE_ON_VIRTUAL(fd, REAL(pwritev64)(fd, iov, cnt, off));
}

EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    REFUSE_ON_VIRTUAL(fd, REAL(pwritev2)(fd, iov, cnt, off, flags));
}

EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
    REFUSE_ON_VIRTUAL(fd, REAL(pwritev64v2)(fd, iov, cnt, off, flags));
}

EXPORT int ftruncate(int fd, off_t len)
{
    REFUSE_ON_VIRTUAL(fd, REAL(ftruncate)(fd, len));
}

EXPORT int ftruncate64(int fd, off64_t len)
{
    REFUSE_ON_VIRTUAL(fd, REAL(ftruncate64)(fd, len));
}

EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
    REFUSE_ON_VIRTUAL(fd, REAL(fallocate)(fd, mode, off, len));
}

EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    REFUSE_ON_VIRTUAL(fd, REAL(fallocate64)(fd, mode, off, len));
}

/* posix_fallocate reports errors as its return value. */
EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
    if (!fd_is_plain(fd) && !fd_is_internal(fd))
        return EBADF;
    return REAL(posix_fallocate)(fd, off, len);
}

EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    if (!fd_is_plain(fd) && !fd_is_internal(fd))
        return EBADF;
    return REAL(posix_fallocate64)(fd, off, len);
}

/* Sync: nothing of ours is ever dirty. */
#define NOTHING_TO_DO_ON_VIRTUAL(fd, call)                                             \
    do {                                                                               \
        if (!fd_is_plain(fd) && !fd_is_internal(fd))                                   \
            return 0;                                                                  \
        return call;                                                                   \
    } while (0)

EXPORT int fsync(int fd)
{
    NOTHING_TO_DO_ON_VIRTUAL(fd, REAL(fsync)(fd));
}

EXPORT int fdatasync(int fd)
{
    NOTHING_TO_DO_ON_VIRTUAL(fd, REAL(fdatasync)(fd));
}

EXPORT int syncfs(int fd)
{
    NOTHING_TO_DO_ON_VIRTUAL(fd, REAL(syncfs)(fd));
}

/* Advice: WILLNEED (and readahead(2)) start readahead of the range; the rest is accepted. */
static int advise(int fd, off64_t off, off64_t len, int advice)
{
    if (off < 0 || len < 0 || advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE)
        return EINVAL;
    struct vfile *v = fdtable_get(fd);
    if (!v)
        return EBADF;
    if (advice == POSIX_FADV_WILLNEED && vfile_object(v)) {
        shim_enter();
        object_hint_willneed(vfile_object(v), off, len);
        shim_leave();
    }
    vfile_unref(v);
    return 0;
}

EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
    if (fd_is_plain(fd) || fd_is_internal(fd))
        return REAL(posix_fadvise)(fd, off, len, advice);
    return advise(fd, off, len, advice);
}

EXPORT int posix_fadvise64(int fd, off64_t off, off64_t len, int advice)
{
    if (fd_is_plain(fd) || fd_is_internal(fd))
        return REAL(posix_fadvise64)(fd, off, len, advice);
    return advise(fd, off, len, advice);
}

EXPORT ssize_t readahead(int fd, off64_t off, size_t count)
{
    if (fd_is_plain(fd) || fd_is_internal(fd))
        return REAL(readahead)(fd, off, count);
    int err = advise(fd, off, (off64_t)(count > INT64_MAX ? INT64_MAX : count), POSIX_FADV_WILLNEED);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* libcurl makes a socket pair per handle to wake itself up, without close-on-exec: when
 * that happens inside the shim, the pair is made close-on-exec and kept from the program. */
EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    if (shim_depth == 0)
        return REAL(socketpair) ? real.socketpair(domain, type, protocol, sv)
                                : (int)syscall(SYS_socketpair, domain, type, protocol, sv);
    int rc = (int)syscall(SYS_socketpair, domain, type | SOCK_CLOEXEC, protocol, sv);
    if (rc == 0) {
        for (int i = 0; i < 2; i++) {
            sv[i] = fdtable_move_high(sv[i], true);
            fdtable_mark_internal_socket(sv[i]); /* a forked child closes it */
        }
    }
    return rc;
}
