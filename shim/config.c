/* config.c: parses REMOTEIO_MAP, REMOTEIO_CONFIG and the REMOTEIO_* knobs (see config.h).
 *
 * REMOTEIO_MAP:  VIRTUAL=URL[;VIRTUAL=URL...]  (';' or newlines; the first '=' splits)
 *
 * Messages never quote what may be secret: an entry or URL is shown in display form
 * (url.h: no userinfo, query or fragment), a value or a mapping option not at all, and
 * a name only when it is one (letters, digits, '_', '-'). A future option may carry a
 * header or a token.
 * Config file, one statement a line, '#' starts a comment:
 *     name = value                          a knob, named like the variable without
 *                                           REMOTEIO_ and in lower case
 *     map VIRTUAL URL [key=value ...]       a mapping; keys: the MAP_OPTIONS of
 *                                           config.h; key="a value with blanks"
 * REMOTEIO_MAP's entries take the same options after the URL: VIRTUAL=URL key=value...
 * A URL is http(s)://HOST... or s3://BUCKET[/KEY] (see s3.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "parse.h"
#include "http_request.h"
#include "path.h"
#include "url.h"

struct config config;

/* The knob table, from the lists in config.h. */
enum knob_kind { KIND_COUNT, KIND_SIZE, KIND_POW2, KIND_MS, KIND_INTERVAL, KIND_BOOL, KIND_LEVEL,
                 KIND_PATH, KIND_STATS, KIND_STRING, KIND_COMMAND, KIND_AUTO,
                 KIND_HEADERS };

struct knob {
    const char *name;
    enum knob_kind kind;
    size_t offset;  /* in struct map_options when map_opt >= 0, else in struct config */
    uint64_t min, max;
    const char *dflt;
    int map_opt;    /* MAP_OPT_name, or -1 for a knob mappings cannot set */
};

