/* real.c: fills the table of libc's own functions (see real.h).
 *
 * dlsym(RTLD_NEXT) finds the next definition after this library.  When the shim has been
 * loaded twice (LD_PRELOAD naming it twice, or a wrapper preloading it again), RTLD_NEXT may
 * hand back our own hook; we then ask libc by name instead, so a hook never calls itself.
 * dlsym may allocate; glibc's calloc does not come back here, and a hook that runs while
 * the table is being filled sees a NULL entry and takes its raw-syscall fallback.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "real.h"

struct real_table real;

static _Thread_local bool resolving;
static atomic_bool resolved;

static void *lookup(const char *name, void *ours)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL || p == ours) {
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        p = libc ? dlsym(libc, name) : NULL;
        if (p == ours)
            p = NULL;
    }
    return p;
}

void real_resolve(void)
{
    if (atomic_load_explicit(&resolved, memory_order_acquire) || resolving)
        return;
    resolving = true;
    /* Each entry is stored once, atomically enough for a pointer: a racing thread fills
     * the same value. */
#define REAL_LOOKUP(ret, name, args)                                                   \
    {                                                                                  \
        extern ret name args;                                                          \
        void *p = lookup(#name, (void *)&name);                                        \
        __atomic_store_n((void **)&real.name, p, __ATOMIC_RELEASE);                    \
    }
    REAL_FUNCTIONS(REAL_LOOKUP)
#undef REAL_LOOKUP
    resolving = false;
    atomic_store_explicit(&resolved, true, memory_order_release);
}
