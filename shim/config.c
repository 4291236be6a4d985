/* config.c: parses REMOTEIO_MAP, REMOTEIO_CONFIG and the REMOTEIO_* knobs (see config.h).
 *
 * REMOTEIO_MAP:  VIRTUAL=URL[;VIRTUAL=URL...]  (';' or newlines; the first '=' splits)
 * Config file, one statement a line, '#' starts a comment:
 *     name = value                          a knob, named like the variable without
 *                                           REMOTEIO_ and in lower case
 *     map VIRTUAL URL [key=value ...]       a mapping; keys: timeout, deadline,
 *                                           readahead, retries
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "parse.h"
#include "path.h"

struct config config;

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->connections = 64;
    c->stream_requests = 32;
    c->chunk_size = 64 << 10;
    c->cache_size = 256 << 20;
    c->connect_timeout_ms = 5000;
    c->defaults.timeout_ms = 10000;
    c->defaults.deadline_ms = 60000;
    c->defaults.readahead = 64 << 20;
    c->defaults.retries = 5;
    c->log_level = LOG_WARN;
    c->direct = true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Checks a URL: http(s) scheme, a host, no control characters or spaces. */
static const char *url_problem(const char *url)
{
    if (*url == '\0')
        return "empty URL";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "control character or space in URL";
    const char *host;
    if (strncasecmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strstr(url, "://"))
        return "unsupported URL scheme (only http:// and https://)";
    else
        return "URL has no scheme (expected http:// or https://)";
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
        return "URL has no host";
    if (strchr(url, '#'))
        return "URL has a fragment ('#')";
    return NULL;
}

static int add_mapping(struct config *c, const char *virt, const char *url,
                       const struct map_options *opt, unsigned opt_set, const char *source,
                       const char *entry)
{
    const char *why = NULL;
    char norm[4096];
    if (*virt == '\0')
        why = "empty virtual path";
    else if (virt[0] != '/')
        why = "virtual path must be absolute";
    else if (path_normalise_absolute(virt, norm, sizeof norm) < 0)
        why = "virtual path too long";
    else if (strcmp(norm, "/") == 0)
        why = "mapping '/' would make every file remote";
    else
        why = url_problem(url);
    if (why) {
        log_error("%s: %s in entry '%s'; mapping disabled", source, why, entry);
        return -1;
    }
    bool prefix = virt[strlen(virt) - 1] == '/';
    struct mapping *maps = realloc(c->maps, (c->nmaps + 1) * sizeof *maps);
    if (!maps)
        return -1;
    c->maps = maps;
    struct mapping *m = &maps[c->nmaps];
    size_t vlen = strlen(norm);
    m->virt = malloc(vlen + 2);
    size_t ulen = strlen(url);
    m->url = malloc(ulen + 2);
    if (!m->virt || !m->url) {
        free(m->virt);
        free(m->url);
        return -1;
    }
    memcpy(m->virt, norm, vlen + 1);
    memcpy(m->url, url, ulen + 1);
    if (prefix) {
        m->virt[vlen++] = '/';
        m->virt[vlen] = '\0';
        /* The rest of the path is appended to the URL's path: make it a directory. */
        char *q = strpbrk(m->url, "?");
        if (q) {
            log_error("%s: a prefix mapping's URL cannot carry a query string, in entry '%s'; "
                      "mapping disabled", source, entry);
            free(m->virt);
            free(m->url);
            return -1;
        }
        if (m->url[ulen - 1] != '/') {
            m->url[ulen++] = '/';
            m->url[ulen] = '\0';
        }
    }
    m->virt_len = vlen;
    m->prefix = prefix;
    m->opt = *opt;
    m->opt_set = opt_set;
    c->nmaps++;
    return 0;
}

int config_parse_map(struct config *c, const char *text, const char *source)
{
    int rejected = 0;
    char *copy = strdup(text ? text : "");
    if (!copy)
        return 1;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ";\n", &save); tok; tok = strtok_r(NULL, ";\n", &save)) {
        char *entry = trim(tok);
        if (*entry == '\0')
            continue;
        char *eq = strchr(entry, '=');
        if (!eq) {
            log_error("%s: entry '%s' has no '=' (expected VIRTUAL=URL); mapping disabled",
                      source, entry);
            rejected++;
            continue;
        }
        *eq = '\0';
        char *virt = trim(entry), *url = trim(eq + 1);
        char shown[512];
        snprintf(shown, sizeof shown, "%s=%s", virt, url);
        struct map_options none = { 0 };
        if (add_mapping(c, virt, url, &none, 0, source, shown) < 0)
            rejected++;
    }
    free(copy);
    return rejected;
}

