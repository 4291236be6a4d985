/* trace_replay.c: see trace_replay.h.  No locks: the caller's. */
#include <stdlib.h>
#include <string.h>

#include "trace_replay.h"

enum { FETCHED = 1, READ = 2 };

/* Reads less than BURST_GAP_MS apart make one burst, taken whole up to BURST_MAX_MS past
 * the lead. */
#define BURST_GAP_MS 100
#define BURST_MAX_MS 1000
/* Runs taken at once (then merged): the pending ranges hold as many. */
#define BATCH_RUNS 256

struct replay {
    struct replay_params p;
    struct trace_run *runs; /* recorded order */
    uint32_t n;
    uint64_t *cum;          /* cum[i]: chunks in runs[0..i); the flags of run i start there */
    uint32_t *by_chunk;     /* run indices sorted by first chunk */
    uint8_t *flags;         /* per chunk of the trace: FETCHED, READ */
    uint32_t next;          /* the next run to submit */
    uint32_t frontier;      /* one past the furthest run the program read */
    uint32_t prog_t;        /* recorded time of that run */
    uint64_t submitted;     /* chunks of submitted runs */
    uint64_t hits;          /* distinct chunks of the trace the program read */
    const char *over;       /* why nothing more is submitted, or NULL */
    bool budget_hit;        /* the next run would pass budget_chunks */
    struct replay_range *pend; /* due ranges, merged, not yet handed out */
    size_t npend, pend_pos;
    bool ring[DIVERGE_WINDOW];
    unsigned ring_pos, ring_len, ring_hits;
    struct replay_counts counts;
};

static int by_first_chunk(const void *a, const void *b, void *runs)
{
    const struct trace_run *base = runs;
    uint64_t x = base[*(const uint32_t *)a].chunk, y = base[*(const uint32_t *)b].chunk;
    return x < y ? -1 : x > y;
}

struct replay *replay_new(const struct trace_run *runs, uint32_t n, const struct replay_params *p)
{
    struct replay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p = *p;
    if (r->p.max_range_chunks == 0)
        r->p.max_range_chunks = 1;
    if (r->p.lead_chunks == 0)
        r->p.lead_chunks = 1;
    if (r->p.open_lead_chunks == 0 || r->p.open_lead_chunks > r->p.lead_chunks)
        r->p.open_lead_chunks = r->p.lead_chunks;
    /* Runs longer than the open's lead are cut into pieces of it (same time), so that the
     * lead bounds what is submitted; a batch merges them back into long ranges. */
    uint64_t piece = r->p.open_lead_chunks, total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += (runs[i].count + piece - 1) / piece;
    if (total > UINT32_MAX - 1)
        goto fail;
    r->n = (uint32_t)total;
    n = r->n;
    r->runs = malloc((n ? n : 1) * sizeof *r->runs);
    r->cum = malloc(((size_t)n + 1) * sizeof *r->cum);
    r->by_chunk = malloc((n ? n : 1) * sizeof *r->by_chunk);
    r->pend = malloc(BATCH_RUNS * sizeof *r->pend);
    if (!r->runs || !r->cum || !r->by_chunk || !r->pend)
        goto fail;
    for (uint32_t i = 0, k = 0; k < n; i++)
        for (uint64_t c = 0; c < runs[i].count; c += piece)
            r->runs[k++] = (struct trace_run){ runs[i].chunk + c,
                                               (uint32_t)(runs[i].count - c < piece ?
                                                          runs[i].count - c : piece),
                                               runs[i].t_ms };
    r->cum[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        r->cum[i + 1] = r->cum[i] + r->runs[i].count;
        r->by_chunk[i] = i;
    }
    r->flags = calloc(r->cum[n] ? r->cum[n] : 1, 1);
    if (!r->flags)
        goto fail;
    qsort_r(r->by_chunk, n, sizeof *r->by_chunk, by_first_chunk, r->runs);
    if (n == 0)
        r->over = "done";
    return r;
fail:
    replay_free(r);
    return NULL;
}

void replay_free(struct replay *r)
{
    if (!r)
        return;
    free(r->runs);
    free(r->cum);
    free(r->by_chunk);
    free(r->flags);
    free(r->pend);
    free(r);
}

/* The run holding chunk, or -1. */
static int64_t run_of(const struct replay *r, uint64_t chunk)
{
    uint32_t lo = 0, hi = r->n; /* the first run starting after chunk is in [lo, hi] */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->runs[r->by_chunk[mid]].chunk <= chunk)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    uint32_t i = r->by_chunk[lo - 1];
    return chunk - r->runs[i].chunk < r->runs[i].count ? (int64_t)i : -1;
}

static uint8_t *flag_of(const struct replay *r, uint32_t run, uint64_t chunk)
{
    return &r->flags[r->cum[run] + (chunk - r->runs[run].chunk)];
}

