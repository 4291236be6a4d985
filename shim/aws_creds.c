/* aws_creds.c: the credentials cache and its refresh thread (see aws_creds.h); the
 * sources are aws_creds_chain.c's.
 *
 * One entry per profile asked for (NULL, the default chain, is its own entry).  A get
 * returns the entry's credentials while they are usable (not expired, less a margin of a
 * tenth of their lifetime, at most a minute); otherwise it fetches them through the
 * whole chain itself, or waits (bounded) for the fetch already under way.  Temporary
 * credentials are refreshed ahead of time from the source that gave them, by a thread of
 * the shim's own, started on the first temporary credentials:
 *
 *     fetched                         due                     expires
 *        |------------------------------|------------------------|
 *                                        <- max(5 min, L/3) ->     (L: the lifetime
 *                                           at most L/2              seen at the fetch)
 *
 * so an hour's credentials are refreshed 20 minutes before they expire and credentials
 * valid a few seconds at half their life.  A failed refresh keeps the current ones and
 * is retried (after a quarter of what remains, 100 ms to 30 s); a get blocks only when
 * they have expired.  A failed full fetch is remembered for 2 s (no storm of fetches and
 * log lines from a program opening many files), unless aws_credentials_invalidate.
 *
 * Locking: creds_lock guards the table and the thread's state; it is held for memory
 * work only, never across a fetch (an entry's `fetching` flag makes fetches single
 * flight), and nothing is taken under it but the log's lock.  Fork: the lock is taken in
 * prepare; the child keeps the credentials, forgets the thread and any fetch in flight,
 * and starts the thread again when it needs it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_creds.h"
#include "aws_creds_chain.h"
#include "clock.h"
#include "lifecycle.h"
#include "log.h"
#include "thread.h"

#define ENTRIES_MAX 32
#define FETCH_WAIT_MS 45000   /* the longest chain: a credential_process's 30 s and more */
#define FAIL_HOLD_MS 2000
#define REFRESH_FLOOR_MS 200  /* never two refreshes of an entry closer than this */
#define EXIT_WAIT_MS 100

struct entry {
    bool used;
    bool named;               /* a profile named by the caller (not NULL) */
    char name[128];
    bool have;
    struct aws_credentials creds;
    enum aws_source source;   /* where creds came from: a refresh asks it alone */
    uint64_t fetched_rt;      /* CLOCK_REALTIME ms of the fetch */
    bool invalid;             /* aws_credentials_invalidate */
    bool fetching;            /* a fetch is under way (single flight) */
    unsigned gen;             /* fetches ended */
    int last_rc;              /* the last fetch's result */
    bool last_full;           /* ... through the whole chain */
    uint64_t fail_until;      /* monotonic: a failed full fetch is remembered until then */
    uint64_t retry_at;        /* monotonic: a failed refresh is retried then */
};

static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fetched_cond; /* a fetch ended; CLOCK_MONOTONIC */
static pthread_cond_t wake_cond;    /* the refresher has something new to look at */
static bool conds_ready;
static struct entry table[ENTRIES_MAX];
static bool refresher_running, refresher_busy, exit_hook;

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void at_exit(void);

/* With creds_lock held, on the first get: the condition variables, and the exit handler
 * (registered after libcurl's, which is loaded before any get, so it runs before them). */
static void init_locked(void)
{
    if (conds_ready)
        return;
    cond_init_monotonic(&fetched_cond);
    cond_init_monotonic(&wake_cond);
    conds_ready = true;
    if (!exit_hook)
        exit_hook = atexit(at_exit) == 0;
}

static uint64_t lifetime(const struct entry *e)
{
    return e->creds.expires_ms > e->fetched_rt ? e->creds.expires_ms - e->fetched_rt : 0;
}

static bool usable(const struct entry *e, uint64_t now_rt)
{
    if (!e->have || e->invalid)
        return false;
    if (e->creds.expires_ms == 0)
        return true;
    uint64_t margin = lifetime(e) / 10;
    if (margin > 60000)
        margin = 60000;
    return now_rt + margin < e->creds.expires_ms;
}

/* When the refresher fetches e's credentials again (CLOCK_REALTIME ms). */
static uint64_t refresh_due(const struct entry *e)
{
    uint64_t l = lifetime(e), ahead = l / 3 > 300000 ? l / 3 : 300000;
    if (ahead > l / 2)
        ahead = l / 2;
    uint64_t due = e->creds.expires_ms - ahead;
    return due < e->fetched_rt + REFRESH_FLOOR_MS ? e->fetched_rt + REFRESH_FLOOR_MS : due;
}

