/* aws-creds-probe.c: drives the AWS credential chain for tests/t-aws-creds.sh.  It
 * prints where credentials came from and a hash of the key id, never a secret.
 *
 *   aws-creds-probe get [PROFILE]         one get: "source=... key=HASH token=yes|no expires_in=S"
 *   aws-creds-probe loop PROFILE|- SECONDS INTERVAL_MS [THREADS]
 *                                         gets in a loop (in each of THREADS threads);
 *                                         "threads=T gets=N failed=N expired=N keys=K
 *                                         first_ms=F max_ms=M" (keys: the fewest a thread
 *                                         saw; M: the slowest get after a thread's first)
 *   aws-creds-probe invalidate [PROFILE]  get, invalidate, get: two lines
 *   aws-creds-probe fork [PROFILE]        get, then get again in a forked child
 *   aws-creds-probe region [PROFILE]      "region=..."
 * Exit status 0 when every get succeeded. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws-creds-stubs.h"
#include "aws_creds.h"
#include "clock.h"
#include "libcurl.h"
#include "log.h"

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int get_and_print(const char *profile)
{
    struct aws_credentials c;
    int rc = aws_credentials_get(profile, &c);
    if (rc < 0) {
        printf("error=%s\n", strerrorname_np(-rc));
        return 1;
    }
    long long left = c.expires_ms ? (long long)(c.expires_ms - realtime_ms()) / 1000 : -1;
    printf("source=%s key=%08x token=%s expires_in=%lld\n", c.source, fnv1a(c.access_key_id),
           c.session_token[0] ? "yes" : "no", left);
    explicit_bzero(&c, sizeof c);
    return 0;
}

struct looper {
    const char *profile;
    uint64_t end;
    unsigned interval_ms;
    unsigned gets, expired, failed, keys;
    uint64_t first_ms, max_ms;
};

static void *loop_thread(void *arg)
{
    struct looper *l = arg;
    uint32_t last = 0;
    struct aws_credentials c;
    while (now_ms() < l->end) {
        uint64_t t0 = now_ms();
        int rc = aws_credentials_get(l->profile, &c);
        uint64_t took = now_ms() - t0;
        if (l->gets == 0)
            l->first_ms = took;
        else if (took > l->max_ms)
            l->max_ms = took;
        l->gets++;
        if (rc < 0) {
            l->failed++;
        } else {
            if (c.expires_ms && c.expires_ms <= realtime_ms())
                l->expired++;
            uint32_t h = fnv1a(c.access_key_id);
            if (h != last)
                l->keys++;
            last = h;
        }
        explicit_bzero(&c, sizeof c);
        struct timespec ts = { 0, (long)l->interval_ms * 1000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* threads loops at once; the counts are summed, keys and times are the worst thread's. */
static int loop(const char *profile, double seconds, unsigned interval_ms, unsigned threads)
{
    struct looper l[16];
    pthread_t t[16];
    if (threads < 1 || threads > 16)
        return 2;
    uint64_t end = now_ms() + (uint64_t)(seconds * 1000);
    for (unsigned i = 0; i < threads; i++) {
        l[i] = (struct looper){ .profile = profile, .end = end, .interval_ms = interval_ms };
        if (pthread_create(&t[i], NULL, loop_thread, &l[i]) != 0)
            return 2;
    }
    struct looper sum = { .keys = ~0u };
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        sum.gets += l[i].gets;
        sum.failed += l[i].failed;
        sum.expired += l[i].expired;
        sum.keys = l[i].keys < sum.keys ? l[i].keys : sum.keys;
        sum.first_ms = l[i].first_ms > sum.first_ms ? l[i].first_ms : sum.first_ms;
        sum.max_ms = l[i].max_ms > sum.max_ms ? l[i].max_ms : sum.max_ms;
    }
    printf("threads=%u gets=%u failed=%u expired=%u keys=%u first_ms=%llu max_ms=%llu\n", threads,
           sum.gets, sum.failed, sum.expired, sum.keys, (unsigned long long)sum.first_ms,
           (unsigned long long)sum.max_ms);
    return sum.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *lv = getenv("REMOTEIO_LOG");
    log_init(lv && strcmp(lv, "debug") == 0 ? LOG_DEBUG : LOG_WARN, getenv("REMOTEIO_LOG_FILE"));
    if (argc < 2 || libcurl_load() < 0)
        return 2;
    pthread_atfork(aws_credentials_atfork_prepare, aws_credentials_atfork_parent,
                   aws_credentials_atfork_child);
    const char *mode = argv[1];
    const char *profile = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "get") == 0)
        return get_and_print(profile);
    if (strcmp(mode, "loop") == 0 && (argc == 5 || argc == 6))
        return loop(profile, atof(argv[3]), (unsigned)atoi(argv[4]), argc == 6 ? (unsigned)atoi(argv[5]) : 1);
    if (strcmp(mode, "invalidate") == 0) {
        int rc = get_and_print(profile);
        aws_credentials_invalidate(profile);
        return rc | get_and_print(profile);
    }
    if (strcmp(mode, "fork") == 0) {
        int rc = get_and_print(profile);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(get_and_print(profile));
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
            return 1;
        return rc | WEXITSTATUS(st);
    }
    if (strcmp(mode, "region") == 0) {
        char r[64];
        if (aws_region_for_profile(profile, r, sizeof r) < 0) {
            printf("region=none\n");
            return 1;
        }
        printf("region=%s\n", r);
        return 0;
    }
    return 2;
}
