/* aws_creds_json.c: see aws_creds_json.h.  A strict recursive-descent reader of one
 * JSON object whose string members are copied out only when they are wanted. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aws_creds_json.h"

#define DEPTH_MAX 16

struct reader {
    const char *p, *end, *start;
    char *why;
    size_t whylen;
};

static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int bad(struct reader *r, const char *what)
{
    if (!r->why[0])
        snprintf(r->why, r->whylen, "%s at byte %zu", what, (size_t)(r->p - r->start));
    return -1;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15)
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* A string at r->p (its opening quote), decoded into out (cap bytes; NULL: skipped).
 * *len is its decoded length; -1 when malformed, -2 when it does not fit. */
static int read_string(struct reader *r, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    bool too_long = false;
    r->p++;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        char buf[4];
        size_t k = 1;
        buf[0] = (char)c;
        if (c < 0x20)
            return bad(r, "a control character in a string");
        if (c == '\\') {
            if (r->p >= r->end)
                return bad(r, "an unterminated string");
            char e = *r->p++;
            switch (e) {
            case '"': case '\\': case '/': buf[0] = e; break;
            case 'b': buf[0] = '\b'; break;
            case 'f': buf[0] = '\f'; break;
            case 'n': buf[0] = '\n'; break;
            case 'r': buf[0] = '\r'; break;
            case 't': buf[0] = '\t'; break;
            case 'u': {
                unsigned u;
                if (r->end - r->p < 4 || hex4(r->p, &u) < 0)
                    return bad(r, "a bad \\u escape");
                r->p += 4;
                if (u >= 0xD800 && u < 0xDC00) { /* a surrogate pair */
                    unsigned lo;
                    if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
                        hex4(r->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                        return bad(r, "a lone surrogate");
                    r->p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                } else if (u >= 0xDC00 && u < 0xE000) {
                    return bad(r, "a lone surrogate");
                }
                if (u == 0)
                    return bad(r, "a NUL character in a string");
                if (u < 0x80) {
                    buf[0] = (char)u;
                } else if (u < 0x800) {
                    buf[0] = (char)(0xC0 | u >> 6);
                    buf[1] = (char)(0x80 | (u & 0x3F));
                    k = 2;
                } else if (u < 0x10000) {
                    buf[0] = (char)(0xE0 | u >> 12);
                    buf[1] = (char)(0x80 | (u >> 6 & 0x3F));
                    buf[2] = (char)(0x80 | (u & 0x3F));
                    k = 3;
                } else {
                    buf[0] = (char)(0xF0 | u >> 18);
                    buf[1] = (char)(0x80 | (u >> 12 & 0x3F));
                    buf[2] = (char)(0x80 | (u >> 6 & 0x3F));
                    buf[3] = (char)(0x80 | (u & 0x3F));
                    k = 4;
                }
                break;
            }
            default:
                return bad(r, "a bad escape");
            }
        }
        if (out && n + k < cap)
            memcpy(out + n, buf, k);
        else if (out)
            too_long = true;
        n += k;
    }
    if (r->p >= r->end)
        return bad(r, "an unterminated string");
    r->p++;
    if (out && !too_long)
        out[n] = '\0';
    *len = n;
    return too_long ? -2 : 0;
}

static int skip_value(struct reader *r, int depth);

static int skip_container(struct reader *r, int depth, char close)
{
    if (depth >= DEPTH_MAX)
        return bad(r, "nested too deeply");
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        skip_ws(r);
        if (close == '}') {
            size_t n;
            if (r->p >= r->end || *r->p != '"' || read_string(r, NULL, 0, &n) < 0)
                return bad(r, "a member without a name");
            skip_ws(r);
            if (r->p >= r->end || *r->p++ != ':')
                return bad(r, "no ':' after a member's name");
        }
        if (skip_value(r, depth + 1) < 0)
            return -1;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        return bad(r, "no ',' or end after a value");
    }
}

/* A number at r->p, per JSON's grammar; its value in *v. */
static int read_number(struct reader *r, double *v)
{
    const char *b = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return bad(r, "a bad number");
    if (*r->p == '0')
        r->p++;
    else
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return bad(r, "a bad number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return bad(r, "a bad number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    char buf[64];
    size_t n = (size_t)(r->p - b);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, b, n);
    buf[n] = '\0';
    double d = 0;
    if (sscanf(buf, "%lf", &d) != 1)
        return bad(r, "a bad number");
    *v = d;
    return 0;
}

