/* http.c: probes and range requests with libcurl (see http.h).
 *
 * Every range response is checked before a byte of it is used: status 206, a
 * Content-Range equal to the range asked for and to the size seen at open, the ETag seen
 * at open, and a body of exactly the range's length.  Anything else is either retried
 * (with exponential backoff and jitter, resuming after the bytes already received) or,
 * when it shows that the object changed, fails with ESTALE at once.  A request that makes
 * no progress for the mapping's timeout is abandoned and retried; the whole operation
 * ends at the caller's deadline.
 */
#include "libcurl.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "http_parse.h"
#include "log.h"
#include "pool.h"
#include "prefetch.h"

#define RETRY_AFTER_CAP_MS 10000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_CAP_MS 5000

void http_display_url(const char *url, char *out, size_t outlen)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *path = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(path - host));
    if (at)
        host = at + 1;
    size_t plen = strcspn(path, "?#");
    snprintf(out, outlen, "%.*s%.*s%.*s", scheme_end ? (int)(scheme_end + 3 - url) : 0, url,
             (int)(path - host), host, (int)plen, path);
}

/* State of one response, reset at each status line (redirects, 100-continue). */
struct response {
    long status;
    bool have_range;
    int64_t cr_first, cr_last, cr_total;
    int64_t content_length;
    bool accept_ranges;
    char etag[256];
    char last_modified[64];
    bool have_retry_after;
    uint64_t retry_after_ms;
};

static void copy_value(char *dst, size_t dstlen, const char *v, size_t vlen)
{
    if (vlen >= dstlen)
        vlen = dstlen - 1; /* a huge header value is cut, never overflows */
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct response *r = arg;
    size_t len = size * n;
    const char *v;
    size_t vlen;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        memset(r, 0, sizeof *r);
        r->content_length = -1;
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
    } else if (http_header_is(line, len, "retry-after", &v, &vlen)) {
        r->have_retry_after =
            http_parse_retry_after(v, vlen, time(NULL), RETRY_AFTER_CAP_MS, &r->retry_after_ms) == 0;
    }
    return len;
}

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
    curl_off_t last_dlnow;
    bool stalled;
};

static void refuse(struct transfer *tr, int err, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(struct transfer *tr, int err, bool fatal, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tr->why, sizeof tr->why, fmt, ap);
    va_end(ap);
    tr->err = err;
    tr->fatal = fatal;
}

/* Classifies a status other than 206; true when the request may be retried. */
static void refuse_status(struct transfer *tr, long status)
{
    switch (status) {
    case 412:
        refuse(tr, ESTALE, true, "HTTP 412: the object changed since it was opened");
        break;
    case 404:
    case 410:
        refuse(tr, ESTALE, true, "HTTP %ld: the object is gone", status);
        break;
    case 416:
        refuse(tr, ESTALE, true, "HTTP 416: the object is shorter than when it was opened");
        break;
    case 401:
    case 403:
        refuse(tr, EACCES, true, "HTTP %ld: access denied", status);
        break;
    case 200:
        if (tr->t->etag[0] && tr->resp.etag[0] && strcmp(tr->resp.etag, tr->t->etag) != 0)
            refuse(tr, ESTALE, true, "HTTP 200 with another ETag: the object changed");
        else
            refuse(tr, EIO, false, "HTTP 200 (the whole object) to a range request");
        break;
    default:
        if (status >= 500 || status == 408 || status == 429)
            refuse(tr, EIO, false, "HTTP %ld", status);
        else
            refuse(tr, EIO, true, "HTTP %ld", status);
    }
}

