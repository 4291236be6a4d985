/* aws_creds_process.h: credential_process, run as the AWS CLI runs it.
 *
 * The command line is split into words like POSIX shell quoting (Python's shlex.split,
 * which the CLI uses): blanks separate words, '...' is literal, "..." keeps blanks and
 * takes \" and \\ as escapes, a backslash outside quotes escapes the next character; no
 * expansion of any kind ($VAR, ~, globs), no shell.  The program is found on PATH and
 * started with posix_spawnp: stdin /dev/null, stdout a pipe, stderr the program's own
 * (its messages reach the user; it must not print secrets there), no other descriptor
 * (every one from 3 up is closed in the child), the default signal mask and handlers, and
 * the environment without the shim in LD_PRELOAD (so the child does not load the shim and
 * recurse).  Its stdout is read up to 64 KiB with a deadline; past the deadline it is
 * killed.  No state, no locks: callers may run it from any thread. */
#ifndef REMOTEIO_AWS_CREDS_PROCESS_H
#define REMOTEIO_AWS_CREDS_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "aws_creds.h"

#define AWS_PROCESS_TIMEOUT_MS 30000

/* The words of cmd into argv (at most maxargs - 1, then NULL), their text in buf (at
 * least strlen(cmd) + 1 bytes): the number of words, or -1 with why. */
int aws_command_split(const char *cmd, char *buf, char **argv, size_t maxargs, char *why,
                      size_t whylen);

/* Runs cmd and reads its credentials (aws_creds_json.h): 0, or -EIO with why (which
 * names the program, never its arguments or its output). */
int aws_credential_process(const char *cmd, uint64_t timeout_ms, struct aws_credentials *out,
                           char *why, size_t whylen);

#endif