static int skip_word(struct reader *r, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
        return bad(r, "not JSON");
    r->p += n;
    return 0;
}

static int skip_value(struct reader *r, int depth)
{
    skip_ws(r);
    if (r->p >= r->end)
        return bad(r, "a value missing");
    size_t n;
    double d;
    switch (*r->p) {
    case '{': return skip_container(r, depth, '}');
    case '[': return skip_container(r, depth, ']');
    case '"': return read_string(r, NULL, 0, &n) < 0 ? -1 : 0;
    case 't': return skip_word(r, "true");
    case 'f': return skip_word(r, "false");
    case 'n': return skip_word(r, "null");
    default: return read_number(r, &d);
    }
}

/* The members the sources answer with. */
enum member { M_VERSION, M_ID, M_SECRET, M_TOKEN, M_EXPIRATION, M_CODE, M_COUNT };

static int parse_credentials(const char *text, size_t len, enum aws_json_kind kind,
                             struct aws_credentials *out, char *why, size_t whylen)
{
    struct reader r = { text, text + len, text, why, whylen };
    why[0] = '\0';
    const char *names[M_COUNT] = { "Version", "AccessKeyId", "SecretAccessKey",
                                   kind == AWS_JSON_PROCESS ? "SessionToken" : "Token",
                                   "Expiration", "Code" };
    bool have[M_COUNT] = { false };
    bool is_null[M_COUNT] = { false };
    double version = 0;
    char expiration[64] = "", code[32] = "";
    out->access_key_id[0] = out->secret_access_key[0] = out->session_token[0] = '\0';
    out->expires_ms = 0;

    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return bad(&r, "not a JSON object");
    r.p++;
    skip_ws(&r);
    bool empty = r.p < r.end && *r.p == '}';
    if (empty)
        r.p++;
    while (!empty) {
        skip_ws(&r);
        char name[32];
        size_t n;
        if (r.p >= r.end || *r.p != '"')
            return bad(&r, "a member without a name");
        int rc = read_string(&r, name, sizeof name, &n);
        if (rc == -1)
            return -1;
        int m = -1;
        for (int i = 0; rc == 0 && i < M_COUNT; i++)
            if (strcmp(name, names[i]) == 0 && n == strlen(names[i]))
                m = i;
        skip_ws(&r);
        if (r.p >= r.end || *r.p++ != ':')
            return bad(&r, "no ':' after a member's name");
        skip_ws(&r);
        if (m < 0 || (m == M_VERSION && (r.p >= r.end || *r.p == '"' || *r.p == '{' || *r.p == '['))) {
            if (m == M_VERSION)
                have[m] = true, version = -1; /* a string or more: not the number 1 */
            if (skip_value(&r, 1) < 0)
                return -1;
        } else if (m == M_VERSION) {
            if (r.p < r.end && (*r.p == 't' || *r.p == 'f' || *r.p == 'n')) {
                if (skip_value(&r, 1) < 0)
                    return -1;
                version = -1;
            } else if (read_number(&r, &version) < 0) {
                return -1;
            }
            have[m] = true;
        } else if (r.p < r.end && *r.p == 'n') {
            if (skip_word(&r, "null") < 0)
                return -1;
            have[m] = is_null[m] = true;
        } else if (r.p < r.end && *r.p == '"') {
            char *dst;
            size_t cap;
            switch (m) {
            case M_ID: dst = out->access_key_id; cap = sizeof out->access_key_id; break;
            case M_SECRET: dst = out->secret_access_key; cap = sizeof out->secret_access_key; break;
            case M_TOKEN: dst = out->session_token; cap = sizeof out->session_token; break;
            case M_EXPIRATION: dst = expiration; cap = sizeof expiration; break;
            default: dst = code; cap = sizeof code; break;
            }
            rc = read_string(&r, dst, cap, &n);
            if (rc == -1)
                return -1;
            if (rc == -2) {
                snprintf(why, whylen, "%s is too long (%zu bytes, at most %zu)", names[m], n, cap - 1);
                return -1;
            }
            if (strlen(dst) != n) {
                snprintf(why, whylen, "%s holds a NUL character", names[m]);
                return -1;
            }
            have[m] = true;
            is_null[m] = false;
        } else {
            snprintf(why, whylen, "%s is not a string", names[m]);
            return -1;
        }
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            continue;
        }
        if (r.p < r.end && *r.p == '}') {
            r.p++;
            break;
        }
        return bad(&r, "no ',' or '}' after a member");
    }
    skip_ws(&r);
    if (r.p != r.end)
        return bad(&r, "more after the object");

    if (kind == AWS_JSON_PROCESS && (!have[M_VERSION] || version != 1)) {
        snprintf(why, whylen, have[M_VERSION] ? "Version is not 1 (the only version known)" : "no Version");
        return -1;
    }
    if (kind == AWS_JSON_ENDPOINT && have[M_CODE] && strcmp(code, "Success") != 0) {
        snprintf(why, whylen, "Code is not Success");
        return -1;
    }
    const enum member required[] = { M_ID, M_SECRET, M_TOKEN, M_EXPIRATION };
    size_t nrequired = kind == AWS_JSON_PROCESS ? 2 : 4;
    for (size_t i = 0; i < nrequired; i++) {
        enum member m = required[i];
        if (!have[m] || is_null[m] || (m != M_TOKEN && m != M_EXPIRATION && !*(m == M_ID ? out->access_key_id : out->secret_access_key))) {
            snprintf(why, whylen, "no %s", names[m]);
            return -1;
        }
    }
    if (have[M_EXPIRATION] && !is_null[M_EXPIRATION] &&
        aws_iso8601_ms(expiration, strlen(expiration), &out->expires_ms) < 0) {
        snprintf(why, whylen, "Expiration is not an ISO-8601 time");
        return -1;
    }
    explicit_bzero(expiration, sizeof expiration);
    return 0;
}

