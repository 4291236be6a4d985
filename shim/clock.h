/* clock.h: the one clock every deadline in the shim is measured on (CLOCK_MONOTONIC, in
 * milliseconds), and condition variables that wait on it.
 *
 * Errors: none; the clock cannot fail. */
#ifndef REMOTEIO_CLOCK_H
#define REMOTEIO_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

uint64_t now_ms(void);
/* A condition variable whose timed waits take deadlines on this clock. */
void cond_init_monotonic(pthread_cond_t *cond);
/* Deadline (ms on this clock) as pthread_cond_timedwait wants it. */
struct timespec deadline_timespec(uint64_t ms);

#endif
