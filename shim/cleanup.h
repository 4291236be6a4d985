/* cleanup.h: scope-bound unlock and free (GCC/Clang __attribute__((cleanup)), in the style
 * of nbdkit's common/utils/cleanup.h).  A lock taken with LOCK_FOR_SCOPE(&m) is released
 * whichever way the enclosing block is left (return, break, end of block); a pointer
 * declared CLEANUP_FREE is freed the same way.  No locking of its own. */
#ifndef REMOTEIO_CLEANUP_H
#define REMOTEIO_CLEANUP_H

#include <pthread.h>
#include <stdlib.h>

static inline pthread_mutex_t *cleanup_lock(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    return m;
}

static inline void cleanup_unlock(pthread_mutex_t **m)
{
    if (*m)
        pthread_mutex_unlock(*m);
}

static inline void cleanup_free(void *p)
{
    free(*(void **)p);
}

#define CLEANUP_CONCAT_(a, b) a##b
#define CLEANUP_CONCAT(a, b) CLEANUP_CONCAT_(a, b)

/* Lock m now; unlock it when the enclosing block is left. */
#define LOCK_FOR_SCOPE(m)                                                              \
    pthread_mutex_t *CLEANUP_CONCAT(scope_lock_, __COUNTER__)                          \
        __attribute__((cleanup(cleanup_unlock), unused)) = cleanup_lock(m)

/* char *CLEANUP_FREE s = malloc(...): freed when s goes out of scope. */
#define CLEANUP_FREE __attribute__((cleanup(cleanup_free)))

#endif