static bool check_response(struct transfer *tr)
{
    struct response *r = &tr->resp;
    if (r->status != 206) {
        refuse_status(tr, r->status);
        return false;
    }
    if (tr->t->etag[0] && r->etag[0] && strcmp(r->etag, tr->t->etag) != 0) {
        refuse(tr, ESTALE, true, "ETag %s differs from %s at open: the object changed", r->etag,
               tr->t->etag);
        return false;
    }
    if (!r->have_range) {
        refuse(tr, EIO, false, "206 without a valid Content-Range");
        return false;
    }
    if (r->cr_total >= 0 && r->cr_total != tr->t->size) {
        refuse(tr, ESTALE, true, "size is now %lld, was %lld at open: the object changed",
               (long long)r->cr_total, (long long)tr->t->size);
        return false;
    }
    if (r->cr_first != tr->first || r->cr_last != tr->first + tr->want - 1) {
        refuse(tr, EIO, false, "Content-Range %lld-%lld for requested %lld-%lld",
               (long long)r->cr_first, (long long)r->cr_last, (long long)tr->first,
               (long long)(tr->first + tr->want - 1));
        return false;
    }
    if (r->content_length >= 0 && r->content_length != tr->want) {
        refuse(tr, EIO, false, "Content-Length %lld for a range of %lld",
               (long long)r->content_length, (long long)tr->want);
        return false;
    }
    return true;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *tr = arg;
    size_t len = size * n;
    if (!tr->checked) {
        if (!check_response(tr))
            return 0; /* aborts the transfer */
        tr->checked = true;
    }
    if ((int64_t)len > tr->want - tr->got) {
        refuse(tr, EIO, false, "more body bytes than the range asked for");
        return 0;
    }
    const struct http_sink *s = tr->sink;
    size_t left = len;
    while (left) {
        size_t idx = (size_t)tr->done / s->piece, pos = (size_t)tr->done % s->piece;
        size_t k = s->piece - pos < left ? s->piece - pos : left;
        memcpy(s->bufs[idx] + pos, data, k);
        data += k;
        left -= k;
        tr->done += (int64_t)k;
        tr->got += (int64_t)k;
    }
    STAT_ADD(tr->t->stats, bytes_fetched, len);
    return len;
}

/* Abandons a request that has received nothing for the mapping's timeout. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    (void)ulnow;
    struct transfer *tr = arg;
    if (prefetch_stopping())
        return 1; /* the process is exiting */
    uint64_t now = now_ms();
    if (dlnow != tr->last_dlnow) {
        tr->last_dlnow = dlnow;
        tr->last_progress_ms = now;
        return 0;
    }
    if (now - tr->last_progress_ms > tr->t->opt.timeout_ms) {
        tr->stalled = true;
        return 1;
    }
    return 0;
}

