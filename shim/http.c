/* http.c: probes and range requests (see http.h).
 *
 * Probes are libcurl transfers.  Range requests go through http_direct.c (the shim reads
 * the response over libcurl's connection, the body straight into the cache) or, when
 * that cannot be used, as libcurl transfers.  Each attempt's request is built by
 * http_request.c, and its response passes the checks of http_response.c; probes and
 * range requests share one retry loop (with_retries).  No lock of its own: every call
 * works on its own stack and on a handle borrowed from the pool.
 *
 * Every range response is checked before a byte of it is used: status 206, a
 * Content-Range equal to the range asked for and to the size seen at open, the ETag seen
 * at open, and a body of exactly the range's length.  Anything else is either retried
 * (with exponential backoff and jitter, resuming after the bytes already received) or,
 * when it shows that the object changed, fails with ESTALE at once (as does a failure
 * that retrying cannot mend: a certificate that does not verify, a compressed range).  A request that makes
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
#include "http_request.h"
#include "http_response.h"
#include "lifecycle.h"
#include "log.h"
#include "pool.h"
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
    if (shim_exiting())
        return 1;
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

/* One operation's attempts (a probe, or one range), for with_retries. */
struct retry {
    const char *path;        /* the virtual path, for messages */
    char what[640];          /* "GET <url> bytes a-b", "open <url>": set by each attempt */
    unsigned retries;        /* further attempts after the first */
    uint64_t deadline_ms;    /* absolute */
    uint64_t budget_ms;      /* the mapping's deadline, for the message */
    bool once;               /* readahead: one attempt, and only a permanent failure logged */
    struct object_stats *stats; /* counts retries, or NULL */
    char why[200];           /* set by a failed attempt */
    bool have_retry_after;
    uint64_t retry_after_ms;
};

/* Runs attempt(arg, r) until it succeeds, fails for good, or the retries or the deadline
 * are spent.  An attempt returns 0 (done), 1 (failed, r->why says why: retry), -EAGAIN
 * (readahead: no connection to spare) or -ETIMEDOUT (no connection before the deadline),
 * or another negative errno: a permanent failure, logged here when r->why is set (the
 * attempt has said why itself, or stays silent, when it is not).  The line that explains
 * a reader's failure ("giving up") is never rate-limited; the "retrying" lines are. */
static int with_retries(struct retry *r, int (*attempt)(void *arg, struct retry *r), void *arg)
{
    for (unsigned n = 0;; n++) {
        r->why[0] = '\0';
        r->have_retry_after = false;
        if (now_ms() >= r->deadline_ms) {
            snprintf(r->why, sizeof r->why, "deadline reached");
            break;
        }
        int rc = attempt(arg, r);
        if (rc == 0 || rc == -EAGAIN)
            return rc;
        if (rc == -ETIMEDOUT) {
            snprintf(r->why, sizeof r->why, "no connection free before the deadline");
            break;
        }
        if (rc < 0) {
            /* Readahead's parts fail together (an object that changed fails them all):
             * their lines are rate-limited, the reader's own failure says it anyway. */
            if (r->why[0] && r->once)
                log_limited(LOG_ERROR, "readahead gave up", "%s: %s: %s; giving up", r->path,
                            r->what, r->why);
            else if (r->why[0])
                log_error("%s: %s: %s; giving up", r->path, r->what, r->why);
            return rc;
        }
        if (r->once) /* a reader waiting on readahead retries itself */
            return -EIO;
        if (n >= r->retries) {
            log_error("%s: %s: %s; giving up after %u attempts", r->path, r->what, r->why, n + 1);
            return -EIO;
        }
        uint64_t wait = r->have_retry_after ? r->retry_after_ms : backoff_ms(n);
        if (now_ms() + wait >= r->deadline_ms) {
            snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why),
                     "; no time left to retry");
            break;
        }
        if (r->stats)
            STAT_ADD(r->stats, retries, 1);
        log_limited(LOG_WARN, r->why, "%s: %s: %s; retrying in %llu ms (%u/%u)", r->path,
                    r->what, r->why, (unsigned long long)wait, n + 1, r->retries);
        sleep_ms(wait);
    }
    log_error("%s: %s: %s; giving up (deadline %llu ms)", r->path, r->what, r->why,
              (unsigned long long)r->budget_ms);
    return -EIO;
}

/* The request's header lines as a libcurl list (libcurl adds Host, User-Agent, Accept,
 * and Authorization from the URL's credentials).  false when out of memory. */
static bool curl_headers(const struct http_request *rq, struct curl_slist **list)
{
    *list = NULL;
    for (size_t i = 0; i < rq->nheaders; i++) {
        struct curl_slist *l = libcurl.slist_append(*list, rq->headers[i]);
        if (!l) {
            libcurl.slist_free_all(*list);
            *list = NULL;
            return false;
        }
        *list = l;
    }
    return true;
}

/* Options every libcurl transfer of ours sets: the request's URL and headers, bodies
 * kept exactly as sent (never decoded), and libcurl's own message in errbuf. */