static int set_map_option(struct map_options *o, unsigned *set, const char *key,
                          const char *value)
{
    uint64_t v;
    if (strcmp(key, "timeout") == 0 && parse_duration_ms(value, &v) == 0 && v > 0 &&
        v <= 3600000) {
        o->timeout_ms = v;
        *set |= MAP_OPT_TIMEOUT;
    } else if (strcmp(key, "deadline") == 0 && parse_duration_ms(value, &v) == 0 && v > 0 &&
               v <= 86400000) {
        o->deadline_ms = v;
        *set |= MAP_OPT_DEADLINE;
    } else if (strcmp(key, "readahead") == 0 && parse_size(value, &v) == 0 &&
               v <= (1ULL << 32)) {
        o->readahead = v;
        *set |= MAP_OPT_READAHEAD;
    } else if (strcmp(key, "retries") == 0 && parse_uint(value, &v) == 0 && v <= 100) {
        o->retries = (unsigned)v;
        *set |= MAP_OPT_RETRIES;
    } else {
        return -1;
    }
    return 0;
}

struct map_options config_mapping_options(const struct config *c, const struct mapping *m)
{
    struct map_options o = c->defaults;
    if (m->opt_set & MAP_OPT_TIMEOUT)
        o.timeout_ms = m->opt.timeout_ms;
    if (m->opt_set & MAP_OPT_DEADLINE)
        o.deadline_ms = m->opt.deadline_ms;
    if (m->opt_set & MAP_OPT_READAHEAD)
        o.readahead = m->opt.readahead;
    if (m->opt_set & MAP_OPT_RETRIES)
        o.retries = m->opt.retries;
    return o;
}

int config_set(struct config *c, const char *key, const char *value, const char *source)
{
    uint64_t v;
    bool b;
    int ok = -1;
    if (strcmp(key, "connections") == 0) {
        if (parse_uint(value, &v) == 0 && v >= 1 && v <= 1024) {
            c->connections = (unsigned)v;
            ok = 0;
        }
    } else if (strcmp(key, "stream_requests") == 0) {
        if (parse_uint(value, &v) == 0 && v >= 1 && v <= 64) {
            c->stream_requests = (unsigned)v;
            ok = 0;
        }
    } else if (strcmp(key, "chunk_size") == 0) {
        /* A power of two between 4 KiB and 16 MiB, so chunk arithmetic is shifts. */
        if (parse_size(value, &v) == 0 && v >= 4096 && v <= (16 << 20) && (v & (v - 1)) == 0) {
            c->chunk_size = v;
            ok = 0;
        }
    } else if (strcmp(key, "cache_size") == 0) {
        if (parse_size(value, &v) == 0 && v >= (1 << 20) && v <= (1ULL << 40)) {
            c->cache_size = v;
            ok = 0;
        }
    } else if (strcmp(key, "connect_timeout") == 0) {
        if (parse_duration_ms(value, &v) == 0 && v > 0 && v <= 3600000) {
            c->connect_timeout_ms = v;
            ok = 0;
        }
    } else if (strcmp(key, "log") == 0) {
        static const char *const levels[] = { "error", "warn", "info", "debug" };
        for (int i = 0; i < 4; i++)
            if (strcasecmp(value, levels[i]) == 0) {
                c->log_level = i;
                ok = 0;
            }
    } else if (strcmp(key, "log_file") == 0) {
        free(c->log_file);
        c->log_file = strdup(value);
        ok = 0;
    } else if (strcmp(key, "stats") == 0) {
        free(c->stats);
        c->stats = NULL;
        ok = 0;
        if (parse_bool(value, &b) == 0) {
            if (b)
                c->stats = strdup("-");
        } else if (*value) {
            c->stats = strdup(value);
        }
    } else if (strcmp(key, "insecure") == 0) {
        if (parse_bool(value, &b) == 0) {
            c->insecure = b;
            ok = 0;
        }
    } else if (strcmp(key, "direct") == 0) {
        if (parse_bool(value, &b) == 0) {
            c->direct = b;
            ok = 0;
        }
    } else if (strcmp(key, "allow_unversioned") == 0) {
        if (parse_bool(value, &b) == 0) {
            c->allow_unversioned = b;
            ok = 0;
        }
    } else if (strcmp(key, "timeout") == 0 || strcmp(key, "deadline") == 0 ||
               strcmp(key, "readahead") == 0 || strcmp(key, "retries") == 0) {
        unsigned ignored = 0;
        ok = set_map_option(&c->defaults, &ignored, key, value);
    } else {
        log_error("%s: unknown option '%s'; ignored", source, key);
        return -1;
    }
    if (ok < 0)
        log_error("%s: invalid value '%s' for %s; default kept", source, value, key);
    return ok;
}

