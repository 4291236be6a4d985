/* report.c: see report.h.
 *
 * Locks: report_lock guards the thread's state and serialises the writers (the thread,
 * the last close, the destructor); it is taken before the object registry's lock.  A
 * forked child re-initialises it: only the parent's threads could have held it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "fdtable.h"
#include "object.h"
#include "report.h"
#include "shim.h"
#include "vfile.h"

static int stderr_copy = -1; /* where REMOTEIO_STATS=1 writes */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t report_wake;
static bool thread_running; /* the interval thread exists (in this process)... */
static pthread_t thread;    /* ...and is this one */
static bool exiting;        /* the final lines are written: the thread stops */

void report_init(void)
{
    if (!config.stats || strcmp(config.stats, "-") != 0)
        return;
    stderr_copy = fdtable_move_high((int)syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 3), true);
    if (stderr_copy >= 0)
        fdtable_mark_internal(stderr_copy);
}

/* Called with report_lock held. */
static void write_lines(bool at_exit)
{
    if (strcmp(config.stats, "-") == 0) {
        if (stderr_copy >= 0)
            object_print_stats(stderr_copy, at_exit);
        return;
    }
    /* O_NONBLOCK: a FIFO nobody reads fails at once instead of holding the lock for ever. */
    int fd = (int)syscall(SYS_openat, AT_FDCWD, config.stats,
                          O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd >= 0) {
        syscall(SYS_fcntl, fd, F_SETFL, O_APPEND);
        object_print_stats(fd, at_exit);
        syscall(SYS_close, fd);
    }
}

static void *interval_thread(void *arg)
{
    shim_enter(); /* for good: whatever this thread calls is the shim's own */
    pthread_mutex_lock(&report_lock);
    while (!exiting) {
        struct timespec until = deadline_timespec(now_ms() + config.stats_interval_ms);
        int rc = 0;
        while (!exiting && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&report_wake, &report_lock, &until);
        if (!exiting)
            write_lines(false);
    }
    pthread_mutex_unlock(&report_lock);
    return NULL;
}

/* Called with report_lock held. */
static void start_thread_locked(void)
{
    if (thread_running || exiting || !config.stats || config.stats_interval_ms == 0)
        return;
    cond_init_monotonic(&report_wake);
    /* The thread takes none of the program's signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&thread, NULL, interval_thread, NULL) == 0)
        thread_running = true;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void report_start(void)
{
    if (!config.stats || config.stats_interval_ms == 0)
        return;
    pthread_mutex_lock(&report_lock);
    start_thread_locked();
    pthread_mutex_unlock(&report_lock);
}

void report_file_closed(void)
{
    if (!config.stats || config.stats_interval_ms == 0 || vfile_any_open())
        return;
    int saved = errno;
    pthread_mutex_lock(&report_lock);
    if (!exiting)
        write_lines(false);
    pthread_mutex_unlock(&report_lock);
    errno = saved;
}

void report_at_exit(void)
{
    if (!config.stats || !shim_owns_state()) /* a vfork child's exit is not ours */
        return;
    int saved = errno;
    pthread_mutex_lock(&report_lock);
    bool join = thread_running && !exiting;
    if (!exiting) {
        exiting = true;
        if (thread_running)
            pthread_cond_signal(&report_wake);
        write_lines(true);
    }
    pthread_mutex_unlock(&report_lock);
    /* The thread ends at once (it only waits or writes under the lock): let it end before
     * the process does, bounded all the same. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (join)
        pthread_timedjoin_np(thread, NULL, &until);
    errno = saved;
}

void report_atfork_child(void)
{
    pthread_mutex_init(&report_lock, NULL);
    bool had_thread = thread_running;
    thread_running = false;
    if (had_thread)
        start_thread_locked(); /* no other thread here: the lock is not needed */
}
