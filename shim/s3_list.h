/* s3_list.h: listing an S3 "directory" (a prefix) with ListObjectsV2: GET
 * /BUCKET/?list-type=2&prefix=P&delimiter=/&continuation-token=T, signed as every other
 * request (s3.h), page after page until IsTruncated is false; each page is parsed by
 * s3_list_xml.h (Contents are files with their Size and LastModified, CommonPrefixes
 * subdirectories).
 *
 * Bounded: a page's body is at most S3_LIST_PAGE_MAX bytes, a listing at most the
 * caller's max_entries entries (-EOVERFLOW past it, with one line), every request ends
 * within the mapping's timeout without progress and the whole listing within its
 * deadline; 5xx, 429 and transport failures are retried (the mapping's retries, with
 * backoff), a wrong region is corrected once from the server's answer (s3_region_learn).
 *
 * No lock of its own: every call works on its own stack and a handle borrowed from the
 * pool, never under a lock of the caller's.  Errors (negative errno, logged once with
 * the virtual path and the URL in display form, never a secret): -ENOENT (NoSuchBucket),
 * -EACCES (403, S3's code and the credentials' source named; or no credentials),
 * -EOVERFLOW (more entries than max_entries), -EIO (a malformed answer, retries spent),
 * -ENOMEM. */
#ifndef REMOTEIO_S3_LIST_H
#define REMOTEIO_S3_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "s3_list_xml.h"

#define S3_LIST_PAGE_MAX (8 << 20)

/* Lists the directory s3url names ("s3://BUCKET/PREFIX/", or "s3://BUCKET/" for the
 * whole bucket; percent-escapes decoded), calling add(arg, item) for each entry, in the
 * server's order (by key).  path is the virtual path, for messages.  Returns how many
 * keys and prefixes were seen (the skipped names included: 0 means nothing is there),
 * or a negative errno (add's own, which stops the listing, included). */
int s3_list_dir(const char *s3url, const char *path, const struct map_options *opt,
                size_t max_entries, int (*add)(void *arg, const struct s3_list_item *item),
                void *arg);

/* Whether any key starts with s3url's prefix + "/" (one key asked for: max-keys=1):
 * a directory that S3 knows only from the keys under it.  1, 0, or a negative errno. */
int s3_list_exists(const char *s3url, const char *path, const struct map_options *opt);

#endif
