/* unit-readahead.c: the readahead policy (shim/readahead.c) driven by synthetic reads:
 * streams are confirmed on the third read, windows grow to their limit and share the
 * object's budget, a stream keeps at most 8 requests in flight, random reads prefetch
 * nothing, readahead never runs more than a window ahead of the reader, and it stops
 * where another reader began (even one held up after a few reads); a stream alone in the
 * process probes for more requests in flight, keeps them only while the origin delivers
 * faster (also when the machine's pace changes under it), probes less and less often when
 * they do not help, and drops back at once when it is no longer alone; several streams of
 * one object keep 8 each, also with the process otherwise quiet.
 * Prints "N passed, N failed". */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "readahead.h"
#include "unit.h"

#define MiB ((int64_t)1 << 20)
#define GiB ((int64_t)1 << 30)

static const struct ra_limits limits = {
    .size = 64 * GiB, .max_window = 64 * MiB, .budget = 192 * MiB, .chunk = 64 << 10
};

/* One sequential reader: where it is, and how far readahead was issued for it. */
struct reader {
    int64_t pos, issued_end, largest_part, most_parts, largest_ahead;
    int issues;
};

static void read_seq(struct ra_state *ra, struct reader *r, int64_t len, uint64_t now)
{
    struct ra_decision d;
    ra_on_read(ra, &limits, r->pos, len, now, &d);
    r->pos += len;
    if (d.len <= 0)
        return;
    r->issues++;
    if (d.offset + d.len > r->issued_end)
        r->issued_end = d.offset + d.len;
    if (d.part > r->largest_part)
        r->largest_part = d.part;
    int64_t parts = (d.len + d.part - 1) / d.part;
    if (parts > r->most_parts)
        r->most_parts = parts;
    if (r->issued_end - r->pos > r->largest_ahead)
        r->largest_ahead = r->issued_end - r->pos;
}

static void test_one_stream(void)
{
    struct ra_state ra = { 0 };
    struct reader r = { 0 };
    struct ra_decision d;
    ra_on_read(&ra, &limits, 0, MiB, 0, &d);
    bool first = d.sequential;
    ra_on_read(&ra, &limits, MiB, MiB, 0, &d);
    bool second = d.sequential;
    ra_on_read(&ra, &limits, 2 * MiB, MiB, 0, &d);
    CHECK(!first && !second && d.sequential, "a stream's reads count as sequential from the third");
    ra = (struct ra_state){ 0 };
    read_seq(&ra, &r, MiB, 1);
    read_seq(&ra, &r, MiB, 2);
    CHECK(r.issues == 0, "two reads in a row start no readahead (%d issues)", r.issues);
    read_seq(&ra, &r, MiB, 3);
    CHECK(r.issues == 1 && r.issued_end == r.pos + 4 * MiB,
          "the third read opens a 4 x read window (issued to %" PRId64 ", reader at %" PRId64 ")",
          r.issued_end, r.pos);
    for (int i = 0; i < 500; i++)
        read_seq(&ra, &r, MiB, 4 + (uint64_t)i);
    CHECK(r.largest_ahead <= limits.max_window,
          "never more than REMOTEIO_READAHEAD ahead (%" PRId64 " MiB)", r.largest_ahead / MiB);
    CHECK(r.issued_end - r.pos >= limits.max_window - 8 * MiB,
          "the window grew to its limit (%" PRId64 " MiB ahead)", (r.issued_end - r.pos) / MiB);
    CHECK(r.largest_part == 8 * MiB, "parts grow to 8 MiB (%" PRId64 ")", r.largest_part);
    CHECK(r.most_parts <= 8, "at most 8 parts issued at once (%" PRId64 ")", r.most_parts);
    int64_t before = r.issued_end;
    ra_on_read(&ra, &limits, r.pos, 0, 600, &d); /* a zero-length probe at the same place */
    CHECK(d.len == 0 && r.issued_end == before, "a reader that does not advance gets nothing more");
}

/* Short streams (a file of a few MiB read in 128 KiB requests, as a guest does):
 * readahead past the point where the stream stops stays within what it read. */
