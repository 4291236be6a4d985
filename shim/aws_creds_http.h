/* aws_creds_http.h: the two credential sources answered over HTTP, as the AWS CLI
 * asks them.
 *
 * Container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (appended to
 * http://169.254.170.2; it wins, as in the CLI) or AWS_CONTAINER_CREDENTIALS_FULL_URI,
 * which must be https, or http to a loopback address (127.0.0.0/8, ::1, localhost) or to
 * the ECS/EKS agents (169.254.170.2, 169.254.170.23, fd00:ec2::23); the Authorization
 * header is the content of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at each fetch:
 * EKS rotates it) or AWS_CONTAINER_AUTHORIZATION_TOKEN.  Up to 3 attempts of 2 s.
 *
 * Instance metadata (IMDSv2 only, no fallback to v1): PUT /latest/api/token with a TTL,
 * then GET /latest/meta-data/iam/security-credentials/ (the role) and .../ROLE, each with
 * the session token; AWS_EC2_METADATA_SERVICE_ENDPOINT (or _MODE=IPv6) names the
 * service, AWS_EC2_METADATA_DISABLED=true turns it off.  1 s to connect, 1 s per request,
 * one attempt: a machine without the service costs an open at most about a second.
 *
 * Each fetch has its own libcurl easy handle (libcurl.h's table, which must be loaded),
 * never the range-request pool's; no proxy, no redirect (the token goes to no other
 * host), TLS verification always on, sockets close-on-exec and marked as the shim's own.
 * A transfer ends early once the process is exiting (lifecycle.h).  No state, no locks.
 *
 * Both return 0, -ENOENT (the source is not there: not configured, disabled, no answer,
 * no role; why says which), -EACCES (refused: an address not allowed, status 401/403) or
 * -EIO (a failure; why says what).  why never holds a token or a key. */
#ifndef REMOTEIO_AWS_CREDS_HTTP_H
#define REMOTEIO_AWS_CREDS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "aws_creds.h"

int aws_container_credentials(struct aws_credentials *out, char *why, size_t whylen);
int aws_imds_credentials(struct aws_credentials *out, char *why, size_t whylen);

/* May AWS_CONTAINER_CREDENTIALS_FULL_URI be uri (see above)? */
bool aws_container_uri_allowed(const char *uri);

#endif
