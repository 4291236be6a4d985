/* http.c: probes and range requests (see http.h).
 *
 * Probes are libcurl transfers.  Range requests go through http_direct.c (the shim reads
 * the response over libcurl's connection, the body straight into the cache) or, when
 * that cannot be used, as libcurl transfers.  Each attempt's request is built afresh
 * (build_request: http_request.c's, an s3:// URL's by s3.c and signed last), and its
 * response passes the checks of http_response.c; probes and range requests share one
 * retry loop (with_retries).  A probe that carries headers of ours (a signature, a
 * mapping's header lines) follows redirects itself, since libcurl would carry them to
 * any host: a signed one only to the bucket's region, header lines only to the
 * mapping's own origin.  No lock of its own: every call works on its own stack and on a
 * handle borrowed from the pool.
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

#include "aws_creds.h"
#include "header_cmd.h"
#include "http.h"
#include "http_direct.h"
#include "http_parse.h"
#include "http_request.h"
#include "http_response.h"
#include "lifecycle.h"
#include "log.h"
#include "pool.h"
#include "s3.h"
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
        if (tr->err || !transfer_check(tr)) /* a short error body is kept, for its S3 code */
            return transfer_keep_error_body(tr, data, len) ? len : 0; /* 0 aborts */
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

/* One attempt's request: method on url (an s3:// URL becomes its endpoint's), Range
 * when len > 0, the validator, Accept-Encoding: identity, the mapping's header= lines
 * and its header_command's when the request goes to the origin the mapping named
 * (never to another), and last, for s3://, the signature over all of them.  *how says
 * how it was signed. */
static int build_request(struct http_request *rq, const char *method, const char *url,
                         const struct map_options *opt, bool mapped_origin, int64_t first,
                         int64_t len, const char *etag, const char *last_modified,
                         struct s3_signing *how)
{
    bool s3 = s3_is_url(url);
    how->source[0] = '\0';
    how->region[0] = '\0';
    int rc = s3 ? s3_request_init(rq, method, url, opt, how) : http_request_init(rq, method, url);
    if (rc == 0 && len > 0)
        rc = http_request_range(rq, first, len);
    if (rc == 0)
        rc = http_request_validator(rq, etag, last_modified);
    if (rc == 0)
        rc = http_request_add(rq, "Accept-Encoding: identity");
    if (rc == 0 && mapped_origin)
        rc = http_request_add_lines(rq, opt->headers);
    if (rc == 0 && mapped_origin && opt->header_command) {
        char *lines;
        rc = header_cmd_lines(opt->header_command, opt->header_renew_ms, opt->timeout_ms, &lines);
        if (rc == 0) {
            rc = http_request_add_lines(rq, lines);
            explicit_bzero(lines, strlen(lines));
            free(lines);
        }
    }
    if (rc == 0 && s3)
        rc = s3_sign(rq, opt, how);
    if (rc < 0)
        http_request_free(rq);
    return rc;
}

/* The request's header lines as a libcurl list (libcurl adds User-Agent, Accept,
 * Authorization from the URL's credentials, and Host unless the request signed it).
 * false when out of memory. */
