/* config.h: what the user configured: the mappings from virtual paths to URLs, and the
 * knobs.  Filled once at start-up from REMOTEIO_CONFIG (a file) and then the environment
 * (which wins), read-only afterwards, so readers take no lock.
 *
 * Errors: a bad entry or value is reported with one log line naming its source and is
 * disabled (the default kept); the parse functions return how many were rejected, or -1.
 * Nothing here ever stops the host program. */
#ifndef REMOTEIO_CONFIG_H
#define REMOTEIO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every knob is declared once, here: X(name, field, kind, min, max, default).
 *   name     the config-file key; REMOTEIO_ and its upper case is the environment variable
 *   field    where it lives (in struct map_options for MAP_OPTIONS, struct config else)
 *   kind     COUNT (unsigned), SIZE (bytes, K/M/G/T), POW2 (a SIZE that is a power of
 *            two), MS (a duration), INTERVAL (a duration, or off), BOOL, LEVEL (log
 *            level), PATH (a file name, or empty), STATS (off, 1 for stderr, or a file),
 *            STRING (a word, or empty: NULL), COMMAND (a STRING never shown), AUTO (0, 1, or auto: -1), HEADERS (header
 *            lines "Name: value", one per setting, kept '\n'-separated; max is their
 *            number; the debug line shows how many, never a value)
 *   min,max  the accepted range of a number
 *   default  text parsed like a user's value at start-up
 * The struct fields, the parser, the environment names and the debug line that lists the
 * effective values all follow from these lists; README.md, remoteio(1) and
 * config/knobs.conf are checked against them (tests/t-knobs.sh). */

/* Options a mapping may override (config file: `map VIRT URL key=value...`); their
 * global defaults are knobs too. */
#define MAP_OPTIONS(X)                                                                      \
    X(timeout, timeout_ms, MS, 1, 3600000, "10s")       /* a request making no progress */  \
    X(deadline, deadline_ms, MS, 1, 86400000, "60s")    /* a whole read fails with EIO */   \
    X(readahead, readahead, SIZE, 0, 1ULL << 32, "64M") /* window of one stream */          \
    X(retries, retries, COUNT, 0, 100, "5")             /* further attempts */          \
    X(region, region, STRING, 0, 0, "")                 /* s3://: else the profile's */     \
    X(endpoint, endpoint, STRING, 0, 0, "")             /* s3://: else AWS_ENDPOINT_URL* */ \
    X(path_style, path_style, AUTO, 0, 1, "auto")       /* s3://: auto: for endpoint= */    \
    X(profile, profile, STRING, 0, 0, "")               /* s3://: else AWS_PROFILE */       \
    X(sign, sign, BOOL, 0, 1, "1")                      /* s3://: 0 for public buckets */   \
    X(requester_pays, requester_pays, BOOL, 0, 1, "0")  /* s3://: x-amz-request-payer */    \
    X(header, headers, HEADERS, 0, 16, "")              /* "Name: value", repeatable */ \
    X(header_command, header_command, COMMAND, 0, 0, "") /* prints header lines */       \
    X(header_renew, header_renew_ms, INTERVAL, 1000, 86400000, "off") /* re-run period */

#define CONFIG_KNOBS(X)                                                                     \
    X(connections, connections, COUNT, 1, 1024, "64")   /* requests in flight per process */\
    X(stream_requests, stream_requests, COUNT, 1, 64, "32") /* a lone stream's cap */  \
    X(chunk_size, chunk_size, POW2, 4096, 16 << 20, "64K") /* cache unit, smallest fetch */ \
    X(cache_size, cache_size, SIZE, 1 << 20, 1ULL << 40, "256M") /* hard memory limit */    \
    X(connect_timeout, connect_timeout_ms, MS, 1, 3600000, "5s")                            \
    X(log, log_level, LEVEL, 0, 3, "warn")                                                  \
    X(log_file, log_file, PATH, 0, 0, "")               /* empty: stderr */                 \
    X(stats, stats, STATS, 0, 0, "off")                 /* NULL off, "-" stderr, a file */  \
    X(stats_interval, stats_interval_ms, INTERVAL, 100, 86400000, "off") /* 0: at exit */   \
    X(insecure, insecure, BOOL, 0, 1, "0")              /* skip TLS verification */         \
    X(direct, direct, BOOL, 0, 1, "1")                  /* bodies straight into the cache */\
    X(allow_unversioned, allow_unversioned, BOOL, 0, 1, "0") /* no ETag nor Last-Modified */\
    X(cache_dir, cache_dir, PATH, 0, 0, "")             /* the disk tier; empty: none */    \
    X(disk_cache_size, disk_cache_size, SIZE, 0, 1ULL << 50, "0") /* 0: disk_cache.h's */ \
    X(trace, trace, STRING, 0, 0, "auto")               /* off|record|replay|auto */        \
    X(trace_dir, trace_dir, PATH, 0, 0, "")             /* empty: CACHE_DIR.traces  */ \
    X(trace_origin, trace_origin, BOOL, 0, 1, "0")      /* URL.remoteio-trace too */