static const struct knob knobs[] = {
#define MAP_KNOB(name, field, kind, min, max, dflt)                                          \
    { #name, KIND_##kind, offsetof(struct map_options, field), min, max, dflt, MAP_OPT_##name },
    MAP_OPTIONS(MAP_KNOB)
#undef MAP_KNOB
#define GLOBAL_KNOB(name, field, kind, min, max, dflt)                                       \
    { #name, KIND_##kind, offsetof(struct config, field), min, max, dflt, -1 },
    CONFIG_KNOBS(GLOBAL_KNOB)
#undef GLOBAL_KNOB
};
#define NKNOBS (sizeof knobs / sizeof *knobs)

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Appends a header line to the '\n'-separated list *field (at most max lines). */
static int add_header_line(char **field, const char *value, uint64_t max)
{
    if (!*value) { /* an empty setting clears the list */
        free(*field);
        *field = NULL;
        return 0;
    }
    size_t lines = 0;
    for (const char *p = *field; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
        lines++;
    if (!http_request_header_ok(value) || lines >= max)
        return -1;
    size_t old = *field ? strlen(*field) : 0;
    char *s = malloc(old + 1 + strlen(value) + 1);
    if (!s)
        return -1;
    if (old)
        memcpy(s, *field, old);
    snprintf(s + old, strlen(value) + 2, "%s%s", old ? "\n" : "", value);
    if (*field) {
        explicit_bzero(*field, old);
        free(*field);
    }
    *field = s;
    return 0;
}

static const struct knob *knob_named(const char *name)
{
    for (size_t i = 0; i < NKNOBS; i++)
        if (strcmp(knobs[i].name, name) == 0)
            return &knobs[i];
    return NULL;
}

/* Where knob k lives in c. */
static void *knob_field(struct config *c, const struct knob *k)
{
    return (k->map_opt >= 0 ? (char *)&c->defaults : (char *)c) + k->offset;
}

static int set_string(char **field, const char *value)
{
    char *copy = *value ? strdup(value) : NULL;
    if (*value && !copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* Parses value as knob k into *field; 0, or -1 with *field untouched. */
static int knob_parse(const struct knob *k, void *field, const char *value)
{
    uint64_t v = 0;
    bool b;
    switch (k->kind) {
    case KIND_COUNT:
        if (parse_uint(value, &v) < 0 || v < k->min || v > k->max)
            return -1;
        *(unsigned *)field = (unsigned)v;
        return 0;
    case KIND_SIZE:
    case KIND_POW2:
        /* A POW2 is a power of two, so that chunk arithmetic is shifts. */
        if (parse_size(value, &v) < 0 || v < k->min || v > k->max ||
            (k->kind == KIND_POW2 && (v & (v - 1)) != 0))
            return -1;
        *(uint64_t *)field = v;
        return 0;
    case KIND_INTERVAL:
        if (parse_bool(value, &b) == 0 && !b) {
            *(uint64_t *)field = 0;
            return 0;
        }
        __attribute__((fallthrough)); /* otherwise a duration */
    case KIND_MS:
        if (parse_duration_ms(value, &v) < 0 || v < k->min || v > k->max)
            return -1;
        *(uint64_t *)field = v;
        return 0;
    case KIND_BOOL:
        if (parse_bool(value, &b) < 0)
            return -1;
        *(bool *)field = b;
        return 0;
    case KIND_LEVEL:
        for (int i = 0; i < 4; i++)
            if (strcasecmp(value, level_names[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        return -1;
    case KIND_PATH:
    case KIND_STRING:
    case KIND_COMMAND:
        return set_string(field, value);
    case KIND_AUTO:
        if (strcasecmp(value, "auto") == 0) {
            *(int *)field = -1;
            return 0;
        }
        if (parse_bool(value, &b) < 0)
            return -1;
        *(int *)field = b;
        return 0;
    case KIND_HEADERS:
        return add_header_line(field, value, k->max);
    case KIND_STATS:
        if (parse_bool(value, &b) == 0)
            return set_string(field, b ? "-" : "");
        return set_string(field, value);
    }
    return -1;
}

/* The value of knob k at field as the config file would spell it, into buf. */
static void knob_format(const struct knob *k, const void *field, char *buf, size_t cap)
{
    static const char units[] = "KMGT";
    uint64_t v;
    const char *str;
    switch (k->kind) {
    case KIND_COUNT:
        snprintf(buf, cap, "%u", *(const unsigned *)field);
        return;
    case KIND_SIZE:
    case KIND_POW2:
        v = *(const uint64_t *)field;
        int u = 0;
        while (u < 4 && v >= 1024 && v % 1024 == 0) {
            v /= 1024;
            u++;
        }
        snprintf(buf, cap, u ? "%llu%c" : "%llu", (unsigned long long)v, units[u - (u > 0)]);
        return;
    case KIND_MS:
    case KIND_INTERVAL:
        v = *(const uint64_t *)field;
        if (v == 0)
            snprintf(buf, cap, "off");
        else
            snprintf(buf, cap, v % 1000 ? "%llums" : "%llus",
                     (unsigned long long)(v % 1000 ? v : v / 1000));
        return;
    case KIND_BOOL:
        snprintf(buf, cap, "%d", *(const bool *)field);
        return;
    case KIND_LEVEL:
        snprintf(buf, cap, "%s", level_names[*(const int *)field & 3]);
        return;
    case KIND_AUTO:
        snprintf(buf, cap, *(const int *)field < 0 ? "auto" : "%d", *(const int *)field);
        return;
    case KIND_COMMAND: /* whether there is one, never what: it may hold a token */
        snprintf(buf, cap, "%s", *(char *const *)field ? "set" : "");
        return;
    case KIND_HEADERS: /* how many, never what: a header may be a token */
        str = *(char *const *)field;
        v = 0;
        for (const char *p = str; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
            v++;
        if (v)
            snprintf(buf, cap, "%llu", (unsigned long long)v);
        else if (cap)
            buf[0] = '\0';
        return;
    case KIND_PATH:
    case KIND_STRING:
    case KIND_STATS:
        str = *(char *const *)field;
        if (k->kind == KIND_STATS)
            str = !str ? "off" : strcmp(str, "-") == 0 ? "1" : str;
        snprintf(buf, cap, "%s", str ? str : "");
        return;
    }
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKNOBS; i++)
        knob_parse(&knobs[i], knob_field(c, &knobs[i]), knobs[i].dflt);
}

size_t config_describe(const struct config *c, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < NKNOBS && len + 1 < cap; i++) {
        char value[256];
        knob_format(&knobs[i], knob_field((struct config *)c, &knobs[i]), value, sizeof value);
        int n = snprintf(buf + len, cap - len, "%s%s=%s", i ? " " : "", knobs[i].name, value);
        len = n < 0 ? len : len + (size_t)n < cap ? len + (size_t)n : cap - 1;
    }
    return len;
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
    if (strncasecmp(url, "s3://", 5) == 0)
        return url_s3_problem(url);
    if (strncasecmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strstr(url, "://"))
        return "unsupported URL scheme (only http://, https:// and s3://)";
    else
        return "URL has no scheme (expected http://, https:// or s3://)";
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
        return "URL has no host";
    if (strchr(url, '#'))
        return "URL has a fragment ('#')";
    if (!url_authority_parses(url))
        return "URL's host or port is malformed (a '/', '?', '#' or '@' in a password must be "
               "percent-encoded)";
    return NULL;
}

/* The strings up to NULL, concatenated, malloc'd: an entry as written, whole (one cut to
 * fit a buffer could end inside a URL's userinfo, which would then show as a host). */
static char *joined(const char *first, ...)
{
    va_list ap;
    size_t len = 0;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        len += strlen(p);
    va_end(ap);
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    s[0] = '\0';
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        strcat(s, p);
    va_end(ap);
    return s;
}

/* One line for an entry the parser refused, quoting it in display form. */
static void reject_entry(const char *source, const char *why, const char *entry)
{
    char shown[512];
    url_display_text(entry, true, shown, sizeof shown);
    log_error("%s: %s in entry '%s'; mapping disabled", source, why, shown);
}

/* s when it is a name worth quoting (a knob or option name), else NULL. */
static const char *quotable_name(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    return n > 0 && n <= 32 && s[n] == '\0' ? s : NULL;
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
    bool prefix = *virt && virt[strlen(virt) - 1] == '/';
    if (!why && url_is_s3(url) && !prefix && !strchr(url + 5, '/'))
        why = "an s3:// file mapping needs a key (s3://BUCKET/KEY)";
    if (!why && (opt_set & 1u << MAP_OPT_endpoint) && opt->endpoint &&
        (url_problem(opt->endpoint) || url_is_s3(opt->endpoint)))
        why = "endpoint= is not an http or https URL";
    if (why) {
        reject_entry(source, why, entry);
        return -1;
    }
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
            reject_entry(source, "a prefix mapping's URL cannot carry a query string", entry);
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

/* The next blank-separated word of *s, or NULL; a word may hold a double-quoted part
 * (key="a b"), whose quotes are dropped.  NULL with *bad set for an unclosed quote. */
static char *next_word(char **s, bool *bad)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return NULL;
    char *word = p, *out = p;
    bool quoted = false;
    for (; *p && (quoted || (*p != ' ' && *p != '\t')); p++) {
        if (*p == '"')
            quoted = !quoted;
        else
            *out++ = *p;
    }
    if (quoted) {
        *bad = true;
        return NULL;
    }
    if (*p)
        p++;
    *out = '\0';
    *s = p;
    return word;
}

static int set_map_option(struct map_options *o, unsigned *set, const char *key,
                          const char *value);

/* The options after a mapping's URL into opt; 0, or -1 with one line logged. */
static int parse_map_options(char *s, struct map_options *opt, unsigned *set, const char *where)
{
    bool bad = false;
    for (char *kv; (kv = next_word(&s, &bad)) != NULL;) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            log_error("%s: a mapping option (not shown) is not key=value; mapping disabled",
                      where);
            return -1;
        }
        *eq = '\0';
        if (set_map_option(opt, set, kv, eq + 1) < 0) {
            const struct knob *k = knob_named(kv);
            if (k && k->map_opt >= 0)
                log_error("%s: invalid value for mapping option '%s'; mapping disabled", where, kv);
            else if (quotable_name(kv))
                log_error("%s: unknown mapping option '%s'; mapping disabled", where, kv);
            else
                log_error("%s: unknown mapping option (not shown); mapping disabled", where);
            return -1;
        }
    }
    if (bad) {
        log_error("%s: a mapping option has an unclosed '\"'; mapping disabled", where);
        return -1;
    }
    return 0;
}

static void free_map_options(struct map_options *o)
{
#define FREE_STRING_OPTION(name, field, kind, min, max, dflt) FREE_IF_##kind(o->field)
#define FREE_IF_COUNT(f)
#define FREE_IF_SIZE(f)
#define FREE_IF_MS(f)
#define FREE_IF_BOOL(f)
#define FREE_IF_AUTO(f)
#define FREE_IF_STRING(f) free(f);
#define FREE_IF_COMMAND(f) if (f) { explicit_bzero(f, strlen(f)); free(f); }
#define FREE_IF_INTERVAL(f)
#define FREE_IF_HEADERS(f) if (f) { explicit_bzero(f, strlen(f)); free(f); }
    MAP_OPTIONS(FREE_STRING_OPTION)
#undef FREE_STRING_OPTION
    memset(o, 0, sizeof *o);
}

/* Whether s (after blanks) starts with NAME= of a mapping option. */
static bool starts_with_option(const char *s)
{
    s += strspn(s, " \t");
    size_t n = strcspn(s, "= \t");
    for (size_t i = 0; i < NKNOBS; i++)
        if (knobs[i].map_opt >= 0 && strlen(knobs[i].name) == n &&
            strncmp(knobs[i].name, s, n) == 0 && s[n] == '=')
            return true;
    return false;
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
            reject_entry(source, "no '=' (expected VIRTUAL=URL)", entry);
            rejected++;
            continue;
        }
        *eq = '\0';
        char *virt = trim(entry), *url = trim(eq + 1);
        /* Options follow the URL after a blank; a blank before anything else is the
         * URL's own (and refused as such, with the entry shown). */
        char *opts = url + strcspn(url, " \t");
        if (*opts && starts_with_option(opts))
            *opts++ = '\0';
        else
            opts = (char *)"";
        char *entry_text = joined(virt, "=", url, (char *)NULL);
        struct map_options opt = { 0 };
        unsigned set = 0;
        if (!entry_text || parse_map_options(opts, &opt, &set, source) < 0 ||
            add_mapping(c, virt, url, &opt, set, source, entry_text) < 0) {
            free_map_options(&opt);
            rejected++;
        }
        free(entry_text);
    }
    free(copy);
    return rejected;
}

static int set_map_option(struct map_options *o, unsigned *set, const char *key,
                          const char *value)
{
    const struct knob *k = knob_named(key);
    if (!k || k->map_opt < 0 || knob_parse(k, (char *)o + k->offset, value) < 0)
        return -1;
    *set |= 1u << k->map_opt;
    return 0;
}

struct map_options config_mapping_options(const struct config *c, const struct mapping *m)
{
    struct map_options o = c->defaults;
#define TAKE_OPTION(name, field, kind, min, max, dflt)                                       \
    if (m->opt_set & (1u << MAP_OPT_##name))                                                 \
        o.field = m->opt.field;
    MAP_OPTIONS(TAKE_OPTION)
#undef TAKE_OPTION
    return o;
}

int config_set(struct config *c, const char *key, const char *value, const char *source)
{
    const struct knob *k = knob_named(key);
    if (!k) {
        if (!source)
            return -1;
        if (quotable_name(key))
            log_error("%s: unknown option '%s'; ignored", source, key);
        else
            log_error("%s: expected 'name = value' or 'map VIRTUAL URL' (line not shown: no "
                      "name before '='); ignored", source);
        return -1;
    }
    if (knob_parse(k, knob_field(c, k), value) < 0) {
        if (source) /* the value is not shown: it may be a secret in the wrong place */
            log_error("%s: invalid value for %s; default kept", source, key);
        return -1;
    }
    return 0;
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
    if (parse_map_options(save ? save : (char *)"", &opt, &set, where) < 0) {
        free_map_options(&opt);
        return -1;
    }
    char *entry = joined("map ", virt, " ", url, (char *)NULL);
    int rc = entry ? add_mapping(c, virt, url, &opt, set, where, entry) : -1;
    if (rc < 0)
        free_map_options(&opt);
    free(entry);
    return rc;
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
            char shown[512];
            url_display_text(file, true, shown, sizeof shown);
            log_error("REMOTEIO_CONFIG: cannot read %s: %s", shown, strerror(errno));
        }
    }
    for (size_t i = 0; i < NKNOBS; i++) {
        char name[64] = "REMOTEIO_";
        size_t n = strlen(name);
        for (const char *k = knobs[i].name; *k && n < sizeof name - 1; k++)
            name[n++] = (char)toupper((unsigned char)*k);
        name[n] = '\0';
        const char *v = getenv(name);
        if (v)
            config_set(&config, knobs[i].name, v, name);
    }
    const char *map = getenv("REMOTEIO_MAP");
    if (map)
        config_parse_map(&config, map, "REMOTEIO_MAP");
    log_init(config.log_level, config.log_file);
    if (log_threshold >= LOG_DEBUG) {
        char line[2048];
        config_describe(&config, line, sizeof line);
        log_debug("config %s; %zu mapping%s", line, config.nmaps, config.nmaps == 1 ? "" : "s");
    }
}

void config_free(struct config *c)
{
    for (size_t i = 0; i < c->nmaps; i++) {
        free(c->maps[i].virt);
        free(c->maps[i].url);
        free_map_options(&c->maps[i].opt);
    }
    free(c->maps);
    free_map_options(&c->defaults);
    for (size_t i = 0; i < NKNOBS; i++)
        if (knobs[i].map_opt < 0 &&
            (knobs[i].kind == KIND_PATH || knobs[i].kind == KIND_STATS ||
             knobs[i].kind == KIND_STRING || knobs[i].kind == KIND_COMMAND ||
             knobs[i].kind == KIND_HEADERS))
            free(*(char **)knob_field(c, &knobs[i]));
    memset(c, 0, sizeof *c);
}

char *config_url_of(const struct config *c, const char *arg)
{
    if (strstr(arg, "://"))
        return strdup(arg);
    char norm[4096];
    const char *rest = "";
    if (path_normalise_absolute(arg, norm, sizeof norm) < 0)
        return NULL;
    const struct mapping *m = config_match(c, norm, &rest);
    if (!m)
        return NULL;
    return m->prefix ? url_append_path(m->url, rest) : strdup(m->url);
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