static bool curl_headers(const struct http_request *rq, struct curl_slist **list)
{
    *list = NULL;
    for (size_t i = 0; i < rq->nheaders + rq->signed_host; i++) {
        char host[600];
        if (i == rq->nheaders)
            snprintf(host, sizeof host, "Host: %s", rq->host);
        struct curl_slist *l =
            libcurl.slist_append(*list, i < rq->nheaders ? rq->headers[i] : host);
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
    bool refreshed; /* the credentials were fetched again after a refusal */
};

/* A signed request refused (403, or 400 as S3 says of an expired token): the first time,
 * the credentials are fetched again and the request retried; then a 403 is EACCES (a
 * 400 fails as any other would). */
static int refused_signature(struct range_op *op, const struct s3_signing *how,
                             const char *code, struct retry *r)
{
    const struct http_target *t = op->tr.t;
    long status = op->tr.resp.status;
    if (!op->refreshed) {
        op->refreshed = true;
        aws_credentials_invalidate(t->opt.profile);
        snprintf(r->why, sizeof r->why, "HTTP %ld%s%s (credentials from %s); fetching them again",
                 status, code[0] ? " " : "", code, how->source);
        return 1;
    }
    if (status != 403) {
        snprintf(r->why, sizeof r->why, "%s", op->tr.why);
        return op->tr.fatal ? -op->tr.err : 1;
    }
    if (code[0])
        snprintf(r->why, sizeof r->why, "HTTP 403 %s (credentials from %s); access denied", code,
                 how->source);
    else
        snprintf(r->why, sizeof r->why, "HTTP 403: access denied (credentials from %s)",
                 how->source);
    return -EACCES;
}

/* S3's code in a refused answer's body (s3_xml_value: a word, or ""), and the refusal's
 * "HTTP STATUS..." message with it after the status, as the messages at open have it. */
static void s3_code_of(struct transfer *tr, char *code, size_t codelen)
{
    code[0] = '\0';
    if (!s3_is_url(tr->t->url) || !tr->errbody_len)
        return;
    s3_xml_value(tr->errbody, tr->errbody_len, "Code", code, codelen);
    if (!code[0] || strncmp(tr->why, "HTTP ", 5) != 0)
        return;
    const char *rest = tr->why + 5 + strspn(tr->why + 5, "0123456789");
    char why[sizeof tr->why];
    snprintf(why, sizeof why, "%.*s %s%s", (int)(rest - tr->why), tr->why, code, rest);
    memcpy(tr->why, why, sizeof why);
}

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
    tr->errbody_len = 0;
    memset(&tr->resp, 0, sizeof tr->resp);
    snprintf(r->what, sizeof r->what, "GET %s bytes %lld-%lld", op->shown, (long long)tr->first,
             (long long)(tr->first + tr->want - 1));

    struct http_request rq;
    struct s3_signing how;
    bool mapped = s3_is_url(t->url) || !t->mapped_url || http_same_origin(t->url, t->mapped_url);
    int rc = build_request(&rq, "GET", t->url, &t->opt, mapped, tr->first, tr->want, t->etag,
                           t->last_modified, &how);
    if (rc == -EACCES)
        return -EACCES; /* no credentials: aws_creds said so */
    if (rc < 0) {
        snprintf(r->why, sizeof r->why, "cannot build the request: %s", strerror(-rc));
        return -EIO;
    }
    rc = op->direct ? http_direct_attempt(tr, &rq, r->deadline_ms, op->demand)
                    : curl_attempt(tr, &rq, r->deadline_ms, op->demand);
    http_request_free(&rq);
    if (rc <= 0)
        return rc;
    char code[64];
    s3_code_of(tr, code, sizeof code);
    if (how.source[0] && (tr->resp.status == 403 || tr->resp.status == 400))
        return refused_signature(op, &how, code, r);
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

/* A probe's answer: the response, and the start of an error's body (S3 says there why). */
struct probe_answer {
    struct response r; /* the header callback's */
    char body[2048];
    size_t body_len;
};

/* Body sink for the probe's one-byte GET: keeps the start of an error's body, nothing of
 * a 206, and stops a 200 early. */
static size_t on_probe_body(char *data, size_t size, size_t n, void *arg)
{
    struct probe_answer *a = arg;
    size_t len = size * n;
    if (a->r.status == 206)
        return len;
    if (a->r.status < 300)
        return 0;
    size_t room = sizeof a->body - 1 - a->body_len;
    size_t k = len < room ? len : room;
    memcpy(a->body + a->body_len, data, k);
    a->body_len += k;
    return k == len ? len : 0; /* enough of it */
}

/* One probe's attempts. */
struct probe_op {
    const char *url, *path, *shown;
    const struct map_options *opt;
    struct http_meta *meta;
};

/* Whether the probe follows redirects itself: libcurl would send our headers (custom
 * ones, a signature) to whatever host a redirect names. */
static bool follows_itself(const struct probe_op *op)
{
    return s3_is_url(op->url) || op->opt->headers || op->opt->header_command;
}

/* One probe request to url.  Its answer is a few hundred bytes: a probe that has not
 * finished within the mapping's no-progress timeout is abandoned (and retried by the
 * caller).  CURLE_LOGIN_DENIED: no credentials to sign with (aws_creds said so). */
static CURLcode probe_request(CURL *h, const struct probe_op *op, const char *url, bool head,
                              bool mapped, struct probe_answer *a, uint64_t deadline_ms,
                              char *errbuf, struct s3_signing *how)
{
    memset(a, 0, sizeof *a);
    a->r.content_length = -1;
    uint64_t timeout_ms = op->opt->timeout_ms;
    struct http_request rq;
    struct curl_slist *headers = NULL;
    int err = build_request(&rq, head ? "HEAD" : "GET", url, op->opt, mapped, 0, head ? 0 : 1,
                            NULL, NULL, how);
    if (err == 0 && !curl_headers(&rq, &headers)) {
        http_request_free(&rq);
        err = -ENOMEM;
    }
    if (err < 0) {
        if (err == -EINVAL && s3_is_url(url))
            snprintf(errbuf, CURL_ERROR_SIZE, "no request can be made: the endpoint (endpoint=, "
                     "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) is not an http or https URL, or "
                     "the key is longer than 1024 bytes");
        else
            snprintf(errbuf, CURL_ERROR_SIZE, "cannot build the request: %s", strerror(-err));
        return err == -EACCES ? CURLE_LOGIN_DENIED
               : err == -EINVAL ? CURLE_URL_MALFORMAT /* an endpoint, a key: for good */
                                : CURLE_OUT_OF_MEMORY;
    }
    if (s3_is_url(url) && log_threshold >= LOG_DEBUG) {
        char to[512];
        http_display_url(rq.url, to, sizeof to);
        log_debug("%s: %s: %s %s (region %s, %s)", op->path, op->shown, rq.method, to,
                  how->region, how->source[0] ? how->source : "unsigned");
    }
    set_request(h, &rq, headers, errbuf);
    libcurl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, follows_itself(op) ? 0L : 1L);
    libcurl.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    libcurl.easy_setopt(h, CURLOPT_HEADERFUNCTION, response_header_line);
    libcurl.easy_setopt(h, CURLOPT_HEADERDATA, &a->r);
    uint64_t left = deadline_ms > now_ms() ? deadline_ms - now_ms() : 1;
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left < timeout_ms ? left : timeout_ms));
    if (config.connect_timeout_ms > timeout_ms)
        libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    if (head) {
        libcurl.easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        libcurl.easy_setopt(h, CURLOPT_HTTPGET, 1L);
        libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_probe_body);
        libcurl.easy_setopt(h, CURLOPT_WRITEDATA, a);
    }
    CURLcode rc = libcurl.easy_perform(h);
    long status = 0;
    if (libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status)
        a->r.status = status;
    if (rc == CURLE_WRITE_ERROR && a->r.status != 206)
        rc = CURLE_OK; /* we stopped a 200's body (or an error's) on purpose */
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    libcurl.slist_free_all(headers);
    http_request_free(&rq);
    return rc;
}

