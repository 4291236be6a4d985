/* http_direct.c: range requests written and read by the shim itself, over a connection
 * that libcurl made (CURLOPT_CONNECT_ONLY), so that a response's body is received
 * straight into the cache's slots.  Through libcurl's transfers every byte is received
 * into libcurl's buffer and copied from there: on a fast origin that copy costs as much
 * CPU time as the kernel's own, and sequential reads are CPU-bound.
 *
 * libcurl still resolves the name, connects (with its timeouts), negotiates TLS and
 * verifies the certificate, and encrypts and decrypts; the shim speaks HTTP/1.1 on top,
 * one request at a time per connection, and keeps the connection for the next request
 * when the response ended cleanly.  The request is http_request.c's, written whole (the
 * credentials of a URL with user:password go as its Basic Authorization header, as
 * libcurl sends them).  A response is used only when it passes the checks of
 * http_response.c and its body is not chunked; anything else (another status, a chunked
 * body, a body cut short, a stall) fails the attempt exactly as a libcurl transfer
 * would, and the connection is closed.  A kept connection that the server has
 * closed in the meantime is replaced at once, without counting as a failed attempt.
 */
#include "libcurl.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "config.h"
#include "http_direct.h"
#include "http_request.h"
#include "lifecycle.h"
#include "pool.h"
#include "s3.h"

#define HEADER_MAX (32 << 10)
#define POLL_SLICE_MS 50   /* how often a wait looks at the clock and at the exit flag */
#define RECV_BUFFER (512L << 10) /* libcurl hands over at most this much per receive */

static bool proxy_in_environment(void)
{
    static const char *const names[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
                                         "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return true;
    }
    return false;
}

bool http_direct_usable(const char *url)
{
    return config.direct && !proxy_in_environment() && (http_url_usable(url) || s3_is_url(url));
}

/* Waits until fd is ready for events.  0, or 1 with the attempt refused: at the
 * deadline, after the mapping's timeout without progress, or when the process exits. */
static int wait_ready(int fd, short events, struct transfer *tr, uint64_t deadline_ms)
{
    uint64_t timeout = tr->t->opt.timeout_ms;
    for (;;) {
        if (shim_exiting()) {
            transfer_refuse(tr, EIO, false, "the process is exiting");
            return 1;
        }
        uint64_t now = now_ms();
        if (now >= deadline_ms) {
            transfer_refuse(tr, EIO, false, "deadline reached");
            return 1;
        }
        uint64_t idle = now - tr->last_progress_ms;
        if (idle >= timeout) {
            tr->stalled = true;
            transfer_refuse(tr, EIO, false, "no data for %llu ms", (unsigned long long)timeout);
            return 1;
        }
        uint64_t wait = deadline_ms - now;
        if (wait > timeout - idle)
            wait = timeout - idle;
        if (wait > POLL_SLICE_MS)
            wait = POLL_SLICE_MS;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)wait);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            transfer_refuse(tr, EIO, false, "poll: %s", strerror(errno));
            return 1;
        }
    }
}

static int send_all(CURL *h, int fd, const char *buf, size_t len, struct transfer *tr,
                    uint64_t deadline_ms)
{
    for (size_t off = 0; off < len;) {
        size_t n = 0;
        CURLcode rc = libcurl.easy_send(h, buf + off, len - off, &n);
        if (rc == CURLE_AGAIN) {
            if (wait_ready(fd, POLLOUT, tr, deadline_ms))
                return 1;
            continue;
        }
        if (rc != CURLE_OK) {
            transfer_refuse(tr, EIO, false, "send: %s", libcurl.easy_strerror(rc));
            return 1;
        }
        off += n;
    }
    return 0;
}

/* Receives up to len bytes into buf: the count, 0 when the server closed the
 * connection, or -1 with the attempt refused. */
static ssize_t recv_some(CURL *h, int fd, char *buf, size_t len, struct transfer *tr,
                         uint64_t deadline_ms)
{
    for (;;) {
        size_t n = 0;
        CURLcode rc = libcurl.easy_recv(h, buf, len, &n);
        if (rc == CURLE_OK) {
            if (n)
                tr->last_progress_ms = now_ms();
            return (ssize_t)n;
        }
        if (rc == CURLE_AGAIN) {
            if (wait_ready(fd, POLLIN, tr, deadline_ms))
                return -1;
            continue;
        }
        transfer_refuse(tr, EIO, false, "receive: %s", libcurl.easy_strerror(rc));
        return -1;
    }
}

