/* aws_creds_chain.c: see aws_creds_chain.h. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_creds_chain.h"
#include "aws_creds_http.h"
#include "aws_creds_json.h"
#include "aws_creds_process.h"
#include "aws_ini.h"

/* Appends to the list of sources tried. */
static void tried(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tried(char *why, size_t whylen, const char *fmt, ...)
{
    size_t n = strlen(why);
    if (n + 3 >= whylen)
        return;
    if (n) {
        memcpy(why + n, ", ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, whylen - n, fmt, ap);
    va_end(ap);
}

static void name_source(struct aws_credentials *out, const char *what, const char *profile)
{
    if (profile)
        snprintf(out->source, sizeof out->source, "%s, profile %.*s", what,
                 (int)(sizeof out->source - strlen(what) - 11), profile);
    else
        snprintf(out->source, sizeof out->source, "%s", what);
}

static int copy_key(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* A shared file's path: the variable's value (a leading ~/ is $HOME's), else
 * $HOME/.aws/NAME. */
static void file_path(const char *var, const char *name, char *out, size_t len)
{
    const char *v = getenv(var), *home = getenv("HOME");
    char pwbuf[1024];
    struct passwd pw, *found = NULL;
    if ((!home || !*home) && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &found) == 0 && found)
        home = found->pw_dir; /* as Python's expanduser does without HOME */
    if (v && *v) {
        if (v[0] == '~' && v[1] == '/' && home)
            snprintf(out, len, "%s%s", home, v + 1);
        else
            snprintf(out, len, "%s", v);
    } else {
        snprintf(out, len, "%s/.aws/%s", home && *home ? home : "", name);
    }
}

/* One shared file's settings for profile: 1 found, 0 not (no file or no section), -1
 * malformed (why set). */
static int load_profile(const char *path, enum aws_ini_file kind, const char *profile,
                        struct aws_profile_settings *s, bool *file_exists, char *why, size_t whylen)
{
    char *text;
    size_t len;
    *file_exists = false;
    int rc = aws_ini_read_file(path, &text, &len);
    if (rc == -ENOENT || rc == -ENOTDIR)
        return 0;
    if (rc < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(-rc));
        return -1;
    }
    *file_exists = true;
    char iwhy[160];
    rc = aws_ini_profile(text, len, kind, profile, s, iwhy, sizeof iwhy);
    aws_ini_free(text, len);
    if (rc < 0)
        snprintf(why, whylen, "%s: %s", path, iwhy);
    return rc;
}

/* Static keys from a file's section: 1 used, 0 none there, -1 partial or too long. */
static int static_keys(const struct aws_profile_settings *s, const char *path,
                       struct aws_credentials *out, char *why, size_t whylen)
{
    if (!s->has_access_key_id)
        return 0;
    if (!s->access_key_id[0] || !s->has_secret_access_key || !s->secret_access_key[0]) {
        snprintf(why, whylen, "%s: %s without %s", path,
                 s->access_key_id[0] ? "aws_access_key_id" : "an empty aws_access_key_id",
                 s->access_key_id[0] ? "aws_secret_access_key" : "a key");
        return -1;
    }
    if (copy_key(out->access_key_id, sizeof out->access_key_id, s->access_key_id) < 0 ||
        copy_key(out->secret_access_key, sizeof out->secret_access_key, s->secret_access_key) < 0 ||
        copy_key(out->session_token, sizeof out->session_token,
                 s->has_session_token ? s->session_token : "") < 0) {
        snprintf(why, whylen, "%s: a key too long", path);
        return -1;
    }
    out->expires_ms = 0;
    return 1;
}

static int from_environment(struct aws_credentials *out, char *why, size_t whylen)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN"), *exp = getenv("AWS_CREDENTIAL_EXPIRATION");
    if (!token || !*token)
        token = getenv("AWS_SECURITY_TOKEN");
    if (!id || !*id)
        return 0;
    if (!secret || !*secret) {
        snprintf(why, whylen, "environment: AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY");
        return -1;
    }
    if (copy_key(out->access_key_id, sizeof out->access_key_id, id) < 0 ||
        copy_key(out->secret_access_key, sizeof out->secret_access_key, secret) < 0 ||
        copy_key(out->session_token, sizeof out->session_token, token ? token : "") < 0) {
        snprintf(why, whylen, "environment: AWS credentials too long");
        return -1;
    }
    out->expires_ms = 0;
    if (exp && *exp && aws_iso8601_ms(exp, strlen(exp), &out->expires_ms) < 0) {
        snprintf(why, whylen, "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO-8601 time");
        return -1;
    }
    return 1;
}

static const char *profile_name(const char *profile, bool *named)
{
    *named = true;
    if (profile && *profile)
        return profile;
    const char *p = getenv("AWS_PROFILE");
    if (p && *p)
        return p;
    p = getenv("AWS_DEFAULT_PROFILE");
    if (p && *p)
        return p;
    *named = false;
    return "default";
}

/* The chain, with files and settings already laid out for it. */
struct chain {
    const char *profile;
    bool named, use_env;
    char creds_path[1024], config_path[1024];
    struct aws_profile_settings creds, config;
    bool creds_exists, config_exists;
    int creds_found, config_found; /* -1: malformed, file_why says how */
    char file_why[400];
};

static int run(struct chain *c, enum aws_source only, struct aws_credentials *out,
               enum aws_source *used, char *why, size_t whylen)
{
    char fail[512] = "";
    int rc;
#define WANT(src) (only == AWS_SRC_ANY || only == (src))
#define FAIL(code)                                                                     \
    do {                                                                               \
        snprintf(why, whylen, "%s", fail);                                             \
        return (code);                                                                 \
    } while (0)
#define FOUND(src, what, prof)                                                         \
    do {                                                                               \
        name_source(out, what, prof);                                                  \
        *used = (src);                                                                 \
        return 0;                                                                      \
    } while (0)
    why[0] = '\0';
    if (WANT(AWS_SRC_ENV)) {
        if (!c->use_env) {
            tried(why, whylen, "environment (skipped: profile %s named)", c->profile);
        } else if ((rc = from_environment(out, fail, sizeof fail)) < 0) {
            FAIL(-EIO);
        } else if (rc > 0) {
            FOUND(AWS_SRC_ENV, "environment", NULL);
        } else {
            tried(why, whylen, "environment");
        }
    }
    if (c->creds_found < 0 || c->config_found < 0) {
        snprintf(why, whylen, "%s", c->file_why);
        return -EIO;
    }
    if (c->named && c->creds_found == 0 && c->config_found == 0 && only != AWS_SRC_ENV &&
        only != AWS_SRC_CONTAINER && only != AWS_SRC_IMDS) {
        tried(why, whylen, "shared credentials file %s, config file %s: no profile %s",
              c->creds_path, c->config_path, c->profile);
        return -ENOENT;
    }
    if (WANT(AWS_SRC_CREDENTIALS_FILE)) {
        if ((rc = static_keys(&c->creds, c->creds_path, out, fail, sizeof fail)) < 0)
            FAIL(-EIO);
        if (rc > 0)
            FOUND(AWS_SRC_CREDENTIALS_FILE, "credentials file", c->profile);
        tried(why, whylen, "shared credentials file %s [%s]%s", c->creds_path, c->profile,
              !c->creds_exists ? " (no such file)" : c->creds_found ? "" : " (no such profile)");
    }
    const struct aws_profile_settings *proc = c->creds.has_credential_process ? &c->creds
                                              : c->config.has_credential_process ? &c->config : NULL;
    if (WANT(AWS_SRC_PROCESS) && proc) {
        char pwhy[400];
        if (aws_credential_process(proc->credential_process, AWS_PROCESS_TIMEOUT_MS, out, pwhy,
                                   sizeof pwhy) < 0) {
            snprintf(fail, sizeof fail, "credential_process of profile %s: %s", c->profile, pwhy);
            FAIL(-EIO);
        }
        FOUND(AWS_SRC_PROCESS, "credential_process", c->profile);
    }
    if (WANT(AWS_SRC_CONFIG_FILE)) {
        if ((rc = static_keys(&c->config, c->config_path, out, fail, sizeof fail)) < 0)
            FAIL(-EIO);
        if (rc > 0)
            FOUND(AWS_SRC_CONFIG_FILE, "config file", c->profile);
        tried(why, whylen, "config file %s [%s]%s", c->config_path,
              strcmp(c->profile, "default") == 0 ? "default" : c->profile,
              !c->config_exists ? " (no such file)" : c->config_found ? "" : " (no such profile)");
    }
    char swhy[400];
    if (WANT(AWS_SRC_CONTAINER)) {
        rc = aws_container_credentials(out, swhy, sizeof swhy);
        if (rc == 0)
            FOUND(AWS_SRC_CONTAINER, "container endpoint", NULL);
        if (rc != -ENOENT) {
            snprintf(fail, sizeof fail, "container credentials: %s", swhy);
            FAIL(rc);
        }
        tried(why, whylen, "container endpoint (%s)", swhy);
    }
    if (WANT(AWS_SRC_IMDS)) {
        rc = aws_imds_credentials(out, swhy, sizeof swhy);
        if (rc == 0)
            FOUND(AWS_SRC_IMDS, "instance metadata", NULL);
        if (rc != -ENOENT) {
            snprintf(fail, sizeof fail, "instance metadata: %s", swhy);
            FAIL(rc);
        }
        tried(why, whylen, "instance metadata (%s)", swhy);
    }
    return -ENOENT;
#undef WANT
#undef FAIL
#undef FOUND
}

/* Lays the chain out: the profile and both files' settings for it. */
static struct chain *prepare(const char *profile)
{
    struct chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->profile = profile_name(profile, &c->named);
    c->use_env = !(profile && *profile);
    file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", c->creds_path, sizeof c->creds_path);
    file_path("AWS_CONFIG_FILE", "config", c->config_path, sizeof c->config_path);
    c->creds_found = load_profile(c->creds_path, AWS_INI_CREDENTIALS, c->profile, &c->creds,
                                  &c->creds_exists, c->file_why, sizeof c->file_why);
    if (c->creds_found >= 0)
        c->config_found = load_profile(c->config_path, AWS_INI_CONFIG, c->profile, &c->config,
                                       &c->config_exists, c->file_why, sizeof c->file_why);
    return c;
}

static void release(struct chain *c)
{
    explicit_bzero(c, sizeof *c);
    free(c);
}

int aws_chain_fetch(const char *profile, enum aws_source only, struct aws_credentials *out,
                    enum aws_source *used, char *why, size_t whylen)
{
    why[0] = '\0';
    memset(out, 0, sizeof *out);
    struct chain *c = prepare(profile);
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    int rc = run(c, only, out, used, why, whylen);
    release(c);
    if (rc != 0)
        explicit_bzero(out, sizeof *out);
    return rc;
}

int aws_chain_region(const char *profile, char *out, size_t len)
{
    const char *r = getenv("AWS_REGION");
    if (!r || !*r)
        r = getenv("AWS_DEFAULT_REGION");
    if (r && *r) {
        if (strlen(r) >= len)
            return -ENOENT;
        memcpy(out, r, strlen(r) + 1);
        return 0;
    }
    struct chain *c = prepare(profile);
    if (!c)
        return -ENOENT;
    const struct aws_profile_settings *s = c->creds_found > 0 && c->creds.has_region ? &c->creds
                                           : c->config_found > 0 && c->config.has_region ? &c->config : NULL;
    int rc = -ENOENT;
    if (s && s->region[0] && strlen(s->region) < len) {
        memcpy(out, s->region, strlen(s->region) + 1);
        rc = 0;
    }
    release(c);
    return rc;
}
