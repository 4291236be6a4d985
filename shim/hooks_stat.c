/* hooks_stat.c: stat, statx and access in all their spellings.  A virtual file is a
 * regular file, mode 0444, of the object's size, with Last-Modified as its times; the
 * directory of a prefix mapping ("/remote" for "/remote/") is a directory when nothing
 * real is there, and so are a virtual directory's descriptor and, under an s3://
 * prefix mapping, a name with keys under it (vdir_stat: mode 0555).  glibc 2.33+ exports
 * stat/fstat/fstatat directly and keeps __xstat and friends for older binaries: both
 * are hooked, and all lead to the same few functions. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "object.h"
#include "path.h"
#include "shim.h"
#include "vdir.h"
#include "vpath.h"

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat and stat64 differ");

/* stat of a virtual descriptor. */
static int stat_vfile(int fd, struct stat *st, bool *handled)
{
    struct vfile *v = fdtable_get(fd);
    *handled = v != NULL;
    if (!v)
        return 0;
    int rc = 0;
    if (vfile_object(v)) {
        object_fill_stat(vfile_object(v), st);
    } else {
        errno = vfile_error(v);
        rc = -1;
    }
    vfile_unref(v);
    return rc;
}

/* The real fstatat, or the raw syscall before the table is filled. */
static int pass_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    if (REAL(fstatat))
        return real.fstatat(dirfd, path, st, flags);
    return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

/* Everything ends here: fstatat semantics, with AT_EMPTY_PATH for descriptors. */
static int stat_any(int dirfd, const char *path, struct stat *st, int flags)
{
    int saved = errno;
    if (path && path[0] == '\0' && (flags & AT_EMPTY_PATH) && fd_is_vdir(dirfd)) {
        struct vdir *d = vdir_get(dirfd);
        if (d) {
            vdir_fill_stat(vdir_path(d), st);
            vdir_unref(d);
            return 0;
        }
    }
    if (path && path[0] == '\0' && (flags & AT_EMPTY_PATH) && !fd_is_plain(dirfd)) {
        bool handled;
        int rc = stat_vfile(dirfd, st, &handled);
        if (handled) {
            if (rc == 0)
                errno = saved;
            return rc;
        }
    }
    struct vpath vp;
    int err;
    if (!vpath_match(dirfd, path, &vp, &err)) {
        int rc = pass_fstatat(dirfd, path, st, flags);
        if (rc < 0 && errno == ENOENT && config.nmaps && path && shim_depth == 0) {
            char norm[PATH_MAX];
            if (path_resolve_quiet(dirfd, path, norm, sizeof norm) == 0 &&
                config_is_prefix_dir(&config, norm)) {
                vdir_fill_stat(norm, st);
                errno = saved;
                return 0;
            }
        }
        return rc;
    }
    bool listable = vdir_listable(vp.map);
    if (err && !(err == ENOTDIR && vp.dir && listable)) {
        errno = err;
        return -1;
    }
    if (vp.dir && vp.map->prefix && !vp.rest[0]) { /* a prefix mapping's own directory */
        vdir_fill_stat(vp.norm, st);
        errno = saved;
        return 0;
    }
    if (shim_start_backend() < 0)
        return -1;
    if (listable) { /* a key, else a prefix with keys under it */
        shim_enter();
        int rc = vdir_stat(vp.norm, vp.map, vp.rest, vp.dir, st);
        shim_leave();
        if (rc == 0)
            errno = saved;
        return rc;
    }
    char *url = vpath_url(&vp);
    if (!url) {
        errno = ENOMEM;
        return -1;
    }
    struct map_options opt = config_mapping_options(&config, vp.map);
    shim_enter();
    int rc = object_stat_url(vp.norm, url, &opt, st);
    shim_leave();
    free(url);
    if (rc == 0)
        errno = saved;
    return rc;
}

EXPORT int stat(const char *path, struct stat *st)
{
    return stat_any(AT_FDCWD, path, st, 0);
}

EXPORT int lstat(const char *path, struct stat *st)
{
    return stat_any(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    return stat_any(dirfd, path, st, flags);
}

/* fstat and its spellings.  __fxstat calls this, not the exported name: a runtime preloaded
 * ahead of the shim (TSan's) would take the bare name and forward it back to __fxstat. */
static int fstat_fd(int fd, struct stat *st)
{
    if (fd_is_plain(fd))
        return REAL(fstat) ? real.fstat(fd, st) : (int)syscall(SYS_fstat, fd, st);
    return stat_any(fd, "", st, AT_EMPTY_PATH);
}

EXPORT int fstat(int fd, struct stat *st)
{
    return fstat_fd(fd, st);
}

EXPORT int stat64(const char *path, struct stat64 *st)
{
    return stat_any(AT_FDCWD, path, (struct stat *)st, 0);
}

EXPORT int lstat64(const char *path, struct stat64 *st)
{
    return stat_any(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
    return stat_any(dirfd, path, (struct stat *)st, flags);
}

EXPORT int fstat64(int fd, struct stat64 *st)
{
    if (fd_is_plain(fd))
        return REAL(fstat64) ? real.fstat64(fd, st) : (int)syscall(SYS_fstat, fd, st);
    return stat_any(fd, "", (struct stat *)st, AT_EMPTY_PATH);
}

/* glibc's old stat interface (ver is _STAT_VER, whose layout is struct stat on x86_64). */
EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
    (void)ver;
    return stat_any(AT_FDCWD, path, st, 0);
}

EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
    (void)ver;
    return stat_any(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
    (void)ver;
    return fstat_fd(fd, st);
}

EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
    (void)ver;
    return stat_any(dirfd, path, st, flags);
}

EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
    (void)ver;
    return stat_any(AT_FDCWD, path, (struct stat *)st, 0);
}

EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
    (void)ver;
    return stat_any(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
    (void)ver;
    return fstat_fd(fd, (struct stat *)st);
}

EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
    (void)ver;
    return stat_any(dirfd, path, (struct stat *)st, flags);
}

static void stat_to_statx(const struct stat *st, struct statx *stx)
{
    memset(stx, 0, sizeof *stx);
    stx->stx_mask = STATX_BASIC_STATS;
    stx->stx_blksize = (uint32_t)st->st_blksize;
    stx->stx_nlink = (uint32_t)st->st_nlink;
    stx->stx_uid = st->st_uid;
    stx->stx_gid = st->st_gid;
    stx->stx_mode = (uint16_t)st->st_mode;
    stx->stx_ino = st->st_ino;
    stx->stx_size = (uint64_t)st->st_size;
    stx->stx_blocks = (uint64_t)st->st_blocks;
    stx->stx_atime.tv_sec = st->st_atim.tv_sec;
    stx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
    stx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
    stx->stx_dev_major = major(st->st_dev);
    stx->stx_dev_minor = minor(st->st_dev);
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
    struct vpath vp;
    int err, saved = errno;
    /* glibc declares path nonnull, but Linux 6.11+ accepts NULL with AT_EMPTY_PATH: let the
     * kernel say what it means. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
    bool null_path = path == NULL;
#pragma GCC diagnostic pop
    bool on_fd = (null_path || path[0] == '\0') && (flags & AT_EMPTY_PATH) &&
                 !fd_is_plain(dirfd) && !fd_is_internal(dirfd);
    if (null_path && !on_fd)
        return REAL(statx) ? real.statx(dirfd, path, flags, mask, stx)
                           : (int)syscall(SYS_statx, dirfd, path, flags, mask, stx);
    if (null_path)
        path = ""; /* the virtual file behind dirfd, as with "" */
    bool virtual = on_fd || vpath_match(dirfd, path, &vp, &err);
    bool prefix_dir = false;
    if (!virtual) {
        int rc = REAL(statx) ? real.statx(dirfd, path, flags, mask, stx)
                             : (int)syscall(SYS_statx, dirfd, path, flags, mask, stx);
        if (rc == 0 || errno != ENOENT || !config.nmaps || shim_depth)
            return rc;
        char norm[PATH_MAX];
        prefix_dir = path_resolve_quiet(dirfd, path, norm, sizeof norm) == 0 &&
                     config_is_prefix_dir(&config, norm);
        if (!prefix_dir)
            return rc;
    }
    struct stat st;
    errno = saved;
    int rc = stat_any(dirfd, path, &st, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    if (rc == 0)
        stat_to_statx(&st, stx);
    return rc;
}

/* access(2) on a virtual file: it exists and is readable; never writable or executable. */
static int access_any(int dirfd, const char *path, int mode, int flags, bool *handled)
{
    struct vpath vp;
    int err;
    *handled = vpath_match(dirfd, path, &vp, &err);
    if (!*handled)
        return 0;
    if (err && !(err == ENOTDIR && vp.dir && vdir_listable(vp.map))) {
        errno = err;
        return -1;
    }
    struct stat st;
    int saved = errno;
    if (stat_any(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (mode & W_OK) {
        errno = EROFS;
        return -1;
    }
    if ((mode & X_OK) && !S_ISDIR(st.st_mode)) {
        errno = EACCES;
        return -1;
    }
    errno = saved;
    return 0;
}

EXPORT int access(const char *path, int mode)
{
    bool handled;
    int rc = access_any(AT_FDCWD, path, mode, 0, &handled);
    if (handled)
        return rc;
    return REAL(access) ? real.access(path, mode)
                        : (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
    bool handled;
    int rc = access_any(dirfd, path, mode, flags, &handled);
    if (handled)
        return rc;
    return REAL(faccessat)(dirfd, path, mode, flags);
}

EXPORT int euidaccess(const char *path, int mode)
{
    bool handled;
    int rc = access_any(AT_FDCWD, path, mode, 0, &handled);
    if (handled)
        return rc;
    return REAL(euidaccess)(path, mode);
}

EXPORT int eaccess(const char *path, int mode)
{
    return euidaccess(path, mode);
}
