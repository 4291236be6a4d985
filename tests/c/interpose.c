/* interpose: exercise every interposed call on a remote file.
 *
 *   interpose VIRTUAL_PATH LOCAL_PATH [SECTION...]
 *
 * VIRTUAL_PATH is a path that the preloaded shim maps to a remote object
 * and LOCAL_PATH is an ordinary file holding the same bytes.  Every check
 * compares what the calls on VIRTUAL_PATH return (data, offsets, sizes,
 * errno) with what the kernel does for the local copy.  When both
 * arguments are the same path the program runs against the local file
 * alone, which validates the checks themselves; the read-only checks
 * (writes refused with EROFS, mode 0444, raw syscalls not seeing the
 * data) are only made when the two paths differ.
 *
 * Prints "ok - NAME" or "FAIL - NAME: DETAIL" per check and a closing line
 * "N passed, N failed"; exits 1 when any check failed.  With SECTION
 * arguments (open, stdio, read, mmap...: see sections[] below) only those
 * groups of checks run, which tells which one a crash comes from.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *vpath;       /* the virtual path */
static const char *lpath;       /* the local copy */
static bool strict;             /* vpath != lpath: read-only checks apply */
static unsigned char *data;     /* contents of the local copy */
static size_t size;             /* its size */
static long pagesz;
static int npass, nfail;

static void
report (bool good, const char *name, const char *fmt, ...)
{
  if (good) {
    printf ("ok - %s\n", name);
    npass++;
  }
  else {
    va_list ap;
    printf ("FAIL - %s", name);
    if (fmt && *fmt) {
      printf (": ");
      va_start (ap, fmt);
      vprintf (fmt, ap);
      va_end (ap);
    }
    printf ("\n");
    nfail++;
  }
  fflush (stdout);
}

static void
skip (const char *name, const char *why)
{
  printf ("# skip %s: %s\n", name, why);
  fflush (stdout);
}

/* Name built with printf formatting, for checks inside loops. */
static const char *
nm (const char *fmt, ...)
{
  static char buf[8][256];
  static int i;
  va_list ap;
  char *b = buf[i++ & 7];
  va_start (ap, fmt);
  vsnprintf (b, 256, fmt, ap);
  va_end (ap);
  return b;
}

/* A call that must succeed with exactly WANT. */
static void
expect_ret (const char *name, long got, int err, long want)
{
  report (got == want, name, "returned %ld (errno %s), expected %ld",
          got, got < 0 ? strerror (err) : "-", want);
}

/* A call that must fail with one of the listed errnos (0-terminated). */
static void
expect_err_ (const char *name, long got, int err, const int *allowed)
{
  const int *a;
  char want[200] = "";
  bool good = false;

  for (a = allowed; *a; a++) {
    if (got == -1 && err == *a)
      good = true;
    snprintf (want + strlen (want), sizeof want - strlen (want), "%s%s",
              a == allowed ? "" : " or ", strerrorname_np (*a));
  }
  if (got == -1)
    report (good, name, "failed with %s, expected %s",
            strerrorname_np (err) ? strerrorname_np (err) : "?", want);
  else
    report (good, name, "returned %ld, expected failure with %s", got, want);
}
#define EXPECT_ERR(name, call, ...) do {                        \
    long r_; int e_;                                            \
    errno = 0; r_ = (long) (call); e_ = errno;                  \
    expect_err_ ((name), r_, e_, (const int[]) { __VA_ARGS__, 0 }); \
  } while (0)
#define EXPECT_RET(name, call, want) do {                       \
    long r_; int e_;                                            \
    errno = 0; r_ = (long) (call); e_ = errno;                  \
    expect_ret ((name), r_, e_, (want));                        \
  } while (0)

/* Do LEN bytes at BUF match the local copy at OFF?  Describes the first
 * difference in WHY.
 */
static bool
same (const void *buf, uint64_t off, size_t len, char *why, size_t whylen)
{
  const unsigned char *b = buf;
  size_t i;

  if (len == 0)
    return true;
  if (off + len > size) {
    snprintf (why, whylen, "range %" PRIu64 "+%zu is past the end (%zu)",
              off, len, size);
    return false;
  }
  if (memcmp (b, data + off, len) == 0)
    return true;
  for (i = 0; i < len && b[i] == data[off + i]; i++)
    ;
  snprintf (why, whylen, "first difference at offset %" PRIu64
            " (got 0x%02x, expected 0x%02x)", off + i, b[i], data[off + i]);
  return false;
}

static void
expect_bytes (const char *name, const void *buf, uint64_t off, size_t len)
{
  char why[200];
  report (same (buf, off, len, why, sizeof why), name, "%s", why);
}

/* What a read of LEN at OFF should return. */
static size_t
expect_len (uint64_t off, size_t len)
{
  if (off >= size)
    return 0;
  return len < size - off ? len : size - off;
}

/* A pread that must return the right count and the right bytes. */
static void
check_pread (const char *name, int fd, uint64_t off, size_t len)
{
  unsigned char *buf = malloc (len + 1);
  ssize_t r;
  int e;
  size_t want = expect_len (off, len);
  char why[200];

  errno = 0;
  r = pread (fd, buf, len, off);
  e = errno;
  if (r != (ssize_t) want)
    report (false, name, "pread(%zu @ %" PRIu64 ") returned %zd (%s), expected %zu",
            len, off, r, r < 0 ? strerror (e) : "-", want);
  else
    report (same (buf, off, want, why, sizeof why), name, "%s", why);
  free (buf);
}

