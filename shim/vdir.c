/* vdir.c: see vdir.h.  table_lock guards by_fd[] and every vdir's reference count; a
 * vdir's pos_lock guards its position.  The listing is taken before the vdir is in the
 * table, with no lock held. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "clock.h"
#include "fdtable.h"
#include "log.h"
#include "object.h"
#include "path.h"
#include "s3_list.h"
#include "url.h"
#include "vdir.h"

#define VIRTUAL_DEV makedev(0, 0x52) /* the objects' (object.c) */

struct vdir {
    int refs;                 /* table_lock */
    uint64_t taken_ms;        /* when the listing was taken */
    char *path;               /* normalised, no trailing '/' ("/remote" for the root) */
    struct vdir_entry *e;     /* "." and ".." first, then the listing, sorted */
    size_t n;
    char *names;              /* the entries' names, one block */
    pthread_mutex_t pos_lock;
    size_t pos;               /* pos_lock */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vdir **by_fd; /* FDTABLE_SIZE slots, made at the first open */
/* The last listings taken (a reference each), for stat of their entries. */
static struct vdir *recent[VDIR_RECENT];
static unsigned recent_next;

static uint64_t path_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    h ^= 0x4449520000000000ull; /* "DIR": apart from the objects' (a hash of the URL) */
    return h ? h : 1;
}

bool vdir_listable(const struct mapping *m)
{
    return m && m->prefix && url_is_s3(m->url);
}

const struct mapping *vdir_root_mapping(const char *norm)
{
    size_t n = strlen(norm);
    for (size_t i = 0; i < config.nmaps; i++) {
        const struct mapping *m = &config.maps[i];
        if (m->prefix && n + 1 == m->virt_len && memcmp(norm, m->virt, n) == 0)
            return m;
    }
    return NULL;
}

void vdir_fill_stat(const char *norm, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = VIRTUAL_DEV;
    st->st_ino = (ino_t)path_hash(norm);
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_blksize = 4096;
}

/* The s3:// URL of the directory rest of m, ending in '/' (m's own for its root). */
static char *dir_url(const struct mapping *m, const char *rest)
{
    if (!rest[0])
        return strdup(m->url);
    size_t n = strlen(rest);
    char *r = malloc(n + 2);
    if (!r)
        return NULL;
    memcpy(r, rest, n);
    if (n == 0 || r[n - 1] != '/')
        r[n++] = '/';
    r[n] = '\0';
    char *u = url_append_path(m->url, r);
    free(r);
    return u;
}

/* The listing as it arrives. */
struct collect {
    struct vdir_entry *e;
    size_t n, cap, name_bytes;
    size_t too_long; /* names longer than NAME_MAX, left out */
    const char *path;
    int err;
};

static int collect_one(void *arg, const struct s3_list_item *it)
{
    struct collect *c = arg;
    if (it->name_len > NAME_MAX) {
        c->too_long++; /* no directory entry can carry it */
        return 0;
    }
    if (c->n >= VDIR_MAX_ENTRIES || c->name_bytes + it->name_len + 1 > VDIR_NAMES_MAX) {
        log_error("%s: more than %d entries (or %d bytes of names) in one directory; "
                  "refusing to list it", c->path, VDIR_MAX_ENTRIES, VDIR_NAMES_MAX);
        return -EOVERFLOW;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct vdir_entry *e = realloc(c->e, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        c->e = e;
        c->cap = cap;
    }
    char *name = strdup(it->name);
    if (!name)
        return -ENOMEM;
    c->e[c->n++] = (struct vdir_entry){ .name = name, .type = it->dir ? DT_DIR : DT_REG,
                                        .size = it->size, .mtime = it->mtime };
    c->name_bytes += it->name_len + 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const struct vdir_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->type == DT_DIR) - (y->type == DT_DIR); /* the file first */
}

static int by_name_only(const void *a, const void *b)
{
    return strcmp(((const struct vdir_entry *)a)->name, ((const struct vdir_entry *)b)->name);
}

static void free_collect(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->e[i].name);
    free(c->e);
}

/* The snapshot from the collected listing: sorted, duplicates dropped, "." and ".."
 * first, the names in one block.  NULL when memory runs out. */
