/* trace_origin.h: a learned-prefetch trace stored at the origin beside its object, at
 * the object's URL with ".remoteio-trace" appended (REMOTEIO_TRACE_ORIGIN=1): a fleet
 * records once, publishes the trace (remoteio trace export), and every host replays it
 * from a cold cache.  It is fetched with the object's mapping (its credentials, headers
 * and options), like the object itself.  A URL with a query (a presigned one) has no
 * such neighbour: nothing is asked for.
 *
 * Errors: 0, or a negative errno: -ENOENT (none: the origin said 404, quietly),
 * -EFBIG (larger than any trace can be), or what the request failed with (logged by
 * http.c).  No state, no locks. */
#ifndef REMOTEIO_TRACE_ORIGIN_H
#define REMOTEIO_TRACE_ORIGIN_H

#include <stddef.h>

#include "config.h"

/* The trace beside url (as mapped) into *buf (malloc'd) and *len. */
int trace_origin_fetch(const char *url, const char *path, const struct map_options *opt,
                       void **buf, size_t *len);

#endif
