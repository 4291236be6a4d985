/* aws-creds-stubs.h: what the shim's start-up (init.c) and open files (vfile.c) provide
 * to the AWS credential chain's objects, for the programs that link them without the
 * rest of the shim (unit-aws-creds, aws-creds-probe).  Include it in one file. */
#ifndef REMOTEIO_TESTS_AWS_CREDS_STUBS_H
#define REMOTEIO_TESTS_AWS_CREDS_STUBS_H

#include <spawn.h>
#include <stdbool.h>
#include <unistd.h>

#include "real.h"

/* No hooks here: libc's own functions are the real ones (real_resolve refuses a symbol
 * that is the program's own definition, which libc's are in a program that links them). */
__attribute__((constructor)) static void stub_real_table(void)
{
    real.read = read;
    real.close = close;
    real.posix_spawnp = posix_spawnp;
    real.posix_spawn_file_actions_adddup2 = posix_spawn_file_actions_adddup2;
}

__thread int shim_depth __attribute__((tls_model("initial-exec")));
__thread int shim_cancel_state __attribute__((tls_model("initial-exec")));

static bool stub_exiting;
bool shim_exiting(void)
{
    return __atomic_load_n(&stub_exiting, __ATOMIC_RELAXED);
}
void shim_set_exiting(void)
{
    __atomic_store_n(&stub_exiting, true, __ATOMIC_RELAXED);
}

struct vfile;
void vfile_ref(struct vfile *v); /* fdtable.o's one reference to vfile.o: never called here */
void vfile_ref(struct vfile *v)
{
    (void)v;
}

#endif
