/* pool.c: see pool.h.  Locking: pool_lock guards the idle list and the counts; it is
 * never held across a libcurl call (handles are made, reset and cleaned up outside it). */
#include "libcurl.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "http_request.h"
#include "pool.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static pthread_cond_t pool_cond;
/* An idle handle: a plain one (origin NULL: libcurl manages its connections), or one
 * holding a direct connection to origin ("scheme://host:port"). */
struct idle_handle {
    CURL *h;
    char *origin;
};
static struct idle_handle *idle; /* handles ready for reuse, most recent last */
static unsigned n_idle;
static unsigned n_busy;  /* handles lent out */
static unsigned n_limit; /* config.connections, read once */
static bool pool_ready;

/* Our sockets are close-on-exec (Debian 12's libcurl does not ask for it) and marked as
 * the shim's own, so a program closing every descriptor cannot pull them from under us. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)arg;
    (void)purpose;
    int fd = fdtable_move_high(socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol), true);
    if (fd >= 0)
        fdtable_mark_internal_socket(fd);
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

static int close_socket(void *arg, curl_socket_t fd)
{
    (void)arg;
    fdtable_unmark_internal(fd);
    return (int)syscall(SYS_close, fd);
}

static void set_common_options(CURL *h)
{
    libcurl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    libcurl.easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    libcurl.easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    libcurl.easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    libcurl.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    libcurl.easy_setopt(h, CURLOPT_BUFFERSIZE, 128L * 1024);
    libcurl.easy_setopt(h, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    libcurl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    libcurl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)config.connect_timeout_ms);
    libcurl.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (config.insecure) {
        libcurl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        libcurl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static void pool_init_locked(void)
{
    if (pool_ready)
        return;
    cond_init_monotonic(&pool_cond);
    n_limit = config.connections ? config.connections : 1;
    idle = calloc(n_limit, sizeof *idle);
    pool_ready = idle != NULL;
}

/* Takes the idle handle to reuse for origin (NULL: a plain handle), with pool_lock held:
 * the most recent one of that kind, else (or when fresh) the oldest one, whose connection
 * is then closed (outside the lock, by the caller).  *reused says whether it is of the
 * kind. */
static CURL *take_idle(const char *origin, bool fresh, bool *reused, CURL **to_close)
{
    *reused = false;
    *to_close = NULL;
    if (n_idle == 0)
        return NULL;
    unsigned pick = 0;
    for (unsigned i = n_idle; !fresh && i-- > 0;) {
        const char *o = idle[i].origin;
        if (origin ? o && strcmp(o, origin) == 0 : !o) {
            pick = i;
            *reused = true;
            break;
        }
    }
    struct idle_handle e = idle[pick];
    memmove(&idle[pick], &idle[pick + 1], (n_idle - pick - 1) * sizeof *idle);
    n_idle--;
    free(e.origin);
    if (*reused)
        return e.h;
    *to_close = e.h;
    return NULL;
}

/* Count one more handle lent out, waiting (demand reads only) until deadline_ms for the
 * limit to allow it; *h is the idle handle to reuse for origin, or NULL, and *to_close
 * one to clean up (see take_idle).  0, or -ENOMEM / -ETIMEDOUT. */
static int lend(const char *origin, bool fresh, uint64_t deadline_ms, bool demand,
                bool *reused, CURL **h, CURL **to_close)
{
    LOCK_FOR_SCOPE(&pool_lock);
    pool_init_locked();
    if (!pool_ready)
        return -ENOMEM;
    unsigned reserve = demand ? 0 : (n_limit >= 4 ? n_limit / 4 : 0);
    while (n_busy + reserve >= n_limit) {
        if (!demand || now_ms() >= deadline_ms)
            return -ETIMEDOUT;
        struct timespec ts = deadline_timespec(deadline_ms);
        pthread_cond_timedwait(&pool_cond, &pool_lock, &ts);
    }
    *h = take_idle(origin, fresh, reused, to_close);
    n_busy++;
    return 0;
}

/* A handle lent out is back (or gone). */
static void unlend(void)
{
    LOCK_FOR_SCOPE(&pool_lock);
    n_busy--;
    pthread_cond_signal(&pool_cond);
}

/* pool_get and pool_get_direct. */
static CURL *get_handle(const char *origin, bool fresh, uint64_t deadline_ms, bool demand,
                        bool *reused)
{
    CURL *h = NULL, *to_close = NULL;
    *reused = false;
    int rc = lend(origin, fresh, deadline_ms, demand, reused, &h, &to_close);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    if (to_close)
        libcurl.easy_cleanup(to_close);
    if (h && origin)
        return h; /* connected: used as it is */
    if (!h) {
        h = libcurl.easy_init();
        if (!h) {
            unlend();
            errno = ENOMEM;
            return NULL;
        }
    } else {
        libcurl.easy_reset(h); /* keeps the live connection */
    }
    set_common_options(h);
    return h;
}

CURL *pool_get(uint64_t deadline_ms, bool demand)
{
    bool reused;
    return get_handle(NULL, false, deadline_ms, demand, &reused);
}

CURL *pool_get_direct(const char *origin, bool fresh, uint64_t deadline_ms, bool demand,
                      bool *connected)
{
    return get_handle(origin, fresh, deadline_ms, demand, connected);
}

static void put_handle(CURL *h, const char *origin)
{
    char *CLEANUP_FREE tag = origin ? strdup(origin) : NULL;
    {
        LOCK_FOR_SCOPE(&pool_lock);
        n_busy--;
        if (h && (tag || !origin) && n_idle < n_limit) {
            idle[n_idle++] = (struct idle_handle){ h, tag };
            h = NULL;
            tag = NULL;
        }
        pthread_cond_signal(&pool_cond);
    }
    if (h)
        libcurl.easy_cleanup(h);
}

void pool_put(CURL *h)
{
    put_handle(h, NULL);
}

void pool_put_direct(CURL *h, const char *origin)
{
    put_handle(h, origin);
}

void pool_discard(CURL *h)
{
    unlend();
    libcurl.easy_cleanup(h);
}

void pool_atfork_prepare(void)
{
    pthread_mutex_lock(&pool_lock);
}

void pool_atfork_parent(void)
{
    pthread_mutex_unlock(&pool_lock);
}

void pool_atfork_child(void)
{
    /* The handles and their sockets belong to the parent's connections.  Close our copies
     * of the sockets (fdtable knows them) without any protocol traffic, and leak the
     * handles' memory: cleaning them up could write to the shared connections. */
    pool_ready = false;
    idle = NULL;
    n_idle = n_busy = 0;
    pthread_mutex_unlock(&pool_lock);
    fdtable_close_internal_sockets();
}
