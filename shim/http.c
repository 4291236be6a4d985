/* http.c: probes and range requests (see http.h).
 *
 * Probes are libcurl transfers.  Range requests go through http_direct.c (the shim reads
 * the response over libcurl's connection, the body straight into the cache) or, when
 * that cannot be used, as libcurl transfers; both run through the retry loop below and
 * the checks of http_response.c.
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
#include "http_direct.h"
#include "http_parse.h"
#include "http_response.h"
#include "log.h"
#include "pool.h"
#include "prefetch.h"
#include "url.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_CAP_MS 5000

void http_display_url(const char *url, char *out, size_t outlen)
{
    url_display(url, out, outlen);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *tr = arg;
    size_t len = size * n;
    if (!tr->checked) {
        if (!transfer_check(tr))
            return 0; /* aborts the transfer */
        tr->checked = true;
    }
    return transfer_deliver(tr, data, len) ? len : 0;
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

/* One attempt through libcurl's own transfer (see http_direct_attempt for the results). */
static int curl_attempt(struct transfer *tr, struct curl_slist *headers, uint64_t deadline_ms,
                        bool demand)
{
    const struct http_target *t = tr->t;
    CURL *h = pool_get(deadline_ms, demand);
    if (!h)
        return demand ? -ETIMEDOUT : -EAGAIN;
    uint64_t now = now_ms();
    char range[64];
    snprintf(range, sizeof range, "%lld-%lld", (long long)tr->first,
             (long long)(tr->first + tr->want - 1));
    libcurl.easy_setopt(h, CURLOPT_URL, t->url);
    libcurl.easy_setopt(h, CURLOPT_RANGE, range);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    libcurl.easy_setopt(h, CURLOPT_HEADERFUNCTION, response_header_line);
    libcurl.easy_setopt(h, CURLOPT_HEADERDATA, &tr->resp);
    libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    libcurl.easy_setopt(h, CURLOPT_WRITEDATA, tr);
    libcurl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    libcurl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    libcurl.easy_setopt(h, CURLOPT_XFERINFODATA, tr);
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline_ms > now ? deadline_ms - now : 1));
    if (config.connect_timeout_ms > t->opt.timeout_ms)
        libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)t->opt.timeout_ms);
    tr->last_progress_ms = now;
    tr->last_dlnow = 0;

    STAT_ADD(t->stats, requests, 1);
    stats_inflight_begin(t->stats);
    CURLcode rc = libcurl.easy_perform(h);
    stats_inflight_end(t->stats);
    if (rc == CURLE_OK && !tr->checked && tr->err == 0) {
        /* No body at all: an error status, or an empty 206. */
        long status = 0;
        libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        tr->resp.status = status;
        if (transfer_check(tr))
            tr->checked = true;
    }
    pool_put(h);
    if (tr->err)
        return 1;
    if (rc == CURLE_OK && tr->got == tr->want)
        return 0;
    if (rc == CURLE_OK)
        transfer_refuse(tr, EIO, false, "body ended after %lld of %lld bytes", (long long)tr->got,
                        (long long)tr->want);
    else if (tr->stalled)
        transfer_refuse(tr, EIO, false, "no data for %llu ms",
                        (unsigned long long)t->opt.timeout_ms);
    else
        transfer_refuse(tr, EIO, false, "%s", libcurl.easy_strerror(rc));
    return 1;
}

int http_get_range(const struct http_target *t, int64_t offset, int64_t len,
                   const struct http_sink *sink, uint64_t deadline_ms, bool demand)
{
    struct transfer tr = { .t = t, .sink = sink };
    char shown[512];
    http_display_url(t->url, shown, sizeof shown);
    struct curl_slist *headers = NULL;
    char cond[320] = "";
    /* If-Match compares strongly: a weak ETag (W/"...") never matches, so it pins the
     * version by date instead.  The ETag of every response is compared in any case. */
    if (t->etag && t->etag[0] && strncmp(t->etag, "W/", 2) != 0)
        snprintf(cond, sizeof cond, "If-Match: %s", t->etag);
    else if (t->last_modified && t->last_modified[0])
        snprintf(cond, sizeof cond, "If-Unmodified-Since: %s", t->last_modified);
    bool direct = http_direct_usable(t->url);
    if (cond[0] && !direct)
        headers = libcurl.slist_append(headers, cond);

    int result = -EIO;
    char range[64] = "";
    for (unsigned attempt = 0;; attempt++) {
        tr.first = offset + tr.done;
        tr.want = len - tr.done;
        tr.got = 0;
        tr.checked = false;
        tr.err = 0;
        tr.fatal = false;
        tr.stalled = false;
        tr.why[0] = '\0';
        memset(&tr.resp, 0, sizeof tr.resp);
        if (now_ms() >= deadline_ms) {
            snprintf(tr.why, sizeof tr.why, "deadline reached");
            break;
        }
        snprintf(range, sizeof range, "%lld-%lld", (long long)tr.first,
                 (long long)(tr.first + tr.want - 1));
        int rc = direct ? http_direct_attempt(&tr, cond, deadline_ms, demand)
                        : curl_attempt(&tr, headers, deadline_ms, demand);
        if (rc == 0) {
            result = 0;
            goto out;
        }
        if (rc == -EAGAIN) {
            result = -EAGAIN; /* readahead: no connection to spare */
            goto out;
        }
        if (rc == -ETIMEDOUT) {
            snprintf(tr.why, sizeof tr.why, "no connection free before the deadline");
            break;
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
        if (now_ms() + wait >= deadline_ms) {
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
    libcurl.easy_setopt(h, CURLOPT_HEADERFUNCTION, response_header_line);
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
