/* http_request.c: see http_request.h.  Pure string work: no I/O, no libcurl, no lock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_request.h"

/* The parts of scheme "://" [userinfo "@"] host[:port] [path] ["?" query] ["#" ...]. */
struct url_view {
    const char *scheme, *userinfo, *host, *rest;
    size_t scheme_len, userinfo_len, host_len;
    bool has_userinfo;
};

static bool url_view(const char *url, struct url_view *v)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep)
        return false;
    v->scheme = url;
    v->scheme_len = (size_t)(sep - url);
    if (!(v->scheme_len == 4 && strncasecmp(url, "http", 4) == 0) &&
        !(v->scheme_len == 5 && strncasecmp(url, "https", 5) == 0))
        return false;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    v->has_userinfo = at != NULL;
    v->userinfo = auth;
    v->userinfo_len = at ? (size_t)(at - auth) : 0;
    v->host = at ? at + 1 : auth;
    v->host_len = (size_t)(auth + alen - v->host);
    v->rest = auth + alen;
    return v->host_len > 0;
}

/* host[:port] -> the host without the port, and the port (the scheme's default if none). */
static void host_port(const struct url_view *v, size_t *name_len, unsigned long *port)
{
    const char *h = v->host, *end = v->host + v->host_len;
    const char *colon = NULL;
    if (h[0] == '[') {
        const char *close = memchr(h, ']', v->host_len);
        if (close && close + 1 < end && close[1] == ':')
            colon = close + 1;
    } else {
        colon = memrchr(h, ':', v->host_len);
    }
    *name_len = colon ? (size_t)(colon - h) : v->host_len;
    *port = v->scheme_len == 5 ? 443 : 80;
    if (colon && colon + 1 < end)
        *port = strtoul(colon + 1, NULL, 10);
}

bool http_url_usable(const char *url)
{
    struct url_view v;
    return url_view(url, &v);
}

bool http_same_origin(const char *a, const char *b)
{
    struct url_view va, vb;
    if (!url_view(a, &va) || !url_view(b, &vb) || va.scheme_len != vb.scheme_len ||
        strncasecmp(va.scheme, vb.scheme, va.scheme_len) != 0)
        return false;
    size_t na, nb;
    unsigned long pa, pb;
    host_port(&va, &na, &pa);
    host_port(&vb, &nb, &pb);
    return na == nb && pa == pb && strncasecmp(va.host, vb.host, na) == 0;
}

char *http_url_after_redirect(const char *from, const char *to)
{
    struct url_view vf, vt;
    if (!url_view(from, &vf) || !vf.has_userinfo || !url_view(to, &vt) || vt.has_userinfo ||
        !http_same_origin(from, to))
        return strdup(to);
    char *out;
    if (asprintf(&out, "%.*s://%.*s@%s", (int)vt.scheme_len, vt.scheme, (int)vf.userinfo_len,
                 vf.userinfo, vt.host) < 0)
        return NULL;
    return out;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..len) onto out; the bytes written. */
static size_t percent_decode(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len &&
            (hi = hex_digit(s[i + 1])) >= 0 && (lo = hex_digit(s[i + 2])) >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    return n;
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = digits[v >> 18 & 63];
        out[o++] = digits[v >> 12 & 63];
        out[o++] = i + 1 < len ? digits[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? digits[v & 63] : '=';
    }
    out[o] = '\0';
}

/* "Basic base64(user:password)", user and password percent-decoded (as libcurl does). */
static char *basic_authorization(const char *userinfo, size_t len)
{
    const char *colon = memchr(userinfo, ':', len);
    size_t ulen = colon ? (size_t)(colon - userinfo) : len;
    unsigned char *plain = malloc(len + 2);
    if (!plain)
        return NULL;
    size_t n = percent_decode(userinfo, ulen, (char *)plain);
    plain[n++] = ':';
    if (colon)
        n += percent_decode(colon + 1, len - ulen - 1, (char *)plain + n);
    char *out = malloc(6 + (n + 2) / 3 * 4 + 1);
    if (out) {
        memcpy(out, "Basic ", 6);
        base64(plain, n, out + 6);
    }
    explicit_bzero(plain, len + 2);
    free(plain);
    return out;
}

int http_request_init(struct http_request *rq, const char *method, const char *url)
{
    memset(rq, 0, sizeof *rq);
    rq->method = method;
    rq->url = url;
    struct url_view v;
    if (!url_view(url, &v))
        return -EINVAL;
    size_t plen = strcspn(v.rest, "?#");
    const char *q = v.rest[plen] == '?' ? v.rest + plen + 1 : v.rest + plen;
    size_t qlen = strcspn(q, "#");
    rq->origin = strndup(url, v.scheme_len + 3);
    if (rq->origin) {
        char *o = NULL;
        if (asprintf(&o, "%s%.*s", rq->origin, (int)v.host_len, v.host) < 0)
            o = NULL;
        free(rq->origin);
        rq->origin = o;
    }
    rq->host = strndup(v.host, v.host_len);
    rq->path = plen ? strndup(v.rest, plen) : strdup("/");
    rq->query = strndup(q, qlen);
    if (v.has_userinfo)
        rq->authorization = basic_authorization(v.userinfo, v.userinfo_len);
    if (!rq->origin || !rq->host || !rq->path || !rq->query ||
        (v.has_userinfo && !rq->authorization)) {
        http_request_free(rq);
        return -ENOMEM;
    }
    return 0;
}

