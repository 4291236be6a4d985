/* s3_list.c: see s3_list.h.  One page is one request (list_page), retried by list_call;
 * the pages follow each other by their continuation tokens.  No lock of its own. */
#include "libcurl.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_creds.h"
#include "http_request.h"
#include "http_response.h"
#include "log.h"
#include "pool.h"
#include "s3.h"
#include "s3_list.h"
#include "sigv4.h"
#include "url.h"
#include "parse.h"

#define PREFIX_MAX 1024   /* S3's limit on a key */
#define PAGES_MAX 100000  /* a server that never stops saying "truncated" */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_CAP_MS 5000

/* One listing: what is asked for and where the pages' entries go. */
struct listing {
    const char *url, *path;
    char shown[512];
    const struct map_options *opt;
    char prefix[PREFIX_MAX + 2];
    unsigned max_keys;
    size_t max_entries, entries;
    size_t seen; /* keys and prefixes, the skipped ones included */
    int (*add)(void *arg, const struct s3_list_item *item);
    void *arg;
    uint64_t deadline_ms;
    bool refreshed; /* the credentials were fetched again once */
};

/* One page's answer. */
struct answer {
    struct response r;
    char *body;
    size_t len, cap;
    bool too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    if (a->len + len > S3_LIST_PAGE_MAX) {
        a->too_big = true;
        return 0;
    }
    if (a->len + len + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 64 << 10;
        while (cap < a->len + len + 1)
            cap *= 2;
        char *b = realloc(a->body, cap);
        if (!b)
            return 0;
        a->body = b;
        a->cap = cap;
    }
    memcpy(a->body + a->len, data, len);
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

/* s3url's key part, percent-decoded, with a '/' added unless empty or there: the
 * prefix a directory's entries start with. */
static int prefix_of(const char *s3url, char *out)
{
    const char *k = s3url + 5 + strcspn(s3url + 5, "/");
    if (*k == '/')
        k++;
    size_t n = 0;
    for (; *k; k++) {
        int hi, lo;
        if (n >= PREFIX_MAX)
            return -ENAMETOOLONG;
        if (*k == '%' && (hi = parse_hex_digit(k[1])) >= 0 && (lo = parse_hex_digit(k[2])) >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            k += 2;
        } else {
            out[n++] = *k;
        }
        if (out[n - 1] == '\0')
            return -EINVAL;
    }
    if (n > 0 && out[n - 1] != '/')
        out[n++] = '/';
    out[n] = '\0';
    return 0;
}

/* The page's query, sorted as SigV4 wants it (the signer sorts it anyway). */
static int build_query(const struct listing *ls, const char *token, char **out)
{
    char ptok[S3_LIST_TEXT_MAX * 3 + 1], ppre[PREFIX_MAX * 3 + 1];
    if (sigv4_uri_encode(token, strlen(token), false, ptok, sizeof ptok) < 0 ||
        sigv4_uri_encode(ls->prefix, strlen(ls->prefix), false, ppre, sizeof ppre) < 0)
        return -ENAMETOOLONG;
    int n = asprintf(out, "%s%s%sdelimiter=%%2F&list-type=2&max-keys=%u&prefix=%s",
                     token[0] ? "continuation-token=" : "", token[0] ? ptok : "",
                     token[0] ? "&" : "", ls->max_keys, ppre);
    return n < 0 ? -ENOMEM : 0;
}

static uint64_t backoff_ms(unsigned attempt)
{
    uint64_t b = BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
    if (b > BACKOFF_CAP_MS)
        b = BACKOFF_CAP_MS;
    unsigned r = (unsigned)(now_ms() * 2654435761u);
    return b / 2 + r % (b / 2 + 1);
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One request for the page after token: 0 (a->r.status says what came), 1 (a transport
 * failure, why filled: retry) or a negative errno (nothing to retry). */
static int list_request(struct listing *ls, const char *token, struct answer *a,
                        struct s3_signing *how, char *why, size_t whylen)
{
    char *query;
    int rc = build_query(ls, token, &query);
    if (rc < 0)
        return rc;
    struct http_request rq;
    rc = s3_request_init_bucket(&rq, ls->url, query, ls->opt, how);
    free(query);
    if (rc == 0) {
        rc = http_request_add(&rq, "Accept-Encoding: identity");
        if (rc == 0)
            rc = s3_sign(&rq, ls->opt, how);
        if (rc < 0)
            http_request_free(&rq);
    }
    if (rc == -EINVAL)
        log_error("%s: list %s: no request can be made: the endpoint (endpoint=, "
                  "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) is not an http or https URL",
                  ls->path, ls->shown);
    if (rc < 0)
        return rc == -EINVAL ? -EIO : rc;
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i <= rq.nheaders && rc == 0; i++) {
        char host[600];
        if (i == rq.nheaders && !rq.signed_host)
            break;
        if (i == rq.nheaders)
            snprintf(host, sizeof host, "Host: %s", rq.host);
        const char *line = i < rq.nheaders ? rq.headers[i] : host;
        struct curl_slist *l = libcurl.slist_append(headers, line);
        if (!l)
            rc = -ENOMEM;
        else
            headers = l;
    }
    CURL *h = rc == 0 ? pool_get(ls->deadline_ms, true) : NULL;
    if (!h) {
        libcurl.slist_free_all(headers);
        http_request_free(&rq);
        if (rc < 0)
            return rc;
        snprintf(why, whylen, "no connection free before the deadline");
        return -ETIMEDOUT;
    }
    if (log_threshold >= LOG_DEBUG) {
        char to[512];
        url_display(rq.url, to, sizeof to);
        log_debug("%s: list %s (region %s, %s)", ls->path, to, how->region,
                  how->source[0] ? how->source : "unsigned");
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(&a->r, 0, sizeof a->r);
    a->r.content_length = -1;
    a->len = 0;
    a->too_big = false;
    uint64_t now = now_ms();
    uint64_t left = ls->deadline_ms > now ? ls->deadline_ms - now : 1;
    long stall_s = (long)(ls->opt->timeout_ms + 999) / 1000;
    libcurl.easy_setopt(h, CURLOPT_URL, rq.url);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    libcurl.easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    libcurl.easy_setopt(h, CURLOPT_HTTPGET, 1L);
    libcurl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    libcurl.easy_setopt(h, CURLOPT_HEADERFUNCTION, response_header_line);
    libcurl.easy_setopt(h, CURLOPT_HEADERDATA, &a->r);
    libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    libcurl.easy_setopt(h, CURLOPT_WRITEDATA, a);
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
    libcurl.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    libcurl.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s > 0 ? stall_s : 1L);
    if (config.connect_timeout_ms > ls->opt->timeout_ms)
        libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ls->opt->timeout_ms);
    CURLcode cc = libcurl.easy_perform(h);
    long status = 0;
    if (libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status)
        a->r.status = status;
    libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    pool_put(h);
    libcurl.slist_free_all(headers);
    http_request_free(&rq);
    if (a->too_big) {
        log_error("%s: %s: a listing page longer than %d bytes; refused", ls->path, ls->shown,
                  S3_LIST_PAGE_MAX);
        return -EIO;
    }
    if (cc != CURLE_OK) {
        const char *msg = curl_failure_is_permanent(cc) && errbuf[0] ? errbuf
                                                                      : libcurl.easy_strerror(cc);
        size_t n = strnlen(msg, whylen - 1); /* a long message is cut */
        memcpy(why, msg, n);
        why[n] = '\0';
        if (curl_failure_is_permanent(cc)) {
            log_error("%s: list %s: %s; giving up", ls->path, ls->shown, why);
            return -EIO;
        }
        return 1;
    }
    return 0;
}

