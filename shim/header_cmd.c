/* header_cmd.c: see header_cmd.h.  cmd_lock guards the table (each command's lines, when
 * they were made, whether a run is under way); a run happens outside it, and waiters
 * for a first run sleep on cmd_cond with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_env.h"
#include "clock.h"
#include "header_cmd.h"
#include "http_request.h"
#include "log.h"
#include "real.h"

#define OUTPUT_MAX (16 << 10)
#define COMMANDS_MAX 16

extern char **environ;

static pthread_mutex_t cmd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cmd_cond = PTHREAD_COND_INITIALIZER;

static struct command {
    const char *cmd;     /* the configuration's string (lives as long as the process) */
    char *lines;         /* NULL until a run succeeded */
    uint64_t made_ms;
    uint64_t retry_ms;   /* a renewal failed: the old lines serve until then */
    bool running;
} commands[COMMANDS_MAX];
static size_t ncommands;

/* Reads the child's stdout from fd until EOF, OUTPUT_MAX or the deadline. */
static ssize_t read_output(int fd, char *buf, uint64_t deadline_ms)
{
    size_t have = 0;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline_ms)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t wait = deadline_ms - now;
        int r = poll(&p, 1, (int)(wait > 100 ? 100 : wait));
        if (r < 0 && errno != EINTR)
            return -EIO;
        if (r <= 0)
            continue;
        ssize_t n = syscall(SYS_read, fd, buf + have, OUTPUT_MAX - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -EIO;
        if (n == 0)
            return (ssize_t)have;
        have += (size_t)n;
        if (have == OUTPUT_MAX)
            return -E2BIG;
    }
}

/* The output's header lines, '\n'-separated (CR, blank lines dropped), or NULL. */
static char *header_lines(char *out, size_t len)
{
    char *lines = malloc(len + 1);
    if (!lines)
        return NULL;
    size_t k = 0;
    out[len] = '\0';
    for (char *line = out, *next; line < out + len; line = next) {
        char *nl = memchr(line, '\n', (size_t)(out + len - line));
        next = nl ? nl + 1 : out + len;
        size_t n = (size_t)((nl ? nl : out + len) - line);
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        line[n] = '\0';
        if (!http_request_header_ok(line)) {
            explicit_bzero(lines, len + 1);
            free(lines);
            return NULL;
        }
        if (k)
            lines[k++] = '\n';
        memcpy(lines + k, line, n);
        k += n;
    }
    lines[k] = '\0';
    return lines;
}

/* Runs cmd: its header lines into *lines, or a negative errno (one line logged). */
static int run(const char *cmd, uint64_t timeout_ms, char **lines)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -EIO;
    char *preload;
    char **env = child_environment(&preload);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    child_spawnattr(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    REAL(posix_spawn_file_actions_adddup2)(&fa, fds[1], 1);
    char *argv[] = { "sh", "-c", (char *)cmd, NULL };
    pid_t pid = -1;
    uint64_t deadline_ms = now_ms() + timeout_ms;
    int rc = env ? REAL(posix_spawn)(&pid, "/bin/sh", &fa, &attr, argv, env) : ENOMEM;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(preload);
    free(env);
    syscall(SYS_close, fds[1]);
    char *out = rc == 0 ? malloc(OUTPUT_MAX + 1) : NULL;
    ssize_t n = out ? read_output(fds[0], out, deadline_ms) : -ENOMEM;
    syscall(SYS_close, fds[0]);
    int status = 0;
    /* A command that closed its output and runs on is killed at the deadline too. */
    if (rc == 0 && child_reap(pid, n < 0 ? now_ms() : deadline_ms, &status) < 0 && n >= 0)
        n = -ETIMEDOUT;
    const char *why = rc != 0 ? "could not be started"
                      : n == -ETIMEDOUT ? "did not finish within the mapping's timeout"
                      : n == -E2BIG ? "printed over 16 KiB"
                      : n < 0 ? "could not be read"
                      : WIFEXITED(status) && WEXITSTATUS(status) != 0 ? "exited with an error"
                      : WIFSIGNALED(status) ? "was killed by a signal" : NULL;
    *lines = NULL;
    if (!why && !(*lines = header_lines(out, (size_t)n)))
        why = "printed a line that is no header line (Name: value)";
    if (out) {
        explicit_bzero(out, OUTPUT_MAX + 1);
        free(out);
    }
    if (why) { /* the command is not shown: it may hold a token itself */
        log_limited(LOG_ERROR, "header_command", "a mapping's header_command %s", why);
        return -EIO;
    }
    return 0;
}

static struct command *find_locked(const char *cmd)
{
    for (size_t i = 0; i < ncommands; i++)
        if (commands[i].cmd == cmd || strcmp(commands[i].cmd, cmd) == 0)
            return &commands[i];
    if (ncommands == COMMANDS_MAX)
        return NULL;
    commands[ncommands] = (struct command){ .cmd = cmd };
    return &commands[ncommands++];
}

int header_cmd_lines(const char *cmd, uint64_t renew_ms, uint64_t timeout_ms, char **out)
{
    *out = NULL;
    uint64_t deadline_ms = now_ms() + timeout_ms;
    pthread_mutex_lock(&cmd_lock);
    struct command *c = find_locked(cmd);
    if (!c) {
        pthread_mutex_unlock(&cmd_lock);
        log_limited(LOG_ERROR, "header_command", "more than %d header_commands", COMMANDS_MAX);
        return -EIO;
    }
    for (;;) {
        uint64_t now = now_ms();
        bool stale = !c->lines || (renew_ms && now - c->made_ms >= renew_ms / 4 * 3 &&
                                   now >= c->retry_ms);
        if (!stale || (c->running && c->lines))
            break; /* fresh, or another request renews them: the old ones serve */
        if (!c->running) {
            c->running = true;
            pthread_mutex_unlock(&cmd_lock);
            char *lines;
            int rc = run(cmd, timeout_ms, &lines);
            pthread_mutex_lock(&cmd_lock);
            c->running = false;
            if (rc == 0) {
                if (c->lines) {
                    explicit_bzero(c->lines, strlen(c->lines));
                    free(c->lines);
                }
                c->lines = lines;
                c->made_ms = now_ms();
            } else if (c->lines) { /* not once per request while the command fails */
                uint64_t wait = renew_ms / 8;
                c->retry_ms = now_ms() + (wait < 1000 ? 1000 : wait > 30000 ? 30000 : wait);
            }
            pthread_cond_broadcast(&cmd_cond);
            if (rc < 0 && !c->lines) {
                pthread_mutex_unlock(&cmd_lock);
                return rc;
            }
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t left = deadline_ms > now_ms() ? deadline_ms - now_ms() : 0;
        if (left == 0) {
            pthread_mutex_unlock(&cmd_lock);
            return -ETIMEDOUT;
        }
        ts.tv_sec += (time_t)(left / 1000);
        ts.tv_nsec += (long)(left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&cmd_cond, &cmd_lock, &ts);
    }
    int rc = 0;
    if (c->lines && !(*out = strdup(c->lines)))
        rc = -ENOMEM;
    pthread_mutex_unlock(&cmd_lock);
    return rc;
}

void header_cmd_atfork_prepare(void)
{
    pthread_mutex_lock(&cmd_lock);
}

void header_cmd_atfork_parent(void)
{
    pthread_mutex_unlock(&cmd_lock);
}

void header_cmd_atfork_child(void)
{
    for (size_t i = 0; i < ncommands; i++)
        commands[i].running = false; /* the thread that ran one is not here */
    pthread_mutex_unlock(&cmd_lock);
}
