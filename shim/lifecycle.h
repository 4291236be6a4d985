/* lifecycle.h: the process's lifecycle flag, owned by init.c.  Once the process is
 * exiting (its exit handlers run), every wait in the shim's lower layers (a transfer, a
 * direct exchange, the readahead queue) ends at its next look at the flag, so that no
 * thread of the shim is inside libcurl or its TLS library while their exit handlers run.
 * The flag is one atomic word: any thread may read or set it, no lock. */
#ifndef REMOTEIO_LIFECYCLE_H
#define REMOTEIO_LIFECYCLE_H

#include <stdbool.h>

bool shim_exiting(void);
void shim_set_exiting(void);

#endif
