/* log.h: the shim's messages.  Every line starts with "remoteio:", goes to stderr or to
 * REMOTEIO_LOG_FILE, and is written with one write(2) so lines from threads and processes
 * do not interleave.  Debug output costs one integer compare when it is off.
 *
 * Errors: none; a line that cannot be written is dropped. */
#ifndef REMOTEIO_LOG_H
#define REMOTEIO_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_threshold;

/* Open REMOTEIO_LOG_FILE (or keep stderr) and set the threshold. */
void log_init(int level, const char *file);
/* The descriptor written to (2 or the log file), so start-up can protect it. */
int log_file_descriptor(void);
int log_set_descriptor(int fd); /* returns fd */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like log_msg, but a message with the same key is printed at most once every few seconds;
 * the next one says how many were suppressed. */
void log_limited(enum log_level level, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The rate limiter's lock across fork. */
void log_atfork_prepare(void);
void log_atfork_parent(void);
void log_atfork_child(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)                                                                  \
    do {                                                                               \
        if (log_threshold >= LOG_INFO)                                                 \
            log_msg(LOG_INFO, __VA_ARGS__);                                            \
    } while (0)
#define log_debug(...)                                                                 \
    do {                                                                               \
        if (__builtin_expect(log_threshold >= LOG_DEBUG, 0))                           \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
    } while (0)

#endif
