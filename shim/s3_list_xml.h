/* s3_list_xml.h: one page of an S3 ListObjectsV2 answer (XML) as directory entries.
 *
 * Only what a listing with delimiter "/" holds is accepted: a <ListBucketResult> root
 * (attributes such as xmlns skipped), <IsTruncated>, <NextContinuationToken>, <Prefix>,
 * <Contents> (<Key>, <Size>, <LastModified>; the rest ignored) and <CommonPrefixes>
 * (<Prefix>), with other elements of the root skipped whole.  Text is decoded from the
 * five named entities and &#N; / &#xH; (as UTF-8); a DOCTYPE, CDATA, a processing
 * instruction inside the root, an unknown entity, a NUL, a tag that is not closed in
 * order, text past the root, nesting deeper than 8 or a text longer than
 * S3_LIST_TEXT_MAX is refused, as is a document cut short (no </ListBucketResult>).
 *
 * Names are the keys (and common prefixes) with the listed prefix cut off (and a
 * common prefix's trailing '/'): "a" for "dir/a", "sub" for "dir/sub/".  A key that does
 * not start with the prefix is refused; a name that no directory entry can carry (empty,
 * "." or "..", with a '/' or a NUL) is skipped and counted in `skipped` (the key
 * "dir/" itself, the folder marker some consoles create, is such a name).
 *
 * Pure: no I/O, no lock, no allocation but the caller's.  Errors: -EBADMSG (malformed or
 * not a listing), -ENAMETOOLONG (a text longer than the limit), or what each() returned
 * (negative), which stops the parse. */
#ifndef REMOTEIO_S3_LIST_XML_H
#define REMOTEIO_S3_LIST_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define S3_LIST_TEXT_MAX 4096 /* a key is at most 1024 bytes, a token about as long */

struct s3_list_item {
    const char *name; /* NUL-terminated, valid during the callback only */
    size_t name_len;
    bool dir;         /* a common prefix */
    int64_t size;     /* files: <Size>; directories: 0 */
    time_t mtime;     /* files: <LastModified>, 0 when absent or unreadable */
};

struct s3_list_page {
    bool truncated;
    char next_token[S3_LIST_TEXT_MAX + 1]; /* "" unless truncated */
    size_t files, dirs, skipped;
};

/* Parses len bytes of xml, the answer to a listing of `prefix` ("" or ending in '/'),
 * calling each(arg, item) for every entry in document order.  0 or a negative errno. */
int s3_list_parse(const char *xml, size_t len, const char *prefix,
                  int (*each)(void *arg, const struct s3_list_item *item), void *arg,
                  struct s3_list_page *page);

/* An ISO 8601 UTC time as S3 writes it ("2009-10-12T17:50:30.000Z"), or 0. */
time_t s3_list_parse_time(const char *s);

#endif