static struct entry *find(const char *profile, bool add)
{
    bool named = profile && *profile;
    struct entry *free_slot = NULL;
    for (int i = 0; i < ENTRIES_MAX; i++) {
        struct entry *e = &table[i];
        if (!e->used) {
            if (!free_slot)
                free_slot = e;
            continue;
        }
        if (e->named == named && (!named || strcmp(e->name, profile) == 0))
            return e;
    }
    if (!add || !free_slot || (named && strlen(profile) >= sizeof free_slot->name))
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->named = named;
    if (named)
        strcpy(free_slot->name, profile);
    return free_slot;
}

/* The profile's name in messages: the one named, else the one the chain uses. */
static const char *label(const struct entry *e)
{
    if (e->named)
        return e->name;
    const char *p = getenv("AWS_PROFILE");
    if (!p || !*p)
        p = getenv("AWS_DEFAULT_PROFILE");
    return p && *p ? p : "default";
}

static void wipe_credentials(struct entry *e)
{
    explicit_bzero(&e->creds, sizeof e->creds);
    e->have = false;
}

static void *refresher(void *arg);

/* With creds_lock held: the refresh thread, if it is not running. */
static void ensure_refresher(void)
{
    if (refresher_running || shim_exiting())
        return;
    int err = thread_start_detached(refresher, NULL, 0);
    if (err) {
        log_limited(LOG_WARN, "aws-refresher", "cannot start the AWS credentials refresh thread: "
                    "%s; credentials are fetched again when they expire", strerror(err));
        return;
    }
    refresher_running = true;
}

static void at_exit(void)
{
    /* Before libcurl's and its TLS library's exit handlers (registered before this one):
     * the refresher leaves libcurl, and what is held is wiped. */
    shim_set_exiting();
    pthread_mutex_lock(&creds_lock);
    pthread_cond_broadcast(&wake_cond);
    uint64_t deadline = now_ms() + EXIT_WAIT_MS;
    struct timespec ts = deadline_timespec(deadline);
    while (refresher_busy && now_ms() < deadline)
        if (pthread_cond_timedwait(&fetched_cond, &creds_lock, &ts) == ETIMEDOUT)
            break;
    for (int i = 0; i < ENTRIES_MAX; i++)
        wipe_credentials(&table[i]);
    pthread_mutex_unlock(&creds_lock);
}

/* Fetches e's credentials (the whole chain, or e's source alone for a refresh), with
 * creds_lock held and released meanwhile.  Returns the fetch's result; the new
 * credentials are in e. */
static int fetch(struct entry *e, enum aws_source only)
{
    bool full = only == AWS_SRC_ANY;
    e->fetching = true;
    char name[sizeof e->name];
    strcpy(name, e->name);
    bool named = e->named;
    pthread_mutex_unlock(&creds_lock);

    struct aws_credentials *fresh = malloc(sizeof *fresh);
    char why[1024] = "out of memory";
    enum aws_source used = AWS_SRC_ANY;
    int rc = fresh ? aws_chain_fetch(named ? name : NULL, only, fresh, &used, why, sizeof why) : -ENOMEM;

    pthread_mutex_lock(&creds_lock);
    e->fetching = false;
    e->gen++;
    e->last_rc = rc;
    e->last_full = full;
    uint64_t now_rt = realtime_ms(), now = now_ms();
    if (rc == 0 && shim_exiting()) {
        rc = -EIO;
    } else if (rc == 0) {
        wipe_credentials(e);
        e->creds = *fresh;
        e->source = used;
        e->have = true;
        e->invalid = false;
        e->fetched_rt = now_rt;
        e->fail_until = e->retry_at = 0;
        if (e->creds.expires_ms && !usable(e, now_rt)) {
            log_error("AWS credentials for profile %s from %s have expired already", label(e),
                      e->creds.source);
            wipe_credentials(e);
            e->last_rc = rc = -EIO;
            e->fail_until = now + FAIL_HOLD_MS;
        } else if (e->creds.expires_ms) {
            log_debug("AWS credentials for profile %s %s from %s, valid %llu s more", label(e),
                      full ? "fetched" : "refreshed", e->creds.source,
                      (unsigned long long)((e->creds.expires_ms - now_rt) / 1000));
            ensure_refresher();
            pthread_cond_signal(&wake_cond);
        } else {
            log_debug("AWS credentials for profile %s from %s", label(e), e->creds.source);
        }
    } else if (full) {
        e->fail_until = now + FAIL_HOLD_MS;
        if (rc == -ENOENT)
            log_error("no AWS credentials found for profile %s (tried: %s)", label(e), why);
        else
            log_error("cannot get AWS credentials for profile %s: %s", label(e), why);
    } else {
        uint64_t left = e->creds.expires_ms > now_rt ? e->creds.expires_ms - now_rt : 0;
        uint64_t backoff = left / 4 < 100 ? 100 : left / 4 > 30000 ? 30000 : left / 4;
        e->retry_at = now + backoff;
        log_limited(LOG_WARN, "aws-refresh", "cannot refresh AWS credentials for profile %s "
                    "from %s: %s; the current ones are valid %llu ms more, retrying in %llu ms",
                    label(e), e->creds.source, why, (unsigned long long)left,
                    (unsigned long long)backoff);
    }
    if (fresh) {
        explicit_bzero(fresh, sizeof *fresh);
        free(fresh);
    }
    explicit_bzero(why, sizeof why);
    pthread_cond_broadcast(&fetched_cond);
    return rc;
}