/* What a refused listing means: 2 (ask again), or a negative errno (one line logged). */
static int refusal(struct listing *ls, const struct answer *a, const struct s3_signing *how)
{
    long st = a->r.status;
    char code[64] = "", region[S3_REGION_MAX];
    if (a->body)
        s3_xml_value(a->body, a->len, "Code", code, sizeof code);
    snprintf(region, sizeof region, "%s", a->r.bucket_region);
    if (!region[0] && a->body)
        s3_xml_value(a->body, a->len, "Region", region, sizeof region);
    bool elsewhere = st == 301 || st == 307 ||
                     (st == 400 && strcmp(code, "AuthorizationHeaderMalformed") == 0);
    if (elsewhere && region[0] && s3_region_learn(ls->url, how->region, region)) {
        log_warn("%s: %s: the bucket is in region %s, not %s; using %s from now on", ls->path,
                 ls->shown, region, how->region, region);
        return 2;
    }
    bool expired = strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0;
    if (expired && how->source[0] && !ls->refreshed) {
        ls->refreshed = true;
        aws_credentials_invalidate(ls->opt->profile);
        log_info("%s: %s: %s; fetching the credentials (from %s) again", ls->path, ls->shown,
                 code, how->source);
        return 2;
    }
    const char *what = code[0] ? code : "without an S3 error code";
    if (st == 404) {
        log_error("%s: list %s: HTTP 404 %s", ls->path, ls->shown, what);
        return -ENOENT;
    }
    if (st == 401 || st == 403 || expired) {
        char who[80];
        if (how->source[0])
            snprintf(who, sizeof who, "credentials from %s", how->source);
        else
            snprintf(who, sizeof who, "unsigned: sign=0");
        log_error("%s: list %s: HTTP %ld %s (%s); access denied", ls->path, ls->shown, st, what,
                  who);
        return -EACCES;
    }
    log_error("%s: list %s: unexpected HTTP %ld %s", ls->path, ls->shown, st, what);
    return -EIO;
}

