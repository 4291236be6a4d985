/* unit-parse.c: table-driven tests of the shim's parsers: sizes, durations, booleans,
 * Content-Range, Retry-After, header matching, path normalisation, URL building, and
 * REMOTEIO_MAP / configuration-file parsing.  Prints "N passed, N failed". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http_parse.h"
#include "log.h"
#include "parse.h"
#include "path.h"
#include "unit.h"

static void test_sizes(void)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t out;
    } cases[] = {
        { "0", 0, 0 },           { "4096", 0, 4096 },       { "64K", 0, 65536 },
        { "64k", 0, 65536 },     { "1M", 0, 1 << 20 },      { "1.5M", 0, 3 << 19 },
        { "2G", 0, 2ULL << 30 }, { "1T", 0, 1ULL << 40 },   { "8MiB", 0, 8 << 20 },
        { "8MB", 0, 8 << 20 },   { "100B", 0, 100 },        { "", -1, 0 },
        { "K", -1, 0 },          { "-1", -1, 0 },           { "+5", -1, 0 },
        { " 5", -1, 0 },         { "5 ", -1, 0 },           { "5X", -1, 0 },
        { "1.5", -1, 0 },        { "1.", -1, 0 },           { "18446744073709551615", 0, UINT64_MAX },
        { "18446744073709551616", -1, 0 },                  { "17179869184G", -1, 0 },
        { "16777216T", -1, 0 },  { "0x10", -1, 0 },         { "1e3", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t v = 777;
        int rc = parse_size(cases[i].in, &v);
        CHECK(rc == cases[i].rc, "parse_size(\"%s\") rc %d", cases[i].in, rc);
        if (rc == 0 && cases[i].rc == 0)
            CHECK(v == cases[i].out, "parse_size(\"%s\") = %" PRIu64, cases[i].in, v);
        if (rc < 0)
            CHECK(v == 777, "parse_size(\"%s\") touched its output on failure", cases[i].in);
    }
}

static void test_durations(void)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t ms;
    } cases[] = {
        { "10", 0, 10000 }, { "2.5", 0, 2500 }, { "500ms", 0, 500 }, { "3s", 0, 3000 },
        { "2m", 0, 120000 }, { "1h", 0, 3600000 }, { "0.001", 0, 1 }, { "", -1, 0 },
        { "s", -1, 0 }, { "-3", -1, 0 }, { "3 s", -1, 0 }, { "3sec", -1, 0 },
        { "99999999999999999999", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t v = 0;
        int rc = parse_duration_ms(cases[i].in, &v);
        CHECK(rc == cases[i].rc, "parse_duration_ms(\"%s\") rc %d", cases[i].in, rc);
        if (rc == 0)
            CHECK(v == cases[i].ms, "parse_duration_ms(\"%s\") = %" PRIu64, cases[i].in, v);
    }
    uint64_t u;
    CHECK(parse_uint("42", &u) == 0 && u == 42, "parse_uint 42");
    CHECK(parse_uint("4.2", &u) < 0, "parse_uint 4.2");
    CHECK(parse_uint("42k", &u) < 0, "parse_uint 42k");
    bool b;
    CHECK(parse_bool("YES", &b) == 0 && b, "bool YES");
    CHECK(parse_bool("off", &b) == 0 && !b, "bool off");
    CHECK(parse_bool("2", &b) < 0, "bool 2");
}

static void test_content_range(void)
{
    static const struct {
        const char *in;
        int rc;
        int64_t first, last, total;
    } cases[] = {
        { "bytes 0-99/1000", 0, 0, 99, 1000 },
        { "bytes 0-0/1", 0, 0, 0, 1 },
        { "BYTES 5-9/10", 0, 5, 9, 10 },
        { "bytes */1000", 0, -1, -1, 1000 },
        { "bytes */0", 0, -1, -1, 0 },
        { "bytes 0-99/*", 0, 0, 99, -1 },
        { "  bytes 1-2/3  ", 0, 1, 2, 3 },
        { "bytes 0-99/99", -1, 0, 0, 0 },  /* last beyond total */
        { "bytes 9-5/10", -1, 0, 0, 0 },   /* backwards */
        { "bytes 0-99", -1, 0, 0, 0 },
        { "bytes=0-99/100", -1, 0, 0, 0 },
        { "bytes -1-5/10", -1, 0, 0, 0 },
        { "bytes 0-99/100x", -1, 0, 0, 0 },
        { "bytes */*", -1, 0, 0, 0 },
        { "bytes 0-9223372036854775808/1", -1, 0, 0, 0 },
        { "items 0-1/2", -1, 0, 0, 0 },
        { "", -1, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t f = 7, l = 7, t = 7;
        int rc = http_parse_content_range(cases[i].in, strlen(cases[i].in), &f, &l, &t);
        CHECK(rc == cases[i].rc, "content_range(\"%s\") rc %d", cases[i].in, rc);
        if (rc == 0 && cases[i].rc == 0)
            CHECK(f == cases[i].first && l == cases[i].last && t == cases[i].total,
                  "content_range(\"%s\") = %" PRId64 "-%" PRId64 "/%" PRId64, cases[i].in, f, l, t);
    }
    const char *v;
    size_t vlen;
    const char *line = "Content-Range:  bytes 0-1/2 \r\n";
    CHECK(http_header_is(line, strlen(line), "content-range", &v, &vlen) && vlen == 11 &&
              memcmp(v, "bytes 0-1/2", 11) == 0, "header match, case-insensitive and trimmed");
    line = "content-rangex: 1\r\n";
    CHECK(!http_header_is(line, strlen(line), "content-range", &v, &vlen), "header prefix");
    uint64_t ms;
    CHECK(http_parse_retry_after("3", 1, 0, 10000, &ms) == 0 && ms == 3000, "retry-after 3");
    CHECK(http_parse_retry_after("99999", 5, 0, 10000, &ms) == 0 && ms == 10000, "retry-after cap");
    const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";
    CHECK(http_parse_retry_after(date, strlen(date), 784111770, 10000, &ms) == 0 && ms == 7000,
          "retry-after date (%" PRIu64 ")", ms);
    CHECK(http_parse_retry_after("soon", 4, 0, 10000, &ms) < 0, "retry-after garbage");
}