static int
open_v (int flags)
{
  int fd = open (vpath, flags);
  if (fd < 0) {
    printf ("Bail out! cannot open %s: %m\n", vpath);
    exit (2);
  }
  return fd;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t
rnd (uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return *s = x;
}

/* ---- open family ---- */

static void
test_open (void)
{
  int fd, dfd, cwd;
  unsigned char b[4096];
  size_t n = size < sizeof b ? size : sizeof b;
  volatile int vflags = O_RDONLY;       /* keeps the fortified open from folding */
  char *dir, *slash;

  fd = open (vpath, O_RDONLY);
  report (fd >= 0, "open O_RDONLY", "%m");
  if (fd >= 0) {
    EXPECT_RET ("open: read start", read (fd, b, n), (long) n);
    expect_bytes ("open: data", b, 0, n);
    close (fd);
  }

  fd = open (vpath, vflags);
  report (fd >= 0, "open with non-constant flags", "%m");
  if (fd >= 0) close (fd);

  fd = open64 (vpath, O_RDONLY);
  report (fd >= 0, "open64", "%m");
  if (fd >= 0) {
    EXPECT_RET ("open64: read start", read (fd, b, n), (long) n);
    expect_bytes ("open64: data", b, 0, n);
    close (fd);
  }

  fd = openat (AT_FDCWD, vpath, O_RDONLY);
  report (fd >= 0, "openat AT_FDCWD", "%m");
  if (fd >= 0) close (fd);

  fd = openat64 (AT_FDCWD, vpath, vflags);
  report (fd >= 0, "openat64 AT_FDCWD", "%m");
  if (fd >= 0) {
    EXPECT_RET ("openat64: read start", read (fd, b, n), (long) n);
    expect_bytes ("openat64: data", b, 0, n);
    close (fd);
  }

  if (vpath[0] == '/') {
    /* Relative to a directory fd ("/" + "remote/x"). */
    dfd = open ("/", O_RDONLY | O_DIRECTORY);
    fd = openat (dfd, vpath + 1, O_RDONLY);
    report (fd >= 0, "openat dirfd '/' + relative path", "%m");
    if (fd >= 0) {
      EXPECT_RET ("openat dirfd: read start", read (fd, b, n), (long) n);
      expect_bytes ("openat dirfd: data", b, 0, n);
      close (fd);
    }
    fd = openat64 (dfd, vpath + 1, O_RDONLY);
    report (fd >= 0, "openat64 dirfd '/' + relative path", "%m");
    if (fd >= 0) close (fd);

    /* Relative to the cwd. */
    cwd = open (".", O_RDONLY | O_DIRECTORY);
    if (fchdir (dfd) == 0) {
      fd = open (vpath + 1, O_RDONLY);
      report (fd >= 0, "open relative path from cwd '/'", "%m");
      if (fd >= 0) {
        EXPECT_RET ("open relative: read start", read (fd, b, n), (long) n);
        expect_bytes ("open relative: data", b, 0, n);
        close (fd);
      }
      fd = openat (AT_FDCWD, vpath + 1, O_RDONLY);
      report (fd >= 0, "openat AT_FDCWD relative path", "%m");
      if (fd >= 0) close (fd);
      if (fchdir (cwd) != 0)
        report (false, "fchdir back", "%m");
    }
    close (cwd);
    close (dfd);

    /* Relative to the parent directory, when it can be opened. */
    dir = strdup (vpath);
    slash = strrchr (dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    dfd = open (dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
      fd = openat (dfd, strrchr (vpath, '/') + 1, O_RDONLY);
      report (fd >= 0, "openat parent dirfd + basename", "%m");
      if (fd >= 0) {
        EXPECT_RET ("openat parent: read start", read (fd, b, n), (long) n);
        expect_bytes ("openat parent: data", b, 0, n);
        close (fd);
      }
      close (dfd);
    }
    else
      skip ("openat parent dirfd + basename", "parent directory cannot be opened");
    free (dir);
  }

  fd = open (vpath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_LARGEFILE);
  report (fd >= 0, "open with O_CLOEXEC|O_NOCTTY|O_NONBLOCK|O_NOFOLLOW", "%m");
  if (fd >= 0) {
    int fl = fcntl (fd, F_GETFD);
    report (fl >= 0 && (fl & FD_CLOEXEC), "O_CLOEXEC sets FD_CLOEXEC", "F_GETFD = %d", fl);
    EXPECT_RET ("O_NONBLOCK open: read start", read (fd, b, n), (long) n);
    expect_bytes ("O_NONBLOCK open: data", b, 0, n);
    close (fd);
  }

  EXPECT_ERR ("open O_DIRECTORY -> ENOTDIR", open (vpath, O_RDONLY | O_DIRECTORY), ENOTDIR);
  {
    char p[PATH_MAX];
    snprintf (p, sizeof p, "%s/", vpath);
    EXPECT_ERR ("open with trailing '/' fails", open (p, O_RDONLY), ENOTDIR, ENOENT);
    snprintf (p, sizeof p, "%s.does-not-exist", vpath);
    EXPECT_ERR ("open missing object -> ENOENT", open (p, O_RDONLY), ENOENT);
    EXPECT_ERR ("stat missing object -> ENOENT", ({ struct stat s; stat (p, &s); }), ENOENT);
    EXPECT_ERR ("access missing object -> ENOENT", access (p, F_OK), ENOENT);
  }
}

/* ---- read-only-ness of the path (only against the shim) ---- */

static void
test_readonly (void)
{
  char p[PATH_MAX];
  FILE *f;

  if (!strict) {
    skip ("write opens", "VIRTUAL_PATH is the local file");
    return;
  }
  EXPECT_ERR ("open O_WRONLY -> EROFS", open (vpath, O_WRONLY), EROFS);
  EXPECT_ERR ("open O_RDWR -> EROFS", open (vpath, O_RDWR), EROFS);
  EXPECT_ERR ("open O_RDONLY|O_TRUNC -> EROFS", open (vpath, O_RDONLY | O_TRUNC), EROFS);
  EXPECT_ERR ("open O_WRONLY|O_TRUNC -> EROFS", open (vpath, O_WRONLY | O_TRUNC), EROFS);
  EXPECT_ERR ("open O_WRONLY|O_APPEND -> EROFS", open (vpath, O_WRONLY | O_APPEND), EROFS);
  /* The kernel reports EEXIST before EROFS for an existing file. */
  EXPECT_ERR ("open O_CREAT|O_EXCL -> EROFS", open (vpath, O_WRONLY | O_CREAT | O_EXCL, 0644), EROFS, EEXIST);
  EXPECT_ERR ("open64 O_RDWR -> EROFS", open64 (vpath, O_RDWR), EROFS);
  EXPECT_ERR ("openat O_WRONLY -> EROFS", openat (AT_FDCWD, vpath, O_WRONLY), EROFS);
  EXPECT_ERR ("openat64 O_RDWR|O_CREAT -> EROFS", openat64 (AT_FDCWD, vpath, O_RDWR | O_CREAT, 0644), EROFS);
  EXPECT_ERR ("creat -> EROFS", creat (vpath, 0644), EROFS);
  EXPECT_ERR ("creat64 -> EROFS", creat64 (vpath, 0644), EROFS);

  snprintf (p, sizeof p, "%s.new-file", vpath);
  EXPECT_ERR ("creat new name under the mapping -> EROFS", creat (p, 0644), EROFS, ENOENT, EACCES);

  errno = 0;
  f = fopen (vpath, "w");
  expect_err_ ("fopen \"w\" -> EROFS", f ? 0 : -1, errno, (const int[]) { EROFS, 0 });
  if (f) fclose (f);
  errno = 0;
  f = fopen (vpath, "r+");
  expect_err_ ("fopen \"r+\" -> EROFS", f ? 0 : -1, errno, (const int[]) { EROFS, 0 });
  if (f) fclose (f);
  errno = 0;
  f = fopen (vpath, "a");
  expect_err_ ("fopen \"a\" -> EROFS", f ? 0 : -1, errno, (const int[]) { EROFS, 0 });
  if (f) fclose (f);

  /* The local copy must not have been touched by any of the above. */
  {
    struct stat st;
    report (stat (lpath, &st) == 0 && (size_t) st.st_size == size,
            "local copy untouched", "size changed");
  }
}

/* ---- stdio ---- */

static void
test_stdio (void)
{
  FILE *f;
  unsigned char *buf = malloc (size + 16);
  char line[64];
  size_t n, want;
  int fd, c;

  f = fopen (vpath, "r");
  report (f != NULL, "fopen \"r\"", "%m");
  if (f) {
    n = fread (buf, 1, size + 16, f);
    expect_ret ("fopen: fread whole file", n, 0, size);
    expect_bytes ("fopen: fread data", buf, 0, n < size ? n : size);
    report (feof (f) && !ferror (f), "fread: feof set, no ferror", NULL);
    expect_ret ("ftell at end", ftell (f), errno, size);
    if (size > 100) {
      expect_ret ("fseek SEEK_SET 77", fseek (f, 77, SEEK_SET), errno, 0);
      expect_ret ("ftell after fseek", ftell (f), errno, 77);
      n = fread (buf, 1, 50, f);
      expect_ret ("fread 50 after fseek", n, 0, 50);
      expect_bytes ("fread after fseek: data", buf, 77, 50);
      expect_ret ("ftell after fread", ftell (f), errno, 127);
      expect_ret ("fseek SEEK_CUR -27", fseek (f, -27, SEEK_CUR), errno, 0);
      c = fgetc (f);
      expect_ret ("fgetc after SEEK_CUR", c, 0, data[100]);
      expect_ret ("ungetc", ungetc (c, f), 0, c);
      expect_ret ("fgetc after ungetc", fgetc (f), 0, data[100]);
    }
    expect_ret ("fseek SEEK_END", fseek (f, 0, SEEK_END), errno, 0);
    expect_ret ("ftell after SEEK_END", ftell (f), errno, size);
    expect_ret ("fseeko/ftello", fseeko (f, size / 2, SEEK_SET) == 0 ? ftello (f) : -1,
                errno, size / 2);
    rewind (f);
    expect_ret ("rewind", ftell (f), errno, 0);

    /* fgets from the start: up to and including the first newline. */
    for (want = 0; want < size && want < sizeof line - 1; want++)
      if (data[want] == '\n') { want++; break; }
    if (want > sizeof line - 1) want = sizeof line - 1;
    if (size == 0)
      report (fgets (line, sizeof line, f) == NULL, "fgets at EOF returns NULL", NULL);
    else {
      char *r = fgets (line, sizeof line, f);
      report (r == line && memcmp (line, data, want) == 0 && line[want] == '\0',
              "fgets first line", "wrong data");
      expect_ret ("ftell after fgets", ftell (f), errno, want);
    }

    /* getline over the whole file reassembles it. */
    {
      char *l = NULL;
      size_t cap = 0, off = 0;
      ssize_t r;
      bool good = true;
      rewind (f);
      while ((r = getline (&l, &cap, f)) > 0) {
        if (off + r > size || memcmp (l, data + off, r) != 0) { good = false; break; }
        off += r;
      }
      report (good && off == size, "getline reassembles the file",
              "stopped at %zu of %zu", off, size);
      free (l);
    }

    fd = fileno (f);
    report (fd >= 0, "fileno of fopen'ed stream", "%d", fd);
    if (fd >= 0) {
      struct stat st;
      report (fstat (fd, &st) == 0 && (size_t) st.st_size == size,
              "fstat (fileno (f)) gives the size", "%m");
    }
    expect_ret ("fclose", fclose (f), errno, 0);
  }

  f = fopen64 (vpath, "rb");
  report (f != NULL, "fopen64 \"rb\"", "%m");
  if (f) {
    unsigned char b[4096];      /* fixed size: FORTIFY uses __fread_chk */
    size_t off = 0;
    bool good = true;
    while ((n = fread (b, 1, sizeof b - 5, f)) > 0) {
      if (off + n > size || memcmp (b, data + off, n) != 0) { good = false; break; }
      off += n;
    }
    report (good && off == size, "fopen64: fread loop", "got %zu of %zu", off, size);
    fclose (f);
  }

  f = fopen (vpath, "re");
  report (f != NULL, "fopen \"re\" (O_CLOEXEC)", "%m");
  if (f) fclose (f);

  /* glibc maps the file for "m". */
  f = fopen (vpath, "rm");
  report (f != NULL, "fopen \"rm\" (mmap)", "%m");
  if (f) {
    n = fread (buf, 1, size + 16, f);
    expect_ret ("fopen \"rm\": fread whole file", n, 0, size);
    expect_bytes ("fopen \"rm\": data", buf, 0, n < size ? n : size);
    fclose (f);
  }

  /* freopen a stream that is not stdin/stdout/stderr. */
  f = fopen ("/dev/null", "r");
  f = freopen (vpath, "r", f);
  report (f != NULL, "freopen /dev/null stream onto the virtual path", "%m");
  if (f) {
    n = fread (buf, 1, size + 16, f);
    expect_ret ("freopen: fread whole file", n, 0, size);
    expect_bytes ("freopen: data", buf, 0, n < size ? n : size);
    f = freopen (lpath, "r", f);
    report (f != NULL, "freopen virtual stream onto the local file", "%m");
    if (f) {
      n = fread (buf, 1, size + 16, f);
      report (n == size && memcmp (buf, data, size) == 0, "freopen back: data", "n=%zu", n);
      fclose (f);
    }
  }

  /* fdopen keeps the fd's offset; fclose closes the fd. */
  fd = open_v (O_RDONLY);
  {
    off_t start = size > 7 ? 7 : 0;
    lseek (fd, start, SEEK_SET);
    f = fdopen (fd, "r");
    report (f != NULL, "fdopen on a virtual fd", "%m");
    if (f) {
      n = fread (buf, 1, size + 16, f);
      expect_ret ("fdopen: fread from the fd's offset", n, 0, size - start);
      expect_bytes ("fdopen: data", buf, start, n <= size - start ? n : 0);
      expect_ret ("fdopen: fclose", fclose (f), errno, 0);
      EXPECT_ERR ("fdopen: fclose closed the fd", fcntl (fd, F_GETFD), EBADF);
    }
    else
      close (fd);
  }
  fd = open_v (O_RDONLY);
  errno = 0;
  f = fdopen (fd, "w");
  expect_err_ ("fdopen \"w\" on a read-only fd -> EINVAL", f ? 0 : -1, errno,
               (const int[]) { EINVAL, 0 });
  if (f) fclose (f); else close (fd);

  /* stdin as a stream after the virtual fd is dup2'ed onto 0. */
  {
    int saved = dup (0);
    fd = open_v (O_RDONLY);
    if (dup2 (fd, 0) == 0) {
      clearerr (stdin);
      fseek (stdin, 0, SEEK_SET);
      n = fread (buf, 1, size + 16, stdin);
      report (n == size && memcmp (buf, data, size) == 0,
              "fread(stdin) with the virtual fd on fd 0", "got %zu bytes of %zu", n, size);
      n = pread (0, buf, size + 1, 0);
      report (n == size && memcmp (buf, data, size) == 0,
              "pread(0) with the virtual fd on fd 0", "got %zd bytes of %zu", (ssize_t) n, size);
    }
    else
      report (false, "dup2 onto fd 0", "%m");
    dup2 (saved, 0);
    close (saved);
    close (fd);
    clearerr (stdin);
  }
  free (buf);
}

/* ---- read family ---- */

static void
test_read (void)
{
  int fd = open_v (O_RDONLY);
  unsigned char *buf = malloc (size + 65536);
  unsigned char sb[1000];       /* fixed size: FORTIFY uses __read_chk */
  size_t chunks[] = { 1, 4097, 65535, 65536, 65537, 300000 };
  size_t i, off;
  ssize_t r;
  bool good;
  char why[200] = "";

  /* Whole-file reads in several chunk sizes: short only at EOF. */
  for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    size_t c = chunks[i];
    if (c == 1 && size > 200000) continue;      /* too slow byte by byte */
    lseek (fd, 0, SEEK_SET);
    good = true;
    for (off = 0;; off += r) {
      r = read (fd, buf, c);
      if (r != (ssize_t) expect_len (off, c)) {
        snprintf (why, sizeof why, "read(%zu) at %zu returned %zd (%m), expected %zu",
                  c, off, r, expect_len (off, c));
        good = false;
        break;
      }
      if (r == 0) break;
      if (!same (buf, off, r, why, sizeof why)) { good = false; break; }
    }
    report (good, nm ("read loop in chunks of %zu", c), "%s", why);
  }

  lseek (fd, 0, SEEK_SET);
  EXPECT_RET ("read of size+1 in one call", read (fd, buf, size + 1), (long) size);
  expect_bytes ("read of size+1: data", buf, 0, size);
  EXPECT_RET ("read at EOF returns 0", read (fd, buf, 10), 0);
  EXPECT_RET ("zero-length read", read (fd, buf, 0), 0);

  lseek (fd, 0, SEEK_SET);
  EXPECT_RET ("read into a stack buffer", read (fd, sb, sizeof sb), (long) expect_len (0, sizeof sb));
  expect_bytes ("read into a stack buffer: data", sb, 0, expect_len (0, sizeof sb));
  EXPECT_RET ("pread into a stack buffer", pread (fd, sb, sizeof sb, 3), (long) expect_len (3, sizeof sb));
  expect_bytes ("pread into a stack buffer: data", sb, 3, expect_len (3, sizeof sb));

  /* pread at interesting offsets. */
  {
    uint64_t offs[] = { 0, 1, 4095, 4096, 65535, 65536, 65537, 131071,
                        size / 2, size ? size - 1 : 0, size, size + 1, size + 100000 };
    size_t lens[] = { 1, 17, 4096, 65536, 65537, 200000 };
    size_t j;
    for (i = 0; i < sizeof offs / sizeof offs[0]; i++) {
      if (offs[i] > size + 100000) continue;
      for (j = 0; j < sizeof lens / sizeof lens[0]; j++)
        check_pread (nm ("pread %zu @ %" PRIu64, lens[j], offs[i]), fd, offs[i], lens[j]);
    }
  }
  {
    off_t cur = lseek (fd, 5, SEEK_SET);
    r = pread (fd, buf, 10, 0);
    report (cur == 5 && lseek (fd, 0, SEEK_CUR) == 5, "pread leaves the offset alone", NULL);
  }
  EXPECT_RET ("zero-length pread", pread (fd, buf, 0, 0), 0);
  EXPECT_RET ("zero-length pread past EOF", pread (fd, buf, 0, size + 5), 0);
  EXPECT_RET ("pread at EOF", pread (fd, buf, 10, size), 0);
  EXPECT_RET ("pread past EOF", pread (fd, buf, 10, size + 12345), 0);
  EXPECT_ERR ("pread negative offset -> EINVAL", pread (fd, buf, 10, -1), EINVAL);
  EXPECT_ERR ("pread64 negative offset -> EINVAL", pread64 (fd, buf, 10, -4096), EINVAL);

  /* pread64 explicitly. */
  if (size > 10) {
    EXPECT_RET ("pread64", pread64 (fd, buf, size - 10, 10), (long) (size - 10));
    expect_bytes ("pread64: data", buf, 10, size - 10);
  }

  /* Random preads. */
  {
    uint64_t s = rng_state;
    good = true;
    for (i = 0; i < 300 && good; i++) {
      uint64_t o = size ? rnd (&s) % (size + 10) : rnd (&s) % 10;
      size_t l = rnd (&s) % 70000;
      size_t w = expect_len (o, l);
      r = pread (fd, buf, l, o);
      if (r != (ssize_t) w) {
        snprintf (why, sizeof why, "pread(%zu @ %" PRIu64 ") returned %zd, expected %zu", l, o, r, w);
        good = false;
      }
      else if (!same (buf, o, w, why, sizeof why))
        good = false;
    }
    report (good, "300 random preads", "%s", why);
  }

  EXPECT_ERR ("read on a closed fd -> EBADF", ({ int f2 = open_v (O_RDONLY); close (f2); read (f2, buf, 1); }), EBADF);
  close (fd);
  free (buf);
}

static void
test_vectored (void)
{
  int fd = open_v (O_RDONLY);
  unsigned char a[3], b[5000], c[70001];
  struct iovec iov[3] = { { a, sizeof a }, { b, sizeof b }, { c, sizeof c } };
  size_t tot = sizeof a + sizeof b + sizeof c;
  size_t w;
  ssize_t r;
  off_t o;

  /* Checks the three buffers after a vectored read of GOT bytes at OFF. */
#define CHECK_IOV(name, got, off) do {                                  \
    size_t g_ = (got) < 0 ? 0 : (size_t) (got), x_;                     \
    unsigned char *all_ = malloc (tot);                                  \
    memcpy (all_, a, sizeof a);                                          \
    memcpy (all_ + sizeof a, b, sizeof b);                               \
    memcpy (all_ + sizeof a + sizeof b, c, sizeof c);                    \
    x_ = expect_len ((off), tot);                                        \
    if ((ssize_t) (got) != (ssize_t) x_)                                 \
      report (false, (name), "returned %zd (%m), expected %zu", (ssize_t) (got), x_); \
    else expect_bytes ((name), all_, (off), g_);                         \
    free (all_);                                                         \
  } while (0)

  r = readv (fd, iov, 3);
  CHECK_IOV ("readv at 0", r, 0);
  o = lseek (fd, 0, SEEK_CUR);
  expect_ret ("readv advances the offset", o, errno, expect_len (0, tot));
  r = readv (fd, iov, 3);
  CHECK_IOV ("readv continues", r, o);

  r = preadv (fd, iov, 3, 1);
  CHECK_IOV ("preadv @1", r, 1);
  r = preadv (fd, iov, 3, size / 3);
  CHECK_IOV ("preadv @size/3", r, size / 3);
  r = preadv64 (fd, iov, 3, size > 4 ? size - 4 : 0);
  CHECK_IOV ("preadv64 near the end", r, size > 4 ? size - 4 : 0);
  EXPECT_RET ("preadv past EOF", preadv (fd, iov, 3, size + 1), 0);
  EXPECT_ERR ("preadv negative offset -> EINVAL", preadv (fd, iov, 3, -7), EINVAL);

  r = preadv2 (fd, iov, 3, 2, 0);
  CHECK_IOV ("preadv2 @2", r, 2);
  r = preadv64v2 (fd, iov, 3, 9, 0);
  CHECK_IOV ("preadv64v2 @9", r, 9);

  /* Offset -1: from the current position, which it advances. */
  lseek (fd, size > 11 ? 11 : 0, SEEK_SET);
  r = preadv2 (fd, iov, 3, -1, 0);
  CHECK_IOV ("preadv2 offset -1 reads at the current position", r, size > 11 ? 11 : 0);
  w = expect_len (size > 11 ? 11 : 0, tot);
  expect_ret ("preadv2 offset -1 advances the offset", lseek (fd, 0, SEEK_CUR), errno,
              (size > 11 ? 11 : 0) + w);
  lseek (fd, size > 5 ? 5 : 0, SEEK_SET);
  r = preadv64v2 (fd, iov, 3, -1, 0);
  CHECK_IOV ("preadv64v2 offset -1 reads at the current position", r, size > 5 ? 5 : 0);
  lseek (fd, 0, SEEK_SET);
  r = preadv2 (fd, iov, 3, 0, 0);
  expect_ret ("preadv2 explicit offset leaves the offset alone", lseek (fd, 0, SEEK_CUR), errno, 0);
  EXPECT_ERR ("preadv2 offset -2 -> EINVAL", preadv2 (fd, iov, 3, -2, 0), EINVAL);

  {
    struct iovec z[2] = { { a, 0 }, { b, 0 } };
    EXPECT_RET ("readv with zero-length iovecs", readv (fd, z, 2), 0);
    EXPECT_RET ("preadv with zero-length iovecs", preadv (fd, z, 2, 0), 0);
  }
  close (fd);
#undef CHECK_IOV
}

