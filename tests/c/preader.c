/* preader: a multi-threaded, optionally multi-process pread(2) driver for
 * the concurrency, readahead and memory tests.
 *
 *   preader [options] FILE
 *     -t N       threads per process (default 1)
 *     -p N       processes (default 1): the file is opened once, then the
 *                process forks N-1 times (children use the inherited fd);
 *                with -F each process opens the file itself after the fork
 *     -m MODE    seq     each thread reads its own 1/N slice sequentially
 *                rand    random offsets and lengths (1..bs) over the file
 *                mix     even threads seq, odd threads rand
 *                same    every thread reads [offset, offset+bs) at once
 *                far     thread i reads bs at offset + i*(size-offset)/N, all at once
 *     -b BYTES   block size (default 65536); suffixes K M G
 *     -n N       reads per thread (default: seq = whole slice, else 100)
 *     -o BYTES   offset for "same" and base for "seq" (default 0)
 *     -l BYTES   bytes to cover in seq mode (default: the whole file)
 *     -c FILE    reference copy: every byte read is compared with it
 *     -x         rand mode: offsets aligned to bs and every read exactly bs
 *     -w SECS    keep the file open SECS seconds after reading and printing
 *                the summary (readahead tests)
 *     -s SEED    random seed (default 1)
 *     -M         print the peak VmRSS / VmHWM (KiB) of each process
 *     -q         quiet
 * Prints one summary line per process ("preader: pid=... ops=... bytes=...
 * secs=... mismatches=..."); exits 0 when every read succeeded and matched.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { SEQ, RAND, MIX, SAME, FAR };

static const char *path, *ref_path;
static int nthreads = 1, nprocs = 1, open_after_fork, quiet, report_mem, fixed;
static enum mode mode = SEQ;
static uint64_t bs = 65536, nreads, base_off, seq_len, seed = 1;
static double wait_secs;
static int fd = -1, ref_fd = -1;
static uint64_t fsize;
static pthread_barrier_t barrier;
static volatile int done_flag;

struct worker {
  pthread_t tid;
  int idx;
  uint64_t ops, bytes, mismatches, errors;
  double secs;
};

static uint64_t
parse_size (const char *s)
{
  char *end;
  uint64_t v = strtoull (s, &end, 0);
  switch (*end) {
  case 'k': case 'K': v <<= 10; break;
  case 'm': case 'M': v <<= 20; break;
  case 'g': case 'G': v <<= 30; break;
  }
  return v;
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
xorshift (uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return *s = x;
}

/* Read [off, off+len) and check it against the reference. */
static void
one_read (struct worker *w, char *buf, char *rbuf, uint64_t off, uint64_t len)
{
  ssize_t r, got = 0;

  if (off >= fsize)
    return;
  if (off + len > fsize)
    len = fsize - off;
  while ((uint64_t) got < len) {
    r = pread (fd, buf + got, len - got, off + got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      fprintf (stderr, "preader: pread off=%" PRIu64 " len=%" PRIu64 ": %s\n",
               off + got, len - got, r < 0 ? strerror (errno) : "short read");
      w->errors++;
      return;
    }
    got += r;
  }
  w->ops++;
  w->bytes += len;
  if (ref_fd >= 0) {
    if (pread (ref_fd, rbuf, len, off) != (ssize_t) len) {
      fprintf (stderr, "preader: reference read failed at %" PRIu64 "\n", off);
      w->errors++;
      return;
    }
    if (memcmp (buf, rbuf, len) != 0) {
      uint64_t i;
      for (i = 0; i < len && buf[i] == rbuf[i]; i++)
        ;
      if (w->mismatches++ < 5)
        fprintf (stderr, "preader: MISMATCH at byte %" PRIu64
                 " (read off=%" PRIu64 " len=%" PRIu64 ")\n", off + i, off, len);
    }
  }
}

