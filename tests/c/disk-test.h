/* disk-test.h: helpers shared by the disk cache's test programs (unit-disk-cache.c,
 * disk-cache-stress.c): a deterministic chunk pattern, the directory's usage as du counts
 * it, a log captured to a file so that its lines can be counted. */
#ifndef REMOTEIO_TESTS_DISK_TEST_H
#define REMOTEIO_TESTS_DISK_TEST_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Byte off of chunk of object obj (version ver). */
static inline uint8_t pattern_byte(uint32_t obj, uint32_t ver, uint64_t chunk, size_t off)
{
    uint64_t x = (obj * 0x9e3779b97f4a7c15ULL) ^ (ver * 0xc2b2ae3d27d4eb4fULL) ^
                 (chunk * 0x165667b19e3779f9ULL) ^ (off / 8 * 0xff51afd7ed558ccdULL);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 32;
    return (uint8_t)(x >> (8 * (off % 8)));
}

static inline void pattern_fill(uint8_t *buf, size_t len, uint32_t obj, uint32_t ver, uint64_t chunk)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern_byte(obj, ver, chunk, i);
}

/* Bytes of buf that differ from the pattern. */
static inline size_t pattern_wrong(const uint8_t *buf, size_t len, uint32_t obj, uint32_t ver,
                                   uint64_t chunk)
{
    size_t wrong = 0;
    for (size_t i = 0; i < len; i++)
        wrong += buf[i] != pattern_byte(obj, ver, chunk, i);
    return wrong;
}

/* What du counts for dir and the files in it: allocated bytes and apparent size. */
static inline void dir_usage(const char *dir, uint64_t *alloc, uint64_t *apparent)
{
    struct stat st;
    *alloc = *apparent = 0;
    if (lstat(dir, &st) == 0) {
        *alloc += (uint64_t)st.st_blocks * 512;
        *apparent += (uint64_t)st.st_size;
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0) {
            *alloc += (uint64_t)st.st_blocks * 512;
            *apparent += (uint64_t)st.st_size;
        }
    }
    closedir(d);
}

/* Send the shim's log lines to path (truncated); count the lines holding text. */
static inline void log_capture(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0)
        log_set_descriptor(fd);
}

static inline int log_count(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

#endif
