/* sigv4.h: AWS Signature Version 4 (header form, AWS4-HMAC-SHA256) for S3 and the other
 * AWS-style services (STS): the canonical request, the string to sign, the signing key and
 * the Authorization header value.  Pure functions: they read their arguments, write into
 * the caller's buffers (lengths checked, never overrun) and keep no state, so any thread
 * may sign at any time.  Hashing comes from crypto.h (libcrypto).
 *
 * Why the shim signs itself instead of setting CURLOPT_AWS_SIGV4: libcurl 7.88 (Debian 12)
 * sends an x-amz-date of the caller's twice, never adds x-amz-content-sha256 (S3 answers
 * 403), does not sort the query string, sorts header names that are prefixes of one
 * another wrongly, signs the path exactly as given, and adds a CURLOPT_RANGE Range after
 * signing, unsigned; it also signs only what libcurl sends, while the shim's direct path
 * writes its own requests and needs the signature as plain headers anyway.  One signer
 * here serves both paths and is checked against AWS's published test vectors.
 *
 * What the caller sends must be what was signed: the same method, path, query and the
 * headers listed, Host among them (with ":port" when the port is not the scheme's
 * default) and given to libcurl explicitly, so that it does not make its own.  Only
 * x-amz-date is supported as the request time (not Date).  In a query, '+' is a plus
 * sign (signed as %2B), not a space: build queries with sigv4_uri_encode.
 *
 * Errors (negative errno): -EINVAL malformed input (a bad escape, a control character in
 * a header value, no host or x-amz-date header, an x-amz-date that is not `time`, an
 * x-amz-content-sha256 that is not payload_hash, S3 without x-amz-content-sha256);
 * -EOVERFLOW the output buffer is too small; -E2BIG more headers or query parameters
 * than the limits below; -ENAMETOOLONG a secret, region or service longer than its limit;
 * -ENOMEM; -ELIBACC libcrypto could not be used.  On any error the output holds "". */
#ifndef REMOTEIO_SIGV4_H
#define REMOTEIO_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "crypto.h"

#define SIGV4_MAX_HEADERS 32
#define SIGV4_MAX_QUERY_PARAMS 64
#define SIGV4_MAX_SECRET 256
#define SIGV4_MAX_SCOPE_PART 64 /* region, service */
#define SIGV4_AMZ_DATE_SIZE 17  /* "20150830T123600Z" and its NUL */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
    const char *name; /* any case; sent as given, signed in lower case */
    const char *value;
};

/* How the path becomes the canonical URI.  Both percent-encode every byte but
 * A-Za-z0-9-._~ and '/' (hex in upper case). */
enum sigv4_uri {
    /* S3: the path is signed as the key it names: its escapes are decoded and the result
     * encoded once ("/a%20b" and "/a b" both sign as "/a%20b"); '.', '..' and repeated
     * slashes are kept, because they are part of S3 keys. */
    SIGV4_URI_S3,
    /* Every other service: dot segments and repeated slashes are removed, then the path
     * as sent is encoded again ("/a%20b" signs as "/a%2520b"). */
    SIGV4_URI_DEFAULT,
};

struct sigv4_request {
    const char *method; /* "GET", "HEAD", "POST" */
    const char *path;   /* as sent on the request line ("/bucket/key"), without the query */
    const char *query;  /* as sent after '?' (without it), in any order; NULL or "" if none */
    const struct sigv4_header *headers; /* every header to sign: host, x-amz-date, ... */
    size_t nheaders;
    const char *payload_hash; /* 64 lower-case hex digits, or SIGV4_UNSIGNED_PAYLOAD */
    enum sigv4_uri uri;
    time_t time;         /* the request time, also sent as x-amz-date */
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3", "sts" */
};

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_key; /* never written to any output */
};

/* time as "YYYYMMDDTHHMMSSZ" (UTC).  0, or -EINVAL for a year outside 1970-9999. */
int sigv4_amz_date(time_t time, char out[SIGV4_AMZ_DATE_SIZE]);

/* Percent-encode len bytes of `in` as SigV4 does (every byte but A-Za-z0-9-._~, and '/'
 * too unless keep_slash), for building a path or query the signer will accept as is.
 * Returns the length written (out NUL-terminated), or -EOVERFLOW. */
ssize_t sigv4_uri_encode(const char *in, size_t len, bool keep_slash, char *out, size_t size);

/* The canonical request.  Returns its length (out NUL-terminated), or a negative errno. */
ssize_t sigv4_canonical_request(const struct sigv4_request *req, char *out, size_t size);

/* The string to sign: algorithm, amz date, credential scope, hex SHA-256 of the canonical
 * request.  Returns its length, or a negative errno. */
ssize_t sigv4_string_to_sign(const struct sigv4_request *req, char *out, size_t size);

/* kSigning from the secret and the scope's date ("YYYYMMDD"), region and service.
 * 0 or a negative errno.  The caller wipes `out` when done with it. */
int sigv4_signing_key(const char *secret_key, const char *date, const char *region,
                      const char *service, uint8_t out[SHA256_LEN]);

/* The Authorization header value:
 *   AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 *   SignedHeaders=host;x-amz-date, Signature=<64 hex digits>
 * (on one line).  Returns its length, or a negative errno. */
ssize_t sigv4_authorization(const struct sigv4_request *req,
                            const struct sigv4_credentials *cred, char *out, size_t size);

/* The same from a signing key of sigv4_signing_key for the request's day (the UTC date
 * of time), region and service, which a caller may keep for that day instead of the
 * secret: one HMAC per request instead of five. */
ssize_t sigv4_authorization_with_key(const struct sigv4_request *req, const char *access_key_id,
                                     const uint8_t signing_key[SHA256_LEN], char *out,
                                     size_t size);

#endif