static void test_paths(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "/", "/" },
        { "/remote/a", "/remote/a" },
        { "//remote///a//", "/remote/a" },
        { "/remote/./a", "/remote/a" },
        { "/remote/../etc/passwd", "/etc/passwd" },
        { "/../../x", "/x" },
        { "/a/b/c/../../d", "/a/d" },
        { "/a/..", "/" },
        { "/a/...", "/a/..." },
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = path_normalise_absolute(cases[i].in, out, sizeof out);
        CHECK(rc == 0 && strcmp(out, cases[i].out) == 0, "normalise(\"%s\") = \"%s\"",
              cases[i].in, rc == 0 ? out : "(error)");
    }
    CHECK(path_normalise_absolute("relative", out, sizeof out) < 0, "relative refused");
    static const struct {
        const char *in;
        bool normal;
    } forms[] = {
        { "/a/b", true },   { "/a/b/", true },  { "/", true },        { "/a/.b", true },
        { "/a/..b", true }, { "/a//b", false }, { "/a/./b", false },  { "/a/../b", false },
        { "/a/.", false },  { "/a/..", false }, { "a/b", false },     { "//a", false },
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++)
        CHECK(path_is_normal(forms[i].in) == forms[i].normal, "path_is_normal(\"%s\")",
              forms[i].in);
    char small[8];
    CHECK(path_normalise_absolute("/abcdefghij", small, sizeof small) < 0 && errno == ENAMETOOLONG,
          "too long");
    char *u = url_append_path("http://h/i/", "a b/c?d#e%f.qcow2");
    CHECK(u && strcmp(u, "http://h/i/a%20b/c%3Fd%23e%25f.qcow2") == 0, "url encode: %s", u);
    free(u);
}

static void test_config(void)
{
    struct config c;
    config_defaults(&c);
    int bad = config_parse_map(&c,
                               "/remote/=http://h/images/;/one.img=https://h/x?sig=a=b\n"
                               "noequals;/x=ftp://h/x;/y=;rel=http://h/;/z=http://;"
                               " /spaced = http://h/s ",
                               "REMOTEIO_MAP");
    CHECK(bad == 5, "5 bad entries rejected (got %d)", bad);
    CHECK(c.nmaps == 3, "3 mappings kept (got %zu)", c.nmaps);
    const char *rest;
    const struct mapping *m = config_match(&c, "/remote/a/b.qcow2", &rest);
    CHECK(m && m->prefix && strcmp(rest, "a/b.qcow2") == 0, "prefix match");
    m = config_match(&c, "/one.img", &rest);
    CHECK(m && !m->prefix && strcmp(m->url, "https://h/x?sig=a=b") == 0, "exact, first '=' splits");
    CHECK(config_match(&c, "/remote", &rest) == NULL, "the prefix itself is no file");
    CHECK(config_is_prefix_dir(&c, "/remote"), "prefix dir");
    CHECK(config_match(&c, "/remotex/a", &rest) == NULL, "no partial component match");
    CHECK(config_match(&c, "/spaced", &rest) != NULL, "entries are trimmed");
    config_free(&c);

    config_defaults(&c);
    bad = config_parse_file(&c,
                            "# comment\n\nconnections = 16\nchunk_size=128K # trailing\n"
                            "map /r/ http://h/i/ timeout=5 retries=2\n"
                            "map /s http://h/s bogus=1\n"
                            "cache_size = 0\nconnections = 99999\nfrobnicate = 1\n"
                            "chunk_size = 100000\njust words\n",
                            "test.conf");
    CHECK(bad == 6, "6 bad lines (got %d)", bad);
    CHECK(c.connections == 16 && c.chunk_size == 128 << 10, "knobs set");
    CHECK(c.nmaps == 1, "one mapping (got %zu)", c.nmaps);
    if (c.nmaps == 1) {
        c.defaults.readahead = 12345;
        struct map_options o = config_mapping_options(&c, &c.maps[0]);
        CHECK(o.timeout_ms == 5000 && o.retries == 2 && o.readahead == 12345,
              "mapping options override, the rest follow the defaults");
    }
    config_free(&c);
}