static int parse_map_statement(struct config *c, char *args, const char *where)
{
    char *save = NULL;
    char *virt = strtok_r(args, " \t", &save);
    char *url = strtok_r(NULL, " \t", &save);
    if (!virt || !url) {
        log_error("%s: 'map' needs a virtual path and a URL; mapping disabled", where);
        return -1;
    }
    struct map_options opt = { 0 };
    unsigned set = 0;
    for (char *kv = strtok_r(NULL, " \t", &save); kv; kv = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            log_error("%s: option '%s' is not key=value; mapping disabled", where, kv);
            return -1;
        }
        *eq = '\0';
        if (set_map_option(&opt, &set, kv, eq + 1) < 0) {
            log_error("%s: unknown or invalid mapping option '%s=%s'; mapping disabled", where,
                      kv, eq + 1);
            return -1;
        }
    }
    char shown[512];
    snprintf(shown, sizeof shown, "map %s %s", virt, url);
    return add_mapping(c, virt, url, &opt, set, where, shown);
}

int config_parse_file(struct config *c, const char *text, const char *source)
{
    int rejected = 0, lineno = 0;
    char *copy = strdup(text ? text : "");
    if (!copy)
        return 1;
    char *save = NULL;
    /* strtok_r would merge empty lines and so lose line numbers: split by hand. */
    for (char *line = copy; line; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char where[300];
        snprintf(where, sizeof where, "%s:%d", source, lineno);
        if (strncmp(s, "map", 3) == 0 && (s[3] == ' ' || s[3] == '\t')) {
            if (parse_map_statement(c, s + 4, where) < 0)
                rejected++;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            log_error("%s: expected 'name = value' or 'map VIRTUAL URL'; line ignored", where);
            rejected++;
            continue;
        }
        *eq = '\0';
        if (config_set(c, trim(s), trim(eq + 1), where) < 0)
            rejected++;
    }
    free(copy);
    return rejected;
}

/* Reads a whole (small) file with raw syscalls: this runs inside the constructor. */
static char *read_small_file(const char *path)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (len == cap) {
            if (cap >= (1 << 20)) { /* a configuration file is never this big */
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = syscall(SYS_read, fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            buf = NULL;
            break;
        }
        if (n == 0) {
            buf[len] = '\0';
            break;
        }
        len += (size_t)n;
    }
    int saved = errno;
    syscall(SYS_close, fd);
    errno = saved;
    return buf;
}

void config_load(void)
{
    static const char *const knobs[] = { "connections", "stream_requests", "chunk_size",
                                         "cache_size", "connect_timeout", "timeout", "deadline",
                                         "readahead", "retries", "log", "log_file",
                                         "stats", "insecure", "direct", "allow_unversioned" };
    config_defaults(&config);
    /* The log level first, so that problems below are reported as the user asked. */
    const char *lv = getenv("REMOTEIO_LOG");
    if (lv)
        config_set(&config, "log", lv, "REMOTEIO_LOG");
    log_init(config.log_level, NULL);

    const char *file = getenv("REMOTEIO_CONFIG");
    if (file && *file) {
        char *text = read_small_file(file);
        if (text) {
            config_parse_file(&config, text, file);
            free(text);
        } else {
            log_error("REMOTEIO_CONFIG: cannot read %s: %s", file, strerror(errno));
        }
    }
    for (size_t i = 0; i < sizeof knobs / sizeof *knobs; i++) {
        char name[64] = "REMOTEIO_";
        size_t n = strlen(name);
        for (const char *k = knobs[i]; *k && n < sizeof name - 1; k++)
            name[n++] = (char)toupper((unsigned char)*k);
        name[n] = '\0';
        const char *v = getenv(name);
        if (v)
            config_set(&config, knobs[i], v, name);
    }
    const char *map = getenv("REMOTEIO_MAP");
    if (map)
        config_parse_map(&config, map, "REMOTEIO_MAP");
    log_init(config.log_level, config.log_file);
}

void config_free(struct config *c)
{
    for (size_t i = 0; i < c->nmaps; i++) {
        free(c->maps[i].virt);
        free(c->maps[i].url);
    }
    free(c->maps);
    free(c->log_file);
    free(c->stats);
    memset(c, 0, sizeof *c);
}

const struct mapping *config_match(const struct config *c, const char *path, const char **rest)
{
    const struct mapping *best = NULL;
    size_t plen = strlen(path);
    for (size_t i = 0; i < c->nmaps; i++) {
        const struct mapping *m = &c->maps[i];
        if (m->prefix) {
            if (plen > m->virt_len && memcmp(path, m->virt, m->virt_len) == 0 &&
                (!best || m->virt_len > best->virt_len))
                best = m;
        } else if (plen == m->virt_len && memcmp(path, m->virt, plen) == 0) {
            best = m;
            break; /* an exact file mapping is the most specific */
        }
    }
    if (best && rest)
        *rest = best->prefix ? path + best->virt_len : "";
    return best;
}

bool config_is_prefix_dir(const struct config *c, const char *path)
{
    size_t plen = strlen(path);
    for (size_t i = 0; i < c->nmaps; i++) {
        const struct mapping *m = &c->maps[i];
        if (m->prefix && plen + 1 == m->virt_len && memcmp(path, m->virt, plen) == 0)
            return true;
    }
    return false;
}
