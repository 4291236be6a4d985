/* trace_file.c: see trace_file.h.  Pure functions; no locks. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk_hash.h"
#include "disk_sys.h"
#include "trace_file.h"

static const uint8_t key_of_keys[16] = "remoteio-trace-1";

void trace_key(const char *display_url, uint8_t key[16])
{
    siphash128(key_of_keys, display_url, strlen(display_url), key);
}

void trace_file_name(const uint8_t key[16], char *out, size_t cap)
{
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    snprintf(out, cap, "%s.trace", hex);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool chunk_size_ok(uint32_t cs)
{
    return cs >= 4096 && cs <= (16u << 20) && (cs & (cs - 1)) == 0;
}

size_t trace_encoded_size(const struct trace_data *t)
{
    return TRACE_HEADER + strlen(t->validator) + 16 * (size_t)t->n + 4;
}

size_t trace_encode(const struct trace_data *t, void *buf, size_t cap)
{
    size_t v = strlen(t->validator), len = trace_encoded_size(t);
    if (len > cap || v > TRACE_VALIDATOR_MAX || t->n > TRACE_MAX_CHUNKS ||
        t->chunks > TRACE_MAX_CHUNKS || !chunk_size_ok(t->chunk_size) || t->size < 0)
        return 0;
    uint8_t *p = buf;
    memset(p, 0, TRACE_HEADER);
    memcpy(p, TRACE_MAGIC, 8);
    put16(p + 8, TRACE_VERSION);
    put16(p + 10, TRACE_HEADER);
    memcpy(p + 16, t->key, 16);
    put64(p + 32, (uint64_t)t->size);
    put32(p + 40, t->chunk_size);
    put32(p + 44, t->n);
    put16(p + 48, (uint16_t)v);
    put32(p + 52, t->chunks);
    put32(p + 56, t->window_ms);
    memcpy(p + TRACE_HEADER, t->validator, v);
    uint8_t *e = p + TRACE_HEADER + v;
    for (uint32_t i = 0; i < t->n; i++, e += 16) {
        put64(e, t->runs[i].chunk);
        put32(e + 8, t->runs[i].count);
        put32(e + 12, t->runs[i].t_ms);
    }
    put32(e, crc32c(0, p, len - 4));
    return len;
}

int trace_decode(const void *buf, size_t len, struct trace_data *out, const char **why)
{
    const uint8_t *p = buf;
    memset(out, 0, sizeof *out);
    if (len < TRACE_HEADER + 4 || memcmp(p, TRACE_MAGIC, 8) != 0) {
        *why = "not a remoteio trace";
        return -1;
    }
    if (get16(p + 8) != TRACE_VERSION) {
        *why = "a format version this build does not know";
        return -1;
    }
    if (len > TRACE_FILE_MAX) {
        *why = "larger than any trace can be";
        return -1;
    }
    uint32_t n = get32(p + 44), chunks = get32(p + 52);
    uint16_t v = get16(p + 48);
    if (get16(p + 10) != TRACE_HEADER || get32(p + 12) != 0 || get16(p + 50) != 0 ||
        get32(p + 60) != 0 || v > TRACE_VALIDATOR_MAX || n > TRACE_MAX_CHUNKS ||
        chunks > TRACE_MAX_CHUNKS || len != TRACE_HEADER + v + 16 * (size_t)n + 4) {
        *why = "its header does not match its length";
        return -1;
    }
    if (crc32c(0, p, len - 4) != get32(p + len - 4)) {
        *why = "checksum mismatch";
        return -1;
    }
    memcpy(out->key, p + 16, 16);
    out->size = (int64_t)get64(p + 32);
    out->chunk_size = get32(p + 40);
    out->window_ms = get32(p + 56);
    out->n = n;
    out->chunks = chunks;
    memcpy(out->validator, p + TRACE_HEADER, v);
    out->validator[v] = 0;
    if (out->size < 0 || !chunk_size_ok(out->chunk_size) || memchr(out->validator, 0, v)) {
        *why = "a bad size, chunk size or validator";
        return -1;
    }
    out->runs = malloc(n ? n * sizeof *out->runs : 1);
    if (!out->runs) {
        *why = "out of memory";
        errno = ENOMEM;
        return -1;
    }
    const uint8_t *e = p + TRACE_HEADER + v;
    uint64_t total = 0, max_chunk = UINT64_MAX / out->chunk_size;
    uint32_t last_t = 0;
    for (uint32_t i = 0; i < n; i++, e += 16) {
        struct trace_run r = { get64(e), get32(e + 8), get32(e + 12) };
        if (r.count == 0 || r.chunk >= max_chunk || r.count > max_chunk - r.chunk ||
            r.t_ms < last_t) {
            *why = "a run that is empty, overflows or goes back in time";
            trace_data_free(out);
            return -1;
        }
        last_t = r.t_ms;
        total += r.count;
        out->runs[i] = r;
    }
    if (total != chunks) {
        *why = "its runs do not add up to its chunk count";
        trace_data_free(out);
        return -1;
    }
    return 0;
}

void trace_data_free(struct trace_data *t)
{
    free(t->runs);
    t->runs = NULL;
    t->n = t->chunks = 0;
}

static int path_of(const char *dir, const uint8_t key[16], char *out, size_t cap)
{
    char name[64];
    trace_file_name(key, name, sizeof name);
    return (size_t)snprintf(out, cap, "%s/%s", dir, name) < cap ? 0 : -ENAMETOOLONG;
}

int trace_file_load(const char *dir, const uint8_t key[16], void **buf, size_t *len)
{
    char path[4096];
    int rc = path_of(dir, key, path, sizeof path);
    if (rc < 0)
        return rc;
    int fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (sys_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = S_ISREG(st.st_mode) ? -errno : -EINVAL;
        sys_close(fd);
        return rc;
    }
    if (st.st_size > TRACE_FILE_MAX) {
        sys_close(fd);
        return -EFBIG;
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *b = malloc(n ? n : 1);
    if (!b) {
        sys_close(fd);
        return -ENOMEM;
    }
    while (got < n) {
        ssize_t r = sys_pread(fd, b + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    sys_close(fd);
    *buf = b;
    *len = got; /* a file cut short fails its length check */
    return 0;
}

int trace_file_store(const char *dir, const uint8_t key[16], const void *buf, size_t len)
{
    static atomic_uint serial;
    char path[4096], tmp[4096], name[64];
    int rc = path_of(dir, key, path, sizeof path);
    if (rc < 0)
        return rc;
    trace_file_name(key, name, sizeof name);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.%ld.%u", dir, name, (long)syscall(SYS_getpid),
                         atomic_fetch_add(&serial, 1)) >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = sys_openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < len) {
        ssize_t w = sys_pwrite(fd, (const char *)buf + done, len - done, (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    if (sys_close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && syscall(SYS_renameat, AT_FDCWD, tmp, AT_FDCWD, path) < 0)
        rc = -errno;
    if (rc < 0)
        syscall(SYS_unlinkat, AT_FDCWD, tmp, 0);
    return rc;
}

int trace_file_remove(const char *dir, const uint8_t key[16])
{
    char path[4096];
    int rc = path_of(dir, key, path, sizeof path);
    if (rc < 0)
        return rc;
    return syscall(SYS_unlinkat, AT_FDCWD, path, 0) < 0 ? -errno : 0;
}
