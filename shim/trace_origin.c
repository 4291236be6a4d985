/* trace_origin.c: see trace_origin.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "stats.h"
#include "trace_file.h"
#include "trace_origin.h"

#define SUFFIX ".remoteio-trace"

int trace_origin_fetch(const char *url, const char *path, const struct map_options *opt,
                       void **buf, size_t *len)
{
    if (strpbrk(url, "?#"))
        return -ENOENT;
    size_t n = strlen(url);
    char *turl = malloc(n + sizeof SUFFIX);
    if (!turl)
        return -ENOMEM;
    memcpy(turl, url, n);
    memcpy(turl + n, SUFFIX, sizeof SUFFIX);
    struct http_meta m;
    int rc = http_probe(turl, path, opt, &m);
    if (rc == 0 && (m.size <= 0 || m.size > TRACE_FILE_MAX))
        rc = -EFBIG;
    char *b = rc == 0 ? malloc((size_t)m.size) : NULL;
    if (rc == 0 && !b)
        rc = -ENOMEM;
    if (rc == 0) {
        struct object_stats st;
        memset(&st, 0, sizeof st);
        struct http_target t = { .url = m.url, .mapped_url = turl, .path = path,
                                 .etag = m.etag, .last_modified = m.last_modified,
                                 .size = m.size, .opt = *opt, .stats = &st };
        char *bufs[1] = { b };
        struct http_sink sink = { .bufs = bufs, .nbufs = 1, .piece = (size_t)m.size };
        rc = http_get_range(&t, 0, m.size, &sink, now_ms() + opt->deadline_ms, true);
    }
    if (rc == 0) {
        *buf = b;
        *len = (size_t)m.size;
    } else {
        free(b);
    }
    http_meta_free(&m); /* http_probe cleared it first */
    free(turl);
    return rc;
}