static int count_and_add(void *arg, const struct s3_list_item *item)
{
    struct listing *ls = arg;
    if (++ls->entries > ls->max_entries) {
        log_error("%s: %s: more than %zu entries in one directory; refusing to list it",
                  ls->path, ls->shown, ls->max_entries);
        return -EOVERFLOW;
    }
    return ls->add ? ls->add(ls->arg, item) : 0;
}

/* The page after token, into page (its entries given to add): 0 or a negative errno. */
static int list_page(struct listing *ls, const char *token, struct s3_list_page *page)
{
    struct answer a = { .body = NULL };
    int result = -EIO;
    char why[200] = "";
    unsigned n = 0, again = 0;
    for (;;) {
        if (now_ms() >= ls->deadline_ms) {
            log_error("%s: list %s: %s; giving up (deadline %llu ms)", ls->path, ls->shown,
                      why[0] ? why : "deadline reached",
                      (unsigned long long)ls->opt->deadline_ms);
            result = -EIO;
            break;
        }
        struct s3_signing how;
        int rc = list_request(ls, token, &a, &how, why, sizeof why);
        if (rc == -EACCES && !how.source[0] && ls->opt->sign) {
            result = -EACCES; /* no credentials: aws_creds said which sources it tried */
            break;
        }
        if (rc < 0 && rc != -ETIMEDOUT) {
            result = rc;
            break;
        }
        long st = a.r.status;
        if (rc == 0 && st == 200) {
            result = s3_list_parse(a.body ? a.body : "", a.len, ls->prefix, count_and_add, ls,
                                   page);
            if (result == -EBADMSG || result == -ENAMETOOLONG) {
                log_error("%s: list %s: the answer is not a listing this shim can read (%s); "
                          "refused", ls->path, ls->shown,
                          result == -EBADMSG ? "malformed" : "a name too long");
                result = -EIO;
            }
            break;
        }
        if (rc == 0 && !(st >= 500 || st == 408 || st == 429)) {
            result = refusal(ls, &a, &how);
            if (result == 2 && ++again <= 3)
                continue; /* another region, fresh credentials: a few times, not forever */
            if (result == 2) {
                log_error("%s: list %s: HTTP %ld again after %u new attempts; giving up",
                          ls->path, ls->shown, st, again - 1);
                result = -EIO;
            }
            break;
        }
        if (rc == 0)
            snprintf(why, sizeof why, "HTTP %ld", st);
        if (n >= ls->opt->retries) {
            log_error("%s: list %s: %s; giving up after %u attempts", ls->path, ls->shown, why,
                      n + 1);
            result = -EIO;
            break;
        }
        uint64_t wait = a.r.have_retry_after ? a.r.retry_after_ms : backoff_ms(n);
        if (now_ms() + wait >= ls->deadline_ms) {
            log_error("%s: list %s: %s; no time left to retry", ls->path, ls->shown, why);
            result = -EIO;
            break;
        }
        log_limited(LOG_WARN, why, "%s: list %s: %s; retrying in %llu ms (%u/%u)", ls->path,
                    ls->shown, why, (unsigned long long)wait, n + 1, ls->opt->retries);
        sleep_ms(wait);
        n++;
    }
    free(a.body);
    return result;
}

