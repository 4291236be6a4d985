/* real.h: the one table of libc's own functions that the shim's hooks stand in front of.
 *
 * Every call the shim makes to an interposed libc function goes through REAL(name); a bare
 * call would recurse into our own hook.  The table is filled by real_resolve(), called from
 * the library constructor and lazily from any hook that runs earlier (another library's
 * constructor, or dlsym's own calloc).  While it is being filled, REAL() may be NULL: the
 * hooks that can fall back to a raw syscall do so (see the *_raw helpers in hooks).
 *
 * Errors: none here; a NULL REAL(name) means not resolved yet. */
#ifndef REMOTEIO_REAL_H
#define REMOTEIO_REAL_H

#include <dirent.h>
#include <spawn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

struct statx;

#define REAL_FUNCTIONS(X)                                                              \
    X(int, open, (const char *, int, ...))                                             \
    X(int, open64, (const char *, int, ...))                                           \
    X(int, openat, (int, const char *, int, ...))                                      \
    X(int, openat64, (int, const char *, int, ...))                                    \
    X(int, __open_2, (const char *, int))                                              \
    X(int, __open64_2, (const char *, int))                                            \
    X(int, __openat_2, (int, const char *, int))                                       \
    X(int, __openat64_2, (int, const char *, int))                                     \
    X(int, creat, (const char *, mode_t))                                              \
    X(int, creat64, (const char *, mode_t))                                            \
    X(FILE *, fopen, (const char *, const char *))                                     \
    X(FILE *, fopen64, (const char *, const char *))                                   \
    X(FILE *, freopen, (const char *, const char *, FILE *))                           \
    X(FILE *, freopen64, (const char *, const char *, FILE *))                         \
    X(FILE *, fdopen, (int, const char *))                                             \
    X(ssize_t, read, (int, void *, size_t))                                            \
    X(ssize_t, pread, (int, void *, size_t, off_t))                                    \
    X(ssize_t, pread64, (int, void *, size_t, off64_t))                                \
    X(ssize_t, readv, (int, const struct iovec *, int))                                \
    X(ssize_t, preadv, (int, const struct iovec *, int, off_t))                        \
    X(ssize_t, preadv64, (int, const struct iovec *, int, off64_t))                    \
    X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int))                  \
    X(ssize_t, preadv64v2, (int, const struct iovec *, int, off64_t, int))             \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t))                              \
    X(ssize_t, __pread_chk, (int, void *, size_t, off_t, size_t))                      \
    X(ssize_t, __pread64_chk, (int, void *, size_t, off64_t, size_t))                  \
    X(off_t, lseek, (int, off_t, int))                                                 \
    X(off64_t, lseek64, (int, off64_t, int))                                           \
    X(int, stat, (const char *, struct stat *))                                        \
    X(int, lstat, (const char *, struct stat *))                                       \
    X(int, fstat, (int, struct stat *))                                                \
    X(int, fstatat, (int, const char *, struct stat *, int))                           \
    X(int, stat64, (const char *, struct stat64 *))                                    \
    X(int, lstat64, (const char *, struct stat64 *))                                   \
    X(int, fstat64, (int, struct stat64 *))                                            \
    X(int, fstatat64, (int, const char *, struct stat64 *, int))                       \
    X(int, statx, (int, const char *, int, unsigned int, struct statx *))              \
    X(int, access, (const char *, int))                                                \
    X(int, faccessat, (int, const char *, int, int))                                   \
    X(int, euidaccess, (const char *, int))                                            \
    X(int, close, (int))                                                               \
    X(int, close_range, (unsigned int, unsigned int, int))                             \
    X(void, closefrom, (int))                                                          \
    X(int, dup, (int))                                                                 \
    X(int, dup2, (int, int))                                                           \
    X(int, dup3, (int, int, int))                                                      \
    X(int, fcntl, (int, int, ...))                                                     \
    X(int, fcntl64, (int, int, ...))                                                   \
    X(ssize_t, write, (int, const void *, size_t))                                     \
    X(ssize_t, pwrite, (int, const void *, size_t, off_t))                             \
    X(ssize_t, pwrite64, (int, const void *, size_t, off64_t))                         \
    X(ssize_t, writev, (int, const struct iovec *, int))                               \
    X(ssize_t, pwritev, (int, const struct iovec *, int, off_t))                       \
    X(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t))                   \
    X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int))                 \
    X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off64_t, int))            \
    X(int, ftruncate, (int, off_t))                                                    \
    X(int, ftruncate64, (int, off64_t))                                                \
    X(int, fallocate, (int, int, off_t, off_t))                                        \
    X(int, fallocate64, (int, int, off64_t, off64_t))                                  \
    X(int, posix_fallocate, (int, off_t, off_t))                                       \
    X(int, posix_fallocate64, (int, off64_t, off64_t))                                 \
    X(int, fsync, (int))                                                               \
    X(int, fdatasync, (int))                                                           \
    X(int, syncfs, (int))                                                              \
    X(int, posix_fadvise, (int, off_t, off_t, int))                                    \
    X(int, posix_fadvise64, (int, off64_t, off64_t, int))                              \
    X(ssize_t, readahead, (int, off64_t, size_t))                                      \
    X(int, flock, (int, int))                                                          \
    X(int, ioctl, (int, unsigned long, ...))                                           \
    X(int, posix_spawn_file_actions_adddup2, (posix_spawn_file_actions_t *, int, int))  \
    X(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,    \
                         const posix_spawnattr_t *, char *const[], char *const[]))     \
    X(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,   \
                          const posix_spawnattr_t *, char *const[], char *const[]))    \
    X(void *, mmap, (void *, size_t, int, int, int, off_t))                            \
    X(void *, mmap64, (void *, size_t, int, int, int, off64_t))                        \
    X(ssize_t, copy_file_range, (int, off64_t *, int, off64_t *, size_t, unsigned))    \
    X(ssize_t, sendfile, (int, int, off_t *, size_t))                                  \
    X(ssize_t, sendfile64, (int, int, off64_t *, size_t))                              \
    X(ssize_t, splice, (int, off64_t *, int, off64_t *, size_t, unsigned))           \
    X(int, socketpair, (int, int, int, int *))                                        \
    X(int, truncate, (const char *, off_t))                                            \
    X(int, truncate64, (const char *, off64_t))                                        \
    X(int, unlink, (const char *))                                                     \
    X(int, unlinkat, (int, const char *, int))                                         \
    X(int, rename, (const char *, const char *))                                       \
    X(int, renameat, (int, const char *, int, const char *))                           \
    X(int, chmod, (const char *, mode_t))                                              \
    X(int, fchmodat, (int, const char *, mode_t, int))                                 \
    X(int, chown, (const char *, uid_t, gid_t))                                        \
    X(int, lchown, (const char *, uid_t, gid_t))                                       \
    X(int, fchownat, (int, const char *, uid_t, gid_t, int))                           \
    X(DIR *, opendir, (const char *))                                                  \
    X(DIR *, fdopendir, (int))                                                         \
    X(struct dirent *, readdir, (DIR *))                                               \
    X(struct dirent64 *, readdir64, (DIR *))                                           \
    X(int, closedir, (DIR *))                                                          \
    X(int, dirfd, (DIR *))                                                             \
    X(void, rewinddir, (DIR *))                                                        \
    X(long, telldir, (DIR *))                                                          \
    X(void, seekdir, (DIR *, long))                                                    \
    X(ssize_t, getdents64, (int, void *, size_t))                                      \
    X(int, scandir64, (const char *, struct dirent64 ***, int (*)(const struct dirent64 *), \
                       int (*)(const struct dirent64 **, const struct dirent64 **)))   \
    X(ssize_t, getxattr, (const char *, const char *, void *, size_t))                 \
    X(ssize_t, lgetxattr, (const char *, const char *, void *, size_t))                \
    X(ssize_t, listxattr, (const char *, char *, size_t))                              \
    X(ssize_t, llistxattr, (const char *, char *, size_t))

#define REAL_DECLARE(ret, name, args) ret(*name) args;
struct real_table {
    REAL_FUNCTIONS(REAL_DECLARE)
};
#undef REAL_DECLARE

extern struct real_table real;

/* Fill the table (idempotent, safe to call from any hook, even re-entrantly). */
void real_resolve(void);

#define REAL(name) (__builtin_expect(real.name != NULL, 1) ? real.name : (real_resolve(), real.name))

#endif
