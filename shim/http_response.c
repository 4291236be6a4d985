/* http_response.c: see http_response.h.
 *
 * Content-Encoding.  A range addresses the object's stored bytes: an object stored with
 * Content-Encoding: gzip (S3 keeps the header as metadata, nginx can add it to a .gz
 * file) is, byte for byte, what `curl -o` and `aws s3 cp` save, and that is what a
 * virtual file holds.  So a response with a Content-Encoding is used as it is, never
 * decoded (every request says Accept-Encoding: identity, and libcurl is told not to
 * decode), when it is the exact answer to the range: 206, the Content-Range asked for,
 * a Content-Length equal to the range's length and no Transfer-Encoding.  A response
 * with a Content-Encoding that is anything else (another length, a chunked body, another
 * range) was compressed on the fly: its bytes are not the range's, it fails with EIO at
 * once on every path (the origin would do it again), and the line says so.
 */
#include "libcurl.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_parse.h"
#include "http_response.h"

static void copy_value(char *dst, size_t dstlen, const char *v, size_t vlen)
{
    if (vlen >= dstlen)
        vlen = dstlen - 1; /* a huge header value is cut, never overflows */
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static bool is_identity(const char *v, size_t vlen)
{
    return vlen == 8 && strncasecmp(v, "identity", 8) == 0;
}

size_t response_header_line(char *line, size_t size, size_t n, void *arg)
{
    struct response *r = arg;
    size_t len = size * n;
    const char *v;
    size_t vlen;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        memset(r, 0, sizeof *r);
        r->content_length = -1;
        r->http10 = len >= 8 && strncmp(line, "HTTP/1.0", 8) == 0;
        const char *sp = memchr(line, ' ', len);
        if (sp && (size_t)(sp - line) + 4 <= len)
            r->status = strtol(sp + 1, NULL, 10);
    } else if (http_header_is(line, len, "content-range", &v, &vlen)) {
        r->have_range =
            http_parse_content_range(v, vlen, &r->cr_first, &r->cr_last, &r->cr_total) == 0;
    } else if (http_header_is(line, len, "etag", &v, &vlen)) {
        copy_value(r->etag, sizeof r->etag, v, vlen);
    } else if (http_header_is(line, len, "last-modified", &v, &vlen)) {
        copy_value(r->last_modified, sizeof r->last_modified, v, vlen);
    } else if (http_header_is(line, len, "content-length", &v, &vlen)) {
        if (http_parse_length(v, vlen, &r->content_length) < 0)
            r->content_length = -1;
    } else if (http_header_is(line, len, "accept-ranges", &v, &vlen)) {
        r->accept_ranges = vlen == 5 && strncasecmp(v, "bytes", 5) == 0;
    } else if (http_header_is(line, len, "transfer-encoding", &v, &vlen)) {
        r->chunked = r->chunked || !is_identity(v, vlen);
    } else if (http_header_is(line, len, "content-encoding", &v, &vlen)) {
        r->encoded = r->encoded || !is_identity(v, vlen);
    } else if (http_header_is(line, len, "connection", &v, &vlen)) {
        r->conn_close = r->conn_close || (vlen == 5 && strncasecmp(v, "close", 5) == 0);
    } else if (http_header_is(line, len, "x-amz-bucket-region", &v, &vlen)) {
        copy_value(r->bucket_region, sizeof r->bucket_region, v, vlen);
    } else if (http_header_is(line, len, "retry-after", &v, &vlen)) {
        r->have_retry_after =
            http_parse_retry_after(v, vlen, time(NULL), RETRY_AFTER_CAP_MS, &r->retry_after_ms) == 0;
    }
    return len;
}

void transfer_refuse(struct transfer *tr, int err, bool fatal, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tr->why, sizeof tr->why, fmt, ap);
    va_end(ap);
    tr->err = err;
    tr->fatal = fatal;
}

