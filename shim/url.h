/* url.h: the display form of URLs, the only form in which the shim ever prints one or
 * stores one where another process could read it.
 *
 * A URL's display form keeps its scheme, host, port and path and drops everything that
 * may carry a secret: the userinfo (user:password@), the query (presigned signatures,
 * tokens) and the fragment.  An authority that does not parse (a port that is not a
 * number, as when a password holds a raw '/') is not shown at all, and a path holding an
 * '@' (which may be the end of such a password) shows as "/...".  Pure string functions:
 * no state, no locks. */
#ifndef REMOTEIO_URL_H
#define REMOTEIO_URL_H

#include <stdbool.h>
#include <stddef.h>

/* The display form of url into out (always NUL-terminated, truncated to fit). */
void url_display(const char *url, char *out, size_t outlen);

/* True when the authority after scheme:// (and any userinfo) is host[:port] with a
 * numeric port, or [v6][:port]. */
bool url_authority_parses(const char *url);

/* True when url is its own display form (nothing in it would be hidden). */
bool url_is_display(const char *url);

/* Whether url is s3://BUCKET... (s3.h makes requests of it). */
bool url_is_s3(const char *url);
/* Why an s3://BUCKET[/KEY] URL cannot be used (a bucket of 1-63 of A-Za-z0-9.-_, no
 * query or fragment), or NULL. */
const char *url_s3_problem(const char *url);

/* A text that may quote URLs (a configuration entry, a log line), with every URL in it
 * in display form.  strict (entries the parser refused, whose shape is unknown) also
 * drops from any '?' or '#' to the next blank and hides what precedes an '@' in words
 * that are no URL. */
void url_display_text(const char *text, bool strict, char *out, size_t outlen);

#endif