void replay_on_read(struct replay *r, uint64_t chunk, bool first)
{
    int64_t i = run_of(r, chunk);
    if (i >= 0) {
        uint8_t *f = flag_of(r, (uint32_t)i, chunk);
        if (!(*f & READ)) {
            *f |= READ;
            r->hits++;
            if (*f & FETCHED)
                r->counts.used++;
        }
        /* Only a run the replay has reached moves the frontier: one stray read far
         * ahead (a superblock at the end) does not pull the whole replay along. */
        if ((uint32_t)i + 1 > r->frontier && (uint32_t)i <= r->next) {
            r->frontier = (uint32_t)i + 1;
            r->prog_t = r->runs[i].t_ms;
        }
    }
    if (!first)
        return;
    bool hit = i >= 0;
    if (r->ring_len == DIVERGE_WINDOW)
        r->ring_hits -= r->ring[r->ring_pos];
    else
        r->ring_len++;
    r->ring[r->ring_pos] = hit;
    r->ring_hits += hit;
    r->ring_pos = (r->ring_pos + 1) % DIVERGE_WINDOW;
    if (!r->over && r->ring_len == DIVERGE_WINDOW && r->ring_hits < DIVERGE_WINDOW / 4)
        r->over = "diverged";
}

static int by_range(const void *a, const void *b)
{
    uint64_t x = ((const struct replay_range *)a)->chunk, y = ((const struct replay_range *)b)->chunk;
    return x < y ? -1 : x > y;
}

/* Take the next due runs (at most BATCH_RUNS), merged, as the pending ranges; false when
 * none is due. */
static bool collect(struct replay *r, uint64_t elapsed_ms)
{
    uint64_t clock = elapsed_ms > r->prog_t ? elapsed_ms : r->prog_t;
    uint64_t horizon = clock + r->p.lead_ms;
    size_t nb = 0;
    while (r->next < r->n && nb < BATCH_RUNS && !r->budget_hit) {
        const struct trace_run *run = &r->runs[r->next];
        /* A burst of reads is taken whole, so that its chunks merge into few ranges. */
        bool burst = nb > 0 && run->t_ms <= horizon + BURST_MAX_MS &&
                     run->t_ms - r->runs[r->next - 1].t_ms <= BURST_GAP_MS;
        if (run->t_ms > horizon && !burst)
            break;
        uint64_t done = r->frontier < r->next ? r->cum[r->frontier] : r->cum[r->next];
        uint64_t lead = r->hits >= r->p.arm_chunks ? r->p.lead_chunks : r->p.open_lead_chunks;
        if (r->cum[r->next] - done >= lead)
            break;
        if (r->submitted + run->count > r->p.budget_chunks) {
            r->budget_hit = true;
            break;
        }
        r->submitted += run->count;
        r->next++;
        const uint8_t *f = &r->flags[r->cum[r->next - 1]];
        uint32_t k = 0;
        while (k < run->count && (f[k] & READ))
            k++;
        if (k < run->count) /* else the program got there first */
            r->pend[nb++] = (struct replay_range){ run->chunk, run->count };
    }
    qsort(r->pend, nb, sizeof *r->pend, by_range);
    size_t m = 0;
    for (size_t i = 0; i < nb; i++) {
        struct replay_range *last = m ? &r->pend[m - 1] : NULL;
        if (last && r->pend[i].chunk <= last->chunk + last->count) {
            uint64_t end = r->pend[i].chunk + r->pend[i].count;
            if (end > last->chunk + last->count)
                last->count = (uint32_t)(end - last->chunk);
        } else {
            r->pend[m++] = r->pend[i];
        }
    }
    r->npend = m;
    r->pend_pos = 0;
    return m > 0;
}

size_t replay_next(struct replay *r, uint64_t elapsed_ms, struct replay_range *out, size_t max)
{
    if (r->over)
        return 0;
    size_t k = 0;
    uint32_t mr = r->p.max_range_chunks;
    while (k < max) {
        if (r->pend_pos == r->npend) {
            uint32_t before = r->next;
            if (!collect(r, elapsed_ms) && r->next == before)
                break;
            continue;
        }
        /* The next piece of the pending range, at most mr chunks. */
        struct replay_range *p = &r->pend[r->pend_pos];
        uint32_t cnt = p->count < mr ? p->count : mr;
        out[k++] = (struct replay_range){ p->chunk, cnt };
        for (uint64_t c = p->chunk; c < p->chunk + cnt; c++) {
            int64_t i = run_of(r, c);
            uint8_t *f = i >= 0 ? flag_of(r, (uint32_t)i, c) : NULL;
            if (f && !(*f & (READ | FETCHED))) {
                *f |= FETCHED;
                r->counts.replayed++;
            }
        }
        p->chunk += cnt;
        p->count -= cnt;
        if (p->count == 0)
            r->pend_pos++;
    }
    if (r->pend_pos == r->npend && (r->next == r->n || r->budget_hit))
        r->over = r->budget_hit ? "budget" : "done";
    return k;
}

bool replay_over(const struct replay *r, const char **why)
{
    if (why)
        *why = r->over;
    return r->over != NULL;
}

bool replay_armed(const struct replay *r)
{
    return r->hits >= r->p.arm_chunks;
}

bool replay_fetched(const struct replay *r, uint64_t chunk)
{
    int64_t i = run_of(r, chunk);
    return i >= 0 && (*flag_of(r, (uint32_t)i, chunk) & FETCHED);
}

void replay_get_counts(const struct replay *r, struct replay_counts *c)
{
    /* A flag becomes FETCHED only from 0 (replayed++) and FETCHED|READ only from FETCHED
     * (used++), and none is ever cleared: the chunks FETCHED and not READ are the
     * difference.  O(1): trace_read asks at every read (a loop over the trace's chunks
     * here took 59% of a warm 8-process 4 KiB random read of a 1 GiB object). */
    *c = r->counts;
    c->wasted = r->counts.replayed - r->counts.used;
}
