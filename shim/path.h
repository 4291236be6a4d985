/* path.h: lexical path handling for matching paths against mappings, and building the
 * URL of a file under a prefix mapping.  No symlinks are followed: the virtual tree does
 * not exist on disk, and "/remote/../etc/passwd" is "/etc/passwd", never remote.  A path
 * that is not virtual goes to the kernel as written, which resolves it as it would
 * without the shim (ENOENT when /remote is not a directory on disk).
 *
 * Errors: -1 with errno (ENAMETOOLONG, or what the kernel said about dirfd or the cwd),
 * nothing logged; NULL when memory runs out. */
#ifndef REMOTEIO_PATH_H
#define REMOTEIO_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Collapse "//", "." and ".." of an absolute path ("/.." stays "/"); drops a trailing
 * '/'.  Returns 0, or -1 when it does not fit (ENAMETOOLONG) or is not absolute. */
int path_normalise_absolute(const char *in, char *out, size_t outlen);

/* True when path is absolute and has no "//", "." or ".." component (a trailing '/' is
 * allowed): path_normalise_absolute would only drop that slash. */
bool path_is_normal(const char *path);

/* The absolute, normalised form of path as openat(dirfd, path) would see it: relative
 * paths are taken against the cwd (AT_FDCWD) or the directory dirfd refers to.
 * Returns 0, or -1 with errno set. */
int path_resolve(int dirfd, const char *path, char *out, size_t outlen);

/* path_resolve that leaves errno as it was. */
int path_resolve_quiet(int dirfd, const char *path, char *out, size_t outlen);

/* base (ending in '/') followed by rest with every byte outside [A-Za-z0-9-._~/] and
 * [!$&'()*+,;=:@] percent-encoded.  malloc'd; NULL on allocation failure. */
char *url_append_path(const char *base, const char *rest);

#endif