/* ---- lseek ---- */

static void
test_lseek (void)
{
  int fd = open_v (O_RDONLY);
  unsigned char b[64];

  EXPECT_RET ("lseek SEEK_SET 100", lseek (fd, 100, SEEK_SET), 100);
  EXPECT_RET ("lseek SEEK_CUR +10", lseek (fd, 10, SEEK_CUR), 110);
  EXPECT_RET ("lseek SEEK_CUR -5", lseek (fd, -5, SEEK_CUR), 105);
  EXPECT_RET ("lseek SEEK_CUR 0", lseek (fd, 0, SEEK_CUR), 105);
  EXPECT_RET ("read after lseek", read (fd, b, sizeof b), (long) expect_len (105, sizeof b));
  expect_bytes ("read after lseek: data", b, 105, expect_len (105, sizeof b));
  EXPECT_RET ("lseek SEEK_END 0", lseek (fd, 0, SEEK_END), (long) size);
  if (size > 0) {
    EXPECT_RET ("lseek SEEK_END -1", lseek (fd, -1, SEEK_END), (long) size - 1);
    EXPECT_RET ("read last byte", read (fd, b, sizeof b), 1);
    expect_bytes ("read last byte: data", b, size - 1, 1);
  }
  EXPECT_RET ("lseek past EOF", lseek (fd, size + 1000, SEEK_SET), (long) size + 1000);
  EXPECT_RET ("read past EOF returns 0", read (fd, b, sizeof b), 0);
  EXPECT_RET ("lseek SEEK_END +5", lseek (fd, 5, SEEK_END), (long) size + 5);
  EXPECT_ERR ("lseek SEEK_SET -1 -> EINVAL", lseek (fd, -1, SEEK_SET), EINVAL);
  lseek (fd, 10, SEEK_SET);
  EXPECT_ERR ("lseek SEEK_CUR to negative -> EINVAL", lseek (fd, -11, SEEK_CUR), EINVAL);
  EXPECT_RET ("offset unchanged by a failed lseek", lseek (fd, 0, SEEK_CUR), 10);
  EXPECT_ERR ("lseek SEEK_END to negative -> EINVAL", lseek (fd, -(off_t) size - 1, SEEK_END), EINVAL);
  EXPECT_ERR ("lseek bad whence -> EINVAL", lseek (fd, 0, 99), EINVAL);

  if (size > 0) {
    EXPECT_RET ("SEEK_DATA at 0", lseek (fd, 0, SEEK_DATA), 0);
    EXPECT_RET ("SEEK_DATA at size-1", lseek (fd, size - 1, SEEK_DATA), (long) size - 1);
    EXPECT_RET ("SEEK_HOLE at 0 -> size", lseek (fd, 0, SEEK_HOLE), (long) size);
    EXPECT_RET ("SEEK_HOLE at size-1 -> size", lseek (fd, size - 1, SEEK_HOLE), (long) size);
  }
  else
    EXPECT_ERR ("SEEK_DATA at 0 of an empty file -> ENXIO", lseek (fd, 0, SEEK_DATA), ENXIO);
  EXPECT_ERR ("SEEK_DATA at EOF -> ENXIO", lseek (fd, size, SEEK_DATA), ENXIO);
  EXPECT_ERR ("SEEK_HOLE at EOF -> ENXIO", lseek (fd, size, SEEK_HOLE), ENXIO);
  EXPECT_ERR ("SEEK_DATA past EOF -> ENXIO", lseek (fd, size + 10, SEEK_DATA), ENXIO);

  EXPECT_RET ("lseek64 SEEK_SET", lseek64 (fd, size / 2, SEEK_SET), (long) size / 2);
  EXPECT_RET ("lseek64 SEEK_CUR", lseek64 (fd, 1, SEEK_CUR), (long) size / 2 + 1);
  EXPECT_RET ("lseek64 SEEK_END", lseek64 (fd, 0, SEEK_END), (long) size);
  if (size > 0)
    EXPECT_RET ("lseek64 SEEK_HOLE", lseek64 (fd, 0, SEEK_HOLE), (long) size);
  EXPECT_ERR ("lseek64 SEEK_DATA at EOF -> ENXIO", lseek64 (fd, size, SEEK_DATA), ENXIO);
  close (fd);
}