static struct vdir *make_vdir(const char *norm, struct collect *c)
{
    qsort(c->e, c->n, sizeof *c->e, by_name);
    struct vdir *d = calloc(1, sizeof *d);
    size_t bytes = 5; /* ".", ".." */
    for (size_t i = 0; i < c->n; i++)
        bytes += strlen(c->e[i].name) + 1;
    if (d) {
        d->path = strdup(norm);
        d->e = malloc((c->n + 2) * sizeof *d->e);
        d->names = malloc(bytes);
    }
    if (!d || !d->path || !d->e || !d->names) {
        if (d) {
            free(d->path);
            free(d->e);
            free(d->names);
            free(d);
        }
        return NULL;
    }
    char *p = d->names;
    char child[PATH_MAX];
    memcpy(p, ".\0..", 5);
    d->e[0] = (struct vdir_entry){ .name = p, .type = DT_DIR, .ino = path_hash(norm) };
    d->e[1] = (struct vdir_entry){ .name = p + 2, .type = DT_DIR, .ino = 1 };
    p += 5;
    d->n = 2;
    size_t dups = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0 && strcmp(c->e[i].name, c->e[i - 1].name) == 0) {
            dups++;
            continue; /* a prefix named as a key before it: the file stays */
        }
        size_t len = strlen(c->e[i].name);
        memcpy(p, c->e[i].name, len + 1);
        d->e[d->n] = c->e[i];
        d->e[d->n].name = p;
        snprintf(child, sizeof child, "%s/%s", norm, p);
        d->e[d->n].ino = path_hash(child);
        d->n++;
        p += len + 1;
    }
    if (dups)
        log_warn("%s: %zu names are both a key and a prefix; listed as files", norm, dups);
    pthread_mutex_init(&d->pos_lock, NULL);
    d->refs = 1;
    d->taken_ms = now_ms();
    return d;
}

static void vdir_free(struct vdir *d)
{
    pthread_mutex_destroy(&d->pos_lock);
    free(d->path);
    free(d->e);
    free(d->names);
    free(d);
}

/* d becomes one of the recent listings (a reference of its own); the oldest goes. */
static void keep_recent(struct vdir *d)
{
    pthread_mutex_lock(&table_lock);
    d->refs++;
    struct vdir *old = recent[recent_next % VDIR_RECENT];
    recent[recent_next++ % VDIR_RECENT] = d;
    if (old && --old->refs > 0)
        old = NULL;
    pthread_mutex_unlock(&table_lock);
    if (old)
        vdir_free(old);
}

/* O_PATH of a fresh socket inode (vfile.c makes its placeholders the same way). */
static int make_placeholder(int flags)
{
    int sock = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", sock);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, proc, O_PATH | (flags & O_CLOEXEC));
    int e = errno;
    syscall(SYS_close, sock);
    errno = fd < 0 && e == ENOENT ? EIO : e; /* no /proc */
    return fd;
}

/* fork: the table's lock is taken before and released after, in the parent and the
 * child (registered at the first open; a vdir's pos_lock is held for a memory copy
 * only). */
static void lock_table(void)
{
    pthread_mutex_lock(&table_lock);
}

static void unlock_table(void)
{
    pthread_mutex_unlock(&table_lock);
}

static void register_atfork(void)
{
    pthread_atfork(lock_table, unlock_table, unlock_table);
}

/* Puts d on fd, with the caller's reference (dropped when it cannot be put there). */
static int install(int fd, struct vdir *d)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    pthread_mutex_lock(&table_lock);
    if (!by_fd)
        by_fd = calloc(FDTABLE_SIZE, sizeof *by_fd);
    struct vdir *old = NULL;
    if (by_fd && (unsigned)fd < FDTABLE_SIZE) {
        old = by_fd[fd];
        by_fd[fd] = d;
        d = NULL;
    }
    if (old && --old->refs > 0)
        old = NULL;
    pthread_mutex_unlock(&table_lock);
    if (old)
        vdir_free(old);
    if (d) {
        vdir_unref(d);
        errno = (unsigned)fd < FDTABLE_SIZE ? ENOMEM : EMFILE;
        return -1;
    }
    fdtable_mark_vdir(fd);
    return 0;
}

int vdir_open(const char *norm, const struct mapping *m, const char *rest, int flags)
{
    if (!vdir_listable(m)) {
        errno = ENOTDIR;
        return -1;
    }
    char *url = dir_url(m, rest);
    if (!url) {
        errno = ENOMEM;
        return -1;
    }
    struct map_options opt = config_mapping_options(&config, m);
    struct collect c = { .path = norm };
    int seen = s3_list_dir(url, norm, &opt, VDIR_MAX_ENTRIES, collect_one, &c);
    if (seen == 0 && rest[0]) {
        /* Nothing under the prefix: a file of that name, or nothing at all. */
        struct stat st;
        char *furl = url_append_path(m->url, rest);
        seen = furl && object_stat_url(norm, furl, &opt, &st) == 0 ? -ENOTDIR : -ENOENT;
        free(furl);
    }
    free(url);
    if (c.too_long)
        log_warn("%s: %zu names longer than %d bytes left out of the listing", norm,
                 c.too_long, NAME_MAX);
    struct vdir *d = seen >= 0 ? make_vdir(norm, &c) : NULL;
    free_collect(&c);
    if (!d) {
        errno = seen < 0 ? -seen : ENOMEM;
        return -1;
    }
    keep_recent(d); /* before the descriptor exists, which a close could free d with */
    int fd = make_placeholder(flags);
    if (fd < 0 || install(fd, d) < 0) {
        int e = errno;
        if (fd < 0)
            vdir_unref(d);
        else
            syscall(SYS_close, fd);
        errno = e;
        return -1;
    }
    log_debug("%s: directory opened on fd %d: %zu entries", norm, fd, vdir_count(d) - 2);
    return fd;
}

/* The entry name of the directory parent in a listing taken within VDIR_STAT_MS, as a
 * copy; false when no such listing holds it. */