static void test_short_streams(void)
{
    for (int64_t mib = 1; mib <= 32; mib *= 2) {
        struct ra_state ra = { 0 };
        struct reader r = { .pos = 3 * GiB, .issued_end = 3 * GiB };
        for (int64_t done = 0; done < mib * MiB; done += 128 << 10)
            read_seq(&ra, &r, 128 << 10, (uint64_t)done);
        int64_t over = r.issued_end - r.pos;
        CHECK(over <= mib * MiB, "a %" PRId64 " MiB stream: %" PRId64 " KiB fetched past its end",
              mib, over >> 10);
    }
}

static void test_four_streams(void)
{
    struct ra_state ra = { 0 };
    struct reader r[4];
    for (int k = 0; k < 4; k++)
        r[k] = (struct reader){ .pos = k * 16 * GiB, .issued_end = k * 16 * GiB };
    uint64_t now = 1;
    for (int i = 0; i < 400; i++, now++)
        for (int k = 0; k < 4; k++)
            read_seq(&ra, &r[k], MiB, now);
    for (int k = 0; k < 4; k++) {
        int64_t ahead = r[k].issued_end - r[k].pos;
        CHECK(r[k].issues > 10, "stream %d keeps its readahead (%d issues)", k, r[k].issues);
        CHECK(ahead <= limits.budget / 4 && ahead >= limits.budget / 4 - limits.budget / 32,
              "stream %d: a quarter of the budget each (%" PRId64 " MiB ahead)", k, ahead / MiB);
        CHECK(r[k].most_parts <= 8, "stream %d: at most 8 parts at once", k);
    }
    /* Three readers stop; after a second the last one may use the whole window again. */
    for (int i = 0; i < 200; i++)
        read_seq(&ra, &r[0], MiB, now + 1500 + (uint64_t)i);
    int64_t ahead = r[0].issued_end - r[0].pos;
    CHECK(ahead > limits.budget / 4,
          "idle streams give their share back (%" PRId64 " MiB ahead)", ahead / MiB);
}

/* Four readers each reading a quarter (fio's jobs): readahead stops where the next
 * reader began, and comes back for a reader that goes on past that point. */
static void test_partitioned_streams(void)
{
    const int64_t quarter = 256 * MiB;
    struct ra_state ra = { 0 };
    struct reader r[4];
    for (int k = 0; k < 4; k++)
        r[k] = (struct reader){ .pos = k * quarter, .issued_end = k * quarter };
    uint64_t now = 1;
    for (int i = 0; i < 192; i++, now++) /* the later readers are ahead: they started first */
        for (int k = 1; k < 4; k++)
            read_seq(&ra, &r[k], MiB, now);
    for (int i = 0; i < 256; i++, now++)
        for (int k = 0; k < 4; k++)
            if (r[k].pos < (k + 1) * quarter)
                read_seq(&ra, &r[k], MiB, now);
    bool within = true;
    for (int k = 0; k < 3; k++) {
        CHECK(r[k].issued_end <= (k + 1) * quarter,
              "reader %d: readahead stops where reader %d began (issued to %" PRId64 " MiB)", k,
              k + 1, r[k].issued_end / MiB);
        within = within && r[k].issued_end == (k + 1) * quarter;
    }
    CHECK(within, "readahead reaches the end of each part, tail included");
    for (int i = 0; i < 40; i++, now++)
        read_seq(&ra, &r[0], MiB, now);
    CHECK(r[0].issued_end > r[0].pos + 16 * MiB,
          "a reader that goes on past that point gets readahead again (%" PRId64 " MiB ahead)",
          (r[0].issued_end - r[0].pos) / MiB);
    /* Reader 1 held up just after the start of its part (3 reads, far less than a
     * window) while reader 0 reads all of its own: reader 0 still stops where reader 1
     * began, instead of fetching again what reader 1 read. */
    struct ra_state held = { 0 };
    struct reader h[4];
    for (int k = 0; k < 4; k++)
        h[k] = (struct reader){ .pos = k * quarter, .issued_end = k * quarter };
    now = 1;
    for (int i = 0; i < 3; i++, now++)
        for (int k = 0; k < 4; k++)
            read_seq(&held, &h[k], MiB, now);
    for (int i = 3; i < 256; i++, now++)
        for (int k = 0; k < 4; k++)
            if (k != 1)
                read_seq(&held, &h[k], MiB, now);
    CHECK(h[0].issued_end == quarter,
          "a reader held up after 3 MiB of its part still bounds the readahead of the one "
          "behind (issued to %" PRId64 " MiB)", h[0].issued_end / MiB);
    /* Reader 3 finished long before reader 2 gets there: still no second fetch. */
    struct ra_state late = { 0 };
    struct reader c = { 0 }, e = { .pos = 128 * MiB, .issued_end = 128 * MiB };
    for (int i = 0; i < 128; i++)
        read_seq(&late, &e, MiB, 1);
    for (int i = 0; i < 128; i++)
        read_seq(&late, &c, MiB, 10000 + (uint64_t)i);
    CHECK(c.issued_end == 128 * MiB, "a reader that finished long ago still bounds readahead "
          "(issued to %" PRId64 " MiB)", c.issued_end / MiB);
    /* A short stream ahead (a few small reads) stops nothing. */
    struct ra_state small = { 0 };
    struct reader a = { 0 }, b = { .pos = 40 * MiB, .issued_end = 40 * MiB };
    for (int i = 0; i < 4; i++)
        read_seq(&small, &b, 128 << 10, 1);
    for (int i = 0; i < 36; i++)
        read_seq(&small, &a, MiB, 2 + (uint64_t)i);
    CHECK(a.issued_end > 40 * MiB, "a short stream ahead does not stop a long one's readahead "
          "(issued to %" PRId64 " MiB)", a.issued_end / MiB);
}

