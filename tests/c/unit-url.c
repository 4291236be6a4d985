/* unit-url.c: table-driven tests of the display form of URLs (shim/url.c): no userinfo,
 * query or fragment ever shows, whatever the shape of the text.  Prints "N passed, N
 * failed". */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"
#include "url.h"

static void test_display(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "http://h/x", "http://h/x" },
        { "https://h:8443/a/b.qcow2", "https://h:8443/a/b.qcow2" },
        { "http://u:pw@h/x", "http://h/x" },
        { "http://tok@h/x", "http://h/x" },
        { "http://u:p@w@h/x", "http://h/x" },
        { "http://h/x?X-Amz-Credential=A&X-Amz-Signature=S", "http://h/x" },
        { "http://h/x#frag", "http://h/x" },
        { "http://u:pw@h?sig=S", "http://h" },
        { "http://u:p/w@h/x", "http://(malformed host)" },
        { "http://u:pw", "http://(malformed host)" },
        { "http://h/a@b/c", "http://h/..." },
        { "http://u:pw@h/a@b", "http://h/..." },
        { "http://[::1]:8080/x?s", "http://[::1]:8080/x" },
        { "http://[::1/x", "http://(malformed host)" },
        { "http://h:80x/x", "http://(malformed host)" },
        { "", "" },
        { "h/x?sig=S", "h/x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[256];
        url_display(cases[i].in, out, sizeof out);
        CHECK(strcmp(out, cases[i].out) == 0, "url_display(\"%s\") = \"%s\"", cases[i].in, out);
        CHECK(url_is_display(out), "url_is_display(\"%s\")", out);
    }
    char small[8];
    url_display("http://u:pw@host/x", small, sizeof small);
    CHECK(strcmp(small, "http://") == 0, "truncated display \"%s\"", small);
}

static void test_text(void)
{
    static const struct {
        const char *in;
        int strict;
        const char *out;
    } cases[] = {
        { "/r/=http://u:pw@h/d/?sig=S", 1, "/r/=http://h/d/" },
        { "map /r/x http://u:pw@h/x?sig=S timeout=5", 1, "map /r/x http://h/x timeout=5" },
        { "http://u:pw@h/x?sig=S=/r/x", 1, "http://h/x" },
        { "/e/s=http://u:pw@h/o bj?X-Amz-Signature=S", 1, "/e/s=http://h/o bj" },
        { "u:pw@h/x?sig=S", 1, "...@h/x" },
        { "u:pw@h/x?sig=S", 0, "u:pw@h/x?sig=S" },
        { "GET http://u:pw@h/x?s=1 failed: why?", 0, "GET http://h/x failed: why?" },
        { "no url here", 0, "no url here" },
        { "'http://u:pw@h/x'", 0, "'http://h/x'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[256];
        url_display_text(cases[i].in, cases[i].strict, out, sizeof out);
        CHECK(strcmp(out, cases[i].out) == 0, "url_display_text(\"%s\", %d) = \"%s\"",
              cases[i].in, cases[i].strict, out);
    }
}

static void test_authority(void)
{
    CHECK(url_authority_parses("http://u:pw@h:80/x"), "userinfo and a port");
    CHECK(url_authority_parses("https://[::1]/x"), "IPv6");
    CHECK(!url_authority_parses("http://u:p/w@h/x"), "a password with a raw '/'");
    CHECK(!url_authority_parses("http://h:x/"), "a port that is no number");
}

/* An over-long log line is cut at a blank and ends "...\n" within the line buffer,
 * wherever the blank falls (a blank just before the cut once wrote past it). */
static void test_long_lines(void)
{
    int fds[2];
    if (pipe(fds) < 0)
        return;
    int old = log_file_descriptor();
    log_set_descriptor(fds[1]);
    int bad = 0;
    for (int blank = 990; blank < 1040; blank++) {
        char msg[2000];
        memset(msg, 'x', sizeof msg - 1);
        msg[sizeof msg - 1] = '\0';
        msg[blank] = ' ';
        log_msg(LOG_ERROR, "%s", msg);
        char out[4096];
        ssize_t n = read(fds[0], out, sizeof out);
        if (n <= 0 || n > 1024 || out[n - 1] != '\n' || n < 4 || memcmp(out + n - 4, "...\n", 4))
            bad++;
    }
    log_set_descriptor(old);
    close(fds[0]);
    close(fds[1]);
    CHECK(bad == 0, "%d of 50 over-long lines not cut to at most 1024 bytes ending \"...\"", bad);
}

int main(void)
{
    test_display();
    test_text();
    test_long_lines();
    test_authority();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