#define KNOB_TYPE_COUNT unsigned
#define KNOB_TYPE_SIZE uint64_t
#define KNOB_TYPE_POW2 uint64_t
#define KNOB_TYPE_MS uint64_t
#define KNOB_TYPE_INTERVAL uint64_t
#define KNOB_TYPE_BOOL bool
#define KNOB_TYPE_LEVEL int
#define KNOB_TYPE_PATH char *
#define KNOB_TYPE_STATS char *
#define KNOB_TYPE_STRING char *
#define KNOB_TYPE_COMMAND char *
#define KNOB_TYPE_AUTO int
#define KNOB_TYPE_HEADERS char *
#define KNOB_FIELD(name, field, kind, min, max, dflt) KNOB_TYPE_##kind field;

struct map_options {
    MAP_OPTIONS(KNOB_FIELD)
};

struct mapping {
    char *virt;      /* normalised absolute path; a prefix ends with '/' */
    size_t virt_len;
    bool prefix;
    char *url;       /* for a prefix, ends with '/' */
    struct map_options opt; /* the options the mapping set itself... */
    unsigned opt_set;       /* ...and which ones (1 << MAP_OPT_name); the rest are defaults */
};

enum {
#define MAP_OPT_INDEX(name, field, kind, min, max, dflt) MAP_OPT_##name,
    MAP_OPTIONS(MAP_OPT_INDEX)
#undef MAP_OPT_INDEX
};

struct config {
    struct mapping *maps;
    size_t nmaps;
    struct map_options defaults; /* what a mapping gets unless it says otherwise */
    CONFIG_KNOBS(KNOB_FIELD)
};

extern struct config config;

/* Load from REMOTEIO_CONFIG and the environment into the global config. */
void config_load(void);

/* The pieces, usable on any struct config (tests and fuzzers call these). */
void config_defaults(struct config *c);
/* Parse REMOTEIO_MAP text; returns the number of entries rejected. */
int config_parse_map(struct config *c, const char *text, const char *source);
/* Parse a configuration file's text; returns the number of lines rejected. */
int config_parse_file(struct config *c, const char *text, const char *source);
/* Set one global knob by its config-file name ("connections", "chunk_size"...); 0 or -1
 * (one line logged unless source is NULL). */
int config_set(struct config *c, const char *key, const char *value, const char *source);
void config_free(struct config *c);

/* The mapping that covers a normalised absolute path, or NULL.  *rest gets the part after
 * a prefix ("" for an exact mapping).  The longest virtual path wins. */
const struct mapping *config_match(const struct config *c, const char *path, const char **rest);
/* The URL an absolute virtual path maps to, or arg itself when it is a URL (malloc'd);
 * NULL when it is neither (or out of memory).  For the tools that name objects. */
char *config_url_of(const struct config *c, const char *arg);
/* A mapping's effective options: its own where it set them, the global defaults otherwise. */
struct map_options config_mapping_options(const struct config *c, const struct mapping *m);
/* True when path is the directory of a prefix mapping ("/remote" for "/remote/"). */
bool config_is_prefix_dir(const struct config *c, const char *path);
/* Every knob and its effective value, "name=value ..." as the config file spells them. */
size_t config_describe(const struct config *c, char *buf, size_t cap);

#endif
