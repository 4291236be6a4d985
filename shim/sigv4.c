/* sigv4.c: see sigv4.h.  No locks and no globals: every call works on its arguments, a
 * few kilobytes of stack and, for the canonical request that is hashed, one heap buffer
 * that is wiped before it is freed (it may hold a session token).  Derived keys live on
 * the stack and are wiped before return. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define MAX_ACCESS_KEY_ID 128

static const char hex_upper[] = "0123456789ABCDEF";

/* ---- output with checked lengths ------------------------------------------------------
 * A sink counts every byte offered and stores those that fit with room for the NUL; a
 * sink of size 0 only measures. */
struct sink {
    char *buf;
    size_t size, len;
};

static void put(struct sink *s, const void *p, size_t n)
{
    if (s->len < s->size && n < s->size - s->len)
        memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put_str(struct sink *s, const char *str)
{
    put(s, str, strlen(str));
}

static void put_char(struct sink *s, char c)
{
    put(s, &c, 1);
}

static ssize_t sink_finish(struct sink *s)
{
    if (s->len >= s->size) {
        if (s->size)
            s->buf[0] = '\0';
        return -EOVERFLOW;
    }
    s->buf[s->len] = '\0';
    return (ssize_t)s->len;
}

/* ---- character classes (ASCII, independent of the locale) ----------------------------- */
static bool is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 token characters: method and header names. */
static bool is_tchar(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Every '%' is followed by two hex digits. */
static bool escapes_valid(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '%' && (n - i < 3 || hex_value(p[i + 1]) < 0 || hex_value(p[i + 2]) < 0))
            return false;
    return true;
}

/* A region or service: a credential-scope element, so no '/' and nothing to trim. */
static int scope_part_check(const char *s)
{
    if (!s || !*s)
        return -EINVAL;
    size_t n = strlen(s);
    if (n > SIGV4_MAX_SCOPE_PART)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++)
        if (!is_unreserved((unsigned char)s[i]))
            return -EINVAL;
    return 0;
}

/* ---- percent-encoding ------------------------------------------------------------------
 * A cursor yields the canonical bytes of a raw component: its escapes decoded first when
 * `decode` (checked beforehand by escapes_valid), then every byte but the unreserved ones
 * (and '/' when keep_slash) written as %XX.  Comparing two cursors compares the encoded
 * forms without building them. */
struct canon {
    const char *p, *end;
    bool decode, keep_slash;
    char esc[3];
    int at, n;
};

static struct canon canon_start(const char *p, size_t n, bool decode, bool keep_slash)
{
    return (struct canon){ .p = p, .end = p + n, .decode = decode, .keep_slash = keep_slash };
}

static int canon_next(struct canon *c)
{
    if (c->at < c->n)
        return (unsigned char)c->esc[c->at++];
    if (c->p == c->end)
        return -1;
    unsigned char b = (unsigned char)*c->p++;
    if (c->decode && b == '%') {
        b = (unsigned char)(hex_value(c->p[0]) << 4 | hex_value(c->p[1]));
        c->p += 2;
    }
    if (is_unreserved(b) || (b == '/' && c->keep_slash))
        return b;
    c->esc[0] = '%';
    c->esc[1] = hex_upper[b >> 4];
    c->esc[2] = hex_upper[b & 15];
    c->at = 1;
    c->n = 3;
    return '%';
}

static void put_canon(struct sink *s, const char *p, size_t n, bool decode, bool keep_slash)
{
    struct canon c = canon_start(p, n, decode, keep_slash);
    for (int b; (b = canon_next(&c)) >= 0;)
        put_char(s, (char)b);
}

static int canon_compare(struct canon a, struct canon b)
{
    for (;;) {
        int x = canon_next(&a), y = canon_next(&b);
        if (x != y || x < 0)
            return x - y;
    }
}

ssize_t sigv4_uri_encode(const char *in, size_t len, bool keep_slash, char *out, size_t size)
{
    struct sink s = { out, size, 0 };
    put_canon(&s, in, len, false, keep_slash);
    return sink_finish(&s);
}

/* ---- the request, checked and put in canonical order ---------------------------------- */
struct param {
    const char *name, *value;
    size_t name_len, value_len;
};

struct prepared {
    struct param params[SIGV4_MAX_QUERY_PARAMS];
    size_t nparams;
    unsigned char order[SIGV4_MAX_HEADERS]; /* header indexes, sorted by lower-case name */
    char amz_date[SIGV4_AMZ_DATE_SIZE];
};

static int param_compare(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    int c = canon_compare(canon_start(x->name, x->name_len, true, false),
                          canon_start(y->name, y->name_len, true, false));
    if (c)
        return c;
    return canon_compare(canon_start(x->value, x->value_len, true, false),
                         canon_start(y->value, y->value_len, true, false));
}