void http_request_free(struct http_request *rq)
{
    free(rq->origin);
    free(rq->host);
    free(rq->path);
    free(rq->query);
    if (rq->authorization)
        explicit_bzero(rq->authorization, strlen(rq->authorization));
    free(rq->authorization);
    for (size_t i = 0; i < rq->nheaders; i++) {
        explicit_bzero(rq->headers[i], strlen(rq->headers[i])); /* may hold a signature */
        free(rq->headers[i]);
    }
    free(rq->owned_url);
    memset(rq, 0, sizeof *rq);
}

int http_request_add(struct http_request *rq, const char *fmt, ...)
{
    if (rq->nheaders >= HTTP_REQUEST_HEADERS)
        return -E2BIG;
    char *line;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    if (strpbrk(line, "\r\n")) { /* a value that would start another header */
        free(line);
        return -EINVAL;
    }
    /* An Authorization header the mapping or the signer sets replaces the one built from
     * the URL's userinfo, as libcurl lets a custom header replace its own: one is sent. */
    if (rq->authorization && strncasecmp(line, "Authorization:", 14) == 0) {
        explicit_bzero(rq->authorization, strlen(rq->authorization));
        free(rq->authorization);
        rq->authorization = NULL;
    }
    rq->headers[rq->nheaders++] = line;
    return 0;
}

bool http_request_header_ok(const char *line)
{
    static const char *const own[] = { "host", "range", "content-length", "transfer-encoding",
                                       "connection", "if-match", "if-unmodified-since",
                                       "accept-encoding", "expect", "te", "upgrade" };
    size_t n = strspn(line, "!#$%&'*+-.^_`|~0123456789"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    if (n == 0 || line[n] != ':')
        return false;
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (strlen(own[i]) == n && strncasecmp(line, own[i], n) == 0)
            return false;
    for (const unsigned char *p = (const unsigned char *)line + n + 1; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

int http_request_add_lines(struct http_request *rq, const char *lines)
{
    for (const char *p = lines; p && *p;) {
        size_t n = strcspn(p, "\n");
        int rc = http_request_add(rq, "%.*s", (int)n, p);
        if (rc < 0)
            return rc;
        p += n + (p[n] == '\n');
    }
    return 0;
}

int http_request_range(struct http_request *rq, int64_t first, int64_t len)
{
    return http_request_add(rq, "Range: bytes=%lld-%lld", (long long)first,
                            (long long)(first + len - 1));
}

int http_request_validator(struct http_request *rq, const char *etag, const char *last_modified)
{
    /* If-Match compares strongly: a weak ETag (W/"...") never matches, so it pins the
     * version by date instead.  The ETag of every response is compared in any case. */
    if (etag && etag[0] && strncmp(etag, "W/", 2) != 0)
        return http_request_add(rq, "If-Match: %s", etag);
    if (last_modified && last_modified[0])
        return http_request_add(rq, "If-Unmodified-Since: %s", last_modified);
    return 0;
}

int http_request_format(const struct http_request *rq, const char *user_agent, char **out,
                        size_t *len)
{
    *out = NULL;
    *len = 0;
    bool has_query = rq->query[0] != '\0';
    size_t n = strlen(rq->method) + 1 + strlen(rq->path) + has_query + strlen(rq->query) +
               sizeof " HTTP/1.1\r\n" - 1 + sizeof "Host: \r\n" - 1 + strlen(rq->host) +
               sizeof "User-Agent: \r\n" - 1 + strlen(user_agent) + sizeof "Accept: */*\r\n" - 1 +
               (rq->authorization ? sizeof "Authorization: \r\n" - 1 + strlen(rq->authorization)
                                  : 0) +
               2;
    for (size_t i = 0; i < rq->nheaders; i++)
        n += strlen(rq->headers[i]) + 2;
    if (n > HTTP_REQUEST_HEAD_MAX)
        return -E2BIG;
    char *buf = malloc(n + 1);
    if (!buf)
        return -ENOMEM;
    size_t at = 0;
#define PUT(s)                                                                         \
    do {                                                                               \
        size_t l_ = strlen(s);                                                         \
        if (l_ > n - at)                                                               \
            goto miscounted;                                                           \
        memcpy(buf + at, s, l_);                                                       \
        at += l_;                                                                      \
    } while (0)
    PUT(rq->method);
    PUT(" ");
    PUT(rq->path);
    if (has_query) {
        PUT("?");
        PUT(rq->query);
    }
    PUT(" HTTP/1.1\r\nHost: ");
    PUT(rq->host);
    PUT("\r\nUser-Agent: ");
    PUT(user_agent);
    PUT("\r\nAccept: */*\r\n");
    if (rq->authorization) {
        PUT("Authorization: ");
        PUT(rq->authorization);
        PUT("\r\n");
    }
    for (size_t i = 0; i < rq->nheaders; i++) {
        PUT(rq->headers[i]);
        PUT("\r\n");
    }
    PUT("\r\n");
#undef PUT
    if (at != n)
        goto miscounted;
    buf[at] = '\0';
    *out = buf;
    *len = n;
    return 0;
miscounted: /* the count above and the writes disagree: a bug, and nothing is sent */
    free(buf);
    return -EINVAL;
}
