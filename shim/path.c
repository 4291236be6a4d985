/* path.c: see path.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "path.h"

int path_normalise_absolute(const char *in, char *out, size_t outlen)
{
    if (in[0] != '/' || outlen < 2) {
        errno = EINVAL;
        return -1;
    }
    size_t len = 0; /* out[0..len) holds the result so far, without trailing '/' */
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' before the dropped component */
            continue;
        }
        if (len + 1 + n + 1 > outlen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        out[len++] = '/';
        memcpy(out + len, start, n);
        len += n;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return 0;
}

bool path_is_normal(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *q = p; *q; q++) {
        if (q[0] != '/')
            continue;
        if (q[1] == '/')
            return false;
        if (q[1] == '.') {
            const char *r = q[2] == '.' ? q + 3 : q + 2;
            if (*r == '/' || *r == '\0')
                return false;
        }
    }
    return true;
}

int path_resolve(int dirfd, const char *path, char *out, size_t outlen)
{
    if (path[0] == '/')
        return path_normalise_absolute(path, out, outlen);
    char buf[8192];
    long n;
    if (dirfd == AT_FDCWD) {
        n = syscall(SYS_getcwd, buf, sizeof buf - 1);
        if (n < 0)
            return -1;
        n = (long)strlen(buf);
    } else {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
        n = syscall(SYS_readlinkat, AT_FDCWD, proc, buf, sizeof buf - 1);
        if (n < 0)
            return -1;
        buf[n] = '\0';
    }
    if (buf[0] != '/') { /* "(unreachable)" cwd, or an fd that is no directory */
        errno = ENOENT;
        return -1;
    }
    size_t plen = strlen(path);
    if ((size_t)n + 1 + plen + 1 > sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    buf[n] = '/';
    memcpy(buf + n + 1, path, plen + 1);
    return path_normalise_absolute(buf, out, outlen);
}

int path_resolve_quiet(int dirfd, const char *path, char *out, size_t outlen)
{
    int saved = errno;
    int rc = path_resolve(dirfd, path, out, outlen);
    errno = saved;
    return rc;
}

char *url_append_path(const char *base, const char *rest)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t blen = strlen(base), rlen = strlen(rest);
    char *url = malloc(blen + rlen * 3 + 1);
    if (!url)
        return NULL;
    memcpy(url, base, blen);
    char *o = url + blen;
    for (const unsigned char *p = (const unsigned char *)rest; *p; p++) {
        unsigned char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~/!$&'()*+,;=:@", ch)) {
            *o++ = (char)ch;
        } else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return url;
}
