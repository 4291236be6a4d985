/* unit-aws-creds.c: the AWS credential chain's parsers and its order.
 *
 * Tables: the shared files' INI (comments, blanks, [profile x] against [x] by file,
 * duplicate keys and sections, missing values, CRLF, continuation lines, a huge line),
 * credential_process's JSON and the endpoints' (members, Version, escapes, Expiration),
 * ISO-8601 times (Z, offsets, fractions), the command line's words, the container URIs
 * allowed.  Then the chain's order on real files and a real credential_process (/bin/echo),
 * with the network sources off. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws-creds-stubs.h"
#include "aws_creds.h"
#include "aws_creds_chain.h"
#include "aws_creds_http.h"
#include "aws_creds_json.h"
#include "aws_creds_process.h"
#include "aws_ini.h"
#include "clock.h"
#include "unit.h"

/* Table rows leave the fields a refused case does not need. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct ini_case {
    const char *text;
    enum aws_ini_file kind;
    const char *profile;
    int rc;
    const char *id, *secret, *token, *region, *process; /* NULL: not present */
};

static const struct ini_case ini_cases[] = {
    { "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n", AWS_INI_CREDENTIALS,
      "default", 1, "AK", "SK", NULL, NULL, NULL },
    /* comments, blanks, indentation of whole lines, case of keys, ':' as delimiter */
    { "# top\n; also\n\n[default]\n  # indented comment\nAWS_Access_Key_ID: AK\n\t\naws_secret_access_key=SK\n",
      AWS_INI_CREDENTIALS, "default", 1, "AK", "SK", NULL, NULL, NULL },
    /* no inline comments: '#' is part of the value, as in the CLI */
    { "[default]\nregion = us-east-1 # east\n", AWS_INI_CONFIG, "default", 1, NULL, NULL, NULL,
      "us-east-1 # east", NULL },
    /* CRLF and a BOM */
    { "\xEF\xBB\xBF[p]\r\naws_access_key_id = AK\r\naws_secret_access_key = SK\r\n", AWS_INI_CREDENTIALS,
      "p", 1, "AK", "SK", NULL, NULL, NULL },
    /* [profile x] in the config file, [x] in the credentials file */
    { "[profile dev]\nregion = eu-west-1\n[dev]\nregion = wrong\n", AWS_INI_CONFIG, "dev", 1,
      NULL, NULL, NULL, "eu-west-1", NULL },
    { "[profile dev]\nregion = wrong\n[dev]\nregion = eu-west-2\n", AWS_INI_CREDENTIALS, "dev", 1,
      NULL, NULL, NULL, "eu-west-2", NULL },
    { "[profile   dev  ]\nregion = r\n", AWS_INI_CONFIG, "dev", 1, NULL, NULL, NULL, "r", NULL },
    { "[profiledev]\nregion = r\n", AWS_INI_CONFIG, "dev", 0, NULL, NULL, NULL, NULL, NULL },
    { "[default]\nregion = a\n[profile default]\nregion = b\n", AWS_INI_CONFIG, "default", 1,
      NULL, NULL, NULL, "b", NULL },
    { "[other]\nregion = a\n", AWS_INI_CONFIG, "default", 0, NULL, NULL, NULL, NULL, NULL },
    /* another profile's keys never leak into ours */
    { "[a]\naws_access_key_id = A\n[b]\naws_access_key_id = B\naws_secret_access_key = SB\n",
      AWS_INI_CREDENTIALS, "b", 1, "B", "SB", NULL, NULL, NULL },
    /* missing values are present and empty */
    { "[default]\naws_access_key_id =\naws_secret_access_key = SK\n", AWS_INI_CREDENTIALS, "default",
      1, "", "SK", NULL, NULL, NULL },
    /* both token spellings: aws_session_token wins, in either order */
    { "[d]\naws_session_token = T1\naws_security_token = T2\n", AWS_INI_CREDENTIALS, "d", 1,
      NULL, NULL, "T1", NULL, NULL },
    { "[d]\naws_security_token = T2\naws_session_token = T1\n", AWS_INI_CREDENTIALS, "d", 1,
      NULL, NULL, "T1", NULL, NULL },
    { "[d]\naws_security_token = T2\n", AWS_INI_CREDENTIALS, "d", 1, NULL, NULL, "T2", NULL, NULL },
    /* nested settings are skipped, not read as keys */
    { "[default]\ns3 =\n  region = nested\n  addressing_style = path\nregion = top\n", AWS_INI_CONFIG,
      "default", 1, NULL, NULL, NULL, "top", NULL },
    { "[default]\ncredential_process = /bin/tool --arg \"a b\"\n", AWS_INI_CONFIG, "default", 1,
      NULL, NULL, NULL, NULL, "/bin/tool --arg \"a b\"" },
    /* refused as the CLI refuses the file */
    { "[default]\naws_access_key_id = A\naws_access_key_id = B\n", AWS_INI_CREDENTIALS, "default", -1 },
    { "[default]\nREGION = a\nregion = b\n", AWS_INI_CONFIG, "default", -1 },
    { "[default]\nregion = a\n[default]\nregion = b\n", AWS_INI_CONFIG, "default", -1 },
    { "region = a\n[default]\n", AWS_INI_CONFIG, "default", -1 },
    { "[default]\njust words\n", AWS_INI_CONFIG, "default", -1 },
    { "[default\nregion = a\n", AWS_INI_CONFIG, "default", -1 },
    { "[default]\n= value\n", AWS_INI_CONFIG, "default", -1 },
    { "[default]\nregion = a\n  b\n", AWS_INI_CONFIG, "default", -1 },
    /* a malformed line elsewhere in the file refuses it too */
    { "[other]\ngarbage\n[default]\nregion = a\n", AWS_INI_CONFIG, "default", -1 },
    /* duplicates in other sections do not matter to us */
    { "[x]\nregion = a\nregion = b\n[default]\nregion = c\n", AWS_INI_CONFIG, "default", 1,
      NULL, NULL, NULL, "c", NULL },
};