/* Split "a=1&b&c=" into parameters (a missing value is empty; empty pieces are skipped),
 * sorted by encoded name, then encoded value.  A '+' is a plus sign, not a space. */
static int parse_query(const char *q, struct prepared *p)
{
    p->nparams = 0;
    while (q && *q) {
        size_t n = strcspn(q, "&");
        if (n > 0) {
            if (p->nparams == SIGV4_MAX_QUERY_PARAMS)
                return -E2BIG;
            if (!escapes_valid(q, n))
                return -EINVAL;
            const char *eq = memchr(q, '=', n);
            struct param *pa = &p->params[p->nparams++];
            pa->name = q;
            pa->name_len = eq ? (size_t)(eq - q) : n;
            pa->value = eq ? eq + 1 : q + n;
            pa->value_len = eq ? n - pa->name_len - 1 : 0;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    qsort(p->params, p->nparams, sizeof *p->params, param_compare);
    return 0;
}

static int name_compare(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = lower((unsigned char)*a), y = lower((unsigned char)*b);
        if (x != y || !x)
            return x - y;
    }
}

/* A value without its leading and trailing blanks (SP, HTAB). */
static void trim(const char *v, const char **start, size_t *len)
{
    size_t n = strlen(v);
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *start = v;
    *len = n;
}

static bool value_is(const char *v, const char *want)
{
    const char *s;
    size_t n;
    trim(v, &s, &n);
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

static bool value_valid(const char *v)
{
    for (; *v; v++)
        if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
            return false;
    return true;
}

static bool payload_hash_valid(const char *h)
{
    if (h && strcmp(h, SIGV4_UNSIGNED_PAYLOAD) == 0)
        return true;
    if (!h || strlen(h) != SHA256_HEX_LEN)
        return false;
    for (; *h; h++)
        if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
            return false;
    return true;
}

/* Check the headers and sort them by name, stably (values of a repeated name are joined
 * in the order given). */
static int prepare_headers(const struct sigv4_request *req, struct prepared *p)
{
    if (req->nheaders > SIGV4_MAX_HEADERS)
        return -E2BIG;
    int hosts = 0, dates = 0, content_hashes = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sigv4_header *h = &req->headers[i];
        if (!is_token(h->name) || !h->value || !value_valid(h->value))
            return -EINVAL;
        if (name_compare(h->name, "host") == 0)
            hosts++;
        if (name_compare(h->name, "x-amz-date") == 0) {
            if (!value_is(h->value, p->amz_date))
                return -EINVAL;
            dates++;
        }
        if (name_compare(h->name, "x-amz-content-sha256") == 0) {
            if (!value_is(h->value, req->payload_hash))
                return -EINVAL;
            content_hashes++;
        }
        size_t j = i;
        for (; j > 0 && name_compare(req->headers[p->order[j - 1]].name, h->name) > 0; j--)
            p->order[j] = p->order[j - 1];
        p->order[j] = (unsigned char)i;
    }
    if (hosts != 1 || dates != 1 || content_hashes > 1)
        return -EINVAL;
    if (strcmp(req->service, "s3") == 0 && content_hashes == 0)
        return -EINVAL;
    return 0;
}

static int prepare(const struct sigv4_request *req, struct prepared *p)
{
    if (!req || !is_token(req->method) || !req->path || req->path[0] != '/' ||
        !escapes_valid(req->path, strlen(req->path)) || !payload_hash_valid(req->payload_hash) ||
        (req->uri != SIGV4_URI_S3 && req->uri != SIGV4_URI_DEFAULT) ||
        (req->nheaders && !req->headers))
        return -EINVAL;
    int rc = scope_part_check(req->region);
    if (rc == 0)
        rc = scope_part_check(req->service);
    if (rc == 0)
        rc = sigv4_amz_date(req->time, p->amz_date);
    if (rc == 0)
        rc = parse_query(req->query, p);
    if (rc == 0)
        rc = prepare_headers(req, p);
    return rc;
}

/* ---- writing the parts ---------------------------------------------------------------- */

/* RFC 3986 dot-segment removal, with repeated slashes collapsed, into out (room for
 * len + 1 bytes): "//a/./b/../c/" becomes "/a/c/".  Returns the length. */
static size_t normalize_path(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;
    bool trailing = false;
    while (i < len) {
        while (i < len && in[i] == '/')
            i++;
        size_t start = i;
        while (i < len && in[i] != '/')
            i++;
        size_t n = i - start;
        trailing = true;
        if (n == 0 || (n == 1 && in[start] == '.'))
            continue;
        if (n == 2 && in[start] == '.' && in[start + 1] == '.') {
            while (o > 0 && out[--o] != '/')
                ;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, in + start, n);
        o += n;
        trailing = false;
    }
    if (o == 0 || trailing)
        out[o++] = '/';
    return o;
}

static int put_canonical_uri(struct sink *s, const struct sigv4_request *req)
{
    size_t len = strlen(req->path);
    if (req->uri == SIGV4_URI_S3) {
        put_canon(s, req->path, len, true, true);
        return 0;
    }
    char *norm = malloc(len + 1);
    if (!norm)
        return -ENOMEM;
    put_canon(s, norm, normalize_path(req->path, len, norm), false, true);
    free(norm);
    return 0;
}

static void put_header_value(struct sink *s, const char *v)
{
    const char *p;
    size_t n;
    trim(v, &p, &n);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ' || p[i] == '\t') {
            while (i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t'))
                i++;
            put_char(s, ' ');
        } else {
            put_char(s, p[i]);
        }
    }
}

