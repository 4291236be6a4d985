/* aws_creds_chain.h: the AWS CLI's credential chain, one fetch at a time, no caching
 * (aws_creds.c caches and refreshes).
 *
 * Order, as the CLI's: the environment (only when no profile was named by the caller,
 * as `aws --profile` skips it too); the shared credentials file's static keys; the
 * profile's credential_process (from either file, the credentials file's first); the
 * config file's static keys; container credentials; instance metadata.  A profile named
 * by the caller or AWS_PROFILE that is in neither file stops the chain (the CLI's
 * ProfileNotFound), as does a source that is configured but fails (a malformed file,
 * partial keys, a command that fails, an endpoint that refuses): the chain never goes
 * on to credentials of another identity.  Pure apart from the sources themselves: no
 * state, no locks, no logging (the caller logs why). */
#ifndef REMOTEIO_AWS_CREDS_CHAIN_H
#define REMOTEIO_AWS_CREDS_CHAIN_H

#include <stddef.h>

#include "aws_creds.h"

enum aws_source {
    AWS_SRC_ANY = 0, /* the whole chain */
    AWS_SRC_ENV,
    AWS_SRC_CREDENTIALS_FILE,
    AWS_SRC_PROCESS,
    AWS_SRC_CONFIG_FILE,
    AWS_SRC_CONTAINER,
    AWS_SRC_IMDS,
};

/* Credentials for profile (NULL: AWS_PROFILE, AWS_DEFAULT_PROFILE or "default") from
 * the chain, or from source `only` alone (a refresh): 0 with *out (source named) and
 * *used; else -ENOENT (nothing found: why lists the sources tried), -EACCES or -EIO (why
 * names the source and what failed).  why never holds a secret. */
int aws_chain_fetch(const char *profile, enum aws_source only, struct aws_credentials *out,
                    enum aws_source *used, char *why, size_t whylen);

/* AWS_REGION, AWS_DEFAULT_REGION, or the profile's region (credentials file over config
 * file, as the CLI merges them): 0, or -ENOENT. */
int aws_chain_region(const char *profile, char *out, size_t len);

#endif