/* meta from a probe's answer.  Range requests go where the probe ended: an s3:// URL
 * stays itself; after libcurl's redirects, url's credentials go along only to url's own
 * origin (never to another); `where` is where the probe's own redirects ended. */
static int fill_meta(CURL *h, const struct probe_op *op, const char *where,
                     const struct response *r, int64_t size)
{
    struct http_meta *meta = op->meta;
    char *eff = NULL;
    if (s3_is_url(op->url) || follows_itself(op)) {
        meta->url = strdup(s3_is_url(op->url) ? op->url : where);
    } else {
        libcurl.easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
        meta->url = http_url_after_redirect(op->url, eff ? eff : op->url);
    }
    if (!meta->url)
        return -ENOMEM;
    meta->size = size;
    snprintf(meta->etag, sizeof meta->etag, "%s", r->etag);
    snprintf(meta->last_modified, sizeof meta->last_modified, "%s", r->last_modified);
    meta->mtime = http_parse_date(r->last_modified);
    return 0;
}

/* What a probe's last answer means: 0 (meta filled), 1 (retry), or a negative errno. */
static int probe_outcome(CURL *h, struct probe_op *op, const char *where, bool head,
                         const struct probe_answer *a, struct retry *r)
{
    const struct response *resp = &a->r;
    if (head && resp->status == 200)
        return fill_meta(h, op, where, resp, resp->content_length);
    if (!head && resp->status == 206 && resp->have_range && resp->cr_total >= 0)
        return fill_meta(h, op, where, resp, resp->cr_total);
    if (!head && resp->status == 416 && resp->have_range && resp->cr_total == 0)
        return fill_meta(h, op, where, resp, 0);
    if (!head && resp->status == 200) {
        log_error("%s: %s does not support range requests (answered 200 to a Range GET); "
                  "refusing to download the whole object for every read", op->path, op->shown);
        return -EIO;
    }
    if (resp->status == 404 || resp->status == 410)
        return -ENOENT;
    if (resp->status == 401 || resp->status == 403) {
        log_limited(LOG_WARN, op->shown, "%s: %s: HTTP %ld: access denied", op->path, op->shown,
                    resp->status);
        return -EACCES;
    }
    if (resp->status >= 500 || resp->status == 408 || resp->status == 429) {
        snprintf(r->why, sizeof r->why, "HTTP %ld", resp->status);
        r->have_retry_after = resp->have_retry_after;
        r->retry_after_ms = resp->retry_after_ms;
        return 1;
    }
    log_error("%s: %s: unexpected HTTP %ld when opening", op->path, op->shown, resp->status);
    return -EIO;
}

