/* libcurl.c: see libcurl.h.  Called once, under the start-up lock. */
#include <dlfcn.h>

#include "libcurl.h"
#include "log.h"

struct libcurl_api libcurl;

int libcurl_load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        log_error("cannot load libcurl.so.4 (%s); virtual files are unavailable", dlerror());
        return -1;
    }
#define LIBCURL_LOOKUP(ret, name, args)                                                \
    *(void **)&libcurl.name = dlsym(h, "curl_" #name);                                 \
    if (!libcurl.name) {                                                               \
        log_error("libcurl.so.4 has no curl_" #name "; virtual files are unavailable");\
        return -1;                                                                     \
    }
    LIBCURL_FUNCTIONS(LIBCURL_LOOKUP)
#undef LIBCURL_LOOKUP
    if (libcurl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("cannot initialise libcurl; virtual files are unavailable");
        return -1;
    }
    return 0;
}
