/* aws_creds.c: see aws_creds.h.  This first version reads the environment only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_creds.h"
#include "log.h"

static int copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int aws_credentials_get(const char *profile, struct aws_credentials *out)
{
    (void)profile;
    memset(out, 0, sizeof *out);
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (!id || !*id || !secret || !*secret) {
        log_error("no AWS credentials found (tried: environment)");
        return -ENOENT;
    }
    if (copy(out->access_key_id, sizeof out->access_key_id, id) < 0 ||
        copy(out->secret_access_key, sizeof out->secret_access_key, secret) < 0 ||
        copy(out->session_token, sizeof out->session_token, token ? token : "") < 0) {
        explicit_bzero(out, sizeof *out);
        log_error("AWS credentials from the environment are too long");
        return -EINVAL;
    }
    snprintf(out->source, sizeof out->source, "environment");
    return 0;
}

void aws_credentials_invalidate(const char *profile)
{
    (void)profile;
}

int aws_region_for_profile(const char *profile, char *out, size_t len)
{
    (void)profile;
    const char *r = getenv("AWS_REGION");
    if (!r || !*r)
        r = getenv("AWS_DEFAULT_REGION");
    if (!r || !*r || strlen(r) >= len)
        return -ENOENT;
    memcpy(out, r, strlen(r) + 1);
    return 0;
}

void aws_credentials_forget(void)
{
}
