/* s3_list_xml.c: see s3_list_xml.h.  A small strict scanner, not a general XML parser:
 * a cursor over the bytes, a stack of the open elements' names, and the text of the
 * innermost one; every length is checked against the buffers it goes into. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3_list_xml.h"

#define DEPTH_MAX 8
#define NAME_MAX_LEN 64

struct scan {
    const char *p, *end;
    char stack[DEPTH_MAX][NAME_MAX_LEN + 1];
    int depth;                         /* open elements, the root included */
    char text[S3_LIST_TEXT_MAX + 1];   /* of the innermost element */
    size_t text_len;
    bool text_long;
    /* the entry being read */
    char key[S3_LIST_TEXT_MAX + 1];
    bool have_key, have_size;
    int64_t size;
    time_t mtime;
    bool have_truncated;
    const char *prefix;
    size_t prefix_len;
    struct s3_list_page *page;
    int (*each)(void *arg, const struct s3_list_item *item);
    void *arg;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == ':' || c == '.' || c == '-';
}

static void skip_space(struct scan *s)
{
    while (s->p < s->end && is_space(*s->p))
        s->p++;
}

static bool starts(const struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(s->end - s->p) >= n && memcmp(s->p, lit, n) == 0;
}

/* Past the next occurrence of lit; false when there is none. */
static bool skip_past(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    const char *q = memmem(s->p, (size_t)(s->end - s->p), lit, n);
    if (!q)
        return false;
    s->p = q + n;
    return true;
}

/* A name into out (NAME_MAX_LEN + 1). */
static int read_name(struct scan *s, char *out)
{
    size_t n = 0;
    while (s->p < s->end && is_name_char(*s->p)) {
        if (n >= NAME_MAX_LEN)
            return -EBADMSG;
        out[n++] = *s->p++;
    }
    out[n] = '\0';
    return n ? 0 : -EBADMSG;
}

/* Appends the code point cp as UTF-8 to the text. */
static int put_code_point(struct scan *s, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -EBADMSG;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (s->text_len + n > S3_LIST_TEXT_MAX) {
        s->text_long = true;
        return 0;
    }
    memcpy(s->text + s->text_len, u, n);
    s->text_len += n;
    return 0;
}

