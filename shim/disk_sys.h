/* disk_sys.h: the disk cache's I/O seam: thin wrappers over raw syscalls.  Inside the shim,
 * libc's open, pread, pwrite, mmap, fcntl... are our own hooks (real.h), and the standalone
 * tests have no REAL() table; raw syscalls are right in both.  Each returns what the
 * syscall returns (-1 with errno set on failure).  No state, no locking. */
#ifndef REMOTEIO_DISK_SYS_H
#define REMOTEIO_DISK_SYS_H

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline int sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    return (int)syscall(SYS_openat, dirfd, path, flags | O_CLOEXEC, mode);
}
static inline int sys_close(int fd) { return (int)syscall(SYS_close, fd); }
static inline int sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
    return (int)syscall(SYS_mkdirat, dirfd, path, mode);
}
static inline int sys_fstat(int fd, struct stat *st) { return (int)syscall(SYS_fstat, fd, st); }
static inline int sys_lstat(const char *path, struct stat *st)
{
    return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
static inline int sys_fstatfs(int fd, struct statfs *st)
{
    return (int)syscall(SYS_fstatfs, fd, st);
}
static inline ssize_t sys_pread(int fd, void *buf, size_t len, off_t off)
{
    return syscall(SYS_pread64, fd, buf, len, off);
}
static inline ssize_t sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return syscall(SYS_pwrite64, fd, buf, len, off);
}
static inline int sys_ftruncate(int fd, off_t len) { return (int)syscall(SYS_ftruncate, fd, len); }
static inline int sys_fallocate(int fd, off_t off, off_t len)
{
    return (int)syscall(SYS_fallocate, fd, 0, off, len);
}
static inline int sys_ioctl(int fd, unsigned long req, void *arg)
{
    return (int)syscall(SYS_ioctl, fd, req, arg);
}
static inline int sys_ofd_lock(int fd, short type) /* F_RDLCK, F_WRLCK: try, never wait */
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    return (int)syscall(SYS_fcntl, fd, F_OFD_SETLK, &fl);
}
static inline void *sys_mmap_shared(int fd, size_t len)
{
    long p = syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == -1 ? MAP_FAILED : (void *)p;
}
static inline void *sys_mmap_anon(size_t len)
{
    long p = syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    return p == -1 ? MAP_FAILED : (void *)p;
}
static inline int sys_munmap(void *p, size_t len) { return (int)syscall(SYS_munmap, p, len); }
static inline ssize_t sys_getrandom(void *buf, size_t len)
{
    return syscall(SYS_getrandom, buf, len, 0);
}
/* Is pid alive?  (EPERM: alive, another user's.) */
static inline int sys_alive(int32_t pid)
{
    return pid > 0 && (syscall(SYS_kill, pid, 0) == 0 || errno != ESRCH);
}
/* Wait on a word of a MAP_SHARED mapping (a cross-process futex), at most ms. */
static inline void sys_futex_wait(uint32_t *word, uint32_t val, uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
    syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}
static inline void sys_futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

#endif