/* s3:// URLs, the S3 options and header= lines, in REMOTEIO_MAP and the file. */
static void test_config_s3(void)
{
    struct config c;
    config_defaults(&c);
    CHECK(c.defaults.path_style == -1 && c.defaults.sign && !c.defaults.requester_pays &&
              !c.defaults.region && !c.defaults.headers,
          "S3 defaults: path_style auto, sign 1, no region, no header");
    int bad = config_parse_map(&c,
                               "/b/=s3://bucket/pre/ region=eu-west-1 path_style=1;"
                               "/k=s3://bucket/key sign=0 requester_pays=1;"
                               "/x=s3:///nobucket;/y=s3://bad^name/k;/z=s3://b/k?q;"
                               "/h/=http://h/ header=X-A:1 header=\"X-B: 2\";"
                               "/h2/=http://h/ header=X-B: 2;"
                               "/bad=http://h/ header=Host:evil;/bad2=http://h/ header=nocolon;"
                               "/bad3=http://h/ path_style=maybe;/nokey=s3://bucket;"
                               "/ep/=s3://bucket/ endpoint=ftp://h/",
                               "REMOTEIO_MAP");
    CHECK(bad == 9, "9 bad entries rejected (got %d)", bad);
    CHECK(c.nmaps == 3, "3 mappings kept (got %zu)", c.nmaps);
    const char *rest;
    const struct mapping *m = config_match(&c, "/b/a/b", &rest);
    struct map_options o = m ? config_mapping_options(&c, m) : c.defaults;
    CHECK(m && strcmp(m->url, "s3://bucket/pre/") == 0 && o.region &&
              strcmp(o.region, "eu-west-1") == 0 && o.path_style == 1 && o.sign,
          "s3 prefix mapping with region= and path_style=");
    m = config_match(&c, "/k", &rest);
    o = m ? config_mapping_options(&c, m) : c.defaults;
    CHECK(m && !o.sign && o.requester_pays && o.path_style == -1, "sign=0 requester_pays=1");
    m = config_match(&c, "/h/f", &rest);
    o = m ? config_mapping_options(&c, m) : c.defaults;
    CHECK(m && o.headers && strcmp(o.headers, "X-A:1\nX-B: 2") == 0,
          "header= twice, one quoted (a blank ends an unquoted one): got '%s'",
          o.headers ? o.headers : "");
    config_free(&c);

    config_defaults(&c);
    bad = config_parse_file(&c,
                            "map /h/ http://h/ header=\"Authorization: Bearer a b\" header=X-C:3\n"
                            "map /q http://h/q header=\"X-D: unclosed\n"
                            "header = X-G: global\n",
                            "test.conf");
    CHECK(bad == 1, "1 bad line (got %d)", bad);
    m = config_match(&c, "/h/x", &rest);
    o = m ? config_mapping_options(&c, m) : c.defaults;
    CHECK(m && o.headers && strcmp(o.headers, "Authorization: Bearer a b\nX-C:3") == 0,
          "quoted header= values with blanks, repeatable (got '%s')", o.headers ? o.headers : "");
    CHECK(c.defaults.headers && strcmp(c.defaults.headers, "X-G: global") == 0, "global header");
    char line[2048];
    config_describe(&c, line, sizeof line);
    CHECK(strstr(line, " header=1") && !strstr(line, "global"),
          "the debug line counts headers, shows none: %s", line);
    config_free(&c);
}

int main(void)
{
    log_init(-1, NULL); /* the bad entries below are expected: keep them quiet */
    test_sizes();
    test_durations();
    test_content_range();
    test_paths();
    test_config();
    test_config_s3();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
