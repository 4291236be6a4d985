/* pool.c: see pool.h. */
#include "libcurl.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "pool.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static pthread_cond_t pool_cond;
static CURL **idle;      /* handles ready for reuse */
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
    libcurl.easy_setopt(h, CURLOPT_USERAGENT, "remoteio/0.1");
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

CURL *pool_get(uint64_t deadline_ms, bool demand)
{
    pthread_mutex_lock(&pool_lock);
    pool_init_locked();
    if (!pool_ready) {
        pthread_mutex_unlock(&pool_lock);
        errno = ENOMEM;
        return NULL;
    }
    unsigned reserve = demand ? 0 : (n_limit >= 4 ? n_limit / 4 : 0);
    for (;;) {
        if (n_busy + reserve < n_limit) {
            CURL *h = n_idle ? idle[--n_idle] : NULL;
            n_busy++;
            pthread_mutex_unlock(&pool_lock);
            if (!h) {
                h = libcurl.easy_init();
                if (!h) {
                    pthread_mutex_lock(&pool_lock);
                    n_busy--;
                    pthread_cond_signal(&pool_cond);
                    pthread_mutex_unlock(&pool_lock);
                    errno = ENOMEM;
                    return NULL;
                }
            } else {
                libcurl.easy_reset(h); /* keeps the live connection */
            }
            set_common_options(h);
            return h;
        }
        if (!demand || now_ms() >= deadline_ms)
            break;
        struct timespec ts = deadline_timespec(deadline_ms);
        pthread_cond_timedwait(&pool_cond, &pool_lock, &ts);
    }
    pthread_mutex_unlock(&pool_lock);
    errno = ETIMEDOUT;
    return NULL;
}

void pool_put(CURL *h)
{
    pthread_mutex_lock(&pool_lock);
    n_busy--;
    if (n_idle < n_limit) {
        idle[n_idle++] = h;
        h = NULL;
    }
    pthread_cond_signal(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
    if (h)
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