static void put_lower(struct sink *s, const char *name)
{
    for (; *name; name++)
        put_char(s, (char)lower((unsigned char)*name));
}

/* "host;x-amz-date": each name once, in order. */
static void put_signed_headers(struct sink *s, const struct sigv4_request *req,
                               const struct prepared *p)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[p->order[i]].name;
        if (i > 0 && name_compare(req->headers[p->order[i - 1]].name, name) == 0)
            continue;
        if (i > 0)
            put_char(s, ';');
        put_lower(s, name);
    }
}

static int put_canonical_request(struct sink *s, const struct sigv4_request *req,
                                 const struct prepared *p)
{
    put_str(s, req->method);
    put_char(s, '\n');
    int rc = put_canonical_uri(s, req);
    if (rc < 0)
        return rc;
    put_char(s, '\n');
    for (size_t i = 0; i < p->nparams; i++) {
        const struct param *pa = &p->params[i];
        if (i > 0)
            put_char(s, '&');
        put_canon(s, pa->name, pa->name_len, true, false);
        put_char(s, '=');
        put_canon(s, pa->value, pa->value_len, true, false);
    }
    put_char(s, '\n');
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sigv4_header *h = &req->headers[p->order[i]];
        bool continues = i > 0 && name_compare(req->headers[p->order[i - 1]].name, h->name) == 0;
        if (continues) {
            put_char(s, ',');
        } else {
            if (i > 0)
                put_char(s, '\n');
            put_lower(s, h->name);
            put_char(s, ':');
        }
        put_header_value(s, h->value);
    }
    put_str(s, "\n\n");
    put_signed_headers(s, req, p);
    put_char(s, '\n');
    put_str(s, req->payload_hash);
    return 0;
}

/* SHA-256 of the canonical request, built in a buffer of its exact size. */
static int canonical_request_hash(const struct sigv4_request *req, const struct prepared *p,
                                  uint8_t hash[SHA256_LEN])
{
    struct sink measure = { NULL, 0, 0 };
    int rc = put_canonical_request(&measure, req, p);
    if (rc < 0)
        return rc;
    struct sink s = { malloc(measure.len + 1), measure.len + 1, 0 };
    if (!s.buf)
        return -ENOMEM;
    rc = put_canonical_request(&s, req, p);
    if (rc == 0 && sink_finish(&s) < 0)
        rc = -EOVERFLOW;
    if (rc == 0 && crypto_sha256(s.buf, s.len, hash) < 0)
        rc = -ELIBACC;
    explicit_bzero(s.buf, s.size);
    free(s.buf);
    return rc;
}

static void put_scope(struct sink *s, const struct sigv4_request *req, const struct prepared *p)
{
    put(s, p->amz_date, 8);
    put_char(s, '/');
    put_str(s, req->region);
    put_char(s, '/');
    put_str(s, req->service);
    put_str(s, "/" TERMINATOR);
}

