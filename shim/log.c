/* log.c: see log.h.  Writes go through raw syscalls so that logging from inside a hook
 * never re-enters the hooks.  Every URL in a line is written in display form (url.h),
 * whatever the caller passed. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "url.h"

int log_threshold = LOG_WARN;
static int log_fd = 2;

void log_init(int level, const char *file)
{
    log_threshold = level;
    if (file && *file) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, file,
                              O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            log_fd = fd;
        } else {
            log_msg(LOG_WARN, "REMOTEIO_LOG_FILE: cannot open %s: %s; logging to stderr",
                    file, strerror(errno));
        }
    }
}

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    char line[1024];
    int saved = errno;
    int n = snprintf(line, sizeof line, "remoteio: %s%s", level == LOG_ERROR ? "" : names[level],
                     level == LOG_ERROR ? "" : ": ");
    if (n < 0)
        n = 0;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2) {
        /* Cut at a blank, so that no URL is cut before its '@' and taken for a host;
         * room is left for the "..." and the newline. */
        len = sizeof line - 5;
        while (len > (size_t)n && line[len - 1] != ' ')
            len--;
        memcpy(line + len, "...", 3);
        len += 3;
    }
    line[len] = '\0';
    char shown[sizeof line];
    if (strstr(line, "://")) { /* the last guard: any URL shows in display form */
        url_display_text(line, false, shown, sizeof shown - 1);
        len = strlen(shown);
        memcpy(line, shown, len);
    }
    line[len++] = '\n';
    ssize_t rc = syscall(SYS_write, log_fd, line, len);
    (void)rc;
    errno = saved;
}

int log_file_descriptor(void)
{
    return log_fd;
}

int log_set_descriptor(int fd)
{
    log_fd = fd;
    return fd;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if ((int)level > log_threshold)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

/* A handful of recent keys with the time they were last printed. */
#define LIMIT_SLOTS 32
#define LIMIT_SECONDS 5
static struct {
    unsigned long hash;
    time_t last;
    unsigned suppressed;
} recent[LIMIT_SLOTS];
static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER; /* guards recent[] */

void log_limited(enum log_level level, const char *key, const char *fmt, ...)
{
    if ((int)level > log_threshold)
        return;
    unsigned long h = 5381;
    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned suppressed = 0;
    bool print = true;
    pthread_mutex_lock(&recent_lock);
    unsigned slot = (unsigned)(h % LIMIT_SLOTS);
    if (recent[slot].hash == h && now.tv_sec - recent[slot].last < LIMIT_SECONDS) {
        recent[slot].suppressed++;
        print = false;
    } else {
        suppressed = recent[slot].hash == h ? recent[slot].suppressed : 0;
        recent[slot].hash = h;
        recent[slot].last = now.tv_sec;
        recent[slot].suppressed = 0;
    }
    pthread_mutex_unlock(&recent_lock);
    if (!print)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
    if (suppressed)
        log_msg(level, "(%u similar messages suppressed)", suppressed);
}

void log_atfork_prepare(void)
{
    pthread_mutex_lock(&recent_lock);
}

void log_atfork_parent(void)
{
    pthread_mutex_unlock(&recent_lock);
}

void log_atfork_child(void)
{
    pthread_mutex_unlock(&recent_lock);
}
