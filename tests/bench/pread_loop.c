/* pread_loop: measures the cost of plain file I/O calls on a local file, to
 * compare a run with the preload library against one without it.
 *
 *   pread_loop pread FILE COUNT   COUNT 4 KiB preads at scattered offsets
 *   pread_loop open FILE COUNT    COUNT open + fstat + close of FILE
 * Prints "ns_per_op=N cpu_ns_per_op=N" (wall clock, and user + system CPU time
 * of the loop, which other programs on a busy machine disturb less).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main (int argc, char **argv)
{
  static char buf[4096];
  struct stat st;
  long i, count;
  uint64_t blocks, sum = 0;
  double t0, t1, c0, c1;
  int fd;

  if (argc != 4) {
    fprintf (stderr, "usage: pread_loop pread|open FILE COUNT\n");
    return 2;
  }
  count = atol (argv[3]);
  fd = open (argv[2], O_RDONLY);
  if (fd < 0 || fstat (fd, &st) < 0) {
    perror (argv[2]);
    return 2;
  }
  blocks = st.st_size / sizeof buf;
  if (blocks == 0) {
    fprintf (stderr, "pread_loop: %s is smaller than 4 KiB\n", argv[2]);
    return 2;
  }
  t0 = now ();
  c0 = cpu ();
  if (strcmp (argv[1], "pread") == 0) {
    for (i = 0; i < count; i++) {
      off_t off = (off_t) ((i * 7919u) % blocks) * sizeof buf;
      if (pread (fd, buf, sizeof buf, off) != sizeof buf) {
        perror ("pread");
        return 1;
      }
      sum += (unsigned char) buf[i & 4095];
    }
  }
  else if (strcmp (argv[1], "open") == 0) {
    for (i = 0; i < count; i++) {
      int f = open (argv[2], O_RDONLY);
      if (f < 0 || fstat (f, &st) < 0) {
        perror ("open/fstat");
        return 1;
      }
      sum += st.st_size & 1;
      close (f);
    }
  }
  else {
    fprintf (stderr, "pread_loop: unknown mode %s\n", argv[1]);
    return 2;
  }
  t1 = now ();
  c1 = cpu ();
  printf ("ns_per_op=%.1f cpu_ns_per_op=%.1f checksum=%llu\n", (t1 - t0) * 1e9 / count,
          (c1 - c0) * 1e9 / count, (unsigned long long) sum);
  close (fd);
  return 0;
}