static void test_random(void)
{
    struct ra_state ra = { 0 };
    uint64_t x = 88172645463325252ull;
    int prefetches = 0, sequential = 0;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t off = (int64_t)(x % (uint64_t)(limits.size / 4096)) * 4096;
        int64_t len = 4096 << (x >> 60) % 6; /* 4K .. 128K */
        struct ra_decision d;
        ra_on_read(&ra, &limits, off, len, (uint64_t)i, &d);
        prefetches += d.len > 0;
        sequential += d.sequential;
    }
    CHECK(prefetches == 0, "100000 random reads: %d prefetches", prefetches);
    CHECK(sequential == 0, "100000 random reads: %d taken as sequential", sequential);
}

static void test_disabled(void)
{
    struct ra_limits none = limits;
    none.max_window = 0;
    struct ra_state ra = { 0 };
    int prefetches = 0;
    for (int i = 0; i < 100; i++) {
        struct ra_decision d;
        ra_on_read(&ra, &none, (int64_t)i * MiB, MiB, (uint64_t)i, &d);
        prefetches += d.len > 0;
    }
    CHECK(prefetches == 0, "REMOTEIO_READAHEAD=0: %d prefetches", prefetches);
}

static void test_end_of_object(void)
{
    struct ra_limits small = limits;
    small.size = 10 * MiB + 123;
    struct ra_state ra = { 0 };
    struct reader r = { 0 };
    for (int i = 0; i < 10; i++)
        read_seq(&ra, &r, MiB, (uint64_t)i);
    CHECK(r.issued_end == small.size || r.issued_end <= limits.size,
          "bookkeeping stays sane near the end");
    struct ra_state ra2 = { 0 };
    struct reader r2 = { 0 };
    int64_t last_end = 0;
    for (int i = 0; i < 12 && r2.pos < small.size; i++) {
        struct ra_decision d;
        int64_t len = small.size - r2.pos < MiB ? small.size - r2.pos : MiB;
        ra_on_read(&ra2, &small, r2.pos, len, (uint64_t)i, &d);
        r2.pos += len;
        if (d.len > 0)
            last_end = d.offset + d.len;
        CHECK(d.len == 0 || d.offset + d.len <= small.size, "no readahead past the end");
    }
    CHECK(last_end == small.size, "readahead reaches the last byte, tail included (%" PRId64 ")",
          last_end);
}

/* A lone reader of 2 GiB in 1 MiB reads whose speed is set by the requests it keeps in
 * flight: mb_per_request MB/s per request up to ceiling_mb MB/s.  Returns the highest
 * number of requests the stream reached, and how many of its reads ran above 8 (the
 * shared level); *final is the level at the end. */
struct lone_run {
    int highest, final, reads_above_shared, reads, probes;
    int settled; /* the level of most reads in the second half */
};

static uint64_t jitter_seed = 88172645463325252ull;

