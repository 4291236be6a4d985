/* unit-request.c: the request builder (shim/http_request.c): URL parts, credentials,
 * the header lines, the written request head and its bound, origins and redirects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"
#include "unit.h"

static void check_parts(const char *url, const char *origin, const char *host, const char *path,
                        const char *query, const char *auth)
{
    struct http_request rq;
    int rc = http_request_init(&rq, "GET", url);
    CHECK(rc == 0, "%s: init %d", url, rc);
    if (rc)
        return;
    CHECK(strcmp(rq.origin, origin) == 0, "%s: origin %s", url, rq.origin);
    CHECK(strcmp(rq.host, host) == 0, "%s: host %s", url, rq.host);
    CHECK(strcmp(rq.path, path) == 0, "%s: path %s", url, rq.path);
    CHECK(strcmp(rq.query, query) == 0, "%s: query %s", url, rq.query);
    CHECK(auth ? rq.authorization && strcmp(rq.authorization, auth) == 0 : !rq.authorization,
          "%s: authorization %s", url, rq.authorization ? rq.authorization : "(none)");
    http_request_free(&rq);
}

static void test_parts(void)
{
    check_parts("http://h:8080/a/b?x=1&y#frag", "http://h:8080", "h:8080", "/a/b", "x=1&y", NULL);
    check_parts("http://h", "http://h", "h", "/", "", NULL);
    check_parts("http://h?q", "http://h", "h", "/", "q", NULL);
    check_parts("HTTPS://[::1]:443/x%20y", "HTTPS://[::1]:443", "[::1]:443", "/x%20y", "", NULL);
    check_parts("https://u:p%40w@H/o", "https://H", "H", "/o", "", "Basic dTpwQHc=");
    check_parts("http://user:pa:ss@h/", "http://h", "h", "/", "", "Basic dXNlcjpwYTpzcw==");
    check_parts("http://u@h/", "http://h", "h", "/", "", "Basic dTo=");
    check_parts("http://%75:%@h/", "http://h", "h", "/", "", "Basic dTol");
    static const char *const bad[] = { "ftp://h/", "http:///x", "h/x", "http://u@/x", "", NULL };
    for (const char *const *b = bad; *b; b++) {
        struct http_request rq;
        int rc = http_request_init(&rq, "GET", *b);
        CHECK(rc == -EINVAL, "'%s': init %d, want -EINVAL", *b, rc);
        http_request_free(&rq);
    }
}

static void test_headers(void)
{
    struct http_request rq;
    CHECK(http_request_init(&rq, "GET", "http://h/o") == 0, "init");
    CHECK(http_request_range(&rq, 10, 10) == 0, "range");
    CHECK(strcmp(rq.headers[0], "Range: bytes=10-19") == 0, "range line %s", rq.headers[0]);
    CHECK(http_request_validator(&rq, "\"abc\"", "Mon, 01 Jan 2024 00:00:00 GMT") == 0, "strong");
    CHECK(strcmp(rq.headers[1], "If-Match: \"abc\"") == 0, "if-match %s", rq.headers[1]);
    CHECK(http_request_validator(&rq, "W/\"abc\"", "Mon, 01 Jan 2024 00:00:00 GMT") == 0, "weak");
    CHECK(strcmp(rq.headers[2], "If-Unmodified-Since: Mon, 01 Jan 2024 00:00:00 GMT") == 0,
          "weak etag pins by date: %s", rq.headers[2]);
    CHECK(http_request_validator(&rq, "", "") == 0 && rq.nheaders == 3, "no validator, no line");
    CHECK(http_request_add(&rq, "X-A: 1\r\nX-B: 2") == -EINVAL && rq.nheaders == 3,
          "a value with CRLF is refused");
    CHECK(http_request_add(&rq, "X-A: 1\n") == -EINVAL, "a value with LF is refused");
    int rc = 0;
    while (rq.nheaders < HTTP_REQUEST_HEADERS && rc == 0)
        rc = http_request_add(&rq, "X-N: %zu", rq.nheaders);
    CHECK(rc == 0 && http_request_add(&rq, "X-Over: 1") == -E2BIG, "header table bound");
    http_request_free(&rq);
}

static void test_format(void)
{
    struct http_request rq;
    CHECK(http_request_init(&rq, "GET", "http://u:p@h:81?q=1") == 0, "init");
    CHECK(http_request_range(&rq, 0, 1) == 0 && http_request_add(&rq, "Accept-Encoding: identity") == 0,
          "headers");
    char *out;
    size_t len;
    CHECK(http_request_format(&rq, "ua/1", &out, &len) == 0, "format");
    const char *want = "GET /?q=1 HTTP/1.1\r\nHost: h:81\r\nUser-Agent: ua/1\r\nAccept: */*\r\n"
                       "Authorization: Basic dTpw\r\nRange: bytes=0-0\r\n"
                       "Accept-Encoding: identity\r\n\r\n";
    CHECK(len == strlen(want) && strcmp(out, want) == 0, "request head:\n%s", out);
    free(out);
    http_request_free(&rq);

    /* A mapping's Authorization header replaces the userinfo's: one is sent, the mapping's. */
    CHECK(http_request_init(&rq, "GET", "http://u:p@h/") == 0 &&
              http_request_add(&rq, "authorization: Bearer t") == 0 &&
              http_request_format(&rq, "ua", &out, &len) == 0,
          "userinfo plus an Authorization header");
    CHECK(strstr(out, "Basic") == NULL && strstr(out, "\r\nauthorization: Bearer t\r\n") &&
              strstr(strstr(out, "uthorization:") + 1, "uthorization:") == NULL,
          "one Authorization header, the mapping's:\n%s", out);
    free(out);
    http_request_free(&rq);

    /* A head over the bound fails cleanly, whatever made it long. */
    size_t big = HTTP_REQUEST_HEAD_MAX;
    char *path = malloc(big + 16);
    memcpy(path, "http://h/", 9);
    memset(path + 9, 'a', big);
    path[9 + big] = '\0';
    CHECK(http_request_init(&rq, "GET", path) == 0, "long init");
    out = (char *)1;
    CHECK(http_request_format(&rq, "ua", &out, &len) == -E2BIG && out == NULL && len == 0,
          "a head over HTTP_REQUEST_HEAD_MAX is refused");
    http_request_free(&rq);
    path[9 + big - 200] = '\0';
    CHECK(http_request_init(&rq, "GET", path) == 0 && http_request_format(&rq, "ua", &out, &len) == 0 &&
              len == strlen(out) && len <= HTTP_REQUEST_HEAD_MAX,
          "a head just under the bound is written whole");
    free(out);
    http_request_free(&rq);
    free(path);
}

