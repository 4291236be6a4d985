/* aws_creds_http.c: see aws_creds_http.h. */
#include "libcurl.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "aws_creds_http.h"
#include "aws_creds_json.h"
#include "aws_ini.h"
#include "fdtable.h"
#include "lifecycle.h"

#define BODY_MAX (64u << 10)
#define TOKEN_MAX 8192
#define IMDS_TOKEN_TTL "21600"

struct answer {
    long status;
    char *body;
    size_t len;
    bool overflow;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    if (a->len + len >= BODY_MAX) {
        a->overflow = true;
        return 0;
    }
    memcpy(a->body + a->len, data, len);
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    return shim_exiting();
}

/* Close-on-exec sockets, marked as the shim's own (see pool.c). */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    int fd = fdtable_move_high(socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol), true);
    if (fd >= 0)
        fdtable_mark_internal_socket(fd);
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

static int close_socket(void *arg, curl_socket_t fd)
{
    fdtable_unmark_internal(fd);
    return (int)syscall(SYS_close, fd);
}

/* Wipes the header lines (they hold tokens) and frees them. */
static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *l = h; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    libcurl.slist_free_all(h);
}

/* One request: 0 with a->status set, or -1 when no answer came (why says why). */
static int request(const char *method, const char *url, struct curl_slist *headers,
                   long total_ms, struct answer *a, char *why, size_t whylen)
{
    a->status = 0;
    a->len = 0;
    a->overflow = false;
    a->body[0] = '\0';
    if (!libcurl.easy_init) {
        snprintf(why, whylen, "libcurl is not loaded");
        return -1;
    }
    CURL *h = libcurl.easy_init();
    if (!h) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    libcurl.easy_setopt(h, CURLOPT_URL, url);
    libcurl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    libcurl.easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    libcurl.easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    libcurl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    libcurl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    libcurl.easy_setopt(h, CURLOPT_PROXY, ""); /* never through a proxy */
    libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    libcurl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    libcurl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    libcurl.easy_setopt(h, CURLOPT_WRITEDATA, a);
    libcurl.easy_setopt(h, CURLOPT_USERAGENT, "remoteio");
    if (strcmp(method, "PUT") == 0) {
        libcurl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        libcurl.easy_setopt(h, CURLOPT_POSTFIELDS, "");
        libcurl.easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = libcurl.easy_perform(h);
    if (rc == CURLE_OK)
        libcurl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    libcurl.easy_cleanup(h);
    if (a->overflow) {
        snprintf(why, whylen, "an answer of more than %u bytes", BODY_MAX);
        return -1;
    }
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s", shim_exiting() ? "the process is exiting" : libcurl.easy_strerror(rc));
        return -1;
    }
    return 0;
}

static struct curl_slist *header(struct curl_slist *list, const char *name, const char *value,
                                 bool *ok)
{
    size_t n = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(n);
    struct curl_slist *l = NULL;
    if (line) {
        snprintf(line, n, "%s: %s", name, value);
        l = libcurl.slist_append(list, line);
        explicit_bzero(line, n);
        free(line);
    }
    if (!l) {
        *ok = false;
        return list;
    }
    return l;
}

static bool legal_header_value(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 && *v != '\t')
            return false;
    return true;
}

/* host (of an http URI) in the allowed list? */
static bool host_allowed(const char *host)
{
    static const char *const agents[] = { "169.254.170.2", "169.254.170.23", "fd00:ec2::23",
                                          "localhost", "::1" };
    for (size_t i = 0; i < sizeof agents / sizeof *agents; i++)
        if (strcasecmp(host, agents[i]) == 0)
            return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
    return false;
}

