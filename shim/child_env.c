/* child_env.c: how the shim runs a command of its own (credential_process,
 * header_command): the environment (ours, with the shim taken out of LD_PRELOAD, so the
 * child neither interposes nor recurses, while the user's other preloads stay), the spawn
 * attributes (no signal blocked, default dispositions, a process group of its own) and a
 * bounded wait for its exit.  No state, no lock. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_env.h"
#include "clock.h"

/* Is this LD_PRELOAD entry the shim itself? */
static bool is_shim(const char *entry, size_t n, const char *self)
{
    if (self && strlen(self) == n && memcmp(entry, self, n) == 0)
        return true;
    const char *base = entry;
    for (size_t i = 0; i < n; i++)
        if (entry[i] == '/')
            base = entry + i + 1;
    size_t bn = n - (size_t)(base - entry);
    return bn >= 14 && memcmp(base, "libremoteio.so", 14) == 0;
}

char **child_environment(char **preload)
{
    *preload = NULL;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = malloc((n + 1) * sizeof *env);
    if (!env)
        return NULL;
    Dl_info info;
    const char *self = dladdr((void *)child_environment, &info) && info.dli_fname
                           ? info.dli_fname : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (strncmp(e, "LD_PRELOAD=", 11) != 0) {
            env[k++] = environ[i];
            continue;
        }
        const char *v = e + 11;
        char *kept = malloc(strlen(e) + 1);
        if (!kept) {
            free(env);
            return NULL;
        }
        strcpy(kept, "LD_PRELOAD=");
        char *o = kept + 11;
        while (*v) {
            size_t len = strcspn(v, ": ");
            if (len && !is_shim(v, len, self)) {
                if (o > kept + 11)
                    *o++ = ':';
                memcpy(o, v, len);
                o += len;
            }
            v += len;
            v += *v != '\0';
        }
        *o = '\0';
        if (o > kept + 11 && !*preload) {
            *preload = kept;
            env[k++] = kept;
        } else {
            free(kept);
        }
    }
    env[k] = NULL;
    return env;
}

void child_spawnattr(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(attr);
    posix_spawnattr_setsigmask(attr, &none); /* the shim's threads block every signal */
    posix_spawnattr_setsigdefault(attr, &all);
    posix_spawnattr_setpgroup(attr, 0);
    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                       POSIX_SPAWN_SETPGROUP);
}

int child_reap(pid_t pid, uint64_t deadline_ms, int *st)
{
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return 0; /* ECHILD: reaped by the program's SIGCHLD handler, or ignored */
        if (now_ms() >= deadline_ms) {
            kill(-pid, SIGKILL); /* its group: what it started goes too */
            kill(pid, SIGKILL);
            while (waitpid(pid, st, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        struct timespec ts = { 0, 5 * 1000000 };
        nanosleep(&ts, NULL);
    }
}
