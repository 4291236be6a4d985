/* url.c: see url.h. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "url.h"

/* An output buffer that truncates and always stays NUL-terminated. */
struct out {
    char *p;
    size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->cap == 0)
        return;
    size_t room = o->cap - 1 - o->len;
    if (n > room)
        n = room;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* host[:port], or [v6][:port]: the port, when present, is all digits. */
static bool authority_parses(const char *host, size_t len)
{
    const char *end = host + len, *colon;
    if (len > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', len);
        if (!close)
            return false;
        if (close + 1 == end)
            return true;
        if (close[1] != ':')
            return false;
        colon = close + 1;
    } else {
        colon = NULL;
        for (const char *p = host; p < end; p++)
            if (*p == ':')
                colon = p;
        if (!colon)
            return true;
    }
    for (const char *p = colon + 1; p < end; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/* The display form of the len bytes at url. */
static void display(struct out *o, const char *url, size_t len)
{
    const char *end = url + len;
    const char *cut = url; /* the query or fragment starts here: nothing from it is shown */
    while (cut < end && *cut != '?' && *cut != '#')
        cut++;
    const char *sep = NULL;
    for (const char *p = url; p + 3 <= cut; p++)
        if (memcmp(p, "://", 3) == 0) {
            sep = p;
            break;
        }
    const char *auth = sep ? sep + 3 : url;
    put(o, url, (size_t)(auth - url));
    const char *path = auth;
    while (path < cut && *path != '/')
        path++;
    const char *host = auth;
    for (const char *p = auth; p < path; p++)
        if (*p == '@')
            host = p + 1; /* the last '@': userinfo may not hold one, but be safe */
    if (!authority_parses(host, (size_t)(path - host))) {
        put(o, "(malformed host)", 16);
        return;
    }
    put(o, host, (size_t)(path - host));
    /* An '@' in the path may end a credential that holds a raw '/': the path is not
     * shown (always, so that a display form is its own display form). */
    if (memchr(path, '@', (size_t)(cut - path))) {
        put(o, "/...", 4);
        return;
    }
    put(o, path, (size_t)(cut - path));
}

void url_display(const char *url, char *out, size_t outlen)
{
    struct out o = { out, 0, outlen };
    if (outlen)
        out[0] = '\0';
    display(&o, url, strlen(url));
}

bool url_authority_parses(const char *url)
{
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : url;
    size_t len = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < auth + len; p++)
        if (*p == '@')
            host = p + 1;
    return authority_parses(host, (size_t)(auth + len - host));
}

bool url_is_display(const char *url)
{
    char shown[4096];
    size_t len = strlen(url);
    if (len >= sizeof shown)
        return false;
    url_display(url, shown, sizeof shown);
    return strcmp(shown, url) == 0;
}

static bool is_scheme_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* One blank-free word of a text. */
static void display_word(struct out *o, const char *w, size_t len, bool strict)
{
    const char *end = w + len, *sep = NULL;
    for (const char *p = w; p + 3 <= end; p++)
        if (memcmp(p, "://", 3) == 0) {
            sep = p;
            break;
        }
    if (sep) {
        const char *scheme = sep;
        while (scheme > w && is_scheme_char(scheme[-1]))
            scheme--;
        /* What precedes the URL (a virtual path and '=') is no URL itself. */
        if (scheme > w)
            display_word(o, w, (size_t)(scheme - w), strict);
        display(o, scheme, (size_t)(end - scheme));
        return;
    }
    if (!strict) {
        put(o, w, len);
        return;
    }
    const char *cut = w;
    while (cut < end && *cut != '?' && *cut != '#')
        cut++;
    const char *at = NULL;
    for (const char *p = w; p < cut; p++)
        if (*p == '@')
            at = p;
    if (at) {
        put(o, "...", 3);
        w = at;
    }
    put(o, w, (size_t)(cut - w));
}

void url_display_text(const char *text, bool strict, char *out, size_t outlen)
{
    struct out o = { out, 0, outlen };
    if (outlen)
        out[0] = '\0';
    for (const char *p = text; *p;) {
        size_t blanks = strspn(p, " \t\r\n\f\v");
        put(&o, p, blanks);
        p += blanks;
        size_t word = strcspn(p, " \t\r\n\f\v");
        display_word(&o, p, word, strict);
        p += word;
    }
}

bool url_is_s3(const char *url)
{
    return url && strncasecmp(url, "s3://", 5) == 0;
}

const char *url_s3_problem(const char *url)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
    const char *b = url + 5;
    size_t n = strcspn(b, "/");
    if (n == 0)
        return "s3:// URL has no bucket";
    if (n > 63 || strspn(b, chars) < n)
        return "s3:// URL's bucket name is malformed";
    if (strpbrk(b, "?#"))
        return "an s3:// URL cannot carry a query or a fragment";
    return NULL;
}
