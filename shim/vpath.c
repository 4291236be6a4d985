/* vpath.c: see vpath.h.  No state: it reads the configuration, which never changes after
 * start-up, and the descriptor table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "shim.h"
#include "vpath.h"

bool vpath_match(int dirfd, const char *path, struct vpath *v, int *err)
{
    *err = 0;
    if (config.nmaps == 0 || path == NULL || shim_depth > 0)
        return false;
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
    v->map = config_match(&config, v->norm, &v->rest);
    if (v->map) {
        /* "/remote/f/" or "/remote/f/." names a directory, which a file is not. */
        size_t n = strlen(path);
        if (n == 0 || path[n - 1] == '/' || (n >= 2 && strcmp(path + n - 2, "/.") == 0))
            *err = ENOTDIR;
    }
    return v->map != NULL;
}

char *vpath_url(const struct vpath *v)
{
    return v->map->prefix ? url_append_path(v->map->url, v->rest) : strdup(v->map->url);
}
