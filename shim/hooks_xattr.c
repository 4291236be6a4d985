/* hooks_xattr.c: extended attributes of virtual paths.  A virtual file or directory
 * (and a prefix mapping's own directory when nothing real is there) has none: getxattr
 * fails with ENODATA and listxattr lists nothing, as on a file system without them, so
 * that `ls -l` (which asks for SELinux labels and ACLs) says nothing about them instead
 * of the kernel's ENOENT for a path that is not on disk.  Anything else goes to libc. */
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "path.h"
#include "shim.h"
#include "vdir.h"
#include "vpath.h"

/* Whether path is a virtual file, or a directory of a listable mapping. */
static bool virtual_path(const char *path)
{
    struct vpath vp;
    int err;
    return vpath_match(AT_FDCWD, path, &vp, &err) &&
           (err == 0 || (vp.dir && vdir_listable(vp.map)));
}

/* After libc failed on path (errno its answer): whether path is the directory of a
 * prefix mapping that is not on disk. */
static bool prefix_root(const char *path)
{
    char norm[PATH_MAX];
    return errno == ENOENT && config.nmaps && shim_depth == 0 &&
           path_resolve_quiet(AT_FDCWD, path, norm, sizeof norm) == 0 &&
           config_is_prefix_dir(&config, norm);
}

static ssize_t no_data(void)
{
    errno = ENODATA;
    return -1;
}

EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
    if (virtual_path(path))
        return no_data();
    ssize_t rc = REAL(getxattr)(path, name, value, size);
    return rc < 0 && prefix_root(path) ? no_data() : rc;
}

EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
    if (virtual_path(path))
        return no_data();
    ssize_t rc = REAL(lgetxattr)(path, name, value, size);
    return rc < 0 && prefix_root(path) ? no_data() : rc;
}

EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
    int saved = errno;
    if (virtual_path(path))
        return 0;
    ssize_t rc = REAL(listxattr)(path, list, size);
    if (rc < 0 && prefix_root(path)) {
        errno = saved;
        return 0;
    }
    return rc;
}

EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
    int saved = errno;
    if (virtual_path(path))
        return 0;
    ssize_t rc = REAL(llistxattr)(path, list, size);
    if (rc < 0 && prefix_root(path)) {
        errno = saved;
        return 0;
    }
    return rc;
}