static void *
run_worker (void *arg)
{
  struct worker *w = arg;
  char *buf = malloc (bs), *rbuf = malloc (bs);
  uint64_t rnd = seed * 0x9E3779B97F4A7C15ULL + (uint64_t) getpid () * 7919 + w->idx * 104729 + 1;
  enum mode m = mode;
  uint64_t i, n;
  double t0;

  if (!buf || !rbuf) { perror ("malloc"); exit (2); }
  if (m == MIX)
    m = (w->idx & 1) ? RAND : SEQ;
  pthread_barrier_wait (&barrier);
  t0 = now ();
  switch (m) {
  case SEQ: {
    uint64_t span = seq_len ? seq_len : fsize - base_off;
    uint64_t slice = span / nthreads;
    uint64_t start = base_off + slice * w->idx;
    uint64_t end = w->idx == nthreads - 1 ? base_off + span : start + slice;
    n = nreads ? nreads : UINT64_MAX;
    for (i = 0; i < n && start < end; i++, start += bs)
      one_read (w, buf, rbuf, start, end - start < bs ? end - start : bs);
    break;
  }
  case RAND:
    n = nreads ? nreads : 100;
    for (i = 0; i < n; i++) {
      uint64_t off = xorshift (&rnd) % fsize;
      uint64_t len = 1 + xorshift (&rnd) % bs;
      if (fixed) {
        off = xorshift (&rnd) % (fsize / bs ? fsize / bs : 1) * bs;
        len = bs;
      }
      one_read (w, buf, rbuf, off, len);
    }
    break;
  case SAME:
    one_read (w, buf, rbuf, base_off, bs);
    break;
  case FAR:
    one_read (w, buf, rbuf, base_off + (fsize - base_off) / nthreads * w->idx, bs);
    break;
  case MIX:
    abort ();
  }
  w->secs = now () - t0;
  free (buf);
  free (rbuf);
  return NULL;
}

/* Samples VmRSS while the workers run. */
static uint64_t peak_rss_kb;
static uint64_t
status_kb (const char *key)
{
  char line[256];
  uint64_t v = 0;
  size_t kl = strlen (key);
  FILE *f = fopen ("/proc/self/status", "r");
  if (!f)
    return 0;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, key, kl) == 0 && line[kl] == ':')
      v = strtoull (line + kl + 1, NULL, 10);
  fclose (f);
  return v;
}
static void *
sampler (void *arg)
{
  while (!done_flag) {
    uint64_t v = status_kb ("VmRSS");
    if (v > peak_rss_kb)
      peak_rss_kb = v;
    usleep (20000);
  }
  return NULL;
}

static int
run_process (void)
{
  struct worker *w = calloc (nthreads, sizeof *w);
  uint64_t ops = 0, bytes = 0, mism = 0, errs = 0;
  pthread_t samp;
  double t0, secs, tmax = 0;
  int i;

  if (open_after_fork || fd < 0) {
    fd = open (path, O_RDONLY);
    if (fd < 0) { fprintf (stderr, "preader: open %s: %s\n", path, strerror (errno)); return 2; }
  }
  if (report_mem)
    pthread_create (&samp, NULL, sampler, NULL);
  pthread_barrier_init (&barrier, NULL, nthreads);
  t0 = now ();
  for (i = 0; i < nthreads; i++) {
    w[i].idx = i;
    pthread_create (&w[i].tid, NULL, run_worker, &w[i]);
  }
  for (i = 0; i < nthreads; i++) {
    pthread_join (w[i].tid, NULL);
    ops += w[i].ops; bytes += w[i].bytes;
    mism += w[i].mismatches; errs += w[i].errors;
    if (w[i].secs > tmax) tmax = w[i].secs;
  }
  secs = now () - t0;
  if (report_mem) {
    done_flag = 1;
    pthread_join (samp, NULL);
  }
  if (!quiet || mism || errs) {
    printf ("preader: pid=%d ops=%" PRIu64 " bytes=%" PRIu64 " secs=%.3f slowest_thread=%.3f"
            " mismatches=%" PRIu64 " errors=%" PRIu64,
            (int) getpid (), ops, bytes, secs, tmax, mism, errs);
    if (report_mem)
      printf (" peak_rss_kb=%" PRIu64 " vmhwm_kb=%" PRIu64, peak_rss_kb, status_kb ("VmHWM"));
    printf ("\n");
    fflush (stdout);
  }
  if (wait_secs > 0)
    usleep ((useconds_t) (wait_secs * 1e6));
  close (fd);
  free (w);
  return mism || errs ? 1 : 0;
}