/* ---- stat family ---- */

static void
check_st (const char *name, int rc, int err, const struct stat *st)
{
  if (rc != 0) {
    report (false, name, "failed: %s", strerror (err));
    return;
  }
  report ((size_t) st->st_size == size && S_ISREG (st->st_mode) && st->st_blksize > 0 &&
          (!strict || (st->st_mode & 07777) == 0444),
          name, "size %jd (want %zu), mode 0%o, blksize %ld",
          (intmax_t) st->st_size, size, (unsigned) st->st_mode, (long) st->st_blksize);
}

static void
check_st64 (const char *name, int rc, int err, const struct stat64 *st)
{
  if (rc != 0) {
    report (false, name, "failed: %s", strerror (err));
    return;
  }
  report ((size_t) st->st_size == size && S_ISREG (st->st_mode) && st->st_blksize > 0 &&
          (!strict || (st->st_mode & 07777) == 0444),
          name, "size %jd (want %zu), mode 0%o, blksize %ld",
          (intmax_t) st->st_size, size, (unsigned) st->st_mode, (long) st->st_blksize);
}

static void
test_stat (void)
{
  struct stat st, st2;
  struct stat64 st64;
  struct statx stx;
  int fd = open_v (O_RDONLY), rc, dfd;

#define ST(name, call, buf) do { errno = 0; rc = (call); check_st ((name), rc, errno, (buf)); } while (0)
#define ST64(name, call, buf) do { errno = 0; rc = (call); check_st64 ((name), rc, errno, (buf)); } while (0)
  ST ("stat", stat (vpath, &st), &st);
  ST ("lstat", lstat (vpath, &st), &st);
  ST ("fstat", fstat (fd, &st), &st);
  ST ("fstatat AT_FDCWD", fstatat (AT_FDCWD, vpath, &st, 0), &st);
  ST ("fstatat AT_SYMLINK_NOFOLLOW", fstatat (AT_FDCWD, vpath, &st, AT_SYMLINK_NOFOLLOW), &st);
  ST ("fstatat fd \"\" AT_EMPTY_PATH", fstatat (fd, "", &st, AT_EMPTY_PATH), &st);
  if (vpath[0] == '/') {
    dfd = open ("/", O_RDONLY | O_DIRECTORY);
    ST ("fstatat dirfd '/' + relative path", fstatat (dfd, vpath + 1, &st, 0), &st);
    close (dfd);
  }
  ST64 ("stat64", stat64 (vpath, &st64), &st64);
  ST64 ("lstat64", lstat64 (vpath, &st64), &st64);
  ST64 ("fstat64", fstat64 (fd, &st64), &st64);
  ST64 ("fstatat64", fstatat64 (AT_FDCWD, vpath, &st64, 0), &st64);
  ST64 ("fstatat64 AT_EMPTY_PATH", fstatat64 (fd, "", &st64, AT_EMPTY_PATH), &st64);
#undef ST
#undef ST64

  /* cp and tar compare these to detect a file replaced under them. */
  if (stat (vpath, &st) == 0 && fstat (fd, &st2) == 0)
    report (st.st_dev == st2.st_dev && st.st_ino == st2.st_ino &&
            st.st_mtime == st2.st_mtime && st.st_size == st2.st_size,
            "stat and fstat agree on dev, ino, size, mtime",
            "stat %ju:%ju %jd, fstat %ju:%ju %jd",
            (uintmax_t) st.st_dev, (uintmax_t) st.st_ino, (intmax_t) st.st_mtime,
            (uintmax_t) st2.st_dev, (uintmax_t) st2.st_ino, (intmax_t) st2.st_mtime);

  errno = 0;
  rc = statx (AT_FDCWD, vpath, 0, STATX_BASIC_STATS, &stx);
  if (rc != 0)
    report (false, "statx", "%m");
  else
    report ((stx.stx_mask & STATX_SIZE) && stx.stx_size == size &&
            S_ISREG (stx.stx_mode) && stx.stx_blksize > 0 &&
            (!strict || (stx.stx_mode & 07777) == 0444),
            "statx", "mask 0x%x size %ju mode 0%o blksize %u",
            stx.stx_mask, (uintmax_t) stx.stx_size, stx.stx_mode, stx.stx_blksize);
  rc = statx (fd, "", AT_EMPTY_PATH, STATX_SIZE | STATX_MODE, &stx);
  report (rc == 0 && stx.stx_size == size && S_ISREG (stx.stx_mode),
          "statx fd \"\" AT_EMPTY_PATH", "rc %d size %ju", rc, (uintmax_t) stx.stx_size);
  rc = statx (AT_FDCWD, vpath, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_ALL, &stx);
  report (rc == 0 && stx.stx_size == size, "statx AT_SYMLINK_NOFOLLOW STATX_ALL",
          "rc %d size %ju", rc, (uintmax_t) stx.stx_size);
  close (fd);
}

