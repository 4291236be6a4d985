/* fuzz-request.c: libFuzzer target for the request builder: any string as a URL, and as
 * a redirect's target.  A URL the builder takes writes a head whose length it computed,
 * names its own origin, and gives nothing of its credentials to another origin. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    struct http_request rq;
    if (http_request_init(&rq, "GET", url) == 0) {
        if (!http_same_origin(url, url))
            __builtin_trap();
        char *out;
        size_t len;
        http_request_range(&rq, 0, 1);
        if (http_request_format(&rq, "fuzz", &out, &len) == 0) {
            if (strlen(out) != len || len < 4 || memcmp(out + len - 4, "\r\n\r\n", 4) != 0)
                __builtin_trap();
            free(out);
        }
    }
    http_request_free(&rq);
    char *next = http_url_after_redirect("http://u:secret@127.0.0.1:1/a", url);
    if (next && strstr(next, "secret") && !strstr(url, "secret") &&
        !http_same_origin(next, "http://127.0.0.1:1/"))
        __builtin_trap();
    free(next);
    free(url);
    return 0;
}
