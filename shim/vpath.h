/* vpath.h: the one place that decides whether a path is virtual: a path as
 * openat(dirfd, path) names it, normalised and matched against the mappings.
 *
 * Errors: vpath_match answers true or false and reports ENOTDIR in *err (a path inside
 * a virtual file); errno is kept.  vpath_url returns NULL when memory runs out. */
#ifndef REMOTEIO_VPATH_H
#define REMOTEIO_VPATH_H

#include <limits.h>
#include <stdbool.h>

#include "config.h"

struct vpath {
    char norm[PATH_MAX];
    const struct mapping *map;
    const char *rest;
    bool dir; /* the path names a directory (a trailing '/' or "/."): *err is ENOTDIR */
};

/* True when (dirfd, path) is a virtual file (v filled), or is inside a virtual
 * directory fd (then *err = ENOTDIR).  A path relative to a virtual directory's
 * descriptor (vdir.h) is taken against that directory's path.  False for everything
 * libc should handle, and for every call made from inside the shim. */
bool vpath_match(int dirfd, const char *path, struct vpath *v, int *err);

/* The URL of a matched path (malloc'd). */
char *vpath_url(const struct vpath *v);

#endif
