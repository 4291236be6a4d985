/* http_parse.h: the pieces of HTTP responses the shim reads, parsed strictly and without
 * libcurl, so that they can be tested case by case and fuzzed.  Header names compare
 * case-insensitively (HTTP/2 sends them in lower case).
 *
 * Errors: parsers return 0 or -1 (malformed), predicates false; nothing is logged. */
#ifndef REMOTEIO_HTTP_PARSE_H
#define REMOTEIO_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "bytes FIRST-LAST/TOTAL"; "bytes STAR/TOTAL" (unsatisfied: first = last = -1), or
 * "bytes FIRST-LAST/STAR" (total = -1), STAR being a literal asterisk.  Returns 0, or -1 when malformed, when
 * LAST < FIRST, or when LAST >= TOTAL. */
int http_parse_content_range(const char *s, size_t len, int64_t *first, int64_t *last,
                             int64_t *total);

/* When line (a raw header line as libcurl hands it, with CRLF) is header `name`,
 * point value at its trimmed value and return true. */
bool http_header_is(const char *line, size_t len, const char *name, const char **value,
                    size_t *vlen);

/* Retry-After: delta seconds or an HTTP date; the wait in milliseconds, capped at cap_ms.
 * Returns 0, or -1 when malformed. */
int http_parse_retry_after(const char *s, size_t len, time_t now, uint64_t cap_ms,
                           uint64_t *wait_ms);

/* A non-negative decimal (Content-Length); -1 when malformed or overflowing. */
int http_parse_length(const char *s, size_t len, int64_t *out);

#endif
