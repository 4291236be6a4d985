/* child_env.h: the environment for a command the shim runs (see child_env.c).
 *
 * Errors: NULL when out of memory. */
#ifndef REMOTEIO_CHILD_ENV_H
#define REMOTEIO_CHILD_ENV_H

/* environ's strings without the shim in LD_PRELOAD (a malloc'd array, NULL-terminated);
 * *preload is the rewritten LD_PRELOAD= string (malloc'd) or NULL.  The caller frees
 * both, not the strings the array shares with environ. */
char **child_environment(char **preload);

#endif
