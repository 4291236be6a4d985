/* trace_replay.h: the replay policy of a learned-prefetch trace: which recorded chunks to
 * fetch now, and when to stop.  Pure bookkeeping over one trace, no I/O and no clock of
 * its own: the caller (trace.c) says how long ago the object was opened, which chunks the
 * program reads, and submits the ranges it is handed.  Not thread-safe: the caller holds
 * its lock around every call.
 *
 * Policy (numbers in struct replay_params, chosen by trace.c):
 *
 *   recorded order:  run0 run1 run2 ... runK ........ runN
 *                    |-- read --|  ^frontier   ^next
 *                                  |<- ahead ->|   ahead <= lead_chunks
 *   A run is due when its recorded time is within lead_ms of the trace clock, the larger
 *   of the time since open and the recorded time of the furthest run the program has read
 *   (so a program faster than the recording pulls the replay along: only a run the
 *   replay has reached moves that furthest run), and while the
 *   chunks submitted beyond that furthest run stay within lead_chunks.  Each call takes
 *   the due runs (at most 256, and the rest of a burst they start: runs less than
 *   100 ms apart, up to 1 s past the lead), sorts them by chunk, merges the adjacent
 *   ones and hands them out cut into ranges of at most max_range_chunks, as many as the
 *   caller asks for (the rest on its next calls): large requests, many in flight.  A
 *   run the program has already read in full is skipped.
 *   Until the program has read arm_chunks distinct chunks of the trace, the lead is
 *   open_lead_chunks instead: a short-lived program that opens the object and reads its
 *   header (qemu-img info) costs a few chunks, not the whole lead.  Runs longer than
 *   open_lead_chunks are followed as pieces of it (merged again when taken together).
 *   It stops for good when every run was submitted, when budget_chunks were submitted
 *   (the rest is clipped), or when the reads diverge: of the last DIVERGE_WINDOW chunks the
 *   program read for the first time, fewer than a quarter were in the trace.
 *   Counts: replayed (chunks submitted ahead of the program), used (replayed chunks the
 *   program then read), wasted (replayed and not read, so far). */
#ifndef REMOTEIO_TRACE_REPLAY_H
#define REMOTEIO_TRACE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_file.h"

#define DIVERGE_WINDOW 32

struct replay_params {
    uint64_t budget_chunks;    /* at most this many chunks in all */
    uint64_t lead_chunks;      /* submitted beyond the program's furthest read */
    uint64_t open_lead_chunks; /* the same until arm_chunks of the trace were read (0: lead_chunks) */
    uint64_t arm_chunks;
    uint32_t lead_ms;          /* ahead of the trace clock */
    uint32_t max_range_chunks; /* one request's size */
};

struct replay_range {
    uint64_t chunk;
    uint32_t count;
};

struct replay_counts {
    uint64_t replayed, used, wasted;
};

struct replay;

/* A replay of runs[0..n) (copied).  NULL when out of memory. */
struct replay *replay_new(const struct trace_run *runs, uint32_t n,
                          const struct replay_params *p);
void replay_free(struct replay *r);

/* The program read chunk; first: for the first time since the open. */
void replay_on_read(struct replay *r, uint64_t chunk, bool first);
/* Ranges to fetch now (at most max into out), elapsed_ms after the open. */
size_t replay_next(struct replay *r, uint64_t elapsed_ms, struct replay_range *out, size_t max);
/* True once nothing more will be submitted; *why: "done", "budget" or "diverged". */
bool replay_over(const struct replay *r, const char **why);
/* Whether the program has read arm_chunks of the trace (the whole lead is open). */
bool replay_armed(const struct replay *r);
/* Whether chunk was submitted ahead of the program. */
bool replay_fetched(const struct replay *r, uint64_t chunk);
void replay_get_counts(const struct replay *r, struct replay_counts *c);

#endif
