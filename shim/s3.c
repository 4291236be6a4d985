/* s3.c: see s3.h.  One mutex (s3_lock) guards the learnt and resolved regions and the
 * kept signing keys, held only to copy an entry in or out; no call is made under it (a leaf, taken
 * across fork by init.c's handlers). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_creds.h"
#include "http_request.h"
#include "s3.h"
#include "sigv4.h"
#include "url.h"
#include "parse.h"

#define BUCKET_MAX 63
#define KEY_MAX 1024 /* S3's limit on a key, in bytes */
#define LEARNT_MAX 32
#define KEYS_KEPT 4
#define DEFAULT_REGION "us-east-1"

static pthread_mutex_t s3_lock = PTHREAD_MUTEX_INITIALIZER;

/* Regions the servers named, per bucket. */
static struct learnt {
    char bucket[BUCKET_MAX + 1];
    char region[S3_REGION_MAX];
} learnt[LEARNT_MAX];
static size_t nlearnt;

/* The profile's region as first resolved (environment, config file), per profile: a
 * request does not read the AWS files again. */
#define RESOLVED_MAX 16
static struct resolved {
    bool used, named;
    char profile[128];
    char region[S3_REGION_MAX];
} resolved[RESOLVED_MAX];
static unsigned resolved_next;

/* Signing keys of the current day, per access key (and secret), region. */
static struct kept_key {
    char access_key_id[128];
    uint8_t secret_hash[SHA256_LEN];
    char date[9];
    char region[S3_REGION_MAX];
    uint8_t key[SHA256_LEN];
} kept[KEYS_KEPT];
static unsigned kept_next;
static bool wipe_registered;

/* At exit the signing keys go with the credentials they came from (aws_creds.c). */
static void wipe_kept_keys(void)
{
    if (pthread_mutex_trylock(&s3_lock) != 0)
        return; /* a thread is inside: never wait at exit */
    explicit_bzero(kept, sizeof kept);
    pthread_mutex_unlock(&s3_lock);
}

