/* http_direct.h: range requests whose bodies are received straight into the caller's
 * buffers (the cache's slots), over a connection libcurl made.  See http_direct.c.
 *
 * Errors: as http_direct_attempt says; the failure of an attempt is recorded in the
 * transfer, for http.c to retry or report. */
#ifndef REMOTEIO_HTTP_DIRECT_H
#define REMOTEIO_HTTP_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "http_response.h"

/* Whether range requests to url go the direct way: REMOTEIO_DIRECT is on, the URL is
 * http(s), and no proxy is set in the environment. */
bool http_direct_usable(const char *url);

struct http_request;

/* One attempt at tr's current range (tr->first, tr->want), sending rq (built for that
 * range).  Returns 0 when the whole range arrived and passed the
 * checks; 1 when the attempt failed, with tr->err, tr->why (and tr->fatal, tr->stalled)
 * set; -EAGAIN (readahead) or -ETIMEDOUT (demand, at the deadline) when no connection
 * was free. */
int http_direct_attempt(struct transfer *tr, const struct http_request *rq, uint64_t deadline_ms,
                        bool demand);

#endif
