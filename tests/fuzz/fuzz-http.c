/* fuzz-http.c: libFuzzer target for the response parsers: Content-Range, header lines,
 * Retry-After and Content-Length. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t a, b, c;
    if (http_parse_content_range(s, size, &a, &b, &c) == 0) {
        if (a >= 0 && (b < a || (c >= 0 && b >= c)))
            __builtin_trap(); /* the parser promised a valid range */
    }
    const char *v;
    size_t vlen;
    static const char *const names[] = { "content-range", "etag", "retry-after",
                                         "content-length", "last-modified" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (http_header_is(s, size, names[i], &v, &vlen) && (v < s || v + vlen > s + size))
            __builtin_trap();
    uint64_t ms;
    if (http_parse_retry_after(s, size, (time_t)1700000000, 10000, &ms) == 0 && ms > 10000)
        __builtin_trap();
    http_parse_length(s, size, &a);
    return 0;
}