/* Reads the response's header block into hdr (1xx blocks are skipped) and feeds its
 * lines to tr->resp.  On success *len is the bytes in hdr and *body where the body's
 * first bytes start among them.  *silent stays true while the server has sent nothing. */
static int read_headers(CURL *h, int fd, struct transfer *tr, char *hdr, size_t *len,
                        size_t *body, uint64_t deadline_ms, bool *silent)
{
    size_t have = 0;
    for (;;) {
        char *end = memmem(hdr, have, "\r\n\r\n", 4);
        if (end) {
            size_t block = (size_t)(end - hdr) + 4;
            memset(&tr->resp, 0, sizeof tr->resp);
            for (size_t at = 0; at < block - 2;) {
                char *eol = memmem(hdr + at, block - at, "\r\n", 2);
                size_t line = (size_t)(eol - (hdr + at)) + 2;
                response_header_line(hdr + at, 1, line, &tr->resp);
                at += line;
            }
            if (tr->resp.status >= 100 && tr->resp.status < 200) {
                memmove(hdr, hdr + block, have - block);
                have -= block;
                continue;
            }
            if (tr->resp.status == 0) {
                transfer_refuse(tr, EIO, false, "the answer is not an HTTP/1.1 response");
                return 1;
            }
            *len = have;
            *body = block;
            return 0;
        }
        if (have >= HEADER_MAX) {
            transfer_refuse(tr, EIO, false, "response headers over %d bytes", HEADER_MAX);
            return 1;
        }
        ssize_t n = recv_some(h, fd, hdr + have, HEADER_MAX - have, tr, deadline_ms);
        if (n < 0)
            return 1;
        if (n == 0) {
            transfer_refuse(tr, EIO, false, "connection closed %s",
                            have ? "inside the response headers" : "before a response");
            return 1;
        }
        *silent = false;
        have += (size_t)n;
    }
}

/* A refused answer's body, when it is short (S3's error document): what came with the
 * headers and the rest up to its Content-Length, within a second; the refusal stays. */
static void error_body(CURL *h, int fd, struct transfer *tr, const char *have, size_t n,
                       uint64_t deadline_ms)
{
    int64_t cl = tr->resp.content_length;
    if (cl <= 0 || (size_t)cl > sizeof tr->errbody || tr->resp.chunked ||
        !transfer_keep_error_body(tr, have, n < (size_t)cl ? n : (size_t)cl))
        return;
    int err = tr->err; /* the refusal, which a failed receive would overwrite */
    bool fatal = tr->fatal, stalled = tr->stalled;
    char why[sizeof tr->why];
    memcpy(why, tr->why, sizeof why);
    uint64_t until = now_ms() + 1000;
    if (until > deadline_ms)
        until = deadline_ms;
    while (tr->errbody_len < (size_t)cl) {
        ssize_t k = recv_some(h, fd, tr->errbody + tr->errbody_len,
                              (size_t)cl - tr->errbody_len, tr, until);
        if (k <= 0)
            break;
        tr->errbody_len += (size_t)k;
    }
    tr->err = err;
    tr->fatal = fatal;
    tr->stalled = stalled;
    memcpy(tr->why, why, sizeof why);
}

/* One request and its response on a connected handle.  *keep: the connection ended
 * cleanly and may serve the next request. */
