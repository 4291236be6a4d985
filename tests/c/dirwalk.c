/* dirwalk.c: reads one directory every way a program can, for t-s3-list.sh.
 *
 *   dirwalk getdents DIR   names from getdents64(2) on openat(O_DIRECTORY), 512-byte
 *                          buffers, "NAME TYPE" per line (TYPE d or f), sorted by the
 *                          caller; fstatat(fd, NAME) of each agrees with its type
 *   dirwalk streams DIR    readdir_r, then telldir/seekdir back to the middle, then
 *                          rewinddir, readdir64 to the end, on fdopendir of an openat
 *                          descriptor duplicated with F_DUPFD_CLOEXEC: "ok N" when all
 *                          three readings agree, else what differed
 *   dirwalk scandir DIR    scandir(3) without "." and "..", alphasort: "NAME TYPE"
 *   dirwalk threads DIR    8 threads listing at once, a shared descriptor read by
 *                          getdents64 through two duplicates: "ok N" (see by_threads)
 * Exit status 0, or 1 with a line on stderr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "dirwalk: %s: %s\n", what, strerror(errno));
    return 1;
}

static int by_getdents(const char *dir)
{
    int fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail("openat");
    char buf[512] __attribute__((aligned(8)));
    for (;;) {
        ssize_t n = getdents64(fd, buf, sizeof buf);
        if (n < 0)
            return fail("getdents64");
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *e = (struct dirent64 *)(buf + off);
            if (e->d_reclen == 0 || e->d_reclen % 8 || off + e->d_reclen > n) {
                fprintf(stderr, "dirwalk: bad record length %u\n", e->d_reclen);
                return 1;
            }
            off += e->d_reclen;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            struct stat st;
            if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail(e->d_name);
            char t = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : '?';
            if ((t == 'd') != S_ISDIR(st.st_mode)) {
                fprintf(stderr, "dirwalk: %s: d_type and stat disagree\n", e->d_name);
                return 1;
            }
            printf("%s %c\n", e->d_name, t);
        }
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
        return fail("fstat of the directory");
    close(fd);
    return 0;
}

/* The names of dp from where it is to the end, joined by '/'. */
static char *rest_of(DIR *dp, size_t *count)
{
    size_t cap = 1 << 16, len = 0;
    char *all = malloc(cap);
    all[0] = '\0';
    *count = 0;
    struct dirent64 *e;
    while ((e = readdir64(dp))) {
        size_t n = strlen(e->d_name);
        if (len + n + 2 > cap)
            all = realloc(all, cap *= 2);
        memcpy(all + len, e->d_name, n);
        len += n;
        all[len++] = '/';
        all[len] = '\0';
        (*count)++;
    }
    return all;
}

static int by_streams(const char *dir)
{
    int fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail("openat");
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dupfd < 0)
        return fail("F_DUPFD_CLOEXEC");
    close(fd);
    DIR *dp = fdopendir(dupfd);
    if (!dp)
        return fail("fdopendir");
    if (dirfd(dp) != dupfd) {
        fprintf(stderr, "dirwalk: dirfd %d, not %d\n", dirfd(dp), dupfd);
        return 1;
    }
    /* readdir_r to the end, remembering the middle */
    size_t cap = 1 << 16, len = 0, n = 0;
    char *first = malloc(cap);
    first[0] = '\0';
    struct dirent ent, *res;
    long mid_pos = -1;
    size_t mid_len = 0;
    for (;;) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        int rc = readdir_r(dp, &ent, &res); /* deprecated, but programs call it */
#pragma GCC diagnostic pop
        if (rc) {
            errno = rc;
            return fail("readdir_r");
        }
        if (!res)
            break;
        size_t k = strlen(ent.d_name);
        if (len + k + 2 > cap)
            first = realloc(first, cap *= 2);
        memcpy(first + len, ent.d_name, k);
        len += k;
        first[len++] = '/';
        first[len] = '\0';
        if (++n == 3) {
            mid_pos = telldir(dp);
            mid_len = len;
        }
    }
    if (mid_pos >= 0) {
        seekdir(dp, mid_pos);
        size_t c;
        char *tail = rest_of(dp, &c);
        if (strcmp(tail, first + mid_len) != 0) {
            fprintf(stderr, "dirwalk: after seekdir: %.80s, not %.80s\n", tail, first + mid_len);
            return 1;
        }
        free(tail);
    }
    rewinddir(dp);
    size_t again_n;
    char *again = rest_of(dp, &again_n);
    if (again_n != n || strcmp(again, first) != 0) {
        fprintf(stderr, "dirwalk: after rewinddir: %zu entries, not %zu\n", again_n, n);
        return 1;
    }
    if (closedir(dp) < 0)
        return fail("closedir");
    printf("ok %zu\n", n);
    free(first);
    free(again);
    return 0;
}

/* dirwalk threads DIR: 8 threads each list DIR 5 times through their own streams and
 * fstatat every entry, while the main thread reads a shared descriptor with getdents64;
 * "ok N" when every reading saw N entries. */
struct job {
    const char *dir;
    long count; /* entries seen per listing, or -1 when they differed */
};

static void *lister(void *arg)
{
    struct job *j = arg;
    for (int round = 0; round < 5; round++) {
        DIR *dp = opendir(j->dir);
        if (!dp) {
            j->count = -1;
            return NULL;
        }
        long n = 0;
        struct dirent *e;
        while ((e = readdir(dp))) {
            struct stat st;
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                fstatat(dirfd(dp), e->d_name, &st, 0) < 0)
                n = -1000000;
            n++;
        }
        closedir(dp);
        if (round > 0 && n != j->count)
            n = -1;
        j->count = n;
        if (n < 0)
            return NULL;
    }
    return NULL;
}

static int by_threads(const char *dir)
{
    struct job jobs[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (struct job){ .dir = dir, .count = 0 };
        pthread_create(&t[i], NULL, lister, &jobs[i]);
    }
    int fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd2 = fd >= 0 ? dup(fd) : -1;
    long shared = 0;
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n;
    /* two descriptors of one open directory share its position */
    for (int k = 0; fd2 >= 0 && (n = getdents64(k % 2 ? fd : fd2, buf, sizeof buf)) > 0; k++)
        for (ssize_t off = 0; off < n; off += ((struct dirent64 *)(buf + off))->d_reclen)
            shared++;
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    close(fd);
    close(fd2);
    for (int i = 0; i < 8; i++)
        if (jobs[i].count != shared) {
            fprintf(stderr, "dirwalk: thread %d saw %ld entries, getdents64 %ld\n", i,
                    jobs[i].count, shared);
            return 1;
        }
    printf("ok %ld\n", shared);
    return 0;
}

static int not_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

static int by_scandir(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, not_dots, alphasort);
    if (n < 0)
        return fail("scandir");
    for (int i = 0; i < n; i++) {
        printf("%s %c\n", list[i]->d_name, list[i]->d_type == DT_DIR ? 'd' : 'f');
        free(list[i]);
    }
    free(list);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: dirwalk getdents|streams|scandir|threads DIR\n");
        return 2;
    }
    if (strcmp(argv[1], "threads") == 0)
        return by_threads(argv[2]);
    if (strcmp(argv[1], "scandir") == 0)
        return by_scandir(argv[2]);
    return strcmp(argv[1], "getdents") == 0 ? by_getdents(argv[2]) : by_streams(argv[2]);
}