/* An entity after '&', up to its ';'. */
static int read_entity(struct scan *s)
{
    static const struct { const char *name; char c; } named[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (starts(s, named[i].name)) {
            s->p += strlen(named[i].name);
            return put_code_point(s, (unsigned char)named[i].c);
        }
    if (s->p >= s->end || *s->p != '#')
        return -EBADMSG;
    s->p++;
    bool hex = s->p < s->end && *s->p == 'x';
    if (hex)
        s->p++;
    unsigned long cp = 0;
    int digits = 0;
    for (; s->p < s->end && *s->p != ';'; s->p++, digits++) {
        char c = *s->p;
        int d = c >= '0' && c <= '9'                 ? c - '0'
                : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                      : -1;
        if (d < 0 || digits >= 8)
            return -EBADMSG;
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
    }
    if (s->p >= s->end || digits == 0)
        return -EBADMSG;
    s->p++; /* ';' */
    return put_code_point(s, cp);
}

/* Character data up to the next '<' (or the end), decoded into the text. */
static int read_text(struct scan *s)
{
    while (s->p < s->end && *s->p != '<') {
        char c = *s->p++;
        if (c == '\0')
            return -EBADMSG;
        if (c == '&') {
            int rc = read_entity(s);
            if (rc < 0)
                return rc;
        } else if (s->text_len < S3_LIST_TEXT_MAX) {
            s->text[s->text_len++] = c;
        } else {
            s->text_long = true;
        }
    }
    return 0;
}

/* Attributes up to '>' or "/>"; *empty for the latter. */
static int skip_attributes(struct scan *s, bool *empty)
{
    for (;;) {
        skip_space(s);
        if (s->p >= s->end)
            return -EBADMSG;
        if (*s->p == '>') {
            s->p++;
            *empty = false;
            return 0;
        }
        if (starts(s, "/>")) {
            s->p += 2;
            *empty = true;
            return 0;
        }
        char name[NAME_MAX_LEN + 1];
        if (read_name(s, name) < 0)
            return -EBADMSG;
        skip_space(s);
        if (s->p >= s->end || *s->p++ != '=')
            return -EBADMSG;
        skip_space(s);
        if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
            return -EBADMSG;
        char q = *s->p++;
        while (s->p < s->end && *s->p != q) {
            if (*s->p == '<' || *s->p == '\0')
                return -EBADMSG;
            s->p++;
        }
        if (s->p >= s->end)
            return -EBADMSG;
        s->p++;
    }
}

static bool name_usable(const char *n, size_t len)
{
    return len > 0 && !(len == 1 && n[0] == '.') && !(len == 2 && n[0] == '.' && n[1] == '.') &&
           !memchr(n, '/', len) && !memchr(n, '\0', len);
}

static int emit(struct scan *s, const char *full, size_t full_len, bool dir, int64_t size,
                time_t mtime)
{
    if (full_len < s->prefix_len || memcmp(full, s->prefix, s->prefix_len) != 0)
        return -EBADMSG; /* not under what was asked for */
    const char *name = full + s->prefix_len;
    size_t len = full_len - s->prefix_len;
    if (dir) {
        if (len == 0 || name[len - 1] != '/')
            return -EBADMSG;
        len--;
    }
    if (!name_usable(name, len)) {
        s->page->skipped++;
        return 0;
    }
    char buf[S3_LIST_TEXT_MAX + 1];
    memcpy(buf, name, len);
    buf[len] = '\0';
    struct s3_list_item it = { .name = buf, .name_len = len, .dir = dir, .size = size,
                               .mtime = mtime };
    if (dir)
        s->page->dirs++;
    else
        s->page->files++;
    return s->each(s->arg, &it);
}

static bool parse_size(const char *t, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* The element on top of the stack ends, its text complete. */
static int element_end(struct scan *s)
{
    const char *me = s->stack[s->depth - 1];
    const char *parent = s->depth >= 2 ? s->stack[s->depth - 2] : "";
    bool leaf = (s->depth == 2 && (is(me, "IsTruncated") || is(me, "NextContinuationToken") ||
                                   is(me, "Prefix"))) ||
                (s->depth == 3 && is(parent, "Contents") &&
                 (is(me, "Key") || is(me, "Size") || is(me, "LastModified"))) ||
                (s->depth == 3 && is(parent, "CommonPrefixes") && is(me, "Prefix"));
    if (leaf && s->text_long)
        return -ENAMETOOLONG;
    int rc = 0;
    s->text[s->text_len] = '\0';
    if (s->depth == 2 && is(me, "IsTruncated")) {
        if (is(s->text, "true"))
            s->page->truncated = true;
        else if (!is(s->text, "false"))
            return -EBADMSG;
        s->have_truncated = true;
    } else if (s->depth == 2 && is(me, "NextContinuationToken")) {
        memcpy(s->page->next_token, s->text, s->text_len + 1);
    } else if (s->depth == 2 && is(me, "Prefix")) {
        if (!is(s->text, s->prefix))
            return -EBADMSG;
    } else if (s->depth == 3 && is(parent, "Contents") && is(me, "Key")) {
        memcpy(s->key, s->text, s->text_len + 1);
        s->have_key = true;
    } else if (s->depth == 3 && is(parent, "Contents") && is(me, "Size")) {
        if (!parse_size(s->text, s->text_len, &s->size))
            return -EBADMSG;
        s->have_size = true;
    } else if (s->depth == 3 && is(parent, "Contents") && is(me, "LastModified")) {
        s->mtime = s3_list_parse_time(s->text);
    } else if (s->depth == 3 && is(parent, "CommonPrefixes") && is(me, "Prefix")) {
        memcpy(s->key, s->text, s->text_len + 1);
        s->have_key = true;
    } else if (s->depth == 2 && is(me, "Contents")) {
        if (!s->have_key || !s->have_size)
            return -EBADMSG;
        rc = emit(s, s->key, strlen(s->key), false, s->size, s->mtime);
    } else if (s->depth == 2 && is(me, "CommonPrefixes")) {
        if (!s->have_key)
            return -EBADMSG;
        rc = emit(s, s->key, strlen(s->key), true, 0, 0);
    }
    return rc;
}

static int element_start(struct scan *s, const char *name)
{
    if (s->depth >= DEPTH_MAX)
        return -EBADMSG;
    if (s->depth == 1 && (is(name, "Contents") || is(name, "CommonPrefixes"))) {
        s->have_key = s->have_size = false;
        s->size = 0;
        s->mtime = 0;
    }
    memcpy(s->stack[s->depth++], name, strlen(name) + 1);
    s->text_len = 0;
    s->text_long = false;
    return 0;
}

/* Comments and white space (and, before the root only, <?...?>) until a tag. */
static int skip_misc(struct scan *s, bool prolog)
{
    for (;;) {
        skip_space(s);
        if (starts(s, "<!--")) {
            if (!skip_past(s, "-->"))
                return -EBADMSG;
        } else if (prolog && starts(s, "<?")) {
            if (!skip_past(s, "?>"))
                return -EBADMSG;
        } else {
            return 0;
        }
    }
}

int s3_list_parse(const char *xml, size_t len, const char *prefix,
                  int (*each)(void *arg, const struct s3_list_item *item), void *arg,
                  struct s3_list_page *page)
{
    memset(page, 0, sizeof *page);
    struct scan *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->p = xml;
    s->end = xml + len;
    s->prefix = prefix;
    s->prefix_len = strlen(prefix);
    s->page = page;
    s->each = each;
    s->arg = arg;
    int rc = 0;
    if (starts(s, "\xEF\xBB\xBF"))
        s->p += 3;
    if ((rc = skip_misc(s, true)) < 0)
        goto out;
    char name[NAME_MAX_LEN + 1];
    bool empty;
    if (!starts(s, "<ListBucketResult")) {
        rc = -EBADMSG;
        goto out;
    }
    s->p++;
    if ((rc = read_name(s, name)) < 0 || !is(name, "ListBucketResult") ||
        (rc = skip_attributes(s, &empty)) < 0 || empty) {
        rc = -EBADMSG;
        goto out;
    }
    element_start(s, name);
    while (s->depth > 0) {
        if ((rc = read_text(s)) < 0)
            goto out;
        if (s->p >= s->end) {
            rc = -EBADMSG; /* cut short */
            goto out;
        }
        s->p++; /* '<' */
        if (s->p < s->end && *s->p == '/') {
            s->p++;
            if ((rc = read_name(s, name)) < 0)
                goto out;
            skip_space(s);
            if (s->p >= s->end || *s->p++ != '>' || !is(name, s->stack[s->depth - 1])) {
                rc = -EBADMSG;
                goto out;
            }
            if ((rc = element_end(s)) < 0)
                goto out;
            s->depth--;
            s->text_len = 0;
            s->text_long = false;
        } else if (s->p < s->end && *s->p == '!') {
            s->p--;
            if (!starts(s, "<!--") || !skip_past(s, "-->")) {
                rc = -EBADMSG; /* CDATA, DOCTYPE: not in a listing */
                goto out;
            }
        } else {
            if ((rc = read_name(s, name)) < 0 || (rc = skip_attributes(s, &empty)) < 0 ||
                (rc = element_start(s, name)) < 0)
                goto out;
            if (empty) {
                if ((rc = element_end(s)) < 0)
                    goto out;
                s->depth--;
                s->text_len = 0;
            }
        }
    }
    if ((rc = skip_misc(s, false)) < 0)
        goto out;
    if (s->p != s->end || !s->have_truncated || (page->truncated && !page->next_token[0]))
        rc = -EBADMSG;
out:
    free(s);
    return rc;
}

time_t s3_list_parse_time(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS, then an optional fraction, then Z */
    int v[6];
    static const int width[6] = { 4, 2, 2, 2, 2, 2 };
    static const char sep[6] = { '-', '-', 'T', ':', ':', '\0' };
    const char *p = s;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < width[i]; k++, p++) {
            if (*p < '0' || *p > '9')
                return 0;
            v[i] = v[i] * 10 + (*p - '0');
        }
        if (sep[i] && *p++ != sep[i])
            return 0;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") != 0 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
        v[4] > 59 || v[5] > 60 || v[0] < 1970)
        return 0;
    struct tm tm = { .tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2],
                     .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5] };
    time_t t = timegm(&tm);
    return t > 0 ? t : 0;
}
