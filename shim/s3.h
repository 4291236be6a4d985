/* s3.h: s3://BUCKET/KEY as HTTP requests: where they go (endpoint, addressing style,
 * region) and their SigV4 signature, and what S3's answers mean to a reader.
 *
 * An s3:// URL is what the configuration, the objects and every message hold (it is its
 * own display form: no secret is in it); it becomes an https (or the endpoint's scheme)
 * URL only inside a request, built per attempt by s3_request_init.  Where it goes follows
 * the mapping's options (config.h: region, endpoint, path_style, profile, sign,
 * requester_pays):
 *   endpoint   endpoint=, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's
 *              https://s3.REGION.amazonaws.com
 *   style      path_style=1: ENDPOINT/BUCKET/KEY; 0: virtual-hosted, BUCKET.HOST/KEY.
 *              auto: virtual-hosted on AWS (path style for a bucket with a '.', whose
 *              name the certificate does not cover), path style on a custom endpoint
 *   region     region=, else the one the server named for the bucket (learnt once, see
 *              s3_region_learn), else the profile's (aws_region_for_profile, resolved
 *              once per profile: no request reads the AWS files again), else us-east-1
 * Requests are signed (sign=1, the default) with the credentials of aws_creds.h for the
 * mapping's profile: host, x-amz-date, x-amz-content-sha256 (an empty payload's hash),
 * x-amz-security-token with a session token, x-amz-request-payer and Range are signed;
 * the signing key is kept per access key, day, region and service.
 *
 * Locking: one mutex guards the learnt and resolved regions and the kept signing keys; everything
 * else works on the caller's request.  Nothing here logs a secret: the credentials'
 * source name is all that is ever shown of them.
 *
 * Errors: negative errnos: -EINVAL (not an s3:// URL, a bad endpoint), -EACCES (no
 * credentials: aws_creds has said why in one line; or libcrypto is unusable), -ENOMEM,
 * and http_request.h's. */
#ifndef REMOTEIO_S3_H
#define REMOTEIO_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "url.h"

struct http_request;

#define S3_REGION_MAX 64

/* Whether url is s3://... */
#define s3_is_url url_is_s3

/* What a signed request was signed with, for the messages about its answer. */
struct s3_signing {
    char region[S3_REGION_MAX];
    char source[48]; /* the credentials' source ("environment"...), "" when unsigned */
};

/* Starts rq (http_request_init) for method on s3url: its https URL, and
 * x-amz-request-payer when the mapping pays.  *how gets the region. */
int s3_request_init(struct http_request *rq, const char *method, const char *s3url,
                    const struct map_options *opt, struct s3_signing *how);
/* Starts rq for a GET of s3url's bucket ("ENDPOINT/BUCKET/?query", the key part of s3url
 * ignored) with query (built with sigv4_uri_encode): a listing. */
int s3_request_init_bucket(struct http_request *rq, const char *s3url, const char *query,
                           const struct map_options *opt, struct s3_signing *how);
/* Signs rq, whose header lines are all added, unless the mapping says sign=0: the
 * x-amz-* lines and Authorization.  *how gets the credentials' source. */
int s3_sign(struct http_request *rq, const struct map_options *opt, struct s3_signing *how);

/* The server named the bucket's region (x-amz-bucket-region, or <Region> in an error):
 * the next requests for it go there.  true when that differs from what was used. */
bool s3_region_learn(const char *s3url, const char *used, const char *region);

/* The text of <tag>...</tag> in an S3 error body (len bytes) into out, or "". */
void s3_xml_value(const char *body, size_t len, const char *tag, char *out, size_t outlen);

/* fork: the lock is taken before and released after, in the parent and the child. */
void s3_atfork_prepare(void);
void s3_atfork_release(void);

#endif
