/* trace_file.h: the on-disk format of a learned-prefetch trace (trace.h), and its strict
 * parser.  Pure functions over memory: no I/O, no state, no locks.
 *
 * A trace lists the chunks a program read in its first seconds after opening one object,
 * as runs of consecutive chunks in the order they were first read, each with the time of
 * its first access.  All numbers are little-endian.
 *
 *   offset size  field
 *   0      8     magic "RIOTRACE"
 *   8      2     format version (1)
 *   10     2     header length (64)
 *   12     4     flags (0; a trace with a flag it does not know is refused)
 *   16     16    key: SipHash-128 of the object's display URL (url.h: no secret in it)
 *                under the fixed key "remoteio-trace-1"
 *   32     8     the object's size when recorded
 *   40     4     chunk size the chunk indices count in (a power of two, 4 KiB..16 MiB)
 *   44     4     number of runs n (<= TRACE_MAX_CHUNKS)
 *   48     2     validator length v (<= TRACE_VALIDATOR_MAX): the ETag, else Last-Modified
 *   50     2     reserved (0)
 *   52     4     chunks in all runs (<= TRACE_MAX_CHUNKS)
 *   56     4     recording window in milliseconds
 *   60     4     reserved (0)
 *   64     v     validator (not NUL-terminated)
 *   64+v   16*n  runs: chunk index (8), chunk count (4, >= 1), first access in ms after
 *                the open (4, never decreasing from one run to the next)
 *   end-4  4     CRC32C of every byte before it
 *
 * A file of another length than its counts give, or over TRACE_FILE_MAX bytes, a wrong
 * magic, version, CRC, a run that overflows or goes back in time: refused, with the reason
 * as a short phrase for the caller's one log line.
 *
 * Files: DIR/<32 hex digits of the key>.trace, mode 0600, written as a temporary file
 * (DIR/.<name>.<pid>.<n>) renamed over the old one, so a reader sees the old trace or the
 * new one, never a mix.  Raw syscalls (disk_sys.h): usable inside the shim and in tools. */
#ifndef REMOTEIO_TRACE_FILE_H
#define REMOTEIO_TRACE_FILE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_MAGIC "RIOTRACE"
#define TRACE_VERSION 1
#define TRACE_HEADER 64
#define TRACE_VALIDATOR_MAX 255
/* At most this many chunks in one trace (4 GiB of 64 KiB chunks). */
#define TRACE_MAX_CHUNKS 65536u
#define TRACE_FILE_MAX (TRACE_HEADER + TRACE_VALIDATOR_MAX + 16 * TRACE_MAX_CHUNKS + 4)

struct trace_run {
    uint64_t chunk;
    uint32_t count;
    uint32_t t_ms;
};

struct trace_data {
    uint8_t key[16];
    int64_t size;
    uint32_t chunk_size;
    uint32_t window_ms;
    char validator[TRACE_VALIDATOR_MAX + 1]; /* NUL-terminated */
    uint32_t n;                              /* runs */
    uint32_t chunks;                         /* sum of their counts */
    struct trace_run *runs;                  /* malloc'd by trace_decode */
};

/* The key of the object whose display URL is display_url. */
void trace_key(const char *display_url, uint8_t key[16]);
/* Its file name: 32 hex digits and ".trace" (out holds at least 40 bytes). */
void trace_file_name(const uint8_t key[16], char *out, size_t cap);

/* The encoded length of t (its runs and chunks must be within the limits). */
size_t trace_encoded_size(const struct trace_data *t);
/* Encode t into buf (cap >= trace_encoded_size(t)); returns the length, 0 if it does not
 * fit or t breaks a limit. */
size_t trace_encode(const struct trace_data *t, void *buf, size_t cap);
/* Parse buf into *out (runs malloc'd; free with trace_data_free).  0, or -1 with *why
 * set ("not a trace", "version 7 unknown", "checksum mismatch", ...; errno ENOMEM for
 * "out of memory"). */
int trace_decode(const void *buf, size_t len, struct trace_data *out, const char **why);
void trace_data_free(struct trace_data *t);

/* DIR/name of key into *buf (malloc'd) and *len: 0, or -errno (-ENOENT: none, -EFBIG:
 * over TRACE_FILE_MAX bytes). */
int trace_file_load(const char *dir, const uint8_t key[16], void **buf, size_t *len);
/* Write len bytes as DIR/name of key, atomically: 0 or -errno. */
int trace_file_store(const char *dir, const uint8_t key[16], const void *buf, size_t len);
/* Remove DIR/name of key: 0 or -errno. */
int trace_file_remove(const char *dir, const uint8_t key[16]);

#endif
