/* init.c: the process lifecycle: start-up, fork and exit.
 *
 * The constructor fills the table of real functions and reads the configuration, which
 * is all the fast path needs.  libcurl (loaded then, see libcurl.h) and the cache start
 * on the first virtual open: a program that never touches a virtual file pays nothing
 * more.  Descriptors inherited across exec are re-attached at start-up.  At exit the
 * statistics are written (report.h).  At fork, every lock of the shim is taken in
 * a fixed order, so the child gets them in a consistent state and rebuilds what threads
 * it needs lazily.
 */
#include "libcurl.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>

#include "aws_creds.h"
#include "cache.h"
#include "crypto.h"
#include "disk_tier.h"
#include "header_cmd.h"
#include "lifecycle.h"
#include "log.h"
#include "object.h"
#include "pool.h"
#include "prefetch.h"
#include "report.h"
#include "s3.h"
#include "shim.h"
#include "trace.h"

__thread int shim_depth __attribute__((tls_model("initial-exec")));
__thread int shim_cancel_state __attribute__((tls_model("initial-exec")));

static pid_t shim_pid; /* the process the shim's state belongs to */

bool shim_owns_state(void)
{
    return (pid_t)syscall(SYS_getpid) == __atomic_load_n(&shim_pid, __ATOMIC_RELAXED);
}

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int backend_state; /* 0 not started, 1 running, -1 failed; under start_lock */

static bool exiting; /* see lifecycle.h */

bool shim_exiting(void)
{
    return __atomic_load_n(&exiting, __ATOMIC_RELAXED);
}

void shim_set_exiting(void)
{
    __atomic_store_n(&exiting, true, __ATOMIC_RELAXED);
}

/* Registered after libcurl (and its TLS library) registered theirs, so it runs first. */
static void stop_readahead_at_exit(void)
{
    if (shim_owns_state()) { /* a vfork child that calls exit() leaves its parent's alone */
        prefetch_stop(100);
        trace_exit(); /* the recordings not written yet; the waste counted */
        disk_tier_detach();
    }
}

int shim_start_backend(void)
{
    if (__atomic_load_n(&backend_state, __ATOMIC_ACQUIRE) == 1)
        return 0;
    pthread_mutex_lock(&start_lock);
    if (backend_state == 0) {
        shim_enter();
        if (libcurl_load() < 0) {
            backend_state = -1;
        } else if (prefetch_init(), atexit(stop_readahead_at_exit) != 0) {
            backend_state = -1;
        } else if (cache_init(config.chunk_size,
                              config.cache_size - disk_tier_memory_share(config.cache_size)) < 0) {
            backend_state = -1;
        } else {
            for (size_t i = 0; i < config.nmaps; i++)
                if (s3_is_url(config.maps[i].url)) {
                    crypto_available(); /* libcrypto found now, inside the shim (logged once) */
                    break;
                }
            disk_tier_start(cache_chunk_size()); /* without it on a failure: logged */
            __atomic_store_n(&backend_state, 1, __ATOMIC_RELEASE);
            report_start();
        }
        shim_leave();
    }
    int ok = backend_state == 1 ? 0 : -1;
    pthread_mutex_unlock(&start_lock);
    if (ok < 0)
        errno = EIO;
    return ok;
}

/* start_lock may be held across dlopen(libcurl), whose libraries' constructors may
 * register fork handlers: waiting for it here could deadlock on libcs that run prepare
 * handlers under their own lock.  It is taken only if free; a child forked while another
 * thread was starting the backend starts it again itself (backend_state is set last). */
static bool start_lock_held;

static void atfork_prepare(void)
{
    start_lock_held = pthread_mutex_trylock(&start_lock) == 0;
    object_atfork_prepare();
    prefetch_atfork_prepare();
    cache_atfork_prepare();
    pool_atfork_prepare();
    fdtable_atfork_prepare();
    s3_atfork_prepare();
    header_cmd_atfork_prepare();
    aws_credentials_atfork_prepare();
    log_atfork_prepare(); /* a leaf: taken under others (the cache's) */
}

static void atfork_parent(void)
{
    log_atfork_parent();
    aws_credentials_atfork_parent();
    header_cmd_atfork_parent();
    s3_atfork_release();
    fdtable_atfork_parent();
    pool_atfork_parent();
    cache_atfork_parent();
    prefetch_atfork_parent();
    object_atfork_parent();
    if (start_lock_held)
        pthread_mutex_unlock(&start_lock);
}

static void atfork_child(void)
{
    __atomic_store_n(&shim_pid, (pid_t)syscall(SYS_getpid), __ATOMIC_RELAXED);
    log_atfork_child();
    header_cmd_atfork_child();
    s3_atfork_release();
    fdtable_atfork_child();
    pool_atfork_child();
    cache_atfork_child();
    object_atfork_child();
    prefetch_atfork_child();
    trace_atfork_child();
    aws_credentials_atfork_child();
    report_atfork_child();
    if (start_lock_held)
        pthread_mutex_unlock(&start_lock);
    else
        pthread_mutex_init(&start_lock, NULL); /* held by a thread that is not here */
}

/* A descriptor re-attached at start-up.  stdio looks at descriptor 0 itself, in its own
 * constructor, which runs after this one (hooks_stdio.c). */
static void adopted(int fd)
{
    (void)fd;
}

__attribute__((constructor(101))) static void shim_constructor(void)
{
    real_resolve();
    int saved = errno;
    shim_pid = (pid_t)syscall(SYS_getpid);
    config_load();
    if (log_file_descriptor() > 2) /* survives programs closing all fds */
        fdtable_mark_internal(log_set_descriptor(fdtable_move_high(log_file_descriptor(), true)));
    report_init();
    if (config.nmaps > 0) {
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        struct vfile_inherited found[256];
        int n = vfile_find_inherited(found, 256);
        if (n > 0 && shim_start_backend() == 0) {
            shim_enter();
            for (int i = 0; i < n; i++)
                vfile_adopt(&found[i], adopted);
            shim_leave();
        }
    }
    errno = saved;
}

__attribute__((destructor)) static void shim_destructor(void)
{
    report_at_exit();
}