/* Classifies a status other than 206. */
static void refuse_status(struct transfer *tr, long status)
{
    switch (status) {
    case 412:
        transfer_refuse(tr, ESTALE, true, "HTTP 412: the object changed since it was opened");
        break;
    case 404:
    case 410:
        transfer_refuse(tr, ESTALE, true, "HTTP %ld: the object is gone", status);
        break;
    case 416:
        transfer_refuse(tr, ESTALE, true, "HTTP 416: the object is shorter than when it was opened");
        break;
    case 401:
    case 403:
        transfer_refuse(tr, EACCES, true, "HTTP %ld: access denied", status);
        break;
    case 200:
        if (tr->t->etag[0] && tr->resp.etag[0] && strcmp(tr->resp.etag, tr->t->etag) != 0)
            transfer_refuse(tr, ESTALE, true, "HTTP 200 with another ETag: the object changed");
        else
            transfer_refuse(tr, EIO, false, "HTTP 200 (the whole object) to a range request");
        break;
    default:
        if (status >= 500 || status == 408 || status == 429)
            transfer_refuse(tr, EIO, false, "HTTP %ld", status);
        else
            transfer_refuse(tr, EIO, true, "HTTP %ld", status);
    }
}

bool transfer_check(struct transfer *tr)
{
    struct response *r = &tr->resp;
    if (r->status != 206) {
        refuse_status(tr, r->status);
        return false;
    }
    if (tr->t->etag[0] && r->etag[0] && strcmp(r->etag, tr->t->etag) != 0) {
        transfer_refuse(tr, ESTALE, true, "ETag %s differs from %s at open: the object changed",
                        r->etag, tr->t->etag);
        return false;
    }
    if (!r->have_range) {
        transfer_refuse(tr, EIO, false, "206 without a valid Content-Range");
        return false;
    }
    if (r->cr_total >= 0 && r->cr_total != tr->t->size) {
        transfer_refuse(tr, ESTALE, true, "size is now %lld, was %lld at open: the object changed",
                        (long long)r->cr_total, (long long)tr->t->size);
        return false;
    }
    if (r->encoded && (r->chunked || r->cr_first != tr->first ||
                       r->cr_last != tr->first + tr->want - 1 || r->content_length != tr->want)) {
        transfer_refuse(tr, EIO, true,
                        "206 with a Content-Encoding that is not the stored bytes of the range "
                        "(Content-Length %lld for %lld bytes%s): compressed on the fly",
                        (long long)r->content_length, (long long)tr->want,
                        r->chunked ? ", chunked" : "");
        return false;
    }
    if (r->cr_first != tr->first || r->cr_last != tr->first + tr->want - 1) {
        transfer_refuse(tr, EIO, false, "Content-Range %lld-%lld for requested %lld-%lld",
                        (long long)r->cr_first, (long long)r->cr_last, (long long)tr->first,
                        (long long)(tr->first + tr->want - 1));
        return false;
    }
    if (r->content_length >= 0 && r->content_length != tr->want) {
        transfer_refuse(tr, EIO, false, "Content-Length %lld for a range of %lld",
                        (long long)r->content_length, (long long)tr->want);
        return false;
    }
    return true;
}

bool transfer_keep_error_body(struct transfer *tr, const char *data, size_t len)
{
    if (tr->resp.status < 400 || len > sizeof tr->errbody - tr->errbody_len)
        return false;
    memcpy(tr->errbody + tr->errbody_len, data, len);
    tr->errbody_len += len;
    return true;
}

bool curl_failure_is_permanent(int code)
{
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION: /* the certificate, or its name (60, CACERT too) */
    case CURLE_SSL_CACERT_BADFILE:       /* the CA bundle cannot be read */
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CERTPROBLEM:          /* our client certificate */
        return true;
    default:
        return false;
    }
}

char *transfer_dest(struct transfer *tr, size_t *room)
{
    const struct http_sink *s = tr->sink;
    size_t idx = (size_t)tr->done / s->piece, pos = (size_t)tr->done % s->piece;
    size_t k = s->piece - pos;
    if ((int64_t)k > tr->want - tr->got)
        k = (size_t)(tr->want - tr->got);
    *room = k;
    return s->bufs[idx] + pos;
}

void transfer_advance(struct transfer *tr, size_t n)
{
    tr->done += (int64_t)n;
    tr->got += (int64_t)n;
    STAT_ADD(tr->t->stats, bytes_fetched, n);
}

bool transfer_deliver(struct transfer *tr, const char *data, size_t len)
{
    if ((int64_t)len > tr->want - tr->got) {
        transfer_refuse(tr, EIO, false, "more body bytes than the range asked for");
        return false;
    }
    while (len) {
        size_t room;
        char *dst = transfer_dest(tr, &room);
        size_t k = room < len ? room : len;
        memcpy(dst, data, k);
        transfer_advance(tr, k);
        data += k;
        len -= k;
    }
    return true;
}
