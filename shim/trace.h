/* trace.h: learned prefetch.  For each object version the shim records which chunks the
 * program reads in its first TRACE_WINDOW_MS after the open, in order, and keeps that
 * trace in a file (trace_file.h's format) keyed by the object's display URL.  The next
 * open of the object, in any process, replays it: the recorded chunks are fetched ahead
 * of the program through the readahead workers (trace_replay.h says which and when), so
 * that a boot which reads one chunk after another finds most of them in the cache.
 * Every replayed byte goes through the cache's normal fetch of the version opened (the
 * same checks as a read's), so a trace is only ever a hint.
 *
 * Where: REMOTEIO_TRACE_DIR, else REMOTEIO_CACHE_DIR.traces (beside the disk cache's
 * directory, whose hard limit it would otherwise eat into) when the disk tier is on; with
 * neither there is no trace.  A directory we do not own, or that others can write, is
 * refused with one log line.  REMOTEIO_TRACE: off, record (never replay), replay
 * (never write), auto (the default: replay when there is a trace, and record the run
 * to refine it).
 *
 * Recording: the first TRACE_WINDOW_MS after the object's first open (a stat() that
 * makes an object starts nothing), at most TRACES_MAX objects of a process at once, at most
 * TRACE_MAX_CHUNKS distinct chunks, as runs of consecutive chunks, each with the time of
 * its first read.  Written (a temporary file renamed over the old one) by the trace
 * thread once the window ends, when the object is freed, or at exit (trace_exit); never
 * by a forked or vfork'd child, whose reads are the parent's story.
 * Refinement: the new trace is this run's reads, in this run's order and times, followed
 * by the chunks of the trace the run started from that it did not read and whose recorded
 * time it did not reach (a run that ended early keeps the old tail, also what was
 * replayed ahead of it: qemu-img info leaves a boot's trace whole), less those replayed
 * when the reads diverged; a run that read fewer than 4 chunks of its trace, and did not
 * diverge, leaves the trace as it was.  So a chunk replayed and never read drops out, as does one the
 * program stopped reading.
 *
 * Locking: each trace has its own mutex for its recording and replay state, and a
 * global one (trace.c's trace_lock) guards the list of traces and the thread; a read of
 * chunks already read takes neither (an atomic bitmap).  They are held for memory work
 * only (file I/O, submitting and reference drops happen outside them, except
 * prefetch_submit, which only queues).  Lock order: an object's locks, then trace_lock,
 * then a trace's, then the prefetch queue's.
 *
 * Errors: none reach the program.  A trace that cannot be read, is corrupt, foreign or
 * oversized costs one log line and is not followed; one that cannot be written costs
 * one log line. */
#ifndef REMOTEIO_TRACE_H
#define REMOTEIO_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "prefetch.h"
#include "stats.h"

#define TRACE_WINDOW_MS 60000

struct trace;

/* What the object hands its trace: the readahead job that fetches a range into the cache
 * (ops->ref/unref hold the object), and where the counters go. */
struct trace_owner {
    const struct prefetch_ops *ops;
    void *arg;
    struct object_stats *stats;
    /* The trace stored at the origin (trace_origin.h), asked for when there is none here
     * and REMOTEIO_TRACE_ORIGIN is on: 0 and a malloc'd *buf, or a negative errno. */
    int (*fetch_origin)(void *arg, void **buf, size_t *len);
    /* How many bytes from offset on the disk cache holds already (0 without one). */
    int64_t (*held)(void *arg, int64_t offset, int64_t len);
};

/* The trace of one object version, made at its first open: NULL when tracing is off, has
 * nowhere to live, or TRACES_MAX objects are traced already.  path names it in messages; url is the URL as mapped (only its
 * display form is used). */
struct trace *trace_open(const char *path, const char *url, const char *etag,
                         const char *last_modified, int64_t size, const struct trace_owner *o);
/* The program read [offset, offset+len).  One atomic load once the trace is idle. */
void trace_read(struct trace *t, int64_t offset, int64_t len);
/* The object is being freed (nobody holds it): its counters are final, its recording is
 * handed to the trace thread to write. */
void trace_close(struct trace *t);

/* At exit, in the process that owns the shim's state: count the waste and write every
 * recording not written yet. */
void trace_exit(void);
void trace_atfork_child(void);

#endif
