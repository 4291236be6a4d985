/* vdir.h: open virtual directories, the counterpart of a directory's open file
 * description: the directory's virtual path, a snapshot of its entries and a position.
 * Only an s3:// prefix mapping has directories (vdir_listable); a plain HTTP one has no
 * listing, and its directories cannot be opened.
 *
 * The snapshot is taken once, when the directory is opened (opendir, or openat with
 * O_DIRECTORY, which fdopendir follows): one ListObjectsV2 listing, every page of it
 * (s3_list.h), "." and ".." first, then the names sorted; a name that is both a key and a
 * prefix is listed once, as the file.  rewinddir goes back to the start of the same
 * snapshot.  The last VDIR_RECENT listings answer stat of their entries for
 * VDIR_STAT_MS after they were taken (ls -l, du and find stat every entry they list):
 * a file as the listing says (Size, LastModified; the object's own inode number), a
 * prefix as a directory; open probes the object as always, so a read never depends on
 * a listing.  At most VDIR_MAX_ENTRIES entries (and VDIR_NAMES_MAX bytes of names) per
 * directory: a larger one fails to open with EOVERFLOW and one line, never a partial
 * listing.
 *
 * The descriptor the program sees is real: O_PATH of a fresh socket inode, as a vfile's
 * (the kernel refuses getdents64 and fchdir on it, so nothing reads another directory);
 * its fdtable slot holds FD_VDIR and this file's table the vdir.  Duplicates (dup,
 * F_DUPFD) share the vdir and so its position.  A directory's stat is S_IFDIR 0555 on the
 * objects' device, its inode a hash of its path (the same for stat and fstat, different
 * per directory, as fts's cycle checks need).
 *
 * Locking: one mutex guards the table of descriptors, the recent listings and the
 * reference counts; each
 * vdir's own mutex guards its position.  Listing happens before either is taken.
 *
 * Errors: -1 (or NULL) with errno: ENOENT (nothing under the prefix), ENOTDIR (a file
 * there, or a mapping without listings), EOVERFLOW, EACCES, EIO, ENOMEM. */
#ifndef REMOTEIO_VDIR_H
#define REMOTEIO_VDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"

#define VDIR_MAX_ENTRIES 100000
#define VDIR_NAMES_MAX (16 << 20)
#define VDIR_RECENT 4        /* listings kept after their directory is closed... */
#define VDIR_STAT_MS 10000   /* ...answering stat of their entries for this long */

struct vdir;

struct vdir_entry {
    const char *name;
    unsigned char type; /* DT_DIR or DT_REG */
    uint64_t ino;
    int64_t size;
    time_t mtime;
};

/* Whether m's directories can be listed (an s3:// prefix mapping). */
bool vdir_listable(const struct mapping *m);
/* The prefix mapping whose directory norm is ("/remote" for "/remote/"), or NULL. */
const struct mapping *vdir_root_mapping(const char *norm);

/* Opens the directory norm (normalised, no trailing '/') of mapping m, rest being the
 * part inside it ("" for its root): lists it, and returns the new descriptor (flags:
 * O_CLOEXEC is kept), or -1 with errno. */
int vdir_open(const char *norm, const struct mapping *m, const char *rest, int flags);

/* stat of norm (mapping m, rest inside it) when it may be a directory: a key that is
 * there is a file (object_stat_url); else a prefix with keys under it is a directory.
 * dir_only (a trailing '/'): only a directory will do.  0, or -1 with errno. */
int vdir_stat(const char *norm, const struct mapping *m, const char *rest, bool dir_only,
              struct stat *st);
/* The stat of a virtual directory at norm. */
void vdir_fill_stat(const char *norm, struct stat *st);

/* The vdir on fd, with a reference for the caller (vdir_unref), or NULL. */
struct vdir *vdir_get(int fd);
void vdir_ref(struct vdir *d);
void vdir_unref(struct vdir *d);
/* The kernel made newfd a copy of fd: newfd names fd's vdir too. */
void vdir_dup(int fd, int newfd);
/* fd no longer names its vdir (closed, or replaced by dup2): the table forgets it. */
void vdir_forget(int fd);

const char *vdir_path(const struct vdir *d);
/* Calls put(arg, entry, index) for the entries from the position on while it returns
 * true, and moves the position past those taken; returns how many were. */
size_t vdir_read(struct vdir *d, bool (*put)(void *arg, const struct vdir_entry *e, size_t index),
                 void *arg);
size_t vdir_tell(struct vdir *d);
void vdir_seek(struct vdir *d, size_t pos);
size_t vdir_count(const struct vdir *d);

#endif
