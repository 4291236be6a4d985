/* http_direct.c: range requests written and read by the shim itself, over a connection
 * that libcurl made (CURLOPT_CONNECT_ONLY), so that a response's body is received
 * straight into the cache's slots.  Through libcurl's transfers every byte is received
 * into libcurl's buffer and copied from there: on a fast origin that copy costs as much
 * CPU time as the kernel's own, and sequential reads are CPU-bound.
 *
 * libcurl still resolves the name, connects (with its timeouts), negotiates TLS and
 * verifies the certificate, and encrypts and decrypts; the shim speaks HTTP/1.1 on top,
 * one request at a time per connection, and keeps the connection for the next request
 * when the response ended cleanly.  A response is used only when it passes the checks of
 * http_response.c and its body is plain bytes; anything else (another status, a chunked
 * or encoded body, a body cut short, a stall) fails the attempt exactly as a libcurl
 * transfer would, and the connection is closed.  A kept connection that the server has
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
#include "pool.h"
#include "prefetch.h"

#define HEADER_MAX (32 << 10)
#define POLL_SLICE_MS 50   /* how often a wait looks at the clock and at the exit flag */
#define RECV_BUFFER (512L << 10) /* libcurl hands over at most this much per receive */

/* url = scheme "://" authority [path] ["?" query] ["#" fragment].  origin gets
 * "scheme://authority", target the path and query.  False for anything else, and for
 * an authority with credentials (libcurl's transfers turn those into headers). */
static bool split_url(const char *url, char *origin, size_t origin_len, const char **target,
                      size_t *target_len)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    size_t slen = (size_t)(sep - url);
    if (!(slen == 4 && strncasecmp(url, "http", 4) == 0) &&
        !(slen == 5 && strncasecmp(url, "https", 5) == 0))
        return false;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0 || memchr(auth, '@', alen) || slen + 3 + alen >= origin_len)
        return false;
    memcpy(origin, url, slen + 3 + alen);
    origin[slen + 3 + alen] = '\0';
    *target = auth + alen;
    *target_len = strcspn(*target, "#");
    return true;
}

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
    char origin[320];
    const char *target;
    size_t tlen;
    return config.direct && !proxy_in_environment() &&
           split_url(url, origin, sizeof origin, &target, &tlen);
}

/* Waits until fd is ready for events.  0, or 1 with the attempt refused: at the
 * deadline, after the mapping's timeout without progress, or when the process exits. */
static int wait_ready(int fd, short events, struct transfer *tr, uint64_t deadline_ms)
{
    uint64_t timeout = tr->t->opt.timeout_ms;
    for (;;) {
        if (prefetch_stopping()) {
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
    if (rc == 0 && !transfer_check(tr))
        rc = 1;
    if (rc == 0 && tr->resp.chunked) {
        transfer_refuse(tr, EIO, false, "206 with a chunked body");
        rc = 1;
    }
    if (rc == 0 && tr->resp.encoded) {
        transfer_refuse(tr, EIO, true, "206 with a Content-Encoding that was not asked for");
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
    char url[340];
    snprintf(url, sizeof url, "%s/", origin);
    uint64_t now = now_ms();
    libcurl.easy_setopt(h, CURLOPT_URL, url);
    libcurl.easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    libcurl.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    libcurl.easy_setopt(h, CURLOPT_BUFFERSIZE, RECV_BUFFER);
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline_ms > now ? deadline_ms - now : 1));
    if (config.connect_timeout_ms > tr->t->opt.timeout_ms)
        libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)tr->t->opt.timeout_ms);
    CURLcode rc = libcurl.easy_perform(h);
    if (rc != CURLE_OK) {
        transfer_refuse(tr, EIO, false, "%s", libcurl.easy_strerror(rc));
        return 1;
    }
    return 0;
}

int http_direct_attempt(struct transfer *tr, const char *cond, uint64_t deadline_ms, bool demand)
{
    const struct http_target *t = tr->t;
    char origin[320];
    const char *target;
    size_t tlen;
    if (!split_url(t->url, origin, sizeof origin, &target, &tlen)) {
        transfer_refuse(tr, EIO, true, "the URL cannot be used");
        return 1;
    }
    const char *host = strstr(origin, "://") + 3;
    size_t cap = tlen + strlen(host) + strlen(cond) + 256;
    char *req = malloc(cap);
    if (!req) {
        transfer_refuse(tr, EIO, false, "out of memory");
        return 1;
    }
    int reqlen = snprintf(req, cap,
                          "GET %s%.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " HTTP_USER_AGENT
                          "\r\nAccept: */*\r\nRange: bytes=%lld-%lld\r\n%s%s\r\n",
                          tlen == 0 || target[0] == '?' ? "/" : "", (int)tlen, target, host,
                          (long long)tr->first, (long long)(tr->first + tr->want - 1), cond,
                          cond[0] ? "\r\n" : "");

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
        result = exchange(h, fd, tr, req, (size_t)reqlen, deadline_ms, &keep, &silent);
        stats_inflight_end(t->stats);
        if (keep)
            pool_put_direct(h, origin);
        else
            pool_discard(h);
        /* A kept connection the server closed while it was idle: try a new one now. */
        if (result != 0 && connected && silent && !tr->stalled && round == 0 &&
            !prefetch_stopping() && now_ms() < deadline_ms) {
            tr->err = 0;
            tr->why[0] = '\0';
            continue;
        }
        break;
    }
    free(req);
    return result;
}