/* S3 named the bucket's region (x-amz-bucket-region, or <Region> in the body) and it is
 * not the one signed for: learnt, with one line; true when the probe should ask again. */
static bool s3_other_region(const struct probe_op *op, const struct probe_answer *a,
                            const struct s3_signing *how)
{
    char region[S3_REGION_MAX];
    snprintf(region, sizeof region, "%s", a->r.bucket_region);
    if (!region[0])
        s3_xml_value(a->body, a->body_len, "Region", region, sizeof region);
    if (!region[0] || !s3_region_learn(op->url, how->region, region))
        return false;
    log_warn("%s: %s: the bucket is in region %s, not %s; using %s from now on", op->path,
             op->shown, region, how->region, region);
    return true;
}

/* What S3's refusal (400, 403) of a probe means: 2 (ask again: another region, or
 * credentials fetched again after ExpiredToken), -EACCES (with one line naming S3's
 * error code and the credentials' source), or -EIO (another 400, its code named). */
static int s3_refusal(const struct probe_op *op, const struct probe_answer *a,
                      const struct s3_signing *how, bool *refreshed)
{
    long st = a->r.status;
    char code[64];
    s3_xml_value(a->body, a->body_len, "Code", code, sizeof code);
    if (st == 400 && strcmp(code, "AuthorizationHeaderMalformed") == 0 &&
        s3_other_region(op, a, how))
        return 2;
    bool expired = strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0;
    if (expired && how->source[0] && !*refreshed) {
        *refreshed = true;
        aws_credentials_invalidate(op->opt->profile);
        log_info("%s: %s: %s; fetching the credentials (from %s) again", op->path, op->shown,
                 code, how->source);
        return 2;
    }
    if (st != 403 && !expired && strcmp(code, "InvalidToken") != 0) {
        log_error("%s: %s: HTTP %ld %s when opening", op->path, op->shown, st,
                  code[0] ? code : "without an S3 error code");
        return -EIO;
    }
    char who[80];
    if (how->source[0])
        snprintf(who, sizeof who, "credentials from %s", how->source);
    else
        snprintf(who, sizeof who, "unsigned: sign=0");
    log_error("%s: %s: HTTP %ld %s (%s); access denied", op->path, op->shown, st,
              code[0] ? code : "without an S3 error code", who);
    return -EACCES;
}

