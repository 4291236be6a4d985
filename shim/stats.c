/* stats.c: the statistics line and totals (see stats.h).  No state, no locks: callers
 * hold whatever guards the totals they pass. */
#include <stdio.h>

#include "stats.h"

enum { STATS_SUM, STATS_MAX };

void stats_merge(struct stats_totals *into, const struct stats_totals *from)
{
    static const int how[STAT_COUNT] = {
#define STATS_HOW(name, h, meaning) STATS_##h,
        OBJECT_COUNTERS(STATS_HOW)
#undef STATS_HOW
    };
    for (int i = 0; i < STAT_COUNT; i++)
        into->v[i] = how[i] == STATS_MAX
                         ? (from->v[i] > into->v[i] ? from->v[i] : into->v[i])
                         : into->v[i] + from->v[i];
}

void stats_accumulate(struct stats_totals *t, const struct object_stats *s)
{
    struct stats_totals now = { {
#define STATS_LOAD(name, how, meaning) atomic_load_explicit(&s->name, memory_order_relaxed),
        OBJECT_COUNTERS(STATS_LOAD)
#undef STATS_LOAD
    } };
    stats_merge(t, &now);
}

size_t stats_format(char *buf, size_t cap, const char *path, const char *url, int64_t size,
                    const struct stats_totals *t)
{
    static const char *const names[STAT_COUNT] = {
#define STATS_NAME(name, how, meaning) #name,
        OBJECT_COUNTERS(STATS_NAME)
#undef STATS_NAME
    };
    if (cap < 2)
        return 0;
    size_t len = 0;
    int n = snprintf(buf, cap, "remoteio: stats path=%s url=%s size=%lld", path, url,
                     (long long)size);
    len = n < 0 ? 0 : (size_t)n < cap - 1 ? (size_t)n : cap - 2;
    for (int i = 0; i < STAT_COUNT && len < cap - 2; i++) {
        n = snprintf(buf + len, cap - 1 - len, " %s=%llu", names[i],
                     (unsigned long long)t->v[i]);
        len = n < 0 ? len : len + (size_t)n < cap - 2 ? len + (size_t)n : cap - 2;
    }
    buf[len++] = '\n';
    buf[len] = '\0';
    return len;
}
