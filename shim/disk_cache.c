/* disk_cache.c: the persistent disk tier's chunk protocol (design and invariants in
 * disk_cache.h): the shared index (slots, hash, eviction list, pins, leases, repair), read,
 * claim, fill, abandon, wait, and the slab I/O.  Opening is disk_open.c.
 * Locking: h->lock (process-shared, robust) guards every index field except the slots'
 * seq, ref and pin words, which are atomics (used without the lock by readers and
 * waiters); it is never held across a syscall other than the liveness probes kill(pid, 0)
 * and, for fillers, one read of /proc/PID/stat.  dc->stored and dc->local are this
 * process's, every word of them atomic. */
#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "disk_cache.h"
#include "disk_hash.h"
#include "disk_index.h"
#include "disk_sys.h"
#include "log.h"


#define COUNT(dc, field, n)                                                                 \
    (__atomic_fetch_add(&(dc)->c.field, (n), __ATOMIC_RELAXED),                             \
     __atomic_fetch_add(&(dc)->h->total.field, (n), __ATOMIC_RELAXED))

void disk_step_aside(struct disk_cache *dc, const char *what, int err)
{
    if (__atomic_exchange_n(&dc->disabled, 1, __ATOMIC_ACQ_REL) == 0)
        log_warn("disk cache %s: %s: %s; going on without it", dc->dir, what, strerror(err));
}

static bool off(struct disk_cache *dc)
{
    return __atomic_load_n(&dc->disabled, __ATOMIC_ACQUIRE) != 0;
}

/* ---- the index: hash, list, pins (all under lock) ---- */