static void check_value(const char *what, const char *want, bool has, const char *got, int i)
{
    if (!want)
        CHECK(!has, "ini case %d: %s should be absent", i, what);
    else
        CHECK(has && strcmp(got, want) == 0, "ini case %d: %s is '%s', want '%s'", i, what,
              has ? got : "(absent)", want);
}

static void test_ini(void)
{
    for (size_t i = 0; i < sizeof ini_cases / sizeof *ini_cases; i++) {
        const struct ini_case *c = &ini_cases[i];
        struct aws_profile_settings s;
        memset(&s, 0, sizeof s);
        char why[160] = "";
        int rc = aws_ini_profile(c->text, strlen(c->text), c->kind, c->profile, &s, why, sizeof why);
        CHECK(rc == c->rc, "ini case %zu: rc %d, want %d (%s)", i, rc, c->rc, why);
        if (rc < 0) {
            CHECK(strncmp(why, "line ", 5) == 0, "ini case %zu: why '%s' names no line", i, why);
            continue;
        }
        if (rc != 1 || c->rc != 1)
            continue;
        check_value("id", c->id, s.has_access_key_id, s.access_key_id, (int)i);
        check_value("secret", c->secret, s.has_secret_access_key, s.secret_access_key, (int)i);
        check_value("token", c->token, s.has_session_token, s.session_token, (int)i);
        check_value("region", c->region, s.has_region, s.region, (int)i);
        check_value("process", c->process, s.has_credential_process, s.credential_process, (int)i);
    }
    /* Secrets never in a message: a duplicate key's message names the key only. */
    const char *dup = "[d]\naws_secret_access_key = SECRETone\naws_secret_access_key = SECRETtwo\n";
    struct aws_profile_settings s;
    memset(&s, 0, sizeof s);
    char why[160];
    aws_ini_profile(dup, strlen(dup), AWS_INI_CREDENTIALS, "d", &s, why, sizeof why);
    CHECK(!strstr(why, "SECRET"), "a message holds a secret: %s", why);
    /* A huge line: a token of 4000 bytes fits, one of 100000 is refused by length. */
    size_t big = 100000;
    char *text = malloc(big + 64);
    for (int round = 0; round < 2; round++) {
        size_t n = round == 0 ? 4000 : big;
        int off = sprintf(text, "[d]\naws_session_token = ");
        memset(text + off, 'x', n);
        strcpy(text + off + n, "\nregion = r\n");
        memset(&s, 0, sizeof s);
        int rc = aws_ini_profile(text, strlen(text), AWS_INI_CREDENTIALS, "d", &s, why, sizeof why);
        if (round == 0)
            CHECK(rc == 1 && strlen(s.session_token) == n && strcmp(s.region, "r") == 0,
                  "a 4000-byte line: rc %d", rc);
        else
            CHECK(rc == -1 && strstr(why, "too long"), "a 100000-byte line: rc %d (%s)", rc, why);
    }
    free(text);
}

