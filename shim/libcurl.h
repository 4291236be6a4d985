/* libcurl.h: libcurl, loaded with dlopen on the first virtual open.
 *
 * A program that never opens a virtual file never loads libcurl and its dependency tree
 * (TLS, PKCS#11, LDAP...), whose constructors would otherwise run in every process the
 * shim is preloaded into.  The few functions the shim uses are called through this
 * table; libcurl_load() fills it, once.
 *
 * Errors: libcurl_load returns -1 after one log line. */
#ifndef REMOTEIO_LIBCURL_H
#define REMOTEIO_LIBCURL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#define LIBCURL_FUNCTIONS(X)                                                           \
    X(CURLcode, global_init, (long))                                                   \
    X(CURL *, easy_init, (void))                                                       \
    X(void, easy_cleanup, (CURL *))                                                    \
    X(void, easy_reset, (CURL *))                                                      \
    X(CURLcode, easy_setopt, (CURL *, CURLoption, ...))                                \
    X(CURLcode, easy_getinfo, (CURL *, CURLINFO, ...))                                 \
    X(CURLcode, easy_perform, (CURL *))                                                \
    X(const char *, easy_strerror, (CURLcode))                                         \
    X(CURLcode, easy_send, (CURL *, const void *, size_t, size_t *))                   \
    X(CURLcode, easy_recv, (CURL *, void *, size_t, size_t *))                         \
    X(struct curl_slist *, slist_append, (struct curl_slist *, const char *))          \
    X(void, slist_free_all, (struct curl_slist *))                                     \
    X(time_t, getdate, (const char *, const time_t *))

#define LIBCURL_DECLARE(ret, name, args) ret(*name) args;
struct libcurl_api {
    LIBCURL_FUNCTIONS(LIBCURL_DECLARE)
};
#undef LIBCURL_DECLARE

extern struct libcurl_api libcurl;

/* Load libcurl.so.4 and initialise it; 0, or -1 after logging why. */
int libcurl_load(void);

#endif
