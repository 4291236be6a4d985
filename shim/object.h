/* object.h: a remote object as one version of it: URL, size, validator, the streams
 * reading it, and its statistics.  Opens of the same URL share one object while its
 * validator is unchanged, so they share cached chunks and readahead.
 *
 * Objects are reference-counted: by open files (vfile), queued readahead and readers in
 * progress.  An object nobody holds lingers for a few seconds in the registry (programs
 * like qemu open the same image several times in a row) and is then freed.
 *
 * Errors: NULL or -1 with errno (ENOENT, EACCES, EIO, ESTALE); the cause is logged
 * where it happened (http.c), once. */
#ifndef REMOTEIO_OBJECT_H
#define REMOTEIO_OBJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"

struct object;
struct iovec;

/* Open the object behind url (path names it in messages).  NULL with errno ENOENT,
 * EACCES or EIO. */
struct object *object_open(const char *path, const char *url, const struct map_options *opt);
/* Re-attach to an object by its recorded version (a file inherited across exec): the
 * object must still have that size and validator, else its reads fail with ESTALE. */
struct object *object_adopt(const char *path, const char *url, const struct map_options *opt,
                            int64_t size, const char *etag, const char *last_modified);
void object_ref(struct object *obj);
void object_unref(struct object *obj);

/* pread semantics: 0 at or past EOF, never a short count before EOF, -1 with errno. */
ssize_t object_pread(struct object *obj, void *buf, size_t len, int64_t offset);
/* The same into cnt buffers (their total must not overflow). */
ssize_t object_preadv(struct object *obj, const struct iovec *iov, int cnt, int64_t offset);
/* A hint from posix_fadvise(WILLNEED) or readahead(2). */
void object_hint_willneed(struct object *obj, int64_t offset, int64_t len);

int64_t object_size(const struct object *obj);
const char *object_url(const struct object *obj); /* where range requests go */
const char *object_etag(const struct object *obj);
const char *object_last_modified(const struct object *obj);

void object_fill_stat(const struct object *obj, struct stat *st);
/* The same for the object at url as a listing describes it (size, mtime), unopened. */
void object_fill_stat_listed(const char *url, int64_t size, time_t mtime, struct stat *st);

/* stat() of a virtual path without opening it: from a live object or a probe. */
int object_stat_url(const char *path, const char *url, const struct map_options *opt,
                    struct stat *st);

/* Print the REMOTEIO_STATS lines to fd: one per virtual path, its totals so far (printing
 * changes no counter).  at_exit: the process is ending, so unread readahead is waste. */
void object_print_stats(int fd, bool at_exit);

void object_atfork_prepare(void);
void object_atfork_parent(void);
void object_atfork_child(void);

#endif
