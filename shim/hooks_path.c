/* hooks_path.c: calls that would change a file by its path.  A virtual file lives on a
 * read-only file system: truncate, unlink, rename, and chmod or chown on one fail
 * with EROFS; on anything else they go to libc. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"
#include "vpath.h"

/* True when (dirfd, path) is virtual; errno then says why the call fails. */
static bool refused(int dirfd, const char *path)
{
    struct vpath vp;
    int err;
    if (!vpath_match(dirfd, path, &vp, &err))
        return false;
    errno = err ? err : EROFS;
    return true;
}

#define GUARD(dirfd, path)                                                             \
    do {                                                                               \
        if (refused(dirfd, path))                                                      \
            return -1;                                                                 \
    } while (0)

EXPORT int truncate(const char *path, off_t len)
{
    GUARD(AT_FDCWD, path);
    return REAL(truncate)(path, len);
}

EXPORT int truncate64(const char *path, off64_t len)
{
    GUARD(AT_FDCWD, path);
    return REAL(truncate64)(path, len);
}

EXPORT int unlink(const char *path)
{
    GUARD(AT_FDCWD, path);
    return REAL(unlink)(path);
}

EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
    GUARD(dirfd, path);
    return REAL(unlinkat)(dirfd, path, flags);
}

EXPORT int rename(const char *from, const char *to)
{
    GUARD(AT_FDCWD, from);
    GUARD(AT_FDCWD, to);
    return REAL(rename)(from, to);
}

EXPORT int renameat(int fromfd, const char *from, int tofd, const char *to)
{
    GUARD(fromfd, from);
    GUARD(tofd, to);
    return REAL(renameat)(fromfd, from, tofd, to);
}

EXPORT int chmod(const char *path, mode_t mode)
{
    GUARD(AT_FDCWD, path);
    return REAL(chmod)(path, mode);
}

EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
    GUARD(dirfd, path);
    return REAL(fchmodat)(dirfd, path, mode, flags);
}

EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
    GUARD(AT_FDCWD, path);
    return REAL(chown)(path, uid, gid);
}

EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
    GUARD(AT_FDCWD, path);
    return REAL(lchown)(path, uid, gid);
}

EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
    GUARD(dirfd, path);
    return REAL(fchownat)(dirfd, path, uid, gid, flags);
}
