/* http_request.h: one HTTP request, built once per attempt in one place, whoever sends it
 * (libcurl's transfers in http.c turn its headers into a header list; the direct path in
 * http_direct.c writes it whole with http_request_format).
 *
 * A request is a method, the URL's parts (origin, Host, path, query, the credentials of
 * its user:password as a Basic Authorization value) and its header lines: Range, the
 * validator (If-Match or If-Unmodified-Since), Accept-Encoding: identity, and whatever
 * is added per attempt (per-mapping headers, a signature).  A signer is one function that
 * reads method, host, path, query and headers[] and adds its lines with
 * http_request_add().  No lock: a request belongs to the thread that built it.
 *
 * Errors are negative errnos: -EINVAL (a URL that is not http(s)://authority..., a
 * header line with CR or LF), -E2BIG (too many headers, or a request head longer than
 * HTTP_REQUEST_HEAD_MAX), -ENOMEM. */
#ifndef REMOTEIO_HTTP_REQUEST_H
#define REMOTEIO_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_USER_AGENT "remoteio/0.1"
#define HTTP_REQUEST_HEADERS 32
#define HTTP_REQUEST_HEAD_MAX (64 << 10)

struct http_request {
    const char *method;      /* "GET" or "HEAD" */
    const char *url;         /* as given (credentials included): libcurl's transfers use it */
    char *origin;            /* "scheme://host[:port]", no credentials (connection key) */
    char *host;              /* host[:port] as in the URL: the Host header */
    char *path;              /* "/..." ("/" when the URL has none), still percent-encoded */
    char *query;             /* after "?", or "" */
    char *authorization;     /* "Basic ..." from the URL's user:password, or NULL */
    char *headers[HTTP_REQUEST_HEADERS]; /* "Name: value" lines, no CRLF */
    size_t nheaders;
    char *owned_url;         /* url when the request made it (s3://), freed with it */
    bool signed_host;        /* Host is signed: libcurl must send rq->host as it is */
};

int http_request_init(struct http_request *rq, const char *method, const char *url);
void http_request_free(struct http_request *rq);
/* Adds the header line fmt... ("Name: value"). */
int http_request_add(struct http_request *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether line may be added from outside (a mapping's header=, a header_command):
 * "Name: value", a token for the name, no control character in the value, and none of
 * the headers the shim itself sends or that frame the message (Host, Range,
 * Content-Length, Transfer-Encoding, Connection, If-Match, ...). */
bool http_request_header_ok(const char *line);
/* Adds each line of the '\n'-separated list (a mapping's header= lines); NULL adds none. */
int http_request_add_lines(struct http_request *rq, const char *lines);
/* Range: bytes=first-(first+len-1) (len > 0). */
int http_request_range(struct http_request *rq, int64_t first, int64_t len);
/* If-Match with a strong etag, else If-Unmodified-Since with last_modified, else nothing. */
int http_request_validator(struct http_request *rq, const char *etag, const char *last_modified);
/* The whole HTTP/1.1 request head for the direct path, in a malloc'd buffer of exactly
 * *len bytes: request line, Host, User-Agent, Accept, Authorization, headers[]. */
int http_request_format(const struct http_request *rq, const char *user_agent, char **out,
                        size_t *len);

/* Whether url is http(s)://authority... (what http_request_init takes). */
bool http_url_usable(const char *url);
/* Whether two http(s) URLs name the same origin: scheme, host and port (defaults
 * applied), compared without case; credentials and paths are ignored. */
bool http_same_origin(const char *a, const char *b);
/* The URL where requests go after a redirect from `from` to `to`: `to` with `from`'s
 * user:password when both are the same origin, else `to` as it is.  malloc'd, or NULL. */
char *http_url_after_redirect(const char *from, const char *to);

#endif
