/* prefetch.c: see prefetch.h.
 *
 * Workers block every signal, so the program's signal handlers only ever run on its own
 * threads.  Their number is half of REMOTEIO_CONNECTIONS (at most 32): the pool keeps a
 * quarter of the connections for demand reads in any case.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "clock.h"
#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "prefetch.h"
#include "thread.h"

#define QUEUE_MAX 256
#define WORKERS_MAX 32

struct job {
    const struct prefetch_ops *ops;
    void *arg;
    int64_t offset, len;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the queue, counts */
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct job queue[QUEUE_MAX];
static unsigned q_head, q_len;
static unsigned n_workers, n_idle;
static pthread_cond_t idle_cond; /* a worker became idle; CLOCK_MONOTONIC, see prefetch_init */

void prefetch_init(void)
{
    cond_init_monotonic(&idle_cond);
}

static void *worker(void *arg)
{
    (void)arg;
    shim_enter(); /* all this thread does is the shim's own work */
    pthread_mutex_lock(&queue_lock);
    for (;;) {
        while (q_len == 0 || shim_exiting()) {
            n_idle++;
            pthread_cond_broadcast(&idle_cond);
            pthread_cond_wait(&queue_cond, &queue_lock);
            n_idle--;
        }
        struct job j = queue[q_head];
        q_head = (q_head + 1) % QUEUE_MAX;
        q_len--;
        pthread_mutex_unlock(&queue_lock);
        j.ops->run(j.arg, j.offset, j.len);
        j.ops->unref(j.arg);
        pthread_mutex_lock(&queue_lock);
    }
    return NULL;
}

unsigned prefetch_worker_limit(void)
{
    unsigned n = config.connections / 2;
    return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : n;
}

/* Called with queue_lock held: one more worker if all are busy and the limit allows. */
static void maybe_start_worker(void)
{
    if (n_idle >= q_len || n_workers >= prefetch_worker_limit())
        return;
    int err = thread_start_detached(worker, NULL, 256 << 10);
    if (err == 0)
        n_workers++;
    else
        log_limited(LOG_WARN, "prefetch-thread", "cannot start a readahead thread: %s",
                    strerror(err));
}

void prefetch_submit(const struct prefetch_ops *ops, void *arg, int64_t offset, int64_t len,
                     int64_t part)
{
    pthread_mutex_lock(&queue_lock);
    while (len > 0 && q_len < QUEUE_MAX && !shim_exiting()) {
        int64_t n = len < part ? len : part;
        /* A short tail rides with the part before it rather than going alone. */
        if (len - n > 0 && len - n < part / 2)
            n = len;
        ops->ref(arg);
        queue[(q_head + q_len) % QUEUE_MAX] = (struct job){ ops, arg, offset, n };
        q_len++;
        offset += n;
        len -= n;
        maybe_start_worker();
        pthread_cond_signal(&queue_cond);
    }
    pthread_mutex_unlock(&queue_lock);
}

void prefetch_stop(uint64_t wait_ms)
{
    uint64_t deadline = now_ms() + wait_ms;
    struct timespec ts = deadline_timespec(deadline);
    pthread_mutex_lock(&queue_lock);
    shim_set_exiting();
    q_len = 0; /* nobody will read them: the references go with the process */
    while (n_idle < n_workers && now_ms() < deadline)
        if (pthread_cond_timedwait(&idle_cond, &queue_lock, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&queue_lock);
}

void prefetch_atfork_prepare(void)
{
    pthread_mutex_lock(&queue_lock);
}

void prefetch_atfork_parent(void)
{
    pthread_mutex_unlock(&queue_lock);
}

void prefetch_atfork_child(void)
{
    /* The workers did not come along.  Queued parts are dropped: nobody asked for them. */
    pthread_cond_init(&queue_cond, NULL);
    cond_init_monotonic(&idle_cond);
    struct job dropped[QUEUE_MAX];
    unsigned n = q_len;
    for (unsigned i = 0; i < n; i++)
        dropped[i] = queue[(q_head + i) % QUEUE_MAX];
    q_head = q_len = 0;
    n_workers = n_idle = 0;
    pthread_mutex_unlock(&queue_lock);
    for (unsigned i = 0; i < n; i++)
        dropped[i].ops->unref(dropped[i].arg);
}
