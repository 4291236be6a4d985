/* http_response.h: one range response as it arrives, whoever reads it off the wire
 * (libcurl's callbacks in http.c, or the direct path in http_direct.c): its headers,
 * the checks it must pass before a byte of it is used, and where its body goes.
 *
 * Errors: a response that fails a check is refused (transfer_refuse records the errno
 * and the reason in the transfer); the caller's attempt reports it. */
#ifndef REMOTEIO_HTTP_RESPONSE_H
#define REMOTEIO_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define RETRY_AFTER_CAP_MS 10000

/* State of one response, reset at each status line (redirects, 1xx). */
struct response {
    long status;
    bool http10;             /* HTTP/1.0: the connection ends with the response */
    bool have_range;
    int64_t cr_first, cr_last, cr_total;
    int64_t content_length;  /* -1: none */
    bool accept_ranges;
    bool chunked;            /* Transfer-Encoding other than identity */
    bool encoded;            /* Content-Encoding other than identity (see http_response.c) */
    bool conn_close;         /* Connection: close */
    char etag[256];
    char last_modified[64];
    char bucket_region[64];  /* S3's x-amz-bucket-region */
    bool have_retry_after;
    uint64_t retry_after_ms;
};

/* A header line (status line included, CRLF included), libcurl's header callback
 * signature; arg is a struct response. */
size_t response_header_line(char *line, size_t size, size_t n, void *arg);

/* One range request's progress across attempts. */
struct transfer {
    const struct http_target *t;
    const struct http_sink *sink;
    int64_t first;       /* this attempt's first byte */
    int64_t want;        /* this attempt's length */
    int64_t got;         /* this attempt's bytes so far */
    int64_t done;        /* bytes of the whole range delivered */
    bool checked;        /* the response's headers passed */
    int err;             /* set when the response is refused */
    bool fatal;          /* ...and retrying cannot help */
    char why[200];
    struct response resp;
    uint64_t last_progress_ms;
    long long last_dlnow;
    bool stalled;
    char errbody[512];   /* the start of a refused answer's body (S3 names its code there) */
    size_t errbody_len;
};

void transfer_refuse(struct transfer *tr, int err, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks the response's headers against the request; false (and refused) if they fail. */
bool transfer_check(struct transfer *tr);

/* Keeps body bytes of an answer refused with a status of 400 or more (errbody);
 * false when they do not all fit (or the status is another). */
bool transfer_keep_error_body(struct transfer *tr, const char *data, size_t len);

/* Whether a libcurl error (CURLcode) is permanent, so that retrying cannot help: the
 * peer's certificate did not verify, or the local TLS files are unusable. */
bool curl_failure_is_permanent(int code);

/* Where the next body bytes go, and how many fit there (never past the range). */
char *transfer_dest(struct transfer *tr, size_t *room);
/* n bytes were written at transfer_dest(). */
void transfer_advance(struct transfer *tr, size_t n);
/* Copies body bytes into the sink; false (and refused) when they overflow the range. */
bool transfer_deliver(struct transfer *tr, const char *data, size_t len);

#endif
