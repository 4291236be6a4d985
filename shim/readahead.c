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
 * Windows are per stream.  A window opens at 4 x the read size (at least 256 KiB) and
 * doubles each time the reader has consumed a whole window since it last grew, up to
 * REMOTEIO_READAHEAD (64 MiB): what readahead fetches past the end of a stream is
 * never more than the stream has read.  The
 * object's active streams (read in the last second) share a budget of three quarters
 * of the cache (the cache spares unread readahead within that budget, see cache.h):
 * with the default 256 MiB cache one or two streams get 64 MiB each and four get
 * 48 MiB each, so concurrent streams each keep a window of their own, and a quarter of
 * the cache keeps what was read.
 *
 * After each read the stream tops up what lies ahead of it:
 *
 *     consumed    next            ra_end               next + window
 *     ====|=========|.................|.......................|
 *                   |<- in flight or  |<-- issued now, in ---->|
 *                   |   cached        |   whole parts          |
 *
 * whenever at least one part fits, so requests stay in flight continuously instead of
 * in bursts.  Parts are window/R, between 1 MiB (or the whole window while it is
 * smaller) and 8 MiB, where R is the number of requests the stream keeps in flight.
 * A growing window grows the requests, not their number.
 *
 * Requests in flight.  R starts at 8 (like aria2c -x8) and stays there while the stream
 * shares the process with others: another active stream of this or another object, or
 * random reads (a third read in one second that continued no stream: the first two reads
 * of any stream are such reads, its own among them).  Four streams then use 32 of the
 * connections readahead may take and demand reads always find some.  A stream that is
 * alone, from its first read on, probes for more once its window is at its limit:
 *
 *     settle  two windows' worth of reading at 8 (the parts issued while the window
 *             grew, and the first fetches of the process, are behind it)
 *     measure the object's fetch rate (bytes received per second, whoever asked for
 *             them) over half a window's worth of reading and at least 100 ms (20 ms
 *             for a first step that is slower than its base already: it fails then)
 *     probe   R' = 2R; settle one window (every part in flight is then R''s), measure
 *     keep R' when it fetched >= 20% faster than the better of R's last two
 *             measurements, twice in a row for the first step from 8 (once if 50%
 *             faster), once (>= 5%) for a later step: the first step showed the
 *             origin rewards more requests, and each doubling gains less than the
 *             one before;
 *             then probe the next level, up to the cap
 *     else    back to R; no new probe for 4 windows, twice as long after each failure
 *             in a row (up to 64 windows)
 *
 * The rate is what the origin delivered, not what the reader consumed (a reader that
 * drains what readahead stored looks fast for a moment whatever R is), so growth
 * follows what more connections bring: against an origin that is slow per request
 * (latency, or a rate per connection) the stream runs at the cap after some six windows
 * at its limit (about 400 MiB into the object with the default 64 MiB window, 16 from
 * about 250 MiB); against one that is not, or a reader that
 * is itself the bottleneck, the probe to 16 fails and the stream stays at 8, probing
 * again less and less often.  The cap is REMOTEIO_STREAM_REQUESTS (default 32),
 * clipped to the readahead workers (half the pool, at most 32), so a quarter of the
 * pool stays free for demand reads whatever a lone stream does.  When another stream
 * or random reads appear, the stream drops to 8 at its next read: the parts it issues
 * from then on are window/8.  The reader never has more than one window ahead of it:
 * when it stops, readahead stops; when it seeks away, its stream ages out of the LRU.
 *
 * Several streams keep 8 each and do not probe, also when they are the process's only
 * readers (a parallel copy: four streams of one object): four of them use the 32
 * requests readahead's workers have, as many as 32 parallel downloads, in parts of
 * window/8 (6 MiB with four 48 MiB windows).  The measured-gain rule does not carry over
 * to streams sharing one fetch rate: one of four stepping from 8 to 16 adds a quarter
 * to what is in flight, which cannot show the 20% a first step needs, and all four
 * stepping together would decide only after some 800 MiB of reading (two windows of
 * settling, half a measure, a window of probing, each four streams' worth), most of a
 * 1 GiB copy.  Nor would they gain: on the s3 profile each of four streams had 4 to 6
 * of its 8 parts in flight once its window was full (the readers, not the connections,
 * were behind), and 12 each (48 workers) read 0.74x the 32 curls against 0.85x at 8 in
 * the same spell, in 402 requests instead of 294 (tests/bench/readahead.md).
 *
 * Readahead also stops where another stream began ahead of this one, once that stream
 * has read 1 MiB (or this one's window, if smaller).  Programs that split a file among
 * readers (fio jobs, a parallel copy) end each reader's part where the next reader
 * started, and what that reader has read was evicted as used once, so reading past it
 * would fetch it a second time.  The bound does not wait for the reader ahead to have
 * read a whole window: readers of equal parts do not keep equal pace (one of four
 * threads held up at the start of its part for a moment is enough), and the reader
 * behind, reaching the end of its part first, would fetch again up to a window of what
 * the one ahead had just read.  A stream that does read on past that point costs one
 * round trip there and gets its readahead back; a short stream ahead (a guest reading
 * a file under 1 MiB) stops nothing.
 */
#include <stddef.h>

#include "readahead.h"

#define BACK_SLACK (1 << 20)
#define FWD_SLACK_MIN (256 << 10)
#define WINDOW_MIN (256 << 10)
#define RA_REQUESTS 8      /* a stream's requests in flight when it is not alone */
#define PROBE_GAIN_FIRST_PCT 120 /* a probe from 8 is kept when the fetch rate rose this much */
#define PROBE_GAIN_PCT 105       /* ... from a level that was itself a gain */
#define PROBE_SURE_PCT 150       /* a first step this much faster needs no second look */
#define PROBE_MIN_MS 100         /* a measurement lasts at least this long, */
#define PROBE_EARLY_MS 20        /* ... or this long for a first step that is slower already */
#define PROBE_HOLD_WINDOWS 4     /* no new probe for this many windows after one that failed, */
#define PROBE_HOLD_DOUBLINGS 4   /* doubled after each failure in a row, up to 16 times that */
#define PART_MIN (1 << 20)
#define PART_MAX (8 << 20)
#define HITS_TO_CONFIRM 2
#define ACTIVE_MS 1000
#define STOP_READ_MIN (1 << 20) /* a stream ahead that read this much bounds readahead */

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

/* now_ms was read before the object's lock: another reader may have stamped a stream a
 * little later, which counts as now. */
static bool is_active(const struct ra_stream *s, uint64_t now_ms)
{
    return s->window > 0 && (now_ms <= s->last_ms || now_ms - s->last_ms < ACTIVE_MS);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

static void phase_start(struct ra_stream *s, bool measuring, uint64_t fetched, uint64_t now_ms)
{
    s->measuring = measuring;
    s->mark_next = s->next;
    s->mark_fetched = fetched;
    s->mark_ms = now_ms;
}

/* The requests-in-flight probe (see "Requests in flight" above), after each read of a
 * stream whose window is at its limit and that is alone in the process.  fetched: the
 * object's bytes received so far. */
static void adapt_requests(struct ra_stream *s, int cap, uint64_t fetched, uint64_t now_ms)
{
    if (s->mark_ms == 0) {
        phase_start(s, false, fetched, now_ms);
        s->mark_next += s->window; /* the first settle lasts two windows */
        return;
    }
    int64_t read = s->next - s->mark_next;
    uint64_t elapsed = now_ms > s->mark_ms ? now_ms - s->mark_ms : 0;
    if (!s->measuring) { /* settling: the level's parts replace those issued before */
        if (read >= s->window)
            phase_start(s, true, fetched, now_ms);
        return;
    }
    if (read < s->window / 2 || elapsed < PROBE_EARLY_MS)
        return;
    uint64_t got = fetched > s->mark_fetched ? fetched - s->mark_fetched : 0;
    uint64_t rate = got * 1000 / elapsed;
    /* A first step that is slower already may end early; anything else waits for the
     * floor. */
    bool first = s->requests_before > 0 && s->requests_before <= RA_REQUESTS;
    if (elapsed < PROBE_MIN_MS && !(first && rate < s->rate_before))
        return;
    if (s->requests_before) {
        uint64_t gain = s->requests_before <= RA_REQUESTS ? PROBE_GAIN_FIRST_PCT : PROBE_GAIN_PCT;
        if (rate <= s->rate_before || rate * 100 < s->rate_before * gain) {
            s->requests = s->requests_before; /* more requests did not help */
            s->requests_before = 0;
            s->confirmed = false;
            s->rate_prev = s->rate_before;
            s->hold_until = s->next + ((int64_t)PROBE_HOLD_WINDOWS << s->failed) * s->window;
            if (s->failed < PROBE_HOLD_DOUBLINGS)
                s->failed++;
            phase_start(s, false, fetched, now_ms);
            return;
        }
        if (!s->confirmed && s->requests_before <= RA_REQUESTS &&
            rate * 100 < s->rate_before * PROBE_SURE_PCT) {
            /* the first step helped, not by far: measure once more before keeping it */
            s->confirmed = true;
            phase_start(s, true, fetched, now_ms);
            return;
        }
        s->requests_before = 0; /* it helped (twice, from 8): keep it, try the next level */
        s->confirmed = false;
        s->failed = 0;
        s->rate_prev = 0;
    }
    if (s->requests < cap && s->next >= s->hold_until) {
        s->requests_before = s->requests;
        /* the better of the level's last two measurements: one slow spell of the machine
         * does not make the next level look faster */
        s->rate_before = rate > s->rate_prev ? rate : s->rate_prev;
        s->rate_prev = 0;
        s->requests = min_int(2 * s->requests, cap);
        phase_start(s, false, fetched, now_ms);
    } else {
        s->rate_prev = rate;
        phase_start(s, true, fetched, now_ms);
    }
}

void ra_on_read(struct ra_state *ra, const struct ra_limits *lim, int64_t offset, int64_t len,
                uint64_t now_ms, struct ra_decision *out)
{
    out->len = 0;
    out->sequential = false;
    out->requests = 0;
    ra->tick++;
    struct ra_stream *s = NULL, *oldest = &ra->s[0];
    for (int i = 0; i < RA_STREAMS; i++) {
        struct ra_stream *c = &ra->s[i];
        if (!s && continues(c, offset, len))
            s = c;
        if (c->last_use < oldest->last_use)
            oldest = c;
    }
    if (!s) {
        *oldest = (struct ra_stream){ .start = offset, .next = offset + len, .ra_end = offset + len,
                                      .last_use = ra->tick, .last_ms = now_ms };
        return;
    }
    s->last_use = ra->tick;
    s->last_ms = now_ms;
    s->hits++;
    out->sequential = s->hits >= HITS_TO_CONFIRM;
    s->next = max64(s->next, offset + len);
    s->ra_end = max64(s->ra_end, s->next);
    if (lim->max_window <= 0 || s->hits < HITS_TO_CONFIRM)
        return;
    if (s->window == 0) {
        s->window = max64(4 * len, WINDOW_MIN);
        s->grown_at = s->next;
    } else if (s->next - s->grown_at >= s->window) {
        s->window *= 2; /* the reader consumed a whole window since it last grew */
        s->grown_at = s->next;
    }
    int active = 0; /* this stream among them */
    for (int i = 0; i < RA_STREAMS; i++)
        active += is_active(&ra->s[i], now_ms);
    int64_t limit = max64(min64(lim->max_window, lim->budget / active), WINDOW_MIN);
    s->window = min64(s->window, limit);
    int cap = lim->requests > 0 ? lim->requests : RA_REQUESTS;
    int shared = min_int(RA_REQUESTS, cap);
    if (s->requests == 0 || !lim->alone || active > 1) {
        s->requests = shared; /* not alone: back to the shared level at once */
        s->requests_before = 0;
        s->confirmed = false;
        s->rate_prev = 0;
        s->mark_ms = 0;
    } else if (s->window >= limit) {
        adapt_requests(s, cap, lim->fetched, now_ms);
    }
    out->requests = s->requests;
    int64_t part = min64(max64(s->window / s->requests, min64(PART_MIN, s->window)), PART_MAX);
    if (part < lim->chunk)
        part = lim->chunk;
    int64_t stop = lim->size;
    for (int i = 0; i < RA_STREAMS; i++) {
        const struct ra_stream *t = &ra->s[i];
        if (t != s && t->window > 0 && t->start >= s->next && t->start < stop &&
            t->next - t->start >= min64(s->window, STOP_READ_MIN))
            stop = t->start; /* another stream has read from there on */
    }
    int64_t end = min64(s->next + s->window, stop);
    int64_t want = end - s->ra_end;
    if (want <= 0 || (want < part && end < stop))
        return; /* less than a part is free: wait for the reader */
    if (end < stop)
        want -= want % part;
    out->offset = s->ra_end;
    out->len = want;
    out->part = part;
    s->ra_end += want;
}