static struct lone_run run_lone(struct ra_limits lim, double mb_per_request, double ceiling_mb,
                                bool alone_from_start, double jitter)
{
    struct ra_state ra = { 0 };
    struct lone_run out = { 0 };
    double t = 1000.0; /* ms */
    double spell = 1.0;
    uint64_t x = jitter_seed;
    int at[65] = { 0 };
    for (int64_t pos = 0; pos < 2 * GiB; pos += MiB) {
        struct ra_decision d;
        lim.alone = alone_from_start;
        lim.fetched = (uint64_t)pos; /* what the origin sent is what the reader read */
        ra_on_read(&ra, &lim, pos, MiB, (uint64_t)t, &d);
        int level = d.requests > 0 ? d.requests : 8;
        double rate = level * mb_per_request;
        if (rate > ceiling_mb)
            rate = ceiling_mb;
        if (jitter > 0 && pos % (32 * MiB) == 0) { /* the machine's pace, spell by spell */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            spell = 1.0 - jitter + 2.0 * jitter * (double)(x % 1000) / 1000.0;
        }
        rate *= spell;
        t += 1.048576 * 1000.0 / rate; /* 1 MiB at `rate` MB/s, in ms */
        if (d.requests > out.highest)
            out.highest = d.requests;
        out.probes += d.requests > 8 && out.final <= 8;
        out.reads_above_shared += d.requests > 8;
        out.reads++;
        out.final = d.requests;
        if (pos >= GiB && d.requests <= 64)
            at[d.requests]++;
    }
    for (int r = 1; r <= 64; r++)
        if (at[r] > at[out.settled])
            out.settled = r;
    return out;
}

static void test_lone_stream_requests(void)
{
    struct ra_limits lone = limits;
    lone.requests = 32;
    /* An origin that throttles each connection to 100 MB/s (the benchmark's s3). */
    struct lone_run thr = run_lone(lone, 100, 1e9, true, 0);
    CHECK(thr.highest == 32 && thr.final == 32,
          "a lone stream against a throttled origin climbs to the cap (highest %d, final %d)",
          thr.highest, thr.final);
    CHECK(thr.reads_above_shared > thr.reads / 2,
          "... and reads most of the object above 8 requests (%d of %d reads)",
          thr.reads_above_shared, thr.reads);
    /* The cap is REMOTEIO_STREAM_REQUESTS. */
    struct ra_limits capped = lone;
    capped.requests = 12;
    struct lone_run cap = run_lone(capped, 100, 1e9, true, 0);
    CHECK(cap.highest == 12, "REMOTEIO_STREAM_REQUESTS=12 bounds the growth (highest %d)",
          cap.highest);
    /* An origin that does not throttle connections: the machine gives 1500 MB/s whatever
     * the requests; one probe to 16 finds no gain and the stream stays at 8. */
    struct lone_run lan = run_lone(lone, 1500, 1500, true, 0);
    CHECK(lan.final == 8 && lan.highest <= 16,
          "against an unthrottled origin the stream goes back to 8 (highest %d, final %d)",
          lan.highest, lan.final);
    CHECK(lan.probes <= 4 && lan.reads_above_shared <= lan.probes * 250,
          "... probing again less and less often: %d probes in 2 GiB, each of a window and two measurements (%d "
          "reads above 8)", lan.probes, lan.reads_above_shared);
    /* Throughput that rises up to 16 requests and not beyond (a 1600 MB/s link). */
    struct lone_run mid = run_lone(lone, 100, 1600, true, 0);
    CHECK(mid.settled == 16 && mid.highest == 32,
          "a stream settles where more requests stop helping (%d; highest %d)", mid.settled,
          mid.highest);
    /* The same on a busy machine, whose pace changes by up to 30% every 32 MiB. */
    int wrong = 0, over16 = 0;
    for (int k = 0; k < 8; k++) {
        jitter_seed = 88172645463325252ull + 7919 * (uint64_t)k;
        struct lone_run busy_lan = run_lone(lone, 1500, 1500, true, 0.3);
        struct lone_run busy_thr = run_lone(lone, 100, 1e9, true, 0.3);
        wrong += busy_lan.settled != 8;
        wrong += busy_thr.settled != 32;
        over16 += busy_lan.highest > 16;
    }
    CHECK(wrong == 0 && over16 <= 1, "... with the machine's pace changing by 30%% every 32 MiB: "
          "%d of 16 runs settled wrong; %d of 8 on an unthrottled origin probed 32", wrong, over16);
    /* Not alone (another stream or random reads in the process): never above 8. */
    struct lone_run shared = run_lone(lone, 100, 1e9, false, 0);
    CHECK(shared.highest == 8, "a stream that is not alone keeps 8 requests (highest %d)",
          shared.highest);
}

