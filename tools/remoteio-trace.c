/* remoteio-trace: what `remoteio trace ...` runs: carry a learned-prefetch trace
 * (shim/trace.h) from one host to another.
 *
 *   remoteio-trace [-d DIR] export PATH|URL > FILE   the stored trace of that object
 *   remoteio-trace [-d DIR] import PATH|URL < FILE   install a trace for that object
 * DIR: -d, else trace_dir, else cache_dir.traces from the configuration (REMOTEIO_TRACE_DIR,
 * REMOTEIO_CACHE_DIR, REMOTEIO_CONFIG).  Both check the trace's format and that it was
 * recorded for the object's URL (its key is a hash of the URL's display form), so a
 * corrupt trace, or one for another object, is refused here rather than ignored later.
 * Exit status 0, 1 on a failure, 2 on a usage error.  Single-threaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "trace_file.h"
#include "url.h"

static void usage(void)
{
    fprintf(stderr, "Usage: remoteio trace [-d DIR] export PATH|URL > FILE\n"
                    "       remoteio trace [-d DIR] import PATH|URL < FILE\n");
    exit(2);
}

/* 0 when buf is a valid trace for key, else 1 (the reason printed). */
static int check(const void *buf, size_t len, const uint8_t key[16], const char *what)
{
    struct trace_data d;
    const char *why = NULL;
    if (trace_decode(buf, len, &d, &why) < 0) {
        fprintf(stderr, "remoteio trace: %s: %s\n", what, why);
        return 1;
    }
    int same = memcmp(d.key, key, 16) == 0;
    trace_data_free(&d);
    if (!same) {
        fprintf(stderr, "remoteio trace: %s: it was recorded for another object\n", what);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    config_load();
    char dirbuf[4096];
    const char *dir = NULL;
    if (config.trace_dir && config.trace_dir[0])
        dir = config.trace_dir;
    else if (config.cache_dir && config.cache_dir[0]) {
        size_t n = strlen(config.cache_dir);
        while (n > 1 && config.cache_dir[n - 1] == '/')
            n--;
        snprintf(dirbuf, sizeof dirbuf, "%.*s.traces", (int)n, config.cache_dir);
        dir = dirbuf;
    }
    int opt;
    while ((opt = getopt(argc, argv, "+d:h")) != -1) {
        if (opt == 'd')
            dir = optarg;
        else
            usage();
    }
    if (argc - optind != 2)
        usage();
    const char *cmd = argv[optind], *arg = argv[optind + 1];
    if (strcmp(cmd, "export") != 0 && strcmp(cmd, "import") != 0)
        usage();
    if (!dir) {
        fprintf(stderr, "remoteio trace: no trace directory (REMOTEIO_TRACE_DIR, "
                        "REMOTEIO_CACHE_DIR, or -d DIR)\n");
        return 2;
    }
    char *url = config_url_of(&config, arg);
    if (!url) {
        fprintf(stderr, "remoteio trace: %s: no mapping covers it\n", arg);
        return 2;
    }
    char shown[2048];
    url_display(url, shown, sizeof shown);
    free(url);
    uint8_t key[16];
    trace_key(shown, key);

    if (strcmp(cmd, "export") == 0) {
        void *buf;
        size_t len;
        int rc = trace_file_load(dir, key, &buf, &len);
        if (rc < 0) {
            fprintf(stderr, "remoteio trace: %s: %s\n", shown,
                    rc == -ENOENT ? "no trace recorded" : strerror(-rc));
            return 1;
        }
        rc = check(buf, len, key, shown);
        if (rc == 0 && fwrite(buf, 1, len, stdout) != len) {
            fprintf(stderr, "remoteio trace: writing: %s\n", strerror(errno));
            rc = 1;
        }
        free(buf);
        return rc || fflush(stdout) != 0;
    }

    size_t cap = TRACE_FILE_MAX + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return 1;
    size_t n;
    while (len < cap && (n = fread(buf + len, 1, cap - len, stdin)) > 0)
        len += n;
    if (len == cap) {
        fprintf(stderr, "remoteio trace: standard input: larger than any trace can be\n");
        free(buf);
        return 1;
    }
    int rc = check(buf, len, key, "standard input");
    if (rc == 0) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "remoteio trace: %s: %s\n", dir, strerror(errno));
            rc = 1;
        } else if ((rc = -trace_file_store(dir, key, buf, len)) != 0) {
            fprintf(stderr, "remoteio trace: %s: %s\n", dir, strerror(rc));
            rc = 1;
        }
    }
    free(buf);
    return rc;
}
