/* child_env.h: running a command of the shim's own (see child_env.c).
 *
 * Errors: child_environment gives NULL when out of memory; child_reap says how the wait
 * ended. */
#ifndef REMOTEIO_CHILD_ENV_H
#define REMOTEIO_CHILD_ENV_H

#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>

/* environ's strings without the shim in LD_PRELOAD (a malloc'd array, NULL-terminated);
 * *preload is the rewritten LD_PRELOAD= string (malloc'd) or NULL.  The caller frees
 * both, not the strings the array shares with environ. */
char **child_environment(char **preload);
/* Spawn attributes for such a command: no signal blocked (the shim's threads block
 * them all), default dispositions, a process group of its own.  Destroy after use. */
void child_spawnattr(posix_spawnattr_t *attr);
/* Waits for pid's exit until deadline_ms (CLOCK_MONOTONIC), then kills its process group:
 * 1 exited with status *st, 0 reaped by someone else (the program's SIGCHLD handler, or
 * SIGCHLD ignored), -1 killed at the deadline. */
int child_reap(pid_t pid, uint64_t deadline_ms, int *st);

#endif
