/* fdtable.h: which file descriptors are the shim's business.
 *
 * One slot per descriptor number below FDTABLE_SIZE: NULL for an ordinary descriptor
 * (the fast path: hooks test it with one atomic load and go straight to libc), a vfile
 * for a virtual file, or a marker for the shim's own descriptors (sockets, log file),
 * which a program closing every descriptor must not take from us, or FD_VDIR for a
 * virtual directory (vdir.c's table says which).
 *
 * A vfile in a slot holds one reference; fdtable_get() hands the caller another, so a
 * thread closing the descriptor while another reads it leaves the reader a live vfile.
 * Slots change under one mutex; readers of the fast path take none.
 *
 * Errors: none reported: a number outside the table is an ordinary descriptor, and
 * fdtable_move_high leaves fd where it is when it cannot move it. */
#ifndef REMOTEIO_FDTABLE_H
#define REMOTEIO_FDTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define FDTABLE_SIZE 65536

struct vfile;

/* The head of every vfile: its reference count, so that the table can take a reference
 * under its lock without calling up into vfile.c (vfile_unref drops them). */
struct fdtable_entry {
    atomic_int refs;
};

extern _Atomic(struct vfile *) fdtable_slots[FDTABLE_SIZE];

#define FD_INTERNAL_SOCKET ((struct vfile *)1)
#define FD_INTERNAL_OTHER ((struct vfile *)2)
/* A virtual directory (vdir.h keeps what it is): the program's, not a vfile. */
#define FD_VDIR ((struct vfile *)3)

static inline struct vfile *fdtable_peek(int fd)
{
    if ((unsigned)fd >= FDTABLE_SIZE)
        return NULL;
    return atomic_load_explicit(&fdtable_slots[fd], memory_order_acquire);
}

/* True for descriptors the shim leaves to libc: the fast path. */
static inline bool fd_is_plain(int fd)
{
    return __builtin_expect(fdtable_peek(fd) == NULL, 1);
}

static inline bool fd_is_internal(int fd)
{
    struct vfile *v = fdtable_peek(fd);
    return v == FD_INTERNAL_SOCKET || v == FD_INTERNAL_OTHER;
}

static inline bool fd_is_vdir(int fd)
{
    return fdtable_peek(fd) == FD_VDIR;
}

/* The vfile on fd with a reference for the caller (vfile_unref), or NULL. */
struct vfile *fdtable_get(int fd);
/* Put v on fd (taking a reference); returns what was there (a reference for the caller
 * to drop), or NULL. */
struct vfile *fdtable_set(int fd, struct vfile *v);
/* Empty fd's slot; returns the vfile that was there (caller drops it), or NULL. */
struct vfile *fdtable_clear(int fd);

/* The highest descriptor a vfile was ever put on (scans stop there). */
int fdtable_highest(void);
/* record_fd gets FD_CLOEXEC exactly when every descriptor whose slot holds v has it
 * (under the slots lock, so concurrent changes settle on the last one's view). */
void fdtable_follow_cloexec(struct vfile *v, int record_fd);

/* The shim's own descriptors live high (from 3/4 of RLIMIT_NOFILE), away from the low
 * numbers programs pick themselves (`exec 3<file`, dup2(fd, 3)).  Returns fd moved
 * there (fd itself closed), close-on-exec if asked, or fd unchanged if impossible. */
int fdtable_move_high(int fd, bool cloexec);
void fdtable_mark_internal(int fd);
void fdtable_mark_vdir(int fd);
void fdtable_mark_internal_socket(int fd);
void fdtable_unmark_internal(int fd);
/* In a forked child: close the parent's connection sockets (raw close, no traffic). */
void fdtable_close_internal_sockets(void);

void fdtable_atfork_prepare(void);
void fdtable_atfork_parent(void);
void fdtable_atfork_child(void);

#endif