static void set_request(CURL *h, const struct http_request *rq, struct curl_slist *headers,
                        char *errbuf)
{
    errbuf[0] = '\0';
    libcurl.easy_setopt(h, CURLOPT_URL, rq->url);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    libcurl.easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

/* A libcurl failure: the message, and whether it is permanent. */
static bool curl_failure(CURLcode rc, const char *errbuf, char *why, size_t whylen)
{
    bool permanent = curl_failure_is_permanent(rc);
    /* libcurl's own buffer says what verification found; its text varies (addresses,
     * timings), so transient failures keep the fixed strerror text (the rate limit's key). */
    const char *msg = permanent && errbuf[0] ? errbuf : libcurl.easy_strerror(rc);
    size_t n = strnlen(msg, whylen - 1); /* a long message is cut */
    memcpy(why, msg, n);
    why[n] = '\0';
    return permanent;
}

/* One attempt through libcurl's own transfer (see http_direct_attempt for the results). */
static int curl_attempt(struct transfer *tr, const struct http_request *rq, uint64_t deadline_ms,
                        bool demand)
{
    const struct http_target *t = tr->t;
    struct curl_slist *headers;
    if (!curl_headers(rq, &headers)) {
        transfer_refuse(tr, EIO, false, "out of memory");
        return 1;
    }
    CURL *h = pool_get(deadline_ms, demand);
    if (!h) {
        libcurl.slist_free_all(headers);
        return demand ? -ETIMEDOUT : -EAGAIN;
    }
    uint64_t now = now_ms();
    char errbuf[CURL_ERROR_SIZE];
    set_request(h, rq, headers, errbuf);
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
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    pool_put(h);
    libcurl.slist_free_all(headers);
    if (tr->err)
        return 1;
    if (rc == CURLE_OK && tr->got == tr->want)
        return 0;
    if (rc == CURLE_OK) {
        transfer_refuse(tr, EIO, false, "body ended after %lld of %lld bytes", (long long)tr->got,
                        (long long)tr->want);
    } else if (tr->stalled) {
        transfer_refuse(tr, EIO, false, "no data for %llu ms",
                        (unsigned long long)t->opt.timeout_ms);
    } else {
        char why[sizeof tr->why];
        bool permanent = curl_failure(rc, errbuf, why, sizeof why);
        transfer_refuse(tr, EIO, permanent, "%s", why);
    }
    return 1;
}

/* One range request's attempts: the transfer and where it goes. */
struct range_op {
    struct transfer tr;
    const char *shown;
    int64_t offset, len;
    bool direct, demand;
};

static int range_attempt(void *arg, struct retry *r)
{
    struct range_op *op = arg;
    struct transfer *tr = &op->tr;
    const struct http_target *t = tr->t;
    tr->first = op->offset + tr->done;
    tr->want = op->len - tr->done;
    tr->got = 0;
    tr->checked = false;
    tr->err = 0;
    tr->fatal = false;
    tr->stalled = false;
    tr->why[0] = '\0';
    memset(&tr->resp, 0, sizeof tr->resp);
    snprintf(r->what, sizeof r->what, "GET %s bytes %lld-%lld", op->shown, (long long)tr->first,
             (long long)(tr->first + tr->want - 1));

    struct http_request rq;
    int rc = http_request_init(&rq, "GET", t->url);
    if (rc == 0)
        rc = http_request_range(&rq, tr->first, tr->want);
    if (rc == 0)
        rc = http_request_validator(&rq, t->etag, t->last_modified);
    if (rc == 0)
        rc = http_request_add(&rq, "Accept-Encoding: identity");
    if (rc < 0) {
        http_request_free(&rq);
        snprintf(r->why, sizeof r->why, "cannot build the request: %s", strerror(-rc));
        return -EIO;
    }
    rc = op->direct ? http_direct_attempt(tr, &rq, r->deadline_ms, op->demand)
                    : curl_attempt(tr, &rq, r->deadline_ms, op->demand);
    http_request_free(&rq);
    if (rc <= 0)
        return rc;
    snprintf(r->why, sizeof r->why, "%s", tr->why);
    r->have_retry_after = tr->resp.have_retry_after;
    r->retry_after_ms = tr->resp.retry_after_ms;
    return tr->fatal ? -tr->err : 1;
}

int http_get_range(const struct http_target *t, int64_t offset, int64_t len,
                   const struct http_sink *sink, uint64_t deadline_ms, bool demand)
{
    char shown[512];
    http_display_url(t->url, shown, sizeof shown);
    struct range_op op = { .tr = { .t = t, .sink = sink }, .shown = shown, .offset = offset,
                           .len = len, .direct = http_direct_usable(t->url), .demand = demand };
    struct retry r = { .path = t->path, .retries = t->opt.retries, .deadline_ms = deadline_ms,
                       .budget_ms = t->opt.deadline_ms, .once = !demand, .stats = t->stats };
    snprintf(r.what, sizeof r.what, "GET %s", shown);
    return with_retries(&r, range_attempt, &op);
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
                              uint64_t deadline_ms, uint64_t timeout_ms, char *errbuf)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    struct http_request rq;
    struct curl_slist *headers = NULL;
    int err = http_request_init(&rq, head ? "HEAD" : "GET", url);
    if (err == 0 && !head)
        err = http_request_range(&rq, 0, 1);
    if (err == 0)
        err = http_request_add(&rq, "Accept-Encoding: identity");
    if (err < 0 || !curl_headers(&rq, &headers)) {
        http_request_free(&rq);
        snprintf(errbuf, CURL_ERROR_SIZE, "cannot build the request: %s", strerror(-err));
        return CURLE_OUT_OF_MEMORY;
    }
    set_request(h, &rq, headers, errbuf);
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
        libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_probe_body);
        libcurl.easy_setopt(h, CURLOPT_WRITEDATA, r);
    }
    CURLcode rc = libcurl.easy_perform(h);
    long status = 0;
    if (libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status)
        r->status = status;
    if (rc == CURLE_WRITE_ERROR && r->status != 206)
        rc = CURLE_OK; /* we stopped a 200's body on purpose */
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    libcurl.slist_free_all(headers);
    http_request_free(&rq);
    return rc;
}