static void *refresher(void *arg)
{
    shim_enter(); /* all this thread does is the shim's own work */
    pthread_mutex_lock(&creds_lock);
    while (!shim_exiting()) {
        uint64_t now_rt = realtime_ms(), now = now_ms(), wait = 60000;
        struct entry *due = NULL;
        for (int i = 0; i < ENTRIES_MAX && !due; i++) {
            struct entry *e = &table[i];
            if (!e->used || !e->have || !e->creds.expires_ms || e->fetching)
                continue;
            if (e->retry_at > now) {
                wait = e->retry_at - now < wait ? e->retry_at - now : wait;
                continue;
            }
            uint64_t at = refresh_due(e);
            if (at <= now_rt)
                due = e;
            else if (at - now_rt < wait)
                wait = at - now_rt;
        }
        if (due) {
            refresher_busy = true;
            fetch(due, due->source);
            refresher_busy = false;
            pthread_cond_broadcast(&fetched_cond);
            continue;
        }
        struct timespec ts = deadline_timespec(now + wait);
        pthread_cond_timedwait(&wake_cond, &creds_lock, &ts);
    }
    refresher_running = false;
    pthread_mutex_unlock(&creds_lock);
    return NULL;
}

int aws_credentials_get(const char *profile, struct aws_credentials *out)
{
    shim_enter();
    pthread_mutex_lock(&creds_lock);
    init_locked();
    int rc;
    struct entry *e = find(profile, true);
    if (!e) {
        pthread_mutex_unlock(&creds_lock);
        shim_leave();
        log_error("AWS credentials: too many profiles, or a profile name too long");
        return -ENOMEM;
    }
    for (;;) {
        if (usable(e, realtime_ms())) {
            *out = e->creds;
            if (e->creds.expires_ms)
                ensure_refresher();
            rc = 0;
            break;
        }
        if (e->fetching) { /* wait for it, bounded */
            unsigned gen = e->gen;
            uint64_t deadline = now_ms() + FETCH_WAIT_MS;
            struct timespec ts = deadline_timespec(deadline);
            while (e->fetching && e->gen == gen && now_ms() < deadline)
                pthread_cond_timedwait(&fetched_cond, &creds_lock, &ts);
            if (e->gen == gen) {
                log_error("AWS credentials for profile %s: timed out waiting for a fetch", label(e));
                rc = -EIO;
                break;
            }
            if (!usable(e, realtime_ms()) && e->last_rc < 0 && e->last_full) {
                rc = e->last_rc;
                break;
            }
            continue;
        }
        if (now_ms() < e->fail_until) {
            rc = e->last_rc < 0 ? e->last_rc : -EIO;
            break;
        }
        rc = fetch(e, AWS_SRC_ANY);
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&creds_lock);
    shim_leave();
    if (rc < 0)
        explicit_bzero(out, sizeof *out);
    return rc;
}

void aws_credentials_invalidate(const char *profile)
{
    pthread_mutex_lock(&creds_lock);
    struct entry *e = find(profile, false);
    if (e) {
        e->invalid = true;
        e->fail_until = 0;
    }
    pthread_mutex_unlock(&creds_lock);
}

int aws_region_for_profile(const char *profile, char *out, size_t len)
{
    shim_enter();
    int rc = aws_chain_region(profile, out, len);
    shim_leave();
    return rc;
}

void aws_credentials_forget(void)
{
    pthread_mutex_lock(&creds_lock);
    for (int i = 0; i < ENTRIES_MAX; i++) {
        wipe_credentials(&table[i]);
        table[i].fail_until = 0;
    }
    pthread_mutex_unlock(&creds_lock);
}

void aws_credentials_atfork_prepare(void)
{
    pthread_mutex_lock(&creds_lock);
}

void aws_credentials_atfork_parent(void)
{
    pthread_mutex_unlock(&creds_lock);
}

void aws_credentials_atfork_child(void)
{
    /* The refresh thread and any fetch in flight stayed in the parent. */
    for (int i = 0; i < ENTRIES_MAX; i++) {
        if (table[i].fetching) {
            table[i].fetching = false;
            table[i].gen++;
            table[i].last_rc = -EIO;
        }
        table[i].retry_at = 0;
    }
    refresher_running = refresher_busy = false;
    if (conds_ready) {
        cond_init_monotonic(&fetched_cond);
        cond_init_monotonic(&wake_cond);
    }
    pthread_mutex_unlock(&creds_lock);
}
