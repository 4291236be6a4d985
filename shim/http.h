/* http.h: HTTP(S) operations on one remote object: learn its size and version (probe),
 * and fetch a byte range into the caller's buffers with every check and retry applied.
 *
 * Each call borrows a handle from the pool for the time of one request and never holds a
 * lock of the caller's.  Errors come back as a negative errno:
 *   ENOENT   the object does not exist (probe)
 *   EACCES   401/403
 *   ESTALE   the object changed (412, another ETag, another size, 404 after open)
 *   EIO      anything else once retries and the deadline are spent
 * and are logged once with the path, the URL without credentials or query, and the
 * status or curl error (the line that ends a reader's request is never rate-limited).
 * A certificate that does not verify is EIO at once, without retries. */
#ifndef REMOTEIO_HTTP_H
#define REMOTEIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "stats.h"

struct http_meta {
    int64_t size;
    char etag[256];          /* strong or weak, as sent; "" when none */
    char last_modified[64];  /* as sent; "" when none */
    time_t mtime;            /* Last-Modified, or 0 */
    char *url;               /* where range requests go (after redirects); malloc'd */
};

/* What a request needs to know about its object. */
struct http_target {
    const char *url;
    const char *mapped_url;  /* the mapping's: its header= lines go to this origin only */
    const char *path;        /* the virtual path, for messages */
    const char *etag;        /* sent as If-Match when non-empty */
    const char *last_modified; /* else sent as If-Unmodified-Since when non-empty */
    int64_t size;            /* expected Content-Range total */
    struct map_options opt;
    struct object_stats *stats;
};

/* Destination of a range: consecutive buffers of `piece` bytes each (the last may be
 * shorter), filled in order. */
struct http_sink {
    char **bufs;
    size_t nbufs;
    size_t piece;
};

int http_probe(const char *url, const char *path, const struct map_options *opt,
               struct http_meta *meta);
void http_meta_free(struct http_meta *meta);
/* An HTTP date (Last-Modified) as a time_t; 0 when empty or malformed. */
time_t http_parse_date(const char *date);

/* Fetch [offset, offset+len) into sink.  demand == false (readahead) gives up at once
 * when no connection is free and tries only once.  deadline_ms is absolute (now_ms()). */
int http_get_range(const struct http_target *t, int64_t offset, int64_t len,
                   const struct http_sink *sink, uint64_t deadline_ms, bool demand);

/* The URL for messages: url_display (url.h). */
void http_display_url(const char *url, char *out, size_t outlen);

#endif