static void
test_access (void)
{
  EXPECT_RET ("access F_OK", access (vpath, F_OK), 0);
  EXPECT_RET ("access R_OK", access (vpath, R_OK), 0);
  EXPECT_RET ("faccessat R_OK", faccessat (AT_FDCWD, vpath, R_OK, 0), 0);
  EXPECT_RET ("faccessat R_OK AT_EACCESS", faccessat (AT_FDCWD, vpath, R_OK, AT_EACCESS), 0);
  EXPECT_RET ("euidaccess R_OK", euidaccess (vpath, R_OK), 0);
  EXPECT_RET ("eaccess R_OK", eaccess (vpath, R_OK), 0);
  if (vpath[0] == '/') {
    int dfd = open ("/", O_RDONLY | O_DIRECTORY);
    EXPECT_RET ("faccessat dirfd '/' + relative path", faccessat (dfd, vpath + 1, R_OK, 0), 0);
    close (dfd);
  }
  if (strict) {
    EXPECT_ERR ("access W_OK fails", access (vpath, W_OK), EROFS, EACCES);
    EXPECT_ERR ("access R_OK|W_OK fails", access (vpath, R_OK | W_OK), EROFS, EACCES);
    EXPECT_ERR ("faccessat W_OK fails", faccessat (AT_FDCWD, vpath, W_OK, 0), EROFS, EACCES);
    EXPECT_ERR ("faccessat W_OK AT_EACCESS fails", faccessat (AT_FDCWD, vpath, W_OK, AT_EACCESS), EROFS, EACCES);
    EXPECT_ERR ("euidaccess W_OK fails", euidaccess (vpath, W_OK), EROFS, EACCES);
    EXPECT_ERR ("access X_OK fails", access (vpath, X_OK), EACCES);
  }
}

/* ---- descriptors ---- */

