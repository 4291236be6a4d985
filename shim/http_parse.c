/* http_parse.c: see http_parse.h. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

/* Parses digits at s[*i..len) into *out; at least one digit, no overflow. */
static int parse_digits(const char *s, size_t len, size_t *i, int64_t *out)
{
    int64_t v = 0;
    size_t start = *i;
    while (*i < len && isdigit((unsigned char)s[*i])) {
        int d = s[*i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        (*i)++;
    }
    if (*i == start)
        return -1;
    *out = v;
    return 0;
}

static void skip_spaces(const char *s, size_t len, size_t *i)
{
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
        (*i)++;
}

int http_parse_content_range(const char *s, size_t len, int64_t *first, int64_t *last,
                             int64_t *total)
{
    size_t i = 0;
    int64_t f = -1, l = -1, t = -1;
    skip_spaces(s, len, &i);
    if (len - i < 6 || strncasecmp(s + i, "bytes", 5) != 0 || (s[i + 5] != ' ' && s[i + 5] != '\t'))
        return -1;
    i += 6;
    skip_spaces(s, len, &i);
    if (i < len && s[i] == '*') {
        i++;
    } else {
        if (parse_digits(s, len, &i, &f) < 0 || i >= len || s[i] != '-')
            return -1;
        i++;
        if (parse_digits(s, len, &i, &l) < 0 || l < f)
            return -1;
    }
    if (i >= len || s[i] != '/')
        return -1;
    i++;
    if (i < len && s[i] == '*') {
        i++;
        if (f < 0)
            return -1; /* an unknown range of an unknown total says nothing */
    } else if (parse_digits(s, len, &i, &t) < 0) {
        return -1;
    }
    skip_spaces(s, len, &i);
    if (i != len)
        return -1;
    if (t >= 0 && l >= t)
        return -1;
    *first = f;
    *last = l;
    *total = t;
    return 0;
}

bool http_header_is(const char *line, size_t len, const char *name, const char **value,
                    size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    size_t i = n + 1, end = len;
    while (i < end && (line[i] == ' ' || line[i] == '\t'))
        i++;
    while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ' ||
                       line[end - 1] == '\t'))
        end--;
    *value = line + i;
    *vlen = end - i;
    return true;
}

int http_parse_length(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int64_t v;
    if (parse_digits(s, len, &i, &v) < 0 || i != len)
        return -1;
    *out = v;
    return 0;
}

int http_parse_retry_after(const char *s, size_t len, time_t now, uint64_t cap_ms,
                           uint64_t *wait_ms)
{
    int64_t secs;
    if (http_parse_length(s, len, &secs) == 0) {
        *wait_ms = (uint64_t)secs > cap_ms / 1000 ? cap_ms : (uint64_t)secs * 1000;
        return 0;
    }
    /* An HTTP date: IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"). */
    char buf[64];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0')
        return -1;
    time_t when = timegm(&tm);
    if (when == (time_t)-1)
        return -1;
    uint64_t ms = when > now ? (uint64_t)(when - now) * 1000 : 0;
    *wait_ms = ms > cap_ms ? cap_ms : ms;
    return 0;
}