static bool recent_entry(const char *parent, size_t parent_len, const char *name,
                         struct vdir_entry *out)
{
    uint64_t now = now_ms();
    bool found = false;
    pthread_mutex_lock(&table_lock);
    for (unsigned i = 0; i < VDIR_RECENT && !found; i++) {
        struct vdir *d = recent[i];
        if (!d || now - d->taken_ms > VDIR_STAT_MS || strlen(d->path) != parent_len ||
            memcmp(d->path, parent, parent_len) != 0 || d->n <= 2)
            continue;
        struct vdir_entry key = { .name = name };
        const struct vdir_entry *e = bsearch(&key, d->e + 2, d->n - 2, sizeof *d->e, by_name_only);
        if (e) {
            *out = *e;
            out->name = NULL; /* the name is the caller's */
            found = true;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

int vdir_stat(const char *norm, const struct mapping *m, const char *rest, bool dir_only,
              struct stat *st)
{
    struct map_options opt = config_mapping_options(&config, m);
    char *furl = url_append_path(m->url, rest);
    if (!furl) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    const char *slash = strrchr(norm, '/');
    struct vdir_entry e;
    if (slash && recent_entry(norm, (size_t)(slash - norm), slash + 1, &e) &&
        (!dir_only || e.type == DT_DIR)) {
        /* listed a moment ago: as the listing says (an open probes the object anyway) */
        if (e.type == DT_DIR)
            vdir_fill_stat(norm, st);
        else
            object_fill_stat_listed(furl, e.size, e.mtime, st);
        free(furl);
        return 0;
    }
    if (!dir_only) {
        rc = object_stat_url(norm, furl, &opt, st);
        if (rc == 0 || errno != ENOENT || !vdir_listable(m)) {
            free(furl);
            return rc;
        }
    } else if (!vdir_listable(m)) {
        free(furl);
        errno = ENOTDIR;
        return -1;
    }
    int any = s3_list_exists(furl, norm, &opt);
    if (any > 0) {
        vdir_fill_stat(norm, st);
        rc = 0;
    } else if (any == 0 && dir_only) {
        /* "f/" of a file f is ENOTDIR, as the kernel says */
        struct stat fst;
        errno = object_stat_url(norm, furl, &opt, &fst) == 0 ? ENOTDIR : ENOENT;
        rc = -1;
    } else {
        /* nothing there; or the listing failed (said in one line): then the key's
         * answer, no such key, stands unless a directory was asked for */
        errno = any == 0 || !dir_only ? ENOENT : -any;
        rc = -1;
    }
    free(furl);
    return rc;
}

struct vdir *vdir_get(int fd)
{
    if ((unsigned)fd >= FDTABLE_SIZE)
        return NULL;
    pthread_mutex_lock(&table_lock);
    struct vdir *d = by_fd ? by_fd[fd] : NULL;
    if (d)
        d->refs++;
    pthread_mutex_unlock(&table_lock);
    return d;
}

void vdir_ref(struct vdir *d)
{
    pthread_mutex_lock(&table_lock);
    d->refs++;
    pthread_mutex_unlock(&table_lock);
}

void vdir_unref(struct vdir *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&table_lock);
    bool last = --d->refs == 0;
    pthread_mutex_unlock(&table_lock);
    if (last)
        vdir_free(d);
}

void vdir_dup(int fd, int newfd)
{
    struct vdir *d = vdir_get(fd);
    if (!d)
        return;
    if (install(newfd, d) < 0)
        return; /* install dropped the reference */
}

void vdir_forget(int fd)
{
    if ((unsigned)fd >= FDTABLE_SIZE)
        return;
    pthread_mutex_lock(&table_lock);
    struct vdir *d = by_fd ? by_fd[fd] : NULL;
    if (d)
        by_fd[fd] = NULL;
    if (d && --d->refs > 0)
        d = NULL;
    pthread_mutex_unlock(&table_lock);
    if (fdtable_peek(fd) == FD_VDIR)
        fdtable_unmark_internal(fd); /* the slot back to plain */
    if (d)
        vdir_free(d);
}

const char *vdir_path(const struct vdir *d)
{
    return d->path;
}

size_t vdir_read(struct vdir *d, bool (*put)(void *arg, const struct vdir_entry *e, size_t index),
                 void *arg)
{
    size_t taken = 0;
    pthread_mutex_lock(&d->pos_lock);
    while (d->pos < d->n && put(arg, &d->e[d->pos], d->pos)) {
        d->pos++;
        taken++;
    }
    pthread_mutex_unlock(&d->pos_lock);
    return taken;
}

size_t vdir_tell(struct vdir *d)
{
    pthread_mutex_lock(&d->pos_lock);
    size_t p = d->pos;
    pthread_mutex_unlock(&d->pos_lock);
    return p;
}

void vdir_seek(struct vdir *d, size_t pos)
{
    pthread_mutex_lock(&d->pos_lock);
    d->pos = pos < d->n ? pos : d->n;
    pthread_mutex_unlock(&d->pos_lock);
}

size_t vdir_count(const struct vdir *d)
{
    return d->n;
}
