/* config.h: what the user configured: the mappings from virtual paths to URLs, and the
 * knobs.  Filled once at start-up from REMOTEIO_CONFIG (a file) and then the environment
 * (which wins), read-only afterwards, so readers take no lock.
 *
 * A bad entry is reported with one line naming its source and disabled; nothing here
 * ever stops the host program. */
#ifndef REMOTEIO_CONFIG_H
#define REMOTEIO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Options a mapping may override (config file: `map VIRT URL key=value...`). */
struct map_options {
    uint64_t timeout_ms;  /* a request making no progress this long is abandoned */
    uint64_t deadline_ms; /* a whole read fails with EIO after this long */
    uint64_t readahead;   /* largest readahead window of one stream, bytes */
    unsigned retries;     /* further attempts after a failed request */
};

struct mapping {
    char *virt;      /* normalised absolute path; a prefix ends with '/' */
    size_t virt_len;
    bool prefix;
    char *url;       /* for a prefix, ends with '/' */
    struct map_options opt; /* the options the mapping set itself... */
    unsigned opt_set;       /* ...and which ones (MAP_OPT_* bits); the rest are defaults */
};

enum { MAP_OPT_TIMEOUT = 1, MAP_OPT_DEADLINE = 2, MAP_OPT_READAHEAD = 4, MAP_OPT_RETRIES = 8 };

struct config {
    struct mapping *maps;
    size_t nmaps;
    unsigned connections;        /* most requests in flight per process */
    unsigned stream_requests;    /* readahead requests in flight per stream */
    uint64_t chunk_size;         /* cache unit and smallest fetch */
    uint64_t cache_size;         /* memory cache, hard limit including in-flight buffers */
    uint64_t connect_timeout_ms;
    struct map_options defaults; /* what a mapping gets unless it says otherwise */
    int log_level;
    char *log_file;
    char *stats;                 /* NULL: off; "-": stderr; else a file to append to */
    bool insecure;               /* skip TLS verification (REMOTEIO_INSECURE) */
    bool direct;                 /* bodies straight into the cache (REMOTEIO_DIRECT) */
    bool allow_unversioned;      /* serve objects with neither ETag nor Last-Modified */
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
/* Set one global knob by its config-file name ("connections", "chunk_size"...). */
int config_set(struct config *c, const char *key, const char *value, const char *source);
void config_free(struct config *c);

/* The mapping that covers a normalised absolute path, or NULL.  *rest gets the part after
 * a prefix ("" for an exact mapping).  The longest virtual path wins. */
const struct mapping *config_match(const struct config *c, const char *path, const char **rest);
/* A mapping's effective options: its own where it set them, the global defaults otherwise. */
struct map_options config_mapping_options(const struct config *c, const struct mapping *m);
/* True when path is the directory of a prefix mapping ("/remote" for "/remote/"). */
bool config_is_prefix_dir(const struct config *c, const char *path);

#endif