/* meta from a probe's answer.  Range requests go where the probe ended, with the
 * credentials of url when that is still url's origin (never to another). */
static int fill_meta(CURL *h, const char *url, const struct response *r, int64_t size,
                     struct http_meta *meta)
{
    char *eff = NULL;
    libcurl.easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    meta->url = http_url_after_redirect(url, eff ? eff : url);
    if (!meta->url)
        return -ENOMEM;
    meta->size = size;
    snprintf(meta->etag, sizeof meta->etag, "%s", r->etag);
    snprintf(meta->last_modified, sizeof meta->last_modified, "%s", r->last_modified);
    meta->mtime = http_parse_date(r->last_modified);
    return 0;
}

/* One probe's attempts. */
struct probe_op {
    const char *url, *path, *shown;
    const struct map_options *opt;
    struct http_meta *meta;
};

static int probe_attempt(void *arg, struct retry *r)
{
    struct probe_op *op = arg;
    CURL *h = pool_get(r->deadline_ms, true);
    if (!h)
        return -ETIMEDOUT;
    struct response resp;
    char errbuf[CURL_ERROR_SIZE];
    bool head = true;
    CURLcode rc = probe_request(h, op->url, true, &resp, r->deadline_ms, op->opt->timeout_ms, errbuf);
    if (rc == CURLE_OK &&
        (resp.status == 403 || resp.status == 405 || resp.status == 501 ||
         (resp.status == 200 && (!resp.accept_ranges || resp.content_length < 0)))) {
        /* HEAD refused (presigned URLs), or no promise of ranges: ask for one byte. */
        head = false;
        rc = probe_request(h, op->url, false, &resp, r->deadline_ms, op->opt->timeout_ms, errbuf);
    }
    int result = 1; /* 1: retry */
    if (rc != CURLE_OK) {
        if (curl_failure(rc, errbuf, r->why, sizeof r->why))
            result = -EIO; /* permanent: logged by with_retries */
    } else if (head && resp.status == 200) {
        result = fill_meta(h, op->url, &resp, resp.content_length, op->meta);
    } else if (!head && resp.status == 206 && resp.have_range && resp.cr_total >= 0) {
        result = fill_meta(h, op->url, &resp, resp.cr_total, op->meta);
    } else if (!head && resp.status == 416 && resp.have_range && resp.cr_total == 0) {
        result = fill_meta(h, op->url, &resp, 0, op->meta);
    } else if (!head && resp.status == 200) {
        log_error("%s: %s does not support range requests (answered 200 to a Range GET); "
                  "refusing to download the whole object for every read", op->path, op->shown);
        result = -EIO;
    } else if (resp.status == 404 || resp.status == 410) {
        result = -ENOENT;
    } else if (resp.status == 401 || resp.status == 403) {
        log_limited(LOG_WARN, op->shown, "%s: %s: HTTP %ld: access denied", op->path, op->shown,
                    resp.status);
        result = -EACCES;
    } else if (resp.status >= 500 || resp.status == 408 || resp.status == 429) {
        snprintf(r->why, sizeof r->why, "HTTP %ld", resp.status);
        r->have_retry_after = resp.have_retry_after;
        r->retry_after_ms = resp.retry_after_ms;
    } else {
        log_error("%s: %s: unexpected HTTP %ld when opening", op->path, op->shown, resp.status);
        result = -EIO;
    }
    pool_put(h);
    return result;
}

int http_probe(const char *url, const char *path, const struct map_options *opt,
               struct http_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    char shown[512];
    http_display_url(url, shown, sizeof shown);
    struct probe_op op = { .url = url, .path = path, .shown = shown, .opt = opt, .meta = meta };
    struct retry r = { .path = path, .retries = opt->retries,
                       .deadline_ms = now_ms() + opt->deadline_ms, .budget_ms = opt->deadline_ms };
    snprintf(r.what, sizeof r.what, "open %s", shown);
    return with_retries(&r, probe_attempt, &op);
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
