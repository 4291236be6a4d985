/* aws_creds_process.c: see aws_creds_process.h. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws_creds_json.h"
#include "aws_creds_process.h"
#include "child_env.h"
#include "clock.h"
#include "real.h"

#define OUTPUT_MAX (64u << 10)
#define ARGS_MAX 256

extern char **environ;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int aws_command_split(const char *cmd, char *buf, char **argv, size_t maxargs, char *why,
                      size_t whylen)
{
    size_t argc = 0;
    char *o = buf;
    const char *p = cmd;
    for (;;) {
        while (*p && is_space(*p))
            p++;
        if (!*p)
            break;
        if (argc + 1 >= maxargs) {
            snprintf(why, whylen, "more than %zu words", maxargs - 1);
            return -1;
        }
        argv[argc++] = o;
        while (*p && !is_space(*p)) {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');
                if (!q) {
                    snprintf(why, whylen, "no closing quotation");
                    return -1;
                }
                memcpy(o, p + 1, (size_t)(q - p - 1));
                o += q - p - 1;
                p = q + 1;
            } else if (*p == '"') {
                for (p++; *p != '"'; p++) {
                    if (!*p) {
                        snprintf(why, whylen, "no closing quotation");
                        return -1;
                    }
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    *o++ = *p;
                }
                p++;
            } else if (*p == '\\') {
                if (!p[1]) {
                    snprintf(why, whylen, "no escaped character after the last '\\'");
                    return -1;
                }
                *o++ = p[1];
                p += 2;
            } else {
                *o++ = *p++;
            }
        }
        *o++ = '\0';
    }
    argv[argc] = NULL;
    if (argc == 0) {
        snprintf(why, whylen, "an empty command");
        return -1;
    }
    return (int)argc;
}

static int spawn(char **argv, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char *preload;
    char **env = child_environment(&preload);
    if (!env)
        return ENOMEM;
    posix_spawn_file_actions_init(&fa);
    child_spawnattr(&attr);
    REAL(posix_spawn_file_actions_adddup2)(&fa, out_fd, 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    int err = REAL(posix_spawnp)(pid, argv[0], &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(preload);
    free(env);
    return err;
}

/* Reads the child's output until end of file, the child's exit, or deadline: the
 * number of bytes, or -1 (too much output, or the deadline passed). */
static long read_output(int fd, pid_t pid, uint64_t deadline, char *buf, size_t cap, int *st,
                        int *reaped, const char **failure)
{
    size_t n = 0;
    *reaped = -2; /* not yet */
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            *failure = "timed out";
            return -1;
        }
        uint64_t slice = *reaped != -2 ? 0 : deadline - now < 100 ? deadline - now : 100;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int rc = poll(&pfd, 1, (int)slice);
        if (rc < 0 && errno != EINTR) {
            *failure = "cannot read its output";
            return -1;
        }
        if (rc > 0) {
            if (n == cap) {
                *failure = "printed too much";
                return -1;
            }
            ssize_t r = REAL(read)(fd, buf + n, cap - n);
            if (r > 0) {
                n += (size_t)r;
                continue;
            }
            if (r == 0)
                return (long)n;
            if (errno != EINTR && errno != EAGAIN) {
                *failure = "cannot read its output";
                return -1;
            }
            continue;
        }
        if (rc == 0 && *reaped != -2)
            return (long)n; /* exited, and what it wrote is read */
        /* Quiet: has it exited (and another process holds the pipe open)?  Then what is
         * left in the pipe is read without waiting. */
        if (rc == 0) {
            pid_t r = waitpid(pid, st, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD))
                *reaped = r == pid ? 1 : 0;
        }
    }
}

int aws_credential_process(const char *cmd, uint64_t timeout_ms, struct aws_credentials *out,
                           char *why, size_t whylen)
{
    size_t cmdlen = strlen(cmd);
    char *words = malloc(cmdlen + 1);
    char **argv = malloc(ARGS_MAX * sizeof *argv);
    char *buf = malloc(OUTPUT_MAX);
    int fds[2] = { -1, -1 };
    int rc = -EIO;
    char split_why[80];
    if (!words || !argv || !buf) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    if (aws_command_split(cmd, words, argv, ARGS_MAX, split_why, sizeof split_why) < 0) {
        snprintf(why, whylen, "cannot split the command: %s", split_why);
        goto done;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "cannot make a pipe: %s", strerror(errno));
        goto done;
    }
    pid_t pid;
    int err = spawn(argv, fds[1], &pid);
    REAL(close)(fds[1]);
    fds[1] = -1;
    if (err) {
        snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(err));
        goto done;
    }
    uint64_t deadline = now_ms() + timeout_ms;
    int st = 0, reaped;
    const char *failure = NULL;
    long n = read_output(fds[0], pid, deadline, buf, OUTPUT_MAX, &st, &reaped, &failure);
    if (n < 0) {
        kill(pid, SIGKILL);
        child_reap(pid, now_ms(), &st);
        snprintf(why, whylen, "%s %s%s", argv[0], failure,
                 strcmp(failure, "timed out") == 0 ? " (killed)" : "");
        explicit_bzero(buf, OUTPUT_MAX);
        goto done;
    }
    if (reaped == -2)
        reaped = child_reap(pid, deadline, &st);
    if (reaped < 0) {
        snprintf(why, whylen, "%s did not exit before the deadline (killed)", argv[0]);
    } else if (reaped == 1 && WIFSIGNALED(st)) {
        snprintf(why, whylen, "%s was killed by signal %d", argv[0], WTERMSIG(st));
    } else if (reaped == 1 && WEXITSTATUS(st) != 0) {
        snprintf(why, whylen, "%s exited with status %d", argv[0], WEXITSTATUS(st));
    } else {
        char jwhy[96];
        if (aws_json_credentials(buf, (size_t)n, AWS_JSON_PROCESS, out, jwhy, sizeof jwhy) < 0)
            snprintf(why, whylen, "%s printed no credentials: %s", argv[0], jwhy);
        else
            rc = 0;
    }
    explicit_bzero(buf, (size_t)n);
done:
    if (fds[0] >= 0)
        REAL(close)(fds[0]);
    free(buf);
    if (words)
        explicit_bzero(words, cmdlen + 1);
    free(words);
    free(argv);
    return rc;
}