static void test_origins(void)
{
    static const struct {
        const char *a, *b;
        bool same;
    } cases[] = {
        { "http://a/x", "http://A:80/y", true },
        { "https://a/", "https://a:443/", true },
        { "http://u:p@a:1/", "http://a:1/z?q", true },
        { "http://[::1]/", "http://[::1]:80/", true },
        { "http://a/", "https://a/", false },
        { "http://a:1/", "http://a:2/", false },
        { "http://a/", "http://b/", false },
        { "http://a/", "http://ab/", false },
        { "http://127.0.0.1:5/", "http://localhost:5/", false },
        { "http://a/", "ftp://a/", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(http_same_origin(cases[i].a, cases[i].b) == cases[i].same, "same_origin(%s, %s)",
              cases[i].a, cases[i].b);

    static const struct {
        const char *from, *to, *want;
    } redirects[] = {
        { "http://u:p@h:1/a", "http://h:1/b?c", "http://u:p@h:1/b?c" },
        { "http://u:p@h/a", "http://H:80/b", "http://u:p@H:80/b" },
        { "http://u:p@h:1/a", "http://h:2/b", "http://h:2/b" },
        { "http://u:p@h/a", "https://h/b", "https://h/b" },
        { "http://u:p@h/a", "http://evil/b", "http://evil/b" },
        { "http://h/a", "http://h/b", "http://h/b" },
        { "http://u:p@h/a", "http://v:q@h/b", "http://v:q@h/b" },
        { "http://u:p@h/a", "http://u:p@h/a", "http://u:p@h/a" },
    };
    for (size_t i = 0; i < sizeof redirects / sizeof *redirects; i++) {
        char *got = http_url_after_redirect(redirects[i].from, redirects[i].to);
        CHECK(got && strcmp(got, redirects[i].want) == 0, "after_redirect(%s, %s) = %s",
              redirects[i].from, redirects[i].to, got ? got : "(null)");
        free(got);
    }
}

int main(void)
{
    test_parts();
    test_headers();
    test_format();
    test_origins();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