/* A stream that climbed drops back to 8 at its next read once it is not alone, and the
 * parts it issues from then on are window/8. */
static void test_lone_stream_yields(void)
{
    struct ra_limits lim = limits;
    lim.requests = 32;
    lim.alone = true;
    struct ra_state ra = { 0 };
    struct ra_decision d = { 0 };
    double t = 1000.0;
    int64_t pos = 0;
    for (; pos < 2 * GiB; pos += MiB) {
        lim.fetched = (uint64_t)pos;
        ra_on_read(&ra, &lim, pos, MiB, (uint64_t)t, &d);
        t += 1.048576 * 1000.0 / (d.requests > 0 ? d.requests * 100.0 : 800.0);
    }
    int before = d.requests;
    lim.alone = false;
    int64_t largest = 0;
    int after = 0;
    for (int i = 0; i < 16; i++, pos += MiB) {
        ra_on_read(&ra, &lim, pos, MiB, (uint64_t)t, &d);
        if (i == 0)
            after = d.requests;
        if (d.len > 0 && d.part > largest)
            largest = d.part;
        t += 2;
    }
    CHECK(before == 32 && after == 8, "a stream yields at once: %d requests, then %d", before,
          after);
    CHECK(largest == 8 * MiB, "... and issues window/8 parts again (%" PRId64 " KiB)",
          largest >> 10);
    /* Two streams of one object: neither grows, even with the process otherwise quiet. */
    lim.alone = true;
    struct ra_state two = { 0 };
    struct reader a = { 0 }, b = { .pos = 16 * GiB, .issued_end = 16 * GiB };
    int highest = 0;
    uint64_t now = 1000;
    for (int i = 0; i < 1500; i++, now += 2) {
        ra_on_read(&two, &lim, a.pos, MiB, now, &d);
        a.pos += MiB;
        highest = d.requests > highest ? d.requests : highest;
        ra_on_read(&two, &lim, b.pos, MiB, now, &d);
        b.pos += MiB;
        highest = d.requests > highest ? d.requests : highest;
    }
    CHECK(highest == 8, "two active streams of one object keep 8 requests each (highest %d)",
          highest);
}

/* Four streams of one object (a parallel copy, the benchmark's "streams" row) with the
 * process otherwise quiet, against an origin that rewards every request in flight (100 MB/s
 * each): each keeps 8 requests in flight, together the 32 that readahead's workers have,
 * in parts of window/8 = 6 MiB (a quarter of the 192 MiB budget each), and none probes. */
static void test_four_streams_share(void)
{
    struct ra_limits lim = limits;
    lim.requests = 32;
    lim.alone = true;
    struct ra_state ra = { 0 };
    int64_t pos[4];
    for (int k = 0; k < 4; k++)
        pos[k] = k * 16 * GiB;
    int req[4] = { 0 }, highest = 0;
    int64_t largest = 0, fetched = 0;
    double t = 1000.0;
    for (int i = 0; i < 2000; i++) {
        for (int k = 0; k < 4; k++) {
            struct ra_decision d;
            lim.fetched = (uint64_t)fetched;
            ra_on_read(&ra, &lim, pos[k], MiB, (uint64_t)t, &d);
            pos[k] += MiB;
            fetched += MiB;
            req[k] = d.requests;
            highest = d.requests > highest ? d.requests : highest;
            if (d.len > 0 && d.part > largest)
                largest = d.part;
            int all = req[0] + req[1] + req[2] + req[3];
            t += 1.048576 * 1000.0 / ((all > 0 ? all : 8) * 100.0);
        }
    }
    CHECK(highest == 8 && req[0] + req[1] + req[2] + req[3] == 32,
          "four streams of one object keep 8 requests each, 32 in all (highest %d)", highest);
    CHECK(largest == 6 * MiB, "... in parts of window/8 (%" PRId64 " KiB)", largest >> 10);
}

int main(void)
{
    test_one_stream();
    test_short_streams();
    test_four_streams();
    test_partitioned_streams();
    test_random();
    test_disabled();
    test_end_of_object();
    test_lone_stream_requests();
    test_lone_stream_yields();
    test_four_streams_share();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