/* A redirect the probe follows itself: *where moves on (s3: to the bucket's region),
 * *mapped says whether it is still the mapping's origin.  true to ask again; false with
 * one line logged. */
static bool follow_redirect(CURL *h, const struct probe_op *op, const struct probe_answer *a,
                            const struct s3_signing *how, char **where, bool *mapped)
{
    if (s3_is_url(op->url)) {
        if (s3_other_region(op, a, how))
            return true;
        log_error("%s: %s: HTTP %ld: S3 sends the requests for this bucket elsewhere; set "
                  "region= or endpoint= for this mapping (signed requests follow no redirect)",
                  op->path, op->shown, a->r.status);
        return false;
    }
    char *to = NULL;
    libcurl.easy_getinfo(h, CURLINFO_REDIRECT_URL, &to);
    char *next = to ? http_url_after_redirect(*where, to) : NULL;
    if (!next || !http_url_usable(next)) {
        log_error("%s: %s: HTTP %ld without a usable Location", op->path, op->shown,
                  a->r.status);
        free(next);
        return false;
    }
    free(*where);
    *where = next;
    *mapped = http_same_origin(op->url, next); /* the mapping's headers go there only */
    return true;
}

static int probe_attempt(void *arg, struct retry *r)
{
    struct probe_op *op = arg;
    CURL *h = pool_get(r->deadline_ms, true);
    if (!h)
        return -ETIMEDOUT;
    struct probe_answer *a = malloc(sizeof *a);
    char *where = strdup(op->url);
    bool s3 = s3_is_url(op->url), mapped = true, refreshed = false;
    int result = -ENOMEM;
    for (unsigned hop = 0; a && where; hop++) {
        char errbuf[CURL_ERROR_SIZE];
        struct s3_signing how;
        /* S3 is asked for one byte at once: an error's body says what went wrong. */
        bool head = !s3;
        CURLcode rc = probe_request(h, op, where, head, mapped, a, r->deadline_ms, errbuf, &how);
        long st = a->r.status;
        if (rc == CURLE_OK && head &&
            (st == 403 || st == 405 || st == 501 ||
             (st == 200 && (!a->r.accept_ranges || a->r.content_length < 0)))) {
            /* HEAD refused (presigned URLs), or no promise of ranges: ask for one byte. */
            head = false;
            rc = probe_request(h, op, where, false, mapped, a, r->deadline_ms, errbuf, &how);
            st = a->r.status;
        }
        if (rc == CURLE_OK && s3 && st == 416 && !a->r.have_range) {
            /* S3's answer to a range of an empty object, without a Content-Range: its
             * size is what a HEAD says. */
            head = true;
            rc = probe_request(h, op, where, true, mapped, a, r->deadline_ms, errbuf, &how);
            st = a->r.status;
            if (rc == CURLE_OK && st == 200 && a->r.content_length < 0)
                st = a->r.status = 416; /* no size either: refused below */
        }
        if (rc == CURLE_LOGIN_DENIED) {
            result = -EACCES; /* no credentials: aws_creds said so */
            break;
        }
        if (rc == CURLE_URL_MALFORMAT) {
            size_t n = strnlen(errbuf, sizeof r->why - 1);
            memcpy(r->why, errbuf, n);
            r->why[n] = '\0';
            result = -EIO;
            break;
        }
        if (rc != CURLE_OK) {
            result = curl_failure(rc, errbuf, r->why, sizeof r->why) ? -EIO : 1;
            break;
        }
        if (hop >= 10 && st >= 300 && st < 500) {
            log_error("%s: %s: more than 10 redirects", op->path, op->shown);
            result = -EIO;
            break;
        }
        if (follows_itself(op) && st >= 300 && st < 400 && st != 304) {
            if (follow_redirect(h, op, a, &how, &where, &mapped))
                continue;
            result = -EIO;
            break;
        }
        if (s3 && (st == 400 || st == 403)) {
            result = s3_refusal(op, a, &how, &refreshed);
            if (result == 2)
                continue;
            break;
        }
        result = probe_outcome(h, op, where, head, a, r);
        break;
    }
    free(a);
    free(where);
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