static uint64_t backoff_ms(unsigned attempt)
{
    uint64_t b = BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
    if (b > BACKOFF_CAP_MS)
        b = BACKOFF_CAP_MS;
    /* Full jitter in the upper half, so that many readers do not retry in step. */
    unsigned r = (unsigned)(now_ms() * 2654435761u) ^ (unsigned)(uintptr_t)&attempt;
    return b / 2 + r % (b / 2 + 1);
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int http_get_range(const struct http_target *t, int64_t offset, int64_t len,
                   const struct http_sink *sink, uint64_t deadline_ms, bool demand)
{
    struct transfer tr = { .t = t, .sink = sink };
    char shown[512];
    http_display_url(t->url, shown, sizeof shown);
    struct curl_slist *headers = NULL;
    char cond[320];
    /* If-Match compares strongly: a weak ETag (W/"...") never matches, so it pins the
     * version by date instead.  The ETag of every response is compared in any case. */
    if (t->etag && t->etag[0] && strncmp(t->etag, "W/", 2) != 0) {
        snprintf(cond, sizeof cond, "If-Match: %s", t->etag);
        headers = libcurl.slist_append(headers, cond);
    } else if (t->last_modified && t->last_modified[0]) {
        snprintf(cond, sizeof cond, "If-Unmodified-Since: %s", t->last_modified);
        headers = libcurl.slist_append(headers, cond);
    }

    int result = -EIO;
    for (unsigned attempt = 0;; attempt++) {
        tr.first = offset + tr.done;
        tr.want = len - tr.done;
        tr.got = 0;
        tr.checked = false;
        tr.err = 0;
        tr.fatal = false;
        tr.stalled = false;
        tr.why[0] = '\0';
        uint64_t now = now_ms();
        if (now >= deadline_ms) {
            snprintf(tr.why, sizeof tr.why, "deadline reached");
            break;
        }
        CURL *h = pool_get(deadline_ms, demand);
        if (!h) {
            if (!demand) {
                result = -EAGAIN; /* readahead: no connection to spare */
                goto out;
            }
            snprintf(tr.why, sizeof tr.why, "no connection free before the deadline");
            break;
        }
        char range[64];
        snprintf(range, sizeof range, "%lld-%lld", (long long)tr.first,
                 (long long)(tr.first + tr.want - 1));
        libcurl.easy_setopt(h, CURLOPT_URL, t->url);
        libcurl.easy_setopt(h, CURLOPT_RANGE, range);
        libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        libcurl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        libcurl.easy_setopt(h, CURLOPT_HEADERDATA, &tr.resp);
        libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        libcurl.easy_setopt(h, CURLOPT_WRITEDATA, &tr);
        libcurl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        libcurl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        libcurl.easy_setopt(h, CURLOPT_XFERINFODATA, &tr);
        libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline_ms - now));
        if (config.connect_timeout_ms > t->opt.timeout_ms)
            libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)t->opt.timeout_ms);
        tr.last_progress_ms = now;
        tr.last_dlnow = 0;
        memset(&tr.resp, 0, sizeof tr.resp);

        STAT_ADD(t->stats, requests, 1);
        stats_inflight_begin(t->stats);
        CURLcode rc = libcurl.easy_perform(h);
        stats_inflight_end(t->stats);
        if (rc == CURLE_OK && !tr.checked && tr.err == 0) {
            /* No body at all: an error status, or an empty 206. */
            long status = 0;
            libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            tr.resp.status = status;
            if (check_response(&tr))
                tr.checked = true;
        }
        pool_put(h);

        if (tr.err == 0) {
            if (rc == CURLE_OK && tr.got == tr.want) {
                result = 0;
                goto out;
            }
            if (rc == CURLE_OK)
                refuse(&tr, EIO, false, "body ended after %lld of %lld bytes",
                       (long long)tr.got, (long long)tr.want);
            else if (tr.stalled)
                refuse(&tr, EIO, false, "no data for %llu ms",
                       (unsigned long long)t->opt.timeout_ms);
            else
                refuse(&tr, EIO, false, "%s", libcurl.easy_strerror(rc));
        }
        if (tr.fatal) {
            result = -tr.err;
            log_limited(LOG_ERROR, tr.why, "%s: GET %s bytes %s: %s; giving up", t->path, shown,
                        range, tr.why);
            goto out;
        }
        if (!demand) { /* readahead tries once: a reader waiting on it retries itself */
            result = -EIO;
            goto out;
        }
        if (attempt >= t->opt.retries) {
            log_limited(LOG_ERROR, tr.why, "%s: GET %s bytes %s: %s; giving up after %u attempts",
                        t->path, shown, range, tr.why, attempt + 1);
            result = -EIO;
            goto out;
        }
        uint64_t wait = tr.resp.have_retry_after ? tr.resp.retry_after_ms : backoff_ms(attempt);
        now = now_ms();
        if (now + wait >= deadline_ms) {
            snprintf(tr.why + strlen(tr.why), sizeof tr.why - strlen(tr.why),
                     "; no time left to retry");
            break;
        }
        STAT_ADD(t->stats, retries, 1);
        log_limited(LOG_WARN, tr.why, "%s: GET %s bytes %s: %s; retrying in %llu ms (%u/%u)",
                    t->path, shown, range, tr.why, (unsigned long long)wait, attempt + 1,
                    t->opt.retries);
        sleep_ms(wait);
    }
    log_limited(LOG_ERROR, tr.why, "%s: GET %s: %s; giving up (deadline %llu ms)", t->path,
                shown, tr.why, (unsigned long long)t->opt.deadline_ms);
    result = -EIO;
out:
    libcurl.slist_free_all(headers);
    return result;
}

/* Body sink for the probe's one-byte GET: keeps nothing, stops a 200 early. */
static size_t on_probe_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    struct response *r = arg;
    return r->status == 206 ? size * n : 0;
}

/* One probe request.  Its answer is a few hundred bytes: a probe that has not finished
 * within the mapping's no-progress timeout is abandoned (and retried by the caller). */