static int list_all(struct listing *ls)
{
    struct s3_list_page *page = malloc(sizeof *page);
    char *token = calloc(1, S3_LIST_TEXT_MAX + 1);
    int rc = page && token ? 0 : -ENOMEM;
    for (unsigned pages = 0; rc == 0; pages++) {
        if (pages >= PAGES_MAX) {
            log_error("%s: list %s: more than %d pages; refused", ls->path, ls->shown, PAGES_MAX);
            rc = -EIO;
            break;
        }
        rc = list_page(ls, token, page);
        if (rc == 0)
            ls->seen += page->files + page->dirs + page->skipped;
        if (rc < 0 || !page->truncated || ls->max_keys == 1)
            break;
        if (strcmp(page->next_token, token) == 0) {
            log_error("%s: list %s: the server gave the same continuation token twice; refused",
                      ls->path, ls->shown);
            rc = -EIO;
            break;
        }
        memcpy(token, page->next_token, strlen(page->next_token) + 1);
    }
    free(page);
    free(token);
    return rc;
}

static int listing_init(struct listing *ls, const char *s3url, const char *path,
                        const struct map_options *opt)
{
    memset(ls, 0, sizeof *ls);
    ls->url = s3url;
    ls->path = path;
    ls->opt = opt;
    url_display(s3url, ls->shown, sizeof ls->shown);
    ls->deadline_ms = now_ms() + opt->deadline_ms;
    ls->max_keys = 1000;
    if (!s3_is_url(s3url) || prefix_of(s3url, ls->prefix) < 0) {
        log_error("%s: %s: not a listable s3:// prefix", path, ls->shown);
        return -EINVAL;
    }
    return 0;
}

int s3_list_dir(const char *s3url, const char *path, const struct map_options *opt,
                size_t max_entries, int (*add)(void *arg, const struct s3_list_item *item),
                void *arg)
{
    struct listing ls;
    int rc = listing_init(&ls, s3url, path, opt);
    if (rc < 0)
        return rc;
    ls.max_entries = max_entries;
    ls.add = add;
    ls.arg = arg;
    rc = list_all(&ls);
    return rc < 0 ? rc : ls.seen > INT_MAX ? INT_MAX : (int)ls.seen;
}

int s3_list_exists(const char *s3url, const char *path, const struct map_options *opt)
{
    struct listing ls;
    int rc = listing_init(&ls, s3url, path, opt);
    if (rc < 0)
        return rc;
    if (!ls.prefix[0])
        return 1; /* the bucket itself */
    ls.max_keys = 1;
    ls.max_entries = 2;
    struct s3_list_page page;
    rc = list_page(&ls, "", &page);
    if (rc < 0)
        return rc;
    return page.files + page.dirs + page.skipped > 0 ? 1 : 0;
}
