/* fdtable.c: see fdtable.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"

_Atomic(struct vfile *) fdtable_slots[FDTABLE_SIZE];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER; /* serialises slot changes */
static atomic_int high_water; /* the highest fd a vfile was put on */

/* A reference on v for the caller (see struct fdtable_entry). */
static void take_ref(struct vfile *v)
{
    atomic_fetch_add_explicit(&((struct fdtable_entry *)v)->refs, 1, memory_order_relaxed);
}

static bool is_vfile(const struct vfile *v)
{
    return v != NULL && v != FD_INTERNAL_SOCKET && v != FD_INTERNAL_OTHER && v != FD_VDIR;
}

struct vfile *fdtable_get(int fd)
{
    if ((unsigned)fd >= FDTABLE_SIZE)
        return NULL;
    pthread_mutex_lock(&slots_lock);
    struct vfile *v = atomic_load_explicit(&fdtable_slots[fd], memory_order_relaxed);
    if (is_vfile(v))
        take_ref(v);
    else
        v = NULL;
    pthread_mutex_unlock(&slots_lock);
    return v;
}

struct vfile *fdtable_set(int fd, struct vfile *v)
{
    if ((unsigned)fd >= FDTABLE_SIZE)
        return NULL;
    take_ref(v);
    pthread_mutex_lock(&slots_lock);
    struct vfile *old = atomic_exchange(&fdtable_slots[fd], v);
    if (fd > atomic_load_explicit(&high_water, memory_order_relaxed))
        atomic_store_explicit(&high_water, fd, memory_order_relaxed);
    pthread_mutex_unlock(&slots_lock);
    return is_vfile(old) ? old : NULL;
}

int fdtable_highest(void)
{
    return atomic_load_explicit(&high_water, memory_order_relaxed);
}

void fdtable_follow_cloexec(struct vfile *v, int record_fd)
{
    int e = errno;
    pthread_mutex_lock(&slots_lock);
    bool inheritable = false;
    int top = atomic_load_explicit(&high_water, memory_order_relaxed);
    for (int fd = 0; fd <= top && !inheritable; fd++) {
        if (atomic_load_explicit(&fdtable_slots[fd], memory_order_relaxed) != v)
            continue;
        long fl = syscall(SYS_fcntl, fd, F_GETFD);
        inheritable = fl >= 0 && !(fl & FD_CLOEXEC);
    }
    syscall(SYS_fcntl, record_fd, F_SETFD, inheritable ? 0 : FD_CLOEXEC);
    pthread_mutex_unlock(&slots_lock);
    errno = e;
}

struct vfile *fdtable_clear(int fd)
{
    if ((unsigned)fd >= FDTABLE_SIZE)
        return NULL;
    pthread_mutex_lock(&slots_lock);
    struct vfile *old = atomic_exchange(&fdtable_slots[fd], NULL);
    pthread_mutex_unlock(&slots_lock);
    return is_vfile(old) ? old : NULL;
}

int fdtable_move_high(int fd, bool cloexec)
{
    static int base_once; /* threads may race to set it: all set the same value */
    int base = __atomic_load_n(&base_once, __ATOMIC_RELAXED);
    if (base == 0) {
        struct rlimit rl;
        long soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                        ? (long)rl.rlim_cur : FDTABLE_SIZE;
        if (soft > FDTABLE_SIZE)
            soft = FDTABLE_SIZE;
        base = soft > 64 ? (int)(soft - soft / 4) : 3;
        __atomic_store_n(&base_once, base, __ATOMIC_RELAXED);
    }
    if (fd < 0 || fd >= base)
        return fd;
    int high = (int)syscall(SYS_fcntl, fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, base);
    if (high < 0 || high >= FDTABLE_SIZE) {
        if (high >= 0)
            syscall(SYS_close, high);
        return fd;
    }
    syscall(SYS_close, fd);
    return high;
}

static void mark(int fd, struct vfile *marker)
{
    if ((unsigned)fd < FDTABLE_SIZE)
        atomic_store(&fdtable_slots[fd], marker);
}

void fdtable_mark_internal(int fd)
{
    mark(fd, FD_INTERNAL_OTHER);
}

void fdtable_mark_vdir(int fd)
{
    mark(fd, FD_VDIR);
}

void fdtable_mark_internal_socket(int fd)
{
    mark(fd, FD_INTERNAL_SOCKET);
}

void fdtable_unmark_internal(int fd)
{
    mark(fd, NULL);
}

void fdtable_close_internal_sockets(void)
{
    for (int fd = 0; fd < FDTABLE_SIZE; fd++) {
        if (atomic_load_explicit(&fdtable_slots[fd], memory_order_relaxed) == FD_INTERNAL_SOCKET) {
            atomic_store(&fdtable_slots[fd], NULL);
            syscall(SYS_close, fd);
        }
    }
}

void fdtable_atfork_prepare(void)
{
    pthread_mutex_lock(&slots_lock);
}

void fdtable_atfork_parent(void)
{
    pthread_mutex_unlock(&slots_lock);
}

void fdtable_atfork_child(void)
{
    pthread_mutex_unlock(&slots_lock); /* taken by this thread in prepare */
}