static CURLcode probe_request(CURL *h, const char *url, bool head, struct response *r,
                              uint64_t deadline_ms, uint64_t timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    libcurl.easy_setopt(h, CURLOPT_URL, url);
    libcurl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    libcurl.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    libcurl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    libcurl.easy_setopt(h, CURLOPT_HEADERDATA, r);
    uint64_t left = deadline_ms > now_ms() ? deadline_ms - now_ms() : 1;
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left < timeout_ms ? left : timeout_ms));
    if (config.connect_timeout_ms > timeout_ms)
        libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    if (head) {
        libcurl.easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        libcurl.easy_setopt(h, CURLOPT_HTTPGET, 1L);
        libcurl.easy_setopt(h, CURLOPT_RANGE, "0-0");
        libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_probe_body);
        libcurl.easy_setopt(h, CURLOPT_WRITEDATA, r);
    }
    CURLcode rc = libcurl.easy_perform(h);
    long status = 0;
    if (libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status)
        r->status = status;
    if (rc == CURLE_WRITE_ERROR && r->status != 206)
        rc = CURLE_OK; /* we stopped a 200's body on purpose */
    return rc;
}

static int fill_meta(CURL *h, const struct response *r, int64_t size, struct http_meta *meta)
{
    char *eff = NULL;
    libcurl.easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    meta->url = strdup(eff ? eff : "");
    if (!meta->url)
        return -ENOMEM;
    meta->size = size;
    snprintf(meta->etag, sizeof meta->etag, "%s", r->etag);
    snprintf(meta->last_modified, sizeof meta->last_modified, "%s", r->last_modified);
    meta->mtime = http_parse_date(r->last_modified);
    return 0;
}

int http_probe(const char *url, const char *path, const struct map_options *opt,
               struct http_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    char shown[512];
    http_display_url(url, shown, sizeof shown);
    uint64_t deadline = now_ms() + opt->deadline_ms;
    char why[200] = "";
    for (unsigned attempt = 0;; attempt++) {
        CURL *h = pool_get(deadline, true);
        if (!h) {
            snprintf(why, sizeof why, "no connection free before the deadline");
            break;
        }
        struct response r;
        bool head = true;
        CURLcode rc = probe_request(h, url, true, &r, deadline, opt->timeout_ms);
        if (rc == CURLE_OK && (r.status == 403 || r.status == 405 || r.status == 501 ||
                               (r.status == 200 && (!r.accept_ranges || r.content_length < 0)))) {
            /* HEAD refused (presigned URLs), or no promise of ranges: ask for one byte. */
            head = false;
            rc = probe_request(h, url, false, &r, deadline, opt->timeout_ms);
        }
        int result = 1; /* 1: retry */
        if (rc != CURLE_OK) {
            snprintf(why, sizeof why, "%s", libcurl.easy_strerror(rc));
        } else if (head && r.status == 200) {
            result = fill_meta(h, &r, r.content_length, meta);
        } else if (!head && r.status == 206 && r.have_range && r.cr_total >= 0) {
            result = fill_meta(h, &r, r.cr_total, meta);
        } else if (!head && r.status == 416 && r.have_range && r.cr_total == 0) {
            result = fill_meta(h, &r, 0, meta);
        } else if (!head && r.status == 200) {
            log_error("%s: %s does not support range requests (answered 200 to a Range GET); "
                      "refusing to download the whole object for every read", path, shown);
            result = -EIO;
        } else if (r.status == 404 || r.status == 410) {
            result = -ENOENT;
        } else if (r.status == 401 || r.status == 403) {
            log_limited(LOG_WARN, shown, "%s: %s: HTTP %ld: access denied", path, shown, r.status);
            result = -EACCES;
        } else if (r.status >= 500 || r.status == 408 || r.status == 429) {
            snprintf(why, sizeof why, "HTTP %ld", r.status);
        } else {
            log_error("%s: %s: unexpected HTTP %ld when opening", path, shown, r.status);
            result = -EIO;
        }
        pool_put(h);
        if (result <= 0)
            return result;
        if (attempt >= opt->retries)
            break;
        uint64_t wait = r.have_retry_after ? r.retry_after_ms : backoff_ms(attempt);
        if (now_ms() + wait >= deadline)
            break;
        log_limited(LOG_WARN, why, "%s: open %s: %s; retrying in %llu ms", path, shown, why,
                    (unsigned long long)wait);
        sleep_ms(wait);
    }
    log_limited(LOG_ERROR, why, "%s: cannot open %s: %s; giving up", path, shown, why);
    return -EIO;
}

time_t http_parse_date(const char *date)
{
    time_t t = date[0] ? libcurl.getdate(date, NULL) : 0;
    return t > 0 ? t : 0;
}

void http_meta_free(struct http_meta *meta)
{
    free(meta->url);
    meta->url = NULL;
}
