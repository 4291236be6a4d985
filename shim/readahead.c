/* readahead.c: the readahead policy (see readahead.h).
 *
 * Each object keeps RA_STREAMS (8) streams in an LRU.  A read continues a stream when it
 * starts near where the stream expects its next read:
 *
 *        next - 1 MiB          next           next + max(2*len, 256 KiB)
 *     ------[======================|================]------>  offset
 *            (only once the stream
 *             has a window)
 *
 * (the slack lets a program's I/O threads finish sequential reads slightly out of order).
 * A read that continues no stream replaces the least recently used one as a candidate.
 * A candidate becomes a stream, and gets a window, on its second continuation (the third
 * read in a row): a random read that happens to land just after another one is not a
 * stream, so random reads cause no readahead.
 *
 * A window opens at 4 x the read size (at least 256 KiB) and doubles each time
 * readahead is issued, up to the limit: REMOTEIO_READAHEAD, at most a quarter of the
 * cache, shared by the object's streams that have a window (four streams of a 256 MiB
 * cache get 16 MiB each).  After each read the stream tops up what lies ahead of it:
 *
 *     consumed    next            ra_end               next + window
 *     ====|=========|.................|.......................|
 *                   |<- in flight or  |<-- issued now, in ---->|
 *                   |   cached        |   whole parts          |
 *
 * whenever at least one part fits, so about window/part requests stay in flight
 * continuously instead of in bursts.  Parts are window/16, between 1 MiB (or the whole
 * window while it is smaller) and 4 MiB:
 * large requests, fetched in parallel on separate connections, so one stream uses several
 * connections (what beats a single download when each connection is throttled).  The
 * reader never has more than one window ahead of it: when it stops, readahead stops;
 * when it seeks away, its stream ages out of the LRU.
 */
#include <stddef.h>

#include "readahead.h"

#define BACK_SLACK (1 << 20)
#define FWD_SLACK_MIN (256 << 10)
#define WINDOW_MIN (256 << 10)
#define PART_MIN (1 << 20)
#define PART_MAX (4 << 20)
#define HITS_TO_CONFIRM 2

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static bool continues(const struct ra_stream *s, int64_t offset, int64_t len)
{
    if (!s->last_use)
        return false;
    int64_t back = s->window > 0 ? BACK_SLACK : 0;
    return offset >= s->next - back && offset <= s->next + max64(2 * len, FWD_SLACK_MIN);
}

void ra_on_read(struct ra_state *ra, int64_t offset, int64_t len, int64_t size,
                int64_t max_window, int64_t chunk, struct ra_decision *out)
{
    out->len = 0;
    ra->tick++;
    struct ra_stream *s = NULL, *oldest = &ra->s[0];
    int active = 0;
    for (int i = 0; i < RA_STREAMS; i++) {
        struct ra_stream *c = &ra->s[i];
        if (c->window > 0)
            active++;
        if (!s && continues(c, offset, len))
            s = c;
        if (c->last_use < oldest->last_use)
            oldest = c;
    }
    if (!s) {
        *oldest = (struct ra_stream){ .next = offset + len, .ra_end = offset + len,
                                      .last_use = ra->tick };
        return;
    }
    s->last_use = ra->tick;
    s->hits++;
    s->next = max64(s->next, offset + len);
    s->ra_end = max64(s->ra_end, s->next);
    if (max_window <= 0 || s->hits < HITS_TO_CONFIRM)
        return;
    if (s->window == 0) {
        active++;
        s->window = max64(4 * len, WINDOW_MIN);
    }
    int64_t limit = max64(max_window / active, WINDOW_MIN);
    s->window = min64(s->window, limit);
    int64_t part = min64(max64(s->window / 16, min64(PART_MIN, s->window)), PART_MAX);
    if (part < chunk)
        part = chunk;
    int64_t end = min64(s->next + s->window, size);
    int64_t want = end - s->ra_end;
    if (want <= 0 || (want < part && end < size))
        return; /* less than a part is free: wait for the reader */
    if (end < size)
        want -= want % part;
    out->offset = s->ra_end;
    out->len = want;
    out->part = part;
    s->ra_end += want;
    s->window = min64(s->window * 2, limit);
}
