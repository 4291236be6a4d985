/* vfile.h: an open virtual file, the counterpart of the kernel's open file description:
 * the object it reads, its file offset and status flags.  Duplicated descriptors share
 * one vfile and so one offset.
 *
 * The descriptor the program sees is real: an O_PATH descriptor of a socket inode, made
 * for the purpose.  The kernel refuses read(2), mmap(2) and io_uring reads on it with
 * EBADF and reopening it through /proc/self/fd with ENXIO, so a call that bypasses the
 * shim fails instead of returning wrong bytes.
 *
 * Beside it, a record (path, the URLs in display form, size, validator, offset, status
 * flags; never a secret) lives in a memfd named after the socket inode, held by the shim
 * as one of its own descriptors and mapped shared: a forked child shares the offset with
 * its parent as the kernel would, and a program exec'd with the shim finds the record
 * and the descriptors that name it, and re-attaches, taking the full URL from its own
 * configuration.  The record is inherited only while a descriptor naming it is.
 *
 * Errors: -1 (or NULL) with errno, as the matching system call would set it. */
#ifndef REMOTEIO_VFILE_H
#define REMOTEIO_VFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct vfile;
struct object;
struct iovec;

/* Open the virtual file at path (normalised) for mapping m; returns a descriptor, or -1
 * with errno.  flags are open(2)'s. */
int vfile_open(const char *path, const struct mapping *m, const char *rest, int flags);

/* Open the file descriptor fd refers to again (/dev/fd/N, /proc/self/fd/N, /dev/stdin):
 * a new description with its own offset, as the kernel does for a regular file. */
int vfile_reopen(struct vfile *v, int flags);

/* True while any virtual file is open in this process (a cheap filter for hooks). */
bool vfile_any_open(void);

void vfile_ref(struct vfile *v);
void vfile_unref(struct vfile *v);

struct object *vfile_object(const struct vfile *v); /* NULL: unusable (vfile_error) */
int vfile_error(const struct vfile *v); /* why it is unusable: EACCES, ESTALE, EIO... */
ssize_t vfile_pread(struct vfile *v, void *buf, size_t len, int64_t offset);
ssize_t vfile_preadv(struct vfile *v, const struct iovec *iov, int cnt, int64_t offset);
ssize_t vfile_read(struct vfile *v, void *buf, size_t len);
/* read(2)'s use of the offset, for callers that read in pieces (readv): claim len bytes
 * at the current offset, then settle with how many were used (-1: none). */
int64_t vfile_claim(struct vfile *v, size_t len);
void vfile_settle(struct vfile *v, int64_t pos, size_t len, ssize_t used);
int64_t vfile_lseek(struct vfile *v, int64_t offset, int whence);
int vfile_status_flags(const struct vfile *v);
void vfile_set_status_flags(struct vfile *v, int flags);

/* The record is close-on-exec exactly while every descriptor naming v is: call after
 * any change of v's descriptors (open, dup, close, F_SETFD).  owner: this process owns
 * the slots (false in a vfork child, which asks the kernel instead). */
void vfile_sync_inheritance(struct vfile *v, bool owner);
/* The same for every vfile in the table (after close_range, posix_spawn). */
void vfile_sync_all(bool owner);
/* A posix_spawn file action will dup v's descriptor into the child: keep the record
 * inheritable until the spawn's vfile_sync_all. */
void vfile_inherit_for_spawn(struct vfile *v);

/* At start-up: find the records inherited across exec (up to max); then, once the
 * backend runs, re-attach each one to the descriptors that name it (calling
 * attached(fd) for each), or close it when none does. */
struct vfile_inherited {
    int record_fd;
    unsigned long ino;
};
int vfile_find_inherited(struct vfile_inherited *found, int max);
void vfile_adopt(const struct vfile_inherited *rec, void (*attached)(int fd));

#endif