static int put_string_to_sign(struct sink *s, const struct sigv4_request *req,
                              const struct prepared *p)
{
    uint8_t hash[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    int rc = canonical_request_hash(req, p, hash);
    if (rc < 0)
        return rc;
    crypto_hex(hash, sizeof hash, hex);
    put_str(s, ALGORITHM "\n");
    put_str(s, p->amz_date);
    put_char(s, '\n');
    put_scope(s, req, p);
    put_char(s, '\n');
    put_str(s, hex);
    return 0;
}

/* ---- the public functions ------------------------------------------------------------- */

int sigv4_amz_date(time_t time, char out[SIGV4_AMZ_DATE_SIZE])
{
    struct tm tm;
    if (!gmtime_r(&time, &tm) || tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
        return -EINVAL;
    strftime(out, SIGV4_AMZ_DATE_SIZE, "%Y%m%dT%H%M%SZ", &tm);
    return 0;
}

/* One stage of a checked request into the caller's buffer. */
static ssize_t write_stage(const struct sigv4_request *req, char *out, size_t size,
                           int (*put_stage)(struct sink *, const struct sigv4_request *,
                                            const struct prepared *))
{
    if (size)
        out[0] = '\0';
    struct prepared p;
    int rc = prepare(req, &p);
    if (rc < 0)
        return rc;
    struct sink s = { out, size, 0 };
    rc = put_stage(&s, req, &p);
    return rc < 0 ? rc : sink_finish(&s);
}

ssize_t sigv4_canonical_request(const struct sigv4_request *req, char *out, size_t size)
{
    return write_stage(req, out, size, put_canonical_request);
}

ssize_t sigv4_string_to_sign(const struct sigv4_request *req, char *out, size_t size)
{
    return write_stage(req, out, size, put_string_to_sign);
}

int sigv4_signing_key(const char *secret_key, const char *date, const char *region,
                      const char *service, uint8_t out[SHA256_LEN])
{
    if (!secret_key || !*secret_key || !date || strlen(date) != 8 ||
        strspn(date, "0123456789") != 8)
        return -EINVAL;
    size_t secret_len = strlen(secret_key);
    if (secret_len > SIGV4_MAX_SECRET)
        return -ENAMETOOLONG;
    int rc = scope_part_check(region);
    if (rc == 0)
        rc = scope_part_check(service);
    if (rc < 0)
        return rc;
    char k_secret[4 + SIGV4_MAX_SECRET];
    uint8_t k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret_key, secret_len);
    if (crypto_hmac_sha256(k_secret, 4 + secret_len, date, 8, k_date) < 0 ||
        crypto_hmac_sha256(k_date, SHA256_LEN, region, strlen(region), k_region) < 0 ||
        crypto_hmac_sha256(k_region, SHA256_LEN, service, strlen(service), k_service) < 0 ||
        crypto_hmac_sha256(k_service, SHA256_LEN, TERMINATOR, strlen(TERMINATOR), out) < 0)
        rc = -ELIBACC;
    explicit_bzero(k_secret, sizeof k_secret);
    explicit_bzero(k_date, sizeof k_date);
    explicit_bzero(k_region, sizeof k_region);
    explicit_bzero(k_service, sizeof k_service);
    if (rc < 0)
        explicit_bzero(out, SHA256_LEN);
    return rc;
}

static bool access_key_id_valid(const char *id)
{
    if (!id || !*id || strlen(id) > MAX_ACCESS_KEY_ID)
        return false;
    for (; *id; id++)
        if ((unsigned char)*id <= ' ' || (unsigned char)*id >= 0x7f || *id == '/' || *id == ',')
            return false;
    return true;
}

ssize_t sigv4_authorization_with_key(const struct sigv4_request *req, const char *access_key_id,
                                     const uint8_t signing_key[SHA256_LEN], char *out,
                                     size_t size)
{
    if (size)
        out[0] = '\0';
    if (!access_key_id_valid(access_key_id) || !signing_key)
        return -EINVAL;
    struct prepared p;
    int rc = prepare(req, &p);
    if (rc < 0)
        return rc;
    /* The string to sign is bounded: algorithm, date, scope (two parts of at most
     * SIGV4_MAX_SCOPE_PART) and a hex hash. */
    char sts_buf[256];
    struct sink sts = { sts_buf, sizeof sts_buf, 0 };
    rc = put_string_to_sign(&sts, req, &p);
    if (rc < 0)
        return rc;
    if (sink_finish(&sts) < 0)
        return -EOVERFLOW;
    uint8_t sig[SHA256_LEN];
    char sig_hex[SHA256_HEX_LEN + 1];
    if (crypto_hmac_sha256(signing_key, SHA256_LEN, sts.buf, sts.len, sig) < 0)
        return -ELIBACC;
    crypto_hex(sig, sizeof sig, sig_hex);

    struct sink s = { out, size, 0 };
    put_str(&s, ALGORITHM " Credential=");
    put_str(&s, access_key_id);
    put_char(&s, '/');
    put_scope(&s, req, &p);
    put_str(&s, ", SignedHeaders=");
    put_signed_headers(&s, req, &p);
    put_str(&s, ", Signature=");
    put_str(&s, sig_hex);
    return sink_finish(&s);
}

ssize_t sigv4_authorization(const struct sigv4_request *req,
                            const struct sigv4_credentials *cred, char *out, size_t size)
{
    if (size)
        out[0] = '\0';
    char date[SIGV4_AMZ_DATE_SIZE];
    if (!req || !cred || sigv4_amz_date(req->time, date) < 0)
        return -EINVAL;
    date[8] = '\0';
    uint8_t key[SHA256_LEN];
    ssize_t rc = sigv4_signing_key(cred->secret_key, date, req->region, req->service, key);
    if (rc == 0)
        rc = sigv4_authorization_with_key(req, cred->access_key_id, key, out, size);
    explicit_bzero(key, sizeof key);
    return rc;
}