int aws_json_credentials(const char *text, size_t len, enum aws_json_kind kind,
                         struct aws_credentials *out, char *why, size_t whylen)
{
    int rc = parse_credentials(text, len, kind, out, why, whylen);
    if (rc < 0) { /* nothing half-read stays behind */
        explicit_bzero(out->access_key_id, sizeof out->access_key_id);
        explicit_bzero(out->secret_access_key, sizeof out->secret_access_key);
        explicit_bzero(out->session_token, sizeof out->session_token);
        out->expires_ms = 0;
    }
    return rc;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, const char *end, int n, int *v)
{
    if (end - s < n)
        return false;
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

int aws_iso8601_ms(const char *s, size_t len, uint64_t *ms)
{
    const char *p = s, *end = s + len;
    int y, mo, d, h, mi, sec;
    if (!digits(p, end, 4, &y) || end - p < 5 || p[4] != '-' || !digits(p + 5, end, 2, &mo) ||
        end - p < 8 || p[7] != '-' || !digits(p + 8, end, 2, &d))
        return -1;
    p += 10;
    if (p >= end || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (!digits(p, end, 2, &h) || end - p < 3 || p[2] != ':' || !digits(p + 3, end, 2, &mi) ||
        end - p < 6 || p[5] != ':' || !digits(p + 6, end, 2, &sec))
        return -1;
    p += 8;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t frac_ms = 0;
    if (p < end && (*p == '.' || *p == ',')) {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return -1;
        int scale = 100;
        for (; p < end && *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac_ms += (*p - '0') * scale;
    }
    int64_t offset_s = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (!digits(p, end, 2, &oh))
            return -1;
        p += 2;
        if (p < end && *p == ':') {
            if (!digits(p + 1, end, 2, &om))
                return -1;
            p += 3;
        } else if (p < end && digits(p, end, 2, &om)) {
            p += 2;
        }
        if (oh > 23 || om > 59)
            return -1;
        offset_s = sign * (oh * 3600 + om * 60);
    }
    if (p != end)
        return -1;
    int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (t < 0)
        return -1;
    *ms = (uint64_t)t * 1000 + (uint64_t)frac_ms;
    return 0;
}