bool aws_container_uri_allowed(const char *uri)
{
    if (strncasecmp(uri, "https://", 8) == 0)
        return uri[8] != '\0';
    if (strncasecmp(uri, "http://", 7) != 0)
        return false;
    const char *a = uri + 7;
    size_t alen = strcspn(a, "/?#");
    if (memchr(a, '@', alen))
        return false; /* userinfo: not an address to trust */
    char host[256];
    const char *he;
    if (*a == '[') {
        he = memchr(a, ']', alen);
        if (!he || (size_t)(he - a - 1) >= sizeof host)
            return false;
        memcpy(host, a + 1, (size_t)(he - a - 1));
        host[he - a - 1] = '\0';
        he++;
    } else {
        size_t hl = strcspn(a, ":/?#");
        if (hl >= sizeof host || hl == 0)
            return false;
        memcpy(host, a, hl);
        host[hl] = '\0';
        he = a + hl;
    }
    if (*he == ':') { /* a port: digits only */
        const char *p = he + 1;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        he = p;
    }
    if (he != a + alen)
        return false;
    return host_allowed(host);
}

/* The container's authorization token into tok: 1 (there is one), 0 (none), -1 (why). */
static int container_token(char *tok, size_t cap, char *why, size_t whylen)
{
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *env = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    tok[0] = '\0';
    if (file && *file) {
        char *text;
        size_t len;
        int rc = aws_ini_read_file(file, &text, &len);
        if (rc < 0) {
            snprintf(why, whylen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
                     strerror(-rc));
            return -1;
        }
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
            len--;
        if (len >= cap) {
            aws_ini_free(text, len);
            snprintf(why, whylen, "the token in %s is too long", file);
            return -1;
        }
        memcpy(tok, text, len);
        tok[len] = '\0';
        aws_ini_free(text, len);
    } else if (env && *env) {
        if (strlen(env) >= cap) {
            snprintf(why, whylen, "AWS_CONTAINER_AUTHORIZATION_TOKEN is too long");
            return -1;
        }
        strcpy(tok, env);
    } else {
        return 0;
    }
    if (!legal_header_value(tok)) {
        explicit_bzero(tok, cap);
        snprintf(why, whylen, "the container authorization token holds a line break");
        return -1;
    }
    return 1;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000 };
    nanosleep(&ts, NULL);
}

int aws_container_credentials(struct aws_credentials *out, char *why, size_t whylen)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char url[2048];
    if (rel && *rel) {
        if (*rel != '/' || snprintf(url, sizeof url, "http://169.254.170.2%s", rel) >= (int)sizeof url) {
            snprintf(why, whylen, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path");
            return -EIO;
        }
    } else if (full && *full) {
        if (!aws_container_uri_allowed(full) || strlen(full) >= sizeof url) {
            snprintf(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI %s is neither https nor a "
                     "loopback or container agent address: refused", full);
            return -EACCES;
        }
        strcpy(url, full);
    } else {
        snprintf(why, whylen, "not set");
        return -ENOENT;
    }
    char *tok = malloc(TOKEN_MAX);
    struct answer a = { .body = malloc(BODY_MAX) };
    int rc = -EIO;
    struct curl_slist *headers = NULL;
    if (!tok || !a.body) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    int t = container_token(tok, TOKEN_MAX, why, whylen);
    if (t < 0)
        goto done;
    bool ok = true;
    headers = header(NULL, "Accept", "application/json", &ok);
    if (t > 0)
        headers = header(headers, "Authorization", tok, &ok);
    if (!ok) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    for (int attempt = 0; attempt < 3 && !shim_exiting(); attempt++) {
        if (attempt)
            pause_ms(200);
        char rwhy[160];
        if (request("GET", url, headers, 2000, &a, rwhy, sizeof rwhy) < 0) {
            snprintf(why, whylen, "%s: %s", url, rwhy);
            continue;
        }
        if (a.status == 200) {
            char jwhy[96];
            if (aws_json_credentials(a.body, a.len, AWS_JSON_ENDPOINT, out, jwhy, sizeof jwhy) == 0)
                rc = 0;
            else
                snprintf(why, whylen, "%s answered no credentials: %s", url, jwhy);
            break;
        }
        snprintf(why, whylen, "%s answered with status %ld", url, a.status);
        if (a.status >= 400 && a.status < 500) {
            rc = a.status == 401 || a.status == 403 ? -EACCES : -EIO;
            break;
        }
    }
done:
    if (headers)
        free_headers(headers);
    if (a.body)
        explicit_bzero(a.body, BODY_MAX);
    free(a.body);
    if (tok)
        explicit_bzero(tok, TOKEN_MAX);
    free(tok);
    return rc;
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, "true") == 0;
}

