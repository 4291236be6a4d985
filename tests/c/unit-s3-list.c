/* unit-s3-list.c: the ListObjectsV2 page parser (shim/s3_list_xml.c): entries and their
 * order, sizes and times, the continuation token, CommonPrefixes as directories, names
 * decoded from entities, skipped names; and a table of answers it must refuse (cut
 * short, garbled, not a listing, keys outside the prefix, DOCTYPE and CDATA, overlong
 * texts), every prefix of a good answer included. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3_list_xml.h"
#include "unit.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
             "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

struct got {
    char text[4096];
    size_t n;
};

static int record(void *arg, const struct s3_list_item *it)
{
    struct got *g = arg;
    size_t used = strlen(g->text);
    snprintf(g->text + used, sizeof g->text - used, "%s%s:%s:%lld:%lld", g->n ? "|" : "",
             it->dir ? "d" : "f", it->name, (long long)it->size, (long long)it->mtime);
    g->n++;
    return 0;
}

static int parse(const char *xml, const char *prefix, struct got *g, struct s3_list_page *p)
{
    memset(g, 0, sizeof *g);
    return s3_list_parse(xml, strlen(xml), prefix, record, g, p);
}

static int stop_at_second(void *arg, const struct s3_list_item *it)
{
    (void)it;
    return ++*(int *)arg == 2 ? -EOVERFLOW : 0;
}

int main(void)
{
    struct got g;
    struct s3_list_page p;

    /* A truncated page of radosgw's: files, then a directory, and the token. */
    const char *page1 =
        HEAD "<Name>b</Name><Prefix>tree/</Prefix><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter>"
        "<IsTruncated>true</IsTruncated>"
        "<Contents><Key>tree/a.txt</Key><LastModified>2026-12-02T03:22:19.591Z</LastModified>"
        "<ETag>&quot;60b7&quot;</ETag><Size>2</Size><StorageClass>STANDARD</StorageClass>"
        "<Owner><ID>rio</ID><DisplayName>R</DisplayName></Owner></Contents>"
        "<CommonPrefixes><Prefix>tree/sub/</Prefix></CommonPrefixes>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
        "<KeyCount>2</KeyCount></ListBucketResult>\n";
    int rc = parse(page1, "tree/", &g, &p);
    CHECK(rc == 0, "page 1: rc %d", rc);
    CHECK(strcmp(g.text, "f:a.txt:2:1796181739|d:sub:0:0") == 0, "page 1: %s", g.text);
    CHECK(p.truncated && strcmp(p.next_token,
                                "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=") == 0,
          "page 1: token '%s'", p.next_token);
    CHECK(p.files == 1 && p.dirs == 1 && p.skipped == 0, "page 1: counts %zu %zu %zu", p.files,
          p.dirs, p.skipped);

    /* The last page: not truncated, no token; escaped names; the folder marker "tree/"
     * and an unusable name skipped; empty elements and comments accepted. */
    const char *page2 =
        HEAD "<Prefix>tree/</Prefix><ContinuationToken>x</ContinuationToken><!-- c -->"
        "<IsTruncated>false</IsTruncated><StartAfter/>"
        "<Contents><Key>tree/</Key><Size>0</Size></Contents>"
        "<Contents><Key>tree/sp ace &amp; amp&lt;&gt;&quot;&apos;</Key><Size>10</Size></Contents>"
        "<Contents><Key>tree/&#233;t&#xE9;&#x1F600;</Key><Size>123456789012</Size>"
        "<LastModified>garbage</LastModified></Contents>"
        "<Contents><Key>tree/..</Key><Size>1</Size></Contents>"
        "<CommonPrefixes><Prefix>tree/&amp;dir/</Prefix></CommonPrefixes>"
        "<CommonPrefixes><Prefix>tree//</Prefix></CommonPrefixes>"
        "</ListBucketResult>";
    rc = parse(page2, "tree/", &g, &p);
    CHECK(rc == 0, "page 2: rc %d", rc);
    CHECK(strcmp(g.text, "f:sp ace & amp<>\"':10:0|f:\xc3\xa9t\xc3\xa9\xf0\x9f\x98\x80:123456789012:0|"
                         "d:&dir:0:0") == 0,
          "page 2: %s", g.text);
    CHECK(!p.truncated && p.next_token[0] == '\0', "page 2: truncated %d", p.truncated);
    CHECK(p.skipped == 3, "page 2: skipped %zu", p.skipped);

    /* The whole bucket: prefix "". */
    rc = parse(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size>"
                    "</Contents></ListBucketResult>", "", &g, &p);
    CHECK(rc == 0 && strcmp(g.text, "f:k:1:0") == 0, "bucket: rc %d %s", rc, g.text);

    /* The callback's error stops the parse. */
    int count = 0;
    rc = s3_list_parse(page2, strlen(page2), "tree/", stop_at_second, &count, &p);
    CHECK(rc == -EOVERFLOW && count == 2, "callback error: rc %d count %d", rc, count);

    /* Every prefix of a good answer is refused (cut short), but the whole. */
    size_t len = strlen(page1);
    int cut_ok = 0;
    for (size_t n = 0; n < len; n++) {
        struct got g2 = { .n = 0 };
        if (s3_list_parse(page1, n, "tree/", record, &g2, &p) == 0 &&
            strspn(page1 + n, " \r\n\t") != len - n)
            cut_ok++;
    }
    CHECK(cut_ok == 0, "%d cut answers accepted", cut_ok);

    static const struct {
        const char *xml, *why;
        int rc;
    } bad[] = {
        { "", "empty", -EBADMSG },
        { "<Error><Code>AccessDenied</Code></Error>", "an error document", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated></ListBucketResult><x/>", "past the root", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated></ListBucketResult>junk", "text past the root", -EBADMSG },
        { HEAD "</ListBucketResult>", "no IsTruncated", -EBADMSG },
        { HEAD "<IsTruncated>yes</IsTruncated></ListBucketResult>", "IsTruncated yes", -EBADMSG },
        { HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>", "truncated without a token", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>other/a</Key><Size>1</Size>"
               "</Contents></ListBucketResult>", "a key outside the prefix", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Prefix>other/</Prefix></ListBucketResult>",
          "another prefix", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a</Key></Contents>"
               "</ListBucketResult>", "a key without a size", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a</Key><Size>-1</Size>"
               "</Contents></ListBucketResult>", "a negative size", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a</Key><Size>1x</Size>"
               "</Contents></ListBucketResult>", "a size with garbage", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a</Key><Size>99999999999999999999</Size>"
               "</Contents></ListBucketResult>", "a size that overflows", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>tree/d</Prefix>"
               "</CommonPrefixes></ListBucketResult>", "a prefix without its '/'", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/&bogus;</Key><Size>1</Size>"
               "</Contents></ListBucketResult>", "an unknown entity", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/&#0;</Key><Size>1</Size>"
               "</Contents></ListBucketResult>", "&#0;", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/&#xD800;</Key><Size>1</Size>"
               "</Contents></ListBucketResult>", "a surrogate", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a &amp</Key><Size>1</Size>"
               "</Contents></ListBucketResult>", "an entity without ';'", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a</Size></Key>"
               "</Contents></ListBucketResult>", "tags out of order", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><Contents><Key><![CDATA[tree/a]]></Key>"
               "<Size>1</Size></Contents></ListBucketResult>", "CDATA", -EBADMSG },
        { "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"tree/\">]><ListBucketResult>"
          "<IsTruncated>false</IsTruncated></ListBucketResult>", "a DOCTYPE", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><?pi x?></ListBucketResult>", "a PI in the root", -EBADMSG },
        { HEAD "<IsTruncated>false</IsTruncated><a><b><c><d><e><f><g><h>x</h></g></f></e></d>"
               "</c></b></a></ListBucketResult>", "too deep", -EBADMSG },
        { HEAD "<IsTruncated a=b>false</IsTruncated></ListBucketResult>", "an unquoted attribute", -EBADMSG },
        { "<ListBucketResult/>", "an empty root", -EBADMSG },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = parse(bad[i].xml, "tree/", &g, &p);
        CHECK(rc == bad[i].rc, "%s: rc %d, want %d", bad[i].why, rc, bad[i].rc);
    }

    static const char with_nul[] = HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a\0b"
                                        "</Key><Size>1</Size></Contents></ListBucketResult>";
    memset(&g, 0, sizeof g);
    rc = s3_list_parse(with_nul, sizeof with_nul - 1, "tree/", record, &g, &p);
    CHECK(rc == -EBADMSG, "a NUL in a key: rc %d", rc);

    /* An overlong key is refused; an overlong text nobody reads is not. */
    size_t big = S3_LIST_TEXT_MAX + 10;
    char *xml = malloc(big + 512);
    char *longtext = malloc(big + 1);
    memset(longtext, 'k', big);
    longtext[big] = '\0';
    snprintf(xml, big + 512, HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/%s</Key>"
             "<Size>1</Size></Contents></ListBucketResult>", longtext);
    rc = parse(xml, "tree/", &g, &p);
    CHECK(rc == -ENAMETOOLONG, "an overlong key: rc %d", rc);
    snprintf(xml, big + 512, HEAD "<IsTruncated>false</IsTruncated><Contents><Key>tree/a</Key>"
             "<Owner><DisplayName>%s</DisplayName></Owner><Size>1</Size></Contents>"
             "</ListBucketResult>", longtext);
    rc = parse(xml, "tree/", &g, &p);
    CHECK(rc == 0 && strcmp(g.text, "f:a:1:0") == 0, "an overlong ignored text: rc %d", rc);
    free(xml);
    free(longtext);

    /* Times. */
    CHECK(s3_list_parse_time("1970-01-01T00:00:01Z") == 1, "epoch+1");
    CHECK(s3_list_parse_time("2009-10-12T17:50:30.000Z") == 1255369830, "AWS's example");
    CHECK(s3_list_parse_time("2009-10-12T17:50:30") == 0, "no Z");
    CHECK(s3_list_parse_time("2009-13-12T17:50:30Z") == 0, "month 13");
    CHECK(s3_list_parse_time("2009-10-12 17:50:30Z") == 0, "a blank for T");

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