static void
test_fds (void)
{
  int fd = open_v (O_RDONLY), d, d2, fl, target;
  unsigned char b[100];
  size_t n = size < 40 ? size / 2 : 20;
  struct flock lk;

  /* dup shares the offset both ways. */
  d = dup (fd);
  report (d >= 0 && d != fd, "dup", "%m");
  EXPECT_RET ("read on the original", read (fd, b, n), (long) n);
  EXPECT_RET ("dup sees the original's offset", lseek (d, 0, SEEK_CUR), (long) n);
  EXPECT_RET ("read on the dup", read (d, b, n), (long) n);
  expect_bytes ("read on the dup: data continues", b, n, n);
  EXPECT_RET ("original sees the dup's offset", lseek (fd, 0, SEEK_CUR), (long) 2 * n);
  EXPECT_RET ("close the dup", close (d), 0);
  EXPECT_RET ("original still reads after the dup is closed", pread (fd, b, n, 0), (long) n);
  expect_bytes ("original after closing the dup: data", b, 0, n);

  /* dup2 / dup3. */
  target = 100;
  EXPECT_RET ("dup2 to 100", dup2 (fd, target), target);
  lseek (fd, 0, SEEK_SET);
  EXPECT_RET ("read through the dup2 copy", read (target, b, n), (long) n);
  expect_bytes ("dup2 copy: data", b, 0, n);
  EXPECT_RET ("dup2 copy shares the offset", lseek (fd, 0, SEEK_CUR), (long) n);
  EXPECT_RET ("dup2 onto itself", dup2 (fd, fd), fd);
  EXPECT_RET ("dup2 onto an open virtual fd", dup2 (fd, target), target);
  EXPECT_ERR ("dup3 onto itself -> EINVAL", dup3 (fd, fd, 0), EINVAL);
  EXPECT_RET ("dup3 O_CLOEXEC", dup3 (fd, 101, O_CLOEXEC), 101);
  fl = fcntl (101, F_GETFD);
  report (fl >= 0 && (fl & FD_CLOEXEC), "dup3 O_CLOEXEC sets FD_CLOEXEC", "F_GETFD %d", fl);
  EXPECT_RET ("read through the dup3 copy", pread (101, b, n, 0), (long) n);
  close (101);

  /* Replacing a virtual fd number by an ordinary file. */
  {
    int null = open ("/dev/zero", O_RDONLY);
    unsigned char z[16];
    memset (z, 0xff, sizeof z);
    EXPECT_RET ("dup2 /dev/zero over the virtual copy", dup2 (null, target), target);
    EXPECT_RET ("read on the replaced fd", read (target, z, sizeof z), (long) sizeof z);
    report (z[0] == 0 && z[15] == 0, "replaced fd reads /dev/zero", NULL);
    close (null);
    close (target);
  }

  /* Low numbers, as "exec 3< file" in a shell uses: whatever the shim
   * keeps there must make way. */
  for (target = 3; target <= 6; target++) {
    if (target == fd) continue;
    EXPECT_RET (nm ("dup2 onto low fd %d", target), dup2 (fd, target), target);
    EXPECT_RET (nm ("read through low fd %d", target), pread (target, b, n, 0), (long) n);
    expect_bytes (nm ("low fd %d: data", target), b, 0, n);
  }
  for (target = 3; target <= 6; target++)
    if (target != fd) close (target);
  EXPECT_RET ("original still reads after the low fds are closed", pread (fd, b, n, 1), (long) n);
  expect_bytes ("original after the low fds: data", b, 1, n);
  d = open_v (O_RDONLY);
  EXPECT_RET ("a new open reads after the low fds were taken", pread (d, b, n, 0), (long) n);
  close (d);

  /* A closed virtual fd number reused by an ordinary file. */
  d = open_v (O_RDONLY);
  close (d);
  d2 = open ("/dev/zero", O_RDONLY);
  if (d2 == d) {
    unsigned char z[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    EXPECT_RET ("reused fd number reads the new file", read (d2, z, sizeof z), 8);
    report (z[0] == 0 && z[7] == 0, "reused fd number: data", NULL);
    EXPECT_RET ("reused fd number: lseek works", lseek (d2, 0, SEEK_CUR), 0);
  }
  else {
    /* The shim holds some low numbers itself: put one there by hand. */
    int z = open ("/dev/zero", O_RDONLY);
    unsigned char zz[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    EXPECT_RET ("dup2 an ordinary file onto a closed virtual fd number", dup2 (z, d), d);
    EXPECT_RET ("that number reads the new file", read (d, zz, sizeof zz), 8);
    report (zz[0] == 0 && zz[7] == 0, "that number: data", NULL);
    close (z);
    close (d);
  }
  close (d2);

  d = open_v (O_RDONLY);
  EXPECT_RET ("close", close (d), 0);
  EXPECT_ERR ("close twice -> EBADF", close (d), EBADF);
  EXPECT_ERR ("fstat on a closed fd -> EBADF", ({ struct stat s; fstat (d, &s); }), EBADF);

  /* close_range. */
  d = dup2 (fd, 200);
  d2 = dup2 (fd, 202);
  EXPECT_RET ("close_range over virtual fds", close_range (200, 205, 0), 0);
  EXPECT_ERR ("close_range closed the first", fcntl (200, F_GETFD), EBADF);
  EXPECT_ERR ("close_range closed the second", fcntl (202, F_GETFD), EBADF);
  EXPECT_RET ("fd outside the range still reads", pread (fd, b, n, 0), (long) n);
  d = dup2 (fd, 210);
  EXPECT_RET ("close_range CLOSE_RANGE_CLOEXEC", close_range (210, 210, CLOSE_RANGE_CLOEXEC), 0);
  fl = fcntl (210, F_GETFD);
  report (fl >= 0 && (fl & FD_CLOEXEC), "CLOSE_RANGE_CLOEXEC sets FD_CLOEXEC", "F_GETFD %d", fl);
  EXPECT_RET ("fd still reads after CLOSE_RANGE_CLOEXEC", pread (210, b, n, 0), (long) n);
  close (210);
  /* Re-open on the freed numbers, to be sure the shim forgot them. */
  d = open_v (O_RDONLY);
  EXPECT_RET ("fresh open after close_range reads", pread (d, b, n, 0), (long) n);
  expect_bytes ("fresh open after close_range: data", b, 0, n);
  close (d);

  /* fcntl. */
  d = fcntl (fd, F_DUPFD, 50);
  report (d >= 50, "fcntl F_DUPFD >= 50", "%d", d);
  EXPECT_RET ("F_DUPFD copy reads", pread (d, b, n, 0), (long) n);
  expect_bytes ("F_DUPFD copy: data", b, 0, n);
  fl = fcntl (d, F_GETFD);
  expect_ret ("F_DUPFD copy has no FD_CLOEXEC", fl, errno, 0);
  close (d);
  d = fcntl (fd, F_DUPFD_CLOEXEC, 60);
  report (d >= 60, "fcntl F_DUPFD_CLOEXEC >= 60", "%d", d);
  fl = fcntl (d, F_GETFD);
  report (fl >= 0 && (fl & FD_CLOEXEC), "F_DUPFD_CLOEXEC sets FD_CLOEXEC", "%d", fl);
  EXPECT_RET ("F_DUPFD_CLOEXEC copy reads", pread (d, b, n, 0), (long) n);
  close (d);
  EXPECT_RET ("F_GETFD", fcntl (fd, F_GETFD), 0);
  EXPECT_RET ("F_SETFD FD_CLOEXEC", fcntl (fd, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_RET ("F_GETFD after F_SETFD", fcntl (fd, F_GETFD), FD_CLOEXEC);
  EXPECT_RET ("F_SETFD 0", fcntl (fd, F_SETFD, 0), 0);
  fl = fcntl (fd, F_GETFL);
  report (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY && !(fl & O_PATH),
          "F_GETFL is O_RDONLY", "0x%x", fl);
  EXPECT_RET ("F_SETFL O_NONBLOCK", fcntl (fd, F_SETFL, fl | O_NONBLOCK), 0);
  d = fcntl (fd, F_GETFL);
  report (d >= 0 && (d & O_NONBLOCK) && (d & O_ACCMODE) == O_RDONLY,
          "F_GETFL shows O_NONBLOCK", "0x%x", d);
  EXPECT_RET ("F_SETFL back", fcntl (fd, F_SETFL, fl), 0);
  EXPECT_RET ("read after F_SETFL", pread (fd, b, n, 0), (long) n);
  expect_bytes ("read after F_SETFL: data", b, 0, n);

  memset (&lk, 0, sizeof lk);
  lk.l_type = F_RDLCK; lk.l_whence = SEEK_SET; lk.l_start = 0; lk.l_len = 0;
  EXPECT_RET ("F_SETLK F_RDLCK", fcntl (fd, F_SETLK, &lk), 0);
  EXPECT_RET ("F_SETLKW F_RDLCK", fcntl (fd, F_SETLKW, &lk), 0);
  memset (&lk, 0, sizeof lk);
  lk.l_type = F_WRLCK; lk.l_whence = SEEK_SET;
  EXPECT_RET ("F_GETLK", fcntl (fd, F_GETLK, &lk), 0);
  report (lk.l_type == F_UNLCK, "F_GETLK: no conflicting lock", "l_type %d", lk.l_type);
  memset (&lk, 0, sizeof lk);
  lk.l_type = F_UNLCK; lk.l_whence = SEEK_SET;
  EXPECT_RET ("F_SETLK F_UNLCK", fcntl (fd, F_SETLK, &lk), 0);
  memset (&lk, 0, sizeof lk);
  lk.l_type = F_WRLCK; lk.l_whence = SEEK_SET;
  EXPECT_ERR ("F_SETLK F_WRLCK on a read-only fd -> EBADF", fcntl (fd, F_SETLK, &lk), EBADF);
  memset (&lk, 0, sizeof lk);
  lk.l_type = F_RDLCK; lk.l_whence = SEEK_SET; lk.l_len = 10;
  EXPECT_RET ("F_OFD_SETLK F_RDLCK", fcntl (fd, F_OFD_SETLK, &lk), 0);
  memset (&lk, 0, sizeof lk);
  lk.l_type = F_WRLCK; lk.l_whence = SEEK_SET;
  EXPECT_RET ("F_OFD_GETLK", fcntl (fd, F_OFD_GETLK, &lk), 0);
  report (lk.l_type == F_UNLCK, "F_OFD_GETLK: no conflicting lock", "l_type %d", lk.l_type);
  memset (&lk, 0, sizeof lk);
  lk.l_type = F_UNLCK; lk.l_whence = SEEK_SET; lk.l_len = 10;
  EXPECT_RET ("F_OFD_SETLK F_UNLCK", fcntl (fd, F_OFD_SETLK, &lk), 0);

  EXPECT_RET ("flock LOCK_SH", flock (fd, LOCK_SH), 0);
  EXPECT_RET ("flock LOCK_SH|LOCK_NB", flock (fd, LOCK_SH | LOCK_NB), 0);
  EXPECT_RET ("flock LOCK_UN", flock (fd, LOCK_UN), 0);
  EXPECT_RET ("flock LOCK_EX|LOCK_NB", flock (fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_RET ("flock LOCK_UN again", flock (fd, LOCK_UN), 0);
  EXPECT_RET ("read after the locks", pread (fd, b, n, 0), (long) n);
  expect_bytes ("read after the locks: data", b, 0, n);
  close (fd);
}

/* ---- writes, sync and hints ---- */

static void
test_writes (void)
{
  int fd = open_v (O_RDONLY);
  char x[4] = "abc";
  struct iovec iov = { x, 3 };
  unsigned char b[64];
  size_t n = expect_len (0, sizeof b);

  EXPECT_ERR ("write -> EBADF", write (fd, x, 3), EBADF);
  EXPECT_ERR ("pwrite -> EBADF", pwrite (fd, x, 3, 0), EBADF);
  EXPECT_ERR ("pwrite64 -> EBADF", pwrite64 (fd, x, 3, 0), EBADF);
  EXPECT_ERR ("writev -> EBADF", writev (fd, &iov, 1), EBADF);
  EXPECT_ERR ("pwritev -> EBADF", pwritev (fd, &iov, 1, 0), EBADF);
  EXPECT_ERR ("pwritev2 -> EBADF", pwritev2 (fd, &iov, 1, 0, 0), EBADF);
  /* The kernel says EINVAL for a descriptor not open for writing. */
  EXPECT_ERR ("ftruncate -> EBADF", ftruncate (fd, 0), EBADF, EINVAL);
  EXPECT_ERR ("ftruncate64 -> EBADF", ftruncate64 (fd, 1), EBADF, EINVAL);
  EXPECT_ERR ("fallocate -> EBADF", fallocate (fd, 0, 0, 4096), EBADF);
  EXPECT_ERR ("posix_fallocate -> EBADF",
              ({ int e = posix_fallocate (fd, 0, 4096); errno = e; e ? -1 : 0; }), EBADF);
  EXPECT_RET ("offset unchanged by refused writes", lseek (fd, 0, SEEK_CUR), 0);
  EXPECT_RET ("read after refused writes", read (fd, b, sizeof b), (long) n);
  expect_bytes ("read after refused writes: data", b, 0, n);
  if (strict)
    EXPECT_ERR ("truncate on the path -> EROFS", truncate (vpath, 0), EROFS, EACCES);

  EXPECT_RET ("fsync", fsync (fd), 0);
  EXPECT_RET ("fdatasync", fdatasync (fd), 0);

  EXPECT_RET ("posix_fadvise SEQUENTIAL", posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL), 0);
  EXPECT_RET ("posix_fadvise WILLNEED", posix_fadvise (fd, 0, size, POSIX_FADV_WILLNEED), 0);
  EXPECT_RET ("posix_fadvise RANDOM", posix_fadvise (fd, 0, 0, POSIX_FADV_RANDOM), 0);
  EXPECT_RET ("posix_fadvise NOREUSE", posix_fadvise (fd, 0, 0, POSIX_FADV_NOREUSE), 0);
  EXPECT_RET ("posix_fadvise DONTNEED", posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  EXPECT_RET ("posix_fadvise64 NORMAL", posix_fadvise64 (fd, 0, 0, POSIX_FADV_NORMAL), 0);
  EXPECT_RET ("posix_fadvise bad advice -> EINVAL", posix_fadvise (fd, 0, 0, 12345), EINVAL);
  EXPECT_RET ("readahead", readahead (fd, 0, size), 0);
  EXPECT_RET ("read after the hints", pread (fd, b, n, 0), (long) n);
  expect_bytes ("read after the hints: data", b, 0, n);
  close (fd);
}

/* ---- mmap ---- */

static void
test_mmap (void)
{
  int fd = open_v (O_RDONLY);
  unsigned char *p;
  char why[200];
  size_t tail;

  if (size == 0) {
    EXPECT_ERR ("mmap of length 0 -> EINVAL",
                mmap (NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0, EINVAL);
    close (fd);
    return;
  }

  p = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  report (p != MAP_FAILED, "mmap PROT_READ MAP_PRIVATE", "%m");
  if (p != MAP_FAILED) {
    report (same (p, 0, size, why, sizeof why), "mmap MAP_PRIVATE: data", "%s", why);
    /* The rest of the last page reads as zeros. */
    tail = (pagesz - size % pagesz) % pagesz;
    report (tail == 0 || (p[size] == 0 && p[size + tail - 1] == 0),
            "mmap: bytes past EOF in the last page are zero", NULL);
    EXPECT_RET ("munmap", munmap (p, size), 0);
  }

  p = mmap (NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  report (p != MAP_FAILED, "mmap PROT_READ MAP_SHARED", "%m");
  if (p != MAP_FAILED) {
    report (same (p, 0, size, why, sizeof why), "mmap MAP_SHARED: data", "%s", why);
    munmap (p, size);
  }

  p = mmap64 (NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  report (p != MAP_FAILED, "mmap64 MAP_PRIVATE|MAP_POPULATE", "%m");
  if (p != MAP_FAILED) {
    report (same (p, 0, size, why, sizeof why), "mmap64: data", "%s", why);
    munmap (p, size);
  }

  if (size > (size_t) pagesz) {
    size_t off = size > (size_t) 16 * pagesz ? 16 * pagesz : pagesz;
    p = mmap (NULL, size - off, PROT_READ, MAP_SHARED, fd, off);
    report (p != MAP_FAILED, "mmap at a nonzero offset", "%m");
    if (p != MAP_FAILED) {
      report (same (p, off, size - off, why, sizeof why), "mmap at a nonzero offset: data", "%s", why);
      munmap (p, size - off);
    }
    EXPECT_ERR ("mmap at an unaligned offset -> EINVAL",
                mmap (NULL, 10, PROT_READ, MAP_PRIVATE, fd, 1) == MAP_FAILED ? -1 : 0, EINVAL);
  }

  /* A private writable mapping is a copy: the file does not change. */
  p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  report (p != MAP_FAILED, "mmap PROT_WRITE MAP_PRIVATE", "%m");
  if (p != MAP_FAILED) {
    unsigned char b;
    p[0] ^= 0xff;
    report (pread (fd, &b, 1, 0) == 1 && b == data[0],
            "writing a private mapping leaves the file alone", NULL);
    report (same (p + 1, 1, size - 1, why, sizeof why), "mmap PROT_WRITE MAP_PRIVATE: data", "%s", why);
    munmap (p, size);
  }

  errno = 0;
  p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  expect_err_ ("mmap PROT_WRITE MAP_SHARED fails", p == MAP_FAILED ? -1 : 0, errno,
               (const int[]) { EACCES, EPERM, EROFS, 0 });
  if (p != MAP_FAILED) munmap (p, size);

  /* The mapping survives closing the fd. */
  p = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (p != MAP_FAILED) {
    report (same (p, 0, size, why, sizeof why), "mmap still reads after close", "%s", why);
    munmap (p, size);
  }
}

/* ---- copy_file_range / sendfile ---- */

static int
tmpfile_fd (void)
{
  char p[PATH_MAX];
  const char *dir = getenv ("TMPDIR");
  int fd;
  snprintf (p, sizeof p, "%s/interpose.XXXXXX", dir && *dir ? dir : "/tmp");
  fd = mkstemp (p);
  if (fd >= 0) unlink (p);
  return fd;
}

static bool
file_is (int ofd, uint64_t off, size_t len, char *why, size_t whylen)
{
  unsigned char *b = malloc (len + 1);
  ssize_t r = pread (ofd, b, len + 1, 0);
  bool good = r == (ssize_t) len && same (b, off, len, why, whylen);
  if (r != (ssize_t) len)
    snprintf (why, whylen, "copy holds %zd bytes, expected %zu", r, len);
  free (b);
  return good;
}

static void
test_copy (void)
{
  int fd = open_v (O_RDONLY), ofd;
  const int unsupported[] = { EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, 0 };
  char why[200] = "";
  loff_t off;
  off_t soff;
  size_t done;
  ssize_t r = 0;
  int e = 0;
  const int *u;
  bool refused;

  /* copy_file_range with an explicit input offset. */
  ofd = tmpfile_fd ();
  lseek (fd, 3, SEEK_SET);
  off = 0;
  for (done = 0; done < size; done += r) {
    errno = 0;
    r = copy_file_range (fd, &off, ofd, NULL, size - done, 0);
    e = errno;
    if (r <= 0) break;
  }
  refused = false;
  if (r < 0)
    for (u = unsupported; *u; u++)
      refused |= e == *u;
  if (refused && done == 0)
    report (true, nm ("copy_file_range refused with %s", strerrorname_np (e)), NULL);
  else if (r < 0)
    report (false, "copy_file_range", "failed with %s after %zu bytes", strerror (e), done);
  else {
    report (done == size && (size_t) off == size && file_is (ofd, 0, size, why, sizeof why),
            "copy_file_range copies the right bytes", "copied %zu, off %jd, %s",
            done, (intmax_t) off, why);
    expect_ret ("copy_file_range with an offset leaves the fd offset", lseek (fd, 0, SEEK_CUR), errno, 3);
  }
  close (ofd);

  /* copy_file_range from the current offset. */
  ofd = tmpfile_fd ();
  soff = size > 3 ? 3 : 0;
  lseek (fd, soff, SEEK_SET);
  for (done = 0, r = 0; done < size - soff; done += r) {
    errno = 0;
    r = copy_file_range (fd, NULL, ofd, NULL, size - soff - done, 0);
    e = errno;
    if (r <= 0) break;
  }
  refused = false;
  if (r < 0)
    for (u = unsupported; *u; u++)
      refused |= e == *u;
  if (refused && done == 0)
    report (true, nm ("copy_file_range (NULL offset) refused with %s", strerrorname_np (e)), NULL);
  else if (r < 0)
    report (false, "copy_file_range (NULL offset)", "failed with %s after %zu bytes", strerror (e), done);
  else {
    report (done == size - soff && file_is (ofd, soff, size - soff, why, sizeof why),
            "copy_file_range (NULL offset) copies the right bytes", "copied %zu, %s", done, why);
    expect_ret ("copy_file_range (NULL offset) advances the fd offset",
                lseek (fd, 0, SEEK_CUR), errno, size);
  }
  close (ofd);

  /* sendfile into a regular file. */
  ofd = tmpfile_fd ();
  lseek (fd, 0, SEEK_SET);
  soff = 0;
  for (done = 0, r = 0; done < size; done += r) {
    errno = 0;
    r = sendfile (ofd, fd, &soff, size - done);
    e = errno;
    if (r <= 0) break;
  }
  refused = false;
  if (r < 0)
    for (u = unsupported; *u; u++)
      refused |= e == *u;
  if (refused && done == 0)
    report (true, nm ("sendfile refused with %s", strerrorname_np (e)), NULL);
  else if (r < 0)
    report (false, "sendfile", "failed with %s after %zu bytes", strerror (e), done);
  else {
    report (done == size && (size_t) soff == size && file_is (ofd, 0, size, why, sizeof why),
            "sendfile copies the right bytes", "copied %zu, %s", done, why);
    expect_ret ("sendfile with an offset leaves the fd offset", lseek (fd, 0, SEEK_CUR), errno, 0);
  }
  close (ofd);

  /* sendfile from the current offset, into a pipe. */
  {
    int pfd[2];
    unsigned char b[4096];
    size_t want = expect_len (1, 4096);
    if (pipe (pfd) == 0) {
      lseek (fd, 1, SEEK_SET);
      errno = 0;
      r = sendfile (pfd[1], fd, NULL, 4096);
      e = errno;
      refused = false;
      for (u = unsupported; *u; u++)
        refused |= r < 0 && e == *u;
      if (refused)
        report (true, nm ("sendfile to a pipe refused with %s", strerrorname_np (e)), NULL);
      else if (r != (ssize_t) want)
        report (false, "sendfile to a pipe", "returned %zd (%s), expected %zu",
                r, r < 0 ? strerror (e) : "-", want);
      else {
        r = want ? read (pfd[0], b, want) : 0;
        report (r == (ssize_t) want && same (b, 1, want, why, sizeof why),
                "sendfile to a pipe: data", "%s", why);
        expect_ret ("sendfile (NULL offset) advances the fd offset",
                    lseek (fd, 0, SEEK_CUR), errno, 1 + want);
      }
      close (pfd[0]);
      close (pfd[1]);
    }
  }
  close (fd);
}

/* ---- fork ---- */

static void
test_fork (void)
{
  int fd = open_v (O_RDONLY), st;
  size_t n = size / 4 > 5000 ? 5000 : size / 4;
  unsigned char *b = malloc (size + 1);
  pid_t pid;

  if (read (fd, b, n) != (ssize_t) n)
    report (false, "read before fork", "%m");
  fflush (stdout);
  pid = fork ();
  if (pid == 0) {
    /* Bit 0: inherited fd continues at the shared offset; bit 1: pread
     * at the end through the inherited fd; bit 2: fresh open reads the
     * whole file; bit 3: close in the child.
     */
    int bits = 0, fd2;
    char why[200];
    ssize_t r;
    alarm (60);
    r = read (fd, b, n);
    if (r != (ssize_t) n || !same (b, n, n, why, sizeof why)) bits |= 1;
    if (size > 0) {
      size_t m = size > 70000 ? 70000 : size;
      r = pread (fd, b, m, size - m);
      if (r != (ssize_t) m || !same (b, size - m, m, why, sizeof why)) bits |= 2;
    }
    fd2 = open (vpath, O_RDONLY);
    r = fd2 >= 0 ? read (fd2, b, size + 1) : -1;
    if (r != (ssize_t) size || !same (b, 0, size, why, sizeof why)) bits |= 4;
    if (fd2 >= 0) close (fd2);
    if (close (fd) != 0) bits |= 8;
    _exit (bits);
  }
  if (pid < 0) {
    report (false, "fork", "%m");
    close (fd);
    free (b);
    return;
  }
  if (waitpid (pid, &st, 0) != pid || !WIFEXITED (st)) {
    report (false, "fork: child", "did not exit normally (status 0x%x)", st);
    st = 0xff00;
  }
  else
    st = WEXITSTATUS (st);
  report (!(st & 1), "fork: child reads the inherited fd at the shared offset", "wrong data");
  report (!(st & 2), "fork: child preads the end through the inherited fd", "wrong data");
  report (!(st & 4), "fork: child opens and reads the file anew", "wrong data");
  report (!(st & 8), "fork: child closes the inherited fd", "close failed");
  EXPECT_RET ("fork: parent sees the offset moved by the child", lseek (fd, 0, SEEK_CUR), (long) 2 * n);
  EXPECT_RET ("fork: parent still reads after the child closed its copy",
              read (fd, b, n), (long) n);
  expect_bytes ("fork: parent data", b, 2 * n, n);
  close (fd);
  free (b);
}

/* ---- threads ---- */

struct worker {
  pthread_t tid;
  int fd;              /* shared fd, or -1 to open one */
  unsigned seed;
  int errors;
  char why[200];
};

static void *
worker (void *arg)
{
  struct worker *w = arg;
  uint64_t s = 0x1234567ULL * (w->seed + 1);
  unsigned char *b = malloc (200000);
  int fd = w->fd >= 0 ? w->fd : open (vpath, O_RDONLY);
  int i;

  if (fd < 0) {
    w->errors++;
    snprintf (w->why, sizeof w->why, "open: %m");
    free (b);
    return NULL;
  }
  for (i = 0; i < 150; i++) {
    uint64_t o = rnd (&s) % (size + 100);
    size_t l = 1 + rnd (&s) % (i % 10 == 0 ? 200000 : 20000);
    size_t want = expect_len (o, l);
    ssize_t r = pread (fd, b, l, o);
    if (r != (ssize_t) want) {
      if (!w->errors++)
        snprintf (w->why, sizeof w->why, "pread(%zu @ %" PRIu64 ") = %zd (%m), expected %zu",
                  l, o, r, want);
    }
    else if (memcmp (b, data + o, want) != 0 && !w->errors++)
      same (b, o, want, w->why, sizeof w->why);
  }
  if (w->fd < 0) close (fd);
  free (b);
  return NULL;
}

static void
test_threads (void)
{
  struct worker w[8];
  int fd = open_v (O_RDONLY), i, errors = 0;
  const char *why = "";

  for (i = 0; i < 8; i++) {
    w[i].fd = i < 4 ? fd : -1;
    w[i].seed = i;
    w[i].errors = 0;
    w[i].why[0] = '\0';
    pthread_create (&w[i].tid, NULL, worker, &w[i]);
  }
  for (i = 0; i < 8; i++) {
    pthread_join (w[i].tid, NULL);
    errors += w[i].errors;
    if (w[i].errors && !*why) why = w[i].why;
  }
  report (errors == 0, "8 threads x 150 random preads (4 on a shared fd)",
          "%d bad reads; first: %s", errors, why);
  close (fd);
}

/* ---- errno is preserved by successful calls ---- */

static void
test_errno (void)
{
  unsigned char b[16];
  struct stat st;
  int fd, lfd, d;
  void *p;

#define KEEP(name, call) do {                                       \
    long r_;                                                        \
    errno = 12345;                                                  \
    r_ = (long) (call);                                             \
    (void) r_;                                                      \
    report (errno == 12345, (name), "errno became %d (%s)", errno, \
            strerror (errno));                                      \
  } while (0)
  errno = 12345;
  fd = open (vpath, O_RDONLY);
  report (fd >= 0 && errno == 12345, "errno kept: open (virtual)", "errno %d", errno);
  KEEP ("errno kept: read (virtual)", read (fd, b, sizeof b));
  KEEP ("errno kept: pread (virtual)", pread (fd, b, sizeof b, 1));
  KEEP ("errno kept: lseek (virtual)", lseek (fd, 0, SEEK_SET));
  KEEP ("errno kept: fstat (virtual)", fstat (fd, &st));
  KEEP ("errno kept: stat (virtual)", stat (vpath, &st));
  KEEP ("errno kept: access (virtual)", access (vpath, R_OK));
  KEEP ("errno kept: fcntl F_GETFL (virtual)", fcntl (fd, F_GETFL));
  errno = 12345;
  d = dup (fd);
  report (errno == 12345, "errno kept: dup (virtual)", "errno %d", errno);
  KEEP ("errno kept: close (virtual dup)", close (d));
  if (size > 0) {
    errno = 12345;
    p = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    report (p != MAP_FAILED && errno == 12345, "errno kept: mmap (virtual)", "errno %d", errno);
    if (p != MAP_FAILED) KEEP ("errno kept: munmap", munmap (p, size));
  }
  KEEP ("errno kept: close (virtual)", close (fd));

  errno = 12345;
  lfd = open ("/dev/zero", O_RDONLY);
  report (lfd >= 0 && errno == 12345, "errno kept: open (ordinary)", "errno %d", errno);
  KEEP ("errno kept: read (ordinary)", read (lfd, b, sizeof b));
  KEEP ("errno kept: pread (ordinary)", pread (lfd, b, sizeof b, 0));
  KEEP ("errno kept: fstat (ordinary)", fstat (lfd, &st));
  KEEP ("errno kept: close (ordinary)", close (lfd));
  KEEP ("errno kept: stat (ordinary)", stat (lpath, &st));
  errno = 12345;
  lfd = open (lpath, O_RDONLY);
  report (lfd >= 0 && errno == 12345, "errno kept: open (local copy)", "errno %d", errno);
  KEEP ("errno kept: read (local copy)", read (lfd, b, sizeof b));
  KEEP ("errno kept: lseek (local copy)", lseek (lfd, 0, SEEK_END));
  KEEP ("errno kept: close (local copy)", close (lfd));
#undef KEEP
}

/* ---- raw syscalls bypass the shim ---- */

static void
test_raw (void)
{
  int fd;
  unsigned char b[16];
  long r;

  if (!strict) {
    skip ("raw syscalls", "VIRTUAL_PATH is the local file");
    return;
  }
  fd = open_v (O_RDONLY);
  errno = 0;
  r = syscall (SYS_read, fd, b, sizeof b);
  report (r < 0 || (size == 0 && r == 0), "raw SYS_read on a virtual fd fails",
          "returned %ld", r);
  errno = 0;
  r = syscall (SYS_pread64, fd, b, sizeof b, 0L);
  report (r < 0 || (size == 0 && r == 0), "raw SYS_pread64 on a virtual fd fails",
          "returned %ld", r);
  /* The shim still serves the fd after that. */
  EXPECT_RET ("read after raw syscalls", pread (fd, b, sizeof b, 0), (long) expect_len (0, sizeof b));
  expect_bytes ("read after raw syscalls: data", b, 0, expect_len (0, sizeof b));
  close (fd);
}

static const struct {
  const char *name;
  void (*fn) (void);
} sections[] = {
  { "open", test_open }, { "readonly", test_readonly }, { "stdio", test_stdio },
  { "read", test_read }, { "vectored", test_vectored }, { "lseek", test_lseek },
  { "stat", test_stat }, { "access", test_access }, { "fds", test_fds },
  { "writes", test_writes }, { "mmap", test_mmap }, { "copy", test_copy },
  { "fork", test_fork }, { "threads", test_threads }, { "errno", test_errno },
  { "raw", test_raw },
};

int
main (int argc, char *argv[])
{
  size_t i;
  int fd;
  size_t got = 0;
  ssize_t r;
  struct stat st;

  if (argc < 3) {
    fprintf (stderr, "usage: %s VIRTUAL_PATH LOCAL_PATH [SECTION...]\n", argv[0]);
    return 2;
  }
  setvbuf (stdout, NULL, _IOLBF, 0);
  vpath = argv[1];
  lpath = argv[2];
  strict = strcmp (vpath, lpath) != 0;
  pagesz = sysconf (_SC_PAGESIZE);

  fd = open (lpath, O_RDONLY);
  if (fd < 0 || fstat (fd, &st) != 0) {
    fprintf (stderr, "%s: %s: %m\n", argv[0], lpath);
    return 2;
  }
  size = st.st_size;
  data = malloc (size + 1);
  while (got < size && (r = read (fd, data + got, size - got)) > 0)
    got += r;
  close (fd);
  if (got != size) {
    fprintf (stderr, "%s: %s: short read\n", argv[0], lpath);
    return 2;
  }
  printf ("# %s (%zu bytes) against %s%s\n", vpath, size, lpath,
          strict ? "" : " (local only: read-only checks skipped)");

  for (i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    bool want = argc == 3;
    int j;
    for (j = 3; j < argc; j++)
      want |= strcmp (argv[j], sections[i].name) == 0;
    if (want) {
      printf ("# section %s\n", sections[i].name);
      sections[i].fn ();
    }
  }

  printf ("%d passed, %d failed\n", npass, nfail);
  return nfail ? 1 : 0;
}