int aws_imds_credentials(struct aws_credentials *out, char *why, size_t whylen)
{
    if (env_true("AWS_EC2_METADATA_DISABLED")) {
        snprintf(why, whylen, "disabled");
        return -ENOENT;
    }
    const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (!ep || !*ep)
        ep = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
    size_t eplen = strlen(ep);
    while (eplen && ep[eplen - 1] == '/')
        eplen--;
    char url[1024], role[256], token[TOKEN_MAX / 2];
    if (eplen > 512) {
        snprintf(why, whylen, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
        return -EIO;
    }
    struct answer a = { .body = malloc(BODY_MAX) };
    struct curl_slist *headers = NULL;
    int rc = -EIO;
    char rwhy[160];
    bool ok = true;
    if (!a.body) {
        snprintf(why, whylen, "out of memory");
        return -EIO;
    }
    /* The session token. */
    snprintf(url, sizeof url, "%.*s/latest/api/token", (int)eplen, ep);
    headers = header(NULL, "X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL, &ok);
    if (!ok)
        goto oom;
    int r = request("PUT", url, headers, 1000, &a, rwhy, sizeof rwhy);
    free_headers(headers);
    headers = NULL;
    if (r < 0) {
        snprintf(why, whylen, "no answer from %.*s: %s", (int)eplen, ep, rwhy);
        rc = -ENOENT;
        goto done;
    }
    if (a.status != 200) {
        snprintf(why, whylen, "%.*s gave no session token (status %ld)", (int)eplen, ep, a.status);
        rc = a.status == 403 || a.status == 404 || a.status == 405 ? -ENOENT : -EIO;
        goto done;
    }
    while (a.len && (a.body[a.len - 1] == '\n' || a.body[a.len - 1] == '\r'))
        a.body[--a.len] = '\0';
    if (a.len == 0 || a.len >= sizeof token || !legal_header_value(a.body)) {
        snprintf(why, whylen, "%.*s gave a malformed session token", (int)eplen, ep);
        goto done;
    }
    memcpy(token, a.body, a.len + 1);
    headers = header(NULL, "X-aws-ec2-metadata-token", token, &ok);
    explicit_bzero(token, sizeof token);
    if (!ok)
        goto oom;
    /* The role. */
    snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/", (int)eplen, ep);
    if (request("GET", url, headers, 1000, &a, rwhy, sizeof rwhy) < 0) {
        snprintf(why, whylen, "%s: %s", url, rwhy);
        goto done;
    }
    if (a.status == 404) {
        snprintf(why, whylen, "no instance role");
        rc = -ENOENT;
        goto done;
    }
    size_t rl = strcspn(a.body, "\r\n");
    if (a.status != 200 || rl == 0 || rl >= sizeof role || memchr(a.body, '/', rl)) {
        snprintf(why, whylen, a.status != 200 ? "%s answered with status %ld" : "%s named no role",
                 url, a.status);
        rc = a.status == 401 || a.status == 403 ? -EACCES : -EIO;
        goto done;
    }
    memcpy(role, a.body, rl);
    role[rl] = '\0';
    /* Its credentials. */
    snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/%s", (int)eplen, ep, role);
    if (request("GET", url, headers, 1000, &a, rwhy, sizeof rwhy) < 0) {
        snprintf(why, whylen, "%s: %s", url, rwhy);
        goto done;
    }
    if (a.status != 200) {
        snprintf(why, whylen, "%s answered with status %ld", url, a.status);
        rc = a.status == 401 || a.status == 403 ? -EACCES : -EIO;
        goto done;
    }
    char jwhy[96];
    if (aws_json_credentials(a.body, a.len, AWS_JSON_ENDPOINT, out, jwhy, sizeof jwhy) < 0)
        snprintf(why, whylen, "%s answered no credentials: %s", url, jwhy);
    else
        rc = 0;
    goto done;
oom:
    snprintf(why, whylen, "out of memory");
done:
    if (headers)
        free_headers(headers);
    explicit_bzero(a.body, BODY_MAX);
    free(a.body);
    return rc;
}