static uint32_t bucket_of(const struct disk_cache *dc, const struct disk_key *k, uint64_t chunk)
{
    uint64_t a;
    memcpy(&a, k->id, 8);
    uint64_t h = (a ^ (chunk * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    return (uint32_t)(h >> 32) & dc->bucket_mask;
}

static bool same_key(const struct disk_key *a, const struct disk_key *b)
{
    return memcmp(a->id, b->id, sizeof a->id) == 0 && a->url_hash == b->url_hash;
}

/* The slot holding (k, chunk) (READY or FILLING), or NIL. */
static uint32_t find(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk)
{
    uint32_t i = dc->buckets[bucket_of(dc, k, chunk)];
    for (uint32_t steps = 0; i != NIL; steps++) {
        if (i >= dc->nslots || steps > dc->nslots) { /* a damaged chain */
            disk_index_repair(dc, false);
            return off(dc) ? NIL : find(dc, k, chunk);
        }
        struct dc_slot *s = &dc->slots[i];
        if (s->state != SLOT_FREE && s->chunk == chunk && same_key(&s->key, k))
            return i;
        i = s->hnext;
    }
    return NIL;
}

static void hash_insert(struct disk_cache *dc, uint32_t i)
{
    uint32_t *b = &dc->buckets[bucket_of(dc, &dc->slots[i].key, dc->slots[i].chunk)];
    dc->slots[i].hnext = *b;
    *b = i;
}

static void hash_remove(struct disk_cache *dc, uint32_t i)
{
    uint32_t *p = &dc->buckets[bucket_of(dc, &dc->slots[i].key, dc->slots[i].chunk)];
    for (uint32_t steps = 0; *p != NIL && *p < dc->nslots && steps <= dc->nslots; steps++) {
        if (*p == i) {
            *p = dc->slots[i].hnext;
            return;
        }
        p = &dc->slots[*p].hnext;
    }
}

/* A link read from the shared index is an index into slots only once checked: bytes
 * written into the mapped file by anyone would otherwise send us out of the table. */
static bool links_bad(const struct disk_cache *dc, uint32_t a, uint32_t b)
{
    return (a != NIL && a >= dc->nslots) || (b != NIL && b >= dc->nslots);
}

static void list_remove(struct disk_cache *dc, uint32_t i)
{
    struct dc_slot *s = &dc->slots[i];
    if (links_bad(dc, s->prev, s->next) || links_bad(dc, dc->h->head, dc->h->tail))
        disk_index_repair(dc, false); /* links rebuilt from the slots: now sound */
    if (s->prev != NIL)
        dc->slots[s->prev].next = s->next;
    else
        dc->h->head = s->next;
    if (s->next != NIL)
        dc->slots[s->next].prev = s->prev;
    else
        dc->h->tail = s->prev;
    s->prev = s->next = NIL;
}

static void list_push_head(struct disk_cache *dc, uint32_t i)
{
    struct dc_slot *s = &dc->slots[i];
    if (links_bad(dc, dc->h->head, dc->h->tail)) {
        disk_index_repair(dc, false); /* which puts i where its state says */
        return;
    }
    s->prev = NIL;
    s->next = dc->h->head;
    if (s->next != NIL)
        dc->slots[s->next].prev = i;
    else
        dc->h->tail = i;
    dc->h->head = i;
}

static void list_push_tail(struct disk_cache *dc, uint32_t i)
{
    struct dc_slot *s = &dc->slots[i];
    if (links_bad(dc, dc->h->head, dc->h->tail)) {
        disk_index_repair(dc, false);
        return;
    }
    s->next = NIL;
    s->prev = dc->h->tail;
    if (s->prev != NIL)
        dc->slots[s->prev].next = i;
    else
        dc->h->head = i;
    dc->h->tail = i;
}

/* Recencies: when a slot took its place in the list, or was last read without the lock.
 * 16 ms steps of the monotonic clock, never 0 (0: none, or unknown after a repair). */
static uint32_t recency(uint64_t now_ms) { return (uint32_t)(now_ms >> 4) | 1u; }

static bool later(uint32_t a, uint32_t b) { return b == 0 || (int32_t)(a - b) > 0; }

/* Put slot i just behind slot j (on the tail side). */
static void list_insert_behind(struct disk_cache *dc, uint32_t j, uint32_t i)
{
    struct dc_slot *s = &dc->slots[i], *t = &dc->slots[j];
    if (links_bad(dc, dc->h->head, dc->h->tail) || links_bad(dc, t->prev, t->next)) {
        disk_index_repair(dc, false);
        return;
    }
    s->prev = j;
    s->next = t->next;
    if (s->next != NIL)
        dc->slots[s->next].prev = i;
    else
        dc->h->tail = i;
    t->next = i;
}

#define PLACE_STEPS 64 /* how far victim() carries a slot toward the head */

/* Slot i, last read at recency r, moved toward the head past the slots that took their
 * place before r (PLACE_STEPS of them at most): its place in the LRU order. */
static void place_by_recency(struct disk_cache *dc, uint32_t i, uint32_t r)
{
    struct dc_slot *s = &dc->slots[i];
    uint32_t j = s->prev;
    for (int k = 0; k < PLACE_STEPS && j != NIL && j < dc->nslots &&
                    !later(dc->slots[j].moved, r); k++)
        j = dc->slots[j].prev;
    list_remove(dc, i);
    s->moved = r;
    if (j == NIL || j >= dc->nslots) {
        s->tick = ++dc->h->tick;
        list_push_head(dc, i);
    } else {
        s->tick = dc->slots[j].tick;
        list_insert_behind(dc, j, i);
    }
}

static void bump(struct disk_cache *dc, struct dc_slot *s)
{
    __atomic_fetch_add(&s->seq, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&s->seq);
}

/* A pin counts while its process lives and its lease runs; others are cleared. */
static bool pinned(struct dc_slot *s, uint64_t now)
{
    bool any = false;
    for (int p = 0; p < DC_PINS; p++) {
        uint64_t tag = __atomic_load_n(&s->pins[p].tag, __ATOMIC_ACQUIRE);
        if (!tag)
            continue;
        if (__atomic_load_n(&s->pins[p].until_ms, __ATOMIC_RELAXED) > now &&
            sys_alive((int32_t)(tag >> 32)))
            any = true;
        else
            __atomic_compare_exchange_n(&s->pins[p].tag, &tag, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED);
    }
    return any;
}

/* Is the filler pid alive?  A zombie (killed, not yet reaped by its parent) is not: it
 * runs no more code, so its claims are released at once rather than at their lease's end.
 * One read of /proc/PID/stat, and only for FILLING and ORPHAN slots' owners. */
static bool filler_alive(int32_t pid)
{
    if (!sys_alive(pid))
        return false;
    char path[32], buf[128];
    int n = 0;
    for (uint32_t v = (uint32_t)pid, d = 1000000000; d; d /= 10)
        if (v / d || n || d == 1)
            path[6 + n++] = (char)('0' + v / d % 10);
    memcpy(path, "/proc/", 6);
    memcpy(path + 6 + n, "/stat", 6);
    int fd = sys_openat(AT_FDCWD, path, O_RDONLY, 0);
    if (fd < 0)
        return true; /* no /proc of its pid namespace: kill(2)'s answer stands */
    ssize_t r = sys_pread(fd, buf, sizeof buf - 1, 0);
    sys_close(fd);
    if (r <= 0)
        return true;
    buf[r] = 0;
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold anything */
    return !(paren && (paren[2] == 'Z' || paren[2] == 'X'));
}

static bool filler_gone(const struct dc_slot *s, uint64_t now)
{
    return s->lease_ms <= now || !filler_alive(s->owner);
}

static bool orphan_gone(const struct dc_slot *s, uint64_t now)
{
    return s->lease_ms + ORPHAN_MAX_MS <= now || !filler_alive(s->owner);
}

/* A slot becomes FREE, at the tail of the list (reused first). */
static void drop(struct disk_cache *dc, uint32_t i)
{
    struct dc_slot *s = &dc->slots[i];
    if (s->state == SLOT_READY || s->state == SLOT_FREE) /* those are on the list */
        list_remove(dc, i); /* first: a repair it makes puts i back in the hash */
    if (s->state == SLOT_READY || s->state == SLOT_FILLING)
        hash_remove(dc, i);
    if (s->state == SLOT_READY) {
        dc->h->n_ready--;
        dc->h->used -= s->len;
    } else if (s->state == SLOT_FILLING || s->state == SLOT_ORPHAN) {
        dc->h->n_filling--;
    }
    s->state = SLOT_FREE;
    s->len = 0;
    list_push_tail(dc, i);
    bump(dc, s);
}

/* A FILLING slot of a live filler past its lease leaves the hash (its chunk may be
 * claimed afresh elsewhere) but is not reused: that filler may still be writing it. */
static void orphan(struct disk_cache *dc, uint32_t i)
{
    hash_remove(dc, i);
    dc->slots[i].state = SLOT_ORPHAN;
    bump(dc, &dc->slots[i]);
}

/* A FILLING slot whose filler is gone: FREE if it is dead, ORPHAN if it is late. */
static void release_filling(struct disk_cache *dc, uint32_t i)
{
    if (filler_alive(dc->slots[i].owner))
        orphan(dc, i);
    else
        drop(dc, i);
}

static size_t sweep_slots(struct disk_cache *dc, uint32_t n)
{
    uint64_t now = now_ms();
    size_t freed = 0;
    for (uint32_t k = 0; k < n && k < dc->nslots; k++) {
        uint32_t i = dc->h->sweep++ % dc->nslots;
        struct dc_slot *s = &dc->slots[i];
        if ((s->state == SLOT_FILLING && filler_gone(s, now)) ||
            (s->state == SLOT_ORPHAN && orphan_gone(s, now))) {
            if (s->state == SLOT_FILLING)
                release_filling(dc, i);
            else
                drop(dc, i);
            freed++;
        }
        (void)pinned(s, now);
    }
    return freed;
}

static int by_tick_desc(const void *a, const void *b, void *arg)
{
    const struct dc_slot *slots = arg;
    uint64_t ta = slots[*(const uint32_t *)a].tick, tb = slots[*(const uint32_t *)b].tick;
    return ta < tb ? 1 : ta > tb ? -1 : 0;
}

/* Rebuild the derived structures (hash chains, list, counts) from the slots themselves,
 * after a process died holding the lock or a damaged link was met.  force: nobody else
 * has the index open, so every pin and FILLING slot is stale. */
void disk_index_repair(struct disk_cache *dc, bool force)
{
    struct dc_header *h = dc->h;
    uint64_t now = now_ms();
    uint32_t *order = malloc((size_t)dc->nslots * sizeof *order);
    if (!order) {
        disk_step_aside(dc, "repairing the index", ENOMEM);
        return;
    }
    memset(dc->buckets, 0xff, (size_t)(dc->bucket_mask + 1) * sizeof *dc->buckets);
    h->head = h->tail = NIL;
    h->n_ready = h->n_filling = 0;
    h->used = 0;
    uint32_t nready = 0;
    for (uint32_t i = 0; i < dc->nslots; i++) {
        struct dc_slot *s = &dc->slots[i];
        s->prev = s->next = s->hnext = NIL;
        if (force) { /* and the recencies, whose clock may be another boot's */
            for (int p = 0; p < DC_PINS; p++)
                s->pins[p].tag = 0;
            s->moved = 0;
            __atomic_store_n(&s->ref, 0, __ATOMIC_RELAXED);
        }
        if (s->state == SLOT_FILLING && (force || filler_gone(s, now)))
            s->state = !force && filler_alive(s->owner) ? SLOT_ORPHAN : SLOT_FREE;
        if (s->state == SLOT_ORPHAN && (force || orphan_gone(s, now)))
            s->state = SLOT_FREE;
        if (s->state == SLOT_ORPHAN) {
            h->n_filling++; /* on no list, in no chain */
            __atomic_fetch_add(&s->seq, 1, __ATOMIC_RELEASE);
            continue;
        }
        if (s->state == SLOT_READY && (s->len == 0 || s->len > dc->chunk_size))
            s->state = SLOT_FREE;
        if (s->state != SLOT_READY && s->state != SLOT_FILLING)
            s->state = SLOT_FREE;
        if (s->state == SLOT_READY)
            order[nready++] = i;
        if (s->state != SLOT_FREE)
            hash_insert(dc, i);
        if (s->state == SLOT_FILLING)
            h->n_filling++;
        if (s->tick > h->tick)
            h->tick = s->tick;
        __atomic_fetch_add(&s->seq, 1, __ATOMIC_RELEASE);
    }
    qsort_r(order, nready, sizeof *order, by_tick_desc, dc->slots);
    for (uint32_t k = 0; k < nready; k++) {
        list_push_tail(dc, order[k]);
        h->n_ready++;
        h->used += dc->slots[order[k]].len;
    }
    /* Free slots are taken from the tail: lowest index first, so that chunks claimed in
     * order lie end to end in the slab and a run of them is read with one pread. */
    for (uint32_t i = dc->nslots; i-- > 0;)
        if (dc->slots[i].state == SLOT_FREE)
            list_push_tail(dc, i);
    free(order);
    log_info("disk cache %s: index repaired (%u chunks kept)", dc->dir, nready);
}

/* The lock, whether or not the tier stepped aside: for a process to give back its own
 * claims (a failed fill, an abandon), which other processes would otherwise wait for
 * until the claim's lease runs out.  0, -ETIMEDOUT or -ENODEV. */
static int lock_index_any(struct disk_cache *dc)
{
    /* timedlock (CLOCK_REALTIME) rather than clocklock: the sanitizers know it; a clock
     * step can only move this one bounded wait. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += LOCK_TIMEOUT_MS / 1000;
    int rc = pthread_mutex_timedlock(&dc->h->lock, &ts);
    if (rc == EOWNERDEAD) {
        log_warn("disk cache %s: a process died holding the index lock; repairing", dc->dir);
        disk_index_repair(dc, false);
        pthread_mutex_consistent(&dc->h->lock);
        rc = 0;
    }
    if (rc == ETIMEDOUT) {
        log_limited(LOG_WARN, "disk-lock", "disk cache %s: index lock busy for %d ms; skipping",
                    dc->dir, LOCK_TIMEOUT_MS);
        return -ETIMEDOUT;
    }
    if (rc) {
        disk_step_aside(dc, "index lock", rc);
        return -ENODEV;
    }
    return 0;
}

static int lock_index(struct disk_cache *dc)
{
    return off(dc) ? -ENODEV : lock_index_any(dc);
}

static void unlock_index(struct disk_cache *dc)
{
    pthread_mutex_unlock(&dc->h->lock);
}

/* ---- chunks ---- */

/* This process's pid for pin tags, without a syscall per read: reset in a fork's child. */
static int32_t pid_cache; /* atomic */
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_forget(void)
{
    __atomic_store_n(&pid_cache, 0, __ATOMIC_RELAXED);
}

static void pid_setup(void)
{
    pthread_atfork(NULL, NULL, pid_forget);
}

static int32_t my_pid(void)
{
    int32_t p = __atomic_load_n(&pid_cache, __ATOMIC_RELAXED);
    if (p == 0) {
        pthread_once(&pid_once, pid_setup);
        p = (int32_t)getpid();
        __atomic_store_n(&pid_cache, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* The bytes of block b of a chunk (DC_BLOCKS blocks of chunk_size / DC_BLOCKS bytes, the
 * last ones short or empty when the chunk is): [*at, *at + return). */
static size_t block_span(const struct disk_cache *dc, uint32_t len, uint32_t b, size_t *at)
{
    size_t bs = dc->chunk_size / DC_BLOCKS;
    *at = (size_t)b * bs;
    return *at >= len ? 0 : len - *at < bs ? len - *at : bs;
}

static void block_crcs(const struct disk_cache *dc, uint32_t len, const void *data,
                       uint32_t bcrc[DC_BLOCKS])
{
    for (uint32_t b = 0; b < DC_BLOCKS; b++) {
        size_t at, n = block_span(dc, len, b, &at);
        bcrc[b] = n ? crc32c(0, (const char *)data + at, n) : 0;
    }
}

/* The slot's CRC: over the key, the chunk index, the length and the blocks' CRCs. */
static uint32_t chunk_crc(const struct disk_key *k, uint64_t chunk, uint32_t len,
                          const uint32_t bcrc[DC_BLOCKS])
{
    struct {
        uint8_t id[16];
        uint64_t url_hash, chunk;
        uint32_t len, pad;
        uint32_t bcrc[DC_BLOCKS];
    } hdr = { .url_hash = k->url_hash, .chunk = chunk, .len = len };
    memcpy(hdr.id, k->id, sizeof hdr.id);
    memcpy(hdr.bcrc, bcrc, sizeof hdr.bcrc);
    return crc32c(0, &hdr, sizeof hdr);
}

static off_t slot_offset(const struct disk_cache *dc, uint32_t i)
{
    return (off_t)i * dc->chunk_size;
}

static bool key_unset(const struct disk_key *k)
{
    static const uint8_t zero[16];
    return memcmp(k->id, zero, sizeof zero) == 0 && k->url_hash == 0;
}

int disk_key_make(const struct disk_cache *dc, struct disk_key *k, const char *url,
                  const char *validator, uint64_t size)
{
    /* Length-prefixed fields, so that no two triples share an encoding. */
    size_t ul = strlen(url), vl = strlen(validator ? validator : "");
    size_t n = 8 + ul + 8 + vl + 8;
    uint8_t stack[1024], *buf = n <= sizeof stack ? stack : malloc(n);
    memset(k, 0, sizeof *k);
    if (!buf)
        return -ENOMEM;
    uint64_t u = ul, v = vl;
    memcpy(buf, &u, 8);
    memcpy(buf + 8, url, ul);
    memcpy(buf + 8 + ul, &v, 8);
    memcpy(buf + 16 + ul, validator ? validator : "", vl);
    memcpy(buf + 16 + ul + vl, &size, 8);
    siphash128(dc->h->secret, buf, n, k->id);
    uint8_t uh[16];
    siphash128(dc->h->secret, buf, 8 + ul, uh);
    memcpy(&k->url_hash, uh, 8);
    if (buf != stack)
        free(buf);
    return 0;
}

/* A pin for slot s, tag being the caller's: a free entry, clearing dead pins only when
 * there is none.  NULL when every entry is held by a live pin. */
static struct dc_pin *take_pin(struct disk_cache *dc, struct dc_slot *s, uint64_t now,
                               uint64_t tag, int rounds)
{
    for (int round = 0; round < rounds; round++) {
        for (int p = 0; p < DC_PINS; p++) {
            uint64_t zero = 0;
            if (__atomic_load_n(&s->pins[p].tag, __ATOMIC_ACQUIRE) == 0) {
                __atomic_store_n(&s->pins[p].until_ms, now + dc->pin_lease_ms,
                                 __ATOMIC_RELAXED);
                if (__atomic_compare_exchange_n(&s->pins[p].tag, &zero, tag, false,
                                                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                    return &s->pins[p];
            }
        }
        if (round == 0)
            (void)pinned(s, now); /* clears dead pins */
    }
    return NULL;
}

/* A READY chunk pinned for copying: its slot, the generation (seq) and what it holds. */
struct held {
    uint32_t i, seq, len, crc;
    struct dc_pin *pin;
    uint64_t tag;
};

/* Unpin; true when the slot kept its generation all along. */
static bool release(struct disk_cache *dc, struct held *h)
{
    bool same = __atomic_load_n(&dc->slots[h->i].seq, __ATOMIC_ACQUIRE) == h->seq;
    if (h->pin)
        __atomic_compare_exchange_n(&h->pin->tag, &h->tag, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED);
    return same;
}

/* ---- the lock-free read path ----
 * A chunk this process found READY in slot i at generation seq is remembered (dc->local).
 * A later read of it checks that slot i's seq is still seq (every change of a slot's
 * identity or state moves it), pins it, and checks again: the slot is then that chunk,
 * READY, pinned, without the index lock.  The copy's own seq check (I2) still decides.
 * Such a read cannot move the slot in the eviction list; it writes the time of its use
 * in the slot's ref word (a recency: the monotonic clock in 16 ms steps, shared by the
 * processes of one boot), and victim() moves a slot read since it last moved to where
 * that time puts it, not to the head: a chunk read an hour ago does not outlive one
 * filled a minute ago. */
static size_t local_index(const struct disk_cache *dc, const struct disk_key *k,
                          uint64_t chunk)
{
    uint64_t a;
    memcpy(&a, k->id + 8, 8);
    uint64_t x = (a ^ chunk * 0x9e3779b97f4a7c15ULL) * 0xc2b2ae3d27d4eb4fULL;
    return (size_t)((x >> 32) & dc->local_mask);
}

/* Does entry e remember (k, chunk)?  Read as a seqlock: the words are one write's. */
static bool local_match(const struct dc_local *e, const struct disk_key *k, uint64_t chunk,
                        uint64_t *ss, uint64_t *lc)
{
    uint64_t v1 = __atomic_load_n(&e->ver, __ATOMIC_ACQUIRE);
    if (v1 == 0 || (v1 & 1))
        return false;
    uint64_t id0 = __atomic_load_n(&e->id[0], __ATOMIC_ACQUIRE);
    uint64_t id1 = __atomic_load_n(&e->id[1], __ATOMIC_ACQUIRE);
    uint64_t uh = __atomic_load_n(&e->url_hash, __ATOMIC_ACQUIRE);
    uint64_t ch = __atomic_load_n(&e->chunk, __ATOMIC_ACQUIRE);
    *ss = __atomic_load_n(&e->slot_seq, __ATOMIC_ACQUIRE);
    *lc = __atomic_load_n(&e->len_crc, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&e->ver, __ATOMIC_RELAXED) != v1)
        return false;
    uint64_t id[2];
    memcpy(id, k->id, 16);
    return id0 == id[0] && id1 == id[1] && uh == k->url_hash && ch == chunk;
}

/* Two ways per chunk (entries i and i ^ 1, neighbouring lines): two chunks that hash
 * alike do not evict each other on every read. */
static void local_put(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                      const struct held *h)
{
    if (!dc->local)
        return;
    size_t at = local_index(dc, k, chunk);
    struct dc_local *e = &dc->local[at];
    uint64_t ss, lc;
    if (__atomic_load_n(&e->ver, __ATOMIC_RELAXED) != 0 && !local_match(e, k, chunk, &ss, &lc)) {
        struct dc_local *other = &dc->local[at ^ 1];
        if (__atomic_load_n(&other->ver, __ATOMIC_RELAXED) == 0 ||
            local_match(other, k, chunk, &ss, &lc) || (chunk & 1))
            e = other;
    }
    uint64_t v = __atomic_load_n(&e->ver, __ATOMIC_RELAXED);
    if ((v & 1) || !__atomic_compare_exchange_n(&e->ver, &v, v + 1, false, __ATOMIC_ACQ_REL,
                                                __ATOMIC_RELAXED))
        return; /* another thread writes it: leave it */
    /* Release stores, acquire loads in local_match: a reader that sees one new word sees
     * the odd ver too (no fences: TSan does not model them). */
    uint64_t id[2];
    memcpy(id, k->id, 16);
    __atomic_store_n(&e->id[0], id[0], __ATOMIC_RELEASE);
    __atomic_store_n(&e->id[1], id[1], __ATOMIC_RELEASE);
    __atomic_store_n(&e->url_hash, k->url_hash, __ATOMIC_RELEASE);
    __atomic_store_n(&e->chunk, chunk, __ATOMIC_RELEASE);
    __atomic_store_n(&e->slot_seq, (uint64_t)h->i << 32 | h->seq, __ATOMIC_RELEASE);
    __atomic_store_n(&e->len_crc, (uint64_t)h->len << 32 | h->crc, __ATOMIC_RELEASE);
    __atomic_store_n(&e->ver, v + 2, __ATOMIC_RELEASE);
}

/* Pin chunk of k without the lock, from this process's memory of it; false: take the
 * locked path. */
static bool hold_fast(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                      struct held *h)
{
    if (!dc->local || off(dc))
        return false;
    size_t at = local_index(dc, k, chunk);
    uint64_t ss, lc;
    __builtin_prefetch(&dc->local[at ^ 1], 0); /* the other way, in parallel */
    if (!local_match(&dc->local[at], k, chunk, &ss, &lc) &&
        !local_match(&dc->local[at ^ 1], k, chunk, &ss, &lc))
        return false;
    uint32_t i = (uint32_t)(ss >> 32), seq = (uint32_t)ss;
    if (i >= dc->nslots)
        return false;
    struct dc_slot *s = &dc->slots[i];
    /* The slot's second line (the rest of the block CRCs, the pins, to be written) while
     * the first one's seq is loaded: the two misses overlap. */
    __builtin_prefetch((const char *)s + 64, 1);
    if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != seq)
        return false;
    h->tag = (uint64_t)(uint32_t)my_pid() << 32 |
             (__atomic_fetch_add(&dc->nonce, 1, __ATOMIC_RELAXED) | 1u);
    uint64_t now = now_ms();
    h->pin = take_pin(dc, s, now, h->tag, 1);
    if (!h->pin)
        return false; /* the locked path clears dead pins */
    h->i = i;
    h->seq = seq;
    h->len = (uint32_t)(lc >> 32);
    h->crc = (uint32_t)lc;
    if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != seq) {
        release(dc, h);
        return false;
    }
    uint32_t r = recency(now);
    if (__atomic_load_n(&s->ref, __ATOMIC_RELAXED) != r) /* one write per 16 ms at most */
        __atomic_store_n(&s->ref, r, __ATOMIC_RELAXED);
    return true;
}

/* With the lock held: find and pin chunk of k, and move it to the head of the list.  0,
 * -ENOENT or -EINPROGRESS. */
static int hold_locked(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                       struct held *h)
{
    uint32_t i = find(dc, k, chunk);
    if (i == NIL)
        return -ENOENT;
    struct dc_slot *s = &dc->slots[i];
    if (s->state == SLOT_FILLING)
        return -EINPROGRESS;
    h->i = i;
    h->tag = (uint64_t)(uint32_t)my_pid() << 32 |
             (__atomic_fetch_add(&dc->nonce, 1, __ATOMIC_RELAXED) | 1u);
    /* No free pin entry: copy unpinned; I2 still holds (the seq check). */
    uint64_t now = now_ms();
    h->pin = take_pin(dc, s, now, h->tag, 2);
    h->seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    h->len = s->len;
    h->crc = s->crc;
    s->tick = ++dc->h->tick;
    s->moved = recency(now);
    list_remove(dc, i);
    list_push_head(dc, i);
    return 0;
}

/* Find and pin chunk of k.  0, -ENOENT (counted as a miss if count), -EINPROGRESS,
 * -ENODEV. */
static int hold(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                struct held *h, bool count)
{
    if (key_unset(k))
        return -ENOENT;
    if (hold_fast(dc, k, chunk, h))
        return 0;
    if (lock_index(dc))
        return -ENODEV;
    int rc = hold_locked(dc, k, chunk, h);
    unlock_index(dc);
    if (rc == 0)
        local_put(dc, k, chunk, h);
    else if (rc == -ENOENT && count)
        COUNT(dc, misses, 1);
    return rc;
}

static bool slab_read(struct disk_cache *dc, void *buf, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = sys_pread(dc->slab_fd, (char *)buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                disk_step_aside(dc, "reading the slab", errno);
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

/* A chunk that failed its check: counted, logged, dropped (if it is still that one). */
static void failed_check(struct disk_cache *dc, const struct held *h, uint64_t chunk)
{
    COUNT(dc, checksum_failures, 1);
    log_limited(LOG_WARN, "disk-crc", "disk cache %s: chunk %llu failed its checksum; refetching",
                dc->dir, (unsigned long long)chunk);
    if (lock_index(dc) == 0) {
        struct dc_slot *s = &dc->slots[h->i];
        if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == h->seq && s->state == SLOT_READY)
            drop(dc, h->i);
        unlock_index(dc);
    }
}

/* Copy [from, from+len) of a held chunk into buf (buf NULL, len 0: only verify all of
 * it).  Every call checks what it returns (I2): the blocks that cover the range are read
 * (straight into buf when the range is whole blocks, else into a scratch copy) and each
 * matched against its CRC, the blocks' CRCs against the slot's CRC.  The length, or
 * -ENOENT (reused meanwhile), -EBADMSG (failed its check, dropped), -ENOMEM, -ENODEV. */
static ssize_t copy_held(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                         struct held *h, size_t from, void *buf, size_t len)
{
    size_t bs = dc->chunk_size / DC_BLOCKS;
    uint32_t bcrc[DC_BLOCKS];
    /* Pinned and READY: fixed in this generation, which release() confirms.  Atomic
     * words: a slot reused under a lock-free reader (a miss, by the seq) may be written
     * meanwhile. */
    for (int b = 0; b < DC_BLOCKS; b++)
        bcrc[b] = __atomic_load_n(&dc->slots[h->i].bcrc[b], __ATOMIC_RELAXED);
    bool good = h->len > 0 && h->len <= dc->chunk_size &&
                chunk_crc(k, chunk, h->len, bcrc) == h->crc;
    size_t lo = 0, hi = h->len; /* the covering blocks: [lo, hi) */
    if (len) {
        lo = from / bs * bs;
        hi = (from + len + bs - 1) / bs * bs;
        if (hi > h->len)
            hi = h->len;
    }
    char *scratch = NULL, *dst = buf;
    if (good && !(buf && lo == from && hi == from + len)) {
        scratch = malloc(hi - lo);
        if (!scratch) {
            release(dc, h);
            return -ENOMEM;
        }
        dst = scratch;
    }
    good = good && slab_read(dc, dst, hi - lo, slot_offset(dc, h->i) + (off_t)lo);
    for (uint32_t b = (uint32_t)(lo / bs); good && b * bs < hi; b++) {
        size_t at, n = block_span(dc, h->len, b, &at);
        good = crc32c(0, dst + (at - lo), n) == bcrc[b];
    }
    if (good && scratch && len)
        memcpy(buf, scratch + (from - lo), len);
    free(scratch);
    bool same = release(dc, h);
    if (good && same) {
        COUNT(dc, hits, 1);
        return (ssize_t)len;
    }
    COUNT(dc, misses, 1);
    if (!same || off(dc))
        return off(dc) ? -ENODEV : -ENOENT; /* reused under us, or the tier stepped aside */
    failed_check(dc, h, chunk);
    return -EBADMSG;
}

ssize_t disk_cache_read(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                        void *buf, size_t len)
{
    struct held h;
    int rc = hold(dc, k, chunk, &h, true);
    if (rc)
        return rc;
    if (len < h.len) {
        release(dc, &h);
        return -EINVAL;
    }
    return copy_held(dc, k, chunk, &h, 0, buf, h.len);
}

ssize_t disk_cache_read_at(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                           size_t off, void *buf, size_t len)
{
    struct held h;
    int rc = hold(dc, k, chunk, &h, false);
    if (rc)
        return rc;
    if (off > h.len || len > h.len - off || (!buf && len)) {
        release(dc, &h);
        return -EINVAL;
    }
    if (dc->stored && __atomic_load_n(&dc->stored[h.i], __ATOMIC_RELAXED) == h.seq + 1) {
        release(dc, &h);
        return -EAGAIN;
    }
    return copy_held(dc, k, chunk, &h, off, buf, len);
}

bool disk_cache_has(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk)
{
    if (key_unset(k) || lock_index(dc))
        return false;
    uint32_t i = find(dc, k, chunk);
    bool ready = i != NIL && dc->slots[i].state == SLOT_READY;
    unlock_index(dc);
    return ready;
}

void disk_cache_detach(struct disk_cache *dc)
{
    if (!dc || dc->opener != my_pid() || lock_index(dc))
        return;
    /* Under the index lock, so that no thread of ours is halfway through a change; the
     * exclusive OFD lock only if no other process is attached (never waited for). */
    uint32_t boot = disk_boot_id();
    if (boot && dc->h->n_filling == 0 && sys_ofd_lock(dc->index_fd, F_WRLCK) == 0) {
        dc->h->clean_boot = boot;
        __atomic_store_n(&dc->h->clean, DC_CLEAN, __ATOMIC_RELEASE);
        (void)sys_ofd_lock(dc->index_fd, F_RDLCK);
    }
    unlock_index(dc);
}

uint32_t disk_boot_id(void)
{
    static uint32_t id; /* atomic: the same for the whole boot */
    uint32_t v = __atomic_load_n(&id, __ATOMIC_RELAXED);
    if (v)
        return v;
    char buf[64];
    int fd = sys_openat(AT_FDCWD, "/proc/sys/kernel/random/boot_id", O_RDONLY, 0);
    if (fd < 0)
        return 0;
    ssize_t r = sys_pread(fd, buf, sizeof buf, 0);
    sys_close(fd);
    if (r < 16)
        return 0;
    v = crc32c(0, buf, (size_t)r) | 1u;
    __atomic_store_n(&id, v, __ATOMIC_RELAXED);
    return v;
}

size_t disk_cache_ready_run(struct disk_cache *dc, const struct disk_key *k, uint64_t first,
                            size_t max)
{
    if (key_unset(k) || max == 0 || lock_index(dc))
        return 0;
    size_t n = 0;
    while (n < max) {
        uint32_t i = find(dc, k, first + n);
        if (i == NIL || dc->slots[i].state != SLOT_READY)
            break;
        /* Remembered, so that the read that follows takes no lock. */
        struct held h = { .i = i, .seq = __atomic_load_n(&dc->slots[i].seq, __ATOMIC_ACQUIRE),
                          .len = dc->slots[i].len, .crc = dc->slots[i].crc };
        local_put(dc, k, first + n, &h);
        n++;
    }
    unlock_index(dc);
    return n;
}

/* Whole chunks first.. into buf: pinned with one lock (or none), read with one pread per
 * stretch of slots that lie end to end in the slab, each block checked as in copy_held
 * (I2).  The run stops at the first chunk that is not READY, is short, was stored by
 * this process (-EAGAIN in disk_cache_read_at), or fails a check: that one is left to
 * disk_cache_read_at, which counts and drops it. */
size_t disk_cache_read_run(struct disk_cache *dc, const struct disk_key *k, uint64_t first,
                           void *buf, size_t nchunks)
{
    struct held hs[DISK_READ_RUN_MAX];
    size_t cs = dc->chunk_size, n = 0;
    size_t want = nchunks < DISK_READ_RUN_MAX ? nchunks : DISK_READ_RUN_MAX;
    if (key_unset(k) || want == 0)
        return 0;
    while (n < want && hold_fast(dc, k, first + n, &hs[n]))
        n++;
    if (n < want && lock_index(dc) == 0) {
        size_t from = n;
        while (n < want && hold_locked(dc, k, first + n, &hs[n]) == 0)
            n++;
        unlock_index(dc);
        for (size_t j = from; j < n; j++)
            local_put(dc, k, first + j, &hs[j]);
    }
    uint32_t bcrc[DISK_READ_RUN_MAX][DC_BLOCKS];
    size_t use = 0; /* chunks whose slot CRC holds over the block CRCs as loaded */
    while (use < n && hs[use].len == cs &&
           !(dc->stored && __atomic_load_n(&dc->stored[hs[use].i], __ATOMIC_RELAXED) ==
                               hs[use].seq + 1)) {
        for (int b = 0; b < DC_BLOCKS; b++)
            bcrc[use][b] = __atomic_load_n(&dc->slots[hs[use].i].bcrc[b], __ATOMIC_RELAXED);
        if (chunk_crc(k, first + use, hs[use].len, bcrc[use]) != hs[use].crc)
            break;
        use++;
    }
    size_t good = 0; /* chunks read and checked, from the first */
    bool ok = true;
    while (ok && good < use) {
        size_t end = good + 1; /* [good, end): slots end to end in the slab */
        while (end < use &&
               slot_offset(dc, hs[end].i) == slot_offset(dc, hs[end - 1].i) + (off_t)cs)
            end++;
        char *dst = (char *)buf + good * cs;
        ok = slab_read(dc, dst, (end - good) * cs, slot_offset(dc, hs[good].i));
        while (ok && good < end) {
            for (uint32_t b = 0; ok && b < DC_BLOCKS; b++) {
                size_t at, len = block_span(dc, hs[good].len, b, &at);
                ok = crc32c(0, dst + at, len) == bcrc[good][b];
            }
            if (ok) {
                good++;
                dst += cs;
            }
        }
    }
    size_t served = 0;
    for (size_t j = 0; j < n; j++)
        if (release(dc, &hs[j]) && j == served && j < good)
            served++;
    if (served)
        COUNT(dc, hits, served);
    return served;
}

/* The slot to reuse: the least recent FREE or READY slot no live reader pins. */
static uint32_t victim(struct disk_cache *dc)
{
    uint64_t now = now_ms();
    uint32_t i = dc->h->tail;
    for (uint32_t steps = 0; i != NIL && steps <= 2 * dc->nslots; steps++) {
        if (i >= dc->nslots) {
            disk_index_repair(dc, false);
            return NIL;
        }
        struct dc_slot *s = &dc->slots[i];
        uint32_t prev = s->prev, r = __atomic_load_n(&s->ref, __ATOMIC_RELAXED);
        if (s->state == SLOT_READY && r && later(r, s->moved) && prev != NIL &&
            prev < dc->nslots && later(r, dc->slots[prev].moved)) {
            /* Read without the lock after the slot ahead of it took its place: it moves
             * to where that read puts it, and the walk goes on from its old place. */
            __atomic_store_n(&s->ref, 0, __ATOMIC_RELAXED);
            place_by_recency(dc, i, r);
        } else if (!pinned(s, now)) {
            return i;
        }
        i = prev;
    }
    return NIL;
}

int disk_cache_claim(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                     struct disk_claim *c)
{
    if (key_unset(k))
        return -ENOSPC;
    if (lock_index(dc))
        return -ENODEV;
    sweep_slots(dc, SWEEP_STEP);
    uint64_t now = now_ms();
    int32_t me = getpid();
    uint32_t i = find(dc, k, chunk);
    struct dc_slot *s = i == NIL ? NULL : &dc->slots[i];
    int rc = 0;
    bool evicted = false;
    if (s && s->state == SLOT_READY) {
        rc = -EEXIST;
    } else if (s && !filler_gone(s, now)) { /* FILLING */
        rc = -EINPROGRESS;
    } else if (s) {
        COUNT(dc, takeovers, 1);
        log_info("disk cache %s: taking over chunk %llu from process %d", dc->dir,
                 (unsigned long long)chunk, s->owner);
        if (filler_alive(s->owner)) { /* late, and may still write there: a new slot */
            orphan(dc, i);
            s = NULL;
        }
    }
    if (rc || s) {
        /* A READY copy, another's fill, or a dead filler's slot to take over as it is. */
    } else if ((i = victim(dc)) == NIL) {
        rc = -ENOSPC;
    } else {
        s = &dc->slots[i];
        evicted = s->state == SLOT_READY;
        if (evicted)
            COUNT(dc, evictions, 1);
        drop(dc, i); /* to FREE: out of the hash, counts adjusted */
        list_remove(dc, i);
        s->key = *k;
        s->chunk = chunk;
        s->state = SLOT_FILLING;
        s->len = 0;
        hash_insert(dc, i);
        dc->h->n_filling++;
    }
    if (rc == 0) {
        s->owner = me;
        s->lease_ms = now + dc->fill_lease_ms;
        bump(dc, s);
        *c = (struct disk_claim){ .slot = i, .seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE),
                                  .key = *k, .chunk = chunk, .evicted = evicted };
    }
    unlock_index(dc);
    return rc;
}

static uint32_t retired_entry(const struct disk_key *k)
{
    return (uint32_t)(k->url_hash % DC_RETIRED);
}

/* Lock held: a chunk of k is stored; if another version of its URL was recorded as the
 * one in use, the next open of that version scans again. */
static void note_version(struct disk_cache *dc, const struct disk_key *k)
{
    typeof(dc->h->retired[0]) *e = &dc->h->retired[retired_entry(k)];
    if (e->url_hash == k->url_hash && memcmp(e->id, k->id, sizeof e->id) != 0)
        memset(e, 0, sizeof *e);
}

static bool claim_holds(struct disk_cache *dc, const struct disk_claim *c)
{
    if (c->slot >= dc->nslots)
        return false;
    struct dc_slot *s = &dc->slots[c->slot];
    return s->state == SLOT_FILLING && s->owner == getpid() &&
           __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == c->seq && s->chunk == c->chunk &&
           same_key(&s->key, &c->key);
}

/* Lock held: claim c failed (it is stale, or the fill or the tier failed).  A slot this
 * process still holds for c's chunk is freed at once, so that nobody waits for it until
 * its lease runs out: c's orphan (its claim was taken over while this process lived),
 * or c's slot still FILLING under this pid whose seq moved under the claim (a repair of
 * the index bumps every slot's seq).  Nothing else can be such a slot: only this
 * process's claim of that chunk puts it FILLING under its pid, a second claim of a chunk
 * FILLING under a live pid is refused (-EINPROGRESS) until its lease ends, and then it
 * becomes an orphan; so the slot is not another claim's, and this process writes no
 * more into it. */
static void release_own(struct disk_cache *dc, const struct disk_claim *c)
{
    if (c->slot >= dc->nslots)
        return;
    struct dc_slot *s = &dc->slots[c->slot];
    if ((s->state == SLOT_ORPHAN || s->state == SLOT_FILLING) && s->owner == getpid() &&
        s->chunk == c->chunk && same_key(&s->key, &c->key))
        drop(dc, c->slot);
}

void disk_cache_abandon(struct disk_cache *dc, const struct disk_claim *c)
{
    if (lock_index_any(dc))
        return;
    release_own(dc, c); /* claim_holds(dc, c) or not */
    unlock_index(dc);
}

int disk_cache_fill(struct disk_cache *dc, const struct disk_claim *c, const void *data,
                    size_t len)
{
    if (len == 0 || len > dc->chunk_size || c->slot >= dc->nslots) {
        disk_cache_abandon(dc, c);
        return -EINVAL;
    }
    /* A claim lost already (lease run out, taken over) writes nothing.  One lost during
     * the pwrite below writes into its own slot, an orphan that nobody else uses (I4).
     * Every way out but success gives the slot back at once (release_own). */
    if (lock_index_any(dc))
        return -ENODEV;
    bool holds = !off(dc) && claim_holds(dc, c);
    if (!holds)
        release_own(dc, c);
    unlock_index(dc);
    if (!holds)
        return off(dc) ? -ENODEV : -ESTALE;
    uint32_t bcrc[DC_BLOCKS];
    block_crcs(dc, (uint32_t)len, data, bcrc);
    uint32_t crc = chunk_crc(&c->key, c->chunk, (uint32_t)len, bcrc);
    size_t done = 0;
    while (done < len) {
        ssize_t w = sys_pwrite(dc->slab_fd, (const char *)data + done, len - done,
                               slot_offset(dc, c->slot) + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            disk_cache_abandon(dc, c);
            disk_step_aside(dc, "writing the slab", err);
            return -ENODEV;
        }
        done += (size_t)w;
    }
    if (lock_index_any(dc))
        return -ENODEV;
    int rc = off(dc) ? -ENODEV : -ESTALE;
    if (rc == -ESTALE && claim_holds(dc, c)) {
        struct dc_slot *s = &dc->slots[c->slot];
        s->len = (uint32_t)len;
        s->crc = crc;
        for (int b = 0; b < DC_BLOCKS; b++)
            __atomic_store_n(&s->bcrc[b], bcrc[b], __ATOMIC_RELAXED);
        s->state = SLOT_READY;
        s->tick = ++dc->h->tick;
        s->moved = recency(now_ms());
        __atomic_store_n(&s->ref, 0, __ATOMIC_RELAXED);
        list_push_head(dc, c->slot);
        dc->h->n_filling--;
        dc->h->n_ready++;
        dc->h->used += len;
        bump(dc, s);
        note_version(dc, &c->key);
        if (dc->stored)
            __atomic_store_n(&dc->stored[c->slot], __atomic_load_n(&s->seq, __ATOMIC_RELAXED) + 1,
                             __ATOMIC_RELAXED);
        rc = 0;
    } else {
        release_own(dc, c);
    }
    unlock_index(dc);
    if (rc == 0) {
        COUNT(dc, writes, 1);
        COUNT(dc, bytes_written, len);
    }
    return rc;
}

int disk_cache_wait(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                    uint64_t deadline_ms)
{
    for (;;) {
        int rc = lock_index(dc);
        if (rc)
            return rc == -ETIMEDOUT ? -ETIMEDOUT : -ENODEV;
        uint64_t now = now_ms();
        uint32_t i = find(dc, k, chunk);
        struct dc_slot *s = i == NIL ? NULL : &dc->slots[i];
        if (!s || (s->state == SLOT_FILLING && filler_gone(s, now))) {
            unlock_index(dc);
            return -ENOENT;
        }
        if (s->state == SLOT_READY) {
            unlock_index(dc);
            return 0;
        }
        uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        unlock_index(dc);
        if (now >= deadline_ms)
            return -ETIMEDOUT;
        uint64_t ms = deadline_ms - now;
        sys_futex_wait(&s->seq, seq, ms < 50 ? ms : 50); /* 50: recheck the filler's life */
    }
}

ssize_t disk_cache_get(struct disk_cache *dc, const struct disk_key *k, uint64_t chunk,
                       void *buf, size_t len, uint64_t deadline_ms, disk_fetch_fn fetch,
                       void *arg)
{
    for (int round = 0; dc && round < 8; round++) {
        ssize_t n = disk_cache_read(dc, k, chunk, buf, len);
        if (n >= 0)
            return n;
        if (n == -EINPROGRESS) {
            int w = disk_cache_wait(dc, k, chunk, deadline_ms);
            if (w == 0 || w == -ENOENT)
                continue;
            break; /* late or off: fetch it ourselves */
        }
        if (n != -ENOENT && n != -EBADMSG)
            break;
        struct disk_claim c;
        int rc = disk_cache_claim(dc, k, chunk, &c);
        if (rc == -EEXIST || rc == -EINPROGRESS)
            continue;
        if (rc)
            break;
        n = fetch(arg, chunk, buf, len);
        if (n > 0 && (size_t)n <= dc->chunk_size)
            disk_cache_fill(dc, &c, buf, (size_t)n);
        else
            disk_cache_abandon(dc, &c);
        return n;
    }
    return fetch(arg, chunk, buf, len);
}

size_t disk_cache_retire_others(struct disk_cache *dc, const struct disk_key *k)
{
    size_t n = 0;
    if (key_unset(k) || lock_index(dc))
        return 0;
    typeof(dc->h->retired[0]) *e = &dc->h->retired[retired_entry(k)];
    if (e->url_hash == k->url_hash && memcmp(e->id, k->id, sizeof e->id) == 0) {
        unlock_index(dc); /* retired at an earlier open, and nothing stored since */
        return 0;
    }
    e->url_hash = k->url_hash;
    memcpy(e->id, k->id, sizeof e->id);
    /* A scan in batches, the lock released between them: a chunk of another version
     * stored meanwhile clears the entry again (note_version), so it is not forgotten. */
    for (uint32_t from = 0; from < dc->nslots; from += RETIRE_BATCH) {
        if (from > 0 && lock_index(dc))
            return n;
        for (uint32_t i = from; i < dc->nslots && i < from + RETIRE_BATCH; i++) {
            struct dc_slot *s = &dc->slots[i];
            if (s->state == SLOT_READY && s->key.url_hash == k->url_hash &&
                memcmp(s->key.id, k->id, sizeof k->id) != 0) {
                list_remove(dc, i);
                list_push_tail(dc, i);
                n++;
            }
        }
        unlock_index(dc);
    }
    return n;
}

size_t disk_cache_clear(struct disk_cache *dc, const struct disk_key *k)
{
    size_t n = 0;
    if (lock_index(dc))
        return 0;
    for (uint32_t i = dc->nslots; i-- > 0;) { /* the lowest ends at the tail (repair) */
        struct dc_slot *s = &dc->slots[i];
        if (s->state == SLOT_READY && (!k || same_key(&s->key, k))) {
            drop(dc, i);
            n++;
        }
    }
    unlock_index(dc);
    return n;
}

size_t disk_cache_clear_url(struct disk_cache *dc, const char *url)
{
    struct disk_key k;
    if (disk_key_make(dc, &k, url, "", 0) || lock_index(dc))
        return 0;
    size_t n = 0;
    for (uint32_t i = dc->nslots; i-- > 0;) { /* the lowest ends at the tail (repair) */
        struct dc_slot *s = &dc->slots[i];
        if (s->state == SLOT_READY && s->key.url_hash == k.url_hash) {
            drop(dc, i);
            n++;
        }
    }
    unlock_index(dc);
    return n;
}

size_t disk_cache_each(struct disk_cache *dc, disk_each_fn fn, void *arg)
{
    enum { BATCH = 512 };
    struct { struct disk_key key; uint64_t chunk, tick; uint32_t len; } copy[BATCH];
    size_t total = 0;
    for (uint32_t from = 0; from < dc->nslots; from += BATCH) {
        size_t n = 0;
        if (lock_index(dc))
            return total;
        for (uint32_t i = from; i < dc->nslots && i < from + BATCH; i++) {
            const struct dc_slot *s = &dc->slots[i];
            if (s->state == SLOT_READY)
                copy[n++] = (typeof(copy[0])){ s->key, s->chunk, s->tick, s->len };
        }
        unlock_index(dc);
        for (size_t j = 0; j < n; j++)
            fn(arg, &copy[j].key, copy[j].chunk, copy[j].len, copy[j].tick);
        total += n;
    }
    return total;
}

size_t disk_cache_sweep(struct disk_cache *dc)
{
    if (lock_index(dc))
        return 0;
    size_t n = sweep_slots(dc, dc->nslots);
    unlock_index(dc);
    return n;
}

void disk_cache_set_leases(struct disk_cache *dc, uint64_t pin_ms, uint64_t fill_ms)
{
    dc->pin_lease_ms = pin_ms;
    dc->fill_lease_ms = fill_ms;
}

static void read_stats(struct disk_cache *dc, struct disk_cache_stats *st, bool count_pins)
{
    memset(st, 0, sizeof *st);
    st->limit = dc->limit;
    st->slots = dc->nslots;
    st->chunk_size = dc->chunk_size;
    st->file_bytes = dc->h->index_size + dc->h->slab_size;
#define LOAD(f)                                                                             \
    (st->f = __atomic_load_n(&dc->c.f, __ATOMIC_RELAXED),                                   \
     st->host.f = __atomic_load_n(&dc->h->total.f, __ATOMIC_RELAXED))
    LOAD(hits); LOAD(misses); LOAD(writes); LOAD(bytes_written); LOAD(evictions);
    LOAD(checksum_failures); LOAD(takeovers);
#undef LOAD
    if (lock_index(dc))
        return;
    uint64_t now = now_ms();
    st->used = dc->h->used;
    st->ready = dc->h->n_ready;
    st->filling = dc->h->n_filling;
    for (uint32_t i = 0; count_pins && i < dc->nslots; i++)
        st->pinned += pinned(&dc->slots[i], now);
    unlock_index(dc);
}

void disk_cache_stats(struct disk_cache *dc, struct disk_cache_stats *st)
{
    read_stats(dc, st, true);
}

void disk_cache_usage(struct disk_cache *dc, struct disk_cache_stats *st)
{
    read_stats(dc, st, false);
}

void disk_cache_place_descriptors(struct disk_cache *dc, int (*place)(int fd))
{
    dc->dirfd = place(dc->dirfd);
    dc->index_fd = place(dc->index_fd); /* its OFD lock stays with the open file */
    dc->slab_fd = place(dc->slab_fd);
}