int
main (int argc, char **argv)
{
  struct stat st;
  int c, i, rc, status;

  while ((c = getopt (argc, argv, "t:p:Fm:b:n:o:l:c:w:s:xMq")) != -1) {
    switch (c) {
    case 't': nthreads = atoi (optarg); break;
    case 'p': nprocs = atoi (optarg); break;
    case 'F': open_after_fork = 1; break;
    case 'm':
      if (!strcmp (optarg, "seq")) mode = SEQ;
      else if (!strcmp (optarg, "rand")) mode = RAND;
      else if (!strcmp (optarg, "mix")) mode = MIX;
      else if (!strcmp (optarg, "same")) mode = SAME;
      else if (!strcmp (optarg, "far")) mode = FAR;
      else { fprintf (stderr, "preader: unknown mode %s\n", optarg); return 2; }
      break;
    case 'b': bs = parse_size (optarg); break;
    case 'n': nreads = parse_size (optarg); break;
    case 'o': base_off = parse_size (optarg); break;
    case 'l': seq_len = parse_size (optarg); break;
    case 'c': ref_path = optarg; break;
    case 'w': wait_secs = atof (optarg); break;
    case 's': seed = strtoull (optarg, NULL, 0); break;
    case 'x': fixed = 1; break;
    case 'M': report_mem = 1; break;
    case 'q': quiet = 1; break;
    default:
      fprintf (stderr, "usage: preader [-t N] [-p N] [-F] [-m seq|rand|mix|same|far] [-b BS] [-n N]"
               " [-o OFF] [-l LEN] [-c REF] [-x] [-w SECS] [-s SEED] [-M] [-q] FILE\n");
      return 2;
    }
  }
  if (optind != argc - 1 || nthreads < 1 || nprocs < 1 || bs == 0) {
    fprintf (stderr, "preader: bad arguments (see the comment at the top of preader.c)\n");
    return 2;
  }
  path = argv[optind];
  if (ref_path && (ref_fd = open (ref_path, O_RDONLY)) < 0) {
    fprintf (stderr, "preader: open %s: %s\n", ref_path, strerror (errno));
    return 2;
  }
  if (!open_after_fork) {
    fd = open (path, O_RDONLY);
    if (fd < 0) { fprintf (stderr, "preader: open %s: %s\n", path, strerror (errno)); return 2; }
    if (fstat (fd, &st) < 0) { perror ("fstat"); return 2; }
  }
  else if (stat (path, &st) < 0) {
    fprintf (stderr, "preader: stat %s: %s\n", path, strerror (errno));
    return 2;
  }
  fsize = st.st_size;
  if (fsize == 0) { fprintf (stderr, "preader: %s is empty\n", path); return 2; }
  if (nprocs == 1)
    return run_process ();

  fflush (stdout);
  for (i = 0; i < nprocs; i++) {
    pid_t pid = fork ();
    if (pid < 0) { perror ("fork"); return 2; }
    if (pid == 0)
      _exit (run_process ());
  }
  rc = 0;
  for (i = 0; i < nprocs; i++) {
    if (wait (&status) < 0) { perror ("wait"); return 2; }
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
      fprintf (stderr, "preader: a child failed (status 0x%x)\n", status);
      rc = 1;
    }
  }
  return rc;
}
