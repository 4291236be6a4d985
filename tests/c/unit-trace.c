/* unit-trace.c: the learned-prefetch trace format's parser (shim/trace_file.c), table
 * driven, and the replay policy (shim/trace_replay.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disk_hash.h"
#include "trace_file.h"
#include "trace_replay.h"
#include "unit.h"

static struct trace_run runs3[] = { { 10, 2, 0 }, { 100, 1, 5 }, { 7, 3, 900 } };

static size_t encode_sample(uint8_t *buf, size_t cap)
{
    struct trace_data d = { .size = 1 << 30, .chunk_size = 65536, .window_ms = 60000,
                            .n = 3, .chunks = 6, .runs = runs3 };
    trace_key("http://127.0.0.1:8080/img", d.key);
    strcpy(d.validator, "\"abc-123\"");
    return trace_encode(&d, buf, cap);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the CRC after an edit, so that the check under test is the one that fails. */
static void reseal(uint8_t *buf, size_t len)
{
    put32(buf + len - 4, crc32c(0, buf, len - 4));
}

enum { NONE, RESEAL };
struct bad_case {
    const char *name;
    size_t at;      /* byte to change (SIZE_MAX: cut the file instead) */
    uint8_t value;
    int reseal;
    const char *why;
};

static void format_cases(void)
{
    uint8_t buf[1024], copy[1024];
    size_t len = encode_sample(buf, sizeof buf);
    CHECK(len == TRACE_HEADER + 9 + 3 * 16 + 4, "encoded length %zu", len);
    CHECK(encode_sample(buf, len - 1) == 0, "a buffer too small is refused");
    encode_sample(buf, sizeof buf);

    struct trace_data d;
    const char *why = NULL;
    CHECK(trace_decode(buf, len, &d, &why) == 0, "round trip: %s", why);
    uint8_t key[16];
    trace_key("http://127.0.0.1:8080/img", key);
    CHECK(memcmp(d.key, key, 16) == 0 && d.size == 1 << 30 && d.chunk_size == 65536 &&
              d.n == 3 && d.chunks == 6 && strcmp(d.validator, "\"abc-123\"") == 0 &&
              d.runs[2].chunk == 7 && d.runs[2].count == 3 && d.runs[2].t_ms == 900,
          "round trip: fields");
    trace_data_free(&d);
    trace_key("http://127.0.0.1:8080/other", key);
    CHECK(memcmp(d.key, key, 16) != 0, "another URL, another key");
    char name[64];
    trace_file_name(key, name, sizeof name);
    CHECK(strlen(name) == 38 && strcmp(name + 32, ".trace") == 0, "file name %s", name);

    size_t v = TRACE_HEADER + 9; /* the first run */
    const struct bad_case cases[] = {
        { "magic", 0, 'X', NONE, "not a remoteio trace" },
        { "version", 8, 2, NONE, "a format version this build does not know" },
        { "header length", 10, 63, NONE, "its header does not match its length" },
        { "flags", 12, 1, NONE, "its header does not match its length" },
        { "run count", 44, 4, NONE, "its header does not match its length" },
        { "a flipped byte", v + 3, 0x55, NONE, "checksum mismatch" },
        { "a flipped CRC", SIZE_MAX - 1, 0, NONE, "checksum mismatch" },
        { "chunk size not a power of two", 41, 0x11, RESEAL, "a bad size, chunk size or validator" },
        { "chunk size zero", 42, 0x00, RESEAL, "a bad size, chunk size or validator" },
        { "negative size", 39, 0x80, RESEAL, "a bad size, chunk size or validator" },
        { "NUL in the validator", TRACE_HEADER + 2, 0, RESEAL, "a bad size, chunk size or validator" },
        { "an empty run", v + 8, 0, RESEAL, "a run that is empty, overflows or goes back in time" },
        { "a run that overflows", v + 7, 0xff, RESEAL, "a run that is empty, overflows or goes back in time" },
        { "chunk count", 52, 7, RESEAL, "its runs do not add up to its chunk count" },
        { "cut short", SIZE_MAX, 0, NONE, "its header does not match its length" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_case *c = &cases[i];
        memcpy(copy, buf, len);
        size_t l = len;
        if (c->at == SIZE_MAX)
            l = len - 16;
        else if (c->at == SIZE_MAX - 1)
            copy[len - 1] ^= 1;
        else
            copy[c->at] = c->value;
        if (c->reseal)
            reseal(copy, l);
        why = NULL;
        int rc = trace_decode(copy, l, &d, &why);
        CHECK(rc == -1 && why && strcmp(why, c->why) == 0, "%s: rc %d, why \"%s\" (\"%s\" wanted)",
              c->name, rc, why ? why : "", c->why);
    }
    /* time going back, properly: the third run at t=1 after one at t=5 */
    memcpy(copy, buf, len);
    put32(copy + v + 32 + 12, 1);
    reseal(copy, len);
    CHECK(trace_decode(copy, len, &d, &why) == -1 && strstr(why, "back in time"), "time going back: %s", why);
    CHECK(trace_decode(buf, 10, &d, &why) == -1, "ten bytes");
    CHECK(trace_decode(buf, TRACE_FILE_MAX + 1, &d, &why) == -1 && strstr(why, "larger"),
          "over the largest size: %s", why);
}

static size_t next(struct replay *r, uint64_t ms, struct replay_range *out)
{
    return replay_next(r, ms, out, 64);
}

static void replay_cases(void)
{
    struct replay_params p = { .budget_chunks = 1000, .lead_chunks = 100, .lead_ms = 3000,
                               .max_range_chunks = 4 };
    struct replay_range out[64];
    const char *why;

    /* adjacent runs of one burst merge; a long one is cut at max_range_chunks */
    struct trace_run a[] = { { 12, 1, 0 }, { 10, 1, 10 }, { 11, 1, 20 }, { 50, 6, 30 },
                             { 200, 1, 5000 }, { 300, 1, 9000 } };
    struct replay *r = replay_new(a, 6, &p);
    size_t n = next(r, 0, out);
    CHECK(n == 3 && out[0].chunk == 10 && out[0].count == 3 && out[1].chunk == 50 &&
              out[1].count == 4 && out[2].chunk == 54 && out[2].count == 2,
          "merge and cut: %zu ranges", n);
    CHECK(next(r, 1000, out) == 0, "t=5000 is not due at 1000 (lead 3000)");
    n = next(r, 2100, out);
    CHECK(n == 1 && out[0].chunk == 200, "t=5000 due at 2100");
    /* the program reading the chunk at t=5000 pulls the clock: 9000 is due at once */
    replay_on_read(r, 200, true);
    CHECK(next(r, 2200, out) == 0, "9000 not due from 5000 + 3000");
    replay_on_read(r, 10, true);
    struct replay_counts c;
    replay_get_counts(r, &c);
    CHECK(c.replayed == 10 && c.used == 2 && c.wasted == 8, "counts %llu %llu %llu",
          (unsigned long long)c.replayed, (unsigned long long)c.used, (unsigned long long)c.wasted);
    CHECK(replay_fetched(r, 11) && !replay_fetched(r, 300) && !replay_fetched(r, 13),
          "fetched flags");
    n = next(r, 6100, out);
    CHECK(n == 1 && out[0].chunk == 300 && replay_over(r, &why) && strcmp(why, "done") == 0,
          "done after the last run");
    replay_free(r);

    /* a run the program has read in full is not fetched */
    struct trace_run b[] = { { 5, 2, 0 }, { 9, 1, 4000 } };
    r = replay_new(b, 2, &p);
    next(r, 0, out);
    replay_on_read(r, 9, true);
    CHECK(next(r, 1500, out) == 0 && replay_over(r, NULL), "a run read already is skipped");
    replay_free(r);

    /* lead in chunks: at most lead_chunks beyond the furthest run read */
    struct replay_params q = p;
    q.lead_chunks = 3;
    struct trace_run l[] = { { 0, 1, 0 }, { 10, 1, 0 }, { 20, 1, 0 }, { 30, 1, 0 }, { 40, 1, 0 } };
    r = replay_new(l, 5, &q);
    CHECK(next(r, 0, out) == 3, "three chunks of lead");
    CHECK(next(r, 10, out) == 0, "no more before a read");
    replay_on_read(r, 0, true);
    n = next(r, 20, out);
    CHECK(n == 1 && out[0].chunk == 30, "one more after a read");
    replay_free(r);

    /* the open's lead: open_lead_chunks until arm_chunks of the trace were read */
    q = p;
    q.open_lead_chunks = 2;
    q.arm_chunks = 2;
    struct trace_run o[] = { { 0, 1, 0 }, { 10, 1, 0 }, { 20, 1, 0 }, { 30, 1, 0 },
                             { 40, 1, 0 }, { 50, 1, 0 } };
    r = replay_new(o, 6, &q);
    CHECK(next(r, 0, out) == 2, "two chunks of lead at the open");
    replay_on_read(r, 0, true);
    replay_on_read(r, 0, false);
    replay_on_read(r, 999, true);
    n = next(r, 10, out);
    CHECK(n == 1 && out[0].chunk == 20, "one trace chunk read (and others): still the open's lead");
    replay_on_read(r, 10, true);
    n = next(r, 20, out);
    CHECK(n == 3 && out[0].chunk == 30 && out[2].chunk == 50, "two read: the whole lead (%zu)", n);
    replay_free(r);
    /* a long run is followed in pieces of the open's lead */
    struct trace_run lr[] = { { 100, 10, 0 } };
    r = replay_new(lr, 1, &q);
    n = next(r, 0, out);
    CHECK(n == 1 && out[0].chunk == 100 && out[0].count == 2, "a run of 10: 2 at the open (%zu)", n);
    replay_on_read(r, 100, true);
    replay_on_read(r, 101, true);
    n = next(r, 10, out);
    replay_get_counts(r, &c);
    CHECK(n == 2 && out[0].chunk == 102 && out[0].count == 4 && out[1].chunk == 106 &&
              out[1].count == 4 && c.replayed == 10 && c.used == 2 && c.wasted == 8,
          "armed: the other pieces merged, cut at max_range_chunks (%zu, %llu %llu %llu)",
          n, (unsigned long long)c.replayed, (unsigned long long)c.used, (unsigned long long)c.wasted);
    replay_free(r);

    /* budget */
    q = p;
    q.budget_chunks = 4;
    r = replay_new(l, 5, &q);
    n = next(r, 0, out);
    CHECK(n == 4 && replay_over(r, &why) && strcmp(why, "budget") == 0, "budget: %zu", n);
    replay_free(r);

    /* divergence: 32 first reads outside the trace stop it; reads of known chunks do not */
    struct trace_run d[] = { { 0, 1, 0 }, { 1000, 1, 50000 } };
    r = replay_new(d, 2, &p);
    next(r, 0, out);
    for (int i = 0; i < 31; i++)
        replay_on_read(r, 500 + i, true);
    for (int i = 0; i < 100; i++)
        replay_on_read(r, 500, false);
    CHECK(!replay_over(r, NULL), "31 misses and re-reads: still on");
    replay_on_read(r, 600, true);
    CHECK(replay_over(r, &why) && strcmp(why, "diverged") == 0, "32 misses: diverged");
    CHECK(next(r, 60000, out) == 0, "nothing after divergence");
    replay_free(r);

    /* a quarter of hits keeps it going */
    r = replay_new(d, 2, &p);
    for (int i = 0; i < 200; i++)
        replay_on_read(r, i % 4 == 0 ? 0 : 700 + (uint64_t)i, true);
    CHECK(!replay_over(r, NULL), "one hit in four: not diverged");
    replay_free(r);

    r = replay_new(NULL, 0, &p);
    CHECK(r && replay_over(r, NULL) && next(r, 0, out) == 0, "an empty trace");
    replay_free(r);
}

int main(void)
{
    format_cases();
    replay_cases();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
