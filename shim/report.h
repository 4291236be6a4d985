/* report.h: when and where the REMOTEIO_STATS lines are written: at exit; every
 * REMOTEIO_STATS_INTERVAL, from a thread of the shim's; and, while an interval is set,
 * whenever the process closes its last virtual file (a process that ends with _exit,
 * which runs no destructor, has usually closed its files first).  Every line gives the
 * totals so far, so the last line of a path is its final figure.
 *
 * Above object.c (it prints through object_print_stats); called by init.c and the close
 * hooks.  Errors: none reported; a line that cannot be written is dropped. */
#ifndef REMOTEIO_REPORT_H
#define REMOTEIO_REPORT_H

/* Constructor: keep a copy of stderr if the lines go there (programs close stderr in
 * their own exit handlers, which run before ours). */
void report_init(void);
/* The backend started: start the interval thread if an interval is set. */
void report_start(void);
/* A virtual descriptor was closed. */
void report_file_closed(void);
/* Destructor: the final lines. */
void report_at_exit(void);
/* In a forked child: the parent's thread is not here; start the child's own. */
void report_atfork_child(void);

#endif