static int exchange(CURL *h, int fd, struct transfer *tr, const char *req, size_t reqlen,
                    uint64_t deadline_ms, bool *keep, bool *silent)
{
    *keep = false;
    *silent = true;
    if (send_all(h, fd, req, reqlen, tr, deadline_ms))
        return 1;
    char *hdr = malloc(HEADER_MAX);
    if (!hdr) {
        transfer_refuse(tr, EIO, false, "out of memory");
        return 1;
    }
    size_t len = 0, body = 0;
    int rc = read_headers(h, fd, tr, hdr, &len, &body, deadline_ms, silent);
    if (rc == 0 && !transfer_check(tr)) {
        error_body(h, fd, tr, hdr + body, len - body, deadline_ms);
        rc = 1;
    }
    if (rc == 0 && tr->resp.chunked) {
        transfer_refuse(tr, EIO, false, "206 with a chunked body");
        rc = 1;
    }
    if (rc == 0) {
        tr->checked = true;
        if (!transfer_deliver(tr, hdr + body, len - body))
            rc = 1;
    }
    free(hdr);
    while (rc == 0 && tr->got < tr->want) {
        size_t room;
        char *dst = transfer_dest(tr, &room);
        ssize_t n = recv_some(h, fd, dst, room, tr, deadline_ms);
        if (n < 0) {
            rc = 1;
        } else if (n == 0) {
            transfer_refuse(tr, EIO, false, "body ended after %lld of %lld bytes",
                            (long long)tr->got, (long long)tr->want);
            rc = 1;
        } else {
            transfer_advance(tr, (size_t)n);
        }
    }
    *keep = rc == 0 && tr->resp.content_length >= 0 && !tr->resp.conn_close &&
            !tr->resp.http10;
    return rc;
}

static int connect_handle(CURL *h, const char *origin, struct transfer *tr, uint64_t deadline_ms)
{
    char *url;
    if (asprintf(&url, "%s/", origin) < 0) {
        transfer_refuse(tr, EIO, false, "out of memory");
        return 1;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    uint64_t now = now_ms();
    libcurl.easy_setopt(h, CURLOPT_URL, url);
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    libcurl.easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    libcurl.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    libcurl.easy_setopt(h, CURLOPT_BUFFERSIZE, RECV_BUFFER);
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline_ms > now ? deadline_ms - now : 1));
    if (config.connect_timeout_ms > tr->t->opt.timeout_ms)
        libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)tr->t->opt.timeout_ms);
    CURLcode rc = libcurl.easy_perform(h);
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* the handle outlives errbuf */
    free(url);
    if (rc != CURLE_OK) {
        /* A certificate that does not verify will not verify on the next attempt. */
        bool permanent = curl_failure_is_permanent(rc);
        transfer_refuse(tr, EIO, permanent, "%s",
                        permanent && errbuf[0] ? errbuf : libcurl.easy_strerror(rc));
        return 1;
    }
    return 0;
}

int http_direct_attempt(struct transfer *tr, const struct http_request *rq, uint64_t deadline_ms,
                        bool demand)
{
    const struct http_target *t = tr->t;
    const char *origin = rq->origin;
    char *req;
    size_t reqlen;
    int err = http_request_format(rq, HTTP_USER_AGENT, &req, &reqlen);
    if (err < 0) {
        transfer_refuse(tr, EIO, true, "the request cannot be written: %s",
                        err == -E2BIG ? "its head is over 64 KiB" : strerror(-err));
        return 1;
    }

    int result = 1;
    for (int round = 0; round < 2; round++) {
        bool connected;
        CURL *h = pool_get_direct(origin, round > 0, deadline_ms, demand, &connected);
        if (!h) {
            result = demand ? -ETIMEDOUT : -EAGAIN;
            break;
        }
        tr->last_progress_ms = now_ms();
        if (!connected && connect_handle(h, origin, tr, deadline_ms)) {
            pool_discard(h);
            break;
        }
        curl_socket_t fd = CURL_SOCKET_BAD;
        if (libcurl.easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
            fd == CURL_SOCKET_BAD) {
            transfer_refuse(tr, EIO, false, "the connection is gone");
            pool_discard(h);
            if (connected && round == 0)
                continue;
            break;
        }
        bool keep, silent;
        STAT_ADD(t->stats, requests, 1);
        stats_inflight_begin(t->stats);
        result = exchange(h, fd, tr, req, reqlen, deadline_ms, &keep, &silent);
        stats_inflight_end(t->stats);
        if (keep)
            pool_put_direct(h, origin);
        else
            pool_discard(h);
        /* A kept connection the server closed while it was idle: try a new one now. */
        if (result != 0 && connected && silent && !tr->stalled && round == 0 &&
            !shim_exiting() && now_ms() < deadline_ms) {
            tr->err = 0;
            tr->why[0] = '\0';
            continue;
        }
        break;
    }
    explicit_bzero(req, reqlen); /* may hold credentials */
    free(req);
    return result;
}