struct json_case {
    const char *text;
    enum aws_json_kind kind;
    int rc;
    const char *id, *secret, *token;
    uint64_t expires_ms;
};

static const struct json_case json_cases[] = {
    { "{\"Version\": 1, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\"}", AWS_JSON_PROCESS, 0,
      "AK", "SK", "", 0 },
    { " {\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"SessionToken\":\"TK\","
      "\"Expiration\":\"2030-01-01T00:00:00Z\"}\n", AWS_JSON_PROCESS, 0, "AK", "SK", "TK", 1893456000000 },
    { "{\"Version\":1.0,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"SessionToken\":null,"
      "\"Expiration\":null,\"Extra\":{\"a\":[1,2,{\"b\":true}]},\"AccountId\":\"123\"}", AWS_JSON_PROCESS,
      0, "AK", "SK", "", 0 },
    { "{\"Version\":1,\"AccessKeyId\":\"A\\u004b\",\"SecretAccessKey\":\"S\\/K\\\\\"}", AWS_JSON_PROCESS,
      0, "AK", "S/K\\", "", 0 },
    { "{\"Version\":2,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":\"1\",\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}", AWS_JSON_PROCESS, -1 },
    { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"SecretAccessKey\":\"SK\"}", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"AccessKeyId\":\"AK\"}", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"AccessKeyId\":\"\",\"SecretAccessKey\":\"SK\"}", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"soon\"}",
      AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"} x", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",}", AWS_JSON_PROCESS, -1 },
    { "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\001K\"}", AWS_JSON_PROCESS, -1 },
    { "", AWS_JSON_PROCESS, -1 },
    { "[]", AWS_JSON_PROCESS, -1 },
    /* the endpoints' form: Token, and Expiration required */
    { "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\","
      "\"Token\":\"TK\",\"Expiration\":\"2030-01-01T00:00:00.500+01:00\"}", AWS_JSON_ENDPOINT, 0, "AK",
      "SK", "TK", 1893452400500 },
    { "{\"Code\":\"Failure\",\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Token\":\"TK\","
      "\"Expiration\":\"2030-01-01T00:00:00Z\"}", AWS_JSON_ENDPOINT, -1 },
    { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
      AWS_JSON_ENDPOINT, -1 },
    { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Token\":\"TK\"}", AWS_JSON_ENDPOINT, -1 },
};

static void test_json(void)
{
    for (size_t i = 0; i < sizeof json_cases / sizeof *json_cases; i++) {
        const struct json_case *c = &json_cases[i];
        struct aws_credentials a;
        memset(&a, 0x55, sizeof a);
        char why[96] = "";
        int rc = aws_json_credentials(c->text, strlen(c->text), c->kind, &a, why, sizeof why);
        CHECK(rc == c->rc, "json case %zu: rc %d, want %d (%s)", i, rc, c->rc, why);
        if (rc == 0 && c->rc == 0) {
            CHECK(strcmp(a.access_key_id, c->id) == 0 && strcmp(a.secret_access_key, c->secret) == 0 &&
                  strcmp(a.session_token, c->token) == 0, "json case %zu: wrong keys", i);
            CHECK(a.expires_ms == c->expires_ms, "json case %zu: expires %llu, want %llu", i,
                  (unsigned long long)a.expires_ms, (unsigned long long)c->expires_ms);
        }
        if (rc < 0) {
            CHECK(a.access_key_id[0] == 0 && a.secret_access_key[0] == 0, "json case %zu: left keys", i);
            CHECK(!strstr(why, "SK") && !strstr(why, "TK"), "json case %zu: why '%s' shows a secret", i, why);
        }
    }
}

