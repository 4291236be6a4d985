/* thread.h: starting the shim's own threads. */
#ifndef REMOTEIO_THREAD_H
#define REMOTEIO_THREAD_H

#include <stddef.h>

/* Start fn(arg) on a detached thread that has every signal blocked (the program's
 * signals are the program's threads' to take), with a stack of stack bytes (0: the
 * default; when the program's static TLS does not fit in it, the default is taken).
 * 0, or the error of pthread_create. */
int thread_start_detached(void *(*fn)(void *), void *arg, size_t stack);

#endif
