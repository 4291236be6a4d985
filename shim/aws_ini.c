/* aws_ini.c: see aws_ini.h.  One pass over the text, line by line; only the wanted
 * profile's sections are looked into beyond the line's shape. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aws_ini.h"

/* The keys the chain reads, and where each goes. */
enum key { K_ID, K_SECRET, K_SESSION, K_SECURITY, K_REGION, K_PROCESS, K_COUNT };
static const char *const key_names[K_COUNT] = {
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "aws_security_token", "region", "credential_process",
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* [*b, *e) without blanks at either end. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
}

static bool span_is(const char *b, const char *e, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(e - b) == n && memcmp(b, s, n) == 0;
}

/* Does the section header [b, e) (trimmed) name profile in a file of this kind? */
static bool header_names(const char *b, const char *e, enum aws_ini_file kind, const char *profile)
{
    if (kind == AWS_INI_CREDENTIALS)
        return span_is(b, e, profile);
    if (span_is(b, e, "default"))
        return strcmp(profile, "default") == 0;
    if (e - b < 8 || memcmp(b, "profile", 7) != 0 || !is_blank(b[7]))
        return false;
    b += 7;
    trim(&b, &e);
    if (e - b >= 2 && ((*b == '"' && e[-1] == '"') || (*b == '\'' && e[-1] == '\''))) {
        b++;
        e--;
    }
    return span_is(b, e, profile);
}

static int lookup_key(const char *b, const char *e)
{
    for (int k = 0; k < K_COUNT; k++)
        if ((size_t)(e - b) == strlen(key_names[k]) && strncasecmp(b, key_names[k], (size_t)(e - b)) == 0)
            return k;
    return -1;
}

/* Where key k's value goes. */
static char *slot(struct aws_profile_settings *s, int k, size_t *cap, bool **has)
{
    switch (k) {
    case K_ID: *cap = sizeof s->access_key_id; *has = &s->has_access_key_id; return s->access_key_id;
    case K_SECRET: *cap = sizeof s->secret_access_key; *has = &s->has_secret_access_key; return s->secret_access_key;
    case K_SESSION:
    case K_SECURITY: *cap = sizeof s->session_token; *has = &s->has_session_token; return s->session_token;
    case K_REGION: *cap = sizeof s->region; *has = &s->has_region; return s->region;
    default: *cap = sizeof s->credential_process; *has = &s->has_credential_process; return s->credential_process;
    }
}

#define REFUSE(...)                                                                    \
    do {                                                                               \
        snprintf(why, whylen, __VA_ARGS__);                                            \
        return -1;                                                                     \
    } while (0)

int aws_ini_profile(const char *text, size_t len, enum aws_ini_file kind, const char *profile,
                    struct aws_profile_settings *out, char *why, size_t whylen)
{
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    bool in_section = false, in_wanted = false, found = false;
    bool have_key = false;     /* a key line in this section: indented lines continue it */
    size_t key_indent = 0;     /* its indentation */
    int cur_key = -1;          /* that key, when it is one of ours in the wanted section */
    unsigned seen = 0;         /* our keys met in this section (bit per key) */
    bool session_from_session_key = false; /* aws_session_token wins over aws_security_token */
    const char *headers[4];    /* the wanted sections' headers met so far */
    size_t header_len[4], nheaders = 0;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *b = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        if (e > b && e[-1] == '\r')
            e--;
        const char *start = b;
        trim(&b, &e);
        size_t indent = (size_t)(b - start);
        if (b == e || *b == '#' || *b == ';')
            continue;
        if (have_key && indent > key_indent) { /* continues the key before */
            if (cur_key >= 0)
                REFUSE("line %u: the value of %s goes on over an indented line", line,
                       key_names[cur_key]);
            continue;
        }
        if (*b == '[') {
            const char *rb = e;
            while (rb > b && rb[-1] != ']')
                rb--;
            if (rb == b)
                REFUSE("line %u: a section header without its ']'", line);
            const char *hb = b + 1, *he = rb - 1;
            trim(&hb, &he);
            in_section = true;
            have_key = false;
            cur_key = -1;
            seen = 0;
            in_wanted = header_names(hb, he, kind, profile);
            if (in_wanted) {
                for (size_t i = 0; i < nheaders; i++)
                    if (header_len[i] == (size_t)(he - hb) && memcmp(headers[i], hb, header_len[i]) == 0)
                        REFUSE("line %u: section [%.*s] a second time", line, (int)(he - hb), hb);
                if (nheaders < 4) {
                    headers[nheaders] = hb;
                    header_len[nheaders++] = (size_t)(he - hb);
                }
                found = true;
            }
            continue;
        }
        const char *d = b;
        while (d < e && *d != '=' && *d != ':')
            d++;
        if (d == e)
            REFUSE("line %u: neither a [section], a comment nor key = value", line);
        if (!in_section)
            REFUSE("line %u: a setting before any [section]", line);
        const char *kb = b, *ke = d, *vb = d + 1, *ve = e;
        trim(&kb, &ke);
        trim(&vb, &ve);
        if (kb == ke)
            REFUSE("line %u: a value without a key", line);
        have_key = true;
        key_indent = indent;
        cur_key = -1;
        if (!in_wanted)
            continue;
        int k = lookup_key(kb, ke);
        if (k < 0)
            continue;
        if (seen & (1u << k))
            REFUSE("line %u: %s a second time in [%s]", line, key_names[k], profile);
        seen |= 1u << k;
        cur_key = k;
        if (k == K_SECURITY && session_from_session_key)
            continue;
        size_t cap;
        bool *has;
        char *dst = slot(out, k, &cap, &has);
        size_t n = (size_t)(ve - vb);
        if (n >= cap)
            REFUSE("line %u: the value of %s is too long (%zu bytes, at most %zu)", line,
                   key_names[k], n, cap - 1);
        if (memchr(vb, '\0', n))
            REFUSE("line %u: the value of %s holds a NUL byte", line, key_names[k]);
        memcpy(dst, vb, n);
        explicit_bzero(dst + n, cap - n);
        *has = true;
        if (k == K_SESSION)
            session_from_session_key = true;
    }
    return found ? 1 : 0;
}

int aws_ini_read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    size_t n = 0;
    if (syscall(SYS_fstat, fd, &st) < 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
    } else if ((uint64_t)st.st_size > AWS_INI_MAX_BYTES) {
        rc = -EFBIG;
    } else if (!(buf = malloc((size_t)st.st_size + 2))) {
        rc = -ENOMEM;
    } else {
        size_t cap = (size_t)st.st_size + 1; /* one more: a file that grew is seen */
        while (n < cap) {
            ssize_t r = syscall(SYS_read, fd, buf + n, cap - n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = -errno;
                break;
            }
            if (r == 0)
                break;
            n += (size_t)r;
        }
        if (rc == 0 && n == cap)
            rc = -EFBIG; /* grew while read: read it next time */
    }
    syscall(SYS_close, fd);
    if (rc < 0) {
        aws_ini_free(buf, n);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

void aws_ini_free(char *text, size_t len)
{
    if (!text)
        return;
    explicit_bzero(text, len);
    free(text);
}
