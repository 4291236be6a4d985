/* readahead.c: the readahead policy (see readahead.h).
 *
 * Each object keeps RA_STREAMS (8) streams in an LRU.  A read continues a stream when it
 * starts near where the stream expects its next read:
 *
 *        next - 1 MiB          next           next + max(2*len, 256 KiB)
 *     ------[======================|================]------>  offset
 *
 * (the slack lets a program's I/O threads finish sequential reads slightly out of order).
 * A read that continues no stream replaces the least recently used one as a candidate
 * with no window: random reads never cause readahead.
 *
 * On the second read of a stream its window opens at 4 x the read size (at least
 * 256 KiB); it doubles each time readahead is issued, up to REMOTEIO_READAHEAD (default
 * 64 MiB).  Readahead is issued when less than half a window lies prefetched ahead of
 * the reader:
 *
 *     consumed    next              ra_end            next + window
 *     ====|=========|.................|......................|
 *                   |<- < window/2 -->|<-- issued now ------>|
 *
 * so the reader always has between half and one window in flight or cached ahead of it,
 * and never more: when it stops reading, readahead stops; when it seeks away, the
 * stream's window is gone with it.  An issued range is split into parts of window/8,
 * between 1 MiB and 8 MiB, fetched in parallel on separate connections, so one stream
 * can use several connections (what beats a single download when each connection is
 * throttled), and each request stays large.
 */
#include <stddef.h>

#include "readahead.h"

#define BACK_SLACK (1 << 20)
#define FWD_SLACK_MIN (256 << 10)
#define WINDOW_MIN (256 << 10)
#define PART_MIN (1 << 20)
#define PART_MAX (8 << 20)

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

void ra_on_read(struct ra_state *ra, int64_t offset, int64_t len, int64_t size,
                int64_t max_window, int64_t chunk, struct ra_decision *out)
{
    out->len = 0;
    ra->tick++;
    struct ra_stream *s = NULL, *oldest = &ra->s[0];
    for (int i = 0; i < RA_STREAMS; i++) {
        struct ra_stream *c = &ra->s[i];
        if (c->last_use && offset >= c->next - BACK_SLACK &&
            offset <= c->next + max64(2 * len, FWD_SLACK_MIN)) {
            s = c;
            break;
        }
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
    if (max_window <= 0)
        return;
    if (s->window == 0)
        s->window = min64(max64(4 * len, WINDOW_MIN), max_window);
    s->ra_end = max64(s->ra_end, s->next);
    if (s->ra_end - s->next >= s->window / 2 || s->ra_end >= size)
        return;
    int64_t end = min64(s->next + s->window, size);
    out->offset = s->ra_end;
    out->len = end - s->ra_end;
    out->part = min64(max64(s->window / 8, PART_MIN), PART_MAX);
    if (out->part < chunk)
        out->part = chunk;
    s->ra_end = end;
    s->window = min64(s->window * 2, max_window);
}
