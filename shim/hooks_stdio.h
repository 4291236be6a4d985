/* hooks_stdio.h: what the other hooks tell stdio (hooks_stdio.c).
 *
 * Errors: none; stdio follows as well as it can (a stream it cannot make leaves glibc's
 * stdin in place). */
#ifndef REMOTEIO_HOOKS_STDIO_H
#define REMOTEIO_HOOKS_STDIO_H

/* Descriptor fd changed between virtual and not (an open, dup2 or dup3 onto it): stdin
 * follows descriptor 0; other descriptors do not matter. */
void stdio_descriptor_changed(int fd);

#endif
