/* aws_creds.h: AWS credentials for signing S3 requests, found the way the AWS CLI finds
 * them, and kept fresh.
 *
 * Sources, in the AWS CLI's order: the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the shared files (AWS_SHARED_CREDENTIALS_FILE
 * or ~/.aws/credentials, AWS_CONFIG_FILE or ~/.aws/config, the profile from the mapping,
 * AWS_PROFILE or "default"), including credential_process; container credentials
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI with their authorization token);
 * the instance metadata service (IMDSv2; AWS_EC2_METADATA_SERVICE_ENDPOINT).
 *
 * Temporary credentials are refreshed before they expire, off the read path: a reader
 * never waits for a refresh that could have been done earlier.  Callers copy what they
 * need; nothing here is ever logged but the source's name.
 *
 * Errors: negative errnos: -ENOENT (no source had credentials; one log line lists the
 * sources tried), -EACCES (a source refused), -EIO (a source failed), -ENOMEM. */
#ifndef REMOTEIO_AWS_CREDS_H
#define REMOTEIO_AWS_CREDS_H

#include <stddef.h>
#include <stdint.h>

struct aws_credentials {
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[4096]; /* "" when none */
    uint64_t expires_ms;      /* CLOCK_REALTIME ms; 0: does not expire */
    char source[48];          /* "environment", "profile NAME", "credential_process", ... */
};

/* What callers may rely on (aws_creds_chain.h and aws_creds.c have the details):
 * - A profile named by the caller skips the environment, as `aws --profile` does; NULL
 *   uses AWS_PROFILE, AWS_DEFAULT_PROFILE or "default", environment first.
 * - A source that is configured but fails (a malformed file, partial keys, a failing
 *   credential_process, an endpoint that refuses) ends the chain with its error: no
 *   fallback to the credentials of another identity.
 * - aws_credentials_get copies; it never waits while the cached credentials are usable,
 *   and otherwise waits for one fetch, bounded (about 45 s at most: a credential_process
 *   has 30 s).  A failed fetch is remembered for 2 s (its log line is not repeated).
 * - source is one of "environment", "credentials file, profile P", "credential_process,
 *   profile P", "config file, profile P", "container endpoint", "instance metadata". */

/* The current credentials for profile (NULL: AWS_PROFILE or "default"). */
int aws_credentials_get(const char *profile, struct aws_credentials *out);
/* The server said the credentials expired (ExpiredToken) or were refused: the next
 * aws_credentials_get for profile fetches them again. */
void aws_credentials_invalidate(const char *profile);
/* The region of profile (AWS_REGION, AWS_DEFAULT_REGION, the profile's region), or -ENOENT. */
int aws_region_for_profile(const char *profile, char *out, size_t len);
/* Wipes what is held (at exit, and in a forked child before it refreshes anything). */
void aws_credentials_forget(void);

/* Fork handlers, called by the process's own (init.c) in its lock order: prepare takes
 * the cache's lock (a leaf but for the log's), the child keeps the credentials it
 * inherited, forgets the refresh thread and any fetch in flight, and starts the thread
 * again when temporary credentials next need it.  At exit (an atexit handler of its own,
 * registered after libcurl's) the refresh thread is stopped and everything is wiped. */
void aws_credentials_atfork_prepare(void);
void aws_credentials_atfork_parent(void);
void aws_credentials_atfork_child(void);

#endif
