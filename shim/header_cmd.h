/* header_cmd.h: header lines printed by a mapping's header_command (bearer tokens, SAS
 * tokens), run again before they expire (header_renew), as nbdkit's curl plugin does.
 *
 * The command runs as `/bin/sh -c CMD` without the shim (LD_PRELOAD is left out of its
 * environment), its stdin /dev/null, its stdout read (at most 16 KiB, within the
 * mapping's timeout; then it is killed), its stderr the program's.  Every non-empty
 * line of its output must be a header line that http_request_header_ok accepts.
 * Nothing it prints is ever logged: a failure says only how the command ended.
 *
 * Renewal: lines older than 3/4 of header_renew are stale.  The first request that finds
 * them stale runs the command; requests meanwhile go on with the old lines, and only a
 * request that has no lines at all waits for the run (bounded by its timeout).
 *
 * Locking: one mutex guards the table of commands; no command runs under it.
 * Errors: -EIO (the command failed, timed out or printed what is no header line; one
 * rate-limited line), -ENOMEM, -ETIMEDOUT (another request's run did not end in time). */
#ifndef REMOTEIO_HEADER_CMD_H
#define REMOTEIO_HEADER_CMD_H

#include <stdint.h>

/* The current lines of cmd ('\n'-separated, malloc'd into *out: the caller wipes and
 * frees them).  renew_ms 0: the command runs once per process. */
int header_cmd_lines(const char *cmd, uint64_t renew_ms, uint64_t timeout_ms, char **out);

/* fork: the lock is taken before and released after, in the parent and the child. */
void header_cmd_atfork_prepare(void);
void header_cmd_atfork_parent(void);
void header_cmd_atfork_child(void);

#endif
