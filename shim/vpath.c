/* vpath.c: see vpath.h.  No state: it reads the configuration, which never changes after
 * start-up, and the descriptor table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "shim.h"
#include "vdir.h"
#include "vpath.h"

/* v->norm is resolved: the mapping it is in, and whether path names a directory. */
static bool matched(const char *path, struct vpath *v, int *err)
{
    v->map = config_match(&config, v->norm, &v->rest);
    if (v->map) {
        /* "/remote/f/" or "/remote/f/." names a directory, which a file is not. */
        size_t n = strlen(path);
        if (n == 0 || path[n - 1] == '/' || (n >= 2 && strcmp(path + n - 2, "/.") == 0)) {
            *err = ENOTDIR;
            v->dir = true;
        }
    }
    return v->map != NULL;
}

/* path relative to the virtual directory dirfd: its path and path, normalised.  Its
 * root's ("/remote") children are matched as any path; "." is the directory itself
 * ("" is left to the callers that take AT_EMPTY_PATH); ".." may lead out of the
 * mappings (then libc resolves the path as written, relative to the placeholder, and
 * fails). */
static bool in_vdir(int dirfd, const char *path, struct vpath *v, int *err)
{
    if (!path[0])
        return false; /* "" without AT_EMPTY_PATH: the kernel's ENOENT */
    struct vdir *d = vdir_get(dirfd);
    if (!d) {
        *err = EBADF;
        return true;
    }
    char joined[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s/%s", vdir_path(d), path);
    vdir_unref(d);
    if (n < 0 || (size_t)n >= sizeof joined ||
        path_normalise_absolute(joined, v->norm, sizeof v->norm) < 0) {
        *err = ENAMETOOLONG;
        return true;
    }
    if (!matched(path, v, err) && vdir_root_mapping(v->norm)) {
        /* the root itself ("." or ".." back to it): a directory of the mapping */
        v->map = vdir_root_mapping(v->norm);
        v->rest = v->norm + strlen(v->norm); /* "" */
        v->dir = true;
        *err = ENOTDIR;
        return true;
    }
    return v->map != NULL;
}

bool vpath_match(int dirfd, const char *path, struct vpath *v, int *err)
{
    *err = 0;
    if (config.nmaps == 0 || path == NULL || shim_depth > 0)
        return false;
    v->dir = false;
    if (path[0] != '/' && dirfd != AT_FDCWD && fd_is_vdir(dirfd))
        return in_vdir(dirfd, path, v, err);
    if (path[0] != '/' && dirfd != AT_FDCWD && !fd_is_plain(dirfd) && !fd_is_internal(dirfd)) {
        *err = ENOTDIR; /* relative to a virtual file */
        return true;
    }
    /* The common case first: an absolute path already in normal form that no mapping
     * covers is decided without copying it. */
    size_t len = strlen(path);
    if (len > 0 && path[len - 1] != '/' && path_is_normal(path) &&
        !config_match(&config, path, NULL))
        return false;
    int saved = errno;
    int rc = path_resolve(dirfd, path, v->norm, sizeof v->norm);
    errno = saved;
    if (rc < 0)
        return false;
    return matched(path, v, err);
}

char *vpath_url(const struct vpath *v)
{
    return v->map->prefix ? url_append_path(v->map->url, v->rest) : strdup(v->map->url);
}