static bool region_ok(const char *r)
{
    size_t n = strlen(r);
    return n > 0 && n < S3_REGION_MAX && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The bucket of an s3:// URL into out. */
static void bucket_of(const char *s3url, char out[BUCKET_MAX + 1])
{
    const char *b = s3url + 5;
    size_t n = strcspn(b, "/");
    if (n > BUCKET_MAX)
        n = 0;
    memcpy(out, b, n);
    out[n] = '\0';
}

static void region_for(const char *bucket, const struct map_options *opt, char *out)
{
    pthread_mutex_lock(&s3_lock);
    for (size_t i = 0; i < nlearnt; i++)
        if (strcmp(learnt[i].bucket, bucket) == 0) {
            memcpy(out, learnt[i].region, S3_REGION_MAX);
            pthread_mutex_unlock(&s3_lock);
            return;
        }
    if (opt->region && region_ok(opt->region)) {
        pthread_mutex_unlock(&s3_lock);
        snprintf(out, S3_REGION_MAX, "%s", opt->region);
        return;
    }
    const char *p = opt->profile;
    bool cacheable = !p || strlen(p) < sizeof resolved[0].profile;
    for (size_t i = 0; cacheable && i < RESOLVED_MAX; i++) {
        const struct resolved *r = &resolved[i];
        if (r->used && r->named == (p != NULL) && (!p || strcmp(r->profile, p) == 0)) {
            memcpy(out, r->region, S3_REGION_MAX);
            pthread_mutex_unlock(&s3_lock);
            return;
        }
    }
    pthread_mutex_unlock(&s3_lock);
    /* (two threads may both resolve it the first time: the same answer) */
    if (aws_region_for_profile(p, out, S3_REGION_MAX) < 0 || !region_ok(out))
        snprintf(out, S3_REGION_MAX, "%s", DEFAULT_REGION);
    if (!cacheable)
        return;
    pthread_mutex_lock(&s3_lock);
    struct resolved *r = &resolved[resolved_next++ % RESOLVED_MAX];
    *r = (struct resolved){ .used = true, .named = p != NULL };
    snprintf(r->profile, sizeof r->profile, "%s", p ? p : "");
    memcpy(r->region, out, S3_REGION_MAX);
    pthread_mutex_unlock(&s3_lock);
}

bool s3_region_learn(const char *s3url, const char *used, const char *region)
{
    if (!region_ok(region) || strcmp(region, used) == 0)
        return false;
    char bucket[BUCKET_MAX + 1];
    bucket_of(s3url, bucket);
    pthread_mutex_lock(&s3_lock);
    size_t i = 0;
    while (i < nlearnt && strcmp(learnt[i].bucket, bucket) != 0)
        i++;
    if (i == nlearnt)
        i = nlearnt < LEARNT_MAX ? nlearnt++ : (size_t)(bucket[0] % LEARNT_MAX);
    snprintf(learnt[i].bucket, sizeof learnt[i].bucket, "%s", bucket);
    snprintf(learnt[i].region, sizeof learnt[i].region, "%s", region);
    pthread_mutex_unlock(&s3_lock);
    return true;
}

/* The key of an s3:// URL (after "BUCKET/"), percent-decoded into out; its length, or -1. */
static ssize_t key_of(const char *s3url, char out[KEY_MAX + 1])
{
    const char *k = s3url + 5 + strcspn(s3url + 5, "/");
    if (*k == '/')
        k++;
    size_t n = 0;
    for (; *k; k++) {
        int hi, lo;
        if (n >= KEY_MAX)
            return -1;
        if (*k == '%' && (hi = parse_hex_digit(k[1])) >= 0 && (lo = parse_hex_digit(k[2])) >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            k += 2;
        } else {
            out[n++] = *k;
        }
    }
    out[n] = '\0';
    return (ssize_t)n;
}

/* The endpoint's "scheme://authority" (without a path), and whether it is a custom one. */
static int endpoint_for(const struct map_options *opt, const char *region, char *out,
                        size_t outlen, bool *custom)
{
    const char *e = opt->endpoint;
    if (!e || !*e)
        e = getenv("AWS_ENDPOINT_URL_S3");
    if (!e || !*e)
        e = getenv("AWS_ENDPOINT_URL");
    *custom = e && *e;
    if (!*custom) {
        snprintf(out, outlen, "https://s3.%s.amazonaws.com", region);
        return 0;
    }
    if (!http_url_usable(e))
        return -EINVAL;
    const char *auth = strstr(e, "://") + 3;
    size_t n = (size_t)(auth - e) + strcspn(auth, "/?#");
    if (memchr(auth, '@', n - (size_t)(auth - e)) || n >= outlen)
        return -EINVAL; /* credentials in an endpoint are not ours to send */
    memcpy(out, e, n);
    out[n] = '\0';
    return 0;
}

/* The request for method on s3url's key (its bucket when query is set: then the key
 * part is ignored and the query, built with sigv4_uri_encode, follows the path). */
static int request_init(struct http_request *rq, const char *method, const char *s3url,
                        const char *query, const struct map_options *opt,
                        struct s3_signing *how)
{
    memset(rq, 0, sizeof *rq);
    char bucket[BUCKET_MAX + 1], key[KEY_MAX + 1], enc[KEY_MAX * 3 + 1], endpoint[512];
    bucket_of(s3url, bucket);
    ssize_t klen = query ? 0 : key_of(s3url, key);
    if (!bucket[0] || (!query && (klen <= 0 ||
                                  sigv4_uri_encode(key, (size_t)klen, true, enc, sizeof enc) < 0)))
        return -EINVAL;
    if (query)
        enc[0] = '\0';
    region_for(bucket, opt, how->region);
    bool custom;
    if (endpoint_for(opt, how->region, endpoint, sizeof endpoint, &custom) < 0)
        return -EINVAL;
    bool path_style = opt->path_style >= 0 ? opt->path_style == 1
                                           : custom || strchr(bucket, '.') != NULL;
    char *url;
    int n;
    const char *q = query ? "?" : "";
    if (path_style) {
        n = asprintf(&url, "%s/%s/%s%s%s", endpoint, bucket, enc, q, query ? query : "");
    } else {
        const char *auth = strstr(endpoint, "://") + 3;
        n = asprintf(&url, "%.*s%s.%s/%s%s%s", (int)(auth - endpoint), endpoint, bucket, auth,
                     enc, q, query ? query : "");
    }
    if (n < 0)
        return -ENOMEM;
    int rc = http_request_init(rq, method, url);
    if (rc < 0) {
        free(url);
        return rc;
    }
    rq->owned_url = url;
    if (opt->requester_pays)
        rc = http_request_add(rq, "x-amz-request-payer: requester");
    return rc;
}

int s3_request_init(struct http_request *rq, const char *method, const char *s3url,
                    const struct map_options *opt, struct s3_signing *how)
{
    return request_init(rq, method, s3url, NULL, opt, how);
}

int s3_request_init_bucket(struct http_request *rq, const char *s3url, const char *query,
                           const struct map_options *opt, struct s3_signing *how)
{
    return request_init(rq, "GET", s3url, query, opt, how);
}

/* The signing key for cr, the day and region: kept, or made (and kept). */
static int signing_key(const struct aws_credentials *cr, const char *date, const char *region,
                       uint8_t key[SHA256_LEN])
{
    uint8_t sh[SHA256_LEN];
    if (crypto_sha256(cr->secret_access_key, strlen(cr->secret_access_key), sh) < 0)
        return -ELIBACC;
    pthread_mutex_lock(&s3_lock);
    for (unsigned i = 0; i < KEYS_KEPT; i++) {
        struct kept_key *k = &kept[i];
        if (strcmp(k->access_key_id, cr->access_key_id) == 0 &&
            memcmp(k->secret_hash, sh, sizeof sh) == 0 && strcmp(k->date, date) == 0 &&
            strcmp(k->region, region) == 0) {
            memcpy(key, k->key, SHA256_LEN);
            pthread_mutex_unlock(&s3_lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&s3_lock);
    int rc = sigv4_signing_key(cr->secret_access_key, date, region, "s3", key);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&s3_lock);
    if (!wipe_registered)
        wipe_registered = atexit(wipe_kept_keys) == 0;
    struct kept_key *k = &kept[kept_next++ % KEYS_KEPT];
    snprintf(k->access_key_id, sizeof k->access_key_id, "%s", cr->access_key_id);
    memcpy(k->secret_hash, sh, sizeof sh);
    snprintf(k->date, sizeof k->date, "%s", date);
    snprintf(k->region, sizeof k->region, "%s", region);
    memcpy(k->key, key, SHA256_LEN);
    pthread_mutex_unlock(&s3_lock);
    return 0;
}

/* Whether a header line is one S3 requests sign: Range and the x-amz-* lines. */
static bool signed_line(const char *line)
{
    return strncasecmp(line, "range:", 6) == 0 || strncasecmp(line, "x-amz-", 6) == 0;
}

/* Signs rq with cr (the header lines to sign are rq's, copied into names/values). */
static int sign_with(struct http_request *rq, const struct aws_credentials *cr,
                     const char *region)
{
    time_t now = time(NULL);
    char amz[SIGV4_AMZ_DATE_SIZE];
    int rc = sigv4_amz_date(now, amz);
    if (rc == 0)
        rc = http_request_add(rq, "x-amz-date: %s", amz);
    if (rc == 0)
        rc = http_request_add(rq, "x-amz-content-sha256: %s", SIGV4_EMPTY_SHA256);
    if (rc == 0 && cr->session_token[0])
        rc = http_request_add(rq, "x-amz-security-token: %s", cr->session_token);
    if (rc < 0)
        return rc;
    struct sigv4_header hs[SIGV4_MAX_HEADERS];
    char *copies[SIGV4_MAX_HEADERS];
    size_t lens[SIGV4_MAX_HEADERS], nh = 0;
    hs[nh++] = (struct sigv4_header){ "host", rq->host };
    for (size_t i = 0; i < rq->nheaders && rc == 0; i++) {
        if (!signed_line(rq->headers[i]))
            continue;
        if (nh >= SIGV4_MAX_HEADERS) {
            rc = -E2BIG;
            break;
        }
        char *c = strdup(rq->headers[i]);
        if (!c) {
            rc = -ENOMEM;
            break;
        }
        copies[nh] = c;
        lens[nh] = strlen(c);
        char *colon = strchr(c, ':');
        *colon = '\0';
        hs[nh++] = (struct sigv4_header){ c, colon + 1 + strspn(colon + 1, " \t") };
    }
    uint8_t key[SHA256_LEN];
    char auth[512];
    if (rc == 0) {
        struct sigv4_request req = { .method = rq->method, .path = rq->path, .query = rq->query,
                                     .headers = hs, .nheaders = nh,
                                     .payload_hash = SIGV4_EMPTY_SHA256, .uri = SIGV4_URI_S3,
                                     .time = now, .region = region, .service = "s3" };
        rc = signing_key(cr, (char[9]){ amz[0], amz[1], amz[2], amz[3], amz[4], amz[5],
                                        amz[6], amz[7], '\0' },
                         region, key);
        ssize_t n = rc < 0 ? rc
                           : sigv4_authorization_with_key(&req, cr->access_key_id, key, auth,
                                                          sizeof auth);
        rc = n < 0 ? (int)n : http_request_add(rq, "Authorization: %s", auth);
        explicit_bzero(key, sizeof key);
        explicit_bzero(auth, sizeof auth);
    }
    for (size_t i = 1; i < nh; i++) {
        explicit_bzero(copies[i], lens[i]);
        free(copies[i]);
    }
    if (rc == 0)
        rq->signed_host = true;
    return rc;
}

int s3_sign(struct http_request *rq, const struct map_options *opt, struct s3_signing *how)
{
    how->source[0] = '\0';
    if (!opt->sign)
        return 0;
    struct aws_credentials *cr = malloc(sizeof *cr);
    if (!cr)
        return -ENOMEM;
    int rc = aws_credentials_get(opt->profile, cr);
    if (rc == 0) {
        snprintf(how->source, sizeof how->source, "%s", cr->source);
        rc = sign_with(rq, cr, how->region);
        if (rc == -ELIBACC)
            rc = -EACCES;
    } else {
        rc = -EACCES; /* aws_creds said why */
    }
    explicit_bzero(cr, sizeof *cr);
    free(cr);
    return rc;
}

void s3_xml_value(const char *body, size_t len, const char *tag, char *out, size_t outlen)
{
    char open[64], close[64];
    out[0] = '\0';
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(body, len, open, strlen(open));
    if (!a)
        return;
    a += strlen(open);
    const char *b = memmem(a, len - (size_t)(a - body), close, strlen(close));
    if (!b)
        return;
    size_t n = (size_t)(b - a);
    /* a code or a region: a word; anything else is not shown */
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)a[i]) && a[i] != '-' && a[i] != '_' && a[i] != '.')
            return;
    if (n >= outlen)
        return;
    memcpy(out, a, n);
    out[n] = '\0';
}


void s3_atfork_prepare(void)
{
    pthread_mutex_lock(&s3_lock);
}

void s3_atfork_release(void)
{
    pthread_mutex_unlock(&s3_lock);
}