static void test_iso8601(void)
{
    static const struct { const char *s; int rc; uint64_t ms; } cases[] = {
        { "1970-01-01T00:00:00Z", 0, 0 },
        { "2026-12-01T23:38:08Z", 0, 1796168288000 },
        { "2026-12-01t23:38:08z", 0, 1796168288000 },
        { "2026-12-01 23:38:08", 0, 1796168288000 },
        { "2026-12-01T23:38:08.123Z", 0, 1796168288123 },
        { "2026-12-01T23:38:08.1234567Z", 0, 1796168288123 },
        { "2026-12-02T00:38:08+01:00", 0, 1796168288000 },
        { "2026-12-01T18:08:08-0530", 0, 1796168288000 },
        { "2026-12-02T01:38:08+02", 0, 1796168288000 },
        { "2024-02-29T00:00:00Z", 0, 1709164800000 },
        { "2023-02-29T00:00:00Z", -1, 0 },
        { "2026-13-01T00:00:00Z", -1, 0 },
        { "2026-12-01T24:00:00Z", -1, 0 },
        { "2026-12-01T23:38Z", -1, 0 },
        { "2026-12-01", -1, 0 },
        { "2026-12-01T23:38:08Zjunk", -1, 0 },
        { "2026-12-01T23:38:08.Z", -1, 0 },
        { "2026-12-01T23:38:08+1", -1, 0 },
        { "", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t ms = 0;
        int rc = aws_iso8601_ms(cases[i].s, strlen(cases[i].s), &ms);
        CHECK(rc == cases[i].rc && (rc < 0 || ms == cases[i].ms), "iso8601 '%s': rc %d ms %llu", cases[i].s,
              rc, (unsigned long long)ms);
    }
}

static void test_split(void)
{
    static const struct { const char *cmd; int argc; const char *words[5]; } cases[] = {
        { "/bin/tool", 1, { "/bin/tool" } },
        { "  /bin/tool   --user  helen ", 3, { "/bin/tool", "--user", "helen" } },
        { "\"/Users/Dave/path to/creds.sh\" plain \"with spaces\"", 3,
          { "/Users/Dave/path to/creds.sh", "plain", "with spaces" } },
        { "tool 'single $HOME \\ \"x\"'", 2, { "tool", "single $HOME \\ \"x\"" } },
        { "tool \"a\\\"b\\\\c\\d\"", 2, { "tool", "a\"b\\c\\d" } },
        { "tool a\\ b c\\\"d", 3, { "tool", "a b", "c\"d" } },
        { "tool pre\"mid dle\"post ''", 3, { "tool", "premid dlepost", "" } },
        { "tool ~ $HOME #not-a-comment", 4, { "tool", "~", "$HOME", "#not-a-comment" } },
        { "tool \"unterminated", -1, { NULL } },
        { "tool 'unterminated", -1, { NULL } },
        { "tool trailing\\", -1, { NULL } },
        { "   ", -1, { NULL } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[256], why[80];
        char *argv[8];
        int n = aws_command_split(cases[i].cmd, buf, argv, 8, why, sizeof why);
        bool same = n == cases[i].argc;
        for (int k = 0; same && k < n; k++)
            same = strcmp(argv[k], cases[i].words[k]) == 0;
        CHECK(same && (n < 0 || argv[n] == NULL), "split case %zu (%s): %d words", i, cases[i].cmd, n);
    }
}

static void test_container_uris(void)
{
    static const struct { const char *uri; bool ok; } cases[] = {
        { "http://127.0.0.1:8080/creds", true },
        { "http://127.1.2.3/creds", true },
        { "http://localhost/x", true },
        { "http://[::1]:80/x", true },
        { "http://169.254.170.2/v2/credentials/x", true },
        { "http://169.254.170.23/v1/credentials", true },
        { "http://[fd00:ec2::23]/v1/credentials", true },
        { "https://creds.example.com/x", true },
        { "http://creds.example.com/x", false },
        { "http://10.0.0.1/x", false },
        { "http://127.0.0.1.evil.example/x", false },
        { "http://127.0.0.1@evil.example/x", false },
        { "http://user@127.0.0.1/x", false },
        { "http://[::2]/x", false },
        { "http://127.0.0.1:80x/x", false },
        { "ftp://127.0.0.1/x", false },
        { "file:///etc/passwd", false },
        { "https://", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(aws_container_uri_allowed(cases[i].uri) == cases[i].ok, "container uri %s", cases[i].uri);
}

static char dir[] = "/tmp/unit-aws-creds.XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static const char *chain_source(const char *profile)
{
    static char source[64];
    struct aws_credentials c;
    enum aws_source used;
    char why[1024];
    int rc = aws_chain_fetch(profile, AWS_SRC_ANY, &c, &used, why, sizeof why);
    snprintf(source, sizeof source, "%s", rc == 0 ? c.source : rc == -ENOENT ? "ENOENT" : "EIO");
    return source;
}

static void test_chain_order(void)
{
    if (!mkdtemp(dir))
        return;
    char path[256];
    setenv("HOME", dir, 1);
    snprintf(path, sizeof path, "%s/credentials", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    snprintf(path, sizeof path, "%s/config", dir);
    setenv("AWS_CONFIG_FILE", path, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_DEFAULT_PROFILE");
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
    const char *proc = "credential_process = /bin/echo '{\"Version\":1,\"AccessKeyId\":\"AKP\","
                       "\"SecretAccessKey\":\"SKP\"}'\n";
    char text[512];
    write_file("credentials", "[default]\naws_access_key_id = AKF\naws_secret_access_key = SKF\n"
                              "[p]\naws_access_key_id = AKF\naws_secret_access_key = SKF\n");
    snprintf(text, sizeof text, "[default]\n%saws_access_key_id = AKC\naws_secret_access_key = SKC\n"
             "[profile p]\n%s", proc, proc);
    write_file("config", text);
    CHECK(strcmp(chain_source(NULL), "environment") == 0, "env first: %s", chain_source(NULL));
    /* a named profile skips the environment, as `aws --profile` does */
    CHECK(strcmp(chain_source("p"), "credentials file, profile p") == 0, "named: %s", chain_source("p"));
    unsetenv("AWS_ACCESS_KEY_ID");
    CHECK(strcmp(chain_source(NULL), "credentials file, profile default") == 0, "file second: %s",
          chain_source(NULL));
    write_file("credentials", "[other]\n");
    CHECK(strcmp(chain_source(NULL), "credential_process, profile default") == 0, "process third: %s",
          chain_source(NULL));
    snprintf(text, sizeof text, "[default]\naws_access_key_id = AKC\naws_secret_access_key = SKC\n");
    write_file("config", text);
    CHECK(strcmp(chain_source(NULL), "config file, profile default") == 0, "config fourth: %s",
          chain_source(NULL));
    write_file("config", "[default]\nregion = r\n");
    CHECK(strcmp(chain_source(NULL), "ENOENT") == 0, "nothing: %s", chain_source(NULL));
    /* a partial source stops the chain */
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(strcmp(chain_source(NULL), "EIO") == 0, "partial env: %s", chain_source(NULL));
    unsetenv("AWS_ACCESS_KEY_ID");
    write_file("credentials", "[default]\naws_access_key_id = AKF\n");
    CHECK(strcmp(chain_source(NULL), "EIO") == 0, "partial file: %s", chain_source(NULL));
    write_file("credentials", "[default]\ngarbage\n");
    CHECK(strcmp(chain_source(NULL), "EIO") == 0, "malformed file: %s", chain_source(NULL));
    /* a profile named by AWS_PROFILE that is nowhere stops the chain */
    write_file("credentials", "");
    setenv("AWS_PROFILE", "nowhere", 1);
    CHECK(strcmp(chain_source(NULL), "ENOENT") == 0, "missing profile: %s", chain_source(NULL));
    unsetenv("AWS_PROFILE");
    /* a command that fails stops the chain */
    write_file("config", "[default]\ncredential_process = /bin/false\naws_access_key_id = AKC\n"
                         "aws_secret_access_key = SKC\n");
    CHECK(strcmp(chain_source(NULL), "EIO") == 0, "failing process: %s", chain_source(NULL));
    /* the region: environment, then the profile's */
    write_file("config", "[profile p]\nregion = eu-north-1\n");
    char region[64] = "";
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    CHECK(aws_region_for_profile("p", region, sizeof region) == 0 && strcmp(region, "eu-north-1") == 0,
          "region of p: %s", region);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    CHECK(aws_region_for_profile("p", region, sizeof region) == 0 && strcmp(region, "ap-south-1") == 0,
          "region from env: %s", region);
    CHECK(aws_region_for_profile("q", region, sizeof region) == 0, "region from env for q");
    unsetenv("AWS_DEFAULT_REGION");
    CHECK(aws_region_for_profile("q", region, sizeof region) == -ENOENT, "no region for q");
    snprintf(path, sizeof path, "rm -rf %s", dir);
    if (system(path) != 0)
        CHECK(0, "cleanup");
}

/* credential_process's child: a deadline, exit statuses, a missing program, output held
 * open by a grandchild after the child exited. */
static void test_process(void)
{
    static const char *const json = "{\"Version\":1,\"AccessKeyId\":\"AKP\",\"SecretAccessKey\":\"SKP\"}";
    char cmd[512], why[400];
    struct aws_credentials c;
    uint64_t t0 = now_ms();
    int rc = aws_credential_process("/bin/sleep 5", 300, &c, why, sizeof why);
    uint64_t took = now_ms() - t0;
    CHECK(rc == -EIO && strstr(why, "timed out") && took < 2000, "timeout: rc %d in %llu ms (%s)", rc,
          (unsigned long long)took, why);
    rc = aws_credential_process("/bin/sh -c 'exit 3'", 5000, &c, why, sizeof why);
    CHECK(rc == -EIO && strstr(why, "status 3"), "exit status: rc %d (%s)", rc, why);
    rc = aws_credential_process("/no/such/program --secret-arg", 5000, &c, why, sizeof why);
    CHECK(rc == -EIO && strstr(why, "/no/such/program") && !strstr(why, "secret-arg"),
          "missing program: rc %d (%s)", rc, why);
    snprintf(cmd, sizeof cmd, "/bin/sh -c 'echo \"$0\"; sleep 3 &' '%s'", json);
    t0 = now_ms();
    rc = aws_credential_process(cmd, 5000, &c, why, sizeof why);
    took = now_ms() - t0;
    CHECK(rc == 0 && strcmp(c.secret_access_key, "SKP") == 0 && took < 1500,
          "a grandchild holding stdout: rc %d in %llu ms (%s)", rc, (unsigned long long)took, why);
    rc = aws_credential_process("/bin/sh -c 'head -c 100000 /dev/zero'", 5000, &c, why, sizeof why);
    CHECK(rc == -EIO && strstr(why, "too much"), "too much output: rc %d (%s)", rc, why);
    rc = aws_credential_process("/bin/echo '{\"Version\":1,\"AccessKeyId\":\"AKP\",\"SecretAccessKey\":\"SECRETP\",\"Bad\":}'",
                                5000, &c, why, sizeof why);
    CHECK(rc == -EIO && !strstr(why, "SECRETP"), "bad JSON: rc %d (%s)", rc, why);
    /* A program that ignores SIGCHLD has its children reaped by the kernel: the output
     * still counts. */
    snprintf(cmd, sizeof cmd, "/bin/echo '%s'", json);
    signal(SIGCHLD, SIG_IGN);
    rc = aws_credential_process(cmd, 5000, &c, why, sizeof why);
    signal(SIGCHLD, SIG_DFL);
    CHECK(rc == 0 && strcmp(c.access_key_id, "AKP") == 0, "SIGCHLD ignored: rc %d (%s)", rc, why);
}

int main(void)
{
    test_ini();
    test_json();
    test_iso8601();
    test_split();
    test_container_uris();
    test_process();
    test_chain_order();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
